/* SPDX-License-Identifier: ISC */
/*
 * util.c: small helpers shared by every module: time, name checks,
 * hex, allocation that cannot return NULL, and the error-code table.
 */
#include <sys/types.h>
#include <sys/random.h>

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "tickd.h"

/* Wall-clock time in Unix milliseconds. */
uint64_t
now_ms(void)
{
	struct timespec	ts;

	clock_gettime(CLOCK_REALTIME, &ts);
	return ((uint64_t)ts.tv_sec * 1000 + (uint64_t)ts.tv_nsec / 1000000);
}

/* Whether s is 1 to max bytes of [a-z0-9] and the characters of extra. */
static int
valid_name(const char *s, size_t len, size_t max, const char *extra)
{
	size_t	i;

	if (len == 0 || len > max)
		return (0);
	for (i = 0; i < len; i++) {
		if ((s[i] >= 'a' && s[i] <= 'z') || (s[i] >= '0' && s[i] <= '9'))
			continue;
		if (s[i] == '\0' || strchr(extra, s[i]) == NULL)
			return (0);
	}
	return (1);
}

/* A user name: 1-64 bytes of [a-z0-9._+-]. */
int
valid_user(const char *s, size_t len)
{
	return (valid_name(s, len, NAME_USER_MAX, "._+-"));
}

/* A device name: 1-32 bytes of [a-z0-9._-]. */
int
valid_device(const char *s, size_t len)
{
	return (valid_name(s, len, NAME_DEVICE_MAX, "._-"));
}

/*
 * Whether JSON text nests arrays and objects at most max deep.  Checked on
 * the raw text before parsing, so a hostile frame never builds a deep tree.
 */
int
json_depth_ok(const char *s, size_t len, unsigned max)
{
	unsigned	depth = 0;
	size_t		i;
	int		in_string = 0;

	for (i = 0; i < len; i++) {
		if (in_string) {
			if (s[i] == '\\')
				i++;
			else if (s[i] == '"')
				in_string = 0;
			continue;
		}
		switch (s[i]) {
		case '"':
			in_string = 1;
			break;
		case '[':
		case '{':
			if (++depth > max)
				return (0);
			break;
		case ']':
		case '}':
			if (depth > 0)
				depth--;
			break;
		}
	}
	return (1);
}

/*
 * The length of the UTF-8 sequence at s (at most n bytes), or 0 if it is
 * not one: overlong forms, surrogates and code points above U+10FFFF are
 * refused, as jansson refuses them.
 */
size_t
utf8_len(const unsigned char *s, size_t n)
{
	unsigned int	cp;
	size_t		len, i;

	if (s[0] < 0x80)
		return (1);
	if (s[0] >= 0xc2 && s[0] <= 0xdf) {
		len = 2;
		cp = s[0] & 0x1f;
	} else if (s[0] >= 0xe0 && s[0] <= 0xef) {
		len = 3;
		cp = s[0] & 0x0f;
	} else if (s[0] >= 0xf0 && s[0] <= 0xf4) {
		len = 4;
		cp = s[0] & 0x07;
	} else
		return (0);
	if (len > n)
		return (0);
	for (i = 1; i < len; i++) {
		if ((s[i] & 0xc0) != 0x80)
			return (0);
		cp = (cp << 6) | (s[i] & 0x3f);
	}
	if ((len == 3 && cp < 0x800) || (len == 4 && cp < 0x10000) ||
	    (cp >= 0xd800 && cp <= 0xdfff) || cp > 0x10ffff)
		return (0);
	return (len);
}

/*
 * Writes v in decimal at p, without a NUL; returns the digits written.
 * Two digits a division, from the end: mids and timestamps are formatted
 * several times for every message.
 */
