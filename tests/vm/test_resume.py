# SPDX-License-Identifier: GPL-2.0-only
"""The full cycle: hibernate, power off, boot, resume, carry on.

Every boot runs the same kernel and initramfs.  Its /init first calls
`khib resume` (R0): with a valid image on /dev/vda it kexecs the restore
kernel (R), which writes the memory back and jumps into the hibernated
kernel (N); otherwise the boot goes on.  N runs a live workload (320 of
512 MiB in a checked pattern, a tmpfs counter, a pipe, a timer), writes the
data disk /dev/vdb, and hibernates khibtest.cycles times; after each resume
it checks the workload, the data disk and its CPUs.

  resume_cycle_2cpu     one cycle, 2 vCPUs
  resume_three_cycles   three cycles in a row
  resume_corrupt_chunk  one flipped byte in a chunk: the restore kernel finds
                        it as it restores, invalidates the image and
                        reboots; the next boot is a normal one
  resume_unfinished_twice  the power goes twice in the middle of a restore:
                        the second boot checks every chunk before the
                        restore kernel's turn, the third refuses the image
  resume_only_once      after a resume the image is gone: the next boot with
                        the same disk starts normally
  resume_noresume       `noresume` on the command line: the image is
                        discarded and the boot goes on
  resume_cmdline_method_ignored  khib.method=kexek (not a method) on the
                        command line: one warning, and the resume goes on by
                        the default method
  resume_failed_invalidates  a valid image whose restore kernel is missing:
                        invalidated, the boot goes on, the next boot is a
                        normal one
  resume_direct_boot    no second boot: the "boot loader" (QEMU -kernel) starts
                        a restore kernel built to run at the region's address;
                        the ordinary kernel started that way is refused and
                        leaves the image valid
"""
import json
import os
import re
import shutil

from khibvm import guest
from khibvm.host import khib_host, make_disk
from khibvm.qemu import OVMF_VARS, VM, disk_names

MEM = "512M"
WORKLOAD_MIB = 320

INIT = r"""#!/bin/sh
""" + guest.MOUNTS + guest.REPORT + r"""[ ! -x /bin/khibtest-setup ] || /bin/khibtest-setup
K="--kernel /h/bzImage --initrd /h/initrd.cpio.gz"
method=$(sed -n 's/.*khibtest.method=\([a-z]*\).*/\1/p' /proc/cmdline)
rkernel=$(sed -n 's/.*khibtest.rkernel=\([^ ]*\).*/\1/p' /proc/cmdline)
IMG=@IMG@ DATA=@DATA@
# SATA and SCSI disks are named in the order the kernel's asynchronous
# probe finds them: the data disk is the one of 32768 sectors, and the
# image's is given by its name now if khib.resume= names the other.
case $DATA in
sd*) for d in /sys/block/sd*; do
         if [ "$(cat $d/size)" = 32768 ]; then DATA=${d##*/}; else IMG=${d##*/}; fi
     done ;;
esac
[ "$(cat /sys/block/$DATA/size)" = 32768 ] || echo "N: $DATA is not the data disk"
[ "$IMG" = @IMG@ ] || image="--image /dev/$IMG"
/bin/khib resume $K ${rkernel:+--kernel $rkernel} --append "console=ttyS0 panic=-1 nr_cpus=1" \
    ${method:+--method=$method} $image
echo "R0: resume rc=$?"
echo "N: up cpus=$(cat /sys/devices/system/cpu/online)"
cycles=$(sed -n 's/.*khibtest.cycles=\([0-9]*\).*/\1/p' /proc/cmdline)
[ -n "$cycles" ] || cycles=0
[ "$cycles" -gt 0 ] || poweroff -f
/bin/khib-workload @MIB@ /tmp &
wl=$!
while [ ! -e /tmp/ready ]; do usleep 100000; done
cycle=1
while [ $cycle -le $cycles ]; do
    head -c 1048576 /dev/urandom > /tmp/disk.data
    dd if=/tmp/disk.data of=/dev/$DATA bs=65536 conv=fsync 2>/dev/null
    [ ! -x /bin/khibtest-hook ] || /bin/khibtest-hook before $cycle
    report /tmp $wl
    echo "N: hibernating cycle=$cycle"
    /bin/khib hibernate --target /dev/$IMG $K --append "console=ttyS0 panic=-1 nr_cpus=1" \
        @REGION@ @HIBARGS@
    echo "N: hibernate rc=$? cycle=$cycle"
    [ ! -x /bin/khibtest-resumed ] || /bin/khibtest-resumed $wl
    report /tmp $wl
    if dd if=/dev/$DATA bs=65536 count=16 2>/dev/null | cmp -s - /tmp/disk.data; then
        echo "N: data disk intact cycle=$cycle"
    else
        echo "N: data disk CHANGED cycle=$cycle"
    fi
    # The disk driver works again: a write and a read that go to the disk.
    head -c 65536 /dev/urandom > /tmp/disk.more
    dd if=/tmp/disk.more of=/dev/$DATA bs=65536 seek=32 oflag=direct conv=fsync 2>/dev/null
    if dd if=/dev/$DATA bs=65536 skip=32 count=1 iflag=direct 2>/dev/null | cmp -s - /tmp/disk.more
    then
        echo "N: data disk writable cycle=$cycle"
    else
        echo "N: data disk NOT WRITABLE cycle=$cycle"
    fi
    echo "N: cpus online $(cat /sys/devices/system/cpu/online)"
    [ ! -x /bin/khibtest-hook ] || /bin/khibtest-hook after $cycle
    cycle=$((cycle + 1))
done
poweroff -f
"""


