/*
 * test_proxy_field.c -- fy_proxy_field_kind (src/http/fy_http_proxy_field.c)
 * against a plain definition: each name ferry treats apart, in any
 * case, is its kind; every other name (each of those names with any
 * byte changed at any place, one byte longer or shorter) is what the
 * definition says, which is mostly "other".  The hop-by-hop kinds are
 * the names fy_proxy_skip_header skips, and fy_proxy_hidden hides what
 * nginx's proxy and FastCGI modules hide, plus proxy_hide_header and
 * minus proxy_pass_header.
 */

#include "fy_core.h"
#include "fy_http.h"
#include "fy_http_proxy.h"
#include "fy_tap.h"

#include <ctype.h>
#include <strings.h>

static const struct {
    const char  *name;
    unsigned     kind;
} known[] = {
    { "Content-Length", FY_PF_CONTENT_LENGTH },
    { "Connection", FY_PF_CONNECTION },
    { "Transfer-Encoding", FY_PF_TRANSFER_ENCODING },
    { "Upgrade", FY_PF_UPGRADE },
    { "TE", FY_PF_HOP },
    { "Host", FY_PF_HOP },
    { "Expect", FY_PF_HOP },
    { "Keep-Alive", FY_PF_HOP },
    { "Proxy-Connection", FY_PF_HOP },
    { "Server", FY_PF_SERVER },
    { "Date", FY_PF_DATE },
    { "X-Pad", FY_PF_X_PAD },
    { "Status", FY_PF_STATUS },
    { "X-Accel-Limit-Rate", FY_PF_X_ACCEL_LIMIT_RATE },
    { "Location", FY_PF_LOCATION },
    { "Refresh", FY_PF_REFRESH },
    { "Accept-Ranges", FY_PF_ACCEPT_RANGES },
    { "Content-Range", FY_PF_CONTENT_RANGE },
    { "Content-Encoding", FY_PF_CONTENT_ENCODING },
    { "ETag", FY_PF_ETAG },
    /* X-Accel-* by its prefix; and names near the others */
    { "X-Accel-", FY_PF_X_ACCEL },
    { "X-Accel-Redirect", FY_PF_X_ACCEL },
    { "X-Accel-Buffering", FY_PF_X_ACCEL },
    { "Content-Type", FY_PF_OTHER },
    { "Set-Cookie", FY_PF_OTHER },
    { "Last-Modified", FY_PF_OTHER },
};

#define NKNOWN  (sizeof(known) / sizeof(known[0]))

/* the definition: a known name by its whole text, in any case, or the
 * X-Accel- prefix */
static unsigned
ref_kind(const u_char *d, size_t len)
{
    size_t  i;

    for (i = 0; i < NKNOWN; i++) {
        if (strlen(known[i].name) == len
            && strncasecmp((const char *) d, known[i].name, len) == 0
            && memchr(d, '\0', len) == NULL)
        {
            return known[i].kind;
        }
    }
    if (len >= 8 && strncasecmp((const char *) d, "X-Accel-", 8) == 0
        && memchr(d, '\0', 8) == NULL)
    {
        return FY_PF_X_ACCEL;
    }
    return FY_PF_OTHER;
}

/* the name d, len as the parser hands it over */
static fy_str_t
name_of(const u_char *d, size_t len)
{
    fy_str_t  s;

    s.data = (u_char *) d;
    s.len = len;
    return s;
}

static unsigned
kind_of(const u_char *d, size_t len)
{
    fy_str_t  s = name_of(d, len);

    return fy_proxy_field_kind(&s);
}

static int
skip_of(const u_char *d, size_t len)
{
    fy_str_t  s = name_of(d, len);

    return fy_proxy_skip_header(&s);
}

static void
test_known(void)
{
    u_char  buf[64];
    size_t  i, j, len;

    for (i = 0; i < NKNOWN; i++) {
        len = strlen(known[i].name);
        memcpy(buf, known[i].name, len);
        is_int(kind_of(buf, len), known[i].kind, "%s", known[i].name);
        for (j = 0; j < len; j++) {
            buf[j] = (u_char) tolower(buf[j]);
        }
        is_int(kind_of(buf, len), known[i].kind, "%.*s", (int) len, buf);
        for (j = 0; j < len; j++) {
            buf[j] = (u_char) toupper(buf[j]);
        }
        is_int(kind_of(buf, len), known[i].kind, "%.*s", (int) len, buf);
    }
}

