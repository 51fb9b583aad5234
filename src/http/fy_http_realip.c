/*
 * fy_http_realip.c -- nginx's realip module: the client address a
 * trusted proxy in front of ferry sends in a header.
 *
 *     set_real_ip_from  10.0.0.0/8;        # repeatable; also "unix:"
 *     real_ip_header    X-Forwarded-For;   # or X-Real-IP (default), or
 *                                          # any field name
 *     real_ip_recursive on;                # default off
 *
 * When the peer's own address is one of set_real_ip_from, the client
 * address of the request ($remote_addr, $remote_port, allow/deny,
 * ip_hash, $proxy_add_x_forwarded_for, the "client" of error log lines,
 * the access log) becomes the one the header gives.  The header's value
 * is a list (elements separated by commas or spaces; every
 * X-Forwarded-For line, in order): without real_ip_recursive its last
 * element is taken; with it, elements are taken from the right for as
 * long as the address taken so far is trusted, so the result is the
 * last untrusted one, or the first when all are trusted.  An element
 * that is no address ("1.2.3.4", "1.2.3.4:80", "::1", "[::1]:80") ends
 * the walk: the address stays as it was (the last good one when
 * recursive).  A port in the element becomes $remote_port; without one
 * $remote_port is empty, as in nginx.
 *
 * When: once per request, first right after the header is read and the
 * server is chosen by Host, with that server's settings (nginx's
 * post-read phase); if that did not replace the address, again after the
 * location is chosen and its "return" did not answer, just before
 * allow/deny, with the location's settings (nginx's pre-access phase).
 * The connection's own address comes back when the request ends (a
 * cleanup of its pool, after the access log line), so each request on a
 * keep-alive connection starts from the peer's address.
 * $realip_remote_addr and $realip_remote_port keep the peer's.
 */
#include "fy_core.h"
#include "fy_http.h"
#include "fy_pp.h"

#include <arpa/inet.h>
#include <netinet/in.h>

enum {
    FY_REALIP_UNSET = 0,
    FY_REALIP_XREALIP,          /* X-Real-IP, the default */
    FY_REALIP_XFWD,             /* X-Forwarded-For: every line */
    FY_REALIP_HEADER,           /* another field: its first line */
    FY_REALIP_PROXY             /* proxy_protocol: the PROXY header's */
};

struct fy_http_realip_conf_s {
    fy_array_t  *from;          /* fy_http_cidr_t (AF_UNIX: "unix:"),
                                   NULL: none at this level */
    int          type;          /* FY_REALIP_* */
    fy_str_t     header;        /* the field's name */
    int          recursive;     /* FY_CONF_UNSET_INT, 0, 1 */
};

/* What the request replaced: put back when its pool goes. */
struct fy_http_realip_s {
    fy_http_conn_t       *hc;
    struct sockaddr_in6   addr;
    socklen_t             addrlen;
    unsigned              port;
    char                  addr_text[sizeof(((fy_http_conn_t *) 0)->addr_text)];
};

static const char *fy_http_realip_from(fy_conf_t *cf,
    const fy_command_t *cmd, void *conf);
static const char *fy_http_realip_header(fy_conf_t *cf,
    const fy_command_t *cmd, void *conf);
static const char *fy_http_realip_recursive(fy_conf_t *cf,
    const fy_command_t *cmd, void *conf);

const fy_command_t  fy_http_realip_commands[] = {

    { "set_real_ip_from", FY_CONF_HTTP | FY_CONF_SRV | FY_CONF_LOC, 0, 1, 1,
      fy_http_realip_from, FY_CONF_LOC_OFF, 0, NULL },

    { "real_ip_header", FY_CONF_HTTP | FY_CONF_SRV | FY_CONF_LOC, 0, 1, 1,
      fy_http_realip_header, FY_CONF_LOC_OFF, 0, NULL },

    { "real_ip_recursive", FY_CONF_HTTP | FY_CONF_SRV | FY_CONF_LOC, 0, 1, 1,
      fy_http_realip_recursive, FY_CONF_LOC_OFF, 0, NULL },

    { NULL, 0, 0, 0, 0, NULL, 0, 0, NULL }
};


