/*
 * fy_http_ssi_exec.c -- an SSI document processed: the parser's text
 * copied to the output, its commands run (echo, set, if/elif/else/endif,
 * config, block/endblock, include).
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
#include "fy_http_ssi_parse.h"

#include <pcre2.h>
#include <time.h>

#define FY_SSI_DEPTH   20       /* nested includes */
#define FY_SSI_NCAPS   10       /* $0..$9 of an "if" regex */

static const char  fy_ssi_errmsg[] =
    "[an error occurred while processing the directive]";
static const char  fy_ssi_timefmt[] = "%A, %d-%b-%Y %H:%M:%S %Z";

typedef struct {
    fy_str_t  name;
    fy_str_t  value;
} fy_ssi_var_t;

typedef struct {
    fy_str_t       name;
    const u_char  *start;
    size_t         len;
} fy_ssi_block_t;

/* What every document of one client's request shares (nginx keeps it
 * in the main request): the SSI variables and an "if" regex's
 * captures. */
typedef struct {
    fy_array_t   vars;              /* fy_ssi_var_t */
    fy_str_t     caps[FY_SSI_NCAPS];
    unsigned     ncaps;
} fy_ssi_shared_t;

typedef struct {
    fy_http_request_t          *r;
    const fy_http_ssi_conf_t   *conf;
    fy_ssi_shared_t            *sh;
    const u_char               *pos, *end;
    fy_http_capture_t           out;
    fy_http_ssi_parser_t        ps;
    fy_str_t                    errmsg, timefmt;
    fy_array_t                  blocks;     /* fy_ssi_block_t */
    fy_ssi_block_t              block;      /* the one being read */
    fy_http_ssi_done_pt         done;
    void                       *arg;
    unsigned                    running:1;  /* inside fy_ssi_run */
    unsigned                    waiting:1;  /* for an include */
    unsigned                    failed:1;
    unsigned                    in_if:1, if_on:1, if_taken:1;
    unsigned                    in_block:1;
} fy_ssi_ctx_t;

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


static void
fy_ssi_out(fy_ssi_ctx_t *ctx, const void *data, size_t len)
{
    if (fy_http_capture_add(ctx->r->pool, &ctx->out, data, len) != FY_OK
        || ctx->out.too_big)
    {
        if (!ctx->failed) {
            fy_log_error(FY_LOG_ERR, 0, "SSI output bigger than %d bytes, "
                         "client %s", FY_HTTP_SSI_MAX,
                         ctx->r->hc->addr_text);
        }
        ctx->failed = 1;
    }
}

/* A command failed: logged, and its place shows errmsg. */
static void
fy_ssi_error(fy_ssi_ctx_t *ctx, const char *why)
{
    fy_log_error(FY_LOG_ERR, 0, "SSI command \"%.*s\": %s, client %s, "
                 "request \"%.*s\"", (int) ctx->ps.command_len,
                 ctx->ps.command, why, ctx->r->hc->addr_text,
                 (int) ctx->r->path.len, ctx->r->path.data);
    if (!ctx->conf->silent_errors && !(ctx->in_if && !ctx->if_on)) {
        fy_ssi_out(ctx, ctx->errmsg.data, ctx->errmsg.len);
    }
}

static fy_str_t *
fy_ssi_param(fy_ssi_ctx_t *ctx, const char *name, fy_str_t *v)
{
    fy_http_ssi_param_t  *p = fy_http_ssi_param(&ctx->ps, name);

    if (p == NULL) {
        return NULL;
    }
    v->data = p->value;
    v->len = p->value_len;
    return v;
}