def mib(mem):
    """The machine's RAM in MiB, from a QEMU -m value."""
    return int(mem[:-1]) * (1024 if mem.endswith("G") else 1)


def images(ctx, hibargs="", workload_mib=WORKLOAD_MIB, files=(), name="n", clear=True,
           bus="virtio", region="--region-size 64M"):
    """The kernel and N's initramfs (<name>.cpio.gz), with files (src,
    dest) added to it; clear: N hibernates in clear (--clear), as it must
    when no key is enrolled; bus: the disks' (khibvm/qemu.py); region: the
    writer kernel's region option ("": khib's default size).  Among the
    files, /bin/khibtest-setup runs first in every boot, /bin/khibtest-hook
    with `before CYCLE` ahead of each hibernation and `after CYCLE` at the
    end of each cycle, /bin/khibtest-resumed with the workload's pid right
    after `khib hibernate` returned."""
    if clear:
        hibargs = f"--clear {hibargs}"
    kernel = ctx.kernel()
    khib = ctx.bin("khib")
    h_initrd = ctx.initramfs("h", khib, busybox=False, compress=False)
    img, data = disk_names(bus, 2)
    init = INIT.replace("@HIBARGS@", hibargs).replace("@MIB@", str(workload_mib)) \
        .replace("@REGION@", region) \
        .replace("@IMG@", img).replace("@DATA@", data)
    initrd = ctx.initramfs(name, init, files=[
        (khib, "bin/khib"),
        (ctx.bin("khib-workload"), "bin/khib-workload"),
        (kernel, "h/bzImage"),
        (h_initrd, "h/initrd.cpio.gz"),
        *files,
    ])
    return kernel, initrd


