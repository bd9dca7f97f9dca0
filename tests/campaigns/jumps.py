#!/usr/bin/env python3
# SPDX-License-Identifier: GPL-2.0-only
"""Many kexec-jump round trips in one running machine, for what is rare.

A hibernation is one jump there (and, after an abort or a --test, one
back); the VM tests make a few dozen of them per run.  A fault that shows
once in hundreds of jumps (a hang seen twice in CI, in N's jump right after
"Disabling non-boot CPUs ...", both vCPUs idle) needs many more.  Here N
(512 MiB, 2 vCPUs, nokaslr, the live workload of test_roundtrip holding 96
MiB) `khib jump`s --jumps times into test_roundtrip's H, which checks
nothing and jumps back at once.  Each round trip is a tally row: RESUMED
when N came back, its workload went on and all CPUs are online again;
HUNG when no line came within the deadline: the harness then writes the
registers and local APICs of both vCPUs, three samples a second apart, to
<out>/jumps/n.hang, and N's jiffies (its System.map: nokaslr), to tell a
stopped clock from a lost wake-up.  A hang ends the campaign.  --stack:
N also keeps writing to ext4 on dm-crypt all along (the hang was seen
twice, both times in stack_file_kexec; a kexec jump freezes user
processes but not kernel threads such as jbd2 and kcryptd's workers).
--hibernate: each round trip is a whole `khib hibernate --test` to a
second disk (checks, cache drop, the writer saving N for seconds, the jump
back), as the hibernations of the VM tests are.

    tests/campaigns/jumps.py [--jumps 200] [--stack] [--hibernate]
"""
import argparse
import os
import re
import sys
import time

from tally import Tally, RESUMED, PARTIAL, HUNG  # also puts tests/vm on sys.path

from khibvm import TOP
from khibvm.context import Context
from khibvm.host import make_disk, with_libraries
from khibvm.qemu import VM, VMError
import test_roundtrip as rt

CPUS = 2
N_INIT = r"""#!/bin/sh
mount -t proc proc /proc
mount -t sysfs sys /sys
mount -t devtmpfs dev /dev
mount -t tmpfs tmp /tmp
echo "N: up cpus=$(cat /sys/devices/system/cpu/online)"
mkdir /tmp/wl
/bin/khib-workload 96 /tmp/wl &
pid=$!
while [ ! -e /tmp/wl/ready ]; do usleep 100000; done
if grep -q khibtest.stack /proc/cmdline; then
    # ext4 on dm-crypt, written all along (jbd2 and kcryptd are not frozen
    # by a kexec jump, only user processes are).
    /host/cryptsetup luksFormat -q --type luks2 --pbkdf pbkdf2 --pbkdf-force-iterations 1000 \
        --key-file /etc/luks.key /dev/vda &&
        /host/cryptsetup open --key-file /etc/luks.key /dev/vda crypt &&
        /host/mke2fs -q -t ext4 /dev/mapper/crypt && mkdir -p /mnt && mount /dev/mapper/crypt /mnt &&
        echo "N: stack ready"
    (while :; do dd if=/dev/urandom of=/mnt/f bs=1M count=4 conv=fsync 2>/dev/null; done) &
fi
n=$(sed -n 's/.*khibtest.jumps=\([0-9]*\).*/\1/p' /proc/cmdline)
i=1
while [ $i -le $n ]; do
    if grep -q khibtest.hibernate /proc/cmdline; then
        # The whole of khib hibernate --test: checks, cache drop, the jump,
        # the writer saving memory to the second disk, the jump back.
        /bin/khib hibernate --test --target /dev/vdb --clear --kernel /h/bzImage \
            --initrd /h/w.cpio --append "console=ttyS0 panic=-1 nr_cpus=1" >/tmp/jump.out 2>&1
        rc=$?
        grep -q "khib: test passed" /tmp/jump.out || cat /tmp/jump.out
    else
        /bin/khib jump --kernel /h/bzImage --initrd /h/initrd.cpio.gz \
            --append "console=ttyS0 panic=-1 nr_cpus=1" --region-size 64M >/tmp/jump.out 2>&1
        rc=$?
        grep -q "khib: back in this kernel" /tmp/jump.out || cat /tmp/jump.out
    fi
    kill -0 $pid 2>/dev/null && wl=alive || wl=gone
    echo "N: jump $i rc=$rc cpus=$(cat /sys/devices/system/cpu/online) workload=$wl"
    i=$((i + 1))
done
poweroff -f
"""


