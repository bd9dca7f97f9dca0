/* SPDX-License-Identifier: GPL-2.0-only */
#include "initrd.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <zlib.h>
#include <zstd.h>

#include "util.h"

#define CPIO_HEADER_BYTES 110
#define CPIO_NAME_MAX 4096
#define OUT_CHUNK (128u << 10)

/*
 * A newc cpio stream, pushed in pieces as they come out of a decompressor
 * or the file.  BETWEEN: after a trailer (or at the start), where zeros may
 * pad and only a header may start.
 */
enum cpio_state { BETWEEN, HEADER, NAME, NAME_PAD, DATA, DATA_PAD };

struct cpio {
	struct khib_initrd_member *m;
	size_t n;
	enum cpio_state state;
	uint8_t hdr[CPIO_HEADER_BYTES];
	char name[CPIO_NAME_MAX];
	size_t have, namesize, pad;
	uint32_t mode, filesize;
	uint64_t left;			/* data bytes still to come */
	bool trailer;			/* this entry is TRAILER!!! */
	struct khib_initrd_member *cur;	/* the member being filled */
	uint64_t total;			/* bytes pushed, for the cap */
	uint8_t *out;			/* OUT_CHUNK bytes for the decompressors */
	char *reason;
};

/* Field i (0 = c_ino) of a newc header: 8 hex digits. */
static int hex_field(const uint8_t *hdr, unsigned i, uint32_t *ret)
{
	uint32_t v = 0;

	for (unsigned k = 0; k < 8; k++) {
		uint8_t c = hdr[6 + 8 * i + k];
		unsigned d;

		if (c >= '0' && c <= '9')
			d = c - '0';
		else if (c >= 'a' && c <= 'f')
			d = c - 'a' + 10;
		else if (c >= 'A' && c <= 'F')
			d = c - 'A' + 10;
		else
			return -EBADMSG;
		v = v << 4 | d;
	}
	*ret = v;
	return 0;
}

static int got_header(struct cpio *c)
{
	uint32_t namesize, filesize, mode;

	if (memcmp(c->hdr, "070701", 6) && memcmp(c->hdr, "070702", 6))
		return khib_fail(c->reason, -EBADMSG, "no cpio header where one must start");
	if (hex_field(c->hdr, 1, &mode) < 0 || hex_field(c->hdr, 6, &filesize) < 0 ||
	    hex_field(c->hdr, 11, &namesize) < 0)
		return khib_fail(c->reason, -EBADMSG, "a cpio header that is not hex digits");
	if (!namesize || namesize > CPIO_NAME_MAX)
		return khib_fail(c->reason, -EBADMSG, "a cpio name of %u bytes", namesize);
	c->namesize = namesize;
	c->mode = mode;
	c->filesize = c->left = filesize;
	c->cur = NULL;
	c->pad = (4 - (CPIO_HEADER_BYTES + namesize) % 4) % 4;
	c->state = NAME;
	c->have = 0;
	return 0;
}

/* "./usr/sbin/khib" and "/usr/sbin/khib" are "usr/sbin/khib". */
static const char *normal_name(const char *s)
{
	for (;;) {
		if (s[0] == '.' && s[1] == '/')
			s += 2;
		else if (s[0] == '/')
			s++;
		else
			return s;
	}
}

static int got_name(struct cpio *c)
{
	const char *name;

	if (c->name[c->namesize - 1] != '\0')
		return khib_fail(c->reason, -EBADMSG, "a cpio name without its NUL");
	c->trailer = !strcmp(c->name, "TRAILER!!!");
	name = normal_name(c->name);
	for (size_t i = 0; i < c->n && !c->trailer; i++) {
		struct khib_initrd_member *m = &c->m[i];

		if (strcmp(name, normal_name(m->name)))
			continue;
		/* A later member of the name replaces an earlier one. */
		free(m->data);
		m->data = NULL;
		m->found = true;
		m->mode = c->mode;
		m->bytes = c->left;
		if (c->left && c->left <= m->max_bytes && !(m->data = malloc(c->left)))
			return khib_fail(c->reason, -ENOMEM, "no memory for '%s'", name);
		c->cur = m;
		break;
	}
	c->state = NAME_PAD;
	c->have = 0;
	return 0;
}

