/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * Writes image seeds into the directory argv[1] (make-corpus.sh runs it):
 * the unit tests' small synthetic machine through the real writer, with
 * three file system stamps, in clear and encrypted with each AEAD (its key
 * slot for the key file the fuzz target holds), so that the fuzzer starts
 * from images whose tables, key slots and sealed chunks it can mutate.
 */
#include <stdio.h>
#include <string.h>

#include "fuzz.h"
#include "image.h"
#include "keyslot.h"
#include "targetdev.h"
#include "test_image_fixture.h"

static int put(const char *dir, const char *name, const struct fx_machine *m,
	       const struct khib_writer_params *p)
{
	struct khib_target *t;
	char path[4096];
	int r;

	snprintf(path, sizeof(path), "%s/%s", dir, name);
	r = khib_target_open(path, KHIB_TARGET_WRITE | KHIB_TARGET_CREATE, &t);
	if (r >= 0) {
		r = fx_write(m, t, p);
		khib_target_free(t);
	}
	if (r < 0)
		fprintf(stderr, "make-corpus-image: %s: %s\n", path, strerror(-r));
	return r;
}

int main(int argc, char **argv)
{
	static const uint8_t uuid[16] = { 0x6b, 0x68, 0x69, 0x62, 0x20, 0x66, 0x75, 0x7a,
					  0x7a, 0x20, 0x73, 0x65, 0x65, 0x64, 0x21, 0x00 };
	struct khib_image_key *key = khib_secret_alloc(sizeof(*key));
	struct khib_fsstamp fs[3] = { 0 };
	struct khib_writer_params p;
	struct fx_machine m;
	int r;

	if (argc != 2 || !key) {
		fprintf(stderr, "usage: make-corpus-image DIR\n");
		return 2;
	}
	memset(key, 0, sizeof(*key));
	for (int i = 0; i < 3; i++) {
		fs[i].kind = KHIB_FS_EXT;
		memset(fs[i].uuid, 0x70 + i, sizeof(fs[i].uuid));
		fs[i].mnt_count = (uint16_t)(3 * i + 1);
		fs[i].incompat = 0x2c6;
		fs[i].mtime = 1764000000 + (uint64_t)i;
		snprintf(fs[i].where, sizeof(fs[i].where), i ? "/home%d" : "/", i);
	}
	fx_machine_small(&m, 5);
	fx_params(&m, &p, KHIB_CODEC_LZ4, 16, 1);
	p.fs = fs;
	p.n_fs = 3;
	r = put(argv[1], "small-fs-table.img", &m, &p);
	/* Encrypted, with the key file the fuzz target holds; both AEADs. */
	for (int a = KHIB_AEAD_XCHACHA20_POLY1305; a <= KHIB_AEAD_AES256_GCM && r >= 0; a++) {
		key->aead = (uint32_t)a;
		key->n_slots = 0;
		memset(key->key_area, 0, sizeof(key->key_area));
		r = khib_data_key_new(key->dk);
		if (r >= 0)
			r = khib_keyslot_add_keyfile(key->key_area, KHIB_KEY_AREA_BYTES, &key->n_slots,
						     uuid, key->dk, (const uint8_t *)FUZZ_KEYFILE,
						     strlen(FUZZ_KEYFILE));
		p.key = key;
		p.uuid = uuid;
		if (r >= 0)
			r = put(argv[1], a == KHIB_AEAD_AES256_GCM ? "sealed-aes256gcm.img"
								    : "sealed-xchacha20.img", &m, &p);
	}
	khib_secret_free(key);
	fx_machine_release(&m);
	return r < 0;
}
