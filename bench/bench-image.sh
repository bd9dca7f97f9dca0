#!/bin/bash
# Image write/read throughput and size per codec and thread count, side by
# side with dd and makedumpfile on the same input and target.  Not a test.
#
#   bench/bench-image.sh [--khib build/tools/khib] [--dir DIR] [--size-mib N]
#                        [--vmcore FILE | --from-image IMAGE] [--no-synthetic]
#                        [--threads "1 2"] [--codecs "none lz4 zstd:1"] [--repeat N]
#
# Inputs: a synthetic core (by default 1024 MiB: 30% zero pages, 40% text-like
# (4096 distinct pages of random words), 20% random, 10% mostly-zero pages with
# a stamp) and a real memory dump: --vmcore takes an ELF core (a saved
# /proc/vmcore, or 'khib export-elf' output), --from-image exports a khib image
# (e.g. build-vm/hibernate_poweroff/disk.img) itself.  --no-synthetic skips
# the synthetic core.  Output files go to DIR (default: a fresh directory
# under /var/tmp) and are removed at the end.  Each run is repeated N times
# (default 3); the fastest counts.  See bench/README.md.
set -euo pipefail

khib=build/tools/khib
dir=
size_mib=1024
vmcore=
from_image=
synthetic=yes
threads_list="1 $(nproc)"
codecs="none lz4 zstd:1"
repeat=3

while [ $# -gt 0 ]; do
	case "$1" in
	--khib) khib=$2; shift 2 ;;
	--dir) dir=$2; shift 2 ;;
	--size-mib) size_mib=$2; shift 2 ;;
	--vmcore) vmcore=$2; shift 2 ;;
	--from-image) from_image=$2; shift 2 ;;
	--no-synthetic) synthetic=; shift ;;
	--threads) threads_list=$2; shift 2 ;;
	--codecs) codecs=$2; shift 2 ;;
	--repeat) repeat=$2; shift 2 ;;
	-h|--help) sed -n '2,16p' "$0"; exit 0 ;;
	*) echo "bench-image: unknown option '$1'" >&2; exit 2 ;;
	esac
done
khib=$(realpath "$khib")
[ -x "$khib" ] || { echo "bench-image: no khib at '$khib' (build first)" >&2; exit 1; }
if [ -n "$vmcore" ] && [ -n "$from_image" ]; then
	echo "bench-image: --vmcore and --from-image exclude each other" >&2
	exit 2
fi
if [ -z "$dir" ]; then
	dir=$(mktemp -d /var/tmp/khib-bench.XXXXXX)
	trap 'rm -rf "$dir"' EXIT
fi
mdf=$(command -v makedumpfile || true)

now() { date +%s.%N; }
mbps() { awk -v b="$1" -v s="$2" 'BEGIN { if (s > 0) printf "%9.0f", b / 1048576 / s; else printf "%9s", "-" }'; }
mib() { awk -v b="$1" 'BEGIN { printf "%9.1f", b / 1048576 }'; }
ratio() { awk -v a="$1" -v b="$2" 'BEGIN { printf "%8.2f", a / b }'; }
min() { awk -v a="$1" -v b="$2" 'BEGIN { print (b == "" || a < b) ? a : b }'; }

# Every run starts from the same state: page cache dropped (no dirty data of
# the previous run, nothing of its output cached), then the input read into
# the cache, as the writer kernel H sees its input: in memory.
cold=no
if [ -w /proc/sys/vm/drop_caches ]; then cold=yes; fi
drop_caches() { sync; if [ $cold = yes ]; then echo 3 > /proc/sys/vm/drop_caches; fi; }
warm_input() { drop_caches; cat "$1" >/dev/null; }

# Bytes of memory in an ELF core: the sum of its PT_LOADs' p_filesz.
core_bytes() {
	python3 - "$1" <<'PY'
import struct, sys
with open(sys.argv[1], 'rb') as f:
    e = f.read(64)
    phoff, = struct.unpack_from('<Q', e, 32)
    phnum, = struct.unpack_from('<H', e, 56)
    f.seek(phoff)
    total = 0
    for _ in range(phnum):
        p = struct.unpack('<IIQQQQQQ', f.read(56))
        if p[0] == 1:
            total += p[5]
print(total)
PY
}

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
# A per-CPU NT_PRSTATUS note as in /proc/vmcore, and no VMCOREINFO: then
# makedumpfile, which has no kernel symbols for this memory, still copies it
# at dump levels 0 and 1 (those need no struct page), as khib does.
prstatus = bytes(336)
note = struct.pack('<III', 5, len(prstatus), 1) + b'CORE\0\0\0\0' + prstatus
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

