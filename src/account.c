/* SPDX-License-Identifier: ISC */
/*
 * account.c: accounts, their devices and login tokens (tickd-protocol(7)
 * DEVICES, rules 1 to 4).  A token is 32 random bytes sent
 * as hex; the store keeps only its SHA-256, so a copy of the data_dir
 * does not hand out working tokens.
 *
 * And what an account decides for itself: whom it blocks and its settings
 * (tickd-protocol(7), BLOCKING, PRESENCE AND TYPING, and SETTINGS).  The
 * WebSocket ops and the RESP view blocked:USER both come here; what a
 * block then hides is applied where it is read (queue.c, presence.c).
 */
#include <stdio.h>
#include <string.h>

#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/rand.h>

#include "tickd.h"

/* Device walk callback: counts devices, stopping at the second. */
static int
count_fn(void *arg, const char *user, const char *device,
    const struct dev_rec *r)
{
	int	*n = arg;

	(void)user;
	(void)device;
	(void)r;
	return (++*n >= 2 ? STORE_WALK_STOP : STORE_WALK_NEXT);
}

/* How many devices user has: 0, 1, or 2 for two or more. */
static int
device_count(struct txn *txn, const char *user, int *n)
{
	*n = 0;
	return (store_device_walk(txn, user, count_fn, n));
}

/* A new device record with its own, never used, queue number. */
static int
device_new(struct txn *txn, uint64_t now, int claimed, struct dev_rec *r)
{
	memset(r, 0, sizeof *r);
	r->created = now;
	r->last_active = now;
	r->claimed = claimed;
	return (store_qid_next(txn, &r->qid));
}

/* Gives user a fresh unclaimed "default" with an empty queue. */
static int
device_add_default(struct txn *txn, const char *user, uint64_t now)
{
	struct dev_rec	r;
	int		rc;

	if ((rc = device_new(txn, now, 0, &r)) != STORE_OK)
		return (rc);
	return (store_device_put(txn, user, DEVICE_DEFAULT, &r));
}

/*
 * The unclaimed "default" in *r if it is user's only device, else
 * STORE_NOTFOUND.
 */
static int
lone_default(struct txn *txn, const char *user, struct dev_rec *r)
{
	int	rc, n;

	if ((rc = store_device_get(txn, user, DEVICE_DEFAULT, r)) != STORE_OK)
		return (rc);
	if (r->claimed)
		return (STORE_NOTFOUND);
	if ((rc = device_count(txn, user, &n)) != STORE_OK)
		return (rc);
	return (n == 1 ? STORE_OK : STORE_NOTFOUND);
}

/* Device walk callback: counts every device. */
static int
count_all_fn(void *arg, const char *user, const char *device,
    const struct dev_rec *r)
{
	(void)user;
	(void)device;
	(void)r;
	(*(uint64_t *)arg)++;
	return (STORE_WALK_NEXT);
}

/*
 * Whether a login of user as device would add a device beyond max
 * (tickd.conf(5) max_devices_per_user): not for an existing device, nor
 * for the lone unclaimed "default" that the login renames.
 */
int
account_device_limited(struct txn *txn, const char *user, const char *device,
    uint64_t max, int *over)
{
	struct dev_rec	 r;
	uint64_t	 n = 0;
	int		 rc;

	*over = 0;
	rc = store_device_get(txn, user, device != NULL ? device :
	    DEVICE_DEFAULT, &r);
	if (rc == STORE_NOTFOUND)
		rc = lone_default(txn, user, &r);
	if (rc != STORE_NOTFOUND)
		return (rc);
	if ((rc = store_device_walk(txn, user, count_all_fn, &n)) != STORE_OK)
		return (rc);
	*over = n >= max;
	return (STORE_OK);
}

/*
 * Creates an account with the password hash of auth (its salt, hash and
 * KDF) and one unclaimed device "default" (rule 1).  A taken name is
 * *err = TE_NAME_TAKEN, not a store error.
 */
