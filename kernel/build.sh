#!/usr/bin/env bash
# Build khib's test kernel from Debian's linux-source-6.1, in a cache outside
# the repository, keyed by everything that decides the result: the config
# fragment, the patches, this script, the options and the source package's
# version.  A second call with the same inputs prints the cached bzImage.
#
#   kernel/build.sh                    patched kernel; prints its bzImage path
#   kernel/build.sh --without-patches  the same config without the patches,
#                                      built incrementally in the patched tree
#   kernel/build.sh --physical-start ADDR
#                                      a restore kernel that a boot loader can
#                                      start directly: it decompresses to and
#                                      runs at ADDR (the hibernation region;
#                                      boot it with nokaslr)
#   kernel/build.sh --distro-config FILE [--configure-only]
#                                      the normal kernel as packages: a
#                                      distribution's config with what khib
#                                      needs merged in (kernel/distro.sh)
#
# KHIB_CACHE (default ~/.cache/khib) chooses the cache directory.
set -euo pipefail

here=$(cd "$(dirname "$0")" && pwd)
cache=${KHIB_CACHE:-$HOME/.cache/khib}
tarball=/usr/src/linux-source-6.1.tar.xz
usage="usage: $0 [--without-patches | --physical-start ADDR | --distro-config FILE]"
unpatched=0 extra=""
case "${1:-}" in
  "") ;;
  --without-patches) unpatched=1 ;;
  --distro-config) shift; exec "$here/distro.sh" "$@" ;;
  --physical-start)
    addr=${2:-}
    # 2 MiB aligned (CONFIG_PHYSICAL_ALIGN) and above 16 MiB.
    if ! [[ "$addr" =~ ^0x[0-9a-fA-F]+$ ]] || (( addr % 0x200000 || addr < 0x1000000 )); then
      echo "kernel: --physical-start '$addr': need a hex address, 2 MiB aligned, >= 16 MiB" >&2
      exit 2
    fi
    extra="CONFIG_PHYSICAL_START=$(printf '0x%x' "$addr")" ;;
  *) echo "$usage" >&2; exit 2 ;;
esac

log() { echo "kernel: $*" >&2; }

[ -r "$tarball" ] || { echo "kernel: $tarball missing (apt-get install linux-source-6.1)" >&2; exit 1; }

srcver=$(dpkg-query -W -f '${Version}' linux-source-6.1 2>/dev/null || echo unknown)
key=$( { echo "$srcver"; echo "$extra"; cat "$here/khib.config" "$here/build.sh" \
         "$here"/patches/*.patch; } | sha256sum | cut -c1-16)
# What the source files of a tree depend on: a tree with the same sources
# can seed another (seed_tree).
sources=$( { echo "$srcver"; cat "$here"/patches/*.patch; } | sha256sum | cut -c1-16)
# A tree per flavour: the plain one, or one per physical start.
flavour=main
[ -z "$extra" ] || flavour=phys$(printf '%x' "$addr")
tree=$cache/linux-$flavour-$key
out=$cache/kernel-$key-$([ "$unpatched" = 1 ] && echo unpatched || echo patched)
mkdir -p "$cache"

exec 9>"$cache/.lock-$key"
flock 9

if [ -f "$out/bzImage" ]; then
  echo "$out/bzImage"
  exit 0
fi

jobs=$(nproc)

apply_patches() { # DIR [-R]
  local p list
  list=$(ls "$here"/patches/*.patch)
  [ "${2:-}" = -R ] && list=$(ls -r "$here"/patches/*.patch)
  for p in $list; do
    patch -d "$1" -p1 --quiet ${2:-} < "$p"
  done
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
  done < <(cat "$here/khib.config"; echo "$extra")
  [ "$missing" = 0 ] || exit 1
}

make_bzimage() { # LOG
  make -C "$tree" -s -j"$jobs" bzImage >"$1" 2>&1 || { tail -30 "$1" >&2; exit 1; }
}

# A new config in a copy of a built tree with the same sources: make
# recompiles only what the changed options reach (kbuild tracks each
# object's CONFIG_ dependencies), minutes instead of a quarter of an hour.
seed_tree() {
  local src
  # This flavour's own older trees first: their config differs least.
  for src in $(ls -dt "$cache"/linux-"$flavour"-*/ 2>/dev/null) \
             $(ls -dt "$cache"/linux-*-*/ 2>/dev/null); do
    src=${src%/}
    [ "$src" != "$tree" ] && [ -f "$src/.khib-built" ] && [ ! -f "$src/.khib-unpatched" ] &&
      [ "$(cat "$src/.khib-sources" 2>/dev/null)" = "$sources" ] || continue
    log "seeding $tree from $src (same sources, incremental build)"
    cp -a "$src" "$tree.tmp" && rm -f "$tree.tmp/.khib-built" && return 0
    rm -rf "$tree.tmp"
  done
  return 1
}

