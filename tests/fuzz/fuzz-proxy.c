/* SPDX-License-Identifier: ISC */
/*
 * fuzz-proxy.c: proxy.c's parsers on hostile bytes (tickd.conf(5) Reverse
 * proxy).  proxy_header() must keep the promise the PROXY listener's reader
 * relies on: a true prefix of a header, or of input it wants more of, asks
 * for more, never less, and a header never ends past the input.  The
 * client proxy_xff() and proxy_forwarded() find in a header value must be
 * an address.  A broken promise aborts.
 */
#include <sys/types.h>
#include <sys/socket.h>
#include <netinet/in.h>
#include <arpa/inet.h>

#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "tickd.h"

int	LLVMFuzzerTestOneInput(const uint8_t *, size_t);

/* Whether ip is the text of an IPv4 or IPv6 address. */
static int
is_address(const char *ip)
{
	uint8_t	buf[16];

	return (inet_pton(AF_INET, ip, buf) == 1 ||
	    inet_pton(AF_INET6, ip, buf) == 1);
}

/* proxy_header() on data and on each of its prefixes, which must agree. */
static void
fuzz_header(const uint8_t *data, size_t size)
{
	struct sockaddr_storage	ss;
	socklen_t		sslen;
	size_t			i, upto;
	int			whole;

	whole = proxy_header(data, size, &ss, &sslen);
	if (whole > 0 && ((size_t)whole > size || (ss.ss_family != AF_INET &&
	    ss.ss_family != AF_INET6 && ss.ss_family != AF_UNSPEC)))
		abort();
	if (whole < 0)
		return;
	upto = whole > 0 ? (size_t)whole : size;
	if (upto > PROXY_HEADER_MAX)
		abort();
	for (i = 0; i < upto; i++) {
		if (proxy_header(data, i, &ss, &sslen) != 0)
			abort();
	}
}

/* The header value parsers on a NUL-terminated copy of data. */
static void
fuzz_values(const uint8_t *data, size_t size)
{
	static struct proxy_nets	 nets;
	static int			 ready;
	char				*value, *why, ip[INET6_ADDRSTRLEN];

	if (!ready) {
		if (proxy_nets_parse("127.0.0.1,10.0.0.0/8,::1,2001:db8::/32",
		    &nets, &why) != 0)
			abort();
		ready = 1;
	}
	value = xmalloc(size + 1);
	memcpy(value, data, size);
	value[size] = '\0';
	if (proxy_xff(&nets, value, ip, sizeof ip) == 0 && !is_address(ip))
		abort();
	if (proxy_forwarded(&nets, value, ip, sizeof ip) == 0 &&
	    !is_address(ip))
		abort();
	free(value);
}

/* One input: as a PROXY header, then as a header value. */
int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	fuzz_header(data, size);
	fuzz_values(data, size);
	return (0);
}
