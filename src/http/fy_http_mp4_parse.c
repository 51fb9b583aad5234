/*
 * fy_http_mp4_parse.c -- the moov rewriter of nginx's mp4 module: from
 * the moov atom of an MP4 (ISO BMFF) file and a time range, a new moov
 * whose tracks hold only the samples of that range, and the part of the
 * mdat atom they are in.
 *
 * For each track (trak): the sample table (stbl) is cut to the samples
 * [s0, s1): the first is the one playing at the start time, or with
 * mp4_start_key_frame the sync sample (stss) at or before it, the
 * samples between hidden by an edit list (edts/elst) as nginx does; the
 * last is the last one starting before start + length.  stts, ctts,
 * stss, stsz are sliced; stsc and stco/co64 are rebuilt for the chunks
 * that hold kept samples (the first and last chunks partly); tkhd,
 * mdhd and mvhd get the new durations.  As nginx: only the atoms it
 * knows are kept (moov: mvhd and the traks; trak: tkhd and mdia; mdia:
 * mdhd, hdlr, minf; minf: all but stbl as they are; stbl: the tables
 * above and stsd), a start past the movie or a track is an error.
 *
 * The file is untrusted: every size, count and index is checked against
 * the bytes it claims before it is read; sums are kept in 64 bits and
 * checked against the mdat atom.  Nothing here reads the file: the
 * caller gives the atoms' bytes and where the mdat's data lies.  This
 * file reads and cuts; fy_http_mp4_write.c writes the new atoms.
 */
#include "fy_core.h"
#include "fy_http_mp4.h"

int
fy_mp4_atom_header(const u_char *p, size_t avail, uint64_t *size,
                   size_t *hdr)
{
    uint64_t  s;

    if (avail < 8) {
        return FY_AGAIN;
    }
    s = fy_mp4_get32(p);
    *hdr = 8;
    if (s == 1) {
        if (avail < 16) {
            return FY_AGAIN;
        }
        s = fy_mp4_get64(p + 8);
        *hdr = 16;
    }
    if (s != 0 && s < *hdr) {
        return FY_ERROR;
    }
    *size = s;
    return FY_OK;
}

/* The next child atom in [*p, end): 1 (in *b, *p moved past it), 0 at
 * the end, -1 for one that does not fit. */
int
fy_mp4_next(const u_char **p, const u_char *end, fy_mp4_box_t *b)
{
    uint64_t  size;
    size_t    avail = (size_t) (end - *p);

    if (avail == 0) {
        return 0;
    }
    if (fy_mp4_atom_header(*p, avail, &size, &b->hdr) != FY_OK) {
        return -1;
    }
    if (size == 0) {
        size = avail;           /* to the end of its parent */
    }
    if (size > avail) {
        return -1;
    }
    b->p = *p;
    b->len = (size_t) size;
    *p += size;
    return 1;
}

int
fy_mp4_is(const fy_mp4_box_t *b, const char *name)
{
    return memcmp(b->p + 4, name, 4) == 0;
}

/* A full atom's table: after version/flags and "skip" more bytes, a
 * 32-bit count then count entries of esize bytes, all inside b. */
static int
fy_mp4_table(const fy_mp4_box_t *b, size_t skip, size_t esize,
             const u_char **e, uint32_t *n)
{
    size_t  at = b->hdr + 4 + skip;

    if (b->len < at + 4) {
        return FY_ERROR;
    }
    *n = fy_mp4_get32(b->p + at);
    if ((uint64_t) *n * esize > b->len - at - 4) {
        return FY_ERROR;
    }
    *e = b->p + at + 4;
    return FY_OK;
}

/* ---- reading a trak ---- */

