#!/usr/bin/env python3
# SPDX-License-Identifier: GPL-2.0-only
"""Resume time, side by side: khib through /dev/snapshot, khib through its
restore kernel (kexec), and Linux's own hibernation (swsusp to a swap
partition), on the same VM configuration, in one run.

Each method: boot the VM, start the same workload (62.5% of RAM in a checked
pattern), hibernate, power off; then start a new QEMU process and time it
from its start to the line the hibernated system prints once it runs again.
Hibernation time is measured from the command that starts it to QEMU's exit.
Not a test: it prints figures and asserts nothing about speed.

    bench/bench-resume.py [--mem 512M] [--cpus 2] [--runs 2]

Needs the static build (scripts/build.sh build-static) and the kernel
(kernel/build.sh); the README's test command makes both.
"""
import argparse
import json
import os
import re
import statistics
import sys
import time

TOP = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, os.path.join(TOP, "tests", "vm"))

import test_resume  # noqa: E402
from khibvm import guest  # noqa: E402
from khibvm.context import Context  # noqa: E402
from khibvm.host import khib_host, make_disk  # noqa: E402
from khibvm.qemu import VM  # noqa: E402

# Linux's own hibernation: the same workload, swap on /dev/vda, resume=.
SWSUSP_INIT = r"""#!/bin/sh
""" + guest.MOUNTS + r"""echo "N: up"
mkswap /dev/vda >/dev/null
swapon /dev/vda
/bin/khib-workload @MIB@ /tmp &
while [ ! -e /tmp/ready ]; do usleep 100000; done
# The compressor can be chosen since Linux 6.9; before, it is LZO.
c=/sys/module/hibernate/parameters/compressor
if [ -w $c ]; then echo lz4 > $c; echo "N: compressor $(cat $c)"; else echo "N: compressor lzo"; fi
echo "N: hibernating"
echo disk > /sys/power/state
echo "N: back rc=$?"
poweroff -f
"""


def khib_method(ctx, method, mem, cpus):
    mc = test_resume.Machine(ctx, cpus, method=method, mem=mem)
    with mc.boot(1) as vm:
        test_resume.fresh_boot_until_hibernated(vm, cpus)
        vm.expect(r"khib: hibernating: jumping")
        t0 = time.monotonic()
        vm.wait_exit(timeout=300)
        hib = time.monotonic() - t0
    stored = json.loads(khib_host("inspect", "--json", mc.disk).stdout)["data_bytes"] >> 20
    with mc.boot(1) as vm:
        vm.expect(r"^N: hibernate rc=0 cycle=1$", timeout=300)
        resume = vm.lines[vm.consumed - 1][0]
        vm.kill()
    return hib, resume, stored, None


def swsusp(ctx, mem, cpus):
    kernel = ctx.kernel()
    wl_mib = test_resume.mib(mem) * 5 // 8
    initrd = ctx.initramfs("swsusp", SWSUSP_INIT.replace("@MIB@", str(wl_mib)), files=[
        (ctx.bin("khib-workload"), "bin/khib-workload")])
    disk = make_disk(ctx, (test_resume.mib(mem) + 256) << 20)
    args = dict(mem=mem, cpus=cpus, disks=[disk], log_dir=ctx.log_dir, deadline=400)
    append = "console=ttyS0 panic=-1 resume=/dev/vda"
    with VM("swsusp-1", kernel, initrd, append, **args) as vm:
        codec = vm.expect(r"^N: compressor (\S+)$", timeout=300).group(1)
        vm.expect(r"^N: hibernating$", timeout=300)
        t0 = time.monotonic()
        vm.wait_exit(timeout=300)
        hib = time.monotonic() - t0
        m = [re.search(r"Wrote (\d+) kbytes", s) for s in vm.seen(r"PM: hibernation: Wrote ")]
    stored = int(m[0].group(1)) >> 10 if m else -1
    with VM("swsusp-2", kernel, initrd, append, **args) as vm:
        vm.expect(r"^N: back rc=0$", timeout=300)
        resume = vm.lines[vm.consumed - 1][0]
        vm.kill()
    return hib, resume, stored, codec.upper()


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--mem", default="512M")
    ap.add_argument("--cpus", type=int, default=2)
    ap.add_argument("--runs", type=int, default=2)
    a = ap.parse_args()
    out = os.path.join(TOP, "build-vm", "bench")
    rows = [("khib, /dev/snapshot", "snapshot",
             lambda c: khib_method(c, "snapshot", a.mem, a.cpus)),
            ("khib, restore kernel", "kexec", lambda c: khib_method(c, "kexec", a.mem, a.cpus)),
            ("Linux swsusp", "swsusp", lambda c: swsusp(c, a.mem, a.cpus))]
    print(f"VM: {a.mem}, {a.cpus} vCPUs, TCG; workload holds 62.5% of RAM; "
          f"{a.runs} runs each, median (min-max)")
    print(f"{'method':24} {'resume: VM start -> running':>30} {'hibernate':>16} {'written':>9}")
    for name, tag, fn in rows:
        res, hib, size = [], [], 0
        for i in range(a.runs):
            h, r, size, codec = fn(Context(f"{tag}-{i}", out))
            res.append(r)
            hib.append(h)
        if codec:  # what the kernel really used, not what was asked
            name = f"{name} ({codec})"
        print(f"{name:24} {statistics.median(res):9.2f} s ({min(res):.2f}-{max(res):.2f})"
              f"{'':6} {statistics.median(hib):8.2f} s {size:6d} MiB")
        sys.stdout.flush()


if __name__ == "__main__":
    main()
