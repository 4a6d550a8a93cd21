/* SPDX-License-Identifier: ISC */
/*
 * test_mid.c: unit tests of mid.c, the message-id generator, parser and
 * encoding.  Prints TAP; exits 0 only if every test passed.
 */
#include <stdio.h>
#include <string.h>

#include "tickd.h"
#include "testlib.h"

/* Whether m is ms-seq. */
static int
mid_eq(const struct mid *m, uint64_t ms, uint64_t seq)
{
	return (m->ms == ms && m->seq == seq);
}

/* Parses a NUL-terminated string. */
static int
parse(const char *s, struct mid *m)
{
	return (mid_parse(s, strlen(s), m));
}

/* mid_parse accepts good ids. */
static int
test_parse_good(void)
{
	struct mid	m;

	CHECK(parse("0-0", &m) == 0 && mid_eq(&m, 0, 0));
	CHECK(parse("1-2", &m) == 0 && mid_eq(&m, 1, 2));
	CHECK(parse("1700000000000-42", &m) == 0 &&
	    mid_eq(&m, 1700000000000ULL, 42));
	CHECK(parse("18446744073709551615-18446744073709551615", &m) == 0 &&
	    mid_eq(&m, UINT64_MAX, UINT64_MAX));
	CHECK(parse("007-010", &m) == 0 && mid_eq(&m, 7, 10));
	/* Only len bytes are looked at. */
	CHECK(mid_parse("12-34xyz", 5, &m) == 0 && mid_eq(&m, 12, 34));
	return (0);
}

/* mid_parse refuses bad ids. */
static int
test_parse_bad(void)
{
	static const char *const bad[] = {
		"", "1", "1-", "-1", "-", "a-1", "1-a", "1-2-3", " 1-2",
		"1-2 ", "1 -2", "+1-2", "1-+2", "1--2", "0x1-2", "1.0-2",
		"18446744073709551616-0", "0-18446744073709551616",
		"99999999999999999999-1", "184467440737095516150-0",
	};
	struct mid	m;
	size_t		i;

	for (i = 0; i < sizeof bad / sizeof bad[0]; i++) {
		m.ms = m.seq = 77;
		if (parse(bad[i], &m) != -1) {
			printf("# accepted \"%s\"\n", bad[i]);
			return (1);
		}
		CHECK(mid_eq(&m, 77, 77));
	}
	/* An embedded NUL is not a digit. */
	CHECK(mid_parse("1-2\0" "3", 5, &m) == -1);
	CHECK(mid_parse("1-2", 0, &m) == -1);
	return (0);
}

/* mid_format and mid_parse round trip. */
static int
test_format_roundtrip(void)
{
	static const struct mid	mids[] = {
		{ 0, 0 }, { 1, 2 }, { 255, 256 }, { 1700000000000ULL, 0 },
		{ UINT64_MAX, 0 }, { 0, UINT64_MAX },
		{ UINT64_MAX, UINT64_MAX },
	};
	char		buf[MID_STRLEN + 1];
	struct mid	m;
	size_t		i, n;

	for (i = 0; i < sizeof mids / sizeof mids[0]; i++) {
		n = mid_format(&mids[i], buf);
		CHECK(n == strlen(buf));
		CHECK(mid_parse(buf, n, &m) == 0);
		CHECK(mid_cmp(&m, &mids[i]) == 0);
	}
	m.ms = m.seq = UINT64_MAX;
	CHECK(mid_format(&m, buf) == 41 && 41 <= MID_STRLEN);
	CHECK(strcmp(buf, "18446744073709551615-18446744073709551615") == 0);
	m.ms = 1700000000000ULL;
	m.seq = 3;
	CHECK(mid_format(&m, buf) == 15 && strcmp(buf, "1700000000000-3") == 0);
	return (0);
}

/* midgen_next follows the clock. */
static int
test_gen_forward(void)
{
	struct midgen	g;
	struct mid	hw = { 0, 0 }, m;

	midgen_init(&g, &hw);
	CHECK(g.dirty == 0);
	midgen_next(&g, 100, &m);
	CHECK(mid_eq(&m, 100, 0));
	CHECK(g.dirty == 1 && mid_eq(&g.last, 100, 0));
	midgen_next(&g, 100, &m);
	CHECK(mid_eq(&m, 100, 1));
	midgen_next(&g, 100, &m);
	CHECK(mid_eq(&m, 100, 2));
	midgen_next(&g, 101, &m);
	CHECK(mid_eq(&m, 101, 0));
	return (0);
}

