/* SPDX-License-Identifier: GPL-2.0-only */
/* The builds of XXH3-64 that xxh3_variant.c makes (see there). */
#ifndef KHIB_XXH3_VARIANT_H
#define KHIB_XXH3_VARIANT_H

#include <stddef.h>
#include <stdint.h>

#define KHIB_XXH3_STATE_BYTES 640

#define KHIB_XXH3_DECLARE(v)                                                   \
	uint64_t khib_xxh3_##v##_hash(const void *buf, size_t len);            \
	void khib_xxh3_##v##_reset(void *state);                               \
	void khib_xxh3_##v##_update(void *state, const void *buf, size_t len); \
	uint64_t khib_xxh3_##v##_digest(const void *state);

KHIB_XXH3_DECLARE(scalar)
#if defined(__x86_64__)
KHIB_XXH3_DECLARE(sse2)
KHIB_XXH3_DECLARE(avx2)
#endif

#endif
