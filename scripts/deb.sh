#!/usr/bin/env bash
# Build khib's Debian package (make deb): build-deb/khib_VERSION_amd64.deb,
# unsigned, its path printed last.
#
# dpkg-buildpackage runs in a copy of the tree, build-deb/khib-VERSION, with
# dist/debian as its debian/: its clean and build never touch this tree's
# build directories, and it packages the tree's files as they are (tracked
# and untracked ones, not ignored ones).  VERSION is meson.build's; in a git
# clone, +git<commits>.g<commit>, and .dirty with uncommitted changes: the
# top entry of the copy's debian/changelog says it.  The writer/restore
# kernel comes from kernel/build.sh's cache (built on first use).
# Nothing is built again when the files, the version and the kernel are
# those of the last package (build-deb/.key).
set -euo pipefail
cd "$(dirname "$0")/.."
top=$PWD out=$top/build-deb

bash scripts/deps.sh
version=$(sed -n "s/^ *version *: *'\([^']*\)'.*/\1/p" meson.build)
git=
if git rev-parse --is-inside-work-tree >/dev/null 2>&1; then
  git=yes
  version+="+git$(git rev-list --count HEAD).g$(git rev-parse --short HEAD)"
  git diff-index --quiet HEAD -- || version+=.dirty
fi
files() {
  if [ -n "$git" ]; then
    git ls-files -z -co --exclude-standard | while IFS= read -r -d '' f; do
      [ -e "$f" ] && printf '%s\0' "$f"
    done
  else
    find . -path ./.git -prune -o -path './build*' -prune -o -path ./.cache -prune \
      -o \( -type f -o -type l \) -printf '%P\0'
  fi
}

mkdir -p "$out"
exec 9>"$out/.lock"
flock 9
deb=$out/khib_${version}_amd64.deb
key=$( { echo "$version"; kernel/build.sh; files | sort -z | xargs -0 sha256sum; } | sha256sum)
if [ -f "$deb" ] && [ "$(cat "$out/.key" 2>/dev/null)" = "$key" ]; then
  echo "deb: up to date"
  echo "$deb"
  exit 0
fi

find "$out" -mindepth 1 -maxdepth 1 ! -name .lock -exec rm -rf {} +
src=$out/khib-$version
mkdir -p "$src"
files | tar -C "$top" --null -T - -cf - | tar -C "$src" -xf -
cp -a dist/debian "$src/debian"
sed -i "1s/^khib ([^)]*)/khib ($version)/" "$src/debian/changelog"
echo "deb: dpkg-buildpackage in $src (log: $out/build.log)"
if ! (cd "$src" && dpkg-buildpackage -us -uc -b) >"$out/build.log" 2>&1; then
  tail -40 "$out/build.log"
  echo "deb: dpkg-buildpackage failed" >&2
  exit 1
fi
rm -rf "$src"
echo "$key" >"$out/.key"
echo "$deb"
