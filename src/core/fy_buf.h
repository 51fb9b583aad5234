/*
 * fy_buf.h -- a byte buffer with a read and a write position.
 *
 *   start <= pos <= last <= end
 *   [start, pos)  consumed      [pos, last)  data not yet consumed
 *   [last, end)   free space to read more into
 */
#ifndef FY_BUF_H
#define FY_BUF_H

typedef struct {
    u_char  *start;
    u_char  *pos;
    u_char  *last;
    u_char  *end;
} fy_buf_t;

#define fy_buf_size(b)   ((size_t) ((b)->last - (b)->pos))
#define fy_buf_free(b)   ((size_t) ((b)->end - (b)->last))
#define fy_buf_reset(b)  ((b)->pos = (b)->last = (b)->start)

/* Allocate a buffer with `size` bytes of storage; NULL on failure. */
int  fy_buf_alloc(fy_buf_t *b, size_t size);
void fy_buf_release(fy_buf_t *b);
/* Move the unconsumed bytes to the start to make room at the end. */
void fy_buf_compact(fy_buf_t *b);

#endif /* FY_BUF_H */
