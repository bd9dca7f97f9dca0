/* SPDX-License-Identifier: GPL-2.0-only */
#include "tpm2.h"

#include <errno.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>
#include <tss2/tss2_esys.h>
#include <tss2/tss2_mu.h>
#include <tss2/tss2_rc.h>
#include <tss2/tss2_tctildr.h>

#include "crypt.h"
#include "util.h"

#define BLOB_MAGIC "KHT2"
#define BLOB_HEAD 16
#define PCR_MASK_VALID ((1u << KHIB_TPM2_PCRS) - 1)

struct khib_tpm2 {
	TSS2_TCTI_CONTEXT *tcti;
	ESYS_CONTEXT *esys;
};

/* A transient object or session that is flushed, or an NV index's ESYS
 * handle that is closed, when it goes out of scope. */
struct tr {
	ESYS_CONTEXT *esys;
	ESYS_TR h;
};

static void tr_flush(struct tr *o)
{
	if (o->h != ESYS_TR_NONE)
		Esys_FlushContext(o->esys, o->h);
}

static void tr_close(struct tr *o)
{
	if (o->h != ESYS_TR_NONE)
		Esys_TR_Close(o->esys, &o->h);
}

static void esys_freep(void *p)
{
	Esys_Free(*(void **)p);
}

#define _cleanup_flush_ _cleanup_(tr_flush)
#define _cleanup_tr_close_ _cleanup_(tr_close)
#define _cleanup_esys_ _cleanup_(esys_freep)
#define TR(t) { .esys = (t)->esys, .h = ESYS_TR_NONE }

/* A response code as the TPM defines it, stripped of which handle, session
 * or parameter it names; 0 for a code from tpm2-tss's own layers. */
static TSS2_RC tpm_code(TSS2_RC rc)
{
	if ((rc & TSS2_RC_LAYER_MASK) != TSS2_TPM_RC_LAYER)
		return 0;
	return rc & TPM2_RC_FMT1 ? rc & (TPM2_RC_FMT1 | 0x3f) : rc;
}

/* The errno for a failed call, where nothing more specific applies:
 * -EACCES for a refused authorization, -EIO for anything else. */
static int tpm_fail(char *reason, TSS2_RC rc, const char *what)
{
	TSS2_RC c = tpm_code(rc);
	int err = c == TPM2_RC_BAD_AUTH || c == TPM2_RC_AUTH_FAIL ? -EACCES : -EIO;

	return khib_fail(reason, err, "TPM2 %s: %s", what, Tss2_RC_Decode(rc));
}

static int pcr_mask_check(uint32_t mask, char *reason)
{
	if (mask == 0 || (mask & ~PCR_MASK_VALID))
		return khib_fail(reason, -EINVAL, "PCR mask 0x%x: want PCRs 0-%d, at least one",
				 mask, KHIB_TPM2_PCRS - 1);
	return 0;
}

static void pcr_selection(uint32_t mask, TPML_PCR_SELECTION *sel)
{
	*sel = (TPML_PCR_SELECTION){ .count = 1 };
	sel->pcrSelections[0].hash = TPM2_ALG_SHA256;
	sel->pcrSelections[0].sizeofSelect = 3;
	for (int i = 0; i < 3; i++)
		sel->pcrSelections[0].pcrSelect[i] = (uint8_t)(mask >> (8 * i));
}

