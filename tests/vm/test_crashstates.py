# SPDX-License-Identifier: GPL-2.0-only
"""The crash-state campaign (tests/campaigns/crashstates.py) in its quick
form: one real hibernation over an older image, its writes logged by QEMU's
blklogwrites and replayed on the host into the disk states a power cut could
leave.  None may hold a mix of two images or the older image after the first
flush, and the states after the commit record's flush must resume.

  crashstates_quick   prefixes at flush boundaries and every 25th write,
                      8 random subsets of each flush epoch
"""
import os
import sys

from khibvm import TOP

sys.path.insert(0, os.path.join(TOP, "tests", "campaigns"))
import crashstates  # noqa: E402
from tally import RESUMED, REFUSED, PARTIAL, HUNG  # noqa: E402


def quick(ctx):
    tally = crashstates.run(ctx, quick=True)
    assert tally.summary() == 0, "a crash state outside what its point allows"
    assert tally.count(PARTIAL) == 0 and tally.count(HUNG) == 0
    # Both ends of the protocol were reached: no image, then the final one.
    assert tally.count(REFUSED) > 0 and tally.count(RESUMED) > 0
    points = [p for p, _, _, _ in tally.rows]
    assert "prefix_end" in points and any(p.startswith("epoch") for p in points), points


def tests():
    yield "crashstates_quick", quick
