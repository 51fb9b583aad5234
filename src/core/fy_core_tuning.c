/*
 * fy_core_tuning.c -- nginx's main and events directives that tune
 * what ferry does not have, accepted with nginx's value checks and a
 * start-up warning naming the file and line, and otherwise without
 * effect:
 *
 *   lock_file FILE;                                            main
 *   thread_pool NAME threads=N [max_queue=N];                  main
 *   accept_mutex_delay TIME;                                   events
 *   worker_aio_requests N;                                     events
 *   debug_points abort | stop;                                 main
 *   debug_connection ADDRESS | CIDR | unix:;  (repeatable)     events
 *   ssl_engine DEVICE;                                         main
 *   master_process on | off;   ("on", what ferry does: quiet)  main
 *
 * Why: there is no accept mutex to lock (only the master accepts and
 * hands connections to workers, docs/architecture.md), so neither its
 * lock file nor its retry delay mean anything; and a worker is one
 * thread that reads files with pread() and sendfile(), with neither
 * thread pools nor Linux AIO contexts to size.  debug_points and
 * debug_connection belong to nginx's debug build (nginx without one
 * warns about debug_connection too); ferry has none.  ssl_engine: ferry
 * loads no OpenSSL engine (OpenSSL 3 deprecates them) and computes
 * with the default provider, which gives the same results (a key kept
 * in an engine is not loadable either: ssl_certificate_key says so).
 * master_process off: ferry always runs its master, which accepts the
 * connections and hands them to the workers; the service is the same.  Refusing them would
 * make an operator edit working nginx configurations for nothing.
 */
#include "fy_core.h"
#include "fy_cycle.h"
#include "fy_core_tuning.h"

/* The value a directive takes, as nginx checks it. */
enum {
    FY_TUNING_PATH,
    FY_TUNING_TIME,
    FY_TUNING_NUMBER,
    FY_TUNING_THREAD_POOL,
    FY_TUNING_DEBUG_POINTS,     /* abort | stop */
    FY_TUNING_ANY,              /* repeatable, not checked (nginx) */
    FY_TUNING_NAME,             /* a word */
    FY_TUNING_MASTER            /* on | off */
};

typedef struct {
    int          kind;
    unsigned     bit;         /* in fy_core_conf_t's tuning_seen */
    const char  *why;
} fy_tuning_arg_t;

static const char *fy_core_tuning_set(fy_conf_t *cf, const fy_command_t *cmd,
    void *conf);

#define FY_TUNING_ROW(name, ctx, max, kind, bit, why)                       \
    { name, ctx, 0, 1, max, fy_core_tuning_set, FY_CONF_MAIN_OFF, 0,        \
      &(const fy_tuning_arg_t) { kind, 1u << (bit), why } }

#define FY_NO_MUTEX  "only the master accepts connections, there is no " \
                     "accept mutex"
#define FY_NO_AIO    "a worker is one thread and reads files with pread() " \
                     "and sendfile()"
#define FY_NO_DEBUG  "ferry has no debug build with such debugging points " \
                     "and per-client debug logs"

const fy_command_t  fy_core_tuning_commands[] = {
    FY_TUNING_ROW("lock_file", FY_CONF_MAIN, 1, FY_TUNING_PATH, 0,
                  FY_NO_MUTEX),
    FY_TUNING_ROW("thread_pool", FY_CONF_MAIN, 3, FY_TUNING_THREAD_POOL, 1,
                  FY_NO_AIO),
    FY_TUNING_ROW("accept_mutex_delay", FY_CONF_EVENTS, 1, FY_TUNING_TIME, 2,
                  FY_NO_MUTEX),
    FY_TUNING_ROW("worker_aio_requests", FY_CONF_EVENTS, 1, FY_TUNING_NUMBER,
                  3, FY_NO_AIO),
    FY_TUNING_ROW("debug_points", FY_CONF_MAIN, 1, FY_TUNING_DEBUG_POINTS, 4,
                  FY_NO_DEBUG),
    FY_TUNING_ROW("debug_connection", FY_CONF_EVENTS, 1, FY_TUNING_ANY, 5,
                  FY_NO_DEBUG),
    FY_TUNING_ROW("ssl_engine", FY_CONF_MAIN, 1, FY_TUNING_NAME, 6,
                  "no OpenSSL engine is loaded, the default provider "
                  "computes the same"),
    FY_TUNING_ROW("master_process", FY_CONF_MAIN, 1, FY_TUNING_MASTER, 7,
                  "the master always runs: it accepts the connections and "
                  "hands them to the workers"),
    { NULL, 0, 0, 0, 0, NULL, 0, 0, NULL }
};

