#!/usr/bin/env bash
# The kernel material, without building a distribution kernel (hours on two
# cores): kernel/normal.config is what khib needs of the normal kernel;
# Debian's own config (linux-config-6.1) merged with it by `kernel/build.sh
# --distro-config` keeps every one of those options, kernel/patches apply to
# Debian's linux-source-6.1 and are applied in that tree, and the test
# kernel has them too.  Bad arguments: one line, no tree.
# Prints "N passed, N failed".
set -uo pipefail
cd "$(dirname "$0")/../.."

pass=0 fail=0
ok() { echo "ok   $1"; pass=$((pass + 1)); }
bad() { echo "FAIL $1"; fail=$((fail + 1)); }
check() { # NAME COMMAND...: passes when COMMAND succeeds
  local name=$1
  shift
  if "$@"; then ok "$name"; else bad "$name"; fi
}

options() { grep -E '^CONFIG_[A-Z0-9_]+=' kernel/normal.config; }
has_all() { # CONFIG
  local line missing=0
  while IFS= read -r line; do
    grep -qx "$line" "$1" || { echo "  $1 lacks $line"; missing=1; }
  done < <(options)
  [ "$missing" = 0 ]
}

check "normal.config names options" test "$(options | wc -l)" -ge 5

test_kernel=$(kernel/build.sh)
check "the test kernel has what kernel/normal.config asks" has_all "$(dirname "$test_kernel")/.config"

debian=/usr/src/linux-config-6.1/config.amd64_none_amd64.xz
check "Debian's config lacks CONFIG_KEXEC_JUMP" \
  sh -c "xz -dc $debian | grep -qx '# CONFIG_KEXEC_JUMP is not set'"
if merged=$(kernel/build.sh --distro-config "$debian" --configure-only 2>/tmp/khib-distro.$$); then
  ok "Debian's config merged and configured"
  check "the merged config keeps every option of kernel/normal.config" has_all "$merged"
  check "the merged config is Debian's (its modules, e.g. CONFIG_NVME_CORE=m)" \
    grep -qx 'CONFIG_NVME_CORE=m' "$merged"
  check "the merged config names the release -khib" grep -qx 'CONFIG_LOCALVERSION="-khib"' "$merged"
  applied=1
  for p in kernel/patches/*.patch; do
    patch -d "$(dirname "$merged")" -p1 -R --dry-run --quiet < "$p" >/dev/null || applied=0
  done
  check "kernel/patches are applied in the distribution tree" test "$applied" = 1
else
  bad "Debian's config merged and configured: $(tail -3 /tmp/khib-distro.$$)"
fi
rm -f /tmp/khib-distro.$$

# Bad arguments: one line, exit 1 or 2, nothing built.
one_line() { # EXPECTED-STATUS PATTERN ARGS...
  local want=$1 pattern=$2 out rc
  shift 2
  out=$(kernel/build.sh "$@" 2>&1 >/dev/null)
  rc=$?
  [ "$rc" = "$want" ] && [ "$(printf '%s\n' "$out" | wc -l)" = 1 ] &&
    printf '%s\n' "$out" | grep -q "$pattern" || { echo "  status $rc: $out"; return 1; }
}
check "a missing config: one line" one_line 1 "cannot read it" --distro-config /nonexistent
empty=$(mktemp)
check "a config that is not x86-64: one line" one_line 1 "not an x86-64 kernel config" \
  --distro-config "$empty"
rm -f "$empty"
check "no config: usage" one_line 2 "usage" --distro-config
check "an unknown option after it: usage" one_line 2 "usage" --distro-config "$debian" --bogus

echo "$pass passed, $fail failed"
[ "$fail" = 0 ]
