/*
 * fy_http_gzip_stream.c -- the deflate stream of a compressed response
 * (fy_http_gzip_t): body pieces in, iovecs for the client out, chunked
 * for HTTP/1.1 clients; and whole small bodies compressed at once.
 *
 * Memory.  zlib's deflate takes (1 << (windowBits + 2)) + (1 <<
 * (memLevel + 9)) bytes plus its state (about 6 KiB).  nginx's values
 * (32 KiB window, memLevel 8) cost 256 KiB per response; ferry's
 * defaults, gzip_window 8k and gzip_hash 16k (windowBits 13, memLevel
 * 6), cost 64 KiB, about 5% less compression at level 1 on text.  With
 * the 16 KiB output buffer (gzip_buffers 4 4k) that is about 86 KiB per
 * response being compressed: 10,000 at once take about 860 MB.  A body
 * of known small length gets a smaller window and hash (nginx does the
 * same).  All of it is allocated from the request's pool: the pool's
 * cleanup ends the stream and frees it whatever way the request ends.
 */
#include "fy_core.h"
#include "fy_http.h"
#include "fy_http_gzip.h"

#include <zlib.h>

struct fy_http_gzip_s {
    z_stream             z;
    fy_http_request_t   *r;
    u_char              *out;          /* output buffer */
    size_t               size;
    int                  flush;        /* Z_NO_FLUSH, Z_SYNC_FLUSH, Z_FINISH */
    unsigned             chunked:1;    /* HTTP/1.1: output as chunks */
    unsigned             holds:1;      /* input taken since the last flush */
    unsigned             handed:1;     /* out was handed out: reuse it */
    unsigned             end:1;        /* Z_STREAM_END seen */
    unsigned             done:1;       /* ... and its output handed out */
    unsigned             live:1;       /* deflateEnd still to call */
    unsigned             inflate:1;    /* gunzip: inflate, not deflate */
    unsigned             member:1;     /* gunzip: inside a gzip member */
    char                 chunk[24];    /* "%zx\r\n" */
};

/* zlib's memory comes from the request's pool: freed with it. */
static voidpf
fy_http_gzip_alloc(voidpf opaque, uInt items, uInt size)
{
    if (size && items > SIZE_MAX / size) {
        return Z_NULL;
    }
    return fy_palloc(opaque, (size_t) items * size);
}

static void
fy_http_gzip_free(voidpf opaque, voidpf address)
{
    fy_unused(opaque);
    fy_unused(address);
}

static void
fy_http_gzip_cleanup(void *data)
{
    fy_http_gzip_t  *gz = data;

    if (gz->live) {
        gz->live = 0;
        if (gz->inflate) {
            inflateEnd(&gz->z);
        } else {
            deflateEnd(&gz->z);
        }
    }
}

/* windowBits and memLevel for g, smaller for a known small body: the
 * window need not be larger than the body plus zlib's lookahead (262
 * bytes), and the hash shrinks with it. */
static void
fy_http_gzip_params(const fy_http_gzip_conf_t *g, int64_t length,
                    int *wbits, int *memlevel)
{
    int  w = 9, m = 1;

    while ((1 << w) < (int) g->window) {
        w++;
    }
    while ((1 << (m + 8)) < (int) g->hash) {
        m++;
    }
    if (length >= 0) {
        while (w > 9 && length < (1 << (w - 1)) - 262) {
            w--;
            if (m > 1) {
                m--;
            }
        }
    }
    *wbits = w;
    *memlevel = m;
}

static int
fy_http_gzip_init(fy_http_request_t *r, z_stream *z, int64_t length)
{
    const fy_http_gzip_conf_t  *g = &r->loc->gzip;
    int                         wbits, memlevel, rc;

    fy_http_gzip_params(g, length, &wbits, &memlevel);
    memset(z, 0, sizeof(*z));
    z->zalloc = fy_http_gzip_alloc;
    z->zfree = fy_http_gzip_free;
    z->opaque = r->pool;
    /* windowBits + 16: a gzip header and trailer around the deflate
     * data (RFC 1952) */
    rc = deflateInit2(z, g->level, Z_DEFLATED, wbits + 16, memlevel,
                      Z_DEFAULT_STRATEGY);
    if (rc != Z_OK) {
        fy_log_error(FY_LOG_ALERT, 0, "deflateInit2() failed: %d", rc);
        return FY_ERROR;
    }
    return FY_OK;
}

/* The stream with an output buffer of `size` bytes, its cleanup
 * registered; zlib's state still to be made.  NULL: no memory. */
