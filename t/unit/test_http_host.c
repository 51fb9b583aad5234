/*
 * test_http_host.c -- the Host check (fy_http_validate_host), the pure
 * function t/fuzz/fuzz_http_host.c fuzzes: what is accepted, how it is
 * normalised, what is refused.
 */
#include "fy_core.h"
#include "fy_http.h"
#include "fy_tap.h"

/* want NULL: refused (and the result left alone) */
static void
host(const char *in, size_t len, const char *want)
{
    fy_str_t  h, r;
    char      got[256];
    u_char   *raw = malloc(len ? len : 1);
    int       rc;

    memcpy(raw, in, len);
    h.data = raw;
    h.len = len;
    r.data = NULL;
    r.len = 999;
    rc = fy_http_validate_host(&h, &r);
    if (want == NULL) {
        ok(rc == FY_ERROR && r.data == NULL && r.len == 999,
           "\"%.*s\" is refused", (int) len, in);
    } else {
        snprintf(got, sizeof(got), "%.*s", (int) r.len,
                 r.data ? (char *) r.data : "");
        ok(rc == FY_OK, "\"%.*s\" is accepted", (int) len, in);
        is_str(got, want, "\"%.*s\" -> \"%s\"", (int) len, in, want);
    }
    free(raw);
}

#define H(in, want)  host(in, sizeof(in) - 1, want)

int
main(void)
{
    H("example.com", "example.com");
    H("WWW.Example.COM", "www.example.com");
    H("example.com.", "example.com");
    H("example.com.:8080", "example.com");
    H("example.com:80", "example.com");
    H("example.com:", "example.com");
    H("[::1]", "[::1]");
    H("[::1]:443", "[::1]");
    H("[::FFFF:10.0.0.1]", "[::ffff:10.0.0.1]");
    H("10.0.0.1:8080", "10.0.0.1");
    H("Ex_ample-1~.ORG:8080", "ex_ample-1~.org");
    H("h\xc3\xa9.Example", "h\xc3\xa9.example");

    H("", NULL);
    H(".", NULL);
    H(":80", NULL);
    H("a..b", NULL);
    H("..", NULL);
    H("a/b", NULL);
    H("a\\b", NULL);
    H("a b", NULL);
    H("a\x01" "b", NULL);
    H("a\x7f", NULL);
    H("h\0st", NULL);
    H("host:8o", NULL);
    H("host:80:90", NULL);
    H("[::1", NULL);
    H("x[::1]", NULL);
    H("[::1]x", NULL);
    H("[::1]]", NULL);
    H("x]:80", NULL);
    H("x]", NULL);

    return done_testing();
}
