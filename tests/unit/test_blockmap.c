/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * Resolving a target down the storage stack, against a synthetic sysfs
 * tree and synthetic device-mapper tables: LVM on LUKS on an NVMe
 * partition resolves to the partition's sectors; every layer khib does
 * not write beneath is refused with a reason that names it.
 */
#include "blockmap.h"
#include "dmtable.h"
#include "harness.h"
#include "util.h"

#include <errno.h>
#include <fcntl.h>
#include <linux/fs.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/stat.h>
#include <sys/statfs.h>
#include <sys/sysmacros.h>
#include <unistd.h>

#define MIB (1ULL << 20)
#define GIB (1ULL << 30)

static void put_attr(const char *dir, const char *name, const char *value)
{
	char rel[512];

	snprintf(rel, sizeof(rel), "/sys/devices/%s/%s", dir, name);
	test_put_file(rel, value, strlen(value));
}

/* A block device: its directory under /sys/devices and the
 * /sys/dev/block/M:m link to it. */
static void put_dev(const char *dir, const char *devno, const char *sectors)
{
	char link[512], target[512];

	put_attr(dir, "dev", devno);
	put_attr(dir, "size", sectors);
	snprintf(link, sizeof(link), "%s/root/sys/dev", test_tmpdir());
	mkdir(link, 0755); /* test_put_file made /sys */
	strcat(link, "/block");
	mkdir(link, 0755);
	snprintf(link, sizeof(link), "%s/root/sys/dev/block/%s", test_tmpdir(), devno);
	snprintf(target, sizeof(target), "../../devices/%s", dir);
	unlink(link);
	if (symlink(target, link) < 0)
		test_fail(__FILE__, __LINE__, "symlink %s", link);
}

static void put_part(const char *dir, const char *devno, const char *start, const char *sectors)
{
	const char *num = strrchr(dir, 'p') + 1; /* nvme0n1p3 */

	if (!strncmp(strrchr(dir, '/'), "/sd", 3))
		num = dir + strlen(dir) - 1; /* sda1 */
	put_dev(dir, devno, sectors);
	put_attr(dir, "partition", num);
	put_attr(dir, "start", start);
}

static void put_dm(const char *n, const char *devno, const char *name, const char *sectors)
{
	char dir[64];

	snprintf(dir, sizeof(dir), "virtual/block/dm-%s", n);
	put_dev(dir, devno, sectors);
	put_attr(dir, "dm/name", name);
}

#define NVME "pci0000:00/0000:00:04.0/nvme/nvme0/nvme0n1"
#define SDA "pci0000:00/0000:00:1f.2/ata1/host0/target0:0:0/0:0:0:0/block/sda"
#define SDB "pci0000:00/0000:00:1f.2/ata2/host1/target1:0:0/1:0:0:0/block/sdb"
#define SDC "pci0000:00/0000:00:1f.2/ata3/host2/target2:0:0/2:0:0:0/block/sdc"
/* virtio-scsi LUNs as QEMU's scsi-hd makes them: no wwid attribute (page
 * 0x83 holds only a vendor-specific designator), the serial in page 0x80. */
#define SCSI "pci0000:00/0000:00:06.0/virtio4/host6/target6:0:0"
#define SDD SCSI "/6:0:0:0/block/sdd"
#define SDE SCSI "/6:0:0:1/block/sde"
#define SDF SCSI "/6:0:0:2/block/sdf"

/* A VPD page 0x80 holding `serial`, padded with spaces to `len` bytes. */
static void put_vpd80(const char *dir, const char *serial, size_t len)
{
	char page[64], rel[512];

	memset(page, ' ', sizeof(page));
	page[0] = 0;
	page[1] = (char)0x80;
	page[2] = 0;
	page[3] = (char)len;
	memcpy(page + 4, serial, strlen(serial));
	snprintf(rel, sizeof(rel), "/sys/devices/%s/device/vpd_pg80", dir);
	test_put_file(rel, page, 4 + len);
}

