/* SPDX-License-Identifier: ISC */
/*
 * bench-seed.c: accounts for big runs, written straight into the store of
 * a stopped tickd through its own store and account layers.
 *
 * A login costs one scrypt (about 50 ms, on one kdf thread), so the
 * 15,000 accounts of a connections run would take a quarter of an hour
 * over HTTP.  Seeded accounts get one claimed device, "default", and a
 * token valid for 30 days; their password hash is all zeros, which no
 * password matches, so they can only be used with their token.
 */
#include <sys/types.h>
#include <sys/file.h>
#include <sys/stat.h>

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "tickd.h"
#include "bench.h"

#define SEED_BATCH	1000		/* accounts per transaction */
#define SEED_TTL	(30ULL * 24 * 3600 * 1000)

/* Registers one account, claims its device and writes its token line. */
static int
seed_one(struct txn *txn, const char *user, uint64_t now, FILE *f)
{
	static const uint8_t	 salt[16], hash[32];
	struct dev_rec		 r;
	enum tick_err		 err;
	char			 dev[NAME_DEVICE_MAX + 1];
	char			 tok[TOKEN_HEXLEN + 1];
	int			 rc;

	if ((rc = account_register(txn, user, salt, hash, now, &err)) !=
	    STORE_OK)
		return (rc);
	if ((rc = account_claim_device(txn, user, NULL, now, dev, &r)) !=
	    STORE_OK)
		return (rc);
	if ((rc = account_token_issue(txn, user, dev, r.qid, now + SEED_TTL,
	    tok)) != STORE_OK)
		return (rc);
	fprintf(f, "%s %s %s\n", user, dev, tok);
	return (STORE_OK);
}

/*
 * Writes n accounts PREFIX0 .. PREFIX(n-1) into the store in dir and their
 * "user device token" lines into the file out.  Refuses while a tickd
 * holds the data_dir.
 */
int
seed_accounts(const char *dir, uint64_t map_size, const char *prefix,
    unsigned n, const char *out, char **cause)
{
	struct store	*st = NULL;
	struct txn	 txn;
	FILE		*f = NULL;
	char		*path = NULL, user[NAME_USER_MAX + 1];
	uint64_t	 now = now_ms();
	unsigned	 i, j;
	int		 lock = -1, rc = -1;

	log_init(1, L_WARN);
	if (mkdir(dir, 0700) == -1 && errno != EEXIST) {
		xasprintf(cause, "mkdir %s: %s", dir, strerror(errno));
		return (-1);
	}
	xasprintf(&path, "%s/tickd.lock", dir);
	if ((lock = open(path, O_RDWR | O_CREAT | O_CLOEXEC, 0600)) == -1 ||
	    flock(lock, LOCK_EX | LOCK_NB) == -1) {
		xasprintf(cause, errno == EWOULDBLOCK ? "a tickd is running "
		    "on %s; stop it first" : "lock %s: %s", dir,
		    strerror(errno));
		goto out;
	}
	if (store_open(&st, dir, map_size, cause) != STORE_OK)
		goto out;
	if ((f = fopen(out, "w")) == NULL) {
		xasprintf(cause, "%s: %s", out, strerror(errno));
		goto out;
	}
	for (i = 0; i < n; i += SEED_BATCH) {
		if (store_txn_begin(st, &txn, 1) != STORE_OK) {
			xasprintf(cause, "cannot begin a write transaction");
			goto out;
		}
		for (j = i; j < n && j < i + SEED_BATCH; j++) {
			snprintf(user, sizeof user, "%s%u", prefix, j);
			if (!valid_user(user, strlen(user))) {
				store_txn_abort(&txn);
				xasprintf(cause, "bad user name %s", user);
				goto out;
			}
			if (seed_one(&txn, user, now, f) != STORE_OK)
				break;
		}
		if (j < n && j < i + SEED_BATCH) {
			store_txn_abort(&txn);
			xasprintf(cause, "store error seeding %s", user);
			goto out;
		}
		if (store_txn_commit(&txn) != STORE_OK) {
			xasprintf(cause, "commit failed (map_size too small?)");
			goto out;
		}
	}
	if (fflush(f) != 0 || ferror(f)) {
		xasprintf(cause, "%s: %s", out, strerror(errno));
		goto out;
	}
	rc = 0;
out:
	if (f != NULL && fclose(f) != 0 && rc == 0) {
		xasprintf(cause, "%s: %s", out, strerror(errno));
		rc = -1;
	}
	if (st != NULL)
		store_close(st);
	if (lock != -1)
		close(lock);
	free(path);
	return (rc);
}
