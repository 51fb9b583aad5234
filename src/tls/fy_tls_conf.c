/*
 * fy_tls_conf.c -- the setters of the ssl_* directives that http's
 * servers (src/http/fy_http_ssl.c) and the stream block's servers
 * (src/stream/fy_stream_ssl.c) share.
 *
 * A row's offset is that of the fy_tls_conf_t inside the structure the
 * row's setter receives (fy_tls_tickets_t for ssl_session_ticket_key;
 * the field itself for the protocols and the proxy_ssl_* arguments),
 * so one setter serves every block that has a TLS configuration.
 */
#include "fy_core.h"
#include "fy_tls.h"
#include "fy_tls_cache.h"
#include "fy_tls_upstream.h"

#include <limits.h>

#define fy_tls_conf_of(conf, cmd) \
    ((fy_tls_conf_t *) ((char *) (conf) + (cmd)->offset))

void
fy_tls_conf_where(fy_conf_t *cf, fy_tls_where_t *w)
{
    w->file = cf->file ? cf->file->name : "command line";
    w->line = cf->line;
}

const fy_conf_enum_t  fy_tls_verify_modes[] = {
    { "off",            FY_TLS_VERIFY_OFF },
    { "on",             FY_TLS_VERIFY_ON },
    { "optional",       FY_TLS_VERIFY_OPTIONAL },
    { "optional_no_ca", FY_TLS_VERIFY_OPTIONAL_NO_CA },
    { NULL, 0 }
};

const fy_conf_bounds_t  fy_tls_depth_bounds = { 0, 100 };

/* A string (a path, but for ssl_ecdh_curve) and where it was given:
 * the fy_tls_where_t follows the char * field in fy_tls_conf_t. */
const char *
fy_tls_conf_set_where_str(fy_conf_t *cf, const fy_command_t *cmd, void *conf)
{
    char            **field = (char **) ((char *) conf + cmd->offset);
    fy_tls_where_t   *where = (fy_tls_where_t *) (field + 1);

    if (*field) {
        return "is duplicate";
    }
    if (strcmp(cmd->name, "ssl_ecdh_curve") == 0) {
        *field = fy_pstrndup(cf->pool, cf->args[1].data, cf->args[1].len);
    } else {
        *field = fy_conf_full_name(cf, cf->conf_dir, &cf->args[1]);
    }
    if (*field == NULL) {
        return "cannot allocate memory";
    }
    fy_tls_conf_where(cf, where);
    return FY_CONF_OK;
}

/* ssl_verify_client and ssl_ocsp: an enum (the row's post) at the
 * row's offset, and where it was given into the fy_tls_where_t that
 * follows it (for ssl_verify_client's message about missing CA files,
 * ssl_ocsp's about optional_no_ca). */
#define FY_TLS_MODE_WHERE                                                 \
    (offsetof(fy_tls_conf_t, verify_where) - offsetof(fy_tls_conf_t, verify))

_Static_assert(offsetof(fy_tls_conf_t, ocsp_where)
               - offsetof(fy_tls_conf_t, ocsp) == FY_TLS_MODE_WHERE,
               "ssl_ocsp's where follows it as ssl_verify_client's does");

const char *
fy_tls_conf_set_mode(fy_conf_t *cf, const fy_command_t *cmd, void *conf)
{
    const char  *rv = fy_conf_set_enum(cf, cmd, conf);

    if (rv == FY_CONF_OK) {
        fy_tls_conf_where(cf, (fy_tls_where_t *) ((char *) conf + cmd->offset
                                                  + FY_TLS_MODE_WHERE));
    }
    return rv;
}

/* ssl_password_file: read now, as nginx does, so that a missing or
 * unreadable file is an error at its own line. */
