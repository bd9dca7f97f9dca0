/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * The target's verdicts (lib/system/preflight.h) that khib check shows and khib
 * hibernate refuses on: beneath disk encryption, the initramfs's target
 * map, room for the worst case, somebody else's data, and a target that
 * cannot be resolved at all.
 */
#include <fcntl.h>
#include <unistd.h>

#include "harness.h"
#include "preflight.h"
#include "test_check_fixture.h"
#include "util.h"

#define MIB (1ULL << 20)

/* A file's extents on partition 2 of a disk with an identity. */
static void file_on_disk(struct khib_preflight *pf, struct khib_extent *ext)
{
	*ext = (struct khib_extent){ .logical = 0, .physical = 64 * MIB, .length = 512 * MIB };
	*pf = (struct khib_preflight){ .capacity = 512 * MIB, .extmap = (uint8_t *)ext,
				       .extmap_bytes = sizeof(*ext) };
	pf->map = (struct khib_blockmap){ .bytes = 4096 * MIB, .part = 2, .ext = ext, .n = 1 };
	snprintf(pf->map.name, sizeof(pf->map.name), "vda2");
	snprintf(pf->map.id, sizeof(pf->map.id), "serial-KHIB0001");
	snprintf(pf->stack, sizeof(pf->stack), "a file on ext4 on vda2");
}

TEST(preflight_check_crypt)
{
	struct khib_preflight pf;
	struct khib_extent ext;
	struct khib_check_result r;

	file_on_disk(&pf, &ext);
	VERDICT(khib_preflight_check_crypt("/img", &pf, false, &r), r, KHIB_CHECK_OK,
		"not beneath disk encryption");
	pf.below_crypt = true;
	VERDICT(khib_preflight_check_crypt("/img", &pf, false, &r), r, KHIB_CHECK_FAIL,
		"target '/img' lies beneath disk encryption (a file on ext4 on vda2): khib writes "
		"memory there only in an encrypted image");
	ASSERT_STREQ(r.fix, "enroll a key first (khib key enroll)");
	VERDICT(khib_preflight_check_crypt("/img", &pf, true, &r), r, KHIB_CHECK_OK,
		"images are encrypted");
}

TEST(preflight_check_map)
{
	struct khib_preflight pf;
	struct khib_extent ext;
	struct khib_check_result r;
	char *now, map[512];

	file_on_disk(&pf, &ext);
	VERDICT(khib_preflight_check_map(check_root(), "/img", &pf, &r), r, KHIB_CHECK_SKIP,
		"hook is not installed");
	test_put_text(KHIB_INITRAMFS_HOOK, "#!/bin/sh\n");
	VERDICT(khib_preflight_check_map(check_root(), "/img", &pf, &r), r, KHIB_CHECK_FAIL,
		"target '/img': the initramfs does not know where it lies (no "
		"/var/lib/khib/initramfs.map)");
	ASSERT_STREQ(r.fix, "run update-initramfs -u first");
	ASSERT_OK(khib_targetmap_format(&pf.map, "/img", &now));
	test_put_text(KHIB_INITRAMFS_MAP, now);
	VERDICT(khib_preflight_check_map(check_root(), "/img", &pf, &r), r, KHIB_CHECK_OK,
		"finds it by its target map");
	/* The file moved since the hook ran. */
	ext.physical += 4096;
	VERDICT(khib_preflight_check_map(check_root(), "/img", &pf, &r), r, KHIB_CHECK_FAIL,
		"the initramfs looks for the image elsewhere");
	free(now);
	/* A partition needs no map: the initramfs opens it by name. */
	pf.extmap = NULL;
	pf.map.n = 0;
	pf.map.ext = NULL;
	snprintf(map, sizeof(map), "%s%s", check_root(), KHIB_INITRAMFS_MAP);
	ASSERT_EQ(unlink(map), 0);
	VERDICT(khib_preflight_check_map(check_root(), "/dev/vda2", &pf, &r), r, KHIB_CHECK_OK,
		"a partition or disk");
}

