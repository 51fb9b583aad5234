/*
 * test_cache.c -- the proxy cache's pure parts: what a response's own
 * fields say about keeping it (fy_http_cache_header_valid, as nginx
 * reads X-Accel-Expires, Cache-Control, Expires, Set-Cookie and Vary,
 * and proxy_ignore_headers), the entries' file names in the levels
 * layout, and the index in a cache zone on ordinary memory: add,
 * replace, the max_size and inactive evictions, the entries counted
 * for the status page; Vary: the names kept (fy_http_cache_vary) and a
 * request's variant of them (fy_http_cache_variant).
 */

#include "fy_core.h"
#include "fy_http.h"
#include "fy_shm.h"
#include "fy_http_proxy.h"
#include "fy_http_cache.h"
#include "fy_tap.h"

#include <stdlib.h>

#define NOW   ((time_t) 1800000000)
#define SIZE  (64 * 1024)

static fy_pool_t  *pool;

/* the fields "Name: value" given, as the proxy parses them */
static int64_t
valid(unsigned ignore, int n, ...)
{
    fy_array_t         a;
    fy_http_header_t  *h;
    va_list            ap;
    const char        *name, *value;
    int                i;

    fy_array_init(&a, pool, 4, sizeof(fy_http_header_t));
    va_start(ap, n);
    for (i = 0; i < n; i++) {
        name = va_arg(ap, const char *);
        value = va_arg(ap, const char *);
        h = fy_array_push(&a);
        h->name.data = (u_char *) name;
        h->name.len = strlen(name);
        h->value.data = (u_char *) value;
        h->value.len = strlen(value);
    }
    va_end(ap);
    return fy_http_cache_header_valid(&a, ignore, NOW);
}

/* fields "Name: value" into a, as the proxy parses them */
static void
fields(fy_array_t *a, int n, va_list ap)
{
    fy_http_header_t  *h;
    const char        *name, *value;
    int                i;

    fy_array_init(a, pool, 4, sizeof(fy_http_header_t));
    for (i = 0; i < n; i++) {
        name = va_arg(ap, const char *);
        value = va_arg(ap, const char *);
        h = fy_array_push(a);
        h->name.data = (u_char *) name;
        h->name.len = strlen(name);
        h->value.data = (u_char *) value;
        h->value.len = strlen(value);
    }
}

/* fy_http_cache_vary of the response fields given, into buf */
static ssize_t
vary(u_char *buf, int n, ...)
{
    fy_array_t  a;
    va_list     ap;

    va_start(ap, n);
    fields(&a, n, ap);
    va_end(ap);
    return fy_http_cache_vary(&a, buf);
}

/* the variant, as 32 hex digits, of a request with key "k" and the
 * fields given, for the Vary names names */
static char *
variant(const char *names, int n, ...)
{
    static char         hex[33];
    fy_http_request_t   r;
    fy_http_cache_t     c;
    u_char              md5[16];
    va_list             ap;
    int                 i;

    memset(&r, 0, sizeof(r));
    memset(&c, 0, sizeof(c));
    r.pool = pool;
    c.key = (u_char *) "k";
    c.key_len = 1;
    va_start(ap, n);
    fields(&r.headers, n, ap);
    va_end(ap);
    if (fy_http_cache_variant(&r, &c, (const u_char *) names, strlen(names),
                              md5) != FY_OK)
    {
        return (char *) "error";
    }
    for (i = 0; i < 16; i++) {
        snprintf(hex + 2 * i, 3, "%02x", md5[i]);
    }
    return hex;
}

static void
md5_of(unsigned i, u_char *md5)
{
    memset(md5, 0, 16);
    memcpy(md5, &i, sizeof(i));
}

