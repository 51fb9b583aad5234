/*
 * fy_http_addition.c -- nginx's addition module: the body of a
 * subrequest added before and after a response's body.
 *
 *     add_before_body  /header.html;       # "" turns it off
 *     add_after_body   /footer.html;
 *     addition_types   text/css ...;       # text/html, always; or *
 *
 * For a client's request (not a subrequest) whose location has either
 * URI, the subrequests run first, one after the other, just before the
 * content handler (fy_http_addition_fetch, from fy_http_run_content),
 * or, for ferry's own 200 answer of a listed type made before it (a
 * "return"), before that is sent (fy_http_addition_response):
 * their bodies are kept whole in memory (fy_http_capture_t, at most
 * FY_HTTP_SSI_MAX).  nginx starts them as the response's
 * body goes out; ferry has them when the response's header is made, so
 * that the three writers of bodies (ferry's own, static files, proxied
 * ones) add them the way they already run sub_filter: a stream of
 * fy_http_sub_stream.c that hands out the before text, the body, then
 * the after text (fy_http_sub_begin, fy_http_addition_texts).  Only a
 * 200 of a type in addition_types gets them (nginx); its Content-Length
 * and Accept-Ranges go (the body streams chunked, or ends with the
 * close for HTTP/1.0), its ETag becomes weak.  A HEAD runs no
 * subrequest and gets the header a GET would.
 */
#include "fy_core.h"
#include "fy_http.h"

/* One of the two subrequests (fy_http_subrequest_create: sr first). */
typedef struct {
    fy_http_request_t          sr;
    struct fy_http_addition_ctx_s *ctx;
    fy_http_capture_t         *cap;
} fy_http_addition_sub_t;

static const char *fy_http_addition_uri(fy_conf_t *cf,
    const fy_command_t *cmd, void *conf);
static void *fy_http_addition_conf(fy_conf_t *cf,
    fy_http_loc_conf_t *lcf);
static void fy_http_addition_step(fy_http_addition_ctx_t *ctx);

#define FY_ADD_ANY  (FY_CONF_HTTP | FY_CONF_SRV | FY_CONF_LOC)

const fy_command_t  fy_http_addition_commands[] = {

    { "add_before_body", FY_ADD_ANY, 0, 1, 1, fy_http_addition_uri,
      FY_CONF_LOC_OFF, offsetof(fy_http_addition_conf_t, before), NULL },

    { "add_after_body", FY_ADD_ANY, 0, 1, 1, fy_http_addition_uri,
      FY_CONF_LOC_OFF, offsetof(fy_http_addition_conf_t, after), NULL },

    { "addition_types", FY_ADD_ANY, 0, 1, FY_CONF_MANY,
      fy_http_module_set, FY_CONF_LOC_OFF,
      offsetof(fy_http_addition_conf_t, types),
      &(const fy_http_module_set_t) { fy_http_addition_conf,
                                      fy_http_types_set, NULL } },

    { NULL, 0, 0, 0, 0, NULL, 0, 0, NULL }
};

/* The level's own settings, made on first use. */
static void *
fy_http_addition_conf(fy_conf_t *cf, fy_http_loc_conf_t *lcf)
{
    if (lcf->addition == NULL) {
        lcf->addition = fy_pcalloc(cf->pool, sizeof(fy_http_addition_conf_t));
    }
    return lcf->addition;
}

/* add_before_body URI, add_after_body URI: a path, as written (nginx
 * takes no variables there either); "" turns an inherited one off. */
