/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * The TPM2 module (lib/tpm2.c) against a real TPM: tests/tpm/run.sh starts
 * swtpm with a fresh state and passes its TCTI in KHIB_TPM2_TCTI.  PCRs are
 * changed through a connection of this file's own (tpm2-tss directly):
 * swtpm serves one connection at a time, so the module's is closed then.
 * PCRs 16 and 23 are the resettable ones; only tpm2_pcr7_default changes
 * PCR 7, once, as nothing can set it back.
 */
#include "harness.h"
#include "tpm2.h"
#include "util.h"

#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <sodium.h>
#include <stdlib.h>
#include <sys/socket.h>
#include <time.h>
#include <tss2/tss2_esys.h>
#include <tss2/tss2_tctildr.h>
#include <unistd.h>

#if !KHIB_HAVE_TPM2
#error "libkhib_tpm2_dep defines KHIB_HAVE_TPM2 to 1 where the module is built"
#endif

#define MASK_16_23 ((1u << 16) | (1u << 23))

static const char *tcti(void)
{
	const char *s = getenv("KHIB_TPM2_TCTI");

	if (!s)
		test_fail(__FILE__, __LINE__, "KHIB_TPM2_TCTI unset: run through tests/tpm/run.sh");
	return s;
}

static struct khib_tpm2 *tpm(void)
{
	char reason[KHIB_REASON_MAX] = "";
	struct khib_tpm2 *t = NULL;
	int r = khib_tpm2_open(tcti(), &t, reason);

	if (r < 0)
		test_fail(__FILE__, __LINE__, "khib_tpm2_open: %s", reason);
	return t;
}

/* One command on a connection of the test's own; op 'e' extends pcr with
 * 32 bytes of `byte`, 'r' resets it. */
static void pcr_op(char op, int pcr, uint8_t byte)
{
	TPML_DIGEST_VALUES d = { .count = 1 };
	TSS2_TCTI_CONTEXT *tc = NULL;
	ESYS_CONTEXT *esys = NULL;
	TSS2_RC rc;

	ASSERT_EQ(Tss2_TctiLdr_Initialize(tcti(), &tc), TSS2_RC_SUCCESS);
	ASSERT_EQ(Esys_Initialize(&esys, tc, NULL), TSS2_RC_SUCCESS);
	d.digests[0].hashAlg = TPM2_ALG_SHA256;
	memset(d.digests[0].digest.sha256, byte, 32);
	if (op == 'e')
		rc = Esys_PCR_Extend(esys, ESYS_TR_PCR0 + pcr, ESYS_TR_PASSWORD, ESYS_TR_NONE,
				     ESYS_TR_NONE, &d);
	else
		rc = Esys_PCR_Reset(esys, ESYS_TR_PCR0 + pcr, ESYS_TR_PASSWORD, ESYS_TR_NONE,
				    ESYS_TR_NONE);
	Esys_Finalize(&esys);
	Tss2_TctiLdr_Finalize(&tc);
	ASSERT_EQ(rc, TSS2_RC_SUCCESS);
}

static double now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec * 1e3 + ts.tv_nsec / 1e6;
}

/* Seal a random secret to mask on a connection of its own. */
static void seal(uint32_t mask, uint8_t secret[32], uint8_t blob[KHIB_TPM2_BLOB_MAX],
		 size_t *len)
{
	char reason[KHIB_REASON_MAX] = "";
	struct khib_tpm2 *t = tpm();
	int r;

	randombytes_buf(secret, 32);
	r = khib_tpm2_seal(t, mask, secret, blob, KHIB_TPM2_BLOB_MAX, len, reason);
	khib_tpm2_free(t);
	if (r < 0)
		test_fail(__FILE__, __LINE__, "khib_tpm2_seal: %s", reason);
}

/* khib_tpm2_unseal() on a connection of its own; got is checked against
 * want on success and must be left alone on failure. */
static int unseal(const uint8_t *blob, size_t len, const uint8_t want[32])
{
	char reason[KHIB_REASON_MAX] = "";
	struct khib_tpm2 *t = tpm();
	uint8_t got[32], untouched[32];
	int r;

	memset(got, 0x5a, 32);
	memset(untouched, 0x5a, 32);
	r = khib_tpm2_unseal(t, blob, len, got, reason);
	khib_tpm2_free(t);
	if (r >= 0)
		ASSERT_MEMEQ(got, want, 32);
	else
		ASSERT_MEMEQ(got, untouched, 32);
	if (r < 0)
		ASSERT_TRUE(reason[0]);
	return r;
}

