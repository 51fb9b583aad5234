/*
 * fy_http_charset_map.c -- the charset_map directive (http level):
 *
 *     charset_map koi8-r windows-1251 {
 *         C0 FE;      # small yu
 *         ...
 *     }
 *     charset_map windows-1251 utf-8 {
 *         C0 D090;    # capital a, its UTF-8 bytes
 *         ...
 *     }
 *
 * Each block becomes one fy_http_charset_map_t of the http block's
 * (hmcf->charset_maps), its tables filled both ways as the lines come:
 * a later line for the same byte replaces the earlier one, as in nginx.
 * The files nginx ships (koi-win, koi-utf, win-utf) read unchanged.
 */
#include "fy_core.h"
#include "fy_http.h"
#include "fy_http_charset.h"

#include <strings.h>

static const char *fy_http_charset_map_block(fy_conf_t *cf,
    const fy_command_t *cmd, void *conf);

const fy_command_t  fy_http_charset_map_commands[] = {

    { "charset_map", FY_CONF_HTTP, FY_CONF_BLOCK, 2, 2,
      fy_http_charset_map_block, 0, 0, NULL },

    { NULL, 0, 0, 0, 0, NULL, 0, 0, NULL }
};


static int
fy_http_charset_is_utf8(const fy_str_t *name)
{
    return name->len == 5 && strncasecmp((char *) name->data, "utf-8", 5)
                             == 0;
}

static int
fy_http_charset_name_eq(const fy_str_t *a, const fy_str_t *b)
{
    return a->len == b->len
           && strncasecmp((char *) a->data, (char *) b->data, a->len) == 0;
}

/* The UTF-8 bytes of a value (hex pairs, one to three bytes: code
 * points up to FFFF, as nginx takes them) into seq (length first); the
 * code point, or -1. */
static long
fy_http_charset_utf8_value(const fy_str_t *v, u_char seq[4])
{
    int64_t   b;
    long      cp;
    size_t    i, n = v->len / 2;

    if (v->len % 2 || n == 0 || n > 3) {
        return -1;
    }
    for (i = 0; i < n; i++) {
        b = fy_hextoi(v->data + 2 * i, 2);
        if (b < 0) {
            return -1;
        }
        seq[1 + i] = (u_char) b;
    }
    seq[0] = (u_char) n;
    /* one whole, shortest sequence: what a client's decoder accepts */
    if (n == 1) {
        return seq[1] < 0x80 ? seq[1] : -1;
    }
    if ((seq[1] & (n == 2 ? 0xe0 : 0xf0)) != (n == 2 ? 0xc0 : 0xe0)) {
        return -1;
    }
    cp = seq[1] & (n == 2 ? 0x1f : 0x0f);
    for (i = 2; i <= n; i++) {
        if ((seq[i] & 0xc0) != 0x80) {
            return -1;
        }
        cp = (cp << 6) | (seq[i] & 0x3f);
    }
    if (cp < (n == 2 ? 0x80 : 0x800)) {
        return -1;
    }
    return cp;
}

/* One line of a block: "SRC DST;". */
static int
fy_http_charset_map_line(fy_conf_t *cf)
{
    fy_http_charset_map_t  *m = cf->handler_data;
    const fy_str_t         *bad;
    u_char                  seq[4], *page;
    int64_t                 src, dst;

    if (cf->nargs != 2) {
        fy_conf_error(cf, "invalid parameters number");
        return FY_ERROR;
    }
    src = fy_hextoi(cf->args[0].data, cf->args[0].len);
    if (src < 0 || src > 255) {
        bad = &cf->args[0];
        goto invalid;
    }
    if (m->forward.kind == FY_RECODE_TO_UTF8) {
        dst = fy_http_charset_utf8_value(&cf->args[1], seq);
        if (dst < 0) {
            bad = &cf->args[1];
            goto invalid;
        }
        memcpy(m->to8[src], seq, sizeof(seq));
        page = m->from8[dst >> 8];
        if (page == NULL) {
            page = fy_pcalloc(cf->pool, 256);
            if (page == NULL) {
                fy_conf_error(cf, "cannot allocate memory");
                return FY_ERROR;
            }
            m->from8[dst >> 8] = page;
        }
        page[dst & 0xff] = (u_char) src;
        return FY_OK;
    }
    dst = fy_hextoi(cf->args[1].data, cf->args[1].len);
    if (dst < 0 || dst > 255) {
        bad = &cf->args[1];
        goto invalid;
    }
    m->s2d[src] = (u_char) dst;
    m->d2s[dst] = (u_char) src;
    return FY_OK;

invalid:
    fy_conf_error(cf, "invalid value \"%.*s\"", (int) bad->len,
                  (char *) bad->data);
    return FY_ERROR;
}

