/*
 * fy_http_addition.h -- nginx's addition module (fy_http_addition.c):
 * add_before_body, add_after_body, addition_types.
 */
#ifndef FY_HTTP_ADDITION_H
#define FY_HTTP_ADDITION_H

#include "fy_core.h"
#include "fy_array.h"
#include "fy_http_ssi.h"

struct fy_http_request_s;

/* The directives of one level (fy_http_loc_conf_t.addition; NULL: none
 * here or above). */
typedef struct fy_http_addition_conf_s {
    fy_str_t     before;            /* add_before_body; data NULL: unset,
                                       len 0: none */
    fy_str_t     after;             /* add_after_body */
    fy_http_types_t  types;         /* addition_types */
} fy_http_addition_conf_t;

/* A request's two bodies, fetched for the location conf. */
typedef struct fy_http_addition_ctx_s {
    struct fy_http_request_s       *r;
    const fy_http_addition_conf_t  *conf;
    fy_http_capture_t               before;
    fy_http_capture_t               after;
    fy_str_t                        body;       /* fy_http_addition_
                                                   response's answer */
    fy_str_t                        type;
    int                             status;
    unsigned                        stage;      /* subrequests started */
    unsigned                        waiting:1;  /* one runs */
    unsigned                        stepping:1; /* in the loop */
    unsigned                        ready:1;    /* both answered */
    unsigned                        later:1;    /* the content handler
                                                   waits for them */
} fy_http_addition_ctx_t;

/* a location with add_before_body or add_after_body */
#define fy_http_addition_on(lcf)                                           \
    ((lcf)->addition                                                       \
     && ((lcf)->addition->before.len || (lcf)->addition->after.len))

#endif /* FY_HTTP_ADDITION_H */
