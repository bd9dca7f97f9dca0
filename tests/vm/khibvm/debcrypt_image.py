# SPDX-License-Identifier: GPL-2.0-only
"""The disk of a Debian 12 installed by its installer's "Guided - use
entire disk and set up encrypted LVM", built once and cached; khibvm/
debcrypt.py copies and boots it.  Everything here goes into the image, so
this file's source is part of the image's cache key (with the package
list, khibvm/debian.py, and the release and .config of khib's kernel):
~/.cache/khib/debcrypt-KEY.img.

The disk (4 GiB, sparse; GPT):

  vda1  EFI system partition, vfat, 32 MiB (empty), /boot/efi
  vda2  /boot, ext4, 256 MiB: config-R and initrd.img-R (R: the release
        of khib's kernel, which QEMU's -kernel boots: there is no boot
        loader and no vmlinuz)
  vda3  LUKS2, passphrase PASSPHRASE with argon2id (the installer's KDF)
        at its smallest cost, 32 KiB and 4 iterations, so that unlocking
        under TCG takes no time; opened as vda3_crypt, it holds the LVM
        volume group debian-vg: root (ext4, 2.5 GiB) and swap_1 (256 MiB),
        with about 0.9 GiB of the group left free

/etc/fstab and /etc/crypttab are the installer's: the root and swap LVs by
their /dev/mapper names, /boot and the ESP by UUID, vda3_crypt by its LUKS
UUID with no key file (`luks,discard`); /etc/initramfs-tools/conf.d/resume
names the swap LV.  With cryptsetup-initramfs and lvm2 installed, Debian's
own initramfs asks "Please unlock disk vda3_crypt: " on the console,
unlocks it, activates debian-vg and mounts root=.

The build (build(), about 3 minutes once the debootstrap tar exists; its
steps and times in <test dir>/debcrypt-build.log):

  - the debootstrap tree is configured on the host; a chroot's
    update-initramfs makes the first initrd.  The host has no
    device-mapper, so cryptsetup's hook cannot see that / lies on
    vda3_crypt: for that one run the crypttab entry carries `initramfs`,
    then gets the installer's line back (the guest's own update-initramfs
    finds the root's stack by itself); fsck's hook cannot probe the root's
    type either, so that run also has FSTYPE=ext4 (conf.d/khib-build-fstype,
    which that first initrd carries).  check_initrd() checks the result
  - the host writes the partition table, the ESP (the tree's mkfs.fat)
    and /boot (mkfs.ext4 -d) into the image file, and makes an ext4 image
    of the root tree
  - a preparation guest (khib's kernel; the host's cryptsetup, lvm, mke2fs
    and mkswap in its initramfs) formats vda3, makes the volume group and
    its LVs, mkswap's swap_1 and makes the root file system on its LV from
    the tree of the root image (its second disk), with the UUIDs chosen
    here, then powers off

Two units are baked in, their output on the console:

  khib-test-report.service   every boot, before multi-user.target:
                             "debcrypt: root SOURCE FSTYPE" (findmnt /),
                             "debcrypt: dm NAME: TABLE" (dmsetup table,
                             keys hidden), "debcrypt: blk NAME MAJ:MIN TYPE
                             FSTYPE MOUNTPOINT" (lsblk -r), "debcrypt: swap
                             NAME" (swapon), then "debcrypt: reported"
  khib-test-payload.service  after it, before multi-user.target: a whole
                             disk that starts with PAYLOAD_MAGIC (debcrypt.
                             payload_disk()) carries a tar, extracted into /
                             (directories there keep their modes),
                             and /var/lib/khib-payload/run from it runs (its
                             argument: the disk); "khib-payload: run rc=N"
                             follows; then, if the tar has /var/lib/
                             khib-payload/poweroff, the machine powers off.
                             Each boot with such a disk runs it; without one
                             nothing runs
"""
import hashlib
import os
import shutil
import subprocess
import time

from . import debian
from .host import with_libraries
from .qemu import VM

# What the installer's system has for this: minbase, systemd, and
# cryptsetup-initramfs and lvm2 with what they pull in; dosfstools for the
# ESP; zstd, which initramfs-tools recommends (and compresses with).
PACKAGES = ("systemd,systemd-sysv,udev,kmod,initramfs-tools,"
            "cryptsetup-initramfs,lvm2,dosfstools,zstd")
