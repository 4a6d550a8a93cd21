/*
 * store.c: the LMDB layer.  Encodes keys and records, maps LMDB's errors to
 * the STORE_* codes and keeps the sticky error of store.h's contract.
 */
#include <sys/stat.h>

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <lmdb.h>

#define STORE_INTERNAL
#include "tickd.h"

const char *const db_names[DB_COUNT] = {
	[DB_META] = "meta",
	[DB_USERS] = "users",
	[DB_DEVICES] = "devices",
	[DB_TOKENS] = "tokens",
	[DB_QUEUES] = "queues",
	[DB_MSGS] = "msgs",
	[DB_DEDUP] = "dedup",
	[DB_BLOCKS] = "blocks",
	[DB_AUDIT] = "audit",
	[DB_RKEYS] = "rkeys",
	[DB_RIDX] = "ridx",
	[DB_RSETS] = "rsets",
	[DB_RENTRIES] = "rentries",
	[DB_RGROUPS] = "rgroups",
	[DB_RPEL] = "rpel",
	[DB_RCONS] = "rcons",
	[DB_MEDIA] = "media",
	[DB_MEDIA_USER] = "media_user",
	[DB_MEDIA_FILE] = "media_file",
	[DB_MEDIA_IDLE] = "media_idle",
	[DB_MEDIA_GONE] = "media_gone",
	[DB_MEDIA_REFS] = "media_refs",
};

static int	open_fail(struct store *, char **, const char *, ...)
		    printflike(3, 4);

/* Writes v big-endian, so that byte order is numeric order. */
void
be64enc(uint8_t *p, uint64_t v)
{
	int	i;

	for (i = 7; i >= 0; i--) {
		p[i] = (uint8_t)v;
		v >>= 8;
	}
}

/* Builds a "a\0b" key (just "a" if b is NULL); -1 if a part is too long. */
int
nkey_make(struct nkey *k, const char *a, size_t amax, const char *b,
    size_t bmax)
{
	size_t	alen, blen;

	alen = strnlen(a, amax + 1);
	if (alen > amax)
		return (-1);
	memcpy(k->b, a, alen);
	k->len = alen;
	if (b == NULL)
		return (0);
	blen = strnlen(b, bmax + 1);
	if (blen > bmax)
		return (-1);
	k->b[alen] = '\0';
	memcpy(k->b + alen + 1, b, blen);
	k->len = alen + 1 + blen;
	return (0);
}

/* Copies a name out of a key into a NUL-terminated buffer. */
int
name_copy(char *dst, size_t max, const void *src, size_t len)
{
	if (len > max || memchr(src, '\0', len) != NULL)
		return (-1);
	memcpy(dst, src, len);
	dst[len] = '\0';
	return (0);
}

/* A queue key: the qid, then the mid, all big-endian. */
void
qkey_make(uint8_t *k, uint64_t qid, const struct mid *mid)
{
	be64enc(k, qid);
	mid_encode(mid, k + 8);
}

/* Starts a record with its version byte. */
void
enc_init(struct enc *e)
{
	e->b[0] = STORE_RECORD_V1;
	e->len = 1;
}

/* Appends raw bytes; every record fits REC_MAX by construction. */
void
enc_bytes(struct enc *e, const void *p, size_t n)
{
	memcpy(e->b + e->len, p, n);
	e->len += n;
}

/* Appends one byte. */
void
enc_u8(struct enc *e, uint8_t v)
{
	enc_bytes(e, &v, 1);
}

/* Appends a number in this machine's layout. */
void
enc_u64(struct enc *e, uint64_t v)
{
	enc_bytes(e, &v, sizeof v);
}

/* A string field of at most max bytes: its length, then its bytes. */
void
enc_str(struct enc *e, const char *s, size_t max)
{
	size_t	n;

	n = strnlen(s, max);
	enc_u8(e, (uint8_t)n);
	enc_bytes(e, s, n);
}

/* Starts reading a record; another version is refused as bad. */
void
dec_init(struct dec *d, const MDB_val *v)
{
	d->p = v->mv_data;
	d->len = v->mv_size;
	d->off = 1;
	d->bad = d->len < 1 || d->p[0] != STORE_RECORD_V1;
}

/* Reads n bytes, or zeroes out and marks the record bad. */
void
dec_bytes(struct dec *d, void *out, size_t n)
{
	if (d->bad || d->len - d->off < n) {
		d->bad = 1;
		memset(out, 0, n);
		return;
	}
	memcpy(out, d->p + d->off, n);
	d->off += n;
}

/* Reads one byte. */
uint8_t
dec_u8(struct dec *d)
{
	uint8_t	v;

	dec_bytes(d, &v, 1);
	return (v);
}

/* Reads a number in this machine's layout. */
uint64_t
dec_u64(struct dec *d)
{
	uint64_t	v;

	dec_bytes(d, &v, sizeof v);
	return (v);
}

/* Reads a string of at most max bytes and NUL-terminates it. */
void
dec_str(struct dec *d, char *out, size_t max)
{
	size_t	n;

	n = dec_u8(d);
	if (n > max) {
		d->bad = 1;
		n = 0;
	}
	dec_bytes(d, out, n);
	out[d->bad ? 0 : n] = '\0';
}

/* 0 if the whole record was read and nothing was wrong. */
int
dec_end(struct dec *d)
{
	return (d->bad || d->off != d->len ? -1 : 0);
}

/*
 * Maps an LMDB result to a STORE_* code, setting the sticky error; db is
 * the database for the log, or -1 for the environment.
 */
int
txn_result(struct txn *txn, int rc, int db, const char *what)
{
	switch (rc) {
	case MDB_SUCCESS:
		return (STORE_OK);
	case MDB_NOTFOUND:
		return (STORE_NOTFOUND);
	case MDB_KEYEXIST:
		return (STORE_EXISTS);
	case MDB_MAP_FULL:
	case MDB_TXN_FULL:
		txn->ret = STORE_FULL;
		return (STORE_FULL);
	}
	if (db == -1)
		log_warnx("store: %s: %s", what, mdb_strerror(rc));
	else
		log_warnx("store: %s %s: %s", db_names[db], what,
		    mdb_strerror(rc));
	txn->ret = STORE_ERR;
	return (STORE_ERR);
}

/* Fails the transaction for a reason of our own, such as a bad record. */
int
txn_fail(struct txn *txn, int db, const char *what)
{
	log_warnx("store: %s: %s", db_names[db], what);
	txn->ret = STORE_ERR;
	return (STORE_ERR);
}

/* Looks a key up, honouring the sticky error. */
int
db_get(struct txn *txn, int db, const void *k, size_t klen, MDB_val *v)
{
	MDB_val	key;

	if (txn->ret != STORE_OK)
		return (txn->ret);
	key.mv_data = (void *)k;
	key.mv_size = klen;
	return (txn_result(txn, mdb_get(txn->txn, txn->store->dbi[db], &key,
	    v), db, "get"));
}

/* Writes a key, honouring the sticky error. */
int
db_put(struct txn *txn, int db, const void *k, size_t klen, const void *v,
    size_t vlen, unsigned int flags)
{
	MDB_val	key, val;

	if (txn->ret != STORE_OK)
		return (txn->ret);
	key.mv_data = (void *)k;
	key.mv_size = klen;
	val.mv_data = (void *)v;
	val.mv_size = vlen;
	return (txn_result(txn, mdb_put(txn->txn, txn->store->dbi[db], &key,
	    &val, flags), db, "put"));
}

/* Deletes a key, honouring the sticky error. */
int
db_del(struct txn *txn, int db, const void *k, size_t klen)
{
	MDB_val	key;

	if (txn->ret != STORE_OK)
		return (txn->ret);
	key.mv_data = (void *)k;
	key.mv_size = klen;
	return (txn_result(txn, mdb_del(txn->txn, txn->store->dbi[db], &key,
	    NULL), db, "del"));
}

/*
 * Walks the keys that start with prefix, from seek (or the prefix) on,
 * skipping an exact match of seek if skip is set; with w->rev, backwards
 * from seek (inclusive), and then the adapter may not delete.  An
 * adapter's STORE_WALK_DELETE deletes through the cursor, after which
 * MDB_NEXT lands on the entry that followed.  The walk also stops once
 * anything the callback did in this transaction set the sticky error.
 */
int
db_walk(struct txn *txn, int db, const void *prefix, size_t plen,
    const void *seek, size_t slen, int skip, walk_fn fn, struct walk *w)
{
	MDB_cursor	*c;
	MDB_cursor_op	 next = w->rev ? MDB_PREV : MDB_NEXT;
	MDB_val		 k, v;
	int		 rc, r, exact;

	if (txn->ret != STORE_OK)
		return (txn->ret);
	/* One no tickd has created in this store yet holds nothing. */
	if (txn->store->dbi[db] == DBI_NONE)
		return (STORE_OK);
	rc = mdb_cursor_open(txn->txn, txn->store->dbi[db], &c);
	if (rc != MDB_SUCCESS)
		return (txn_result(txn, rc, db, "cursor"));
	if (seek == NULL) {
		seek = prefix;
		slen = plen;
	}
	if (slen == 0)
		rc = mdb_cursor_get(c, &k, &v, w->rev ? MDB_LAST : MDB_FIRST);
	else {
		k.mv_data = (void *)seek;
		k.mv_size = slen;
		rc = mdb_cursor_get(c, &k, &v, MDB_SET_RANGE);
		exact = rc == MDB_SUCCESS && k.mv_size == slen &&
		    memcmp(k.mv_data, seek, slen) == 0;
		/* Backwards starts at the last key not above seek. */
		if (rc == MDB_NOTFOUND && w->rev)
			rc = mdb_cursor_get(c, &k, &v, MDB_LAST);
		else if (rc == MDB_SUCCESS && (w->rev ? !exact : skip && exact))
			rc = mdb_cursor_get(c, &k, &v, next);
	}
	while (rc == MDB_SUCCESS) {
		if (k.mv_size < plen || memcmp(k.mv_data, prefix, plen) != 0)
			break;
		r = fn(w, &k, &v);
		if (w->corrupt) {
			mdb_cursor_close(c);
			return (txn_fail(txn, db, "corrupt record"));
		}
		if (txn->ret != STORE_OK || r == STORE_WALK_STOP)
			break;
		if (r == STORE_WALK_DELETE &&
		    (rc = mdb_cursor_del(c, 0)) != MDB_SUCCESS)
			break;
		rc = mdb_cursor_get(c, &k, &v, next);
	}
	mdb_cursor_close(c);
	if (txn->ret != STORE_OK)
		return (txn->ret);
	if (rc != MDB_SUCCESS && rc != MDB_NOTFOUND)
		return (txn_result(txn, rc, db, "walk"));
	return (STORE_OK);
}

/* Marks a walk as having met an entry that does not decode. */
int
walk_corrupt(struct walk *w)
{
	w->corrupt = 1;
	return (STORE_WALK_STOP);
}

/*
 * Walks the keys that start with n big-endian, as the queues and most of
 * the RESP shim's databases are keyed, from n and id start (inclusive) on
 * if start is not NULL; arg is the adapter's w->arg.
 */
int
db_walk_num(struct txn *txn, int db, uint64_t n, const struct mid *start,
    walk_fn fn, void *arg)
{
	struct walk	w = { .arg = arg };
	uint8_t		k[8 + MID_BYTES];

	be64enc(k, n);
	if (start == NULL)
		return (db_walk(txn, db, k, 8, NULL, 0, 0, fn, &w));
	mid_encode(start, k + 8);
	return (db_walk(txn, db, k, 8, k, sizeof k, 0, fn, &w));
}

/* Fills cause (if not NULL) and closes what store_open had opened. */
static int
open_fail(struct store *s, char **cause, const char *fmt, ...)
{
	va_list	ap;

	if (cause != NULL) {
		va_start(ap, fmt);
		if (vasprintf(cause, fmt, ap) == -1)
			*cause = NULL;
		va_end(ap);
	}
	if (s->env != NULL)
		mdb_env_close(s->env);
	free(s->path);
	free(s);
	return (STORE_ERR);
}

/*
 * Opens every named database in one write transaction.  An empty
 * environment is new and gets the schema version; otherwise it must
 * already carry ours, so another program's LMDB files or a data_dir of a
 * newer tickd are refused instead of being written to.
 */
