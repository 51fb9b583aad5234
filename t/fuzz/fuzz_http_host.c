/*
 * fuzz_http_host.c -- the Host check (fy_http_validate_host), run on
 * every Host header and on the authority of absolute-form targets.
 *
 * fy_http_validate_host is a pure function of the value: no request
 * is built.  Checked: no memory error or UB (the value sits in a buffer
 * of its exact size); a refused value leaves the result untouched; an
 * accepted host is a non-empty prefix of the value, lowercase, free of what could turn it into a path or another field
 * (controls, SP, '/', '\', "..") and not ending in '.', with brackets
 * only around a whole IP literal; and normalising
 * is idempotent: the result, checked again, is accepted unchanged, so
 * server_name matching sees one spelling per host.
 */

#include "fy_core.h"
#include "fy_http.h"
#include "fy_fuzz.h"


static void
check_host(const fy_str_t *host, const u_char *value, size_t size)
{
    size_t  i;

    fy_fuzz_assert(host->data == value);
    fy_fuzz_assert(host->len > 0 && host->len <= size);
    fy_fuzz_assert(host->data[host->len - 1] != '.');

    for (i = 0; i < host->len; i++) {
        fy_fuzz_assert(host->data[i] > 0x20 && host->data[i] != 0x7f);
        fy_fuzz_assert(host->data[i] < 'A' || host->data[i] > 'Z');
        fy_fuzz_assert(host->data[i] != '/' && host->data[i] != '\\');

        if (i > 0) {
            fy_fuzz_assert(host->data[i] != '.' || host->data[i - 1] != '.');
        }
        /* brackets only around a whole IP literal */
        if (host->data[i] == ']') {
            fy_fuzz_assert(i == host->len - 1 && host->data[0] == '[');
        }
        if (host->data[i] == '[') {
            fy_fuzz_assert(i == 0);
        }
    }
}


int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    fy_str_t   h, host, again, host2;
    u_char    *value, *copy;

    size = fy_min(size, FY_FUZZ_MAX_LEN);

    value = malloc(size ? size : 1);
    memcpy(value, data, size);

    h.data = value;
    h.len = size;
    host.data = NULL;
    host.len = 12345;

    if (fy_http_validate_host(&h, &host) == FY_OK) {
        /* an empty value is refused (RFC 9110 4.2.1) */
        fy_fuzz_assert(size > 0);
        check_host(&host, value, size);

        copy = malloc(host.len);
        memcpy(copy, host.data, host.len);
        again.data = copy;
        again.len = host.len;

        fy_fuzz_assert(fy_http_validate_host(&again, &host2) == FY_OK);
        fy_fuzz_assert(host2.data == copy && host2.len == again.len);
        fy_fuzz_assert(memcmp(host2.data, value, again.len) == 0);

        free(copy);
    } else {
        /* a refused value leaves the result alone */
        fy_fuzz_assert(host.data == NULL && host.len == 12345);
    }

    free(value);

    return 0;
}
