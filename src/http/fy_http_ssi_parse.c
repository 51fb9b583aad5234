/*
 * fy_http_ssi_parse.c -- the SSI command parser (see fy_http_ssi_parse.h).
 *
 * Byte by byte over a saved state, so a command cut by any number of
 * piece boundaries is read whole.  The grammar is nginx's:
 *
 *   "<!--#" [ws] command { ws name [ws] "=" [ws] quoted-value } [ws] "-->"
 *
 * command and name: letters, digits, "_" (at most 32 bytes); a value in
 * double or single quotes, a backslash taking the quote or a backslash
 * literally (any other byte after it keeps the backslash), at most
 * ssi_value_length bytes; at most 16 parameters.  Anything else makes
 * the command invalid: the rest up to "-->" is skipped and the caller
 * shows the error message in its place, as nginx does.  Text is handed
 * out as runs of the input; only the start of a "<!--#" cut by a piece
 * boundary is held, and handed out again from a constant when it turns
 * out to be text.
 */
#include "fy_core.h"
#include "fy_http_ssi_parse.h"

static const u_char  fy_ssi_open[] = "<!--#";

enum {
    S_TEXT = 0,
    S_OPEN,             /* matched bytes of "<!--#" */
    S_PRECOMMAND,
    S_COMMAND,
    S_PREPARAM,
    S_PARAM,
    S_PREEQUAL,
    S_PREVALUE,
    S_VALUE,
    S_QUOTED,           /* after a backslash in a value */
    S_POSTVALUE,
    S_END1,             /* "-" of "-->" seen */
    S_END2,             /* "--" seen */
    S_SKIP,             /* invalid: up to "-->" */
    S_SKIP1,
    S_SKIP2
};

#define fy_ssi_ws(ch)    ((ch) == ' ' || (ch) == '\t' || (ch) == '\r' \
                          || (ch) == '\n')
#define fy_ssi_word(ch)  (((ch) >= 'a' && (ch) <= 'z')                  \
                          || ((ch) >= 'A' && (ch) <= 'Z')               \
                          || ((ch) >= '0' && (ch) <= '9') || (ch) == '_')

int
fy_http_ssi_parser_init(fy_http_ssi_parser_t *p, fy_pool_t *pool,
                        size_t value_max)
{
    u_char    *store;
    unsigned   i;

    memset(p, 0, sizeof(*p));
    store = fy_palloc(pool, FY_SSI_MAX_PARAMS * (value_max ? value_max : 1));
    if (store == NULL) {
        return FY_ERROR;
    }
    for (i = 0; i < FY_SSI_MAX_PARAMS; i++) {
        p->params[i].value = store + i * value_max;
    }
    p->value_max = value_max;
    return FY_OK;
}

static void
fy_ssi_invalid(fy_http_ssi_parser_t *p, const char *why)
{
    p->error = why;
    p->state = S_SKIP;
}

static void
fy_ssi_store(fy_http_ssi_parser_t *p, u_char ch)
{
    fy_http_ssi_param_t  *pm = &p->params[p->nparams - 1];

    if (pm->value_len == p->value_max) {
        fy_ssi_invalid(p, "too long parameter value");
        return;
    }
    pm->value[pm->value_len++] = ch;
}

