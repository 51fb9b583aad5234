/*
 * fy_worker_conf.c -- "worker_priority", "worker_cpu_affinity",
 * "worker_rlimit_core", "working_directory" and "env": read with the
 * main context, applied in each new worker (and, but for the CPU
 * binding, in the health checker, as nginx does for its cache
 * processes).  A failed system call is an [alert] and the worker goes
 * on without that setting, as in nginx, except that a failed chdir()
 * does not end the worker either (nginx exits): where core files go is
 * not worth a worker that can never start.
 */
#include "fy_core.h"
#include "fy_worker_conf.h"

#include <sched.h>
#include <sys/resource.h>
#include <sys/stat.h>

extern char  **environ;

static const char *fy_worker_conf_priority(fy_conf_t *cf,
    const fy_command_t *cmd, void *conf);
static const char *fy_worker_conf_affinity(fy_conf_t *cf,
    const fy_command_t *cmd, void *conf);
static const char *fy_worker_conf_directory(fy_conf_t *cf,
    const fy_command_t *cmd, void *conf);
static const char *fy_worker_conf_env(fy_conf_t *cf,
    const fy_command_t *cmd, void *conf);

/* nginx's masks are a cpu_set_t each; 64 CPUs is what ferry's
 * uint64_t masks hold */
#define FY_AFFINITY_MAX_CPUS  64

const fy_command_t  fy_worker_conf_commands[] = {

    { "worker_priority", FY_CONF_MAIN, 0, 1, 1, fy_worker_conf_priority,
      FY_CONF_MAIN_OFF, 0, NULL },

    { "worker_cpu_affinity", FY_CONF_MAIN, 0, 1, FY_CONF_MANY,
      fy_worker_conf_affinity, FY_CONF_MAIN_OFF, 0, NULL },

    { "worker_rlimit_core", FY_CONF_MAIN, 0, 1, 1, fy_conf_set_size,
      FY_CONF_MAIN_OFF, offsetof(fy_core_conf_t, worker_rlimit_core), NULL },

    { "working_directory", FY_CONF_MAIN, 0, 1, 1, fy_worker_conf_directory,
      FY_CONF_MAIN_OFF, 0, NULL },

    { "env", FY_CONF_MAIN, 0, 1, 1, fy_worker_conf_env, FY_CONF_MAIN_OFF, 0,
      NULL },

    { NULL, 0, 0, 0, 0, NULL, 0, 0, NULL }
};


/* "-5", "+5" or "5", between -20 and 20 (nginx takes any number and
 * lets the kernel clamp it; a value outside the range is a typo). */
static const char *
fy_worker_conf_priority(fy_conf_t *cf, const fy_command_t *cmd, void *conf)
{
    fy_core_conf_t  *ccf = conf;
    fy_str_t        *v = &cf->args[1];
    int64_t          n;
    size_t           skip = 0;

    fy_unused(cmd);

    if (ccf->worker_priority != FY_CONF_UNSET_INT) {
        return "is duplicate";
    }
    if (v->len && (v->data[0] == '-' || v->data[0] == '+')) {
        skip = 1;
    }
    n = fy_atoi(v->data + skip, v->len - skip);
    if (n == -1 || n > 20) {
        fy_conf_error(cf, "invalid value \"%s\" in \"worker_priority\", it "
                      "must be between -20 and 20", v->data);
        return FY_CONF_ERROR;
    }
    ccf->worker_priority = v->data[0] == '-' ? (int) -n : (int) n;
    return FY_CONF_OK;
}


/* "auto", "auto MASK" or "MASK ...", each MASK a string of 0 and 1
 * with the lowest CPU rightmost, as nginx writes them. */
