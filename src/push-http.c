/* SPDX-License-Identifier: ISC */
/*
 * push-http.c: the outgoing HTTP of push (tickd-protocol(7) PUSH
 * NOTIFICATIONS), libcurl's multi_socket API driven by the event loop: no
 * thread per request and no blocking call.  Every request has push_timeout, a
 * bounded answer, no redirects, and connects only to an address that passed
 * rule 2, checked when its socket is opened and again before each request on
 * it.
 *
 * Pending notifications live in the store (store-push.c); a timer walks
 * them and POSTs those that are due.  An outcome is written in the batch
 * of the turn it arrives in; a notification whose POST was under way when
 * tickd died is still pending and is sent once more after a restart.
 */
#include <sys/types.h>
#include <sys/queue.h>
#include <sys/socket.h>
#include <netinet/in.h>
#include <arpa/inet.h>

#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <curl/curl.h>
#include <event2/event.h>
#include <openssl/evp.h>

#include "tickd.h"

#define ANSWER_MAX	4096	/* bytes of an answer kept, or read */

/* One request under way: an endpoint check or a POST. */
struct preq {
	TAILQ_ENTRY(preq)	 entry;
	CURL			*easy;
	int			 check;		/* a push_register check */
	struct conn		*c;		/* check: who asked */
	json_t			*ref;
	struct push_ep		*ep;
	char			 user[NAME_USER_MAX + 1];
	char			 device[NAME_DEVICE_MAX + 1];
	uint64_t		 created;	/* the note's, for POSTs */
	int			 plain;		/* sent without content */
	char			*body;
	size_t			 blen;
	struct curl_slist	*hdrs;
	char			 answer[ANSWER_MAX + 1];
	size_t			 alen;
	int			 refused;	/* address not public */
	char			 errbuf[CURL_ERROR_SIZE];
};

/* A socket curl asked us to watch. */
struct psock {
	struct event	*ev;
};

static CURLM			*multi;
static struct event		*ev_curl;	/* curl's timeout */
static struct event		*ev_sched;	/* the next due notification */
static uint64_t			 sched_at;	/* ev_sched's time, 0: none */
static TAILQ_HEAD(, preq)	 reqs = TAILQ_HEAD_INITIALIZER(reqs);
/* POSTs whose outcome waits for this turn's commit. */
static TAILQ_HEAD(, preq)	 settling = TAILQ_HEAD_INITIALIZER(settling);
static size_t			 nposts, nchecks;
static uint64_t			 posts[PUSH_R_DROP + 1];
static EVP_PKEY			*vapid;		/* push_vapid_key, or NULL */

static void	multi_done(void);

/* Finishes what the sockets' readiness lets curl do. */
static void
sock_cb(evutil_socket_t fd, short what, void *arg)
{
	int	flags = 0, running;

	(void)arg;
	if (what & EV_READ)
		flags |= CURL_CSELECT_IN;
	if (what & EV_WRITE)
		flags |= CURL_CSELECT_OUT;
	curl_multi_socket_action(multi, fd, flags, &running);
	multi_done();
}

/* curl's CURLMOPT_SOCKETFUNCTION: watch or forget a socket. */
static int
curl_sock(CURL *easy, curl_socket_t s, int what, void *userp, void *sockp)
{
	struct psock	*ps = sockp;
	short		 ev;

	(void)easy; (void)userp;
	if (what == CURL_POLL_REMOVE) {
		if (ps != NULL) {
			event_free(ps->ev);
			free(ps);
		}
		curl_multi_assign(multi, s, NULL);
		return (0);
	}
	ev = EV_PERSIST | ((what & CURL_POLL_IN) ? EV_READ : 0) |
	    ((what & CURL_POLL_OUT) ? EV_WRITE : 0);
	if (ps == NULL) {
		ps = xcalloc(1, sizeof *ps);
		curl_multi_assign(multi, s, ps);
	} else
		event_free(ps->ev);
	if ((ps->ev = event_new(srv.base, s, ev, sock_cb, NULL)) == NULL ||
	    event_add(ps->ev, NULL) != 0)
		log_warnx("push: cannot watch a socket");
	return (0);
}

