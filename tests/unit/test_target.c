/* SPDX-License-Identifier: GPL-2.0-only */
#include "fileio.h"
#include "harness.h"
#include "target.h"
#include "targetdev.h"
#include "util.h"

#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>

TEST(target_memory_bounds)
{
	uint8_t buf[8192] = { 0 }, out[16];
	struct khib_target *t;

	ASSERT_OK(khib_target_new_memory(buf, sizeof(buf), true, &t));
	ASSERT_EQ_U64(khib_target_size(t), 8192);
	ASSERT_OK(khib_target_write(t, "hello", 5, 8187));
	ASSERT_EQ(khib_target_write(t, "hello", 5, 8188), -ENOSPC);
	ASSERT_EQ(khib_target_read(t, out, 16, 8180), -EIO);
	ASSERT_OK(khib_target_read(t, out, 5, 8187));
	ASSERT_MEMEQ(out, "hello", 5);
	khib_target_free(t);
}

static void make_file(const char *path, size_t size, uint8_t seed)
{
	_cleanup_close_ int fd = open(path, O_RDWR | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
	_cleanup_free_ uint8_t *b = malloc(size);

	ASSERT_TRUE(fd >= 0);
	for (size_t i = 0; i < size; i++)
		b[i] = (uint8_t)(i / 4096 + seed);
	ASSERT_OK(khib_pwrite_all(fd, b, size, 0));
	ASSERT_TRUE(fsync(fd) == 0);
}

TEST(target_extents_map_logical_to_device)
{
	static const struct khib_extent ext[] = { { 0, 8192, 4096 }, { 4096, 40960, 8192 } };
	static const struct khib_extent gap[] = { { 0, 0, 4096 }, { 8192, 8192, 4096 } };
	static const struct khib_extent odd[] = { { 0, 100, 4096 } };
	_cleanup_free_ uint8_t *buf = khib_alloc_aligned(12288), *dev = malloc(65536);
	struct khib_target *t;
	char path[300];
	int fd;

	snprintf(path, sizeof(path), "%s/dev", test_tmpdir());
	make_file(path, 65536, 0);
	ASSERT_EQ(khib_target_open_extents(path, gap, 2, KHIB_TARGET_WRITE, &t), -EINVAL);
	ASSERT_EQ(khib_target_open_extents(path, odd, 1, KHIB_TARGET_WRITE, &t), -EINVAL);
	ASSERT_OK(khib_target_open_extents(path, ext, 2, KHIB_TARGET_WRITE, &t));
	ASSERT_EQ(khib_target_kind(t), KHIB_TARGET_KIND_EXTENTS);
	ASSERT_EQ_U64(khib_target_size(t), 12288);
	for (size_t i = 0; i < 12288; i++)
		buf[i] = (uint8_t)(0xa0 + i / 4096);
	ASSERT_OK(khib_target_write(t, buf, 12288, 0));
	ASSERT_EQ(khib_target_write(t, buf, 4096, 12288), -ENOSPC);
	ASSERT_OK(khib_target_flush(t));
	memset(buf, 0, 12288);
	ASSERT_OK(khib_target_read(t, buf, 100, 4000)); /* crosses the extent boundary */
	ASSERT_EQ(buf[0], 0xa0);
	ASSERT_EQ(buf[99], 0xa1);
	khib_target_free(t);
	fd = open(path, O_RDONLY | O_CLOEXEC);
	ASSERT_OK(khib_pread_all(fd, dev, 65536, 0));
	close(fd);
	ASSERT_EQ(dev[8192], 0xa0);
	ASSERT_EQ(dev[40960], 0xa1);
	ASSERT_EQ(dev[40960 + 4096], 0xa2);
	ASSERT_EQ(dev[4096], 1); /* untouched */
	ASSERT_EQ(dev[12288], 3);
}

TEST(target_direct_io_alignment)
{
	_cleanup_free_ uint8_t *buf = khib_alloc_aligned(8192);
	struct khib_target *t;
	char path[300];
	uint8_t small[10];

	snprintf(path, sizeof(path), "%s/direct", test_tmpdir());
	make_file(path, 16384, 5);
	ASSERT_OK(khib_target_open(path, KHIB_TARGET_WRITE | KHIB_TARGET_DIRECT, &t));
	if (khib_target_align(t) > 1) /* the file system took O_DIRECT */
		ASSERT_EQ(khib_target_write(t, buf + 1, 4096, 0), -EINVAL);
	memset(buf, 0x77, 8192);
	ASSERT_OK(khib_target_write(t, buf, 8192, 4096));
	ASSERT_OK(khib_target_read(t, small, sizeof(small), 4090)); /* bounced */
	ASSERT_EQ(small[0], 5);
	ASSERT_EQ(small[6], 0x77);
	khib_target_free(t);
}

static int device_node(dev_t dev, char *buf, size_t size)
{
	_cleanup_free_ char *uevent = NULL;
	char path[64], name[32];

	snprintf(path, sizeof(path), "/sys/dev/block/%u:%u/uevent", major(dev), minor(dev));
	if (khib_read_file(path, 4096, &uevent, NULL) < 0 ||
	    khib_cmdline_get(uevent, "DEVNAME", name, sizeof(name)) < 0)
		return -ENOENT;
	snprintf(buf, size, "/dev/%s", name);
	return 0;
}

TEST(target_fiemap_matches_device)
{
	_cleanup_free_ struct khib_extent *ext = NULL;
	_cleanup_free_ uint8_t *a = malloc(65536), *b = malloc(65536);
	struct khib_target *t;
	char path[300], devpath[64];
	uint64_t total = 0;
	size_t n;
	dev_t dev;
	int fd;

	snprintf(path, sizeof(path), "%s/swapfile", test_tmpdir());
	make_file(path, 65536, 9);
	ASSERT_OK(khib_target_fiemap(path, &ext, &n, &dev));
	for (size_t i = 0; i < n; i++) {
		ASSERT_EQ_U64(ext[i].logical, total);
		total += ext[i].length;
	}
	ASSERT_EQ_U64(total, 65536);
	/* Read the same bytes through the raw device, as the writer kernel will
	 * (where this test may open it: root, a real block device). */
	if (device_node(dev, devpath, sizeof(devpath)) == 0 &&
	    khib_target_open_extents(devpath, ext, n, 0, &t) == 0) {
		fd = open(path, O_RDONLY | O_CLOEXEC);
		ASSERT_OK(khib_pread_all(fd, a, 65536, 0));
		close(fd);
		ASSERT_OK(khib_target_read(t, b, 65536, 0));
		ASSERT_MEMEQ(a, b, 65536);
		khib_target_free(t);
	}
	/* A file with a hole cannot be written without the file system. */
	fd = open(path, O_RDWR | O_TRUNC | O_CLOEXEC);
	ASSERT_OK(khib_pwrite_all(fd, a, 4096, 61440));
	ASSERT_TRUE(fsync(fd) == 0);
	close(fd);
	free(ext);
	ext = NULL;
	ASSERT_EQ(khib_target_fiemap(path, &ext, &n, &dev), -EINVAL);
}
