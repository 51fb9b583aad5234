/*
 * test_charset.c -- the charset recoder (fy_http_charset_recode.c) with
 * a small map made here as charset_map would make it (80 the euro sign,
 * C0 small yu, C1 small a): single-byte both ways, to UTF-8, and from
 * UTF-8 with characters the map lacks ("&#N;"), bytes that are no UTF-8
 * ('?'), and a sequence cut by the end of the body ('?').  Every input
 * is also fed cut in two and in three pieces at every position, and
 * byte by byte, with output room from FY_RECODE_MAX up: the output must
 * not change.  Then through sub_filter's stream (fy_http_sub_stream_recode)
 * with a string replaced before the recoding.  The byte table of a
 * single-byte recoder (fy_http_recode_table, for ranges recoded in
 * place) against the recoder, for all 256 bytes.
 */
#include "fy_core.h"
#include "fy_http_charset.h"
#include "fy_http_sub.h"
#include "fy_tap.h"

static fy_http_charset_map_t  map;          /* "k" to "w" or to UTF-8 */
static u_char                 page00[256];  /* ASCII */
static u_char                 page04[256];  /* Cyrillic code points */
static u_char                 page20[256];  /* the euro sign's */

static void
map_init(int utf8)
{
    unsigned  i;

    memset(&map, 0, sizeof(map));
    memset(page00, 0, sizeof(page00));
    memset(page04, 0, sizeof(page04));
    memset(page20, 0, sizeof(page20));
    map.forward.map = map.backward.map = &map;
    map.forward.kind = utf8 ? FY_RECODE_TO_UTF8 : FY_RECODE_BYTE;
    map.backward.kind = utf8 ? FY_RECODE_FROM_UTF8 : FY_RECODE_BYTE;
    map.backward.back = !utf8;
    map.from8[0] = page00;
    for (i = 0; i < 256; i++) {
        map.s2d[i] = map.d2s[i] = i < 0x80 ? (u_char) i : '?';
        map.to8[i][0] = 1;
        map.to8[i][1] = i < 0x80 ? (u_char) i : '?';
        if (i < 0x80) {
            map.from8[0][i] = (u_char) i;
        }
    }
    if (!utf8) {
        map.s2d[0xc0] = 0xfe;  map.d2s[0xfe] = 0xc0;
        map.s2d[0xc1] = 0xe0;  map.d2s[0xe0] = 0xc1;
        return;
    }
    memcpy(map.to8[0x80], "\3\xe2\x82\xac", 4);     /* U+20AC */
    memcpy(map.to8[0xc0], "\2\xd1\x8e", 3);         /* U+044E */
    memcpy(map.to8[0xc1], "\2\xd0\xb0", 3);         /* U+0430 */
    map.from8[0x04] = page04;
    map.from8[0x20] = page20;
    page04[0x4e] = 0xc0;
    page04[0x30] = 0xc1;
    page20[0xac] = 0x80;
}

/* Recode in (cut at the given positions, ascending, npos of them) with
 * room bytes of output at a time; the output into out, its length. */
static size_t
run(const fy_http_recode_t *rc, const char *in, size_t len,
    const size_t *pos, unsigned npos, size_t room, u_char *out)
{
    fy_http_recode_state_t  st;
    const u_char           *p, *end;
    size_t                  n = 0, from = 0, to;
    unsigned                k;

    memset(&st, 0, sizeof(st));
    for (k = 0; k <= npos; k++) {
        to = k < npos ? pos[k] : len;
        p = (const u_char *) in + from;
        end = (const u_char *) in + to;
        while (p < end) {
            n += fy_http_recode(rc, &st, &p, end, out + n, room);
        }
        from = to;
    }
    n += fy_http_recode_end(&st, out + n);
    return n;
}

/* The output of in is want, however it is cut. */
static void
check(const fy_http_recode_t *rc, const char *in, size_t len,
      const char *want, size_t wlen, const char *name)
{
    u_char    out[4096];
    size_t    pos[2], room, n;
    unsigned  bad = 0, runs = 0;

    for (room = FY_RECODE_MAX; room <= FY_RECODE_MAX + 16; room += 3) {
        n = run(rc, in, len, NULL, 0, room, out);
        runs++;
        bad += n != wlen || memcmp(out, want, wlen) != 0;
        for (pos[0] = 0; pos[0] <= len; pos[0]++) {
            n = run(rc, in, len, pos, 1, room, out);
            runs++;
            bad += n != wlen || memcmp(out, want, wlen) != 0;
            for (pos[1] = pos[0]; pos[1] <= len; pos[1]++) {
                n = run(rc, in, len, pos, 2, room, out);
                runs++;
                bad += n != wlen || memcmp(out, want, wlen) != 0;
            }
        }
    }
    ok(bad == 0, "%s (%u of %u cuts wrong)", name, bad, runs);
}

