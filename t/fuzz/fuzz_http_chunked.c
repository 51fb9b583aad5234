/*
 * fuzz_http_chunked.c -- the chunked transfer coding parser
 * (fy_http_parse_chunked), as the proxy runs it on an upstream's body.
 *
 * The parser keeps no pointers into the buffer, so the split passes
 * hand it each piece in a buffer of its own (malloc'ed to the exact
 * size, freed right after): a read past b->last or a stale pointer is
 * an ASan report.  Checked as well: the decoded data, the result and
 * where the body ended (or failed) are the same however the input is
 * split, data spans lie inside the bytes just consumed, and the size
 * line and trailer limits hold.  Both readings run: the strict one
 * (an upstream's body, relayed as it came) may only refuse more than
 * the lax one (a client's body), never accept or decode differently.
 */

#include "fy_core.h"
#include "fy_http_parse.h"
#include "fy_fuzz_trace.h"


typedef struct {
    fy_fuzz_trace_t   t;
    u_char           *body;       /* decoded data */
    size_t            len;
    int               rc;         /* the last result */
    size_t            end;        /* where FY_DONE or an error stopped */
} result_t;


static void
run(const uint8_t *data, size_t size, int mode, int strict, result_t *res)
{
    fy_http_chunked_t  c;
    fy_buf_t           b;
    u_char            *piece, *before;
    size_t             off, n;
    uint32_t           rng;
    int                rc;

    memset(&c, 0, sizeof(c));
    c.strict = (unsigned) strict;
    res->body = malloc(size ? size : 1);
    res->end = size;
    res->len = 0;
    rng = fy_fuzz_hash(data, size) | 1;

    rc = FY_AGAIN;

    for (off = 0; off < size && rc == FY_AGAIN; off += n) {
        if (mode == FY_FUZZ_WHOLE) {
            n = size;

        } else if (mode == FY_FUZZ_BYTES) {
            n = 1;

        } else {
            rng ^= rng << 13;
            rng ^= rng >> 17;
            rng ^= rng << 5;
            n = 1 + rng % 64;
        }

        n = fy_min(n, size - off);

        piece = malloc(n);
        memcpy(piece, data + off, n);
        b.start = b.pos = piece;
        b.last = b.end = piece + n;

        for ( ;; ) {
            before = b.pos;
            rc = fy_http_parse_chunked(&c, &b);

            fy_fuzz_assert(b.pos >= before && b.pos <= b.last);

            if (rc == FY_OK) {
                fy_fuzz_assert(c.data >= before && c.len > 0
                               && c.data + c.len == b.pos);
                memcpy(res->body + res->len, c.data, c.len);
                res->len += c.len;

                if (b.pos < b.last) {
                    continue;
                }

                rc = FY_AGAIN;
                break;
            }

            if (rc == FY_AGAIN) {
                fy_fuzz_assert(b.pos == b.last);
                fy_fuzz_assert(c.meta_len <= FY_HTTP_CHUNK_TRAILER_MAX);
                break;
            }

            /* FY_DONE or an error: where, in the whole input */
            fy_fuzz_assert(rc == FY_DONE
                           || rc == FY_HTTP_PARSE_INVALID_CHUNKED);
            fy_fuzz_assert(rc == FY_DONE ? b.pos > b.start : b.pos < b.last);
            res->end = off + (size_t) (b.pos - b.start);
            fy_fuzz_trace_add(&res->t, (long) res->end);
            break;
        }

        free(piece);
    }

    res->rc = rc;
    fy_fuzz_trace_add(&res->t, rc);
    fy_fuzz_trace_add(&res->t, (long) res->len);
    fy_fuzz_assert(res->len <= size);
}


static void
same(const result_t *a, const result_t *b, const char *what)
{
    fy_fuzz_trace_same(&a->t, &b->t, what);

    if (memcmp(a->body, b->body, a->len) != 0) {
        fprintf(stderr, "%s: decoded data differs\n", what);
        abort();
    }
}


static void
result_free(result_t *r)
{
    fy_fuzz_trace_free(&r->t);
    free(r->body);
}


/* The same input, split three ways, in one reading. */
static void
run_all(const uint8_t *data, size_t size, int strict, result_t *whole)
{
    result_t  bytes = { 0 }, pieces = { 0 };

    run(data, size, FY_FUZZ_WHOLE, strict, whole);
    run(data, size, FY_FUZZ_BYTES, strict, &bytes);
    run(data, size, FY_FUZZ_RANDOM, strict, &pieces);

    same(whole, &bytes, strict ? "strict, byte by byte" : "byte by byte");
    same(whole, &pieces, strict ? "strict, random pieces" : "random pieces");

    result_free(&bytes);
    result_free(&pieces);
}


int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    result_t  lax = { 0 }, strict = { 0 };

    size = fy_min(size, FY_FUZZ_MAX_LEN);

    run_all(data, size, 0, &lax);
    run_all(data, size, 1, &strict);

    /* both walk the same states until the strict one refuses */
    fy_fuzz_assert(strict.len <= lax.len
                   && memcmp(strict.body, lax.body, strict.len) == 0);
    if (strict.rc == FY_DONE) {
        fy_fuzz_assert(lax.rc == FY_DONE && lax.end == strict.end
                       && lax.len == strict.len);
    }
    if (lax.rc == FY_HTTP_PARSE_INVALID_CHUNKED) {
        fy_fuzz_assert(strict.rc == FY_HTTP_PARSE_INVALID_CHUNKED
                       && strict.end <= lax.end);
    }

    result_free(&lax);
    result_free(&strict);

    return 0;
}
