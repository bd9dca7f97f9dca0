# SPDX-License-Identifier: GPL-2.0-only
"""khib hibernate: the writer kernel saves N's memory to a virtio disk.

N runs a workload (a 96 MiB memory pattern, a tmpfs file holding a random
marker) and calls `khib hibernate`.  The writer kernel H is the same test
kernel with khib itself as /init.  N also passes H an ELF core header
(elfcorehdr=), and H reports what its /proc/vmcore offers.  The image H
writes is then checked on the host with `khib verify`, `inspect --json` and
`export-elf`.

  hibernate_test_{1,2}cpu   --test: commit, verify, invalidate, jump back;
                            N's workload is intact, the disk has no valid image
  hibernate_poweroff        the real thing: H commits and powers the VM off;
                            the image verifies, inspect says it is valid, it
                            holds N's marker, its ELF export carries N's
                            VMCOREINFO note; invalidated, inspect says not
  hibernate_abort_eio       every write fails (QEMU blkdebug): H aborts, jumps
                            back, N reports why, no image, workload intact
  hibernate_small_target    a 64 MiB disk is refused before anything happens
  hibernate_foreign_target  a disk holding an ext4 file system is refused:
                            no jump, not a byte written, workload intact
  hibernate_kernel_refuses  N booted with nohibernate: khib refuses as its
                            kernel would, and says why
  hibernate_lockdown        N locked down: kexec_load is forbidden, said so
  hibernate_memfd_secret    a process holds a memfd_secret area: refused as
                            the kernel would refuse its own hibernation
  hibernate_region_too_small a region the writer could not boot in: refused
  hibernate_kexec_disabled  kernel.kexec_load_disabled = 1: refused, named
  hibernate_drop_caches     --test after reading 128 MiB of random data
                            from a second disk: the clean page cache is
                            dropped before the jump and not saved
  hibernate_keep_caches     the same with --keep-caches: saved
  hibernate_old_image_first an older valid image on the target is gone by
                            the jump: a power cut right then (QEMU killed)
                            leaves no image to resume
"""
import hashlib
import json
import os
import re
import subprocess

from khibvm import TOP, guest
from khibvm.host import khib_host, make_disk
from khibvm.qemu import VM

MARKER = """marker=$(head -c 16 /dev/urandom | md5sum | cut -c1-32)
printf 'khib-marker-%s' "$marker" > /tmp/marker
echo "N: marker $marker"
"""

# How much of N's memory is in use (MemTotal - MemAvailable), in per mille.
MEM_USED = """used_permille() {
    awk '/^MemTotal:/ {t = $2} /^MemAvailable:/ {a = $2}
         END {printf "%d", (t - a) * 1000 / t}' /proc/meminfo
}
"""

HIBERNATE = """echo "N: memory in use $(used_permille) permille"
/bin/khib hibernate --target /dev/vda --kernel /h/bzImage --initrd /h/initrd.cpio.gz \\
    --append "console=ttyS0 panic=-1 nr_cpus=1" --region-size 64M --clear @ARGS@
echo "N: hibernate rc=$?"
"""


def n_init(args, workload_mib=96, prelude=""):
    return guest.n_init(prelude=MARKER + MEM_USED + prelude, workload_mib=workload_mib,
                        action=HIBERNATE.replace("@ARGS@", args))


def images(ctx, init):
    kernel = ctx.kernel()
    khib = ctx.bin("khib")
    # The writer kernel needs no shell: khib is its /init.
    h_initrd = ctx.initramfs("h", khib, busybox=False, compress=False)
    n_initrd = ctx.initramfs("n", init, files=[
        (khib, "bin/khib"),
        (ctx.bin("khib-workload"), "bin/khib-workload"),
        (ctx.bin("khib-secret"), "bin/khib-secret"),
        (kernel, "h/bzImage"),
        (h_initrd, "h/initrd.cpio.gz"),
    ])
    return kernel, n_initrd


