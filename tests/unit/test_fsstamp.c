/* SPDX-License-Identifier: GPL-2.0-only */
/* File system stamps: the ext superblock fields, what counts as a change,
 * the 96-byte encoding, mountinfo lines, and recording and checking them on
 * a fake tree (lib/format/fsstamp.c, lib/system/fscheck.c). */
#include "fscheck.h"
#include "fsstamp.h"
#include "harness.h"
#include "util.h"

#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <unistd.h>

#define SB 1024

/* The first 4 KiB of an ext4 device with a superblock worth checking. */
static void ext_super(uint8_t *dev, uint16_t mnt_count, uint32_t mtime)
{
	memset(dev, 0, KHIB_FSSTAMP_READ_BYTES);
	khib_put_le16(dev + SB + 0x38, 0xEF53);
	khib_put_le32(dev + SB + 0x4C, 1);		/* dynamic revision */
	khib_put_le16(dev + SB + 0x34, mnt_count);
	khib_put_le32(dev + SB + 0x2C, mtime);
	dev[SB + 0x275] = 1;				/* mtime bits 32..39 */
	khib_put_le32(dev + SB + 0x30, 0x65000100);	/* wtime */
	khib_put_le32(dev + SB + 0x40, 0x64000000);	/* last check */
	khib_put_le16(dev + SB + 0x3A, 1);		/* state: clean */
	khib_put_le32(dev + SB + 0x60, 0x2c6);		/* incompat, with needs_recovery */
	for (int i = 0; i < 16; i++)
		dev[SB + 0x68 + i] = (uint8_t)(0xc0 + i);
}

TEST(fsstamp_reads_ext_superblock)
{
	uint8_t dev[KHIB_FSSTAMP_READ_BYTES];
	struct khib_fsstamp st = { 0 };
	char uuid[37];

	ext_super(dev, 7, 0x65000000);
	ASSERT_OK(khib_fsstamp_from_ext(dev, sizeof(dev), &st));
	ASSERT_EQ(st.kind, KHIB_FS_EXT);
	ASSERT_EQ(st.mnt_count, 7);
	ASSERT_EQ_U64(st.mtime, 0x165000000ULL);
	ASSERT_EQ_U64(st.wtime, 0x65000100);
	ASSERT_EQ_U64(st.lastcheck, 0x64000000);
	ASSERT_EQ(st.state, 1);
	ASSERT_EQ(st.incompat, 0x2c6);
	khib_fsstamp_uuid_str(st.uuid, uuid);
	ASSERT_STREQ(uuid, "c0c1c2c3-c4c5-c6c7-c8c9-cacbcccdcecf");

	/* No magic, or too few bytes: no ext file system. */
	ASSERT_EQ(khib_fsstamp_from_ext(dev, 2047, &st), -ENODATA);
	dev[SB + 0x38] = 0;
	ASSERT_EQ(khib_fsstamp_from_ext(dev, sizeof(dev), &st), -ENODATA);
}

TEST(fsstamp_what_counts_as_used)
{
	uint8_t dev[KHIB_FSSTAMP_READ_BYTES];
	struct khib_fsstamp then, now;
	char what[96];

	ext_super(dev, 7, 0x65000000);
	ASSERT_OK(khib_fsstamp_from_ext(dev, sizeof(dev), &then));
	now = then;
	ASSERT_TRUE(!khib_fsstamp_changed(&then, &now, what, sizeof(what)));
	/* Fields a mount does not touch may differ (free counts, orphans). */
	now.incompat |= 0x80;
	ASSERT_TRUE(!khib_fsstamp_changed(&then, &now, what, sizeof(what)));

	now = then;
	now.mnt_count++;
	ASSERT_TRUE(khib_fsstamp_changed(&then, &now, what, sizeof(what)));
	ASSERT_STREQ(what, "mounted since (mount count 7, now 8)");
	now = then;
	now.mtime++;
	ASSERT_TRUE(khib_fsstamp_changed(&then, &now, what, sizeof(what)));
	now = then;
	now.lastcheck++;
	now.mnt_count = 0;				/* e2fsck -f resets it */
	ASSERT_TRUE(khib_fsstamp_changed(&then, &now, what, sizeof(what)));
	ASSERT_STREQ(what, "checked since (fsck)");
	now = then;
	now.state = 3;
	ASSERT_TRUE(khib_fsstamp_changed(&then, &now, what, sizeof(what)));
	ASSERT_STREQ(what, "repaired since (its state changed)");
	now = then;
	now.incompat &= ~0x4u;
	ASSERT_TRUE(khib_fsstamp_changed(&then, &now, what, sizeof(what)));
	ASSERT_STREQ(what, "its journal was replayed since");
	now = then;
	now.wtime++;
	ASSERT_TRUE(khib_fsstamp_changed(&then, &now, what, sizeof(what)));
	ASSERT_STREQ(what, "its superblock was written since");
}

