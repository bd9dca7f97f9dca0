# SPDX-License-Identifier: GPL-2.0-only
"""Images sealed to a TPM 2.0: swtpm, a real TPM emulator, attached to QEMU
(tpm-tis), the same TPM state in every boot of a machine.

N runs khib built with tpm2-tss (the dynamic build, with its libraries in
N's initramfs).  A first boot enrolls the TPM inside the machine (`khib key
enroll tpm2`: PCR 7 as SeaBIOS measured it) and prints the protector, which
the host puts into N's initramfs for the boots that follow, as the
initramfs hook would.

  tpm_cycle_kexec     hibernation seals the image key with the TPM (no
                      question); the next boot unseals it, resumes through
                      the restore kernel, the workload carries on; the image
                      copied back afterwards (a replay of its bytes) is
                      refused by the TPM's counter, and the boot goes on
  tpm_cycle_snapshot  the same cycle through /dev/snapshot
  tpm_older_image     two hibernations; the first image written back after
                      the second is refused (older than the last
                      hibernation), though its bytes are intact
"""
import fcntl
import json
import os
import re
import shutil
import subprocess

from khibvm import TOP
from khibvm.host import khib_host, with_libraries
import test_resume as tr

WORKLOAD_MIB = 64

SETUP = r"""#!/bin/sh
# khibtest.enroll: enroll the TPM, print the protector, stop.
grep -q khibtest.enroll /proc/cmdline || exit 0
if /bin/khib key enroll tpm2; then
    sed 's/^/KEYFILE: /' /etc/khib/keys/tpm2
    /bin/khib key test tpm2
fi
echo "N: enrolled"
poweroff -f
"""


def dynamic_khib():
    """khib as built with tpm2-tss, and every library it and the device
    TCTI (which tpm2-tss loads by name) need: (src, dest) pairs.  The
    build is locked: tests that run at once (run.py -j) share it."""
    with open(os.path.join(TOP, "build", ".vm-build-lock"), "a") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        subprocess.run(["bash", os.path.join(TOP, "scripts", "build.sh"), "build"], check=True)
    khib = os.path.join(TOP, "build", "tools", "khib")
    return with_libraries([khib], ["/lib/x86_64-linux-gnu/libtss2-tcti-device.so.0"], dest="bin")


def write(ctx, name, text, mode=0o644):
    path = ctx.path(name)
    with open(path, "w") as f:
        f.write(text)
    os.chmod(path, mode)
    return path


def enrolled_machine(ctx, method):
    """A machine whose TPM holds khib's key: (machine, TPM state dir)."""
    tpm = ctx.path("tpm")
    os.makedirs(tpm, exist_ok=True)
    conf = write(ctx, "guest.conf", "key-dir = /etc/khib/keys\n")
    base = dynamic_khib() + [(conf, "etc/khib.conf"),
                             (write(ctx, "setup", SETUP, 0o755), "bin/khibtest-setup")]
    mc = tr.Machine(ctx, 1, method=method, files=base, workload_mib=WORKLOAD_MIB, clear=False)
    with mc.boot(0, extra="khibtest.enroll", tpm_state=tpm) as vm:
        vm.expect(r"^N: enrolled$", timeout=240)
        assert vm.wait_exit(timeout=60) == 0
        lines = [text[len("KEYFILE: "):] for _, text in vm.lines if text.startswith("KEYFILE: ")]
        assert vm.seen(r"khib: key 'tpm2' works: the TPM unseals its key on this boot; "
                       r"replay counter 1$")
    assert any(line.startswith("auth-key = ") for line in lines), lines
    protector = write(ctx, "tpm2.key", "\n".join(lines) + "\n")
    mc = tr.Machine(ctx, 1, method=method, files=base + [(protector, "etc/khib/keys/tpm2")],
                    workload_mib=WORKLOAD_MIB, clear=False)
    return mc, tpm


def hibernate(mc, tpm):
    with mc.boot(1, tpm_state=tpm) as vm:
        before = tr.fresh_boot_until_hibernated(vm, mc.cpus)
        tr.hibernated(vm)
    info = json.loads(khib_host("inspect", "--json", mc.disk).stdout)
    assert [s["type"] for s in info["key_slots"]] == ["tpm2"], info
    return before


def refused_replay(mc, tpm):
    with mc.boot(0, tpm_state=tpm) as vm:
        m = vm.expect(r"khib: image on '/dev/vda' refused: (.*); invalidated$", timeout=240)
        assert re.search(r"the image was resumed before, or a later one was written "
                         r"\(TPM counter \d+, the image's \d+\): a replay", m.group(1)), m.group(1)
        vm.expect(r"^N: up cpus=0$")
        assert not vm.seen(r"restore kernel up|through /dev/snapshot")
        assert vm.wait_exit(timeout=60) == 0


def cycle(method):
    def run(ctx):
        mc, tpm = enrolled_machine(ctx, method)
        before = hibernate(mc, tpm)
        saved = ctx.path("image-copy.img")
        shutil.copyfile(mc.disk, saved)
        with mc.boot(1, tpm_state=tpm) as vm:
            tr.resumed(vm, 1, before, 1, method)
            assert vm.wait_exit(timeout=120) == 0
        # Written back whole, the image's bytes are as valid as before;
        # only the TPM knows it was resumed.
        shutil.copyfile(saved, mc.disk)
        assert khib_host("inspect", mc.disk, check=False).returncode == 0
        refused_replay(mc, tpm)
    return run


def older_image(ctx):
    mc, tpm = enrolled_machine(ctx, "kexec")
    hibernate(mc, tpm)
    first = ctx.path("first.img")
    shutil.copyfile(mc.disk, first)
    # The image is not resumed (khib.noresume discards it); N hibernates
    # again, and the first image comes back.
    with mc.boot(1, tpm_state=tpm, extra="khib.noresume") as vm:
        vm.expect(r"noresume on the kernel command line: image on '/dev/vda' discarded",
                  timeout=240)
        tr.fresh_boot_until_hibernated(vm, mc.cpus)
        tr.hibernated(vm)
    shutil.copyfile(first, mc.disk)
    refused_replay(mc, tpm)


def tests():
    yield "tpm_cycle_kexec", cycle("kexec")
    yield "tpm_cycle_snapshot", cycle("snapshot")
    yield "tpm_older_image", older_image
