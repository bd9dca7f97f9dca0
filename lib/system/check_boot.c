/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * The verdicts about initramfs images (check.h): the writer kernel's, whose
 * /init is khib, and the one this machine boots with, which must resume.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "check.h"
#include "config.h"
#include "fileio.h"
#include "initrd_file.h"
#include "util.h"

/* A khib binary, static, is a few MiB: keep what could be one. */
#define BINARY_MAX_BYTES (64u << 20)

/* Are the file at path and data the same bytes? */
static int same_bytes(const char *path, const uint8_t *data, uint64_t len)
{
	_cleanup_close_ int fd = khib_open_input(path, O_RDONLY);
	uint8_t buf[64 << 10];
	struct stat st;

	if (fd < 0)
		return fd;
	if (fstat(fd, &st) < 0)
		return -errno;
	if ((uint64_t)st.st_size != len)
		return 0;
	for (uint64_t off = 0; off < len;) {
		size_t k = len - off < sizeof(buf) ? (size_t)(len - off) : sizeof(buf);
		int r = khib_pread_all(fd, buf, k, off);

		if (r < 0)
			return r;
		if (memcmp(buf, data + off, k))
			return 0;
		off += k;
	}
	return 1;
}

/* The first build stamp in data: "khib-build: " (the prefix of `stamp`)
 * followed by printable characters up to a NUL. */
static bool find_stamp(const uint8_t *data, uint64_t len, const char *stamp, char *what,
		       size_t n)
{
	const char *colon = strstr(stamp, ": ");
	size_t plen = colon ? (size_t)(colon + 2 - stamp) : strlen(stamp);
	const uint8_t *p = data, *end = data + len;

	while ((p = memmem(p, (size_t)(end - p), stamp, plen))) {
		const uint8_t *s = p + plen, *q = s;

		while (q < end && *q >= 0x20 && *q < 0x7f && q - p < 200)
			q++;
		if (q > s && q < end && *q == '\0') {
			snprintf(what, n, "%.*s", (int)(q - p), (const char *)p);
			return true;
		}
		p += plen;
	}
	return false;
}

int khib_check_build_match(const struct khib_initrd_member *m, const char *self,
			   const char *stamp, char *what, size_t n)
{
	int r;

	if (!m->data)
		return m->bytes ? -EFBIG : -ENODATA;
	if ((r = same_bytes(self, m->data, m->bytes)) < 0)
		return r;
	if (r)
		return KHIB_BUILD_SAME;
	if (!find_stamp(m->data, m->bytes, stamp, what, n))
		return KHIB_BUILD_NONE;
	return strcmp(what, stamp) ? KHIB_BUILD_OTHER : KHIB_BUILD_SIBLING;
}

/* The verdict on the khib in an initramfs (m): "<who> this khib<suffix>",
 * or another build, another khib, no khib. */
static int build_verdict(const struct khib_initrd_member *m, const char *self, const char *stamp,
			 const char *who, const char *suffix, const char *fix,
			 struct khib_check_result *ret)
{
	char what[256] = "";
	int r = khib_check_build_match(m, self, stamp, what, sizeof(what));

	switch (r) {
	case KHIB_BUILD_SAME:
		return khib_check_set(ret, KHIB_CHECK_OK, NULL, "%s this khib%s", who, suffix);
	case KHIB_BUILD_SIBLING:
		return khib_check_set(ret, KHIB_CHECK_WARN, fix, "%s another build of this khib (%s)",
				      who, stamp);
	case KHIB_BUILD_OTHER:
		return khib_check_set(ret, KHIB_CHECK_FAIL, fix, "%s another khib (%s), not this one "
				      "(%s)", who, what, stamp);
	case KHIB_BUILD_NONE:
		return khib_check_set(ret, KHIB_CHECK_FAIL, fix, "%s a program that is not this khib "
				      "(%s)", who, stamp);
	default:
		return khib_check_set(ret, KHIB_CHECK_WARN, NULL, "%s a khib that could not be "
				      "compared with this one: %s", who, strerror(-r));
	}
}

#define FIX_WRITER "install khib's writer initramfs from this build (scripts/install.sh)"

int khib_check_writer_initrd(const void *buf, size_t len, const char *path, const char *self,
			     const char *stamp, struct khib_check_result *ret)
{
	struct khib_initrd_member m = { .name = "init", .max_bytes = BINARY_MAX_BYTES };
	char reason[KHIB_REASON_MAX] = "", who[600];
	int r = khib_initrd_scan(buf, len, &m, 1, reason);

	if (r == -EOPNOTSUPP)
		return khib_check_set(ret, KHIB_CHECK_WARN, FIX_WRITER, "whether the writer "
				      "initramfs '%s' runs this khib is unknown: it holds %s", path,
				      reason);
	if (r < 0)
		return khib_check_set(ret, KHIB_CHECK_FAIL, FIX_WRITER, "the writer initramfs '%s' "
				      "is broken: %s", path, reason);
	if (!m.found)
		return khib_check_set(ret, KHIB_CHECK_FAIL, FIX_WRITER, "the writer initramfs '%s' "
				      "has no /init", path);
	snprintf(who, sizeof(who), "the writer initramfs '%s' runs", path);
	r = build_verdict(&m, self, stamp, who, "", FIX_WRITER, ret);
	khib_initrd_release(&m, 1);
	return r;
}

