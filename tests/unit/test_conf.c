/* SPDX-License-Identifier: ISC */
/*
 * test_conf.c: TAP unit tests of conf.c: defaults, every value type,
 * quoting and comments, every error with its FILE:LINE text, bounds,
 * addresses, SIGHUP reload, and that conf_table, conf/tickd.conf and
 * man/tickd.conf.5 name the same keys, in the same groups and order.
 */
#include <sys/types.h>
#include <sys/socket.h>
#include <netinet/in.h>
#include <arpa/inet.h>

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "tickd.h"
#include "testlib.h"

#define CHECK_STR(got, want) do {					\
	const char *g_ = (got), *w_ = (want);				\
	if (g_ == NULL || strcmp(g_, w_) != 0) {			\
		printf("# %s:%d: got \"%s\"\n#   want \"%s\"\n",	\
		    __FILE__, __LINE__, g_ == NULL ? "(null)" : g_, w_); \
		return (1);						\
	}								\
} while (0)

#define FIELD(c, e, type) \
	((type *)(void *)((char *)(c) + (e)->offset))

static char	conf_path[] = "/tmp/test_conf.XXXXXX";

/* Replaces the scratch config file's contents with text. */
static void
write_conf(const char *text)
{
	FILE	*f;

	if ((f = fopen(conf_path, "w")) == NULL ||
	    fputs(text, f) == EOF || fclose(f) == EOF) {
		printf("Bail out! %s: %s\n", conf_path, strerror(errno));
		exit(1);
	}
}

/* Loads text as a config file on top of fresh defaults. */
static int
load(struct conf *c, const char *text, char **cause)
{
	write_conf(text);
	conf_init(c);
	return (conf_load(c, conf_path, cause));
}

/* Checks that text fails to load with cause "PATH" followed by want. */
static int
load_fails(const char *text, const char *want)
{
	struct conf	 c;
	char		*cause = NULL, *full;
	int		 ok;

	if (load(&c, text, &cause) == 0) {
		printf("# loaded, but wanted: %s\n", want);
		conf_clear(&c);
		return (0);
	}
	xasprintf(&full, "%s%s", conf_path, want);
	ok = cause != NULL && strcmp(cause, full) == 0;
	if (!ok)
		printf("# got  \"%s\"\n# want \"%s\"\n", cause ? cause : "",
		    full);
	free(full);
	free(cause);
	conf_clear(&c);
	return (ok);
}

/* Loads text, which must succeed, into c. */
static int
load_ok(struct conf *c, const char *text)
{
	char	*cause = NULL;

	if (load(c, text, &cause) != 0) {
		printf("# unexpected error: %s\n", cause);
		free(cause);
		conf_clear(c);
		return (0);
	}
	return (1);
}

/* Returns the entry of conf_table called name. */
static const struct conf_entry *
entry(const char *name)
{
	const struct conf_entry	*e;

	for (e = conf_table; e->name != NULL; e++) {
		if (strcmp(e->name, name) == 0)
			return (e);
	}
	printf("Bail out! no conf entry %s\n", name);
	exit(1);
}

/* Returns 1 if a and b hold the same value for entry e. */
static int
same(const struct conf_entry *e, struct conf *a, struct conf *b)
{
	switch (e->type) {
	case CONF_STRING:
	case CONF_ADDRESS:
		if (*FIELD(a, e, char *) == NULL || *FIELD(b, e, char *) == NULL)
			return (*FIELD(a, e, char *) == *FIELD(b, e, char *));
		return (strcmp(*FIELD(a, e, char *), *FIELD(b, e, char *)) ==
		    0);
	case CONF_ENUM:
		return (*FIELD(a, e, int) == *FIELD(b, e, int));
	default:
		return (*FIELD(a, e, uint64_t) == *FIELD(b, e, uint64_t));
	}
}

/* The number of keys in conf_table. */
static size_t
conf_entries(void)
{
	const struct conf_entry	*e;
	size_t			 n = 0;

	for (e = conf_table; e->name != NULL; e++)
		n++;
	return (n);
}

/* Returns 1 if every entry of a and b holds the same value. */
static int
same_all(struct conf *a, struct conf *b)
{
	const struct conf_entry	*e;

	for (e = conf_table; e->name != NULL; e++) {
		if (!same(e, a, b)) {
			printf("# %s differs\n", e->name);
			return (0);
		}
	}
	return (1);
}

/* Reads a file under $TOP_SRCDIR (or $TOP_BUILDDIR) into a string. */
static char *
read_top(const char *var, const char *rel)
{
	const char	*top = getenv(var);
	char		*path, *buf = NULL;
	size_t		 len = 0;
	FILE		*f, *m;
	int		 ch;

	if (top == NULL)
		top = ".";
	xasprintf(&path, "%s/%s", top, rel);
	if ((f = fopen(path, "r")) == NULL) {
		printf("# %s: %s\n", path, strerror(errno));
		free(path);
		return (NULL);
	}
	m = open_memstream(&buf, &len);
	while ((ch = getc(f)) != EOF)
		putc(ch, m);
	fclose(m);
	fclose(f);
	free(path);
	return (buf);
}

/* Every default, field by field. */
static int
test_defaults(void)
{
	struct conf		 c;
	struct sockaddr_in	*sin;

	conf_init(&c);
	CHECK(c.path == NULL);
	CHECK_STR(c.listen, "127.0.0.1:8080");
	sin = (struct sockaddr_in *)&c.listen_ss;
	CHECK(sin->sin_family == AF_INET);
	CHECK(ntohs(sin->sin_port) == 8080);
	CHECK(ntohl(sin->sin_addr.s_addr) == INADDR_LOOPBACK);
	CHECK(c.listen_len == sizeof(struct sockaddr_in));
	CHECK_STR(c.data_dir, "/var/lib/tickd");
	CHECK(c.map_size == 1024ULL * 1024 * 1024);
	CHECK(c.registration == REG_OPEN);
	CHECK(c.token_ttl == 30ULL * 86400 * 1000);
	CHECK(c.auth_timeout == 10000);
	CHECK(c.window == 256);
	CHECK(c.max_queue == 10000);
	CHECK(c.max_message_bytes == 16384);
	CHECK(c.max_frame_bytes == 65536);
	CHECK(c.max_output_bytes == 8 * 1024 * 1024);
	CHECK(c.max_request_bytes == 65536);
	CHECK(c.message_ttl == 30ULL * 86400 * 1000);
	CHECK(c.dedup_window == 7ULL * 86400 * 1000);
	CHECK(c.device_ttl == 30ULL * 86400 * 1000);
	CHECK(c.ping_interval == 30000);
	CHECK(c.log_level == L_INFO);
	CHECK_STR(c.pidfile, "/run/tickd.pid");
	conf_clear(&c);
	conf_clear(&c);		/* twice is harmless */
	return (0);
}

