/*
 * test_supervise.c -- the restart policy of fy_supervise_decide():
 * immediate first restart, doubling delays up to the cap, the reset
 * after a long life, and the slot given up on past worker_max_restarts
 * within the window (and not for deaths older than it).
 */

#include "fy_core.h"
#include "fy_supervise.h"
#include "fy_tap.h"


static void
conf(fy_core_conf_t *ccf)
{
    memset(ccf, 0, sizeof(*ccf));
    ccf->worker_restart_delay = 100;
    ccf->worker_restart_delay_max = 350;
    ccf->worker_max_restarts = 5;
    ccf->worker_restarts_window = 60000;
}


static void
test_backoff(void)
{
    fy_core_conf_t          ccf;
    fy_supervise_slot_t     s;
    fy_supervise_verdict_t  v;
    uint64_t                now = 1000000;

    conf(&ccf);
    memset(&s, 0, sizeof(s));

    fy_supervise_decide(&s, &ccf, now, 50, &v);
    is_int(v.delay, 0, "backoff: first early death restarts at once");
    fy_supervise_decide(&s, &ccf, now += 10, 50, &v);
    is_int(v.delay, 100, "backoff: second waits the base delay");
    fy_supervise_decide(&s, &ccf, now += 10, 50, &v);
    is_int(v.delay, 200, "backoff: third doubles");
    fy_supervise_decide(&s, &ccf, now += 10, 50, &v);
    is_int(v.delay, 350, "backoff: fourth is capped at the maximum");
    ok(!v.disable, "backoff: 4 deaths of 5 allowed: not disabled");

    /* a worker that ran for a long time had a fair start */
    fy_supervise_decide(&s, &ccf, now += 100000, FY_SUPERVISE_STABLE_MS, &v);
    is_int(v.delay, 0, "backoff: reset after a long life");
    is_int(v.recent, 1, "window: deaths older than the window do not count");
}


static void
test_limit(void)
{
    fy_core_conf_t          ccf;
    fy_supervise_slot_t     s;
    fy_supervise_verdict_t  v;
    uint64_t                now = 1000000;
    int                     i;

    conf(&ccf);
    memset(&s, 0, sizeof(s));

    for (i = 0; i < 5; i++) {
        fy_supervise_decide(&s, &ccf, now += 1000, 20000, &v);
    }
    ok(!v.disable && !s.disabled, "limit: 5 deaths in a minute allowed");
    fy_supervise_decide(&s, &ccf, now += 1000, 20000, &v);
    ok(v.disable && s.disabled, "limit: the 6th disables the slot");
    is_int(v.recent, 6, "limit: 6 recent deaths counted");

    /* spread out, the same number is fine */
    memset(&s, 0, sizeof(s));
    for (i = 0; i < 20; i++) {
        fy_supervise_decide(&s, &ccf, now += 20000, 20000, &v);
        if (v.disable) {
            break;
        }
    }
    is_int(i, 20, "limit: one death every 20s never disables (5 per 60s)");

    ccf.worker_max_restarts = 0;
    memset(&s, 0, sizeof(s));
    for (i = 0; i < 200; i++) {
        fy_supervise_decide(&s, &ccf, now += 1, 5, &v);
    }
    ok(!v.disable, "limit: off never disables, even after 200 deaths");
    is_int(v.delay, 350, "limit: off still backs off");
}


int
main(void)
{
    test_backoff();
    test_limit();

    return done_testing();
}
