/* SPDX-License-Identifier: GPL-2.0-only */
#include "keyslot.h"

#include <errno.h>
#include <sodium.h>
#include <string.h>

#include "util.h"

#define SLOT_HEAD (2 + 2 + KHIB_KEY_ID_BYTES)
#define NONCE_BYTES crypto_aead_xchacha20poly1305_ietf_NPUBBYTES
#define KEYFILE_DATA (NONCE_BYTES + KHIB_DATA_KEY_BYTES + KHIB_AEAD_TAG_BYTES)
/* A sealed slot's message: UUID, type, data key; its box adds an ephemeral
 * public key and a tag. */
#define SEALED_MSG (16 + 2 + KHIB_DATA_KEY_BYTES)
#define SEALED_DATA (SEALED_MSG + crypto_box_SEALBYTES)
/* A TPM2 slot: u64 counter, u16 blob bytes, the blob, the MAC. */
#define TPM2_FIXED (8 + 2 + KHIB_MAC_BYTES)

static const char KDF_CONTEXT[crypto_kdf_CONTEXTBYTES] = { 'k', 'h', 'i', 'b', 'k', 'e', 'y', 'f' };
enum { KEYFILE_KEK = 1, KEYFILE_ID = 2 };

/* Where slot i starts, walking the area; the end of the last slot for
 * i == n_slots.  -EBADMSG when a slot runs past the area. */
static int slot_at(const uint8_t *area, size_t area_bytes, uint32_t i, size_t *ret)
{
	size_t off = 0;

	for (uint32_t k = 0; k < i; k++) {
		if (off + SLOT_HEAD > area_bytes)
			return -EBADMSG;
		off += SLOT_HEAD + khib_get_le16(area + off + 2);
		if (off > area_bytes)
			return -EBADMSG;
	}
	*ret = off;
	return 0;
}

/* The key file's master key, kek and id.  SECURITY: m and kek are secret. */
static int keyfile_keys(const uint8_t *keyfile, size_t len, uint8_t kek[32],
			uint8_t id[KHIB_KEY_ID_BYTES])
{
	uint8_t m[crypto_kdf_KEYBYTES];

	if (len < KHIB_KEYFILE_MIN_BYTES || len > KHIB_KEYFILE_MAX_BYTES)
		return -EINVAL;
	if (khib_crypt_init() < 0)
		return -ENOSYS;
	crypto_generichash(m, sizeof(m), keyfile, len, NULL, 0);
	if (kek)
		crypto_kdf_derive_from_key(kek, 32, KEYFILE_KEK, KDF_CONTEXT, m);
	crypto_kdf_derive_from_key(id, KHIB_KEY_ID_BYTES, KEYFILE_ID, KDF_CONTEXT, m);
	sodium_memzero(m, sizeof(m));
	return 0;
}

int khib_image_key_new(enum khib_aead a, struct khib_image_key **ret, uint8_t uuid[16])
{
	struct khib_image_key *k = khib_secret_alloc(sizeof(*k));
	int r;

	if (!k)
		return -ENOMEM;
	memset(k, 0, sizeof(*k));
	k->aead = a;
	if ((r = khib_data_key_new(k->dk)) < 0) {
		khib_secret_free(k);
		return r;
	}
	randombytes_buf(uuid, 16);
	uuid[6] = (uint8_t)((uuid[6] & 0x0f) | 0x40);
	uuid[8] = (uint8_t)((uuid[8] & 0x3f) | 0x80);
	*ret = k;
	return 0;
}

int khib_keyfile_id(const uint8_t *keyfile, size_t len, uint8_t id[KHIB_KEY_ID_BYTES])
{
	return keyfile_keys(keyfile, len, NULL, id);
}

/* What a slot binds its data key to: the image and the slot type. */
static void slot_ad(const uint8_t uuid[16], uint16_t type, uint8_t ad[18])
{
	memcpy(ad, uuid, 16);
	khib_put_le16(ad + 16, type);
}

/* Where a new slot with data_bytes of data goes: after the n_slots there
 * are.  -ENOSPC when it does not fit, -EBADMSG for an area that does not
 * decode. */
static int slot_room(const uint8_t *area, size_t area_bytes, uint32_t n_slots,
		     size_t data_bytes, size_t *ret_off)
{
	int r = slot_at(area, area_bytes, n_slots, ret_off);

	if (r < 0)
		return r;
	return *ret_off + SLOT_HEAD + data_bytes > area_bytes ? -ENOSPC : 0;
}

