#!/usr/bin/env python3
# SPDX-License-Identifier: GPL-2.0-only
"""The demo: a kexec jump round trip in a QEMU VM, narrated.

A normal kernel (N) starts a workload that holds 96 MiB of patterned memory
and a file in tmpfs, jumps into a second kernel (H) confined to 64 MiB of
RAM with khib's own kexec loader, and H jumps back.  N's workload then
checks that every byte survived.  (Hibernation to disk and resume build on
exactly this jump.)
"""
import os
import re
import sys

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)

import run  # noqa: E402
import test_roundtrip  # noqa: E402
from vm import VM  # noqa: E402

KERNEL_LINES = re.compile(
    r"Linux version|Run /init|Freezing user space|Disabling non-boot|"
    r"Enabling non-boot|smpboot: CPU 1 is now|Restarting tasks|reboot: Power down")

NOTES = [
    (r"^N: up", "N, the normal kernel, is running. Its workload starts:"),
    (r"khib: jumping", "khib loaded H with kexec (preserve context) and jumps:"),
    (r"^H: up", "H booted inside its region; its view of RAM:"),
    (r"khib: back in", "N is running again, exactly where it stopped:"),
]


def show(t, text):
    kernel = text.startswith("[")
    if kernel and not KERNEL_LINES.search(text):
        return
    for rx, note in NOTES:
        if re.search(rx, text):
            print(f"\n  >>> {note}")
    print(f"  {t:6.2f}s  {'kernel: ' if kernel else ''}{text}")
    sys.stdout.flush()


def main():
    ctx = run.Context("demo", os.path.join(run.TOP, "build-vm"))
    print(__doc__)
    print("Console of the VM (kernel messages filtered; full log in "
          f"{ctx.log_dir}/n.log):")
    kernel = ctx.kernel()
    initrd = test_roundtrip.build_images(ctx, kernel)
    with VM("n", kernel, initrd, "console=ttyS0 panic=-1", mem="512M", cpus=2,
            log_dir=ctx.log_dir, deadline=300, on_line=show) as vm:
        vm.expect(r"^N: memhold rc=0$", timeout=240)
        vm.expect(r"^N: cpus online 0-1$")
        vm.wait_exit(timeout=60)
    print("\nDemo finished: the workload's memory and files survived the round trip.")


if __name__ == "__main__":
    try:
        main()
    except AssertionError as e:
        print(f"\ndemo failed: {e}")
        sys.exit(1)
