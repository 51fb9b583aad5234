/*
 * fy_http_types.h -- a MIME type list of gzip_types, charset_types,
 * sub_filter_types or ssi_types (fy_http_types.c).  Its own header
 * because the modules' settings, which embed it, have theirs.
 */
#ifndef FY_HTTP_TYPES_H
#define FY_HTTP_TYPES_H

#include "fy_core.h"
#include "fy_array.h"
#include "fy_conf_file.h"

typedef struct {
    fy_array_t  *list;      /* fy_str_t, lowercase; NULL: not set at
                               this level */
    unsigned     any;       /* "*" */
} fy_http_types_t;

/* The directive read into the fy_http_types_t at cmd->offset in conf;
 * a Content-Type value matched against it (its media type; text/html
 * always in) */
const char *fy_http_types_set(fy_conf_t *cf, const fy_command_t *cmd,
                              void *conf);
int fy_http_types_match(const fy_http_types_t *types, const fy_str_t *v);

#endif /* FY_HTTP_TYPES_H */