int
account_import(struct txn *txn, const char *user,
    const struct user_rec *auth, uint64_t now, enum tick_err *err)
{
	struct user_rec	u;
	int		rc;

	*err = TE_OK;
	memset(&u, 0, sizeof u);
	u.created = now;
	u.last_seen = 0;
	memcpy(u.salt, auth->salt, sizeof u.salt);
	memcpy(u.hash, auth->hash, sizeof u.hash);
	u.kdf = auth->kdf;
	u.kdf_ln = auth->kdf_ln;
	u.kdf_r = auth->kdf_r;
	u.kdf_p = auth->kdf_p;
	u.read_receipts = 1;
	u.last_seen_vis = LASTSEEN_EVERYONE;
	rc = store_user_add(txn, user, &u);
	OPENSSL_cleanse(&u, sizeof u);
	if (rc == STORE_EXISTS) {
		*err = TE_NAME_TAKEN;
		return (STORE_OK);
	}
	if (rc != STORE_OK)
		return (rc);
	return (device_add_default(txn, user, now));
}

/* Sets u's KDF to the cost of new hashes, kdf_hash's. */
void
account_kdf_default(struct user_rec *u)
{
	u->kdf = KDF_SCRYPT;
	u->kdf_ln = KDF_SCRYPT_LN;
	u->kdf_r = KDF_SCRYPT_R;
	u->kdf_p = KDF_SCRYPT_P;
}

/*
 * Creates an account whose password hash kdf_hash made, at the cost of
 * new hashes, as account_import does.
 */
int
account_register(struct txn *txn, const char *user, const uint8_t salt[16],
    const uint8_t hash[32], uint64_t now, enum tick_err *err)
{
	struct user_rec	auth;
	int		rc;

	memcpy(auth.salt, salt, sizeof auth.salt);
	memcpy(auth.hash, hash, sizeof auth.hash);
	account_kdf_default(&auth);
	rc = account_import(txn, user, &auth, now, err);
	OPENSSL_cleanse(&auth, sizeof auth);
	return (rc);
}