const char *
fy_tls_conf_set_password_file(fy_conf_t *cf, const fy_command_t *cmd,
                              void *conf)
{
    fy_tls_conf_t  *t = fy_tls_conf_of(conf, cmd);
    const char     *err = NULL;
    char           *path;

    if (t->passwords) {
        return "is duplicate";
    }
    path = fy_conf_full_name(cf, cf->conf_dir, &cf->args[1]);
    if (path == NULL) {
        return "cannot allocate memory";
    }
    t->passwords = fy_tls_read_passwords(cf->pool, path, &err);
    if (t->passwords == NULL) {
        fy_conf_error(cf, "cannot read ssl_password_file \"%s\": %s", path,
                      err);
        return FY_CONF_ERROR;
    }
    fy_tls_conf_where(cf, &t->passwords_where);
    return FY_CONF_OK;
}

/* One more NAME VALUE on the list *cmds (made on the first). */
static const char *
fy_tls_conf_push_command(fy_conf_t *cf, fy_array_t **cmds)
{
    fy_tls_conf_cmd_t  *c;

    if (*cmds == NULL) {
        *cmds = fy_palloc(cf->pool, sizeof(fy_array_t));
        if (*cmds == NULL) {
            return "cannot allocate memory";
        }
        fy_array_init(*cmds, cf->pool, 2, sizeof(fy_tls_conf_cmd_t));
    }
    c = fy_array_push(*cmds);
    if (c == NULL) {
        return "cannot allocate memory";
    }
    c->name = fy_pstrndup(cf->pool, cf->args[1].data, cf->args[1].len);
    c->value = fy_pstrndup(cf->pool, cf->args[2].data, cf->args[2].len);
    if (c->name == NULL || c->value == NULL) {
        return "cannot allocate memory";
    }
    fy_tls_conf_where(cf, &c->where);
    return FY_CONF_OK;
}

/* ssl_conf_command NAME VALUE: several per level, applied in order. */
const char *
fy_tls_conf_set_conf_command(fy_conf_t *cf, const fy_command_t *cmd,
                             void *conf)
{
    return fy_tls_conf_push_command(cf,
                                    &fy_tls_conf_of(conf, cmd)->conf_commands);
}

/* proxy_ssl_conf_command NAME VALUE (http's, uwsgi's, stream's): the
 * row's offset is that of a fy_tls_up_conf_t's conf_commands. */
const char *
fy_tls_conf_set_up_command(fy_conf_t *cf, const fy_command_t *cmd,
                           void *conf)
{
    return fy_tls_conf_push_command(cf,
                                    (fy_array_t **) ((char *) conf
                                                     + cmd->offset));
}

/* One more entry on *values (made on the first name with variables,
 * NULL for the entries before it): cv, NULL for a plain name. */
static const char *
fy_tls_conf_push_value(fy_conf_t *cf, fy_array_t **values, unsigned before,
                       void *cv)
{
    void  **v;

    if (*values == NULL) {
        if (cv == NULL) {
            return FY_CONF_OK;
        }
        *values = fy_palloc(cf->pool, sizeof(fy_array_t));
        if (*values == NULL) {
            return "cannot allocate memory";
        }
        fy_array_init(*values, cf->pool, before + 1, sizeof(void *));
        while (before--) {
            v = fy_array_push(*values);
            if (v == NULL) {
                return "cannot allocate memory";
            }
            *v = NULL;
        }
    }
    v = fy_array_push(*values);
    if (v == NULL) {
        return "cannot allocate memory";
    }
    *v = cv;
    return FY_CONF_OK;
}

/* ssl_certificate / ssl_certificate_key: a file each time, paired in
 * the order given (one RSA and one ECDSA pair, say).  A name with
 * variables (the row's post says how the block compiles them) is kept
 * as written, for the handshake to evaluate (fy_tls_certvar.c). */
