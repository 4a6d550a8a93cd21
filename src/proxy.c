/* SPDX-License-Identifier: ISC */
/*
 * proxy.c: what tickd believes of a reverse proxy in front of it
 * (tickd.conf(5) Reverse proxy): the trusted_proxies list and its CIDR
 * matching, the client address in X-Forwarded-For and Forwarded (RFC 7239),
 * and the HAProxy PROXY protocol header, versions 1 and 2.  Pure parsing,
 * no event loop: the front ends (http.c, resp.c, proxy-conn.c) call it.
 */
#include <sys/types.h>
#include <sys/socket.h>
#include <netinet/in.h>
#include <arpa/inet.h>

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "tickd.h"

#define PROXY_V1_MAX	107	/* the longest v1 line, CRLF included */
#define PROXY_V2_HEAD	16	/* signature, version, family, length */

static const uint8_t proxy_v2_sig[12] = {
	0x0d, 0x0a, 0x0d, 0x0a, 0x00, 0x0d, 0x0a, 0x51, 0x55, 0x49, 0x54, 0x0a
};

/* Parses len bytes of s as a bare IPv4 or IPv6 address into *a. */
static int
proxy_addr(const char *s, size_t len, struct proxy_net *a)
{
	char	buf[INET6_ADDRSTRLEN + 1];

	if (len == 0 || len >= sizeof buf)
		return (-1);
	memcpy(buf, s, len);
	buf[len] = '\0';
	memset(a, 0, sizeof *a);
	if (inet_pton(AF_INET, buf, a->addr) == 1) {
		a->family = AF_INET;
		a->bits = 32;
		return (0);
	}
	if (inet_pton(AF_INET6, buf, a->addr) != 1)
		return (-1);
	a->family = AF_INET6;
	a->bits = 128;
	/* An IPv4-mapped address is the IPv4 one (RFC 4291 2.5.5.2). */
	if (memcmp(a->addr, "\0\0\0\0\0\0\0\0\0\0\xff\xff", 12) == 0) {
		memmove(a->addr, a->addr + 12, 4);
		memset(a->addr + 4, 0, 12);
		a->family = AF_INET;
		a->bits = 32;
	}
	return (0);
}

/* Writes address a as text (inet_ntop(3)) into buf of len bytes. */
static int
proxy_ntop(const struct proxy_net *a, char *buf, size_t len)
{
	return (inet_ntop(a->family, a->addr, buf, (socklen_t)len) == NULL ?
	    -1 : 0);
}

/* Parses one ADDRESS or ADDRESS/BITS of trusted_proxies. */
static int
proxy_net_parse(const char *s, size_t len, struct proxy_net *n, char **why)
{
	const char	*slash;
	unsigned long	 bits;
	char		*end, num[4];
	size_t		 alen, i;

	slash = memchr(s, '/', len);
	alen = slash != NULL ? (size_t)(slash - s) : len;
	if (proxy_addr(s, alen, n) != 0) {
		xasprintf(why, "\"%.*s\" is not an IPv4 or IPv6 address",
		    (int)alen, s);
		return (-1);
	}
	if (slash == NULL)
		return (0);
	len -= alen + 1;
	if (len == 0 || len >= sizeof num || slash[1] < '0' || slash[1] > '9')
		goto bad;
	memcpy(num, slash + 1, len);
	num[len] = '\0';
	bits = strtoul(num, &end, 10);
	if (*end != '\0' || bits > (n->family == AF_INET ? 32UL : 128UL))
		goto bad;
	n->bits = (unsigned)bits;
	/* Host bits are cleared, so that 10.1.2.3/8 means 10.0.0.0/8. */
	for (i = 0; i < sizeof n->addr; i++) {
		if (i * 8 >= n->bits)
			n->addr[i] = 0;
		else if (i * 8 + 8 > n->bits)
			n->addr[i] &= (uint8_t)(0xff <<
			    (8 - (n->bits - i * 8)));
	}
	return (0);
bad:
	xasprintf(why, "\"%.*s\" has a bad prefix length", (int)(alen + 1 +
	    len), s);
	return (-1);
}

/*
 * Parses trusted_proxies: addresses and CIDR blocks, IPv4 or IPv6,
 * separated by blanks or commas.
 */
int
proxy_nets_parse(const char *v, struct proxy_nets *nets, char **why)
{
	const char	*p = v, *start;

	memset(nets, 0, sizeof *nets);
	for (;;) {
		while (*p == ' ' || *p == '\t' || *p == ',')
			p++;
		if (*p == '\0')
			break;
		start = p;
		while (*p != '\0' && *p != ' ' && *p != '\t' && *p != ',')
			p++;
		if (nets->n == PROXY_NETS_MAX) {
			xasprintf(why, "more than %d addresses",
			    PROXY_NETS_MAX);
			return (-1);
		}
		if (proxy_net_parse(start, (size_t)(p - start),
		    &nets->v[nets->n], why) != 0)
			return (-1);
		nets->n++;
	}
	if (nets->n == 0) {
		*why = xstrdup("no address given");
		return (-1);
	}
	return (0);
}

