/*
 * fy_stream_log.c -- the stream variables, texts made of them
 * (log_format, hash KEY), and access_log: one line per session,
 * written when it ends, as nginx's ngx_stream_log_module.
 *
 *   access_log PATH FORMAT [buffer=SIZE] [gzip[=LEVEL]] [flush=TIME]
 *              [if=COND] | off;                     stream, server
 *
 * A file is opened by the configuration reader (so -t and a reload
 * catch an unopenable path) and inherited by the workers; the files,
 * their buffers (buffer=, gzip), flush=, the reopen on SIGUSR1 and the
 * flush at a worker's exit are http's as well (fy_alog.c).  A PATH with
 * variables names the file per session, opened, written and closed by
 * the worker (fy_alog_write_named), or kept open by the server's
 * open_log_file_cache, as nginx's.
 * "access_log syslog:server=..." sends each line as one datagram
 * instead (fy_syslog.c).
 */
#include "fy_core.h"
#include "fy_stream.h"
#include "fy_worker.h"
#include "fy_syslog.h"
#include "fy_alog.h"

#include <ctype.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <sys/socket.h>

typedef struct {
    fy_str_t         name;
    fy_stream_cv_t  *cv;
} fy_stream_log_format_t;

static const char *fy_stream_log_format(fy_conf_t *cf,
    const fy_command_t *cmd, void *conf);
static const char *fy_stream_access_log(fy_conf_t *cf,
    const fy_command_t *cmd, void *conf);

const fy_command_t  fy_stream_log_commands[] = {

    { "log_format", FY_CONF_STREAM, 0, 2, FY_CONF_MANY,
      fy_stream_log_format, FY_CONF_MAIN_OFF, 0, NULL },

    { "access_log", FY_CONF_STREAM | FY_CONF_STREAM_SRV, 0, 1,
      FY_CONF_MANY, fy_stream_access_log, FY_CONF_SRV_OFF, 0, NULL },

    { "open_log_file_cache", FY_CONF_STREAM | FY_CONF_STREAM_SRV, 0, 1, 4,
      fy_alog_cache_set, FY_CONF_SRV_OFF,
      offsetof(fy_stream_srv_conf_t, log_cache), NULL },

    { NULL, 0, 0, 0, 0, NULL, 0, 0, NULL }
};

static const char *const  fy_stream_var_names[FY_STREAM_VAR_N] = {
    "remote_addr", "remote_port", "server_addr", "server_port",
    "upstream_addr", "bytes_sent", "bytes_received",
    "upstream_bytes_sent", "upstream_bytes_received",
    "upstream_connect_time", "session_time", "status", "connection",
    "pid", "time_local", "time_iso8601", "msec", "protocol", "hostname",
    "proxy_protocol_addr", "proxy_protocol_port",
    "proxy_protocol_server_addr", "proxy_protocol_server_port",
    "ssl_preread_server_name", "ssl_preread_alpn_protocols",
    "ssl_preread_protocol", "limit_conn_status", "binary_remote_addr",
    "ssl_protocol", "ssl_cipher", "ssl_server_name", "ssl_session_reused",
    "ssl_alpn_protocol", "ssl_client_verify", "ssl_client_s_dn",
    "ssl_client_i_dn", "ssl_client_serial", "ssl_client_fingerprint",
    "ssl_client_raw_cert", "ssl_client_cert", "ssl_client_escaped_cert",
    "ssl_client_s_dn_legacy", "ssl_client_i_dn_legacy",
    "ssl_client_v_start", "ssl_client_v_end", "ssl_client_v_remain",
    "ssl_ciphers", "ssl_curve", "ssl_curves", "ssl_session_id",
    "server_name", "realip_remote_addr", "realip_remote_port",
    "upstream_first_byte_time", "upstream_session_time", "nginx_version"
};

int
fy_stream_var_builtin(const u_char *p, size_t len)
{
    unsigned  v;

    for (v = 0; v < FY_STREAM_VAR_N; v++) {
        if (strlen(fy_stream_var_names[v]) == len
            && memcmp(fy_stream_var_names[v], p, len) == 0)
        {
            return (int) v;
        }
    }
    return -1;
}

