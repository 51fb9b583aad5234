/*
 * fy_http_types.c -- the MIME type lists of gzip_types, charset_types
 * and sub_filter_types: read from the directive, and a response's
 * Content-Type looked up in them.  nginx reads all three with one slot
 * (ngx_http_types_slot) and matches them with one test
 * (ngx_http_test_content_type) on the type's content_type_len bytes:
 * the whole value, or the part before a charset parameter
 * ("text/html; charset=utf-8" is text/html, "text/html; q=1" is not),
 * any case; "*" for any type; text/html always in.
 */
#include "fy_core.h"
#include "fy_http.h"

#include <ctype.h>

/* TYPE ... | *: the fy_http_types_t at cmd->offset in conf gets the
 * list (lowercase copies) and "any" for "*"; a second one in the same
 * block is refused, as nginx does.  Every module's types directive
 * comes here, from its table or from the setter that finds its
 * settings. */
const char *
fy_http_types_set(fy_conf_t *cf, const fy_command_t *cmd, void *conf)
{
    fy_http_types_t  *types = (fy_http_types_t *) ((char *) conf
                                                   + cmd->offset);
    fy_str_t         *t, *a;
    unsigned          i;
    size_t            k;

    if (types->list) {
        return "is duplicate";
    }
    types->list = fy_palloc(cf->pool, sizeof(fy_array_t));
    if (types->list == NULL) {
        return "out of memory";
    }
    fy_array_init(types->list, cf->pool, cf->nargs, sizeof(fy_str_t));

    for (i = 1; i < cf->nargs; i++) {
        a = &cf->args[i];
        if (fy_str_eq(a, "*")) {
            types->any = 1;
            continue;
        }
        if (a->len == 0 || memchr(a->data, '/', a->len) == NULL) {
            fy_conf_error(cf, "invalid MIME type \"%.*s\" in \"%.*s\"",
                          (int) a->len, a->data, (int) cf->args[0].len,
                          cf->args[0].data);
            return FY_CONF_ERROR;
        }
        t = fy_array_push(types->list);
        if (t == NULL) {
            return "out of memory";
        }
        t->data = (u_char *) fy_pstrndup(cf->pool, a->data, a->len);
        if (t->data == NULL) {
            return "out of memory";
        }
        t->len = a->len;
        for (k = 0; k < t->len; k++) {
            t->data[k] = (u_char) tolower(t->data[k]);
        }
    }
    return FY_CONF_OK;
}

/* How much of Content-Type value v nginx compares: all of it, or what
 * comes before the ';' of a charset parameter (its content_type_len). */
static size_t
fy_http_types_len(const fy_str_t *v)
{
    size_t  i, j, end;

    for (i = 0; i < v->len; i++) {
        if (v->data[i] != ';') {
            continue;
        }
        for (j = i + 1; j < v->len && (v->data[j] == ' '
                                        || v->data[j] == '\t'); j++)
        {
            /* void */
        }
        if (v->len - j >= 8
            && strncasecmp((const char *) v->data + j, "charset=", 8) == 0)
        {
            for (end = i; end > 0 && (v->data[end - 1] == ' '
                                      || v->data[end - 1] == '\t'); end--)
            {
                /* void */
            }
            return end;
        }
    }
    return v->len;
}

/* Is Content-Type value v (as nginx compares it) text/html, or in
 * types' list (NULL: none), or is any set? */
int
fy_http_types_match(const fy_http_types_t *types, const fy_str_t *v)
{
    const fy_array_t  *list = types->list;
    const fy_str_t    *t;
    size_t             len;
    unsigned           i;

    if (types->any) {
        return 1;
    }
    if (v == NULL) {
        return 0;
    }
    len = fy_http_types_len(v);
    if (len == 9 && strncasecmp((const char *) v->data, "text/html", 9) == 0) {
        return 1;
    }
    for (i = 0; list && i < list->nelts; i++) {
        t = (const fy_str_t *) list->elts + i;
        if (t->len == len
            && strncasecmp((const char *) t->data, (const char *) v->data,
                           len) == 0)
        {
            return 1;
        }
    }
    return 0;
}
