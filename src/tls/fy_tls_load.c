/*
 * fy_tls_load.c -- what a context loads beyond its certificates:
 * passphrases for encrypted keys (ssl_password_file), DH parameters
 * (ssl_dhparam), revocation lists (ssl_crl, proxy_ssl_crl), a stapled
 * OCSP response (ssl_stapling_file; fetched ones are fy_tls_ocsp.c's) and raw OpenSSL settings
 * (ssl_conf_command).  See fy_tls.h.
 *
 * All of it runs in the master when a configuration is loaded, so a
 * bad file is a configuration error (file and line of the directive)
 * and the workers inherit the loaded result.
 */
#include "fy_core.h"
#include "fy_tls.h"
#include "fy_log.h"

#include <fcntl.h>
#include <openssl/ssl.h>
#include <openssl/err.h>
#include <openssl/pem.h>
#include <openssl/evp.h>
#include <openssl/ocsp.h>
#include <openssl/x509.h>

/* nginx reads a password file of at most this many bytes */
#define FY_TLS_PASSWORD_MAX  4096

/* ---- passphrases ---- */

fy_array_t *
fy_tls_read_passwords(fy_pool_t *pool, const char *path, const char **err)
{
    fy_array_t  *a;
    fy_str_t    *pwd;
    u_char       buf[FY_TLS_PASSWORD_MAX + 1], *p, *end, *nl;
    size_t       len;
    ssize_t      n;
    int          fd;

    fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd == -1) {
        *err = strerror(errno);
        return NULL;
    }
    n = read(fd, buf, sizeof(buf));
    close(fd);
    if (n < 0) {
        *err = strerror(errno);
        return NULL;
    }
    if (n > FY_TLS_PASSWORD_MAX) {
        *err = "the file is too long (at most 4096 bytes)";
        return NULL;
    }

    a = fy_palloc(pool, sizeof(fy_array_t));
    if (a) {
        fy_array_init(a, pool, 4, sizeof(fy_str_t));
    }
    if (a == NULL) {
        *err = "cannot allocate memory";
        return NULL;
    }
    /* one passphrase per line, a CR before the LF dropped; the last
     * line needs no LF; an empty file is one empty passphrase */
    p = buf;
    end = buf + n;
    do {
        nl = memchr(p, '\n', (size_t) (end - p));
        len = (size_t) ((nl ? nl : end) - p);
        if (len && p[len - 1] == '\r') {
            len--;
        }
        pwd = fy_array_push(a);
        if (pwd == NULL || (pwd->data = fy_palloc(pool, len + 1)) == NULL) {
            OPENSSL_cleanse(buf, sizeof(buf));
            *err = "cannot allocate memory";
            return NULL;
        }
        memcpy(pwd->data, p, len);
        pwd->data[len] = '\0';
        pwd->len = len;
        p = nl ? nl + 1 : end;
    } while (p < end);

    OPENSSL_cleanse(buf, sizeof(buf));
    return a;
}

/* OpenSSL's passphrase callback: the passphrase tried now, or none. */
int
fy_tls_password_cb(char *buf, int size, int rwflag, void *data)
{
    fy_str_t  *pwd = data;

    fy_unused(rwflag);
    if (pwd == NULL || size <= 0) {
        return 0;
    }
    if (pwd->len > (size_t) size) {
        fy_log_error(FY_LOG_ERR, 0, "a passphrase of ssl_password_file is "
                     "truncated to %d bytes", size);
    }
    memcpy(buf, pwd->data, fy_min(pwd->len, (size_t) size));
    return (int) fy_min(pwd->len, (size_t) size);
}

void
fy_tls_no_prompt(void *ctx)
{
    SSL_CTX_set_default_passwd_cb(ctx, fy_tls_password_cb);
    SSL_CTX_set_default_passwd_cb_userdata(ctx, NULL);
}

int
fy_tls_use_key(void *ctx, const char *key, fy_array_t *passwords)
{
    unsigned  i, tries = passwords ? passwords->nelts : 0;
    int       ok;

    if (tries == 0) {
        fy_tls_no_prompt(ctx);
        return SSL_CTX_use_PrivateKey_file(ctx, key, SSL_FILETYPE_PEM) == 1;
    }
    /* each passphrase in turn until one opens the key (nginx) */
    SSL_CTX_set_default_passwd_cb(ctx, fy_tls_password_cb);
    for (i = 0; i < tries; i++) {
        SSL_CTX_set_default_passwd_cb_userdata(ctx,
            fy_array_elt(passwords, fy_str_t, i));
        ok = SSL_CTX_use_PrivateKey_file(ctx, key, SSL_FILETYPE_PEM) == 1;
        if (ok) {
            break;
        }
        if (i + 1 < tries) {
            ERR_clear_error();
        }
    }
    /* the passphrases stay in the pool, not in the context */
    SSL_CTX_set_default_passwd_cb_userdata(ctx, NULL);
    return i < tries;
}

