/* SPDX-License-Identifier: ISC */
/*
 * proto-fast.c: send, ack and read frames in their common shapes, read in
 * one pass over their bytes into the struct proto_req that proto_req_json()
 * makes of jansson's tree, without that tree: parsing it was a third of
 * tickd's instructions per message (bench/README).
 *
 * It takes only what it is sure of: one object of the members of its op,
 * each once; strings without escapes, but for the escapes in a body that
 * jansson writes back as they are; integers of at most 18 digits; no
 * reals; UTF-8 checked as jansson checks it; nothing nested deeper than
 * max_json_depth or that proto_load() or proto_req_json() would refuse.
 * Anything else it declines, and the frame goes to jansson as before, so
 * that errors, refs and limits stay what they were.
 * tests/unit/test_proto_fast.c and tests/fuzz/fuzz-json.c hold it to what
 * the jansson path makes of the same bytes.
 */
#include <stdlib.h>
#include <string.h>

#include "tickd.h"

#define FAST_DEPTH_MAX	16	/* deeper bodies go to jansson */
#define FAST_KEYS_MAX	64	/* members of the open objects of a body */
#define FAST_DIGITS_MAX	18	/* any such integer fits a json_int_t */

/* The members the fast path knows; any other declines the frame. */
enum fast_key { K_OP, K_REF, K_TO, K_ID, K_BODY, K_MID, K_MIDS, K_NONE };

struct fast_span {
	const unsigned char	*p;
	size_t			 len;
};

struct fast_scan {
	const unsigned char	*p, *end;
	unsigned		 depth, max_depth;
	char			*out;		/* the body, compacted */
	size_t			 outlen;
	struct fast_span	 keys[FAST_KEYS_MAX];	/* of open objects */
	size_t			 nkeys;
};

/* Skips JSON's whitespace: the next byte, or -1 at the end. */
static int
fast_ws(struct fast_scan *s)
{
	while (s->p < s->end && (*s->p == ' ' || *s->p == '\t' ||
	    *s->p == '\n' || *s->p == '\r'))
		s->p++;
	return (s->p < s->end ? *s->p : -1);
}

/*
 * The string whose opening quote is at s->p, if it has no escape and no
 * control character and is UTF-8: its bytes, as jansson would decode
 * them, in *v.  -1 if it is not such a string.
 */
static int
fast_plain(struct fast_scan *s, struct fast_span *v)
{
	const unsigned char	*p = s->p + 1;
	size_t			 u;

	while (p < s->end && *p != '"') {
		if (*p < 0x80) {
			/* jansson refuses control characters. */
			if (*p < 0x20 || *p == '\\')
				return (-1);
			p++;
		} else if ((u = utf8_len(p, (size_t)(s->end - p))) == 0)
			return (-1);
		else
			p += u;
	}
	if (p == s->end)
		return (-1);
	v->p = s->p + 1;
	v->len = (size_t)(p - v->p);
	s->p = p + 1;
	return (0);
}

/*
 * The integer at s->p in *v, if jansson would write it back as it is
 * written: no leading zero, no "-0", not part of a real.  -1 if not.
 */
static int
fast_int(struct fast_scan *s, int64_t *v)
{
	const unsigned char	*p = s->p, *digits;
	int64_t			 n = 0;
	int			 neg = 0;

	if (p < s->end && *p == '-') {
		neg = 1;
		p++;
	}
	for (digits = p; p < s->end && *p >= '0' && *p <= '9'; p++) {
		if (p - digits == FAST_DIGITS_MAX)
			return (-1);
		n = n * 10 + (*p - '0');
	}
	if (p == digits || (*digits == '0' && (p - digits > 1 || neg)))
		return (-1);
	if (p < s->end && (*p == '.' || *p == 'e' || *p == 'E'))
		return (-1);
	*v = neg ? -n : n;
	s->p = p;
	return (0);
}

/* Appends n bytes at p to the body. */
static void
fast_emit(struct fast_scan *s, const unsigned char *p, size_t n)
{
	memcpy(s->out + s->outlen, p, n);
	s->outlen += n;
}

