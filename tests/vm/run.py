#!/usr/bin/env python3
# SPDX-License-Identifier: GPL-2.0-only
"""Run khib's VM tests: real kernels booted in QEMU.

    tests/vm/run.py                  every test
    tests/vm/run.py roundtrip_2cpu   one test by name (or several)
    tests/vm/run.py --list           the names

Tests live in tests/vm/test_*.py; each module has a function tests() that
yields (name, function) pairs, and each function takes a Context.  Prints
"ok"/"FAIL" per test and closes with "N passed, N failed".

Environment: KHIB_BUILD_STATIC (default build-static) holds the static khib
and guest binaries; KHIB_VM_OUT (default build-vm) gets logs and images.
"""
import argparse
import glob
import importlib.util
import os
import shutil
import subprocess
import sys
import time
import traceback

HERE = os.path.dirname(os.path.abspath(__file__))
TOP = os.path.dirname(os.path.dirname(HERE))
sys.path.insert(0, HERE)

from initramfs import Initramfs  # noqa: E402


class Context:
    """What a test needs: kernels, static binaries, a scratch directory."""

    def __init__(self, name, out_dir):
        self.name = name
        self.build = os.path.abspath(os.environ.get("KHIB_BUILD_STATIC",
                                                    os.path.join(TOP, "build-static")))
        self.dir = os.path.join(out_dir, name)
        shutil.rmtree(self.dir, ignore_errors=True)
        os.makedirs(self.dir)
        self.log_dir = self.dir

    def kernel(self, patched=True, physical_start=None):
        args = [os.path.join(TOP, "kernel", "build.sh")]
        if not patched:
            args.append("--without-patches")
        if physical_start is not None:
            args += ["--physical-start", hex(physical_start)]
        return _cached(tuple(args), lambda: subprocess.run(
            args, check=True, capture_output=True, text=True).stdout.strip())

    def bin(self, name):
        for sub in ("tools", "tests/vm"):
            p = os.path.join(self.build, sub, name)
            if os.path.exists(p):
                return p
        raise FileNotFoundError(f"{name} not built in {self.build}")

    def path(self, name):
        return os.path.join(self.dir, name)

    def initramfs(self, name, init, files=(), busybox=True):
        """Build <dir>/<name>.cpio.gz: init script, busybox, files (src, dest)."""
        ir = Initramfs()
        if busybox:
            ir.add_busybox()
        ir.add_init(init)
        for src, dest in files:
            ir.add_file(src, dest)
        return ir.write(self.path(name + ".cpio.gz"))


_cache = {}


def _cached(key, fn):
    if key not in _cache:
        _cache[key] = fn()
    return _cache[key]


def discover():
    found = []
    for path in sorted(glob.glob(os.path.join(HERE, "test_*.py"))):
        modname = os.path.splitext(os.path.basename(path))[0]
        spec = importlib.util.spec_from_file_location(modname, path)
        mod = importlib.util.module_from_spec(spec)
        spec.loader.exec_module(mod)
        found.extend(mod.tests())
    return found


def main(argv):
    ap = argparse.ArgumentParser()
    ap.add_argument("names", nargs="*")
    ap.add_argument("--list", action="store_true")
    args = ap.parse_args(argv)

    tests = discover()
    if args.list:
        for name, _ in tests:
            print(name)
        return 0
    if args.names:
        unknown = set(args.names) - {n for n, _ in tests}
        if unknown:
            print(f"unknown test(s): {', '.join(sorted(unknown))} (see --list)")
            return 2
        tests = [(n, f) for n, f in tests if n in args.names]

    out_dir = os.path.abspath(os.environ.get("KHIB_VM_OUT", os.path.join(TOP, "build-vm")))
    passed = failed = 0
    for name, fn in tests:
        t0 = time.monotonic()
        try:
            fn(Context(name, out_dir))
        except Exception as e:  # a failed assertion or a harness error
            failed += 1
            print(f"FAIL {name} ({time.monotonic() - t0:.1f} s)")
            if isinstance(e, AssertionError):
                print(f"  {e}")
            else:
                traceback.print_exc(file=sys.stdout)
        else:
            passed += 1
            print(f"ok   {name} ({time.monotonic() - t0:.1f} s)")
        sys.stdout.flush()
    print(f"{passed} passed, {failed} failed")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
