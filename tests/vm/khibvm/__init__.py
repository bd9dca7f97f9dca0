# SPDX-License-Identifier: GPL-2.0-only
"""khib's VM-test harness, shared by tests/vm/test_*.py, run.py, the demo
and bench/.

    khibvm.context    Context: what a test gets (kernels, static binaries,
                      a scratch directory, initramfs images)
    khibvm.qemu       VM: a kernel booted in QEMU, its serial console
    khibvm.console    console lines a kernel message cut in two, rejoined
                      (self-test: python3 -m khibvm.test_console)
    khibvm.guest      the normal kernel's /init for jump and hibernate tests
    khibvm.initramfs  Initramfs: a cpio builder (also a command line tool)
    khibvm.host       khib on the host (khib_host) and image disks (make_disk)
    khibvm.debian     Debian 12 guests: the debootstrap tar (cached), chroot,
                      the kernel's release, an initrd's files
    khibvm.deb        khib's Debian package (make deb) and apt-get in a
                      guest's tree
    khibvm.debcrypt   Debian installed with encrypted LVM: boot a copy of its
                      cached disk, type the passphrase at Debian's prompt,
                      payload disks, the initrd from its /boot
    khibvm.debcrypt_image  that disk: its layout, and how it is built

Import it with tests/vm on sys.path (run.py and demo.py put it there).
"""
import os

# The repository's top directory.
TOP = os.path.dirname(os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__)))))


def static_build():
    """The -Dstatic=true build directory: KHIB_BUILD_STATIC, by default
    build-static at the top."""
    return os.path.abspath(os.environ.get("KHIB_BUILD_STATIC", os.path.join(TOP, "build-static")))