/* ---- DH parameters ---- */

int
fy_tls_load_dhparam(void *ctx, const char *path, const fy_tls_where_t *where)
{
    EVP_PKEY  *dh = NULL;
    BIO       *b;

    b = BIO_new_file(path, "r");
    if (b) {
        /* "DH PARAMETERS" or "X9.42 DH PARAMETERS", as written by
         * openssl dhparam or openssl genpkey -genparam */
        dh = PEM_read_bio_Parameters_ex(b, NULL, NULL, NULL);
        BIO_free(b);
    }
    if (dh == NULL) {
        fy_log_error(FY_LOG_EMERG, 0, "cannot load ssl_dhparam \"%s\": %s "
                     "in %s:%u", path, fy_tls_error(), where->file,
                     where->line);
        return FY_ERROR;
    }
    if (!EVP_PKEY_is_a(dh, "DH") && !EVP_PKEY_is_a(dh, "DHX")) {
        fy_log_error(FY_LOG_EMERG, 0, "ssl_dhparam \"%s\" holds %s "
                     "parameters, not DH, in %s:%u", path,
                     EVP_PKEY_get0_type_name(dh), where->file, where->line);
        EVP_PKEY_free(dh);
        return FY_ERROR;
    }
    /* the context owns dh from here */
    if (SSL_CTX_set0_tmp_dh_pkey(ctx, dh) != 1) {
        fy_log_error(FY_LOG_EMERG, 0, "cannot use ssl_dhparam \"%s\": %s "
                     "in %s:%u", path, fy_tls_error(), where->file,
                     where->line);
        EVP_PKEY_free(dh);
        return FY_ERROR;
    }
    return FY_OK;
}

/* ---- revocation lists ---- */

int
fy_tls_load_crl(void *ctx, const char *path, const char *what,
                const fy_tls_where_t *where)
{
    X509_STORE   *store = SSL_CTX_get_cert_store(ctx);
    X509_LOOKUP  *lookup;

    lookup = X509_STORE_add_lookup(store, X509_LOOKUP_file());
    if (lookup == NULL
        || X509_load_crl_file(lookup, path, X509_FILETYPE_PEM) <= 0)
    {
        fy_log_error(FY_LOG_EMERG, 0, "cannot load %s \"%s\": %s in %s:%u",
                     what, path, fy_tls_error(), where->file, where->line);
        return FY_ERROR;
    }
    /* as nginx: every certificate of the chain is checked, so the file
     * needs a CRL from each CA that issues one of them */
    X509_STORE_set_flags(store, X509_V_FLAG_CRL_CHECK
                                | X509_V_FLAG_CRL_CHECK_ALL);
    return FY_OK;
}

/* ---- OCSP stapling from a file ---- */

typedef struct {
    u_char  *data;                /* the DER OCSP response */
    size_t   len;
} fy_tls_staple_t;

/* The client asked for the certificate status: send the response.  A
 * copy, which OpenSSL frees with the connection. */
static int
fy_tls_status_cb(SSL *ssl, void *arg)
{
    fy_tls_staple_t  *st = arg;
    u_char           *p;

    if (st == NULL || st->len == 0) {
        return SSL_TLSEXT_ERR_NOACK;
    }
    p = OPENSSL_memdup(st->data, st->len);
    if (p == NULL) {
        return SSL_TLSEXT_ERR_NOACK;
    }
    if (SSL_set_tlsext_status_ocsp_resp(ssl, p, (long) st->len) != 1) {
        OPENSSL_free(p);
        return SSL_TLSEXT_ERR_NOACK;
    }
    return SSL_TLSEXT_ERR_OK;
}