TEST(tpm2_open_nothing_listening)
{
	struct sockaddr_in sa = { .sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK) };
	char conf[80], reason[KHIB_REASON_MAX] = "";
	struct khib_tpm2 *t = NULL;
	socklen_t sl = sizeof(sa);
	int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);

	/* A port the kernel just gave out and nobody listens on. */
	ASSERT_TRUE(fd >= 0);
	ASSERT_OK(bind(fd, (struct sockaddr *)&sa, sizeof(sa)));
	ASSERT_OK(getsockname(fd, (struct sockaddr *)&sa, &sl));
	close(fd);
	snprintf(conf, sizeof(conf), "swtpm:host=127.0.0.1,port=%u", ntohs(sa.sin_port));
	ASSERT_EQ(khib_tpm2_open(conf, &t, reason), -ENODEV);
	ASSERT_TRUE(t == NULL);
	ASSERT_TRUE(strstr(reason, conf));
	ASSERT_EQ(khib_tpm2_open("device:/nonexistent/tpmrm0", &t, reason), -ENODEV);
	ASSERT_EQ(khib_tpm2_open("khib-no-such-tcti", &t, reason), -ENOPKG);
	khib_tpm2_free(NULL);
}

TEST(tpm2_seal_unseal_round_trip)
{
	uint8_t secret[32], blob[KHIB_TPM2_BLOB_MAX];
	uint32_t mask = 0;
	size_t len;

	seal(MASK_16_23, secret, blob, &len);
	printf("     sealed blob: %zu bytes (public part %u, private part %u)\n", len,
	       khib_get_le16(blob + 12), khib_get_le16(blob + 14));
	ASSERT_TRUE(len <= KHIB_TPM2_BLOB_MAX);
	ASSERT_MEMEQ(blob, "KHT2", 4);
	ASSERT_OK(khib_tpm2_blob_pcr_mask(blob, len, &mask));
	ASSERT_EQ(mask, MASK_16_23);
	ASSERT_OK(unseal(blob, len, secret));
	ASSERT_OK(unseal(blob, len, secret));
}

TEST(tpm2_seal_refusals)
{
	uint8_t secret[32] = { 1 }, blob[KHIB_TPM2_BLOB_MAX];
	char reason[KHIB_REASON_MAX];
	struct khib_tpm2 *t = tpm();
	size_t len = 12345;

	ASSERT_EQ(khib_tpm2_seal(t, 0, secret, blob, sizeof(blob), &len, reason), -EINVAL);
	ASSERT_EQ(khib_tpm2_seal(t, 1u << 24, secret, blob, sizeof(blob), &len, reason), -EINVAL);
	ASSERT_EQ(khib_tpm2_seal(t, 1u << 16, secret, blob, 100, &len, reason), -ENOSPC);
	ASSERT_EQ(len, 12345);
	khib_tpm2_free(t);
}

/* A TPM that keeps no sha256 PCRs: a policy over PCRs it does not keep
 * would hold for whatever booted, so nothing is sealed there. */
TEST(tpm2_seal_needs_sha256_bank)
{
	uint8_t secret[32] = { 1 }, blob[KHIB_TPM2_BLOB_MAX], values[KHIB_TPM2_PCRS][32];
	char reason[KHIB_REASON_MAX];
	const char *conf = getenv("KHIB_TPM2_TCTI_SHA1");
	struct khib_tpm2 *t = NULL;
	size_t len;
	int r1, r2;

	ASSERT_TRUE(conf);
	ASSERT_OK(khib_tpm2_open(conf, &t, reason));
	r1 = khib_tpm2_seal(t, KHIB_TPM2_PCR_MASK_DEFAULT, secret, blob, sizeof(blob), &len,
			    reason);
	r2 = khib_tpm2_pcr_read(t, 1u << 16, values, reason);
	khib_tpm2_free(t);
	ASSERT_EQ(r1, -EOPNOTSUPP);
	ASSERT_EQ(r2, -EOPNOTSUPP);
}

/* A selected PCR extended: refused; set back: unsealed again. */
TEST(tpm2_unseal_after_extend)
{
	uint8_t secret[32], blob[KHIB_TPM2_BLOB_MAX];
	size_t len;

	pcr_op('r', 16, 0);
	pcr_op('r', 23, 0);
	seal(MASK_16_23, secret, blob, &len);
	pcr_op('e', 16, 0xab);
	ASSERT_EQ(unseal(blob, len, secret), -EKEYREJECTED);
	pcr_op('r', 16, 0);
	ASSERT_OK(unseal(blob, len, secret));
	pcr_op('e', 23, 0x01);
	ASSERT_EQ(unseal(blob, len, secret), -EKEYREJECTED);
	pcr_op('r', 23, 0);
}

