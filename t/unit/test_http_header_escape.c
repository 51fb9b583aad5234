/*
 * test_http_header_escape.c -- fy_http_header_escape
 * (src/http/fy_http_headers.c), which keeps control bytes out of the
 * header fields ferry makes from variables (proxy_set_header,
 * add_header: a CR or LF there would let a client's bytes add fields),
 * against its definition: every byte value at every place of values of
 * 1 to 40 bytes (the eight-byte steps and the tail alike) gives what
 * %-escaping the bytes below 0x20 but HTAB, and 0x7f, gives.
 */

#include "fy_core.h"
#include "fy_pool.h"
#include "fy_http.h"
#include "fy_tap.h"

/* the definition, one byte after the other */
static size_t
ref_escape(const u_char *s, size_t n, u_char *out)
{
    static const char  hex[] = "0123456789ABCDEF";
    size_t             i, k = 0;

    for (i = 0; i < n; i++) {
        if ((s[i] < 0x20 && s[i] != '\t') || s[i] == 0x7f) {
            out[k++] = '%';
            out[k++] = (u_char) hex[s[i] >> 4];
            out[k++] = (u_char) hex[s[i] & 0xf];
        } else {
            out[k++] = s[i];
        }
    }
    return k;
}

int
main(void)
{
    fy_pool_t  *pool = fy_pool_create(4096);
    u_char      v[40], want[3 * 40], *got;
    size_t      len, at, n, w;
    unsigned    c, bad = 0, total = 0, kept = 0;

    if (pool == NULL) {
        ok(0, "a pool");
        return done_testing();
    }
    for (len = 1; len <= sizeof(v); len++) {
        for (at = 0; at < len; at++) {
            for (c = 0; c < 256; c++) {
                memset(v, 'a' + (int) (len % 26), len);
                v[at] = (u_char) c;
                n = len;
                got = fy_http_header_escape(pool, v, &n);
                w = ref_escape(v, len, want);
                total++;
                bad += got == NULL || n != w || memcmp(got, want, w) != 0;
                /* a value with nothing to escape is the same bytes */
                kept += got == v;
            }
        }
    }
    ok(bad == 0, "%u of %u values with each byte at each place escaped as "
       "defined", total - bad, total);
    /* 0x20..0x7e, 0x80..0xff and HTAB need nothing: 254 of 256 bytes
     * less the 31 other control bytes */
    is_int(kept, total / 256 * (256 - 32), "a value without a control "
           "byte is handed back as it is");
    fy_pool_destroy(pool);
    return done_testing();
}
