# SPDX-License-Identifier: GPL-2.0-only
"""khib on Debian 12 installed with encrypted LVM, as its installer's
"Guided - use entire disk and set up encrypted LVM" leaves it
(khibvm/debcrypt_image.py builds and caches the disk; khibvm/debcrypt.py
boots it, types at its console, delivers payloads): GPT, an ESP, /boot,
LUKS2 with debian-vg's root and swap LVs in it, Debian's own
cryptsetup-initramfs asking for the passphrase on the console.

  debcrypt_hibernate  five boots of one machine:
    1. Debian's prompt for vda3_crypt (the passphrase typed is not echoed);
       the root is debian-vg's root LV, linear over vda3_crypt, crypt over
       vda3 (device-mapper's tables and device numbers against lsblk), with
       /boot, /boot/efi and the swap LV in use.  A payload does what a user
       does: `apt-get install ./khib_*.deb` (with systemd running), `khib
       key enroll passphrase`, `khib check --json` (it fails, naming the
       target alone), `khib setup` (its dry run first changes
       nothing; then it makes the target, a file on the encrypted root sized
       for this machine, allocated and immutable, writes target= and runs
       update-initramfs -u; then khib check finds nothing failing; run
       again, setup has nothing to change).
       cryptsetup's hook found the root's stack by itself, khib's hook
       added the target map (the file's extents on vda3), khib, the
       restore kernel and the passphrase's protector
    2. Debian unlocks and boots; a service holds a workload and writes a
       file to the root, `systemctl hibernate`; the writer kernel writes
       the image into the file's sectors beneath LVM and LUKS and powers off
    3. khib's own prompt comes before Debian's (khib's init-premount script
       runs before cryptroot: a resume needs no disk passphrase, the
       resumed kernel has vda3_crypt open), the passphrase typed is not
       echoed, Debian's prompt never comes; the resume takes the default
       method (/dev/snapshot here).  The workload carries on, the file is
       read back through dm-crypt (caches dropped), vda3_crypt's table is
       what it was and the volume is in use, the root is written to; and
       the machine hibernates again
    4. as 3, through the restore kernel (khib.method=kexec on the command
       line); then the machine powers off
    5. the image is gone: no khib prompt, Debian's prompt; with the root
       mounted read-only and unchecked (fsck.mode=skip), at a shell that is
       init (init=/bin/sh), e2fsck -fn finds the root LV clean and the
       files written after the resumes are there

  Boot 1 takes minutes (two update-initramfs runs under TCG): the disk it
  leaves is cached (~/.cache/khib/debcrypt-setup-KEY.img), keyed by all it
  is made of (the installed image, the files and scripts of the package,
  whose build is reproducible, the test's scripts, units and workload), and
  a run with the same inputs starts at boot 2.
"""
import glob
import hashlib
import io
import json
import os
import re
import subprocess
import tarfile

from khibvm import deb
from khibvm import debcrypt as dc
from khibvm.debian import TEST_UNITS, cache_dir, cache_lock, install_test
from khibvm.guest import DEBIAN_WORKLOAD


def stack(vm):
    """The console's report of what the root stands on: {name: (majmin,
    type, fstype, mountpoint)} from lsblk, {name: table} from dmsetup."""
    m = vm.expect(r"^debcrypt: root (.*)$", timeout=400)
    assert m.group(1) == f"{dc.ROOT_DEV} ext4", f"the root is not debian-vg's root LV: {m[0]}"
    vm.expect(r"^debcrypt: reported$", timeout=120)
    blk = {}
    for line in vm.seen(r"^debcrypt: blk "):
        f = line.split(" ")[2:] + [""] * 5
        blk[f[0]] = tuple(f[1:5])
    dm = {}
    for line in vm.seen(r"^debcrypt: dm "):
        name, _, table = line.removeprefix("debcrypt: dm ").partition(": ")
        dm[name] = table
    return blk, dm


