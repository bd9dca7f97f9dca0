/* SPDX-License-Identifier: GPL-2.0-only */
#include "targetfile.h"

#include <errno.h>
#include <fcntl.h>
#include <linux/fs.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/stat.h>
#include <unistd.h>

#include "fileio.h"
#include "util.h"

static int get_flags(int fd, int *ret)
{
	return ioctl(fd, FS_IOC_GETFLAGS, ret) < 0 ? -errno : 0;
}

static int set_immutable(int fd, bool on)
{
	int flags, r;

	if ((r = get_flags(fd, &flags)) < 0)
		return r;
	flags = on ? flags | FS_IMMUTABLE_FL : flags & ~FS_IMMUTABLE_FL;
	return ioctl(fd, FS_IOC_SETFLAGS, &flags) < 0 ? -errno : 0;
}

int khib_targetfile_remove(const char *path)
{
	int fd = open(path, O_RDONLY | O_CLOEXEC | O_NOFOLLOW | O_NONBLOCK);
	int r = 0;

	if (fd < 0)
		return -errno;
	r = set_immutable(fd, false);
	close(fd);
	if (r >= 0 && unlink(path) < 0)
		r = -errno;
	return r;
}

/* What an existing file needs; -ENOTBLK for what is not a regular file. */
static int needs(const char *path, uint64_t bytes, unsigned *did, char *reason)
{
	_cleanup_close_ int fd = open(path, O_RDONLY | O_CLOEXEC | O_NOFOLLOW | O_NONBLOCK);
	struct stat st;
	int flags, r;

	if (fd < 0)
		return khib_fail(reason, -errno, "opening it");
	if (fstat(fd, &st) < 0)
		return khib_fail(reason, -errno, "reading its size");
	if (S_ISDIR(st.st_mode))
		return khib_fail(reason, -EISDIR, "a directory, not a file");
	if (!S_ISREG(st.st_mode))
		return khib_fail(reason, -ENOTBLK, "not a regular file");
	if ((uint64_t)st.st_size < bytes)
		*did |= KHIB_TARGETFILE_GROWN;
	/* Fewer blocks than bytes: holes, which the writer cannot use. */
	else if ((uint64_t)st.st_blocks * 512 < (uint64_t)st.st_size)
		*did |= KHIB_TARGETFILE_FILLED;
	if ((r = get_flags(fd, &flags)) < 0)
		return khib_fail(reason, r, "reading its flags");
	if (*did || !(flags & FS_IMMUTABLE_FL))
		*did |= KHIB_TARGETFILE_IMMUTABLE;
	return 0;
}

/* Allocate [0, bytes) of the file (never shrinking it) and make it
 * immutable; it is mutable while that happens. */
static int allocate(const char *path, uint64_t bytes, bool created, char *reason)
{
	_cleanup_close_ int fd = open(path, O_RDWR | O_CLOEXEC | O_NOFOLLOW);
	struct stat st;
	int r;

	if (fd < 0 && errno == EPERM && !created) {
		/* Immutable: writable only once the flag is off. */
		_cleanup_close_ int ro = open(path, O_RDONLY | O_CLOEXEC | O_NOFOLLOW);

		if (ro < 0 || (r = set_immutable(ro, false)) < 0)
			return khib_fail(reason, ro < 0 ? -errno : r, "clearing its immutable flag");
		fd = open(path, O_RDWR | O_CLOEXEC | O_NOFOLLOW);
	}
	if (fd < 0)
		return khib_fail(reason, -errno, "opening it for writing");
	if (fstat(fd, &st) < 0)
		return khib_fail(reason, -errno, "reading its size");
	if ((uint64_t)st.st_size > bytes)
		bytes = st.st_size;
	if (fallocate(fd, 0, 0, (off_t)bytes) < 0)
		return khib_fail(reason, -errno, "allocating %llu MiB",
				 (unsigned long long)(bytes >> 20));
	if (fsync(fd) < 0)
		return khib_fail(reason, -errno, "syncing it");
	if ((r = set_immutable(fd, true)) < 0)
		return khib_fail(reason, r, "setting its immutable flag");
	return 0;
}

int khib_targetfile_prepare(const char *path, uint64_t bytes, bool dry_run, unsigned *ret_did,
			    char *reason)
{
	unsigned did = 0;
	int r;

	if (access(path, F_OK) == 0) {
		if ((r = needs(path, bytes, &did, reason)) < 0)
			return r;
	} else if (errno == ENOENT) {
		did = KHIB_TARGETFILE_CREATED | KHIB_TARGETFILE_IMMUTABLE;
	} else {
		return khib_fail(reason, -errno, "looking it up");
	}
	if (dry_run || !did) {
		*ret_did = did;
		return 0;
	}
	if (did & KHIB_TARGETFILE_CREATED) {
		int fd;

		if ((r = khib_mkdir_parents(path, 0700)) < 0)
			return khib_fail(reason, r, "creating its directory");
		if ((fd = open(path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC | O_NOFOLLOW, 0600)) < 0)
			return khib_fail(reason, -errno, "creating it");
		close(fd);
	}
	if ((r = allocate(path, bytes, did & KHIB_TARGETFILE_CREATED, reason)) < 0) {
		if (did & KHIB_TARGETFILE_CREATED)
			khib_targetfile_remove(path);
		return r;
	}
	*ret_did = did;
	return 0;
}
