/* SPDX-License-Identifier: GPL-2.0-only */
#include "crypt.h"

#include <errno.h>
#include <gcrypt.h>
#include <pthread.h>
#include <sodium.h>
#include <string.h>
#include <sys/random.h>

#include "util.h"

/* crypto_kdf: a context of 8 bytes and one id per derived key. */
static const char KDF_CONTEXT[crypto_kdf_CONTEXTBYTES] = { 'k', 'h', 'i', 'b', 'i', 'm', 'g', '1' };
enum { KEY_CHUNK = 1, KEY_TABLE = 2, KEY_HEADER_MAC = 3 };

struct khib_image_keys {
	uint8_t chunk[32], table[32], mac[32];
	uint32_t aead;
	uint8_t pad[12];		/* a multiple of 16 (sodium_malloc) */
};

_Static_assert(crypto_aead_xchacha20poly1305_ietf_KEYBYTES == 32 &&
	       crypto_aead_aes256gcm_KEYBYTES == 32 &&
	       crypto_aead_xchacha20poly1305_ietf_ABYTES == KHIB_AEAD_TAG_BYTES &&
	       crypto_aead_aes256gcm_ABYTES == KHIB_AEAD_TAG_BYTES, "AEAD sizes");

int khib_crypt_init(void)
{
	return sodium_init() < 0 ? -ENOSYS : 0;
}

/*
 * The writer and restore kernels make no secret: their keys come from N or
 * R0.  libsodium's own random source waits, at its first use, until the
 * kernel's generator is ready -- about a second after such a kernel boots.
 * There it only salts the canaries of guarded allocations, so a source that
 * never waits will do, and khib_data_key_new() refuses to run on it.
 */
static bool nonblocking;

static void nonblocking_buf(void *const buf, const size_t size)
{
	uint8_t *p = buf;
	size_t done = 0;

	while (done < size) {
		ssize_t n = getrandom(p + done, size - done, GRND_INSECURE);

		if (n < 0)
			n = getrandom(p + done, size - done, GRND_NONBLOCK);
		if (n <= 0)
			break;
		done += (size_t)n;
	}
	for (; done < size; done++)	/* no random source at all: a canary only */
		p[done] = (uint8_t)(done * 131 + 17);
}

static uint32_t nonblocking_random(void)
{
	uint32_t v;

	nonblocking_buf(&v, sizeof(v));
	return v;
}

static const char *nonblocking_name(void)
{
	return "khib-nonblocking";
}

static randombytes_implementation nonblocking_impl = {
	.implementation_name = nonblocking_name,
	.random = nonblocking_random,
	.buf = nonblocking_buf,
};

int khib_crypt_init_nonblocking(void)
{
	if (randombytes_set_implementation(&nonblocking_impl) < 0)
		return -EBUSY;
	nonblocking = true;
	return khib_crypt_init();
}

bool khib_aead_available(enum khib_aead a)
{
	if (a == KHIB_AEAD_XCHACHA20_POLY1305)
		return true;
	/* libsodium learns the CPU's features in sodium_init(): before it,
	 * AES-NI always looks absent (and every image was XChaCha20). */
	return a == KHIB_AEAD_AES256_GCM && khib_crypt_init() >= 0 &&
	       crypto_aead_aes256gcm_is_available();
}

enum khib_aead khib_aead_preferred(void)
{
	return khib_aead_available(KHIB_AEAD_AES256_GCM) ? KHIB_AEAD_AES256_GCM
							 : KHIB_AEAD_XCHACHA20_POLY1305;
}

const char *khib_aead_name(enum khib_aead a)
{
	switch (a) {
	case KHIB_AEAD_NONE: return "none";
	case KHIB_AEAD_XCHACHA20_POLY1305: return "xchacha20-poly1305";
	case KHIB_AEAD_AES256_GCM: return "aes-256-gcm";
	}
	return NULL;
}