/* curl's timeout has come. */
static void
curl_timeout_cb(evutil_socket_t fd, short what, void *arg)
{
	int	running;

	(void)fd; (void)what; (void)arg;
	curl_multi_socket_action(multi, CURL_SOCKET_TIMEOUT, 0, &running);
	multi_done();
}

/* curl's CURLMOPT_TIMERFUNCTION. */
static int
curl_timer(CURLM *m, long ms, void *userp)
{
	struct timeval	tv;

	(void)m; (void)userp;
	if (ms < 0) {
		evtimer_del(ev_curl);
		return (0);
	}
	tv.tv_sec = ms / 1000;
	tv.tv_usec = (ms % 1000) * 1000;
	evtimer_add(ev_curl, &tv);
	return (0);
}

/*
 * CURLOPT_OPENSOCKETFUNCTION: rule 2 on the address actually connected,
 * so that a DNS answer that changed since any check cannot reach a
 * private address.
 */
static curl_socket_t
open_sock(void *clientp, curlsocktype purpose, struct curl_sockaddr *a)
{
	struct preq	*r = clientp;
	curl_socket_t	 s;

	(void)purpose;
	if (!srv.conf.push_allow_private && !push_addr_public(&a->addr)) {
		r->refused = 1;
		return (CURL_SOCKET_BAD);
	}
	s = socket(a->family, a->socktype | SOCK_CLOEXEC, a->protocol);
	return (s == -1 ? CURL_SOCKET_BAD : s);
}

/*
 * CURLOPT_PREREQFUNCTION: rule 2 again on the address the request goes
 * to, once connected, so that a connection kept from an earlier request
 * (made when push_allow_private still allowed it) carries nothing once
 * the address is refused.
 */
static int
prereq(void *clientp, char *primary_ip, char *local_ip, int primary_port,
    int local_port)
{
	struct preq		*r = clientp;
	struct sockaddr_storage	 ss;
	struct sockaddr_in	*s4 = (struct sockaddr_in *)&ss;
	struct sockaddr_in6	*s6 = (struct sockaddr_in6 *)&ss;

	(void)local_ip; (void)primary_port; (void)local_port;
	if (srv.conf.push_allow_private)
		return (CURL_PREREQFUNC_OK);
	memset(&ss, 0, sizeof ss);
	if (inet_pton(AF_INET, primary_ip, &s4->sin_addr) == 1)
		ss.ss_family = AF_INET;
	else if (inet_pton(AF_INET6, primary_ip, &s6->sin6_addr) == 1)
		ss.ss_family = AF_INET6;
	if (push_addr_public((struct sockaddr *)&ss))
		return (CURL_PREREQFUNC_OK);
	r->refused = 1;
	return (CURL_PREREQFUNC_ABORT);
}

/* CURLOPT_WRITEFUNCTION: keeps the start of an answer, then stops it. */
static size_t
write_cb(char *p, size_t size, size_t n, void *arg)
{
	struct preq	*r = arg;
	size_t		 len = size * n;

	if (len > ANSWER_MAX - r->alen)
		return (0);
	memcpy(r->answer + r->alen, p, len);
	r->alen += len;
	return (len);
}

