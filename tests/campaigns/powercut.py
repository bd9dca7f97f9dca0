#!/usr/bin/env python3
# SPDX-License-Identifier: GPL-2.0-only
"""Power cuts during hibernation and resume, and read errors in the restore.

khib promises that a power cut at any moment leaves a machine that either
resumes the complete image or boots normally over untouched disks, never
a kernel entered half-restored, never an image resumed after its disks
changed.  This campaign cuts the power of real VMs at points the serial
console places: a line, or a few milliseconds after one.  A power cut is
QEMU killed (SIGKILL): the disks keep what QEMU wrote, memory is lost.

The machine is test_resume's (Machine, INIT): 512 MiB, 1 vCPU, the live
workload holding 320 MiB, the data disk /dev/vdb written with conv=fsync
before `khib hibernate`.  After the cut the same disks boot again (with
khibtest.cycles=0: a normal boot only says "N: up" and powers off) until
the machine settles, and the trial is classified (tally.py):

  RESUMED  R0 resumed the image; N checked its workload, tmpfs file and
           data disk (test_resume.resumed); the image is invalid after
  REFUSED  a normal boot: R0 found no image, or refused it in one line
           (after "resuming ... through /dev/snapshot" when the stream
           failed), then "N: up"; on the host, the data disk holds what N
           wrote before hibernating and `khib verify` finds no valid image
  PARTIAL  anything else that ran; a restore kernel that failed and
           rebooted (tools/cmd-restorer.c fail_reboot) is not an outcome:
           the boot after it is, and a second such reboot is PARTIAL
  HUNG     a boot without an outcome within DEADLINE seconds

  writer   boot 1 hibernates and is cut at a point of the hibernation: in
           N's `khib hibernate`, at the jump, in the writer kernel (its
           lines, each "saving memory" progress line), in the commit window
           (milliseconds after "saving memory: 100%": metadata, header,
           flush, commit record, flush), after the commit.  Before the
           window the next boot must be REFUSED, in it either, after it
           ("free pages:" comes once khib_save_memory() returned, the
           commit record flushed) RESUMED.
  resume   one image, hibernated once and copied for every trial, resumed
           by the kexec path (R0 checking and loading, the restore kernel
           R, its progress lines, "memory restored", the jump) or the
           snapshot path (the stream into /dev/snapshot, then the kernel's
           restore), cut at a point: before the image is invalidated the
           next boot must resume, after it boot normally.  Plus read errors
           in the middle of the restore (no cut): QEMU's blkdebug under
           the image disk's raw node fails reads (event read_aio) from the
           moment the host arms it, by a QMP qemu-io write of zeroes to
           the disk's last sector, unused, that moves blkdebug to state 2
           (a write-zeroes request: the guest's own writes, such as R0
           counting the restore on the image, do not arm it); once or
           for good, or reads and writes for good (R cannot invalidate).
           N must never be entered half-restored: R invalidates the image
           and reboots, or R0 goes on with a normal boot; an image R could
           not invalidate is still whole and resumes on the next boot.

For a cut, or a restore kernel that failed and rebooted, `khib verify` on
the host right after sharpens what the point allows: a valid image must
resume, none must give a normal boot.

    tests/campaigns/powercut.py writer|resume [--points a,b] [--list]

One row per point, then tally's summary line; exit status 0 when every
trial ended as its point allows.  Output goes to $KHIB_VM_OUT (default
build-vm/campaigns)/powercut-<side>/<point>/: every boot's console; disk
images only of the trials outside what their point allows.
tests/vm/test_powercut.py runs a few points as VM tests.
"""
import argparse
import hashlib
import os
import re
import subprocess
import sys
import time
from collections import namedtuple

from tally import Tally, RESUMED, REFUSED, PARTIAL, HUNG  # also puts tests/vm on sys.path

from khibvm import TOP
from khibvm.context import Context
from khibvm.host import khib_host
from khibvm.qemu import VMError
from run import drop_disks
import test_resume as tr

DEADLINE = 300         # seconds a boot gets to reach its outcome
DATA_BYTES = 1 << 20   # what test_resume.INIT writes to the data disk

# What a point allows.
NOT_COMMITTED = frozenset({REFUSED})
COMMIT_WINDOW = frozenset({REFUSED, RESUMED})
COMMITTED = frozenset({RESUMED})
KEPT = COMMITTED         # resume side: the image is still valid
INVALIDATING = COMMIT_WINDOW
INVALIDATED = NOT_COMMITTED

# A point: after the nth console line matching pattern (None: the line
# boot 1's setup stopped at), offset seconds later; fault None cuts the
# power there, else it arms a fault of the image disk (blkdebug_drive).
Point = namedtuple("Point", "name pattern allow nth offset method fault",
                   defaults=(1, 0.0, "kexec", None))