def check_stack(vm):
    blk, dm = stack(vm)
    root = dm.get("debian--vg-root", "")
    crypt = dm.get(dc.CRYPT_NAME, "")
    assert re.fullmatch(r"0 \d+ linear \d+:\d+ \d+", root), f"root LV's table: {dm}"
    assert re.fullmatch(r"0 \d+ crypt aes-xts-plain64 \S+ 0 \d+:\d+ \d+.*", crypt), \
        f"{dc.CRYPT_NAME}'s table: {dm}"
    assert root.split()[3] == blk.get(dc.CRYPT_NAME, ("",))[0], \
        f"the root LV does not lie on {dc.CRYPT_NAME}: {root} / {blk}"
    assert crypt.split()[6] == blk.get("vda3", ("",))[0], \
        f"{dc.CRYPT_NAME} does not lie on vda3: {crypt} / {blk}"
    want = {"vda1": ("part", "vfat", "/boot/efi"), "vda2": ("part", "ext4", "/boot"),
            "vda3": ("part", "crypto_LUKS", ""), dc.CRYPT_NAME: ("crypt", "LVM2_member", ""),
            "debian--vg-root": ("lvm", "ext4", "/"),
            "debian--vg-swap_1": ("lvm", "swap", "[SWAP]")}
    got = {name: blk.get(name, (None,))[1:] for name in want}
    assert got == want, f"lsblk: {got}, not {want}"


def unlocked(vm):
    """Debian's prompt came (unlock() waits for it), the passphrase typed
    at it did not show."""
    dc.unlock(vm)
    assert not vm.seen(re.escape(dc.PASSPHRASE)), "the passphrase was echoed"




# khib's passphrase, not the disk's: a resume asks for this one only.
KHIB_PASSPHRASE = "khib resume passphrase 7"
KHIB_PROMPT = (r"khib: the hibernated system is locked with the passphrase '[^']+' "
               r"\(try 1 of 3\)\r?\npassphrase: ")
IMAGE = "/var/lib/khib/image"
WORKLOAD_MIB = 160
CYCLES = 2

# The first boot's payload: what a user does to set khib up on this
# machine: install the package, tell it where its kernels' messages go
# (and to end a test machine on a panic), enroll a passphrase, `khib setup`
# (a dry run first, and again at the end: nothing left to change).
SETUP = r"""#!/bin/sh
# Each step's output, then its exit status: the test reads the output once
# it sees the status.
step() { # NAME TAG COMMAND...
    name=$1 tag=$2
    shift 2
    "$@" >/tmp/step.log 2>&1
    rc=$?
    sed "s/^/$tag: /" /tmp/step.log
    echo "T: $name rc=$rc"
}
export DEBIAN_FRONTEND=noninteractive
echo "T: setup from $1"
mkdir -p /var/lib/debcrypt-test
echo @TOKEN@ > /var/lib/debcrypt-test/stamp
step "apt-get install" A apt-get install -y -q @DEB@ </dev/null
step enroll E sh -c "printf '%s\n' '@PASS@' | khib key enroll passphrase"
khib check --json >/tmp/check.json 2>/dev/null
rc=$?
sed 's/^/C1: /' /tmp/check.json
echo "T: check before setup rc=$rc"
step "setup --dry-run" D khib setup --dry-run
[ -e @IMAGE@ ] || echo "T: the dry run made nothing"
step setup S khib setup
khib check --json >/tmp/check.json 2>/dev/null
rc=$?
sed 's/^/C2: /' /tmp/check.json
echo "T: check after setup rc=$rc"
step "setup again" R khib setup
sync
"""

