/*
 * test_dispatch.c -- the worker-dispatch strategies, and how
 * fy_dispatch_pick() keeps full workers out of their way, on fake
 * candidate arrays: no processes, no shared memory, just the picking
 * rules.
 */

#include "fy_core.h"
#include "fy_dispatch.h"
#include "fy_tap.h"


#define NCAND  8


/* All candidates usable and idle. */
static void
cands_init(fy_dispatch_cand_t *c, int n)
{
    int  i;

    memset(c, 0, n * sizeof(fy_dispatch_cand_t));

    for (i = 0; i < n; i++) {
        c[i].usable = 1;
    }
}


/* Picks k times; the chosen indexes go to out[].  Returns out. */
static int *
pick_seq(const fy_dispatch_ops_t *ops, fy_dispatch_state_t *st,
    const fy_dispatch_cand_t *c, int n, int k, int *out)
{
    int  i;

    for (i = 0; i < k; i++) {
        out[i] = ops->pick(st, c, n);
    }

    return out;
}


/* Formats a pick sequence as "0 1 2" for is_str(). */
static const char *
seq_str(const int *v, int k)
{
    static char  buf[256];
    int          i;
    size_t       len;

    buf[0] = '\0';
    len = 0;

    for (i = 0; i < k && len < sizeof(buf) - 16; i++) {
        len += snprintf(buf + len, sizeof(buf) - len, "%s%d",
                        i ? " " : "", v[i]);
    }

    return buf;
}


static void
test_round_robin(void)
{
    int                  i, seq[16], count[4];
    fy_dispatch_cand_t   c[NCAND];
    fy_dispatch_state_t  st;
    const fy_dispatch_ops_t  *rr = &fy_dispatch_round_robin;

    cands_init(c, 4);
    st.cursor = 0;
    is_str(seq_str(pick_seq(rr, &st, c, 4, 8, seq), 8), "0 1 2 3 0 1 2 3",
           "rr: strict rotation over 4");

    /* counters are ignored by round_robin */
    cands_init(c, 4);
    c[0].active = 1000;
    c[1].rss = 1 << 30;
    st.cursor = 0;
    is_str(seq_str(pick_seq(rr, &st, c, 4, 4, seq), 4), "0 1 2 3",
           "rr: load does not matter");

    cands_init(c, 4);
    st.cursor = 2;
    is_str(seq_str(pick_seq(rr, &st, c, 4, 5, seq), 5), "2 3 0 1 2",
           "rr: starts at the cursor");
    is_int(st.cursor, 3, "rr: cursor is chosen + 1");

    cands_init(c, 5);
    c[1].usable = 0;
    c[3].usable = 0;
    st.cursor = 0;
    is_str(seq_str(pick_seq(rr, &st, c, 5, 6, seq), 6), "0 2 4 0 2 4",
           "rr: unusable skipped");

    /* a candidate becoming unusable mid-rotation costs nobody a turn */
    cands_init(c, 4);
    st.cursor = 0;
    pick_seq(rr, &st, c, 4, 1, seq);
    c[1].usable = 0;
    is_int(rr->pick(&st, c, 4), 2, "rr: skips newly unusable to the next");
    c[1].usable = 1;
    is_int(rr->pick(&st, c, 4), 3, "rr: then continues in order");
    is_int(rr->pick(&st, c, 4), 0, "rr: and wraps");

    cands_init(c, 4);
    for (i = 0; i < 4; i++) {
        c[i].usable = 0;
    }
    st.cursor = 1;
    is_int(rr->pick(&st, c, 4), -1, "rr: all unusable -> -1");
    is_int(st.cursor, 1, "rr: cursor untouched on -1");
    is_int(rr->pick(&st, c, 0), -1, "rr: n == 0 -> -1");

    /* the worker table shrank under the cursor (reload) */
    cands_init(c, 3);
    st.cursor = 7;
    is_int(rr->pick(&st, c, 3), 1, "rr: cursor past the end wraps");

    cands_init(c, 1);
    st.cursor = 0;
    is_str(seq_str(pick_seq(rr, &st, c, 1, 3, seq), 3), "0 0 0",
           "rr: single candidate");

    cands_init(c, 4);
    memset(count, 0, sizeof(count));
    st.cursor = 0;
    for (i = 0; i < 400; i++) {
        count[rr->pick(&st, c, 4)]++;
    }
    ok(count[0] == 100 && count[1] == 100 && count[2] == 100
       && count[3] == 100,
       "rr: 400 picks over 4 -> 100 each (%d %d %d %d)",
       count[0], count[1], count[2], count[3]);
}


