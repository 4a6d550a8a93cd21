/* SPDX-License-Identifier: ISC */
/*
 * push.c: the rules of push for offline devices (tickd-protocol(7) PUSH
 * NOTIFICATIONS): which endpoints a device may register, when a notification
 * becomes pending and what its POST carries, what an answer means, mutes, and
 * RFC 8291 message encryption.  The HTTP side is push-http.c.
 */
#include <sys/types.h>
#include <sys/socket.h>
#include <netinet/in.h>
#include <arpa/inet.h>

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/core_names.h>
#include <openssl/ec.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>
#include <openssl/kdf.h>
#include <openssl/pem.h>
#include <openssl/param_build.h>
#include <openssl/params.h>
#include <openssl/rand.h>

#include "tickd.h"

#define WAKE_BODY_MAX	4096	/* push_content body falls back above it */
#define RECORD_SIZE	4096	/* RFC 8291 rs */

static const char *const kinds[] = {
	[PUSH_UNIFIED] = "unifiedpush",
	[PUSH_WEBHOOK] = "webhook",
};

/* The name of an endpoint kind. */
const char *
push_kind_name(int kind)
{
	return (kind == PUSH_WEBHOOK ? kinds[PUSH_WEBHOOK] :
	    kinds[PUSH_UNIFIED]);
}

/* Decodes unpadded base64url into out; the length, or -1. */
ssize_t
push_b64url_decode(const char *s, size_t len, uint8_t *out, size_t max)
{
	uint32_t	acc = 0;
	size_t		i, n = 0;
	int		bits = 0, v;

	for (i = 0; i < len; i++) {
		if (s[i] >= 'A' && s[i] <= 'Z')
			v = s[i] - 'A';
		else if (s[i] >= 'a' && s[i] <= 'z')
			v = s[i] - 'a' + 26;
		else if (s[i] >= '0' && s[i] <= '9')
			v = s[i] - '0' + 52;
		else if (s[i] == '-')
			v = 62;
		else if (s[i] == '_')
			v = 63;
		else if (s[i] == '=' && i + 2 >= len)
			break;
		else
			return (-1);
		acc = (acc << 6) | (uint32_t)v;
		bits += 6;
		if (bits >= 8) {
			bits -= 8;
			if (n == max)
				return (-1);
			out[n++] = (uint8_t)(acc >> bits);
		}
	}
	return ((ssize_t)n);
}

