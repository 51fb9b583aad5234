/*
 * fy_http_referer.c -- nginx's referer module: "valid_referers" and
 * the $invalid_referer variable, for
 *
 *     valid_referers none blocked server_names *.example.com
 *                    example.org/galleries/ ~\.google\.;
 *     if ($invalid_referer) { return 403; }
 *
 * $invalid_referer is empty when the request's Referer is valid for
 * the location's (or else the server's) valid_referers, "1" when not,
 * and empty where no valid_referers applies.  As nginx documents and
 * does:
 *   - no Referer: valid with "none";
 *   - a Referer that does not start with "http://" or "https://" (a
 *     firewall or proxy blanked it), or is too short to hold a host:
 *     valid with "blocked";
 *   - otherwise its host (lowercased, up to '/' or ':', at most 256
 *     bytes) is looked up: an exact name, then the longest "*.a.b" /
 *     ".a.b" mask, then the longest "www.a.*" mask; a string with a
 *     path ("a.b/pics/") also needs the Referer's path (after any port)
 *     to start with it;
 *   - "server_names": the names of the request's server (its regex
 *     names as regexes);
 *   - "~regex": matched, ignoring case, against the Referer from just
 *     after the scheme.
 * Several valid_referers lines at one level add up; a level without any
 * takes the enclosing one's.
 */
#include "fy_core.h"
#include "fy_http.h"

#include <ctype.h>
#include <strings.h>

#define FY_REFERER_EXACT  0
#define FY_REFERER_HEAD   1     /* "*.a.b", ".a.b" */
#define FY_REFERER_TAIL   2     /* "www.a.*" */

typedef struct {
    fy_str_t   host;            /* lowercased, mask characters kept */
    fy_str_t   uri;             /* "" : any path */
    int        kind;
} fy_http_referer_host_t;

struct fy_http_referer_conf_s {
    unsigned     none:1;
    unsigned     blocked:1;
    unsigned     server_names:1;
    fy_array_t   hosts;         /* fy_http_referer_host_t */
    fy_array_t   regexes;       /* fy_http_regex_t * */
};

static const char *fy_http_referer_valid(fy_conf_t *cf,
    const fy_command_t *cmd, void *conf);

const fy_command_t  fy_http_referer_commands[] = {

    { "valid_referers", FY_CONF_SRV | FY_CONF_LOC, 0, 1, FY_CONF_MANY,
      fy_http_referer_valid, FY_CONF_LOC_OFF, 0, NULL },

    /* nginx sizes the names' hash tables with these; ferry's lists are
     * searched directly, so they are checked and have no effect */
    { "referer_hash_max_size", FY_CONF_SRV | FY_CONF_LOC, 0, 1, 1,
      fy_http_hash_size, FY_CONF_LOC_OFF, 0, NULL },

    { "referer_hash_bucket_size", FY_CONF_SRV | FY_CONF_LOC, 0, 1, 1,
      fy_http_hash_size, FY_CONF_LOC_OFF, 0, NULL },

    { NULL, 0, 0, 0, 0, NULL, 0, 0, NULL }
};


/* The kind of a name: FY_REFERER_*; -1 for a '*' anywhere else. */
static int
fy_http_referer_kind(const u_char *p, size_t len)
{
    const u_char  *star = memchr(p, '*', len);

    if (len > 2 && p[0] == '*' && p[1] == '.') {
        return memchr(p + 1, '*', len - 1) ? -1 : FY_REFERER_HEAD;
    }
    if (len > 2 && p[len - 1] == '*' && p[len - 2] == '.') {
        return star == p + len - 1 ? FY_REFERER_TAIL : -1;
    }
    if (star) {
        return -1;
    }
    return len > 1 && p[0] == '.' ? FY_REFERER_HEAD : FY_REFERER_EXACT;
}

