/*
 * fy_http_limit_rate.c -- limit_rate and limit_rate_after: how fast a
 * response goes to the client, per request.
 *
 *   location /downloads/ {
 *       limit_rate_after 1m;       # the first megabyte at full speed
 *       limit_rate       100k;     # then 100 KiB per second
 *   }
 *
 * As in nginx the rate is in bytes per second, 0 is no limit, and the
 * response header counts; the rate may also come from a variable
 * ("limit_rate $rate;", read when the location is chosen), from
 * "set $limit_rate 4k;" (which wins over the directive), or from the
 * upstream's X-Accel-Limit-Rate field (which wins over both).
 *
 * How: the request may have sent limit_rate_after bytes, plus the rate
 * times the time since the request began, plus one quantum (a tenth
 * of a second's worth, at most 16 KiB, at least one byte).  A write
 * (fy_http_write_out: proxied bodies, compressed files, pages ferry
 * makes) or a sendfile() (fy_http_static_send.c) is cut to what is
 * allowed; when nothing is, the connection's write event waits on a
 * timer until a quantum is allowed again, so the worker sleeps rather
 * than polls and a throttled response costs a few writes a second.
 * Unset, it costs one test of r->limit_rate per write.
 */
#include "fy_core.h"
#include "fy_http.h"
#include "fy_times.h"

struct fy_http_limit_rate_conf_s {
    size_t         rate;            /* bytes per second; 0: none */
    fy_http_cv_t  *rate_cv;         /* the value with variables */
    size_t         after;
    fy_http_cv_t  *after_cv;
    unsigned       rate_set:1;      /* given at this level */
    unsigned       after_set:1;
};

static const char *fy_http_limit_rate_set(fy_conf_t *cf,
    const fy_command_t *cmd, void *conf);

const fy_command_t  fy_http_limit_rate_commands[] = {

    { "limit_rate", FY_CONF_HTTP | FY_CONF_SRV | FY_CONF_LOC
      | FY_CONF_LIF, 0, 1, 1,
      fy_http_limit_rate_set, FY_CONF_LOC_OFF, 0, NULL },

    { "limit_rate_after", FY_CONF_HTTP | FY_CONF_SRV | FY_CONF_LOC
      | FY_CONF_LIF, 0, 1, 1,
      fy_http_limit_rate_set, FY_CONF_LOC_OFF, 0, NULL },

    { NULL, 0, 0, 0, 0, NULL, 0, 0, NULL }
};

/* limit_rate RATE, limit_rate_after SIZE: a size ("100k", "1m") or
 * text with variables that makes one at request time. */
static const char *
fy_http_limit_rate_set(fy_conf_t *cf, const fy_command_t *cmd, void *conf)
{
    fy_http_loc_conf_t                *lcf = conf;
    struct fy_http_limit_rate_conf_s  *lr = lcf->limit_rate;
    int                                after = cmd->name[10] == '_';
    fy_http_cv_t                      *cv = NULL;
    int64_t                            v = 0;

    if (lr == NULL) {
        lr = fy_pcalloc(cf->pool, sizeof(*lr));
        if (lr == NULL) {
            return "cannot allocate memory";
        }
        lcf->limit_rate = lr;
    }
    if (after ? lr->after_set : lr->rate_set) {
        return "is duplicate";
    }

    if (memchr(cf->args[1].data, '$', cf->args[1].len)) {
        cv = fy_http_cv_compile(cf, &cf->args[1]);
        if (cv == NULL) {
            return FY_CONF_ERROR;
        }
    } else {
        v = fy_conf_parse_size(&cf->args[1]);
        if (v < 0) {
            fy_conf_error(cf, "invalid value \"%s\" in \"%s\" directive",
                          cf->args[1].data, cmd->name);
            return FY_CONF_ERROR;
        }
    }
    if (after) {
        lr->after = (size_t) v;
        lr->after_cv = cv;
        lr->after_set = 1;
    } else {
        lr->rate = (size_t) v;
        lr->rate_cv = cv;
        lr->rate_set = 1;
    }
    return FY_CONF_OK;
}

void
fy_http_limit_rate_merge(fy_http_loc_conf_t *prev, fy_http_loc_conf_t *conf)
{
    struct fy_http_limit_rate_conf_s  *lr = conf->limit_rate;
    struct fy_http_limit_rate_conf_s  *up = prev->limit_rate;

    if (lr == NULL) {
        conf->limit_rate = up;
        return;
    }
    if (up && !lr->rate_set && up->rate_set) {
        lr->rate = up->rate;
        lr->rate_cv = up->rate_cv;
        lr->rate_set = 1;
    }
    if (up && !lr->after_set && up->after_set) {
        lr->after = up->after;
        lr->after_cv = up->after_cv;
        lr->after_set = 1;
    }
}

