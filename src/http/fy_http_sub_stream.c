/*
 * fy_http_sub_stream.c -- the streaming matcher of sub_filter: body
 * pieces in, substituted text out, whatever the pieces' boundaries.
 *
 * The text being looked at ("V") is the bytes kept from earlier pieces
 * (held: a possible match cut by the end of a piece, shorter than the
 * longest string) followed by the current piece.  A scan over V decides
 * how much of its start is plain text (lit), then either a match (its
 * bytes dropped: skip, and the replacement copied: rep) or a possible
 * match not yet complete (park: what is left of V moves into held, and
 * more input is wanted).  Decided bytes are copied into the output
 * buffer as room allows, so a scan's work is never repeated and memory
 * stays at the buffer plus the longest string.
 *
 * Copying rather than handing out pointers into the input keeps the
 * output one buffer: one chunk per write for the client, one input for
 * gzip; a memcpy costs less than the extra writes would.
 */
#include "fy_core.h"
#include "fy_http_sub.h"
#include "fy_http_charset.h"

#include <ctype.h>

struct fy_http_sub_stream_s {
    const fy_http_sub_pair_t  *pairs;
    unsigned                   npairs;
    unsigned                   left;       /* pairs still looked for */
    unsigned                   count;      /* replacements made */
    u_char                    *used;       /* once: pair i replaced */
    u_char                     first[256]; /* may start a string (lower) */
    const u_char              *in, *in_end;
    u_char                    *held;       /* maxlen bytes */
    size_t                     nheld;
    size_t                     lit;        /* bytes of V that are text */
    size_t                     skip;       /* then bytes of V matched */
    const u_char              *rep;        /* then replacement bytes */
    size_t                     rep_left;
    const u_char              *post;       /* the addition module's after */
    size_t                     post_len;   /* text, handed out last */
    u_char                    *out;
    size_t                     size, n;
    /* charset recoding of the output (fy_http_sub_stream_recode): what
     * the matcher handed out and is not recoded yet, and the buffer */
    const fy_http_recode_t    *recode;
    fy_http_recode_state_t     rstate;
    const u_char              *rin, *rin_end;
    u_char                    *rout;
    unsigned                   once:1;
    unsigned                   park:1;     /* then keep the rest of V */
    unsigned                   finishing:1;
    unsigned                   handed:1;   /* out was handed out */
    unsigned                   ended:1;
    unsigned                   done:1;
};

#define FY_SUB_NO     0
#define FY_SUB_AGAIN  1
#define FY_SUB_YES    2

static void
fy_sub_first_table(fy_http_sub_stream_t *s)
{
    unsigned  i;

    memset(s->first, 0, sizeof(s->first));
    for (i = 0; i < s->npairs; i++) {
        if (!s->used[i]) {
            s->first[s->pairs[i].find.data[0]] = 1;
            s->first[toupper(s->pairs[i].find.data[0])] = 1;
        }
    }
}

fy_http_sub_stream_t *
fy_http_sub_stream_create(fy_pool_t *pool, const fy_http_sub_pair_t *pairs,
                          unsigned npairs, int once, size_t out_size)
{
    fy_http_sub_stream_t  *s;
    size_t                 maxlen = 0;
    unsigned               i;

    s = fy_pcalloc(pool, sizeof(*s));
    if (s == NULL) {
        return NULL;
    }
    for (i = 0; i < npairs; i++) {
        maxlen = fy_max(maxlen, pairs[i].find.len);
    }
    s->used = fy_pcalloc(pool, npairs + 1);
    s->held = fy_palloc(pool, maxlen + 1);
    s->out = fy_palloc(pool, out_size);
    if (s->used == NULL || s->held == NULL || s->out == NULL) {
        return NULL;
    }
    s->pairs = pairs;
    s->npairs = npairs;
    s->left = npairs;
    s->once = once != 0;
    s->size = out_size;
    fy_sub_first_table(s);
    return s;
}

/* Byte i of V. */
static inline u_char
fy_sub_at(const fy_http_sub_stream_t *s, size_t i)
{
    return i < s->nheld ? s->held[i] : s->in[i - s->nheld];
}

/* Does f (lowercase) match V at i: FY_SUB_YES, FY_SUB_NO, or
 * FY_SUB_AGAIN when V ends while it still might. */
static int
fy_sub_cmp(const fy_http_sub_stream_t *s, size_t i, size_t vlen,
           const fy_str_t *f)
{
    size_t  k;

    for (k = 0; k < f->len; k++) {
        if (i + k == vlen) {
            return FY_SUB_AGAIN;
        }
        if (tolower(fy_sub_at(s, i + k)) != f->data[k]) {
            return FY_SUB_NO;
        }
    }
    return FY_SUB_YES;
}

/* Decide what V holds from its start: lit, and then a match or a park. */
static void
fy_sub_scan(fy_http_sub_stream_t *s)
{
    size_t    vlen = s->nheld + (size_t) (s->in_end - s->in), i;
    unsigned  k;
    int       rc;

    for (i = 0; s->left && i < vlen; i++) {
        if (!s->first[fy_sub_at(s, i)]) {
            continue;
        }
        for (k = 0; k < s->npairs; k++) {
            if (s->used[k]) {
                continue;
            }
            rc = fy_sub_cmp(s, i, vlen, &s->pairs[k].find);
            if (rc == FY_SUB_NO || (rc == FY_SUB_AGAIN && s->finishing)) {
                continue;
            }
            s->lit = i;
            if (rc == FY_SUB_AGAIN) {
                /* an earlier pair must not lose to a later one that
                 * matches here: wait for the bytes that decide */
                s->park = 1;
                return;
            }
            s->skip = s->pairs[k].find.len;
            s->rep = s->pairs[k].repl.data;
            s->rep_left = s->pairs[k].repl.len;
            s->count++;
            if (s->once) {
                s->used[k] = 1;
                s->left--;
                fy_sub_first_table(s);
            }
            return;
        }
    }
    s->lit = vlen;
}

