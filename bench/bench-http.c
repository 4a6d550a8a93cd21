/* SPDX-License-Identifier: ISC */
/*
 * bench-http.c: the few HTTP requests tickd-bench makes outside the event
 * loop: registering and logging in its own accounts before a run, and
 * reading a counter from /metrics around one.  One blocking request per
 * connection, "Connection: close", bounded by a receive timeout.
 */
#include <sys/types.h>
#include <sys/socket.h>
#include <sys/time.h>

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "bench.h"

#define HTTP_TIMEOUT	60	/* seconds; a login waits for scrypt */
#define HTTP_MAX	(1 << 20)

/*
 * One request; the status and the body (NUL-terminated, caller frees) of
 * the response.  -1 with *cause set if there was none.
 */
static int
http_do(const struct peer *p, const char *method, const char *path,
    const char *body, int *status, char **resp, char **cause)
{
	struct timeval	 tv = { HTTP_TIMEOUT, 0 };
	char		*req = NULL, *buf = NULL, *b;
	size_t		 len = 0, cap = 0, off;
	ssize_t		 n;
	int		 fd, reqlen;

	*resp = NULL;
	if ((fd = socket(p->ss.ss_family, SOCK_STREAM | SOCK_CLOEXEC, 0)) ==
	    -1 || setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv) ==
	    -1 || setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof tv) ==
	    -1 || connect(fd, (const struct sockaddr *)&p->ss, p->sslen) ==
	    -1) {
		if (asprintf(cause, "connect to %s:%s: %s", p->host, p->port,
		    strerror(errno)) == -1)
			*cause = NULL;
		if (fd != -1)
			close(fd);
		return (-1);
	}
	errno = 0;
	reqlen = asprintf(&req, "%s %s HTTP/1.1\r\nHost: %s:%s\r\n"
	    "Connection: close\r\nContent-Type: application/json\r\n"
	    "Content-Length: %zu\r\n\r\n%s", method, path, p->host, p->port,
	    body != NULL ? strlen(body) : 0, body != NULL ? body : "");
	if (reqlen == -1)
		goto bad;
	for (off = 0; off < (size_t)reqlen; off += (size_t)n) {
		if ((n = write(fd, req + off, (size_t)reqlen - off)) <= 0)
			goto bad;
	}
	for (;;) {
		if (len + 4096 + 1 > cap) {
			cap = cap == 0 ? 16384 : cap * 2;
			if (cap > HTTP_MAX || (b = realloc(buf, cap)) == NULL)
				goto bad;
			buf = b;
		}
		if ((n = read(fd, buf + len, cap - len - 1)) < 0)
			goto bad;
		if (n == 0)
			break;
		len += (size_t)n;
	}
	if (buf == NULL || len < 12 || strncmp(buf, "HTTP/1.", 7) != 0)
		goto bad;
	buf[len] = '\0';
	*status = atoi(buf + 9);
	if ((b = strstr(buf, "\r\n\r\n")) == NULL)
		goto bad;
	memmove(buf, b + 4, len - (size_t)(b + 4 - buf) + 1);
	*resp = buf;
	free(req);
	close(fd);
	return (0);
bad:
	if (asprintf(cause, "%s %s on %s:%s: %s", method, path, p->host,
	    p->port, errno != 0 ? strerror(errno) : "bad response") == -1)
		*cause = NULL;
	free(req);
	free(buf);
	close(fd);
	return (-1);
}

/*
 * Registers user with password (an existing account with that password
 * is fine too) and logs in as device: acct gets user, device and token.
 */
int
http_account(const struct peer *p, const char *user, const char *password,
    const char *device, struct account *acct, char **cause)
{
	struct fields	 f;
	char		*body = NULL, *resp = NULL;
	int		 status;

	if (asprintf(&body, "{\"user\":\"%s\",\"password\":\"%s\"}", user,
	    password) == -1)
		return (-1);
	if (http_do(p, "POST", "/v1/register", body, &status, &resp,
	    cause) != 0)
		goto bad;
	if (status != 201 && status != 409) {
		if (asprintf(cause, "register %s: HTTP %d %s%s", user, status,
		    resp, status == 403 ? " (registration is closed: make "
		    "accounts with \"tickd-bench seed\" and pass -T)" : "") ==
		    -1)
			*cause = NULL;
		goto bad;
	}
	free(body);
	free(resp);
	resp = NULL;
	if (asprintf(&body, "{\"user\":\"%s\",\"password\":\"%s\","
	    "\"device\":\"%s\"}", user, password, device) == -1)
		return (-1);
	if (http_do(p, "POST", "/v1/login", body, &status, &resp, cause) != 0)
		goto bad;
	if (status != 200 || frame_fields(resp, strlen(resp), &f) != 0 ||
	    f.token == NULL || f.tokenlen > BENCH_TOKEN_MAX) {
		if (asprintf(cause, "login %s: HTTP %d %s", user, status,
		    resp) == -1)
			*cause = NULL;
		goto bad;
	}
	snprintf(acct->user, sizeof acct->user, "%s", user);
	snprintf(acct->device, sizeof acct->device, "%s", device);
	snprintf(acct->token, sizeof acct->token, "%.*s", (int)f.tokenlen,
	    f.token);
	free(body);
	free(resp);
	return (0);
bad:
	free(body);
	free(resp);
	return (-1);
}

/* The value of the unlabelled metric name on /metrics, into *v. */
int
http_metric(const struct peer *p, const char *name, double *v)
{
	char	*resp, *cause = NULL, *line;
	size_t	 n = strlen(name);
	int	 status;

	if (http_do(p, "GET", "/metrics", NULL, &status, &resp, &cause) !=
	    0) {
		free(cause);
		return (-1);
	}
	for (line = resp; line != NULL && *line != '\0'; ) {
		if (strncmp(line, name, n) == 0 && line[n] == ' ') {
			*v = strtod(line + n + 1, NULL);
			free(resp);
			return (0);
		}
		if ((line = strchr(line, '\n')) != NULL)
			line++;
	}
	free(resp);
	return (-1);
}