static fy_http_gzip_t *
fy_http_gzip_new(fy_http_request_t *r, size_t size)
{
    fy_http_gzip_t  *gz;

    gz = fy_pcalloc(r->pool, sizeof(fy_http_gzip_t));
    if (gz == NULL) {
        return NULL;
    }
    gz->size = size;
    gz->out = fy_palloc(r->pool, gz->size);
    if (gz->out == NULL
        || fy_pool_cleanup_add(r->pool, fy_http_gzip_cleanup, gz) != FY_OK)
    {
        return NULL;
    }
    gz->r = r;
    gz->chunked = fy_http_chunked_out(r);
    gz->flush = Z_NO_FLUSH;
    return gz;
}

fy_http_gzip_t *
fy_http_gzip_start(fy_http_request_t *r, int64_t length)
{
    const fy_http_gzip_conf_t  *g = &r->loc->gzip;
    fy_http_gzip_t             *gz;

    gz = fy_http_gzip_new(r, (size_t) g->bufs.num * g->bufs.size);
    if (gz == NULL || fy_http_gzip_init(r, &gz->z, length) != FY_OK) {
        return NULL;
    }
    gz->live = 1;
    gz->z.next_out = gz->out;
    gz->z.avail_out = (uInt) gz->size;
    return gz;
}

fy_http_gzip_t *
fy_http_gunzip_stream(fy_http_request_t *r, size_t size)
{
    fy_http_gzip_t  *gz;
    int              rc;

    gz = fy_http_gzip_new(r, size);
    if (gz == NULL) {
        return NULL;
    }
    gz->inflate = 1;
    gz->z.zalloc = fy_http_gzip_alloc;
    gz->z.zfree = fy_http_gzip_free;
    gz->z.opaque = r->pool;
    /* windowBits + 16: gzip members only (RFC 1952), as nginx; the
     * largest window, since the sender's is not known */
    rc = inflateInit2(&gz->z, MAX_WBITS + 16);
    if (rc != Z_OK) {
        fy_log_error(FY_LOG_ALERT, 0, "inflateInit2() failed: %d", rc);
        return NULL;
    }
    gz->live = 1;
    gz->z.next_out = gz->out;
    gz->z.avail_out = (uInt) gz->size;
    return gz;
}

void
fy_http_gzip_input(fy_http_gzip_t *gz, const u_char *data, size_t len)
{
    /* z_stream wants a non-const pointer; deflate only reads it */
    gz->z.next_in = (Bytef *) (uintptr_t) data;
    gz->z.avail_in = (uInt) len;
    if (len) {
        gz->holds = 1;
    }
}

int
fy_http_gzip_wants_input(const fy_http_gzip_t *gz)
{
    return gz->z.avail_in == 0 && gz->flush == Z_NO_FLUSH && !gz->end;
}

int
fy_http_gzip_holds(const fy_http_gzip_t *gz)
{
    return gz->holds && gz->flush == Z_NO_FLUSH && !gz->end;
}

void
fy_http_gzip_flush(fy_http_gzip_t *gz)
{
    if (gz->flush == Z_NO_FLUSH) {
        gz->flush = Z_SYNC_FLUSH;
    }
}

void
fy_http_gzip_finish(fy_http_gzip_t *gz)
{
    gz->flush = Z_FINISH;
}

int
fy_http_gzip_done(const fy_http_gzip_t *gz)
{
    return gz->done;
}

/* One deflate call: until the input is used up or the buffer is full
 * (bounded work per call, and the caller writes between calls). */
static int
fy_http_gzip_step(fy_http_gzip_t *gz)
{
    int  rc;

    rc = deflate(&gz->z, gz->flush);
    if (rc == Z_STREAM_END) {
        gz->end = 1;
        /* $gzip_ratio */
        gz->r->gzip_in = gz->z.total_in;
        gz->r->gzip_out = gz->z.total_out;
        fy_http_gzip_cleanup(gz);   /* all is in gz->out */
    } else if (rc != Z_OK
               && !(rc == Z_BUF_ERROR && gz->z.avail_in == 0
                    && gz->flush == Z_NO_FLUSH))
    {
        /* Z_BUF_ERROR with work to do and room to do it in: no
         * progress is possible, and calling again would spin */
        fy_log_error(FY_LOG_ALERT, 0, "deflate() failed: %d, client %s",
                     rc, gz->r->hc->addr_text);
        return FY_ERROR;
    }
    return FY_OK;
}

/*
 * One inflate call (gunzip), the same way.  A body may be several gzip
 * members one after the other (RFC 1952 2.2, what `cat a.gz b.gz`
 * makes): at a member's end the stream is reset for the next one, as
 * nginx does.  A corrupt member, bytes after the last one that are not
 * gzip, or a body that ends inside a member are errors: logged, and
 * the caller ends the response there (the client sees it cut short,
 * never a complete-looking wrong body).
 */
