/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * The TPM 2.0 module: the only code in khib that talks to a TPM.  It seals a
 * 32-byte secret (an image's data key) to the current values of chosen
 * sha256 PCRs, unseals it again, and keeps a monotonic counter in TPM NV
 * memory against replayed images.  Built on tpm2-tss (ESYS); no tss2 type
 * leaks into this header, so callers need no tss2 headers.
 *
 * Only in dynamic builds: Debian's tpm2-tss has no static libraries, and the
 * static tools (writer and restore kernels' /init) never need a TPM.  Code
 * that uses this module lists libkhib_tpm2_dep (meson), which defines
 * KHIB_HAVE_TPM2 to 1 where the module exists and to 0 in static builds.
 *
 * At run time (also inside an initramfs that unseals) these must be present:
 * libtss2-esys.so.0, libtss2-sys.so.1, libtss2-mu.so.0, libtss2-rc.so.0,
 * libtss2-tctildr.so.0 and libcrypto.so.3 (linked), plus the TCTI that
 * libtss2-tctildr dlopen()s by name: libtss2-tcti-device.so.0 for the
 * default "device:/dev/tpmrm0", libtss2-tcti-swtpm.so.0 for "swtpm:...".
 *
 * What always holds:
 *  - Every transient TPM object and session this module creates is flushed
 *    before the call that created it returns, on every path; a call leaves
 *    the TPM as it found it, apart from NV counters.
 *  - The parent of every sealed object is the same primary storage key,
 *    recreated on each call from a fixed template under the owner hierarchy
 *    (ECC NIST P-256, restricted decrypt, empty auth): the same template in
 *    the same TPM always gives the same key, so nothing is made persistent.
 *    ECC rather than RSA because a TPM derives an ECC primary in tens of
 *    milliseconds and an RSA-2048 one in up to seconds.
 *  - SECURITY: the secret crosses the bus to and from the TPM encrypted
 *    (AES-128-CFB parameter encryption in sessions salted to that primary),
 *    and the copies this module holds are wiped.  tpm2-tss keeps its own
 *    copies (Create's input in the ESYS context, the decrypted Unseal
 *    response in its command buffer) until khib_tpm2_free(), which frees
 *    them without wiping: free the context soon after seal and unseal.
 *  - A sealed object unseals only in the TPM that sealed it (fixedTPM,
 *    fixedParent: no duplication), only while the selected PCRs hold the
 *    values they had at sealing, and never by password (no userWithAuth).
 *    It is not subject to dictionary-attack lockout (noDA).
 *  - Anyone who can use the TPM can seal a secret of their choice to the
 *    same PCR policy: a blob that unseals proves nothing about who made it.
 *  - tpm2-tss logs to stderr unless told otherwise; khib_tpm2_open() sets
 *    TSS2_LOG=all+NONE in the environment unless it is set already (the
 *    library does not print).  Not thread-safe: one context per thread.
 *
 * The sealed blob, 16 + P + Q bytes (256 with swtpm: P = 80, Q = 160),
 * KHIB_TPM2_BLOB_MAX at most:
 *
 *   off  size  field
 *     0     4  magic "KHT2"
 *     4     2  version, 1 (little endian, as all of khib's own fields)
 *     6     2  PCR bank: TPM2_ALG_SHA256 (0x000b); others -EOPNOTSUPP
 *     8     4  PCR mask: bit i selects PCR i, i < 24; not 0
 *    12     2  P, bytes of the public part
 *    14     2  Q, bytes of the private part
 *    16     P  TPM2B_PUBLIC of the sealed object, marshalled (big endian,
 *              as the TPM defines it); its authPolicy is the PolicyPCR
 *              digest over the mask's PCRs
 *  16+P     Q  TPM2B_PRIVATE, marshalled: the TPM's own integrity-protected,
 *              encrypted sensitive part, opaque outside that TPM
 *
 * Nothing may follow.  A blob that does not parse so is -EBADMSG; so is one
 * the TPM refuses to load, which is also what a blob from another TPM, or
 * from before the TPM was cleared, looks like.  A changed mask looks like
 * changed PCRs (-EKEYREJECTED): the policy digest no longer matches.
 */
#ifndef KHIB_TPM2_H
#define KHIB_TPM2_H

#include <stddef.h>
#include <stdint.h>

#define KHIB_TPM2_SECRET_BYTES 32
#define KHIB_TPM2_DIGEST_BYTES 32	/* sha256 PCR values */
#define KHIB_TPM2_PCRS 24
#define KHIB_TPM2_BLOB_MAX 512
#define KHIB_TPM2_BLOB_VERSION 1

/* The TCTI when the caller gives none: the kernel's resource manager. */
#define KHIB_TPM2_TCTI_DEFAULT "device:/dev/tpmrm0"

/* PCR 7: the Secure Boot policy (state, db/dbx, the keys that signed what
 * booted).  Stable from firmware to the running system and across boots
 * of the same configuration, unlike PCRs 8-15, which boot loaders and
 * systemd extend after the initramfs. */
#define KHIB_TPM2_PCR_MASK_DEFAULT (1u << 7)

/*
 * khib's replay counter: an NV index in the range the TCG registry leaves
 * to the TPM owner (0x01000000-0x013fffff), at its top end, away from the
 * 0x01000000 where tpm2_nvdefine starts looking for a free index; "kh" in
 * the low bytes.
 */
#define KHIB_TPM2_COUNTER_INDEX 0x013f6b68u

struct khib_tpm2;

/*
 * A connection to a TPM through the TCTI configuration string tcti ("name:
 * conf", as tpm2-tools' --tcti takes it); NULL means
 * KHIB_TPM2_TCTI_DEFAULT.  -ENODEV when no TPM answers there (no device,
 * nothing listening), -ENOPKG when the TCTI's library cannot be loaded,
 * -ENOMEM; reason says which.
 */
int khib_tpm2_open(const char *tcti, struct khib_tpm2 **ret, char *reason);
void khib_tpm2_free(struct khib_tpm2 *t);

/*
 * Seal secret to the current values of the sha256 PCRs in pcr_mask: the blob
 * described above, written to blob (blob_max bytes), its length to *ret_len.
 * -EINVAL for a mask that is 0 or names a PCR >= 24, -EOPNOTSUPP when the
 * TPM's sha256 bank lacks one of them (a policy over PCRs the TPM does not
 * keep would hold whatever booted), -ENOSPC when blob_max is too small,
 * -EACCES when the owner hierarchy has a password, -EIO for other TPM
 * failures (reason holds the TPM's own code decoded).
 */
int khib_tpm2_seal(struct khib_tpm2 *t, uint32_t pcr_mask,
		   const uint8_t secret[KHIB_TPM2_SECRET_BYTES],
		   uint8_t *blob, size_t blob_max, size_t *ret_len, char *reason);

/*
 * The secret of a blob that khib_tpm2_seal() made in this TPM, into secret
 * (written only on success).  -EKEYREJECTED when a selected PCR no longer
 * holds its value from the time of sealing (or the blob's mask was
 * changed), -EBADMSG for a blob that does not parse or that the TPM refuses
 * to load (damaged, or sealed in another TPM or before a TPM clear),
 * -EOPNOTSUPP for a blob version or PCR bank this code does not know,
 * -EAGAIN when a PCR changed while unsealing, -EIO for other TPM failures.
 */
int khib_tpm2_unseal(struct khib_tpm2 *t, const uint8_t *blob, size_t len,
		     uint8_t secret[KHIB_TPM2_SECRET_BYTES], char *reason);

/* The PCR mask a blob was sealed to, without a TPM; -EBADMSG, -EOPNOTSUPP
 * as khib_tpm2_unseal(). */
int khib_tpm2_blob_pcr_mask(const uint8_t *blob, size_t len, uint32_t *ret_mask);

/*
 * The current sha256 value of each PCR in pcr_mask into values[i] (other
 * entries untouched).  -EINVAL for a bad mask, -EOPNOTSUPP when the sha256
 * bank lacks one of them.
 */
int khib_tpm2_pcr_read(struct khib_tpm2 *t, uint32_t pcr_mask,
		       uint8_t values[KHIB_TPM2_PCRS][KHIB_TPM2_DIGEST_BYTES], char *reason);

/*
 * Monotonic counters in TPM NV memory.  A counter is an NV index of type
 * counter with an empty auth of its own (AUTHREAD | AUTHWRITE, NO_DA): reading
 * and incrementing need no owner password, so they keep working when an
 * administrator sets one later, and cannot trip the TPM's dictionary-attack
 * lockout.  Defining and undefining need the owner hierarchy, with an empty
 * password (-EACCES otherwise).  A TPM never lets a counter go back: it only
 * increments, and one defined anew starts above the highest value any
 * counter of this TPM ever held, so undefine + define does not reset it.
 *
 * -ENOENT when the index is not defined, -EMEDIUMTYPE when it is defined but
 * is no counter (whatever it holds is not a counter's value), -EIO other TPM
 * failures.
 */

/* Define the counter at nv_index and increment it once, as a counter cannot
 * be read before its first increment.  -EEXIST when the index is defined. */
int khib_tpm2_counter_define(struct khib_tpm2 *t, uint32_t nv_index, char *reason);
/* Increment, then read back the new value. */
int khib_tpm2_counter_increment(struct khib_tpm2 *t, uint32_t nv_index, uint64_t *ret_value,
				char *reason);
/* -ENODATA for a counter never incremented (defined by another tool). */
int khib_tpm2_counter_read(struct khib_tpm2 *t, uint32_t nv_index, uint64_t *ret_value,
			   char *reason);
int khib_tpm2_counter_undefine(struct khib_tpm2 *t, uint32_t nv_index, char *reason);

#endif
