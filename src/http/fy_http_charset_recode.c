/*
 * fy_http_charset_recode.c -- body bytes of one charset into another,
 * with a charset_map's tables (fy_http_charset.h), piece by piece.
 *
 * Single-byte to single-byte is a table lookup per byte; to UTF-8 each
 * byte becomes its one to three bytes.  From UTF-8 each sequence is
 * decoded: a code point below 80 is itself, one the map names is its
 * byte, any other "&#N;" (nginx's rule, so that an HTML page keeps the
 * character); bytes that are no UTF-8 (a stray continuation byte, an
 * overlong form, a code point past 10FFFF) become '?'.  A sequence that
 * the end of a piece cuts waits in the state for the next piece.
 */
#include "fy_core.h"
#include "fy_http_charset.h"

#include <stdio.h>

#define FY_UTF8_AGAIN    0xfffffffeu     /* cut by the end of the input */
#define FY_UTF8_INVALID  0xffffffffu

/* Decode the sequence at p (len bytes, len >= 1): the code point, and
 * *used its bytes (1 for an invalid one), or FY_UTF8_AGAIN. */
static uint32_t
fy_utf8_decode(const u_char *p, size_t len, size_t *used)
{
    uint32_t  cp, min;
    size_t    need, i;
    u_char    c = p[0];

    *used = 1;
    if (c < 0x80) {
        return c;
    }
    if (c >= 0xc2 && c <= 0xdf) {
        need = 2;
        cp = c & 0x1f;
        min = 0x80;
    } else if (c >= 0xe0 && c <= 0xef) {
        need = 3;
        cp = c & 0x0f;
        min = 0x800;
    } else if (c >= 0xf0 && c <= 0xf4) {
        need = 4;
        cp = c & 0x07;
        min = 0x10000;
    } else {
        return FY_UTF8_INVALID;
    }
    for (i = 1; i < need; i++) {
        if (i == len) {
            return FY_UTF8_AGAIN;
        }
        if ((p[i] & 0xc0) != 0x80) {
            return FY_UTF8_INVALID;
        }
        cp = (cp << 6) | (p[i] & 0x3f);
    }
    if (cp < min || cp > 0x10ffff) {
        return FY_UTF8_INVALID;
    }
    *used = need;
    return cp;
}

/* The target-charset bytes of code point cp into o (room for
 * FY_RECODE_MAX): their number. */
static size_t
fy_recode_point(const fy_http_charset_map_t *m, uint32_t cp, u_char *o)
{
    const u_char  *page;

    if (cp == FY_UTF8_INVALID) {
        *o = '?';
        return 1;
    }
    if (cp < 0x80) {
        *o = (u_char) cp;
        return 1;
    }
    if (cp <= 0xffff) {
        page = m->from8[cp >> 8];
        if (page && page[cp & 0xff]) {
            *o = page[cp & 0xff];
            return 1;
        }
    }
    return (size_t) snprintf((char *) o, FY_RECODE_MAX + 1, "&#%u;", cp);
}

/* From UTF-8: a sequence the last piece cut first, then the input. */
static size_t
fy_recode_from_utf8(const fy_http_charset_map_t *m,
                    fy_http_recode_state_t *st, const u_char **in,
                    const u_char *end, u_char *out, size_t room)
{
    const u_char  *p = *in;
    u_char        *o = out;
    uint32_t       cp;
    size_t         used, k;

    while (room - (size_t) (o - out) >= FY_RECODE_MAX) {
        if (st->nsaved) {
            /* complete the cut sequence with the next bytes */
            if (p == end) {
                break;
            }
            k = fy_min(sizeof(st->saved) - st->nsaved, (size_t) (end - p));
            memcpy(st->saved + st->nsaved, p, k);
            cp = fy_utf8_decode(st->saved, st->nsaved + k, &used);
            if (cp == FY_UTF8_AGAIN) {
                st->nsaved += k;        /* k was the rest of the input */
                p = end;
                break;
            }
            /* the saved bytes were a good start: a valid sequence ends
             * in the new ones.  An invalid one is '?' for each saved
             * byte (the lead, then each continuation byte alone, as
             * the whole input would have it), and the new bytes are
             * looked at again */
            if (cp == FY_UTF8_INVALID) {
                memset(o, '?', st->nsaved);
                o += st->nsaved;
            } else {
                p += used - st->nsaved;
                o += fy_recode_point(m, cp, o);
            }
            st->nsaved = 0;
            continue;
        }
        if (p == end) {
            break;
        }
        if (*p < 0x80) {
            *o++ = *p++;
            continue;
        }
        cp = fy_utf8_decode(p, (size_t) (end - p), &used);
        if (cp == FY_UTF8_AGAIN) {
            st->nsaved = (size_t) (end - p);
            memcpy(st->saved, p, st->nsaved);
            p = end;
            break;
        }
        p += used;
        o += fy_recode_point(m, cp, o);
    }
    *in = p;
    return (size_t) (o - out);
}

size_t
fy_http_recode(const fy_http_recode_t *rc, fy_http_recode_state_t *st,
               const u_char **in, const u_char *end, u_char *out,
               size_t room)
{
    const fy_http_charset_map_t  *m = rc->map;
    const u_char                 *p = *in, *table, *seq;
    u_char                       *o = out;
    size_t                        n, i;

    switch (rc->kind) {

    case FY_RECODE_BYTE:
        table = rc->back ? m->d2s : m->s2d;
        n = fy_min(room, (size_t) (end - p));
        for (i = 0; i < n; i++) {
            o[i] = table[p[i]];
        }
        *in = p + n;
        return n;

    case FY_RECODE_TO_UTF8:
        while (p < end && room - (size_t) (o - out) >= 3) {
            seq = m->to8[*p++];
            memcpy(o, seq + 1, seq[0]);
            o += seq[0];
        }
        *in = p;
        return (size_t) (o - out);

    default:
        return fy_recode_from_utf8(m, st, in, end, out, room);
    }
}

size_t
fy_http_recode_end(fy_http_recode_state_t *st, u_char *out)
{
    if (st->nsaved == 0) {
        return 0;
    }
    /* nginx drops such a tail; a '?' shows that something was there */
    st->nsaved = 0;
    *out = '?';
    return 1;
}

const u_char *
fy_http_recode_table(const fy_http_recode_t *rc)
{
    if (rc == NULL || rc->kind != FY_RECODE_BYTE) {
        return NULL;
    }
    return rc->back ? rc->map->d2s : rc->map->s2d;
}