static const char *
fy_mp4_read_stbl(fy_mp4_trak_t *t, const fy_mp4_box_t *stbl)
{
    const u_char  *p = stbl->p + stbl->hdr, *end = stbl->p + stbl->len;
    fy_mp4_box_t   b, *slot;
    int            rc;

    while ((rc = fy_mp4_next(&p, end, &b)) == 1) {
        slot = fy_mp4_is(&b, "stsd") ? &t->stsd
               : fy_mp4_is(&b, "stts") ? &t->stts
               : fy_mp4_is(&b, "stss") ? &t->stss
               : fy_mp4_is(&b, "ctts") ? &t->ctts
               : fy_mp4_is(&b, "stsc") ? &t->stsc
               : fy_mp4_is(&b, "stsz") ? &t->stsz
               : fy_mp4_is(&b, "stco") || fy_mp4_is(&b, "co64") ? &t->stco
               : NULL;
        if (slot == NULL) {
            continue;           /* sgpd, sbgp, sdtp...: dropped, as nginx */
        }
        if (slot->p) {
            return "duplicate mp4 stbl table atom";
        }
        *slot = b;
        if (slot == &t->stco) {
            t->co64 = fy_mp4_is(&b, "co64");
        }
    }
    if (rc < 0) {
        return "mp4 stbl atom is corrupt";
    }
    if (t->stts.p == NULL || t->stsc.p == NULL || t->stsz.p == NULL
        || t->stco.p == NULL)
    {
        return "no mp4 stts, stsc, stsz or stco atom in a trak";
    }
    if (fy_mp4_table(&t->stts, 0, 8, &t->stts_e, &t->stts_n) != FY_OK) {
        return "mp4 stts atom too small";
    }
    if (t->stss.p
        && fy_mp4_table(&t->stss, 0, 4, &t->stss_e, &t->stss_n) != FY_OK)
    {
        return "mp4 stss atom too small";
    }
    if (t->ctts.p
        && fy_mp4_table(&t->ctts, 0, 8, &t->ctts_e, &t->ctts_n) != FY_OK)
    {
        return "mp4 ctts atom too small";
    }
    if (fy_mp4_table(&t->stsc, 0, 12, &t->stsc_e, &t->stsc_n) != FY_OK) {
        return "mp4 stsc atom too small";
    }
    if (fy_mp4_table(&t->stco, 0, t->co64 ? 8 : 4, &t->stco_e, &t->stco_n)
        != FY_OK)
    {
        return "mp4 stco atom too small";
    }
    /* stsz: version/flags, the common size, the count, maybe the sizes */
    if (t->stsz.len < t->stsz.hdr + 12) {
        return "mp4 stsz atom too small";
    }
    t->sample_size = fy_mp4_get32(t->stsz.p + t->stsz.hdr + 4);
    t->samples = fy_mp4_get32(t->stsz.p + t->stsz.hdr + 8);
    t->stsz_e = t->stsz.p + t->stsz.hdr + 12;
    if (t->sample_size == 0
        && (uint64_t) t->samples * 4 > t->stsz.len - t->stsz.hdr - 12)
    {
        return "mp4 stsz atom too small";
    }
    return NULL;
}

