/* SPDX-License-Identifier: ISC */
/*
 * store.h: tickd's LMDB layer.
 *
 * One LMDB environment in data_dir, one named database per kind of record.
 * All records are written and read through this layer only: store.c, and
 * a store-*.c per domain; nothing else in src/ includes <lmdb.h>.
 *
 * Contracts (after Knot DNS's knot_lmdb.h):
 *
 * - A struct txn carries a sticky error in `ret`.  Once any operation in a
 *   write transaction fails with STORE_FULL or STORE_ERR, `ret` is set and
 *   every later operation on that txn returns `ret` at once without touching
 *   LMDB; store_txn_commit() then aborts and returns `ret`.  STORE_NOTFOUND
 *   and STORE_EXISTS are answers, not failures: they never set `ret`.
 * - MDB_MAP_FULL (and MDB_TXN_FULL) map to STORE_FULL: the store is full,
 *   nothing already committed is harmed.  MDB_READERS_FULL is retried once
 *   after mdb_reader_check().
 * - Pointers handed out by the store (struct item.data) point into the LMDB
 *   map and stay valid only until the transaction ends or the next write in
 *   it.  Copy what must outlive that.
 * - Keys holding ids are big-endian, so that LMDB's byte order is mid order.
 *   Keys holding names are the name bytes, a NUL, then the next part: names
 *   never contain NUL and NUL sorts first, so a "user\0" prefix walks exactly
 *   that user's entries.
 * - Every value starts with a one-byte record version (STORE_RECORD_V1,
 *   or STORE_RECORD_LONG for a RESP name too long for its key, below).
 *   Values are this machine's layout: a data_dir is not portable between
 *   architectures (use a dump for that).
 * - The environment's schema version lives in the meta database under
 *   "schema"; store_open() refuses a data_dir with another version.
 */
#ifndef TICKD_STORE_H
#define TICKD_STORE_H

#include <stddef.h>
#include <stdint.h>

#define STORE_SCHEMA		1
#define STORE_RECORD_V1		1
#define STORE_RECORD_LONG	2	/* a long name, then a V1 record */

#define STORE_OK		0
#define STORE_NOTFOUND		1
#define STORE_EXISTS		2
#define STORE_FULL		(-1)
#define STORE_ERR		(-2)

/* Walk callbacks return one of these. */
#define STORE_WALK_NEXT		0
#define STORE_WALK_STOP		1
#define STORE_WALK_DELETE	2	/* delete this entry, then go on */

#define NAME_USER_MAX		64
#define NAME_DEVICE_MAX		32
#define CLIENT_ID_MAX		64
#define NAME_GROUP_MAX		(1 + NAME_USER_MAX)	/* '#' and a name */
#define NAME_CHAT_MAX		NAME_GROUP_MAX	/* a user or a group */

/* A message id: "<ms>-<seq>", the syntax of a Redis stream id. */
struct mid {
	uint64_t	ms;
	uint64_t	seq;
};
#define MID_BYTES	16	/* encoded: ms then seq, big-endian */
#define MID_STRLEN	42	/* "18446744073709551615-18446744073709551615" */

struct store;

/*
 * The devices and what their queues hold, the sums of their records: kept
 * by the store as write transactions commit, once store_totals_start has
 * counted them, so that reading them costs nothing (tickd(8), Health and
 * metrics).
 */
struct store_totals {
	int64_t		devices;
	int64_t		items;
	int64_t		bytes;
};

struct txn {
	struct store	*store;
	void		*txn;		/* MDB_txn */
	int		 write;
	int		 ret;		/* sticky error, see above */
	struct store_totals delta;	/* what this write txn changed */
	uint64_t	*touched;	/* queues whose first item it may move */
	size_t		 ntouched, touchedcap;
};

/* store.c */
/* Environment. */
int	store_open(struct store **, const char *dir, uint64_t map_size,
	    char **cause);
void	store_close(struct store *);
int	store_set_map_size(struct store *, uint64_t);
/* Bytes in use (last page * page size) and the map size. */
int	store_usage(struct store *, uint64_t *used, uint64_t *map_size);
/* Clears the slots of dead readers; how many, or -1. */
int	store_reader_check(struct store *);
int	store_meta_sync_later(struct store *, int, int *);
/* Path of the environment's data file, for backups and messages. */
const char *store_path(struct store *);

/* Counts the totals once, then keeps them; -1 on a store error. */
int	store_totals_start(struct store *);
/* The totals kept; -1 if store_totals_start was not run. */
int	store_totals(struct store *, struct store_totals *);

/* store-live.c */
/*
 * The Unix ms of the oldest item of all queues (0 if they are empty),
 * kept as write transactions commit once store_oldest_start has read each
 * queue's first item, so that reading it costs nothing (tickd(8), Health
 * and metrics).  -1 on a store error, or if it was not started.
 */
int	store_oldest_start(struct store *);
int	store_oldest(struct store *, uint64_t *);

/* Transactions. */
int	store_txn_begin(struct store *, struct txn *, int write);
int	store_txn_commit(struct txn *);
void	store_txn_abort(struct txn *);

/* Meta: the mid high-water mark and the queue-number counter. */
int	store_mid_load(struct txn *, struct mid *);	/* 0-0 if none */
int	store_mid_save(struct txn *, const struct mid *);
int	store_qid_next(struct txn *, uint64_t *);

/*
 * Read-only access for tickctl: a data_dir (shared with a running daemon)
 * or a single data file such as a backup.  Writes on it fail.
 */
int	store_open_readonly(struct store **, const char *path, char **cause);
/* A compacted, consistent copy of the store written to fd (may be a pipe). */
int	store_copy_fd(struct store *, int fd, char **cause);
/* The last queue number handed out, 0 if none. */
int	store_qid_last(struct txn *, uint64_t *);

/* store-chat.c */
/* An account. */
struct user_rec {
	uint64_t	created;	/* Unix ms */
	uint64_t	last_seen;	/* Unix ms; 0 while online or never */
	uint8_t		salt[16];
	uint8_t		hash[32];	/* kdf(password, salt) */
	uint8_t		read_receipts;	/* 1: send read receipts */
	uint8_t		last_seen_vis;	/* LASTSEEN_EVERYONE or _NOBODY */
	uint8_t		kdf;		/* KDF_SCRYPT */
	uint8_t		kdf_ln;		/* scrypt N = 2^kdf_ln */
	uint8_t		kdf_r;
	uint8_t		kdf_p;
};
/*
 * The KDF of a password hash and its parameters.  A record written before
 * they were stored holds scrypt with KDF_SCRYPT_LN, _R and _P, the cost of
 * new hashes until it is raised.
 */