/* Take up to len bytes into dst until it holds want; 1 when full. */
static int collect(void *dst, size_t *have, size_t want, const uint8_t **p, size_t *len)
{
	size_t k = want - *have < *len ? want - *have : *len;

	memcpy((uint8_t *)dst + *have, *p, k);
	*have += k;
	*p += k;
	*len -= k;
	return *have == want;
}

static void take_data(struct cpio *c, const uint8_t **p, size_t *len)
{
	size_t k = c->left < *len ? (size_t)c->left : *len;

	if (c->cur && c->cur->data)
		memcpy(c->cur->data + (c->cur->bytes - c->left), *p, k);
	c->left -= k;
	*p += k;
	*len -= k;
}

/* Skip up to c->pad bytes. */
static void skip_pad(struct cpio *c, const uint8_t **p, size_t *len)
{
	size_t k = c->pad < *len ? c->pad : *len;

	c->pad -= k;
	*p += k;
	*len -= k;
}

/* The steps that need no more bytes: past padding and data that are done
 * (or empty), to the next header, or between archives after a trailer. */
static void settle(struct cpio *c)
{
	for (;;) {
		if (c->state == NAME_PAD && !c->pad) {
			c->state = DATA;
		} else if (c->state == DATA && !c->left) {
			c->pad = (4 - c->filesize % 4) % 4;
			c->state = DATA_PAD;
		} else if (c->state == DATA_PAD && !c->pad) {
			c->state = c->trailer ? BETWEEN : HEADER;
			c->have = 0;
		} else {
			return;
		}
	}
}

/*
 * Push buf: 0 when all of it was taken; 1 when, between archives, a byte
 * starts something that is no cpio archive (*used says where); -errno.
 */
static int cpio_push(struct cpio *c, const uint8_t *buf, size_t len, size_t *used)
{
	const uint8_t *p = buf;
	int r = 0;

	c->total += len;
	if (c->total > KHIB_INITRD_MAX_BYTES)
		return khib_fail(c->reason, -EFBIG, "more than %llu MiB unpacked",
				 KHIB_INITRD_MAX_BYTES >> 20);
	while (len && r >= 0) {
		switch (c->state) {
		case BETWEEN:
			if (*p == '0') {
				c->state = HEADER;
				c->have = 0;
			} else if (*p == 0) {
				p++, len--;
			} else {
				*used = (size_t)(p - buf);
				c->total -= len;
				return 1;
			}
			break;
		case HEADER:
			if (collect(c->hdr, &c->have, CPIO_HEADER_BYTES, &p, &len))
				r = got_header(c);
			break;
		case NAME:
			if (collect(c->name, &c->have, c->namesize, &p, &len))
				r = got_name(c);
			break;
		case NAME_PAD:
		case DATA_PAD:
			skip_pad(c, &p, &len);
			break;
		case DATA:
			take_data(c, &p, &len);
			break;
		}
		settle(c);
	}
	*used = (size_t)(p - buf);
	return r < 0 ? r : 0;
}

/* Unpacked bytes of a compressed part go to the cpio stream; only another
 * archive (or zeros) may follow an archive inside it. */
static int push_unpacked(struct cpio *c, const uint8_t *buf, size_t len)
{
	size_t used;
	int r = cpio_push(c, buf, len, &used);

	if (r == 1)
		return khib_fail(c->reason, -EBADMSG, "junk inside a compressed part");
	return r;
}

/* A gzip member at buf; *used: its compressed length. */
static int unpack_gzip(struct cpio *c, const uint8_t *buf, size_t len, size_t *used)
{
	z_stream z = { 0 };
	int r = 0, zr;

	if (inflateInit2(&z, 16 + MAX_WBITS) != Z_OK)
		return khib_fail(c->reason, -ENOMEM, "no memory for zlib");
	z.next_in = (Bytef *)buf;
	z.avail_in = len > UINT32_MAX ? UINT32_MAX : (uInt)len;
	do {
		z.next_out = c->out;
		z.avail_out = OUT_CHUNK;
		zr = inflate(&z, Z_NO_FLUSH);
		if (zr != Z_OK && zr != Z_STREAM_END) {
			r = khib_fail(c->reason, -EBADMSG, "a gzip part that does not unpack (%s)",
				      z.msg ? z.msg : zr == Z_BUF_ERROR ? "it ends early" : "zlib");
			break;
		}
		r = push_unpacked(c, c->out, OUT_CHUNK - z.avail_out);
	} while (r >= 0 && zr != Z_STREAM_END);
	*used = z.total_in;
	inflateEnd(&z);
	return r;
}

