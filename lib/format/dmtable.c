/* SPDX-License-Identifier: GPL-2.0-only */
#include "dmtable.h"

#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "util.h"

#define MAX_SEGMENTS 65536

/* The next blank-separated word of *p (within the line) as [*w, *w+len). */
static size_t next_word(const char **p, const char **w)
{
	const char *s = *p + strspn(*p, " \t");
	size_t len = strcspn(s, " \t\n");

	*w = s;
	*p = s + len;
	return len;
}

static int parse_u64(const char *w, size_t len, uint64_t *ret)
{
	char buf[24];
	char *end;

	if (!len || len >= sizeof(buf) || w[0] < '0' || w[0] > '9')
		return -EBADMSG;
	memcpy(buf, w, len);
	buf[len] = '\0';
	errno = 0;
	unsigned long long v = strtoull(buf, &end, 10);
	if (errno || *end)
		return -EBADMSG;
	*ret = v;
	return 0;
}

/* "MAJOR:MINOR", the only form the kernel reports devices in. */
static int parse_devno(const char *w, size_t len, unsigned *maj, unsigned *min)
{
	const char *colon = memchr(w, ':', len);
	uint64_t a, b;

	if (!colon || parse_u64(w, (size_t)(colon - w), &a) < 0 ||
	    parse_u64(colon + 1, len - (size_t)(colon + 1 - w), &b) < 0 ||
	    a > 0xfff || b > 0xfffff)
		return -EBADMSG;
	*maj = (unsigned)a;
	*min = (unsigned)b;
	return 0;
}

/* linear: "DEVICE OFFSET"; crypt: "CIPHER KEY IV_OFFSET DEVICE OFFSET
 * [OPTIONS]" (the key is skipped, never copied). */
static int parse_args(const char *p, struct khib_dm_segment *s)
{
	const char *w;
	size_t len;

	s->crypt = !strcmp(s->type, "crypt");
	s->follows = s->crypt || !strcmp(s->type, "linear");
	if (!s->follows)
		return 0;
	if (s->crypt) {
		for (int i = 0; i < 3; i++)
			if (!next_word(&p, &w))
				return -EBADMSG;
	}
	len = next_word(&p, &w);
	if (parse_devno(w, len, &s->major, &s->minor) < 0)
		return -EBADMSG;
	len = next_word(&p, &w);
	if (parse_u64(w, len, &s->offset) < 0 ||
	    !khib_range_within(s->offset, s->sectors, UINT64_MAX >> 9))
		return -EBADMSG;
	/* linear takes nothing more; crypt's options follow. */
	return !s->crypt && next_word(&p, &w) ? -EBADMSG : 0;
}

static int parse_line(const char *line, uint64_t want_start, struct khib_dm_segment *s)
{
	const char *p = line, *w;
	size_t len;

	memset(s, 0, sizeof(*s));
	len = next_word(&p, &w);
	if (parse_u64(w, len, &s->start) < 0)
		return -EBADMSG;
	len = next_word(&p, &w);
	if (parse_u64(w, len, &s->sectors) < 0 || !s->sectors || s->start != want_start ||
	    !khib_range_within(s->start, s->sectors, UINT64_MAX >> 9))
		return -EBADMSG;
	len = next_word(&p, &w);
	if (!len || len >= KHIB_DM_TYPE_LEN)
		return -EBADMSG;
	memcpy(s->type, w, len);
	return parse_args(p, s);
}

int khib_dm_table_parse(const char *text, struct khib_dm_segment **ret, size_t *ret_n,
			char *reason)
{
	_cleanup_free_ struct khib_dm_segment *v = NULL;
	size_t n = 0, cap = 0, lineno = 0;
	uint64_t next = 0;

	for (const char *line = text; *line;) {
		size_t len = strcspn(line, "\n");

		char first = line[strspn(line, " \t")];

		lineno++;
		if (first != '\n' && first) {
			if (n == cap) {
				size_t ncap = cap ? cap * 2 : 8;
				struct khib_dm_segment *nv;

				if (ncap > MAX_SEGMENTS)
					return khib_fail(reason, -EBADMSG, "more than %d targets",
							 MAX_SEGMENTS);
				if (!(nv = realloc(v, ncap * sizeof(*v))))
					return -ENOMEM;
				v = nv;
				cap = ncap;
			}
			if (parse_line(line, next, &v[n]) < 0)
				return khib_fail(reason, -EBADMSG, "table line %zu: not "
						 "\"START LENGTH TYPE ARGS\" continuing at sector %"
						 PRIu64, lineno, next);
			next = v[n].start + v[n].sectors;
			n++;
		}
		line += len + (line[len] == '\n');
	}
	if (!n)
		return khib_fail(reason, -ENODATA, "no table loaded");
	*ret = TAKE_PTR(v);
	*ret_n = n;
	return 0;
}
