#!/usr/bin/env bash
# Build khib's test kernel from Debian's linux-source-6.1, in a cache outside
# the repository, keyed by everything that decides the result: the config
# fragment, the patches, this script and the source package's version.  A
# second call with the same inputs prints the cached bzImage at once.
#
#   kernel/build.sh                    patched kernel; prints its bzImage path
#   kernel/build.sh --without-patches  the same config without the patches,
#                                      built incrementally in the patched tree
#
# KHIB_CACHE (default ~/.cache/khib) chooses the cache directory.
set -euo pipefail

here=$(cd "$(dirname "$0")" && pwd)
cache=${KHIB_CACHE:-$HOME/.cache/khib}
tarball=/usr/src/linux-source-6.1.tar.xz
variant=patched
case "${1:-}" in
  "") ;;
  --without-patches) variant=unpatched ;;
  *) echo "usage: $0 [--without-patches]" >&2; exit 2 ;;
esac

log() { echo "kernel: $*" >&2; }

[ -r "$tarball" ] || { echo "kernel: $tarball missing (apt-get install linux-source-6.1)" >&2; exit 1; }

srcver=$(dpkg-query -W -f '${Version}' linux-source-6.1 2>/dev/null || echo unknown)
key=$( { echo "$srcver"; cat "$here/khib.config" "$here/build.sh" "$here"/patches/*.patch; } \
       | sha256sum | cut -c1-16)
tree=$cache/linux-$key
out=$cache/kernel-$key-$variant
mkdir -p "$cache"

exec 9>"$cache/.lock-$key"
flock 9

if [ -f "$out/bzImage" ]; then
  echo "$out/bzImage"
  exit 0
fi

jobs=$(nproc)

build_patched() {
  if [ ! -f "$tree/.khib-built" ]; then
    rm -rf "$tree" "$tree.tmp"
    log "unpacking $tarball into $tree"
    mkdir -p "$tree.tmp"
    tar -xf "$tarball" -C "$tree.tmp" --strip-components=1
    log "applying kernel/patches"
    apply_patches "$tree.tmp"
    mv "$tree.tmp" "$tree"
    log "configuring (tinyconfig + kernel/khib.config)"
    make -C "$tree" -s tinyconfig >/dev/null
    (cd "$tree" && scripts/kconfig/merge_config.sh -m .config "$here/khib.config" >/dev/null)
    make -C "$tree" -s olddefconfig >/dev/null
    check_config "$tree/.config"
    log "building bzImage with $jobs jobs (a few minutes on 2 cores)"
    make -C "$tree" -s -j"$jobs" bzImage >"$cache/build-$key.log" 2>&1 \
      || { tail -30 "$cache/build-$key.log" >&2; exit 1; }
    touch "$tree/.khib-built"
  fi
}

# tinyconfig's dependencies can silently drop an option; refuse that.
check_config() {
  local missing=0 line
  while IFS= read -r line; do
    case "$line" in CONFIG_*=*) ;; *) continue ;; esac
    if ! grep -qx "$line" "$1"; then
      log "option not in the final config: $line"
      missing=1
    fi
  done < "$here/khib.config"
  [ "$missing" = 0 ] || exit 1
}

install_out() {
  rm -rf "$out.tmp"
  mkdir -p "$out.tmp"
  cp "$1/arch/x86/boot/bzImage" "$1/.config" "$1/System.map" "$out.tmp/"
  rm -rf "$out"
  mv "$out.tmp" "$out"
}

apply_patches() { # DIR [-R]
  local p list
  list=$(ls "$here"/patches/*.patch)
  [ "${2:-}" = -R ] && list=$(ls -r "$here"/patches/*.patch)
  for p in $list; do
    patch -d "$1" -p1 --quiet ${2:-} < "$p"
  done
}

# An unpatched build interrupted half-way left the tree reversed: restore it.
if [ -f "$tree/.khib-unpatched" ]; then
  log "restoring the patches after an interrupted unpatched build"
  apply_patches "$tree"
  rm -f "$tree/.khib-unpatched"
  make -C "$tree" -s -j"$jobs" bzImage >"$cache/build-$key.log" 2>&1
fi

build_patched
# Source trees of other keys are 1.6 GB each and never used again.
for old in "$cache"/linux-*; do
  [ "$old" = "$tree" ] || [ ! -d "$old" ] || { log "removing stale tree $old"; rm -rf "$old"; }
done
[ -f "$cache/kernel-$key-patched/bzImage" ] || \
  { out=$cache/kernel-$key-patched install_out "$tree"; }
if [ "$variant" = unpatched ]; then
  # The same tree with the patches reversed: only the patched files
  # recompile.  Then put them back, so the tree stays the patched build.
  log "building the same kernel without kernel/patches (incremental)"
  touch "$tree/.khib-unpatched"
  apply_patches "$tree" -R
  make -C "$tree" -s -j"$jobs" bzImage >"$cache/build-$key-unpatched.log" 2>&1 \
    || { tail -30 "$cache/build-$key-unpatched.log" >&2; exit 1; }
  install_out "$tree"
  apply_patches "$tree"
  rm -f "$tree/.khib-unpatched"
  make -C "$tree" -s -j"$jobs" bzImage >"$cache/build-$key.log" 2>&1 \
    || { tail -30 "$cache/build-$key.log" >&2; exit 1; }
fi
echo "$out/bzImage"
