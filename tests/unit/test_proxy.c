/* SPDX-License-Identifier: ISC */
/*
 * test_proxy.c: TAP unit tests of proxy.c: trusted_proxies and its CIDR
 * matching, the client in X-Forwarded-For (rightmost untrusted hop) and
 * Forwarded (RFC 7239), and PROXY protocol headers v1 and v2, whole,
 * truncated and bad (tickd.conf(5) Reverse proxy).
 */
#include <sys/types.h>
#include <sys/socket.h>
#include <netinet/in.h>
#include <arpa/inet.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "tickd.h"
#include "testlib.h"

#define NETS	"127.0.0.1, 10.0.0.0/8 ::1,2001:db8::/32 192.168.1.0/25"

static const uint8_t v2sig[12] = {
	0x0d, 0x0a, 0x0d, 0x0a, 0x00, 0x0d, 0x0a, 0x51, 0x55, 0x49, 0x54, 0x0a
};

/* Parses NETS into n, which must succeed. */
static int
nets(struct proxy_nets *n)
{
	char	*why = NULL;

	if (proxy_nets_parse(NETS, n, &why) != 0) {
		printf("# %s\n", why);
		free(why);
		return (0);
	}
	return (1);
}

/* Whether trusted_proxies value v is refused. */
static int
nets_bad(const char *v)
{
	struct proxy_nets	 n;
	char			*why = NULL;

	if (proxy_nets_parse(v, &n, &why) == 0) {
		printf("# \"%s\" was accepted\n", v);
		return (0);
	}
	free(why);
	return (1);
}

/* Addresses and CIDR blocks, both families, and what is refused. */
static int
test_cidr(void)
{
	struct proxy_nets	n;

	CHECK(nets(&n));
	CHECK(n.n == 5);
	CHECK(proxy_trusted(&n, "127.0.0.1"));
	CHECK(!proxy_trusted(&n, "127.0.0.2"));
	CHECK(proxy_trusted(&n, "10.0.0.0"));
	CHECK(proxy_trusted(&n, "10.255.255.255"));
	CHECK(!proxy_trusted(&n, "11.0.0.0"));
	CHECK(!proxy_trusted(&n, "9.255.255.255"));
	CHECK(proxy_trusted(&n, "192.168.1.127"));
	CHECK(!proxy_trusted(&n, "192.168.1.128"));
	CHECK(proxy_trusted(&n, "::1"));
	CHECK(!proxy_trusted(&n, "::2"));
	CHECK(proxy_trusted(&n, "2001:db8:ffff::1"));
	CHECK(!proxy_trusted(&n, "2001:db9::1"));
	/* IPv4-mapped IPv6 is the IPv4 address. */
	CHECK(proxy_trusted(&n, "::ffff:10.1.2.3"));
	CHECK(!proxy_trusted(&n, "::ffff:11.1.2.3"));
	/* Not addresses. */
	CHECK(!proxy_trusted(&n, ""));
	CHECK(!proxy_trusted(&n, "localhost"));
	CHECK(!proxy_trusted(&n, "10.0.0"));
	CHECK(!proxy_trusted(NULL, "127.0.0.1"));
	/* Host bits are cleared; /0 is everything of a family. */
	CHECK(proxy_nets_parse("10.1.2.3/8", &n, NULL) == 0);
	CHECK(proxy_trusted(&n, "10.200.0.1"));
	CHECK(proxy_nets_parse("0.0.0.0/0", &n, NULL) == 0);
	CHECK(proxy_trusted(&n, "203.0.113.9"));
	CHECK(!proxy_trusted(&n, "::1"));
	CHECK(proxy_nets_parse("fe80::/10", &n, NULL) == 0);
	CHECK(proxy_trusted(&n, "febf::1"));
	CHECK(!proxy_trusted(&n, "fec0::1"));
	CHECK(nets_bad(""));
	CHECK(nets_bad(" , "));
	CHECK(nets_bad("localhost"));
	CHECK(nets_bad("10.0.0.0/33"));
	CHECK(nets_bad("::/129"));
	CHECK(nets_bad("10.0.0.0/"));
	CHECK(nets_bad("10.0.0.0/-1"));
	CHECK(nets_bad("10.0.0.0/8x"));
	CHECK(nets_bad("10.0.0.0/8/8"));
	CHECK(nets_bad("127.0.0.1:80"));
	CHECK(nets_bad("[::1]"));
	return (0);
}

