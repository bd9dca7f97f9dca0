# SPDX-License-Identifier: GPL-2.0-only
"""Encrypted images: the whole cycle with a key file, and the refusals.

N's initramfs holds a key file (64 random bytes made on the host) and an
/etc/khib.conf naming it (key-file=), which both `khib hibernate` and `khib
resume` read.  N also holds a secret: a file of random text in its
initramfs (so in its memory), which must appear nowhere on the image disk.

  crypt_cycle_kexec      hibernate encrypted, resume through the restore
                         kernel (R0 unwraps the key, R gets it in the key
                         page): the workload carries on
  crypt_cycle_snapshot   the same through /dev/snapshot
  crypt_test_mode        hibernate --test: the writer verifies the encrypted
                         image with its key, discards it, comes back
  crypt_wrong_key        the next boot has another key file: refused with
                         one line, invalidated, normal boot
  crypt_forged_header    the image's jump entry rewritten and every public
                         checksum recomputed, as anyone with the disk can:
                         refused ("the header fails authentication")
  crypt_clear_refused    a valid image in clear on a machine that encrypts
                         (a downgrade, or a forgery from public facts):
                         refused, normal boot

With a passphrase (`khib key enroll passphrase` run on the host; N's
initramfs holds the protector and a khib.conf naming the key directory):

  passphrase_cycle_kexec     hibernation asks nothing; at resume the test
  passphrase_cycle_snapshot  types the passphrase at the serial console, as a
                             user would: it is not echoed, the image opens,
                             the workload carries on
  passphrase_wrong_kept      a wrong passphrase three times: the normal boot
                             goes on and the image is kept (N had no file
                             system the resume could not check); the next
                             boot, with the right one, resumes it intact
"""
import json
import os
import re
import struct
import sys

try:  # python3-xxhash: forge() recomputes checksums as a forger would
    import xxhash
except ImportError:  # a python3 of its own (pyenv) beside Debian's
    sys.path.append("/usr/lib/python3/dist-packages")
    import xxhash

from khibvm import TOP
from khibvm.host import khib_host
import test_resume as tr

KEY = "/etc/khib.key"


def key_files(ctx, name):
    """A key file and a config naming it, as (src, dest) for an initramfs;
    and the host path of the key."""
    key = ctx.path(f"{name}.key")
    with open(key, "wb") as f:
        f.write(os.urandom(64))
    conf = ctx.path(f"{name}.conf")
    with open(conf, "w") as f:
        f.write(f"key-file={KEY}\n")
    secret = ctx.path("secret.txt")
    if not os.path.exists(secret):
        with open(secret, "w") as f:
            f.write("khib-secret-" + os.urandom(24).hex() + "\n")
    return [(key, KEY[1:]), (conf, "etc/khib.conf"), (secret, "etc/secret.txt")], key


def secret(ctx):
    with open(ctx.path("secret.txt"), "rb") as f:
        return f.read().strip()


# Encryption under TCG runs at 14 MB/s (AES-256-GCM, AES-NI emulated) to
# 36 MB/s (XChaCha20) where the host does 1.2 and 0.57 GB/s: a smaller
# workload keeps these tests short.
WORKLOAD_MIB = 64


def encrypted_machine(ctx, cpus=1, method="kexec", hibargs=""):
    files, key = key_files(ctx, "n")
    mc = tr.Machine(ctx, cpus, hibargs=hibargs, method=method, files=files,
                    workload_mib=WORKLOAD_MIB, clear=False)
    mc.key = key
    return mc


def hibernate(ctx, mc):
    with mc.boot(1) as vm:
        before = tr.fresh_boot_until_hibernated(vm, mc.cpus)
        tr.hibernated(vm)
    info = json.loads(khib_host("inspect", "--json", mc.disk).stdout)
    assert info["encryption"] in ("aes-256-gcm", "xchacha20-poly1305"), info["encryption"]
    assert info["public_only"] is True and [s["type"] for s in info["key_slots"]] == ["key-file"]
    assert khib_host("verify", "--key-file", mc.key, mc.disk, check=False).returncode == 0
    with open(mc.disk, "rb") as f:
        assert secret(ctx) not in f.read(), "N's secret lies on the disk in clear"
    return before


