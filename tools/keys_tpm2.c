/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * TPM2 protectors (keys.h): enrolment, the slot of each image, its opening
 * at resume.  Three things live in the TPM:
 *
 *  - each image's data key, sealed at hibernation to the PCR values of this
 *    boot (lib/system/tpm2.h); the next boot of the same chain unseals it, a thief
 *    with the disk alone cannot;
 *  - the slot authentication key, random at enrolment and sealed to the
 *    same PCRs: anyone may seal a data key of their own to those PCRs, but
 *    only a boot that can unseal this key can write a slot a resume
 *    accepts (lib/format/keyslot.h, KHIB_SLOT_TPM2);
 *  - the replay counter (KHIB_TPM2_COUNTER_INDEX): hibernation increments
 *    it and writes its value into the slot; a resume accepts only the value
 *    the counter holds now, then increments it, so that an image once
 *    resumed, or older than the last hibernation, is refused even when its
 *    bytes are written back.  The resume increments it right before the
 *    restore starts (lib/flows/resume.h, consume), not when it opens the image:
 *    a power cut during the checks does not cost the image.
 *
 * Static builds (the writer and restore kernels' khib) have no TPM: there
 * every call says so (-EOPNOTSUPP).
 */
#include <errno.h>
#include <string.h>

#include "image.h"
#include "keys.h"
#include "khib.h"
#include "util.h"

#if KHIB_HAVE_TPM2
#include "tpm2.h"

static const char *tcti_of(const struct khib_protector *p)
{
	return p->tcti[0] ? p->tcti : NULL;
}

static void tpm2_freep(struct khib_tpm2 **t)
{
	khib_tpm2_free(*t);
}

int khib_tool_tpm2_enroll(const char *name, uint32_t pcr_mask, const char *tcti,
			  struct khib_protector *ret, char *reason)
{
	_cleanup_(tpm2_freep) struct khib_tpm2 *t = NULL;
	struct khib_protector p = { .type = KHIB_PROTECTOR_TPM2, .pcr_mask = pcr_mask };
	uint8_t *ak = khib_secret_alloc(KHIB_SLOT_AUTH_KEY_BYTES), id[32];
	int r;

	if (reason) /* every failure below fills it (khib_fail_or_errno) */
		reason[0] = '\0';
	if (!ak)
		return khib_fail(reason, -ENOMEM, "no memory for a key");
	snprintf(p.name, sizeof(p.name), "%s", name);
	if (tcti)
		snprintf(p.tcti, sizeof(p.tcti), "%s", tcti);
	if ((r = khib_tpm2_open(tcti, &t, reason)) < 0)
		goto out;
	if ((r = khib_data_key_new(ak)) < 0 || (r = khib_data_key_new(id)) < 0) {
		khib_fail(reason, r, "no random numbers");
		goto out;
	}
	memcpy(p.id, id, sizeof(p.id));
	r = khib_tpm2_seal(t, pcr_mask, ak, p.auth_blob, sizeof(p.auth_blob), &p.auth_blob_len,
			   reason);
	if (r < 0)
		goto out;
	/* One counter for the machine: a second enrolment reuses it. */
	r = khib_tpm2_counter_define(t, KHIB_TPM2_COUNTER_INDEX, reason);
	if (r == -EEXIST)
		r = 0;
	if (r >= 0)
		*ret = p;
out:
	khib_secret_free(ak);
	return khib_fail_or_errno(reason, r);
}

int khib_tool_tpm2_remove(const struct khib_protector *p, char *reason)
{
	_cleanup_(tpm2_freep) struct khib_tpm2 *t = NULL;
	int r;

	if (reason) /* every failure below fills it (khib_fail_or_errno) */
		reason[0] = '\0';
	if ((r = khib_tpm2_open(tcti_of(p), &t, reason)) < 0)
		return khib_fail_or_errno(reason, r);
	r = khib_tpm2_counter_undefine(t, KHIB_TPM2_COUNTER_INDEX, reason);
	return r == -ENOENT ? 0 : khib_fail_or_errno(reason, r);
}

/* The slot authentication key, unsealed into ak (secret memory). */
static int unseal_auth_key(struct khib_tpm2 *t, const struct khib_protector *p, uint8_t *ak,
			   char *reason)
{
	int r = khib_tpm2_unseal(t, p->auth_blob, p->auth_blob_len, ak, reason);

	if (r == -EKEYREJECTED)
		khib_fail(reason, r, "the TPM will not unseal the key of '%s': its PCRs changed "
			  "since it was enrolled (a firmware or boot change: enroll it again)",
			  p->name);
	else if (r == -EBADMSG)
		khib_fail(reason, r, "the TPM does not know the key of '%s' (another machine, or "
			  "the TPM was cleared: enroll it again)", p->name);
	return r;
}

int khib_tool_tpm2_add_slot(const struct khib_protector *p, struct khib_image_key *key,
			    const uint8_t uuid[16], char *reason)
{
	_cleanup_(tpm2_freep) struct khib_tpm2 *t = NULL;
	uint8_t *ak = khib_secret_alloc(KHIB_SLOT_AUTH_KEY_BYTES), blob[KHIB_SLOT_TPM2_BLOB_MAX];
	uint64_t counter;
	size_t len;
	int r;

	if (reason) /* every failure below fills it (khib_fail_or_errno) */
		reason[0] = '\0';
	if (!ak)
		return khib_fail(reason, -ENOMEM, "no memory for a key");
	if ((r = khib_tpm2_open(tcti_of(p), &t, reason)) >= 0 &&
	    (r = unseal_auth_key(t, p, ak, reason)) >= 0 &&
	    (r = khib_tpm2_seal(t, p->pcr_mask, key->dk, blob, sizeof(blob), &len, reason)) >= 0 &&
	    (r = khib_tpm2_counter_increment(t, KHIB_TPM2_COUNTER_INDEX, &counter, reason)) >= 0 &&
	    (r = khib_keyslot_add_tpm2(key->key_area, KHIB_KEY_AREA_BYTES, &key->n_slots, uuid,
				       p->id, counter, blob, len, ak)) < 0)
		khib_fail(reason, r, "adding its slot to the image's key area: %s", strerror(-r));
	khib_secret_free(ak);
	return khib_fail_or_errno(reason, r);
}

int khib_tool_tpm2_open_slot(const struct khib_protector *p, const uint8_t uuid[16],
			     const uint8_t *area, uint32_t n_slots, uint8_t dk[32], char *reason)
{
	_cleanup_(tpm2_freep) struct khib_tpm2 *t = NULL;
	uint8_t *ak = khib_secret_alloc(KHIB_SLOT_AUTH_KEY_BYTES);
	const uint8_t *blob;
	uint64_t counter, now;
	size_t len;
	int r;

	if (reason) /* every failure below fills it (khib_fail_or_errno) */
		reason[0] = '\0';
	if (!ak)
		return khib_fail(reason, -ENOMEM, "no memory for a key");
	if ((r = khib_tpm2_open(tcti_of(p), &t, reason)) < 0 ||
	    (r = unseal_auth_key(t, p, ak, reason)) < 0 ||
	    (r = khib_keyslot_open_tpm2(area, KHIB_KEY_AREA_BYTES, n_slots, uuid, p->id, ak,
					&counter, &blob, &len, reason)) < 0 ||
	    (r = khib_tpm2_counter_read(t, KHIB_TPM2_COUNTER_INDEX, &now, reason)) < 0)
		goto out;
	/* The one image that may resume is the last one written. */
	if (counter != now) {
		r = khib_fail(reason, -ESTALE, "the image was resumed before, or a later one was "
			      "written (TPM counter %llu, the image's %llu): a replay",
			      (unsigned long long)now, (unsigned long long)counter);
		goto out;
	}
	r = khib_tpm2_unseal(t, blob, len, dk, reason);
out:
	khib_secret_free(ak);
	return khib_fail_or_errno(reason, r);
}

int khib_tool_tpm2_consume(const struct khib_protector *p, char *reason)
{
	_cleanup_(tpm2_freep) struct khib_tpm2 *t = NULL;
	uint64_t now;
	int r;

	if (reason) /* every failure below fills it (khib_fail_or_errno) */
		reason[0] = '\0';
	if ((r = khib_tpm2_open(tcti_of(p), &t, reason)) >= 0)
		r = khib_tpm2_counter_increment(t, KHIB_TPM2_COUNTER_INDEX, &now, reason);
	return khib_fail_or_errno(reason, r);
}

int khib_tool_tpm2_check(const struct khib_protector *p, uint64_t *ret_counter, char *reason)
{
	_cleanup_(tpm2_freep) struct khib_tpm2 *t = NULL;
	uint8_t *ak = khib_secret_alloc(KHIB_SLOT_AUTH_KEY_BYTES);
	int r;

	if (reason) /* every failure below fills it (khib_fail_or_errno) */
		reason[0] = '\0';
	if (!ak)
		return khib_fail(reason, -ENOMEM, "no memory for a key");
	if ((r = khib_tpm2_open(tcti_of(p), &t, reason)) >= 0 &&
	    (r = unseal_auth_key(t, p, ak, reason)) >= 0)
		r = khib_tpm2_counter_read(t, KHIB_TPM2_COUNTER_INDEX, ret_counter, reason);
	khib_secret_free(ak);
	return khib_fail_or_errno(reason, r);
}

#else

static int no_tpm2(char *reason)
{
	return khib_fail(reason, -EOPNOTSUPP, "this khib is built without TPM2 support");
}

int khib_tool_tpm2_enroll(const char *name, uint32_t pcr_mask, const char *tcti,
			  struct khib_protector *ret, char *reason)
{
	(void)name, (void)pcr_mask, (void)tcti, (void)ret;
	return no_tpm2(reason);
}

int khib_tool_tpm2_remove(const struct khib_protector *p, char *reason)
{
	(void)p;
	return no_tpm2(reason);
}

int khib_tool_tpm2_add_slot(const struct khib_protector *p, struct khib_image_key *key,
			    const uint8_t uuid[16], char *reason)
{
	(void)p, (void)key, (void)uuid;
	return no_tpm2(reason);
}

int khib_tool_tpm2_open_slot(const struct khib_protector *p, const uint8_t uuid[16],
			     const uint8_t *area, uint32_t n_slots, uint8_t dk[32], char *reason)
{
	(void)p, (void)uuid, (void)area, (void)n_slots, (void)dk;
	return no_tpm2(reason);
}

int khib_tool_tpm2_consume(const struct khib_protector *p, char *reason)
{
	(void)p;
	return no_tpm2(reason);
}

int khib_tool_tpm2_check(const struct khib_protector *p, uint64_t *ret_counter, char *reason)
{
	(void)p, (void)ret_counter;
	return no_tpm2(reason);
}

#endif