build_tree() {
  [ ! -f "$tree/.khib-built" ] || return 0
  rm -rf "$tree" "$tree.tmp"
  if ! seed_tree; then
    log "unpacking $tarball into $tree"
    mkdir -p "$tree.tmp"
    tar -xf "$tarball" -C "$tree.tmp" --strip-components=1
    log "applying kernel/patches"
    apply_patches "$tree.tmp"
    echo "$sources" > "$tree.tmp/.khib-sources"
  fi
  mv "$tree.tmp" "$tree"
  log "configuring (tinyconfig + kernel/khib.config${extra:+ + $extra})"
  make -C "$tree" -s tinyconfig >/dev/null
  { cat "$here/khib.config"; echo "$extra"; } > "$tree/.khib-fragment"
  (cd "$tree" && scripts/kconfig/merge_config.sh -m .config .khib-fragment >/dev/null)
  make -C "$tree" -s olddefconfig >/dev/null
  check_config "$tree/.config"
  log "building bzImage with $jobs jobs (a few minutes on 2 cores)"
  make_bzimage "$cache/build-$key.log"
  touch "$tree/.khib-built"
}

install_out() {
  rm -rf "$out.tmp"
  mkdir -p "$out.tmp"
  cp "$tree/arch/x86/boot/bzImage" "$tree/.config" "$tree/System.map" "$out.tmp/"
  rm -rf "$out"
  mv "$out.tmp" "$out"
}

# An unpatched build interrupted half-way left the tree reversed: restore it.
if [ -f "$tree/.khib-unpatched" ]; then
  log "restoring the patches after an interrupted unpatched build"
  apply_patches "$tree"
  rm -f "$tree/.khib-unpatched"
  make_bzimage "$cache/build-$key.log"
fi

build_tree
# Trees of other keys of this flavour are 1.6 GB each and never used again,
# unless another checkout is building one right now: each goes only under
# its own key's lock, and one that is locked stays.
for old in "$cache"/linux-"$flavour"-*; do
  [ "$old" != "$tree" ] && [ "$old" != "$tree.tmp" ] && [ -d "$old" ] || continue
  okey=${old##*-}
  okey=${okey%.tmp}
  (flock -n 8 || exit 0; log "removing stale tree $old"; rm -rf "$old") 8>"$cache/.lock-$okey"
done
if [ "$unpatched" = 1 ]; then
  # The same tree with the patches reversed: only the patched files
  # recompile.  Then put them back, so the tree stays the patched build.
  log "building the same kernel without kernel/patches (incremental)"
  touch "$tree/.khib-unpatched"
  apply_patches "$tree" -R
  make_bzimage "$cache/build-$key-unpatched.log"
  install_out
  # Put the patches back.  No build is needed now: their newer mtimes make
  # the next build of this tree recompile what they touch.
  apply_patches "$tree"
  rm -f "$tree/.khib-unpatched"
else
  install_out
fi
echo "$out/bzImage"