static const char *
fy_worker_conf_affinity(fy_conf_t *cf, const fy_command_t *cmd, void *conf)
{
    fy_core_conf_t  *ccf = conf;
    fy_str_t        *v;
    uint64_t         mask;
    unsigned         i, first = 1;
    size_t           k;

    fy_unused(cmd);

    if (ccf->cpu_affinity_n || ccf->cpu_affinity_auto) {
        return "is duplicate";
    }
    if (fy_str_eq(&cf->args[1], "auto")) {
        if (cf->nargs > 3) {
            fy_conf_error(cf, "\"worker_cpu_affinity auto\" takes at most "
                          "one mask");
            return FY_CONF_ERROR;
        }
        ccf->cpu_affinity_auto = 1;
        first = 2;
    }

    ccf->cpu_affinity = fy_palloc(cf->pool, (cf->nargs - 1)
                                            * sizeof(uint64_t));
    if (ccf->cpu_affinity == NULL) {
        fy_conf_error(cf, "cannot allocate memory");
        return FY_CONF_ERROR;
    }

    for (i = first; i < cf->nargs; i++) {
        v = &cf->args[i];
        if (v->len > FY_AFFINITY_MAX_CPUS) {
            fy_conf_error(cf, "\"worker_cpu_affinity\" supports up to %d "
                          "CPUs only", FY_AFFINITY_MAX_CPUS);
            return FY_CONF_ERROR;
        }
        mask = 0;
        for (k = 0; k < v->len; k++) {
            if (v->data[k] != '0' && v->data[k] != '1') {
                fy_conf_error(cf, "invalid character \"%c\" in "
                              "\"worker_cpu_affinity\"", v->data[k]);
                return FY_CONF_ERROR;
            }
            mask = mask << 1 | (uint64_t) (v->data[k] - '0');
        }
        if (mask == 0) {
            fy_conf_error(cf, "invalid mask \"%s\" in \"worker_cpu_affinity\","
                          " it has no CPU", v->data);
            return FY_CONF_ERROR;
        }
        ccf->cpu_affinity[ccf->cpu_affinity_n++] = mask;
    }
    return FY_CONF_OK;
}


static const char *
fy_worker_conf_directory(fy_conf_t *cf, const fy_command_t *cmd, void *conf)
{
    fy_core_conf_t  *ccf = conf;
    fy_str_t        *v = &cf->args[1];
    struct stat      st;
    size_t           plen = 0;
    u_char          *p;

    fy_unused(cmd);

    if (ccf->working_directory.data) {
        return "is duplicate";
    }
    /* relative to the prefix, as nginx has it */
    if (v->data[0] != '/' && cf->prefix) {
        plen = strlen(cf->prefix);
    }
    p = fy_palloc(cf->pool, plen + v->len + 1);
    if (p == NULL) {
        fy_conf_error(cf, "cannot allocate memory");
        return FY_CONF_ERROR;
    }
    if (plen) {
        memcpy(p, cf->prefix, plen);
    }
    memcpy(p + plen, v->data, v->len + 1);

    /* checked now, so a typo is an [emerg] with file and line rather
     * than an [alert] from every worker */
    if (stat((char *) p, &st) == -1) {
        fy_conf_error(cf, "stat(\"%s\") failed (%d: %s)", p, errno,
                      strerror(errno));
        return FY_CONF_ERROR;
    }
    if (!S_ISDIR(st.st_mode)) {
        fy_conf_error(cf, "\"%s\" is not a directory", p);
        return FY_CONF_ERROR;
    }
    ccf->working_directory.data = p;
    ccf->working_directory.len = plen + v->len;
    return FY_CONF_OK;
}


/* "env VAR" passes the master's VAR on, "env VAR=VALUE" sets it;
 * repeatable. */
static const char *
fy_worker_conf_env(fy_conf_t *cf, const fy_command_t *cmd, void *conf)
{
    fy_core_conf_t  *ccf = conf;
    fy_str_t        *v = &cf->args[1], *e;

    fy_unused(cmd);

    if (v->len == 0 || v->data[0] == '=') {
        fy_conf_error(cf, "invalid value \"%s\" in \"env\"", v->data);
        return FY_CONF_ERROR;
    }
    if (ccf->env.elts == NULL) {
        fy_array_init(&ccf->env, cf->pool, 4, sizeof(fy_str_t));
    }
    e = fy_array_push(&ccf->env);
    if (e == NULL) {
        fy_conf_error(cf, "cannot allocate memory");
        return FY_CONF_ERROR;
    }
    *e = *v;
    return FY_CONF_OK;
}


