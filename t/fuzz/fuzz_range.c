/*
 * fuzz_range.c -- the Range header parser (fy_http_parse_range, one
 * range at most, and fy_http_parse_ranges), run on every Range value a
 * client sends for a static file, a cache HIT, proxy_force_ranges and
 * slice.
 *
 * Input: the first byte picks the file size (a few bytes of the input
 * give it: small sizes, huge ones, 0 and 2^63-1 all come up), the rest
 * is the header value, copied into a buffer of its exact size so a read
 * past it is an ASan report.
 *
 * Checked: a range that is served lies inside the file (0 <= start <=
 * end < size), and nothing is written to start and end otherwise; the
 * result agrees with a second, separately written reading of the same
 * grammar as nginx reads it (below); "bytes" is matched in any case;
 * and the result for a value with spaces appended is the same.
 *
 * fy_http_parse_ranges (a list of ranges, max_ranges) on the same value
 * and on it with max 1 and 2: every range it gives lies inside the
 * file, there are at most max of them and no more bytes than the file;
 * the counting call and the filling one agree; and for a value without
 * "," it answers as fy_http_parse_range.
 */

#include "fy_core.h"
#include "fy_http_static.h"
#include "fy_fuzz.h"
#include <limits.h>


/* The grammar nginx's range filter reads, written another way than the
 * parser, for one range at most (fy_http_parse_range):
 *   "bytes=" element *( "," element )
 *   element = SP* ( first SP* "-" SP* [ last SP* ] / "-" suffix SP* )
 * digits only, SP only (no tab); the elements are taken in order: a
 * malformed one, or a number past 2^63-1, is 416 when reached; the
 * satisfiable ones' sum past 2^63-1 is 416; the second satisfiable one
 * means the whole (200), as does a range from 0 of an empty body; one
 * past the end or reversed is left out; none left is 416. */

/* Digits of [p, q) as an off_t; -1 when empty or past 2^63-1. */
static off_t
ref_num(const u_char *p, const u_char *q)
{
    unsigned __int128  v = 0;

    if (p == q) {
        return -1;
    }
    while (p < q) {
        if (*p < '0' || *p > '9') {
            return -1;
        }
        v = v * 10 + (unsigned) (*p++ - '0');
        if (v > INT64_MAX) {
            return -1;
        }
    }
    return (off_t) v;
}

/* One element [p, q): 1 and *a (-1 for a suffix), *b (-1 for none), or
 * 0 when malformed. */
static int
ref_element(const u_char *p, const u_char *q, off_t *a, off_t *b)
{
    const u_char  *dash, *x, *y;

    while (p < q && *p == ' ') {
        p++;
    }
    while (q > p && q[-1] == ' ') {
        q--;
    }
    if (p == q) {
        return 0;
    }
    if (*p == '-') {
        *a = -1;
        *b = ref_num(p + 1, q);
        return *b >= 0;
    }
    dash = memchr(p, '-', (size_t) (q - p));
    if (dash == NULL) {
        return 0;
    }
    for (x = dash; x > p && x[-1] == ' '; x--) { /* void */ }
    for (y = dash + 1; y < q && *y == ' '; y++) { /* void */ }
    *a = ref_num(p, x);
    if (*a < 0) {
        return 0;
    }
    *b = -1;
    if (y < q) {
        *b = ref_num(y, q);
        if (*b < 0) {
            return 0;
        }
    }
    return 1;
}

static int
ref_range(const u_char *s, size_t len, off_t size, off_t *start, off_t *end)
{
    static const char   bytes[] = "bytes=";
    const u_char       *p, *q, *last;
    off_t               a, b, first = -1, lastb = -1, f, l;
    unsigned __int128   total = 0;
    size_t              i;
    u_char              c;

    if (len < 7) {
        return FY_HTTP_RANGE_IGNORE;
    }
    for (i = 0; i < 6; i++) {
        c = (s[i] >= 'A' && s[i] <= 'Z') ? s[i] + ('a' - 'A') : s[i];
        if (c != (u_char) bytes[i]) {
            return FY_HTTP_RANGE_IGNORE;
        }
    }
    last = s + len;
    for (p = s + 6; ; p = q + 1) {
        q = memchr(p, ',', (size_t) (last - p));
        if (q == NULL) {
            q = last;
        }
        if (!ref_element(p, q, &a, &b)) {
            return FY_HTTP_RANGE_UNSATISFIABLE;
        }
        /* [f, l) of the body, empty when left out */
        if (a < 0) {
            f = b < size ? size - b : 0;
            l = size;
        } else {
            f = a;
            l = (b < 0 || b >= size) ? size : b + 1;
        }
        if (f < l) {
            total += (unsigned __int128) (l - f);
            if (total > INT64_MAX) {
                return FY_HTTP_RANGE_UNSATISFIABLE;     /* the sum */
            }
            if (first >= 0) {
                return FY_HTTP_RANGE_IGNORE;    /* a second one */
            }
            first = f;
            lastb = l - 1;
        } else if (f == 0) {
            return FY_HTTP_RANGE_IGNORE;        /* of an empty body */
        }
        if (q == last) {
            break;
        }
    }
    if (first < 0) {
        return FY_HTTP_RANGE_UNSATISFIABLE;
    }
    *start = first;
    *end = lastb;
    return FY_HTTP_RANGE_OK;
}


/* The first n bytes of data, big-endian. */
static uint64_t
be(const uint8_t *data, size_t n)
{
    uint64_t  v = 0;

    while (n--) {
        v = v << 8 | *data++;
    }
    return v;
}