class Machine:
    """One machine: the same disks and configuration for every boot.

    uefi: the firmware is OVMF (UEFI), which starts the kernel through its
    EFI stub, with a variable store of this machine's own that every boot
    keeps (a real machine's flash); otherwise SeaBIOS."""

    def __init__(self, ctx, cpus=2, hibargs="", method="kexec", mem=MEM, files=(),
                 workload_mib=None, clear=True, bus="virtio", uefi=False, data_mib=16,
                 region="--region-size 64M"):
        self.ctx = ctx
        self.efi_vars = None
        if uefi:
            self.efi_vars = ctx.path("efi-vars.fd")
            shutil.copyfile(OVMF_VARS, self.efi_vars)
        self.bus = bus
        self.img = disk_names(bus, 1)[0]  # the image disk's name in the guest
        # ... as the lines name it: SATA and SCSI names follow the probe.
        self.img_re = "sd[a-z]" if self.img.startswith("sd") else re.escape(self.img)
        self.cpus = cpus
        self.method = method
        self.mem = mem
        # By default the workload holds 62.5% of RAM (320 of 512 MiB).
        self.workload_mib = workload_mib or mib(mem) * 5 // 8
        self.kernel, self.initrd = images(ctx, hibargs, self.workload_mib, files, clear=clear,
                                          bus=bus, region=region)
        self.disk = make_disk(ctx, (mib(mem) + 256) << 20)
        # data_mib: more than 16 for a benchmark, whose data beyond the
        # first 16 MiB is random (a file's worth to cache).
        self.data = ctx.path("data.img")
        with open(self.data, "wb") as f:
            f.truncate(16 << 20)
            f.seek(16 << 20)
            for _ in range(16, data_mib):
                f.write(os.urandom(1 << 20))
        self.boots = 0

    def boot(self, cycles, kernel=None, initrd=None, append=None, extra="", mem=None,
             image_drive=None, qmp=False, console_input=False, tpm_state=None):
        """The next boot; image_drive: a full -drive spec for the image disk
        (e.g. under blkdebug) in place of the plain file."""
        self.boots += 1
        if append is None:
            append = (f"console=ttyS0 panic=-1 khib.resume=/dev/{self.img} "
                      f"khibtest.cycles={cycles} "
                      f"khibtest.method={self.method} {extra}")
        disks, drives = [self.disk, self.data], ()
        if image_drive:
            disks = []
            drives = [image_drive, f"file={self.data},format=raw,cache=none,aio=threads"]
        return VM(f"boot{self.boots}", kernel or self.kernel, initrd or self.initrd, append,
                  mem=mem or self.mem, cpus=self.cpus, disks=disks, drives=drives,
                  log_dir=self.ctx.log_dir, deadline=400, qmp=qmp,
                  console_input=console_input, tpm_state=tpm_state, bus=self.bus,
                  efi_vars=self.efi_vars)


def online(cpus):
    return "0" if cpus == 1 else f"0-{cpus - 1}"


def workload_report(vm):
    m = vm.expect(r"^workload: passes=(\d+) errors=(\d+) counter=(\d+) pipe=(\d+) ticks=(\d+)$",
                  timeout=120)
    r = dict(zip(("passes", "errors", "counter", "pipe", "ticks"), map(int, m.groups())))
    assert r["errors"] == 0, f"the workload found {r['errors']} errors"
    return r


def fresh_boot_until_hibernated(vm, cpus):
    vm.expect(r"^R0: resume rc=0$", timeout=120)
    vm.expect(rf"^N: up cpus={online(cpus)}$")
    vm.expect(r"^workload: ready, holding \d+ MiB$", timeout=300)
    before = workload_report(vm)
    vm.expect(r"^N: hibernating cycle=1$")
    return before


def hibernated(vm):
    """The writer kernel saved memory and the VM powered off."""
    m = vm.expect(r"khib: image committed: (\d+) MiB of RAM", timeout=400)
    assert int(m.group(1)) >= 400
    vm.expect(r"khib: powering off", timeout=60)
    assert vm.wait_exit(timeout=120) == 0


def hibernated_once(ctx, method="kexec"):
    """A 1-CPU machine that booted afresh and hibernated: (machine, the
    workload's report before); its image verifies on the host."""
    mc = Machine(ctx, 1, method=method)
    with mc.boot(1) as vm:
        before = fresh_boot_until_hibernated(vm, 1)
        hibernated(vm)
    assert khib_host("verify", mc.disk, check=False).returncode == 0
    return mc, before


