# SPDX-License-Identifier: GPL-2.0-only
"""Serial console lines as the programs wrote them.

The kernel prints its messages to the console whenever they come, also in
the middle of a line a user-space program is writing:

    PROBE ok s=7 tic[   11.377432] Restarting tasks ... done.
    ks=81 ...

Rejoin takes the console's lines one by one and gives back the kernel's
message as a line of its own and the user's line whole, once it is
complete:

    [   11.377432] Restarting tasks ... done.
    PROBE ok s=7 ticks=81 ...

The text before a kernel timestamp that is not at the start of a line is
held, and goes in front of the next line that does not itself start with a
kernel timestamp (kernel lines in between pass as they come).
"""
import re

# A kernel message's timestamp, as printk (CONFIG_PRINTK_TIME) puts it.
KERNEL_TIMESTAMP = re.compile(r"\[ *\d+\.\d+\] ")


class Rejoin:
    def __init__(self):
        self.held = ""  # the start of a user line a kernel message cut

    def feed(self, text):
        """One console line (without its newline); returns the lines it
        completes, in order: none, one, or a kernel line."""
        if KERNEL_TIMESTAMP.match(text):
            return [text]
        text, self.held = self.held + text, ""
        m = KERNEL_TIMESTAMP.search(text)
        if m:
            self.held = text[:m.start()]
            return [text[m.start():]]
        return [text]

    def flush(self):
        """At the end of the output: the held text, if any, as a line."""
        held, self.held = self.held, ""
        return [held] if held else []


def rejoin(lines):
    """All of lines, rejoined."""
    r = Rejoin()
    out = []
    for text in lines:
        out += r.feed(text)
    return out + r.flush()
