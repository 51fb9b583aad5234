/*
 * fy_http_ssi_exec.c -- an SSI document processed: the parser's text
 * copied to the output, its commands run (block/endblock and include
 * here; echo, set, config, if/elif/else/endif in fy_http_ssi_cmd.c).
 *
 * The document is in memory whole, and so is the output
 * (fy_http_capture_t, at most FY_HTTP_SSI_MAX).  An include is a
 * subrequest whose body the response writers keep in its capture
 * (r->capture) instead of writing it; the document waits for it
 * (ctx->waiting), so the output is always in document order.  A static
 * file or a "return" answers at once, before fy_http_subrequest_run
 * returns, and the loop goes on; a proxied one answers later, from its
 * upstream's events, and its done resumes the loop (fy_ssi_resume).
 * An included body of an ssi location and type is processed in turn
 * (a nested context on the subrequest) before it is inserted.
 *
 * As in nginx: SSI variables (set) are the client's request's, shared
 * by every included document; "if" does not nest; a malformed or
 * failed command shows the errmsg (unless ssi_silent_errors) and is
 * logged.
 */
#include "fy_core.h"
#include "fy_http.h"
#include "fy_http_ssi_exec.h"

#define FY_SSI_DEPTH   20       /* nested includes */

static const char  fy_ssi_errmsg[] =
    "[an error occurred while processing the directive]";


/* An include: the subrequest first (fy_http_subrequest_create). */
typedef struct {
    fy_http_request_t   sr;
    fy_ssi_ctx_t       *ctx;
    fy_http_capture_t   cap;
    fy_ssi_block_t     *stub;
    fy_str_t            set;
    int                 status;
} fy_ssi_inc_t;

static void fy_ssi_start(fy_http_request_t *r, const u_char *data,
    size_t len, fy_http_ssi_done_pt done, void *arg, fy_ssi_shared_t *sh);
static void fy_ssi_run(fy_ssi_ctx_t *ctx);


static fy_ssi_block_t *
fy_ssi_block_find(fy_ssi_ctx_t *ctx, const fy_str_t *name)
{
    fy_ssi_block_t  *b;
    unsigned         i;

    for (i = 0; i < ctx->blocks.nelts; i++) {
        b = fy_array_elt(&ctx->blocks, fy_ssi_block_t, i);
        if (b->name.len == name->len
            && memcmp(b->name.data, name->data, name->len) == 0)
        {
            return b;
        }
    }
    return NULL;
}

/* The loop goes on after an include (or a stub) is in the output. */
static void
fy_ssi_resume(fy_ssi_ctx_t *ctx)
{
    ctx->waiting = 0;
    if (!ctx->running) {
        fy_ssi_run(ctx);
    }
}

static void
fy_ssi_stub_done(void *arg, const u_char *out, size_t len)
{
    fy_ssi_ctx_t  *ctx = arg;

    if (out == NULL) {
        ctx->failed = 1;
    } else {
        fy_ssi_out(ctx, out, len);
    }
    fy_ssi_resume(ctx);
}

/* The include's body (processed, if its location said ssi) goes in. */
static void
fy_ssi_inc_finish(fy_ssi_inc_t *inc, const u_char *data, size_t len)
{
    fy_ssi_ctx_t  *ctx = inc->ctx;
    fy_str_t       v;

    if (inc->cap.too_big) {
        fy_ssi_error(ctx, "the included response is too big");
    } else if (data == NULL) {
        fy_ssi_error(ctx, "the included response failed");
    } else if (inc->stub && (inc->status >= 300 || len == 0)) {
        /* the stub instead: its own commands run as the document's */
        fy_ssi_start(ctx->r, inc->stub->start, inc->stub->len,
                     fy_ssi_stub_done, ctx, ctx->sh);
        return;
    } else if (inc->set.len) {
        v.data = (u_char *) data;
        v.len = len;
        if (fy_ssi_set_var(ctx, &inc->set, &v) != FY_OK) {
            ctx->failed = 1;
        }
    } else {
        fy_ssi_out(ctx, data, len);
    }
    fy_ssi_resume(ctx);
}