/* Encodes len bytes as unpadded base64url; out holds 4 * len / 3 + 4. */
void
push_b64url_encode(const uint8_t *p, size_t len, char *out)
{
	static const char	a[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZ"
	    "abcdefghijklmnopqrstuvwxyz0123456789-_";
	uint32_t		acc = 0;
	size_t			i;
	int			bits = 0;

	for (i = 0; i < len; i++) {
		acc = (acc << 8) | p[i];
		bits += 8;
		while (bits >= 6) {
			bits -= 6;
			*out++ = a[(acc >> bits) & 63];
		}
	}
	if (bits > 0)
		*out++ = a[(acc << (6 - bits)) & 63];
	*out = '\0';
}

/* Whether host matches one blank-separated pattern of push_allow_hosts. */
static int
host_allowed(const char *allow, const char *host)
{
	const char	*p = allow, *e;
	size_t		 plen, hlen = strlen(host);

	while (p != NULL && *p != '\0') {
		while (*p == ' ' || *p == '\t')
			p++;
		for (e = p; *e != '\0' && *e != ' ' && *e != '\t'; e++)
			;
		plen = (size_t)(e - p);
		if (plen > 2 && p[0] == '*' && p[1] == '.') {
			/* "*.example.org": a subdomain, not the name. */
			if (hlen > plen - 1 && strncasecmp(host + hlen -
			    (plen - 1), p + 1, plen - 1) == 0)
				return (1);
		} else if (plen != 0 && plen == hlen &&
		    strncasecmp(p, host, plen) == 0)
			return (1);
		p = e;
	}
	return (0);
}

/*
 * Whether push is on: built in (configure --without-push leaves it out)
 * and push_allow_hosts set (tickd.conf(5) Push).
 */
int
push_enabled(const struct conf *conf)
{
#ifdef HAVE_PUSH
	return (conf->push_allow_hosts != NULL);
#else
	(void)conf;
	return (0);
#endif
}

/*
 * Checks an endpoint URL against rule 2 of tickd-protocol(7) PUSH
 * NOTIFICATIONS, all but its addresses; the host goes to host.  NULL if it
 * passes, else why not.
 */
const char *
push_url_check(const struct conf *conf, const char *url, char *host,
    size_t hostlen)
{
	const char	*p, *auth, *end;
	size_t		 n;

	if (!push_enabled(conf))
		return (conf->push_allow_hosts != NULL ? "push is not built "
		    "into this server" : "push is not enabled on this server");
	if (strlen(url) > PUSH_URL_MAX)
		return ("endpoint longer than 1000 bytes");
	if (strncasecmp(url, "https://", 8) == 0)
		auth = url + 8;
	else if (strncasecmp(url, "http://", 7) == 0) {
		if (!conf->push_allow_http)
			return ("endpoint must be https");
		auth = url + 7;
	} else
		return ("endpoint must be an https URL");
	if (strchr(url, '#') != NULL)
		return ("endpoint has a fragment");
	for (p = url; *p != '\0'; p++)
		if ((unsigned char)*p <= ' ' || (unsigned char)*p >= 0x7f)
			return ("endpoint is not a URL");
	end = auth + strcspn(auth, "/?");
	if (memchr(auth, '@', (size_t)(end - auth)) != NULL)
		return ("endpoint has user info");
	if (*auth == '[') {
		if ((p = memchr(auth, ']', (size_t)(end - auth))) == NULL)
			return ("endpoint is not a URL");
		auth++;
		n = (size_t)(p - auth);
	} else {
		p = memchr(auth, ':', (size_t)(end - auth));
		n = (size_t)((p != NULL ? p : end) - auth);
	}
	if (n == 0 || n >= hostlen)
		return ("endpoint has no host");
	memcpy(host, auth, n);
	host[n] = '\0';
	if (!host_allowed(conf->push_allow_hosts, host))
		return ("endpoint host not in push_allow_hosts");
	return (NULL);
}

/* Whether an IPv4 address, in host order, is public. */
static int
v4_public(uint32_t a)
{
	return (!((a >> 24) == 0 || (a >> 24) == 10 || (a >> 24) == 127 ||
	    (a >> 16) == 0xa9fe || (a >> 20) == 0xac1 || (a >> 16) == 0xc0a8 ||
	    (a >> 22) == (100 << 2 | 1) || (a >> 28) >= 0xe));
}

/*
 * Whether an address is public: not loopback, private, link-local,
 * unique-local, unspecified or multicast (rule 2).
 */
int
push_addr_public(const struct sockaddr *sa)
{
	struct sockaddr_in	s4;
	struct sockaddr_in6	s6;
	const uint8_t		*b;

	if (sa->sa_family == AF_INET) {
		memcpy(&s4, sa, sizeof s4);
		return (v4_public(ntohl(s4.sin_addr.s_addr)));
	}
	if (sa->sa_family != AF_INET6)
		return (0);
	memcpy(&s6, sa, sizeof s6);
	b = s6.sin6_addr.s6_addr;
	if (IN6_IS_ADDR_V4MAPPED(&s6.sin6_addr))
		return (v4_public((uint32_t)b[12] << 24 |
		    (uint32_t)b[13] << 16 | (uint32_t)b[14] << 8 | b[15]));
	return (!(IN6_IS_ADDR_UNSPECIFIED(&s6.sin6_addr) ||
	    IN6_IS_ADDR_LOOPBACK(&s6.sin6_addr) ||
	    IN6_IS_ADDR_LINKLOCAL(&s6.sin6_addr) ||
	    IN6_IS_ADDR_SITELOCAL(&s6.sin6_addr) ||
	    IN6_IS_ADDR_MULTICAST(&s6.sin6_addr) || (b[0] & 0xfe) == 0xfc));
}

/*
 * Parses a push_register frame into ep (bad input of tickd-protocol(7) PUSH
 * NOTIFICATIONS); TE_OK, TE_BAD_REQUEST or TE_PUSH_REJECTED with why.
 */
enum tick_err
push_register_parse(const struct conf *conf, json_t *req, struct push_ep *ep,
    char *host, size_t hostlen, const char **why)
{
	json_t		*kind, *url, *p256dh, *auth, *token;
	ssize_t		 n;

	memset(ep, 0, sizeof *ep);
	kind = json_object_get(req, "kind");
	url = json_object_get(req, "endpoint");
	p256dh = json_object_get(req, "p256dh");
	auth = json_object_get(req, "auth");
	token = json_object_get(req, "token");
	*why = "push_register needs \"endpoint\", an URL string";
	if (kind == NULL || (json_is_string(kind) &&
	    strcmp(json_string_value(kind), "unifiedpush") == 0))
		ep->kind = PUSH_UNIFIED;
	else if (json_is_string(kind) &&
	    strcmp(json_string_value(kind), "webhook") == 0)
		ep->kind = PUSH_WEBHOOK;
	else {
		*why = "\"kind\" is unifiedpush or webhook";
		return (TE_BAD_REQUEST);
	}
	if (!json_is_string(url) || json_string_length(url) == 0 ||
	    strlen(json_string_value(url)) != json_string_length(url) ||
	    strstr(json_string_value(url), "://") == NULL)
		return (TE_BAD_REQUEST);
	if ((p256dh == NULL) != (auth == NULL)) {
		*why = "\"p256dh\" and \"auth\" come together";
		return (TE_BAD_REQUEST);
	}
	if (p256dh != NULL) {
		*why = "\"p256dh\" (65 bytes) and \"auth\" (16 bytes) are "
		    "base64url, with unifiedpush only";
		if (ep->kind != PUSH_UNIFIED || !json_is_string(p256dh) ||
		    !json_is_string(auth))
			return (TE_BAD_REQUEST);
		n = push_b64url_decode(json_string_value(p256dh),
		    json_string_length(p256dh), ep->p256dh, sizeof ep->p256dh);
		if (n != PUSH_P256DH_BYTES || ep->p256dh[0] != 4)
			return (TE_BAD_REQUEST);
		n = push_b64url_decode(json_string_value(auth),
		    json_string_length(auth), ep->auth, sizeof ep->auth);
		if (n != PUSH_AUTH_BYTES)
			return (TE_BAD_REQUEST);
		ep->has_keys = 1;
	}
	if (token != NULL) {
		*why = "\"token\" (1-1024 bytes) goes with webhook only";
		if (ep->kind != PUSH_WEBHOOK || !json_is_string(token) ||
		    json_string_length(token) == 0 ||
		    json_string_length(token) > PUSH_TOKEN_MAX ||
		    strlen(json_string_value(token)) !=
		    json_string_length(token))
			return (TE_BAD_REQUEST);
		strlcpy(ep->token, json_string_value(token), sizeof ep->token);
	}
	if (json_string_length(url) > PUSH_URL_MAX) {
		*why = "endpoint longer than 1000 bytes";
		return (TE_PUSH_REJECTED);
	}
	strlcpy(ep->endpoint, json_string_value(url), sizeof ep->endpoint);
	if ((*why = push_url_check(conf, ep->endpoint, host, hostlen)) !=
	    NULL)
		return (TE_PUSH_REJECTED);
	return (TE_OK);
}

/* Stores a checked endpoint for user's device, replacing any (rule 1). */
int
push_register(struct txn *txn, const char *user, const char *device,
    const struct push_ep *ep)
{
	struct push_ep	fresh;

	fresh = *ep;
	fresh.failures = 0;
	return (store_push_ep_put(txn, user, device, &fresh));
}

/* Deletes a device's endpoint and pending notification. */
int
push_forget(struct txn *txn, const char *user, const char *device)
{
	int	rc;

	rc = store_push_ep_del(txn, user, device);
	if (rc != STORE_OK && rc != STORE_NOTFOUND)
		return (rc);
	rc = store_push_note_del(txn, user, device);
	return (rc == STORE_NOTFOUND ? STORE_OK : rc);
}

/* A device authenticated: its pending notification is dropped (rule 4). */
int
push_online(struct txn *txn, const char *user, const char *device)
{
	int	rc;

	rc = store_push_note_del(txn, user, device);
	return (rc == STORE_NOTFOUND ? STORE_OK : rc);
}

/* Whether user has muted chat at now. */
static int
muted(struct txn *txn, const char *user, const char *chat, uint64_t now,
    int *yes)
{
	uint64_t	until;
	int		rc;

	*yes = 0;
	rc = store_mute_get(txn, user, chat, &until);
	if (rc == STORE_NOTFOUND)
		return (STORE_OK);
	if (rc == STORE_OK)
		*yes = until == 0 || until > now;
	return (rc);
}

/*
 * A msg item from from in chat was queued for the devices of t: each that
 * qualifies under rule 3 gets a pending notification, or its pending one
 * is updated (coalescing).  *next is lowered to the earliest new due time.
 */
int
push_queued(struct txn *txn, const struct conf *conf, uint64_t now,
    int (*online)(void *, const char *, const char *), void *arg,
    const char *from, const char *chat, const struct targets *t,
    const struct mid *mid, uint64_t ts, uint64_t *next)
{
	struct push_ep	*ep;
	struct push_note note;
	size_t		 i;
	int		 rc = STORE_OK, yes;

	if (!push_enabled(conf))
		return (STORE_OK);
	ep = xmalloc(sizeof *ep);
	for (i = 0; i < t->n && rc == STORE_OK; i++) {
		if (strcmp(t->v[i].user, from) == 0 ||
		    online(arg, t->v[i].user, t->v[i].device))
			continue;
		rc = store_push_ep_get(txn, t->v[i].user, t->v[i].device, ep);
		if (rc == STORE_NOTFOUND) {
			rc = STORE_OK;
			continue;
		}
		if (rc != STORE_OK ||
		    (rc = muted(txn, t->v[i].user, chat, now, &yes)) !=
		    STORE_OK || yes)
			continue;
		rc = store_push_note_get(txn, t->v[i].user, t->v[i].device,
		    &note);
		if (rc == STORE_NOTFOUND) {
			memset(&note, 0, sizeof note);
			note.created = now;
			note.due = now + conf->push_delay;
			if (note.due < *next)
				*next = note.due;
		} else if (rc != STORE_OK)
			continue;
		note.mid = *mid;
		note.ts = ts;
		rc = store_push_note_put(txn, t->v[i].user, t->v[i].device,
		    &note);
	}
	free(ep);
	return (rc);
}

/* What a walk for the newest msg of a queue found. */
struct newest {
	struct mid	 mid;
	json_t		*msg;
	int		 found;
};

/* Queue walk callback: keeps the last msg item. */
static int
newest_fn(void *arg, const struct mid *mid, const struct item *it)
{
	struct newest	*n = arg;

	if (it->kind != ITEM_MSG)
		return (STORE_WALK_NEXT);
	n->mid = *mid;
	n->found = 1;
	json_decref(n->msg);
	n->msg = json_loadb(it->data, it->len, 0, NULL);
	return (STORE_WALK_NEXT);
}

/* Adds the members of the msg frame named in names to the wake body. */
static void
add_members(json_t *wake, json_t *msg, const char *const *names)
{
	json_t	*v;

	for (; *names != NULL; names++)
		if ((v = json_object_get(msg, *names)) != NULL)
			json_object_set(wake, *names, v);
}

/*
 * The JSON a POST carries for user's device (rule 5); STORE_NOTFOUND if
 * the device or every msg item of its queue is gone (rule 4).  content is
 * a PUSH_CONTENT_*.  The caller frees *body.
 */
int
push_wake_body(struct txn *txn, const char *user, const char *device,
    const struct push_ep *ep, int content, char **body, size_t *len)
{
	static const char *const sender[] = { "from", "to", NULL };
	static const char *const full[] = { "from", "to", "id", "body",
	    "media", NULL };
	struct dev_rec	 dev;
	struct newest	 n;
	json_t		*wake, *plain;
	char		 ms[MID_STRLEN + 1];
	int		 rc;

	if ((rc = store_device_get(txn, user, device, &dev)) != STORE_OK)
		return (rc);
	memset(&n, 0, sizeof n);
	if ((rc = store_queue_walk(txn, dev.qid, NULL, newest_fn, &n)) !=
	    STORE_OK) {
		json_decref(n.msg);
		return (rc);
	}
	if (!n.found || n.msg == NULL) {
		json_decref(n.msg);
		return (STORE_NOTFOUND);
	}
	mid_format(&n.mid, ms);
	wake = json_pack("{s:s,s:s,s:s,s:I,s:s,s:O}", "op", "wake", "user",
	    user, "device", device, "pending", (json_int_t)dev.count, "mid",
	    ms, "ts", json_object_get(n.msg, "ts"));
	if (wake == NULL) {
		json_decref(n.msg);
		return (STORE_ERR);
	}
	if (ep->kind == PUSH_WEBHOOK && ep->token[0] != '\0')
		json_object_set_new(wake, "token", json_string(ep->token));
	plain = json_deep_copy(wake);
	if (content == PUSH_CONTENT_BODY)
		add_members(wake, n.msg, full);
	else if (content == PUSH_CONTENT_SENDER)
		add_members(wake, n.msg, sender);
	*body = json_dumps(wake, JSON_COMPACT);
	if (*body != NULL && content == PUSH_CONTENT_BODY &&
	    strlen(*body) > WAKE_BODY_MAX) {
		free(*body);
		add_members(plain, n.msg, sender);
		*body = json_dumps(plain, JSON_COMPACT);
	}
	json_decref(plain);
	json_decref(wake);
	json_decref(n.msg);
	if (*body == NULL)
		return (STORE_ERR);
	*len = strlen(*body);
	return (STORE_OK);
}

/* What an HTTP status (0: no answer) means under rule 6. */
enum push_result
push_outcome(long status)
{
	if (status >= 200 && status <= 299)
		return (PUSH_R_OK);
	if (status == 404 || status == 410)
		return (PUSH_R_GONE);
	if (status == 413)
		return (PUSH_R_TOO_LARGE);
	if (status == 0 || status == 408 || status == 429 ||
	    (status >= 500 && status <= 599))
		return (PUSH_R_RETRY);
	return (PUSH_R_DROP);
}

/*
 * The delay before retry number tries (1 first): push_backoff doubled
 * each time, at most push_backoff_max; a longer Retry-After (ms) wins up
 * to push_backoff_max.
 */
uint64_t
push_backoff(const struct conf *conf, uint64_t tries, uint64_t retry_after)
{
	uint64_t	d = conf->push_backoff;

	while (tries-- > 1 && d < conf->push_backoff_max)
		d *= 2;
	if (retry_after > d)
		d = retry_after;
	if (d > conf->push_backoff_max)
		d = conf->push_backoff_max;
	return (d);
}

/* HMAC-SHA256 of a body as lowercase hex, for X-Tick-Signature. */
void
push_hmac_hex(const char *secret, const char *body, size_t len,
    char hex[65])
{
	uint8_t		md[32];
	unsigned int	mdlen = sizeof md;

	if (HMAC(EVP_sha256(), secret, (int)strlen(secret),
	    (const uint8_t *)body, len, md, &mdlen) == NULL)
		memset(md, 0, sizeof md);
	hex_encode(md, sizeof md, hex);
}

/* HKDF-SHA-256 of ikm with salt and info into out; 0 on success. */
static int
hkdf(const uint8_t *salt, size_t slen, const uint8_t *ikm, size_t ilen,
    const uint8_t *info, size_t infolen, uint8_t *out, size_t olen)
{
	EVP_PKEY_CTX	*ctx;
	int		 ok;

	if ((ctx = EVP_PKEY_CTX_new_id(EVP_PKEY_HKDF, NULL)) == NULL)
		return (-1);
	ok = EVP_PKEY_derive_init(ctx) > 0 &&
	    EVP_PKEY_CTX_set_hkdf_md(ctx, EVP_sha256()) > 0 &&
	    EVP_PKEY_CTX_set1_hkdf_salt(ctx, salt, (int)slen) > 0 &&
	    EVP_PKEY_CTX_set1_hkdf_key(ctx, ikm, (int)ilen) > 0 &&
	    EVP_PKEY_CTX_add1_hkdf_info(ctx, info, (int)infolen) > 0 &&
	    EVP_PKEY_derive(ctx, out, &olen) > 0;
	EVP_PKEY_CTX_free(ctx);
	return (ok ? 0 : -1);
}

/* A P-256 key from an uncompressed public point (and private scalar). */
static EVP_PKEY *
p256_key(const uint8_t pub[PUSH_P256DH_BYTES], const uint8_t *priv)
{
	OSSL_PARAM_BLD	*bld;
	OSSL_PARAM	*params = NULL;
	EVP_PKEY_CTX	*ctx = NULL;
	EVP_PKEY	*pkey = NULL;
	BIGNUM		*d = NULL;

	if ((bld = OSSL_PARAM_BLD_new()) == NULL)
		return (NULL);
	if (OSSL_PARAM_BLD_push_utf8_string(bld, OSSL_PKEY_PARAM_GROUP_NAME,
	    "prime256v1", 0) != 1 ||
	    OSSL_PARAM_BLD_push_octet_string(bld, OSSL_PKEY_PARAM_PUB_KEY,
	    pub, PUSH_P256DH_BYTES) != 1)
		goto out;
	if (priv != NULL && ((d = BN_bin2bn(priv, 32, NULL)) == NULL ||
	    OSSL_PARAM_BLD_push_BN(bld, OSSL_PKEY_PARAM_PRIV_KEY, d) != 1))
		goto out;
	if ((params = OSSL_PARAM_BLD_to_param(bld)) == NULL ||
	    (ctx = EVP_PKEY_CTX_new_from_name(NULL, "EC", NULL)) == NULL ||
	    EVP_PKEY_fromdata_init(ctx) <= 0 ||
	    EVP_PKEY_fromdata(ctx, &pkey, priv != NULL ? EVP_PKEY_KEYPAIR :
	    EVP_PKEY_PUBLIC_KEY, params) <= 0)
		pkey = NULL;
out:
	EVP_PKEY_CTX_free(ctx);
	OSSL_PARAM_free(params);
	OSSL_PARAM_BLD_free(bld);
	BN_free(d);
	return (pkey);
}

/*
 * RFC 8291 aes128gcm encryption of plain for a user agent's p256dh and
 * auth, in one record.  The sender key and salt are made here unless
 * as_pub/as_priv and salt are given (the RFC's example, for tests).
 * Returns the body in *out (caller frees), or -1.
 */
int
push_encrypt(const uint8_t ua_pub[PUSH_P256DH_BYTES],
    const uint8_t auth[PUSH_AUTH_BYTES], const uint8_t *as_pub_in,
    const uint8_t *as_priv_in, const uint8_t *salt_in, const uint8_t *plain,
    size_t plen, uint8_t **out, size_t *olen)
{
	static const uint8_t	 pfx[] = "WebPush: info";
	static const uint8_t	 cek_info[] = "Content-Encoding: aes128gcm";
	static const uint8_t	 nonce_info[] = "Content-Encoding: nonce";
	EVP_PKEY		*as = NULL, *ua = NULL;
	EVP_PKEY_CTX		*pctx = NULL;
	EVP_CIPHER_CTX		*cctx = NULL;
	uint8_t			 as_pub[PUSH_P256DH_BYTES], salt[16];
	uint8_t			 ecdh[32], ikm[32], cek[16], nonce[12];
	uint8_t			 info[sizeof pfx + 2 * PUSH_P256DH_BYTES];
	uint8_t			*b = NULL, *rec;
	size_t			 len, n;
	int			 clen, ret = -1;

	if (plen + 1 + 16 + 86 > RECORD_SIZE)
		return (-1);
	if (salt_in != NULL)
		memcpy(salt, salt_in, sizeof salt);
	else if (RAND_bytes(salt, sizeof salt) != 1)
		return (-1);
	if (as_priv_in != NULL) {
		memcpy(as_pub, as_pub_in, sizeof as_pub);
		as = p256_key(as_pub, as_priv_in);
	} else {
		as = EVP_PKEY_Q_keygen(NULL, NULL, "EC", "prime256v1");
		if (as != NULL && EVP_PKEY_get_octet_string_param(as,
		    OSSL_PKEY_PARAM_ENCODED_PUBLIC_KEY, as_pub, sizeof as_pub,
		    &n) != 1)
			goto out;
	}
	if (as == NULL || (ua = p256_key(ua_pub, NULL)) == NULL)
		goto out;
	n = sizeof ecdh;
	if ((pctx = EVP_PKEY_CTX_new(as, NULL)) == NULL ||
	    EVP_PKEY_derive_init(pctx) <= 0 ||
	    EVP_PKEY_derive_set_peer(pctx, ua) <= 0 ||
	    EVP_PKEY_derive(pctx, ecdh, &n) <= 0 || n != sizeof ecdh)
		goto out;
	/* key_info = "WebPush: info" 0x00 ua_public as_public */
	memcpy(info, pfx, sizeof pfx);
	memcpy(info + sizeof pfx, ua_pub, PUSH_P256DH_BYTES);
	memcpy(info + sizeof pfx + PUSH_P256DH_BYTES, as_pub,
	    PUSH_P256DH_BYTES);
	if (hkdf(auth, PUSH_AUTH_BYTES, ecdh, sizeof ecdh, info, sizeof info,
	    ikm, sizeof ikm) != 0 ||
	    hkdf(salt, sizeof salt, ikm, sizeof ikm, cek_info,
	    sizeof cek_info, cek, sizeof cek) != 0 ||
	    hkdf(salt, sizeof salt, ikm, sizeof ikm, nonce_info,
	    sizeof nonce_info, nonce, sizeof nonce) != 0)
		goto out;
	/* Header: salt, rs, idlen, keyid; then the one record. */
	len = 16 + 4 + 1 + PUSH_P256DH_BYTES + plen + 1 + 16;
	b = xmalloc(len + 16);
	memcpy(b, salt, 16);
	b[16] = 0;
	b[17] = 0;
	b[18] = RECORD_SIZE >> 8;
	b[19] = RECORD_SIZE & 0xff;
	b[20] = PUSH_P256DH_BYTES;
	memcpy(b + 21, as_pub, PUSH_P256DH_BYTES);
	rec = b + 21 + PUSH_P256DH_BYTES;
	if ((cctx = EVP_CIPHER_CTX_new()) == NULL ||
	    EVP_EncryptInit_ex(cctx, EVP_aes_128_gcm(), NULL, cek,
	    nonce) != 1 ||
	    EVP_EncryptUpdate(cctx, rec, &clen, plain, (int)plen) != 1)
		goto out;
	n = (size_t)clen;
	/* The last record's padding delimiter. */
	if (EVP_EncryptUpdate(cctx, rec + n, &clen, (const uint8_t *)"\2",
	    1) != 1)
		goto out;
	n += (size_t)clen;
	if (EVP_EncryptFinal_ex(cctx, rec + n, &clen) != 1)
		goto out;
	n += (size_t)clen;
	if (EVP_CIPHER_CTX_ctrl(cctx, EVP_CTRL_GCM_GET_TAG, 16, rec + n) != 1)
		goto out;
	*olen = (size_t)(rec - b) + n + 16;
	*out = b;
	b = NULL;
	ret = 0;
out:
	free(b);
	EVP_CIPHER_CTX_free(cctx);
	EVP_PKEY_CTX_free(pctx);
	EVP_PKEY_free(as);
	EVP_PKEY_free(ua);
	return (ret);
}

/*
 * Mutes chat for user (tickd-protocol(7) PUSH NOTIFICATIONS); until 0 for no
 * end, a past until unmutes.  *err is TE_BAD_REQUEST past max_mutes.
 */
int
push_mute(struct txn *txn, const struct conf *conf, const char *user,
    const char *chat, uint64_t until, uint64_t now, enum tick_err *err)
{
	uint64_t	old, count = 0;
	int		rc;

	*err = TE_OK;
	if (until != 0 && until <= now) {
		rc = store_mute_del(txn, user, chat);
		return (rc == STORE_NOTFOUND ? STORE_OK : rc);
	}
	rc = store_mute_get(txn, user, chat, &old);
	if (rc == STORE_NOTFOUND) {
		if ((rc = push_mute_count(txn, user, &count)) != STORE_OK)
			return (rc);
		if (count >= conf->max_mutes) {
			*err = TE_BAD_REQUEST;
			return (STORE_OK);
		}
	} else if (rc != STORE_OK)
		return (rc);
	return (store_mute_put(txn, user, chat, until));
}

/* Walk callback: counts mutes. */
static int
count_fn(void *arg, const char *chat, uint64_t until)
{
	(void)chat; (void)until;
	(*(uint64_t *)arg)++;
	return (STORE_WALK_NEXT);
}

/* How many mutes user has. */
int
push_mute_count(struct txn *txn, const char *user, uint64_t *n)
{
	*n = 0;
	return (store_mute_walk(txn, user, count_fn, n));
}

/* Walk callback: deletes every mute it is shown. */
static int
drop_fn(void *arg, const char *chat, uint64_t until)
{
	(void)arg; (void)chat; (void)until;
	return (STORE_WALK_DELETE);
}

/* Deletes every mute of user, whose account is going. */
int
push_mutes_drop(struct txn *txn, const char *user)
{
	return (store_mute_walk(txn, user, drop_fn, NULL));
}

/* What mutes_fn collects: the live mutes, and the time. */
struct mutes {
	json_t		*chats;
	uint64_t	 now;
};

/* Walk callback: a live mute as {"chat","until"}. */
static int
mutes_fn(void *arg, const char *chat, uint64_t until)
{
	struct mutes	*m = arg;

	if (until != 0 && until <= m->now)
		return (STORE_WALK_NEXT);
	json_array_append_new(m->chats, until == 0 ?
	    json_pack("{s:s,s:n}", "chat", chat, "until") :
	    json_pack("{s:s,s:I}", "chat", chat, "until", (json_int_t)until));
	return (STORE_WALK_NEXT);
}

/* The mutes frame of user: its live mutes, by chat name. */
int
push_mutes(struct txn *txn, const char *user, uint64_t now, json_t **out)
{
	struct mutes	m;
	int		rc;

	m.chats = json_array();
	m.now = now;
	if ((rc = store_mute_walk(txn, user, mutes_fn, &m)) != STORE_OK) {
		json_decref(m.chats);
		return (rc);
	}
	*out = json_pack("{s:s,s:o}", "op", "mutes", "chats", m.chats);
	return (STORE_OK);
}

/*
 * Reads push_vapid_key: a PEM P-256 private key.  NULL with *cause set if
 * it cannot be read or is another kind of key.
 */
EVP_PKEY *
push_vapid_load(const char *path, char **cause)
{
	EVP_PKEY	*k;
	FILE		*f;
	char		 group[32];
	size_t		 n;

	if ((f = fopen(path, "r")) == NULL) {
		xasprintf(cause, "push_vapid_key %s: %s", path,
		    strerror(errno));
		return (NULL);
	}
	k = PEM_read_PrivateKey(f, NULL, NULL, NULL);
	fclose(f);
	if (k == NULL || !EVP_PKEY_is_a(k, "EC") ||
	    EVP_PKEY_get_utf8_string_param(k, OSSL_PKEY_PARAM_GROUP_NAME,
	    group, sizeof group, &n) != 1 || strcmp(group, "prime256v1") != 0) {
		xasprintf(cause, "push_vapid_key %s: not a PEM P-256 private "
		    "key", path);
		EVP_PKEY_free(k);
		return (NULL);
	}
	return (k);
}

/*
 * The push keys that must agree (tickd.conf(5) Push), for tickd -t and
 * start-up: push_vapid_key needs push_vapid_subject and a P-256 key.
 */
int
push_check(const struct conf *conf, char **cause)
{
	EVP_PKEY	*k;
	const char	*sub = conf->push_vapid_subject;

	if (conf->push_vapid_key == NULL)
		return (0);
	if (sub == NULL) {
		*cause = xstrdup("push_vapid_key needs push_vapid_subject");
		return (-1);
	}
	if (strncmp(sub, "mailto:", 7) != 0 && strncmp(sub, "https:", 6) != 0) {
		*cause = xstrdup("push_vapid_subject must be a mailto: or an "
		    "https: URL");
		return (-1);
	}
	if ((k = push_vapid_load(conf->push_vapid_key, cause)) == NULL)
		return (-1);
	EVP_PKEY_free(k);
	return (0);
}

/*
 * The RFC 8292 Authorization header for a POST to endpoint: "vapid
 * t=JWT, k=KEY", an ES256 JWT whose aud is the endpoint's origin, valid
 * 12 hours.  Caller frees; NULL on failure.
 */
char *
push_vapid_header(EVP_PKEY *key, const char *subject, const char *endpoint,
    uint64_t now)
{
	static const char	 head[] = "{\"typ\":\"JWT\",\"alg\":\"ES256\"}";
	EVP_MD_CTX		*md = NULL;
	ECDSA_SIG		*es = NULL;
	const BIGNUM		*r, *s;
	const unsigned char	*dp;
	json_t			*claims;
	uint8_t			 der[80], raw[64], pub[PUSH_P256DH_BYTES];
	char			*c = NULL, *input = NULL, *out = NULL;
	char			 aud[PUSH_URL_MAX + 1], *p;
	char			 h64[64], *c64 = NULL, s64[96], k64[96];
	size_t			 n, dlen = sizeof der;

	strlcpy(aud, endpoint, sizeof aud);
	if ((p = strstr(aud, "://")) != NULL &&
	    (p = strchr(p + 3, '/')) != NULL)
		*p = '\0';
	if ((p = strchr(aud, '?')) != NULL)
		*p = '\0';
	claims = json_pack("{s:s,s:I,s:s}", "aud", aud, "exp",
	    (json_int_t)(now / 1000 + 12 * 3600), "sub", subject);
	if (claims == NULL || (c = json_dumps(claims, JSON_COMPACT)) == NULL)
		goto out;
	push_b64url_encode((const uint8_t *)head, strlen(head), h64);
	c64 = xmalloc(strlen(c) * 4 / 3 + 4);
	push_b64url_encode((const uint8_t *)c, strlen(c), c64);
	xasprintf(&input, "%s.%s", h64, c64);
	if ((md = EVP_MD_CTX_new()) == NULL ||
	    EVP_DigestSignInit(md, NULL, EVP_sha256(), NULL, key) != 1 ||
	    EVP_DigestSign(md, der, &dlen, (const uint8_t *)input,
	    strlen(input)) != 1)
		goto out;
	dp = der;
	if ((es = d2i_ECDSA_SIG(NULL, &dp, (long)dlen)) == NULL)
		goto out;
	ECDSA_SIG_get0(es, &r, &s);
	if (BN_bn2binpad(r, raw, 32) != 32 || BN_bn2binpad(s, raw + 32,
	    32) != 32)
		goto out;
	if (EVP_PKEY_get_octet_string_param(key,
	    OSSL_PKEY_PARAM_ENCODED_PUBLIC_KEY, pub, sizeof pub, &n) != 1 ||
	    n != sizeof pub)
		goto out;
	push_b64url_encode(raw, sizeof raw, s64);
	push_b64url_encode(pub, sizeof pub, k64);
	xasprintf(&out, "Authorization: vapid t=%s.%s, k=%s", input, s64, k64);
out:
	ECDSA_SIG_free(es);
	EVP_MD_CTX_free(md);
	json_decref(claims);
	free(c);
	free(c64);
	free(input);
	return (out);
}