#define KDF_SCRYPT	1
#define KDF_SCRYPT_LN	14	/* N 16384: 16 MiB, some 50 ms */
#define KDF_SCRYPT_R	8
#define KDF_SCRYPT_P	1
#define KDF_MAXMEM	(64 * 1024 * 1024)	/* scrypt's memory bound */
#define LASTSEEN_EVERYONE	0
#define LASTSEEN_NOBODY		1

/* A device of a user; it owns the queue numbered qid. */
struct dev_rec {
	uint64_t	qid;		/* never reused; a token names it too */
	uint64_t	created;	/* Unix ms */
	uint64_t	last_active;	/* Unix ms of last connect/disconnect */
	uint64_t	count;		/* items in its queue */
	uint64_t	bytes;		/* bytes of those items' data */
	uint8_t		claimed;	/* 0: the unclaimed "default" */
};

/* A login token, stored under SHA-256 of the token. */
struct token_rec {
	uint64_t	expires;	/* Unix ms */
	uint64_t	qid;		/* the device's qid when issued */
	char		user[NAME_USER_MAX + 1];
	char		device[NAME_DEVICE_MAX + 1];
};

/* A queue item: the frame text a device will be sent. */
#define ITEM_MSG	1
#define ITEM_RECEIPT	2
#define ITEM_GROUP_EVENT 3
#define ITEM_KEYS_LOW	4	/* tickd-protocol(7) KEY DIRECTORY */
struct item {
	uint8_t		 kind;		/* ITEM_* */
	uint64_t	 ts;		/* Unix ms it was accepted */
	const char	*data;		/* JSON frame, not NUL-terminated */
	size_t		 len;
};

/*
 * What the server remembers of a message after queueing it, keyed by mid:
 * who sent it to whom, and which receipts were already queued.  Kept for
 * max(message_ttl, dedup_window).
 */
#define MSG_DELIVERED	0x01	/* delivered receipt queued */
#define MSG_READ	0x02	/* read receipt queued (or suppressed) */
#define MSG_BLOCKED	0x04	/* dropped by a block: never any receipt */
struct msg_rec {
	uint64_t	ts;
	uint8_t		flags;
	char		from[NAME_USER_MAX + 1];
	char		from_device[NAME_DEVICE_MAX + 1];
	char		to[NAME_CHAT_MAX + 1];	/* a user or "#group" */
	char		id[CLIENT_ID_MAX + 1];
};

/* The dedup index: (sender user, client id) -> what the first send got. */
struct dedup_rec {
	struct mid	mid;
	uint64_t	ts;
	char		to[NAME_CHAT_MAX + 1];
};

/* Users. store_user_add returns STORE_EXISTS for a taken name. */
int	store_user_get(struct txn *, const char *, struct user_rec *);
int	store_user_add(struct txn *, const char *, const struct user_rec *);
int	store_user_put(struct txn *, const char *, const struct user_rec *);
int	store_user_walk_after(struct txn *, const char *,
	    int (*)(void *, const char *, const struct user_rec *), void *);
int	store_user_walk(struct txn *, int (*)(void *, const char *,
	    const struct user_rec *), void *);
/* Deletes an account record only: see admin_user_delete() for the rest. */
int	store_user_del(struct txn *, const char *);

/* Devices, keyed "user\0device".  Deleting one leaves its queue alone. */
int	store_device_get(struct txn *, const char *, const char *,
	    struct dev_rec *);
int	store_device_put(struct txn *, const char *, const char *,
	    const struct dev_rec *);
/* The same, given the record there as the transaction last saw it. */
int	store_device_update(struct txn *, const char *, const char *,
	    const struct dev_rec *old, const struct dev_rec *);
int	store_device_del(struct txn *, const char *, const char *);
/* One user's devices (user != NULL), or every device (user == NULL). */
int	store_device_walk(struct txn *, const char *user,
	    int (*)(void *, const char *, const char *, const struct dev_rec *),
	    void *);
/* The devices of the users after user (all if NULL), for resumed walks. */
int	store_device_walk_after(struct txn *, const char *user,
	    int (*)(void *, const char *, const char *, const struct dev_rec *),
	    void *);

/* Tokens, keyed by SHA-256 of the token. */
int	store_token_get(struct txn *, const uint8_t [32], struct token_rec *);
int	store_token_put(struct txn *, const uint8_t [32],
	    const struct token_rec *);
int	store_token_del(struct txn *, const uint8_t [32]);
int	store_token_walk(struct txn *, int (*)(void *, const uint8_t *,
	    const struct token_rec *), void *);
/* The tokens after the one of hash after (all if NULL). */
int	store_token_walk_after(struct txn *, const uint8_t *after,
	    int (*)(void *, const uint8_t *, const struct token_rec *), void *);

/* Queues, keyed qid then mid. */
int	store_queue_put(struct txn *, uint64_t, const struct mid *,
	    const struct item *);
int	store_queue_get(struct txn *, uint64_t, const struct mid *,
	    struct item *);
/*
 * Deletes one item; its kind, ts and len are left in *old if not NULL,
 * and if m is not NULL the record of the message it was in *m, with
 * *has_m 1 (0: not a message, or its record is gone).
 */
int	store_queue_del(struct txn *, uint64_t, const struct mid *,
	    struct item *old, struct msg_rec *m, int *has_m);
/*
 * The same, but a message's bytes stay on its sender: the caller takes
 * old->len off m->from's (store_user_bytes_add) in this transaction
 * whenever *has_m is set.
 */
int	store_queue_take(struct txn *, uint64_t, const struct mid *,
	    struct item *old, struct msg_rec *m, int *has_m);
/* Items with mid > *after (all if after is NULL), oldest first. */
int	store_queue_walk(struct txn *, uint64_t, const struct mid *after,
	    int (*)(void *, const struct mid *, const struct item *), void *);
/* Deletes a whole queue. */
int	store_queue_drop(struct txn *, uint64_t);
/* Every item of every queue, in qid then mid order. */
int	store_queue_walk_all(struct txn *, int (*)(void *, uint64_t,
	    const struct mid *, const struct item *), void *);
/* The first queue numbered qid or above holding an item, or NOTFOUND. */
int	store_queue_next(struct txn *, uint64_t qid, uint64_t *);

/*
 * The bytes a user's messages occupy in every queue, theirs and their
 * recipients' (tickd.conf(5) max_user_bytes): store_queue_del,
 * store_queue_drop and store_item_forget take deleted messages off;
 * after store_queue_take, the caller does.
 */
int	store_user_bytes_get(struct txn *, const char *, uint64_t *);
int	store_user_bytes_add(struct txn *, const char *, uint64_t add,
	    uint64_t sub);
/* Sets them to what a store_user_bytes_get of this txn read, changed. */
int	store_user_bytes_set(struct txn *, const char *, uint64_t);
/* A message item deleted by a walk: takes it off its sender's bytes. */
int	store_item_forget(struct txn *, const struct mid *, const struct item *);
/* Every user holding bytes, in name order. */
int	store_user_bytes_walk(struct txn *, int (*)(void *, const char *,
	    uint64_t), void *);

