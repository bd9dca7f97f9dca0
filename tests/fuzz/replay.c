/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * Replays a fuzz corpus (files or directories given as arguments) through a
 * fuzz target without libFuzzer, so every test run re-checks every input
 * that ever mattered (zstd's regression driver does the same).
 */
#include <dirent.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "fuzz.h"
#include "util.h"

/* Read with stdio: the driver links only the format layer (lib/README.md),
 * which has no file I/O. */
static int replay_file(const char *path, unsigned *count)
{
	_cleanup_free_ uint8_t *buf = NULL;
	FILE *f = fopen(path, "rbe");
	long len;

	if (!f || fseek(f, 0, SEEK_END) < 0 || (len = ftell(f)) < 0 || fseek(f, 0, SEEK_SET) < 0 ||
	    !(buf = malloc((size_t)len + 1)) || fread(buf, 1, (size_t)len, f) != (size_t)len) {
		fprintf(stderr, "%s: %s\n", path, strerror(errno ? errno : EIO));
		if (f)
			fclose(f);
		return -1;
	}
	fclose(f);
	LLVMFuzzerTestOneInput(buf, (size_t)len);
	(*count)++;
	return 0;
}

static int replay(const char *path, unsigned *count)
{
	struct dirent *e;
	struct stat st;
	DIR *d;
	int r = 0;

	if (stat(path, &st) < 0) {
		perror(path);
		return -1;
	}
	if (!S_ISDIR(st.st_mode))
		return replay_file(path, count);
	d = opendir(path);
	if (!d)
		return -1;
	while ((e = readdir(d)) && r >= 0) {
		char sub[4096];

		if (e->d_name[0] == '.')
			continue;
		snprintf(sub, sizeof(sub), "%s/%s", path, e->d_name);
		r = replay(sub, count);
	}
	closedir(d);
	return r;
}

int main(int argc, char **argv)
{
	unsigned count = 0;

	for (int i = 1; i < argc; i++)
		if (replay(argv[i], &count) < 0)
			return 1;
	printf("%u inputs replayed\n", count);
	/* An empty corpus would make this test unable to fail. */
	return count ? 0 : 1;
}
