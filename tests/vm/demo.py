#!/usr/bin/env python3
# SPDX-License-Identifier: GPL-2.0-only
"""The demo: hibernate a VM running a live workload, power it off, boot it
again, type the passphrase, and watch the workload carry on.

The VM (2 CPUs, 512 MiB) runs a workload that keeps 320 MiB of memory in a
pattern it checks continuously, a counter in a tmpfs file, a pipe between
two processes and a timer.  `khib hibernate` jumps into khib's small writer
kernel, which saves all of memory to a virtual disk and powers the VM off.
A new QEMU process boots the same disks: the initramfs finds the image,
starts the restore kernel, which writes the memory back and jumps into the
hibernated kernel — and the workload goes on where it was.

The image is encrypted: a passphrase was enrolled (`khib key enroll
passphrase`), so hibernation seals the image's key to its public half
without a question, and the second boot asks for the passphrase on the
console.  The demo types it, as you would.
"""
import json
import os
import re
import sys
import time

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)

import test_crypt  # noqa: E402
import test_resume  # noqa: E402
from khibvm import TOP  # noqa: E402
from khibvm.context import Context  # noqa: E402
from khibvm.host import khib_host  # noqa: E402

KERNEL_LINES = re.compile(
    r"Run /init|Disabling non-boot|Enabling non-boot|smpboot: CPU 1 is now|"
    r"Restarting tasks|reboot: Power down|Linux version")

NOTES = [
    (r"^R0: resume rc=0", "No image on the disk: a normal boot. The workload starts:"),
    (r"^N: hibernating", "Now `khib hibernate --target /dev/vda`:"),
    (r"khib: writer kernel up", "The writer kernel runs in 64 MiB of its own and saves the rest:"),
    (r"locked with the passphrase", "The initramfs found an encrypted image; it asks for the\n"
     "      passphrase (typed now by the demo; nothing is echoed):"),
    (r"khib: resuming", "The passphrase opened the image; khib's restore kernel starts\n"
     "      (--method=kexec; by default khib can also hand the image to the kernel's\n"
     "      own /dev/snapshot and boot no second kernel):"),
    (r"khib: resumed from", "The hibernated kernel runs again; `khib hibernate` returns:"),
]


def show(t, text):
    kernel = text.startswith("[")
    if kernel and not KERNEL_LINES.search(text):
        return
    if kernel and "Linux version" in text:
        text = "[kernel] Linux " + text.split("Linux version ")[1].split(" ")[0] + " booting"
    for rx, note in NOTES:
        if re.search(rx, text):
            print(f"\n  >>> {note}")
    print(f"  {t:6.2f}s  {text}")
    sys.stdout.flush()


def main():
    ctx = Context("demo", os.path.join(TOP, "build-vm"))
    print(__doc__)
    print(f"Console of the VM (most kernel messages left out; full logs in {ctx.log_dir}):")
    mc = test_crypt.passphrase_machine(ctx, "kexec", cpus=2, workload_mib=320)
    t0 = time.monotonic()
    print("\n=== First boot")
    with mc.boot(1) as vm:
        vm.on_line = show
        before = test_resume.fresh_boot_until_hibernated(vm, 2)
        test_resume.hibernated(vm)
    info = json.loads(khib_host("inspect", "--json", mc.disk).stdout)
    print(f"\n=== The VM is off (QEMU exited). On its disk, `khib inspect` (no key) finds a "
          f"{'valid' if info['valid'] else 'INVALID'} image: {info['saved_pages'] >> 8} MiB "
          f"of RAM saved, {info['data_bytes'] >> 20} MiB written, encrypted with "
          f"{info['encryption']} for {len(info['key_slots'])} key (a "
          f"{info['key_slots'][0]['type']} slot); none of its memory is readable without "
          "the passphrase")
    print("\n=== Second boot, same disks")
    with mc.boot(1, console_input=True) as vm:
        vm.on_line = show
        test_crypt.type_passphrase(vm, test_crypt.PASSPHRASE, 1)
        after = test_resume.resumed(vm, 1, before, 2)
        vm.wait_exit(timeout=120)
    print(f"\nDemo finished in {time.monotonic() - t0:.0f} s: the workload made "
          f"{before['passes']} passes over its memory before hibernation and "
          f"{after['passes']} in all, with {after['errors']} errors; its pipe and timer "
          "kept going, and the image was used up by the resume.")


if __name__ == "__main__":
    try:
        main()
    except AssertionError as e:
        print(f"\ndemo failed: {e}")
        sys.exit(1)
