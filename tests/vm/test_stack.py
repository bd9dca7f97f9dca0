# SPDX-License-Identifier: GPL-2.0-only
"""Targets beneath device-mapper: the layout of Debian's encrypted install
(GPT; LUKS2 on the second partition; LVM inside; ext4 on an LV), made in
the guest by the host's own cryptsetup, lvm and mke2fs.

N resolves the target before the jump (lib/system/blockmap.h): a preallocated,
immutable file on the ext4 root, through its FIEMAP extents, the LV's
dm-linear segments and dm-crypt's data offset, down to sectors of /dev/vda2;
or a dedicated LV through its segments.  The writer kernel has no
device-mapper and no volume key: it writes those sectors, encrypted by khib.
The next boot either resumes the image before it unlocks anything, by the
target map (as khib's initramfs, which runs before Debian's cryptroot), or
opens LUKS and LVM, mounts the root read-only without replaying its
journal, checks the image with `khib verify` through the same resolution,
and resumes it.  The resumed kernel finds its workload, a file on the root
and the open LUKS mapping intact, writes to the root, and its file system
is clean (e2fsck -fn).

  stack_file_kexec      a file on the root, resumed by the restore kernel
                        after the next boot unlocked and mounted the root;
                        first, the refusals: a file that is not immutable,
                        an image in clear beneath dm-crypt, and (with
                        khib's initramfs hook installed) an initramfs
                        without the target's map or with a stale one; then
                        a --test round trip
  stack_file_map_snapshot  the file in hundreds of extents (the free space
                        cut into 2 MiB holes first), resumed through
                        /dev/snapshot by a boot that unlocked nothing: it
                        has the target map (`khib target --map`, as khib's
                        initramfs hook writes it), and the file's path does
                        not exist there
  stack_lv_map_kexec    a dedicated LV, by its map, by the restore kernel
"""
import os
import re
import subprocess

from khibvm import guest
from khibvm.host import with_libraries
from khibvm.qemu import VM

MEM = "512M"
WORKLOAD_MIB = 160
DISK_BYTES = 2300 << 20

LVM_CONF = """devices { obtain_device_list_from_udev = 0 }
activation { udev_sync = 0 udev_rules = 0 monitoring = 0 }
backup { backup = 0 archive = 0 }
"""

