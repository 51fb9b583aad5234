/*
 * fuzz_http_request.c -- the request line and header parsers
 * (fy_http_parse_request_line, fy_http_parse_header_line), as a worker
 * runs them on a client connection: request line, header lines up to
 * the empty line, then the next pipelined request in the same buffer.
 *
 * Checked: no memory error or UB; the same results whether the input
 * arrives whole, byte by byte or in random pieces; and what a parser
 * hands out on FY_OK is what its contract says (pointers in order and
 * inside the bytes consumed, methods and names are tokens -- or, with
 * lenient_names (the client side), visible bytes with name_invalid and
 * name_underscore saying exactly which --, values hold no CR, LF, NUL
 * or other controls and no surrounding whitespace).
 */

#include "fy_core.h"
#include "fy_http_parse.h"
#include "fy_http_parse_int.h"
#include "fy_fuzz_trace.h"


static void
check_request_line(const fy_http_parser_t *p, const fy_buf_t *b)
{
    const u_char  *c;

    fy_fuzz_assert(p->request_start < p->method_end);
    fy_fuzz_assert(p->method_end < p->uri_start);
    fy_fuzz_assert(p->uri_start < p->uri_end);
    fy_fuzz_assert(p->uri_end < p->request_end);
    fy_fuzz_assert(p->request_end < b->pos && b->pos <= b->last);
    fy_fuzz_assert(p->http_major == 1 && p->http_minor <= 9);

    for (c = p->request_start; c < p->method_end; c++) {
        fy_fuzz_assert(fy_http_is_tchar(*c));
    }

    for (c = p->uri_start; c < p->uri_end; c++) {
        fy_fuzz_assert(*c > 0x20 && *c != 0x7f);
    }

    if (p->args_start) {
        fy_fuzz_assert(p->args_start > p->uri_start
                       && p->args_start <= p->uri_end);
        fy_fuzz_assert(p->args_start[-1] == '?');
    }

    if (p->host_start) {
        fy_fuzz_assert(p->host_start >= p->uri_start
                       && p->host_start < p->host_end
                       && p->host_end <= p->uri_end);
    }

    if (p->port_start) {
        fy_fuzz_assert(p->port_start <= p->port_end
                       && p->port_end <= p->uri_end);
        for (c = p->port_start; c < p->port_end; c++) {
            fy_fuzz_assert(fy_http_is_digit(*c));
        }
    }

    if (p->path_start) {
        fy_fuzz_assert(p->path_start >= p->uri_start
                       && p->path_start <= p->uri_end);
    }
}


static void
check_header_line(const fy_http_parser_t *p, const fy_buf_t *b)
{
    const u_char  *c;
    unsigned       under, invalid;

    fy_fuzz_assert(p->header_name_start < p->header_name_end);
    fy_fuzz_assert(p->header_name_end < p->header_start);
    fy_fuzz_assert(p->header_start <= p->header_end);
    fy_fuzz_assert(p->header_end < b->pos && b->pos <= b->last);

    under = 0;
    invalid = 0;
    for (c = p->header_name_start; c < p->header_name_end; c++) {
        if (p->lenient_names) {
            fy_fuzz_assert(*c > 0x20 && *c != 0x7f && *c != ':');
        } else {
            fy_fuzz_assert(fy_http_is_tchar(*c));
        }
        under |= (*c == '_');
        invalid |= !(fy_http_is_digit(*c) || *c == '-' || *c == '_'
                     || ((*c | 0x20) >= 'a' && (*c | 0x20) <= 'z'));
    }
    /* the flags ignore_invalid_headers and underscores_in_headers use */
    fy_fuzz_assert(p->name_underscore == under);
    fy_fuzz_assert(p->name_invalid == invalid);

    for (c = p->header_start; c < p->header_end; c++) {
        fy_fuzz_assert(fy_http_is_text(*c));
    }

    if (p->header_start < p->header_end) {
        fy_fuzz_assert(p->header_start[0] != ' '
                       && p->header_start[0] != '\t');
        fy_fuzz_assert(p->header_end[-1] != ' ' && p->header_end[-1] != '\t');
    }
}


