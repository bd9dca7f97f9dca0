#!/usr/bin/env bash
# Install, from Debian's packages, whatever khib's build, tests and demo need
# and this machine lacks.  Says what it installs; does nothing when all is
# there.  Needs root (or sudo) only when something is missing.
set -euo pipefail

packages=(
  build-essential pkg-config meson ninja-build python3   # the build
  libzstd-dev liblz4-dev libxxhash-dev                    # codecs, checksum
  zlib1g-dev                                              # gzip'ed initramfs images
  libblkid-dev                                            # target signatures
  libsodium-dev libgcrypt20-dev                           # image encryption
  libtss2-dev                                             # the TPM2 module
  swtpm swtpm-tools                                       # the TPM tests' TPM
  linux-source-6.1 bc flex bison libelf-dev libssl-dev    # the test kernel
  linux-config-6.1                                        # a distribution config
  xz-utils patch cpio kmod
  qemu-system-x86 busybox-static debootstrap e2fsprogs    # the VM tests
  ovmf                                                    # UEFI in the VM tests
  fdisk                                                   # the bad-input tests
  cryptsetup-bin lvm2                                     # LUKS and LVM in the VM tests
  python3-xxhash                                          # VM tests forge checksums
  debhelper dpkg-dev lintian                              # the Debian package
)

missing=()
for p in "${packages[@]}"; do
  if ! dpkg-query -W -f '${Status}' "$p" 2>/dev/null | grep -q "ok installed"; then
    missing+=("$p")
  fi
done
[ ${#missing[@]} -eq 0 ] && exit 0

sudo=
if [ "$(id -u)" != 0 ]; then
  command -v sudo >/dev/null || { echo "deps: need root to install: ${missing[*]}" >&2; exit 1; }
  sudo=sudo
fi
echo "deps: installing from Debian: ${missing[*]}"
export DEBIAN_FRONTEND=noninteractive
$sudo apt-get update -q >/dev/null
$sudo apt-get install -y -q --no-install-recommends "${missing[@]}" >/dev/null
echo "deps: done"
