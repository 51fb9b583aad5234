/*
 * fy_fuzz_trace.h -- a growable list of numbers: what one parse pass
 * produced (results, offsets of the pieces found), so that passes over
 * differently split input can be compared with one memcmp().
 */
#ifndef FY_FUZZ_TRACE_H
#define FY_FUZZ_TRACE_H

#include "fy_fuzz.h"

typedef struct {
    long    *v;
    size_t   n;
    size_t   cap;
} fy_fuzz_trace_t;


static inline void
fy_fuzz_trace_add(fy_fuzz_trace_t *t, long v)
{
    if (t->n == t->cap) {
        t->cap = t->cap ? t->cap * 2 : 64;
        t->v = realloc(t->v, t->cap * sizeof(long));
        if (t->v == NULL) {
            abort();
        }
    }

    t->v[t->n++] = v;
}


/* Abort, printing where they first differ, unless a and b are equal. */
static inline void
fy_fuzz_trace_same(const fy_fuzz_trace_t *a, const fy_fuzz_trace_t *b,
    const char *what)
{
    size_t  i;

    if (a->n == b->n && memcmp(a->v, b->v, a->n * sizeof(long)) == 0) {
        return;
    }

    for (i = 0; i < a->n && i < b->n && a->v[i] == b->v[i]; i++) {
        /* void */
    }

    fprintf(stderr, "%s: results differ from the whole-input parse at "
            "item %zu (%zu vs %zu items): %ld vs %ld\n", what, i, a->n, b->n,
            i < a->n ? a->v[i] : -999, i < b->n ? b->v[i] : -999);
    abort();
}


static inline void
fy_fuzz_trace_free(fy_fuzz_trace_t *t)
{
    free(t->v);
    t->v = NULL;
    t->n = t->cap = 0;
}

#endif /* FY_FUZZ_TRACE_H */