size_t
u64_format(uint64_t v, char *p)
{
	static const char	pairs[] =
	    "00010203040506070809101112131415161718192021222324"
	    "25262728293031323334353637383940414243444546474849"
	    "50515253545556575859606162636465666768697071727374"
	    "75767778798081828384858687888990919293949596979899";
	char			b[20];
	size_t			i = sizeof b, d;

	while (v >= 100) {
		d = (size_t)(v % 100) * 2;
		v /= 100;
		b[--i] = pairs[d + 1];
		b[--i] = pairs[d];
	}
	if (v >= 10) {
		d = (size_t)v * 2;
		b[--i] = pairs[d + 1];
		b[--i] = pairs[d];
	} else
		b[--i] = (char)('0' + v);
	memcpy(p, b + i, sizeof b - i);
	return (sizeof b - i);
}

/*
 * FNV-1a over len bytes, going on from h (HASH_INIT to start): for what is
 * stored, which must hash the same in every process.
 */
uint64_t
hash_bytes(uint64_t h, const void *p, size_t len)
{
	const uint8_t	*b = p;
	size_t		 i;

	for (i = 0; i < len; i++)
		h = (h ^ b[i]) * 1099511628211ULL;
	return (h);
}

#define ROTL(x, b)	(((x) << (b)) | ((x) >> (64 - (b))))
#define SIPROUND(v0, v1, v2, v3) do {					\
	v0 += v1; v1 = ROTL(v1, 13); v1 ^= v0; v0 = ROTL(v0, 32);	\
	v2 += v3; v3 = ROTL(v3, 16); v3 ^= v2;				\
	v0 += v3; v3 = ROTL(v3, 21); v3 ^= v0;				\
	v2 += v1; v1 = ROTL(v1, 17); v1 ^= v2; v2 = ROTL(v2, 32);	\
} while (0)

/* Eight bytes as a little-endian number. */
static uint64_t
le64(const uint8_t *b)
{
	uint64_t	v = 0;
	int		i;

	for (i = 7; i >= 0; i--)
		v = (v << 8) | b[i];
	return (v);
}

/* SipHash-2-4 of len bytes under a 16-byte key, as Redis hashes its keys. */
uint64_t
siphash(const uint8_t key[HASH_KEY_BYTES], const void *p, size_t len)
{
	const uint8_t	*b = p;
	uint64_t	 k0 = le64(key), k1 = le64(key + 8), m, last;
	uint64_t	 v0 = k0 ^ 0x736f6d6570736575ULL;
	uint64_t	 v1 = k1 ^ 0x646f72616e646f6dULL;
	uint64_t	 v2 = k0 ^ 0x6c7967656e657261ULL;
	uint64_t	 v3 = k1 ^ 0x7465646279746573ULL;
	size_t		 i, left = len & 7;

	for (i = 0; i + 8 <= len; i += 8) {
		m = le64(b + i);
		v3 ^= m;
		SIPROUND(v0, v1, v2, v3);
		SIPROUND(v0, v1, v2, v3);
		v0 ^= m;
	}
	last = (uint64_t)(len & 0xff) << 56;
	while (left-- > 0)
		last |= (uint64_t)b[i + left] << (8 * left);
	v3 ^= last;
	SIPROUND(v0, v1, v2, v3);
	SIPROUND(v0, v1, v2, v3);
	v0 ^= last;
	v2 ^= 0xff;
	SIPROUND(v0, v1, v2, v3);
	SIPROUND(v0, v1, v2, v3);
	SIPROUND(v0, v1, v2, v3);
	SIPROUND(v0, v1, v2, v3);
	return (v0 ^ v1 ^ v2 ^ v3);
}

static uint8_t	hash_key[HASH_KEY_BYTES];	/* hash_key_init's */

/*
 * Draws this process's key of hash_keyed, at startup: names an attacker
 * chooses (users, addresses, RESP keys) then cannot be picked to fall in
 * one bucket of the in-memory tables.  -1 if no random bytes came.
 */
int
hash_key_init(void)
{
	return (getrandom(hash_key, sizeof hash_key, 0) ==
	    (ssize_t)sizeof hash_key ? 0 : -1);
}

