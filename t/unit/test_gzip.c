/*
 * test_gzip.c -- fy_http_gzip_accept (the weight Accept-Encoding gives
 * gzip) and the deflate stream: fed in pieces of every size, flushed
 * midway, finished; chunked and plain; inflated back and compared.  A
 * stream dropped halfway with its pool is the sanitizer build's check
 * that nothing outlives the pool.  The inflate side (gunzip): pieces of
 * every size, several members, corrupt and truncated input.
 */
#include "fy_core.h"
#include "fy_http.h"
#include "fy_http_gzip.h"
#include "fy_tap.h"

#include <zlib.h>

static void
ae(const char *v, unsigned want)
{
    is_int(fy_http_gzip_accept((const u_char *) v, strlen(v)), want,
           "Accept-Encoding \"%s\" gives gzip %u", v, want);
}

/* A request just real enough for the stream: pool, location, version. */
static fy_http_loc_conf_t  loc;
static fy_http_conn_t      hc;

static void
request(fy_http_request_t *r, unsigned version)
{
    memset(r, 0, sizeof(*r));
    r->pool = fy_pool_create(4096);
    r->loc = &loc;
    r->hc = &hc;
    r->http_version = version;
}

/* Undo the chunked framing of out[0..len); -1 if it is not valid or
 * does not end with the last chunk (unless partial: then it may end
 * after any whole chunk). */
static ssize_t
dechunk(u_char *out, size_t len, u_char *to, int partial)
{
    size_t   pos = 0, n = 0, size;
    char    *end;

    for ( ;; ) {
        if (partial && pos == len) {
            return (ssize_t) n;
        }
        size = strtoul((char *) out + pos, &end, 16);
        if (end == (char *) out + pos || memcmp(end, "\r\n", 2) != 0) {
            return -1;
        }
        pos = (size_t) ((u_char *) end - out) + 2;
        if (size == 0) {
            return memcmp(out + pos, "\r\n", 2) == 0 && pos + 2 == len
                   ? (ssize_t) n : -1;
        }
        if (pos + size + 2 > len || memcmp(out + pos + size, "\r\n", 2)) {
            return -1;
        }
        memcpy(to + n, out + pos, size);
        n += size;
        pos += size + 2;
    }
}

static ssize_t
inflate_all(const u_char *in, size_t len, u_char *to, size_t size, int *end)
{
    z_stream  z;
    int       rc;

    memset(&z, 0, sizeof(z));
    if (inflateInit2(&z, 16 + 15) != Z_OK) {
        return -1;
    }
    z.next_in = (Bytef *) (uintptr_t) in;
    z.avail_in = (uInt) len;
    z.next_out = to;
    z.avail_out = (uInt) size;
    rc = inflate(&z, Z_SYNC_FLUSH);
    *end = rc == Z_STREAM_END;
    inflateEnd(&z);
    return rc == Z_OK || rc == Z_STREAM_END || rc == Z_BUF_ERROR
           ? (ssize_t) (size - z.avail_out) : -1;
}

/* Collect what the stream hands out into acc (at *len). */
static int
drain(fy_http_gzip_t *gz, u_char *acc, size_t *len, unsigned *writes)
{
    struct iovec  iov[FY_HTTP_GZIP_IOVS];
    int           n, i;

    while (!fy_http_gzip_wants_input(gz) && !fy_http_gzip_done(gz)) {
        n = fy_http_gzip_deflate(gz, iov);
        if (n < 0) {
            return -1;
        }
        for (i = 0; i < n; i++) {
            memcpy(acc + *len, iov[i].iov_base, iov[i].iov_len);
            *len += iov[i].iov_len;
        }
        *writes += n > 0;
    }
    return 0;
}