def boot(ctx, args, cpus=1, disks=(), drives=(), mem="512M", workload_mib=96, prelude="",
         cmdline="", qmp=False):
    kernel, initrd = images(ctx, n_init(args, workload_mib, prelude))
    return VM("n", kernel, initrd, f"console=ttyS0 panic=-1 {cmdline}", mem=mem, cpus=cpus,
              disks=disks, drives=drives, log_dir=ctx.log_dir, deadline=400, qmp=qmp)


def workload_up(vm, cpus, timeout=120):
    m = vm.expect(r"^N: up cpus=(\S+)", timeout=120)
    assert m.group(1) == ("0" if cpus == 1 else f"0-{cpus - 1}")
    marker = vm.expect(r"^N: marker ([0-9a-f]{32})$").group(1)
    vm.expect(r"^workload: ready, holding \d+ MiB$", timeout=timeout)
    return marker


def memory_in_use(vm):
    """N's memory in use just before it hibernates, in per mille."""
    return int(vm.expect(r"^N: memory in use (\d+) permille$").group(1))


def workload_intact(vm, cpus):
    vm.expect(r"^N: tmpfs file intact$")
    m = vm.expect(r"^workload: passes=(\d+) errors=(\d+) counter=\d+ pipe=(\d+) ticks=\d+$",
                  timeout=120)
    assert m.group(2) == "0", f"the workload found {m.group(2)} errors"
    assert int(m.group(1)) > 1 and int(m.group(3)) > 1, "the workload did not go on"
    want = "0" if cpus == 1 else f"0-{cpus - 1}"
    vm.expect(rf"^N: cpus online {want}$")


def writer_saved(vm, ram_mib=512):
    """H's progress and commit lines; returns (MiB saved, MiB stored)."""
    vm.expect(r"khib: writer kernel up: saving 6\.1\.\d+", timeout=120)
    # /proc/vmcore from N's elfcorehdr=: exactly the ranges H saves, with
    # N's VMCOREINFO note.
    v = vm.expect(r"khib: (?:warning: )?/proc/vmcore: (.*)", timeout=60)
    v = re.fullmatch(r"(\d+) MiB in (\d+) ranges, with VMCOREINFO", v.group(1))
    assert v, "no /proc/vmcore with VMCOREINFO in the writer kernel"
    assert 1 <= int(v.group(2)) <= 8, f"/proc/vmcore has {v.group(2)} ranges"
    vm.expect(r"khib: saving memory: +\d+% ", timeout=120)
    m = vm.expect(r"khib: image committed: (\d+) MiB of RAM, (\d+) MiB stored", timeout=300)
    saved = int(m.group(1))
    assert ram_mib - 112 <= saved <= ram_mib, f"saved {saved} MiB of a {ram_mib} MiB machine"
    assert int(v.group(1)) == saved, f"/proc/vmcore has {v.group(1)} MiB, H saved {saved} MiB"
    assert not vm.seen(r"/proc/vmcore does not cover"), "/proc/vmcore ranges differ from saved"
    assert not vm.seen(r"no /proc/vmcore|VMCOREINFO note .* lies in"), "N built no elfcorehdr"
    return saved, int(m.group(2))