int
fy_tls_load_stapling(fy_pool_t *pool, void *ctx, fy_tls_conf_t *conf)
{
    fy_tls_staple_t  *st;
    OCSP_RESPONSE    *resp;
    const u_char     *p;
    BIO              *b, *mem;
    BUF_MEM          *bm;
    char              chunk[4096];
    int               n;

    if (!conf->stapling) {
        /* nginx: ssl_stapling_file without ssl_stapling on is not read */
        return FY_OK;
    }
    if (conf->stapling_file == NULL) {
        /* from the responder (fy_tls_ocsp.c) */
        return fy_tls_ocsp_init(pool, ctx, conf);
    }

    b = BIO_new_file(conf->stapling_file, "rb");
    mem = BIO_new(BIO_s_mem());
    while (b && mem && (n = BIO_read(b, chunk, sizeof(chunk))) > 0) {
        BIO_write(mem, chunk, n);
    }
    bm = NULL;
    if (mem) {
        BIO_get_mem_ptr(mem, &bm);
    }
    resp = NULL;
    if (b && bm && bm->length) {
        p = (const u_char *) bm->data;
        resp = d2i_OCSP_RESPONSE(NULL, &p, (long) bm->length);
    }
    if (resp == NULL) {
        fy_log_error(FY_LOG_EMERG, 0, "cannot load ssl_stapling_file \"%s\": "
                     "%s in %s:%u", conf->stapling_file,
                     b == NULL ? fy_tls_error()
                     : (bm == NULL || bm->length == 0) ? "empty file"
                     : "not a DER OCSP response",
                     conf->stapling_file_where.file,
                     conf->stapling_file_where.line);
        ERR_clear_error();
        BIO_free(b);
        BIO_free(mem);
        return FY_ERROR;
    }
    OCSP_RESPONSE_free(resp);

    st = fy_palloc(pool, sizeof(fy_tls_staple_t));
    if (st == NULL || (st->data = fy_palloc(pool, bm->length)) == NULL) {
        BIO_free(b);
        BIO_free(mem);
        return FY_ERROR;
    }
    /* as nginx: the file's response, as it is, for every certificate
     * of the server, whatever its status or age */
    memcpy(st->data, bm->data, bm->length);
    st->len = bm->length;
    BIO_free(b);
    BIO_free(mem);

    SSL_CTX_set_tlsext_status_cb(ctx, fy_tls_status_cb);
    SSL_CTX_set_tlsext_status_arg(ctx, st);
    return FY_OK;
}

/* ---- ssl_conf_command ---- */

int
fy_tls_conf_commands(void *ctx, fy_array_t *cmds, int client)
{
    fy_tls_conf_cmd_t  *cmd;
    SSL_CONF_CTX       *cctx;
    const char         *e;
    unsigned            i;

    if (cmds == NULL || cmds->nelts == 0) {
        return FY_OK;
    }
    cctx = SSL_CONF_CTX_new();
    if (cctx == NULL) {
        fy_log_error(FY_LOG_EMERG, 0, "SSL_CONF_CTX_new() failed: %s",
                     fy_tls_error());
        return FY_ERROR;
    }
    /* nginx's flags: the configuration-file names, for a server (or,
     * towards an upstream, a client), with certificate commands
     * allowed */
    SSL_CONF_CTX_set_flags(cctx, SSL_CONF_FLAG_FILE
                                 | (client ? SSL_CONF_FLAG_CLIENT
                                           : SSL_CONF_FLAG_SERVER)
                                 | SSL_CONF_FLAG_CERTIFICATE
                                 | SSL_CONF_FLAG_SHOW_ERRORS);
    SSL_CONF_CTX_set_ssl_ctx(cctx, ctx);

    for (i = 0; i < cmds->nelts; i++) {
        cmd = fy_array_elt(cmds, fy_tls_conf_cmd_t, i);
        ERR_clear_error();
        if (SSL_CONF_cmd(cctx, cmd->name, cmd->value) <= 0) {
            e = fy_tls_error();
            fy_log_error(FY_LOG_EMERG, 0, "SSL_CONF_cmd(\"%s\", \"%s\") "
                         "failed%s%s in %s:%u", cmd->name, cmd->value,
                         *e ? ": " : "", e, cmd->where.file,
                         cmd->where.line);
            SSL_CONF_CTX_free(cctx);
            return FY_ERROR;
        }
    }
    if (SSL_CONF_CTX_finish(cctx) != 1) {
        fy_log_error(FY_LOG_EMERG, 0, "SSL_CONF_CTX_finish() failed: %s",
                     fy_tls_error());
        SSL_CONF_CTX_free(cctx);
        return FY_ERROR;
    }
    SSL_CONF_CTX_free(cctx);
    return FY_OK;
}
