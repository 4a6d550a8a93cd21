/* SPDX-License-Identifier: ISC */
/*
 * tls.c: the OpenSSL server context behind the listen port.
 *
 * With tls_cert and tls_key set, every connection on listen speaks TLS
 * (HTTPS and WSS); listen_plain may add a plain port on loopback.  With
 * resp_tls_cert and resp_tls_key, resp_listen speaks TLS too, as
 * redis-server's tls-port does.  A
 * SIGHUP builds a fresh context from the files: new connections use it,
 * established ones keep the context they started with (OpenSSL counts
 * its references), so nobody is dropped.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <openssl/err.h>
#include <openssl/ssl.h>
#include <openssl/x509.h>

#include "tickd.h"

static SSL_CTX	*ctx;		/* listen */
static SSL_CTX	*resp_ctx;	/* resp_listen */
static time_t	 ctx_expiry;	/* notAfter of ctx's certificate, or 0 */
static time_t	 resp_expiry;	/* of resp_ctx's */

/* The first error on OpenSSL's queue, as text. */
static const char *
ssl_error(void)
{
	static char	buf[256];
	unsigned long	e = ERR_get_error();

	if (e == 0)
		return ("unknown error");
	ERR_error_string_n(e, buf, sizeof buf);
	ERR_clear_error();
	return (buf);
}

/*
 * Whether the file can be opened for reading, so that an unreadable key
 * is reported with the reason (EACCES) rather than OpenSSL's words.
 */
static int
file_readable(const char *what, const char *path, char **cause)
{
	int	fd;

	if ((fd = open(path, O_RDONLY | O_CLOEXEC)) == -1) {
		xasprintf(cause, "%s %s: %s", what, path, strerror(errno));
		return (-1);
	}
	close(fd);
	return (0);
}

/* When the certificate of c expires, Unix seconds; 0 if unknown. */
static time_t
cert_expiry(SSL_CTX *c)
{
	X509	*x;
	struct tm tm;

	if ((x = SSL_CTX_get0_certificate(c)) == NULL ||
	    ASN1_TIME_to_tm(X509_get0_notAfter(x), &tm) != 1)
		return (0);
	return (timegm(&tm));
}

/*
 * A server context from cert and key; protocol versions and ciphers are
 * the tls_* keys for every port.
 */
static SSL_CTX *
tls_ctx_new(const struct conf *conf, const char *cert, const char *key,
    char **cause)
{
	SSL_CTX	*c;
	int	 version;

	version = conf->tls_min_version == TLS_V13 ? TLS1_3_VERSION :
	    TLS1_2_VERSION;
	if ((c = SSL_CTX_new(TLS_server_method())) == NULL) {
		xasprintf(cause, "tls: %s", ssl_error());
		return (NULL);
	}
	SSL_CTX_set_options(c, SSL_OP_NO_RENEGOTIATION |
	    SSL_OP_CIPHER_SERVER_PREFERENCE | SSL_OP_NO_COMPRESSION);
	if (SSL_CTX_set_min_proto_version(c, version) != 1) {
		xasprintf(cause, "tls_min_version: %s", ssl_error());
		goto fail;
	}
	if (SSL_CTX_set_cipher_list(c, conf->tls_ciphers) != 1) {
		xasprintf(cause, "tls_ciphers \"%s\": %s", conf->tls_ciphers,
		    ssl_error());
		goto fail;
	}
	if (SSL_CTX_set_ciphersuites(c, conf->tls_ciphersuites) != 1) {
		xasprintf(cause, "tls_ciphersuites \"%s\": %s",
		    conf->tls_ciphersuites, ssl_error());
		goto fail;
	}
	if (file_readable("certificate", cert, cause) != 0 ||
	    file_readable("key", key, cause) != 0)
		goto fail;
	if (SSL_CTX_use_certificate_chain_file(c, cert) != 1) {
		xasprintf(cause, "certificate %s: %s", cert, ssl_error());
		goto fail;
	}
	if (SSL_CTX_use_PrivateKey_file(c, key, SSL_FILETYPE_PEM) != 1) {
		xasprintf(cause, "key %s: %s", key, ssl_error());
		goto fail;
	}
	if (SSL_CTX_check_private_key(c) != 1) {
		xasprintf(cause, "key %s does not match certificate %s", key,
		    cert);
		goto fail;
	}
	return (c);
fail:
	SSL_CTX_free(c);
	return (NULL);
}