PASSPHRASE = "khib test passphrase"
HOSTNAME = "debian"
VG = "debian-vg"
CRYPT_NAME = "vda3_crypt"
ROOT_DEV = "/dev/mapper/debian--vg-root"
SWAP_DEV = "/dev/mapper/debian--vg-swap_1"

# Chosen up front, so fstab and crypttab can name what the guest makes.
LUKS_UUID = "002dd5c6-2993-49f5-8379-5a605bd8fbdd"
ROOT_UUID = "f5610d24-43fb-4f9f-ad9b-28ca86fdd2a7"
BOOT_UUID = "03d5b1bb-ccac-4c92-8cfa-9ef660724b94"
SWAP_UUID = "c7b3a4c8-3a1a-4cc3-84de-83ce9a24a9ab"
ESP_ID = "4B48-4942"

MIB = 1 << 20
DISK_BYTES = 4096 * MIB
# (start, size) in MiB; the LUKS partition takes the rest.
ESP = (1, 32)
BOOT = (33, 256)
LUKS_START = 289
ROOT_MIB = 2560
SWAP_MIB = 256
# LUKS2 with argon2id (the installer's KDF) at its smallest cost.
KDF = "--pbkdf argon2id --pbkdf-memory 32 --pbkdf-parallel 1 --pbkdf-force-iterations 4"

CRYPTTAB = f"{CRYPT_NAME} UUID={LUKS_UUID} none luks,discard\n"

FSTAB = f"""# /etc/fstab: static file system information.
#
# Use 'blkid' to print the universally unique identifier for a
# device; this may be used with UUID= as a more robust way to name devices
# that works even if disks are added and removed. See fstab(5).
#
# systemd generates mount units based on this file, see systemd.mount(5).
# Please run 'systemctl daemon-reload' after making changes here.
#
# <file system> <mount point>   <type>  <options>       <dump>  <pass>
{ROOT_DEV} /               ext4    errors=remount-ro 0       1
# /boot was on /dev/vda2 during installation
UUID={BOOT_UUID} /boot           ext4    defaults        0       2
# /boot/efi was on /dev/vda1 during installation
UUID={ESP_ID}  /boot/efi       vfat    umask=0077      0       1
{SWAP_DEV} none            swap    sw              0       0
"""

CONSOLE = debian.CONSOLE

REPORT = r"""#!/bin/sh
# What the root stands on, for the test on the console.
echo "debcrypt: root $(findmnt -no SOURCE,FSTYPE /)"
dmsetup table | sed 's/^/debcrypt: dm /'
lsblk -rno NAME,MAJ:MIN,TYPE,FSTYPE,MOUNTPOINT | sed 's/^/debcrypt: blk /'
swapon --show=NAME --noheadings | sed 's/^/debcrypt: swap /'
echo "debcrypt: reported"
"""

REPORT_UNIT = """[Unit]
Description=khib test: what the root stands on, on the console
Before=multi-user.target khib-test-payload.service

[Service]
Type=oneshot
RemainAfterExit=yes
ExecStart=/usr/local/sbin/khib-test-report
""" + CONSOLE + """
[Install]
WantedBy=multi-user.target
"""

PAYLOAD_MAGIC = "KHIB-PAYLOAD-1"
PAYLOAD_HEADER = 4096
PAYLOAD_DIR = "var/lib/khib-payload"
PAYLOAD_RUN = PAYLOAD_DIR + "/run"
PAYLOAD_POWEROFF = PAYLOAD_DIR + "/poweroff"

PAYLOAD = r"""#!/bin/sh
# A disk that starts with the payload marker carries a tar after its
# 4 KiB header: extracted into /, then its /@RUN@ runs.
for sys in /sys/class/block/*; do
    [ -e "$sys/partition" ] && continue
    dev=/dev/${sys##*/}
    [ "$(head -c @MAGICLEN@ "$dev" 2>/dev/null)" = "@MAGIC@" ] || continue
    size=$(head -c @HEADER@ "$dev" | tr -d '\0' | sed -n 's/^size=//p')
    echo "khib-payload: $dev: $size bytes"
    rm -rf /@DIR@
    if ! dd if="$dev" bs=@HEADER@ skip=1 iflag=count_bytes count="$size" status=none |
            tar -x --keep-directory-symlink --no-overwrite-dir -C /; then
        echo "khib-payload: $dev: tar failed"
        continue
    fi
    if [ -x /@RUN@ ]; then
        /@RUN@ "$dev"
        echo "khib-payload: run rc=$?"
    fi
    if [ -e /@POWEROFF@ ]; then
        echo "khib-payload: powering off"
        # What `systemctl poweroff` does once logind (there is no D-Bus) is
        # out of the way.
        systemctl --no-block --job-mode=replace-irreversibly start poweroff.target
    fi
done
""".replace("@RUN@", PAYLOAD_RUN).replace("@DIR@", PAYLOAD_DIR) \
   .replace("@POWEROFF@", PAYLOAD_POWEROFF).replace("@MAGIC@", PAYLOAD_MAGIC) \
   .replace("@MAGICLEN@", str(len(PAYLOAD_MAGIC))).replace("@HEADER@", str(PAYLOAD_HEADER))