int
main(void)
{
    fy_http_cache_path_t   cp;
    fy_http_limit_zone_t   z;
    fy_http_cache_t        c;
    fy_http_limit_shm_t   *shm;
    char                   name[PATH_MAX];
    u_char                 md5[16];
    unsigned               i;

    pool = fy_pool_create(4096);

    /* ---- the response's fields ---- */
    is_int(valid(0, 0), 0, "no fields: they say nothing");
    is_int(valid(0, 1, "X-Accel-Expires", "30"), 30, "X-Accel-Expires: 30");
    is_int(valid(0, 1, "X-Accel-Expires", "0"), -1,
           "X-Accel-Expires: 0 keeps it not at all");
    is_int(valid(0, 1, "X-Accel-Expires", "@1800000100"), 100,
           "X-Accel-Expires: @time, until then");
    is_int(valid(0, 1, "X-Accel-Expires", "@1700000000"), -1,
           "X-Accel-Expires: @time past");
    is_int(valid(0, 2, "Cache-Control", "no-cache", "X-Accel-Expires", "5"),
           5, "X-Accel-Expires wins over Cache-Control");
    is_int(valid(FY_HTTP_IGN_XA_EXPIRES, 2, "Cache-Control", "max-age=7",
                 "X-Accel-Expires", "5"),
           7, "... unless ignored");
    is_int(valid(0, 1, "Cache-Control", "public, max-age=60"), 60,
           "max-age=60");
    is_int(valid(0, 1, "Cache-Control", "max-age=\"60\""), 60,
           "max-age=\"60\"");
    is_int(valid(0, 1, "Cache-Control", "max-age=60, s-maxage=10"), 10,
           "s-maxage first");
    is_int(valid(0, 1, "Cache-Control", "max-age=0"), -1, "max-age=0");
    is_int(valid(0, 1, "Cache-Control", "max-age=x"), -1, "max-age=x");
    is_int(valid(0, 1, "Cache-Control", "No-Store"), -1, "no-store (case)");
    is_int(valid(0, 1, "Cache-Control", "private"), -1, "private");
    is_int(valid(0, 1, "Cache-Control", "max-age=60, no-cache"), -1,
           "no-cache after max-age");
    is_int(valid(0, 1, "Cache-Control", "public"), 0,
           "public alone says nothing");
    is_int(valid(FY_HTTP_IGN_CACHE_CONTROL, 1, "Cache-Control", "no-store"),
           0, "Cache-Control ignored");
    is_int(valid(0, 1, "Expires", "Fri, 15 Jan 2027 08:01:40 GMT"), 100,
           "Expires: 100 s ahead");
    is_int(valid(0, 1, "Expires", "Thu, 01 Jan 1970 00:00:01 GMT"), -1,
           "Expires past");
    is_int(valid(0, 1, "Expires", "soon"), -1, "Expires that does not parse");
    is_int(valid(0, 2, "Expires", "Fri, 15 Jan 2027 08:01:40 GMT",
                 "Cache-Control", "max-age=9"),
           9, "Cache-Control wins over Expires");
    is_int(valid(FY_HTTP_IGN_EXPIRES, 1, "Expires", "soon"), 0,
           "Expires ignored");
    is_int(valid(0, 2, "X-Accel-Expires", "30", "Set-Cookie", "a=b"), -1,
           "Set-Cookie: not kept");
    is_int(valid(FY_HTTP_IGN_SET_COOKIE, 1, "Set-Cookie", "a=b"), 0,
           "Set-Cookie ignored");
    is_int(valid(0, 1, "Vary", "*"), -1, "Vary: * not kept");
    is_int(valid(0, 1, "Vary", "Accept-Encoding"), 0,
           "Vary: Accept-Encoding does not forbid keeping");
    is_int(valid(0, 1, "Vary", "Accept-Encoding, *"), -1,
           "Vary: a * among names not kept");
    is_int(valid(FY_HTTP_IGN_VARY, 1, "Vary", "*"), 0, "Vary ignored");

    /* ---- Vary: the names kept, the variants ---- */
    {
        u_char   vb[FY_CACHE_VARY_MAX];
        char     long_name[1100], v1[33];
        ssize_t  n;

        n = vary(vb, 1, "Content-Type", "text/plain");
        is_int(n, 0, "no Vary: nothing kept");
        n = vary(vb, 2, "Vary", "Accept-Encoding", "vary", "Accept-Language");
        is_int(n, 32, "two Vary lines: joined");
        ok(n == 32 && memcmp(vb, "Accept-Encoding, Accept-Language", 32) == 0,
           "... by \", \"");
        is_int(vary(vb, 1, "Vary", "Accept-Encoding, *"), -1,
               "a * among the names: not kept");
        is_int(vary(vb, 2, "Vary", "Cookie", "Vary", " * "), -1,
               "a * on a line of its own: not kept");
        memset(long_name, 'a', sizeof(long_name) - 1);
        long_name[sizeof(long_name) - 1] = '\0';
        is_int(vary(vb, 1, "Vary", long_name), -1,
               "more than FY_CACHE_VARY_MAX bytes: not kept");

        snprintf(v1, sizeof(v1), "%s",
                 variant("Accept-Encoding", 1, "Accept-Encoding", "gzip"));
        is_str(variant("accept-encoding", 1, "ACCEPT-ENCODING", "gzip"), v1,
               "variant: names compare without case");
        is_str(variant("Accept-Encoding", 2, "Accept-Encoding", "gzip",
                       "User-Agent", "x"), v1,
               "variant: a field not named does not count");
        ok(strcmp(variant("Accept-Encoding", 1, "Accept-Encoding", "br"), v1)
           != 0, "variant: another value, another variant");
        ok(strcmp(variant("Accept-Encoding", 1, "Accept-Encoding", "GZIP"), v1)
           != 0, "variant: values compare exactly");
        snprintf(v1, sizeof(v1), "%s", variant("Accept-Encoding", 0));
        is_str(variant("Accept-Encoding", 1, "Accept-Encoding", ""), v1,
               "variant: a missing field is an empty one");
        snprintf(v1, sizeof(v1), "%s",
                 variant("A, B", 2, "A", "1", "B", "2"));
        ok(strcmp(variant("A, B", 2, "A", "12", "B", ""), v1) != 0,
           "variant: the values of two names do not run together");
        ok(strcmp(variant("A, B", 2, "A", "1", "A", "2"),
                  variant("A, B", 1, "A", "1,2")) == 0,
           "variant: a field given twice is its values joined by ','");
    }

    /* ---- names ---- */
    memset(&cp, 0, sizeof(cp));
    cp.path = (char *) "/c";
    for (i = 0; i < 16; i++) {
        md5[i] = (u_char) (0xb7 + i * 17);
    }
    fy_http_cache_file_name(&cp, md5, name);
    is_str(name, "/c/b7c8d9eafb0c1d2e3f5061728394a5b6", "no levels");
    cp.levels[0] = 1;
    cp.levels[1] = 2;
    fy_http_cache_file_name(&cp, md5, name);
    is_str(name, "/c/6/5b/b7c8d9eafb0c1d2e3f5061728394a5b6", "levels=1:2");
    cp.levels[0] = 2;
    cp.levels[1] = 2;
    cp.levels[2] = 2;
    fy_http_cache_file_name(&cp, md5, name);
    is_str(name, "/c/b6/a5/94/b7c8d9eafb0c1d2e3f5061728394a5b6",
           "levels=2:2:2");

    /* ---- the index ---- */
    shm = aligned_alloc(FY_CACHELINE, SIZE);
    fy_http_limit_shm_init(shm, SIZE);
    memset(&cp, 0, sizeof(cp));
    cp.path = (char *) "/nonexistent-ferry-test-cache";
    cp.inactive = 600;
    cp.max_size = 10 * 1024;
    memset(&z, 0, sizeof(z));
    z.kind = FY_LIMIT_CACHE;
    z.shm = shm;
    z.cache = &cp;
    memset(&c, 0, sizeof(c));
    c.zone = &z;
    c.cp = &cp;
    fy_wall_msec = (uint64_t) NOW * 1000;

    for (i = 0; i < 5; i++) {
        md5_of(i, c.md5);
        fy_http_cache_index(&c, (int64_t) NOW + 60, 2000);
    }
    is_int(shm->used, 5, "five entries");
    is_int(shm->cache_entries, 5, "five entries for the status page");
    is_int(shm->cache_bytes, 5 * 2048, "sizes in KiB blocks");
    md5_of(0, c.md5);
    fy_http_cache_index(&c, (int64_t) NOW + 60, 3000);
    is_int(shm->used, 4, "over max_size: the least recently used went");
    is_int(shm->cache_entries, 4, "... and is no longer counted");
    md5_of(1, md5);
    ok(fy_http_limit_find(shm, md5, 16, fy_http_limit_hash(shm->seed, md5,
                                                           16)) == NULL,
       "... entry 1, the oldest");
    md5_of(0, md5);
    ok(fy_http_limit_find(shm, md5, 16, fy_http_limit_hash(shm->seed, md5,
                                                           16)) != NULL,
       "the replaced entry stays");
    is_int(shm->cache_bytes, 3 * 2048 + 3072, "its new size counted");

    /* inactive: an hour later, an addition drops two idle ones */
    fy_wall_msec += 3600 * 1000;
    md5_of(9, c.md5);
    fy_http_cache_index(&c, (int64_t) NOW + 7200, 1024);
    is_int(shm->used, 3, "inactive: two idle entries dropped");
    is_int(shm->cache_entries, 3, "... the entries counted: 3");

    free(shm);
    fy_pool_destroy(pool);
    return done_testing();
}
