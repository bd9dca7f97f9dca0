/* SPDX-License-Identifier: GPL-2.0-only */
#include "initrd_file.h"

#include <errno.h>
#include <fcntl.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>

#include "fileio.h"
#include "util.h"

int khib_initrd_scan_file(const char *path, struct khib_initrd_member *m, size_t n,
			  char *reason)
{
	_cleanup_close_ int fd = khib_open_input(path, O_RDONLY);
	struct stat st;
	void *map;
	int r;

	if (fd < 0)
		return khib_fail(reason, fd, "%s", strerror(-fd));
	if (fstat(fd, &st) < 0)
		return khib_fail(reason, -errno, "%s", strerror(errno));
	if (!st.st_size)
		return khib_initrd_scan("", 0, m, n, reason);
	map = mmap(NULL, (size_t)st.st_size, PROT_READ, MAP_PRIVATE, fd, 0);
	if (map == MAP_FAILED)
		return khib_fail(reason, -errno, "%s", strerror(errno));
	r = khib_initrd_scan(map, (size_t)st.st_size, m, n, reason);
	munmap(map, (size_t)st.st_size);
	return r;
}
