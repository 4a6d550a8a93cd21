/* SPDX-License-Identifier: ISC */
/*
 * ws.c: WebSocket connections, framed by wslay: authentication, the
 * auth and ping timers, output bounds, and the pump that frames what
 * queue_pending hands it from a device's queue.
 */
#include <sys/types.h>

#include <stdlib.h>
#include <string.h>

#include <event2/buffer.h>
#include <event2/bufferevent.h>
#include <event2/event.h>

#include <wslay/wslay.h>

#include "tickd.h"

static void	ws_io(struct conn *);
static void	ws_read_cb(struct bufferevent *, void *);
static void	ws_write_cb(struct bufferevent *, void *);
static void	ws_event_cb(struct bufferevent *, short, void *);
static void	ws_timer_cb(evutil_socket_t, short, void *);

/*
 * A plain WebSocket with nothing read or written in part parks: it gives
 * up its bufferevent and the bufferevent's two evbuffers (about 900
 * bytes; bench/README, "Idle connections"), and its one timer event
 * watches the socket too.  It parks when its output drains, unless it
 * was made again less than this long ago, or when its timer finds it
 * quiet this long after: a busy connection makes and frees a bufferevent
 * at most about once a period.
 */
#define WS_PARK_MS	1000

/*
 * Follows the frame headers in the bytes handed to wslay, which tells of
 * a frame only once its payload begins: a data frame announcing more than
 * max_frame_bytes is refused with 1009 as soon as its header is in, not
 * when a payload arrives, which may be never (tickd-protocol(7) FRAMES).
 * It also tells ws_idle() whether wslay holds part of a frame or message.
 */
static void
ws_track(struct conn *c, const uint8_t *p, size_t n)
{
	size_t		need, k;
	uint64_t	len;
	uint8_t		l7;

	while (n > 0) {
		if (c->fpayload_left > 0) {
			k = n < c->fpayload_left ? n : (size_t)c->fpayload_left;
			c->fpayload_left -= k;
			p += k;
			n -= k;
			continue;
		}
		c->fhead[c->fhead_len++] = *p++;
		n--;
		if (c->fhead_len < 2)
			continue;
		l7 = c->fhead[1] & 0x7f;
		need = 2 + (l7 == 126 ? 2 : l7 == 127 ? 8 : 0) +
		    ((c->fhead[1] & 0x80) ? 4 : 0);
		if (c->fhead_len < need)
			continue;
		len = l7;
		if (l7 >= 126) {
			len = 0;
			for (k = 2; k < (l7 == 126 ? 4u : 10u); k++)
				len = len << 8 | c->fhead[k];
		}
		/* A data frame without FIN leaves a message half read. */
		if (!(c->fhead[0] & 0x08)) {
			if (len > srv.conf.max_frame_bytes)
				c->frame_too_big = 1;
			c->frag = !(c->fhead[0] & 0x80);
		}
		c->fpayload_left = len;
		c->fhead_len = 0;
	}
}

/*
 * wslay's read: bytes from the connection's input, each one seen by ws_track()
 * first.
 */
static ssize_t
ws_recv_cb(wslay_event_context_ptr ctx, uint8_t *buf, size_t len, int flags,
    void *arg)
{
	struct conn	*c = arg;
	int		 n;

	(void)flags;
	n = evbuffer_remove(bufferevent_get_input(conn_bev(c)), buf, len);
	if (n <= 0) {
		wslay_event_set_error(ctx, WSLAY_ERR_WOULDBLOCK);
		return (-1);
	}
	ws_track(c, buf, (size_t)n);
	return (n);
}

/* wslay's write: frames go to the connection's output buffer. */
static ssize_t
ws_send_cb(wslay_event_context_ptr ctx, const uint8_t *data, size_t len,
    int flags, void *arg)
{
	struct conn	*c = arg;

	(void)flags;
	if (evbuffer_add(bufferevent_get_output(conn_bev(c)), data,
	    len) != 0) {
		wslay_event_set_error(ctx, WSLAY_ERR_CALLBACK_FAILURE);
		return (-1);
	}
	return ((ssize_t)len);
}