static const struct {
	const char *devno, *table;
} tables[] = {
	/* LUKS2 on nvme0n1p3, its data 16 MiB in; the key in the keyring. */
	{ "253:0", "0 38967232 crypt aes-xts-plain64 :64:logon:cryptsetup:abc 0 259:3 32768 "
		   "1 allow_discards\n" },
	/* An LV in two segments of that PV. */
	{ "253:1", "0 2097152 linear 253:0 2048\n2097152 1048576 linear 253:0 4196352\n" },
	{ "253:2", "0 2097152 thin 253:5 1\n" },
	{ "253:3", "0 2048 linear 253:0 2048\n2048 2048 linear 8:0 2048\n" },
	{ "253:4", "0 2048 linear 253:0\n" },
	{ "253:6", "" },
	{ "253:7", "0 204800 linear 7:0 0\n" },
	{ "253:8", "0 4096 striped 2 128 8:0 0 259:1 0\n" },
	/* Two segments that meet below: one extent. */
	{ "253:9", "0 2048 linear 259:3 4096\n2048 2048 linear 259:3 6144\n" },
	/* A hex key in the table, as without the keyring. */
	{ "253:10", "0 8192 crypt aes-xts-plain64 000102030405060708090a0b0c0d0e0f"
		    "101112131415161718191a1b1c1d1e1f 0 259:1 4096\n" },
	{ "253:11", "0 2048 linear 9:0 0\n" },
};

static int fake_table(void *ctx, unsigned major, unsigned minor, char **ret)
{
	char devno[32];

	(void)ctx;
	snprintf(devno, sizeof(devno), "%u:%u", major, minor);
	for (size_t i = 0; i < ARRAY_SIZE(tables); i++)
		if (!strcmp(tables[i].devno, devno))
			return (*ret = strdup(tables[i].table)) ? 0 : -ENOMEM;
	return -ENXIO;
}

static struct khib_blockenv env;
static char root[PATH_MAX];

static const struct khib_blockenv *stack(void)
{
	/* Built once per test: the harness empties the temporary directory
	 * between tests. */
	if (env.root && !strncmp(root, test_tmpdir(), strlen(test_tmpdir())) && !access(root, F_OK))
		return &env;
	put_dev(NVME, "259:0", "41943040");
	put_part(NVME "/nvme0n1p1", "259:1", "2048", "1048576");
	put_part(NVME "/nvme0n1p3", "259:3", "2101248", "39000000");
	put_attr(NVME, "wwid", "eui.00112233445566778899aabbccddeeff\n");
	put_dev(SDA, "8:0", "2097152");
	put_attr(SDA, "device/wwid", "t10.ATA     QEMU HARDDISK                           QM00001\n");
	/* A second SATA disk of the same size, and the first one seen again
	 * (multipath): same WWID. */
	put_dev(SDB, "8:16", "2097152");
	put_attr(SDB, "device/wwid", "t10.ATA     QEMU HARDDISK                           QM00002\n");
	put_dev(SDC, "8:32", "2097152");
	put_attr(SDC, "device/wwid", "t10.ATA     QEMU HARDDISK                           QM00001\n");
	put_dev("pci0000:00/0000:00:05.0/virtio3/block/vda", "254:0", "1048576");
	put_dev(SDD, "8:48", "32768");
	put_vpd80(SDD, "khib1", 5);
	put_dev(SDE, "8:64", "1572864");
	put_vpd80(SDE, "khib0", 12);
	put_part(SDE "/sde1", "8:65", "2048", "1048576");
	/* A page 0x80 of spaces, or not printable: no identity. */
	put_dev(SDF, "8:80", "32768");
	put_vpd80(SDF, "\x01\x02", 8);
	put_part(SDA "/sda1", "8:1", "63", "100000");
	put_dev("virtual/block/loop0", "7:0", "204800");
	put_attr("virtual/block/loop0", "loop/backing_file", "/srv/disk.img");
	put_part("virtual/block/loop0/loop0p1", "259:10", "2048", "100000");
	put_dev("virtual/block/md0", "9:0", "4194304");
	put_attr("virtual/block/md0", "md/level", "raid5");
	put_dev("virtual/block/zram0", "252:0", "1048576");
	put_dm("0", "253:0", "luks-abc", "38967232");
	put_dm("1", "253:1", "vg-root", "3145728");
	put_dm("2", "253:2", "vg-thin", "2097152");
	put_dm("3", "253:3", "vg-span", "4096");
	put_dm("4", "253:4", "vg-bad", "2048");
	put_dm("6", "253:6", "empty", "0");
	put_dm("7", "253:7", "onloop", "204800");
	put_dm("8", "253:8", "vg-striped", "4096");
	put_dm("9", "253:9", "vg-meet", "4096");
	put_dm("10", "253:10", "plain-crypt", "8192");
	put_dm("11", "253:11", "onmd", "2048");
	snprintf(root, sizeof(root), "%s/root", test_tmpdir());
	env = (struct khib_blockenv){ .root = root, .dm_table = fake_table };
	return &env;
}

