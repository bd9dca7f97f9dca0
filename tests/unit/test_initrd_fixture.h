/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * Initramfs images for the tests: newc cpio archives built member by
 * member, gzip'ed or zstd'ed, concatenated as initramfs-tools does (an
 * uncompressed early archive, then a compressed main one).
 */
#ifndef KHIB_TEST_INITRD_FIXTURE_H
#define KHIB_TEST_INITRD_FIXTURE_H

#include <stddef.h>
#include <stdint.h>

struct fixture_buf {
	uint8_t *p;
	size_t len, cap;
};

/* Append bytes; the test fails on no memory. */
void fixture_put(struct fixture_buf *b, const void *data, size_t len);
/* A newc member: "070701" header, name, data, padding. */
void fixture_cpio_add(struct fixture_buf *b, const char *name, uint32_t mode, const void *data,
		      size_t len);
void fixture_cpio_trailer(struct fixture_buf *b);
/* b's content compressed and appended to out. */
void fixture_gzip(struct fixture_buf *out, const struct fixture_buf *b);
void fixture_zstd(struct fixture_buf *out, const struct fixture_buf *b);
void fixture_buf_free(struct fixture_buf *b);

#endif
