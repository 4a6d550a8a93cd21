/* SPDX-License-Identifier: ISC */
/*
 * resp-multi.c: the RESP shim's transactions, MULTI, EXEC and DISCARD
 * (tickd-resp(7)), as Redis's multi.c.  The commands MULTI queues run one
 * after the other in the turn's batch at EXEC, so that they commit
 * together; WATCH is not offered.
 */
#include <stdlib.h>

#include "tickd.h"

/* Forgets MULTI's queued commands. */
void
resp_multi_clear(struct rclient *rc)
{
	int	i;

	for (i = 0; i < rc->nqueued; i++)
		resp_args_free(rc->queued[i].argv, rc->queued[i].argc);
	free(rc->queued);
	rc->queued = NULL;
	rc->nqueued = rc->queuedcap = 0;
	rc->queuedbytes = 0;
	rc->multi = rc->multi_dirty = 0;
}

/* MULTI: commands are queued until EXEC or DISCARD. */
void
resp_multi(struct rclient *rc, int argc, struct rarg *argv)
{
	(void)argc; (void)argv;
	if (rc->multi) {
		resp_add_errorf(rc, "MULTI calls can not be nested");
		return;
	}
	rc->multi = 1;
	resp_add_ok(rc);
}

/*
 * EXEC: the queued commands run one after the other in the turn's batch,
 * so that they commit together; the whole array of replies waits for the
 * commit, and fails as one if it fails.
 */
void
resp_multi_exec(struct rclient *rc, int argc, struct rarg *argv)
{
	struct rqueued	*q;
	int		 i, wrote = 0;

	(void)argc; (void)argv;
	if (!rc->multi) {
		resp_add_errorf(rc, "EXEC without MULTI");
		return;
	}
	if (rc->multi_dirty) {
		resp_add_errorf(rc, "-EXECABORT Transaction discarded because "
		    "of previous errors.");
		resp_multi_clear(rc);
		return;
	}
	rc->in_exec = 1;
	resp_add_array(rc, rc->nqueued);
	for (i = 0; i < rc->nqueued; i++) {
		q = &rc->queued[i];
		rc->wrote = 0;
		rc->cmd = q->cmd;
		metrics_resp_command();
		q->cmd->fn(rc, q->argc, q->argv);
		resp_rtxn_end(rc);
		wrote |= rc->wrote;
	}
	rc->wrote = wrote;
	rc->in_exec = 0;
	resp_multi_clear(rc);
}

/* DISCARD: the queued commands are forgotten. */
void
resp_multi_discard(struct rclient *rc, int argc, struct rarg *argv)
{
	(void)argc; (void)argv;
	if (!rc->multi) {
		resp_add_errorf(rc, "DISCARD without MULTI");
		return;
	}
	resp_multi_clear(rc);
	resp_add_ok(rc);
}

/* WATCH is not offered (tickd-resp(7) COMMANDS allows an error). */
void
resp_multi_watch(struct rclient *rc, int argc, struct rarg *argv)
{
	(void)argc; (void)argv;
	if (rc->multi) {
		resp_add_errorf(rc, "WATCH inside MULTI is not allowed");
		return;
	}
	resp_add_errorf(rc, "WATCH is not supported by tickd");
}

/* UNWATCH: nothing is watched, so nothing to forget. */
void
resp_multi_unwatch(struct rclient *rc, int argc, struct rarg *argv)
{
	(void)argc; (void)argv;
	resp_add_ok(rc);
}
