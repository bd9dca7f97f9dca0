/* SPDX-License-Identifier: GPL-2.0-only */
#include "util.h"

#include <ctype.h>
#include <stdarg.h>
#include <inttypes.h>
#include <stdio.h>
#include <string.h>
#include <limits.h>
#include <stdlib.h>
#include <unistd.h>

int khib_parse_size(const char *s, uint64_t *ret)
{
	uint64_t v = 0, base = 10, mult = 1;
	const char *p = s;

	if (!s || !*s)
		return -EINVAL;
	if (p[0] == '0' && (p[1] == 'x' || p[1] == 'X')) {
		base = 16;
		p += 2;
		if (!*p)
			return -EINVAL;
	}
	for (; *p; p++) {
		unsigned d;

		if (isdigit((unsigned char)*p))
			d = (unsigned)(*p - '0');
		else if (base == 16 && isxdigit((unsigned char)*p))
			d = (unsigned)(tolower((unsigned char)*p) - 'a' + 10);
		else
			break;
		if (v > (UINT64_MAX - d) / base)
			return -EINVAL;
		v = v * base + d;
	}
	if (p == s)
		return -EINVAL;
	switch (*p) {
	case '\0': break;
	case 'k': case 'K': mult = 1ULL << 10; p++; break;
	case 'm': case 'M': mult = 1ULL << 20; p++; break;
	case 'g': case 'G': mult = 1ULL << 30; p++; break;
	default: return -EINVAL;
	}
	if (*p)
		return -EINVAL;
	if (v > UINT64_MAX / mult)
		return -EINVAL;
	*ret = v * mult;
	return 0;
}

/* The next word of a command line at *p (NULL at the end); its length in *len. */
static const char *cmdline_word(const char **p, size_t *len)
{
	const char *word;

	while (**p == ' ' || **p == '\t' || **p == '\n')
		(*p)++;
	if (!**p)
		return NULL;
	word = *p;
	while (**p && **p != ' ' && **p != '\t' && **p != '\n')
		(*p)++;
	*len = (size_t)(*p - word);
	return word;
}

bool khib_cmdline_has(const char *cmdline, const char *flag)
{
	size_t flen = strlen(flag), len;
	const char *word;

	while ((word = cmdline_word(&cmdline, &len)))
		if (len >= flen && !strncmp(word, flag, flen) && (len == flen || word[flen] == '='))
			return true;
	return false;
}

uint64_t khib_clock_ns(clockid_t clock)
{
	struct timespec ts;

	clock_gettime(clock, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ULL + (uint64_t)ts.tv_nsec;
}

int khib_fail_or_errno(char *reason, int err)
{
	if (err < 0 && reason && !reason[0])
		snprintf(reason, KHIB_REASON_MAX, "%s", strerror(-err));
	return err;
}

int khib_fail(char *reason, int err, const char *fmt, ...)
{
	va_list ap;

	if (reason) {
		va_start(ap, fmt);
		vsnprintf(reason, KHIB_REASON_MAX, fmt, ap);
		va_end(ap);
	}
	return err;
}

int khib_cmdline_get(const char *cmdline, const char *key, char *buf, size_t bufsz)
{
	size_t klen = strlen(key);
	const char *p = cmdline, *val = NULL, *word;
	size_t vlen = 0, len;

	/* Like the kernel's own parameters, the last occurrence wins. */
	while ((word = cmdline_word(&p, &len))) {
		if (len > klen && !strncmp(word, key, klen) && word[klen] == '=') {
			val = word + klen + 1;
			vlen = len - klen - 1;
		}
	}
	if (!val)
		return -ENOENT;
	if (vlen + 1 > bufsz)
		return -ENAMETOOLONG;
	memcpy(buf, val, vlen);
	buf[vlen] = '\0';
	return 0;
}

static char *trim(char *s)
{
	char *e;

	while (*s == ' ' || *s == '\t')
		s++;
	e = s + strlen(s);
	while (e > s && (e[-1] == ' ' || e[-1] == '\t' || e[-1] == '\r'))
		*--e = '\0';
	return s;
}

int khib_kv_parse(const char *text, int (*set)(void *ctx, const char *key, const char *val),
		  void *ctx, char *reason)
{
	_cleanup_free_ char *copy = strdup(text);
	char *line, *next;
	unsigned n = 0;

	if (!copy)
		return khib_fail(reason, -ENOMEM, "%s", strerror(ENOMEM));
	/* strtok_r would merge empty lines and throw off the numbers. */
	for (line = copy; line; line = next) {
		char *nl = strchr(line, '\n'), *eq, *key, *val;
		int r;

		next = nl ? nl + 1 : NULL;
		if (nl)
			*nl = '\0';
		n++;
		if ((val = strchr(line, '#')))
			*val = '\0';
		key = trim(line);
		if (!*key)
			continue;
		if (!(eq = strchr(key, '=')))
			return khib_fail(reason, -EINVAL, "line %u: expected 'key = value'", n);
		*eq = '\0';
		key = trim(key);
		val = trim(eq + 1);
		r = set(ctx, key, val);
		if (r == -ENOKEY)
			return khib_fail(reason, -EINVAL, "line %u: unknown key '%s'", n, key);
		if (r < 0)
			return khib_fail(reason, -EINVAL, "line %u: bad value for '%s': '%s'", n,
					 key, val);
	}
	return 0;
}
