/*
 * test_syslog.c -- the "syslog:" parameters (fy_syslog_conf), the
 * RFC 3164 header (fy_syslog_header) and one datagram sent
 * (fy_syslog_send, fy_syslog_error) to a UDP socket on 127.0.0.1.
 */

#include "fy_core.h"
#include "fy_pool.h"
#include "fy_conf_file.h"
#include "fy_syslog.h"
#include "fy_tap.h"
#include "fy_unit_conf.h"

#include <arpa/inet.h>
#include <ctype.h>


static fy_syslog_t  *got;

static const char *
set_syslog(fy_conf_t *cf, const fy_command_t *cmd, void *conf)
{
    fy_unused(cmd);
    fy_unused(conf);

    got = fy_syslog_conf(cf, &cf->args[1]);
    return got ? FY_CONF_OK : FY_CONF_ERROR;
}

static const fy_command_t  cmds[] = {
    { "log", FY_CONF_ANY, 0, 1, 1, set_syslog, 0, 0, NULL },
    { NULL, 0, 0, 0, 0, NULL, 0, 0, NULL }
};

static const fy_command_t *const  tables[] = { cmds, NULL };

/* Parse "log ARG;" in a fresh pool; the peer, or NULL if refused. */
static fy_syslog_t *
parse(const char *arg)
{
    char  text[512];

    got = NULL;
    snprintf(text, sizeof(text), "log %s;", arg);
    return fy_unit_conf_parse(tables, text) == FY_OK ? got : NULL;
}


static void
test_conf(void)
{
    fy_syslog_t  *sl;

    sl = parse("syslog:server=127.0.0.1");
    ok(sl != NULL, "server only");
    if (sl) {
        is_int(sl->addr.sa.sa_family, AF_INET, "an IPv4 address");
        is_int(ntohs(sl->addr.sin.sin_port), 514, "port 514 by default");
        is_int(sl->facility, 23, "facility local7 by default");
        is_int(sl->severity, 6, "severity info by default");
        is_str(sl->tag, "nginx", "tag nginx by default");
        is_int(sl->nohostname, 0, "with the host name by default");
        is_str(sl->server, "127.0.0.1:514", "its name in messages");
        is_int(sl->fd, -1, "no socket before the first message");
    }

    sl = parse("syslog:server=[::1]:5514,facility=kern,severity=emerg,"
               "tag=A_b9,nohostname");
    ok(sl != NULL, "every parameter");
    if (sl) {
        is_int(sl->addr.sa.sa_family, AF_INET6, "an IPv6 address");
        is_int(ntohs(sl->addr.sin6.sin6_port), 5514, "its port");
        is_int(sl->facility, 0, "kern is 0");
        is_int(sl->severity, 0, "emerg is 0");
        is_str(sl->tag, "A_b9", "the tag");
        is_int(sl->nohostname, 1, "nohostname");
    }

    sl = parse("syslog:server=[::1],severity=debug,facility=cron");
    ok(sl && ntohs(sl->addr.sin6.sin6_port) == 514,
       "[v6] without a port: 514");
    ok(sl && sl->severity == 7 && sl->facility == 15, "debug 7, cron 15");

    sl = parse("syslog:server=unix:/dev/log,facility=local0");
    ok(sl && sl->addr.sa.sa_family == AF_UNIX
       && strcmp(sl->addr.sun.sun_path, "/dev/log") == 0, "unix:/path");
    ok(sl && sl->facility == 16, "local0 is 16");

    sl = parse("syslog:server=127.0.0.1,tag=abcdefghijklmnopqrstuvwxyz012345");
    ok(sl && strlen(sl->tag) == 32, "a tag of 32 characters");

    ok(parse("syslog:server=127.0.0.1,tag=abcdefghijklmnopqrstuvwxyz0123456")
       == NULL, "a tag of 33 refused");
    ok(parse("syslog:server=127.0.0.1,tag=a.b") == NULL, "a dot in the tag");
    ok(parse("syslog:facility=user") == NULL, "no server");
    ok(parse("syslog:server=") == NULL, "an empty server");
    ok(parse("syslog:server=127.0.0.1,facility=local8") == NULL,
       "unknown facility");
    ok(parse("syslog:server=127.0.0.1,severity=err") == NULL,
       "severity err (nginx wants error)");
    ok(parse("syslog:server=127.0.0.1,facility=user,facility=mail") == NULL,
       "duplicate facility");
    ok(parse("syslog:server=127.0.0.1,,nohostname") == NULL,
       "an empty parameter");
    ok(parse("syslog:server=127.0.0.1:0") == NULL, "port 0");
}


