/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * khib setup's target file on the scratch directory's file system (ext4 on
 * the machines that run these): created allocated and immutable, grown,
 * its holes filled, never shrunk, and nothing changed by a dry run.
 */
#include "harness.h"
#include "targetfile.h"
#include "util.h"

#include <fcntl.h>
#include <limits.h>
#include <linux/fs.h>
#include <stdio.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/stat.h>
#include <unistd.h>

static bool immutable(const char *path)
{
	int fd = open(path, O_RDONLY | O_CLOEXEC), flags = 0;
	bool on = fd >= 0 && ioctl(fd, FS_IOC_GETFLAGS, &flags) == 0 && (flags & FS_IMMUTABLE_FL);

	if (fd >= 0)
		close(fd);
	return on;
}

static void sizes(const char *path, uint64_t *size, uint64_t *allocated)
{
	struct stat st;

	if (stat(path, &st) < 0)
		test_fail(__FILE__, __LINE__, "stat %s", path);
	*size = st.st_size;
	*allocated = (uint64_t)st.st_blocks * 512;
}

TEST(targetfile_create_grow_fill)
{
	char path[PATH_MAX], reason[KHIB_REASON_MAX] = "";
	uint64_t size, allocated;
	unsigned did = 99;
	int fd;

	snprintf(path, sizeof(path), "%s/var/lib/khib/image", test_tmpdir());
	/* A dry run says what it would do and does nothing. */
	ASSERT_OK(khib_targetfile_prepare(path, 4 << 20, true, &did, reason));
	ASSERT_EQ(did, KHIB_TARGETFILE_CREATED | KHIB_TARGETFILE_IMMUTABLE);
	ASSERT_TRUE(access(path, F_OK) < 0);
	if (geteuid() != 0)
		return;	/* the immutable flag is root's */
	ASSERT_OK(khib_targetfile_prepare(path, 4 << 20, false, &did, reason));
	ASSERT_EQ(did, KHIB_TARGETFILE_CREATED | KHIB_TARGETFILE_IMMUTABLE);
	sizes(path, &size, &allocated);
	ASSERT_EQ_U64(size, 4 << 20);
	ASSERT_TRUE(allocated >= size);
	ASSERT_TRUE(immutable(path));
	/* Ready: nothing to do. */
	ASSERT_OK(khib_targetfile_prepare(path, 4 << 20, false, &did, reason));
	ASSERT_EQ(did, 0);
	/* Bigger than it is: grown, immutable again. */
	ASSERT_OK(khib_targetfile_prepare(path, 6 << 20, true, &did, reason));
	ASSERT_EQ(did, KHIB_TARGETFILE_GROWN | KHIB_TARGETFILE_IMMUTABLE);
	sizes(path, &size, &allocated);
	ASSERT_EQ_U64(size, 4 << 20);
	ASSERT_OK(khib_targetfile_prepare(path, 6 << 20, false, &did, reason));
	sizes(path, &size, &allocated);
	ASSERT_EQ_U64(size, 6 << 20);
	ASSERT_TRUE(allocated >= size && immutable(path));
	/* Smaller: never shrunk. */
	ASSERT_OK(khib_targetfile_prepare(path, 1 << 20, false, &did, reason));
	ASSERT_EQ(did, 0);
	sizes(path, &size, &allocated);
	ASSERT_EQ_U64(size, 6 << 20);
	ASSERT_OK(khib_targetfile_remove(path));
	ASSERT_TRUE(access(path, F_OK) < 0);

	/* A sparse file of the right size: its holes are allocated. */
	fd = open(path, O_RDWR | O_CREAT | O_CLOEXEC, 0600);
	ASSERT_TRUE(fd >= 0);
	ASSERT_OK(ftruncate(fd, 2 << 20));
	close(fd);
	ASSERT_OK(khib_targetfile_prepare(path, 2 << 20, false, &did, reason));
	ASSERT_EQ(did, KHIB_TARGETFILE_FILLED | KHIB_TARGETFILE_IMMUTABLE);
	sizes(path, &size, &allocated);
	ASSERT_TRUE(allocated >= size && immutable(path));
	ASSERT_OK(khib_targetfile_remove(path));
}

TEST(targetfile_refuses_what_is_no_file)
{
	char path[PATH_MAX], reason[KHIB_REASON_MAX] = "";
	unsigned did = 99;

	snprintf(path, sizeof(path), "%s/dir", test_tmpdir());
	ASSERT_OK(mkdir(path, 0700));
	ASSERT_EQ(khib_targetfile_prepare(path, 1 << 20, false, &did, reason), -EISDIR);
	ASSERT_TRUE(strstr(reason, "directory") != NULL);
	snprintf(path, sizeof(path), "%s/fifo", test_tmpdir());
	ASSERT_OK(mkfifo(path, 0600));
	ASSERT_EQ(khib_targetfile_prepare(path, 1 << 20, false, &did, reason), -ENOTBLK);
	ASSERT_EQ(did, 99);
	/* A directory that cannot be made. */
	snprintf(path, sizeof(path), "%s/fifo/image", test_tmpdir());
	ASSERT_TRUE(khib_targetfile_prepare(path, 1 << 20, false, &did, reason) < 0);
	ASSERT_EQ(did, 99);
}
