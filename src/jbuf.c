/* SPDX-License-Identifier: ISC */
/*
 * jbuf.c: JSON objects written straight into a buffer, for the frames made
 * once per message (msg, receipt, sent, and the ok of a write).  Building
 * them as jansson trees and dumping those was most of tickd's CPU per
 * message: a tree allocates every member, then the dump walks it again.
 *
 * The text is what json_dumps(obj, JSON_COMPACT) makes of the same object
 * (tests/unit/test_jbuf.c holds it to that), and a string that jansson
 * would refuse, not being UTF-8, fails the whole frame as json_pack would.
 * Small values of other kinds (a request's ref) are dumped by jansson.
 * Member names are literals of ours and are written as they are.
 */
#include <stdlib.h>
#include <string.h>

#include "tickd.h"

/* Makes room for n more bytes, doubling the buffer. */
static void
jbuf_grow(struct jbuf *j, size_t n)
{
	if (j->len + n <= j->cap)
		return;
	while (j->len + n > j->cap)
		j->cap = j->cap == 0 ? 256 : j->cap * 2;
	j->p = xrealloc(j->p, j->cap);
}

/* Appends n bytes as they are. */
static void
jbuf_add(struct jbuf *j, const void *p, size_t n)
{
	jbuf_grow(j, n);
	memcpy(j->p + j->len, p, n);
	j->len += n;
}

/* ,"key": (or "key": first) */
static void
jbuf_key(struct jbuf *j, const char *key)
{
	size_t	klen = strlen(key);

	jbuf_grow(j, klen + 4);
	if (j->len > 1)
		j->p[j->len++] = ',';
	j->p[j->len++] = '"';
	memcpy(j->p + j->len, key, klen);
	j->len += klen;
	j->p[j->len++] = '"';
	j->p[j->len++] = ':';
}

/* Starts an object whose first member is "op". */
void
jbuf_open(struct jbuf *j, const char *op)
{
	memset(j, 0, sizeof *j);
	jbuf_add(j, "{", 1);
	jbuf_str(j, "op", op);
}

/* A string member, escaped as jansson escapes it. */
void
jbuf_str(struct jbuf *j, const char *key, const char *s)
{
	static const char	 hex[] = "0123456789ABCDEF";
	const unsigned char	*p = (const unsigned char *)s;
	size_t			 n = strlen(s), run, u;

	jbuf_key(j, key);
	jbuf_add(j, "\"", 1);
	while (n > 0) {
		/* Runs of bytes that need nothing are copied at once. */
		for (run = 0; run < n && p[run] >= 0x20 && p[run] < 0x80 &&
		    p[run] != '"' && p[run] != '\\'; run++)
			;
		jbuf_add(j, p, run);
		p += run;
		n -= run;
		if (n == 0)
			break;
		if (*p >= 0x80) {
			if ((u = utf8_len(p, n)) == 0) {
				j->bad = 1;
				return;
			}
			jbuf_add(j, p, u);
			p += u;
			n -= u;
			continue;
		}
		jbuf_grow(j, 6);
		j->p[j->len++] = '\\';
		switch (*p) {
		case '"':
		case '\\':
			j->p[j->len++] = (char)*p;
			break;
		case '\b':
			j->p[j->len++] = 'b';
			break;
		case '\f':
			j->p[j->len++] = 'f';
			break;
		case '\n':
			j->p[j->len++] = 'n';
			break;
		case '\r':
			j->p[j->len++] = 'r';
			break;
		case '\t':
			j->p[j->len++] = 't';
			break;
		default:
			memcpy(j->p + j->len, "u00", 3);
			j->len += 3;
			j->p[j->len++] = hex[*p >> 4];
			j->p[j->len++] = hex[*p & 0xf];
			break;
		}
		p++;
		n--;
	}
	jbuf_add(j, "\"", 1);
}

/* An integer member. */
void
jbuf_uint(struct jbuf *j, const char *key, uint64_t v)
{
	jbuf_key(j, key);
	jbuf_grow(j, 20);
	j->len += u64_format(v, j->p + j->len);
}

/* A member whose value is JSON text already. */
void
jbuf_raw(struct jbuf *j, const char *key, const char *json, size_t len)
{
	jbuf_key(j, key);
	jbuf_add(j, json, len);
}

/* A member whose value is a jansson value, as json_dumps writes it. */
void
jbuf_json(struct jbuf *j, const char *key, const json_t *v)
{
	char	*text;

	if ((text = json_dumps(v, JSON_COMPACT | JSON_ENCODE_ANY)) == NULL) {
		j->bad = 1;
		return;
	}
	jbuf_raw(j, key, text, strlen(text));
	free(text);
}

/*
 * Closes the object: the NUL-terminated text, its length in *len, owned
 * by the caller; or NULL if a string was not UTF-8 or a jansson value
 * could not be dumped.
 */
char *
jbuf_close(struct jbuf *j, size_t *len)
{
	if (j->bad) {
		free(j->p);
		return (NULL);
	}
	jbuf_add(j, "}", 2);		/* and the NUL */
	*len = j->len - 1;
	return (j->p);
}
