#!/usr/bin/env python3
# SPDX-License-Identifier: GPL-2.0-only
"""Every crash state of the writer's target disk.

The commit protocol (doc/FORMAT.md) promises that a power cut at any point
leaves either no valid image or the complete new one, never the older image
after it was retired nor a mix of two.  The unit tests check that against a
model disk; this campaign checks it against the writes a real hibernation
sent to a real (emulated) disk.

One hibernation runs in test_hibernate's poweroff VM (512 MiB, 1 vCPU) onto
a target that holds a valid older image (`khib import-elf` of a tiny core,
as in hibernate_old_image_first).  The target sits under QEMU's blklogwrites
driver, which logs every write and flush the guest issued, in completion
order, to a second file in dm-log-writes format.  On the host the log is
replayed into the states a power cut could leave behind:

  prefix    the disk after each write: a disk that writes in order
  subset    for each flush epoch (the writes between two flushes), random
            subsets of its writes in random order on top of the state at the
            epoch's start: a volatile write cache may land any of the writes
            it was not yet told to flush, in any order (an epoch of one
            write has no subset that is not a prefix)

QEMU logs a write when it completed and a flush when it completed; the model
takes every write logged before a flush as durable by it.  That holds for
khib, which waits for its writes (fdatasync) before it flushes.  Torn writes
are not modelled: FORMAT.md assumes a sector is written whole.

Each state goes to the host's `khib verify`:
  REFUSED   no valid image (the older image, still valid before the first
            flush, counts here too: nothing was promised yet, and resume
            refuses an image of another kernel)
  RESUMED   a valid image whose commit record is the final image's: the
            record holds the header and metadata hashes, the metadata every
            chunk's hashes, and verify checked them all, so its content is
            the final image's
  PARTIAL   any other valid image: a mix, or the older image after the
            first flush (N retires it before the jump, and flushes)
States after the flush that follows the commit record must be RESUMED.

    tests/campaigns/crashstates.py [--quick] [--seed N] [--subsets N]

--quick replays prefixes only at flush boundaries and every --every'th write,
and 8 subsets per epoch (about 2 minutes with the VM, less on a fast host).
Scratch files go to build-vm/crashstates (kept with KHIB_VM_KEEP).
"""
import argparse
import glob
import os
import random
import struct
import sys
from collections import namedtuple

from tally import Tally, RESUMED, REFUSED, PARTIAL  # also puts tests/vm on sys.path

from khibvm import TOP
from khibvm.context import Context
from khibvm.host import khib_host, make_disk
import test_hibernate as th

# dm-log-writes (Linux drivers/md/dm-log-writes.c, QEMU block/blklogwrites.c),
# all little endian.  Log sector 0 holds the super block; entries follow from
# sector 1: one sector whose start is the entry, then, unless it is a
# discard, nr_sectors sectors of the data written.  `sector` counts log
# sectors (QEMU: offset >> log sector bits).
LOG_SUPER = struct.Struct("<QQQI")    # magic, version, nr_entries, sectorsize
LOG_ENTRY = struct.Struct("<QQQQ")    # sector, nr_sectors, flags, data_len
LOG_MAGIC = 0x6A736677736872
LOG_FLUSH, LOG_FUA, LOG_DISCARD, LOG_MARK = 1, 2, 4, 8
SECTOR = 512

COMMIT_RECORD = 64  # bytes at offset 0 (FORMAT.md)

# A write of `length` bytes at disk `offset`, its data at `data_at` in the log.
Write = namedtuple("Write", "offset length data_at")
FLUSH = "flush"


def read_log(path):
    """The log's entries in order: Write, or FLUSH."""
    with open(path, "rb") as f:
        magic, version, nr_entries, sector = LOG_SUPER.unpack(f.read(LOG_SUPER.size))
        assert (magic, version) == (LOG_MAGIC, 1), f"{path}: not a dm-log-writes log"
        size = os.fstat(f.fileno()).st_size
        entries, pos = [], sector
        # The super block's count is rewritten at flushes (and every 4096
        # entries) only: entries are read up to the end of the file, which
        # started empty.
        while pos + sector <= size:
            f.seek(pos)
            at, count, flags, _ = LOG_ENTRY.unpack(f.read(LOG_ENTRY.size))
            pos += sector
            assert not flags & (LOG_FUA | LOG_DISCARD | LOG_MARK), \
                f"{path}: entry {len(entries)} has flags {flags:#x}, which this replayer ignores"
            if flags & LOG_FLUSH:
                entries.append(FLUSH)
            elif count:
                entries.append(Write(at * sector, count * sector, pos))
            pos += count * sector
    assert len(entries) >= nr_entries, f"{path}: {len(entries)} of {nr_entries} entries"
    return entries


