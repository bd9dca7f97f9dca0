/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * khib resume's path through the kernel's own /dev/snapshot: no second
 * kernel boots.  Used when the running kernel offers the snapshot device,
 * hibernation is not disabled, the image records the values the kernel
 * checks, and this boot has the memory to take the stream; otherwise, or
 * when the kernel refuses the stream, the caller takes the kexec path —
 * nothing has changed by then (user space is thawed again).
 *
 * Safety: the image is invalidated (durably) after the whole stream was
 * accepted and before the final SNAPSHOT_ATOMIC_RESTORE, so it is never
 * resumed twice.
 */
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "image.h"
#include "khib.h"
#include "memory.h"
#include "resume.h"
#include "snapshot.h"
#include "sysinfo.h"
#include "util.h"

#define SNAPSHOT_DEV "/dev/snapshot"

/* Why the kernel cannot restore an image here, or NULL. */
static const char *kernel_unable(void)
{
	const char *why = NULL;

	if (access(SNAPSHOT_DEV, W_OK) < 0)
		return "the kernel has no " SNAPSHOT_DEV " (CONFIG_HIBERNATION_SNAPSHOT_DEV)";
	/* Without "disk" hibernation is off: nohibernate, lockdown, secretmem. */
	if (khib_sysinfo_hibernation_refused("", &why) != 0)
		return "hibernation is disabled in this kernel (nohibernate, lockdown or secretmem)";
	return NULL;
}

/* MemAvailable after dropping clean caches, in bytes; 0 if unknown. */
static uint64_t available_memory(void)
{
	struct khib_meminfo m;

	khib_memory_drop_caches("");
	return khib_meminfo_read("", &m) < 0 ? 0 : m.available_bytes;
}

/* A chunk that does not check out is the image's fault, not this path's. */
static bool bad_image(int r)
{
	return r == -EBADMSG || r == -ESTALE || r == -EOVERFLOW;
}

static int fallback(bool forced, const char *why, char *reason)
{
	if (!forced)
		khib_info("%s: using the kexec path", why);
	if (why != reason)
		khib_fail(reason, 0, "%s", why);
	return KHIB_RESUME_FALLBACK;
}

int khib_resume_snapshot(struct khib_reader *rd, struct khib_target *t, const char *path,
			 unsigned threads, bool forced, bool *verified, char *reason)
{
	const struct khib_image_info *info = khib_reader_info(rd);
	struct khib_snapshot_plan plan;
	struct khib_memmap zones;
	char why[KHIB_REASON_MAX];
	uint64_t need, have;
	const char *no;
	int fd, r;

	if ((no = kernel_unable()))
		return fallback(forced, no, reason);
	if ((r = khib_sysinfo_zone_spans("", &zones)) < 0)
		return fallback(forced, "cannot read this kernel's memory zones from /proc/zoneinfo",
				reason);
	if ((r = khib_snapshot_plan_build(rd, &zones, &plan, reason)) < 0) {
		if (bad_image(r))
			return KHIB_RESUME_BAD_IMAGE;
		snprintf(why, sizeof(why), "planning the snapshot stream: %s", reason);
		return fallback(forced, why, reason);
	}
	have = available_memory();
	need = khib_snapshot_memory_needed(&plan, threads);
	/* Short of memory for the threads that read ahead: one thread. */
	if (have < need && khib_snapshot_threads(threads) > 1) {
		threads = 1;
		need = khib_snapshot_memory_needed(&plan, threads);
	}
	if (have < need) {
		khib_snapshot_plan_release(&plan);
		snprintf(why, sizeof(why), "the stream needs %" PRIu64 " MiB of free memory, this boot "
			 "has %" PRIu64 " MiB", need >> 20, have >> 20);
		return fallback(forced, why, reason);
	}
	khib_info("resuming %s from '%s' through " SNAPSHOT_DEV ": %" PRIu64 " pages, %" PRIu64
		  " zero pages left to the landing page, %" PRIu64 " firmware pages kept",
		  info->kernel.uts_release, path, plan.data_pages, plan.zero_pages,
		  plan.outside_pages);
	r = khib_snapshot_write(rd, &zones, &plan, SNAPSHOT_DEV, threads, &fd, reason);
	khib_snapshot_plan_release(&plan);
	if (r < 0 && bad_image(r))
		return KHIB_RESUME_BAD_IMAGE; /* found while streaming; thawed again */
	if (r < 0) {
		snprintf(why, sizeof(why), "%s", reason);
		return fallback(forced, why, reason);
	}
	/* The stream read every chunk and checked every checksum. */
	*verified = true;
	/* Never resumed twice: the image dies before the restore. */
	if ((r = khib_image_invalidate(t)) < 0) {
		khib_snapshot_abort(fd);
		return khib_fail(reason, r, "invalidating the image before the restore: %s",
				 strerror(-r));
	}
	r = khib_snapshot_restore(fd);
	return khib_fail(reason, r, "the kernel's restore failed: %s", strerror(-r));
}