/* Only these parameters, each at most once. */
static int
fy_ssi_params_ok(fy_ssi_ctx_t *ctx, const char *const *names)
{
    unsigned  i, j, k;

    for (i = 0; i < ctx->ps.nparams; i++) {
        for (k = 0; names[k]; k++) {
            if (strlen(names[k]) == ctx->ps.params[i].name_len
                && memcmp(names[k], ctx->ps.params[i].name,
                          ctx->ps.params[i].name_len) == 0)
            {
                break;
            }
        }
        if (names[k] == NULL) {
            return 0;
        }
        for (j = 0; j < i; j++) {
            if (ctx->ps.params[j].name_len == ctx->ps.params[i].name_len
                && memcmp(ctx->ps.params[j].name, ctx->ps.params[i].name,
                          ctx->ps.params[i].name_len) == 0)
            {
                return 0;
            }
        }
    }
    return 1;
}

static fy_ssi_var_t *
fy_ssi_var_slot(fy_ssi_ctx_t *ctx, const u_char *name, size_t len)
{
    fy_ssi_var_t  *v;
    unsigned       i;

    for (i = 0; i < ctx->sh->vars.nelts; i++) {
        v = fy_array_elt(&ctx->sh->vars, fy_ssi_var_t, i);
        if (v->name.len == len && memcmp(v->name.data, name, len) == 0) {
            return v;
        }
    }
    return NULL;
}

/* $date_local, $date_gmt in the current timefmt. */
static int
fy_ssi_date(fy_ssi_ctx_t *ctx, int gmt, fy_str_t *v)
{
    char       fmt[257];
    struct tm  tm;
    time_t     now = time(NULL);
    size_t     n;

    v->data = fy_palloc(ctx->r->pool, 256);
    if (v->data == NULL || ctx->timefmt.len >= sizeof(fmt)) {
        return 0;
    }
    memcpy(fmt, ctx->timefmt.data, ctx->timefmt.len);
    fmt[ctx->timefmt.len] = '\0';
    if (gmt) {
        gmtime_r(&now, &tm);
    } else {
        localtime_r(&now, &tm);
    }
    n = strftime((char *) v->data, 256, fmt, &tm);
    v->len = n;
    return 1;
}

/* A variable's value: an SSI variable, $0..$9 of the last "if" regex,
 * $date_local / $date_gmt, then ferry's variables.  0: not found. */
static int
fy_ssi_var(fy_ssi_ctx_t *ctx, const u_char *name, size_t len, fy_str_t *v)
{
    const fy_http_variable_t   *var;
    const fy_http_pvariable_t  *pvar;
    fy_ssi_var_t               *sv;
    fy_str_t                    arg;
    size_t                      n;

    sv = fy_ssi_var_slot(ctx, name, len);
    if (sv) {
        *v = sv->value;
        return 1;
    }
    if (len == 1 && name[0] >= '0' && name[0] <= '9' && ctx->sh->ncaps) {
        if ((unsigned) (name[0] - '0') >= ctx->sh->ncaps) {
            return 0;
        }
        *v = ctx->sh->caps[name[0] - '0'];
        return 1;
    }
    if (len == 10 && memcmp(name, "date_local", 10) == 0) {
        return fy_ssi_date(ctx, 0, v);
    }
    if (len == 8 && memcmp(name, "date_gmt", 8) == 0) {
        return fy_ssi_date(ctx, 1, v);
    }
    var = fy_http_variable_find(name, len);
    pvar = var ? NULL : fy_http_pvariable_find(name, len, &arg);
    if (var == NULL && (pvar == NULL || pvar->get == NULL)) {
        return 0;
    }
    n = var ? var->get(ctx->r, NULL, 0) : pvar->get(ctx->r, &arg, NULL, 0);
    if (n == 0) {
        return 0;               /* empty: as nginx's "not found" */
    }
    v->data = fy_palloc(ctx->r->pool, n);
    if (v->data == NULL) {
        return 0;
    }
    v->len = var ? var->get(ctx->r, v->data, n)
                 : pvar->get(ctx->r, &arg, v->data, n);
    return 1;
}

static int
fy_ssi_name_char(u_char ch)
{
    return (ch >= 'a' && ch <= 'z') || (ch >= 'A' && ch <= 'Z')
           || (ch >= '0' && ch <= '9') || ch == '_';
}