/* The table: unique names, help text, defaults within their bounds. */
static int
test_table(void)
{
	const struct conf_entry	*e, *f;
	struct conf		 c;
	size_t			 n = 0;

	conf_init(&c);
	for (e = conf_table; e->name != NULL; e++, n++) {
		for (f = conf_table; f != e; f++)
			CHECK(strcmp(e->name, f->name) != 0);
		CHECK(e->help != NULL && *e->help != '\0');
		if (e->type == CONF_ENUM)
			CHECK(e->choices != NULL && e->dflt != NULL);
		if (e->dflt != NULL && (e->type == CONF_DURATION ||
		    e->type == CONF_SIZE || e->type == CONF_COUNT)) {
			CHECK(e->min <= *FIELD(&c, e, uint64_t));
			CHECK(*FIELD(&c, e, uint64_t) <= e->max);
		}
	}
	CHECK(n >= 18);
	conf_clear(&c);
	return (0);
}

/* An empty file gives the defaults and records its path. */
static int
test_empty(void)
{
	struct conf	c, d;

	CHECK(load_ok(&c, ""));
	conf_init(&d);
	CHECK(same_all(&c, &d));
	CHECK_STR(c.path, conf_path);
	conf_clear(&c);
	conf_clear(&d);
	return (0);
}

/* One value of every key and so every type. */
static int
test_every_type(void)
{
	struct conf		 c;
	struct sockaddr_in	*sin;

	CHECK(load_ok(&c,
	    "listen 10.1.2.3:99\n"
	    "data_dir /srv/tickd\n"
	    "map_size 2g\n"
	    "registration closed\n"
	    "token_ttl 12h\n"
	    "auth_timeout 500ms\n"
	    "window 65536\n"
	    "max_queue 42\n"
	    "max_message_bytes 1000\n"
	    "max_frame_bytes 1m\n"
	    "max_output_bytes 16m\n"
	    "max_request_bytes 8k\n"
	    "message_ttl 2d\n"
	    "dedup_window 90m\n"
	    "device_ttl 365d\n"
	    "ping_interval 5s\n"
	    "log_level debug\n"
	    "pidfile /tmp/tickd.pid\n"));
	CHECK_STR(c.listen, "10.1.2.3:99");
	sin = (struct sockaddr_in *)&c.listen_ss;
	CHECK(sin->sin_family == AF_INET && ntohs(sin->sin_port) == 99);
	CHECK(ntohl(sin->sin_addr.s_addr) == 0x0a010203);
	CHECK_STR(c.data_dir, "/srv/tickd");
	CHECK(c.map_size == 2048ULL * 1024 * 1024);
	CHECK(c.registration == REG_CLOSED);
	CHECK(c.token_ttl == 12ULL * 3600 * 1000);
	CHECK(c.auth_timeout == 500);
	CHECK(c.window == 65536);
	CHECK(c.max_queue == 42);
	CHECK(c.max_message_bytes == 1000);
	CHECK(c.max_frame_bytes == 1024 * 1024);
	CHECK(c.max_output_bytes == 16 * 1024 * 1024);
	CHECK(c.max_request_bytes == 8192);
	CHECK(c.message_ttl == 2ULL * 86400 * 1000);
	CHECK(c.dedup_window == 90ULL * 60 * 1000);
	CHECK(c.device_ttl == 365ULL * 86400 * 1000);
	CHECK(c.ping_interval == 5000);
	CHECK(c.log_level == L_DEBUG);
	CHECK_STR(c.pidfile, "/tmp/tickd.pid");
	conf_clear(&c);
	return (0);
}

/* Every duration unit, and that a duration needs one. */
static int
test_durations(void)
{
	static const struct {
		const char	*text;
		uint64_t	 ms;
	} t[] = {
		{ "500ms", 500 }, { "30s", 30000 }, { "10m", 600000 },
		{ "2h", 7200000 }, { "7d", 604800000 }, { "0100ms", 100 },
	};
	struct conf	 c;
	char		*text;
	size_t		 i;

	for (i = 0; i < sizeof t / sizeof t[0]; i++) {
		xasprintf(&text, "dedup_window %s\n", t[i].text);
		CHECK(load_ok(&c, text));
		free(text);
		CHECK(c.dedup_window == t[i].ms);
		conf_clear(&c);
	}
	CHECK(load_fails("auth_timeout 30\n", ":1: bad value for "
	    "\"auth_timeout\": \"30\" needs a unit: ms, s, m, h or d"));
	CHECK(load_fails("auth_timeout 3w\n", ":1: bad value for "
	    "\"auth_timeout\": unknown unit \"w\" in \"3w\" "
	    "(use ms, s, m, h or d)"));
	CHECK(load_fails("auth_timeout 1.5s\n", ":1: bad value for "
	    "\"auth_timeout\": unknown unit \".5s\" in \"1.5s\" "
	    "(use ms, s, m, h or d)"));
	CHECK(load_fails("auth_timeout -1s\n", ":1: bad value for "
	    "\"auth_timeout\": \"-1s\" is not a duration, as in 30s"));
	CHECK(load_fails("token_ttl 99999999999999999999d\n", ":1: bad "
	    "value for \"token_ttl\": \"99999999999999999999d\" is too "
	    "large"));
	CHECK(load_fails("token_ttl 9999999999999999d\n", ":1: bad "
	    "value for \"token_ttl\": \"9999999999999999d\" is too large"));
	return (0);
}

