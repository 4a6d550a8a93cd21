/* SPDX-License-Identifier: ISC */
/*
 * tickctl-cluster.c: how tickctl(8) shows the answers of tickctl cluster
 * status, nodes, outbox, forget and claim (tickd-cluster(7)).
 */
#include <sys/types.h>

#include <stdio.h>
#include <string.h>

#include "tickd.h"

/* A string member, or "-". */
static const char *
cstr(json_t *o, const char *key)
{
	const char	*s = json_string_value(json_object_get(o, key));

	return (s != NULL ? s : "-");
}

/* A number member, or 0. */
static unsigned long long
cnum(json_t *o, const char *key)
{
	return ((unsigned long long)json_integer_value(json_object_get(o,
	    key)));
}

/* cluster status. */
void
tickctl_show_cluster_status(json_t *r)
{
	printf("node:            %s (%s)\n", cstr(r, "node"), cstr(r, "url"));
	printf("redis:           %s:%llu, %s\n", cstr(r, "redis_host"),
	    cnum(r, "redis_port"), json_is_true(json_object_get(r,
	    "redis_up")) ? "up" : "unreachable");
	printf("epoch:           %s\n", cstr(r, "epoch"));
	printf("cursor:          %s\n", cstr(r, "cursor"));
	printf("outbox:          %llu records\n", cnum(r, "outbox"));
	printf("forwarded:       %llu entries\n", cnum(r, "forwarded"));
	printf("applied:         %llu records, %llu found applied already\n",
	    cnum(r, "applied"), cnum(r, "dedup_hits"));
	if (json_object_get(r, "slots_version") == NULL)
		return;
	if (json_is_integer(json_object_get(r, "slots_age")))
		printf("slot map:        version %llu, fetched %llu ms ago\n",
		    cnum(r, "slots_version"), cnum(r, "slots_age"));
	else
		printf("slot map:        none yet\n");
}

/* cluster nodes: one line each. */
void
tickctl_show_cluster_nodes(json_t *r)
{
	json_t	*n;
	size_t	 i;

	json_array_foreach(json_object_get(r, "nodes"), i, n) {
		printf("%-32s %-6s %s%s\n", cstr(n, "node"),
		    json_is_true(json_object_get(n, "alive")) ? "alive" :
		    "down", cstr(n, "url"), json_is_true(json_object_get(n,
		    "self")) ? " (this node)" : "");
	}
}

/* cluster outbox: the total, then per destination. */
void
tickctl_show_cluster_outbox(json_t *r)
{
	const char	*k;
	json_t		*v;

	printf("total:           %llu\n", cnum(r, "total"));
	json_object_foreach(json_object_get(r, "nodes"), k, v)
		printf("%-32s %llu\n", k,
		    (unsigned long long)json_integer_value(v));
}

/* cluster forget. */
void
tickctl_show_cluster_forget(json_t *r)
{
	printf("node %s forgotten\n", cstr(r, "forgotten"));
}

/* cluster claim. */
void
tickctl_show_cluster_claim(json_t *r)
{
	printf("%s claimed for node %s\n", cstr(r, "claimed"), cstr(r, "node"));
}