/* Whether address a lies in one of nets. */
static int
proxy_match(const struct proxy_nets *nets, const struct proxy_net *a)
{
	const struct proxy_net	*n;
	size_t			 i, full, rest;

	for (i = 0; i < nets->n; i++) {
		n = &nets->v[i];
		if (n->family != a->family)
			continue;
		full = n->bits / 8;
		rest = n->bits % 8;
		if (memcmp(n->addr, a->addr, full) != 0)
			continue;
		if (rest != 0 && ((n->addr[full] ^ a->addr[full]) &
		    (uint8_t)(0xff << (8 - rest))) != 0)
			continue;
		return (1);
	}
	return (0);
}

/* Whether the textual address ip is in nets (NULL or empty: none). */
int
proxy_trusted(const struct proxy_nets *nets, const char *ip)
{
	struct proxy_net	a;

	if (nets == NULL || nets->n == 0 || ip == NULL ||
	    proxy_addr(ip, strlen(ip), &a) != 0)
		return (0);
	return (proxy_match(nets, &a));
}

/*
 * Parses one hop, as X-Forwarded-For and Forwarded write it: ADDRESS,
 * IPV4:PORT, [IPV6] or [IPV6]:PORT.
 */
static int
proxy_node(const char *s, size_t len, struct proxy_net *a)
{
	const char	*end, *colon;
	size_t		 i;

	if (len > 0 && s[0] == '[') {
		if ((end = memchr(s, ']', len)) == NULL)
			return (-1);
		colon = end + 1;
		if (colon < s + len) {
			if (*colon != ':' || colon + 1 == s + len)
				return (-1);
			for (i = 1; colon + i < s + len; i++)
				if (colon[i] < '0' || colon[i] > '9')
					return (-1);
		}
		if (proxy_addr(s + 1, (size_t)(end - s - 1), a) != 0 ||
		    a->family != AF_INET6)
			return (-1);
		return (0);
	}
	if (proxy_addr(s, len, a) == 0)
		return (0);
	/* IPv4 with a port: the only other form a hop may take. */
	if ((colon = memchr(s, ':', len)) == NULL ||
	    memchr(colon + 1, ':', len - (size_t)(colon + 1 - s)) != NULL ||
	    colon + 1 == s + len)
		return (-1);
	for (end = colon + 1; end < s + len; end++)
		if (*end < '0' || *end > '9')
			return (-1);
	if (proxy_addr(s, (size_t)(colon - s), a) != 0 ||
	    a->family != AF_INET)
		return (-1);
	return (0);
}

/* Strips blanks from both ends of the span [*s, *s + *len). */
static void
proxy_trim(const char **s, size_t *len)
{
	while (*len > 0 && (**s == ' ' || **s == '\t')) {
		(*s)++;
		(*len)--;
	}
	while (*len > 0 && ((*s)[*len - 1] == ' ' || (*s)[*len - 1] == '\t'))
		(*len)--;
}

/*
 * The client address in an X-Forwarded-For value sent by a trusted proxy:
 * the rightmost hop not in nets (tickd.conf(5) Reverse proxy).  Hops are
 * read from the right only as far as needed, so what a client wrote to the
 * left of its own address is never looked at.  -1 if a hop read is not an
 * address.
 */
int
proxy_xff(const struct proxy_nets *nets, const char *value, char *ip,
    size_t len)
{
	struct proxy_net	 a;
	const char		*end = value + strlen(value), *start, *hop;
	size_t			 hlen;

	for (;;) {
		start = end;
		while (start > value && start[-1] != ',')
			start--;
		hop = start;
		hlen = (size_t)(end - start);
		proxy_trim(&hop, &hlen);
		if (proxy_node(hop, hlen, &a) != 0)
			return (-1);
		if (!proxy_match(nets, &a) || start == value)
			return (proxy_ntop(&a, ip, len));
		end = start - 1;
	}
}

/*
 * The for= node of one Forwarded element (RFC 7239 section 4), unquoted
 * into a span; 0 if the element has none, -1 if it is malformed.
 */