/* More than PROXY_NETS_MAX entries are refused, that many are not. */
static int
test_cidr_max(void)
{
	struct proxy_nets	 n;
	char			 buf[PROXY_NETS_MAX * 16 + 32], *why = NULL;
	size_t			 i, off = 0;

	buf[0] = '\0';
	for (i = 0; i < PROXY_NETS_MAX; i++)
		off += (size_t)snprintf(buf + off, sizeof buf - off,
		    "10.0.%zu.1,", i);
	CHECK(proxy_nets_parse(buf, &n, &why) == 0);
	CHECK(n.n == PROXY_NETS_MAX);
	snprintf(buf + off, sizeof buf - off, "10.1.0.1");
	CHECK(proxy_nets_parse(buf, &n, &why) != 0);
	CHECK(why != NULL);
	free(why);
	return (0);
}

/* Returns the client proxy_xff() finds in v, or "ERR". */
static const char *
xff(const char *v)
{
	static char		ip[INET6_ADDRSTRLEN];
	struct proxy_nets	n;

	if (!nets(&n) || proxy_xff(&n, v, ip, sizeof ip) != 0)
		return ("ERR");
	return (ip);
}

/* Returns the client proxy_forwarded() finds in v, or "ERR". */
static const char *
fwd(const char *v)
{
	static char		ip[INET6_ADDRSTRLEN];
	struct proxy_nets	n;

	if (!nets(&n) || proxy_forwarded(&n, v, ip, sizeof ip) != 0)
		return ("ERR");
	return (ip);
}

#define CHECK_IP(got, want) do {					\
	const char *g_ = (got);						\
	if (strcmp(g_, (want)) != 0) {					\
		printf("# %s:%d: got %s, want %s\n", __FILE__,		\
		    __LINE__, g_, (want));				\
		return (1);						\
	}								\
} while (0)

/* X-Forwarded-For: the rightmost hop not trusted, read from the right. */
static int
test_xff(void)
{
	CHECK_IP(xff("203.0.113.7"), "203.0.113.7");
	CHECK_IP(xff(" 203.0.113.7 "), "203.0.113.7");
	CHECK_IP(xff("198.51.100.1, 203.0.113.7"), "203.0.113.7");
	CHECK_IP(xff("198.51.100.1, 203.0.113.7, 10.0.0.2"), "203.0.113.7");
	CHECK_IP(xff("198.51.100.1,203.0.113.7,10.0.0.2,127.0.0.1"),
	    "203.0.113.7");
	/* Every hop trusted: the leftmost. */
	CHECK_IP(xff("10.0.0.9, 127.0.0.1"), "10.0.0.9");
	/* A client's forgery left of its own address is never read. */
	CHECK_IP(xff("garbage, <script>, 203.0.113.7"), "203.0.113.7");
	CHECK_IP(xff("127.0.0.1, 203.0.113.7"), "203.0.113.7");
	/* IPv6, bracketed or not, ports, mapped IPv4: canonical text. */
	CHECK_IP(xff("2001:DB9::0001"), "2001:db9::1");
	CHECK_IP(xff("[2001:db9::1]:443"), "2001:db9::1");
	CHECK_IP(xff("[2001:db9::1]"), "2001:db9::1");
	CHECK_IP(xff("203.0.113.7:5555"), "203.0.113.7");
	CHECK_IP(xff("::ffff:203.0.113.7"), "203.0.113.7");
	CHECK_IP(xff("203.0.113.7, 2001:db8::5"), "203.0.113.7");
	/* Malformed where read. */
	CHECK_IP(xff(""), "ERR");
	CHECK_IP(xff(" "), "ERR");
	CHECK_IP(xff("203.0.113.7,"), "ERR");
	CHECK_IP(xff("unknown"), "ERR");
	CHECK_IP(xff("example.com"), "ERR");
	CHECK_IP(xff("203.0.113.7, 10.0.0.1, junk, 10.0.0.2"), "ERR");
	CHECK_IP(xff("300.0.113.7"), "ERR");
	CHECK_IP(xff("203.0.113.7:"), "ERR");
	CHECK_IP(xff("203.0.113.7:80x"), "ERR");
	CHECK_IP(xff("[2001:db9::1"), "ERR");
	CHECK_IP(xff("[2001:db9::1]x"), "ERR");
	CHECK_IP(xff("[203.0.113.7]"), "ERR");
	CHECK_IP(xff("2001:db9::1:80:"), "ERR");
	return (0);
}