/* Messages, keyed by mid; walked oldest first. */
int	store_msg_get(struct txn *, const struct mid *, struct msg_rec *);
int	store_msg_put(struct txn *, const struct mid *, const struct msg_rec *);
int	store_msg_del(struct txn *, const struct mid *);
int	store_msg_walk(struct txn *, int (*)(void *, const struct mid *,
	    const struct msg_rec *), void *);
/* The records after mid after (all if NULL). */
int	store_msg_walk_after(struct txn *, const struct mid *after,
	    int (*)(void *, const struct mid *, const struct msg_rec *), void *);

/* Dedup index, keyed "user\0id". */
int	store_dedup_get(struct txn *, const char *, const char *,
	    struct dedup_rec *);
int	store_dedup_put(struct txn *, const char *, const char *,
	    const struct dedup_rec *);
int	store_dedup_del(struct txn *, const char *, const char *);
/* One user's dedup records (user != NULL), or every user's. */
int	store_dedup_walk(struct txn *, const char *user, int (*)(void *,
	    const char *, const char *, const struct dedup_rec *), void *);
/* Every user's records after (user, id), all if user is NULL. */
int	store_dedup_walk_after(struct txn *, const char *user, const char *id,
	    int (*)(void *, const char *, const char *,
	    const struct dedup_rec *), void *);

/* Blocks, keyed "blocker\0blocked": one lookup answers "is X blocked". */
int	store_block_get(struct txn *, const char *, const char *);
int	store_block_put(struct txn *, const char *, const char *);
int	store_block_del(struct txn *, const char *, const char *);
int	store_block_walk(struct txn *, const char *, int (*)(void *,
	    const char *), void *);
/* Every block as (blocker, blocked). */
int	store_block_walk_all(struct txn *, int (*)(void *, const char *,
	    const char *), void *);
/* Every block after (blocker, blocked), all if blocker is NULL. */
int	store_block_walk_all_after(struct txn *, const char *blocker,
	    const char *blocked, int (*)(void *, const char *, const char *),
	    void *);

/* store-resp.c */
/*
 * The RESP shim's own data (tickd-resp(7)): plain Redis keys kept in LMDB.
 *
 * - rkeys: key -> its record (type, rid, expiry, and a string's value, a
 *   set's size or a stream's metadata).  The rid is a number handed out by
 *   store_rid_next() when the key is created and never reused; a key that
 *   is deleted and made again gets a new one, so nothing of the old key
 *   can show through.
 * - ridx: rid -> key, the order SCAN walks in (a cursor is an rid).
 * - rsets: rid + member.
 * - rentries: rid + 16-byte stream id -> the entry's fields and values.
 * - rgroups: rid + group name -> the group (its own gid, last id...).
 * - rpel: gid + 16-byte id -> a pending entry (time, count, consumer).
 * - rcons: gid + consumer name -> the consumer.
 * Keys, members and names may be of any length and hold any byte, NUL
 * included.  One that fits an LMDB key (511 bytes) with what goes before
 * it is the key's tail, as in schema 1; a longer one is keyed by its
 * first bytes, a 64-bit hash and a number that tells apart those that
 * collide, and its record, of version STORE_RECORD_LONG, keeps it whole.
 * Walks in name order list long ones by their first bytes and hash.
 */

#define RTYPE_STRING	1
#define RTYPE_SET	2
#define RTYPE_STREAM	3

/*
 * A key.  A stream's entries are grouped in nodes as Redis groups them in
 * listpacks, so that "MAXLEN ~" trims the same whole nodes: tail_node is
 * the node the next entry joins unless tail_count or tail_bytes say it is
 * full.
 */
struct rkey_rec {
	uint8_t		 type;		/* RTYPE_* */
	uint64_t	 rid;
	uint64_t	 expires;	/* Unix ms, 0: never (strings only) */
	const uint8_t	*val;		/* string: its bytes, in the map */
	size_t		 vlen;
	uint64_t	 card;		/* set: members */
	uint64_t	 length;	/* stream: entries */
	uint64_t	 entries_added;
	struct mid	 last_id;
	struct mid	 first_id;	/* 0-0 when empty */
	struct mid	 max_deleted;	/* highest id removed by XDEL */
	uint64_t	 tail_node;
	uint64_t	 tail_count;	/* entries put in it, deleted or not */
	uint64_t	 tail_bytes;
	struct mid	 tail_first;	/* its first ("master") entry's id */
	uint64_t	 tail_fields;	/* a hash of that entry's field names */
	uint64_t	 ngroups;
};

/*
 * One stream entry: n strings, fields and values alternating.  As in a
 * Redis listpack, a deleted entry stays as a tombstone until its whole
 * node goes, so that trimming sees the nodes Redis sees.
 */
struct rentry {
	uint64_t	 node;
	int		 deleted;	/* a tombstone */
	uint32_t	 n;
	const uint8_t	*p;		/* encoded; see store_rentry_item() */
	size_t		 len;
};

/* A stretch of bytes to store. */
struct rbuf {
	const void	*p;
	size_t		 len;
};

/* A consumer group; entries_read is -1 when it is not known. */
struct rgroup_rec {
	uint64_t	gid;
	struct mid	last_id;
	int64_t		entries_read;
	uint64_t	pending;	/* entries in its PEL */
	uint64_t	consumers;
};

/* A pending entry: delivered, not acknowledged. */
struct rpel_rec {
	uint64_t	 delivery_time;	/* Unix ms */
	uint64_t	 delivery_count;
	const uint8_t	*consumer;	/* in the map */
	size_t		 clen;
};

/* A consumer of a group. */
struct rcons_rec {
	uint64_t	seen_time;	/* Unix ms of its last read or claim */
	uint64_t	pending;	/* entries of the group's PEL it holds */
};

int	store_rid_next(struct txn *, uint64_t *);
/* For tests: long names hashed with fn, NULL for the store's own hash. */
void	store_set_name_hash(struct store *, uint64_t (*)(const void *,
	    size_t));
int	store_rkey_get(struct txn *, const void *, size_t, struct rkey_rec *);
/* isnew: the key is being created, enter its rid in the SCAN index. */
int	store_rkey_put(struct txn *, const void *, size_t,
	    const struct rkey_rec *, int isnew);
/* Deletes the record only: the caller drops members, entries, groups. */
int	store_rkey_del(struct txn *, const void *, size_t, uint64_t rid);
/* Keys with rid >= from, in rid order; the key points into the map. */
int	store_rkey_walk(struct txn *, uint64_t from, int (*)(void *,
	    uint64_t, const void *, size_t), void *);
