/*
 * test_http_parse.c -- the HTTP/1.x parsers on tables of good and bad
 * input.  Every case runs twice: the whole input in one buffer, and fed
 * one byte per call into a buffer that grows in place, the way bytes
 * arrive from a slow client.  Both runs must describe the result with
 * the same string.  Under ASan the bytes past b->last are poisoned, so
 * a parser that peeks beyond what it was given crashes the test.
 */

#include "fy_core.h"
#include "fy_http_parse.h"
#include "fy_tap.h"
#include <ctype.h>

#if defined(__has_include)
#if __has_include(<sanitizer/asan_interface.h>)
#include <sanitizer/asan_interface.h>
#endif
#endif

#ifndef ASAN_POISON_MEMORY_REGION
#define ASAN_POISON_MEMORY_REGION(a, n)    ((void) (a), (void) (n))
#define ASAN_UNPOISON_MEMORY_REGION(a, n)  ((void) (a), (void) (n))
#endif


#define OUT_MAX  4096

#define WHOLE    0
#define BYTES    1


/* A buffer holding exactly the input, so reading past its end is a
 * heap overflow even in WHOLE mode. */
typedef struct {
    u_char    *mem;
    fy_buf_t   b;
    int        bytewise;
} feed_t;


static void
feed_init(feed_t *f, const char *in, size_t len, int bytewise)
{
    f->mem = malloc(len ? len : 1);
    if (f->mem == NULL) {
        abort();
    }

    memcpy(f->mem, in, len);

    f->bytewise = bytewise;
    f->b.start = f->mem;
    f->b.pos = f->mem;
    f->b.end = f->mem + len;
    f->b.last = bytewise ? f->mem : f->mem + len;

    ASAN_POISON_MEMORY_REGION(f->b.last, f->b.end - f->b.last);
}


/* Makes one more byte visible in BYTES mode; 0 when there is none. */
static int
feed_more(feed_t *f)
{
    if (!f->bytewise || f->b.last == f->b.end) {
        return 0;
    }

    ASAN_UNPOISON_MEMORY_REGION(f->b.last, 1);
    f->b.last++;

    return 1;
}


static void
feed_free(feed_t *f)
{
    ASAN_UNPOISON_MEMORY_REGION(f->mem, f->b.end - f->mem);
    free(f->mem);
}


static void
appendf(char *out, const char *fmt, ...)
{
    size_t   n;
    va_list  ap;

    n = strlen(out);

    va_start(ap, fmt);
    vsnprintf(out + n, OUT_MAX - n, fmt, ap);
    va_end(ap);
}


/*
 * Appends [s, e) with unprintable bytes and '\' as \xNN; "-" for NULL.
 * The harness marks its own complaints with "\!", which input bytes
 * therefore can never spell.
 */
static void
append_span(char *out, const u_char *s, const u_char *e)
{
    if (s == NULL || e == NULL) {
        appendf(out, "-");
        return;
    }

    if (e < s) {
        appendf(out, "\\!BAD-SPAN");
        return;
    }

    for ( /* void */ ; s < e; s++) {
        if (*s >= 0x20 && *s < 0x7f && *s != '\\') {
            appendf(out, "%c", *s);

        } else {
            appendf(out, "\\x%02x", *s);
        }
    }
}


static const char *
method_name(int m)
{
    static const char  *names[] = {
        "UNKNOWN", "GET", "HEAD", "POST", "PUT", "DELETE", "OPTIONS",
        "PATCH", "TRACE", "CONNECT"
    };

    return (m >= 0 && m < (int) fy_nelems(names)) ? names[m] : "BAD";
}


/* ---------------------------------------------------------------- */
/* request line                                                       */


/*
 * Describes a parse as
 *   "GET /a?b args=b 1.1 host=- port=- path=/a?b rc=0 @N"
 * where an unknown method shows as "?text" and @N is b->pos.  Only the
 * rc and @N are printed for errors.
 */
static void
run_request_line(const char *in, size_t len, int bytewise, char *out)
{
    int               rc;
    feed_t            f;
    const char       *name;
    fy_http_parser_t  r;

    out[0] = '\0';

    feed_init(&f, in, len, bytewise);
    fy_http_parser_init(&r);

    do {
        rc = fy_http_parse_request_line(&r, &f.b);
    } while (rc == FY_AGAIN && feed_more(&f));

    if (rc == FY_OK) {
        name = method_name(r.method);

        if (r.method == FY_HTTP_UNKNOWN) {
            appendf(out, "?");
            append_span(out, r.request_start, r.method_end);

        } else if ((size_t) (r.method_end - r.request_start) == strlen(name)
                   && memcmp(r.request_start, name, strlen(name)) == 0)
        {
            appendf(out, "%s", name);

        } else {
            appendf(out, "\\!MISMATCH(%s)", name);
        }

        appendf(out, " ");
        append_span(out, r.uri_start, r.uri_end);
        appendf(out, " args=");
        append_span(out, r.args_start, r.args_start ? r.uri_end : NULL);
        appendf(out, " %u.%u host=", r.http_major, r.http_minor);
        append_span(out, r.host_start, r.host_end);
        appendf(out, " port=");
        append_span(out, r.port_start, r.port_end);
        appendf(out, " path=");
        append_span(out, r.path_start, r.path_start ? r.uri_end : NULL);

        if (r.request_end == NULL || r.request_end >= f.b.pos
            || (*r.request_end != '\r' && *r.request_end != '\n'))
        {
            appendf(out, " \\!BAD-END");
        }

        appendf(out, " ");
    }

    appendf(out, "rc=%d @%d", rc, (int) (f.b.pos - f.b.start));

    feed_free(&f);
}


typedef struct {
    const char  *in;
    size_t       len;        /* 0: strlen(in) */
    int          rc;
    const char  *want;       /* FY_OK: the description without rc/@ */
} rl_case_t;


