/*
 * fy_http_parse_int.h -- what the HTTP/1.x parsers share, internal to
 * fy_http_parse.c (request lines), fy_http_parse_status.c (status
 * lines), fy_http_parse_header.c (header lines) and fy_http_chunked.c
 * (chunk sizes, extensions and trailer fields).
 *
 * Character classes as 256-bit maps, one bit per byte value, and the
 * simple ones as comparisons.
 */
#ifndef FY_HTTP_PARSE_INT_H
#define FY_HTTP_PARSE_INT_H

#include "fy_core.h"

/* tchar (RFC 9110 5.6.2); defined in fy_http_parse.c. */
extern const uint32_t  fy_http_tchar[8];

#define fy_http_in(map, ch)   ((map)[(ch) >> 5] & (1U << ((ch) & 0x1f)))
#define fy_http_is_tchar(ch)  fy_http_in(fy_http_tchar, ch)

#define fy_http_is_digit(ch)  ((ch) >= '0' && (ch) <= '9')

#define fy_http_is_alpha(ch)  (((ch) | 0x20) >= 'a' && ((ch) | 0x20) <= 'z')

/* field-vchar, SP, HTAB (RFC 9110 5.5); also reason-phrase bytes. */
#define fy_http_is_text(ch)   (((ch) >= 0x20 && (ch) != 0x7f) || (ch) == '\t')

#endif /* FY_HTTP_PARSE_INT_H */
