/* SPDX-License-Identifier: GPL-2.0-only */
#include "checksum.h"
#include "harness.h"

TEST(checksum_known_values)
{
	/* XXH3-64, seed 0: reference values from xxhsum -H3 (FORMAT.md). */
	ASSERT_EQ_U64(khib_hash64("", 0), 0x2d06800538d394c2ULL);
	ASSERT_EQ_U64(khib_hash64("abc", 3), 0x78af5f94892f3950ULL);
}

TEST(checksum_incremental_equals_oneshot)
{
	static uint8_t buf[10000];
	struct khib_hash_state s;

	for (size_t i = 0; i < sizeof(buf); i++)
		buf[i] = (uint8_t)(i * 31 + (i >> 7));
	khib_hash_init(&s);
	khib_hash_update(&s, buf, 1);
	khib_hash_update(&s, buf + 1, 4999);
	khib_hash_update(&s, buf + 5000, 5000);
	ASSERT_EQ_U64(khib_hash_final(&s), khib_hash64(buf, sizeof(buf)));
	buf[1234] ^= 4;
	ASSERT_TRUE(khib_hash_final(&s) != khib_hash64(buf, sizeof(buf)));
}
