/* SPDX-License-Identifier: GPL-2.0-only */
#include "restore.h"

#include <errno.h>
#include <inttypes.h>
#include <pthread.h>
#include <stdio.h>
#include <string.h>
#include <sys/utsname.h>

#include "fileio.h"
#include "physmem.h"
#include "sysinfo.h"
#include "util.h"

static int fail(char *reason, int err, const char *msg)
{
	return khib_fail(reason, err, "%s", msg);
}

/*
 * Every saved range, and the page the resume jumps into, must be RAM in
 * this machine's firmware map: a restore into reserved or absent memory
 * (a damaged, forged or foreign image whose identity happens to match)
 * is refused before a single page is written.
 */
static int check_ranges_are_ram(struct khib_reader *rd, const struct khib_memmap *firmware,
				char *reason)
{
	const struct khib_resume_info *ri = &khib_reader_info(rd)->resume;
	const struct khib_range *rg;
	size_t n;

	rg = khib_reader_ranges(rd, &n);
	for (size_t i = 0; i < n; i++) {
		uint64_t end;

		if (__builtin_mul_overflow(rg[i].npages, KHIB_PAGE_SIZE, &end) ||
		    __builtin_add_overflow(end, rg[i].paddr, &end) ||
		    !khib_memmap_find(firmware, rg[i].paddr, end, KHIB_E820_RAM))
			return khib_fail(reason, -ESTALE, "saved range 0x%" PRIx64 "+%" PRIu64
					 " pages is not RAM on this machine", rg[i].paddr,
					 rg[i].npages);
	}
	if (!khib_memmap_find(firmware, ALIGN_DOWN(ri->jump_back_entry, KHIB_PAGE_SIZE),
			      ALIGN_DOWN(ri->jump_back_entry, KHIB_PAGE_SIZE) + KHIB_PAGE_SIZE,
			      KHIB_E820_RAM))
		return khib_fail(reason, -ESTALE, "the resume entry 0x%" PRIx64 " is not RAM on "
				 "this machine", ri->jump_back_entry);
	return 0;
}

int khib_restore_check(struct khib_reader *rd, const struct khib_memmap *firmware,
		       unsigned threads, bool verify, char *reason)
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
	/* What the kernel's own restore would check too: refuse here, before
	 * anything is frozen.  Unknown (0) values are not compared. */
	if (khib_sysinfo_num_physpages("", &running.num_physpages) < 0)
		running.num_physpages = 0;
	if (khib_sysinfo_e820_crc32("/sys/firmware/memmap", &running.e820_crc32) < 0)
		running.e820_crc32 = 0;
	r = khib_image_check_identity(info, &running, reason);
	if (r < 0)
		return r;
	if (!ri->jump_back_entry || !ri->region_bytes ||
	    !khib_memmap_find(firmware, ri->region_start, ri->region_start + ri->region_bytes,
			      KHIB_E820_RAM) ||
	    !khib_memmap_find(firmware, ri->lowmem_start, ri->lowmem_start + ri->lowmem_size,
			      KHIB_E820_RAM))
		return fail(reason, -ESTALE, "the image's restore region is not RAM on this machine");
	if ((r = check_ranges_are_ram(rd, firmware, reason)) < 0)
		return r;
	return verify ? khib_reader_verify(rd, threads, reason) : 0;
}

/*
 * Each thread writes through a window of N's memory that it maps once and
 * keeps while its runs fall inside: a mapping per run (open, mmap, munmap
 * and its TLB flush for a few pages at a time) cost more than the copy.
 * A window lies within one of the image's ranges (RAM), never across a
 * hole, whose memory type mmap() could refuse.
 */
#define RESTORE_WINDOW_BYTES (16ULL << 20)
#define RESTORE_WINDOW_SLOTS 16

struct window {
	pthread_t owner;
	bool claimed;
	uint64_t start, end;	/* physical; mapped when m.base */
	struct khib_physmap m;
};

