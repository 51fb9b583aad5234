/*
 * fy_http_server_name.c -- "server_name", of http's servers and of
 * stream's (nginx 1.25.5): the names read (exact, "*.example.com",
 * ".example.com", "www.example.*", "~regex"), and the server a host
 * name (a request's Host, a TLS client's SNI) chooses among those of
 * one listening address, in nginx's order.  Each kind of server keeps
 * its fy_http_names_t at an offset the callers pass.
 */
#include "fy_core.h"
#include "fy_http.h"

void
fy_http_names_init(fy_http_names_t *n, fy_pool_t *pool)
{
    fy_array_init(&n->names, pool, 1, sizeof(fy_str_t));
    fy_array_init(&n->regex_names, pool, 1, sizeof(fy_http_regex_t *));
}

/* server_name NAME ...: the names of the fy_http_names_t at
 * cmd->offset in conf (a server's settings). */
const char *
fy_http_names_set(fy_conf_t *cf, const fy_command_t *cmd, void *conf)
{
    fy_http_names_t     *n = (fy_http_names_t *) ((char *) conf
                                                  + cmd->offset);
    fy_http_regex_t    **pre;
    fy_str_t            *name, src;
    u_char              *p;
    unsigned             i;
    size_t               j;

    for (i = 1; i < cf->nargs; i++) {
        if (cf->args[i].data[0] == '~') {
            /* Hosts are lowercased already; caseless as in nginx. */
            src.data = cf->args[i].data + 1;
            src.len = cf->args[i].len - 1;
            pre = fy_array_push(&n->regex_names);
            if (pre == NULL) {
                return "cannot allocate memory";
            }
            *pre = fy_http_regex_compile(cf, &src, 1);
            if (*pre == NULL) {
                return FY_CONF_ERROR;
            }
            if (n->server_name.data == NULL) {
                n->server_name = cf->args[i];
            }
            continue;
        }
        /* A "*" only as a whole first or last label (nginx) */
        src = cf->args[i];
        p = memchr(src.data, '*', src.len);
        if (p && !((p == src.data && src.len > 2 && src.data[1] == '.'
                    && memchr(p + 1, '*', src.len - 1) == NULL)
                   || (p == src.data + src.len - 1 && src.len > 2
                       && p[-1] == '.')))
        {
            fy_conf_error(cf, "invalid server name or wildcard \"%s\"",
                          src.data);
            return FY_CONF_ERROR;
        }
        name = fy_array_push(&n->names);
        if (name == NULL) {
            return "cannot allocate memory";
        }
        *name = cf->args[i];
        /* Host comparison is case-insensitive: store lowercase. */
        for (j = 0; j < name->len; j++) {
            if (name->data[j] >= 'A' && name->data[j] <= 'Z') {
                name->data[j] |= 0x20;
            }
        }
        if (n->server_name.data == NULL) {
            /* ".example.com" names itself without the dot (nginx) */
            n->server_name = *name;
            if (name->len > 1 && name->data[0] == '.') {
                n->server_name.data++;
                n->server_name.len--;
            }
        }
    }
    return FY_CONF_OK;
}

/* "*.example.com" matches any name ending in ".example.com";
 * ".example.com" matches those and "example.com" itself (nginx). */
static int
fy_http_wildcard_match(const fy_str_t *name, const fy_str_t *host)
{
    const u_char  *suffix;
    size_t         slen;

    if (name->len < 2 || (name->data[0] != '*' && name->data[0] != '.')) {
        return 0;
    }
    suffix = name->data + (name->data[0] == '*');   /* ".example.com" */
    slen = name->len - (name->data[0] == '*');

    if (host->len > slen
        && memcmp(host->data + host->len - slen, suffix, slen) == 0)
    {
        return 1;
    }
    return name->data[0] == '.' && host->len == slen - 1
           && memcmp(host->data, suffix + 1, slen - 1) == 0;
}

/* "www.example.*" matches any name starting with "www.example." */
static int
fy_http_trailing_wildcard_match(const fy_str_t *name, const fy_str_t *host)
{
    return name->len > 2 && name->data[name->len - 1] == '*'
           && name->data[name->len - 2] == '.'
           && host->len > name->len - 1
           && memcmp(host->data, name->data, name->len - 1) == 0;
}

/* server_name in nginx's order: the exact name, the longest leading
 * wildcard, the longest trailing wildcard, the first regex that
 * matches (servers and names in the order written).  host is
 * lowercased. */
void *
fy_http_names_find(const fy_array_t *servers, size_t off,
                   const fy_str_t *host, fy_http_request_t *r)
{
    const fy_http_names_t  *n;
    void                   *srv, *lead = NULL, *trail = NULL;
    fy_http_regex_t        *re;
    fy_str_t               *name;
    size_t                  lead_len = 0, trail_len = 0;
    unsigned                i, j;

    for (i = 0; i < servers->nelts; i++) {
        srv = *fy_array_elt(servers, void *, i);
        n = (const fy_http_names_t *) ((const char *) srv + off);
        for (j = 0; j < n->names.nelts; j++) {
            name = fy_array_elt(&n->names, fy_str_t, j);
            if (name->len == host->len
                && memcmp(name->data, host->data, name->len) == 0)
            {
                return srv;
            }
            if (name->len > lead_len && fy_http_wildcard_match(name, host))
            {
                lead = srv;
                lead_len = name->len;
            }
            if (name->len > trail_len
                && fy_http_trailing_wildcard_match(name, host))
            {
                trail = srv;
                trail_len = name->len;
            }
        }
    }
    if (lead || trail) {
        return lead ? lead : trail;
    }
    for (i = 0; i < servers->nelts; i++) {
        srv = *fy_array_elt(servers, void *, i);
        n = (const fy_http_names_t *) ((const char *) srv + off);
        for (j = 0; j < n->regex_names.nelts; j++) {
            re = *fy_array_elt(&n->regex_names, fy_http_regex_t *, j);
            if (fy_http_regex_exec(r, re, host,
                                   r ? &r->srv_captures : NULL) == FY_OK)
            {
                return srv;
            }
        }
    }
    return NULL;
}
