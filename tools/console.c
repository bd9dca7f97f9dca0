/* SPDX-License-Identifier: GPL-2.0-only */
#include <inttypes.h>
#include <time.h>

#include "khib.h"

static double now_mono(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
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