static const char *
fy_http_addition_uri(fy_conf_t *cf, const fy_command_t *cmd, void *conf)
{
    fy_http_addition_conf_t  *ac = fy_http_addition_conf(cf, conf);
    fy_str_t                 *s;

    if (ac == NULL) {
        return "cannot allocate memory";
    }
    s = (fy_str_t *) ((char *) ac + cmd->offset);
    if (s->data) {
        return "is duplicate";
    }
    if (cf->args[1].len && cf->args[1].data[0] != '/') {
        fy_conf_error(cf, "invalid URI \"%s\" in \"%s\": it must start "
                      "with \"/\"", cf->args[1].data, cmd->name);
        return FY_CONF_ERROR;
    }
    s->data = (u_char *) fy_pstrndup(cf->pool, cf->args[1].data,
                                     cf->args[1].len);
    s->len = cf->args[1].len;
    return s->data ? FY_CONF_OK : "cannot allocate memory";
}

/* Called from fy_http_merge_loc for every level, parent first: a level
 * without any addition directive shares its parent's settings. */
void
fy_http_addition_merge(fy_http_loc_conf_t *prev, fy_http_loc_conf_t *conf)
{
    fy_http_addition_conf_t  *c = conf->addition, *p = prev->addition;

    if (c == NULL || c == p) {
        conf->addition = p;
        return;
    }
    if (p == NULL) {
        return;
    }
    if (c->before.data == NULL) {
        c->before = p->before;
    }
    if (c->after.data == NULL) {
        c->after = p->after;
    }
    if (c->types.list == NULL) {
        c->types = p->types;
    }
}

/* ---- the subrequests ---- */

static void
fy_http_addition_done(fy_http_request_t *sr, int status)
{
    fy_http_addition_sub_t  *as = (fy_http_addition_sub_t *) sr;
    fy_http_addition_ctx_t  *ctx = as->ctx;
    fy_http_request_t       *r = sr->parent;

    /* the client's connection is the request's again (a proxied
     * subrequest watched it for a close), as after ssi's include */
    fy_timer_del(&sr->hc->c->read);
    sr->hc->c->read.handler = fy_event_ignore;
    fy_http_error_log_set(r);

    if (as->cap->too_big) {
        fy_log_error(FY_LOG_ERR, 0, "the body of the addition subrequest "
                     "\"%.*s\" is bigger than %zu bytes, left out, client %s, request: \"%.*s\"",
                     (int) sr->path.len, sr->path.data, as->cap->max,
                     r->hc->addr_text, (int) r->request_line.len,
                     r->request_line.data);
        as->cap->len = 0;
    }
    fy_log_debug("addition subrequest \"%.*s\": %d, %zu bytes",
                 (int) sr->path.len, sr->path.data, status, as->cap->len);
    ctx->waiting = 0;
    if (!ctx->stepping) {
        fy_http_addition_step(ctx);     /* answered later: go on */
    }
}

/* Run the subrequests not run yet, in order; the request's content
 * handler follows once both have answered. */
static void
fy_http_addition_step(fy_http_addition_ctx_t *ctx)
{
    fy_http_request_t       *r = ctx->r;
    fy_http_addition_sub_t  *as;
    fy_str_t                 uri, path;
    const u_char            *q;

    ctx->stepping = 1;
    while (ctx->stage < 2) {
        uri = ctx->stage == 0 ? ctx->conf->before : ctx->conf->after;
        ctx->stage++;
        if (uri.len == 0) {
            continue;
        }
        path = uri;
        q = memchr(uri.data, '?', uri.len);
        if (q) {
            path.len = (size_t) (q - uri.data);
        }
        as = fy_http_subrequest_create(r, sizeof(fy_http_addition_sub_t),
                                       &path, fy_http_addition_done);
        if (as == NULL) {
            ctx->stepping = 0;
            fy_http_send_error(r, 500);
            return;
        }
        if (q) {
            as->sr.args.data = (u_char *) q + 1;
            as->sr.args.len = (size_t) (uri.data + uri.len - q - 1);
        }
        as->ctx = ctx;
        as->cap = ctx->stage == 1 ? &ctx->before : &ctx->after;
        as->cap->max = FY_HTTP_SSI_MAX;
        as->sr.capture = as->cap;
        ctx->waiting = 1;
        fy_http_subrequest_run(&as->sr);
        if (ctx->waiting) {
            ctx->stepping = 0;
            return;             /* fy_http_addition_done goes on */
        }
    }
    ctx->stepping = 0;
    ctx->ready = 1;
    if (ctx->later) {
        if (ctx->body.data) {
            /* ferry's own answer waited for them (a "return") */
            fy_http_send_response(r, ctx->status, &ctx->type,
                                  ctx->body.data, ctx->body.len, NULL);
        } else {
            fy_http_run_content(r);
        }
    }
}