static const char *
fy_mp4_read_trak(fy_mp4_trak_t *t, const fy_mp4_box_t *trak)
{
    const u_char  *p, *end;
    fy_mp4_box_t   b, stbl = { NULL, 0, 0 };
    int            rc;

    for (p = trak->p + trak->hdr, end = trak->p + trak->len;
         (rc = fy_mp4_next(&p, end, &b)) == 1; )
    {
        if (fy_mp4_is(&b, "tkhd") && t->tkhd.p == NULL) {
            t->tkhd = b;
        } else if (fy_mp4_is(&b, "mdia") && t->mdia.p == NULL) {
            t->mdia = b;
        }
    }
    if (rc < 0 || t->tkhd.p == NULL || t->mdia.p == NULL) {
        return "mp4 trak atom is corrupt or has no tkhd or mdia";
    }
    for (p = t->mdia.p + t->mdia.hdr, end = t->mdia.p + t->mdia.len;
         (rc = fy_mp4_next(&p, end, &b)) == 1; )
    {
        if (fy_mp4_is(&b, "mdhd") && t->mdhd.p == NULL) {
            t->mdhd = b;
        } else if (fy_mp4_is(&b, "hdlr") && t->hdlr.p == NULL) {
            t->hdlr = b;
        } else if (fy_mp4_is(&b, "minf") && t->minf.p == NULL) {
            t->minf = b;
        }
    }
    if (rc < 0 || t->mdhd.p == NULL || t->minf.p == NULL) {
        return "mp4 mdia atom is corrupt or has no mdhd or minf";
    }
    for (p = t->minf.p + t->minf.hdr, end = t->minf.p + t->minf.len;
         (rc = fy_mp4_next(&p, end, &b)) == 1; )
    {
        if (fy_mp4_is(&b, "stbl")) {
            if (stbl.p) {
                return "duplicate mp4 stbl atom";
            }
            stbl = b;
        }
    }
    if (rc < 0 || stbl.p == NULL) {
        return "mp4 minf atom is corrupt or has no stbl";
    }

    /* tkhd: version 0 ends its duration at 24 bytes, version 1 at 36;
     * mdhd: the timescale and duration at 12 and 16, or 20 and 24 */
    if (t->tkhd.len < t->tkhd.hdr + (t->tkhd.p[t->tkhd.hdr] == 1 ? 36 : 24)) {
        return "mp4 tkhd atom too small";
    }
    if (t->mdhd.len < t->mdhd.hdr + (t->mdhd.p[t->mdhd.hdr] == 1 ? 32 : 20)) {
        return "mp4 mdhd atom too small";
    }
    t->timescale = fy_mp4_get32(t->mdhd.p + t->mdhd.hdr
                                + (t->mdhd.p[t->mdhd.hdr] == 1 ? 20 : 12));
    if (t->timescale == 0) {
        return "mp4 mdhd timescale is zero";
    }
    return fy_mp4_read_stbl(t, &stbl);
}

/* ---- cutting a trak ---- */

/* ms in a timescale, saturating */
static uint64_t
fy_mp4_ms_to(uint64_t ms, uint32_t timescale)
{
    unsigned __int128  v = (unsigned __int128) ms * timescale / 1000;

    return v > UINT64_MAX ? UINT64_MAX : (uint64_t) v;
}

/* The media time at which sample s starts (s up to the stts total). */
static uint64_t
fy_mp4_time_of(const fy_mp4_trak_t *t, uint32_t s)
{
    uint64_t  time = 0, n = 0, count, delta;
    uint32_t  i;

    for (i = 0; i < t->stts_n && n < s; i++) {
        count = fy_mp4_get32(t->stts_e + 8 * i);
        delta = fy_mp4_get32(t->stts_e + 8 * i + 4);
        if (count > s - n) {
            count = s - n;
        }
        time += count * delta;          /* < 2^64: both below 2^32 ... */
        n += count;                     /* ... and 2^32 entries at most */
    }
    return time;
}

/* The number of samples that start before media time tm (first: the
 * one playing at tm, when inside=1, i.e. those that start at or before
 * it minus one); the stts total at most. */
static uint64_t
fy_mp4_count_before(const fy_mp4_trak_t *t, uint64_t tm, int inside)
{
    uint64_t  time = 0, n = 0, count, delta, span;
    uint32_t  i;

    for (i = 0; i < t->stts_n; i++) {
        count = fy_mp4_get32(t->stts_e + 8 * i);
        delta = fy_mp4_get32(t->stts_e + 8 * i + 4);
        span = count * delta;
        if (tm < time + span) {
            /* delta > 0 here */
            return n + (inside ? (tm - time) / delta
                               : (tm - time + delta - 1) / delta);
        }
        time += span;
        n += count;
    }
    return inside ? UINT64_MAX : n;     /* inside: past the last one */
}

static uint64_t
fy_mp4_size_of(const fy_mp4_trak_t *t, uint32_t s)
{
    return t->sample_size ? t->sample_size : fy_mp4_get32(t->stsz_e + 4 * s);
}

