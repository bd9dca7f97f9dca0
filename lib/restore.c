/* SPDX-License-Identifier: GPL-2.0-only */
#include "restore.h"

#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <string.h>
#include <sys/utsname.h>

#include "physmem.h"
#include "util.h"

static int fail(char *reason, int err, const char *msg)
{
	if (reason)
		snprintf(reason, KHIB_REASON_MAX, "%s", msg);
	return err;
}

int khib_restore_check(struct khib_reader *rd, const struct khib_memmap *firmware,
		       unsigned threads, char *reason)
{
	const struct khib_image_info *info = khib_reader_info(rd);
	const struct khib_resume_info *ri = &info->resume;
	struct khib_kernel_identity running = { 0 };
	struct utsname u;
	int r;

	if (uname(&u) < 0)
		return -errno;
	/* Not the boot id: this is a new boot of the same kernel. */
	snprintf(running.uts_release, sizeof(running.uts_release), "%s", u.release);
	snprintf(running.uts_version, sizeof(running.uts_version), "%s", u.version);
	running.memmap_hash = khib_memmap_hash(firmware);
	r = khib_image_check_identity(info, &running, reason);
	if (r < 0)
		return r;
	if (!ri->jump_back_entry || !ri->region_size ||
	    !khib_memmap_find(firmware, ri->region_start, ri->region_start + ri->region_size,
			      KHIB_E820_RAM) ||
	    !khib_memmap_find(firmware, ri->lowmem_start, ri->lowmem_start + ri->lowmem_size,
			      KHIB_E820_RAM))
		return fail(reason, -ESTALE, "the image's restore region is not RAM on this machine");
	return khib_reader_verify(rd, threads, reason);
}

struct restore_ctx {
	const struct khib_handoff *h;
	const char *devmem;
	pthread_mutex_t lock;
	uint64_t done, total;
	khib_restore_progress_fn *progress;
	void *progress_ctx;
};

static bool own_ram(const struct khib_handoff *h, uint64_t paddr, uint64_t bytes)
{
	return khib_ranges_overlap(paddr, bytes, h->region_start, h->region_bytes) ||
	       khib_ranges_overlap(paddr, bytes, h->low_start, h->low_bytes);
}

/* Called from the reader's threads with runs of one chunk. */
static int put_pages(void *ctx, uint64_t paddr, uint64_t npages, enum khib_page_kind kind,
		     const void *data)
{
	struct restore_ctx *c = ctx;
	uint64_t bytes = npages * KHIB_PAGE_SIZE;
	struct khib_physmap m;
	int r;

	if (own_ram(c->h, paddr, bytes))
		return -EINVAL;
	if (kind != KHIB_PAGES_EXCLUDED) {
		r = khib_physmem_map(c->devmem, paddr, bytes, 1, &m);
		if (r < 0)
			return r;
		/* The memory holds whatever the boot before R left there: zero
		 * pages must be written too. */
		if (kind == KHIB_PAGES_DATA)
			memcpy(m.ptr, data, bytes);
		else
			memset(m.ptr, 0, bytes);
		khib_physmem_unmap(&m);
	}
	pthread_mutex_lock(&c->lock);
	c->done += npages;
	if (c->progress)
		c->progress(c->progress_ctx, c->done, c->total);
	pthread_mutex_unlock(&c->lock);
	return 0;
}

int khib_restore_memory(struct khib_reader *rd, const struct khib_handoff *h, const char *devmem,
			unsigned threads, khib_restore_progress_fn *progress, void *ctx,
			char *reason)
{
	const struct khib_image_info *info = khib_reader_info(rd);
	struct restore_ctx c = { .h = h, .devmem = devmem, .total = info->saved_pages,
				 .progress = progress, .progress_ctx = ctx };
	struct khib_read_opts o = { .threads = threads, .fn = put_pages, .ctx = &c };
	size_t n;
	const struct khib_range *ranges = khib_reader_ranges(rd, &n);
	int r;

	/* Refuse before writing anything, not half-way. */
	for (size_t i = 0; i < n; i++)
		if (own_ram(h, ranges[i].paddr, ranges[i].npages * KHIB_PAGE_SIZE))
			return fail(reason, -EINVAL, "the image covers the restore kernel's own RAM");
	pthread_mutex_init(&c.lock, NULL);
	r = khib_reader_read(rd, &o, reason);
	pthread_mutex_destroy(&c.lock);
	if (r == -EINVAL && reason && !reason[0])
		fail(reason, r, "a chunk lies in the restore kernel's own RAM");
	return r;
}
