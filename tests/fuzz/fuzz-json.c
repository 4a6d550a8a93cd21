/* SPDX-License-Identifier: ISC */
/*
 * fuzz-json.c: the op decoder.  The input is the payload of one text frame
 * that an authenticated connection sends; it goes through the same path as
 * in the daemon (harness.c): wslay, the UTF-8 check, proto_dispatch() and
 * the op it names, with the group commit after it.  Before that, the fast
 * path of send, ack and read (proto-fast.c) is held to the jansson path on
 * the same bytes, under the default limits and small ones: a frame it
 * takes that jansson reads differently aborts.
 */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>

#include "harness.h"
#include "../unit/testlib-proto.h"

static struct conf	small;	/* max_json_depth and max_ack_mids of 2 */

int	LLVMFuzzerInitialize(int *, char ***);
int	LLVMFuzzerTestOneInput(const uint8_t *, size_t);

/* Once, before the first input. */
int
LLVMFuzzerInitialize(int *argc, char ***argv)
{
	(void)argc; (void)argv;
	harness_init(0);
	small = srv.conf;
	small.max_json_depth = 2;
	small.max_ack_mids = 2;
	return (0);
}

/* One input. */
int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t len)
{
	uint8_t	*frame;
	size_t	 n;
	int	 took;

	if (!proto_fast_agrees(data, len, &srv.conf, &took) ||
	    !proto_fast_agrees(data, len, &small, &took))
		abort();
	n = harness_text_frame(data, len, &frame);
	harness_run(frame, n, 0, 1);
	free(frame);
	return (0);
}