const char *
fy_tls_conf_set_file(fy_conf_t *cf, const fy_command_t *cmd, void *conf)
{
    fy_tls_conf_t          *t = fy_tls_conf_of(conf, cmd);
    const fy_tls_values_t  *values = cmd->post;
    size_t                  n = strlen(cmd->name);
    fy_array_t             *a, **va;
    char                  **path;
    void                   *cv = NULL;
    const char             *rv;

    if (n > 4 && strcmp(cmd->name + n - 4, "_key") == 0) {
        a = &t->keys;
        va = &t->key_values;
    } else {
        a = &t->certs;
        va = &t->cert_values;
    }
    if (values && memchr(cf->args[1].data, '$', cf->args[1].len)) {
        cv = values->compile(cf, &cf->args[1]);
        if (cv == NULL) {
            return FY_CONF_ERROR;
        }
        t->values = values;
        if (t->conf_dir == NULL && cf->conf_dir) {
            t->conf_dir = fy_pstrndup(cf->pool, (u_char *) cf->conf_dir,
                                      strlen(cf->conf_dir));
        }
    }
    rv = fy_tls_conf_push_value(cf, va, a->nelts, cv);
    if (rv != FY_CONF_OK) {
        return rv;
    }
    path = fy_array_push(a);
    if (path == NULL) {
        return "cannot allocate memory";
    }
    /* "data:" is the PEM text itself, not a name (nginx) */
    *path = cv || (cf->args[1].len >= 5
                   && memcmp(cf->args[1].data, "data:", 5) == 0)
            ? fy_pstrndup(cf->pool, cf->args[1].data, cf->args[1].len)
            : fy_conf_full_name(cf, cf->conf_dir, &cf->args[1]);
    if (*path == NULL) {
        return "cannot allocate memory";
    }
    if (t->file == NULL) {
        t->file = cf->file ? cf->file->name : "command line";
        t->line = cf->line;
    }
    return FY_CONF_OK;
}

/* ssl_certificate_cache off | max=N [inactive=TIME] [valid=TIME]:
 * nginx's defaults, inactive 10s and valid 60s.  One cache per level
 * that has the directive, shared by the servers that inherit it. */
const char *
fy_tls_conf_set_cert_cache(fy_conf_t *cf, const fy_command_t *cmd, void *conf)
{
    fy_tls_conf_t  *t = fy_tls_conf_of(conf, cmd);
    fy_str_t       *a = NULL, v;
    int64_t         max = 0, inactive = 10000, valid = 60000;
    unsigned        i;

    if (t->cert_cache_set) {
        return "is duplicate";
    }
    t->cert_cache_set = 1;
    if (fy_str_eq(&cf->args[1], "off")) {
        if (cf->nargs != 2) {
            a = &cf->args[2];
            goto invalid;
        }
        return FY_CONF_OK;
    }
    for (i = 1; i < cf->nargs; i++) {
        a = &cf->args[i];
        if (a->len > 4 && memcmp(a->data, "max=", 4) == 0) {
            max = fy_atoi(a->data + 4, a->len - 4);
            if (max <= 0 || max > INT_MAX) {
                goto invalid;
            }
        } else if (a->len > 9 && memcmp(a->data, "inactive=", 9) == 0) {
            v.data = a->data + 9;
            v.len = a->len - 9;
            if ((inactive = fy_conf_parse_msec(&v)) < 0) {
                goto invalid;
            }
        } else if (a->len > 6 && memcmp(a->data, "valid=", 6) == 0) {
            v.data = a->data + 6;
            v.len = a->len - 6;
            if ((valid = fy_conf_parse_msec(&v)) < 0) {
                goto invalid;
            }
        } else {
            goto invalid;
        }
    }
    if (max == 0) {
        fy_conf_error(cf, "\"%.*s\" must have the \"max\" parameter",
                      (int) cf->args[0].len, cf->args[0].data);
        return FY_CONF_ERROR;
    }
    t->cert_cache = fy_tls_certcache_create(cf->pool, (unsigned) max,
                                            inactive, valid);
    return t->cert_cache ? FY_CONF_OK : "cannot allocate memory";

invalid:
    fy_conf_error(cf, "invalid \"%.*s\" parameter \"%.*s\"",
                  (int) cf->args[0].len, cf->args[0].data, (int) a->len,
                  a->data);
    return FY_CONF_ERROR;
}