SAVING = r"khib: saving memory: +\d{1,2}% "
SAVED = r"khib: saving memory: 100% "

WRITER_POINTS = [
    Point("hibernating", None, NOT_COMMITTED),
    Point("loading", r"khib: loading the writer kernel", NOT_COMMITTED),
    Point("jump", r"khib: hibernating: jumping to the writer kernel", NOT_COMMITTED),
    Point("writer_up", r"khib: writer kernel up", NOT_COMMITTED),
    Point("vmcore", r"khib: /proc/vmcore:", NOT_COMMITTED),
    *[Point(f"saving_{k}", SAVING, NOT_COMMITTED, nth=k) for k in range(1, 8)],
    *[Point(f"commit_{ms}ms", SAVED, COMMIT_WINDOW, offset=ms / 1000)
      for ms in (0, 2, 4, 6, 9, 12)],
    Point("free_pages", r"khib: free pages:", COMMITTED),
    Point("writer_memory", r"khib: writer kernel memory:", COMMITTED),
    Point("committed", r"khib: image committed", COMMITTED),
    Point("powering_off", r"khib: powering off", COMMITTED),
]


def restoring(pct):
    """R's first progress line at pct% or beyond: a line comes 10 points
    or 2 s after the last one (tools/console.c), so after a stall the
    percentages shift (70%, 72%, 82%, ...)."""
    if pct == 100:
        return r"khib: restoring memory: 100% "
    return rf"khib: restoring memory: +(?:{'|'.join(map(str, range(pct, 100)))})% "


STREAMING = r"OOM killer disabled"  # the kernel froze user space: R0 streams

RESUME_POINTS = [
    Point("r0_checking", r"Run /init as init process", KEPT, offset=1.0),
    Point("r0_resuming", r"khib: resuming 6\.1\.\d+ from '/dev/vda': ", KEPT),
    Point("r_up", r"khib: restore kernel up", KEPT),
    *[Point(f"restoring_{p}", restoring(p), KEPT) for p in (10, 50, 90)],
    Point("restoring_100", restoring(100), INVALIDATING),
    Point("memory_restored", r"khib: memory restored", INVALIDATING),
    Point("jumping", r"khib: jumping into the resumed kernel", INVALIDATED),
    Point("snap_resuming", r"through /dev/snapshot", KEPT, method="snapshot"),
    *[Point(f"snap_streaming_{s}s", STREAMING, KEPT, offset=s, method="snapshot")
      for s in (1, 3)],
    Point("snap_suspending", r"printk: Suspending console", INVALIDATED, method="snapshot"),
    Point("snap_restarting", r"Restarting tasks", INVALIDATED, method="snapshot"),
    Point("read_error_once", restoring(30), INVALIDATING, fault="once"),
    Point("read_error_persistent", restoring(30), INVALIDATED, fault="persistent"),
    # R cannot invalidate either: the image stays valid, the next boot
    # (a healthy disk again) resumes it.
    Point("disk_dead", restoring(30), KEPT, fault="dead"),
    Point("snap_read_error_once", STREAMING, INVALIDATING, offset=3, method="snapshot",
          fault="once"),
    Point("snap_read_error_persistent", STREAMING, INVALIDATED, offset=3, method="snapshot",
          fault="persistent"),
]

POINTS = {"writer": WRITER_POINTS, "resume": RESUME_POINTS}

# R0's lines of a boot that goes on: its one refusal, and the line before
# it when the snapshot stream had begun.
REFUSAL = re.compile(r"^khib: image on '/dev/vda' (refused|not resumed): (.*); invalidated")
STREAM_BEGUN = re.compile(r"^khib: resuming \S+ from '/dev/vda' through /dev/snapshot")


# -- the host's view ----------------------------------------------------------
def image_valid(disk):
    return khib_host("verify", disk, check=False).returncode == 0


def data_digest(path):
    with open(path, "rb") as f:
        return hashlib.sha256(f.read(DATA_BYTES)).hexdigest()


def written_data(mc):
    """The digest of what N wrote to its data disk before hibernating."""
    digest = data_digest(mc.data)
    assert digest != hashlib.sha256(bytes(DATA_BYTES)).hexdigest(), \
        "N did not write its data disk before hibernating"
    return digest


def first_line(e):
    return str(e).splitlines()[0]


# -- placing the cut ----------------------------------------------------------
def reach(vm, point, timeout=400):
    """Wait for the point's line and its offset."""
    if point.pattern:
        for _ in range(point.nth):
            vm.expect(point.pattern, timeout=timeout)
    time.sleep(max(0.0, vm.matched_at + point.offset - vm.now()))


