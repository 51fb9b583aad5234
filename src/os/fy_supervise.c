/*
 * fy_supervise.c -- the master looking after its workers, as the
 * cluster managers ferry comes from do:
 *
 *   crash   a worker that dies unexpectedly is replaced at once; one
 *           that keeps dying early is restarted after a delay that
 *           doubles each time (worker_restart_delay BASE [MAX]); a slot
 *           whose workers die more than N times within TIME
 *           (worker_max_restarts N per TIME) is given up on, with a
 *           [crit] line, until the next reload.
 *   hang    a worker whose heartbeat in shared memory has not moved for
 *           worker_heartbeat_timeout is killed and replaced.
 *   memory  a worker whose RSS passes worker_max_memory gets a
 *           successor first; then it drains like an old generation.
 *   drain   a draining worker still alive after worker_shutdown_timeout
 *           is killed.
 *
 * Every event is logged (notice, or worse when something is wrong) and
 * counted in the master's part of shared memory.
 */
#include "fy_core.h"
#include "fy_master_int.h"
#include "fy_supervise.h"

#include <signal.h>
#include <sys/wait.h>

/* How often the heartbeat and memory checks run. */
#define FY_SUPERVISE_PERIOD   250
/* A worker younger than this is not recycled for its memory: a
 * worker_max_memory below what a fresh worker needs must not make the
 * master fork in a tight loop. */
#define FY_SUPERVISE_MEM_AGE  2000

static fy_event_t  fy_supervise_ev;
static uint64_t    fy_supervise_last;    /* fy_current_msec of last check */

static void fy_supervise_check(fy_event_t *ev);
static void fy_supervise_respawn(fy_event_t *ev);
static void fy_supervise_shutdown_timeout(fy_event_t *ev);


/* ---- the policy ---- */

void
fy_supervise_decide(fy_supervise_slot_t *s, const fy_core_conf_t *ccf,
    uint64_t now, uint64_t lifetime, fy_supervise_verdict_t *v)
{
    unsigned  i, shift;
    uint64_t  delay;

    memset(v, 0, sizeof(*v));

    s->deaths[s->next] = now;
    s->next = (s->next + 1) % fy_nelems(s->deaths);
    if (s->ndeaths < fy_nelems(s->deaths)) {
        s->ndeaths++;
    }

    for (i = 0; i < s->ndeaths; i++) {
        if (now - s->deaths[i] < (uint64_t) ccf->worker_restarts_window) {
            v->recent++;
        }
    }

    if (ccf->worker_max_restarts > 0
        && v->recent > (unsigned) ccf->worker_max_restarts)
    {
        s->disabled = 1;
        v->disable = 1;
        return;
    }

    if (lifetime >= FY_SUPERVISE_STABLE_MS) {
        s->streak = 0;
    }

    /* the first early death is restarted at once: most crashes are one
     * bad request, and the slot's capacity matters more than caution */
    if (s->streak > 0) {
        shift = fy_min(s->streak - 1, 30u);
        delay = (uint64_t) ccf->worker_restart_delay << shift;
        v->delay = fy_min(delay, (uint64_t) ccf->worker_restart_delay_max);
    }
    s->streak++;
}


/* ---- deaths ---- */

static const char *
fy_supervise_msec_text(int64_t ms, char *buf, size_t size)
{
    if (ms % 1000 == 0) {
        snprintf(buf, size, "%llds", (long long) (ms / 1000));
    } else {
        snprintf(buf, size, "%lldms", (long long) ms);
    }
    return buf;
}