# The test's script: `start` once the system is up, `resumed` after each
# resume (khibvm.debian.TEST_UNITS).
SCRIPT = "#!/bin/sh\n" + DEBIAN_WORKLOAD + r"""case "$1" in
start)
    start_workload @MIB@
    echo "T: stamp $(cat /var/lib/debcrypt-test/stamp)"
    head -c 1048576 /dev/urandom > /var/tmp/before
    sha256sum /var/tmp/before > /var/tmp/before.sum
    sync
    dmsetup table @CRYPT@ > /run/wl/crypt.table
    report
    n=1
    while [ $n -le @CYCLES@ ]; do
        echo $n > /run/wl/cycle
        echo "T: hibernating cycle=$n"
        systemctl hibernate
        echo "T: systemctl hibernate rc=$? cycle=$n"
        # Without logind systemctl does not wait for the hibernation.
        while [ ! -e /run/wl/resumed-$n ]; do sleep 0.5; done
        n=$((n + 1))
    done
    systemctl poweroff
    wait
    ;;
resumed)
    n=$(cat /run/wl/cycle)
    echo "T: resumed cycle=$n"
    report
    # Read back through dm-crypt, not from the page cache.
    sync
    echo 3 > /proc/sys/vm/drop_caches
    if sha256sum -c /var/tmp/before.sum >/dev/null 2>&1; then
        echo "T: root file intact cycle=$n"
    fi
    if dmsetup table @CRYPT@ | cmp -s - /run/wl/crypt.table; then
        echo "T: crypt table kept cycle=$n"
    fi
    if cryptsetup status @CRYPT@ | grep -q "is active and is in use"; then
        echo "T: crypt volume in use cycle=$n"
    fi
    if head -c 1048576 /dev/urandom > /var/tmp/after-$n &&
       sha256sum /var/tmp/after-$n > /var/tmp/after-$n.sum && sync; then
        echo "T: root written cycle=$n"
    fi
    echo "T: cpus online $(cat /sys/devices/system/cpu/online) cycle=$n"
    touch /run/wl/resumed-$n
    ;;
esac
"""

# Typed at the shell that is init (init=/bin/sh) of the last boot, the root
# mounted read-only by Debian's initramfs, which did not check it
# (fsck.mode=skip): what the power-off left, unrepaired.
CHECK = ("e2fsck -fn @ROOT@ >/run/fsck.log 2>&1; echo \"T: fsck rc=$?\"; "
         "sed 's/^/F: /' /run/fsck.log; cd /var/tmp && "
         "sha256sum -c @SUMS@ >/dev/null && echo \"T: files written after the resumes there\"; "
         "sync; poweroff -ff\n")


def fill(text, **values):
    for k, v in values.items():
        text = text.replace(f"@{k}@", str(v))
    return text


DEB = "/var/lib/khib-test/khib.deb"


def setup_payload(ctx, token):
    """The first boot's payload: SETUP, khib's package, and the test's
    script, units and workload."""
    tree = ctx.path("tree")
    install_test(tree, fill(SCRIPT, MIB=WORKLOAD_MIB, CRYPT=dc.CRYPT_NAME, CYCLES=CYCLES),
                 ctx.bin("khib-workload"))
    setup = fill(SETUP, TOKEN=token, IMAGE=IMAGE, PASS=KHIB_PASSPHRASE, DEB=DEB)
    return dc.payload_disk(ctx, setup, files=[(tree, "/"), (deb.package(), DEB)],
                           poweroff=True)


def check_report(vm, tag):
    """`khib check --json`'s object, from its lines on the console."""
    text = "".join(line[len(tag) + 2:] for line in vm.seen(rf"^{tag}: "))
    try:
        return json.loads(text)
    except ValueError:
        raise AssertionError(f"khib check --json printed {text!r}")


def never_asked_by_debian(vm):
    assert dc.PROMPT.encode() not in vm.raw, "Debian asked for the disk's passphrase"


def workload_report(vm):
    m = vm.expect(r"workload: passes=(\d+) errors=(\d+) counter=\d+ pipe=(\d+)", timeout=180)
    assert m.group(2) == "0", f"the workload found {m.group(2)} errors"
    return int(m.group(1)), int(m.group(3))


