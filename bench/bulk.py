"""A bulk run end to end on one function instance (docs/bulk.md).

    .venv/bin/python -m bench.bulk [--items 1000] [--delay-ms 400] [--max-outstanding 250]
                                   [--trigger push|event]
    .venv/bin/python -m bench.bulk --input-mib 256     # what submitting a large file costs

Each item goes from Google's Pub/Sub emulator to one function process, at most
`--max-outstanding` at once (emulators/eventarc_pull.py; the Terraform per-instance concurrency
by default): as a Pub/Sub push body to `prompt_push` (`--trigger push`, the default, as the
Terraform module delivers), or as Eventarc's CloudEvent to `prompt_event` (`--trigger event`;
`--emulator-push` uses the emulator's own push subscription through the Eventarc stand-in).
Input and output live in the Cloud Storage emulator; the gateway emulator answers each prompt
after `--delay-ms`. Reports submission time, items per second, the event process's peak RSS and
CPU per item (and the emulators' CPU per item), the time of the status call that assembles
results.jsonl, and the machine's load average (it may be shared).

`--input-mib N` measures submission alone: an N MiB file of 50,000 lines (the limits) is
checked and published by one `prompt` process to a topic nobody reads; reported is how much
its peak RSS grew over a warmed-up baseline (the streamed input's bound: docs/bulk.md).
`--storage-keep-alive` runs the Storage stand-in with persistent connections, as Cloud Storage
keeps them (the published emulator closes each one). Everything on 127.0.0.1; figures are for
this machine, to compare rows of one run.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import httpx

from bench._bulk_clients import IMPORT_SETS, import_cost_mib, item_calls_cpu
from bench._procs import tree_cpu_seconds, tree_cpu_times
from emulators.eventarc import EventarcBridge
from emulators.eventarc_pull import DEFAULT_MAX_OUTSTANDING, EventarcPuller
from emulators.gateway import GatewayEmulator
from emulators.google import PubSubEmulator, StorageEmulator, emulator_env
from emulators.stack import function_process

TOKEN = "bench-gateway-token"
PROJECT = "bench-project"
BUCKET = "bulk-bench"
TOPIC = "prompts"
RUN_TIMEOUT_SECONDS = 3600.0


def peak_rss_mib(root: int) -> float:
    """The largest VmHWM (peak resident set) of `root` and its children, in MiB."""
    peaks = []
    for status in [Path(f"/proc/{root}/status"), *Path("/proc").glob("[0-9]*/status")]:
        try:
            text = status.read_text()
        except OSError:
            continue
        fields = dict(line.split(":", 1) for line in text.splitlines() if ":" in line)
        if status.parent.name != str(root) and fields.get("PPid", "").strip() != str(root):
            continue
        if "VmHWM" in fields:
            peaks.append(int(fields["VmHWM"].split()[0]) / 1024)
    return max(peaks, default=0.0)


def status(client: httpx.Client, url: str, output: str) -> tuple[dict[str, Any], float]:
    started = time.perf_counter()
    # A new connection per poll: an idle keep-alive one may be closed just as it is reused.
    answer = client.post(
        url, json={"bulk_status": {"output": output}}, headers={"connection": "close"}
    ).json()
    if not answer.get("ok"):
        # A retryable failure (a storage emulator connection reset) is polled again.
        assert answer["error"]["retryable"], answer
        print(f"  (status call failed, polled again: {answer['error']['message']})")
        time.sleep(1.0)  # before polling again
        return status(client, url, output)
    return answer, time.perf_counter() - started


def http_path_cpu(url: str, pid: int, count: int) -> tuple[float, float]:
    """(user, system) CPU seconds per request of the `prompt` process for `count` plain
    prompts, 50 at a time: the HTTP path's own figure, next to the bulk item's."""
    from concurrent.futures import ThreadPoolExecutor

    body = {"prompt": "summarise ticket", "metadata": {"bench": "http"}}
    with httpx.Client(timeout=120, limits=httpx.Limits(max_connections=50)) as client:
        client.post(url, json=body)  # warm-up
        before = tree_cpu_times(pid)
        with ThreadPoolExecutor(50) as pool:
            answers = list(
                pool.map(lambda _: client.post(url, json=body).status_code, range(count))
            )
        after = tree_cpu_times(pid)
    assert answers == [200] * count, answers[:5]
    return (after[0] - before[0]) / count, (after[1] - before[1]) / count


def connect(
    pubsub: PubSubEmulator, event_url: str, max_outstanding: int | None, cloud_event: bool
) -> EventarcBridge | EventarcPuller:
    """The topic's delivery to the function: pulled with `max_outstanding` in flight (as
    CloudEvents, or as push bodies), or (None) the emulator's push subscription."""
    if max_outstanding is None:
        bridge = EventarcBridge(event_url, pubsub.topic(TOPIC))
        bridge.start()
        pubsub.create_subscription("prompts-push", TOPIC, push_endpoint=bridge.url)
        return bridge
    # An ack deadline above the function's own timeout, as Eventarc's subscription has.
    subscription = pubsub.create_subscription("prompts-pull", TOPIC, ack_deadline=600)
    puller = EventarcPuller(
        pubsub.host,
        subscription,
        event_url,
        pubsub.topic(TOPIC),
        max_outstanding=max_outstanding,
        cloud_event=cloud_event,
    )
    puller.start()
    return puller


