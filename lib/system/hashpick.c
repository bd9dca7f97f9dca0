/* SPDX-License-Identifier: GPL-2.0-only */
#include "hashpick.h"

#include <errno.h>
#include <inttypes.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <time.h>

#include "checksum.h"
#include "util.h"

#define SAMPLE_BYTES (256u << 10)
#define ROUNDS 3

int khib_hash_pick_fastest(char *report, size_t n)
{
	const struct khib_hash_variant *v, *best = NULL;
	uint64_t best_ns = UINT64_MAX, x = 0x9E3779B97F4A7C15ULL;
	volatile uint64_t sink = 0;
	size_t nv = khib_hash_variants(&v), len = 0;
	uint64_t *buf = malloc(SAMPLE_BYTES);

	if (!buf)
		return -ENOMEM;
	/* Memory like the pages it will hash: no pattern a build could
	 * shortcut. */
	for (size_t i = 0; i < SAMPLE_BYTES / 8; i++) {
		x ^= x << 13, x ^= x >> 7, x ^= x << 17;
		buf[i] = x;
	}
	if (report && n)
		report[0] = '\0';
	for (size_t k = 0; k < nv; k++) {
		uint64_t ns = UINT64_MAX;

		for (int r = 0; r < ROUNDS; r++) {
			uint64_t t0 = khib_clock_ns(CLOCK_MONOTONIC);

			sink += v[k].hash(buf, SAMPLE_BYTES);
			uint64_t t = khib_clock_ns(CLOCK_MONOTONIC) - t0;
			if (t < ns)
				ns = t;
		}
		if (!ns)
			ns = 1;
		if (ns < best_ns)
			best_ns = ns, best = &v[k];
		if (report && len < n)
			len += (size_t)snprintf(report + len, n - len, "%s%s %" PRIu64 " MB/s",
						k ? ", " : "", v[k].name,
						(uint64_t)SAMPLE_BYTES * 1000 / ns);
	}
	free(buf);
	(void)sink;
	khib_hash_use(best);
	return 0;
}
