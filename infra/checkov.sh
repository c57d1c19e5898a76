#!/usr/bin/env bash
# Static security checks of the Terraform module, fully offline.
#
#   CHECKOV=.venv-checkov/bin/checkov bash infra/checkov.sh     (what `make infra-check` runs)
#
# Exits non-zero when any check fails. Skips are inline `#checkov:skip=` comments in the .tf
# files, each with its reason; there is no skip list here.
set -euo pipefail

checkov="${CHECKOV:-checkov}"
# A relative CHECKOV path is relative to where the caller stands, not to the repository root.
if [[ "$checkov" == */* && "$checkov" != /* ]]; then
  checkov="$PWD/$checkov"
fi
if ! command -v "$checkov" >/dev/null 2>&1; then
  echo "checkov not found at '$checkov': run 'make infra-check', or set CHECKOV to its path." >&2
  exit 2
fi

cd "$(dirname "$0")/.."

# No network: no guideline download (--skip-download, BC_SKIP_MAPPING), no external modules,
# no platform API key, and no version probe (checkov otherwise asks PyPI for its latest release).
export BC_SKIP_MAPPING="TRUE"
export CKV_SKIP_PACKAGE_UPDATE_CHECK="true"

exec "$checkov" \
  --directory infra \
  --framework terraform \
  --skip-download \
  --download-external-modules false \
  --quiet \
  --compact
