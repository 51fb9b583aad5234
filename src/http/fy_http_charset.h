/*
 * fy_http_charset.h -- recoding response bodies between charsets, as
 * nginx's charset module does with the tables of charset_map:
 *
 *     charset_map koi8-r windows-1251 { C0 FE; C1 E0; ... }
 *     charset_map windows-1251 utf-8 { C0 D090; ... }
 *
 * A map reads a single-byte charset into another single-byte one, or
 * into UTF-8 (then named second, with UTF-8 bytes as its values), and
 * is used both ways.  The tables and the directive are
 * fy_http_charset_map.c; the recoder that turns body pieces of one
 * charset into the other is fy_http_charset_recode.c (no request in it:
 * t/unit/test_charset.c drives it directly); which responses are
 * recoded, and their Content-Type, is fy_http_charset.c's decision; the
 * bytes go through sub_filter's stream (fy_http_sub_stream_recode), so
 * sub_filter's strings are matched before recoding and gzip compresses
 * after it, nginx's filter order.
 */
#ifndef FY_HTTP_CHARSET_H
#define FY_HTTP_CHARSET_H

#include "fy_core.h"

/* The directions a recoder goes. */
#define FY_RECODE_BYTE       0      /* single-byte to single-byte */
#define FY_RECODE_TO_UTF8    1
#define FY_RECODE_FROM_UTF8  2

/* The longest output of one character: "&#1114111;", the entity a
 * code point without a byte in the target charset becomes. */
#define FY_RECODE_MAX  10

typedef struct fy_http_charset_map_s  fy_http_charset_map_t;

/* One direction of a map. */
typedef struct fy_http_recode_s {
    const fy_http_charset_map_t  *map;
    unsigned                      kind;     /* FY_RECODE_* */
    unsigned                      back:1;   /* FY_RECODE_BYTE: dst to src */
} fy_http_recode_t;

/*
 * One charset_map block.  Bytes below 80 stay themselves; a byte from
 * 80 the block does not name becomes '?', and so does a UTF-8 code
 * point without a byte, written as an HTML entity instead ("&#NNNN;"),
 * as nginx documents.
 */
struct fy_http_charset_map_s {
    fy_str_t                  src, dst;     /* the names, as written */
    fy_http_recode_t          forward, backward;
    u_char                    s2d[256];     /* single-byte maps */
    u_char                    d2s[256];
    u_char                    to8[256][4];  /* length, then UTF-8 bytes */
    u_char                   *from8[256];   /* pages of code points up to
                                               FFFF: the byte, 0 none */
    const char               *file;
    unsigned                  line;
    fy_http_charset_map_t    *next;
};

/* The state of one body's recoding: a UTF-8 sequence cut by the end of
 * a piece waits here for the next one. */
typedef struct {
    u_char   saved[4];
    size_t   nsaved;
} fy_http_recode_state_t;

/*
 * Recode from *in (up to end) into out (room bytes, at least
 * FY_RECODE_MAX for progress): as much as fits.  *in moves past what
 * was used (a cut sequence at the end of the input is used: kept in
 * st).  Returns the bytes written.
 */
size_t fy_http_recode(const fy_http_recode_t *rc, fy_http_recode_state_t *st,
                      const u_char **in, const u_char *end, u_char *out,
                      size_t room);
/* The body ended: what a cut sequence kept becomes, '?' (room >= 1);
 * returns the bytes written. */
size_t fy_http_recode_end(fy_http_recode_state_t *st, u_char *out);

/* The 256-byte table of a single-byte recoder (FY_RECODE_BYTE), which
 * recodes bytes where they are (a static file's range, read into its
 * buffer); NULL for one to or from UTF-8. */
const u_char *fy_http_recode_table(const fy_http_recode_t *rc);

/* The recoder from charset src to dst of the maps (nginx compares the
 * names ignoring case), NULL when no map is between them. */
const fy_http_recode_t *fy_http_charset_recoder(
    const fy_http_charset_map_t *maps, const fy_str_t *src,
    const fy_str_t *dst);

#endif /* FY_HTTP_CHARSET_H */
