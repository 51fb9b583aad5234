/*
 * fy_http_expires.c -- nginx's "expires": the Expires and
 * Cache-Control lines of a response.
 *
 *     expires 1h;              # from now: max-age=3600
 *     expires modified 1d;     # from the file's (or upstream's)
 *                              # Last-Modified
 *     expires @15h30m;         # at the next 15:30 local time
 *     expires -1;              # in the past: Cache-Control: no-cache
 *     expires epoch | max | off;
 *
 * As nginx's headers filter: only responses with 200, 201, 204, 206,
 * 301, 302, 303, 304, 307 or 308 get them (the statuses of add_header
 * without "always"), static files, ferry's own answers and proxied
 * responses alike; a proxied response's own Expires and Cache-Control
 * are replaced (fy_http_expires_hides tells the proxy which).  Without
 * a Last-Modified, "modified" counts from now, as nginx.  The lines are
 * made by fy_http_add_headers, so nothing is done when expires is off.
 */
#include "fy_core.h"
#include "fy_http.h"

#include <time.h>

static const char *fy_http_expires(fy_conf_t *cf, const fy_command_t *cmd,
    void *conf);

const fy_command_t  fy_http_expires_commands[] = {

    { "expires", FY_CONF_HTTP | FY_CONF_SRV | FY_CONF_LOC
      | FY_CONF_LIF, 0, 1, 2,
      fy_http_expires, FY_CONF_LOC_OFF, 0, NULL },

    { NULL, 0, 0, 0, 0, NULL, 0, 0, NULL }
};


/* expires [modified] TIME | epoch | max | off, checked as nginx. */
static const char *
fy_http_expires(fy_conf_t *cf, const fy_command_t *cmd, void *conf)
{
    fy_http_loc_conf_t  *lcf = conf;
    fy_str_t             v;
    int64_t              ms;
    int                  minus = 0, type = FY_HTTP_EXPIRES_ACCESS;

    fy_unused(cmd);

    if (lcf->expires != FY_CONF_UNSET_INT) {
        return "is duplicate";
    }
    v = cf->args[1];
    if (cf->nargs == 3) {
        if (!fy_str_eq(&v, "modified")) {
            fy_conf_error(cf, "invalid value \"%s\"", v.data);
            return FY_CONF_ERROR;
        }
        type = FY_HTTP_EXPIRES_MODIFIED;
        v = cf->args[2];
    } else if (fy_str_eq(&v, "epoch") || fy_str_eq(&v, "max")
               || fy_str_eq(&v, "off"))
    {
        lcf->expires = v.data[0] == 'e' ? FY_HTTP_EXPIRES_EPOCH
                       : v.data[0] == 'm' ? FY_HTTP_EXPIRES_MAX
                       : FY_HTTP_EXPIRES_OFF;
        lcf->expires_time = 0;
        return FY_CONF_OK;
    }
    if (memchr(v.data, '$', v.len)) {
        fy_conf_error(cf, "variables in \"expires\" are not supported");
        return FY_CONF_ERROR;
    }

    if (v.len && v.data[0] == '@') {
        if (type == FY_HTTP_EXPIRES_MODIFIED) {
            fy_conf_error(cf, "daily time cannot be used with \"modified\" "
                          "parameter");
            return FY_CONF_ERROR;
        }
        type = FY_HTTP_EXPIRES_DAILY;
        v.data++;
        v.len--;
    } else if (v.len && (v.data[0] == '+' || v.data[0] == '-')) {
        minus = v.data[0] == '-';
        v.data++;
        v.len--;
    }

    /* seconds, as nginx: no "ms" */
    ms = fy_conf_parse_msec(&v);
    if (ms < 0 || ms % 1000 || memmem(v.data, v.len, "ms", 2)) {
        fy_conf_error(cf, "invalid value \"%s\"", cf->args[cf->nargs - 1].data);
        return FY_CONF_ERROR;
    }
    if (type == FY_HTTP_EXPIRES_DAILY && ms > 24 * 3600 * 1000) {
        fy_conf_error(cf, "daily time value must be less than 24 hours");
        return FY_CONF_ERROR;
    }
    lcf->expires = type;
    lcf->expires_time = minus ? -ms / 1000 : ms / 1000;
    return FY_CONF_OK;
}

