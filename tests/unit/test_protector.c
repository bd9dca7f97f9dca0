/* SPDX-License-Identifier: GPL-2.0-only */
/* Key protectors (lib/format/protector.c) and the sealed key slot they fill
 * (lib/format/keyslot.c): a passphrase opens its protector and nothing else, the
 * resume copy carries no public key, a slot opens only in its own image. */
#include "protector.h"
#include "harness.h"

#include <errno.h>
#include <string.h>

#include "image.h"
#include "util.h"

/* Argon2id at its minimum: the tests check the wrapping, not its cost. */
#define OPS 1
#define MEM (1u << 16)

static void new_passphrase(struct khib_protector *p, const char *pass)
{
	ASSERT_OK(khib_protector_new_passphrase("laptop", pass, strlen(pass), OPS, MEM, p));
}

TEST(protector_passphrase_unlocks_only_with_it)
{
	struct khib_protector p, q;
	uint8_t pk[32], sk[32];

	new_passphrase(&p, "correct horse");
	ASSERT_EQ(p.type, KHIB_PROTECTOR_PASSPHRASE);
	ASSERT_TRUE(p.has_public_key);
	ASSERT_OK(khib_protector_unlock(&p, "correct horse", 13, pk, sk));
	ASSERT_MEMEQ(pk, p.public_key, 32);
	ASSERT_EQ(khib_protector_unlock(&p, "correct hors", 12, pk, sk), -EKEYREJECTED);
	ASSERT_EQ(khib_protector_unlock(&p, "correct horse!", 14, pk, sk), -EKEYREJECTED);
	/* The wrapped key is bound to its protector's id. */
	new_passphrase(&q, "correct horse");
	memcpy(q.wrapped_key, p.wrapped_key, sizeof(q.wrapped_key));
	memcpy(q.salt, p.salt, sizeof(q.salt));
	ASSERT_EQ(khib_protector_unlock(&q, "correct horse", 13, pk, sk), -EKEYREJECTED);
	ASSERT_EQ(khib_protector_new_passphrase("x", "", 0, OPS, MEM, &q), -EINVAL);
}

TEST(protector_file_round_trip)
{
	struct khib_protector p, back;
	char text[KHIB_PROTECTOR_TEXT_MAX], reason[KHIB_REASON_MAX];
	uint8_t pk[32], sk[32];

	new_passphrase(&p, "pw");
	khib_protector_format(&p, KHIB_PROTECTOR_FULL, text, sizeof(text));
	ASSERT_OK(khib_protector_parse(text, "laptop", &back, reason));
	ASSERT_STREQ(back.name, "laptop");
	ASSERT_MEMEQ(back.id, p.id, sizeof(p.id));
	ASSERT_TRUE(back.has_public_key);
	ASSERT_MEMEQ(back.public_key, p.public_key, 32);
	ASSERT_EQ_U64(back.opslimit, OPS);
	ASSERT_EQ_U64(back.memlimit, MEM);
	ASSERT_OK(khib_protector_unlock(&back, "pw", 2, pk, sk));

	/* The initramfs copy: everything to unlock, nothing to seal with. */
	khib_protector_format(&p, KHIB_PROTECTOR_RESUME, text, sizeof(text));
	ASSERT_TRUE(strstr(text, "public-key") == NULL);
	ASSERT_OK(khib_protector_parse(text, "laptop", &back, reason));
	ASSERT_TRUE(!back.has_public_key);
	ASSERT_OK(khib_protector_unlock(&back, "pw", 2, pk, sk));
	ASSERT_MEMEQ(pk, p.public_key, 32);
}

TEST(protector_file_refusals)
{
	struct khib_protector p;
	char reason[KHIB_REASON_MAX];

	ASSERT_EQ(khib_protector_parse("type = tpm3\n", "a", &p, reason), -EINVAL);
	ASSERT_STREQ(reason, "line 1: bad value for 'type': 'tpm3'");
	ASSERT_EQ(khib_protector_parse("type = key-file\nid = 00\n", "a", &p, reason), -EINVAL);
	ASSERT_EQ(khib_protector_parse("type = key-file\nid = 000102030405060708090a0b0c0d0e0f\n",
				       "a", &p, reason), -EINVAL);
	ASSERT_STREQ(reason, "no path");
	ASSERT_EQ(khib_protector_parse("type = key-file\nid = 000102030405060708090a0b0c0d0e0f\n"
				       "path = relative\n", "a", &p, reason), -EINVAL);
	ASSERT_OK(khib_protector_parse("type = key-file\nid = 000102030405060708090a0b0c0d0e0f\n"
				       "path = /etc/khib/key\n", "a", &p, reason));
	ASSERT_EQ(khib_protector_parse("type = passphrase\nid = 000102030405060708090a0b0c0d0e0f\n",
				       "a", &p, reason), -EINVAL);
	ASSERT_EQ(khib_protector_parse("type = key-file\nid = 000102030405060708090a0b0c0d0e0f\n"
				       "path = /k\npcrs = 7\n", "a", &p, reason), -EINVAL);
	ASSERT_STREQ(reason, "fields of another type of key");
	ASSERT_EQ(khib_protector_parse("colour = blue\n", "a", &p, reason), -EINVAL);
	ASSERT_STREQ(reason, "line 1: unknown key 'colour'");
	ASSERT_TRUE(khib_protector_name_valid("passphrase-2"));
	ASSERT_TRUE(!khib_protector_name_valid("../x"));
	ASSERT_TRUE(!khib_protector_name_valid(".hidden"));
	ASSERT_TRUE(!khib_protector_name_valid(""));
}

