/* SPDX-License-Identifier: GPL-2.0-only */
#include "fsstamp.h"

#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/sysmacros.h>

#include "util.h"

/* The ext2/3/4 superblock, at byte 1024 of the device (fs/ext4/ext4.h). */
#define EXT_SB_OFFSET 1024
#define EXT_MTIME 0x2C		/* le32, and its high byte at 0x275 */
#define EXT_WTIME 0x30		/* le32, high byte at 0x274 */
#define EXT_MNT_COUNT 0x34	/* le16 */
#define EXT_MAGIC 0x38		/* le16 0xEF53 */
#define EXT_STATE 0x3A		/* le16 */
#define EXT_LASTCHECK 0x40	/* le32, high byte at 0x277 */
#define EXT_REV_LEVEL 0x4C	/* le32: 0 has none of the fields below */
#define EXT_INCOMPAT 0x60	/* le32 */
#define EXT_UUID 0x68		/* 16 */
#define EXT_WTIME_HI 0x274
#define EXT_MTIME_HI 0x275
#define EXT_LASTCHECK_HI 0x277
#define EXT_SUPER_MAGIC 0xEF53
#define EXT_INCOMPAT_RECOVER 0x0004 /* the journal needs replaying */

/* The encoding (doc/FORMAT.md, "File system table"). */
#define ST_KIND 0x00
#define ST_MNT_COUNT 0x04
#define ST_STATE 0x06
#define ST_INCOMPAT 0x08
#define ST_RESERVED 0x0C
#define ST_UUID 0x10
#define ST_DEV 0x20
#define ST_MTIME 0x28
#define ST_WTIME 0x30
#define ST_LASTCHECK 0x38
#define ST_WHERE 0x40

_Static_assert(ST_WHERE + KHIB_FSSTAMP_WHERE == KHIB_FSSTAMP_BYTES, "stamp layout");

static uint64_t ext_time(const uint8_t *sb, unsigned lo, unsigned hi, bool has_hi)
{
	return khib_get_le32(sb + lo) | (has_hi ? (uint64_t)sb[hi] << 32 : 0);
}

int khib_fsstamp_from_ext(const void *buf, size_t len, struct khib_fsstamp *st)
{
	const uint8_t *sb = (const uint8_t *)buf + EXT_SB_OFFSET;
	bool dynamic;

	if (len < EXT_SB_OFFSET + 1024 || khib_get_le16(sb + EXT_MAGIC) != EXT_SUPER_MAGIC)
		return -ENODATA;
	/* Revision 0 (the first ext2) ends its superblock before the UUID. */
	dynamic = khib_get_le32(sb + EXT_REV_LEVEL) >= 1;
	st->kind = KHIB_FS_EXT;
	st->mnt_count = khib_get_le16(sb + EXT_MNT_COUNT);
	st->state = khib_get_le16(sb + EXT_STATE);
	st->incompat = dynamic ? khib_get_le32(sb + EXT_INCOMPAT) : 0;
	memset(st->uuid, 0, sizeof(st->uuid));
	if (dynamic)
		memcpy(st->uuid, sb + EXT_UUID, sizeof(st->uuid));
	st->mtime = ext_time(sb, EXT_MTIME, EXT_MTIME_HI, dynamic);
	st->wtime = ext_time(sb, EXT_WTIME, EXT_WTIME_HI, dynamic);
	st->lastcheck = ext_time(sb, EXT_LASTCHECK, EXT_LASTCHECK_HI, dynamic);
	return 0;
}

bool khib_fsstamp_changed(const struct khib_fsstamp *then, const struct khib_fsstamp *now,
			  char *what, size_t n)
{
	/* A full fsck also resets the mount count: name the check first. */
	if (now->lastcheck != then->lastcheck)
		snprintf(what, n, "checked since (fsck)");
	else if (now->mnt_count != then->mnt_count || now->mtime != then->mtime)
		snprintf(what, n, "mounted since (mount count %u, now %u)", then->mnt_count,
			 now->mnt_count);
	else if (now->state != then->state)
		snprintf(what, n, "repaired since (its state changed)");
	else if ((then->incompat & EXT_INCOMPAT_RECOVER) && !(now->incompat & EXT_INCOMPAT_RECOVER))
		snprintf(what, n, "its journal was replayed since");
	else if (now->wtime != then->wtime)
		snprintf(what, n, "its superblock was written since");
	else
		return false;
	return true;
}