/* A context for cert and key if both are set; -1 if only one is. */
static int
tls_ctx_init(SSL_CTX **c, const char *what, const char *cert,
    const char *key, char **cause)
{
	if ((cert == NULL) != (key == NULL)) {
		xasprintf(cause, "%s_cert and %s_key go together: set both or "
		    "neither", what, what);
		return (-1);
	}
	if (cert == NULL)
		return (0);
	if ((*c = tls_ctx_new(&srv.conf, cert, key, cause)) == NULL)
		return (-1);
	return (0);
}

/* Builds the contexts that are configured; errors are for the operator. */
int
tls_init(char **cause)
{
	if (tls_ctx_init(&ctx, "tls", srv.conf.tls_cert, srv.conf.tls_key,
	    cause) != 0 || tls_ctx_init(&resp_ctx, "resp_tls",
	    srv.conf.resp_tls_cert, srv.conf.resp_tls_key, cause) != 0)
		return (-1);
	ctx_expiry = ctx == NULL ? 0 : cert_expiry(ctx);
	resp_expiry = resp_ctx == NULL ? 0 : cert_expiry(resp_ctx);
	return (0);
}

/*
 * Re-reads one context's files into the reload report; on error the old
 * context stays.  A listener is made TLS or plain only at startup, so
 * turning TLS on or off is reported as needing a restart.
 */
static void
tls_ctx_reload(SSL_CTX **c, time_t *expiry, const char *what,
    const char *cert, const char *key, json_t *report)
{
	SSL_CTX		*fresh;
	struct tm	 tm;
	char		*cause = NULL, name[32], when[32];

	if ((cert == NULL) != (key == NULL)) {
		reload_note(report, "failed", "%s: %s_cert and %s_key go "
		    "together: set both or neither", what, what, what);
		return;
	}
	if ((*c == NULL) != (cert == NULL)) {
		snprintf(name, sizeof name, "%s_cert", what);
		reload_restart(report, name);
		snprintf(name, sizeof name, "%s_key", what);
		reload_restart(report, name);
		return;
	}
	if (*c == NULL)
		return;
	if ((fresh = tls_ctx_new(&srv.conf, cert, key, &cause)) == NULL) {
		reload_note(report, "failed", "%s: %s; keeping the current "
		    "certificate", what, cause);
		free(cause);
		return;
	}
	SSL_CTX_free(*c);
	*c = fresh;
	*expiry = cert_expiry(fresh);
	gmtime_r(expiry, &tm);
	strftime(when, sizeof when, "%Y-%m-%dT%H:%M:%SZ", &tm);
	reload_note(report, "reloaded", "%s: certificate read from %s, "
	    "valid until %s", what, cert, when);
}

/* SIGHUP: certificates and keys are read again, nobody is dropped. */
void
tls_reload(json_t *report)
{
	tls_ctx_reload(&ctx, &ctx_expiry, "tls", srv.conf.tls_cert,
	    srv.conf.tls_key, report);
	tls_ctx_reload(&resp_ctx, &resp_expiry, "resp_tls",
	    srv.conf.resp_tls_cert, srv.conf.resp_tls_key, report);
}

/*
 * When the certificate in use on listen (resp 0) or resp_listen (resp 1)
 * expires, Unix seconds; 0 without TLS there.
 */
time_t
tls_cert_expiry(int resp)
{
	return (resp ? resp_expiry : ctx_expiry);
}

/* A new SSL of context c, logging why if there is none. */
static SSL *
ssl_new(SSL_CTX *c)
{
	SSL	*ssl;

	if ((ssl = SSL_new(c)) == NULL)
		log_warnx("tls: SSL_new: %s", ssl_error());
	return (ssl);
}

/* A new server-side SSL for one connection on listen; NULL on error. */
SSL *
tls_new(void)
{
	return (ctx == NULL ? NULL : ssl_new(ctx));
}

/* The same for resp_listen. */
SSL *
tls_resp_new(void)
{
	return (resp_ctx == NULL ? NULL : ssl_new(resp_ctx));
}

/* Whether listen speaks TLS (tls_cert and tls_key are set). */
int
tls_enabled(void)
{
	return (ctx != NULL);
}

/* Whether the RESP listener speaks TLS. */
int
tls_resp_enabled(void)
{
	return (resp_ctx != NULL);
}

/* Frees both TLS contexts at exit. */
void
tls_free(void)
{
	SSL_CTX_free(ctx);
	SSL_CTX_free(resp_ctx);
	ctx = resp_ctx = NULL;
}
