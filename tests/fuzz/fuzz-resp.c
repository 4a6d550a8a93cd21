/* SPDX-License-Identifier: ISC */
/*
 * fuzz-resp.c: the RESP shim's parser and commands, as a client on
 * resp_listen reaches them (harness.c): the input is what it writes.
 *
 * The first input byte is not sent: its low bit says whether the server
 * asks no password (else AUTH fuzz is needed), the other seven how many
 * bytes go in each write (0: all at once), so commands also arrive split.
 */
#include <stddef.h>
#include <stdint.h>

#include "harness.h"

int	LLVMFuzzerInitialize(int *, char ***);
int	LLVMFuzzerTestOneInput(const uint8_t *, size_t);

/* Once, before the first input. */
int
LLVMFuzzerInitialize(int *argc, char ***argv)
{
	(void)argc; (void)argv;
	harness_init(1);
	return (0);
}

/* One input. */
int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t len)
{
	if (len == 0)
		return (0);
	harness_resp_run(data + 1, len - 1, data[0] >> 1, data[0] & 1);
	return (0);
}
