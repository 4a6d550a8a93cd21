/* SPDX-License-Identifier: ISC */
/*
 * cluster-rules.c: the decisions of tickd on several nodes that need no
 * store and no network (tickd-cluster(7)): the syntax of node_name,
 * cluster_url and cluster_redis, the home node a token or media ID names,
 * Redis key names, and whether a stream entry is applied or skipped.
 */
#include <sys/types.h>

#include <ctype.h>
#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "tickd.h"

/* A node name: 1-32 bytes of [a-z0-9-] (tickd.conf(5) node_name). */
int
cluster_node_name_ok(const char *s, size_t len)
{
	size_t	i;

	if (len == 0 || len > CLUSTER_NODE_MAX)
		return (0);
	for (i = 0; i < len; i++) {
		if ((s[i] < 'a' || s[i] > 'z') && (s[i] < '0' || s[i] > '9') &&
		    s[i] != '-')
			return (0);
	}
	return (1);
}

/*
 * Checks a cluster_url: http:// or https://, a host, an optional path
 * without a trailing slash, no blank or control byte (tickd.conf(5)).
 */
int
cluster_url_ok(const char *v, char **why)
{
	const char	*host;
	size_t		 i, len = strlen(v);

	if (strncmp(v, "https://", 8) == 0)
		host = v + 8;
	else if (strncmp(v, "http://", 7) == 0)
		host = v + 7;
	else {
		xasprintf(why, "\"%s\" does not begin with http:// or "
		    "https://", v);
		return (-1);
	}
	if (*host == '\0' || *host == '/') {
		xasprintf(why, "\"%s\" has no host", v);
		return (-1);
	}
	for (i = 0; i < len; i++) {
		if ((unsigned char)v[i] <= ' ' || v[i] == 0x7f) {
			xasprintf(why, "\"%s\" holds a blank or control "
			    "character", v);
			return (-1);
		}
	}
	if (v[len - 1] == '/') {
		xasprintf(why, "\"%s\" ends with a slash", v);
		return (-1);
	}
	if (len > CLUSTER_URL_MAX) {
		xasprintf(why, "\"%s\" is longer than %d bytes", v,
		    CLUSTER_URL_MAX);
		return (-1);
	}
	return (0);
}

/*
 * Parses one redis://[user:pass@]host:port or rediss:// URL into a; the
 * host is a name or an IPv4 address, or an IPv6 one in brackets.
 */
int
cluster_redis_parse(const char *v, size_t len, struct cluster_redis_addr *a,
    char **why)
{
	const char	*p, *end = v + len, *at, *colon, *host;
	char		*port_end;
	long		 port;
	size_t		 hlen;

	memset(a, 0, sizeof *a);
	if (len > 7 && strncmp(v, "redis://", 8) == 0)
		p = v + 8;
	else if (len > 8 && strncmp(v, "rediss://", 9) == 0) {
		p = v + 9;
		a->tls = 1;
	} else {
		xasprintf(why, "\"%.*s\" does not begin with redis:// or "
		    "rediss://", (int)len, v);
		return (-1);
	}
	at = memrchr(p, '@', (size_t)(end - p));
	if (at != NULL) {
		colon = memchr(p, ':', (size_t)(at - p));
		if (colon == NULL) {
			a->pass = xstrndup(p, (size_t)(at - p));
		} else {
			if (colon > p)
				a->user = xstrndup(p, (size_t)(colon - p));
			a->pass = xstrndup(colon + 1,
			    (size_t)(at - colon - 1));
		}
		p = at + 1;
	}
	if (*p == '[') {
		host = p + 1;
		if ((colon = memchr(p, ']', (size_t)(end - p))) == NULL)
			goto bad;
		hlen = (size_t)(colon - host);
		colon++;
	} else {
		host = p;
		colon = memrchr(p, ':', (size_t)(end - p));
		if (colon == NULL)
			goto bad;
		hlen = (size_t)(colon - host);
	}
	if (hlen == 0 || hlen > 255 || colon >= end || *colon != ':' ||
	    colon + 1 >= end || memchr(host, '/', hlen) != NULL)
		goto bad;
	errno = 0;
	port = strtol(colon + 1, &port_end, 10);
	if (errno != 0 || port_end != end || port < 1 || port > 65535 ||
	    colon[1] < '0' || colon[1] > '9')
		goto bad;
	a->host = xstrndup(host, hlen);
	a->port = (int)port;
	return (0);

bad:
	cluster_redis_addr_clear(a);
	xasprintf(why, "\"%.*s\" is not redis://[user:pass@]host:port",
	    (int)len, v);
	return (-1);
}

