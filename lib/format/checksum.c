/* SPDX-License-Identifier: GPL-2.0-only */
#include "checksum.h"

/* Header-only xxhash, included here only: no shared library needed in a
 * static initramfs binary. */
#define XXH_INLINE_ALL
#include <xxhash.h>

_Static_assert(sizeof(XXH3_state_t) <= sizeof(((struct khib_hash_state *)0)->opaque),
	       "khib_hash_state too small for XXH3_state_t");
_Static_assert(_Alignof(XXH3_state_t) <= 64, "khib_hash_state under-aligned");

uint64_t khib_hash64(const void *buf, size_t len)
{
	return XXH3_64bits(buf, len);
}

uint64_t khib_xxh64(const void *buf, size_t len, uint64_t seed)
{
	return XXH64(buf, len, seed);
}

void khib_hash_init(struct khib_hash_state *s)
{
	XXH3_64bits_reset((XXH3_state_t *)s->opaque);
}

void khib_hash_update(struct khib_hash_state *s, const void *buf, size_t len)
{
	XXH3_64bits_update((XXH3_state_t *)s->opaque, buf, len);
}

uint64_t khib_hash_final(const struct khib_hash_state *s)
{
	return XXH3_64bits_digest((const XXH3_state_t *)s->opaque);
}

uint32_t khib_crc32(const void *buf, size_t len)
{
	const uint8_t *p = buf;
	uint32_t crc = ~0u;

	/* Bitwise: this runs over a few hundred bytes, never over pages. */
	while (len--) {
		crc ^= *p++;
		for (int k = 0; k < 8; k++)
			crc = (crc >> 1) ^ (0xEDB88320u & -(crc & 1));
	}
	return ~crc;
}
