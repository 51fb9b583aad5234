/*
 * test_sub.c -- fy_http_sub_stream_t, sub_filter's streaming matcher:
 * the output for a body cut into pieces at every position (two pieces,
 * three pieces, byte by byte) and with output buffers down to one byte
 * must equal a plain whole-string substitution computed here: leftmost
 * match, at one position the first pair in order wins, ASCII case
 * ignored, "once" replacing each string at its first match only.  With
 * fy_http_sub_stream_wrap (the addition module), the before text ahead
 * of that and the after text behind it, with no pairs too.
 */
#include "fy_core.h"
#include "fy_http_sub.h"
#include "fy_tap.h"

#include <ctype.h>

#define MAXP  4

/* a stream that did not want input after a piece, or was not done */
static int  state_bad;

typedef struct {
    const char  *find[MAXP];
    const char  *repl[MAXP];
    unsigned     n;
    int          once;
    const char  *pre;           /* fy_http_sub_stream_wrap's, or NULL */
    const char  *post;
} cfg_t;

/* The substitution on the whole string, the obvious way. */
static void
reference(const cfg_t *c, const char *in, char *out)
{
    size_t    i = 0, len = strlen(in), k, fl;
    int       used[MAXP] = { 0 };
    unsigned  p;

    strcpy(out, c->pre ? c->pre : "");
    while (i < len) {
        for (p = 0; p < c->n; p++) {
            if (used[p]) {
                continue;
            }
            fl = strlen(c->find[p]);
            if (fl > len - i) {
                continue;
            }
            for (k = 0; k < fl; k++) {
                if (tolower((u_char) in[i + k]) != c->find[p][k]) {
                    break;
                }
            }
            if (k == fl) {
                break;
            }
        }
        if (p < c->n) {
            strcat(out, c->repl[p]);
            i += strlen(c->find[p]);
            if (c->once) {
                used[p] = 1;
            }
        } else {
            strncat(out, in + i, 1);
            i++;
        }
    }
    strcat(out, c->post ? c->post : "");
}

/* Drain s into out (at *n). */
static void
drain(fy_http_sub_stream_t *s, char *out, size_t *n)
{
    u_char  *d;
    size_t   l;

    while (fy_http_sub_stream_out(s, &d, &l)) {
        memcpy(out + *n, d, l);
        *n += l;
    }
}

/* The stream's output for in cut at the cuts (ascending), with an
 * output buffer of out_size bytes. */
static void
stream(const cfg_t *c, const char *in, const size_t *cuts, unsigned ncuts,
       size_t out_size, char *out)
{
    fy_pool_t             *pool = fy_pool_create(4096);
    fy_http_sub_pair_t     pairs[MAXP];
    fy_http_sub_stream_t  *s;
    size_t                 n = 0, from = 0, to, len = strlen(in);
    unsigned               i;
    char                   piece[256];

    for (i = 0; i < c->n; i++) {
        pairs[i].find.data = (u_char *) c->find[i];
        pairs[i].find.len = strlen(c->find[i]);
        pairs[i].repl.data = (u_char *) c->repl[i];
        pairs[i].repl.len = strlen(c->repl[i]);
    }
    s = fy_http_sub_stream_create(pool, pairs, c->n, c->once, out_size);
    if (c->pre || c->post) {
        fy_http_sub_stream_wrap(s, (const u_char *) (c->pre ? c->pre : ""),
                                c->pre ? strlen(c->pre) : 0,
                                (const u_char *) (c->post ? c->post : ""),
                                c->post ? strlen(c->post) : 0);
    }
    for (i = 0; i <= ncuts; i++) {
        to = i < ncuts ? cuts[i] : len;
        /* each piece in a buffer of its own, overwritten afterwards:
         * the stream must not keep pointers into an old piece */
        memcpy(piece, in + from, to - from);
        fy_http_sub_stream_input(s, (u_char *) piece, to - from);
        drain(s, out, &n);
        state_bad |= !fy_http_sub_stream_wants_input(s);
        memset(piece, '#', sizeof(piece));
        from = to;
    }
    fy_http_sub_stream_finish(s);
    drain(s, out, &n);
    out[n] = '\0';
    state_bad |= !fy_http_sub_stream_done(s);
    fy_pool_destroy(pool);
}

static unsigned  failures;