static const char *
fy_mp4_cut_trak(fy_mp4_trak_t *t, const fy_mp4_cut_t *cut)
{
    uint64_t  s0, s1, total, tm, t0;
    uint32_t  i, v, k;

    total = fy_mp4_count_before(t, UINT64_MAX, 0);
    if (total > t->samples) {
        total = t->samples;     /* stts for more samples than stsz has */
    }
    s0 = fy_mp4_count_before(t, fy_mp4_ms_to(cut->start, t->timescale), 1);
    if (s0 >= total) {
        return "start time is out of mp4 stts samples";
    }
    t0 = fy_mp4_time_of(t, (uint32_t) s0);

    if (cut->key_frame && t->stss.p) {
        /* the sync sample at or before s0 (stss counts from 1) */
        k = (uint32_t) s0;
        for (i = 0; i < t->stss_n; i++) {
            v = fy_mp4_get32(t->stss_e + 4 * i);
            if (v == 0 || v > s0 + 1) {
                break;
            }
            k = v - 1;
        }
        if (k < s0) {
            t->prefix = t0 - fy_mp4_time_of(t, k);
            t0 -= t->prefix;
            s0 = k;
        }
    }

    s1 = total;
    if (cut->length) {
        tm = fy_mp4_ms_to(cut->length, t->timescale);
        tm = tm > UINT64_MAX - t0 - t->prefix ? UINT64_MAX
                                              : t0 + t->prefix + tm;
        s1 = fy_mp4_count_before(t, tm, 0);
        if (s1 <= s0) {
            s1 = s0 + 1;
        }
        if (s1 > total) {
            s1 = total;
        }
    }
    t->s0 = (uint32_t) s0;
    t->s1 = (uint32_t) s1;
    t->duration = fy_mp4_time_of(t, t->s1) - t0;
    return NULL;
}

/*
 * The chunks of [s0, s1): stsc maps chunks to sample counts.  mode 0:
 * the file bytes they cover (t->start, t->end); 1: the new stsc table
 * written at w; 2: the new chunk offsets, relative to base.  For 1 and
 * 2, *n is how many entries w has room for; then how many were
 * written.  The same walk each time, so the three agree.
 */
const char *
fy_mp4_chunks(fy_mp4_trak_t *t, int mode, u_char *w, uint32_t *n,
              uint64_t base, uint64_t limit)
{
    uint64_t  sample = 0, off, size, first, next, spc, lo, hi, ns, c;
    uint64_t  last_spc = 0, last_sdi = 0, sdi, s;
    uint32_t  j, nchunk = 0, nent = 0, room = *n;

    t->start = UINT64_MAX;
    t->end = 0;
    for (j = 0; j < t->stsc_n && sample < t->s1; j++) {
        first = fy_mp4_get32(t->stsc_e + 12 * j);
        spc = fy_mp4_get32(t->stsc_e + 12 * j + 4);
        sdi = fy_mp4_get32(t->stsc_e + 12 * j + 8);
        next = j + 1 < t->stsc_n ? fy_mp4_get32(t->stsc_e + 12 * (j + 1))
                                 : (uint64_t) t->stco_n + 1;
        if (first == 0 || next <= first || next > (uint64_t) t->stco_n + 1
            || spc == 0)
        {
            return "mp4 stsc atom is corrupt";
        }
        for (c = first - 1; c < next - 1 && sample < t->s1;
             c++, sample += spc)
        {
            if (sample + spc <= t->s0) {
                continue;       /* a whole chunk before the start */
            }
            lo = sample > t->s0 ? sample : t->s0;
            hi = sample + spc < t->s1 ? sample + spc : t->s1;
            ns = hi - lo;
            off = t->co64 ? fy_mp4_get64(t->stco_e + 8 * c)
                          : fy_mp4_get32(t->stco_e + 4 * c);
            if (off > limit) {
                return "mp4 chunk offset is outside the file";
            }
            for (s = sample; s < lo; s++) {
                off += fy_mp4_size_of(t, (uint32_t) s);
                if (off > limit) {
                    return "mp4 chunk offset is outside the file";
                }
            }
            switch (mode) {
            case 0:
                size = 0;
                for (s = lo; s < hi; s++) {
                    size += fy_mp4_size_of(t, (uint32_t) s);
                    if (size > limit) {
                        return "mp4 chunk offset is outside the file";
                    }
                }
                if (off < t->start) {
                    t->start = off;
                }
                if (off + size > t->end) {
                    t->end = off + size;
                }
                break;
            case 1:
                if (ns != last_spc || sdi != last_sdi) {
                    if (nent == room) {
                        /* cannot happen: 2 more than stsc had at most */
                        return "mp4 stsc atom is corrupt";
                    }
                    fy_mp4_put32(w + 12 * nent, nchunk + 1);
                    fy_mp4_put32(w + 12 * nent + 4, (uint32_t) ns);
                    fy_mp4_put32(w + 12 * nent + 8, (uint32_t) sdi);
                    nent++;
                    last_spc = ns;
                    last_sdi = sdi;
                }
                break;
            default:
                /* off >= base: mode 0 found base the smallest; never
                 * more chunks than stco has */
                if (nchunk == room) {
                    return "mp4 stco atom is corrupt";
                }
                if (t->co64) {
                    fy_mp4_put64(w + 8 * nchunk, off - base);
                } else {
                    fy_mp4_put32(w + 4 * nchunk, (uint32_t) (off - base));
                }
            }
            nchunk++;
        }
    }
    if (sample < t->s1) {
        return "mp4 stsc and stco atoms hold fewer samples than stsz";
    }
    *n = mode == 1 ? nent : nchunk;
    return NULL;
}

