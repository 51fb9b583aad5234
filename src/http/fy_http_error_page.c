/*
 * fy_http_error_page.c -- error_page: an error answered by another
 * location of the same server (an internal redirect), by a named
 * location (location @name), or by a redirect to a URL.
 *
 *   error_page 404 /404.html;        internal redirect, status kept
 *   error_page 404 =200 /empty.gif;  ... answered with 200
 *   error_page 404 = /fallback;      ... with what /fallback answers
 *   error_page 502 @app;             named location: method and URI
 *                                    unchanged
 *   error_page 403 http://x/forbidden;   302 (or =301 ... =308)
 *
 * Every error ferry itself answers once the location is known goes
 * through fy_http_error_page (from fy_http_send_error); an upstream's
 * answer of 300 or more does when the location has
 * proxy_intercept_errors on (fy_http_proxy_response.c).  A request goes
 * through error_page at most once unless the location where the error
 * happened has recursive_error_pages on (nginx): an error while serving
 * the error page is answered plainly with its own status.
 *
 * The internal redirect itself (fy_http_internal_redirect,
 * fy_http_named_redirect) is shared with try_files
 * (fy_http_try_files.c), and so is the limit on redirects per request.
 */
#include "fy_core.h"
#include "fy_http.h"

static const char *fy_http_error_page_set(fy_conf_t *cf,
    const fy_command_t *cmd, void *conf);

const fy_command_t  fy_http_error_page_commands[] = {

    { "error_page", FY_CONF_HTTP | FY_CONF_SRV | FY_CONF_LOC
      | FY_CONF_LIF, 0, 2,
      FY_CONF_MANY, fy_http_error_page_set, FY_CONF_LOC_OFF, 0, NULL },

    { NULL, 0, 0, 0, 0, NULL, 0, 0, NULL }
};

/* error_page CODE ... [=[RESPONSE]] URI */
static const char *
fy_http_error_page_set(fy_conf_t *cf, const fy_command_t *cmd, void *conf)
{
    fy_http_loc_conf_t    *lcf = conf;
    fy_http_error_page_t  *ep;
    fy_http_cv_t          *uri;
    fy_str_t              *last = &cf->args[cf->nargs - 1], *eq;
    unsigned               i, ncodes = cf->nargs - 2;
    int64_t                code;
    int                    overwrite = -1;

    fy_unused(cmd);

    eq = &cf->args[cf->nargs - 2];
    if (eq->data[0] == '=') {
        if (eq->len > 1) {
            code = fy_atoi(eq->data + 1, eq->len - 1);
            if (code < 100 || code > 999) {
                fy_conf_error(cf, "invalid value \"%s\"", eq->data);
                return FY_CONF_ERROR;
            }
            overwrite = (int) code;
        } else {
            overwrite = 0;
        }
        ncodes--;
    }
    if (ncodes == 0) {
        fy_conf_error(cf, "invalid number of arguments in \"error_page\" "
                      "directive");
        return FY_CONF_ERROR;
    }
    if (last->len == 0) {
        fy_conf_error(cf, "empty URI in \"error_page\"");
        return FY_CONF_ERROR;
    }
    uri = fy_http_cv_compile(cf, last);
    if (uri == NULL) {
        return FY_CONF_ERROR;
    }

    if (lcf->error_pages == NULL) {
        lcf->error_pages = fy_pcalloc(cf->pool, sizeof(fy_array_t));
        if (lcf->error_pages == NULL) {
            return "cannot allocate memory";
        }
        fy_array_init(lcf->error_pages, cf->pool, 4,
                      sizeof(fy_http_error_page_t));
    }
    for (i = 1; i <= ncodes; i++) {
        code = fy_atoi(cf->args[i].data, cf->args[i].len);
        if (code == -1) {
            fy_conf_error(cf, "invalid value \"%s\"", cf->args[i].data);
            return FY_CONF_ERROR;
        }
        if (code < 300 || code > 599) {
            fy_conf_error(cf, "value \"%s\" must be between 300 and 599",
                          cf->args[i].data);
            return FY_CONF_ERROR;
        }
        ep = fy_array_push(lcf->error_pages);
        if (ep == NULL) {
            return "cannot allocate memory";
        }
        ep->status = (int) code;
        ep->overwrite = overwrite;
        ep->uri = uri;
    }
    return FY_CONF_OK;
}

const fy_http_error_page_t *
fy_http_error_page_find(fy_http_loc_conf_t *lcf, int status)
{
    fy_http_error_page_t  *ep;
    unsigned               i;

    for (i = 0; lcf->error_pages && i < lcf->error_pages->nelts; i++) {
        ep = fy_array_elt(lcf->error_pages, fy_http_error_page_t, i);
        if (ep->status == status) {
            return ep;
        }
    }
    return NULL;
}

fy_http_loc_conf_t *
fy_http_named_find(fy_http_srv_conf_t *srv, const u_char *name, size_t len)
{
    fy_http_loc_conf_t  *lcf;
    unsigned             i;

    for (i = 0; i < srv->named.nelts; i++) {
        lcf = *fy_array_elt(&srv->named, fy_http_loc_conf_t *, i);
        if (lcf->name.len == len && memcmp(lcf->name.data, name, len) == 0) {
            return lcf;
        }
    }
    return NULL;
}

/* Count one internal redirect of r (to `to`).  error_page alone needs
 * no limit (once per request), but try_files may send a request back
 * to a location that sends it on again: as nginx, the eleventh is a
 * cycle, answered 500 with the built-in page (no error_page for it:
 * that would be one more).  FY_OK: go on; FY_ERROR: answered. */