/* The file size, from the first byte or more; *used: how many. */
static off_t
pick_size(const uint8_t *data, size_t size, size_t *used)
{
    size_t  n;

    *used = fy_min(size, 1);
    if (size == 0) {
        return 100;
    }

    switch (data[0] % 5) {
    case 0:
        return data[0] / 5;                 /* 0..51 */
    case 1:
        n = fy_min(size - 1, 2);
        *used += n;
        return (off_t) be(data + 1, n);     /* up to 65535 */
    case 2:
        n = fy_min(size - 1, 8);
        *used += n;
        return (off_t) (be(data + 1, n) & INT64_MAX);
    case 3:
        return INT64_MAX;
    default:
        return 0;
    }
}


static int
parse(const u_char *v, size_t len, off_t size, off_t *start, off_t *end)
{
    u_char  *copy;
    int      rc;

    /* exact size: ASan sees any read past the value */
    copy = malloc(len ? len : 1);
    memcpy(copy, v, len);
    rc = fy_http_parse_range(copy, len, size, start, end);
    free(copy);

    return rc;
}


/* fy_http_parse_ranges on [data, len) of fsize bytes with max; rc, s, e:
 * fy_http_parse_range's answer for the same value. */
static void
check_ranges(const uint8_t *data, size_t len, off_t fsize, int max, int rc,
             off_t s, off_t e)
{
    fy_http_range_t  *out;
    u_char           *copy;
    off_t             total = 0;
    int               rcn, rcf, n, n2, i;

    copy = malloc(len ? len : 1);
    memcpy(copy, data, len);
    n = -7;
    rcn = fy_http_parse_ranges(copy, len, fsize, max, NULL, &n);
    fy_fuzz_assert(rcn == FY_HTTP_RANGE_OK || rcn == FY_HTTP_RANGE_IGNORE
                   || rcn == FY_HTTP_RANGE_UNSATISFIABLE);
    if (rcn != FY_HTTP_RANGE_OK) {
        fy_fuzz_assert(n == 0);
    } else {
        fy_fuzz_assert(n >= 1 && n <= max);
        out = malloc((size_t) n * sizeof(*out));
        n2 = -7;
        rcf = fy_http_parse_ranges(copy, len, fsize, max, out, &n2);
        fy_fuzz_assert(rcf == rcn && n2 == n);
        for (i = 0; i < n; i++) {
            fy_fuzz_assert(0 <= out[i].start && out[i].start <= out[i].end
                           && out[i].end < fsize);
            total += out[i].end - out[i].start + 1;
        }
        fy_fuzz_assert(total <= fsize);
        if (memchr(data, ',', len) == NULL) {
            fy_fuzz_assert(n == 1 && out[0].start == s && out[0].end == e);
        }
        free(out);
    }
    if (memchr(data, ',', len) == NULL) {
        fy_fuzz_assert(rcn == rc);
    }
    free(copy);
}


int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    off_t     fsize, s, e, rs, re, s2, e2;
    size_t    used, len, i;
    u_char   *v;
    int       rc, ref, rc2;

    size = fy_min(size, FY_FUZZ_MAX_LEN);
    fsize = pick_size(data, size, &used);
    data += used;
    len = size - used;

    s = e = -7;
    rc = parse(data, len, fsize, &s, &e);

    fy_fuzz_assert(rc == FY_HTTP_RANGE_OK || rc == FY_HTTP_RANGE_IGNORE
                   || rc == FY_HTTP_RANGE_UNSATISFIABLE);

    if (rc == FY_HTTP_RANGE_OK) {
        fy_fuzz_assert(fsize > 0);
        fy_fuzz_assert(0 <= s && s <= e && e < fsize);

    } else {
        fy_fuzz_assert(s == -7 && e == -7);
    }

    rs = re = -7;
    ref = ref_range(data, len, fsize, &rs, &re);
    if (rc != ref || s != rs || e != re) {
        fprintf(stderr, "value \"%.*s\" of %lld bytes: ferry %d %lld-%lld, "
                "reference %d %lld-%lld\n", (int) len, data,
                (long long) fsize, rc, (long long) s, (long long) e, ref,
                (long long) rs, (long long) re);
        fy_fuzz_assert(rc == ref && s == rs && e == re);
    }

    /* "bytes" in another case, and spaces after the value: same answer */
    v = malloc(len + 2);
    memcpy(v, data, len);
    for (i = 0; i < fy_min(len, 5); i++) {
        v[i] ^= (u_char) (((v[i] | 0x20) >= 'a' && (v[i] | 0x20) <= 'z')
                          ? 0x20 : 0);
    }
    s2 = e2 = -7;
    rc2 = parse(v, len, fsize, &s2, &e2);
    fy_fuzz_assert(rc2 == rc && s2 == s && e2 == e);

    /* (not to "bytes=" alone, the whole: "bytes=  " is malformed; a
     * header's value never ends in spaces anyway) */
    memcpy(v, data, len);
    v[len] = ' ';
    v[len + 1] = ' ';
    s2 = e2 = -7;
    rc2 = parse(v, len + 2, fsize, &s2, &e2);
    fy_fuzz_assert(len < 7 || (rc2 == rc && s2 == s && e2 == e));
    free(v);

    check_ranges(data, len, fsize, INT_MAX, rc, s, e);
    check_ranges(data, len, fsize, 1, rc, s, e);
    check_ranges(data, len, fsize, 2, rc, s, e);

    return 0;
}