/*
 * AES-256-GCM itself runs through libgcrypt, not libsodium: the same
 * standard construction (NIST SP 800-38D; the bytes are identical, test
 * crypt_aes256gcm_libgcrypt_is_libsodium), but libgcrypt 1.10 interleaves
 * AES-NI and PCLMUL over several blocks and runs about three times as fast
 * as Debian 12's libsodium 1.0.18 here (3.8 against 1.3 GB/s, encrypt and
 * decrypt of 1 MiB), which is what keeps encryption's cost near that of
 * reading the disk.  libsodium keeps the key derivation, XChaCha20, the
 * MAC and the guarded memory.
 */
static pthread_once_t gcrypt_once = PTHREAD_ONCE_INIT;
static bool gcrypt_ok;

static void gcrypt_start(void)
{
	/* No secure memory is asked for: the keys live in sodium_malloc()
	 * memory, and a cipher handle holds its copy for one call only and
	 * is wiped when closed. */
	if (!gcry_check_version(GCRYPT_VERSION))
		return;
	gcry_control(GCRYCTL_DISABLE_SECMEM, 0);
	gcry_control(GCRYCTL_INITIALIZATION_FINISHED, 0);
	gcrypt_ok = true;
}

/* One AES-256-GCM operation in place; tag is written (encrypt) or checked.
 * -EBADMSG for a tag that does not match, -ENOMEM when libgcrypt fails. */
static int gcm(const uint8_t key[32], const uint8_t n[12], const void *ad, size_t ad_len,
	       uint8_t *buf, size_t len, uint8_t tag[KHIB_AEAD_TAG_BYTES], bool encrypt)
{
	gcry_cipher_hd_t h;
	gcry_error_t e;

	if (gcry_cipher_open(&h, GCRY_CIPHER_AES256, GCRY_CIPHER_MODE_GCM, 0))
		return -ENOMEM;
	e = gcry_cipher_setkey(h, key, 32);
	if (!e)
		e = gcry_cipher_setiv(h, n, 12);
	if (!e)
		e = gcry_cipher_authenticate(h, ad, ad_len);
	if (!e)
		e = encrypt ? gcry_cipher_encrypt(h, buf, len, NULL, 0)
			    : gcry_cipher_decrypt(h, buf, len, NULL, 0);
	if (!e)
		e = encrypt ? gcry_cipher_gettag(h, tag, KHIB_AEAD_TAG_BYTES)
			    : gcry_cipher_checktag(h, tag, KHIB_AEAD_TAG_BYTES);
	gcry_cipher_close(h); /* wipes the key schedule */
	if (e && !encrypt && gcry_err_code(e) == GPG_ERR_CHECKSUM)
		return -EBADMSG;
	return e ? -ENOMEM : 0;
}

int khib_keys_new(enum khib_aead a, const uint8_t dk[KHIB_DATA_KEY_BYTES],
		  struct khib_image_keys **ret)
{
	struct khib_image_keys *k;

	if (a == KHIB_AEAD_NONE || !khib_aead_available(a))
		return -EOPNOTSUPP;
	if (a == KHIB_AEAD_AES256_GCM && (pthread_once(&gcrypt_once, gcrypt_start) || !gcrypt_ok))
		return -ENOSYS;
	k = sodium_malloc(sizeof(*k));
	if (!k)
		return -ENOMEM;
	memset(k, 0, sizeof(*k));
	k->aead = a;
	crypto_kdf_derive_from_key(k->chunk, sizeof(k->chunk), KEY_CHUNK, KDF_CONTEXT, dk);
	crypto_kdf_derive_from_key(k->table, sizeof(k->table), KEY_TABLE, KDF_CONTEXT, dk);
	crypto_kdf_derive_from_key(k->mac, sizeof(k->mac), KEY_HEADER_MAC, KDF_CONTEXT, dk);
	*ret = k;
	return 0;
}

void khib_keys_free(struct khib_image_keys *k)
{
	sodium_free(k); /* wipes; NULL is fine */
}