const char *
fy_tls_conf_set_protocols(fy_conf_t *cf, const fy_command_t *cmd, void *conf)
{
    static const struct { const char *name; unsigned bit; } names[] = {
        { "TLSv1", FY_TLS_V1 }, { "TLSv1.1", FY_TLS_V1_1 },
        { "TLSv1.2", FY_TLS_V1_2 }, { "TLSv1.3", FY_TLS_V1_3 },
    };
    unsigned  *protocols = (unsigned *) ((char *) conf + cmd->offset);
    unsigned   i, k;

    if (*protocols) {
        return "is duplicate";
    }
    for (i = 1; i < cf->nargs; i++) {
        for (k = 0; k < sizeof(names) / sizeof(names[0]); k++) {
            if (fy_str_eq(&cf->args[i], names[k].name)) {
                *protocols |= names[k].bit;
                break;
            }
        }
        if (k == sizeof(names) / sizeof(names[0])) {
            fy_conf_error(cf, "invalid value \"%s\" in \"%s\"",
                          cf->args[i].data, cmd->name);
            return FY_CONF_ERROR;
        }
    }
    return FY_CONF_OK;
}

const char *
fy_tls_conf_set_ciphers(fy_conf_t *cf, const fy_command_t *cmd, void *conf)
{
    fy_tls_conf_t  *t = fy_tls_conf_of(conf, cmd);

    if (t->ciphers) {
        return "is duplicate";
    }
    t->ciphers = fy_pstrndup(cf->pool, cf->args[1].data, cf->args[1].len);
    return t->ciphers ? FY_CONF_OK : "cannot allocate memory";
}

/* proxy_ssl_certificate, _certificate_key, _trusted_certificate,
 * _crl (a file: post is not NULL) or _ciphers: a fy_tls_up_arg_t at the
 * row's offset, with where it was written. */
const char *
fy_tls_conf_set_up_arg(fy_conf_t *cf, const fy_command_t *cmd, void *conf)
{
    fy_tls_up_arg_t  *a = (fy_tls_up_arg_t *) ((char *) conf + cmd->offset);

    if (a->value) {
        return "is duplicate";
    }
    a->value = cmd->post ? fy_conf_full_name(cf, cf->conf_dir, &cf->args[1])
                         : fy_pstrndup(cf->pool, cf->args[1].data,
                                       cf->args[1].len);
    if (a->value == NULL) {
        return "cannot allocate memory";
    }
    a->file = cf->file ? cf->file->name : "command line";
    a->line = cf->line;
    return FY_CONF_OK;
}

/* proxy_ssl_password_file FILE (http's and its twins', stream's): the
 * passphrases, read now as nginx does (a bad file is an error at its
 * line), into the fy_array_t * at the row's offset. */
const char *
fy_tls_conf_set_up_passwords(fy_conf_t *cf, const fy_command_t *cmd,
                             void *conf)
{
    fy_array_t  **pw = (fy_array_t **) ((char *) conf + cmd->offset);
    const char   *err = NULL;
    char         *path;

    if (*pw) {
        return "is duplicate";
    }
    path = fy_conf_full_name(cf, cf->conf_dir, &cf->args[1]);
    if (path == NULL) {
        return "cannot allocate memory";
    }
    *pw = fy_tls_read_passwords(cf->pool, path, &err);
    if (*pw == NULL) {
        fy_conf_error(cf, "cannot read %s \"%s\": %s", cmd->name, path, err);
        return FY_CONF_ERROR;
    }
    return FY_CONF_OK;
}

/* ssl_session_ticket_key FILE: the row's offset is a fy_tls_tickets_t */
const char *
fy_tls_conf_set_ticket_key(fy_conf_t *cf, const fy_command_t *cmd,
                           void *conf)
{
    fy_tls_tickets_t  *t;
    char             **path;

    t = (fy_tls_tickets_t *) ((char *) conf + cmd->offset);
    path = fy_array_push(&t->files);
    if (path == NULL) {
        return "cannot allocate memory";
    }
    *path = fy_conf_full_name(cf, cf->conf_dir, &cf->args[1]);
    return *path ? FY_CONF_OK : "cannot allocate memory";
}