static void
test_least_conn(void)
{
    int                  i, w, seq[16], count[4];
    fy_dispatch_cand_t   c[NCAND];
    fy_dispatch_state_t  st;
    const fy_dispatch_ops_t  *lc = &fy_dispatch_least_conn;

    cands_init(c, 4);
    c[0].active = 5;
    c[1].active = 3;
    c[2].active = 1;
    c[3].active = 4;
    st.cursor = 0;
    is_int(lc->pick(&st, c, 4), 2, "lc: picks the minimum");
    is_int(st.cursor, 3, "lc: cursor is chosen + 1");
    st.cursor = 3;
    is_int(lc->pick(&st, c, 4), 2, "lc: minimum wins from any cursor");

    cands_init(c, 4);
    c[0].active = 2;
    c[1].active = 1;
    c[1].inflight = 3;
    c[2].active = 3;
    c[3].active = 0;
    c[3].inflight = 4;
    st.cursor = 0;
    is_int(lc->pick(&st, c, 4), 0, "lc: inflight counted (2 < 1+3, 3, 0+4)");

    cands_init(c, 4);
    st.cursor = 0;
    is_str(seq_str(pick_seq(lc, &st, c, 4, 8, seq), 8), "0 1 2 3 0 1 2 3",
           "lc: all equal behaves like round robin");

    cands_init(c, 4);
    c[0].active = 1;
    c[2].active = 1;
    st.cursor = 0;
    is_str(seq_str(pick_seq(lc, &st, c, 4, 4, seq), 4), "1 3 1 3",
           "lc: ties among the minimum rotate");
    st.cursor = 2;
    is_int(lc->pick(&st, c, 4), 3, "lc: tie goes to the first at/after cursor");
    st.cursor = 3;
    is_int(lc->pick(&st, c, 4), 3, "lc: cursor on a minimum takes it");

    cands_init(c, 4);
    c[1].usable = 0;
    c[0].active = 9;
    c[2].active = 7;
    c[3].active = 8;
    st.cursor = 0;
    is_int(lc->pick(&st, c, 4), 2, "lc: unusable idle worker skipped");

    /* counting what we hand out as inflight spreads load evenly */
    cands_init(c, 4);
    c[0].active = 3;
    st.cursor = 0;
    memset(count, 0, sizeof(count));
    for (i = 0; i < 21; i++) {
        w = lc->pick(&st, c, 4);
        count[w]++;
        c[w].inflight++;
    }
    ok(count[0] == 3 && count[1] == 6 && count[2] == 6 && count[3] == 6,
       "lc: simulated inflight levels load (%d %d %d %d)",
       count[0], count[1], count[2], count[3]);

    cands_init(c, 3);
    for (i = 0; i < 3; i++) {
        c[i].usable = 0;
    }
    st.cursor = 2;
    is_int(lc->pick(&st, c, 3), -1, "lc: all unusable -> -1");
    is_int(st.cursor, 2, "lc: cursor untouched on -1");
    is_int(lc->pick(&st, c, 0), -1, "lc: n == 0 -> -1");

    /* huge counters must not overflow into a false minimum */
    cands_init(c, 2);
    c[0].active = 5;
    c[0].inflight = UINT64_MAX;          /* 0 - 1: a miscounted inflight */
    c[1].active = 1000;
    st.cursor = 0;
    is_int(lc->pick(&st, c, 2), 1, "lc: wrapped active + inflight is not 4");
}