/*
 * A whole message: text goes to proto_dispatch(), binary is refused with 1003,
 * a pong resets the ping clock.
 */
static void
ws_msg_cb(wslay_event_context_ptr ctx, const struct wslay_event_on_msg_recv_arg
    *arg, void *user)
{
	struct conn	*c = user;

	(void)ctx;
	if (c->closing || c->dead || c->close_deferred)
		return;
	switch (arg->opcode) {
	case WSLAY_TEXT_FRAME:
		/* wslay has checked UTF-8 already and closes with 1007. */
		proto_dispatch(c, arg->msg, arg->msg_length);
		break;
	case WSLAY_BINARY_FRAME:
		ws_close(c, 1003, "binary frames are not accepted");
		break;
	case WSLAY_PONG:
		c->ping_out = 0;
		c->ping_recheck = 0;
		break;
	default:
		/* Pings are answered and closes echoed by wslay itself. */
		break;
	}
}

/* A frame began: it must be complete within handshake_timeout. */
static void
ws_frame_start_cb(wslay_event_context_ptr ctx,
    const struct wslay_event_on_frame_recv_start_arg *arg, void *user)
{
	struct conn	*c = user;

	(void)ctx; (void)arg;
	c->frame_start = now_ms();
	/* The armed deadline is usually earlier already: no timer churn. */
	if (c->frame_start + srv.conf.handshake_timeout < c->timer_at)
		ws_timer_reset(c);
}

/* A frame is complete: its handshake_timeout deadline no longer applies. */
static void
ws_frame_end_cb(wslay_event_context_ptr ctx, void *user)
{
	struct conn	*c = user;

	(void)ctx;
	c->frame_start = 0;
}

static const struct wslay_event_callbacks ws_callbacks = {
	.recv_callback = ws_recv_cb,
	.send_callback = ws_send_cb,
	.on_frame_recv_start_callback = ws_frame_start_cb,
	.on_frame_recv_end_callback = ws_frame_end_cb,
	.on_msg_recv_callback = ws_msg_cb,
};

/*
 * The wslay context, made when input comes or a close goes out and freed
 * by ws_idle() between frames: an idle connection holds none of its two
 * 4 KiB frame buffers.
 */
static wslay_event_context_ptr
ws_ctx(struct conn *c)
{
	wslay_event_context_ptr	ctx;

	if (c->ws != NULL)
		return (c->ws);
	if (wslay_event_context_server_init(&ctx, &ws_callbacks, c) != 0)
		return (NULL);
	wslay_event_config_set_max_recv_msg_length(ctx,
	    srv.conf.max_frame_bytes);
	c->ws = ctx;
	return (ctx);
}

/*
 * Frees the wslay context once it holds nothing a new one would lack: no
 * frame or fragmented message half read (ws_track), all input read,
 * nothing queued to send, no close either way.  Between messages wslay
 * keeps no other state.
 */
static void
ws_idle(struct conn *c)
{
	if (c->ws == NULL || c->dead || c->closing || c->close_deferred ||
	    c->fhead_len != 0 || c->fpayload_left != 0 || c->frag ||
	    c->frame_too_big ||
	    evbuffer_get_length(bufferevent_get_input(conn_bev(c))) != 0 ||
	    !wslay_event_get_read_enabled(c->ws) ||
	    !wslay_event_get_write_enabled(c->ws) ||
	    wslay_event_want_write(c->ws) ||
	    wslay_event_get_close_received(c->ws) ||
	    wslay_event_get_close_sent(c->ws))
		return;
	wslay_event_context_free(c->ws);
	c->ws = NULL;
}

/*
 * Appends one unmasked frame of a server: wslay need not be there, and
 * sends only whole frames (ws_send_cb never blocks), so frames never mix.
 */
