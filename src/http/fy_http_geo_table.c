/*
 * fy_http_geo_table.c -- the lines of a "geo" block and the lookup of
 * an address in them, shared by http's geo (fy_http_geo.c) and
 * stream's (fy_stream_geo.c); each reads the address its own way.
 *
 * Networks (CIDR, IPv4 and IPv6): the longest prefix that holds the
 * address wins.  "default" is 0.0.0.0/0 and ::/0 at once; a network
 * given twice keeps the later value with a warning; "delete" takes a
 * network out again.  After the block the networks become, per family,
 * one array sorted by prefix length (longest first) and address, with
 * an index of where each length starts: a lookup masks the address to
 * each length present and binary-searches that part, so it costs
 * O(lengths * log n) and no memory.
 *
 * "ranges" (first in the block): IPv4 "start-end" ranges instead.  They
 * are kept sorted and disjoint; a range inside an earlier one cuts it
 * (the new value wins inside), one given twice replaces the value with
 * a warning, any other overlap is an error, as in nginx.  A lookup is
 * one binary search.
 */
#include "fy_core.h"
#include "fy_http.h"

#include <arpa/inet.h>
#include <netinet/in.h>

/* A network as written, until the block ends. */
typedef struct {
    uint8_t          addr[16];   /* masked; IPv4 in the first 4 bytes */
    unsigned         bits;
    int              family;
    unsigned         seq;        /* order written */
    const fy_str_t  *value;      /* NULL: a "delete" */
    const char      *file;
    unsigned         line;
    fy_str_t         text;       /* for the messages */
} fy_http_geo_net_t;

/* Where networks of one prefix length start in the sorted array. */
typedef struct {
    unsigned   bits;
    unsigned   start;
    unsigned   n;
} fy_http_geo_len_t;

typedef struct {
    fy_http_geo_net_t  *nets;    /* longest prefix first, then address */
    fy_http_geo_len_t   lens[129];
    unsigned            nlens;
    unsigned            nbytes;  /* 4 or 16 */
} fy_http_geo_tree_t;

typedef struct {
    uint32_t         start;      /* host order */
    uint32_t         end;
    const fy_str_t  *value;
} fy_http_geo_range_t;

struct fy_http_geo_table_s {
    unsigned             ranges:1;
    unsigned             seen_entry:1;
    unsigned             seq;

    fy_array_t           nets;       /* fy_http_geo_net_t, while reading */
    fy_http_geo_tree_t   v4, v6;

    fy_array_t           range;      /* fy_http_geo_range_t, sorted */
    const fy_str_t      *deflt;      /* ranges: "default" */
};


fy_http_geo_table_t *
fy_http_geo_table_create(fy_conf_t *cf)
{
    fy_http_geo_table_t  *geo = fy_pcalloc(cf->pool,
                                           sizeof(fy_http_geo_table_t));

    if (geo == NULL) {
        return NULL;
    }
    fy_array_init(&geo->nets, cf->pool, 16, sizeof(fy_http_geo_net_t));
    fy_array_init(&geo->range, cf->pool, 16, sizeof(fy_http_geo_range_t));
    return geo;
}


/* ---- reading a block ---- */

/* "addr" or "addr/bits" into *net; -1 when it is no network, 1 when
 * host bits were set (cleared; nginx warns). */
static int
fy_http_geo_parse_net(const fy_str_t *text, int *family, uint8_t addr[16],
                      unsigned *bits)
{
    char      buf[64], *slash;
    int64_t   b, max;
    unsigned  i, changed = 0;

    if (text->len == 0 || text->len >= sizeof(buf)) {
        return -1;
    }
    memcpy(buf, text->data, text->len);
    buf[text->len] = '\0';
    slash = strchr(buf, '/');
    if (slash) {
        *slash++ = '\0';
    }
    memset(addr, 0, 16);
    if (inet_pton(AF_INET, buf, addr) == 1) {
        *family = AF_INET;
        max = 32;
    } else if (inet_pton(AF_INET6, buf, addr) == 1) {
        *family = AF_INET6;
        max = 128;
    } else {
        return -1;
    }
    b = max;
    if (slash) {
        b = *slash ? fy_atoi((u_char *) slash, strlen(slash)) : -1;
        if (b < 0 || b > max) {
            return -1;
        }
    }
    *bits = (unsigned) b;
    for (i = 0; i < max / 8; i++) {
        uint8_t  m = b >= 8 ? 0xff : (uint8_t) (0xff00 >> b);

        b = b >= 8 ? b - 8 : 0;
        if (addr[i] & ~m) {
            changed = 1;
            addr[i] &= m;
        }
    }
    return changed;
}

