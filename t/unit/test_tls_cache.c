/*
 * test_tls_cache.c -- the shared session cache's store on plain memory:
 * put/get/replace/delete, expiry, size limits, and the ring under many
 * records of mixed sizes (the newest always found and intact, the
 * oldest dropped, the count agreeing with what can be found).
 */

#include "fy_core.h"
#include "fy_tls_cache.h"
#include "fy_tap.h"

#define ZONE  (64 * 1024)

static uint64_t  mem[(256 * 1024) / 8];

static void
make_id(u_char *id, unsigned n)
{
    unsigned  i;

    for (i = 0; i < 32; i++) {
        id[i] = (u_char) (n * 31 + i * 7 + (n >> 8));
    }
    memcpy(id, &n, sizeof(n));
}

/* the DER of session n: its length depends on n, its bytes on n too */
static size_t
make_der(u_char *der, unsigned n, size_t len)
{
    size_t  i;

    for (i = 0; i < len; i++) {
        der[i] = (u_char) (n + i * 13);
    }
    return len;
}

int
main(void)
{
    fy_tls_cache_t  *c = (fy_tls_cache_t *) mem;
    u_char           id[32], der[4096], out[4096];
    ssize_t          n;
    size_t           len;
    unsigned         i, found, bad, newest_ok, live;
    int64_t          now = 1000000;

    ok(fy_tls_cache_init(mem, 16 * 1024, "t") == FY_ERROR,
       "a zone below 32k is refused");
    ok(fy_tls_cache_init(mem, ZONE, "t") == FY_OK, "64k zone");
    is_int(fy_tls_cache_count(c), 0, "empty");

    make_id(id, 1);
    len = make_der(der, 1, 150);
    is_int(fy_tls_cache_get(c, id, 32, out, sizeof(out), now), -1,
           "missing id: not found");
    is_int(fy_tls_cache_put(c, id, 32, der, len, now + 300, now), FY_OK,
           "put");
    n = fy_tls_cache_get(c, id, 32, out, sizeof(out), now);
    is_int(n, 150, "get: its length");
    ok(n == 150 && memcmp(out, der, 150) == 0, "get: its bytes");
    is_int(fy_tls_cache_get(c, id, 31, out, sizeof(out), now), -1,
           "a prefix of the id is another id");
    is_int(fy_tls_cache_get(c, id, 32, out, 100, now), -1,
           "a buffer too small gets nothing");

    len = make_der(der, 2, 90);
    fy_tls_cache_put(c, id, 32, der, len, now + 300, now);
    n = fy_tls_cache_get(c, id, 32, out, sizeof(out), now);
    ok(n == 90 && memcmp(out, der, 90) == 0, "put again: replaced");
    is_int(fy_tls_cache_count(c), 1, "one record");

    fy_tls_cache_del(c, id, 32);
    is_int(fy_tls_cache_get(c, id, 32, out, sizeof(out), now), -1,
           "deleted");
    is_int(fy_tls_cache_count(c), 0, "none left");

    fy_tls_cache_put(c, id, 32, der, len, now + 300, now);
    is_int(fy_tls_cache_get(c, id, 32, out, sizeof(out), now + 299), 90,
           "found just before it expires");
    is_int(fy_tls_cache_get(c, id, 32, out, sizeof(out), now + 300), -1,
           "expired: not found");
    is_int(fy_tls_cache_count(c), 0, "and dropped");
    is_int(fy_tls_cache_put(c, id, 32, der, len, now, now), FY_DECLINED,
           "already expired: not stored");
    is_int(fy_tls_cache_put(c, id, 32, der, 4097, now + 9, now),
           FY_DECLINED, "larger than 4096 bytes: not stored");
    is_int(fy_tls_cache_put(c, id, 33, der, 10, now + 9, now),
           FY_DECLINED, "an id longer than 32 bytes: not stored");

    /* many records of mixed sizes: the ring wraps hundreds of times */
    newest_ok = 1;
    for (i = 100; i < 20100; i++) {
        make_id(id, i);
        len = make_der(der, i, 40 + (i * 37) % 2000);
        if (fy_tls_cache_put(c, id, 32, der, len, now + 300, now) != FY_OK) {
            newest_ok = 0;
            break;
        }
        n = fy_tls_cache_get(c, id, 32, out, sizeof(out), now);
        if (n != (ssize_t) len || memcmp(out, der, len) != 0) {
            newest_ok = 0;
            break;
        }
    }
    ok(newest_ok, "20000 puts: each found intact right after");

    found = bad = 0;
    for (i = 100; i < 20100; i++) {
        make_id(id, i);
        len = make_der(der, i, 40 + (i * 37) % 2000);
        n = fy_tls_cache_get(c, id, 32, out, sizeof(out), now);
        if (n >= 0) {
            found++;
            if (n != (ssize_t) len || memcmp(out, der, len) != 0) {
                bad++;
            }
        }
    }
    live = fy_tls_cache_count(c);
    ok(found > 20 && found < 200, "the newest records are kept (%u)", found);
    is_int(bad, 0, "every record found is intact");
    is_int(live, found, "the count agrees with what can be found");
    make_id(id, 20099);
    ok(fy_tls_cache_get(c, id, 32, out, sizeof(out), now) > 0,
       "the last one is there");
    make_id(id, 100);
    is_int(fy_tls_cache_get(c, id, 32, out, sizeof(out), now), -1,
           "the first one is gone");

    /* small sessions in a bigger zone: about 4000 per megabyte */
    ok(fy_tls_cache_init(mem, sizeof(mem), "t") == FY_OK, "256k zone");
    for (i = 0; i < 5000; i++) {
        make_id(id, i);
        len = make_der(der, i, 150);
        fy_tls_cache_put(c, id, 32, der, len, now + 300, now);
    }
    ok(fy_tls_cache_count(c) > 1000, "256k keeps over 1000 sessions of "
       "150 bytes (%u)", fy_tls_cache_count(c));

    return done_testing();
}