/* Sizes: bare bytes and k, m, g in either case, powers of 1024. */
static int
test_sizes(void)
{
	static const struct {
		const char	*key;
		const char	*text;
		uint64_t	 bytes;
	} t[] = {
		{ "max_message_bytes", "123", 123 },
		{ "max_output_bytes", "64k", 65536 },
		{ "max_output_bytes", "64K", 65536 },
		{ "max_output_bytes", "10m", 10485760 },
		{ "max_output_bytes", "10M", 10485760 },
		{ "max_output_bytes", "1g", 1073741824 },
		{ "map_size", "1G", 1073741824 },
		{ "map_size", "3g", 3221225472ULL },
	};
	struct conf	 c;
	char		*text;
	size_t		 i;

	for (i = 0; i < sizeof t / sizeof t[0]; i++) {
		xasprintf(&text, "%s %s\n", t[i].key, t[i].text);
		CHECK(load_ok(&c, text));
		free(text);
		CHECK(*FIELD(&c, entry(t[i].key), uint64_t) == t[i].bytes);
		conf_clear(&c);
	}
	CHECK(load_fails("map_size 1t\n", ":1: bad value for \"map_size\": "
	    "unknown unit \"t\" in \"1t\" (use k, m or g)"));
	CHECK(load_fails("map_size 1kb\n", ":1: bad value for "
	    "\"map_size\": unknown unit \"kb\" in \"1kb\" (use k, m or g)"));
	CHECK(load_fails("map_size big\n", ":1: bad value for "
	    "\"map_size\": \"big\" is not a size, as in 64k"));
	CHECK(load_fails("map_size 99999999999g\n", ":1: bad value for "
	    "\"map_size\": \"99999999999g\" is too large"));
	return (0);
}

/* Counts are plain whole numbers. */
static int
test_counts(void)
{
	struct conf	c;

	CHECK(load_ok(&c, "max_queue 007\n"));
	CHECK(c.max_queue == 7);
	conf_clear(&c);
	CHECK(load_fails("max_queue 10k\n", ":1: bad value for "
	    "\"max_queue\": \"10k\" is not a whole number"));
	CHECK(load_fails("max_queue -3\n", ":1: bad value for "
	    "\"max_queue\": \"-3\" is not a whole number"));
	CHECK(load_fails("max_queue 99999999999999999999999\n", ":1: bad "
	    "value for \"max_queue\": \"99999999999999999999999\" is not a "
	    "whole number"));
	return (0);
}

/* Enums take exactly one of their choices. */
static int
test_enums(void)
{
	static const char	*levels[] = {
		"error", "warn", "info", "debug"
	};
	struct conf		 c;
	char			*text;
	int			 i;

	for (i = 0; i < 4; i++) {
		xasprintf(&text, "log_level %s\n", levels[i]);
		CHECK(load_ok(&c, text));
		free(text);
		CHECK(c.log_level == i);
		conf_clear(&c);
	}
	CHECK(L_ERROR == 0 && L_DEBUG == 3);
	CHECK(load_ok(&c, "registration closed\n"));
	CHECK(c.registration == REG_CLOSED);
	conf_clear(&c);
	CHECK(load_fails("registration maybe\n", ":1: bad value for "
	    "\"registration\": \"maybe\" is not open, closed or "
	    "open_public"));
	CHECK(load_fails("registration Open\n", ":1: bad value for "
	    "\"registration\": \"Open\" is not open, closed or "
	    "open_public"));
	/* Open on a public listen only when said so (tickd.conf(5)). */
	CHECK(load_fails("listen 0.0.0.0:8080\n", ": registration is open "
	    "on listen 0.0.0.0:8080, which is not a loopback address, so "
	    "anyone who reaches it may make accounts: write registration "
	    "open_public to mean it, or registration closed"));
	CHECK(load_fails("listen [::]:8080\nregistration open\n",
	    ": registration is open on listen [::]:8080, which is not a "
	    "loopback address, so anyone who reaches it may make accounts: "
	    "write registration open_public to mean it, or registration "
	    "closed"));
	CHECK(load_ok(&c, "listen 0.0.0.0:8080\nregistration open_public\n"));
	CHECK(c.registration == REG_OPEN_PUBLIC);
	conf_clear(&c);
	CHECK(load_ok(&c, "listen 192.0.2.1:8080\nregistration closed\n"));
	conf_clear(&c);
	CHECK(load_ok(&c, "listen 127.0.0.2:8080\nregistration open\n"));
	conf_clear(&c);
	CHECK(load_ok(&c, "listen [::1]:8080\nregistration open_public\n"));
	conf_clear(&c);
	CHECK(load_fails("log_level notice\n", ":1: bad value for "
	    "\"log_level\": \"notice\" is not error, warn, info or debug"));
	return (0);
}