static int
open_dbs(struct store *s, const char *dir, char **cause)
{
	MDB_txn		*t;
	MDB_dbi		 maindb;
	MDB_stat	 st;
	MDB_val		 k, v;
	struct enc	 e;
	uint32_t	 schema;
	int		 rc, i, fresh;

	if ((rc = mdb_txn_begin(s->env, NULL, 0, &t)) != MDB_SUCCESS)
		return (open_fail(s, cause, "cannot use store in %s: %s", dir,
		    mdb_strerror(rc)));
	if ((rc = mdb_dbi_open(t, NULL, 0, &maindb)) != MDB_SUCCESS ||
	    (rc = mdb_stat(t, maindb, &st)) != MDB_SUCCESS)
		goto fail;
	fresh = st.ms_entries == 0;
	rc = mdb_dbi_open(t, db_names[DB_META], fresh ? MDB_CREATE : 0,
	    &s->dbi[DB_META]);
	if (rc == MDB_NOTFOUND || rc == MDB_INCOMPATIBLE) {
		mdb_txn_abort(t);
		return (open_fail(s, cause, "%s holds LMDB files that are not "
		    "a tickd store", dir));
	}
	if (rc != MDB_SUCCESS)
		goto fail;
	k.mv_data = (void *)"schema";
	k.mv_size = strlen("schema");
	if (fresh) {
		enc_init(&e);
		schema = STORE_SCHEMA;
		enc_bytes(&e, &schema, sizeof schema);
		v.mv_data = e.b;
		v.mv_size = e.len;
		if ((rc = mdb_put(t, s->dbi[DB_META], &k, &v, 0)) !=
		    MDB_SUCCESS)
			goto fail;
	} else {
		rc = mdb_get(t, s->dbi[DB_META], &k, &v);
		if (rc != MDB_SUCCESS && rc != MDB_NOTFOUND)
			goto fail;
		if (rc == MDB_NOTFOUND || v.mv_size != 1 + sizeof schema ||
		    *(uint8_t *)v.mv_data != STORE_RECORD_V1) {
			mdb_txn_abort(t);
			return (open_fail(s, cause, "store in %s has no valid "
			    "schema version: not a tickd store, or damaged",
			    dir));
		}
		memcpy(&schema, (uint8_t *)v.mv_data + 1, sizeof schema);
		if (schema != STORE_SCHEMA) {
			mdb_txn_abort(t);
			return (open_fail(s, cause, "store in %s has schema "
			    "version %u but this tickd uses version %u", dir,
			    schema, STORE_SCHEMA));
		}
	}
	for (i = 0; i < DB_COUNT; i++) {
		if (i == DB_META)
			continue;
		rc = mdb_dbi_open(t, db_names[i], MDB_CREATE, &s->dbi[i]);
		if (rc != MDB_SUCCESS)
			goto fail;
	}
	if ((rc = mdb_txn_commit(t)) != MDB_SUCCESS)
		return (open_fail(s, cause, "cannot set up store in %s: %s",
		    dir, mdb_strerror(rc)));
	return (STORE_OK);

fail:
	mdb_txn_abort(t);
	return (open_fail(s, cause, "cannot set up store in %s: %s", dir,
	    mdb_strerror(rc)));
}

/*
 * Opens (creating if need be) the store in dir.  The environment has no
 * thread-local reader slots (MDB_NOTLS) and LMDB's default durability: a
 * commit returns only after fsync.
 */
int
store_open(struct store **sp, const char *dir, uint64_t map_size,
    char **cause)
{
	struct store	*s;
	int		 rc, dead;

	*sp = NULL;
	if (cause != NULL)
		*cause = NULL;
	s = xcalloc(1, sizeof *s);
	xasprintf(&s->path, "%s/data.mdb", dir);
	if (mkdir(dir, 0700) == -1 && errno != EEXIST)
		return (open_fail(s, cause, "cannot create data directory "
		    "%s: %s", dir, strerror(errno)));
	if ((rc = mdb_env_create(&s->env)) != MDB_SUCCESS) {
		s->env = NULL;
		return (open_fail(s, cause, "cannot create LMDB environment: "
		    "%s", mdb_strerror(rc)));
	}
	if ((rc = mdb_env_set_maxdbs(s->env, DB_COUNT)) != MDB_SUCCESS ||
	    (rc = mdb_env_set_mapsize(s->env, map_size)) != MDB_SUCCESS)
		return (open_fail(s, cause, "cannot set up LMDB environment: "
		    "%s", mdb_strerror(rc)));
	if ((rc = mdb_env_open(s->env, dir, MDB_NOTLS, 0600)) != MDB_SUCCESS)
		return (open_fail(s, cause, "cannot open store in %s: %s", dir,
		    mdb_strerror(rc)));
	if ((rc = mdb_reader_check(s->env, &dead)) != MDB_SUCCESS)
		return (open_fail(s, cause, "cannot check readers of store in "
		    "%s: %s", dir, mdb_strerror(rc)));
	if (dead > 0)
		log_info("store: cleared %d stale reader slots", dead);
	if (open_dbs(s, dir, cause) != STORE_OK)
		return (STORE_ERR);
	*sp = s;
	return (STORE_OK);
}

/* Closes the environment; every transaction must have ended. */
void
store_close(struct store *s)
{
	if (s == NULL)
		return;
	mdb_env_close(s->env);
	free(s->path);
	free(s);
}

/* Changes the map size; no transaction of this process may be open. */
int
store_set_map_size(struct store *s, uint64_t size)
{
	int	rc;

	if ((rc = mdb_env_set_mapsize(s->env, size)) != MDB_SUCCESS) {
		log_warnx("store: set map size: %s", mdb_strerror(rc));
		return (STORE_ERR);
	}
	return (STORE_OK);
}

/* The bytes up to the last page in use, and the map size. */
int
store_usage(struct store *s, uint64_t *used, uint64_t *map_size)
{
	MDB_envinfo	info;
	MDB_stat	st;
	int		rc;

	if ((rc = mdb_env_info(s->env, &info)) != MDB_SUCCESS ||
	    (rc = mdb_env_stat(s->env, &st)) != MDB_SUCCESS) {
		log_warnx("store: usage: %s", mdb_strerror(rc));
		return (STORE_ERR);
	}
	*used = ((uint64_t)info.me_last_pgno + 1) * st.ms_psize;
	*map_size = info.me_mapsize;
	return (STORE_OK);
}

/* The data file, for backups and messages. */
const char *
store_path(struct store *s)
{
	return (s->path);
}

/*
 * Begins a transaction.  A reader table full of slots left by dead
 * processes is cleared with mdb_reader_check() and the begin tried again.
 */
int
store_txn_begin(struct store *s, struct txn *txn, int write)
{
	MDB_txn	*t;
	int	 rc, dead;

	txn->store = s;
	txn->txn = NULL;
	txn->write = write;
	txn->ret = STORE_OK;
	rc = mdb_txn_begin(s->env, NULL, write ? 0 : MDB_RDONLY, &t);
	if (rc == MDB_READERS_FULL &&
	    mdb_reader_check(s->env, &dead) == MDB_SUCCESS && dead > 0)
		rc = mdb_txn_begin(s->env, NULL, write ? 0 : MDB_RDONLY, &t);
	if (rc != MDB_SUCCESS)
		return (txn_result(txn, rc, -1, "begin"));
	txn->txn = t;
	return (STORE_OK);
}

/*
 * Commits, or aborts if an operation failed before, and returns that
 * failure.  The txn is ended either way and refuses further use.
 */
int
store_txn_commit(struct txn *txn)
{
	int	rc;

	if (txn->txn == NULL)
		return (txn->ret != STORE_OK ? txn->ret : STORE_ERR);
	if (txn->ret != STORE_OK) {
		mdb_txn_abort(txn->txn);
		txn->txn = NULL;
		return (txn->ret);
	}
	rc = mdb_txn_commit(txn->txn);
	txn->txn = NULL;
	if (rc != MDB_SUCCESS)
		return (txn_result(txn, rc, -1, "commit"));
	txn->ret = STORE_ERR;
	return (STORE_OK);
}

/* Aborts; harmless on a txn that has already ended. */
void
store_txn_abort(struct txn *txn)
{
	if (txn->txn != NULL)
		mdb_txn_abort(txn->txn);
	txn->txn = NULL;
	txn->ret = STORE_ERR;
}

/* Reads a meta record of n numbers. */
int
meta_get_u64s(struct txn *txn, const char *key, uint64_t *v, int n)
{
	MDB_val		val;
	struct dec	d;
	int		rc, i;

	rc = db_get(txn, DB_META, key, strlen(key), &val);
	if (rc != STORE_OK)
		return (rc);
	dec_init(&d, &val);
	for (i = 0; i < n; i++)
		v[i] = dec_u64(&d);
	if (dec_end(&d) != 0)
		return (txn_fail(txn, DB_META, "corrupt record"));
	return (STORE_OK);
}

/* Writes a meta record of n numbers. */
int
meta_put_u64s(struct txn *txn, const char *key, const uint64_t *v, int n)
{
	struct enc	e;
	int		i;

	enc_init(&e);
	for (i = 0; i < n; i++)
		enc_u64(&e, v[i]);
	return (db_put(txn, DB_META, key, strlen(key), e.b, e.len, 0));
}

/* The mid high-water mark, or 0-0 in a new store. */
int
store_mid_load(struct txn *txn, struct mid *mid)
{
	uint64_t	v[2];
	int		rc;

	rc = meta_get_u64s(txn, "mid", v, 2);
	if (rc == STORE_NOTFOUND) {
		mid->ms = mid->seq = 0;
		return (STORE_OK);
	}
	if (rc != STORE_OK)
		return (rc);
	mid->ms = v[0];
	mid->seq = v[1];
	return (STORE_OK);
}

/* Stores the mid high-water mark. */
int
store_mid_save(struct txn *txn, const struct mid *mid)
{
	uint64_t	v[2];

	v[0] = mid->ms;
	v[1] = mid->seq;
	return (meta_put_u64s(txn, "mid", v, 2));
}

/*
 * Hands out the next value of the counter key: one above the last (0 if
 * none), or min if that is higher.  No value is handed out twice.
 */
int
meta_next(struct txn *txn, const char *key, uint64_t min, uint64_t *next)
{
	uint64_t	v;
	int		rc;

	rc = meta_get_u64s(txn, key, &v, 1);
	if (rc == STORE_NOTFOUND)
		v = 0;
	else if (rc != STORE_OK)
		return (rc);
	v = min > v ? min : v + 1;
	if ((rc = meta_put_u64s(txn, key, &v, 1)) != STORE_OK)
		return (rc);
	*next = v;
	return (STORE_OK);
}

/* Hands out the next queue number; the first is 1 and none is reused. */
int
store_qid_next(struct txn *txn, uint64_t *qid)
{
	return (meta_next(txn, "qid", 0, qid));
}

/* Encodes an account record. */
static void
user_enc(struct enc *e, const struct user_rec *u)
{
	enc_init(e);
	enc_u64(e, u->created);
	enc_u64(e, u->last_seen);
	enc_bytes(e, u->salt, sizeof u->salt);
	enc_bytes(e, u->hash, sizeof u->hash);
	enc_u8(e, u->read_receipts);
	enc_u8(e, u->last_seen_vis);
}

/* Decodes an account record; -1 if it is malformed. */
static int
user_dec(const MDB_val *v, struct user_rec *u)
{
	struct dec	d;

	dec_init(&d, v);
	u->created = dec_u64(&d);
	u->last_seen = dec_u64(&d);
	dec_bytes(&d, u->salt, sizeof u->salt);
	dec_bytes(&d, u->hash, sizeof u->hash);
	u->read_receipts = dec_u8(&d);
	u->last_seen_vis = dec_u8(&d);
	return (dec_end(&d));
}

/* Reads an account. */
int
store_user_get(struct txn *txn, const char *name, struct user_rec *u)
{
	struct nkey	k;
	MDB_val		v;
	int		rc;

	if (txn->ret != STORE_OK)
		return (txn->ret);
	if (nkey_make(&k, name, NAME_USER_MAX, NULL, 0) != 0)
		return (STORE_NOTFOUND);
	if ((rc = db_get(txn, DB_USERS, k.b, k.len, &v)) != STORE_OK)
		return (rc);
	if (user_dec(&v, u) != 0)
		return (txn_fail(txn, DB_USERS, "corrupt record"));
	return (STORE_OK);
}

/* Writes an account with the given LMDB put flags. */
static int
user_write(struct txn *txn, const char *name, const struct user_rec *u,
    unsigned int flags)
{
	struct nkey	k;
	struct enc	e;

	if (txn->ret != STORE_OK)
		return (txn->ret);
	if (nkey_make(&k, name, NAME_USER_MAX, NULL, 0) != 0)
		return (txn_fail(txn, DB_USERS, "name too long"));
	user_enc(&e, u);
	return (db_put(txn, DB_USERS, k.b, k.len, e.b, e.len, flags));
}

/* Creates an account; STORE_EXISTS if the name is taken. */
int
store_user_add(struct txn *txn, const char *name, const struct user_rec *u)
{
	return (user_write(txn, name, u, MDB_NOOVERWRITE));
}

