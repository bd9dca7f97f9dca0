/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * Page compression codecs: none, lz4 (levels 1-12: 1-2 fast, >= 3 LZ4HC) and
 * zstd (levels -7..22).  The numeric ids are part of the on-disk format
 * (doc/FORMAT.md) and never change.
 *
 * A context is owned by one thread; compressing and decompressing never
 * allocate once the context exists, so the hot path only touches the
 * caller's buffers.  Decompression is safe on arbitrary input: it never
 * writes outside dst and fails with -EBADMSG unless it produces exactly
 * dst_len bytes.
 */
#ifndef KHIB_CODEC_H
#define KHIB_CODEC_H

#include <stddef.h>
#include <stdint.h>

enum khib_codec {
	KHIB_CODEC_NONE = 0,
	KHIB_CODEC_LZ4 = 1,
	KHIB_CODEC_ZSTD = 2,
	KHIB_CODEC_MAX,
};

struct khib_codec_ctx;

/* "none", "lz4", "lz4:9", "zstd", "zstd:3".  -EINVAL on anything else. */
int khib_codec_parse(const char *s, enum khib_codec *ret_codec, int *ret_level);
/* Static name, or NULL for an unknown id. */
const char *khib_codec_name(unsigned codec);
int khib_codec_default_level(enum khib_codec codec);
/* -EINVAL unless level is valid for codec (none takes only 0). */
int khib_codec_check_level(enum khib_codec codec, int level);
/* Worst-case compressed size of src_len bytes. */
size_t khib_codec_bound(enum khib_codec codec, size_t src_len);

int khib_codec_ctx_new(enum khib_codec codec, int level, struct khib_codec_ctx **ret);
void khib_codec_ctx_free(struct khib_codec_ctx *ctx);

/*
 * Compress src into dst.  -ENOSPC when the result would not fit dst_cap (the
 * caller then stores the data uncompressed), -EIO on a library failure.
 */
int khib_codec_compress(struct khib_codec_ctx *ctx, const void *src, size_t src_len,
			void *dst, size_t dst_cap, size_t *ret_len);

/* Decode exactly dst_len bytes; -EBADMSG on malformed input, -EOPNOTSUPP
 * for an unknown codec.  ctx may be NULL (slower for zstd). */
int khib_codec_decompress(struct khib_codec_ctx *ctx, unsigned codec, const void *src,
			  size_t src_len, void *dst, size_t dst_len);

#endif