/* Double quotes hold blanks and '#'; \" and \\ are the only escapes. */
static int
test_quoting(void)
{
	struct conf	c;

	CHECK(load_ok(&c,
	    "data_dir \"/tmp/my data\"\n"
	    "pidfile \"/tmp/a\\\"b\\\\c # not a comment\"   # a comment\n"
	    "window \"12\"\n"
	    "listen \"[::1]:9\"\n"));
	CHECK_STR(c.data_dir, "/tmp/my data");
	CHECK_STR(c.pidfile, "/tmp/a\"b\\c # not a comment");
	CHECK(c.window == 12);
	CHECK_STR(c.listen, "[::1]:9");
	conf_clear(&c);
	CHECK(load_ok(&c, "data_dir /tmp/x\"y\n"));
	CHECK_STR(c.data_dir, "/tmp/x\"y");
	conf_clear(&c);
	CHECK(load_fails("data_dir \"/tmp/x\n", ":1: bad value for "
	    "\"data_dir\": missing closing quote"));
	CHECK(load_fails("data_dir \"/tmp/x\\\"\n", ":1: bad value for "
	    "\"data_dir\": missing closing quote"));
	CHECK(load_fails("data_dir \"/tmp/x\\\n", ":1: bad value for "
	    "\"data_dir\": missing closing quote"));
	CHECK(load_fails("data_dir \"a\\nb\"\n", ":1: bad value for "
	    "\"data_dir\": only \\\" and \\\\ may follow a backslash"));
	CHECK(load_fails("data_dir \"/a\" b\n", ":1: bad value for "
	    "\"data_dir\": unexpected \"b\" after the value (quote a value "
	    "that holds blanks)"));
	CHECK(load_fails("\n\ndata_dir /my data\n", ":3: bad value for "
	    "\"data_dir\": unexpected \"data\" after the value (quote a "
	    "value that holds blanks)"));
	CHECK(load_fails("data_dir \"\"\n", ":1: bad value for "
	    "\"data_dir\": the value is empty"));
	return (0);
}

/* Comments, blank lines, tabs, CRLF and a missing final newline. */
static int
test_comments(void)
{
	struct conf	c, d;

	CHECK(load_ok(&c,
	    "# full-line comment\n"
	    "\n"
	    "   \t\n"
	    "   # indented comment\n"
	    "window 5 # after the value\n"
	    "max_queue\t\t7#right after\n"
	    "\tlog_level   warn   \n"
	    "registration closed\r\n"
	    "ping_interval 1m"));
	CHECK(c.window == 5);
	CHECK(c.max_queue == 7);
	CHECK(c.log_level == L_WARN);
	CHECK(c.registration == REG_CLOSED);
	CHECK(c.ping_interval == 60000);
	conf_clear(&c);
	CHECK(load_ok(&c, "# window 1\n#window 2\n"));
	conf_init(&d);
	CHECK(same_all(&c, &d));
	conf_clear(&c);
	conf_clear(&d);
	return (0);
}

/* Unknown keys, by line; keys are case-sensitive. */
static int
test_unknown_key(void)
{
	CHECK(load_fails("window 5\n\nbogus 1\n",
	    ":3: unknown key \"bogus\""));
	CHECK(load_fails("Window 5\n", ":1: unknown key \"Window\""));
	CHECK(load_fails("window=5\n", ":1: unknown key \"window=5\""));
	return (0);
}

/* A key set twice names both lines. */
static int
test_duplicate(void)
{
	CHECK(load_fails("# c\nwindow 5\nmax_queue 3\nwindow 5\n",
	    ":4: duplicate key \"window\" (first set on line 2)"));
	CHECK(load_fails("listen 127.0.0.1:1\nlisten \"[::1]:1\"\n",
	    ":2: duplicate key \"listen\" (first set on line 1)"));
	return (0);
}

/* A key with nothing after it, or only a comment. */
static int
test_missing_value(void)
{
	CHECK(load_fails("window\n", ":1: missing value for \"window\""));
	CHECK(load_fails("\nwindow   # five\n",
	    ":2: missing value for \"window\""));
	CHECK(load_fails("data_dir \t\n",
	    ":1: missing value for \"data_dir\""));
	return (0);
}

/* min and max are checked, and the message names the bound. */
static int
test_bounds(void)
{
	struct conf	c;

	CHECK(load_fails("window 0\n", ":1: bad value for \"window\": 0 is "
	    "below the minimum 1"));
	CHECK(load_fails("window 65537\n", ":1: bad value for \"window\": "
	    "65537 is above the maximum 65536"));
	CHECK(load_fails("map_size 512k\n", ":1: bad value for "
	    "\"map_size\": 512k is below the minimum 1m"));
	CHECK(load_fails("ping_interval 2h\n", ":1: bad value for "
	    "\"ping_interval\": 2h is above the maximum 1h"));
	CHECK(load_fails("auth_timeout 99ms\n", ":1: bad value for "
	    "\"auth_timeout\": 99ms is below the minimum 100ms"));
	CHECK(load_fails("max_output_bytes 2g\n", ":1: bad value for "
	    "\"max_output_bytes\": 2g is above the maximum 1g"));
	CHECK(load_fails("max_queue 0\n", ":1: bad value for \"max_queue\": "
	    "0 is below the minimum 1"));
	CHECK(load_ok(&c, "window 1\nmap_size 1024k\n"));
	CHECK(c.window == 1 && c.map_size == 1048576);
	conf_clear(&c);
	return (0);
}

