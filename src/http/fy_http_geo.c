/*
 * fy_http_geo.c -- nginx's "geo [$address] $variable { ... }": a
 * variable whose value depends on the client's IP address.
 *
 * The address is the client's (after realip), or the value of
 * $address; text that is no IP address counts as 255.255.255.255 (an
 * IPv4-mapped IPv6 address as its IPv4 one), as nginx documents.  When
 * it is one of the block's "proxy" addresses, X-Forwarded-For gives the
 * address instead: its last element, or with "proxy_recursive" the
 * last one that is not a proxy (the walk of real_ip_recursive,
 * fy_http_realip_forwarded).
 *
 * The lines of the block and the lookup are fy_http_geo_table.c's
 * (shared with stream's geo); "proxy" and "proxy_recursive" are read
 * here.
 *
 * Like map (whose per-request slot keeps the value: fy_http_map_define),
 * the value is computed when the variable is first used in a request;
 * a geo no request reads costs nothing.
 */
#include "fy_core.h"
#include "fy_http.h"

#include <arpa/inet.h>
#include <netinet/in.h>

typedef struct {
    fy_http_cv_t        *source;     /* NULL: the client's address */
    fy_array_t           proxies;    /* fy_http_cidr_t */
    unsigned             proxy_recursive:1;
    fy_http_geo_table_t *table;      /* fy_http_geo_table.c */
} fy_http_geo_t;

static const char *fy_http_geo_block(fy_conf_t *cf, const fy_command_t *cmd,
    void *conf);

const fy_command_t  fy_http_geo_commands[] = {

    { "geo", FY_CONF_HTTP, FY_CONF_BLOCK, 1, 2, fy_http_geo_block,
      FY_CONF_MAIN_OFF, 0, NULL },

    { NULL, 0, 0, 0, 0, NULL, 0, 0, NULL }
};


/* One line of a geo block; cf->handler_data is the geo.  "proxy" and
 * "proxy_recursive" are http's; the rest is the table's. */
static int
fy_http_geo_line(fy_conf_t *cf)
{
    fy_http_geo_t   *geo = cf->handler_data;
    fy_http_cidr_t  *cidr;

    if (cf->nargs == 1 && fy_str_eq(&cf->args[0], "proxy_recursive")) {
        geo->proxy_recursive = 1;
        return FY_OK;
    }
    if (cf->nargs == 2 && fy_str_eq(&cf->args[0], "proxy")) {
        cidr = fy_array_push(&geo->proxies);
        if (cidr == NULL) {
            fy_conf_error(cf, "cannot allocate memory");
            return FY_ERROR;
        }
        return fy_http_cidr_parse(cf, &cf->args[1], cidr);
    }
    return fy_http_geo_table_line(cf, geo->table);
}


/* ---- per request ---- */

/* The address to look up, in *family and addr (255.255.255.255 when
 * there is none), after "proxy". */
static int
fy_http_geo_addr(fy_http_request_t *r, fy_http_geo_t *geo, int *family,
                 uint8_t addr[16])
{
    struct sockaddr_in6   sa;
    const uint8_t        *p = NULL;
    u_char               *text;
    size_t                len;
    unsigned              n = 0;

    memset(addr, 0, 16);
    *family = AF_INET;

    if (geo->source) {
        text = fy_http_cv_eval(r, geo->source, &len);
        if (text == NULL) {
            return FY_ERROR;
        }
        if (fy_http_geo_text_addr(text, len, &sa) == FY_OK) {
            p = fy_http_cidr_addr(&sa, family, &n);
        }
    } else if (r->hc->c) {
        sa = r->hc->c->addr;
        p = fy_http_cidr_addr(&sa, family, &n);
    }

    if (p && geo->proxies.nelts) {
        unsigned  i;

        for (i = 0; i < geo->proxies.nelts; i++) {
            if (fy_http_cidr_match(fy_array_elt(&geo->proxies, fy_http_cidr_t,
                                                i), *family, p, n))
            {
                if (fy_http_realip_forwarded(r, &geo->proxies,
                                             geo->proxy_recursive, &sa)
                    == FY_OK)
                {
                    p = fy_http_cidr_addr(&sa, family, &n);
                }
                break;
            }
        }
    }

    if (p == NULL) {
        *family = AF_INET;
        memset(addr, 0xff, 4);      /* nginx: INADDR_NONE */
        return FY_OK;
    }
    memcpy(addr, p, n);
    return FY_OK;
}

static u_char *
fy_http_geo_eval(fy_http_request_t *r, void *data, size_t *len)
{
    fy_http_geo_t   *geo = data;
    const fy_str_t  *v;
    uint8_t          addr[16];
    int              family;

    if (fy_http_geo_addr(r, geo, &family, addr) != FY_OK) {
        return NULL;
    }
    v = fy_http_geo_table_find(geo->table, family, addr);
    if (v == NULL) {
        *len = 0;
        return (u_char *) "";
    }
    *len = v->len;
    return v->data;
}


/* geo [$address] $variable { ... } */
static const char *
fy_http_geo_block(fy_conf_t *cf, const fy_command_t *cmd, void *conf)
{
    fy_http_geo_t  *geo;
    fy_str_t       *var = &cf->args[cf->nargs - 1];

    fy_unused(cmd);
    fy_unused(conf);

    geo = fy_pcalloc(cf->pool, sizeof(fy_http_geo_t));
    if (geo == NULL) {
        return "cannot allocate memory";
    }
    fy_array_init(&geo->proxies, cf->pool, 2, sizeof(fy_http_cidr_t));
    geo->table = fy_http_geo_table_create(cf);
    if (geo->table == NULL) {
        return "cannot allocate memory";
    }

    if (fy_http_map_define(cf, var, fy_http_geo_eval, geo) == NULL) {
        return FY_CONF_ERROR;
    }
    if (cf->nargs == 3) {
        geo->source = fy_http_cv_compile(cf, &cf->args[1]);
        if (geo->source == NULL) {
            return FY_CONF_ERROR;
        }
    }
    if (fy_http_geo_table_read(cf, geo->table, fy_http_geo_line, geo)
        != FY_OK)
    {
        return FY_CONF_ERROR;
    }
    return FY_CONF_OK;
}
