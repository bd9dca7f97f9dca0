/* SPDX-License-Identifier: GPL-2.0-only */
#include "checksum.h"

#include "util.h"
#include "xxh3_variant.h"

/* Header-only xxhash, included here only: no shared library needed in a
 * static initramfs binary.  XXH3 itself comes from xxh3_variant.c. */
#define XXH_INLINE_ALL
#include <xxhash.h>

_Static_assert(KHIB_XXH3_STATE_BYTES <= sizeof(((struct khib_hash_state *)0)->opaque),
	       "khib_hash_state too small for XXH3_state_t");
_Static_assert(_Alignof(XXH3_state_t) <= 64, "khib_hash_state under-aligned");

#define VARIANT(v)                                                                   \
	{ #v, khib_xxh3_##v##_hash, khib_xxh3_##v##_reset, khib_xxh3_##v##_update, \
	  khib_xxh3_##v##_digest }

/* The compiler's own choice for the target first: the default. */
static const struct khib_hash_variant variants[] = {
#if defined(__x86_64__)
	VARIANT(sse2),
	VARIANT(scalar),
	VARIANT(avx2),
#else
	VARIANT(scalar),
#endif
};

static const struct khib_hash_variant *use = &variants[0];

size_t khib_hash_variants(const struct khib_hash_variant **ret)
{
	size_t n = ARRAY_SIZE(variants);

#if defined(__x86_64__)
	/* The AVX2 build only where the CPU has AVX2 (it is last). */
	__builtin_cpu_init();
	if (!__builtin_cpu_supports("avx2"))
		n--;
#endif
	*ret = variants;
	return n;
}

void khib_hash_use(const struct khib_hash_variant *v)
{
	use = v;
}

const char *khib_hash_in_use(void)
{
	return use->name;
}

uint64_t khib_hash64(const void *buf, size_t len)
{
	return use->hash(buf, len);
}

uint64_t khib_xxh64(const void *buf, size_t len, uint64_t seed)
{
	return XXH64(buf, len, seed);
}

void khib_hash_init(struct khib_hash_state *s)
{
	s->v = use;
	use->reset(s->opaque);
}

void khib_hash_update(struct khib_hash_state *s, const void *buf, size_t len)
{
	s->v->update(s->opaque, buf, len);
}

uint64_t khib_hash_final(const struct khib_hash_state *s)
{
	return s->v->digest(s->opaque);
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