#define ASSERT_EXT(m, i, l, p, len)                                   \
	do {                                                          \
		ASSERT_EQ_U64((m).ext[i].logical, (l));               \
		ASSERT_EQ_U64((m).ext[i].physical, (p));              \
		ASSERT_EQ_U64((m).ext[i].length, (len));              \
	} while (0)

TEST(blockmap_file_on_lvm_on_luks)
{
	/* A file's extents on the LV: one in segment 0, one across the
	 * segment boundary at 1 GiB. */
	const struct khib_extent ext[] = {
		{ 0, 0, MIB },
		{ MIB, GIB - MIB / 2, MIB },
	};
	struct khib_blockmap m;

	ASSERT_OK(khib_blockmap_resolve(stack(), 253, 1, ext, 2, &m, NULL));
	/* Down to the partition, not its disk: the writer kernel opens the
	 * partition. */
	ASSERT_STREQ(m.name, "nvme0n1p3");
	ASSERT_EQ_U64(m.dev, makedev(259, 3));
	ASSERT_EQ_U64(m.bytes, 39000000ULL * 512);
	ASSERT_TRUE(m.below_crypt);
	ASSERT_EQ(m.n, 3);
	/* + LV segment offset (1 MiB or 2049 MiB) + LUKS data offset 16 MiB */
	ASSERT_EXT(m, 0, 0, 17 * MIB, MIB);
	ASSERT_EXT(m, 1, MIB, 17 * MIB + GIB - MIB / 2, MIB / 2);
	ASSERT_EXT(m, 2, MIB + MIB / 2, (16 + 2049) * MIB, MIB / 2);
	ASSERT_STREQ(m.stack, "dm-1 (vg-root: linear) on dm-0 (luks-abc: crypt) on nvme0n1p3");
	khib_blockmap_release(&m);

	/* A file's extents need not come in device order. */
	const struct khib_extent back[] = { { 0, GIB + 4096, 4096 }, { 4096, 8192, 4096 } };
	ASSERT_OK(khib_blockmap_resolve(stack(), 253, 1, back, 2, &m, NULL));
	ASSERT_EQ(m.n, 2);
	ASSERT_EXT(m, 0, 0, (16 + 2049) * MIB + 4096, 4096);
	ASSERT_EXT(m, 1, 4096, 17 * MIB + 8192, 4096);
	khib_blockmap_release(&m);
}

