#!/usr/bin/env bash
# Install khib and hook it into the way Debian boots:
#
#   scripts/install.sh [--destdir DIR]
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

dest=
case "${1:-}" in
  "") ;;
  --destdir) dest=${2:?usage: scripts/install.sh [--destdir DIR]}; dest=$(realpath -m "$dest") ;;
  *) echo "usage: scripts/install.sh [--destdir DIR]" >&2; exit 2 ;;
esac

bash scripts/deps.sh
bash scripts/build.sh build-static
kernel=$(kernel/build.sh)
echo "install: writer/restore initramfs"
initrd=build-static/khib-initrd.img
python3 tests/vm/khibvm/initramfs.py -o "$initrd" --init build-static/tools/khib

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
mkdir -p "$dest/etc/systemd/system/sysinit.target.wants"
ln -sf /usr/lib/systemd/system/khib-discard.service \
  "$dest/etc/systemd/system/sysinit.target.wants/khib-discard.service"
if [ ! -e "$dest/etc/khib.conf" ]; then
  install -D -m 0644 dist/khib.conf "$dest/etc/khib.conf"
  echo "install: wrote /etc/khib.conf; set target= in it before hibernating"
fi

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
