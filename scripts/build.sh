#!/usr/bin/env bash
# Configure (once) and build one of khib's build directories:
#   scripts/build.sh build         host tools and tests, warnings are errors
#   scripts/build.sh build-asan    the same under ASan + UBSan
#   scripts/build.sh build-static  static binaries for initramfs images
set -euo pipefail
cd "$(dirname "$0")/.."

dir=${1:?usage: scripts/build.sh build|build-asan|build-static}
case "$dir" in
  build)        opts=(-Dwerror=true) ;;
  build-asan)   opts=(-Dwerror=true -Db_sanitize=address,undefined -Db_lundef=false) ;;
  build-static) opts=(-Dwerror=true -Dstatic=true --buildtype=release) ;;
  *) echo "build: unknown build directory '$dir'" >&2; exit 2 ;;
esac
if [ ! -f "$dir/build.ninja" ]; then
  echo "build: configuring $dir"
  meson setup "$dir" "${opts[@]}" >/dev/null
fi
ninja -C "$dir" >/dev/null || ninja -C "$dir"
