/* SPDX-License-Identifier: GPL-2.0-only */
#include "protector.h"

#include <errno.h>
#include <inttypes.h>
#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "util.h"

/* What the wrapped secret key is bound to besides the passphrase. */
static const char WRAP_AD[8] = { 'k', 'h', 'i', 'b', 'p', 'a', 's', 's' };

const char *khib_protector_type_name(enum khib_protector_type t)
{
	switch (t) {
	case KHIB_PROTECTOR_KEYFILE: return "key-file";
	case KHIB_PROTECTOR_PASSPHRASE: return "passphrase";
	case KHIB_PROTECTOR_TPM2: return "tpm2";
	}
	return NULL;
}

int khib_pcr_list_parse(const char *s, uint32_t *ret_mask)
{
	uint32_t mask = 0;
	char *end;

	do {
		unsigned long pcr;

		if (*s < '0' || *s > '9')
			return -EINVAL;
		pcr = strtoul(s, &end, 10);
		if (pcr >= 24 || (*end && *end != ','))
			return -EINVAL;
		mask |= 1u << pcr;
		s = end;
	} while (*s && *++s); /* past a comma, another number must follow */
	if (s[-1] == ',')
		return -EINVAL;
	*ret_mask = mask;
	return 0;
}

void khib_pcr_list_format(uint32_t mask, char *buf, size_t len)
{
	size_t used = 0;

	buf[0] = '\0';
	for (unsigned i = 0; i < 24; i++) {
		int w;

		if (!(mask & (1u << i)))
			continue;
		w = snprintf(buf + used, len - used, "%s%u", used ? "," : "", i);
		if (w < 0 || (size_t)w >= len - used)
			return;
		used += (size_t)w;
	}
}

bool khib_protector_name_valid(const char *name)
{
	size_t n = strlen(name);

	if (!n || n >= KHIB_PROTECTOR_NAME_MAX || name[0] == '.')
		return false;
	return strspn(name, "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789_.-") == n;
}

static int parse_hex(const char *val, uint8_t *out, size_t bytes)
{
	size_t n;

	if (strlen(val) != 2 * bytes ||
	    sodium_hex2bin(out, bytes, val, strlen(val), NULL, &n, NULL) < 0 || n != bytes)
		return -EINVAL;
	return 0;
}

static int parse_u64(const char *val, uint64_t *ret)
{
	char *end;

	if (!*val || *val == '-')
		return -EINVAL;
	errno = 0;
	*ret = strtoull(val, &end, 10);
	return errno || *end ? -EINVAL : 0;
}

/* What a protector file may say, and which field each key fills. */
struct parse_state {
	struct khib_protector p;
	bool has_type, has_id, has_path, has_wrapped, has_salt, has_ops, has_mem;
	bool has_pcrs, has_auth, has_tcti;
};