/* A new request with the options every one has. */
static struct preq *
preq_new(const char *url)
{
	struct preq	*r;
	CURL		*e;

	if ((e = curl_easy_init()) == NULL)
		return (NULL);
	r = xcalloc(1, sizeof *r);
	r->easy = e;
	curl_easy_setopt(e, CURLOPT_URL, url);
	curl_easy_setopt(e, CURLOPT_PRIVATE, r);
	curl_easy_setopt(e, CURLOPT_ERRORBUFFER, r->errbuf);
	curl_easy_setopt(e, CURLOPT_NOSIGNAL, 1L);
	curl_easy_setopt(e, CURLOPT_FOLLOWLOCATION, 0L);
	curl_easy_setopt(e, CURLOPT_PROTOCOLS_STR,
	    srv.conf.push_allow_http ? "http,https" : "https");
	curl_easy_setopt(e, CURLOPT_TIMEOUT_MS,
	    (long)srv.conf.push_timeout);
	curl_easy_setopt(e, CURLOPT_CONNECTTIMEOUT_MS,
	    (long)srv.conf.push_timeout);
	curl_easy_setopt(e, CURLOPT_OPENSOCKETFUNCTION, open_sock);
	curl_easy_setopt(e, CURLOPT_OPENSOCKETDATA, r);
	curl_easy_setopt(e, CURLOPT_PREREQFUNCTION, prereq);
	curl_easy_setopt(e, CURLOPT_PREREQDATA, r);
	curl_easy_setopt(e, CURLOPT_WRITEFUNCTION, write_cb);
	curl_easy_setopt(e, CURLOPT_WRITEDATA, r);
	curl_easy_setopt(e, CURLOPT_MAXFILESIZE, (long)ANSWER_MAX);
	curl_easy_setopt(e, CURLOPT_USERAGENT, "tickd/" PACKAGE_VERSION);
	curl_easy_setopt(e, CURLOPT_SSL_VERIFYPEER, 1L);
	curl_easy_setopt(e, CURLOPT_SSL_VERIFYHOST, 2L);
	if (srv.conf.push_ca_file != NULL)
		curl_easy_setopt(e, CURLOPT_CAINFO, srv.conf.push_ca_file);
	return (r);
}

/* Frees a finished request. */
static void
preq_free(struct preq *r)
{
	if (r->c != NULL)
		conn_unref(r->c);
	json_decref(r->ref);
	free(r->ep);
	free(r->body);
	curl_slist_free_all(r->hdrs);
	curl_easy_cleanup(r->easy);
	free(r);
}

/* Adds a header; one curl cannot add is left out and logged. */
static void
hdr_add(struct preq *r, const char *h)
{
	struct curl_slist	*l;

	if ((l = curl_slist_append(r->hdrs, h)) == NULL) {
		log_warnx("push: cannot add a header for %s:%s", r->user,
		    r->device);
		return;
	}
	r->hdrs = l;
}

/* Hands a request to curl; 0 if it is under way. */
static int
preq_start(struct preq *r)
{
	if (curl_multi_add_handle(multi, r->easy) != CURLM_OK) {
		preq_free(r);
		return (-1);
	}
	TAILQ_INSERT_TAIL(&reqs, r, entry);
	if (r->check)
		nchecks++;
	else
		nposts++;
	return (0);
}

/* Whether a POST to user's device is under way. */
static int
posting(const char *user, const char *device)
{
	struct preq	*r;

	TAILQ_FOREACH(r, &reqs, entry)
		if (!r->check && strcmp(r->user, user) == 0 &&
		    strcmp(r->device, device) == 0)
			return (1);
	TAILQ_FOREACH(r, &settling, entry)
		if (strcmp(r->user, user) == 0 &&
		    strcmp(r->device, device) == 0)
			return (1);
	return (0);
}

/* Whether a discovery answer is {"unifiedpush":{"version":1}}. */
static int
discovery_ok(const struct preq *r)
{
	json_t	*j, *up, *v;
	int	 ok;

	j = json_loadb(r->answer, r->alen, 0, NULL);
	up = json_object_get(j, "unifiedpush");
	v = json_object_get(up, "version");
	ok = json_is_integer(v) && json_integer_value(v) == 1;
	json_decref(j);
	return (ok);
}

