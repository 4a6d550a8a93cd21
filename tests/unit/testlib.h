/* SPDX-License-Identifier: ISC */
/*
 * testlib.h: what the unit tests share: CHECK, the table of tests, its
 * TAP runner, the temporary directory the tests of the store run in and
 * a raw LMDB write; see testlib.c.
 */
#ifndef TICKD_TESTLIB_H
#define TICKD_TESTLIB_H

#include <stddef.h>
#include <stdio.h>

/* Fails the test it stands in, returning 1, unless e holds. */
#define CHECK(e) do {							\
	if (!(e)) {							\
		printf("# %s:%d: failed: %s\n", __FILE__, __LINE__, #e);\
		return (1);						\
	}								\
} while (0)

#ifndef nitems
#define nitems(a)	(sizeof (a) / sizeof (a)[0])
#endif

/* A test: fn returns 0 if it passed. */
struct test {
	const char	*name;
	int		(*fn)(void);
};

int	tap_run(const struct test *, size_t);
int	tap_run_tmpdir(const struct test *, size_t, const char *, char *,
	    size_t);
int	lmdb_forge(const char *, const char *, const void *, size_t,
	    const void *, size_t);

#endif /* TICKD_TESTLIB_H */
