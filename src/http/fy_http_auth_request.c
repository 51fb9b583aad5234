/*
 * fy_http_auth_request.c -- nginx's auth_request module: a request is
 * let in by the answer of a subrequest.
 *
 *     location /private/ {
 *         auth_request      /auth;
 *         auth_request_set  $user $upstream_http_x_auth_request_user;
 *         proxy_set_header  X-User $user;
 *     }
 *     location = /auth {
 *         internal;
 *         proxy_pass               http://auth;
 *         proxy_pass_request_body  off;
 *         proxy_set_header         X-Original-URI $request_uri;
 *     }
 *
 * The subrequest is the last step of the access phase, after allow/deny
 * and auth_basic (nginx's module order), combined with them by
 * "satisfy" (fy_http_access_phase).  Its answer (after the auth
 * location's own error_page and the auth backend's X-Accel-Redirect,
 * as nginx: fy_http_subrequest.c): 2xx lets the request
 * in; 401 (with the subrequest's WWW-Authenticate lines) and 403 are
 * answered, through error_page like any refusal; any other status, a
 * failed or timed-out upstream included, is a 500, as nginx.  The
 * auth_request_set values are evaluated in the subrequest (its
 * $upstream_http_*, $upstream_status) once it has its answer, whatever
 * the answer, and set in the request.
 *
 * The subrequest (fy_http_subrequest.c) is GET (nginx's auth
 * subrequests are GET, whatever the client's method), the client's
 * header fields, no body, its path the URI given ($uri), $request_uri
 * the client's; it runs its location's rewrite directives and content
 * handler (proxy_pass, a "return", a static file).  The response
 * writers hand its status to fy_http_auth_request_done instead of
 * writing: nothing of the subrequest reaches the client, and a
 * proxied answer's body is read to its end and dropped
 * (fy_proxy_discard), its upstream connection then kept with
 * "keepalive", as nginx.  It runs in the worker's event loop like any proxied
 * request, with the auth location's proxy timeouts; a client that goes
 * away meanwhile closes its connection, and the pool's cleanups close
 * the subrequest's upstream with it.
 */
#include "fy_core.h"
#include "fy_http.h"

#include <ctype.h>

/* One auth_request_set line. */
typedef struct {
    fy_http_map_t  *var;
    fy_http_cv_t   *value;
} fy_http_auth_set_t;

/* The subrequest and what the access phase remembers meanwhile. */
typedef struct {
    fy_http_request_t   sr;         /* first: found from &sr */
    int                 code;       /* "satisfy any": refusal before */
    unsigned            done:1;
} fy_http_auth_req_t;

static const char *fy_http_auth_request(fy_conf_t *cf,
    const fy_command_t *cmd, void *conf);
static const char *fy_http_auth_request_set(fy_conf_t *cf,
    const fy_command_t *cmd, void *conf);

#define FY_HTTP_ANY  (FY_CONF_HTTP | FY_CONF_SRV | FY_CONF_LOC)

const fy_command_t  fy_http_auth_request_commands[] = {

    { "auth_request", FY_HTTP_ANY, 0, 1, 1, fy_http_auth_request,
      FY_CONF_LOC_OFF, 0, NULL },

    { "auth_request_set", FY_HTTP_ANY, 0, 2, 2, fy_http_auth_request_set,
      FY_CONF_LOC_OFF, 0, NULL },

    { NULL, 0, 0, 0, 0, NULL, 0, 0, NULL }
};

/* auth_request URI | off.  The URI is a path, as written (nginx takes
 * it without variables too); one that does not start with "/" could
 * never find a location, so it is refused here rather than answered
 * 500 on every request. */
static const char *
fy_http_auth_request(fy_conf_t *cf, const fy_command_t *cmd, void *conf)
{
    fy_http_loc_conf_t  *lcf = conf;
    fy_str_t            *uri = &cf->args[1];

    fy_unused(cmd);

    if (lcf->auth_request.data) {
        return "is duplicate";
    }
    if (fy_str_eq(uri, "off")) {
        lcf->auth_request.data = (u_char *) "";
        lcf->auth_request.len = 0;
        return FY_CONF_OK;
    }
    if (uri->len == 0 || uri->data[0] != '/') {
        fy_conf_error(cf, "invalid URI \"%s\" in \"auth_request\": it must "
                      "start with \"/\"", uri->data);
        return FY_CONF_ERROR;
    }
    lcf->auth_request = *uri;
    return FY_CONF_OK;
}

/* auth_request_set $VARIABLE VALUE: the variable is one "set" could
 * write (the same checks), the value a text with variables. */
