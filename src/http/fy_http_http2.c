/*
 * fy_http_http2.c -- "http2 on", "listen ... http2" and the http2_*
 * directives of nginx configurations, where ferry speaks HTTP/1.1.
 *
 * A configuration written for nginx with HTTP/2 still describes a
 * site ferry can serve: browsers and other clients fall back to
 * HTTP/1.1 when the server offers nothing else in ALPN, which is what
 * ferry's TLS does (fy_tls.c).  So these are accepted, their values
 * checked as nginx checks them, and each one is named in a start-up
 * warning with its file and line, rather than refused (an nginx built
 * without HTTP/2 refuses them; the operator moving over gains nothing
 * from editing them all out).  They change nothing else.
 */
#include "fy_core.h"
#include "fy_http.h"

/* What a directive's value must look like. */
enum {
    FY_HTTP2_FLAG,
    FY_HTTP2_NUMBER,
    FY_HTTP2_SIZE,            /* a size, more than 0 */
    FY_HTTP2_TIME,
    FY_HTTP2_PUSH,            /* "off" or a URI */
    FY_HTTP2_POOL,            /* a size, at least 112, a multiple of 16 */
    FY_HTTP2_POW2             /* a number, a power of two */
};

typedef struct {
    int       kind;
    unsigned  bit;            /* in http2_seen */
} fy_http2_arg_t;

static const char *fy_http_http2_set(fy_conf_t *cf, const fy_command_t *cmd,
    void *conf);

#define FY_HTTP2_ROW(name, ctx, off, kind, bit)                             \
    { name, ctx, 0, 1, 1, fy_http_http2_set, off, 0,                        \
      &(const fy_http2_arg_t) { kind, 1u << (bit) } }

#define FY_HS   (FY_CONF_HTTP | FY_CONF_SRV)
#define FY_HSL  (FY_CONF_HTTP | FY_CONF_SRV | FY_CONF_LOC)

/* nginx's directives and contexts (those obsolete since 1.19.7 and
 * 1.25.1 included: older configurations still carry them) */
const fy_command_t  fy_http_http2_commands[] = {
    FY_HTTP2_ROW("http2", FY_HS, FY_CONF_SRV_OFF, FY_HTTP2_FLAG, 0),
    FY_HTTP2_ROW("http2_body_preread_size", FY_HS, FY_CONF_SRV_OFF,
                 FY_HTTP2_SIZE, 1),
    FY_HTTP2_ROW("http2_chunk_size", FY_HSL, FY_CONF_LOC_OFF,
                 FY_HTTP2_SIZE, 2),
    FY_HTTP2_ROW("http2_idle_timeout", FY_HS, FY_CONF_SRV_OFF,
                 FY_HTTP2_TIME, 3),
    FY_HTTP2_ROW("http2_max_concurrent_pushes", FY_HS, FY_CONF_SRV_OFF,
                 FY_HTTP2_NUMBER, 4),
    FY_HTTP2_ROW("http2_max_concurrent_streams", FY_HS, FY_CONF_SRV_OFF,
                 FY_HTTP2_NUMBER, 5),
    FY_HTTP2_ROW("http2_max_field_size", FY_HS, FY_CONF_SRV_OFF,
                 FY_HTTP2_SIZE, 6),
    FY_HTTP2_ROW("http2_max_header_size", FY_HS, FY_CONF_SRV_OFF,
                 FY_HTTP2_SIZE, 7),
    FY_HTTP2_ROW("http2_max_requests", FY_HS, FY_CONF_SRV_OFF,
                 FY_HTTP2_NUMBER, 8),
    FY_HTTP2_ROW("http2_push", FY_HSL, FY_CONF_LOC_OFF, FY_HTTP2_PUSH, 9),
    FY_HTTP2_ROW("http2_push_preload", FY_HSL, FY_CONF_LOC_OFF,
                 FY_HTTP2_FLAG, 10),
    FY_HTTP2_ROW("http2_recv_buffer_size", FY_CONF_HTTP, FY_CONF_SRV_OFF,
                 FY_HTTP2_SIZE, 11),
    FY_HTTP2_ROW("http2_recv_timeout", FY_HS, FY_CONF_SRV_OFF,
                 FY_HTTP2_TIME, 12),
    FY_HTTP2_ROW("http2_pool_size", FY_HS, FY_CONF_SRV_OFF, FY_HTTP2_POOL,
                 13),
    FY_HTTP2_ROW("http2_streams_index_size", FY_HS, FY_CONF_SRV_OFF,
                 FY_HTTP2_POW2, 14),
    { NULL, 0, 0, 0, 0, NULL, 0, 0, NULL }
};

