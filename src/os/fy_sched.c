/*
 * fy_sched.c -- "master_sched normal | batch" (fy_sched.h says why).
 */
#include "fy_core.h"
#include "fy_sched.h"

#include <sched.h>


const fy_conf_enum_t  fy_sched_values[] = {
    { "normal", FY_SCHED_NORMAL },
    { "batch",  FY_SCHED_BATCH },
    { NULL, 0 }
};

static int                 fy_sched_saved = -1;  /* policy at start */
static struct sched_param  fy_sched_saved_param;
static int                 fy_sched_current = -1;


static const char *
fy_sched_name(int policy)
{
    switch (policy & ~SCHED_RESET_ON_FORK) {
    case SCHED_BATCH: return "SCHED_BATCH";
    case SCHED_IDLE:  return "SCHED_IDLE";
    case SCHED_FIFO:  return "SCHED_FIFO";
    case SCHED_RR:    return "SCHED_RR";
    default:          return "(unknown)";
    }
}


void
fy_sched_master(fy_cycle_t *cycle)
{
    struct sched_param  sp;
    int                 policy;

    if (fy_sched_saved == -1) {
        fy_sched_saved = sched_getscheduler(0);
        if (fy_sched_saved == -1
            || sched_getparam(0, &fy_sched_saved_param) == -1)
        {
            fy_log_error(FY_LOG_ALERT, errno, "sched_getscheduler() failed, "
                         "master_sched ignored");
            fy_sched_saved = -2;
            return;
        }
        fy_sched_current = fy_sched_saved;
        if (fy_sched_saved != SCHED_OTHER) {
            /* the operator chose a policy for ferry (chrt): keep it */
            fy_log_error(FY_LOG_NOTICE, 0, "started with scheduling policy "
                         "%s, not the normal one: master_sched ignored",
                         fy_sched_name(fy_sched_saved));
        }
    }
    if (fy_sched_saved != SCHED_OTHER) {
        return;
    }

    policy = cycle->core->master_sched == FY_SCHED_BATCH ? SCHED_BATCH
                                                          : SCHED_OTHER;
    if (policy == fy_sched_current) {
        return;
    }
    memset(&sp, 0, sizeof(sp));
    if (sched_setscheduler(0, policy, &sp) == -1) {
        fy_log_error(FY_LOG_ALERT, errno, "sched_setscheduler(%s) failed",
                     policy == SCHED_BATCH ? "SCHED_BATCH" : "SCHED_OTHER");
        return;
    }
    fy_sched_current = policy;
}


void
fy_sched_child(void)
{
    if (fy_sched_saved < 0 || fy_sched_current == fy_sched_saved) {
        return;
    }
    if (sched_setscheduler(0, fy_sched_saved, &fy_sched_saved_param) == -1) {
        fy_log_error(FY_LOG_ALERT, errno, "sched_setscheduler() back to "
                     "policy %d failed", fy_sched_saved);
    }
}
