#!/usr/bin/env bash
# The reliability campaigns, each too slow for `make test` in full (their
# quick forms are VM tests there).  Installs what they need, builds khib
# (static, for the VMs and the host-side checks) and the kernel, then runs
# one campaign, or all in turn; each prints one row per trial and closes
# with its summary line ("campaign NAME: tried N, resumed intact N, refused
# cleanly N, partial 0, hung 0").  Exits non-zero if any campaign failed.
#   scripts/campaign.sh crashstates|powercut-writer|powercut-resume|soak|jumps|all
set -uo pipefail
cd "$(dirname "$0")/.."

case "${1:-}" in
crashstates|powercut-writer|powercut-resume|soak|jumps|all) ;;
*) echo "usage: scripts/campaign.sh crashstates|powercut-writer|powercut-resume|soak|jumps|all" >&2
   exit 2 ;;
esac
bash scripts/deps.sh || exit 1
bash scripts/build.sh build-static || exit 1
echo "kernel: $(kernel/build.sh)" || exit 1

run() { # NAME
  case "$1" in
  crashstates) python3 tests/campaigns/crashstates.py ;;
  powercut-writer) python3 tests/campaigns/powercut.py writer ;;
  powercut-resume) python3 tests/campaigns/powercut.py resume ;;
  soak) python3 tests/campaigns/soak.py --cycles 50 ;;
  jumps) python3 tests/campaigns/jumps.py --jumps 200 ;;
  esac
}

failed=()
if [ "$1" = all ]; then
  for c in crashstates powercut-writer powercut-resume soak jumps; do
    run "$c" || failed+=("$c")
  done
else
  run "$1" || failed+=("$1")
fi
[ ${#failed[@]} -eq 0 ] || { echo "failed campaigns: ${failed[*]}"; exit 1; }
