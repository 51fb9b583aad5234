/*
 * fy_http_map_table.c -- the inside of a "map" block: its lines read
 * into a table, and the matching of a string against it, for http's
 * map (fy_http_map.c) and the stream block's (fy_stream_map.c).  The
 * values are the caller's: compiled by its callback (http's or
 * stream's variables), handed back as they were, evaluated by it.
 *
 * Matching goes as nginx documents it: an exact string (ignoring
 * case); with "hostnames", then the longest "*.example.com" or
 * ".example.com" mask, then the longest "www.example.*" mask; then the
 * regexes in the order written; else "default" (empty if none).
 */
#include "fy_core.h"
#include "fy_http.h"

#include <ctype.h>

typedef struct {
    fy_str_t        key;        /* lowercase; a mask keeps its '*' / '.' */
    void           *value;
    const char     *file;       /* where it was written, for errors */
    unsigned        line;
} fy_http_map_entry_t;

typedef struct {
    fy_http_regex_t  *re;
    void             *value;
} fy_http_map_regex_t;

void
fy_http_map_table_init(fy_conf_t *cf, fy_http_map_table_t *t,
                       fy_http_map_value_pt compile)
{
    memset(t, 0, sizeof(*t));
    t->compile = compile;
    fy_array_init(&t->exact, cf->pool, 8, sizeof(fy_http_map_entry_t));
    fy_array_init(&t->head, cf->pool, 2, sizeof(fy_http_map_entry_t));
    fy_array_init(&t->tail, cf->pool, 2, sizeof(fy_http_map_entry_t));
    fy_array_init(&t->regexes, cf->pool, 2, sizeof(fy_http_map_regex_t));
}

/* Report an error at where an entry was written (cf is past it by
 * now). */
void
fy_http_map_error_at(fy_conf_t *cf, const char *file, unsigned line,
                     const char *what, const fy_str_t *name)
{
    fy_conf_file_t  *saved_file = cf->file, at;
    unsigned         saved_line = cf->line;

    memset(&at, 0, sizeof(at));
    at.name = file;
    cf->file = file ? &at : NULL;
    cf->line = line;
    fy_conf_error(cf, what, (int) name->len, name->data);
    cf->file = saved_file;
    cf->line = saved_line;
}

static int
fy_http_map_entry_cmp(const void *a, const void *b)
{
    const fy_http_map_entry_t  *x = a, *y = b;
    size_t                      n = fy_min(x->key.len, y->key.len);
    int                         rc = n ? memcmp(x->key.data, y->key.data, n)
                                       : 0;

    if (rc) {
        return rc;
    }
    return (x->key.len > y->key.len) - (x->key.len < y->key.len);
}

/* Is key a mask nginx takes with "hostnames": "*.a.b", ".a.b" or
 * "a.b.*", with no other '*'?  -1: it has a '*' but is not one. */
static int
fy_http_map_mask(const fy_str_t *key)
{
    const u_char  *star = memchr(key->data, '*', key->len);

    if (key->len > 2 && key->data[0] == '*' && key->data[1] == '.') {
        return memchr(key->data + 1, '*', key->len - 1) ? -1 : 1;
    }
    if (key->len > 2 && key->data[key->len - 1] == '*'
        && key->data[key->len - 2] == '.')
    {
        return star == key->data + key->len - 1 ? 2 : -1;
    }
    if (star) {
        return -1;
    }
    return key->len > 1 && key->data[0] == '.' ? 1 : 0;
}

/* One "SOURCE VALUE;" (or "default", "hostnames", "volatile") line of
 * a map block; cf->handler_data is the table. */