/* Creates or replaces an account. */
int
store_user_put(struct txn *txn, const char *name, const struct user_rec *u)
{
	return (user_write(txn, name, u, 0));
}

/* Walk adapter for accounts. */
static int
user_walk_fn(struct walk *w, const MDB_val *k, const MDB_val *v)
{
	char		name[NAME_USER_MAX + 1];
	struct user_rec	u;

	if (name_copy(name, NAME_USER_MAX, k->mv_data, k->mv_size) != 0 ||
	    user_dec(v, &u) != 0)
		return (walk_corrupt(w));
	return (w->fn.user(w->arg, name, &u));
}

/* Walks every account in name order. */
int
store_user_walk(struct txn *txn, int (*fn)(void *, const char *,
    const struct user_rec *), void *arg)
{
	struct walk	w = { .fn.user = fn, .arg = arg };

	return (db_walk(txn, DB_USERS, "", 0, NULL, 0, 0, user_walk_fn, &w));
}

/* Encodes a device record. */
static void
dev_enc(struct enc *e, const struct dev_rec *r)
{
	enc_init(e);
	enc_u64(e, r->qid);
	enc_u64(e, r->created);
	enc_u64(e, r->last_active);
	enc_u64(e, r->count);
	enc_u64(e, r->bytes);
	enc_u8(e, r->claimed);
}

/* Decodes a device record; -1 if it is malformed. */
static int
dev_dec(const MDB_val *v, struct dev_rec *r)
{
	struct dec	d;

	dec_init(&d, v);
	r->qid = dec_u64(&d);
	r->created = dec_u64(&d);
	r->last_active = dec_u64(&d);
	r->count = dec_u64(&d);
	r->bytes = dec_u64(&d);
	r->claimed = dec_u8(&d);
	return (dec_end(&d));
}

/* Reads one of user's devices. */
int
store_device_get(struct txn *txn, const char *user, const char *device,
    struct dev_rec *r)
{
	struct nkey	k;
	MDB_val		v;
	int		rc;

	if (txn->ret != STORE_OK)
		return (txn->ret);
	if (nkey_make(&k, user, NAME_USER_MAX, device, NAME_DEVICE_MAX) != 0)
		return (STORE_NOTFOUND);
	if ((rc = db_get(txn, DB_DEVICES, k.b, k.len, &v)) != STORE_OK)
		return (rc);
	if (dev_dec(&v, r) != 0)
		return (txn_fail(txn, DB_DEVICES, "corrupt record"));
	return (STORE_OK);
}

/* Creates or replaces one of user's devices. */
int
store_device_put(struct txn *txn, const char *user, const char *device,
    const struct dev_rec *r)
{
	struct nkey	k;
	struct enc	e;

	if (txn->ret != STORE_OK)
		return (txn->ret);
	if (nkey_make(&k, user, NAME_USER_MAX, device, NAME_DEVICE_MAX) != 0)
		return (txn_fail(txn, DB_DEVICES, "name too long"));
	dev_enc(&e, r);
	return (db_put(txn, DB_DEVICES, k.b, k.len, e.b, e.len, 0));
}

/* Deletes a device record; its queue stays. */
int
store_device_del(struct txn *txn, const char *user, const char *device)
{
	struct nkey	k;

	if (txn->ret != STORE_OK)
		return (txn->ret);
	if (nkey_make(&k, user, NAME_USER_MAX, device, NAME_DEVICE_MAX) != 0)
		return (STORE_NOTFOUND);
	return (db_del(txn, DB_DEVICES, k.b, k.len));
}

/* Walk adapter for devices: splits the key at its NUL. */
static int
dev_walk_fn(struct walk *w, const MDB_val *k, const MDB_val *v)
{
	char		 user[NAME_USER_MAX + 1], dev[NAME_DEVICE_MAX + 1];
	const char	*p = k->mv_data, *nul;
	struct dev_rec	 r;
	size_t		 ulen;

	if ((nul = memchr(p, '\0', k->mv_size)) == NULL)
		return (walk_corrupt(w));
	ulen = nul - p;
	if (name_copy(user, NAME_USER_MAX, p, ulen) != 0 ||
	    name_copy(dev, NAME_DEVICE_MAX, nul + 1, k->mv_size - ulen - 1) !=
	    0 || dev_dec(v, &r) != 0)
		return (walk_corrupt(w));
	return (w->fn.dev(w->arg, user, dev, &r));
}

/* Walks one user's devices, or every device. */
int
store_device_walk(struct txn *txn, const char *user, int (*fn)(void *,
    const char *, const char *, const struct dev_rec *), void *arg)
{
	struct nkey	k;
	struct walk	w = { .fn.dev = fn, .arg = arg };

	if (txn->ret != STORE_OK)
		return (txn->ret);
	if (user == NULL)
		return (db_walk(txn, DB_DEVICES, "", 0, NULL, 0, 0,
		    dev_walk_fn, &w));
	if (nkey_make(&k, user, NAME_USER_MAX, "", 0) != 0)
		return (STORE_OK);
	return (db_walk(txn, DB_DEVICES, k.b, k.len, NULL, 0, 0, dev_walk_fn,
	    &w));
}

/* Encodes a token record. */
static void
token_enc(struct enc *e, const struct token_rec *r)
{
	enc_init(e);
	enc_u64(e, r->expires);
	enc_u64(e, r->qid);
	enc_str(e, r->user, NAME_USER_MAX);
	enc_str(e, r->device, NAME_DEVICE_MAX);
}

/* Decodes a token record; -1 if it is malformed. */
static int
token_dec(const MDB_val *v, struct token_rec *r)
{
	struct dec	d;

	dec_init(&d, v);
	r->expires = dec_u64(&d);
	r->qid = dec_u64(&d);
	dec_str(&d, r->user, NAME_USER_MAX);
	dec_str(&d, r->device, NAME_DEVICE_MAX);
	return (dec_end(&d));
}

/* Reads the token stored under hash. */
int
store_token_get(struct txn *txn, const uint8_t hash[32], struct token_rec *r)
{
	MDB_val	v;
	int	rc;

	if ((rc = db_get(txn, DB_TOKENS, hash, 32, &v)) != STORE_OK)
		return (rc);
	if (token_dec(&v, r) != 0)
		return (txn_fail(txn, DB_TOKENS, "corrupt record"));
	return (STORE_OK);
}

/* Stores a token under its hash. */
int
store_token_put(struct txn *txn, const uint8_t hash[32],
    const struct token_rec *r)
{
	struct enc	e;

	token_enc(&e, r);
	return (db_put(txn, DB_TOKENS, hash, 32, e.b, e.len, 0));
}

/* Deletes the token stored under hash. */
int
store_token_del(struct txn *txn, const uint8_t hash[32])
{
	return (db_del(txn, DB_TOKENS, hash, 32));
}

/* Walk adapter for tokens. */
static int
token_walk_fn(struct walk *w, const MDB_val *k, const MDB_val *v)
{
	uint8_t			hash[32];
	struct token_rec	r;

	if (k->mv_size != sizeof hash || token_dec(v, &r) != 0)
		return (walk_corrupt(w));
	memcpy(hash, k->mv_data, sizeof hash);
	return (w->fn.token(w->arg, hash, &r));
}

/* Walks every token. */
int
store_token_walk(struct txn *txn, int (*fn)(void *, const uint8_t *,
    const struct token_rec *), void *arg)
{
	struct walk	w = { .fn.token = fn, .arg = arg };

	return (db_walk(txn, DB_TOKENS, "", 0, NULL, 0, 0, token_walk_fn, &w));
}

/* An item's value: version, kind, ts, then the frame bytes. */
static int
item_dec(const MDB_val *v, struct item *it)
{
	const uint8_t	*p = v->mv_data;

	if (v->mv_size < ITEM_HDR || p[0] != STORE_RECORD_V1)
		return (-1);
	it->kind = p[1];
	memcpy(&it->ts, p + 2, sizeof it->ts);
	it->data = (const char *)p + ITEM_HDR;
	it->len = v->mv_size - ITEM_HDR;
	return (0);
}

/* Writes an item straight into the map with MDB_RESERVE. */
int
store_queue_put(struct txn *txn, uint64_t qid, const struct mid *mid,
    const struct item *it)
{
	uint8_t	 k[QKEY_BYTES], *p;
	MDB_val	 key, val;
	int	 rc;

	if (txn->ret != STORE_OK)
		return (txn->ret);
	qkey_make(k, qid, mid);
	key.mv_data = k;
	key.mv_size = sizeof k;
	val.mv_data = NULL;
	val.mv_size = ITEM_HDR + it->len;
	rc = mdb_put(txn->txn, txn->store->dbi[DB_QUEUES], &key, &val,
	    MDB_RESERVE);
	if (rc != MDB_SUCCESS)
		return (txn_result(txn, rc, DB_QUEUES, "put"));
	p = val.mv_data;
	p[0] = STORE_RECORD_V1;
	p[1] = it->kind;
	memcpy(p + 2, &it->ts, sizeof it->ts);
	if (it->len > 0)
		memcpy(p + ITEM_HDR, it->data, it->len);
	return (STORE_OK);
}

/* Reads one item; its data points into the map. */
int
store_queue_get(struct txn *txn, uint64_t qid, const struct mid *mid,
    struct item *it)
{
	uint8_t	k[QKEY_BYTES];
	MDB_val	v;
	int	rc;

	qkey_make(k, qid, mid);
	if ((rc = db_get(txn, DB_QUEUES, k, sizeof k, &v)) != STORE_OK)
		return (rc);
	if (item_dec(&v, it) != 0)
		return (txn_fail(txn, DB_QUEUES, "corrupt record"));
	return (STORE_OK);
}

/* Finds the item with a cursor, reports it in *old and deletes it. */
int
store_queue_del(struct txn *txn, uint64_t qid, const struct mid *mid,
    struct item *old)
{
	uint8_t		 k[QKEY_BYTES];
	MDB_cursor	*c;
	MDB_val		 key, v;
	struct item	 it;
	int		 rc;

	if (txn->ret != STORE_OK)
		return (txn->ret);
	qkey_make(k, qid, mid);
	key.mv_data = k;
	key.mv_size = sizeof k;
	rc = mdb_cursor_open(txn->txn, txn->store->dbi[DB_QUEUES], &c);
	if (rc != MDB_SUCCESS)
		return (txn_result(txn, rc, DB_QUEUES, "cursor"));
	if ((rc = mdb_cursor_get(c, &key, &v, MDB_SET_KEY)) != MDB_SUCCESS) {
		mdb_cursor_close(c);
		return (txn_result(txn, rc, DB_QUEUES, "del"));
	}
	if (item_dec(&v, &it) != 0) {
		mdb_cursor_close(c);
		return (txn_fail(txn, DB_QUEUES, "corrupt record"));
	}
	rc = mdb_cursor_del(c, 0);
	mdb_cursor_close(c);
	if (rc != MDB_SUCCESS)
		return (txn_result(txn, rc, DB_QUEUES, "del"));
	if (old != NULL) {
		old->kind = it.kind;
		old->ts = it.ts;
		old->data = NULL;
		old->len = it.len;
	}
	return (STORE_OK);
}

/* Walk adapter for queue items. */
static int
item_walk_fn(struct walk *w, const MDB_val *k, const MDB_val *v)
{
	const uint8_t	*p = k->mv_data;
	struct mid	 mid;
	struct item	 it;

	if (k->mv_size != QKEY_BYTES || item_dec(v, &it) != 0)
		return (walk_corrupt(w));
	mid_decode(p + 8, &mid);
	return (w->fn.item(w->arg, &mid, &it));
}

/* Walks queue qid after a mid (or from its head), in mid order. */
int
store_queue_walk(struct txn *txn, uint64_t qid, const struct mid *after,
    int (*fn)(void *, const struct mid *, const struct item *), void *arg)
{
	uint8_t		prefix[8], seek[QKEY_BYTES];
	struct walk	w = { .fn.item = fn, .arg = arg };

	be64enc(prefix, qid);
	if (after == NULL)
		return (db_walk(txn, DB_QUEUES, prefix, sizeof prefix, NULL, 0,
		    0, item_walk_fn, &w));
	qkey_make(seek, qid, after);
	return (db_walk(txn, DB_QUEUES, prefix, sizeof prefix, seek,
	    sizeof seek, 1, item_walk_fn, &w));
}

/* Walk adapter that deletes every entry. */
static int
drop_fn(struct walk *w, const MDB_val *k, const MDB_val *v)
{
	(void)w;
	(void)k;
	(void)v;
	return (STORE_WALK_DELETE);
}

/* Deletes every item of queue qid. */
int
store_queue_drop(struct txn *txn, uint64_t qid)
{
	return (db_walk_num(txn, DB_QUEUES, qid, NULL, drop_fn, NULL));
}

