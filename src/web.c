/* SPDX-License-Identifier: ISC */
/*
 * web.c: the static files of web_root, for the web client
 * (tickd-protocol(7) WEB CLIENT, tickd.conf(5) web_root).
 *
 * A request path is percent-decoded, refused when it holds a NUL or a ".."
 * segment, resolved with realpath(3) and refused again when the result is
 * outside web_root, so a symbolic link may point anywhere inside the tree
 * but never out of it.  Files go out as libevent file segments (sendfile or
 * mmap), never read whole into the heap.
 */
#include <sys/types.h>
#include <sys/stat.h>

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <unistd.h>

#include <event2/buffer.h>
#include <event2/bufferevent.h>
#include <event2/event.h>

#include "tickd.h"

#define WEB_CSP		"default-src 'self'; img-src 'self' blob:; " \
			"media-src 'self' blob:; frame-ancestors 'none'"
#define WEB_ETAG_MAX	64

/* web_root as realpath(3) gave it at startup; empty: no web client. */
static char	web_root_real[PATH_MAX];

/* Content types by extension, tickd-protocol(7) WEB CLIENT. */
static const struct web_type {
	const char	*ext;
	const char	*type;
} web_types[] = {
	{ "html",	"text/html; charset=utf-8" },
	{ "js",		"text/javascript; charset=utf-8" },
	{ "mjs",	"text/javascript; charset=utf-8" },
	{ "css",	"text/css; charset=utf-8" },
	{ "json",	"application/json" },
	{ "svg",	"image/svg+xml" },
	{ "png",	"image/png" },
	{ "jpg",	"image/jpeg" },
	{ "webp",	"image/webp" },
	{ "ico",	"image/x-icon" },
	{ "wasm",	"application/wasm" },
	{ "woff2",	"font/woff2" },
	{ "txt",	"text/plain; charset=utf-8" },
};

/* Resolves web_root once, as the daemon's user; errors for the operator. */
int
web_init(char **cause)
{
	struct stat	st;

	web_root_real[0] = '\0';
	if (srv.conf.web_root == NULL)
		return (0);
	if (realpath(srv.conf.web_root, web_root_real) == NULL) {
		xasprintf(cause, "web_root %s: %s", srv.conf.web_root,
		    strerror(errno));
		web_root_real[0] = '\0';
		return (-1);
	}
	if (stat(web_root_real, &st) == -1 || !S_ISDIR(st.st_mode)) {
		xasprintf(cause, "web_root %s is not a directory",
		    srv.conf.web_root);
		web_root_real[0] = '\0';
		return (-1);
	}
	log_info("web: serving %s", web_root_real);
	return (0);
}

/* Whether a request for path goes to the web client rather than the API. */
int
web_handles(const char *path)
{
	return (strncmp(path, "/v1/", 4) != 0 &&
	    strcmp(path, "/healthz") != 0 && strcmp(path, "/metrics") != 0);
}

/* The value of one hex digit, or -1. */
static int
web_hex(char ch)
{
	if (ch >= '0' && ch <= '9')
		return (ch - '0');
	if (ch >= 'a' && ch <= 'f')
		return (ch - 'a' + 10);
	if (ch >= 'A' && ch <= 'F')
		return (ch - 'A' + 10);
	return (-1);
}

/*
 * Percent-decodes path into buf; -1 for a bad escape, a NUL, a ".."
 * segment or a path too long, all of which are refused as one.
 */
static int
web_decode(const char *path, char *buf, size_t size)
{
	const char	*p, *seg;
	size_t		 n = 0;
	int		 hi, lo;
	char		 ch;

	for (p = path; *p != '\0'; p++) {
		ch = *p;
		if (ch == '%') {
			if ((hi = web_hex(p[1])) == -1 ||
			    (lo = web_hex(p[2])) == -1)
				return (-1);
			ch = (char)(hi << 4 | lo);
			p += 2;
		}
		if (ch == '\0' || n + 1 >= size)
			return (-1);
		buf[n++] = ch;
	}
	buf[n] = '\0';
	for (seg = buf; *seg != '\0'; seg += strcspn(seg, "/")) {
		seg += strspn(seg, "/");
		if (strncmp(seg, "..", 2) == 0 &&
		    (seg[2] == '/' || seg[2] == '\0'))
			return (-1);
	}
	return (0);
}