/* IPv4 and bracketed IPv6 addresses, ports 1-65535, no names. */
static int
test_addresses(void)
{
	struct conf		 c;
	struct sockaddr_in6	*sin6;
	struct in6_addr		 lo = IN6ADDR_LOOPBACK_INIT;

	CHECK(load_ok(&c, "listen [::1]:8080\n"));
	sin6 = (struct sockaddr_in6 *)&c.listen_ss;
	CHECK(sin6->sin6_family == AF_INET6);
	CHECK(ntohs(sin6->sin6_port) == 8080);
	CHECK(memcmp(&sin6->sin6_addr, &lo, sizeof lo) == 0);
	CHECK(c.listen_len == sizeof(struct sockaddr_in6));
	CHECK_STR(c.listen, "[::1]:8080");
	conf_clear(&c);
	CHECK(load_ok(&c, "listen [::]:65535\nregistration closed\n"));
	CHECK(ntohs(((struct sockaddr_in6 *)&c.listen_ss)->sin6_port) ==
	    65535);
	conf_clear(&c);
	CHECK(load_ok(&c, "listen 0.0.0.0:1\nregistration closed\n"));
	CHECK(c.listen_ss.ss_family == AF_INET);
	conf_clear(&c);

	CHECK(load_fails("listen localhost:8080\n", ":1: bad value for "
	    "\"listen\": \"localhost\" is not an IPv4 address (names are not "
	    "resolved; IPv6 goes in brackets)"));
	CHECK(load_fails("listen ::1:8080\n", ":1: bad value for "
	    "\"listen\": \"::1:8080\": write an IPv6 address in brackets, "
	    "as in [::1]:8080"));
	CHECK(load_fails("listen [::1]8080\n", ":1: bad value for "
	    "\"listen\": \"[::1]8080\" needs :PORT after ]"));
	CHECK(load_fails("listen [::1:8080\n", ":1: bad value for "
	    "\"listen\": \"[::1:8080\" has no closing ]"));
	CHECK(load_fails("listen [1.2.3.4]:80\n", ":1: bad value for "
	    "\"listen\": \"1.2.3.4\" is not an IPv6 address"));
	CHECK(load_fails("listen 127.0.0.1\n", ":1: bad value for "
	    "\"listen\": \"127.0.0.1\" is not ADDRESS:PORT"));
	CHECK(load_fails("listen :8080\n", ":1: bad value for "
	    "\"listen\": \":8080\" has no valid address"));
	CHECK(load_fails("listen []:8080\n", ":1: bad value for "
	    "\"listen\": \"[]:8080\" has no valid address"));
	CHECK(load_fails("listen 127.0.0.1:0\n", ":1: bad value for "
	    "\"listen\": port \"0\" is not a number from 1 to 65535"));
	CHECK(load_fails("listen 127.0.0.1:65536\n", ":1: bad value for "
	    "\"listen\": port \"65536\" is not a number from 1 to 65535"));
	CHECK(load_fails("listen 127.0.0.1:80x\n", ":1: bad value for "
	    "\"listen\": port \"80x\" is not a number from 1 to 65535"));
	CHECK(load_fails("listen 127.0.0.1:\n", ":1: bad value for "
	    "\"listen\": port \"\" is not a number from 1 to 65535"));
	CHECK(load_fails("listen 256.0.0.1:80\n", ":1: bad value for "
	    "\"listen\": \"256.0.0.1\" is not an IPv4 address (names are not "
	    "resolved; IPv6 goes in brackets)"));
	return (0);
}

/* max_frame_bytes must leave 1k of room above max_message_bytes. */
static int
test_cross_keys(void)
{
	struct conf	c;

	CHECK(load_fails("max_message_bytes 64k\n", ": max_frame_bytes must "
	    "be at least max_message_bytes + 1k"));
	CHECK(load_fails("max_frame_bytes 4k\nmax_message_bytes 3073\n",
	    ": max_frame_bytes must be at least max_message_bytes + 1k"));
	CHECK(load_ok(&c, "max_frame_bytes 4k\nmax_message_bytes 3k\n"));
	CHECK(c.max_frame_bytes == 4096 && c.max_message_bytes == 3072);
	conf_clear(&c);
	return (0);
}

/*
 * The reverse proxy keys (tickd.conf(5) Reverse proxy): trusted_proxies is
 * parsed, a bad one names the entry, a PROXY listener needs it, and a
 * reload carries the parsed list along.
 */
static int
test_proxy_keys(void)
{
	struct conf	c, d;

	CHECK(load_ok(&c, ""));
	CHECK(c.trusted_proxies == NULL && c.trusted.n == 0);
	CHECK(c.listen_proxy_protocol == 0 && c.resp_proxy_protocol == 0);
	conf_clear(&c);
	CHECK(load_ok(&c, "trusted_proxies \"127.0.0.1 ::1, 10.0.0.0/8\"\n"
	    "listen_proxy_protocol yes\nresp_proxy_protocol yes\n"
	    "listen_plain_proxy_protocol no\n"));
	CHECK(c.trusted.n == 3);
	CHECK(proxy_trusted(&c.trusted, "10.9.8.7"));
	CHECK(!proxy_trusted(&c.trusted, "11.9.8.7"));
	CHECK(c.listen_proxy_protocol == 1 && c.resp_proxy_protocol == 1 &&
	    c.listen_plain_proxy_protocol == 0);
	conf_clear(&c);
	CHECK(load_fails("trusted_proxies 10.0.0.0/33\n", ":1: bad value for "
	    "\"trusted_proxies\": \"10.0.0.0/33\" has a bad prefix length"));
	CHECK(load_fails("trusted_proxies 127.0.0.1,proxy.example\n", ":1: bad "
	    "value for \"trusted_proxies\": \"proxy.example\" is not an IPv4 "
	    "or IPv6 address"));
	CHECK(load_fails("listen_proxy_protocol maybe\n", ":1: bad value for "
	    "\"listen_proxy_protocol\": \"maybe\" is not no or yes"));
	CHECK(load_fails("resp_proxy_protocol yes\n", ": a PROXY protocol "
	    "listener needs trusted_proxies"));
	CHECK(load_fails("listen_plain_proxy_protocol yes\n", ": a PROXY "
	    "protocol listener needs trusted_proxies"));
	CHECK(load_ok(&c, ""));
	CHECK(load_ok(&d, "trusted_proxies 192.0.2.0/24\n"));
	conf_apply_reload(&c, &d, NULL);
	CHECK(c.trusted.n == 1 && proxy_trusted(&c.trusted, "192.0.2.9"));
	conf_clear(&c);
	conf_clear(&d);
	return (0);
}

/*
 * The cluster keys (tickd.conf(5) Cluster): unset by default, node_name,
 * cluster_url and cluster_redis checked, the last needing the other two.
 */
