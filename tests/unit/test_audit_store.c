/* SPDX-License-Identifier: ISC */
/*
 * test_audit_store.c: unit tests of the audit spool in store-audit.c:
 * event ids that never repeat or go backwards (also when the clock steps
 * back and across a reopen), records that come back as written, walks in
 * id order, deletes, the count, and the gap and last-shipped records.
 * Prints TAP.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "tickd.h"
#include "testlib.h"
#include "testlib-store.h"

#define MAP_SIZE	(16ULL << 20)

static char	dir[256];

/* Opens the store in the temporary directory. */
static struct store *
open_store(void)
{
	struct store	*s;

	if (open_store_at(&s, dir, MAP_SIZE) != STORE_OK)
		return (NULL);
	return (s);
}

/* An event record with the given names and detail. */
static struct audit_rec
rec_of(uint64_t at, uint8_t kind, const char *user, const char *device,
    const char *addr, const char *detail)
{
	struct audit_rec	r;

	memset(&r, 0, sizeof r);
	r.at = at;
	r.kind = kind;
	strlcpy(r.user, user, sizeof r.user);
	strlcpy(r.device, device, sizeof r.device);
	strlcpy(r.addr, addr, sizeof r.addr);
	r.detail = detail;
	r.detail_len = strlen(detail);
	return (r);
}

/* What a walk saw. */
struct seen {
	uint64_t	ids[16];
	char		users[16][NAME_USER_MAX + 1];
	char		details[16][64];
	uint8_t		kinds[16];
	size_t		n;
};

/* Walk callback: records each event. */
static int
seen_fn(void *arg, uint64_t id, const struct audit_rec *r)
{
	struct seen	*s = arg;

	if (s->n == 16)
		return (STORE_WALK_STOP);
	s->ids[s->n] = id;
	strlcpy(s->users[s->n], r->user, sizeof s->users[0]);
	snprintf(s->details[s->n], sizeof s->details[0], "%.*s",
	    (int)r->detail_len, r->detail);
	s->kinds[s->n] = r->kind;
	s->n++;
	return (STORE_WALK_NEXT);
}

/* Ids grow with time, by one within a millisecond and past a step back. */
static int
test_ids(void)
{
	struct store	*s;
	struct txn	 txn;
	uint64_t	 a, b, c, d, e;

	CHECK((s = open_store()) != NULL);
	CHECK(store_txn_begin(s, &txn, 1) == STORE_OK);
	CHECK(store_audit_id_next(&txn, 1000, &a) == STORE_OK);
	CHECK(store_audit_id_next(&txn, 1000, &b) == STORE_OK);
	CHECK(store_audit_id_next(&txn, 500, &c) == STORE_OK);
	CHECK(store_audit_id_next(&txn, 2000, &d) == STORE_OK);
	CHECK(store_txn_commit(&txn) == STORE_OK);
	CHECK(a == 1000ULL << 20);
	CHECK(b == a + 1 && c == b + 1);
	CHECK(d == 2000ULL << 20);
	store_close(s);
	/* A reopened store goes on from the last id, whatever the clock. */
	CHECK((s = open_store()) != NULL);
	CHECK(store_txn_begin(s, &txn, 1) == STORE_OK);
	CHECK(store_audit_id_next(&txn, 1, &e) == STORE_OK);
	CHECK(store_txn_commit(&txn) == STORE_OK);
	CHECK(e == d + 1);
	/* An aborted transaction hands the same id out again. */
	CHECK(store_txn_begin(s, &txn, 1) == STORE_OK);
	CHECK(store_audit_id_next(&txn, 1, &a) == STORE_OK);
	store_txn_abort(&txn);
	CHECK(store_txn_begin(s, &txn, 1) == STORE_OK);
	CHECK(store_audit_id_next(&txn, 1, &b) == STORE_OK);
	CHECK(store_txn_commit(&txn) == STORE_OK);
	CHECK(a == e + 1 && b == a);
	store_close(s);
	return (0);
}

