/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * Image encryption, the primitives: one random data key per image, the keys
 * derived from it, authenticated encryption with libsodium, and key slots
 * that wrap the data key for a protector (doc/SECURITY.md says what each
 * protects against; doc/FORMAT.md, "Encryption", how it lies on disk).
 *
 * Nothing here is invented: AEAD is XChaCha20-Poly1305 (IETF) or AES-256-GCM
 * as libsodium implements them, the key derivation is libsodium's crypto_kdf
 * (BLAKE2b), the header MAC keyed BLAKE2b-256.  A nonce never repeats under
 * a key: every key is derived from a data key that is random per image, and
 * the nonce is the domain (what is encrypted) and its counter (which one).
 *
 * SECURITY: keys live only in memory libsodium allocates guarded and locked
 * (sodium_malloc: never swapped, wiped by khib_keys_free()); callers keep
 * data keys in such memory too and wipe them with khib_wipe().  Nothing
 * here prints, logs or writes a key anywhere.
 */
#ifndef KHIB_CRYPT_H
#define KHIB_CRYPT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define KHIB_DATA_KEY_BYTES 32
#define KHIB_AEAD_TAG_BYTES 16
#define KHIB_MAC_BYTES 32
#define KHIB_KEY_ID_BYTES 16

enum khib_aead {
	KHIB_AEAD_NONE = 0,
	KHIB_AEAD_XCHACHA20_POLY1305 = 1,
	KHIB_AEAD_AES256_GCM = 2,
};

/* What a nonce belongs to; with its counter it never repeats under a key. */
enum khib_seal_domain {
	KHIB_SEAL_CHUNK = 1,		/* counter: the chunk's sequence number */
	KHIB_SEAL_TABLE = 2,		/* counter: which metadata table */
};

/* libsodium ready; -ENOSYS when it cannot start (no randomness source). */
int khib_crypt_init(void);
/* The same in a kernel that makes no key (the writer and restore kernels):
 * libsodium's random source never waits for the kernel's generator, and
 * khib_data_key_new() refuses (-EPERM).  Before any other call here. */
int khib_crypt_init_nonblocking(void);

/* Whether this CPU can use a; AES-256-GCM needs AES-NI and PCLMUL. */
bool khib_aead_available(enum khib_aead a);
/* The faster where both work: AES-256-GCM with AES-NI, else XChaCha20. */
enum khib_aead khib_aead_preferred(void);
/* "xchacha20-poly1305", "aes-256-gcm", "none"; NULL for an unknown id. */
const char *khib_aead_name(enum khib_aead a);

/* A data key's working keys, in guarded, locked memory. */
struct khib_image_keys;

/* -EOPNOTSUPP for an AEAD this CPU lacks, -ENOMEM. */
int khib_keys_new(enum khib_aead a, const uint8_t dk[KHIB_DATA_KEY_BYTES],
		  struct khib_image_keys **ret);
void khib_keys_free(struct khib_image_keys *k);
enum khib_aead khib_keys_aead(const struct khib_image_keys *k);

/* Encrypt buf[0..len) in place and append the tag: buf holds len +
 * KHIB_AEAD_TAG_BYTES.  ad is authenticated, not encrypted. */
int khib_seal(const struct khib_image_keys *k, enum khib_seal_domain d, uint64_t counter,
	      const void *ad, size_t ad_len, uint8_t *buf, size_t len);
/* The reverse, in place: buf holds len bytes of ciphertext and tag; the
 * plaintext is len - KHIB_AEAD_TAG_BYTES bytes.  -EBADMSG when the tag does
 * not match (wrong key, or any bit of buf or ad changed). */
int khib_open(const struct khib_image_keys *k, enum khib_seal_domain d, uint64_t counter,
	      const void *ad, size_t ad_len, uint8_t *buf, size_t len);

/* MAC of the image header (keyed BLAKE2b-256 under the header key). */
void khib_mac(const struct khib_image_keys *k, const void *data, size_t len,
	      uint8_t out[KHIB_MAC_BYTES]);
/* Constant-time comparison with a MAC read from disk. */
bool khib_mac_matches(const struct khib_image_keys *k, const void *data, size_t len,
		      const uint8_t mac[KHIB_MAC_BYTES]);

/* A fresh random data key (libsodium's randombytes: getrandom). */
int khib_data_key_new(uint8_t dk[KHIB_DATA_KEY_BYTES]);
/* Overwrite secret bytes so the compiler cannot skip it. */
void khib_wipe(void *p, size_t len);
/* Memory for secrets: guarded, locked, wiped on free (libsodium); NULL
 * when that cannot be had. */
void *khib_secret_alloc(size_t len);
void khib_secret_free(void *p);

#endif