static const rl_case_t  rl_cases[] = {

    /* origin-form, every known method, args */
    { "GET / HTTP/1.1\r\n", 0, FY_OK,
      "GET / args=- 1.1 host=- port=- path=/" },
    { "GET /index.html HTTP/1.0\r\n", 0, FY_OK,
      "GET /index.html args=- 1.0 host=- port=- path=/index.html" },
    { "HEAD /a?b=c&d HTTP/1.1\r\n", 0, FY_OK,
      "HEAD /a?b=c&d args=b=c&d 1.1 host=- port=- path=/a?b=c&d" },
    { "POST /a?b?c HTTP/1.1\n", 0, FY_OK,
      "POST /a?b?c args=b?c 1.1 host=- port=- path=/a?b?c" },
    { "PUT /x? HTTP/1.1\r\n", 0, FY_OK,
      "PUT /x? args= 1.1 host=- port=- path=/x?" },
    { "DELETE /x/y HTTP/1.1\r\n", 0, FY_OK,
      "DELETE /x/y args=- 1.1 host=- port=- path=/x/y" },
    { "PATCH /p HTTP/1.1\r\n", 0, FY_OK,
      "PATCH /p args=- 1.1 host=- port=- path=/p" },
    { "TRACE / HTTP/1.1\r\n", 0, FY_OK,
      "TRACE / args=- 1.1 host=- port=- path=/" },
    { "OPTIONS * HTTP/1.1\r\n", 0, FY_OK,
      "OPTIONS * args=- 1.1 host=- port=- path=*" },
    { "OPTIONS /o HTTP/1.1\r\n", 0, FY_OK,
      "OPTIONS /o args=- 1.1 host=- port=- path=/o" },

    /* tokens we do not know, and case-sensitivity */
    { "get / HTTP/1.1\r\n", 0, FY_OK,
      "?get / args=- 1.1 host=- port=- path=/" },
    { "Get / HTTP/1.1\r\n", 0, FY_OK,
      "?Get / args=- 1.1 host=- port=- path=/" },
    { "PROPFIND /dav HTTP/1.1\r\n", 0, FY_OK,
      "?PROPFIND /dav args=- 1.1 host=- port=- path=/dav" },
    { "GETS / HTTP/1.1\r\n", 0, FY_OK,
      "?GETS / args=- 1.1 host=- port=- path=/" },
    { "!#$%&'*+-.^_`|~09azAZ / HTTP/1.1\r\n", 0, FY_OK,
      "?!#$%&'*+-.^_`|~09azAZ / args=- 1.1 host=- port=- path=/" },

    /* leading empty lines (RFC 9112 2.2) */
    { "\r\n\r\nGET / HTTP/1.1\r\n", 0, FY_OK,
      "GET / args=- 1.1 host=- port=- path=/" },
    { "\n\nGET / HTTP/1.1\n", 0, FY_OK,
      "GET / args=- 1.1 host=- port=- path=/" },

    /* absolute-form */
    { "GET http://example.com/a?b HTTP/1.1\r\n", 0, FY_OK,
      "GET http://example.com/a?b args=b 1.1 host=example.com port=-"
      " path=/a?b" },
    { "GET HTTP://Example.COM:8080 HTTP/1.1\r\n", 0, FY_OK,
      "GET HTTP://Example.COM:8080 args=- 1.1 host=Example.COM port=8080"
      " path=" },
    { "GET https://[2001:db8::1]:443/x HTTP/1.1\r\n", 0, FY_OK,
      "GET https://[2001:db8::1]:443/x args=- 1.1 host=[2001:db8::1]"
      " port=443 path=/x" },
    { "GET http://[::1] HTTP/1.1\r\n", 0, FY_OK,
      "GET http://[::1] args=- 1.1 host=[::1] port=- path=" },
    { "GET http://h?q=1 HTTP/1.1\r\n", 0, FY_OK,
      "GET http://h?q=1 args=q=1 1.1 host=h port=- path=?q=1" },
    { "GET http://h:/ HTTP/1.1\r\n", 0, FY_OK,
      "GET http://h:/ args=- 1.1 host=h port= path=/" },
    { "GET http://a-b.c_d~e%41!$&'()*+,;=:1/ HTTP/1.1\r\n", 0, FY_OK,
      "GET http://a-b.c_d~e%41!$&'()*+,;=:1/ args=- 1.1"
      " host=a-b.c_d~e%41!$&'()*+,;= port=1 path=/" },

    /* authority-form, CONNECT only */
    { "CONNECT example.com:443 HTTP/1.1\r\n", 0, FY_OK,
      "CONNECT example.com:443 args=- 1.1 host=example.com port=443"
      " path=-" },
    { "CONNECT [::1]:8443 HTTP/1.1\r\n", 0, FY_OK,
      "CONNECT [::1]:8443 args=- 1.1 host=[::1] port=8443 path=-" },

    /* target bytes: high bytes and anything printable pass */
    { "GET /caf\xc3\xa9 HTTP/1.1\r\n", 0, FY_OK,
      "GET /caf\\xc3\\xa9 args=- 1.1 host=- port=- path=/caf\\xc3\\xa9" },
    { "GET /a%20b\"<>{}|^`#f HTTP/1.1\r\n", 0, FY_OK,
      "GET /a%20b\"<>{}|^`#f args=- 1.1 host=- port=-"
      " path=/a%20b\"<>{}|^`#f" },

    /* a higher 1.x minor is processed as 1.1 would be (RFC 9110 2.5) */
    { "GET / HTTP/1.9\r\n", 0, FY_OK,
      "GET / args=- 1.9 host=- port=- path=/" },

    /* method */
    { " GET / HTTP/1.1\r\n", 0, FY_HTTP_PARSE_INVALID_METHOD, NULL },
    { "GE(T / HTTP/1.1\r\n", 0, FY_HTTP_PARSE_INVALID_METHOD, NULL },
    { "GET\t/ HTTP/1.1\r\n", 0, FY_HTTP_PARSE_INVALID_METHOD, NULL },
    { "G\x80T / HTTP/1.1\r\n", 0, FY_HTTP_PARSE_INVALID_METHOD, NULL },
    { "GET:/ HTTP/1.1\r\n", 0, FY_HTTP_PARSE_INVALID_METHOD, NULL },
    { "\x01GET / HTTP/1.1\r\n", 0, FY_HTTP_PARSE_INVALID_METHOD, NULL },
    { "GET\r\n", 0, FY_HTTP_PARSE_INVALID_REQUEST, NULL },
    { "\rGET / HTTP/1.1\r\n", 0, FY_HTTP_PARSE_INVALID_REQUEST, NULL },

    /* spacing */
    { "GET  / HTTP/1.1\r\n", 0, FY_HTTP_PARSE_INVALID_REQUEST, NULL },
    { "GET /  HTTP/1.1\r\n", 0, FY_HTTP_PARSE_INVALID_REQUEST, NULL },
    { "GET / HTTP/1.1 \r\n", 0, FY_HTTP_PARSE_INVALID_REQUEST, NULL },
    { "GET /a b HTTP/1.1\r\n", 0, FY_HTTP_PARSE_INVALID_REQUEST, NULL },

    /* target */
    { "GET /a\x01z HTTP/1.1\r\n", 0, FY_HTTP_PARSE_INVALID_REQUEST, NULL },
    { "GET /a\x7fz HTTP/1.1\r\n", 0, FY_HTTP_PARSE_INVALID_REQUEST, NULL },
    { "GET /a\tz HTTP/1.1\r\n", 0, FY_HTTP_PARSE_INVALID_REQUEST, NULL },
    { "GET /a\0z HTTP/1.1\r\n", 19, FY_HTTP_PARSE_INVALID_REQUEST, NULL },
    { "GET /a\rz HTTP/1.1\r\n", 0, FY_HTTP_PARSE_INVALID_REQUEST, NULL },
    { "GET ?a HTTP/1.1\r\n", 0, FY_HTTP_PARSE_INVALID_REQUEST, NULL },
    { "GET * HTTP/1.1\r\n", 0, FY_HTTP_PARSE_INVALID_REQUEST, NULL },
    { "M-SEARCH * HTTP/1.1\r\n", 0, FY_HTTP_PARSE_INVALID_REQUEST, NULL },
    { "OPTIONS *x HTTP/1.1\r\n", 0, FY_HTTP_PARSE_INVALID_REQUEST, NULL },
    { "GET example.com:80 HTTP/1.1\r\n", 0,
      FY_HTTP_PARSE_INVALID_REQUEST, NULL },
    { "GET ftp://h/ HTTP/1.1\r\n", 0, FY_HTTP_PARSE_INVALID_REQUEST, NULL },
    { "GET httpx://h/ HTTP/1.1\r\n", 0, FY_HTTP_PARSE_INVALID_REQUEST, NULL },
    { "GET http:/h HTTP/1.1\r\n", 0, FY_HTTP_PARSE_INVALID_REQUEST, NULL },
    { "GET http:///x HTTP/1.1\r\n", 0, FY_HTTP_PARSE_INVALID_REQUEST, NULL },
    { "GET http:// HTTP/1.1\r\n", 0, FY_HTTP_PARSE_INVALID_REQUEST, NULL },
    { "GET http://u@h/ HTTP/1.1\r\n", 0,
      FY_HTTP_PARSE_INVALID_REQUEST, NULL },
    { "GET http://[]/ HTTP/1.1\r\n", 0, FY_HTTP_PARSE_INVALID_REQUEST, NULL },
    { "GET http://[::1/ HTTP/1.1\r\n", 0,
      FY_HTTP_PARSE_INVALID_REQUEST, NULL },
    { "GET http://[::1]x/ HTTP/1.1\r\n", 0,
      FY_HTTP_PARSE_INVALID_REQUEST, NULL },
    { "GET http://h:8x/ HTTP/1.1\r\n", 0,
      FY_HTTP_PARSE_INVALID_REQUEST, NULL },
    { "GET http://h#f HTTP/1.1\r\n", 0, FY_HTTP_PARSE_INVALID_REQUEST, NULL },
    { "CONNECT /x HTTP/1.1\r\n", 0, FY_HTTP_PARSE_INVALID_REQUEST, NULL },
    { "CONNECT example.com HTTP/1.1\r\n", 0,
      FY_HTTP_PARSE_INVALID_REQUEST, NULL },
    { "CONNECT example.com: HTTP/1.1\r\n", 0,
      FY_HTTP_PARSE_INVALID_REQUEST, NULL },
    { "CONNECT example.com:443/ HTTP/1.1\r\n", 0,
      FY_HTTP_PARSE_INVALID_REQUEST, NULL },
    { "CONNECT http://example.com:443 HTTP/1.1\r\n", 0,
      FY_HTTP_PARSE_INVALID_REQUEST, NULL },
    { "CONNECT [::1] HTTP/1.1\r\n", 0, FY_HTTP_PARSE_INVALID_REQUEST, NULL },

    /* version: missing or 0.9 is a bad request, 2+ is a 505 */
    { "GET /\r\n", 0, FY_HTTP_PARSE_INVALID_REQUEST, NULL },
    { "GET /\n", 0, FY_HTTP_PARSE_INVALID_REQUEST, NULL },
    { "GET / \r\n", 0, FY_HTTP_PARSE_INVALID_REQUEST, NULL },
    { "GET / HTTP/0.9\r\n", 0, FY_HTTP_PARSE_INVALID_REQUEST, NULL },
    { "GET / HTTP/1\r\n", 0, FY_HTTP_PARSE_INVALID_REQUEST, NULL },
    { "GET / HTTP/1.\r\n", 0, FY_HTTP_PARSE_INVALID_REQUEST, NULL },
    { "GET / HTTP/.1\r\n", 0, FY_HTTP_PARSE_INVALID_REQUEST, NULL },
    { "GET / HTTP/a.1\r\n", 0, FY_HTTP_PARSE_INVALID_REQUEST, NULL },
    { "GET / HTTP/1.1x\r\n", 0, FY_HTTP_PARSE_INVALID_REQUEST, NULL },
    { "GET / http/1.1\r\n", 0, FY_HTTP_PARSE_INVALID_REQUEST, NULL },
    { "GET / HTTP 1.1\r\n", 0, FY_HTTP_PARSE_INVALID_REQUEST, NULL },
    { "GET / HTTP/1.1\rX", 0, FY_HTTP_PARSE_INVALID_REQUEST, NULL },
    { "GET / HTTP/1.1\r\r\n", 0, FY_HTTP_PARSE_INVALID_REQUEST, NULL },
    { "GET / HTTP/2.0\r\n", 0, FY_HTTP_PARSE_INVALID_VERSION, NULL },
    { "GET / HTTP/3.0\n", 0, FY_HTTP_PARSE_INVALID_VERSION, NULL },
    { "GET / HTTP/10.1\r\n", 0, FY_HTTP_PARSE_INVALID_VERSION, NULL },
    { "GET / HTTP/1.10\r\n", 0, FY_HTTP_PARSE_INVALID_VERSION, NULL },
    { "GET / HTTP/01.1\r\n", 0, FY_HTTP_PARSE_INVALID_VERSION, NULL },
};