/* Encodes a message record. */
static void
msg_enc(struct enc *e, const struct msg_rec *r)
{
	enc_init(e);
	enc_u64(e, r->ts);
	enc_u8(e, r->flags);
	enc_str(e, r->from, NAME_USER_MAX);
	enc_str(e, r->from_device, NAME_DEVICE_MAX);
	enc_str(e, r->to, NAME_USER_MAX);
	enc_str(e, r->id, CLIENT_ID_MAX);
}

/* Decodes a message record; -1 if it is malformed. */
static int
msg_dec(const MDB_val *v, struct msg_rec *r)
{
	struct dec	d;

	dec_init(&d, v);
	r->ts = dec_u64(&d);
	r->flags = dec_u8(&d);
	dec_str(&d, r->from, NAME_USER_MAX);
	dec_str(&d, r->from_device, NAME_DEVICE_MAX);
	dec_str(&d, r->to, NAME_USER_MAX);
	dec_str(&d, r->id, CLIENT_ID_MAX);
	return (dec_end(&d));
}

/* Reads the record of message mid. */
int
store_msg_get(struct txn *txn, const struct mid *mid, struct msg_rec *r)
{
	uint8_t	k[MID_BYTES];
	MDB_val	v;
	int	rc;

	mid_encode(mid, k);
	if ((rc = db_get(txn, DB_MSGS, k, sizeof k, &v)) != STORE_OK)
		return (rc);
	if (msg_dec(&v, r) != 0)
		return (txn_fail(txn, DB_MSGS, "corrupt record"));
	return (STORE_OK);
}

/* Creates or replaces the record of message mid. */
int
store_msg_put(struct txn *txn, const struct mid *mid, const struct msg_rec *r)
{
	uint8_t		k[MID_BYTES];
	struct enc	e;

	mid_encode(mid, k);
	msg_enc(&e, r);
	return (db_put(txn, DB_MSGS, k, sizeof k, e.b, e.len, 0));
}

/* Deletes the record of message mid. */
int
store_msg_del(struct txn *txn, const struct mid *mid)
{
	uint8_t	k[MID_BYTES];

	mid_encode(mid, k);
	return (db_del(txn, DB_MSGS, k, sizeof k));
}

/* Walk adapter for message records. */
static int
msg_walk_fn(struct walk *w, const MDB_val *k, const MDB_val *v)
{
	struct mid	mid;
	struct msg_rec	r;

	if (k->mv_size != MID_BYTES || msg_dec(v, &r) != 0)
		return (walk_corrupt(w));
	mid_decode(k->mv_data, &mid);
	return (w->fn.msg(w->arg, &mid, &r));
}

/* Walks message records oldest first. */
int
store_msg_walk(struct txn *txn, int (*fn)(void *, const struct mid *,
    const struct msg_rec *), void *arg)
{
	struct walk	w = { .fn.msg = fn, .arg = arg };

	return (db_walk(txn, DB_MSGS, "", 0, NULL, 0, 0, msg_walk_fn, &w));
}

/* Reads what user's send with client id id got. */
int
store_dedup_get(struct txn *txn, const char *user, const char *id,
    struct dedup_rec *r)
{
	struct nkey	k;
	struct dec	d;
	MDB_val		v;
	int		rc;

	if (txn->ret != STORE_OK)
		return (txn->ret);
	if (nkey_make(&k, user, NAME_USER_MAX, id, CLIENT_ID_MAX) != 0)
		return (STORE_NOTFOUND);
	if ((rc = db_get(txn, DB_DEDUP, k.b, k.len, &v)) != STORE_OK)
		return (rc);
	dec_init(&d, &v);
	r->mid.ms = dec_u64(&d);
	r->mid.seq = dec_u64(&d);
	r->ts = dec_u64(&d);
	dec_str(&d, r->to, NAME_USER_MAX);
	if (dec_end(&d) != 0)
		return (txn_fail(txn, DB_DEDUP, "corrupt record"));
	return (STORE_OK);
}

/* Records what user's send with client id id got. */
int
store_dedup_put(struct txn *txn, const char *user, const char *id,
    const struct dedup_rec *r)
{
	struct nkey	k;
	struct enc	e;

	if (txn->ret != STORE_OK)
		return (txn->ret);
	if (nkey_make(&k, user, NAME_USER_MAX, id, CLIENT_ID_MAX) != 0)
		return (txn_fail(txn, DB_DEDUP, "name too long"));
	enc_init(&e);
	enc_u64(&e, r->mid.ms);
	enc_u64(&e, r->mid.seq);
	enc_u64(&e, r->ts);
	enc_str(&e, r->to, NAME_USER_MAX);
	return (db_put(txn, DB_DEDUP, k.b, k.len, e.b, e.len, 0));
}

/* Deletes a dedup record. */
int
store_dedup_del(struct txn *txn, const char *user, const char *id)
{
	struct nkey	k;

	if (txn->ret != STORE_OK)
		return (txn->ret);
	if (nkey_make(&k, user, NAME_USER_MAX, id, CLIENT_ID_MAX) != 0)
		return (STORE_NOTFOUND);
	return (db_del(txn, DB_DEDUP, k.b, k.len));
}

/* STORE_OK if blocker has blocked blocked, else STORE_NOTFOUND. */
int
store_block_get(struct txn *txn, const char *blocker, const char *blocked)
{
	struct nkey	k;
	MDB_val		v;
	int		rc;

	if (txn->ret != STORE_OK)
		return (txn->ret);
	if (nkey_make(&k, blocker, NAME_USER_MAX, blocked, NAME_USER_MAX) != 0)
		return (STORE_NOTFOUND);
	if ((rc = db_get(txn, DB_BLOCKS, k.b, k.len, &v)) != STORE_OK)
		return (rc);
	if (v.mv_size != 1 || *(const uint8_t *)v.mv_data != STORE_RECORD_V1)
		return (txn_fail(txn, DB_BLOCKS, "corrupt record"));
	return (STORE_OK);
}

/* Records that blocker has blocked blocked. */
int
store_block_put(struct txn *txn, const char *blocker, const char *blocked)
{
	struct nkey	k;
	uint8_t		v = STORE_RECORD_V1;

	if (txn->ret != STORE_OK)
		return (txn->ret);
	if (nkey_make(&k, blocker, NAME_USER_MAX, blocked, NAME_USER_MAX) != 0)
		return (txn_fail(txn, DB_BLOCKS, "name too long"));
	return (db_put(txn, DB_BLOCKS, k.b, k.len, &v, 1, 0));
}

/* Lifts a block. */
int
store_block_del(struct txn *txn, const char *blocker, const char *blocked)
{
	struct nkey	k;

	if (txn->ret != STORE_OK)
		return (txn->ret);
	if (nkey_make(&k, blocker, NAME_USER_MAX, blocked, NAME_USER_MAX) != 0)
		return (STORE_NOTFOUND);
	return (db_del(txn, DB_BLOCKS, k.b, k.len));
}

/* Walk adapter for blocks: the name after the NUL. */
static int
block_walk_fn(struct walk *w, const MDB_val *k, const MDB_val *v)
{
	char		 name[NAME_USER_MAX + 1];
	const char	*p = k->mv_data, *nul;

	if ((nul = memchr(p, '\0', k->mv_size)) == NULL ||
	    name_copy(name, NAME_USER_MAX, nul + 1,
	    k->mv_size - (nul - p) - 1) != 0 || v->mv_size != 1)
		return (walk_corrupt(w));
	return (w->fn.block(w->arg, name));
}

/* The users that blocker has blocked, in name order. */
int
store_block_walk(struct txn *txn, const char *blocker, int (*fn)(void *,
    const char *), void *arg)
{
	struct nkey	k;
	struct walk	w = { .fn.block = fn, .arg = arg };

	if (txn->ret != STORE_OK)
		return (txn->ret);
	if (nkey_make(&k, blocker, NAME_USER_MAX, "", 0) != 0)
		return (STORE_OK);
	return (db_walk(txn, DB_BLOCKS, k.b, k.len, NULL, 0, 0, block_walk_fn,
	    &w));
}

/*
 * The RESP shim's keyspace (store.h).  Keys of the rkeys database are the
 * Redis key behind one 'k' byte, so that the empty key is a valid LMDB key;
 * every other database is keyed by a 64-bit number (a key's rid or a
 * group's gid) big-endian, then a member, name or 16-byte id.
 */
#define RK_HDR		(1 + 1 + 8 + 8)	/* version, type, rid, expires */
#define RK_STREAM_U64S	15		/* the stream fields of rkey_rec */

/* What an rid-keyed walk calls, and with what. */
struct rwalk {
	union {
		int	(*key)(void *, uint64_t, const void *, size_t);
		int	(*member)(void *, const void *, size_t);
		int	(*entry)(void *, const struct mid *,
			    const struct rentry *);
		int	(*group)(void *, const void *, size_t,
			    const struct rgroup_rec *);
		int	(*pel)(void *, const struct mid *,
			    const struct rpel_rec *);
		int	(*cons)(void *, const void *, size_t,
			    const struct rcons_rec *);
	} fn;
	void	*arg;
	int	 tombstones;	/* entry walks: show them too */
};

/* A key of a number and up to RNAME_MAX bytes or a 16-byte id. */
struct ridkey {
	uint8_t	b[8 + RNAME_MAX + 1];
	size_t	len;
};

/* Builds rid + bytes; -1 if the bytes are too long for a key. */
static int
rkey_make(struct ridkey *k, uint64_t n, const void *p, size_t len)
{
	if (len > RNAME_MAX)
		return (-1);
	be64enc(k->b, n);
	if (len != 0)
		memcpy(k->b + 8, p, len);
	k->len = 8 + len;
	return (0);
}

/* Builds rid + a 16-byte id. */
static void
rkey_id(struct ridkey *k, uint64_t n, const struct mid *id)
{
	be64enc(k->b, n);
	mid_encode(id, k->b + 8);
	k->len = 8 + MID_BYTES;
}

/* Reads the big-endian number that starts a key. */
static uint64_t
rid_dec(const uint8_t *p)
{
	uint64_t	v = 0;
	int		i;

	for (i = 0; i < 8; i++)
		v = (v << 8) | p[i];
	return (v);
}

/* Builds the rkeys key of a Redis key; -1 if it is too long. */
static int
kkey_make(uint8_t *k, const void *key, size_t klen)
{
	if (klen > RKEY_MAX)
		return (-1);
	k[0] = 'k';
	if (klen != 0)
		memcpy(k + 1, key, klen);
	return (0);
}

/*
 * Reads the record of n and a name (a member, group or consumer); a name
 * too long for a key has none.
 */
static int
rrec_get(struct txn *txn, int db, uint64_t n, const void *p, size_t len,
    MDB_val *v)
{
	struct ridkey	k;

	if (txn->ret != STORE_OK)
		return (txn->ret);
	if (rkey_make(&k, n, p, len) != 0)
		return (STORE_NOTFOUND);
	return (db_get(txn, db, k.b, k.len, v));
}

/* Writes the record of n and a name; fails with what if it is too long. */
static int
rrec_put(struct txn *txn, int db, uint64_t n, const void *p, size_t len,
    const struct enc *e, unsigned int flags, const char *what)
{
	struct ridkey	k;

	if (txn->ret != STORE_OK)
		return (txn->ret);
	if (rkey_make(&k, n, p, len) != 0)
		return (txn_fail(txn, db, what));
	return (db_put(txn, db, k.b, k.len, e->b, e->len, flags));
}

/* Deletes the record of n and a name; STORE_NOTFOUND if there is none. */
static int
rrec_del(struct txn *txn, int db, uint64_t n, const void *p, size_t len)
{
	struct ridkey	k;

	if (txn->ret != STORE_OK)
		return (txn->ret);
	if (rkey_make(&k, n, p, len) != 0)
		return (STORE_NOTFOUND);
	return (db_del(txn, db, k.b, k.len));
}

/* Hands out the next rid or gid; the first is 1 and none is reused. */
int
store_rid_next(struct txn *txn, uint64_t *rid)
{
	return (meta_next(txn, "rid", 0, rid));
}

