/*
 * fy_http_auth_delay.c -- nginx's auth_delay (a core directive there):
 *
 *     auth_delay  TIME;        (0s)    http, server, location
 *
 * A request the access phase refuses with 401 (auth_basic's wrong or
 * missing password, auth_request's subrequest answering 401) gets its
 * answer only after TIME, so that a client guessing passwords learns
 * each result that much later, and the time a check takes tells it
 * nothing (nginx's reason: timing attacks).  Only 401: nginx does not
 * delay a 403 (deny, a missing user file).  The wait is a timer of the
 * worker's event loop, never a sleep: other connections go on; the
 * client closing meanwhile ends the request (499), as for limit_req's
 * delay.  Inherited by the levels below; 0 (the default): no delay.
 */
#include "fy_core.h"
#include "fy_http.h"

typedef struct {
    fy_event_t          ev;         /* the delay's timer */
    fy_http_request_t  *r;
} fy_http_auth_delay_t;

const fy_command_t  fy_http_auth_delay_commands[] = {

    { "auth_delay", FY_CONF_HTTP | FY_CONF_SRV | FY_CONF_LOC, 0, 1, 1,
      fy_conf_set_msec, FY_CONF_LOC_OFF,
      offsetof(fy_http_loc_conf_t, auth_delay), NULL },

    { NULL, 0, 0, 0, 0, NULL, 0, 0, NULL }
};

static void
fy_http_auth_delayed(fy_event_t *ev)
{
    fy_http_auth_delay_t  *d = ev->data;
    fy_http_request_t     *r = d->r;

    r->hc->c->read.handler = fy_event_ignore;
    fy_http_skip_body(r);
    fy_http_send_error(r, 401);
}

/* The client closed while its 401 waits: nginx's 499. */
static void
fy_http_auth_delay_check_client(fy_event_t *rev)
{
    fy_conn_t       *c = rev->data;
    fy_http_conn_t  *hc = c->data;

    if (fy_http_client_closed(rev)) {
        fy_log_error(FY_LOG_INFO, 0, "client %s prematurely closed "
                     "connection while its 401 was delayed (auth_delay)",
                     hc->addr_text);
        if (hc->r) {
            hc->r->status = 499;
        }
        fy_http_close_connection(hc);
    }
}

static void
fy_http_auth_delay_cleanup(void *data)
{
    fy_http_auth_delay_t  *d = data;

    fy_timer_del(&d->ev);
}

/* The access phase answers r with 401: FY_AGAIN when auth_delay makes
 * it wait (the 401 goes out when the timer fires), FY_DECLINED when
 * it is to be answered now. */
int
fy_http_auth_delay(fy_http_request_t *r)
{
    fy_http_auth_delay_t  *d;

    if (r->loc->auth_delay <= 0) {
        return FY_DECLINED;
    }
    d = fy_pcalloc(r->pool, sizeof(*d));
    if (d == NULL
        || fy_pool_cleanup_add(r->pool, fy_http_auth_delay_cleanup, d)
           != FY_OK)
    {
        return FY_DECLINED;     /* no memory: answer at once */
    }
    d->r = r;
    d->ev.data = d;
    d->ev.handler = fy_http_auth_delayed;
    d->ev.timer_index = -1;
    fy_timer_add(&d->ev, (uint64_t) r->loc->auth_delay);
    r->hc->c->read.handler = fy_http_auth_delay_check_client;
    return FY_AGAIN;
}
