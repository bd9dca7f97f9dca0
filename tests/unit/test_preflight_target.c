/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * What khib_preflight_target() refuses before anything is written, against
 * temporary files, directories and device nodes: what does not exist, what
 * is neither a block device nor a file, a block device that is mounted, a
 * file that is not immutable; what khib_preflight_map() makes of a target
 * map; and that khib_preflight_owned() takes an image of khib's in any
 * state as khib's and a partition table as somebody else's.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <unistd.h>

#include "harness.h"
#include "image.h"
#include "image_format.h"
#include "preflight.h"
#include "test_image_fixture.h"
#include "util.h"

#define MIB (1ULL << 20)

static const char *tmp_path(const char *name)
{
	static char path[512];

	snprintf(path, sizeof(path), "%s/%s", test_tmpdir(), name);
	return path;
}

/* A refusal: its error, its reason, and h and *ret left as they were. */
static void refused(const char *path, int err, const char *why)
{
	static struct khib_handoff h;
	struct khib_preflight pf;
	char reason[KHIB_REASON_MAX] = "";

	memset(&h, 0x5c, sizeof(h));
	memset(&pf, 0x5c, sizeof(pf));
	ASSERT_EQ(khib_preflight_target(path, &h, &pf, reason), err);
	if (!strstr(reason, why))
		test_fail(__FILE__, __LINE__, "'%s': reason '%s', want '%s'", path, reason, why);
	ASSERT_EQ(h.target_name[0], 0x5c);
	ASSERT_EQ(pf.capacity, 0x5c5c5c5c5c5c5c5cULL);
}

