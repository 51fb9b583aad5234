/*
 * fy_http_gunzip.c -- decompressing gzip responses for clients that do
 * not take gzip, as nginx's gunzip module:
 *
 *     gunzip on;  gunzip_buffers 32 4k;
 *
 * A response with "Content-Encoding: gzip" (from a backend that always
 * compresses, a gzip_static always file, a cache entry stored
 * compressed) goes out as it is to a client that may have gzip (the
 * request half of gzip's decision: Accept-Encoding, gzip_http_version,
 * gzip_proxied, gzip_disable), and decompressed to any other one:
 * without Content-Encoding, Content-Length and Accept-Ranges (so no
 * Range), a weak ETag, chunked to an HTTP/1.1 client (to the close to
 * an HTTP/1.0 one).  Both get "Vary: Accept-Encoding" with gzip_vary.
 *
 * This file holds the directives and the decision; the decompressor is
 * the gzip stream's inflate side (fy_http_gzip_stream.c), driven by
 * the same calls as the compressor, so the proxy relay and the static
 * sender (files and cache hits) run it where they run gzip.  With
 * gunzip off a response costs one flag test.
 */
#include "fy_core.h"
#include "fy_http.h"
#include "fy_http_gzip.h"

#include <strings.h>

#define FY_GUNZIP_ANY  (FY_CONF_HTTP | FY_CONF_SRV | FY_CONF_LOC)
#define FY_GUNZIP_OFF(field) \
    offsetof(fy_http_loc_conf_t, gzip) + offsetof(fy_http_gzip_conf_t, field)

const fy_command_t  fy_http_gunzip_commands[] = {

    { "gunzip", FY_GUNZIP_ANY, 0, 1, 1, fy_conf_set_flag,
      FY_CONF_LOC_OFF, FY_GUNZIP_OFF(gunzip), NULL },

    { "gunzip_buffers", FY_GUNZIP_ANY, 0, 2, 2, fy_http_gzip_set_buffers,
      FY_CONF_LOC_OFF, FY_GUNZIP_OFF(gunzip_bufs), NULL },

    { NULL, 0, 0, 0, 0, NULL, 0, 0, NULL }
};

int
fy_http_gunzip_wanted(fy_http_request_t *r, const fy_array_t *headers,
                      const fy_str_t *ce, unsigned flags)
{
    const fy_http_header_t  *h;
    unsigned                 i;

    if (r->loc == NULL || !r->loc->gzip.gunzip) {
        return FY_HTTP_GZIP_NO;
    }
    for (i = 0; headers && i < headers->nelts; i++) {
        h = (const fy_http_header_t *) headers->elts + i;
        if (fy_str_eq_ci(&h->name, "Content-Encoding")) {
            ce = &h->value;
            break;
        }
    }
    /* exactly "gzip", as nginx: "x-gzip" or a list of codings is left
     * as it is */
    if (ce == NULL || ce->len != 4
        || strncasecmp((const char *) ce->data, "gzip", 4) != 0)
    {
        return FY_HTTP_GZIP_NO;
    }
    /* either way the response depends on Accept-Encoding */
    return fy_http_gzip_request_ok(r, headers, flags) ? FY_HTTP_GZIP_VARY
                                                      : FY_HTTP_GZIP_YES;
}

fy_http_gzip_t *
fy_http_gunzip_start(fy_http_request_t *r)
{
    const fy_http_gzip_bufs_t  *b = &r->loc->gzip.gunzip_bufs;

    return fy_http_gunzip_stream(r, (size_t) b->num * b->size);
}
