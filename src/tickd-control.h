/* SPDX-License-Identifier: ISC */
/*
 * tickd-control.h: the wire format between tickctl(8) and tickd on the
 * control socket, shared by both sides (after tmux's tmux-protocol.h).
 *
 * The socket is a UNIX stream socket (conf control_socket).  The daemon
 * accepts a peer only if its SO_PEERCRED uid is 0 or the daemon's own uid,
 * and at most CONTROL_CONNS_PER_UID connections per uid at a time.
 *
 * Each request is one line: a JSON object followed by "\n",
 *
 *	{"v":1,"cmd":"user show","args":["alice"]}
 *
 * where "cmd" is the command's words without its arguments and "args" is an
 * array of strings (absent for none).  The daemon answers every request with
 * one line, in order:
 *
 *	{"v":1,"ok":true, ...members of the command's result...}
 *	{"v":1,"ok":false,"error":"no such user: alice"}
 *
 * A request with another "v" is answered with an error and the connection is
 * closed, so a tickctl and a tickd of different versions never misread each
 * other.  A reply to a command that writes to the store is sent only after
 * the write has been committed and fsync'd.  The members of each result are
 * documented in tickctl(8).
 */
#ifndef TICKD_CONTROL_H
#define TICKD_CONTROL_H

#define CONTROL_VERSION		1

#define CONTROL_LINE_MAX	(64 * 1024)	/* longest request line */
#define CONTROL_CONNS_PER_UID	8
#define CONTROL_IDLE_SECONDS	60		/* then the daemon closes */
#define CONTROL_PASSWORD_MAX	1024		/* as POST /v1/register */

#endif /* TICKD_CONTROL_H */