/* each known name with every byte value at every place, one byte more
 * (of any value) and one less: the kind is the definition's, and a
 * hop-by-hop kind is exactly what fy_proxy_skip_header skips */
static void
test_near(void)
{
    u_char    buf[64];
    size_t    i, j, len, l;
    unsigned  c, bad, badskip, n;

    for (i = 0; i < NKNOWN; i++) {
        len = strlen(known[i].name);
        bad = badskip = n = 0;
        for (j = 0; j <= len; j++) {
            for (c = 0; c < 256; c++) {
                memcpy(buf, known[i].name, len);
                buf[j] = (u_char) c;
                l = j == len ? len + 1 : len;   /* one byte longer */
                n++;
                bad += kind_of(buf, l) != ref_kind(buf, l);
                badskip += fy_proxy_kind_skipped(kind_of(buf, l))
                           != skip_of(buf, l);
            }
        }
        memcpy(buf, known[i].name, len);
        n++;
        bad += kind_of(buf, len - 1) != ref_kind(buf, len - 1);
        badskip += fy_proxy_kind_skipped(kind_of(buf, len - 1))
                   != skip_of(buf, len - 1);
        ok(bad == 0, "%s: %u of %u changed names classified as defined",
           known[i].name, n - bad, n);
        ok(badskip == 0, "%s: %u of %u changed names skipped as "
           "fy_proxy_skip_header does", known[i].name, n - badskip, n);
    }
}

static int
hidden(fy_http_loc_conf_t *lcf, const char *name)
{
    fy_str_t  s = name_of((const u_char *) name, strlen(name));

    return fy_proxy_hidden(lcf, &s);
}

static void
test_hidden(void)
{
    fy_http_loc_conf_t  *lcf = calloc(1, sizeof(*lcf));
    fy_pool_t           *pool = fy_pool_create(4096);
    fy_array_t           hide, pass;
    fy_str_t            *n;

    if (lcf == NULL || pool == NULL) {
        ok(0, "memory");
        return;
    }
    /* proxy_pass: nginx's proxy hides Date, Server, X-Pad, X-Accel-* */
    ok(hidden(lcf, "Date") && hidden(lcf, "server") && hidden(lcf, "X-PAD")
       && hidden(lcf, "X-Accel-Redirect") && hidden(lcf, "X-Accel-")
       && hidden(lcf, "x-accel-limit-rate"),
       "proxy: Date, Server, X-Pad, X-Accel-* hidden");
    ok(!hidden(lcf, "Status") && !hidden(lcf, "Content-Type")
       && !hidden(lcf, "X-Accel") && !hidden(lcf, "Content-Length")
       && !hidden(lcf, "Location"),
       "proxy: Status, Content-Type, X-Accel, Content-Length passed");

    /* fastcgi_pass: Status and X-Accel-* */
    lcf->fastcgi_pass = 1;
    ok(hidden(lcf, "Status") && hidden(lcf, "X-Accel-Expires"),
       "FastCGI: Status and X-Accel-* hidden");
    ok(!hidden(lcf, "Date") && !hidden(lcf, "Server") && !hidden(lcf, "X-Pad"),
       "FastCGI: Date, Server, X-Pad passed");
    lcf->fastcgi_pass = 0;

    /* proxy_hide_header X-Powered-By; proxy_pass_header Server */
    fy_array_init(&hide, pool, 2, sizeof(fy_str_t));
    fy_array_init(&pass, pool, 2, sizeof(fy_str_t));
    n = fy_array_push(&hide);
    n->data = (u_char *) "X-Powered-By";
    n->len = 12;
    n = fy_array_push(&pass);
    n->data = (u_char *) "Server";
    n->len = 6;
    lcf->hide_headers = &hide;
    lcf->pass_headers = &pass;
    ok(hidden(lcf, "x-powered-by") && hidden(lcf, "Date"),
       "proxy_hide_header's field and Date hidden");
    ok(!hidden(lcf, "Server") && !hidden(lcf, "X-Powered-Byx"),
       "proxy_pass_header's Server passed");

    fy_pool_destroy(pool);
    free(lcf);
}

int
main(void)
{
    test_known();
    test_near();
    test_hidden();
    return done_testing();
}
