/* SPDX-License-Identifier: GPL-2.0-only */
#include "save.h"

#include <dirent.h>
#include <elf.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "blockmap.h"
#include "handoff_read.h"
#include "image_format.h"
#include "physmem.h"
#include "targetdev.h"
#include "threadpool.h"
#include "util.h"

/* Memory is handed to the writer in windows of this size, which bounds how
 * much of N is mapped at once and how often progress is reported. */
#define WINDOW_BYTES (64ULL << 20)

int khib_save_open_target(const struct khib_handoff *h, const char *devmem,
			  struct khib_target **ret, char *ret_name, char *reason)
{
	struct khib_blockmap m = { .bytes = h->target_bytes, .part = h->target_part };
	int r;

	snprintf(m.name, sizeof(m.name), "%s", h->target_name);
	snprintf(m.id, sizeof(m.id), "%s", h->target_id);
	if (h->nr_extents && (r = khib_extmap_read(devmem, h, &m.ext)) < 0)
		return khib_fail(reason, r, "reading its extent map from N's memory: %s",
				 strerror(-r));
	m.n = h->nr_extents;
	r = khib_blockmap_open_map(&khib_blockenv_system, &m, KHIB_TARGET_WRITE, ret, ret_name,
				   reason);
	khib_blockmap_release(&m);
	return r;
}

int khib_save_read_vmcoreinfo(const char *devmem, uint64_t paddr, uint64_t bytes, char **ret,
			      size_t *ret_bytes)
{
	_cleanup_free_ uint8_t *note = NULL;
	Elf64_Nhdr nh;
	size_t off;
	int r;

	if (bytes < sizeof(nh) || bytes > (1 << 20))
		return -EINVAL;
	note = malloc(bytes);
	if (!note)
		return -ENOMEM;
	r = khib_physmem_read(devmem, paddr, note, bytes);
	if (r < 0)
		return r;
	memcpy(&nh, note, sizeof(nh));
	off = sizeof(nh) + ALIGN_UP((size_t)nh.n_namesz, 4);
	if (nh.n_namesz != sizeof("VMCOREINFO") ||
	    memcmp(note + sizeof(nh), "VMCOREINFO", sizeof("VMCOREINFO")) ||
	    off > bytes || nh.n_descsz > bytes - off)
		return -EBADMSG;
	char *text = malloc(nh.n_descsz + 1);
	if (!text)
		return -ENOMEM;
	memcpy(text, note + off, nh.n_descsz);
	text[nh.n_descsz] = '\0';
	*ret = text;
	*ret_bytes = strnlen(text, nh.n_descsz);
	return 0;
}

/*
 * Chunks of 4 MiB where the writer kernel has the memory, else of 1 MiB:
 * every compression thread holds two chunk buffers (the pages gathered,
 * the compressed output), here and in the restore kernel that reads the
 * image back, and both kernels live in a region that a full machine must
 * find free before the jump (lib/system/memory.h).  Measured (512 MiB, TCG,
 * 3 runs): 1 MiB chunks save in 3.4-4.5 s, 4 MiB ones in 3.3-3.7 s; in
 * the default 32 MiB region only 1 MiB chunks fit.
 */
#define SAVE_CHUNK_PAGES_BIG 1024
#define SAVE_CHUNK_PAGES_SMALL KHIB_SAVE_CHUNK_PAGES_MIN
/* Left free with the big chunks, for the kernel's own needs. */
#define SAVE_BIG_HEADROOM_BYTES (8ULL << 20)

uint64_t khib_save_memory_needed(const struct khib_handoff *h, unsigned threads,
				 uint32_t chunk_pages)
{
	const uint64_t chunk = (uint64_t)chunk_pages * KHIB_PAGE_SIZE;
	uint64_t ram_pages = 0, bytes;

	for (uint32_t i = 0; i < h->nr_ranges; i++)
		ram_pages += h->ranges[i].bytes / KHIB_PAGE_SIZE;
	if (!threads)
		threads = khib_pool_default_threads();
	/* Per thread: gathered pages and compressed output; per queued job
	 * (two per thread) its page pointers.  The bitmap: a bit per page.
	 * The index: an entry per chunk.  4 MiB: stacks, libc, the range
	 * tables and everything small. */
	bytes = threads * (2 * chunk + 2 * chunk_pages * sizeof(void *));
	bytes += ram_pages / 8 + (ram_pages / chunk_pages + 1) * KHIB_INDEX_ENTRY_SIZE;
	return bytes + (4ULL << 20);
}

