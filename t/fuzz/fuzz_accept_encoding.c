/*
 * fuzz_accept_encoding.c -- fy_http_gzip_accept, the weight an
 * Accept-Encoding value gives gzip (src/http/fy_http_gzip.c).
 *
 * Checked: no memory error or UB (the value sits in a buffer of its
 * exact size); the weight is 0..1000; a weight above 0 needs "gzip" or
 * "*" somewhere in the value; the answer does not change with the case
 * of the letters, nor with spaces and empty list elements added around
 * the value (so nothing depends on what lies past its end).
 */

#include "fy_core.h"
#include "fy_http_gzip.h"
#include "fy_fuzz.h"

#include <ctype.h>


static unsigned
weight(const u_char *data, size_t size)
{
    u_char    *copy;
    unsigned   w;

    copy = malloc(size ? size : 1);
    if (copy == NULL) {
        abort();
    }
    memcpy(copy, data, size);
    w = fy_http_gzip_accept(copy, size);
    free(copy);
    return w;
}


static int
mentions_gzip(const uint8_t *data, size_t size)
{
    size_t  i;

    for (i = 0; i < size; i++) {
        if (data[i] == '*') {
            return 1;
        }
        if (i + 4 <= size && strncasecmp((const char *) data + i, "gzip", 4)
                             == 0)
        {
            return 1;
        }
    }
    return 0;
}


int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    u_char    *v;
    unsigned   w;
    size_t     i;

    size = fy_min(size, FY_FUZZ_MAX_LEN);

    w = weight(data, size);
    fy_fuzz_assert(w <= 1000);
    if (w > 0) {
        fy_fuzz_assert(mentions_gzip(data, size));
    }

    v = malloc(size + 4);
    if (v == NULL) {
        abort();
    }

    /* letters in the other case */
    for (i = 0; i < size; i++) {
        v[i] = (u_char) (isupper(data[i]) ? tolower(data[i])
                                          : toupper(data[i]));
    }
    fy_fuzz_assert(weight(v, size) == w);

    /* OWS and empty elements around it */
    v[0] = ' ';
    v[1] = ',';
    memcpy(v + 2, data, size);
    v[size + 2] = ',';
    v[size + 3] = '\t';
    fy_fuzz_assert(weight(v, size + 4) == w);

    free(v);

    return 0;
}
