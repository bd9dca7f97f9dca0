/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * Reading initramfs images as the kernel unpacks them: plain, gzip'ed and
 * zstd'ed cpio archives one after the other, later members winning, and
 * the images it must refuse.
 */
#include <sys/stat.h>

#include "harness.h"
#include "initrd.h"
#include "initrd_file.h"
#include "test_initrd_fixture.h"
#include "util.h"

#define REG (S_IFREG | 0755)

static const char khib_bytes[] = "\x7f" "ELF pretend khib binary";

/* What initramfs-tools makes: an early uncompressed archive (microcode),
 * then the main one, compressed by `compress`. */
static void debian_like(struct fixture_buf *img,
			void (*compress)(struct fixture_buf *, const struct fixture_buf *))
{
	struct fixture_buf early = { 0 }, main_ = { 0 };
	static const uint8_t zeros[512];

	fixture_cpio_add(&early, "kernel", S_IFDIR | 0755, "", 0);
	fixture_cpio_add(&early, "kernel/x86/microcode/GenuineIntel.bin", REG, "ucode", 5);
	fixture_cpio_trailer(&early);
	fixture_put(img, early.p, early.len);
	fixture_put(img, zeros, sizeof(zeros));
	fixture_cpio_add(&main_, ".", S_IFDIR | 0755, "", 0);
	fixture_cpio_add(&main_, "./usr/sbin/khib", REG, khib_bytes, sizeof(khib_bytes));
	fixture_cpio_add(&main_, "./scripts/init-premount/khib", REG, "#!/bin/sh\n", 10);
	fixture_cpio_add(&main_, "./etc/khib.conf", S_IFREG | 0644, "target = /dev/vdb\n", 18);
	fixture_cpio_trailer(&main_);
	compress(img, &main_);
	fixture_buf_free(&early);
	fixture_buf_free(&main_);
}

static void plain(struct fixture_buf *out, const struct fixture_buf *b)
{
	fixture_put(out, b->p, b->len);
}

static void check_debian_members(void (*compress)(struct fixture_buf *,
						  const struct fixture_buf *))
{
	struct fixture_buf img = { 0 };
	struct khib_initrd_member m[] = {
		{ .name = "usr/sbin/khib", .max_bytes = 1 << 20 },
		{ .name = "/scripts/init-premount/khib" },	/* presence only */
		{ .name = "kernel/x86/microcode/GenuineIntel.bin", .max_bytes = 64 },
		{ .name = "usr/sbin/other", .max_bytes = 64 },
	};
	char reason[KHIB_REASON_MAX] = "";

	debian_like(&img, compress);
	ASSERT_OK(khib_initrd_scan(img.p, img.len, m, ARRAY_SIZE(m), reason));
	ASSERT_TRUE(m[0].found);
	ASSERT_EQ(m[0].mode, REG);
	ASSERT_EQ(m[0].bytes, sizeof(khib_bytes));
	ASSERT_TRUE(m[0].data != NULL);
	ASSERT_MEMEQ(m[0].data, khib_bytes, sizeof(khib_bytes));
	ASSERT_TRUE(m[1].found);
	ASSERT_EQ(m[1].bytes, 10);
	ASSERT_TRUE(m[1].data == NULL);
	ASSERT_TRUE(m[2].found);
	ASSERT_MEMEQ(m[2].data, "ucode", 5);
	ASSERT_TRUE(!m[3].found);
	khib_initrd_release(m, ARRAY_SIZE(m));
	ASSERT_TRUE(m[0].data == NULL && !m[0].found);
	fixture_buf_free(&img);
}

TEST(initrd_plain_gzip_zstd)
{
	check_debian_members(plain);
	check_debian_members(fixture_gzip);
	check_debian_members(fixture_zstd);
}

/* The kernel unpacks archive after archive: a later member replaces an
 * earlier one of its name, in the same archive or a later one. */
