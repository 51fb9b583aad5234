/*
 * test_fastcgi.c -- FastCGI records (fy_http_fastcgi_proto.c): the
 * header and name-value pair encoder byte for byte, and the record
 * parser fed a response whole, byte by byte, and at every split.
 */
#include "fy_core.h"
#include "fy_http_fastcgi.h"
#include "fy_tap.h"

static char    err_text[256];
static size_t  err_len;
static int     err_records;

static void
on_stderr(void *ctx, const u_char *data, size_t len, int last)
{
    (void) ctx;
    if (len && err_len + len < sizeof(err_text)) {
        memcpy(err_text + err_len, data, len);
        err_len += len;
    }
    err_records += last;
}

/* Append a record of type with content (len bytes) and padding. */
static size_t
record(u_char *out, unsigned type, unsigned id, const char *content,
       size_t len, unsigned padding)
{
    fy_fcgi_header(out, type, id, len, padding);
    memcpy(out + 8, content, len);
    memset(out + 8 + len, 0xee, padding);
    return 8 + len + padding;
}

/* A responder's answer: STDOUT in two records (one padded), STDERR
 * between them, an empty STDOUT, END_REQUEST. */
static size_t
response(u_char *buf)
{
    static const char  end[8] = { 0, 0, 0, 7, 0, 0, 0, 0 };
    size_t             n = 0;

    n += record(buf + n, FY_FCGI_STDOUT, 1,
                "Status: 404 Not Found\r\nX-A: 1\r\n\r\n", 33, 6);
    n += record(buf + n, FY_FCGI_STDERR, 1, "PHP warning", 11, 5);
    n += record(buf + n, FY_FCGI_STDOUT, 1, "body bytes", 10, 0);
    n += record(buf + n, FY_FCGI_STDOUT, 1, "", 0, 0);
    n += record(buf + n, FY_FCGI_END_REQUEST, 1, end, 8, 0);
    return n;
}

static const char  want_out[] = "Status: 404 Not Found\r\nX-A: 1\r\n\r\n"
                                "body bytes";

/* Feed buf in pieces of at most step bytes (split first at cut). */
static void
feed(u_char *buf, size_t n, size_t cut, size_t step, const char *name)
{
    fy_fcgi_parser_t  ps;
    u_char            copy[512], out[512];
    size_t            pos = 0, outn = 0, piece;
    ssize_t           k;
    int               bad = 0;

    memcpy(copy, buf, n);
    err_len = 0;
    err_records = 0;
    fy_fcgi_parser_init(&ps, on_stderr, NULL);
    while (pos < n) {
        piece = pos < cut ? cut - pos : step;
        piece = fy_min(piece, n - pos);
        k = fy_fcgi_parse(&ps, copy + pos, piece);
        if (k < 0) {
            bad = 1;
            break;
        }
        memcpy(out + outn, copy + pos, (size_t) k);
        outn += (size_t) k;
        pos += piece;
    }
    ok(!bad && outn == sizeof(want_out) - 1
       && memcmp(out, want_out, outn) == 0, "%s: STDOUT content kept, "
       "headers and padding gone", name);
    ok(ps.ended && !ps.extra && ps.app_status == 7
       && ps.protocol_status == 0, "%s: END_REQUEST read (app status 7)",
       name);
    ok(err_len == 11 && memcmp(err_text, "PHP warning", 11) == 0
       && err_records == 1, "%s: STDERR handed over, one record", name);
}