static int
fy_http_map_line(fy_conf_t *cf)
{
    fy_http_map_table_t  *t = cf->handler_data;
    fy_str_t              key = cf->args[0];
    fy_http_map_entry_t  *e;
    fy_http_map_regex_t  *mr;
    void                 *value;
    size_t                i;
    int                   caseless;

    if (cf->nargs == 1 && fy_str_eq(&key, "hostnames")) {
        t->hostnames = 1;
        return FY_OK;
    }
    if (cf->nargs == 1 && fy_str_eq(&key, "volatile")) {
        t->is_volatile = 1;
        return FY_OK;
    }
    if (cf->nargs != 2) {
        fy_conf_error(cf, "invalid number of the map parameters");
        return FY_ERROR;
    }

    if (key.len > 1 && key.data[0] == '~') {
        caseless = key.len > 2 && key.data[1] == '*';
        key.data += 1 + caseless;
        key.len -= 1 + caseless;
        mr = fy_array_push(&t->regexes);
        if (mr == NULL) {
            fy_conf_error(cf, "cannot allocate memory");
            return FY_ERROR;
        }
        /* the regex first: its named groups are variables of the value */
        mr->re = fy_http_regex_compile(cf, &key, caseless);
        if (mr->re == NULL) {
            return FY_ERROR;
        }
        mr->value = t->compile(cf, &cf->args[1]);
        return mr->value ? FY_OK : FY_ERROR;
    }

    value = t->compile(cf, &cf->args[1]);
    if (value == NULL) {
        return FY_ERROR;
    }

    if (fy_str_eq(&key, "default")) {
        if (t->deflt) {
            fy_conf_error(cf, "duplicate default map parameter");
            return FY_ERROR;
        }
        t->deflt = value;
        return FY_OK;
    }

    /* "\~abc", "\default": the string itself */
    if (key.len && key.data[0] == '\\') {
        key.data++;
        key.len--;
    }
    for (i = 0; i < key.len; i++) {
        key.data[i] = (u_char) tolower(key.data[i]);
    }

    e = fy_array_push(&t->exact);
    if (e == NULL) {
        fy_conf_error(cf, "cannot allocate memory");
        return FY_ERROR;
    }
    e->key = key;
    e->value = value;
    e->file = cf->file ? cf->file->name : NULL;
    e->line = cf->line;
    return FY_OK;
}

/* A mask given twice in one list ("conflicting parameter", at the
 * later one, as nginx).  The lists are short and kept in the order
 * written, so a quadratic look is enough. */
static int
fy_http_map_masks_unique(fy_conf_t *cf, fy_array_t *masks)
{
    fy_http_map_entry_t  *e;
    unsigned              i, j;

    for (i = 0; i < masks->nelts; i++) {
        e = fy_array_elt(masks, fy_http_map_entry_t, i);
        for (j = 0; j < i; j++) {
            if (fy_http_map_entry_cmp(fy_array_elt(masks, fy_http_map_entry_t,
                                                   j), e) == 0)
            {
                fy_http_map_error_at(cf, e->file, e->line,
                                     "conflicting parameter \"%.*s\"",
                                     &e->key);
                return FY_ERROR;
            }
        }
    }
    return FY_OK;
}

/* End of a block: sort the strings out into exact ones and masks, sort
 * the exact ones for the binary search, refuse a source given twice. */
static int
fy_http_map_finish(fy_conf_t *cf, fy_http_map_table_t *t)
{
    fy_array_t            all = t->exact;
    fy_http_map_entry_t  *e, *to;
    unsigned              i;
    int                   kind;

    fy_array_init(&t->exact, cf->pool, all.nelts ? all.nelts : 1,
                  sizeof(fy_http_map_entry_t));
    for (i = 0; i < all.nelts; i++) {
        e = fy_array_elt(&all, fy_http_map_entry_t, i);
        kind = t->hostnames ? fy_http_map_mask(&e->key) : 0;
        if (kind < 0) {
            fy_http_map_error_at(cf, e->file, e->line,
                                 "invalid hostname or wildcard \"%.*s\"",
                                 &e->key);
            return FY_ERROR;
        }
        to = fy_array_push(kind == 0 ? &t->exact
                           : kind == 1 ? &t->head : &t->tail);
        if (to == NULL) {
            fy_conf_error(cf, "cannot allocate memory");
            return FY_ERROR;
        }
        *to = *e;
    }

    if (t->exact.nelts > 1) {
        qsort(t->exact.elts, t->exact.nelts, sizeof(fy_http_map_entry_t),
              fy_http_map_entry_cmp);
    }
    for (i = 1; i < t->exact.nelts; i++) {
        e = fy_array_elt(&t->exact, fy_http_map_entry_t, i);
        if (fy_http_map_entry_cmp(e - 1, e) == 0) {
            /* the later of the two, as nginx reports it */
            to = (e - 1)->file == e->file && (e - 1)->line > e->line
                 ? e - 1 : e;
            fy_http_map_error_at(cf, to->file, to->line,
                                 "conflicting parameter \"%.*s\"", &to->key);
            return FY_ERROR;
        }
    }
    if (fy_http_map_masks_unique(cf, &t->head) != FY_OK
        || fy_http_map_masks_unique(cf, &t->tail) != FY_OK)
    {
        return FY_ERROR;
    }
    return FY_OK;
}

int
fy_http_map_table_read(fy_conf_t *cf, fy_http_map_table_t *t)
{
    int  rc;

    rc = fy_conf_parse_lines(cf, fy_http_map_line, t);

    if (rc != FY_OK || fy_http_map_finish(cf, t) != FY_OK) {
        return FY_ERROR;
    }
    return FY_OK;
}