class State:
    """The working copy that every state is built in, write by write; a
    write can be taken back (the bytes it covered are kept)."""

    def __init__(self, path, log_path):
        self.path = path
        self.fd = os.open(path, os.O_RDWR | os.O_CLOEXEC)
        self.log = os.open(log_path, os.O_RDONLY | os.O_CLOEXEC)

    def apply(self, w):
        """Land w; returns what undoes it."""
        before = os.pread(self.fd, w.length, w.offset)
        os.pwrite(self.fd, os.pread(self.log, w.length, w.data_at), w.offset)
        return w.offset, before

    def undo(self, undos):
        for offset, before in reversed(undos):
            os.pwrite(self.fd, before, offset)

    def close(self):
        os.close(self.fd)
        os.close(self.log)


def commit_record(path):
    with open(path, "rb") as f:
        return f.read(COMMIT_RECORD)


def classify(path, final, old, old_may_live):
    """(outcome, detail) of the state in path; final and old are the two
    images' commit records."""
    r = khib_host("verify", path, check=False)
    if r.returncode != 0:
        why = r.stderr.strip().splitlines()[-1] if r.stderr.strip() else f"rc {r.returncode}"
        return REFUSED, why.split(f"'{path}': ", 1)[-1]
    rec = commit_record(path)
    if rec == final:
        return RESUMED, "the final image"
    if rec == old:
        if old_may_live:
            return REFUSED, "the older image, nothing flushed yet"
        return PARTIAL, "the older image is still valid after a flush"
    return PARTIAL, "a valid image that is neither the older nor the final one"


def hibernate(ctx):
    """The VM hibernates onto a target holding an older image, under
    blklogwrites: (target, log, the older image's commit record)."""
    disk = make_disk(ctx)
    old = ctx.path("old.img")
    khib_host("import-elf", os.path.join(TOP, "tests", "fuzz", "corpus", "elfcore", "core1"), old)
    with open(old, "rb") as src, open(disk, "r+b") as dst:
        dst.write(src.read())
    assert khib_host("verify", disk, check=False).returncode == 0
    log = ctx.path("writes.img")
    open(log, "wb").close()
    drive = (f"driver=blklogwrites,log-sector-size={SECTOR},"
             f"file.driver=file,file.filename={disk},log.driver=file,log.filename={log},"
             f"cache.direct=on")
    with th.boot(ctx, "", drives=[drive]) as vm:
        th.workload_up(vm, 1)
        vm.expect(r"khib: hibernating: jumping to the writer kernel")
        th.writer_saved(vm)
        vm.expect(r"khib: powering off", timeout=60)
        assert vm.wait_exit(timeout=120) == 0
    assert khib_host("verify", disk, check=False).returncode == 0, "the final image is not valid"
    return disk, log, commit_record(old)


def epochs(entries):
    """The writes' indices, cut at every flush: the last list holds the
    writes after the last flush."""
    out = [[]]
    for i, e in enumerate(entries):
        if e is FLUSH:
            out.append([])
        else:
            out[-1].append(i)
    return out


def subsets(writes, count, rng):
    """count distinct proper, non-empty subsets of writes, each in a random
    order (all of them, when there are fewer)."""
    n = len(writes)
    if n < 2:
        return []
    count = min(count, 2 ** n - 2)
    seen, out = set(), []
    while len(out) < count:
        pick = tuple(rng.sample(writes, rng.randint(1, n - 1)))
        if pick not in seen:
            seen.add(pick)
            out.append(pick)
    return out


