# SPDX-License-Identifier: GPL-2.0-only
"""The host's side of a VM test: khib run on the host to check the images
the VMs write, and the disks they write them to.

    disk = make_disk(ctx)                          # <ctx dir>/disk.img, sparse
    khib_host("verify", disk, check=False).returncode
    info = json.loads(khib_host("inspect", "--json", disk).stdout)
"""
import os
import re
import subprocess

from . import static_build

# An image disk for a 512 MiB machine: room for the worst case and more.
DISK_BYTES = 768 << 20


def khib_host(*args, check=True, input=None, config=None):
    """khib on the host, for inspecting images: the same static build the
    VMs run (the VM tests and the demo always build it).  config: a
    khib.conf for it ($KHIB_CONFIG); input: its standard input."""
    exe = os.path.join(static_build(), "tools", "khib")
    env = dict(os.environ, KHIB_CONFIG=config) if config else None
    return subprocess.run([exe, *args], capture_output=True, text=True, check=check,
                          input=input, env=env)


def make_disk(ctx, size=DISK_BYTES):
    """A sparse, all-zero disk image of size bytes: <ctx dir>/disk.img."""
    path = ctx.path("disk.img")
    with open(path, "wb") as f:
        f.truncate(size)
    return path


def with_libraries(programs, extra_libs=(), dest="host"):
    """The host's dynamically linked programs for a guest initramfs, with
    every library they (and extra_libs, loaded by name at run time) need:
    (src, dest) pairs, each program under <dest>/ by its name (not where
    busybox's applets of the same names are), each library where the host
    has it (the loader searches /lib/x86_64-linux-gnu and /lib64 without a
    cache)."""
    files = [(p, f"{dest}/{os.path.basename(p)}") for p in programs]
    libs = set(extra_libs)
    for exe in list(programs) + list(extra_libs):
        out = subprocess.run(["ldd", exe], capture_output=True, text=True, check=True).stdout
        for line in out.splitlines():
            m = re.search(r"(?:=> )?(/\S+) \(0x", line)
            if m:
                libs.add(m.group(1))
    for lib in sorted(libs):
        files.append((os.path.realpath(lib), lib.lstrip("/")))
    return files
