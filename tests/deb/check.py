#!/usr/bin/env python3
# SPDX-License-Identifier: GPL-2.0-only
"""The Debian package against scripts/install.sh, without a VM:

    python3 tests/deb/check.py        (scripts/test.sh's tier "deb")

`make deb` builds the package; the .deb must hold every file
`scripts/install.sh --destdir` installs, with its mode (the units in
/lib/systemd/system, the same directory on a merged /usr; the man page
compressed), the files copied as they are byte for byte, and nothing else
but its copyright, changelog and lintian overrides; /etc/khib.conf is its
only conffile; its postinst enables khib-discard.service (the symlink
install.sh makes) and it activates update-initramfs; the writer
initramfs's /init is the package's (stripped) khib; lintian finds no
error.  The package in a Debian tree: tests/vm/test_debian.py.  Prints
"N passed, N failed".
"""
import os
import re
import stat
import subprocess
import sys
import tempfile

TOP = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
sys.path.insert(0, os.path.join(TOP, "tests/vm"))
from khibvm.debian import initrd_files  # noqa: E402 (after the path)
WANTS = "etc/systemd/system/sysinit.target.wants/khib-discard.service"
# What debhelper adds.
DEBIAN_ONLY = {"usr/share/doc/khib/copyright", "usr/share/doc/khib/changelog.gz",
               "usr/share/lintian/overrides/khib"}
# Built in the package's own copy of the tree (khib is stripped there too).
BUILT = {"usr/sbin/khib", "usr/lib/khib/initrd.img"}

passed = failed = 0


def check(ok, what, detail=""):
    global passed, failed
    print(f"{'ok  ' if ok else 'FAIL'} {what}" + (f": {detail}" if detail and not ok else ""))
    if ok:
        passed += 1
    else:
        failed += 1


def run(*cmd):
    """cmd's output; if it fails, what it said, and the closing line."""
    r = subprocess.run(cmd, capture_output=True, text=True)
    if r.returncode != 0:
        print(r.stdout + r.stderr, end="")
        print(f"FAIL {' '.join(cmd)}: exit status {r.returncode}")
        print(f"{passed} passed, {failed + 1} failed")
        sys.exit(1)
    return r.stdout


def in_package(path):
    """Where install.sh's path is in the package."""
    path = re.sub(r"^usr/lib/systemd/", "lib/systemd/", path)
    return path + ".gz" if path.startswith("usr/share/man/") else path


def tree(root):
    """{path: mode} of the files and symlinks under root."""
    found = {}
    for d, _, files in os.walk(root):
        for name in files:
            p = os.path.join(d, name)
            found[os.path.relpath(p, root)] = os.lstat(p).st_mode
    return found


def main():
    deb = run("bash", os.path.join(TOP, "scripts/deb.sh")).strip().splitlines()[-1]
    print(f"package: {os.path.relpath(deb, TOP)}")
    with tempfile.TemporaryDirectory(prefix="khib-deb-") as tmp:
        installed = os.path.join(tmp, "install")
        run("bash", os.path.join(TOP, "scripts/install.sh"), "--destdir", installed)
        extracted = os.path.join(tmp, "deb")
        run("dpkg-deb", "-x", deb, extracted)
        control = os.path.join(tmp, "control")
        run("dpkg-deb", "-e", deb, control)
        want, have = tree(installed), tree(extracted)

        check(stat.S_ISLNK(want.pop(WANTS, 0)), "install.sh enables khib-discard.service")
        missing = sorted(p for p in want if in_package(p) not in have)
        check(not missing, "the package has every file install.sh installs", missing)
        extra = sorted(set(have) - {in_package(p) for p in want} - DEBIAN_ONLY)
        check(not extra, "the package has nothing else", extra)
        modes = sorted(p for p in want if in_package(p) in have and
                       stat.S_IMODE(want[p]) != stat.S_IMODE(have[in_package(p)]))
        check(not modes, "with the same modes", modes)
        differ = []
        for p in want:
            if p in BUILT or in_package(p) != p or p not in have:
                continue
            with open(os.path.join(installed, p), "rb") as a, \
                    open(os.path.join(extracted, p), "rb") as b:
                if a.read() != b.read():
                    differ.append(p)
        check(not differ, "the files install.sh copies are the same", sorted(differ))

        # The writer kernel's /init is the package's khib, byte for byte:
        # khib check and khib hibernate compare them.
        files = initrd_files(os.path.join(extracted, "usr/lib/khib/initrd.img"))
        with open(os.path.join(extracted, "usr/sbin/khib"), "rb") as f:
            khib = f.read()
        check(files.get("init") == khib, "the writer initramfs's /init is the package's khib")

        with open(os.path.join(control, "conffiles")) as f:
            conffiles = f.read().split()
        check(conffiles == ["/etc/khib.conf"], "/etc/khib.conf is the only conffile",
              conffiles)
        with open(os.path.join(control, "postinst")) as f:
            postinst = f.read()
        check("deb-systemd-helper enable 'khib-discard.service'" in postinst,
              "postinst enables khib-discard.service")
        with open(os.path.join(control, "triggers")) as f:
            triggers = [line.strip() for line in f if not line.startswith("#")]
        check(triggers == ["activate-noawait update-initramfs"],
              "the package activates update-initramfs", triggers)

    # Exit status 2: an error tag; 1: lintian did not run.  (It leaves
    # files in TMPDIR: one of ours, removed after.)
    with tempfile.TemporaryDirectory(prefix="khib-lintian-") as tmp:
        r = subprocess.run(["lintian", "--pedantic", "--fail-on", "error", deb],
                           capture_output=True, text=True, env=dict(os.environ, TMPDIR=tmp))
    print(r.stdout + r.stderr, end="")
    errors = [line for line in r.stdout.splitlines() if line.startswith("E:")]
    check(r.returncode == 0 and not errors, "lintian reports no error",
          errors or f"exit status {r.returncode}")
    print(f"{passed} passed, {failed} failed")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
