#!/usr/bin/env python3
# SPDX-License-Identifier: GPL-2.0-only
"""Build a gzip'ed newc cpio initramfs without root privileges.

The archive gets the usual directories, the device nodes a kernel wants
before devtmpfs is mounted (/dev/console, /dev/null), an /init, optional
static binaries (busybox with a link per applet), and extra files.  Output
is reproducible: fixed mtimes, sorted entries, gzip without a timestamp.

Library use:  Initramfs().add_busybox(); .add_file(src, dest); .write(path)
Command line: tests/vm/khibvm/initramfs.py -o OUT --init SCRIPT [--busybox]
                  [--file SRC:DEST]...
"""
import argparse
import gzip
import os
import stat
import subprocess
import sys

BUSYBOX = "/bin/busybox"


class Initramfs:
    def __init__(self):
        self.entries = {}  # path -> (mode, data, rdev)
        for d in ("bin", "sbin", "dev", "etc", "proc", "sys", "tmp", "run",
                  "mnt", "root", "usr", "usr/bin", "usr/sbin"):
            self.add_dir(d)
        self.add_node("dev/console", stat.S_IFCHR | 0o600, 5, 1)
        self.add_node("dev/null", stat.S_IFCHR | 0o666, 1, 3)

    def add_dir(self, path, mode=0o755):
        path = path.strip("/")
        parts = path.split("/")
        for i in range(1, len(parts)):
            parent = "/".join(parts[:i])
            if parent not in self.entries:
                self.entries[parent] = (stat.S_IFDIR | 0o755, b"", 0)
        self.entries[path] = (stat.S_IFDIR | mode, b"", 0)

    def add_node(self, path, mode, major, minor):
        self.entries[path.strip("/")] = (mode, b"", os.makedev(major, minor))

    def add_data(self, dest, data, mode=0o644):
        dest = dest.strip("/")
        if "/" in dest:
            self.add_dir(os.path.dirname(dest))
        self.entries[dest] = (stat.S_IFREG | mode, data, 0)

    def add_file(self, src, dest, mode=None):
        with open(src, "rb") as f:
            data = f.read()
        if mode is None:
            mode = os.stat(src).st_mode & 0o777
        self.add_data(dest, data, mode)

    def add_symlink(self, dest, target):
        self.entries[dest.strip("/")] = (stat.S_IFLNK | 0o777, target.encode(), 0)

    def add_busybox(self, src=BUSYBOX):
        """busybox at /bin/busybox and a link for every applet it has."""
        self.add_file(src, "bin/busybox", 0o755)
        out = subprocess.run([src, "--list-full"], check=True, capture_output=True,
                             text=True).stdout.split()
        for applet in out:
            applet = applet.strip("/")
            if applet != "bin/busybox" and applet not in self.entries:
                self.add_symlink(applet, "/bin/busybox")

    def add_init(self, script_or_path, mode=0o755):
        """/init from a string (a script) or a file path."""
        if os.path.exists(script_or_path):
            self.add_file(script_or_path, "init", mode)
        else:
            self.add_data("init", script_or_path.encode(), mode)

    def _cpio(self):
        out = bytearray()
        ino = 1

        def header(name, mode, size, rdev, ino_):
            namez = name.encode() + b"\0"
            fields = [ino_, mode, 0, 0, 1, 0, size, 0, 0,
                      os.major(rdev), os.minor(rdev), len(namez), 0]
            h = b"070701" + b"".join(b"%08X" % f for f in fields)
            rec = h + namez
            rec += b"\0" * (-len(rec) % 4)
            return rec

        for name in sorted(self.entries):
            mode, data, rdev = self.entries[name]
            out += header(name, mode, len(data), rdev, ino)
            out += data
            out += b"\0" * (-len(data) % 4)
            ino += 1
        out += header("TRAILER!!!", 0, 0, 0, 0)
        return bytes(out)

    def write(self, path, compress=True):
        data = self._cpio()
        if compress:
            data = gzip.compress(data, compresslevel=6, mtime=0)
        tmp = path + ".tmp"
        with open(tmp, "wb") as f:
            f.write(data)
        os.replace(tmp, path)
        return path


def main(argv):
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("-o", "--output", required=True)
    ap.add_argument("--init", required=True, help="script file for /init")
    ap.add_argument("--busybox", action="store_true", help="add busybox-static")
    ap.add_argument("--file", action="append", default=[], metavar="SRC:DEST")
    ap.add_argument("--no-compress", action="store_true",
                    help="a plain cpio: for the writer kernel's, which khib hibernate reads "
                    "through before every jump (gunzip took 0.4 s of it under TCG)")
    args = ap.parse_args(argv)
    ir = Initramfs()
    if args.busybox:
        ir.add_busybox()
    ir.add_init(args.init)
    for spec in args.file:
        src, _, dest = spec.partition(":")
        ir.add_file(src, dest or os.path.basename(src))
    ir.write(args.output, compress=not args.no_compress)


if __name__ == "__main__":
    main(sys.argv[1:])
