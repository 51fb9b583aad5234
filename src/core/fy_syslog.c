/*
 * fy_syslog.c -- the syslog transport of error_log and access_log.
 *
 * As nginx: "syslog:server=ADDR[:PORT],facility=F,severity=S,tag=T,
 * nohostname"; UDP port 514 when none is given, or "unix:/path" for a
 * datagram unix socket.  Each message is one datagram on a connect()ed,
 * non-blocking socket that the process sending it opens at its first
 * message (a worker never uses the master's), so nothing is opened
 * for a log that is never written.  A send that fails drops the
 * message and closes the socket, which the next message opens again
 * (a syslog server that restarts, a unix socket re-created).  Failures
 * are reported into the error log at most once a minute per server, so
 * a server that is down does not fill the other logs.
 *
 * Everything here may run from fy_log_error(), itself possibly in a
 * signal handler: no allocation, no stdio locks; socket(), connect()
 * and send() are async-signal-safe.
 */
#include "fy_core.h"
#include "fy_syslog.h"

#include <ctype.h>
#include <time.h>


/* RFC 3164 4.1.1, in nginx's order: the index is the code */
static const char  *fy_syslog_facilities[] = {
    "kern", "user", "mail", "daemon", "auth", "intern", "lpr", "news",
    "uucp", "clock", "authpriv", "ftp", "ntp", "audit", "alert", "cron",
    "local0", "local1", "local2", "local3", "local4", "local5", "local6",
    "local7"
};

/* gethostname(), lower-cased (nginx's $hostname), read once */
static char    fy_syslog_hostname[FY_SYSLOG_HOSTNAME_MAX + 1];
static size_t  fy_syslog_hostname_len;

#define FY_SYSLOG_REPORT_EVERY  60      /* seconds between failure reports */


static void
fy_syslog_cleanup(void *data)
{
    fy_syslog_t  *sl = data;

    sl->busy = 1;               /* nothing more goes out through it */
    if (sl->fd != -1) {
        close(sl->fd);
        sl->fd = -1;
    }
}


static void
fy_syslog_init_hostname(void)
{
    size_t  i;

    if (fy_syslog_hostname_len) {
        return;
    }
    if (gethostname(fy_syslog_hostname, sizeof(fy_syslog_hostname) - 1)
        == -1)
    {
        strcpy(fy_syslog_hostname, "localhost");
    }
    fy_syslog_hostname[sizeof(fy_syslog_hostname) - 1] = '\0';
    fy_syslog_hostname_len = strlen(fy_syslog_hostname);
    for (i = 0; i < fy_syslog_hostname_len; i++) {
        fy_syslog_hostname[i] = (char) tolower((u_char) fy_syslog_hostname[i]);
    }
}


/* "server=": an address with 514 as the default port, or unix:/path */
static int
fy_syslog_conf_server(fy_conf_t *cf, fy_syslog_t *sl, const u_char *v,
                      size_t len)
{
    const u_char  *colon;
    int            rc, has_port;

    if (len >= 5 && memcmp(v, "unix:", 5) == 0) {
        has_port = 1;
    } else if (len && v[0] == '[') {
        colon = memchr(v, ']', len);
        has_port = colon && colon + 1 < v + len && colon[1] == ':';
    } else {
        has_port = memchr(v, ':', len) != NULL;
    }

    rc = len ? fy_parse_addr_port(v, len, 0, &sl->addr, &sl->addrlen)
             : FY_ERROR;
    if (rc != FY_OK) {
        fy_conf_error(cf, "%s in syslog server \"%.*s\"",
                      rc == FY_DECLINED ? "too long path in the unix "
                      "domain socket" : "invalid address or host not found",
                      (int) len, (const char *) v);
        return FY_ERROR;
    }
    if (!has_port) {
        /* sin_port and sin6_port share their place */
        sl->addr.sin6.sin6_port = htons(514);
    }
    fy_sockaddr_text(&sl->addr.sa, sl->addrlen, sl->server,
                     sizeof(sl->server), 1);
    return FY_OK;
}