static int
ws_frame(struct conn *c, uint8_t opcode, const void *data, size_t len)
{
	struct evbuffer	*out = bufferevent_get_output(conn_bev(c));
	uint8_t		 h[10];
	size_t		 n, i;

	h[0] = 0x80 | opcode;
	if (len < 126) {
		h[1] = (uint8_t)len;
		n = 2;
	} else if (len <= 0xffff) {
		h[1] = 126;
		h[2] = (uint8_t)(len >> 8);
		h[3] = (uint8_t)len;
		n = 4;
	} else {
		h[1] = 127;
		for (i = 0; i < 8; i++)
			h[2 + i] = (uint8_t)((uint64_t)len >> (56 - 8 * i));
		n = 10;
	}
	if (evbuffer_add(out, h, n) != 0 || buf_add(out, data, len) != 0)
		return (-1);
	return (0);
}

/* Sends a text frame now; a connection over max_output_bytes is dropped. */
void
ws_send(struct conn *c, const char *data, size_t len)
{
	if (c->dead || c->closing || !c->is_ws)
		return;
	/* As wslay refuses a message after its close. */
	if ((c->ws != NULL && wslay_event_get_close_sent(c->ws)) ||
	    ws_frame(c, WSLAY_TEXT_FRAME, data, len) != 0) {
		conn_free_later(c);
		return;
	}
	if (evbuffer_get_length(bufferevent_get_output(conn_bev(c))) >
	    srv.conf.max_output_bytes) {
		log_info("ws: %s (%s:%s) is not reading; closed at "
		    "max_output_bytes", c->addr, c->user, c->device);
		conn_free_later(c);
	}
}

/* Sends obj as a text frame, after the commit if this turn has writes. */
void
ws_send_json(struct conn *c, json_t *obj)
{
	char	*text;

	if ((text = json_dumps(obj, JSON_COMPACT)) == NULL) {
		log_warnx("ws: cannot encode a frame for %s", c->addr);
		return;
	}
	if (conn_must_defer())
		batch_defer(c, text, strlen(text), NULL, 0);
	else {
		ws_send(c, text, strlen(text));
		free(text);
	}
}

/* {"op":"error","code",...} echoing ref and, for a send, id. */
void
ws_send_error(struct conn *c, enum tick_err code, const char *message,
    json_t *ref, json_t *id)
{
	json_t	*obj;

	metrics_ws_error(code);
	obj = json_pack("{s:s,s:s}", "op", "error", "code", err_code(code));
	if (message != NULL)
		json_object_set_new(obj, "message", json_string(message));
	if (ref != NULL)
		json_object_set(obj, "ref", ref);
	if (id != NULL)
		json_object_set(obj, "id", id);
	ws_send_json(c, obj);
	json_decref(obj);
}

/* Starts the closing handshake with code; the connection goes after it. */
void
ws_close(struct conn *c, uint16_t code, const char *reason)
{
	if (c->dead || c->closing)
		return;
	if (!c->close_deferred)	/* counted when first asked for */
		metrics_ws_close(code);
	audit_closing(c, code, reason);
	if (conn_must_defer()) {
		if (c->close_deferred)
			return;
		/* Frames already read after this one are not served. */
		c->close_deferred = 1;
		conn_defer_close(c, code);
		return;
	}
	log_debug("ws: closing %s with %u%s%s", c->addr, code,
	    reason != NULL ? ": " : "", reason != NULL ? reason : "");
	if (ws_ctx(c) == NULL || wslay_event_queue_close(c->ws, code,
	    (const uint8_t *)reason, reason != NULL ? strlen(reason) : 0) != 0 ||
	    wslay_event_send(c->ws) != 0) {
		conn_free_later(c);
		return;
	}
	conn_close_after_output(c);
}

/*
 * Whether c may park: plain, its wslay context freed (ws_idle: nothing
 * half read), nothing in either evbuffer, nothing waiting for a commit,
 * no kdf job, not closing.
 */
static int
ws_parkable(struct conn *c)
{
	/* TLS keeps its bufferevent: the SSL state lives in it. */
	return (!c->parked && !c->tls && c->ws == NULL && !c->dead &&
	    !c->closing && !c->close_deferred && c->ndeferred == 0 &&
	    c->refs == 0 && !c->pump_stalled && c->frame_start == 0 &&
	    c->fhead_len == 0 && c->fpayload_left == 0 && !c->frag &&
	    evbuffer_get_length(bufferevent_get_input(c->bev)) == 0 &&
	    evbuffer_get_length(bufferevent_get_output(c->bev)) == 0);
}