void
fy_worker_conf_check(fy_cycle_t *cycle)
{
    fy_core_conf_t  *ccf = cycle->core;

    if (ccf->cpu_affinity_n && !ccf->cpu_affinity_auto
        && ccf->cpu_affinity_n != cycle->workers)
    {
        fy_log_error(FY_LOG_WARN, 0, "the number of \"worker_processes\" is "
                     "not equal to the number of \"worker_cpu_affinity\" "
                     "masks, using last mask for remaining worker processes");
    }
}


/* The length of the name in "VAR" or "VAR=VALUE". */
static size_t
fy_env_name_len(const char *s)
{
    const char  *eq = strchr(s, '=');

    return eq ? (size_t) (eq - s) : strlen(s);
}

/* Append "name=value" (or the entry s itself when value is NULL) to
 * the block at *p, NUL-terminated. */
static char *
fy_env_put(char **p, const char *s, size_t nlen, const char *value)
{
    char    *start = *p;
    size_t   len;

    if (value == NULL) {
        len = strlen(s);
        memcpy(start, s, len + 1);
    } else {
        len = nlen + 1 + strlen(value);
        memcpy(start, s, nlen);
        start[nlen] = '=';
        memcpy(start + nlen + 1, value, strlen(value) + 1);
    }
    *p += len + 1;
    return start;
}

/*
 * Replace the environment with TZ (if the master has it) and what
 * "env" lists, as nginx does: a worker has no use for the rest, and a
 * secret in the master's environment stays out of its children.
 *
 * Pointing environ elsewhere is not enough: the strings the kernel
 * copied at exec stay in memory, and /proc/PID/environ shows that
 * block.  So the kept entries are built in a new block, every
 * inherited string is wiped, and the new block is copied over the old
 * one when it fits (it shows in /proc/PID/environ then; when it does
 * not, that shows only NULs).  environ points to the new array (and
 * block, unless copied) for the process's life.
 */
static void
fy_worker_conf_environ(fy_cycle_t *cycle)
{
    fy_core_conf_t  *ccf = cycle->core;
    fy_str_t        *e = ccf->env.elts;
    char           **env, **old = environ, *block, *p, *name, *val;
    char            *area = NULL, *area_end = NULL;
    unsigned         i, n = 0, tz_listed = 0;
    size_t           len, size = 0;

    for (i = 0; i < ccf->env.nelts; i++) {
        size += e[i].len + 1;
        val = getenv((char *) e[i].data);
        size += val ? strlen(val) + 1 : 0;
    }
    val = getenv("TZ");
    size += val ? strlen(val) + 4 : 0;

    env = malloc((ccf->env.nelts + 2) * sizeof(char *));
    block = malloc(size + 1);
    if (env == NULL || block == NULL) {
        free(env);
        free(block);
        fy_log_error(FY_LOG_ALERT, errno, "cannot allocate the environment, "
                     "kept as it is");
        return;
    }
    p = block;

    for (i = 0; i < ccf->env.nelts; i++) {
        name = (char *) e[i].data;
        len = fy_env_name_len(name);
        if (len == 2 && memcmp(name, "TZ", 2) == 0) {
            tz_listed = 1;
        }
        if (name[len] == '=') {
            env[n++] = fy_env_put(&p, name, len, NULL);    /* VAR=VALUE */
            continue;
        }
        val = getenv(name);                                /* VAR */
        if (val) {
            env[n++] = fy_env_put(&p, name, len, val);
        }
    }
    if (!tz_listed && (val = getenv("TZ")) != NULL) {
        env[n++] = fy_env_put(&p, "TZ", 2, val);
    }
    env[n] = NULL;

    /* the inherited block: contiguous as exec left it, unless the
     * master changed its environment (it does not) */
    if (old && old[0]) {
        area = old[0];
        area_end = old[0];
        for (i = 0; old[i]; i++) {
            if (old[i] != area_end) {
                area = NULL;
            }
            area_end = old[i] + strlen(old[i]) + 1;
        }
        for (i = 0; old[i]; i++) {
            explicit_bzero(old[i], strlen(old[i]));
        }
    }
    if (area && (size_t) (p - block) <= (size_t) (area_end - area)) {
        memcpy(area, block, (size_t) (p - block));
        for (i = 0; i < n; i++) {
            env[i] = area + (env[i] - block);
        }
        free(block);
    }
    environ = env;
}


