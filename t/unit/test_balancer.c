/*
 * test_balancer.c -- the upstream balancers on fake servers: a made-up
 * upstream whose shared slots are a local array, no processes, no
 * sockets; just the picking rules.
 */

#include "fy_core.h"
#include "fy_http.h"
#include "fy_http_balancer.h"
#include "fy_tap.h"


#define MAXP  8

static fy_pool_t      *pool;
static fy_shm_peer_t   slots[MAXP];
static fy_shm_lock_t   lock;
static uint64_t        rnd = 42;
static char            names[MAXP][32];


/* An upstream of n servers with the given weights, using balancer b;
 * every slot zeroed. */
static fy_http_upstream_t *
upstream(const fy_http_balancer_t *b, unsigned n, const unsigned *weights)
{
    fy_http_upstream_t       *u = fy_pcalloc(pool, sizeof(*u));
    fy_http_upstream_peer_t  *peer;
    unsigned                  i;

    fy_array_init(&u->peers, pool, n, sizeof(fy_http_upstream_peer_t));
    for (i = 0; i < n; i++) {
        peer = fy_array_push(&u->peers);
        memset(peer, 0, sizeof(*peer));
        snprintf(names[i], sizeof(names[i]), "10.0.0.%u:80", i + 1);
        peer->name.data = (u_char *) names[i];
        peer->name.len = strlen(names[i]);
        peer->weight = weights ? weights[i] : 1;
        peer->shm = i;
    }
    memset(slots, 0, sizeof(slots));
    u->balancer = b;
    return u;
}

static void
ctx(fy_http_bal_ctx_t *bc, fy_http_upstream_t *u)
{
    memset(bc, 0, sizeof(*bc));
    bc->u = u;
    bc->shm = slots;
    bc->now = 1000000;
    bc->rnd = &rnd;
}

/* Picks k times through fy_http_balancer_get, then finishes each
 * request again (active back to 0) so only the rotation matters. */
static const char *
seq(fy_http_upstream_t *u, int k)
{
    static char        buf[256];
    fy_http_bal_ctx_t  bc;
    size_t             len = 0;
    int                i, p;

    buf[0] = '\0';
    for (i = 0; i < k; i++) {
        ctx(&bc, u);
        p = fy_http_balancer_get(&bc, &lock);
        if (p >= 0) {
            slots[p].active--;
        }
        len += snprintf(buf + len, sizeof(buf) - len, "%s%c", i ? " " : "",
                        p < 0 ? '-' : 'a' + p);
    }
    return buf;
}

static void
test_round_robin(void)
{
    static const unsigned  w511[] = { 5, 1, 1 }, w11[] = { 1, 1 };
    fy_http_upstream_t    *u;
    fy_http_bal_ctx_t      bc;
    unsigned               count[3] = { 0, 0, 0 };
    uint8_t                tried[3] = { 1, 0, 0 };
    int                    i, p;

    u = upstream(&fy_http_balancer_rr, 3, w511);
    is_str(seq(u, 7), "a a b a c a a", "rr 5/1/1: smooth order a a b a c a a");
    is_str(seq(u, 7), "a a b a c a a", "rr 5/1/1: and again");

    u = upstream(&fy_http_balancer_rr, 3, w511);
    for (i = 0; i < 700; i++) {
        ctx(&bc, u);
        p = fy_http_balancer_get(&bc, &lock);
        count[p]++;
    }
    is_int(count[0], 500, "rr 5/1/1: 500 of 700 to a");
    is_int(count[1], 100, "rr 5/1/1: 100 of 700 to b");
    is_int(count[2], 100, "rr 5/1/1: 100 of 700 to c");
    is_int(slots[0].active, 500, "every pick counted as active");
    is_int(slots[0].requests, 500, "every pick counted as a request");

    u = upstream(&fy_http_balancer_rr, 3, w511);
    ctx(&bc, u);
    bc.tried = tried;
    is_int(u->balancer->pick(&bc), 1, "rr: a tried server is skipped");

    u = upstream(&fy_http_balancer_rr, 3, w511);
    slots[0].unavailable_until_ms = 2000000;
    is_str(seq(u, 4), "b c b c", "rr: an unavailable server is skipped");
    slots[0].unavailable_until_ms = 999999;
    is_str(seq(u, 1), "a", "rr: back after its fail_timeout");

    u = upstream(&fy_http_balancer_rr, 1, NULL);
    slots[0].unavailable_until_ms = 2000000;
    is_str(seq(u, 2), "a a", "rr: a group of one is never unavailable");

    u = upstream(&fy_http_balancer_rr, 3, w511);
    slots[1].check_down = 1;
    fy_array_elt(&u->peers, fy_http_upstream_peer_t, 2)->down = 1;
    is_str(seq(u, 3), "a a a", "rr: down (checked or configured) skipped");
    slots[0].check_down = 1;
    is_str(seq(u, 2), "- -", "rr: nothing usable gives -1");

    /* backup only when no primary can */
    u = upstream(&fy_http_balancer_rr, 3, NULL);
    fy_array_elt(&u->peers, fy_http_upstream_peer_t, 2)->backup = 1;
    u->has_backup = 1;
    is_str(seq(u, 4), "a b a b", "backup: not used while primaries work");
    slots[0].check_down = 1;
    slots[1].unavailable_until_ms = 2000000;
    is_str(seq(u, 2), "c c", "backup: used when no primary can");

    /* max_conns counts every worker's requests (the shared active) */
    u = upstream(&fy_http_balancer_rr, 2, w11);
    fy_array_elt(&u->peers, fy_http_upstream_peer_t, 0)->max_conns = 2;
    for (i = 0; i < 6; i++) {
        ctx(&bc, u);
        fy_http_balancer_get(&bc, &lock);
    }
    is_int(slots[0].active, 2, "max_conns=2: a holds 2 requests at most");
    is_int(slots[1].active, 4, "max_conns=2: the rest went to b");

    /* slow_start: half-way through the ramp, half the weight */
    u = upstream(&fy_http_balancer_rr, 2, w11);
    fy_array_elt(&u->peers, fy_http_upstream_peer_t, 0)->slow_start = 10000;
    slots[0].up_since_ms = 1000000 - 5000;
    ctx(&bc, u);
    is_int(fy_http_bal_weight(&bc, 0), FY_BAL_SCALE / 2,
           "slow_start: half-way, half the weight");
    is_int(fy_http_bal_weight(&bc, 1), FY_BAL_SCALE, "other server: full");
    slots[0].up_since_ms = 1000000 - 10000;
    is_int(fy_http_bal_weight(&bc, 0), FY_BAL_SCALE,
           "slow_start: full weight at the end of the ramp");
}