static void
test_request_lines(void)
{
    char              whole[OUT_MAX], bytes[OUT_MAX], want[OUT_MAX];
    size_t            i, len;
    const rl_case_t  *c;

    for (i = 0; i < fy_nelems(rl_cases); i++) {
        c = &rl_cases[i];
        len = c->len ? c->len : strlen(c->in);

        run_request_line(c->in, len, WHOLE, whole);
        run_request_line(c->in, len, BYTES, bytes);

        want[0] = '\0';

        if (c->rc == FY_OK) {
            /* a good line is consumed exactly */
            appendf(want, "%s rc=0 @%d", c->want, (int) len);
            is_str(whole, want, "request line %zu whole", i);

        } else {
            appendf(want, "rc=%d", c->rc);
            ok(strncmp(whole, want, strlen(want)) == 0
               && whole[strlen(want)] == ' ',
               "request line %zu rejected with %d", i, c->rc);
            if (strncmp(whole, want, strlen(want)) != 0) {
                printf("#   got: %s\n", whole);
            }
        }

        is_str(bytes, whole, "request line %zu byte by byte", i);
    }
}


/* Every byte value, alone in a method and in a target. */
static void
test_request_line_bytes(void)
{
    int   ch, bad_method, bad_target, want, got;
    char  line[64], out[OUT_MAX];

    bad_method = 0;
    bad_target = 0;

    for (ch = 0; ch < 256; ch++) {
        memcpy(line, "GXT /aXb HTTP/1.1\r\n", 20);

        line[1] = (char) ch;
        run_request_line(line, 19, WHOLE, out);

        if (ch > 0x20 && ch < 0x7f
            && strchr("\"(),/:;<=>?@[\\]{}", ch) == NULL)
        {
            want = FY_OK;

        } else if (ch == ' ' || ch == '\r' || ch == '\n') {
            /* "G" is a method; what follows is a bad target */
            want = FY_HTTP_PARSE_INVALID_REQUEST;

        } else {
            want = FY_HTTP_PARSE_INVALID_METHOD;
        }

        got = atoi(strstr(out, "rc=") + 3);
        if (got != want) {
            printf("# method byte 0x%02x: %s\n", ch, out);
            bad_method++;
        }

        memcpy(line, "GET /aXb HTTP/1.1\r\n", 20);
        line[6] = (char) ch;
        run_request_line(line, 19, WHOLE, out);

        want = (ch > 0x20 && ch != 0x7f) ? FY_OK
                                         : FY_HTTP_PARSE_INVALID_REQUEST;
        got = atoi(strstr(out, "rc=") + 3);
        if (got != want) {
            printf("# target byte 0x%02x: %s\n", ch, out);
            bad_target++;
        }
    }

    is_int(bad_method, 0, "method bytes: exactly tchar accepted");
    is_int(bad_target, 0, "target bytes: CTL, SP, DEL rejected, rest kept");
}


/* ---------------------------------------------------------------- */
/* status line                                                        */


static void
run_status_line(const char *in, size_t len, int bytewise, char *out)
{
    int               rc;
    feed_t            f;
    fy_http_parser_t  r;

    out[0] = '\0';

    feed_init(&f, in, len, bytewise);
    fy_http_parser_init(&r);

    do {
        rc = fy_http_parse_status_line(&r, &f.b);
    } while (rc == FY_AGAIN && feed_more(&f));

    if (rc == FY_OK) {
        appendf(out, "%u.%u %u [", r.http_major, r.http_minor, r.status);
        append_span(out, r.status_text_start, r.status_text_end);
        appendf(out, "] ");
    }

    appendf(out, "rc=%d @%d", rc, (int) (f.b.pos - f.b.start));

    feed_free(&f);
}