/* A variable part's value into buf (size bytes): its length, cut. */
static size_t
fy_stream_part(fy_stream_session_t *s, const fy_stream_cv_part_t *part,
               u_char *buf, size_t size)
{
    fy_str_t  v;
    char      verify[11];

    if (part->var == FY_STREAM_VAR_CAPTURE) {
        /* the last map regex that matched with groups, this session */
        v.len = fy_http_captures_get(s->captures, &part->arg, buf, size);
        return fy_min(v.len, size);
    }
    if (part->var != FY_STREAM_VAR_PP_TLV) {
        return fy_stream_var(s, part->var, buf, size);
    }
    /* a TLV of the session's PROXY protocol header: empty without one */
    if (fy_pp_tlv(&s->pp, part->arg.data, part->arg.len, &v, verify)
        != FY_OK)
    {
        return 0;
    }
    v.len = fy_min(v.len, size);
    memcpy(buf, v.data, v.len);
    return v.len;
}

fy_stream_cv_t *
fy_stream_cv_compile(fy_conf_t *cf, const fy_str_t *text)
{
    fy_stream_cv_t       *cv;
    fy_stream_cv_part_t  *part;
    const u_char         *p = text->data, *end = text->data + text->len;
    const u_char         *lit, *name;
    size_t                n;
    unsigned              max = 1;
    int                   var, brace;

    for (n = 0; n < text->len; n++) {
        max += text->data[n] == '$';
    }
    cv = fy_pcalloc(cf->pool, sizeof(fy_stream_cv_t));
    if (cv == NULL
        || (cv->parts = fy_pcalloc(cf->pool,
                                   max * sizeof(fy_stream_cv_part_t))) == NULL)
    {
        fy_conf_error(cf, "cannot allocate memory");
        return NULL;
    }

    lit = p;
    while (p < end) {
        if (*p != '$') {
            p++;
            continue;
        }
        part = &cv->parts[cv->n];
        part->lit.data = (u_char *) lit;
        part->lit.len = (size_t) (p - lit);
        p++;
        brace = p < end && *p == '{';
        p += brace;
        name = p;
        if (p < end && *p >= '1' && *p <= '9') {
            p++;        /* "$1x" is $1 and then "x", as in nginx */
        } else {
            while (p < end && (isalnum(*p) || *p == '_')) {
                p++;
            }
        }
        if (brace && (p == end || *p != '}')) {
            fy_conf_error(cf, "the closing bracket in \"%.*s\" variable is "
                          "missing", (int) (p - name), name);
            return NULL;
        }
        if (p == name) {
            fy_conf_error(cf, "invalid variable name in \"%.*s\"",
                          (int) text->len, text->data);
            return NULL;
        }
        var = fy_stream_var_builtin(name, (size_t) (p - name));
        if (var < 0 && p - name > 19
            && memcmp(name, "proxy_protocol_tlv_", 19) == 0)
        {
            /* $proxy_protocol_tlv_NAME, as http's (fy_pp_tlv) */
            part->arg.data = (u_char *) name + 19;
            part->arg.len = (size_t) (p - name) - 19;
            if (!fy_pp_tlv_known(part->arg.data, part->arg.len)) {
                fy_conf_error(cf, "unknown PROXY protocol TLV \"%.*s\"",
                              (int) part->arg.len, (char *) part->arg.data);
                return NULL;
            }
            var = FY_STREAM_VAR_PP_TLV;
        }
        if (var == -1
            && ((p - name == 1 && *name >= '1' && *name <= '9')
                || fy_stream_map_group(cf, name, (size_t) (p - name))))
        {
            /* $1..$9, or a named group of a map's regex read so far:
             * the groups of the session's last matching map regex */
            part->arg.data = (u_char *) name;
            part->arg.len = (size_t) (p - name);
            var = FY_STREAM_VAR_CAPTURE;
        }
        if (var == -1) {
            /* a map's, perhaps defined further down */
            var = fy_stream_map_reference(cf, name, (size_t) (p - name));
        }
        if (var == -1) {
            fy_conf_error(cf, "unknown \"%.*s\" variable",
                          (int) (p - name), name);
            return NULL;
        }
        part->var = var;
        cv->n++;
        p += brace;
        lit = p;
    }
    part = &cv->parts[cv->n++];
    part->lit.data = (u_char *) lit;
    part->lit.len = (size_t) (end - lit);
    part->var = -1;
    return cv;
}