/* text with $name and ${name} replaced ("\$" is a "$"); an unknown
 * variable is empty.  FY_ERROR: "${" without "}", no memory. */
static int
fy_ssi_eval(fy_ssi_ctx_t *ctx, const u_char *s, size_t len, fy_str_t *out)
{
    fy_http_capture_t  b = { NULL, 0, 0, FY_HTTP_SSI_MAX, { 0, NULL }, 0 };
    const u_char      *e = s + len, *name;
    size_t             nlen;
    fy_str_t           v;
    int                rc = FY_OK;

    if (memchr(s, '$', len) == NULL && memchr(s, '\\', len) == NULL) {
        out->data = (u_char *) s;
        out->len = len;
        return FY_OK;
    }
    while (s < e && rc == FY_OK) {
        if (*s == '\\' && s + 1 < e && s[1] == '$') {
            rc = fy_http_capture_add(ctx->r->pool, &b, s + 1, 1);
            s += 2;
            continue;
        }
        if (*s != '$') {
            rc = fy_http_capture_add(ctx->r->pool, &b, s, 1);
            s++;
            continue;
        }
        s++;
        if (s < e && *s == '{') {
            name = ++s;
            while (s < e && *s != '}') {
                s++;
            }
            if (s == e) {
                return FY_ERROR;
            }
            nlen = s++ - name;
        } else {
            name = s;
            while (s < e && fy_ssi_name_char(*s)) {
                s++;
            }
            nlen = s - name;
            if (nlen == 0) {
                rc = fy_http_capture_add(ctx->r->pool, &b,
                                         (const u_char *) "$", 1);
                continue;
            }
        }
        if (fy_ssi_var(ctx, name, nlen, &v)) {
            rc = fy_http_capture_add(ctx->r->pool, &b, v.data, v.len);
        }
    }
    if (rc != FY_OK || b.too_big) {
        return FY_ERROR;
    }
    out->data = b.data ? b.data : (u_char *) "";
    out->len = b.len;
    return FY_OK;
}


/* echo var="" [encoding="none|url|entity"] [default=""] */
static void
fy_ssi_echo(fy_ssi_ctx_t *ctx)
{
    static const char *const  names[] = { "var", "encoding", "default",
                                          NULL };
    static const char         hex[] = "0123456789ABCDEF";
    fy_str_t                  name, enc, v;
    size_t                    i;
    u_char                    ch, pct[3];
    int                       how = 2;

    if (!fy_ssi_params_ok(ctx, names) || !fy_ssi_param(ctx, "var", &name)) {
        fy_ssi_error(ctx, "invalid parameters");
        return;
    }
    if (fy_ssi_param(ctx, "encoding", &enc)) {
        if (enc.len == 4 && memcmp(enc.data, "none", 4) == 0) {
            how = 0;
        } else if (enc.len == 3 && memcmp(enc.data, "url", 3) == 0) {
            how = 1;
        } else if (enc.len == 6 && memcmp(enc.data, "entity", 6) == 0) {
            how = 2;
        } else {
            fy_ssi_error(ctx, "unknown encoding");
            return;
        }
    }
    if (!fy_ssi_var(ctx, name.data, name.len, &v)) {
        if (!fy_ssi_param(ctx, "default", &v)) {
            fy_str_set(&v, "(none)");
        }
    }
    if (how == 0) {
        fy_ssi_out(ctx, v.data, v.len);
        return;
    }
    for (i = 0; i < v.len; i++) {
        ch = v.data[i];
        if (how == 2) {
            switch (ch) {
            case '<': fy_ssi_out(ctx, "&lt;", 4); continue;
            case '>': fy_ssi_out(ctx, "&gt;", 4); continue;
            case '&': fy_ssi_out(ctx, "&amp;", 5); continue;
            case '"': fy_ssi_out(ctx, "&quot;", 6); continue;
            }
        } else if (ch <= ' ' || ch >= 0x7f || ch == '"' || ch == '#'
                   || ch == '%' || ch == '\'' || ch == '<' || ch == '>'
                   || ch == '?')
        {
            /* as nginx's URI escaping for HTML */
            pct[0] = '%';
            pct[1] = (u_char) hex[ch >> 4];
            pct[2] = (u_char) hex[ch & 15];
            fy_ssi_out(ctx, pct, 3);
            continue;
        }
        fy_ssi_out(ctx, &ch, 1);
    }
}

