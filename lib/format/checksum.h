/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * The image checksum: XXH3-64 (xxHash 0.8, seed 0), ~10 GB/s per core on
 * x86-64, so checksumming never limits a disk.  It detects corruption and torn
 * writes; it is not a MAC and gives no protection against a deliberate forger
 * (an attacker who can write the image can write anything: image integrity
 * against attackers is the job of the future encryption section).
 *
 * The functions are pure: same bytes, same value, on every host.
 */
#ifndef KHIB_CHECKSUM_H
#define KHIB_CHECKSUM_H

#include <stddef.h>
#include <stdint.h>

uint64_t khib_hash64(const void *buf, size_t len);

/* XXH64 (xxHash's older 64-bit hash) with a seed: a different algorithm
 * from khib_hash64(), kept where its values already travel or are stored —
 * the handoff, key and status pages and the extent map (seed 0) and the
 * firmware memory map's fingerprint (khib_memmap_hash(), in every image).
 * New checksums use khib_hash64(). */
uint64_t khib_xxh64(const void *buf, size_t len, uint64_t seed);

/*
 * XXH3 comes in builds that give the same values at different speeds
 * (lib/format/xxh3_variant.c: scalar, SSE2, AVX2): the first is the
 * default, the compiler's choice for the target.  Under QEMU's TCG the
 * scalar build hashes at ~1 GB/s per vCPU and SSE2 at ~420 MB/s; on
 * hardware the vector builds win.  khib_hash_pick_fastest()
 * (lib/system/hashpick.h) measures them and uses the fastest.
 */
struct khib_hash_variant {
	const char *name;
	uint64_t (*hash)(const void *buf, size_t len);
	void (*reset)(void *state);
	void (*update)(void *state, const void *buf, size_t len);
	uint64_t (*digest)(const void *state);
};

/* The builds this CPU can run. */
size_t khib_hash_variants(const struct khib_hash_variant **ret);
/* Use v from now on (before any thread hashes). */
void khib_hash_use(const struct khib_hash_variant *v);
const char *khib_hash_in_use(void);

/* Incremental form; the result equals khib_hash64() of the concatenation. */
struct khib_hash_state {
	/* Opaque, sized and aligned for XXH3_state_t (checked in checksum.c). */
	_Alignas(64) unsigned char opaque[640];
	const struct khib_hash_variant *v; /* the build that began it */
};

void khib_hash_init(struct khib_hash_state *s);
void khib_hash_update(struct khib_hash_state *s, const void *buf, size_t len);
uint64_t khib_hash_final(const struct khib_hash_state *s);

/* CRC-32 (IEEE 802.3, reflected, as zlib's crc32() and the kernel's
 * ~crc32_le(~0, ...)), for values the kernel itself computes that way. */
uint32_t khib_crc32(const void *buf, size_t len);

#endif
