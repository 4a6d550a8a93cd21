/*
 * cluster-none.c: cluster.c's place in a tickd configured --without-hiredis.
 * Such a tickd is always a single node: cluster_redis in its configuration
 * is a start-up error (tickd.conf(5) Cluster).
 */
#include <sys/types.h>

#include <stdlib.h>

#include "tickd.h"

/* Refuses cluster_redis, which this build cannot serve. */
int
cluster_check(const struct conf *conf, char **cause)
{
	if (conf->cluster_redis == NULL)
		return (0);
	*cause = xstrdup("cluster_redis is set, but this tickd was built "
	    "without cluster support (configure --without-hiredis)");
	return (-1);
}