void
fy_supervise_reaped(unsigned slot, int status)
{
    fy_master_worker_t      *w = &fy_workers[slot];
    fy_shm_worker_t         *sw = &fy_shm->workers[slot];
    fy_supervise_verdict_t   v;
    fy_core_conf_t          *ccf = fy_cycle->core;
    uint64_t                 lifetime = fy_current_msec - w->started;
    int                      expected, level;
    char                     window[32];
    pid_t                    pid = w->pid;

    /* Expected: told to stop, or killed by us for a reason logged
     * already.  Anything else is a crash and says so at [alert]. */
    expected = w->exiting || w->killed || fy_quit || fy_terminate
               || w->generation != fy_generation;
    level = expected ? FY_LOG_NOTICE : FY_LOG_ALERT;

    if (WIFSIGNALED(status)) {
        fy_log_error(level, 0, "worker process %d exited on signal %d%s",
                     (int) pid, WTERMSIG(status),
                     WCOREDUMP(status) ? " (core dumped)" : "");
    } else if (WEXITSTATUS(status) != 0) {
        fy_log_error(level, 0, "worker process %d exited with fatal code "
                     "%d", (int) pid, WEXITSTATUS(status));
    } else {
        fy_log_error(FY_LOG_NOTICE, 0, "worker process %d exited with code "
                     "0", (int) pid);
    }

    /* A dead worker must not look alive or busy to anyone. */
    fy_shm_set(sw->pid, 0);
    fy_shm_set(sw->active, 0);
    fy_shm_set(sw->reading, 0);
    fy_shm_set(sw->writing, 0);
    fy_shm_set(sw->conns, 0);
    fy_shm_set(sw->rss, 0);
    fy_shm_set(sw->state, FY_WORKER_EXITED);
    fy_shm_set(sw->exit_status, (uint64_t) status);
    fy_shm_set(sw->exited_ms, fy_wall_msec);

    fy_timer_del(&w->kill);
    fy_handoff_unwatch(slot);
    w->pid = 0;

    /* a hang kill is a failure of the worker, not an order */
    if (w->exiting || fy_quit || fy_terminate
        || w->generation != fy_generation)
    {
        return;
    }
    w->killed = 0;

    fy_shm_add(fy_shm->worker_crashes, 1);
    fy_supervise_decide(&w->sup, ccf, fy_current_msec, lifetime, &v);

    if (v.disable) {
        fy_log_error(FY_LOG_CRIT, 0, "worker slot %u died %u times within "
                     "%s (worker_max_restarts %d); not restarting it until "
                     "the next reload", slot, v.recent,
                     fy_supervise_msec_text(ccf->worker_restarts_window,
                                            window, sizeof(window)),
                     ccf->worker_max_restarts);
        fy_shm_set(sw->state, FY_WORKER_DISABLED);
        fy_shm_add(fy_shm->worker_disabled, 1);
        return;
    }

    w->respawn.handler = fy_supervise_respawn;
    w->respawn.data = w;

    if (v.delay == 0) {
        fy_log_error(FY_LOG_NOTICE, 0, "respawning worker slot %u", slot);
        fy_supervise_respawn(&w->respawn);
        return;
    }

    /* The death itself was logged above at [alert]; this is only what
     * we do about it. */
    fy_log_error(FY_LOG_WARN, 0, "worker in slot %u died %llu ms after "
                 "start; restarting it in %llu ms", slot,
                 (unsigned long long) lifetime, (unsigned long long) v.delay);
    w->waiting = 1;
    fy_timer_add(&w->respawn, v.delay);
}

static void
fy_supervise_respawn(fy_event_t *ev)
{
    fy_master_worker_t  *w = ev->data;
    unsigned             slot = (unsigned) (w - fy_workers);

    w->waiting = 0;
    if (fy_quit || fy_terminate || w->pid != 0 || w->sup.disabled) {
        return;
    }
    if (fy_master_spawn(slot) == FY_OK) {
        fy_shm_add(fy_shm->worker_respawns, 1);
        return;
    }
    /* fork failed (logged): try again rather than lose the slot */
    w->waiting = 1;
    fy_timer_add(&w->respawn, (uint64_t) fy_cycle->core->worker_restart_delay);
}

void
fy_supervise_fresh(unsigned slot)
{
    memset(&fy_workers[slot].sup, 0, sizeof(fy_supervise_slot_t));
    fy_workers[slot].killed = 0;
}

/* A reload starts a whole new generation: restarts still waiting for
 * their delay would add workers of the new one beyond its count. */
void
fy_supervise_cancel_respawns(void)
{
    unsigned  i;

    for (i = 0; i < FY_MAX_WORKERS; i++) {
        if (fy_workers[i].waiting) {
            fy_timer_del(&fy_workers[i].respawn);
            fy_workers[i].waiting = 0;
        }
    }
}


/* ---- draining ---- */

void
fy_supervise_drain(unsigned slot, const char *why)
{
    fy_master_worker_t  *w = &fy_workers[slot];
    int64_t              timeout = fy_cycle->core->worker_shutdown_timeout;

    if (w->pid == 0) {
        return;
    }
    if (!w->exiting) {
        fy_log_error(FY_LOG_NOTICE, 0, "worker process %d (slot %u) "
                     "draining: %s", (int) w->pid, slot, why);
    }
    w->exiting = 1;
    fy_shm_set(fy_shm->workers[slot].state, FY_WORKER_DRAINING);

    if (kill(w->pid, SIGQUIT) == -1 && errno != ESRCH) {
        fy_log_error(FY_LOG_ALERT, errno, "kill(%d, SIGQUIT) failed",
                     (int) w->pid);
    }

    if (timeout > 0 && !fy_timer_is_set(&w->kill)) {
        w->kill.handler = fy_supervise_shutdown_timeout;
        w->kill.data = w;
        fy_timer_add(&w->kill, (uint64_t) timeout);
    }
}

