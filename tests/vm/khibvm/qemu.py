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
the console's tail when it times out or when QEMU exits first; vm.matched_at
is when the line it matched came, on the clock of vm.now() (seconds since
QEMU started), for acting a set time after a line.  expect_text() waits
for a pattern in the output as it came, lines finished or not: a prompt
that waits for input has no newline yet (vm.type() answers it).  QEMU always
runs under -no-reboot (a triple fault or a reboot ends it) and a hard
deadline; the VM is killed when the `with` block ends, whatever happened.

QEMU always listens on a QMP socket (in the temporary directory: a
socket's path is limited to 107 bytes), and vm.qmp(command, **arguments)
runs one command there and returns its "return" value (QMPError with
QEMU's "error"); vm.hmp("qemu-io d0 ...") runs a human monitor command
through it (tests that change a running VM's disks, e.g. arm a blkdebug
rule at a moment the console picks).  When a wait times out while QEMU
still runs, the failure also records where the CPUs are: every vCPU's
registers go to <log_dir>/<name>.hang (three samples a second apart, to
tell a spin from a halt) and the message names each CPU's RIP and state.
"""
import json
import os
import re
import signal
import socket
import itertools
import subprocess
import tempfile
import threading
import time

from .console import Rejoin

QEMU = "qemu-system-x86_64"
OVMF_CODE = "/usr/share/OVMF/OVMF_CODE_4M.fd"
OVMF_VARS = "/usr/share/OVMF/OVMF_VARS_4M.fd"


_QMP_SEQ = itertools.count()


class VMError(AssertionError):
    pass


class QMPError(RuntimeError):
    pass


BUSES = ("virtio", "nvme", "ahci", "scsi")


def bus_args(bus, n):
    """The controller a bus needs besides its disks: one NVMe controller
    (a namespace per disk), one virtio-scsi HBA; q35 has its AHCI built in."""
    assert bus in BUSES, bus
    if bus == "nvme" and n:
        return ["-device", "nvme,id=nvme0,serial=khibnvme"]
    if bus == "scsi" and n:
        return ["-device", "virtio-scsi-pci,id=scsi0"]
    return []


def disk_device(bus, i):
    if bus == "nvme":
        return f"nvme-ns,drive=d{i},bus=nvme0,nsid={i + 1}"
    if bus == "ahci":
        # A serial per disk: the kernel's WWID for it (t10.ATA ... khibN).
        return f"ide-hd,drive=d{i},bus=ide.{i},serial=khib{i}"
    if bus == "scsi":
        return f"scsi-hd,drive=d{i},bus=scsi0.0,channel=0,scsi-id=0,lun={i},serial=khib{i}"
    return f"virtio-blk-pci,drive=d{i}"


def disk_names(bus, n):
    """The guest's names for n disks on bus, in order.  NVMe namespaces and
    virtio-blk disks are named in that order; SATA and SCSI disks in the
    order the kernel probes them, which is port/LUN order for a handful of
    disks on one controller in these VMs (tests that depend on it say
    which disk they found by size)."""
    if bus == "nvme":
        return [f"nvme0n{i + 1}" for i in range(n)]
    if bus in ("ahci", "scsi"):
        return ["sd" + chr(ord("a") + i) for i in range(n)]
    return ["vd" + chr(ord("a") + i) for i in range(n)]


class VM:
    def __init__(self, name, kernel, initrd=None, append="", mem="512M", cpus=1,
                 disks=(), drives=(), log_dir=".", deadline=600, extra_args=(),
                 on_line=None, qmp=False, console_input=False, tpm_state=None, bus="virtio",
                 efi_vars=None, vga=False):
        self.name = name
        self.on_line = on_line  # called with (seconds, text) for every line
        self.log_path = os.path.join(log_dir, name + ".log")
        self.args = [QEMU, "-accel", "tcg", "-machine", "q35", "-cpu", "max",
                     "-m", str(mem), "-smp", str(cpus),
                     "-display", "none", "-vga", "std" if vga else "none", "-monitor", "none",
                     "-serial", "stdio", "-no-reboot", "-nodefaults",
                     "-kernel", kernel,
                     "-append", append]
        if initrd:
            self.args += ["-initrd", initrd]
        # efi_vars: this machine's UEFI variable store (a copy of OVMF's
        # empty one, kept across its boots): the firmware is OVMF, which
        # starts -kernel through its EFI stub; otherwise SeaBIOS.
        if efi_vars:
            self.args += ["-drive", f"if=pflash,format=raw,unit=0,readonly=on,file={OVMF_CODE}",
                          "-drive", f"if=pflash,format=raw,unit=1,file={efi_vars}"]
        # disks: raw image files; drives: full -drive specs (e.g. blkdebug
        # for fault injection).  Each becomes a disk on `bus`, in order
        # (disk_names() gives the guest's names for them).
        specs = [f"file={d},format=raw,cache=none,aio=threads" for d in disks]
        specs += list(drives)
        self.args += bus_args(bus, len(specs))
        for i, spec in enumerate(specs):
            self.args += ["-drive", f"{spec},if=none,id=d{i}",
                          "-device", disk_device(bus, i)]
        # qmp: kept for the callers that ask for it; the socket is always there.
        self.qmp_path = os.path.join(tempfile.gettempdir(),
                                     f"khib-qmp-{os.getpid()}-{next(_QMP_SEQ)}.sock")
        self.args += ["-qmp", f"unix:{self.qmp_path},server=on,wait=off"]
        self.qmp_file = None
        self.args += list(extra_args)
        self.deadline = deadline
        self.console_input = console_input  # type() writes to the serial port
        # tpm_state: a directory for a TPM 2.0 (swtpm) of this machine; the
        # same directory in every boot is the same TPM, powered up afresh.
        self.tpm_state = tpm_state
        self.swtpm = None
        if tpm_state:
            self.tpm_sock = os.path.join(log_dir, name + ".tpm")
            self.args += ["-chardev", f"socket,id=chrtpm,path={self.tpm_sock}",
                          "-tpmdev", "emulator,id=tpm0,chardev=chrtpm",
                          "-device", "tpm-tis,tpmdev=tpm0"]
        self.proc = None
        self.lines = []      # (seconds, text)
        self.consumed = 0    # lines already matched by expect()
        self.matched_at = None  # when the line expect() last matched came
        self.rejoin = Rejoin()
        self.raw = bytearray()  # all the output as it came, for expect_text()
        self.raw_pos = 0        # where expect_text() looks from
        self.cond = threading.Condition()
        self.eof = False

    # -- lifecycle ---------------------------------------------------------
    def start_swtpm(self):
        if os.path.exists(self.tpm_sock):
            os.unlink(self.tpm_sock)
        self.swtpm = subprocess.Popen(
            ["swtpm", "socket", "--tpm2", "--tpmstate", f"dir={self.tpm_state}",
             "--ctrl", f"type=unixio,path={self.tpm_sock}", "--terminate"],
            stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        for _ in range(100):
            if os.path.exists(self.tpm_sock):
                return
            time.sleep(0.05)
        raise RuntimeError("swtpm did not open its socket")

    def start(self):
        if self.tpm_state:
            self.start_swtpm()
        self.log = open(self.log_path, "w", buffering=1)
        self.log.write("# " + " ".join(self.args) + "\n")
        self.t0 = time.monotonic()
        # `timeout` is a second guard should this process die without cleanup.
        self.proc = subprocess.Popen(
            ["timeout", "-s", "KILL", str(self.deadline)] + self.args,
            stdin=subprocess.PIPE if self.console_input else subprocess.DEVNULL,
            stdout=subprocess.PIPE,
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
            with self.cond:
                self.raw += chunk
                self.cond.notify_all()
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

    def type(self, text):
        """Send text to the serial console, as a user typing at it."""
        assert self.console_input, "VM started without console_input"
        self.log.write(f"# typed {len(text)} characters\n")
        self.proc.stdin.write(text.encode())
        self.proc.stdin.flush()

    def kill(self):
        if self.proc and self.proc.poll() is None:
            try:
                os.killpg(self.proc.pid, signal.SIGKILL)
            except ProcessLookupError:
                pass
        if self.proc:
            if self.proc.stdin:
                self.proc.stdin.close()
            self.proc.wait()
            self.reader.join(timeout=5)
            self.log.close()
        if self.swtpm and self.swtpm.poll() is None:
            self.swtpm.kill()
        if self.swtpm:
            self.swtpm.wait()
            self.swtpm = None
        if self.qmp_file:
            self.qmp_file.close()
            self.qmp_file = None
        if os.path.exists(self.qmp_path):
            os.unlink(self.qmp_path)

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
        raise VMError(f"{self.name}: {what}{self.cpu_state()}\n"
                      f"  console tail ({self.log_path}):\n{self.tail()}")

    def cpu_state(self):
        """Where the vCPUs of a running QEMU are: registers and local APIC
        of all of them into <log_dir>/<name>.hang, three samples a second
        apart; a line per CPU (its RIP in each sample, halted or running)
        to append to a failure.  Empty when QEMU is gone or does not
        answer."""
        if self.eof or not self.proc or self.proc.poll() is not None:
            return ""
        path = os.path.splitext(self.log_path)[0] + ".hang"
        rips = {}
        try:
            with open(path, "w") as f:
                for i in range(3):
                    regs = self.hmp("info registers -a")
                    f.write(f"# sample {i}\n{regs}\n")
                    # Each local APIC: a timer that no longer fires, or an
                    # interrupt pending (IRR) that was never taken.
                    for cpu in sorted(set(re.findall(r"CPU#(\d+)", regs))):
                        self.hmp(f"cpu {cpu}")
                        f.write(f"# local APIC of CPU {cpu}\n{self.hmp('info lapic')}\n")
                    for cpu, rip, hlt in re.findall(
                            r"CPU#(\d+)\s+RAX=.*?RIP=([0-9a-f]+).*?HLT=(\d)", regs, re.S):
                        rips.setdefault(cpu, []).append(rip + (" (halted)" if hlt == "1" else ""))
                    time.sleep(1)
        except (OSError, QMPError) as e:
            return f"\n  (no CPU state: {e})"
        lines = [f"  CPU{cpu}: RIP {', '.join(r)}" for cpu, r in sorted(rips.items())]
        return "\n  CPU state (" + path + "):\n" + "\n".join(lines)

    def expect(self, pattern, timeout=60):
        """Wait for a console line matching pattern; return the match."""
        rx = re.compile(pattern)
        end = time.monotonic() + timeout
        with self.cond:
            while True:
                while self.consumed < len(self.lines):
                    t, text = self.lines[self.consumed]
                    m = rx.search(text)
                    self.consumed += 1
                    if m:
                        self.matched_at = t
                        return m
                if self.eof:
                    break
                left = end - time.monotonic()
                if left <= 0:
                    break
                self.cond.wait(left)
        self.fail(f"no line matching /{pattern}/ "
                  + ("before QEMU exited" if self.eof else f"within {timeout} s"))

    def expect_text(self, pattern, timeout=60):
        """Wait for pattern in the output since the last match of
        expect_text(), lines finished or not (a prompt waiting for input
        ends without a newline); return the match (on the output as
        Latin-1, a character per byte).  Independent of expect(): it
        consumes no lines."""
        rx = re.compile(pattern)
        end = time.monotonic() + timeout
        with self.cond:
            while True:
                m = rx.search(self.raw[self.raw_pos:].decode("latin-1"))
                if m:
                    self.raw_pos += m.end()
                    return m
                left = end - time.monotonic()
                if self.eof or left <= 0:
                    break
                self.cond.wait(left)
        self.fail(f"no output matching /{pattern}/ "
                  + ("before QEMU exited" if self.eof else f"within {timeout} s"))

    def now(self):
        """Seconds since QEMU started: the clock of the console's lines."""
        return time.monotonic() - self.t0

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

    # -- QMP ---------------------------------------------------------------
    def qmp(self, command, **arguments):
        """Run one QMP command; its "return" value.  The first call
        connects and leaves capabilities negotiation mode."""
        if not self.qmp_file:
            sock = socket.socket(socket.AF_UNIX)
            sock.settimeout(30)
            sock.connect(self.qmp_path)
            self.qmp_file = sock.makefile("rw")
            self.qmp_file.readline()  # the greeting
            self._qmp_send("qmp_capabilities", {})
        return self._qmp_send(command, arguments)

    def _qmp_send(self, command, arguments):
        self.qmp_file.write(json.dumps({"execute": command, "arguments": arguments}) + "\n")
        self.qmp_file.flush()
        while True:
            line = self.qmp_file.readline()
            if not line:
                raise QMPError(f"{self.name}: QMP {command}: QEMU closed the socket")
            reply = json.loads(line)
            if "return" in reply:
                return reply["return"]
            if "error" in reply:
                raise QMPError(f"{self.name}: QMP {command}: {reply['error'].get('desc')}")
            # an asynchronous event: not ours

    def hmp(self, command_line):
        """A human monitor command, through QMP; what it printed."""
        return self.qmp("human-monitor-command", **{"command-line": command_line})