TEST(protector_sealed_slot_opens_in_its_image_only)
{
	struct khib_protector p, other;
	struct khib_image_key *key, *key2;
	uint8_t uuid[16], uuid2[16], pk[32], sk[32], dk[32];
	char reason[KHIB_REASON_MAX];

	new_passphrase(&p, "pw");
	new_passphrase(&other, "pw");
	ASSERT_OK(khib_image_key_new(KHIB_AEAD_XCHACHA20_POLY1305, &key, uuid));
	ASSERT_OK(khib_image_key_new(KHIB_AEAD_XCHACHA20_POLY1305, &key2, uuid2));
	ASSERT_OK(khib_protector_add_slot(&p, NULL, 0, key->key_area, KHIB_KEY_AREA_BYTES,
					  &key->n_slots, uuid, key->dk));
	ASSERT_EQ(key->n_slots, 1);
	ASSERT_TRUE(khib_keyslot_has(key->key_area, KHIB_KEY_AREA_BYTES, 1, KHIB_SLOT_SEALED,
				     p.id));
	ASSERT_TRUE(!khib_keyslot_has(key->key_area, KHIB_KEY_AREA_BYTES, 1, KHIB_SLOT_SEALED,
				      other.id));
	ASSERT_OK(khib_protector_unlock(&p, "pw", 2, pk, sk));
	ASSERT_OK(khib_keyslot_open_sealed(key->key_area, KHIB_KEY_AREA_BYTES, 1, uuid, p.id, pk,
					   sk, dk, reason));
	ASSERT_MEMEQ(dk, key->dk, 32);
	/* In another image (another UUID) the same slot opens nothing. */
	ASSERT_EQ(khib_keyslot_open_sealed(key->key_area, KHIB_KEY_AREA_BYTES, 1, uuid2, p.id, pk,
					   sk, dk, reason), -EKEYREJECTED);
	/* Another protector's key: no slot for it. */
	ASSERT_EQ(khib_keyslot_open_sealed(key->key_area, KHIB_KEY_AREA_BYTES, 1, uuid,
					   other.id, pk, sk, dk, reason), -ENOKEY);
	/* A damaged slot. */
	key->key_area[40] ^= 1;
	ASSERT_EQ(khib_keyslot_open_sealed(key->key_area, KHIB_KEY_AREA_BYTES, 1, uuid, p.id, pk,
					   sk, dk, reason), -EKEYREJECTED);
	/* A resume copy cannot seal: it has no public key. */
	p.has_public_key = false;
	ASSERT_EQ(khib_protector_add_slot(&p, NULL, 0, key2->key_area, KHIB_KEY_AREA_BYTES,
					  &key2->n_slots, uuid2, key2->dk), -ENOKEY);
	khib_secret_free(key);
	khib_secret_free(key2);
}

TEST(protector_keyfile_must_be_the_enrolled_file)
{
	struct khib_protector p;
	struct khib_image_key *key;
	uint8_t kf[64], uuid[16];

	memset(kf, 7, sizeof(kf));
	ASSERT_OK(khib_protector_new_keyfile("usb", "/media/k", kf, sizeof(kf), &p));
	ASSERT_OK(khib_image_key_new(KHIB_AEAD_XCHACHA20_POLY1305, &key, uuid));
	ASSERT_OK(khib_protector_add_slot(&p, kf, sizeof(kf), key->key_area, KHIB_KEY_AREA_BYTES,
					  &key->n_slots, uuid, key->dk));
	kf[0] ^= 1;
	ASSERT_EQ(khib_protector_add_slot(&p, kf, sizeof(kf), key->key_area, KHIB_KEY_AREA_BYTES,
					  &key->n_slots, uuid, key->dk), -EKEYREJECTED);
	ASSERT_EQ(key->n_slots, 1);
	ASSERT_EQ(khib_protector_new_keyfile("usb", "rel", kf, sizeof(kf), &p), -EINVAL);
	khib_secret_free(key);
}

