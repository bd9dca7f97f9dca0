/* SPDX-License-Identifier: GPL-2.0-only */
/* Image encryption primitives (lib/format/crypt.c): the AEAD against a published
 * vector, the nonce and key separation khib builds on it, and refusals. */
#include "crypt.h"
#include "fileio.h"
#include "harness.h"
#include "util.h"

#include <errno.h>
#include <string.h>
#include <sodium.h>
#include <stdlib.h>
#include <sys/wait.h>
#include <unistd.h>

static void unhex(const char *s, uint8_t *out, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		unsigned v;

		ASSERT_EQ(sscanf(s + 2 * i, "%2x", &v), 1);
		out[i] = (uint8_t)v;
	}
}

/* draft-irtf-cfrg-xchacha-03, A.3.1: libsodium's XChaCha20-Poly1305 is the
 * published construction (khib_seal only chooses key and nonce). */
TEST(crypt_xchacha20poly1305_known_answer)
{
	static const char pt[] = "Ladies and Gentlemen of the class of '99: If I could offer you "
				 "only one tip for the future, sunscreen would be it.";
	static const char ct_hex[] =
		"bd6d179d3e83d43b9576579493c0e939572a1700252bfaccbed2902c21396cbb"
		"731c7f1b0b4aa6440bf3a82f4eda7e39ae64c6708c54c216cb96b72e1213b452"
		"2f8c9ba40db5d945b11b69b982c1bb9e3f3fac2bc369488f76b2383565d3fff9"
		"21f9664c97637da9768812f615c68b13b52e" "c0875924c1c7987947deafd8780acf49";
	uint8_t key[32], nonce[24], ad[12], want[sizeof(pt) - 1 + 16], got[sizeof(want)];
	unsigned long long len;

	ASSERT_OK(khib_crypt_init());
	unhex("808182838485868788898a8b8c8d8e8f909192939495969798999a9b9c9d9e9f", key, 32);
	unhex("404142434445464748494a4b4c4d4e4f5051525354555657", nonce, 24);
	unhex("50515253c0c1c2c3c4c5c6c7", ad, 12);
	unhex(ct_hex, want, sizeof(want));
	ASSERT_OK(crypto_aead_xchacha20poly1305_ietf_encrypt(got, &len, (const uint8_t *)pt,
							     sizeof(pt) - 1, ad, 12, NULL, nonce,
							     key));
	ASSERT_EQ(len, sizeof(want));
	ASSERT_MEMEQ(got, want, sizeof(want));
}

static void roundtrip(enum khib_aead a)
{
	uint8_t dk[KHIB_DATA_KEY_BYTES], other[KHIB_DATA_KEY_BYTES];
	uint8_t plain[1000], buf[1000 + KHIB_AEAD_TAG_BYTES], copy[sizeof(buf)];
	const char ad[] = "chunk header";
	struct khib_image_keys *k, *k2;

	if (!khib_aead_available(a))
		return; /* AES-GCM without AES-NI: khib_keys_new refuses, checked below */
	for (size_t i = 0; i < sizeof(plain); i++)
		plain[i] = (uint8_t)(i * 7);
	ASSERT_OK(khib_data_key_new(dk));
	memcpy(other, dk, sizeof(dk));
	other[0] ^= 1;
	ASSERT_OK(khib_keys_new(a, dk, &k));
	ASSERT_OK(khib_keys_new(a, other, &k2));
	ASSERT_EQ(khib_keys_aead(k), a);

	memcpy(buf, plain, sizeof(plain));
	ASSERT_OK(khib_seal(k, KHIB_SEAL_CHUNK, 5, ad, sizeof(ad), buf, sizeof(plain)));
	ASSERT_TRUE(memcmp(buf, plain, sizeof(plain)) != 0);
	memcpy(copy, buf, sizeof(buf));
	ASSERT_OK(khib_open(k, KHIB_SEAL_CHUNK, 5, ad, sizeof(ad), buf, sizeof(buf)));
	ASSERT_MEMEQ(buf, plain, sizeof(plain));

	/* Each of these refuses: another key (a second image of the machine),
	 * another counter (a chunk moved), another domain, other associated
	 * data (a header edited), a flipped bit, a cut tag. */
	memcpy(buf, copy, sizeof(buf));
	ASSERT_EQ(khib_open(k2, KHIB_SEAL_CHUNK, 5, ad, sizeof(ad), buf, sizeof(buf)), -EBADMSG);
	memcpy(buf, copy, sizeof(buf));
	ASSERT_EQ(khib_open(k, KHIB_SEAL_CHUNK, 6, ad, sizeof(ad), buf, sizeof(buf)), -EBADMSG);
	memcpy(buf, copy, sizeof(buf));
	ASSERT_EQ(khib_open(k, KHIB_SEAL_TABLE, 5, ad, sizeof(ad), buf, sizeof(buf)), -EBADMSG);
	memcpy(buf, copy, sizeof(buf));
	ASSERT_EQ(khib_open(k, KHIB_SEAL_CHUNK, 5, "chunk headeR", sizeof(ad), buf, sizeof(buf)),
		  -EBADMSG);
	memcpy(buf, copy, sizeof(buf));
	buf[500] ^= 0x10;
	ASSERT_EQ(khib_open(k, KHIB_SEAL_CHUNK, 5, ad, sizeof(ad), buf, sizeof(buf)), -EBADMSG);
	memcpy(buf, copy, sizeof(buf));
	ASSERT_EQ(khib_open(k, KHIB_SEAL_CHUNK, 5, ad, sizeof(ad), buf, sizeof(buf) - 1), -EBADMSG);
	ASSERT_EQ(khib_open(k, KHIB_SEAL_CHUNK, 5, ad, sizeof(ad), buf, 15), -EBADMSG);
	khib_keys_free(k);
	khib_keys_free(k2);
}