static int	fast_body(struct fast_scan *);

/*
 * A string of a body, copied as jansson writes it back: the escapes kept
 * are those it writes the same way; \/ and \u decline.  For a member name
 * (key not NULL) no escape is taken, so that its bytes compare as the
 * names jansson compares.
 */
static int
fast_body_string(struct fast_scan *s, struct fast_span *key)
{
	const unsigned char	*start = s->p, *p = s->p + 1;
	size_t			 u;

	while (p < s->end && *p != '"') {
		if (*p == '\\') {
			if (key != NULL || p + 1 == s->end)
				return (-1);
			switch (p[1]) {
			case '"':
			case '\\':
			case 'b':
			case 'f':
			case 'n':
			case 'r':
			case 't':
				p += 2;
				continue;
			default:
				return (-1);
			}
		}
		if (*p < 0x20)
			return (-1);
		if (*p < 0x80)
			p++;
		else if ((u = utf8_len(p, (size_t)(s->end - p))) == 0)
			return (-1);
		else
			p += u;
	}
	if (p == s->end)
		return (-1);
	if (key != NULL) {
		key->p = start + 1;
		key->len = (size_t)(p - key->p);
	}
	s->p = p + 1;
	fast_emit(s, start, (size_t)(s->p - start));
	return (0);
}

/* An array of a body, at s->p. */
static int
fast_body_array(struct fast_scan *s)
{
	int	c;

	if (++s->depth > s->max_depth)
		return (-1);
	fast_emit(s, s->p++, 1);
	if ((c = fast_ws(s)) != ']') {
		for (;;) {
			if (c == -1 || fast_body(s) != 0)
				return (-1);
			if ((c = fast_ws(s)) == ']')
				break;
			if (c != ',')
				return (-1);
			fast_emit(s, s->p++, 1);
			c = fast_ws(s);
		}
	}
	fast_emit(s, s->p++, 1);
	s->depth--;
	return (0);
}

/*
 * An object of a body, at s->p.  jansson refuses a repeated member at any
 * depth (JSON_REJECT_DUPLICATES), so each name is held against the others
 * of its object.
 */
static int
fast_body_object(struct fast_scan *s)
{
	struct fast_span	 k;
	size_t			 first = s->nkeys, i;
	int			 c;

	if (++s->depth > s->max_depth)
		return (-1);
	fast_emit(s, s->p++, 1);
	if ((c = fast_ws(s)) != '}') {
		for (;;) {
			if (c != '"' || fast_body_string(s, &k) != 0 ||
			    s->nkeys == FAST_KEYS_MAX)
				return (-1);
			for (i = first; i < s->nkeys; i++)
				if (s->keys[i].len == k.len &&
				    memcmp(s->keys[i].p, k.p, k.len) == 0)
					return (-1);
			s->keys[s->nkeys++] = k;
			if (fast_ws(s) != ':')
				return (-1);
			fast_emit(s, s->p++, 1);
			if (fast_ws(s) == -1 || fast_body(s) != 0)
				return (-1);
			if ((c = fast_ws(s)) == '}')
				break;
			if (c != ',')
				return (-1);
			fast_emit(s, s->p++, 1);
			c = fast_ws(s);
		}
	}
	fast_emit(s, s->p++, 1);
	s->nkeys = first;
	s->depth--;
	return (0);
}

/* true, false or null at s->p, spelt as word. */
static int
fast_body_word(struct fast_scan *s, const char *word)
{
	size_t	n = strlen(word);

	if ((size_t)(s->end - s->p) < n || memcmp(s->p, word, n) != 0)
		return (-1);
	fast_emit(s, s->p, n);
	s->p += n;
	return (0);
}

/*
 * A body value at s->p, appended to s->out without its whitespace: the
 * text json_dumps(JSON_COMPACT) makes of what jansson reads of it.
 */
