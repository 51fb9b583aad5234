/*
 * ferry.c -- main(): the command line, nginx's flags.
 *
 *   ferry [-c file] [-p prefix] [-e errlog] [-g 'directives'] [-t] [-T]
 *         [-q] [-s reload|stop|quit|reopen] [-v] [-V] [-h]
 *
 * Only main() lives here: unit tests link every other object.
 */
#include "fy_core.h"
#include "fy_cycle.h"
#include "fy_listen.h"
#include "fy_master.h"
#include "fy_shm.h"
#include "fy_dispatch.h"
#include "fy_http.h"
#include "fy_log_main.h"
#include "fy_pidfile.h"
#include "fy_signal.h"
#include "fy_user.h"

#include <fcntl.h>
#include <signal.h>
#include <sys/stat.h>
#include <openssl/crypto.h>
#include <pcre2.h>
#include <zlib.h>

typedef struct {
    const char  *prefix;
    const char  *conf_file;
    const char  *error_log;
    const char  *directives;
    const char  *signal;
    unsigned     test:1;
    unsigned     dump:1;
    unsigned     quiet:1;
    unsigned     version:1;
    unsigned     build:1;
    unsigned     help:1;
} fy_args_t;

static void
fy_usage(FILE *out)
{
    fprintf(out,
        "Usage: ferry [-?hvVtTq] [-s signal] [-p prefix]\n"
        "             [-e filename] [-c filename] [-g directives]\n\n"
        "Options:\n"
        "  -?,-h         : this help\n"
        "  -v            : show version and exit\n"
        "  -V            : show version, build options and libraries, "
        "then exit\n"
        "  -t            : test configuration and exit\n"
        "  -T            : test configuration, dump it and exit\n"
        "  -q            : suppress non-error messages during "
        "configuration testing\n"
        "  -s signal     : send signal to the master process: "
        "stop, quit, reopen, reload\n"
        "  -p prefix     : set prefix path (default: " FY_PREFIX ")\n"
        "  -e filename   : set the default error log file (default: "
        FY_ERROR_LOG_PATH ")\n"
        "  -c filename   : set configuration file (default: "
        FY_CONF_PATH ")\n"
        "  -g directives : set global directives out of configuration "
        "file\n");
}

static int
fy_parse_args(int argc, char **argv, fy_args_t *a)
{
    int    i;
    char  *p;

    for (i = 1; i < argc; i++) {
        p = argv[i];
        if (*p++ != '-' || *p == '\0') {
            fprintf(stderr, "ferry: invalid option: \"%s\"\n", argv[i]);
            return FY_ERROR;
        }
        while (*p) {
            switch (*p++) {
            case '?': case 'h': a->help = 1; break;
            case 'v': a->version = 1; break;
            case 'V': a->version = 1; a->build = 1; break;
            case 't': a->test = 1; break;
            case 'T': a->test = 1; a->dump = 1; break;
            case 'q': a->quiet = 1; break;

            case 'p': case 'c': case 'e': case 'g': case 's': {
                char        opt = p[-1];
                const char *val;

                if (*p) {
                    val = p;
                } else if (++i < argc) {
                    val = argv[i];
                } else {
                    fprintf(stderr, "ferry: option \"-%c\" requires %s\n",
                            opt, opt == 'p' ? "directory name"
                                 : opt == 'g' ? "parameter"
                                 : opt == 's' ? "parameter" : "file name");
                    return FY_ERROR;
                }
                switch (opt) {
                case 'p': a->prefix = val; break;
                case 'c': a->conf_file = val; break;
                case 'e': a->error_log = val; break;
                case 'g': a->directives = val; break;
                case 's':
                    if (strcmp(val, "stop") && strcmp(val, "quit")
                        && strcmp(val, "reopen") && strcmp(val, "reload"))
                    {
                        fprintf(stderr, "ferry: invalid option: \"-s %s\"\n",
                                val);
                        return FY_ERROR;
                    }
                    a->signal = val;
                    break;
                }
                p = (char *) "";
                break;
            }

            default:
                fprintf(stderr, "ferry: invalid option: \"%c\"\n", p[-1]);
                return FY_ERROR;
            }
        }
    }
    return FY_OK;
}

static void
fy_show_version(int build)
{
    char  pcre[64];

    fprintf(stderr, "ferry version: ferry/" FY_VERSION "\n");
    if (!build) {
        return;
    }
    pcre2_config(PCRE2_CONFIG_VERSION, pcre);
    fprintf(stderr, "built by %s\n", FY_CC_VERSION);
    fprintf(stderr, "built with %s (running with %s)\n",
            OPENSSL_VERSION_TEXT, OpenSSL_version(OPENSSL_VERSION));
    fprintf(stderr, "built with PCRE2 %d.%d (running with %s)\n",
            PCRE2_MAJOR, PCRE2_MINOR, pcre);
    fprintf(stderr, "built with zlib %s (running with %s)\n",
            ZLIB_VERSION, zlibVersion());
    fprintf(stderr, "configure arguments: %s\n", FY_CONFIGURE_ARGS);
}

/* The prefix always ends with '/'. */
static char *
fy_prefix(const char *p)
{
    size_t  len = strlen(p);
    char   *s = malloc(len + 2);

    if (s == NULL) {
        return NULL;
    }
    memcpy(s, p, len);
    if (len == 0 || p[len - 1] != '/') {
        s[len++] = '/';
    }
    s[len] = '\0';
    return s;
}