/* An endpoint check is over: the device is told (rule 2). */
static void
check_done(struct preq *r, CURLcode cc, long status)
{
	const char	*why = NULL;
	char		 buf[128];

	if (r->refused)
		why = "endpoint address is not public";
	else if (r->ep->kind == PUSH_WEBHOOK) {
		if (cc != CURLE_OK) {
			snprintf(buf, sizeof buf, "cannot connect to the "
			    "endpoint: %s", curl_easy_strerror(cc));
			why = buf;
		}
	} else if (cc == CURLE_OPERATION_TIMEDOUT)
		why = "endpoint check timed out";
	else if (cc != CURLE_OK) {
		snprintf(buf, sizeof buf, "endpoint check failed: %s",
		    curl_easy_strerror(cc));
		why = buf;
	} else if (status < 200 || status > 299) {
		snprintf(buf, sizeof buf, "endpoint check answered %ld",
		    status);
		why = buf;
	} else if (!discovery_ok(r))
		why = "endpoint is not a UnifiedPush endpoint";
	if (!r->c->dead)
		proto_push_checked(r->c, r->ref, r->ep, why);
}

/* Records a POST's outcome (rule 6) in the batch. */
static void
post_done(struct preq *r, CURLcode cc, long status)
{
	enum push_result	 res;
	struct push_note	 note;
	struct push_ep		*ep;
	struct txn		*txn;
	curl_off_t		 ra = 0;
	int			 rc, same;

	if (cc != CURLE_OK && cc != CURLE_WRITE_ERROR &&
	    cc != CURLE_FILESIZE_EXCEEDED)
		status = 0;
	res = push_outcome(status);
	if (res == PUSH_R_TOO_LARGE && r->plain)
		res = PUSH_R_DROP;
	log_debug("push: %s:%s answered %ld (%s)", r->user, r->device,
	    status, status == 0 ? (r->refused ? "address not public" :
	    curl_easy_strerror(cc)) : "HTTP");
	if ((txn = batch_txn()) == NULL)
		return;
	ep = xmalloc(sizeof *ep);
	rc = store_push_note_get(txn, r->user, r->device, &note);
	same = rc == STORE_OK && note.created == r->created;
	if (store_push_ep_get(txn, r->user, r->device, ep) != STORE_OK) {
		if (same)
			store_push_note_del(txn, r->user, r->device);
		free(ep);
		return;
	}
	if (res == PUSH_R_RETRY && same && note.tries + 1 >
	    srv.conf.push_retries)
		res = PUSH_R_DROP;
	posts[res == PUSH_R_TOO_LARGE ? PUSH_R_RETRY : res]++;
	switch (res) {
	case PUSH_R_OK:
		ep->failures = 0;
		store_push_ep_put(txn, r->user, r->device, ep);
		if (same)
			store_push_note_del(txn, r->user, r->device);
		break;
	case PUSH_R_GONE:
		log_info("push: endpoint of %s:%s is gone (%ld); "
		    "unregistered", r->user, r->device, status);
		push_forget(txn, r->user, r->device);
		break;
	case PUSH_R_TOO_LARGE:
		if (same) {
			note.plain = 1;
			note.due = now_ms();
			store_push_note_put(txn, r->user, r->device, &note);
			push_kick(note.due);
		}
		break;
	case PUSH_R_RETRY:
		if (same) {
			curl_easy_getinfo(r->easy, CURLINFO_RETRY_AFTER, &ra);
			note.tries++;
			note.due = now_ms() + push_backoff(&srv.conf,
			    note.tries, ra > 0 ? (uint64_t)ra * 1000 : 0);
			store_push_note_put(txn, r->user, r->device, &note);
			push_kick(note.due);
		}
		break;
	case PUSH_R_DROP:
		log_info("push: notification for %s:%s dropped (%ld)",
		    r->user, r->device, status);
		ep->failures++;
		store_push_ep_put(txn, r->user, r->device, ep);
		if (same)
			store_push_note_del(txn, r->user, r->device);
		break;
	}
	free(ep);
}

/*
 * Collects what curl finished.  A finished POST stays in settling until
 * its outcome is committed, so that the scheduler, which reads committed
 * data, does not post it again meanwhile.
 */
