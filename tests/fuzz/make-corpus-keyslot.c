/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * Writes the key slot fuzz target's seeds (fuzz_keyslot.c) with the real
 * encoders: key areas with a key-file, a sealed and a TPM2 slot for the
 * fixed keys the target holds, and protector files of each type.
 *   make-corpus-keyslot DIR
 */
#include <sodium.h>
#include <stdio.h>
#include <string.h>

#include "fuzz.h"
#include "image.h"
#include "keyslot.h"
#include "protector.h"

static int put(const char *dir, const char *name, const void *a, size_t alen, const void *b,
	       size_t blen)
{
	char path[4096];
	FILE *f;

	snprintf(path, sizeof(path), "%s/%s", dir, name);
	if (!(f = fopen(path, "wb")))
		return -1;
	fwrite(a, 1, alen, f);
	fwrite(b, 1, blen, f);
	return fclose(f);
}

int main(int argc, char **argv)
{
	static const uint8_t uuid[16] = { 0x6b, 0x68, 0x69, 0x62 };
	uint8_t area[KHIB_KEY_AREA_BYTES] = { 0 }, dk[32], pk[32], sk[32], seed[32], ak[32];
	uint8_t id[16], blob[256], n = 0;
	uint32_t slots = 0;
	struct khib_protector p;
	char text[KHIB_PROTECTOR_TEXT_MAX];

	if (argc != 2 || sodium_init() < 0)
		return 2;
	memset(dk, 'd', sizeof(dk));
	memset(seed, 's', sizeof(seed));
	memset(ak, 'a', sizeof(ak));
	memset(id, 'i', sizeof(id));
	memset(blob, 'b', sizeof(blob));
	crypto_box_seed_keypair(pk, sk, seed);
	if (khib_keyslot_add_keyfile(area, sizeof(area), &slots, uuid, dk,
				     (const uint8_t *)FUZZ_KEYFILE, sizeof(FUZZ_KEYFILE) - 1) < 0 ||
	    khib_keyslot_add_sealed(area, sizeof(area), &slots, uuid, dk, id, pk) < 0 ||
	    khib_keyslot_add_tpm2(area, sizeof(area), &slots, uuid, id, 7, blob, sizeof(blob), ak) < 0)
		return 1;
	n = (uint8_t)slots;
	if (put(argv[1], "area-three-slots", &n, 1, area, sizeof(area)) < 0)
		return 1;
	n = 1;
	if (put(argv[1], "area-one-slot", &n, 1, area, 200) < 0)
		return 1;
	if (khib_protector_new_passphrase("fuzz", "fuzz passphrase", 15, 1, 8192, &p) < 0)
		return 1;
	khib_protector_format(&p, KHIB_PROTECTOR_FULL, text, sizeof(text));
	if (put(argv[1], "protector-passphrase", "P", 1, text, strlen(text)) < 0)
		return 1;
	if (khib_protector_new_keyfile("fuzz", "/etc/khib/key", (const uint8_t *)FUZZ_KEYFILE,
				       sizeof(FUZZ_KEYFILE) - 1, &p) < 0)
		return 1;
	khib_protector_format(&p, KHIB_PROTECTOR_FULL, text, sizeof(text));
	if (put(argv[1], "protector-key-file", "P", 1, text, strlen(text)) < 0)
		return 1;
	memset(&p, 0, sizeof(p));
	p.type = KHIB_PROTECTOR_TPM2;
	p.pcr_mask = (1u << 7) | (1u << 4);
	p.auth_blob_len = sizeof(blob);
	memcpy(p.auth_blob, blob, sizeof(blob));
	snprintf(p.tcti, sizeof(p.tcti), "swtpm:host=127.0.0.1,port=2321");
	khib_protector_format(&p, KHIB_PROTECTOR_FULL, text, sizeof(text));
	return put(argv[1], "protector-tpm2", "P", 1, text, strlen(text)) < 0;
}
