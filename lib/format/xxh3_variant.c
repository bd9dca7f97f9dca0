/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * One build of XXH3-64 (xxHash's header-only code), its vector code fixed
 * by XXH_VECTOR at compile time.  Meson compiles this file once per
 * variant (lib/meson.build), naming the functions after KHIB_XXH3_VARIANT;
 * checksum.c measures them and uses the fastest.  Every variant gives
 * the same values: only the speed differs (under QEMU's TCG the scalar
 * code is the fast one, on hardware the vector code).
 */
#include "xxh3_variant.h"

#define XXH_INLINE_ALL
#include <xxhash.h>

_Static_assert(sizeof(XXH3_state_t) <= KHIB_XXH3_STATE_BYTES, "XXH3 state too large");

#define CAT_(a, b) a##b
#define CAT(a, b) CAT_(a, b)
#define NAME(x) CAT(CAT(khib_xxh3_, KHIB_XXH3_VARIANT), x)

uint64_t NAME(_hash)(const void *buf, size_t len)
{
	return XXH3_64bits(buf, len);
}

void NAME(_reset)(void *state)
{
	XXH3_64bits_reset(state);
}

void NAME(_update)(void *state, const void *buf, size_t len)
{
	XXH3_64bits_update(state, buf, len);
}

uint64_t NAME(_digest)(const void *state)
{
	return XXH3_64bits_digest(state);
}