static int
fy_http_redirect_count(fy_http_request_t *r, const u_char *to, size_t len)
{
    if (r->redirects >= FY_HTTP_MAX_REDIRECTS) {
        fy_log_error(FY_LOG_ERR, 0, "rewrite or internal redirection cycle "
                     "while internally redirecting to \"%.*s\", client %s",
                     (int) len, to, r->hc->addr_text);
        r->error_page = 1;
        fy_http_send_error(r, 500);
        return FY_ERROR;
    }
    r->redirects++;
    return FY_OK;
}

void
fy_http_named_redirect(fy_http_request_t *r, const u_char *name, size_t len)
{
    fy_http_loc_conf_t  *named;

    named = fy_http_named_find(r->srv, name, len);
    if (named == NULL) {
        fy_log_error(FY_LOG_ERR, 0, "could not find named location "
                     "\"%.*s\", client %s", (int) len, name,
                     r->hc->addr_text);
        r->err_status = 0;
        fy_http_send_error(r, 500);
        return;
    }
    if (fy_http_redirect_count(r, name, len) != FY_OK) {
        return;
    }
    fy_log_debug("named location \"%.*s\"", (int) len, name);
    r->loc = named;
    fy_http_error_log_set(r);
    r->redirected = 1;
    fy_http_run_location(r);
}

int
fy_http_internal_redirect(fy_http_request_t *r, u_char *uri, size_t len)
{
    fy_str_t   path, args;
    u_char    *q;

    path.data = uri;
    path.len = len;
    args.data = NULL;
    args.len = 0;
    q = memchr(uri, '?', len);
    if (q) {
        path.len = (size_t) (q - uri);
        args.data = q + 1;
        args.len = len - path.len - 1;
    }
    if (fy_http_normalize_path(r->pool, &path) != FY_OK) {
        return FY_ERROR;
    }
    return fy_http_internal_redirect_to(r, &path, &args);
}

int
fy_http_internal_redirect_to(fy_http_request_t *r, const fy_str_t *path,
    const fy_str_t *args)
{
    if (fy_http_redirect_count(r, path->data, path->len) != FY_OK) {
        return FY_OK;
    }

    fy_log_debug("internal redirect to \"%.*s\"", (int) path->len,
                 path->data);
    r->path = *path;
    r->args = *args;
    r->internal = 1;
    r->redirected = 1;
    r->rewritten = 0;
    r->captures = NULL;
    /* as nginx, the server's rewrites run again for the new URI */
    fy_http_route(r);
    return FY_OK;
}

/*
 * What an internal redirect does to the request body: the new location
 * does not get it.  What already arrived is skipped; a body still on
 * its way makes the connection close after the answer (as after a
 * "return").
 */
void
fy_http_drop_body(fy_http_request_t *r)
{
    fy_buf_t        *src = fy_http_body_src(r);
    size_t           have;

    if (src->start) {
        have = fy_min(fy_buf_size(src), r->body_rest);
        src->pos += have;
        r->body_rest -= have;
    }
    if (r->body_rest) {
        r->keepalive = 0;
        r->body_rest = 0;
        r->body_dropped = 1;
    }
    if (r->content_length > 0) {
        r->content_length = 0;      /* what a named location proxies */
    }
}

int
fy_http_error_page(fy_http_request_t *r, int status)
{
    static const char            get[] = "GET";
    const fy_http_error_page_t  *ep;
    fy_str_t                     location;
    u_char                      *uri;
    size_t                       len;
    int                          code;

    /* once per request, unless recursive_error_pages is on where the
     * error happened; the redirect limit ends a loop of them with a
     * 500 (fy_http_redirect_count sets r->error_page) */
    if (r->loc == NULL || r->error_page || r->header_sent) {
        return FY_DECLINED;
    }
    ep = fy_http_error_page_find(r->loc, status);
    if (ep == NULL) {
        return FY_DECLINED;
    }
    if (!r->loc->recursive_error_pages) {
        r->error_page = 1;
    }

    uri = fy_http_cv_eval(r, ep->uri, &len);
    if (uri == NULL || len == 0) {
        return FY_DECLINED;
    }

    if (uri[0] != '/' && uri[0] != '@') {
        /* a URL: the client is sent there, 302 unless a redirect code
         * was given */
        code = ep->overwrite;
        if (code != 301 && code != 302 && code != 303 && code != 307
            && code != 308)
        {
            code = 302;
        }
        location.data = fy_http_header_escape(r->pool, uri, &len);
        location.len = len;
        if (location.data == NULL) {
            return FY_DECLINED;
        }
        r->err_status = 0;
        fy_http_send_response(r, code, NULL, NULL, 0, &location);
        return FY_OK;
    }

    r->err_status = ep->overwrite > 0 ? ep->overwrite
                    : ep->overwrite == 0 ? 0 : status;
    fy_http_drop_body(r);

    if (uri[0] == '@') {
        fy_log_debug("error_page %d: named location", status);
        fy_http_named_redirect(r, uri, len);
        return FY_OK;
    }

    /* a URI of this server: path and arguments as given, the method GET
     * (HEAD stays HEAD), the location searched again */
    fy_log_debug("error_page %d: internal redirect", status);
    if (!r->head) {
        r->method = FY_HTTP_GET;
        r->method_name.data = (u_char *) get;
        r->method_name.len = sizeof(get) - 1;
    }
    r->content_length = -1;
    if (fy_http_internal_redirect(r, uri, len) != FY_OK) {
        r->err_status = 0;
        fy_http_send_error(r, 500);
    }
    return FY_OK;
}
