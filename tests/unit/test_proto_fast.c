/* SPDX-License-Identifier: ISC */
/*
 * test_proto_fast.c: unit tests of proto-fast.c, held against the jansson
 * path (testlib-proto.c): on every frame of a corpus of sends, acks and
 * reads, well-formed and broken, and on random mutations of them, under
 * the default limits and under small ones, the fast path declines or
 * makes what that path makes.  The common shapes must be taken, and what
 * it is not sure of declined.  Prints TAP; exits 0 only if every test
 * passed.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "tickd.h"
#include "testlib.h"
#include "testlib-proto.h"

/* A frame, given with its length for the ones holding a NUL. */
struct frame {
	const char	*text;
	size_t		 len;		/* 0: strlen(text) */
};
#define F(s)	{ s, 0 }
#define FN(s)	{ s, sizeof s - 1 }

/* Frames the fast path must take under the default limits. */
static const struct frame taken[] = {
	F("{\"op\":\"send\",\"to\":\"bob\",\"id\":\"c-17\",\"body\":\"hi\"}"),
	F("{\"op\":\"send\",\"to\":\"t1\",\"id\":\"12.1733500000\","
	    "\"body\":{\"text\":\"hello\",\"n\":42}}"),
	F(" {\t\"op\" : \"send\" ,\r\n \"to\" : \"bob\" , \"id\" : \"c\" , "
	    "\"body\" : { \"a\" : [ 1 , 2 , { \"b\" : null } ] , "
	    "\"t\" : true, \"f\": false } } \n"),
	F("{\"ref\":7,\"op\":\"send\",\"to\":\"#grp\",\"id\":\"x\","
	    "\"body\":[]}"),
	F("{\"op\":\"send\",\"to\":\"+4915112345678\",\"id\":"
	    "\"\xc3\xa9\xe2\x9c\x93\xf0\x9f\x98\x80\",\"body\":"
	    "\"caf\xc3\xa9 \xf0\x9f\x98\x80 \xef\xbf\xbf \xf4\x8f\xbf\xbf\"}"),
	F("{\"op\":\"send\",\"to\":\"bob\",\"id\":\"e\",\"body\":"
	    "\"line\\nnext \\\"q\\\" back\\\\slash \\t\\b\\f\\r a/b \x7f\"}"),
	F("{\"op\":\"send\",\"to\":\"bob\",\"id\":\"n\",\"body\":[-5,0,"
	    "123456789012345678,-123456789012345678,{},[[]],\"\"]}"),
	F("{\"op\":\"send\",\"to\":\"bob\",\"id\":\"d\",\"body\":"
	    "{\"a\":{\"a\":1},\"b\":{\"a\":2},\"c\":[{\"a\":1},{\"a\":1}]}}"),
	F("{\"op\":\"send\",\"to\":\"bob\",\"id\":"
	    "\"0123456789012345678901234567890123456789012345678901234567890123"
	    "\",\"body\":null,\"ref\":\"\"}"),
	F("{\"op\":\"send\",\"to\":\"bob\",\"id\":\"r\",\"body\":1,\"ref\":"
	    "\"0123456789012345678901234567890123456789012345678901234567890123"
	    "\"}"),
	F("{\"op\":\"ack\",\"mid\":\"1700000000000-0\"}"),
	F("{\"op\":\"ack\",\"ref\":3,\"mids\":[\"1-0\",\"2-5\", \"3-1\" ]}"),
	F("{\"op\":\"read\",\"mids\":[\"1-0\"],\"ref\":\"r-1\"}"),
	F("{\"op\":\"read\",\"mid\":\"18446744073709551615-"
	    "18446744073709551615\",\"ref\":-12}"),
	F("{\"mids\":[\"5-5\",\"5-5\"],\"op\":\"ack\",\"ref\":0}"),
};