def test_mode(cpus, mem="512M", workload_mib=320):
    """--test with a workload of workload_mib MiB (a machine 95% full is
    test_fullmem.py's)."""
    ram_mib = int(mem[:-1]) << (10 if mem.endswith("G") else 0)

    def run(ctx):
        disk = make_disk(ctx, (ram_mib + 256) << 20)
        with boot(ctx, "--test", cpus=cpus, disks=[disk], mem=mem,
                  workload_mib=workload_mib) as vm:
            workload_up(vm, cpus, timeout=400)
            (line,) = vm.seen(r"^workload: ready, holding \d+ MiB$")
            assert int(line.split()[3]) == workload_mib, \
                f"the workload holds less than {workload_mib} MiB"
            memory_in_use(vm)
            vm.expect(r"khib: testing hibernation: jumping to the writer kernel")
            _, stored = writer_saved(vm, ram_mib)
            # The workload's pattern is pseudo-random: it cannot shrink.
            assert stored >= workload_mib, \
                f"{stored} MiB stored, the workload alone holds {workload_mib}"
            vm.expect(r"khib: test mode: image verified and invalidated; returning", timeout=300)
            vm.expect(r"khib: test passed: \d+ MiB saved .* verified and discarded", timeout=120)
            vm.expect(r"^N: hibernate rc=0$")
            workload_intact(vm, cpus)
            assert vm.wait_exit(timeout=120) == 0
        # The test image was discarded: it must not be resumable.
        r = khib_host("verify", disk, check=False)
        assert r.returncode != 0, "a --test image is still valid on the disk"
    return run


def poweroff(ctx):
    disk = make_disk(ctx)
    with boot(ctx, "", disks=[disk]) as vm:
        marker = workload_up(vm, 1)
        vm.expect(r"khib: hibernating: jumping to the writer kernel")
        saved, _ = writer_saved(vm)
        vm.expect(r"khib: powering off", timeout=60)
        assert vm.wait_exit(timeout=120) == 0
        assert not vm.seen(r"^N: hibernate rc="), "N ran again after hibernating"
    r = khib_host("verify", disk, check=False)
    assert r.returncode == 0, f"khib verify failed: {r.stderr.strip()}"
    info = json.loads(khib_host("inspect", "--json", disk).stdout)
    assert info["uts_release"].startswith("6.1."), "the image does not name the hibernated kernel"
    assert info["valid"] is True and info["reason"] == "", f"not valid: {info['reason']}"
    assert len(info["chunk_index"]) == info["chunks"] > 0
    # N's memory is in the image: the marker written to its tmpfs is there.
    elf = ctx.path("image.elf")
    khib_host("export-elf", disk, elf)
    with open(elf, "rb") as f:
        data = f.read()
    assert f"khib-marker-{marker}".encode() in data, "N's tmpfs marker is not in the image"
    assert len(data) >= saved << 20, "the ELF export is smaller than the memory saved"
    del data
    # binutils finds N's VMCOREINFO note in the export.  (makedumpfile is not
    # tried: with the region at the top of RAM, N's memblock allocations such
    # as mem_section lie in it, and N's content of those pages is not at
    # their addresses in the image.)
    notes = subprocess.run(["readelf", "-n", elf], capture_output=True, text=True, check=True)
    assert "VMCOREINFO" in notes.stdout, f"readelf -n shows no VMCOREINFO:\n{notes.stdout}"
    # What said valid above says not valid once the image is invalidated.
    khib_host("invalidate", disk)
    r = khib_host("inspect", "--json", disk, check=False)
    assert r.returncode == 1 and json.loads(r.stdout)["valid"] is False, r.stdout


CACHE_MIB = 128


