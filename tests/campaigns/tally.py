# SPDX-License-Identifier: GPL-2.0-only
"""What every campaign prints: one row per trial, and one summary line.

    t = Tally("powercut-writer")
    t.add("data_50pct", RESUMED, "resumed, workload intact")
    ...
    sys.exit(t.summary())

The summary line is
    campaign powercut-writer: tried 24, resumed intact 11, refused cleanly 13, partial 0, hung 0
and the exit status is 0 only when partial and hung are both 0 and every
trial ended as its point allows (`expect`: a set of outcomes).

Outcomes:
  RESUMED   the next boot resumed the image completely: the workload, its
            tmpfs state and the data disk verified
  REFUSED   the next boot found no image, or refused it with one line, and
            booted normally with the data disk consistent
  PARTIAL   anything else that ran on: a resume with damaged memory, a
            normal boot over damaged data, an image resumed that must not be
  HUNG      no outcome before the deadline
"""
import sys
import time

RESUMED = "resumed"
REFUSED = "refused"
PARTIAL = "partial"
HUNG = "hung"

# Campaigns import khibvm and the VM tests' modules from tests/vm.
import os  # noqa: E402

VM_DIR = os.path.join(os.path.dirname(os.path.dirname(os.path.abspath(__file__))), "vm")
if VM_DIR not in sys.path:
    sys.path.insert(0, VM_DIR)


class Tally:
    def __init__(self, name):
        self.name = name
        self.rows = []  # (point, outcome, detail, allowed)
        self.t0 = time.monotonic()

    def add(self, point, outcome, detail="", expect=(RESUMED, REFUSED)):
        """Record one trial; `expect` is what this point allows (a power
        cut after the commit must resume, one before the first write must
        not).  An outcome outside it counts as a failure of the campaign."""
        ok = outcome in expect and outcome not in (PARTIAL, HUNG)
        self.rows.append((point, outcome, detail, ok))
        flag = "ok  " if ok else "BAD "
        print(f"{flag} {self.name} {point}: {outcome}" + (f" ({detail})" if detail else ""))
        sys.stdout.flush()
        return ok

    def count(self, outcome):
        return sum(1 for _, o, _, _ in self.rows if o == outcome)

    def summary(self):
        """Print the summary line; the exit status (0: campaign held)."""
        bad = [p for p, _, _, ok in self.rows if not ok]
        print(f"campaign {self.name}: tried {len(self.rows)}, "
              f"resumed intact {self.count(RESUMED)}, refused cleanly {self.count(REFUSED)}, "
              f"partial {self.count(PARTIAL)}, hung {self.count(HUNG)}"
              f" ({time.monotonic() - self.t0:.0f} s)")
        if bad:
            print(f"campaign {self.name}: outside what their point allows: {', '.join(bad)}")
        return 0 if not bad else 1