def cut(vm, point):
    """Cut the power at the point; a note on how late after its line."""
    reach(vm, point)
    late_ms = (vm.now() - vm.matched_at) * 1000
    vm.kill()
    return f"cut {late_ms:.0f} ms after the line"


def narrowed(allow, disk, after="the cut"):
    """What allow leaves, given the image on disk now: (set, note)."""
    if image_valid(disk):
        return allow & {RESUMED}, f"image valid after {after}"
    return allow & {REFUSED}, f"no valid image after {after}"


# -- the boots after ------------------------------------------------------------
def finish(vm):
    """QEMU's exit status once the boot ended; None if it did not in time."""
    try:
        return vm.wait_exit(timeout=DEADLINE)
    except VMError:
        return None


def judge(vm, rc, mc, before, data):
    """One boot that ended: (outcome, detail), or None when R failed and
    rebooted (the next boot decides)."""
    if vm.seen(r"khib: resumed from the image|^N: hibernate rc="):
        return resumed(vm, mc, before)
    if vm.seen(r"^khib: resume failed: ") and vm.seen(r"^khib: rebooting into a normal boot$"):
        return None
    return normal_boot(vm, rc, mc, data)


def resumed(vm, mc, before):
    try:
        after = tr.resumed(vm, 1, before, 1, mc.method)
    except AssertionError as e:
        return PARTIAL, f"a resume that failed its checks: {first_line(e)}"
    if image_valid(mc.disk):
        return PARTIAL, "resumed, and the image is still valid"
    return RESUMED, f"workload passes {before['passes']} -> {after['passes']}"


def normal_boot(vm, rc, mc, data):
    """REFUSED if the boot went on normally and the disks say so."""
    lines = [s for _, s in vm.lines]
    ends = [i for i, s in enumerate(lines) if re.match(r"^R0: resume rc=\d+$", s)]
    if not ends:
        return PARTIAL, f"R0 never returned; last line: {lines[-1] if lines else '-'}"
    said = [s for s in lines[:ends[0]] if s.startswith("khib: ")]
    refusals = [m for m in map(REFUSAL.match, said) if m]
    others = [s for s in said if not REFUSAL.match(s) and not STREAM_BEGUN.match(s)]
    if others or len(refusals) > 1 or (said and not refusals):
        return PARTIAL, f"R0 said: {' | '.join(said)}"
    why = f"{refusals[0].group(1)}: {refusals[0].group(2)}" if refusals else "no image"
    if not vm.seen(r"^N: up cpus=0$") or rc != 0:
        return PARTIAL, f"{why}, then no normal boot (exit status {rc})"
    if data_digest(mc.data) != data:
        return PARTIAL, f"{why}, and the data disk changed"
    if image_valid(mc.disk):
        return PARTIAL, f"{why}, and the image is still valid"
    return REFUSED, why


def outcome(vm, mc, before, data, during=None):
    """A boot, to its end: (outcome, detail) or None (R rebooted); during(vm)
    runs once it started."""
    with vm:
        if during:
            during(vm)
        rc = finish(vm)
        if rc is None:
            return HUNG, f"{vm.name}: nothing within {DEADLINE} s; last: {vm.tail(1).strip()}"
        return judge(vm, rc, mc, before, data)


def settle(mc, before, data, notes=()):
    """Boot the disks until the machine settles: (outcome, detail)."""
    notes = list(notes)
    for _ in range(2):
        verdict = outcome(mc.boot(0), mc, before, data)
        if verdict:
            return verdict[0], "; ".join(notes + [verdict[1]])
        notes.append(f"boot{mc.boots}: R failed and rebooted")
    return PARTIAL, "; ".join(notes + ["a reboot loop"])


# -- writer side ----------------------------------------------------------------
def writer_trial(ctx, point, _base):
    mc = tr.Machine(ctx, 1)
    with mc.boot(1) as vm:
        before = tr.fresh_boot_until_hibernated(vm, 1)
        when = cut(vm, point)
    expect, state = narrowed(point.allow, mc.disk)
    result, detail = settle(mc, before, written_data(mc), [when, state])
    return result, detail, expect


# -- resume side ----------------------------------------------------------------
Base = namedtuple("Base", "disk data before digest")


def hibernate_base(out_dir):
    """The image every resume trial starts from."""
    mc = tr.Machine(Context("base", out_dir), 1)
    with mc.boot(1) as vm:
        before = tr.fresh_boot_until_hibernated(vm, 1)
        tr.hibernated(vm)
    assert image_valid(mc.disk), "the base image does not verify"
    return Base(mc.disk, mc.data, before, written_data(mc))