def resumed(vm, cycle, before, cpus, method="kexec", img="vda"):
    """R0 found the image on /dev/<img>, restored it (by kexec or through
    /dev/snapshot), N continued: check everything."""
    if method == "kexec":
        vm.expect(rf"khib: resuming 6\.1\.\d+ from '/dev/{img}': ", timeout=240)
        vm.expect(r"khib: restore kernel up", timeout=120)
        vm.expect(r"khib: restoring memory: 100%", timeout=300)
        vm.expect(r"khib: jumping into the resumed kernel", timeout=60)
    else:
        vm.expect(rf"khib: resuming 6\.1\.\d+ from '/dev/{img}' through /dev/snapshot",
                  timeout=240)
    m = vm.expect(rf"khib: resumed from the image on '/dev/{img}'; the machine was off for "
                  r"([0-9.]+) s", timeout=120)
    assert float(m.group(1)) > 0
    vm.expect(rf"^N: hibernate rc=0 cycle={cycle}$")
    after = workload_report(vm)
    for k in ("passes", "counter", "pipe", "ticks"):
        assert after[k] >= before[k], f"workload {k} went back: {before[k]} -> {after[k]}"
    assert after["passes"] > before["passes"], "the workload did not run after the resume"
    assert after["pipe"] > before["pipe"], "the pipe stopped"
    vm.expect(rf"^N: data disk intact cycle={cycle}$")
    vm.expect(rf"^N: data disk writable cycle={cycle}$")
    vm.expect(rf"^N: cpus online {online(cpus)}$")
    assert not vm.seen(r"^N: up cpus"), "N booted afresh instead of resuming"
    if method == "snapshot":
        assert not vm.seen(r"restore kernel up"), "a restore kernel booted"
    return after


def second_kernel_args(vm, bus, who):
    """What khib adds to its writer's and restore kernel's command line:
    q35's AHCI controller is left to pci-stub unless their disk is behind
    it; and as they run one CPU (nr_cpus=1) that has no TSC-deadline timer
    (-cpu max under TCG), nolapic_timer spares them the local APIC timer's
    calibration."""
    stubbed = bool(vm.seen(r"pci-stub 0000:00:1f\.2: claimed by stub"))
    assert stubbed == (bus != "ahci"), \
        f"the {who} kernel {'left' if stubbed else 'probed'} the AHCI controller (disks on {bus})"
    assert vm.seen(r"\] Disabling APIC timer$"), \
        f"the {who} kernel calibrated its local APIC timer (no nolapic_timer on its command line)"


def cycles(n, cpus=2, method="kexec", mem=MEM, bus="virtio"):
    def run(ctx):
        mc = Machine(ctx, cpus, method=method, mem=mem, bus=bus)
        with mc.boot(n) as vm:
            before = fresh_boot_until_hibernated(vm, cpus)
            hibernated(vm)
            second_kernel_args(vm, bus, "writer")
        for cycle in range(1, n + 1):
            with mc.boot(n) as vm:
                before = resumed(vm, cycle, before, cpus, method, mc.img_re)
                if method == "kexec":
                    second_kernel_args(vm, bus, "restore")
                if cycle < n:
                    vm.expect(rf"^N: hibernating cycle={cycle + 1}$", timeout=120)
                    hibernated(vm)
                else:
                    assert vm.wait_exit(timeout=120) == 0
        assert khib_host("verify", mc.disk, check=False).returncode != 0, \
            "the image is still valid after the last resume"
    return run


def first_payload_offset(disk):
    """Disk offset of the first byte of a chunk's payload, in a chunk that
    stores pages (khib inspect --json: each chunk's place on the disk)."""
    info = json.loads(khib_host("inspect", "--json", disk).stdout)
    for c in info["chunk_index"]:
        if c["stored_pages"]:
            assert c["disk_offset"] < c["payload_offset"] < c["disk_offset"] + c["disk_bytes"]
            return c["payload_offset"]
    raise AssertionError("no chunk with stored pages")


def corrupt_chunk(method):
    return lambda ctx: _corrupt_chunk(ctx, method)


