/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * Small helpers shared by every module of libkhib and its tools: scoped
 * cleanup (systemd's idiom), ownership hand-off, alignment and overflow-safe
 * arithmetic.  Nothing here allocates behind the caller's back or prints.
 */
#ifndef KHIB_UTIL_H
#define KHIB_UTIL_H

#include <sys/types.h>

#include <errno.h>
#include <time.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <unistd.h>

#define ARRAY_SIZE(a) (sizeof(a) / sizeof((a)[0]))

/* The page size: x86-64's, and the image format's (the header records it,
 * doc/FORMAT.md).  Every other spelling of it derives from this one. */
#define KHIB_PAGE_SHIFT 12
#define KHIB_PAGE_SIZE (1ULL << KHIB_PAGE_SHIFT)

/* Alignment helpers; `a` must be a power of two. */
#define ALIGN_UP(x, a) (((x) + ((__typeof__(x))(a) - 1)) & ~((__typeof__(x))(a) - 1))
#define ALIGN_DOWN(x, a) ((x) & ~((__typeof__(x))(a) - 1))
#define IS_ALIGNED(x, a) (((x) & ((__typeof__(x))(a) - 1)) == 0)

static inline void freep(void *p) { free(*(void **)p); }
static inline void closep(int *fd)
{
	if (*fd >= 0) {
		int saved = errno;
		close(*fd);
		errno = saved;
	}
}

#define _cleanup_(f) __attribute__((cleanup(f)))
#define _cleanup_free_ _cleanup_(freep)
#define _cleanup_close_ _cleanup_(closep)

/* Hand ownership out of a _cleanup_ variable. */
#define TAKE_PTR(p) ({ __typeof__(p) _p = (p); (p) = NULL; _p; })
#define TAKE_FD(fd) ({ int _fd = (fd); (fd) = -1; _fd; })

/* a + b <= limit without wrapping. */
static inline bool khib_range_within(uint64_t start, uint64_t len, uint64_t limit)
{
	return start <= limit && len <= limit - start;
}

/* [a, a+alen) and [b, b+blen) share a byte; lengths must not wrap. */
static inline bool khib_ranges_overlap(uint64_t a, uint64_t alen, uint64_t b, uint64_t blen)
{
	return alen && blen && a < b + blen && b < a + alen;
}

static inline uint16_t khib_get_le16(const void *p)
{
	const uint8_t *b = p;
	return (uint16_t)(b[0] | b[1] << 8);
}

static inline uint32_t khib_get_le32(const void *p)
{
	const uint8_t *b = p;
	return (uint32_t)b[0] | (uint32_t)b[1] << 8 | (uint32_t)b[2] << 16 | (uint32_t)b[3] << 24;
}

static inline uint64_t khib_get_le64(const void *p)
{
	const uint8_t *b = p;
	return (uint64_t)khib_get_le32(b) | (uint64_t)khib_get_le32(b + 4) << 32;
}

static inline void khib_put_le16(void *p, uint16_t v)
{
	uint8_t *b = p;
	b[0] = (uint8_t)v;
	b[1] = (uint8_t)(v >> 8);
}

static inline void khib_put_le32(void *p, uint32_t v)
{
	uint8_t *b = p;
	for (int i = 0; i < 4; i++)
		b[i] = (uint8_t)(v >> (8 * i));
}

static inline void khib_put_le64(void *p, uint64_t v)
{
	khib_put_le32(p, (uint32_t)v);
	khib_put_le32((uint8_t *)p + 4, (uint32_t)(v >> 32));
}

/* Parse an unsigned number in C syntax (0x.., decimal) with an optional
 * K/M/G suffix (powers of 1024).  -EINVAL on garbage or overflow. */
int khib_parse_size(const char *s, uint64_t *ret);

/* The clock (CLOCK_REALTIME, CLOCK_MONOTONIC) in nanoseconds. */
uint64_t khib_clock_ns(clockid_t clock);

/* Room for the one-line reasons library calls give with their errors. */
#define KHIB_REASON_MAX 256

/* `key = value` lines ('#' starts a comment, blank lines skipped), each
 * handed to set(), which returns -ENOKEY for a key it does not know and
 * another -errno for a bad value.  -EINVAL with "line N: ..." in reason
 * (as khib_fail()) on the first bad line; -ENOMEM. */
int khib_kv_parse(const char *text, int (*set)(void *ctx, const char *key, const char *val),
		  void *ctx, char *reason);

/* printf into reason (if non-NULL; KHIB_REASON_MAX bytes) and return err. */
int khib_fail(char *reason, int err, const char *fmt, ...) __attribute__((format(printf, 3, 4)));
/* The last word of a call whose every failure has a reason: a failure
 * (err < 0) for which nothing filled reason (emptied on entry) gets
 * strerror(-err), so a caller never prints "...: " with nothing after it.
 * Returns err. */
int khib_fail_or_errno(char *reason, int err);

/* Value of the last `key=` on a kernel command line, copied into buf.  -ENOENT when
 * absent, -ENAMETOOLONG when it does not fit. */
int khib_cmdline_get(const char *cmdline, const char *key, char *buf, size_t bufsz);
/* Whether `flag` stands on a kernel command line as a word of its own
 * (`noresume`), or with a value (`noresume=1`). */
bool khib_cmdline_has(const char *cmdline, const char *flag);

#endif