TEST(fsstamp_encoding_roundtrip_and_refusals)
{
	uint8_t dev[KHIB_FSSTAMP_READ_BYTES], buf[KHIB_FSSTAMP_BYTES];
	struct khib_fsstamp st = { 0 }, out;

	ext_super(dev, 3, 0x65000000);
	ASSERT_OK(khib_fsstamp_from_ext(dev, sizeof(dev), &st));
	st.dev = makedev(254, 16);
	/* A mount point longer than the field is cut, and stays terminated. */
	memset(st.where, 'w', sizeof(st.where));
	st.where[0] = '/';
	st.where[sizeof(st.where) - 1] = 0;
	khib_fsstamp_encode(&st, buf);
	ASSERT_EQ(khib_get_le32(buf), KHIB_FS_EXT);
	ASSERT_EQ(khib_get_le16(buf + 4), 3);
	ASSERT_EQ(buf[KHIB_FSSTAMP_BYTES - 1], 0);
	memset(&out, 0x55, sizeof(out));
	ASSERT_OK(khib_fsstamp_decode(buf, &out));
	ASSERT_MEMEQ(&out, &st, sizeof(st));

	buf[0] = 2;					/* unknown kind */
	ASSERT_EQ(khib_fsstamp_decode(buf, &out), -EBADMSG);
	khib_fsstamp_encode(&st, buf);
	buf[0x0C] = 1;					/* reserved */
	ASSERT_EQ(khib_fsstamp_decode(buf, &out), -EBADMSG);
	khib_fsstamp_encode(&st, buf);
	memset(buf + 0x40, 'x', KHIB_FSSTAMP_WHERE);	/* unterminated */
	ASSERT_EQ(khib_fsstamp_decode(buf, &out), -EBADMSG);
}

TEST(fsstamp_mountinfo_lines)
{
	char a[] = "36 25 254:16 / /mnt/data rw,relatime shared:1 master:2 - ext4 /dev/vdb rw";
	char b[] = "22 1 0:21 / /proc rw,nosuid - proc proc rw";
	char c[] = "22 1 0:21 / /proc rw,nosuid proc proc rw";
	char d[] = "22 1 x:21 / /p rw - proc proc rw";
	struct khib_mountinfo_entry m;

	ASSERT_OK(khib_mountinfo_parse_line(a, &m));
	ASSERT_EQ_U64(m.dev, makedev(254, 16));
	ASSERT_STREQ(m.where, "/mnt/data");
	ASSERT_STREQ(m.fstype, "ext4");
	ASSERT_STREQ(m.source, "/dev/vdb");
	ASSERT_OK(khib_mountinfo_parse_line(b, &m));
	ASSERT_EQ_U64(m.dev, makedev(0, 21));
	ASSERT_EQ(khib_mountinfo_parse_line(c, &m), -EINVAL);	/* no "-" */
	ASSERT_EQ(khib_mountinfo_parse_line(d, &m), -EINVAL);
}

/* A machine with an ext4 data disk at /mnt/data, an EFI partition and the
 * usual virtual file systems. */