/* A size at request time: "64k" and the like; 0 (no limit) when it is
 * empty or not a size (logged). */
static size_t
fy_http_limit_rate_size(fy_http_request_t *r, const u_char *p, size_t len,
                        const char *what)
{
    fy_str_t  s;
    int64_t   v;

    if (len == 0) {
        return 0;
    }
    s.data = (u_char *) p;
    s.len = len;
    v = fy_conf_parse_size(&s);
    if (v < 0) {
        fy_log_error(FY_LOG_ERR, 0, "invalid %s \"%.*s\", client %s", what,
                     (int) len, p, r->hc->addr_text);
        return 0;
    }
    return (size_t) v;
}

static size_t
fy_http_limit_rate_value(fy_http_request_t *r, size_t v,
                         const fy_http_cv_t *cv, const char *what)
{
    u_char  *p;
    size_t   len;

    if (cv == NULL) {
        return v;
    }
    p = fy_http_cv_eval(r, cv, &len);
    return p ? fy_http_limit_rate_size(r, p, len, what) : 0;
}

void
fy_http_limit_rate_start(fy_http_request_t *r, fy_http_loc_conf_t *lcf)
{
    struct fy_http_limit_rate_conf_s  *lr = lcf->limit_rate;

    if (!r->limit_rate_set) {
        r->limit_rate = lr ? fy_http_limit_rate_value(r, lr->rate,
                                                      lr->rate_cv,
                                                      "limit_rate")
                           : 0;
    }
    /* also without a rate: X-Accel-Limit-Rate may bring one */
    r->limit_rate_after = lr ? fy_http_limit_rate_value(r, lr->after,
                                                        lr->after_cv,
                                                        "limit_rate_after")
                             : 0;
}

void
fy_http_limit_rate_assign(fy_http_request_t *r, const u_char *p, size_t len)
{
    fy_str_t  s;
    int64_t   v;

    s.data = (u_char *) p;
    s.len = len;
    v = fy_conf_parse_size(&s);
    if (v < 0) {
        /* nginx: logged, and the rate stays as it was */
        fy_log_error(FY_LOG_ERR, 0, "invalid size \"%.*s\", client %s",
                     (int) len, p, r->hc->addr_text);
        return;
    }
    r->limit_rate = (size_t) v;
    r->limit_rate_set = 1;
}

void
fy_http_limit_rate_header(fy_http_request_t *r, const fy_str_t *value)
{
    int64_t  v = fy_atoi(value->data, value->len);

    if (v >= 0) {
        r->limit_rate = (size_t) v;
        r->limit_rate_set = 1;
    }
}

/* What a quantum is for this rate: the least the timer waits for. */
static uint64_t
fy_http_limit_rate_quantum(uint64_t rate)
{
    return fy_max(fy_min(rate / 10, 16384), 1);
}

uint64_t
fy_http_limit_rate_allow(fy_http_request_t *r, uint64_t *delay)
{
    uint64_t  rate = r->limit_rate, elapsed, budget, secs, sent, want;

    elapsed = fy_current_msec - r->start_msec;
    secs = elapsed / 1000;
    if (secs > (UINT64_MAX / 2) / rate) {
        return UINT64_MAX;                  /* nothing a client could take */
    }
    budget = rate * secs + rate / 1000 * (elapsed % 1000)
             + rate % 1000 * (elapsed % 1000) / 1000
             + fy_http_limit_rate_quantum(rate);
    if (budget > UINT64_MAX / 2 - r->limit_rate_after) {
        return UINT64_MAX;
    }
    budget += r->limit_rate_after;
    sent = r->bytes_out;
    if (sent < budget) {
        return budget - sent;
    }
    /* until a quantum more than what was sent is allowed; +1 ms for the
     * rounding down */
    want = sent - budget + fy_http_limit_rate_quantum(rate);
    *delay = want / rate * 1000 + want % rate * 1000 / rate + 1;
    return 0;
}

int
fy_http_limit_rate_iov(fy_http_request_t *r, struct iovec *iov, int cnt,
                       uint64_t *delay)
{
    uint64_t  allow = fy_http_limit_rate_allow(r, delay);
    int       i;

    if (allow == 0) {
        return 0;
    }
    for (i = 0; i < cnt; i++) {
        if (iov[i].iov_len >= allow) {
            iov[i].iov_len = (size_t) allow;
            return i + 1;
        }
        allow -= iov[i].iov_len;
    }
    return cnt;
}
