/*
 * test_cgi_proto.c -- the uwsgi packet and the SCGI netstring
 * (fy_http_cgi_proto.c) byte for byte, a whole packet read back as a
 * uwsgi server reads it, the SCGI specification's own example, and
 * the test that tells an HTTP status line from a CGI header
 * (fy_http_cgi_status_line).
 */
#include "fy_core.h"
#include "fy_http_cgi.h"
#include "fy_tap.h"

static u_char  buf[4096];

static u_char *
uwsgi_var(u_char *p, const char *name, const char *value)
{
    return fy_uwsgi_var_put(p, (const u_char *) name, strlen(name),
                            (const u_char *) value, strlen(value));
}

static u_char *
scgi_var(u_char *p, const char *name, const char *value)
{
    return fy_scgi_var_put(p, (const u_char *) name, strlen(name),
                           (const u_char *) value, strlen(value));
}

static int
status_line(const char *text)
{
    fy_buf_t  b;

    memset(&b, 0, sizeof(b));
    b.start = b.pos = (u_char *) text;
    b.last = b.end = (u_char *) text + strlen(text);
    return fy_http_cgi_status_line(&b);
}

int
main(void)
{
    u_char   *p, *q, big[300];
    size_t    size, pos, klen, vlen, n;
    int       vars;

    /* uwsgi */
    fy_uwsgi_header(buf, 5, 0x1234, 7);
    ok(memcmp(buf, "\x05\x34\x12\x07", 4) == 0,
       "uwsgi header: modifier1, size little-endian, modifier2");
    fy_uwsgi_header(buf, 0, 65535, 0);
    ok(memcmp(buf, "\x00\xff\xff\x00", 4) == 0, "the largest size");

    is_int(fy_uwsgi_var_len(4, 3), 11, "a variable: 2+4+2+3 bytes");
    p = uwsgi_var(buf, "NAME", "val");
    ok(p - buf == 11 && memcmp(buf, "\x04\x00NAME\x03\x00val", 11) == 0,
       "a variable: its lengths little-endian before name and value");
    p = uwsgi_var(buf, "E", "");
    ok(p - buf == 5 && memcmp(buf, "\x01\x00" "E\x00\x00", 5) == 0,
       "an empty value: length 0, no bytes");
    memset(big, 'v', sizeof(big));
    p = fy_uwsgi_var_put(buf, (const u_char *) "N", 1, big, sizeof(big));
    ok(p - buf == 305 && memcmp(buf, "\x01\x00N\x2c\x01", 5) == 0
       && buf[5] == 'v' && buf[304] == 'v',
       "a 300-byte value: length 0x012c, low byte first");

    /* a packet, read back as a uwsgi server reads it */
    q = buf + FY_UWSGI_HEADER_LEN;
    q = uwsgi_var(q, "REQUEST_METHOD", "POST");
    q = uwsgi_var(q, "PATH_INFO", "/app");
    q = uwsgi_var(q, "EMPTY", "");
    size = (size_t) (q - buf) - FY_UWSGI_HEADER_LEN;
    is_int(size, fy_uwsgi_var_len(14, 4) + fy_uwsgi_var_len(9, 4)
                 + fy_uwsgi_var_len(5, 0), "the packet's size is the sum");
    fy_uwsgi_header(buf, 0, size, 0);
    n = (size_t) buf[1] | (size_t) buf[2] << 8;
    vars = 0;
    for (pos = 0; pos < n; pos += 4 + klen + vlen) {
        p = buf + FY_UWSGI_HEADER_LEN + pos;
        klen = (size_t) p[0] | (size_t) p[1] << 8;
        vlen = (size_t) p[2 + klen] | (size_t) p[3 + klen] << 8;
        vars++;
        if (vars == 2) {
            ok(klen == 9 && memcmp(p + 2, "PATH_INFO", 9) == 0
               && vlen == 4 && memcmp(p + 4 + klen, "/app", 4) == 0,
               "read back: the second variable");
        }
    }
    ok(pos == n && vars == 3, "read back: three variables, to the last "
       "byte of the size");

    /* SCGI */
    is_int(fy_scgi_var_len(4, 1), 7, "an SCGI variable: name NUL value NUL");
    is_int(fy_scgi_netstring_len(0), 3, "netstring of nothing: \"0:,\"");
    is_int(fy_scgi_netstring_len(9), 12, "9 bytes: 1 digit");
    is_int(fy_scgi_netstring_len(10), 14, "10 bytes: 2 digits");
    is_int(fy_scgi_netstring_len(100), 105, "100 bytes: 3 digits");

    /* the example of the SCGI specification (python.ca/scgi/protocol) */
    size = fy_scgi_var_len(14, 2) + fy_scgi_var_len(4, 1)
           + fy_scgi_var_len(14, 4) + fy_scgi_var_len(11, 12);
    is_int(size, 70, "the specification's example: 70 bytes");
    p = fy_scgi_netstring_start(buf, size);
    p = scgi_var(p, "CONTENT_LENGTH", "27");
    p = scgi_var(p, "SCGI", "1");
    p = scgi_var(p, "REQUEST_METHOD", "POST");
    p = scgi_var(p, "REQUEST_URI", "/deepthought");
    *p++ = ',';
    ok((size_t) (p - buf) == fy_scgi_netstring_len(size)
       && memcmp(buf, "70:CONTENT_LENGTH\0" "27\0SCGI\0" "1\0"
                 "REQUEST_METHOD\0POST\0REQUEST_URI\0/deepthought\0,",
                 (size_t) (p - buf)) == 0,
       "... byte for byte as the specification writes it");
    p = scgi_var(buf, "E", "");
    ok(p - buf == 3 && memcmp(buf, "E\0\0", 3) == 0,
       "an empty SCGI value: two NULs");

    /* an HTTP status line or a CGI header */
    is_int(status_line("HTTP/1.1 200 OK\r\n"), FY_OK, "a status line");
    is_int(status_line("Status: 404 Not Found\r\n"), FY_DECLINED,
           "a CGI header");
    is_int(status_line("Content-Type: text/plain\r\n"), FY_DECLINED,
           "a CGI header without Status");
    is_int(status_line("HTT"), FY_AGAIN, "\"HTT\": not known yet");
    is_int(status_line(""), FY_AGAIN, "nothing yet");
    is_int(status_line("HX"), FY_DECLINED, "\"HX\": a CGI header already");

    return done_testing();
}
