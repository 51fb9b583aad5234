/*
 * fy_http_listen_opts.c -- the socket parameters of "listen", shared by
 * http and stream: backlog=, rcvbuf=, sndbuf=, fastopen=, ipv6only=,
 * so_keepalive=, deferred and bind (nginx's).  They belong to the
 * address, not to the server: fy_listen.c sets them on the listening
 * socket, whose accepted sockets inherit them.
 */
#include "fy_core.h"
#include "fy_http.h"
#include "fy_http_conf.h"

void
fy_listen_opts_init(fy_listen_opts_t *o)
{
    memset(o, 0, sizeof(*o));
    o->backlog = -1;
    o->rcvbuf = -1;
    o->sndbuf = -1;
    o->fastopen = -1;
    o->ipv6only = -1;
    o->keepalive = -1;
}

int
fy_listen_opts_add(fy_listen_t *ls, const fy_listen_opts_t *o,
                   const char *file, unsigned line)
{
    if (o->set) {
        if (ls->sock.set) {
            fy_log_error(FY_LOG_EMERG, 0, "duplicate listen options for %s "
                         "in %s:%u", ls->text, file, line);
            return FY_ERROR;
        }
        ls->sock = *o;
    }
    ls->sock.bind |= o->bind;
    return FY_OK;
}

/* so_keepalive=on|off|[keepidle]:[keepintvl]:[keepcnt] as nginx reads
 * it: idle and interval are times (seconds by default), at least 1s
 * and at most 32767s (the kernel's limit), the count 1 to 127; an
 * empty field leaves the system's value. */
static int
fy_http_listen_keepalive(fy_listen_opts_t *o, const fy_str_t *v)
{
    u_char   *p = v->data, *end = v->data + v->len, *colon;
    int      *field[3] = { &o->keepidle, &o->keepintvl, &o->keepcnt };
    int64_t   n;
    unsigned  i;

    if (fy_str_eq(v, "on") || fy_str_eq(v, "off")) {
        o->keepalive = v->data[1] == 'n';
        return FY_OK;
    }
    for (i = 0; i < 3; i++) {
        colon = memchr(p, ':', (size_t) (end - p));
        if (colon == NULL) {
            colon = end;
        }
        if (colon > p) {
            fy_str_t  s = { (size_t) (colon - p), p };

            n = i < 2 ? fy_conf_parse_msec(&s) : fy_atoi(p, s.len);
            if (n < 0 || (i < 2 && (n < 1000 || n / 1000 > 32767))
                || (i == 2 && (n < 1 || n > 127)))
            {
                return FY_ERROR;
            }
            *field[i] = (int) (i < 2 ? n / 1000 : n);
        }
        if (colon == end) {
            break;
        }
        p = colon + 1;
    }
    if (p < end && i == 3) {
        return FY_ERROR;
    }
    if (o->keepidle == 0 && o->keepintvl == 0 && o->keepcnt == 0) {
        return FY_ERROR;
    }
    o->keepalive = 1;
    return FY_OK;
}

/* A TCP-only parameter on a unix-domain address: nginx takes it and
 * only logs at start that setsockopt() failed; refuse it here, where
 * the file and line are. */
static int
fy_http_listen_tcp_only(fy_conf_t *cf, int family, const char *name)
{
    if (family != AF_UNIX) {
        return 0;
    }
    fy_conf_error(cf, "\"%s\" is a TCP option and cannot be used with "
                  "\"%s\" in \"listen\"", name, cf->args[1].data);
    return 1;
}

/*
 * cf->args[i] of an http or stream listen into *o.  1: it was one of
 * the socket parameters, 0: it was not, -1: an error, logged.
 */
int
fy_http_listen_param(fy_conf_t *cf, unsigned i, int family,
                     fy_listen_opts_t *o)
{
    fy_str_t  *arg = &cf->args[i], v;
    int64_t    n;

    if (fy_str_eq(arg, "bind")) {
        /* a socket of its own even beside a wildcard listen (nginx) */
        o->bind = 1;
        return 1;
    }
    if (fy_str_eq(arg, "reuseport")) {
        /* one socket per worker, balanced by the kernel, is the
         * opposite of the master accepting and choosing a worker
         * (worker_dispatch) */
        fy_conf_error(cf, "\"reuseport\" is not supported: the master "
                      "accepts every connection and hands it to a worker "
                      "(see worker_dispatch)");
        return -1;
    }
    if (fy_http_param(arg, "backlog", &v)) {
        n = fy_atoi(v.data, v.len);
        if (n < 1 || n > 65535) {
            fy_conf_error(cf, "invalid backlog \"%s\" in \"listen\" "
                          "(1 to 65535)", v.data);
            return -1;
        }
        o->backlog = (int) n;

    } else if (fy_str_eq(arg, "deferred")) {
        if (fy_http_listen_tcp_only(cf, family, "deferred")) {
            return -1;
        }
        o->deferred = 1;

    } else if (fy_http_param(arg, "rcvbuf", &v)
               || fy_http_param(arg, "sndbuf", &v))
    {
        /* the kernel doubles the value and keeps it within
         * net.core.rmem_max / wmem_max */
        n = fy_conf_parse_size(&v);
        if (n < 1 || n > INT32_MAX / 2) {
            fy_conf_error(cf, "invalid %.6s \"%s\" in \"listen\"",
                          arg->data, v.data);
            return -1;
        }
        *(arg->data[0] == 'r' ? &o->rcvbuf : &o->sndbuf) = (int) n;

    } else if (fy_http_param(arg, "fastopen", &v)) {
        n = fy_atoi(v.data, v.len);
        if (n < 0 || n > INT32_MAX) {
            fy_conf_error(cf, "invalid fastopen \"%s\" in \"listen\"",
                          v.data);
            return -1;
        }
        if (fy_http_listen_tcp_only(cf, family, "fastopen")) {
            return -1;
        }
        o->fastopen = (int) n;

    } else if (fy_http_param(arg, "ipv6only", &v)) {
        if (!fy_str_eq(&v, "on") && !fy_str_eq(&v, "off")) {
            fy_conf_error(cf, "invalid ipv6only flags \"%s\" in "
                          "\"listen\"", v.data);
            return -1;
        }
        if (family != AF_INET6) {
            /* nginx ignores it on another address, with a warning */
            fy_log_error(FY_LOG_WARN, 0, "ipv6only is not supported on "
                         "addr \"%s\", ignored in %s:%u", cf->args[1].data,
                         cf->file ? cf->file->name : "command line",
                         cf->line);
            return 1;
        }
        o->ipv6only = v.data[1] == 'n';

    } else if (fy_http_param(arg, "so_keepalive", &v)) {
        if (family == AF_UNIX || fy_http_listen_keepalive(o, &v) != FY_OK) {
            fy_conf_error(cf, "invalid so_keepalive value: \"%s\"",
                          arg->data);
            return -1;
        }

    } else {
        return 0;
    }
    /* as nginx: a socket option asks for a socket of its own */
    o->set = 1;
    o->bind = 1;
    return 1;
}