/* "seconds.milliseconds" */
static size_t
fy_stream_secs(u_char *buf, size_t size, uint64_t ms)
{
    int  n = snprintf((char *) buf, size, "%llu.%03u",
                      (unsigned long long) (ms / 1000),
                      (unsigned) (ms % 1000));

    return n < 0 ? 0 : fy_min((size_t) n, size - 1);
}

static size_t
fy_stream_local(fy_stream_session_t *s, u_char *buf, size_t size, int port)
{
    fy_sockaddr_t  sa;
    socklen_t      len = sizeof(sa);
    char           text[FY_SOCKADDR_STRLEN];

    if (getsockname(s->c->fd, &sa.sa, &len) == -1) {
        return 0;
    }
    if (port) {
        if (sa.sa.sa_family == AF_UNIX) {
            return 0;
        }
        return (size_t) snprintf((char *) buf, size, "%u",
                                 ntohs(sa.sin6.sin6_port));
    }
    fy_sockaddr_text(&sa.sa, len, text, sizeof(text), 0);
    return (size_t) snprintf((char *) buf, size, "%s", text);
}

size_t
fy_stream_var(fy_stream_session_t *s, int var, u_char *buf, size_t size)
{
    char   *b = (char *) buf;
    int     n = 0;

    switch (var) {
    case FY_STREAM_VAR_REMOTE_ADDR:
        n = snprintf(b, size, "%s", s->addr_text);
        break;
    case FY_STREAM_VAR_REMOTE_PORT:
        if (s->c->addr.sin6_family != AF_UNIX) {
            n = snprintf(b, size, "%u", ntohs(s->c->addr.sin6_port));
        }
        break;
    case FY_STREAM_VAR_REALIP_REMOTE_ADDR:
        /* the peer's own, before set_real_ip_from replaced it */
        if (!s->realip) {
            n = snprintf(b, size, "%s", s->addr_text);
            break;
        }
        {
            char  text[FY_SOCKADDR_STRLEN];

            fy_sockaddr_text((struct sockaddr *) &s->real_addr,
                             s->real_addrlen, text, sizeof(text), 0);
            n = snprintf(b, size, "%s", text);
        }
        break;
    case FY_STREAM_VAR_REALIP_REMOTE_PORT:
        if ((s->realip ? s->real_addr.sin6_family : s->c->addr.sin6_family)
            != AF_UNIX)
        {
            n = snprintf(b, size, "%u", ntohs(s->realip
                                              ? s->real_addr.sin6_port
                                              : s->c->addr.sin6_port));
        }
        break;
    case FY_STREAM_VAR_SERVER_ADDR:
        return fy_stream_local(s, buf, size, 0);
    case FY_STREAM_VAR_SERVER_PORT:
        return fy_stream_local(s, buf, size, 1);
    case FY_STREAM_VAR_UPSTREAM_ADDR:
        n = snprintf(b, size, "%.*s", (int) s->up_addrs_len, s->up_addrs);
        break;
    case FY_STREAM_VAR_BYTES_SENT:
        n = snprintf(b, size, "%llu", (unsigned long long) s->bytes_sent);
        break;
    case FY_STREAM_VAR_BYTES_RECEIVED:
        n = snprintf(b, size, "%llu",
                     (unsigned long long) s->bytes_received);
        break;
    case FY_STREAM_VAR_UPSTREAM_BYTES_SENT:
        n = snprintf(b, size, "%llu", (unsigned long long) s->up_sent);
        break;
    case FY_STREAM_VAR_UPSTREAM_BYTES_RECEIVED:
        n = snprintf(b, size, "%llu", (unsigned long long) s->up_received);
        break;
    case FY_STREAM_VAR_UPSTREAM_CONNECT_TIME:
        if (s->connect_time < 0) {
            n = snprintf(b, size, "-");
            break;
        }
        return fy_stream_secs(buf, size, (uint64_t) s->connect_time);
    case FY_STREAM_VAR_SESSION_TIME:
        return fy_stream_secs(buf, size, fy_current_msec - s->start);
    case FY_STREAM_VAR_UPSTREAM_FIRST_BYTE_TIME:
        if (s->first_byte < 0) {
            n = snprintf(b, size, "-");
            break;
        }
        return fy_stream_secs(buf, size, (uint64_t) s->first_byte);
    case FY_STREAM_VAR_UPSTREAM_SESSION_TIME:
        /* from the connect to the server until now (the session's end
         * when logged) */
        if (s->connect_time < 0) {
            n = snprintf(b, size, "-");
            break;
        }
        return fy_stream_secs(buf, size, fy_current_msec - s->connect_start);
    case FY_STREAM_VAR_NGINX_VERSION:
        n = snprintf(b, size, "%s", FY_VERSION);
        break;
    case FY_STREAM_VAR_STATUS:
        n = snprintf(b, size, "%03u", s->status);
        break;
    case FY_STREAM_VAR_CONNECTION:
        n = snprintf(b, size, "%llu", (unsigned long long) s->serial);
        break;
    case FY_STREAM_VAR_PID:
        n = snprintf(b, size, "%d", (int) getpid());
        break;
    case FY_STREAM_VAR_TIME_LOCAL:
        n = snprintf(b, size, "%.*s", (int) fy_log_time_local_len,
                     fy_log_time_local);
        break;
    case FY_STREAM_VAR_TIME_ISO8601:
        n = snprintf(b, size, "%.*s", (int) fy_time_iso8601_len,
                     fy_time_iso8601);
        break;
    case FY_STREAM_VAR_MSEC:
        return fy_stream_secs(buf, size, fy_wall_msec);
    case FY_STREAM_VAR_PROTOCOL:
        n = snprintf(b, size, "%s", s->udp ? "UDP" : "TCP");
        break;
    case FY_STREAM_VAR_HOSTNAME: {
        char  host[256];

        if (gethostname(host, sizeof(host)) == 0) {
            host[sizeof(host) - 1] = '\0';
            n = snprintf(b, size, "%s", host);
        }
        break;
    }
    case FY_STREAM_VAR_PP_ADDR:
        n = snprintf(b, size, "%s", s->pp.addr);
        break;
    case FY_STREAM_VAR_PP_SERVER_ADDR:
        n = snprintf(b, size, "%s", s->pp.server_addr);
        break;
    case FY_STREAM_VAR_PP_PORT:
    case FY_STREAM_VAR_PP_SERVER_PORT:
        if (s->pp.addr[0]) {
            n = snprintf(b, size, "%u", var == FY_STREAM_VAR_PP_PORT
                                        ? s->pp.port : s->pp.server_port);
        }
        break;
    case FY_STREAM_VAR_SSL_PREREAD_SERVER_NAME:
    case FY_STREAM_VAR_SSL_PREREAD_ALPN_PROTOCOLS:
    case FY_STREAM_VAR_SSL_PREREAD_PROTOCOL:
        /* empty without ssl_preread, and for what was not a whole
         * ClientHello */
        if (s->hello == NULL || !fy_tls_hello_complete(s->hello)) {
            break;
        }
        n = snprintf(b, size, "%s",
                     var == FY_STREAM_VAR_SSL_PREREAD_SERVER_NAME
                     ? s->hello->server_name
                     : var == FY_STREAM_VAR_SSL_PREREAD_ALPN_PROTOCOLS
                     ? s->hello->alpn : fy_tls_hello_protocol(s->hello));
        break;
    case FY_STREAM_VAR_SSL_PROTOCOL:
    case FY_STREAM_VAR_SSL_CIPHER:
    case FY_STREAM_VAR_SSL_SERVER_NAME:
    case FY_STREAM_VAR_SSL_SESSION_REUSED:
    case FY_STREAM_VAR_SSL_ALPN_PROTOCOL:
    case FY_STREAM_VAR_SSL_CLIENT_VERIFY:
    case FY_STREAM_VAR_SSL_CLIENT_S_DN:
    case FY_STREAM_VAR_SSL_CLIENT_I_DN:
    case FY_STREAM_VAR_SSL_CLIENT_SERIAL:
    case FY_STREAM_VAR_SSL_CLIENT_FINGERPRINT:
    case FY_STREAM_VAR_SSL_CLIENT_RAW_CERT:
    case FY_STREAM_VAR_SSL_CLIENT_CERT:
    case FY_STREAM_VAR_SSL_CLIENT_ESCAPED_CERT:
    case FY_STREAM_VAR_SSL_CLIENT_S_DN_LEGACY:
    case FY_STREAM_VAR_SSL_CLIENT_I_DN_LEGACY:
    case FY_STREAM_VAR_SSL_CLIENT_V_START:
    case FY_STREAM_VAR_SSL_CLIENT_V_END:
    case FY_STREAM_VAR_SSL_CLIENT_V_REMAIN:
    case FY_STREAM_VAR_SSL_CIPHERS:
    case FY_STREAM_VAR_SSL_CURVE:
    case FY_STREAM_VAR_SSL_CURVES:
    case FY_STREAM_VAR_SSL_SESSION_ID:
        return fy_stream_ssl_var(s, var, buf, size);
    case FY_STREAM_VAR_BINARY_REMOTE_ADDR: {
        /* 4 bytes for IPv4, 16 for IPv6, nothing for a unix client */
        const void  *a = NULL;
        size_t       len = 0;

        if (s->c->addr.sin6_family == AF_INET) {
            a = &((struct sockaddr_in *) (void *) &s->c->addr)->sin_addr;
            len = 4;
        } else if (s->c->addr.sin6_family == AF_INET6) {
            a = &s->c->addr.sin6_addr;
            len = 16;
        }
        len = fy_min(len, size);
        if (len) {
            memcpy(buf, a, len);
        }
        return len;
    }
    case FY_STREAM_VAR_LIMIT_CONN_STATUS:
        return fy_stream_limit_conn_var(s, buf, size ? size - 1 : 0);
    case FY_STREAM_VAR_SERVER_NAME:
        /* the first name of the session's server, as http's */
        n = s->scf->sn.server_name.len
            ? snprintf(b, size, "%.*s", (int) s->scf->sn.server_name.len,
                       (char *) s->scf->sn.server_name.data)
            : 0;
        break;
    default:
        if (var >= FY_STREAM_VAR_N) {
            return fy_stream_map_get(s, var, buf, size ? size - 1 : 0);
        }
        break;
    }
    return n < 0 ? 0 : fy_min((size_t) n, size ? size - 1 : 0);
}