/* ssl_session_cache off | none | [builtin[:N]] [shared:NAME:SIZE] */
const char *
fy_tls_conf_set_session_cache(fy_conf_t *cf, const fy_command_t *cmd,
                              void *conf)
{
    fy_tls_conf_t  *t = fy_tls_conf_of(conf, cmd);
    fy_str_t       *a, v;
    u_char         *colon;
    int64_t         n;
    unsigned        i;

    if (t->cache) {
        return "is duplicate";
    }
    for (i = 1; i < cf->nargs; i++) {
        a = &cf->args[i];
        if (fy_str_eq(a, "off") || fy_str_eq(a, "none")) {
            if (cf->nargs > 2) {
                goto invalid;
            }
            t->cache = fy_str_eq(a, "off") ? FY_TLS_CACHE_OFF
                                           : FY_TLS_CACHE_NONE;
            continue;
        }
        if (a->len >= 7 && memcmp(a->data, "builtin", 7) == 0
            && !(t->cache & FY_TLS_CACHE_BUILTIN))
        {
            if (a->len > 8 && a->data[7] == ':') {
                n = fy_atoi(a->data + 8, a->len - 8);
                if (n <= 0 || n > INT_MAX) {
                    goto invalid;
                }
                t->cache_builtin = (int) n;
            } else if (a->len != 7) {
                goto invalid;
            }
            t->cache |= FY_TLS_CACHE_BUILTIN;
            continue;
        }
        if (a->len > 7 && memcmp(a->data, "shared:", 7) == 0
            && !(t->cache & FY_TLS_CACHE_SHARED))
        {
            colon = memchr(a->data + 7, ':', a->len - 7);
            if (colon == NULL || colon == a->data + 7
                || colon - (a->data + 7) >= 64)
            {
                goto invalid;
            }
            t->cache_name = fy_pstrndup(cf->pool, a->data + 7,
                                        (size_t) (colon - (a->data + 7)));
            v.data = colon + 1;
            v.len = (size_t) (a->data + a->len - v.data);
            n = fy_conf_parse_size(&v);
            if (t->cache_name == NULL || n <= 0) {
                goto invalid;
            }
            if (n < FY_TLS_CACHE_MIN || n > FY_TLS_CACHE_MAX) {
                fy_conf_error(cf, "session cache \"%s\" must be between "
                              "32k and 1g", a->data);
                return FY_CONF_ERROR;
            }
            t->cache_size = (size_t) n;
            t->cache |= FY_TLS_CACHE_SHARED;
            continue;
        }
        goto invalid;
    }
    fy_tls_conf_where(cf, &t->cache_where);
    return FY_CONF_OK;

invalid:
    fy_conf_error(cf, "invalid session cache \"%s\"", cf->args[i].data);
    return FY_CONF_ERROR;
}

/* A zone named twice with two sizes: logged with both places. */
static int
fy_tls_conf_size_conflict(const char *what, const char *name, size_t size,
                          const fy_tls_where_t *w, size_t osize,
                          const fy_tls_where_t *ow)
{
    fy_log_error(FY_LOG_EMERG, 0, "the size %zu of %s \"%s\" conflicts "
                 "with the size %zu given in %s:%u, in %s:%u", size, what,
                 name, osize, ow->file, ow->line, w->file, w->line);
    return FY_ERROR;
}

/* One name, one size: t's shared session cache and OCSP cache against
 * o's (servers checked in order, http's and stream's each against
 * those before). */
int
fy_tls_conf_cache_conflict(const fy_tls_conf_t *t, const fy_tls_conf_t *o)
{
    if ((t->cache & FY_TLS_CACHE_SHARED) && (o->cache & FY_TLS_CACHE_SHARED)
        && strcmp(o->cache_name, t->cache_name) == 0
        && o->cache_size != t->cache_size)
    {
        return fy_tls_conf_size_conflict("ssl_session_cache", t->cache_name,
                                         t->cache_size, &t->cache_where,
                                         o->cache_size, &o->cache_where);
    }
    if (t->ocsp_cache == 1 && o->ocsp_cache == 1
        && strcmp(o->ocsp_cache_name, t->ocsp_cache_name) == 0
        && o->ocsp_cache_size != t->ocsp_cache_size)
    {
        return fy_tls_conf_size_conflict("ssl_ocsp_cache",
                                         t->ocsp_cache_name,
                                         t->ocsp_cache_size,
                                         &t->ocsp_cache_where,
                                         o->ocsp_cache_size,
                                         &o->ocsp_cache_where);
    }
    return FY_OK;
}

