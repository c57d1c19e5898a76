# Cloud Run's CPU/memory pairing rules (gen2 functions are Cloud Run services), checked at plan
# time so a refused pair fails in `terraform plan` with the rule, not minutes into a deploy.
# tests/test_infra_sizing.py evaluates `cpu_memory_ok` itself over a table of pairs.

locals {
  cpu = try(tonumber(var.available_cpu), 0)

  # available_memory as MiB: Mi/Gi are binary units, M/G decimal ones.
  memory_parts = regex("^([1-9][0-9]*)(Mi|Gi|M|G)$", var.available_memory)
  memory_mib   = tonumber(local.memory_parts[0]) * lookup({ Mi = 1, Gi = 1024, M = 1000000 / 1048576, G = 1000000000 / 1048576 }, local.memory_parts[1])

  cpu_memory_ok = (
    local.cpu >= 0.08 && local.cpu <= 8
    && (local.cpu <= 1 || floor(local.cpu) == local.cpu)
    && (local.cpu >= 0.5 || local.memory_mib <= 512)
    && (local.cpu >= 1 || local.memory_mib <= 1024)
    && (local.cpu < 4 || local.memory_mib >= 2048)
    && (local.cpu < 6 || local.memory_mib >= 4096)
    && (local.memory_mib <= 4096 || local.cpu >= 2)
    && (local.memory_mib <= 8192 || local.cpu >= 4)
    && (local.memory_mib <= 16384 || local.cpu >= 6)
    && (local.memory_mib <= 24576 || local.cpu >= 8)
    && local.memory_mib >= 128 && local.memory_mib <= 32768
  )

  cpu_memory_rule = "available_cpu = \"${var.available_cpu}\" with available_memory = \"${var.available_memory}\" breaks Cloud Run's rules: CPU from 0.08 to 8, whole above 1; below 1 vCPU, more than 512 MiB needs at least 0.5 and more than 1 GiB needs 1; 4 vCPU needs at least 2 GiB, 6 or 8 vCPU at least 4 GiB; more than 4 GiB needs 2 vCPU, more than 8 GiB 4, more than 16 GiB 6, more than 24 GiB 8; memory from 128 MiB to 32 GiB."
}
