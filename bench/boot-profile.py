#!/usr/bin/env python3
# SPDX-License-Identifier: GPL-2.0-only
"""Where a kernel's boot spends its time under TCG: a sampling profiler.

Boots khib's kernel (kernel/build.sh, the one the VM tests use) as QEMU's
-kernel, on the tests' machine (q35, -cpu max, 1 vCPU by default), with an
initramfs whose /init is the static khib: it finds no handoff block and
halts, which is as far as a writer kernel's boot goes before khib's own
work.  While it boots, QEMU's monitor stops the vCPU, reads its instruction
pointer and lets it go on, every few milliseconds; System.map names the
kernel addresses (the kernel runs with nokaslr).

Prints the functions that held the most samples (each sample stands for the
time since the one before, a few ms), and the timeline of runs of three or
more samples in one function.  Not a test, and the stops slow the guest a
little: compare shares within one run.

    bench/boot-profile.py [--append ARGS] [--cpus N] [--seconds S] [--top N]

Needs the static build (scripts/build.sh build-static) and the kernel.
"""
import argparse
import bisect
import collections
import os
import re
import socket
import subprocess
import sys
import tempfile
import time

TOP = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, os.path.join(TOP, "tests", "vm"))

from khibvm.context import Context  # noqa: E402
from khibvm.qemu import QEMU  # noqa: E402

# What khib hibernate gives the writer on these VMs (tools/common.c: AHCI
# left to pci-stub, no local APIC timer), the tests' console without quiet
# (the console lines below need the boot's messages), and nokaslr for
# System.map.
APPEND = ("console=ttyS0 panic=-1 nr_cpus=1 nokaslr nolapic_timer "
          "pci-stub.ids=ffffffff:ffffffff:ffffffff:ffffffff:10601:ffffff")


def symbols(path):
    syms = []
    with open(path) as f:
        for line in f:
            addr, kind, name = line.split()[:3]
            if kind in "tTwW":
                syms.append((int(addr, 16), name))
    syms.sort()
    return [a for a, _ in syms], [n for _, n in syms]


class Monitor:
    """QEMU's human monitor on a Unix socket, one command at a time."""

    def __init__(self, path):
        self.s = socket.socket(socket.AF_UNIX)
        self.s.connect(path)
        self.buf = b""
        self.reply()  # the greeting, up to the first prompt

    def reply(self):
        while b"(qemu) " not in self.buf:
            data = self.s.recv(65536)
            if not data:
                raise EOFError("QEMU's monitor closed")
            self.buf += data
        out, _, self.buf = self.buf.partition(b"(qemu) ")
        return out.decode(errors="replace")

    def __call__(self, cmd):
        self.s.sendall(cmd.encode() + b"\n")
        return self.reply()


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--append", default=APPEND, help="kernel command line (default: %(default)s)")
    ap.add_argument("--cpus", type=int, default=1)
    ap.add_argument("--mem", default="512M")
    ap.add_argument("--seconds", type=float, default=3.0, help="how long to sample")
    ap.add_argument("--top", type=int, default=25)
    a = ap.parse_args()

    work = tempfile.mkdtemp(prefix="khib-boot-profile-")
    ctx = Context("boot-profile", work)
    kernel = ctx.kernel()
    addrs, names = symbols(os.path.join(os.path.dirname(kernel), "System.map"))
    initrd = ctx.initramfs("h", ctx.bin("khib"), busybox=False, compress=False)
    mon_path = os.path.join(work, "monitor")
    console = os.path.join(work, "console.log")
    qemu = subprocess.Popen(
        ["timeout", str(int(a.seconds) + 60), QEMU, "-accel", "tcg", "-machine", "q35",
         "-cpu", "max", "-m", a.mem, "-smp", str(a.cpus), "-display", "none", "-vga", "none",
         "-nodefaults", "-no-reboot", "-kernel", kernel, "-initrd", initrd, "-append", a.append,
         "-serial", f"file:{console}", "-monitor", f"unix:{mon_path},server,nowait"],
        stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    t0 = time.monotonic()
    while not os.path.exists(mon_path):
        if qemu.poll() is not None or time.monotonic() - t0 > 10:
            sys.exit("boot-profile: QEMU did not start its monitor")
        time.sleep(0.001)
    mon = Monitor(mon_path)
    samples = []  # (seconds since QEMU's start, function)
    try:
        while time.monotonic() - t0 < a.seconds and qemu.poll() is None:
            mon("stop")
            regs = mon("info registers")
            mon("cont")
            m = re.search(r"[RE]IP=([0-9a-f]+)", regs)
            if m:
                ip = int(m.group(1), 16)
                i = bisect.bisect_right(addrs, ip) - 1
                name = names[i] if i >= 0 and ip >= 0xffffffff80000000 else "(not the kernel)"
                samples.append((time.monotonic() - t0, name))
            time.sleep(0.002)
    except EOFError:
        pass
    qemu.terminate()
    qemu.wait()
    if len(samples) < 2:
        sys.exit("boot-profile: no samples")

    step = (samples[-1][0] - samples[0][0]) / (len(samples) - 1)
    print(f"boot-profile: {len(samples)} samples in {samples[-1][0]:.2f} s, one per "
          f"{1000 * step:.1f} ms; append '{a.append}'")
    print(f"\n{'ms':>6}  function (most samples first)")
    for name, n in collections.Counter(n for _, n in samples).most_common(a.top):
        print(f"{n * step * 1000:6.0f}  {name}")
    print(f"\n{'at s':>6} {'ms':>6}  runs of 3 or more samples in one function")
    run = [samples[0]]
    for s in samples[1:] + [(None, None)]:
        if s[1] == run[0][1]:
            run.append(s)
            continue
        if len(run) >= 3:
            print(f"{run[0][0]:6.2f} {len(run) * step * 1000:6.0f}  {run[0][1]}")
        run = [s]
    with open(console, errors="replace") as f:
        marks = [ln.strip() for ln in f if re.search(r"Linux version|Run /init|khib:", ln)]
    print("\nconsole: " + "\n         ".join(m[:100] for m in marks))


if __name__ == "__main__":
    main()
