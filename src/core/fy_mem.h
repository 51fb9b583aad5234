/*
 * fy_mem.h -- malloc/free for the blocks every request takes and gives
 * back (pools, buffers): a few per-process free lists in front of
 * malloc, see fy_mem.c.  The size given to fy_mem_free must be the one
 * the block was allocated with.
 */
#ifndef FY_MEM_H
#define FY_MEM_H

void *fy_mem_alloc(size_t size);
void  fy_mem_free(void *p, size_t size);      /* NULL is fine */

#endif /* FY_MEM_H */
