/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * Saving the hibernated kernel's memory: the writer kernel's (H's) job.
 *
 * What is saved is every range of N's RAM except H's region and the low
 * memory H ran in: N's own contents of those pages were swapped by kexec
 * into pages of N's RAM, which are saved, and the restore swaps them back.
 * Pages free in N's buddy allocator are left out of the image (excluded;
 * lib/format/pagefilter.h) unless the handoff says KEEP_FREE; when the filter
 * cannot read N's state, everything is saved and the result says why.
 * N's memory is read through mmap of /dev/mem (N's RAM is "reserved" in
 * H's e820, which is what lets STRICT_DEVMEM allow that).
 *
 * SECURITY: this copies every secret of the hibernated system to the
 * target; the target is named by N's root user through `khib hibernate`.
 */
#ifndef KHIB_SAVE_H
#define KHIB_SAVE_H

#include <stdint.h>

#include "handoff.h"
#include "image.h"
#include "pagefilter.h"
#include "target.h"

/* Open the target the handoff names (a block device found by its
 * identity or name, or the extents of it in the extent map, read through
 * `devmem`) for writing: khib_blockmap_open_map()'s errors, -EBADMSG for a
 * damaged extent map; reason says which and why.  ret_name as
 * khib_blockmap_open_map()'s. */
int khib_save_open_target(const struct khib_handoff *h, const char *devmem,
			  struct khib_target **ret, char *ret_name, char *reason);

/*
 * Memory the writer process needs to save h's ranges in chunks of
 * chunk_pages, with some slack: the chunk buffers of each thread and the
 * queue, the page bitmap of the free page filter, the chunk index.
 */
uint64_t khib_save_memory_needed(const struct khib_handoff *h, unsigned threads,
				 uint32_t chunk_pages);

/*
 * The chunk size for a writer with free_bytes of memory: 4 MiB chunks
 * where they fit with room to spare, else 1 MiB, else 0: the region is too
 * small for this machine.  The writer kernel checks this before it starts,
 * so a region too small ends in a jump back to N, never in the writer
 * kernel's OOM panic (which could not return).
 */
#define KHIB_SAVE_CHUNK_PAGES_MIN 256
uint32_t khib_save_chunk_pages(const struct khib_handoff *h, unsigned threads,
			       uint64_t free_bytes);

/*
 * What a writer with `threads` (0: one) needs beyond khib's default region
 * (lib/system/kexec.h, sized for 1 MiB chunks) to take 4 MiB chunks: their
 * larger buffers and the room khib_save_chunk_pages() keeps spare with them.
 */
uint64_t khib_save_big_chunks_extra_bytes(unsigned threads);

/* Called after each piece of memory was handed to the writer. */
typedef void khib_save_progress_fn(void *ctx, uint64_t done_pages, uint64_t total_pages);

struct khib_save_result {
	struct khib_writer_stats stats;
	uint8_t uuid[16];
	uint64_t saved_pages;
	/* Free pages: stats.excluded_pages of them were left out, found in
	 * filter_ns.  free_kept: not looked for (KHIB_HANDOFF_KEEP_FREE);
	 * filter_error: not found (-errno, filter_reason says why), so every
	 * page was saved. */
	bool free_kept;
	int filter_error;
	char filter_reason[KHIB_REASON_MAX];
	uint64_t filter_ns;
	struct khib_pagefilter_stats filter;
	/* An encrypted image's key (NULL in clear), for the caller to verify
	 * the image with; secret memory, the caller frees it
	 * (khib_secret_free()) before it goes anywhere. */
	struct khib_image_key *key;
};

/*
 * Write and commit an image of N's memory to t, in chunks of chunk_pages
 * (0: 1 MiB).  Nothing is committed unless every step succeeded; on failure
 * the target holds no valid image.
 */
int khib_save_memory(const struct khib_handoff *h, struct khib_target *t, const char *devmem,
		     uint32_t chunk_pages, khib_save_progress_fn *progress, void *ctx,
		     struct khib_save_result *ret);

/* The VMCOREINFO text (the note's descriptor) at paddr; malloc'ed. */
int khib_save_read_vmcoreinfo(const char *devmem, uint64_t paddr, uint64_t bytes, char **ret,
			      size_t *ret_bytes);

#endif
