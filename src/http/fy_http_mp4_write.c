/*
 * fy_http_mp4_write.c -- the writing half of the mp4 module's moov
 * rewriter: a new trak (tkhd and mdhd with the new durations, the edit
 * list of mp4_start_key_frame, minf copied but for its stbl) and its
 * stbl (stsd copied; stts, stss, ctts, stsz sliced to [s0, s1); stsc
 * and stco/co64 from fy_mp4_chunks) through a writer that checks its
 * room on every write.  fy_mp4_cut (fy_http_mp4_parse.c) has read and
 * checked the tables and picked the samples first.
 */
#include "fy_core.h"
#include "fy_http_mp4.h"

u_char *
fy_mp4_w(fy_mp4_w_t *w, size_t n)
{
    u_char  *p;

    if (w->failed || n > w->cap - w->len) {
        w->failed = 1;
        return NULL;
    }
    p = w->buf + w->len;
    w->len += n;
    return p;
}

/* An atom's 8-byte header; its size is set by fy_mp4_close.  Where it
 * is, or SIZE_MAX when it did not fit. */
size_t
fy_mp4_open(fy_mp4_w_t *w, const char *name)
{
    u_char  *p = fy_mp4_w(w, 8);

    if (p == NULL) {
        return SIZE_MAX;
    }
    memcpy(p + 4, name, 4);
    return (size_t) (p - w->buf);
}

void
fy_mp4_close(fy_mp4_w_t *w, size_t at)
{
    if (!w->failed && at != SIZE_MAX) {
        fy_mp4_put32(w->buf + at, (uint32_t) (w->len - at));
    }
}

u_char *
fy_mp4_copy(fy_mp4_w_t *w, const fy_mp4_box_t *b)
{
    u_char  *p = fy_mp4_w(w, b->len);

    if (p) {
        memcpy(p, b->p, b->len);
    }
    return p;
}

/* A full atom's header and its version/flags copied from b, then a
 * count: the table follows.  NULL: no room. */
static u_char *
fy_mp4_table_head(fy_mp4_w_t *w, const fy_mp4_box_t *b, uint32_t n,
                  size_t *at)
{
    u_char  *p;

    *at = fy_mp4_open(w, (const char *) b->p + 4);
    p = fy_mp4_w(w, 8);
    if (p) {
        memcpy(p, b->p + b->hdr, 4);
        fy_mp4_put32(p + 4, n);
    }
    return p;
}

/* The entries of stts or ctts (count, value) for the samples [s0, s1). */
static const char *
fy_mp4_write_runs(fy_mp4_w_t *w, const fy_mp4_box_t *b, const u_char *e,
                  uint32_t ne, uint32_t s0, uint32_t s1)
{
    uint64_t  n = 0, count, lo, hi;
    uint32_t  i, out = 0;
    size_t    at;
    u_char   *head, *p;

    head = fy_mp4_table_head(w, b, 0, &at);
    for (i = 0; i < ne && n < s1; i++, n += count) {
        count = fy_mp4_get32(e + 8 * i);
        lo = n > s0 ? n : s0;
        hi = n + count < s1 ? n + count : s1;
        if (hi <= lo) {
            continue;
        }
        p = fy_mp4_w(w, 8);
        if (p == NULL) {
            return "mp4 output too large";
        }
        fy_mp4_put32(p, (uint32_t) (hi - lo));
        memcpy(p + 4, e + 8 * i + 4, 4);
        out++;
    }
    if (head == NULL) {
        return "mp4 output too large";
    }
    fy_mp4_put32(head + 4, out);
    fy_mp4_close(w, at);
    return NULL;
}

