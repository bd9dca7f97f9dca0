/* SPDX-License-Identifier: GPL-2.0-only */
#include "codec.h"
#include "harness.h"

#include <errno.h>
#include <stdlib.h>

TEST(codec_parse)
{
	enum khib_codec c;
	int level;

	ASSERT_OK(khib_codec_parse("none", &c, &level));
	ASSERT_EQ(c, KHIB_CODEC_NONE);
	ASSERT_EQ(level, 0);
	ASSERT_OK(khib_codec_parse("lz4", &c, &level));
	ASSERT_EQ(c, KHIB_CODEC_LZ4);
	ASSERT_EQ(level, 1);
	ASSERT_OK(khib_codec_parse("zstd:19", &c, &level));
	ASSERT_EQ(c, KHIB_CODEC_ZSTD);
	ASSERT_EQ(level, 19);
	ASSERT_OK(khib_codec_parse("zstd:-3", &c, &level));
	ASSERT_EQ(level, -3);
	ASSERT_EQ(khib_codec_parse("zstd:", &c, &level), -EINVAL);
	ASSERT_EQ(khib_codec_parse("zstd:99", &c, &level), -EINVAL);
	ASSERT_EQ(khib_codec_parse("none:1", &c, &level), -EINVAL);
	ASSERT_EQ(khib_codec_parse("lz", &c, &level), -EINVAL);
	ASSERT_EQ(khib_codec_parse("lz4:1x", &c, &level), -EINVAL);
	ASSERT_STREQ(khib_codec_name(KHIB_CODEC_ZSTD), "zstd");
	ASSERT_TRUE(khib_codec_name(7) == NULL);
}

static void roundtrip(enum khib_codec codec, int level)
{
	size_t n = 64 * 1024, cap = khib_codec_bound(codec, n), len = 0;
	uint8_t *src = malloc(n), *dst = malloc(cap), *back = malloc(n);
	struct khib_codec_ctx *ctx;

	for (size_t i = 0; i < n; i++)
		src[i] = (uint8_t)((i / 100) % 7 == 0 ? i * 2654435761u >> 24 : 'a' + i % 5);
	ASSERT_OK(khib_codec_ctx_new(codec, level, &ctx));
	ASSERT_OK(khib_codec_compress(ctx, src, n, dst, cap, &len));
	if (codec != KHIB_CODEC_NONE)
		ASSERT_TRUE(len < n / 2);
	ASSERT_OK(khib_codec_decompress(ctx, codec, dst, len, back, n));
	ASSERT_MEMEQ(src, back, n);
	/* Wrong expected length, truncated or damaged input: -EBADMSG. */
	ASSERT_EQ(khib_codec_decompress(ctx, codec, dst, len, back, n - 1), -EBADMSG);
	if (codec != KHIB_CODEC_NONE) {
		ASSERT_EQ(khib_codec_decompress(NULL, codec, dst, len / 2, back, n), -EBADMSG);
		ASSERT_EQ(khib_codec_compress(ctx, src, n, dst, 16, &len), -ENOSPC);
	}
	ASSERT_EQ(khib_codec_decompress(ctx, 9, dst, len, back, n), -EOPNOTSUPP);
	khib_codec_ctx_free(ctx);
	free(src);
	free(dst);
	free(back);
}

TEST(codec_roundtrip_none) { roundtrip(KHIB_CODEC_NONE, 0); }
TEST(codec_roundtrip_lz4) { roundtrip(KHIB_CODEC_LZ4, 1); }
TEST(codec_roundtrip_lz4hc) { roundtrip(KHIB_CODEC_LZ4, 9); }
TEST(codec_roundtrip_zstd) { roundtrip(KHIB_CODEC_ZSTD, 3); }