row() { printf "%-36s %-7s %3s %s %s %s %s  %s\n" "$@"; }
dash() { printf "%9s" -; }

# One timed run of "$@" after prep "$prep": prints seconds, or fails (its
# stderr is in $dir/err).
time_once() {
	local prep=$1 t0 t1
	shift
	$prep
	t0=$(now)
	"$@" >"$dir/err" 2>&1 || { echo "exit status $?" >>"$dir/err"; return 1; }
	t1=$(now)
	echo "$t1 - $t0" | bc
}

# Fastest of $repeat timed runs of "$@" (after prep "$prep"); prints seconds,
# or nothing if the command failed (its stderr is in $dir/err).
best_time() {
	local prep=$1 best= t k
	shift
	for ((k = 0; k < repeat; k++)); do
		t=$(time_once "$prep" "$@") || return 0
		best=$(min "$t" "$best")
	done
	echo "$best"
}

# Results the target lines at the end compare, per input.
declare -A res

run_dd() {
	dd if=/dev/zero of="$dir/dd.out" bs=8M iflag=count_bytes count="$1" oflag=direct conv=fsync status=none 2>/dev/null ||
		dd if=/dev/zero of="$dir/dd.out" bs=8M iflag=count_bytes count="$1" conv=fsync status=none
}
# CODEC THREADS CORE IMAGE [--key-file KEY]: an image in clear, or encrypted.
run_khib_write() { rm -f "$4"; "$khib" import-elf --codec "$1" --threads "$2" "${@:5}" "$3" "$4"; }
# makedumpfile does not flush its output; sync it, as khib and dd do.
run_mdf() { rm -f "$dir/mdf.out"; "$mdf" "$@" "$dir/mdf.out" && sync "$dir/mdf.out"; }

bench_dd() {
	local bytes=$1 s
	s=$(best_time drop_caches run_dd "$bytes")
	res[dd]=$(echo "$bytes / $s" | bc -l)
	row "dd (zeros, O_DIRECT, fsync)" - 1 "$(mbps "$bytes" "$s")" "$(mib "$(stat -c %s "$dir/dd.out")")" \
		"       -" "$(dash)" "same byte count, same directory"
	rm -f "$dir/dd.out"
}

# Write and verify with one codec and thread count, in clear and encrypted.
# The runs alternate (clear, encrypted, clear, ...) so that both meet the
# same load on a shared machine; the fastest of each counts.  Sets w[enc],
# v[enc] (seconds; empty: failed, with the reason in e[enc]).
bench_khib_pair() {
	local core=$1 codec=$2 thr=$3 enc k t img
	local -a keyopt
	for enc in clear encrypted; do w[$enc]=; v[$enc]=; e[$enc]=; done
	for ((k = 0; k < repeat; k++)); do
		for enc in clear encrypted; do
			[ -z "${e[$enc]}" ] || continue
			img=$dir/img-$enc keyopt=()
			[ $enc = clear ] || keyopt=(--key-file "$dir/key")
			if ! t=$(time_once "warm_input $core" run_khib_write "$codec" "$thr" "$core" "$img" \
				"${keyopt[@]}"); then
				e[$enc]="failed: $(head -1 "$dir/err")"
				continue
			fi
			w[$enc]=$(min "$t" "${w[$enc]}")
			if ! t=$(time_once drop_caches "$khib" verify "${keyopt[@]}" --threads "$thr" "$img"); then
				e[$enc]="verify failed: $(head -1 "$dir/err")"
				continue
			fi
			v[$enc]=$(min "$t" "${v[$enc]}")
		done
	done
}

