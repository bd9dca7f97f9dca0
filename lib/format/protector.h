/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * Key protectors: what `khib key enroll` records, so that every image gets
 * a key slot for each, and a resume knows how to open one.  A protector is
 * a small text file in the key directory (/etc/khib/keys, doc/SECURITY.md
 * "Key protectors"), `key = value` lines:
 *
 *   type = key-file          type = passphrase
 *   id = <32 hex>            id = <32 hex>, random at enrolment
 *   path = /etc/khib/key     public-key = <64 hex>  (hibernating side only)
 *                            wrapped-key = <144 hex>: nonce, sealed secret key
 *                            salt = <32 hex>, opslimit = N, memlimit = BYTES
 *
 *   type = tpm2
 *   id = <32 hex>, random at enrolment
 *   pcrs = 7                 the PCRs keys are sealed to, comma separated
 *   auth-key = <hex>         the slot authentication key, sealed by the TPM
 *                            to those PCRs (lib/system/tpm2.h's blob)
 *   tcti = device:/dev/tpmrm0  (optional) how to reach the TPM
 *
 * A passphrase protector is a key pair (X25519): images are sealed to the
 * public key, which is all the hibernating system needs -- hibernation
 * never asks a question -- and the secret key is kept wrapped
 * (XChaCha20-Poly1305) under a key that Argon2id (libsodium crypto_pwhash)
 * derives from the passphrase.  The copy the initramfs carries leaves the
 * public key out (khib_protector_format(..., KHIB_PROTECTOR_RESUME)): an
 * attacker who reads /boot cannot seal a data key of their own to it, so
 * cannot forge an image that a passphrase opens.
 *
 * Pure: text in, text out, and libsodium; the tools read and write the
 * files.  SECURITY: passphrases, derived keys and secret keys only in
 * memory from khib_secret_alloc(), wiped after use; a protector file holds
 * nothing secret but the wrapped key.
 */
#ifndef KHIB_PROTECTOR_H
#define KHIB_PROTECTOR_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "crypt.h"
#include "keyslot.h"

#define KHIB_KEY_DIR "/etc/khib/keys"
#define KHIB_PROTECTOR_NAME_MAX 64
#define KHIB_PROTECTOR_PATH_MAX 1024
#define KHIB_PROTECTOR_TEXT_MAX 2048
#define KHIB_PASSPHRASE_MAX 1024
#define KHIB_WRAPPED_KEY_BYTES (24 + KHIB_SEALED_SK_BYTES + KHIB_AEAD_TAG_BYTES)

enum khib_protector_type {
	KHIB_PROTECTOR_KEYFILE = 1,
	KHIB_PROTECTOR_PASSPHRASE = 2,
	KHIB_PROTECTOR_TPM2 = 3,
};

#define KHIB_PROTECTOR_TCTI_MAX 128

struct khib_protector {
	char name[KHIB_PROTECTOR_NAME_MAX];
	enum khib_protector_type type;
	uint8_t id[KHIB_KEY_ID_BYTES];
	/* key file */
	char path[KHIB_PROTECTOR_PATH_MAX];
	/* passphrase */
	bool has_public_key;
	uint8_t public_key[KHIB_SEALED_PK_BYTES];
	uint8_t wrapped_key[KHIB_WRAPPED_KEY_BYTES];
	uint8_t salt[16];
	uint64_t opslimit;
	uint64_t memlimit;
	/* tpm2 */
	uint32_t pcr_mask;
	uint8_t auth_blob[KHIB_SLOT_TPM2_BLOB_MAX];
	size_t auth_blob_len;
	char tcti[KHIB_PROTECTOR_TCTI_MAX];	/* "": the default */
};

/* "key-file", "passphrase", "tpm2"; NULL for another value. */
const char *khib_protector_type_name(enum khib_protector_type t);

/* "7" or "0,2,7": PCR numbers below 24, comma separated, into a mask;
 * -EINVAL for anything else. */
#define KHIB_PCR_LIST_MAX 72
int khib_pcr_list_parse(const char *s, uint32_t *ret_mask);
void khib_pcr_list_format(uint32_t mask, char *buf, size_t len);

/* A protector's name is what `khib key` calls it and its file name:
 * 1..63 of [A-Za-z0-9_.-], not starting with '.'. */
bool khib_protector_name_valid(const char *name);

/* Parse a protector file's text; -EINVAL with reason naming the line. */
int khib_protector_parse(const char *text, const char *name, struct khib_protector *ret,
			 char *reason);

enum khib_protector_view {
	KHIB_PROTECTOR_FULL,		/* what the key directory holds */
	KHIB_PROTECTOR_RESUME,		/* what the initramfs gets: no public key */
};
/* Its text into buf (KHIB_PROTECTOR_TEXT_MAX bytes). */
void khib_protector_format(const struct khib_protector *p, enum khib_protector_view v,
			   char *buf, size_t len);

/* Argon2id parameters: libsodium's "interactive" memory (64 MiB) with
 * three passes -- about 0.2 s on a laptop, and 64 MiB fits any initramfs. */
#define KHIB_PASSPHRASE_OPSLIMIT 3
#define KHIB_PASSPHRASE_MEMLIMIT (64ull << 20)

/* A new passphrase protector: a fresh key pair, the secret half wrapped
 * under the passphrase, a random id.  -ENOSYS (no randomness), -ENOMEM
 * (Argon2id's memory), -EINVAL (empty passphrase). */
int khib_protector_new_passphrase(const char *name, const char *pass, size_t pass_len,
				  uint64_t opslimit, uint64_t memlimit,
				  struct khib_protector *ret);

/* A key-file protector for the file at path whose bytes are keyfile. */
int khib_protector_new_keyfile(const char *name, const char *path, const uint8_t *keyfile,
			       size_t len, struct khib_protector *ret);

/* The key pair of a passphrase protector: sk (secret memory of
 * KHIB_SEALED_SK_BYTES, the caller's) and pk derived from it.
 * -EKEYREJECTED for a wrong passphrase, -ENOMEM. */
int khib_protector_unlock(const struct khib_protector *p, const char *pass, size_t pass_len,
			  uint8_t pk[KHIB_SEALED_PK_BYTES], uint8_t *sk);

/* Add this protector's slot for dk to an image key's area: a passphrase
 * protector needs its public key, a key file its bytes (keyfile, len); a
 * TPM2 protector's slot needs the TPM (khib_keyslot_add_tpm2()):
 * -EOPNOTSUPP. */
int khib_protector_add_slot(const struct khib_protector *p, const uint8_t *keyfile, size_t len,
			    uint8_t *area, size_t area_bytes, uint32_t *n_slots,
			    const uint8_t uuid[16], const uint8_t dk[KHIB_DATA_KEY_BYTES]);

#endif