int
fy_http_ssi_parse(fy_http_ssi_parser_t *p, const u_char **pos,
                  const u_char *end, const u_char **text, size_t *len)
{
    const u_char         *s = *pos, *lt;
    fy_http_ssi_param_t  *pm;
    u_char                ch;

    while (s < end) {
        if (p->state == S_TEXT) {
            lt = memchr(s, '<', end - s);
            if (lt == NULL) {
                lt = end;
            }
            if (lt > s) {
                *text = s;
                *len = lt - s;
                *pos = lt;
                return FY_SSI_TEXT;
            }
            p->state = S_OPEN;
            p->matched = 1;
            s++;
            continue;
        }

        ch = *s;

        switch (p->state) {

        case S_OPEN:
            if (ch != fy_ssi_open[p->matched]) {
                /* not a command: what was held is text; ch is looked
                 * at again as text (it may be the next "<") */
                *text = fy_ssi_open;
                *len = p->matched;
                p->matched = 0;
                p->state = S_TEXT;
                *pos = s;
                return FY_SSI_TEXT;
            }
            if (++p->matched == sizeof(fy_ssi_open) - 1) {
                p->matched = 0;
                p->command_len = 0;
                p->nparams = 0;
                p->error = NULL;
                p->state = S_PRECOMMAND;
            }
            break;

        case S_PRECOMMAND:
            if (fy_ssi_ws(ch)) {
                break;
            }
            if (!fy_ssi_word(ch)) {
                fy_ssi_invalid(p, "invalid command name");
                continue;       /* the byte may start "-->" */
            }
            p->state = S_COMMAND;
            /* fall through */

        case S_COMMAND:
            if (fy_ssi_word(ch)) {
                if (p->command_len == FY_SSI_COMMAND_LEN) {
                    fy_ssi_invalid(p, "the command name is too long");
                    break;
                }
                p->command[p->command_len++] = ch;
            } else if (fy_ssi_ws(ch)) {
                p->state = S_PREPARAM;
            } else if (ch == '-') {
                p->state = S_END1;
            } else {
                fy_ssi_invalid(p, "invalid command name");
                continue;
            }
            break;

        case S_PREPARAM:
            if (fy_ssi_ws(ch)) {
                break;
            }
            if (ch == '-') {
                p->state = S_END1;
                break;
            }
            if (!fy_ssi_word(ch)) {
                fy_ssi_invalid(p, "invalid parameter name");
                continue;
            }
            if (p->nparams == FY_SSI_MAX_PARAMS) {
                fy_ssi_invalid(p, "too many parameters");
                break;
            }
            pm = &p->params[p->nparams++];
            pm->name_len = 0;
            pm->value_len = 0;
            p->state = S_PARAM;
            /* fall through */

        case S_PARAM:
            pm = &p->params[p->nparams - 1];
            if (fy_ssi_word(ch)) {
                if (pm->name_len == FY_SSI_PARAM_LEN) {
                    fy_ssi_invalid(p, "too long parameter name");
                    break;
                }
                pm->name[pm->name_len++] = ch;
            } else if (ch == '=') {
                p->state = S_PREVALUE;
            } else if (fy_ssi_ws(ch)) {
                p->state = S_PREEQUAL;
            } else {
                fy_ssi_invalid(p, "invalid parameter name");
                continue;
            }
            break;

        case S_PREEQUAL:
            if (ch == '=') {
                p->state = S_PREVALUE;
            } else if (!fy_ssi_ws(ch)) {
                fy_ssi_invalid(p, "\"=\" expected after a parameter name");
                continue;
            }
            break;

        case S_PREVALUE:
            if (ch == '"' || ch == '\'') {
                p->quote = ch;
                p->state = S_VALUE;
            } else if (!fy_ssi_ws(ch)) {
                fy_ssi_invalid(p, "a quoted parameter value expected");
                continue;
            }
            break;

        case S_VALUE:
            if (ch == '\\') {
                p->state = S_QUOTED;
            } else if (ch == p->quote) {
                p->state = S_POSTVALUE;
            } else {
                fy_ssi_store(p, ch);
            }
            break;

        case S_QUOTED:
            p->state = S_VALUE;
            if (ch != p->quote && ch != '\\') {
                fy_ssi_store(p, '\\');
                if (p->state != S_VALUE) {
                    break;
                }
            }
            fy_ssi_store(p, ch);
            break;

        case S_POSTVALUE:
            if (fy_ssi_ws(ch)) {
                p->state = S_PREPARAM;
            } else if (ch == '-') {
                p->state = S_END1;
            } else {
                fy_ssi_invalid(p, "a space expected after a value");
                continue;
            }
            break;

        case S_END1:
            if (ch != '-') {
                fy_ssi_invalid(p, "\"-->\" expected");
                continue;
            }
            p->state = S_END2;
            break;

        case S_END2:
            if (ch != '>') {
                fy_ssi_invalid(p, "\"-->\" expected");
                continue;
            }
            p->state = S_TEXT;
            *pos = s + 1;
            return p->command_len ? FY_SSI_COMMAND : FY_SSI_INVALID;

        case S_SKIP:
            if (ch == '-') {
                p->state = S_SKIP1;
            }
            break;

        case S_SKIP1:
            p->state = (ch == '-') ? S_SKIP2 : S_SKIP;
            break;

        case S_SKIP2:
            if (ch == '>') {
                p->state = S_TEXT;
                *pos = s + 1;
                return FY_SSI_INVALID;
            }
            if (ch != '-') {
                p->state = S_SKIP;
            }
            break;
        }

        s++;
    }

    *pos = s;
    return FY_SSI_MORE;
}

int
fy_http_ssi_parse_end(fy_http_ssi_parser_t *p, const u_char **text,
                      size_t *len)
{
    unsigned  state = p->state, matched = p->matched;

    p->state = S_TEXT;
    p->matched = 0;
    if (state == S_OPEN) {
        *text = fy_ssi_open;
        *len = matched;
        return 1;
    }
    return 0;
}

fy_http_ssi_param_t *
fy_http_ssi_param(fy_http_ssi_parser_t *p, const char *name)
{
    size_t    n = strlen(name);
    unsigned  i;

    for (i = 0; i < p->nparams; i++) {
        if (p->params[i].name_len == n
            && memcmp(p->params[i].name, name, n) == 0)
        {
            return &p->params[i];
        }
    }
    return NULL;
}