/* SipHash under the process's key, for the in-memory tables only. */
uint64_t
hash_keyed(const void *p, size_t len)
{
	return (siphash(hash_key, p, len));
}

/* hash_keyed() of a NUL-terminated string, for the in-memory tables. */
uint64_t
hash_str(const char *s)
{
	return (hash_keyed(s, strlen(s)));
}

/* Writes len bytes as 2 * len lower-case hex digits and a NUL to out. */
void
hex_encode(const uint8_t *in, size_t len, char *out)
{
	static const char	digits[] = "0123456789abcdef";
	size_t			i;

	for (i = 0; i < len; i++) {
		out[2 * i] = digits[in[i] >> 4];
		out[2 * i + 1] = digits[in[i] & 0xf];
	}
	out[2 * len] = '\0';
}

/* The value of one hex digit of either case, or -1. */
static int
hex_digit(char c)
{
	if (c >= '0' && c <= '9')
		return (c - '0');
	if (c >= 'a' && c <= 'f')
		return (c - 'a' + 10);
	if (c >= 'A' && c <= 'F')
		return (c - 'A' + 10);
	return (-1);
}

/* Decodes len hex digits into len / 2 bytes; -1 on anything else. */
int
hex_decode(const char *in, size_t len, uint8_t *out)
{
	size_t	i;
	int	hi, lo;

	if (len % 2 != 0)
		return (-1);
	for (i = 0; i < len / 2; i++) {
		if ((hi = hex_digit(in[2 * i])) == -1 ||
		    (lo = hex_digit(in[2 * i + 1])) == -1)
			return (-1);
		out[i] = (uint8_t)(hi << 4 | lo);
	}
	return (0);
}

/* malloc that cannot fail (it is fatal) and never returns NULL for 0 bytes. */
void *
xmalloc(size_t size)
{
	void	*p;

	if (size == 0)
		size = 1;
	if ((p = malloc(size)) == NULL)
		fatal("xmalloc");
	return (p);
}

/*
 * calloc that cannot fail (it is fatal) and never returns NULL for 0 elements.
 */
void *
xcalloc(size_t n, size_t size)
{
	void	*p;

	if (n == 0 || size == 0)
		n = size = 1;
	if ((p = calloc(n, size)) == NULL)
		fatal("xcalloc");
	return (p);
}

/* realloc that cannot fail (it is fatal) and never frees for 0 bytes. */
void *
xrealloc(void *p, size_t size)
{
	if (size == 0)
		size = 1;
	if ((p = realloc(p, size)) == NULL)
		fatal("xrealloc");
	return (p);
}

/*
 * Grows an array of *cap elements of size bytes to twice as many (first
 * if it has none yet), for the arrays appended to one element at a time.
 */
void *
xgrow(void *p, size_t *cap, size_t size, size_t first)
{
	size_t	n = *cap == 0 ? first : *cap * 2;

	if (n < *cap || n > SIZE_MAX / size)
		fatalx("xgrow: %zu elements of %zu bytes", n, size);
	*cap = n;
	return (xrealloc(p, n * size));
}

/* strdup that cannot fail (it is fatal). */
char *
xstrdup(const char *s)
{
	char	*p;

	if ((p = strdup(s)) == NULL)
		fatal("xstrdup");
	return (p);
}

/* strndup that cannot fail (it is fatal). */
char *
xstrndup(const char *s, size_t n)
{
	char	*p;

	if ((p = strndup(s, n)) == NULL)
		fatal("xstrndup");
	return (p);
}

/* asprintf that cannot fail, through xvasprintf(). */
int
xasprintf(char **ret, const char *fmt, ...)
{
	va_list	ap;
	int	n;

	va_start(ap, fmt);
	n = xvasprintf(ret, fmt, ap);
	va_end(ap);
	return (n);
}

