/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * khib check's verdicts about initramfs images (lib/system/check.h): whether the
 * khib in one is this khib, another build of it or another khib; the
 * writer kernel's initramfs; and the initramfs this machine boots with,
 * which must carry khib, its script and the configured target.
 */
#include <sys/stat.h>

#include "check.h"
#include "harness.h"
#include "test_check_fixture.h"
#include "test_initrd_fixture.h"
#include "util.h"

#define STAMP "khib-build: 9.9.9, handoff 3, image format 2"
#define REG (S_IFREG | 0755)

/* This khib, another build of it, another khib, and no khib. */
static const char self_bytes[] = "\x7f" "ELF this build\0khib-build: \0" STAMP "\0tail";
static const char sibling_bytes[] = "\x7f" "ELF other build\0" STAMP "\0tail";
static const char other_bytes[] = "\x7f" "ELF\0khib-build: 0.0.1, handoff 2, image format 1\0";
static const char script_bytes[] = "#!/bin/sh\nexec /bin/khib init\n";

/* The path of "this khib" in the fake tree. */
static const char *self(void)
{
	static char path[512];

	test_put_file("/proc/self/exe", self_bytes, sizeof(self_bytes));
	snprintf(path, sizeof(path), "%s/root/proc/self/exe", test_tmpdir());
	return path;
}

static struct khib_initrd_member member_of(const char *bytes, size_t len)
{
	return (struct khib_initrd_member){ .found = true, .bytes = len,
					    .data = (uint8_t *)bytes };
}

TEST(check_build_match)
{
	struct khib_initrd_member m;
	char what[256] = "";

	m = member_of(self_bytes, sizeof(self_bytes));
	ASSERT_EQ(khib_check_build_match(&m, self(), STAMP, what, sizeof(what)), KHIB_BUILD_SAME);
	/* The prefix alone (the needle in this binary's code) is no stamp. */
	m = member_of(sibling_bytes, sizeof(sibling_bytes));
	ASSERT_EQ(khib_check_build_match(&m, self(), STAMP, what, sizeof(what)),
		  KHIB_BUILD_SIBLING);
	ASSERT_STREQ(what, STAMP);
	m = member_of(other_bytes, sizeof(other_bytes));
	ASSERT_EQ(khib_check_build_match(&m, self(), STAMP, what, sizeof(what)), KHIB_BUILD_OTHER);
	ASSERT_STREQ(what, "khib-build: 0.0.1, handoff 2, image format 1");
	m = member_of(script_bytes, sizeof(script_bytes));
	ASSERT_EQ(khib_check_build_match(&m, self(), STAMP, what, sizeof(what)), KHIB_BUILD_NONE);
	/* A stamp cut off by the end of the file is none. */
	m = member_of(other_bytes, sizeof(other_bytes) - 2);
	ASSERT_EQ(khib_check_build_match(&m, self(), STAMP, what, sizeof(what)), KHIB_BUILD_NONE);
	m = member_of(self_bytes, sizeof(self_bytes));
	ASSERT_EQ(khib_check_build_match(&m, "/nonexistent/khib", STAMP, what, sizeof(what)),
		  -ENOENT);
}

/* An initramfs as initramfs.py makes the writer's: gzip'ed, /init. */
static void writer_initrd(struct fixture_buf *img, const char *init, size_t len)
{
	struct fixture_buf a = { 0 };

	fixture_cpio_add(&a, "dev", S_IFDIR | 0755, "", 0);
	if (init)
		fixture_cpio_add(&a, "init", REG, init, len);
	fixture_cpio_trailer(&a);
	fixture_gzip(img, &a);
	fixture_buf_free(&a);
}

static void writer_verdict(const char *init, size_t len, int want, const char *words)
{
	struct fixture_buf img = { 0 };
	struct khib_check_result r;

	writer_initrd(&img, init, len);
	VERDICT(khib_check_writer_initrd(img.p, img.len, "/usr/lib/khib/initrd.img", self(), STAMP,
					 &r), r, want, words);
	fixture_buf_free(&img);
}

TEST(check_writer_initrd)
{
	struct khib_check_result r;

	writer_verdict(self_bytes, sizeof(self_bytes), KHIB_CHECK_OK,
		       "the writer initramfs '/usr/lib/khib/initrd.img' runs this khib");
	writer_verdict(sibling_bytes, sizeof(sibling_bytes), KHIB_CHECK_WARN,
		       "runs another build of this khib (" STAMP ")");
	writer_verdict(other_bytes, sizeof(other_bytes), KHIB_CHECK_FAIL,
		       "runs another khib (khib-build: 0.0.1, handoff 2, image format 1)");
	writer_verdict(script_bytes, sizeof(script_bytes), KHIB_CHECK_FAIL,
		       "runs a program that is not this khib");
	writer_verdict(NULL, 0, KHIB_CHECK_FAIL, "has no /init");
	VERDICT(khib_check_writer_initrd("\xfd" "7zXZ\0...", 9, "x.img", self(), STAMP, &r), r,
		KHIB_CHECK_WARN, "is unknown: it holds a part compressed with xz");
	VERDICT(khib_check_writer_initrd("garbage", 7, "x.img", self(), STAMP, &r), r,
		KHIB_CHECK_FAIL, "the writer initramfs 'x.img' is broken");
	ASSERT_TRUE(strstr(r.fix, "scripts/install.sh") != NULL);
}