INIT = r"""#!/bin/sh
""" + guest.MOUNTS + guest.REPORT + r"""mkdir -p /run/cryptsetup /run/lock/lvm /mnt
# The host's programs, by path: busybox prefers its own applets.
arg() { sed -n "s/.*khibtest.$1=\([^ ]*\).*/\1/p" /proc/cmdline; }
target=$(arg target)
method=$(arg method)
K="--kernel /h/bzImage --initrd /h/initrd.cpio.gz --key-file /etc/khib.key"
# earlyprintk: the jumped-to kernel's first lines, should it stop before
# its console (a hang seen once in CI after "Suspending console(s)").
A="console=ttyS0 earlyprintk=serial panic=-1 nr_cpus=1"
open_stack() {
    /host/cryptsetup open --key-file /etc/luks.key /dev/vda2 crypt &&
    /host/lvm vgchange -q -ay vg >/dev/null
}
if /host/cryptsetup isLuks /dev/vda2 && grep -q khibtest.bymap /proc/cmdline; then
    # The next boot, as khib's initramfs: nothing unlocked or mounted; the
    # target map (here from the first partition, where the first boot put
    # it) says where the image lies.
    mkdir -p /etc/khib
    dd if=/dev/vda1 bs=65536 count=1 2>/dev/null | tr -d '\000' > /etc/khib/target.map
    [ -e "$target" ] && echo "R0: $target is there"
    khib resume --image "$target" $K --append "$A" --method=$method
    echo "R0: resume rc=$?"
    poweroff -f
elif /host/cryptsetup isLuks /dev/vda2; then
    # The next boot: unlock, activate, mount read-only; verify, resume.
    open_stack || echo "R0: cannot open the stack"
    mount -o ro,noload /dev/vg/root /mnt
    khib verify --key-file /etc/khib.key "$target"
    echo "R0: verify rc=$?"
    khib resume --image "$target" $K --append "$A" --method=$method
    echo "R0: resume rc=$?"
    poweroff -f
fi
# The first boot: the installer's layout, then hibernate.
/host/cryptsetup luksFormat -q --type luks2 --pbkdf pbkdf2 --pbkdf-force-iterations 1000 \
    --key-file /etc/luks.key /dev/vda2 &&
    /host/cryptsetup open --key-file /etc/luks.key /dev/vda2 crypt &&
    /host/lvm pvcreate -q /dev/mapper/crypt >/dev/null &&
    /host/lvm vgcreate -q vg /dev/mapper/crypt >/dev/null &&
    /host/lvm lvcreate -q -L 64M -n pad vg >/dev/null && /host/lvm lvcreate -q -L 1400M -n root vg >/dev/null &&
    /host/lvm lvcreate -q -L 600M -n khib vg >/dev/null &&
    /host/mke2fs -q -t ext4 /dev/vg/root && mount /dev/vg/root /mnt &&
    if grep -q khibtest.fragment /proc/cmdline; then
        # Free space in 2 MiB holes: fill the file system, free every
        # other piece; the image file then lies in hundreds of extents.
        i=0
        while fallocate -l 2M /mnt/fill.$i 2>/dev/null; do i=$((i + 1)); done
        j=0
        while [ $j -lt $i ]; do rm -f /mnt/fill.$j; j=$((j + 2)); done
        size=560M
    else
        size=600M
    fi &&
    fallocate -l $size /mnt/image &&
    head -c 4194304 /dev/urandom > /mnt/precious && sha256sum /mnt/precious > /tmp/precious.sum &&
    sync && echo "N: stack ready"
if [ "$target" = /mnt/image ] && grep -q khibtest.refusals /proc/cmdline; then
    khib hibernate --target /mnt/image $K --append "$A" --region-size 64M
    echo "N: not immutable rc=$?"
    /host/chattr +i /mnt/image
    khib hibernate --target /mnt/image --clear --kernel /h/bzImage --initrd /h/initrd.cpio.gz \
        --append "$A" --region-size 64M
    echo "N: clear rc=$?"
    # With khib's initramfs hook installed, the initramfs must know the
    # target's map as it is now: none, then a stale one, then the right one.
    mkdir -p /usr/share/initramfs-tools/hooks /var/lib/khib
    : > /usr/share/initramfs-tools/hooks/khib
    khib hibernate --test --target /mnt/image $K --append "$A" --region-size 64M
    echo "N: no map rc=$?"
    khib target --map /mnt/image | sed '$s/^extent = [0-9]*/extent = 0/' > /var/lib/khib/initramfs.map
    khib hibernate --test --target /mnt/image $K --append "$A" --region-size 64M
    echo "N: stale map rc=$?"
    khib target --map /mnt/image > /var/lib/khib/initramfs.map
    khib hibernate --test --target /mnt/image $K --append "$A" --region-size 64M
    echo "N: test rc=$?"
fi
[ "$target" != /mnt/image ] || /host/chattr +i /mnt/image
khib target "$target" | sed 's/^/N: /'
khib target --map "$target" > /tmp/map && dd if=/tmp/map of=/dev/vda1 conv=fsync 2>/dev/null &&
    echo "N: map saved"
/bin/khib-workload @MIB@ /tmp &
wl=$!
while [ ! -e /tmp/ready ]; do usleep 100000; done
report /tmp $wl
echo "N: hibernating"
khib hibernate --target "$target" $K --append "$A" --region-size 64M
echo "N: hibernate rc=$?"
report /tmp $wl
if sha256sum -c /tmp/precious.sum >/dev/null 2>&1; then
    echo "N: root file intact"
fi
/host/cryptsetup status crypt | head -1
head -c 1048576 /dev/urandom > /mnt/after && sync && echo "N: root written"
umount /mnt && /host/e2fsck -fn /dev/vg/root >/tmp/fsck.out 2>&1
echo "N: fsck rc=$?"
poweroff -f
"""


def machine(ctx):
    """Kernel and initramfs, and a GPT disk: an 8 MiB first partition
    (the ESP's place) and the rest for LUKS."""
    kernel = ctx.kernel()
    h_initrd = ctx.initramfs("h", ctx.bin("khib"), busybox=False, compress=False)
    lvm_conf = ctx.path("lvm.conf")
    with open(lvm_conf, "w") as f:
        f.write(LVM_CONF)
    files = with_libraries(["/usr/sbin/cryptsetup", "/usr/sbin/lvm", "/usr/sbin/dmsetup",
                            "/sbin/mke2fs", "/sbin/e2fsck", "/usr/bin/chattr"])
    for name, size in (("luks.key", 64), ("khib.key", 64)):
        with open(ctx.path(name), "wb") as f:
            f.write(os.urandom(size))
        files.append((ctx.path(name), "etc/" + name))
    init = INIT.replace("@MIB@", str(WORKLOAD_MIB))
    initrd = ctx.initramfs("n", init, files=files + [
        (ctx.bin("khib"), "bin/khib"),
        (ctx.bin("khib-workload"), "bin/khib-workload"),
        (kernel, "h/bzImage"),
        (h_initrd, "h/initrd.cpio.gz"),
        (lvm_conf, "etc/lvm/lvm.conf"),
    ])
    disk = ctx.path("disk.img")
    with open(disk, "wb") as f:
        f.truncate(DISK_BYTES)
    subprocess.run(["sfdisk", "-q", disk], input="label: gpt\nsize=8MiB\nsize=+\n", text=True,
                   check=True)
    return kernel, initrd, disk


