# SPDX-License-Identifier: GPL-2.0-only
"""Stale file systems: an image whose file systems were used since it was
written is refused, and the boot goes on over what is on the disks.

N mounts an ext4 data disk (/dev/vdb, made on the host), writes a file and
hibernates.  Before the next normal boot something else uses that file
system; the resume must refuse the image with one line (resuming would
bring back N's caches over a changed disk), invalidate it, and boot
normally; the file system is then fsck-clean and keeps what was written
meanwhile.

  stale_fs_unchanged_resumes  nobody touched it: the resume goes on, N
                              writes the file system again, fsck-clean
  stale_fs_rescue_boot        a rescue boot (no khib, the same kernel)
                              mounts it read-write and writes a file:
                              refused, and the rescue's file is there
  stale_fs_readonly_mount     a read-only mount, which replays N's journal
                              all the same: refused
  stale_fs_fsck               e2fsck -fy on the host (replays the journal,
                              full check): refused
"""
import re
import subprocess

from khibvm import guest
from khibvm.host import khib_host, make_disk
from khibvm.qemu import VM

K = "--kernel /h/bzImage --initrd /h/initrd.cpio.gz"
APPEND = "console=ttyS0 panic=-1 nr_cpus=1"

INIT = r"""#!/bin/sh
""" + guest.MOUNTS + r"""if grep -q khibtest.rescue=rw /proc/cmdline; then
    # A rescue system: no khib, mounts the data disk read-write, writes.
    mount -t ext4 /dev/vdb /mnt && echo rescue > /mnt/rescue.txt && umount /mnt &&
        echo "RESCUE: wrote rescue.txt"
    poweroff -f
fi
if grep -q khibtest.rescue=ro /proc/cmdline; then
    # Only looking, read-only: the kernel still replays N's journal.
    mount -t ext4 -o ro /dev/vdb /mnt && ls /mnt >/dev/null && umount /mnt &&
        echo "RESCUE: looked"
    poweroff -f
fi
/bin/khib resume @K@ --append "@APPEND@"
echo "R0: resume rc=$?"
echo "N: up"
mount -t ext4 /dev/vdb /mnt || echo "N: mount FAILED"
ls /mnt | tr '\n' ' ' | sed 's/^/N: files /'; echo
if grep -q khibtest.hibernate /proc/cmdline; then
    echo before > /mnt/before.txt
    sync
    /bin/khib hibernate --target /dev/vda @K@ --append "@APPEND@" --region-size 64M --clear
    echo "N: hibernate rc=$?"
    cat /mnt/before.txt | sed 's/^/N: before.txt holds /'
    echo after > /mnt/after.txt
fi
umount /mnt && echo "N: unmounted"
poweroff -f
""".replace("@K@", K).replace("@APPEND@", APPEND)