/* The value of one base64 character (RFC 4648, "+/"), or -1. */
static int
b64_value(char ch)
{
	static const char	 abc[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZ"
	    "abcdefghijklmnopqrstuvwxyz0123456789+/";
	const char		*p;

	if (ch == '\0' || (p = strchr(abc, ch)) == NULL)
		return (-1);
	return ((int)(p - abc));
}

/*
 * Decodes exactly want bytes of base64 from s, up to end, padded with "="
 * or not (as the PHC string format writes it); -1 otherwise.
 */
static int
b64_exact(const char *s, const char *end, uint8_t *out, size_t want)
{
	uint32_t	acc = 0;
	size_t		n = 0;
	int		bits = 0, v;

	while (end > s && end[-1] == '=')
		end--;
	for (; s < end; s++) {
		if ((v = b64_value(*s)) == -1)
			return (-1);
		acc = (acc << 6) | (uint32_t)v;
		if ((bits += 6) >= 8) {
			bits -= 8;
			if (n == want)
				return (-1);
			out[n++] = (uint8_t)(acc >> bits);
		}
	}
	return (n == want && (acc & ((1U << bits) - 1)) == 0 ? 0 : -1);
}

/*
 * Parses a password hash in the PHC string format of scrypt,
 *
 *	$scrypt$ln=14,r=8,p=1$SALT$HASH
 *
 * SALT 16 and HASH 32 bytes in base64 (tickctl(8) user import), into u's
 * salt, hash and KDF.  Parameters whose run would need more than
 * KDF_MAXMEM of memory are refused; *why says what is wrong.
 */
int
account_hash_parse(const char *s, struct user_rec *u, const char **why)
{
	unsigned int	 ln, r, p;
	const char	*salt, *hash;
	int		 used = 0;

	*why = "not $scrypt$ln=N,r=N,p=N$SALT$HASH";
	if (sscanf(s, "$scrypt$ln=%2u,r=%3u,p=%3u$%n", &ln, &r, &p, &used) !=
	    3 || used == 0 || s[used - 1] != '$')
		return (-1);
	salt = s + used;
	if ((hash = strchr(salt, '$')) == NULL)
		return (-1);
	hash++;
	*why = "ln must be 1-24, r and p 1-255";
	if (ln < 1 || ln > 24 || r < 1 || r > 255 || p < 1 || p > 255)
		return (-1);
	*why = "the parameters need more memory than scrypt may use here";
	if (128ULL * r * ((1ULL << ln) + 2) + 128ULL * r * p > KDF_MAXMEM)
		return (-1);
	*why = "SALT must be 16 bytes in base64";
	if (b64_exact(salt, hash - 1, u->salt, sizeof u->salt) != 0)
		return (-1);
	*why = "HASH must be 32 bytes in base64";
	if (b64_exact(hash, hash + strlen(hash), u->hash, sizeof u->hash) != 0)
		return (-1);
	u->kdf = KDF_SCRYPT;
	u->kdf_ln = (uint8_t)ln;
	u->kdf_r = (uint8_t)r;
	u->kdf_p = (uint8_t)p;
	*why = NULL;
	return (0);
}

/*
 * The device a login names (rule 2): device itself if it exists; else the
 * account's lone unclaimed "default", renamed and keeping its queue; else
 * a new device with an empty queue.  A NULL device means "default".  The
 * device is claimed and active now; its name and record are copied out.
 */
int
account_claim_device(struct txn *txn, const char *user, const char *device,
    uint64_t now, char out_name[NAME_DEVICE_MAX + 1], struct dev_rec *out)
{
	struct user_rec	 u;
	struct dev_rec	 r;
	const char	*name;
	int		 rc;

	if ((rc = store_user_get(txn, user, &u)) != STORE_OK)
		return (rc);
	name = device != NULL ? device : DEVICE_DEFAULT;
	rc = store_device_get(txn, user, name, &r);
	if (rc == STORE_NOTFOUND && strcmp(name, DEVICE_DEFAULT) != 0) {
		if ((rc = lone_default(txn, user, &r)) == STORE_OK)
			rc = store_device_del(txn, user, DEVICE_DEFAULT);
	}
	if (rc == STORE_NOTFOUND)
		rc = device_new(txn, now, 1, &r);
	if (rc != STORE_OK)
		return (rc);
	r.claimed = 1;
	r.last_active = now;
	if ((rc = store_device_put(txn, user, name, &r)) != STORE_OK)
		return (rc);
	snprintf(out_name, NAME_DEVICE_MAX + 1, "%s", name);
	*out = r;
	return (STORE_OK);
}

/*
 * Removes a device with its queue (rules 3 and 4) and its keys
 * (tickd-protocol(7) KEY DIRECTORY, rule 8).  A user left without
 * a device gets a fresh unclaimed "default" so messages wait for the next
 * login.  The device's tokens stop working because the device is gone;
 * queue_sweep deletes them.
 */
int
account_remove_device(struct txn *txn, struct midgen *gen, const char *user,
    const char *device, uint64_t now)
{
	struct dev_rec	r;
	int		rc, n;

	if ((rc = store_device_get(txn, user, device, &r)) != STORE_OK)
		return (rc);
	if ((rc = media_queue_release(txn, gen, r.qid, now)) != STORE_OK ||
	    (rc = store_queue_drop(txn, r.qid)) != STORE_OK ||
	    (rc = store_keys_drop(txn, user, device)) != STORE_OK ||
	    (rc = store_device_del(txn, user, device)) != STORE_OK ||
	    (rc = push_forget(txn, user, device)) != STORE_OK ||
	    (rc = device_count(txn, user, &n)) != STORE_OK)
		return (rc);
	if (n > 0)
		return (STORE_OK);
	return (device_add_default(txn, user, now));
}

/* OpenSSL's reason for its last error, for the log. */
static const char *
ssl_error(void)
{
	const char	*s;

	if ((s = ERR_reason_error_string(ERR_get_error())) == NULL)
		return ("unknown error");
	return (s);
}

/* SHA-256 of a token's raw bytes: the key it is stored under. */
static int
token_hash(const uint8_t raw[TOKEN_BYTES], uint8_t hash[32])
{
	if (EVP_Digest(raw, TOKEN_BYTES, hash, NULL, EVP_sha256(), NULL) !=
	    1) {
		log_warnx("account: SHA-256 failed: %s", ssl_error());
		return (STORE_ERR);
	}
	return (STORE_OK);
}

/*
 * The hash of a token as sent: STORE_NOTFOUND unless it is 64 hex digits,
 * after the node name and "." that a node of a cluster puts first
 * (tickd-cluster(7), Home nodes); the front ends send a token naming
 * another node there before it gets here.
 */
static int
token_parse(const char *token, uint8_t hash[32])
{
	uint8_t	 raw[TOKEN_BYTES];
	size_t	 nlen;
	int	 rc;

	if (cluster_home_of(token, strnlen(token, CLUSTER_NODE_MAX + 1),
	    &nlen))
		token += nlen + 1;
	if (strnlen(token, TOKEN_HEXLEN + 1) != TOKEN_HEXLEN ||
	    hex_decode(token, TOKEN_HEXLEN, raw) != 0)
		return (STORE_NOTFOUND);
	rc = token_hash(raw, hash);
	explicit_bzero(raw, sizeof raw);
	return (rc);
}

/* Issues a token for user's device, which has queue qid, into out. */
int
account_token_issue(struct txn *txn, const char *user, const char *device,
    uint64_t qid, uint64_t expires, char out[TOKEN_HEXLEN + 1])
{
	uint8_t			raw[TOKEN_BYTES], hash[32];
	struct token_rec	t;
	int			rc;

	if (RAND_bytes(raw, sizeof raw) != 1) {
		log_warnx("account: no random bytes for a token: %s",
		    ssl_error());
		return (STORE_ERR);
	}
	if ((rc = token_hash(raw, hash)) == STORE_OK) {
		memset(&t, 0, sizeof t);
		t.expires = expires;
		t.qid = qid;
		strlcpy(t.user, user, sizeof t.user);
		strlcpy(t.device, device, sizeof t.device);
		if ((rc = store_token_put(txn, hash, &t)) == STORE_OK)
			hex_encode(raw, sizeof raw, out);
	}
	explicit_bzero(raw, sizeof raw);
	return (rc);
}

/*
 * Checks a token: it must exist, not have expired, and its device must
 * still exist with the same queue, so a device logged out and created
 * again does not take over the old device's tokens.
 */
int
account_token_check(struct txn *txn, const char *token, uint64_t now,
    struct token_rec *out)
{
	uint8_t			hash[32];
	struct token_rec	t;
	struct dev_rec		r;
	int			rc;

	if ((rc = token_parse(token, hash)) != STORE_OK ||
	    (rc = store_token_get(txn, hash, &t)) != STORE_OK)
		return (rc);
	if (t.expires <= now)
		return (STORE_NOTFOUND);
	if ((rc = store_device_get(txn, t.user, t.device, &r)) != STORE_OK)
		return (rc);
	if (r.qid != t.qid)
		return (STORE_NOTFOUND);
	*out = t;
	return (STORE_OK);
}

/* Deletes a token: it stops working at once. */
int
account_token_revoke(struct txn *txn, const char *token)
{
	uint8_t	hash[32];
	int	rc;

	if ((rc = token_parse(token, hash)) != STORE_OK)
		return (rc);
	return (store_token_del(txn, hash));
}

/*
 * Whether other is a name user may block or unblock: a valid user name,
 * and not user's own (blocking oneself is a bad_request).
 */
int
account_block_valid(const char *user, const char *other)
{
	return (valid_user(other, strlen(other)) && strcmp(other, user) != 0);
}

/*
 * Whether user may block or unblock other, changing nothing: res->err is
 * TE_BAD_REQUEST for a name account_block_valid() refuses, TE_NO_SUCH_USER
 * if other has no account, here or (in a cluster) in this node's cache of
 * the directory.  STORE_NOTFOUND if user has none.
 */
int
account_block_check(struct txn *txn, const char *user, const char *other,
    struct block_res *res)
{
	struct user_rec	u;
	char		node[CLUSTER_NODE_MAX + 1];
	int		rc;

	memset(res, 0, sizeof *res);
	if ((rc = store_user_get(txn, user, &u)) != STORE_OK)
		return (rc);
	if (!account_block_valid(user, other)) {
		res->err = TE_BAD_REQUEST;
		return (STORE_OK);
	}
	if ((rc = store_user_get(txn, other, &u)) == STORE_NOTFOUND &&
	    (rc = store_cdir_get(txn, other, node)) == STORE_NOTFOUND) {
		res->err = TE_NO_SUCH_USER;
		return (STORE_OK);
	}
	return (rc);
}

/*
 * user blocks other, if account_block_check() allows it; res->changed if
 * the block is new.  From now on other's messages to user are queued for
 * other's own devices only, and other sees user offline.
 */
int
account_block(struct txn *txn, const char *user, const char *other,
    struct block_res *res)
{
	int	rc;

	if ((rc = account_block_check(txn, user, other, res)) != STORE_OK ||
	    res->err != TE_OK)
		return (rc);
	if ((rc = store_block_get(txn, user, other)) != STORE_NOTFOUND)
		return (rc);
	res->changed = 1;
	return (store_block_put(txn, user, other));
}

/*
 * user lifts its block of other, if account_block_check() allows it;
 * res->changed if there was one.
 */
int
account_unblock(struct txn *txn, const char *user, const char *other,
    struct block_res *res)
{
	int	rc;

	if ((rc = account_block_check(txn, user, other, res)) != STORE_OK ||
	    res->err != TE_OK)
		return (rc);
	if ((rc = store_block_get(txn, user, other)) != STORE_OK)
		return (rc == STORE_NOTFOUND ? STORE_OK : rc);
	res->changed = 1;
	return (store_block_del(txn, user, other));
}

/*
 * Changes user's settings (tickd-protocol(7), SETTINGS): those of s that
 * are not -1.  *err is TE_BAD_REQUEST, and nothing changes, for a value
 * out of range.  STORE_NOTFOUND if user has no account.
 */
int
account_settings(struct txn *txn, const char *user,
    const struct settings *s, enum tick_err *err)
{
	struct user_rec	u;
	int		rc;

	*err = TE_OK;
	if (s->read_receipts < -1 || s->read_receipts > 1 ||
	    (s->last_seen != -1 && s->last_seen != LASTSEEN_EVERYONE &&
	    s->last_seen != LASTSEEN_NOBODY) ||
	    s->group_add_nobody < -1 || s->group_add_nobody > 1) {
		*err = TE_BAD_REQUEST;
		return (STORE_OK);
	}
	if ((rc = store_user_get(txn, user, &u)) != STORE_OK)
		return (rc);
	if (s->read_receipts != -1)
		u.read_receipts = (uint8_t)s->read_receipts;
	if (s->last_seen != -1)
		u.last_seen_vis = (uint8_t)s->last_seen;
	if ((rc = store_user_put(txn, user, &u)) != STORE_OK ||
	    s->group_add_nobody == -1)
		return (rc);
	return (store_gpref_put(txn, user, s->group_add_nobody));
}