/*
 * Frees c's bufferevent but not its socket, which c's timer watches for
 * input or an end of file from now on (ws_timer_cb).
 */
static void
ws_park(struct conn *c)
{
	evutil_socket_t	fd = bufferevent_getfd(c->bev);

	/* Without its descriptor, freeing the bufferevent closes none. */
	if (fd < 0 || bufferevent_setfd(c->bev, -1) != 0)
		return;
	bufferevent_free(c->bev);
	c->bev = NULL;
	c->parked = 1;
	c->park_at = 0;
	evtimer_del(c->timer);
	event_assign(c->timer, srv.base, fd, EV_READ, ws_timer_cb, c);
	ws_timer_reset(c);
}

/*
 * c's bufferevent, made again on its socket if c is parked, with the
 * callbacks and settings ws_upgraded gave the first: every use of a
 * connection's bufferevent goes through here.  Like xmalloc, tickd stops
 * if it cannot have the memory.
 */
struct bufferevent *
conn_bev(struct conn *c)
{
	evutil_socket_t	fd;

	if (!c->parked)
		return (c->bev);
	fd = event_get_fd(c->timer);
	if ((c->bev = bufferevent_socket_new(srv.base, fd,
	    BEV_OPT_CLOSE_ON_FREE)) == NULL)
		fatalx("ws: cannot make a bufferevent again");
	c->parked = 0;
	bufferevent_setcb(c->bev, ws_read_cb, ws_write_cb, ws_event_cb, c);
	if (bufferevent_enable(c->bev, EV_READ | EV_WRITE) != 0)
		fatalx("ws: cannot enable a bufferevent");
	evtimer_del(c->timer);
	evtimer_assign(c->timer, srv.base, ws_timer_cb, c);
	c->park_at = now_ms() + WS_PARK_MS;
	ws_timer_reset(c);
	return (c->bev);
}

/* Closes the socket of a parked connection, as it is freed. */
void
ws_parked_free(struct conn *c)
{
	if (!c->parked)
		return;
	evtimer_del(c->timer);
	evutil_closesocket(event_get_fd(c->timer));
	c->parked = 0;
}

/* Arms c's one timer to fire in ms milliseconds. */
static void
ws_timer_arm(struct conn *c, uint64_t ms)
{
	struct timeval	tv;

	tv.tv_sec = (time_t)(ms / 1000);
	tv.tv_usec = (suseconds_t)(ms % 1000) * 1000;
	evtimer_add(c->timer, &tv);
}

/*
 * One timer per connection serves three deadlines: authentication before
 * it, then the ping clock, and the end of a frame that has begun, whichever
 * comes first.  A connection that sent no pong for two intervals is dead,
 * so a vanished peer is gone within three; a frame trickling in slower
 * than handshake_timeout is a slowloris.
 */
static void
ws_timer_cb(evutil_socket_t fd, short events, void *arg)
{
	struct conn		*c = arg;
	uint64_t		 now = now_ms();

	(void)fd;
	if (c->dead || c->closing)
		return;
	/*
	 * Parked: bytes or an end of file wait in the socket for the
	 * bufferevent, which reads them as it would have.
	 */
	if (events & EV_READ) {
		(void)conn_bev(c);
		return;
	}
	if (c->frame_start != 0 &&
	    now - c->frame_start >= srv.conf.handshake_timeout) {
		ws_close(c, 1008, "frame not completed in time");
		return;
	}
	if (!c->authed) {
		if (now - c->accepted >= srv.conf.auth_timeout) {
			ws_close(c, 1008, "authentication timeout");
			return;
		}
	} else if (now >= c->next_ping) {
		if (c->ping_out != 0 &&
		    now - c->ping_out >= 2 * srv.conf.ping_interval) {
			/*
			 * After a stall of tickd's own, the pong may wait
			 * unread: the turn that follows reads it first.
			 */
			if (!c->ping_recheck) {
				c->ping_recheck = 1;
				evtimer_del(c->timer);
				ws_timer_arm(c, 0);
				return;
			}
			log_info("ws: %s (%s:%s) answered no ping; closed",
			    c->addr, c->user, c->device);
			ws_close(c, 1008, "ping timeout");
			return;
		}
		if (ws_frame(c, WSLAY_PING, NULL, 0) != 0) {
			conn_free_later(c);
			return;
		}
		if (c->ping_out == 0)
			c->ping_out = now;
		c->next_ping = now + srv.conf.ping_interval;
	}
	if (c->park_at != 0 && now >= c->park_at) {
		c->park_at = 0;
		if (ws_parkable(c))
			ws_park(c);
		else
			c->park_at = now + WS_PARK_MS;
	}
	ws_timer_reset(c);
}

