# SPDX-License-Identifier: GPL-2.0-only
"""A full machine: hibernation never costs the work it is meant to keep.

Loading the writer kernel takes a page of N for every page of its region
(lib/system/memory.h).  These tests fill N's memory with the live workload and
check that khib either finds that memory without the OOM killer or refuses
before anything changed -- and that a region too small for the writer ends
in a jump back, not in the writer kernel's panic.  Every hibernation here
uses khib's default region unless a test is about the region.

  fullmem_1g_94pct         1 GiB, 2 vCPUs, 94% of memory in use at the jump:
                           hibernate (the default region's small form: no
                           room to load the one for 4 MiB chunks), power
                           off, resume by the default method (the restore
                           kernel: over 512 MiB to restore); the workload
                           comes back intact and the OOM killer never ran
  fullmem_1g_97pct_crashkernel
                           N reserved 36 MiB at boot (crashkernel=): the
                           writer runs there, the load takes what the
                           kernel and its plain initramfs hold (<= 10 MiB),
                           and a machine 97% full goes through a full cycle
  fullmem_crashkernel_snapshot
                           the same reservation, 512 MiB 60% full, resumed
                           through /dev/snapshot (auto's choice for an image
                           that size; its landing page lies in it)
  fullmem_4g_95pct         95% of 4 GiB, as a --test round trip (200 MiB
                           free: the default region has room for 4 MiB
                           chunks)
  fullmem_load_refused     the load cannot fit (a 128 MiB region on a 512 MiB
                           machine 90% in use): one line with the numbers,
                           no jump, the workload runs on
  fullmem_writer_short     a region the writer kernel boots in but cannot
                           save in (36 MiB for 8 threads): it jumps back
                           and says why; the workload runs on
"""
import json
import re

from khibvm import guest
from khibvm.host import khib_host, make_disk
from khibvm.qemu import VM

K = "--kernel /h/bzImage --initrd /h/initrd.cpio.gz"
APPEND = "console=ttyS0 panic=-1 nr_cpus=1"  # the writer and restore kernels'

# N's /init.  Every boot first tries to resume.  Then, with khibtest.pct=P
# on the command line, it sizes the workload so that P% of memory is in use
# (MemTotal - MemAvailable), reports the share just before it hibernates,
# and after `khib hibernate` returns reports the workload.
INIT = r"""#!/bin/sh
""" + guest.MOUNTS + guest.REPORT + r"""/bin/khib resume @K@ --append "@APPEND@"
echo "R0: resume rc=$?"
echo "N: up cpus=$(cat /sys/devices/system/cpu/online)"
pct=$(sed -n 's/.*khibtest.pct=\([0-9]*\).*/\1/p' /proc/cmdline)
[ -n "$pct" ] || poweroff -f
used_permille() {
    awk '/^MemTotal:/ {t = $2} /^MemAvailable:/ {a = $2}
         END {printf "%d", (t - a) * 1000 / t}' /proc/meminfo
}
avail=$(awk '/^MemAvailable:/ {print $2}' /proc/meminfo)
total=$(awk '/^MemTotal:/ {print $2}' /proc/meminfo)
wl=$(( (avail - total * (100 - pct) / 100) / 1024 + 6 ))
echo "N: workload of $wl MiB for $pct% in use"
/bin/khib-workload $wl /tmp &
pid=$!
while [ ! -e /tmp/ready ]; do usleep 100000; done
report /tmp $pid
echo "N: memory in use $(used_permille) permille"
/bin/khib hibernate --target /dev/vda @K@ --append "@APPEND@" --clear @ARGS@
echo "N: hibernate rc=$?"
report /tmp $pid
echo "N: cpus online $(cat /sys/devices/system/cpu/online)"
dmesg | grep -q 'invoked oom-killer' && echo "N: the OOM killer ran" || echo "N: no OOM kill"
poweroff -f
"""