PAYLOAD_UNIT = """[Unit]
Description=khib test: a payload disk's tar extracted into / and run
After=khib-test-report.service
Before=multi-user.target

[Service]
Type=oneshot
RemainAfterExit=yes
TimeoutStartSec=infinity
ExecStart=/usr/local/sbin/khib-test-payload
""" + CONSOLE + """
[Install]
WantedBy=multi-user.target
"""

LVM_CONF = """devices { obtain_device_list_from_udev = 0 }
activation { udev_sync = 0 udev_rules = 0 monitoring = 0 }
backup { backup = 0 archive = 0 }
"""

# The preparation guest's /init: the encrypted part of the installer's work.
PREP_INIT = r"""#!/bin/sh
mount -t proc proc /proc
mount -t sysfs sys /sys
mount -t devtmpfs dev /dev
mount -t tmpfs tmp /tmp
mkdir -p /run/cryptsetup /run/lock/lvm /src
fail() { echo "P: FAILED: $*"; poweroff -f; }
hostname @HOSTNAME@  # LVM records it as the volume group's creation host
echo "P: LUKS2"
# The host's programs, by path: busybox prefers its own applets.
printf '%s' "@PASSPHRASE@" > /tmp/passphrase
/host/cryptsetup luksFormat -q --type luks2 --uuid @LUKS_UUID@ @KDF@ \
    --key-file /tmp/passphrase /dev/vda3 || fail luksFormat
/host/cryptsetup open --key-file /tmp/passphrase /dev/vda3 @CRYPT@ || fail open
/host/lvm pvcreate -q /dev/mapper/@CRYPT@ >/dev/null || fail pvcreate
/host/lvm vgcreate -q @VG@ /dev/mapper/@CRYPT@ >/dev/null || fail vgcreate
/host/lvm lvcreate -q -y -L @ROOT_MIB@M -n root @VG@ >/dev/null || fail lvcreate root
/host/lvm lvcreate -q -y -L @SWAP_MIB@M -n swap_1 @VG@ >/dev/null || fail lvcreate swap_1
echo "P: swap, root"
/host/mkswap -U @SWAP_UUID@ /dev/@VG@/swap_1 >/dev/null || fail mkswap
mount -o ro /dev/vdb /src || fail mount the root tree
/host/mke2fs -q -t ext4 -U @ROOT_UUID@ -E lazy_itable_init=0,lazy_journal_init=0 \
    -d /src /dev/@VG@/root || fail mke2fs
umount /src
echo "P: check"
/host/e2fsck -fn /dev/@VG@/root >/tmp/fsck.out 2>&1 || { cat /tmp/fsck.out; fail e2fsck; }
/host/lvm vgchange -q -an @VG@ >/dev/null || fail vgchange
/host/cryptsetup close @CRYPT@ || fail close
sync
echo "P: done"
poweroff -f
"""


def _prep_init():
    s = PREP_INIT
    for k, v in (("HOSTNAME", HOSTNAME), ("PASSPHRASE", PASSPHRASE), ("LUKS_UUID", LUKS_UUID), ("KDF", KDF),
                 ("CRYPT", CRYPT_NAME), ("VG", VG), ("ROOT_MIB", str(ROOT_MIB)),
                 ("SWAP_MIB", str(SWAP_MIB)), ("SWAP_UUID", SWAP_UUID),
                 ("ROOT_UUID", ROOT_UUID)):
        s = s.replace(f"@{k}@", v)
    return s


