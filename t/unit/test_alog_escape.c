/*
 * test_alog_escape.c -- fy_alog_escape (src/core/fy_alog.c), the
 * escape= of http's and stream's log_format, against a byte-at-a-time
 * definition: every byte value at every place of values up to 48 bytes
 * (the sixteen-byte steps and the tail alike), pseudo-random values,
 * and every output size, where an escape is never cut in half.
 */

#include "fy_core.h"
#include "fy_alog.h"
#include "fy_tap.h"

/* The definition: nginx's escaping, one byte after the other, into at
 * most size bytes. */
static size_t
ref_escape(unsigned esc, const u_char *v, size_t n, u_char *buf, size_t size)
{
    static const char  hex[] = "0123456789ABCDEF";
    size_t             len = 0, i, w;
    u_char             c, e[6];

    for (i = 0; i < n; i++) {
        c = v[i];
        w = 1;
        e[0] = c;
        if (esc == FY_ALOG_ESC_DEFAULT
            && (c == '"' || c == '\\' || c < 0x20 || c >= 0x7f))
        {
            memcpy(e, "\\x", 2);
            e[2] = (u_char) hex[c >> 4];
            e[3] = (u_char) hex[c & 15];
            w = 4;
        } else if (esc == FY_ALOG_ESC_JSON && (c == '"' || c == '\\')) {
            e[0] = '\\';
            e[1] = c;
            w = 2;
        } else if (esc == FY_ALOG_ESC_JSON && c < 0x20) {
            memcpy(e, "\\u00", 4);
            e[4] = (u_char) hex[c >> 4];
            e[5] = (u_char) hex[c & 15];
            w = 6;
        }
        if (len + w > size) {
            break;
        }
        memcpy(buf + len, e, w);
        len += w;
    }
    return len;
}

/* whether fy_alog_escape gives what the definition gives for v */
static int
same(unsigned esc, const u_char *v, size_t n, size_t size)
{
    u_char  got[6 * 128 + 16], want[6 * 128 + 16];
    size_t  g, w;

    memset(got, 0xee, sizeof(got));
    g = fy_alog_escape(esc, v, n, got, size);
    w = ref_escape(esc, v, n, want, size);
    /* and nothing written past the length */
    return g == w && memcmp(got, want, g) == 0
           && (g == sizeof(got) || got[g] == 0xee);
}

static const char  *names[] = { "none", "default", "json" };

static void
test_every_byte(void)
{
    u_char    v[48];
    unsigned  esc, c, bad, n;
    size_t    len, at;

    for (esc = FY_ALOG_ESC_NONE; esc <= FY_ALOG_ESC_JSON; esc++) {
        bad = n = 0;
        for (len = 1; len <= sizeof(v); len++) {
            for (at = 0; at < len; at++) {
                for (c = 0; c < 256; c++) {
                    memset(v, 'a', len);
                    v[at] = (u_char) c;
                    n++;
                    bad += !same(esc, v, len, 6 * len);
                }
            }
        }
        ok(bad == 0, "escape=%s: %u of %u values with each byte at each "
           "place as defined", names[esc], n - bad, n);
    }
}

static void
test_random(void)
{
    u_char    v[128];
    uint32_t  x = 2463534242u;
    unsigned  esc, k, bad, n;
    size_t    len, i, size;

    for (esc = FY_ALOG_ESC_NONE; esc <= FY_ALOG_ESC_JSON; esc++) {
        bad = n = 0;
        for (k = 0; k < 2000; k++) {
            len = k % sizeof(v);
            for (i = 0; i < len; i++) {
                x ^= x << 13;
                x ^= x >> 17;
                x ^= x << 5;
                /* mostly printable, as values are, some of anything */
                v[i] = (u_char) (x % 8 ? 0x20 + (x >> 8) % 0x5f : x >> 8);
            }
            /* the whole value, and every size it may be cut to */
            for (size = 0; size <= 6 * len; size += 1 + (size > 64) * 7) {
                n++;
                bad += !same(esc, v, len, size);
            }
        }
        ok(bad == 0, "escape=%s: %u of %u pseudo-random values and sizes "
           "as defined, no escape cut in half", names[esc], n - bad, n);
    }
}

int
main(void)
{
    u_char  out[64];
    size_t  n;

    n = fy_alog_escape(FY_ALOG_ESC_DEFAULT, (const u_char *) "a\"b\n", 4,
                       out, sizeof(out));
    is_int(n, 10, "default: 'a\"b\\n' is 10 bytes");
    ok(n == 10 && memcmp(out, "a\\x22b\\x0A", 10) == 0,
       "default: \\x22 and \\x0A, upper-case hex (nginx)");
    n = fy_alog_escape(FY_ALOG_ESC_JSON, (const u_char *) "a\"b\n\xc3\xa9",
                       6, out, sizeof(out));
    ok(n == 12 && memcmp(out, "a\\\"b\\u000A\xc3\xa9", 12) == 0,
       "json: \\\" and \\u000A, UTF-8 kept");

    test_every_byte();
    test_random();
    return done_testing();
}