def submit_memory(mib: int) -> int:
    """Peak RSS a submission of an `mib` MiB, 50,000-line file adds to the `prompt` process."""
    logs = Path(tempfile.mkdtemp(prefix="bulk-bench-"))
    pubsub = PubSubEmulator(PROJECT, logs / "pubsub.log")
    pubsub.start()
    pubsub.create_topic(TOPIC)  # no subscription: what is published is dropped
    storage = StorageEmulator(BUCKET, logs / "storage.log")
    storage.start()
    lines = 50_000
    prompt = "x" * (mib * 1024 * 1024 // lines - 60)
    data = b"".join(
        b'{"custom_id": "item-%06d", "prompt": "%s"}\n' % (i, prompt.encode()) for i in range(lines)
    )
    storage.write("in/large.jsonl", data)
    env = {
        "AIG_BASE_URL": "http://127.0.0.1:9/openai",
        "AIG_TOKEN": TOKEN,
        "GOOGLE_CLOUD_PROJECT": PROJECT,
        "LOG_LEVEL": "WARNING",
        "BULK_TOPIC": TOPIC,
        **emulator_env(pubsub, storage),
    }
    try:
        with (
            function_process("prompt", env, logs / "http.log") as (url, pid),
            httpx.Client(timeout=1800) as client,
        ):
            # Warm up: the bulk modules and both clients loaded by a small run first.
            storage.write("in/small.jsonl", b'{"custom_id": "a", "prompt": "x"}\n')
            body = {
                "bulk": {"input": f"gs://{BUCKET}/in/small.jsonl", "output": f"gs://{BUCKET}/w/"}
            }
            assert client.post(url, json=body).json().get("ok")
            baseline = peak_rss_mib(pid)
            started = time.perf_counter()
            body = {
                "bulk": {"input": f"gs://{BUCKET}/in/large.jsonl", "output": f"gs://{BUCKET}/o/"}
            }
            answer = client.post(url, json=body).json()
            took = time.perf_counter() - started
            assert answer.get("published") == lines, answer
            peak = peak_rss_mib(pid)
    finally:
        storage.stop()
        pubsub.stop()
    print(f"bulk submission: {len(data) / 2**20:.0f} MiB, {lines} lines, one prompt process")
    print(f"  submit (check + publish)      {took:8.2f} s")
    print(f"  peak RSS before / after       {baseline:8.1f} / {peak:.1f} MiB")
    print(f"  added by the submission       {peak - baseline:8.1f} MiB (goal <= 64)")
    return 0


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--items", type=int, default=1000)
    parser.add_argument("--delay-ms", type=int, default=400)
    parser.add_argument("--max-outstanding", type=int, default=DEFAULT_MAX_OUTSTANDING)
    parser.add_argument("--trigger", choices=("push", "event"), default="push")
    parser.add_argument(
        "--emulator-push",
        action="store_true",
        help="the emulator's own push subscription, through the Eventarc stand-in (event only)",
    )
    parser.add_argument("--input-mib", type=int, help="measure submitting a file this large")
    parser.add_argument(
        "--storage-keep-alive",
        action="store_true",
        help="the Storage stand-in keeps connections open, as Cloud Storage does",
    )
    args = parser.parse_args()
    if args.emulator_push and args.trigger != "event":
        parser.error("--emulator-push goes through the Eventarc stand-in: use --trigger event")
    entry_point = "prompt_event" if args.trigger == "event" else "prompt_push"
    if args.input_mib:
        return submit_memory(args.input_mib)
    logs = Path(tempfile.mkdtemp(prefix="bulk-bench-"))
    gateway = GatewayEmulator(token=TOKEN, delay_ms=args.delay_ms)
    gateway.start()
    pubsub = PubSubEmulator(PROJECT, logs / "pubsub.log")
    pubsub.start()
    pubsub.create_topic(TOPIC)
    storage = StorageEmulator(BUCKET, logs / "storage.log", keep_alive=args.storage_keep_alive)
    storage.start()
    env = {
        "AIG_BASE_URL": gateway.base_url(),
        "AIG_TOKEN": TOKEN,
        "GOOGLE_CLOUD_PROJECT": PROJECT,
        "LOG_LEVEL": "WARNING",
        **emulator_env(pubsub, storage),
    }
    lines = "".join(
        json.dumps({"custom_id": f"item-{i:06d}", "prompt": f"summarise ticket {i}"}) + "\n"
        for i in range(args.items)
    )
    storage.write("in/bench.jsonl", lines.encode())
    output = f"gs://{BUCKET}/out/bench/"
    bridge: EventarcBridge | EventarcPuller | None = None
    try:
        with (
            function_process(entry_point, env | {"BULK_TOPIC": TOPIC}, logs / "event.log") as (
                event_url,
                event_pid,
            ),
            function_process("prompt", env | {"BULK_TOPIC": TOPIC}, logs / "http.log") as (
                url,
                http_pid,
            ),
            httpx.Client(timeout=600) as client,
        ):
            outstanding = None if args.emulator_push else args.max_outstanding
            bridge = connect(pubsub, event_url, outstanding, args.trigger == "event")
            stand_ins = {"storage": storage.process, "pubsub": pubsub.process}
            pids = {name: proc.pid for name, proc in stand_ins.items() if proc is not None}
            cpu_before = tree_cpu_times(event_pid)
            others_before = {name: tree_cpu_seconds(pid) for name, pid in pids.items()}
            started = time.perf_counter()
            submitted = client.post(
                url, json={"bulk": {"input": f"gs://{BUCKET}/in/bench.jsonl", "output": output}}
            ).json()
            submit_seconds = time.perf_counter() - started
            assert submitted.get("ok"), submitted
            listing = []
            deadline = time.monotonic() + RUN_TIMEOUT_SECONDS
            while True:
                answer, took = status(client, url, output)
                if answer["state"] == "done":
                    break
                listing.append(took)
                assert time.monotonic() < deadline, answer
                time.sleep(2.0)  # polling interval for the status call
            # The run ended at most one poll before this call; the call itself assembled.
            run_seconds = time.perf_counter() - started - took
            cpu_after = tree_cpu_times(event_pid)
            user, system = (cpu_after[i] - cpu_before[i] for i in (0, 1))
            others = {n: tree_cpu_seconds(pid) - others_before[n] for n, pid in pids.items()}
            rss = peak_rss_mib(event_pid)
            in_flight = bridge.peak_outstanding if isinstance(bridge, EventarcPuller) else None
            http_cpu = http_path_cpu(url, http_pid, min(args.items, 1000))
        clients = item_calls_cpu(storage.url, BUCKET, min(args.items, 1000))
        results = storage.read("out/bench/results.jsonl")
        assert results is not None and results[0].count(b"\n") == args.items
        assert storage.names("out/bench/results.jsonl.parts/") == []  # deleted once composed
    finally:
        if bridge is not None:
            bridge.stop()
        storage.stop()
        pubsub.stop()
        gateway.stop()
    delivery = (
        "emulator push"
        if args.emulator_push
        else f"pull, <= {args.max_outstanding} in flight, to {entry_point}"
    )
    print(f"bulk run: {args.items} items, gateway delay {args.delay_ms} ms, one instance")
    print(f"  delivery                      {delivery}")
    connections = "kept open" if args.storage_keep_alive else "one per call (HTTP/1.0)"
    print(f"  Storage stand-in connections  {connections}")
    print(f"  submit (check + publish)      {submit_seconds:8.2f} s")
    print(f"  run (submit to all finished)  {run_seconds:8.2f} s (+- one 2 s poll)")
    print(f"  items per second              {args.items / run_seconds:8.1f}")
    print(f"  succeeded / failed            {answer['succeeded']} / {answer['failed']}")
    print(f"  event process peak RSS        {rss:8.1f} MiB")
    item_cpu = (user + system) / args.items
    http = sum(http_cpu)
    print(f"  item CPU per item             {item_cpu * 1e6:8.0f} us (goal <= 2000)")
    per_item = (user * 1e6 / args.items, system * 1e6 / args.items)
    print(f"    of which user / system      {per_item[0]:8.0f} / {per_item[1]:.0f} us")
    print(f"  HTTP path CPU per request     {http * 1e6:8.0f} us (same gateway, same run)")
    print(f"    of which user / system      {http_cpu[0] * 1e6:8.0f} / {http_cpu[1] * 1e6:.0f} us")
    print(f"  item / HTTP path              {item_cpu / http:8.2f}")
    for name, seconds in others.items():
        print(f"  {name + ' emulator CPU per item':<29} {seconds * 1e6 / args.items:8.0f} us")
    if listing:
        print(f"  status call (listing only)    {max(listing):8.2f} s (slowest)")
    print(f"  status call that assembled    {took:8.2f} s")
    if in_flight is not None:
        print(f"  items in flight (peak)        {in_flight:8d}")
    print("  an item's two Storage calls, CPU per item of the calling process:")
    for label, micros in clients.items():
        print(f"    {label:<44} {micros:8.0f} us")
    print("  memory added to the function process by importing:")
    for label, modules in IMPORT_SETS.items():
        print(f"    {label:<44} {import_cost_mib(modules):8.1f} MiB")
    # The machine is shared: how busy it was, to read the wall-clock rows against.
    load = " ".join(f"{x:.2f}" for x in os.getloadavg())
    print(f"  load average (1/5/15 min)     {load} on {os.cpu_count()} cores")
    return 0


if __name__ == "__main__":
    sys.exit(main())