/* valid_referers none | blocked | server_names | string ...; */
static const char *
fy_http_referer_valid(fy_conf_t *cf, const fy_command_t *cmd, void *conf)
{
    fy_http_loc_conf_t               *lcf = conf;
    struct fy_http_referer_conf_s    *rc = lcf->referers;
    fy_http_referer_host_t           *h, *o;
    fy_http_regex_t                 **re;
    fy_str_t                         *arg, pat;
    u_char                           *slash;
    unsigned                          i, j;
    size_t                            k;

    fy_unused(cmd);
    if (rc == NULL) {
        rc = fy_pcalloc(cf->pool, sizeof(*rc));
        if (rc == NULL) {
            return "cannot allocate memory";
        }
        fy_array_init(&rc->hosts, cf->pool, 4, sizeof(fy_http_referer_host_t));
        fy_array_init(&rc->regexes, cf->pool, 2, sizeof(fy_http_regex_t *));
        lcf->referers = rc;
    }

    for (i = 1; i < cf->nargs; i++) {
        arg = &cf->args[i];
        if (arg->len == 0) {
            fy_conf_error(cf, "invalid referer \"%.*s\"", (int) arg->len,
                          arg->data);
            return FY_CONF_ERROR;
        }
        if (fy_str_eq(arg, "none")) {
            rc->none = 1;
            continue;
        }
        if (fy_str_eq(arg, "blocked")) {
            rc->blocked = 1;
            continue;
        }
        if (fy_str_eq(arg, "server_names")) {
            rc->server_names = 1;
            continue;
        }
        if (arg->data[0] == '~') {
            pat.data = arg->data + 1;
            pat.len = arg->len - 1;
            re = fy_array_push(&rc->regexes);
            if (re == NULL) {
                return "cannot allocate memory";
            }
            *re = fy_http_regex_compile(cf, &pat, 1);
            if (*re == NULL) {
                return FY_CONF_ERROR;
            }
            continue;
        }

        h = fy_array_push(&rc->hosts);
        if (h == NULL) {
            return "cannot allocate memory";
        }
        slash = memchr(arg->data, '/', arg->len);
        h->host.data = arg->data;
        h->host.len = slash ? (size_t) (slash - arg->data) : arg->len;
        h->uri.data = slash;
        h->uri.len = slash ? arg->len - h->host.len : 0;
        for (k = 0; k < h->host.len; k++) {
            h->host.data[k] = (u_char) tolower(h->host.data[k]);
        }
        h->kind = fy_http_referer_kind(h->host.data, h->host.len);
        if (h->kind < 0 || h->host.len == 0) {
            fy_conf_error(cf, "invalid hostname or wildcard \"%.*s\"",
                          (int) arg->len, arg->data);
            return FY_CONF_ERROR;
        }
        for (j = 0; j + 1 < rc->hosts.nelts; j++) {
            o = fy_array_elt(&rc->hosts, fy_http_referer_host_t, j);
            if (o->host.len == h->host.len
                && memcmp(o->host.data, h->host.data, h->host.len) == 0)
            {
                fy_conf_error(cf, "conflicting parameter \"%.*s\"",
                              (int) arg->len, arg->data);
                return FY_CONF_ERROR;
            }
        }
    }
    return FY_CONF_OK;
}

void
fy_http_referer_merge(fy_http_loc_conf_t *prev, fy_http_loc_conf_t *conf)
{
    if (conf->referers == NULL) {
        conf->referers = prev->referers;
    }
}


/* ---- per request ---- */

/* Does host (lowercase) match name (a kind FY_REFERER_* mask)?  Returns
 * the length that ranks it (longer wins), 0 for no match. */
static size_t
fy_http_referer_match(const fy_str_t *name, int kind, const u_char *host,
                      size_t len)
{
    size_t  skip;

    switch (kind) {
    case FY_REFERER_EXACT:
        return name->len == len && memcmp(name->data, host, len) == 0
               ? name->len : 0;
    case FY_REFERER_HEAD:
        /* "*.a.b": names ending in ".a.b"; ".a.b" also "a.b" itself */
        skip = name->data[0] == '*';
        if (len > name->len - skip
            && memcmp(host + len - (name->len - skip), name->data + skip,
                      name->len - skip) == 0)
        {
            return name->len;
        }
        if (name->data[0] == '.' && len == name->len - 1
            && memcmp(host, name->data + 1, len) == 0)
        {
            return name->len;
        }
        return 0;
    default:
        /* "www.a.*": names starting with "www.a." */
        return len > name->len - 1 && memcmp(host, name->data, name->len - 1)
                                      == 0 ? name->len : 0;
    }
}

