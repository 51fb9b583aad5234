/*
 * fy_http_memcached.h -- memcached's text protocol as memcached_pass
 * speaks it (fy_http_memcached_proto.c: no I/O, unit tested in
 * t/unit/test_memcached.c): the key escaped into "get KEY\r\n", the
 * answer's first line, the trailer after a value.  The request flow
 * and the directives are in fy_http_memcached.c.
 */
#ifndef FY_HTTP_MEMCACHED_H
#define FY_HTTP_MEMCACHED_H

#include "fy_core.h"

/* "\r\nEND\r\n": what follows a value */
#define FY_MEMC_TRAILER      "\r\nEND\r\n"
#define FY_MEMC_END_LEN      7

/* The bytes key takes once escaped as nginx escapes it (space, '%'
 * and the control characters as %XX: memcached keys have none). */
size_t fy_memc_key_len(const u_char *key, size_t len);
/* The escaped key at q; returns the end. */
u_char *fy_memc_key_put(u_char *q, const u_char *key, size_t len);

/* What the answer's first line is (fy_memc_parse_line). */
enum {
    FY_MEMC_VALUE = 0,       /* VALUE KEY FLAGS LENGTH: a hit */
    FY_MEMC_END,             /* END: a miss */
    FY_MEMC_INVALID,         /* none of these (SERVER_ERROR, ERROR, ...) */
    FY_MEMC_BAD_KEY,         /* a VALUE for another key */
    FY_MEMC_BAD_FLAGS,
    FY_MEMC_BAD_LENGTH
};

typedef struct {
    int64_t         flags;
    int64_t         length;
    const u_char   *length_text;   /* LENGTH's digits in the line */
    size_t          length_len;
} fy_memc_value_t;

/* The first line, line[0..n) without its CRLF, of the answer to a get
 * of key (as sent, escaped): FY_MEMC_*, *v filled for FY_MEMC_VALUE. */
int fy_memc_parse_line(const u_char *line, size_t n, const u_char *key,
                       size_t klen, fy_memc_value_t *v);

/* n bytes at p come with rest bytes of the answer still due before
 * they do (the value's end and the trailer counted): are those that
 * fall in the trailer (the last FY_MEMC_END_LEN) the trailer's? */
int fy_memc_trailer_ok(const u_char *p, size_t n, uint64_t rest);

#endif /* FY_HTTP_MEMCACHED_H */