/* A slot's head at s: type, data bytes and key id (id NULL: already
 * there); returns where its data goes. */
static uint8_t *slot_head(uint8_t *s, uint16_t type, size_t data_bytes,
			  const uint8_t id[KHIB_KEY_ID_BYTES])
{
	khib_put_le16(s, type);
	khib_put_le16(s + 2, (uint16_t)data_bytes);
	if (id)
		memcpy(s + 4, id, KHIB_KEY_ID_BYTES);
	return s + SLOT_HEAD;
}

int khib_keyslot_add_keyfile(uint8_t *area, size_t area_bytes, uint32_t *n_slots,
			     const uint8_t uuid[16], const uint8_t dk[KHIB_DATA_KEY_BYTES],
			     const uint8_t *keyfile, size_t len)
{
	uint8_t *kek = NULL, ad[18], *d;
	size_t off;
	int r;

	if ((r = slot_room(area, area_bytes, *n_slots, KEYFILE_DATA, &off)) < 0)
		return r;
	if (!(kek = khib_secret_alloc(32)))
		return -ENOMEM;
	if ((r = keyfile_keys(keyfile, len, kek, area + off + 4)) >= 0) {
		d = slot_head(area + off, KHIB_SLOT_KEYFILE, KEYFILE_DATA, NULL);
		randombytes_buf(d, NONCE_BYTES);
		slot_ad(uuid, KHIB_SLOT_KEYFILE, ad);
		crypto_aead_xchacha20poly1305_ietf_encrypt(d + NONCE_BYTES, NULL, dk,
							   KHIB_DATA_KEY_BYTES, ad, sizeof(ad),
							   NULL, d, kek);
		(*n_slots)++;
	}
	khib_secret_free(kek);
	return r;
}

/* The slot of this type and key id: its offset.  -ENOKEY when there is
 * none, -EBADMSG when the walk runs past the area. */
static int find_slot(const uint8_t *area, size_t area_bytes, uint32_t n_slots, uint16_t type,
		     const uint8_t id[KHIB_KEY_ID_BYTES], size_t *ret, char *reason)
{
	size_t off;

	for (uint32_t i = 0; i < n_slots; i++) {
		if (slot_at(area, area_bytes, i, &off) < 0 || off + SLOT_HEAD > area_bytes)
			return khib_fail(reason, -EBADMSG, "key slot %u runs past the key area", i);
		if (khib_get_le16(area + off) == type &&
		    !memcmp(area + off + 4, id, KHIB_KEY_ID_BYTES)) {
			*ret = off;
			return 0;
		}
	}
	return -ENOKEY;
}

bool khib_keyslot_has(const uint8_t *area, size_t area_bytes, uint32_t n_slots, uint16_t type,
		      const uint8_t id[KHIB_KEY_ID_BYTES])
{
	size_t off;

	return find_slot(area, area_bytes, n_slots, type, id, &off, NULL) == 0;
}

/* Slot data of exactly `bytes` within the area, or -EKEYREJECTED. */
static int slot_data(const uint8_t *area, size_t area_bytes, size_t off, size_t bytes,
		     const char *what, char *reason)
{
	if (khib_get_le16(area + off + 2) != bytes || off + SLOT_HEAD + bytes > area_bytes)
		return khib_fail(reason, -EKEYREJECTED, "the key slot of this %s has the wrong "
				 "size", what);
	return 0;
}

int khib_keyslot_open_keyfile(const uint8_t *area, size_t area_bytes, uint32_t n_slots,
			      const uint8_t uuid[16], const uint8_t *keyfile, size_t len,
			      uint8_t dk[KHIB_DATA_KEY_BYTES], char *reason)
{
	uint8_t id[KHIB_KEY_ID_BYTES], ad[18], *kek = NULL;
	const uint8_t *s;
	size_t off;
	int r;

	if (!(kek = khib_secret_alloc(32)))
		return -ENOMEM;
	if ((r = keyfile_keys(keyfile, len, kek, id)) < 0) {
		khib_secret_free(kek);
		return khib_fail(reason, r, "the key file is not one khib can use (%u bytes at least)",
				 KHIB_KEYFILE_MIN_BYTES);
	}
	r = find_slot(area, area_bytes, n_slots, KHIB_SLOT_KEYFILE, id, &off, reason);
	if (r == -ENOKEY)
		khib_fail(reason, r, "no key slot of this image is for this key file");
	if (r >= 0)
		r = slot_data(area, area_bytes, off, KEYFILE_DATA, "key file", reason);
	if (r >= 0) {
		s = area + off;
		slot_ad(uuid, KHIB_SLOT_KEYFILE, ad);
		if (crypto_aead_xchacha20poly1305_ietf_decrypt(dk, NULL, NULL,
							       s + SLOT_HEAD + NONCE_BYTES,
							       KHIB_DATA_KEY_BYTES +
							       KHIB_AEAD_TAG_BYTES, ad, sizeof(ad),
							       s + SLOT_HEAD, kek) < 0)
			r = khib_fail(reason, -EKEYREJECTED, "the key slot of this key file does not "
				      "open: it belongs to another image, or is damaged");
	}
	khib_secret_free(kek);
	return r;
}