int
fy_mp4_cut(fy_pool_t *pool, const u_char *ftyp, size_t ftyp_len,
           const u_char *moov, size_t moov_len, const fy_mp4_cut_t *cut,
           u_char **out, size_t *out_len, uint64_t *start, uint64_t *end,
           const char **err)
{
    const u_char   *p, *last;
    fy_mp4_box_t    b, mvhd = { NULL, 0, 0 };
    fy_mp4_trak_t  *traks;
    fy_mp4_w_t      w;
    uint64_t        base = UINT64_MAX, top = 0, dur, st, len, off;
    uint32_t        ntrak = 0, i, k, scale;
    size_t          at, v1, hdr;
    u_char         *o;

    *err = NULL;
    if (moov_len < 8) {
        *err = "mp4 moov atom is corrupt";
        return FY_ERROR;
    }
    /* the children of moov, counted, then read */
    p = moov;
    if (fy_mp4_next(&p, moov + moov_len, &b) != 1) {
        *err = "mp4 moov atom is corrupt";
        return FY_ERROR;
    }
    hdr = b.hdr;
    last = moov + b.len;
    for (p = moov + hdr; fy_mp4_next(&p, last, &b) == 1; ) {
        if (fy_mp4_is(&b, "trak")) {
            ntrak++;
        } else if (fy_mp4_is(&b, "mvhd") && mvhd.p == NULL) {
            mvhd = b;
        } else if (fy_mp4_is(&b, "cmov")) {
            *err = "mp4 compressed moov atom (cmov) is not supported";
            return FY_ERROR;
        }
    }
    if (p != last) {
        *err = "mp4 moov atom is corrupt";
        return FY_ERROR;
    }
    if (ntrak == 0) {
        *err = "no mp4 trak atoms were found";
        return FY_ERROR;
    }
    if (mvhd.p == NULL
        || mvhd.len < mvhd.hdr + (mvhd.p[mvhd.hdr] == 1 ? 32 : 20))
    {
        *err = "no mp4 mvhd atom, or one too small";
        return FY_ERROR;
    }
    v1 = mvhd.p[mvhd.hdr] == 1;
    scale = fy_mp4_get32(mvhd.p + mvhd.hdr + (v1 ? 20 : 12));
    dur = v1 ? fy_mp4_get64(mvhd.p + mvhd.hdr + 24)
             : fy_mp4_get32(mvhd.p + mvhd.hdr + 16);
    if (scale == 0) {
        *err = "mp4 mvhd timescale is zero";
        return FY_ERROR;
    }
    st = fy_mp4_ms_to(cut->start, scale);
    if (st > dur) {
        *err = "mp4 start time exceeds file duration";
        return FY_ERROR;
    }
    /* as nginx: what is left after start, no more than length */
    dur -= st;
    if (cut->length && dur > fy_mp4_ms_to(cut->length, scale)) {
        dur = fy_mp4_ms_to(cut->length, scale);
    }

    traks = fy_pcalloc(pool, (size_t) ntrak * sizeof(fy_mp4_trak_t));
    if (traks == NULL) {
        return FY_ERROR;
    }
    k = 0;
    for (p = moov + hdr; fy_mp4_next(&p, last, &b) == 1; )
    {
        if (!fy_mp4_is(&b, "trak")) {
            continue;
        }
        *err = fy_mp4_read_trak(&traks[k], &b);
        if (*err == NULL) {
            *err = fy_mp4_cut_trak(&traks[k], cut);
        }
        if (*err == NULL) {
            i = 0;
            *err = fy_mp4_chunks(&traks[k], 0, NULL, &i, 0, cut->mdat_end);
        }
        if (*err) {
            return FY_ERROR;
        }
        if (traks[k].start < base) {
            base = traks[k].start;
        }
        if (traks[k].end > top) {
            top = traks[k].end;
        }
        k++;
    }
    if (base < cut->mdat_data || top > cut->mdat_end || base > top) {
        *err = "mp4 samples are outside the mdat atom";
        return FY_ERROR;
    }

    /* the new atoms are no bigger than the old but for stsc (2 entries
     * more a track), an edit list (44 bytes) and the mdat header */
    w.len = 0;
    w.failed = 0;
    w.cap = ftyp_len + moov_len + (size_t) ntrak * 72 + 16;
    w.buf = fy_palloc(pool, w.cap);
    if (w.buf == NULL) {
        return FY_ERROR;
    }
    if (ftyp) {
        memcpy(w.buf, ftyp, ftyp_len);
        w.len = ftyp_len;
    }
    at = fy_mp4_open(&w, "moov");
    o = fy_mp4_copy(&w, &mvhd);
    if (o) {
        fy_mp4_set_duration(o, mvhd.hdr, 16, 24, dur);
    }
    for (i = 0; i < ntrak; i++) {
        *err = fy_mp4_write_trak(&w, &traks[i], scale, base, cut->mdat_end);
        if (*err) {
            return FY_ERROR;
        }
    }
    fy_mp4_close(&w, at);

    len = top - base;
    o = fy_mp4_w(&w, len + 8 <= UINT32_MAX ? 8 : 16);
    if (o == NULL) {
        *err = "mp4 output too large";
        return FY_ERROR;
    }
    memcpy(o + 4, "mdat", 4);
    if (len + 8 <= UINT32_MAX) {
        fy_mp4_put32(o, (uint32_t) (len + 8));
    } else {
        fy_mp4_put32(o, 1);
        fy_mp4_put64(o + 8, len + 16);
    }

    /* the chunk offsets were written from base: now from the start of
     * what is sent */
    for (i = 0; i < ntrak; i++) {
        for (k = 0; k < traks[i].stco_out_n; k++) {
            if (traks[i].co64) {
                o = traks[i].stco_out + 8 * (size_t) k;
                fy_mp4_put64(o, fy_mp4_get64(o) + w.len);
                continue;
            }
            o = traks[i].stco_out + 4 * (size_t) k;
            off = (uint64_t) fy_mp4_get32(o) + w.len;
            if (off > UINT32_MAX) {
                *err = "mp4 chunk offset does not fit its stco atom";
                return FY_ERROR;
            }
            fy_mp4_put32(o, (uint32_t) off);
        }
    }

    *out = w.buf;
    *out_len = w.len;
    *start = base;
    *end = top;
    return FY_OK;
}
