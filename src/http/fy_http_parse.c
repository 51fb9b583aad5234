/*
 * fy_http_parse.c -- resumable HTTP/1.x parsers (RFC 9112, RFC 9110):
 * the request line, and the tchar class all of them use.
 *
 * Each parser walks [b->pos, b->last) one byte per switch iteration and
 * keeps what it needs to resume in a state number plus pointers into
 * the buffer.  Nothing here allocates, logs or reads past b->last, so a
 * message fed one byte per call gives the same answer as the whole
 * message at once.  On an error b->pos is left at the offending byte
 * (for the caller's log line) and the state is reset.
 *
 * The other parsers have a file each: the status line of a response in
 * fy_http_parse_status.c, header lines in fy_http_parse_header.c, the
 * chunked coding in fy_http_chunked.c; the character classes they
 * share are in fy_http_parse_int.h.
 */

#include "fy_core.h"
#include "fy_http_parse.h"
#include "fy_http_parse_int.h"


/*
 * tchar (RFC 9110 5.6.2): "!#$%&'*+-.^_`|~", DIGIT, ALPHA.  Methods,
 * header names and chunk-extension names are tokens.  Declared, with
 * the other classes the parsers share, in fy_http_parse_int.h.
 */
const uint32_t  fy_http_tchar[8] = {
    0x00000000,     /* 0x00-0x1f  CTLs                                 */
    0x03ff6cfa,     /* 0x20-0x3f  ! # $ % & ' * + - .  0-9             */
    0xc7fffffe,     /* 0x40-0x5f  A-Z ^ _                              */
    0x57ffffff,     /* 0x60-0x7f  ` a-z | ~                            */
    0, 0, 0, 0      /* 0x80-0xff  not in tokens                        */
};

/*
 * reg-name (RFC 3986 3.2.2): unreserved, sub-delims and '%' of
 * pct-encoded.  Not ':' (the port follows), not '@' (userinfo, which
 * RFC 9110 4.2.4 says to treat as an error), not '/', '?', '#'.
 */
static const uint32_t  fy_http_host[8] = {
    0x00000000,     /* 0x00-0x1f                                       */
    0x2bff7ff2,     /* 0x20-0x3f  ! $ % & ' ( ) * + , - .  0-9 ; =     */
    0x87fffffe,     /* 0x40-0x5f  A-Z _                                */
    0x47fffffe,     /* 0x60-0x7f  a-z ~                                */
    0, 0, 0, 0
};

#define fy_http_is_host(ch)   fy_http_in(fy_http_host, ch)

/* A request-target byte: visible ASCII or obs-text; no CTL, SP, DEL. */
#define fy_http_is_uri(ch)    ((ch) > 0x20 && (ch) != 0x7f)


static int
fy_http_method(const u_char *m, size_t n)
{
    /* Methods are case-sensitive (RFC 9110 9.1): "get" is a valid but
     * unknown token, proxied as such. */

    switch (n) {

    case 3:
        if (memcmp(m, "GET", 3) == 0) {
            return FY_HTTP_GET;
        }
        if (memcmp(m, "PUT", 3) == 0) {
            return FY_HTTP_PUT;
        }
        break;

    case 4:
        if (memcmp(m, "HEAD", 4) == 0) {
            return FY_HTTP_HEAD;
        }
        if (memcmp(m, "POST", 4) == 0) {
            return FY_HTTP_POST;
        }
        break;

    case 5:
        if (memcmp(m, "PATCH", 5) == 0) {
            return FY_HTTP_PATCH;
        }
        if (memcmp(m, "TRACE", 5) == 0) {
            return FY_HTTP_TRACE;
        }
        break;

    case 6:
        if (memcmp(m, "DELETE", 6) == 0) {
            return FY_HTTP_DELETE;
        }
        break;

    case 7:
        if (memcmp(m, "OPTIONS", 7) == 0) {
            return FY_HTTP_OPTIONS;
        }
        if (memcmp(m, "CONNECT", 7) == 0) {
            return FY_HTTP_CONNECT;
        }
        break;
    }

    return FY_HTTP_UNKNOWN;
}


/* Schemes are case-insensitive (RFC 3986 3.1); a gateway only has any
 * business with http and https targets. */
static int
fy_http_scheme_ok(const u_char *s, size_t n)
{
    if (n != 4 && n != 5) {
        return 0;
    }

    if ((s[0] | 0x20) != 'h' || (s[1] | 0x20) != 't'
        || (s[2] | 0x20) != 't' || (s[3] | 0x20) != 'p')
    {
        return 0;
    }

    return n == 4 || (s[4] | 0x20) == 's';
}