static void
check_all_splits(const cfg_t *c, const char *in, const char *want)
{
    char      ref[1024], got[1024];
    size_t    cuts[256], len = strlen(in), a, b, outs[] = { 1, 2, 3, 8192 };
    unsigned  o, fails = 0, runs = 0, before = (unsigned) tap_failed;

    reference(c, in, ref);
    if (want) {
        is_str(ref, want, "reference for \"%s\"", in);
    }
    for (o = 0; o < fy_nelems(outs); o++) {
        stream(c, in, NULL, 0, outs[o], got);
        fails += strcmp(got, ref) != 0;
        runs++;
        for (a = 0; a <= len; a++) {
            cuts[0] = a;
            stream(c, in, cuts, 1, outs[o], got);
            fails += strcmp(got, ref) != 0;
            runs++;
            for (b = a; b <= len && len <= 40; b++) {
                cuts[1] = b;
                stream(c, in, cuts, 2, outs[o], got);
                fails += strcmp(got, ref) != 0;
                runs++;
            }
        }
        for (a = 0; a < len; a++) {
            cuts[a] = a + 1;
        }
        stream(c, in, cuts, len ? (unsigned) len - 1 : 0, outs[o], got);
        fails += strcmp(got, ref) != 0;
        runs++;
    }
    failures += (unsigned) tap_failed - before + fails;
    ok(fails == 0, "\"%s\": %u of %u splits give \"%s\"", in, runs - fails,
       runs, ref);
}

int
main(void)
{
    cfg_t  aab = { { "aab" }, { "X" }, 1, 0, NULL, NULL };
    cfg_t  two = { { "abc", "bcd" }, { "1", "2" }, 2, 0, NULL, NULL };
    cfg_t  pre = { { "abcd", "ab" }, { "L", "S" }, 2, 0, NULL, NULL };
    cfg_t  once = { { "ab", "cd" }, { "<AB>", "<CD>" }, 2, 1, NULL, NULL };
    cfg_t  grow = { { "x" }, { "a long replacement, longer than the "
                               "output buffer" }, 1, 0, NULL, NULL };
    cfg_t  del = { { "del" }, { "" }, 1, 0, NULL, NULL };
    cfg_t  html = { { "<a href=\"http://127.0.0.1:8080/" },
                    { "<a href=\"https://example.com/" }, 1, 0, NULL, NULL };
    cfg_t  wrap = { { NULL }, { NULL }, 0, 0, "<header>", "<footer>" };
    cfg_t  wrap_sub = { { "ab" }, { "X" }, 1, 0, "ab[", "]ab" };
    cfg_t  wrap_after = { { NULL }, { NULL }, 0, 0, NULL, "<footer>" };

    /* overlapping prefixes: the match starts one byte in */
    check_all_splits(&aab, "aaab", "aX");
    check_all_splits(&aab, "aaaab", "aaX");
    check_all_splits(&aab, "aabaab", "XX");
    check_all_splits(&aab, "aaba", "Xa");
    check_all_splits(&aab, "aa", "aa");
    check_all_splits(&aab, "AaB", "X");
    check_all_splits(&aab, "", "");
    /* two strings overlapping in the text: the leftmost wins */
    check_all_splits(&two, "xabcdx", "x1dx");
    check_all_splits(&two, "xbcdabc", "x21");
    /* at one position the first listed wins, even the longer one that
     * needs more bytes to decide */
    check_all_splits(&pre, "abcd ab abc", "L S Sc");
    check_all_splits(&pre, "abc", "Sc");
    /* once: each string once */
    check_all_splits(&once, "ab cd AB CD ab", "<AB> <CD> AB CD ab");
    /* replacements longer than the output buffer, and empty ones */
    check_all_splits(&grow, "axbxc", NULL);
    check_all_splits(&del, "adelbDELcde", "abcde");
    check_all_splits(&html, "<p><A HREF=\"http://127.0.0.1:8080/x\">x</a>"
                     "<a href=\"http://127.0.0.1:8080/y\"></p>", NULL);

    /* the addition module: before and after the body, never searched */
    check_all_splits(&wrap, "body", "<header>body<footer>");
    check_all_splits(&wrap, "", "<header><footer>");
    check_all_splits(&wrap_sub, "xaby", "ab[xXy]ab");
    check_all_splits(&wrap_after, "b", "b<footer>");

    ok(failures == 0, "no failed comparisons");
    ok(!state_bad, "every piece used up, every stream done at its end");
    return done_testing();
}
