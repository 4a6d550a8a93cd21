/* SPDX-License-Identifier: ISC */
/*
 * testlib-store.h: what the unit tests of the store layer share: a store
 * opened with its failure told, one with a write transaction open in the
 * test's temporary directory and users registered with a dummy password;
 * see testlib-store.c.  Only the tests that link the store include it.
 */
#ifndef TICKD_TESTLIB_STORE_H
#define TICKD_TESTLIB_STORE_H

#include <stdint.h>

#include "tickd.h"

/* A store with a write transaction open, as in one event-loop turn. */
struct env {
	struct store	*s;
	struct txn	 txn;
	struct midgen	 gen;
	char		 dir[512];
};

int	open_store_at(struct store **, const char *, uint64_t);
int	env_open(struct env *, const char *, const char *, uint64_t);
int	env_close(struct env *);
int	env_register(struct env *, const char *, uint64_t);
int	env_user(struct env *, const char *, const char *, uint64_t);

#endif /* TICKD_TESTLIB_STORE_H */
