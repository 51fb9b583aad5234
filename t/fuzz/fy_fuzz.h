/*
 * fy_fuzz.h -- what the libFuzzer harnesses in t/fuzz/ share.
 *
 * The HTTP parsers resume where they stopped when more bytes are
 * appended to the same buffer.  A harness parses its input twice: all
 * bytes at once, then arriving in pieces (one byte at a time, or in
 * sizes drawn from a generator seeded by the input), and requires the
 * same results.  The bytes that have not "arrived" yet are poisoned
 * for AddressSanitizer, so a parser that looks past b->last crashes
 * at once instead of reading bytes it has not been given.
 *
 * Each harness is built with clang -fsanitize=fuzzer,address,undefined
 * ("make fuzz"); the ASan interface is always there.
 */
#ifndef FY_FUZZ_H
#define FY_FUZZ_H

#include "fy_core.h"

#include <sanitizer/asan_interface.h>

/* Inputs longer than this are cut: headers of interest are short and
 * the split passes are quadratic at worst. */
#define FY_FUZZ_MAX_LEN  8192

/* How the input arrives. */
enum {
    FY_FUZZ_WHOLE = 0,      /* everything at once */
    FY_FUZZ_BYTES,          /* one byte per call */
    FY_FUZZ_RANDOM          /* 1..64 bytes per call, input-seeded */
};

typedef struct {
    u_char    *data;        /* malloc'ed copy, exactly size bytes */
    size_t     size;
    size_t     arrived;     /* bytes made visible so far */
    int        mode;
    uint32_t   rng;
} fy_fuzz_feed_t;


/* FNV-1a: the seed of the piece sizes, so a crash input replays. */
static inline uint32_t
fy_fuzz_hash(const uint8_t *data, size_t size)
{
    uint32_t  h = 2166136261u;

    while (size--) {
        h = (h ^ *data++) * 16777619u;
    }

    return h;
}


/* Copy the input into a buffer of its exact size (ASan catches reads
 * past the end), with nothing arrived yet.  b covers the copy. */
static inline void
fy_fuzz_feed_init(fy_fuzz_feed_t *f, fy_buf_t *b, const uint8_t *data,
    size_t size, int mode)
{
    f->data = malloc(size ? size : 1);
    if (f->data == NULL) {
        abort();
    }

    memcpy(f->data, data, size);
    f->size = size;
    f->arrived = 0;
    f->mode = mode;
    f->rng = fy_fuzz_hash(data, size) | 1;

    ASAN_POISON_MEMORY_REGION(f->data, size);

    b->start = f->data;
    b->pos = f->data;
    b->last = f->data;
    b->end = f->data + size;
}


/* Make the next piece visible: b->last moves on.  0 when all of the
 * input has arrived already. */
static inline int
fy_fuzz_feed_more(fy_fuzz_feed_t *f, fy_buf_t *b)
{
    size_t  n;

    if (f->arrived == f->size) {
        return 0;
    }

    switch (f->mode) {

    case FY_FUZZ_WHOLE:
        n = f->size - f->arrived;
        break;

    case FY_FUZZ_BYTES:
        n = 1;
        break;

    default:
        f->rng ^= f->rng << 13;
        f->rng ^= f->rng >> 17;
        f->rng ^= f->rng << 5;
        n = 1 + f->rng % 64;
        break;
    }

    n = fy_min(n, f->size - f->arrived);

    ASAN_UNPOISON_MEMORY_REGION(f->data + f->arrived, n);

    f->arrived += n;
    b->last = f->data + f->arrived;

    return 1;
}


static inline void
fy_fuzz_feed_free(fy_fuzz_feed_t *f)
{
    ASAN_UNPOISON_MEMORY_REGION(f->data, f->size);
    free(f->data);
}


/* Offset of p in the input, or -1 for NULL: what results compare. */
static inline long
fy_fuzz_off(const fy_fuzz_feed_t *f, const u_char *p)
{
    return p == NULL ? -1 : (long) (p - f->data);
}


/* A failed invariant: abort, which libFuzzer reports as a crash with
 * the input saved.  The message says which one. */
#define fy_fuzz_assert(cond)                                               \
    do {                                                                   \
        if (!(cond)) {                                                     \
            fprintf(stderr, "%s:%d: invariant failed: %s\n",               \
                    __FILE__, __LINE__, #cond);                            \
            abort();                                                       \
        }                                                                  \
    } while (0)

#endif /* FY_FUZZ_H */