uint32_t khib_save_chunk_pages(const struct khib_handoff *h, unsigned threads,
			       uint64_t free_bytes)
{
	if (khib_save_memory_needed(h, threads, SAVE_CHUNK_PAGES_BIG) + SAVE_BIG_HEADROOM_BYTES <=
	    free_bytes)
		return SAVE_CHUNK_PAGES_BIG;
	if (khib_save_memory_needed(h, threads, SAVE_CHUNK_PAGES_SMALL) <= free_bytes)
		return SAVE_CHUNK_PAGES_SMALL;
	return 0;
}

uint64_t khib_save_big_chunks_extra_bytes(unsigned threads)
{
	const uint64_t more = SAVE_CHUNK_PAGES_BIG - SAVE_CHUNK_PAGES_SMALL;

	if (!threads)
		threads = 1;
	return threads * (2 * more * KHIB_PAGE_SIZE + 2 * more * sizeof(void *)) +
	       SAVE_BIG_HEADROOM_BYTES;
}

static void writer_params(const struct khib_handoff *h, const struct khib_range *ranges, size_t n,
			  uint64_t total, uint32_t chunk_pages, struct khib_writer_params *p)
{
	*p = (struct khib_writer_params){
		.codec = (enum khib_codec)h->codec,
		.codec_level = h->codec_level,
		.threads = h->threads,
		.chunk_pages = chunk_pages ? chunk_pages : SAVE_CHUNK_PAGES_SMALL,
		.ranges = ranges,
		.n_ranges = n,
		.total_ram_pages = total,
		.fs = h->fs,
		.n_fs = h->nr_fs,
		.fs_complete = (h->flags & KHIB_HANDOFF_FS_COMPLETE) != 0,
		.resume = {
			.jump_back_entry = h->jump_back_entry,
			.region_start = h->region_start,
			.region_bytes = h->region_bytes,
			.lowmem_start = h->low_start,
			.lowmem_size = h->low_bytes,
		},
	};
	memcpy(p->kernel.uts_release, h->release, sizeof(h->release));
	memcpy(p->kernel.uts_version, h->version, sizeof(h->version));
	memcpy(p->kernel.boot_id, h->boot_id, sizeof(h->boot_id));
	p->kernel.memmap_hash = h->memmap_hash;
	p->kernel.num_physpages = h->num_physpages;
	p->kernel.e820_crc32 = h->e820_crc32;
}

/*
 * N's saved memory for the free-page filter, through a few mapped windows:
 * what it reads (struct pages, page tables, the swap list) is a few MiB in
 * a few places, and mapping /dev/mem costs per page mapped (STRICT_DEVMEM
 * checks each one).  Only the saved ranges are ever mapped: never H's
 * region, never MMIO.
 */
#define FILTER_WINDOW_BYTES (256ULL << 10)
#define FILTER_WINDOWS 32

struct n_memory {
	const char *devmem;
	const struct khib_range *ranges;
	size_t n;
	struct khib_physmap win[FILTER_WINDOWS];
	uint64_t win_paddr[FILTER_WINDOWS];
	unsigned next;
};

/* The window holding paddr (inside range rg), mapped; -errno. */
static int n_memory_window(struct n_memory *nm, const struct khib_range *rg, uint64_t paddr)
{
	uint64_t start = ALIGN_DOWN(paddr, FILTER_WINDOW_BYTES), end = start + FILTER_WINDOW_BYTES;
	uint64_t rg_end = rg->paddr + rg->npages * KHIB_PAGE_SIZE;
	unsigned k;
	int r;

	if (start < rg->paddr)
		start = rg->paddr;
	if (end > rg_end)
		end = rg_end;
	for (k = 0; k < FILTER_WINDOWS; k++)
		if (nm->win[k].base && nm->win_paddr[k] == start)
			return (int)k;
	k = nm->next++ % FILTER_WINDOWS;
	khib_physmem_unmap(&nm->win[k]);
	r = khib_physmem_map(nm->devmem, start, end - start, 0, &nm->win[k]);
	if (r < 0)
		return r;
	nm->win_paddr[k] = start;
	return (int)k;
}