static int
fast_body(struct fast_scan *s)
{
	const unsigned char	*start = s->p;
	int64_t			 v;

	switch (*s->p) {
	case '"':
		return (fast_body_string(s, NULL));
	case '[':
		return (fast_body_array(s));
	case '{':
		return (fast_body_object(s));
	case 't':
		return (fast_body_word(s, "true"));
	case 'f':
		return (fast_body_word(s, "false"));
	case 'n':
		return (fast_body_word(s, "null"));
	}
	if (fast_int(s, &v) != 0)
		return (-1);
	fast_emit(s, start, (size_t)(s->p - start));
	return (0);
}

/* Which member the name at k is. */
static enum fast_key
fast_key(const struct fast_span *k)
{
	static const char *const names[] = {
		[K_OP] = "op", [K_REF] = "ref", [K_TO] = "to", [K_ID] = "id",
		[K_BODY] = "body", [K_MID] = "mid", [K_MIDS] = "mids",
	};
	size_t	i;

	for (i = 0; i < K_NONE; i++)
		if (strlen(names[i]) == k->len &&
		    memcmp(names[i], k->p, k->len) == 0)
			return ((enum fast_key)i);
	return (K_NONE);
}

/* A mid as a plain string at s->p into *m. */
static int
fast_mid(struct fast_scan *s, struct mid *m)
{
	struct fast_span	v;

	if (fast_plain(s, &v) != 0)
		return (-1);
	return (mid_parse((const char *)v.p, v.len, m));
}

/* The array of "mids" at s->p: 1 to max valid mids, into r. */
static int
fast_mids(struct fast_scan *s, size_t max, struct proto_req *r)
{
	size_t	cap = 0;
	int	c;

	if (*s->p != '[' || s->depth + 1 > s->max_depth)
		return (-1);
	s->p++;
	for (c = fast_ws(s);; c = fast_ws(s)) {
		if (c != '"' || r->nmids == max)
			return (-1);
		if (r->nmids == cap)
			r->mids = xgrow(r->mids, &cap, sizeof *r->mids, 16);
		if (fast_mid(s, &r->mids[r->nmids]) != 0)
			return (-1);
		r->nmids++;
		if ((c = fast_ws(s)) == ']')
			break;
		if (c != ',')
			return (-1);
		s->p++;
	}
	s->p++;
	return (0);
}

/* The value of member key at s->p, into r or the spans given. */
static int
fast_member(struct fast_scan *s, enum fast_key key, const struct conf *conf,
    struct proto_req *r, struct fast_span *op, struct fast_span *ref,
    int64_t *refint, struct fast_span *id)
{
	struct fast_span	v;

	switch (key) {
	case K_OP:
		return (*s->p == '"' ? fast_plain(s, op) : -1);
	case K_REF:
		if (*s->p != '"')
			return (fast_int(s, refint));
		if (fast_plain(s, ref) != 0 || ref->len > PROTO_REF_MAX)
			return (-1);
		return (0);
	case K_TO:
		if (*s->p != '"' || fast_plain(s, &v) != 0 || v.len == 0 ||
		    v.len >= sizeof r->to)
			return (-1);
		memcpy(r->to, v.p, v.len);
		r->to[v.len] = '\0';
		if (r->to[0] == '#' ? !valid_group(r->to, v.len) :
		    !valid_user(r->to, v.len))
			return (-1);
		return (0);
	case K_ID:
		if (*s->p != '"' || fast_plain(s, id) != 0 || id->len == 0 ||
		    id->len > CLIENT_ID_MAX)
			return (-1);
		memcpy(r->id, id->p, id->len);
		r->id[id->len] = '\0';
		return (0);
	case K_BODY:
		/* Without its whitespace it can only be shorter. */
		s->out = xmalloc((size_t)(s->end - s->p) + 1);
		if (fast_body(s) != 0)
			return (-1);
		s->out[s->outlen] = '\0';
		r->body_text = s->out;
		r->body_len = s->outlen;
		return (0);
	case K_MID:
		r->mids = xmalloc(sizeof *r->mids);
		r->nmids = 1;
		return (*s->p == '"' ? fast_mid(s, r->mids) : -1);
	case K_MIDS:
		return (fast_mids(s, conf->max_ack_mids, r));
	default:
		return (-1);
	}
}

