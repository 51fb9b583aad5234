/*
 * fy_http_flv.c -- nginx's flv module: pseudo-streaming of Flash Video.
 * In a location with "flv", a file asked for with "?start=N" is sent
 * from its byte N on, after the 13 bytes of an FLV file header (the
 * player seeks by asking for the byte offset of a tag it read from the
 * file's metadata, and needs a header before that tag):
 *
 *     location ~ \.flv$ { flv; }
 *
 * As nginx's: the value is digits only; a value that is not (empty,
 * a sign, other characters, too big), 0, or not below the file's size
 * is ignored and the file is sent as it is.  A Range applies to the
 * body made (fy_http_static_send), as nginx's; sub_filter and gzip do
 * not touch it.  The file
 * itself is served by fy_http_static.c, which asks here (through
 * fy_http_static_send) when the location's media is FLV.
 */
#include "fy_core.h"
#include "fy_http.h"
#include "fy_http_static.h"

/* "FLV", version 1, audio and video tags present, header size 9, then
 * the first PreviousTagSize (0) */
static u_char  fy_http_flv_header[13] = {
    'F', 'L', 'V', 0x01, 0x05, 0x00, 0x00, 0x00, 0x09,
    0x00, 0x00, 0x00, 0x00
};

const fy_command_t  fy_http_flv_commands[] = {

    { "flv", FY_CONF_LOC, 0, 0, 0, fy_conf_set_const, FY_CONF_LOC_OFF,
      offsetof(fy_http_loc_conf_t, media),
      &(const unsigned) { FY_HTTP_MEDIA_FLV } },

    { NULL, 0, 0, 0, 0, NULL, 0, 0, NULL }
};

int
fy_http_flv_body(fy_http_request_t *r, fy_http_static_file_t *f, off_t size,
                 off_t *start, off_t *end)
{
    fy_str_t  v;
    off_t     n = 0;
    size_t    i;

    if (!fy_http_arg(r, (const u_char *) "start", 5, &v) || v.len == 0) {
        return FY_DECLINED;
    }
    /* nginx's ngx_atoof: digits only, no overflow */
    for (i = 0; i < v.len; i++) {
        if (v.data[i] < '0' || v.data[i] > '9'
            || n > (INT64_MAX - (v.data[i] - '0')) / 10)
        {
            return FY_DECLINED;
        }
        n = n * 10 + (v.data[i] - '0');
    }
    if (n == 0 || n >= size) {
        return FY_DECLINED;
    }

    f->prefix = fy_http_flv_header;
    f->prefix_len = sizeof(fy_http_flv_header);
    *start = n;
    *end = size - 1;
    return FY_OK;
}