/* The key the SCAN index gives rid, unchecked; it points into the map. */
int	store_ridx_get(struct txn *, uint64_t, const void **, size_t *);
/* Enters a key under rid in the SCAN index, as isnew does. */
int	store_ridx_put(struct txn *, uint64_t, const void *, size_t);

/* Sets: put answers STORE_EXISTS, get and del STORE_NOTFOUND. */
int	store_rset_get(struct txn *, uint64_t, const void *, size_t);
int	store_rset_put(struct txn *, uint64_t, const void *, size_t);
int	store_rset_del(struct txn *, uint64_t, const void *, size_t);
int	store_rset_walk(struct txn *, uint64_t, int (*)(void *, const void *,
	    size_t), void *);
int	store_rset_drop(struct txn *, uint64_t);
/*
 * For verify: every record of the RESP shim's databases, in key order.
 * One that does not decode is passed too, with NULL for its record,
 * member, name or id (a key record's key is given all the same), and with
 * a rid or gid of 0 if its key is too short to hold one (none is 0).  Any
 * may be deleted.
 */
int	store_rkey_walk_all(struct txn *, int (*)(void *, const void *,
	    size_t, const struct rkey_rec *), void *);
int	store_ridx_walk_all(struct txn *, int (*)(void *, uint64_t,
	    const void *, size_t), void *);
int	store_rset_walk_all(struct txn *, int (*)(void *, uint64_t,
	    const void *, size_t), void *);

/* store-resp-stream.c */
/* Stream entries. */
int	store_rentry_put(struct txn *, uint64_t, const struct mid *,
	    uint64_t node, const struct rbuf *, uint32_t);
/* A live entry; STORE_NOTFOUND for none or a tombstone. */
int	store_rentry_get(struct txn *, uint64_t, const struct mid *,
	    struct rentry *);
/* Makes a live entry a tombstone; STORE_NOTFOUND if there is none. */
int	store_rentry_del(struct txn *, uint64_t, const struct mid *);
/* Removes an entry or tombstone for good. */
int	store_rentry_purge(struct txn *, uint64_t, const struct mid *);
/*
 * From start (inclusive) up, or with rev down, live entries only unless
 * tombstones is set; only a forward walk may delete.
 */
int	store_rentry_walk(struct txn *, uint64_t, const struct mid *start,
	    int rev, int tombstones, int (*)(void *, const struct mid *,
	    const struct rentry *), void *);
int	store_rentry_drop(struct txn *, uint64_t);
/* The string at offset off (0 first); returns the next one's offset. */
size_t	store_rentry_item(const struct rentry *, size_t off,
	    const uint8_t **, size_t *);

/* Consumer groups, their pending entries and their consumers. */
int	store_rgroup_get(struct txn *, uint64_t, const void *, size_t,
	    struct rgroup_rec *);
int	store_rgroup_put(struct txn *, uint64_t, const void *, size_t,
	    const struct rgroup_rec *);
int	store_rgroup_del(struct txn *, uint64_t, const void *, size_t);
int	store_rgroup_walk(struct txn *, uint64_t, int (*)(void *,
	    const void *, size_t, const struct rgroup_rec *), void *);
int	store_rgroup_drop(struct txn *, uint64_t);
int	store_rpel_get(struct txn *, uint64_t, const struct mid *,
	    struct rpel_rec *);
int	store_rpel_put(struct txn *, uint64_t, const struct mid *,
	    const struct rpel_rec *);
int	store_rpel_del(struct txn *, uint64_t, const struct mid *);
int	store_rpel_take(struct txn *, uint64_t, const struct mid *, size_t,
	    void (*)(void *, const struct mid *, const struct rpel_rec *),
	    void *);
int	store_rpel_walk(struct txn *, uint64_t, const struct mid *start,
	    int (*)(void *, const struct mid *, const struct rpel_rec *),
	    void *);
int	store_rpel_drop(struct txn *, uint64_t);
int	store_rcons_get(struct txn *, uint64_t, const void *, size_t,
	    struct rcons_rec *);
/* STORE_OK or STORE_NOTFOUND, the record not read (it may be damaged). */
int	store_rcons_has(struct txn *, uint64_t, const void *, size_t);
int	store_rcons_put(struct txn *, uint64_t, const void *, size_t,
	    const struct rcons_rec *);
int	store_rcons_del(struct txn *, uint64_t, const void *, size_t);
int	store_rcons_walk(struct txn *, uint64_t, int (*)(void *, const void *,
	    size_t, const struct rcons_rec *), void *);
int	store_rcons_drop(struct txn *, uint64_t);
/* For verify, as store_rkey_walk_all above; tombstones included. */
int	store_rentry_walk_all(struct txn *, int (*)(void *, uint64_t,
	    const struct mid *, const struct rentry *), void *);
int	store_rgroup_walk_all(struct txn *, int (*)(void *, uint64_t,
	    const void *, size_t, const struct rgroup_rec *), void *);
int	store_rpel_walk_all(struct txn *, int (*)(void *, uint64_t,
	    const struct mid *, const struct rpel_rec *), void *);
int	store_rcons_walk_all(struct txn *, int (*)(void *, uint64_t,
	    const void *, size_t, const struct rcons_rec *), void *);

/* store-audit.c */
/*
 * The audit spool: events for PostgreSQL, keyed by a 64-bit id, written in
 * the same transaction as the change they describe and deleted once
 * PostgreSQL has confirmed them.  kind is audit.c's; detail is JSON text.
 */
#define AUDIT_ADDR_MAX		63
struct audit_rec {
	uint64_t	 at;		/* Unix ms */
	uint8_t		 kind;
	char		 user[NAME_USER_MAX + 1];	/* "" if none */
	char		 device[NAME_DEVICE_MAX + 1];	/* "" if none */
	char		 addr[AUDIT_ADDR_MAX + 1];	/* "" if none */
	const char	*detail;	/* not NUL-terminated */
	size_t		 detail_len;
};
/* Events not spooled because the spool was full. */
struct audit_gap {
	uint64_t	count;
	uint64_t	first_at;	/* Unix ms */
	uint64_t	last_at;
};
int	store_audit_id_next(struct txn *, uint64_t now, uint64_t *);
int	store_audit_put(struct txn *, uint64_t, const struct audit_rec *);
int	store_audit_del(struct txn *, uint64_t);
/* Events with an id above after, oldest first. */
int	store_audit_walk(struct txn *, uint64_t after, int (*)(void *,
	    uint64_t, const struct audit_rec *), void *);
int	store_audit_count(struct txn *, uint64_t *);
int	store_audit_gap_get(struct txn *, struct audit_gap *);
int	store_audit_gap_put(struct txn *, const struct audit_gap *);
int	store_audit_gap_del(struct txn *);
int	store_audit_shipped_get(struct txn *, uint64_t *id, uint64_t *at);
int	store_audit_shipped_put(struct txn *, uint64_t id, uint64_t at);
/*
 * For verify: every event, oldest first; one that does not decode is
 * passed with NULL for its record, and an id of 0 if its key is too short
 * to hold one.  Any may be deleted.
 */