/* Start the subrequests for r's location: FY_OK when they are done
 * already (or there is nothing to run), FY_AGAIN when one runs
 * (fy_http_addition_step goes on), FY_ERROR. */
static int
fy_http_addition_start(fy_http_request_t *r, fy_http_addition_ctx_t **out)
{
    fy_http_addition_ctx_t  *ctx;

    ctx = fy_pcalloc(r->pool, sizeof(*ctx));
    if (ctx == NULL) {
        return FY_ERROR;
    }
    ctx->r = r;
    ctx->conf = r->loc->addition;
    r->addition = ctx;
    *out = ctx;
    if (r->head) {
        return FY_OK;       /* no body to add to: the header only */
    }
    fy_http_addition_step(ctx);
    if (ctx->ready) {
        return FY_OK;
    }
    ctx->later = 1;
    return FY_AGAIN;
}

int
fy_http_addition_fetch(fy_http_request_t *r)
{
    fy_http_addition_conf_t  *ac = r->loc->addition;
    fy_http_addition_ctx_t   *ctx = r->addition;

    if (r->parent || !fy_http_addition_on(r->loc)
        || (ctx && ctx->conf == ac))
    {
        return FY_OK;       /* none here, or fetched for this location */
    }
    switch (fy_http_addition_start(r, &ctx)) {
    case FY_OK:
        return FY_OK;
    case FY_AGAIN:
        return FY_AGAIN;
    }
    return 500;
}

int
fy_http_addition_response(fy_http_request_t *r, int status,
                          const fy_str_t *type, const u_char *body,
                          size_t len)
{
    fy_http_addition_conf_t  *ac = r->loc->addition;
    fy_http_addition_ctx_t   *ctx = r->addition;
    u_char                   *copy;

    if (r->parent || status != 200 || !fy_http_addition_on(r->loc)
        || (ctx && ctx->conf == ac)
        || !fy_http_types_match(&ac->types, type))
    {
        return FY_DECLINED;
    }
    switch (fy_http_addition_start(r, &ctx)) {
    case FY_OK:
        return FY_DECLINED;     /* answered at once: sent now */
    case FY_ERROR:
        return FY_ERROR;
    }
    /* the body and type may be the caller's: kept until they answer */
    copy = fy_palloc(r->pool, len + type->len + 1);
    if (copy == NULL) {
        return FY_ERROR;
    }
    memcpy(copy, body, len);
    memcpy(copy + len, type->data, type->len);
    ctx->body.data = copy;
    ctx->body.len = len;
    ctx->type.data = copy + len;
    ctx->type.len = type->len;
    ctx->status = status;
    return FY_OK;
}

int
fy_http_addition_texts(fy_http_request_t *r, int status,
                       const fy_str_t *type, fy_str_t *before,
                       fy_str_t *after)
{
    const fy_http_addition_conf_t  *ac;
    const fy_http_addition_ctx_t   *ctx = r->addition;

    if (r->parent || ctx == NULL || status != 200
        || (ac = r->loc->addition) == NULL || ac != ctx->conf
        || !fy_http_types_match(&ac->types, type))
    {
        return 0;
    }
    before->data = ctx->before.data;
    before->len = ctx->before.len;
    after->data = ctx->after.data;
    after->len = ctx->after.len;
    return 1;
}
