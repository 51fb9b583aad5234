/*
 * fy_http_ssl_cert.c -- http's side of ssl_certificate and
 * ssl_certificate_key with variables (the loading at each handshake is
 * src/tls/fy_tls_certvar.c's): the names compiled when the
 * configuration is read, and evaluated for a connection during its
 * handshake.
 *
 * There is no request yet then, so only the variables that a
 * connection has by itself can be used: those of the table below,
 * whose getters read nothing but the connection (r->hc), and maps
 * (with regex captures) whose sources and values use nothing else.
 * nginx evaluates with an empty request, where the others are empty or
 * meaningless; ferry refuses them when the configuration is read, with
 * the file and line, rather than load a file named after an empty
 * value.  A map can be checked only once every map block is read: at
 * the end (fy_http_ssl_cert_check).
 */
#include "fy_core.h"
#include "fy_http.h"

#define FY_HTTP_SSL_CERT_VARS                                              \
    "$ssl_server_name, $server_addr, $server_port, $remote_addr, maps "    \
    "of them and the like"

/* maps within maps, followed this deep (a deeper chain is a cycle) */
#define FY_HTTP_SSL_CERT_DEPTH  8

/* The variables a connection has before any request. */
static const char  *fy_http_ssl_cert_vars[] = {
    "ssl_server_name", "remote_addr", "remote_port", "binary_remote_addr",
    "server_addr", "server_port", "https", "connection",
    "proxy_protocol_addr", "proxy_protocol_port",
    "proxy_protocol_server_addr", "proxy_protocol_server_port",
    "hostname", "pid", "msec", "time_local", "time_iso8601",
    "nginx_version", NULL
};

/* A compiled name and where it was written. */
typedef struct {
    fy_http_cv_t    *cv;
    const char      *directive;
    fy_tls_where_t   where;
    unsigned         maps:1;          /* evaluation needs a pool */
} fy_http_ssl_cert_t;

/* A variable that may not be used, named into text; or "" */
typedef struct {
    char      text[160];
    unsigned  depth;
    unsigned  maps;                   /* 0: maps are not followed yet */
} fy_http_ssl_cert_bad_t;

static int
fy_http_ssl_cert_check_cv(void *data, void *arg)
{
    const fy_http_cv_t      *cv = data;
    fy_http_ssl_cert_bad_t  *bad = arg;
    const fy_http_cv_part_t *part;
    const fy_str_t          *name;
    const char             **v;
    unsigned                 i;
    int                      rc;

    for (i = 0; cv && i < cv->nparts; i++) {
        part = &cv->parts[i];
        if (part->var) {
            for (v = fy_http_ssl_cert_vars; *v; v++) {
                if (strcmp(*v, part->var->name) == 0) {
                    break;
                }
            }
            if (*v == NULL) {
                snprintf(bad->text, sizeof(bad->text), "variable \"$%s\"",
                         part->var->name);
                return FY_ERROR;
            }
        } else if (part->pvar) {
            /* $1..$9 of a map's regex, within the map's value */
            if (bad->depth && fy_http_cv_part_is_capture(part)) {
                continue;
            }
            snprintf(bad->text, sizeof(bad->text), "variable \"$%s%.*s\"",
                     part->pvar->prefix, (int) part->arg.len,
                     part->arg.data);
            return FY_ERROR;
        } else if (part->map && bad->maps) {
            name = fy_http_map_var_name(part->map);
            if (bad->depth == FY_HTTP_SSL_CERT_DEPTH) {
                snprintf(bad->text, sizeof(bad->text), "variable \"$%.*s\" "
                         "(maps within maps too deep)", (int) name->len,
                         name->data);
                return FY_ERROR;
            }
            bad->depth++;
            rc = fy_http_map_each_cv(part->map, fy_http_ssl_cert_check_cv,
                                     bad);
            bad->depth--;
            if (rc == FY_DECLINED) {
                snprintf(bad->text, sizeof(bad->text), "variable \"$%.*s\" "
                         "(geo, split_clients or set)", (int) name->len,
                         name->data);
            }
            if (rc != FY_OK) {
                return FY_ERROR;
            }
        }
    }
    return FY_OK;
}

