/* SPDX-License-Identifier: ISC */
/*
 * http-parse.c: the HTTP/1.1 request head parser, kept apart from the
 * connection code so that it can be tested and fuzzed on its own.
 */
#include <sys/types.h>

#include <ctype.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "tickd.h"

/* Strips blanks from both ends of s, in place. */
static char *
trim(char *s)
{
	char	*e;

	while (*s == ' ' || *s == '\t')
		s++;
	e = s + strlen(s);
	while (e > s && (e[-1] == ' ' || e[-1] == '\t'))
		*--e = '\0';
	return (s);
}

/* Whether a comma-separated header value lists token (any case). */
static int
header_lists(const char *value, const char *token)
{
	char	*copy, *p, *item;
	int	 found = 0;

	copy = xstrdup(value);
	for (p = copy; (item = strsep(&p, ",")) != NULL;) {
		if (strcasecmp(trim(item), token) == 0)
			found = 1;
	}
	free(copy);
	return (found);
}

/*
 * Cuts the CR ending line; -1 if a CR stands anywhere else, which a proxy
 * might read as a line end where tickd does not (RFC 9112 section 2.2).
 */
static int
cut_cr(char *line)
{
	size_t	len = strlen(line);

	if (len != 0 && line[len - 1] == '\r')
		line[--len] = '\0';
	return (strchr(line, '\r') != NULL ? -1 : 0);
}

/* Whether name is a non-empty token, the only field name RFC 9110 allows. */
static int
valid_field_name(const char *name)
{
	static const char	 tchar[] = "!#$%&'*+-.^_`|~";

	if (*name == '\0')
		return (0);
	for (; *name != '\0'; name++) {
		if (!isalnum((unsigned char)*name) &&
		    strchr(tchar, *name) == NULL)
			return (0);
	}
	return (1);
}

/*
 * Parses the head in req->head; -1 on malformed input.  What a proxy in
 * front could read differently is malformed too, so that no request can be
 * smuggled past it: a NUL, a CR that ends no line, a blank or anything
 * else but a token before a colon, and obsolete line folding
 * (tickd(8) STANDARDS).
 */
int
http_parse_head(struct http_req *req)
{
	char		*line, *p = req->head, *name, *value, *end;
	const char	*version;
	unsigned long long n;

	if (memchr(req->head, '\0', req->head_len) != NULL)
		return (-1);
	line = strsep(&p, "\n");
	if (p == NULL || cut_cr(line) != 0)
		return (-1);
	req->method = strsep(&line, " ");
	req->path = strsep(&line, " ");
	version = line;
	if (req->path == NULL || version == NULL || *req->path != '/')
		return (-1);
	if (strcmp(version, "HTTP/1.1") == 0)
		req->http10 = 0;
	else if (strcmp(version, "HTTP/1.0") == 0)
		req->http10 = 1;
	else
		return (-1);
	if ((req->query = strchr(req->path, '?')) != NULL)
		*req->query++ = '\0';

	while ((line = strsep(&p, "\n")) != NULL) {
		if (cut_cr(line) != 0)
			return (-1);
		if (*line == '\0')
			break;
		if ((value = strchr(line, ':')) == NULL)
			return (-1);
		*value++ = '\0';
		name = line;
		if (!valid_field_name(name))
			return (-1);
		value = trim(value);
		if (strcasecmp(name, "Content-Length") == 0) {
			if (req->has_length || !isdigit((unsigned char)*value))
				return (-1);
			n = strtoull(value, &end, 10);
			if (*end != '\0' || n > SIZE_MAX / 2)
				return (-1);
			req->content_length = (size_t)n;
			req->has_length = 1;
		} else if (strcasecmp(name, "Transfer-Encoding") == 0)
			req->chunked = 1;
		else if (strcasecmp(name, "Connection") == 0) {
			if (header_lists(value, "close"))
				req->conn_close = 1;
			if (header_lists(value, "upgrade"))
				req->conn_upgrade = 1;
		} else if (strcasecmp(name, "Upgrade") == 0)
			req->upgrade_ws = header_lists(value, "websocket");
		else if (strcasecmp(name, "Sec-WebSocket-Key") == 0)
			req->ws_key = value;
		else if (strcasecmp(name, "Sec-WebSocket-Version") == 0)
			req->ws_version = value;
		else if (strcasecmp(name, "Sec-WebSocket-Protocol") == 0) {
			if (header_lists(value, "tick.v1"))
				req->ws_tick_v1 = 1;
			if (header_lists(value, "tick.v2"))
				req->ws_tick_v2 = 1;
		} else if (strcasecmp(name, "Content-Type") == 0)
			req->content_type = value;
		else if (strcasecmp(name, "Expect") == 0)
			req->expect_continue = strcasecmp(value,
			    "100-continue") == 0;
		else if (strcasecmp(name, "Range") == 0)
			req->range = value;
		else if (strcasecmp(name, "If-Range") == 0)
			req->if_range = value;
		else if (strcasecmp(name, "If-None-Match") == 0)
			req->if_none_match = value;
		else if (strcasecmp(name, "X-Forwarded-For") == 0) {
			req->fwd_twice |= req->xff != NULL;
			req->xff = value;
		} else if (strcasecmp(name, "Forwarded") == 0) {
			req->fwd_twice |= req->forwarded != NULL;
			req->forwarded = value;
		}
		else if (strcasecmp(name, "Authorization") == 0) {
			if (strncasecmp(value, "Bearer ", 7) != 0 ||
			    strlen(value + 7) > TOKEN_MAX)
				return (-1);
			strlcpy(req->bearer, trim(value + 7),
			    sizeof req->bearer);
		}
	}
	return (0);
}
