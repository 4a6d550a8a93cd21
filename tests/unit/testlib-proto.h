/* SPDX-License-Identifier: ISC */
/*
 * testlib-proto.h: proto_fast() against the jansson path, for
 * tests/unit/test_proto_fast.c and tests/fuzz/fuzz-json.c; see
 * testlib-proto.c.
 */
#ifndef TICKD_TESTLIB_PROTO_H
#define TICKD_TESTLIB_PROTO_H

#include <stddef.h>
#include <stdint.h>

#include "tickd.h"

int	proto_fast_agrees(const uint8_t *, size_t, const struct conf *,
	    int *);

#endif /* TICKD_TESTLIB_PROTO_H */