def hibernated(vm, cycle):
    vm.expect(rf"^T: hibernating cycle={cycle}$", timeout=120)
    # (khib's own "jumping" line goes through the journal, which the jump
    # may freeze before it reaches the console.)
    jumped = vm.consumed
    vm.expect(r"khib: writer kernel up", timeout=180)
    # The machine keeps the package's khib.conf, so the writer gets khib's
    # default command line, which has quiet: its kernel's boot messages
    # stay off the console (an informational one every boot prints, for
    # one).
    boot = [text for _, text in vm.lines[jumped:vm.consumed]]
    assert not [s for s in boot if "Run /init as init process" in s], \
        "the writer kernel's boot was not quiet (khib's default command line has quiet)"
    vm.expect(r"khib: image committed: \d+ MiB of RAM", timeout=400)
    vm.expect(r"khib: powering off", timeout=60)
    assert vm.wait_exit(timeout=120) == 0


def resumed(vm, cycle, before, method):
    """khib's prompt, its passphrase typed, the resume by method, and the
    machine checked by the resumed service; the workload's report after."""
    vm.expect_text(KHIB_PROMPT, timeout=400)
    vm.type(KHIB_PASSPHRASE + "\n")
    if method == "snapshot":
        vm.expect(r"khib: resuming 6\.1\.\d+ from '[^']+' through /dev/snapshot", timeout=300)
    else:
        vm.expect(r"khib: resuming 6\.1\.\d+ from '[^']+': ", timeout=300)
        vm.expect(r"khib: restore kernel up", timeout=120)
        vm.expect(r"khib: jumping into the resumed kernel", timeout=300)
    vm.expect(rf"^T: resumed cycle={cycle}$", timeout=180)
    after = workload_report(vm)
    assert after[0] > before[0] and after[1] > before[1], "the workload did not go on"
    for what in ("root file intact", "crypt table kept", "crypt volume in use", "root written"):
        vm.expect(rf"^T: {what} cycle={cycle}$", timeout=120)
    vm.expect(rf"^T: cpus online 0-1 cycle={cycle}$")
    assert not vm.seen(re.escape(KHIB_PASSPHRASE)), "khib's passphrase was echoed"
    never_asked_by_debian(vm)
    assert not vm.seen(r"debcrypt: reported"), "the machine booted afresh"
    if method == "snapshot":
        assert not vm.seen(r"restore kernel up"), "a restore kernel booted"
    return after