int
fy_http_map_table_each(const fy_http_map_table_t *t,
                       int (*fn)(void *value, void *data), void *data)
{
    const fy_array_t  *lists[] = { &t->exact, &t->head, &t->tail };
    unsigned           i, j;

    if (t->deflt && fn(t->deflt, data) != FY_OK) {
        return FY_ERROR;
    }
    for (i = 0; i < 3; i++) {
        for (j = 0; j < lists[i]->nelts; j++) {
            if (fn(fy_array_elt(lists[i], fy_http_map_entry_t, j)->value,
                   data) != FY_OK)
            {
                return FY_ERROR;
            }
        }
    }
    for (j = 0; j < t->regexes.nelts; j++) {
        if (fn(fy_array_elt(&t->regexes, fy_http_map_regex_t, j)->value,
               data) != FY_OK)
        {
            return FY_ERROR;
        }
    }
    return FY_OK;
}

/* ---- matching ---- */

/* The longest mask of masks that host matches, or NULL. */
static const fy_http_map_entry_t *
fy_http_map_mask_find(const fy_array_t *masks, const fy_str_t *host,
                      int leading)
{
    const fy_http_map_entry_t  *e, *best = NULL;
    const fy_str_t             *k;
    unsigned                    i;
    int                         match;

    for (i = 0; i < masks->nelts; i++) {
        e = fy_array_elt(masks, fy_http_map_entry_t, i);
        k = &e->key;
        if (leading) {
            /* "*.a.b" and ".a.b": names ending in ".a.b"; ".a.b" is
             * also "a.b" itself */
            size_t  skip = k->data[0] == '*';

            match = (host->len > k->len - skip
                     && memcmp(host->data + host->len - (k->len - skip),
                               k->data + skip, k->len - skip) == 0)
                    || (k->data[0] == '.' && host->len == k->len - 1
                        && memcmp(host->data, k->data + 1, k->len - 1) == 0);
        } else {
            /* "www.a.*": names starting with "www.a." */
            match = host->len > k->len - 1
                    && memcmp(host->data, k->data, k->len - 1) == 0;
        }
        if (match && (best == NULL || k->len > best->key.len)) {
            best = e;
        }
    }
    return best;
}

int
fy_http_map_table_find(const fy_http_map_table_t *t, fy_str_t subject,
                       u_char *low_buf, fy_pool_t *pool,
                       fy_http_captures_t **caps, void **value)
{
    const fy_http_map_entry_t  *e = NULL;
    fy_http_map_entry_t         probe;
    const fy_http_map_regex_t  *mr;
    fy_str_t                    low;
    unsigned                    i;
    int                         rc;

    *value = t->deflt;
    if (t->hostnames && subject.len && subject.data[subject.len - 1] == '.') {
        subject.len--;                  /* "example.com." (nginx) */
    }

    low.len = subject.len;
    low.data = low_buf;
    for (i = 0; i < subject.len; i++) {
        low.data[i] = (u_char) tolower(subject.data[i]);
    }

    probe.key = low;
    if (t->exact.nelts) {
        e = bsearch(&probe, t->exact.elts, t->exact.nelts,
                    sizeof(fy_http_map_entry_t), fy_http_map_entry_cmp);
    }
    if (e == NULL && t->hostnames) {
        e = fy_http_map_mask_find(&t->head, &low, 1);
        if (e == NULL) {
            e = fy_http_map_mask_find(&t->tail, &low, 0);
        }
    }
    if (e) {
        *value = e->value;
        return FY_OK;
    }
    for (i = 0; i < t->regexes.nelts; i++) {
        mr = fy_array_elt(&t->regexes, fy_http_map_regex_t, i);
        rc = fy_http_regex_match(pool, mr->re, &subject, caps);
        if (rc == FY_ERROR) {
            return FY_ERROR;
        }
        if (rc == FY_OK) {
            *value = mr->value;
            return FY_OK;
        }
    }
    return FY_OK;
}

int
fy_http_map_table_regex_name(const fy_http_map_table_t *t,
                             const u_char *name, size_t len)
{
    const fy_http_map_regex_t  *mr;
    unsigned                    i;

    for (i = 0; i < t->regexes.nelts; i++) {
        mr = fy_array_elt(&t->regexes, fy_http_map_regex_t, i);
        if (mr->re && fy_http_regex_has_name(mr->re, name, len)) {
            return 1;
        }
    }
    return 0;
}
