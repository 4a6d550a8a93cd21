/* SPDX-License-Identifier: ISC */
/*
 * resp-conn.c: the RESP shim's commands of Redis's connection group
 * (tickd-resp(7)): AUTH and HELLO with its one user, QUIT, PING, ECHO,
 * SELECT of database 0, and CLIENT's name and id.
 */
#include <stdlib.h>
#include <string.h>

#include <openssl/crypto.h>

#include "tickd.h"

/*
 * Whether user and password are those of the one user of tickd-resp(7)
 * LISTENING AND ACCESS.
 */
static int
rc_password_ok(const struct rarg *user, const struct rarg *pass)
{
	const char	*want = srv.conf.resp_password;

	if (user != NULL && !resp_arg_is(user, "default"))
		return (0);
	if (want == NULL)
		return (1);
	return (pass->len == strlen(want) &&
	    CRYPTO_memcmp(pass->p, want, pass->len) == 0);
}

/* AUTH [user] password, with Redis's replies for its default user. */
void
resp_conn_auth(struct rclient *rc, int argc, struct rarg *argv)
{
	if (argc > 3) {
		resp_add_err(rc, RESP_ERR_SYNTAX);
		return;
	}
	if (argc == 2 && srv.conf.resp_password == NULL) {
		resp_add_errorf(rc, "AUTH <password> called without any "
		    "password configured for the default user. Are you sure "
		    "your configuration is correct?");
		return;
	}
	if (!rc_password_ok(argc == 3 ? &argv[1] : NULL, &argv[argc - 1])) {
		resp_add_errorf(rc, "-WRONGPASS invalid username-password pair "
		    "or user is disabled.");
		return;
	}
	rc->authed = 1;
	resp_add_ok(rc);
}

/* Whether a client name is printable ASCII without blanks. */
static int
valid_client_name(const struct rarg *a)
{
	size_t	i;

	for (i = 0; i < a->len; i++) {
		if (a->p[i] < '!' || a->p[i] > '~')
			return (0);
	}
	return (1);
}

/* Sets the client's name; the empty name removes it. */
static int
rc_setname(struct rclient *rc, const struct rarg *a)
{
	if (!valid_client_name(a)) {
		resp_add_errorf(rc, "Client names cannot contain spaces, "
		    "newlines or special characters.");
		return (-1);
	}
	free(rc->name);
	rc->name = a->len == 0 ? NULL : xstrdup(a->p);
	return (0);
}

/* HELLO [protover [AUTH user pass] [SETNAME name]] */
void
resp_conn_hello(struct rclient *rc, int argc, struct rarg *argv)
{
	const struct rarg	*user = NULL, *pass = NULL, *name = NULL;
	long long		 ver = 0;
	int			 j = 1;

	if (argc >= 2) {
		if (resp_arg_ll(rc, &argv[j++], &ver, "Protocol version is "
		    "not an integer or out of range") != 0)
			return;
		if (ver < 2 || ver > 3) {
			resp_add_errorf(rc, "-NOPROTO unsupported protocol "
			    "version");
			return;
		}
	}
	for (; j < argc; j++) {
		if (resp_arg_is(&argv[j], "AUTH") && argc - 1 - j >= 2) {
			user = &argv[j + 1];
			pass = &argv[j + 2];
			j += 2;
		} else if (resp_arg_is(&argv[j], "SETNAME") &&
		    argc - 1 - j >= 1)
			name = &argv[++j];
		else {
			resp_add_errorf(rc, "Syntax error in HELLO option '%s'",
			    argv[j].p);
			return;
		}
	}
	if (user != NULL) {
		if (!rc_password_ok(user, pass)) {
			resp_add_errorf(rc, "-WRONGPASS invalid "
			    "username-password pair or user is disabled.");
			return;
		}
		rc->authed = 1;
	}
	if (!rc->authed) {
		resp_add_errorf(rc, "-NOAUTH HELLO must be called with the "
		    "client already authenticated, otherwise the HELLO AUTH "
		    "<user> <pass> option can be used to authenticate the "
		    "client and select the RESP protocol version at the same "
		    "time");
		return;
	}
	if (name != NULL && rc_setname(rc, name) != 0)
		return;
	if (ver != 0)
		rc->resp3 = ver == 3;
	resp_add_map(rc, 7);
	resp_add_str(rc, "server");
	resp_add_str(rc, "redis");
	resp_add_str(rc, "version");
	resp_add_str(rc, RESP_REDIS_VERSION);
	resp_add_str(rc, "proto");
	resp_add_int(rc, rc->resp3 ? 3 : 2);
	resp_add_str(rc, "id");
	resp_add_int(rc, (long long)rc->c->id);
	resp_add_str(rc, "mode");
	resp_add_str(rc, "standalone");
	resp_add_str(rc, "role");
	resp_add_str(rc, "master");
	resp_add_str(rc, "modules");
	resp_add_array(rc, 0);
}

/* QUIT: +OK, then the connection is closed. */
void
resp_conn_quit(struct rclient *rc, int argc, struct rarg *argv)
{
	(void)argc; (void)argv;
	resp_add_ok(rc);
	rc->quit = 1;
}

/* PING [message] */
void
resp_conn_ping(struct rclient *rc, int argc, struct rarg *argv)
{
	if (argc > 2) {
		resp_add_errorf(rc, "wrong number of arguments for 'ping' "
		    "command");
		return;
	}
	if (argc == 2)
		resp_add_bulk(rc, argv[1].p, argv[1].len);
	else
		resp_add_status(rc, "PONG");
}

/* ECHO message */
void
resp_conn_echo(struct rclient *rc, int argc, struct rarg *argv)
{
	(void)argc;
	resp_add_bulk(rc, argv[1].p, argv[1].len);
}

/* SELECT: tickd has database 0 only, as a Redis with "databases 1". */
void
resp_conn_select(struct rclient *rc, int argc, struct rarg *argv)
{
	long long	db;

	(void)argc;
	if (resp_arg_ll(rc, &argv[1], &db, NULL) != 0)
		return;
	if (db != 0) {
		resp_add_errorf(rc, "DB index is out of range");
		return;
	}
	resp_add_ok(rc);
}

/* CLIENT SETNAME name */
void
resp_conn_client_setname(struct rclient *rc, int argc, struct rarg *argv)
{
	(void)argc;
	if (rc_setname(rc, &argv[2]) == 0)
		resp_add_ok(rc);
}

/* CLIENT GETNAME: the name, or nil. */
void
resp_conn_client_getname(struct rclient *rc, int argc, struct rarg *argv)
{
	(void)argc; (void)argv;
	if (rc->name == NULL)
		resp_add_null(rc);
	else
		resp_add_str(rc, rc->name);
}

/* CLIENT ID: the connection's number, as HELLO shows it. */
void
resp_conn_client_id(struct rclient *rc, int argc, struct rarg *argv)
{
	(void)argc; (void)argv;
	resp_add_int(rc, (long long)rc->c->id);
}

/* CLIENT HELP, for the subcommands tickd has. */
void
resp_conn_client_help(struct rclient *rc, int argc, struct rarg *argv)
{
	static const char *const help[] = {
		"GETNAME",
		"    Return the name of the current connection.",
		"ID",
		"    Return the ID of the current connection.",
		"SETNAME <name>",
		"    Assign the name <name> to the current connection.",
		NULL
	};

	(void)argc; (void)argv;
	resp_add_help(rc, "CLIENT", help);
}
