/* SPDX-License-Identifier: ISC */
/*
 * fuzz-json.c: the op decoder.  The input is the payload of one text frame
 * that an authenticated connection sends; it goes through the same path as
 * in the daemon (harness.c): wslay, the UTF-8 check, proto_dispatch() and
 * the op it names, with the group commit after it.
 */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>

#include "harness.h"

int	LLVMFuzzerInitialize(int *, char ***);
int	LLVMFuzzerTestOneInput(const uint8_t *, size_t);

/* Once, before the first input. */
int
LLVMFuzzerInitialize(int *argc, char ***argv)
{
	(void)argc; (void)argv;
	harness_init(0);
	return (0);
}

/* One input. */
int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t len)
{
	uint8_t	*frame;
	size_t	 n;

	n = harness_text_frame(data, len, &frame);
	harness_run(frame, n, 0, 1);
	free(frame);
	return (0);
}