TEST(tpm2_unseal_extend_outside_mask)
{
	uint8_t secret[32], blob[KHIB_TPM2_BLOB_MAX];
	size_t len;

	seal(1u << 16, secret, blob, &len);
	pcr_op('e', 23, 0xcd);
	ASSERT_OK(unseal(blob, len, secret));
	pcr_op('r', 23, 0);
}

TEST(tpm2_pcr7_default)
{
	uint8_t secret[32], blob[KHIB_TPM2_BLOB_MAX];
	size_t len;

	seal(KHIB_TPM2_PCR_MASK_DEFAULT, secret, blob, &len);
	ASSERT_OK(unseal(blob, len, secret));
	pcr_op('e', 7, 0x07);
	ASSERT_EQ(unseal(blob, len, secret), -EKEYREJECTED);
}

/* Through tpm2-tss's pcap TCTI, which records every command and response:
 * the secret crosses the bus neither way in clear, though the sealed
 * object's public part (in clear in Create's response) is there to see. */
TEST(tpm2_bus_carries_no_secret)
{
	uint8_t secret[32], got[32], blob[KHIB_TPM2_BLOB_MAX];
	char conf[256], path[300], reason[KHIB_REASON_MAX];
	struct khib_tpm2 *t = NULL;
	uint8_t *cap;
	size_t len;
	FILE *f;
	long n;

	snprintf(path, sizeof(path), "%s/bus.pcap", test_tmpdir());
	snprintf(conf, sizeof(conf), "pcap:%s", tcti());
	ASSERT_OK(setenv("TCTI_PCAP_FILE", path, 1));
	randombytes_buf(secret, 32);
	ASSERT_OK(khib_tpm2_open(conf, &t, reason));
	ASSERT_OK(khib_tpm2_seal(t, 1u << 16, secret, blob, sizeof(blob), &len, reason));
	ASSERT_OK(khib_tpm2_unseal(t, blob, len, got, reason));
	khib_tpm2_free(t);
	unsetenv("TCTI_PCAP_FILE");
	ASSERT_MEMEQ(got, secret, 32);

	f = fopen(path, "rb");
	ASSERT_TRUE(f);
	fseek(f, 0, SEEK_END);
	n = ftell(f);
	rewind(f);
	cap = malloc((size_t)n);
	ASSERT_TRUE(cap && fread(cap, 1, (size_t)n, f) == (size_t)n);
	fclose(f);
	/* The public part after its size: type, nameAlg, attributes, policy. */
	ASSERT_TRUE(memmem(cap, (size_t)n, blob + 18, 40));
	ASSERT_TRUE(!memmem(cap, (size_t)n, secret, 8));
	ASSERT_TRUE(!memmem(cap, (size_t)n, secret + 24, 8));
	free(cap);
}

/* Every byte of both TPM parts flipped in turn: each is a blob the TPM will
 * not load (or that does not parse); the header's fields each have their
 * own error. */
TEST(tpm2_unseal_damaged_blob)
{
	uint8_t secret[32], blob[KHIB_TPM2_BLOB_MAX], bad[KHIB_TPM2_BLOB_MAX];
	char reason[KHIB_REASON_MAX];
	struct khib_tpm2 *t;
	size_t len;

	seal(1u << 16, secret, blob, &len);
	t = tpm();
	for (size_t i = 16; i < len; i++) {
		uint8_t got[32];
		int r;

		memcpy(bad, blob, len);
		bad[i] ^= 0x10;
		r = khib_tpm2_unseal(t, bad, len, got, reason);
		if (r != -EBADMSG) {
			khib_tpm2_free(t);
			test_fail(__FILE__, __LINE__, "byte %zu flipped: %d (%s)", i, r, reason);
		}
	}
	khib_tpm2_free(t);
	memcpy(bad, blob, len);
	bad[0] ^= 1;			/* magic */
	ASSERT_EQ(unseal(bad, len, secret), -EBADMSG);
	memcpy(bad, blob, len);
	bad[4] = 2;			/* version */
	ASSERT_EQ(unseal(bad, len, secret), -EOPNOTSUPP);
	memcpy(bad, blob, len);
	bad[6] = 0x04;			/* the sha1 bank */
	ASSERT_EQ(unseal(bad, len, secret), -EOPNOTSUPP);
	memcpy(bad, blob, len);
	bad[10] |= 0x80;		/* PCR 23 added to the mask */
	ASSERT_EQ(unseal(bad, len, secret), -EKEYREJECTED);
	memcpy(bad, blob, len);
	bad[11] = 0x01;			/* PCR 24 */
	ASSERT_EQ(unseal(bad, len, secret), -EBADMSG);
	ASSERT_EQ(unseal(blob, len - 1, secret), -EBADMSG);
	ASSERT_EQ(unseal(blob, 10, secret), -EBADMSG);
	memcpy(bad, blob, len);
	bad[len] = 0;
	ASSERT_EQ(unseal(bad, len + 1, secret), -EBADMSG);
	ASSERT_OK(unseal(blob, len, secret));
}

