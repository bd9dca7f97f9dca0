/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * Encrypted images (format 2): written and read back through a key file's
 * slot, and refused, each with one clear reason, when the key is missing or
 * wrong, the header is forged with public facts only, a slot is moved from
 * another image, a chunk is spliced in from a second image of the same
 * machine, or the image is cut short.  doc/SECURITY.md names these tests.
 */
#include "checksum.h"
#include "harness.h"
#include "image.h"
#include "image_format.h"
#include "keyslot.h"
#include "test_image_fixture.h"
#include "util.h"

#include <errno.h>
#include <stdlib.h>

static const uint8_t keyfile[40] = "a key file of forty bytes, random enough";
static const uint8_t other_keyfile[40] = "another key file, forty bytes in length.";

struct keyfile_ctx {
	const uint8_t *data;
	size_t len;
};

static int open_with_keyfile(void *ctx, const uint8_t uuid[16], const uint8_t *area,
			     uint32_t n_slots, uint8_t dk[32], char *reason)
{
	const struct keyfile_ctx *k = ctx;

	return khib_keyslot_open_keyfile(area, KHIB_KEY_AREA_BYTES, n_slots, uuid, k->data, k->len,
					 dk, reason);
}

struct sealed {
	struct fx_machine m;
	struct fx_disk d;
	struct khib_target *t;
	struct khib_image_key *key;
	uint8_t uuid[16];
};

/* An encrypted image of the small machine, its data key in a key file's
 * slot. */
static void write_sealed(struct sealed *s, enum khib_aead a, uint64_t seed, uint8_t uuid_byte)
{
	struct khib_writer_params p;

	s->key = khib_secret_alloc(sizeof(*s->key));
	ASSERT_TRUE(s->key != NULL);
	memset(s->key, 0, sizeof(*s->key));
	s->key->aead = a;
	ASSERT_OK(khib_data_key_new(s->key->dk));
	memset(s->uuid, uuid_byte, sizeof(s->uuid));
	ASSERT_OK(khib_keyslot_add_keyfile(s->key->key_area, KHIB_KEY_AREA_BYTES, &s->key->n_slots,
					   s->uuid, s->key->dk, keyfile, sizeof(keyfile)));
	fx_machine_small(&s->m, seed);
	fx_params(&s->m, &p, KHIB_CODEC_LZ4, 16, 2);
	p.key = s->key;
	p.uuid = s->uuid;
	ASSERT_OK(fx_disk_target(&s->d, 4 << 20, &s->t));
	ASSERT_OK(fx_write(&s->m, s->t, &p));
}

static void release(struct sealed *s)
{
	khib_target_free(s->t);
	free(s->d.buf);
	khib_secret_free(s->key);
	fx_machine_release(&s->m);
}

static int check_with(struct sealed *s, const uint8_t *kf, size_t len, char *reason)
{
	struct keyfile_ctx k = { kf, len };

	return fx_check_keyed(&s->m, s->t, open_with_keyfile, &k, reason);
}

/* 64 bytes of the page with at least 16 different values, or NULL. */
static const uint8_t *distinctive(const uint8_t *pg)
{
	for (size_t o = 0; o < 4096; o += 64) {
		bool seen[256] = { false };
		int n = 0;

		for (size_t j = 0; j < 64; j++)
			if (!seen[pg[o + j]]) {
				seen[pg[o + j]] = true;
				n++;
			}
		if (n >= 16)
			return pg + o;
	}
	return NULL;
}