TEST(preflight_check_capacity)
{
	static struct khib_handoff h;
	struct khib_check_result r;
	uint64_t need = 0;

	memset(&h, 0, sizeof(h));
	h.nr_ranges = 2;
	h.ranges[0].start = 0x1000;
	h.ranges[0].bytes = 0x9f000;
	h.ranges[1].start = MIB;
	h.ranges[1].bytes = 1023 * MIB;
	h.region_start = 512 * MIB;
	h.region_bytes = 36 * MIB;
	h.low_start = 0x1000;
	h.low_bytes = 0x9f000;
	VERDICT(khib_preflight_check_capacity("/dev/vdb", &h, 64 * MIB, &need, &r), r,
		KHIB_CHECK_FAIL, "target '/dev/vdb' holds 64 MiB; the image may need ");
	/* Every page but the region's may be saved, incompressible, plus tables. */
	ASSERT_TRUE(need > (1023 - 36) * MIB && need < 1100 * MIB);
	VERDICT(khib_preflight_check_capacity("/dev/vdb", &h, need - 1, &need, &r), r,
		KHIB_CHECK_FAIL, "may need");
	VERDICT(khib_preflight_check_capacity("/dev/vdb", &h, need, &need, &r), r, KHIB_CHECK_OK,
		"MiB at most");
}

/* A scratch file of `bytes` zeros, with len bytes of sig at off. */
static const char *scratch(const char *name, size_t bytes, const void *sig, size_t len,
			   size_t off)
{
	static char path[512];
	int fd;

	snprintf(path, sizeof(path), "%s/%s", test_tmpdir(), name);
	fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
	ASSERT_TRUE(fd >= 0);
	ASSERT_EQ(ftruncate(fd, (off_t)bytes), 0);
	if (len)
		ASSERT_EQ(pwrite(fd, sig, len, (off_t)off), (ssize_t)len);
	close(fd);
	return path;
}

TEST(preflight_check_owned)
{
	/* A swap area's first page: version 1 and its last page at 1024, the
	 * magic at its end. */
	uint8_t page[4096] = { 0 };
	struct khib_check_result r;
	const char *p = scratch("blank", 8 * MIB, NULL, 0, 0);

	VERDICT(khib_preflight_check_owned(p, false, &r), r, KHIB_CHECK_OK, "holds nothing but");
	khib_put_le32(page + 1024, 1);
	khib_put_le32(page + 1028, 8 * MIB / 4096 - 1);
	memcpy(page + 4086, "SWAPSPACE2", 10);
	p = scratch("swap", 8 * MIB, page, sizeof(page), 0);
	VERDICT(khib_preflight_check_owned(p, false, &r), r, KHIB_CHECK_FAIL, "holds swap");
	ASSERT_TRUE(strstr(r.text, "not overwriting it (wipe it with wipefs, or give --force)"));
	VERDICT(khib_preflight_check_owned(p, true, &r), r, KHIB_CHECK_WARN,
		"overwriting it (--force)");
}

/* What the target cannot be at all is the verdict. */
TEST(preflight_check_unresolvable)
{
	static struct khib_handoff h;
	struct khib_preflight pf;
	struct khib_check_result r;
	char path[512];

	snprintf(path, sizeof(path), "%s/none", test_tmpdir());
	VERDICT(khib_preflight_check(check_root(), path, true, false, &h, &pf, &r), r,
		KHIB_CHECK_FAIL, "No such file or directory");
	ASSERT_TRUE(!strncmp(r.text, "target '", 8));
	/* A file khib could write beneath only once it is immutable (or not
	 * at all, on a file system it does not know). */
	VERDICT(khib_preflight_check(check_root(), scratch("img", 8 * MIB, NULL, 0, 0), true, false,
				     &h, &pf, &r), r, KHIB_CHECK_FAIL, "target '");
	VERDICT(khib_preflight_check(check_root(), "/dev/null", true, false, &h, &pf, &r), r,
		KHIB_CHECK_FAIL, "neither a block device nor a file");
}
