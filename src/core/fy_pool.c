/*
 * fy_pool.c -- an arena of malloc'ed blocks.
 *
 * Small allocations are carved from the newest block; when it is full
 * a new block is started and the rest of the old one is abandoned.
 * An allocation bigger than a quarter of a block gets a block of its
 * own, linked behind the current one, so that one large buffer never
 * wastes the free space of a small-allocation block.
 */
#include "fy_core.h"
#include "fy_pool.h"


#define FY_POOL_ALIGN          16
#define FY_POOL_DEFAULT_SIZE   16384
#define FY_POOL_MIN_SIZE       256

#define fy_align_up(n, a)      (((n) + ((a) - 1)) & ~((uintptr_t) (a) - 1))


struct fy_pool_block_s {
    fy_pool_block_t  *next;
    u_char           *last;    /* first free byte */
    u_char           *end;     /* one past the block */
};

/* The block header is padded so that the data behind it is aligned. */
#define FY_POOL_HDR   fy_align_up(sizeof(fy_pool_block_t), FY_POOL_ALIGN)
/* The first block also holds the pool itself. */
#define FY_POOL_FIRST (FY_POOL_HDR + fy_align_up(sizeof(fy_pool_t),         \
                                                 FY_POOL_ALIGN))


static fy_pool_block_t *
fy_pool_block_new(size_t size)
{
    fy_pool_block_t  *b;

    if (size > SIZE_MAX - FY_POOL_HDR) {
        return NULL;
    }

    b = malloc(FY_POOL_HDR + size);
    if (b == NULL) {
        return NULL;
    }

    b->next = NULL;
    b->last = (u_char *) b + FY_POOL_HDR;
    b->end = b->last + size;

    return b;
}


fy_pool_t *
fy_pool_create(size_t block_size)
{
    fy_pool_t        *pool;
    fy_pool_block_t  *first;

    if (block_size == 0) {
        block_size = FY_POOL_DEFAULT_SIZE;

    } else if (block_size < FY_POOL_MIN_SIZE) {
        block_size = FY_POOL_MIN_SIZE;
    }

    /* The pool lives at the start of its first block, which is
     * block_size bytes in all: one allocation, of a size fy_mem keeps,
     * since a request's pool is made and destroyed with every request. */
    first = fy_mem_alloc(block_size);
    if (first == NULL) {
        return NULL;
    }
    first->next = NULL;
    first->last = (u_char *) first + FY_POOL_FIRST;
    first->end = (u_char *) first + block_size;

    pool = (fy_pool_t *) ((u_char *) first + FY_POOL_HDR);
    pool->block_size = block_size;
    pool->cleanups = NULL;
    pool->blocks = first;
    pool->first = first;

    return pool;
}


void
fy_pool_destroy(fy_pool_t *pool)
{
    fy_pool_cleanup_t  *c;
    fy_pool_block_t    *b, *next, *first;

    if (pool == NULL) {
        return;
    }

    /* Handlers may still read pool memory, so they run first. */
    for (c = pool->cleanups; c; c = c->next) {
        c->handler(c->data);
    }

    first = pool->first;
    for (b = pool->blocks; b; b = next) {
        next = b->next;
        if (b != first) {
            free(b);
        }
    }
    fy_mem_free(first, pool->block_size);
}


/* A block for one large allocation, kept behind the current block. */
static void *
fy_palloc_large(fy_pool_t *pool, size_t size)
{
    fy_pool_block_t  *b;

    b = fy_pool_block_new(size);
    if (b == NULL) {
        return NULL;
    }

    b->last = b->end;
    b->next = pool->blocks->next;
    pool->blocks->next = b;

    return (u_char *) b + FY_POOL_HDR;
}


static void *
fy_palloc_align(fy_pool_t *pool, size_t size, size_t align)
{
    fy_pool_block_t  *b;
    u_char           *p;

    if (size > pool->block_size / 4) {
        return fy_palloc_large(pool, size);
    }

    b = pool->blocks;
    p = (u_char *) fy_align_up((uintptr_t) b->last, align);

    if (p > b->end || (size_t) (b->end - p) < size) {
        b = fy_pool_block_new(pool->block_size);
        if (b == NULL) {
            return NULL;
        }

        b->next = pool->blocks;
        pool->blocks = b;
        p = b->last;
    }

    b->last = p + size;

    return p;
}


void *
fy_palloc(fy_pool_t *pool, size_t size)
{
    return fy_palloc_align(pool, size, FY_POOL_ALIGN);
}


void *
fy_pcalloc(fy_pool_t *pool, size_t size)
{
    void  *p;

    p = fy_palloc(pool, size);
    if (p) {
        memset(p, 0, size);
    }

    return p;
}


/* Strings need no alignment; packing them saves most of a config pool. */
char *
fy_pstrndup(fy_pool_t *pool, const void *s, size_t n)
{
    char  *p;

    if (n == SIZE_MAX) {
        return NULL;
    }

    p = fy_palloc_align(pool, n + 1, 1);
    if (p == NULL) {
        return NULL;
    }

    if (n) {
        memcpy(p, s, n);
    }
    p[n] = '\0';

    return p;
}


int
fy_pool_cleanup_add(fy_pool_t *pool, void (*handler)(void *), void *data)
{
    fy_pool_cleanup_t  *c;

    c = fy_palloc(pool, sizeof(fy_pool_cleanup_t));
    if (c == NULL) {
        return FY_ERROR;
    }

    c->handler = handler;
    c->data = data;
    c->next = pool->cleanups;
    pool->cleanups = c;

    return FY_OK;
}

void
fy_pool_cleanup_run_to(fy_pool_t *pool, fy_pool_cleanup_t *mark)
{
    fy_pool_cleanup_t  *c;

    /* a cleanup only ever goes on the front: mark is further down */
    while (pool->cleanups && pool->cleanups != mark) {
        c = pool->cleanups;
        pool->cleanups = c->next;
        c->handler(c->data);
    }
}