/* ---- the directives ---- */

/* The level's settings, made on first use. */
static struct fy_http_realip_conf_s *
fy_http_realip_conf(fy_conf_t *cf, fy_http_loc_conf_t *lcf)
{
    if (lcf->realip == NULL) {
        lcf->realip = fy_pcalloc(cf->pool,
                                 sizeof(struct fy_http_realip_conf_s));
        if (lcf->realip) {
            lcf->realip->recursive = FY_CONF_UNSET_INT;
        }
    }
    return lcf->realip;
}

static const char *
fy_http_realip_from(fy_conf_t *cf, const fy_command_t *cmd, void *conf)
{
    struct fy_http_realip_conf_s  *rc = fy_http_realip_conf(cf, conf);

    fy_unused(cmd);
    return rc ? fy_http_realip_from_add(cf, &rc->from)
              : "cannot allocate memory";
}

const char *
fy_http_realip_from_add(fy_conf_t *cf, fy_array_t **from)
{
    fy_http_cidr_t  *cidr;

    if (*from == NULL) {
        *from = fy_pcalloc(cf->pool, sizeof(fy_array_t));
        if (*from == NULL) {
            return "cannot allocate memory";
        }
        fy_array_init(*from, cf->pool, 4, sizeof(fy_http_cidr_t));
    }
    cidr = fy_array_push(*from);
    if (cidr == NULL) {
        return "cannot allocate memory";
    }

    if (fy_str_eq(&cf->args[1], "unix:")) {
        memset(cidr, 0, sizeof(*cidr));
        cidr->family = AF_UNIX;     /* every unix-domain peer */
        return FY_CONF_OK;
    }
    /* nginx also takes a host name here (resolved at start); ferry
     * does not: fy_http_cidr_parse calls it an invalid parameter */
    return fy_http_cidr_parse(cf, &cf->args[1], cidr) == FY_OK
           ? FY_CONF_OK : FY_CONF_ERROR;
}

static const char *
fy_http_realip_header(fy_conf_t *cf, const fy_command_t *cmd, void *conf)
{
    struct fy_http_realip_conf_s  *rc = fy_http_realip_conf(cf, conf);
    fy_str_t                      *arg = &cf->args[1];

    fy_unused(cmd);
    if (rc == NULL) {
        return "cannot allocate memory";
    }
    if (rc->type != FY_REALIP_UNSET) {
        return "is duplicate";
    }
    if (arg->len == 9 && strncasecmp((char *) arg->data, "X-Real-IP", 9) == 0)
    {
        rc->type = FY_REALIP_XREALIP;
    } else if (arg->len == 15
               && strncasecmp((char *) arg->data, "X-Forwarded-For", 15) == 0)
    {
        rc->type = FY_REALIP_XFWD;
    } else if (fy_str_eq(arg, "proxy_protocol")) {
        rc->type = FY_REALIP_PROXY;
    } else if (arg->len == 0) {
        fy_conf_error(cf, "empty header name in \"real_ip_header\"");
        return FY_CONF_ERROR;
    } else {
        rc->type = FY_REALIP_HEADER;
    }
    rc->header = *arg;
    return FY_CONF_OK;
}

static const char *
fy_http_realip_recursive(fy_conf_t *cf, const fy_command_t *cmd, void *conf)
{
    /* the generic flag setter, on the field of the lazily made struct */
    static const fy_command_t  flag = {
        "real_ip_recursive", 0, 0, 1, 1, fy_conf_set_flag, 0,
        offsetof(struct fy_http_realip_conf_s, recursive), NULL
    };
    struct fy_http_realip_conf_s  *rc = fy_http_realip_conf(cf, conf);

    fy_unused(cmd);
    if (rc == NULL) {
        return "cannot allocate memory";
    }
    return fy_conf_set_flag(cf, &flag, rc);
}