static int
fy_http_geo_add_net(fy_conf_t *cf, fy_http_geo_table_t *geo,
                    const fy_str_t *text, int family, const uint8_t *addr,
                    unsigned bits, const fy_str_t *value)
{
    fy_http_geo_net_t  *n = fy_array_push(&geo->nets);

    if (n == NULL) {
        fy_conf_error(cf, "cannot allocate memory");
        return FY_ERROR;
    }
    memcpy(n->addr, addr, 16);
    n->bits = bits;
    n->family = family;
    n->seq = geo->seq++;
    n->value = value;
    n->file = cf->file ? cf->file->name : NULL;
    n->line = cf->line;
    n->text = *text;
    return FY_OK;
}

/* "a.b.c.d-e.f.g.h": the two ends in host order; FY_ERROR when it is
 * no range (IPv4 only, start not above end). */
static int
fy_http_geo_parse_range(const fy_str_t *text, uint32_t *start, uint32_t *end)
{
    char            buf[40], *dash;
    struct in_addr  a, b;

    if (text->len >= sizeof(buf)) {
        return FY_ERROR;
    }
    memcpy(buf, text->data, text->len);
    buf[text->len] = '\0';
    dash = strchr(buf, '-');
    if (dash == NULL) {
        return FY_ERROR;
    }
    *dash++ = '\0';
    if (inet_pton(AF_INET, buf, &a) != 1 || inet_pton(AF_INET, dash, &b) != 1)
    {
        return FY_ERROR;
    }
    *start = ntohl(a.s_addr);
    *end = ntohl(b.s_addr);
    return *start <= *end ? FY_OK : FY_ERROR;
}

/* The index of the first range whose end is >= a (nelts if none). */
static unsigned
fy_http_geo_range_find(const fy_array_t *ranges, uint32_t a)
{
    const fy_http_geo_range_t  *rg = ranges->elts;
    unsigned                    lo = 0, hi = ranges->nelts, mid;

    while (lo < hi) {
        mid = lo + (hi - lo) / 2;
        if (rg[mid].end < a) {
            lo = mid + 1;
        } else {
            hi = mid;
        }
    }
    return lo;
}

/* Insert n ranges' room at index i. */
static fy_http_geo_range_t *
fy_http_geo_range_open(fy_array_t *ranges, unsigned i, unsigned n)
{
    fy_http_geo_range_t  *rg;
    unsigned              k, tail = ranges->nelts - i;

    for (k = 0; k < n; k++) {
        if (fy_array_push(ranges) == NULL) {
            return NULL;
        }
    }
    rg = ranges->elts;
    memmove(&rg[i + n], &rg[i], tail * sizeof(*rg));
    return &rg[i];
}

static void
fy_http_geo_range_text(char *buf, size_t size, const fy_http_geo_range_t *r)
{
    snprintf(buf, size, "%u.%u.%u.%u-%u.%u.%u.%u",
             r->start >> 24, (r->start >> 16) & 0xff, (r->start >> 8) & 0xff,
             r->start & 0xff, r->end >> 24, (r->end >> 16) & 0xff,
             (r->end >> 8) & 0xff, r->end & 0xff);
}