/* The best entry of rc for host: exact, longest head, longest tail. */
static const fy_http_referer_host_t *
fy_http_referer_find(const struct fy_http_referer_conf_s *rc,
                     const u_char *host, size_t len)
{
    const fy_http_referer_host_t  *h, *best = NULL;
    size_t                         m, best_len = 0;
    int                            kind;
    unsigned                       i;

    for (kind = FY_REFERER_EXACT; kind <= FY_REFERER_TAIL; kind++) {
        for (i = 0; i < rc->hosts.nelts; i++) {
            h = fy_array_elt(&rc->hosts, fy_http_referer_host_t, i);
            if (h->kind == kind
                && (m = fy_http_referer_match(&h->host, kind, host, len))
                   > best_len)
            {
                best = h;
                best_len = m;
            }
        }
        if (best) {
            return best;
        }
    }
    return NULL;
}

/* 1 if the host is one of the server's names (server_names). */
static int
fy_http_referer_server_name(fy_http_request_t *r, const u_char *host,
                            size_t len)
{
    const fy_str_t  *name;
    unsigned         i;
    int              kind;

    if (r->srv == NULL) {
        return 0;
    }
    for (i = 0; i < r->srv->sn.names.nelts; i++) {
        name = fy_array_elt(&r->srv->sn.names, fy_str_t, i);
        kind = name->len ? fy_http_referer_kind(name->data, name->len) : -1;
        if (kind >= 0 && fy_http_referer_match(name, kind, host, len)) {
            return 1;
        }
    }
    return 0;
}

static int
fy_http_referer_regex(fy_http_request_t *r, const fy_array_t *regexes,
                      const fy_str_t *subject)
{
    fy_http_captures_t  *caps;
    unsigned             i;

    for (i = 0; i < regexes->nelts; i++) {
        caps = NULL;
        if (fy_http_regex_exec(r, *fy_array_elt(regexes, fy_http_regex_t *, i),
                               subject, &caps) == FY_OK)
        {
            return 1;
        }
    }
    return 0;
}

/* 1 if r's Referer is invalid for rc. */
static int
fy_http_referer_invalid(fy_http_request_t *r,
                        const struct fy_http_referer_conf_s *rc)
{
    const fy_http_header_t        *hd = NULL;
    const fy_http_referer_host_t  *h;
    const u_char                  *ref, *p, *last;
    u_char                         host[256];
    fy_str_t                       subject;
    size_t                         len, n;
    unsigned                       i;

    for (i = 0; i < r->headers.nelts; i++) {
        hd = fy_array_elt(&r->headers, fy_http_header_t, i);
        if (hd->name.len == 7
            && strncasecmp((char *) hd->name.data, "referer", 7) == 0)
        {
            break;
        }
        hd = NULL;
    }
    if (hd == NULL) {
        return !rc->none;
    }

    ref = hd->value.data;
    len = hd->value.len;
    /* nginx's shortest: "http://i.ru" */
    if (len >= sizeof("http://i.ru") - 1
        && strncasecmp((char *) ref, "http://", 7) == 0)
    {
        ref += 7;
        len -= 7;
    } else if (len >= sizeof("https://i.ru") - 1
               && strncasecmp((char *) ref, "https://", 8) == 0)
    {
        ref += 8;
        len -= 8;
    } else {
        return !rc->blocked;
    }

    last = ref + len;
    for (p = ref, n = 0; p < last && *p != '/' && *p != ':'; p++) {
        if (n == sizeof(host)) {
            return 1;
        }
        host[n++] = (u_char) tolower(*p);
    }

    h = fy_http_referer_find(rc, host, n);
    if (h) {
        while (p < last && *p != '/') {
            p++;                        /* the port */
        }
        return h->uri.len
               && ((size_t) (last - p) < h->uri.len
                   || memcmp(h->uri.data, p, h->uri.len) != 0);
    }
    if (rc->server_names && fy_http_referer_server_name(r, host, n)) {
        return 0;
    }

    subject.data = (u_char *) ref;
    subject.len = len;
    if (fy_http_referer_regex(r, &rc->regexes, &subject)) {
        return 0;
    }
    if (rc->server_names && r->srv
        && fy_http_referer_regex(r, &r->srv->sn.regex_names, &subject))
    {
        return 0;
    }
    return 1;
}

size_t
fy_http_referer_var(fy_http_request_t *r, u_char *buf, size_t size)
{
    const fy_http_loc_conf_t  *lcf = r->loc ? r->loc
                                     : r->srv ? r->srv->loc : NULL;

    if (lcf == NULL || lcf->referers == NULL
        || !fy_http_referer_invalid(r, lcf->referers))
    {
        return 0;
    }
    if (buf && size) {
        buf[0] = '1';
    }
    return 1;
}