static void
fy_supervise_shutdown_timeout(fy_event_t *ev)
{
    fy_master_worker_t  *w = ev->data;

    if (w->pid == 0) {
        return;
    }
    fy_log_error(FY_LOG_WARN, 0, "worker process %d (slot %u) still has "
                 "connections after worker_shutdown_timeout; killing it",
                 (int) w->pid, (unsigned) (w - fy_workers));
    w->killed = 1;
    fy_shm_add(fy_shm->worker_shutdown_kills, 1);
    if (kill(w->pid, SIGKILL) == -1 && errno != ESRCH) {
        fy_log_error(FY_LOG_ALERT, errno, "kill(%d, SIGKILL) failed",
                     (int) w->pid);
    }
}


/* ---- periodic checks: heartbeat and memory ---- */

void
fy_supervise_start(void)
{
    fy_supervise_ev.handler = fy_supervise_check;
    fy_supervise_ev.timer_index = -1;
    fy_supervise_last = fy_current_msec;
    fy_timer_add(&fy_supervise_ev, FY_SUPERVISE_PERIOD);
}

void
fy_supervise_stop(void)
{
    fy_timer_del(&fy_supervise_ev);
}

static int
fy_supervise_free_slot(void)
{
    unsigned  i;

    for (i = 0; i < FY_MAX_WORKERS; i++) {
        if (fy_workers[i].pid == 0 && !fy_workers[i].waiting
            && !fy_workers[i].sup.disabled)
        {
            return (int) i;
        }
    }
    return -1;
}

static void
fy_supervise_memory(unsigned slot, uint64_t rss)
{
    fy_master_worker_t  *w = &fy_workers[slot];
    int                  succ;
    char                 why[128];

    succ = fy_supervise_free_slot();
    if (succ < 0) {
        return;     /* all 64 slots busy: try again next round */
    }
    fy_supervise_fresh((unsigned) succ);
    fy_workers[succ].number = w->number;
    if (fy_master_spawn((unsigned) succ) != FY_OK) {
        return;
    }

    fy_log_error(FY_LOG_NOTICE, 0, "worker process %d (slot %u) uses %llu "
                 "KiB, more than worker_max_memory %llu KiB; worker process "
                 "%d (slot %d) takes over from it", (int) w->pid, slot,
                 (unsigned long long) (rss >> 10),
                 (unsigned long long) (fy_cycle->core->worker_max_memory
                                       >> 10),
                 (int) fy_workers[succ].pid, succ);
    fy_shm_add(fy_shm->worker_memory_recycles, 1);
    snprintf(why, sizeof(why), "over worker_max_memory");
    fy_supervise_drain(slot, why);
}

static void
fy_supervise_check(fy_event_t *ev)
{
    fy_core_conf_t      *ccf = fy_cycle->core;
    fy_master_worker_t  *w;
    fy_shm_worker_t     *sw;
    uint64_t             hb, rss, late, gap;
    unsigned             i;
    int                  judge_hang;

    /* If the master itself did not run for a while (stopped, or a slow
     * reload), every heartbeat looks old: judge them next round. */
    gap = fy_current_msec - fy_supervise_last;
    fy_supervise_last = fy_current_msec;
    judge_hang = ccf->worker_heartbeat_timeout > 0
                 && gap < (uint64_t) ccf->worker_heartbeat_timeout / 2;

    for (i = 0; i < FY_MAX_WORKERS; i++) {
        w = &fy_workers[i];
        sw = &fy_shm->workers[i];
        if (w->pid == 0 || w->killed) {
            continue;
        }

        hb = fy_shm_get(sw->heartbeat_ms);
        late = fy_wall_msec > hb ? fy_wall_msec - hb : 0;
        if (judge_hang && late > (uint64_t) ccf->worker_heartbeat_timeout) {
            fy_log_error(FY_LOG_ERR, 0, "worker process %d (slot %u) sent no "
                         "heartbeat for %llu ms (worker_heartbeat_timeout "
                         "%lld ms); killing it", (int) w->pid, i,
                         (unsigned long long) late,
                         (long long) ccf->worker_heartbeat_timeout);
            w->killed = 1;
            fy_shm_add(fy_shm->worker_hang_kills, 1);
            if (kill(w->pid, SIGKILL) == -1 && errno != ESRCH) {
                fy_log_error(FY_LOG_ALERT, errno, "kill(%d, SIGKILL) failed",
                             (int) w->pid);
            }
            continue;
        }

        rss = fy_shm_get(sw->rss);
        if (ccf->worker_max_memory && rss > ccf->worker_max_memory
            && !w->exiting && w->generation == fy_generation
            && fy_current_msec - w->started >= FY_SUPERVISE_MEM_AGE)
        {
            fy_supervise_memory(i, rss);
        }
    }

    fy_timer_add(ev, FY_SUPERVISE_PERIOD);
}


