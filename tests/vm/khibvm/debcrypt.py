# SPDX-License-Identifier: GPL-2.0-only
"""Boot the Debian 12 of Debian's "Guided - use entire disk and set up
encrypted LVM" (khibvm/debcrypt_image.py builds and caches its disk) and
unlock it as a user would; give it files and a script to run.

    disk = machine_disk(ctx)                 # <test dir>/disk.img, a copy
    initrd = boot_initrd(ctx, disk)          # its /boot/initrd.img-*
    payload = payload_disk(ctx, "#!/bin/sh\\n...", files=[(src, "usr/sbin/x")])
    with boot(ctx, "boot1", disk, initrd, disks=[payload]) as vm:
        unlock(vm)                           # Debian's prompt; types PASSPHRASE
        vm.expect(...)
        assert vm.wait_exit(timeout=180) == 0
    initrd = boot_initrd(ctx, disk, "initrd2.img")   # again after the
                                             # guest's update-initramfs

The kernel is khib's (QEMU's -kernel), the initrd the one on the disk's
/boot (read by debugfs: the host cannot mount), the command line GRUB's
(root=/dev/mapper/debian--vg-root ro) with the serial console and only
systemd's errors on it.  The disk
is vda, the extra disks vdb...  A payload's script runs as root from a
oneshot unit ordered before multi-user.target, its output on the console;
payload_disk(poweroff=True) powers the machine off after it.
"""
import io
import json
import os
import subprocess
import tarfile
import time

from .debcrypt_image import (  # noqa: F401 (what the tests use)
    BOOT_UUID, CRYPT_NAME, ESP_ID, LUKS_UUID, MIB, PASSPHRASE, PAYLOAD_HEADER, PAYLOAD_MAGIC,
    PAYLOAD_POWEROFF, PAYLOAD_RUN, ROOT_DEV, ROOT_UUID, SWAP_DEV, SWAP_UUID, VG, cached_image)
from .debian import initrd_crypttab, initrd_files  # noqa: F401
from .qemu import VM

# systemd shows only errors on the console: its "A start job is running"
# animation, drawn while a long payload runs, would overwrite the start of
# the lines the tests read.
APPEND = f"root={ROOT_DEV} ro console=ttyS0 panic=-1 systemd.show_status=error"
PROMPT = rf"Please unlock disk {CRYPT_NAME}: "


def machine_disk(ctx, name="disk.img"):
    """A copy of the cached image in the test's directory, to boot and
    write to (sparse: about 0.4 GiB of its 4 GiB); the cache stays
    pristine."""
    disk = ctx.path(name)
    subprocess.run(["cp", "--sparse=always", cached_image(ctx), disk], check=True)
    return disk


def partitions(disk):
    """The disk image's partitions: [(start, size)] in bytes."""
    out = subprocess.run(["sfdisk", "--json", disk], capture_output=True, text=True,
                         check=True).stdout
    table = json.loads(out)["partitiontable"]
    sector = table.get("sectorsize", 512)
    return [(p["start"] * sector, p["size"] * sector) for p in table["partitions"]]


def _debugfs_boot(disk, request):
    """debugfs, read-only, on the /boot partition (vda2) where it lies in
    the disk image (FILE?offset=N): the host cannot mount it."""
    start, _ = partitions(disk)[1]
    return subprocess.run(["debugfs", "-R", request, f"{disk}?offset={start}"],
                          capture_output=True, text=True, check=True)


def boot_files(disk):
    """The names in the /boot partition's top directory."""
    out = _debugfs_boot(disk, "ls -p /").stdout
    # /inode/mode/uid/gid/name/size/
    return [line.split("/")[5] for line in out.splitlines() if line.count("/") >= 7]


def boot_file(disk, name, out):
    """Copy /boot/name out of the disk image to out."""
    if os.path.exists(out):
        os.unlink(out)
    r = _debugfs_boot(disk, f"dump /{name} {out}")
    assert os.path.exists(out), f"debugfs could not dump /boot/{name}: {r.stderr.strip()}"
    return out


def boot_initrd(ctx, disk, name="initrd.img"):
    """The disk's /boot/initrd.img-* as <ctx dir>/name, for -initrd: again
    after the guest ran update-initramfs."""
    # (update-initramfs keeps a .dpkg-bak while it works.)
    found = [f for f in boot_files(disk)
             if f.startswith("initrd.img-") and not f.endswith(".dpkg-bak")]
    assert len(found) == 1, f"initrds in /boot: {found}"
    return boot_file(disk, found[0], ctx.path(name))


def payload_disk(ctx, script=None, files=(), poweroff=False, name="payload.img"):
    """A disk for khib-test-payload.service: files ((src, dest) pairs, dest
    a path under /; directories recursively; dest "/" puts a directory's
    contents there, e.g. the tree of `scripts/install.sh --destdir`) in a
    tar, owned by root, and script (text) as /var/lib/khib-payload/run,
    which runs after they are extracted; with poweroff, the machine powers
    off when it is done."""
    buf = io.BytesIO()

    def root_owned(info):
        info.uid = info.gid = 0
        info.uname = info.gname = "root"
        return info

    with tarfile.open(fileobj=buf, mode="w", format=tarfile.GNU_FORMAT) as tar:
        for src, dest in files:
            dest = dest.strip("/")
            for entry in [""] if dest else sorted(os.listdir(src)):
                tar.add(os.path.join(src, entry) if entry else src,
                        arcname=os.path.join(dest, entry) if entry else dest, filter=root_owned)
        if script is not None:
            data = script.encode()
            info = root_owned(tarfile.TarInfo(PAYLOAD_RUN))
            info.size, info.mode, info.mtime = len(data), 0o755, int(time.time())
            tar.addfile(info, io.BytesIO(data))
        if poweroff:
            tar.addfile(root_owned(tarfile.TarInfo(PAYLOAD_POWEROFF)))
    data = buf.getvalue()
    header = f"{PAYLOAD_MAGIC}\nsize={len(data)}\n".encode()
    path = ctx.path(name)
    with open(path, "wb") as f:
        f.write(header.ljust(PAYLOAD_HEADER, b"\0"))
        f.write(data)
        f.truncate(-(-f.tell() // MIB) * MIB)
    return path


def boot(ctx, name, disk, initrd, disks=(), append="", mem="512M", cpus=2, deadline=900,
         **vm_args):
    """The machine with khib's kernel, initrd (boot_initrd()) and GRUB's
    command line for it (plus append), disk as vda and disks after it, a
    console to type at.  Start it with `with`."""
    kernel = ctx.kernel()
    return VM(name, kernel, initrd, f"{APPEND} {append}".strip(), mem=mem, cpus=cpus,
              disks=[disk, *disks], log_dir=ctx.log_dir, deadline=deadline,
              console_input=True, **vm_args)


def unlock(vm, passphrase=PASSPHRASE, timeout=400):
    """Wait for Debian's prompt for vda3_crypt's passphrase on the console
    (PROMPT, which ends without a newline), type passphrase, and wait for
    cryptsetup's word that the device is open; its error fails at once.
    (A test that types wrong ones does the same with vm.expect_text(PROMPT)
    and vm.type(), and expects cryptsetup's error.)"""
    vm.expect_text(PROMPT, timeout=timeout)
    vm.type(passphrase + "\n")
    m = vm.expect(rf"cryptsetup: (ERROR: )?{CRYPT_NAME}: ", timeout=120)
    if not m.string.endswith(f"cryptsetup: {CRYPT_NAME}: set up successfully"):
        vm.fail(f"Debian's initramfs did not unlock {CRYPT_NAME}: {m.string}")
