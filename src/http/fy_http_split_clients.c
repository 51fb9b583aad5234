/*
 * fy_http_split_clients.c -- nginx's "split_clients STRING $variable
 * { ... }": a variable for A/B tests.
 *
 *     split_clients "${remote_addr}AAA" $variant {
 *         0.5%  .one;
 *         2.0%  .two;
 *         *     "";
 *     }
 *
 * STRING (with variables) is hashed with MurmurHash2 (32 bits, as
 * nginx: seed 0, the bytes read little-endian), and the hash's whole
 * range 0..2^32-1 is cut into buckets in the order written, each the
 * size its percentage (two decimals at most) says: part k ends below
 * the sum over parts 1..k of percent * 0xffffffff / 10000 (each term
 * rounded down), nginx's own arithmetic, so that a client lands in the
 * same bucket as under nginx.  "*" takes every hash left; without it,
 * those get the empty string.  The percentages may not add up to more
 * than 100%.
 *
 * The value is computed when the variable is first used in a request
 * and kept in map's per-request slot (fy_http_map_define).  The block
 * and the choice by hash (fy_http_split_read, _find) are stream's
 * split_clients' too (fy_stream_split_clients.c).
 */
#include "fy_core.h"
#include "fy_http.h"

typedef struct {
    uint32_t   percent;      /* hundredths while reading; then the bound */
    unsigned   rest:1;       /* "*" */
    fy_str_t   value;
} fy_http_split_part_t;

struct fy_http_split_s {
    fy_array_t     parts;    /* fy_http_split_part_t */
};

/* http's block: the parts and the text hashed */
typedef struct {
    fy_http_cv_t     *source;
    fy_http_split_t  *split;
} fy_http_split_var_t;

static const char *fy_http_split_block(fy_conf_t *cf,
    const fy_command_t *cmd, void *conf);

const fy_command_t  fy_http_split_clients_commands[] = {

    { "split_clients", FY_CONF_HTTP, FY_CONF_BLOCK, 2, 2,
      fy_http_split_block, FY_CONF_MAIN_OFF, 0, NULL },

    { NULL, 0, 0, 0, 0, NULL, 0, 0, NULL }
};


uint32_t
fy_murmur_hash2(const u_char *data, size_t len)
{
    uint32_t  h = (uint32_t) len, k;

    while (len >= 4) {
        k = data[0];
        k |= (uint32_t) data[1] << 8;
        k |= (uint32_t) data[2] << 16;
        k |= (uint32_t) data[3] << 24;

        k *= 0x5bd1e995;
        k ^= k >> 24;
        k *= 0x5bd1e995;

        h *= 0x5bd1e995;
        h ^= k;

        data += 4;
        len -= 4;
    }

    switch (len) {
    case 3:
        h ^= (uint32_t) data[2] << 16;
        /* fall through */
    case 2:
        h ^= (uint32_t) data[1] << 8;
        /* fall through */
    case 1:
        h ^= data[0];
        h *= 0x5bd1e995;
    }

    h ^= h >> 13;
    h *= 0x5bd1e995;
    h ^= h >> 15;

    return h;
}


/* "12.34" (at most two decimals) in hundredths; -1 if it is none. */
static int64_t
fy_http_split_percent(const u_char *p, size_t len)
{
    int64_t   v = 0;
    unsigned  decimals = 0, dot = 0, digits = 0;
    size_t    i;

    for (i = 0; i < len; i++) {
        if (p[i] == '.' && !dot) {
            dot = 1;
            continue;
        }
        if (p[i] < '0' || p[i] > '9' || (dot && decimals == 2)) {
            return -1;
        }
        v = v * 10 + (p[i] - '0');
        digits++;
        decimals += dot;
        if (v > 10000 * 100) {
            return -1;
        }
    }
    if (digits == 0) {
        return -1;
    }
    for ( ; decimals < 2; decimals++) {
        v *= 10;
    }
    return v;
}

