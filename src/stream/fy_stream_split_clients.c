/*
 * fy_stream_split_clients.c -- "split_clients STRING $variable
 * { ... }" in the stream block (nginx's
 * ngx_stream_split_clients_module): a variable for A/B splits, its
 * value chosen by the MurmurHash2 of STRING (stream variables) among
 * the block's "N%" parts and "*".  The block and the choice are
 * http's (fy_http_split_read, fy_http_split_find), so a client lands
 * in the same part as under nginx.  The value is computed when a
 * session first uses the variable and kept with the maps' values
 * (fy_stream_var_define).
 */
#include "fy_core.h"
#include "fy_stream.h"

typedef struct {
    fy_stream_cv_t   *source;
    fy_http_split_t  *split;
} fy_stream_split_t;

static const char *fy_stream_split_block(fy_conf_t *cf,
    const fy_command_t *cmd, void *conf);

const fy_command_t  fy_stream_split_clients_commands[] = {

    { "split_clients", FY_CONF_STREAM, FY_CONF_BLOCK, 2, 2,
      fy_stream_split_block, FY_CONF_MAIN_OFF, 0, NULL },

    { NULL, 0, 0, 0, 0, NULL, 0, 0, NULL }
};


static size_t
fy_stream_split_eval(fy_stream_session_t *s, void *data, u_char *buf,
                     size_t size)
{
    fy_stream_split_t  *sp = data;
    const fy_str_t     *v;
    u_char              text[FY_STREAM_VALUE_MAX];
    size_t              len;

    len = fy_stream_cv_eval(s, sp->source, text, sizeof(text));
    v = fy_http_split_find(sp->split, text, len);
    return fy_stream_var_text(v, buf, size);
}

static int
fy_stream_split_each(void *data, int (*fn)(const fy_str_t *value, void *arg),
                     void *arg)
{
    fy_stream_split_t  *sp = data;

    return fy_http_split_each(sp->split, fn, arg);
}

/* split_clients STRING $variable { ... } */
static const char *
fy_stream_split_block(fy_conf_t *cf, const fy_command_t *cmd, void *conf)
{
    fy_stream_split_t  *sp;

    fy_unused(cmd);
    fy_unused(conf);

    sp = fy_pcalloc(cf->pool, sizeof(fy_stream_split_t));
    if (sp == NULL) {
        return "cannot allocate memory";
    }
    if (fy_stream_var_define(cf, &cf->args[2], fy_stream_split_eval,
                             fy_stream_split_each, sp) < 0)
    {
        return FY_CONF_ERROR;
    }
    sp->source = fy_stream_cv_compile(cf, &cf->args[1]);
    if (sp->source == NULL) {
        return FY_CONF_ERROR;
    }
    sp->split = fy_http_split_read(cf);
    return sp->split ? FY_CONF_OK : FY_CONF_ERROR;
}
