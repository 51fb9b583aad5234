/*
 * fy_http_keepalive.c -- how a client connection ends: whether it is
 * kept after a response (keepalive_disable, keepalive_time) and how a
 * timed-out one is closed (reset_timedout_connection).
 *
 *   keepalive_disable none | msie6 | safari ...;    default msie6
 *   keepalive_time TIME;                            default 1h
 *   reset_timedout_connection on | off;             default off
 *                                                  http, server, location
 *
 * As nginx: keepalive_disable msie6 closes the connection after a POST
 * from MSIE 4 to 6 (the browser may stall waiting on a kept connection
 * after a POST), "safari" after any request from Safari on macOS (it
 * may send a POST on a connection the server is closing and hang).
 * The browsers are told by User-Agent exactly as nginx tells them.
 * keepalive_time: a connection open for longer than that is closed
 * after the response of the request being handled.
 * reset_timedout_connection: a connection closed because the client
 * timed out (client_header_timeout, client_body_timeout, send_timeout)
 * or by "return 444" gets SO_LINGER 0 before close(), so the kernel
 * sends an RST and frees the socket with its unsent data at once
 * instead of keeping it in FIN_WAIT1; an idle keep-alive connection
 * that times out is closed normally (nginx).
 */
#include "fy_core.h"
#include "fy_http.h"
#include "fy_http_parse.h"
#include "fy_http_request.h"

#define FY_HTTP_KA_DISABLE_NONE    0x01
#define FY_HTTP_KA_DISABLE_MSIE6   0x02
#define FY_HTTP_KA_DISABLE_SAFARI  0x04

static const char *
fy_http_keepalive_disable(fy_conf_t *cf, const fy_command_t *cmd, void *conf)
{
    fy_http_loc_conf_t  *lcf = conf;
    unsigned             i, mask;

    fy_unused(cmd);

    if (lcf->keepalive_disable != FY_CONF_UNSET_INT) {
        return "is duplicate";
    }
    lcf->keepalive_disable = 0;
    for (i = 1; i < cf->nargs; i++) {
        if (fy_str_eq(&cf->args[i], "none")) {
            mask = FY_HTTP_KA_DISABLE_NONE;
        } else if (fy_str_eq(&cf->args[i], "msie6")) {
            mask = FY_HTTP_KA_DISABLE_MSIE6;
        } else if (fy_str_eq(&cf->args[i], "safari")) {
            mask = FY_HTTP_KA_DISABLE_SAFARI;
        } else {
            fy_conf_error(cf, "invalid value \"%s\"", cf->args[i].data);
            return FY_CONF_ERROR;
        }
        if (lcf->keepalive_disable & (int) mask) {
            /* nginx's bitmask setter only warns */
            fy_log_error(FY_LOG_WARN, 0, "duplicate value \"%s\" in %s:%u",
                         cf->args[i].data,
                         cf->file ? cf->file->name : "command line",
                         cf->line);
        }
        lcf->keepalive_disable |= (int) mask;
    }
    return FY_CONF_OK;
}

const fy_command_t  fy_http_keepalive_commands[] = {

    { "keepalive_disable", FY_CONF_HTTP | FY_CONF_SRV | FY_CONF_LOC, 0, 1,
      FY_CONF_MANY, fy_http_keepalive_disable, FY_CONF_LOC_OFF, 0, NULL },

    { "keepalive_time", FY_CONF_HTTP | FY_CONF_SRV | FY_CONF_LOC, 0, 1, 1,
      fy_conf_set_msec, FY_CONF_LOC_OFF,
      offsetof(fy_http_loc_conf_t, keepalive_time), NULL },

    { "reset_timedout_connection", FY_CONF_HTTP | FY_CONF_SRV | FY_CONF_LOC,
      0, 1, 1, fy_conf_set_flag, FY_CONF_LOC_OFF,
      offsetof(fy_http_loc_conf_t, reset_timedout_connection), NULL },

    { NULL, 0, 0, 0, 0, NULL, 0, 0, NULL }
};

void
fy_http_keepalive_init_conf(fy_http_loc_conf_t *lcf)
{
    lcf->keepalive_disable = FY_CONF_UNSET_INT;
    lcf->keepalive_time = FY_CONF_UNSET_MSEC;
    lcf->reset_timedout_connection = FY_CONF_UNSET_INT;
}