TEST(tpm2_pcr_read)
{
	uint8_t all[KHIB_TPM2_PCRS][32], one[KHIB_TPM2_PCRS][32], after[KHIB_TPM2_PCRS][32];
	uint8_t ext[64], want[32];
	char reason[KHIB_REASON_MAX];
	struct khib_tpm2 *t = tpm();

	/* More than the 8 PCRs one PCR_Read answers. */
	memset(all, 0, sizeof(all));
	ASSERT_OK(khib_tpm2_pcr_read(t, 0xffffff, all, reason));
	ASSERT_OK(khib_tpm2_pcr_read(t, 1u << 16, one, reason));
	ASSERT_MEMEQ(all[16], one[16], 32);
	ASSERT_OK(khib_tpm2_pcr_read(t, 1u << 0, one, reason));
	ASSERT_MEMEQ(all[0], one[0], 32);
	ASSERT_EQ(khib_tpm2_pcr_read(t, 0, one, reason), -EINVAL);
	khib_tpm2_free(t);

	/* An extend is new = sha256(old || digest). */
	pcr_op('e', 16, 0x42);
	memcpy(ext, all[16], 32);
	memset(ext + 32, 0x42, 32);
	crypto_hash_sha256(want, ext, 64);
	t = tpm();
	ASSERT_OK(khib_tpm2_pcr_read(t, 1u << 16, after, reason));
	khib_tpm2_free(t);
	ASSERT_MEMEQ(after[16], want, 32);
	pcr_op('r', 16, 0);
}

/* Everything a replay counter promises, on KHIB_TPM2_COUNTER_INDEX. */
TEST(tpm2_counter)
{
	const uint32_t idx = KHIB_TPM2_COUNTER_INDEX;
	char reason[KHIB_REASON_MAX];
	uint64_t v0, v1, v2, v3, v = 0;
	struct khib_tpm2 *t = tpm();

	ASSERT_EQ(khib_tpm2_counter_read(t, idx, &v0, reason), -ENOENT);
	ASSERT_OK(khib_tpm2_counter_define(t, idx, reason));
	ASSERT_OK(khib_tpm2_counter_read(t, idx, &v0, reason));
	ASSERT_OK(khib_tpm2_counter_increment(t, idx, &v1, reason));
	ASSERT_TRUE(v1 > v0);
	ASSERT_OK(khib_tpm2_counter_read(t, idx, &v, reason));
	ASSERT_EQ_U64(v, v1);
	ASSERT_EQ(khib_tpm2_counter_define(t, idx, reason), -EEXIST);
	khib_tpm2_free(t);

	/* It lives in the TPM, not in the connection. */
	t = tpm();
	ASSERT_OK(khib_tpm2_counter_read(t, idx, &v, reason));
	ASSERT_EQ_U64(v, v1);
	ASSERT_OK(khib_tpm2_counter_increment(t, idx, &v2, reason));
	ASSERT_TRUE(v2 > v1);
	ASSERT_OK(khib_tpm2_counter_undefine(t, idx, reason));
	ASSERT_EQ(khib_tpm2_counter_read(t, idx, &v, reason), -ENOENT);
	ASSERT_EQ(khib_tpm2_counter_increment(t, idx, &v, reason), -ENOENT);
	ASSERT_EQ(khib_tpm2_counter_undefine(t, idx, reason), -ENOENT);
	ASSERT_EQ_U64(v, v1);

	/* Defined anew, it does not start over. */
	ASSERT_OK(khib_tpm2_counter_define(t, idx, reason));
	ASSERT_OK(khib_tpm2_counter_read(t, idx, &v3, reason));
	ASSERT_TRUE(v3 > v2);
	ASSERT_OK(khib_tpm2_counter_undefine(t, idx, reason));
	ASSERT_EQ(khib_tpm2_counter_read(t, 0x81000001, &v, reason), -EINVAL);
	khib_tpm2_free(t);
}

/* An index of another type where the counter should be: its bytes are
 * never taken for a counter's value, and undefine leaves it alone. */
