/*
 * fy_syslog.h -- logging to a syslog server, for error_log and
 * access_log (http and stream) given "syslog:server=ADDR[,...]".
 *
 * Messages are RFC 3164 datagrams as nginx writes them:
 *   <PRI>Nov 26 07:05:03 HOSTNAME TAG: message
 * (no HOSTNAME with nohostname), PRI = facility * 8 + severity.
 */
#ifndef FY_SYSLOG_H
#define FY_SYSLOG_H

#include "fy_cycle.h"

/* "<191>Jan 01 00:00:00 " + a host name + " " + a tag + ": " */
#define FY_SYSLOG_HOSTNAME_MAX  255
#define FY_SYSLOG_TAG_MAX       32
#define FY_SYSLOG_HEADER_MAX                                                \
    (sizeof("<191>Jan 01 00:00:00 ") - 1 + FY_SYSLOG_HOSTNAME_MAX + 1      \
     + FY_SYSLOG_TAG_MAX + 2)

typedef struct fy_syslog_s {
    fy_sockaddr_t   addr;
    socklen_t       addrlen;
    char            server[FY_SOCKADDR_STRLEN];   /* for messages */
    int             fd;          /* -1: opened at the next message */
    pid_t           pid;         /* the process that opened fd */
    unsigned        facility;    /* 0..23, local7 (23) by default */
    unsigned        severity;    /* 0..7: access logs' (info, 6) */
    char            tag[FY_SYSLOG_TAG_MAX + 1];
    unsigned        nohostname:1;
    unsigned        busy:1;      /* sending: its own failure is not
                                    logged back into it */
    int64_t         err_time;    /* when a failure was last reported */
    unsigned        lost;        /* messages lost since */
} fy_syslog_t;

/* Is a log path one for syslog ("syslog:...")? */
#define fy_syslog_is(s)                                                     \
    ((s)->len >= 7 && memcmp((s)->data, "syslog:", 7) == 0)

/* Parse "syslog:server=...,facility=...,severity=...,tag=...,nohostname"
 * (cf->args[i]) into a peer from cf->pool whose socket is closed with
 * it; NULL after an error naming file and line. */
fy_syslog_t *fy_syslog_conf(fy_conf_t *cf, const fy_str_t *arg);
/* A copy of a peer that outlives its cycle (the main error_log). */
fy_syslog_t *fy_syslog_dup(const fy_syslog_t *sl);
/* Write the header for severity (0..7) into buf (FY_SYSLOG_HEADER_MAX
 * bytes); returns its length. */
size_t fy_syslog_header(const fy_syslog_t *sl, unsigned severity,
                        u_char *buf);
/* Send one whole message (header included) as one datagram. */
void fy_syslog_send(fy_syslog_t *sl, const u_char *msg, size_t len);
/* An error log line (its "\n" not included) at level (FY_LOG_*). */
void fy_syslog_error(fy_syslog_t *sl, int level, const char *line,
                     size_t len);

#endif /* FY_SYSLOG_H */