/* Called from fy_http_merge_loc for every level, parent first. */
void
fy_http_expires_merge(fy_http_loc_conf_t *prev, fy_http_loc_conf_t *conf)
{
    if (conf->expires == FY_CONF_UNSET_INT) {
        conf->expires = prev->expires == FY_CONF_UNSET_INT
                        ? FY_HTTP_EXPIRES_OFF : prev->expires;
        conf->expires_time = prev->expires_time;
    }
}

/* The next time the clock shows the time of day "when" (seconds after
 * midnight, local time), as nginx's ngx_next_time; -1 if mktime fails. */
static time_t
fy_http_expires_next(time_t now, int64_t when)
{
    struct tm  tm;
    time_t     next;

    localtime_r(&now, &tm);
    tm.tm_hour = (int) (when / 3600);
    tm.tm_min = (int) (when % 3600 / 60);
    tm.tm_sec = (int) (when % 60);
    tm.tm_isdst = -1;
    next = mktime(&tm);
    if (next == -1 || next > now) {
        return next;
    }
    tm.tm_mday++;               /* mktime() makes Jan 32 Feb 1 */
    tm.tm_isdst = -1;
    return mktime(&tm);
}

/*
 * Write "Expires: ...\r\nCache-Control: ...\r\n" for r's response into
 * buf (FY_HTTP_EXPIRES_LEN bytes at least); its length.  The caller
 * checked that expires is on and applies to the status
 * (fy_http_add_header_status).
 */
size_t
fy_http_expires_lines(fy_http_request_t *r, u_char *buf)
{
    fy_http_loc_conf_t  *lcf = fy_http_req_loc(r);
    time_t               now = (time_t) (fy_wall_msec / 1000), t;
    int64_t              max_age;
    struct tm            tm;
    char                 date[40];
    const char          *cc = NULL;
    int                  n;

    switch (lcf->expires) {
    case FY_HTTP_EXPIRES_EPOCH:
        return (size_t) sprintf((char *) buf, "Expires: Thu, 01 Jan 1970 "
                                "00:00:01 GMT\r\nCache-Control: no-cache\r\n");
    case FY_HTTP_EXPIRES_MAX:
        return (size_t) sprintf((char *) buf, "Expires: Thu, 31 Dec 2037 "
                                "23:55:55 GMT\r\nCache-Control: "
                                "max-age=315360000\r\n");
    case FY_HTTP_EXPIRES_DAILY:
        t = fy_http_expires_next(now, lcf->expires_time);
        max_age = (int64_t) t - now;
        break;
    case FY_HTTP_EXPIRES_MODIFIED:
        if (r->has_last_modified) {
            t = (time_t) (r->last_modified + lcf->expires_time);
            max_age = (int64_t) t - now;
            break;
        }
        /* without a Last-Modified: from now, as nginx */
        /* fall through */
    default:
        if (lcf->expires_time == 0) {
            return (size_t) sprintf((char *) buf, "Expires: %s\r\n"
                                    "Cache-Control: max-age=0\r\n",
                                    fy_http_date);
        }
        t = now + (time_t) lcf->expires_time;
        max_age = lcf->expires_time;
        break;
    }

    if (gmtime_r(&t, &tm) == NULL
        || strftime(date, sizeof(date), "%a, %d %b %Y %H:%M:%S GMT", &tm)
           == 0)
    {
        /* a time past what a date can say (expires 300000000y) */
        strcpy(date, "Fri, 31 Dec 9999 23:59:59 GMT");
    }
    if (lcf->expires_time < 0 || max_age < 0) {
        cc = "no-cache";
    }
    n = sprintf((char *) buf, "Expires: %s\r\nCache-Control: ", date);
    if (cc) {
        n += sprintf((char *) buf + n, "%s\r\n", cc);
    } else {
        n += sprintf((char *) buf + n, "max-age=%lld\r\n",
                     (long long) max_age);
    }
    return (size_t) n;
}

/* Is this line of a proxied response replaced by expires's own? */
int
fy_http_expires_hides(const fy_str_t *name)
{
    return fy_str_eq_ci(name, "Expires") || fy_str_eq_ci(name, "Cache-Control");
}