enum khib_aead khib_keys_aead(const struct khib_image_keys *k)
{
	return (enum khib_aead)k->aead;
}

/* domain ‖ counter, little-endian, zero after: 12 bytes for AES-GCM, 24
 * for XChaCha20. */
static void nonce(enum khib_seal_domain d, uint64_t counter,
		  uint8_t n[crypto_aead_xchacha20poly1305_ietf_NPUBBYTES])
{
	memset(n, 0, crypto_aead_xchacha20poly1305_ietf_NPUBBYTES);
	khib_put_le32(n, (uint32_t)d);
	khib_put_le64(n + 4, counter);
}

static const uint8_t *key_for(const struct khib_image_keys *k, enum khib_seal_domain d)
{
	return d == KHIB_SEAL_CHUNK ? k->chunk : k->table;
}

int khib_seal(const struct khib_image_keys *k, enum khib_seal_domain d, uint64_t counter,
	      const void *ad, size_t ad_len, uint8_t *buf, size_t len)
{
	uint8_t n[crypto_aead_xchacha20poly1305_ietf_NPUBBYTES];
	int r;

	nonce(d, counter, n);
	if (k->aead == KHIB_AEAD_AES256_GCM)
		return gcm(key_for(k, d), n, ad, ad_len, buf, len, buf + len, true);
	r = crypto_aead_xchacha20poly1305_ietf_encrypt_detached(buf, buf + len, NULL, buf, len, ad,
								ad_len, NULL, n, key_for(k, d));
	return r < 0 ? -EINVAL : 0;
}

int khib_open(const struct khib_image_keys *k, enum khib_seal_domain d, uint64_t counter,
	      const void *ad, size_t ad_len, uint8_t *buf, size_t len)
{
	uint8_t n[crypto_aead_xchacha20poly1305_ietf_NPUBBYTES];
	size_t plain = len - KHIB_AEAD_TAG_BYTES;
	int r;

	if (len < KHIB_AEAD_TAG_BYTES)
		return -EBADMSG;
	nonce(d, counter, n);
	if (k->aead == KHIB_AEAD_AES256_GCM)
		return gcm(key_for(k, d), n, ad, ad_len, buf, plain, buf + plain, false);
	r = crypto_aead_xchacha20poly1305_ietf_decrypt_detached(buf, NULL, buf, plain, buf + plain,
								ad, ad_len, n, key_for(k, d));
	return r < 0 ? -EBADMSG : 0;
}

void khib_mac(const struct khib_image_keys *k, const void *data, size_t len,
	      uint8_t out[KHIB_MAC_BYTES])
{
	crypto_generichash(out, KHIB_MAC_BYTES, data, len, k->mac, sizeof(k->mac));
}

bool khib_mac_matches(const struct khib_image_keys *k, const void *data, size_t len,
		      const uint8_t mac[KHIB_MAC_BYTES])
{
	uint8_t want[KHIB_MAC_BYTES];
	bool ok;

	khib_mac(k, data, len, want);
	ok = sodium_memcmp(want, mac, KHIB_MAC_BYTES) == 0;
	sodium_memzero(want, sizeof(want));
	return ok;
}

int khib_data_key_new(uint8_t dk[KHIB_DATA_KEY_BYTES])
{
	if (nonblocking)
		return -EPERM; /* no key is made from a source that never waits */
	if (khib_crypt_init() < 0)
		return -ENOSYS;
	randombytes_buf(dk, KHIB_DATA_KEY_BYTES);
	return 0;
}

void khib_wipe(void *p, size_t len)
{
	sodium_memzero(p, len);
}

void *khib_secret_alloc(size_t len)
{
	/* libsodium's guarded pages need it started (sodium_init is idempotent). */
	return khib_crypt_init() < 0 ? NULL : sodium_malloc(len);
}

void khib_secret_free(void *p)
{
	sodium_free(p);
}
