# SPDX-License-Identifier: GPL-2.0-only
"""khib's Debian package in a Debian 12 guest's tree (test_debian.py).

    deb = package()                        # make deb: build-deb/khib_*_amd64.deb
    out = apt_get(root, "install", put(root, deb))   # in the tree, as an admin would
    newer = with_version(deb, "+1", dir)   # the same package, a higher version
"""
import os
import re
import shlex
import shutil
import subprocess

from . import TOP
from .debian import chroot

_package = []


def package():
    """The .deb `make deb` builds (scripts/deb.sh: nothing is built again
    when the tree has not changed), once per process."""
    if not _package:
        r = subprocess.run(["bash", os.path.join(TOP, "scripts/deb.sh")], capture_output=True,
                           text=True)
        if r.returncode != 0:
            raise RuntimeError(f"make deb failed (exit status {r.returncode}):\n"
                               + "\n".join((r.stdout + r.stderr).splitlines()[-40:]))
        _package.append(r.stdout.strip().splitlines()[-1])
    return _package[0]


def put(root, deb):
    """A copy of deb in the tree's /tmp: its path there."""
    shutil.copy(deb, os.path.join(root, "tmp"))
    return "/tmp/" + os.path.basename(deb)


def apt_get(root, *args):
    """apt-get ARGS in the tree (with /proc, /sys and /dev), with no terminal
    to answer a question (a dpkg conffile prompt fails it) and debconf's
    noninteractive frontend: its output, stdout and stderr (where the
    maintainer scripts' notes go)."""
    cmd = ("DEBIAN_FRONTEND=noninteractive apt-get -q -y "
           + " ".join(shlex.quote(a) for a in args) + " </dev/null 2>&1")
    try:
        return chroot(root, "sh", "-c", cmd).stdout
    except subprocess.CalledProcessError as e:
        tail = "\n".join(e.stdout.splitlines()[-30:])
        raise AssertionError(f"apt-get {' '.join(args)}: exit status {e.returncode}\n{tail}")


def with_version(deb, suffix, out_dir):
    """deb again, its version + suffix (a rebuild of the same files as a
    higher version, for an upgrade): the new .deb's path."""
    tree = os.path.join(out_dir, "deb-tree")
    shutil.rmtree(tree, ignore_errors=True)
    subprocess.run(["dpkg-deb", "-R", deb, tree], check=True)
    control = os.path.join(tree, "DEBIAN/control")
    with open(control) as f:
        text = f.read()
    version = re.search(r"^Version: (\S+)$", text, re.M).group(1)
    with open(control, "w") as f:
        f.write(text.replace(f"Version: {version}\n", f"Version: {version}{suffix}\n"))
    out = os.path.join(out_dir, f"khib_{version}{suffix}_amd64.deb")
    subprocess.run(["dpkg-deb", "-Zgzip", "-b", tree, out], check=True, capture_output=True)
    shutil.rmtree(tree)
    return out