/* /boot/initrd.img-RELEASE as initramfs-tools makes it with khib's hook:
 * an early archive, then a zstd'ed one; each part left out on request. */
static void boot_initrd(const char *khib, size_t khib_len, bool script, const char *conf)
{
	struct fixture_buf early = { 0 }, main_ = { 0 }, img = { 0 };

	fixture_cpio_add(&early, "kernel/x86/microcode/AuthenticAMD.bin", REG, "ucode", 5);
	fixture_cpio_trailer(&early);
	fixture_put(&img, early.p, early.len);
	fixture_cpio_add(&main_, ".", S_IFDIR | 0755, "", 0);
	fixture_cpio_add(&main_, "./init", REG, "#!/bin/sh\n", 10);
	if (khib)
		fixture_cpio_add(&main_, "./usr/sbin/khib", REG, khib, khib_len);
	if (script)
		fixture_cpio_add(&main_, "./scripts/init-premount/khib", REG, script_bytes,
				 sizeof(script_bytes));
	if (conf)
		fixture_cpio_add(&main_, "./etc/khib.conf", S_IFREG | 0644, conf, strlen(conf));
	fixture_cpio_trailer(&main_);
	fixture_zstd(&img, &main_);
	test_put_file("/boot/initrd.img-6.1.0-test", img.p, img.len);
	fixture_buf_free(&early);
	fixture_buf_free(&main_);
	fixture_buf_free(&img);
}

#define BOOT_VERDICT(target, want, words) VERDICT(khib_check_boot_initramfs(check_root(), \
	self(), STAMP, (target), &r), r, (want), (words))

TEST(check_boot_initramfs)
{
	static const char conf[] = "# khib\ntarget = /dev/vdb\nencrypt = no\n";
	struct khib_check_result r;

	test_put_text("/proc/sys/kernel/osrelease", "6.1.0-test\n");
	BOOT_VERDICT("/dev/vdb", KHIB_CHECK_SKIP, "neither khib's initramfs-tools hook nor "
		     "/boot/initrd.img-6.1.0-test is here");
	/* Debian's initramfs without khib: the next boot does not resume. */
	boot_initrd(NULL, 0, false, NULL);
	BOOT_VERDICT("/dev/vdb", KHIB_CHECK_FAIL, "the initramfs '/boot/initrd.img-6.1.0-test' "
		     "has no khib: the next boot does not resume");
	ASSERT_TRUE(strstr(r.fix, "install khib's initramfs-tools hook") != NULL);
	test_put_text(KHIB_INITRAMFS_HOOK, "#!/bin/sh\n");
	BOOT_VERDICT("/dev/vdb", KHIB_CHECK_FAIL, "has no khib:");
	ASSERT_STREQ(r.fix, "update-initramfs -u");
	boot_initrd(self_bytes, sizeof(self_bytes), false, conf);
	BOOT_VERDICT("/dev/vdb", KHIB_CHECK_FAIL, "has no khib init-premount script");
	boot_initrd(self_bytes, sizeof(self_bytes), true, NULL);
	BOOT_VERDICT("/dev/vdb", KHIB_CHECK_FAIL, "has no /etc/khib.conf: resume there does not "
		     "know the target");
	boot_initrd(self_bytes, sizeof(self_bytes), true, conf);
	BOOT_VERDICT("/dev/vdb", KHIB_CHECK_OK, "the initramfs '/boot/initrd.img-6.1.0-test' "
		     "resumes with this khib from '/dev/vdb'");
	BOOT_VERDICT(NULL, KHIB_CHECK_OK, "resumes with this khib");
	/* The target changed in /etc/khib.conf since update-initramfs. */
	BOOT_VERDICT("/dev/vdc", KHIB_CHECK_FAIL, "looks for an image on '/dev/vdb', not on the "
		     "target '/dev/vdc'");
	boot_initrd(self_bytes, sizeof(self_bytes), true, "target = /dev/vdb\nbogus = 1\n");
	BOOT_VERDICT("/dev/vdb", KHIB_CHECK_FAIL, "does not parse: line 2");
	boot_initrd(sibling_bytes, sizeof(sibling_bytes), true, conf);
	BOOT_VERDICT("/dev/vdb", KHIB_CHECK_WARN, "resumes with another build of this khib");
	boot_initrd(other_bytes, sizeof(other_bytes), true, conf);
	BOOT_VERDICT("/dev/vdb", KHIB_CHECK_FAIL, "resumes with another khib (khib-build: 0.0.1");
	boot_initrd(script_bytes, sizeof(script_bytes), true, conf);
	BOOT_VERDICT("/dev/vdb", KHIB_CHECK_FAIL, "resumes with a program that is not this khib");
	/* One it cannot read says so. */
	test_put_file("/boot/initrd.img-6.1.0-test", "\x5d\0\0lzma...", 10);
	BOOT_VERDICT("/dev/vdb", KHIB_CHECK_WARN, "is unknown: a part compressed with lzma");
	/* The hook is there, but no initramfs for this kernel. */
	test_put_text("/proc/sys/kernel/osrelease", "6.1.0-other\n");
	BOOT_VERDICT("/dev/vdb", KHIB_CHECK_WARN, "there is no /boot/initrd.img-6.1.0-other");
}