bench_khib() {
	local core=$1 bytes=$2 codec thr enc isz
	local -A w v e
	head -c 64 /dev/urandom >"$dir/key"
	for codec in $codecs; do
		for thr in $threads_list; do
			bench_khib_pair "$core" "$codec" "$thr"
			for enc in clear encrypted; do
				if [ -z "${w[$enc]}" ]; then
					row "khib import-elf ($enc)" "$codec" "$thr" "$(dash)" "$(dash)" "       -" "$(dash)" \
						"${e[$enc]}"
					continue
				fi
				isz=$(stat -c %s "$dir/img-$enc")
				res[khib:$enc:$codec:$thr]=$(echo "$bytes / ${w[$enc]}" | bc -l)
				[ -z "${v[$enc]}" ] || res[khib_read:$enc:$codec:$thr]=$(echo "$bytes / ${v[$enc]}" | bc -l)
				res[khib_size:$enc:$codec:$thr]=$isz
				row "khib import-elf / verify ($enc)" "$codec" "$thr" "$(mbps "$bytes" "${w[$enc]}")" \
					"$(mib "$isz")" "$(ratio "$bytes" "$isz")" \
					"$(if [ -n "${v[$enc]}" ]; then mbps "$bytes" "${v[$enc]}"; else dash; fi)" "${e[$enc]}"
			done
		done
	done
	rm -f "$dir/img-clear" "$dir/img-encrypted" "$dir/key"
}

# name label threads note -- makedumpfile options
bench_mdf_one() {
	local core=$1 bytes=$2 key=$3 label=$4 thr=$5 note=$6 s osz
	shift 6
	if [ -z "$mdf" ]; then
		row "makedumpfile $label" - "$thr" "$(dash)" "$(dash)" "       -" "$(dash)" "not installed"
		return
	fi
	s=$(best_time "warm_input $core" run_mdf "$@" "$core")
	if [ -z "$s" ]; then
		row "makedumpfile $label" - "$thr" "$(dash)" "$(dash)" "       -" "$(dash)" \
			"failed: $(tr '\r' '\n' <"$dir/err" | grep -v -e '^$' -e '^The kernel version' \
				-e '^The makedumpfile operation' -e ': \[ *[0-9.]* %\]' | head -2 | tr '\n' ' ')"
		return
	fi
	osz=$(stat -c %s "$dir/mdf.out")
	res[mdf:$key]=$(echo "$bytes / $s" | bc -l)
	res[mdf_size:$key]=$osz
	row "makedumpfile $label" - "$thr" "$(mbps "$bytes" "$s")" "$(mib "$osz")" "$(ratio "$bytes" "$osz")" \
		"$(dash)" "$note"
	rm -f "$dir/mdf.out"
}

bench_mdf() {
	local core=$1 bytes=$2 n
	n=$(nproc)
	# -d 1 drops zero pages only: the same filtering as khib.
	bench_mdf_one "$core" "$bytes" l "-l -d 1 (lzo)" 1 "" -l -d 1
	[ "$n" -gt 1 ] && bench_mdf_one "$core" "$bytes" l_mt "-l -d 1 --num-threads $n" "$n" "" \
		-l -d 1 --num-threads "$n"
	bench_mdf_one "$core" "$bytes" c "-c -d 1 (zlib)" 1 "" -c -d 1
	if "$mdf" -v 2>&1 | grep -q '^snappy[[:space:]]*enabled'; then
		bench_mdf_one "$core" "$bytes" p "-p -d 1 (snappy)" 1 "" -p -d 1
	else
		row "makedumpfile -p -d 1 (snappy)" - 1 "$(dash)" "$(dash)" "       -" "$(dash)" "not built with snappy"
	fi
	if "$mdf" -v 2>&1 | grep -q '^zstd[[:space:]]*enabled'; then
		bench_mdf_one "$core" "$bytes" z "-z -d 1 (zstd)" 1 "" -z -d 1
	fi
	bench_mdf_one "$core" "$bytes" l31 "-l -d 31 (lzo)" 1 "also drops free/cache/user pages" -l -d 31
}

# The targets of bench/README.md, from the rows above.
targets() {
	local all=${threads_list##* }
	echo "   targets (bench/README.md):"
	if [ -n "${res[khib:clear:none:$all]:-}" ] && [ -n "${res[dd]:-}" ]; then
		awk -v a="${res[khib:clear:none:$all]}" -v d="${res[dd]}" 'BEGIN {
			p = 100 * a / d
			printf "   - codec none, %s threads: %.0f%% of dd (>= 90%%): %s\n", "'"$all"'", p, (p >= 90 ? "met" : "NOT met") }'
	else
		echo "   - codec none vs dd: not measured"
	fi
	if [ -n "${res[khib:clear:lz4:$all]:-}" ] && [ -n "${res[mdf:l]:-}" ]; then
		awk -v a="${res[khib:clear:lz4:$all]}" -v m="${res[mdf:l]}" \
			-v as="${res[khib_size:clear:lz4:$all]}" -v ms="${res[mdf_size:l]}" 'BEGIN {
			x = a / m
			printf "   - lz4, %s threads: %.2fx makedumpfile -l -d 1 (>= 1.5x), size %.1f vs %.1f MiB (no larger): %s\n",
				"'"$all"'", x, as / 1048576, ms / 1048576, ((x >= 1.5 && as <= ms) ? "met" : "NOT met") }'
	else
		echo "   - lz4 vs makedumpfile -l: not measured (makedumpfile cannot read this core)"
	fi
	encryption_target lz4 "$all"
	encryption_costs
}