int khib_tpm2_open(const char *tcti, struct khib_tpm2 **ret, char *reason)
{
	struct khib_tpm2 *t;
	TSS2_RC rc;

	if (!tcti)
		tcti = KHIB_TPM2_TCTI_DEFAULT;
	/* tpm2-tss prints its errors to stderr; the library does not. */
	setenv("TSS2_LOG", "all+NONE", 0);
	t = calloc(1, sizeof(*t));
	if (!t)
		return -ENOMEM;
	rc = Tss2_TctiLdr_Initialize(tcti, &t->tcti);
	if (rc != TSS2_RC_SUCCESS) {
		free(t);
		/* tctildr says NOT_SUPPORTED when no library of that name loads
		 * (or its init rejects the configuration), IO_ERROR and
		 * NO_CONNECTION when the device or socket is not there. */
		if (rc == TSS2_TCTI_RC_NOT_SUPPORTED)
			return khib_fail(reason, -ENOPKG, "TPM2 TCTI '%s': no such TCTI library "
					 "(libtss2-tcti-NAME.so.0): %s", tcti, Tss2_RC_Decode(rc));
		return khib_fail(reason, -ENODEV, "TPM2 TCTI '%s': no TPM there: %s", tcti,
				 Tss2_RC_Decode(rc));
	}
	rc = Esys_Initialize(&t->esys, t->tcti, NULL);
	if (rc != TSS2_RC_SUCCESS) {
		Tss2_TctiLdr_Finalize(&t->tcti);
		free(t);
		return khib_fail(reason, rc == TSS2_ESYS_RC_MEMORY ? -ENOMEM : -ENODEV,
				 "TPM2 on '%s': %s", tcti, Tss2_RC_Decode(rc));
	}
	*ret = t;
	return 0;
}

void khib_tpm2_free(struct khib_tpm2 *t)
{
	if (!t)
		return;
	Esys_Finalize(&t->esys);
	Tss2_TctiLdr_Finalize(&t->tcti);
	free(t);
}

/*
 * The primary storage key every blob is sealed under: TCG's SRK template
 * (Provisioning Guidance, ECC NIST P-256, AES-128-CFB, unique empty), so
 * the same key each time in the same TPM, and the same key other tools
 * keep at 0x81000001.
 */
static int create_primary(struct khib_tpm2 *t, ESYS_TR *ret, char *reason)
{
	static const TPM2B_PUBLIC tmpl = {
		.publicArea = {
			.type = TPM2_ALG_ECC,
			.nameAlg = TPM2_ALG_SHA256,
			.objectAttributes = TPMA_OBJECT_FIXEDTPM | TPMA_OBJECT_FIXEDPARENT |
				TPMA_OBJECT_SENSITIVEDATAORIGIN | TPMA_OBJECT_USERWITHAUTH |
				TPMA_OBJECT_NODA | TPMA_OBJECT_RESTRICTED | TPMA_OBJECT_DECRYPT,
			.parameters.eccDetail = {
				.symmetric = {
					.algorithm = TPM2_ALG_AES,
					.keyBits.aes = 128,
					.mode.aes = TPM2_ALG_CFB,
				},
				.scheme.scheme = TPM2_ALG_NULL,
				.curveID = TPM2_ECC_NIST_P256,
				.kdf.scheme = TPM2_ALG_NULL,
			},
		},
	};
	static const TPM2B_SENSITIVE_CREATE no_sensitive;
	static const TPM2B_DATA no_outside;
	static const TPML_PCR_SELECTION no_pcrs;
	TSS2_RC rc;

	rc = Esys_CreatePrimary(t->esys, ESYS_TR_RH_OWNER, ESYS_TR_PASSWORD, ESYS_TR_NONE,
				ESYS_TR_NONE, &no_sensitive, &tmpl, &no_outside, &no_pcrs, ret,
				NULL, NULL, NULL, NULL);
	if (rc != TSS2_RC_SUCCESS)
		return tpm_fail(reason, rc, "creating the primary storage key");
	return 0;
}

/*
 * A session salted to the primary (its seed travels encrypted to the
 * primary's public key), so that its AES-128-CFB parameter encryption
 * keeps the secret from anyone who listens on the bus.  type: an HMAC or
 * a policy session.
 */
static int start_session(struct khib_tpm2 *t, ESYS_TR primary, TPM2_SE type, ESYS_TR *ret,
			 char *reason)
{
	static const TPMT_SYM_DEF aes = {
		.algorithm = TPM2_ALG_AES,
		.keyBits.aes = 128,
		.mode.aes = TPM2_ALG_CFB,
	};
	TSS2_RC rc;

	rc = Esys_StartAuthSession(t->esys, primary, ESYS_TR_NONE, ESYS_TR_NONE, ESYS_TR_NONE,
				   ESYS_TR_NONE, NULL, type, &aes, TPM2_ALG_SHA256, ret);
	if (rc != TSS2_RC_SUCCESS)
		return tpm_fail(reason, rc, "starting a session");
	return 0;
}