static int
fy_ssi_set_var(fy_ssi_ctx_t *ctx, const fy_str_t *name, const fy_str_t *v)
{
    fy_ssi_var_t  *sv;
    u_char        *d;

    sv = fy_ssi_var_slot(ctx, name->data, name->len);
    if (sv == NULL) {
        sv = fy_array_push(&ctx->sh->vars);
        d = fy_palloc(ctx->r->pool, name->len);
        if (sv == NULL || d == NULL) {
            return FY_ERROR;
        }
        memcpy(d, name->data, name->len);
        sv->name.data = d;
        sv->name.len = name->len;
    }
    d = fy_palloc(ctx->r->pool, v->len + 1);
    if (d == NULL) {
        return FY_ERROR;
    }
    memcpy(d, v->data, v->len);
    sv->value.data = d;
    sv->value.len = v->len;
    return FY_OK;
}

/* set var="" value="" */
static void
fy_ssi_set(fy_ssi_ctx_t *ctx)
{
    static const char *const  names[] = { "var", "value", NULL };
    fy_str_t                  name, raw, v;

    if (!fy_ssi_params_ok(ctx, names) || !fy_ssi_param(ctx, "var", &name)
        || !fy_ssi_param(ctx, "value", &raw))
    {
        fy_ssi_error(ctx, "invalid parameters");
        return;
    }
    if (fy_ssi_eval(ctx, raw.data, raw.len, &v) != FY_OK
        || fy_ssi_set_var(ctx, &name, &v) != FY_OK)
    {
        fy_ssi_error(ctx, "invalid value");
    }
}

/* config [errmsg=""] [timefmt=""] */
static void
fy_ssi_config(fy_ssi_ctx_t *ctx)
{
    static const char *const  names[] = { "errmsg", "timefmt", NULL };
    fy_str_t                  v;
    u_char                   *d;

    if (!fy_ssi_params_ok(ctx, names)) {
        fy_ssi_error(ctx, "invalid parameters");
        return;
    }
    /* parameter values live in the parser until the next command */
    if (fy_ssi_param(ctx, "errmsg", &v)) {
        d = fy_palloc(ctx->r->pool, v.len + 1);
        if (d) {
            memcpy(d, v.data, v.len);
            ctx->errmsg.data = d;
            ctx->errmsg.len = v.len;
        }
    }
    if (fy_ssi_param(ctx, "timefmt", &v)) {
        d = fy_palloc(ctx->r->pool, v.len + 1);
        if (d) {
            memcpy(d, v.data, v.len);
            ctx->timefmt.data = d;
            ctx->timefmt.len = v.len;
        }
    }
}

/*
 * expr="": "$a" (true when not empty), "$a = text", "$a != text",
 * "$a = /regex/" (captures into $0..$9), "$a != /regex/".  -1: invalid.
 */