void
fy_conf_ignored(fy_conf_t *cf, const char *what, const char *why)
{
    fy_log_error(FY_LOG_WARN, 0, "\"%s\" has no effect in ferry: %s; "
                 "ignored in %s:%u", what, why,
                 cf->file ? cf->file->name : "command line", cf->line);
}

/* "thread_pool NAME threads=N [max_queue=N]": nginx's checks, names
 * unique (kept in ccf->thread_pools, a list in the config pool). */
static const char *
fy_core_thread_pool(fy_conf_t *cf, fy_core_conf_t *ccf)
{
    fy_str_t         *a = cf->args, *p;
    fy_core_name_t   *tp;
    int64_t           n;
    unsigned          i, threads = 0;

    if (cf->nargs < 3) {
        fy_conf_error(cf, "\"%s\" must have \"threads\" parameter",
                      a[1].data);
        return FY_CONF_ERROR;
    }
    for (tp = ccf->thread_pools; tp != NULL; tp = tp->next) {
        if (tp->name.len == a[1].len
            && memcmp(tp->name.data, a[1].data, a[1].len) == 0)
        {
            fy_conf_error(cf, "duplicate thread pool \"%s\"", a[1].data);
            return FY_CONF_ERROR;
        }
    }
    for (i = 2; i < cf->nargs; i++) {
        p = &a[i];
        if (p->len > 8 && memcmp(p->data, "threads=", 8) == 0) {
            n = fy_atoi(p->data + 8, p->len - 8);
            if (n <= 0) {
                fy_conf_error(cf, "invalid threads value \"%s\"", p->data);
                return FY_CONF_ERROR;
            }
            threads = 1;
        } else if (p->len > 10 && memcmp(p->data, "max_queue=", 10) == 0) {
            n = fy_atoi(p->data + 10, p->len - 10);
            if (n < 0) {
                fy_conf_error(cf, "invalid max_queue value \"%s\"", p->data);
                return FY_CONF_ERROR;
            }
        } else {
            fy_conf_error(cf, "invalid parameter \"%s\"", p->data);
            return FY_CONF_ERROR;
        }
    }
    if (!threads) {
        fy_conf_error(cf, "\"%s\" must have \"threads\" parameter",
                      a[1].data);
        return FY_CONF_ERROR;
    }
    tp = fy_pcalloc(cf->pool, sizeof(fy_core_name_t));
    if (tp == NULL) {
        return "out of memory";
    }
    tp->name = a[1];
    tp->next = ccf->thread_pools;
    ccf->thread_pools = tp;
    return FY_CONF_OK;
}

static const char *
fy_core_tuning_set(fy_conf_t *cf, const fy_command_t *cmd, void *conf)
{
    const fy_tuning_arg_t  *arg = cmd->post;
    fy_core_conf_t         *ccf = conf;
    fy_str_t               *v = &cf->args[1];
    const char             *rv;
    int64_t                 n = 0;

    if (arg->kind == FY_TUNING_THREAD_POOL) {
        /* several pools, each of its own name */
        rv = fy_core_thread_pool(cf, ccf);
        if (rv != FY_CONF_OK) {
            return rv;
        }
    } else if (arg->kind != FY_TUNING_ANY) {
        if (ccf->tuning_seen & arg->bit) {
            return "is duplicate";
        }
        if (arg->kind == FY_TUNING_TIME) {
            n = fy_conf_parse_msec(v);
        } else if (arg->kind == FY_TUNING_NUMBER) {
            n = fy_atoi(v->data, v->len);
        } else if (arg->kind == FY_TUNING_DEBUG_POINTS) {
            n = fy_str_eq(v, "abort") || fy_str_eq(v, "stop") ? 0 : -1;
        } else if (arg->kind == FY_TUNING_MASTER) {
            if (!fy_str_eq_ci(v, "on") && !fy_str_eq_ci(v, "off")) {
                fy_conf_error(cf, "invalid value \"%s\" in \"%s\" "
                              "directive, it must be \"on\" or \"off\"",
                              v->data, cmd->name);
                return FY_CONF_ERROR;
            }
        } else if (v->len == 0) {
            n = -1;
        }
        if (n < 0) {
            fy_conf_error(cf, "\"%s\" directive invalid value \"%s\"",
                          cmd->name, v->data);
            return FY_CONF_ERROR;
        }
        ccf->tuning_seen |= arg->bit;
        if (arg->kind == FY_TUNING_MASTER && fy_str_eq_ci(v, "on")) {
            return FY_CONF_OK;      /* what ferry does */
        }
    }
    if (arg->kind == FY_TUNING_MASTER) {
        fy_conf_ignored(cf, "master_process off", arg->why);
    } else {
        fy_conf_ignored(cf, cmd->name, arg->why);
    }
    return FY_CONF_OK;
}
