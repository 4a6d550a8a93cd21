/* SPDX-License-Identifier: ISC */
/*
 * test_push.c: push.c's rules without a network: RFC 8291 against the
 * RFC's own example (its Appendix A), base64url, endpoint URLs and the
 * host list, address classes, answers and backoff, and the spool and
 * mutes in a store.
 */
#include <sys/types.h>
#include <sys/socket.h>
#include <netinet/in.h>
#include <arpa/inet.h>

#include <stdlib.h>
#include <string.h>

#include "tickd.h"
#include "testlib.h"

/* push_register_parse's answer to a good request; refused without push. */
#ifdef HAVE_PUSH
#define TE_ACCEPTED	TE_OK
#else
#define TE_ACCEPTED	TE_PUSH_REJECTED
#endif

static char	dir[256];

/* Decodes an RFC example value; its length. */
static size_t
b64(const char *s, uint8_t *out, size_t max)
{
	ssize_t	n = push_b64url_decode(s, strlen(s), out, max);

	return (n < 0 ? 0 : (size_t)n);
}

/* RFC 8291 Appendix A: the same keys and salt give the same message. */
static int
test_rfc8291(void)
{
	static const char plain[] = "When I grow up, I want to be a watermelon";
	uint8_t		 as_pub[65], as_priv[32], ua_pub[65], auth[16];
	uint8_t		 salt[16], want[256], *out;
	size_t		 wlen, olen;
	char		 enc[512];

	CHECK(b64("BP4z9KsN6nGRTbVYI_c7VJSPQTBtkgcy27mlmlMoZIIgDll6e3vCYLocI"
	    "nmYWAmS6TlzAC8wEqKK6PBru3jl7A8", as_pub, sizeof as_pub) == 65);
	CHECK(b64("yfWPiYE-n46HLnH0KqZOF1fJJU3MYrct3AELtAQ-oRw", as_priv,
	    sizeof as_priv) == 32);
	CHECK(b64("BCVxsr7N_eNgVRqvHtD0zTZsEc6-VV-JvLexhqUzORcxaOzi6-AYWXvTB"
	    "Hm4bjyPjs7Vd8pZGH6SRpkNtoIAiw4", ua_pub, sizeof ua_pub) == 65);
	CHECK(b64("BTBZMqHH6r4Tts7J_aSIgg", auth, sizeof auth) == 16);
	CHECK(b64("DGv6ra1nlYgDCS1FRnbzlw", salt, sizeof salt) == 16);
	wlen = b64("DGv6ra1nlYgDCS1FRnbzlwAAEABBBP4z9KsN6nGRTbVYI_c7VJSPQTBtk"
	    "gcy27mlmlMoZIIgDll6e3vCYLocInmYWAmS6TlzAC8wEqKK6PBru3jl7A_yl95b"
	    "Qpu6cVPTpK4Mqgkf1CXztLVBSt2Ks3oZwbuwXPXLWyouBWLVWGNWQexSgSxsj_Q"
	    "ulcy4a-fN", want, sizeof want);
	CHECK(wlen > 86);
	CHECK(push_encrypt(ua_pub, auth, as_pub, as_priv, salt,
	    (const uint8_t *)plain, strlen(plain), &out, &olen) == 0);
	push_b64url_encode(out, olen, enc);
	if (olen != wlen || memcmp(out, want, wlen) != 0)
		printf("# got %s\n", enc);
	CHECK(olen == wlen && memcmp(out, want, wlen) == 0);
	free(out);
	/* Fresh keys and salt: a different message of the same length. */
	CHECK(push_encrypt(ua_pub, auth, NULL, NULL, NULL,
	    (const uint8_t *)plain, strlen(plain), &out, &olen) == 0);
	CHECK(olen == wlen && memcmp(out, want, wlen) != 0);
	free(out);
	return (0);
}

/* base64url both ways, and what it refuses. */
static int
test_b64url(void)
{
	uint8_t	b[8];
	char	s[16];

	CHECK(push_b64url_decode("AP8", 3, b, sizeof b) == 2);
	CHECK(b[0] == 0 && b[1] == 0xff);
	push_b64url_encode(b, 2, s);
	CHECK(strcmp(s, "AP8") == 0);
	CHECK(push_b64url_decode("A+8", 3, b, sizeof b) == -1);
	CHECK(push_b64url_decode("AAAAAAAAAAAAAA", 14, b, 4) == -1);
	return (0);
}