typedef struct {
    const char  *in;
    int          rc;
    const char  *want;
} sl_case_t;


static const sl_case_t  sl_cases[] = {
    { "HTTP/1.1 200 OK\r\n", FY_OK, "1.1 200 [OK]" },
    { "HTTP/1.0 404 Not Found\r\n", FY_OK, "1.0 404 [Not Found]" },
    { "HTTP/1.1 200\r\n", FY_OK, "1.1 200 []" },
    { "HTTP/1.1 204 \r\n", FY_OK, "1.1 204 []" },
    { "HTTP/1.1 100 Continue\n", FY_OK, "1.1 100 [Continue]" },
    { "HTTP/1.1 999 x\r\n", FY_OK, "1.1 999 [x]" },
    { "HTTP/1.1 302 \xe4\t \"q\"\r\n", FY_OK, "1.1 302 [\\xe4\\x09 \"q\"]" },
    { "HTTP/1.1 500  two  spaces\r\n", FY_OK, "1.1 500 [ two  spaces]" },

    { "HTTP/1.1 099 X\r\n", FY_HTTP_PARSE_INVALID_STATUS, NULL },
    { "HTTP/1.1 000\r\n", FY_HTTP_PARSE_INVALID_STATUS, NULL },
    { "HTTP/1.1 20 OK\r\n", FY_HTTP_PARSE_INVALID_STATUS, NULL },
    { "HTTP/1.1 2000 OK\r\n", FY_HTTP_PARSE_INVALID_STATUS, NULL },
    { "HTTP/1.1 20a OK\r\n", FY_HTTP_PARSE_INVALID_STATUS, NULL },
    { "HTTP/1.1 -20 OK\r\n", FY_HTTP_PARSE_INVALID_STATUS, NULL },
    { "HTTP/1.1  200 OK\r\n", FY_HTTP_PARSE_INVALID_STATUS, NULL },
    { "HTTP/1.1200 OK\r\n", FY_HTTP_PARSE_INVALID_STATUS, NULL },
    { "HTTP/1.1 \r\n", FY_HTTP_PARSE_INVALID_STATUS, NULL },
    { "HTTP/2.0 200 OK\r\n", FY_HTTP_PARSE_INVALID_STATUS, NULL },
    { "HTTP/0.9 200 OK\r\n", FY_HTTP_PARSE_INVALID_STATUS, NULL },
    { "HTTP/11.1 200 OK\r\n", FY_HTTP_PARSE_INVALID_STATUS, NULL },
    { "HTTP/1.11 200 OK\r\n", FY_HTTP_PARSE_INVALID_STATUS, NULL },
    { "http/1.1 200 OK\r\n", FY_HTTP_PARSE_INVALID_STATUS, NULL },
    { "ICY 200 OK\r\n", FY_HTTP_PARSE_INVALID_STATUS, NULL },
    { "\r\nHTTP/1.1 200 OK\r\n", FY_HTTP_PARSE_INVALID_STATUS, NULL },
    { "HTTP/1.1 200 O\x01K\r\n", FY_HTTP_PARSE_INVALID_STATUS, NULL },
    { "HTTP/1.1 200 OK\x7f\r\n", FY_HTTP_PARSE_INVALID_STATUS, NULL },
    { "HTTP/1.1 200 OK\rX\n", FY_HTTP_PARSE_INVALID_STATUS, NULL },
    { "HTTP/1.1 200\rX", FY_HTTP_PARSE_INVALID_STATUS, NULL },
};


static void
test_status_lines(void)
{
    char              whole[OUT_MAX], bytes[OUT_MAX], want[OUT_MAX];
    size_t            i, len;
    const sl_case_t  *c;

    for (i = 0; i < fy_nelems(sl_cases); i++) {
        c = &sl_cases[i];
        len = strlen(c->in);

        run_status_line(c->in, len, WHOLE, whole);
        run_status_line(c->in, len, BYTES, bytes);

        want[0] = '\0';

        if (c->rc == FY_OK) {
            appendf(want, "%s rc=0 @%d", c->want, (int) len);
            is_str(whole, want, "status line %zu whole", i);

        } else {
            appendf(want, "rc=%d ", c->rc);
            ok(strncmp(whole, want, strlen(want)) == 0,
               "status line %zu rejected", i);
        }

        is_str(bytes, whole, "status line %zu byte by byte", i);
    }
}


/* ---------------------------------------------------------------- */
/* header lines                                                       */


/* Describes a header section as "[name=value]...rc=N @pos". */
static void
run_headers(const char *in, size_t len, int bytewise, char *out)
{
    int               rc;
    feed_t            f;
    fy_http_parser_t  r;

    out[0] = '\0';

    feed_init(&f, in, len, bytewise);
    fy_http_parser_init(&r);

    for ( ;; ) {
        rc = fy_http_parse_header_line(&r, &f.b);

        if (rc == FY_AGAIN) {
            if (feed_more(&f)) {
                continue;
            }
            break;
        }

        if (rc != FY_OK) {
            break;
        }

        appendf(out, "[");
        append_span(out, r.header_name_start, r.header_name_end);
        appendf(out, "=");
        append_span(out, r.header_start, r.header_end);
        appendf(out, "]");
    }

    appendf(out, "rc=%d @%d", rc, (int) (f.b.pos - f.b.start));

    feed_free(&f);
}


typedef struct {
    const char  *in;
    size_t       len;
    int          rc;
    const char  *want;      /* FY_HTTP_PARSE_HEADER_DONE: the fields */
} hl_case_t;


#define HDONE  FY_HTTP_PARSE_HEADER_DONE
#define HBAD   FY_HTTP_PARSE_INVALID_HEADER