static void
fy_ssi_inc_nested_done(void *arg, const u_char *out, size_t len)
{
    fy_ssi_inc_finish(arg, out, len);
}

/* The include's subrequest answered (its body in inc->cap). */
static void
fy_ssi_inc_done(fy_http_request_t *sr, int status)
{
    fy_ssi_inc_t       *inc = (fy_ssi_inc_t *) sr;
    fy_http_request_t  *r = inc->ctx->r;

    /* the client's connection is the document's again (a proxied
     * include watched it for a close), as after auth_request's */
    fy_timer_del(&sr->hc->c->read);
    sr->hc->c->read.handler = fy_event_ignore;
    fy_http_error_log_set(r);

    inc->status = status;
    if (inc->set.len && !inc->cap.too_big
        && inc->cap.len > (sr->loc ? sr->loc : r->loc)
                          ->subrequest_output_buffer_size)
    {
        /* set= takes the body whole, as nginx's in-memory subrequest:
         * at most subrequest_output_buffer_size of its location */
        fy_log_error(FY_LOG_ERR, 0, "too big subrequest response: %zu, "
                     "client %s, subrequest: \"%.*s\"", inc->cap.len,
                     r->hc->addr_text, (int) sr->path.len, sr->path.data);
        inc->cap.too_big = 1;
    }
    if (status < 300 && !inc->cap.too_big && inc->cap.len
        && fy_http_ssi_applies(sr, &inc->cap.type))
    {
        fy_ssi_start(sr, inc->cap.data, inc->cap.len,
                     fy_ssi_inc_nested_done, inc, inc->ctx->sh);
        return;
    }
    fy_ssi_inc_finish(inc, inc->cap.data ? inc->cap.data
                                         : (const u_char *) "",
                      inc->cap.len);
}

/* A ".." segment or a NUL in the path: refused, as nginx's unsafe URI
 * (the URI may come from a variable, e.g. an argument). */
static int
fy_ssi_unsafe(const fy_str_t *path)
{
    const u_char  *p = path->data, *e = p + path->len, *seg;

    if (memchr(p, '\0', path->len)) {
        return 1;
    }
    while (p < e) {
        seg = p;
        while (p < e && *p != '/') {
            p++;
        }
        if (p - seg == 2 && seg[0] == '.' && seg[1] == '.') {
            return 1;
        }
        p++;
    }
    return 0;
}

