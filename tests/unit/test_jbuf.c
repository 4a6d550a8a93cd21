/* SPDX-License-Identifier: ISC */
/*
 * test_jbuf.c: unit tests of jbuf.c, held against jansson: for every
 * string, jbuf writes what json_dumps(JSON_COMPACT) writes of the same
 * object, and refuses exactly the strings json_string refuses.  Prints
 * TAP; exits 0 only if every test passed.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "tickd.h"
#include "testlib.h"

/* Whether jansson takes s as a string. */
static int
jansson_takes(const char *s)
{
	json_t	*v = json_string(s);

	json_decref(v);
	return (v != NULL);
}

/*
 * Whether jbuf and jansson agree on
 * {"op":"t","s":s,"n":n,"b":[1,{}],"ref":["r\n",{"k":1}]}: the same text,
 * or both refusing s.
 */
static int
same_as_jansson(const char *s, uint64_t n)
{
	struct jbuf	 j;
	json_t		*o, *v, *ref;
	char		*ours, *theirs;
	size_t		 len;
	int		 same;

	jbuf_open(&j, "t");
	jbuf_str(&j, "s", s);
	jbuf_uint(&j, "n", n);
	jbuf_raw(&j, "b", "[1,{}]", 6);
	ref = json_pack("[s,{s:i}]", "r\n", "k", 1);
	jbuf_json(&j, "ref", ref);
	ours = jbuf_close(&j, &len);

	if ((v = json_string(s)) == NULL) {
		json_decref(ref);
		same = ours == NULL;
		if (!same)
			printf("# jbuf took what jansson refuses: %s\n", ours);
		free(ours);
		return (same);
	}
	o = json_pack("{s:s, s:o, s:I, s:[i,{}], s:o}", "op", "t", "s", v,
	    "n", (json_int_t)n, "b", 1, "ref", ref);
	theirs = o != NULL ? json_dumps(o, JSON_COMPACT) : NULL;
	json_decref(o);
	same = ours != NULL && theirs != NULL && strcmp(ours, theirs) == 0 &&
	    len == strlen(ours);
	if (!same)
		printf("# jbuf %s\n# jansson %s\n", ours != NULL ? ours :
		    "(refused)", theirs != NULL ? theirs : "(refused)");
	free(ours);
	free(theirs);
	return (same);
}

/* Plain strings, every escape, and integers at their edges. */
static int
test_known(void)
{
	static const char *const strs[] = {
		"", "alice", "c-17", "say \"hi\"", "back\\slash", "a/b",
		"\b\f\n\r\t", "\x01\x1f\x7f", "caf\xc3\xa9", "\xe2\x82\xac",
		"\xf0\x9f\x98\x80", "\xef\xbf\xbf", "\xf4\x8f\xbf\xbf",
	};
	size_t	i;

	for (i = 0; i < nitems(strs); i++)
		CHECK(same_as_jansson(strs[i], i));
	CHECK(same_as_jansson("x", 0));
	CHECK(same_as_jansson("x", 9));
	CHECK(same_as_jansson("x", 10));
	CHECK(same_as_jansson("x", 1700000000000ULL));
	CHECK(same_as_jansson("x", (uint64_t)INT64_MAX));
	return (0);
}

/* What is not UTF-8 is refused, whatever came before it. */
static int
test_not_utf8(void)
{
	static const char *const strs[] = {
		"\x80", "\xbf", "\xc0\xaf", "\xc1\xbf", "\xc3", "ok\xc3",
		"\xc3\x28", "\xe0\x80\xaf", "\xe0\x9f\xbf", "\xed\xa0\x80",
		"\xed\xbf\xbf", "\xf0\x80\x80\xaf", "\xf0\x8f\xbf\xbf",
		"\xf4\x90\x80\x80", "\xf5\x80\x80\x80", "\xff", "\xfe",
		"\xe2\x82", "a\"b\xe2\x82",
	};
	size_t	i;

	for (i = 0; i < nitems(strs); i++) {
		CHECK(!jansson_takes(strs[i]));
		CHECK(same_as_jansson(strs[i], i));
	}
	return (0);
}

/*
 * Random strings, mostly made of the bytes that matter (escapes, UTF-8
 * lead and continuation bytes), agree with jansson.
 */
static int
test_random(void)
{
	static const unsigned char pool[] = {
		'a', 'z', '"', '\\', '/', 0x01, 0x08, 0x0a, 0x1f, 0x20, 0x7f,
		0x80, 0x9f, 0xa0, 0xbf, 0xc0, 0xc2, 0xc3, 0xdf, 0xe0, 0xe2,
		0xed, 0xef, 0xf0, 0xf4, 0xf5, 0xff,
	};
	char		s[16];
	unsigned int	seed = 1;
	int		i, k, n, refused = 0;

	for (i = 0; i < 200000; i++) {
		n = rand_r(&seed) % (int)sizeof s;
		for (k = 0; k < n; k++)
			s[k] = (char)pool[rand_r(&seed) % sizeof pool];
		s[n] = '\0';
		CHECK(same_as_jansson(s, (uint64_t)rand_r(&seed)));
		refused += !jansson_takes(s);
	}
	/* Both kinds were drawn, so both paths were compared. */
	printf("# %d of %d strings were not UTF-8\n", refused, i);
	CHECK(refused > 1000 && refused < i - 1000);
	return (0);
}

/* A long value grows the buffer and comes out whole. */
static int
test_long(void)
{
	char	*s;
	int	 ok;

	s = malloc(100001);
	CHECK(s != NULL);
	memset(s, 'x', 100000);
	s[100000] = '\0';
	s[50000] = '\n';
	ok = same_as_jansson(s, 1);
	free(s);
	CHECK(ok);
	return (0);
}

static const struct test tests[] = {
	{ "strings, escapes and integers as json_dumps writes them",
	    test_known },
	{ "what is not UTF-8 is refused, as json_string refuses it",
	    test_not_utf8 },
	{ "200,000 random strings of escapes and UTF-8 bytes agree with "
	    "jansson", test_random },
	{ "a 100 kB string grows the buffer", test_long },
};

int
main(void)
{
	return (tap_run(tests, nitems(tests)) == 0 ? 0 : 1);
}