int
main(void)
{
    u_char            buf[512], *p;
    fy_fcgi_parser_t  ps;
    char              longv[300];
    size_t            n, cut;
    int               all = 1;

    /* headers */
    fy_fcgi_header(buf, FY_FCGI_PARAMS, 1, 0x1234, 5);
    ok(memcmp(buf, "\x01\x04\x00\x01\x12\x34\x05\x00", 8) == 0,
       "record header: version, type, id, length big-endian, padding");
    fy_fcgi_begin_request(buf, 1);
    ok(memcmp(buf, "\x01\x01\x00\x01\x00\x08\x00\x00"
                   "\x00\x01\x01\x00\x00\x00\x00\x00", 16) == 0,
       "BEGIN_REQUEST: responder, FCGI_KEEP_CONN");
    fy_fcgi_begin_request(buf, 0);
    ok(buf[10] == 0, "BEGIN_REQUEST without keep_conn: flags 0");

    /* name-value pairs: 1-byte lengths up to 127, else 4 with the
     * top bit set */
    is_int(fy_fcgi_pair_len(4, 3), 9, "short pair: 1+1+4+3 bytes");
    p = fy_fcgi_pair_put(buf, (const u_char *) "NAME", 4,
                         (const u_char *) "val", 3);
    ok(p - buf == 9 && memcmp(buf, "\x04\x03NAMEval", 9) == 0,
       "short pair encoded");
    memset(longv, 'v', sizeof(longv));
    is_int(fy_fcgi_pair_len(1, 300), 1 + 4 + 1 + 300, "long value: 4-byte "
           "length");
    p = fy_fcgi_pair_put(buf, (const u_char *) "N", 1, (u_char *) longv, 300);
    ok(p - buf == 306 && memcmp(buf, "\x01\x80\x00\x01\x2c" "N", 6) == 0
       && buf[305] == 'v', "long value encoded (0x8000012c)");
    is_int(fy_fcgi_pair_len(127, 128), 1 + 4 + 127 + 128,
           "127 still takes 1 byte, 128 takes 4");
    p = fy_fcgi_pair_put(buf, (const u_char *) "", 0, (const u_char *) "", 0);
    ok(p - buf == 2 && buf[0] == 0 && buf[1] == 0, "empty pair");

    /* the parser, whole and byte by byte */
    n = response(buf);
    feed(buf, n, 0, n, "whole");
    feed(buf, n, 0, 1, "byte by byte");
    feed(buf, n, 0, 3, "three bytes at a time");

    /* every split into two reads */
    for (cut = 1; cut < n; cut++) {
        fy_fcgi_parser_t  ps2;
        u_char            copy[512], out[512];
        ssize_t           a, b;

        memcpy(copy, buf, n);
        err_len = 0;
        err_records = 0;
        fy_fcgi_parser_init(&ps2, on_stderr, NULL);
        a = fy_fcgi_parse(&ps2, copy, cut);
        memcpy(out, copy, a < 0 ? 0 : (size_t) a);
        b = fy_fcgi_parse(&ps2, copy + cut, n - cut);
        if (a < 0 || b < 0) {
            all = 0;
            break;
        }
        memcpy(out + a, copy + cut, (size_t) b);
        if ((size_t) (a + b) != sizeof(want_out) - 1
            || memcmp(out, want_out, (size_t) (a + b)) != 0 || !ps2.ended
            || err_len != 11)
        {
            all = 0;
        }
    }
    ok(all, "split at every byte: the same content, END_REQUEST, STDERR");

    /* bytes after END_REQUEST */
    memcpy(buf + n, "junk", 4);
    fy_fcgi_parser_init(&ps, NULL, NULL);
    ok(fy_fcgi_parse(&ps, buf, n + 4) == (ssize_t) sizeof(want_out) - 1
       && ps.ended && ps.extra, "bytes after END_REQUEST: noted as extra");

    /* garbled */
    fy_fcgi_parser_init(&ps, NULL, NULL);
    memcpy(buf, "HTTP/1.1 200 OK\r\n", 17);
    ok(fy_fcgi_parse(&ps, buf, 17) < 0, "an HTTP response is not FastCGI");
    fy_fcgi_parser_init(&ps, NULL, NULL);
    n = record(buf, FY_FCGI_STDOUT, 2, "x", 1, 0);
    ok(fy_fcgi_parse(&ps, buf, n) < 0, "another request id: refused");
    fy_fcgi_parser_init(&ps, NULL, NULL);
    n = record(buf, FY_FCGI_PARAMS, 1, "x", 1, 0);
    ok(fy_fcgi_parse(&ps, buf, n) < 0, "a record type a responder does not "
       "send: refused");
    fy_fcgi_parser_init(&ps, NULL, NULL);
    n = record(buf, FY_FCGI_STDOUT, 1, "abc", 3, 0);
    ok(fy_fcgi_parse(&ps, buf, n - 1) == 2 && !ps.ended,
       "a record cut short: its content so far, not ended");

    return done_testing();
}