/*
 * Whether the members seen (a bit per enum fast_key) and the op make a
 * send, ack or read that proto_req_json() takes; its op into r.
 */
static int
fast_shape(unsigned seen, const struct fast_span *op, struct proto_req *r)
{
	unsigned	need = 1u << K_OP;

	seen &= ~(1u << K_REF);
	if (op->len == 4 && memcmp(op->p, "send", 4) == 0) {
		r->op = PROTO_SEND;
		need |= 1u << K_TO | 1u << K_ID | 1u << K_BODY;
		return (seen == need ? 0 : -1);
	}
	if (op->len == 3 && memcmp(op->p, "ack", 3) == 0)
		r->op = PROTO_ACK;
	else if (op->len == 4 && memcmp(op->p, "read", 4) == 0)
		r->op = PROTO_READ;
	else
		return (-1);
	return (seen == (need | 1u << K_MID) || seen == (need | 1u << K_MIDS) ?
	    0 : -1);
}

/*
 * Reads a send, ack or read frame into r, as proto_load() and
 * proto_req_json() would with conf: 0 if it did, the caller freeing r; -1
 * if it declined the frame, r empty.
 */
int
proto_fast(const uint8_t *data, size_t len, const struct conf *conf,
    struct proto_req *r)
{
	struct fast_scan	 s;
	struct fast_span	 k, op = { NULL, 0 }, ref = { NULL, 0 };
	struct fast_span	 id = { NULL, 0 };
	enum fast_key		 key;
	int64_t			 refint = 0;
	unsigned		 seen = 0, hasref;
	int			 c;

	memset(r, 0, sizeof *r);
	/* An empty message comes as NULL from wslay: jansson refuses it. */
	if (len == 0)
		return (-1);
	s.p = data;
	s.end = data + len;
	s.depth = 1;
	s.max_depth = conf->max_json_depth < FAST_DEPTH_MAX ?
	    (unsigned)conf->max_json_depth : FAST_DEPTH_MAX;
	s.out = NULL;
	s.outlen = 0;
	s.nkeys = 0;
	if (fast_ws(&s) != '{' || s.max_depth < 1)
		return (-1);
	s.p++;
	for (c = fast_ws(&s);; c = fast_ws(&s)) {
		if (c != '"' || fast_plain(&s, &k) != 0 ||
		    (key = fast_key(&k)) == K_NONE || (seen & 1u << key))
			goto decline;
		/* Both fill r->mids; jansson's path refuses the pair. */
		if ((key == K_MID || key == K_MIDS) &&
		    (seen & (1u << K_MID | 1u << K_MIDS)))
			goto decline;
		seen |= 1u << key;
		if (fast_ws(&s) != ':')
			goto decline;
		s.p++;
		if (fast_ws(&s) == -1 || fast_member(&s, key, conf, r, &op,
		    &ref, &refint, &id) != 0)
			goto decline;
		if ((c = fast_ws(&s)) == '}')
			break;
		if (c != ',')
			goto decline;
		s.p++;
	}
	s.p++;
	if (fast_ws(&s) != -1 || fast_shape(seen, &op, r) != 0)
		goto decline;
	hasref = seen & 1u << K_REF;
	if (hasref && ref.p != NULL)
		r->ref = json_stringn_nocheck((const char *)ref.p, ref.len);
	else if (hasref)
		r->ref = json_integer(refint);
	if (r->op == PROTO_SEND)
		r->idv = json_stringn_nocheck((const char *)id.p, id.len);
	/* Out of memory: jansson's path answers it. */
	if ((hasref && r->ref == NULL) ||
	    (r->op == PROTO_SEND && r->idv == NULL))
		goto decline;
	return (0);
decline:
	if (s.out != NULL && r->body_text == NULL)
		free(s.out);
	proto_req_free(r);
	return (-1);
}