/* Byte by byte through sub_filter's stream, "abc" replaced first. */
static void
check_stream(const fy_http_recode_t *rc, const char *in, const char *want,
             const char *name)
{
    fy_pool_t             *pool = fy_pool_create(4096);
    fy_http_sub_pair_t     pair = { fy_string("abc"), fy_string("xyz") };
    fy_http_sub_stream_t  *s;
    u_char                 out[4096], *data;
    size_t                 n = 0, len, i, inlen = strlen(in);
    int                    guard = 0;

    s = fy_http_sub_stream_create(pool, &pair, 1, 0, FY_HTTP_SUB_OUT);
    ok(s && fy_http_sub_stream_recode(s, pool, rc) == FY_OK,
       "%s: a stream that recodes", name);
    for (i = 0; i <= inlen && guard < 100000; guard++) {
        if (!fy_http_sub_stream_wants_input(s)) {
            if (fy_http_sub_stream_out(s, &data, &len)) {
                memcpy(out + n, data, len);
                n += len;
            } else if (fy_http_sub_stream_done(s)) {
                break;
            }
            continue;
        }
        if (i < inlen) {
            fy_http_sub_stream_input(s, (const u_char *) in + i, 1);
        } else {
            fy_http_sub_stream_finish(s);
        }
        i++;
    }
    while (!fy_http_sub_stream_done(s) && guard++ < 100000) {
        if (fy_http_sub_stream_out(s, &data, &len)) {
            memcpy(out + n, data, len);
            n += len;
        }
    }
    ok(n == strlen(want) && memcmp(out, want, n) == 0,
       "%s: byte by byte, the string replaced, then recoded", name);
    fy_pool_destroy(pool);
}

/* fy_http_recode_table (a static file's range recoded in place): byte
 * for byte what the recoder makes of each of the 256. */
static void
check_table(const fy_http_recode_t *rc, const char *name)
{
    const u_char            *t = fy_http_recode_table(rc);
    fy_http_recode_state_t   st;
    u_char                   in[256], out[256 + FY_RECODE_MAX];
    const u_char            *p = in;
    unsigned                 i;
    size_t                   n;

    for (i = 0; i < 256; i++) {
        in[i] = (u_char) i;
    }
    memset(&st, 0, sizeof(st));
    n = fy_http_recode(rc, &st, &p, in + 256, out, sizeof(out));
    ok(t != NULL && n == 256 && p == in + 256, "%s: a table, 256 bytes",
       name);
    for (i = 0; t && i < 256 && t[i] == out[i]; i++) { /* void */ }
    ok(i == 256, "%s: the table recodes every byte as the recoder", name);
}

int
main(void)
{
    static const char  koi[] = "a\xc1\xc0 \x80 b\xff";
    static const char  utf_in[] =
        "a\xd0\xb0\xd1\x8e \xe2\x82\xac "       /* mapped */
        "\xd0\xb1 \xe2\x9c\x93 \xf0\x9f\x98\x80 "  /* not: entities */
        "\xff \x80 \xc0\xaf \xe0\x80\x80 \xf5\x80\x80\x80 "  /* no UTF-8 */
        "\xd0";                                  /* cut by the end */

    map_init(0);
    check(&map.forward, "a\xc0\xc1\xc2z", 5, "a\xfe\xe0?z", 5,
          "single-byte: mapped bytes, an unmapped one is '?', ASCII kept");
    check(&map.backward, "\xfe\xe0\xfd", 3, "\xc0\xc1?", 3,
          "single-byte, the map backwards");
    check_table(&map.forward, "single-byte");
    check_table(&map.backward, "single-byte backwards");

    map_init(1);
    check(&map.forward, koi, sizeof(koi) - 1,
          "a\xd0\xb0\xd1\x8e \xe2\x82\xac b?",
          sizeof("a\xd0\xb0\xd1\x8e \xe2\x82\xac b?") - 1,
          "to UTF-8: one to three bytes each, an unmapped one '?'");
    check(&map.backward, utf_in, sizeof(utf_in) - 1,
          "a\xc1\xc0 \x80 &#1073; &#10003; &#128512; ? ? ?? ??? ???? ?",
          sizeof("a\xc1\xc0 \x80 &#1073; &#10003; &#128512; ? ? ?? ??? ???? ?")
          - 1,
          "from UTF-8: mapped, \"&#N;\" for the rest, '?' for no UTF-8 "
          "and for a cut tail");
    check_stream(&map.backward, "abc \xd1\x8e abc", "xyz \xc0 xyz",
                 "from UTF-8");
    check_stream(&map.forward, "\xc1 abc", "\xd0\xb0 xyz", "to UTF-8");
    ok(fy_http_recode_table(&map.forward) == NULL
       && fy_http_recode_table(&map.backward) == NULL
       && fy_http_recode_table(NULL) == NULL,
       "no byte table to or from UTF-8 (their lengths change)");

    return done_testing();
}
