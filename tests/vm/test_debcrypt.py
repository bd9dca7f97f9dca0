# SPDX-License-Identifier: GPL-2.0-only
"""khib on Debian 12 installed with encrypted LVM, as its installer's
"Guided - use entire disk and set up encrypted LVM" leaves it
(khibvm/debcrypt_image.py builds and caches the disk; khibvm/debcrypt.py
boots it, types at its console, delivers payloads): GPT, an ESP, /boot,
LUKS2 with debian-vg's root and swap LVs in it, Debian's own
cryptsetup-initramfs asking for the passphrase on the console.

  debcrypt_hibernate  five boots of one machine:
    1. Debian's prompt for vda3_crypt (the passphrase typed is not echoed);
       the root is debian-vg's root LV, linear over vda3_crypt, crypt over
       vda3 (device-mapper's tables and device numbers against lsblk), with
       /boot, /boot/efi and the swap LV in use.  A payload installs khib as
       a user would (the tree of `scripts/install.sh --destdir`), makes its
       target a preallocated immutable file on the encrypted root, enrolls
       a passphrase (`khib key enroll passphrase`) and runs the guest's own
       update-initramfs -u: cryptsetup's hook finds the root's stack by
       itself, khib's hook adds the target map, khib and the restore kernel
    2. Debian unlocks and boots; a service holds a workload and writes a
       file to the root, `systemctl hibernate`; the writer kernel writes
       the image into the file's sectors beneath LVM and LUKS and powers off
    3. khib's own prompt comes before Debian's (khib's init-premount script
       runs before cryptroot: a resume needs no disk passphrase, the
       resumed kernel has vda3_crypt open), the passphrase typed is not
       echoed, Debian's prompt never comes; the resume takes the default
       method (/dev/snapshot here).  The workload carries on, the file is
       read back through dm-crypt (caches dropped), vda3_crypt's table is
       what it was and the volume is in use, the root is written to; and
       the machine hibernates again
    4. as 3, through the restore kernel (khib.method=kexec on the command
       line); then the machine powers off
    5. the image is gone: no khib prompt, Debian's prompt; at the initramfs
       shell (break=bottom, the root mounted read-only) e2fsck -fn finds
       the root LV clean and the file written after the resumes is there
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


