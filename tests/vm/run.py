#!/usr/bin/env python3
# SPDX-License-Identifier: GPL-2.0-only
"""Run khib's VM tests: real kernels booted in QEMU.

    tests/vm/run.py                  every test
    tests/vm/run.py roundtrip_2cpu   one test by name (or several)
    tests/vm/run.py --list           the names
    tests/vm/run.py -j 2             two tests at a time (or KHIB_VM_JOBS=2)

Tests live in tests/vm/test_*.py; each module has a function tests() that
yields (name, function) pairs, and each function takes a Context
(khibvm/context.py).  Prints "ok"/"FAIL" per test and closes with
"N passed, N failed".  The harness the tests share is the package khibvm/.

Environment: KHIB_BUILD_STATIC (default build-static) holds the static khib
and guest binaries; KHIB_VM_OUT (default build-vm) gets logs and images.
The disk images of a test that passed are deleted (a full run writes
gigabytes) unless KHIB_VM_KEEP is set; a failed test keeps them.
"""
import argparse
import glob
import importlib
import json
import os
import re
import subprocess
import sys
import time
import traceback

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)

from khibvm import TOP  # noqa: E402
from khibvm.context import Context  # noqa: E402


def discover():
    found = []
    for path in sorted(glob.glob(os.path.join(HERE, "test_*.py"))):
        # By name, from HERE: one module object, whether run.py or another
        # test module imports it.
        mod = importlib.import_module(os.path.splitext(os.path.basename(path))[0])
        found.extend(mod.tests())
    return found


def drop_disks(test_dir):
    """A passed test's disk images go (gigabytes for the 4 GiB machines); its
    console logs stay."""
    for path in glob.glob(os.path.join(test_dir, "*.img")) + \
            glob.glob(os.path.join(test_dir, "*.elf")):
        os.unlink(path)


def main(argv):
    ap = argparse.ArgumentParser()
    ap.add_argument("names", nargs="*")
    ap.add_argument("--list", action="store_true")
    ap.add_argument("--jobs", "-j", type=int, default=int(os.environ.get("KHIB_VM_JOBS", "1")),
                    help="tests run at once, each in a process of its own")
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
    if args.jobs > 1 and len(tests) > 1:
        return run_parallel([n for n, _ in tests], args.jobs)
    passed = failed = 0
    for name, fn in tests:
        if run_one(name, fn, out_dir):
            passed += 1
        else:
            failed += 1
    print(f"{passed} passed, {failed} failed")
    return 1 if failed else 0


def run_one(name, fn, out_dir):
    """Run one test, print its ok/FAIL line (and why); True if it passed."""
    t0 = time.monotonic()
    try:
        fn(Context(name, out_dir))
    except Exception as e:  # a failed assertion or a harness error
        print(f"FAIL {name} ({time.monotonic() - t0:.1f} s)")
        if isinstance(e, AssertionError):
            print(f"  {e}")
        else:
            traceback.print_exc(file=sys.stdout)
        sys.stdout.flush()
        return False
    print(f"ok   {name} ({time.monotonic() - t0:.1f} s)")
    if not os.environ.get("KHIB_VM_KEEP"):
        drop_disks(os.path.join(out_dir, name))
    sys.stdout.flush()
    return True


def run_parallel(names, jobs):
    """Each test in a process of its own, `jobs` at a time, longest first
    (by the last run's times on this machine, kept beside the kernels in
    the cache), so the run does not end on one long test; each test's lines
    print whole when it ends."""
    cache = os.environ.get("KHIB_CACHE", os.path.expanduser("~/.cache/khib"))
    os.makedirs(cache, exist_ok=True)
    times_path = os.path.join(cache, "vm-times.json")
    try:
        with open(times_path) as f:
            times = json.load(f)
    except (OSError, ValueError):
        times = {}
    queue = sorted(names, key=lambda n: -times.get(n, 60.0))
    running, passed, failed = {}, 0, 0
    while queue or running:
        while queue and len(running) < jobs:
            name = queue.pop(0)
            running[name] = (time.monotonic(), subprocess.Popen(
                [sys.executable, os.path.abspath(__file__), "--jobs", "1", name],
                stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True))
        time.sleep(0.2)
        for name, (t0, proc) in list(running.items()):
            if proc.poll() is None:
                continue
            out = proc.stdout.read()
            del running[name]
            lines = [l for l in out.splitlines() if not re.match(r"^\d+ passed, \d+ failed$", l)]
            print("\n".join(lines))
            sys.stdout.flush()
            if proc.returncode == 0:
                passed += 1
                times[name] = round(time.monotonic() - t0, 1)
            else:
                failed += 1
    with open(times_path, "w") as f:
        json.dump(times, f, indent=1, sort_keys=True)
    print(f"{passed} passed, {failed} failed")
    return 1 if failed else 0

if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