void
fy_http_realip_merge(fy_http_loc_conf_t *prev, fy_http_loc_conf_t *conf)
{
    struct fy_http_realip_conf_s  *p = prev->realip, *c = conf->realip;

    /* A level with none of the three shares its parent's settings;
     * otherwise each one it lacks comes from the parent, as nginx
     * merges them one by one (the list of trusted addresses whole). */
    if (c == NULL) {
        conf->realip = p;
        return;
    }
    if (p == NULL) {
        return;
    }
    if (c->from == NULL) {
        c->from = p->from;
    }
    if (c->type == FY_REALIP_UNSET) {
        c->type = p->type;
        c->header = p->header;
    }
    if (c->recursive == FY_CONF_UNSET_INT) {
        c->recursive = p->recursive;
    }
}


/* ---- the request ---- */

int
fy_http_realip_trusted(const fy_array_t *from, int family,
                       const uint8_t *addr, unsigned n)
{
    const fy_http_cidr_t  *cidr;
    unsigned               i;

    for (i = 0; i < from->nelts; i++) {
        cidr = fy_array_elt(from, fy_http_cidr_t, i);
        if (family == AF_UNIX ? cidr->family == AF_UNIX
                              : fy_http_cidr_match(cidr, family, addr, n))
        {
            return 1;
        }
    }
    return 0;
}

int
fy_http_realip_parse(const u_char *p, size_t len, struct sockaddr_in6 *sa,
                     socklen_t *salen)
{
    char                 text[64], *host = text, *colon, *end;
    struct sockaddr_in  *sin = (struct sockaddr_in *) (void *) sa;
    long                 port = 0;

    if (len == 0 || len >= sizeof(text)) {
        return FY_DECLINED;
    }
    memcpy(text, p, len);
    text[len] = '\0';
    memset(sa, 0, sizeof(*sa));

    if (text[0] == '[') {
        /* "[v6]" or "[v6]:port" */
        end = strchr(text, ']');
        if (end == NULL) {
            return FY_DECLINED;
        }
        *end++ = '\0';
        host = text + 1;
        if (*end == ':') {
            colon = end;
        } else if (*end == '\0') {
            colon = NULL;
        } else {
            return FY_DECLINED;
        }
        if (inet_pton(AF_INET6, host, &sa->sin6_addr) != 1) {
            return FY_DECLINED;
        }
        sa->sin6_family = AF_INET6;
        *salen = sizeof(struct sockaddr_in6);

    } else if (inet_pton(AF_INET, text, &sin->sin_addr) == 1) {
        sin->sin_family = AF_INET;
        *salen = sizeof(struct sockaddr_in);
        colon = NULL;

    } else if (inet_pton(AF_INET6, text, &sa->sin6_addr) == 1) {
        sa->sin6_family = AF_INET6;     /* bare: every colon is its own */
        *salen = sizeof(struct sockaddr_in6);
        colon = NULL;

    } else {
        /* "v4:port" (a bare IPv6 address with a port is ambiguous and
         * has to be written in brackets) */
        colon = strrchr(text, ':');
        if (colon == NULL) {
            return FY_DECLINED;
        }
        *colon = '\0';
        if (inet_pton(AF_INET, text, &sin->sin_addr) != 1) {
            return FY_DECLINED;
        }
        *colon = ':';
        sin->sin_family = AF_INET;
        *salen = sizeof(struct sockaddr_in);
    }

    if (colon) {
        port = (long) fy_atoi((u_char *) colon + 1, strlen(colon + 1));
        if (port < 1 || port > 65535) {
            return FY_DECLINED;
        }
    }
    /* sin_port and sin6_port are at the same offset */
    sa->sin6_port = htons((uint16_t) port);
    return FY_OK;
}

/* A walk over a field's elements from the right: lines from the last
 * to the first (line: how many lines of r->headers are still below),
 * elements in a line from its end (pos: bytes of the line left). */