/* Rule 2 on the URL: scheme, length, user info, fragment, host list. */
static int
test_url(void)
{
	struct conf	c;
	char		host[256];
	char		long_url[1100];

	conf_init(&c);
	CHECK(push_url_check(&c, "https://a.example.org/x", host,
	    sizeof host) != NULL);
	c.push_allow_hosts = xstrdup("ntfy.example.org *.push.example.net");
#ifndef HAVE_PUSH
	/* configure --without-push: every endpoint is refused. */
	CHECK(push_url_check(&c, "https://ntfy.example.org/up", host,
	    sizeof host) != NULL);
	CHECK(strstr(push_url_check(&c, "https://ntfy.example.org/up", host,
	    sizeof host), "not built") != NULL);
	conf_clear(&c);
	return (0);
#endif
	CHECK(push_url_check(&c, "https://ntfy.example.org/up?x=1", host,
	    sizeof host) == NULL);
	CHECK(strcmp(host, "ntfy.example.org") == 0);
	CHECK(push_url_check(&c, "https://NTFY.example.org:8443/up", host,
	    sizeof host) == NULL);
	CHECK(push_url_check(&c, "https://a.push.example.net/", host,
	    sizeof host) == NULL);
	CHECK(push_url_check(&c, "https://push.example.net/", host,
	    sizeof host) != NULL);
	CHECK(push_url_check(&c, "https://evilntfy.example.org/", host,
	    sizeof host) != NULL);
	CHECK(push_url_check(&c, "http://ntfy.example.org/", host,
	    sizeof host) != NULL);
	CHECK(push_url_check(&c, "https://u:p@ntfy.example.org/", host,
	    sizeof host) != NULL);
	CHECK(push_url_check(&c, "https://ntfy.example.org/#f", host,
	    sizeof host) != NULL);
	CHECK(push_url_check(&c, "ftp://ntfy.example.org/", host,
	    sizeof host) != NULL);
	memset(long_url, 'a', sizeof long_url);
	memcpy(long_url, "https://ntfy.example.org/", 25);
	long_url[sizeof long_url - 1] = '\0';
	CHECK(push_url_check(&c, long_url, host, sizeof host) != NULL);
	c.push_allow_http = 1;
	CHECK(push_url_check(&c, "http://ntfy.example.org/", host,
	    sizeof host) == NULL);
	free(c.push_allow_hosts);
	c.push_allow_hosts = xstrdup("::1");
	CHECK(push_url_check(&c, "http://[::1]:80/x", host,
	    sizeof host) == NULL);
	CHECK(strcmp(host, "::1") == 0);
	conf_clear(&c);
	return (0);
}

/* Parses a text address into a sockaddr and asks push_addr_public. */
static int
public(const char *a)
{
	struct sockaddr_storage	ss;

	memset(&ss, 0, sizeof ss);
	if (strchr(a, ':') != NULL) {
		ss.ss_family = AF_INET6;
		inet_pton(AF_INET6, a,
		    &((struct sockaddr_in6 *)&ss)->sin6_addr);
	} else {
		ss.ss_family = AF_INET;
		inet_pton(AF_INET, a, &((struct sockaddr_in *)&ss)->sin_addr);
	}
	return (push_addr_public((struct sockaddr *)&ss));
}

/* Loopback, private, link-local and unique-local are not public. */
static int
test_addr(void)
{
	CHECK(public("93.184.216.34"));
	CHECK(public("2606:2800:220:1:248:1893:25c8:1946"));
	CHECK(!public("127.0.0.1"));
	CHECK(!public("10.1.2.3"));
	CHECK(!public("172.16.0.1"));
	CHECK(!public("172.31.255.255"));
	CHECK(public("172.32.0.1"));
	CHECK(!public("192.168.1.1"));
	CHECK(!public("169.254.1.1"));
	CHECK(!public("0.0.0.0"));
	CHECK(!public("100.64.0.1"));
	CHECK(!public("::1"));
	CHECK(!public("::"));
	CHECK(!public("fe80::1"));
	CHECK(!public("fd00::1"));
	CHECK(!public("fc00::1"));
	CHECK(!public("::ffff:127.0.0.1"));
	CHECK(!public("::ffff:10.0.0.1"));
	CHECK(public("::ffff:93.184.216.34"));
	return (0);
}

