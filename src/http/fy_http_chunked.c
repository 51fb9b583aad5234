/*
 * fy_http_chunked.c -- the chunked transfer coding parser (RFC 9112 7.1).
 *
 * Like the other HTTP/1.x parsers it walks [b->pos, b->last) one byte
 * per switch iteration and keeps what it needs to resume in a state
 * number; unlike them it keeps no pointers into the buffer, so the
 * caller may drain it between calls.  Nothing here allocates, logs or
 * reads past b->last.  On an error b->pos is left at the offending
 * byte (for the caller's log line) and the state is reset.
 *
 * Two readings of one grammar: c->strict (an upstream's body, which
 * the proxy may relay byte for byte) accepts only CRLF line ends and
 * refuses framing fields in the trailer section; without it (a
 * client's body, always decoded and framed anew) a bare LF ends a line
 * too.  Both cost the same per data byte: the checks are on metadata.
 */

#include "fy_core.h"
#include "fy_http_parse.h"
#include "fy_http_parse_int.h"


/* Out of line: inlined, these rare trailer steps cost the hot size
 * and data states a few instructions per call (callgrind). */
static void fy_http_chunk_name_char(fy_http_chunked_t *c, u_char ch)
    __attribute__((noinline));
static int fy_http_chunk_name_refused(const fy_http_chunked_t *c)
    __attribute__((noinline));
static void fy_http_chunk_keep(fy_http_chunked_t *c, u_char ch)
    __attribute__((noinline));


/* Keep one more byte of the trailer section (c->keep set). */
static void
fy_http_chunk_keep(fy_http_chunked_t *c, u_char ch)
{
    if (c->keep_len < c->keep_size) {
        c->keep[c->keep_len++] = ch;
    }
}


/* Keep one more byte of a trailer name (strict parsers only). */
static void
fy_http_chunk_name_char(fy_http_chunked_t *c, u_char ch)
{
    if (c->name_len < FY_HTTP_CHUNK_NAME_MAX) {
        c->name[c->name_len] = (ch >= 'A' && ch <= 'Z') ? ch | 0x20 : ch;
    }
    if (c->name_len <= FY_HTTP_CHUNK_NAME_MAX) {
        c->name_len++;
    }
}

/*
 * Is the trailer field just named one a client must not see in a
 * trailer section we pass on as it came?  RFC 9110 6.5.1: fields that
 * frame the message, route it or say how to process its content cannot
 * come after the content, and a sender must not send them there; a
 * client that merges trailers into the header anyway (some do) would
 * then read a message other than the one we framed.  Refused:
 *   - framing: Content-Length, Transfer-Encoding, Trailer;
 *   - the connection and routing, which ferry alone decides for the
 *     client and strips from the upstream's header: Connection,
 *     Keep-Alive, Proxy-Connection, Upgrade, TE, Host;
 *   - content format: Content-Encoding, Content-Type, Content-Range.
 * Anything else (checksums, Server-Timing, Expires, ...) passes; what
 * the upstream could as well have put in its header gains nothing by
 * being refused here.
 */
static int
fy_http_chunk_name_refused(const fy_http_chunked_t *c)
{
    static const fy_str_t  refused[] = {
        fy_string("content-length"), fy_string("transfer-encoding"),
        fy_string("trailer"), fy_string("connection"),
        fy_string("keep-alive"), fy_string("proxy-connection"),
        fy_string("upgrade"), fy_string("te"), fy_string("host"),
        fy_string("content-encoding"), fy_string("content-type"),
        fy_string("content-range")
    };
    size_t  i;

    for (i = 0; i < fy_nelems(refused); i++) {
        if (c->name_len == refused[i].len
            && memcmp(c->name, refused[i].data, c->name_len) == 0)
        {
            return 1;
        }
    }
    return 0;
}