static int
test_cluster_keys(void)
{
	struct conf	c;

	CHECK(load_ok(&c, ""));
	CHECK(c.cluster_redis == NULL && c.node_name == NULL &&
	    c.cluster_url == NULL);
	CHECK(strcmp(c.cluster_prefix, "tickd:") == 0);
	CHECK(c.cluster_batch == 256 && c.cluster_retry == 30000 &&
	    c.cluster_heartbeat == 2000 && c.cluster_rpc_timeout == 5000 &&
	    c.cluster_redis_timeout == 5000 &&
	    c.cluster_slots_refresh == 30000 &&
	    c.cluster_outbox_max == 1000000);
	conf_clear(&c);
	CHECK(load_ok(&c, "cluster_redis redis://u:p@127.0.0.1:6390\n"
	    "node_name n-1\ncluster_url http://127.0.0.1:8091\n"
	    "cluster_retry 2s\n"));
	CHECK(strcmp(c.node_name, "n-1") == 0 && c.cluster_retry == 2000);
	conf_clear(&c);
	CHECK(load_fails("cluster_redis redis://127.0.0.1:6390\n"
	    "cluster_url http://a\n", ": cluster_redis needs node_name"));
	CHECK(load_fails("cluster_redis redis://127.0.0.1:6390\n"
	    "node_name n1\n", ": cluster_redis needs cluster_url"));
	CHECK(load_fails("node_name N1\n", ":1: bad value for \"node_name\": "
	    "\"N1\" is not 1-32 bytes of [a-z0-9-]"));
	CHECK(load_fails("node_name n.1\n", ":1: bad value for "
	    "\"node_name\": \"n.1\" is not 1-32 bytes of [a-z0-9-]"));
	CHECK(load_fails("node_name 123456789012345678901234567890123\n",
	    ":1: bad value for \"node_name\": "
	    "\"123456789012345678901234567890123\" is not 1-32 bytes of "
	    "[a-z0-9-]"));
	CHECK(load_fails("cluster_url ftp://a\n", ":1: bad value for "
	    "\"cluster_url\": \"ftp://a\" does not begin with http:// or "
	    "https://"));
	CHECK(load_fails("cluster_url https://a/\n", ":1: bad value for "
	    "\"cluster_url\": \"https://a/\" ends with a slash"));
	CHECK(load_fails("cluster_url https://\n", ":1: bad value for "
	    "\"cluster_url\": \"https://\" has no host"));
	CHECK(load_fails("cluster_redis 127.0.0.1:6379\n", ":1: bad value "
	    "for \"cluster_redis\": \"127.0.0.1:6379\" does not begin with "
	    "redis:// or rediss://"));
	CHECK(load_fails("cluster_redis redis://host\n", ":1: bad value for "
	    "\"cluster_redis\": \"redis://host\" is not "
	    "redis://[user:pass@]host:port"));
	CHECK(load_fails("cluster_redis redis://host:99999\n", ":1: bad "
	    "value for \"cluster_redis\": \"redis://host:99999\" is not "
	    "redis://[user:pass@]host:port"));
	CHECK(load_fails("cluster_retry 30\n", ":1: bad value for "
	    "\"cluster_retry\": \"30\" needs a unit: ms, s, m, h or d"));
	CHECK(load_fails("cluster_heartbeat 10ms\n", ":1: bad value for "
	    "\"cluster_heartbeat\": 10ms is below the minimum 100ms"));
	CHECK(load_fails("cluster_batch 0\n", ":1: bad value for "
	    "\"cluster_batch\": 0 is below the minimum 1"));
	CHECK(load_fails("cluster_prefix a{b\n", ":1: bad value for "
	    "\"cluster_prefix\": \"a{b\" holds a blank or a brace"));
	return (0);
}

/* Other errors: a missing file, a NUL byte. */
static int
test_other_errors(void)
{
	struct conf	 c;
	char		*cause = NULL;

	conf_init(&c);
	CHECK(conf_load(&c, "/nonexistent/tickd.conf", &cause) == -1);
	CHECK_STR(cause, "/nonexistent/tickd.conf: No such file or "
	    "directory");
	free(cause);
	conf_clear(&c);

	write_conf("window 5\n");
	{
		FILE	*f = fopen(conf_path, "a");

		CHECK(f != NULL);
		fwrite("max_queue 1\0x\n", 1, 14, f);
		fclose(f);
	}
	conf_init(&c);
	CHECK(conf_load(&c, conf_path, &cause) == -1);
	{
		char	*want;

		xasprintf(&want, "%s:2: NUL byte in line", conf_path);
		CHECK_STR(cause, want);
		free(want);
	}
	free(cause);
	conf_clear(&c);
	return (0);
}

/* A failed load leaves the conf as it was; a good one replaces it. */
static int
test_failed_load_keeps(void)
{
	struct conf	 c;
	char		*cause = NULL;

	CHECK(load_ok(&c, "window 9\ndata_dir /a\n"));
	write_conf("window 10\nbogus 1\n");
	CHECK(conf_load(&c, conf_path, &cause) == -1);
	free(cause);
	CHECK(c.window == 9);
	CHECK_STR(c.data_dir, "/a");
	write_conf("max_queue 3\n");
	CHECK(conf_load(&c, conf_path, &cause) == 0);
	CHECK(c.window == 256 && c.max_queue == 3);
	CHECK_STR(c.data_dir, "/var/lib/tickd");
	conf_clear(&c);
	return (0);
}

/* Whether the array key of report holds the string name. */
static int
in_array(json_t *report, const char *key, const char *name)
{
	json_t	*v;
	size_t	 i;

	json_array_foreach(json_object_get(report, key), i, v) {
		if (strcmp(json_string_value(v), name) == 0)
			return (1);
	}
	return (0);
}

/*
 * conf_apply_reload copies the reloadable keys and only those, and its
 * report names every changed key as changed or as needing a restart.
 */
