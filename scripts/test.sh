#!/usr/bin/env bash
# Run every test tier and close with one "N passed, N failed" line:
#   unit        unit tests (warnings are errors)
#   unit-asan   the same under ASan + UBSan
#   fuzz        every fuzz corpus replayed through the parsers, under ASan
#   doc         the man page covers every command
#   cli         bad input to the host tools: one line, nothing destroyed
#   kernel      a distribution's config merged with what khib needs keeps it
#               all, and the patches apply to Debian's source (no build)
#   tpm         the TPM2 module against swtpm, a TPM 2.0 emulator
#   deb         make deb: the package holds what scripts/install.sh installs,
#               /etc/khib.conf its conffile; lintian finds no error
#   vm-harness  the VM tests' harness on its own, no QEMU (console lines)
#   vm          real kernels in QEMU (builds the kernel on first use)
# Exits non-zero if any tier fails.  Installs what it needs first.
set -uo pipefail
cd "$(dirname "$0")/.."

bash scripts/deps.sh || exit 1
total_pass=0 total_fail=0 broken=()
logdir=build-logs
mkdir -p "$logdir"

tier() { # NAME COMMAND...
  local name=$1 line p f
  shift
  echo "== $name"
  "$@" 2>&1 | tee "$logdir/$name.log"
  local rc=${PIPESTATUS[0]}
  line=$(grep -E '^[0-9]+ passed, [0-9]+ failed' "$logdir/$name.log" | tail -1)
  if [ -n "$line" ]; then
    p=${line%% passed*}; f=${line#*passed, }; f=${f%% failed*}
    total_pass=$((total_pass + p)); total_fail=$((total_fail + f))
  fi
  if [ "$rc" != 0 ] || [ -z "$line" ]; then
    broken+=("$name")
    [ -n "$line" ] && [ "$f" != 0 ] || total_fail=$((total_fail + 1))
  fi
}

# Every fuzz target's corpus through its parser, under ASan+UBSan; each
# input that neither crashes nor trips a sanitizer counts as passed.
fuzz_replay() {
  local t out n pass=0 fail=0
  for t in image elfcore bzimage handoff iomem pagefilter keyslot devmap initrd; do
    if out=$(build-asan/tests/fuzz/replay-$t tests/fuzz/corpus/$t 2>&1); then
      n=$(echo "$out" | sed -n 's/^\([0-9]*\) inputs replayed$/\1/p')
      echo "replay-$t: ${n:-?} inputs"
      pass=$((pass + ${n:-0}))
    else
      echo "$out" | tail -20
      echo "replay-$t: FAILED"
      fail=$((fail + 1))
    fi
  done
  echo "$pass passed, $fail failed"
  [ "$fail" = 0 ]
}

# The man page documents every command khib lists, and renders cleanly.
man_check() {
  local pass=0 fail=0
  if sh doc/check-man.sh build/tools/khib doc/khib.8; then pass=$((pass + 1)); else fail=$((fail + 1)); fi
  if command -v groff >/dev/null; then
    if groff -man -Tutf8 -ww doc/khib.8 2>&1 >/dev/null | grep -q .; then
      echo "groff warns about doc/khib.8"; fail=$((fail + 1))
    else
      echo "groff: doc/khib.8 renders without warnings"; pass=$((pass + 1))
    fi
  fi
  echo "$pass passed, $fail failed"
  [ "$fail" = 0 ]
}

# The VM harness's self-test: console lines a kernel message cut in two are
# rejoined (tests/vm/khibvm/test_console.py; prints "N passed, N failed").
vm_harness() {
  (cd tests/vm && python3 -m khibvm.test_console)
}

build_all() {
  bash scripts/build.sh build && bash scripts/build.sh build-asan &&
    bash scripts/build.sh build-static &&
    echo "kernel: $(kernel/build.sh)"
}

echo "== build"
if ! build_all; then
  echo "build failed"
  echo "0 passed, 1 failed"
  exit 1
fi

export UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1
tier unit build/tests/unit/khib-unit-tests
tier unit-asan build-asan/tests/unit/khib-unit-tests
tier fuzz fuzz_replay
tier doc man_check
tier cli python3 tests/cli/bad_input.py build/tools/khib
tier kernel bash tests/kernel/run.sh
tier tpm bash tests/tpm/run.sh build/tests/tpm/khib-tpm2-tests
tier deb python3 tests/deb/check.py
tier vm-harness vm_harness
# Two tests at a time (KHIB_VM_JOBS): most VMs keep one host core busy, and
# the run stays well inside CI's time; each test's lines print when it ends.
tier vm python3 tests/vm/run.py --jobs "${KHIB_VM_JOBS:-2}"

[ ${#broken[@]} -eq 0 ] || echo "failing tiers: ${broken[*]}"
echo "$total_pass passed, $total_fail failed"
[ ${#broken[@]} -eq 0 ]
