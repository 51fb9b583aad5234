/*
 * fy_http_parse_status.c -- the status line of an upstream's response
 * (RFC 9112 4), a resumable parser like the others (fy_http_parse.c).
 *
 * It walks [b->pos, b->last) one byte per switch iteration and keeps
 * what it needs to resume in a state number plus pointers into the
 * buffer.  Nothing here allocates, logs or reads past b->last.  On an
 * error b->pos is left at the offending byte and the state is reset.
 * The header lines after it are fy_http_parse_header_line's
 * (fy_http_parse_header.c).
 */

#include "fy_core.h"
#include "fy_http_parse.h"
#include "fy_http_parse_int.h"


/*
 * The usual line whole in the buffer, "HTTP/1.x NNN reason\r\n", in
 * straight code: the switch below costs ten instructions a byte
 * (docs/performance.md, Optimizations).  Anything else is FY_DECLINED
 * with b->pos untouched, for the state machine to walk from the start
 * with the same result for a line that passes here.
 */
static int
fy_http_parse_status_fast(fy_http_parser_t *r, fy_buf_t *b)
{
    u_char  *p = b->pos, *last = b->last, *reason;

    if (last - p < 15
        || memcmp(p, "HTTP/1.", 7) != 0
        || !fy_http_is_digit(p[7]) || p[8] != ' '
        || p[9] < '1' || p[9] > '9'
        || !fy_http_is_digit(p[10]) || !fy_http_is_digit(p[11])
        || p[12] != ' ')
    {
        return FY_DECLINED;
    }
    reason = p + 13;
    for (p = reason; p < last && fy_http_is_text(*p); p++) {
        /* void */
    }
    if (last - p < 2 || p[0] != '\r' || p[1] != '\n') {
        return FY_DECLINED;
    }

    r->http_major = 1;
    r->http_minor = b->pos[7] - '0';
    r->status = (unsigned) ((b->pos[9] - '0') * 100 + (b->pos[10] - '0') * 10
                            + (b->pos[11] - '0'));
    r->status_text_start = reason;
    r->status_text_end = p;
    b->pos = p + 2;
    return FY_OK;
}


int
fy_http_parse_status_line(fy_http_parser_t *r, fy_buf_t *b)
{
    u_char   ch, *p;
    enum {
        sw_start = 0,
        sw_H,
        sw_HT,
        sw_HTT,
        sw_HTTP,
        sw_first_major_digit,
        sw_major_digit,
        sw_first_minor_digit,
        sw_minor_digit,
        sw_status_1,
        sw_status_2,
        sw_status_3,
        sw_status_end,          /* three digits seen, want SP or EOL */
        sw_reason,
        sw_almost_done
    } state;

    state = r->state;

    if (state == sw_start && fy_http_parse_status_fast(r, b) == FY_OK) {
        return FY_OK;
    }

    /* Every defect in a status line is the upstream's fault and gets
     * the same answer (502), so there is a single error code. */

    for (p = b->pos; p < b->last; p++) {
        ch = *p;

        switch (state) {

        case sw_start:
            if (ch != 'H') {
                goto invalid;
            }
            r->status = 0;
            r->status_text_start = NULL;
            r->status_text_end = NULL;
            r->http_major = 0;
            r->http_minor = 0;
            state = sw_H;
            break;

        case sw_H:
            if (ch != 'T') {
                goto invalid;
            }
            state = sw_HT;
            break;

        case sw_HT:
            if (ch != 'T') {
                goto invalid;
            }
            state = sw_HTT;
            break;

        case sw_HTT:
            if (ch != 'P') {
                goto invalid;
            }
            state = sw_HTTP;
            break;

        case sw_HTTP:
            if (ch != '/') {
                goto invalid;
            }
            state = sw_first_major_digit;
            break;

        case sw_first_major_digit:
            if (ch != '1') {
                goto invalid;
            }
            r->http_major = 1;
            state = sw_major_digit;
            break;

        case sw_major_digit:
            if (ch != '.') {
                goto invalid;
            }
            state = sw_first_minor_digit;
            break;

        case sw_first_minor_digit:
            if (!fy_http_is_digit(ch)) {
                goto invalid;
            }
            r->http_minor = ch - '0';
            state = sw_minor_digit;
            break;

        case sw_minor_digit:
            if (ch != ' ') {
                goto invalid;
            }
            state = sw_status_1;
            break;

        case sw_status_1:
            /* 100..999: a leading zero is not a status code */
            if (ch < '1' || ch > '9') {
                goto invalid;
            }
            r->status = ch - '0';
            state = sw_status_2;
            break;

        case sw_status_2:
        case sw_status_3:
            if (!fy_http_is_digit(ch)) {
                goto invalid;
            }
            r->status = r->status * 10 + (ch - '0');
            state = (state == sw_status_2) ? sw_status_3 : sw_status_end;
            break;

        case sw_status_end:
            if (ch == ' ') {
                r->status_text_start = p + 1;
                state = sw_reason;
                break;
            }

            /* "HTTP/1.1 200\r\n": no SP, no reason */
            if (ch == '\r' || ch == '\n') {
                r->status_text_start = p;
                r->status_text_end = p;

                if (ch == '\n') {
                    goto done;
                }

                state = sw_almost_done;
                break;
            }

            goto invalid;

        case sw_reason:
            if (fy_http_is_text(ch)) {
                break;
            }

            if (ch == '\r' || ch == '\n') {
                r->status_text_end = p;

                if (ch == '\n') {
                    goto done;
                }

                state = sw_almost_done;
                break;
            }

            goto invalid;

        case sw_almost_done:
            if (ch != '\n') {
                goto invalid;
            }
            goto done;
        }
    }

    b->pos = p;
    r->state = state;

    return FY_AGAIN;

done:

    b->pos = p + 1;
    r->state = sw_start;

    return FY_OK;

invalid:

    b->pos = p;
    r->state = sw_start;

    return FY_HTTP_PARSE_INVALID_STATUS;
}