static int
test_reload(void)
{
	const struct conf_entry	*e;
	struct conf		 run, orig, next;
	json_t			*report;
	int			 nreload = 0;

	static const char	*text =
	    "listen [::1]:1\ndata_dir /x\nmap_size 2g\nregistration closed\n"
	    "token_ttl 1d\nauth_timeout 1s\nwindow 3\nmax_queue 4\n"
	    "max_message_bytes 5\nmax_frame_bytes 6k\n"
	    "max_output_bytes 7m\nmax_request_bytes 8k\nmessage_ttl 9d\n"
	    "dedup_window 10d\ndevice_ttl 11d\nping_interval 12s\n"
	    "log_level error\npidfile /y\nsend_rate 7\n"
	    "handshake_timeout 3s\n";
	char			*line;

	conf_init(&run);
	conf_init(&orig);
	CHECK(load_ok(&next, text));
	/* Every key the text sets differs from its default. */
	for (e = conf_table; e->name != NULL; e++) {
		xasprintf(&line, "\n%s ", e->name);
		if (strstr(text, line) != NULL ||
		    strncmp(text, line + 1, strlen(line + 1)) == 0)
			CHECK(!same(e, &run, &next));
		free(line);
	}

	report = json_pack("{s:[],s:[]}", "changed", "restart");
	conf_apply_reload(&run, &next, report);
	for (e = conf_table; e->name != NULL; e++) {
		if (e->reload) {
			nreload++;
			if (!same(e, &run, &next)) {
				printf("# %s not reloaded\n", e->name);
				return (1);
			}
		} else if (!same(e, &run, &orig)) {
			printf("# %s reloaded\n", e->name);
			return (1);
		}
		/* The report names each changed key, where it belongs. */
		CHECK(in_array(report, e->reload ? "changed" : "restart",
		    e->name) == !same(e, &orig, &next));
		CHECK(!in_array(report, e->reload ? "restart" : "changed",
		    e->name));
	}
	json_decref(report);
	CHECK(nreload >= 14);
	CHECK(run.listen_ss.ss_family == AF_INET);
	CHECK(entry("listen")->reload == 0);
	CHECK(entry("data_dir")->reload == 0);
	CHECK(entry("map_size")->reload == 0);
	CHECK(entry("pidfile")->reload == 0);
	conf_clear(&next);
	conf_clear(&orig);
	conf_clear(&run);
	return (0);
}

/*
 * Returns the first word of each uncommented line of a config text, and of
 * each "#key example" line, which is how a key without a default is shown.
 */
static char **
sample_keys(char *text, size_t *n)
{
	char	**keys = NULL, *line, *p, *prev = "";
	size_t	  len;

	*n = 0;
	for (line = strtok(text, "\n"); line != NULL;
	    line = strtok(NULL, "\n")) {
		for (p = line; *p == ' ' || *p == '\t'; p++)
			;
		if (p[0] == '#' && p[1] >= 'a' && p[1] <= 'z')
			p++;
		else if (*p == '\0' || *p == '#') {
			prev = p;
			continue;
		}
		if (strncmp(prev, "# ", 2) != 0 || strlen(prev) < 10) {
			printf("# no comment line above: %s\n", line);
			return (NULL);
		}
		len = strcspn(p, " \t");
		p[len] = '\0';
		keys = xrealloc(keys, (*n + 1) * sizeof *keys);
		keys[(*n)++] = p;
		prev = "";
	}
	return (keys);
}

/*
 * conf/tickd.conf sets every key once, commented, to its default; a key
 * without one appears once as a commented-out example.
 */
static int
test_sample_conf(void)
{
	const struct conf_entry	 *e;
	struct conf		  c, d;
	char			 *text, *path, *cause = NULL, **keys;
	size_t			  n, i, found;

	CHECK((text = read_top("TOP_SRCDIR", "conf/tickd.conf")) != NULL);
	keys = sample_keys(text, &n);
	CHECK(keys != NULL);
	for (e = conf_table; e->name != NULL; e++) {
		for (found = 0, i = 0; i < n; i++)
			found += strcmp(keys[i], e->name) == 0;
		if (found != 1) {
			printf("# %s set %zu times in tickd.conf\n", e->name,
			    found);
			return (1);
		}
	}
	for (i = 0; i < n; i++) {
		for (e = conf_table; e->name != NULL; e++)
			if (strcmp(keys[i], e->name) == 0)
				break;
		if (e->name == NULL) {
			printf("# tickd.conf: %s not in conf_table\n",
			    keys[i]);
			return (1);
		}
		if (e != &conf_table[i]) {
			printf("# tickd.conf: %s is not in conf_table's "
			    "order\n", keys[i]);
			return (1);
		}
	}
	free(keys);
	free(text);

	xasprintf(&path, "%s/conf/tickd.conf", getenv("TOP_SRCDIR") ?
	    getenv("TOP_SRCDIR") : ".");
	conf_init(&c);
	conf_init(&d);
	if (conf_load(&c, path, &cause) != 0) {
		printf("# %s\n", cause);
		return (1);
	}
	CHECK(same_all(&c, &d));
	free(path);
	conf_clear(&c);
	conf_clear(&d);
	return (0);
}

/* man/tickd.conf.5 documents every key, its default and reload. */
static int
test_man_keys(void)
{
	const struct conf_entry	*e;
	char			*text, *p, *q, *end, *block, *want;
	size_t			 n = 0, len;

	CHECK((text = read_top("TOP_SRCDIR", "man/tickd.conf.5")) != NULL);
	for (p = text; (p = strstr(p, "\n.It Ic ")) != NULL; p = end) {
		p += strlen("\n.It Ic ");
		len = strcspn(p, " \n");
		for (e = conf_table; e->name != NULL; e++) {
			if (strlen(e->name) == len &&
			    strncmp(e->name, p, len) == 0)
				break;
		}
		if (e->name == NULL) {
			printf("# tickd.conf.5: %.*s not in conf_table\n",
			    (int)len, p);
			return (1);
		}
		if (e != &conf_table[n]) {
			printf("# tickd.conf.5: %s is not in conf_table's "
			    "order\n", e->name);
			return (1);
		}
		n++;
		/* The entry runs to the next .It or .El. */
		end = p + strcspn(p, "\n");
		for (q = end; *q != '\0'; q++) {
			if (strncmp(q, "\n.It", 4) == 0 ||
			    strncmp(q, "\n.El", 4) == 0)
				break;
		}
		block = xmalloc((size_t)(q - p) + 1);
		memcpy(block, p, (size_t)(q - p));
		block[q - p] = '\0';
		if (e->dflt != NULL)
			xasprintf(&want, "default is\n.Ql %s", e->dflt);
		else
			want = xstrdup("unset by default");
		if (strstr(block, want) == NULL) {
			printf("# tickd.conf.5: %s: no \"%s\"\n", e->name,
			    want);
			return (1);
		}
		free(want);
		want = e->reload ? "SIGHUP applies a change" :
		    "only after a restart";
		if (strstr(block, want) == NULL) {
			printf("# tickd.conf.5: %s: no \"%s\"\n", e->name,
			    want);
			return (1);
		}
		free(block);
		end = q;
	}
	for (e = conf_table; e->name != NULL; e++) {
		xasprintf(&want, "\n.It Ic %s ", e->name);
		if (strstr(text, want) == NULL) {
			printf("# tickd.conf.5: no entry for %s\n", e->name);
			return (1);
		}
		free(want);
	}
	CHECK(n == conf_entries());
	free(text);
	return (0);
}

