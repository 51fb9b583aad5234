/*
 * fy_array.c -- growable arrays in a pool.
 */
#include "fy_core.h"
#include "fy_array.h"

void
fy_array_init(fy_array_t *a, fy_pool_t *pool, unsigned n, size_t size)
{
    a->elts = NULL;
    a->nelts = 0;
    a->nalloc = 0;
    a->size = size;
    a->pool = pool;
    if (n) {
        a->elts = fy_palloc(pool, n * size);
        a->nalloc = a->elts ? n : 0;
    }
}

void *
fy_array_push(fy_array_t *a)
{
    void      *elts, *elt;
    unsigned   n;

    if (a->nelts == a->nalloc) {
        n = a->nalloc ? a->nalloc * 2 : 4;
        elts = fy_palloc(a->pool, n * a->size);
        if (elts == NULL) {
            return NULL;
        }
        if (a->nelts) {
            memcpy(elts, a->elts, a->nelts * a->size);
        }
        a->elts = elts;
        a->nalloc = n;
    }

    elt = (char *) a->elts + a->nelts * a->size;
    a->nelts++;
    memset(elt, 0, a->size);
    return elt;
}
