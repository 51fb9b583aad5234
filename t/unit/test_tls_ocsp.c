/*
 * test_tls_ocsp.c -- the parsers of OCSP stapling and ssl_ocsp
 * (src/tls/fy_tls_ocsp_fetch.c): the responder URL
 * (ssl_stapling_responder, ssl_ocsp_responder, the certificate's AIA)
 * and what a fetch connects to (an IP address, or a host name kept for
 * the resolver), and the responder's HTTP answer, fed whole, one byte more
 * per call (as reads bring it), and cut short.
 */

#include "fy_core.h"
#include "fy_tls_ocsp.h"
#include "fy_tap.h"

/* The fetch's target for url, nothing resolved now: the responder
 * (Host:) and peer texts, and the host name kept for the resolver
 * ("": an IP address, the peer known). */
static void
addr_is(const char *url, const char *responder, const char *peer,
        const char *host)
{
    fy_tls_ocsp_url_t   u;
    fy_tls_fetch_t      f;
    const char         *why;

    memset(&f, 0, sizeof(f));
    why = fy_tls_ocsp_url_parse(url, &u);
    if (why == NULL) {
        why = fy_tls_fetch_addr(&f, &u, 0);
    }
    ok(why == NULL, "%s: taken", url);
    is_str(f.responder, responder, "%s: Host is %s", url, responder);
    is_str(f.peer, peer, "%s: the peer is \"%s\"", url, peer);
    is_str(f.host, host, "%s: the name for the resolver is \"%s\"", url,
           host);
    is_int(f.naddrs != 0, host[0] == '\0', "%s: an address %s", url,
           host[0] ? "none yet" : "known");
}

static void
url_ok(const char *url, const char *host, unsigned port, const char *path,
       const char *hostport)
{
    fy_tls_ocsp_url_t  u;
    const char        *why = fy_tls_ocsp_url_parse(url, &u);
    char               hp[300];

    ok(why == NULL, "%s: parsed", url);
    if (why) {
        printf("#     why: %s\n", why);
        return;
    }
    snprintf(hp, sizeof(hp), "%.*s", (int) u.hostport_len, u.hostport);
    is_str(u.host, host, "%s: host", url);
    is_int(u.port, port, "%s: port", url);
    is_str(u.path, path, "%s: path", url);
    is_str(hp, hostport, "%s: host[:port] for Host:", url);
}

static void
url_bad(const char *url, const char *want)
{
    fy_tls_ocsp_url_t  u;

    is_str(fy_tls_ocsp_url_parse(url, &u), want, "%s: refused", url);
}

/* Parse resp as reads would bring it: every prefix without eof must be
 * FY_AGAIN until the whole answer, which gives want (and at eof too). */
static int
http_feed(const char *resp, size_t len, int eof, const u_char **body,
          size_t *body_len, char *err, size_t *at)
{
    size_t  n;
    int     rc = FY_AGAIN;

    for (n = 0; n <= len; n++) {
        rc = fy_tls_ocsp_http_parse((const u_char *) resp, n, 0, body,
                                    body_len, err, 256);
        if (rc != FY_AGAIN) {
            *at = n;
            return rc;
        }
    }
    *at = len;
    return eof ? fy_tls_ocsp_http_parse((const u_char *) resp, len, 1, body,
                                        body_len, err, 256)
               : rc;
}

