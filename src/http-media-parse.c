/* SPDX-License-Identifier: ISC */
/*
 * http-media-parse.c: the two parsers of an upload's and a download's
 * head (tickd-protocol(7) MEDIA): the Content-Type of an upload and the
 * Range of a download.  No globals and nothing else linked, so that the
 * fuzz-http target and the unit tests can take them alone.
 */
#include <stdint.h>
#include <string.h>
#include <strings.h>

#include "tickd.h"

/* Whether c may appear in a token of RFC 9110 (a type or subtype). */
static int
tchar(int c)
{
	return ((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
	    (c >= '0' && c <= '9') || strchr("!#$%&'*+-.^_`|~", c) != NULL);
}

/*
 * Whether a Content-Type is "type/subtype" with optional parameters after
 * a ";", at most MEDIA_TYPE_MAX bytes of printable ASCII.
 */
int
media_type_ok(const char *s)
{
	size_t	i = 0, n;

	if (s == NULL || (n = strlen(s)) == 0 || n > MEDIA_TYPE_MAX)
		return (0);
	for (i = 0; i < n; i++) {
		if ((s[i] < 0x20 || s[i] > 0x7e) && s[i] != '\t')
			return (0);
	}
	for (i = 0; s[i] != '\0' && tchar((unsigned char)s[i]); i++)
		;
	if (i == 0 || s[i] != '/')
		return (0);
	n = ++i;
	for (; s[i] != '\0' && tchar((unsigned char)s[i]); i++)
		;
	if (i == n)
		return (0);
	while (s[i] == ' ' || s[i] == '\t')
		i++;
	return (s[i] == '\0' || s[i] == ';');
}

/* Reads the digits at *p into *v; -1 if there are none or too many. */
static int
range_num(const char **p, uint64_t *v)
{
	const char	*s = *p;

	*v = 0;
	if (*s < '0' || *s > '9')
		return (-1);
	for (; *s >= '0' && *s <= '9'; s++) {
		if (*v > (UINT64_MAX - 9) / 10)
			return (-1);
		*v = *v * 10 + (uint64_t)(*s - '0');
	}
	*p = s;
	return (0);
}

/*
 * Parses a Range header against a file of size bytes (tickd-protocol(7)
 * MEDIA rule 7): one range "a-b", "a-" or "-n" gives RANGE_ONE and the
 * bytes to send; several ranges, or a header that is not a byte range
 * at all, RANGE_NONE (the whole file); a range beyond the end RANGE_BAD.
 */
int
media_range_parse(const char *h, uint64_t size, uint64_t *off, uint64_t *len)
{
	const char	*p;
	uint64_t	 a, b;

	if (h == NULL || strncasecmp(h, "bytes=", 6) != 0)
		return (RANGE_NONE);
	p = h + 6;
	while (*p == ' ' || *p == '\t')
		p++;
	if (strchr(p, ',') != NULL)
		return (RANGE_NONE);
	if (*p == '-') {
		p++;
		if (range_num(&p, &b) != 0)
			return (RANGE_NONE);
		while (*p == ' ' || *p == '\t')
			p++;
		if (*p != '\0')
			return (RANGE_NONE);
		if (b == 0 || size == 0)
			return (RANGE_BAD);
		if (b > size)
			b = size;
		*off = size - b;
		*len = b;
		return (RANGE_ONE);
	}
	if (range_num(&p, &a) != 0 || *p++ != '-')
		return (RANGE_NONE);
	if (*p >= '0' && *p <= '9') {
		if (range_num(&p, &b) != 0 || b < a)
			return (RANGE_NONE);
	} else
		b = UINT64_MAX;
	while (*p == ' ' || *p == '\t')
		p++;
	if (*p != '\0')
		return (RANGE_NONE);
	if (a >= size)
		return (RANGE_BAD);
	if (b >= size)
		b = size - 1;
	*off = a;
	*len = b - a + 1;
	return (RANGE_ONE);
}