size_t
fy_stream_cv_eval(fy_stream_session_t *s, const fy_stream_cv_t *cv,
                  u_char *buf, size_t size)
{
    const fy_stream_cv_part_t  *part;
    size_t                      len = 0, n;
    unsigned                    i;
    u_char                      val[4096];

    for (i = 0; i < cv->n; i++) {
        part = &cv->parts[i];
        n = fy_min(part->lit.len, size - len);
        memcpy(buf + len, part->lit.data, n);
        len += n;
        if (part->var == -1 || len + 1 >= size) {
            continue;
        }
        if (cv->escape == FY_STREAM_ESC_NONE) {
            len += fy_stream_part(s, part, buf + len, size - len);
            continue;
        }
        n = fy_stream_part(s, part, val, sizeof(val));
        len += fy_alog_escape(cv->escape, val, n, buf + len,
                                size - len - 1);
    }
    return len;
}

void
fy_stream_log_session(fy_stream_session_t *s)
{
    fy_stream_access_log_t  *al;
    u_char                   line[FY_SYSLOG_HEADER_MAX + 4096];
    size_t                   len;
    unsigned                 i;

    if (s->scf->logs == NULL) {
        return;
    }
    for (i = 0; i < s->scf->logs->nelts; i++) {
        al = fy_array_elt(s->scf->logs, fy_stream_access_log_t, i);
        if (al->cond) {
            /* if=: no line when the condition is empty or "0" (three
             * bytes tell "0" from a longer value) */
            len = fy_stream_cv_eval(s, al->cond, line, 3);
            if (len == 0 || (len == 1 && line[0] == '0')) {
                continue;
            }
        }
        if (al->syslog) {
            len = fy_syslog_header(al->syslog, al->syslog->severity, line);
            len += fy_stream_cv_eval(s, al->format, line + len, 4096 - 1);
            fy_syslog_send(al->syslog, line, len);
            continue;
        }
        len = fy_stream_cv_eval(s, al->format, line, 4096 - 1);
        line[len++] = '\n';
        if (al->path_cv) {
            u_char  name[4096];
            size_t  n = fy_stream_cv_eval(s, al->path_cv, name,
                                          sizeof(name));

            fy_alog_write_named(s->scf->log_cache.cache, al->path,
                                al->prefix, name, n, s->addr_text, line,
                                len);
            continue;
        }
        fy_alog_write(al->file, line, len);
    }
}

