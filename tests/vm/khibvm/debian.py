# SPDX-License-Identifier: GPL-2.0-only
"""Debian 12 guests: a debootstrap'ed root tree, and running its own tools.

    tar = rootfs_tar("systemd,udev,...")   # cached in ~/.cache/khib
    subprocess.run(["tar", "-C", root, "-xf", tar], check=True)
    release = kernel_release(ctx.kernel()) # the bzImage's release string
    chroot(root, "update-initramfs", "-c", "-k", release)
    files = initrd_files(initrd)           # {path: bytes} of an initrd

Shared by test_debian.py (khib installed in a plain Debian) and
khibvm/debcrypt_image.py (Debian's encrypted LVM install).
"""
import contextlib
import fcntl
import glob
import gzip
import hashlib
import os
import re
import shutil
import subprocess

SUITE = "bookworm"


def cache_dir():
    """Where built images are kept between runs: KHIB_CACHE, by default
    ~/.cache/khib (kernel/build.sh uses the same)."""
    d = os.environ.get("KHIB_CACHE", os.path.expanduser("~/.cache/khib"))
    os.makedirs(d, exist_ok=True)
    return d


@contextlib.contextmanager
def cache_lock(name):
    """Hold <cache>/.lock-<name>: two runs that build the same cached file
    at once take turns, and the second finds the first one's result."""
    with open(os.path.join(cache_dir(), f".lock-{name}"), "w") as f:
        fcntl.flock(f, fcntl.LOCK_EX)
        yield


def mirror():
    """The Debian mirror apt uses here."""
    for path in glob.glob("/etc/apt/sources.list.d/*.sources"):
        with open(path) as f:
            m = re.search(r"^URIs:\s*(\S+/debian)/?\s*$", f.read(), re.M)
        if m:
            return m.group(1)
    return "http://deb.debian.org/debian"


def rootfs_tar(packages):
    """A debootstrap of Debian 12 (minbase plus packages, a comma-separated
    list as debootstrap's --include takes it), made once and cached as a
    tar keyed by the list: debootstrap takes minutes."""
    key = hashlib.sha256(f"{SUITE} minbase {packages}".encode()).hexdigest()[:16]
    tar = os.path.join(cache_dir(), f"debian-{SUITE}-{key}.tar")
    with cache_lock(f"debian-{key}"):
        if os.path.exists(tar):
            return tar
        tmp = tar + ".d"
        shutil.rmtree(tmp, ignore_errors=True)
        subprocess.run(["debootstrap", "--variant=minbase", f"--include={packages}", SUITE,
                        tmp, mirror()], check=True, capture_output=True)
        subprocess.run(["tar", "-C", tmp, "-cf", tar + ".tmp", "."], check=True)
        os.replace(tar + ".tmp", tar)
        shutil.rmtree(tmp)
    return tar


def kernel_release(bzimage):
    """The release string of a bzImage (its setup header's kernel_version)."""
    with open(bzimage, "rb") as f:
        data = f.read(0x10000)
    off = int.from_bytes(data[0x20E:0x210], "little") + 0x200
    return data[off:data.index(b"\0", off)].decode().split()[0]


def write(path, text, mode=0o644):
    """A file in the guest's tree (its directories made as needed)."""
    os.makedirs(os.path.dirname(path), exist_ok=True)
    with open(path, "w") as f:
        f.write(text)
    os.chmod(path, mode)


def enable(root, unit, target):
    """`systemctl enable` of a unit in /etc/systemd/system, for target."""
    d = os.path.join(root, "etc/systemd/system", target + ".wants")
    os.makedirs(d, exist_ok=True)
    os.symlink(f"/etc/systemd/system/{unit}", os.path.join(d, unit))


# A unit's output straight to the console the test reads, not through
# journald.
CONSOLE = """StandardOutput=tty
StandardError=tty
TTYPath=/dev/console
TTYReset=no
TTYVHangup=no
"""