static const char *fake_machine(uint8_t *vdb)
{
	static char root[300];

	snprintf(root, sizeof(root), "%s/root", test_tmpdir());
	test_put_text("/proc/self/mountinfo",
		 "21 1 0:20 / /sys rw - sysfs sys rw\n"
		 "25 1 254:1 / / rw,relatime - ext4 /dev/vda1 rw\n"
		 "36 25 254:16 / /mnt/data rw,relatime shared:1 - ext4 /dev/vdb rw\n"
		 "37 25 254:16 /sub /srv rw,relatime - ext4 /dev/vdb rw\n"
		 "38 25 254:2 / /boot/efi rw - vfat /dev/vda2 rw\n"
		 "39 25 0:30 / /tmp rw - tmpfs tmp rw\n");
	test_put_text("/sys/dev/block/254:1/uevent", "MAJOR=254\nMINOR=1\nDEVNAME=vda1\nDEVTYPE=partition\n");
	test_put_text("/sys/dev/block/254:16/uevent", "MAJOR=254\nMINOR=16\nDEVNAME=vdb\n");
	ext_super(vdb, 4, 0x65000000);
	test_put_file("/dev/vdb", vdb, KHIB_FSSTAMP_READ_BYTES);
	ext_super(vdb, 9, 0x66000000);
	vdb[SB + 0x68] = 0x11;				/* another UUID */
	test_put_file("/dev/vda1", vdb, KHIB_FSSTAMP_READ_BYTES);
	test_put_text("/proc/partitions", "major minor  #blocks  name\n\n"
		 " 254        0    1048576 vda\n 254        1     524288 vda1\n"
		 " 254       16      16384 vdb\n");
	test_put_file("/dev/vda", "", 0);			/* too short: skipped */
	return root;
}

TEST(fscheck_records_and_checks)
{
	uint8_t vdb[KHIB_FSSTAMP_READ_BYTES];
	struct khib_fsstamp st[4];
	char unchecked[64], missing[64], reason[KHIB_REASON_MAX] = "";
	const char *root = fake_machine(vdb);
	size_t n;

	ASSERT_OK(khib_fs_record(root, st, 4, &n, unchecked, sizeof(unchecked), reason));
	/* The root and the data disk, once each however often it is mounted. */
	ASSERT_EQ(n, 2);
	ASSERT_STREQ(st[0].where, "/");
	ASSERT_EQ(st[0].mnt_count, 9);
	ASSERT_STREQ(st[1].where, "/mnt/data");
	ASSERT_EQ(st[1].mnt_count, 4);
	ASSERT_EQ_U64(st[1].dev, makedev(254, 16));
	ASSERT_STREQ(unchecked, "/boot/efi");
	ASSERT_EQ(khib_fs_record(root, st, 1, &n, unchecked, sizeof(unchecked), reason), -E2BIG);

	/* Nothing changed: the check passes. */
	ASSERT_OK(khib_fs_record(root, st, 4, &n, unchecked, sizeof(unchecked), reason));
	ASSERT_OK(khib_fs_check(root, st, n, missing, sizeof(missing), reason));
	ASSERT_STREQ(missing, "");

	/* A rescue boot mounted the data disk. */
	ext_super(vdb, 5, 0x65000000);
	test_put_file("/dev/vdb", vdb, sizeof(vdb));
	ASSERT_EQ(khib_fs_check(root, st, n, missing, sizeof(missing), reason), -ESTALE);
	ASSERT_STREQ(reason, "the ext file system mounted at '/mnt/data' (UUID "
		     "c0c1c2c3-c4c5-c6c7-c8c9-cacbcccdcecf, now on '/dev/vdb') was mounted since "
		     "(mount count 4, now 5): resuming would corrupt it");

	/* The data disk is not there at all: named, not refused. */
	test_put_text("/proc/partitions", "major minor  #blocks  name\n\n 254        1     524288 vda1\n");
	ASSERT_OK(khib_fs_check(root, st, n, missing, sizeof(missing), reason));
	ASSERT_STREQ(missing, "/mnt/data");
}

TEST(fscheck_unreadable_device_refuses_recording)
{
	uint8_t vdb[KHIB_FSSTAMP_READ_BYTES];
	struct khib_fsstamp st[4];
	char unchecked[64], reason[KHIB_REASON_MAX] = "";
	const char *root = fake_machine(vdb);
	size_t n;
	char path[400];

	snprintf(path, sizeof(path), "%s/dev/vdb", root);
	ASSERT_OK(unlink(path));
	ASSERT_EQ(khib_fs_record(root, st, 4, &n, unchecked, sizeof(unchecked), reason), -ENOENT);
	ASSERT_TRUE(strstr(reason, "reading the superblock of '/mnt/data'") != NULL);
}