struct restore_ctx {
	const struct khib_handoff *h;
	const char *devmem;
	const struct khib_range *ranges;
	size_t n_ranges;
	pthread_mutex_t lock;
	uint64_t done, total;
	khib_restore_progress_fn *progress;
	void *progress_ctx;
	bool own_ram_hit; /* a run fell in R's own RAM (set under lock) */
	struct window win[RESTORE_WINDOW_SLOTS];
};

/* This thread's window, claimed on its first run; NULL when all are taken
 * (more threads than slots: those map each run). */
static struct window *own_window(struct restore_ctx *c)
{
	pthread_t self = pthread_self();
	struct window *w = NULL;

	pthread_mutex_lock(&c->lock);
	for (size_t i = 0; i < RESTORE_WINDOW_SLOTS && !w; i++)
		if (c->win[i].claimed && pthread_equal(c->win[i].owner, self))
			w = &c->win[i];
	for (size_t i = 0; i < RESTORE_WINDOW_SLOTS && !w; i++)
		if (!c->win[i].claimed) {
			w = &c->win[i];
			w->claimed = true;
			w->owner = self;
		}
	pthread_mutex_unlock(&c->lock);
	return w;
}

/* Where [paddr, paddr + bytes) is in this thread's window, moved there if
 * need be; NULL with *err when it cannot be mapped. */
static uint8_t *window_at(struct restore_ctx *c, struct window *w, uint64_t paddr,
			  uint64_t bytes, int *err)
{
	uint64_t start, end;

	if (w->m.base && w->start <= paddr && paddr + bytes <= w->end)
		return w->m.ptr + (paddr - w->start);
	khib_physmem_unmap(&w->m);
	w->m = (struct khib_physmap){ 0 };
	start = ALIGN_DOWN(paddr, RESTORE_WINDOW_BYTES);
	end = start + RESTORE_WINDOW_BYTES;
	if (end < paddr + bytes)
		end = paddr + bytes;
	for (size_t i = 0; i < c->n_ranges; i++) {
		uint64_t rs = c->ranges[i].paddr, re = rs + c->ranges[i].npages * KHIB_PAGE_SIZE;

		if (rs <= paddr && paddr + bytes <= re) {
			start = start < rs ? rs : start;
			end = end > re ? re : end;
			break;
		}
	}
	if ((*err = khib_physmem_map(c->devmem, start, end - start, 1, &w->m)) < 0)
		return NULL;
	w->start = start;
	w->end = end;
	return w->m.ptr + (paddr - start);
}

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
	int r = 0;

	if (own_ram(c->h, paddr, bytes)) {
		pthread_mutex_lock(&c->lock);
		c->own_ram_hit = true;
		pthread_mutex_unlock(&c->lock);
		return -EINVAL;
	}
	if (kind != KHIB_PAGES_EXCLUDED) {
		struct window *w = own_window(c);
		uint8_t *dst;

		if (w && !(dst = window_at(c, w, paddr, bytes, &r)))
			return r;
		if (!w) {
			if ((r = khib_physmem_map(c->devmem, paddr, bytes, 1, &m)) < 0)
				return r;
			dst = m.ptr;
		}
		/* The memory holds whatever the boot before R left there: zero
		 * pages must be written too. */
		if (kind == KHIB_PAGES_DATA)
			memcpy(dst, data, bytes);
		else
			memset(dst, 0, bytes);
		if (!w)
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
			unsigned threads, bool verify_first, khib_restore_progress_fn *progress,
			void *ctx, char *reason)
{
	const struct khib_image_info *info = khib_reader_info(rd);
	struct restore_ctx c;
	struct khib_read_opts o = { .threads = threads, .fn = put_pages, .ctx = &c,
				    .verify_first = verify_first };
	size_t n;
	const struct khib_range *ranges = khib_reader_ranges(rd, &n);
	int r;

	c = (struct restore_ctx){ .h = h, .devmem = devmem, .ranges = ranges, .n_ranges = n,
				  .total = info->saved_pages, .progress = progress,
				  .progress_ctx = ctx };

	/* Refuse before writing anything, not half-way. */
	for (size_t i = 0; i < n; i++)
		if (own_ram(h, ranges[i].paddr, ranges[i].npages * KHIB_PAGE_SIZE))
			return fail(reason, -EINVAL, "the image covers the restore kernel's own RAM");
	pthread_mutex_init(&c.lock, NULL);
	r = khib_reader_read(rd, &o, reason);
	for (size_t i = 0; i < RESTORE_WINDOW_SLOTS; i++)
		khib_physmem_unmap(&c.win[i].m);
	pthread_mutex_destroy(&c.lock);
	/* The reader's reason would only say that its page consumer failed. */
	if (r < 0 && c.own_ram_hit)
		fail(reason, r, "a chunk lies in the restore kernel's own RAM");
	return r;
}