static const hl_case_t  hl_cases[] = {
    { "Host: example.com\r\n\r\n", 0, HDONE, "[Host=example.com]" },
    { "\r\n", 0, HDONE, "" },
    { "\n", 0, HDONE, "" },
    { "A:b\r\nB:  c  \r\nC:\r\nD: \t \r\n\r\n", 0, HDONE,
      "[A=b][B=c][C=][D=]" },
    { "X: a  b\t c\t\r\n\r\n", 0, HDONE, "[X=a  b\\x09 c]" },
    { "A: 1\nB: 2\n\n", 0, HDONE, "[A=1][B=2]" },
    { "A: 1\r\nB: 2\n\r\n", 0, HDONE, "[A=1][B=2]" },
    { "X: \xe4\xf6\x80\xff\r\n\r\n", 0, HDONE, "[X=\\xe4\\xf6\\x80\\xff]" },
    { "!#$%&'*+-.^_`|~09azAZ: v\r\n\r\n", 0, HDONE,
      "[!#$%&'*+-.^_`|~09azAZ=v]" },
    { "X: a:b: \"c\" (d) ;=,\r\n\r\n", 0, HDONE, "[X=a:b: \"c\" (d) ;=,]" },
    /* lines the fast path takes, around one it leaves to the state
     * machine ('_' in the name) */
    { "Content-Type: text/plain\r\nX_Y: 1\r\n"
      "Date: Thu, 26 Nov 2026 20:59:03 GMT \t\r\n\r\n", 0, HDONE,
      "[Content-Type=text/plain][X_Y=1]"
      "[Date=Thu, 26 Nov 2026 20:59:03 GMT]" },

    /* obs-fold */
    { " X: y\r\n\r\n", 0, HBAD, NULL },
    { "\tX: y\r\n\r\n", 0, HBAD, NULL },
    { "A: b\r\n c\r\n\r\n", 0, HBAD, NULL },
    { "A: b\r\n\tc\r\n\r\n", 0, HBAD, NULL },

    /* name */
    { ": v\r\n\r\n", 0, HBAD, NULL },
    { "X : v\r\n\r\n", 0, HBAD, NULL },
    { "X\t: v\r\n\r\n", 0, HBAD, NULL },
    { "X y: v\r\n\r\n", 0, HBAD, NULL },
    { "X(: v\r\n\r\n", 0, HBAD, NULL },
    { "X/Y: v\r\n\r\n", 0, HBAD, NULL },
    { "X\xe4: v\r\n\r\n", 0, HBAD, NULL },
    { "\x7f: v\r\n\r\n", 0, HBAD, NULL },
    { "X\r\n\r\n", 0, HBAD, NULL },
    { "X\n\n", 0, HBAD, NULL },
    { "X\0: v\r\n\r\n", 9, HBAD, NULL },

    /* value */
    { "X: a\0b\r\n\r\n", 10, HBAD, NULL },
    { "X: \0\r\n\r\n", 8, HBAD, NULL },
    { "X: a\rb\r\n\r\n", 0, HBAD, NULL },
    { "X: a\r\r\n\r\n", 0, HBAD, NULL },
    { "X: \rb\r\n\r\n", 0, HBAD, NULL },
    { "X: a \rb\r\n\r\n", 0, HBAD, NULL },
    { "X: \x01\r\n\r\n", 0, HBAD, NULL },
    { "X: a\x7f\r\n\r\n", 0, HBAD, NULL },
    { "X: \x1b[0m\r\n\r\n", 0, HBAD, NULL },
    { "X: a \x0b\r\n\r\n", 0, HBAD, NULL },

    /* the empty line */
    { "\r\r\n", 0, HBAD, NULL },
    { "A: b\r\n\rX", 0, HBAD, NULL },
};


static void
test_header_lines(void)
{
    char              whole[OUT_MAX], bytes[OUT_MAX], want[OUT_MAX];
    size_t            i, len;
    const hl_case_t  *c;

    for (i = 0; i < fy_nelems(hl_cases); i++) {
        c = &hl_cases[i];
        len = c->len ? c->len : strlen(c->in);

        run_headers(c->in, len, WHOLE, whole);
        run_headers(c->in, len, BYTES, bytes);

        want[0] = '\0';

        if (c->rc == HDONE) {
            appendf(want, "%src=%d @%d", c->want, HDONE, (int) len);
            is_str(whole, want, "header section %zu whole", i);

        } else {
            appendf(want, "rc=%d @", c->rc);
            ok(strstr(whole, want) != NULL, "header section %zu rejected", i);
            if (strstr(whole, want) == NULL) {
                printf("#   got: %s\n", whole);
            }
        }

        is_str(bytes, whole, "header section %zu byte by byte", i);
    }
}


/* Every byte value in a name and in a value. */
static void
test_header_bytes(void)
{
    int   ch, bad_name, bad_value, good;
    char  in[64], out[OUT_MAX];

    bad_name = 0;
    bad_value = 0;

    for (ch = 0; ch < 256; ch++) {
        memcpy(in, "AXB: v\r\n\r\n", 11);
        in[1] = (char) ch;
        run_headers(in, 10, WHOLE, out);

        /* ':' ends the name "A" early, and "B: v" is a fine value */
        good = (ch > 0x20 && ch < 0x7f && strchr("\"(),/;<=>?@[\\]{}", ch)
                == NULL);
        if ((strstr(out, "rc=1 ") != NULL) != good) {
            printf("# name byte 0x%02x: %s\n", ch, out);
            bad_name++;
        }

        if (ch == '\n') {
            /* ends the line: "B\r\n" after it has no colon */
            continue;
        }

        memcpy(in, "A: xXy\r\n\r\n", 11);
        in[4] = (char) ch;
        run_headers(in, 10, WHOLE, out);

        good = (ch >= 0x20 && ch != 0x7f) || ch == '\t';
        if ((strstr(out, "rc=1 ") != NULL) != good) {
            printf("# value byte 0x%02x: %s\n", ch, out);
            bad_value++;
        }
    }

    is_int(bad_name, 0, "name bytes: exactly tchar accepted");
    is_int(bad_value, 0, "value bytes: VCHAR SP HTAB obs-text accepted");
}


/*
 * Every byte value at several places of a long name and of a long value,
 * where the fast path looks at sixteen bytes per step (SSE2) or a byte
 * at a time (the tail): a whole-buffer parse, which takes the fast path
 * where it can, must say what a byte-by-byte parse, which never can,
 * says.
 */
static void
test_header_bytes_long(void)
{
    static const char  name[] = "Abcdefghijklmnopqrstuvwxyz-0123456789-Zz";
    static const char  value[] = "v1 of a long value, 0123456789 abcdefghij";
    static const int   at[] = { 0, 1, 7, 14, 15, 16, 17, 31, 32, 38 };
    char               in[256], whole[OUT_MAX], bytes[OUT_MAX];
    size_t             len, nlen = sizeof(name) - 1;
    int                ch, k, part, bad = 0;

    for (part = 0; part < 2; part++) {
        for (k = 0; k < (int) fy_nelems(at); k++) {
            for (ch = 0; ch < 256; ch++) {
                len = (size_t) snprintf(in, sizeof(in),
                                        "%s: %s\r\nNext: x\r\n\r\n",
                                        name, value);
                in[part == 0 ? (size_t) at[k] : nlen + 2 + (size_t) at[k]] = (char) ch;
                run_headers(in, len, WHOLE, whole);
                run_headers(in, len, BYTES, bytes);
                if (strcmp(whole, bytes) != 0) {
                    printf("# %s byte 0x%02x at %d: %s / %s\n",
                           part ? "value" : "name", ch, at[k], whole, bytes);
                    bad++;
                }
            }
        }
    }
    is_int(bad, 0, "long names and values: every byte, whole as byte by "
           "byte");
}


/*
 * lenient_names (the request side, for ignore_invalid_headers): every
 * visible byte but ':' may be in a name and only sets a flag; '_' sets
 * its own; CTL, SP and DEL are still errors; flags are per field.
 */
