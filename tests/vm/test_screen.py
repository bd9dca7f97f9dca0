# SPDX-License-Identifier: GPL-2.0-only
"""Progress where a user looks: the screen.

N boots with a VGA card (QEMU -vga std, SeaBIOS's text mode); the writer
kernel gets N's console description (screen_info) and `console=tty0
console=ttyS0` (khib's default), and khib in it writes every line to both.
While the writer kernel works, the test reads the VGA text buffer (guest
physical 0xB8000-0xBFFFF, through QMP's pmemsave) and finds khib's lines
there, as on the serial port.

  screen_writer_progress   a --test hibernation: the writer kernel's
                           "writer kernel up", progress and verification
                           lines on the screen
"""
import time

from khibvm import guest
from khibvm.host import make_disk
from khibvm.qemu import VM
import test_hibernate as th

# The colour text window: vgacon scrolls by moving the display's start
# within it, so the visible 80x25 lies anywhere in these 32 KiB (at a
# multiple of a line).
VGA_TEXT = 0xB8000
VGA_BYTES = 0x8000

ACTION = r"""/bin/khib hibernate --target /dev/vda --kernel /h/bzImage --initrd /h/initrd.cpio.gz \
    --append "console=tty0 console=ttyS0 panic=-1 nr_cpus=1" --region-size 64M --clear --test
echo "N: hibernate rc=$?"
"""


def screen_text(vm, ctx):
    """The VGA text window as 80-column lines (characters without their
    attribute bytes)."""
    path = ctx.path("vga.bin")
    vm.qmp("pmemsave", val=VGA_TEXT, size=VGA_BYTES, filename=path)
    with open(path, "rb") as f:
        raw = f.read()
    chars = bytes(raw[i] for i in range(0, len(raw), 2)).decode("latin-1")
    return [chars[i:i + 80].rstrip() for i in range(0, len(chars), 80)]


def writer_progress(ctx):
    kernel, initrd = th.images(ctx, guest.n_init(ACTION))
    disk = make_disk(ctx)
    with VM("n", kernel, initrd, "console=ttyS0 panic=-1", mem="512M", cpus=1, disks=[disk],
            log_dir=ctx.log_dir, deadline=400, qmp=True, vga=True) as vm:
        vm.expect(r"khib: writer kernel up: saving 6\.1\.\d+ \(test mode\)", timeout=240)
        seen, deadline = [], time.monotonic() + 60
        while time.monotonic() < deadline:
            seen = screen_text(vm, ctx)
            if any("khib: test mode: verifying" in line for line in seen):
                break
            time.sleep(0.3)
        with open(ctx.path("screen.txt"), "w") as f:
            f.write("\n".join(seen) + "\n")
        assert any("khib: writer kernel up: saving 6.1." in line for line in seen), \
            "the writer kernel's first line is not on the screen:\n" + "\n".join(seen)
        assert any(line.startswith("khib: saving memory:") for line in seen), \
            "no progress on the screen:\n" + "\n".join(seen)
        assert any("khib: test mode: verifying" in line for line in seen), \
            "the verification is not on the screen:\n" + "\n".join(seen)
        vm.expect(r"^N: hibernate rc=0$", timeout=240)
        assert vm.wait_exit(timeout=120) == 0


def tests():
    yield "screen_writer_progress", writer_progress
