/*
 * fy_http_parse_header.c -- header field lines (RFC 9112 5, RFC 9110
 * 5.5), of requests and of upstream responses alike, one field per
 * call that finishes; a resumable parser like the others
 * (fy_http_parse.c).
 *
 * It walks [b->pos, b->last) one byte per switch iteration, except
 * that the run of ordinary bytes in a name or a value is walked by a
 * loop of its own inside its state, and keeps what it needs to resume
 * in a state number plus pointers into the buffer.  Nothing here
 * allocates, logs or reads past b->last.  On an error b->pos is left
 * at the offending byte and the state is reset.
 */

#include "fy_core.h"
#include "fy_http_parse.h"
#include "fy_http_parse_int.h"


/* The bytes nginx takes in a header name without calling it invalid
 * ('_' aside, see underscores_in_headers). */
#define fy_http_is_plain_name(ch)                                          \
    (fy_http_is_alpha(ch) || fy_http_is_digit(ch) || (ch) == '-')

/* Any byte a lenient name may hold: visible ASCII or obs-text, not ':'. */
#define fy_http_is_name_byte(ch)  ((ch) > 0x20 && (ch) != 0x7f && (ch) != ':')

/* A value byte that changes nothing: field-vchar or obs-text, that is
 * anything but CTL, SP and DEL (fy_http_is_text less SP and HTAB). */
#define fy_http_is_value_byte(ch)  ((ch) > 0x20 && (ch) != 0x7f)


/*
 * Byte classes of the fast path below, one table load per byte where
 * the state machine makes two to four comparisons: NAME, the bytes of a
 * name nginx finds ordinary (A-Z a-z 0-9 '-'); VALUE, those a value may
 * hold anywhere (field-vchar, obs-text, SP, HTAB).
 */
#define FY_HC_NAME   1
#define FY_HC_VALUE  2

static const uint8_t  fy_http_hc[256] = {
    ['\t'] = FY_HC_VALUE,
    [' ' ... ','] = FY_HC_VALUE,
    ['-'] = FY_HC_NAME | FY_HC_VALUE,
    ['.' ... '/'] = FY_HC_VALUE,
    ['0' ... '9'] = FY_HC_NAME | FY_HC_VALUE,
    [':' ... '@'] = FY_HC_VALUE,
    ['A' ... 'Z'] = FY_HC_NAME | FY_HC_VALUE,
    ['[' ... '`'] = FY_HC_VALUE,
    ['a' ... 'z'] = FY_HC_NAME | FY_HC_VALUE,
    ['{' ... '~'] = FY_HC_VALUE,
    [0x80 ... 0xff] = FY_HC_VALUE,
};


/* The first byte at or after p not of class cls (FY_HC_NAME or
 * FY_HC_VALUE), or last: one table load a byte. */
static inline u_char *
fy_http_skip_class(u_char *p, u_char *last, unsigned cls)
{
    while (p < last && (fy_http_hc[*p] & cls)) {
        p++;
    }
    return p;
}

/*
 * The runs of a name and of a value: the first byte at or after p that
 * is not NAME (not VALUE), or last.  With SSE2 (every x86-64) sixteen
 * bytes are looked at per step while sixteen are left in the buffer --
 * usually the case, as a line is followed by the next one -- where the
 * table loop takes about five instructions a byte; the table loop does
 * the tail, and HTAB (rare in values), which the vector step stops at.
 */
#if defined(__SSE2__)

#include <emmintrin.h>

/* each byte of x in [lo, lo + n]: (x - lo) as unsigned <= n */
#define fy_http_in_range(x, lo, n)                                         \
    _mm_cmpeq_epi8(_mm_min_epu8(_mm_sub_epi8(x, _mm_set1_epi8(lo)),       \
                                _mm_set1_epi8(n)),                         \
                   _mm_sub_epi8(x, _mm_set1_epi8(lo)))

