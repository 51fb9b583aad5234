/*
 * fuzz_http_response.c -- the status line and header parsers on what
 * an upstream sends (fy_http_parse_status_line, then
 * fy_http_parse_header_line up to the empty line), including the
 * interim 1xx responses the proxy skips before the real one.
 *
 * Checked: no memory error or UB; the same results whether the input
 * arrives whole, byte by byte or in random pieces; the status is
 * 100..999 and the reason phrase and header fields hold only what
 * their grammar allows.
 */

#include "fy_core.h"
#include "fy_http_parse.h"
#include "fy_http_parse_int.h"
#include "fy_fuzz_trace.h"


static void
check_status_line(const fy_http_parser_t *p, const fy_buf_t *b)
{
    const u_char  *c;

    fy_fuzz_assert(p->status >= 100 && p->status <= 999);
    fy_fuzz_assert(p->http_major == 1 && p->http_minor <= 9);
    fy_fuzz_assert(p->status_text_start <= p->status_text_end);
    fy_fuzz_assert(p->status_text_end < b->pos && b->pos <= b->last);

    for (c = p->status_text_start; c < p->status_text_end; c++) {
        fy_fuzz_assert(fy_http_is_text(*c));
    }
}


static void
check_header_line(const fy_http_parser_t *p, const fy_buf_t *b)
{
    const u_char  *c;

    fy_fuzz_assert(p->header_name_start < p->header_name_end);
    fy_fuzz_assert(p->header_name_end < p->header_start);
    fy_fuzz_assert(p->header_start <= p->header_end);
    fy_fuzz_assert(p->header_end < b->pos && b->pos <= b->last);

    for (c = p->header_name_start; c < p->header_name_end; c++) {
        fy_fuzz_assert(fy_http_is_tchar(*c));
    }

    for (c = p->header_start; c < p->header_end; c++) {
        fy_fuzz_assert(fy_http_is_text(*c));
    }
}


static void
run(const uint8_t *data, size_t size, int mode, fy_fuzz_trace_t *t)
{
    fy_fuzz_feed_t    f;
    fy_http_parser_t  p;
    fy_buf_t          b;
    int               rc, in_headers;

    fy_fuzz_feed_init(&f, &b, data, size, mode);
    fy_http_parser_init(&p);
    in_headers = 0;

    for ( ;; ) {
        rc = in_headers ? fy_http_parse_header_line(&p, &b)
                        : fy_http_parse_status_line(&p, &b);

        if (rc == FY_AGAIN) {
            fy_fuzz_assert(b.pos == b.last);

            if (fy_fuzz_feed_more(&f, &b)) {
                continue;
            }

            fy_fuzz_trace_add(t, rc);
            fy_fuzz_trace_add(t, fy_fuzz_off(&f, b.pos));
            break;
        }

        fy_fuzz_trace_add(t, rc);
        fy_fuzz_trace_add(t, fy_fuzz_off(&f, b.pos));

        if (rc == FY_OK && !in_headers) {
            check_status_line(&p, &b);
            fy_fuzz_trace_add(t, (long) p.status);
            fy_fuzz_trace_add(t, (long) p.http_minor);
            fy_fuzz_trace_add(t, fy_fuzz_off(&f, p.status_text_start));
            fy_fuzz_trace_add(t, fy_fuzz_off(&f, p.status_text_end));
            in_headers = 1;
            continue;
        }

        if (rc == FY_OK) {
            check_header_line(&p, &b);
            fy_fuzz_trace_add(t, fy_fuzz_off(&f, p.header_name_start));
            fy_fuzz_trace_add(t, fy_fuzz_off(&f, p.header_name_end));
            fy_fuzz_trace_add(t, fy_fuzz_off(&f, p.header_start));
            fy_fuzz_trace_add(t, fy_fuzz_off(&f, p.header_end));
            continue;
        }

        if (rc == FY_HTTP_PARSE_HEADER_DONE) {
            /* 1xx but 101: interim, the real response follows (the
             * proxy starts a fresh parser on the rest) */
            if (p.status >= 100 && p.status < 200 && p.status != 101) {
                fy_http_parser_init(&p);
                in_headers = 0;
                continue;
            }
            break;
        }

        fy_fuzz_assert(rc == FY_HTTP_PARSE_INVALID_STATUS
                       || rc == FY_HTTP_PARSE_INVALID_HEADER);
        fy_fuzz_assert(p.state == 0);
        fy_fuzz_assert(b.pos >= b.start && b.pos < b.last);
        break;
    }

    fy_fuzz_feed_free(&f);
}


int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    fy_fuzz_trace_t  whole = { 0 }, bytes = { 0 }, pieces = { 0 };

    size = fy_min(size, FY_FUZZ_MAX_LEN);

    run(data, size, FY_FUZZ_WHOLE, &whole);
    run(data, size, FY_FUZZ_BYTES, &bytes);
    run(data, size, FY_FUZZ_RANDOM, &pieces);

    fy_fuzz_trace_same(&whole, &bytes, "byte by byte");
    fy_fuzz_trace_same(&whole, &pieces, "random pieces");

    fy_fuzz_trace_free(&whole);
    fy_fuzz_trace_free(&bytes);
    fy_fuzz_trace_free(&pieces);

    return 0;
}