/* The policy digest of PolicyPCR over the current values of mask's PCRs,
 * which the TPM itself reads (an empty pcrDigest), in a trial session. */
static int pcr_policy_digest(struct khib_tpm2 *t, uint32_t mask, TPM2B_DIGEST *ret,
			     char *reason)
{
	static const TPMT_SYM_DEF none = { .algorithm = TPM2_ALG_NULL };
	static const TPM2B_DIGEST current;
	_cleanup_flush_ struct tr trial = TR(t);
	_cleanup_esys_ TPM2B_DIGEST *digest = NULL;
	TPML_PCR_SELECTION sel;
	TSS2_RC rc;

	rc = Esys_StartAuthSession(t->esys, ESYS_TR_NONE, ESYS_TR_NONE, ESYS_TR_NONE,
				   ESYS_TR_NONE, ESYS_TR_NONE, NULL, TPM2_SE_TRIAL, &none,
				   TPM2_ALG_SHA256, &trial.h);
	if (rc != TSS2_RC_SUCCESS)
		return tpm_fail(reason, rc, "starting a trial session");
	pcr_selection(mask, &sel);
	rc = Esys_PolicyPCR(t->esys, trial.h, ESYS_TR_NONE, ESYS_TR_NONE, ESYS_TR_NONE,
			    &current, &sel);
	if (rc != TSS2_RC_SUCCESS)
		return tpm_fail(reason, rc, "PolicyPCR in a trial session");
	rc = Esys_PolicyGetDigest(t->esys, trial.h, ESYS_TR_NONE, ESYS_TR_NONE, ESYS_TR_NONE,
				  &digest);
	if (rc != TSS2_RC_SUCCESS)
		return tpm_fail(reason, rc, "reading the trial policy digest");
	*ret = *digest;
	return 0;
}

static int blob_encode(uint32_t mask, const TPM2B_PUBLIC *pub, const TPM2B_PRIVATE *priv,
		       uint8_t *blob, size_t blob_max, size_t *ret_len, char *reason)
{
	uint8_t buf[KHIB_TPM2_BLOB_MAX];
	size_t pub_end = BLOB_HEAD, end;

	if (Tss2_MU_TPM2B_PUBLIC_Marshal(pub, buf, sizeof(buf), &pub_end) != TSS2_RC_SUCCESS)
		return khib_fail(reason, -EIO, "TPM2 sealed object: public part too large");
	end = pub_end;
	if (Tss2_MU_TPM2B_PRIVATE_Marshal(priv, buf, sizeof(buf), &end) != TSS2_RC_SUCCESS)
		return khib_fail(reason, -EIO, "TPM2 sealed object: private part too large");
	if (end > blob_max)
		return khib_fail(reason, -ENOSPC, "TPM2 sealed blob: %zu bytes, room for %zu",
				 end, blob_max);
	memcpy(buf, BLOB_MAGIC, 4);
	khib_put_le16(buf + 4, KHIB_TPM2_BLOB_VERSION);
	khib_put_le16(buf + 6, TPM2_ALG_SHA256);
	khib_put_le32(buf + 8, mask);
	khib_put_le16(buf + 12, (uint16_t)(pub_end - BLOB_HEAD));
	khib_put_le16(buf + 14, (uint16_t)(end - pub_end));
	memcpy(blob, buf, end);
	*ret_len = end;
	return 0;
}

/* The header's fields; the parts are left to blob_decode(). */
static int blob_head(const uint8_t *blob, size_t len, uint32_t *ret_mask, char *reason)
{
	uint32_t mask;

	if (len < BLOB_HEAD || memcmp(blob, BLOB_MAGIC, 4))
		return khib_fail(reason, -EBADMSG, "TPM2 sealed blob: no '%s' header", BLOB_MAGIC);
	if (khib_get_le16(blob + 4) != KHIB_TPM2_BLOB_VERSION)
		return khib_fail(reason, -EOPNOTSUPP, "TPM2 sealed blob: version %u unknown",
				 khib_get_le16(blob + 4));
	if (khib_get_le16(blob + 6) != TPM2_ALG_SHA256)
		return khib_fail(reason, -EOPNOTSUPP, "TPM2 sealed blob: PCR bank 0x%04x unknown",
				 khib_get_le16(blob + 6));
	mask = khib_get_le32(blob + 8);
	if (mask == 0 || (mask & ~PCR_MASK_VALID))
		return khib_fail(reason, -EBADMSG, "TPM2 sealed blob: PCR mask 0x%x", mask);
	if ((size_t)BLOB_HEAD + khib_get_le16(blob + 12) + khib_get_le16(blob + 14) != len)
		return khib_fail(reason, -EBADMSG, "TPM2 sealed blob: parts do not add up to "
				 "its %zu bytes", len);
	*ret_mask = mask;
	return 0;
}

