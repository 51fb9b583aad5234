/*
 * fy_http_trailers.c -- add_trailer (nginx >= 1.13.2): header fields
 * sent after the body of a chunked response, in its last chunk:
 *
 *     0\r\n
 *     X-Time: 0.012\r\n
 *     \r\n
 *
 * As nginx: a response that has any add_trailer for its status (those
 * of add_header, or any with "always") goes chunked to an HTTP/1.1
 * client with chunked_transfer_encoding on, even one whose length is
 * known (its Content-Length is dropped); not a HEAD, 204, 304 or 1xx.
 * The values are evaluated when the body has been produced (so
 * $request_time covers it), and one that comes out empty is left out.
 * The directive itself is a row of fy_http_headers.c (it shares
 * add_header's setter and inheritance); the response writers ask here
 * whether to chunk (fy_http_trailers_expected) and for the last chunk
 * (fy_http_trailers_last_chunk).  A location without add_trailer costs
 * the writers one NULL test.
 */
#include "fy_core.h"
#include "fy_http.h"

static const char  fy_trailer_last[] = "\r\n0\r\n\r\n";

int
fy_http_trailers_expected(fy_http_request_t *r, int status)
{
    const fy_array_t             *list = fy_http_req_loc(r)->add_trailers;
    const fy_http_header_conf_t  *h;
    unsigned                      i;
    int                           plain;

    if (list == NULL || r->head || status == 204 || status == 304
        || status < 200 || !fy_http_chunked_out(r))
    {
        return 0;
    }
    plain = fy_http_add_header_status(status);
    for (i = 0; i < list->nelts; i++) {
        h = fy_array_elt(list, fy_http_header_conf_t, i);
        if (plain || h->always) {
            return 1;
        }
    }
    return 0;
}

int
fy_http_trailers_last_chunk(fy_http_request_t *r, int crlf, fy_str_t *out)
{
    const fy_array_t             *list = fy_http_req_loc(r)->add_trailers;
    const fy_http_header_conf_t  *h;
    fy_str_t                     *vals;
    size_t                        size;
    unsigned                      i;
    int                           plain;
    u_char                       *q;

    out->data = (u_char *) fy_trailer_last + (crlf ? 0 : 2);
    out->len = sizeof(fy_trailer_last) - 1 - (crlf ? 0 : 2);
    if (list == NULL) {
        return FY_OK;
    }

    vals = fy_palloc(r->pool, list->nelts * sizeof(fy_str_t));
    if (vals == NULL) {
        return FY_ERROR;
    }
    plain = fy_http_add_header_status(r->status);
    size = out->len;
    for (i = 0; i < list->nelts; i++) {
        h = fy_array_elt(list, fy_http_header_conf_t, i);
        vals[i].len = 0;
        if (!plain && !h->always) {
            continue;
        }
        /* control bytes escaped, as in every header ferry writes */
        vals[i].data = fy_http_header_value(r, h->value, &vals[i].len);
        if (vals[i].data == NULL) {
            return FY_ERROR;
        }
        if (vals[i].len) {
            size += h->name.len + 2 + vals[i].len + 2;
        }
    }
    if (size == out->len) {
        return FY_OK;
    }

    q = fy_palloc(r->pool, size);
    if (q == NULL) {
        return FY_ERROR;
    }
    out->data = q;
    if (crlf) {
        *q++ = '\r';
        *q++ = '\n';
    }
    *q++ = '0';
    *q++ = '\r';
    *q++ = '\n';
    for (i = 0; i < list->nelts; i++) {
        if (vals[i].len == 0) {
            continue;
        }
        h = fy_array_elt(list, fy_http_header_conf_t, i);
        memcpy(q, h->name.data, h->name.len);
        q += h->name.len;
        *q++ = ':';
        *q++ = ' ';
        memcpy(q, vals[i].data, vals[i].len);
        q += vals[i].len;
        *q++ = '\r';
        *q++ = '\n';
    }
    *q++ = '\r';
    *q++ = '\n';
    out->len = (size_t) (q - out->data);
    r->trailer_text = *out;             /* $sent_trailer_NAME */
    return FY_OK;
}