def machine_from(base, ctx, method):
    """A machine on copies of the base disks; its boots count on from the
    base's hibernating boot 1."""
    mc = tr.Machine(ctx, 1, method=method)
    mc.boots = 1
    for src, dst in ((base.disk, mc.disk), (base.data, mc.data)):
        subprocess.run(["cp", "--sparse=always", src, dst], check=True)
    return mc


def resume_trial(ctx, point, base):
    mc = machine_from(base, ctx, point.method)
    if point.fault:
        return read_error_trial(mc, point, base)
    with mc.boot(0) as vm:
        when = cut(vm, point)
    expect, state = narrowed(point.allow, mc.disk)
    result, detail = settle(mc, base.before, base.digest, [when, state])
    return result, detail, expect


def blkdebug_drive(mc, fault):
    """The image disk under blkdebug: once the host wrote zeroes to it,
    one read request fails ("once"), every read ("persistent"), or every
    read and write ("dead")."""
    cfg = mc.ctx.path("blkdebug.conf")
    iotype = "" if fault == "dead" else 'iotype = "read"\n'
    with open(cfg, "w") as f:
        f.write('[set-state]\nevent = "pwritev_zero"\nstate = "1"\nnew_state = "2"\n'
                '[inject-error]\nevent = "read_aio"\nstate = "2"\n' + iotype +
                f'errno = "5"\nonce = "{"on" if fault == "once" else "off"}"\n')
    return (f"driver=raw,file.driver=blkdebug,file.config={cfg},"
            f"file.image.driver=file,file.image.filename={mc.disk},"
            f"file.image.aio=threads,cache.direct=on,werror=report,rerror=report")


def faulty_boot(mc, fault):
    """Machine.boot(0), the image disk under blkdebug, QMP on."""
    return mc.boot(0, image_drive=blkdebug_drive(mc, fault), qmp=True)


def arm(vm, disk):
    """Write zeroes over the last sector of the image disk, past any image
    (a write-zeroes request, which the guest never makes): blkdebug's state
    2, where reads fail."""
    last = os.path.getsize(disk) - 512
    vm.hmp(f'qemu-io d0 "write -z {last} 512"')


def read_error_trial(mc, point, base):
    vm = faulty_boot(mc, point.fault)

    def armed(vm):
        reach(vm, point)
        arm(vm, mc.disk)
    verdict = outcome(vm, mc, base.before, base.digest, armed)
    fired = vm.seen(r"I/O error, dev vda")
    expect = point.allow if fired else frozenset()
    notes = [f"disk fault {point.fault}: " + (f"{len(fired)} failed requests" if fired
                                              else "never fired")]
    if verdict:
        return verdict[0], "; ".join(notes + [verdict[1]]), expect
    # R rebooted: what the image is now decides, as after a cut.
    expect, state = narrowed(expect, mc.disk, vm.name)
    notes += [f"{vm.name}: R failed and rebooted", state]
    result, detail = settle(mc, base.before, base.digest, notes)
    return result, detail, expect


# -- the campaign -----------------------------------------------------------------
def run_points(side, points, out_dir, tally):
    """Each point's trial, a row each; disks go where the outcome was allowed."""
    base = hibernate_base(out_dir) if side == "resume" else None
    trial = resume_trial if side == "resume" else writer_trial
    for point in points:
        ctx = Context(point.name, out_dir)
        try:
            result, detail, expect = trial(ctx, point, base)
        except VMError as e:  # the point never came
            result, detail, expect = PARTIAL, f"never reached: {first_line(e)}", frozenset()
        if tally.add(point.name, result, detail, expect=expect):
            drop_disks(ctx.dir)
    if base:
        drop_disks(os.path.dirname(base.disk))


def selected(side, names):
    points = POINTS[side]
    if not names:
        return points
    unknown = set(names) - {p.name for p in points}
    if unknown:
        raise SystemExit(f"unknown point(s): {', '.join(sorted(unknown))} (see --list)")
    return [p for p in points if p.name in names]


def main(argv):
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("side", choices=sorted(POINTS))
    ap.add_argument("--points", help="comma-separated point names (default: all)")
    ap.add_argument("--list", action="store_true", help="list the side's points")
    args = ap.parse_args(argv)
    points = selected(args.side, args.points.split(",") if args.points else [])
    if args.list:
        for p in points:
            print(p.name)
        return 0
    out_root = os.environ.get("KHIB_VM_OUT", os.path.join(TOP, "build-vm", "campaigns"))
    out_dir = os.path.join(os.path.abspath(out_root), f"powercut-{args.side}")
    tally = Tally(f"powercut-{args.side}")
    run_points(args.side, points, out_dir, tally)
    return tally.summary()


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
