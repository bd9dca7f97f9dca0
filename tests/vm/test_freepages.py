# SPDX-License-Identifier: GPL-2.0-only
"""Free pages: the writer kernel leaves N's free pages out of the image.

N writes random data to a tmpfs file and deletes it: those pages go back to
N's buddy allocator still holding the data, which is neither zero nor
compressible.  The writer reads N's struct pages through N's VMCOREINFO at
the instant of the jump and excludes the free ones.

  freepages_excluded  N frees 200 MiB of random data, rehearses with
                      --test --keep-free-pages (every page saved: the
                      baseline), then hibernates for real; the image
                      verifies, its excluded pages (khib inspect) are what
                      the writer said and cover at least 150 MiB, and it
                      stores at least 100 MiB less than the baseline
  freepages_resume    a full cycle (kexec restore) right after 150 MiB of
                      random data was freed: excluded in the image, and the
                      workload and data disk are intact after the resume
"""
import json
import os
import re

import test_hibernate
import test_resume
from khibvm import guest
from khibvm.host import khib_host, make_disk
from khibvm.qemu import VM

JUNK_MIB = 200

HIBERNATE = ("/bin/khib hibernate --target /dev/vda --kernel /h/bzImage "
             "--initrd /h/initrd.cpio.gz --append \"console=ttyS0 panic=-1 nr_cpus=1\" "
             "--region-size 64M --clear")


def fill_and_free(mib, indent=""):
    """Shell: write mib MiB of random data to tmpfs and delete it.  A 4 MiB
    random block repeated (reading /dev/urandom is slow under TCG) still
    does not compress: lz4 only looks 64 KiB back."""
    lines = [
        "head -c 4194304 /dev/urandom > /tmp/junk.seed",
        "i=0",
        f"while [ $i -lt {mib // 4} ]; do cat /tmp/junk.seed; i=$((i + 1)); done > /tmp/junk",
        "rm /tmp/junk /tmp/junk.seed",
        f"echo \"N: freed {mib} MiB of random data\"",
    ]
    return "".join(f"{indent}{line}\n" for line in lines)


def excluded_line(vm):
    """H's line on free pages; returns MiB excluded."""
    m = vm.expect(r"khib: (?:warning: )?free pages(.*)", timeout=120)
    x = re.match(r": (\d+) MiB excluded", m.group(1))
    assert x, f"the writer excluded no free pages: 'free pages{m.group(1)}'"
    return int(x.group(1))


def committed(vm):
    m = vm.expect(r"khib: image committed: (\d+) MiB of RAM, (\d+) MiB stored", timeout=300)
    return int(m.group(1)), int(m.group(2))


def excluded(ctx):
    n_init = guest.n_init(action=fill_and_free(JUNK_MIB) + f"""{HIBERNATE} --test --keep-free-pages
echo "N: baseline rc=$?"
{HIBERNATE}
echo "N: hibernate rc=$?"
""")
    disk = make_disk(ctx)
    kernel, initrd = test_hibernate.images(ctx, n_init)
    with VM("n", kernel, initrd, "console=ttyS0 panic=-1", mem="512M", disks=[disk],
            log_dir=ctx.log_dir, deadline=400) as vm:
        vm.expect(r"^workload: ready, holding \d+ MiB$", timeout=120)
        vm.expect(rf"^N: freed {JUNK_MIB} MiB of random data$", timeout=120)
        # The baseline: every page saved, at the user's request.
        vm.expect(r"khib: testing hibernation: jumping to the writer kernel")
        vm.expect(r"khib: free pages saved too, as the hibernating kernel asked", timeout=120)
        _, base_stored = committed(vm)
        vm.expect(r"khib: test mode: image verified and invalidated; returning", timeout=300)
        vm.expect(r"^N: baseline rc=0$", timeout=120)
        # The real one: free pages left out.
        vm.expect(r"khib: hibernating: jumping to the writer kernel")
        said = excluded_line(vm)
        saved, stored = committed(vm)
        vm.expect(r"khib: powering off", timeout=60)
        assert vm.wait_exit(timeout=120) == 0
    r = khib_host("verify", disk, check=False)
    assert r.returncode == 0, f"khib verify failed: {r.stderr.strip()}"
    info = json.loads(khib_host("inspect", "--json", disk).stdout)
    ex_mib = info["excluded_pages"] >> 8
    assert info["saved_pages"] >> 8 == saved
    assert ex_mib == said, f"inspect shows {ex_mib} MiB excluded, the writer said {said}"
    assert ex_mib >= JUNK_MIB * 3 // 4, \
        f"only {ex_mib} MiB excluded after {JUNK_MIB} MiB of random data was freed"
    # Loading the writer kernel takes about 64 MiB of the freed pages for
    # the kexec segments' sources (H's region), so not all 200 MiB stay free.
    assert stored + JUNK_MIB // 2 <= base_stored, \
        f"{stored} MiB stored with free pages excluded, {base_stored} MiB with them"
    print(f"  stored {stored} MiB with free pages excluded ({ex_mib} MiB), "
          f"{base_stored} MiB with --keep-free-pages")


def resume(ctx):
    # test_resume's machine, its hook freeing random data before each
    # hibernation, and the workload made smaller to leave room for it.
    hook = ctx.path("hook")
    with open(hook, "w") as f:
        f.write('#!/bin/sh\n[ "$1" = before ] || exit 0\n' + fill_and_free(150))
    os.chmod(hook, 0o755)
    mc = test_resume.Machine(ctx, 1, method="kexec", workload_mib=128,
                             files=[(hook, "bin/khibtest-hook")])
    with mc.boot(1) as vm:
        before = test_resume.fresh_boot_until_hibernated(vm, 1)
        assert excluded_line(vm) >= 100
        test_resume.hibernated(vm)
    with mc.boot(1) as vm:
        test_resume.resumed(vm, 1, before, 1, "kexec")
        assert vm.wait_exit(timeout=120) == 0
    assert khib_host("verify", mc.disk, check=False).returncode != 0, \
        "the image is still valid after the resume"


def tests():
    yield "freepages_excluded", excluded
    yield "freepages_resume", resume
