/*
 * fy_http_rewrite_conf.c -- reading nginx's rewrite module directives
 * into a script (fy_http_rewrite.h) per server and per location:
 *
 *   rewrite REGEX REPLACEMENT [last|break|redirect|permanent];
 *   return CODE [TEXT]; return CODE URL; return URL;
 *   set $VARIABLE VALUE;
 *   if (CONDITION) { ... }
 *   break;
 *   rewrite_log on|off;  uninitialized_variable_warn on|off;
 *
 * The first five are operations run in the order written
 * (fy_http_rewrite.c).  Inside an "if" block of a server only rewrite,
 * return, set and break are allowed (the context FY_CONF_IF); an "if"
 * of a location is a nameless nested location as in nginx
 * (fy_http_location_if, the context FY_CONF_LIF), which also takes
 * the directives nginx documents for "if in location".  Its rewrite
 * directives still go into the location's script, as the if's block.
 * Nested "if" is refused, as by nginx.
 */
#include "fy_core.h"
#include "fy_http.h"
#include "fy_http_rewrite.h"

#include <ctype.h>

static const char *fy_http_rewrite(fy_conf_t *cf, const fy_command_t *cmd,
    void *conf);
static const char *fy_http_rw_return(fy_conf_t *cf, const fy_command_t *cmd,
    void *conf);
static const char *fy_http_rw_set(fy_conf_t *cf, const fy_command_t *cmd,
    void *conf);
static const char *fy_http_rw_if(fy_conf_t *cf, const fy_command_t *cmd,
    void *conf);
static const char *fy_http_rw_break(fy_conf_t *cf, const fy_command_t *cmd,
    void *conf);

#define FY_RW_CTX  (FY_CONF_SRV | FY_CONF_LOC | FY_CONF_IF | FY_CONF_LIF)

const fy_command_t  fy_http_rewrite_commands[] = {

    { "rewrite", FY_RW_CTX, 0, 2, 3, fy_http_rewrite,
      FY_CONF_LOC_OFF, 0, NULL },

    { "return", FY_RW_CTX, 0, 1, 2, fy_http_rw_return,
      FY_CONF_LOC_OFF, 0, NULL },

    { "set", FY_RW_CTX, 0, 2, 2, fy_http_rw_set,
      FY_CONF_LOC_OFF, 0, NULL },

    { "break", FY_RW_CTX, 0, 0, 0, fy_http_rw_break,
      FY_CONF_LOC_OFF, 0, NULL },

    { "if", FY_CONF_SRV | FY_CONF_LOC, FY_CONF_BLOCK, 1, FY_CONF_MANY,
      fy_http_rw_if, FY_CONF_LOC_OFF, 0, NULL },

    { "rewrite_log", FY_CONF_HTTP | FY_CONF_SRV | FY_CONF_LOC, 0, 1, 1,
      fy_conf_set_flag, FY_CONF_LOC_OFF,
      offsetof(fy_http_loc_conf_t, rewrite_log), NULL },

    { "uninitialized_variable_warn", FY_CONF_HTTP | FY_CONF_SRV | FY_CONF_LOC,
      0, 1, 1, fy_conf_set_flag, FY_CONF_LOC_OFF,
      offsetof(fy_http_loc_conf_t, uninitialized_variable_warn), NULL },

    { NULL, 0, 0, 0, 0, NULL, 0, 0, NULL }
};

static fy_http_rw_script_t *
fy_http_rw_script_create(fy_conf_t *cf)
{
    fy_http_rw_script_t  *s = fy_pcalloc(cf->pool, sizeof(*s));

    if (s) {
        fy_array_init(&s->ops, cf->pool, 4, sizeof(fy_http_rw_op_t));
    }
    return s;
}

/* A new operation at the end of the script being read: the if block's
 * while inside one, else the level's.  NULL: no memory (logged). */