static void
run(const uint8_t *data, size_t size, int mode, int lenient,
    fy_fuzz_trace_t *t)
{
    fy_fuzz_feed_t    f;
    fy_http_parser_t  p;
    fy_buf_t          b;
    int               rc, in_headers;

    fy_fuzz_feed_init(&f, &b, data, size, mode);
    fy_http_parser_init(&p);
    p.lenient_names = lenient;
    in_headers = 0;

    for ( ;; ) {
        rc = in_headers ? fy_http_parse_header_line(&p, &b)
                        : fy_http_parse_request_line(&p, &b);

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
            check_request_line(&p, &b);
            fy_fuzz_trace_add(t, fy_fuzz_off(&f, p.request_start));
            fy_fuzz_trace_add(t, fy_fuzz_off(&f, p.request_end));
            fy_fuzz_trace_add(t, fy_fuzz_off(&f, p.method_end));
            fy_fuzz_trace_add(t, fy_fuzz_off(&f, p.uri_start));
            fy_fuzz_trace_add(t, fy_fuzz_off(&f, p.uri_end));
            fy_fuzz_trace_add(t, fy_fuzz_off(&f, p.args_start));
            fy_fuzz_trace_add(t, fy_fuzz_off(&f, p.host_start));
            fy_fuzz_trace_add(t, fy_fuzz_off(&f, p.host_end));
            fy_fuzz_trace_add(t, fy_fuzz_off(&f, p.port_start));
            fy_fuzz_trace_add(t, fy_fuzz_off(&f, p.port_end));
            fy_fuzz_trace_add(t, fy_fuzz_off(&f, p.path_start));
            fy_fuzz_trace_add(t, p.method);
            fy_fuzz_trace_add(t, (long) p.http_minor);
            in_headers = 1;
            continue;
        }

        if (rc == FY_OK) {
            check_header_line(&p, &b);
            fy_fuzz_trace_add(t, fy_fuzz_off(&f, p.header_name_start));
            fy_fuzz_trace_add(t, fy_fuzz_off(&f, p.header_name_end));
            fy_fuzz_trace_add(t, fy_fuzz_off(&f, p.header_start));
            fy_fuzz_trace_add(t, fy_fuzz_off(&f, p.header_end));
            fy_fuzz_trace_add(t, p.name_underscore * 2 + p.name_invalid);
            continue;
        }

        if (rc == FY_HTTP_PARSE_HEADER_DONE) {
            fy_fuzz_assert(in_headers);
            /* the next pipelined request, as keep-alive does */
            in_headers = 0;
            continue;
        }

        /* an error: the parser is back at its start state, the
         * connection would be closed */
        fy_fuzz_assert(rc == FY_HTTP_PARSE_INVALID_METHOD
                       || rc == FY_HTTP_PARSE_INVALID_REQUEST
                       || rc == FY_HTTP_PARSE_INVALID_VERSION
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
    fy_fuzz_trace_t  whole, bytes, pieces;
    int              lenient;

    size = fy_min(size, FY_FUZZ_MAX_LEN);

    /* strict names (upstream responses' rules) and lenient ones (client
     * requests, for ignore_invalid_headers) */
    for (lenient = 0; lenient < 2; lenient++) {
        memset(&whole, 0, sizeof(whole));
        memset(&bytes, 0, sizeof(bytes));
        memset(&pieces, 0, sizeof(pieces));

        run(data, size, FY_FUZZ_WHOLE, lenient, &whole);
        run(data, size, FY_FUZZ_BYTES, lenient, &bytes);
        run(data, size, FY_FUZZ_RANDOM, lenient, &pieces);

        fy_fuzz_trace_same(&whole, &bytes, "byte by byte");
        fy_fuzz_trace_same(&whole, &pieces, "random pieces");

        fy_fuzz_trace_free(&whole);
        fy_fuzz_trace_free(&bytes);
        fy_fuzz_trace_free(&pieces);
    }

    return 0;
}