def cache_key(kernel):
    """What the image is made of: the package list, this file and the
    helpers it uses, the kernel's release and config."""
    h = hashlib.sha256()
    h.update(PACKAGES.encode() + b"\0" + debian.kernel_release(kernel).encode() + b"\0")
    for path in (__file__, debian.__file__,
                 os.path.join(os.path.dirname(kernel), ".config")):
        with open(path, "rb") as f:
            h.update(f.read())
    return h.hexdigest()[:16]


def cached_image(ctx):
    """The pristine image, built if it is not in the cache yet.  Never
    boot it: machine_disk() gives a copy to write to."""
    kernel = ctx.kernel()
    key = cache_key(kernel)
    path = os.path.join(debian.cache_dir(), f"debcrypt-{key}.img")
    with debian.cache_lock(f"debcrypt-{key}"):
        if not os.path.exists(path):
            build(ctx, kernel, path)
    return path


class Steps:
    """The build's steps with their times, in <ctx dir>/debcrypt-build.log."""

    def __init__(self, path):
        self.log = open(path, "w", buffering=1)
        self.t0 = self.t = time.monotonic()

    def __call__(self, what):
        now = time.monotonic()
        self.log.write(f"[{now - self.t0:7.1f}] ({now - self.t:5.1f} s) {what}\n")
        self.t = now

    def output(self, text):
        """A program's output, indented."""
        for line in text.splitlines():
            self.log.write(f"    {line}\n")


def build(ctx, kernel, path):
    """Make the image at path (see the module's docstring)."""
    release = debian.kernel_release(kernel)
    work = ctx.path("debcrypt-build")
    shutil.rmtree(work, ignore_errors=True)
    os.makedirs(work)
    step = Steps(ctx.path("debcrypt-build.log"))
    tar = debian.rootfs_tar(PACKAGES)
    step(f"debootstrap tar {tar}")
    root = os.path.join(work, "root")
    os.makedirs(root)
    subprocess.run(["tar", "-C", root, "-xf", tar], check=True)
    configure(root, kernel, release)
    step("tree extracted and configured")
    # The first initrd, made by the host, which has no device-mapper:
    # cryptsetup's hook cannot find the root's stack, so the crypttab entry
    # is marked for the initramfs, and fsck's hook cannot probe the root's
    # type, so it is told; for this one run.
    debian.write(os.path.join(root, "etc/crypttab"), CRYPTTAB.replace(
        "luks,discard", "luks,discard,initramfs"))
    fstype = os.path.join(root, "etc/initramfs-tools/conf.d/khib-build-fstype")
    debian.write(fstype, "FSTYPE=ext4\n")
    out = debian.chroot(root, "update-initramfs", "-c", "-k", release)
    step.output(out.stdout + out.stderr)
    os.unlink(fstype)
    debian.write(os.path.join(root, "etc/crypttab"), CRYPTTAB)
    initrd = os.path.join(root, "boot", f"initrd.img-{release}")
    check_initrd(initrd)
    step("update-initramfs in the chroot")
    esp = os.path.join(root, "esp.img")
    debian.chroot(root, "mkfs.fat", "-i", ESP_ID.replace("-", ""), "-C", "/esp.img",
                  str(ESP[1] * 1024))
    os.rename(esp, os.path.join(work, "esp.img"))
    # /boot is a file system of its own, with the ESP's mount point.
    boot_tree = os.path.join(work, "boot")
    os.rename(os.path.join(root, "boot"), boot_tree)
    os.makedirs(os.path.join(root, "boot"))
    os.makedirs(os.path.join(boot_tree, "efi"), exist_ok=True)
    boot_img = os.path.join(work, "boot.img")
    subprocess.run(["mkfs.ext4", "-q", "-F", "-U", BOOT_UUID, "-d", boot_tree, boot_img,
                    f"{BOOT[1]}M"], check=True, capture_output=True)
    root_img = os.path.join(work, "root.img")
    subprocess.run(["mkfs.ext4", "-q", "-F", "-d", root, root_img, f"{ROOT_MIB}M"],
                   check=True, capture_output=True)
    step("ESP, /boot and root tree images")
    tmp = path + ".tmp"
    with open(tmp, "wb") as f:
        f.truncate(DISK_BYTES)
    table = (f"label: gpt\n"
             f"start={ESP[0] * 2048}, size={ESP[1] * 2048}, type=uefi\n"
             f"start={BOOT[0] * 2048}, size={BOOT[1] * 2048}, type=linux\n"
             f"start={LUKS_START * 2048}, type=linux\n")
    subprocess.run(["sfdisk", "-q", tmp], input=table, text=True, check=True,
                   capture_output=True)
    for img, (start, _) in ((os.path.join(work, "esp.img"), ESP), (boot_img, BOOT)):
        subprocess.run(["dd", f"if={img}", f"of={tmp}", "bs=1M", f"seek={start}",
                        "conv=notrunc,sparse", "status=none"], check=True)
    step("partition table, ESP and /boot written")
    try:
        prepare(ctx, kernel, tmp, root_img)
    except BaseException:
        os.unlink(tmp)
        raise
    step("preparation guest: LUKS2, LVM, root and swap")
    os.replace(tmp, path)
    shutil.rmtree(work)
    step(f"cached {path}")