/* ssl_stapling on | off: the flag, and where it was given (for the
 * warnings about certificates it cannot staple). */
const char *
fy_tls_conf_set_stapling(fy_conf_t *cf, const fy_command_t *cmd, void *conf)
{
    fy_tls_conf_t  *t = fy_tls_conf_of(conf, cmd);
    fy_command_t    flag = *cmd;
    const char     *rv;

    flag.offset = offsetof(fy_tls_conf_t, stapling);
    rv = fy_conf_set_flag(cf, &flag, t);
    if (rv == FY_CONF_OK) {
        fy_tls_conf_where(cf, &t->stapling_where);
    }
    return rv;
}

/* ssl_stapling_responder and ssl_ocsp_responder URL: only http://
 * responders (nginx). */
const char *
fy_tls_conf_set_responder(fy_conf_t *cf, const fy_command_t *cmd, void *conf)
{
    char            **field = (char **) ((char *) conf + cmd->offset);
    fy_tls_where_t   *where = (fy_tls_where_t *) (field + 1);
    fy_str_t         *url = &cf->args[1];

    if (*field) {
        return "is duplicate";
    }
    if (url->len <= 7 || strncasecmp((char *) url->data, "http://", 7) != 0) {
        fy_conf_error(cf, "invalid URL prefix in OCSP responder \"%s\" "
                      "(only http:// responders are supported)", url->data);
        return FY_CONF_ERROR;
    }
    *field = fy_pstrndup(cf->pool, url->data, url->len);
    if (*field == NULL) {
        return "cannot allocate memory";
    }
    fy_tls_conf_where(cf, where);
    return FY_CONF_OK;
}

const fy_conf_enum_t  fy_tls_ocsp_modes[] = {
    { "off",  FY_TLS_OCSP_OFF },
    { "on",   FY_TLS_OCSP_ON },
    { "leaf", FY_TLS_OCSP_LEAF },
    { NULL, 0 }
};

/* ssl_ocsp_cache off | [shared:]NAME:SIZE, at least 32k as nginx's
 * (eight pages) */
const char *
fy_tls_conf_set_ocsp_cache(fy_conf_t *cf, const fy_command_t *cmd,
                           void *conf)
{
    fy_tls_conf_t  *t = fy_tls_conf_of(conf, cmd);
    fy_str_t       *a = &cf->args[1], v;
    u_char         *name, *colon;
    int64_t         n;

    if (t->ocsp_cache != -1) {
        return "is duplicate";
    }
    if (fy_str_eq(a, "off")) {
        t->ocsp_cache = 0;
        return FY_CONF_OK;
    }
    name = a->data;
    if (a->len > 7 && memcmp(name, "shared:", 7) == 0) {
        name += 7;
    }
    colon = memchr(name, ':', (size_t) (a->data + a->len - name));
    /* the zone is named "ocsp:NAME" beside the session caches: 58
     * characters leave room in a zone's name */
    if (colon == NULL || colon == name || colon - name > 58) {
        goto invalid;
    }
    v.data = colon + 1;
    v.len = (size_t) (a->data + a->len - v.data);
    n = fy_conf_parse_size(&v);
    if (n <= 0) {
        goto invalid;
    }
    if (n < FY_TLS_CACHE_MIN) {
        fy_conf_error(cf, "OCSP cache \"%s\" is too small", a->data);
        return FY_CONF_ERROR;
    }
    if (n > FY_TLS_CACHE_MAX) {
        fy_conf_error(cf, "OCSP cache \"%s\" is too large (1g at most)",
                      a->data);
        return FY_CONF_ERROR;
    }
    t->ocsp_cache_name = fy_pstrndup(cf->pool, name, (size_t) (colon - name));
    if (t->ocsp_cache_name == NULL) {
        return "cannot allocate memory";
    }
    t->ocsp_cache_size = (size_t) n;
    t->ocsp_cache = 1;
    fy_tls_conf_where(cf, &t->ocsp_cache_where);
    return FY_CONF_OK;

invalid:
    fy_conf_error(cf, "invalid OCSP cache \"%s\"", a->data);
    return FY_CONF_ERROR;
}