def _corrupt_chunk(ctx, method):
    mc, _ = hibernated_once(ctx, method)
    off = first_payload_offset(mc.disk)
    with open(mc.disk, "r+b") as f:
        f.seek(off)
        b = f.read(1)
        f.seek(off)
        f.write(bytes([b[0] ^ 0x01]))
    if method == "kexec":
        # The restore kernel checks each chunk as it writes it: it finds
        # the bad one, invalidates the image and reboots (QEMU, started
        # with -no-reboot, exits); N is never entered.
        with mc.boot(0) as vm:
            vm.expect(r"khib: restore kernel up", timeout=240)
            m = vm.expect(r"khib: resume failed: restoring memory: (.*)$", timeout=240)
            assert re.search(r"chunk \d+: data checksum mismatch", m.group(1)), m.group(1)
            vm.expect(r"khib: rebooting into a normal boot$")
            assert vm.wait_exit(timeout=60) == 0
            assert not vm.seen(r"jumping into the resumed kernel|^N: ")
        r = khib_host("inspect", "--json", mc.disk, check=False)
        assert json.loads(r.stdout)["valid"] is False, "the refused image is still valid"
        # The next boot is a normal one.
        with mc.boot(0) as vm:
            vm.expect(r"^R0: resume rc=0$", timeout=120)
            vm.expect(r"^N: up cpus=0$")
            assert not vm.seen(r"khib: resuming")
            assert vm.wait_exit(timeout=60) == 0
        return
    with mc.boot(0) as vm:
        m = vm.expect(r"khib: image on '/dev/vda' refused: (.*); invalidated$", timeout=240)
        assert re.search(r"chunk|checksum|hash|corrupt", m.group(1)), m.group(1)
        vm.expect(r"^R0: resume rc=1$")
        vm.expect(r"^N: up cpus=0$")
        assert not vm.seen(r"restore kernel up")
        assert vm.wait_exit(timeout=60) == 0
    r = khib_host("inspect", "--json", mc.disk, check=False)
    assert json.loads(r.stdout)["valid"] is False, "the refused image is still valid"


def only_once(ctx):
    mc, before = hibernated_once(ctx)
    with mc.boot(1) as vm:
        resumed(vm, 1, before, 1)
        assert vm.wait_exit(timeout=120) == 0
    with mc.boot(0) as vm:
        vm.expect(r"^R0: resume rc=0$", timeout=120)
        vm.expect(r"^N: up cpus=0$")
        assert not vm.seen(r"khib: resuming|refused")
        assert vm.wait_exit(timeout=60) == 0


def noresume(ctx):
    """`noresume` on the command line: the image is discarded, not kept for
    a later boot (this boot changes the disks the image describes)."""
    mc, _ = hibernated_once(ctx)
    with mc.boot(0, extra="noresume") as vm:
        vm.expect(r"khib: noresume on the kernel command line: image on '/dev/vda' discarded",
                  timeout=120)
        vm.expect(r"^R0: resume rc=0$")
        vm.expect(r"^N: up cpus=0$")
        assert not vm.seen(r"khib: resuming"), "resumed despite noresume"
        assert vm.wait_exit(timeout=60) == 0
    assert khib_host("verify", mc.disk, check=False).returncode != 0, \
        "the image is still valid after a noresume boot"


def cmdline_method_ignored(ctx):
    """A khib.method= that is not a method is named and ignored: the resume
    goes on by the default (auto: here /dev/snapshot), not refused, which
    would leave the boot going on over a valid image."""
    mc, before = hibernated_once(ctx)
    mc.method = ""  # no --method: khib resume reads the command line
    with mc.boot(0, extra="khib.method=kexek") as vm:
        vm.expect(r"^khib: warning: khib\.method=kexek on the kernel command line: expected "
                  r"auto, snapshot or kexec; ignored$", timeout=120)
        resumed(vm, 1, before, 1, "snapshot")
        assert vm.wait_exit(timeout=120) == 0
    assert khib_host("verify", mc.disk, check=False).returncode != 0, \
        "the image is still valid after the resume"


REGION_SIZE = 64 << 20  # images()' default --region-size 64M


def region_start(mem, size=REGION_SIZE):
    """Where a region of size bytes goes in a q35 guest with mem of RAM (a
    QEMU -m value): at the top of its first 2 GiB of RAM, below the PCI
    hole, 2 MiB aligned.  q35 puts all of RAM below 4 GiB up to 2.75 GiB,
    beyond that the first 2 GiB there and the rest above 4 GiB: RAM up to
    min(mem, 2 GiB) is always there.  SeaBIOS keeps the last pages of the
    RAM below 4 GiB for itself (140 KiB, reserved in the e820 map), so the
    region ends 2 MiB below that top: for mem <= 2 GiB, mem - 2 MiB - size,
    where khib hibernate would put it itself (the highest 2 MiB-aligned run
    of RAM).  512M: 0x1be00000."""
    top = min(mib(mem) << 20, 2 << 30)
    start = top - (2 << 20) - size
    assert start >= 16 << 20, f"no room for a {size >> 20} MiB region in {mem}"
    return start