typedef struct {
    fy_http_request_t   *r;
    const fy_str_t      *name;
    unsigned             line;      /* next line to look at is below */
    size_t               pos;       /* bytes of the current line left */
    const u_char        *data;      /* the current line's value */
} fy_http_realip_walk_t;

/* The next element of the walk in *el, *len; 0 when none is left.
 * Elements are separated by commas and spaces; empty ones are
 * skipped. */
static int
fy_http_realip_prev(fy_http_realip_walk_t *w, const u_char **el, size_t *len)
{
    fy_http_header_t  *h;
    size_t             p;

    for ( ;; ) {
        /* skip separators at the right */
        while (w->pos && (w->data[w->pos - 1] == ' '
                          || w->data[w->pos - 1] == ','))
        {
            w->pos--;
        }
        if (w->pos) {
            p = w->pos;
            while (p && w->data[p - 1] != ' ' && w->data[p - 1] != ',') {
                p--;
            }
            *el = w->data + p;
            *len = w->pos - p;
            w->pos = p;
            return 1;
        }

        /* the previous line of the field */
        for ( ;; ) {
            if (w->line == 0) {
                return 0;
            }
            w->line--;
            h = fy_array_elt(&w->r->headers, fy_http_header_t, w->line);
            if (h->name.len == w->name->len
                && strncasecmp((char *) h->name.data,
                               (char *) w->name->data, h->name.len) == 0)
            {
                break;
            }
        }
        w->data = h->value.data;
        w->pos = h->value.len;
    }
}

/* Take the address the walk gives: its last element, or with recursive
 * the last one not in from (the first when all are).  An element that
 * is no address ends the walk (nginx), keeping the last good one.
 * 1 with *sa and *salen, 0 when the walk gave none. */
static int
fy_http_realip_take(fy_http_realip_walk_t *w, const fy_array_t *from,
                    int recursive, struct sockaddr_in6 *sa, socklen_t *salen)
{
    struct sockaddr_in6   cand;
    socklen_t             clen;
    const uint8_t        *addr;
    const u_char         *el;
    size_t                len;
    unsigned              n;
    int                   family, found = 0;

    while (fy_http_realip_prev(w, &el, &len)) {
        if (fy_http_realip_parse(el, len, &cand, &clen) != FY_OK) {
            break;
        }
        *sa = cand;
        *salen = clen;
        found = 1;
        if (!recursive) {
            break;
        }
        addr = fy_http_cidr_addr(&cand, &family, &n);
        if (!fy_http_realip_trusted(from, family, addr, n)) {
            break;
        }
    }
    return found;
}

/* geo's "proxy": the address X-Forwarded-For gives (every line, from
 * the right) for a trusted peer, walked as real_ip_recursive does. */
int
fy_http_realip_forwarded(fy_http_request_t *r, const fy_array_t *trusted,
                         int recursive, struct sockaddr_in6 *sa)
{
    static const fy_str_t   xfwd = fy_string("X-Forwarded-For");
    fy_http_realip_walk_t   w;
    socklen_t               salen;

    memset(&w, 0, sizeof(w));
    w.r = r;
    w.name = &xfwd;
    w.line = r->headers.nelts;
    return fy_http_realip_take(&w, trusted, recursive, sa, &salen)
           ? FY_OK : FY_DECLINED;
}

/* Put the peer's address back (the request's pool goes). */
static void
fy_http_realip_restore(void *data)
{
    struct fy_http_realip_s  *s = data;
    fy_http_conn_t           *hc = s->hc;

    if (hc->c) {
        hc->c->addr = s->addr;
        hc->c->addrlen = s->addrlen;
    }
    hc->port = s->port;
    memcpy(hc->addr_text, s->addr_text, sizeof(hc->addr_text));
}