static const char *
fy_http_auth_request_set(fy_conf_t *cf, const fy_command_t *cmd, void *conf)
{
    fy_http_loc_conf_t  *lcf = conf;
    fy_http_auth_set_t  *s;
    fy_str_t             name = cf->args[1];
    size_t               i;

    fy_unused(cmd);

    if (name.len < 2 || name.data[0] != '$') {
        fy_conf_error(cf, "invalid variable name \"%s\"", name.data);
        return FY_CONF_ERROR;
    }
    name.data++;
    name.len--;
    for (i = 0; i < name.len; i++) {
        if (!(isalnum(name.data[i]) || name.data[i] == '_')) {
            fy_conf_error(cf, "invalid variable name \"%s\"",
                          cf->args[1].data);
            return FY_CONF_ERROR;
        }
    }
    if (fy_http_variable_find(name.data, name.len)
        || fy_http_regex_variable(cf, name.data, name.len)
        || (name.len > 5 && strncmp((char *) name.data, "http_", 5) == 0)
        || (name.len > 4 && strncmp((char *) name.data, "arg_", 4) == 0)
        || (name.len > 7 && strncmp((char *) name.data, "cookie_", 7) == 0)
        || fy_str_eq(&name, "args") || fy_str_eq(&name, "limit_rate"))
    {
        /* nginx: a built-in variable that cannot be set */
        fy_conf_error(cf, "the duplicate \"%.*s\" variable", (int) name.len,
                      name.data);
        return FY_CONF_ERROR;
    }

    if (lcf->auth_request_set == NULL) {
        lcf->auth_request_set = fy_palloc(cf->pool, sizeof(fy_array_t));
        if (lcf->auth_request_set == NULL) {
            return FY_CONF_ERROR;
        }
        fy_array_init(lcf->auth_request_set, cf->pool, 2,
                      sizeof(fy_http_auth_set_t));
    }
    s = fy_array_push(lcf->auth_request_set);
    if (s == NULL) {
        return FY_CONF_ERROR;
    }
    s->var = fy_http_map_assignable(cf, name.data, name.len);
    if (s->var == NULL) {
        fy_conf_error(cf, "cannot allocate memory");
        return FY_CONF_ERROR;
    }
    s->value = fy_http_cv_compile(cf, &cf->args[2]);
    return s->value ? FY_CONF_OK : FY_CONF_ERROR;
}

/* A level without its own takes its parent's: the URI (or "off"), and
 * the auth_request_set lines as a whole (nginx). */
void
fy_http_auth_request_merge(fy_http_loc_conf_t *prev, fy_http_loc_conf_t *conf)
{
    if (conf->auth_request.data == NULL) {
        conf->auth_request = prev->auth_request;
    }
    if (conf->auth_request_set == NULL) {
        conf->auth_request_set = prev->auth_request_set;
    }
}

int
fy_http_auth_request_start(fy_http_request_t *r, int code)
{
    fy_http_auth_req_t  *ar;

    ar = fy_http_subrequest_create(r, sizeof(fy_http_auth_req_t),
                                   &r->loc->auth_request,
                                   fy_http_auth_request_done);
    if (ar == NULL) {
        return 500;
    }
    ar->code = code;
    ar->sr.auth_sub = 1;

    /* It may be answered at once (a "return", a static file): r then
     * goes on, and may be gone, before this returns. */
    fy_http_subrequest_run(&ar->sr);
    return FY_AGAIN;
}

void
fy_http_auth_request_done(fy_http_request_t *sr, int status)
{
    fy_http_auth_req_t  *ar = (fy_http_auth_req_t *) sr;
    fy_http_request_t   *r = sr->parent;
    fy_http_auth_set_t  *s;
    fy_array_t          *sets = r->loc->auth_request_set;
    u_char              *v;
    size_t               len;
    unsigned             i;
    int                  rc;

    if (ar->done) {
        return;
    }
    ar->done = 1;
    sr->status = status;

    /* the client's connection is the request's again */
    fy_timer_del(&r->hc->c->read);
    r->hc->c->read.handler = fy_event_ignore;
    fy_http_error_log_set(r);

    for (i = 0; sets && i < sets->nelts; i++) {
        s = fy_array_elt(sets, fy_http_auth_set_t, i);
        v = fy_http_cv_eval(sr, s->value, &len);
        if (v == NULL || fy_http_map_assign(r, s->var, v, len) != FY_OK) {
            fy_http_access_done(r, 500);
            return;
        }
    }

    if (status >= 200 && status < 300) {
        rc = 0;
    } else if (status == 401 || status == 403) {
        /* "satisfy any": auth_basic's 401 stays the answer (nginx) */
        rc = ar->code == 401 ? 401 : status;
    } else {
        fy_log_error(FY_LOG_ERR, 0, "auth request unexpected status: %d, "
                     "client: %s, request: \"%.*s\"", status,
                     r->hc->addr_text, (int) r->request_line.len,
                     (char *) r->request_line.data);
        rc = 500;
    }
    if (rc != 401) {
        r->auth_lines.len = 0;
    }
    if (rc == 0) {
        /* "satisfy any": auth_basic's refusal is overruled; its
         * challenge must not go out with a backend's own 401 */
        r->auth_challenge = NULL;
    }
    fy_http_access_done(r, rc);
}