static void
test_least_conn(void)
{
    static const unsigned  w21[] = { 2, 1 };
    fy_http_upstream_t    *u;
    fy_http_bal_ctx_t      bc;

    u = upstream(&fy_http_balancer_lc, 3, NULL);
    slots[0].active = 3;
    slots[1].active = 1;
    slots[2].active = 2;
    ctx(&bc, u);
    is_int(u->balancer->pick(&bc), 1, "least_conn: the fewest active");

    u = upstream(&fy_http_balancer_lc, 3, NULL);
    is_str(seq(u, 6), "a b c a b c", "least_conn: ties by round robin");

    u = upstream(&fy_http_balancer_lc, 2, w21);
    slots[0].active = 3;
    slots[1].active = 1;
    ctx(&bc, u);
    is_int(u->balancer->pick(&bc), 1, "least_conn: 3/2 > 1/1, b");
    slots[0].active = 1;
    slots[1].active = 1;
    ctx(&bc, u);
    is_int(u->balancer->pick(&bc), 0, "least_conn: 1/2 < 1/1, a");

    /* kept busy: the one with most active gets nothing new */
    u = upstream(&fy_http_balancer_lc, 2, NULL);
    {
        fy_http_bal_ctx_t  b2;
        int                i, p, to_b = 0;

        slots[0].active = 5;
        for (i = 0; i < 4; i++) {
            ctx(&b2, u);
            p = fy_http_balancer_get(&b2, &lock);
            to_b += p == 1;
        }
        is_int(to_b, 4, "least_conn: 4 new requests to the idle server");
        ctx(&b2, u);
        p = fy_http_balancer_get(&b2, &lock);
        ok(p == 0 || p == 1, "least_conn: at 5/5 either");
    }
}

/* key i -> "key-i" */
static void
key(fy_http_bal_ctx_t *bc, char *buf, size_t size, int i)
{
    bc->key_len = (size_t) snprintf(buf, size, "key-%d", i);
    bc->key = (u_char *) buf;
}

