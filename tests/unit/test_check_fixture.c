/* SPDX-License-Identifier: GPL-2.0-only */
#include "test_check_fixture.h"

#include <stdio.h>
#include <sys/stat.h>

const char *check_root(void)
{
	static char path[300];

	snprintf(path, sizeof(path), "%s/root", test_tmpdir());
	mkdir(path, 0755);
	return path;
}

void check_verdict(const char *file, int line, int got, const struct khib_check_result *r,
		   int want, const char *words)
{
	if (got != want || (int)r->level != want)
		test_fail(file, line, "level %s (returned %d), want %s: %s",
			  khib_check_level_name(r->level), got,
			  khib_check_level_name((enum khib_check_level)want), r->text);
	if (!strstr(r->text, words))
		test_fail(file, line, "'%s' lacks '%s'", r->text, words);
}