class Machine:
    def __init__(self, ctx, mem, cpus, args="", cmdline=""):
        self.ctx, self.mem, self.cpus, self.cmdline = ctx, mem, cpus, cmdline
        self.mib = int(mem[:-1]) << (10 if mem.endswith("G") else 0)
        kernel = ctx.kernel()
        khib = ctx.bin("khib")
        h_initrd = ctx.initramfs("h", khib, busybox=False, compress=False)
        init = INIT.replace("@K@", K).replace("@APPEND@", APPEND).replace("@ARGS@", args)
        self.kernel = kernel
        self.initrd = ctx.initramfs("n", init, files=[
            (khib, "bin/khib"),
            (ctx.bin("khib-workload"), "bin/khib-workload"),
            (kernel, "h/bzImage"),
            (h_initrd, "h/initrd.cpio.gz"),
        ])
        self.disk = make_disk(ctx, (self.mib + 256) << 20)
        self.boots = 0

    def boot(self, pct=None):
        self.boots += 1
        append = f"console=ttyS0 panic=-1 khib.resume=/dev/vda {self.cmdline}" + \
            (f" khibtest.pct={pct}" if pct else "")
        return VM(f"boot{self.boots}", self.kernel, self.initrd, append, mem=self.mem,
                  cpus=self.cpus, disks=[self.disk], log_dir=self.ctx.log_dir, deadline=900)


def workload(vm, timeout=600):
    """The workload's report line, checked."""
    m = vm.expect(r"^workload: passes=(\d+) errors=(\d+) counter=(\d+) pipe=(\d+) ticks=(\d+)$",
                  timeout=timeout)
    r = dict(zip(("passes", "errors", "counter", "pipe", "ticks"), map(int, m.groups())))
    assert r["errors"] == 0, f"the workload found {r['errors']} errors"
    return r


def filled(vm, pct):
    """Up to the hibernation: the workload holds what it should and the
    share of memory in use is at least pct%."""
    vm.expect(r"^R0: resume rc=0$", timeout=180)
    want = int(vm.expect(rf"^N: workload of (\d+) MiB for {pct}% in use$").group(1))
    vm.expect(rf"^workload: ready, holding {want} MiB$", timeout=900)
    before = workload(vm)
    used = int(vm.expect(r"^N: memory in use (\d+) permille$").group(1))
    assert used >= pct * 10, f"only {used / 10:.1f}% of N's memory is in use, not {pct}%"
    return before


def carried_on(vm, before, cpus):
    """After khib hibernate returned: the same workload went on, no OOM kill."""
    after = workload(vm)
    assert after["passes"] > before["passes"], "the workload did not run on"
    assert after["pipe"] > before["pipe"], "the workload's pipe stopped"
    vm.expect(rf"^N: cpus online {'0' if cpus == 1 else f'0-{cpus - 1}'}$")
    vm.expect(r"^N: no OOM kill$")
    assert not vm.seen(r"invoked oom-killer|Out of memory: Killed"), "the OOM killer ran"


def chunks(vm, kib):
    """The writer's chunk size: the default region has room for 4 MiB
    chunks when N could load it, for 1 MiB ones when N is too full."""
    m = vm.expect(r"khib: (\d+) KiB chunks: \d+ MiB free in the (\d+) MiB region", timeout=240)
    assert int(m.group(1)) == kib, m.group(0)


def full_cycle(mem, pct, cpus, cmdline="", max_load_mib=40, method=None, chunk_kib=None):
    def run(ctx):
        mc = Machine(ctx, mem, cpus, cmdline=cmdline)
        with mc.boot(pct) as vm:
            before = filled(vm, pct)
            if "crashkernel=" in cmdline:
                vm.expect(r"khib: the writer kernel runs in the crashkernel= reservation at "
                          r"0x[0-9a-f]+ \((\d+) MiB\)", timeout=120)
            m = vm.expect(r"khib: loading the writer kernel takes (\d+) MiB of this kernel's "
                          r"memory", timeout=120)
            assert int(m.group(1)) <= max_load_mib, m.group(0)
            vm.expect(r"khib: hibernating: jumping to the writer kernel", timeout=120)
            if chunk_kib:
                chunks(vm, chunk_kib)
            m = vm.expect(r"khib: image committed: (\d+) MiB of RAM", timeout=600)
            assert int(m.group(1)) >= mc.mib * pct // 100 - 64
            vm.expect(r"khib: powering off", timeout=60)
            assert vm.wait_exit(timeout=120) == 0
            assert not vm.seen(r"invoked oom-killer"), "the OOM killer ran while hibernating"
        assert khib_host("verify", mc.disk, check=False).returncode == 0
        with mc.boot(pct) as vm:
            vm.expect(r"khib: resuming 6\.1\.\d+ from '/dev/vda'", timeout=300)
            vm.expect(r"khib: resumed from the image on '/dev/vda'", timeout=600)
            # The path auto chose, by the image's size.
            if method == "snapshot":
                assert vm.seen(r"khib: resuming .* through /dev/snapshot"), \
                    "not resumed through /dev/snapshot"
            if method == "kexec":
                assert vm.seen(r"khib: restore kernel up"), \
                    "a large image was not resumed through the restore kernel"
            vm.expect(r"^N: hibernate rc=0$")
            carried_on(vm, before, cpus)
            assert not vm.seen(r"^N: up cpus"), "N booted afresh instead of resuming"
            assert vm.wait_exit(timeout=300) == 0
        assert khib_host("verify", mc.disk, check=False).returncode != 0
    return run