class Machine:
    """The same two disks for every boot: the image target and ext4 data."""

    def __init__(self, ctx):
        self.ctx = ctx
        self.kernel = ctx.kernel()
        khib = ctx.bin("khib")
        h_initrd = ctx.initramfs("h", khib, busybox=False, compress=False)
        self.initrd = ctx.initramfs("n", INIT, files=[
            (khib, "bin/khib"), (self.kernel, "h/bzImage"), (h_initrd, "h/initrd.cpio.gz")])
        self.disk = make_disk(ctx)
        self.data = ctx.path("data.img")
        with open(self.data, "wb") as f:
            f.truncate(64 << 20)
        subprocess.run(["mkfs.ext4", "-q", "-F", self.data], check=True)
        self.boots = 0

    def boot(self, extra=""):
        self.boots += 1
        return VM(f"boot{self.boots}", self.kernel, self.initrd,
                  f"{APPEND.replace(' nr_cpus=1', '')} khib.resume=/dev/vda {extra}",
                  disks=[self.disk, self.data], log_dir=self.ctx.log_dir, deadline=400)

    def hibernate(self):
        with self.boot("khibtest.hibernate") as vm:
            vm.expect(r"^R0: resume rc=0$", timeout=120)
            vm.expect(r"khib: hibernating: jumping to the writer kernel", timeout=120)
            vm.expect(r"khib: image committed", timeout=300)
            assert vm.wait_exit(timeout=120) == 0
        assert khib_host("verify", self.disk, check=False).returncode == 0
        info = khib_host("inspect", self.disk).stdout
        assert re.search(r"file systems: +1 .*\n  [0-9a-f-]{36} /mnt mount count 1\n", info), info

    def refused_then_normal(self, why):
        """The next normal boot refuses the image, boots on, and finds
        `files` on the data disk."""
        with self.boot() as vm:
            m = vm.expect(r"khib: image on '/dev/vda' refused: (.*)$", timeout=240)
            assert re.fullmatch(r"the ext file system mounted at '/mnt' \(UUID [0-9a-f-]{36}, now "
                                r"on '/dev/vdb'\) was " + why + r": resuming would corrupt it; "
                                r"invalidated", m.group(1)), m.group(1)
            vm.expect(r"^R0: resume rc=1$")
            vm.expect(r"^N: up$")
            files = vm.expect(r"^N: files (.*)$").group(1).split()
            vm.expect(r"^N: unmounted$")
            assert not vm.seen(r"khib: resuming|restore kernel up")
            assert vm.wait_exit(timeout=60) == 0
        assert khib_host("verify", self.disk, check=False).returncode != 0, \
            "a refused image is still valid"
        return files

    def fsck_clean(self):
        r = subprocess.run(["e2fsck", "-fn", self.data], capture_output=True, text=True)
        assert r.returncode == 0, f"e2fsck -fn: {r.returncode}\n{r.stdout}{r.stderr}"

    def cat(self, name):
        r = subprocess.run(["debugfs", "-R", f"cat /{name}", self.data], capture_output=True,
                           text=True)
        return r.stdout.strip()


def unchanged_resumes(ctx):
    mc = Machine(ctx)
    mc.hibernate()
    with mc.boot() as vm:
        vm.expect(r"khib: resuming 6\.1\.\d+ from '/dev/vda'", timeout=240)
        vm.expect(r"^N: hibernate rc=0$", timeout=240)
        vm.expect(r"^N: before.txt holds before$")
        vm.expect(r"^N: unmounted$")
        assert not vm.seen(r"^N: up$"), "N booted afresh instead of resuming"
        assert vm.wait_exit(timeout=60) == 0
    mc.fsck_clean()
    assert mc.cat("after.txt") == "after", "what the resumed N wrote is not on the disk"


def rescue_boot(ctx):
    mc = Machine(ctx)
    mc.hibernate()
    with mc.boot("khibtest.rescue=rw") as vm:
        vm.expect(r"^RESCUE: wrote rescue.txt$", timeout=120)
        assert vm.wait_exit(timeout=60) == 0
    files = mc.refused_then_normal(r"mounted since \(mount count 1, now 2\)")
    assert "rescue.txt" in files and "before.txt" in files, files
    mc.fsck_clean()
    assert mc.cat("rescue.txt") == "rescue"


def readonly_mount(ctx):
    mc = Machine(ctx)
    mc.hibernate()
    with mc.boot("khibtest.rescue=ro") as vm:
        vm.expect(r"^RESCUE: looked$", timeout=120)
        assert vm.wait_exit(timeout=60) == 0
    mc.refused_then_normal(r"its journal was replayed since")
    mc.fsck_clean()


def fsck(ctx):
    mc = Machine(ctx)
    mc.hibernate()
    # The journal N left to replay, and a full check: what a rescue fsck does.
    r = subprocess.run(["e2fsck", "-fy", mc.data], capture_output=True, text=True)
    assert r.returncode in (0, 1), f"e2fsck -fy: {r.returncode}\n{r.stdout}{r.stderr}"
    mc.refused_then_normal(r"checked since \(fsck\)")
    mc.fsck_clean()


def tests():
    yield "stale_fs_unchanged_resumes", unchanged_resumes
    yield "stale_fs_rescue_boot", rescue_boot
    yield "stale_fs_readonly_mount", readonly_mount
    yield "stale_fs_fsck", fsck