static void
multi_done(void)
{
	struct preq	*r;
	CURLMsg		*m;
	long		 status;
	int		 left;

	while ((m = curl_multi_info_read(multi, &left)) != NULL) {
		if (m->msg != CURLMSG_DONE)
			continue;
		r = NULL;
		curl_easy_getinfo(m->easy_handle, CURLINFO_PRIVATE, &r);
		status = 0;
		curl_easy_getinfo(m->easy_handle, CURLINFO_RESPONSE_CODE,
		    &status);
		curl_multi_remove_handle(multi, m->easy_handle);
		TAILQ_REMOVE(&reqs, r, entry);
		if (r->check) {
			nchecks--;
			check_done(r, m->data.result, status);
			preq_free(r);
		} else {
			nposts--;
			post_done(r, m->data.result, status);
			TAILQ_INSERT_TAIL(&settling, r, entry);
		}
	}
}

/*
 * The end of a turn, after its commit (server.c): the outcomes written
 * are settled, and the scheduler may look again.
 */
void
push_http_commit(void)
{
	struct preq	*r;

	if (TAILQ_EMPTY(&settling))
		return;
	while ((r = TAILQ_FIRST(&settling)) != NULL) {
		TAILQ_REMOVE(&settling, r, entry);
		preq_free(r);
	}
	push_kick(now_ms());
}

/*
 * Starts an endpoint check for c's push_register (rule 2): a GET for
 * unifiedpush, a connection for a webhook.  -1 if too many are under way.
 */
int
push_http_check(struct conn *c, json_t *ref, const struct push_ep *ep)
{
	struct preq	*r;

	if (nchecks >= srv.conf.push_max_inflight ||
	    (r = preq_new(ep->endpoint)) == NULL)
		return (-1);
	r->check = 1;
	r->c = c;
	conn_ref(c);
	r->ref = ref != NULL ? json_incref(ref) : NULL;
	r->ep = xmalloc(sizeof *r->ep);
	*r->ep = *ep;
	if (ep->kind == PUSH_WEBHOOK)
		curl_easy_setopt(r->easy, CURLOPT_CONNECT_ONLY, 1L);
	return (preq_start(r));
}

/* Builds and starts the POST of a due notification (rule 5). */
static void
post_start(struct txn *txn, const char *user, const char *device,
    const struct push_note *note)
{
	struct push_ep	*ep;
	struct preq	*r;
	char		*body, *auth, hdr[128], hex[65];
	uint8_t		*enc;
	size_t		 len, elen;
	int		 rc;

	ep = xmalloc(sizeof *ep);
	if (store_push_ep_get(txn, user, device, ep) != STORE_OK) {
		free(ep);
		return;
	}
	rc = push_wake_body(txn, user, device, ep, note->plain ?
	    PUSH_CONTENT_NONE : srv.conf.push_content, &body, &len);
	if (rc != STORE_OK || (r = preq_new(ep->endpoint)) == NULL) {
		if (rc == STORE_NOTFOUND && (txn = batch_txn()) != NULL)
			store_push_note_del(txn, user, device);
		if (rc == STORE_OK)
			free(body);
		free(ep);
		return;
	}
	strlcpy(r->user, user, sizeof r->user);
	strlcpy(r->device, device, sizeof r->device);
	r->created = note->created;
	r->plain = note->plain;
	snprintf(hdr, sizeof hdr, "TTL: %llu",
	    (unsigned long long)(srv.conf.push_ttl / 1000));
	hdr_add(r, hdr);
	hdr_add(r, "Urgency: high");
	if (ep->has_keys && push_encrypt(ep->p256dh, ep->auth, NULL, NULL,
	    NULL, (const uint8_t *)body, len, &enc, &elen) == 0) {
		free(body);
		r->body = (char *)enc;
		r->blen = elen;
		hdr_add(r, "Content-Type: application/octet-stream");
		hdr_add(r, "Content-Encoding: aes128gcm");
	} else {
		r->body = body;
		r->blen = len;
		hdr_add(r, "Content-Type: application/json");
	}
	if (ep->kind == PUSH_WEBHOOK && srv.conf.push_webhook_secret != NULL) {
		push_hmac_hex(srv.conf.push_webhook_secret, r->body, r->blen,
		    hex);
		snprintf(hdr, sizeof hdr, "X-Tick-Signature: sha256=%s", hex);
		hdr_add(r, hdr);
	}
	if (vapid != NULL && srv.conf.push_vapid_subject != NULL &&
	    (auth = push_vapid_header(vapid, srv.conf.push_vapid_subject,
	    ep->endpoint, now_ms())) != NULL) {
		hdr_add(r, auth);
		free(auth);
	}
	hdr_add(r, "Expect:");
	curl_easy_setopt(r->easy, CURLOPT_POST, 1L);
	curl_easy_setopt(r->easy, CURLOPT_POSTFIELDS, r->body);
	curl_easy_setopt(r->easy, CURLOPT_POSTFIELDSIZE, (long)r->blen);
	curl_easy_setopt(r->easy, CURLOPT_HTTPHEADER, r->hdrs);
	free(ep);
	preq_start(r);
}

