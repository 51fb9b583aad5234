/*
 * fy_http_mp4.h -- nginx's mp4 module: the moov rewriter
 * (fy_http_mp4_parse.c), kept apart from the HTTP side
 * (fy_http_mp4.c) so the unit test and the fuzzer drive it alone.
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

#endif /* FY_HTTP_MP4_H */
