/*
 * fuzz_http_host.c -- the Host check (fy_http_validate_host), run on
 * every Host header and on the authority of absolute-form targets.
 *
 * Checked: no memory error or UB (the value sits in a buffer of its
 * exact size); an accepted host is a non-empty prefix of the value,
 * lowercase, free of what could turn it into a path or another field
 * (controls, SP, '/', '\', "..") and not ending in '.'; and normalising
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
    }
}


int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    fy_http_request_t  r;
    fy_str_t           h, again;
    u_char            *value, *copy;

    size = fy_min(size, FY_FUZZ_MAX_LEN);

    value = malloc(size ? size : 1);
    memcpy(value, data, size);
    memset(&r, 0, sizeof(r));

    h.data = value;
    h.len = size;

    if (fy_http_validate_host(&r, &h) == FY_OK) {
        if (size == 0) {
            fy_fuzz_assert(r.host.len == 0);

        } else {
            check_host(&r.host, value, size);

            copy = malloc(r.host.len);
            memcpy(copy, r.host.data, r.host.len);
            again.data = copy;
            again.len = r.host.len;

            fy_fuzz_assert(fy_http_validate_host(&r, &again) == FY_OK);
            fy_fuzz_assert(r.host.len == again.len);
            fy_fuzz_assert(memcmp(r.host.data, value, again.len) == 0);

            free(copy);
        }
    }

    free(value);

    return 0;
}
