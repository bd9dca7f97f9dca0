/* SPDX-License-Identifier: GPL-2.0-only */
#include <fcntl.h>
#include <inttypes.h>
#include <stdio.h>
#include <string.h>
#include <termios.h>
#include <time.h>
#include <unistd.h>

#include "khib.h"
#include "util.h"

static double now_mono(void)
{
	return (double)khib_clock_ns(CLOCK_MONOTONIC) / 1e9;
}

void khib_console_progress_init(struct khib_console_progress *p, const char *what)
{
	*p = (struct khib_console_progress){ .what = what, .t0 = now_mono() };
	p->last = p->t0;
}

double khib_console_progress_elapsed(const struct khib_console_progress *p)
{
	return now_mono() - p->t0;
}

void khib_console_progress(struct khib_console_progress *p, uint64_t done, uint64_t total)
{
	double t = now_mono(), el = t - p->t0;
	unsigned pct = total ? (unsigned)(done * 100 / total) : 100;
	double mbs = el > 0 ? (double)done * 4096 / 1e6 / el : 0;

	if (pct < p->last_pct + 10 && t - p->last < 2 && done != total)
		return;
	p->last_pct = pct;
	p->last = t;
	printf("khib: %s: %3u%% (%" PRIu64 "/%" PRIu64 " MiB), %.0f MB/s, ETA %.0f s\n", p->what,
	       pct, done >> 8, total >> 8, mbs,
	       mbs > 0 ? (double)(total - done) * 4096 / 1e6 / mbs : 0.0);
	fflush(stdout);
}

#define MAX_CONSOLES 8

static int console_fds[MAX_CONSOLES];
static int n_console_fds;

static ssize_t mirror_write(void *cookie, const char *buf, size_t len)
{
	(void)cookie;
	for (int i = 0; i < n_console_fds; i++) {
		size_t done = 0;

		/* A console that fails is skipped: the others still show it. */
		while (done < len) {
			ssize_t w = write(console_fds[i], buf + done, len - done);

			if (w <= 0)
				break;
			done += (size_t)w;
		}
		/* Lines are out before the kernel prints over them (freezing,
		 * the jump back, the power going): as khib.c's vmsg(). */
		tcdrain(console_fds[i]);
	}
	return (ssize_t)len;
}

int khib_console_mirror(void)
{
	FILE *f = fopen("/proc/consoles", "re"), *out;
	char line[256], name[64], path[80];

	if (!f)
		return 1;
	while (n_console_fds < MAX_CONSOLES && fgets(line, sizeof(line), f)) {
		int fd;

		if (sscanf(line, "%63s", name) != 1)
			continue;
		snprintf(path, sizeof(path), "/dev/%s", name);
		fd = open(path, O_WRONLY | O_NOCTTY | O_CLOEXEC);
		if (fd >= 0)
			console_fds[n_console_fds++] = fd;
	}
	fclose(f);
	if (n_console_fds < 2) {
		while (n_console_fds)
			close(console_fds[--n_console_fds]);
		return 1;
	}
	out = fopencookie(NULL, "w", (cookie_io_functions_t){ .write = mirror_write });
	if (!out)
		return 1;
	setvbuf(out, NULL, _IOLBF, 0);
	fflush(stdout);
	fflush(stderr);
	/* One stream for both, so their lines keep their order. */
	stdout = out;
	stderr = out;
	return n_console_fds;
}
