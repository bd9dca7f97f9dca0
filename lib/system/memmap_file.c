/* SPDX-License-Identifier: GPL-2.0-only */
#include "memmap_file.h"

#include <dirent.h>
#include <errno.h>
#include <stdio.h>

#include "fileio.h"
#include "util.h"

static int read_attr(const char *dir, const char *entry, const char *attr, char *buf, size_t n)
{
	char path[512];

	snprintf(path, sizeof(path), "%s/%s/%s", dir, entry, attr);
	return khib_read_attr(path, buf, n);
}

int khib_memmap_read_firmware(const char *dir, struct khib_memmap *ret)
{
	struct khib_memmap m = { 0 };
	DIR *d = opendir(dir);
	struct dirent *de;
	int r = 0;

	if (!d)
		return -errno;
	while ((de = readdir(d))) {
		char s[64], e[64], t[64];
		uint64_t start, end;

		if (de->d_name[0] == '.')
			continue;
		if ((r = read_attr(dir, de->d_name, "start", s, sizeof(s))) < 0 ||
		    (r = read_attr(dir, de->d_name, "end", e, sizeof(e))) < 0 ||
		    (r = read_attr(dir, de->d_name, "type", t, sizeof(t))) < 0)
			break;
		if (khib_parse_size(s, &start) < 0 || khib_parse_size(e, &end) < 0 ||
		    end == UINT64_MAX) {
			r = -EINVAL;
			break;
		}
		/* sysfs ends are inclusive */
		r = khib_memmap_add(&m, start, end + 1, khib_memmap_type_from_name(t));
		if (r < 0)
			break;
	}
	closedir(d);
	if (r < 0)
		return r;
	if (m.n == 0)
		return -ENOENT;
	r = khib_memmap_normalize(&m);
	if (r < 0)
		return r;
	*ret = m;
	return 0;
}