static int
fy_http_geo_add_range(fy_conf_t *cf, fy_http_geo_table_t *geo,
                      const fy_str_t *text, uint32_t s, uint32_t e,
                      const fy_str_t *value)
{
    fy_http_geo_range_t  *rg, *at;
    unsigned              i = fy_http_geo_range_find(&geo->range, s);
    char                  old[40];

    rg = geo->range.elts;
    if (i == geo->range.nelts || rg[i].start > e) {
        /* free space: the usual case, ranges written in order */
        at = fy_http_geo_range_open(&geo->range, i, 1);
        if (at == NULL) {
            goto nomem;
        }
        at->start = s;
        at->end = e;
        at->value = value;
        return FY_OK;
    }

    if (rg[i].start == s && rg[i].end == e) {
        fy_log_error(FY_LOG_WARN, 0, "duplicate range \"%.*s\", value: "
                     "\"%.*s\", old value: \"%.*s\" in %s:%u",
                     (int) text->len, text->data, (int) value->len,
                     value->data, (int) rg[i].value->len, rg[i].value->data,
                     cf->file ? cf->file->name : "command line", cf->line);
        rg[i].value = value;
        return FY_OK;
    }

    if (rg[i].start <= s && e <= rg[i].end) {
        /* inside an earlier range: cut it in up to three */
        fy_http_geo_range_t  outer = rg[i];
        unsigned             k = i;

        if (outer.start < s) {
            at = fy_http_geo_range_open(&geo->range, k, 1);
            if (at == NULL) {
                goto nomem;
            }
            at->start = outer.start;
            at->end = s - 1;
            at->value = outer.value;
            k++;
        }
        at = fy_array_elt(&geo->range, fy_http_geo_range_t, k);
        at->start = s;
        at->end = e;
        at->value = value;
        if (e < outer.end) {
            at = fy_http_geo_range_open(&geo->range, k + 1, 1);
            if (at == NULL) {
                goto nomem;
            }
            at->start = e + 1;
            at->end = outer.end;
            at->value = outer.value;
        }
        return FY_OK;
    }

    fy_http_geo_range_text(old, sizeof(old), &rg[i]);
    fy_conf_error(cf, "range \"%.*s\" overlaps \"%s\"", (int) text->len,
                  text->data, old);
    return FY_ERROR;

nomem:
    fy_conf_error(cf, "cannot allocate memory");
    return FY_ERROR;
}

static int
fy_http_geo_delete_range(fy_conf_t *cf, fy_http_geo_table_t *geo,
                         const fy_str_t *text, uint32_t s, uint32_t e)
{
    fy_http_geo_range_t  *rg = geo->range.elts;
    unsigned              i = fy_http_geo_range_find(&geo->range, s);

    if (i < geo->range.nelts && rg[i].start == s && rg[i].end == e) {
        memmove(&rg[i], &rg[i + 1],
                (geo->range.nelts - i - 1) * sizeof(*rg));
        geo->range.nelts--;
        return FY_OK;
    }
    fy_log_error(FY_LOG_WARN, 0, "no address range \"%.*s\" to delete "
                 "in %s:%u", (int) text->len, text->data,
                 cf->file ? cf->file->name : "command line", cf->line);
    return FY_OK;
}

static fy_str_t *
fy_http_geo_value(fy_conf_t *cf, const fy_str_t *text)
{
    fy_str_t  *v = fy_palloc(cf->pool, sizeof(fy_str_t));

    if (v == NULL) {
        fy_conf_error(cf, "cannot allocate memory");
        return NULL;
    }
    *v = *text;
    return v;
}

int
fy_http_geo_table_line(fy_conf_t *cf, fy_http_geo_table_t *geo)
{
    fy_str_t        *key = &cf->args[0];
    fy_str_t        *value, *net;
    uint8_t          addr[16];
    uint32_t         s, e;
    unsigned         bits;
    int              family, del, rc;

    if (cf->nargs == 1 && fy_str_eq(key, "ranges")) {
        if (geo->seen_entry) {
            /* nginx reads the networks so far as CIDR already */
            fy_conf_error(cf, "\"ranges\" must be the first parameter of "
                          "the geo block");
            return FY_ERROR;
        }
        geo->ranges = 1;
        return FY_OK;
    }
    if (cf->nargs != 2) {
        fy_conf_error(cf, "invalid number of the geo parameters");
        return FY_ERROR;
    }

    geo->seen_entry = 1;
    del = fy_str_eq(key, "delete");
    net = del ? &cf->args[1] : key;
    value = NULL;
    if (!del && (value = fy_http_geo_value(cf, &cf->args[1])) == NULL) {
        return FY_ERROR;
    }

    if (geo->ranges) {
        if (!del && fy_str_eq(net, "default")) {
            geo->deflt = value;
            return FY_OK;
        }
        if (fy_http_geo_parse_range(net, &s, &e) != FY_OK) {
            fy_conf_error(cf, "invalid range \"%.*s\"", (int) net->len,
                          net->data);
            return FY_ERROR;
        }
        return del ? fy_http_geo_delete_range(cf, geo, net, s, e)
                   : fy_http_geo_add_range(cf, geo, net, s, e, value);
    }

    if (!del && fy_str_eq(net, "default")) {
        memset(addr, 0, sizeof(addr));
        if (fy_http_geo_add_net(cf, geo, net, AF_INET, addr, 0, value)
            != FY_OK)
        {
            return FY_ERROR;
        }
        return fy_http_geo_add_net(cf, geo, net, AF_INET6, addr, 0, value);
    }

    rc = fy_http_geo_parse_net(net, &family, addr, &bits);
    if (rc < 0) {
        fy_conf_error(cf, "invalid network \"%.*s\"", (int) net->len,
                      net->data);
        return FY_ERROR;
    }
    if (rc > 0) {
        fy_log_error(FY_LOG_WARN, 0, "low address bits of %.*s are "
                     "meaningless in %s:%u", (int) net->len, net->data,
                     cf->file ? cf->file->name : "command line", cf->line);
    }
    return fy_http_geo_add_net(cf, geo, net, family, addr, bits, value);
}

