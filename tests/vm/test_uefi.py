# SPDX-License-Identifier: GPL-2.0-only
"""The full cycle of test_resume.py with N booted by UEFI firmware (OVMF):
the firmware starts N's kernel through its EFI stub, N uses the firmware's
runtime services, and the firmware memory map comes from the EFI memory
map.  Each machine keeps its own variable store across its boots.

Before it hibernates N writes an EFI variable through efivarfs; after the
resume it reads that one back, writes a second and reads it: the runtime
services work in the resumed kernel (the firmware of this boot, entered
through N's own mappings).  On the host both variables must then be in the
machine's variable store.  N's clock, read right after the resume, must
agree with the host's: it was put forward by the time the machine was off.

  uefi_cycle_kexec     2 vCPUs, 512 MiB, resumed by the restore kernel
  uefi_cycle_snapshot  the same through /dev/snapshot
  uefi_direct_boot     no normal boot: OVMF starts a restore kernel built to
                       run at the region; the ordinary kernel started that
                       way lands elsewhere and is refused, the image valid
"""
import json
import os
import re
import time

from khibvm.host import khib_host
import test_resume as tr

# A vendor GUID of khib's tests for the variables N writes.
GUID = "6b686962-7465-7374-8000-0000000000ef"

HOOK = r"""#!/bin/sh
# khibtest-hook before|after CYCLE (test_resume.py's N): EFI variables
# through efivarfs, and the clock.
V=/sys/firmware/efi/efivars
grep -q " $V efivarfs " /proc/mounts || mount -t efivarfs none $V || echo "N: efivarfs NOT MOUNTED"
# An efivarfs file: a 4-byte attribute word (0x07: non-volatile, boot
# and runtime access), then the data; written in one write().
setvar() {
    printf '\007\000\000\000%s' "$2" > /tmp/efivar
    if dd if=/tmp/efivar of="$V/$1-@GUID@" bs=4096 2>/dev/null; then
        echo "N: efivar $1 written $2"
    else
        echo "N: efivar $1 NOT WRITTEN"
    fi
}
getvar() {
    f="$V/$1-@GUID@"
    attrs=$(head -c 4 "$f" | od -An -tx1 | tr -d ' \n')
    echo "N: efivar $1 read attrs=$attrs value=$(tail -c +5 "$f")"
}
nonce() { head -c 8 /dev/urandom | od -An -tx1 | tr -d ' \n'; }
case "$1" in
before)
    setvar KhibBefore "c$2-$(nonce)"
    ;;
after)
    echo "N: clock $(date +%s)"
    getvar KhibBefore
    setvar KhibAfter "c$2-$(nonce)"
    getvar KhibAfter
    ;;
esac
""".replace("@GUID@", GUID)

# How far N's clock may be from the host's, in seconds: the kernel reads
# the RTC in whole seconds, `date +%s` truncates, and the line takes a
# moment to come out (1.3 to 2.0 s behind in the runs so far).
CLOCK_SLACK = 4


def hook(ctx):
    path = ctx.path("hook")
    with open(path, "w") as f:
        f.write(HOOK)
    os.chmod(path, 0o755)
    return (path, "bin/khibtest-hook")


def efivar_written(vm, name, line=None):
    """The value N wrote to the variable name (from its line, else the
    next one about it)."""
    line = line or vm.expect(rf"^N: efivar {name} (written|NOT WRITTEN).*$").group(0)
    m = re.match(rf"^N: efivar {name} written (\S+)$", line)
    assert m, line
    return m.group(1)


def efivar_read(vm, name, value):
    m = vm.expect(rf"^N: efivar {name} read attrs=(\w*) value=(.*)$")
    assert m.group(1) == "07000000", f"{name}: attributes {m.group(1)!r}, wrote 07000000"
    assert m.group(2) == value, f"{name}: read {m.group(2)!r}, wrote {value!r}"


def in_store(path, value):
    """The variable store (the pflash file) holds value as data."""
    with open(path, "rb") as f:
        return value.encode() in f.read()


def hibernated_with_variable(vm, mc):
    """The first boot: N wrote KhibBefore and hibernated; its value."""
    before = tr.fresh_boot_until_hibernated(vm, 2)
    assert vm.seen(r"efi: EFI v[0-9.]+ by EDK II"), "N was not booted by OVMF"
    # Written before the workload's report, which the line above waited for.
    lines = vm.seen(r"^N: efivar KhibBefore (written|NOT WRITTEN)")
    assert lines, "N did not write KhibBefore"
    value = efivar_written(vm, "KhibBefore", lines[-1])
    tr.hibernated(vm)
    assert in_store(mc.efi_vars, value), "the variable N wrote is not in the store"
    # Off long enough that a clock left where it stopped would be caught.
    time.sleep(2 * CLOCK_SLACK)
    return before, value