static fy_http_rw_op_t *
fy_http_rw_add(fy_conf_t *cf, fy_http_loc_conf_t *lcf, unsigned type)
{
    fy_http_rw_op_t  *op;

    if (lcf->rw_cur == NULL) {
        if (lcf->rewrite == NULL) {
            lcf->rewrite = fy_http_rw_script_create(cf);
        }
        lcf->rw_cur = lcf->rewrite;
    }
    op = lcf->rw_cur ? fy_array_push(&lcf->rw_cur->ops) : NULL;
    if (op == NULL) {
        fy_conf_error(cf, "cannot allocate memory");
        return NULL;
    }
    memset(op, 0, sizeof(*op));
    op->type = type;
    return op;
}

static int
fy_http_rw_absolute(const fy_str_t *s)
{
    return (s->len >= 7 && strncmp((char *) s->data, "http://", 7) == 0)
           || (s->len >= 8 && strncmp((char *) s->data, "https://", 8) == 0)
           || (s->len >= 7 && strncmp((char *) s->data, "$scheme", 7) == 0);
}

/* rewrite REGEX REPLACEMENT [FLAG] */
static const char *
fy_http_rewrite(fy_conf_t *cf, const fy_command_t *cmd, void *conf)
{
    static const fy_conf_enum_t  flags[] = {
        { "last",      FY_RW_LAST },
        { "break",     FY_RW_BRK },
        { "redirect",  FY_RW_REDIRECT },
        { "permanent", FY_RW_PERMANENT },
        { NULL, 0 }
    };
    const fy_conf_enum_t  *e = NULL;
    fy_http_rw_op_t       *op;
    fy_str_t               repl = cf->args[2];

    fy_unused(cmd);

    if (cf->nargs == 4) {
        for (e = flags; e->name; e++) {
            if (fy_str_eq(&cf->args[3], e->name)) {
                break;
            }
        }
        if (e->name == NULL) {
            fy_conf_error(cf, "invalid parameter \"%s\"", cf->args[3].data);
            return FY_CONF_ERROR;
        }
    }

    op = fy_http_rw_add(cf, conf, FY_RW_REWRITE);
    if (op == NULL) {
        return FY_CONF_ERROR;
    }
    op->flag = e ? (unsigned) e->value : FY_RW_NONE;
    op->source = cf->args[1];
    /* the regex first: its named groups are variables of the
     * replacement */
    op->regex = fy_http_regex_compile(cf, &cf->args[1], 0);
    if (op->regex == NULL) {
        return FY_CONF_ERROR;
    }
    op->absolute = fy_http_rw_absolute(&repl);
    if (repl.len > 1 && repl.data[repl.len - 1] == '?') {
        /* nginx: a "?" at the end drops the request's arguments */
        op->noargs = 1;
        repl.len--;
    }
    op->value = fy_http_cv_compile(cf, &repl);
    return op->value ? FY_CONF_OK : FY_CONF_ERROR;
}

static int
fy_http_rw_is_redirect(int code)
{
    return code == 301 || code == 302 || code == 303 || code == 307
           || code == 308;
}

/* return CODE [TEXT] | CODE URL | URL */
static const char *
fy_http_rw_return(fy_conf_t *cf, const fy_command_t *cmd, void *conf)
{
    fy_http_rw_op_t  *op;
    fy_str_t         *text = NULL;
    int64_t           code;

    fy_unused(cmd);

    code = fy_atoi(cf->args[1].data, cf->args[1].len);
    if (code == -1) {
        if (cf->nargs != 2 || !fy_http_rw_absolute(&cf->args[1])) {
            fy_conf_error(cf, "invalid return code \"%s\"", cf->args[1].data);
            return FY_CONF_ERROR;
        }
        code = 302;
        text = &cf->args[1];
    } else if (code > 999) {
        fy_conf_error(cf, "invalid return code \"%s\"", cf->args[1].data);
        return FY_CONF_ERROR;
    } else if (cf->nargs == 3) {
        text = &cf->args[2];
    }
    if (text == NULL && fy_http_rw_is_redirect((int) code)) {
        fy_conf_error(cf, "redirect code %d needs a URL", (int) code);
        return FY_CONF_ERROR;
    }

    op = fy_http_rw_add(cf, conf, FY_RW_RETURN);
    if (op == NULL) {
        return FY_CONF_ERROR;
    }
    op->code = (int) code;
    if (text) {
        op->value = fy_http_cv_compile(cf, text);
        if (op->value == NULL) {
            return FY_CONF_ERROR;
        }
    }
    return FY_CONF_OK;
}

