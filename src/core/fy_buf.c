/*
 * fy_buf.c -- heap-backed byte buffers (from fy_mem: a buffer given
 * back is usually taken again by the next request).
 */
#include "fy_core.h"


int
fy_buf_alloc(fy_buf_t *b, size_t size)
{
    b->start = fy_mem_alloc(size ? size : 1);
    if (b->start == NULL) {
        b->pos = b->last = b->end = NULL;
        return FY_ERROR;
    }

    b->pos = b->start;
    b->last = b->start;
    b->end = b->start + size;

    return FY_OK;
}


void
fy_buf_release(fy_buf_t *b)
{
    if (b->start) {
        fy_mem_free(b->start, (size_t) (b->end - b->start));
    }
    b->start = b->pos = b->last = b->end = NULL;
}


void
fy_buf_compact(fy_buf_t *b)
{
    size_t  n;

    if (b->pos == b->start) {
        return;
    }

    n = fy_buf_size(b);

    /* The ranges may overlap when less than half was consumed. */
    if (n) {
        memmove(b->start, b->pos, n);
    }

    b->pos = b->start;
    b->last = b->start + n;
}
