/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * File system stamps: what proves, at resume, that nobody mounted, checked
 * or wrote a file system since the kernel that had it mounted hibernated.
 *
 * A hibernated kernel keeps its file systems mounted, with their caches in
 * its memory.  If anything else mounts one in between -- another OS, a
 * rescue boot, a boot with `noresume` but without khib's hook, an fsck --
 * resuming brings back caches that no longer match the disk, and the next
 * write-back corrupts it.  The kernel's own hibernation cannot see this;
 * khib records a stamp of every ext2/3/4 file system N has mounted, and the
 * resume side compares it with the disk before anything is restored.
 *
 * An ext2/3/4 superblock changes on every read-write mount (mount count,
 * mount time, write time), on every fsck (last check, state) and on every
 * journal replay (the needs_recovery flag is cleared), but none of these
 * fields changes while the file system stays mounted by one kernel.  So a
 * stamp read from the disk just before the jump is still what the disk says
 * at resume, unless someone else was there.
 *
 * This module is pure (bytes in, bytes out); lib/system/fscheck.c reads the disks.
 * The same 96-byte encoding goes into the handoff block and the image
 * (doc/FORMAT.md, "File system table").
 */
#ifndef KHIB_FSSTAMP_H
#define KHIB_FSSTAMP_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define KHIB_FSSTAMP_BYTES 96
#define KHIB_FSSTAMP_WHERE 32		/* mount point, NUL terminated, cut */
#define KHIB_FSSTAMP_MAX 64		/* in an image */
/* Bytes of a device to read for its superblock (the ext superblock is at
 * 1024..2047). */
#define KHIB_FSSTAMP_READ_BYTES 4096

enum khib_fs_kind {
	KHIB_FS_EXT = 1,		/* ext2, ext3, ext4 */
};

struct khib_fsstamp {
	uint32_t kind;
	uint8_t uuid[16];
	uint64_t dev;			/* its dev_t in N, for messages */
	uint16_t mnt_count, state;
	uint32_t incompat;		/* feature flags; only needs_recovery compared */
	uint64_t mtime, wtime, lastcheck; /* seconds since the epoch */
	char where[KHIB_FSSTAMP_WHERE];	/* where N had it mounted */
};

/* The stamp of the ext2/3/4 file system whose first bytes (at least 2048)
 * are buf; kind, uuid and the superblock fields are set, dev and where are
 * left alone.  -ENODATA when buf holds no ext superblock. */
int khib_fsstamp_from_ext(const void *buf, size_t len, struct khib_fsstamp *st);

/* Whether `now` differs from `then` in a way that means the file system was
 * used since; if so, a phrase for a message ("mounted 2 times since") in
 * what (n bytes). */
bool khib_fsstamp_changed(const struct khib_fsstamp *then, const struct khib_fsstamp *now,
			  char *what, size_t n);

void khib_fsstamp_encode(const struct khib_fsstamp *st, uint8_t buf[KHIB_FSSTAMP_BYTES]);
/* -EBADMSG for an unknown kind, nonzero reserved bytes or an unterminated
 * mount point. */
int khib_fsstamp_decode(const uint8_t buf[KHIB_FSSTAMP_BYTES], struct khib_fsstamp *ret);

/* "0e5a...-...": the UUID as text, 37 bytes with the NUL. */
void khib_fsstamp_uuid_str(const uint8_t uuid[16], char out[37]);

/*
 * One line of /proc/self/mountinfo: the device (major:minor), the mount
 * point (octal escapes kept) and the file system type.  -EINVAL for a line
 * that is not one.  Pointers go into `line`, which is modified.
 */
struct khib_mountinfo_entry {
	uint64_t dev;
	const char *where, *fstype, *source;
};
int khib_mountinfo_parse_line(char *line, struct khib_mountinfo_entry *ret);

#endif
