# SPDX-License-Identifier: GPL-2.0-only
"""Disk faults while the writer kernel writes: every one ends in a jump
back to N with the workload intact, `khib hibernate` naming the cause, and
no valid image on the target.

Faults come from QEMU's blkdebug driver (a real block layer fault
injector) on the target disk, each once: a write at a chosen sector fails
(the first write, data early and late in the image, the header, the commit
record), a flush fails (the first, the one before the commit, the one after
it), the host disk is full late in the data.  The image's layout (doc/FORMAT.md): commit
block at sector 0, header at sector 8, chunks from sector 16 on; the
header and commit record are written last.  blkdebug's states count
events: state 1 is the start, and each set-state rule moves on at an event.

  fault_<name>   one VM each; `python3 tests/vm/run.py --list` names them
  fault_disk_removed  the target's host disk removed mid-write (drive_del)
"""
import re

from khibvm.host import khib_host, make_disk
import test_hibernate as th

SECTOR = 512
MIB = 1 << 20


def write_at(sector, errno=5, after_writes_to=None):
    """A write touching `sector` fails once; with after_writes_to, only
    after a first write to that sector went through."""
    if after_writes_to is None:
        return (f'[inject-error]\nevent = "pwritev"\nsector = "{sector}"\nerrno = "{errno}"\n'
                f'once = "on"\n')
    return (f'[set-state]\nevent = "pwritev"\nstate = "1"\nnew_state = "2"\n'
            f'[inject-error]\nevent = "pwritev"\nstate = "2"\nsector = "{sector}"\n'
            f'errno = "{errno}"\nonce = "on"\n')


def flush(nth):
    """The nth flush fails."""
    rules = "".join(f'[set-state]\nevent = "flush_to_disk"\nstate = "{i}"\nnew_state = "{i + 1}"\n'
                    for i in range(1, nth))
    return rules + (f'[inject-error]\nevent = "flush_to_disk"\nstate = "{nth}"\n'
                    f'iotype = "flush"\nerrno = "5"\nonce = "on"\n')


FAULTS = [
    # (name, blkdebug rules, what the abort line names)
    ("first_write", write_at(0), r"Input/output error"),
    ("data_1m", write_at(MIB // SECTOR), r"Input/output error"),
    ("data_32m", write_at(32 * MIB // SECTOR), r"Input/output error"),
    ("data_96m", write_at(96 * MIB // SECTOR), r"Input/output error"),
    # The host's ENOSPC: virtio-blk has no such status, the guest sees EIO.
    ("enospc_64m", write_at(64 * MIB // SECTOR, errno=28), r"Input/output error"),
    ("header", write_at(8), r"Input/output error"),
    ("commit_record", write_at(0, after_writes_to=0), r"Input/output error"),
    ("first_flush", flush(1), r"Input/output error"),
    ("flush_before_commit", flush(2), r"Input/output error"),
    ("flush_after_commit", flush(3), r"Input/output error"),
]


def fault(rules, cause):
    def run(ctx):
        disk = make_disk(ctx)
        cfg = ctx.path("blkdebug.conf")
        with open(cfg, "w") as f:
            f.write(rules)
        # blkdebug under the raw format node, so that it sees the flushes
        # too; errors go to the guest (QEMU's default stops the VM on ENOSPC).
        drive = (f"driver=raw,file.driver=blkdebug,file.config={cfg},"
                 f"file.image.driver=file,file.image.filename={disk},"
                 f"file.image.aio=threads,cache.direct=on,werror=report,rerror=report")
        with th.boot(ctx, "", drives=[drive]) as vm:
            th.workload_up(vm, 1)
            vm.expect(r"khib: hibernating: jumping to the writer kernel")
            m = vm.expect(r"khib: hibernation aborted in the writer kernel: (.*)", timeout=300)
            assert re.search(cause, m.group(1)), m.group(1)
            vm.expect(r"^N: hibernate rc=1$")
            assert not vm.seen(r"may hold a committed image"), "N could not invalidate"
            th.workload_intact(vm, 1)
            assert vm.wait_exit(timeout=60) == 0
        r = khib_host("verify", disk, check=False)
        assert r.returncode != 0, f"a valid image outlived the fault: {r.stdout}"
    return run




def disk_removed(ctx):
    """The target's host disk goes away mid-write (QEMU drive_del: the
    virtio disk stays, every request on it fails from then on, as on a
    disk that was pulled): the writer jumps back, N names the cause and
    its workload is intact, and no valid image is left."""
    disk = make_disk(ctx)
    drive = f"file={disk},format=raw,cache=none,aio=threads,werror=report,rerror=report"
    with th.boot(ctx, "", drives=[drive], qmp=True) as vm:
        th.workload_up(vm, 1)
        vm.expect(r"khib: hibernating: jumping to the writer kernel")
        vm.expect(r"khib: saving memory: +[1-9]\d% ", timeout=300)
        vm.hmp("drive_del d0")
        m = vm.expect(r"khib: hibernation aborted in the writer kernel: (.*)", timeout=300)
        assert re.search(r"Input/output error|No medium", m.group(1)), m.group(1)
        vm.expect(r"^N: hibernate rc=1$")
        th.workload_intact(vm, 1)
        assert vm.wait_exit(timeout=60) == 0
    r = khib_host("verify", disk, check=False)
    assert r.returncode != 0, f"a valid image outlived the removal: {r.stdout}"


def tests():
    for name, rules, cause in FAULTS:
        yield f"fault_{name}", fault(rules, cause)
    yield "fault_disk_removed", disk_removed
