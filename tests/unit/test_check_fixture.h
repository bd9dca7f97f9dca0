/* SPDX-License-Identifier: GPL-2.0-only */
/* What the tests of khib check's verdicts share. */
#ifndef KHIB_TEST_CHECK_FIXTURE_H
#define KHIB_TEST_CHECK_FIXTURE_H

#include "check.h"
#include "harness.h"

/* The fake tree's root, where test_put_file() writes. */
const char *check_root(void);

/* `call` gave level `want` in result r, whose text holds `words`. */
void check_verdict(const char *file, int line, int got, const struct khib_check_result *r,
		   int want, const char *words);
#define VERDICT(call, r, want, words) check_verdict(__FILE__, __LINE__, (call), &(r), (want), \
						    (words))

#endif