/* Frames it must decline: jansson's path refuses them or is needed. */
static const struct frame declined[] = {
	F("{\"op\":\"ping\"}"),
	F("{\"op\":\"send\",\"to\":\"bob\",\"id\":\"c\",\"body\":1,"
	    "\"media\":[\"x\"]}"),
	F("{\"op\":\"send\",\"to\":\"bob\",\"id\":\"c\",\"body\":1,"
	    "\"extra\":1}"),
	F("{\"op\":\"send\",\"to\":\"bob\",\"id\":\"c\",\"body\":1,"
	    "\"from\":\"eve\"}"),
	F("{\"op\":\"send\",\"to\":\"bob\",\"id\":\"c\"}"),
	F("{\"op\":\"ack\",\"mid\":\"1-0\",\"mid\":\"2-0\"}"),
	F("{\"op\":\"ack\",\"op\":\"ack\",\"mid\":\"1-0\"}"),
	F("{\"op\":\"send\",\"to\":\"bob\",\"id\":\"c\",\"body\":"
	    "{\"a\":1,\"a\":2}}"),
	F("{\"op\":\"send\",\"to\":\"bob\",\"id\":\"c\",\"body\":"
	    "{\"a\":{\"b\":1,\"c\":[],\"b\":2}}}"),
	F("{\"op\":\"send\",\"to\":\"b\\u006fb\",\"id\":\"c\",\"body\":1}"),
	F("{\"op\":\"send\",\"to\":\"bob\",\"id\":\"c\\n\",\"body\":1}"),
	F("{\"o\\u0070\":\"send\",\"to\":\"bob\",\"id\":\"c\",\"body\":1}"),
	F("{\"op\":\"send\",\"to\":\"bob\",\"id\":\"c\",\"body\":"
	    "\"caf\\u00e9\"}"),
	F("{\"op\":\"send\",\"to\":\"bob\",\"id\":\"c\",\"body\":\"a\\/b\"}"),
	F("{\"op\":\"send\",\"to\":\"bob\",\"id\":\"c\",\"body\":"
	    "\"\\u0000\"}"),
	F("{\"op\":\"send\",\"to\":\"bob\",\"id\":\"c\",\"body\":"
	    "{\"\\n\":1}}"),
	F("{\"op\":\"send\",\"to\":\"bob\",\"id\":\"c\",\"body\":1.5}"),
	F("{\"op\":\"send\",\"to\":\"bob\",\"id\":\"c\",\"body\":1e3}"),
	F("{\"op\":\"send\",\"to\":\"bob\",\"id\":\"c\",\"body\":-0}"),
	F("{\"op\":\"send\",\"to\":\"bob\",\"id\":\"c\",\"body\":01}"),
	F("{\"op\":\"send\",\"to\":\"bob\",\"id\":\"c\",\"body\":"
	    "1234567890123456789}"),
	F("{\"op\":\"send\",\"to\":\"bob\",\"id\":\"c\",\"body\":"
	    "99999999999999999999}"),
	F("{\"op\":\"send\",\"to\":\"bob\",\"id\":\"c\",\"body\":truex}"),
	F("{\"op\":\"send\",\"to\":\"bob\",\"id\":\"c\",\"body\":True}"),
	F("{\"op\":\"ack\",\"mid\":\"1-0\",\"ref\":1.0}"),
	F("{\"op\":\"ack\",\"mid\":\"1-0\",\"ref\":null}"),
	F("{\"op\":\"ack\",\"mid\":\"1-0\",\"ref\":"
	    "\"0123456789012345678901234567890123456789012345678901234567890123"
	    "4"
	    "\"}"),
	F("{\"op\":\"ack\",\"mid\":\"1-0\",\"ref\":\"\\u0041\"}"),
	F("{\"op\":\"send\",\"to\":\"bob\",\"id\":\"c\",\"body\":"
	    "\"\xc3\x28\"}"),
	F("{\"op\":\"send\",\"to\":\"bob\",\"id\":\"c\",\"body\":"
	    "\"\xc0\xaf\"}"),
	F("{\"op\":\"send\",\"to\":\"bob\",\"id\":\"c\",\"body\":"
	    "\"\xed\xa0\x80\"}"),
	F("{\"op\":\"send\",\"to\":\"bob\",\"id\":\"c\",\"body\":"
	    "\"\xf4\x90\x80\x80\"}"),
	F("{\"op\":\"send\",\"to\":\"bob\",\"id\":\"\xff\",\"body\":1}"),
	F("{\"op\":\"send\",\"to\":\"bob\",\"id\":\"c\",\"body\":\"a\x01\"}"),
	F("{\"op\":\"send\",\"to\":\"bob\",\"id\":\"c\",\"body\":\"a\tb\"}"),
	F("{\"op\":\"ack\",\"mids\":[]}"),
	F("{\"op\":\"ack\",\"mid\":\"1-x\"}"),
	F("{\"op\":\"ack\",\"mid\":\"1-0\",\"mids\":[\"1-0\"]}"),
	F("{\"op\":\"ack\",\"mid\":10}"),
	F("{\"op\":\"ack\"}"),
	F("{\"op\":\"ack\",\"mids\":[\"1-0\",]}"),
	F("{\"op\":\"ack\",\"mid\":\"18446744073709551616-0\"}"),
	F("{\"op\":\"send\",\"to\":\"Bob\",\"id\":\"c\",\"body\":1}"),
	F("{\"op\":\"send\",\"to\":\"\",\"id\":\"c\",\"body\":1}"),
	F("{\"op\":\"send\",\"to\":\"#\",\"id\":\"c\",\"body\":1}"),
	F("{\"op\":\"send\",\"to\":\"bob\",\"id\":\"\",\"body\":1}"),
	F("{\"op\":\"send\",\"to\":\"bob\",\"id\":"
	    "\"0123456789012345678901234567890123456789012345678901234567890123"
	    "4"
	    "\",\"body\":1}"),
	F("{\"op\":\"ack\",\"mid\":\"1-0\"} x"),
	F("{\"op\":\"ack\",\"mid\":\"1-0\"}{}"),
	F("\xef\xbb\xbf{\"op\":\"ack\",\"mid\":\"1-0\"}"),
	F("{\"op\":\f\"ack\",\"mid\":\"1-0\"}"),
	F("{\"op\":\"ack\",\"mid\":\"1-0\",}"),
	F("{\"op\":\"ack\" \"mid\":\"1-0\"}"),
	F("{\"op\":\"ack\",\"mid\":\"1-0\""),
	F("{\"op\":\"send\",\"to\":\"bob\",\"id\":\"c\",\"body\":[1,2"),
	F("{}"),
	F("[]"),
	F(""),
	F("{\"op\":\"send\",\"to\":\"bob\",\"id\":\"c\",\"body\":"
	    "[[[[[[[[[[[[[[[[1]]]]]]]]]]]]]]]]}"),
	FN("{\"op\":\"ack\",\"mid\":\"1-0\"}\0"),
	FN("{\"op\":\"ack\",\"mid\":\"1-\0\"}"),
};