TEST(preflight_target_refusals)
{
	const char *p;
	struct stat st;
	int fd;

	refused(tmp_path("none"), -ENOENT, "No such file or directory");
	refused(test_tmpdir(), -ENOTBLK, "a directory, not a block device or a file");
	p = tmp_path("fifo");
	ASSERT_EQ(mkfifo(p, 0600), 0);
	refused(p, -ENOTBLK, "neither a block device nor a file");
	refused("/dev/null", -ENOTBLK, "neither a block device nor a file");
	/* A file the file system may still move: refused whatever the file
	 * system (not immutable, or not one khib writes beneath). */
	p = tmp_path("img");
	fd = open(p, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
	ASSERT_TRUE(fd >= 0);
	ASSERT_EQ(posix_fallocate(fd, 0, MIB), 0);
	close(fd);
	{
		static struct khib_handoff h;
		struct khib_preflight pf;
		char reason[KHIB_REASON_MAX] = "";
		int r = khib_preflight_target(p, &h, &pf, reason);

		if (r != -EPERM && r != -EOPNOTSUPP)
			test_fail(__FILE__, __LINE__, "a mutable file: %d '%s'", r, reason);
		if (r == -EPERM && !strstr(reason, "chattr +i"))
			test_fail(__FILE__, __LINE__, "a mutable file: '%s'", reason);
	}
	/* A block device that is mounted: a node with the device number of
	 * the file system the scratch directory lies on (root only). */
	if (geteuid() == 0) {
		ASSERT_EQ(stat(test_tmpdir(), &st), 0);
		p = tmp_path("mounted");
		if (mknod(p, S_IFBLK | 0600, st.st_dev) < 0)
			test_fail(__FILE__, __LINE__, "mknod %u:%u: %s", major(st.st_dev),
				  minor(st.st_dev), strerror(errno));
		refused(p, -EBUSY, "mounted");
	}
}

TEST(preflight_map_describes_the_target)
{
	static struct khib_handoff h;
	struct khib_extent ext[2] = {
		{ .logical = 0, .physical = 64 * MIB, .length = 100 * MIB },
		{ .logical = 100 * MIB, .physical = 512 * MIB, .length = 28 * MIB },
	};
	struct khib_blockmap m = { .dev = makedev(8, 2), .bytes = 4096 * MIB, .part = 2,
				   .ext = ext, .n = 2, .below_crypt = true };
	uint8_t want[2 * KHIB_EXTMAP_ENTRY_BYTES];
	struct khib_preflight pf;

	snprintf(m.name, sizeof(m.name), "sda2");
	snprintf(m.id, sizeof(m.id), "wwn-0x5000c500a1b2c3d4");
	snprintf(m.stack, sizeof(m.stack), "a file on ext4 on dm-0 (crypt) on sda2");
	memset(&h, 0x5c, sizeof(h));
	ASSERT_OK(khib_preflight_map(&m, &h, &pf, NULL));
	ASSERT_STREQ(h.target_name, "sda2");
	ASSERT_EQ_U64(h.target_dev, makedev(8, 2));
	ASSERT_EQ_U64(h.target_bytes, 4096 * MIB);
	ASSERT_STREQ(h.target_id, "wwn-0x5000c500a1b2c3d4");
	ASSERT_EQ(h.target_part, 2);
	ASSERT_EQ(h.nr_extents, 2);
	/* A file holds its extents, not its device. */
	ASSERT_EQ_U64(pf.capacity, 128 * MIB);
	ASSERT_TRUE(pf.below_crypt);
	ASSERT_STREQ(pf.stack, "a file on ext4 on dm-0 (crypt) on sda2");
	ASSERT_EQ(pf.extmap_bytes, sizeof(want));
	ASSERT_EQ_U64(h.extents_hash, khib_extmap_encode(ext, 2, want));
	ASSERT_TRUE(h.extents_hash != 0);
	ASSERT_MEMEQ(pf.extmap, want, sizeof(want));
	khib_preflight_release(&pf);
	ASSERT_TRUE(pf.extmap == NULL);
	khib_preflight_release(&pf);	/* twice, and NULL: no-ops */
	khib_preflight_release(NULL);

	/* A partition: all of it, no extent map, no hash left over from h. */
	m.ext = NULL;
	m.n = 0;
	m.below_crypt = false;
	ASSERT_OK(khib_preflight_map(&m, &h, &pf, NULL));
	ASSERT_EQ_U64(pf.capacity, 4096 * MIB);
	ASSERT_EQ(h.nr_extents, 0);
	ASSERT_EQ_U64(h.extents_hash, 0);
	ASSERT_TRUE(pf.extmap == NULL && pf.extmap_bytes == 0);
	ASSERT_TRUE(!pf.below_crypt);
	khib_preflight_release(&pf);
}

static const char *put(const char *name, const void *buf, size_t len, size_t bytes)
{
	const char *p = tmp_path(name);
	int fd = open(p, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);

	ASSERT_TRUE(fd >= 0);
	ASSERT_EQ(ftruncate(fd, (off_t)bytes), 0);
	ASSERT_EQ(pwrite(fd, buf, len, 0), (ssize_t)len);
	close(fd);
	return p;
}

TEST(preflight_owned_image_and_partition_table)
{
	struct khib_writer_params params;
	char what[KHIB_REASON_MAX] = "";
	struct fx_machine m;
	struct fx_disk d;
	struct khib_target *t;
	uint8_t mbr[512] = { 0 };

	/* An image of khib's, committed and then invalidated: still khib's,
	 * though its data happen to hold an ISO 9660 volume descriptor where
	 * libblkid looks for one (32 KiB in: a chunk's payload). */
	fx_machine_small(&m, 3);
	fx_params(&m, &params, KHIB_CODEC_LZ4, 16, 1);
	ASSERT_OK(fx_disk_target(&d, 4 << 20, &t));
	ASSERT_OK(fx_write(&m, t, &params));
	ASSERT_TRUE(d.size > 0x8807);
	memcpy(d.buf + 0x8000, "\001CD001\001", 7);
	memcpy(d.buf + 0x8800, "\377CD001\001", 7);
	ASSERT_EQ(khib_preflight_owned(put("image", d.buf, d.size, 8 * MIB), what),
		  0);
	ASSERT_OK(khib_image_invalidate(t));
	ASSERT_EQ(khib_preflight_owned(put("image", d.buf, d.size, 8 * MIB), what),
		  0);
	ASSERT_STREQ(what, "");
	/* The same bytes without khib's first two blocks: somebody's ISO. */
	memset(d.buf, 0, KHIB_PROBE_BYTES);
	ASSERT_EQ(khib_preflight_owned(put("iso", d.buf, d.size, 8 * MIB), what),
		  -EEXIST);
	ASSERT_STREQ(what, "iso9660 (filesystem)");
	khib_target_free(t);
	free(d.buf);
	fx_machine_release(&m);

	/* An MBR with one Linux partition at sector 2048. */
	mbr[446 + 4] = 0x83;
	khib_put_le32(mbr + 446 + 8, 2048);
	khib_put_le32(mbr + 446 + 12, 8192);
	mbr[510] = 0x55;
	mbr[511] = 0xaa;
	ASSERT_EQ(khib_preflight_owned(put("mbr", mbr, sizeof(mbr), 8 * MIB), what),
		  -EEXIST);
	ASSERT_STREQ(what, "a dos partition table");
	ASSERT_EQ(khib_preflight_owned(tmp_path("nothing"), what), -ENOENT);
}