static void
stream(const char *name, unsigned version, const u_char *data, size_t size,
       size_t piece, int flush_at_half)
{
    fy_http_request_t  r;
    fy_http_gzip_t    *gz;
    u_char            *acc, *plain, *back;
    size_t             len = 0, pos = 0, k, half_len = 0;
    ssize_t            n;
    unsigned           writes = 0;
    int                end, ok_ = 1;

    request(&r, version);
    acc = malloc(size * 2 + 4096);
    plain = malloc(size * 2 + 4096);
    back = malloc(size + 1);

    gz = fy_http_gzip_start(&r, -1);
    ok(gz != NULL, "%s: stream started", name);
    while (gz && pos < size) {
        k = fy_min(piece, size - pos);
        fy_http_gzip_input(gz, data + pos, k);
        ok_ &= drain(gz, acc, &len, &writes) == 0;
        pos += k;
        if (flush_at_half && pos >= size / 2 && half_len == 0) {
            ok(fy_http_gzip_holds(gz), "%s: it holds input before the flush",
               name);
            fy_http_gzip_flush(gz);
            ok_ &= drain(gz, acc, &len, &writes) == 0;
            ok(!fy_http_gzip_holds(gz), "%s: nothing held after it", name);
            half_len = len;
            /* everything given so far can be inflated already */
            if (version >= 1001) {
                n = dechunk(acc, len, plain, 1);
            } else {
                memcpy(plain, acc, len);
                n = (ssize_t) len;
            }
            n = n < 0 ? -1 : inflate_all(plain, (size_t) n, back, size, &end);
            ok(n == (ssize_t) pos && memcmp(back, data, pos) == 0 && !end,
               "%s: after the flush the first %zu bytes come back", name,
               pos);
        }
    }
    if (gz) {
        fy_http_gzip_finish(gz);
        ok_ &= drain(gz, acc, &len, &writes) == 0;
        ok(fy_http_gzip_done(gz), "%s: done", name);
    }
    ok(ok_, "%s: no deflate error", name);

    if (version >= 1001) {
        n = dechunk(acc, len, plain, 0);
        ok(n >= 0, "%s: valid chunks ending in the last chunk", name);
    } else {
        memcpy(plain, acc, len);
        n = (ssize_t) len;
    }
    n = n < 0 ? -1 : inflate_all(plain, (size_t) n, back, size + 1, &end);
    ok(n == (ssize_t) size && end && memcmp(back, data, size) == 0,
       "%s: %zu bytes inflate back to the original (%zu compressed, %u "
       "writes)", name, size, len, writes);

    fy_pool_destroy(r.pool);
    free(acc);
    free(plain);
    free(back);
}

/* gzip members of data (level 6, default window) into to: the length */
static size_t
gzip_member(const u_char *data, size_t len, u_char *to, size_t size)
{
    z_stream  z;

    memset(&z, 0, sizeof(z));
    if (deflateInit2(&z, 6, Z_DEFLATED, 15 + 16, 8, Z_DEFAULT_STRATEGY)
        != Z_OK)
    {
        return 0;
    }
    z.next_in = (Bytef *) (uintptr_t) data;
    z.avail_in = (uInt) len;
    z.next_out = to;
    z.avail_out = (uInt) size;
    deflate(&z, Z_FINISH);
    deflateEnd(&z);
    return size - z.avail_out;
}

/*
 * The gunzip stream fed gz[0..gzlen) in pieces of `piece` bytes, then
 * finished: its output (dechunked for HTTP/1.1) must be want[0..wlen),
 * or, with `bad`, an error must come before the end.
 */
static void
gunzip(const char *name, unsigned version, const u_char *gz, size_t gzlen,
       size_t piece, const u_char *want, size_t wlen, size_t bufsize,
       int bad)
{
    fy_http_request_t  r;
    fy_http_gzip_t    *s;
    u_char            *acc, *plain;
    size_t             len = 0, pos = 0, k;
    ssize_t            n;
    unsigned           writes = 0;
    int                err = 0;

    request(&r, version);
    /* room for what a broken input decompresses to as well */
    acc = malloc(wlen * 2 + 1024 * 1024);
    plain = malloc(wlen * 2 + 1024 * 1024);
    s = fy_http_gunzip_stream(&r, bufsize);
    ok(s != NULL, "%s: stream started", name);
    while (s && pos < gzlen && !err) {
        k = fy_min(piece, gzlen - pos);
        fy_http_gzip_input(s, gz + pos, k);
        err = drain(s, acc, &len, &writes) != 0;
        pos += k;
    }
    if (s && !err) {
        fy_http_gzip_finish(s);
        err = drain(s, acc, &len, &writes) != 0;
    }
    if (bad) {
        ok(err, "%s: an error before the end", name);
        ok(!fy_http_gzip_done(s), "%s: not done", name);
    } else {
        ok(!err && fy_http_gzip_done(s), "%s: done without error", name);
        if (version >= 1001) {
            n = dechunk(acc, len, plain, 0);
        } else {
            memcpy(plain, acc, len);
            n = (ssize_t) len;
        }
        ok(n == (ssize_t) wlen && memcmp(plain, want, wlen) == 0,
           "%s: the %zu original bytes (%u writes)", name, wlen, writes);
        is_int(r.gzip_out, 0, "%s: no $gzip_ratio", name);
    }
    fy_pool_destroy(r.pool);
    free(acc);
    free(plain);
}

