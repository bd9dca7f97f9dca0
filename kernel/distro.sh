#!/usr/bin/env bash
# The normal kernel for a distribution: its own config with what khib needs
# merged in (kernel/normal.config, plus kernel/distro.config to build from
# the plain source), kernel/patches applied to Debian's linux-source-6.1,
# built into installable packages by the kernel's own bindeb-pkg.  Run it
# as `kernel/build.sh --distro-config FILE`.
#
#   kernel/build.sh --distro-config FILE [--configure-only]
#
# FILE: a distribution config, e.g. /boot/config-$(uname -r), or an
# xz-compressed one as Debian's linux-config-6.1 package ships them
# (/usr/src/linux-config-6.1/config.amd64_none_amd64.xz).  The tree and the
# packages are cached like the test kernels (KHIB_CACHE, ~/.cache/khib),
# keyed by the config, the fragments, the patches, this script and the
# source package's version.  --configure-only stops once the merged config
# is checked and prints its path; otherwise the build prints the paths of
# the linux-image and linux-headers packages.  A full build of Debian's
# config takes hours on two cores and about 20 GB of disk.
set -euo pipefail

here=$(cd "$(dirname "$0")" && pwd)
cache=${KHIB_CACHE:-$HOME/.cache/khib}
tarball=/usr/src/linux-source-6.1.tar.xz
usage="usage: kernel/build.sh --distro-config FILE [--configure-only]"
log() { echo "kernel: $*" >&2; }

[ $# -ge 1 ] || { echo "$usage" >&2; exit 2; }
config=$1
configure_only=0
case "${2:-}" in
  "") ;;
  --configure-only) configure_only=1 ;;
  *) echo "$usage" >&2; exit 2 ;;
esac
[ $# -le 2 ] || { echo "$usage" >&2; exit 2; }
[ -r "$config" ] || { log "--distro-config '$config': cannot read it"; exit 1; }
[ -r "$tarball" ] || { log "$tarball missing (apt-get install linux-source-6.1)"; exit 1; }

read_config() {
  case "$config" in
    *.xz) xz -dc "$config" ;;
    *.gz) gzip -dc "$config" ;;
    *) cat "$config" ;;
  esac
}
# (grep reads it all: with -q, xz would die of SIGPIPE and fail the pipe.)
read_config 2>/dev/null | grep -x 'CONFIG_X86_64=y' >/dev/null ||
  { log "--distro-config '$config': not an x86-64 kernel config"; exit 1; }

srcver=$(dpkg-query -W -f '${Version}' linux-source-6.1 2>/dev/null || echo unknown)
key=$( { echo "$srcver"; read_config; cat "$here/normal.config" "$here/distro.config" \
         "$here/distro.sh" "$here"/patches/*.patch; } | sha256sum | cut -c1-16)
tree=$cache/distro-$key
debs=$cache/distro-$key-debs
mkdir -p "$cache"
exec 9>"$cache/.lock-distro-$key"
flock 9

# Each line of kernel/normal.config, as olddefconfig left it.
check_config() {
  local missing=0 line
  while IFS= read -r line; do
    case "$line" in CONFIG_*=*) ;; *) continue ;; esac
    grep -qx "$line" "$1" || { log "the merged config lost $line"; missing=1; }
  done < "$here/normal.config"
  [ "$missing" = 0 ] || { log "a dependency of the distribution's config drops it; see $1"; exit 1; }
}

configure() {
  rm -rf "$tree.tmp"
  mkdir -p "$tree.tmp"
  log "unpacking $tarball into $tree"
  tar -xf "$tarball" -C "$tree.tmp" --strip-components=1
  local p
  for p in "$here"/patches/*.patch; do
    patch -d "$tree.tmp" -p1 --quiet --forward < "$p" >/dev/null ||
      { log "kernel/patches/${p##*/} does not apply to linux-source-6.1 $srcver"; exit 1; }
  done
  read_config > "$tree.tmp/.config"
  cat "$here/normal.config" "$here/distro.config" > "$tree.tmp/.khib-fragment"
  (cd "$tree.tmp" && scripts/kconfig/merge_config.sh -m .config .khib-fragment >/dev/null)
  make -C "$tree.tmp" -s olddefconfig >/dev/null
  check_config "$tree.tmp/.config"
  touch "$tree.tmp/.khib-configured"
  mv "$tree.tmp" "$tree"
}

[ -f "$tree/.khib-configured" ] || configure
# Other keys' trees are 1.5 GB unpacked (far more once built).
for old in "$cache"/distro-*; do
  case "$old" in "$tree" | "$debs" | *.tmp) continue ;; esac
  [ -d "$old" ] && { log "removing stale $old"; rm -rf "$old"; }
done
if [ "$configure_only" = 1 ]; then
  echo "$tree/.config"
  exit 0
fi

if [ ! -f "$debs/.khib-built" ]; then
  jobs=$(nproc)
  log "building linux-image and linux-headers packages with $jobs jobs: hours on two cores (log: $cache/build-distro-$key.log)"
  rm -f "$cache"/linux-*.deb "$cache"/linux-upstream_* "$cache"/linux-*.buildinfo "$cache"/linux-*.changes
  # bindeb-pkg leaves the packages beside the tree.
  make -C "$tree" -j"$jobs" bindeb-pkg KDEB_PKGVERSION="$srcver+khib1" \
    >"$cache/build-distro-$key.log" 2>&1 ||
    { tail -30 "$cache/build-distro-$key.log" >&2; exit 1; }
  rm -rf "$debs"
  mkdir -p "$debs"
  mv "$cache"/linux-image-*.deb "$cache"/linux-headers-*.deb "$debs"/
  rm -f "$cache"/linux-*.deb "$cache"/linux-upstream_* "$cache"/linux-*.buildinfo "$cache"/linux-*.changes
  touch "$debs/.khib-built"
fi
ls "$debs"/*.deb