TEST(blockmap_whole_lv)
{
	struct khib_blockmap m;

	ASSERT_OK(khib_blockmap_resolve(stack(), 253, 1, NULL, 0, &m, NULL));
	ASSERT_EQ(m.n, 2);
	ASSERT_EXT(m, 0, 0, 17 * MIB, GIB);
	ASSERT_EXT(m, 1, GIB, (16 + 2049) * MIB, GIB / 2);
	khib_blockmap_release(&m);

	/* Segments that meet below merge; a plain partition is the whole
	 * device, with no extents. */
	ASSERT_OK(khib_blockmap_resolve(stack(), 253, 9, NULL, 0, &m, NULL));
	ASSERT_EQ(m.n, 1);
	ASSERT_EXT(m, 0, 0, 2 * MIB, 2 * MIB);
	ASSERT_TRUE(!m.below_crypt);
	khib_blockmap_release(&m);
	ASSERT_OK(khib_blockmap_resolve(stack(), 259, 1, NULL, 0, &m, NULL));
	ASSERT_EQ(m.n, 0);
	ASSERT_TRUE(m.ext == NULL);
	ASSERT_STREQ(m.name, "nvme0n1p1");
	ASSERT_STREQ(m.stack, "nvme0n1p1");
	khib_blockmap_release(&m);
	ASSERT_OK(khib_blockmap_resolve(stack(), 259, 0, NULL, 0, &m, NULL));
	ASSERT_STREQ(m.name, "nvme0n1");
	ASSERT_EQ_U64(m.bytes, 20 * GIB);
	khib_blockmap_release(&m);
}

TEST(blockmap_crypt_key_in_table)
{
	struct khib_blockmap m;

	ASSERT_OK(khib_blockmap_resolve(stack(), 253, 10, NULL, 0, &m, NULL));
	ASSERT_STREQ(m.name, "nvme0n1p1");
	ASSERT_TRUE(m.below_crypt);
	ASSERT_EXT(m, 0, 0, 2 * MIB, 4 * MIB);
	khib_blockmap_release(&m);
}

/* Refused with `err`, and a reason holding `want`. */
static void refused(unsigned maj, unsigned min, const struct khib_extent *ext, size_t n, int err,
		    const char *want)
{
	char reason[KHIB_REASON_MAX] = "";
	struct khib_blockmap m;
	int r = khib_blockmap_resolve(stack(), maj, min, ext, n, &m, reason);

	if (r == 0)
		khib_blockmap_release(&m);
	if (r != err || !strstr(reason, want))
		test_fail(__FILE__, __LINE__, "%u:%u: %d \"%s\", wanted %d with \"%s\"", maj, min,
			  r, reason, err, want);
}

TEST(blockmap_refusals_name_the_layer)
{
	const struct khib_extent past_end = { 0, 1536 * MIB, MIB };

	refused(253, 2, NULL, 0, -EOPNOTSUPP, "dm-2 (vg-thin): device-mapper target 'thin'");
	refused(253, 8, NULL, 0, -EOPNOTSUPP, "target 'striped'");
	refused(253, 3, NULL, 0, -EXDEV, "dm-3 (vg-span): the target spans two devices");
	refused(253, 4, NULL, 0, -EBADMSG, "dm-4 (vg-bad): its device-mapper table: table line 1");
	refused(253, 6, NULL, 0, -ENODATA, "dm-6 (empty)");
	refused(253, 7, NULL, 0, -EOPNOTSUPP, "loop0: a loop device (over /srv/disk.img)");
	refused(253, 11, NULL, 0, -EOPNOTSUPP, "md0: md RAID (raid5)");
	refused(9, 0, NULL, 0, -EOPNOTSUPP, "md RAID (raid5)");
	refused(7, 0, NULL, 0, -EOPNOTSUPP, "loop device");
	/* A partition of a loop device is the loop's file too. */
	refused(259, 10, NULL, 0, -EOPNOTSUPP, "loop0: a loop device");
	refused(252, 0, NULL, 0, -EOPNOTSUPP, "zram0: a virtual block device");
	refused(253, 1, &past_end, 1, -ERANGE, "dm-1 (vg-root): the target reaches past its table");
	refused(8, 1, NULL, 0, 0, "");
	refused(1, 99, NULL, 0, -ENOENT, "device 1:99: not in /sys/dev/block");
}