/* include virtual="" | file="" [wait="yes|no"] [set=""] [stub=""] */
static void
fy_ssi_include(fy_ssi_ctx_t *ctx)
{
    static const char *const  names[] = { "virtual", "file", "wait", "set",
                                          "stub", NULL };
    fy_http_request_t        *r = ctx->r, *up;
    fy_str_t                  virt = { 0, NULL }, file = { 0, NULL };
    fy_str_t                  raw, uri, wait, stub, path;
    fy_ssi_inc_t             *inc;
    fy_ssi_block_t           *block = NULL;
    const u_char             *q;
    size_t                    dir;
    unsigned                  depth = 0;
    int                       has_v, has_f;

    has_v = fy_ssi_param(ctx, "virtual", &virt) != NULL;
    has_f = fy_ssi_param(ctx, "file", &file) != NULL;
    if (!fy_ssi_params_ok(ctx, names) || has_v == has_f) {
        fy_ssi_error(ctx, "invalid parameters");
        return;
    }
    if (fy_ssi_param(ctx, "wait", &wait)
        && !(wait.len == 3 && memcmp(wait.data, "yes", 3) == 0)
        && !(wait.len == 2 && memcmp(wait.data, "no", 2) == 0))
    {
        fy_ssi_error(ctx, "invalid \"wait\" value");
        return;
    }
    if (fy_ssi_param(ctx, "stub", &stub)) {
        block = fy_ssi_block_find(ctx, &stub);
        if (block == NULL) {
            fy_ssi_error(ctx, "unknown block in \"stub\"");
            return;
        }
    }
    for (up = r; up->parent; up = up->parent) {
        depth++;
    }
    if (depth >= FY_SSI_DEPTH) {
        fy_ssi_error(ctx, "too many nested includes");
        return;
    }
    raw = has_v ? virt : file;
    if (fy_ssi_eval(ctx, raw.data, raw.len, &uri) != FY_OK || uri.len == 0) {
        fy_ssi_error(ctx, "invalid URI");
        return;
    }
    if (uri.data[0] != '/') {
        /* relative to the document's own URI, as nginx */
        for (dir = r->path.len; dir && r->path.data[dir - 1] != '/'; dir--) {
            /* void */
        }
        path.data = fy_palloc(r->pool, dir + uri.len);
        if (path.data == NULL) {
            ctx->failed = 1;
            return;
        }
        memcpy(path.data, r->path.data, dir);
        memcpy(path.data + dir, uri.data, uri.len);
        path.len = dir + uri.len;
        uri = path;
    }
    if (uri.data == virt.data || uri.data == file.data) {
        /* the parser's memory: taken by the next command */
        path.data = fy_palloc(r->pool, uri.len);
        if (path.data == NULL) {
            ctx->failed = 1;
            return;
        }
        memcpy(path.data, uri.data, uri.len);
        uri.data = path.data;
    }
    path = uri;
    q = memchr(uri.data, '?', uri.len);
    if (q) {
        path.len = q - uri.data;
    }
    if (fy_ssi_unsafe(&path)) {
        fy_ssi_error(ctx, "unsafe URI");
        return;
    }

    inc = fy_http_subrequest_create(r, sizeof(fy_ssi_inc_t), &path,
                                    fy_ssi_inc_done);
    if (inc == NULL) {
        ctx->failed = 1;
        return;
    }
    if (q) {
        inc->sr.args.data = (u_char *) q + 1;
        inc->sr.args.len = uri.data + uri.len - q - 1;
    }
    inc->ctx = ctx;
    inc->stub = block;
    inc->cap.max = FY_HTTP_SSI_MAX;
    inc->sr.capture = &inc->cap;
    if (fy_ssi_param(ctx, "set", &raw)) {
        inc->set.data = fy_palloc(r->pool, raw.len);
        if (inc->set.data == NULL) {
            ctx->failed = 1;
            return;
        }
        memcpy(inc->set.data, raw.data, raw.len);
        inc->set.len = raw.len;
    }
    ctx->waiting = 1;
    fy_http_subrequest_run(&inc->sr);
}

/* A command; cmd_start: where its "<!--#" began (for endblock). */
static void
fy_ssi_command(fy_ssi_ctx_t *ctx, const u_char *cmd_start)
{
    const u_char  *c = ctx->ps.command;
    size_t         n = ctx->ps.command_len;
    fy_str_t       name;
    fy_ssi_block_t *b;

#define FY_SSI_IS(s)  (n == sizeof(s) - 1 && memcmp(c, s, n) == 0)

    if (ctx->in_block) {
        if (FY_SSI_IS("endblock")) {
            ctx->block.len = cmd_start - ctx->block.start;
            b = fy_array_push(&ctx->blocks);
            if (b == NULL) {
                ctx->failed = 1;
                return;
            }
            *b = ctx->block;
            ctx->in_block = 0;
        }
        return;                 /* the block's own: run when shown */
    }
    if (FY_SSI_IS("if")) {
        fy_ssi_cond(ctx, 0);
    } else if (FY_SSI_IS("elif")) {
        fy_ssi_cond(ctx, 1);
    } else if (FY_SSI_IS("else")) {
        fy_ssi_cond(ctx, 2);
    } else if (FY_SSI_IS("endif")) {
        fy_ssi_cond(ctx, 3);
    } else if (ctx->in_if && !ctx->if_on) {
        return;                 /* a branch not taken */
    } else if (FY_SSI_IS("echo")) {
        fy_ssi_echo(ctx);
    } else if (FY_SSI_IS("set")) {
        fy_ssi_set(ctx);
    } else if (FY_SSI_IS("config")) {
        fy_ssi_config(ctx);
    } else if (FY_SSI_IS("include")) {
        fy_ssi_include(ctx);
    } else if (FY_SSI_IS("block")) {
        if (ctx->ps.nparams != 1 || !fy_ssi_param(ctx, "name", &name)) {
            fy_ssi_error(ctx, "invalid parameters");
            return;
        }
        ctx->block.name.data = fy_palloc(ctx->r->pool, name.len + 1);
        if (ctx->block.name.data == NULL) {
            ctx->failed = 1;
            return;
        }
        memcpy(ctx->block.name.data, name.data, name.len);
        ctx->block.name.len = name.len;
        ctx->block.start = ctx->pos;
        ctx->in_block = 1;
    } else if (FY_SSI_IS("endblock")) {
        fy_ssi_error(ctx, "no \"block\" before it");
    } else {
        fy_ssi_error(ctx, "unknown command");
    }

#undef FY_SSI_IS
}

