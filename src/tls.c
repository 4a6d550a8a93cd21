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
#include <stdlib.h>
#include <string.h>

#include <openssl/err.h>
#include <openssl/ssl.h>

#include "tickd.h"

static SSL_CTX	*ctx;		/* listen */
static SSL_CTX	*resp_ctx;	/* resp_listen */

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
	return (0);
}

/* Re-reads one context's files; on error the old context stays. */
static void
tls_ctx_reload(SSL_CTX **c, const char *what, const char *cert,
    const char *key)
{
	SSL_CTX	*fresh;
	char	*cause = NULL;

	if (*c == NULL)
		return;
	if (cert == NULL || key == NULL) {
		log_warnx("tls: %s_cert and %s_key cannot be removed by a "
		    "reload; keeping the current ones", what, what);
		return;
	}
	if ((fresh = tls_ctx_new(&srv.conf, cert, key, &cause)) == NULL) {
		log_warnx("tls: reload of %s_cert failed, keeping the current "
		    "certificate: %s", what, cause);
		free(cause);
		return;
	}
	SSL_CTX_free(*c);
	*c = fresh;
	log_info("tls: certificate reloaded from %s", cert);
}

/* SIGHUP: certificates and keys are read again, nobody is dropped. */
void
tls_reload(void)
{
	tls_ctx_reload(&ctx, "tls", srv.conf.tls_cert, srv.conf.tls_key);
	tls_ctx_reload(&resp_ctx, "resp_tls", srv.conf.resp_tls_cert,
	    srv.conf.resp_tls_key);
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
