#!/bin/sh
# Regenerate the seed corpus (committed; rerun only when the format changes):
#   tests/fuzz/make-corpus.sh build/tools/khib
# Seeds: tiny ELF cores (overlapping and partial PT_LOADs, a VMCOREINFO
# note) and images made from them with each codec, plus an invalidated one.
set -eu
khib=$(realpath "$1")
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
