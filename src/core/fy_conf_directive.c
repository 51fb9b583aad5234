/*
 * fy_conf_directive.c -- the directives of a file or a block, one
 * after the other: the tokenizer's words (fy_conf_lex.c) become
 * cf->args, the directive's row is found in cf->tables, where it
 * stands and how many arguments it has are checked, and the row's
 * setter runs.  "include" is the one directive the reader runs
 * itself (fy_conf_file.c), since it is about files, not about any
 * module's configuration.
 */
#include "fy_core.h"
#include "fy_conf_file.h"
#include "fy_conf_file_int.h"


static int
fy_conf_run(fy_conf_t *cf, const fy_command_t *cmd, int last)
{
    const char  *rv;
    unsigned     n;
    void        *conf;

    if (!(cmd->flags & FY_CONF_BLOCK) && last != FY_CONF_TOK_END) {
        fy_conf_error(cf, "directive \"%s\" is not terminated by \";\"",
                      cmd->name);
        return FY_ERROR;
    }

    if ((cmd->flags & FY_CONF_BLOCK) && last != FY_CONF_TOK_BLOCK_START) {
        fy_conf_error(cf, "directive \"%s\" has no opening \"{\"",
                      cmd->name);
        return FY_ERROR;
    }

    n = cf->nargs - 1;

    if (n < cmd->min_args
        || (cmd->max_args != FY_CONF_MANY && n > cmd->max_args))
    {
        fy_conf_error(cf, "invalid number of arguments in \"%s\" directive",
                      cmd->name);
        return FY_ERROR;
    }

    conf = cf->ctx ? *(void **) ((char *) cf->ctx + cmd->conf) : NULL;

    rv = cmd->set(cf, cmd, conf);

    if (rv == FY_CONF_OK) {
        return FY_OK;
    }

    if (rv != FY_CONF_ERROR) {
        fy_conf_error(cf, "\"%s\" directive %s", cmd->name, rv);
    }

    return FY_ERROR;
}


/* Find the row for cf->args[0] and run it; "last" is what ended it. */
static int
fy_conf_handler(fy_conf_t *cf, int last, const fy_conf_words_t *w)
{
    const fy_command_t *const  *t;
    const fy_command_t         *cmd;
    fy_str_t                   *name;
    int                         found;

    /* A fresh array per directive: setters may keep cf->args. */
    cf->args = fy_palloc(cf->pool, w->n * sizeof(fy_str_t));
    if (cf->args == NULL) {
        fy_conf_error(cf, "out of memory");
        return FY_ERROR;
    }

    memcpy(cf->args, w->elts, w->n * sizeof(fy_str_t));
    cf->nargs = w->n;
    name = &cf->args[0];

    if (fy_str_eq(name, "include")) {
        return fy_conf_include(cf, last);
    }

    if (cf->handler) {
        if (last != FY_CONF_TOK_END) {
            fy_conf_error(cf, "\"%.*s\" is not terminated by \";\"",
                          (int) name->len, name->data);
            return FY_ERROR;
        }
        return cf->handler(cf);
    }

    found = 0;

    for (t = cf->tables; t && *t; t++) {
        for (cmd = *t; cmd->name; cmd++) {
            if (!fy_str_eq(name, cmd->name)) {
                continue;
            }

            /* The same name may have other rows for other contexts. */
            found = 1;

            if (cmd->contexts & cf->ctx_type) {
                return fy_conf_run(cf, cmd, last);
            }
        }
    }

    if (found) {
        fy_conf_error(cf, "\"%.*s\" directive is not allowed here",
                      (int) name->len, name->data);

    } else {
        fy_conf_error(cf, "unknown directive \"%.*s\"",
                      (int) name->len, name->data);
    }

    return FY_ERROR;
}


int
fy_conf_parse_body(fy_conf_t *cf, int mode)
{
    fy_conf_words_t  w;
    int              rc;

    memset(&w, 0, sizeof(w));

    for ( ;; ) {
        rc = fy_conf_read_token(cf, &w);

        switch (rc) {

        case FY_CONF_TOK_ERROR:
            return FY_ERROR;

        case FY_CONF_TOK_BLOCK_DONE:
            if (mode != FY_CONF_PARSE_BLOCK) {
                fy_conf_error(cf, "unexpected \"}\"");
                return FY_ERROR;
            }

            return FY_OK;

        case FY_CONF_TOK_FILE_DONE:
            if (mode == FY_CONF_PARSE_BLOCK) {
                fy_conf_error(cf, "unexpected end of file, expecting \"}\"");
                return FY_ERROR;
            }

            return FY_OK;

        default:
            if (fy_conf_handler(cf, rc, &w) != FY_OK) {
                return FY_ERROR;
            }
        }
    }
}