static int set_field(void *ctx, const char *key, const char *val)
{
	struct parse_state *st = ctx;
	struct khib_protector *p = &st->p;

	if (!strcmp(key, "type")) {
		st->has_type = true;
		if (!strcmp(val, "key-file"))
			p->type = KHIB_PROTECTOR_KEYFILE;
		else if (!strcmp(val, "passphrase"))
			p->type = KHIB_PROTECTOR_PASSPHRASE;
		else if (!strcmp(val, "tpm2"))
			p->type = KHIB_PROTECTOR_TPM2;
		else
			return -EINVAL;
		return 0;
	}
	if (!strcmp(key, "id")) {
		st->has_id = true;
		return parse_hex(val, p->id, sizeof(p->id));
	}
	if (!strcmp(key, "path")) {
		if (val[0] != '/' || strlen(val) >= sizeof(p->path))
			return -EINVAL;
		st->has_path = true;
		snprintf(p->path, sizeof(p->path), "%s", val);
		return 0;
	}
	if (!strcmp(key, "public-key")) {
		p->has_public_key = true;
		return parse_hex(val, p->public_key, sizeof(p->public_key));
	}
	if (!strcmp(key, "wrapped-key")) {
		st->has_wrapped = true;
		return parse_hex(val, p->wrapped_key, sizeof(p->wrapped_key));
	}
	if (!strcmp(key, "salt")) {
		st->has_salt = true;
		return parse_hex(val, p->salt, sizeof(p->salt));
	}
	if (!strcmp(key, "opslimit")) {
		st->has_ops = true;
		return parse_u64(val, &p->opslimit);
	}
	if (!strcmp(key, "memlimit")) {
		st->has_mem = true;
		return parse_u64(val, &p->memlimit);
	}
	if (!strcmp(key, "pcrs")) {
		st->has_pcrs = true;
		return khib_pcr_list_parse(val, &p->pcr_mask);
	}
	if (!strcmp(key, "auth-key")) {
		size_t n = strlen(val) / 2;

		if (!n || n > sizeof(p->auth_blob))
			return -EINVAL;
		st->has_auth = true;
		p->auth_blob_len = n;
		return parse_hex(val, p->auth_blob, n);
	}
	if (!strcmp(key, "tcti")) {
		if (strlen(val) >= sizeof(p->tcti))
			return -EINVAL;
		st->has_tcti = true;
		snprintf(p->tcti, sizeof(p->tcti), "%s", val);
		return 0;
	}
	return -ENOKEY;
}

/* Argon2id's own bounds, and a memory cost an initramfs can pay. */
static bool pwhash_params_ok(uint64_t ops, uint64_t mem)
{
	return ops >= crypto_pwhash_OPSLIMIT_MIN && ops <= 64 &&
	       mem >= crypto_pwhash_MEMLIMIT_MIN && mem <= (1ull << 30);
}

/* A field the type does not have: the file is not what khib wrote, and
 * writing it back would lose the field. */
static bool foreign_fields(const struct parse_state *st)
{
	bool keyfile = st->has_path;
	bool pass = st->p.has_public_key || st->has_wrapped || st->has_salt || st->has_ops ||
		    st->has_mem;
	bool tpm2 = st->has_pcrs || st->has_auth || st->has_tcti;

	switch (st->p.type) {
	case KHIB_PROTECTOR_KEYFILE: return pass || tpm2;
	case KHIB_PROTECTOR_PASSPHRASE: return keyfile || tpm2;
	case KHIB_PROTECTOR_TPM2: return keyfile || pass;
	}
	return true;
}

int khib_protector_parse(const char *text, const char *name, struct khib_protector *ret,
			 char *reason)
{
	struct parse_state st = { 0 };
	const char *missing = NULL;
	int r;

	if ((r = khib_kv_parse(text, set_field, &st, reason)) < 0)
		return r;
	if (!st.has_type)
		missing = "type";
	else if (!st.has_id)
		missing = "id";
	else if (st.p.type == KHIB_PROTECTOR_KEYFILE && !st.has_path)
		missing = "path";
	else if (st.p.type == KHIB_PROTECTOR_PASSPHRASE &&
		 !(st.has_wrapped && st.has_salt && st.has_ops && st.has_mem))
		missing = "wrapped-key, salt, opslimit or memlimit";
	else if (st.p.type == KHIB_PROTECTOR_TPM2 && !(st.has_pcrs && st.has_auth))
		missing = "pcrs or auth-key";
	if (missing)
		return khib_fail(reason, -EINVAL, "no %s", missing);
	if (foreign_fields(&st))
		return khib_fail(reason, -EINVAL, "fields of another type of key");
	if (st.p.type == KHIB_PROTECTOR_PASSPHRASE &&
	    !pwhash_params_ok(st.p.opslimit, st.p.memlimit))
		return khib_fail(reason, -EINVAL, "opslimit or memlimit out of range");
	snprintf(st.p.name, sizeof(st.p.name), "%s", name);
	*ret = st.p;
	return 0;
}

