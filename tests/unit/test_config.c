/* SPDX-License-Identifier: GPL-2.0-only */
#include <errno.h>
#include <sys/stat.h>
#include <stdio.h>
#include <stdlib.h>

#include "config.h"
#include "harness.h"
#include "util.h"

static struct khib_config *cfg(void)
{
	static struct khib_config c;
	return &c;
}

TEST(config_parse_all_keys)
{
	char reason[KHIB_REASON_MAX] = "";
	struct khib_config *c = cfg();

	ASSERT_OK(khib_config_parse("# khib\n"
				    "target = /dev/vdb2   # the swap partition\n"
				    "\n"
				    "codec=zstd:3\n"
				    "  threads = 2\n"
				    "region-size = 64M\n"
				    "region-start = 0x1be00000\n"
				    "kernel = /boot/khib\n"
				    "initrd = /boot/khib.img\n"
				    "keep-free-pages = yes\n"
				    "drop-caches = no\n"
				    "resume-method = kexec\n"
				    "append = console=ttyS0 nr_cpus=1\r\n",
				    c, reason));
	ASSERT_STREQ(c->target, "/dev/vdb2");
	ASSERT_TRUE(c->has_codec);
	ASSERT_EQ(c->codec, KHIB_CODEC_ZSTD);
	ASSERT_EQ(c->codec_level, 3);
	ASSERT_TRUE(c->has_threads);
	ASSERT_EQ(c->threads, 2);
	ASSERT_EQ_U64(c->region_bytes, 64ULL << 20);
	ASSERT_TRUE(c->has_region_start);
	ASSERT_EQ_U64(c->region_start, 0x1be00000);
	ASSERT_STREQ(c->kernel, "/boot/khib");
	ASSERT_STREQ(c->initrd, "/boot/khib.img");
	ASSERT_STREQ(c->append, "console=ttyS0 nr_cpus=1");
	ASSERT_TRUE(c->keep_free_pages);
	ASSERT_TRUE(!c->drop_caches);
	ASSERT_STREQ(c->resume_method, "kexec");
	ASSERT_EQ(khib_config_parse("resume-method = fast\n", c, reason), -EINVAL);
	ASSERT_EQ(khib_config_parse("keep-free-pages = maybe\n", c, reason),
		  -EINVAL);
	ASSERT_EQ(khib_config_parse("drop-caches = later\n", c, reason), -EINVAL);
}

/* Each boolean spelling, parsed after the opposite value, so a spelling
 * that is ignored (or read the wrong way) leaves the wrong value behind. */
TEST(config_booleans_set_both_ways)
{
	static const char *const yes[] = { "yes", "true", "1" }, *const no[] = { "no", "false", "0" };
	char reason[128] = "", text[256];
	struct khib_config *c = cfg();

	for (size_t i = 0; i < 3; i++) {
		snprintf(text, sizeof(text), "keep-free-pages = no\nkeep-free-pages = %s\n"
			 "encrypt = yes\nencrypt = %s\ndrop-caches = no\ndrop-caches = %s\n",
			 yes[i], no[i], yes[i]);
		ASSERT_OK(khib_config_parse(text, c, reason));
		ASSERT_TRUE(c->keep_free_pages);
		ASSERT_TRUE(!c->encrypt);
		ASSERT_TRUE(c->drop_caches);
		snprintf(text, sizeof(text), "keep-free-pages = yes\nkeep-free-pages = %s\n"
			 "encrypt = no\nencrypt = %s\ndrop-caches = yes\ndrop-caches = %s\n",
			 no[i], yes[i], no[i]);
		ASSERT_OK(khib_config_parse(text, c, reason));
		ASSERT_TRUE(!c->keep_free_pages);
		ASSERT_TRUE(c->encrypt);
		ASSERT_TRUE(!c->drop_caches);
	}
}

TEST(config_empty_means_unset)
{
	char reason[KHIB_REASON_MAX] = "";
	struct khib_config *c = cfg();

	ASSERT_OK(khib_config_parse("\n# nothing\n   \n", c, reason));
	ASSERT_STREQ(c->target, "");
	ASSERT_TRUE(!c->has_codec && !c->has_threads && !c->has_region_bytes &&
		    !c->has_region_start);
	/* The defaults: free pages left out, clean caches dropped, images
	 * encrypted. */
	ASSERT_TRUE(!c->keep_free_pages);
	ASSERT_TRUE(c->drop_caches);
	ASSERT_TRUE(c->encrypt);
}

TEST(config_errors_name_the_line)
{
	char reason[KHIB_REASON_MAX] = "";
	struct khib_config *c = cfg();

	ASSERT_EQ(khib_config_parse("target = /dev/x\nfoo = 1\n", c, reason),
		  -EINVAL);
	ASSERT_STREQ(reason, "line 2: unknown key 'foo'");
	ASSERT_EQ(khib_config_parse("\n\ncodec = lzma\n", c, reason), -EINVAL);
	ASSERT_STREQ(reason, "line 3: bad value for 'codec': 'lzma'");
	ASSERT_EQ(khib_config_parse("region-size = 3M\n", c, reason), -EINVAL);
	ASSERT_STREQ(reason, "line 1: bad value for 'region-size': '3M'");
	ASSERT_EQ(khib_config_parse("region-start = 0x1000\n", c, reason), -EINVAL);
	ASSERT_EQ(khib_config_parse("threads = 5000\n", c, reason), -EINVAL);
	ASSERT_EQ(khib_config_parse("just words\n", c, reason), -EINVAL);
	ASSERT_STREQ(reason, "line 1: expected 'key = value'");
}

