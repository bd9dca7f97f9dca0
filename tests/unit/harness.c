/* SPDX-License-Identifier: GPL-2.0-only */
#include "harness.h"

#include <fcntl.h>
#include <stdarg.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <unistd.h>

static struct test_case *tests_head, **tests_tail = &tests_head;
static jmp_buf test_jmp;
static char tmpdir[256];

void test_register(struct test_case *tc)
{
	*tests_tail = tc;
	tests_tail = &tc->next;
}

void test_fail(const char *file, int line, const char *fmt, ...)
{
	va_list ap;

	fprintf(stderr, "  %s:%d: ", file, line);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputc('\n', stderr);
	longjmp(test_jmp, 1);
}

const char *test_tmpdir(void)
{
	if (!tmpdir[0]) {
		const char *base = getenv("TMPDIR");

		snprintf(tmpdir, sizeof(tmpdir), "%s/khib-unit-XXXXXX", base ? base : "/tmp");
		if (!mkdtemp(tmpdir)) {
			perror("mkdtemp");
			abort();
		}
	}
	return tmpdir;
}

void test_put_file(const char *rel, const void *data, size_t len)
{
	char path[512];
	int fd;

	snprintf(path, sizeof(path), "%s/root%s", test_tmpdir(), rel);
	for (char *p = path + strlen(test_tmpdir()) + 1; (p = strchr(p, '/')); p++) {
		*p = '\0';
		mkdir(path, 0755);
		*p = '/';
	}
	fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
	if (fd < 0 || write(fd, data, len) != (ssize_t)len)
		test_fail(__FILE__, __LINE__, "writing %s", path);
	close(fd);
}

void test_put_text(const char *rel, const char *text)
{
	test_put_file(rel, text, strlen(text));
}

static void tmpdir_cleanup(void)
{
	char cmd[300];

	if (!tmpdir[0])
		return;
	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", tmpdir);
	if (system(cmd) != 0)
		fprintf(stderr, "warning: could not remove %s\n", tmpdir);
	tmpdir[0] = '\0';
}

static int selected(const char *name, int argc, char **argv)
{
	if (argc < 2)
		return 1;
	for (int i = 1; i < argc; i++)
		if (strstr(name, argv[i]))
			return 1;
	return 0;
}

/* A word that selects no test is a typo or a renamed test: running nothing
 * and reporting success would pass a check that never ran. */
static int check_words(int argc, char **argv)
{
	int missing = 0;

	for (int i = 1; i < argc; i++) {
		struct test_case *tc = tests_head;

		while (tc && !strstr(tc->name, argv[i]))
			tc = tc->next;
		if (!tc) {
			fprintf(stderr, "no test name contains '%s'\n", argv[i]);
			missing++;
		}
	}
	return missing;
}

int main(int argc, char **argv)
{
	static unsigned passed, failed;
	static struct test_case *tc;

	setvbuf(stdout, NULL, _IOLBF, 0);
	if (check_words(argc, argv))
		return 2;
	for (tc = tests_head; tc; tc = tc->next) {
		if (!selected(tc->name, argc, argv))
			continue;
		if (setjmp(test_jmp) == 0) {
			tc->fn();
			printf("ok   %s\n", tc->name);
			passed++;
		} else {
			printf("FAIL %s\n", tc->name);
			failed++;
		}
		tmpdir_cleanup();
	}
	printf("%u passed, %u failed\n", passed, failed);
	return failed ? 1 : 0;
}
