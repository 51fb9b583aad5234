/*
 * test_tls_certcache.c -- ssl_certificate_cache's store
 * (src/tls/fy_tls_certcache.c): found by type and name, the objects
 * owned by the cache once added, the least recently used pushed out at
 * max, entries unused for `inactive` dropped, a file's entry checked
 * with stat() once older than `valid` (kept while the file is the
 * same, dropped when it changed), "data:" entries never checked, and
 * everything freed with the pool.
 */

#include "fy_core.h"
#include "fy_pool.h"
#include "fy_times.h"
#include "fy_tls.h"
#include "fy_tap.h"

#include <openssl/evp.h>
#include <stdlib.h>
#include <unistd.h>

/* An object holding a key of its own (freed by whoever owns it). */
static fy_tls_certobj_t
key_obj(void)
{
    fy_tls_certobj_t  o = { NULL, NULL, NULL };

    o.key = EVP_PKEY_new();
    return o;
}

static void
write_file(const char *path, const char *text)
{
    FILE  *f = fopen(path, "w");

    if (f) {
        fputs(text, f);
        fclose(f);
    }
}

int
main(void)
{
    fy_pool_t               *pool = fy_pool_create(4096);
    fy_tls_certcache_t      *c;
    fy_tls_certobj_t         o;
    const fy_tls_certobj_t  *e, *k;
    char                     dir[] = "/tmp/fy-certcache-XXXXXX";
    char                     a[64], b[64], tmp[64];
    void                    *key;

    if (pool == NULL || mkdtemp(dir) == NULL) {
        printf("Bail out! no pool or temporary directory\n");
        return 1;
    }
    snprintf(a, sizeof(a), "%s/a.crt", dir);
    snprintf(b, sizeof(b), "%s/b.crt", dir);
    snprintf(tmp, sizeof(tmp), "%s/new", dir);
    write_file(a, "a");
    write_file(b, "b");

    fy_current_msec = 1000000;
    c = fy_tls_certcache_create(pool, 3, 3600000, 60000);
    ok(c != NULL, "made");
    ok(fy_tls_certcache_find(c, FY_TLS_CERTCACHE_CERT, a) == NULL,
       "empty: nothing found");

    o = key_obj();
    key = o.key;
    e = fy_tls_certcache_add(c, FY_TLS_CERTCACHE_KEY, a, &o);
    ok(e != NULL && e->key == key, "added: the entry holds the key");
    ok(o.key == NULL, "the caller's object emptied: the cache owns the key");
    ok(fy_tls_certcache_find(c, FY_TLS_CERTCACHE_KEY, a) == e, "found");
    ok(fy_tls_certcache_find(c, FY_TLS_CERTCACHE_CERT, a) == NULL,
       "another type under the same name is another entry");

    o = key_obj();
    k = fy_tls_certcache_add(c, FY_TLS_CERTCACHE_KEY, b, &o);
    o = key_obj();
    fy_tls_certcache_add(c, FY_TLS_CERTCACHE_KEY, "data:xyz", &o);
    /* a is used, so b is the least recently used one */
    fy_current_msec += 10;
    ok(fy_tls_certcache_find(c, FY_TLS_CERTCACHE_KEY, a) == e, "a used");
    o = key_obj();
    fy_tls_certcache_add(c, FY_TLS_CERTCACHE_CERT, a, &o);
    ok(fy_tls_certcache_find(c, FY_TLS_CERTCACHE_KEY, b) == NULL,
       "max=3: the least recently used pushed out");
    ok(fy_tls_certcache_find(c, FY_TLS_CERTCACHE_KEY, a) == e,
       "max=3: the one used since kept");
    ok(fy_tls_certcache_find(c, FY_TLS_CERTCACHE_KEY, "data:xyz") != NULL,
       "max=3: data: kept");
    (void) k;

    /* valid: the same file is used again, a changed one is not */
    fy_current_msec += 60000;
    ok(fy_tls_certcache_find(c, FY_TLS_CERTCACHE_KEY, a) == e,
       "past valid, the file unchanged: kept");
    ok(fy_tls_certcache_find(c, FY_TLS_CERTCACHE_KEY, "data:xyz") != NULL,
       "past valid, data: needs no check");
    write_file(tmp, "a, new");
    ok(rename(tmp, a) == 0, "a replaced");
    ok(fy_tls_certcache_find(c, FY_TLS_CERTCACHE_KEY, a) == e,
       "within valid after the check: not looked at again");
    fy_current_msec += 60000;
    ok(fy_tls_certcache_find(c, FY_TLS_CERTCACHE_KEY, a) == NULL,
       "past valid, the file changed: dropped");
    unlink(a);
    ok(fy_tls_certcache_find(c, FY_TLS_CERTCACHE_CERT, a) == NULL,
       "past valid, the file gone: dropped");

    /* inactive: unused entries go */
    o = key_obj();
    fy_tls_certcache_add(c, FY_TLS_CERTCACHE_KEY, "data:xyz", &o);
    c = fy_tls_certcache_create(pool, 3, 10000, 3600000);
    ok(c != NULL, "another cache, inactive=10s");
    o = key_obj();
    fy_tls_certcache_add(c, FY_TLS_CERTCACHE_KEY, b, &o);
    o = key_obj();
    fy_tls_certcache_add(c, FY_TLS_CERTCACHE_KEY, "data:xyz", &o);
    fy_current_msec += 9999;
    ok(fy_tls_certcache_find(c, FY_TLS_CERTCACHE_KEY, b) != NULL,
       "used within inactive: kept");
    fy_current_msec += 10000;
    ok(fy_tls_certcache_find(c, FY_TLS_CERTCACHE_KEY, b) == NULL,
       "unused for inactive: dropped");
    ok(fy_tls_certcache_find(c, FY_TLS_CERTCACHE_KEY, "data:xyz") == NULL,
       "unused for inactive: data: dropped too");

    o = key_obj();
    fy_tls_certcache_add(c, FY_TLS_CERTCACHE_KEY, b, &o);
    /* the pool's cleanup frees what is left (ASan's leak check) */
    fy_pool_destroy(pool);
    unlink(b);
    rmdir(dir);
    return done_testing();
}
