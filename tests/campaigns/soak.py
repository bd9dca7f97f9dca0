#!/usr/bin/env python3
# SPDX-License-Identifier: GPL-2.0-only
"""Many hibernate/resume cycles of one machine, to show leaks and drift.

The VM tests run one to three cycles; what only shows after many is left to
this campaign: memory N loses at every cycle (a leaked region, a page cache
that only grows), an image that grows, a hibernation or a resume that slows
down.  One machine (test_resume.Machine: 512 MiB, 2 vCPUs, its live workload
holding 320 MiB and a data disk) hibernates and resumes --cycles times,
alternating the two resume paths (khibtest.method=kexec and =snapshot on the
kernel command line, per boot); after every resume test_resume.resumed()
checks the workload, the data disk and the CPUs.  Each cycle is a tally row
that must be RESUMED (a refused image is a failure here), with its figures:

  hibernate   s from N's "N: hibernating" line to the VM's last console line
              (it powers off), console timestamps
  resume      s from QEMU's start to "khib: resumed from"
  MiB         what the writer stored ("image committed: ... MiB stored")
  MemFree, MemAvailable   N's /proc/meminfo after the resume, in MiB

and a closing line per figure: min / median / max, and the drift (the median
of the last 10 cycles minus that of the first 10; of halves when fewer than
20).  A failed resume ends the campaign (the machine is gone).

    tests/campaigns/soak.py [--cycles 50]
"""
import argparse
import os
import re
import statistics
import sys

from tally import Tally, RESUMED, REFUSED, PARTIAL, HUNG  # also puts tests/vm on sys.path

from khibvm import TOP
from khibvm.context import Context
from khibvm.qemu import VMError
import test_resume as tr

CPUS = 2
METHODS = ("kexec", "snapshot")

# test_resume's N, which also prints its memory after each resume.
CPUS_LINE = 'echo "N: cpus online $(cat /sys/devices/system/cpu/online)"\n'
MEMINFO = ("""    echo "N: meminfo $(awk '/^MemFree:/ {f = $2} /^MemAvailable:/ {a = $2} """
           """END {print f, a}' /proc/meminfo)"\n""")
FIGURES = ("hibernate_s", "resume_s", "stored_mib", "memfree_mib", "memavail_mib")


def soak_init(workload_mib):
    assert tr.INIT.count(CPUS_LINE) == 1, "test_resume's INIT changed: update soak.py"
    init = tr.INIT.replace(CPUS_LINE, CPUS_LINE + MEMINFO)
    return init.replace("@HIBARGS@", "").replace("@MIB@", str(workload_mib))


def machine(ctx):
    """test_resume's machine, its N initramfs rebuilt with soak_init()."""
    mc = tr.Machine(ctx, CPUS)
    kernel = ctx.kernel()
    mc.initrd = ctx.initramfs("n", soak_init(mc.workload_mib), files=[
        (ctx.bin("khib"), "bin/khib"),
        (ctx.bin("khib-workload"), "bin/khib-workload"),
        (kernel, "h/bzImage"),
        (ctx.path("h.cpio"), "h/initrd.cpio.gz"),  # built by tr.images()
    ])
    return mc


def stamp(vm, pattern):
    """Console time of the first line matching pattern."""
    rx = re.compile(pattern)
    return next(t for t, s in vm.lines if rx.search(s))


def hibernated(vm, cycle):
    """After test_resume.hibernated(): (hibernate s, MiB stored)."""
    start = stamp(vm, rf"^N: hibernating cycle={cycle}$")
    (line,) = vm.seen(r"khib: image committed: ")
    stored = int(re.search(r"(\d+) MiB stored", line).group(1))
    return vm.lines[-1][0] - start, stored


def resumed(vm, cycle, before, method):
    """test_resume.resumed() and N's memory: (the workload's report,
    resume s, MemFree MiB, MemAvailable MiB)."""
    after = tr.resumed(vm, cycle, before, CPUS, method)
    m = vm.expect(r"^N: meminfo (\d+) (\d+)$")
    return (after, stamp(vm, r"khib: resumed from the image"),
            int(m.group(1)) >> 10, int(m.group(2)) >> 10)


def outcome_of(vm, error):
    if vm.seen(r"refused|not resumed"):
        return REFUSED
    if re.search(r"within \d+ s|still running|hard deadline", str(error)):
        return HUNG
    return PARTIAL


class Soak:
    def __init__(self, ctx, cycles):
        self.ctx, self.cycles = ctx, cycles
        self.tally = Tally("soak")
        self.rows = []  # per cycle: dict of FIGURES

    def run(self):
        mc = machine(self.ctx)
        with mc.boot(self.cycles) as vm:
            before = tr.fresh_boot_until_hibernated(vm, CPUS)
            tr.hibernated(vm)
        image = hibernated(vm, 1)
        for cycle in range(1, self.cycles + 1):
            before, image = self.cycle(mc, cycle, before, image)
            if before is None:
                break
        self.closing()
        return self.tally

    def cycle(self, mc, cycle, before, image):
        """Resume the image of this cycle; hibernate the next one: (the
        workload's report, the next image's figures), or (None, None)."""
        mc.method = METHODS[(cycle - 1) % 2]
        with mc.boot(self.cycles) as vm:
            try:
                after, resume_s, free, avail = resumed(vm, cycle, before, mc.method)
                if cycle < self.cycles:
                    tr.hibernated(vm)
                else:
                    assert vm.wait_exit(timeout=120) == 0
            except (AssertionError, VMError) as e:
                self.tally.add(f"cycle{cycle:02d}", outcome_of(vm, e),
                               f"{mc.method}: {str(e).splitlines()[0]}", expect=(RESUMED,))
                return None, None
        row = dict(hibernate_s=image[0], stored_mib=image[1], resume_s=resume_s,
                   memfree_mib=free, memavail_mib=avail)
        self.rows.append(row)
        self.tally.add(f"cycle{cycle:02d}", RESUMED, f"{mc.method}: " + figures(row),
                       expect=(RESUMED,))
        return after, hibernated(vm, cycle + 1) if cycle < self.cycles else None

    def closing(self):
        n = len(self.rows)
        if not n:
            return
        k = min(10, max(1, n // 2))
        for name in FIGURES:
            v = [r[name] for r in self.rows]
            drift = statistics.median(v[-k:]) - statistics.median(v[:k])
            print(f"soak: {name:12s} min {min(v):8.1f}  median {statistics.median(v):8.1f}  "
                  f"max {max(v):8.1f}  drift {drift:+7.1f} (median of the last {k} "
                  f"minus the first {k} of {n} cycles)")


def figures(row):
    return (f"hibernate {row['hibernate_s']:.1f} s, resume {row['resume_s']:.1f} s, "
            f"{row['stored_mib']} MiB written, MemFree {row['memfree_mib']} MiB, "
            f"MemAvailable {row['memavail_mib']} MiB")


def main(argv):
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--cycles", type=int, default=50)
    args = ap.parse_args(argv)
    out_dir = os.path.abspath(os.environ.get("KHIB_VM_OUT", os.path.join(TOP, "build-vm")))
    ctx = Context("soak", out_dir)
    tally = Soak(ctx, args.cycles).run()
    code = tally.summary()
    if not os.environ.get("KHIB_VM_KEEP"):
        for name in ("disk.img", "data.img"):
            os.unlink(ctx.path(name))
    return code


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