/* One "N% VALUE;" or "* VALUE;"; cf->handler_data is the block. */
static int
fy_http_split_line(fy_conf_t *cf)
{
    fy_http_split_t       *sc = cf->handler_data;
    fy_http_split_part_t  *part;
    fy_str_t              *key = &cf->args[0];
    int64_t                pct = 0;

    if (cf->nargs != 2) {
        fy_conf_error(cf, "invalid number of the split_clients parameters");
        return FY_ERROR;
    }
    if (!fy_str_eq(key, "*")) {
        if (key->len < 2 || key->data[key->len - 1] != '%'
            || (pct = fy_http_split_percent(key->data, key->len - 1)) <= 0)
        {
            fy_conf_error(cf, "invalid percent value \"%.*s\"",
                          (int) key->len, key->data);
            return FY_ERROR;
        }
    }
    part = fy_array_push(&sc->parts);
    if (part == NULL) {
        fy_conf_error(cf, "cannot allocate memory");
        return FY_ERROR;
    }
    part->percent = (uint32_t) pct;
    part->rest = pct == 0;
    part->value = cf->args[1];
    return FY_OK;
}

fy_http_split_t *
fy_http_split_read(fy_conf_t *cf)
{
    fy_http_split_t       *sc;
    fy_http_split_part_t  *part;
    uint64_t               sum = 0, bound = 0;
    unsigned               i;
    int                    rc;

    sc = fy_pcalloc(cf->pool, sizeof(fy_http_split_t));
    if (sc == NULL) {
        fy_conf_error(cf, "cannot allocate memory");
        return NULL;
    }
    fy_array_init(&sc->parts, cf->pool, 4, sizeof(fy_http_split_part_t));

    rc = fy_conf_parse_lines(cf, fy_http_split_line, sc);
    if (rc != FY_OK) {
        return NULL;
    }

    for (i = 0; i < sc->parts.nelts; i++) {
        part = fy_array_elt(&sc->parts, fy_http_split_part_t, i);
        sum += part->percent;
        if (sum > 10000) {
            fy_conf_error(cf, "percent total is greater than 100%%");
            return NULL;
        }
        /* nginx's bound: each part's share rounded down, summed */
        bound += (uint64_t) part->percent * 0xffffffffu / 10000;
        part->percent = (uint32_t) bound;
    }
    return sc;
}

const fy_str_t *
fy_http_split_find(const fy_http_split_t *sc, const u_char *text, size_t len)
{
    const fy_http_split_part_t  *part;
    uint32_t                     hash = fy_murmur_hash2(text, len);
    unsigned                     i;

    for (i = 0; i < sc->parts.nelts; i++) {
        part = fy_array_elt(&sc->parts, fy_http_split_part_t, i);
        if (part->rest || hash < part->percent) {
            return &part->value;
        }
    }
    return NULL;
}

int
fy_http_split_each(const fy_http_split_t *sc,
                   int (*fn)(const fy_str_t *value, void *data), void *data)
{
    unsigned  i;

    for (i = 0; i < sc->parts.nelts; i++) {
        if (fn(&fy_array_elt(&sc->parts, fy_http_split_part_t, i)->value,
               data) != FY_OK)
        {
            return FY_ERROR;
        }
    }
    return FY_OK;
}

static u_char *
fy_http_split_eval(fy_http_request_t *r, void *data, size_t *len)
{
    fy_http_split_var_t  *sv = data;
    const fy_str_t       *v;
    u_char               *text;
    size_t                n;

    text = fy_http_cv_eval(r, sv->source, &n);
    if (text == NULL) {
        return NULL;
    }
    v = fy_http_split_find(sv->split, text, n);
    if (v == NULL) {
        *len = 0;
        return (u_char *) "";
    }
    *len = v->len;
    return v->data;
}

/* split_clients STRING $variable { ... } */
static const char *
fy_http_split_block(fy_conf_t *cf, const fy_command_t *cmd, void *conf)
{
    fy_http_split_var_t  *sv;

    fy_unused(cmd);
    fy_unused(conf);

    sv = fy_pcalloc(cf->pool, sizeof(fy_http_split_var_t));
    if (sv == NULL) {
        return "cannot allocate memory";
    }
    if (fy_http_map_define(cf, &cf->args[2], fy_http_split_eval, sv) == NULL)
    {
        return FY_CONF_ERROR;
    }
    sv->source = fy_http_cv_compile(cf, &cf->args[1]);
    if (sv->source == NULL) {
        return FY_CONF_ERROR;
    }
    sv->split = fy_http_split_read(cf);
    return sv->split ? FY_CONF_OK : FY_CONF_ERROR;
}
