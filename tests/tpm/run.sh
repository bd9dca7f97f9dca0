#!/usr/bin/env bash
# Run the TPM2 tests against swtpm instances of their own, fresh states:
#   tests/tpm/run.sh build/tests/tpm/khib-tpm2-tests [TEST NAME WORDS...]
# KHIB_TPM2_TCTI: a TPM as swtpm makes it by default (sha1 and sha256
# banks); KHIB_TPM2_TCTI_SHA1: one whose only PCR bank is sha1
# (swtpm_setup --pcr-banks sha1).  Each swtpm listens on a free TCP port P
# (its control channel on P+1) and is killed by its pid when the tests end,
# pass or fail.  A missing swtpm or test program fails the run, with one
# line saying which.
set -uo pipefail

bin=${1:?usage: tests/tpm/run.sh khib-tpm2-tests [TEST...]}
shift
for tool in swtpm swtpm_setup; do
  if ! command -v $tool >/dev/null; then
    echo "tpm: $tool is not installed (scripts/deps.sh installs swtpm and swtpm-tools)"
    echo "0 passed, 1 failed"
    exit 1
  fi
done
if [ ! -x "$bin" ]; then
  echo "tpm: $bin not built (the build found no tpm2-tss: install libtss2-dev, then meson setup --reconfigure)"
  echo "0 passed, 1 failed"
  exit 1
fi

tmp=$(mktemp -d "${TMPDIR:-/tmp}/khib-swtpm-XXXXXX")
pids=()
cleanup() {
  local p
  for p in "${pids[@]}"; do
    kill "$p" 2>/dev/null
    wait "$p" 2>/dev/null
  done
  rm -rf "$tmp"
}
trap cleanup EXIT
trap 'exit 1' INT TERM

fail() {
  echo "tpm: $*"
  echo "0 passed, 1 failed"
  exit 1
}

# swtpm on the TPM state in directory $1, on a random port pair (another
# when it cannot bind one); sets port.
start_swtpm() {
  local state=$1 p pid
  port=
  for _ in 1 2 3 4 5 6 7 8 9 10; do
    p=$((20000 + RANDOM % 40000))
    swtpm socket --tpm2 --server type=tcp,port=$p,bindaddr=127.0.0.1 \
      --ctrl type=tcp,port=$((p + 1)),bindaddr=127.0.0.1 \
      --tpmstate dir="$state" --flags not-need-init,startup-clear \
      >"$state.log" 2>&1 &
    pid=$!
    for _ in $(seq 50); do
      kill -0 "$pid" 2>/dev/null || break
      if (exec 3<>"/dev/tcp/127.0.0.1/$((p + 1))") 2>/dev/null; then
        pids+=("$pid")
        port=$p
        echo "tpm: swtpm pid $pid on 127.0.0.1:$port ($(basename "$state"))"
        return 0
      fi
      sleep 0.1
    done
    kill "$pid" 2>/dev/null
    wait "$pid" 2>/dev/null
  done
  cat "$state.log" 2>/dev/null
  return 1
}

mkdir "$tmp/default" "$tmp/sha1-only"
swtpm_setup --tpm2 --tpmstate "$tmp/sha1-only" --pcr-banks sha1 >"$tmp/setup.log" 2>&1 ||
  { cat "$tmp/setup.log"; fail "swtpm_setup of a sha1-only TPM failed"; }
start_swtpm "$tmp/default" || fail "swtpm did not start"
export KHIB_TPM2_TCTI="swtpm:host=127.0.0.1,port=$port"
start_swtpm "$tmp/sha1-only" || fail "swtpm (sha1 bank only) did not start"
export KHIB_TPM2_TCTI_SHA1="swtpm:host=127.0.0.1,port=$port"
"$bin" "$@"
