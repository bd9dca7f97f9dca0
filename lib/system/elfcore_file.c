/* SPDX-License-Identifier: GPL-2.0-only */
#include "elfcore_file.h"

#include <errno.h>
#include <fcntl.h>
#include <string.h>
#include <sys/stat.h>

#include "fileio.h"
#include "util.h"

static int fd_read(void *ctx, void *buf, size_t len, uint64_t off)
{
	return khib_pread_all(*(int *)ctx, buf, len, off);
}

int khib_elfcore_parse_fd(int fd, struct khib_elfcore **ret, char *reason)
{
	struct stat st;

	if (fstat(fd, &st) < 0)
		return khib_fail(reason, -errno, "%s", strerror(errno));
	return khib_elfcore_parse(fd_read, &fd, (uint64_t)st.st_size, ret, reason);
}

int khib_elfcore_parse_path(const char *path, struct khib_elfcore **ret, char *reason)
{
	_cleanup_close_ int fd = khib_open_input(path, O_RDONLY);

	if (fd < 0)
		return khib_fail(reason, fd, "%s", fd == -ENOTBLK ?
				 "not a regular file or block device" : strerror(-fd));
	return khib_elfcore_parse_fd(fd, ret, reason);
}