static void
test_hash(void)
{
    fy_http_upstream_t       *u5, *u4;
    fy_http_upstream_peer_t  *peer;
    fy_http_bal_ctx_t         bc;
    static int                on5[10000];
    char                      kb[32];
    int                       i, p, moved = 0, wrong = 0, bad = 0;
    unsigned                  per[5] = { 0 };

    u5 = upstream(&fy_http_balancer_hash, 5, NULL);
    u5->hash_consistent = 1;
    ok(fy_http_balancer_init(pool, u5) == FY_OK, "consistent: ring built");

    for (i = 0; i < 10000; i++) {
        ctx(&bc, u5);
        key(&bc, kb, sizeof(kb), i);
        on5[i] = u5->balancer->pick(&bc);
        per[on5[i]]++;
    }
    for (i = 0; i < 5; i++) {
        ok(per[i] > 1200 && per[i] < 2800,
           "consistent: server %d holds %u of 10000 keys (about 1/5)",
           i, per[i]);
    }

    /* the same servers without the third one, 10.0.0.3 */
    u4 = upstream(&fy_http_balancer_hash, 5, NULL);
    u4->peers.nelts = 2;
    for (i = 3; i < 5; i++) {
        peer = fy_array_push(&u4->peers);
        *peer = *fy_array_elt(&u5->peers, fy_http_upstream_peer_t, i);
        peer->shm = (unsigned) i - 1;
    }
    u4->hash_consistent = 1;
    fy_http_balancer_init(pool, u4);

    for (i = 0; i < 10000; i++) {
        ctx(&bc, u4);
        key(&bc, kb, sizeof(kb), i);
        p = u4->balancer->pick(&bc);
        p = p >= 2 ? p + 1 : p;     /* back to u5's numbering */
        if (p != on5[i]) {
            moved++;
            wrong += on5[i] != 2;
        }
    }
    ok(moved > 1200 && moved < 2800, "consistent: removing 1 of 5 moved "
       "%d of 10000 keys (about 1/5)", moved);
    is_int(wrong, 0, "consistent: only the removed server's keys moved");

    /* the same with the server down rather than removed */
    for (i = 0; i < 10000; i++) {
        ctx(&bc, u5);
        slots[2].check_down = 1;
        key(&bc, kb, sizeof(kb), i);
        p = u5->balancer->pick(&bc);
        bad += p == 2 || (on5[i] != 2 && p != on5[i]);
    }
    is_int(bad, 0, "consistent: a down server sheds only its own keys");
    slots[2].check_down = 0;

    /* plain hash: stable per key, spread over the servers */
    u5 = upstream(&fy_http_balancer_hash, 3, NULL);
    memset(per, 0, sizeof(per));
    for (i = 0; i < 3000; i++) {
        ctx(&bc, u5);
        key(&bc, kb, sizeof(kb), i % 300);
        p = u5->balancer->pick(&bc);
        if (i < 300) {
            on5[i] = p;
            per[p]++;
        } else {
            bad += p != on5[i % 300];
        }
    }
    is_int(bad, 0, "hash: a key always lands on the same server");
    ok(per[0] > 60 && per[1] > 60 && per[2] > 60,
       "hash: keys spread (%u %u %u)", per[0], per[1], per[2]);
}

static void
test_ip_hash(void)
{
    fy_http_upstream_t  *u;
    fy_http_bal_ctx_t    bc;
    u_char               a[4] = { 192, 168, 7, 1 };
    unsigned             per[4] = { 0 };
    int                  p0, p, i, same = 1;

    u = upstream(&fy_http_balancer_ip_hash, 4, NULL);
    ctx(&bc, u);
    bc.key = a;
    bc.key_len = 4;
    p0 = u->balancer->pick(&bc);
    for (i = 0; i < 255; i++) {
        a[3] = (u_char) i;          /* same /24 */
        ctx(&bc, u);
        bc.key = a;
        bc.key_len = 4;
        same &= u->balancer->pick(&bc) == p0;
    }
    ok(same, "ip_hash: a /24 sticks to one server");

    for (i = 0; i < 400; i++) {
        a[1] = (u_char) i;
        a[2] = (u_char) (i >> 8);
        ctx(&bc, u);
        bc.key = a;
        bc.key_len = 4;
        per[u->balancer->pick(&bc)]++;
    }
    ok(per[0] > 40 && per[1] > 40 && per[2] > 40 && per[3] > 40,
       "ip_hash: networks spread (%u %u %u %u)", per[0], per[1], per[2],
       per[3]);

    a[1] = 168;
    a[2] = 7;
    slots[p0].check_down = 1;
    ctx(&bc, u);
    bc.key = a;
    bc.key_len = 4;
    p = u->balancer->pick(&bc);
    ok(p >= 0 && p != p0, "ip_hash: its server down, another one");
}

static void
test_random(void)
{
    static const unsigned  w31[] = { 3, 1 };
    fy_http_upstream_t    *u;
    fy_http_bal_ctx_t      bc;
    unsigned               per[3] = { 0 };
    int                    i;

    u = upstream(&fy_http_balancer_random, 2, w31);
    for (i = 0; i < 4000; i++) {
        ctx(&bc, u);
        per[u->balancer->pick(&bc)]++;
    }
    ok(per[0] > 2800 && per[0] < 3200, "random 3/1: %u of 4000 to a", per[0]);

    u = upstream(&fy_http_balancer_random, 3, NULL);
    u->random_two = 1;
    slots[0].active = 100;
    memset(per, 0, sizeof(per));
    for (i = 0; i < 1000; i++) {
        ctx(&bc, u);
        per[u->balancer->pick(&bc)]++;
    }
    is_int(per[0], 0, "random two: the busy server never wins a draw");
    ok(per[1] > 300 && per[2] > 300, "random two: the others share (%u %u)",
       per[1], per[2]);

    slots[1].check_down = 1;
    slots[2].check_down = 1;
    ctx(&bc, u);
    is_int(u->balancer->pick(&bc), 0, "random two: one usable server wins");
}