def cycle(method):
    def run(ctx):
        mc = encrypted_machine(ctx, 1, method)
        before = hibernate(ctx, mc)
        with mc.boot(1) as vm:
            tr.resumed(vm, 1, before, 1, method)
            assert vm.wait_exit(timeout=120) == 0
        assert khib_host("verify", "--key-file", mc.key, mc.disk, check=False).returncode != 0
    return run


def test_mode(ctx):
    """--test: the writer verifies the encrypted image it wrote with the
    key it was given, discards it and comes back."""
    mc = encrypted_machine(ctx, hibargs="--test")
    with mc.boot(1) as vm:
        vm.expect(r"^N: hibernating cycle=1$", timeout=300)
        vm.expect(r"khib: test mode: image verified and invalidated; returning", timeout=300)
        vm.expect(r"^N: hibernate rc=0 cycle=1$", timeout=120)
        tr.workload_report(vm)
        vm.expect(r"^N: data disk intact cycle=1$")
        assert vm.wait_exit(timeout=120) == 0
    assert khib_host("verify", "--key-file", mc.key, mc.disk, check=False).returncode != 0


def refused_then_normal(mc, pattern, initrd=None):
    with mc.boot(0, initrd=initrd) as vm:
        m = vm.expect(r"khib: image on '/dev/vda' refused: (.*); invalidated$", timeout=240)
        assert re.fullmatch(pattern, m.group(1)), m.group(1)
        vm.expect(r"^R0: resume rc=1$")
        vm.expect(r"^N: up cpus=0$")
        assert not vm.seen(r"restore kernel up|through /dev/snapshot")
        assert vm.wait_exit(timeout=60) == 0
    assert khib_host("inspect", mc.disk, check=False).returncode != 0, "still valid"


def wrong_key(ctx):
    mc = encrypted_machine(ctx)
    hibernate(ctx, mc)
    files, _ = key_files(ctx, "other")
    _, other = tr.images(ctx, "", mc.workload_mib, files, name="other", clear=False)
    refused_then_normal(mc, r"no key slot of this image is for this key file", initrd=other)


def forge(disk):
    """Rewrite the jump-back entry and recompute every checksum anyone can
    (doc/FORMAT.md offsets): header hash, meta hash, commit record."""
    with open(disk, "r+b") as f:
        img = bytearray(f.read(16 << 20))
        h = 0x1000
        struct.pack_into("<Q", img, h + 0x070, 0x41414000)
        struct.pack_into("<Q", img, h + 0x3F8, xxhash.xxh3_64_intdigest(bytes(img[h:h + 0x3F8])))
        meta = xxhash.xxh3_64()
        end = struct.unpack_from("<Q", img, h + 0xC8)[0]
        f.seek(0)
        whole = f.read(end)
        for off_f, cnt_f, entry in ((0xD0, 0xD8, 16), (0xE8, 0xF0, 48), (0x100, 0x108, 1),
                                    (0x230, 0x238, 96)):
            off, cnt = struct.unpack_from("<QQ", img, h + off_f)[0], \
                struct.unpack_from("<Q", img, h + cnt_f)[0]
            meta.update(whole[off:off + cnt * entry + 16])
        meta.update(bytes(img[h:h + 1024]))
        struct.pack_into("<Q", img, 0x20, struct.unpack_from("<Q", img, h + 0x3F8)[0])
        struct.pack_into("<Q", img, 0x28, meta.intdigest())
        struct.pack_into("<Q", img, 0x38, xxhash.xxh3_64_intdigest(bytes(img[0:0x38])))
        f.seek(0)
        f.write(img[:0x2000])


def forged_header(ctx):
    mc = encrypted_machine(ctx)
    hibernate(ctx, mc)
    forge(mc.disk)
    r = khib_host("verify", "--key-file", mc.key, mc.disk, check=False)
    assert "the header fails authentication" in r.stderr, r.stderr
    refused_then_normal(mc, r"the header fails authentication: the image was forged or "
                        r"damaged, or the key is not its own")


def clear_refused(ctx):
    mc = encrypted_machine(ctx)
    img = ctx.path("clear.img")
    khib_host("import-elf", os.path.join(TOP, "tests", "fuzz", "corpus", "elfcore", "core1"), img)
    with open(img, "rb") as src, open(mc.disk, "r+b") as dst:
        dst.write(src.read())
    refused_then_normal(mc, r"the image is in clear, and this machine encrypts its images: a "
                        r"forged or downgraded image")


PASSPHRASE = "correct horse battery staple"