/* The Content-Type for a file name, by its extension. */
static const char *
web_type(const char *name)
{
	const char	*slash, *dot;
	size_t		 i;

	slash = strrchr(name, '/');
	dot = strrchr(slash != NULL ? slash : name, '.');
	if (dot != NULL) {
		for (i = 0; i < sizeof web_types / sizeof web_types[0]; i++) {
			if (strcasecmp(dot + 1, web_types[i].ext) == 0)
				return (web_types[i].type);
		}
	}
	return ("application/octet-stream");
}

/* Whether an If-None-Match list names etag (or is "*"). */
static int
web_etag_listed(const char *list, const char *etag)
{
	const char	*p = list;
	size_t		 n, elen = strlen(etag);

	while (*p != '\0') {
		p += strspn(p, " \t,");
		if (*p == '\0')
			break;
		if (*p == '*')
			return (1);
		/* A weak validator matches too (RFC 9110, 13.1.2). */
		if (strncmp(p, "W/", 2) == 0)
			p += 2;
		n = strcspn(p, ",");
		while (n > 0 && (p[n - 1] == ' ' || p[n - 1] == '\t'))
			n--;
		if (n == elen && strncmp(p, etag, n) == 0)
			return (1);
		p += strcspn(p, ",");
	}
	return (0);
}

/*
 * Opens the regular file a decoded path names inside web_root; -1 (errno
 * kept) when it is missing, not a regular file, or resolves outside.
 */
static int
web_open(const char *decoded, struct stat *st)
{
	char	 full[PATH_MAX], real[PATH_MAX];
	size_t	 rootlen = strlen(web_root_real);
	int	 fd, n;

	n = snprintf(full, sizeof full, "%s%s%s", web_root_real, decoded,
	    decoded[strlen(decoded) - 1] == '/' ? "index.html" : "");
	if (n < 0 || (size_t)n >= sizeof full) {
		errno = ENAMETOOLONG;
		return (-1);
	}
	if (realpath(full, real) == NULL)
		return (-1);
	if (strncmp(real, web_root_real, rootlen) != 0 ||
	    (real[rootlen] != '/' && !(rootlen == 1 && real[0] == '/'))) {
		errno = EACCES;
		return (-1);
	}
	if ((fd = open(real, O_RDONLY | O_NOFOLLOW | O_CLOEXEC)) == -1)
		return (-1);
	if (fstat(fd, st) == -1 || !S_ISREG(st->st_mode)) {
		close(fd);
		errno = EISDIR;
		return (-1);
	}
	return (fd);
}

/* Writes an answer's head and, with fd not -1, size bytes of fd. */
static void
web_write(struct conn *c, const char *head, size_t len, int fd, off_t size)
{
	struct evbuffer	*out = bufferevent_get_output(conn_bev(c));

	if (evbuffer_add(out, head, len) != 0) {
		if (fd != -1)
			close(fd);
		conn_free_later(c);
		return;
	}
	if (fd == -1)
		return;
	/* evbuffer_add_file owns fd from here, failing or not. */
	if (evbuffer_add_file(out, fd, 0, size) != 0) {
		log_warnx("web: cannot queue a file for %s", c->addr);
		conn_free_later(c);
	}
}

/* An answer held until this turn's commit released the ones before it. */
struct web_later {
	struct conn	*c;
	char		*head;
	size_t		 len;
	int		 fd;
	off_t		 size;
};

/* Writes a held answer, then lets the connection read its next request. */
static void
web_later_cb(evutil_socket_t unused, short events, void *arg)
{
	struct web_later	*w = arg;

	(void)unused; (void)events;
	if (!w->c->dead) {
		web_write(w->c, w->head, w->len, w->fd, w->size);
		http_resume(w->c);
	} else if (w->fd != -1)
		close(w->fd);
	conn_unref(w->c);
	free(w->head);
	free(w);
}

