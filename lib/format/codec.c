/* SPDX-License-Identifier: GPL-2.0-only */
#include "codec.h"
#include "util.h"

#include <lz4.h>
#include <lz4hc.h>
#include <string.h>
#include <zstd.h>
#include <zstd_errors.h>

struct khib_codec_ctx {
	enum khib_codec codec;
	int level;
	void *lz4_state; /* LZ4 or LZ4HC state, so compress never allocates */
	ZSTD_CCtx *zc;
	ZSTD_DCtx *zd;
};

static const char *const codec_names[KHIB_CODEC_MAX] = {
	[KHIB_CODEC_NONE] = "none",
	[KHIB_CODEC_LZ4] = "lz4",
	[KHIB_CODEC_ZSTD] = "zstd",
};

const char *khib_codec_name(unsigned codec)
{
	return codec < KHIB_CODEC_MAX ? codec_names[codec] : NULL;
}

int khib_codec_default_level(enum khib_codec codec)
{
	switch (codec) {
	case KHIB_CODEC_LZ4: return 1;
	case KHIB_CODEC_ZSTD: return 1;
	default: return 0;
	}
}

int khib_codec_check_level(enum khib_codec codec, int level)
{
	switch (codec) {
	case KHIB_CODEC_NONE: return level == 0 ? 0 : -EINVAL;
	case KHIB_CODEC_LZ4: return level >= 1 && level <= LZ4HC_CLEVEL_MAX ? 0 : -EINVAL;
	case KHIB_CODEC_ZSTD: return level >= -7 && level <= ZSTD_maxCLevel() && level != 0 ? 0 : -EINVAL;
	default: return -EINVAL;
	}
}

int khib_codec_parse(const char *s, enum khib_codec *ret_codec, int *ret_level)
{
	const char *colon = strchr(s, ':');
	size_t nlen = colon ? (size_t)(colon - s) : strlen(s);
	int level;

	for (unsigned c = 0; c < KHIB_CODEC_MAX; c++) {
		if (strlen(codec_names[c]) != nlen || strncmp(s, codec_names[c], nlen))
			continue;
		level = khib_codec_default_level(c);
		if (colon) {
			char *end;
			long v;

			errno = 0;
			v = strtol(colon + 1, &end, 10);
			if (errno || end == colon + 1 || *end || v < -1000 || v > 1000)
				return -EINVAL;
			level = (int)v;
		}
		if (khib_codec_check_level(c, level) < 0)
			return -EINVAL;
		*ret_codec = c;
		*ret_level = level;
		return 0;
	}
	return -EINVAL;
}

size_t khib_codec_bound(enum khib_codec codec, size_t src_len)
{
	switch (codec) {
	case KHIB_CODEC_LZ4: return (size_t)LZ4_compressBound((int)src_len);
	case KHIB_CODEC_ZSTD: return ZSTD_compressBound(src_len);
	default: return src_len;
	}
}

int khib_codec_ctx_new(enum khib_codec codec, int level, struct khib_codec_ctx **ret)
{
	struct khib_codec_ctx *c;

	if (khib_codec_check_level(codec, level) < 0)
		return -EINVAL;
	c = calloc(1, sizeof(*c));
	if (!c)
		return -ENOMEM;
	c->codec = codec;
	c->level = level;
	if (codec == KHIB_CODEC_LZ4)
		c->lz4_state = malloc(level >= LZ4HC_CLEVEL_MIN ? (size_t)LZ4_sizeofStateHC()
								 : (size_t)LZ4_sizeofState());
	if (codec == KHIB_CODEC_ZSTD) {
		c->zc = ZSTD_createCCtx();
		if (c->zc && ZSTD_isError(ZSTD_CCtx_setParameter(c->zc, ZSTD_c_compressionLevel, level)))
			goto fail;
	}
	/* Every context can decode every codec: the reader needs that for
	 * chunks that the writer stored raw or with a codec of its choice. */
	c->zd = ZSTD_createDCtx();
	if ((codec == KHIB_CODEC_LZ4 && !c->lz4_state) || (codec == KHIB_CODEC_ZSTD && !c->zc) || !c->zd)
		goto fail;
	*ret = c;
	return 0;
fail:
	khib_codec_ctx_free(c);
	return -ENOMEM;
}

void khib_codec_ctx_free(struct khib_codec_ctx *ctx)
{
	if (!ctx)
		return;
	free(ctx->lz4_state);
	ZSTD_freeCCtx(ctx->zc);
	ZSTD_freeDCtx(ctx->zd);
	free(ctx);
}

int khib_codec_compress(struct khib_codec_ctx *ctx, const void *src, size_t src_len,
			void *dst, size_t dst_cap, size_t *ret_len)
{
	size_t n;

	if (src_len > INT32_MAX || dst_cap > INT32_MAX)
		return -EINVAL;
	switch (ctx->codec) {
	case KHIB_CODEC_NONE:
		if (src_len > dst_cap)
			return -ENOSPC;
		memcpy(dst, src, src_len);
		n = src_len;
		break;
	case KHIB_CODEC_LZ4: {
		int r;

		if (ctx->level >= LZ4HC_CLEVEL_MIN)
			r = LZ4_compress_HC_extStateHC(ctx->lz4_state, src, dst, (int)src_len,
						       (int)dst_cap, ctx->level);
		else
			r = LZ4_compress_fast_extState(ctx->lz4_state, src, dst, (int)src_len,
						       (int)dst_cap, 1);
		/* LZ4 reports "does not fit" and real failures alike as 0. */
		if (r <= 0)
			return -ENOSPC;
		n = (size_t)r;
		break;
	}
	case KHIB_CODEC_ZSTD:
		n = ZSTD_compress2(ctx->zc, dst, dst_cap, src, src_len);
		if (ZSTD_isError(n))
			return ZSTD_getErrorCode(n) == ZSTD_error_dstSize_tooSmall ? -ENOSPC : -EIO;
		break;
	default:
		return -EINVAL;
	}
	*ret_len = n;
	return 0;
}

int khib_codec_decompress(struct khib_codec_ctx *ctx, unsigned codec, const void *src,
			  size_t src_len, void *dst, size_t dst_len)
{
	size_t n;

	if (src_len > INT32_MAX || dst_len > INT32_MAX)
		return -EBADMSG;
	switch (codec) {
	case KHIB_CODEC_NONE:
		if (src_len != dst_len)
			return -EBADMSG;
		memcpy(dst, src, dst_len);
		return 0;
	case KHIB_CODEC_LZ4: {
		int r = LZ4_decompress_safe(src, dst, (int)src_len, (int)dst_len);
		return r >= 0 && (size_t)r == dst_len ? 0 : -EBADMSG;
	}
	case KHIB_CODEC_ZSTD:
		if (ctx && ctx->zd)
			n = ZSTD_decompressDCtx(ctx->zd, dst, dst_len, src, src_len);
		else
			n = ZSTD_decompress(dst, dst_len, src, src_len);
		return !ZSTD_isError(n) && n == dst_len ? 0 : -EBADMSG;
	default:
		return -EOPNOTSUPP;
	}
}