/* Rule 6's table, and push_backoff's doubling, cap and Retry-After. */
static int
test_outcome(void)
{
	struct conf	c;

	CHECK(push_outcome(200) == PUSH_R_OK);
	CHECK(push_outcome(201) == PUSH_R_OK);
	CHECK(push_outcome(404) == PUSH_R_GONE);
	CHECK(push_outcome(410) == PUSH_R_GONE);
	CHECK(push_outcome(413) == PUSH_R_TOO_LARGE);
	CHECK(push_outcome(408) == PUSH_R_RETRY);
	CHECK(push_outcome(429) == PUSH_R_RETRY);
	CHECK(push_outcome(503) == PUSH_R_RETRY);
	CHECK(push_outcome(0) == PUSH_R_RETRY);
	CHECK(push_outcome(301) == PUSH_R_DROP);
	CHECK(push_outcome(400) == PUSH_R_DROP);
	CHECK(push_outcome(101) == PUSH_R_DROP);
	conf_init(&c);
	c.push_backoff = 1000;
	c.push_backoff_max = 10000;
	CHECK(push_backoff(&c, 1, 0) == 1000);
	CHECK(push_backoff(&c, 2, 0) == 2000);
	CHECK(push_backoff(&c, 4, 0) == 8000);
	CHECK(push_backoff(&c, 5, 0) == 10000);
	CHECK(push_backoff(&c, 60, 0) == 10000);
	CHECK(push_backoff(&c, 1, 5000) == 5000);
	CHECK(push_backoff(&c, 1, 50000) == 10000);
	CHECK(push_backoff(&c, 3, 1000) == 4000);
	conf_clear(&c);
	return (0);
}

/* push_register frames: each bad input of the contract. */
static int
test_parse(void)
{
	static const char *const bad[] = {
		"{\"kind\":\"apns\",\"endpoint\":\"https://h/x\"}",
		"{\"kind\":1,\"endpoint\":\"https://h/x\"}",
		"{\"endpoint\":5}",
		"{}",
		"{\"endpoint\":\"not a url\"}",
		"{\"endpoint\":\"https://h/x\",\"p256dh\":\"BCVx\"}",
		"{\"endpoint\":\"https://h/x\","
		    "\"auth\":\"BTBZMqHH6r4Tts7J_aSIgg\"}",
		"{\"endpoint\":\"https://h/x\",\"p256dh\":\"AAAA\","
		    "\"auth\":\"BTBZMqHH6r4Tts7J_aSIgg\"}",
		"{\"kind\":\"webhook\",\"endpoint\":\"https://h/x\","
		    "\"p256dh\":\"BCVxsr7N_eNgVRqvHtD0zTZsEc6-VV-JvLexhqUzORcx"
		    "aOzi6-AYWXvTBHm4bjyPjs7Vd8pZGH6SRpkNtoIAiw4\","
		    "\"auth\":\"BTBZMqHH6r4Tts7J_aSIgg\"}",
		"{\"endpoint\":\"https://h/x\",\"token\":\"t\"}",
		"{\"kind\":\"webhook\",\"endpoint\":\"https://h/x\","
		    "\"token\":\"\"}",
		"{\"kind\":\"webhook\",\"endpoint\":\"https://h/x\","
		    "\"token\":7}",
	};
	struct conf	 c;
	struct push_ep	 ep;
	json_t		*j;
	char		 host[256], *big;
	const char	*why;
	size_t		 i;

	conf_init(&c);
	c.push_allow_hosts = xstrdup("h");
	for (i = 0; i < nitems(bad); i++) {
		CHECK((j = json_loads(bad[i], 0, NULL)) != NULL);
		if (push_register_parse(&c, j, &ep, host, sizeof host, &why) !=
		    TE_BAD_REQUEST)
			printf("# not refused: %s\n", bad[i]);
		CHECK(push_register_parse(&c, j, &ep, host, sizeof host,
		    &why) == TE_BAD_REQUEST);
		json_decref(j);
	}
	big = xmalloc(1026);
	memset(big, 't', 1025);
	big[1025] = '\0';
	j = json_pack("{s:s,s:s,s:s}", "kind", "webhook", "endpoint",
	    "https://h/x", "token", big);
	CHECK(push_register_parse(&c, j, &ep, host, sizeof host, &why) ==
	    TE_BAD_REQUEST);
	json_decref(j);
	big[1024] = '\0';
	j = json_pack("{s:s,s:s,s:s}", "kind", "webhook", "endpoint",
	    "https://h/x", "token", big);
	CHECK(push_register_parse(&c, j, &ep, host, sizeof host, &why) ==
	    TE_ACCEPTED);
	CHECK(ep.kind == PUSH_WEBHOOK && strlen(ep.token) == 1024);
	json_decref(j);
	free(big);
	j = json_loads("{\"endpoint\":\"https://other/x\"}", 0, NULL);
	CHECK(push_register_parse(&c, j, &ep, host, sizeof host, &why) ==
	    TE_PUSH_REJECTED);
	json_decref(j);
	j = json_loads("{\"endpoint\":\"https://h/x\",\"p256dh\":\"BCVxsr7N_e"
	    "NgVRqvHtD0zTZsEc6-VV-JvLexhqUzORcxaOzi6-AYWXvTBHm4bjyPjs7Vd8pZG"
	    "H6SRpkNtoIAiw4\",\"auth\":\"BTBZMqHH6r4Tts7J_aSIgg\"}", 0, NULL);
	CHECK(push_register_parse(&c, j, &ep, host, sizeof host, &why) ==
	    TE_ACCEPTED);
	CHECK(ep.kind == PUSH_UNIFIED && ep.has_keys && ep.p256dh[0] == 4);
	json_decref(j);
	conf_clear(&c);
	return (0);
}