static void *
fy_http_ssl_cert_compile(fy_conf_t *cf, const fy_str_t *text)
{
    fy_http_ssl_cert_t      *sc;
    fy_http_ssl_cert_bad_t   bad;
    unsigned                 i;

    sc = fy_pcalloc(cf->pool, sizeof(fy_http_ssl_cert_t));
    if (sc == NULL) {
        return NULL;
    }
    sc->cv = fy_http_cv_compile(cf, text);
    sc->directive = fy_pstrndup(cf->pool, cf->args[0].data, cf->args[0].len);
    if (sc->cv == NULL || sc->directive == NULL) {
        return NULL;
    }
    fy_tls_conf_where(cf, &sc->where);
    for (i = 0; i < sc->cv->nparts; i++) {
        if (sc->cv->parts[i].map) {
            sc->maps = 1;
        }
    }
    /* the variables themselves now; the maps' once they are all read */
    bad.depth = 0;
    bad.maps = 0;
    if (fy_http_ssl_cert_check_cv(sc->cv, &bad) != FY_OK) {
        fy_conf_error(cf, "%s cannot be used in \"%s\": the certificate is "
                      "chosen during the handshake, before any request (%s)",
                      bad.text, sc->directive, FY_HTTP_SSL_CERT_VARS);
        return NULL;
    }
    return sc;
}

int
fy_http_ssl_cert_check(const fy_tls_conf_t *t)
{
    const fy_array_t        *lists[] = { t->cert_values, t->key_values };
    const fy_http_ssl_cert_t *sc;
    fy_http_ssl_cert_bad_t   bad;
    unsigned                 i, j;

    for (i = 0; i < 2; i++) {
        for (j = 0; lists[i] && j < lists[i]->nelts; j++) {
            sc = *fy_array_elt(lists[i], fy_http_ssl_cert_t *, j);
            bad.depth = 0;
            bad.maps = 1;
            if (sc && fy_http_ssl_cert_check_cv(sc->cv, &bad) != FY_OK) {
                fy_log_error(FY_LOG_EMERG, 0, "%s cannot be used in \"%s\": "
                             "the certificate is chosen during the "
                             "handshake, before any request (%s) in %s:%u",
                             bad.text, sc->directive, FY_HTTP_SSL_CERT_VARS,
                             sc->where.file, sc->where.line);
                return FY_ERROR;
            }
        }
    }
    return FY_OK;
}

/*
 * The value for connection c (c->data is its fy_http_conn_t).  The
 * getters take a request: one that is empty but for its connection
 * serves, and the variables allowed read nothing else; maps get a pool
 * for their values and captures, gone with the evaluation.  A worker
 * evaluates one name at a time.
 */
static size_t
fy_http_ssl_cert_eval(fy_conn_t *c, const void *data, u_char *buf,
                      size_t size)
{
    static fy_http_request_t   r;
    const fy_http_ssl_cert_t  *sc = data;
    size_t                     len = 0, n;
    unsigned                   i;

    r.hc = c->data;
    if (sc->maps && (r.pool = fy_pool_create(1024)) == NULL) {
        return 0;
    }
    for (i = 0; i < sc->cv->nparts; i++) {
        n = fy_http_cv_part_get(&r, &sc->cv->parts[i], buf + len,
                                size - len);
        if (n >= size - len) {
            len = size;
            break;
        }
        len += n;
    }
    fy_pool_destroy(r.pool);
    r.pool = NULL;
    r.map_values = NULL;
    r.captures = NULL;
    return len;
}

const fy_tls_values_t  fy_http_ssl_cert_values = {
    fy_http_ssl_cert_compile,
    fy_http_ssl_cert_eval
};
