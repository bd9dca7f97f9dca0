/* SPDX-License-Identifier: GPL-2.0-only */
#include "memory.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "util.h"

#define PAGE_BYTES 4096ULL

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
 * Per zone ("Node N, zone NAME" opens it): "pages free F", then its
 * watermarks "min", "low", "high".  Free pages above "high" are what an
 * allocation takes without waking reclaim.
 */
static int zones_usable(const char *text, uint64_t *ret)
{
	uint64_t usable = 0;
	unsigned zones = 0;

	for (const char *z = strstr(text, "Node "); z; z = strstr(z + 1, "\nNode ")) {
		const char *next = strstr(z + 1, "\nNode ");
		const char *f = strstr(z, "\n  pages free "), *h = strstr(z, "\n        high ");
		char name[32];
		unsigned long long free_pages, high;

		if (*z == '\n')
			z++;
		if (sscanf(z, "Node %*u, zone %31s", name) != 1)
			return -EBADMSG;
		zones++;
		if (!f || (next && f > next))
			continue; /* an unpopulated zone prints no page counts */
		if (!h || (next && h > next) ||
		    sscanf(f, "\n  pages free %llu", &free_pages) != 1 ||
		    sscanf(h, "\n        high %llu", &high) != 1)
			return -EBADMSG;
		if (!strcmp(name, "DMA") || free_pages <= high)
			continue;
		usable += (free_pages - high) * PAGE_BYTES;
	}
	if (!zones)
		return -EBADMSG;
	*ret = usable;
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

static int read_text(const char *root, const char *path, char **ret)
{
	char full[512];

	snprintf(full, sizeof(full), "%s%s", root, path);
	return khib_read_file(full, 1 << 20, ret, NULL);
}

int khib_meminfo_read(const char *root, struct khib_meminfo *ret)
{
	_cleanup_free_ char *mi = NULL, *zi = NULL;
	int r;

	if ((r = read_text(root, "/proc/meminfo", &mi)) < 0 ||
	    (r = read_text(root, "/proc/zoneinfo", &zi)) < 0)
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

int khib_memory_make_room(const char *root, uint64_t need_bytes, struct khib_room *ret)
{
	struct khib_room room = { 0 };
	int r;

	if ((r = khib_meminfo_read(root, &room.before)) < 0)
		return r;
	room.after = room.before;
	if (!khib_meminfo_fits(&room.before, need_bytes)) {
		/* Clean page cache, dentries and inodes: dropping them loses
		 * nothing but warm caches.  Dirty pages are written first. */
		sync();
		if ((r = write_text(root, "/proc/sys/vm/drop_caches", "3\n")) < 0)
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