def test_round_trip(mem, pct, cpus):
    def run(ctx):
        mc = Machine(ctx, mem, cpus, "--test")
        with mc.boot(pct) as vm:
            before = filled(vm, pct)
            vm.expect(r"khib: testing hibernation: jumping to the writer kernel", timeout=120)
            chunks(vm, 4096)
            vm.expect(r"khib: test passed: \d+ MiB saved", timeout=900)
            vm.expect(r"^N: hibernate rc=0$")
            carried_on(vm, before, cpus)
            assert vm.wait_exit(timeout=300) == 0
        assert khib_host("verify", mc.disk, check=False).returncode != 0, \
            "a --test image is still valid on the disk"
        if mc.mib > 4096 - 512:
            # Memory above 4 GiB was saved (q35 puts RAM beyond 2 GiB there).
            info = json.loads(khib_host("inspect", "--json", mc.disk, check=False).stdout)
            top = max(r["paddr"] + r["npages"] * 4096 for r in info["ranges"])
            assert top > 1 << 32, f"no saved range above 4 GiB: {info['ranges']}"
    return run


def load_refused(ctx):
    mc = Machine(ctx, "512M", 1, "--region-size 128M")
    with mc.boot(90) as vm:
        before = filled(vm, 90)
        m = vm.expect(r"khib: not enough free memory to load the writer kernel: it takes "
                      r"(\d+) MiB \(its 128 MiB region\) and 2 MiB must stay free, but only "
                      r"(\d+) MiB are free after dropping clean caches \(MemAvailable (\d+) "
                      r"of (\d+) MiB\)", timeout=120)
        need, free = int(m.group(1)), int(m.group(2))
        assert 128 < need < 140 and free < need + 2, m.group(0)
        vm.expect(r"^N: hibernate rc=1$")
        assert not vm.seen(r"jumping to the writer kernel")
        carried_on(vm, before, 1)
        assert vm.wait_exit(timeout=120) == 0
    with open(mc.disk, "rb") as f:
        assert not any(f.read(1 << 20)), "a refused hibernation wrote to the target"


def writer_short(ctx):
    # 36 MiB: the writer kernel with its plain 4.3 MB initramfs needs 34 to
    # boot; 8 threads' chunk buffers do not fit in what is left.
    mc = Machine(ctx, "512M", 1, "--region-size 36M --threads 8")
    with mc.boot(50) as vm:
        before = filled(vm, 50)
        vm.expect(r"khib: hibernating: jumping to the writer kernel", timeout=120)
        m = vm.expect(r"khib: hibernation aborted in the writer kernel: (.*)", timeout=300)
        assert re.search(r"has \d+ MiB free in its 36 MiB region and needs \d+ MiB", m.group(1)), \
            m.group(1)
        vm.expect(r"^N: hibernate rc=1$")
        carried_on(vm, before, 1)
        assert vm.wait_exit(timeout=120) == 0
    assert khib_host("verify", mc.disk, check=False).returncode != 0


def tests():
    yield "fullmem_1g_94pct", full_cycle("1G", 94, 2, method="kexec", chunk_kib=1024)
    yield "fullmem_1g_97pct_crashkernel", full_cycle("1G", 97, 2, "crashkernel=36M",
                                                     max_load_mib=10, method="kexec")
    yield "fullmem_crashkernel_snapshot", full_cycle("512M", 60, 1, "crashkernel=36M",
                                                     max_load_mib=10, method="snapshot")
    yield "fullmem_4g_95pct", test_round_trip("4G", 95, 2)
    yield "fullmem_load_refused", load_refused
    yield "fullmem_writer_short", writer_short
