/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * Resuming an image: the checks a normal boot (R0) makes before it hands
 * over to the restore kernel, and the restore kernel's (R's) job of writing
 * every saved page back to its physical address.
 *
 * R runs confined to the region the writer kernel used; the image never
 * covers that region or the low memory (its ranges exclude them), and R
 * refuses any page that would land in its own RAM.  N's other RAM is
 * "reserved" in R's e820, so R writes it through mmap of /dev/mem.
 */
#ifndef KHIB_RESTORE_H
#define KHIB_RESTORE_H

#include <stdint.h>

#include "handoff.h"
#include "image.h"

/*
 * Everything R0 checks before kexec'ing R: identity (the running kernel's
 * release and version, the firmware memory map), that the region and low
 * memory the image recorded are RAM here, and every chunk's checksum.
 * -ESTALE / -EBADMSG / ... with reason filled.
 */
int khib_restore_check(struct khib_reader *rd, const struct khib_memmap *firmware,
		       unsigned threads, char *reason);

typedef void khib_restore_progress_fn(void *ctx, uint64_t done_pages, uint64_t total_pages);

/* In R: write the image's pages to physical memory through `devmem`.
 * Pages overlapping h's region or low memory are refused (-EINVAL). */
int khib_restore_memory(struct khib_reader *rd, const struct khib_handoff *h, const char *devmem,
			unsigned threads, khib_restore_progress_fn *progress, void *ctx,
			char *reason);

#endif