int
main(void)
{
    const u_char  *body;
    size_t         blen, at;
    char           err[256];
    int            rc;
    const char    *r;

    /* ---- URLs ---- */
    url_ok("http://127.0.0.1:8080/ocsp", "127.0.0.1", 8080, "/ocsp",
           "127.0.0.1:8080");
    url_ok("http://ocsp.example.com", "ocsp.example.com", 80, "/",
           "ocsp.example.com");
    url_ok("HTTP://r3.o.lencr.org/", "r3.o.lencr.org", 80, "/",
           "r3.o.lencr.org");
    url_ok("http://[::1]:81/a/b", "::1", 81, "/a/b", "[::1]:81");
    url_ok("http://[2001:db8::1]/", "2001:db8::1", 80, "/", "[2001:db8::1]");
    url_ok("http://h?x=1", "h", 80, "/", "h");
    url_ok("http://h:65535/", "h", 65535, "/", "h:65535");
    url_bad("https://ocsp.example.com/", "invalid URL prefix");
    url_bad("ftp://h/", "invalid URL prefix");
    url_bad("http://h:0/", "invalid port");
    url_bad("http://h:65536/", "invalid port");
    url_bad("http://h:/", "invalid port");
    url_bad("http://h:8a/", "invalid port");
    url_bad("http://h:123456/", "invalid port");
    url_bad("http:///path", "no host");
    url_bad("http://:80/", "no host");
    url_bad("http://[::1/", "invalid host");
    url_bad("http://[::1]x/", "invalid host");

    /* ---- answers ---- */
    r = "HTTP/1.0 200 OK\r\nContent-Type: application/ocsp-response\r\n"
        "Content-Length: 5\r\n\r\nABCDE";
    rc = http_feed(r, strlen(r), 0, &body, &blen, err, &at);
    is_int(rc, FY_OK, "200 with Content-Length: complete");
    is_int(at, strlen(r), "... only once every byte is there");
    ok(blen == 5 && memcmp(body, "ABCDE", 5) == 0, "... the body");

    r = "HTTP/1.1 200 OK\r\ncontent-type: Application/OCSP-Response\r\n"
        "CONTENT-LENGTH:3 \r\n\r\nxyzTRAILING";
    rc = fy_tls_ocsp_http_parse((const u_char *) r, strlen(r), 0, &body,
                                &blen, err, sizeof(err));
    ok(rc == FY_OK && blen == 3 && memcmp(body, "xyz", 3) == 0,
       "field names and the type without case; bytes past the length "
       "ignored");

    r = "HTTP/1.0 200 OK\r\nContent-type: application/ocsp-response\r\n\r\n"
        "0123456789";
    rc = http_feed(r, strlen(r), 0, &body, &blen, err, &at);
    is_int(rc, FY_AGAIN, "no Content-Length: more wanted until the close");
    rc = fy_tls_ocsp_http_parse((const u_char *) r, strlen(r), 1, &body,
                                &blen, err, sizeof(err));
    ok(rc == FY_OK && blen == 10 && memcmp(body, "0123456789", 10) == 0,
       "... then the body is what came");

    r = "HTTP/1.0 200 OK\r\n\r\n";
    rc = fy_tls_ocsp_http_parse((const u_char *) r, strlen(r), 1, &body,
                                &blen, err, sizeof(err));
    ok(rc == FY_OK && blen == 0, "no header lines, empty body at the close");

    r = "HTTP/1.0 200 OK\r\nContent-Type: application/ocsp-response; x=y\r\n"
        "Content-Length: 2\r\n\r\nok";
    rc = fy_tls_ocsp_http_parse((const u_char *) r, strlen(r), 0, &body,
                                &blen, err, sizeof(err));
    is_int(rc, FY_OK, "a type with parameters");

    r = "HTTP/1.0 500 Internal Server Error\r\nContent-Length: 0\r\n\r\n";
    rc = http_feed(r, strlen(r), 0, &body, &blen, err, &at);
    is_int(rc, FY_ERROR, "500: an error");
    is_str(err, "OCSP responder sent status 500", "... in nginx's words");

    r = "HTTP/1.0 200 OK\r\nContent-Type: text/html\r\n\r\n<html>";
    rc = fy_tls_ocsp_http_parse((const u_char *) r, strlen(r), 1, &body,
                                &blen, err, sizeof(err));
    is_int(rc, FY_ERROR, "another Content-Type: an error");
    is_str(err, "OCSP responder sent invalid \"Content-Type\" header: "
           "\"text/html\"", "... naming it");

    r = "HTTP/1.0 200 OK\r\nContent-Type: application/ocsp-responses\r\n\r\n";
    rc = fy_tls_ocsp_http_parse((const u_char *) r, strlen(r), 1, &body,
                                &blen, err, sizeof(err));
    is_int(rc, FY_ERROR, "a type that only starts like it: an error");

    r = "HTTP/1.0 200 OK\r\nContent-Length: 12x\r\n\r\n";
    rc = fy_tls_ocsp_http_parse((const u_char *) r, strlen(r), 1, &body,
                                &blen, err, sizeof(err));
    is_int(rc, FY_ERROR, "a Content-Length that is no number: an error");

    r = "HTTP/1.0 200 OK\r\nContent-Length: 10\r\n\r\nshort";
    rc = fy_tls_ocsp_http_parse((const u_char *) r, strlen(r), 0, &body,
                                &blen, err, sizeof(err));
    is_int(rc, FY_AGAIN, "fewer bytes than Content-Length: more wanted");
    rc = fy_tls_ocsp_http_parse((const u_char *) r, strlen(r), 1, &body,
                                &blen, err, sizeof(err));
    is_int(rc, FY_ERROR, "... and at the close an error");
    is_str(err, "OCSP responder prematurely closed connection",
           "... in nginx's words");

    rc = fy_tls_ocsp_http_parse((const u_char *) "", 0, 1, &body, &blen, err,
                                sizeof(err));
    is_int(rc, FY_ERROR, "closed without a byte: an error");
    is_str(err, "OCSP responder prematurely closed connection", "... saying so");

    r = "HTTP/1.0 200 OK\r\nContent-Len";
    rc = fy_tls_ocsp_http_parse((const u_char *) r, strlen(r), 1, &body,
                                &blen, err, sizeof(err));
    is_int(rc, FY_ERROR, "closed in the header: an error");
    is_str(err, "OCSP responder sent invalid response", "... an invalid one");

    r = "SSH-2.0-OpenSSH_9.2\r\n\r\n";
    rc = fy_tls_ocsp_http_parse((const u_char *) r, strlen(r), 0, &body,
                                &blen, err, sizeof(err));
    is_int(rc, FY_ERROR, "not HTTP: an error");

    r = "HTTP/1.0 2x0 OK\r\n\r\n";
    rc = fy_tls_ocsp_http_parse((const u_char *) r, strlen(r), 0, &body,
                                &blen, err, sizeof(err));
    is_int(rc, FY_ERROR, "a status that is no number: an error");

    addr_is("http://127.0.0.1:8080/ocsp", "127.0.0.1:8080", "127.0.0.1:8080",
            "");
    addr_is("http://10.1.2.3", "10.1.2.3", "10.1.2.3:80", "");
    addr_is("http://[::1]:81/", "[::1]:81", "[::1]:81", "");
    addr_is("http://ocsp.example.com/", "ocsp.example.com", "",
            "ocsp.example.com");
    addr_is("http://127.0.0.1.example:8080/", "127.0.0.1.example:8080", "",
            "127.0.0.1.example");

    return done_testing();
}
