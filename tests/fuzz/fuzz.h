/* SPDX-License-Identifier: GPL-2.0-only */
/* The libFuzzer entry point every fuzz target defines; replay.c drives it
 * over a corpus in plain builds. */
#ifndef KHIB_FUZZ_H
#define KHIB_FUZZ_H

#include <stddef.h>
#include <stdint.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* The key file that opens the encrypted image seeds (no secret: it is here
 * so that the fuzzer reaches what lies behind the key slots). */
#define FUZZ_KEYFILE "khib fuzz corpus key file: public, for tests only"

#endif