static void
test_header_lenient_names(void)
{
    int               ch, rc, bad, want_rc, bytewise;
    unsigned          under, invalid;
    char              in[64];
    feed_t            f;
    fy_http_parser_t  r;
    static const char lines[] = "AXB: v\r\nOk: w\r\n\r\n";

    for (bytewise = 0; bytewise < 4; bytewise++) {
        bad = 0;
        for (ch = 0; ch < 256; ch++) {
            if (ch == ':' || ch == '\n' || ch == '\r') {
                continue;           /* they end the name or the line */
            }
            /* the byte second in the name, then first (found by
             * fuzz_http_request: a leading '_' was called invalid) */
            memcpy(in, lines, sizeof(lines));
            in[bytewise < 2 ? 1 : 0] = (char) ch;
            feed_init(&f, in, sizeof(lines) - 1, bytewise & 1);
            fy_http_parser_init(&r);
            r.lenient_names = 1;

            do {
                rc = fy_http_parse_header_line(&r, &f.b);
            } while (rc == FY_AGAIN && feed_more(&f));
            under = r.name_underscore;
            invalid = r.name_invalid;
            if (rc == FY_OK) {
                /* the next field starts with clean flags */
                do {
                    rc = fy_http_parse_header_line(&r, &f.b);
                } while (rc == FY_AGAIN && feed_more(&f));
                if (rc != FY_OK || r.name_underscore || r.name_invalid) {
                    rc = -1;
                }
            }
            feed_free(&f);

            want_rc = (ch > 0x20 && ch != 0x7f) ? FY_OK : HBAD;
            if (rc != want_rc
                || (rc == FY_OK
                    && (under != (ch == '_')
                        || invalid != !(isalnum(ch) || ch == '-'
                                        || ch == '_'))))
            {
                printf("# lenient name byte 0x%02x: rc %d under %u "
                       "invalid %u\n", ch, rc, under, invalid);
                bad++;
            }
        }
        is_int(bad, 0, "lenient names: every byte flagged as nginx sees it, "
               "%s in the name%s", bytewise < 2 ? "second" : "first",
               (bytewise & 1) ? ", byte by byte" : "");
    }
}


/* ---------------------------------------------------------------- */
/* chunked                                                            */


/*
 * Describes a chunked body as "<decoded data> rc=N @pos".  Each data
 * span must lie in the bytes the call consumed and end where it
 * stopped.  strict: as the proxy reads an upstream's body.
 */
static void
run_chunked(const char *in, size_t len, int bytewise, int strict, char *out)
{
    int                rc;
    u_char            *before;
    feed_t             f;
    fy_http_chunked_t  c;

    out[0] = '\0';

    feed_init(&f, in, len, bytewise);
    memset(&c, 0, sizeof(fy_http_chunked_t));
    c.strict = (unsigned) strict;

    for ( ;; ) {
        before = f.b.pos;
        rc = fy_http_parse_chunked(&c, &f.b);

        if (rc == FY_AGAIN) {
            if (c.len != 0 || f.b.pos != f.b.last) {
                appendf(out, "\\!AGAIN-LEFT-BYTES");
            }
            if (feed_more(&f)) {
                continue;
            }
            break;
        }

        if (rc != FY_OK) {
            break;
        }

        if (c.data < before || c.data + c.len != f.b.pos || c.len == 0) {
            appendf(out, "\\!BAD-SPAN");
            break;
        }

        append_span(out, c.data, c.data + c.len);
    }

    appendf(out, " rc=%d @%d", rc, (int) (f.b.pos - f.b.start));

    feed_free(&f);
}


typedef struct {
    const char  *in;
    int          rc;
    const char  *want;      /* FY_DONE: the decoded data */
    int          used;      /* FY_DONE: where b->pos ends, -1: at end */
} ch_case_t;


#define CBAD  FY_HTTP_PARSE_INVALID_CHUNKED


static const ch_case_t  ch_cases[] = {
    { "5\r\nhello\r\n0\r\n\r\n", FY_DONE, "hello", -1 },
    { "0\r\n\r\n", FY_DONE, "", -1 },
    { "3\r\nabc\r\n4\r\ndefg\r\n1\r\nh\r\n0\r\n\r\n", FY_DONE,
      "abcdefgh", -1 },
    { "3\nabc\n0\n\n", FY_DONE, "abc", -1 },
    { "000a\r\n0123456789\r\n0000\r\n\r\n", FY_DONE, "0123456789", -1 },
    { "A\r\n0123456789\r\na\r\nabcdefghij\r\n0\r\n\r\n", FY_DONE,
      "0123456789abcdefghij", -1 },
    { "00000000000000000000000000000001\r\nx\r\n0\r\n\r\n", FY_DONE,
      "x", -1 },
    { "2\r\n\r\n\r\n0\r\n\r\n", FY_DONE, "\\x0d\\x0a", -1 },

    /* extensions */
    { "5;name=value\r\nhello\r\n0;last\r\n\r\n", FY_DONE, "hello", -1 },
    { "5 ; a = b ; c\t;\td\r\nhello\r\n0\r\n\r\n", FY_DONE, "hello", -1 },
    { "5;a=\"x y\\\"z\\\\\" ;b=\"\"\r\nhello\r\n0\r\n\r\n", FY_DONE,
      "hello", -1 },
    { "5;a;b;c=!#$%&'*+-.^_`|~\r\nhello\r\n0\r\n\r\n", FY_DONE, "hello", -1 },
    { "5;q=\"\xe4\t\"\r\nhello\r\n0\r\n\r\n", FY_DONE, "hello", -1 },

    /* trailers */
    { "1\r\nx\r\n0\r\nX-Sum: abc\r\nY:\r\nZ: a b \r\n\r\n", FY_DONE, "x", -1 },
    { "0\nT: v\n\n", FY_DONE, "", -1 },
    /* a request body's trailers are dropped: no name is refused */
    { "0\r\nContent-Length: 1\r\nHost: x\r\n\r\n", FY_DONE, "", -1 },

    /* the next message starts right after */
    { "1\r\nx\r\n0\r\n\r\nGET / HTTP/1.1\r\n", FY_DONE, "x", 11 },
    { "0\n\nX", FY_DONE, "", 3 },

    /* size */
    { "", FY_AGAIN, NULL, 0 },
    { "\r\n", CBAD, NULL, 0 },
    { "FFFFFFFFFFFFFFFFF\r\n", CBAD, NULL, 0 },
    { "FFFFFFFFFFFFFFFF\r\n", CBAD, NULL, 0 },
    { "8000000000000000\r\n", CBAD, NULL, 0 },
    { "0x10\r\n", CBAD, NULL, 0 },
    { "-1\r\n", CBAD, NULL, 0 },
    { "+1\r\n", CBAD, NULL, 0 },
    { "1 0\r\n", CBAD, NULL, 0 },
    { " 5\r\nhello\r\n", CBAD, NULL, 0 },
    { "5 \r\nhello\r\n", CBAD, NULL, 0 },
    { "g\r\n", CBAD, NULL, 0 },
    { "5\rX", CBAD, NULL, 0 },
    { "5\r\r\n", CBAD, NULL, 0 },

    /* data and the CRLF after it */
    { "5\r\nhelloX", CBAD, NULL, 0 },
    { "5\r\nhelloworld\r\n", CBAD, NULL, 0 },
    { "5\r\nhello\r0\r\n", CBAD, NULL, 0 },
    { "5\r\nhello0\r\n\r\n", CBAD, NULL, 0 },
    { "5\r\nhel\r\n0\r\n\r\n", CBAD, NULL, 0 },

    /* extensions */
    { ";a\r\n", CBAD, NULL, 0 },
    { "5;\r\nhello\r\n", CBAD, NULL, 0 },
    { "5;=x\r\nhello\r\n", CBAD, NULL, 0 },
    { "5;a=\r\nhello\r\n", CBAD, NULL, 0 },
    { "5;a =\r\nhello\r\n", CBAD, NULL, 0 },
    { "5;a \r\nhello\r\n", CBAD, NULL, 0 },
    { "5;a=b \r\nhello\r\n", CBAD, NULL, 0 },
    { "5;a=b c\r\nhello\r\n", CBAD, NULL, 0 },
    { "5;a@b\r\nhello\r\n", CBAD, NULL, 0 },
    { "5;a=b@c\r\nhello\r\n", CBAD, NULL, 0 },
    { "5;a=\"x\r\nhello\r\n", CBAD, NULL, 0 },
    { "5;a=\"x\"y\r\nhello\r\n", CBAD, NULL, 0 },
    { "5;a=\"\x01\"\r\nhello\r\n", CBAD, NULL, 0 },
    { "5;a=\"\\\x7f\"\r\nhello\r\n", CBAD, NULL, 0 },
    { "5;a=\x80\r\nhello\r\n", CBAD, NULL, 0 },
    { "5;;a\r\nhello\r\n", CBAD, NULL, 0 },
    { "5;a\rX", CBAD, NULL, 0 },

    /* trailers, as strict as headers */
    { "0\r\n X: y\r\n\r\n", CBAD, NULL, 0 },
    { "0\r\nA: b\r\n c\r\n\r\n", CBAD, NULL, 0 },
    { "0\r\nX : y\r\n\r\n", CBAD, NULL, 0 },
    { "0\r\n: y\r\n\r\n", CBAD, NULL, 0 },
    { "0\r\nX\r\n\r\n", CBAD, NULL, 0 },
    { "0\r\nX(: y\r\n\r\n", CBAD, NULL, 0 },
    { "0\r\nX: a\rb\r\n\r\n", CBAD, NULL, 0 },
    { "0\r\nX: a\x01\r\n\r\n", CBAD, NULL, 0 },
    { "0\r\nX: a\x7f\r\n\r\n", CBAD, NULL, 0 },
    { "0\r\n\rX", CBAD, NULL, 0 },
    { "0\r\n\r\r\n", CBAD, NULL, 0 },
};


