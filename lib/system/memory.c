/* SPDX-License-Identifier: GPL-2.0-only */
#include "memory.h"

#include <errno.h>
#include <stdint.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "fileio.h"
#include "util.h"

static int meminfo_field(const char *text, const char *key, uint64_t *ret)
{
	size_t klen = strlen(key);
	unsigned long long kb;

	for (const char *p = text; p; p = strchr(p, '\n'), p = p ? p + 1 : NULL)
		if (!strncmp(p, key, klen) && p[klen] == ':') {
			if (sscanf(p + klen + 1, " %llu kB", &kb) != 1 || kb > UINT64_MAX / 1024)
				return -EBADMSG;
			*ret = (uint64_t)kb * 1024;
			return 0;
		}
	return -EBADMSG;
}

/*
 * Per zone ("Node N, zone NAME" opens it, zones in index order): "pages
 * free F", its watermarks, and "protection: (...)", the pages it keeps
 * from allocations that could have used a higher zone (lowmem_reserve,
 * indexed by the highest zone the allocation may use).  kexec's
 * GFP_HIGHUSER pages may use up to ZONE_NORMAL, so a zone gives them what
 * is free above its high watermark plus its protection against Normal --
 * the page allocator's own watermark check (mm/page_alloc.c
 * __zone_watermark_ok).
 */
struct zone_text {
	char name[32];
	uint64_t free_pages, high, protection[8];
	unsigned n_protection;
	bool populated;
};

static int parse_zone(const char *z, const char *end, struct zone_text *zt)
{
	const char *f = strstr(z, "\n  pages free "), *h = strstr(z, "\n        high ");
	const char *p = strstr(z, "\n        protection: (");
	unsigned long long v;
	int n;

	*zt = (struct zone_text){ 0 };
	if (sscanf(z, "Node %*u, zone %31s", zt->name) != 1)
		return -EBADMSG;
	if (!f || (end && f > end))
		return 0; /* an unpopulated zone may print no page counts */
	if (!h || (end && h > end) || !p || (end && p > end) ||
	    sscanf(f, "\n  pages free %llu", &v) != 1)
		return -EBADMSG;
	zt->free_pages = v;
	if (sscanf(h, "\n        high %llu", &v) != 1)
		return -EBADMSG;
	zt->high = v;
	p += strlen("\n        protection: (");
	while (zt->n_protection < 8 && sscanf(p, "%llu%n", &v, &n) == 1) {
		zt->protection[zt->n_protection++] = v;
		p += n;
		if (*p != ',')
			break;
		p++;
	}
	if (*p != ')')
		return -EBADMSG;
	zt->populated = true;
	return 0;
}

/* Calls fn for every zone with its index within its node. */
static int for_each_zone(const char *text, int (*fn)(void *ctx, const struct zone_text *zt,
						      unsigned idx), void *ctx)
{
	unsigned node, last = UINT32_MAX, idx = 0, n = 0;
	struct zone_text zt;
	int r;

	for (const char *z = strstr(text, "Node "); z; z = strstr(z, "\nNode ")) {
		if (*z == '\n')
			z++;
		if (sscanf(z, "Node %u,", &node) != 1)
			return -EBADMSG;
		idx = node == last ? idx + 1 : 0;
		last = node;
		if ((r = parse_zone(z, strstr(z, "\nNode "), &zt)) < 0 || (r = fn(ctx, &zt, idx)) < 0)
			return r;
		n++;
	}
	return n ? 0 : -EBADMSG;
}

static int find_normal(void *ctx, const struct zone_text *zt, unsigned idx)
{
	if (!strcmp(zt->name, "Normal"))
		*(unsigned *)ctx = idx;
	return 0;
}

struct usable_sum {
	unsigned normal;
	uint64_t bytes;
};

static int add_usable(void *ctx, const struct zone_text *zt, unsigned idx)
{
	struct usable_sum *u = ctx;
	uint64_t keep;

	(void)idx;
	if (!zt->populated)
		return 0;
	if (u->normal >= zt->n_protection)
		return -EBADMSG;
	keep = zt->high + zt->protection[u->normal];
	if (zt->free_pages > keep)
		u->bytes += (zt->free_pages - keep) * KHIB_PAGE_SIZE;
	return 0;
}

