/* SPDX-License-Identifier: GPL-2.0-only */
#include "fileio.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "util.h"

int khib_open_input(const char *path, int flags)
{
	_cleanup_close_ int fd = open(path, flags | O_NONBLOCK | O_NOCTTY | O_CLOEXEC, 0600);
	struct stat st;

	if (fd < 0)
		return -errno;
	if (fstat(fd, &st) < 0)
		return -errno;
	if (!S_ISREG(st.st_mode) && !S_ISBLK(st.st_mode))
		return -ENOTBLK;
	if (!(flags & O_NONBLOCK) && fcntl(fd, F_SETFL, fcntl(fd, F_GETFL) & ~O_NONBLOCK) < 0)
		return -errno;
	return TAKE_FD(fd);
}

int khib_read_file(const char *path, size_t max_bytes, char **ret_buf, size_t *ret_size)
{
	_cleanup_close_ int fd = khib_open_input(path, O_RDONLY);
	_cleanup_free_ char *buf = NULL;
	size_t size = 0, cap = 0;

	if (fd < 0)
		return fd;
	for (;;) {
		if (cap - size < 4096) {
			size_t ncap = cap ? cap * 2 : 8192;
			char *n;

			if (ncap > max_bytes + 4096)
				ncap = max_bytes + 4096;
			if (ncap <= cap)
				return -EFBIG;
			n = realloc(buf, ncap + 1);
			if (!n)
				return -ENOMEM;
			buf = n;
			cap = ncap;
		}
		ssize_t r = read(fd, buf + size, cap - size);
		if (r < 0) {
			if (errno == EINTR)
				continue;
			return -errno;
		}
		if (r == 0)
			break;
		size += (size_t)r;
		if (size > max_bytes)
			return -EFBIG;
	}
	buf[size] = '\0';
	*ret_buf = TAKE_PTR(buf);
	if (ret_size)
		*ret_size = size;
	return 0;
}

int khib_read_root_file(const char *root, const char *path, char **ret_buf)
{
	char full[512];

	snprintf(full, sizeof(full), "%s%s", root, path);
	return khib_read_file(full, 1 << 20, ret_buf, NULL);
}

int khib_read_attr(const char *path, char *buf, size_t n)
{
	_cleanup_free_ char *data = NULL;
	size_t len;
	int r = khib_read_file(path, 4096, &data, &len);

	if (r < 0)
		return r;
	while (len && (data[len - 1] == '\n' || data[len - 1] == ' '))
		data[--len] = '\0';
	if (len + 1 > n)
		return -EINVAL;
	memcpy(buf, data, len + 1);
	return 0;
}

/* pread or pwrite until len bytes moved: a short transfer goes on, EINTR
 * is retried, end of file (0 bytes) is -EIO. */
static int io_all(int fd, uint8_t *p, size_t len, uint64_t offset, bool write)
{
	while (len) {
		ssize_t r = write ? pwrite(fd, p, len, (off_t)offset) : pread(fd, p, len, (off_t)offset);

		if (r < 0) {
			if (errno == EINTR)
				continue;
			return -errno;
		}
		if (r == 0)
			return -EIO;
		p += r;
		len -= (size_t)r;
		offset += (uint64_t)r;
	}
	return 0;
}

int khib_pwrite_all(int fd, const void *buf, size_t len, uint64_t offset)
{
	return io_all(fd, (uint8_t *)buf, len, offset, true);
}

int khib_pread_all(int fd, void *buf, size_t len, uint64_t offset)
{
	return io_all(fd, buf, len, offset, false);
}

int khib_mkdir_parents(const char *path, mode_t mode)
{
	char buf[PATH_MAX];

	if (snprintf(buf, sizeof(buf), "%s", path) >= (int)sizeof(buf))
		return -ENAMETOOLONG;
	for (char *slash = strchr(buf + 1, '/'); slash; slash = strchr(slash + 1, '/')) {
		*slash = '\0';
		if (mkdir(buf, mode) < 0 && errno != EEXIST)
			return -errno;
		*slash = '/';
	}
	return 0;
}

int khib_write_file_atomic(const char *path, const void *data, size_t len, mode_t mode)
{
	char tmp[PATH_MAX];
	int fd, r = 0;

	const char *base = strrchr(path, '/');
	int dir_len = base ? (int)(base - path + 1) : 0;

	/* A hidden name: directories that are read whole (the key directory)
	 * skip what a crash leaves behind. */
	if (snprintf(tmp, sizeof(tmp), "%.*s.%s.new", dir_len, path, path + dir_len) >=
	    (int)sizeof(tmp))
		return -ENAMETOOLONG;
	fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC | O_NOFOLLOW, mode);
	if (fd < 0)
		return -errno;
	if (fchmod(fd, mode) < 0)	/* O_CREAT's mode is cut by the umask */
		r = -errno;
	if (r >= 0)
		r = khib_pwrite_all(fd, data, len, 0);
	if (r >= 0 && fsync(fd) < 0)
		r = -errno;
	if (close(fd) < 0 && r >= 0)
		r = -errno;
	if (r >= 0 && rename(tmp, path) < 0)
		r = -errno;
	if (r < 0) {
		unlink(tmp);
		return r;
	}
	/* The rename is in the directory: sync it too, or a power cut soon
	 * after could leave the old file (or none) in place. */
	snprintf(tmp, sizeof(tmp), "%.*s", dir_len ? dir_len : 1, dir_len ? path : ".");
	if ((fd = open(tmp, O_RDONLY | O_DIRECTORY | O_CLOEXEC)) < 0)
		return -errno;
	r = fsync(fd) < 0 ? -errno : 0;
	close(fd);
	return r;
}
