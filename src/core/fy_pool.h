/*
 * fy_pool.h -- an arena: many small allocations, freed together.
 *
 * A configuration is built in one pool so that a failed reload frees
 * everything it parsed with one call, and a request can later get its
 * own pool the same way.  Memory from a pool is never freed alone.
 */
#ifndef FY_POOL_H
#define FY_POOL_H

typedef struct fy_pool_block_s fy_pool_block_t;

typedef struct fy_pool_cleanup_s {
    void                     (*handler)(void *data);
    void                      *data;
    struct fy_pool_cleanup_s  *next;
} fy_pool_cleanup_t;

typedef struct {
    fy_pool_block_t    *blocks;     /* newest first */
    size_t              block_size; /* default size of a new block */
    fy_pool_cleanup_t  *cleanups;   /* run in reverse order of adding */
    fy_pool_block_t    *first;      /* holds this struct; from fy_mem */
} fy_pool_t;

fy_pool_t *fy_pool_create(size_t block_size);
void       fy_pool_destroy(fy_pool_t *pool);        /* NULL is fine */
void      *fy_palloc(fy_pool_t *pool, size_t size); /* aligned to 16 */
void      *fy_pcalloc(fy_pool_t *pool, size_t size);
/* NUL-terminated copy of n bytes */
char      *fy_pstrndup(fy_pool_t *pool, const void *s, size_t n);
/* Register handler(data) to run when the pool is destroyed. */
int        fy_pool_cleanup_add(fy_pool_t *pool, void (*handler)(void *),
                               void *data);
/* Run now, and forget, the cleanups added since pool->cleanups was
 * mark (newest first); the pool's memory stays. */
void       fy_pool_cleanup_run_to(fy_pool_t *pool, fy_pool_cleanup_t *mark);

#endif /* FY_POOL_H */