int khib_tpm2_blob_pcr_mask(const uint8_t *blob, size_t len, uint32_t *ret_mask)
{
	return blob_head(blob, len, ret_mask, NULL);
}

/* A blob's parts, each of which must fill its length exactly, and must be
 * what khib_tpm2_seal() makes. */
static int blob_decode(const uint8_t *blob, size_t len, uint32_t *ret_mask,
		       TPM2B_PUBLIC *pub, TPM2B_PRIVATE *priv, char *reason)
{
	const TPMA_OBJECT want = TPMA_OBJECT_FIXEDTPM | TPMA_OBJECT_FIXEDPARENT;
	size_t pub_end, off = BLOB_HEAD;
	uint32_t mask;
	int r;

	if ((r = blob_head(blob, len, &mask, reason)) < 0)
		return r;
	pub_end = BLOB_HEAD + khib_get_le16(blob + 12);
	*pub = (TPM2B_PUBLIC){ 0 };
	*priv = (TPM2B_PRIVATE){ 0 };
	if (Tss2_MU_TPM2B_PUBLIC_Unmarshal(blob, pub_end, &off, pub) != TSS2_RC_SUCCESS ||
	    off != pub_end)
		return khib_fail(reason, -EBADMSG, "TPM2 sealed blob: public part does not decode");
	if (Tss2_MU_TPM2B_PRIVATE_Unmarshal(blob, len, &off, priv) != TSS2_RC_SUCCESS ||
	    off != len)
		return khib_fail(reason, -EBADMSG, "TPM2 sealed blob: private part does not decode");
	if (pub->publicArea.type != TPM2_ALG_KEYEDHASH ||
	    (pub->publicArea.objectAttributes & (want | TPMA_OBJECT_USERWITHAUTH)) != want)
		return khib_fail(reason, -EBADMSG, "TPM2 sealed blob: not a sealed object "
				 "bound to this TPM by policy");
	*ret_mask = mask;
	return 0;
}

/*
 * SECURITY: the secret goes to the TPM as TPM2_Create's first parameter,
 * encrypted by the salted HMAC session that authorizes the primary; this
 * function's copy of it is wiped before it returns.
 */
static int create_sealed(struct khib_tpm2 *t, ESYS_TR primary, const TPM2B_DIGEST *policy,
			 const uint8_t secret[KHIB_TPM2_SECRET_BYTES],
			 TPM2B_PUBLIC **ret_pub, TPM2B_PRIVATE **ret_priv, char *reason)
{
	static const TPM2B_DATA no_outside;
	static const TPML_PCR_SELECTION no_pcrs;
	_cleanup_flush_ struct tr hmac = TR(t);
	TPM2B_SENSITIVE_CREATE sens = { 0 };
	TPM2B_PUBLIC tmpl = {
		.publicArea = {
			.type = TPM2_ALG_KEYEDHASH,
			.nameAlg = TPM2_ALG_SHA256,
			/* No userWithAuth: only the policy opens it.  noDA: a
			 * TPM in dictionary-attack lockout still unseals it. */
			.objectAttributes = TPMA_OBJECT_FIXEDTPM | TPMA_OBJECT_FIXEDPARENT |
				TPMA_OBJECT_NODA,
			.authPolicy = *policy,
			.parameters.keyedHashDetail.scheme.scheme = TPM2_ALG_NULL,
		},
	};
	TSS2_RC rc;
	int r;

	if ((r = start_session(t, primary, TPM2_SE_HMAC, &hmac.h, reason)) < 0)
		return r;
	rc = Esys_TRSess_SetAttributes(t->esys, hmac.h, TPMA_SESSION_DECRYPT |
				       TPMA_SESSION_CONTINUESESSION, 0xff);
	if (rc != TSS2_RC_SUCCESS)
		return tpm_fail(reason, rc, "setting session attributes");
	sens.sensitive.data.size = KHIB_TPM2_SECRET_BYTES;
	memcpy(sens.sensitive.data.buffer, secret, KHIB_TPM2_SECRET_BYTES);
	rc = Esys_Create(t->esys, primary, hmac.h, ESYS_TR_NONE, ESYS_TR_NONE, &sens, &tmpl,
			 &no_outside, &no_pcrs, ret_priv, ret_pub, NULL, NULL, NULL);
	khib_wipe(&sens, sizeof(sens));
	if (rc != TSS2_RC_SUCCESS)
		return tpm_fail(reason, rc, "creating the sealed object");
	return 0;
}