/* A due notification found by the scheduler's walk. */
struct due {
	char			user[NAME_USER_MAX + 1];
	char			device[NAME_DEVICE_MAX + 1];
	struct push_note	note;
};

/* What the scheduler's walk collects. */
struct sched {
	struct due	*v;
	size_t		 n, cap, room;
	uint64_t	 now, next;
};

/* Note walk callback: collects the due ones, and the next due time. */
static int
sched_fn(void *arg, const char *user, const char *device,
    const struct push_note *note)
{
	struct sched	*s = arg;
	struct due	*d;

	if (posting(user, device))
		return (STORE_WALK_NEXT);
	if (note->due > s->now || s->n >= s->room) {
		if (note->due < s->next)
			s->next = note->due;
		return (STORE_WALK_NEXT);
	}
	if (s->n == s->cap)
		s->v = xgrow(s->v, &s->cap, sizeof *s->v, 16);
	d = &s->v[s->n++];
	strlcpy(d->user, user, sizeof d->user);
	strlcpy(d->device, device, sizeof d->device);
	d->note = *note;
	return (STORE_WALK_NEXT);
}

/* The scheduler: POSTs what is due, up to push_max_inflight. */
static void
sched_cb(evutil_socket_t fd, short what, void *arg)
{
	struct sched	s;
	struct txn	txn;
	size_t		i;

	(void)fd; (void)what; (void)arg;
	sched_at = 0;
	memset(&s, 0, sizeof s);
	s.now = now_ms();
	s.next = UINT64_MAX;
	s.room = srv.conf.push_max_inflight > nposts ?
	    srv.conf.push_max_inflight - nposts : 0;
	if (store_txn_begin(srv.store, &txn, 0) != STORE_OK)
		return;
	if (store_push_note_walk(&txn, NULL, sched_fn, &s) == STORE_OK) {
		for (i = 0; i < s.n; i++)
			post_start(&txn, s.v[i].user, s.v[i].device,
			    &s.v[i].note);
	}
	store_txn_abort(&txn);
	free(s.v);
	if (s.next != UINT64_MAX && nposts < srv.conf.push_max_inflight)
		push_kick(s.next);
}

/*
 * Makes the scheduler run at when (Unix ms) or sooner.  It reads
 * committed data only, so a call during a turn takes effect after its
 * commit.
 */
void
push_kick(uint64_t when)
{
	struct timeval	tv;
	uint64_t	now = now_ms(), ms;

	if (ev_sched == NULL || (sched_at != 0 && sched_at <= when))
		return;
	ms = when > now ? when - now : 0;
	tv.tv_sec = (time_t)(ms / 1000);
	tv.tv_usec = (suseconds_t)(ms % 1000) * 1000;
	sched_at = when > now ? when : now;
	evtimer_add(ev_sched, &tv);
}

