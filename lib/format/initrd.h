/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * What an initramfs holds, read the way the kernel unpacks it
 * (init/initramfs.c unpack_to_rootfs): newc cpio archives ("070701" or
 * "070702"), zeros between them after a trailer, and parts compressed with
 * gzip or zstd (Debian's initramfs-tools, khib's own initramfs images),
 * one after the other; in each, a later member of the same name wins.
 * Other compressions (xz, lzma, bzip2, lz4, lzo) are named and refused.
 *
 * The caller asks for members by name and gets, for each, whether it is
 * there, its mode and size, and its bytes when they are no more than it
 * asked to keep.  Nothing else is kept: an initrd of hundreds of MiB is
 * read through a small buffer (and a file through mmap), so a machine about
 * to hibernate, full to the brim, can afford the look.
 *
 * The input is untrusted: every length is checked, and the decompressed
 * total is capped (KHIB_INITRD_MAX_BYTES) so no bomb runs for long.
 */
#ifndef KHIB_INITRD_H
#define KHIB_INITRD_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* More than any initramfs a kernel would boot. */
#define KHIB_INITRD_MAX_BYTES (4ULL << 30)

struct khib_initrd_member {
	const char *name;	/* as in the archive, without "./" or "/" in front */
	size_t max_bytes;	/* keep the content when it is this big at most */
	/* Found: */
	bool found;
	uint32_t mode;		/* st_mode as the archive gives it */
	uint64_t bytes;
	uint8_t *data;		/* owned: the content, or NULL (too big, or empty) */
};

/*
 * Look for the members m[0..n) in the initramfs in buf.  0 with m filled
 * (found or not); -EBADMSG when it is no initramfs or a broken one,
 * -EOPNOTSUPP for a compression khib does not read, -EFBIG past
 * KHIB_INITRD_MAX_BYTES, -ENOMEM; reason (KHIB_REASON_MAX) says which and
 * where.  m is released first and on failure.
 */
int khib_initrd_scan(const void *buf, size_t len, struct khib_initrd_member *m, size_t n,
		     char *reason);

/* Free the members' data. */
void khib_initrd_release(struct khib_initrd_member *m, size_t n);

#endif
