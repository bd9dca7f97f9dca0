/* SPDX-License-Identifier: GPL-2.0-only */
#include "snapshot.h"

#include <errno.h>
#include <inttypes.h>
#include <stdbool.h>
#include <fcntl.h>
#include <linux/suspend_ioctls.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <unistd.h>

#include "threadpool.h"
#include "util.h"

/* lib/flows/snapshot_tramp.S */
extern const uint8_t khib_snapshot_tramp_start[], khib_snapshot_tramp_end[];
#define TRAMP_OFF_REENTRY 8
#define TRAMP_OFF_ZERO_LIST 16

#define PFNS_PER_PAGE (KHIB_PAGE_SIZE / 8)

static int fail(char *reason, int err, const char *msg)
{
	return khib_fail(reason, err, "%s", msg);
}

uint64_t khib_snapshot_meta_pages(uint64_t image_pages)
{
	return (image_pages + PFNS_PER_PAGE - 1) / PFNS_PER_PAGE;
}

void khib_snapshot_header_encode(const struct khib_snapshot_header *h, uint8_t page[4096])
{
	uint64_t meta = khib_snapshot_meta_pages(h->image_pages);
	uint64_t pages = 1 + meta + h->image_pages;

	memset(page, 0, KHIB_PAGE_SIZE);
	/* struct restore_data_record (arch/x86/power/hibernate.c) */
	khib_put_le64(page + KHIB_SNAP_OFF_JUMP, h->jump_address);
	khib_put_le64(page + KHIB_SNAP_OFF_JUMP_PHYS, h->jump_address);
	khib_put_le64(page + KHIB_SNAP_OFF_CR3, h->cr3);
	khib_put_le64(page + KHIB_SNAP_OFF_MAGIC, KHIB_SNAPSHOT_MAGIC);
	khib_put_le64(page + KHIB_SNAP_OFF_E820, h->e820_crc32);
	/* struct swsusp_info (kernel/power/power.h) */
	khib_put_le64(page + KHIB_SNAP_OFF_NUM_PHYSPAGES, h->num_physpages);
	khib_put_le32(page + KHIB_SNAP_OFF_CPUS, 1);
	khib_put_le64(page + KHIB_SNAP_OFF_IMAGE_PAGES, h->image_pages);
	khib_put_le64(page + KHIB_SNAP_OFF_PAGES, pages);
	khib_put_le64(page + KHIB_SNAP_OFF_SIZE, pages * KHIB_PAGE_SIZE);
}

struct runs {
	struct khib_range *r;
	size_t n, cap;
};

static int runs_add(struct runs *rs, uint64_t paddr, uint64_t npages)
{
	if (rs->n && rs->r[rs->n - 1].paddr + rs->r[rs->n - 1].npages * KHIB_PAGE_SIZE == paddr) {
		rs->r[rs->n - 1].npages += npages;
		return 0;
	}
	if (rs->n == rs->cap) {
		size_t cap = rs->cap ? rs->cap * 2 : 256;
		struct khib_range *n = realloc(rs->r, cap * sizeof(*n));

		if (!n)
			return -ENOMEM;
		rs->r = n;
		rs->cap = cap;
	}
	rs->r[rs->n++] = (struct khib_range){ paddr, npages };
	return 0;
}

struct collect {
	struct runs data, zero;
	const struct khib_memmap *zones;
	uint64_t next;		/* pages must come in ascending order */
	uint64_t outside;	/* pages not in any zone */
};

/* Add [paddr, +npages) to rs, clipped to the zones. */
static int add_clipped(struct collect *c, struct runs *rs, uint64_t paddr, uint64_t npages)
{
	uint64_t end = paddr + npages * KHIB_PAGE_SIZE, kept = 0;
	int r;

	for (size_t i = 0; i < c->zones->n; i++) {
		uint64_t s = paddr > c->zones->r[i].start ? paddr : c->zones->r[i].start;
		uint64_t e = end < c->zones->r[i].end ? end : c->zones->r[i].end;

		if (s >= e)
			continue;
		if ((r = runs_add(rs, s, (e - s) / KHIB_PAGE_SIZE)) < 0)
			return r;
		kept += (e - s) / KHIB_PAGE_SIZE;
	}
	c->outside += npages - kept;
	return 0;
}

