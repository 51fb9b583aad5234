/*
 * fy_master.h -- the master process.
 */
#ifndef FY_MASTER_H
#define FY_MASTER_H

#include "fy_core.h"
#include "fy_cycle.h"

/* Options the master needs to load a configuration again on reload. */
typedef struct {
    const char  *prefix;
    const char  *conf_file;
    const char  *directives;   /* -g, may be NULL */
    const char  *error_log;    /* -e, may be NULL */
} fy_master_opts_t;

/* Run the master with a loaded cycle whose listeners are open; returns
 * the process exit code after shutdown. */
int fy_master_run(fy_cycle_t *cycle, const fy_master_opts_t *opts);

#endif /* FY_MASTER_H */