def boot(ctx, n, kernel, initrd, disk, append):
    # no_console_suspend: the jumping kernel's messages up to the jump stay on
    # the console (see earlyprintk in INIT).
    return VM(f"boot{n}", kernel, initrd, f"console=ttyS0 no_console_suspend panic=-1 {append}",
              mem=MEM, cpus=2, disks=[disk], log_dir=ctx.log_dir, deadline=400)


def workload(vm):
    m = vm.expect(r"^workload: passes=(\d+) errors=(\d+) counter=(\d+)", timeout=120)
    assert int(m.group(2)) == 0, "the workload found errors"
    return int(m.group(1)), int(m.group(3))


def cycle(target, method, refusals=False, by_map=False, fragment=False):
    """by_map: the next boot resumes before it unlocks anything, by the
    target map (as khib's initramfs does); otherwise after it unlocked
    LUKS, activated LVM and mounted the root read-only.  fragment: the
    image file lies in hundreds of extents (its extent map spans pages)."""
    def run(ctx):
        kernel, initrd, disk = machine(ctx)
        append = f"khibtest.target={target} khibtest.method={method}" + \
            (" khibtest.refusals" if refusals else "") + (" khibtest.bymap" if by_map else "") + \
            (" khibtest.fragment" if fragment else "")
        with boot(ctx, 1, kernel, initrd, disk, append) as vm:
            vm.expect(r"^N: stack ready$", timeout=240)
            if refusals:
                vm.expect(r"khib: target '/mnt/image': not immutable, so its file system may "
                          r"still move its blocks \(chattr \+i it\)", timeout=60)
                vm.expect(r"^N: not immutable rc=1$")
                vm.expect(r"khib: target '/mnt/image' lies beneath disk encryption \(a file on "
                          r"ext4 on dm-\d+ \(vg-root: linear\) on dm-\d+ \(crypt: crypt\) on "
                          r"vda2\): khib writes memory there only in an encrypted image",
                          timeout=60)
                vm.expect(r"^N: clear rc=1$")
                vm.expect(r"khib: target '/mnt/image': the initramfs does not know where it "
                          r"lies \(no /var/lib/khib/initramfs.map\); run update-initramfs -u "
                          r"first", timeout=60)
                vm.expect(r"^N: no map rc=1$")
                vm.expect(r"khib: target '/mnt/image': the initramfs looks for the image "
                          r"elsewhere", timeout=60)
                vm.expect(r"^N: stale map rc=1$")
                vm.expect(r"khib: writer kernel up: saving .* \(test mode\) to 'vda2'",
                          timeout=240)
                vm.expect(r"^N: test rc=0$", timeout=240)
            m = vm.expect(r"^N: stack: (.*)$", timeout=240)
            want = (r"a file on ext4 on dm-\d+ \(vg-root: linear\) on " if target == "/mnt/image"
                    else r"dm-\d+ \(vg-khib: linear\) on ") + r"dm-0 \(crypt: crypt\) on vda2"
            assert re.fullmatch(want, m.group(1)), m.group(1)
            m = vm.expect(r"^N: image room: (\d+) MiB in (\d+) pieces?$")
            if fragment:
                # More than the 64 the handoff page once held, and more than
                # fit one page of the extent map (256).
                assert int(m.group(2)) > 256, f"only {m.group(2)} extents"
            vm.expect(r"^N: beneath disk encryption: images there must be encrypted")
            vm.expect(r"^N: map saved$")
            vm.expect(r"^workload: ready", timeout=240)
            before = workload(vm)
            vm.expect(r"^N: hibernating$")
            vm.expect(r"khib: writer kernel up: saving .* \(hibernation\) to 'vda2'",
                      timeout=240)
            vm.expect(r"khib: image committed", timeout=400)
            assert vm.wait_exit(timeout=120) == 0
        with boot(ctx, 2, kernel, initrd, disk, append) as vm:
            if not by_map:
                vm.expect(r"^R0: verify rc=0$", timeout=300)
            if method == "kexec":
                vm.expect(r"khib: restore kernel up", timeout=240)
            else:
                vm.expect(r"khib: resuming .* through /dev/snapshot", timeout=240)
            vm.expect(r"^N: hibernate rc=0$", timeout=300)
            after = workload(vm)
            assert after[0] > before[0] and after[1] >= before[1], (before, after)
            vm.expect(r"^N: root file intact$")
            vm.expect(r"^/dev/mapper/crypt is active and is in use\.$")
            vm.expect(r"^N: root written$")
            vm.expect(r"^N: fsck rc=0$", timeout=120)
            assert not vm.seen(r"^N: stack ready"), "N booted afresh"
            if by_map:
                assert not vm.seen(r"^R0: .* is there$"), "the target was reachable"
            assert vm.wait_exit(timeout=120) == 0
    return run


def tests():
    yield "stack_file_kexec", cycle("/mnt/image", "kexec", refusals=True)
    yield "stack_file_map_snapshot", cycle("/mnt/image", "snapshot", by_map=True, fragment=True)
    yield "stack_lv_map_kexec", cycle("/dev/vg/khib", "kexec", by_map=True)
