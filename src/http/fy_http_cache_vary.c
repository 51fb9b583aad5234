/*
 * fy_http_cache_vary.c -- Vary in the proxy cache, as nginx has it.
 *
 * A response with Vary is kept with its Vary names (the fields joined)
 * and the variant of the request that fetched it: the MD5 of the key
 * and of that request's values of those names.  A later request whose
 * variant differs is not answered from it: it looks its own variant's
 * MD5 up instead (nginx's secondary key), and its response, when the
 * upstream still varies on the same names, is stored there.  So the
 * entry under the key holds the first variant fetched, and the others
 * have entries of their own.  "Vary: *" is never kept.
 */
#include "fy_core.h"
#include "fy_http.h"
#include "fy_shm.h"
#include "fy_http_proxy.h"
#include "fy_http_cache.h"

#include <openssl/evp.h>

/* The next name of a Vary list at *p (before end), or NULL. */
static const u_char *
fy_http_cache_vary_name(const u_char **p, const u_char *end, size_t *len)
{
    const u_char  *s = *p, *e;

    while (s < end && (*s == ',' || *s == ' ' || *s == '\t')) {
        s++;
    }
    if (s == end) {
        return NULL;
    }
    for (e = s; e < end && *e != ','; e++) { /* the name */ }
    *p = e;
    while (e > s && (e[-1] == ' ' || e[-1] == '\t')) {
        e--;
    }
    *len = (size_t) (e - s);
    return s;
}

int
fy_http_cache_vary_star(const fy_str_t *v)
{
    const u_char  *p = v->data, *name;
    size_t         len;

    while ((name = fy_http_cache_vary_name(&p, v->data + v->len, &len))) {
        if (len == 1 && name[0] == '*') {
            return 1;
        }
    }
    return 0;
}

ssize_t
fy_http_cache_vary(fy_array_t *headers, u_char *buf)
{
    fy_http_header_t  *h;
    size_t             n = 0;
    unsigned           i;

    for (i = 0; i < headers->nelts; i++) {
        h = fy_array_elt(headers, fy_http_header_t, i);
        if (!fy_str_eq_ci(&h->name, "Vary")) {
            continue;
        }
        if (fy_http_cache_vary_star(&h->value)) {
            return -1;
        }
        if (h->value.len == 0) {
            continue;
        }
        if (n + 2 + h->value.len > FY_CACHE_VARY_MAX) {
            return -1;
        }
        if (n) {
            buf[n++] = ',';
            buf[n++] = ' ';
        }
        memcpy(buf + n, h->value.data, h->value.len);
        n += h->value.len;
    }
    return (ssize_t) n;
}

int
fy_http_cache_variant(fy_http_request_t *r, fy_http_cache_t *c,
                      const u_char *vary, size_t len, u_char *md5)
{
    fy_http_header_t  *h;
    const u_char      *p, *end = vary + len, *name;
    char              *text, *q;
    size_t             size = c->key_len, nlen;
    unsigned           i;
    int                ok;

    /* the text hashed: the key, then per name "\n" name ":" and the
     * request's values of it, in order, joined by "," (a name the
     * request lacks has an empty value) */
    for (p = vary; (name = fy_http_cache_vary_name(&p, end, &nlen)); ) {
        size += 2 + nlen;
        for (i = 0; i < r->headers.nelts; i++) {
            h = fy_array_elt(&r->headers, fy_http_header_t, i);
            size += h->name.len == nlen ? h->value.len + 1 : 0;
        }
    }
    text = fy_palloc(r->pool, size);
    if (text == NULL) {
        return FY_ERROR;
    }
    q = fy_cpymem(text, c->key, c->key_len);
    /* the names' case does not matter, their order does (as nginx) */
    for (p = vary; (name = fy_http_cache_vary_name(&p, end, &nlen)); ) {
        *q++ = '\n';
        for (i = 0; i < nlen; i++) {
            *q++ = (char) (name[i] >= 'A' && name[i] <= 'Z' ? name[i] | 0x20
                                                           : name[i]);
        }
        *q++ = ':';
        for (i = 0, ok = 0; i < r->headers.nelts; i++) {
            h = fy_array_elt(&r->headers, fy_http_header_t, i);
            if (h->name.len == nlen
                && fy_mem_eq_ci(h->name.data, (const char *) name, nlen))
            {
                if (ok++) {
                    *q++ = ',';
                }
                q = fy_cpymem(q, h->value.data, h->value.len);
            }
        }
    }
    return fy_http_cache_digest(text, (size_t) (q - text), md5);
}