/* Frees what a holds. */
void
cluster_redis_addr_clear(struct cluster_redis_addr *a)
{
	free(a->user);
	free(a->pass);
	free(a->host);
	memset(a, 0, sizeof *a);
}

/*
 * Parses sentinel://[user:pass@]host:port[,host:port...]/MASTER into s:
 * the Sentinels to ask for the address of the master called MASTER, and
 * the credentials for that master (tickd.conf(5) Cluster).
 */
int
cluster_sentinel_parse(const char *v, size_t len,
    struct cluster_sentinel *s, char **why)
{
	const char	*p, *end = v + len, *slash, *at, *colon, *comma;
	char		*url;
	size_t		 i;
	int		 rc;

	memset(s, 0, sizeof *s);
	if (len <= 11 || strncmp(v, "sentinel://", 11) != 0)
		goto bad;
	p = v + 11;
	if ((slash = memrchr(p, '/', (size_t)(end - p))) == NULL ||
	    slash + 1 == end || slash + 1 + CLUSTER_MASTER_MAX < end)
		goto bad;
	for (i = 1; slash + i < end; i++) {
		if (!isalnum((unsigned char)slash[i]) &&
		    strchr("._-", slash[i]) == NULL)
			goto bad;
	}
	s->master = xstrndup(slash + 1, (size_t)(end - slash - 1));
	if ((at = memrchr(p, '@', (size_t)(slash - p))) != NULL) {
		colon = memchr(p, ':', (size_t)(at - p));
		if (colon == NULL)
			s->pass = xstrndup(p, (size_t)(at - p));
		else {
			if (colon > p)
				s->user = xstrndup(p, (size_t)(colon - p));
			s->pass = xstrndup(colon + 1,
			    (size_t)(at - colon - 1));
		}
		p = at + 1;
	}
	if (slash[-1] == ',')
		goto bad;
	while (p < slash) {
		if ((comma = memchr(p, ',', (size_t)(slash - p))) == NULL)
			comma = slash;
		if (s->n == CLUSTER_SENTINELS_MAX)
			goto bad;
		xasprintf(&url, "redis://%.*s", (int)(comma - p), p);
		rc = cluster_redis_parse(url, strlen(url), &s->v[s->n], why);
		free(url);
		if (rc != 0) {
			free(*why);
			*why = NULL;
			goto bad;
		}
		s->n++;
		p = comma + 1;
	}
	if (s->n == 0)
		goto bad;
	return (0);

bad:
	cluster_sentinel_clear(s);
	xasprintf(why, "\"%.*s\" is not sentinel://[user:pass@]host:port"
	    "[,host:port...]/MASTER", (int)len, v);
	return (-1);
}

/* Frees what s holds. */
void
cluster_sentinel_clear(struct cluster_sentinel *s)
{
	size_t	i;

	for (i = 0; i < s->n; i++)
		cluster_redis_addr_clear(&s->v[i]);
	free(s->user);
	free(s->pass);
	free(s->master);
	memset(s, 0, sizeof *s);
}

/*
 * Checks a cluster_redis value: one or more blank-separated URLs, each
 * parsed by cluster_redis_parse, or one sentinel:// URL.  Returns how
 * many there are, -1 on error.
 */
int
cluster_redis_check(const char *v, char **why)
{
	struct cluster_redis_addr	 a;
	struct cluster_sentinel		 s;
	const char			*p = v;
	size_t				 len;
	int				 n = 0;

	for (;;) {
		p += strspn(p, " \t");
		if (*p == '\0')
			break;
		len = strcspn(p, " \t");
		if (len > 11 && strncmp(p, "sentinel://", 11) == 0) {
			if (cluster_sentinel_parse(p, len, &s, why) != 0)
				return (-1);
			cluster_sentinel_clear(&s);
		} else if (cluster_redis_parse(p, len, &a, why) != 0)
			return (-1);
		else
			cluster_redis_addr_clear(&a);
		n++;
		p += len;
	}
	if (n == 0) {
		*why = xstrdup("no Redis URL");
		return (-1);
	}
	return (n);
}

/*
 * The home node a token or media ID names: the bytes before its first
 * '.', when they are a node name (tickd-cluster(7), Home nodes).  Returns
 * the length of the name in *len, or 0 when there is none.
 */