/* "server NAME resolve": peers reserved for addresses, absent while
 * they have none, are never picked by any balancer; all absent, none
 * is; hash consistent's ring follows them (update). */
static void
test_absent(void)
{
    static const fy_http_balancer_t  *all[] = {
        &fy_http_balancer_rr, &fy_http_balancer_lc,
        &fy_http_balancer_ip_hash, &fy_http_balancer_hash,
        &fy_http_balancer_random
    };
    fy_http_upstream_t       *u;
    fy_http_upstream_peer_t  *peer;
    fy_http_bal_ctx_t         bc;
    u_char                    kb[4] = { 10, 1, 0, 0 };
    int                       before[200], p, i, moved_ok, to_b;
    unsigned                  b, c, bad, none;

    for (b = 0; b < fy_nelems(all); b++) {
        for (c = 0; c < (all[b] == &fy_http_balancer_hash ? 2u : 1u); c++) {
            u = upstream(all[b], 4, NULL);
            u->hash_consistent = all[b] == &fy_http_balancer_hash && c;
            for (i = 0; i < 4; i++) {
                peer = fy_array_elt(&u->peers, fy_http_upstream_peer_t, i);
                peer->resolved = 1;
                peer->absent = i == 1 || i == 3;
            }
            if (u->balancer->init) {
                u->balancer->init(pool, u);
            }
            bad = 0;
            for (i = 0; i < 200; i++) {
                kb[2] = (u_char) i;
                kb[3] = (u_char) (i * 7);
                ctx(&bc, u);
                bc.key = kb;
                bc.key_len = 4;
                p = fy_http_balancer_get(&bc, &lock);
                bad += p == 1 || p == 3 || p < 0;
                if (p >= 0) {
                    slots[p].active--;
                }
            }
            is_int(bad, 0, "%s%s: absent peers are never picked",
                   all[b]->name, u->hash_consistent ? " consistent" : "");

            for (i = 0; i < 4; i++) {
                peer = fy_array_elt(&u->peers, fy_http_upstream_peer_t, i);
                peer->absent = 1;
            }
            if (u->balancer->update) {
                u->balancer->update(u);
            }
            ctx(&bc, u);
            bc.key = kb;
            bc.key_len = 4;
            none = fy_http_balancer_get(&bc, &lock) == -1;
            ok(none, "%s%s: all absent, no server", all[b]->name,
               u->hash_consistent ? " consistent" : "");
        }
    }

    /* consistent: b comes; keys move only to b */
    u = upstream(&fy_http_balancer_hash, 4, NULL);
    u->hash_consistent = 1;
    for (i = 0; i < 4; i++) {
        peer = fy_array_elt(&u->peers, fy_http_upstream_peer_t, i);
        peer->resolved = 1;
        peer->absent = i == 1 || i == 3;
    }
    u->balancer->init(pool, u);
    for (i = 0; i < 200; i++) {
        kb[2] = (u_char) i;
        ctx(&bc, u);
        bc.key = kb;
        bc.key_len = 4;
        before[i] = u->balancer->pick(&bc);
    }
    fy_array_elt(&u->peers, fy_http_upstream_peer_t, 1)->absent = 0;
    u->balancer->update(u);
    moved_ok = 1;
    to_b = 0;
    for (i = 0; i < 200; i++) {
        kb[2] = (u_char) i;
        ctx(&bc, u);
        bc.key = kb;
        bc.key_len = 4;
        p = u->balancer->pick(&bc);
        to_b += p == 1;
        moved_ok &= p == before[i] || p == 1;
    }
    ok(to_b > 20, "hash consistent: an address that comes takes keys (%d)",
       to_b);
    ok(moved_ok, "hash consistent: ... and keys move only to it");
}

static void
test_find(void)
{
    fy_str_t  s;

    fy_str_set(&s, "least_conn");
    ok(fy_http_balancer_find(&s) == &fy_http_balancer_lc, "find least_conn");
    fy_str_set(&s, "random");
    ok(fy_http_balancer_find(&s) == &fy_http_balancer_random, "find random");
    fy_str_set(&s, "round_robin");
    ok(fy_http_balancer_find(&s) == NULL, "round robin has no directive");
}

int
main(void)
{
    pool = fy_pool_create(16384);

    test_round_robin();
    test_least_conn();
    test_hash();
    test_ip_hash();
    test_random();
    test_absent();
    test_find();

    fy_pool_destroy(pool);
    return done_testing();
}