def symbol(system_map, name):
    with open(system_map) as f:
        for line in f:
            addr, _, sym = line.split()
            if sym == name:
                return int(addr, 16)
    raise KeyError(name)


def jiffies(vm, addr):
    """N's jiffies, read through the monitor; None if it does not answer."""
    try:
        out = vm.hmp(f"x /1gx {addr:#x}")
    except Exception:  # noqa: BLE001 - a diagnosis, best effort
        return None
    m = re.search(r":\s*0x([0-9a-f]+)", out)
    return int(m.group(1), 16) if m else None


def main(argv):
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--jumps", type=int, default=200)
    ap.add_argument("--hibernate", action="store_true",
                    help="each round trip is a whole `khib hibernate --test` (the writer saves "
                    "N to a second disk), not a bare jump")
    ap.add_argument("--stack", action="store_true",
                    help="N keeps writing to ext4 on dm-crypt all along (as stack_file_kexec's N, "
                    "where the hang was seen)")
    args = ap.parse_args(argv)
    out_dir = os.path.abspath(os.environ.get("KHIB_VM_OUT", os.path.join(TOP, "build-vm")))
    name = "jumps" + ("-hibernate" if args.hibernate else "") + ("-stack" if args.stack else "")
    ctx = Context(name, out_dir)
    kernel = ctx.kernel()
    system_map = os.path.join(os.path.dirname(kernel), "System.map")
    khib = ctx.bin("khib")
    h_initrd = ctx.initramfs("h", rt.H_INIT, files=[(khib, "bin/khib")])
    files = [
        (khib, "bin/khib"),
        (ctx.bin("khib-workload"), "bin/khib-workload"),
        (kernel, "h/bzImage"),
        (h_initrd, "h/initrd.cpio.gz"),
    ]
    disks = []
    if args.stack or args.hibernate:
        disks = [make_disk(ctx, 256 << 20)]
    if args.hibernate:
        w_initrd = ctx.initramfs("w", khib, busybox=False, compress=False)
        files.append((w_initrd, "h/w.cpio"))
        disks.append(ctx.path("target.img"))
        with open(disks[-1], "wb") as f:
            f.truncate(1 << 30)
    if args.stack:
        files += with_libraries(["/usr/sbin/cryptsetup", "/sbin/mke2fs"])
        with open(ctx.path("luks.key"), "wb") as f:
            f.write(os.urandom(64))
        files.append((ctx.path("luks.key"), "etc/luks.key"))
    initrd = ctx.initramfs("n", N_INIT, files=files)
    tally = Tally(name)
    append = f"console=ttyS0 no_console_suspend panic=-1 nokaslr khibtest.jumps={args.jumps}" + \
        (" khibtest.stack" if args.stack else "") + (" khibtest.hibernate" if args.hibernate else "")
    with VM("n", kernel, initrd, append, mem="512M", cpus=CPUS, disks=disks,
            log_dir=ctx.log_dir, deadline=120 + 60 * args.jumps) as vm:
        vm.expect(rf"^N: up cpus=0-{CPUS - 1}$", timeout=120)
        if args.stack:
            vm.expect(r"^N: stack ready$", timeout=240)
        for i in range(1, args.jumps + 1):
            t0 = time.monotonic()
            try:
                m = vm.expect(rf"^N: jump {i} rc=(\d+) cpus=(\S+) workload=(\w+)$", timeout=240)
            except VMError as e:
                detail = str(e).splitlines()[0]
                if os.path.exists(system_map):
                    addr = symbol(system_map, "jiffies_64")
                    samples = []
                    for _ in range(3):
                        samples.append(jiffies(vm, addr))
                        time.sleep(1)
                    detail += f"; N's jiffies a second apart: {samples}"
                tally.add(f"jump{i:03d}", HUNG, detail, expect=(RESUMED,))
                print(str(e))
                break
            ok = m.group(1) == "0" and m.group(2) == f"0-{CPUS - 1}" and m.group(3) == "alive"
            tally.add(f"jump{i:03d}", RESUMED if ok else PARTIAL,
                      f"{time.monotonic() - t0:.1f} s" + ("" if ok else f": {m.group(0)}"),
                      expect=(RESUMED,))
            if not ok:
                break
    return tally.summary()


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
