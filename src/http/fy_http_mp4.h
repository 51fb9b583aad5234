/*
 * fy_http_mp4.h -- nginx's mp4 module: the moov rewriter (reading and
 * cutting in fy_http_mp4_parse.c, writing in fy_http_mp4_write.c), kept
 * apart from the HTTP side (fy_http_mp4.c) so the unit test and the
 * fuzzer drive it alone.
 */
#ifndef FY_HTTP_MP4_H
#define FY_HTTP_MP4_H

#include "fy_core.h"
#include "fy_pool.h"

/* What to cut from a file and where its parts are. */
typedef struct {
    uint64_t  start;        /* ms from the beginning */
    uint64_t  length;       /* ms from start; 0: to the end */
    int       key_frame;    /* mp4_start_key_frame */
    uint64_t  mdat_data;    /* file offset of the mdat atom's data */
    uint64_t  mdat_end;     /* one past its last byte */
} fy_mp4_cut_t;

/* The file as it will be sent: out (out_len bytes from pool: the ftyp
 * atom as it was, the new moov, the new mdat header), then the file's
 * bytes [*start, *end).  ftyp: the whole ftyp atom or NULL; moov: the
 * whole moov atom.  FY_OK, or FY_ERROR with *err saying why (a file
 * that is not what it claims, a start past the end; NULL: out of
 * memory). */
int fy_mp4_cut(fy_pool_t *pool, const u_char *ftyp, size_t ftyp_len,
               const u_char *moov, size_t moov_len, const fy_mp4_cut_t *cut,
               u_char **out, size_t *out_len, uint64_t *start,
               uint64_t *end, const char **err);

/* One atom's header at p (avail bytes there): FY_OK with *size (the
 * whole atom, 0 for "to the end") and *hdr (8 or 16), FY_AGAIN when
 * more bytes are needed, FY_ERROR (a size below its header). */
int fy_mp4_atom_header(const u_char *p, size_t avail, uint64_t *size,
                       size_t *hdr);

/* ---- private to fy_http_mp4_parse.c and fy_http_mp4_write.c ---- */

/* An atom inside the moov buffer. */
typedef struct {
    const u_char  *p;       /* its first byte (the header); NULL: none */
    size_t         len;     /* the whole atom */
    size_t         hdr;     /* 8 or 16 */
} fy_mp4_box_t;

typedef struct {
    fy_mp4_box_t   tkhd, mdia, mdhd, hdlr, minf, stsd;
    fy_mp4_box_t   stts, stss, ctts, stsc, stsz, stco;
    int            co64;
    uint32_t       timescale;
    /* the tables, counts checked against their atoms */
    const u_char  *stts_e, *stss_e, *ctts_e, *stsc_e, *stsz_e, *stco_e;
    uint32_t       stts_n, stss_n, ctts_n, stsc_n, stco_n;
    uint32_t       samples;         /* stsz's count */
    uint32_t       sample_size;     /* stsz's common size, 0: table */
    /* the cut */
    uint32_t       s0, s1;          /* kept samples [s0, s1) */
    uint64_t       prefix;          /* media time hidden by the edit */
    uint64_t       duration;        /* media time of [s0, s1) */
    uint64_t       start, end;      /* file bytes of the kept samples */
    u_char        *stco_out;        /* the new chunk offsets in out */
    uint32_t       stco_out_n;
} fy_mp4_trak_t;

/* The output: bounds checked on every write; one that does not fit
 * sets failed, and everything after it is not written. */
typedef struct {
    u_char  *buf;
    size_t   len;
    size_t   cap;
    int      failed;
} fy_mp4_w_t;

#define fy_mp4_get32(p)  ((uint32_t) (p)[0] << 24 | (uint32_t) (p)[1] << 16 \
                          | (uint32_t) (p)[2] << 8 | (uint32_t) (p)[3])

static inline uint64_t
fy_mp4_get64(const u_char *p)
{
    return (uint64_t) fy_mp4_get32(p) << 32 | fy_mp4_get32(p + 4);
}

static inline void
fy_mp4_put32(u_char *p, uint32_t v)
{
    p[0] = (u_char) (v >> 24);
    p[1] = (u_char) (v >> 16);
    p[2] = (u_char) (v >> 8);
    p[3] = (u_char) v;
}

static inline void
fy_mp4_put64(u_char *p, uint64_t v)
{
    fy_mp4_put32(p, (uint32_t) (v >> 32));
    fy_mp4_put32(p + 4, (uint32_t) v);
}

/* fy_http_mp4_parse.c: the next child atom in [*p, end): 1 (in *b, *p
 * moved past it), 0 at the end, -1 for one that does not fit; whether b
 * is named name; the walk over the kept chunks (mode 0: the file bytes
 * they cover, 1: the new stsc table at w, 2: the new chunk offsets from
 * base at w; *n: the room at w, then the entries written). */
int fy_mp4_next(const u_char **p, const u_char *end, fy_mp4_box_t *b);
int fy_mp4_is(const fy_mp4_box_t *b, const char *name);
const char *fy_mp4_chunks(fy_mp4_trak_t *t, int mode, u_char *w,
                          uint32_t *n, uint64_t base, uint64_t limit);

/* fy_http_mp4_write.c: n bytes more of w (NULL: no room, w->failed
 * set); an atom's 8-byte header (where it is, SIZE_MAX: no room) and
 * its size set once written; an atom copied whole; a duration set in
 * an mvhd, tkhd or mdhd (at0/at1: where version 0/1 holds it, after
 * the header); a trak written for the cut t (NULL, or why not). */
u_char *fy_mp4_w(fy_mp4_w_t *w, size_t n);
size_t fy_mp4_open(fy_mp4_w_t *w, const char *name);
void fy_mp4_close(fy_mp4_w_t *w, size_t at);
u_char *fy_mp4_copy(fy_mp4_w_t *w, const fy_mp4_box_t *b);
void fy_mp4_set_duration(u_char *atom, size_t hdr, size_t at0, size_t at1,
                         uint64_t d);
const char *fy_mp4_write_trak(fy_mp4_w_t *w, fy_mp4_trak_t *t,
                              uint32_t movie_scale, uint64_t base,
                              uint64_t limit);

#endif /* FY_HTTP_MP4_H */