/* Forwarded (RFC 7239): for= of the rightmost untrusted element. */
static int
test_forwarded(void)
{
	CHECK_IP(fwd("for=203.0.113.7"), "203.0.113.7");
	CHECK_IP(fwd("For=\"203.0.113.7:4711\""), "203.0.113.7");
	CHECK_IP(fwd("for=192.0.2.60;proto=http;by=203.0.113.43"),
	    "192.0.2.60");
	CHECK_IP(fwd("proto=https; for=192.0.2.60"), "192.0.2.60");
	CHECK_IP(fwd("for=\"[2001:db9:cafe::17]:4711\""), "2001:db9:cafe::17");
	CHECK_IP(fwd("for=192.0.2.43, for=198.51.100.17"), "198.51.100.17");
	CHECK_IP(fwd("for=192.0.2.43, for=198.51.100.17;by=10.0.0.1, "
	    "for=10.0.0.1"), "198.51.100.17");
	/* A comma inside quotes does not split elements. */
	CHECK_IP(fwd("for=192.0.2.43;host=\"a,b\""), "192.0.2.43");
	/* Hidden, unknown, missing or malformed where read. */
	CHECK_IP(fwd("for=unknown"), "ERR");
	CHECK_IP(fwd("for=_hidden"), "ERR");
	CHECK_IP(fwd("proto=http"), "ERR");
	CHECK_IP(fwd("for=192.0.2.43;for=192.0.2.44"), "ERR");
	CHECK_IP(fwd("for"), "ERR");
	CHECK_IP(fwd("for=\"192.0.2.43"), "ERR");
	CHECK_IP(fwd("for=\"192.0.2\\.43\""), "ERR");
	CHECK_IP(fwd("for=[2001:db9::1]"), "2001:db9::1");
	CHECK_IP(fwd(""), "ERR");
	CHECK_IP(fwd("for=192.0.2.43, for=10.0.0.1, for=junk, for=10.0.0.2"),
	    "ERR");
	return (0);
}

/* Runs proxy_header() on len bytes of b: its result, *ip and *port. */
static int
hdr(const void *b, size_t len, char *ip, size_t iplen, unsigned *port)
{
	struct sockaddr_storage	 ss;
	socklen_t		 sslen;
	uint8_t			*copy;
	int			 ret;

	/* A copy of exactly len bytes, so that ASan sees any overread. */
	copy = xmalloc(len == 0 ? 1 : len);
	memcpy(copy, b, len);
	ret = proxy_header(copy, len, &ss, &sslen);
	free(copy);
	ip[0] = '\0';
	*port = 0;
	if (ret > 0 && ss.ss_family == AF_INET) {
		inet_ntop(AF_INET, &((struct sockaddr_in *)&ss)->sin_addr, ip,
		    (socklen_t)iplen);
		*port = ntohs(((struct sockaddr_in *)&ss)->sin_port);
		if (sslen != sizeof (struct sockaddr_in))
			return (-2);
	} else if (ret > 0 && ss.ss_family == AF_INET6) {
		inet_ntop(AF_INET6, &((struct sockaddr_in6 *)&ss)->sin6_addr,
		    ip, (socklen_t)iplen);
		*port = ntohs(((struct sockaddr_in6 *)&ss)->sin6_port);
		if (sslen != sizeof (struct sockaddr_in6))
			return (-2);
	} else if (ret > 0 && ss.ss_family == AF_UNSPEC)
		strlcpy(ip, "UNSPEC", iplen);
	return (ret);
}

/* Every true prefix of a whole header of len bytes asks for more. */
static int
prefixes_need_more(const void *b, size_t len)
{
	char		ip[INET6_ADDRSTRLEN];
	unsigned	port;
	size_t		i;

	for (i = 0; i < len; i++) {
		if (hdr(b, i, ip, sizeof ip, &port) != 0) {
			printf("# prefix of %zu bytes: not 0\n", i);
			return (0);
		}
	}
	return (1);
}

