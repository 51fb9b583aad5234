/*
 * test_http_uri.c -- path normalisation and escaping.
 */
#include "fy_core.h"
#include "fy_http.h"
#include "fy_tap.h"

static void
norm(fy_pool_t *pool, const char *in, const char *want)
{
    fy_str_t  p;
    char      got[256], *raw = strdup(in);
    int       rc;

    p.data = (u_char *) raw;
    p.len = strlen(in);
    rc = fy_http_normalize_path(pool, &p);
    if (want == NULL) {
        ok(rc == FY_ERROR, "\"%s\" is refused", in);
    } else {
        snprintf(got, sizeof(got), "%.*s", (int) p.len, (char *) p.data);
        ok(rc == FY_OK, "\"%s\" is accepted", in);
        is_str(got, want, "\"%s\" -> \"%s\"", in, want);
    }
    free(raw);
}

int
main(void)
{
    fy_pool_t  *pool = fy_pool_create(4096);
    u_char      buf[64];
    size_t      n;

    norm(pool, "/", "/");
    norm(pool, "/admin", "/admin");
    norm(pool, "/a/b/", "/a/b/");
    norm(pool, "/%61dmin", "/admin");
    norm(pool, "/./admin", "/admin");
    norm(pool, "//admin", "/admin");
    norm(pool, "/x/../admin", "/admin");
    norm(pool, "/x/%2e%2e/admin", "/admin");
    norm(pool, "/a/b/..", "/a/");
    norm(pool, "/a/.", "/a/");
    norm(pool, "/a//", "/a/");
    norm(pool, "/a/b/../../c", "/c");
    norm(pool, "/%20x", "/ x");
    norm(pool, "*", "*");
    norm(pool, "/..", NULL);
    norm(pool, "/a/../..", NULL);
    norm(pool, "/%zz", NULL);
    norm(pool, "/%2", NULL);
    norm(pool, "/%", NULL);
    norm(pool, "/%00", NULL);
    norm(pool, "noslash", NULL);

    n = fy_http_escape_path(NULL, (u_char *) "/a b?%", 6);
    is_int(n, 12, "escaped length");
    n = fy_http_escape_path(buf, (u_char *) "/a b?%", 6);
    buf[n] = '\0';
    is_str((char *) buf, "/a%20b%3F%25", "space, ? and %% are escaped");

    fy_pool_destroy(pool);
    return done_testing();
}
