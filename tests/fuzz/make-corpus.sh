#!/bin/sh
# Regenerate the seed corpus (committed; rerun only when a format changes):
#   tests/fuzz/make-corpus.sh build/tools/khib [BZIMAGE]
# Seeds: tiny ELF cores (overlapping and partial PT_LOADs, a VMCOREINFO
# note) and images made from them with each codec, plus an invalidated one;
# synthetic bzImages (and the setup part of BZIMAGE, e.g. kernel/build.sh's);
# handoff and status pages from the real encoders; /proc/iomem texts;
# synthetic kernels' memory for the free-page filter; initramfs images.  (corpus/devmap, the
# device-mapper tables and target maps, is written by hand: it is text.)
set -eu
khib=$(realpath "$1")
bzimage=${2:-}
here=$(dirname "$(realpath "$0")")
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT

python3 - "$tmp" <<'PY'
import struct, sys
out = sys.argv[1]
def core(path, loads, vmci):
    note = b''
    if vmci:
        note = struct.pack('<III', 11, len(vmci), 0) + b'VMCOREINFO\0\0' + vmci
        note += b'\0' * (-len(note) % 4)
    phnum = len(loads) + (1 if note else 0)
    off = 64 + 56 * phnum
    ph, blobs = [], []
    if note:
        ph.append(struct.pack('<IIQQQQQQ', 4, 0, off, 0, 0, len(note), len(note), 0))
        blobs.append((off, note))
        off += len(note)
    for i, (pa, va, filesz, memsz) in enumerate(loads):
        data = bytes(((k * 7 + i) % 251) if (k // 4096) % 3 else 0 for k in range(filesz))
        ph.append(struct.pack('<IIQQQQQQ', 1, 7, off, va, pa, filesz, memsz, 0))
        blobs.append((off, data))
        off += filesz
    eh = b'\x7fELF' + bytes([2, 1, 1]) + b'\0' * 9 + struct.pack(
        '<HHIQQQIHHHHHH', 4, 62, 1, 0, 64, 0, 0, 64, 56, phnum, 0, 0, 0)
    with open(path, 'wb') as f:
        f.write(eh + b''.join(ph))
        for o, d in blobs:
            f.seek(o)
            f.write(d)
vmci = b'OSRELEASE=6.1.0-fuzz\nPAGESIZE=4096\nNUMBER(phys_base)=0\n'
dm = 0xffff888000000000
core(out + '/core1', [(0x1000, dm + 0x1000, 3 * 4096, 3 * 4096),
                      (0x8000, dm + 0x8000, 2 * 4096 + 100, 4 * 4096),
                      (0x9000, 0xffffffff81000000, 4096, 4096)], vmci)
core(out + '/core2', [(0x100000, dm + 0x100000, 6 * 4096, 6 * 4096)], None)
PY

cp "$tmp/core1" "$tmp/core2" "$here/corpus/elfcore/"
for codec in none lz4 zstd; do
	"$khib" import-elf --codec $codec --chunk-pages 2 --threads 1 "$tmp/core1" "$here/corpus/image/core1-$codec.img"
done
"$khib" import-elf --codec lz4 --threads 1 "$tmp/core2" "$here/corpus/image/core2-lz4.img"
cp "$here/corpus/image/core2-lz4.img" "$here/corpus/image/invalidated.img"
"$khib" invalidate "$here/corpus/image/invalidated.img" >/dev/null
"$khib" export-elf "$here/corpus/image/core1-zstd.img" "$here/corpus/elfcore/exported"

# bzImages: the setup header as Documentation/x86/boot.rst lays it out, a
# small protected-mode part, and one edit per seed that the parser refuses.
mkdir -p "$here/corpus/bzimage"
python3 - "$here/corpus/bzimage" <<'PY'
import struct, sys
out = sys.argv[1]
def bz(name, setup_sects=4, jump_len=0x6a, version=0x020f, relocatable=1, xlf=3,
       align=0x200000, init_size=16 << 20, cmdline_size=2047, initrd_max=0x7fffffff,
       kernel_bytes=512, cut=None):
    setup = ((setup_sects or 4) + 1) * 512
    b = bytearray((i ^ 0x5a) & 0xff if i >= 0x290 else 0 for i in range(setup))
    b[0x1f1] = setup_sects
    struct.pack_into('<I', b, 0x1f4, kernel_bytes // 16)        # syssize
    struct.pack_into('<H', b, 0x1fe, 0xaa55)
    b[0x200:0x202] = bytes([0xeb, jump_len])
    b[0x202:0x206] = b'HdrS'
    struct.pack_into('<H', b, 0x206, version)
    struct.pack_into('<I', b, 0x214, 0x100000)                   # code32_start
    struct.pack_into('<I', b, 0x22c, initrd_max)
    struct.pack_into('<I', b, 0x230, align)
    b[0x234] = relocatable
    b[0x235] = 21                                                # min_alignment
    struct.pack_into('<H', b, 0x236, xlf)
    struct.pack_into('<I', b, 0x238, cmdline_size)
    struct.pack_into('<Q', b, 0x258, 0x1000000)                  # pref_address
    struct.pack_into('<I', b, 0x260, init_size)
    b += bytes((k * 31 + 7) & 0xff for k in range(kernel_bytes))
    with open(out + '/' + name, 'wb') as f:
        f.write(b[:cut])
bz('v2.15')
bz('v2.12-short-header', version=0x020c, jump_len=0x66)
bz('setup-sects-zero', setup_sects=0)
bz('setup-sects-64', setup_sects=64, kernel_bytes=1)
bz('below-4g-initrd-max', xlf=1, initrd_max=0x37ffffff, cmdline_size=255)
bz('align-4k', align=4096, cmdline_size=0)
bz('align-2g', align=1 << 31, cmdline_size=0xffffffff)
bz('old-protocol', version=0x020b)
bz('not-64bit', xlf=2)
bz('not-relocatable', relocatable=0)
bz('align-not-power-of-2', align=0x300000)
bz('no-init-size', init_size=0)
bz('header-too-long', jump_len=0x90)
bz('header-too-short', jump_len=0x60)
bz('no-kernel', cut=5 * 512)
bz('cut-in-header', cut=0x26b)
PY
if [ -n "$bzimage" ]; then
	# A real kernel's setup (setup_sects + 1 sectors) and 4 KiB of the rest.
	sects=$(od -An -tu1 -j$((0x1f1)) -N1 "$bzimage")
	head -c $(( (sects + 1) * 512 + 4096 )) "$bzimage" >"$here/corpus/bzimage/real-head"
fi

# Initramfs images as the kernel unpacks them: plain cpio, initramfs-tools'
# early archive then a gzip'ed or zstd'ed main one, a later member of the
# same name, zeros between archives, and the refusals (cut short, xz).
mkdir -p "$here/corpus/initrd"
python3 - "$here/corpus/initrd" <<'PY'
import gzip, subprocess, sys
out = sys.argv[1]
def member(name, data=b'', mode=0o100755):
    n = name.encode() + b'\0'
    h = b'070701' + b''.join(b'%08X' % f for f in
                             (1, mode, 0, 0, 1, 0, len(data), 0, 0, 0, 0, len(n), 0))
    rec = h + n
    rec += b'\0' * (-len(rec) % 4)
    return rec + data + b'\0' * (-len(data) % 4)
def archive(*members):
    return b''.join(members) + member('TRAILER!!!', mode=0)
def put(name, data):
    with open(out + '/' + name, 'wb') as f:
        f.write(data)
early = archive(member('kernel', mode=0o40755),
                member('kernel/x86/microcode/GenuineIntel.bin', b'ucode' * 10))
main = archive(member('.', mode=0o40755), member('./init', b'#!/bin/sh\n'),
               member('./usr/sbin/khib', b'\x7fELF khib' * 5),
               member('./scripts/init-premount/khib', b'#!/bin/sh\nkhib resume\n'))
zstd = subprocess.run(['zstd', '-q', '-c'], input=main, stdout=subprocess.PIPE,
                      check=True).stdout
put('plain', main)
put('early-gzip', early + b'\0' * 512 + gzip.compress(main, mtime=0))
put('early-zstd', early + zstd)
put('later-wins', archive(member('init', b'one')) + b'\0' * 8 +
    archive(member('init', b'two, longer')))
put('gzip-cut', gzip.compress(main, mtime=0)[:-9])
put('xz-magic', early + b'\xfd7zXZ\0' + b'\0' * 32)
put('bad-namesize', main[:94] + b'00000000' + main[102:])
PY

# An image with a file system table, from the real writer.
"$(dirname "$khib")/../tests/fuzz/make-corpus-image" "$here/corpus/image"

# Handoff and status pages, made by the real encoders.
mkdir -p "$here/corpus/handoff"
"$(dirname "$khib")/../tests/fuzz/make-corpus-handoff" "$here/corpus/handoff"
mkdir -p "$here/corpus/keyslot"
"$(dirname "$khib")/../tests/fuzz/make-corpus-keyslot" "$here/corpus/keyslot"

# Synthetic hibernated kernels for the free-page filter (the unit tests'
# fixture): page tables, mem_section, struct pages, a kexec swap list.
mkdir -p "$here/corpus/pagefilter"
"$(dirname "$khib")/../tests/fuzz/make-corpus-pagefilter" "$here/corpus/pagefilter"

# /proc/iomem as a QEMU q35 guest shows it to root and to a user (every
# address 0), and texts around the line parser's edges.
mkdir -p "$here/corpus/iomem"
cat >"$here/corpus/iomem/q35-root" <<'TXT'
00000000-00000fff : Reserved
00001000-0009fbff : System RAM
0009fc00-0009ffff : Reserved
000a0000-000bffff : PCI Bus 0000:00
000c0000-000c99ff : Video ROM
000f0000-000fffff : Reserved
  000f0000-000fffff : System ROM
00100000-7ffdffff : System RAM
  01000000-01bfffff : Kernel code
  01c00000-0206ffff : Kernel rodata
  02200000-0245a5ff : Kernel data
  02b7e000-02dfffff : Kernel bss
  5f000000-6effffff : Crash kernel
7ffe0000-7fffffff : Reserved
80000000-afffffff : PCI Bus 0000:00
b0000000-bfffffff : PCI MMCONFIG 0000 [bus 00-ff]
  b0000000-bfffffff : Reserved
fec00000-fec003ff : IOAPIC 0
fed00000-fed003ff : HPET 0
  fed00000-fed003ff : PNP0103:00
fee00000-fee00fff : Local APIC
feffc000-feffffff : Reserved
fffc0000-ffffffff : Reserved
100000000-17fffffff : System RAM
380000000000-3807ffffffff : PCI Bus 0000:00
TXT
sed 's/^\( *\)[0-9a-f]*-[0-9a-f]*/\100000000-00000000/' "$here/corpus/iomem/q35-root" \
	>"$here/corpus/iomem/q35-user"
printf '00100000-7ffdffff : System RAM\r\n  01000000-01bfffff : Kernel code' \
	>"$here/corpus/iomem/crlf-no-final-newline"
python3 - "$here/corpus/iomem" <<'PY'
import sys
out = sys.argv[1]
def put(name, text):
    with open(out + '/' + name, 'w') as f:
        f.write(text)
put('edges', ''.join([
    '  01000000-01bfffff : Kernel code\n',
    '  01800000-01ffffff : Kernel code\n',          # overlaps the one above
    '  02000000-02000000 : Kernel code\n',          # one byte, touching
    '  03000000-02ffffff : Kernel data\n',          # end before start
    '0-ffffffffffffffff : System RAM\n',           # end at the top
    '10000000000000000-1 : System RAM\n',          # 65-bit start
    '-5-10 : System RAM\n',
    '00001000-00001fff :  Kernel code\n',           # two spaces
    '00001000-00001fff : Kernel code \n',           # trailing space
    '00001000-00001fff: Kernel code\n',
    '00001000-00001fff :\n',
    '00001000-00001fff : \n',
    '\n\n',
    '  ' + 'a' * 240 + '-' + 'f' * 8 + ' : Kernel bss\n',  # 256+ chars
    '  00004000-00004fff : ' + 'K' * 232 + '\n',    # 255 chars
    '  00005000-00005fff : Kernel bss\0 hidden\n',
]))
put('many-ranges', ''.join('%08x-%08x : System RAM\n' % (i * 0x2000, i * 0x2000 + 0xfff)
                           for i in range(300)))
put('nested-deep', ''.join(' ' * (2 * d) + '%08x-%08x : %s\n' % (0x1000 * d, 0xfffff, n)
                           for d, n in enumerate(['System RAM', 'Kernel code', 'reserved',
                                                  'Crash kernel', 'Kernel data'] * 4)))
put('empty', '')
PY