int khib_keyslot_add_sealed(uint8_t *area, size_t area_bytes, uint32_t *n_slots,
			    const uint8_t uuid[16], const uint8_t dk[KHIB_DATA_KEY_BYTES],
			    const uint8_t id[KHIB_KEY_ID_BYTES],
			    const uint8_t pk[KHIB_SEALED_PK_BYTES])
{
	uint8_t *msg, *d;
	size_t off;
	int r;

	if ((r = slot_room(area, area_bytes, *n_slots, SEALED_DATA, &off)) < 0)
		return r;
	if (khib_crypt_init() < 0)
		return -ENOSYS;
	if (!(msg = khib_secret_alloc(SEALED_MSG)))
		return -ENOMEM;
	slot_ad(uuid, KHIB_SLOT_SEALED, msg);
	memcpy(msg + 18, dk, KHIB_DATA_KEY_BYTES);
	d = slot_head(area + off, KHIB_SLOT_SEALED, SEALED_DATA, id);
	r = crypto_box_seal(d, msg, SEALED_MSG, pk) < 0 ? -EINVAL : 0;
	khib_secret_free(msg);
	if (r >= 0)
		(*n_slots)++;
	return r;
}

int khib_keyslot_open_sealed(const uint8_t *area, size_t area_bytes, uint32_t n_slots,
			     const uint8_t uuid[16], const uint8_t id[KHIB_KEY_ID_BYTES],
			     const uint8_t pk[KHIB_SEALED_PK_BYTES],
			     const uint8_t sk[KHIB_SEALED_SK_BYTES],
			     uint8_t dk[KHIB_DATA_KEY_BYTES], char *reason)
{
	uint8_t *msg, ad[18];
	size_t off;
	int r;

	r = find_slot(area, area_bytes, n_slots, KHIB_SLOT_SEALED, id, &off, reason);
	if (r == -ENOKEY)
		return khib_fail(reason, r, "no key slot of this image is for this key");
	if (r >= 0)
		r = slot_data(area, area_bytes, off, SEALED_DATA, "key", reason);
	if (r < 0)
		return r;
	if (khib_crypt_init() < 0)
		return -ENOSYS;
	if (!(msg = khib_secret_alloc(SEALED_MSG)))
		return -ENOMEM;
	slot_ad(uuid, KHIB_SLOT_SEALED, ad);
	if (crypto_box_seal_open(msg, area + off + SLOT_HEAD, SEALED_DATA, pk, sk) < 0 ||
	    sodium_memcmp(msg, ad, sizeof(ad)) != 0)
		r = khib_fail(reason, -EKEYREJECTED, "the key slot of this key does not open: it "
			      "belongs to another image, or is damaged");
	else
		memcpy(dk, msg + 18, KHIB_DATA_KEY_BYTES);
	khib_secret_free(msg);
	return r;
}

/* A TPM2 slot's MAC: over the image UUID, the slot type, the key id, the
 * counter value and the blob. */
