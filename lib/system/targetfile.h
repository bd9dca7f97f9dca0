/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * A file as a hibernation target, made ready the way lib/system/blockmap.c can
 * resolve it: a regular file, fully allocated (fallocate: the writer kernel
 * writes its blocks directly, beneath the file system) and immutable
 * (FS_IMMUTABLE_FL: the file system then neither moves, frees nor writes
 * its blocks while an image is in them).
 */
#ifndef KHIB_TARGETFILE_H
#define KHIB_TARGETFILE_H

#include <stdbool.h>
#include <stdint.h>

/* What khib_targetfile_prepare() did (or, with dry_run, would do). */
enum {
	KHIB_TARGETFILE_CREATED = 1 << 0,	/* a new file (and its directory) */
	KHIB_TARGETFILE_GROWN = 1 << 1,		/* an existing file made larger */
	KHIB_TARGETFILE_FILLED = 1 << 2,	/* holes of an existing file allocated */
	KHIB_TARGETFILE_IMMUTABLE = 1 << 3,	/* the immutable flag set */
};

/*
 * Make path a target file of at least bytes: create it (mode 0600; missing
 * directories 0700) or grow an existing regular file, allocate all of it,
 * set the immutable flag; an existing file is never shrunk or truncated.
 * *ret_did: KHIB_TARGETFILE_* (0: it was ready).  With dry_run nothing
 * changes and *ret_did says what would.  A file this call created is
 * removed again when a later step fails.  -EISDIR, -ENOTBLK (not a regular
 * file), -ENOSPC, -EOPNOTSUPP (a file system without fallocate or the
 * immutable flag), ... with reason (KHIB_REASON_MAX) naming the step.
 */
int khib_targetfile_prepare(const char *path, uint64_t bytes, bool dry_run, unsigned *ret_did,
			    char *reason);

/* Remove a target file: its immutable flag cleared first.  -errno. */
int khib_targetfile_remove(const char *path);

#endif