class Campaign:
    def __init__(self, ctx, quick, every, per_epoch, seed):
        self.ctx, self.quick, self.every = ctx, quick, every
        self.per_epoch, self.seed = per_epoch, seed
        self.rng = random.Random(seed)
        self.tally = Tally("crashstates-quick" if quick else "crashstates")
        self.by_kind = {"prefix": [], "subset": []}

    def run(self):
        disk, log, self.old = hibernate(self.ctx)
        self.final = commit_record(disk)
        self.entries = read_log(log)
        self.describe_log()
        path = self.ctx.path("state.img")
        self.initial_state(path, os.path.getsize(disk))
        self.state = State(path, log)
        try:
            self.replay()
        finally:
            self.state.close()
        assert same_bytes(path, disk), "the whole log replayed is not the target disk"
        self.report()
        return self.tally

    def describe_log(self):
        writes = [e for e in self.entries if e is not FLUSH]
        self.first_flush = self.entries.index(FLUSH)
        commit_at = max(i for i, e in enumerate(self.entries)
                        if e is not FLUSH and e.offset == 0)
        assert FLUSH in self.entries[commit_at:], "no flush after the commit record"
        self.settled = self.entries.index(FLUSH, commit_at)
        sizes = [len(e) for e in epochs(self.entries)]
        print(f"crashstates: log of {len(self.entries)} entries: {len(writes)} writes "
              f"({sum(w.length for w in writes) >> 20} MiB), {self.entries.count(FLUSH)} flushes; "
              f"writes per flush epoch {sizes}; the commit record is entry {commit_at}, "
              f"flushed by entry {self.settled}")

    def initial_state(self, path, size):
        """The target before the VM: the older image on zeros."""
        with open(self.ctx.path("old.img"), "rb") as src, open(path, "wb") as dst:
            dst.truncate(size)
            dst.write(src.read())

    def replay(self):
        """Walks the log once: at each epoch's start the subsets (taken back
        after each), then the epoch's writes one by one as prefixes."""
        self.check("prefix", "prefix_none", -1)
        for n, writes in enumerate(epochs(self.entries)):
            for k, pick in enumerate(subsets(writes, self.per_epoch, self.rng)):
                undos = [self.state.apply(self.entries[i]) for i in pick]
                self.check("subset", f"epoch{n}_subset{k:02d}", writes[0] - 1,
                           f"{len(pick)} of {len(writes)} writes")
                self.state.undo(undos)
            for j, i in enumerate(writes):
                self.state.apply(self.entries[i])
                if not self.quick or j == len(writes) - 1 or (i + 1) % self.every == 0:
                    self.check("prefix", f"prefix_{i:04d}", i)
        # The same bytes as after the last write, but now flushed: it must resume.
        self.check("prefix", "prefix_end", len(self.entries) - 1, "the whole log")

    def check(self, kind, point, last, detail=""):
        """The state now, all entries up to `last` durable, into the tally."""
        outcome, why = classify(self.state.path, self.final, self.old, last < self.first_flush)
        expect = (RESUMED,) if last >= self.settled else (RESUMED, REFUSED)
        self.tally.add(point, outcome, f"{detail}: {why}" if detail else why, expect)
        self.by_kind[kind].append(outcome)

    def report(self):
        for kind, outcomes in self.by_kind.items():
            counts = ", ".join(f"{o} {outcomes.count(o)}" for o in (RESUMED, REFUSED, PARTIAL))
            print(f"crashstates: {len(outcomes)} {kind} states: {counts}")
        print(f"crashstates: up to {self.per_epoch} random subsets per flush epoch, "
              f"seed {self.seed}")


def same_bytes(a, b, block=1 << 20):
    with open(a, "rb") as fa, open(b, "rb") as fb:
        while True:
            x, y = fa.read(block), fb.read(block)
            if x != y:
                return False
            if not x:
                return True


def run(ctx, quick=False, every=25, per_epoch=None, seed=12):
    if per_epoch is None:
        per_epoch = 8 if quick else 128
    return Campaign(ctx, quick, every, per_epoch, seed).run()


def main(argv):
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--quick", action="store_true")
    ap.add_argument("--every", type=int, default=25, help="--quick: every Nth write")
    ap.add_argument("--subsets", type=int, help="random subsets per flush epoch "
                    "(default 128, --quick 8)")
    ap.add_argument("--seed", type=int, default=12)
    args = ap.parse_args(argv)
    out_dir = os.path.abspath(os.environ.get("KHIB_VM_OUT", os.path.join(TOP, "build-vm")))
    ctx = Context("crashstates", out_dir)
    tally = run(ctx, args.quick, args.every, args.subsets, args.seed)
    if not os.environ.get("KHIB_VM_KEEP"):
        for path in glob.glob(ctx.path("*.img")):
            os.unlink(path)
    return tally.summary()


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