static void put_hex(char **pos, size_t *left, const char *key, const uint8_t *bin, size_t n)
{
	char hex[2 * KHIB_SLOT_TPM2_BLOB_MAX + 1];
	int w;

	sodium_bin2hex(hex, sizeof(hex), bin, n);
	w = snprintf(*pos, *left, "%s = %s\n", key, hex);
	if (w > 0 && (size_t)w < *left) {
		*pos += w;
		*left -= (size_t)w;
	}
}

void khib_protector_format(const struct khib_protector *p, enum khib_protector_view v,
			   char *buf, size_t len)
{
	char *pos = buf;
	size_t left = len;
	int w;

	w = snprintf(pos, left, "# khib key protector '%s' (khib key enroll; khib(8), \"Keys\")\n"
		     "type = %s\n", p->name, khib_protector_type_name(p->type));
	if (w < 0 || (size_t)w >= left)
		return;
	pos += w;
	left -= (size_t)w;
	put_hex(&pos, &left, "id", p->id, sizeof(p->id));
	if (p->type == KHIB_PROTECTOR_KEYFILE) {
		snprintf(pos, left, "path = %s\n", p->path);
		return;
	}
	if (p->type == KHIB_PROTECTOR_TPM2) {
		char pcrs[KHIB_PCR_LIST_MAX];

		khib_pcr_list_format(p->pcr_mask, pcrs, sizeof(pcrs));
		w = snprintf(pos, left, "pcrs = %s\n", pcrs);
		if (w < 0 || (size_t)w >= left)
			return;
		pos += w;
		left -= (size_t)w;
		put_hex(&pos, &left, "auth-key", p->auth_blob, p->auth_blob_len);
		if (p->tcti[0])
			snprintf(pos, left, "tcti = %s\n", p->tcti);
		return;
	}
	if (v == KHIB_PROTECTOR_FULL && p->has_public_key)
		put_hex(&pos, &left, "public-key", p->public_key, sizeof(p->public_key));
	put_hex(&pos, &left, "wrapped-key", p->wrapped_key, sizeof(p->wrapped_key));
	put_hex(&pos, &left, "salt", p->salt, sizeof(p->salt));
	snprintf(pos, left, "opslimit = %" PRIu64 "\nmemlimit = %" PRIu64 "\n", p->opslimit,
		 p->memlimit);
}

/* The wrapping key from the passphrase.  SECURITY: kek is secret memory. */
static int wrapping_key(const struct khib_protector *p, const char *pass, size_t pass_len,
			uint8_t kek[32])
{
	if (crypto_pwhash(kek, 32, pass, pass_len, p->salt, p->opslimit, (size_t)p->memlimit,
			  crypto_pwhash_ALG_ARGON2ID13) < 0)
		return -ENOMEM; /* libsodium's only failure here: the memory */
	return 0;
}

/* The wrapped key's associated data: the constant and the protector id, so
 * a wrapped key moved into another protector file does not open. */
static void wrap_ad(const struct khib_protector *p, uint8_t ad[sizeof(WRAP_AD) + 16])
{
	memcpy(ad, WRAP_AD, sizeof(WRAP_AD));
	memcpy(ad + sizeof(WRAP_AD), p->id, sizeof(p->id));
}

int khib_protector_new_passphrase(const char *name, const char *pass, size_t pass_len,
				  uint64_t opslimit, uint64_t memlimit,
				  struct khib_protector *ret)
{
	struct khib_protector p = { .type = KHIB_PROTECTOR_PASSPHRASE, .has_public_key = true,
				    .opslimit = opslimit, .memlimit = memlimit };
	uint8_t *sk, *kek, ad[sizeof(WRAP_AD) + 16];
	int r;

