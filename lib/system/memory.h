/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * Room in the running kernel's memory for a kexec load.
 *
 * kexec_load(2) copies every page of every segment into a page of the
 * running kernel (kernel/kexec_core.c kimage_load_normal_segment, with
 * GFP_HIGHUSER): loading the writer kernel's region takes that much of N's
 * free memory until the jump.  On a full machine the allocation calls the
 * OOM killer, which kills the user's biggest process -- the work that
 * hibernation is meant to keep.  So before a load khib knows what it takes
 * (khib_jump_plan_load_pages()), finds it in free pages above the zones'
 * watermarks, drops clean caches if that is what it takes, and otherwise
 * refuses before anything changed.  And khib makes itself the OOM killer's
 * first choice, should the memory run out anyway between the check and
 * the load.
 *
 * All pages are order 0 (segment pages, indirection pages, the control and
 * swap pages, the identity page table): compaction makes no difference.
 * `root` prefixes every path (tests pass a fake tree).
 */
#ifndef KHIB_MEMORY_H
#define KHIB_MEMORY_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* Left free after a load, for the running kernel until the jump. */
#define KHIB_LOAD_HEADROOM_BYTES (2ULL << 20)

struct khib_meminfo {
	uint64_t total_bytes;		/* MemTotal */
	uint64_t free_bytes;		/* MemFree */
	uint64_t available_bytes;	/* MemAvailable */
	/* Free pages an order-0 GFP_HIGHUSER allocation can take without
	 * reclaim: per zone, above its high watermark and its lowmem
	 * reserve against allocations that could use ZONE_NORMAL. */
	uint64_t usable_bytes;
};

/* /proc/meminfo and /proc/zoneinfo. */
int khib_meminfo_read(const char *root, struct khib_meminfo *ret);

/* Parsers of those files' text, for the tests. */
int khib_meminfo_parse(const char *meminfo, const char *zoneinfo, struct khib_meminfo *ret);

/* Does a load of need_bytes fit, leaving the headroom? */
bool khib_meminfo_fits(const struct khib_meminfo *m, uint64_t need_bytes);

/* Sync, then drop clean page cache, dentries and inodes: nothing is lost
 * but warm caches. */
int khib_memory_drop_caches(const char *root);

struct khib_room {
	struct khib_meminfo before, after;	/* after == before unless dropped */
	bool dropped_caches;
};

/*
 * Make room for a load of need_bytes: 0 when it fits (after syncing and
 * dropping clean page cache and slab, `dropped_caches`, if it did not fit
 * at first, or whenever `drop`); -ENOMEM when it does not fit even then;
 * ret filled either way.
 */
int khib_memory_make_room(const char *root, uint64_t need_bytes, bool drop,
			  struct khib_room *ret);

/* The OOM killer picks this process first (oom_score_adj 1000). */
int khib_memory_oom_first(const char *root);

/*
 * Keep mlock()ed pages where they are: compaction moves them too unless
 * vm.compact_unevictable_allowed is 0, and the status page the writer
 * kernel reports on must stay at the physical address given to it until
 * the jump.  Sets it to 0 and returns the old value in `old` (n bytes);
 * -ENOENT without CONFIG_COMPACTION (nothing moves them then).
 */
int khib_memory_hold_mlocked(const char *root, char *old, size_t n);
/* Put the old value back. */
int khib_memory_release_mlocked(const char *root, const char *old);

#endif
