/*
 * fy_http_empty_gif.c -- nginx's empty_gif module: "empty_gif" in a
 * location answers every GET and HEAD with a 1x1 transparent GIF, 43
 * bytes, as the web bugs of counters and analytics want:
 *
 *     location = /_.gif { empty_gif; }
 *
 * As nginx: 200 with Content-Type image/gif and a Last-Modified of
 * Mon, 28 Sep 1970 06:00:00 GMT, the picture's fixed date; other
 * methods get 405.  The conditional requests are those of nginx's
 * not_modified filter on a response without an ETag: If-Unmodified-Since
 * before that date (or not a date) and If-Match other than "*" are
 * 412; If-None-Match "*" is 304, any other If-None-Match 200; else
 * If-Modified-Since as if_modified_since says.  No Range is served
 * (nginx sends this response whole, without Accept-Ranges).
 */
#include "fy_core.h"
#include "fy_http.h"
#include "fy_http_static.h"
#include "fy_times.h"

/* nginx's picture: the smallest GIF89a of one transparent pixel */
static const u_char  fy_http_empty_gif_data[] = {
    'G', 'I', 'F', '8', '9', 'a',       /* header */
    0x01, 0x00, 0x01, 0x00,             /* 1 x 1 */
    0x80, 0x01, 0x00,                   /* a 2-colour palette follows */
    0x00, 0x00, 0x00, 0xff, 0xff, 0xff, /* black, white */
    0x21, 0xf9, 0x04, 0x01, 0x00, 0x00, 0x01, 0x00,  /* colour 1 is
                                                        transparent */
    0x2c, 0x00, 0x00, 0x00, 0x00, 0x01, 0x00, 0x01, 0x00, 0x00,  /* the
                                                                   image */
    0x02, 0x02, 0x4c, 0x01, 0x00,       /* its one pixel, LZW */
    0x3b                                /* trailer */
};

/* 1970-09-28 06:00:00 UTC, the Last-Modified nginx gives it */
#define FY_HTTP_EMPTY_GIF_MTIME  23349600

const fy_command_t  fy_http_empty_gif_commands[] = {

    { "empty_gif", FY_CONF_LOC, 0, 0, 0, fy_http_handler_set,
      FY_CONF_LOC_OFF, 0,
      &(const fy_http_handler_pt) { fy_http_empty_gif_handler } },

    { NULL, 0, 0, 0, 0, NULL, 0, 0, NULL }
};

/* 200, 304 or 412 for the conditional fields of r (nginx's
 * not_modified filter on a response dated mtime without an ETag). */
static int
fy_http_empty_gif_status(fy_http_request_t *r, time_t mtime)
{
    const fy_str_t  *v;
    time_t           t;

    v = fy_http_header_find(&r->headers, "If-Unmodified-Since");
    if (v) {
        t = fy_time_parse_http(v->data, v->len);
        if (t == (time_t) -1 || t < mtime) {
            return 412;
        }
    }
    v = fy_http_header_find(&r->headers, "If-Match");
    if (v && !fy_http_static_etag_match(v, "", 1)) {
        return 412;
    }
    v = fy_http_header_find(&r->headers, "If-None-Match");
    if (v) {
        return fy_http_static_etag_match(v, "", 0) ? 304 : 200;
    }
    v = fy_http_header_find(&r->headers, "If-Modified-Since");
    if (v && r->loc->if_modified_since != FY_HTTP_IMS_OFF) {
        t = fy_time_parse_http(v->data, v->len);
        if (t == mtime
            || (t != (time_t) -1 && t > mtime
                && r->loc->if_modified_since == FY_HTTP_IMS_BEFORE))
        {
            return 304;
        }
    }
    return 200;
}

void
fy_http_empty_gif_handler(fy_http_request_t *r)
{
    static fy_str_t  type = fy_string("image/gif");
    int              status = 200;

    if (r->method != FY_HTTP_GET && r->method != FY_HTTP_HEAD) {
        fy_http_send_error(r, 405);
        return;
    }

    /* for "expires modified" and the Last-Modified line */
    r->last_modified = FY_HTTP_EMPTY_GIF_MTIME;
    r->has_last_modified = 1;
    if (!r->err_status && !r->parent) {
        /* (an error page is sent whole, with the error's status) */
        status = fy_http_empty_gif_status(r, FY_HTTP_EMPTY_GIF_MTIME);
        if (status == 412) {
            r->has_last_modified = 0;
            fy_http_send_error(r, 412);
            return;
        }
    }
    r->send_last_modified = 1;
    fy_http_send_response(r, status, &type, fy_http_empty_gif_data,
                          sizeof(fy_http_empty_gif_data), NULL);
}