int	store_audit_walk_all(struct txn *, int (*)(void *, uint64_t,
	    const struct audit_rec *), void *);

/* store-groups.c */
/*
 * Groups (tickd-protocol(7) GROUPS), in their own databases:
 *
 * - groups: "#g" -> the group record; gdesc: "#g" -> its description.
 * - gmembers: "#g\0user" -> role and order numbers; gusers: "user\0#g",
 *   the reverse index.  store_gmember_put and _del keep both.
 * - gnames: "#g" -> creation time, every name ever used, never deleted.
 * - gmsgs: mid -> what a group send promised (expect, skipped).
 * - grcpt: mid + user -> the receipts queued for that member.
 * - gprefs: user -> the group_add setting.
 */
#define GROUP_TITLE_MAX		128
#define GROUP_DESC_MAX		(64 * 1024)	/* most max_group_description */
#define GROLE_MEMBER		0
#define GROLE_ADMIN		1
#define GROLE_OWNER		2
#define GROUP_ADMIN_SEND	0x01
#define GROUP_ADMIN_INFO	0x02
struct group_rec {
	uint64_t	created;	/* Unix ms */
	uint64_t	version;
	uint64_t	seq;		/* last order number handed out */
	uint64_t	members;
	uint8_t		flags;		/* GROUP_ADMIN_* */
	char		owner[NAME_USER_MAX + 1];
	char		title[GROUP_TITLE_MAX + 1];
};
struct gmember_rec {
	uint8_t		role;		/* GROLE_* */
	uint64_t	joined;		/* order number of the join */
	uint64_t	since;		/* order number of the last role change */
};
struct gmsg_rec {
	uint64_t	expect;
	uint64_t	skipped;
	uint8_t		receipts;	/* 0: the group was too large */
};
#define GRCPT_DELIVERED		0x01
#define GRCPT_READ		0x02
int	store_group_get(struct txn *, const char *, struct group_rec *);
int	store_group_put(struct txn *, const char *, const struct group_rec *);
int	store_group_del(struct txn *, const char *);
int	store_group_walk(struct txn *, int (*)(void *, const char *,
	    const struct group_rec *), void *);
int	store_group_count(struct txn *, uint64_t *);
/* The description as a malloc'd NUL-terminated string ("" if none). */
int	store_gdesc_get(struct txn *, const char *, char **);
int	store_gdesc_put(struct txn *, const char *, const char *);
int	store_gname_get(struct txn *, const char *);
int	store_gname_put(struct txn *, const char *, uint64_t);
int	store_gmember_get(struct txn *, const char *, const char *,
	    struct gmember_rec *);
int	store_gmember_put(struct txn *, const char *, const char *,
	    const struct gmember_rec *);
int	store_gmember_del(struct txn *, const char *, const char *);
/* One group's members (group != NULL) by name, or every group's. */
int	store_gmember_walk(struct txn *, const char *, int (*)(void *,
	    const char *, const char *, const struct gmember_rec *), void *);
/* One user's groups (user != NULL) by name, or the whole index. */
int	store_guser_walk(struct txn *, const char *, int (*)(void *,
	    const char *, const char *), void *);
int	store_guser_put(struct txn *, const char *, const char *);
int	store_guser_has(struct txn *, const char *, const char *);
int	store_guser_del(struct txn *, const char *, const char *);
int	store_gmsg_get(struct txn *, const struct mid *, struct gmsg_rec *);
int	store_gmsg_put(struct txn *, const struct mid *,
	    const struct gmsg_rec *);
/* Deletes the gmsgs record and every grcpt record of mid. */
int	store_gmsg_drop(struct txn *, const struct mid *);
int	store_grcpt_get(struct txn *, const struct mid *, const char *,
	    uint8_t *);
int	store_grcpt_put(struct txn *, const struct mid *, const char *,
	    uint8_t);
/* 1 if user's group_add is "nobody"; 0 if "everyone" (the default). */
int	store_gpref_get(struct txn *, const char *, int *);
int	store_gpref_put(struct txn *, const char *, int);
/* store-push.c */
/*
 * Push for offline devices (tickd-protocol(7) PUSH NOTIFICATIONS): a device's
 * endpoint, keyed "user\0device"; its pending notification, keyed the same,
 * written in the batch of the message that makes it due and deleted once its
 * POST has an outcome; and a user's mutes, keyed "user\0chat".
 */
#define PUSH_URL_MAX		1000
#define PUSH_TOKEN_MAX		1024
#define PUSH_P256DH_BYTES	65
#define PUSH_AUTH_BYTES		16
#define PUSH_UNIFIED		0
#define PUSH_WEBHOOK		1
struct push_ep {
	uint8_t		kind;		/* PUSH_UNIFIED or PUSH_WEBHOOK */
	uint8_t		has_keys;	/* p256dh and auth given */
	uint8_t		p256dh[PUSH_P256DH_BYTES];
	uint8_t		auth[PUSH_AUTH_BYTES];
	uint64_t	failures;	/* notifications dropped in a row */
	char		endpoint[PUSH_URL_MAX + 1];
	char		token[PUSH_TOKEN_MAX + 1];	/* "" if none */
};
/* A pending notification: due is when its next POST may start. */
struct push_note {
	uint64_t	created;	/* Unix ms it became pending */
	uint64_t	due;		/* Unix ms */
	uint64_t	tries;		/* POSTs that asked for a retry */
	uint8_t		plain;		/* a 413 was answered: no content */
	struct mid	mid;		/* the newest msg item */
	uint64_t	ts;
};
int	store_push_ep_get(struct txn *, const char *, const char *,
	    struct push_ep *);
int	store_push_ep_put(struct txn *, const char *, const char *,
	    const struct push_ep *);
int	store_push_ep_del(struct txn *, const char *, const char *);
/* One user's endpoints (user != NULL), or every one. */
int	store_push_ep_walk(struct txn *, const char *, int (*)(void *,
	    const char *, const char *, const struct push_ep *), void *);
int	store_push_note_get(struct txn *, const char *, const char *,
	    struct push_note *);
int	store_push_note_put(struct txn *, const char *, const char *,
	    const struct push_note *);
int	store_push_note_del(struct txn *, const char *, const char *);
/* One user's notifications (user != NULL), or every one. */
int	store_push_note_walk(struct txn *, const char *, int (*)(void *,
	    const char *, const char *, const struct push_note *), void *);
/* Mutes: until is Unix ms, 0 for no end. */
int	store_mute_get(struct txn *, const char *, const char *, uint64_t *);
int	store_mute_put(struct txn *, const char *, const char *, uint64_t);
int	store_mute_del(struct txn *, const char *, const char *);
int	store_mute_walk(struct txn *, const char *, int (*)(void *,
	    const char *, uint64_t), void *);