static int zones_usable(const char *text, uint64_t *ret)
{
	struct usable_sum u = { .normal = UINT32_MAX };
	int r;

	if ((r = for_each_zone(text, find_normal, &u.normal)) < 0)
		return r;
	if (u.normal == UINT32_MAX)
		return -EBADMSG;
	if ((r = for_each_zone(text, add_usable, &u)) < 0)
		return r;
	*ret = u.bytes;
	return 0;
}

int khib_meminfo_parse(const char *meminfo, const char *zoneinfo, struct khib_meminfo *ret)
{
	struct khib_meminfo m;
	int r;

	if ((r = meminfo_field(meminfo, "MemTotal", &m.total_bytes)) < 0 ||
	    (r = meminfo_field(meminfo, "MemFree", &m.free_bytes)) < 0 ||
	    (r = meminfo_field(meminfo, "MemAvailable", &m.available_bytes)) < 0 ||
	    (r = zones_usable(zoneinfo, &m.usable_bytes)) < 0)
		return r;
	*ret = m;
	return 0;
}

int khib_meminfo_read(const char *root, struct khib_meminfo *ret)
{
	_cleanup_free_ char *mi = NULL, *zi = NULL;
	int r;

	if ((r = khib_read_root_file(root, "/proc/meminfo", &mi)) < 0 ||
	    (r = khib_read_root_file(root, "/proc/zoneinfo", &zi)) < 0)
		return r;
	return khib_meminfo_parse(mi, zi, ret);
}

bool khib_meminfo_fits(const struct khib_meminfo *m, uint64_t need_bytes)
{
	return m->usable_bytes >= need_bytes &&
	       m->usable_bytes - need_bytes >= KHIB_LOAD_HEADROOM_BYTES;
}

static int write_text(const char *root, const char *path, const char *text)
{
	char full[512];
	_cleanup_close_ int fd = -1;
	size_t n = strlen(text);

	snprintf(full, sizeof(full), "%s%s", root, path);
	fd = open(full, O_WRONLY | O_CLOEXEC);
	if (fd < 0)
		return -errno;
	if (write(fd, text, n) != (ssize_t)n)
		return -errno;
	return 0;
}

int khib_memory_drop_caches(const char *root)
{
	sync();
	return write_text(root, "/proc/sys/vm/drop_caches", "3\n");
}

int khib_memory_make_room(const char *root, uint64_t need_bytes, bool drop,
			  struct khib_room *ret)
{
	struct khib_room room = { 0 };
	int r;

	if ((r = khib_meminfo_read(root, &room.before)) < 0)
		return r;
	room.after = room.before;
	if (drop || !khib_meminfo_fits(&room.before, need_bytes)) {
		if ((r = khib_memory_drop_caches(root)) < 0)
			return r;
		room.dropped_caches = true;
		if ((r = khib_meminfo_read(root, &room.after)) < 0)
			return r;
	}
	*ret = room;
	return khib_meminfo_fits(&room.after, need_bytes) ? 0 : -ENOMEM;
}

int khib_memory_oom_first(const char *root)
{
	return write_text(root, "/proc/self/oom_score_adj", "1000\n");
}

#define COMPACT_UNEVICTABLE "/proc/sys/vm/compact_unevictable_allowed"

int khib_memory_hold_mlocked(const char *root, char *old, size_t n)
{
	char full[512];
	int r;

	snprintf(full, sizeof(full), "%s%s", root, COMPACT_UNEVICTABLE);
	if ((r = khib_read_attr(full, old, n)) < 0)
		return r;
	return write_text(root, COMPACT_UNEVICTABLE, "0\n");
}

int khib_memory_release_mlocked(const char *root, const char *old)
{
	char text[32];

	snprintf(text, sizeof(text), "%s\n", old);
	return write_text(root, COMPACT_UNEVICTABLE, text);
}
