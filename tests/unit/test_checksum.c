/* SPDX-License-Identifier: GPL-2.0-only */
#include "checksum.h"
#include "harness.h"
#include "hashpick.h"
#include "memmap.h"
#include "util.h"

#include <stdlib.h>

TEST(checksum_known_values)
{
	/* XXH3-64, seed 0: reference values from xxhsum -H3 (FORMAT.md). */
	ASSERT_EQ_U64(khib_hash64("", 0), 0x2d06800538d394c2ULL);
	ASSERT_EQ_U64(khib_hash64("abc", 3), 0x78af5f94892f3950ULL);
}

/* XXH64, the other algorithm (FORMAT.md): reference values from xxhsum -H1,
 * and the memory map fingerprint as FORMAT.md spells it out for 0x0A0. */
TEST(checksum_xxh64_known_values)
{
	uint8_t rec[20];
	struct khib_memmap m = { 0 };

	ASSERT_EQ_U64(khib_xxh64("", 0, 0), 0xef46db3751d8e999ULL);
	ASSERT_EQ_U64(khib_xxh64("abc", 3, 0), 0x44bc2cf5ad770999ULL);
	ASSERT_TRUE(khib_xxh64("abc", 3, 0x6b686962) != khib_xxh64("abc", 3, 0));

	ASSERT_OK(khib_memmap_add(&m, 0x100000, 0x7fe0000, KHIB_E820_RAM));
	khib_put_le64(rec, 0x100000);
	khib_put_le64(rec + 8, 0x7fe0000);
	khib_put_le32(rec + 16, KHIB_E820_RAM);
	ASSERT_EQ_U64(khib_memmap_hash(&m), khib_xxh64(rec, sizeof(rec), 0x6b686962));
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

/* Every XXH3 build gives the same values, one-shot and incremental, at
 * every length that takes another path through the code (0-16, 17-128,
 * 129-240, long inputs, stripes and blocks with a tail). */
TEST(checksum_variants_agree)
{
	static const size_t lens[] = { 0, 1, 3, 16, 17, 128, 129, 240, 241, 1023, 1024, 4096,
				       65536 + 77, 1 << 20 };
	const struct khib_hash_variant *v;
	size_t nv = khib_hash_variants(&v);
	uint8_t *buf = malloc(1 << 20);
	uint64_t x = 1;

	ASSERT_TRUE(buf != NULL);
	ASSERT_TRUE(nv >= 1);
	for (size_t i = 0; i < (1 << 20); i++) {
		x ^= x << 13, x ^= x >> 7, x ^= x << 17;
		buf[i] = (uint8_t)x;
	}
	for (size_t k = 0; k < nv; k++) {
		khib_hash_use(&v[k]);
		ASSERT_STREQ(khib_hash_in_use(), v[k].name);
		ASSERT_EQ_U64(khib_hash64("abc", 3), 0x78af5f94892f3950ULL);
		for (size_t i = 0; i < ARRAY_SIZE(lens); i++) {
			struct khib_hash_state s;

			ASSERT_EQ_U64(v[k].hash(buf, lens[i]), v[0].hash(buf, lens[i]));
			khib_hash_init(&s);
			khib_hash_update(&s, buf, lens[i] / 3);
			khib_hash_update(&s, buf + lens[i] / 3, lens[i] - lens[i] / 3);
			ASSERT_EQ_U64(khib_hash_final(&s), v[0].hash(buf, lens[i]));
		}
	}
	khib_hash_use(&v[0]);
	free(buf);
}

/* khib picks the fastest build it measured; it reports every one, and the
 * values stay those of XXH3. */
TEST(checksum_pick_fastest)
{
	const struct khib_hash_variant *v;
	size_t nv = khib_hash_variants(&v);
	char report[256];

	ASSERT_OK(khib_hash_pick_fastest(report, sizeof(report)));
	for (size_t k = 0; k < nv; k++) {
		char want[64];

		snprintf(want, sizeof(want), "%s ", v[k].name);
		ASSERT_TRUE(strstr(report, want) != NULL);
	}
	ASSERT_TRUE(strstr(report, " MB/s") != NULL);
	ASSERT_TRUE(strstr(report, khib_hash_in_use()) != NULL);
	ASSERT_EQ_U64(khib_hash64("abc", 3), 0x78af5f94892f3950ULL);
	khib_hash_use(&v[0]);
}
