/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * Key slots: the data key of an image, wrapped for each protector enrolled,
 * in the image's key area (KHIB_KEY_AREA_BYTES after its header, doc/FORMAT.md
 * "Key area").  Slots lie back to back:
 *
 *   u16 type, u16 data bytes, 16 bytes key id, data
 *
 * and the area is zero after the last.  A slot names its protector by key
 * id, so that a resume tries only the slot of the key it holds, and `khib
 * key list` can say which keys open an image.
 *
 * Protectors so far:
 *   KHIB_SLOT_KEYFILE  a key file of at least 32 random bytes.  Its key id
 *       and its key-encryption key are derived from it (BLAKE2b, crypto_kdf);
 *       the data key is sealed with XChaCha20-Poly1305 under a random nonce,
 *       with the image's UUID as associated data, so a slot copied into
 *       another image opens nothing there.
 *   KHIB_SLOT_SEALED  a public key (X25519) whose secret half the
 *       hibernating system does not hold -- for a passphrase protector it
 *       is stored wrapped by the passphrase (protector.h).  The slot is a
 *       libsodium sealed box of the image UUID, the slot type and the data
 *       key; opening it checks that UUID, so here too a slot copied into
 *       another image opens nothing.  The key id is the protector's own
 *       (random at enrolment).
 *   KHIB_SLOT_TPM2  the data key sealed by a TPM to PCR values (lib/system/tpm2.h:
 *       the blob is opaque here), with the value the TPM's replay counter
 *       took at this hibernation, both authenticated by a MAC under an
 *       authentication key that the TPM unseals only to this machine's
 *       boot: anyone can seal a key of their own to the same PCRs, but
 *       without that key cannot make a slot that a resume accepts.
 *
 * Pure: bytes in, bytes out; the caller reads key files.  SECURITY: the key
 * file's content, the key-encryption key and the data key never leave the
 * buffers the caller gives and the locked memory used here, which is wiped.
 */
#ifndef KHIB_KEYSLOT_H
#define KHIB_KEYSLOT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "crypt.h"
#include "image.h"

#define KHIB_KEYFILE_MIN_BYTES 32
#define KHIB_KEYFILE_MAX_BYTES (1u << 20)

enum khib_slot_type {
	KHIB_SLOT_KEYFILE = 1,
	KHIB_SLOT_SEALED = 2,
	KHIB_SLOT_TPM2 = 3,
};

#define KHIB_SLOT_AUTH_KEY_BYTES 32
#define KHIB_SLOT_TPM2_BLOB_MAX 512

#define KHIB_SEALED_PK_BYTES 32
#define KHIB_SEALED_SK_BYTES 32

struct khib_keyslot_info {
	uint16_t type;
	uint8_t id[KHIB_KEY_ID_BYTES];
};

/* A new image key: a random data key for AEAD a, no slots yet, in
 * secret memory (free with khib_secret_free()); and a random UUID for the
 * image (RFC 4122 version 4), which the slots are bound to.  -ENOMEM,
 * -ENOSYS (no randomness). */
int khib_image_key_new(enum khib_aead a, struct khib_image_key **ret, uint8_t uuid[16]);

/* The key id of a key file (what `khib key list` shows); -EINVAL when it
 * is shorter than KHIB_KEYFILE_MIN_BYTES or longer than the maximum. */
int khib_keyfile_id(const uint8_t *keyfile, size_t len, uint8_t id[KHIB_KEY_ID_BYTES]);

/* Append a slot that a key file opens to area (n_slots slots so far, each
 * one then counted).  -ENOSPC when the area is full, -EINVAL for a bad key
 * file, -EBADMSG for an area that does not decode. */
int khib_keyslot_add_keyfile(uint8_t *area, size_t area_bytes, uint32_t *n_slots,
			     const uint8_t uuid[16], const uint8_t dk[KHIB_DATA_KEY_BYTES],
			     const uint8_t *keyfile, size_t len);

/* The data key through the slot of this key file.  -ENOKEY when no slot
 * has its key id, -EKEYREJECTED when that slot does not open with it (a
 * slot of another image, or damaged), -EBADMSG for an area that does not
 * decode; reason says which. */
int khib_keyslot_open_keyfile(const uint8_t *area, size_t area_bytes, uint32_t n_slots,
			      const uint8_t uuid[16], const uint8_t *keyfile, size_t len,
			      uint8_t dk[KHIB_DATA_KEY_BYTES], char *reason);

/* Append a slot that the secret key of pk opens, with the protector's key
 * id.  Errors as khib_keyslot_add_keyfile(). */
int khib_keyslot_add_sealed(uint8_t *area, size_t area_bytes, uint32_t *n_slots,
			    const uint8_t uuid[16], const uint8_t dk[KHIB_DATA_KEY_BYTES],
			    const uint8_t id[KHIB_KEY_ID_BYTES],
			    const uint8_t pk[KHIB_SEALED_PK_BYTES]);

/* The data key through the slot with key id `id`, opened with the key pair
 * (pk, sk).  Errors as khib_keyslot_open_keyfile(). */
int khib_keyslot_open_sealed(const uint8_t *area, size_t area_bytes, uint32_t n_slots,
			     const uint8_t uuid[16], const uint8_t id[KHIB_KEY_ID_BYTES],
			     const uint8_t pk[KHIB_SEALED_PK_BYTES],
			     const uint8_t sk[KHIB_SEALED_SK_BYTES],
			     uint8_t dk[KHIB_DATA_KEY_BYTES], char *reason);

/* Append a TPM2 slot: the sealed blob and the counter value, under a MAC
 * keyed with ak.  Errors as khib_keyslot_add_keyfile(); -EINVAL for a
 * blob longer than KHIB_SLOT_TPM2_BLOB_MAX. */
int khib_keyslot_add_tpm2(uint8_t *area, size_t area_bytes, uint32_t *n_slots,
			  const uint8_t uuid[16], const uint8_t id[KHIB_KEY_ID_BYTES],
			  uint64_t counter, const uint8_t *blob, size_t blob_len,
			  const uint8_t ak[KHIB_SLOT_AUTH_KEY_BYTES]);

/* The TPM2 slot with key id `id`, its MAC checked with ak: the counter
 * value and where the blob lies in the area.  -ENOKEY no such slot,
 * -EKEYREJECTED a MAC that does not match (a slot this machine did not
 * write, or damaged), -EBADMSG an area that does not decode. */
int khib_keyslot_open_tpm2(const uint8_t *area, size_t area_bytes, uint32_t n_slots,
			   const uint8_t uuid[16], const uint8_t id[KHIB_KEY_ID_BYTES],
			   const uint8_t ak[KHIB_SLOT_AUTH_KEY_BYTES], uint64_t *ret_counter,
			   const uint8_t **ret_blob, size_t *ret_blob_len, char *reason);

/* Whether the area has a slot of this type and key id. */
bool khib_keyslot_has(const uint8_t *area, size_t area_bytes, uint32_t n_slots, uint16_t type,
		      const uint8_t id[KHIB_KEY_ID_BYTES]);

/* "key-file", "sealed" (a passphrase protector's, so far); "unknown". */
const char *khib_keyslot_type_name(uint16_t type);

/* What slots an area holds (type and key id), up to max. */
int khib_keyslot_list(const uint8_t *area, size_t area_bytes, uint32_t n_slots,
		      struct khib_keyslot_info *ret, size_t max);

#endif
