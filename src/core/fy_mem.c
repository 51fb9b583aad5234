/*
 * fy_mem.c -- malloc and free, with a few free lists in front.
 *
 * Every proxied request takes and gives back the same few blocks: its
 * pool, the client's header buffer (given back while the connection
 * idles, so that an idle keep-alive connection costs almost nothing)
 * and the response buffer.  They are 4 to 16 KiB, too big for glibc's
 * per-thread cache, so each malloc and free walked the bins (about
 * 1,700 instructions per request in callgrind) and now and then moved
 * the heap top with brk().
 *
 * Sizes from 1 KiB to 64 KiB are rounded up to a power of two; a freed
 * block goes on its size's list, from which the next request of that
 * size takes it back in a few instructions.  A list keeps up to 1 MiB
 * (FY_MEM_KEEP_BYTES: 1,024 blocks of 1 KiB ... 16 of 64 KiB) and at
 * least FY_MEM_KEEP_MIN blocks: what a process holds unused is bounded
 * (8 MiB at the very worst, what its busiest moment left in practice),
 * not a function of its connections.  The lists must hold what the
 * requests in flight at once give back between two of their arrivals:
 * with 32 blocks a size, 50 keep-alive clients made a third of the
 * allocations miss (measured: docs/performance.md).  The lists are per process (the loop is single
 * threaded); a forked child inherits its parent's, which is harmless.
 *
 * Under AddressSanitizer the lists are off, so that a use after free
 * is still caught.
 */
#include "fy_core.h"


#define FY_MEM_MIN_SHIFT  10        /* 1 KiB: malloc is fast below */
#define FY_MEM_MAX_SHIFT  16        /* 64 KiB */
#define FY_MEM_KEEP_BYTES (1024u * 1024)
#define FY_MEM_KEEP_MIN   32u

#if defined(__SANITIZE_ADDRESS__)
#define FY_MEM_CACHE      0
#elif defined(__has_feature)
#if __has_feature(address_sanitizer)
#define FY_MEM_CACHE      0
#endif
#endif
#ifndef FY_MEM_CACHE
#define FY_MEM_CACHE      1
#endif

typedef struct fy_mem_free_s  fy_mem_free_t;

struct fy_mem_free_s {
    fy_mem_free_t  *next;
};

typedef struct {
    unsigned        n;
    fy_mem_free_t  *head;
} fy_mem_list_t;

static fy_mem_list_t  fy_mem_lists[FY_MEM_MAX_SHIFT - FY_MEM_MIN_SHIFT + 1];


/* The list for `size`, or -1 if blocks of that size are not kept. */
static int
fy_mem_class(size_t size)
{
    if (!FY_MEM_CACHE || size < ((size_t) 1 << FY_MEM_MIN_SHIFT)
        || size > ((size_t) 1 << FY_MEM_MAX_SHIFT))
    {
        return -1;
    }
    /* the smallest power of two >= size, 2^(bits of size - 1); one
     * instruction where a loop took six steps for the 16 KiB buffers */
    return (int) (sizeof(unsigned long) * 8)
           - __builtin_clzl((unsigned long) size - 1) - FY_MEM_MIN_SHIFT;
}


void *
fy_mem_alloc(size_t size)
{
    fy_mem_list_t  *l;
    fy_mem_free_t  *f;
    int             c = fy_mem_class(size);

    if (c < 0) {
        return malloc(size);
    }
    l = &fy_mem_lists[c];
    f = l->head;
    if (f) {
        l->head = f->next;
        l->n--;
        return f;
    }
    return malloc((size_t) 1 << (c + FY_MEM_MIN_SHIFT));
}


void
fy_mem_free(void *p, size_t size)
{
    fy_mem_list_t  *l;
    fy_mem_free_t  *f = p;
    int             c = fy_mem_class(size);

    if (p == NULL) {
        return;
    }
    if (c >= 0
        && fy_mem_lists[c].n < fy_max(FY_MEM_KEEP_MIN,
                                      FY_MEM_KEEP_BYTES
                                      >> (unsigned) (c + FY_MEM_MIN_SHIFT)))
    {
        l = &fy_mem_lists[c];
        f->next = l->head;
        l->head = f;
        l->n++;
        return;
    }
    free(p);
}