/* Decodes a key record; a string's value points into the map. */
static int
rkey_dec(const MDB_val *v, struct rkey_rec *r)
{
	const uint8_t	*p = v->mv_data;
	uint64_t	 u[RK_STREAM_U64S];

	memset(r, 0, sizeof *r);
	if (v->mv_size < RK_HDR || p[0] != STORE_RECORD_V1)
		return (-1);
	r->type = p[1];
	memcpy(&r->rid, p + 2, 8);
	memcpy(&r->expires, p + 10, 8);
	p += RK_HDR;
	switch (r->type) {
	case RTYPE_STRING:
		r->val = p;
		r->vlen = v->mv_size - RK_HDR;
		return (0);
	case RTYPE_SET:
		if (v->mv_size != RK_HDR + 8)
			return (-1);
		memcpy(&r->card, p, 8);
		return (0);
	case RTYPE_STREAM:
		if (v->mv_size != RK_HDR + sizeof u)
			return (-1);
		memcpy(u, p, sizeof u);
		r->length = u[0];
		r->entries_added = u[1];
		r->last_id.ms = u[2];
		r->last_id.seq = u[3];
		r->first_id.ms = u[4];
		r->first_id.seq = u[5];
		r->max_deleted.ms = u[6];
		r->max_deleted.seq = u[7];
		r->tail_node = u[8];
		r->tail_count = u[9];
		r->tail_bytes = u[10];
		r->ngroups = u[11];
		r->tail_first.ms = u[12];
		r->tail_first.seq = u[13];
		r->tail_fields = u[14];
		return (0);
	}
	return (-1);
}

/* Reads the record of a key; STORE_NOTFOUND if there is none. */
int
store_rkey_get(struct txn *txn, const void *key, size_t klen,
    struct rkey_rec *r)
{
	uint8_t	k[1 + RKEY_MAX];
	MDB_val	v;
	int	rc;

	if (txn->ret != STORE_OK)
		return (txn->ret);
	if (kkey_make(k, key, klen) != 0)
		return (STORE_NOTFOUND);
	if ((rc = db_get(txn, DB_RKEYS, k, klen + 1, &v)) != STORE_OK)
		return (rc);
	if (rkey_dec(&v, r) != 0)
		return (txn_fail(txn, DB_RKEYS, "corrupt record"));
	return (STORE_OK);
}

/*
 * Creates or replaces the record of a key; isnew also enters its rid in
 * the SCAN index.  The record is written in place with MDB_RESERVE, since
 * a string may be as large as a bulk string.
 */
int
store_rkey_put(struct txn *txn, const void *key, size_t klen,
    const struct rkey_rec *r, int isnew)
{
	uint8_t		 k[1 + RKEY_MAX], ik[8], *p;
	uint64_t	 u[RK_STREAM_U64S];
	MDB_val		 kv, val;
	size_t		 len;
	int		 rc;

	if (txn->ret != STORE_OK)
		return (txn->ret);
	if (kkey_make(k, key, klen) != 0)
		return (txn_fail(txn, DB_RKEYS, "key too long"));
	len = RK_HDR;
	if (r->type == RTYPE_STRING)
		len += r->vlen;
	else if (r->type == RTYPE_SET)
		len += 8;
	else
		len += sizeof u;
	kv.mv_data = k;
	kv.mv_size = klen + 1;
	val.mv_data = NULL;
	val.mv_size = len;
	rc = mdb_put(txn->txn, txn->store->dbi[DB_RKEYS], &kv, &val,
	    MDB_RESERVE);
	if (rc != MDB_SUCCESS)
		return (txn_result(txn, rc, DB_RKEYS, "put"));
	p = val.mv_data;
	p[0] = STORE_RECORD_V1;
	p[1] = r->type;
	memcpy(p + 2, &r->rid, 8);
	memcpy(p + 10, &r->expires, 8);
	p += RK_HDR;
	if (r->type == RTYPE_STRING) {
		if (r->vlen != 0)
			memcpy(p, r->val, r->vlen);
	} else if (r->type == RTYPE_SET)
		memcpy(p, &r->card, 8);
	else {
		u[0] = r->length;
		u[1] = r->entries_added;
		u[2] = r->last_id.ms;
		u[3] = r->last_id.seq;
		u[4] = r->first_id.ms;
		u[5] = r->first_id.seq;
		u[6] = r->max_deleted.ms;
		u[7] = r->max_deleted.seq;
		u[8] = r->tail_node;
		u[9] = r->tail_count;
		u[10] = r->tail_bytes;
		u[11] = r->ngroups;
		u[12] = r->tail_first.ms;
		u[13] = r->tail_first.seq;
		u[14] = r->tail_fields;
		memcpy(p, u, sizeof u);
	}
	if (!isnew)
		return (STORE_OK);
	be64enc(ik, r->rid);
	return (db_put(txn, DB_RIDX, ik, sizeof ik, k + 1, klen, 0));
}

/* Deletes a key's record and its SCAN index entry, not its members. */
int
store_rkey_del(struct txn *txn, const void *key, size_t klen, uint64_t rid)
{
	uint8_t	k[1 + RKEY_MAX], ik[8];
	int	rc;

	if (txn->ret != STORE_OK)
		return (txn->ret);
	if (kkey_make(k, key, klen) != 0)
		return (STORE_NOTFOUND);
	if ((rc = db_del(txn, DB_RKEYS, k, klen + 1)) != STORE_OK)
		return (rc);
	be64enc(ik, rid);
	rc = db_del(txn, DB_RIDX, ik, sizeof ik);
	return (rc == STORE_NOTFOUND ? STORE_OK : rc);
}

/* Walk adapter for the SCAN index: the rid, then the key. */
static int
ridx_walk_fn(struct walk *w, const MDB_val *k, const MDB_val *v)
{
	struct rwalk	*rw = w->arg;

	if (k->mv_size != 8 || v->mv_size > RKEY_MAX)
		return (walk_corrupt(w));
	return (rw->fn.key(rw->arg, rid_dec(k->mv_data), v->mv_data,
	    v->mv_size));
}

/* Walks the keys in rid order from rid from on; the key is in the map. */
int
store_rkey_walk(struct txn *txn, uint64_t from, int (*fn)(void *, uint64_t,
    const void *, size_t), void *arg)
{
	struct rwalk	rw = { .fn.key = fn, .arg = arg };
	struct walk	w = { .arg = &rw };
	uint8_t		seek[8];

	be64enc(seek, from);
	return (db_walk(txn, DB_RIDX, "", 0, seek, sizeof seek, 0,
	    ridx_walk_fn, &w));
}

/*
 * The key the SCAN index gives rid, pointing into the map.  The bytes are
 * not checked: whether they name a key whose record has that rid is the
 * caller's question.
 */
int
store_ridx_get(struct txn *txn, uint64_t rid, const void **key,
    size_t *klen)
{
	uint8_t	ik[8];
	MDB_val	v;
	int	rc;

	be64enc(ik, rid);
	if ((rc = db_get(txn, DB_RIDX, ik, sizeof ik, &v)) != STORE_OK)
		return (rc);
	*key = v.mv_data;
	*klen = v.mv_size;
	return (STORE_OK);
}

/* Enters a key in the SCAN index under rid, as a new key's put does. */
int
store_ridx_put(struct txn *txn, uint64_t rid, const void *key, size_t klen)
{
	uint8_t	ik[8];

	if (txn->ret != STORE_OK)
		return (txn->ret);
	if (klen > RKEY_MAX)
		return (txn_fail(txn, DB_RIDX, "key too long"));
	be64enc(ik, rid);
	return (db_put(txn, DB_RIDX, ik, sizeof ik, key, klen, 0));
}

/* Whether a set holds a member: STORE_OK or STORE_NOTFOUND. */
int
store_rset_get(struct txn *txn, uint64_t rid, const void *m, size_t len)
{
	MDB_val	v;

	return (rrec_get(txn, DB_RSETS, rid, m, len, &v));
}

/*
 * Adds a member, whose value is an empty record (its version byte);
 * STORE_EXISTS if it was there already.
 */
int
store_rset_put(struct txn *txn, uint64_t rid, const void *m, size_t len)
{
	struct enc	e;

	enc_init(&e);
	return (rrec_put(txn, DB_RSETS, rid, m, len, &e, MDB_NOOVERWRITE,
	    "member too long"));
}

/* Removes a member; STORE_NOTFOUND if it was not there. */
int
store_rset_del(struct txn *txn, uint64_t rid, const void *m, size_t len)
{
	return (rrec_del(txn, DB_RSETS, rid, m, len));
}

/* Walk adapter for set members: the key after the rid. */
static int
rset_walk_fn(struct walk *w, const MDB_val *k, const MDB_val *v)
{
	struct rwalk	*rw = w->arg;

	if (k->mv_size < 8 || v->mv_size != 1)
		return (walk_corrupt(w));
	return (rw->fn.member(rw->arg, (const uint8_t *)k->mv_data + 8,
	    k->mv_size - 8));
}

/* Walks a set's members in byte order. */
int
store_rset_walk(struct txn *txn, uint64_t rid, int (*fn)(void *,
    const void *, size_t), void *arg)
{
	struct rwalk	rw = { .fn.member = fn, .arg = arg };

	return (db_walk_num(txn, DB_RSETS, rid, NULL, rset_walk_fn, &rw));
}

/* Deletes every member of a set. */
int
store_rset_drop(struct txn *txn, uint64_t rid)
{
	return (db_walk_num(txn, DB_RSETS, rid, NULL, drop_fn, NULL));
}

/*
 * A stream entry's value: version, flags (1: tombstone), node, count, then
 * count times a 32-bit length and that many bytes.  Checks that it all
 * fits.
 */
#define RENTRY_HDR	(1 + 1 + 8 + 4)
static int
rentry_dec(const MDB_val *v, struct rentry *e)
{
	const uint8_t	*p = v->mv_data;
	size_t		 off, len;
	uint32_t	 i, n;

	if (v->mv_size < RENTRY_HDR || p[0] != STORE_RECORD_V1 || p[1] > 1)
		return (-1);
	e->deleted = p[1];
	memcpy(&e->node, p + 2, 8);
	memcpy(&e->n, p + 10, 4);
	e->p = p + RENTRY_HDR;
	e->len = v->mv_size - RENTRY_HDR;
	for (i = 0, off = 0; i < e->n; i++) {
		if (e->len - off < 4)
			return (-1);
		memcpy(&n, e->p + off, 4);
		len = n;
		off += 4;
		if (e->len - off < len)
			return (-1);
		off += len;
	}
	return (off == e->len ? 0 : -1);
}

/*
 * The field or value at offset off of a decoded entry; returns the offset
 * of the next one.  Entries are checked when read, so this cannot overrun.
 */
size_t
store_rentry_item(const struct rentry *e, size_t off, const uint8_t **p,
    size_t *len)
{
	uint32_t	n;

	memcpy(&n, e->p + off, 4);
	*p = e->p + off + 4;
	*len = n;
	return (off + 4 + n);
}

/* Writes a stream entry of n fields and values under id. */
int
store_rentry_put(struct txn *txn, uint64_t rid, const struct mid *id,
    uint64_t node, const struct rbuf *fv, uint32_t n)
{
	struct ridkey	 k;
	MDB_val		 kv, val;
	uint8_t		*p;
	uint32_t	 i, len;
	size_t		 size;
	int		 rc;

	if (txn->ret != STORE_OK)
		return (txn->ret);
	size = RENTRY_HDR;
	for (i = 0; i < n; i++) {
		if (fv[i].len > UINT32_MAX)
			return (txn_fail(txn, DB_RENTRIES, "value too long"));
		size += 4 + fv[i].len;
	}
	rkey_id(&k, rid, id);
	kv.mv_data = k.b;
	kv.mv_size = k.len;
	val.mv_data = NULL;
	val.mv_size = size;
	rc = mdb_put(txn->txn, txn->store->dbi[DB_RENTRIES], &kv, &val,
	    MDB_RESERVE);
	if (rc != MDB_SUCCESS)
		return (txn_result(txn, rc, DB_RENTRIES, "put"));
	p = val.mv_data;
	*p++ = STORE_RECORD_V1;
	*p++ = 0;
	memcpy(p, &node, 8);
	p += 8;
	memcpy(p, &n, 4);
	p += 4;
	for (i = 0; i < n; i++) {
		len = (uint32_t)fv[i].len;
		memcpy(p, &len, 4);
		p += 4;
		if (len != 0)
			memcpy(p, fv[i].p, len);
		p += len;
	}
	return (STORE_OK);
}

/* Reads one live stream entry; its fields point into the map. */
int
store_rentry_get(struct txn *txn, uint64_t rid, const struct mid *id,
    struct rentry *e)
{
	struct ridkey	k;
	MDB_val		v;
	int		rc;

	rkey_id(&k, rid, id);
	if ((rc = db_get(txn, DB_RENTRIES, k.b, k.len, &v)) != STORE_OK)
		return (rc);
	if (rentry_dec(&v, e) != 0)
		return (txn_fail(txn, DB_RENTRIES, "corrupt record"));
	return (e->deleted ? STORE_NOTFOUND : STORE_OK);
}

