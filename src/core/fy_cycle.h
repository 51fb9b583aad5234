/*
 * fy_cycle.h -- one whole configuration ("cycle", as nginx calls it).
 *
 * Loading a configuration builds a new cycle in its own pool from the
 * files; nothing running is touched until it is complete and checked.
 * A cycle that fails to load is freed with its pool and the old one
 * keeps serving.
 */
#ifndef FY_CYCLE_H
#define FY_CYCLE_H

#include "fy_core.h"
#include "fy_pool.h"
#include "fy_array.h"
#include "fy_conf_file.h"
#include <netinet/in.h>
#include <sys/un.h>

struct fy_dispatch_ops_s;

/* A further error_log of main: its absolute path (or "stderr"), or
 * its syslog server. */
typedef struct {
    char               *path;
    struct fy_syslog_s *syslog;
    int                 level;
} fy_core_error_log_t;

/* A name in a list built at config time (thread_pool's). */
typedef struct fy_core_name_s {
    fy_str_t                 name;
    struct fy_core_name_s   *next;
} fy_core_name_t;

/* main and events contexts */
typedef struct {
    int                 daemon;
    fy_str_t            pid;
    fy_str_t            error_log;
    int                 error_log_level;
    struct fy_syslog_s *error_log_syslog;   /* error_log syslog:... */
    fy_array_t          error_logs_more;    /* the 2nd.. error_log in main:
                                               fy_core_error_log_t */
    int                 worker_processes;   /* 0 in the file means auto */
    const struct fy_dispatch_ops_s *dispatch;  /* NULL: not set */
    int                 worker_connections;
    int                 events_seen;

    /* process lifecycle (fy_supervise.c, fy_user.c, docs/lifecycle.md) */
    int64_t             worker_shutdown_timeout;  /* ms, 0: none */
    int64_t             worker_restart_delay;     /* ms, first backoff */
    int64_t             worker_restart_delay_max; /* ms, the cap */
    int                 worker_max_restarts;      /* 0: never disable */
    int64_t             worker_restarts_window;   /* ms: "per TIME" */
    int64_t             worker_heartbeat_timeout; /* ms, 0: off */
    size_t              worker_max_memory;        /* bytes, 0: off */
    int                 worker_rlimit_nofile;     /* unset: leave as is */
    int                 master_sched;             /* FY_SCHED_* (fy_sched.h) */
    fy_str_t            user;                     /* "user" name, or empty */
    uid_t               user_uid;
    gid_t               user_gid;

    /* what a new worker process is given (fy_worker_conf.c) */
    int                 worker_priority;          /* unset: leave as is */
    uint64_t           *cpu_affinity;             /* masks, CPU 0 = bit 0 */
    unsigned            cpu_affinity_n;           /* 0: not set */
    unsigned            cpu_affinity_auto;
    size_t              worker_rlimit_core;       /* unset: leave as is */
    fy_str_t            working_directory;        /* absolute, or empty */
    fy_array_t          env;                      /* fy_str_t "VAR[=VALUE]" */

    /* events */
    int                 multi_accept;             /* 0: one per wake-up */
    int                 epoll_events;             /* epoll_wait()'s room,
                                                     512 */
    int                 accept_mutex;             /* no effect */
    int                 use_seen;
    int                 pcre_jit;
    int64_t             timer_resolution;         /* ms, no effect */

    /* accepted without effect (fy_core_tuning.c): kept only to check
     * them as nginx does */
    unsigned            tuning_seen;              /* duplicates */
    fy_core_name_t     *thread_pools;             /* names given */
} fy_core_conf_t;

#define FY_MAX_LISTEN  1024

/* An address to listen on or connect to: IPv4, IPv6 or a unix-domain
 * socket ("unix:/path"). */
typedef union {
    struct sockaddr      sa;
    struct sockaddr_in   sin;
    struct sockaddr_in6  sin6;
    struct sockaddr_un   sun;
} fy_sockaddr_t;

/* The socket options of a "listen" (http and stream alike), set by the
 * master on the listening socket; accepted sockets inherit them from
 * it (fy_listen.c).  -1: not given, the system's value is left. */
typedef struct {
    int                  backlog;      /* listen(): "backlog=", 511 */
    int                  rcvbuf;       /* SO_RCVBUF: "rcvbuf=SIZE" */
    int                  sndbuf;       /* SO_SNDBUF: "sndbuf=SIZE" */
    int                  fastopen;     /* TCP_FASTOPEN: "fastopen=N" */
    int                  ipv6only;     /* IPV6_V6ONLY: "ipv6only=", 1 */
    /* "so_keepalive=on|off|[idle]:[intvl]:[cnt]": SO_KEEPALIVE -1/0/1,
     * TCP_KEEPIDLE and TCP_KEEPINTVL in seconds, TCP_KEEPCNT; 0: the
     * system's */
    int                  keepalive;
    int                  keepidle;
    int                  keepintvl;
    int                  keepcnt;
    unsigned             deferred:1;   /* "deferred": TCP_DEFER_ACCEPT 1 */
    unsigned             set:1;        /* one of them was given */
    unsigned             bind:1;       /* "bind", or one of them: a socket
                                          of its own beside a wildcard */
} fy_listen_opts_t;