static void tpm2_mac(const uint8_t uuid[16], const uint8_t id[KHIB_KEY_ID_BYTES], uint64_t counter,
		     const uint8_t *blob, size_t blob_len, const uint8_t ak[KHIB_SLOT_AUTH_KEY_BYTES],
		     uint8_t out[KHIB_MAC_BYTES])
{
	crypto_generichash_state st;
	uint8_t head[18 + KHIB_KEY_ID_BYTES + 8];

	slot_ad(uuid, KHIB_SLOT_TPM2, head);
	memcpy(head + 18, id, KHIB_KEY_ID_BYTES);
	khib_put_le64(head + 18 + KHIB_KEY_ID_BYTES, counter);
	crypto_generichash_init(&st, ak, KHIB_SLOT_AUTH_KEY_BYTES, KHIB_MAC_BYTES);
	crypto_generichash_update(&st, head, sizeof(head));
	crypto_generichash_update(&st, blob, blob_len);
	crypto_generichash_final(&st, out, KHIB_MAC_BYTES);
	sodium_memzero(&st, sizeof(st));
}

int khib_keyslot_add_tpm2(uint8_t *area, size_t area_bytes, uint32_t *n_slots,
			  const uint8_t uuid[16], const uint8_t id[KHIB_KEY_ID_BYTES],
			  uint64_t counter, const uint8_t *blob, size_t blob_len,
			  const uint8_t ak[KHIB_SLOT_AUTH_KEY_BYTES])
{
	size_t off;
	uint8_t *s;
	int r;

	if (!blob_len || blob_len > KHIB_SLOT_TPM2_BLOB_MAX)
		return -EINVAL;
	if ((r = slot_room(area, area_bytes, *n_slots, TPM2_FIXED + blob_len, &off)) < 0)
		return r;
	if (khib_crypt_init() < 0)
		return -ENOSYS;
	s = slot_head(area + off, KHIB_SLOT_TPM2, TPM2_FIXED + blob_len, id);
	khib_put_le64(s, counter);
	khib_put_le16(s + 8, (uint16_t)blob_len);
	memcpy(s + 10, blob, blob_len);
	tpm2_mac(uuid, id, counter, blob, blob_len, ak, s + 10 + blob_len);
	(*n_slots)++;
	return 0;
}

int khib_keyslot_open_tpm2(const uint8_t *area, size_t area_bytes, uint32_t n_slots,
			   const uint8_t uuid[16], const uint8_t id[KHIB_KEY_ID_BYTES],
			   const uint8_t ak[KHIB_SLOT_AUTH_KEY_BYTES], uint64_t *ret_counter,
			   const uint8_t **ret_blob, size_t *ret_blob_len, char *reason)
{
	uint8_t mac[KHIB_MAC_BYTES];
	const uint8_t *s;
	size_t off, data, blob_len;
	int r;

	r = find_slot(area, area_bytes, n_slots, KHIB_SLOT_TPM2, id, &off, reason);
	if (r == -ENOKEY)
		return khib_fail(reason, r, "no key slot of this image is for this TPM key");
	if (r < 0)
		return r;
	s = area + off;
	data = khib_get_le16(s + 2);
	s += SLOT_HEAD;
	if (data < TPM2_FIXED + 1 || off + SLOT_HEAD + data > area_bytes ||
	    (blob_len = khib_get_le16(s + 8)) != data - TPM2_FIXED)
		return khib_fail(reason, -EKEYREJECTED, "the TPM key slot has the wrong size");
	if (khib_crypt_init() < 0)
		return -ENOSYS;
	tpm2_mac(uuid, id, khib_get_le64(s), s + 10, blob_len, ak, mac);
	if (sodium_memcmp(mac, s + 10 + blob_len, sizeof(mac)) != 0)
		return khib_fail(reason, -EKEYREJECTED, "the TPM key slot is not authentic: this "
				 "machine's hibernation did not write it");
	*ret_counter = khib_get_le64(s);
	*ret_blob = s + 10;
	*ret_blob_len = blob_len;
	return 0;
}

const char *khib_keyslot_type_name(uint16_t type)
{
	switch (type) {
	case KHIB_SLOT_KEYFILE: return "key-file";
	case KHIB_SLOT_SEALED: return "sealed";
	case KHIB_SLOT_TPM2: return "tpm2";
	}
	return "unknown";
}

int khib_keyslot_list(const uint8_t *area, size_t area_bytes, uint32_t n_slots,
		      struct khib_keyslot_info *ret, size_t max)
{
	size_t off;
	uint32_t i;

	for (i = 0; i < n_slots && i < max; i++) {
		if (slot_at(area, area_bytes, i, &off) < 0 || off + SLOT_HEAD > area_bytes)
			return -EBADMSG;
		ret[i].type = khib_get_le16(area + off);
		memcpy(ret[i].id, area + off + 4, KHIB_KEY_ID_BYTES);
	}
	return (int)i;
}
