/* SPDX-License-Identifier: GPL-2.0-only */
/* The libFuzzer entry point every fuzz target defines; replay.c drives it
 * over a corpus in plain builds. */
#ifndef KHIB_FUZZ_H
#define KHIB_FUZZ_H

#include <stddef.h>
#include <stdint.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#endif
