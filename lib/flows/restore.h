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

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "handoff.h"
#include "image.h"

/*
 * Everything R0 checks before kexec'ing R: identity (the running kernel's
 * release and version, the firmware memory map), that the region and low
 * memory the image recorded are RAM here, and (with `verify`) every chunk's
 * checksum.  -ESTALE / -EBADMSG / ... with reason filled.
 */
int khib_restore_check(struct khib_reader *rd, const struct khib_memmap *firmware,
		       unsigned threads, bool verify, char *reason);

/*
 * khib.resume= in the command line file `cmdline_path` (normally
 * /proc/cmdline) as a device path: PATH as is, UUID=x and PARTUUID=x as the
 * /dev/disk/by-uuid/x and by-partuuid/x links udev makes.  -ENOENT when
 * absent, -EINVAL when empty, -ENAMETOOLONG.
 */
int khib_restore_configured_device(const char *cmdline_path, char *path, size_t n);

typedef void khib_restore_progress_fn(void *ctx, uint64_t done_pages, uint64_t total_pages);

/* In R: write the image's pages to physical memory through `devmem`.
 * Pages overlapping h's region or low memory are refused (-EINVAL).  With
 * verify_first every chunk is checked before any page is written.  reason
 * (KHIB_REASON_MAX bytes) says why on every failure. */
int khib_restore_memory(struct khib_reader *rd, const struct khib_handoff *h, const char *devmem,
			unsigned threads, bool verify_first, khib_restore_progress_fn *progress,
			void *ctx, char *reason);

/*
 * For a restore kernel started by a boot loader: is this kernel where it
 * must be?  Its image ("Kernel code", rodata, data, bss) must lie in the
 * image's region and all its System RAM in the region and low memory
 * (`iomem`: /proc/iomem text).
 * -EXDEV otherwise: the image is fine, this kernel is not.  reason says
 * why on every failure.
 */
int khib_restore_check_placement(const struct khib_image_info *info, const char *iomem,
				 char *reason);

#endif