static void roundtrip(enum khib_aead a)
{
	char reason[KHIB_REASON_MAX] = "";
	struct khib_reader *r;
	struct sealed s;
	int q;

	if (!khib_aead_available(a))
		return;
	write_sealed(&s, a, 21, 0x11);
	q = check_with(&s, keyfile, sizeof(keyfile), reason);
	if (q < 0)
		test_fail(__FILE__, __LINE__, "fx_check_keyed: %d %s", q, reason);
	/* Nothing of memory is on the disk in clear: no distinctive 64 bytes
	 * of any page of the machine appear in the image. */
	for (size_t i = 0; i < s.m.n_ranges; i++)
		for (uint64_t k = 0; k < s.m.ranges[i].npages; k++) {
			const uint8_t *pg = fx_page(&s.m, s.m.ranges[i].paddr + k * 4096);
			const uint8_t *w = pg ? distinctive(pg) : NULL;

			ASSERT_TRUE(!w || !memmem(s.d.buf, s.d.size, w, 64));
		}
	ASSERT_OK(khib_reader_open(s.t, KHIB_READER_PUBLIC, &r, reason));
	ASSERT_EQ(khib_reader_info(r)->encryption.algorithm, a);
	ASSERT_EQ(khib_reader_info(r)->version, 2);
	khib_reader_free(r);
	release(&s);
}

TEST(image_crypt_roundtrip_xchacha20) { roundtrip(KHIB_AEAD_XCHACHA20_POLY1305); }
TEST(image_crypt_roundtrip_aes256gcm) { roundtrip(KHIB_AEAD_AES256_GCM); }

TEST(image_crypt_needs_its_key)
{
	char reason[KHIB_REASON_MAX] = "";
	struct khib_reader *r;
	struct sealed s;

	write_sealed(&s, KHIB_AEAD_XCHACHA20_POLY1305, 22, 0x22);
	ASSERT_EQ(khib_reader_open(s.t, 0, &r, reason), -ENOKEY);
	ASSERT_STREQ(reason, "the image is encrypted and no key was given");
	ASSERT_EQ(check_with(&s, other_keyfile, sizeof(other_keyfile), reason), -ENOKEY);
	ASSERT_STREQ(reason, "no key slot of this image is for this key file");
	ASSERT_EQ(check_with(&s, keyfile, 31, reason), -EINVAL);
	release(&s);
}

/* Reseal all a forger with the disk can recompute without the key: the
 * header checksum, the meta hash (tables as stored, then the header) and the
 * commit record's checksums (doc/FORMAT.md offsets). */
static void reseal_public(uint8_t *img, bool sealed)
{
	uint8_t *h = img + 0x1000, *c = img;
	uint64_t tag = sealed ? 16 : 0;
	const uint64_t tables[4][2] = {
		{ khib_get_le64(h + 0xD0), khib_get_le64(h + 0xD8) * 16 },
		{ khib_get_le64(h + 0xE8), khib_get_le64(h + 0xF0) * 48 },
		{ khib_get_le64(h + 0x100), khib_get_le64(h + 0x108) },
		{ khib_get_le64(h + 0x230), khib_get_le64(h + 0x238) * 96 },
	};
	struct khib_hash_state st;

	khib_put_le64(h + 0x3F8, khib_hash64(h, 0x3F8));
	khib_hash_init(&st);
	for (int i = 0; i < 4; i++)
		khib_hash_update(&st, img + tables[i][0], tables[i][1] + tag);
	khib_hash_update(&st, h, 1024);
	khib_put_le64(c + 0x20, khib_get_le64(h + 0x3F8));
	khib_put_le64(c + 0x28, khib_hash_final(&st));
	khib_put_le64(c + 0x38, khib_hash64(c, 0x38));
}

/* What encryption closes: in clear, anyone who can write the disk sets the
 * entry point of the restored kernel and the image still reads as valid. */
TEST(image_crypt_clear_image_can_be_forged)
{
	char reason[KHIB_REASON_MAX] = "";
	struct khib_writer_params p;
	struct khib_reader *r;
	struct khib_target *t;
	struct fx_machine m;
	struct fx_disk d;

	fx_machine_small(&m, 24);
	fx_params(&m, &p, KHIB_CODEC_LZ4, 16, 1);
	ASSERT_OK(fx_disk_target(&d, 4 << 20, &t));
	ASSERT_OK(fx_write(&m, t, &p));
	khib_put_le64(d.buf + 0x1000 + 0x070, 0x41414000);
	reseal_public(d.buf, false);
	ASSERT_OK(khib_reader_open(t, 0, &r, reason));
	ASSERT_EQ_U64(khib_reader_info(r)->resume.jump_back_entry, 0x41414000);
	khib_reader_free(r);
	khib_target_free(t);
	free(d.buf);
	fx_machine_release(&m);
}