static int
fy_send_signal(fy_cycle_t *cycle, const char *name)
{
    char   buf[32];
    int    fd, signo;
    long   pid;
    ssize_t n;

    fd = open(cycle->pid_path, O_RDONLY | O_CLOEXEC);
    if (fd == -1) {
        fy_log_error(FY_LOG_ERR, errno, "open() \"%s\" failed",
                     cycle->pid_path);
        return 1;
    }
    n = read(fd, buf, sizeof(buf) - 1);
    close(fd);
    if (n <= 0) {
        fy_log_error(FY_LOG_ERR, 0, "invalid PID number in \"%s\"",
                     cycle->pid_path);
        return 1;
    }
    buf[n] = '\0';
    pid = strtol(buf, NULL, 10);
    if (pid <= 0) {
        fy_log_error(FY_LOG_ERR, 0, "invalid PID number \"%s\" in \"%s\"",
                     buf, cycle->pid_path);
        return 1;
    }

    signo = strcmp(name, "stop") == 0 ? SIGTERM
          : strcmp(name, "quit") == 0 ? SIGQUIT
          : strcmp(name, "reopen") == 0 ? SIGUSR1 : SIGHUP;

    if (kill((pid_t) pid, signo) == -1) {
        fy_log_error(FY_LOG_ERR, errno, "kill(%ld, %d) failed", pid, signo);
        return 1;
    }
    return 0;
}

static int
fy_daemonize(void)
{
    int  fd;

    switch (fork()) {
    case -1:
        fy_log_error(FY_LOG_EMERG, errno, "fork() failed");
        return FY_ERROR;
    case 0:
        break;
    default:
        _exit(0);
    }
    if (setsid() == -1) {
        fy_log_error(FY_LOG_EMERG, errno, "setsid() failed");
        return FY_ERROR;
    }
    umask(0);
    fd = open("/dev/null", O_RDWR);
    if (fd == -1) {
        fy_log_error(FY_LOG_EMERG, errno, "open(\"/dev/null\") failed");
        return FY_ERROR;
    }
    dup2(fd, STDIN_FILENO);
    dup2(fd, STDOUT_FILENO);
    if (fd > STDERR_FILENO) {
        close(fd);
    }
    return FY_OK;
}

int
main(int argc, char **argv)
{
    fy_args_t             a;
    fy_cycle_t           *cycle;
    fy_master_opts_t      opts;
    fy_log_t              log;
    char                 *prefix;
    int                   rc;

    memset(&a, 0, sizeof(a));
    fy_log.startup = 1;

    if (fy_parse_args(argc, argv, &a) != FY_OK) {
        return 1;
    }
    if (a.test && a.quiet) {
        fy_log.level = FY_LOG_ERR;      /* -q: errors only, as nginx */
    }
    if (a.help) {
        fy_show_version(0);
        fy_usage(stderr);
        return 0;
    }
    if (a.version) {
        fy_show_version(a.build);
        return 0;
    }

    prefix = fy_prefix(a.prefix ? a.prefix : FY_PREFIX);
    if (prefix == NULL) {
        return 1;
    }
    if (a.conf_file == NULL) {
        a.conf_file = FY_CONF_PATH;
    }

    cycle = fy_cycle_load(prefix, a.conf_file, a.directives, a.dump);

    if (a.test) {
        const char *name = cycle ? cycle->conf_file : a.conf_file;
        char        full[4096];

        if (cycle == NULL) {
            /* the same absolute name the success line shows */
            if (a.conf_file[0] != '/') {
                snprintf(full, sizeof(full), "%s%s", prefix, a.conf_file);
                name = full;
            }
            fprintf(stderr, "ferry: configuration file %s test failed\n",
                    name);
            free(prefix);
            return 1;
        }
        if (!a.quiet) {
            fprintf(stderr, "ferry: the configuration file %s syntax is ok\n"
                    "ferry: configuration file %s test is successful\n",
                    name, name);
        }
        fy_cycle_free(cycle);
        free(prefix);
        return 0;
    }

    if (cycle == NULL) {
        free(prefix);
        return 1;
    }

    if (a.signal) {
        rc = fy_send_signal(cycle, a.signal);
        fy_cycle_free(cycle);
        free(prefix);
        return rc;
    }

    if (fy_pidfile_check(cycle->pid_path) != FY_OK) {
        goto failed;
    }

    fy_user_nofile(cycle);         /* and at each reload */

    if (fy_listen_open(cycle, NULL) != FY_OK || fy_shm_init() != FY_OK
        || ((cycle->http || cycle->stream)
            && fy_http_peers_register(cycle) != FY_OK)
        || ((cycle->http || cycle->stream)
            && fy_http_limit_zones_map(cycle) != FY_OK))
    {
        goto failed;
    }

    if (fy_log_main_open(cycle, a.error_log, &log) != FY_OK) {
        goto failed;
    }
    fy_log_main_switch(cycle, &log);

    if (cycle->core->daemon && fy_daemonize() != FY_OK) {
        goto failed;
    }
    /* the master removes it when it exits, or moves it on a reload
     * naming another one; the signals a script may send as soon as it
     * names us wait, blocked, for the master's loop */
    if (fy_signal_block() != FY_OK
        || fy_pidfile_write(cycle->pid_path) != FY_OK)
    {
        goto failed;
    }

    fy_log_error(FY_LOG_NOTICE, 0, "ferry/" FY_VERSION " started, %u worker "
                 "processes, dispatch %s", cycle->workers,
                 cycle->dispatch->name);
    fy_http_regex_jit_report(cycle);

    opts.prefix = prefix;
    opts.conf_file = a.conf_file;
    opts.directives = a.directives;
    opts.error_log = a.error_log;

    /* frees the last cycle and removes its pid file */
    rc = fy_master_run(cycle, &opts);

    free(prefix);
    return rc;

failed:
    fy_listen_close(cycle);
    fy_cycle_free(cycle);
    free(prefix);
    return 1;
}