int
cluster_home_of(const char *s, size_t slen, size_t *len)
{
	const char	*dot;

	*len = 0;
	if ((dot = memchr(s, '.', slen)) == NULL)
		return (0);
	if (!cluster_node_name_ok(s, (size_t)(dot - s)))
		return (0);
	*len = (size_t)(dot - s);
	return (1);
}

/*
 * A Redis key: the prefix, then kind, then {tag} when the key belongs to
 * one node, user or ID, so that it keeps to one Redis Cluster slot.  The
 * stream of node N is prefix + "{N}:in"; every other key is prefix + kind
 * + ":{" + tag + "}" (tickd-cluster(7) REDIS KEYS).  Caller frees.
 */
char *
cluster_key(const char *prefix, const char *kind, const char *tag)
{
	char	*k;

	if (tag == NULL)
		xasprintf(&k, "%s%s", prefix, kind);
	else if (strcmp(kind, "in") == 0)
		xasprintf(&k, "%s{%s}:in", prefix, tag);
	else
		xasprintf(&k, "%s%s:{%s}", prefix, kind, tag);
	return (k);
}

/*
 * What a receiver does with an entry (tickd-cluster(7), Messages between
 * nodes): one whose (origin, om) dedup record exists is skipped but
 * confirmed with done again, even at or below the cursor, so that a
 * receiver killed between its commit and its done saves the origin a
 * resend; any other at or below the cursor is acknowledged and skipped; the
 * rest is applied.
 */
enum cluster_verdict
cluster_verdict(const struct mid *cursor, const struct mid *id,
    int dedup_exists)
{
	if (dedup_exists)
		return (CLUSTER_DONE_AGAIN);
	if (mid_cmp(id, cursor) <= 0)
		return (CLUSTER_SKIP);
	return (CLUSTER_APPLY);
}

/*
 * The Redis Cluster hash slot of a key: CRC16 (XMODEM) of the key, or of
 * its hash tag, the bytes between its first '{' and the next '}' when
 * there are any, modulo 16384 (the Redis Cluster specification, Key
 * distribution model).  Every tickd key has a tag or stands alone, so
 * that each command names one slot.
 */
unsigned
cluster_key_slot(const char *key, size_t len)
{
	const char	*open, *close;
	uint16_t	 crc = 0;
	size_t		 i;
	int		 b;

	if ((open = memchr(key, '{', len)) != NULL &&
	    (close = memchr(open + 1, '}', len - (size_t)(open + 1 - key))) !=
	    NULL && close > open + 1) {
		len = (size_t)(close - open - 1);
		key = open + 1;
	}
	for (i = 0; i < len; i++) {
		crc ^= (uint16_t)((unsigned char)key[i] << 8);
		for (b = 0; b < 8; b++)
			crc = crc & 0x8000 ? (uint16_t)(crc << 1 ^ 0x1021) :
			    (uint16_t)(crc << 1);
	}
	return (crc & (CLUSTER_SLOTS - 1));
}

/*
 * Parses a Redis Cluster redirection, "MOVED slot host:port" or "ASK slot
 * host:port": 0 with *ask, *slot, host (size bytes) and *port set, else
 * -1 for any other error.
 */
int
cluster_redirect_parse(const char *err, int *ask, unsigned *slot, char *host,
    size_t size, int *port)
{
	const char	*p, *colon;
	char		*end;
	unsigned long	 s;
	long		 n;

	if (strncmp(err, "MOVED ", 6) == 0) {
		*ask = 0;
		p = err + 6;
	} else if (strncmp(err, "ASK ", 4) == 0) {
		*ask = 1;
		p = err + 4;
	} else
		return (-1);
	errno = 0;
	s = strtoul(p, &end, 10);
	if (end == p || *end != ' ' || errno != 0 || s >= CLUSTER_SLOTS)
		return (-1);
	p = end + 1;
	if ((colon = strrchr(p, ':')) == NULL || colon == p ||
	    (size_t)(colon - p) >= size)
		return (-1);
	n = strtol(colon + 1, &end, 10);
	if (end == colon + 1 || *end != '\0' || n < 1 || n > 65535)
		return (-1);
	memcpy(host, p, (size_t)(colon - p));
	host[colon - p] = '\0';
	*slot = (unsigned)s;
	*port = (int)n;
	return (0);
}