TEST(protector_tpm2_slot_needs_the_auth_key)
{
	static const uint8_t blob[200] = { 0x4b, 0x48, 0x54, 0x32 };
	uint8_t ak[32], other_ak[32], uuid[16], uuid2[16], id[16] = { 9 };
	struct khib_image_key *key, *key2;
	char reason[KHIB_REASON_MAX];
	const uint8_t *got;
	uint64_t counter;
	size_t len;

	memset(ak, 1, sizeof(ak));
	memset(other_ak, 2, sizeof(other_ak));
	ASSERT_OK(khib_image_key_new(KHIB_AEAD_XCHACHA20_POLY1305, &key, uuid));
	ASSERT_OK(khib_image_key_new(KHIB_AEAD_XCHACHA20_POLY1305, &key2, uuid2));
	ASSERT_OK(khib_keyslot_add_tpm2(key->key_area, KHIB_KEY_AREA_BYTES, &key->n_slots, uuid, id,
					41, blob, sizeof(blob), ak));
	ASSERT_OK(khib_keyslot_open_tpm2(key->key_area, KHIB_KEY_AREA_BYTES, 1, uuid, id, ak,
					 &counter, &got, &len, reason));
	ASSERT_EQ_U64(counter, 41);
	ASSERT_EQ(len, sizeof(blob));
	ASSERT_MEMEQ(got, blob, sizeof(blob));
	/* Anyone can seal to the same PCRs; without the key, no slot. */
	ASSERT_EQ(khib_keyslot_open_tpm2(key->key_area, KHIB_KEY_AREA_BYTES, 1, uuid, id, other_ak,
					 &counter, &got, &len, reason), -EKEYREJECTED);
	ASSERT_STREQ(reason, "the TPM key slot is not authentic: this machine's hibernation did "
		     "not write it");
	/* Bound to its image, and to its counter value. */
	ASSERT_EQ(khib_keyslot_open_tpm2(key->key_area, KHIB_KEY_AREA_BYTES, 1, uuid2, id, ak,
					 &counter, &got, &len, reason), -EKEYREJECTED);
	key->key_area[20] ^= 1; /* the counter's low byte */
	ASSERT_EQ(khib_keyslot_open_tpm2(key->key_area, KHIB_KEY_AREA_BYTES, 1, uuid, id, ak,
					 &counter, &got, &len, reason), -EKEYREJECTED);
	key->key_area[20] ^= 1;
	key->key_area[60] ^= 1; /* the blob */
	ASSERT_EQ(khib_keyslot_open_tpm2(key->key_area, KHIB_KEY_AREA_BYTES, 1, uuid, id, ak,
					 &counter, &got, &len, reason), -EKEYREJECTED);
	ASSERT_EQ(khib_keyslot_add_tpm2(key2->key_area, KHIB_KEY_AREA_BYTES, &key2->n_slots, uuid2,
					id, 1, blob, 0, ak), -EINVAL);
	khib_secret_free(key);
	khib_secret_free(key2);
}

TEST(protector_tpm2_file_and_pcr_lists)
{
	struct khib_protector p = { .type = KHIB_PROTECTOR_TPM2, .pcr_mask = (1u << 7) | 1,
				    .auth_blob_len = 3, .auth_blob = { 1, 2, 3 } }, back;
	char text[KHIB_PROTECTOR_TEXT_MAX], reason[KHIB_REASON_MAX], list[KHIB_PCR_LIST_MAX];
	uint32_t mask;

	snprintf(p.name, sizeof(p.name), "tpm2");
	snprintf(p.tcti, sizeof(p.tcti), "swtpm:host=127.0.0.1,port=2321");
	khib_protector_format(&p, KHIB_PROTECTOR_RESUME, text, sizeof(text));
	ASSERT_TRUE(strstr(text, "pcrs = 0,7\n") != NULL);
	ASSERT_OK(khib_protector_parse(text, "tpm2", &back, reason));
	ASSERT_EQ(back.pcr_mask, p.pcr_mask);
	ASSERT_EQ(back.auth_blob_len, 3);
	ASSERT_MEMEQ(back.auth_blob, p.auth_blob, 3);
	ASSERT_STREQ(back.tcti, p.tcti);
	ASSERT_OK(khib_pcr_list_parse("23", &mask));
	ASSERT_EQ(mask, 1u << 23);
	ASSERT_EQ(khib_pcr_list_parse("24", &mask), -EINVAL);
	ASSERT_EQ(khib_pcr_list_parse("7,", &mask), -EINVAL);
	ASSERT_EQ(khib_pcr_list_parse("", &mask), -EINVAL);
	ASSERT_EQ(khib_pcr_list_parse("7;8", &mask), -EINVAL);
	khib_pcr_list_format((1u << 23) | (1u << 4) | (1u << 7), list, sizeof(list));
	ASSERT_STREQ(list, "4,7,23");
	ASSERT_EQ(khib_protector_parse("type = tpm2\nid = 000102030405060708090a0b0c0d0e0f\n"
				       "pcrs = 7\n", "t", &back, reason), -EINVAL);
	ASSERT_STREQ(reason, "no pcrs or auth-key");
}