static int n_memory_read(void *ctx, uint64_t paddr, void *buf, size_t len)
{
	struct n_memory *nm = ctx;
	uint8_t *out = buf;
	size_t i = 0;

	while (i < nm->n && (paddr < nm->ranges[i].paddr ||
			     !khib_range_within(paddr - nm->ranges[i].paddr, len,
						nm->ranges[i].npages * KHIB_PAGE_SIZE)))
		i++;
	if (i == nm->n)
		return -EFAULT;
	while (len) {
		int k = n_memory_window(nm, &nm->ranges[i], paddr);
		uint64_t off, n;

		if (k < 0)
			return k;
		off = paddr - nm->win_paddr[k];
		n = nm->win[k].bytes - off;
		if (n > len)
			n = len;
		memcpy(out, nm->win[k].ptr + off, n);
		out += n;
		paddr += n;
		len -= n;
	}
	return 0;
}

static void n_memory_release(struct n_memory *nm)
{
	for (unsigned k = 0; k < FILTER_WINDOWS; k++)
		khib_physmem_unmap(&nm->win[k]);
}

/* N's free pages among the ranges, or NULL (res says why). */
static struct khib_pagefilter *find_free_pages(const struct khib_handoff *h, const char *devmem,
					       const struct khib_range *ranges, size_t n,
					       const char *vmcoreinfo, size_t vmci_bytes,
					       struct khib_save_result *res)
{
	/* What the jump swapped: N's view of it is in the swap list. */
	const struct khib_range swapped[2] = {
		{ h->low_start, h->low_bytes / KHIB_PAGE_SIZE },
		{ h->region_start, h->region_bytes / KHIB_PAGE_SIZE },
	};
	struct n_memory nm = { .devmem = devmem, .ranges = ranges, .n = n };
	struct khib_pagefilter_input in = {
		.vmcoreinfo = vmcoreinfo,
		.vmcoreinfo_bytes = vmci_bytes,
		.ranges = ranges,
		.n_ranges = n,
		.swapped = swapped,
		.n_swapped = 2,
		.jump_back_paddr = h->jump_back_entry,
		.read = n_memory_read,
		.ctx = &nm,
	};
	struct khib_pagefilter *f = NULL;
	uint64_t t0 = khib_clock_ns(CLOCK_MONOTONIC);
	int r;

	if (h->flags & KHIB_HANDOFF_KEEP_FREE) {
		res->free_kept = true;
		return NULL;
	}
	if (!vmcoreinfo) {
		res->filter_error = khib_fail(res->filter_reason, -ENODATA,
					      "no VMCOREINFO from the hibernating kernel");
		return NULL;
	}
	r = khib_pagefilter_new(&in, &f, res->filter_reason);
	n_memory_release(&nm);
	res->filter_ns = khib_clock_ns(CLOCK_MONOTONIC) - t0;
	if (r < 0) {
		res->filter_error = khib_fail_or_errno(res->filter_reason, r);
		return NULL;
	}
	khib_pagefilter_get_stats(f, &res->filter);
	return f;
}

/* Hand the writer a mapped window: free runs skipped, the rest added. */
static int feed_window(struct khib_writer *w, const struct khib_pagefilter *f, uint64_t paddr,
		       const uint8_t *pages, uint64_t n)
{
	for (uint64_t k = 0; k < n;) {
		bool is_free = false;
		uint64_t pa = paddr + k * KHIB_PAGE_SIZE;
		uint64_t len = f ? khib_pagefilter_run(f, pa, n - k, &is_free) : 0;
		int r;

		if (!len) {
			len = n - k;
			is_free = false;
		}
		r = is_free ? khib_writer_skip(w, pa, len)
			    : khib_writer_add(w, pa, pages + k * KHIB_PAGE_SIZE, len);
		if (r < 0)
			return r;
		k += len;
	}
	return 0;
}