/* Arms the timer for the nearest of c's deadlines. */
void
ws_timer_reset(struct conn *c)
{
	uint64_t	now = now_ms(), when;

	when = c->authed ? c->next_ping : c->accepted + srv.conf.auth_timeout;
	if (c->frame_start != 0 &&
	    c->frame_start + srv.conf.handshake_timeout < when)
		when = c->frame_start + srv.conf.handshake_timeout;
	if (c->park_at != 0 && c->park_at < when)
		when = c->park_at;
	evtimer_del(c->timer);
	c->timer_at = when;
	ws_timer_arm(c, when > now ? when - now : 0);
}

/*
 * Reads every complete frame, then flushes what wslay queued.  Replies to
 * control frames count against max_output_bytes like any other: a
 * connection past it is closed, as ws_send does for text frames.  The
 * wslay context is made for the input and freed after it when idle.
 */
static void
ws_io(struct conn *c)
{
	if (c->dead || c->closing)
		return;
	if (c->ws == NULL && (c->parked ||
	    evbuffer_get_length(bufferevent_get_input(c->bev)) == 0))
		return;
	if (ws_ctx(c) == NULL || wslay_event_recv(c->ws) != 0 ||
	    wslay_event_send(c->ws) != 0) {
		conn_free_later(c);
		return;
	}
	if (c->dead || c->closing)
		return;
	/* wslay closes with 1009 itself once the payload is in. */
	if (c->frame_too_big && !wslay_event_get_close_sent(c->ws)) {
		ws_close(c, 1009, "frame exceeds max_frame_bytes");
		return;
	}
	if (evbuffer_get_length(bufferevent_get_output(conn_bev(c))) >
	    srv.conf.max_output_bytes) {
		log_info("ws: %s (%s:%s) is not reading; closed at "
		    "max_output_bytes", c->addr, c->user, c->device);
		conn_free_later(c);
		return;
	}
	if (!c->closing && !c->dead && !wslay_event_want_read(c->ws) &&
	    !wslay_event_want_write(c->ws)) {
		audit_closing(c, wslay_event_get_status_code_received(c->ws),
		    "peer closed");
		conn_close_after_output(c);
		return;
	}
	ws_idle(c);
}

/* Input arrived: wslay reads and writes what it can. */
static void
ws_read_cb(struct bufferevent *bev, void *arg)
{
	(void)bev;
	ws_io(arg);
}

/*
 * The output drained: a stalled pump resumes, and a closing connection may
 * finish.
 */
static void
ws_write_cb(struct bufferevent *bev, void *arg)
{
	struct conn	*c = arg;

	(void)bev;
	if (c->pump_stalled) {
		c->pump_stalled = 0;
		pump_later(c);
	}
	conn_check_closing(c);
	if (c->park_at != 0 && now_ms() < c->park_at)
		return;
	if (ws_parkable(c))
		ws_park(c);
	else if (c->park_at == 0 && c->ndeferred == 0 && !c->tls &&
	    !c->dead && !c->closing) {
		/*
		 * Output waiting for a commit drains here again; input half
		 * read or a kdf job may not: its timer looks again.
		 */
		c->park_at = now_ms() + WS_PARK_MS;
		ws_timer_reset(c);
	}
}