int
main(void)
{
    fy_http_request_t  r;
    fy_http_gzip_t    *gz;
    u_char            *text, *noise, *z, back[4096];
    size_t             i, size = 1024 * 1024, zlen;
    uint32_t           x = 1;
    int                end;

    /* ---- Accept-Encoding ---- */
    ae("gzip", 1000);
    ae("GZip", 1000);
    ae("x-gzip", 1000);
    ae("gzip, deflate, br", 1000);
    ae("deflate,gzip", 1000);
    ae("br;q=1.0, gzip;q=0.8, *;q=0.1", 800);
    ae("gzip;q=0.5", 500);
    ae("gzip;Q=0.25", 250);
    ae("gzip ; q=0.001", 1);
    ae("  gzip  ", 1000);
    ae(",,gzip,,", 1000);
    ae("gzip;q=1", 1000);
    ae("gzip;q=1.000", 1000);
    ae("gzip;q=0", 0);
    ae("gzip;q=0.000", 0);
    ae("gzip;q=0, *", 0);
    ae("*", 1000);
    ae("*;q=0.3", 300);
    ae("*;q=0", 0);
    ae("identity", 0);
    ae("identity;q=0, *", 1000);
    ae("deflate, br", 0);
    ae("", 0);
    ae("gzip, gzip;q=0", 0);
    ae("gzipx", 0);
    ae("xgzip", 0);
    /* malformed: never gzip */
    ae("gzip;q=1.5", 0);
    ae("gzip;q=2", 0);
    ae("gzip;q=0.1234", 0);
    ae("gzip;q=", 0);
    ae("gzip;q", 0);
    ae("gzip;level=1", 0);
    ae("gzip;", 0);
    ae("gzip q=1", 0);
    ae("gzip;q = 1", 0);
    ae("gzip/1", 0);
    ae("deflate;q=x, gzip", 0);
    ae("gzip, \"br\"", 0);
    ae("gzip\x01", 0);

    /* ---- the stream ---- */
    memset(&hc, 0, sizeof(hc));
    strcpy(hc.addr_text, "test");
    memset(&loc, 0, sizeof(loc));
    loc.chunked_transfer_encoding = 1;      /* the default */
    fy_http_gzip_init_conf(&loc.gzip);
    fy_http_gzip_merge_conf(&loc.gzip, &loc.gzip);
    is_int(loc.gzip.bufs.num * loc.gzip.bufs.size, 16384,
           "default output buffer 16 KiB");
    is_int(loc.gzip.gunzip_bufs.num * loc.gzip.gunzip_bufs.size, 16384,
           "default gunzip output buffer 16 KiB");
    is_int(loc.gzip.gunzip, 0, "gunzip off by default");
    is_int(loc.gzip.window, 8192, "default gzip_window 8k");
    is_int(loc.gzip.hash, 16384, "default gzip_hash 16k");

    text = malloc(size);
    noise = malloc(size);
    for (i = 0; i < size; i++) {
        text[i] = (u_char) "the quick brown fox jumps over the lazy dog\n"
                  [i % 44];
        x = x * 1103515245 + 12345;
        noise[i] = (u_char) (x >> 16);
    }

    stream("text, 16 KiB pieces, chunked", 1001, text, size, 16384, 0);
    stream("text, 1-byte pieces, chunked", 1001, text, 5000, 1, 0);
    stream("text, 7 KiB pieces, HTTP/1.0", 1000, text, size, 7000, 0);
    stream("noise, 16 KiB pieces, chunked", 1001, noise, size, 16384, 0);
    stream("noise, flushed halfway, HTTP/1.0", 1000, noise, 300000, 4096,
           1);
    stream("text, flushed halfway, chunked", 1001, text, 300000, 4096, 1);
    stream("empty body, chunked", 1001, text, 0, 1, 0);

    loc.gzip.level = 9;
    loc.gzip.bufs.num = 1;
    loc.gzip.bufs.size = 512;
    loc.gzip.window = 512;
    loc.gzip.hash = 512;
    stream("level 9, 512-byte buffer and window", 1001, noise, 100000, 3000,
           0);
    loc.gzip.level = 1;
    loc.gzip.bufs.num = 4;
    loc.gzip.bufs.size = 4096;
    loc.gzip.window = 8192;
    loc.gzip.hash = 16384;

    /* a whole body at once */
    request(&r, 1001);
    ok(fy_http_gzip_buffer(&r, text, 3000, &z, &zlen) == FY_OK,
       "a 3000-byte body compressed in one go");
    ok(zlen < 3000 && inflate_all(z, zlen, back, sizeof(back), &end) == 3000
       && end && memcmp(back, text, 3000) == 0,
       "... to %zu bytes that inflate back", zlen);
    fy_pool_destroy(r.pool);

    /* dropped halfway: the pool takes everything with it (the sanitizer
     * build's leak check has the last word) */
    request(&r, 1001);
    gz = fy_http_gzip_start(&r, -1);
    fy_http_gzip_input(gz, noise, 100000);
    {
        struct iovec  iov[FY_HTTP_GZIP_IOVS];
        int           n = fy_http_gzip_deflate(gz, iov);

        ok(n > 0, "a stream with output on its way");
    }
    fy_pool_destroy(r.pool);
    ok(1, "... dropped with its pool");

    /* ---- the inflate side (gunzip) ---- */
    {
        size_t   glen, g2len, tlen = 300000;
        u_char  *g = malloc(tlen + 65536), *both = malloc(2 * tlen),
                *cat = malloc(2 * tlen + 65536), *bad;

        glen = gzip_member(text, tlen, g, tlen + 65536);
        ok(glen > 0 && glen < tlen, "a %zu-byte member", glen);
        gunzip("gunzip, 16 KiB pieces, chunked", 1001, g, glen, 16384, text,
               tlen, 131072, 0);
        gunzip("gunzip, 1-byte pieces, 512-byte buffer", 1001, g, glen, 1,
               text, tlen, 512, 0);
        gunzip("gunzip, 7000-byte pieces, HTTP/1.0", 1000, g, glen, 7000,
               text, tlen, 4096, 0);
        g2len = gzip_member(noise, 100000, g + glen, 65536 + tlen - glen);
        memcpy(both, text, tlen);
        memcpy(both + tlen, noise, 100000);
        gunzip("gunzip, two members, 3-byte pieces", 1001, g, glen + g2len, 3,
               both, tlen + 100000, 4096, 0);
        gunzip("gunzip, two members, one piece", 1001, g, glen + g2len,
               glen + g2len, both, tlen + 100000, 131072, 0);
        /* a member ending exactly where a piece does */
        gunzip("gunzip, two members, pieces at the boundary", 1001, g,
               glen + g2len, glen, both, tlen + 100000, 131072, 0);
        gunzip("gunzip, empty body", 1001, g, 0, 1, text, 0, 4096, 0);

        gunzip("gunzip, truncated", 1001, g, glen / 2, 4096, NULL, 0, 4096,
               1);
        gunzip("gunzip, truncated in the trailer", 1001, g, glen - 3, 4096,
               NULL, 0, 4096, 1);
        memcpy(cat, g, glen);
        memcpy(cat + glen, "garbage!", 8);
        gunzip("gunzip, garbage after the member", 1001, cat, glen + 8, 4096,
               NULL, 0, 4096, 1);
        bad = cat;
        memcpy(bad, g, glen);
        memset(bad + glen / 2, 'x', 64);
        gunzip("gunzip, corrupt data", 1001, bad, glen, 4096, NULL, 0, 4096,
               1);
        gunzip("gunzip, not gzip at all", 1001, text, 1000, 4096, NULL, 0,
               4096, 1);

        /* dropped halfway with its pool */
        request(&r, 1001);
        gz = fy_http_gunzip_stream(&r, 4096);
        fy_http_gzip_input(gz, g, glen / 2);
        {
            struct iovec  iov[FY_HTTP_GZIP_IOVS];

            ok(fy_http_gzip_deflate(gz, iov) > 0,
               "a gunzip stream with output on its way");
        }
        fy_pool_destroy(r.pool);
        ok(1, "... dropped with its pool");
        free(g);
        free(both);
        free(cat);
    }

    free(text);
    free(noise);
    return done_testing();
}