TEST(initrd_later_member_wins)
{
	struct fixture_buf a = { 0 }, b = { 0 }, img = { 0 };
	struct khib_initrd_member m[] = { { .name = "init", .max_bytes = 64 } };

	fixture_cpio_add(&a, "init", REG, "first", 5);
	fixture_cpio_add(&a, "init", REG, "second!", 7);
	fixture_cpio_trailer(&a);
	fixture_put(&img, a.p, a.len);
	ASSERT_OK(khib_initrd_scan(img.p, img.len, m, 1, NULL));
	ASSERT_EQ(m[0].bytes, 7);
	ASSERT_MEMEQ(m[0].data, "second!", 7);
	fixture_cpio_add(&b, "./init", REG, "third", 5);
	fixture_cpio_trailer(&b);
	fixture_gzip(&img, &b);
	ASSERT_OK(khib_initrd_scan(img.p, img.len, m, 1, NULL));
	ASSERT_EQ(m[0].bytes, 5);
	ASSERT_MEMEQ(m[0].data, "third", 5);
	khib_initrd_release(m, 1);
	fixture_buf_free(&a);
	fixture_buf_free(&b);
	fixture_buf_free(&img);
}

/* Bigger than the caller keeps: found and sized, no data. */
TEST(initrd_member_too_big_to_keep)
{
	struct fixture_buf img = { 0 };
	struct khib_initrd_member m[] = { { .name = "usr/sbin/khib", .max_bytes = 8 } };

	debian_like(&img, fixture_zstd);
	ASSERT_OK(khib_initrd_scan(img.p, img.len, m, 1, NULL));
	ASSERT_TRUE(m[0].found);
	ASSERT_EQ(m[0].bytes, sizeof(khib_bytes));
	ASSERT_TRUE(m[0].data == NULL);
	fixture_buf_free(&img);
}

static void refused(const struct fixture_buf *img, int err, const char *words)
{
	struct khib_initrd_member m[] = { { .name = "init", .max_bytes = 64 } };
	char reason[KHIB_REASON_MAX] = "";

	ASSERT_EQ(khib_initrd_scan(img->p, img->len, m, 1, reason), err);
	if (!strstr(reason, words))
		test_fail(__FILE__, __LINE__, "reason '%s' lacks '%s'", reason, words);
	ASSERT_TRUE(!m[0].found && !m[0].data);
}

TEST(initrd_refusals)
{
	struct fixture_buf a = { 0 }, img = { 0 }, cut = { 0 };

	fixture_cpio_add(&a, "init", REG, "content", 7);
	fixture_cpio_trailer(&a);

	refused(&img, -EBADMSG, "empty");
	fixture_put(&img, "\xfd" "7zXZ\0rest", 10);
	refused(&img, -EOPNOTSUPP, "xz");
	fixture_buf_free(&img);
	/* Something else after a good archive. */
	fixture_put(&img, a.p, a.len);
	fixture_put(&img, "junk", 4);
	refused(&img, -EBADMSG, "neither a cpio archive nor a compressed one at byte");
	fixture_buf_free(&img);
	/* An archive cut short, plain and inside gzip. */
	fixture_put(&img, a.p, 150);
	refused(&img, -EBADMSG, "ends inside");
	fixture_buf_free(&img);
	fixture_gzip(&img, &a);
	fixture_put(&cut, img.p, img.len - 6);
	refused(&cut, -EBADMSG, "gzip");
	fixture_buf_free(&img);
	/* A header whose fields are not hex. */
	fixture_put(&img, a.p, a.len);
	img.p[20] = 'x';
	refused(&img, -EBADMSG, "hex");
	fixture_buf_free(&img);
	/* Junk inside a compressed part. */
	fixture_buf_free(&cut);
	fixture_put(&cut, a.p, a.len);
	fixture_put(&cut, "junk", 4);
	fixture_zstd(&img, &cut);
	refused(&img, -EBADMSG, "junk inside");
	fixture_buf_free(&img);
	fixture_buf_free(&cut);
	fixture_buf_free(&a);
}

TEST(initrd_scan_file)
{
	struct fixture_buf img = { 0 };
	struct khib_initrd_member m[] = { { .name = "etc/khib.conf", .max_bytes = 4096 } };
	char path[512], reason[KHIB_REASON_MAX] = "";

	debian_like(&img, fixture_gzip);
	test_put_file("/boot/initrd.img", img.p, img.len);
	snprintf(path, sizeof(path), "%s/root/boot/initrd.img", test_tmpdir());
	ASSERT_OK(khib_initrd_scan_file(path, m, 1, reason));
	ASSERT_TRUE(m[0].found);
	ASSERT_MEMEQ(m[0].data, "target = /dev/vdb\n", 18);
	khib_initrd_release(m, 1);
	snprintf(path, sizeof(path), "%s/root/boot/none", test_tmpdir());
	ASSERT_EQ(khib_initrd_scan_file(path, m, 1, reason), -ENOENT);
	fixture_buf_free(&img);
}
