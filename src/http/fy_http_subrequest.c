/*
 * fy_http_subrequest.c -- subrequests: a second request made by a
 * client's request, on its connection, whose answer goes to a module
 * instead of the client (auth_request's, mirror's).
 *
 * A subrequest is a fy_http_request_t in the request's pool (freed
 * with it), first in a module's own struct, with sr->parent set.  It
 * is a copy of the request's parsed parts: the header array shared
 * read-only, $request_uri the client's, its path the URI given; GET
 * and no body unless the module says otherwise.  It searches the
 * locations like a request after an internal redirect (an "internal"
 * location may answer) and runs that location's rewrite directives
 * and content handler, skipping realip, limit_req, limit_conn, the
 * access phase and mirror, as nginx's subrequests do.  The response
 * writers (fy_http_send_response, fy_http_send_error, the proxy's
 * header, a static file's) see sr->parent and call
 * fy_http_subrequest_done with the status instead of writing; as in
 * nginx, only after the subrequest's own error_page and an upstream's
 * X-Accel-Redirect have had their say (the location it ends in
 * answers for it).
 */
#include "fy_core.h"
#include "fy_http.h"

void *
fy_http_subrequest_create(fy_http_request_t *r, size_t size,
    const fy_str_t *path, void (*done)(fy_http_request_t *sr, int status))
{
    fy_http_request_t  *sr;

    sr = fy_pcalloc(r->pool, size);
    if (sr == NULL) {
        return NULL;
    }
    sr->parent = r;
    sr->sub_done = done;
    sr->pool = r->pool;             /* freed with the request */
    sr->hc = r->hc;
    sr->request_line = r->request_line;
    sr->method = FY_HTTP_GET;
    fy_str_set(&sr->method_name, "GET");
    sr->uri = r->uri;               /* $request_uri: the client's */
    sr->path = *path;
    sr->host = r->host;
    sr->http_version = r->http_version;
    sr->headers = r->headers;       /* read only: shared */
    sr->content_length = -1;        /* no body, whatever the client sent */
    sr->keepalive = r->keepalive;
    sr->stat = r->stat;             /* never counted on its own */
    sr->redirected = 1;             /* may enter an "internal" location */
    sr->internal = 1;               /* its path goes upstream */
    sr->srv = r->srv;
    sr->srv_captures = r->srv_captures;
    sr->map_values = r->map_values;
    sr->request_id = r->request_id;
    sr->realip = r->realip;
    sr->start_msec = fy_current_msec;
    sr->start_wall = r->start_wall;
    sr->number = r->number;
    return sr;
}

/* It may be answered at once (a "return", a static file): its done
 * then runs, and the request may go on, before this returns. */
void
fy_http_subrequest_run(fy_http_request_t *sr)
{
    fy_log_debug("subrequest \"%.*s\", client %s", (int) sr->path.len,
                 sr->path.data, sr->hc->addr_text);
    fy_http_find_location_of(sr);
    fy_http_run_location(sr);
}

/* The subrequest's answer, once: logged only with log_subrequest on in
 * its location (nginx), then handed to its module, which may end the
 * request and free sr with it. */
void
fy_http_subrequest_done(fy_http_request_t *sr, int status)
{
    if (sr->completed) {
        return;             /* answered already */
    }
    sr->completed = 1;
    sr->status = status;
    if (sr->loc && sr->loc->log_subrequest == 1) {
        fy_http_log_request(sr);
    }
    sr->sub_done(sr, status);
}