/* Turns a live stream entry into a tombstone (its data goes). */
int
store_rentry_del(struct txn *txn, uint64_t rid, const struct mid *id)
{
	struct ridkey	 k;
	struct rentry	 e;
	MDB_val		 v;
	uint8_t		 b[RENTRY_HDR];
	int		 rc;

	rkey_id(&k, rid, id);
	if ((rc = db_get(txn, DB_RENTRIES, k.b, k.len, &v)) != STORE_OK)
		return (rc);
	if (rentry_dec(&v, &e) != 0)
		return (txn_fail(txn, DB_RENTRIES, "corrupt record"));
	if (e.deleted)
		return (STORE_NOTFOUND);
	b[0] = STORE_RECORD_V1;
	b[1] = 1;
	memcpy(b + 2, &e.node, 8);
	memset(b + 10, 0, 4);
	return (db_put(txn, DB_RENTRIES, k.b, k.len, b, sizeof b, 0));
}

/* Removes a stream entry or tombstone for good. */
int
store_rentry_purge(struct txn *txn, uint64_t rid, const struct mid *id)
{
	struct ridkey	k;

	rkey_id(&k, rid, id);
	return (db_del(txn, DB_RENTRIES, k.b, k.len));
}

/* Walk adapter for stream entries: the id after the rid. */
static int
rentry_walk_fn(struct walk *w, const MDB_val *k, const MDB_val *v)
{
	struct rwalk	*rw = w->arg;
	struct rentry	 e;
	struct mid	 id;

	if (k->mv_size != 8 + MID_BYTES || rentry_dec(v, &e) != 0)
		return (walk_corrupt(w));
	if (e.deleted && !rw->tombstones)
		return (STORE_WALK_NEXT);
	mid_decode((const uint8_t *)k->mv_data + 8, &id);
	return (rw->fn.entry(rw->arg, &id, &e));
}

/*
 * Walks a stream's entries from id start (inclusive) up, or with rev down,
 * tombstones too if asked; only a forward walk may delete.
 */
int
store_rentry_walk(struct txn *txn, uint64_t rid, const struct mid *start,
    int rev, int tombstones, int (*fn)(void *, const struct mid *,
    const struct rentry *), void *arg)
{
	struct rwalk	rw = { .fn.entry = fn, .arg = arg,
			    .tombstones = tombstones };
	struct walk	w = { .arg = &rw, .rev = 1 };
	struct ridkey	k;

	if (!rev)
		return (db_walk_num(txn, DB_RENTRIES, rid, start,
		    rentry_walk_fn, &rw));
	rkey_id(&k, rid, start);
	return (db_walk(txn, DB_RENTRIES, k.b, 8, k.b, k.len, 0,
	    rentry_walk_fn, &w));
}

/* Deletes every entry of a stream. */
int
store_rentry_drop(struct txn *txn, uint64_t rid)
{
	return (db_walk_num(txn, DB_RENTRIES, rid, NULL, drop_fn, NULL));
}

/* Encodes a consumer group record. */
static void
rgroup_enc(struct enc *e, const struct rgroup_rec *r)
{
	enc_init(e);
	enc_u64(e, r->gid);
	enc_u64(e, r->last_id.ms);
	enc_u64(e, r->last_id.seq);
	enc_u64(e, (uint64_t)r->entries_read);
	enc_u64(e, r->pending);
	enc_u64(e, r->consumers);
}

/* Decodes a consumer group record; -1 if it is malformed. */
static int
rgroup_dec(const MDB_val *v, struct rgroup_rec *r)
{
	struct dec	d;

	dec_init(&d, v);
	r->gid = dec_u64(&d);
	r->last_id.ms = dec_u64(&d);
	r->last_id.seq = dec_u64(&d);
	r->entries_read = (int64_t)dec_u64(&d);
	r->pending = dec_u64(&d);
	r->consumers = dec_u64(&d);
	return (dec_end(&d));
}

/* Reads a stream's consumer group by name. */
int
store_rgroup_get(struct txn *txn, uint64_t rid, const void *name,
    size_t len, struct rgroup_rec *r)
{
	MDB_val	v;
	int	rc;

	rc = rrec_get(txn, DB_RGROUPS, rid, name, len, &v);
	if (rc == STORE_OK && rgroup_dec(&v, r) != 0)
		rc = txn_fail(txn, DB_RGROUPS, "corrupt record");
	return (rc);
}

/* Creates or replaces a consumer group. */
int
store_rgroup_put(struct txn *txn, uint64_t rid, const void *name,
    size_t len, const struct rgroup_rec *r)
{
	struct enc	e;

	rgroup_enc(&e, r);
	return (rrec_put(txn, DB_RGROUPS, rid, name, len, &e, 0,
	    "name too long"));
}

/* Deletes a consumer group record, not its PEL or consumers. */
int
store_rgroup_del(struct txn *txn, uint64_t rid, const void *name,
    size_t len)
{
	return (rrec_del(txn, DB_RGROUPS, rid, name, len));
}

/* Walk adapter for groups: the name after the rid. */
static int
rgroup_walk_fn(struct walk *w, const MDB_val *k, const MDB_val *v)
{
	struct rwalk		*rw = w->arg;
	struct rgroup_rec	 r;

	if (k->mv_size < 8 || rgroup_dec(v, &r) != 0)
		return (walk_corrupt(w));
	return (rw->fn.group(rw->arg, (const uint8_t *)k->mv_data + 8,
	    k->mv_size - 8, &r));
}

/* Walks a stream's consumer groups in name order. */
int
store_rgroup_walk(struct txn *txn, uint64_t rid, int (*fn)(void *,
    const void *, size_t, const struct rgroup_rec *), void *arg)
{
	struct rwalk	rw = { .fn.group = fn, .arg = arg };

	return (db_walk_num(txn, DB_RGROUPS, rid, NULL, rgroup_walk_fn, &rw));
}

/* Deletes every consumer group record of a stream. */
int
store_rgroup_drop(struct txn *txn, uint64_t rid)
{
	return (db_walk_num(txn, DB_RGROUPS, rid, NULL, drop_fn, NULL));
}

/* A PEL value: version, delivery time and count, then the consumer. */
static int
rpel_dec(const MDB_val *v, struct rpel_rec *r)
{
	const uint8_t	*p = v->mv_data;

	if (v->mv_size < 1 + 16 || p[0] != STORE_RECORD_V1 ||
	    v->mv_size - 17 > RNAME_MAX)
		return (-1);
	memcpy(&r->delivery_time, p + 1, 8);
	memcpy(&r->delivery_count, p + 9, 8);
	r->consumer = p + 17;
	r->clen = v->mv_size - 17;
	return (0);
}

/* Reads a group's pending entry; the consumer name is in the map. */
int
store_rpel_get(struct txn *txn, uint64_t gid, const struct mid *id,
    struct rpel_rec *r)
{
	struct ridkey	k;
	MDB_val		v;
	int		rc;

	rkey_id(&k, gid, id);
	if ((rc = db_get(txn, DB_RPEL, k.b, k.len, &v)) != STORE_OK)
		return (rc);
	if (rpel_dec(&v, r) != 0)
		return (txn_fail(txn, DB_RPEL, "corrupt record"));
	return (STORE_OK);
}

/* Creates or replaces a group's pending entry. */
int
store_rpel_put(struct txn *txn, uint64_t gid, const struct mid *id,
    const struct rpel_rec *r)
{
	struct ridkey	k;
	uint8_t		b[17 + RNAME_MAX];

	if (txn->ret != STORE_OK)
		return (txn->ret);
	if (r->clen > RNAME_MAX)
		return (txn_fail(txn, DB_RPEL, "name too long"));
	rkey_id(&k, gid, id);
	b[0] = STORE_RECORD_V1;
	memcpy(b + 1, &r->delivery_time, 8);
	memcpy(b + 9, &r->delivery_count, 8);
	if (r->clen != 0)
		memcpy(b + 17, r->consumer, r->clen);
	return (db_put(txn, DB_RPEL, k.b, k.len, b, 17 + r->clen, 0));
}

/* Deletes a group's pending entry; STORE_NOTFOUND if there is none. */
int
store_rpel_del(struct txn *txn, uint64_t gid, const struct mid *id)
{
	struct ridkey	k;

	rkey_id(&k, gid, id);
	return (db_del(txn, DB_RPEL, k.b, k.len));
}

/* Walk adapter for pending entries: the id after the gid. */
static int
rpel_walk_fn(struct walk *w, const MDB_val *k, const MDB_val *v)
{
	struct rwalk	*rw = w->arg;
	struct rpel_rec	 r;
	struct mid	 id;

	if (k->mv_size != 8 + MID_BYTES || rpel_dec(v, &r) != 0)
		return (walk_corrupt(w));
	mid_decode((const uint8_t *)k->mv_data + 8, &id);
	return (rw->fn.pel(rw->arg, &id, &r));
}

/* Walks a group's pending entries from id start (inclusive) up. */
int
store_rpel_walk(struct txn *txn, uint64_t gid, const struct mid *start,
    int (*fn)(void *, const struct mid *, const struct rpel_rec *),
    void *arg)
{
	struct rwalk	rw = { .fn.pel = fn, .arg = arg };

	return (db_walk_num(txn, DB_RPEL, gid, start, rpel_walk_fn, &rw));
}

/* Deletes every pending entry of a group. */
int
store_rpel_drop(struct txn *txn, uint64_t gid)
{
	return (db_walk_num(txn, DB_RPEL, gid, NULL, drop_fn, NULL));
}

/* Encodes a consumer record. */
static void
rcons_enc(struct enc *e, const struct rcons_rec *r)
{
	enc_init(e);
	enc_u64(e, r->seen_time);
	enc_u64(e, r->pending);
}

/* Decodes a consumer record; -1 if it is malformed. */
static int
rcons_dec(const MDB_val *v, struct rcons_rec *r)
{
	struct dec	d;

	dec_init(&d, v);
	r->seen_time = dec_u64(&d);
	r->pending = dec_u64(&d);
	return (dec_end(&d));
}

/* Reads a group's consumer by name. */
int
store_rcons_get(struct txn *txn, uint64_t gid, const void *name, size_t len,
    struct rcons_rec *r)
{
	MDB_val	v;
	int	rc;

	rc = rrec_get(txn, DB_RCONS, gid, name, len, &v);
	if (rc == STORE_OK && rcons_dec(&v, r) != 0)
		rc = txn_fail(txn, DB_RCONS, "corrupt record");
	return (rc);
}

/*
 * Whether a group has a consumer of that name, STORE_OK or
 * STORE_NOTFOUND, without reading its record, which may not decode.
 */
int
store_rcons_has(struct txn *txn, uint64_t gid, const void *name, size_t len)
{
	MDB_val	v;

	return (rrec_get(txn, DB_RCONS, gid, name, len, &v));
}

/* Creates or replaces a group's consumer. */
int
store_rcons_put(struct txn *txn, uint64_t gid, const void *name, size_t len,
    const struct rcons_rec *r)
{
	struct enc	e;

	rcons_enc(&e, r);
	return (rrec_put(txn, DB_RCONS, gid, name, len, &e, 0,
	    "name too long"));
}

/* Deletes a group's consumer; STORE_NOTFOUND if there is none. */
int
store_rcons_del(struct txn *txn, uint64_t gid, const void *name, size_t len)
{
	return (rrec_del(txn, DB_RCONS, gid, name, len));
}

/* Walk adapter for consumers: the name after the gid. */
static int
rcons_walk_fn(struct walk *w, const MDB_val *k, const MDB_val *v)
{
	struct rwalk		*rw = w->arg;
	struct rcons_rec	 r;

	if (k->mv_size < 8 || rcons_dec(v, &r) != 0)
		return (walk_corrupt(w));
	return (rw->fn.cons(rw->arg, (const uint8_t *)k->mv_data + 8,
	    k->mv_size - 8, &r));
}

/* Walks a group's consumers in name order. */
int
store_rcons_walk(struct txn *txn, uint64_t gid, int (*fn)(void *,
    const void *, size_t, const struct rcons_rec *), void *arg)
{
	struct rwalk	rw = { .fn.cons = fn, .arg = arg };

	return (db_walk_num(txn, DB_RCONS, gid, NULL, rcons_walk_fn, &rw));
}

/* Deletes every consumer of a group. */
int
store_rcons_drop(struct txn *txn, uint64_t gid)
{
	return (db_walk_num(txn, DB_RCONS, gid, NULL, drop_fn, NULL));
}

/*
 * The audit spool.  Ids are time-based, (Unix ms << 20) + a sequence, and
 * never go backwards: a restored backup or a new data_dir pointed at the
 * same PostgreSQL table still hands out ids it has never seen.
 */
int
store_audit_id_next(struct txn *txn, uint64_t now, uint64_t *id)
{
	return (meta_next(txn, "audit", (now & ((1ULL << 43) - 1)) << 20, id));
}