	if (!pass_len || pass_len > KHIB_PASSPHRASE_MAX || !pwhash_params_ok(opslimit, memlimit))
		return -EINVAL;
	if (khib_crypt_init() < 0)
		return -ENOSYS;
	sk = khib_secret_alloc(KHIB_SEALED_SK_BYTES);
	kek = khib_secret_alloc(32);
	if (!sk || !kek) {
		r = -ENOMEM;
		goto out;
	}
	snprintf(p.name, sizeof(p.name), "%s", name);
	randombytes_buf(p.id, sizeof(p.id));
	randombytes_buf(p.salt, sizeof(p.salt));
	crypto_box_keypair(p.public_key, sk);
	if ((r = wrapping_key(&p, pass, pass_len, kek)) < 0)
		goto out;
	randombytes_buf(p.wrapped_key, 24);
	wrap_ad(&p, ad);
	crypto_aead_xchacha20poly1305_ietf_encrypt(p.wrapped_key + 24, NULL, sk,
						   KHIB_SEALED_SK_BYTES, ad, sizeof(ad), NULL,
						   p.wrapped_key, kek);
	*ret = p;
out:
	khib_secret_free(sk);
	khib_secret_free(kek);
	return r;
}

int khib_protector_new_keyfile(const char *name, const char *path, const uint8_t *keyfile,
			       size_t len, struct khib_protector *ret)
{
	struct khib_protector p = { .type = KHIB_PROTECTOR_KEYFILE };
	int r;

	if (path[0] != '/' || strlen(path) >= sizeof(p.path))
		return -EINVAL;
	if ((r = khib_keyfile_id(keyfile, len, p.id)) < 0)
		return r;
	snprintf(p.name, sizeof(p.name), "%s", name);
	snprintf(p.path, sizeof(p.path), "%s", path);
	*ret = p;
	return 0;
}

int khib_protector_unlock(const struct khib_protector *p, const char *pass, size_t pass_len,
			  uint8_t pk[KHIB_SEALED_PK_BYTES], uint8_t *sk)
{
	uint8_t *kek, ad[sizeof(WRAP_AD) + 16];
	int r;

	if (p->type != KHIB_PROTECTOR_PASSPHRASE)
		return -EINVAL;
	if (khib_crypt_init() < 0)
		return -ENOSYS;
	if (!(kek = khib_secret_alloc(32)))
		return -ENOMEM;
	if ((r = wrapping_key(p, pass, pass_len, kek)) >= 0) {
		wrap_ad(p, ad);
		if (crypto_aead_xchacha20poly1305_ietf_decrypt(sk, NULL, NULL, p->wrapped_key + 24,
							       KHIB_SEALED_SK_BYTES +
							       KHIB_AEAD_TAG_BYTES, ad, sizeof(ad),
							       p->wrapped_key, kek) < 0)
			r = -EKEYREJECTED;
		else
			crypto_scalarmult_base(pk, sk);
	}
	khib_secret_free(kek);
	return r;
}

int khib_protector_add_slot(const struct khib_protector *p, const uint8_t *keyfile, size_t len,
			    uint8_t *area, size_t area_bytes, uint32_t *n_slots,
			    const uint8_t uuid[16], const uint8_t dk[KHIB_DATA_KEY_BYTES])
{
	uint8_t id[KHIB_KEY_ID_BYTES];
	int r;

	switch (p->type) {
	case KHIB_PROTECTOR_KEYFILE:
		/* The file must still be the one enrolled. */
		if ((r = khib_keyfile_id(keyfile, len, id)) < 0)
			return r;
		if (memcmp(id, p->id, sizeof(id)))
			return -EKEYREJECTED;
		return khib_keyslot_add_keyfile(area, area_bytes, n_slots, uuid, dk, keyfile, len);
	case KHIB_PROTECTOR_PASSPHRASE:
		if (!p->has_public_key)
			return -ENOKEY;
		return khib_keyslot_add_sealed(area, area_bytes, n_slots, uuid, dk, p->id,
					       p->public_key);
	case KHIB_PROTECTOR_TPM2:
		return -EOPNOTSUPP; /* the TPM seals: khib_keyslot_add_tpm2() */
	}
	return -EINVAL;
}
