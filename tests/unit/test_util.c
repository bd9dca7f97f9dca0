/* SPDX-License-Identifier: GPL-2.0-only */
#include "fileio.h"
#include "harness.h"
#include "util.h"

#include <limits.h>
#include <sys/stat.h>

TEST(util_parse_size)
{
	uint64_t v;

	ASSERT_OK(khib_parse_size("4096", &v));
	ASSERT_EQ_U64(v, 4096);
	ASSERT_OK(khib_parse_size("0x8000000", &v));
	ASSERT_EQ_U64(v, 0x8000000);
	ASSERT_OK(khib_parse_size("128M", &v));
	ASSERT_EQ_U64(v, 128ULL << 20);
	ASSERT_OK(khib_parse_size("2g", &v));
	ASSERT_EQ_U64(v, 2ULL << 30);
	ASSERT_EQ(khib_parse_size("", &v), -EINVAL);
	ASSERT_EQ(khib_parse_size("0x", &v), -EINVAL);
	ASSERT_EQ(khib_parse_size("12Q", &v), -EINVAL);
	ASSERT_EQ(khib_parse_size("1MB", &v), -EINVAL);
	ASSERT_EQ(khib_parse_size("18446744073709551616", &v), -EINVAL);
	ASSERT_EQ(khib_parse_size("17179869184G", &v), -EINVAL);
}

TEST(util_cmdline_get)
{
	char buf[32];

	ASSERT_OK(khib_cmdline_get("console=ttyS0 khib.handoff=0x1000 quiet", "khib.handoff",
				   buf, sizeof(buf)));
	ASSERT_STREQ(buf, "0x1000");
	ASSERT_OK(khib_cmdline_get("a=1 a=2\n", "a", buf, sizeof(buf)));
	ASSERT_STREQ(buf, "2");
	ASSERT_EQ(khib_cmdline_get("xa=1 a", "a", buf, sizeof(buf)), -ENOENT);
	ASSERT_EQ(khib_cmdline_get("a=0123456789", "a", buf, 5), -ENAMETOOLONG);
}

TEST(util_cmdline_has)
{
	ASSERT_TRUE(khib_cmdline_has("quiet noresume\n", "noresume"));
	ASSERT_TRUE(khib_cmdline_has("noresume=1 quiet", "noresume"));
	ASSERT_TRUE(khib_cmdline_has("\tkhib.noresume", "khib.noresume"));
	ASSERT_TRUE(!khib_cmdline_has("noresumex resume=/dev/sda2", "noresume"));
	ASSERT_TRUE(!khib_cmdline_has("xnoresume", "noresume"));
	ASSERT_TRUE(!khib_cmdline_has("", "noresume"));
}

TEST(util_le_roundtrip)
{
	uint8_t b[8];

	khib_put_le64(b, 0x0102030405060708ULL);
	ASSERT_EQ(b[0], 0x08);
	ASSERT_EQ(b[7], 0x01);
	ASSERT_EQ_U64(khib_get_le64(b), 0x0102030405060708ULL);
	khib_put_le16(b, 0xbeef);
	ASSERT_EQ(khib_get_le16(b), 0xbeef);
}

TEST(util_ranges)
{
	ASSERT_TRUE(khib_range_within(0, 10, 10));
	ASSERT_TRUE(!khib_range_within(5, UINT64_MAX, 10));
	ASSERT_TRUE(khib_ranges_overlap(0, 10, 9, 1));
	ASSERT_TRUE(!khib_ranges_overlap(0, 10, 10, 1));
	ASSERT_TRUE(!khib_ranges_overlap(0, 0, 0, 1));
}

/* khib.conf and key protectors are replaced whole: the new bytes with the
 * asked mode, nothing left beside them; a directory that is not there
 * fails and makes nothing. */
TEST(util_write_file_atomic)
{
	char path[PATH_MAX], tmp[PATH_MAX], *text = NULL;
	struct stat st;

	snprintf(path, sizeof(path), "%s/khib.conf", test_tmpdir());
	snprintf(tmp, sizeof(tmp), "%s/.khib.conf.new", test_tmpdir());
	ASSERT_OK(khib_write_file_atomic(path, "target = /a\n", 12, 0644));
	ASSERT_OK(khib_write_file_atomic(path, "target = /b\n", 12, 0600));
	ASSERT_OK(khib_read_file(path, 1024, &text, NULL));
	ASSERT_STREQ(text, "target = /b\n");
	free(text);
	ASSERT_OK(stat(path, &st));
	ASSERT_EQ(st.st_mode & 07777, 0600);
	ASSERT_TRUE(access(tmp, F_OK) < 0);
	snprintf(path, sizeof(path), "%s/none/khib.conf", test_tmpdir());
	ASSERT_EQ(khib_write_file_atomic(path, "x", 1, 0644), -ENOENT);
	snprintf(path, sizeof(path), "%s/a/b/c", test_tmpdir());
	ASSERT_OK(khib_mkdir_parents(path, 0700));
	snprintf(path, sizeof(path), "%s/a/b", test_tmpdir());
	ASSERT_OK(stat(path, &st));
	ASSERT_TRUE(S_ISDIR(st.st_mode) && (st.st_mode & 07777) == 0700);
	snprintf(path, sizeof(path), "%s/a/b/c", test_tmpdir());
	ASSERT_TRUE(access(path, F_OK) < 0);
}

TEST(util_fail_or_errno)
{
	char reason[KHIB_REASON_MAX] = "";

	ASSERT_EQ(khib_fail_or_errno(reason, 0), 0);
	ASSERT_STREQ(reason, "");
	ASSERT_EQ(khib_fail_or_errno(reason, -ENOMEM), -ENOMEM);
	ASSERT_STREQ(reason, "Cannot allocate memory");
	/* A reason given already stays. */
	ASSERT_EQ(khib_fail(reason, -EIO, "chunk %d: read failed", 3), -EIO);
	ASSERT_EQ(khib_fail_or_errno(reason, -EIO), -EIO);
	ASSERT_STREQ(reason, "chunk 3: read failed");
	ASSERT_EQ(khib_fail_or_errno(NULL, -EIO), -EIO);
}