/* Does the initramfs's /etc/khib.conf (m) name target?  0 yes, else a
 * verdict. */
static int boot_config(const char *path, const struct khib_initrd_member *m, const char *target,
		       const char *fix, struct khib_check_result *ret)
{
	struct khib_config cf;
	char reason[KHIB_REASON_MAX] = "";
	_cleanup_free_ char *text = NULL;

	if (!target)
		return 0;
	if (!m->found || !m->data || !(text = strndup((const char *)m->data, m->bytes)))
		return khib_check_set(ret, KHIB_CHECK_FAIL, fix, "the initramfs '%s' has no "
				      "/etc/khib.conf: resume there does not know the target", path);
	if (khib_config_parse(text, &cf, reason) < 0)
		return khib_check_set(ret, KHIB_CHECK_FAIL, fix, "the /etc/khib.conf of the "
				      "initramfs '%s' does not parse: %s", path, reason);
	if (strcmp(cf.target, target))
		return khib_check_set(ret, KHIB_CHECK_FAIL, fix, "the initramfs '%s' looks for an "
				      "image on '%s', not on the target '%s'", path, cf.target, target);
	return 0;
}

/* Whether the khib, the script and the configuration in the initramfs
 * resume an image: a verdict. */
static int boot_members(const char *path, struct khib_initrd_member *m, const char *self,
			const char *stamp, const char *target, bool hook,
			struct khib_check_result *ret)
{
	const char *fix = hook ? "update-initramfs -u" : "install khib's initramfs-tools hook "
			  "(scripts/install.sh), then update-initramfs -u";
	char who[600], from[KHIB_CONFIG_STR + 16];
	int r;

	if (!m[0].found || !m[1].found)
		return khib_check_set(ret, KHIB_CHECK_FAIL, fix, "the initramfs '%s' has no %s: the "
				      "next boot does not resume", path, !m[0].found ?
				      "khib" : "khib init-premount script");
	if ((r = boot_config(path, &m[2], target, fix, ret)))
		return r;
	snprintf(who, sizeof(who), "the initramfs '%s' resumes with", path);
	snprintf(from, sizeof(from), "%s%s%s", target ? " from '" : "", target ? target : "",
		 target ? "'" : "");
	return build_verdict(&m[0], self, stamp, who, from, fix, ret);
}

int khib_check_boot_initramfs(const char *root, const char *self, const char *stamp,
			      const char *target, struct khib_check_result *ret)
{
	struct khib_initrd_member m[] = {
		{ .name = "usr/sbin/khib", .max_bytes = BINARY_MAX_BYTES },
		{ .name = "scripts/init-premount/khib" },
		{ .name = "etc/khib.conf", .max_bytes = 1 << 20 },
	};
	char release[128] = "", rel[256], path[512], reason[KHIB_REASON_MAX] = "";
	struct stat st;
	bool hook;
	int r;

	snprintf(path, sizeof(path), "%s/proc/sys/kernel/osrelease", root);
	khib_read_attr(path, release, sizeof(release));
	snprintf(rel, sizeof(rel), "/boot/initrd.img-%s", release);
	snprintf(path, sizeof(path), "%s%s", root, KHIB_INITRAMFS_HOOK);
	hook = stat(path, &st) == 0;
	snprintf(path, sizeof(path), "%s%s", root, rel);
	if (stat(path, &st) < 0 && !hook)
		return khib_check_set(ret, KHIB_CHECK_SKIP, NULL, "neither khib's initramfs-tools "
				      "hook nor %s is here: resuming is up to this machine's own "
				      "initramfs (khib resume)", rel);
	if (stat(path, &st) < 0)
		return khib_check_set(ret, KHIB_CHECK_WARN, "update-initramfs -c -k RELEASE",
				      "khib's initramfs-tools hook is installed, but there is no %s "
				      "to look into", rel);
	r = khib_initrd_scan_file(path, m, ARRAY_SIZE(m), reason);
	if (r < 0)
		return khib_check_set(ret, KHIB_CHECK_WARN, NULL, "whether the initramfs '%s' "
				      "resumes is unknown: %s", rel, reason);
	r = boot_members(rel, m, self, stamp, target, hook, ret);
	khib_initrd_release(m, ARRAY_SIZE(m));
	return r;
}