void khib_fsstamp_encode(const struct khib_fsstamp *st, uint8_t buf[KHIB_FSSTAMP_BYTES])
{
	memset(buf, 0, KHIB_FSSTAMP_BYTES);
	khib_put_le32(buf + ST_KIND, st->kind);
	khib_put_le16(buf + ST_MNT_COUNT, st->mnt_count);
	khib_put_le16(buf + ST_STATE, st->state);
	khib_put_le32(buf + ST_INCOMPAT, st->incompat);
	memcpy(buf + ST_UUID, st->uuid, 16);
	khib_put_le64(buf + ST_DEV, st->dev);
	khib_put_le64(buf + ST_MTIME, st->mtime);
	khib_put_le64(buf + ST_WTIME, st->wtime);
	khib_put_le64(buf + ST_LASTCHECK, st->lastcheck);
	/* Always terminated: cut, and the last byte stays zero. */
	memcpy(buf + ST_WHERE, st->where, strnlen(st->where, KHIB_FSSTAMP_WHERE - 1));
}

int khib_fsstamp_decode(const uint8_t buf[KHIB_FSSTAMP_BYTES], struct khib_fsstamp *ret)
{
	struct khib_fsstamp st = { 0 };

	st.kind = khib_get_le32(buf + ST_KIND);
	if (st.kind != KHIB_FS_EXT || khib_get_le32(buf + ST_RESERVED) ||
	    !memchr(buf + ST_WHERE, 0, KHIB_FSSTAMP_WHERE))
		return -EBADMSG;
	st.mnt_count = khib_get_le16(buf + ST_MNT_COUNT);
	st.state = khib_get_le16(buf + ST_STATE);
	st.incompat = khib_get_le32(buf + ST_INCOMPAT);
	memcpy(st.uuid, buf + ST_UUID, 16);
	st.dev = khib_get_le64(buf + ST_DEV);
	st.mtime = khib_get_le64(buf + ST_MTIME);
	st.wtime = khib_get_le64(buf + ST_WTIME);
	st.lastcheck = khib_get_le64(buf + ST_LASTCHECK);
	memcpy(st.where, buf + ST_WHERE, KHIB_FSSTAMP_WHERE);
	*ret = st;
	return 0;
}

void khib_fsstamp_uuid_str(const uint8_t u[16], char out[37])
{
	snprintf(out, 37, "%02x%02x%02x%02x-%02x%02x-%02x%02x-%02x%02x-%02x%02x%02x%02x%02x%02x",
		 u[0], u[1], u[2], u[3], u[4], u[5], u[6], u[7], u[8], u[9], u[10], u[11], u[12],
		 u[13], u[14], u[15]);
}

/* The next space-separated field of *s, NUL terminated; NULL at the end. */
static char *field(char **s)
{
	char *f = *s, *end;

	while (*f == ' ')
		f++;
	if (!*f)
		return NULL;
	end = strchr(f, ' ');
	if (end) {
		*end = 0;
		*s = end + 1;
	} else {
		*s = f + strlen(f);
	}
	return f;
}

/* "36 35 98:0 /root /mnt rw,noatime shared:1 - ext4 /dev/vda1 rw": the
 * optional fields run up to the lone "-". */
int khib_mountinfo_parse_line(char *line, struct khib_mountinfo_entry *ret)
{
	char *s = line, *f[5], *dash, *majmin_end, *fstype, *source;
	unsigned long major, minor;

	for (int i = 0; i < 5; i++)
		if (!(f[i] = field(&s)))
			return -EINVAL;
	do {
		dash = field(&s);
	} while (dash && strcmp(dash, "-"));
	if (!dash)
		return -EINVAL;
	major = strtoul(f[2], &majmin_end, 10);
	if (*majmin_end != ':')
		return -EINVAL;
	minor = strtoul(majmin_end + 1, &majmin_end, 10);
	if (*majmin_end)
		return -EINVAL;
	fstype = field(&s);
	source = field(&s);
	if (!fstype || !source)
		return -EINVAL;
	ret->dev = makedev(major, minor);
	ret->where = f[4];
	ret->fstype = fstype;
	ret->source = source;
	return 0;
}