/* midgen_next keeps increasing when the clock steps back. */
static int
test_gen_clock_back(void)
{
	static const uint64_t	clock[] = {
		1000, 1000, 500, 999, 0, 1001, 1001, 2, 1500, 1400, 1500, 1501,
	};
	struct midgen	g;
	struct mid	hw = { 0, 0 }, prev, m;
	size_t		i;

	midgen_init(&g, &hw);
	midgen_next(&g, 1000, &prev);
	midgen_next(&g, 500, &m);
	CHECK(mid_eq(&m, 1000, 1));
	midgen_next(&g, 999, &m);
	CHECK(mid_eq(&m, 1000, 2));
	prev = m;
	for (i = 0; i < sizeof clock / sizeof clock[0]; i++) {
		midgen_next(&g, clock[i], &m);
		CHECK(mid_cmp(&prev, &m) < 0);
		CHECK(m.ms >= clock[i]);
		prev = m;
	}
	return (0);
}

/* midgen_next carries a sequence overflow into ms. */
static int
test_gen_seq_overflow(void)
{
	struct midgen	g;
	struct mid	hw = { 5, UINT64_MAX }, m;

	midgen_init(&g, &hw);
	midgen_next(&g, 3, &m);
	CHECK(mid_eq(&m, 6, 0));
	midgen_next(&g, 6, &m);
	CHECK(mid_eq(&m, 6, 1));
	hw.ms = 10;
	hw.seq = UINT64_MAX - 1;
	midgen_init(&g, &hw);
	midgen_next(&g, 10, &m);
	CHECK(mid_eq(&m, 10, UINT64_MAX));
	midgen_next(&g, 10, &m);
	CHECK(mid_eq(&m, 11, 0));
	return (0);
}

/* midgen_init starts after the high-water mark. */
static int
test_gen_high_water(void)
{
	struct midgen	g;
	struct mid	hw = { 2000, 7 }, m;

	midgen_init(&g, &hw);
	CHECK(g.dirty == 0 && mid_eq(&g.last, 2000, 7));
	midgen_next(&g, 1500, &m);
	CHECK(mid_eq(&m, 2000, 8));
	midgen_next(&g, 2000, &m);
	CHECK(mid_eq(&m, 2000, 9));
	midgen_next(&g, 2001, &m);
	CHECK(mid_eq(&m, 2001, 0));
	return (0);
}

/* mid_encode is big-endian and sorts as mid_cmp. */
static int
test_encode(void)
{
	static const struct mid	order[] = {
		{ 0, 0 }, { 0, 1 }, { 0, 255 }, { 0, 256 }, { 0, UINT64_MAX },
		{ 1, 0 }, { 255, 0 }, { 255, UINT64_MAX }, { 256, 0 },
		{ 65535, 9 }, { 65536, 0 }, { 1ULL << 32, 0 },
		{ UINT64_MAX, 0 }, { UINT64_MAX, UINT64_MAX },
	};
	static const uint8_t	want[MID_BYTES] = {
		0, 0, 0, 0, 0, 0, 1, 0, 0, 0, 0, 0, 0, 0, 0, 0xff,
	};
	uint8_t		a[MID_BYTES], b[MID_BYTES];
	struct mid	m;
	size_t		i;

	m.ms = 256;
	m.seq = 255;
	mid_encode(&m, a);
	CHECK(memcmp(a, want, sizeof a) == 0);
	for (i = 0; i < sizeof order / sizeof order[0]; i++) {
		mid_encode(&order[i], a);
		mid_decode(a, &m);
		CHECK(mid_cmp(&m, &order[i]) == 0);
		if (i == 0)
			continue;
		CHECK(mid_cmp(&order[i - 1], &order[i]) < 0);
		CHECK(mid_cmp(&order[i], &order[i - 1]) > 0);
		mid_encode(&order[i - 1], b);
		CHECK(memcmp(b, a, MID_BYTES) < 0);
	}
	CHECK(mid_cmp(&order[3], &order[3]) == 0);
	return (0);
}

static const struct test tests[] = {
	{ "mid_parse accepts good ids", test_parse_good },
	{ "mid_parse refuses bad ids", test_parse_bad },
	{ "mid_format and mid_parse round trip", test_format_roundtrip },
	{ "midgen_next follows the clock", test_gen_forward },
	{ "midgen_next keeps increasing when the clock steps back",
	    test_gen_clock_back },
	{ "midgen_next carries a sequence overflow into ms",
	    test_gen_seq_overflow },
	{ "midgen_init starts after the high-water mark", test_gen_high_water },
	{ "mid_encode is big-endian and sorts as mid_cmp", test_encode },
};

/* Runs every test and prints TAP. */
int
main(void)
{
	return (tap_run(tests, nitems(tests)) == 0 ? 0 : 1);
}