/* Feed one range window by window; each window stays mapped until the
 * writer no longer borrows it. */
static int feed_range(struct khib_writer *w, const char *devmem, const struct khib_pagefilter *f,
		      const struct khib_range *rg, uint64_t *done, uint64_t total,
		      khib_save_progress_fn *progress, void *ctx)
{
	uint64_t pos = 0;

	while (pos < rg->npages) {
		uint64_t n = rg->npages - pos;
		struct khib_physmap m;
		int r;

		if (n > WINDOW_BYTES / KHIB_PAGE_SIZE)
			n = WINDOW_BYTES / KHIB_PAGE_SIZE;
		r = khib_physmem_map(devmem, rg->paddr + pos * KHIB_PAGE_SIZE,
				     n * KHIB_PAGE_SIZE, 0, &m);
		if (r < 0)
			return r;
		r = feed_window(w, f, rg->paddr + pos * KHIB_PAGE_SIZE, m.ptr, n);
		if (r >= 0)
			r = khib_writer_sync(w);
		khib_physmem_unmap(&m);
		if (r < 0)
			return r;
		pos += n;
		*done += n;
		if (progress)
			progress(ctx, *done, total);
	}
	return 0;
}

int khib_save_memory(const struct khib_handoff *h, struct khib_target *t, const char *devmem,
		     uint32_t chunk_pages, khib_save_progress_fn *progress, void *ctx,
		     struct khib_save_result *ret)
{
	_cleanup_free_ struct khib_range *ranges = NULL;
	_cleanup_free_ char *vmcoreinfo = NULL;
	struct khib_writer_params p;
	struct khib_writer *w = NULL;
	struct khib_image_key *key = NULL;
	struct khib_pagefilter *f;
	struct khib_save_result res = { 0 };
	size_t n, vmci_bytes = 0;
	uint64_t total, done = 0;
	int r;

	r = khib_save_ranges(h, &ranges, &n, &total);
	if (r < 0)
		return r;
	writer_params(h, ranges, n, total, chunk_pages, &p);
	if (h->vmcoreinfo_bytes &&
	    khib_save_read_vmcoreinfo(devmem, h->vmcoreinfo_paddr, h->vmcoreinfo_bytes,
				      &vmcoreinfo, &vmci_bytes) >= 0) {
		p.vmcoreinfo = vmcoreinfo;
		p.vmcoreinfo_bytes = vmci_bytes;
	}
	/* Encrypted: N chose the key and the UUID its key slots are bound to. */
	if (h->key_paddr) {
		if (!(key = khib_secret_alloc(sizeof(*key))))
			return -ENOMEM;
		if ((r = khib_keypage_take(devmem, h->key_paddr, key, res.uuid)) < 0) {
			khib_secret_free(key);
			return r;
		}
		p.key = key;
	} else {
		/* Never getrandom(..., 0) here: it blocks until the writer
		 * kernel's random generator is ready, about a second. */
		khib_image_uuid_new(res.uuid);
	}
	p.uuid = res.uuid;
	for (size_t i = 0; i < n; i++)
		res.saved_pages += ranges[i].npages;

	/* Read N's state before anything is written: the filter only reads. */
	f = find_free_pages(h, devmem, ranges, n, vmcoreinfo, vmci_bytes, &res);
	r = khib_writer_new(t, &p, &w);
	for (size_t i = 0; i < n && r >= 0; i++)
		r = feed_range(w, devmem, f, &ranges[i], &done, res.saved_pages, progress, ctx);
	if (r >= 0)
		r = khib_writer_finish(w);
	if (w)
		khib_writer_get_stats(w, &res.stats);
	khib_writer_free(w);
	khib_pagefilter_free(f);
	if (r < 0) {
		khib_secret_free(key);
		return r;
	}
	res.key = key;
	*ret = res;
	return 0;
}