void
fy_http_realip(fy_http_request_t *r, fy_http_loc_conf_t *lcf)
{
    struct fy_http_realip_conf_s  *rc = lcf->realip;
    struct fy_http_realip_s       *s;
    fy_http_conn_t                *hc = r->hc;
    fy_http_realip_walk_t          w;
    fy_http_header_t              *h;
    struct sockaddr_in6            sa;
    socklen_t                      salen = 0;
    const uint8_t                 *addr;
    unsigned                       n, i;
    int                            family;
    static const fy_str_t          xrealip = fy_string("X-Real-IP");
    static const fy_str_t          xfwd = fy_string("X-Forwarded-For");

    if (r->realip || rc == NULL || rc->from == NULL || hc->c == NULL
        || r->parent)
    {
        return;     /* done, none, or an auth_request subrequest */
    }
    addr = fy_http_cidr_addr(&hc->c->addr, &family, &n);
    if (!fy_http_realip_trusted(rc->from, family, addr, n)) {
        return;
    }

    if (rc->type == FY_REALIP_PROXY) {
        /* real_ip_header proxy_protocol: the address and port of the
         * connection's PROXY header (listen ... proxy_protocol), if it
         * gave one (not UNKNOWN or LOCAL) */
        if (hc->pp == NULL || hc->pp->addr[0] == '\0'
            || fy_http_realip_parse((u_char *) hc->pp->addr,
                                    strlen(hc->pp->addr), &sa, &salen)
               != FY_OK)
        {
            return;
        }
        sa.sin6_port = htons((uint16_t) hc->pp->port);
        goto found;
    }

    memset(&w, 0, sizeof(w));
    w.r = r;
    w.name = rc->type == FY_REALIP_XFWD ? &xfwd
             : rc->type == FY_REALIP_HEADER ? &rc->header : &xrealip;
    w.line = r->headers.nelts;
    if (rc->type != FY_REALIP_XFWD) {
        /* X-Real-IP or another field: its first line only */
        for (i = 0; i < r->headers.nelts; i++) {
            h = fy_array_elt(&r->headers, fy_http_header_t, i);
            if (h->name.len == w.name->len
                && strncasecmp((char *) h->name.data,
                               (char *) w.name->data, h->name.len) == 0)
            {
                break;
            }
        }
        if (i == r->headers.nelts) {
            return;
        }
        h = fy_array_elt(&r->headers, fy_http_header_t, i);
        w.data = h->value.data;
        w.pos = h->value.len;
        w.line = 0;             /* and no line before it */
    }

    if (!fy_http_realip_take(&w, rc->from, rc->recursive == 1, &sa, &salen))
    {
        return;
    }

found:

    s = fy_palloc(r->pool, sizeof(*s));
    if (s == NULL || fy_pool_cleanup_add(r->pool, fy_http_realip_restore, s)
                     != FY_OK)
    {
        return;                 /* no memory: the peer's address stays */
    }
    s->hc = hc;
    s->addr = hc->c->addr;
    s->addrlen = hc->c->addrlen;
    s->port = hc->port;
    memcpy(s->addr_text, hc->addr_text, sizeof(s->addr_text));
    r->realip = s;

    hc->c->addr = sa;
    hc->c->addrlen = salen;
    hc->port = ntohs(sa.sin6_port);
    fy_sockaddr_text((struct sockaddr *) &sa, salen, hc->addr_text,
                     sizeof(hc->addr_text), 0);
}

/* $realip_remote_addr: the peer's own address */
size_t
fy_http_realip_var_addr(fy_http_request_t *r, u_char *buf, size_t size)
{
    const char  *text = r->realip ? r->realip->addr_text : r->hc->addr_text;
    size_t       len = strlen(text);

    if (buf && len) {
        memcpy(buf, text, fy_min(size, len));
    }
    return len;
}

/* $realip_remote_port: the peer's own port (empty for unix:) */
size_t
fy_http_realip_var_port(fy_http_request_t *r, u_char *buf, size_t size)
{
    unsigned  port = r->realip ? r->realip->port : r->hc->port;
    char      tmp[8];
    int       len;

    if (port == 0) {
        return 0;
    }
    len = snprintf(tmp, sizeof(tmp), "%u", port);
    if (buf) {
        memcpy(buf, tmp, fy_min(size, (size_t) len));
    }
    return (size_t) len;
}
