/*
 * fy_http_cache_bg.c -- proxy_cache_background_update: an expired
 * entry answers at once (STALE) while the request that found it
 * fetches the new one for the cache.
 *
 * nginx does this with a background subrequest.  In ferry it is the
 * same request, in two steps on its client connection: the expired
 * entry is sent as any answer from the cache (fy_http_cache_decide,
 * fy_http_cache_bg_answer); when it is all sent, fy_http_finalize sees
 * r->cache_bg and calls fy_http_cache_bg_start instead of ending the
 * request, which sends the request up as a MISS would go.  The
 * response is stored as it is read (fy_http_cache_store_*, from the
 * proxy's header and fy_proxy_scan), and nothing of it reaches the
 * client: its header is not written (fy_proxy_process_header hands it
 * to fy_http_cache_bg_body) and its body is read here into the cache
 * alone.  A failure (no server, a timeout, a broken body) only leaves
 * the entry as it was.  Then the request ends as the STALE answer
 * would have: logged with its status, the connection kept alive.
 *
 * As with nginx's subrequest, the client's next request on a kept-alive
 * connection waits for the update; the key's proxy_cache_lock is held
 * throughout, so the key's other requests get the expired entry
 * (UPDATING) instead of going up.
 */
#include "fy_core.h"
#include "fy_http.h"
#include "fy_shm.h"
#include "fy_http_proxy.h"
#include "fy_http_cache.h"

static void fy_http_cache_bg_read(fy_event_t *rev);

void
fy_http_cache_bg_start(fy_http_request_t *r)
{
    fy_http_proxy_t  *p = r->proxy;
    fy_conn_t        *cc = r->hc->c;

    p->cache->bg_status = r->status;
    /* the answer is done: its write handler and timer go, and the
     * connection is watched for the client leaving as a proxied
     * request's is (fy_proxy_go) */
    fy_timer_del(&cc->write);
    cc->write.handler = fy_event_ignore;
    cc->read.handler = fy_event_ignore;
    fy_proxy_go(p);
}

void
fy_http_cache_bg_body(fy_http_proxy_t *p)
{
    int  rc;

    for ( ;; ) {
        if (p->up_done) {
            rc = p->up_failed ? FY_ERROR : FY_DONE;
        } else {
            /* what was read is stored already (the scan): the buffer
             * is free again */
            fy_buf_reset(&p->buf);
            rc = fy_proxy_up_recv(p, &p->buf);
        }
        if (rc == FY_OK) {
            continue;
        }
        if (rc == FY_AGAIN) {
            p->uc->read.handler = fy_http_cache_bg_read;
            fy_timer_add(&p->uc->read,
                         (uint64_t) p->r->loc->proxy_read_timeout);
            return;
        }
        if (rc == FY_DONE) {
            /* all of it: the entry goes in place */
            fy_proxy_release_upstream(p);
        }
        fy_http_cache_bg_end(p);
        return;
    }
}

static void
fy_http_cache_bg_read(fy_event_t *rev)
{
    fy_conn_t        *uc = rev->data;
    fy_http_proxy_t  *p = uc->data;

    if (rev->timedout) {
        rev->timedout = 0;
        fy_log_error(FY_LOG_ERR, ETIMEDOUT, "upstream timed out while "
                     "updating a cache entry" FY_PROXY_CTX_FMT,
                     FY_PROXY_CTX(p));
        fy_http_cache_bg_end(p);
        return;
    }
    fy_timer_del(rev);
    fy_http_cache_bg_body(p);
}

void
fy_http_cache_bg_end(fy_http_proxy_t *p)
{
    fy_http_request_t  *r = p->r;
    fy_http_cache_t    *c = p->cache;

    /* a store still open was cut short; the lock goes with it */
    fy_http_cache_store_abort(c);
    fy_proxy_close_upstream(p);
    c->bg = 0;
    r->status = c->bg_status;
    r->hc->c->read.handler = fy_event_ignore;
    fy_http_finalize(r, 0);
}
