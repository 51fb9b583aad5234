/*
 * fy_user.h -- the identity and limits a worker runs with: "user USER
 * [GROUP]" and "worker_rlimit_nofile N".  The master keeps its own
 * (root, to bind privileged ports and read keys); each worker drops to
 * the configured user right after fork, before it touches a client.
 */
#ifndef FY_USER_H
#define FY_USER_H

#include "fy_core.h"
#include "fy_cycle.h"

/* "user" directive: resolves the names at configuration time, so an
 * unknown user is an [emerg] with file and line, not a dying worker. */
const char *fy_user_set_conf(fy_conf_t *cf, const fy_command_t *cmd,
    void *conf);

/* In a new worker: apply worker_rlimit_nofile, then setgid, initgroups
 * and setuid if "user" is set and we are root.  Exits (status 2) with
 * an [emerg] line if any of it fails. */
void fy_user_worker_init(fy_cycle_t *cycle);

/*
 * In the master, at start and after each reload: raise its soft
 * RLIMIT_NOFILE to what worker_connections needs (2 x N + 64: a
 * proxied connection holds two descriptors), as far as the hard limit
 * allows; the workers forked from then on inherit it.  Never lowers it.
 * A hard limit below the need gets a [warn] naming both values, unless
 * worker_rlimit_nofile (which each worker sets itself) is given.
 */
void fy_user_nofile(fy_cycle_t *cycle);

/* In the master: give a file the workers must reopen (the error log)
 * to the worker user, so they still can after a SIGUSR1. */
void fy_user_own_file(fy_cycle_t *cycle, const char *path);

#endif /* FY_USER_H */