# The same figure for every codec and thread count measured, a line per
# codec: not a target, but where encryption costs most.
encryption_costs() {
	local c t line
	for c in $codecs; do
		line=
		for t in $threads_list; do
			[ -n "${res[khib:encrypted:$c:$t]:-}" ] && [ -n "${res[khib_read:encrypted:$c:$t]:-}" ] &&
				[ -n "${res[khib_read:clear:$c:$t]:-}" ] || continue
			line+=$(awk -v w="${res[khib:clear:$c:$t]}" -v we="${res[khib:encrypted:$c:$t]}" \
				-v r="${res[khib_read:clear:$c:$t]}" -v re="${res[khib_read:encrypted:$c:$t]}" \
				-v t="$t" 'BEGIN {
				printf "; %s thr: write %+.0f%%, read %+.0f%%", t, 100 * (w / we - 1), 100 * (r / re - 1) }')
		done
		[ -z "$line" ] || echo "   encryption cost in time, $c:${line#;}"
	done
}

# Encryption costs at most 10% of write and of read throughput (issue 10).
encryption_target() { # CODEC THREADS
	local c=$1 t=$2
	if [ -z "${res[khib:encrypted:$c:$t]:-}" ] || [ -z "${res[khib_read:encrypted:$c:$t]:-}" ] ||
	   [ -z "${res[khib_read:clear:$c:$t]:-}" ]; then
		echo "   - encryption, $c, $t threads: not measured"
		return
	fi
	awk -v w="${res[khib:clear:$c:$t]}" -v we="${res[khib:encrypted:$c:$t]}" \
		-v r="${res[khib_read:clear:$c:$t]}" -v re="${res[khib_read:encrypted:$c:$t]}" 'BEGIN {
		cw = 100 * (w / we - 1); cr = 100 * (r / re - 1)
		printf "   - encryption, %s, %s threads: write %+.0f%%, read %+.0f%% time (<= 10%%): %s\n",
			"'"$c"'", "'"$t"'", cw, cr, ((cw <= 10 && cr <= 10) ? "met" : "NOT met") }'
}

bench_input() {
	local core=$1 label=$2 bytes
	bytes=$(core_bytes "$core")
	res=()
	echo
	echo "== $label: $(mib "$bytes") MiB of memory in the core, target directory $dir =="
	echo "   MiB/s = MiB of memory in the core per second of wall time, best of $repeat runs."
	echo "   write: input in the page cache, output flushed (fsync); read: 'khib verify'."
	echo "   page cache dropped before every run: $cold$([ $cold = yes ] || echo ' (runs are warm)')"
	row tool codec thr "write MiB/s" "  size MiB" "   ratio" "read MiB/s" "note"
	bench_dd "$bytes"
	bench_khib "$core" "$bytes"
	bench_mdf "$core" "$bytes"
	targets
	rm -f "$dir/err"
}

echo "khib image benchmark: $(date -u '+%Y-%m-%d %H:%M UTC'), $(nproc) CPUs ($(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | sed 's/^ //')), $(uname -r)"
echo "khib $("$khib" --version); $([ -n "$mdf" ] && "$mdf" -v 2>&1 | head -1 || echo 'no makedumpfile'); load average $(cut -d' ' -f1-3 /proc/loadavg)"
if [ -n "$synthetic" ]; then
	make_synthetic "$dir/synthetic.core" "$size_mib"
	bench_input "$dir/synthetic.core" "synthetic mix"
	rm -f "$dir/synthetic.core"
fi
if [ -n "$from_image" ]; then
	vmcore=$dir/export.elf
	"$khib" export-elf "$from_image" "$vmcore"
	bench_input "$vmcore" "memory dump: 'khib export-elf $from_image'"
	rm -f "$vmcore"
elif [ -n "$vmcore" ]; then
	bench_input "$vmcore" "memory dump: $vmcore"
fi
