/*
 * fy_http_proxy_ssi.c -- "ssi on" over a proxied response: the page an
 * upstream answers is processed as a static document is (nginx's ssi
 * filter runs on upstream responses too).
 *
 * The page is read whole, as SSI's includes are (r->capture, up to
 * FY_HTTP_SSI_MAX; the upstream connection is then kept or closed as
 * after any response), processed by fy_http_ssi_response, and answered
 * by fy_http_send_response with its new length and the upstream's
 * status and fields: those a proxied response passes on (not the
 * hidden ones, hop-by-hop ones or Connection's options), without
 * Content-Length and Accept-Ranges, and without Last-Modified and ETag
 * unless ssi_last_modified is on (then the ETag weak), as nginx's
 * filter leaves them (r->pass_lines).  A HEAD passed up as a HEAD has
 * no page to process: its header goes out as the upstream's, less what
 * nginx's ssi header filter clears, as nginx's does (Content-Length,
 * Accept-Ranges, and Last-Modified and ETag unless ssi_last_modified;
 * p->ssi_head); one the cache sent up as a GET gets the processed
 * length.  Declined: a response without a body, an empty one
 * (Content-Length: 0, as nginx's filter), and an encoded body
 * (Content-Encoding: SSI commands cannot be found in gzip bytes).  The
 * cache stores what the upstream sent, as nginx's does, before the
 * filter; a HIT is processed the same way (fy_http_cache_ssi).
 */
#include "fy_core.h"
#include "fy_http.h"
#include "fy_shm.h"
#include "fy_http_proxy.h"

int
fy_http_ssi_pass_lines(fy_http_request_t *r, fy_array_t *headers,
                       fy_str_t *out)
{
    fy_http_header_t  *h;
    fy_str_t           value;
    size_t             size = 0;
    unsigned           i, pass;
    char              *q = NULL;
    int                keep_lm = r->loc->ssi->last_modified;

    for (pass = 0; pass < 2; pass++) {
        for (i = 0; i < headers->nelts; i++) {
            h = fy_array_elt(headers, fy_http_header_t, i);
            if (fy_proxy_hidden(r->loc, &h->name)
                || fy_proxy_skip_header(&h->name)
                || fy_proxy_connection_option(headers, &h->name)
                || fy_str_eq_ci(&h->name, "Content-Type")
                || fy_str_eq_ci(&h->name, "Content-Length")
                || fy_str_eq_ci(&h->name, "Accept-Ranges")
                || (!keep_lm && (fy_str_eq_ci(&h->name, "Last-Modified")
                                 || fy_str_eq_ci(&h->name, "ETag"))))
            {
                continue;
            }
            value = h->value;
            if (r->loc->header_filters
                && fy_proxy_filter_header(r, h, &value))
            {
                continue;           /* expires' own replace them */
            }
            if (fy_str_eq_ci(&h->name, "ETag")) {
                value = fy_http_gzip_weak_etag(r, &h->value);
            }
            if (pass == 0) {
                size += h->name.len + value.len + 4;
                continue;
            }
            q = fy_cpymem(q, h->name.data, h->name.len);
            q = fy_cpymem(q, ": ", 2);
            q = fy_cpymem(q, value.data, value.len);
            q = fy_cpymem(q, "\r\n", 2);
        }
        if (pass == 0) {
            q = fy_palloc(r->pool, size + 1);
            if (q == NULL) {
                return FY_ERROR;
            }
            out->data = (u_char *) q;
            out->len = size;
        }
    }
    return FY_OK;
}

int
fy_proxy_ssi_begin(fy_http_proxy_t *p, fy_array_t *headers)
{
    fy_http_request_t  *r = p->r;
    fy_str_t           *type, *enc, *cl;
    size_t              size;

    if (r->ssi_done
        || (p->body_type == FY_PROXY_BODY_NONE && !(r->head && !p->head_get))
        || p->status == 204 || p->status == 304 || p->status < 200)
    {
        return FY_DECLINED;
    }
    type = fy_http_header_find(headers, "Content-Type");
    enc = fy_http_header_find(headers, "Content-Encoding");
    cl = fy_http_header_find(headers, "Content-Length");
    if ((enc && enc->len && !fy_str_eq_ci(enc, "identity"))
        || (cl && fy_str_eq(cl, "0"))
        || !fy_http_ssi_applies(r, type))
    {
        return FY_DECLINED;
    }
    if (r->head && !p->head_get) {
        p->ssi_head = 1;            /* the header alone, as nginx's */
        return FY_DECLINED;
    }

    r->capture = fy_pcalloc(r->pool, sizeof(fy_http_capture_t));
    if (r->capture == NULL
        || fy_http_ssi_pass_lines(r, headers, &r->pass_lines) != FY_OK)
    {
        fy_proxy_fail(p, 500);
        return FY_DONE;
    }
    r->capture->max = FY_HTTP_SSI_MAX;
    if (type) {
        /* a copy: the header's buffer takes the body's next reads */
        r->capture->type.data = (u_char *) fy_pstrndup(r->pool, type->data,
                                                       type->len);
        if (r->capture->type.data == NULL) {
            fy_proxy_fail(p, 500);
            return FY_DONE;
        }
        r->capture->type.len = type->len;
    }

    /* the body bytes that came with the header, then the rest */
    size = p->buf.last - p->buf.pos;
    if (p->body_type == FY_PROXY_BODY_LENGTH) {
        size = (size_t) fy_min((uint64_t) size, p->rest);
    }
    if (fy_http_capture_add(r->pool, r->capture, p->buf.pos, size) != FY_OK) {
        fy_proxy_fail(p, 500);
        return FY_DONE;
    }
    if (!p->up_done) {
        fy_proxy_discard(p);        /* fy_proxy_ssi_page at its end */
        return FY_DONE;
    }
    if (p->up_failed) {
        fy_proxy_close_upstream(p);
    } else {
        fy_proxy_release_upstream(p);
    }
    fy_proxy_ssi_page(p, !p->up_failed && fy_proxy_capture_end(p) == FY_OK);
    return FY_DONE;
}

int
fy_proxy_ssi_header_drop(fy_http_proxy_t *p, const fy_str_t *name, int *weak)
{
    if (fy_str_eq_ci(name, "Content-Length")
        || fy_str_eq_ci(name, "Accept-Ranges"))
    {
        return 1;
    }
    if (fy_str_eq_ci(name, "Last-Modified")) {
        return !p->r->loc->ssi->last_modified;
    }
    if (fy_str_eq_ci(name, "ETag")) {
        *weak = 1;
        return !p->r->loc->ssi->last_modified;
    }
    return 0;
}

void
fy_proxy_ssi_page(fy_http_proxy_t *p, int whole)
{
    fy_http_request_t  *r = p->r;
    fy_http_capture_t  *cap = r->capture;
    fy_str_t            type;

    /* the client's connection is the request's again: nothing reads it
     * until the answer is written */
    fy_timer_del(&r->hc->c->read);
    r->hc->c->read.handler = fy_event_ignore;
    r->capture = NULL;
    if (!whole) {
        r->pass_lines.len = 0;
        fy_http_send_error(r, 502);         /* logged where it broke */
        return;
    }
    if (cap->too_big) {
        fy_log_error(FY_LOG_ERR, 0, "SSI document of more than %d bytes "
                     "from the upstream, client %s", FY_HTTP_SSI_MAX,
                     r->hc->addr_text);
        r->pass_lines.len = 0;
        fy_http_send_error(r, 500);
        return;
    }
    type = cap->type;
    fy_http_ssi_response(r, r->status, &type,
                         cap->data ? cap->data : (u_char *) "", cap->len);
}
