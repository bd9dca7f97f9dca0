/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * The target map's text form: what the initramfs hook writes and khib
 * resume reads to find an image beneath a root it cannot mount yet.
 */
#include "harness.h"
#include "targetmap.h"
#include "util.h"

#include <errno.h>
#include <limits.h>
#include <stdlib.h>
#include <string.h>

static struct khib_extent ext[] = {
	{ 0, 17825792, 1048576 },
	{ 1048576, 1091567616, 524288 },
	{ 1572864, 2164260864, 524288 },
};

static struct khib_blockmap sample(void)
{
	struct khib_blockmap m = { .bytes = 19968000000ULL, .part = 3, .ext = ext, .n = 3 };

	strcpy(m.name, "nvme0n1p3");
	strcpy(m.id, "eui.00112233445566778899aabbccddeeff");
	return m;
}

TEST(targetmap_roundtrip)
{
	struct khib_blockmap m = sample(), out;
	char target[PATH_MAX], *text;

	ASSERT_OK(khib_targetmap_format(&m, "/var/lib/khib/image", &text));
	ASSERT_TRUE(strstr(text, "\nextent = 1091567616 524288\n") != NULL);
	ASSERT_OK(khib_targetmap_parse(text, &out, target, sizeof(target), NULL));
	ASSERT_STREQ(target, "/var/lib/khib/image");
	ASSERT_STREQ(out.name, "nvme0n1p3");
	ASSERT_STREQ(out.id, m.id);
	ASSERT_EQ(out.part, 3);
	ASSERT_EQ_U64(out.bytes, m.bytes);
	ASSERT_EQ(out.n, 3);
	ASSERT_MEMEQ(out.ext, ext, sizeof(ext));
	khib_blockmap_release(&out);
	free(text);

	/* A whole device with no identity: no id line, no extents. */
	m.n = 0;
	m.id[0] = '\0';
	ASSERT_OK(khib_targetmap_format(&m, "/dev/vg/khib", &text));
	ASSERT_TRUE(strstr(text, "id =") == NULL);
	ASSERT_OK(khib_targetmap_parse(text, &out, target, sizeof(target), NULL));
	ASSERT_EQ(out.n, 0);
	ASSERT_TRUE(out.ext == NULL);
	ASSERT_STREQ(out.id, "");
	free(text);

	/* What the text cannot carry is refused when writing it. */
	ASSERT_EQ(khib_targetmap_format(&m, "/a\nb", &text), -EINVAL);
	ASSERT_EQ(khib_targetmap_format(&m, "/a#b", &text), -EINVAL);
	ASSERT_EQ(khib_targetmap_format(&m, "", &text), -EINVAL);
}

TEST(targetmap_refusals)
{
	static const char *const bad[] = {
		"",
		"device = vda\nbytes = 8192\n",				/* no target */
		"target = /x\nbytes = 8192\n",				/* no device */
		"target = /x\ndevice = vda\n",				/* no size */
		"target = /x\ndevice = vda\nbytes = 0\n",
		"target = /x\ndevice = vda\nbytes = 8192\ncolour = red\n",
		"target = /x\ntarget = /y\ndevice = vda\nbytes = 8192\n",
		"target = /x\ndevice = ../sda\nbytes = 8192\n",
		"target = /x\ndevice = mapper/x\nbytes = 8192\n",
		"target = /x\ndevice = vda\nbytes = 8192\npart = -1\n",
		"target = /x\ndevice = vda\nbytes = 8192\npart = 4294967296\n",
		"target = /x\ndevice = vda\nbytes = 8192\nextent = 0 0\n",
		"target = /x\ndevice = vda\nbytes = 8192\nextent = 512 4096\n",
		"target = /x\ndevice = vda\nbytes = 8192\nextent = 0 4096 4096\n",
		"target = /x\ndevice = vda\nbytes = 8192\nextent = 4096\n",
		"target = /x\ndevice = vda\nbytes = 8192\nextent = -4096 4096\n",
		"target = /x\ndevice = vda\nbytes = 8192\nextent = 4096 8192\n",	/* past the end */
		"target = /x\ndevice = vda\nbytes = 18446744073709551615\n"
		"extent = 18446744073709547520 8192\n",				/* wraps */
		"target = /x\ndevice = vda\nbytes = 8192\nid = \n",
		"target = /x\ndevice = vda\nbytes = 8192x\n",
	};
	char target[PATH_MAX], reason[KHIB_REASON_MAX];
	struct khib_blockmap m;

	for (size_t i = 0; i < ARRAY_SIZE(bad); i++) {
		reason[0] = '\0';
		if (khib_targetmap_parse(bad[i], &m, target, sizeof(target), reason) != -EINVAL ||
		    !reason[0])
			test_fail(__FILE__, __LINE__, "accepted or no reason: \"%s\"", bad[i]);
	}
	/* More extents than a target may have. */
	size_t n = KHIB_TARGET_MAX_EXTENTS + 1, len = 0;
	char *big = malloc(64 + n * 32);
	ASSERT_TRUE(big != NULL);
	len += (size_t)sprintf(big, "target = /x\ndevice = vda\nbytes = 1099511627776\n");
	for (size_t i = 0; i < n; i++)
		len += (size_t)sprintf(big + len, "extent = %zu 4096\n", i * 8192);
	ASSERT_EQ(khib_targetmap_parse(big, &m, target, sizeof(target), reason), -EINVAL);
	ASSERT_TRUE(strstr(reason, "line 65540") != NULL);
	free(big);
}
