# SPDX-License-Identifier: GPL-2.0-only
"""Boot a kernel in QEMU (TCG) and talk to its serial console.

    with VM("roundtrip", kernel, initrd, append, mem="512M", cpus=2,
            disks=["a.img"], log_dir=d) as vm:
        vm.expect(r"N: up")
        m = vm.expect(r"region (0x[0-9a-f]+)", timeout=60)
        rc = vm.wait_exit(timeout=120)

The console goes to <log_dir>/<name>.log as it came, each line stamped with
seconds since QEMU started.  expect(), seen() and on_line see the console's
lines rejoined (khibvm/console.py): a user-space line a kernel message cut in
two is one line again, the kernel message one of its own.  expect() waits
for a regular expression in lines not yet consumed and raises VMError with
the console's tail when it times out or when QEMU exits first.  QEMU always
runs under -no-reboot (a triple fault or a reboot ends it) and a hard
deadline; the VM is killed when the `with` block ends, whatever happened.
"""
import os
import re
import signal
import subprocess
import threading
import time

from .console import Rejoin

QEMU = "qemu-system-x86_64"


class VMError(AssertionError):
    pass


class VM:
    def __init__(self, name, kernel, initrd=None, append="", mem="512M", cpus=1,
                 disks=(), drives=(), log_dir=".", deadline=600, extra_args=(),
                 on_line=None):
        self.name = name
        self.on_line = on_line  # called with (seconds, text) for every line
        self.log_path = os.path.join(log_dir, name + ".log")
        self.args = [QEMU, "-accel", "tcg", "-machine", "q35", "-cpu", "max",
                     "-m", str(mem), "-smp", str(cpus),
                     "-display", "none", "-vga", "none", "-monitor", "none",
                     "-serial", "stdio", "-no-reboot", "-nodefaults",
                     "-kernel", kernel,
                     "-append", append]
        if initrd:
            self.args += ["-initrd", initrd]
        # disks: raw image files; drives: full -drive specs (e.g. blkdebug
        # for fault injection).  Each becomes a virtio-blk disk, in order.
        specs = [f"file={d},format=raw,cache=none,aio=threads" for d in disks]
        specs += list(drives)
        for i, spec in enumerate(specs):
            self.args += ["-drive", f"{spec},if=none,id=d{i}",
                          "-device", f"virtio-blk-pci,drive=d{i}"]
        self.args += list(extra_args)
        self.deadline = deadline
        self.proc = None
        self.lines = []      # (seconds, text)
        self.consumed = 0    # lines already matched by expect()
        self.rejoin = Rejoin()
        self.cond = threading.Condition()
        self.eof = False

    # -- lifecycle ---------------------------------------------------------
    def start(self):
        self.log = open(self.log_path, "w", buffering=1)
        self.log.write("# " + " ".join(self.args) + "\n")
        self.t0 = time.monotonic()
        # `timeout` is a second guard should this process die without cleanup.
        self.proc = subprocess.Popen(
            ["timeout", "-s", "KILL", str(self.deadline)] + self.args,
            stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT, start_new_session=True)
        self.reader = threading.Thread(target=self._read, daemon=True)
        self.reader.start()
        return self

    def _read(self):
        buf = b""
        while True:
            chunk = self.proc.stdout.read1(65536)
            if not chunk:
                break
            buf += chunk
            *full, buf = buf.split(b"\n")
            for raw in full:
                self._add(raw)
        if buf:
            self._add(buf)
        t = time.monotonic() - self.t0
        for text in self.rejoin.flush():
            self._line(t, text)
        with self.cond:
            self.eof = True
            self.cond.notify_all()

    def _add(self, raw):
        """A raw console line: into the log as it is, to the tests rejoined."""
        text = raw.decode("utf-8", "replace").rstrip("\r")
        t = time.monotonic() - self.t0
        self.log.write(f"[{t:8.3f}] {text}\n")
        for line in self.rejoin.feed(text):
            self._line(t, line)

    def _line(self, t, text):
        if self.on_line:
            self.on_line(t, text)
        with self.cond:
            self.lines.append((t, text))
            self.cond.notify_all()

    def kill(self):
        if self.proc and self.proc.poll() is None:
            try:
                os.killpg(self.proc.pid, signal.SIGKILL)
            except ProcessLookupError:
                pass
        if self.proc:
            self.proc.wait()
            self.reader.join(timeout=5)
            self.log.close()

    def __enter__(self):
        return self.start()

    def __exit__(self, *exc):
        self.kill()
        return False

    # -- console -----------------------------------------------------------
    def tail(self, n=25):
        with self.cond:
            return "\n".join(f"  [{t:8.3f}] {s}" for t, s in self.lines[-n:])

    def fail(self, what):
        raise VMError(f"{self.name}: {what}\n  console tail ({self.log_path}):\n{self.tail()}")

    def expect(self, pattern, timeout=60):
        """Wait for a console line matching pattern; return the match."""
        rx = re.compile(pattern)
        end = time.monotonic() + timeout
        with self.cond:
            while True:
                while self.consumed < len(self.lines):
                    m = rx.search(self.lines[self.consumed][1])
                    self.consumed += 1
                    if m:
                        return m
                if self.eof:
                    break
                left = end - time.monotonic()
                if left <= 0:
                    break
                self.cond.wait(left)
        self.fail(f"no line matching /{pattern}/ "
                  + ("before QEMU exited" if self.eof else f"within {timeout} s"))

    def seen(self, pattern):
        """Any line so far, consumed or not, matching pattern."""
        rx = re.compile(pattern)
        with self.cond:
            return [s for _, s in self.lines if rx.search(s)]

    def wait_exit(self, timeout=60):
        """Wait for QEMU to exit; return its exit code."""
        try:
            rc = self.proc.wait(timeout)
        except subprocess.TimeoutExpired:
            self.fail(f"still running after {timeout} s")
        self.reader.join(timeout=10)
        if rc == -signal.SIGKILL or rc == 137:
            self.fail("killed at the hard deadline")
        return rc
