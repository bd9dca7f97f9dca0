/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * The checks `khib check` shows and `khib hibernate` makes before it
 * changes anything, where they need more than the library's verdicts
 * (lib/system/check.h, lib/system/preflight.h): the writer kernel read, parsed and given
 * its region, how this khib knows itself, and how a verdict is said.
 */
#ifndef KHIB_TOOLS_CHECKS_H
#define KHIB_TOOLS_CHECKS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "bzimage.h"
#include "check.h"

struct khib_jump_config;

/* This khib, to compare initramfs images with. */
#define KHIB_SELF "/proc/self/exe"
/* "khib-build: VERSION, handoff N, image format N": what this binary says
 * of itself to another khib that finds it in an initramfs. */
extern const char khib_build_stamp[];

/* A verdict (level, as the check returned it, and r) said as "TEXT; FIX":
 * on stderr as khib's error (1 for a failure), or as a warning (0);
 * nothing for the rest. */
int khib_tool_refuse(int level, const struct khib_check_result *r);

/* khib_kexec_probe_jump(), unless that would unload a kernel loaded for
 * kexec (/sys/kernel/kexec_loaded) and `careful`: KHIB_CHECK_NOT_PROBED. */
int khib_tool_probe_kexec(bool careful);

/* The writer kernel and its initramfs, read, and the region it runs in. */
struct khib_writer {
	char *kernel, *initrd;
	size_t kernel_bytes, initrd_bytes;
	struct khib_bzimage bz;
	uint64_t region_bytes, region_start;	/* 0, 0: sized, chosen */
	unsigned threads;
	bool reserved;				/* in the crashkernel= reservation */
};
void khib_tool_writer_release(struct khib_writer *w);

/* The region the writer kernel needs on this machine with `threads`
 * compression threads (lib/system/kexec.h). */
uint64_t khib_tool_default_region_bytes(unsigned threads);

/*
 * Read and parse the writer kernel and read its initramfs into w, and size
 * its region (w's, or the default for this machine, or a free
 * crashkernel= reservation that is large enough); a region too small to
 * boot in fails.  note (n bytes): where the writer runs, when that is
 * worth saying ("" else).
 */
int khib_tool_check_writer(const char *kernel, const char *initrd, struct khib_writer *w,
			   char *note, size_t n, struct khib_check_result *ret);

/* A region placed by the user (w->region_start, not reserved) must be RAM
 * and keep off this kernel's own image. */
int khib_tool_check_placed_region(const struct khib_writer *w, const struct khib_jump_config *cfg,
				  struct khib_check_result *ret);

#endif
