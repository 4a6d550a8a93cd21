/*
 * testlib.c: the TAP runner of the unit tests, and the temporary directory
 * the tests of the store run in.
 */
#include <sys/stat.h>

#include <ftw.h>
#include <stdio.h>
#include <stdlib.h>

#include "testlib.h"

/* nftw callback: removes each file, then its directory. */
static int
rm_fn(const char *path, const struct stat *sb, int flag, struct FTW *ftw)
{
	(void)sb;
	(void)flag;
	(void)ftw;
	return (remove(path));
}

/* Runs the n tests in t in order and prints TAP; returns how many failed. */
int
tap_run(const struct test *t, size_t n)
{
	size_t	i;
	int	failed = 0;

	printf("1..%zu\n", n);
	for (i = 0; i < n; i++) {
		if (t[i].fn() == 0)
			printf("ok %zu - %s\n", i + 1, t[i].name);
		else {
			printf("not ok %zu - %s\n", i + 1, t[i].name);
			failed++;
		}
		fflush(stdout);
	}
	return (failed);
}

/*
 * Makes dir (len bytes) a new directory $TMPDIR/name.XXXXXX, /tmp without
 * TMPDIR, runs the tests with tap_run() and removes the directory with
 * all it holds.  Returns the exit status for main: 0 only if every test
 * passed and the directory is gone.
 */
int
tap_run_tmpdir(const struct test *t, size_t n, const char *name, char *dir,
    size_t len)
{
	const char	*tmp;
	int		 failed;

	if ((tmp = getenv("TMPDIR")) == NULL || *tmp == '\0')
		tmp = "/tmp";
	snprintf(dir, len, "%s/%s.XXXXXX", tmp, name);
	if (mkdtemp(dir) == NULL) {
		perror("mkdtemp");
		return (1);
	}
	failed = tap_run(t, n);
	if (nftw(dir, rm_fn, 16, FTW_DEPTH | FTW_PHYS) != 0) {
		perror(dir);
		failed++;
	}
	return (failed == 0 ? 0 : 1);
}