/* Events come back as written, in id order; deletes and the count. */
static int
test_spool(void)
{
	struct store		*s;
	struct txn		 txn;
	struct audit_rec	 r;
	struct seen		 seen;
	uint64_t		 n;

	CHECK((s = open_store()) != NULL);
	CHECK(store_txn_begin(s, &txn, 1) == STORE_OK);
	r = rec_of(7, 3, "carol", "phone", "::1", "{\"port\":1}");
	CHECK(store_audit_put(&txn, 30, &r) == STORE_OK);
	r = rec_of(5, 1, "alice", "", "", "");
	CHECK(store_audit_put(&txn, 10, &r) == STORE_OK);
	r = rec_of(6, 2, "bob", "d", "127.0.0.1", "{}");
	CHECK(store_audit_put(&txn, 20, &r) == STORE_OK);
	CHECK(store_audit_count(&txn, &n) == STORE_OK && n == 3);
	CHECK(store_txn_commit(&txn) == STORE_OK);

	CHECK(store_txn_begin(s, &txn, 0) == STORE_OK);
	memset(&seen, 0, sizeof seen);
	CHECK(store_audit_walk(&txn, 0, seen_fn, &seen) == STORE_OK);
	CHECK(seen.n == 3);
	CHECK(seen.ids[0] == 10 && seen.ids[1] == 20 && seen.ids[2] == 30);
	CHECK(strcmp(seen.users[0], "alice") == 0 && seen.kinds[0] == 1);
	CHECK(strcmp(seen.details[0], "") == 0);
	CHECK(strcmp(seen.details[2], "{\"port\":1}") == 0);
	memset(&seen, 0, sizeof seen);
	CHECK(store_audit_walk(&txn, 20, seen_fn, &seen) == STORE_OK);
	CHECK(seen.n == 1 && seen.ids[0] == 30);
	store_txn_abort(&txn);

	CHECK(store_txn_begin(s, &txn, 1) == STORE_OK);
	CHECK(store_audit_del(&txn, 20) == STORE_OK);
	CHECK(store_audit_del(&txn, 20) == STORE_NOTFOUND);
	CHECK(store_audit_count(&txn, &n) == STORE_OK && n == 2);
	CHECK(store_txn_commit(&txn) == STORE_OK);
	store_close(s);
	return (0);
}

/* The gap and last-shipped records. */
static int
test_marks(void)
{
	struct store		*s;
	struct txn		 txn;
	struct audit_gap	 g;
	uint64_t		 id, at;

	CHECK((s = open_store()) != NULL);
	CHECK(store_txn_begin(s, &txn, 1) == STORE_OK);
	CHECK(store_audit_gap_get(&txn, &g) == STORE_NOTFOUND);
	g.count = 3;
	g.first_at = 100;
	g.last_at = 200;
	CHECK(store_audit_gap_put(&txn, &g) == STORE_OK);
	memset(&g, 0, sizeof g);
	CHECK(store_audit_gap_get(&txn, &g) == STORE_OK);
	CHECK(g.count == 3 && g.first_at == 100 && g.last_at == 200);
	CHECK(store_audit_gap_del(&txn) == STORE_OK);
	CHECK(store_audit_gap_get(&txn, &g) == STORE_NOTFOUND);
	CHECK(store_audit_shipped_get(&txn, &id, &at) == STORE_OK);
	CHECK(id == 0 && at == 0);
	CHECK(store_audit_shipped_put(&txn, 42, 43) == STORE_OK);
	CHECK(store_audit_shipped_get(&txn, &id, &at) == STORE_OK);
	CHECK(id == 42 && at == 43);
	CHECK(store_txn_commit(&txn) == STORE_OK);
	store_close(s);
	return (0);
}

/* The tests, in the order they run. */
static const struct test tests[] = {
	{ "event ids", test_ids },
	{ "spool records, walk, delete, count", test_spool },
	{ "gap and last shipped", test_marks },
};

/* Runs every test and prints TAP; exits 0 if all passed. */
int
main(void)
{
	setvbuf(stdout, NULL, _IOLBF, 0);
	log_init(1, L_WARN);
	return (tap_run_tmpdir(tests, nitems(tests), "test_audit_store", dir,
	    sizeof dir));
}
