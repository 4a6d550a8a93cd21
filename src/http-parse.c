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

/* Parses the head in req->head; -1 on malformed input. */
int
http_parse_head(struct http_req *req)
{
	char		*line, *p = req->head, *name, *value, *end;
	const char	*version;
	unsigned long long n;

	line = strsep(&p, "\n");
	if (p == NULL)
		return (-1);
	line[strcspn(line, "\r")] = '\0';
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
		line[strcspn(line, "\r")] = '\0';
		if (*line == '\0')
			break;
		if ((value = strchr(line, ':')) == NULL)
			return (-1);
		*value++ = '\0';
		name = line;
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
		} else if (strcasecmp(name, "If-None-Match") == 0)
			req->if_none_match = value;
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
