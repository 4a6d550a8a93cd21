/* SPDX-License-Identifier: ISC */
/*
 * fuzz-ws.c: raw client bytes on an upgraded WebSocket connection, through
 * wslay, tickd's frame checks, proto_dispatch(), the op handlers and the
 * group commit (harness.c).
 *
 * The first input byte is not sent: its low bit says whether the connection
 * authenticates first (so ops get past auth), the other seven how many bytes
 * go in each write (0: all at once), so frames also arrive split.
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
	harness_init(0);
	return (0);
}

/* One input. */
int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t len)
{
	if (len == 0)
		return (0);
	harness_run(data + 1, len - 1, data[0] >> 1, data[0] & 1);
	return (0);
}