void
fy_worker_conf_early(fy_cycle_t *cycle)
{
    fy_core_conf_t  *ccf = cycle->core;
    struct rlimit    rl;

    fy_worker_conf_environ(cycle);

    if (ccf->worker_priority != FY_CONF_UNSET_INT
        && setpriority(PRIO_PROCESS, 0, ccf->worker_priority) == -1)
    {
        fy_log_error(FY_LOG_ALERT, errno, "setpriority(%d) failed",
                     ccf->worker_priority);
    }

    if (ccf->worker_rlimit_core != FY_CONF_UNSET_SIZE) {
        rl.rlim_cur = (rlim_t) ccf->worker_rlimit_core;
        rl.rlim_max = (rlim_t) ccf->worker_rlimit_core;
        if (setrlimit(RLIMIT_CORE, &rl) == -1) {
            fy_log_error(FY_LOG_ALERT, errno, "setrlimit(RLIMIT_CORE, %zu) "
                         "failed, ignored", ccf->worker_rlimit_core);
        }
    }
}


/* The CPUs worker `number` is bound to: its own mask, the last one for
 * workers beyond the list, or with "auto" the (number mod n)th of the
 * n CPUs in the mask (all online CPUs without one). */
static uint64_t
fy_worker_conf_cpus(fy_core_conf_t *ccf, unsigned number)
{
    uint64_t  mask, bit;
    unsigned  n, k, i;
    long      ncpu;

    if (!ccf->cpu_affinity_auto) {
        return ccf->cpu_affinity[fy_min(number, ccf->cpu_affinity_n - 1)];
    }
    if (ccf->cpu_affinity_n) {
        mask = ccf->cpu_affinity[0];
    } else {
        ncpu = sysconf(_SC_NPROCESSORS_ONLN);
        ncpu = ncpu < 1 ? 1 : fy_min(ncpu, FY_AFFINITY_MAX_CPUS);
        mask = ncpu == 64 ? ~(uint64_t) 0 : ((uint64_t) 1 << ncpu) - 1;
    }
    n = (unsigned) __builtin_popcountll(mask);
    k = number % n;
    for (i = 0; i < FY_AFFINITY_MAX_CPUS; i++) {
        bit = (uint64_t) 1 << i;
        if ((mask & bit) && k-- == 0) {
            return bit;
        }
    }
    return mask;    /* not reached: the mask has n bits */
}


void
fy_worker_conf_late(fy_cycle_t *cycle, int number)
{
    fy_core_conf_t  *ccf = cycle->core;
    cpu_set_t        set;
    uint64_t         mask;
    unsigned         i;

    if (number >= 0 && (ccf->cpu_affinity_n || ccf->cpu_affinity_auto)) {
        mask = fy_worker_conf_cpus(ccf, (unsigned) number);
        CPU_ZERO(&set);
        for (i = 0; i < FY_AFFINITY_MAX_CPUS; i++) {
            if (mask & ((uint64_t) 1 << i)) {
                CPU_SET(i, &set);
            }
        }
        if (sched_setaffinity(0, sizeof(set), &set) == -1) {
            fy_log_error(FY_LOG_ALERT, errno, "sched_setaffinity(0x%llx) "
                         "failed", (unsigned long long) mask);
        }
    }

    if (ccf->working_directory.data
        && chdir((char *) ccf->working_directory.data) == -1)
    {
        fy_log_error(FY_LOG_ALERT, errno, "chdir(\"%s\") failed",
                     ccf->working_directory.data);
    }
}