/*
 * Returns "group key" lines, one for each key of the page (sample == 0),
 * whose groups are its .Ss subsections, or of conf/tickd.conf (sample !=
 * 0), whose groups are its "## " lines.
 */
static char *
grouped_keys(const char *text, int sample)
{
	const char	*line, *next, *group = "", *key;
	const char	*mark = sample ? "## " : ".Ss ";
	size_t		 mlen = strlen(mark), glen = 0, llen, len = 0;
	char		*out = NULL;
	FILE		*f;

	if ((f = open_memstream(&out, &len)) == NULL) {
		printf("Bail out! open_memstream: %s\n", strerror(errno));
		exit(1);
	}
	for (line = text; *line != '\0'; line = next) {
		llen = strcspn(line, "\n");
		next = line + llen;
		if (*next == '\n')
			next++;
		key = NULL;
		if (strncmp(line, mark, mlen) == 0) {
			group = line + mlen;
			glen = llen - mlen;
		} else if (!sample && strncmp(line, ".It Ic ", 7) == 0)
			key = line + 7;
		else if (sample && line[0] >= 'a' && line[0] <= 'z')
			key = line;
		else if (sample && line[0] == '#' && line[1] >= 'a' &&
		    line[1] <= 'z')
			key = line + 1;
		if (key != NULL)
			fprintf(f, "%.*s %.*s\n", (int)glen, group,
			    (int)strcspn(key, " \t\n"), key);
	}
	fclose(f);
	return (out);
}

/* conf/tickd.conf puts each key in the group tickd.conf.5 puts it in. */
static int
test_groups(void)
{
	char	*page, *sample, *a, *b;
	size_t	 i, n;

	CHECK((page = read_top("TOP_SRCDIR", "man/tickd.conf.5")) != NULL);
	CHECK((sample = read_top("TOP_SRCDIR", "conf/tickd.conf")) != NULL);
	a = grouped_keys(page, 0);
	b = grouped_keys(sample, 1);
	if (strcmp(a, b) != 0) {
		for (i = 0; a[i] == b[i]; i++)
			;
		while (i > 0 && a[i - 1] != '\n')
			i--;
		printf("# tickd.conf.5:   %.*s\n", (int)strcspn(a + i, "\n"),
		    a + i);
		printf("# conf/tickd.conf: %.*s\n", (int)strcspn(b + i, "\n"),
		    b + i);
		return (1);
	}
	for (n = 0, i = 0; a[i] != '\0'; i++)
		n += a[i] == '\n';
	CHECK(n == conf_entries());
	free(a);
	free(b);
	free(page);
	free(sample);
	return (0);
}

/* The quickstart config made by configure loads: loopback, open. */
static int
test_quickstart_conf(void)
{
	struct conf	 c;
	char		*path, *cause = NULL;
	const char	*top = getenv("TOP_BUILDDIR");

	xasprintf(&path, "%s/contrib/quickstart.conf", top ? top : ".");
	conf_init(&c);
	if (conf_load(&c, path, &cause) != 0) {
		printf("# %s\n", cause);
		return (1);
	}
	CHECK(c.registration == REG_OPEN);
	CHECK(c.listen_ss.ss_family == AF_INET);
	CHECK(ntohl(((struct sockaddr_in *)&c.listen_ss)->sin_addr.s_addr) ==
	    INADDR_LOOPBACK);
	CHECK(c.data_dir[0] == '/');
	free(path);
	conf_clear(&c);
	return (0);
}

/* The tests, in the order they run (after memcached's testapp.c). */
static const struct test tests[] = {
	{ "defaults", test_defaults },
	{ "table", test_table },
	{ "empty file", test_empty },
	{ "every key and type", test_every_type },
	{ "durations", test_durations },
	{ "sizes", test_sizes },
	{ "counts", test_counts },
	{ "enums", test_enums },
	{ "quoting", test_quoting },
	{ "comments and blanks", test_comments },
	{ "unknown key", test_unknown_key },
	{ "duplicate key", test_duplicate },
	{ "missing value", test_missing_value },
	{ "bounds", test_bounds },
	{ "addresses", test_addresses },
	{ "cross-key check", test_cross_keys },
	{ "reverse proxy keys", test_proxy_keys },
	{ "cluster keys", test_cluster_keys },
	{ "missing file, NUL byte", test_other_errors },
	{ "failed load keeps the conf", test_failed_load_keeps },
	{ "reload copies reloadable keys only", test_reload },
	{ "conf/tickd.conf matches conf_table", test_sample_conf },
	{ "man/tickd.conf.5 matches conf_table", test_man_keys },
	{ "tickd.conf.5 and tickd.conf group the keys alike", test_groups },
	{ "quickstart.conf loads", test_quickstart_conf },
};

/* Runs every test in the table and prints TAP; exits 0 if all passed. */
int
main(void)
{
	int	fd, failed;

	setvbuf(stdout, NULL, _IOLBF, 0);
	log_init(1, L_WARN);
	if ((fd = mkstemp(conf_path)) == -1) {
		printf("Bail out! mkstemp: %s\n", strerror(errno));
		return (1);
	}
	close(fd);
	failed = tap_run(tests, nitems(tests));
	unlink(conf_path);
	return (failed != 0);
}