static int collect_fn(void *ctx, uint64_t paddr, uint64_t npages, enum khib_page_kind kind,
		      const void *data)
{
	struct collect *c = ctx;

	(void)data;
	if (paddr < c->next)
		return -EINVAL;
	c->next = paddr + npages * KHIB_PAGE_SIZE;
	if (kind == KHIB_PAGES_DATA)
		return add_clipped(c, &c->data, paddr, npages);
	if (kind == KHIB_PAGES_ZERO)
		return add_clipped(c, &c->zero, paddr, npages);
	return 0; /* excluded: free in N, nothing to restore */
}

/* Landing page + zero list, at the start of the region. */
static int build_extra(const struct khib_image_info *info, struct khib_snapshot_plan *p)
{
	size_t list_bytes = (p->n_zero + 1) * 16;
	size_t tramp = (size_t)(khib_snapshot_tramp_end - khib_snapshot_tramp_start);
	uint64_t ctrl;

	p->extra_pages = 1 + (list_bytes + KHIB_PAGE_SIZE - 1) / KHIB_PAGE_SIZE;
	if (p->extra_pages * KHIB_PAGE_SIZE > info->resume.region_bytes || tramp > KHIB_PAGE_SIZE)
		return -E2BIG;
	p->extra = calloc(p->extra_pages, KHIB_PAGE_SIZE);
	if (!p->extra)
		return -ENOMEM;
	p->extra_paddr = info->resume.region_start;
	memcpy(p->extra, khib_snapshot_tramp_start, tramp);
	khib_put_le64(p->extra + TRAMP_OFF_REENTRY, info->resume.jump_back_entry);
	khib_put_le64(p->extra + TRAMP_OFF_ZERO_LIST, p->n_zero ? p->extra_paddr + KHIB_PAGE_SIZE : 0);
	for (size_t i = 0; i < p->n_zero; i++) {
		uint8_t *e = p->extra + KHIB_PAGE_SIZE + 16 * i;

		khib_put_le64(e, p->zero[i].paddr);
		khib_put_le64(e + 8, p->zero[i].npages * KHIB_PAGE_SIZE / 8);
	}
	/* The control block: the page table page, then the code page that
	 * holds the re-entry point (see lib/system/kexec.c). */
	ctrl = ALIGN_DOWN(info->resume.jump_back_entry, KHIB_PAGE_SIZE) - KHIB_PAGE_SIZE;
	p->hdr = (struct khib_snapshot_header){
		.jump_address = p->extra_paddr,
		.cr3 = ctrl,
		.e820_crc32 = info->kernel.e820_crc32,
		.num_physpages = info->kernel.num_physpages,
		.image_pages = p->data_pages + p->extra_pages,
	};
	return 0;
}

int khib_snapshot_plan_build(struct khib_reader *rd, const struct khib_memmap *zones,
			     struct khib_snapshot_plan *ret, char *reason)
{
	const struct khib_image_info *info = khib_reader_info(rd);
	struct collect c = { .zones = zones };
	/* The page maps in the chunk headers are all a plan needs; the
	 * payloads are read (and their checksums checked) once, by the
	 * stream.  One thread: pages arrive in ascending order. */
	struct khib_read_opts o = { .threads = 1, .headers_only = true, .fn = collect_fn,
				    .ctx = &c };
	struct khib_snapshot_plan p = { 0 };
	int r;

	if (!info->kernel.num_physpages || !info->kernel.e820_crc32)
		return fail(reason, -EOPNOTSUPP, "the image does not record the values the kernel's "
			    "restore checks (written by an older khib?)");
	if (info->resume.jump_back_entry < 2 * KHIB_PAGE_SIZE || !info->resume.region_bytes)
		return fail(reason, -EBADMSG, "the image has no re-entry point");
	r = khib_reader_read(rd, &o, reason);
	if (r == -EINVAL && reason && !reason[0])
		fail(reason, r, "image pages out of order");
	if (r >= 0) {
		p.data = c.data.r, p.n_data = c.data.n;
		p.zero = c.zero.r, p.n_zero = c.zero.n;
		p.outside_pages = c.outside;
		for (size_t i = 0; i < p.n_data; i++)
			p.data_pages += p.data[i].npages;
		for (size_t i = 0; i < p.n_zero; i++)
			p.zero_pages += p.zero[i].npages;
		p.chunk_bytes = (uint64_t)(info->chunk_pages ? info->chunk_pages :
					   KHIB_DEFAULT_CHUNK_PAGES) * KHIB_PAGE_SIZE;
		r = build_extra(info, &p);
	}
	if (r < 0) {
		free(c.data.r);
		free(c.zero.r);
		free(p.extra);
		return r;
	}
	*ret = p;
	return 0;
}

