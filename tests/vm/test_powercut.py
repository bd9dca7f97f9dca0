# SPDX-License-Identifier: GPL-2.0-only
"""A few points of the power-cut campaign as VM tests: the campaign
(tests/campaigns/powercut.py, whose docstring says what a point allows and
why) runs every point; these four guard its harness and khib's rules in an
ordinary test run, each an assertion that the point's outcome is allowed.

  powercut_writer_mid_data       the power goes halfway through the writer
                                 kernel's data: the next boot is a normal
                                 one, the data disk unchanged, no image
  powercut_writer_after_commit   the power goes at "image committed": the
                                 next boot resumes, the workload intact
  powercut_resume_mid_restore    the power goes halfway through the restore
                                 kernel's writing of memory: the image was
                                 still valid, the next boot resumes it
  restore_read_error_persistent  every read of the image disk fails from 30%
                                 of the restore on: the restore kernel
                                 invalidates the image and reboots, the
                                 next boot is a normal one
"""
import os
import sys

sys.path.insert(0, os.path.join(os.path.dirname(os.path.dirname(os.path.abspath(__file__))),
                                "campaigns"))
import powercut  # noqa: E402
from tally import Tally  # noqa: E402

TESTS = [
    ("powercut_writer_mid_data", "writer", "saving_4"),
    ("powercut_writer_after_commit", "writer", "committed"),
    ("powercut_resume_mid_restore", "resume", "restoring_50"),
    ("restore_read_error_persistent", "resume", "read_error_persistent"),
]


def point_test(side, point):
    def run(ctx):
        tally = Tally(f"powercut-{side}")
        powercut.run_points(side, powercut.selected(side, [point]), ctx.dir, tally)
        _, outcome, detail, ok = tally.rows[0]
        assert ok, f"{side} point {point}: {outcome} ({detail}), not what the point allows"
    return run


def tests():
    for name, side, point in TESTS:
        yield name, point_test(side, point)
