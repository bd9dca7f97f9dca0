/* SPDX-License-Identifier: GPL-2.0-only */
#include "targetmap.h"

#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "util.h"

void khib_blockmap_release(struct khib_blockmap *m)
{
	if (!m)
		return;
	free(m->ext);
	m->ext = NULL;
	m->n = 0;
}

/* A value the text form can carry: no newline, no comment sign. */
static bool plain(const char *s)
{
	return !strpbrk(s, "\n#");
}

int khib_targetmap_format(const struct khib_blockmap *m, const char *target, char **ret)
{
	char *text = NULL;
	size_t len = 0;
	FILE *f;

	if (!plain(target) || !plain(m->name) || !plain(m->id) || !*target || !*m->name)
		return -EINVAL;
	if (!(f = open_memstream(&text, &len)))
		return -ENOMEM;
	fprintf(f, "# khib target map: where the image's bytes lie (khib(8), \"target\")\n"
		   "target = %s\ndevice = %s\n", target, m->name);
	if (m->id[0])
		fprintf(f, "id = %s\n", m->id);
	fprintf(f, "part = %" PRIu32 "\nbytes = %" PRIu64 "\n", m->part, m->bytes);
	for (size_t i = 0; i < m->n; i++)
		fprintf(f, "extent = %" PRIu64 " %" PRIu64 "\n", m->ext[i].physical, m->ext[i].length);
	if (fclose(f)) {
		free(text);
		return -ENOMEM;
	}
	*ret = text;
	return 0;
}

struct parse {
	struct khib_blockmap m;
	char *target;
	size_t target_len;
	size_t cap;
	unsigned seen;		/* bit per key below */
	uint64_t logical;
};

enum { SEEN_TARGET = 1, SEEN_DEVICE = 2, SEEN_ID = 4, SEEN_PART = 8, SEEN_BYTES = 16 };

static int copy_value(char *dst, size_t n, const char *val)
{
	size_t len = strlen(val);

	if (!len || len >= n)
		return -EINVAL;
	memcpy(dst, val, len + 1);
	return 0;
}

static int add_extent(struct parse *p, const char *val)
{
	unsigned long long phys, len;
	int used = 0;

	if (sscanf(val, "%llu %llu%n", &phys, &len, &used) != 2 || val[used] || val[0] == '-' ||
	    strchr(val, '-') || !len || (phys | len) % KHIB_TARGET_BLOCK ||
	    !khib_range_within(phys, len, UINT64_MAX) ||
	    !khib_range_within(p->logical, len, UINT64_MAX))
		return -EINVAL;
	if (p->m.n == KHIB_TARGET_MAX_EXTENTS)
		return -EINVAL;
	if (khib_extent_append(&p->m.ext, &p->m.n, &p->cap, p->logical, phys, len) < 0)
		return -ENOMEM;
	p->logical += len;
	return 0;
}

static int set_key(void *ctx, const char *key, const char *val)
{
	struct parse *p = ctx;
	unsigned bit;
	unsigned long long v;
	int used = 0;

	if (!strcmp(key, "extent"))
		return add_extent(p, val);
	if (!strcmp(key, "target"))
		bit = SEEN_TARGET;
	else if (!strcmp(key, "device"))
		bit = SEEN_DEVICE;
	else if (!strcmp(key, "id"))
		bit = SEEN_ID;
	else if (!strcmp(key, "part"))
		bit = SEEN_PART;
	else if (!strcmp(key, "bytes"))
		bit = SEEN_BYTES;
	else
		return -ENOKEY;
	if (p->seen & bit)
		return -EINVAL;
	p->seen |= bit;
	switch (bit) {
	case SEEN_TARGET:
		return copy_value(p->target, p->target_len, val);
	case SEEN_DEVICE:
		if (strchr(val, '/') || val[0] == '.')
			return -EINVAL;
		return copy_value(p->m.name, sizeof(p->m.name), val);
	case SEEN_ID:
		return copy_value(p->m.id, sizeof(p->m.id), val);
	default:
		if (val[0] < '0' || val[0] > '9' || sscanf(val, "%llu%n", &v, &used) != 1 ||
		    val[used] || (bit == SEEN_PART && v > UINT32_MAX) || (bit == SEEN_BYTES && !v))
			return -EINVAL;
		if (bit == SEEN_PART)
			p->m.part = (uint32_t)v;
		else
			p->m.bytes = v;
		return 0;
	}
}

int khib_targetmap_parse(const char *text, struct khib_blockmap *ret, char *target,
			 size_t target_len, char *reason)
{
	struct parse p = { .target = target, .target_len = target_len };
	char why[KHIB_REASON_MAX] = "";
	int r;

	r = khib_kv_parse(text, set_key, &p, why);
	if (r == 0 && (p.seen & (SEEN_TARGET | SEEN_DEVICE | SEEN_BYTES)) !=
		      (SEEN_TARGET | SEEN_DEVICE | SEEN_BYTES)) {
		snprintf(why, sizeof(why), "target, device and bytes are required");
		r = -EINVAL;
	}
	for (size_t i = 0; r == 0 && i < p.m.n; i++)
		if (!khib_range_within(p.m.ext[i].physical, p.m.ext[i].length, p.m.bytes)) {
			snprintf(why, sizeof(why), "extent %zu lies past the device's end", i + 1);
			r = -EINVAL;
		}
	if (r < 0) {
		khib_blockmap_release(&p.m);
		return khib_fail(reason, r == -ENOMEM ? -ENOMEM : -EINVAL, "%s", why);
	}
	*ret = p.m;
	return 0;
}