/*
 * Sends the answer for an open file, typed by name, the decoded request
 * path: 200 (body unless HEAD) or 304.  When an earlier answer on the same
 * connection still waits for this turn's commit, the file waits for the
 * next turn: a timer, since libevent would run a zero timeout within this
 * turn, before the commit.
 */
static void
web_reply(struct conn *c, struct http_req *req, const char *name, int fd,
    struct stat *st)
{
	struct web_later	*w;
	struct timeval		 next_turn = { 0, 1 };
	char			 etag[WEB_ETAG_MAX], length[64];
	char			*head;
	int			 len, notmod;

	snprintf(etag, sizeof etag, "\"%llx-%llx-%llx\"",
	    (unsigned long long)st->st_ino, (unsigned long long)st->st_size,
	    (unsigned long long)st->st_mtim.tv_sec * 1000000000ULL +
	    (unsigned long long)st->st_mtim.tv_nsec);
	notmod = req->if_none_match != NULL &&
	    web_etag_listed(req->if_none_match, etag);
	snprintf(length, sizeof length, "Content-Length: %lld\r\n",
	    (long long)st->st_size);
	len = xasprintf(&head, "HTTP/1.1 %s\r\n"
	    "Content-Type: %s\r\n"
	    "%s"
	    "ETag: %s\r\n"
	    "Cache-Control: no-cache\r\n"
	    "X-Content-Type-Options: nosniff\r\n"
	    "Content-Security-Policy: " WEB_CSP "\r\n"
	    "Referrer-Policy: no-referrer\r\n"
	    "Connection: %s\r\n\r\n",
	    notmod ? "304 Not Modified" : "200 OK",
	    web_type(name[strlen(name) - 1] == '/' ? "index.html" : name),
	    notmod ? "" : length, etag,
	    c->keepalive ? "keep-alive" : "close");
	if (notmod || strcmp(req->method, "HEAD") == 0 || st->st_size == 0) {
		close(fd);
		fd = -1;
	}
	if (c->ndeferred == 0) {
		web_write(c, head, (size_t)len, fd, st->st_size);
		free(head);
		return;
	}
	w = xcalloc(1, sizeof *w);
	w->c = c;
	w->head = head;
	w->len = (size_t)len;
	w->fd = fd;
	w->size = st->st_size;
	if (event_base_once(srv.base, -1, EV_TIMEOUT, web_later_cb, w,
	    &next_turn) != 0) {
		if (fd != -1)
			close(fd);
		free(head);
		free(w);
		http_error(c, 503, TE_UNAVAILABLE, "out of resources");
		return;
	}
	c->busy = 1;
	conn_ref(c);
}

/* An error answer; after HEAD its body would be taken for the next answer. */
static void
web_refuse(struct conn *c, struct http_req *req, int status, const char *text)
{
	if (strcmp(req->method, "HEAD") == 0)
		c->keepalive = 0;
	http_error(c, status, TE_BAD_REQUEST, text);
}

/*
 * GET or HEAD of a path outside the API; every refusal is "404
 * bad_request", so that a probe learns nothing about the file system.
 */
void
web_serve(struct conn *c, struct http_req *req)
{
	struct stat	 st;
	char		 decoded[PATH_MAX];
	int		 fd;

	if (web_root_real[0] == '\0')
		web_refuse(c, req, 404, "no such endpoint");
	else if (strcmp(req->method, "GET") != 0 &&
	    strcmp(req->method, "HEAD") != 0)
		web_refuse(c, req, 405, "method not allowed");
	else if (web_decode(req->path, decoded, sizeof decoded) != 0 ||
	    (fd = web_open(decoded, &st)) == -1)
		web_refuse(c, req, 404, "no such file");
	else
		web_reply(c, req, decoded, fd, &st);
}