void
fy_http_keepalive_merge(fy_http_loc_conf_t *prev, fy_http_loc_conf_t *conf)
{
    fy_conf_merge(conf->keepalive_disable, prev->keepalive_disable,
                  FY_CONF_UNSET_INT, FY_HTTP_KA_DISABLE_MSIE6);
    fy_conf_merge(conf->keepalive_time, prev->keepalive_time,
                  FY_CONF_UNSET_MSEC, 3600000);
    fy_conf_merge(conf->reset_timedout_connection,
                  prev->reset_timedout_connection, FY_CONF_UNSET_INT, 0);
}

/* Does s (len bytes) contain the NUL-terminated text t? */
static const u_char *
fy_http_ua_find(const u_char *s, size_t len, const char *t)
{
    size_t  n = strlen(t);

    return n <= len ? memmem(s, len, t, n) : NULL;
}

/* nginx's reading of User-Agent: MSIE 4, 5 and 6 (but 6 with "SV1",
 * XP SP2's, is fixed), not Opera posing as MSIE; Safari on macOS, not
 * Chrome nor anything with "Gecko/", nor anything saying MSIE or
 * Opera. */
static unsigned
fy_http_ua_kind(fy_http_request_t *r)
{
    fy_http_header_t  *h;
    const u_char      *ua = NULL, *end, *msie;
    size_t             len = 0;
    unsigned           i, kind = 0, other;

    for (i = 0; i < r->headers.nelts; i++) {
        h = fy_array_elt(&r->headers, fy_http_header_t, i);
        if (fy_str_eq_ci(&h->name, "User-Agent")) {
            ua = h->value.data;
            len = h->value.len;
            break;
        }
    }
    if (ua == NULL) {
        return 0;
    }
    end = ua + len;

    msie = fy_http_ua_find(ua, len, "MSIE ");
    other = msie && msie + 7 < end;         /* some MSIE */
    if (other && msie[6] == '.') {
        if (msie[5] == '4' || msie[5] == '5'
            || (msie[5] == '6'
                && !fy_http_ua_find(msie + 8, (size_t) (end - msie - 8),
                                    "SV1")))
        {
            kind |= FY_HTTP_KA_DISABLE_MSIE6;
        }
    }
    if (fy_http_ua_find(ua, len, "Opera")) {
        return 0;
    }
    if (!other
        && !fy_http_ua_find(ua, len, "Gecko/")
        && !fy_http_ua_find(ua, len, "Chrome/")
        && fy_http_ua_find(ua, len, "Safari/")
        && fy_http_ua_find(ua, len, "Mac OS X"))
    {
        kind |= FY_HTTP_KA_DISABLE_SAFARI;
    }
    return kind;
}

int
fy_http_keepalive_allowed(fy_http_request_t *r, fy_http_loc_conf_t *lcf)
{
    int  dis = lcf->keepalive_disable;

    if (fy_current_msec - r->hc->start_msec > (uint64_t) lcf->keepalive_time)
    {
        return 0;
    }
    /* the User-Agent is looked at only when it can matter: the default
     * (msie6) costs a compare of the method */
    if (((dis & FY_HTTP_KA_DISABLE_MSIE6) && r->method == FY_HTTP_POST)
        || (dis & FY_HTTP_KA_DISABLE_SAFARI))
    {
        unsigned kind = fy_http_ua_kind(r);

        if (((kind & FY_HTTP_KA_DISABLE_MSIE6) && r->method == FY_HTTP_POST
             && (dis & FY_HTTP_KA_DISABLE_MSIE6))
            || ((kind & FY_HTTP_KA_DISABLE_SAFARI)
                && (dis & FY_HTTP_KA_DISABLE_SAFARI)))
        {
            return 0;
        }
    }
    return 1;
}

/* Before a close because the client timed out or for "return 444":
 * 1 if the close will reset the connection. */
int
fy_http_reset_timedout(fy_http_conn_t *hc)
{
    fy_http_request_t   *r = hc->r;
    fy_http_loc_conf_t  *lcf;
    struct linger        l = { 1, 0 };

    lcf = r ? fy_http_req_loc(r) : fy_http_default_server(hc->ls)->loc;
    if (!lcf->reset_timedout_connection || hc->c == NULL) {
        return 0;
    }
    if (setsockopt(hc->c->fd, SOL_SOCKET, SO_LINGER, &l, sizeof(l)) == -1) {
        fy_log_error(FY_LOG_CRIT, errno, "setsockopt(SO_LINGER) failed, "
                     "client %s", hc->addr_text);
        return 0;
    }
    return 1;
}