/* Appends an event to the spool under id. */
int
store_audit_put(struct txn *txn, uint64_t id, const struct audit_rec *r)
{
	uint8_t		 k[8], *b, *p;
	uint32_t	 dlen;
	size_t		 len, n;
	int		 rc;

	if (txn->ret != STORE_OK)
		return (txn->ret);
	if (r->detail_len > UINT32_MAX)
		return (txn_fail(txn, DB_AUDIT, "detail too long"));
	dlen = (uint32_t)r->detail_len;
	len = 1 + 8 + 1 + 3 * (1 + 255) + sizeof dlen + dlen;
	p = b = xmalloc(len);
	*p++ = STORE_RECORD_V1;
	memcpy(p, &r->at, 8);
	p += 8;
	*p++ = r->kind;
	n = strnlen(r->user, NAME_USER_MAX);
	*p++ = (uint8_t)n;
	memcpy(p, r->user, n);
	p += n;
	n = strnlen(r->device, NAME_DEVICE_MAX);
	*p++ = (uint8_t)n;
	memcpy(p, r->device, n);
	p += n;
	n = strnlen(r->addr, AUDIT_ADDR_MAX);
	*p++ = (uint8_t)n;
	memcpy(p, r->addr, n);
	p += n;
	memcpy(p, &dlen, sizeof dlen);
	p += sizeof dlen;
	if (dlen != 0)
		memcpy(p, r->detail, dlen);
	p += dlen;
	be64enc(k, id);
	rc = db_put(txn, DB_AUDIT, k, sizeof k, b, (size_t)(p - b), 0);
	free(b);
	return (rc);
}

/* Decodes a spooled event; detail points into the map. */
static int
audit_dec(const MDB_val *v, struct audit_rec *r)
{
	struct dec	d;
	uint32_t	dlen;

	memset(r, 0, sizeof *r);
	dec_init(&d, v);
	r->at = dec_u64(&d);
	r->kind = dec_u8(&d);
	dec_str(&d, r->user, NAME_USER_MAX);
	dec_str(&d, r->device, NAME_DEVICE_MAX);
	dec_str(&d, r->addr, AUDIT_ADDR_MAX);
	dec_bytes(&d, &dlen, sizeof dlen);
	if (d.bad || d.len - d.off != dlen)
		return (-1);
	r->detail = (const char *)d.p + d.off;
	r->detail_len = dlen;
	return (0);
}

/* Deletes a shipped event; STORE_NOTFOUND if it is not there. */
int
store_audit_del(struct txn *txn, uint64_t id)
{
	uint8_t	k[8];

	be64enc(k, id);
	return (db_del(txn, DB_AUDIT, k, sizeof k));
}

/* Walk adapter for the spool: the id, then the event. */
static int
audit_walk_fn(struct walk *w, const MDB_val *k, const MDB_val *v)
{
	struct audit_rec	 r;
	const uint8_t		*p = k->mv_data;
	uint64_t		 id = 0;
	int			 i;

	if (k->mv_size != 8 || audit_dec(v, &r) != 0)
		return (walk_corrupt(w));
	for (i = 0; i < 8; i++)
		id = (id << 8) | p[i];
	return (w->fn.audit(w->arg, id, &r));
}

/* Spooled events with an id above after, oldest first. */
int
store_audit_walk(struct txn *txn, uint64_t after, int (*fn)(void *,
    uint64_t, const struct audit_rec *), void *arg)
{
	struct walk	w = { .fn.audit = fn, .arg = arg };
	uint8_t		k[8];

	be64enc(k, after);
	return (db_walk(txn, DB_AUDIT, "", 0, k, sizeof k, 1,
	    audit_walk_fn, &w));
}

/* How many events the spool holds, as this transaction sees it. */
int
store_audit_count(struct txn *txn, uint64_t *n)
{
	MDB_stat	st;
	int		rc;

	if (txn->ret != STORE_OK)
		return (txn->ret);
	rc = mdb_stat(txn->txn, txn->store->dbi[DB_AUDIT], &st);
	if (rc != MDB_SUCCESS)
		return (txn_result(txn, rc, DB_AUDIT, "stat"));
	*n = st.ms_entries;
	return (STORE_OK);
}

/* The events not spooled because the spool was full; NOTFOUND if none. */
int
store_audit_gap_get(struct txn *txn, struct audit_gap *g)
{
	uint64_t	v[3];
	int		rc;

	if ((rc = meta_get_u64s(txn, "audit_gap", v, 3)) != STORE_OK)
		return (rc);
	g->count = v[0];
	g->first_at = v[1];
	g->last_at = v[2];
	return (STORE_OK);
}

/* Records events not spooled. */
int
store_audit_gap_put(struct txn *txn, const struct audit_gap *g)
{
	uint64_t	v[3];

	v[0] = g->count;
	v[1] = g->first_at;
	v[2] = g->last_at;
	return (meta_put_u64s(txn, "audit_gap", v, 3));
}

/* Forgets the gap once its own event has been spooled. */
int
store_audit_gap_del(struct txn *txn)
{
	return (db_del(txn, DB_META, "audit_gap", strlen("audit_gap")));
}

/* The last event PostgreSQL confirmed: its id and time (0 0 if none). */
int
store_audit_shipped_get(struct txn *txn, uint64_t *id, uint64_t *at)
{
	uint64_t	v[2];
	int		rc;

	rc = meta_get_u64s(txn, "audit_shipped", v, 2);
	if (rc == STORE_NOTFOUND) {
		*id = *at = 0;
		return (STORE_OK);
	}
	if (rc != STORE_OK)
		return (rc);
	*id = v[0];
	*at = v[1];
	return (STORE_OK);
}

/* Records the last event PostgreSQL confirmed. */
int
store_audit_shipped_put(struct txn *txn, uint64_t id, uint64_t at)
{
	uint64_t	v[2];

	v[0] = id;
	v[1] = at;
	return (meta_put_u64s(txn, "audit_shipped", v, 2));
}

/*
 * Read-only access for tickctl(8): backup, verify and dump, next to a
 * running daemon or on a stopped data_dir.
 */

/* Opens every named database read-only; one missing is left invalid. */
static int
open_dbs_readonly(struct store *s, const char *path, char **cause)
{
	MDB_txn		*t;
	MDB_val		 k, v;
	uint32_t	 schema;
	int		 rc, i;

	if ((rc = mdb_txn_begin(s->env, NULL, MDB_RDONLY, &t)) != MDB_SUCCESS)
		return (open_fail(s, cause, "cannot read store %s: %s", path,
		    mdb_strerror(rc)));
	rc = mdb_dbi_open(t, db_names[DB_META], 0, &s->dbi[DB_META]);
	if (rc != MDB_SUCCESS) {
		mdb_txn_abort(t);
		return (open_fail(s, cause, "%s is not a tickd store (%s)",
		    path, mdb_strerror(rc)));
	}
	k.mv_data = (void *)"schema";
	k.mv_size = strlen("schema");
	rc = mdb_get(t, s->dbi[DB_META], &k, &v);
	if (rc != MDB_SUCCESS || v.mv_size != 1 + sizeof schema ||
	    *(uint8_t *)v.mv_data != STORE_RECORD_V1) {
		mdb_txn_abort(t);
		return (open_fail(s, cause, "store %s has no valid schema "
		    "version: not a tickd store, or damaged", path));
	}
	memcpy(&schema, (uint8_t *)v.mv_data + 1, sizeof schema);
	if (schema != STORE_SCHEMA) {
		mdb_txn_abort(t);
		return (open_fail(s, cause, "store %s has schema version %u "
		    "but this program uses version %u", path, schema,
		    STORE_SCHEMA));
	}
	/*
	 * A database a newer tickd added is created by its first start; until
	 * then its handle is out of range, which LMDB refuses with EINVAL,
	 * and a walk of it finds nothing.
	 */
	for (i = 0; i < DB_COUNT; i++) {
		if (i == DB_META)
			continue;
		rc = mdb_dbi_open(t, db_names[i], 0, &s->dbi[i]);
		if (rc == MDB_NOTFOUND)
			s->dbi[i] = DBI_NONE;
		else if (rc != MDB_SUCCESS) {
			mdb_txn_abort(t);
			return (open_fail(s, cause, "cannot open database %s "
			    "of %s: %s", db_names[i], path, mdb_strerror(rc)));
		}
	}
	/* Handles opened in a read-only txn stay valid only if it commits. */
	if ((rc = mdb_txn_commit(t)) != MDB_SUCCESS)
		return (open_fail(s, cause, "cannot read store %s: %s", path,
		    mdb_strerror(rc)));
	return (STORE_OK);
}

/*
 * Opens a store read-only: a data_dir, shared with a running daemon
 * through LMDB's lock file, or a single data file such as a backup, opened
 * without a lock file because nothing else writes it.
 */
int
store_open_readonly(struct store **sp, const char *path, char **cause)
{
	struct store	*s;
	struct stat	 st;
	unsigned int	 flags = MDB_RDONLY | MDB_NOTLS;
	int		 rc;

	*sp = NULL;
	if (cause != NULL)
		*cause = NULL;
	s = xcalloc(1, sizeof *s);
	if (stat(path, &st) == -1)
		return (open_fail(s, cause, "%s: %s", path, strerror(errno)));
	if (S_ISDIR(st.st_mode))
		xasprintf(&s->path, "%s/data.mdb", path);
	else {
		s->path = xstrdup(path);
		flags |= MDB_NOSUBDIR | MDB_NOLOCK;
	}
	if (stat(s->path, &st) == -1)
		return (open_fail(s, cause, "%s: %s", s->path,
		    strerror(errno)));
	if ((rc = mdb_env_create(&s->env)) != MDB_SUCCESS) {
		s->env = NULL;
		return (open_fail(s, cause, "cannot create LMDB environment: "
		    "%s", mdb_strerror(rc)));
	}
	if ((rc = mdb_env_set_maxdbs(s->env, DB_COUNT)) != MDB_SUCCESS)
		return (open_fail(s, cause, "cannot set up LMDB environment: "
		    "%s", mdb_strerror(rc)));
	if ((rc = mdb_env_open(s->env, path, flags, 0600)) != MDB_SUCCESS)
		return (open_fail(s, cause, "cannot open store %s: %s", path,
		    mdb_strerror(rc)));
	if (open_dbs_readonly(s, path, cause) != STORE_OK)
		return (STORE_ERR);
	*sp = s;
	return (STORE_OK);
}

/*
 * Writes a compacted copy of the store to fd from one read transaction, so
 * the copy is consistent while the daemon keeps writing.  LMDB writes it
 * sequentially: fd may be a pipe.
 */
int
store_copy_fd(struct store *s, int fd, char **cause)
{
	int	rc;

	if ((rc = mdb_env_copyfd2(s->env, fd, MDB_CP_COMPACT)) !=
	    MDB_SUCCESS) {
		xasprintf(cause, "%s", mdb_strerror(rc));
		return (STORE_ERR);
	}
	return (STORE_OK);
}

/* The last queue number handed out, 0 if none. */
int
store_qid_last(struct txn *txn, uint64_t *qid)
{
	int	rc;

	rc = meta_get_u64s(txn, "qid", qid, 1);
	if (rc == STORE_NOTFOUND) {
		*qid = 0;
		return (STORE_OK);
	}
	return (rc);
}

/* A callback of the whole-database walks below, and its argument. */
struct walk_any {
	union {
		int	(*item)(void *, uint64_t, const struct mid *,
			    const struct item *);
		int	(*dedup)(void *, const char *, const char *,
			    const struct dedup_rec *);
		int	(*block)(void *, const char *, const char *);
		int	(*rkey)(void *, const void *, size_t,
			    const struct rkey_rec *);
		int	(*ridx)(void *, uint64_t, const void *, size_t);
		int	(*rset)(void *, uint64_t, const void *, size_t);
		int	(*rentry)(void *, uint64_t, const struct mid *,
			    const struct rentry *);
		int	(*rgroup)(void *, uint64_t, const void *, size_t,
			    const struct rgroup_rec *);
		int	(*rpel)(void *, uint64_t, const struct mid *,
			    const struct rpel_rec *);
		int	(*rcons)(void *, uint64_t, const void *, size_t,
			    const struct rcons_rec *);
		int	(*audit)(void *, uint64_t, const struct audit_rec *);
	} fn;
	void	*arg;
};

/* Walks every record of db, handing the adapter wa. */
static int
walk_all(struct txn *txn, int db, walk_fn adapter, struct walk_any *wa)
{
	struct walk	w = { .arg = wa };

	return (db_walk(txn, db, "", 0, NULL, 0, 0, adapter, &w));
}

