/*
 * fy_worker_conf.h -- what a new worker process is given besides its
 * user: nginx's "worker_priority", "worker_cpu_affinity",
 * "worker_rlimit_core", "working_directory" and "env".
 *
 * The master keeps its own priority, limits, directory and
 * environment; each child applies these between fork() and its first
 * client, in nginx's order (docs/lifecycle.md).
 */
#ifndef FY_WORKER_CONF_H
#define FY_WORKER_CONF_H

#include "fy_core.h"
#include "fy_cycle.h"

extern const fy_command_t  fy_worker_conf_commands[];

/* After the whole configuration is read: warnings nginx gives there
 * (fewer worker_cpu_affinity masks than workers). */
void fy_worker_conf_check(fy_cycle_t *cycle);

/* In a new child, before it changes user: the environment (cleared
 * but for TZ and "env"), worker_priority, worker_rlimit_core. */
void fy_worker_conf_early(fy_cycle_t *cycle);

/* In a new child, after it changed user: worker_cpu_affinity for the
 * worker numbered `number` in its generation (-1: not a worker, no
 * binding), then working_directory. */
void fy_worker_conf_late(fy_cycle_t *cycle, int number);

#endif /* FY_WORKER_CONF_H */
