/* SPDX-License-Identifier: ISC */
/*
 * testlib-store.c: a store of its own for each unit test of the store
 * layer, opened under the test's temporary directory (telling why if it
 * cannot be) with a write transaction begun, and the users the tests send
 * between.  The limits (struct conf) are the caller's: each test sets its
 * own.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "tickd.h"
#include "testlib-store.h"

/* store_open of dir that prints the cause if it fails; its result. */
int
open_store_at(struct store **s, const char *dir, uint64_t map_size)
{
	char	*cause = NULL;
	int	 rc;

	if ((rc = store_open(s, dir, map_size, &cause)) != STORE_OK) {
		printf("# store_open: %s\n", cause != NULL ? cause : "?");
		free(cause);
	}
	return (rc);
}

/*
 * Opens the store base/name with map_size, begins a write transaction
 * and starts the mid generator from zero; 0, or -1 with the store closed.
 */
int
env_open(struct env *e, const char *base, const char *name,
    uint64_t map_size)
{
	struct mid	 hw = { 0, 0 };

	snprintf(e->dir, sizeof e->dir, "%s/%s", base, name);
	if (open_store_at(&e->s, e->dir, map_size) != STORE_OK)
		return (-1);
	if (store_txn_begin(e->s, &e->txn, 1) != STORE_OK) {
		store_close(e->s);
		return (-1);
	}
	midgen_init(&e->gen, &hw);
	return (0);
}

/* Commits and closes; 0 if the commit worked. */
int
env_close(struct env *e)
{
	int	rc;

	rc = store_txn_commit(&e->txn);
	store_close(e->s);
	return (rc == STORE_OK ? 0 : -1);
}

/* Registers user at now with a dummy password salt and hash; 0 or -1. */
int
env_register(struct env *e, const char *user, uint64_t now)
{
	uint8_t		salt[16], hash[32];
	enum tick_err	err;

	memset(salt, 1, sizeof salt);
	memset(hash, 2, sizeof hash);
	if (account_register(&e->txn, user, salt, hash, now, &err) !=
	    STORE_OK || err != TE_OK)
		return (-1);
	return (0);
}

/* Registers user and claims device (NULL: the default name); 0 or -1. */
int
env_user(struct env *e, const char *user, const char *device, uint64_t now)
{
	char		out[NAME_DEVICE_MAX + 1];
	struct dev_rec	r;

	if (env_register(e, user, now) != 0 ||
	    account_claim_device(&e->txn, user, device, now, out, &r) !=
	    STORE_OK)
		return (-1);
	return (0);
}