TEST(blockmap_alignment_and_size)
{
	const struct khib_extent one = { 0, 0, 64 * 1024 };
	const struct khib_extent odd = { 0, 512, 64 * 1024 };
	const struct khib_extent beyond = { 0, 40 * GIB, 4096 };
	size_t n = KHIB_TARGET_MAX_EXTENTS + 1;
	struct khib_extent *many = calloc(n, sizeof(*many));

	ASSERT_TRUE(many != NULL);
	refused(8, 1, &one, 1, 0, "");
	refused(259, 0, &odd, 1, -EINVAL, "nvme0n1: the target's blocks are not 4 KiB aligned");
	refused(259, 0, &beyond, 1, -ERANGE, "nvme0n1: the target reaches past its end");
	/* Pieces with gaps between them do not merge. */
	for (size_t i = 0; i < n; i++)
		many[i] = (struct khib_extent){ i * 4096, i * 8192, 4096 };
	refused(259, 0, many, n, -E2BIG, "in 65537 pieces");
	struct khib_blockmap m;
	ASSERT_OK(khib_blockmap_resolve(stack(), 259, 0, many, n - 1, &m, NULL));
	ASSERT_EQ(m.n, n - 1);
	khib_blockmap_release(&m);
	free(many);
}

TEST(blockmap_sda1_at_sector_63)
{
	/* An old MBR partition starting at sector 63: a file system's 4 KiB
	 * blocks on it are not 4 KiB aligned on the disk, but the partition
	 * is where the way down stops, so its own offsets count. */
	const struct khib_extent ext = { 0, 4096, 4096 };
	struct khib_blockmap m;

	ASSERT_OK(khib_blockmap_resolve(stack(), 8, 1, &ext, 1, &m, NULL));
	ASSERT_STREQ(m.name, "sda1");
	khib_blockmap_release(&m);
}

/* A target is found again by its disk's identity, not by the name N
 * gave it. */
TEST(blockmap_identity)
{
	char name[KHIB_BLOCKMAP_NAME_LEN];
	struct khib_blockmap m;

	ASSERT_OK(khib_blockmap_resolve(stack(), 253, 1, NULL, 0, &m, NULL));
	ASSERT_STREQ(m.id, "eui.00112233445566778899aabbccddeeff");
	ASSERT_EQ(m.part, 3);
	khib_blockmap_release(&m);
	ASSERT_OK(khib_blockmap_resolve(stack(), 8, 16, NULL, 0, &m, NULL));
	ASSERT_STREQ(m.id, "t10.ATA     QEMU HARDDISK                           QM00002");
	ASSERT_EQ(m.part, 0);
	khib_blockmap_release(&m);
	/* virtio-blk without a serial: no identity, found by name. */
	ASSERT_OK(khib_blockmap_resolve(stack(), 254, 0, NULL, 0, &m, NULL));
	ASSERT_STREQ(m.id, "");
	khib_blockmap_release(&m);

	ASSERT_OK(khib_blockmap_find(stack(), "eui.00112233445566778899aabbccddeeff", 3,
				     39000000ULL * 512, name, sizeof(name)));
	ASSERT_STREQ(name, "nvme0n1p3");
	ASSERT_OK(khib_blockmap_find(stack(), "eui.00112233445566778899aabbccddeeff", 0,
				     20 * GIB, name, sizeof(name)));
	ASSERT_STREQ(name, "nvme0n1");
	ASSERT_OK(khib_blockmap_find(stack(), "t10.ATA     QEMU HARDDISK                      "
				     "     QM00002", 0, GIB, name, sizeof(name)));
	ASSERT_STREQ(name, "sdb");
	/* Another size, partition or disk: not it. */
	ASSERT_EQ(khib_blockmap_find(stack(), "eui.00112233445566778899aabbccddeeff", 3, GIB,
				     name, sizeof(name)), -ENODEV);
	ASSERT_EQ(khib_blockmap_find(stack(), "eui.00112233445566778899aabbccddeeff", 2,
				     39000000ULL * 512, name, sizeof(name)), -ENODEV);
	ASSERT_EQ(khib_blockmap_find(stack(), "eui.ff", 0, 20 * GIB, name, sizeof(name)),
		  -ENODEV);
	/* Seen twice: refused, never a guess. */
	ASSERT_EQ(khib_blockmap_find(stack(), "t10.ATA     QEMU HARDDISK                      "
				     "     QM00001", 0, GIB, name, sizeof(name)), -ENOTUNIQ);
}

