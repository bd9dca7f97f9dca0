/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * The keys of this machine as the tools see them (keys.c): the protectors
 * in the key directory and the configured key file.  Functions print one
 * line on failure unless they fill a reason.
 */
#ifndef KHIB_TOOL_KEYS_H
#define KHIB_TOOL_KEYS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "protector.h"

#define KHIB_MAX_PROTECTORS 16		/* as many as an image has slots */
#define KHIB_PASSPHRASE_TRIES 3

struct khib_config;
struct khib_image_key;

struct khib_keyring {
	const char *dir;		/* the key directory */
	struct khib_protector *p;	/* its protectors, by name */
	size_t n;
	const char *key_file;		/* key-file=, or NULL */
};

/* The key directory of cf (key-dir=, else /etc/khib/keys; missing: none)
 * and its key-file=. */
int khib_tool_keyring_load(const struct khib_config *cf, struct khib_keyring *ret);
void khib_tool_keyring_release(struct khib_keyring *kr);
/* No protector and no key file: images would be in clear. */
bool khib_tool_keyring_empty(const struct khib_keyring *kr);

/*
 * TPM2 protectors (keys_tpm2.c; -EOPNOTSUPP in a khib built without TPM2
 * support), each filling reason on failure:
 *   enroll    a slot authentication key sealed to pcr_mask, and the replay
 *             counter defined (tcti NULL: the kernel's resource manager)
 *   remove    the replay counter undefined
 *   add_slot  the image's data key sealed, the counter incremented, the
 *             slot written under the authentication key
 *   open_slot the slot checked, its counter value the counter's (else
 *             -ESTALE: a replay), the data key unsealed
 *   consume   the counter incremented: no image written so far is ever
 *             accepted again
 *   check     the authentication key unseals; the counter's value
 */
int khib_tool_tpm2_enroll(const char *name, uint32_t pcr_mask, const char *tcti,
			  struct khib_protector *ret, char *reason);
int khib_tool_tpm2_remove(const struct khib_protector *p, char *reason);
int khib_tool_tpm2_add_slot(const struct khib_protector *p, struct khib_image_key *key,
			    const uint8_t uuid[16], char *reason);
int khib_tool_tpm2_open_slot(const struct khib_protector *p, const uint8_t uuid[16],
			     const uint8_t *area, uint32_t n_slots, uint8_t dk[32], char *reason);
int khib_tool_tpm2_consume(const struct khib_protector *p, char *reason);
int khib_tool_tpm2_check(const struct khib_protector *p, uint64_t *ret_counter, char *reason);

/* One protector file, dir/name. */
int khib_tool_load_protector(const char *dir, const char *name, struct khib_protector *ret);

/* A new image key (a random data key, AES-256-GCM where the CPU has
 * AES-NI) with a slot for every key of kr, and the image UUID the slots
 * are bound to; secret memory (khib_secret_free()). */
int khib_tool_image_key(const struct khib_keyring *kr, struct khib_image_key **ret,
			uint8_t uuid[16]);

/* A line from fd into buf (max bytes with its NUL), without echo when fd
 * is a terminal (off before the prompt goes to stderr).  -ENODATA at end of input. */
int khib_tool_read_passphrase(int fd, const char *prompt, char *buf, size_t max, size_t *ret_len);

/*
 * The data key of an image (its UUID and key area) with the keys of kr: the
 * key files first, then the TPM, then each passphrase protector with a slot
 * in the image, asked for on console_fd up to KHIB_PASSPHRASE_TRIES times.
 * *ret_used: the protector that opened it (NULL: the configured key file).  -ECANCELED
 * when the passphrase was wrong every time or nobody answered (the image
 * is fine, only locked), -ENOKEY when no key of kr has a slot in it,
 * -EKEYREJECTED when a slot does not open; reason says which.
 */
int khib_tool_open_key(const struct khib_keyring *kr, int console_fd, const uint8_t uuid[16],
		       const uint8_t *area, uint32_t n_slots, uint8_t dk[32],
		       const struct khib_protector **ret_used, char *reason);

#endif
