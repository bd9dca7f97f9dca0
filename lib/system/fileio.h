/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * Files by path and fd: opening inputs safely, reading small files whole,
 * writing all of a buffer, replacing a file atomically.  The system
 * layer's; the format layer (lib/README.md) gets its bytes from callers.
 */
#ifndef KHIB_FILEIO_H
#define KHIB_FILEIO_H

#include <sys/types.h>

#include <stddef.h>
#include <stdint.h>

/*
 * Open an input that must be a regular file or a block device, without
 * blocking on a FIFO (O_NONBLOCK until it is known not to be one):
 * -ENOTBLK for a FIFO, socket, character device or directory.
 */
int khib_open_input(const char *path, int flags);

/*
 * Read a whole file (a sysfs/procfs attribute, a kernel, an initramfs) into a
 * malloc'ed buffer with a terminating NUL not counted in *ret_size.  Files
 * larger than max_bytes give -EFBIG.
 */
int khib_read_file(const char *path, size_t max_bytes, char **ret_buf, size_t *ret_size);

/* khib_read_file() of root/path, up to 1 MiB: a /proc or /sys file, under
 * a fake tree's root in tests ("" for the running system). */
int khib_read_root_file(const char *root, const char *path, char **ret_buf);

/* A small sysfs/procfs attribute as a string without its trailing
 * newline and blanks; -EINVAL when it does not fit buf. */
int khib_read_attr(const char *path, char *buf, size_t n);

/* Make the directories above path (not path itself) that are missing,
 * with mode. */
int khib_mkdir_parents(const char *path, mode_t mode);

/* Replace the file at path with len bytes of data, mode mode: written
 * beside it (.NAME.new: hidden), synced, renamed over it, the directory
 * synced: done when it returns 0.  Nothing changes when it fails before the
 * rename. */
int khib_write_file_atomic(const char *path, const void *data, size_t len, mode_t mode);

/* Write all of buf at offset, retrying short writes and EINTR. */
int khib_pwrite_all(int fd, const void *buf, size_t len, uint64_t offset);
/* Read exactly len bytes at offset; -EIO if the file ends first. */
int khib_pread_all(int fd, void *buf, size_t len, uint64_t offset);

#endif
