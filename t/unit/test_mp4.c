/*
 * test_mp4.c -- the mp4 module's moov rewriter (fy_mp4_cut) and atom
 * header reader (fy_mp4_atom_header) on a moov built here: one track,
 * timescale 10, 6 samples of 1 s (sizes 10..15), sync samples 1 and 4,
 * 2 samples a chunk at 1000, 2000 and 3000.  The samples cut, the file
 * range, the chunk offsets moved, the edit list of mp4_start_key_frame;
 * errors for corrupt tables; every truncation of the moov refused.
 */
#include "fy_core.h"
#include "fy_pool.h"
#include "fy_http_mp4.h"
#include "fy_tap.h"

typedef struct {
    u_char  b[4096];
    size_t  n;
} buf_t;

static void
p32(buf_t *b, uint32_t v)
{
    b->b[b->n++] = (u_char) (v >> 24);
    b->b[b->n++] = (u_char) (v >> 16);
    b->b[b->n++] = (u_char) (v >> 8);
    b->b[b->n++] = (u_char) v;
}

static uint32_t
g32(const u_char *p)
{
    return (uint32_t) p[0] << 24 | (uint32_t) p[1] << 16
           | (uint32_t) p[2] << 8 | p[3];
}

static size_t
open_box(buf_t *b, const char *name)
{
    size_t  at = b->n;

    p32(b, 0);
    memcpy(b->b + b->n, name, 4);
    b->n += 4;
    return at;
}

static void
close_box(buf_t *b, size_t at)
{
    size_t  n = b->n;

    b->n = at;
    p32(b, (uint32_t) (n - at));
    b->n = n;
}

/* a full atom: name, version/flags 0, then n 32-bit values */
static void
full(buf_t *b, const char *name, int n, const uint32_t *v)
{
    size_t  at = open_box(b, name);
    int     i;

    p32(b, 0);
    for (i = 0; i < n; i++) {
        p32(b, v[i]);
    }
    close_box(b, at);
}

/* the moov described above; stsc_first: stsc's first chunk (1) */
static size_t
build(buf_t *b, uint32_t stsc_first, uint32_t stco_n, uint32_t mvhd_scale)
{
    static const uint32_t  tkhd[] = { 0, 0, 1, 0, 60, 0, 0, 0, 0, 0, 0, 0,
                                      0, 0, 0, 0, 0, 0, 0, 0 };
    static const uint32_t  stts[] = { 1, 6, 10 };
    static const uint32_t  stss[] = { 2, 1, 4 };
    static const uint32_t  stsz[] = { 0, 6, 10, 11, 12, 13, 14, 15 };
    uint32_t               mvhd[24] = { 0, 0, 1000, 6000 };
    uint32_t               mdhd[] = { 0, 0, 10, 60, 0 };
    uint32_t               stsc[] = { 1, 1, 2, 1 };
    uint32_t               stco[] = { 3, 1000, 2000, 3000 };
    size_t                 moov, trak, mdia, minf, stbl;

    mvhd[2] = mvhd_scale;
    stsc[1] = stsc_first;
    stco[0] = stco_n;
    b->n = 0;
    moov = open_box(b, "moov");
    full(b, "mvhd", 24, mvhd);
    trak = open_box(b, "trak");
    full(b, "tkhd", 20, tkhd);
    mdia = open_box(b, "mdia");
    full(b, "mdhd", 5, mdhd);
    minf = open_box(b, "minf");
    stbl = open_box(b, "stbl");
    full(b, "stts", 3, stts);
    full(b, "stss", 3, stss);
    full(b, "stsc", 4, stsc);
    full(b, "stsz", 8, stsz);
    full(b, "stco", 4, stco);
    close_box(b, stbl);
    close_box(b, minf);
    close_box(b, mdia);
    close_box(b, trak);
    close_box(b, moov);
    return b->n;
}

/* Where atom name is in out (its header), or NULL. */
static const u_char *
find(const u_char *out, size_t len, const char *name)
{
    size_t  i;

    for (i = 4; i + 4 <= len; i++) {
        if (memcmp(out + i, name, 4) == 0) {
            return out + i - 4;
        }
    }
    return NULL;
}

/* fy_mp4_cut on a copy of exactly len bytes (ASan sees reads past it) */
static int
cut(const u_char *moov, size_t len, uint64_t start, uint64_t length,
    int key, u_char **out, size_t *out_len, uint64_t *s, uint64_t *e,
    const char **err, fy_pool_t *pool)
{
    fy_mp4_cut_t  c;
    u_char       *copy = malloc(len ? len : 1);
    int           rc;

    memcpy(copy, moov, len);
    memset(&c, 0, sizeof(c));
    c.start = start;
    c.length = length;
    c.key_frame = key;
    c.mdat_data = 500;
    c.mdat_end = 5000;
    rc = fy_mp4_cut(pool, NULL, 0, copy, len, &c, out, out_len, s, e, err);
    free(copy);
    return rc;
}

