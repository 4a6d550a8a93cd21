/* SPDX-License-Identifier: ISC */
/*
 * bench-hist.c: latency histograms after HdrHistogram, in a fixed array.
 *
 * Values below HIST_SUB have a bucket each.  Above, every power of two is
 * split into HIST_SUB / 2 equal buckets, so a bucket is never wider than
 * 1/64 of its values (1.6%), and the whole uint64_t range fits in
 * HIST_BUCKETS counters: a run of any length costs the same memory.
 */
#include <string.h>

#include "bench.h"

/* The bucket of v. */
static unsigned
hist_index(uint64_t v)
{
	unsigned	msb, shift;

	if (v < HIST_SUB)
		return ((unsigned)v);
	msb = 63 - (unsigned)__builtin_clzll(v);
	shift = msb - (HIST_SUB_BITS - 1);
	return (shift * (HIST_SUB / 2) + (unsigned)(v >> shift));
}

/* The highest value that falls into bucket i. */
static uint64_t
hist_upper(unsigned i)
{
	unsigned	shift;
	uint64_t	m;

	if (i < HIST_SUB)
		return (i);
	shift = i / (HIST_SUB / 2) - 1;
	m = i % (HIST_SUB / 2) + HIST_SUB / 2;
	return (((m + 1) << shift) - 1);
}

/* Counts one sample. */
void
hist_add(struct hist *h, uint64_t v)
{
	h->b[hist_index(v)]++;
	h->count++;
	if (v > h->max)
		h->max = v;
}

/*
 * The value below which a fraction q of the samples lie, as the top of
 * its bucket (never above the largest sample); 0 for an empty histogram.
 */
uint64_t
hist_quantile(const struct hist *h, double q)
{
	uint64_t	want, seen = 0, v;
	unsigned	i;

	if (h->count == 0)
		return (0);
	want = (uint64_t)(q * (double)h->count + 0.5);
	if (want < 1)
		want = 1;
	if (want > h->count)
		want = h->count;
	for (i = 0; i < HIST_BUCKETS; i++) {
		seen += h->b[i];
		if (seen >= want) {
			v = hist_upper(i);
			return (v > h->max ? h->max : v);
		}
	}
	return (h->max);
}