def caches(keep):
    """The page cache of a disk of random data is in memory at the jump:
    by default khib drops it and the image holds the workload and the
    kernel, not the cache; with --keep-caches the image holds the cache."""
    def run(ctx):
        disk = make_disk(ctx)
        cache = ctx.path("cache.img")
        with open(cache, "wb") as f:
            f.write(os.urandom(CACHE_MIB << 20))
        # A block device's cache counts as Buffers in /proc/meminfo, and goes
        # with its last close: a process holds it open, as a mount would.
        prelude = ("sleep 100000 3</dev/vdb &\n"
                   f"dd if=/dev/vdb of=/dev/null bs=1M count={CACHE_MIB} 2>/dev/null\n"
                   "echo \"N: cached $(awk '/^(Buffers|Cached):/ {k += $2} END {print k}' "
                   "/proc/meminfo) kB\"\n")
        args = "--test --keep-caches" if keep else "--test"
        with boot(ctx, args, disks=[disk, cache], prelude=prelude) as vm:
            workload_up(vm, 1)
            (line,) = vm.seen(r"^N: cached \d+ kB$")
            cached = int(line.split()[2]) >> 10
            assert cached >= CACHE_MIB, f"only {cached} MiB cached after reading {CACHE_MIB} MiB"
            if not keep:
                m = vm.expect(r"khib: dropped clean caches: (\d+) MiB free now, (\d+) MiB "
                              r"before", timeout=120)
                assert int(m.group(1)) - int(m.group(2)) >= CACHE_MIB - 16, m.group(0)
            vm.expect(r"khib: testing hibernation: jumping to the writer kernel")
            _, stored = writer_saved(vm)
            # The workload holds 96 MiB; the cache CACHE_MIB of random pages.
            if keep:
                assert stored >= 96 + CACHE_MIB, f"{stored} MiB stored: the cache was dropped"
                assert not vm.seen(r"khib: dropped clean caches")
            else:
                assert stored < 96 + CACHE_MIB, f"{stored} MiB stored: the page cache was saved"
            vm.expect(r"khib: test passed: \d+ MiB saved", timeout=300)
            vm.expect(r"^N: hibernate rc=0$")
            workload_intact(vm, 1)
            assert vm.wait_exit(timeout=120) == 0
    return run


def abort_eio(ctx):
    disk = make_disk(ctx)
    cfg = ctx.path("blkdebug.conf")
    with open(cfg, "w") as f:
        f.write('[inject-error]\nevent = "pwritev"\nerrno = "5"\n')
    drive = (f"driver=blkdebug,config={cfg},image.driver=raw,"
             f"image.file.filename={disk},cache.direct=on,aio=threads")
    with boot(ctx, "", drives=[drive]) as vm:
        workload_up(vm, 1)
        vm.expect(r"khib: hibernating: jumping to the writer kernel")
        vm.expect(r"khib: hibernation aborted: .*Input/output error", timeout=180)
        m = vm.expect(r"khib: hibernation aborted in the writer kernel: (.*)", timeout=120)
        assert "Input/output error" in m.group(1)
        vm.expect(r"^N: hibernate rc=1$")
        workload_intact(vm, 1)
        assert vm.wait_exit(timeout=60) == 0
    assert khib_host("verify", disk, check=False).returncode != 0


def refused(ctx, disk, line, cmdline="", args="", prelude=""):
    """khib hibernate refuses with `line` (a pattern) before anything
    changes: no jump, the workload runs on."""
    with boot(ctx, args, disks=[disk], cmdline=cmdline, prelude=prelude) as vm:
        workload_up(vm, 1)
        m = vm.expect(line)
        vm.expect(r"^N: hibernate rc=1$")
        assert not vm.seen(r"jumping to the writer kernel")
        workload_intact(vm, 1)
        assert vm.wait_exit(timeout=60) == 0
    return m


def small_target(ctx):
    disk = make_disk(ctx, 64 << 20)
    m = refused(ctx, disk, r"khib: target '/dev/vda' holds 64 MiB; the image may need (\d+) MiB")
    assert int(m.group(1)) > 400
    with open(disk, "rb") as f:
        assert f.read() == bytes(64 << 20), "a refused target was written to"


def foreign_target(ctx):
    disk = make_disk(ctx)
    subprocess.run(["mkfs.ext4", "-q", "-F", disk], check=True)
    with open(disk, "rb") as f:
        before = hashlib.sha256(f.read(64 << 20)).hexdigest()
    refused(ctx, disk, r"khib: target '/dev/vda' holds ext4 \(filesystem\): not overwriting it "
            r"\(wipe it with wipefs, or give --force\)")
    with open(disk, "rb") as f:
        assert hashlib.sha256(f.read(64 << 20)).hexdigest() == before, \
            "a refused target was written to"


