/* SPDX-License-Identifier: GPL-2.0-only */
#include "config.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "fileio.h"
#include "handoff.h"
#include "util.h"

static int set_str(char *dst, const char *val)
{
	if (strlen(val) >= KHIB_CONFIG_STR)
		return -ENAMETOOLONG;
	strcpy(dst, val);
	return 0;
}

static int parse_bool(const char *val, bool *ret)
{
	if (!strcmp(val, "yes") || !strcmp(val, "true") || !strcmp(val, "1"))
		*ret = true;
	else if (!strcmp(val, "no") || !strcmp(val, "false") || !strcmp(val, "0"))
		*ret = false;
	else
		return -EINVAL;
	return 0;
}

static int set_key(struct khib_config *c, const char *key, const char *val)
{
	uint64_t v;

	if (!strcmp(key, "target"))
		return set_str(c->target, val);
	if (!strcmp(key, "kernel"))
		return set_str(c->kernel, val);
	if (!strcmp(key, "initrd"))
		return set_str(c->initrd, val);
	if (!strcmp(key, "key-file"))
		return set_str(c->key_file, val);
	if (!strcmp(key, "append"))
		return set_str(c->append, val);
	if (!strcmp(key, "codec")) {
		c->has_codec = true;
		return khib_codec_parse(val, &c->codec, &c->codec_level);
	}
	if (!strcmp(key, "threads")) {
		if (khib_parse_size(val, &v) < 0 || v > 1024)
			return -EINVAL;
		c->threads = (unsigned)v;
		c->has_threads = true;
		return 0;
	}
	if (!strcmp(key, "region-size")) {
		if (khib_parse_size(val, &v) < 0 || !v || !IS_ALIGNED(v, KHIB_REGION_ALIGN))
			return -EINVAL;
		c->region_bytes = v;
		c->has_region_bytes = true;
		return 0;
	}
	if (!strcmp(key, "region-start")) {
		if (khib_parse_size(val, &v) < 0 || !IS_ALIGNED(v, KHIB_REGION_ALIGN))
			return -EINVAL;
		c->region_start = v;
		c->has_region_start = v != 0;
		return 0;
	}
	if (!strcmp(key, "key-dir"))
		return set_str(c->key_dir, val);
	if (!strcmp(key, "resume-method")) {
		if (strcmp(val, "auto") && strcmp(val, "snapshot") && strcmp(val, "kexec"))
			return -EINVAL;
		snprintf(c->resume_method, sizeof(c->resume_method), "%s", val);
		return 0;
	}
	if (!strcmp(key, "keep-free-pages"))
		return parse_bool(val, &c->keep_free_pages);
	if (!strcmp(key, "drop-caches"))
		return parse_bool(val, &c->drop_caches);
	if (!strcmp(key, "encrypt"))
		return parse_bool(val, &c->encrypt);
	return -ENOKEY;
}

static int set_line(void *ctx, const char *key, const char *val)
{
	return set_key(ctx, key, val);
}

int khib_config_parse(const char *text, struct khib_config *ret, char *reason)
{
	_cleanup_free_ struct khib_config *c = calloc(1, sizeof(*c));
	int r;

	if (!c)
		return khib_fail(reason, -ENOMEM, "%s", strerror(ENOMEM));
	c->encrypt = true;
	c->drop_caches = true;
	if ((r = khib_kv_parse(text, set_line, c, reason)) < 0)
		return r;
	*ret = *c;
	return 0;
}

int khib_config_load(const char *path, struct khib_config *ret, char *reason)
{
	_cleanup_free_ char *text = NULL;
	size_t len;
	const char *nul;
	int r = khib_read_file(path, 1 << 20, &text, &len);

	if (r == -ENOENT)
		return khib_config_parse("", ret, reason);
	if (r < 0)
		return khib_fail(reason, r, "%s", r == -ENOTBLK ? "not a regular file" :
				 strerror(-r));
	/* A NUL would end the text early and hide every line after it. */
	if ((nul = memchr(text, '\0', len))) {
		unsigned line = 1;

		for (const char *p = text; p < nul; p++)
			line += *p == '\n';
		return khib_fail(reason, -EINVAL, "line %u: a NUL byte", line);
	}
	return khib_config_parse(text, ret, reason);
}

/* Does the line [p, end) set key: "key = ...", blanks around either, or,
 * with commented, "#key = ..." / "# key = ..."? */
static bool line_sets(const char *p, const char *end, const char *key, bool commented)
{
	size_t klen = strlen(key);

	while (p < end && (*p == ' ' || *p == '\t'))
		p++;
	if (commented) {
		if (p == end || *p != '#')
			return false;
		p++;
		while (p < end && (*p == ' ' || *p == '\t'))
			p++;
	}
	if ((size_t)(end - p) < klen || memcmp(p, key, klen))
		return false;
	p += klen;
	while (p < end && (*p == ' ' || *p == '\t'))
		p++;
	return p < end && *p == '=';
}

static bool bad_field(const char *s, bool is_key)
{
	size_t n = strlen(s);

	return !n || strpbrk(s, "\n\r#") || (is_key && strpbrk(s, "= \t")) ||
	       s[0] == ' ' || s[0] == '\t' || s[n - 1] == ' ' || s[n - 1] == '\t';
}

int khib_config_set(const char *text, const char *key, const char *value, char **ret)
{
	const char *at = NULL, *after = NULL, *example = NULL;
	bool replace = false;
	size_t len = strlen(text);
	char *out;
	int n;

	if (bad_field(key, true) || bad_field(value, false))
		return -EINVAL;
	for (const char *p = text; p < text + len;) {
		const char *nl = memchr(p, '\n', text + len - p);
		const char *end = nl ? nl : text + len, *next = nl ? nl + 1 : text + len;

		if (line_sets(p, end, key, false)) {
			at = p;
			after = next;
			replace = true;
		} else if (!example && line_sets(p, end, key, true)) {
			example = next;
		}
		p = next;
	}
	if (!replace)
		at = after = example ? example : text + len;
	/* The new line ends in a newline, and so does the line before it. */
	bool need_nl = at > text && at[-1] != '\n';
	n = asprintf(&out, "%.*s%s%s = %s\n%s", (int)(at - text), text, need_nl ? "\n" : "", key,
		     value, after);
	if (n < 0)
		return -ENOMEM;
	*ret = out;
	return 0;
}