/* The default limits, and small ones that the corpus runs into. */
static struct conf	limits[3];

/* Whether the fast path agrees on f under c, and whether it took it. */
static int
agrees(const struct frame *f, const struct conf *c, int *took)
{
	size_t	len = f->len != 0 ? f->len : strlen(f->text);

	if (proto_fast_agrees((const uint8_t *)f->text, len, c, took))
		return (1);
	printf("# on %.*s\n", (int)len, f->text);
	return (0);
}

/* The common shapes are taken, and agree, under the default limits. */
static int
test_taken(void)
{
	size_t	i, k;
	int	took;

	for (i = 0; i < nitems(taken); i++) {
		CHECK(agrees(&taken[i], &limits[0], &took));
		if (!took)
			printf("# declined %s\n", taken[i].text);
		CHECK(took);
		for (k = 1; k < nitems(limits); k++)
			CHECK(agrees(&taken[i], &limits[k], &took));
	}
	/* Limits: the ack of 3 mids is over max_ack_mids 2 ... */
	CHECK(agrees(&taken[11], &limits[1], &took) && !took);
	/* ... and an ack of "mids" over max_json_depth 1. */
	CHECK(agrees(&taken[12], &limits[2], &took) && !took);
	CHECK(agrees(&taken[10], &limits[2], &took) && took);
	return (0);
}