TEST(tpm2_counter_not_a_counter)
{
	const uint32_t idx = KHIB_TPM2_COUNTER_INDEX;
	TPM2B_NV_PUBLIC pub = {
		.nvPublic = {
			.nvIndex = idx,
			.nameAlg = TPM2_ALG_SHA256,
			.attributes = TPMA_NV_AUTHREAD | TPMA_NV_AUTHWRITE | TPMA_NV_NO_DA,
			.dataSize = 8,
		},
	};
	static const TPM2B_AUTH no_auth;
	char reason[KHIB_REASON_MAX];
	TSS2_TCTI_CONTEXT *tc = NULL;
	ESYS_CONTEXT *esys = NULL;
	struct khib_tpm2 *t;
	ESYS_TR nv;
	uint64_t v;
	int r1, r2, r3;

	ASSERT_EQ(Tss2_TctiLdr_Initialize(tcti(), &tc), TSS2_RC_SUCCESS);
	ASSERT_EQ(Esys_Initialize(&esys, tc, NULL), TSS2_RC_SUCCESS);
	ASSERT_EQ(Esys_NV_DefineSpace(esys, ESYS_TR_RH_OWNER, ESYS_TR_PASSWORD, ESYS_TR_NONE,
				      ESYS_TR_NONE, &no_auth, &pub, &nv), TSS2_RC_SUCCESS);
	Esys_Finalize(&esys);
	Tss2_TctiLdr_Finalize(&tc);

	t = tpm();
	r1 = khib_tpm2_counter_read(t, idx, &v, reason);
	r2 = khib_tpm2_counter_undefine(t, idx, reason);
	r3 = khib_tpm2_counter_define(t, idx, reason);
	khib_tpm2_free(t);

	ASSERT_EQ(Tss2_TctiLdr_Initialize(tcti(), &tc), TSS2_RC_SUCCESS);
	ASSERT_EQ(Esys_Initialize(&esys, tc, NULL), TSS2_RC_SUCCESS);
	ASSERT_EQ(Esys_TR_FromTPMPublic(esys, idx, ESYS_TR_NONE, ESYS_TR_NONE, ESYS_TR_NONE, &nv),
		  TSS2_RC_SUCCESS);
	ASSERT_EQ(Esys_NV_UndefineSpace(esys, ESYS_TR_RH_OWNER, nv, ESYS_TR_PASSWORD, ESYS_TR_NONE,
					ESYS_TR_NONE), TSS2_RC_SUCCESS);
	Esys_Finalize(&esys);
	Tss2_TctiLdr_Finalize(&tc);
	ASSERT_EQ(r1, -EMEDIUMTYPE);
	ASSERT_EQ(r2, -EMEDIUMTYPE);
	ASSERT_EQ(r3, -EEXIST);
}

/* Not a check of speed (swtpm is no hardware TPM), but the figures the
 * report quotes, over round trips that must each give the secret back. */
TEST(tpm2_timings)
{
	const int n = 10;
	uint8_t secret[32], got[32], blob[KHIB_TPM2_BLOB_MAX];
	char reason[KHIB_REASON_MAX];
	double t0, seal_ms = 0, unseal_ms = 0, inc_ms;
	struct khib_tpm2 *t = tpm();
	uint64_t v;
	size_t len;

	for (int i = 0; i < n; i++) {
		randombytes_buf(secret, 32);
		t0 = now_ms();
		ASSERT_OK(khib_tpm2_seal(t, MASK_16_23 | (1u << 7), secret, blob, sizeof(blob),
					 &len, reason));
		seal_ms += now_ms() - t0;
		t0 = now_ms();
		ASSERT_OK(khib_tpm2_unseal(t, blob, len, got, reason));
		unseal_ms += now_ms() - t0;
		ASSERT_MEMEQ(got, secret, 32);
	}
	ASSERT_OK(khib_tpm2_counter_define(t, KHIB_TPM2_COUNTER_INDEX, reason));
	t0 = now_ms();
	for (int i = 0; i < n; i++)
		ASSERT_OK(khib_tpm2_counter_increment(t, KHIB_TPM2_COUNTER_INDEX, &v, reason));
	inc_ms = now_ms() - t0;
	ASSERT_OK(khib_tpm2_counter_undefine(t, KHIB_TPM2_COUNTER_INDEX, reason));
	khib_tpm2_free(t);
	printf("     swtpm: seal %.1f ms, unseal %.1f ms, counter increment+read %.1f ms "
	       "(mean of %d)\n", seal_ms / n, unseal_ms / n, inc_ms / n, n);
}
