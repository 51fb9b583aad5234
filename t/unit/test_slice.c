/*
 * test_slice.c -- fy_http_slice_parse: the Content-Range of a slice's
 * answer, which decides whether it is the slice asked for.
 */
#include "fy_core.h"
#include "fy_http.h"
#include "fy_tap.h"

/* want: FY_OK, FY_DECLINED, FY_ERROR; for FY_OK also the numbers */
static void
cr(const char *v, int want, uint64_t ws, uint64_t wl, uint64_t wt)
{
    fy_str_t  s;
    uint64_t  a = 7, b = 7, t = 7;
    int       rc;

    s.data = (u_char *) v;
    s.len = strlen(v);
    rc = fy_http_slice_parse(&s, &a, &b, &t);
    is_int(rc, want, "\"%s\": result", v);
    if (want == FY_OK && rc == FY_OK) {
        ok(a == ws && b == wl && t == wt, "\"%s\" is %llu-%llu/%llu (got "
           "%llu-%llu/%llu)", v, (unsigned long long) ws,
           (unsigned long long) wl, (unsigned long long) wt,
           (unsigned long long) a, (unsigned long long) b,
           (unsigned long long) t);
    }
}

int
main(void)
{
    uint64_t  a, b, t;

    cr("bytes 0-65535/300000", FY_OK, 0, 65535, 300000);
    cr("bytes 262144-299999/300000", FY_OK, 262144, 299999, 300000);
    cr("bytes 0-0/1", FY_OK, 0, 0, 1);
    cr("Bytes  5-9/10", FY_OK, 5, 9, 10);
    cr("bytes 5-9/10 ", FY_OK, 5, 9, 10);
    cr("bytes 0-9223372036854775806/9223372036854775807", FY_OK,
       0, 9223372036854775806ULL, 9223372036854775807ULL);

    /* no complete length: nginx's "no complete length" */
    cr("bytes 0-9/*", FY_DECLINED, 0, 0, 0);

    /* not a range of the body */
    cr("bytes */100", FY_ERROR, 0, 0, 0);
    cr("bytes 10-9/100", FY_ERROR, 0, 0, 0);
    cr("bytes 0-100/100", FY_ERROR, 0, 0, 0);
    cr("bytes 0-9", FY_ERROR, 0, 0, 0);
    cr("bytes 0-9/", FY_ERROR, 0, 0, 0);
    cr("bytes 0-9/10x", FY_ERROR, 0, 0, 0);
    cr("bytes -9/10", FY_ERROR, 0, 0, 0);
    cr("bytes=0-9/10", FY_ERROR, 0, 0, 0);
    cr("items 0-9/10", FY_ERROR, 0, 0, 0);
    cr("bytes 0-99999999999999999999999/100", FY_ERROR, 0, 0, 0);
    cr("", FY_ERROR, 0, 0, 0);
    is_int(fy_http_slice_parse(NULL, &a, &b, &t), FY_ERROR, "none: FY_ERROR");

    return done_testing();
}