/* A listening socket: one per distinct address in "listen". */
typedef struct {
    fy_sockaddr_t        addr;
    socklen_t            addrlen;
    char                 text[128];    /* "127.0.0.1:8080", "unix:/x.sock" */
    int                  fd;           /* -1 until opened (master) */
    fy_listen_opts_t     sock;         /* from the one listen giving them */
    const char          *file;         /* the first listen of the address */
    unsigned             line;
    unsigned             inherited:1;  /* taken over from the old cycle */
    /* an old cycle's socket a reload stopped listening (still bound)
     * so a new socket on its port could bind: fy_listen_move */
    unsigned             stopped:1;
    /* nginx's addresses without "bind": an IP:PORT listener beside a
     * *:PORT one (of the same family, both http or both stream) has no
     * socket (shared); the wildcard's (serves) takes its connections,
     * and the master gives each the listener of its local address
     * (fy_listen_check, fy_listen_local) */
    unsigned             shared:1;
    unsigned             serves:1;
    unsigned             ssl:1;        /* "listen ... ssl" */
    unsigned             udp:1;        /* stream "listen ... udp": a
                                          datagram socket every worker
                                          reads (fy_stream_udp.c) */
    unsigned             proxy_protocol:1; /* http "listen ...
                                          proxy_protocol": a PROXY header
                                          comes first (fy_http_pp.c) */
    unsigned             index;        /* position in cycle->listening */
    fy_array_t           servers;      /* fy_http_srv_conf_t *, in the order
                                          written: server_name ties and
                                          regexes go by it (nginx) */
    struct fy_http_srv_conf_s *default_server;  /* the first, or the one
                                          "listen ... default_server" marks */
    /* a stream listener: its server (fy_stream_srv_conf_t) and listen
     * (fy_stream_listen_t); NULL for http */
    void                *stream;
    void                *stream_listen;
} fy_listen_t;

typedef struct {
    fy_pool_t                  *pool;
    fy_core_conf_t             *core;
    struct fy_http_main_conf_s *http;          /* NULL without http {} */
    struct fy_stream_main_conf_s *stream;      /* NULL without stream {} */
    fy_array_t                  listening;     /* fy_listen_t */
    fy_array_t                  drained;       /* fy_listen_drained_t: the
                                                  connections queued on old
                                                  sockets a reload stopped */
    char                       *prefix;        /* with trailing slash */
    char                       *conf_file;     /* absolute */
    char                       *pid_path;      /* absolute */
    char                       *error_log_path;/* absolute, or "stderr" */
    const struct fy_dispatch_ops_s *dispatch;
    unsigned                    workers;       /* resolved count */
    uint64_t                    generation;
    struct fy_alog_file_s      *access_logs;   /* every access_log file,
                                                  http's and stream's
                                                  (fy_alog.c) */
} fy_cycle_t;

/* Build a cycle from conf_file (and -g `directives`, may be NULL).
 * dump: print every file read to stdout (-T).  NULL on any error,
 * already logged at [emerg] with file and line. */
fy_cycle_t *fy_cycle_load(const char *prefix, const char *conf_file,
                          const char *directives, int dump);
void        fy_cycle_free(fy_cycle_t *cycle);

/* Parse "addr:port", "port", "[v6]:port", "*:port" or "unix:/path"
 * into a sockaddr; a host name gives its first IPv4 address.  FY_OK,
 * FY_DECLINED for a unix path too long for sun_path, or FY_ERROR.
 * Used where one address is wanted: syslog, resolver, stream's
 * proxy_bind and map values. */
int fy_parse_addr_port(const u_char *s, size_t len, int need_port,
                       fy_sockaddr_t *sa, socklen_t *salen);

typedef struct {
    fy_sockaddr_t  addr;
    socklen_t      addrlen;
} fy_addr_t;

/* The same text as fy_parse_addr_port, to every address it names: out
 * (initialized here on pool) gets one fy_addr_t for an address written
 * out or a unix path, and for a host name all of its IPv4 then IPv6
 * addresses, each once; *named says which.  FY_OK, FY_DECLINED as
 * above, or FY_ERROR (unknown name, bad text).  Used for the servers
 * of upstreams, http's and stream's, named or implicit, and listen. */
int fy_parse_addrs(fy_pool_t *pool, const u_char *s, size_t len,
                   int need_port, fy_array_t *out, int *named);
/* "127.0.0.1:8080" / "[::1]:8080" / "unix:/path" ("unix:" for an
 * unnamed peer); without port: "127.0.0.1" / "::1".  len is the
 * address's length (a unix path need not be NUL-terminated). */
void fy_sockaddr_text(const struct sockaddr *sa, socklen_t len, char *buf,
                      size_t size, int with_port);
/* Room for the longest of those texts, NUL included: "unix:" and a
 * full sun_path (114 bytes; "[v6]:port" takes at most 54). */
#define FY_SOCKADDR_STRLEN                                                 \
    (sizeof("unix:") - 1 + sizeof(((struct sockaddr_un *) 0)->sun_path) + 1)

extern const fy_command_t  fy_core_commands[];

#endif /* FY_CYCLE_H */