/* set $VARIABLE VALUE: a variable of its own (shared by every level,
 * as nginx's), a map's, or $args */
static const char *
fy_http_rw_set(fy_conf_t *cf, const fy_command_t *cmd, void *conf)
{
    fy_http_rw_op_t  *op;
    fy_str_t          name = cf->args[1];
    size_t            i;

    fy_unused(cmd);

    if (name.len < 2 || name.data[0] != '$') {
        fy_conf_error(cf, "invalid variable name \"%s\"", name.data);
        return FY_CONF_ERROR;
    }
    name.data++;
    name.len--;
    for (i = 0; i < name.len; i++) {
        if (!(isalnum(name.data[i]) || name.data[i] == '_')) {
            fy_conf_error(cf, "invalid variable name \"%s\"", cf->args[1].data);
            return FY_CONF_ERROR;
        }
    }

    op = fy_http_rw_add(cf, conf, FY_RW_SET);
    if (op == NULL) {
        return FY_CONF_ERROR;
    }
    if (fy_str_eq(&name, "args")) {
        op->set_args = 1;           /* nginx's changeable built-ins */
    } else if (fy_str_eq(&name, "limit_rate")) {
        op->set_limit_rate = 1;     /* fy_http_limit_rate.c */
    } else if (fy_str_eq(&name, "uid_reset")) {
        op->set_uid_reset = 1;      /* fy_http_userid.c */
    } else if (fy_http_variable_find(name.data, name.len)
               || fy_http_regex_variable(cf, name.data, name.len)
               || (name.len > 5 && strncmp((char *) name.data, "http_", 5) == 0)
               || (name.len > 4 && strncmp((char *) name.data, "arg_", 4) == 0)
               || (name.len > 7
                   && strncmp((char *) name.data, "cookie_", 7) == 0))
    {
        fy_conf_error(cf, "the duplicate \"%.*s\" variable", (int) name.len,
                      name.data);
        return FY_CONF_ERROR;
    } else {
        op->var = fy_http_map_assignable(cf, name.data, name.len);
        if (op->var == NULL) {
            fy_conf_error(cf, "cannot allocate memory");
            return FY_CONF_ERROR;
        }
    }
    op->value = fy_http_cv_compile(cf, &cf->args[2]);
    return op->value ? FY_CONF_OK : FY_CONF_ERROR;
}

static const char *
fy_http_rw_break(fy_conf_t *cf, const fy_command_t *cmd, void *conf)
{
    fy_unused(cmd);

    return fy_http_rw_add(cf, conf, FY_RW_BREAK) ? FY_CONF_OK
                                                 : FY_CONF_ERROR;
}

/* The condition of "if (...)" as nginx reads it: the words between the
 * parentheses (which may be words of their own or stuck to the first
 * and last).  FY_OK or FY_ERROR (logged). */