TEST(image_crypt_forged_header_refused)
{
	char reason[KHIB_REASON_MAX] = "";
	struct sealed s;

	write_sealed(&s, KHIB_AEAD_XCHACHA20_POLY1305, 23, 0x33);
	/* The jump-back entry: where the restored kernel is entered. */
	khib_put_le64(s.d.buf + 0x1000 + 0x070, 0x41414000);
	reseal_public(s.d.buf, true);
	ASSERT_EQ(check_with(&s, keyfile, sizeof(keyfile), reason), -EBADMSG);
	ASSERT_STREQ(reason, "the header fails authentication: the image was forged or damaged, "
		     "or the key is not its own");
	release(&s);
}

/* A key slot copied from another image (same key file) opens nothing: the
 * slot is bound to its image's UUID. */
TEST(image_crypt_slot_of_another_image_refused)
{
	char reason[KHIB_REASON_MAX] = "";
	struct sealed a, b;

	write_sealed(&a, KHIB_AEAD_XCHACHA20_POLY1305, 25, 0x44);
	write_sealed(&b, KHIB_AEAD_XCHACHA20_POLY1305, 25, 0x55);
	memcpy(b.d.buf + 0x1400, a.d.buf + 0x1400, KHIB_KEY_AREA_BYTES);
	khib_put_le64(b.d.buf + 0x1000 + 0x1B8, khib_hash64(b.d.buf + 0x1400, KHIB_KEY_AREA_BYTES));
	reseal_public(b.d.buf, true);
	ASSERT_EQ(check_with(&b, keyfile, sizeof(keyfile), reason), -EKEYREJECTED);
	ASSERT_STREQ(reason, "the key slot of this key file does not open: it belongs to another "
		     "image, or is damaged");
	release(&a);
	release(&b);
}

/* The first data chunk of a second image of the same machine, put in the
 * place of this image's: refused before any page of it is handed out. */
TEST(image_crypt_spliced_chunk_refused)
{
	char reason[KHIB_REASON_MAX] = "";
	struct sealed a, b;

	write_sealed(&a, KHIB_AEAD_XCHACHA20_POLY1305, 26, 0x66);
	write_sealed(&b, KHIB_AEAD_XCHACHA20_POLY1305, 26, 0x66); /* even the same UUID */
	memcpy(b.d.buf + 0x2000, a.d.buf + 0x2000, 0x1000);
	ASSERT_EQ(check_with(&b, keyfile, sizeof(keyfile), reason), -EBADMSG);
	/* The block copied holds chunk 0 and the start of chunk 1; the threads
	 * that check them race to report. */
	ASSERT_TRUE(strstr(reason, "chunk 0") != NULL || strstr(reason, "chunk 1") != NULL);
	release(&a);
	release(&b);
}

/* Cut short: the tables at the end are gone. */
TEST(image_crypt_truncated_refused)
{
	char reason[KHIB_REASON_MAX] = "";
	struct khib_target *t;
	struct sealed s;
	uint64_t end;

	write_sealed(&s, KHIB_AEAD_XCHACHA20_POLY1305, 27, 0x77);
	end = khib_get_le64(s.d.buf + 0x1000 + 0xC8);
	ASSERT_OK(khib_target_new_memory(s.d.buf, end - 4096, false, &t));
	khib_target_free(s.t);
	s.t = t;
	ASSERT_EQ(check_with(&s, keyfile, sizeof(keyfile), reason), -EBADMSG);
	ASSERT_TRUE(strstr(reason, "truncated") != NULL);
	release(&s);
}

/* A sealed payload has no checksum of its own (0, FORMAT.md "Encryption"):
 * any byte of it or of its tag changed, in every chunk, is refused by the
 * tag before a page of it is handed out. */