static int
proxy_for(const char *s, size_t len, const char **node, size_t *nlen)
{
	const char	*p = s, *end = s + len, *pair, *val;
	size_t		 plen, vlen;
	int		 found = 0;

	while (p <= end) {
		pair = p;
		while (p < end && *p != ';')
			p++;
		plen = (size_t)(p - pair);
		p++;
		proxy_trim(&pair, &plen);
		if (plen == 0)
			continue;
		if ((val = memchr(pair, '=', plen)) == NULL)
			return (-1);
		if ((size_t)(val - pair) != 3 ||
		    strncasecmp(pair, "for", 3) != 0)
			continue;
		if (found)
			return (-1);
		val++;
		vlen = plen - 4;
		/* A quoted-string; quoted-pairs have no place in a node. */
		if (vlen >= 2 && val[0] == '"') {
			if (val[vlen - 1] != '"' ||
			    memchr(val + 1, '"', vlen - 2) != NULL ||
			    memchr(val, '\\', vlen) != NULL)
				return (-1);
			val++;
			vlen -= 2;
		}
		*node = val;
		*nlen = vlen;
		found = 1;
	}
	return (found);
}

/*
 * The client address in a Forwarded value (RFC 7239) sent by a trusted
 * proxy: the for= of the rightmost element not in nets.  An element
 * without for=, or whose for= is "unknown" or an obfuscated name, is -1:
 * such a proxy hides the client, and the peer's address is used.
 */
int
proxy_forwarded(const struct proxy_nets *nets, const char *value, char *ip,
    size_t len)
{
	struct proxy_net	 a;
	const char		*end = value + strlen(value), *start, *node;
	size_t			 nlen;
	int			 quoted;

	for (;;) {
		/* Commas inside a quoted string do not split elements. */
		start = end;
		quoted = 0;
		while (start > value && (quoted || start[-1] != ',')) {
			if (start[-1] == '"')
				quoted = !quoted;
			start--;
		}
		if (quoted ||
		    proxy_for(start, (size_t)(end - start), &node, &nlen) != 1)
			return (-1);
		if (proxy_node(node, nlen, &a) != 0)
			return (-1);
		if (!proxy_match(nets, &a) || start == value)
			return (proxy_ntop(&a, ip, len));
		end = start - 1;
	}
}

/* Sets *ss to address a and port, for the PROXY protocol's source. */
static void
proxy_sockaddr(const struct proxy_net *a, uint16_t port,
    struct sockaddr_storage *ss, socklen_t *sslen)
{
	struct sockaddr_in	*sin;
	struct sockaddr_in6	*sin6;

	memset(ss, 0, sizeof *ss);
	if (a->family == AF_INET) {
		sin = (struct sockaddr_in *)ss;
		sin->sin_family = AF_INET;
		memcpy(&sin->sin_addr, a->addr, 4);
		sin->sin_port = htons(port);
		*sslen = sizeof *sin;
	} else {
		sin6 = (struct sockaddr_in6 *)ss;
		sin6->sin6_family = AF_INET6;
		memcpy(&sin6->sin6_addr, a->addr, 16);
		sin6->sin6_port = htons(port);
		*sslen = sizeof *sin6;
	}
}

/* Reads a decimal port of a PROXY v1 line: 0 to 65535, no leading zero. */
static int
proxy_port(const char *s, size_t len, uint16_t *port)
{
	unsigned long	v = 0;
	size_t		i;

	if (len == 0 || len > 5 || (len > 1 && s[0] == '0'))
		return (-1);
	for (i = 0; i < len; i++) {
		if (s[i] < '0' || s[i] > '9')
			return (-1);
		v = v * 10 + (unsigned long)(s[i] - '0');
	}
	if (v > 65535)
		return (-1);
	*port = (uint16_t)v;
	return (0);
}

/* Parses a whole PROXY v1 line of len bytes, CRLF excluded. */
static int
proxy_v1(const char *s, size_t len, struct sockaddr_storage *ss,
    socklen_t *sslen)
{
	const char		*f[6], *p = s, *end = s + len;
	size_t			 fl[6], n = 0;
	struct proxy_net	 src, dst;
	uint16_t		 sport, dport;
	int			 family, trailing = 0;

	while (p < end && n < 6) {
		f[n] = p;
		while (p < end && *p != ' ')
			p++;
		fl[n] = (size_t)(p - f[n]);
		n++;
		if (p < end && ++p == end)
			trailing = 1;
	}
	if (n < 2 || fl[0] != 5 || memcmp(f[0], "PROXY", 5) != 0)
		return (-1);
	/* UNKNOWN: the proxy's own connection; the rest is ignored. */
	if (fl[1] == 7 && memcmp(f[1], "UNKNOWN", 7) == 0) {
		ss->ss_family = AF_UNSPEC;
		return (0);
	}
	if (n != 6 || p != end || trailing || fl[1] != 4)
		return (-1);
	if (memcmp(f[1], "TCP4", 4) == 0)
		family = AF_INET;
	else if (memcmp(f[1], "TCP6", 4) == 0)
		family = AF_INET6;
	else
		return (-1);
	/* proxy_addr() would take ::ffff:a.b.c.d as IPv4: compare first. */
	if (memchr(f[2], ':', fl[2]) != NULL) {
		if (family != AF_INET6)
			return (-1);
	} else if (family != AF_INET)
		return (-1);
	if (proxy_addr(f[2], fl[2], &src) != 0 ||
	    proxy_addr(f[3], fl[3], &dst) != 0 ||
	    proxy_port(f[4], fl[4], &sport) != 0 ||
	    proxy_port(f[5], fl[5], &dport) != 0)
		return (-1);
	proxy_sockaddr(&src, sport, ss, sslen);
	return (0);
}