void
fy_http_parser_init(fy_http_parser_t *r)
{
    memset(r, 0, sizeof(fy_http_parser_t));
}


int
fy_http_parse_request_line(fy_http_parser_t *r, fy_buf_t *b)
{
    int      rc;
    u_char   ch, *p;
    enum {
        sw_start = 0,
        sw_start_lf,            /* CR of a leading empty line seen */
        sw_method,
        sw_target,              /* first byte of the request-target */
        sw_scheme,
        sw_scheme_slash,
        sw_scheme_slash_slash,
        sw_host_start,
        sw_host,
        sw_host_ip_literal,
        sw_host_end,            /* just past an IP literal's ']' */
        sw_port,
        sw_path,                /* path and query, up to SP */
        sw_asterisk,
        sw_http_H,
        sw_http_HT,
        sw_http_HTT,
        sw_http_HTTP,
        sw_http_slash,
        sw_first_major_digit,
        sw_major_digit,         /* one major digit seen, want '.' */
        sw_first_minor_digit,
        sw_minor_digit,         /* one minor digit seen, want CR/LF */
        sw_almost_done
    } state;

    state = r->state;

    for (p = b->pos; p < b->last; p++) {
        ch = *p;

        switch (state) {

        case sw_start:
            /* RFC 9112 2.2: ignore empty lines before the request line */
            if (ch == '\r') {
                state = sw_start_lf;
                break;
            }

            if (ch == '\n') {
                break;
            }

            if (!fy_http_is_tchar(ch)) {
                goto invalid_method;
            }

            /* a parser reused for a pipelined request starts clean */
            r->request_start = p;
            r->request_end = NULL;
            r->method_end = NULL;
            r->uri_start = NULL;
            r->uri_end = NULL;
            r->args_start = NULL;
            r->host_start = NULL;
            r->host_end = NULL;
            r->port_start = NULL;
            r->port_end = NULL;
            r->path_start = NULL;
            r->method = FY_HTTP_UNKNOWN;
            r->http_major = 0;
            r->http_minor = 0;

            state = sw_method;
            break;

        case sw_start_lf:
            if (ch != '\n') {
                goto invalid_request;
            }
            state = sw_start;
            break;

        case sw_method:
            if (fy_http_is_tchar(ch)) {
                break;
            }

            if (ch == ' ') {
                r->method_end = p;
                r->method = fy_http_method(r->request_start,
                                           (size_t) (p - r->request_start));
                state = sw_target;
                break;
            }

            /* "GET\r\n" has a fine method and no target */
            if (ch == '\r' || ch == '\n') {
                goto invalid_request;
            }

            goto invalid_method;

        case sw_target:
            r->uri_start = p;

            if (r->method == FY_HTTP_CONNECT) {
                /* RFC 9110 9.3.6: CONNECT names only host:port */
                r->host_start = p;

                if (ch == '[') {
                    state = sw_host_ip_literal;
                    break;
                }

                if (fy_http_is_host(ch)) {
                    state = sw_host;
                    break;
                }

                goto invalid_request;
            }

            if (ch == '/') {
                r->path_start = p;
                state = sw_path;
                break;
            }

            if (ch == '*' && r->method == FY_HTTP_OPTIONS) {
                r->path_start = p;
                state = sw_asterisk;
                break;
            }

            if (fy_http_is_alpha(ch)) {
                state = sw_scheme;
                break;
            }

            /* a second SP, CR/LF (no target), anything else */
            goto invalid_request;

        case sw_scheme:
            if (fy_http_is_alpha(ch) || fy_http_is_digit(ch)
                || ch == '+' || ch == '-' || ch == '.')
            {
                break;
            }

            if (ch == ':'
                && fy_http_scheme_ok(r->uri_start,
                                     (size_t) (p - r->uri_start)))
            {
                state = sw_scheme_slash;
                break;
            }

            goto invalid_request;

        case sw_scheme_slash:
            if (ch != '/') {
                goto invalid_request;
            }
            state = sw_scheme_slash_slash;
            break;

        case sw_scheme_slash_slash:
            if (ch != '/') {
                goto invalid_request;
            }
            state = sw_host_start;
            break;

        case sw_host_start:
            /* RFC 9110 4.2.1: an http URI with an empty host is invalid */
            r->host_start = p;

            if (ch == '[') {
                state = sw_host_ip_literal;
                break;
            }

            if (fy_http_is_host(ch)) {
                state = sw_host;
                break;
            }

            goto invalid_request;

        case sw_host:
            if (fy_http_is_host(ch)) {
                break;
            }

            r->host_end = p;

            if (ch == ':') {
                r->port_start = p + 1;
                state = sw_port;
                break;
            }

            if (r->method == FY_HTTP_CONNECT) {
                /* the port is required: there is no default for it */
                goto invalid_request;
            }

            goto after_authority;

        case sw_host_ip_literal:
            /* IPv6 or IPvFuture inside brackets; the upstream layer
             * resolves it, here we only keep junk out */
            if (fy_http_is_host(ch) || ch == ':') {
                break;
            }

            if (ch == ']' && p - r->host_start > 1) {
                r->host_end = p + 1;
                state = sw_host_end;
                break;
            }

            goto invalid_request;

        case sw_host_end:
            if (ch == ':') {
                r->port_start = p + 1;
                state = sw_port;
                break;
            }

            if (r->method == FY_HTTP_CONNECT) {
                goto invalid_request;
            }

            goto after_authority;

        case sw_port:
            if (fy_http_is_digit(ch)) {
                break;
            }

            r->port_end = p;

            if (r->method == FY_HTTP_CONNECT) {
                if (ch != ' ' || p == r->port_start) {
                    goto invalid_request;
                }

                r->uri_end = p;
                state = sw_http_H;
                break;
            }

        after_authority:

            /* absolute-form: what follows the authority is the
             * path-abempty, the query or the end of the target */

            r->path_start = p;

            if (ch == '/') {
                state = sw_path;
                break;
            }

            if (ch == '?') {
                r->args_start = p + 1;
                state = sw_path;
                break;
            }

            if (ch == ' ') {
                r->uri_end = p;
                state = sw_http_H;
                break;
            }

            goto invalid_request;

        case sw_path:
            if (ch == ' ') {
                r->uri_end = p;
                state = sw_http_H;
                break;
            }

            if (ch == '?' && r->args_start == NULL) {
                r->args_start = p + 1;
                break;
            }

            if (fy_http_is_uri(ch)) {
                break;
            }

            /* CTL, DEL, or CR/LF of an HTTP/0.9 request */
            goto invalid_request;

        case sw_asterisk:
            if (ch != ' ') {
                goto invalid_request;
            }
            r->uri_end = p;
            state = sw_http_H;
            break;

        /* HTTP-name is case-sensitive (RFC 9112 2.3) */

        case sw_http_H:
            if (ch != 'H') {
                goto invalid_request;
            }
            state = sw_http_HT;
            break;

        case sw_http_HT:
            if (ch != 'T') {
                goto invalid_request;
            }
            state = sw_http_HTT;
            break;

        case sw_http_HTT:
            if (ch != 'T') {
                goto invalid_request;
            }
            state = sw_http_HTTP;
            break;

        case sw_http_HTTP:
            if (ch != 'P') {
                goto invalid_request;
            }
            state = sw_http_slash;
            break;

        case sw_http_slash:
            if (ch != '/') {
                goto invalid_request;
            }
            state = sw_first_major_digit;
            break;

        case sw_first_major_digit:
            if (!fy_http_is_digit(ch)) {
                goto invalid_request;
            }
            r->http_major = ch - '0';
            state = sw_major_digit;
            break;

        case sw_major_digit:
            if (ch == '.') {
                state = sw_first_minor_digit;
                break;
            }

            /* well-formed but not a version we could ever speak */
            if (fy_http_is_digit(ch)) {
                goto invalid_version;
            }

            goto invalid_request;

        case sw_first_minor_digit:
            if (!fy_http_is_digit(ch)) {
                goto invalid_request;
            }
            r->http_minor = ch - '0';
            state = sw_minor_digit;
            break;

        case sw_minor_digit:
            if (fy_http_is_digit(ch)) {
                goto invalid_version;
            }

            if (ch != '\r' && ch != '\n') {
                goto invalid_request;
            }

            /*
             * HTTP/0.9 has no version field and its requests get no
             * 505; "HTTP/0.x" is just a bad request.  2.0 and up are
             * answered 505.  A higher 1.x minor is processed as the
             * highest one we know (RFC 9110 2.5), so it passes.
             */
            if (r->http_major == 0) {
                goto invalid_request;
            }

            if (r->http_major != 1) {
                goto invalid_version;
            }

            r->request_end = p;

            if (ch == '\n') {
                goto done;
            }

            state = sw_almost_done;
            break;

        case sw_almost_done:
            if (ch != '\n') {
                goto invalid_request;
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

invalid_method:

    rc = FY_HTTP_PARSE_INVALID_METHOD;
    goto failed;

invalid_version:

    rc = FY_HTTP_PARSE_INVALID_VERSION;
    goto failed;

invalid_request:

    rc = FY_HTTP_PARSE_INVALID_REQUEST;

failed:

    b->pos = p;
    r->state = sw_start;

    return rc;
}