TEST(crypt_seal_open_xchacha20) { roundtrip(KHIB_AEAD_XCHACHA20_POLY1305); }
TEST(crypt_seal_open_aes256gcm) { roundtrip(KHIB_AEAD_AES256_GCM); }

TEST(crypt_keys_and_mac)
{
	uint8_t dk[KHIB_DATA_KEY_BYTES] = { 1 }, mac[KHIB_MAC_BYTES];
	const char hdr[] = "header bytes";
	struct khib_image_keys *k, *k2;

	ASSERT_EQ(khib_keys_new(KHIB_AEAD_NONE, dk, &k), -EOPNOTSUPP);
	ASSERT_EQ(khib_keys_new((enum khib_aead)7, dk, &k), -EOPNOTSUPP);
	if (!khib_aead_available(KHIB_AEAD_AES256_GCM))
		ASSERT_EQ(khib_keys_new(KHIB_AEAD_AES256_GCM, dk, &k), -EOPNOTSUPP);
	ASSERT_OK(khib_keys_new(KHIB_AEAD_XCHACHA20_POLY1305, dk, &k));
	khib_mac(k, hdr, sizeof(hdr), mac);
	ASSERT_TRUE(khib_mac_matches(k, hdr, sizeof(hdr), mac));
	ASSERT_TRUE(!khib_mac_matches(k, hdr, sizeof(hdr) - 1, mac));
	dk[31] = 1;
	ASSERT_OK(khib_keys_new(KHIB_AEAD_XCHACHA20_POLY1305, dk, &k2));
	ASSERT_TRUE(!khib_mac_matches(k2, hdr, sizeof(hdr), mac));
	khib_keys_free(k);
	khib_keys_free(k2);
	ASSERT_STREQ(khib_aead_name(KHIB_AEAD_AES256_GCM), "aes-256-gcm");
	ASSERT_TRUE(khib_aead_name((enum khib_aead)9) == NULL);
}

/* The writer and restore kernels' libsodium never waits for the random
 * generator, and makes no key from that source.  Runs last in this
 * process's libsodium state: a separate process keeps it from the others. */
TEST(crypt_nonblocking_makes_no_key)
{
	uint8_t dk[KHIB_DATA_KEY_BYTES];
	int status;
	pid_t pid = fork();

	ASSERT_TRUE(pid >= 0);
	if (pid == 0) {
		void *p;

		if (khib_crypt_init_nonblocking() < 0)
			_exit(2);
		p = khib_secret_alloc(64);	/* guarded memory still works */
		if (!p)
			_exit(3);
		khib_secret_free(p);
		_exit(khib_data_key_new(dk) == -EPERM ? 0 : 4);
	}
	ASSERT_EQ(waitpid(pid, &status, 0), pid);
	ASSERT_TRUE(WIFEXITED(status));
	ASSERT_EQ(WEXITSTATUS(status), 0);
}