/* Family, then prefix length (longest first), then address, then the
 * order written. */
static int
fy_http_geo_net_cmp(const void *a, const void *b)
{
    const fy_http_geo_net_t  *x = a, *y = b;
    int                       rc;

    if (x->family != y->family) {
        return x->family < y->family ? -1 : 1;
    }
    if (x->bits != y->bits) {
        return x->bits > y->bits ? -1 : 1;
    }
    rc = memcmp(x->addr, y->addr, 16);
    if (rc) {
        return rc;
    }
    return (x->seq > y->seq) - (x->seq < y->seq);
}

static void
fy_http_geo_warn_at(const fy_http_geo_net_t *n, const char *fmt,
                    const fy_str_t *old)
{
    if (old) {
        fy_log_error(FY_LOG_WARN, 0, fmt, (int) n->text.len, n->text.data,
                     (int) n->value->len, n->value->data, (int) old->len,
                     old->data, n->file ? n->file : "command line", n->line);
    } else {
        fy_log_error(FY_LOG_WARN, 0, fmt, (int) n->text.len, n->text.data,
                     n->file ? n->file : "command line", n->line);
    }
}

/*
 * End of a block (nothing to do for "ranges"): the networks in the
 * order written become the two lookup arrays.  Entries of one network
 * are adjacent after the sort, in the order written, so "delete" and
 * duplicates are replayed per network: the last state wins.
 */
static int
fy_http_geo_table_finish(fy_conf_t *cf, fy_http_geo_table_t *geo)
{
    fy_http_geo_net_t   *all = geo->nets.elts, *out;
    fy_http_geo_tree_t  *t;
    const fy_str_t      *cur;
    unsigned             i, j, n = geo->nets.nelts, nout = 0;

    if (geo->ranges || n == 0) {
        return FY_OK;
    }
    qsort(all, n, sizeof(*all), fy_http_geo_net_cmp);
    out = fy_palloc(cf->pool, n * sizeof(*out));
    if (out == NULL) {
        fy_conf_error(cf, "cannot allocate memory");
        return FY_ERROR;
    }

    for (i = 0; i < n; i = j) {
        cur = NULL;
        for (j = i; j < n && all[j].family == all[i].family
                    && all[j].bits == all[i].bits
                    && memcmp(all[j].addr, all[i].addr, 16) == 0; j++)
        {
            if (all[j].value == NULL) {
                if (cur == NULL) {
                    fy_http_geo_warn_at(&all[j], "no network \"%.*s\" to "
                                        "delete in %s:%u", NULL);
                }
                cur = NULL;
            } else {
                if (cur) {
                    fy_http_geo_warn_at(&all[j], "duplicate network "
                                        "\"%.*s\", value: \"%.*s\", old "
                                        "value: \"%.*s\" in %s:%u", cur);
                }
                cur = all[j].value;
            }
        }
        if (cur) {
            out[nout] = all[j - 1];
            out[nout].value = cur;
            nout++;
        }
    }

    /* out is sorted: IPv4 first (AF_INET < AF_INET6), then IPv6 */
    for (i = 0; i < nout; i++) {
        t = out[i].family == AF_INET ? &geo->v4 : &geo->v6;
        if (t->nets == NULL) {
            t->nets = &out[i];
            t->nbytes = out[i].family == AF_INET ? 4 : 16;
        }
        if (t->nlens == 0 || t->lens[t->nlens - 1].bits != out[i].bits) {
            t->lens[t->nlens].bits = out[i].bits;
            t->lens[t->nlens].start = (unsigned) (&out[i] - t->nets);
            t->lens[t->nlens].n = 0;
            t->nlens++;
        }
        t->lens[t->nlens - 1].n++;
    }
    return FY_OK;
}


/* A line of a block with no handler of its own: the table's. */
static int
fy_http_geo_table_handler(fy_conf_t *cf)
{
    return fy_http_geo_table_line(cf, cf->handler_data);
}