static int
fy_syslog_conf_param(fy_conf_t *cf, fy_syslog_t *sl, const u_char *p,
                     size_t len, int *facility, int *severity)
{
    const u_char  *v;
    size_t         vlen, i;
    int            n;

    if (len >= 7 && memcmp(p, "server=", 7) == 0) {
        if (sl->addrlen) {
            fy_conf_error(cf, "duplicate syslog \"server\"");
            return FY_ERROR;
        }
        return fy_syslog_conf_server(cf, sl, p + 7, len - 7);
    }

    if (len >= 9 && memcmp(p, "facility=", 9) == 0) {
        if (*facility != -1) {
            fy_conf_error(cf, "duplicate syslog \"facility\"");
            return FY_ERROR;
        }
        v = p + 9;
        vlen = len - 9;
        for (i = 0; i < fy_nelems(fy_syslog_facilities); i++) {
            if (strlen(fy_syslog_facilities[i]) == vlen
                && memcmp(fy_syslog_facilities[i], v, vlen) == 0)
            {
                *facility = (int) i;
                return FY_OK;
            }
        }
        fy_conf_error(cf, "unknown syslog facility \"%.*s\"", (int) vlen,
                      (const char *) v);
        return FY_ERROR;
    }

    if (len >= 9 && memcmp(p, "severity=", 9) == 0) {
        if (*severity != -1) {
            fy_conf_error(cf, "duplicate syslog \"severity\"");
            return FY_ERROR;
        }
        /* error_log's level names: "error", "warn", not "err" */
        n = fy_log_level_from_name((const char *) p + 9, len - 9);
        if (n == -1) {
            fy_conf_error(cf, "unknown syslog severity \"%.*s\"",
                          (int) (len - 9), (const char *) p + 9);
            return FY_ERROR;
        }
        *severity = n - FY_LOG_EMERG;
        return FY_OK;
    }

    if (len >= 4 && memcmp(p, "tag=", 4) == 0) {
        if (sl->tag[0]) {
            fy_conf_error(cf, "duplicate syslog \"tag\"");
            return FY_ERROR;
        }
        /* RFC 3164: alphanumeric, at most 32 characters */
        if (len - 4 > FY_SYSLOG_TAG_MAX) {
            fy_conf_error(cf, "syslog tag length exceeds 32");
            return FY_ERROR;
        }
        for (i = 4; i < len; i++) {
            if (!isalnum(p[i]) && p[i] != '_') {
                fy_conf_error(cf, "syslog \"tag\" only allows alphanumeric "
                              "characters and underscore");
                return FY_ERROR;
            }
        }
        if (len == 4) {
            fy_conf_error(cf, "empty syslog \"tag\"");
            return FY_ERROR;
        }
        memcpy(sl->tag, p + 4, len - 4);
        sl->tag[len - 4] = '\0';
        return FY_OK;
    }

    if (len == 10 && memcmp(p, "nohostname", 10) == 0) {
        sl->nohostname = 1;
        return FY_OK;
    }

    fy_conf_error(cf, "unknown syslog parameter \"%.*s\"", (int) len,
                  (const char *) p);
    return FY_ERROR;
}


fy_syslog_t *
fy_syslog_conf(fy_conf_t *cf, const fy_str_t *arg)
{
    fy_syslog_t   *sl;
    const u_char  *p, *end, *comma;
    int            facility = -1, severity = -1;

    sl = fy_pcalloc(cf->pool, sizeof(fy_syslog_t));
    if (sl == NULL) {
        fy_conf_error(cf, "cannot allocate memory");
        return NULL;
    }
    sl->fd = -1;

    p = arg->data + 7;
    end = arg->data + arg->len;
    for ( ;; ) {
        comma = memchr(p, ',', (size_t) (end - p));
        if (fy_syslog_conf_param(cf, sl, p, (size_t) ((comma ? comma : end)
                                 - p), &facility, &severity) != FY_OK)
        {
            return NULL;
        }
        if (comma == NULL) {
            break;
        }
        p = comma + 1;
    }

    if (sl->addrlen == 0) {
        fy_conf_error(cf, "no syslog server specified");
        return NULL;
    }
    sl->facility = facility == -1 ? 23 : (unsigned) facility;   /* local7 */
    sl->severity = severity == -1 ? 6 : (unsigned) severity;    /* info */
    if (sl->tag[0] == '\0') {
        /* nginx's default: what syslog rules and parsers already match */
        strcpy(sl->tag, "nginx");
    }
    fy_syslog_init_hostname();

    if (fy_pool_cleanup_add(cf->pool, fy_syslog_cleanup, sl) != FY_OK) {
        fy_conf_error(cf, "cannot allocate memory");
        return NULL;
    }
    return sl;
}