void khib_snapshot_plan_release(struct khib_snapshot_plan *p)
{
	if (!p)
		return;
	free(p->data);
	free(p->zero);
	free(p->extra);
	memset(p, 0, sizeof(*p));
}

unsigned khib_snapshot_threads(unsigned requested)
{
	/* Two more than the CPUs by default, for they wait on the disk too:
	 * 512 MiB, 2 vCPUs, the stream took 3.8 s with 2 threads, 2.8-3.4 s
	 * with 4 and 2.9-3.3 s with 8 (resume_snapshot_2cpu). */
	unsigned n = requested ? requested : khib_pool_default_threads() + 2;

	return n < KHIB_SNAPSHOT_THREADS_MAX ? n : KHIB_SNAPSHOT_THREADS_MAX;
}

uint64_t khib_snapshot_memory_needed(const struct khib_snapshot_plan *p, unsigned threads)
{
	uint64_t pages = p->hdr.image_pages + khib_snapshot_meta_pages(p->hdr.image_pages) + 1;

	/* A page per page of the stream, plus the kernel's bitmaps and
	 * allocator slack: a bitmap bit per page of RAM, and some room (which
	 * holds one thread's buffers); and the other threads of the stream,
	 * each with a chunk as read and as decoded. */
	return pages * KHIB_PAGE_SIZE + p->hdr.num_physpages / 8 * 2 + (32ULL << 20) +
	       (khib_snapshot_threads(threads) - 1) * 2 * p->chunk_bytes;
}

/* Data runs with the extra pages merged in at their place. */
static int merged_runs(const struct khib_snapshot_plan *p, struct khib_range **ret, size_t *ret_n)
{
	struct khib_range *m = calloc(p->n_data + 1, sizeof(*m));
	size_t n = 0;
	bool extra = false;

	if (!m)
		return -ENOMEM;
	for (size_t i = 0; i <= p->n_data; i++) {
		if (!extra && (i == p->n_data || p->data[i].paddr > p->extra_paddr)) {
			m[n++] = (struct khib_range){ p->extra_paddr, p->extra_pages };
			extra = true;
		}
		if (i < p->n_data)
			m[n++] = p->data[i];
	}
	*ret = m;
	*ret_n = n;
	return 0;
}

struct stream {
	int fd;
	const struct khib_memmap *zones;
	const struct khib_snapshot_plan *p;
	uint64_t written;	/* pages, header included */
	bool extra_done;
	bool refused;		/* a write failed: the kernel's doing, not the image's */
};

static int put_page(struct stream *s, const void *page)
{
	ssize_t w;

	do
		w = write(s->fd, page, KHIB_PAGE_SIZE);
	while (w < 0 && errno == EINTR);
	if (w != KHIB_PAGE_SIZE) {
		s->refused = true;
		return w < 0 ? -errno : -EIO;
	}
	s->written++;
	return 0;
}

static int put_meta(struct stream *s)
{
	_cleanup_free_ struct khib_range *runs = NULL;
	uint64_t page[PFNS_PER_PAGE];
	size_t n, fill = 0;
	int r;

	if ((r = merged_runs(s->p, &runs, &n)) < 0)
		return r;
	for (size_t i = 0; i < n; i++)
		for (uint64_t k = 0; k < runs[i].npages; k++) {
			page[fill++] = runs[i].paddr / KHIB_PAGE_SIZE + k;
			if (fill == PFNS_PER_PAGE) {
				if ((r = put_page(s, page)) < 0)
					return r;
				fill = 0;
			}
		}
	if (fill) {
		memset(page + fill, 0xff, (PFNS_PER_PAGE - fill) * 8); /* BM_END_OF_MAP */
		return put_page(s, page);
	}
	return 0;
}

static int put_extra(struct stream *s)
{
	int r = 0;

	for (size_t i = 0; i < s->p->extra_pages && r >= 0; i++)
		r = put_page(s, s->p->extra + i * KHIB_PAGE_SIZE);
	s->extra_done = true;
	return r;
}

