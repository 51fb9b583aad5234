/*
 * fy_http_post_action.c -- post_action (nginx's ngx_http_core_module):
 * once a request's response has been sent, one more request to a URI
 * or a named location, whose answer is thrown away, typically to count
 * what was served:
 *
 *     location /download/ {
 *         post_action  /count;
 *     }
 *     location = /count {
 *         internal;
 *         proxy_pass  http://stats/hit?uri=$request_uri&sent=$body_bytes_sent&ok=$request_completion;
 *     }
 *
 * nginx redirects the finished request itself (header_only, nothing
 * more to the client); ferry makes it a subrequest (fy_http_subrequest.c)
 * that sees what that redirected request sees: the client's method,
 * header fields and $request_uri, no arguments ($args empty, as nginx's
 * redirect has none), $uri the post_action's, and the finished
 * response's $status, $bytes_sent, $body_bytes_sent, $request_length,
 * $request_time and $request_completion (r->post_action: the variables
 * read them from the parent).  No request body is sent with it.
 *
 * fy_http_finalize starts it after the response is all written and
 * counted, and goes on with the connection (keep-alive, close) only
 * when it has ended, as nginx's request holds its connection: the
 * client has its whole answer by then, and its next request on the
 * connection waits.
 *
 * A response that breaks off (the client gone or too slow, an upstream
 * that stopped mid-body: fy_http_close_connection) has its post_action
 * too, as nginx runs it from its error finalization, with
 * $request_completion empty: fy_http_post_action_abort stops what the
 * content phase holds (the pool cleanups it added: upstream, file,
 * compressor), leaves the client's socket alone, and closes the
 * connection when the post_action has ended.
 */
#include "fy_core.h"
#include "fy_http.h"

static const char *fy_http_post_action_conf(fy_conf_t *cf,
    const fy_command_t *cmd, void *conf);
static void fy_http_post_action_done(fy_http_request_t *sr, int status);

#define FY_HTTP_ANY  (FY_CONF_HTTP | FY_CONF_SRV | FY_CONF_LOC)

const fy_command_t  fy_http_post_action_commands[] = {

    { "post_action", FY_HTTP_ANY, 0, 1, 1, fy_http_post_action_conf,
      FY_CONF_LOC_OFF, 0, NULL },

    { NULL, 0, 0, 0, 0, NULL, 0, 0, NULL }
};

/* post_action URI | @name | off.  A URI must start with "/" and a name
 * with "@" (nginx takes anything, and treats whatever does not start
 * with "/" as a name that is then not found on every request). */
static const char *
fy_http_post_action_conf(fy_conf_t *cf, const fy_command_t *cmd, void *conf)
{
    fy_http_loc_conf_t  *lcf = conf;
    fy_str_t            *v = &cf->args[1];

    fy_unused(cmd);

    if (lcf->post_action.data) {
        return "is duplicate";
    }
    if (fy_str_eq(v, "off")) {
        lcf->post_action.data = (u_char *) "";
        lcf->post_action.len = 0;
        return FY_CONF_OK;
    }
    if (!(v->len >= 1 && v->data[0] == '/')
        && !(v->len >= 2 && v->data[0] == '@'))
    {
        fy_conf_error(cf, "invalid value \"%s\" in \"post_action\": it must "
                      "be a URI starting with \"/\", a named location "
                      "\"@name\" or \"off\"", v->data);
        return FY_CONF_ERROR;
    }
    lcf->post_action = *v;
    return FY_CONF_OK;
}

/* A level without it takes its parent's; "off" stops that. */
void
fy_http_post_action_merge(fy_http_loc_conf_t *prev, fy_http_loc_conf_t *conf)
{
    if (conf->post_action.data == NULL) {
        conf->post_action = prev->post_action;
    }
}

int
fy_http_post_action(fy_http_request_t *r, int close_connection)
{
    fy_http_request_t   *sr;
    fy_http_loc_conf_t  *named;
    fy_str_t            *to = &r->loc->post_action;
    fy_conn_t           *c = r->hc->c;

    if (r->parent || r->post_acted) {
        return FY_OK;
    }
    r->post_acted = 1;
    named = NULL;
    if (to->data[0] == '@') {
        named = fy_http_named_find(r->srv, to->data, to->len);
        if (named == NULL) {
            fy_log_error(FY_LOG_ERR, 0, "could not find named location "
                         "\"%.*s\" for post_action, client %s",
                         (int) to->len, to->data, r->hc->addr_text);
            return FY_OK;
        }
    }
    sr = fy_http_subrequest_create(r, sizeof(fy_http_request_t), to,
                                   fy_http_post_action_done);
    if (sr == NULL) {
        fy_log_error(FY_LOG_ERR, 0, "cannot allocate post_action "
                     "subrequest, client %s", r->hc->addr_text);
        return FY_OK;
    }
    /* the finished request as nginx's post_action sees it */
    sr->post_action = 1;
    sr->method = r->method;
    sr->method_name = r->method_name;
    sr->head = r->head;
    sr->status = r->status;
    sr->bytes_out = r->bytes_out;
    sr->header_out = r->header_out;
    sr->request_length = r->request_length;
    sr->start_msec = r->start_msec;
    if (named) {
        sr->path = r->path;             /* $uri: the request's */
    }

    /* the connection waits, not reading (a pipelined request stays in
     * the socket); the subrequest's own timeouts end the wait */
    r->post_action_running = 1;
    r->post_action_close = close_connection ? 1 : 0;
    fy_timer_del(&c->read);
    c->read.handler = fy_event_ignore;

    fy_log_debug("post_action \"%.*s\", client %s", (int) to->len,
                 to->data, r->hc->addr_text);
    if (named) {
        sr->loc = named;
        fy_http_error_log_set(sr);
        fy_http_run_location(sr);
    } else {
        fy_http_subrequest_run(sr);
    }
    if (!r->post_action_running) {
        return FY_OK;               /* answered at once */
    }
    r->post_action_finalize = 1;
    return FY_AGAIN;
}

int
fy_http_post_action_abort(fy_http_request_t *r)
{
    fy_conn_t  *c = r->hc->c;

    if (r->parent || r->post_acted || r->loc == NULL
        || r->loc->post_action.len == 0 || c == NULL)
    {
        return FY_OK;
    }
    /* the upstream, the file, the streams: as the close would have
     * stopped them; the request's own memory and fields stay for the
     * post_action's variables */
    fy_pool_cleanup_run_to(r->pool, r->content_cleanups);
    r->content_mark = 0;
    r->completed = 0;               /* $request_completion: empty */
    r->keepalive = 0;
    fy_timer_del(&c->write);
    c->write.handler = fy_event_ignore;
    fy_log_debug("post_action after a response that was not finished, "
                 "client %s", r->hc->addr_text);
    return fy_http_post_action(r, 1);
}

/* Its answer, whatever it is, is thrown away; the connection goes on
 * (fy_http_finalize_conn) if fy_http_post_action has returned. */
static void
fy_http_post_action_done(fy_http_request_t *sr, int status)
{
    fy_http_request_t  *r = sr->parent;

    fy_log_debug("post_action \"%.*s\" done: %d, client %s",
                 (int) sr->path.len, sr->path.data, status,
                 r->hc->addr_text);
    r->post_action_running = 0;
    if (r->post_action_finalize) {
        r->post_action_finalize = 0;
        fy_http_finalize_conn(r, r->post_action_close);
    }
}