/* 16 bytes at p: a bit set for each that is not NAME */
static inline unsigned
fy_http_not_name16(const u_char *p)
{
    __m128i  x = _mm_loadu_si128((const __m128i *) p);

    /* x | 0x20 is in a-z exactly for the letters of either case */
    return ~(unsigned) _mm_movemask_epi8(
               _mm_or_si128(
                   _mm_or_si128(
                       fy_http_in_range(_mm_or_si128(x, _mm_set1_epi8(0x20)),
                                        'a', 25),
                       fy_http_in_range(x, '0', 9)),
                   _mm_cmpeq_epi8(x, _mm_set1_epi8('-'))))
           & 0xffff;
}

/* 16 bytes at p: a bit set for each CTL (x <= 0x1f as unsigned) or DEL */
static inline unsigned
fy_http_ctl16(const u_char *p)
{
    __m128i  x = _mm_loadu_si128((const __m128i *) p);

    return (unsigned) _mm_movemask_epi8(
               _mm_or_si128(
                   _mm_cmpeq_epi8(_mm_min_epu8(x, _mm_set1_epi8(0x1f)), x),
                   _mm_cmpeq_epi8(x, _mm_set1_epi8(0x7f))));
}

/* Sixteen bytes a step while the step finds no stop byte (stop16),
 * then the table loop from the first one. */
static inline u_char *
fy_http_skip16(u_char *p, u_char *last, unsigned (*stop16)(const u_char *),
               unsigned cls)
{
    unsigned  m;

    while (last - p >= 16) {
        m = stop16(p);
        if (m) {
            p += __builtin_ctz(m);
            break;
        }
        p += 16;
    }
    return fy_http_skip_class(p, last, cls);
}

#define fy_http_skip_name(p, last)                                         \
    fy_http_skip16(p, last, fy_http_not_name16, FY_HC_NAME)
#define fy_http_skip_value(p, last)                                        \
    fy_http_skip16(p, last, fy_http_ctl16, FY_HC_VALUE)

#else

#define fy_http_skip_name(p, last)   fy_http_skip_class(p, last, FY_HC_NAME)
#define fy_http_skip_value(p, last)  fy_http_skip_class(p, last, FY_HC_VALUE)

#endif


/*
 * The common line, whole in the buffer: an ordinary name, ':', a value
 * of VALUE bytes, CRLF.  Most lines of most messages are like that, and
 * walking one in three plain loops costs under half what the switch
 * below does (docs/performance.md, Optimizations).  Anything else --
 * the end of the buffer before the CRLF, '_' or other bytes in the
 * name, a bare LF, a control byte -- is FY_DECLINED with b->pos
 * untouched, and the state machine walks the line from its start,
 * with the same result it would have had anyway for a line that
 * passes here.
 */
static int
fy_http_parse_header_fast(fy_http_parser_t *r, fy_buf_t *b)
{
    u_char  *p = b->pos, *last = b->last, *name_end, *v, *e;

    p = fy_http_skip_name(p, last);
    if (p == b->pos || p == last || *p != ':') {
        return FY_DECLINED;
    }
    name_end = p++;

    while (p < last && (*p == ' ' || *p == '\t')) {
        p++;
    }
    v = p;
    p = fy_http_skip_value(p, last);
    if (last - p < 2 || p[0] != '\r' || p[1] != '\n') {
        return FY_DECLINED;
    }
    /* trailing OWS is not part of the value (RFC 9110 5.5); the leading
     * is skipped above, so the walk back stops at v at the latest */
    for (e = p; e > v && (e[-1] == ' ' || e[-1] == '\t'); e--) {
        /* void */
    }

    r->header_name_start = b->pos;
    r->header_name_end = name_end;
    r->header_start = v;
    r->header_end = e;
    r->name_underscore = 0;
    r->name_invalid = 0;
    b->pos = p + 2;
    return FY_OK;
}