static int
fy_http_rw_condition(fy_conf_t *cf, fy_http_rw_op_t *op)
{
    static const struct {
        const char  *name;
        unsigned     flag;
    } files[] = {
        { "-f", FY_RW_IF_FILE }, { "-d", FY_RW_IF_DIR },
        { "-e", FY_RW_IF_EXISTS }, { "-x", FY_RW_IF_EXEC }, { NULL, 0 }
    };
    fy_str_t   w[4], *first = &cf->args[1], *last = &cf->args[cf->nargs - 1];
    fy_str_t   op_name;
    unsigned   n = 0, i;

    if (first->len == 0 || first->data[0] != '(') {
        fy_conf_error(cf, "invalid condition \"%s\"", first->data);
        return FY_ERROR;
    }
    if (last->len == 0 || last->data[last->len - 1] != ')') {
        fy_conf_error(cf, "invalid condition \"%s\"", last->data);
        return FY_ERROR;
    }
    for (i = 1; i < cf->nargs; i++) {
        fy_str_t  a = cf->args[i];

        if (i == 1) {
            a.data++;
            a.len--;
        }
        if (i == cf->nargs - 1) {
            a.len--;
        }
        if (a.len == 0 && (i == 1 || i == cf->nargs - 1)) {
            continue;           /* "(" or ")" alone */
        }
        if (n == 3) {
            fy_conf_error(cf, "invalid condition \"%s\"", cf->args[i].data);
            return FY_ERROR;
        }
        w[n++] = a;
    }
    if (n == 0) {
        fy_conf_error(cf, "invalid condition \"%s\"", first->data);
        return FY_ERROR;
    }

    if (n == 1 && w[0].len > 1 && w[0].data[0] == '$') {
        op->flag = FY_RW_IF_VAR;
        op->value = fy_http_cv_compile(cf, &w[0]);
        return op->value ? FY_OK : FY_ERROR;
    }

    if (n == 2) {
        op_name = w[0];
        if (op_name.len == 3 && op_name.data[0] == '!') {
            op->negate = 1;
            op_name.data++;
            op_name.len--;
        }
        for (i = 0; files[i].name; i++) {
            if (fy_str_eq(&op_name, files[i].name)) {
                op->flag = files[i].flag;
                op->value = fy_http_cv_compile(cf, &w[1]);
                return op->value ? FY_OK : FY_ERROR;
            }
        }
        fy_conf_error(cf, "invalid condition \"%.*s\"", (int) w[0].len,
                      w[0].data);
        return FY_ERROR;
    }

    if (n == 3 && w[0].len > 1 && w[0].data[0] == '$') {
        op->value = fy_http_cv_compile(cf, &w[0]);
        if (op->value == NULL) {
            return FY_ERROR;
        }
        op_name = w[1];
        if (op_name.len > 1 && op_name.data[0] == '!') {
            op->negate = 1;
            op_name.data++;
            op_name.len--;
        }
        if (fy_str_eq(&op_name, "=")) {
            op->flag = FY_RW_IF_EQ;
            op->operand = fy_http_cv_compile(cf, &w[2]);
            return op->operand ? FY_OK : FY_ERROR;
        }
        if (fy_str_eq(&op_name, "~") || fy_str_eq(&op_name, "~*")) {
            op->flag = FY_RW_IF_REGEX;
            op->source = w[2];
            op->source.data = (u_char *) fy_pstrndup(cf->pool, w[2].data,
                                                     w[2].len);
            if (op->source.data == NULL) {
                fy_conf_error(cf, "cannot allocate memory");
                return FY_ERROR;
            }
            op->regex = fy_http_regex_compile(cf, &op->source,
                                              op_name.len == 2);
            return op->regex ? FY_OK : FY_ERROR;
        }
        fy_conf_error(cf, "unexpected \"%.*s\" in condition", (int) w[1].len,
                      w[1].data);
        return FY_ERROR;
    }

    fy_conf_error(cf, "invalid condition \"%.*s\"", (int) w[0].len,
                  w[0].data);
    return FY_ERROR;
}

/* if (CONDITION) { ... }: in a server, rewrite, return, set and break;
 * in a location, also the directives nginx allows "if in location" */
static const char *
fy_http_rw_if(fy_conf_t *cf, const fy_command_t *cmd, void *conf)
{
    fy_http_loc_conf_t   *lcf = conf;
    fy_http_rw_script_t  *outer;
    fy_http_rw_op_t      *op;
    unsigned              saved = cf->ctx_type;
    int                   rc;

    fy_unused(cmd);

    op = fy_http_rw_add(cf, lcf, FY_RW_IF);
    if (op == NULL || fy_http_rw_condition(cf, op) != FY_OK) {
        return FY_CONF_ERROR;
    }
    op->block = fy_http_rw_script_create(cf);
    if (op->block == NULL) {
        return "cannot allocate memory";
    }

    if (cf->ctx_type == FY_CONF_LOC) {
        /* nginx's "if in location": a conf of its own (FY_CONF_LIF) */
        return fy_http_location_if(cf, lcf, op->block, &op->loc);
    }

    /* in a server: rewrite directives only (FY_CONF_IF), as nginx */
    outer = lcf->rw_cur;
    lcf->rw_cur = op->block;
    cf->ctx_type = FY_CONF_IF;
    rc = fy_conf_parse(cf, NULL);
    cf->ctx_type = saved;
    lcf->rw_cur = outer;

    return rc == FY_OK ? FY_CONF_OK : FY_CONF_ERROR;
}
