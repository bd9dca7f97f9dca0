# SPDX-License-Identifier: GPL-2.0-only
"""khib in a real Debian 12: systemd, udev, initramfs-tools, an ext4 root.

The guest is a debootstrap of Debian 12 (minbase plus systemd, udev and
initramfs-tools; cached in ~/.cache/khib) with khib's Debian package (`make
deb`) installed by `apt-get install ./khib_*.deb` in a chroot of its tree
(booting the guest to install it would take minutes of TCG for the same
maintainer scripts: update-initramfs runs in a chroot, and systemctl there
only enables), its initramfs made by the guest's own `update-initramfs` (so
khib's hook and init-premount script are what run), and khib's own kernel
(kernel/khib.config has what Debian's userspace needs).

  debian_systemctl_hibernate   a service holds a memory pattern and a file
                               on the ext4 root, runs `systemctl hibernate`
                               (khib's drop-in for systemd-hibernate.service);
                               the writer kernel saves an encrypted image
                               (a key file enrolled with `khib key enroll`)
                               and powers off; the next boot's initramfs
                               (khib's hook copied the protector and the key
                               file) resumes; a service ordered after
                               hibernate.target finds everything intact and
                               writes to the root file system
  debian_package_purge         no VM: the package installed (the trigger
                               puts khib into the initramfs, khib-discard.
                               service enabled), a target set in /etc/khib.
                               conf and a key enrolled, upgraded to a
                               higher version (the changed conffile kept,
                               no question asked), purged: the initramfs
                               and the tree are as before the install but
                               for the user's image target and key file,
                               which purge names
"""
import json
import os
import shutil
import subprocess

from khibvm.deb import apt_get, package, put, with_version
from khibvm.debian import (chroot, empty_module_tree, initrd_files, install_test, kernel_release,
                           rootfs_tar, write)
from khibvm.guest import DEBIAN_WORKLOAD
from khibvm.host import khib_host, make_disk
from khibvm.qemu import VM

PACKAGES = "systemd,systemd-sysv,udev,kmod,initramfs-tools"
WORKLOAD_MIB = 160

# The guest's test script: `start` before hibernating, `resumed` after.
SCRIPT = "#!/bin/sh\n" + DEBIAN_WORKLOAD + r"""case "$1" in
start)
    start_workload @MIB@
    head -c 1048576 /dev/urandom > /var/tmp/before
    sha256sum /var/tmp/before > /var/tmp/before.sum
    sync
    report
    echo "T: hibernating"
    systemctl hibernate
    echo "T: systemctl hibernate rc=$?"
    # Without logind systemctl does not wait for the hibernation; and the
    # workload must outlive this script, or systemd stops it with the unit.
    # The resumed service cannot power off while its own job runs: this
    # one does, when that one is done.
    while [ ! -e /run/khib-test-done ]; do sleep 0.5; done
    systemctl poweroff
    wait
    ;;
resumed)
    echo "T: resumed"
    report
    if sha256sum -c /var/tmp/before.sum >/dev/null 2>&1; then
        echo "T: root file intact"
    fi
    if head -c 1048576 /dev/urandom > /var/tmp/after && sync &&
       [ "$(stat -c %s /var/tmp/after)" = 1048576 ]; then
        echo "T: root file system writable"
    fi
    echo "T: cpus online $(cat /sys/devices/system/cpu/online)"
    touch /run/khib-test-done
    ;;
esac
"""

KHIB_CONF = """target = /dev/vdb
region-size = 64M
append = console=ttyS0 panic=-1 nr_cpus=1
"""


def debian_tree(ctx, release):
    """A Debian 12 tree at <ctx dir>/root with khib's kernel (release) and
    Debian's own initramfs for it in its /boot, as a machine has before
    khib (update-initramfs -u finds the kernels there)."""
    root = ctx.path("root")
    os.makedirs(root)
    subprocess.run(["tar", "-C", root, "-xf", rootfs_tar(PACKAGES)], check=True)
    empty_module_tree(root, release)
    boot = os.path.join(root, "boot")
    shutil.copy(ctx.kernel(), os.path.join(boot, f"vmlinuz-{release}"))
    # mkinitramfs reads the kernel's config for the compressors it takes.
    shutil.copy(os.path.join(os.path.dirname(ctx.kernel()), ".config"),
                os.path.join(boot, f"config-{release}"))
    chroot(root, "update-initramfs", "-c", "-k", release)
    return root


def install_package(root, release):
    """apt-get install ./khib_*.deb in the tree; asserts that its trigger
    put khib into the initramfs.  apt-get's output."""
    deb = put(root, package())
    out = apt_get(root, "install", deb)
    os.unlink(os.path.join(root, deb.lstrip("/")))
    files = initrd_files(os.path.join(root, "boot", f"initrd.img-{release}"))
    assert "usr/sbin/khib" in files and "scripts/init-premount/khib" in files, \
        "installing the package did not put khib into the initramfs"
    return out


