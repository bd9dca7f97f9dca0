#!/bin/bash
# Image write/read throughput and size per codec and thread count, side by
# side with dd and makedumpfile on the same input and target.  Not a test.
#
#   bench/bench-image.sh [--khib build/tools/khib] [--dir DIR] [--size-mib N]
#                        [--vmcore FILE] [--threads "1 2"] [--codecs "none lz4 zstd:1"]
#
# Input: a synthetic core (by default 1024 MiB: 30% zero pages, 40% text-like
# (4096 distinct pages of random words),
# 20% random, 10% mostly-zero pages with a stamp) and, with --vmcore, a real
# saved /proc/vmcore too.  Output files go to DIR (default: a fresh
# directory under /var/tmp) and are removed at the end.
set -euo pipefail

khib=build/tools/khib
dir=
size_mib=1024
vmcore=
threads_list="1 $(nproc)"
codecs="none lz4 zstd:1 zstd:3"

while [ $# -gt 0 ]; do
	case "$1" in
	--khib) khib=$2; shift 2 ;;
	--dir) dir=$2; shift 2 ;;
	--size-mib) size_mib=$2; shift 2 ;;
	--vmcore) vmcore=$2; shift 2 ;;
	--threads) threads_list=$2; shift 2 ;;
	--codecs) codecs=$2; shift 2 ;;
	-h|--help) sed -n '2,12p' "$0"; exit 0 ;;
	*) echo "bench-image: unknown option '$1'" >&2; exit 2 ;;
	esac
done
khib=$(realpath "$khib")
[ -x "$khib" ] || { echo "bench-image: no khib at '$khib' (build first)" >&2; exit 1; }
if [ -z "$dir" ]; then
	dir=$(mktemp -d /var/tmp/khib-bench.XXXXXX)
	trap 'rm -rf "$dir"' EXIT
fi

now() { date +%s.%N; }
mbps() { awk -v b="$1" -v s="$2" 'BEGIN { if (s > 0) printf "%9.0f", b / 1048576 / s; else printf "%9s", "-" }'; }
mib() { awk -v b="$1" 'BEGIN { printf "%9.1f", b / 1048576 }'; }
# Reading back what was just written would measure the page cache.
drop_caches() { sync; echo 3 > /proc/sys/vm/drop_caches 2>/dev/null && echo yes || echo no; }

make_synthetic() {
	python3 - "$1" "$2" <<'PY'
import os, struct, sys
path, mib = sys.argv[1], int(sys.argv[2])
pages = mib * 256
import random
rng = random.Random(1)
words = (b"the kernel schedules tasks on cpus while memory pages move between lists "
         b"of free and used frames struct page inode dentry socket buffer 0x1f 4096 "
         b"return error if not found else continue loop with next entry in table").split()
# 4096 distinct text pages, so compression cannot just dedupe a few.
texts = []
for i in range(4096):
    t = b" ".join(rng.choice(words) for _ in range(900))
    texts.append(t[:4096].ljust(4096, b" "))
vmci = b"OSRELEASE=6.1.0-bench\nPAGESIZE=4096\n"
note = struct.pack('<III', 11, len(vmci), 0) + b'VMCOREINFO\0\0' + vmci
note += b'\0' * (-len(note) % 4)
base = 0x100000
hdr = b'\x7fELF' + bytes([2, 1, 1]) + b'\0' * 9 + struct.pack(
    '<HHIQQQIHHHHHH', 4, 62, 1, 0, 64, 0, 0, 64, 56, 2, 0, 0, 0)
noff = 64 + 2 * 56
doff = 4096
ph = struct.pack('<IIQQQQQQ', 4, 0, noff, 0, 0, len(note), len(note), 0)
ph += struct.pack('<IIQQQQQQ', 1, 7, doff, 0xffff888000000000 + base, base,
                  pages * 4096, pages * 4096, 0)
zero = bytes(4096)
with open(path, 'wb') as f:
    f.write((hdr + ph + note).ljust(doff, b'\0'))
    batch = []
    for i in range(pages):
        k = (i * 2654435761 >> 7) % 10
        if k < 3:
            batch.append(zero)
        elif k < 7:
            batch.append(texts[(i * 40503) % 4096])
        elif k < 9:
            batch.append(os.urandom(4096))
        else:
            batch.append(struct.pack('<Q', i).rjust(4096 - (i % 500) * 8, b'\0').ljust(4096, b'\0'))
        if len(batch) == 4096:
            f.write(b''.join(batch))
            batch = []
    f.write(b''.join(batch))
PY
}