/* Parses a PROXY v2 header whose 16 bytes of head are in b, body after. */
static int
proxy_v2(const uint8_t *b, size_t blen, struct sockaddr_storage *ss,
    socklen_t *sslen)
{
	struct proxy_net	src;
	uint16_t		port;

	if ((b[12] & 0xf0) != 0x20)
		return (-1);
	switch (b[12] & 0x0f) {
	case 0x0:		/* LOCAL: the proxy's own connection */
		ss->ss_family = AF_UNSPEC;
		return (0);
	case 0x1:		/* PROXY */
		break;
	default:
		return (-1);
	}
	memset(&src, 0, sizeof src);
	switch (b[13]) {
	case 0x11:		/* TCP over IPv4 */
		if (blen < 12)
			return (-1);
		src.family = AF_INET;
		memcpy(src.addr, b + PROXY_V2_HEAD, 4);
		port = (uint16_t)(b[PROXY_V2_HEAD + 8] << 8 |
		    b[PROXY_V2_HEAD + 9]);
		break;
	case 0x21:		/* TCP over IPv6 */
		if (blen < 36)
			return (-1);
		src.family = AF_INET6;
		memcpy(src.addr, b + PROXY_V2_HEAD, 16);
		port = (uint16_t)(b[PROXY_V2_HEAD + 32] << 8 |
		    b[PROXY_V2_HEAD + 33]);
		break;
	case 0x00:		/* UNSPEC: keep the peer's address */
		ss->ss_family = AF_UNSPEC;
		return (0);
	default:		/* UDP or UNIX: no client of a TCP port */
		return (-1);
	}
	proxy_sockaddr(&src, port, ss, sslen);
	return (0);
}

/*
 * Parses the PROXY protocol header at the start of the len bytes of b, v1
 * or v2 (HAProxy's proxy-protocol.txt).  Returns the header's length, with
 * *ss the client's address (AF_UNSPEC: the peer's own, for LOCAL or
 * UNKNOWN); 0 if b is a true prefix of a header, so that more must be read;
 * -1 if it is no header or one longer than PROXY_HEADER_MAX.  Returning 0
 * promises that every byte of b belongs to the header.
 */
int
proxy_header(const uint8_t *b, size_t len, struct sockaddr_storage *ss,
    socklen_t *sslen)
{
	const uint8_t	*cr;
	size_t		 n, total;

	memset(ss, 0, sizeof *ss);
	*sslen = 0;
	if (len == 0)
		return (0);
	if (b[0] == proxy_v2_sig[0]) {
		n = len < sizeof proxy_v2_sig ? len : sizeof proxy_v2_sig;
		if (memcmp(b, proxy_v2_sig, n) != 0)
			return (-1);
		if (len < PROXY_V2_HEAD)
			return (0);
		total = PROXY_V2_HEAD + ((size_t)b[14] << 8 | b[15]);
		if (total > PROXY_HEADER_MAX)
			return (-1);
		if (len < total)
			return (0);
		if (proxy_v2(b, total - PROXY_V2_HEAD, ss, sslen) != 0)
			return (-1);
		return ((int)total);
	}
	n = len < 6 ? len : 6;
	if (memcmp(b, "PROXY ", n) != 0)
		return (-1);
	n = len < PROXY_V1_MAX ? len : PROXY_V1_MAX;
	if ((cr = memchr(b, '\r', n)) == NULL) {
		if (len >= PROXY_V1_MAX || memchr(b, '\n', n) != NULL)
			return (-1);
		return (0);
	}
	if (memchr(b, '\n', (size_t)(cr - b)) != NULL ||
	    memchr(b, '\0', (size_t)(cr - b)) != NULL)
		return (-1);
	if ((size_t)(cr - b) + 1 == len)
		return (0);
	if (cr[1] != '\n')
		return (-1);
	if (proxy_v1((const char *)b, (size_t)(cr - b), ss, sslen) != 0)
		return (-1);
	return ((int)(cr - b + 2));
}