/* "<PRI>Mmm dd hh:mm:ss " then the rest */
static int
header_is(const u_char *h, size_t len, const char *pri, const char *rest)
{
    size_t  p = strlen(pri), r = strlen(rest);

    return len == p + 16 + r
           && memcmp(h, pri, p) == 0
           && isupper(h[p]) && islower(h[p + 1]) && islower(h[p + 2])
           && h[p + 3] == ' ' && (h[p + 4] == ' ' || isdigit(h[p + 4]))
           && isdigit(h[p + 5]) && h[p + 6] == ' ' && h[p + 9] == ':'
           && h[p + 12] == ':' && h[p + 15] == ' '
           && memcmp(h + p + 16, rest, r) == 0;
}


static void
test_send(void)
{
    fy_syslog_t         *sl;
    struct sockaddr_in   sin;
    socklen_t            slen = sizeof(sin);
    u_char               buf[FY_SYSLOG_HEADER_MAX + 64];
    char                 arg[128], host[FY_SYSLOG_HOSTNAME_MAX + 1], want[300];
    size_t               n, i;
    ssize_t              r;
    int                  s;

    s = socket(AF_INET, SOCK_DGRAM, 0);
    memset(&sin, 0, sizeof(sin));
    sin.sin_family = AF_INET;
    sin.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    if (s == -1 || bind(s, (struct sockaddr *) &sin, sizeof(sin)) == -1
        || getsockname(s, (struct sockaddr *) &sin, &slen) == -1)
    {
        ok(0, "a UDP socket to receive");
        return;
    }

    snprintf(arg, sizeof(arg), "syslog:server=127.0.0.1:%u,facility=user,"
             "tag=t1,nohostname", ntohs(sin.sin_port));
    sl = parse(arg);
    ok(sl != NULL, "a peer on the test socket");
    if (sl == NULL) {
        return;
    }

    n = fy_syslog_header(sl, 4, buf);
    ok(header_is(buf, n, "<12>", "t1: "), "header: <12>, time, tag");

    sl->nohostname = 0;
    gethostname(host, sizeof(host) - 1);
    host[sizeof(host) - 1] = '\0';
    for (i = 0; host[i]; i++) {
        host[i] = (char) tolower((u_char) host[i]);
    }
    snprintf(want, sizeof(want), "%s t1: ", host);
    n = fy_syslog_header(sl, 6, buf);
    ok(header_is(buf, n, "<14>", want), "header with the host name");

    sl->nohostname = 1;
    n = fy_syslog_header(sl, sl->severity, buf);
    memcpy(buf + n, "hello", 5);
    fy_syslog_send(sl, buf, n + 5);
    r = recv(s, buf, sizeof(buf), 0);
    ok(r > 0 && header_is(buf, (size_t) r, "<14>", "t1: hello"),
       "one datagram: header and message, no newline");
    ok(sl->fd != -1, "the socket stays open");

    fy_syslog_error(sl, FY_LOG_ERR, "2026/11/26 07:00:00 [error] 1#0: x",
                    sizeof("2026/11/26 07:00:00 [error] 1#0: x") - 1);
    r = recv(s, buf, sizeof(buf), 0);
    ok(r > 0 && header_is(buf, (size_t) r, "<11>",
                          "t1: 2026/11/26 07:00:00 [error] 1#0: x"),
       "an error log line: its level as severity (user.err = 11)");

    close(s);
}


int
main(void)
{
    /* the refusals' [emerg] lines are the Perl tests' business */
    fy_log.level = 0;

    test_conf();
    test_send();
    fy_unit_conf_done();
    return done_testing();
}