int
fy_http_parse_chunked(fy_http_chunked_t *c, fy_buf_t *b)
{
    int       d;
    u_char    ch, *p;
    uint64_t  n;
    enum {
        sw_chunk_start = 0,
        sw_chunk_size,
        sw_size_bws,            /* BWS after the size: only ';' may follow */
        sw_ext_name_start,
        sw_ext_name,
        sw_ext_name_bws,        /* BWS after a name: '=' or ';' follows */
        sw_ext_value_start,
        sw_ext_token,
        sw_ext_quoted,
        sw_ext_quoted_pair,
        sw_ext_quoted_end,
        sw_size_lf,
        sw_data,
        sw_data_cr,
        sw_data_lf,
        sw_trailer_start,
        sw_trailer_name,
        sw_trailer_value,
        sw_trailer_lf,
        sw_last_lf              /* CR of the final empty line seen */
    } state;

    state = c->state;

    c->data = NULL;
    c->len = 0;

    for (p = b->pos; p < b->last; p++) {

        if (state == sw_data) {
            /* hand out as much of the chunk as has arrived */
            n = fy_min(c->size, (uint64_t) (b->last - p));

            c->data = p;
            c->len = (size_t) n;
            c->size -= n;

            b->pos = p + n;
            c->state = c->size ? sw_data : sw_data_cr;

            return FY_OK;
        }

        /*
         * Everything else is metadata.  Nothing points into the buffer
         * here, so the caller may drain it freely; bound what a peer
         * can make us chew through without a byte of payload.  (The
         * trailer states come last in the enum.)
         */
        c->meta_len++;

        if (c->meta_len > (state >= sw_trailer_start
                           ? FY_HTTP_CHUNK_TRAILER_MAX
                           : FY_HTTP_CHUNK_LINE_MAX))
        {
            goto invalid;
        }

        ch = *p;

        switch (state) {

        case sw_chunk_start:
        case sw_chunk_size:
            if (state == sw_chunk_start) {
                c->size = 0;
            }

            if (fy_http_is_digit(ch)) {
                d = ch - '0';

            } else if ((ch | 0x20) >= 'a' && (ch | 0x20) <= 'f') {
                d = (ch | 0x20) - 'a' + 10;

            } else if (state == sw_chunk_start) {
                /* an empty size ("\r\n"), "-1", " 5", "x" */
                goto invalid;

            } else {
                goto size_end;
            }

            /* sizes are off_t-sized further on: stay below 2^63 */
            if (c->size > (uint64_t) (INT64_MAX >> 4)) {
                goto invalid;
            }

            c->size = c->size * 16 + (uint64_t) d;
            state = sw_chunk_size;
            break;

        size_end:

            if (ch == ';') {
                state = sw_ext_name_start;
                break;
            }

            if (ch == ' ' || ch == '\t') {
                state = sw_size_bws;
                break;
            }

            goto line_end;

        case sw_size_bws:
            if (ch == ' ' || ch == '\t') {
                break;
            }

            /* "1 0": a space inside the size is not BWS before ';' */
            if (ch != ';') {
                goto invalid;
            }

            state = sw_ext_name_start;
            break;

        /*
         * chunk-ext = *( BWS ";" BWS ext-name [ BWS "=" BWS ext-val ] )
         * We use no extension, but a lax skip-to-LF here is where
         * request smuggling via chunk extensions lives, so the grammar
         * is checked exactly.
         */

        case sw_ext_name_start:
            if (ch == ' ' || ch == '\t') {
                break;
            }

            if (!fy_http_is_tchar(ch)) {
                goto invalid;
            }

            state = sw_ext_name;
            break;

        case sw_ext_name:
        case sw_ext_name_bws:
            if (state == sw_ext_name && fy_http_is_tchar(ch)) {
                break;
            }

            if (ch == ' ' || ch == '\t') {
                state = sw_ext_name_bws;
                break;
            }

            if (ch == '=') {
                state = sw_ext_value_start;
                break;
            }

            if (ch == ';') {
                state = sw_ext_name_start;
                break;
            }

            /* BWS is allowed before '=' or ';' only, not before CRLF */
            if (state == sw_ext_name_bws) {
                goto invalid;
            }

            goto line_end;

        case sw_ext_value_start:
            if (ch == ' ' || ch == '\t') {
                break;
            }

            if (ch == '"') {
                state = sw_ext_quoted;
                break;
            }

            if (!fy_http_is_tchar(ch)) {
                goto invalid;
            }

            state = sw_ext_token;
            break;

        case sw_ext_token:
            if (fy_http_is_tchar(ch)) {
                break;
            }

            goto ext_value_end;

        case sw_ext_quoted:
            /* qdtext (RFC 9110 5.6.4) */
            if (ch == '"') {
                state = sw_ext_quoted_end;
                break;
            }

            if (ch == '\\') {
                state = sw_ext_quoted_pair;
                break;
            }

            if (!fy_http_is_text(ch)) {
                goto invalid;
            }

            break;

        case sw_ext_quoted_pair:
            if (!fy_http_is_text(ch)) {
                goto invalid;
            }
            state = sw_ext_quoted;
            break;

        case sw_ext_quoted_end:

        ext_value_end:

            if (ch == ' ' || ch == '\t') {
                state = sw_size_bws;
                break;
            }

            if (ch == ';') {
                state = sw_ext_name_start;
                break;
            }

        line_end:

            if (ch == '\r') {
                state = sw_size_lf;
                break;
            }

            /* a bare LF: tolerated only where nobody else reads it */
            if (ch == '\n' && !c->strict) {
                goto size_line_done;
            }

            goto invalid;

        case sw_size_lf:
            if (ch != '\n') {
                goto invalid;
            }

        size_line_done:

            c->meta_len = 0;
            state = c->size ? sw_data : sw_trailer_start;
            break;

        case sw_data:
            /* handled above the switch */
            break;

        case sw_data_cr:
            if (ch == '\r') {
                state = sw_data_lf;
                break;
            }

            if (ch == '\n' && !c->strict) {
                state = sw_chunk_start;
                break;
            }

            /* the chunk is longer than its size said */
            goto invalid;

        case sw_data_lf:
            if (ch != '\n') {
                goto invalid;
            }
            state = sw_chunk_start;
            break;

        /* trailer-section = *( field-line CRLF ), held to the same
         * rules as the header section */

        case sw_trailer_start:
            if (fy_http_is_tchar(ch)) {
                if (c->strict) {
                    c->name_len = 0;
                    fy_http_chunk_name_char(c, ch);
                }
                if (c->keep) {
                    fy_http_chunk_keep(c, ch);
                }
                state = sw_trailer_name;
                break;
            }

            if (ch == '\r') {
                state = sw_last_lf;
                break;
            }

            if (ch == '\n' && !c->strict) {
                goto done;
            }

            goto invalid;

        case sw_trailer_name:
            if (fy_http_is_tchar(ch)) {
                if (c->strict) {
                    fy_http_chunk_name_char(c, ch);
                }
                if (c->keep) {
                    fy_http_chunk_keep(c, ch);
                }
                break;
            }

            if (ch != ':') {
                goto invalid;
            }

            if (c->strict && fy_http_chunk_name_refused(c)) {
                goto invalid;
            }

            if (c->keep) {
                fy_http_chunk_keep(c, ch);
            }
            state = sw_trailer_value;
            break;

        case sw_trailer_value:
            if (fy_http_is_text(ch)) {
                if (c->keep) {
                    fy_http_chunk_keep(c, ch);
                }
                break;
            }

            if (ch == '\r') {
                state = sw_trailer_lf;
                break;
            }

            if (ch == '\n' && !c->strict) {
                if (c->keep) {
                    fy_http_chunk_keep(c, '\n');
                }
                state = sw_trailer_start;
                break;
            }

            goto invalid;

        case sw_trailer_lf:
            if (ch != '\n') {
                goto invalid;
            }
            if (c->keep) {
                fy_http_chunk_keep(c, '\n');
            }
            state = sw_trailer_start;
            break;

        case sw_last_lf:
            if (ch != '\n') {
                goto invalid;
            }
            goto done;
        }
    }

    b->pos = p;
    c->state = state;

    return FY_AGAIN;

done:

    b->pos = p + 1;
    c->state = sw_chunk_start;
    c->size = 0;
    c->meta_len = 0;

    return FY_DONE;

invalid:

    b->pos = p;
    c->state = sw_chunk_start;
    c->meta_len = 0;

    return FY_HTTP_PARSE_INVALID_CHUNKED;
}