/* PROXY v1: TCP4, TCP6, UNKNOWN, what follows untouched, truncations. */
static int
test_v1(void)
{
	const char	*h4 = "PROXY TCP4 203.0.113.7 10.0.0.1 51234 8080\r\n";
	const char	*h6 =
	    "PROXY TCP6 2001:db8::7 2001:db8::1 65535 6380\r\n";
	const char	*hu = "PROXY UNKNOWN\r\n";
	char		 buf[256], ip[INET6_ADDRSTRLEN];
	unsigned	 port;

	CHECK(hdr(h4, strlen(h4), ip, sizeof ip, &port) == (int)strlen(h4));
	CHECK(strcmp(ip, "203.0.113.7") == 0 && port == 51234);
	snprintf(buf, sizeof buf, "%sGET / HTTP/1.1\r\n", h4);
	CHECK(hdr(buf, strlen(buf), ip, sizeof ip, &port) == (int)strlen(h4));
	CHECK(hdr(h6, strlen(h6), ip, sizeof ip, &port) == (int)strlen(h6));
	CHECK(strcmp(ip, "2001:db8::7") == 0 && port == 65535);
	CHECK(hdr(hu, strlen(hu), ip, sizeof ip, &port) == (int)strlen(hu));
	CHECK(strcmp(ip, "UNSPEC") == 0);
	snprintf(buf, sizeof buf, "PROXY UNKNOWN ffff::1 ffff::2 1 2\r\n");
	CHECK(hdr(buf, strlen(buf), ip, sizeof ip, &port) == (int)strlen(buf));
	CHECK(prefixes_need_more(h4, strlen(h4)));
	CHECK(prefixes_need_more(h6, strlen(h6)));
	/* Bad ones. */
#define V1_BAD(s) CHECK(hdr((s), strlen(s), ip, sizeof ip, &port) == -1)
	V1_BAD("GET / HTTP/1.1\r\n\r\n");
	V1_BAD("proxy TCP4 1.2.3.4 5.6.7.8 1 2\r\n");
	V1_BAD("PROXY\r\n");
	V1_BAD("PROXY TCP4\r\n");
	V1_BAD("PROXY TCP5 1.2.3.4 5.6.7.8 1 2\r\n");
	V1_BAD("PROXY TCP4 1.2.3.4 5.6.7.8 1\r\n");
	V1_BAD("PROXY TCP4 1.2.3.4 5.6.7.8 1 2 3\r\n");
	V1_BAD("PROXY TCP4 1.2.3.4 5.6.7.8 1 2 \r\n");
	V1_BAD("PROXY TCP4  1.2.3.4 5.6.7.8 1 2\r\n");
	V1_BAD("PROXY TCP4 1.2.3.4 5.6.7.8 65536 2\r\n");
	V1_BAD("PROXY TCP4 1.2.3.4 5.6.7.8 01 2\r\n");
	V1_BAD("PROXY TCP4 1.2.3.4 5.6.7.8 -1 2\r\n");
	V1_BAD("PROXY TCP4 1.2.3.256 5.6.7.8 1 2\r\n");
	V1_BAD("PROXY TCP4 ::1 ::1 1 2\r\n");
	V1_BAD("PROXY TCP6 1.2.3.4 5.6.7.8 1 2\r\n");
	V1_BAD("PROXY TCP4 1.2.3.4 5.6.7.8 1 2\n");
	V1_BAD("PROXY TCP4 1.2.3.4 5.6.7.8 1 2\rX");
	V1_BAD("PROXY TCP4 1.2.3.4\n5.6.7.8 1 2\r\n");
	/* A LF before the CR is bad as soon as the CR is read. */
	V1_BAD("PROXY TCP4 1.2.3.4\n\r");
	CHECK(hdr("PROXY TCP4 1.2.3.4\0 5.6.7.8 1 2\r\n", 33, ip, sizeof ip,
	    &port) == -1);
	/* No CRLF within 107 bytes. */
	memset(buf, 'A', sizeof buf);
	memcpy(buf, "PROXY ", 6);
	CHECK(hdr(buf, 106, ip, sizeof ip, &port) == 0);
	CHECK(hdr(buf, 107, ip, sizeof ip, &port) == -1);
	CHECK(hdr(buf, sizeof buf, ip, sizeof ip, &port) == -1);
	return (0);
}

/* Builds a v2 header: command, family, address bytes, extra TLV bytes. */
static size_t
v2(uint8_t *b, uint8_t cmd, uint8_t fam, const uint8_t *addr, size_t alen,
    size_t extra)
{
	memcpy(b, v2sig, 12);
	b[12] = cmd;
	b[13] = fam;
	b[14] = (uint8_t)((alen + extra) >> 8);
	b[15] = (uint8_t)(alen + extra);
	memcpy(b + 16, addr, alen);
	memset(b + 16 + alen, 0, extra);
	return (16 + alen + extra);
}