int khib_tpm2_seal(struct khib_tpm2 *t, uint32_t pcr_mask,
		   const uint8_t secret[KHIB_TPM2_SECRET_BYTES],
		   uint8_t *blob, size_t blob_max, size_t *ret_len, char *reason)
{
	uint8_t values[KHIB_TPM2_PCRS][KHIB_TPM2_DIGEST_BYTES];
	_cleanup_flush_ struct tr primary = TR(t);
	_cleanup_esys_ TPM2B_PUBLIC *pub = NULL;
	_cleanup_esys_ TPM2B_PRIVATE *priv = NULL;
	TPM2B_DIGEST policy;
	int r;

	if ((r = pcr_mask_check(pcr_mask, reason)) < 0)
		return r;
	/* A selection the TPM does not keep would be left out of the policy
	 * silently: a policy over no PCR at all holds whatever booted. */
	if ((r = khib_tpm2_pcr_read(t, pcr_mask, values, reason)) < 0)
		return r;
	if ((r = pcr_policy_digest(t, pcr_mask, &policy, reason)) < 0)
		return r;
	if ((r = create_primary(t, &primary.h, reason)) < 0)
		return r;
	if ((r = create_sealed(t, primary.h, &policy, secret, &pub, &priv, reason)) < 0)
		return r;
	return blob_encode(pcr_mask, pub, priv, blob, blob_max, ret_len, reason);
}

/* The errno of a failed TPM2_Unseal: -EKEYREJECTED for the policy. */
static int unseal_fail(char *reason, TSS2_RC rc)
{
	TSS2_RC c = tpm_code(rc);

	if (c == TPM2_RC_POLICY_FAIL)
		return khib_fail(reason, -EKEYREJECTED, "TPM2 unseal: the PCRs no longer hold "
				 "the values sealed to: %s", Tss2_RC_Decode(rc));
	if (c == TPM2_RC_PCR_CHANGED)
		return khib_fail(reason, -EAGAIN, "TPM2 unseal: PCRs changed while unsealing: %s",
				 Tss2_RC_Decode(rc));
	return tpm_fail(reason, rc, "unseal");
}

/*
 * Unseal through a policy session that PolicyPCR has satisfied (or not: the
 * TPM compares its digest with the object's authPolicy only at Unseal).
 * SECURITY: the session is salted and encrypts the response, so the secret
 * crosses the bus encrypted; tpm2-tss's own copy is wiped before freeing.
 */