static int
fy_http_gunzip_step(fy_http_gzip_t *gz)
{
    int  rc;

    if (gz->z.avail_in) {
        gz->member = 1;
    }
    /* never Z_FINISH: inflate would call every call that does not end
     * the stream a Z_BUF_ERROR; the end is checked below */
    rc = inflate(&gz->z, gz->flush == Z_NO_FLUSH ? Z_NO_FLUSH
                                                 : Z_SYNC_FLUSH);
    if (rc == Z_STREAM_END) {
        gz->member = 0;
        if (inflateReset(&gz->z) != Z_OK) {
            rc = Z_STREAM_ERROR;
        } else {
            rc = Z_OK;
        }
    } else if (rc == Z_BUF_ERROR && gz->z.avail_out != 0) {
        rc = Z_OK;                  /* no input: nothing to do now */
    }
    if (rc != Z_OK) {
        fy_log_error(FY_LOG_ERR, 0, "inflate() failed: %d (%s) while "
                     "gunzipping the response to client %s, request "
                     "\"%.*s\"", rc, gz->z.msg ? gz->z.msg : "-",
                     gz->r->hc->addr_text, (int) gz->r->request_line.len,
                     gz->r->request_line.data);
        return FY_ERROR;
    }
    if (gz->flush == Z_FINISH && gz->z.avail_in == 0
        && gz->z.avail_out != 0)
    {
        /* all input is taken and all output made */
        if (gz->member) {
            fy_log_error(FY_LOG_ERR, 0, "inflate() found the gzip body "
                         "truncated while gunzipping the response to client "
                         "%s, request \"%.*s\"", gz->r->hc->addr_text,
                         (int) gz->r->request_line.len,
                         gz->r->request_line.data);
            return FY_ERROR;
        }
        gz->end = 1;
        fy_http_gzip_cleanup(gz);
    }
    return FY_OK;
}

int
fy_http_gzip_deflate(fy_http_gzip_t *gz, struct iovec *iov)
{
    static char  crlf[] = "\r\n";
    size_t       n;
    int          rc, i = 0, full;
    fy_str_t     last;

    if (gz->done) {
        return 0;
    }
    if (gz->handed) {
        /* what was handed out last time has been written */
        gz->handed = 0;
        gz->z.next_out = gz->out;
        gz->z.avail_out = (uInt) gz->size;
    }

    if (!gz->end) {
        rc = gz->inflate ? fy_http_gunzip_step(gz) : fy_http_gzip_step(gz);
        if (rc != FY_OK) {
            return FY_ERROR;
        }
    }

    n = (size_t) (gz->z.next_out - gz->out);
    full = gz->z.avail_out == 0;

    if (!gz->end && !full) {
        if (gz->flush == Z_NO_FLUSH) {
            return 0;               /* all input taken; keep collecting */
        }
        if (gz->flush == Z_SYNC_FLUSH) {
            /* complete: deflate left room in the buffer */
            gz->flush = Z_NO_FLUSH;
            gz->holds = 0;
        }
    }
    if (n == 0 && !gz->end) {
        return 0;
    }

    if (gz->chunked && n) {
        iov[i].iov_base = gz->chunk;
        iov[i++].iov_len = (size_t) snprintf(gz->chunk, sizeof(gz->chunk),
                                             "%zx\r\n", n);
    }
    if (n) {
        iov[i].iov_base = gz->out;
        iov[i++].iov_len = n;
    }
    if (gz->chunked) {
        if (gz->end) {
            /* the last chunk, add_trailer's fields in it */
            if (fy_http_trailers_last_chunk(gz->r, n != 0, &last) != FY_OK) {
                return FY_ERROR;
            }
            iov[i].iov_base = last.data;
            iov[i++].iov_len = last.len;
        } else {
            iov[i].iov_base = crlf;
            iov[i++].iov_len = sizeof(crlf) - 1;
        }
    }
    gz->handed = 1;
    if (gz->end) {
        gz->done = 1;
    }
    return i;
}

int
fy_http_gzip_buffer(fy_http_request_t *r, const u_char *in, size_t len,
                    u_char **out, size_t *out_len)
{
    z_stream  z;
    size_t    size;
    int       rc;

    if (len > UINT32_MAX / 2 || fy_http_gzip_init(r, &z, (int64_t) len)
                                != FY_OK)
    {
        return FY_ERROR;
    }
    size = deflateBound(&z, (uLong) len);
    *out = fy_palloc(r->pool, size);
    if (*out == NULL) {
        deflateEnd(&z);
        return FY_ERROR;
    }
    z.next_in = (Bytef *) (uintptr_t) in;
    z.avail_in = (uInt) len;
    z.next_out = *out;
    z.avail_out = (uInt) size;
    rc = deflate(&z, Z_FINISH);
    *out_len = size - z.avail_out;
    deflateEnd(&z);
    if (rc != Z_STREAM_END) {
        fy_log_error(FY_LOG_ALERT, 0, "deflate() failed: %d", rc);
        return FY_ERROR;
    }
    r->gzip_in = len;               /* $gzip_ratio */
    r->gzip_out = *out_len;
    return FY_OK;
}