/* store-keys.c */
/*
 * The end-to-end key directory (tickd-protocol(7) KEY DIRECTORY).  Keys
 * are opaque bytes.  keydev: "user\0device" -> the device's identity,
 * signed prekey, optional KEM last-resort key, the sizes of its two
 * one-time pools and whether a keys_low was queued since its last upload.
 * prekeys: "user\0device\0", the pool, then the id big-endian -> the key
 * and its signature, so that a pool walks in id order, lowest first.
 */
#define KEY_POOL_PRE	1		/* one-time prekeys */
#define KEY_POOL_KEM	2		/* one-time KEM prekeys */
#define KEY_ID_MAX	2147483647u
#define KEY_BYTES_MAX	65536		/* largest max_key_bytes */

/* One key; sig is NULL (siglen 0) for a key without signature. */
struct key_rec {
	uint32_t	 id;
	const uint8_t	*key;
	size_t		 keylen;
	const uint8_t	*sig;
	size_t		 siglen;
};

/* A device's keys; every pointer points into buf, which it owns. */
struct keydev_rec {
	const uint8_t	*identity;
	size_t		 idlen;
	struct key_rec	 spk;		/* the signed prekey */
	int		 has_lr;
	struct key_rec	 lr;		/* the KEM last-resort key */
	uint64_t	 npre;		/* keys in the prekey pool */
	uint64_t	 nkem;		/* keys in the KEM prekey pool */
	uint8_t		 low_sent;	/* keys_low queued since the upload */
	uint8_t		*buf;
};
void	store_keydev_free(struct keydev_rec *);
int	store_keydev_get(struct txn *, const char *, const char *,
	    struct keydev_rec *);
int	store_keydev_put(struct txn *, const char *, const char *,
	    const struct keydev_rec *);
int	store_keydev_del(struct txn *, const char *, const char *);
/* One user's devices with keys (user != NULL), or all, in key order. */
int	store_keydev_walk(struct txn *, const char *user, int (*)(void *,
	    const char *, const char *, const struct keydev_rec *), void *);
/* A one-time key: its pointers point into the map (store.h contract). */
int	store_prekey_get(struct txn *, const char *, const char *, int pool,
	    uint32_t, struct key_rec *);
int	store_prekey_put(struct txn *, const char *, const char *, int pool,
	    const struct key_rec *);
int	store_prekey_del(struct txn *, const char *, const char *, int pool,
	    uint32_t);
/* The key of the pool with the lowest id; STORE_NOTFOUND if it is empty. */
int	store_prekey_first(struct txn *, const char *, const char *, int pool,
	    struct key_rec *);
/* Empties one pool, or both if pool is 0; n (if not NULL) counts them. */
int	store_prekey_drop(struct txn *, const char *, const char *, int pool,
	    uint64_t *n);
/* A device's keys and both its pools, as the device is removed. */
int	store_keys_drop(struct txn *, const char *, const char *);
/*
 * For verify: devices with keys exist, one-time keys have such a device,
 * recorded pool sizes are right; problem(arg, fixed, message) for each.
 */
int	store_keys_verify(struct txn *, int fix, void (*)(void *, int,
	    const char *), void *, uint64_t *devices, uint64_t *keys);
/* Every one-time key as (user, device, pool, key), in key order. */
int	store_prekey_walk_all(struct txn *, int (*)(void *, const char *,
	    const char *, int, const struct key_rec *), void *);

/* store-media.c */
/* Media of tickd-protocol(7) MEDIA, keyed by ID. */
#define MEDIA_ID_BYTES		16	/* 128 random bits */
#define MEDIA_TYPE_MAX		255
#define MEDIA_REFS_MAX		24	/* IDs in one message, at most */
struct media_rec {
	char		uploader[NAME_USER_MAX + 1];
	uint8_t		sha256[32];
	uint64_t	size;
	uint64_t	created;	/* Unix ms */
	uint64_t	last_ref;	/* Unix ms its last reference left, 0 */
	uint64_t	refs;		/* messages with items naming it */
	char		type[MEDIA_TYPE_MAX + 1];
};
/* A file under media_dir, named by its SHA-256. */
struct media_file {
	uint64_t	ids;		/* IDs naming it */
	uint64_t	size;
};
#define MEDIA_NODE_MAX		32	/* tickd.h's CLUSTER_NODE_MAX */
/*
 * The media IDs of one message and how many of its items are queued;
 * node[i] is the owner of ids[i] in a cluster, "" for this node's own.
 */
struct media_refs {
	uint64_t	items;
	uint8_t		n;
	uint8_t		ids[MEDIA_REFS_MAX][MEDIA_ID_BYTES];
	char		node[MEDIA_REFS_MAX][MEDIA_NODE_MAX + 1];
};
int	store_media_get(struct txn *, const uint8_t [MEDIA_ID_BYTES],
	    struct media_rec *);
int	store_media_add(struct txn *, const uint8_t [MEDIA_ID_BYTES],
	    const struct media_rec *);
int	store_media_put(struct txn *, const uint8_t [MEDIA_ID_BYTES],
	    const struct media_rec *old, const struct media_rec *);
int	store_media_del(struct txn *, const uint8_t [MEDIA_ID_BYTES],
	    const struct media_rec *);
int	store_media_walk(struct txn *, int (*)(void *, const uint8_t *,
	    const struct media_rec *), void *);
int	store_media_user_walk(struct txn *, const char *, int (*)(void *,
	    uint64_t, const uint8_t *), void *);
int	store_media_idle_walk(struct txn *, int (*)(void *, uint64_t,
	    const uint8_t *), void *);
int	store_media_totals(struct txn *, uint64_t *files, uint64_t *bytes);
int	store_media_file_get(struct txn *, const uint8_t [32],
	    struct media_file *);
int	store_media_file_set(struct txn *, const uint8_t [32], uint64_t ids,
	    uint64_t size);
int	store_media_file_walk(struct txn *, int (*)(void *, const uint8_t *,
	    const struct media_file *), void *);
int	store_media_gone_walk(struct txn *, int (*)(void *, const uint8_t *,
	    const struct media_file *), void *);
int	store_media_gone_get(struct txn *, const uint8_t [32]);
int	store_media_gone_del(struct txn *, const uint8_t [32]);
int	store_media_refs_get(struct txn *, const struct mid *,
	    struct media_refs *);
int	store_media_refs_put(struct txn *, const struct mid *,
	    const struct media_refs *);
int	store_media_refs_del(struct txn *, const struct mid *);
int	store_media_refs_walk(struct txn *, int (*)(void *, const struct mid *,
	    const struct media_refs *), void *);
/*
 * The references another node holds to an ID of this node's, as its mref
 * records counted them: signed, since a -1 may overtake its +1.
 */