static const char *
fy_mp4_write_stbl(fy_mp4_w_t *w, fy_mp4_trak_t *t, uint64_t base,
                  uint64_t limit)
{
    const char  *err;
    uint32_t     i, v, n, nsamples = t->s1 - t->s0;
    size_t       stbl, at;
    u_char      *head, *p;

    stbl = fy_mp4_open(w, "stbl");
    if (t->stsd.p && fy_mp4_copy(w, &t->stsd) == NULL) {
        return "mp4 output too large";
    }
    err = fy_mp4_write_runs(w, &t->stts, t->stts_e, t->stts_n, t->s0, t->s1);
    if (err) {
        return err;
    }
    if (t->stss.p) {
        head = fy_mp4_table_head(w, &t->stss, 0, &at);
        for (i = 0, n = 0; i < t->stss_n; i++) {
            v = fy_mp4_get32(t->stss_e + 4 * i);
            if (v <= t->s0 || v > t->s1) {
                continue;
            }
            p = fy_mp4_w(w, 4);
            if (p == NULL) {
                return "mp4 output too large";
            }
            fy_mp4_put32(p, v - t->s0);
            n++;
        }
        if (head == NULL) {
            return "mp4 output too large";
        }
        fy_mp4_put32(head + 4, n);
        fy_mp4_close(w, at);
    }
    if (t->ctts.p) {
        err = fy_mp4_write_runs(w, &t->ctts, t->ctts_e, t->ctts_n, t->s0,
                                t->s1);
        if (err) {
            return err;
        }
    }

    /* stsc: at most 2 entries more than it had (the first and last
     * chunks cut) */
    head = fy_mp4_table_head(w, &t->stsc, 0, &at);
    p = fy_mp4_w(w, ((size_t) t->stsc_n + 2) * 12);
    if (head == NULL || p == NULL) {
        return "mp4 output too large";
    }
    n = t->stsc_n + 2;
    err = fy_mp4_chunks(t, 1, p, &n, base, limit);
    if (err) {
        return err;
    }
    w->len = (size_t) (p - w->buf) + (size_t) n * 12;
    fy_mp4_put32(head + 4, n);
    fy_mp4_close(w, at);

    /* stsz: version/flags, the common size, the count, the sizes */
    at = fy_mp4_open(w, "stsz");
    p = fy_mp4_w(w, 12 + (t->sample_size ? 0 : (size_t) nsamples * 4));
    if (p == NULL) {
        return "mp4 output too large";
    }
    memcpy(p, t->stsz.p + t->stsz.hdr, 8);
    fy_mp4_put32(p + 8, nsamples);
    if (t->sample_size == 0) {
        memcpy(p + 12, t->stsz_e + (size_t) t->s0 * 4,
               (size_t) nsamples * 4);
    }
    fy_mp4_close(w, at);

    /* stco / co64: never more chunks than it had */
    head = fy_mp4_table_head(w, &t->stco, 0, &at);
    p = fy_mp4_w(w, (size_t) t->stco_n * (t->co64 ? 8 : 4));
    if (head == NULL || p == NULL) {
        return "mp4 output too large";
    }
    n = t->stco_n;
    err = fy_mp4_chunks(t, 2, p, &n, base, limit);
    if (err) {
        return err;
    }
    w->len = (size_t) (p - w->buf) + (size_t) n * (t->co64 ? 8 : 4);
    t->stco_out = p;
    t->stco_out_n = n;
    fy_mp4_put32(head + 4, n);
    fy_mp4_close(w, at);

    fy_mp4_close(w, stbl);
    return NULL;
}

/* Durations: version 1 atoms hold 64 bits, version 0 32 (saturated). */
void
fy_mp4_set_duration(u_char *atom, size_t hdr, size_t at0, size_t at1,
                    uint64_t d)
{
    if (atom[hdr] == 1) {
        fy_mp4_put64(atom + hdr + at1, d);
    } else {
        fy_mp4_put32(atom + hdr + at0, d > UINT32_MAX ? UINT32_MAX
                                                      : (uint32_t) d);
    }
}

const char *
fy_mp4_write_trak(fy_mp4_w_t *w, fy_mp4_trak_t *t, uint32_t movie_scale,
                  uint64_t base, uint64_t limit)
{
    const u_char  *p, *end;
    const char    *err;
    fy_mp4_box_t   b;
    uint64_t       shown;
    size_t         trak, mdia, minf, edts, elst;
    u_char        *o;

    /* the time shown, in the movie's timescale */
    shown = (uint64_t) ((unsigned __int128) (t->duration - t->prefix)
                        * movie_scale / t->timescale);

    trak = fy_mp4_open(w, "trak");
    o = fy_mp4_copy(w, &t->tkhd);
    if (o == NULL) {
        return "mp4 output too large";
    }
    fy_mp4_set_duration(o, t->tkhd.hdr, 20, 28, shown);

    if (t->prefix) {
        /* the samples from the key frame to the start: played, not
         * shown (one edit from media time "prefix", rate 1) */
        edts = fy_mp4_open(w, "edts");
        elst = fy_mp4_open(w, "elst");
        o = fy_mp4_w(w, 28);
        if (o == NULL) {
            return "mp4 output too large";
        }
        fy_mp4_put32(o, 0x01000000);            /* version 1 */
        fy_mp4_put32(o + 4, 1);
        fy_mp4_put64(o + 8, shown);
        fy_mp4_put64(o + 16, t->prefix);
        fy_mp4_put32(o + 24, 0x00010000);       /* rate 1.0 */
        fy_mp4_close(w, elst);
        fy_mp4_close(w, edts);
    }

    mdia = fy_mp4_open(w, "mdia");
    o = fy_mp4_copy(w, &t->mdhd);
    if (o == NULL || (t->hdlr.p && fy_mp4_copy(w, &t->hdlr) == NULL)) {
        return "mp4 output too large";
    }
    fy_mp4_set_duration(o, t->mdhd.hdr, 16, 24, t->duration);

    minf = fy_mp4_open(w, "minf");
    for (p = t->minf.p + t->minf.hdr, end = t->minf.p + t->minf.len;
         fy_mp4_next(&p, end, &b) == 1; )
    {
        if (fy_mp4_is(&b, "stbl")) {
            err = fy_mp4_write_stbl(w, t, base, limit);
            if (err) {
                return err;
            }
        } else if (fy_mp4_copy(w, &b) == NULL) {
            return "mp4 output too large";
        }
    }
    fy_mp4_close(w, minf);
    fy_mp4_close(w, mdia);
    fy_mp4_close(w, trak);
    return w->failed ? "mp4 output too large" : NULL;
}