static int unseal_loaded(struct khib_tpm2 *t, ESYS_TR primary, ESYS_TR obj, uint32_t mask,
			 uint8_t secret[KHIB_TPM2_SECRET_BYTES], char *reason)
{
	static const TPM2B_DIGEST current;
	_cleanup_flush_ struct tr policy = TR(t);
	TPM2B_SENSITIVE_DATA *out = NULL;
	TPML_PCR_SELECTION sel;
	TSS2_RC rc;
	int r;

	if ((r = start_session(t, primary, TPM2_SE_POLICY, &policy.h, reason)) < 0)
		return r;
	pcr_selection(mask, &sel);
	rc = Esys_PolicyPCR(t->esys, policy.h, ESYS_TR_NONE, ESYS_TR_NONE, ESYS_TR_NONE,
			    &current, &sel);
	if (rc != TSS2_RC_SUCCESS)
		return tpm_fail(reason, rc, "PolicyPCR");
	rc = Esys_TRSess_SetAttributes(t->esys, policy.h, TPMA_SESSION_ENCRYPT |
				       TPMA_SESSION_CONTINUESESSION, 0xff);
	if (rc != TSS2_RC_SUCCESS)
		return tpm_fail(reason, rc, "setting session attributes");
	rc = Esys_Unseal(t->esys, obj, policy.h, ESYS_TR_NONE, ESYS_TR_NONE, &out);
	if (rc != TSS2_RC_SUCCESS)
		return unseal_fail(reason, rc);
	if (out->size != KHIB_TPM2_SECRET_BYTES)
		r = khib_fail(reason, -EBADMSG, "TPM2 unseal: %u bytes sealed, want %d",
			      out->size, KHIB_TPM2_SECRET_BYTES);
	else
		memcpy(secret, out->buffer, KHIB_TPM2_SECRET_BYTES);
	khib_wipe(out, sizeof(*out));
	Esys_Free(out);
	return r;
}

int khib_tpm2_unseal(struct khib_tpm2 *t, const uint8_t *blob, size_t len,
		     uint8_t secret[KHIB_TPM2_SECRET_BYTES], char *reason)
{
	_cleanup_flush_ struct tr primary = TR(t);
	_cleanup_flush_ struct tr obj = TR(t);
	TPM2B_PUBLIC pub;
	TPM2B_PRIVATE priv;
	uint32_t mask = 0;
	TSS2_RC rc;
	int r;

	if ((r = blob_decode(blob, len, &mask, &pub, &priv, reason)) < 0)
		return r;
	if ((r = create_primary(t, &primary.h, reason)) < 0)
		return r;
	rc = Esys_Load(t->esys, primary.h, ESYS_TR_PASSWORD, ESYS_TR_NONE, ESYS_TR_NONE,
		       &priv, &pub, &obj.h);
	/* The TPM names the parameter or handle it refuses in a format-one
	 * code: damage, another TPM's blob, or a cleared TPM's.  Anything
	 * else (out of memory, a broken connection) is no verdict on the blob. */
	if (rc != TSS2_RC_SUCCESS && (tpm_code(rc) & TPM2_RC_FMT1))
		return khib_fail(reason, -EBADMSG, "TPM2 refuses to load the sealed object "
				 "(damaged, or sealed in another TPM or before it was cleared): %s",
				 Tss2_RC_Decode(rc));
	if (rc != TSS2_RC_SUCCESS)
		return tpm_fail(reason, rc, "loading the sealed object");
	return unseal_loaded(t, primary.h, obj.h, mask, secret, reason);
}

/*
 * A TPM answers PCR_Read with at most 8 digests and says which PCRs it
 * answered for: ask for what is left until nothing is.  A PCR the bank
 * does not keep never comes back.
 */
int khib_tpm2_pcr_read(struct khib_tpm2 *t, uint32_t pcr_mask,
		       uint8_t values[KHIB_TPM2_PCRS][KHIB_TPM2_DIGEST_BYTES], char *reason)
{
	uint8_t got[KHIB_TPM2_PCRS][KHIB_TPM2_DIGEST_BYTES];
	uint32_t left = pcr_mask;
	int r;

	if ((r = pcr_mask_check(pcr_mask, reason)) < 0)
		return r;
	while (left) {
		_cleanup_esys_ TPML_PCR_SELECTION *sel_out = NULL;
		_cleanup_esys_ TPML_DIGEST *digests = NULL;
		TPML_PCR_SELECTION sel;
		uint32_t answered = 0;
		UINT32 update_counter;
		uint32_t k = 0;
		TSS2_RC rc;

		pcr_selection(left, &sel);
		rc = Esys_PCR_Read(t->esys, ESYS_TR_NONE, ESYS_TR_NONE, ESYS_TR_NONE, &sel,
				   &update_counter, &sel_out, &digests);
		if (rc != TSS2_RC_SUCCESS)
			return tpm_fail(reason, rc, "reading PCRs");
		if (sel_out->count == 1 && sel_out->pcrSelections[0].hash == TPM2_ALG_SHA256)
			for (int i = 0; i < sel_out->pcrSelections[0].sizeofSelect && i < 3; i++)
				answered |= (uint32_t)sel_out->pcrSelections[0].pcrSelect[i] << (8 * i);
		answered &= left;
		if (!answered)
			return khib_fail(reason, -EOPNOTSUPP, "TPM2 has no sha256 value for PCR "
					 "mask 0x%x (sha256 bank not active?)", left);
		/* Digests come in PCR order, one per PCR answered. */
		for (int i = 0; i < KHIB_TPM2_PCRS; i++) {
			if (!(answered & (1u << i)))
				continue;
			if (k >= digests->count || digests->digests[k].size != KHIB_TPM2_DIGEST_BYTES)
				return khib_fail(reason, -EIO, "TPM2 PCR_Read: malformed answer");
			memcpy(got[i], digests->digests[k++].buffer, KHIB_TPM2_DIGEST_BYTES);
		}
		left &= ~answered;
	}
	for (int i = 0; i < KHIB_TPM2_PCRS; i++)
		if (pcr_mask & (1u << i))
			memcpy(values[i], got[i], KHIB_TPM2_DIGEST_BYTES);
	return 0;
}