/* ---- directives ---- */

static const char *
fy_stream_log_format(fy_conf_t *cf, const fy_command_t *cmd, void *conf)
{
    fy_stream_main_conf_t   *smcf = conf;
    fy_stream_log_format_t  *fmt;
    fy_str_t                 text;
    unsigned                 i, first = 2, escape = FY_STREAM_ESC_DEFAULT;
    size_t                   len = 0;
    u_char                  *p;

    fy_unused(cmd);

    if (smcf->formats.elts == NULL) {
        fy_array_init(&smcf->formats, cf->pool, 2,
                      sizeof(fy_stream_log_format_t));
    }
    for (i = 0; i < smcf->formats.nelts; i++) {
        fmt = fy_array_elt(&smcf->formats, fy_stream_log_format_t, i);
        if (fmt->name.len == cf->args[1].len
            && memcmp(fmt->name.data, cf->args[1].data, fmt->name.len) == 0)
        {
            fy_conf_error(cf, "duplicate \"log_format\" name \"%s\"",
                          cf->args[1].data);
            return FY_CONF_ERROR;
        }
    }
    if (cf->args[2].len > 7
        && memcmp(cf->args[2].data, "escape=", 7) == 0)
    {
        if (fy_str_eq(&cf->args[2], "escape=json")) {
            escape = FY_STREAM_ESC_JSON;
        } else if (fy_str_eq(&cf->args[2], "escape=none")) {
            escape = FY_STREAM_ESC_NONE;
        } else if (!fy_str_eq(&cf->args[2], "escape=default")) {
            fy_conf_error(cf, "unknown log format escaping \"%s\"",
                          cf->args[2].data + 7);
            return FY_CONF_ERROR;
        }
        first = 3;
        if (cf->nargs < 4) {
            return "has no format";
        }
    }
    for (i = first; i < cf->nargs; i++) {
        len += cf->args[i].len;
    }
    p = fy_palloc(cf->pool, len + 1);
    if (p == NULL) {
        return "cannot allocate memory";
    }
    text.data = p;
    for (i = first; i < cf->nargs; i++) {
        memcpy(p, cf->args[i].data, cf->args[i].len);
        p += cf->args[i].len;
    }
    *p = '\0';
    text.len = len;

    fmt = fy_array_push(&smcf->formats);
    if (fmt == NULL) {
        return "cannot allocate memory";
    }
    fmt->name = cf->args[1];
    fmt->cv = fy_stream_cv_compile(cf, &text);
    if (fmt->cv == NULL) {
        return FY_CONF_ERROR;
    }
    fmt->cv->escape = escape;
    return FY_CONF_OK;
}

