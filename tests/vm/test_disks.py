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
  scsi_cycle_kexec       virtio-scsi, restore kernel
  nvme_abort_eio         every write to the image namespace fails: the
                         writer kernel aborts and jumps back, N's NVMe
                         driver carries on with both namespaces
"""
import re

from khibvm.host import khib_host
import test_resume as tr


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
    yield "scsi_cycle_kexec", tr.cycles(1, 2, "kexec", bus="scsi")
    yield "nvme_abort_eio", abort_eio
