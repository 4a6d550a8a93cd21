/*
 * tls.c: the OpenSSL server context behind the listen port.
 *
 * With tls_cert and tls_key set, every connection on listen speaks TLS
 * (HTTPS and WSS); listen_plain may add a plain port on loopback.  A
 * SIGHUP builds a fresh context from the files: new connections use it,
 * established ones keep the context they started with (OpenSSL counts
 * its references), so nobody is dropped.
 */
#include <string.h>

#include <openssl/err.h>
#include <openssl/ssl.h>

#include "tickd.h"

static SSL_CTX	*ctx;

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

static SSL_CTX *
tls_ctx_new(const struct conf *conf, char **cause)
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
	if (SSL_CTX_use_certificate_chain_file(c, conf->tls_cert) != 1) {
		xasprintf(cause, "tls_cert %s: %s", conf->tls_cert,
		    ssl_error());
		goto fail;
	}
	if (SSL_CTX_use_PrivateKey_file(c, conf->tls_key,
	    SSL_FILETYPE_PEM) != 1) {
		xasprintf(cause, "tls_key %s: %s", conf->tls_key, ssl_error());
		goto fail;
	}
	if (SSL_CTX_check_private_key(c) != 1) {
		xasprintf(cause, "tls_key %s does not match tls_cert %s",
		    conf->tls_key, conf->tls_cert);
		goto fail;
	}
	return (c);
fail:
	SSL_CTX_free(c);
	return (NULL);
}

/* Builds the context when TLS is configured; errors are for the operator. */
int
tls_init(char **cause)
{
	if ((srv.conf.tls_cert == NULL) != (srv.conf.tls_key == NULL)) {
		*cause = xstrdup("tls_cert and tls_key go together: set both "
		    "or neither");
		return (-1);
	}
	if (srv.conf.tls_cert == NULL)
		return (0);
	if ((ctx = tls_ctx_new(&srv.conf, cause)) == NULL)
		return (-1);
	return (0);
}

/* Re-reads certificate and key; on error the old context stays. */
void
tls_reload(void)
{
	SSL_CTX	*fresh;
	char	*cause = NULL;

	if (ctx == NULL)
		return;
	if (srv.conf.tls_cert == NULL || srv.conf.tls_key == NULL) {
		log_warnx("tls: tls_cert and tls_key cannot be removed by a "
		    "reload; keeping the current ones");
		return;
	}
	if ((fresh = tls_ctx_new(&srv.conf, &cause)) == NULL) {
		log_warnx("tls: reload failed, keeping the current "
		    "certificate: %s", cause);
		free(cause);
		return;
	}
	SSL_CTX_free(ctx);
	ctx = fresh;
	log_info("tls: certificate reloaded from %s", srv.conf.tls_cert);
}

/* A new server-side SSL for one connection, or NULL without TLS. */
SSL *
tls_new(void)
{
	SSL	*ssl;

	if (ctx == NULL)
		return (NULL);
	if ((ssl = SSL_new(ctx)) == NULL)
		log_warnx("tls: SSL_new: %s", ssl_error());
	return (ssl);
}

int
tls_enabled(void)
{
	return (ctx != NULL);
}

void
tls_free(void)
{
	SSL_CTX_free(ctx);
	ctx = NULL;
}