fy_syslog_t *
fy_syslog_dup(const fy_syslog_t *sl)
{
    fy_syslog_t  *copy;

    copy = malloc(sizeof(fy_syslog_t));
    if (copy == NULL) {
        return NULL;
    }
    *copy = *sl;
    copy->fd = -1;
    copy->busy = 0;
    return copy;
}


size_t
fy_syslog_header(const fy_syslog_t *sl, unsigned severity, u_char *buf)
{
    char    *p = (char *) buf;
    size_t   n;
    int      r;

    r = snprintf(p, 8, "<%u>", sl->facility * 8 + severity);
    n = r > 0 ? (size_t) r : 0;
    n += fy_log_syslog_time(p + n, 16);
    p[n++] = ' ';
    if (!sl->nohostname) {
        memcpy(p + n, fy_syslog_hostname, fy_syslog_hostname_len);
        n += fy_syslog_hostname_len;
        p[n++] = ' ';
    }
    r = (int) strlen(sl->tag);
    memcpy(p + n, sl->tag, (size_t) r);
    n += (size_t) r;
    p[n++] = ':';
    p[n++] = ' ';
    return n;
}


static int
fy_syslog_open(fy_syslog_t *sl)
{
    int  fd;

    fd = socket(sl->addr.sa.sa_family, SOCK_DGRAM | SOCK_NONBLOCK
                | SOCK_CLOEXEC, 0);
    if (fd == -1) {
        return -1;
    }
    if (connect(fd, &sl->addr.sa, sl->addrlen) == -1) {
        int  err = errno;

        close(fd);
        errno = err;
        return -1;
    }
    sl->fd = fd;
    sl->pid = fy_getpid();
    return 0;
}


/* Report a lost message, at most once a minute per server. */
static void
fy_syslog_failed(fy_syslog_t *sl, int err, const char *what)
{
    struct timespec  ts;

    sl->lost++;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    if (sl->err_time && ts.tv_sec - sl->err_time < FY_SYSLOG_REPORT_EVERY) {
        return;
    }
    fy_log_error(FY_LOG_ALERT, err, "%s() to syslog server %s failed, "
                 "%u message%s lost", what, sl->server, sl->lost,
                 sl->lost == 1 ? "" : "s");
    sl->err_time = ts.tv_sec ? ts.tv_sec : 1;
    sl->lost = 0;
}


void
fy_syslog_send(fy_syslog_t *sl, const u_char *msg, size_t len)
{
    ssize_t  n;
    int      err;

    if (sl->busy) {
        return;
    }
    sl->busy = 1;               /* a failure logged below skips this log */

    if (sl->fd != -1 && sl->pid != fy_getpid()) {
        /* inherited from the master: each process has its own */
        close(sl->fd);
        sl->fd = -1;
    }
    if (sl->fd == -1 && fy_syslog_open(sl) == -1) {
        fy_syslog_failed(sl, errno, "connect");
        sl->busy = 0;
        return;
    }

    do {
        n = send(sl->fd, msg, len, 0);
    } while (n == -1 && errno == EINTR);

    if (n == -1) {
        err = errno;
        if (err != EAGAIN) {
            /* a refused port, a removed unix socket: open anew next time */
            close(sl->fd);
            sl->fd = -1;
        }
        fy_syslog_failed(sl, err, "send");
    }
    sl->busy = 0;
}


/* The line goes out whole (it is at most fy_log's 2048 bytes), with
 * the message's level as severity: emerg 0 ... debug 7. */
void
fy_syslog_error(fy_syslog_t *sl, int level, const char *line, size_t len)
{
    u_char  msg[FY_SYSLOG_HEADER_MAX + 2048];
    size_t  n;

    n = fy_syslog_header(sl, (unsigned) (level - FY_LOG_EMERG), msg);
    len = fy_min(len, sizeof(msg) - n);
    memcpy(msg + n, line, len);
    fy_syslog_send(sl, msg, n + len);
}
