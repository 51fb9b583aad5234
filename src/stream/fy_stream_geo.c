/*
 * fy_stream_geo.c -- "geo [$address] $variable { ... }" in the stream
 * block (nginx's ngx_stream_geo_module): a variable whose value
 * depends on the client's IP address.
 *
 * The block's lines (networks, "default", "delete", "include",
 * "ranges") and the lookup are http's (fy_http_geo_table.c); stream's
 * geo has no "proxy".  The address is the client's (after
 * set_real_ip_from), or the value of $address; text that is no IP
 * address counts as 255.255.255.255, as nginx documents.  The value is
 * computed when the variable is first used in a session and kept with
 * the maps' values (fy_stream_var_define).
 */
#include "fy_core.h"
#include "fy_stream.h"

#include <netinet/in.h>

typedef struct {
    fy_stream_cv_t       *source;       /* NULL: the client's address */
    fy_http_geo_table_t  *table;
} fy_stream_geo_t;

static const char *fy_stream_geo_block(fy_conf_t *cf,
    const fy_command_t *cmd, void *conf);

const fy_command_t  fy_stream_geo_commands[] = {

    { "geo", FY_CONF_STREAM, FY_CONF_BLOCK, 1, 2, fy_stream_geo_block,
      FY_CONF_MAIN_OFF, 0, NULL },

    { NULL, 0, 0, 0, 0, NULL, 0, 0, NULL }
};


static size_t
fy_stream_geo_eval(fy_stream_session_t *s, void *data, u_char *buf,
                   size_t size)
{
    fy_stream_geo_t      *geo = data;
    struct sockaddr_in6   sa;
    const uint8_t        *p = NULL;
    const fy_str_t       *v;
    uint8_t               addr[16];
    u_char                text[64];
    size_t                len;
    unsigned              n = 0;
    int                   family = AF_INET;

    if (geo->source) {
        len = fy_stream_cv_eval(s, geo->source, text, sizeof(text));
        if (fy_http_geo_text_addr(text, len, &sa) == FY_OK) {
            p = fy_http_cidr_addr(&sa, &family, &n);
        }
    } else {
        sa = s->c->addr;
        p = fy_http_cidr_addr(&sa, &family, &n);
    }

    memset(addr, 0, sizeof(addr));
    if (p == NULL) {
        family = AF_INET;
        memset(addr, 0xff, 4);          /* nginx: INADDR_NONE */
    } else {
        memcpy(addr, p, n);
    }
    v = fy_http_geo_table_find(geo->table, family, addr);
    return fy_stream_var_text(v, buf, size);
}

static int
fy_stream_geo_each(void *data, int (*fn)(const fy_str_t *value, void *arg),
                   void *arg)
{
    fy_stream_geo_t  *geo = data;

    return fy_http_geo_table_each(geo->table, fn, arg);
}

/* geo [$address] $variable { ... } */
static const char *
fy_stream_geo_block(fy_conf_t *cf, const fy_command_t *cmd, void *conf)
{
    fy_stream_geo_t  *geo;

    fy_unused(cmd);
    fy_unused(conf);

    geo = fy_pcalloc(cf->pool, sizeof(fy_stream_geo_t));
    if (geo == NULL || (geo->table = fy_http_geo_table_create(cf)) == NULL)
    {
        return "cannot allocate memory";
    }
    if (fy_stream_var_define(cf, &cf->args[cf->nargs - 1],
                             fy_stream_geo_eval, fy_stream_geo_each, geo)
        < 0)
    {
        return FY_CONF_ERROR;
    }
    if (cf->nargs == 3) {
        geo->source = fy_stream_cv_compile(cf, &cf->args[1]);
        if (geo->source == NULL) {
            return FY_CONF_ERROR;
        }
    }
    if (fy_http_geo_table_read(cf, geo->table, NULL, NULL) != FY_OK) {
        return FY_CONF_ERROR;
    }
    return FY_CONF_OK;
}
