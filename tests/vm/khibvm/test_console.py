# SPDX-License-Identifier: GPL-2.0-only
"""Self-test of khibvm/console.py, without QEMU: console lines a kernel
message cut are rejoined.  Not a VM test (run.py only runs tests/vm/test_*.py):

    cd tests/vm && python3 -m khibvm.test_console     # ends with "N passed, N failed"
    cd tests/vm && python3 -m unittest khibvm.test_console
"""
import io
import sys
import time
import unittest

from khibvm.console import Rejoin, rejoin
from khibvm.qemu import VM

KERNEL = "[   11.377432] Restarting tasks ... done."


class RejoinTest(unittest.TestCase):
    def test_cut_line(self):
        self.assertEqual(rejoin([f"PROBE ok s=7 tic{KERNEL}", "ks=81 pipe=3"]),
                         [KERNEL, "PROBE ok s=7 ticks=81 pipe=3"])

    def test_kernel_line_comes_at_once(self):
        r = Rejoin()
        self.assertEqual(r.feed(f"PROBE ok s=7 tic{KERNEL}"), [KERNEL])
        self.assertEqual(r.feed("ks=81"), ["PROBE ok s=7 ticks=81"])

    def test_kernel_lines_between(self):
        other = "[   11.400001] smpboot: CPU 1 is now online"
        self.assertEqual(rejoin([f"N: hibernate r{KERNEL}", other, "c=0 cycle=1", "N: next"]),
                         [KERNEL, other, "N: hibernate rc=0 cycle=1", "N: next"])

    def test_cut_twice(self):
        other = "[   12.000000] random: crng init done"
        self.assertEqual(rejoin([f"abc{KERNEL}", f"def{other}", "ghi"]),
                         [KERNEL, other, "abcdefghi"])

    def test_whole_lines_pass(self):
        lines = [KERNEL, "N: up cpus=0", "", "[not a timestamp] x", "khib: 100% [1.5 s]"]
        self.assertEqual(rejoin(lines), lines)

    def test_held_at_the_end(self):
        self.assertEqual(rejoin([f"N: last{KERNEL}"]), [KERNEL, "N: last"])

    def test_big_timestamps(self):
        k = "[12345.000001] reboot: Power down"
        self.assertEqual(rejoin([f"x{k}", "y"]), [k, "xy"])


class VMLinesTest(unittest.TestCase):
    """VM's line handling, fed as its reader thread feeds it (no QEMU)."""

    def test_log_raw_expect_rejoined(self):
        vm = VM("t", "bzImage")
        vm.log, vm.t0 = io.StringIO(), time.monotonic()
        for raw in (f"PROBE ok s=7 tic{KERNEL}\r".encode(), b"ks=81 pipe=3\r"):
            vm._add(raw)
        self.assertEqual([s for _, s in vm.lines], [KERNEL, "PROBE ok s=7 ticks=81 pipe=3"])
        self.assertEqual(vm.expect(r"^PROBE ok s=7 ticks=(\d+) ", timeout=0).group(1), "81")
        self.assertEqual(vm.seen(r"Restarting tasks"), [KERNEL])
        log = [line.split("] ", 1)[1] for line in vm.log.getvalue().splitlines()]
        self.assertEqual(log, [f"PROBE ok s=7 tic{KERNEL}", "ks=81 pipe=3"])


def main():
    suite = unittest.defaultTestLoader.loadTestsFromModule(sys.modules[__name__])
    result = unittest.TextTestRunner(stream=sys.stdout, verbosity=2).run(suite)
    failed = len(result.failures) + len(result.errors)
    print(f"{result.testsRun - failed} passed, {failed} failed")
    return 0 if result.wasSuccessful() else 1


if __name__ == "__main__":
    sys.exit(main())