int
fy_http_parse_header_line(fy_http_parser_t *r, fy_buf_t *b)
{
    u_char   ch, *p;
    enum {
        sw_start = 0,
        sw_name,
        sw_space_before_value,
        sw_value,
        sw_space_after_value,   /* OWS that may turn out to be trailing */
        sw_almost_done,
        sw_header_almost_done   /* CR of the empty line seen */
    } state;

    state = r->state;

    if (state == sw_start && fy_http_parse_header_fast(r, b) == FY_OK) {
        return FY_OK;
    }

    for (p = b->pos; p < b->last; p++) {
        ch = *p;

        switch (state) {

        case sw_start:
            if (fy_http_is_tchar(ch)
                || (r->lenient_names && fy_http_is_name_byte(ch)))
            {
                r->header_name_start = p;
                r->header_name_end = NULL;
                r->header_start = NULL;
                r->header_end = NULL;
                r->name_underscore = (ch == '_');
                r->name_invalid = !fy_http_is_plain_name(ch) && ch != '_';
                state = sw_name;
                break;
            }

            if (ch == '\r') {
                state = sw_header_almost_done;
                break;
            }

            if (ch == '\n') {
                goto header_done;
            }

            /* SP/HTAB here is obs-fold (RFC 9112 5.2): joining lines
             * is how smuggling starts, so it is rejected; ':' means an
             * empty name; anything else is not a token */
            goto invalid;

        case sw_name:
            /* Names and values are mostly runs of bytes that change
             * nothing: each run is walked in a loop of its own, not
             * one trip through the switch per byte (this parser was a
             * quarter of a proxied request's instructions in user
             * space; see docs/performance.md, Optimizations). */
            while (fy_http_is_plain_name(ch)) {
                if (++p == b->last) {
                    goto again;
                }
                ch = *p;
            }

            if (ch == ':') {
                r->header_name_end = p;
                state = sw_space_before_value;
                break;
            }

            if (ch == '_') {
                r->name_underscore = 1;
                break;
            }

            if (fy_http_is_tchar(ch)
                || (r->lenient_names && fy_http_is_name_byte(ch)))
            {
                r->name_invalid = 1;
                break;
            }

            /* RFC 9112 5.1: whitespace before the colon MUST be
             * rejected; a line without a colon is no field at all */
            goto invalid;

        case sw_space_before_value:
            if (ch == ' ' || ch == '\t') {
                break;
            }

            if (ch == '\r' || ch == '\n') {
                r->header_start = p;
                r->header_end = p;

                if (ch == '\n') {
                    goto done;
                }

                state = sw_almost_done;
                break;
            }

            if (!fy_http_is_text(ch)) {
                goto invalid;
            }

            r->header_start = p;
            state = sw_value;
            break;

        case sw_value:
            while (fy_http_is_value_byte(ch)) {
                if (++p == b->last) {
                    goto again;
                }
                ch = *p;
            }

            if (ch == ' ' || ch == '\t') {
                r->header_end = p;
                state = sw_space_after_value;
                break;
            }

            if (ch == '\r' || ch == '\n') {
                r->header_end = p;

                if (ch == '\n') {
                    goto done;
                }

                state = sw_almost_done;
                break;
            }

            goto invalid;       /* a CTL or DEL */

        case sw_space_after_value:
            if (ch == ' ' || ch == '\t') {
                break;
            }

            /* header_end already marks the last non-OWS byte */
            if (ch == '\r') {
                state = sw_almost_done;
                break;
            }

            if (ch == '\n') {
                goto done;
            }

            if (!fy_http_is_text(ch)) {
                goto invalid;
            }

            state = sw_value;
            break;

        case sw_almost_done:
            /* a CR not followed by LF could be read as a line end by
             * one hop and not by the next */
            if (ch != '\n') {
                goto invalid;
            }
            goto done;

        case sw_header_almost_done:
            if (ch != '\n') {
                goto invalid;
            }
            goto header_done;
        }
    }

again:

    b->pos = p;
    r->state = state;

    return FY_AGAIN;

done:

    b->pos = p + 1;
    r->state = sw_start;

    return FY_OK;

header_done:

    b->pos = p + 1;
    r->state = sw_start;

    return FY_HTTP_PARSE_HEADER_DONE;

invalid:

    b->pos = p;
    r->state = sw_start;

    return FY_HTTP_PARSE_INVALID_HEADER;
}