/* What it is not sure of is declined. */
static int
test_declined(void)
{
	struct proto_req	r;
	size_t			i, k;
	int			took;

	/* wslay hands an empty message over as NULL. */
	CHECK(proto_fast(NULL, 0, &limits[0], &r) == -1);
	for (i = 0; i < nitems(declined); i++) {
		for (k = 0; k < nitems(limits); k++) {
			CHECK(agrees(&declined[i], &limits[k], &took));
			if (took)
				printf("# took %s\n", declined[i].text);
			CHECK(!took);
		}
	}
	return (0);
}

/*
 * Random mutations of every frame of the corpus: bytes replaced by ones
 * that matter to JSON and UTF-8, inserted, deleted, or the frame cut;
 * whatever it takes agrees with jansson.
 */
static int
test_mutations(void)
{
	static const unsigned char pool[] = {
		'"', '\\', '{', '}', '[', ']', ':', ',', ' ', '\t', '\n', '0',
		'1', '9', '-', '.', 'e', 'a', 'u', 'n', '/', '#', 0x00, 0x01,
		0x1f, 0x7f, 0x80, 0xbf, 0xc3, 0xa9, 0xed, 0xa0, 0xf0, 0xf4,
		0xff,
	};
	const struct frame	*f;
	unsigned char		 buf[512];
	unsigned int		 seed = 19;
	size_t			 i, len, pos, nframes, tookn = 0, runs = 0;
	int			 took, m, k;

	nframes = nitems(taken) + nitems(declined);
	for (i = 0; i < nframes * 2000; i++) {
		f = i % nframes < nitems(taken) ? &taken[i % nframes] :
		    &declined[i % nframes - nitems(taken)];
		len = f->len != 0 ? f->len : strlen(f->text);
		memcpy(buf, f->text, len);
		for (m = rand_r(&seed) % 3; m >= 0; m--) {
			pos = len == 0 ? 0 : (size_t)rand_r(&seed) % len;
			switch (rand_r(&seed) % 4) {
			case 0:
				if (len > 0)
					buf[pos] = pool[rand_r(&seed) %
					    sizeof pool];
				break;
			case 1:
				if (len < sizeof buf) {
					memmove(buf + pos + 1, buf + pos,
					    len - pos);
					buf[pos] = pool[rand_r(&seed) %
					    sizeof pool];
					len++;
				}
				break;
			case 2:
				if (len > 0) {
					memmove(buf + pos, buf + pos + 1,
					    len - pos - 1);
					len--;
				}
				break;
			default:
				len = pos;
				break;
			}
		}
		for (k = 0; k < 3; k++) {
			if (!proto_fast_agrees(buf, len, &limits[k], &took)) {
				printf("# on %.*s\n", (int)len, buf);
				return (1);
			}
			tookn += took;
			runs++;
		}
	}
	printf("# %zu mutated frames, %zu of them taken\n", runs, tookn);
	/* Mutations that still parse are taken, and were compared. */
	CHECK(tookn > 1000);
	return (0);
}

static const struct test tests[] = {
	{ "the common shapes of send, ack and read are taken, as jansson "
	    "reads them", test_taken },
	{ "escapes, duplicates, reals, bad UTF-8, limits, other ops are "
	    "declined", test_declined },
	{ "random mutations of those frames: taken only as jansson reads "
	    "them", test_mutations },
};

int
main(void)
{
	conf_init(&limits[0]);
	limits[1] = limits[0];
	limits[1].max_json_depth = 2;
	limits[1].max_ack_mids = 2;
	limits[2] = limits[0];
	limits[2].max_json_depth = 1;
	limits[2].max_ack_mids = 1;
	return (tap_run(tests, nitems(tests)));
}