/*
 * A send committed in this batch put a msg item for the devices of res:
 * the offline ones get or update a notification (rule 3).  Its chat is
 * the sender, or the group for a group message.
 */
void
push_sent(struct txn *txn, const char *from, const struct send_res *res)
{
	const char	*chat;
	uint64_t	 next = UINT64_MAX;

	if (res->dup || res->err != TE_OK)
		return;
	chat = res->to[0] == '#' ? res->to : from;
	if (push_queued(txn, &srv.conf, now_ms(), device_online, NULL, from,
	    chat, &res->targets, &res->mid, res->ts, &next) != STORE_OK)
		log_warnx("push: cannot record notifications for %s",
		    res->to);
	else if (next != UINT64_MAX)
		push_kick(next);
}

/* The POSTs counted by outcome, for tickd_push_posts_total. */
void
push_http_stats(uint64_t *ok, uint64_t *retry, uint64_t *gone,
    uint64_t *dropped)
{
	*ok = posts[PUSH_R_OK];
	*retry = posts[PUSH_R_RETRY];
	*gone = posts[PUSH_R_GONE];
	*dropped = posts[PUSH_R_DROP];
}

/*
 * (Re)reads push_vapid_key; a key that cannot be read leaves POSTs
 * without VAPID, and says so.
 */
void
push_http_reload(json_t *report)
{
	char	*cause = NULL;

	EVP_PKEY_free(vapid);
	vapid = NULL;
	if (srv.conf.push_vapid_key == NULL)
		return;
	if (push_check(&srv.conf, &cause) != 0 ||
	    (vapid = push_vapid_load(srv.conf.push_vapid_key, &cause)) ==
	    NULL) {
		reload_note(report, "failed", "push: %s; POSTs go without "
		    "VAPID", cause);
		free(cause);
	}
}

/* Sets up curl on the loop and looks at what is pending. */
int
push_http_init(char **cause)
{
	if (curl_global_init(CURL_GLOBAL_DEFAULT) != CURLE_OK ||
	    (multi = curl_multi_init()) == NULL) {
		*cause = xstrdup("cannot initialise libcurl");
		return (-1);
	}
	curl_multi_setopt(multi, CURLMOPT_SOCKETFUNCTION, curl_sock);
	curl_multi_setopt(multi, CURLMOPT_TIMERFUNCTION, curl_timer);
	curl_multi_setopt(multi, CURLMOPT_MAX_TOTAL_CONNECTIONS,
	    (long)srv.conf.push_max_inflight * 2);
	if ((ev_curl = evtimer_new(srv.base, curl_timeout_cb, NULL)) == NULL ||
	    (ev_sched = evtimer_new(srv.base, sched_cb, NULL)) == NULL) {
		*cause = xstrdup("cannot create push timers");
		return (-1);
	}
	if (srv.conf.push_vapid_key != NULL &&
	    (vapid = push_vapid_load(srv.conf.push_vapid_key, cause)) == NULL)
		return (-1);
	push_kick(now_ms());
	return (0);
}

/* Abandons what is under way (still pending in the store) and frees. */
void
push_http_shutdown(void)
{
	struct preq	*r;

	while ((r = TAILQ_FIRST(&reqs)) != NULL) {
		TAILQ_REMOVE(&reqs, r, entry);
		curl_multi_remove_handle(multi, r->easy);
		preq_free(r);
	}
	while ((r = TAILQ_FIRST(&settling)) != NULL) {
		TAILQ_REMOVE(&settling, r, entry);
		preq_free(r);
	}
	nposts = nchecks = 0;
	if (ev_curl != NULL)
		event_free(ev_curl);
	if (ev_sched != NULL)
		event_free(ev_sched);
	ev_curl = ev_sched = NULL;
	if (multi != NULL)
		curl_multi_cleanup(multi);
	multi = NULL;
	EVP_PKEY_free(vapid);
	vapid = NULL;
	curl_global_cleanup();
}