/* Endpoints, notes and mutes survive a reopen; mutes obey max_mutes. */
static int
test_store(void)
{
	struct store	*s;
	struct txn	 t;
	struct conf	 c;
	struct push_ep	 ep, got;
	struct push_note n, gn;
	enum tick_err	 err;
	uint64_t	 until, count;
	json_t		*mutes;
	char		*cause = NULL;

	conf_init(&c);
	c.max_mutes = 2;
	CHECK(store_open(&s, dir, 64 << 20, &cause) == STORE_OK);
	CHECK(store_txn_begin(s, &t, 1) == STORE_OK);
	memset(&ep, 0, sizeof ep);
	ep.kind = PUSH_WEBHOOK;
	ep.failures = 3;
	memset(ep.endpoint, 'e', PUSH_URL_MAX);
	memset(ep.token, 't', PUSH_TOKEN_MAX);
	CHECK(store_push_ep_put(&t, "alice", "phone", &ep) == STORE_OK);
	memset(&n, 0, sizeof n);
	n.created = 5;
	n.due = 7;
	n.mid.ms = 9;
	CHECK(store_push_note_put(&t, "alice", "phone", &n) == STORE_OK);
	CHECK(push_mute(&t, &c, "alice", "bob", 0, 100, &err) == STORE_OK);
	CHECK(err == TE_OK);
	CHECK(push_mute(&t, &c, "alice", "#g", 500, 100, &err) == STORE_OK);
	CHECK(push_mute(&t, &c, "alice", "carol", 0, 100, &err) == STORE_OK);
	CHECK(err == TE_BAD_REQUEST);
	CHECK(push_mute(&t, &c, "alice", "bob", 50, 100, &err) == STORE_OK);
	CHECK(err == TE_OK);
	CHECK(push_mute_count(&t, "alice", &count) == STORE_OK && count == 1);
	CHECK(push_mute(&t, &c, "alice", "bob", 0, 100, &err) == STORE_OK);
	CHECK(store_txn_commit(&t) == STORE_OK);
	store_close(s);
	CHECK(store_open(&s, dir, 64 << 20, &cause) == STORE_OK);
	CHECK(store_txn_begin(s, &t, 1) == STORE_OK);
	CHECK(store_push_ep_get(&t, "alice", "phone", &got) == STORE_OK);
	CHECK(got.kind == PUSH_WEBHOOK && got.failures == 3);
	CHECK(strlen(got.endpoint) == PUSH_URL_MAX);
	CHECK(strlen(got.token) == PUSH_TOKEN_MAX);
	CHECK(store_push_note_get(&t, "alice", "phone", &gn) == STORE_OK);
	CHECK(gn.created == 5 && gn.due == 7 && gn.mid.ms == 9);
	CHECK(store_mute_get(&t, "alice", "#g", &until) == STORE_OK &&
	    until == 500);
	CHECK(push_mutes(&t, "alice", 600, &mutes) == STORE_OK);
	CHECK(json_array_size(json_object_get(mutes, "chats")) == 1);
	json_decref(mutes);
	CHECK(push_online(&t, "alice", "phone") == STORE_OK);
	CHECK(store_push_note_get(&t, "alice", "phone", &gn) ==
	    STORE_NOTFOUND);
	CHECK(push_forget(&t, "alice", "phone") == STORE_OK);
	CHECK(store_push_ep_get(&t, "alice", "phone", &got) ==
	    STORE_NOTFOUND);
	CHECK(push_forget(&t, "alice", "phone") == STORE_OK);
	CHECK(push_mutes_drop(&t, "alice") == STORE_OK);
	CHECK(push_mute_count(&t, "alice", &count) == STORE_OK && count == 0);
	CHECK(store_txn_commit(&t) == STORE_OK);
	store_close(s);
	conf_clear(&c);
	return (0);
}

static const struct test tests[] = {
	{ "RFC 8291 Appendix A: the RFC's message, byte for byte",
	    test_rfc8291 },
	{ "base64url", test_b64url },
	{ "endpoint URLs and push_allow_hosts", test_url },
	{ "public and non-public addresses", test_addr },
	{ "answers and backoff", test_outcome },
	{ "push_register bad input", test_parse },
	{ "endpoints, notifications and mutes in the store", test_store },
};

int
main(void)
{
	return (tap_run_tmpdir(tests, nitems(tests), "test_push", dir,
	    sizeof dir));
}
