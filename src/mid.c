/* SPDX-License-Identifier: ISC */
/*
 * mid.c: message ids.  A mid is "<ms>-<seq>" as in a Redis stream id; the
 * generator keeps them strictly increasing server-wide, also when the wall
 * clock steps back, and the store keeps its high-water mark across restarts.
 */
#include <stdio.h>
#include <string.h>

#include "tickd.h"

/* The first and the last mid there can be. */
const struct mid	mid_zero = { 0, 0 };
const struct mid	mid_max = { UINT64_MAX, UINT64_MAX };

/* Starts the generator after hw, the high-water mark loaded from the store. */
void
midgen_init(struct midgen *gen, const struct mid *hw)
{
	gen->last = *hw;
	gen->dirty = 0;
}

/*
 * The next mid, as Redis's streamNextID(): the current time with sequence
 * 0 if the clock moved past the last mid, else the last mid's time with the
 * next sequence, carrying into the time when the sequence is exhausted.
 */
void
midgen_next(struct midgen *gen, uint64_t now, struct mid *out)
{
	struct mid	*last = &gen->last;

	if (now > last->ms) {
		last->ms = now;
		last->seq = 0;
	} else if (last->seq == UINT64_MAX) {
		if (last->ms == UINT64_MAX)
			fatalx("mid: no id after %llu-%llu",
			    (unsigned long long)last->ms,
			    (unsigned long long)last->seq);
		last->ms++;
		last->seq = 0;
	} else
		last->seq++;
	gen->dirty = 1;
	*out = *last;
}

/* One decimal part of a mid: at least one digit, no sign, fits 64 bits. */
static const char *
mid_parse_part(const char *p, const char *end, uint64_t *out)
{
	uint64_t	v = 0;
	unsigned	d;

	if (p == end || *p < '0' || *p > '9')
		return (NULL);
	for (; p != end && *p >= '0' && *p <= '9'; p++) {
		d = (unsigned)(*p - '0');
		if (v > (UINT64_MAX - d) / 10)
			return (NULL);
		v = v * 10 + d;
	}
	*out = v;
	return (p);
}

/* Parses exactly "<digits>-<digits>" from len bytes of s. */
int
mid_parse(const char *s, size_t len, struct mid *out)
{
	const char	*p, *end = s + len;
	struct mid	 m;

	if ((p = mid_parse_part(s, end, &m.ms)) == NULL || p == end ||
	    *p != '-')
		return (-1);
	if ((p = mid_parse_part(p + 1, end, &m.seq)) == NULL || p != end)
		return (-1);
	*out = m;
	return (0);
}

/* Writes the mid as "<ms>-<seq>" and returns its length. */
size_t
mid_format(const struct mid *m, char buf[MID_STRLEN + 1])
{
	size_t	n;

	/* Not snprintf: that was a tenth of tickd's CPU per message. */
	n = u64_format(m->ms, buf);
	buf[n++] = '-';
	n += u64_format(m->seq, buf + n);
	buf[n] = '\0';
	return (n);
}

/* Orders mids as their strings mean: by ms, then by seq. */
int
mid_cmp(const struct mid *a, const struct mid *b)
{
	if (a->ms != b->ms)
		return (a->ms < b->ms ? -1 : 1);
	if (a->seq != b->seq)
		return (a->seq < b->seq ? -1 : 1);
	return (0);
}

/* Whether an id is 0-0. */
int
mid_iszero(const struct mid *id)
{
	return (id->ms == 0 && id->seq == 0);
}

/* The next id; -1 (and 0-0) past the last possible one. */
int
mid_incr(struct mid *id)
{
	if (id->seq == UINT64_MAX) {
		if (id->ms == UINT64_MAX) {
			id->ms = id->seq = 0;
			return (-1);
		}
		id->ms++;
		id->seq = 0;
	} else
		id->seq++;
	return (0);
}

/* The previous id; -1 (and the last possible) before 0-0. */
int
mid_decr(struct mid *id)
{
	if (id->seq == 0) {
		if (id->ms == 0) {
			id->ms = id->seq = UINT64_MAX;
			return (-1);
		}
		id->ms--;
		id->seq = UINT64_MAX;
	} else
		id->seq--;
	return (0);
}

/* 16 bytes, ms then seq, big-endian, so that byte order is mid order. */
void
mid_encode(const struct mid *m, uint8_t out[MID_BYTES])
{
	int	i;

	for (i = 0; i < 8; i++) {
		out[i] = (uint8_t)(m->ms >> (56 - 8 * i));
		out[8 + i] = (uint8_t)(m->seq >> (56 - 8 * i));
	}
}

/* Reads 16 big-endian bytes written by mid_encode(). */
void
mid_decode(const uint8_t *in, struct mid *m)
{
	int	i;

	m->ms = m->seq = 0;
	for (i = 0; i < 8; i++) {
		m->ms = m->ms << 8 | in[i];
		m->seq = m->seq << 8 | in[8 + i];
	}
}