def old_image_first(ctx):
    disk = make_disk(ctx)
    # A valid image of another time (made on the host from a tiny core).
    img = ctx.path("old.img")
    core = os.path.join(TOP, "tests", "fuzz", "corpus", "elfcore", "core1")
    khib_host("import-elf", core, img)
    with open(img, "rb") as src, open(disk, "r+b") as dst:
        dst.write(src.read())
    assert khib_host("verify", disk, check=False).returncode == 0
    with boot(ctx, "", disks=[disk]) as vm:
        workload_up(vm, 1)
        # The power goes the instant N is about to jump.
        vm.expect(r"khib: hibernating: jumping to the writer kernel")
        vm.kill()
    r = khib_host("verify", disk, check=False)
    assert r.returncode != 0, "the older image was still valid when the writer started"


def kernel_refuses(ctx):
    """N booted with nohibernate: its kernel would refuse to hibernate, so
    khib does too, before anything changes."""
    disk = make_disk(ctx)
    refused(ctx, disk, r"khib: this kernel refuses its own hibernation now \('nohibernate' is "
            r"on its command line\): khib refuses too", cmdline="nohibernate")
    with open(disk, "rb") as f:
        assert not any(f.read(1 << 20)), "a refused hibernation wrote to the target"


def lockdown(ctx):
    """N locked down (lockdown=integrity, as under Secure Boot): kexec_load
    is forbidden, and khib says so in those words."""
    disk = make_disk(ctx)
    refused(ctx, disk, r"khib: the kernel is locked down \(integrity\): it forbids kexec_load, "
            r"which khib needs to start its writer kernel", cmdline="lockdown=integrity",
            prelude="mount -t securityfs securityfs /sys/kernel/security\n")
    with open(disk, "rb") as f:
        assert not any(f.read(1 << 20)), "a refused hibernation wrote to the target"


def memfd_secret(ctx):
    """A process holds a memfd_secret area: N's kernel would refuse its own
    hibernation, and so does khib, before anything changes."""
    disk = make_disk(ctx)
    refused(ctx, disk, r"khib: this kernel refuses its own hibernation now \(memfd_secret "
            r"areas are in use \(pages not even the kernel may read\)\): khib refuses too",
            cmdline="secretmem.enable=1",
            prelude="/bin/khib-secret &\nsleep 1\n")
    with open(disk, "rb") as f:
        assert not any(f.read(1 << 20)), "a refused hibernation wrote to the target"


def region_too_small(ctx):
    """A region the writer kernel could not even boot in (its OOM panic
    would never return): refused before the jump."""
    disk = make_disk(ctx)
    refused(ctx, disk, r"khib: --region-size 24M: the writer kernel '/h/bzImage' needs at least "
            r"\d+M \(\d+M to decompress and run, \d+K of initramfs, 12M to boot\)",
            args="--region-size 24M")


def kexec_disabled(ctx):
    """kernel.kexec_load_disabled = 1: said in so many words."""
    disk = make_disk(ctx)
    refused(ctx, disk, r"khib: kexec_load is disabled \(kernel.kexec_load_disabled = 1, which "
            r"stays set until the next boot\)",
            prelude="echo 1 > /proc/sys/kernel/kexec_load_disabled\n")


def tests():
    yield "hibernate_test_1cpu", test_mode(1)
    yield "hibernate_test_2cpu", test_mode(2)
    yield "hibernate_poweroff", poweroff
    yield "hibernate_abort_eio", abort_eio
    yield "hibernate_small_target", small_target
    yield "hibernate_foreign_target", foreign_target
    yield "hibernate_drop_caches", caches(keep=False)
    yield "hibernate_keep_caches", caches(keep=True)
    yield "hibernate_old_image_first", old_image_first
    yield "hibernate_kernel_refuses", kernel_refuses
    yield "hibernate_lockdown", lockdown
    yield "hibernate_memfd_secret", memfd_secret
    yield "hibernate_region_too_small", region_too_small
    yield "hibernate_kexec_disabled", kexec_disabled