/* The names of SCSI disks follow the order the asynchronous scan found
 * them in, which differs between N and the writer kernel: a disk with
 * no WWID is found by the unit serial of its VPD page 0x80. */
TEST(blockmap_identity_scsi_serial)
{
	char name[KHIB_BLOCKMAP_NAME_LEN];
	struct khib_blockmap m;

	ASSERT_OK(khib_blockmap_resolve(stack(), 8, 64, NULL, 0, &m, NULL));
	ASSERT_STREQ(m.id, "khib0");
	ASSERT_EQ(m.part, 0);
	ASSERT_EQ_U64(m.bytes, 768 * MIB);
	khib_blockmap_release(&m);
	ASSERT_OK(khib_blockmap_resolve(stack(), 8, 65, NULL, 0, &m, NULL));
	ASSERT_STREQ(m.id, "khib0");
	ASSERT_EQ(m.part, 1);
	khib_blockmap_release(&m);
	ASSERT_OK(khib_blockmap_resolve(stack(), 8, 80, NULL, 0, &m, NULL));
	ASSERT_STREQ(m.id, "");
	khib_blockmap_release(&m);
	/* N called the 768 MiB disk sdd; here it is sde, and sdd is the
	 * 16 MiB one: found by its serial, never by the name. */
	ASSERT_OK(khib_blockmap_find(stack(), "khib0", 0, 768 * MIB, name, sizeof(name)));
	ASSERT_STREQ(name, "sde");
	ASSERT_OK(khib_blockmap_find(stack(), "khib0", 1, 512 * MIB, name, sizeof(name)));
	ASSERT_STREQ(name, "sde1");
	ASSERT_OK(khib_blockmap_find(stack(), "khib1", 0, 16 * MIB, name, sizeof(name)));
	ASSERT_STREQ(name, "sdd");
	ASSERT_EQ(khib_blockmap_find(stack(), "khib0", 0, 16 * MIB, name, sizeof(name)), -ENODEV);
}

TEST(blockmap_fs_types)
{
	char reason[KHIB_REASON_MAX];

	ASSERT_OK(khib_blockmap_fs_supported(0xEF53, reason));
	ASSERT_OK(khib_blockmap_fs_supported(0x58465342, reason));
	ASSERT_EQ(khib_blockmap_fs_supported(0x9123683E, reason), -EOPNOTSUPP);
	ASSERT_TRUE(strstr(reason, "btrfs") != NULL);
	ASSERT_EQ(khib_blockmap_fs_supported(0x01021994, reason), -EOPNOTSUPP);
	ASSERT_EQ(khib_blockmap_fs_supported(0x4d44, reason), -EOPNOTSUPP);
	ASSERT_TRUE(strstr(reason, "type 0x4d44") != NULL);
}

