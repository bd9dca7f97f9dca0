# SPDX-License-Identifier: GPL-2.0-only
"""The kexec jump round trip.

N (the kernel under test) holds state — a tmpfs file and the live workload
(a checked memory pattern, a counter, a pipe, a timer) — then `khib jump`s into a second kernel H confined to a
64 MiB region.  H checks its confinement, then `khib jump-back`s.  N must
carry on with its state intact and all its CPUs online.

roundtrip_unpatched_fails runs the same with N built without
kernel/patches: the return path must be what breaks (the machine resets
after H jumps back, before N's userspace runs again).
"""
import re

from khibvm import guest
from khibvm.qemu import VM

REGION = 64 << 20

H_INIT = r"""#!/bin/sh
mount -t proc proc /proc
mount -t sysfs sys /sys
mount -t devtmpfs dev /dev
echo "H: up"
grep "System RAM" /proc/iomem | sed 's/^/H: ram /'
/bin/khib jump-back
echo "H: jump-back failed rc=$?"
poweroff -f
"""

N_INIT = guest.n_init(
    prelude="",
    action="""report /tmp/wl $pid
/bin/khib jump --kernel /h/bzImage --initrd /h/initrd.cpio.gz \\
    --append "console=ttyS0 panic=-1 nr_cpus=1" --region-size 64M
echo "N: jump rc=$?"
""")


def build_images(ctx, kernel):
    khib = ctx.bin("khib")
    h_initrd = ctx.initramfs("h", H_INIT, files=[(khib, "bin/khib")])
    return ctx.initramfs("n", N_INIT, files=[
        (khib, "bin/khib"),
        (ctx.bin("khib-workload"), "bin/khib-workload"),
        (kernel, "h/bzImage"),
        (h_initrd, "h/initrd.cpio.gz"),
    ])


def boot_n(ctx, kernel, cpus):
    initrd = build_images(ctx, ctx.kernel())
    return VM("n", kernel, initrd, "console=ttyS0 panic=-1", mem="512M", cpus=cpus,
              log_dir=ctx.log_dir, deadline=300)


def workload(vm):
    m = vm.expect(r"^workload: passes=(\d+) errors=(\d+) counter=\d+ pipe=(\d+) ticks=\d+$",
                  timeout=120)
    assert m.group(2) == "0", f"the workload found {m.group(2)} errors"
    return int(m.group(1)), int(m.group(3))


def jump_to_h(vm, cpus):
    """Up to H's jump back: returns H's region as (start, end)."""
    m = vm.expect(r"N: up cpus=(\S+)", timeout=120)
    want = "0" if cpus == 1 else f"0-{cpus - 1}"
    assert m.group(1) == want, f"N started with CPUs {m.group(1)}, wanted {want}"
    vm.expect(r"^workload: ready, holding 96 MiB$", timeout=120)
    workload(vm)
    m = vm.expect(r"khib: jumping to .* in region (0x[0-9a-f]+)-(0x[0-9a-f]+) \(64 MiB\)")
    start, end = int(m.group(1), 16), int(m.group(2), 16)
    assert end - start == REGION
    vm.expect(r"^H: up", timeout=120)
    # H's RAM must be its low memory and its region, nothing else.
    ram = []
    while True:
        m = vm.expect(r"^(?:H: ram\s+([0-9a-f]+)-([0-9a-f]+) : System RAM|khib: returning)")
        if not m.group(1):
            break
        ram.append((int(m.group(1), 16), int(m.group(2), 16) + 1))
    assert ram, "H listed no System RAM"
    for s, e in ram:
        inside = (start <= s and e <= end) or e <= 1 << 20
        assert inside, f"H has RAM {s:#x}-{e:#x} outside its region {start:#x}-{end:#x}"
    assert any(s >= start and e <= end for s, e in ram), "H has no RAM in its region"
    return start, end


def roundtrip(cpus):
    def run(ctx):
        with boot_n(ctx, ctx.kernel(), cpus) as vm:
            jump_to_h(vm, cpus)
            vm.expect(r"khib: back in this kernel after [0-9.]+ s away", timeout=120)
            vm.expect(r"^N: jump rc=0$")
            vm.expect(r"^N: tmpfs file intact$")
            passes, pipe = workload(vm)
            assert passes > 1 and pipe > 1, "the workload did not go on after the jump"
            want = "0" if cpus == 1 else f"0-{cpus - 1}"
            vm.expect(rf"^N: cpus online {re.escape(want)}$")
            rc = vm.wait_exit(timeout=60)
            assert rc == 0, f"QEMU exited with {rc}"
    return run


def unpatched_fails(ctx):
    """Without the GDT fix, the machine dies on the way back into N."""
    with boot_n(ctx, ctx.kernel(patched=False), 1) as vm:
        jump_to_h(vm, 1)
        rc = vm.wait_exit(timeout=180)
        assert not vm.seen(r"khib: back in this kernel"), \
            "the unpatched kernel came back from the jump"
        assert not vm.seen(r"^N: jump rc="), "N's userspace ran again"
        assert rc == 0, f"QEMU exited with {rc}"


def tests():
    yield "roundtrip_1cpu", roundtrip(1)
    yield "roundtrip_2cpu", roundtrip(2)
    yield "roundtrip_unpatched_fails", unpatched_fails
