/*
 * cluster.c: this node's link to the Redis shared by the nodes of a cluster
 * (tickd-cluster(7)), through hiredis's asynchronous API on the event loop.
 */
#include <sys/types.h>

#include <stdlib.h>
#include <string.h>

#include <hiredis/hiredis.h>

#include "tickd.h"

/*
 * What this build can serve (tickd.conf(5) Cluster): one standalone Redis
 * over plain TCP.  Debian 12's hiredis 0.14 has no TLS, so rediss:// is
 * refused; several URLs (a Redis Cluster) are refused too.
 */
int
cluster_check(const struct conf *conf, char **cause)
{
	const char	*v = conf->cluster_redis;
	size_t		 len;

	if (v == NULL)
		return (0);
	v += strspn(v, " \t");
	len = strcspn(v, " \t");
	if (strncmp(v, "rediss://", 9) == 0) {
		*cause = xstrdup("cluster_redis: rediss:// is not supported: "
		    "this tickd's hiredis library has no TLS");
		return (-1);
	}
	if (v[len + strspn(v + len, " \t")] != '\0') {
		*cause = xstrdup("cluster_redis: several URLs (Redis Cluster "
		    "seeds) are not supported yet: name one standalone Redis");
		return (-1);
	}
	return (0);
}