/* Walk adapter for every queue: the qid, the mid and the item. */
static int
item_all_walk_fn(struct walk *w, const MDB_val *k, const MDB_val *v)
{
	struct walk_any	*wa = w->arg;
	const uint8_t	*p = k->mv_data;
	struct mid	 mid;
	struct item	 it;
	uint64_t	 qid = 0;
	int		 i;

	if (k->mv_size != QKEY_BYTES || item_dec(v, &it) != 0)
		return (walk_corrupt(w));
	for (i = 0; i < 8; i++)
		qid = (qid << 8) | p[i];
	mid_decode(p + 8, &mid);
	return (wa->fn.item(wa->arg, qid, &mid, &it));
}

/* Walks the items of every queue, in qid then mid order. */
int
store_queue_walk_all(struct txn *txn, int (*fn)(void *, uint64_t,
    const struct mid *, const struct item *), void *arg)
{
	struct walk_any	wa = { .fn.item = fn, .arg = arg };

	return (walk_all(txn, DB_QUEUES, item_all_walk_fn, &wa));
}

/* Walk adapter for dedup records: splits the key at its NUL. */
static int
dedup_walk_fn(struct walk *w, const MDB_val *k, const MDB_val *v)
{
	struct walk_any		*wa = w->arg;
	struct dedup_rec	 r;
	struct dec		 d;
	char			 user[NAME_USER_MAX + 1], id[CLIENT_ID_MAX + 1];
	const char		*p = k->mv_data, *nul;
	size_t			 ulen;

	if ((nul = memchr(p, '\0', k->mv_size)) == NULL)
		return (walk_corrupt(w));
	ulen = nul - p;
	if (name_copy(user, NAME_USER_MAX, p, ulen) != 0 ||
	    name_copy(id, CLIENT_ID_MAX, nul + 1, k->mv_size - ulen - 1) != 0)
		return (walk_corrupt(w));
	dec_init(&d, v);
	r.mid.ms = dec_u64(&d);
	r.mid.seq = dec_u64(&d);
	r.ts = dec_u64(&d);
	dec_str(&d, r.to, NAME_USER_MAX);
	if (dec_end(&d) != 0)
		return (walk_corrupt(w));
	return (wa->fn.dedup(wa->arg, user, id, &r));
}

/* Walks one user's dedup records, or every user's (user == NULL). */
int
store_dedup_walk(struct txn *txn, const char *user, int (*fn)(void *,
    const char *, const char *, const struct dedup_rec *), void *arg)
{
	struct walk_any	wa = { .fn.dedup = fn, .arg = arg };
	struct walk	w = { .arg = &wa };
	struct nkey	k;

	if (txn->ret != STORE_OK)
		return (txn->ret);
	if (user == NULL)
		return (db_walk(txn, DB_DEDUP, "", 0, NULL, 0, 0,
		    dedup_walk_fn, &w));
	if (nkey_make(&k, user, NAME_USER_MAX, "", 0) != 0)
		return (STORE_OK);
	return (db_walk(txn, DB_DEDUP, k.b, k.len, NULL, 0, 0, dedup_walk_fn,
	    &w));
}

/* Walk adapter for every block: both names. */
static int
block_all_walk_fn(struct walk *w, const MDB_val *k, const MDB_val *v)
{
	struct walk_any	*wa = w->arg;
	char		 blocker[NAME_USER_MAX + 1], blocked[NAME_USER_MAX + 1];
	const char	*p = k->mv_data, *nul;
	size_t		 ulen;

	if ((nul = memchr(p, '\0', k->mv_size)) == NULL)
		return (walk_corrupt(w));
	ulen = nul - p;
	if (name_copy(blocker, NAME_USER_MAX, p, ulen) != 0 ||
	    name_copy(blocked, NAME_USER_MAX, nul + 1,
	    k->mv_size - ulen - 1) != 0 || v->mv_size != 1)
		return (walk_corrupt(w));
	return (wa->fn.block(wa->arg, blocker, blocked));
}

/* Walks every block, in blocker then blocked order. */
int
store_block_walk_all(struct txn *txn, int (*fn)(void *, const char *,
    const char *), void *arg)
{
	struct walk_any	wa = { .fn.block = fn, .arg = arg };

	return (walk_all(txn, DB_BLOCKS, block_all_walk_fn, &wa));
}

/*
 * The walks of verify over every record of the RESP shim and the audit
 * spool.  Unlike the walks above they do not stop at a record that does
 * not decode: verify reports it, and decides whether anything owns it.
 */

/*
 * The number a RESP record's key starts with, or 0 if the key is too short
 * to hold one: no rid or gid is 0.
 */
static uint64_t
rnum_dec(const MDB_val *k)
{
	return (k->mv_size < 8 ? 0 : rid_dec(k->mv_data));
}

/* Walk adapter for every key record: the key after its 'k'. */
static int
rkey_all_walk_fn(struct walk *w, const MDB_val *k, const MDB_val *v)
{
	struct walk_any	*wa = w->arg;
	const uint8_t	*p = k->mv_data;
	struct rkey_rec	 r;

	if (p[0] != 'k' || k->mv_size - 1 > RKEY_MAX || rkey_dec(v, &r) != 0)
		return (wa->fn.rkey(wa->arg, p + 1, k->mv_size - 1, NULL));
	return (wa->fn.rkey(wa->arg, p + 1, k->mv_size - 1, &r));
}

/* Walks every key record in key order. */
int
store_rkey_walk_all(struct txn *txn, int (*fn)(void *, const void *, size_t,
    const struct rkey_rec *), void *arg)
{
	struct walk_any	wa = { .fn.rkey = fn, .arg = arg };

	return (walk_all(txn, DB_RKEYS, rkey_all_walk_fn, &wa));
}

/* Walk adapter for the whole SCAN index: the rid, then the key. */
static int
ridx_all_walk_fn(struct walk *w, const MDB_val *k, const MDB_val *v)
{
	struct walk_any	*wa = w->arg;

	if (k->mv_size != 8 || v->mv_size > RKEY_MAX)
		return (wa->fn.ridx(wa->arg, rnum_dec(k), NULL, 0));
	return (wa->fn.ridx(wa->arg, rid_dec(k->mv_data), v->mv_data,
	    v->mv_size));
}

/* Walks the whole SCAN index in rid order. */
int
store_ridx_walk_all(struct txn *txn, int (*fn)(void *, uint64_t,
    const void *, size_t), void *arg)
{
	struct walk_any	wa = { .fn.ridx = fn, .arg = arg };

	return (walk_all(txn, DB_RIDX, ridx_all_walk_fn, &wa));
}

/* Walk adapter for every set member: the rid, then the member. */
static int
rset_all_walk_fn(struct walk *w, const MDB_val *k, const MDB_val *v)
{
	struct walk_any	*wa = w->arg;
	const uint8_t	*p = v->mv_data;

	if (k->mv_size < 8 || k->mv_size - 8 > RNAME_MAX || v->mv_size != 1 ||
	    p[0] != STORE_RECORD_V1)
		return (wa->fn.rset(wa->arg, rnum_dec(k), NULL, 0));
	return (wa->fn.rset(wa->arg, rid_dec(k->mv_data),
	    (const uint8_t *)k->mv_data + 8, k->mv_size - 8));
}

/* Walks every member of every set, in rid then member order. */
int
store_rset_walk_all(struct txn *txn, int (*fn)(void *, uint64_t,
    const void *, size_t), void *arg)
{
	struct walk_any	wa = { .fn.rset = fn, .arg = arg };

	return (walk_all(txn, DB_RSETS, rset_all_walk_fn, &wa));
}

/* Walk adapter for every stream entry, tombstones included. */
static int
rentry_all_walk_fn(struct walk *w, const MDB_val *k, const MDB_val *v)
{
	struct walk_any	*wa = w->arg;
	struct rentry	 e;
	struct mid	 id;

	if (k->mv_size != 8 + MID_BYTES || rentry_dec(v, &e) != 0)
		return (wa->fn.rentry(wa->arg, rnum_dec(k), NULL, NULL));
	mid_decode((const uint8_t *)k->mv_data + 8, &id);
	return (wa->fn.rentry(wa->arg, rid_dec(k->mv_data), &id, &e));
}

/* Walks every entry of every stream, in rid then id order. */
int
store_rentry_walk_all(struct txn *txn, int (*fn)(void *, uint64_t,
    const struct mid *, const struct rentry *), void *arg)
{
	struct walk_any	wa = { .fn.rentry = fn, .arg = arg };

	return (walk_all(txn, DB_RENTRIES, rentry_all_walk_fn, &wa));
}

/* Walk adapter for every consumer group: the rid, then the name. */
static int
rgroup_all_walk_fn(struct walk *w, const MDB_val *k, const MDB_val *v)
{
	struct walk_any		*wa = w->arg;
	struct rgroup_rec	 r;

	if (k->mv_size < 8 || k->mv_size - 8 > RNAME_MAX ||
	    rgroup_dec(v, &r) != 0)
		return (wa->fn.rgroup(wa->arg, rnum_dec(k), NULL, 0, NULL));
	return (wa->fn.rgroup(wa->arg, rid_dec(k->mv_data),
	    (const uint8_t *)k->mv_data + 8, k->mv_size - 8, &r));
}

/* Walks every consumer group of every stream, in rid then name order. */
int
store_rgroup_walk_all(struct txn *txn, int (*fn)(void *, uint64_t,
    const void *, size_t, const struct rgroup_rec *), void *arg)
{
	struct walk_any	wa = { .fn.rgroup = fn, .arg = arg };

	return (walk_all(txn, DB_RGROUPS, rgroup_all_walk_fn, &wa));
}

/* Walk adapter for every pending entry: the gid, then the id. */
static int
rpel_all_walk_fn(struct walk *w, const MDB_val *k, const MDB_val *v)
{
	struct walk_any	*wa = w->arg;
	struct rpel_rec	 r;
	struct mid	 id;

	if (k->mv_size != 8 + MID_BYTES || rpel_dec(v, &r) != 0)
		return (wa->fn.rpel(wa->arg, rnum_dec(k), NULL, NULL));
	mid_decode((const uint8_t *)k->mv_data + 8, &id);
	return (wa->fn.rpel(wa->arg, rid_dec(k->mv_data), &id, &r));
}

/* Walks the PEL of every group, in gid then id order. */
int
store_rpel_walk_all(struct txn *txn, int (*fn)(void *, uint64_t,
    const struct mid *, const struct rpel_rec *), void *arg)
{
	struct walk_any	wa = { .fn.rpel = fn, .arg = arg };

	return (walk_all(txn, DB_RPEL, rpel_all_walk_fn, &wa));
}

/* Walk adapter for every consumer: the gid, then the name. */
static int
rcons_all_walk_fn(struct walk *w, const MDB_val *k, const MDB_val *v)
{
	struct walk_any		*wa = w->arg;
	struct rcons_rec	 r;

	if (k->mv_size < 8 || k->mv_size - 8 > RNAME_MAX ||
	    rcons_dec(v, &r) != 0)
		return (wa->fn.rcons(wa->arg, rnum_dec(k), NULL, 0, NULL));
	return (wa->fn.rcons(wa->arg, rid_dec(k->mv_data),
	    (const uint8_t *)k->mv_data + 8, k->mv_size - 8, &r));
}

/* Walks every consumer of every group, in gid then name order. */
int
store_rcons_walk_all(struct txn *txn, int (*fn)(void *, uint64_t,
    const void *, size_t, const struct rcons_rec *), void *arg)
{
	struct walk_any	wa = { .fn.rcons = fn, .arg = arg };

	return (walk_all(txn, DB_RCONS, rcons_all_walk_fn, &wa));
}

/* Walk adapter for every spooled event: the id, then the event. */
static int
audit_all_walk_fn(struct walk *w, const MDB_val *k, const MDB_val *v)
{
	struct walk_any		*wa = w->arg;
	struct audit_rec	 r;

	if (k->mv_size != 8 || audit_dec(v, &r) != 0)
		return (wa->fn.audit(wa->arg, rnum_dec(k), NULL));
	return (wa->fn.audit(wa->arg, rid_dec(k->mv_data), &r));
}

/* Walks the whole audit spool, oldest first. */
int
store_audit_walk_all(struct txn *txn, int (*fn)(void *, uint64_t,
    const struct audit_rec *), void *arg)
{
	struct walk_any	wa = { .fn.audit = fn, .arg = arg };

	return (walk_all(txn, DB_AUDIT, audit_all_walk_fn, &wa));
}

/* Deletes an account record; its devices, queues and the rest stay. */
int
store_user_del(struct txn *txn, const char *name)
{
	struct nkey	k;

	if (txn->ret != STORE_OK)
		return (txn->ret);
	if (nkey_make(&k, name, NAME_USER_MAX, NULL, 0) != 0)
		return (STORE_NOTFOUND);
	return (db_del(txn, DB_USERS, k.b, k.len));
}