def passphrase_machine(ctx, method="kexec", cpus=1, workload_mib=WORKLOAD_MIB):
    """N with a passphrase protector 'laptop' enrolled by the host's khib."""
    conf = ctx.path("host.conf")
    keys = ctx.path("keys")
    with open(conf, "w") as f:
        f.write(f"key-dir = {keys}\n")
    khib_host("key", "enroll", "passphrase", "--name", "laptop", input=PASSPHRASE + "\n",
              config=conf)
    listed = json.loads(khib_host("key", "list", "--json", config=conf).stdout)
    assert [(k["name"], k["type"]) for k in listed["keys"]] == [("laptop", "passphrase")]
    guest_conf = ctx.path("guest.conf")
    with open(guest_conf, "w") as f:
        f.write("key-dir = /etc/khib/keys\n")
    secret_file = ctx.path("secret.txt")
    with open(secret_file, "w") as f:
        f.write("khib-secret-" + os.urandom(24).hex() + "\n")
    files = [(os.path.join(keys, "laptop"), "etc/khib/keys/laptop"),
             (guest_conf, "etc/khib.conf"), (secret_file, "etc/secret.txt")]
    mc = tr.Machine(ctx, cpus, method=method, files=files, workload_mib=workload_mib,
                    clear=False)
    mc.key_id = listed["keys"][0]["id"]
    return mc


def hibernate_locked(ctx, mc):
    """Hibernate; the image is sealed for the passphrase only."""
    with mc.boot(1) as vm:
        before = tr.fresh_boot_until_hibernated(vm, mc.cpus)
        tr.hibernated(vm)
        assert not vm.seen(r"passphrase:"), "hibernation asked a question"
    info = json.loads(khib_host("inspect", "--json", mc.disk).stdout)
    assert [(s["type"], s["id"]) for s in info["key_slots"]] == [("sealed", mc.key_id)], info
    with open(mc.disk, "rb") as f:
        assert secret(ctx) not in f.read(), "N's secret lies on the disk in clear"
    return before


def type_passphrase(vm, text, attempt):
    vm.expect(rf"khib: the hibernated system is locked with the passphrase 'laptop' "
              rf"\(try {attempt} of 3\)$", timeout=240)
    vm.type(text + "\n")


def passphrase_cycle(method):
    def run(ctx):
        mc = passphrase_machine(ctx, method)
        before = hibernate_locked(ctx, mc)
        with mc.boot(1, console_input=True) as vm:
            type_passphrase(vm, PASSPHRASE, 1)
            tr.resumed(vm, 1, before, 1, method)
            assert vm.wait_exit(timeout=120) == 0
            assert not vm.seen(re.escape(PASSPHRASE)), "the passphrase was echoed"
        assert khib_host("inspect", mc.disk, check=False).returncode != 0, "still valid"
    return run


def passphrase_wrong_kept(ctx):
    mc = passphrase_machine(ctx)
    before = hibernate_locked(ctx, mc)
    with mc.boot(0, console_input=True) as vm:
        for attempt in (1, 2, 3):
            type_passphrase(vm, f"wrong guess {attempt}", attempt)
            vm.expect(r"khib: that is not the passphrase of 'laptop'$", timeout=120)
        vm.expect(r"khib: image on '/dev/vda' not resumed: 3 wrong passphrases for 'laptop'; "
                  r"kept: a later boot resumes it unless this one changes its file systems$")
        vm.expect(r"^R0: resume rc=1$")
        vm.expect(r"^N: up cpus=0$")
        assert vm.wait_exit(timeout=60) == 0
    assert khib_host("inspect", mc.disk, check=False).returncode == 0, "the image is gone"
    with mc.boot(1, console_input=True) as vm:
        type_passphrase(vm, PASSPHRASE, 1)
        tr.resumed(vm, 1, before, 1, "kexec")
        assert vm.wait_exit(timeout=120) == 0


def tests():
    yield "crypt_cycle_kexec", cycle("kexec")
    yield "crypt_cycle_snapshot", cycle("snapshot")
    yield "crypt_test_mode", test_mode
    yield "crypt_wrong_key", wrong_key
    yield "crypt_forged_header", forged_header
    yield "crypt_clear_refused", clear_refused
    yield "passphrase_cycle_kexec", passphrase_cycle("kexec")
    yield "passphrase_cycle_snapshot", passphrase_cycle("snapshot")
    yield "passphrase_wrong_kept", passphrase_wrong_kept