/* PROXY v2: IPv4, IPv6, LOCAL, TLVs, truncations and bad bytes. */
static int
test_v2(void)
{
	static const uint8_t	 a4[12] = {
		203, 0, 113, 7, 10, 0, 0, 1, 0xc8, 0x22, 0x1f, 0x90
	};
	uint8_t			 a6[36], b[PROXY_HEADER_MAX + 64];
	char			 ip[INET6_ADDRSTRLEN];
	unsigned		 port;
	size_t			 n;

	n = v2(b, 0x21, 0x11, a4, sizeof a4, 0);
	CHECK(n == 28);
	CHECK(hdr(b, n, ip, sizeof ip, &port) == 28);
	CHECK(strcmp(ip, "203.0.113.7") == 0 && port == 0xc822);
	CHECK(prefixes_need_more(b, n));
	/* What follows is not the header's. */
	memcpy(b + n, "*1\r\n$4\r\nPING\r\n", 14);
	CHECK(hdr(b, n + 14, ip, sizeof ip, &port) == 28);
	/* TLVs after the addresses are skipped. */
	n = v2(b, 0x21, 0x11, a4, sizeof a4, 20);
	CHECK(hdr(b, n, ip, sizeof ip, &port) == (int)n);
	CHECK(strcmp(ip, "203.0.113.7") == 0);
	memset(a6, 0, sizeof a6);
	a6[0] = 0x20; a6[1] = 0x01; a6[2] = 0x0d; a6[3] = 0xb8; a6[15] = 7;
	a6[32] = 0x01; a6[33] = 0xbb;
	n = v2(b, 0x21, 0x21, a6, sizeof a6, 0);
	CHECK(hdr(b, n, ip, sizeof ip, &port) == 52);
	CHECK(strcmp(ip, "2001:db8::7") == 0 && port == 443);
	CHECK(prefixes_need_more(b, n));
	/* LOCAL, and PROXY with AF_UNSPEC: the peer's own address. */
	n = v2(b, 0x20, 0x00, a4, 0, 0);
	CHECK(hdr(b, n, ip, sizeof ip, &port) == 16);
	CHECK(strcmp(ip, "UNSPEC") == 0);
	n = v2(b, 0x21, 0x00, a4, 0, 0);
	CHECK(hdr(b, n, ip, sizeof ip, &port) == 16);
	CHECK(strcmp(ip, "UNSPEC") == 0);
	/* Bad: version, command, family, short address, UNIX, UDP. */
	n = v2(b, 0x11, 0x11, a4, sizeof a4, 0);
	CHECK(hdr(b, n, ip, sizeof ip, &port) == -1);
	n = v2(b, 0x22, 0x11, a4, sizeof a4, 0);
	CHECK(hdr(b, n, ip, sizeof ip, &port) == -1);
	n = v2(b, 0x21, 0x11, a4, 11, 0);
	CHECK(hdr(b, n, ip, sizeof ip, &port) == -1);
	n = v2(b, 0x21, 0x21, a6, 35, 0);
	CHECK(hdr(b, n, ip, sizeof ip, &port) == -1);
	n = v2(b, 0x21, 0x31, a6, sizeof a6, 0);
	CHECK(hdr(b, n, ip, sizeof ip, &port) == -1);
	n = v2(b, 0x21, 0x12, a4, sizeof a4, 0);
	CHECK(hdr(b, n, ip, sizeof ip, &port) == -1);
	n = v2(b, 0x21, 0x51, a4, sizeof a4, 0);
	CHECK(hdr(b, n, ip, sizeof ip, &port) == -1);
	/* A wrong signature byte, found as soon as it is read. */
	n = v2(b, 0x21, 0x11, a4, sizeof a4, 0);
	b[5] = 0x0e;
	CHECK(hdr(b, 6, ip, sizeof ip, &port) == -1);
	CHECK(hdr(b, n, ip, sizeof ip, &port) == -1);
	/* Longer than PROXY_HEADER_MAX: refused from its length alone. */
	n = v2(b, 0x21, 0x11, a4, sizeof a4, PROXY_HEADER_MAX - 28 + 1);
	CHECK(hdr(b, 16, ip, sizeof ip, &port) == -1);
	n = v2(b, 0x21, 0x11, a4, sizeof a4, PROXY_HEADER_MAX - 28);
	CHECK(hdr(b, n, ip, sizeof ip, &port) == PROXY_HEADER_MAX);
	CHECK(hdr(b, 0, ip, sizeof ip, &port) == 0);
	return (0);
}

/* The tests, in the order they run. */
static const struct test tests[] = {
	{ "trusted_proxies and CIDR matching", test_cidr },
	{ "trusted_proxies holds at most PROXY_NETS_MAX", test_cidr_max },
	{ "X-Forwarded-For", test_xff },
	{ "Forwarded", test_forwarded },
	{ "PROXY protocol v1", test_v1 },
	{ "PROXY protocol v2", test_v2 },
};

/* Runs every test in the table and prints TAP; exits 0 if all passed. */
int
main(void)
{
	setvbuf(stdout, NULL, _IOLBF, 0);
	log_init(1, L_WARN);
	return (tap_run(tests, nitems(tests)) != 0);
}