def set_up(ctx, disk, token):
    """Boot 1: Debian's encrypted install, checked, and khib installed and
    set up on it as a user does (SETUP)."""
    initrd = dc.boot_initrd(ctx, disk)
    tab = dc.initrd_crypttab(dc.initrd_files(initrd))
    assert tab == f"{dc.CRYPT_NAME} UUID={dc.LUKS_UUID} none luks,discard,initramfs\n", \
        f"the image's own initrd: crypttab {tab!r}"
    payload = setup_payload(ctx, token)
    with dc.boot(ctx, "boot1-setup", disk, initrd, disks=[payload]) as vm:
        unlocked(vm)
        check_stack(vm)
        vm.expect(r"^T: setup from /dev/vdb$", timeout=120)
        m = vm.expect(r"^T: apt-get install rc=(\d+)$", timeout=600)
        assert m.group(1) == "0", f"apt-get install: {vm.seen(r'^A: ')}"
        m = vm.expect(r"^T: enroll rc=(\d+)$", timeout=300)
        assert m.group(1) == "0", f"khib key enroll: {vm.seen(r'^E: ')}"
        # khib check on the machine not set up yet names what is missing.
        m = vm.expect(r"^T: check before setup rc=(\d+)$", timeout=300)
        report = check_report(vm, "C1")
        assert m.group(1) == "1" and not report["ok"], f"khib check before setup: {report}"
        failed = [c["name"] for c in report["checks"] if c["level"] == "fail"]
        assert failed == ["target"], f"khib check before setup failed {failed}: {report}"
        m = vm.expect(r"^T: setup --dry-run rc=(\d+)$", timeout=120)
        assert m.group(1) == "0", f"khib setup --dry-run: {vm.seen(r'^D: ')}"
        assert vm.seen(rf"^D: khib: setup: would create '{IMAGE}': \d+ MiB"), vm.seen(r"^D: ")
        vm.expect(r"^T: the dry run made nothing$")
        m = vm.expect(r"^T: setup rc=(\d+)$", timeout=600)
        assert m.group(1) == "0", f"khib setup: {vm.seen(r'^S: ')}"
        for line in (rf"created '{IMAGE}': \d+ MiB, allocated, immutable",
                     r"/etc/khib\.conf: target = " + re.escape(IMAGE),
                     r"running update-initramfs -u", r"done"):
            assert vm.seen(r"^S: khib: setup: " + line), f"khib setup: {vm.seen(r'^S: ')}"
        # ... and after it, nothing.
        m = vm.expect(r"^T: check after setup rc=(\d+)$", timeout=300)
        report = check_report(vm, "C2")
        assert m.group(1) == "0" and report["ok"], f"khib check after setup: {report}"
        assert not [c for c in report["checks"] if c["level"] == "fail"], report
        m = vm.expect(r"^T: setup again rc=(\d+)$", timeout=300)
        assert m.group(1) == "0" and vm.seen(rf"^R: khib: setup: nothing to change: '{IMAGE}'"), \
            f"khib setup, again: {vm.seen(r'^R: ')}"
        vm.expect(r"^khib-payload: run rc=0$")
        assert vm.wait_exit(timeout=180) == 0


def package_digest(path):
    """What a .deb installs and runs: its files and maintainer scripts, by
    name, mode and bytes; not its version (a commit's hash) or changelog,
    which every commit changes and no test boot looks at."""
    h = hashlib.sha256()
    for what in ("--fsys-tarfile", "--ctrl-tarfile"):
        data = subprocess.run(["dpkg-deb", what, path], capture_output=True, check=True).stdout
        with tarfile.open(fileobj=io.BytesIO(data)) as tar:
            for m in sorted(tar.getmembers(), key=lambda m: m.name):
                if m.name.startswith("./usr/share/doc/") or m.name in ("./control",
                                                                       "./md5sums"):
                    continue
                h.update(f"{m.name} {m.mode:o} {m.type} {m.linkname}\0".encode())
                if m.isfile():
                    h.update(tar.extractfile(m).read())
    return h.hexdigest()


def set_up_cached(ctx, disk):
    """The disk after boot 1 (set_up()), from the cache when boot 1 already
    passed with exactly these inputs: the installed image, what the .deb
    installs (package_digest(); the build is reproducible), the scripts,
    units and workload.  Boot 1 installs and sets up for minutes
    (two update-initramfs runs under TCG); the boots after it run every
    time.  Returns the token the root holds."""
    h = hashlib.sha256()
    h.update(os.path.basename(dc.cached_image(ctx)).encode() + b"\0")
    for part in (SETUP, SCRIPT, KHIB_PASSPHRASE, repr(TEST_UNITS)):
        h.update(part.encode() + b"\0")
    h.update(package_digest(deb.package()).encode())
    with open(ctx.bin("khib-workload"), "rb") as f:
        h.update(f.read())
    key = h.hexdigest()[:16]
    token = key  # what boot 1 writes to the root, the same for a cached disk
    cached = os.path.join(cache_dir(), f"debcrypt-setup-{key}.img")
    with cache_lock("debcrypt-setup"):
        if os.path.exists(cached):
            subprocess.run(["cp", "--sparse=always", cached, disk], check=True)
            print(f"boot1-setup: passed before with these inputs; its disk from {cached}")
            return token
        set_up(ctx, disk, token)
        for old in glob.glob(os.path.join(cache_dir(), "debcrypt-setup-*.img")):
            os.unlink(old)
        subprocess.run(["cp", "--sparse=always", disk, cached + ".tmp"], check=True)
        os.replace(cached + ".tmp", cached)
    return token