/* ---- directives ---- */

static int64_t
fy_supervise_msec_arg(fy_conf_t *cf, unsigned i)
{
    int64_t  v = fy_conf_parse_msec(&cf->args[i]);

    if (v < 0) {
        fy_conf_error(cf, "invalid value \"%s\" in \"%s\"", cf->args[i].data,
                      cf->args[0].data);
    }
    return v;
}

/* worker_restart_delay BASE [MAX] */
const char *
fy_supervise_set_restart_delay(fy_conf_t *cf, const fy_command_t *cmd,
    void *conf)
{
    fy_core_conf_t  *ccf = conf;
    int64_t          base, max;

    fy_unused(cmd);

    if (ccf->worker_restart_delay != FY_CONF_UNSET_MSEC) {
        return "is duplicate";
    }
    base = fy_supervise_msec_arg(cf, 1);
    if (base < 0) {
        return FY_CONF_ERROR;
    }
    max = base * 64;
    if (cf->nargs == 3) {
        max = fy_supervise_msec_arg(cf, 2);
        if (max < 0) {
            return FY_CONF_ERROR;
        }
    }
    if (base < 1 || max < base) {
        return "needs a delay of at least 1ms and a maximum not below it";
    }
    ccf->worker_restart_delay = base;
    ccf->worker_restart_delay_max = max;
    return FY_CONF_OK;
}

/* worker_max_restarts N per TIME | off */
const char *
fy_supervise_set_max_restarts(fy_conf_t *cf, const fy_command_t *cmd,
    void *conf)
{
    fy_core_conf_t  *ccf = conf;
    int64_t          n, window;

    fy_unused(cmd);

    if (ccf->worker_max_restarts != FY_CONF_UNSET_INT) {
        return "is duplicate";
    }
    if (cf->nargs == 2 && fy_str_eq(&cf->args[1], "off")) {
        ccf->worker_max_restarts = 0;
        ccf->worker_restarts_window = 0;
        return FY_CONF_OK;
    }
    if (cf->nargs != 4 || !fy_str_eq(&cf->args[2], "per")) {
        fy_conf_error(cf, "\"worker_max_restarts\" takes \"N per TIME\" or "
                      "\"off\"");
        return FY_CONF_ERROR;
    }
    n = fy_atoi(cf->args[1].data, cf->args[1].len);
    if (n < 1 || n > FY_SUPERVISE_MAX_RESTARTS) {
        fy_conf_error(cf, "invalid value \"%s\" in \"worker_max_restarts\", "
                      "it must be between 1 and %d", cf->args[1].data,
                      FY_SUPERVISE_MAX_RESTARTS);
        return FY_CONF_ERROR;
    }
    window = fy_supervise_msec_arg(cf, 3);
    if (window < 0) {
        return FY_CONF_ERROR;
    }
    if (window < 1) {
        return "needs a time window of at least 1ms";
    }
    ccf->worker_max_restarts = (int) n;
    ccf->worker_restarts_window = window;
    return FY_CONF_OK;
}

/* worker_heartbeat_timeout TIME | off: workers beat every 500 ms, so a
 * timeout below a second would kill healthy workers. */
const char *
fy_supervise_set_heartbeat_timeout(fy_conf_t *cf, const fy_command_t *cmd,
    void *conf)
{
    fy_core_conf_t  *ccf = conf;
    const char      *rv;

    if (fy_str_eq(&cf->args[1], "off")) {
        if (ccf->worker_heartbeat_timeout != FY_CONF_UNSET_MSEC) {
            return "is duplicate";
        }
        ccf->worker_heartbeat_timeout = 0;
        return FY_CONF_OK;
    }
    rv = fy_conf_set_msec(cf, cmd, conf);
    if (rv == FY_CONF_OK && ccf->worker_heartbeat_timeout < 1000) {
        return "must be at least 1s (workers beat every 500ms), or \"off\"";
    }
    return rv;
}

void
fy_supervise_conf_defaults(fy_core_conf_t *ccf)
{
    if (ccf->worker_shutdown_timeout == FY_CONF_UNSET_MSEC) {
        ccf->worker_shutdown_timeout = 0;
    }
    if (ccf->worker_restart_delay == FY_CONF_UNSET_MSEC) {
        ccf->worker_restart_delay = 500;
        ccf->worker_restart_delay_max = 30000;
    }
    if (ccf->worker_max_restarts == FY_CONF_UNSET_INT) {
        ccf->worker_max_restarts = 10;
        ccf->worker_restarts_window = 60000;
    }
    if (ccf->worker_heartbeat_timeout == FY_CONF_UNSET_MSEC) {
        ccf->worker_heartbeat_timeout = 10000;
    }
}