def direct_boot(ctx):
    # The region is fixed before the first boot: the restore kernel is
    # built to run at its address.
    region = region_start(MEM)
    mc = Machine(ctx, 2, hibargs=f"--region-start {region:#x}", mem=MEM)
    restore_kernel = ctx.kernel(physical_start=region)
    h_initrd = ctx.path("h.cpio")  # khib as /init, built by images()
    # With KASLR, N's own kernel may land in the fixed region (khib
    # hibernate then refuses, rightly): a machine that uses a fixed region
    # boots N without it.
    with mc.boot(1, extra="nokaslr") as vm:
        before = fresh_boot_until_hibernated(vm, 2)
        hibernated(vm)
    info = json.loads(khib_host("inspect", "--json", mc.disk).stdout)
    got = (info["region_start"], info["region_size"])
    assert got == (region, REGION_SIZE), (f"the image's region is {got[0]:#x} + {got[1]:#x}, "
                                          f"hibernated with {region:#x} + {REGION_SIZE:#x}")
    assert info["lowmem_size"] > 0, f"the image records no low memory: {info}"
    append = direct_boot_append(info)
    # The ordinary kernel decompresses to 16 MiB, in N's memory.
    misplaced_kernel_refused(mc, h_initrd, append)
    with mc.boot(1, kernel=restore_kernel, initrd=h_initrd, append=append) as vm:
        direct_restore_resumed(vm)
        vm.expect(r"^N: hibernate rc=0 cycle=1$")
        after = workload_report(vm)
        assert after["passes"] > before["passes"]
        vm.expect(r"^N: data disk intact cycle=1$")
        vm.expect(r"^N: cpus online 0-1$")
        assert vm.wait_exit(timeout=120) == 0
    assert khib_host("verify", mc.disk, check=False).returncode != 0


def failed_resume(ctx):
    """A valid image that this boot cannot resume (its restore kernel is
    missing): invalidated before the boot goes on, so the next boot is a
    normal one and never brings the old kernel back over changed disks."""
    mc, _ = hibernated_once(ctx)
    with mc.boot(0, extra="khibtest.rkernel=/missing") as vm:
        m = vm.expect(r"khib: image on '/dev/vda' not resumed: (.*)$", timeout=240)
        assert re.fullmatch(r"reading the restore kernel '/missing': No such file or "
                            r"directory; invalidated, so this boot may go on", m.group(1)), \
            m.group(1)
        vm.expect(r"^R0: resume rc=1$")
        vm.expect(r"^N: up cpus=0$")
        assert not vm.seen(r"restore kernel up")
        assert vm.wait_exit(timeout=60) == 0
    assert khib_host("verify", mc.disk, check=False).returncode != 0, \
        "a valid image that was not resumed is still valid"
    with mc.boot(0) as vm:
        vm.expect(r"^R0: resume rc=0$", timeout=120)
        vm.expect(r"^N: up cpus=0$")
        assert not vm.seen(r"khib: resuming|refused|not resumed")
        assert vm.wait_exit(timeout=60) == 0


def restore_attempts(disk):
    info = json.loads(khib_host("inspect", "--json", disk, check=False).stdout)
    return info["valid"], info["restore_attempts"]


def cut_mid_restore(mc, *first):
    """A boot whose power goes in the middle of the restore kernel's
    writing of memory, after lines matching `first`."""
    with mc.boot(0) as vm:
        for pattern in first:
            vm.expect(pattern, timeout=240)
        vm.expect(r"khib: restoring memory: +[1-9]\d% ", timeout=300)
        vm.kill()


def unfinished_twice(ctx):
    """Restores that began and did not finish are counted on the image:
    the second checks every chunk first, there is no third."""
    mc, _ = hibernated_once(ctx)
    assert restore_attempts(mc.disk) == (True, 0)
    cut_mid_restore(mc)
    assert restore_attempts(mc.disk) == (True, 1)
    cut_mid_restore(mc, r"khib: a restore of this image began and did not finish \(1 so far\): "
                    r"checking every chunk before the next", r"khib: restore kernel up")
    assert restore_attempts(mc.disk) == (True, 2)
    with mc.boot(0) as vm:
        vm.expect(r"khib: image on '/dev/vda' refused: 2 restores of this image began and none "
                  r"finished; invalidated$", timeout=240)
        vm.expect(r"^R0: resume rc=1$")
        vm.expect(r"^N: up cpus=0$")
        assert not vm.seen(r"restore kernel up")
        assert vm.wait_exit(timeout=60) == 0
    assert restore_attempts(mc.disk) == (False, 0)