/*
 * The strict reading (an upstream's body, relayed as it came): CRLF
 * only, and no trailer field that frames, routes or says how to read
 * the message.  Extensions and BWS are as legal as ever.
 */
static const ch_case_t  chs_cases[] = {
    { "5\r\nhello\r\n0\r\n\r\n", FY_DONE, "hello", -1 },
    { "5 ; a = b ; c\t;\td\r\nhello\r\n0;last\r\n\r\n", FY_DONE,
      "hello", -1 },
    { "5;a=\"x y\\\"z\\\\\" ;b=\"\"\r\nhello\r\n0\r\n\r\n", FY_DONE,
      "hello", -1 },
    { "2\r\n\n\n\r\n0\r\n\r\n", FY_DONE, "\\x0a\\x0a", -1 },
    { "1\r\nx\r\n0\r\nX-Sum: abc\r\nY:\r\nZ: a b \r\n\r\n", FY_DONE, "x", -1 },
    { "1\r\nx\r\n0\r\n\r\nGET / HTTP/1.1\r\n", FY_DONE, "x", 11 },

    /* names close to refused ones, and long ones, pass */
    { "0\r\nContent-Lengthx: 1\r\nXContent-Length: 1\r\nContent-Len: 1\r\n"
      "Hosts: a\r\nT: e\r\nTE2: 1\r\nContent: 1\r\nTrailers: x\r\n\r\n",
      FY_DONE, "", -1 },
    { "0\r\nContent-Type-Options: 1\r\n\r\n", FY_DONE, "", -1 },
    { "0\r\nTransfer-Encodings-1: 1\r\nContent-Length-Too-Long: 1\r\n\r\n",
      FY_DONE, "", -1 },

    /* a bare LF anywhere outside the data */
    { "3\nabc\r\n0\r\n\r\n", CBAD, NULL, 0 },
    { "3\r\nabc\n0\r\n\r\n", CBAD, NULL, 0 },
    { "3\nabc\n0\n\n", CBAD, NULL, 0 },
    { "3;a=b\nabc\r\n0\r\n\r\n", CBAD, NULL, 0 },
    { "3;a\nabc\r\n0\r\n\r\n", CBAD, NULL, 0 },
    { "3;a=\"b\"\nabc\r\n0\r\n\r\n", CBAD, NULL, 0 },
    { "0\n\r\n", CBAD, NULL, 0 },
    { "0\r\n\n", CBAD, NULL, 0 },
    { "0\r\nT: v\n\r\n", CBAD, NULL, 0 },
    { "0\r\nT: v\r\n\n", CBAD, NULL, 0 },
    { "5\r\nhello\n101\r\nF\r\n0\r\n\r\n", CBAD, NULL, 0 },

    /* refused trailer fields, in any case, first or later */
    { "0\r\nContent-Length: 1\r\n\r\n", CBAD, NULL, 0 },
    { "0\r\nX: 1\r\ncontent-length:1\r\n\r\n", CBAD, NULL, 0 },
    { "0\r\nTRANSFER-ENCODING: chunked\r\n\r\n", CBAD, NULL, 0 },
    { "0\r\nTrailer: X\r\n\r\n", CBAD, NULL, 0 },
    { "0\r\nConnection: close\r\n\r\n", CBAD, NULL, 0 },
    { "0\r\nKeep-Alive: 1\r\n\r\n", CBAD, NULL, 0 },
    { "0\r\nProxy-Connection: 1\r\n\r\n", CBAD, NULL, 0 },
    { "0\r\nUpgrade: h2c\r\n\r\n", CBAD, NULL, 0 },
    { "0\r\nte: trailers\r\n\r\n", CBAD, NULL, 0 },
    { "0\r\nHost: a\r\n\r\n", CBAD, NULL, 0 },
    { "0\r\nContent-Encoding: gzip\r\n\r\n", CBAD, NULL, 0 },
    { "0\r\nContent-Type: a/b\r\n\r\n", CBAD, NULL, 0 },
    { "0\r\nContent-Range: bytes 0-1/2\r\n\r\n", CBAD, NULL, 0 },
};


static void
check_chunked(const ch_case_t *cases, size_t n, int strict, const char *what)
{
    char              whole[OUT_MAX], bytes[OUT_MAX], want[OUT_MAX];
    size_t            i, len;
    const ch_case_t  *c;

    for (i = 0; i < n; i++) {
        c = &cases[i];
        len = strlen(c->in);

        run_chunked(c->in, len, WHOLE, strict, whole);
        run_chunked(c->in, len, BYTES, strict, bytes);

        want[0] = '\0';

        if (c->rc == FY_DONE) {
            appendf(want, "%s rc=%d @%d", c->want, FY_DONE,
                    c->used < 0 ? (int) len : c->used);
            is_str(whole, want, "%s %zu whole", what, i);

        } else {
            appendf(want, " rc=%d @", c->rc);
            ok(strstr(whole, want) != NULL, "%s %zu rejected", what, i);
            if (strstr(whole, want) == NULL) {
                printf("#   got: %s\n", whole);
            }
        }

        is_str(bytes, whole, "%s %zu byte by byte", what, i);
    }
}


static void
test_chunked(void)
{
    char    lax[OUT_MAX], strict[OUT_MAX], want[OUT_MAX];
    size_t  i, len;

    check_chunked(ch_cases, fy_nelems(ch_cases), 0, "chunked");
    check_chunked(chs_cases, fy_nelems(chs_cases), 1, "chunked strict");

    /* the strict reading only ever refuses more: what it accepts, the
     * lax one reads the same way */
    for (i = 0; i < fy_nelems(ch_cases) + fy_nelems(chs_cases); i++) {
        const char  *in = i < fy_nelems(ch_cases)
                          ? ch_cases[i].in
                          : chs_cases[i - fy_nelems(ch_cases)].in;

        len = strlen(in);
        run_chunked(in, len, WHOLE, 0, lax);
        run_chunked(in, len, WHOLE, 1, strict);
        want[0] = '\0';
        appendf(want, " rc=%d @", FY_HTTP_PARSE_INVALID_CHUNKED);
        ok(strcmp(strict, lax) == 0 || strstr(strict, want) != NULL,
           "chunked %zu: strict is lax or refuses", i);
    }
}


