/*
 * fy_http_fastcgi_proto.c -- FastCGI 1.0 records, both ways, without
 * I/O: the headers and name-value pairs of a request, and a resumable
 * parser of the records a responder sends back (STDOUT, STDERR,
 * END_REQUEST), fed whatever bytes a read brought.
 *
 * Every record starts with an 8-byte header: version, type, request
 * id (2 bytes), content length (2 bytes), padding length, reserved.
 */
#include "fy_core.h"
#include "fy_http_fastcgi.h"

void
fy_fcgi_header(u_char *h, unsigned type, unsigned id, size_t content_len,
               unsigned padding)
{
    h[0] = FY_FCGI_VERSION;
    h[1] = (u_char) type;
    h[2] = (u_char) (id >> 8);
    h[3] = (u_char) id;
    h[4] = (u_char) (content_len >> 8);
    h[5] = (u_char) content_len;
    h[6] = (u_char) padding;
    h[7] = 0;
}

void
fy_fcgi_begin_request(u_char *h, int keep_conn)
{
    fy_fcgi_header(h, FY_FCGI_BEGIN_REQUEST, FY_FCGI_REQUEST_ID, 8, 0);
    h[8] = 0;
    h[9] = FY_FCGI_RESPONDER;
    /* without FCGI_KEEP_CONN the application closes the connection
     * after the request: the end of the response is seen either way */
    h[10] = keep_conn ? FY_FCGI_KEEP_CONN : 0;
    memset(h + 11, 0, 5);
}

size_t
fy_fcgi_pair_len(size_t nlen, size_t vlen)
{
    return (nlen > 127 ? 4 : 1) + (vlen > 127 ? 4 : 1) + nlen + vlen;
}

static u_char *
fy_fcgi_put_len(u_char *p, size_t len)
{
    if (len > 127) {
        *p++ = (u_char) (((len >> 24) & 0x7f) | 0x80);
        *p++ = (u_char) (len >> 16);
        *p++ = (u_char) (len >> 8);
        *p++ = (u_char) len;
    } else {
        *p++ = (u_char) len;
    }
    return p;
}

u_char *
fy_fcgi_pair_lens(u_char *p, size_t nlen, size_t vlen)
{
    p = fy_fcgi_put_len(p, nlen);
    return fy_fcgi_put_len(p, vlen);
}

u_char *
fy_fcgi_pair_put(u_char *p, const u_char *name, size_t nlen,
                 const u_char *value, size_t vlen)
{
    p = fy_fcgi_pair_lens(p, nlen, vlen);
    memcpy(p, name, nlen);
    p += nlen;
    if (vlen) {
        memcpy(p, value, vlen);
    }
    return p + vlen;
}

/* ---- the parser ---- */

enum {
    FY_FCGI_ST_HEADER = 0,
    FY_FCGI_ST_CONTENT,
    FY_FCGI_ST_PADDING,
    FY_FCGI_ST_DONE
};

void
fy_fcgi_parser_init(fy_fcgi_parser_t *ps, fy_fcgi_stderr_pt on_stderr,
                    void *ctx)
{
    memset(ps, 0, sizeof(*ps));
    ps->on_stderr = on_stderr;
    ps->ctx = ctx;
}

/* A record header is complete: check it and take its lengths.  What
 * ferry asked for is one responder request with id 1, so only its
 * STDOUT, STDERR and END_REQUEST can come (as nginx accepts). */
static int
fy_fcgi_record_start(fy_fcgi_parser_t *ps)
{
    unsigned  id;

    if (ps->hdr[0] != FY_FCGI_VERSION) {
        return FY_ERROR;
    }
    ps->type = ps->hdr[1];
    id = (unsigned) ps->hdr[2] << 8 | ps->hdr[3];
    if (id != FY_FCGI_REQUEST_ID
        || (ps->type != FY_FCGI_STDOUT && ps->type != FY_FCGI_STDERR
            && ps->type != FY_FCGI_END_REQUEST))
    {
        return FY_ERROR;
    }
    ps->rest = (size_t) ps->hdr[4] << 8 | ps->hdr[5];
    ps->padding = ps->hdr[6];
    ps->end_len = 0;
    return FY_OK;
}

/* The content of the current record is all read. */
static void
fy_fcgi_record_end(fy_fcgi_parser_t *ps)
{
    if (ps->type == FY_FCGI_STDERR && ps->on_stderr) {
        ps->on_stderr(ps->ctx, NULL, 0, 1);
    }
    if (ps->type == FY_FCGI_END_REQUEST) {
        ps->ended = 1;
        if (ps->end_len >= 5) {
            ps->app_status = (uint32_t) ps->end[0] << 24
                             | (uint32_t) ps->end[1] << 16
                             | (uint32_t) ps->end[2] << 8 | ps->end[3];
            ps->protocol_status = ps->end[4];
        }
    }
    ps->state = ps->padding ? FY_FCGI_ST_PADDING : FY_FCGI_ST_HEADER;
    if (ps->ended && ps->padding == 0) {
        ps->state = FY_FCGI_ST_DONE;
    }
}

ssize_t
fy_fcgi_parse(fy_fcgi_parser_t *ps, u_char *buf, size_t n)
{
    u_char  *p = buf, *end = buf + n, *out = buf;
    size_t   k, m;

    while (p < end) {
        switch (ps->state) {

        case FY_FCGI_ST_HEADER:
            k = fy_min((size_t) (end - p),
                       (size_t) (FY_FCGI_HEADER_LEN - ps->hdr_len));
            memcpy(ps->hdr + ps->hdr_len, p, k);
            ps->hdr_len += (unsigned) k;
            p += k;
            if (ps->hdr_len < FY_FCGI_HEADER_LEN) {
                break;
            }
            ps->hdr_len = 0;
            if (fy_fcgi_record_start(ps) != FY_OK) {
                return -1;
            }
            ps->state = FY_FCGI_ST_CONTENT;
            if (ps->rest == 0) {
                fy_fcgi_record_end(ps);
            }
            break;

        case FY_FCGI_ST_CONTENT:
            k = fy_min((size_t) (end - p), ps->rest);
            if (ps->type == FY_FCGI_STDOUT) {
                /* out never passes p: headers and other records'
                 * bytes only ever leave gaps behind it */
                memmove(out, p, k);
                out += k;
            } else if (ps->type == FY_FCGI_STDERR) {
                if (ps->on_stderr) {
                    ps->on_stderr(ps->ctx, p, k, 0);
                }
            } else if (ps->end_len < sizeof(ps->end)) {
                /* END_REQUEST's body: the first 8 bytes are all it has */
                m = fy_min(k, sizeof(ps->end) - ps->end_len);
                memcpy(ps->end + ps->end_len, p, m);
                ps->end_len += (unsigned) m;
            }
            p += k;
            ps->rest -= k;
            if (ps->rest == 0) {
                fy_fcgi_record_end(ps);
            }
            break;

        case FY_FCGI_ST_PADDING:
            k = fy_min((size_t) (end - p), (size_t) ps->padding);
            p += k;
            ps->padding -= (unsigned) k;
            if (ps->padding == 0) {
                ps->state = ps->ended ? FY_FCGI_ST_DONE : FY_FCGI_ST_HEADER;
            }
            break;

        default: /* FY_FCGI_ST_DONE */
            ps->extra = 1;
            p = end;
            break;
        }
    }
    return out - buf;
}