def firmware_services_back(vm, mc, value):
    """After the resume (test_resume.resumed() checked the rest): N's clock
    agrees with the host's, and N reads the variable it wrote before and
    writes and reads another; both are in the store once it powered off."""
    off = float(vm.seen(r"the machine was off for ([0-9.]+) s")[-1].split()[-2])
    m = vm.expect(r"^N: clock (\d+)$")
    host = time.time() - (vm.now() - vm.matched_at)
    assert abs(int(m.group(1)) - host) <= CLOCK_SLACK, \
        f"N's clock says {m.group(1)}, the host's {host:.1f} (off for {off} s)"
    # Had the clock not been put forward, it would be behind by the time
    # off: more than the slack.
    assert off > 2 * CLOCK_SLACK, f"off for only {off} s: the clock check proves nothing"
    efivar_read(vm, "KhibBefore", value)
    after = efivar_written(vm, "KhibAfter")
    efivar_read(vm, "KhibAfter", after)
    assert not vm.seen(r"(?i)efi.*(runtime services.*disabled|disabled.*runtime)")
    assert vm.wait_exit(timeout=120) == 0
    assert in_store(mc.efi_vars, after), "the variable the resumed N wrote is not in the store"


def cycle(method):
    def run(ctx):
        mc = tr.Machine(ctx, 2, method=method, files=[hook(ctx)], uefi=True)
        with mc.boot(1) as vm:
            before, value = hibernated_with_variable(vm, mc)
        with mc.boot(1) as vm:
            tr.resumed(vm, 1, before, 2, method, mc.img_re)
            firmware_services_back(vm, mc, value)
        assert khib_host("verify", mc.disk, check=False).returncode != 0, \
            "the image is still valid after the resume"
    return run


# A region of 64 MiB where khib hibernate puts one itself on this machine
# (N booted without KASLR): the highest 2 MiB-aligned run of RAM, which ends
# below OVMF's runtime regions at 0x1ea8a000 in a 512 MiB q35 guest.
DIRECT_REGION = 0x1aa00000


def direct_boot(ctx):
    """OVMF starts the restore kernel built to run at the region through its
    EFI stub, which decompresses it at the lowest free 2 MiB slot at or
    above CONFIG_PHYSICAL_START (nokaslr and memmap= leave the stub no
    randomness): at the region's start, which OVMF leaves free.  The
    ordinary kernel started that way lands at or above 16 MiB (0x1600000:
    OVMF holds 16 to 22 MiB while it boots), in N's memory: refused, the
    image stays valid."""
    region = DIRECT_REGION
    mc = tr.Machine(ctx, 2, hibargs=f"--region-start {region:#x}", files=[hook(ctx)],
                    uefi=True)
    restore_kernel = ctx.kernel(physical_start=region)
    h_initrd = ctx.path("h.cpio")  # khib as /init, built by tr.images()
    with mc.boot(1, extra="nokaslr") as vm:
        before, value = hibernated_with_variable(vm, mc)
    info = json.loads(khib_host("inspect", "--json", mc.disk).stdout)
    got = (info["region_start"], info["region_size"])
    assert got == (region, tr.REGION_SIZE), f"the image's region is {got[0]:#x} + {got[1]:#x}"
    append = tr.direct_boot_append(info)
    tr.misplaced_kernel_refused(mc, h_initrd, append)
    with mc.boot(1, kernel=restore_kernel, initrd=h_initrd, append=append) as vm:
        tr.direct_restore_resumed(vm)
        vm.expect(r"^N: hibernate rc=0 cycle=1$")
        after = tr.workload_report(vm)
        assert after["passes"] > before["passes"]
        vm.expect(r"^N: data disk intact cycle=1$")
        vm.expect(r"^N: data disk writable cycle=1$")
        vm.expect(r"^N: cpus online 0-1$")
        firmware_services_back(vm, mc, value)
    assert khib_host("verify", mc.disk, check=False).returncode != 0


def tests():
    yield "uefi_cycle_kexec", cycle("kexec")
    yield "uefi_cycle_snapshot", cycle("snapshot")
    yield "uefi_direct_boot", direct_boot