static void
test_least_mem(void)
{
    int                  seq[16];
    fy_dispatch_cand_t   c[NCAND];
    fy_dispatch_state_t  st;
    const fy_dispatch_ops_t  *lm = &fy_dispatch_least_mem;

    cands_init(c, 4);
    c[0].rss = 40 << 20;
    c[1].rss = 30 << 20;
    c[2].rss = 10 << 20;
    c[3].rss = 20 << 20;
    st.cursor = 0;
    is_int(lm->pick(&st, c, 4), 2, "lm: picks the minimum rss");
    is_int(st.cursor, 3, "lm: cursor is chosen + 1");
    is_int(lm->pick(&st, c, 4), 2, "lm: minimum wins again from cursor 3");

    c[2].active = 1000;
    is_int(lm->pick(&st, c, 4), 2, "lm: connections do not matter");

    c[2].usable = 0;
    is_int(lm->pick(&st, c, 4), 3, "lm: unusable minimum skipped");

    cands_init(c, 4);
    c[0].rss = 10 << 20;
    c[1].rss = 20 << 20;
    c[2].rss = 10 << 20;
    c[3].rss = 10 << 20;
    st.cursor = 0;
    is_str(seq_str(pick_seq(lm, &st, c, 4, 6, seq), 6), "0 2 3 0 2 3",
           "lm: ties rotate");

    /* unreported (rss 0) counts as the smallest reported rss */
    cands_init(c, 4);
    c[0].rss = 50 << 20;
    c[1].rss = 0;
    c[2].rss = 30 << 20;
    c[3].rss = 40 << 20;
    st.cursor = 0;
    is_str(seq_str(pick_seq(lm, &st, c, 4, 6, seq), 6), "1 2 1 2 1 2",
           "lm: unreported ties with the smallest reported");

    c[2].rss = 10 << 20;
    st.cursor = 0;
    is_str(seq_str(pick_seq(lm, &st, c, 4, 4, seq), 4), "1 2 1 2",
           "lm: unreported follows the smallest as it changes");

    /* the smallest reported is taken over usable candidates only */
    c[2].usable = 0;
    st.cursor = 0;
    is_str(seq_str(pick_seq(lm, &st, c, 4, 4, seq), 4), "1 3 1 3",
           "lm: unreported vs usable minimum only");

    cands_init(c, 4);
    st.cursor = 1;
    is_str(seq_str(pick_seq(lm, &st, c, 4, 5, seq), 5), "1 2 3 0 1",
           "lm: nobody reported -> round robin");

    cands_init(c, 3);
    c[0].rss = 5 << 20;
    c[1].usable = 0;
    c[2].usable = 0;
    st.cursor = 0;
    is_str(seq_str(pick_seq(lm, &st, c, 3, 3, seq), 3), "0 0 0",
           "lm: sole usable always picked");

    cands_init(c, 2);
    c[0].usable = 0;
    c[1].usable = 0;
    st.cursor = 1;
    is_int(lm->pick(&st, c, 2), -1, "lm: all unusable -> -1");
    is_int(st.cursor, 1, "lm: cursor untouched on -1");
    is_int(lm->pick(&st, c, 0), -1, "lm: n == 0 -> -1");
}


/* Picks k times through fy_dispatch_pick(), counting each pick as in
 * flight to the chosen worker as the master does. */
static int *
pick_full_seq(const fy_dispatch_ops_t *ops, fy_dispatch_state_t *st,
    fy_dispatch_cand_t *c, int n, int k, int *out)
{
    int  i;

    for (i = 0; i < k; i++) {
        out[i] = fy_dispatch_pick(ops, st, c, n);
        if (out[i] >= 0) {
            c[out[i]].inflight++;
        }
    }

    return out;
}