def guest(ctx):
    """Root disk image and initrd of a Debian 12 guest with khib installed."""
    kernel = ctx.kernel()
    release = kernel_release(kernel)
    root = debian_tree(ctx, release)
    install_package(root, release)
    write(os.path.join(root, "etc/khib.conf"), KHIB_CONF)
    # Images are encrypted for a key file enrolled as a user would (`khib
    # key enroll`); khib's hook puts the protector and the key file in the
    # initramfs.
    os.makedirs(os.path.join(root, "etc/khib"), exist_ok=True)
    with open(os.path.join(root, "etc/khib/key"), "wb") as f:
        f.write(os.urandom(64))
    os.chmod(os.path.join(root, "etc/khib/key"), 0o600)
    subprocess.run(["chroot", root, "/usr/sbin/khib", "key", "enroll", "key-file",
                    "/etc/khib/key"], check=True, capture_output=True)
    write(os.path.join(root, "etc/fstab"), "/dev/vda / ext4 rw,errors=remount-ro 0 1\n")
    write(os.path.join(root, "etc/hostname"), "khib-guest\n")
    install_test(root, SCRIPT.replace("@MIB@", str(WORKLOAD_MIB)), ctx.bin("khib-workload"))
    # No login prompts (the test reads the serial console), no timers: a
    # TCG machine boots slowly enough.
    for unit in ("getty.target", "timers.target"):
        os.symlink("/dev/null", os.path.join(root, "etc/systemd/system", unit))
    # What khib(8) says to do after setting the target and enrolling a key.
    chroot(root, "update-initramfs", "-u", "-k", release)
    initrd = ctx.path("initrd.img")
    shutil.copy(os.path.join(root, "boot", f"initrd.img-{release}"), initrd)
    disk = ctx.path("root.img")
    subprocess.run(["mkfs.ext4", "-q", "-F", "-L", "root", "-d", root, disk, "1G"], check=True,
                   capture_output=True)
    return kernel, initrd, disk


def workload_report(vm):
    m = vm.expect(r"workload: passes=(\d+) errors=(\d+) counter=\d+ pipe=(\d+)", timeout=120)
    assert m.group(2) == "0", f"the workload found {m.group(2)} errors"
    return int(m.group(1)), int(m.group(3))


def systemctl_hibernate(ctx):
    kernel, initrd, root_disk = guest(ctx)
    image_disk = make_disk(ctx)
    append = "root=/dev/vda rw console=ttyS0 panic=-1"

    def boot(name):
        return VM(name, kernel, initrd, append, mem="512M", cpus=2,
                  disks=[root_disk, image_disk], log_dir=ctx.log_dir, deadline=400)

    with boot("boot1") as vm:
        vm.expect(r"^workload: ready, holding \d+ MiB$", timeout=300)
        passes, pipe = workload_report(vm)
        vm.expect(r"^T: hibernating$", timeout=60)
        # N's own lines go through journald, which the jump freezes: the
        # writer kernel's come straight to the console.
        vm.expect(r"khib: writer kernel up", timeout=120)
        vm.expect(r"khib: image committed: \d+ MiB of RAM", timeout=300)
        vm.expect(r"khib: powering off", timeout=60)
        assert vm.wait_exit(timeout=120) == 0
        # systemctl waits for the hibernation only when logind does it.
        hibernate_rc = vm.seen(r"^T: systemctl hibernate rc=")
    key = ctx.path("root/etc/khib/key")
    assert khib_host("verify", "--key-file", key, image_disk, check=False).returncode == 0, \
        "no valid image"
    info = json.loads(khib_host("inspect", "--json", "--key-file", key, image_disk).stdout)
    assert info["encryption"] != "none", "the image is in clear despite the key enrolled"
    # The ext4 root went with the image, for the stale file system check the
    # resume below passes (nothing used the root in between).
    fs = info["file_systems"]
    assert [f["where"] for f in fs] == ["/"], f"file systems recorded: {fs}"
    with boot("boot2") as vm:
        # khib's init-premount script, in the initramfs update-initramfs made.
        vm.expect(r"khib: resuming 6\.1\.\d+ from '/dev/vdb'", timeout=240)
        # The two services print in either order.
        vm.expect(r"^T: resumed$", timeout=120)
        after = workload_report(vm)
        assert after[0] > passes and after[1] > pipe, "the workload did not go on"
        vm.expect(r"^T: root file intact$")
        vm.expect(r"^T: root file system writable$")
        vm.expect(r"^T: cpus online 0-1$")
        assert vm.wait_exit(timeout=120) == 0
        assert vm.seen(r"khib: resumed from the image on '/dev/vdb'"), \
            "khib hibernate did not report the resume"
        assert not vm.seen(r"Welcome to Debian"), "the second boot started Debian afresh"
        hibernate_rc += vm.seen(r"^T: systemctl hibernate rc=")
    assert hibernate_rc == ["T: systemctl hibernate rc=0"], f"systemctl hibernate: {hibernate_rc}"
    assert khib_host("verify", "--key-file", key, image_disk, check=False).returncode != 0, \
        "the image is still valid after the resume"