/*
 * End of file or an error: audited as a close, and the connection freed once
 * unused.
 */
static void
ws_event_cb(struct bufferevent *bev, short what, void *arg)
{
	(void)bev;
	/* A TLS handshake that completed is not an end. */
	if (what & BEV_EVENT_CONNECTED)
		return;
	audit_closing(arg, 0, what & BEV_EVENT_EOF ? "peer closed" :
	    "network error");
	conn_free_later(arg);
}

/*
 * The 101 has been queued: from here on c speaks WebSocket, its wslay
 * context made when frames come.
 */
void
ws_upgraded(struct conn *c, const char *token)
{
	bufferevent_setcb(c->bev, ws_read_cb, ws_write_cb, ws_event_cb, c);
	bufferevent_setwatermark(c->bev, EV_READ, 0, 0);
	evtimer_assign(c->timer, srv.base, ws_timer_cb, c);
	c->accepted = now_ms();
	ws_timer_reset(c);
	if (token != NULL && proto_auth(c, token) != 0)
		return;
	ws_io(c);
}

/* Frees c's wslay context, as the connection goes. */
void
ws_free(struct conn *c)
{
	if (c->ws != NULL)
		wslay_event_context_free(c->ws);
	c->ws = NULL;
}

/*
 * The token was good: c comes online as its device (conn_online, which
 * closes an older connection of it with 4000).  "ready" goes out with the
 * commit that records the connect, and the queue replay follows it from
 * the pump.
 */
void
ws_authenticated(struct conn *c, const struct token_rec *tok)
{
	json_t		*obj;
	uint64_t	 now = now_ms();

	c->ping_out = 0;
	c->next_ping = now + srv.conf.ping_interval;
	memset(&c->cursor, 0, sizeof c->cursor);
	c->inflight = 0;
	conn_online(c, tok, now);
	ws_timer_reset(c);
	obj = json_pack("{s:s,s:s,s:s,s:I}", "op", "ready", "user", c->user,
	    "device", c->device, "time", (json_int_t)now);
	ws_send_json(c, obj);
	json_decref(obj);
	log_debug("ws: %s authenticated as %s:%s", c->addr, c->user,
	    c->device);
	pump_later(c);
}

/*
 * queue_pending's callback: one item as a text frame.  Flow control: the
 * replay of a long queue waits for the socket instead of filling memory,
 * counting what waits for a commit's sync as sent, and ws_write_cb
 * resumes it once drained.
 */
static int
ws_pump_item(void *arg, const struct mid *mid, const struct item *item)
{
	struct conn	*c = arg;

	if ((c->parked ? 0 :
	    evbuffer_get_length(bufferevent_get_output(c->bev))) +
	    c->deferred_bytes >= srv.conf.max_output_bytes / 2) {
		c->pump_stalled = 1;
		return (STORE_WALK_STOP);
	}
	/* While the commit's sync runs, as replies do (tickd(8), COMMITS). */
	if (conn_must_defer())
		batch_defer(c, xstrndup(item->data, item->len), item->len,
		    NULL, 0);
	else
		ws_send(c, item->data, item->len);
	if (c->dead)
		return (STORE_WALK_STOP);
	srv.stats.delivered++;
	metrics_delivered(mid->ms);
	return (STORE_WALK_NEXT);
}

/* Pushes queued items after the cursor until the window is full. */
void
ws_pump(struct conn *c)
{
	struct txn	txn;

	/* A full window needs no read transaction. */
	if (!c->authed || c->closing || c->dead ||
	    c->inflight >= srv.conf.window)
		return;
	if (store_txn_begin(srv.store, &txn, 0) != STORE_OK) {
		log_warnx("ws: cannot read the queue of %s:%s", c->user,
		    c->device);
		return;
	}
	if (queue_pending(&txn, &srv.conf, c->qid, now_ms(), &c->cursor,
	    &c->inflight, ws_pump_item, c) != STORE_OK)
		log_warnx("ws: cannot read the queue of %s:%s", c->user,
		    c->device);
	store_txn_abort(&txn);
}