/* A zstd frame at buf. */
static int unpack_zstd(struct cpio *c, const uint8_t *buf, size_t len, size_t *used)
{
	ZSTD_DStream *ds = ZSTD_createDStream();
	ZSTD_inBuffer in = { buf, len, 0 };
	size_t zr;
	int r = 0;

	if (!ds)
		return khib_fail(c->reason, -ENOMEM, "no memory for zstd");
	do {
		ZSTD_outBuffer out = { c->out, OUT_CHUNK, 0 };
		size_t before = in.pos;

		zr = ZSTD_decompressStream(ds, &out, &in);
		if (ZSTD_isError(zr)) {
			r = khib_fail(c->reason, -EBADMSG, "a zstd part that does not unpack (%s)",
				      ZSTD_getErrorName(zr));
			break;
		}
		if (zr && in.pos == in.size && in.pos == before && !out.pos) {
			r = khib_fail(c->reason, -EBADMSG, "a zstd part that ends early");
			break;
		}
		r = push_unpacked(c, c->out, out.pos);
	} while (r >= 0 && zr);
	*used = in.pos;
	ZSTD_freeDStream(ds);
	return r;
}

static const struct {
	const char *magic;
	size_t len;
	const char *name;
} other_magic[] = {
	{ "\xfd" "7zXZ", 5, "xz" },
	{ "\x5d\0\0", 3, "lzma" },
	{ "BZh", 3, "bzip2" },
	{ "\x02\x21\x4c\x18", 4, "lz4" },
	{ "\x04\x22\x4d\x18", 4, "lz4" },
	{ "\x89LZO", 4, "lzo" },
};

/* The compressed part at p: unpacked into c; *used its length. */
static int unpack(struct cpio *c, const uint8_t *p, size_t len, size_t off, size_t *used)
{
	if (len >= 2 && p[0] == 0x1f && p[1] == 0x8b)
		return unpack_gzip(c, p, len, used);
	if (len >= 4 && !memcmp(p, "\x28\xb5\x2f\xfd", 4))
		return unpack_zstd(c, p, len, used);
	for (size_t i = 0; i < ARRAY_SIZE(other_magic); i++)
		if (len >= other_magic[i].len && !memcmp(p, other_magic[i].magic, other_magic[i].len))
			return khib_fail(c->reason, -EOPNOTSUPP, "a part compressed with %s at byte "
					 "%zu (khib reads gzip and zstd)", other_magic[i].name, off);
	return khib_fail(c->reason, -EBADMSG, "neither a cpio archive nor a compressed one at "
			 "byte %zu", off);
}

static int scan(struct cpio *c, const uint8_t *buf, size_t len)
{
	size_t pos = 0;
	int r;

	if (!len)
		return khib_fail(c->reason, -EBADMSG, "an empty file");
	while (pos < len) {
		size_t used = 0;

		/* Archives and zeros as they are, until something else. */
		r = cpio_push(c, buf + pos, len - pos, &used);
		if (r < 0)
			return r;
		pos += used;
		if (r == 0)
			break;
		if ((r = unpack(c, buf + pos, len - pos, pos, &used)) < 0)
			return r;
		pos += used;
	}
	if (c->state != BETWEEN)
		return khib_fail(c->reason, -EBADMSG, "it ends inside a cpio archive");
	return 0;
}

void khib_initrd_release(struct khib_initrd_member *m, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		free(m[i].data);
		m[i].data = NULL;
		m[i].found = false;
		m[i].mode = 0;
		m[i].bytes = 0;
	}
}

int khib_initrd_scan(const void *buf, size_t len, struct khib_initrd_member *m, size_t n,
		     char *reason)
{
	struct cpio c = { .m = m, .n = n, .state = BETWEEN, .reason = reason };
	int r;

	khib_initrd_release(m, n);
	if (!(c.out = malloc(OUT_CHUNK)))
		return khib_fail(reason, -ENOMEM, "no memory");
	r = scan(&c, buf, len);
	free(c.out);
	if (r < 0)
		khib_initrd_release(m, n);
	return r;
}
