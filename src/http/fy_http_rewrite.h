/*
 * fy_http_rewrite.h -- the compiled form of the rewrite module's
 * directives, shared by fy_http_rewrite_conf.c (which builds it) and
 * fy_http_rewrite.c (which runs it).
 *
 * A level's directives are one script: an array of operations in the
 * order written.  An "if" is an operation holding the script of its
 * block.
 */
#ifndef FY_HTTP_REWRITE_H
#define FY_HTTP_REWRITE_H

#include "fy_core.h"
#include "fy_http.h"

enum {
    FY_RW_REWRITE,
    FY_RW_RETURN,
    FY_RW_SET,
    FY_RW_IF,
    FY_RW_BREAK
};

/* rewrite's flag */
enum {
    FY_RW_NONE,
    FY_RW_LAST,
    FY_RW_BRK,
    FY_RW_REDIRECT,
    FY_RW_PERMANENT
};

/* if's condition */
enum {
    FY_RW_IF_VAR,          /* ($v): true unless empty or "0" */
    FY_RW_IF_EQ,           /* ($v = text), != with negate */
    FY_RW_IF_REGEX,        /* ($v ~ re), ~*, !~, !~* */
    FY_RW_IF_FILE,         /* (-f path) */
    FY_RW_IF_DIR,          /* -d */
    FY_RW_IF_EXISTS,       /* -e */
    FY_RW_IF_EXEC          /* -x */
};

typedef struct {
    unsigned               type;      /* FY_RW_* */
    unsigned               flag;      /* rewrite: FY_RW_LAST...; if:
                                         FY_RW_IF_* */
    unsigned               negate:1;  /* if: != !~ !-f ... */
    unsigned               absolute:1;  /* rewrite: replacement starts
                                         with http://, https://, $scheme */
    unsigned               noargs:1;  /* rewrite: replacement ended with
                                         "?" (removed) */
    unsigned               set_args:1;  /* set $args */
    unsigned               set_limit_rate:1;  /* set $limit_rate */
    unsigned               set_uid_reset:1;   /* set $uid_reset */
    int                    code;      /* return */
    fy_http_regex_t       *regex;     /* rewrite, if ~ */
    fy_str_t               source;    /* the regex as written (logs) */
    fy_http_cv_t          *value;     /* rewrite: replacement; return:
                                         text or URL; set: value; if:
                                         the variable, or the path */
    fy_http_cv_t          *operand;   /* if =, != : the text */
    fy_http_map_t         *var;       /* set: the variable */
    fy_http_rw_script_t   *block;     /* if: its block */
    fy_http_loc_conf_t    *loc;       /* if in a location: its block's
                                         conf, the request's when the
                                         condition holds; else NULL */
} fy_http_rw_op_t;

struct fy_http_rw_script_s {
    fy_array_t             ops;       /* fy_http_rw_op_t */
};

#endif /* FY_HTTP_REWRITE_H */