/* khib seals AES-256-GCM through libgcrypt (speed); the bytes are the
 * standard construction's, which libsodium opens and makes, under the chunk
 * key doc/FORMAT.md derives (crypto_kdf, context "khibimg1", id 1). */
TEST(crypt_aes256gcm_libgcrypt_is_libsodium)
{
	static const char ctx8[crypto_kdf_CONTEXTBYTES] = { 'k', 'h', 'i', 'b', 'i', 'm', 'g', '1' };
	uint8_t dk[KHIB_DATA_KEY_BYTES], chunk_key[32], nonce[12] = { 0 };
	uint8_t plain[3000], buf[3000 + KHIB_AEAD_TAG_BYTES], ref[sizeof(buf)];
	const char ad[] = "chunk header";
	struct khib_image_keys *k;
	unsigned long long len;

	if (!khib_aead_available(KHIB_AEAD_AES256_GCM))
		return; /* no AES-NI: khib never picks AES-GCM here */
	ASSERT_OK(khib_data_key_new(dk));
	ASSERT_OK(khib_keys_new(KHIB_AEAD_AES256_GCM, dk, &k));
	crypto_kdf_derive_from_key(chunk_key, sizeof(chunk_key), 1, ctx8, dk);
	for (size_t i = 0; i < sizeof(plain); i++)
		plain[i] = (uint8_t)(i * 13 + 1);
	khib_put_le32(nonce, KHIB_SEAL_CHUNK);
	khib_put_le64(nonce + 4, 77);
	/* khib seals, libsodium opens. */
	memcpy(buf, plain, sizeof(plain));
	ASSERT_OK(khib_seal(k, KHIB_SEAL_CHUNK, 77, ad, sizeof(ad), buf, sizeof(plain)));
	ASSERT_OK(crypto_aead_aes256gcm_encrypt(ref, &len, plain, sizeof(plain),
						(const uint8_t *)ad, sizeof(ad), NULL, nonce,
						chunk_key));
	ASSERT_EQ(len, sizeof(buf));
	ASSERT_MEMEQ(buf, ref, sizeof(buf));
	/* libsodium seals, khib opens; a flipped bit anywhere is refused. */
	ASSERT_OK(khib_open(k, KHIB_SEAL_CHUNK, 77, ad, sizeof(ad), ref, sizeof(ref)));
	ASSERT_MEMEQ(ref, plain, sizeof(plain));
	buf[sizeof(buf) - 1] ^= 1;
	ASSERT_EQ(khib_open(k, KHIB_SEAL_CHUNK, 77, ad, sizeof(ad), buf, sizeof(buf)), -EBADMSG);
	buf[sizeof(buf) - 1] ^= 1;
	buf[5] ^= 0x80;
	ASSERT_EQ(khib_open(k, KHIB_SEAL_CHUNK, 77, ad, sizeof(ad), buf, sizeof(buf)), -EBADMSG);
	khib_keys_free(k);
}

/* The first thing a process asks: which AEAD?  AES-NI must be seen then
 * too (libsodium detects the CPU only once started; before the fix every
 * image was XChaCha20 on machines with AES-NI). */
TEST(crypt_preferred_sees_aesni_first_thing)
{
	char *info = NULL;
	size_t len;
	int status;
	pid_t pid;

	if (khib_read_file("/proc/cpuinfo", 1 << 22, &info, &len) < 0)
		return;
	if (!strstr(info, " aes ") || !strstr(info, " pclmulqdq ")) {
		free(info);
		return; /* no AES-NI: XChaCha20 is right */
	}
	free(info);
	pid = fork();
	if (pid == 0)
		_exit(khib_aead_preferred() == KHIB_AEAD_AES256_GCM ? 0 : 1);
	ASSERT_TRUE(pid > 0);
	ASSERT_EQ(waitpid(pid, &status, 0), pid);
	ASSERT_TRUE(WIFEXITED(status) && WEXITSTATUS(status) == 0);
}
