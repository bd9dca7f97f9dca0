# SPDX-License-Identifier: GPL-2.0-only
"""What a VM test gets: kernels, static binaries, a scratch directory.

    ctx = Context("roundtrip_1cpu", out_dir)   # empties <out_dir>/<name>
    kernel = ctx.kernel()                       # kernel/build.sh, cached
                                                # (KernelBuildError says why not)
    initrd = ctx.initramfs("n", init, files=[(ctx.bin("khib"), "bin/khib")])
"""
import os
import shutil
import subprocess

from . import TOP, static_build
from .initramfs import Initramfs


class Context:
    """What a test needs: kernels, static binaries, a scratch directory."""

    def __init__(self, name, out_dir):
        self.name = name
        self.build = static_build()
        self.dir = os.path.join(out_dir, name)
        shutil.rmtree(self.dir, ignore_errors=True)
        os.makedirs(self.dir)
        self.log_dir = self.dir

    def kernel(self, patched=True, physical_start=None):
        args = [os.path.join(TOP, "kernel", "build.sh")]
        if not patched:
            args.append("--without-patches")
        if physical_start is not None:
            args += ["--physical-start", hex(physical_start)]
        return _cached(tuple(args), lambda: _build_kernel(args))

    def bin(self, name):
        for sub in ("tools", "tests/vm"):
            p = os.path.join(self.build, sub, name)
            if os.path.exists(p):
                return p
        raise FileNotFoundError(f"{name} not built in {self.build}")

    def path(self, name):
        return os.path.join(self.dir, name)

    def initramfs(self, name, init, files=(), busybox=True, compress=True):
        """Build <dir>/<name>.cpio.gz (or .cpio, not compressed): init script,
        busybox, files (src, dest)."""
        ir = Initramfs()
        if busybox:
            ir.add_busybox()
        ir.add_init(init)
        for src, dest in files:
            ir.add_file(src, dest)
        return ir.write(self.path(name + (".cpio.gz" if compress else ".cpio")), compress)


class KernelBuildError(RuntimeError):
    pass


def _build_kernel(args, tail=40):
    """Run kernel/build.sh; the bzImage path it prints, or KernelBuildError
    with the end of what it said."""
    r = subprocess.run(args, capture_output=True, text=True)
    if r.returncode == 0:
        return r.stdout.strip()
    msg = [f"{' '.join(args)} failed (exit status {r.returncode})"]
    for name, text in (("stderr", r.stderr), ("stdout", r.stdout)):
        lines = text.rstrip("\n").splitlines()
        if lines:
            msg.append(f"  its {name}, last {min(len(lines), tail)} of {len(lines)} lines:")
            msg += [f"    {line}" for line in lines[-tail:]]
        else:
            msg.append(f"  its {name}: empty")
    raise KernelBuildError("\n".join(msg))


# Kernel builds, once per process.
_cache = {}


def _cached(key, fn):
    if key not in _cache:
        _cache[key] = fn()
    return _cache[key]