row() { printf "%-22s %-8s %3s %s %s %s %s  %s\n" "$@"; }

bench_input() {
	local core=$1 label=$2 bytes
	bytes=$(stat -c %s "$core")
	echo
	echo "== $label: $(mib "$bytes") MiB core, target directory $dir =="
	echo "   (MB/s = MiB of input per second; write: input in page cache, output flushed;
    read: 'khib verify', page cache dropped before it: $(drop_caches))"
	row tool codec thr " write MB/s" "    size MiB" "   ratio" " read MB/s" "note"

	local t0 t1 w
	t0=$(now)
	dd if=/dev/zero of="$dir/dd.out" bs=8M iflag=count_bytes count="$bytes" oflag=direct conv=fsync status=none 2>/dev/null ||
		dd if=/dev/zero of="$dir/dd.out" bs=8M iflag=count_bytes count="$bytes" conv=fsync status=none
	t1=$(now)
	row "dd (O_DIRECT, zeros)" - - "$(mbps "$bytes" "$(echo "$t1 - $t0" | bc)")" "$(mib "$(stat -c %s "$dir/dd.out")")" "       -" "        -" "same byte count"
	rm -f "$dir/dd.out"

	for codec in $codecs; do
		for thr in $threads_list; do
			rm -f "$dir/img"
			# The input as H sees it: in memory, not read from disk.
			cat "$core" >/dev/null
			t0=$(now)
			if ! "$khib" import-elf --codec "$codec" --threads "$thr" "$core" "$dir/img" 2>"$dir/err"; then
				row khib "$codec" "$thr" "        -" "        -" "       -" "        -" "failed: $(head -1 "$dir/err")"
				continue
			fi
			t1=$(now)
			w=$(echo "$t1 - $t0" | bc)
			local isz
			isz=$(stat -c %s "$dir/img")
			drop_caches >/dev/null
			t0=$(now)
			"$khib" verify --threads "$thr" "$dir/img" >/dev/null
			t1=$(now)
			row khib "$codec" "$thr" "$(mbps "$bytes" "$w")" "$(mib "$isz")" \
				"$(awk -v a="$bytes" -v b="$isz" 'BEGIN { printf "%8.2f", a / b }')" \
				"$(mbps "$bytes" "$(echo "$t1 - $t0" | bc)")" ""
		done
	done

	rm -f "$dir/mdf.out"
	cat "$core" >/dev/null
	t0=$(now)
	if makedumpfile -l -d 1 "$core" "$dir/mdf.out" >"$dir/err" 2>&1; then
		t1=$(now)
		row "makedumpfile -l -d 1" lz4 1 "$(mbps "$bytes" "$(echo "$t1 - $t0" | bc)")" \
			"$(mib "$(stat -c %s "$dir/mdf.out")")" \
			"$(awk -v a="$bytes" -v b="$(stat -c %s "$dir/mdf.out")" 'BEGIN { printf "%8.2f", a / b }')" "        -" ""
	else
		row "makedumpfile -l -d 1" lz4 1 "        -" "        -" "       -" "        -" \
			"cannot read this core: $(grep -v '^$' "$dir/err" | head -1)"
	fi
	rm -f "$dir/mdf.out" "$dir/img" "$dir/err"
}

echo "khib image benchmark: $(nproc) CPUs, $(uname -r), khib $("$khib" --version)"
make_synthetic "$dir/synthetic.core" "$size_mib"
bench_input "$dir/synthetic.core" "synthetic mix"
rm -f "$dir/synthetic.core"
if [ -n "$vmcore" ]; then
	bench_input "$vmcore" "vmcore $(basename "$vmcore")"
fi
