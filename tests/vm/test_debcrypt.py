# SPDX-License-Identifier: GPL-2.0-only
"""Debian 12 installed with encrypted LVM, as its installer's "Guided - use
entire disk and set up encrypted LVM" leaves it: the machine that khib's
tests on such an install start from (khibvm/debcrypt_image.py builds and
caches its disk; khibvm/debcrypt.py boots it, types the passphrase, delivers
payloads).  No khib here: this shows the machine is what it claims to be.

  debcrypt_boot   Debian's own initramfs asks for vda3_crypt's passphrase
                  on the console; typed, it is not echoed, and the root is
                  debian-vg's root LV, linear over vda3_crypt, crypt over
                  vda3 (device-mapper's tables, device numbers checked
                  against lsblk), with /boot, /boot/efi and the swap LV in
                  use; a payload (a script, and a program it runs from the
                  payload's files) writes a file to the root and runs
                  update-initramfs -u, whose crypttab entry for vda3_crypt
                  comes from cryptsetup's hook finding the root's stack by
                  itself; the next boot, with that initrd taken out of the
                  disk's /boot, unlocks again and finds the file
"""
import os
import re

from khibvm import debcrypt as dc


def stack(vm):
    """The console's report of what the root stands on: {name: (majmin,
    type, fstype, mountpoint)} from lsblk, {name: table} from dmsetup."""
    m = vm.expect(r"^debcrypt: root (.*)$", timeout=400)
    assert m.group(1) == f"{dc.ROOT_DEV} ext4", f"the root is not debian-vg's root LV: {m[0]}"
    vm.expect(r"^debcrypt: reported$", timeout=120)
    blk = {}
    for line in vm.seen(r"^debcrypt: blk "):
        f = line.split(" ")[2:] + [""] * 5
        blk[f[0]] = tuple(f[1:5])
    dm = {}
    for line in vm.seen(r"^debcrypt: dm "):
        name, _, table = line.removeprefix("debcrypt: dm ").partition(": ")
        dm[name] = table
    return blk, dm


def check_stack(vm):
    blk, dm = stack(vm)
    root = dm.get("debian--vg-root", "")
    crypt = dm.get(dc.CRYPT_NAME, "")
    assert re.fullmatch(r"0 \d+ linear \d+:\d+ \d+", root), f"root LV's table: {dm}"
    assert re.fullmatch(r"0 \d+ crypt aes-xts-plain64 \S+ 0 \d+:\d+ \d+.*", crypt), \
        f"{dc.CRYPT_NAME}'s table: {dm}"
    assert root.split()[3] == blk.get(dc.CRYPT_NAME, ("",))[0], \
        f"the root LV does not lie on {dc.CRYPT_NAME}: {root} / {blk}"
    assert crypt.split()[6] == blk.get("vda3", ("",))[0], \
        f"{dc.CRYPT_NAME} does not lie on vda3: {crypt} / {blk}"
    want = {"vda1": ("part", "vfat", "/boot/efi"), "vda2": ("part", "ext4", "/boot"),
            "vda3": ("part", "crypto_LUKS", ""), dc.CRYPT_NAME: ("crypt", "LVM2_member", ""),
            "debian--vg-root": ("lvm", "ext4", "/"),
            "debian--vg-swap_1": ("lvm", "swap", "[SWAP]")}
    got = {name: blk.get(name, (None,))[1:] for name in want}
    assert got == want, f"lsblk: {got}, not {want}"


def unlocked(vm):
    """Debian's prompt came (unlock() waits for it), the passphrase typed
    at it did not show."""
    dc.unlock(vm)
    assert not vm.seen(re.escape(dc.PASSPHRASE)), "the passphrase was echoed"


# The payload's files: a program the script runs.
STAMP = r"""#!/bin/sh
mkdir -p /var/lib/debcrypt-test
echo "$1" > /var/lib/debcrypt-test/stamp && sync && echo "T: stamp written"
"""

FIRST = r"""#!/bin/sh
echo "T: payload from $1"
debcrypt-stamp @TOKEN@
update-initramfs -u >/tmp/update.log 2>&1
rc=$?
sed 's/^/U: /' /tmp/update.log
echo "T: update-initramfs rc=$rc"
"""

SECOND = r"""#!/bin/sh
echo "T: stamp $(cat /var/lib/debcrypt-test/stamp)"
"""


def boot_twice(ctx):
    disk = dc.machine_disk(ctx)
    initrd = dc.boot_initrd(ctx, disk)
    tab = dc.initrd_crypttab(dc.initrd_files(initrd))
    assert tab == f"{dc.CRYPT_NAME} UUID={dc.LUKS_UUID} none luks,discard,initramfs\n", \
        f"the image's own initrd: crypttab {tab!r}"
    token = os.urandom(16).hex()
    tree = ctx.path("tree")
    os.makedirs(os.path.join(tree, "usr/local/sbin"))
    with open(os.path.join(tree, "usr/local/sbin/debcrypt-stamp"), "w") as f:
        f.write(STAMP)
    os.chmod(os.path.join(tree, "usr/local/sbin/debcrypt-stamp"), 0o755)
    payload = dc.payload_disk(ctx, FIRST.replace("@TOKEN@", token), files=[(tree, "/")],
                              poweroff=True, name="payload1.img")
    with dc.boot(ctx, "boot1", disk, initrd, disks=[payload]) as vm:
        unlocked(vm)
        check_stack(vm)
        vm.expect(r"^T: payload from /dev/vdb$", timeout=120)
        vm.expect(r"^T: stamp written$")
        m = vm.expect(r"^T: update-initramfs rc=(\d+)$", timeout=600)
        assert m.group(1) == "0", f"update-initramfs failed: {vm.seen(r'^U: ')}"
        vm.expect(r"^khib-payload: run rc=0$")
        assert vm.wait_exit(timeout=180) == 0
    initrd2 = dc.boot_initrd(ctx, disk, "initrd2.img")
    with open(initrd, "rb") as a, open(initrd2, "rb") as b:
        assert a.read() != b.read(), "/boot's initrd is the one the image came with"
    tab = dc.initrd_crypttab(dc.initrd_files(initrd2))
    assert tab == f"{dc.CRYPT_NAME} UUID={dc.LUKS_UUID} none luks,discard\n", \
        f"the guest's initrd: crypttab {tab!r} (not found from the root's stack)"
    payload = dc.payload_disk(ctx, SECOND, poweroff=True, name="payload2.img")
    with dc.boot(ctx, "boot2", disk, initrd2, disks=[payload]) as vm:
        unlocked(vm)
        check_stack(vm)
        m = vm.expect(r"^T: stamp (.*)$", timeout=120)
        assert m.group(1) == token, f"the file on the root says {m.group(1)!r}, not {token}"
        vm.expect(r"^khib-payload: run rc=0$")
        assert vm.wait_exit(timeout=180) == 0


def tests():
    yield "debcrypt_boot", boot_twice