/* vasprintf that cannot fail, for xasprintf and printf-like helpers. */
int
xvasprintf(char **ret, const char *fmt, va_list ap)
{
	int	n;

	if ((n = vasprintf(ret, fmt, ap)) == -1)
		fatal("xvasprintf");
	return (n);
}

static const char *const err_codes[] = {
	[TE_OK] = "ok",
	[TE_BAD_JSON] = "bad_json",
	[TE_BAD_REQUEST] = "bad_request",
	[TE_UNKNOWN_OP] = "unknown_op",
	[TE_NOT_AUTHENTICATED] = "not_authenticated",
	[TE_BAD_TOKEN] = "bad_token",
	[TE_NO_SUCH_USER] = "no_such_user",
	[TE_TOO_LARGE] = "too_large",
	[TE_QUEUE_FULL] = "queue_full",
	[TE_RATE_LIMITED] = "rate_limited",
	[TE_INTERNAL] = "internal",
	[TE_BAD_CREDENTIALS] = "bad_credentials",
	[TE_REGISTRATION_CLOSED] = "registration_closed",
	[TE_NAME_TAKEN] = "name_taken",
	[TE_UNAVAILABLE] = "unavailable",
	[TE_NO_SUCH_GROUP] = "no_such_group",
	[TE_FORBIDDEN] = "forbidden",
	[TE_GROUP_FULL] = "group_full",
	[TE_TOO_MANY_GROUPS] = "too_many_groups",
	[TE_TOO_MANY_DEVICES] = "too_many_devices",
	[TE_NO_SUCH_MEDIA] = "no_such_media",
	[TE_QUOTA_EXCEEDED] = "quota_exceeded",
	[TE_BAD_RANGE] = "bad_range",
	[TE_PUSH_REJECTED] = "push_rejected",
};

/* The wire name of an error code (tickd-protocol(7) ERROR CODES). */
const char *
err_code(enum tick_err e)
{
	if ((size_t)e >= sizeof err_codes / sizeof err_codes[0])
		return ("internal");
	return (err_codes[e]);
}

/*
 * The error whose code is s, as another node's reply names it
 * (tickd-cluster(7), Remote calls); TE_INTERNAL if none is.
 */
enum tick_err
err_from_code(const char *s)
{
	size_t	i;

	for (i = 1; i < sizeof err_codes / sizeof err_codes[0]; i++) {
		if (err_codes[i] != NULL && strcmp(err_codes[i], s) == 0)
			return ((enum tick_err)i);
	}
	return (TE_INTERNAL);
}

static const char *const item_ops[] = {
	[ITEM_MSG] = "msg",
	[ITEM_RECEIPT] = "receipt",
	[ITEM_GROUP_EVENT] = "group_event",
	[ITEM_KEYS_LOW] = "keys_low",
};

/* The op of the frame a queue item of this kind holds; NULL if unknown. */
const char *
item_op(uint8_t kind)
{
	if (kind >= sizeof item_ops / sizeof item_ops[0])
		return (NULL);
	return (item_ops[kind]);
}

/*
 * A string member of obj of min to max bytes without NUL; NULL if absent,
 * and *bad set if malformed.
 */
const char *
json_member_text(json_t *obj, const char *name, size_t min, size_t max,
    int *bad)
{
	json_t	*v = json_object_get(obj, name);

	if (v == NULL)
		return (NULL);
	if (!json_is_string(v) || json_string_length(v) < min ||
	    json_string_length(v) > max ||
	    strlen(json_string_value(v)) != json_string_length(v)) {
		*bad = 1;
		return (NULL);
	}
	return (json_string_value(v));
}

/* A boolean member of obj: -1 if absent, 0 or 1; *bad if not a boolean. */
int
json_member_switch(json_t *obj, const char *name, int *bad)
{
	json_t	*v = json_object_get(obj, name);

	if (v == NULL)
		return (-1);
	if (!json_is_boolean(v)) {
		*bad = 1;
		return (-1);
	}
	return (json_is_true(v));
}