void
fy_http_http2_ignored(fy_conf_t *cf, const char *what)
{
    fy_log_error(FY_LOG_WARN, 0, "ferry speaks HTTP/1.1 only; %s ignored "
                 "in %s:%u", what, cf->file ? cf->file->name : "command line",
                 cf->line);
}

static const char *
fy_http_http2_set(fy_conf_t *cf, const fy_command_t *cmd, void *conf)
{
    const fy_http2_arg_t  *arg = cmd->post;
    fy_str_t              *v = &cf->args[1];
    unsigned              *seen;
    int64_t                n = 0;
    char                   what[64];

    seen = cmd->conf == FY_CONF_LOC_OFF
           ? &((fy_http_loc_conf_t *) conf)->http2_seen
           : &((fy_http_srv_conf_t *) conf)->http2_seen;
    if (*seen & arg->bit) {
        return "is duplicate";
    }

    switch (arg->kind) {
    case FY_HTTP2_FLAG:
        if (fy_str_eq_ci(v, "on")) {
            n = 1;
        } else if (!fy_str_eq_ci(v, "off")) {
            fy_conf_error(cf, "\"%s\" directive invalid value \"%s\", it "
                          "must be \"on\" or \"off\"", cmd->name, v->data);
            return FY_CONF_ERROR;
        }
        break;
    case FY_HTTP2_NUMBER:
        n = fy_atoi(v->data, v->len);
        break;
    case FY_HTTP2_SIZE:
        n = fy_conf_parse_size(v);
        if (n == 0) {
            fy_conf_error(cf, "\"%s\" cannot be zero", cmd->name);
            return FY_CONF_ERROR;
        }
        break;
    case FY_HTTP2_TIME:
        n = fy_conf_parse_msec(v);
        break;
    case FY_HTTP2_POOL:
        /* nginx's NGX_MIN_POOL_SIZE on 64-bit, NGX_POOL_ALIGNMENT */
        n = fy_conf_parse_size(v);
        if (n >= 0 && n < 112) {
            fy_conf_error(cf, "the pool size must be no less than 112");
            return FY_CONF_ERROR;
        }
        if (n >= 0 && n % 16 != 0) {
            fy_conf_error(cf, "the pool size must be a multiple of 16");
            return FY_CONF_ERROR;
        }
        break;
    case FY_HTTP2_POW2:
        n = fy_atoi(v->data, v->len);
        if (n > 0 && (n & (n - 1)) != 0) {
            fy_conf_error(cf, "the number must be a power of two");
            return FY_CONF_ERROR;
        }
        if (n == 0) {
            n = -1;
        }
        break;
    default:                      /* http2_push: off or a URI */
        n = !fy_str_eq(v, "off");
        break;
    }
    if (n < 0) {
        fy_conf_error(cf, "\"%s\" directive invalid value \"%s\"",
                      cmd->name, v->data);
        return FY_CONF_ERROR;
    }
    *seen |= arg->bit;

    /* "http2 off" and "http2_push off" ask for what ferry does */
    if ((arg->kind == FY_HTTP2_FLAG || arg->kind == FY_HTTP2_PUSH)
        && n == 0)
    {
        return FY_CONF_OK;
    }
    if (arg->kind == FY_HTTP2_FLAG) {
        snprintf(what, sizeof(what), "\"%s on\"", cmd->name);
    } else {
        snprintf(what, sizeof(what), "\"%s\"", cmd->name);
    }
    fy_http_http2_ignored(cf, what);
    return FY_CONF_OK;
}