int	store_media_rref_get(struct txn *, const uint8_t [MEDIA_ID_BYTES],
	    const char *node, int64_t *);
int	store_media_rref_put(struct txn *, const uint8_t [MEDIA_ID_BYTES],
	    const char *node, int64_t);
/* Every node's count, by ID then node (of id alone if not NULL); may delete. */
int	store_media_rref_walk(struct txn *, const uint8_t *id,
	    int (*)(void *, const uint8_t *, const char *, int64_t), void *);

/* store-cluster.c */
/*
 * A node of a cluster (tickd-cluster(7)): its outbox, keyed "node\0" and
 * mid, in mid order per destination; its dedup records, keyed "origin\0"
 * and om; its directory cache, user -> node; the origin of each item
 * stored for a remote sender, keyed by mid; the cursor and the epoch.
 */
#define COUT_MSG	1	/* a 1:1 message for a remote user */
#define COUT_RCPT	2	/* a receipt for a remote sender */
#define COUT_GEV	3	/* a group's item for members on a node */
#define COUT_GMSG	4	/* a member's message for its group's home */
#define COUT_GLEAVE	5	/* a deleted member's leave, for the home */
#define COUT_MREF	6	/* media references, for the media's owner */
struct cout_rec {
	uint8_t		 kind;		/* COUT_* */
	uint8_t		 holds;		/* holds its media's references */
	uint64_t	 created;	/* Unix ms */
	const char	*payload;	/* JSON text, not NUL-terminated */
	size_t		 len;
};
int	store_cout_put(struct txn *, const char *, const struct mid *,
	    const struct cout_rec *);
int	store_cout_get(struct txn *, const char *, const struct mid *,
	    struct cout_rec *);
int	store_cout_del(struct txn *, const char *, const struct mid *,
	    struct cout_rec *);
int	store_cout_walk(struct txn *, const char *, const struct mid *,
	    int (*)(void *, const char *, const struct mid *,
	    const struct cout_rec *), void *);
int	store_cout_lowest(struct txn *, const char *, struct mid *);
int	store_cout_count(struct txn *, uint64_t *);
int	store_cdedup_get(struct txn *, const char *, const struct mid *);
int	store_cdedup_put(struct txn *, const char *, const struct mid *,
	    uint64_t);
int	store_cdedup_trim(struct txn *, const char *, const struct mid *,
	    uint64_t *);
int	store_cdedup_drop(struct txn *, const char *);
int	store_ccursor_get(struct txn *, struct mid *);
int	store_ccursor_put(struct txn *, const struct mid *);
int	store_cepoch_get(struct txn *, uint64_t *);
int	store_cepoch_put(struct txn *, uint64_t);
#define CRSV_KEY_MAX	96	/* a reservation's group, or its stand-in */
int	store_crsv_put(struct txn *, const char *, const char *, uint64_t);
int	store_crsv_del(struct txn *, const char *, const char *);
int	store_crsv_count(struct txn *, const char *, uint64_t, uint64_t *);
int	store_cdir_get(struct txn *, const char *, char *);
int	store_cdir_put(struct txn *, const char *, const char *);
int	store_cdir_del(struct txn *, const char *);
int	store_cdir_walk(struct txn *, int (*)(void *, const char *,
	    const char *), void *);
int	store_crmsg_put(struct txn *, const struct mid *, const char *,
	    const struct mid *);
int	store_crmsg_get(struct txn *, const struct mid *, char *,
	    struct mid *);
int	store_crmsg_del(struct txn *, const struct mid *);
int	store_cheld_get(struct txn *, const char *, uint64_t *);
int	store_cheld_put(struct txn *, const char *, uint64_t);
int	store_cheld_del(struct txn *, const char *);

/* store-cgroups.c */
/*
 * A local user's membership of a group homed on another node, as the
 * group events applied here tell it (tickd-cluster(7), Groups across
 * nodes), keyed "user\0group": what the groups op answers, and where the
 * group's ops go.
 */
#define CRGROUP_NODE_MAX	32	/* tickd.h's CLUSTER_NODE_MAX */
struct crgroup_rec {
	uint8_t		role;		/* GROLE_* */
	uint64_t	version;
	char		home[CRGROUP_NODE_MAX + 1];
	char		title[GROUP_TITLE_MAX + 1];
};
int	store_crgroup_get(struct txn *, const char *, const char *,
	    struct crgroup_rec *);
int	store_crgroup_put(struct txn *, const char *, const char *,
	    const struct crgroup_rec *);
int	store_crgroup_del(struct txn *, const char *, const char *);
int	store_crgroup_walk(struct txn *, const char *, int (*)(void *,
	    const char *, const char *, const struct crgroup_rec *), void *);

#endif /* TICKD_STORE_H */

/*
 * The store's insides, for the store*.c files only: each defines
 * STORE_INTERNAL before it includes this header.  The databases, the
 * handle, the key and record codec, the sticky-error primitives and the
 * walks that every domain's records are written with; a new domain adds
 * its DB_* before DB_COUNT (and its name to db_names in store.c) and its
 * callbacks to struct walk or struct walk_any.
 */
#if defined(STORE_INTERNAL) && !defined(TICKD_STORE_INTERNAL_H)
#define TICKD_STORE_INTERNAL_H

#include <lmdb.h>

/* The named databases, one per kind of record (db_names in store.c). */
enum {
	DB_META,
	DB_USERS,
	DB_DEVICES,
	DB_TOKENS,
	DB_QUEUES,
	DB_MSGS,
	DB_DEDUP,
	DB_BLOCKS,
	DB_AUDIT,
	DB_RKEYS,
	DB_RIDX,
	DB_RSETS,
	DB_RENTRIES,
	DB_RGROUPS,
	DB_RPEL,
	DB_RCONS,
	DB_GROUPS,
	DB_GDESC,
	DB_GMEMBERS,
	DB_GUSERS,
	DB_GNAMES,
	DB_GMSGS,
	DB_GRCPT,
	DB_GPREFS,
	DB_KEYDEV,
	DB_PREKEYS,
	DB_MEDIA,
	DB_MEDIA_USER,
	DB_MEDIA_FILE,
	DB_MEDIA_IDLE,
	DB_MEDIA_GONE,
	DB_MEDIA_REFS,
	DB_MEDIA_RREFS,
	DB_PUSH_EPS,
	DB_PUSH_NOTES,
	DB_MUTES,
	DB_COUT,
	DB_CDEDUP,
	DB_CDIR,
	DB_CRMSG,
	DB_CRGROUP,
	DB_COUNT
};

