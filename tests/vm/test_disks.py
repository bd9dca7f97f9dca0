# SPDX-License-Identifier: GPL-2.0-only
"""The disks of real machines: the full cycle of test_resume.py on an NVMe
disk and on a SATA disk behind q35's AHCI controller (both of N's disks on
the one controller), through both resume paths, and an aborted hibernation
on NVMe.  The writer kernel resets the controller N was using; after a
resume and after an abort N's driver must have its disks back: the
workload's data disk is checked, then written and read again.

  nvme_cycle_kexec       NVMe, 2 vCPUs, resumed by the restore kernel
  nvme_cycle_snapshot    NVMe, through /dev/snapshot
  ahci_cycle_kexec       SATA (AHCI), restore kernel
  ahci_cycle_snapshot    SATA (AHCI), /dev/snapshot
  scsi_cycle_kexec       virtio-scsi, restore kernel; N names its two LUNs in
                         the reverse of the order the writer and restore
                         kernels do (as an asynchronous scan may): the image
                         is found by its disk's serial, not by the name N
                         gave it
  nvme_abort_eio         every write to the image namespace fails: the
                         writer kernel aborts and jumps back, N's NVMe
                         driver carries on with both namespaces
"""
import os
import re

from khibvm.host import khib_host
import test_resume as tr

# Run first in every boot of the SCSI machine: the disks are deleted and
# scanned again one LUN at a time, LUN 1 (the data disk) first, so that
# LUN 0 (the image's) is sdb where the writer and restore kernels, with
# their one CPU, name it sda.
SCSI_SWAP = r"""#!/bin/sh
settle() {
    n=0
    while [ "$(ls /sys/block | grep -c '^sd')" != "$1" ]; do
        n=$((n + 1)); [ $n -lt 300 ] || { echo "N: the SCSI disks did not settle"; exit 0; }
        usleep 100000
    done
}
settle 2
hctl=$(basename "$(readlink -f /sys/block/sda/device)")
host=${hctl%%:*}
for d in /sys/block/sd*; do echo 1 > $d/device/delete; done
settle 0
echo "0 0 1" > /sys/class/scsi_host/host$host/scan
settle 1
echo "0 0 0" > /sys/class/scsi_host/host$host/scan
settle 2
for d in /sys/block/sd*; do
    echo "N: ${d##*/} is LUN $(basename "$(readlink -f $d/device)" | cut -d: -f4)"
done
"""

# The image disk's size in sectors in the kernel's "[sdX] N 512-byte
# logical blocks" line (768 MiB: tr.MEM + 256 MiB).
IMAGE_BLOCKS = 768 << 11


def scsi_swapped(ctx):
    setup = ctx.path("scsi-swap")
    with open(setup, "w") as f:
        f.write(SCSI_SWAP)
    os.chmod(setup, 0o755)
    mc = tr.Machine(ctx, 2, method="kexec", bus="scsi", files=[(setup, "bin/khibtest-setup")])

    def found_by_identity(vm, what, until):
        """The name the kernel that ran before the line matching `until`
        gave the image disk (the last line naming it before that one); where
        it is not N's, that kernel said it found the disk by its serial."""
        names = []
        for _, text in vm.lines:
            if re.search(until, text):
                break
            m = re.search(rf"\[(sd[a-z])\] {IMAGE_BLOCKS} 512-byte logical blocks", text)
            if m:
                names.append(m.group(1))
        here = names[-1]
        if here != "sdb":
            assert vm.seen(rf"khib: {what} '{here}' here \('sdb' in N\): found by its "
                           r"disk's identity khib0$"), f"no word of finding the image on {here}"
        return here

    with mc.boot(1) as vm:
        vm.expect(r"^N: sda is LUN 1$", timeout=120)
        vm.expect(r"^N: sdb is LUN 0$")
        before = tr.fresh_boot_until_hibernated(vm, 2)
        vm.expect(r"khib: writer kernel up: saving .* to 'sdb'", timeout=240)
        tr.hibernated(vm)
        found_by_identity(vm, "the target is", r"khib: image committed")
    with mc.boot(1) as vm:
        vm.expect(r"^N: sdb is LUN 0$", timeout=120)
        tr.resumed(vm, 1, before, 2, "kexec", "sdb")
        found_by_identity(vm, "the image is on", r"khib: jumping into the resumed kernel")
        assert vm.wait_exit(timeout=120) == 0
    assert khib_host("verify", mc.disk, check=False).returncode != 0, \
        "the image is still valid after the resume"


def abort_eio(ctx):
    mc = tr.Machine(ctx, 2, method="kexec", bus="nvme")
    cfg = ctx.path("blkdebug.conf")
    with open(cfg, "w") as f:
        f.write('[inject-error]\nevent = "pwritev"\nerrno = "5"\n')
    drive = (f"driver=blkdebug,config={cfg},image.driver=raw,"
             f"image.file.filename={mc.disk},cache.direct=on,aio=threads")
    with mc.boot(1, image_drive=drive) as vm:
        tr.fresh_boot_until_hibernated(vm, 2)
        vm.expect(r"khib: writer kernel up: saving .* to 'nvme0n1'", timeout=240)
        m = vm.expect(r"khib: hibernation aborted in the writer kernel: (.*)", timeout=240)
        # NVMe reports QEMU's EIO as a medium error, which the block layer
        # hands up as ENODATA.
        assert re.search(r"saving memory to '/dev/nvme0n1': (Input/output error|No data "
                         r"available)", m.group(1)), m.group(1)
        vm.expect(r"^N: hibernate rc=1 cycle=1$", timeout=60)
        after = tr.workload_report(vm)
        assert after["errors"] == 0
        vm.expect(r"^N: data disk intact cycle=1$")
        vm.expect(r"^N: data disk writable cycle=1$")
        vm.expect(r"^N: cpus online 0-1$")
        assert vm.wait_exit(timeout=120) == 0
    assert khib_host("verify", mc.disk, check=False).returncode != 0, \
        "an aborted hibernation left a valid image"


def tests():
    yield "nvme_cycle_kexec", tr.cycles(1, 2, "kexec", bus="nvme")
    yield "nvme_cycle_snapshot", tr.cycles(1, 2, "snapshot", bus="nvme")
    yield "ahci_cycle_kexec", tr.cycles(1, 2, "kexec", bus="ahci")
    yield "ahci_cycle_snapshot", tr.cycles(1, 2, "snapshot", bus="ahci")
    yield "scsi_cycle_kexec", scsi_swapped
    yield "nvme_abort_eio", abort_eio