/* access_log PATH FORMAT [buffer=SIZE] [gzip[=LEVEL]] [flush=TIME]
 * [if=COND] | off.  The format is looked up once the stream block is
 * read (fy_stream_log_init_cycle), so it may come later in the file;
 * until then it is kept by name. */
static const char *
fy_stream_access_log(fy_conf_t *cf, const fy_command_t *cmd, void *conf)
{
    fy_stream_srv_conf_t    *scf = conf;
    fy_stream_access_log_t  *al;
    fy_stream_cv_t          *cond = NULL;
    fy_alog_params_t         params = { 0, 0, 0 };
    fy_str_t                 val;
    char                    *path;
    unsigned                 i;
    int                      rc;

    fy_unused(cmd);

    if (fy_str_eq(&cf->args[1], "off")) {
        if (cf->nargs != 2) {
            return "has invalid parameters after \"off\"";
        }
        scf->log_off = 1;
        return FY_CONF_OK;
    }
    if (cf->nargs < 3) {
        /* nginx's stream log has no default format */
        fy_conf_error(cf, "\"access_log\" in stream needs a format name");
        return FY_CONF_ERROR;
    }
    for (i = 3; i < cf->nargs; i++) {
        rc = fy_alog_param(cf, &cf->args[i], &params);
        if (rc == -1) {
            return FY_CONF_ERROR;
        }
        if (rc == 1) {
            continue;
        }
        if (cf->args[i].len > 3
            && strncmp((char *) cf->args[i].data, "if=", 3) == 0
            && cond == NULL)
        {
            val.data = cf->args[i].data + 3;
            val.len = cf->args[i].len - 3;
            cond = fy_stream_cv_compile(cf, &val);
            if (cond == NULL) {
                return FY_CONF_ERROR;
            }
            continue;
        }
        fy_conf_error(cf, "invalid parameter \"%s\"", cf->args[i].data);
        return FY_CONF_ERROR;
    }
    if (scf->logs == NULL) {
        scf->logs = fy_pcalloc(cf->pool, sizeof(fy_array_t));
        if (scf->logs == NULL) {
            return "cannot allocate memory";
        }
        fy_array_init(scf->logs, cf->pool, 1, sizeof(fy_stream_access_log_t));
    }
    al = fy_array_push(scf->logs);
    if (al == NULL) {
        return "cannot allocate memory";
    }
    memset(al, 0, sizeof(fy_stream_access_log_t));
    al->cond = cond;
    al->format_name = cf->args[2];
    al->line = cf->line;
    al->path = (char *) cf->args[1].data;

    if (fy_syslog_is(&cf->args[1])) {
        /* a peer of its own, in no file list: nothing to reopen */
        al->syslog = fy_syslog_conf(cf, &cf->args[1]);
        if (al->syslog == NULL) {
            return FY_CONF_ERROR;
        }
    } else if (memchr(cf->args[1].data, '$', cf->args[1].len)) {
        /* opened per line: nothing to open now, flush or reopen */
        al->path_cv = fy_stream_cv_compile(cf, &cf->args[1]);
        if (al->path_cv == NULL) {
            return FY_CONF_ERROR;
        }
        al->prefix = cf->prefix;
    }
    if (fy_alog_params_check(cf, &params, &cf->args[1], al->syslog != NULL,
                             al->path_cv != NULL) != FY_OK)
    {
        return FY_CONF_ERROR;
    }
    if (al->syslog || al->path_cv) {
        return FY_CONF_OK;
    }
    path = fy_conf_full_name(cf, cf->prefix, &cf->args[1]);
    if (path == NULL) {
        return "cannot allocate memory";
    }
    al->file = fy_alog_file(cf, path, &params);
    return al->file ? FY_CONF_OK : FY_CONF_ERROR;
}