int
fy_http_geo_table_read(fy_conf_t *cf, fy_http_geo_table_t *geo,
                       int (*line)(fy_conf_t *cf), void *data)
{
    int  rc;

    if (cf->nargs == 3
        && (cf->args[1].len < 2 || cf->args[1].data[0] != '$'))
    {
        fy_conf_error(cf, "invalid variable name \"%s\"", cf->args[1].data);
        return FY_ERROR;
    }
    rc = line ? fy_conf_parse_lines(cf, line, data)
              : fy_conf_parse_lines(cf, fy_http_geo_table_handler, geo);
    if (rc != FY_OK) {
        return FY_ERROR;
    }
    return fy_http_geo_table_finish(cf, geo);
}

/* ---- lookups ---- */

/* The value of the longest network of t that holds addr, or NULL. */
static const fy_str_t *
fy_http_geo_tree_find(const void *tree, const uint8_t *addr)
{
    const fy_http_geo_tree_t  *t = tree;
    const fy_http_geo_net_t   *nets;
    uint8_t                    key[16];
    unsigned                   l, lo, hi, mid, b, k;
    int                        rc;

    for (l = 0; l < t->nlens; l++) {
        b = t->lens[l].bits;
        for (k = 0; k < t->nbytes; k++) {
            key[k] = b >= 8 ? addr[k] : (uint8_t) (addr[k] & (0xff00 >> b));
            b = b >= 8 ? b - 8 : 0;
        }
        nets = t->nets + t->lens[l].start;
        lo = 0;
        hi = t->lens[l].n;
        while (lo < hi) {
            mid = lo + (hi - lo) / 2;
            rc = memcmp(nets[mid].addr, key, t->nbytes);
            if (rc == 0) {
                return nets[mid].value;
            }
            if (rc < 0) {
                lo = mid + 1;
            } else {
                hi = mid;
            }
        }
    }
    return NULL;
}


const fy_str_t *
fy_http_geo_table_find(const fy_http_geo_table_t *geo, int family,
                       const uint8_t addr[16])
{
    const fy_http_geo_range_t  *rg;
    uint32_t                    a;
    unsigned                    i;

    if (!geo->ranges) {
        return fy_http_geo_tree_find(family == AF_INET ? &geo->v4 : &geo->v6,
                                     addr);
    }
    a = 0xffffffff;             /* ranges are IPv4 only (nginx) */
    if (family == AF_INET) {
        a = (uint32_t) addr[0] << 24 | (uint32_t) addr[1] << 16
            | (uint32_t) addr[2] << 8 | addr[3];
    }
    i = fy_http_geo_range_find(&geo->range, a);
    if (i < geo->range.nelts) {
        rg = fy_array_elt(&geo->range, fy_http_geo_range_t, i);
        if (rg->start <= a) {
            return rg->value;
        }
    }
    return geo->deflt;
}

int
fy_http_geo_text_addr(const u_char *text, size_t len, struct sockaddr_in6 *sa)
{
    char  buf[64];

    memset(sa, 0, sizeof(*sa));
    if (len >= sizeof(buf)) {
        return FY_ERROR;
    }
    memcpy(buf, text, len);
    buf[len] = '\0';
    if (inet_pton(AF_INET, buf,
                  &((struct sockaddr_in *) (void *) sa)->sin_addr) == 1)
    {
        sa->sin6_family = AF_INET;
        return FY_OK;
    }
    if (inet_pton(AF_INET6, buf, &sa->sin6_addr) == 1) {
        sa->sin6_family = AF_INET6;
        return FY_OK;
    }
    return FY_ERROR;
}

int
fy_http_geo_table_each(const fy_http_geo_table_t *geo,
                       int (*fn)(const fy_str_t *value, void *data),
                       void *data)
{
    const fy_http_geo_tree_t  *t;
    unsigned                   i, k;

    if (geo->deflt && fn(geo->deflt, data) != FY_OK) {
        return FY_ERROR;
    }
    for (i = 0; i < geo->range.nelts; i++) {
        if (fn(fy_array_elt(&geo->range, fy_http_geo_range_t, i)->value,
               data) != FY_OK)
        {
            return FY_ERROR;
        }
    }
    for (k = 0; k < 2; k++) {
        t = k ? &geo->v6 : &geo->v4;
        for (i = 0; t->nlens && i < t->lens[t->nlens - 1].start
                                    + t->lens[t->nlens - 1].n; i++)
        {
            if (fn(t->nets[i].value, data) != FY_OK) {
                return FY_ERROR;
            }
        }
    }
    return FY_OK;
}
