/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * Choose the XXH3 build (lib/format/checksum.h) by measuring each on this
 * machine: which vector code is fastest depends on the CPU, and under an
 * emulator (QEMU's TCG) the scalar code beats SSE2 by 2.4x.
 */
#ifndef KHIB_HASHPICK_H
#define KHIB_HASHPICK_H

#include <stddef.h>

/* Time every build hashing the same 256 KiB (the best of 3 runs each),
 * use the fastest from now on, and describe the figures in report (n
 * bytes, may be NULL): "scalar 1012 MB/s, sse2 421 MB/s".  Call before
 * any thread hashes.  -ENOMEM: nothing measured, the default stays. */
int khib_hash_pick_fastest(char *report, size_t n);

#endif
