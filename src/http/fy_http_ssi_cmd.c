/*
 * fy_http_ssi_cmd.c -- the SSI commands that work on the document's
 * context alone: echo (with its encodings), set, config, if / elif /
 * else / endif with nginx's expressions, and the variables they read
 * ($name and ${name} in values: SSI variables, an "if" regex's
 * captures, $date_local, $date_gmt, then ferry's variables).  The loop
 * and include are fy_http_ssi_exec.c.
 */
#include "fy_core.h"
#include "fy_http.h"
#include "fy_http_ssi_exec.h"

#include <pcre2.h>
#include <time.h>

void
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
void
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

fy_str_t *
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
int
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

/* Now (the event loop's second, so that a variable's two reads, for
 * its length and its bytes, agree), formatted by fmt (fmt_len bytes)
 * into out (256 bytes), local or GMT: the length, 0 when it did not
 * fit. */
static size_t
fy_ssi_date_text(const u_char *fmt, size_t fmt_len, int gmt, u_char *out)
{
    char       f[257];
    struct tm  tm;
    time_t     now = (time_t) (fy_wall_msec / 1000);

    if (fmt_len >= sizeof(f)) {
        return 0;
    }
    memcpy(f, fmt, fmt_len);
    f[fmt_len] = '\0';
    if (gmt) {
        gmtime_r(&now, &tm);
    } else {
        localtime_r(&now, &tm);
    }
    return strftime((char *) out, 256, f, &tm);
}

/* $date_local, $date_gmt in the current timefmt. */
static int
fy_ssi_date(fy_ssi_ctx_t *ctx, int gmt, fy_str_t *v)
{
    v->data = fy_palloc(ctx->r->pool, 256);
    if (v->data == NULL) {
        return 0;
    }
    v->len = fy_ssi_date_text(ctx->timefmt.data, ctx->timefmt.len, gmt,
                              v->data);
    return 1;
}

/* The same outside an SSI page: nginx's ssi module defines them for the
 * whole configuration, in its default timefmt. */
static size_t
fy_ssi_date_var(u_char *buf, size_t size, int gmt)
{
    u_char  text[256];
    size_t  n;

    n = fy_ssi_date_text((const u_char *) FY_SSI_TIMEFMT,
                         sizeof(FY_SSI_TIMEFMT) - 1, gmt, text);
    if (buf) {
        memcpy(buf, text, fy_min(n, size));
    }
    return n;
}

size_t
fy_http_ssi_var_date_local(fy_http_request_t *r, u_char *buf, size_t size)
{
    fy_unused(r);
    return fy_ssi_date_var(buf, size, 0);
}

size_t
fy_http_ssi_var_date_gmt(fy_http_request_t *r, u_char *buf, size_t size)
{
    fy_unused(r);
    return fy_ssi_date_var(buf, size, 1);
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
int
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
void
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

int
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
void
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
void
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
void
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

