#!/usr/bin/env python3
# SPDX-License-Identifier: GPL-2.0-only
"""Hibernate and resume, side by side: khib through /dev/snapshot, khib
through its restore kernel (kexec), and Linux's own hibernation (swsusp to
a swap partition), on the same VMs, in one run.

Each method, in each cell of the matrix (memory x load x vCPUs): boot the
VM, start the workload (`--load`: idle is 8 MiB, a number is that percent
of RAM, in a pseudo-random pattern that it checks page by page, plus a
counter, a pipe and a timer), hibernate, power off; then start a new QEMU
process and resume.  Times come from the console lines' own clock (seconds
since QEMU started), so every method is timed the same way:

  hibernate  from the line before the hibernating command to QEMU's exit
             (power off); "jump" is when khib jumps to the writer kernel
  resume     from QEMU's start to the first line the resumed system prints
             ("first sign of life"), and to the end of the workload's next
             full pass, started by a signal right after that line ("all
             back": every page read and checked once, so pages swsusp swapped
             out have come back)
  written    the image, plus for swsusp what it swapped out to make room
             (swap in use right after the resume)

khib's writer kernel gets a region of 64 MiB, as in the tests (--region
SIZE; '' for khib's default size).  Plus the phases khib's lines show, and the rate of its save and restore
(MiB stored per second) next to what dd with O_DIRECT writes and reads on
the same virtual disk in the same VM (as many MiB, 4 MiB blocks, the
writer's chunk size).  Runs of a cell alternate the methods;
figures are medians with min-max.  Not a test: it asserts nothing about
speed.

    bench/bench-resume.py [--mem 512M,2G] [--load idle,60] [--cpus 1,2]
                          [--runs 3] [--methods snapshot,kexec,swsusp]
                          [--cache MIB]

--cache MIB: N reads MIB of random data from a disk into its page cache
before it hibernates and again right after the resume; "all back" then
also waits for that read.  Methods snapshot-keep and kexec-keep hibernate
with --keep-caches (-drop: --drop-caches, khib's default): what dropping
the clean cache saves, and what reading it again costs.

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

IDLE_MIB = 8
ALL_BACK = r"^workload: every page checked since the signal, errors=(\d+)$"

# --cache: N reads that much random data from its data disk (past its
# first 16 MiB) into the page cache before it hibernates, and reads it
# again right after the resume, from the cache if it is still there.
CACHE_READ = "dd if=/dev/vdb of=/dev/null bs=1M skip=16 count=@CACHE@ 2>/dev/null\n"

# Before each hibernation (test_resume.INIT's khibtest-hook).  A block
# device's page cache goes with its last close: a process holds it open,
# as a mount would.
BEFORE_HOOK = ("#!/bin/sh\n[ $1 = before ] || exit 0\n"
               "sleep 100000 3</dev/vdb >/dev/null 2>&1 &\n" + CACHE_READ)

# Right after `khib hibernate` returned in the resumed N (test_resume.INIT).
RESUMED_HOOK = "#!/bin/sh\nkill -USR2 $1\n" + CACHE_READ + 'echo "cache: read back"\n'

# Linux's own hibernation: the same workload, swap on /dev/vda, resume=.
SWSUSP_INIT = r"""#!/bin/sh
""" + guest.MOUNTS + r"""echo "N: up"
mkswap /dev/vda >/dev/null
swapon /dev/vda
/bin/khib-workload @MIB@ /tmp &
wl=$!
while [ ! -e /tmp/ready ]; do usleep 100000; done
sleep 100000 3</dev/vdb &
""" + CACHE_READ + r"""# The compressor can be chosen since Linux 6.9; before, it is LZO.
c=/sys/module/hibernate/parameters/compressor
if [ -w $c ]; then echo lz4 > $c; echo "N: compressor $(cat $c)"; else echo "N: compressor lzo"; fi
echo "N: hibernating"
echo disk > /sys/power/state
echo "N: back rc=$?"
kill -USR2 $wl
""" + CACHE_READ + r"""echo "cache: read back"
# On swap right after the resume: what the hibernation swapped out.
total=$(sed -n 's/^SwapTotal: *\([0-9]*\) kB/\1/p' /proc/meminfo)
free=$(sed -n 's/^SwapFree: *\([0-9]*\) kB/\1/p' /proc/meminfo)
echo "N: swapped out $(( (total - free) / 4 )) pages"
while :; do sleep 1; done
"""


# dd on the image's disk, in the same VM as the methods (same kernel,
# memory, vCPUs and disk options): what the disk can take and give.  Then
# what one guest CPU copies from memory to memory (a 64 MiB tmpfs file read
# five times): a restore has to move each byte at least once, so on TCG
# that copy, not the disk, is its ceiling.
COPY_MIB, COPY_PASSES = 64, 5
DD_INIT = r"""#!/bin/sh
""" + guest.MOUNTS + r"""echo "dd: write start"
dd if=/dev/zero of=/dev/vda bs=4M count=@N@ oflag=direct conv=fsync 2>/dev/null
echo "dd: write done rc=$?"
echo "dd: read start"
dd if=/dev/vda of=/dev/null bs=4M count=@N@ iflag=direct 2>/dev/null
echo "dd: read done rc=$?"
dd if=/dev/zero of=/tmp/copy bs=1M count=@COPY_MIB@ 2>/dev/null
echo "dd: copy start"
for i in $(seq @COPY_PASSES@); do dd if=/tmp/copy of=/dev/null bs=4M 2>/dev/null || break; done
echo "dd: copy done rc=$?"
poweroff -f
"""


def first_line(vm, pattern):
    """The first line matching pattern, consumed by expect() or not:
    (console clock, text), or None."""
    rx = re.compile(pattern)
    return next(((t, text) for t, text in vm.lines if rx.search(text)), None)


def at(vm, pattern):
    """The console clock of the first line matching pattern, or None."""
    line = first_line(vm, pattern)
    return line[0] if line else None


def wait_seen(vm, pattern, timeout):
    """first_line(), waiting up to timeout seconds for it."""
    end = time.monotonic() + timeout
    while not (line := first_line(vm, pattern)):
        assert time.monotonic() < end, f"no line matching /{pattern}/ in {timeout} s"
        time.sleep(0.1)
    return line


def workload_mib(mem, load):
    return IDLE_MIB if load == "idle" else test_resume.mib(mem) * int(load) // 100


def hook_file(ctx, name, text, cache):
    path = ctx.path(name)
    with open(path, "w") as f:
        f.write(text.replace("@CACHE@", str(cache)))
    os.chmod(path, 0o755)
    return path


def all_back(vm):
    """When the workload's pass after the resume ended and the cached data
    was read again: the later of the two."""
    m = vm.expect(ALL_BACK, timeout=600)
    assert m.group(1) == "0", f"the workload found {m.group(1)} errors"
    return max(vm.matched_at, wait_seen(vm, r"^cache: read back$", 300)[0])


def khib_method(ctx, method, mem, cpus, load, cache, region):
    # "-keep", "-drop": khib hibernate --keep-caches, --drop-caches (the
    # default)
    method, _, caches = method.partition("-")
    files = [(hook_file(ctx, "resumed-hook", RESUMED_HOOK, cache), "bin/khibtest-resumed"),
             (hook_file(ctx, "before-hook", BEFORE_HOOK, cache), "bin/khibtest-hook")]
    mc = test_resume.Machine(ctx, cpus, method=method, mem=mem,
                             workload_mib=workload_mib(mem, load),
                             hibargs=f"--{caches}-caches" if caches else "",
                             data_mib=16 + cache, files=files,
                             region=f"--region-size {region}" if region else "")
    r = {}
    with mc.boot(1) as vm:
        vm.expect(r"^workload: ready", timeout=600)
        vm.expect(r"^N: hibernating cycle=1$", timeout=300)
        t0 = vm.matched_at
        vm.expect(r"khib: hibernating: jumping", timeout=300)
        r["hib_jump"] = vm.matched_at - t0
        vm.expect(r"khib: writer kernel up", timeout=300)
        r["h_boot"] = vm.matched_at - t0 - r["hib_jump"]
        m = vm.expect(r"khib: image committed: .*, ([0-9.]+) s$", timeout=600)
        r["h_save"] = float(m.group(1))
        assert vm.wait_exit(timeout=300) == 0
        r["hib"] = vm.now() - t0
    r["written"] = json.loads(khib_host("inspect", "--json", mc.disk).stdout)["data_bytes"] >> 20
    with mc.boot(1) as vm:
        vm.expect(r"^N: hibernate rc=0 cycle=1$", timeout=600)
        r["first"] = vm.matched_at
        r["back"] = all_back(vm)
        r["r0"] = at(vm, r"khib: resuming 6\.")
        done = at(vm, r"printk: Suspending console|khib: jumping into the resumed kernel")
        if r["r0"] is not None and done is not None:
            r["restore"] = done - r["r0"]
        # The restore itself: the restore kernel's own figure, or the
        # stream into /dev/snapshot up to the kernel's atomic restore.
        m = vm.seen(r"khib: memory restored in [0-9.]+ s")
        if m:
            r["r_restore"] = float(re.search(r"in ([0-9.]+) s", m[0]).group(1))
        elif r.get("restore"):
            r["r_restore"] = r["restore"]
        vm.kill()
    return r, None


def swsusp(ctx, mem, cpus, load, cache):
    kernel = ctx.kernel()
    init = SWSUSP_INIT.replace("@MIB@", str(workload_mib(mem, load))) \
        .replace("@CACHE@", str(cache))
    initrd = ctx.initramfs("swsusp", init,
                           files=[(ctx.bin("khib-workload"), "bin/khib-workload")])
    disk = make_disk(ctx, (test_resume.mib(mem) + 256) << 20)
    data = ctx.path("data.img")
    with open(data, "wb") as f:
        f.truncate(16 << 20)
        f.seek(16 << 20)
        for _ in range(cache):
            f.write(os.urandom(1 << 20))
    args = dict(mem=mem, cpus=cpus, disks=[disk, data], log_dir=ctx.log_dir, deadline=900)
    append = "console=ttyS0 panic=-1 resume=/dev/vda"
    r = {}
    with VM("swsusp-1", kernel, initrd, append, **args) as vm:
        codec = vm.expect(r"^N: compressor (\S+)$", timeout=600).group(1)
        vm.expect(r"^N: hibernating$", timeout=300)
        t0 = vm.matched_at
        assert vm.wait_exit(timeout=600) == 0
        r["hib"] = vm.now() - t0
        m = [re.search(r"Wrote (\d+) kbytes", s) for s in vm.seen(r"PM: hibernation: Wrote ")]
    image = int(m[0].group(1)) >> 10 if m else -1
    with VM("swsusp-2", kernel, initrd, append, **args) as vm:
        vm.expect(r"^N: back rc=0$", timeout=600)
        r["first"] = vm.matched_at
        r["back"] = all_back(vm)
        # Printed after the signal: before or after the workload's line.
        _, line = wait_seen(vm, r"^N: swapped out -?\d+ pages$", 60)
        swapped = int(re.search(r"(-?\d+) pages$", line).group(1))
        vm.kill()
    r["written"] = image + max(swapped, 0) * 4 // 1024
    r["swapped"] = max(swapped, 0) * 4 // 1024
    return r, codec.upper()


def dd(ctx, mem, cpus, mib):
    """MiB/s that dd writes and reads with O_DIRECT (mib MiB in 4 MiB blocks),
    and copies from a tmpfs file (64 MiB, five times)."""
    n = max(1, (mib + 3) // 4)
    initrd = ctx.initramfs("dd", DD_INIT.replace("@N@", str(n))
                           .replace("@COPY_MIB@", str(COPY_MIB))
                           .replace("@COPY_PASSES@", str(COPY_PASSES)))
    disk = make_disk(ctx, (test_resume.mib(mem) + 256) << 20)
    r = {}
    with VM("dd", ctx.kernel(), initrd, "console=ttyS0 panic=-1", mem=mem, cpus=cpus,
            disks=[disk], log_dir=ctx.log_dir, deadline=600) as vm:
        for op in ("write", "read", "copy"):
            vm.expect(rf"^dd: {op} start$", timeout=300)
            t0 = vm.matched_at
            vm.expect(rf"^dd: {op} done rc=0$", timeout=300)
            mib_moved = COPY_MIB * COPY_PASSES if op == "copy" else n * 4
            r[op] = mib_moved / max(vm.matched_at - t0, 1e-3)
        assert vm.wait_exit(timeout=120) == 0
    return r


def fig(vals):
    vals = [v for v in vals if v is not None]
    if not vals:
        return "-"
    return f"{statistics.median(vals):6.2f} ({min(vals):.2f}-{max(vals):.2f})"


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--mem", default="512M,2G")
    ap.add_argument("--load", default="idle,60", help="idle, or percent of RAM")
    ap.add_argument("--cpus", default="1,2")
    ap.add_argument("--runs", type=int, default=3)
    ap.add_argument("--methods", default="snapshot,kexec,swsusp",
                    help="snapshot, kexec, swsusp; snapshot-keep, kexec-keep: with "
                    "khib hibernate --keep-caches (-drop: --drop-caches, the default)")
    ap.add_argument("--region", default="64M", metavar="SIZE",
                    help="the writer kernel's region, as the tests give it (default 64M; "
                    "'' for khib's own choice, 36 MiB on these VMs, whose 1 MiB chunks "
                    "saved slower)")
    ap.add_argument("--cache", type=int, default=0, metavar="MIB",
                    help="N reads MIB of data into its page cache before hibernating and "
                    "again after the resume (all back waits for it)")
    a = ap.parse_args()
    out = os.path.join(TOP, "build-vm", "bench")
    names = {"snapshot": "khib, /dev/snapshot", "kexec": "khib, restore kernel",
             "snapshot-drop": "khib, snapshot, drop caches",
             "kexec-drop": "khib, kexec, drop caches",
             "snapshot-keep": "khib, snapshot, keep caches",
             "kexec-keep": "khib, kexec, keep caches", "swsusp": "Linux swsusp"}
    methods = a.methods.split(",")
    print(f"bench-resume {time.strftime('%Y-%m-%d %H:%M UTC', time.gmtime())}: TCG, "
          f"{os.cpu_count()} host CPUs; {a.runs} runs per method and cell, median (min-max); "
          f"seconds, MiB; khib's region {a.region or 'its default'}")
    for mem in a.mem.split(","):
        for load in a.load.split(","):
            for cpus in map(int, a.cpus.split(",")):
                cell(out, mem, load, cpus, a.runs, methods, names, a.cache, a.region)


def cell(out, mem, load, cpus, runs, methods, names, cache, region):
    what = ("idle" if load == "idle" else f"{load}% used") + \
        (f", {cache} MiB in the page cache" if cache else "")
    print(f"\n{mem}, {what}, {cpus} vCPU{'s' if cpus > 1 else ''}")
    print(f"{'method':28} {'hibernate':>20} {'resume: first sign':>20} {'resume: all back':>20}"
          f" {'written':>8}")
    res = {m: [] for m in methods}
    codec = {}
    dds = []
    for i in range(runs):
        for m in methods:
            ctx = Context(f"{m}-{mem}-{load}-{cpus}-{i}", out)
            if m == "swsusp":
                r, codec[m] = swsusp(ctx, mem, cpus, load, cache)
            else:
                r, _ = khib_method(ctx, m, mem, cpus, load, cache, region)
            res[m].append(r)
        khib_runs = [r for m in methods if m != "swsusp" for r in res[m]]
        if khib_runs:
            mib = int(statistics.median(r["written"] for r in khib_runs))
            dds.append(dd(Context(f"dd-{mem}-{load}-{cpus}-{i}", out), mem, cpus, mib))
    for m in methods:
        rs = res[m]
        name = names[m] + (f" ({codec[m]})" if codec.get(m) else "")
        print(f"{name:28} {fig([r['hib'] for r in rs]):>20} {fig([r['first'] for r in rs]):>20}"
              f" {fig([r['back'] for r in rs]):>20} {statistics.median(r['written'] for r in rs):8.0f}")
        if m == "swsusp":
            print(f"{'':4}of which swapped out: {statistics.median(r['swapped'] for r in rs):.0f}")
        else:
            print(f"{'':4}hibernate: to the jump {fig([r['hib_jump'] for r in rs])}, writer boot "
                  f"{fig([r['h_boot'] for r in rs])}, save {fig([r['h_save'] for r in rs])}")
            print(f"{'':4}resume: QEMU start to khib resuming {fig([r['r0'] for r in rs])}, "
                  f"restore {fig([r.get('restore') for r in rs])}")
            if dds:
                dw = statistics.median(d["write"] for d in dds)
                dr = statistics.median(d["read"] for d in dds)
                dc = statistics.median(d["copy"] for d in dds)
                save = statistics.median(r["written"] / r["h_save"] for r in rs)
                rest = [r["written"] / r["r_restore"] for r in rs if r.get("r_restore")]
                rest = statistics.median(rest) if rest else float("nan")
                print(f"{'':4}MiB stored per s: save {save:.0f} = {100 * save / dw:.0f}% of dd "
                      f"O_DIRECT write ({dw:.0f}); restore {rest:.0f} = {100 * rest / dr:.0f}% "
                      f"of dd O_DIRECT read ({dr:.0f}), {100 * rest / dc:.0f}% of one guest "
                      f"CPU's memory copy ({dc:.0f})")
    sw = res.get("swsusp")
    if sw:
        base = {k: statistics.median(r[k] for r in sw) for k in ("hib", "first", "back")}
        for m in methods:
            if m == "swsusp":
                continue
            med = {k: statistics.median(r[k] for r in res[m]) for k in base}
            print(f"{names[m]:28} x swsusp: hibernate {med['hib'] / base['hib']:.2f}, first sign "
                  f"{med['first'] / base['first']:.2f}, all back {med['back'] / base['back']:.2f}")
    sys.stdout.flush()


if __name__ == "__main__":
    main()
