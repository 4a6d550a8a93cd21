/* SPDX-License-Identifier: ISC */
/*
 * test_util.c: the keyed hash of the in-memory tables (tickd(8) says why):
 * SipHash-2-4 against the reference vectors of its authors, and a
 * per-process key that changes the hash; u64_format against snprintf.
 */
#include <stdio.h>
#include <string.h>

#include "tickd.h"
#include "testlib.h"

/*
 * SipHash-2-4 of the bytes 0, 1, ..., len - 1 under the key 0 .. 15, for
 * len 0 to 12, little-endian, from the reference implementation.
 */
static const uint8_t vectors[13][8] = {
	{ 0x31, 0x0e, 0x0e, 0xdd, 0x47, 0xdb, 0x6f, 0x72 },
	{ 0xfd, 0x67, 0xdc, 0x93, 0xc5, 0x39, 0xf8, 0x74 },
	{ 0x5a, 0x4f, 0xa9, 0xd9, 0x09, 0x80, 0x6c, 0x0d },
	{ 0x2d, 0x7e, 0xfb, 0xd7, 0x96, 0x66, 0x67, 0x85 },
	{ 0xb7, 0x87, 0x71, 0x27, 0xe0, 0x94, 0x27, 0xcf },
	{ 0x8d, 0xa6, 0x99, 0xcd, 0x64, 0x55, 0x76, 0x18 },
	{ 0xce, 0xe3, 0xfe, 0x58, 0x6e, 0x46, 0xc9, 0xcb },
	{ 0x37, 0xd1, 0x01, 0x8b, 0xf5, 0x00, 0x02, 0xab },
	{ 0x62, 0x24, 0x93, 0x9a, 0x79, 0xf5, 0xf5, 0x93 },
	{ 0xb0, 0xe4, 0xa9, 0x0b, 0xdf, 0x82, 0x00, 0x9e },
	{ 0xf3, 0xb9, 0xdd, 0x94, 0xc5, 0xbb, 0x5d, 0x7a },
	{ 0xa7, 0xad, 0x6b, 0x22, 0x46, 0x2f, 0xb3, 0xf4 },
	{ 0xfb, 0xe5, 0x0e, 0x86, 0xbc, 0x8f, 0x1e, 0x75 },
};

/* siphash matches the reference vectors, every tail length and a block. */
static int
test_vectors(void)
{
	uint8_t		key[HASH_KEY_BYTES], msg[13];
	uint64_t	want, got;
	size_t		len;
	int		i;

	for (i = 0; i < HASH_KEY_BYTES; i++)
		key[i] = (uint8_t)i;
	for (i = 0; i < 13; i++)
		msg[i] = (uint8_t)i;
	for (len = 0; len < 13; len++) {
		want = 0;
		for (i = 7; i >= 0; i--)
			want = (want << 8) | vectors[len][i];
		got = siphash(key, msg, len);
		if (got != want) {
			printf("# length %zu: got %016llx, want %016llx\n", len,
			    (unsigned long long)got, (unsigned long long)want);
			return (1);
		}
	}
	return (0);
}

/*
 * hash_keyed depends on the process's key: the same name hashes the same
 * under one key, and (all but surely) differently under a fresh one.
 */
static int
test_keyed(void)
{
	uint64_t	a, b, c;
	int		tries, differs = 0;

	CHECK(hash_key_init() == 0);
	a = hash_str("alice");
	CHECK(hash_str("alice") == a);
	CHECK(hash_keyed("alice", 5) == a);
	for (tries = 0; tries < 4 && !differs; tries++) {
		CHECK(hash_key_init() == 0);
		b = hash_str("alice");
		differs = b != a;
	}
	CHECK(differs);
	c = hash_bytes(HASH_INIT, "alice", 5);
	CHECK(hash_bytes(HASH_INIT, "alice", 5) == c);
	return (0);
}

/* One value formatted as snprintf formats it, without a NUL. */
static int
format_one(uint64_t v)
{
	char	want[32], got[32];
	size_t	n;

	snprintf(want, sizeof want, "%llu", (unsigned long long)v);
	memset(got, 'x', sizeof got);
	n = u64_format(v, got);
	if (n != strlen(want) || memcmp(got, want, n) != 0 || got[n] != 'x') {
		printf("# %s: got %.*s\n", want, (int)n, got);
		return (1);
	}
	return (0);
}

/* u64_format: every length, each side of every power of ten, the ends. */
static int
test_format(void)
{
	uint64_t	p = 1, x = 88172645463325252ULL;
	int		i;

	CHECK(format_one(0) == 0 && format_one(UINT64_MAX) == 0);
	for (i = 0; i < 20; i++) {
		CHECK(format_one(p - 1) == 0 && format_one(p) == 0 &&
		    format_one(p + 1) == 0 && format_one(p * 9 + 9) == 0);
		if (i < 19)
			p *= 10;
	}
	for (i = 0; i < 100000; i++) {
		x ^= x << 13;
		x ^= x >> 7;
		x ^= x << 17;
		CHECK(format_one(x >> (i % 64)) == 0);
	}
	return (0);
}

static const struct test tests[] = {
	{ "SipHash-2-4 reference vectors", test_vectors },
	{ "hash_keyed is keyed by the process", test_keyed },
	{ "u64_format writes what snprintf %llu writes", test_format },
};

/* Runs every test and prints TAP. */
int
main(void)
{
	return (tap_run(tests, nitems(tests)) == 0 ? 0 : 1);
}