/* charset_map SRC DST { ... } */
static const char *
fy_http_charset_map_block(fy_conf_t *cf, const fy_command_t *cmd,
                          void *conf)
{
    fy_http_main_conf_t    *hmcf = ((fy_cycle_t *) cf->cycle)->http;
    fy_http_charset_map_t  *m, *o;
    fy_str_t               *src = &cf->args[1], *dst = &cf->args[2];
    unsigned                i;
    int                     rc;

    fy_unused(cmd);
    fy_unused(conf);

    if (fy_http_charset_name_eq(src, dst)) {
        fy_conf_error(cf, "\"charset_map\" between the same charsets "
                      "\"%s\" and \"%s\"", src->data, dst->data);
        return FY_CONF_ERROR;
    }
    if (fy_http_charset_is_utf8(src)) {
        /* nginx would read the lines as single bytes and recode
         * garbage: UTF-8's multi-byte values go in the second column */
        fy_conf_error(cf, "\"utf-8\" must be the second charset of "
                      "\"charset_map\"");
        return FY_CONF_ERROR;
    }
    for (o = hmcf->charset_maps; o; o = o->next) {
        if ((fy_http_charset_name_eq(&o->src, src)
             && fy_http_charset_name_eq(&o->dst, dst))
            || (fy_http_charset_name_eq(&o->src, dst)
                && fy_http_charset_name_eq(&o->dst, src)))
        {
            fy_conf_error(cf, "duplicate \"charset_map\" between \"%s\" "
                          "and \"%s\"", src->data, dst->data);
            return FY_CONF_ERROR;
        }
    }

    m = fy_pcalloc(cf->pool, sizeof(fy_http_charset_map_t));
    if (m == NULL) {
        return "cannot allocate memory";
    }
    m->src = *src;
    m->dst = *dst;
    m->file = cf->file ? cf->file->name : NULL;
    m->line = cf->line;
    m->forward.map = m;
    m->backward.map = m;
    if (fy_http_charset_is_utf8(dst)) {
        m->forward.kind = FY_RECODE_TO_UTF8;
        m->backward.kind = FY_RECODE_FROM_UTF8;
    } else {
        m->forward.kind = FY_RECODE_BYTE;
        m->backward.kind = FY_RECODE_BYTE;
        m->backward.back = 1;
    }
    /* below 80 every charset here is ASCII; above, '?' until named */
    m->from8[0] = fy_pcalloc(cf->pool, 256);
    if (m->from8[0] == NULL) {
        return "cannot allocate memory";
    }
    for (i = 0; i < 256; i++) {
        m->s2d[i] = m->d2s[i] = i < 0x80 ? (u_char) i : '?';
        m->to8[i][0] = 1;
        m->to8[i][1] = i < 0x80 ? (u_char) i : '?';
        if (i < 0x80) {
            m->from8[0][i] = (u_char) i;
        }
    }

    rc = fy_conf_parse_lines(cf, fy_http_charset_map_line, m);
    if (rc != FY_OK) {
        return FY_CONF_ERROR;
    }
    m->next = hmcf->charset_maps;
    hmcf->charset_maps = m;
    /* the two charsets an upstream's X-Accel-Charset may name */
    if (fy_http_charset_register(cf, src) != FY_OK
        || fy_http_charset_register(cf, dst) != FY_OK)
    {
        return "cannot allocate memory";
    }
    return FY_CONF_OK;
}

const fy_http_recode_t *
fy_http_charset_recoder(const fy_http_charset_map_t *maps,
                        const fy_str_t *src, const fy_str_t *dst)
{
    const fy_http_charset_map_t  *m;

    for (m = maps; m; m = m->next) {
        if (fy_http_charset_name_eq(&m->src, src)
            && fy_http_charset_name_eq(&m->dst, dst))
        {
            return &m->forward;
        }
        if (fy_http_charset_name_eq(&m->src, dst)
            && fy_http_charset_name_eq(&m->dst, src))
        {
            return &m->backward;
        }
    }
    return NULL;
}