/* An open store: the environment and a handle per database. */
struct store {
	MDB_env		*env;
	MDB_dbi		 dbi[DB_COUNT];
	char		*path;		/* the data file */
	/* store_set_name_hash()'s hash of long names, for tests. */
	uint64_t	(*name_hash)(const void *, size_t);
	struct store_totals totals;	/* committed, once counted */
	int		 counted;	/* store_totals_start ran */
	struct store_live *live;	/* store_oldest_start's, or NULL */
	MDB_txn		*rtxn;		/* a reset read txn to renew, or NULL */
};

/* The handle of a database a read-only store does not have yet. */
#define DBI_NONE	((MDB_dbi)~0U)

#define QKEY_BYTES	(8 + MID_BYTES)
#define NKEY_MAX	(NAME_USER_MAX + 1 + NAME_GROUP_MAX)	/* >= user\0id */
#define ITEM_HDR	(1 + 1 + 8)	/* version, kind, ts */
#define REC_MAX		512

/* A key of two names joined by a NUL, as the contract above says. */
struct nkey {
	char	b[NKEY_MAX];
	size_t	len;
};

/* A record being encoded. */
struct enc {
	uint8_t	b[REC_MAX];
	size_t	len;
};

/* A record being decoded; any short read or bad length sets bad. */
struct dec {
	const uint8_t	*p;
	size_t		 len, off;
	int		 bad;
};

/* The user's callback of a walk and its argument. */
struct walk {
	union {
		int	(*user)(void *, const char *, const struct user_rec *);
		int	(*dev)(void *, const char *, const char *,
			    const struct dev_rec *);
		int	(*token)(void *, const uint8_t *,
			    const struct token_rec *);
		int	(*item)(void *, const struct mid *,
			    const struct item *);
		int	(*msg)(void *, const struct mid *,
			    const struct msg_rec *);
		int	(*block)(void *, const char *);
		int	(*audit)(void *, uint64_t, const struct audit_rec *);
		int	(*group)(void *, const char *, const struct group_rec *);
		int	(*gmember)(void *, const char *, const char *,
			    const struct gmember_rec *);
		int	(*guser)(void *, const char *, const char *);
		int	(*keydev)(void *, const char *, const char *,
			    const struct keydev_rec *);
		int	(*prekey)(void *, const char *, const char *, int,
			    const struct key_rec *);
		int	(*media)(void *, const uint8_t *,
			    const struct media_rec *);
		int	(*media_id)(void *, uint64_t, const uint8_t *);
		int	(*media_sha)(void *, const uint8_t *,
			    const struct media_file *);
		int	(*media_refs)(void *, const struct mid *,
			    const struct media_refs *);
		int	(*media_rref)(void *, const uint8_t *, const char *,
			    int64_t);
		int	(*ubytes)(void *, const char *, uint64_t);
		int	(*pushep)(void *, const char *, const char *,
			    const struct push_ep *);
		int	(*pushnote)(void *, const char *, const char *,
			    const struct push_note *);
		int	(*mute)(void *, const char *, uint64_t);
		int	(*cout)(void *, const char *, const struct mid *,
			    const struct cout_rec *);
		int	(*cdir)(void *, const char *, const char *);
		int	(*crgroup)(void *, const char *, const char *,
			    const struct crgroup_rec *);
	} fn;
	void	*arg;
	uint64_t deleted;	/* entries a walk deleted, where counted */
	int	 corrupt;	/* an entry did not decode */
	int	 rev;		/* walk backwards */
};

/*
 * Walk adapters decode one entry and return the callback's STORE_WALK_*
 * code, or set corrupt and stop.
 */
typedef int (*walk_fn)(struct walk *, const MDB_val *, const MDB_val *);

/* A callback of the whole-database walks (walk_all), and its argument. */
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

/* store.c */
/* Keys and the record codec. */
void	be64enc(uint8_t *, uint64_t);
int	nkey_make(struct nkey *, const char *, size_t, const char *, size_t);
int	name_copy(char *, size_t, const void *, size_t);
void	qkey_make(uint8_t *, uint64_t, const struct mid *);
uint64_t rid_dec(const uint8_t *);
uint64_t rnum_dec(const MDB_val *);
void	enc_init(struct enc *);
void	enc_bytes(struct enc *, const void *, size_t);
void	enc_u8(struct enc *, uint8_t);
void	enc_u64(struct enc *, uint64_t);
void	enc_str(struct enc *, const char *, size_t);
void	dec_init(struct dec *, const MDB_val *);
void	dec_bytes(struct dec *, void *, size_t);
uint8_t	dec_u8(struct dec *);
uint64_t dec_u64(struct dec *);
void	dec_str(struct dec *, char *, size_t);
int	dec_end(struct dec *);

/*
 * LMDB calls under the sticky error; db is a DB_*, or for txn_result -1,
 * the environment.
 */
int	txn_result(struct txn *, int rc, int db, const char *);
int	txn_fail(struct txn *, int db, const char *);
int	db_get(struct txn *, int, const void *, size_t, MDB_val *);
int	db_put(struct txn *, int, const void *, size_t, const void *, size_t,
	    unsigned int);
int	db_del(struct txn *, int, const void *, size_t);
int	db_take(struct txn *, int, const void *, size_t,
	    int (*)(const MDB_val *, void *), void *);

/* The walks, and the adapter that deletes every entry. */
int	db_walk(struct txn *, int, const void *prefix, size_t,
	    const void *seek, size_t, int skip, walk_fn, struct walk *);
int	walk_corrupt(struct walk *);
int	db_walk_num(struct txn *, int, uint64_t, const struct mid *start,
	    walk_fn, void *);
int	drop_fn(struct walk *, const MDB_val *, const MDB_val *);
int	walk_all(struct txn *, int, walk_fn, struct walk_any *);

/* store-live.c: each write of a queue item tells live_touch. */
struct live_change;
void	live_touch(struct txn *, uint64_t qid, const struct mid *);
void	live_forget(struct txn *);
size_t	live_read(struct txn *, struct live_change **);
void	live_apply(struct store *, struct live_change *, size_t);
void	live_free(struct store_live *);

/* The meta database's numbers and counters. */
int	meta_get_u64s(struct txn *, const char *, uint64_t *, int);
int	meta_put_u64s(struct txn *, const char *, const uint64_t *, int);
int	meta_next(struct txn *, const char *, uint64_t min, uint64_t *);

/* store-resp.c */
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

/*
 * Records keyed by a number and a name, short or long (a set's members,
 * a stream's consumer groups, a group's consumers), and the name and
 * record that a walk's entry of them holds.
 */
int	rn_split(const MDB_val *, const MDB_val *, size_t, const uint8_t **,
	    size_t *, MDB_val *);
int	rrec_get(struct txn *, int, uint64_t, const void *, size_t,
	    MDB_val *);
int	rrec_put(struct txn *, int, uint64_t, const void *, size_t,
	    const struct enc *, unsigned int);
int	rrec_del(struct txn *, int, uint64_t, const void *, size_t);

#endif /* STORE_INTERNAL */