# What dpkg, apt and debconf keep of every package they handled, and
# /tmp: not khib's.
PACKAGE_STATE = ("var/lib/dpkg/", "var/lib/apt/", "var/cache/", "var/log/", "tmp/")
WANTS = "etc/systemd/system/sysinit.target.wants/khib-discard.service"


def tree_paths(root):
    """Every path in the tree, relative to it, but the package managers'
    own state."""
    paths = set()
    for d, dirs, files in os.walk(root):
        for name in dirs + files:
            rel = os.path.relpath(os.path.join(d, name), root)
            if not (rel + "/").startswith(PACKAGE_STATE):
                paths.add(rel)
    return paths


def package_purge(ctx):
    release = kernel_release(ctx.kernel())
    root = debian_tree(ctx, release)
    initrd = os.path.join(root, "boot", f"initrd.img-{release}")
    before, initrd_before = tree_paths(root), set(initrd_files(initrd))
    image = os.path.join(root, "var/lib/khib/image")
    try:
        out = install_package(root, release)
        assert "Processing triggers for initramfs-tools" in out, out
        assert os.path.islink(os.path.join(root, WANTS)), "khib-discard.service is not enabled"
        # The user's part: a target (a file, immutable), a key enrolled, and
        # the initramfs made again, as khib(8) says.
        os.makedirs(os.path.dirname(image))
        subprocess.run(["fallocate", "-l", "16M", image], check=True)
        subprocess.run(["chattr", "+i", image], check=True)
        conf = os.path.join(root, "etc/khib.conf")
        with open(conf) as f:
            changed = f.read() + "target = /var/lib/khib/image\n"
        write(conf, changed)
        os.makedirs(os.path.join(root, "etc/khib"))
        with open(os.path.join(root, "etc/khib/key"), "wb") as f:
            f.write(os.urandom(64))
        chroot(root, "/usr/sbin/khib", "key", "enroll", "key-file", "/etc/khib/key")
        chroot(root, "update-initramfs", "-u", "-k", release)
        assert "etc/khib/target.map" in initrd_files(initrd), "the hook put no target map"
        assert os.path.exists(os.path.join(root, "var/lib/khib/initramfs.map"))

        # An upgrade keeps the changed conffile without asking (apt_get has
        # no terminal to ask on): the package's own did not change.
        newer = with_version(package(), "+1", ctx.dir)
        out = apt_get(root, "install", put(root, newer))
        assert "Processing triggers for initramfs-tools" in out, out
        version = chroot(root, "dpkg-query", "-W", "-f", "${Version}", "khib").stdout
        assert newer.endswith(f"_{version}_amd64.deb"), f"khib {version} after the upgrade"
        with open(conf) as f:
            assert f.read() == changed, "the upgrade changed /etc/khib.conf"
        leftovers = [n for n in os.listdir(os.path.join(root, "etc")) if n.startswith("khib.conf.")]
        assert not leftovers, f"the upgrade left {leftovers}"
        assert "etc/khib/target.map" in initrd_files(initrd), "the upgrade lost the target map"
        assert os.path.islink(os.path.join(root, WANTS)), "the upgrade disabled khib-discard"

        out = apt_get(root, "purge", "khib")
        assert "Processing triggers for initramfs-tools" in out, out
        assert set(initrd_files(initrd)) == initrd_before, \
            f"the initramfs after the purge: {sorted(set(initrd_files(initrd)) ^ initrd_before)}"
        left = tree_paths(root) - before
        assert left == {"var/lib/khib", "var/lib/khib/image", "etc/khib", "etc/khib/key"}, \
            f"left after the purge: {sorted(left)}"
        gone = before - tree_paths(root)
        assert not gone, f"gone after the purge: {sorted(gone)}"
        # Purge says what it left, and how to delete the immutable target.
        assert "chattr -i /var/lib/khib/image && rm /var/lib/khib/image" in out, out
        assert "left in place: /etc/khib/key," in out, out
    finally:
        subprocess.run(["chattr", "-i", image], check=False, capture_output=True)
    shutil.rmtree(root)
    os.unlink(newer)


def tests():
    yield "debian_systemctl_hibernate", systemctl_hibernate
    yield "debian_package_purge", package_purge
