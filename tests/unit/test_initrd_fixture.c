/* SPDX-License-Identifier: GPL-2.0-only */
#include "test_initrd_fixture.h"

#include <stdio.h>
#include <stdlib.h>
#include <zlib.h>
#include <zstd.h>

#include "harness.h"

void fixture_put(struct fixture_buf *b, const void *data, size_t len)
{
	if (b->len + len > b->cap) {
		size_t cap = (b->len + len) * 2 + 4096;
		uint8_t *p = realloc(b->p, cap);

		if (!p)
			test_fail(__FILE__, __LINE__, "no memory");
		b->p = p;
		b->cap = cap;
	}
	memcpy(b->p + b->len, data, len);
	b->len += len;
}

static void pad4(struct fixture_buf *b)
{
	static const uint8_t zeros[4];

	fixture_put(b, zeros, (4 - b->len % 4) % 4);
}

void fixture_cpio_add(struct fixture_buf *b, const char *name, uint32_t mode, const void *data,
		      size_t len)
{
	char hdr[160];

	snprintf(hdr, sizeof(hdr), "070701%08X%08X%08X%08X%08X%08X%08zX%08X%08X%08X%08X%08zX%08X",
		 1u, mode, 0u, 0u, 1u, 0u, len, 0u, 0u, 0u, 0u, strlen(name) + 1, 0u);
	fixture_put(b, hdr, 110);
	fixture_put(b, name, strlen(name) + 1);
	pad4(b);
	fixture_put(b, data, len);
	pad4(b);
}

void fixture_cpio_trailer(struct fixture_buf *b)
{
	fixture_cpio_add(b, "TRAILER!!!", 0, "", 0);
}

void fixture_gzip(struct fixture_buf *out, const struct fixture_buf *b)
{
	z_stream z = { 0 };
	uint8_t chunk[4096];
	int r;

	if (deflateInit2(&z, 6, Z_DEFLATED, 16 + MAX_WBITS, 8, Z_DEFAULT_STRATEGY) != Z_OK)
		test_fail(__FILE__, __LINE__, "deflateInit2");
	z.next_in = b->p;
	z.avail_in = (uInt)b->len;
	do {
		z.next_out = chunk;
		z.avail_out = sizeof(chunk);
		r = deflate(&z, Z_FINISH);
		fixture_put(out, chunk, sizeof(chunk) - z.avail_out);
	} while (r == Z_OK);
	deflateEnd(&z);
	if (r != Z_STREAM_END)
		test_fail(__FILE__, __LINE__, "deflate: %d", r);
}

void fixture_zstd(struct fixture_buf *out, const struct fixture_buf *b)
{
	size_t cap = ZSTD_compressBound(b->len);
	uint8_t *p = malloc(cap);
	size_t n;

	if (!p)
		test_fail(__FILE__, __LINE__, "no memory");
	n = ZSTD_compress(p, cap, b->p, b->len, 3);
	if (ZSTD_isError(n)) {
		free(p);
		test_fail(__FILE__, __LINE__, "ZSTD_compress");
	}
	fixture_put(out, p, n);
	free(p);
}

void fixture_buf_free(struct fixture_buf *b)
{
	free(b->p);
	*b = (struct fixture_buf){ 0 };
}