static int
fy_stream_log_resolve(fy_conf_t *cf, fy_stream_main_conf_t *smcf,
                      fy_stream_srv_conf_t *scf)
{
    fy_stream_access_log_t  *al;
    fy_stream_log_format_t  *fmt;
    fy_str_t                *name;
    unsigned                 i, j;

    if (scf->log_off == 1) {
        scf->logs = NULL;       /* "off" cancels the level's logs */
        return FY_OK;
    }
    for (i = 0; scf->logs && i < scf->logs->nelts; i++) {
        al = fy_array_elt(scf->logs, fy_stream_access_log_t, i);
        name = &al->format_name;
        for (j = 0; j < smcf->formats.nelts; j++) {
            fmt = fy_array_elt(&smcf->formats, fy_stream_log_format_t, j);
            if (fmt->name.len == name->len
                && memcmp(fmt->name.data, name->data, name->len) == 0)
            {
                al->format = fmt->cv;
                break;
            }
        }
        if (al->format == NULL) {
            fy_log_error(FY_LOG_EMERG, 0, "unknown log format \"%.*s\" in "
                         "%s:%u", (int) name->len, (char *) name->data,
                         scf->file, al->line);
            return FY_ERROR;
        }
    }
    fy_unused(cf);
    return FY_OK;
}

int
fy_stream_log_init_cycle(fy_conf_t *cf, fy_stream_main_conf_t *smcf)
{
    unsigned  i;

    if (fy_stream_log_resolve(cf, smcf, smcf->srv) != FY_OK) {
        return FY_ERROR;
    }
    for (i = 0; i < smcf->servers.nelts; i++) {
        if (fy_stream_log_resolve(cf, smcf,
                *fy_array_elt(&smcf->servers, fy_stream_srv_conf_t *, i))
            != FY_OK)
        {
            return FY_ERROR;
        }
    }
    return FY_OK;
}
