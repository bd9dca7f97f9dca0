/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * Fuzz target: what a resume reads before it trusts anything of an
 * encrypted image -- the key area's slots (lib/format/keyslot.h) -- and the key
 * protector files the initramfs carries (lib/format/protector.h).
 *
 * First byte 'P': the rest is a protector file's text; if it parses, its
 * text as khib writes it must parse back to the same protector (both
 * views), or the target traps.  Anything else: the first byte is the slot
 * count (0..16), the rest a key area (cut or zero-padded to its size),
 * listed and opened with the fixed keys the seeds were made for
 * (make-corpus-keyslot.c): a key file, a sealed-box key pair, a TPM slot
 * authentication key and key id.
 */
#include <sodium.h>
#include <string.h>

#include "fuzz.h"
#include "image.h"
#include "keyslot.h"
#include "protector.h"
#include "util.h"

static void same_or_trap(const struct khib_protector *a, const struct khib_protector *b,
			 bool with_public)
{
	if (a->type != b->type || memcmp(a->id, b->id, sizeof(a->id)) ||
	    strcmp(a->path, b->path) || a->pcr_mask != b->pcr_mask ||
	    a->auth_blob_len != b->auth_blob_len ||
	    memcmp(a->auth_blob, b->auth_blob, a->auth_blob_len) || strcmp(a->tcti, b->tcti) ||
	    memcmp(a->wrapped_key, b->wrapped_key, sizeof(a->wrapped_key)) ||
	    a->opslimit != b->opslimit || a->memlimit != b->memlimit ||
	    b->has_public_key != (with_public && a->has_public_key))
		__builtin_trap();
}

static void protector(const uint8_t *data, size_t size)
{
	char text[KHIB_PROTECTOR_TEXT_MAX + 1], out[KHIB_PROTECTOR_TEXT_MAX];
	char reason[KHIB_REASON_MAX];
	struct khib_protector p, back;

	if (size > KHIB_PROTECTOR_TEXT_MAX)
		size = KHIB_PROTECTOR_TEXT_MAX;
	memcpy(text, data, size);
	text[size] = '\0';
	if (khib_protector_parse(text, "fuzz", &p, reason) < 0) {
		if (!memchr(reason, '\0', sizeof(reason)))
			__builtin_trap();
		return;
	}
	for (int v = KHIB_PROTECTOR_FULL; v <= KHIB_PROTECTOR_RESUME; v++) {
		khib_protector_format(&p, (enum khib_protector_view)v, out, sizeof(out));
		if (khib_protector_parse(out, "fuzz", &back, reason) < 0)
			__builtin_trap();
		same_or_trap(&p, &back, v == KHIB_PROTECTOR_FULL);
	}
}

static void key_area(const uint8_t *data, size_t size)
{
	static const uint8_t uuid[16] = { 0x6b, 0x68, 0x69, 0x62 };
	uint8_t area[KHIB_KEY_AREA_BYTES] = { 0 }, pk[32], sk[32], seed[32], ak[32], id[16];
	uint8_t dk[KHIB_DATA_KEY_BYTES];
	struct khib_keyslot_info slots[16];
	char reason[KHIB_REASON_MAX];
	uint32_t n = data[0] % 17;
	const uint8_t *blob;
	uint64_t counter;
	size_t len;

	memcpy(area, data + 1, size - 1 < sizeof(area) ? size - 1 : sizeof(area));
	khib_keyslot_list(area, sizeof(area), n, slots, 16);
	khib_keyslot_open_keyfile(area, sizeof(area), n, uuid, (const uint8_t *)FUZZ_KEYFILE,
				  sizeof(FUZZ_KEYFILE) - 1, dk, reason);
	memset(seed, 's', sizeof(seed));
	memset(ak, 'a', sizeof(ak));
	memset(id, 'i', sizeof(id));
	if (sodium_init() < 0)
		return;
	crypto_box_seed_keypair(pk, sk, seed);
	khib_keyslot_open_sealed(area, sizeof(area), n, uuid, id, pk, sk, dk, reason);
	if (khib_keyslot_open_tpm2(area, sizeof(area), n, uuid, id, ak, &counter, &blob, &len,
				   reason) == 0 &&
	    (blob < area || blob + len > area + sizeof(area)))
		__builtin_trap(); /* the blob must lie inside the area */
	khib_keyslot_has(area, sizeof(area), n, KHIB_SLOT_TPM2, id);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	if (!size)
		return 0;
	if (data[0] == 'P')
		protector(data + 1, size - 1);
	else
		key_area(data, size);
	return 0;
}