TEST(config_load_missing_file_is_empty)
{
	char reason[KHIB_REASON_MAX] = "", path[512];
	struct khib_config *c = cfg();
	FILE *f;

	snprintf(path, sizeof(path), "%s/none.conf", test_tmpdir());
	ASSERT_OK(khib_config_load(path, c, reason));
	ASSERT_STREQ(c->target, "");
	snprintf(path, sizeof(path), "%s/khib.conf", test_tmpdir());
	f = fopen(path, "w");
	ASSERT_TRUE(f != NULL);
	fputs("target = /dev/vda\n", f);
	fclose(f);
	ASSERT_OK(khib_config_load(path, c, reason));
	ASSERT_STREQ(c->target, "/dev/vda");
}

/* A NUL byte would hide the lines after it; a FIFO would block forever. */
TEST(config_load_refuses_nul_and_fifo)
{
	char reason[KHIB_REASON_MAX] = "", path[512];
	struct khib_config *c = cfg();
	FILE *f;

	snprintf(path, sizeof(path), "%s/nul.conf", test_tmpdir());
	f = fopen(path, "w");
	ASSERT_TRUE(f != NULL);
	fwrite("codec = lz4\n\0target = /dev/vda\n", 1, 32, f);
	fclose(f);
	ASSERT_EQ(khib_config_load(path, c, reason), -EINVAL);
	ASSERT_STREQ(reason, "line 2: a NUL byte");
	snprintf(path, sizeof(path), "%s/fifo.conf", test_tmpdir());
	ASSERT_EQ(mkfifo(path, 0600), 0);
	ASSERT_EQ(khib_config_load(path, c, reason), -ENOTBLK);
	ASSERT_STREQ(reason, "not a regular file");
}

static char *set(const char *text, const char *key, const char *value)
{
	char *out = NULL;

	return khib_config_set(text, key, value, &out) == 0 ? out : NULL;
}

/* khib setup's edit: the line that counts is replaced, everything else
 * stays; a commented example keeps its place as documentation. */
TEST(config_set_replaces_the_last_line)
{
	char *out;

	out = set("# khib\ntarget = /dev/a\ncodec = lz4\ntarget=/dev/b # old\n", "target",
		  "/var/lib/khib/image");
	ASSERT_STREQ(out, "# khib\ntarget = /dev/a\ncodec = lz4\ntarget = /var/lib/khib/image\n");
	free(out);
	/* No newline at the end; blanks before the key. */
	out = set("codec = lz4\n  target = /dev/a", "target", "/dev/c");
	ASSERT_STREQ(out, "codec = lz4\ntarget = /dev/c\n");
	free(out);
	/* "targets" is another key. */
	out = set("targets = x\n", "target", "/dev/c");
	ASSERT_STREQ(out, "targets = x\ntarget = /dev/c\n");
	free(out);
}

TEST(config_set_after_the_commented_example)
{
	char *out;

	out = set("# Where images go.\n#target = /dev/disk/by-partlabel/khib\n\n#codec = lz4\n",
		  "target", "/var/lib/khib/image");
	ASSERT_STREQ(out, "# Where images go.\n#target = /dev/disk/by-partlabel/khib\n"
			  "target = /var/lib/khib/image\n\n#codec = lz4\n");
	free(out);
	out = set("# target = x\n", "target", "/y");
	ASSERT_STREQ(out, "# target = x\ntarget = /y\n");
	free(out);
	/* A comment that only mentions the key is no example. */
	out = set("# the target: see khib(8)\ncodec = lz4", "target", "/y");
	ASSERT_STREQ(out, "# the target: see khib(8)\ncodec = lz4\ntarget = /y\n");
	free(out);
	out = set("", "target", "/y");
	ASSERT_STREQ(out, "target = /y\n");
	free(out);
}

/* What a line cannot carry is refused, not written half. */
TEST(config_set_refuses_what_a_line_cannot_hold)
{
	char *out = NULL;

	ASSERT_EQ(khib_config_set("", "target", "/a#b", &out), -EINVAL);
	ASSERT_EQ(khib_config_set("", "target", "/a\nb", &out), -EINVAL);
	ASSERT_EQ(khib_config_set("", "target", "", &out), -EINVAL);
	ASSERT_EQ(khib_config_set("", "target", " /a", &out), -EINVAL);
	ASSERT_EQ(khib_config_set("", "tar get", "/a", &out), -EINVAL);
	ASSERT_EQ(khib_config_set("", "a=b", "/a", &out), -EINVAL);
	ASSERT_TRUE(out == NULL);
}

/* What khib_config_set writes reads back as the value set. */
TEST(config_set_round_trip)
{
	struct khib_config *c = cfg();
	char reason[KHIB_REASON_MAX] = "";
	char *out = set("target = /dev/a\n#target = /dev/b\ncodec = zstd:3\n", "target",
			"/var/lib/khib/image");

	ASSERT_OK(khib_config_parse(out, c, reason));
	ASSERT_STREQ(c->target, "/var/lib/khib/image");
	ASSERT_EQ(c->codec, KHIB_CODEC_ZSTD);
	free(out);
}