int khib_restore_configured_device(const char *cmdline_path, char *path, size_t n)
{
	_cleanup_free_ char *cmdline = NULL;
	char val[4096];
	const char *dir = "", *v = val;
	int r;

	r = khib_read_file(cmdline_path, 65536, &cmdline, NULL);
	if (r < 0)
		return r;
	r = khib_cmdline_get(cmdline, "khib.resume", val, sizeof(val));
	if (r < 0)
		return r;
	if (!val[0])
		return -EINVAL;
	/* The links udev makes; an initramfs without udev needs a path. */
	if (!strncmp(val, "UUID=", 5))
		dir = "/dev/disk/by-uuid/", v = val + 5;
	else if (!strncmp(val, "PARTUUID=", 9))
		dir = "/dev/disk/by-partuuid/", v = val + 9;
	if (!*v)
		return -EINVAL;
	if (strlen(dir) + strlen(v) + 1 > n)
		return -ENAMETOOLONG;
	snprintf(path, n, "%s%s", dir, v);
	return 0;
}

static bool inside(uint64_t s, uint64_t e, uint64_t rs, uint64_t rb)
{
	return rs <= s && e <= rs + rb;
}

int khib_restore_check_placement(const struct khib_image_info *info, const char *iomem,
				 char *reason)
{
	/* All of the image: a boot loader that moves the kernel (an EFI stub
	 * that finds the region's start taken decompresses it into the next
	 * free slot) can leave its code inside the region and its data or bss
	 * past the end, in memory the restore overwrites. */
	static const char *const parts[] = {
		"Kernel code", "Kernel rodata", "Kernel data", "Kernel bss",
	};
	const struct khib_resume_info *ri = &info->resume;
	struct khib_memmap image = { 0 }, ram = { 0 };
	int r;

	for (size_t k = 0; k < ARRAY_SIZE(parts); k++) {
		image.n = 0;
		if ((r = khib_memmap_iomem_find(iomem, parts[k], KHIB_E820_RAM, &image)) < 0 ||
		    (r == 0 && k == 0))
			return fail(reason, r < 0 ? r : -EPERM,
				    "cannot see this kernel's place in /proc/iomem");
		for (size_t i = 0; i < image.n; i++)
			if (!inside(image.r[i].start, image.r[i].end, ri->region_start,
				    ri->region_bytes))
				return khib_fail(reason, -EXDEV, "this kernel's %s lies outside the "
						 "image's region (boot it with nokaslr and "
						 "CONFIG_PHYSICAL_START at the region)",
						 parts[k] + strlen("Kernel "));
	}
	if ((r = khib_memmap_iomem_find(iomem, "System RAM", KHIB_E820_RAM, &ram)) < 0)
		return khib_fail(reason, r, "reading this kernel's RAM in /proc/iomem: %s",
				 strerror(-r));
	for (size_t i = 0; i < ram.n; i++)
		if (!inside(ram.r[i].start, ram.r[i].end, ri->region_start, ri->region_bytes) &&
		    !inside(ram.r[i].start, ram.r[i].end, ri->lowmem_start, ri->lowmem_size))
			return fail(reason, -EXDEV, "this kernel has RAM outside the image's region and "
				    "low memory (boot it with memmap=exactmap limited to them)");
	return 0;
}
