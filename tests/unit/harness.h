/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * A tiny in-tree test harness.  TEST(name) { ... } registers a test at load
 * time; ASSERT_* macros print file:line and the failing expression and end
 * the current test.  The runner prints one line per failure and closes with
 * "N passed, N failed".  `khib-unit-tests NAME...` runs only tests whose name
 * contains one of the given words; a word no test name contains is an error
 * (exit status 2, nothing run).
 */
#ifndef KHIB_TEST_HARNESS_H
#define KHIB_TEST_HARNESS_H

#include <inttypes.h>
#include <setjmp.h>
#include <stdio.h>
#include <string.h>

struct test_case {
	const char *name;
	void (*fn)(void);
	struct test_case *next;
};

void test_register(struct test_case *tc);
void test_fail(const char *file, int line, const char *fmt, ...)
	__attribute__((format(printf, 3, 4), noreturn));
/* A scratch directory, fresh for each test and removed after it. */
const char *test_tmpdir(void);
/* A file under the scratch directory's fake root, <tmpdir>/root<rel>
 * (directories made on the way), holding len bytes of data / a string. */
void test_put_file(const char *rel, const void *data, size_t len);
void test_put_text(const char *rel, const char *text);

#define TEST(name_)                                                        \
	static void test_##name_(void);                                    \
	static struct test_case test_case_##name_ = { #name_, test_##name_, NULL }; \
	__attribute__((constructor)) static void test_reg_##name_(void)    \
	{                                                                  \
		test_register(&test_case_##name_);                         \
	}                                                                  \
	static void test_##name_(void)

#define ASSERT_TRUE(e)                                                     \
	do {                                                               \
		if (!(e))                                                  \
			test_fail(__FILE__, __LINE__, "ASSERT_TRUE(%s)", #e); \
	} while (0)

#define ASSERT_EQ(a, b)                                                    \
	do {                                                               \
		long long _a = (long long)(a), _b = (long long)(b);        \
		if (_a != _b)                                              \
			test_fail(__FILE__, __LINE__, "ASSERT_EQ(%s, %s): %lld != %lld", \
				  #a, #b, _a, _b);                         \
	} while (0)

#define ASSERT_EQ_U64(a, b)                                                \
	do {                                                               \
		uint64_t _a = (uint64_t)(a), _b = (uint64_t)(b);           \
		if (_a != _b)                                              \
			test_fail(__FILE__, __LINE__,                      \
				  "ASSERT_EQ_U64(%s, %s): 0x%" PRIx64 " != 0x%" PRIx64, \
				  #a, #b, _a, _b);                         \
	} while (0)

#define ASSERT_STREQ(a, b)                                                 \
	do {                                                               \
		const char *_a = (a), *_b = (b);                           \
		if (!_a || !_b || strcmp(_a, _b))                          \
			test_fail(__FILE__, __LINE__, "ASSERT_STREQ(%s, %s): \"%s\" != \"%s\"", \
				  #a, #b, _a ? _a : "(null)", _b ? _b : "(null)"); \
	} while (0)

#define ASSERT_MEMEQ(a, b, n)                                              \
	do {                                                               \
		if (memcmp((a), (b), (n)))                                 \
			test_fail(__FILE__, __LINE__, "ASSERT_MEMEQ(%s, %s, %s)", #a, #b, #n); \
	} while (0)

/* A call returning 0 / >= 0 on success, -errno on failure. */
#define ASSERT_OK(e)                                                       \
	do {                                                               \
		long long _r = (long long)(e);                             \
		if (_r < 0)                                                \
			test_fail(__FILE__, __LINE__, "ASSERT_OK(%s): %lld (%s)", #e, _r, \
				  strerror((int)-_r));                     \
	} while (0)

#endif