/* NV counters. */

#define COUNTER_ATTRS (TPMA_NV_AUTHREAD | TPMA_NV_AUTHWRITE | TPMA_NV_NO_DA | \
		       ((TPMA_NV)TPM2_NT_COUNTER << TPMA_NV_TPM2_NT_SHIFT))

/*
 * The ESYS handle of a defined counter.  Its type is checked: an index of
 * another type at the same number (an attacker's, say, with a value of
 * their choice) is never taken for the counter, which no one can set back.
 */
static int counter_open(struct khib_tpm2 *t, uint32_t idx, struct tr *ret, char *reason)
{
	_cleanup_esys_ TPM2B_NV_PUBLIC *pub = NULL;
	TSS2_RC rc;

	if (idx >> 24 != TPM2_HT_NV_INDEX)
		return khib_fail(reason, -EINVAL, "TPM2 NV index 0x%08x: not an NV index", idx);
	rc = Esys_TR_FromTPMPublic(t->esys, idx, ESYS_TR_NONE, ESYS_TR_NONE, ESYS_TR_NONE,
				   &ret->h);
	if (rc != TSS2_RC_SUCCESS && tpm_code(rc) == TPM2_RC_HANDLE)
		return khib_fail(reason, -ENOENT, "TPM2 NV index 0x%08x: not defined", idx);
	if (rc != TSS2_RC_SUCCESS)
		return tpm_fail(reason, rc, "looking up an NV index");
	rc = Esys_NV_ReadPublic(t->esys, ret->h, ESYS_TR_NONE, ESYS_TR_NONE, ESYS_TR_NONE,
				&pub, NULL);
	if (rc != TSS2_RC_SUCCESS)
		return tpm_fail(reason, rc, "reading an NV index's public area");
	if ((pub->nvPublic.attributes & TPMA_NV_TPM2_NT_MASK) >> TPMA_NV_TPM2_NT_SHIFT !=
	    TPM2_NT_COUNTER)
		return khib_fail(reason, -EMEDIUMTYPE, "TPM2 NV index 0x%08x: not a counter", idx);
	return 0;
}

static int counter_get(struct khib_tpm2 *t, uint32_t idx, ESYS_TR h, uint64_t *ret_value,
		       char *reason)
{
	_cleanup_esys_ TPM2B_MAX_NV_BUFFER *data = NULL;
	uint64_t v = 0;
	TSS2_RC rc;

	rc = Esys_NV_Read(t->esys, h, h, ESYS_TR_PASSWORD, ESYS_TR_NONE, ESYS_TR_NONE, 8, 0,
			  &data);
	if (rc != TSS2_RC_SUCCESS && tpm_code(rc) == TPM2_RC_NV_UNINITIALIZED)
		return khib_fail(reason, -ENODATA, "TPM2 counter 0x%08x: never incremented", idx);
	if (rc != TSS2_RC_SUCCESS)
		return tpm_fail(reason, rc, "reading a counter");
	if (data->size != 8)
		return khib_fail(reason, -EIO, "TPM2 counter 0x%08x: %u bytes read", idx,
				 data->size);
	for (int i = 0; i < 8; i++)	/* big endian, as the TPM keeps it */
		v = v << 8 | data->buffer[i];
	*ret_value = v;
	return 0;
}

