/* SPDX-License-Identifier: ISC */
/*
 * store.c: the LMDB layer's core: the environment, transactions, the key
 * and record codec, meta records, the walks and copies.  Maps LMDB's errors
 * to the STORE_* codes and keeps the sticky error of store.h's contract;
 * the records of each domain are in their own store-*.c.
 */
#include <sys/stat.h>

#include <errno.h>
#include <fcntl.h>
#include <libgen.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <lmdb.h>

#define STORE_INTERNAL
#include "store.h"
#include "tickd.h"

/* A new store while it is made, in data_dir (tickd(8) FILES). */
#define STORE_NEW_NAME	"data-new.mdb"

/* Each database's name in the environment, indexed by DB_*. */
static const char *const db_names[DB_COUNT] = {
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
	[DB_GROUPS] = "groups",
	[DB_GDESC] = "gdesc",
	[DB_GMEMBERS] = "gmembers",
	[DB_GUSERS] = "gusers",
	[DB_GNAMES] = "gnames",
	[DB_GMSGS] = "gmsgs",
	[DB_GRCPT] = "grcpt",
	[DB_GPREFS] = "gprefs",
	[DB_KEYDEV] = "keydev",
	[DB_PREKEYS] = "prekeys",
	[DB_MEDIA] = "media",
	[DB_MEDIA_USER] = "media_user",
	[DB_MEDIA_FILE] = "media_file",
	[DB_MEDIA_IDLE] = "media_idle",
	[DB_MEDIA_GONE] = "media_gone",
	[DB_MEDIA_REFS] = "media_refs",
	[DB_MEDIA_RREFS] = "media_rrefs",
	[DB_PUSH_EPS] = "push_endpoints",
	[DB_PUSH_NOTES] = "push_notes",
	[DB_MUTES] = "mutes",
	[DB_COUT] = "cluster_outbox",
	[DB_CDEDUP] = "cluster_dedup",
	[DB_CDIR] = "cluster_dir",
	[DB_CRMSG] = "cluster_rmsg",
	[DB_CRGROUP] = "cluster_rgroups",
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

/* Reads the big-endian number that starts a key. */
uint64_t
rid_dec(const uint8_t *p)
{
	uint64_t	v = 0;
	int		i;

	for (i = 0; i < 8; i++)
		v = (v << 8) | p[i];
	return (v);
}

/*
 * The number a record's key starts with (an rid, gid or event id), or 0
 * if the key is too short to hold one: none is 0.
 */
uint64_t
rnum_dec(const MDB_val *k)
{
	return (k->mv_size < 8 ? 0 : rid_dec(k->mv_data));
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
 * Deletes a key, honouring the sticky error, after handing its value to
 * dec (unless NULL) with out: one search for a caller that must learn
 * what it deleted.  dec returns non-zero for a record it cannot read,
 * which fails the transaction; STORE_NOTFOUND if there is no such key.
 */
int
db_take(struct txn *txn, int db, const void *k, size_t klen,
    int (*dec)(const MDB_val *, void *), void *out)
{
	MDB_cursor	*c;
	MDB_val		 key, v;
	int		 rc;

	if (txn->ret != STORE_OK)
		return (txn->ret);
	key.mv_data = (void *)k;
	key.mv_size = klen;
	if ((rc = mdb_cursor_open(txn->txn, txn->store->dbi[db], &c)) !=
	    MDB_SUCCESS)
		return (txn_result(txn, rc, db, "cursor"));
	if ((rc = mdb_cursor_get(c, &key, &v, MDB_SET_KEY)) != MDB_SUCCESS) {
		mdb_cursor_close(c);
		return (txn_result(txn, rc, db, "del"));
	}
	if (dec != NULL && dec(&v, out) != 0) {
		mdb_cursor_close(c);
		return (txn_fail(txn, db, "corrupt record"));
	}
	rc = mdb_cursor_del(c, 0);
	mdb_cursor_close(c);
	return (txn_result(txn, rc, db, "del"));
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
	struct mid	 mid;
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
		if (r == STORE_WALK_DELETE && db == DB_QUEUES &&
		    k.mv_size == QKEY_BYTES) {
			mid_decode((const uint8_t *)k.mv_data + 8, &mid);
			live_touch(txn, rid_dec(k.mv_data), &mid);
		}
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

/* Walk adapter that deletes every entry. */
int
drop_fn(struct walk *w, const MDB_val *k, const MDB_val *v)
{
	(void)w;
	(void)k;
	(void)v;
	return (STORE_WALK_DELETE);
}

/* Walks every record of db, handing the adapter wa. */
int
walk_all(struct txn *txn, int db, walk_fn adapter, struct walk_any *wa)
{
	struct walk	w = { .arg = wa };

	return (db_walk(txn, db, "", 0, NULL, 0, 0, adapter, &w));
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

/* An fsync of the directory dir, making its entries durable. */
static int
sync_dir(const char *dir)
{
	int	fd, rc;

	if ((fd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC)) == -1)
		return (-1);
	rc = fsync(fd);
	close(fd);
	return (rc);
}

/*
 * An fsync of dir and of the directory holding it: a data_dir made just
 * before its first store would otherwise be lost, store and all, by a
 * power cut that kept the store's own synced entry.
 */
static int
sync_dir_and_parent(const char *dir)
{
	char	*copy;
	int	 rc;

	if (sync_dir(dir) == -1)
		return (-1);
	copy = xstrdup(dir);
	rc = sync_dir(dirname(copy));
	free(copy);
	return (rc);
}

/*
 * Makes a new store in dir when it has no data.mdb (tickd(8) FILES).  LMDB
 * writes the meta pages of a new file without a sync, so a power cut then
 * could leave a data.mdb that it refuses: the store is made as
 * STORE_NEW_NAME, with its first transaction, synced, then renamed into
 * place and the directory and its parent synced.  A STORE_NEW_NAME left by a crash is
 * removed, never used, and the store made again.
 */
static int
store_create(const char *dir, const char *path, uint64_t map_size,
    char **cause)
{
	struct store	*n;
	struct stat	 st;
	int		 rc, fd;

	n = xcalloc(1, sizeof *n);
	xasprintf(&n->path, "%s/%s", dir, STORE_NEW_NAME);
	if (unlink(n->path) == -1 && errno != ENOENT)
		return (open_fail(n, cause, "cannot remove %s: %s", n->path,
		    strerror(errno)));
	if (stat(path, &st) == 0) {
		free(n->path);
		free(n);
		return (STORE_OK);
	}
	if (errno != ENOENT)
		return (open_fail(n, cause, "%s: %s", path, strerror(errno)));
	if ((rc = mdb_env_create(&n->env)) != MDB_SUCCESS) {
		n->env = NULL;
		return (open_fail(n, cause, "cannot create LMDB environment: "
		    "%s", mdb_strerror(rc)));
	}
	/* tickd.lock keeps out any other tickd: no LMDB lock file. */
	if ((rc = mdb_env_set_maxdbs(n->env, DB_COUNT)) != MDB_SUCCESS ||
	    (rc = mdb_env_set_mapsize(n->env, map_size)) != MDB_SUCCESS ||
	    (rc = mdb_env_open(n->env, n->path, MDB_NOSUBDIR | MDB_NOLOCK |
	    MDB_NOTLS, 0600)) != MDB_SUCCESS)
		goto fail;
	if (open_dbs(n, dir, cause) != STORE_OK)
		return (STORE_ERR);
	if ((rc = mdb_env_sync(n->env, 1)) != MDB_SUCCESS ||
	    (rc = mdb_env_get_fd(n->env, &fd)) != MDB_SUCCESS)
		goto fail;
	if (fsync(fd) == -1) {
		rc = errno;
		goto fail;
	}
	mdb_env_close(n->env);
	n->env = NULL;
	if (rename(n->path, path) == -1 || sync_dir_and_parent(dir) == -1) {
		rc = errno;
		unlink(n->path);
		return (open_fail(n, cause, "cannot put new store in place "
		    "as %s: %s", path, strerror(rc)));
	}
	free(n->path);
	free(n);
	return (STORE_OK);

fail:
	if (n->env != NULL) {
		mdb_env_close(n->env);
		n->env = NULL;
	}
	unlink(n->path);
	return (open_fail(n, cause, "cannot create store %s: %s", n->path,
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
	if (store_create(dir, s->path, map_size, cause) != STORE_OK) {
		free(s->path);
		free(s);
		return (STORE_ERR);
	}
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
	if (s->rtxn != NULL)
		mdb_txn_abort(s->rtxn);
	mdb_env_close(s->env);
	live_free(s->live);
	free(s->path);
	free(s);
}

/*
 * With later set, a commit syncs the pages it wrote and writes the meta page
 * that points at them without syncing it (LMDB's MDB_NOMETASYNC); the
 * caller syncs *fd before it tells anyone the commit is durable.  Should
 * the power fail first, the store opens at the commit before, whole: LMDB
 * keeps integrity under MDB_NOMETASYNC, and loses at most the commit whose
 * meta page was not synced.  No transaction of this process may be open.
 */
int
store_meta_sync_later(struct store *s, int later, int *fd)
{
	mdb_filehandle_t	h;
	int			rc;

	if ((rc = mdb_env_set_flags(s->env, MDB_NOMETASYNC, later)) !=
	    MDB_SUCCESS || (rc = mdb_env_get_fd(s->env, &h)) != MDB_SUCCESS) {
		log_warnx("store: meta page sync: %s", mdb_strerror(rc));
		return (STORE_ERR);
	}
	*fd = h;
	return (STORE_OK);
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

/*
 * Clears the reader slots of processes that died inside a read
 * transaction, such as a killed tickctl backup: while one is held, the
 * pages freed since its snapshot are never reused and the store fills
 * (tickd.conf(5) map_size).  The number cleared, or -1.
 */
int
store_reader_check(struct store *s)
{
	int	rc, dead = 0;

	if ((rc = mdb_reader_check(s->env, &dead)) != MDB_SUCCESS) {
		log_warnx("store: reader check: %s", mdb_strerror(rc));
		return (-1);
	}
	if (dead > 0)
		log_info("store: cleared %d stale reader slot%s", dead,
		    dead == 1 ? "" : "s");
	return (dead);
}

/* The data file, for backups and messages. */
const char *
store_path(struct store *s)
{
	return (s->path);
}

/*
 * Begins a transaction.  A read transaction renews the one store_txn_abort
 * last reset, if any, rather than allocating another (LMDB's mdb_txn_renew);
 * one begun while that is in use, or if renewing fails, is new.  A reader
 * table full of slots left by dead processes is cleared with
 * mdb_reader_check() and the begin tried again.
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
	memset(&txn->delta, 0, sizeof txn->delta);
	txn->touched = NULL;
	txn->ntouched = txn->touchedcap = 0;
	if (!write && s->rtxn != NULL) {
		t = s->rtxn;
		s->rtxn = NULL;
		if (mdb_txn_renew(t) == MDB_SUCCESS) {
			txn->txn = t;
			return (STORE_OK);
		}
		mdb_txn_abort(t);
	}
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
	struct live_change	*changes;
	size_t			 nchanges;
	int			 rc;

	if (txn->txn == NULL) {
		live_forget(txn);
		return (txn->ret != STORE_OK ? txn->ret : STORE_ERR);
	}
	if (txn->ret != STORE_OK) {
		mdb_txn_abort(txn->txn);
		txn->txn = NULL;
		live_forget(txn);
		return (txn->ret);
	}
	/* Read in the txn itself: what it leaves is what the commit keeps. */
	nchanges = live_read(txn, &changes);
	rc = mdb_txn_commit(txn->txn);
	txn->txn = NULL;
	if (rc != MDB_SUCCESS) {
		free(changes);
		return (txn_result(txn, rc, -1, "commit"));
	}
	txn->ret = STORE_ERR;
	if (nchanges > 0)
		live_apply(txn->store, changes, nchanges);
	else
		free(changes);
	if (txn->store->counted) {
		txn->store->totals.devices += txn->delta.devices;
		txn->store->totals.items += txn->delta.items;
		txn->store->totals.bytes += txn->delta.bytes;
	}
	return (STORE_OK);
}

/* Device walk callback: adds one device's queue to the totals. */
static int
totals_fn(void *arg, const char *user, const char *device,
    const struct dev_rec *r)
{
	struct store_totals	*t = arg;

	(void)user; (void)device;
	t->devices++;
	t->items += (int64_t)r->count;
	t->bytes += (int64_t)r->bytes;
	return (STORE_WALK_NEXT);
}

/*
 * Counts the devices and their queues in one read transaction, once, at
 * startup; from then on each commit adds what its transaction changed.
 */
int
store_totals_start(struct store *s)
{
	struct txn	txn;
	int		rc;

	memset(&s->totals, 0, sizeof s->totals);
	if ((rc = store_txn_begin(s, &txn, 0)) != STORE_OK)
		return (-1);
	rc = store_device_walk(&txn, NULL, totals_fn, &s->totals);
	store_txn_abort(&txn);
	if (rc != STORE_OK)
		return (-1);
	s->counted = 1;
	return (0);
}

/* The totals kept since store_totals_start. */
int
store_totals(struct store *s, struct store_totals *t)
{
	if (!s->counted)
		return (-1);
	*t = s->totals;
	return (0);
}

/*
 * Aborts; harmless on a txn that has already ended.  A read transaction is
 * reset instead and kept for store_txn_begin to renew, unless one is kept
 * already: a reset one keeps its reader slot but no snapshot, so pins no
 * pages (LMDB's mdb_txn_reset).  store_close aborts it.
 */
void
store_txn_abort(struct txn *txn)
{
	if (txn->txn != NULL && !txn->write && txn->store->rtxn == NULL) {
		mdb_txn_reset(txn->txn);
		txn->store->rtxn = txn->txn;
	} else if (txn->txn != NULL)
		mdb_txn_abort(txn->txn);
	txn->txn = NULL;
	txn->ret = STORE_ERR;
	live_forget(txn);
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