static void
test_chunked_state(void)
{
    int                rc;
    char               big[FY_HTTP_CHUNK_TRAILER_MAX + 64], out[OUT_MAX];
    size_t             n;
    fy_buf_t           b;
    fy_http_chunked_t  c;
    u_char             in[64];

    /* an empty buffer is harmless, and leaves no stale span */
    memset(&c, 0, sizeof(fy_http_chunked_t));
    c.len = 99;
    b.start = b.pos = b.last = b.end = in;
    rc = fy_http_parse_chunked(&c, &b);
    ok(rc == FY_AGAIN && c.len == 0 && b.pos == in, "chunked: empty buffer");

    /* a partial chunk says how much is left */
    memcpy(in, "5\r\nhel", 6);
    b.start = b.pos = in;
    b.last = b.end = in + 6;
    rc = fy_http_parse_chunked(&c, &b);
    ok(rc == FY_OK && c.data == in + 3 && c.len == 3 && c.size == 2,
       "chunked: partial data span, 2 bytes left");
    rc = fy_http_parse_chunked(&c, &b);
    ok(rc == FY_AGAIN && b.pos == b.last, "chunked: then AGAIN");

    /* the caller may drop consumed bytes between calls */
    memcpy(in, "lo\r\n0\r\n\r\n", 9);
    b.start = b.pos = in;
    b.last = b.end = in + 9;
    rc = fy_http_parse_chunked(&c, &b);
    ok(rc == FY_OK && c.data == in && c.len == 2, "chunked: rest of data");
    rc = fy_http_parse_chunked(&c, &b);
    ok(rc == FY_DONE && b.pos == in + 9, "chunked: done after refill");

    /* the largest size we take */
    memset(&c, 0, sizeof(fy_http_chunked_t));
    memcpy(in, "7fffffffffffffff\r\n", 18);
    b.start = b.pos = in;
    b.last = b.end = in + 18;
    rc = fy_http_parse_chunked(&c, &b);
    ok(rc == FY_AGAIN && c.size == (uint64_t) INT64_MAX,
       "chunked: 2^63-1 is a valid size");

    /* NUL and line ends inside data are just data */
    run_chunked("4\r\n\0\x01\xff\n\r\n0\r\n\r\n", 14, WHOLE, 0, out);
    is_str(out, "\\x00\\x01\\xff\\x0a rc=-4 @14", "chunked: binary data");
    run_chunked("4\r\n\0\x01\xff\n\r\n0\r\n\r\n", 14, BYTES, 1, out);
    is_str(out, "\\x00\\x01\\xff\\x0a rc=-4 @14",
           "chunked: binary data, byte by byte");

    /* endless extensions and trailers are cut off */
    n = FY_HTTP_CHUNK_LINE_MAX;
    memcpy(big, "1;a=", 4);
    memset(big + 4, 'x', n);
    memcpy(big + 4 + n, "\r\nx\r\n0\r\n\r\n", 11);
    run_chunked(big, strlen(big), WHOLE, 1, out);
    ok(strstr(out, "rc=14 @4096") != NULL, "chunked: size line limit");

    memcpy(big + 4 + n - 10, "\r\nx\r\n0\r\n\r\n", 11);
    run_chunked(big, strlen(big), WHOLE, 1, out);
    is_str(out, "x rc=-4 @4100", "chunked: long size line under the limit");

    n = FY_HTTP_CHUNK_TRAILER_MAX;
    memcpy(big, "0\r\nT: ", 6);
    memset(big + 6, 'v', n);
    memcpy(big + 6 + n, "\r\n\r\n", 5);
    run_chunked(big, strlen(big), WHOLE, 1, out);
    ok(strstr(out, "rc=14 @32771") != NULL, "chunked: trailer limit");
}


/* ---------------------------------------------------------------- */
/* pipelining                                                         */


/*
 * Two requests (the first with a chunked body) back to back in one
 * buffer, parsed by one parser that is never re-initialised.
 */
static void
run_pipeline(const char *in, size_t len, int bytewise, char *out)
{
    int                rc, i;
    feed_t             f;
    fy_http_parser_t   r;
    fy_http_chunked_t  c;

    out[0] = '\0';

    feed_init(&f, in, len, bytewise);
    fy_http_parser_init(&r);
    memset(&c, 0, sizeof(fy_http_chunked_t));

    for (i = 0; i < 2; i++) {

        do {
            rc = fy_http_parse_request_line(&r, &f.b);
        } while (rc == FY_AGAIN && feed_more(&f));

        if (rc != FY_OK) {
            appendf(out, "request line rc=%d", rc);
            goto done;
        }

        appendf(out, "%s ", method_name(r.method));
        append_span(out, r.uri_start, r.uri_end);
        appendf(out, " args=");
        append_span(out, r.args_start, r.args_start ? r.uri_end : NULL);
        appendf(out, " |");

        for ( ;; ) {
            rc = fy_http_parse_header_line(&r, &f.b);

            if (rc == FY_AGAIN && feed_more(&f)) {
                continue;
            }

            if (rc != FY_OK) {
                break;
            }

            appendf(out, " ");
            append_span(out, r.header_name_start, r.header_name_end);
            appendf(out, "=");
            append_span(out, r.header_start, r.header_end);
        }

        if (rc != FY_HTTP_PARSE_HEADER_DONE) {
            appendf(out, " headers rc=%d", rc);
            goto done;
        }

        if (i == 0) {
            appendf(out, " | body=");

            for ( ;; ) {
                rc = fy_http_parse_chunked(&c, &f.b);

                if (rc == FY_OK) {
                    append_span(out, c.data, c.data + c.len);
                    continue;
                }

                if (rc == FY_AGAIN && feed_more(&f)) {
                    continue;
                }

                break;
            }

            if (rc != FY_DONE) {
                appendf(out, " chunked rc=%d", rc);
                goto done;
            }
        }

        appendf(out, " || ");
    }

done:

    appendf(out, "@%d", (int) (f.b.pos - f.b.start));

    feed_free(&f);
}


static void
test_pipeline(void)
{
    char         whole[OUT_MAX], bytes[OUT_MAX], want[OUT_MAX];
    const char  *in;

    in = "POST /a?x=1 HTTP/1.1\r\n"
         "Host: a\r\n"
         "Transfer-Encoding: chunked\r\n"
         "\r\n"
         "3\r\nabc\r\n0\r\n\r\n"
         "\r\n"                         /* stray CRLF, skipped */
         "GET /b HTTP/1.0\n"
         "Host: b\n"
         "\n";

    run_pipeline(in, strlen(in), WHOLE, whole);
    run_pipeline(in, strlen(in), BYTES, bytes);

    snprintf(want, sizeof(want), "POST /a?x=1 args=x=1 | Host=a"
             " Transfer-Encoding=chunked | body=abc || GET /b args=- |"
             " Host=b || @%d", (int) strlen(in));
    is_str(whole, want, "pipeline: two requests, whole buffer");
    is_str(bytes, whole, "pipeline: two requests, byte by byte");
}


int
main(void)
{
    test_request_lines();
    test_request_line_bytes();
    test_status_lines();
    test_header_lines();
    test_header_bytes();
    test_header_bytes_long();
    test_header_lenient_names();
    test_chunked();
    test_chunked_state();
    test_pipeline();

    return done_testing();
}
