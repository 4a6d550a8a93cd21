/* SPDX-License-Identifier: ISC */
/*
 * testlib.c: the TAP runner of the unit tests, the temporary directory
 * the tests of the store run in, and a raw LMDB write for forging what
 * the store layer would never write.
 */
#include <sys/stat.h>

#include <ftw.h>
#include <stdio.h>
#include <stdlib.h>

#include <lmdb.h>

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

/*
 * Writes a raw record into the LMDB environment in dir, into the named
 * database db (the main one if NULL), as another program, another
 * version of tickd or a damaged disk would leave it.  dir's store must not
 * be open: an environment is opened only once in a process.
 */
int
lmdb_forge(const char *dir, const char *db, const void *key, size_t klen,
    const void *val, size_t vlen)
{
	MDB_env	*env;
	MDB_txn	*t;
	MDB_dbi	 dbi;
	MDB_val	 k, v;
	int	 rc;

	if ((rc = mdb_env_create(&env)) != 0)
		return (rc);
	if ((rc = mdb_env_set_maxdbs(env, 32)) != 0 ||
	    (rc = mdb_env_open(env, dir, 0, 0600)) != 0 ||
	    (rc = mdb_txn_begin(env, NULL, 0, &t)) != 0) {
		mdb_env_close(env);
		return (rc);
	}
	k.mv_data = (void *)key;
	k.mv_size = klen;
	v.mv_data = (void *)val;
	v.mv_size = vlen;
	rc = mdb_dbi_open(t, db, db != NULL ? MDB_CREATE : 0, &dbi);
	if (rc != 0 || (rc = mdb_put(t, dbi, &k, &v, 0)) != 0) {
		mdb_txn_abort(t);
		mdb_env_close(env);
		return (rc);
	}
	rc = mdb_txn_commit(t);
	mdb_env_close(env);
	return (rc);
}