TEST(image_crypt_damaged_payload_refused)
{
	char reason[KHIB_REASON_MAX] = "";
	uint64_t off, end, chunks = 0;
	struct sealed s;

	write_sealed(&s, KHIB_AEAD_AES256_GCM, 28, 0x88);
	if (!khib_aead_available(KHIB_AEAD_AES256_GCM)) {
		release(&s);
		write_sealed(&s, KHIB_AEAD_XCHACHA20_POLY1305, 28, 0x88);
	}
	end = khib_get_le64(s.d.buf + 0x1000 + 0xC0);
	for (off = 0x2000; off < end; chunks++) {
		uint8_t *c = s.d.buf + off;
		uint32_t hb = khib_get_le32(c + 0x04), pb = khib_get_le32(c + 0x30);
		const uint32_t at[] = { 0, pb / 2, pb - 17, pb - 16, pb - 1 };

		ASSERT_TRUE(!memcmp(c, "KHCK", 4) && pb > 16);
		ASSERT_EQ_U64(khib_get_le64(c + 0x38), 0);
		for (size_t i = 0; i < sizeof(at) / sizeof(at[0]); i++) {
			c[hb + at[i]] ^= 0x20;
			ASSERT_EQ(check_with(&s, keyfile, sizeof(keyfile), reason), -EBADMSG);
			ASSERT_TRUE(strstr(reason, "fails authentication") != NULL);
			c[hb + at[i]] ^= 0x20;
		}
		off += ALIGN_UP((uint64_t)hb + pb, 4096);
	}
	ASSERT_TRUE(chunks > 2);
	ASSERT_OK(check_with(&s, keyfile, sizeof(keyfile), reason));
	release(&s);
}

/* Give chunk 0 of s a payload checksum, as a forger holding the key could:
 * its header and the sealed index agree on it, and the header's MAC, hashes
 * and the commit record are made anew. */
static void forge_payload_checksum(struct sealed *s, uint64_t value)
{
	uint8_t *img = s->d.buf, *h = img + 0x1000;
	uint64_t ix = khib_get_le64(h + 0xE8), ib = khib_get_le64(h + 0xF0) * 48;
	struct khib_image_keys *keys;
	uint8_t *c;
	uint32_t hb;

	ASSERT_OK(khib_keys_new((enum khib_aead)s->key->aead, s->key->dk, &keys));
	ASSERT_OK(khib_open(keys, KHIB_SEAL_TABLE, KHIB_TABLE_INDEX, s->uuid, 16, img + ix, ib + 16));
	c = img + khib_get_le64(img + ix + 0x10);
	hb = khib_get_le32(c + 0x04);
	khib_put_le64(c + 0x38, value);
	khib_put_le64(c + hb - 8, khib_hash64(c, hb - 8));
	khib_put_le64(img + ix + 0x20, khib_get_le64(c + hb - 8));
	khib_put_le64(img + ix + 0x28, value);
	ASSERT_OK(khib_seal(keys, KHIB_SEAL_TABLE, KHIB_TABLE_INDEX, s->uuid, 16, img + ix, ib));
	khib_put_le64(h + 0xF8, khib_hash64(img + ix, ib + 16));
	memset(h + 0x1E8, 0, 32);
	khib_mac(keys, h, 0x3F8, h + 0x1E8);
	reseal_public(img, true);
	khib_keys_free(keys);
}

/* The payload checksum of a sealed chunk holds exactly 0. */
TEST(image_crypt_payload_checksum_refused)
{
	char reason[KHIB_REASON_MAX] = "";
	struct sealed s;

	write_sealed(&s, KHIB_AEAD_XCHACHA20_POLY1305, 29, 0x99);
	forge_payload_checksum(&s, 0);
	ASSERT_OK(check_with(&s, keyfile, sizeof(keyfile), reason));
	forge_payload_checksum(&s, 0x1234);
	ASSERT_EQ(check_with(&s, keyfile, sizeof(keyfile), reason), -EBADMSG);
	ASSERT_STREQ(reason, "chunk 0: sealed with a payload checksum");
	release(&s);
}