static int counter_bump(struct khib_tpm2 *t, ESYS_TR h, char *reason)
{
	TSS2_RC rc;

	rc = Esys_NV_Increment(t->esys, h, h, ESYS_TR_PASSWORD, ESYS_TR_NONE, ESYS_TR_NONE);
	if (rc != TSS2_RC_SUCCESS)
		return tpm_fail(reason, rc, "incrementing a counter");
	return 0;
}

int khib_tpm2_counter_define(struct khib_tpm2 *t, uint32_t nv_index, char *reason)
{
	static const TPM2B_AUTH no_auth;
	TPM2B_NV_PUBLIC pub = {
		.nvPublic = {
			.nvIndex = nv_index,
			.nameAlg = TPM2_ALG_SHA256,
			.attributes = COUNTER_ATTRS,
			.dataSize = 8,
		},
	};
	_cleanup_tr_close_ struct tr nv = TR(t);
	TSS2_RC rc;
	int r;

	if (nv_index >> 24 != TPM2_HT_NV_INDEX)
		return khib_fail(reason, -EINVAL, "TPM2 NV index 0x%08x: not an NV index",
				 nv_index);
	rc = Esys_NV_DefineSpace(t->esys, ESYS_TR_RH_OWNER, ESYS_TR_PASSWORD, ESYS_TR_NONE,
				 ESYS_TR_NONE, &no_auth, &pub, &nv.h);
	if (rc != TSS2_RC_SUCCESS && tpm_code(rc) == TPM2_RC_NV_DEFINED)
		return khib_fail(reason, -EEXIST, "TPM2 NV index 0x%08x: already defined",
				 nv_index);
	if (rc != TSS2_RC_SUCCESS)
		return tpm_fail(reason, rc, "defining a counter");
	if ((r = counter_bump(t, nv.h, reason)) < 0) {
		/* Leave no counter behind that nobody can read. */
		if (Esys_NV_UndefineSpace(t->esys, ESYS_TR_RH_OWNER, nv.h, ESYS_TR_PASSWORD,
					  ESYS_TR_NONE, ESYS_TR_NONE) == TSS2_RC_SUCCESS)
			nv.h = ESYS_TR_NONE;
		return r;
	}
	return 0;
}

int khib_tpm2_counter_increment(struct khib_tpm2 *t, uint32_t nv_index, uint64_t *ret_value,
				char *reason)
{
	_cleanup_tr_close_ struct tr nv = TR(t);
	int r;

	if ((r = counter_open(t, nv_index, &nv, reason)) < 0)
		return r;
	if ((r = counter_bump(t, nv.h, reason)) < 0)
		return r;
	return counter_get(t, nv_index, nv.h, ret_value, reason);
}

int khib_tpm2_counter_read(struct khib_tpm2 *t, uint32_t nv_index, uint64_t *ret_value,
			   char *reason)
{
	_cleanup_tr_close_ struct tr nv = TR(t);
	int r;

	if ((r = counter_open(t, nv_index, &nv, reason)) < 0)
		return r;
	return counter_get(t, nv_index, nv.h, ret_value, reason);
}

int khib_tpm2_counter_undefine(struct khib_tpm2 *t, uint32_t nv_index, char *reason)
{
	_cleanup_tr_close_ struct tr nv = TR(t);
	TSS2_RC rc;
	int r;

	/* Only a counter: this never deletes another tool's index. */
	if ((r = counter_open(t, nv_index, &nv, reason)) < 0)
		return r;
	rc = Esys_NV_UndefineSpace(t->esys, ESYS_TR_RH_OWNER, nv.h, ESYS_TR_PASSWORD,
				   ESYS_TR_NONE, ESYS_TR_NONE);
	if (rc != TSS2_RC_SUCCESS)
		return tpm_fail(reason, rc, "undefining a counter");
	nv.h = ESYS_TR_NONE;	/* ESYS let go of it with the index */
	return 0;
}