static void
test_full(void)
{
    int                  i, seq[16];
    fy_dispatch_cand_t   c[NCAND], copy[NCAND];
    fy_dispatch_state_t  st;
    const fy_dispatch_ops_t  *rr = &fy_dispatch_round_robin;
    const fy_dispatch_ops_t  *lc = &fy_dispatch_least_conn;
    const fy_dispatch_ops_t  *lm = &fy_dispatch_least_mem;

    /* fy_dispatch_full: used + inflight against the limit */
    cands_init(c, 1);
    c[0].limit = 4;
    c[0].used = 3;
    ok(!fy_dispatch_full(&c[0]), "full: 3 of 4 used has room");
    c[0].inflight = 1;
    ok(fy_dispatch_full(&c[0]), "full: 3 used + 1 in flight of 4 is full");
    c[0].inflight = 0;
    c[0].used = 5;
    ok(fy_dispatch_full(&c[0]), "full: over the limit is full");
    c[0].limit = 0;
    ok(!fy_dispatch_full(&c[0]), "full: no limit known is never full");
    c[0].limit = 4;
    c[0].used = 1;
    c[0].inflight = UINT64_MAX;
    ok(fy_dispatch_full(&c[0]), "full: a wrapped sum is full");

    /* round_robin steps over a full worker without costing it a turn
     * later: the rotation goes on where it was */
    cands_init(c, 3);
    for (i = 0; i < 3; i++) {
        c[i].limit = 4;
    }
    c[1].used = 4;
    st.cursor = 0;
    is_str(seq_str(pick_full_seq(rr, &st, c, 3, 4, seq), 4), "0 2 0 2",
           "rr: full worker skipped");
    c[1].used = 3;
    is_str(seq_str(pick_full_seq(rr, &st, c, 3, 3, seq), 3), "0 1 2",
           "rr: room again: back in the rotation at its turn");

    /* what is handed out in one burst fills a worker up */
    cands_init(c, 2);
    c[0].limit = c[1].limit = 4;
    c[0].used = 2;
    st.cursor = 0;
    is_str(seq_str(pick_full_seq(rr, &st, c, 2, 6, seq), 6), "0 1 0 1 1 1",
           "rr: in-flight connections count toward full");

    /* the array itself is left as it was */
    cands_init(c, 3);
    for (i = 0; i < 3; i++) {
        c[i].limit = 2;
    }
    c[0].used = 2;
    memcpy(copy, c, sizeof(copy));
    st.cursor = 0;
    is_int(fy_dispatch_pick(rr, &st, c, 3), 1, "pick: first with room");
    ok(memcmp(copy, c, sizeof(copy)) == 0, "pick: candidates untouched");

    /* all full: the strategy picks among them as if none were (the
     * worker closes the connection and logs it) */
    cands_init(c, 3);
    for (i = 0; i < 3; i++) {
        c[i].limit = 2;
        c[i].used = 2;
    }
    st.cursor = 1;
    is_str(seq_str(pick_full_seq(rr, &st, c, 3, 4, seq), 4), "1 2 0 1",
           "rr: all full -> plain rotation");

    /* full and unusable: nobody */
    cands_init(c, 2);
    c[0].usable = 0;
    c[1].limit = 1;
    c[1].used = 1;
    st.cursor = 0;
    is_int(fy_dispatch_pick(rr, &st, c, 2), 1,
           "pick: the only usable one, full, is still picked");
    c[1].usable = 0;
    is_int(fy_dispatch_pick(rr, &st, c, 2), -1, "pick: none usable -> -1");
    is_int(fy_dispatch_pick(rr, &st, c, 0), -1, "pick: n == 0 -> -1");

    /* an unusable worker with room does not count as room */
    cands_init(c, 3);
    for (i = 0; i < 3; i++) {
        c[i].limit = 2;
        c[i].used = 2;
    }
    c[2].usable = 0;
    c[2].used = 0;
    st.cursor = 0;
    is_str(seq_str(pick_full_seq(rr, &st, c, 3, 2, seq), 2), "0 1",
           "pick: room on an unusable worker is no room");

    /* least_conn: a worker full of upstream connections has few
     * clients (active) but no room (used) */
    cands_init(c, 2);
    c[0].limit = c[1].limit = 4;
    c[0].active = 2;
    c[0].used = 4;
    c[1].active = 3;
    c[1].used = 3;
    st.cursor = 0;
    is_int(fy_dispatch_pick(lc, &st, c, 2), 1,
           "lc: fewest clients but full -> the other");

    /* least_mem: the smallest worker is full */
    cands_init(c, 3);
    for (i = 0; i < 3; i++) {
        c[i].limit = 4;
    }
    c[0].rss = 10 << 20;
    c[0].used = 4;
    c[1].rss = 30 << 20;
    c[2].rss = 20 << 20;
    st.cursor = 0;
    is_str(seq_str(pick_full_seq(lm, &st, c, 3, 3, seq), 3), "2 2 2",
           "lm: smallest rss but full -> the next smallest");
    c[2].used = 1;      /* 1 + 3 in flight: full as well */
    is_int(fy_dispatch_pick(lm, &st, c, 3), 1,
           "lm: then the next one with room");
}


static void
test_find(void)
{
    const fy_dispatch_ops_t  *ops;
    const char               *s;

    ok(fy_dispatch_find("round_robin", 11) == &fy_dispatch_round_robin,
       "find: round_robin");
    ok(fy_dispatch_find("least_conn", 10) == &fy_dispatch_least_conn,
       "find: least_conn");
    ok(fy_dispatch_find("least_mem", 9) == &fy_dispatch_least_mem,
       "find: least_mem");

    is_str(fy_dispatch_round_robin.name, "round_robin", "name round_robin");
    is_str(fy_dispatch_least_conn.name, "least_conn", "name least_conn");
    is_str(fy_dispatch_least_mem.name, "least_mem", "name least_mem");

    /* counted, not NUL-terminated: the config parser passes slices */
    s = "least_conn;";
    ops = fy_dispatch_find(s, 10);
    ok(ops == &fy_dispatch_least_conn, "find: counted string");

    ok(fy_dispatch_find("random", 6) == NULL, "find: unknown name -> NULL");
    ok(fy_dispatch_find("least", 5) == NULL, "find: prefix -> NULL");
    ok(fy_dispatch_find("least_memory", 12) == NULL, "find: longer -> NULL");
    ok(fy_dispatch_find("", 0) == NULL, "find: empty -> NULL");
    ok(fy_dispatch_find("Round_Robin", 11) == NULL,
       "find: case-sensitive");
}


int
main(void)
{
    test_round_robin();
    test_least_conn();
    test_least_mem();
    test_full();
    test_find();

    return done_testing();
}