# The hibernation tests' two units around a guest's /usr/local/sbin/
# khib-test: `start` once the system is up (a workload, then `systemctl
# hibernate`), `resumed` whenever a hibernation is over (systemd-hibernate.
# service, khib hibernate, returned because the machine resumed).
TEST_UNITS = {
    "khib-test.service": ("multi-user.target", """[Unit]
Description=khib test: workload, then systemctl hibernate
After=multi-user.target

[Service]
Type=simple
ExecStart=/usr/local/sbin/khib-test start
""" + CONSOLE + """
[Install]
WantedBy=multi-user.target
"""),
    "khib-test-resumed.service": ("hibernate.target", """[Unit]
Description=khib test: check the machine after the resume
After=hibernate.target

[Service]
Type=oneshot
ExecStart=/usr/local/sbin/khib-test resumed
""" + CONSOLE + """
[Install]
WantedBy=hibernate.target
"""),
}


def install_test(root, script, workload):
    """The test's script (text) as /usr/local/sbin/khib-test, the workload
    program (a host path) as /usr/local/bin/khib-workload, and TEST_UNITS,
    enabled, into a guest's tree."""
    write(os.path.join(root, "usr/local/sbin/khib-test"), script, 0o755)
    os.makedirs(os.path.join(root, "usr/local/bin"), exist_ok=True)
    shutil.copy(workload, os.path.join(root, "usr/local/bin/khib-workload"))
    for unit, (target, text) in TEST_UNITS.items():
        write(os.path.join(root, "etc/systemd/system", unit), text)
        enable(root, unit, target)


def chroot(root, *cmd):
    """Run cmd in the guest's tree with /proc, /sys and /dev mounted."""
    mounts = []
    try:
        for fs, where in (("proc", "proc"), ("sysfs", "sys"), ("devtmpfs", "dev")):
            subprocess.run(["mount", "-t", fs, fs, os.path.join(root, where)], check=True)
            mounts.append(os.path.join(root, where))
        return subprocess.run(["chroot", root, *cmd], check=True, capture_output=True,
                              text=True)
    finally:
        for m in reversed(mounts):
            subprocess.run(["umount", "-l", m], check=False)


def empty_module_tree(root, release):
    """khib's kernel has no modules: an empty module tree for depmod and
    mkinitramfs."""
    moddir = os.path.join(root, "lib/modules", release)
    os.makedirs(moddir, exist_ok=True)
    for name in ("modules.order", "modules.builtin", "modules.builtin.modinfo"):
        open(os.path.join(moddir, name), "w").close()


def initrd_files(path):
    """The files of an initramfs-tools initrd: {path: bytes} over its
    uncompressed early archives and its compressed main one (zstd or
    gzip, the last archive), later archives winning."""
    with open(path, "rb") as f:
        data = f.read()
    files = {}
    while data:
        if data.startswith(b"070701"):
            data = _cpio(data, files)
        elif data.startswith(b"\x28\xb5\x2f\xfd"):
            data = _cpio(subprocess.run(["zstd", "-dc"], input=data, capture_output=True,
                                        check=True).stdout, files)
        elif data.startswith(b"\x1f\x8b"):
            data = _cpio(gzip.decompress(data), files)
        elif data[0] == 0:
            data = data.lstrip(b"\0")
        else:
            raise ValueError(f"{path}: unknown data {data[:8]!r}")
    return files


def _cpio(data, files):
    """newc cpio members into files; what follows the trailer."""
    pos = 0
    while True:
        h = data[pos:pos + 110]
        assert h[:6] == b"070701", f"bad cpio header at {pos}"
        size, namesize = int(h[54:62], 16), int(h[94:102], 16)
        name = data[pos + 110:pos + 110 + namesize - 1].decode()
        pos = (pos + 110 + namesize + 3) & ~3
        if name == "TRAILER!!!":
            return data[pos:]
        files[name.removeprefix("./")] = data[pos:pos + size]
        pos = (pos + size + 3) & ~3


def initrd_crypttab(files):
    """The crypttab cryptsetup's hook wrote into an initrd's files."""
    return files.get("cryptroot/crypttab", b"").decode()