def snapshot_fallback(ctx):
    """auto, but this boot cannot hibernate (nohibernate): the kexec path."""
    mc, before = hibernated_once(ctx, "auto")
    with mc.boot(1, extra="nohibernate") as vm:
        vm.expect(r"khib: hibernation is disabled in this kernel .*: using the kexec path",
                  timeout=240)
        resumed(vm, 1, before, 1, "kexec")
        assert vm.wait_exit(timeout=120) == 0


def snapshot_other_memory(ctx):
    """The image's machine had 512 MiB; this boot has 640: refused by khib
    before anything is frozen, invalidated, and the boot goes on."""
    mc, _ = hibernated_once(ctx, "auto")
    with mc.boot(0, mem="640M") as vm:
        m = vm.expect(r"khib: image on '/dev/vda' refused: (.*); invalidated$", timeout=240)
        assert re.search(r"memory map|memory size", m.group(1)), m.group(1)
        vm.expect(r"^R0: resume rc=1$")
        vm.expect(r"^N: up cpus=0$")
        assert not vm.seen(r"through /dev/snapshot|restore kernel up")
        assert vm.wait_exit(timeout=60) == 0


def direct_boot_append(info):
    """What a boot loader entry for the restore kernel passes (image
    info from `khib inspect --json`): only the region and the low memory
    the image records as RAM, no KASLR."""
    return (f"console=ttyS0 panic=-1 nr_cpus=1 nokaslr memmap=exactmap "
            f"memmap={info['lowmem_size']:#x}@{info['lowmem_start']:#x} "
            f"memmap={info['region_size']:#x}@{info['region_start']:#x} "
            f"khib.role=restore khib.resume=/dev/vda")


def direct_restore_resumed(vm):
    """A restore kernel the boot loader started found the image, restored
    it and jumped in; N says it resumed."""
    vm.expect(r"khib: restore kernel up \(started by the boot loader\)", timeout=120)
    vm.expect(r"khib: resuming 6\.1\.\d+ from '/dev/vda'", timeout=120)
    vm.expect(r"khib: restoring memory: 100%", timeout=300)
    vm.expect(r"khib: jumping into the resumed kernel", timeout=60)
    vm.expect(r"khib: resumed from the image on '/dev/vda'", timeout=120)


def misplaced_kernel_refused(mc, h_initrd, append):
    """The ordinary kernel, started as a restore kernel, lies outside the
    image's region: refused before it writes anything, and the image stays
    valid for the right kernel."""
    with mc.boot(1, kernel=mc.kernel, initrd=h_initrd, append=append) as vm:
        vm.expect(r"khib: restore kernel up \(started by the boot loader\)", timeout=120)
        vm.expect(r"khib: resume failed: this kernel's code lies outside the image's region")
        assert not vm.seen(r"restoring memory")
        assert vm.wait_exit(timeout=60) == 0
    assert khib_host("verify", mc.disk, check=False).returncode == 0, \
        "a misplaced restore kernel damaged or invalidated the image"


def tests():
    yield "resume_snapshot_1cpu", cycles(1, 1, "snapshot")
    yield "resume_snapshot_2cpu", cycles(1, 2, "auto")
    yield "resume_snapshot_2cpu_2g", cycles(1, 2, "snapshot", mem="2G")
    yield "resume_snapshot_fallback", snapshot_fallback
    yield "resume_snapshot_other_memory", snapshot_other_memory
    yield "resume_cycle_2cpu", cycles(1)
    yield "resume_three_cycles", cycles(3)
    yield "resume_corrupt_chunk", corrupt_chunk("kexec")
    yield "resume_unfinished_twice", unfinished_twice
    yield "resume_snapshot_corrupt_chunk", corrupt_chunk("auto")
    yield "resume_only_once", only_once
    yield "resume_noresume", noresume
    yield "resume_cmdline_method_ignored", cmdline_method_ignored
    yield "resume_failed_invalidates", failed_resume
    yield "resume_direct_boot", direct_boot