static int
fy_ssi_expr(fy_ssi_ctx_t *ctx, const fy_str_t *expr)
{
    const u_char       *p = expr->data, *e = p + expr->len, *ls, *le;
    fy_str_t            left, right;
    int                 neg = 0, eq, rc, err;
    PCRE2_SIZE          erroff, *ov;
    pcre2_code         *re;
    pcre2_match_data   *md;
    unsigned            i;

    while (p < e && *p == ' ') {
        p++;
    }
    ls = p;
    while (p < e && *p != ' ') {
        p++;
    }
    le = p;
    while (p < e && *p == ' ') {
        p++;
    }
    if (ls == le || fy_ssi_eval(ctx, ls, le - ls, &left) != FY_OK) {
        return -1;
    }
    if (p == e) {
        return left.len != 0;
    }
    if (*p == '!') {
        neg = 1;
        p++;
    }
    if (p == e || *p != '=') {
        return -1;
    }
    p++;
    while (p < e && *p == ' ') {
        p++;
    }
    while (e > p && e[-1] == ' ') {
        e--;
    }
    if (e - p >= 2 && *p == '/' && e[-1] == '/') {
        re = pcre2_compile((PCRE2_SPTR) p + 1, (PCRE2_SIZE) (e - p - 2), 0,
                           &err, &erroff, NULL);
        if (re == NULL) {
            return -1;
        }
        md = pcre2_match_data_create_from_pattern(re, NULL);
        if (md == NULL) {
            pcre2_code_free(re);
            return -1;
        }
        rc = pcre2_match(re, (PCRE2_SPTR) left.data, left.len, 0, 0, md,
                         NULL);
        eq = rc > 0;
        if (eq) {
            ov = pcre2_get_ovector_pointer(md);
            ctx->sh->ncaps = (unsigned) fy_min(rc, FY_SSI_NCAPS);
            for (i = 0; i < ctx->sh->ncaps; i++) {
                if (ov[2 * i] == PCRE2_UNSET) {
                    ctx->sh->caps[i].len = 0;
                    continue;
                }
                ctx->sh->caps[i].data = left.data + ov[2 * i];
                ctx->sh->caps[i].len = ov[2 * i + 1] - ov[2 * i];
            }
        }
        pcre2_match_data_free(md);
        pcre2_code_free(re);
    } else {
        if (fy_ssi_eval(ctx, p, e - p, &right) != FY_OK) {
            return -1;
        }
        eq = left.len == right.len
             && memcmp(left.data, right.data, left.len) == 0;
    }
    return neg ? !eq : eq;
}

/* if / elif expr="", else, endif: one level, as nginx. */
static void
fy_ssi_cond(fy_ssi_ctx_t *ctx, int which)
{
    static const char *const  expr_only[] = { "expr", NULL };
    static const char *const  none[] = { NULL };
    fy_str_t                  expr;
    int                       v = 0;

    if (which <= 1) {
        if (!fy_ssi_params_ok(ctx, expr_only)
            || !fy_ssi_param(ctx, "expr", &expr))
        {
            fy_ssi_error(ctx, "invalid parameters");
            return;
        }
    } else if (!fy_ssi_params_ok(ctx, none)) {
        fy_ssi_error(ctx, "invalid parameters");
        return;
    }
    if (which == 0 ? ctx->in_if : !ctx->in_if) {
        fy_ssi_error(ctx, which == 0 ? "\"if\" inside \"if\""
                                     : "no \"if\" before it");
        return;
    }
    if (which <= 1 && !(which == 1 && ctx->if_taken)) {
        v = fy_ssi_expr(ctx, &expr);
        if (v < 0) {
            ctx->if_on = 1;     /* the message shows */
            fy_ssi_error(ctx, "invalid expression");
            v = 0;
        }
    }
    switch (which) {
    case 0:                                     /* if */
        ctx->in_if = 1;
        ctx->if_on = ctx->if_taken = (unsigned) v;
        break;
    case 1:                                     /* elif */
        ctx->if_on = !ctx->if_taken && v;
        ctx->if_taken |= ctx->if_on;
        break;
    case 2:                                     /* else */
        ctx->if_on = !ctx->if_taken;
        ctx->if_taken = 1;
        break;
    default:                                    /* endif */
        ctx->in_if = 0;
        ctx->if_on = 1;
    }
}

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
    fy_str_set(&ctx->timefmt, fy_ssi_timefmt);
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