TEST(blockmap_file_must_be_immutable)
{
	char path[PATH_MAX], reason[KHIB_REASON_MAX] = "";
	struct khib_blockmap m;
	struct statfs sfs;
	int fd, flags;

	snprintf(path, sizeof(path), "%s/target", test_tmpdir());
	fd = open(path, O_RDWR | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
	ASSERT_TRUE(fd >= 0);
	ASSERT_OK(fallocate(fd, 0, 0, 1 << 20));
	ASSERT_OK(fstatfs(fd, &sfs));
	if (khib_blockmap_fs_supported(sfs.f_type, NULL) < 0) {
		/* Where the test runs on another file system, that is what
		 * must be refused. */
		close(fd);
		ASSERT_EQ(khib_blockmap_file(&khib_blockenv_system, path, &m, reason), -EOPNOTSUPP);
		return;
	}
	ASSERT_EQ(khib_blockmap_file(&khib_blockenv_system, path, &m, reason), -EPERM);
	ASSERT_TRUE(strstr(reason, "chattr +i") != NULL);
	/* Immutable (root only): mapped down to a device of the system. */
	flags = FS_IMMUTABLE_FL;
	if (ioctl(fd, FS_IOC_SETFLAGS, &flags) == 0) {
		int r = khib_blockmap_file(&khib_blockenv_system, path, &m, reason);

		flags = 0;
		ioctl(fd, FS_IOC_SETFLAGS, &flags);
		if (r < 0)
			test_fail(__FILE__, __LINE__, "immutable file: %d %s", r, reason);
		ASSERT_TRUE(m.n >= 1);
		ASSERT_EQ_U64(m.ext[m.n - 1].logical + m.ext[m.n - 1].length, 1 << 20);
		ASSERT_TRUE(!strncmp(m.stack, "a file on ", 10));
		khib_blockmap_release(&m);
	}
	close(fd);
	unlink(path);
}

TEST(dmtable_parse)
{
	struct khib_dm_segment *s;
	size_t n;
	char reason[KHIB_REASON_MAX];

	ASSERT_OK(khib_dm_table_parse("0 100 linear 8:1 2048\n100 50 crypt aes-xts-plain64 "
				      "00ff 7 259:3 32768 2 allow_discards sector_size:4096\n"
				      "150 10 thin-pool 253:1 253:2 128 0\n", &s, &n, reason));
	ASSERT_EQ(n, 3);
	ASSERT_TRUE(s[0].follows && !s[0].crypt);
	ASSERT_EQ(s[0].major, 8);
	ASSERT_EQ(s[0].minor, 1);
	ASSERT_EQ_U64(s[0].offset, 2048);
	ASSERT_TRUE(s[1].follows && s[1].crypt);
	ASSERT_EQ(s[1].major, 259);
	ASSERT_EQ_U64(s[1].offset, 32768);
	ASSERT_EQ_U64(s[1].start, 100);
	ASSERT_TRUE(!s[2].follows);
	ASSERT_STREQ(s[2].type, "thin-pool");
	free(s);

	static const char *const bad[] = {
		"1 100 linear 8:1 0\n",			/* not from 0 */
		"0 100 linear 8:1 0\n200 5 linear 8:1 0\n",	/* a gap */
		"0 0 linear 8:1 0\n",			/* empty */
		"0 100 linear 8:1\n",			/* no offset */
		"0 100 linear 8:1 0 extra\n",
		"0 100 linear sda1 0\n",			/* not major:minor */
		"0 100 crypt aes 00 0 8:x 0\n",
		"0 100 linear 8:1 -5\n",
		"0 100 linear 8:1 18446744073709551615\n",
		"x 100 linear 8:1 0\n",
		"0 100 aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa 8:1 0\n",
	};
	for (size_t i = 0; i < ARRAY_SIZE(bad); i++)
		if (khib_dm_table_parse(bad[i], &s, &n, reason) != -EBADMSG)
			test_fail(__FILE__, __LINE__, "accepted \"%s\"", bad[i]);
	ASSERT_EQ(khib_dm_table_parse("\n  \n", &s, &n, reason), -ENODATA);
}
