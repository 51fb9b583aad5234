/*
 * fy_array.h -- a growable array of fixed-size elements in a pool.
 * Growing copies into a bigger pool allocation; the old one stays in
 * the pool until the pool goes (arrays here are built once, at config
 * time, so the waste is small and bounded).
 */
#ifndef FY_ARRAY_H
#define FY_ARRAY_H

#include "fy_core.h"
#include "fy_pool.h"

typedef struct {
    void       *elts;
    unsigned    nelts;
    unsigned    nalloc;
    size_t      size;
    fy_pool_t  *pool;
} fy_array_t;

void  fy_array_init(fy_array_t *a, fy_pool_t *pool, unsigned n, size_t size);
/* Pointer to a new zeroed element at the end; NULL on allocation failure */
void *fy_array_push(fy_array_t *a);

#define fy_array_elt(a, type, i)  (&((type *) (a)->elts)[i])

#endif /* FY_ARRAY_H */
