#!/usr/bin/env bash
# Install khib and hook it into the way Debian boots:
#
#   scripts/install.sh [--destdir DIR]   build, install, enable khib-discard.service;
#                                        without DIR, tell update-initramfs and systemd
#   scripts/install.sh --build           only build what is installed
#   scripts/install.sh --files DIR       only install, under DIR, what --build built:
#                                        nothing enabled, nothing told (the Debian
#                                        package, dist/debian/rules: its maintainer
#                                        scripts do the rest)
#
#   /usr/sbin/khib                         static: it also runs in initramfs images
#   /usr/share/man/man8/khib.8
#   /usr/lib/khib/vmlinuz, initrd.img      the writer/restore kernel (kernel/build.sh)
#                                          and its initramfs (khib as /init)
#   /usr/share/initramfs-tools/hooks/khib  puts khib, /etc/khib.conf and the restore
#   /usr/share/initramfs-tools/scripts/init-premount/khib
#                                          kernel into the initramfs; resumes there
#   /usr/lib/systemd/system/systemd-hibernate.service.d/khib.conf
#                                          `systemctl hibernate` runs khib hibernate
#   /usr/lib/systemd/system/systemd-logind.service.d/khib.conf
#                                          logind allows hibernation without swap
#   /usr/lib/systemd/system/khib-discard.service (enabled)
#                                          a boot that did not resume discards the image
#   /etc/khib.conf                         only if there is none yet
#
# With --destdir everything goes under DIR (a chroot, a package tree) and
# nothing on this machine is touched; without it, update-initramfs and
# systemd are told.  The normal kernel needs CONFIG_KEXEC_JUMP and the fix
# in kernel/patches/ (khib hibernate checks and says so).
set -euo pipefail
cd "$(dirname "$0")/.."

usage="usage: scripts/install.sh [--destdir DIR | --build | --files DIR]"
mode=all dest=
case "${1:-}" in
  "") ;;
  --destdir|--files)
    [ "$1" = --files ] && mode=files
    dest=${2:?$usage}; dest=$(realpath -m "$dest") ;;
  --build) mode=build ;;
  *) echo "$usage" >&2; exit 2 ;;
esac
initrd=build-static/khib-initrd.img

build() {
  bash scripts/build.sh build-static
  kernel/build.sh >/dev/null
  echo "install: writer/restore initramfs"
  python3 tests/vm/khibvm/initramfs.py -o "$initrd" --init build-static/tools/khib --no-compress
}

files() {
  local kernel
  kernel=$(kernel/build.sh)
  echo "install: into ${dest:-/}"
  install -D -m 0755 build-static/tools/khib "$dest/usr/sbin/khib"
  install -D -m 0644 doc/khib.8 "$dest/usr/share/man/man8/khib.8"
  install -D -m 0644 "$kernel" "$dest/usr/lib/khib/vmlinuz"
  install -D -m 0644 "$initrd" "$dest/usr/lib/khib/initrd.img"
  install -D -m 0755 dist/initramfs-tools/hooks/khib "$dest/usr/share/initramfs-tools/hooks/khib"
  install -D -m 0755 dist/initramfs-tools/scripts/init-premount/khib \
    "$dest/usr/share/initramfs-tools/scripts/init-premount/khib"
  for unit in systemd-hibernate systemd-logind; do
    install -D -m 0644 "dist/systemd/$unit.service.d/khib.conf" \
      "$dest/usr/lib/systemd/system/$unit.service.d/khib.conf"
  done
  install -D -m 0644 dist/systemd/khib-discard.service \
    "$dest/usr/lib/systemd/system/khib-discard.service"
  if [ ! -e "$dest/etc/khib.conf" ]; then
    install -D -m 0644 dist/khib.conf "$dest/etc/khib.conf"
    if [ "$mode" = all ]; then
      echo "install: wrote /etc/khib.conf; set target= in it before hibernating"
    fi
  fi
}

case "$mode" in
  build) build; exit 0 ;;
  files) files; exit 0 ;;
esac
bash scripts/deps.sh
build
files
mkdir -p "$dest/etc/systemd/system/sysinit.target.wants"
ln -sf /usr/lib/systemd/system/khib-discard.service \
  "$dest/etc/systemd/system/sysinit.target.wants/khib-discard.service"
if [ -z "$dest" ]; then
  if command -v update-initramfs >/dev/null; then
    update-initramfs -u
  fi
  if [ -d /run/systemd/system ]; then
    systemctl daemon-reload
    systemctl try-restart systemd-logind.service || true
  fi
fi
echo "install: done"