static int stream_fn(void *ctx, uint64_t paddr, uint64_t npages, enum khib_page_kind kind,
		     const void *data)
{
	struct stream *s = ctx;
	int r;

	if (kind != KHIB_PAGES_DATA)
		return 0;
	if (!s->extra_done && paddr > s->p->extra_paddr && (r = put_extra(s)) < 0)
		return r;
	for (uint64_t i = 0; i < npages; i++) {
		uint64_t pa = paddr + i * KHIB_PAGE_SIZE;

		/* Exactly the pages the plan kept (see add_clipped). */
		if (!khib_memmap_find(s->zones, pa, pa + KHIB_PAGE_SIZE, KHIB_E820_RAM))
			continue;
		if ((r = put_page(s, (const uint8_t *)data + i * KHIB_PAGE_SIZE)) < 0)
			return r;
	}
	return 0;
}

/* The kernel complains on the write after the page it did not like. */
static void explain(const struct khib_snapshot_plan *p, uint64_t failed_at, int err,
		    char *reason)
{
	uint64_t meta = khib_snapshot_meta_pages(p->hdr.image_pages);
	char msg[KHIB_REASON_MAX];

	if (failed_at == 0)
		snprintf(msg, sizeof(msg), "writing the stream: %s", strerror(-err));
	else if (failed_at == 1)
		snprintf(msg, sizeof(msg), "the kernel refused the image header (%s): %s",
			 err == -EPERM ? "memory size differs" :
			 err == -ENODEV ? "firmware memory map differs" : "format", strerror(-err));
	else if (failed_at <= 1 + meta)
		snprintf(msg, sizeof(msg), "the kernel refused a page frame number: %s",
			 strerror(-err));
	else
		snprintf(msg, sizeof(msg), "the kernel could not take data page %" PRIu64 " of %"
			 PRIu64 ": %s", failed_at - 1 - meta, p->hdr.image_pages, strerror(-err));
	fail(reason, err, msg);
}

static void thaw(int fd)
{
	ioctl(fd, SNAPSHOT_UNFREEZE);
	close(fd);
}

void khib_snapshot_abort(int fd)
{
	thaw(fd);
}

int khib_snapshot_write(struct khib_reader *rd, const struct khib_memmap *zones,
			const struct khib_snapshot_plan *p, const char *dev, unsigned threads,
			int *ret_fd, char *reason)
{
	struct stream s = { .p = p, .zones = zones };
	int r;

	s.fd = open(dev, O_WRONLY | O_CLOEXEC);
	if (s.fd < 0)
		return fail(reason, -errno, "opening the kernel's snapshot device");
	if (ioctl(s.fd, SNAPSHOT_FREEZE) < 0) {
		r = -errno;
		close(s.fd);
		return fail(reason, r, "freezing user space");
	}
	r = khib_snapshot_stream(rd, zones, p, s.fd, threads, reason);
	if (r < 0) {
		thaw(s.fd);
		return r;
	}
	*ret_fd = s.fd;
	return 0;
}

int khib_snapshot_stream(struct khib_reader *rd, const struct khib_memmap *zones,
			 const struct khib_snapshot_plan *p, int fd, unsigned threads, char *reason)
{
	struct stream s = { .p = p, .zones = zones, .fd = fd };
	/* The kernel takes the pages in the plan's order, one write() each:
	 * the other threads read, check and decode the chunks that follow
	 * meanwhile. */
	struct khib_read_opts o = { .threads = khib_snapshot_threads(threads), .in_order = true,
				    .fn = stream_fn, .ctx = &s };
	uint8_t header[KHIB_PAGE_SIZE];
	char why[KHIB_REASON_MAX] = "";
	int r;

	khib_snapshot_header_encode(&p->hdr, header);
	r = put_page(&s, header);
	if (r >= 0)
		r = put_meta(&s);
	if (r >= 0) {
		r = khib_reader_read(rd, &o, why);
		/* Not a write the kernel refused: the image, read and checked
		 * here chunk by chunk. */
		if (r < 0 && !s.refused)
			return fail(reason, r, why);
	}
	if (r >= 0 && !s.extra_done)
		r = put_extra(&s);
	if (r >= 0 && s.written != 1 + khib_snapshot_meta_pages(p->hdr.image_pages) +
				   p->hdr.image_pages)
		r = -EIO;
	if (r < 0) {
		explain(p, s.written, r, reason);
		/* The kernel's refusals never read as a bad image. */
		if (r == -EBADMSG || r == -ESTALE || r == -EOVERFLOW)
			r = -EPROTO;
	}
	return r;
}

int khib_snapshot_restore(int fd)
{
	int r;

	ioctl(fd, SNAPSHOT_ATOMIC_RESTORE);
	r = -errno;
	thaw(fd);
	return r;
}