int
main(void)
{
    static const u_char  h64[16] = { 0, 0, 0, 1, 'm', 'd', 'a', 't',
                                     0, 0, 0, 1, 0, 0, 0, 0 };
    fy_pool_t     *pool = fy_pool_create(4096);
    buf_t          b;
    const u_char  *a;
    const char    *err;
    u_char        *out;
    size_t         len, olen, hdr, i;
    uint64_t       s, e, size;
    int            rc, bad;

    /* atom headers */
    is_int(fy_mp4_atom_header((const u_char *) "\0\0\0\x10moov", 8, &size,
                              &hdr), FY_OK, "a 32-bit size");
    ok(size == 16 && hdr == 8, "... 16 bytes, header 8");
    is_int(fy_mp4_atom_header(h64, 16, &size, &hdr), FY_OK, "a 64-bit size");
    ok(size == 4294967296ULL && hdr == 16, "... 2^32, header 16");
    is_int(fy_mp4_atom_header(h64, 12, &size, &hdr), FY_AGAIN,
           "a 64-bit size not all there: more bytes");
    is_int(fy_mp4_atom_header((const u_char *) "\0\0\0\0mdat", 8, &size,
                              &hdr), FY_OK, "size 0 (to the end)");
    ok(size == 0, "... says 0");
    is_int(fy_mp4_atom_header((const u_char *) "\0\0\0\x07mdat", 8, &size,
                              &hdr), FY_ERROR, "a size below the header");
    is_int(fy_mp4_atom_header((const u_char *) "\0\0\0\x10moo", 7, &size,
                              &hdr), FY_AGAIN, "7 bytes: more needed");

    len = build(&b, 1, 3, 1000);

    /* start 2.5 s: sample 2 (the first of the second chunk) */
    rc = cut(b.b, len, 2500, 0, 0, &out, &olen, &s, &e, &err, pool);
    is_int(rc, FY_OK, "start 2.5 s");
    ok(s == 2000 && e == 3000 + 14 + 15, "... the file's bytes 2000-3029 "
       "(got %llu-%llu)", (unsigned long long) s, (unsigned long long) e);
    a = find(out, olen, "stco");
    ok(a && g32(a + 12) == 2 && g32(a + 16) == olen
       && g32(a + 20) == 1000 + olen, "... 2 chunks, at the mdat's data "
       "and 1000 after");
    a = find(out, olen, "stsz");
    ok(a && g32(a + 16) == 4 && g32(a + 20) == 12, "... 4 samples, the "
       "first of 12 bytes");
    a = find(out, olen, "stss");
    ok(a && g32(a + 12) == 1 && g32(a + 16) == 2, "... stss: sample 4 is "
       "the second now");
    a = find(out, olen, "mvhd");
    ok(a && g32(a + 24) == 3500, "... mvhd: 6 s - 2.5 s");
    a = find(out, olen, "mdat");
    ok(a && a + 8 == out + olen && g32(a) == 8 + 1029, "... the mdat "
       "header last, for the 1029 bytes");
    ok(find(out, olen, "elst") == NULL, "... no edit list");

    /* mp4_start_key_frame: 5.5 s is sample 5, its sync sample 3 (0-based) */
    rc = cut(b.b, len, 5500, 0, 1, &out, &olen, &s, &e, &err, pool);
    ok(rc == FY_OK && s == 2012, "key frame: from sample 3, byte 2012");
    a = find(out, olen, "elst");
    ok(a && g32(a + 12) == 1 && g32(a + 24) == 0 && g32(a + 28) == 20,
       "... an edit list hiding 2 s (20 in the track's timescale)");
    a = find(out, olen, "stsc");
    ok(a && g32(a + 12) == 2 && g32(a + 16) == 1 && g32(a + 20) == 1
       && g32(a + 28) == 2 && g32(a + 32) == 2, "... stsc: a first chunk "
       "of 1, then 2");

    /* length */
    rc = cut(b.b, len, 0, 1500, 0, &out, &olen, &s, &e, &err, pool);
    ok(rc == FY_OK && s == 1000 && e == 1021, "start 0, length 1.5 s: "
       "samples 0 and 1");

    /* errors */
    rc = cut(b.b, len, 7000, 0, 0, &out, &olen, &s, &e, &err, pool);
    ok(rc == FY_ERROR && err
       && strcmp(err, "mp4 start time exceeds file duration") == 0,
       "a start past the duration");
    rc = cut(b.b, len, 6000, 0, 0, &out, &olen, &s, &e, &err, pool);
    ok(rc == FY_ERROR && err && strstr(err, "stts"), "a start at the end: "
       "past the samples");
    len = build(&b, 0, 3, 1000);
    rc = cut(b.b, len, 0, 0, 0, &out, &olen, &s, &e, &err, pool);
    ok(rc == FY_ERROR && err && strcmp(err, "mp4 stsc atom is corrupt") == 0,
       "stsc's first chunk 0");
    len = build(&b, 1, 1000, 1000);
    rc = cut(b.b, len, 0, 0, 0, &out, &olen, &s, &e, &err, pool);
    ok(rc == FY_ERROR && err && strcmp(err, "mp4 stco atom too small") == 0,
       "stco counting more than it holds");
    len = build(&b, 1, 2, 1000);
    rc = cut(b.b, len, 0, 0, 0, &out, &olen, &s, &e, &err, pool);
    ok(rc == FY_ERROR && err && strstr(err, "fewer samples"),
       "chunks for fewer samples than stsz");
    len = build(&b, 1, 3, 0);
    rc = cut(b.b, len, 0, 0, 0, &out, &olen, &s, &e, &err, pool);
    ok(rc == FY_ERROR && err && strstr(err, "timescale is zero"),
       "mvhd timescale 0");

    /* every moov cut short is refused, never read past */
    len = build(&b, 1, 3, 1000);
    for (i = 0, bad = 0; i < len; i++) {
        /* the moov's own size says len: make it say i */
        u_char  t[4096];

        memcpy(t, b.b, i);
        if (i >= 4) {
            t[0] = (u_char) (i >> 24);
            t[1] = (u_char) (i >> 16);
            t[2] = (u_char) (i >> 8);
            t[3] = (u_char) i;
        }
        err = NULL;
        rc = cut(t, i, 0, 0, 0, &out, &olen, &s, &e, &err, pool);
        bad += rc != FY_ERROR || err == NULL;
    }
    is_int(bad, 0, "each of the %zu truncations of the moov is an error "
           "with a reason", len);

    fy_pool_destroy(pool);
    return done_testing();
}
