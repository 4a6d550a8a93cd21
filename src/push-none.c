/* SPDX-License-Identifier: ISC */
/*
 * push-none.c: push-http.c's place in a tickd configured --without-push (no
 * libcurl).  Push is never on (push_enabled), so every push_register is
 * answered push_rejected, nothing is ever posted, and /v1/info says push false
 * (tickd-protocol(7) PUSH NOTIFICATIONS).  Endpoints and notifications a build
 * with push left in the store stay there, untouched.
 */
#include <sys/types.h>

#include <stdlib.h>

#include "tickd.h"

/* Says once that push keys are set in a tickd that cannot push. */
int
push_http_init(char **cause)
{
	(void)cause;
	if (srv.conf.push_allow_hosts != NULL)
		log_warnx("push: push_allow_hosts is set, but this tickd was "
		    "built without push (configure --without-push): every "
		    "push_register is refused");
	return (0);
}

/* Nothing is under way. */
void
push_http_shutdown(void)
{
}

/* No VAPID key to read. */
void
push_http_reload(json_t *report)
{
	(void)report;
}

/* No outcome to settle. */
void
push_http_commit(void)
{
}

/* Unreachable, push_register_parse refuses first: no check can start. */
int
push_http_check(struct conn *c, json_t *ref, const struct push_ep *ep)
{
	(void)c; (void)ref; (void)ep;
	return (-1);
}

/* No scheduler to wake. */
void
push_kick(uint64_t when)
{
	(void)when;
}

/* No notification becomes pending. */
void
push_sent(struct txn *txn, const char *from, const struct send_res *res)
{
	(void)txn; (void)from; (void)res;
}

/* No POST was ever made. */
void
push_http_stats(uint64_t *ok, uint64_t *retry, uint64_t *gone,
    uint64_t *dropped)
{
	*ok = *retry = *gone = *dropped = 0;
}