def hibernate(ctx):
    disk = dc.machine_disk(ctx)
    token = set_up_cached(ctx, disk)
    initrd = dc.boot_initrd(ctx, disk, "initrd2.img")
    files = dc.initrd_files(initrd)
    tab = dc.initrd_crypttab(files)
    assert tab == f"{dc.CRYPT_NAME} UUID={dc.LUKS_UUID} none luks,discard\n", \
        f"the guest's initrd: crypttab {tab!r} (not found from the root's stack)"
    for want in ("usr/sbin/khib", "etc/khib/target.map", "etc/khib.conf",
                 "etc/khib/keys/passphrase",
                 "usr/lib/khib/vmlinuz", "usr/lib/khib/initrd.img",
                 "scripts/init-premount/khib"):
        assert want in files, f"the guest's initrd has no {want}"
    # The map the hook wrote: the file's extents on vda3, beneath LVM and
    # LUKS, found by partition number and size (virtio disks have no id).
    lines = files["etc/khib/target.map"].decode().splitlines()
    mapped = dict(line.split(" = ", 1) for line in lines if " = " in line)
    assert mapped.get("target") == IMAGE and mapped.get("device") == "vda3" and \
        mapped.get("part") == "3", f"the initramfs's target map: {lines}"
    assert [line for line in lines if re.fullmatch(r"extent = \d+ \d+", line)], \
        f"the target map has no extents: {lines}"

    with dc.boot(ctx, "boot2-hibernate", disk, initrd) as vm:
        unlocked(vm)
        check_stack(vm)
        m = vm.expect(r"^T: stamp (.*)$", timeout=300)
        assert m.group(1) == token, f"the file on the root says {m.group(1)!r}, not {token}"
        before = workload_report(vm)
        hibernated(vm, 1)
        # Printed before the jump or after the resume: either boot.
        rcs = vm.seen(r"^T: systemctl hibernate rc=")
    with dc.boot(ctx, "boot3-resume-snapshot", disk, initrd) as vm:
        before = resumed(vm, 1, before, "snapshot")
        hibernated(vm, 2)
        rcs += vm.seen(r"^T: systemctl hibernate rc=")
    with dc.boot(ctx, "boot4-resume-kexec", disk, initrd, append="khib.method=kexec") as vm:
        resumed(vm, 2, before, "kexec")
        assert vm.wait_exit(timeout=180) == 0
        rcs += vm.seen(r"^T: systemctl hibernate rc=")
    assert rcs == [f"T: systemctl hibernate rc=0 cycle={n}" for n in (1, 2)], \
        f"systemctl hibernate: {rcs}"
    # The image is gone; the root file system, written to after each resume
    # and unmounted at the power-off, is clean.
    with dc.boot(ctx, "boot5-check", disk, initrd, append="init=/bin/sh fsck.mode=skip") as vm:
        unlocked(vm)
        assert not vm.seen(r"khib: resuming"), "the image was resumed twice"
        vm.expect_text(r"(?:^|\n)# $", timeout=300)
        vm.type(fill(CHECK, ROOT=dc.ROOT_DEV,
                     SUMS=" ".join(f"after-{n}.sum" for n in range(1, CYCLES + 1))))
        m = vm.expect(r"^T: fsck rc=(\d+)$", timeout=300)
        assert m.group(1) == "0", f"e2fsck -fn of the root: {vm.seen(r'^F: ')}"
        vm.expect(r"^T: files written after the resumes there$", timeout=60)
        assert vm.wait_exit(timeout=120) == 0


def tests():
    yield "debcrypt_hibernate", hibernate