static void
fy_ssi_run(fy_ssi_ctx_t *ctx)
{
    const u_char  *t, *before;
    size_t         len;
    int            rc;

    ctx->running = 1;
    while (!ctx->waiting && !ctx->failed) {
        before = ctx->pos;
        rc = fy_http_ssi_parse(&ctx->ps, &ctx->pos, ctx->end, &t, &len);
        switch (rc) {
        case FY_SSI_TEXT:
            if (!ctx->in_block && !(ctx->in_if && !ctx->if_on)) {
                fy_ssi_out(ctx, t, len);
            }
            continue;
        case FY_SSI_COMMAND:
            fy_ssi_command(ctx, before);
            continue;
        case FY_SSI_INVALID:
            if (!ctx->in_block && !(ctx->in_if && !ctx->if_on)) {
                fy_ssi_error(ctx, ctx->ps.error ? ctx->ps.error
                                                : "invalid command");
            }
            continue;
        }
        /* the end of the document */
        if (fy_http_ssi_parse_end(&ctx->ps, &t, &len)
            && !ctx->in_block && !(ctx->in_if && !ctx->if_on))
        {
            fy_ssi_out(ctx, t, len);
        }
        break;
    }
    ctx->running = 0;
    if (ctx->waiting) {
        return;                 /* fy_ssi_resume comes back */
    }
    /* done may end the request and free ctx with its pool */
    ctx->done(ctx->arg, ctx->failed ? NULL
                        : ctx->out.data ? ctx->out.data
                                        : (const u_char *) "",
              ctx->out.len);
}

static void
fy_ssi_start(fy_http_request_t *r, const u_char *data, size_t len,
             fy_http_ssi_done_pt done, void *arg, fy_ssi_shared_t *sh)
{
    fy_ssi_ctx_t  *ctx;

    ctx = fy_pcalloc(r->pool, sizeof(*ctx));
    if (ctx == NULL || fy_http_ssi_parser_init(&ctx->ps, r->pool,
                                               r->loc->ssi->value_len)
                       != FY_OK)
    {
        done(arg, NULL, 0);
        return;
    }
    if (sh == NULL) {
        sh = fy_pcalloc(r->pool, sizeof(*sh));
        if (sh == NULL) {
            done(arg, NULL, 0);
            return;
        }
        fy_array_init(&sh->vars, r->pool, 4, sizeof(fy_ssi_var_t));
    }
    ctx->r = r;
    ctx->conf = r->loc->ssi;
    ctx->sh = sh;
    ctx->pos = data;
    ctx->end = data + len;
    ctx->out.max = FY_HTTP_SSI_MAX;
    ctx->if_on = 1;
    fy_str_set(&ctx->errmsg, fy_ssi_errmsg);
    fy_str_set(&ctx->timefmt, FY_SSI_TIMEFMT);
    fy_array_init(&ctx->blocks, r->pool, 2, sizeof(fy_ssi_block_t));
    ctx->done = done;
    ctx->arg = arg;
    fy_ssi_run(ctx);
}

void
fy_http_ssi_process(fy_http_request_t *r, const u_char *data, size_t len,
                    fy_http_ssi_done_pt done, void *arg)
{
    fy_ssi_start(r, data, len, done, arg, NULL);
}