/* Take n bytes from V's start, copied to the output when copy. */
static void
fy_sub_take(fy_http_sub_stream_t *s, size_t n, int copy)
{
    size_t  h = fy_min(n, s->nheld);

    if (h) {
        if (copy) {
            memcpy(s->out + s->n, s->held, h);
            s->n += h;
        }
        memmove(s->held, s->held + h, s->nheld - h);
        s->nheld -= h;
        n -= h;
    }
    if (n) {
        if (copy) {
            memcpy(s->out + s->n, s->in, n);
            s->n += n;
        }
        s->in += n;
    }
}

void
fy_http_sub_stream_wrap(fy_http_sub_stream_t *s, const u_char *pre,
                        size_t pre_len, const u_char *post, size_t post_len)
{
    /* the before text goes out as a replacement would: first */
    s->rep = pre;
    s->rep_left = pre_len;
    s->post = post;
    s->post_len = post_len;
}

void
fy_http_sub_stream_input(fy_http_sub_stream_t *s, const u_char *data,
                         size_t len)
{
    s->in = data;
    s->in_end = data + len;
}

int
fy_http_sub_stream_wants_input(const fy_http_sub_stream_t *s)
{
    return s->in == s->in_end && s->lit == 0 && s->skip == 0
           && s->rep_left == 0 && !s->park && !s->finishing
           && s->rin == s->rin_end;
}

void
fy_http_sub_stream_finish(fy_http_sub_stream_t *s)
{
    s->finishing = 1;
}

int
fy_http_sub_stream_done(const fy_http_sub_stream_t *s)
{
    return s->done;
}

unsigned
fy_http_sub_stream_count(const fy_http_sub_stream_t *s)
{
    return s->count;
}

/* The stream's size (FY_HTTP_SUB_OUT) is the recoded buffer's too: far
 * more than FY_RECODE_MAX, the room one character needs. */
int
fy_http_sub_stream_recode(fy_http_sub_stream_t *s, fy_pool_t *pool,
                          const fy_http_recode_t *rc)
{
    s->rout = fy_palloc(pool, s->size);
    if (s->rout == NULL) {
        return FY_ERROR;
    }
    s->recode = rc;
    return FY_OK;
}

/* The matcher's output: the body with its strings replaced. */
static int
fy_sub_out(fy_http_sub_stream_t *s, u_char **data, size_t *len)
{
    size_t  room, k, inlen;

    if (s->handed) {
        s->handed = 0;
        s->n = 0;
    }
    while (!s->ended && (room = s->size - s->n) > 0) {
        inlen = (size_t) (s->in_end - s->in);
        if (s->lit) {
            k = fy_min(s->lit, room);
            fy_sub_take(s, k, 1);
            s->lit -= k;
        } else if (s->skip) {
            fy_sub_take(s, s->skip, 0);
            s->skip = 0;
        } else if (s->rep_left) {
            k = fy_min(s->rep_left, room);
            memcpy(s->out + s->n, s->rep, k);
            s->n += k;
            s->rep += k;
            s->rep_left -= k;
        } else if (s->park) {
            /* what is left of V is shorter than the longest string */
            memcpy(s->held + s->nheld, s->in, inlen);
            s->nheld += inlen;
            s->in = s->in_end;
            s->park = 0;
        } else if (inlen == 0 && (!s->finishing || s->nheld == 0)) {
            if (s->finishing && s->post_len) {
                /* the body is out: the after text */
                s->rep = s->post;
                s->rep_left = s->post_len;
                s->post_len = 0;
                continue;
            }
            /* all used; what is held waits for the next piece */
            s->ended = s->finishing;
            break;
        } else {
            fy_sub_scan(s);
        }
    }
    if (s->n) {
        s->handed = 1;
        *data = s->out;
        *len = s->n;
        return 1;
    }
    if (s->ended) {
        s->done = 1;
    }
    return 0;
}

int
fy_http_sub_stream_out(fy_http_sub_stream_t *s, u_char **data, size_t *len)
{
    u_char  *piece;
    size_t   n = 0, k;

    if (s->recode == NULL) {
        return fy_sub_out(s, data, len);
    }
    /* recode the matcher's pieces into rout until it is full (a piece
     * stays valid until the matcher is asked again: only when used) */
    while (s->size - n >= FY_RECODE_MAX) {
        if (s->rin == s->rin_end) {
            if (!fy_sub_out(s, &piece, &k)) {
                if (s->done) {
                    n += fy_http_recode_end(&s->rstate, s->rout + n);
                }
                break;
            }
            s->rin = piece;
            s->rin_end = piece + k;
        }
        n += fy_http_recode(s->recode, &s->rstate, &s->rin, s->rin_end,
                            s->rout + n, s->size - n);
    }
    if (n == 0) {
        return 0;
    }
    *data = s->rout;
    *len = n;
    return 1;
}