def configure(root, kernel, release):
    """The installed system's configuration, as the installer leaves it,
    and the test's two units."""
    w = debian.write
    w(os.path.join(root, "etc/hostname"), HOSTNAME + "\n")
    w(os.path.join(root, "etc/hosts"), f"127.0.0.1\tlocalhost\n127.0.1.1\t{HOSTNAME}\n")
    w(os.path.join(root, "etc/fstab"), FSTAB)
    w(os.path.join(root, "etc/crypttab"), CRYPTTAB)
    w(os.path.join(root, "etc/initramfs-tools/conf.d/resume"), f"RESUME={SWAP_DEV}\n")
    w(os.path.join(root, "usr/local/sbin/khib-test-report"), REPORT, 0o755)
    w(os.path.join(root, "usr/local/sbin/khib-test-payload"), PAYLOAD, 0o755)
    w(os.path.join(root, "etc/systemd/system/khib-test-report.service"), REPORT_UNIT)
    w(os.path.join(root, "etc/systemd/system/khib-test-payload.service"), PAYLOAD_UNIT)
    debian.enable(root, "khib-test-report.service", "multi-user.target")
    debian.enable(root, "khib-test-payload.service", "multi-user.target")
    # No login prompts (the test reads the serial console), no timers: a
    # TCG machine boots slowly enough.
    for unit in ("getty.target", "timers.target"):
        os.symlink("/dev/null", os.path.join(root, "etc/systemd/system", unit))
    debian.empty_module_tree(root, release)
    # mkinitramfs reads the kernel's config for the compressors it takes.
    shutil.copy(os.path.join(os.path.dirname(kernel), ".config"),
                os.path.join(root, "boot", f"config-{release}"))


def check_initrd(initrd):
    """The host-made initrd unlocks vda3_crypt at Debian's prompt."""
    files = debian.initrd_files(initrd)
    for want in ("scripts/local-top/cryptroot", "usr/lib/cryptsetup/askpass",
                 "usr/sbin/cryptsetup", "usr/sbin/lvm", "usr/sbin/fsck.ext4"):
        assert want in files, f"{initrd}: no {want}"
    tab = debian.initrd_crypttab(files)
    assert tab.startswith(f"{CRYPT_NAME} UUID={LUKS_UUID} none luks,discard"), \
        f"{initrd}: cryptroot/crypttab is {tab!r}"


def prepare(ctx, kernel, disk, root_img):
    """Boot the preparation guest over disk (and the root tree's image)."""
    files = with_libraries(["/usr/sbin/cryptsetup", "/usr/sbin/lvm", "/sbin/mke2fs",
                            "/sbin/e2fsck", "/sbin/mkswap"],
                           extra_libs=["/lib/x86_64-linux-gnu/libgcc_s.so.1"])
    lvm_conf = ctx.path("debcrypt-lvm.conf")
    with open(lvm_conf, "w") as f:
        f.write(LVM_CONF)
    files += [(lvm_conf, "etc/lvm/lvm.conf"), ("/etc/mke2fs.conf", "etc/mke2fs.conf")]
    initrd = ctx.initramfs("debcrypt-prep", _prep_init(), files=files)
    with VM("debcrypt-prep", kernel, initrd, "console=ttyS0 panic=-1", mem="512M", cpus=2,
            disks=[disk, root_img], log_dir=ctx.log_dir, deadline=900) as vm:
        if vm.expect(r"^P: (done|FAILED.*)$", timeout=880).group(1) != "done":
            vm.fail("the preparation guest failed")
        assert vm.wait_exit(timeout=60) == 0, "the preparation guest did not power off"


