/*
 * fy_http_ssi_exec.h -- what the two halves of SSI processing share:
 * the context of one document (fy_http_ssi_exec.c runs it: the loop,
 * include, block) and the commands that only read and write it
 * (fy_http_ssi_cmd.c: echo, set, config, if, variables).
 */
#ifndef FY_HTTP_SSI_EXEC_H
#define FY_HTTP_SSI_EXEC_H

#include "fy_core.h"
#include "fy_http.h"
#include "fy_http_ssi_parse.h"

#define FY_SSI_NCAPS   10       /* $0..$9 of an "if" regex */

/* "config timefmt"'s default, nginx's */
#define FY_SSI_TIMEFMT  "%A, %d-%b-%Y %H:%M:%S %Z"

typedef struct {
    fy_str_t  name;
    fy_str_t  value;
} fy_ssi_var_t;

typedef struct {
    fy_str_t       name;
    const u_char  *start;
    size_t         len;
} fy_ssi_block_t;

/* What every document of one client's request shares (nginx keeps it
 * in the main request): the SSI variables and an "if" regex's
 * captures. */
typedef struct {
    fy_array_t   vars;              /* fy_ssi_var_t */
    fy_str_t     caps[FY_SSI_NCAPS];
    unsigned     ncaps;
} fy_ssi_shared_t;

typedef struct {
    fy_http_request_t          *r;
    const fy_http_ssi_conf_t   *conf;
    fy_ssi_shared_t            *sh;
    const u_char               *pos, *end;
    fy_http_capture_t           out;
    fy_http_ssi_parser_t        ps;
    fy_str_t                    errmsg, timefmt;
    fy_array_t                  blocks;     /* fy_ssi_block_t */
    fy_ssi_block_t              block;      /* the one being read */
    fy_http_ssi_done_pt         done;
    void                       *arg;
    unsigned                    running:1;  /* inside fy_ssi_run */
    unsigned                    waiting:1;  /* for an include */
    unsigned                    failed:1;
    unsigned                    in_if:1, if_on:1, if_taken:1;
    unsigned                    in_block:1;
} fy_ssi_ctx_t;

/* fy_http_ssi_cmd.c */
void fy_ssi_out(fy_ssi_ctx_t *ctx, const void *data, size_t len);
void fy_ssi_error(fy_ssi_ctx_t *ctx, const char *why);
fy_str_t *fy_ssi_param(fy_ssi_ctx_t *ctx, const char *name, fy_str_t *v);
int  fy_ssi_params_ok(fy_ssi_ctx_t *ctx, const char *const *names);
int  fy_ssi_eval(fy_ssi_ctx_t *ctx, const u_char *s, size_t len,
                 fy_str_t *out);
int  fy_ssi_set_var(fy_ssi_ctx_t *ctx, const fy_str_t *name,
                    const fy_str_t *v);
void fy_ssi_echo(fy_ssi_ctx_t *ctx);
void fy_ssi_set(fy_ssi_ctx_t *ctx);
void fy_ssi_config(fy_ssi_ctx_t *ctx);
/* which: 0 if, 1 elif, 2 else, 3 endif */
void fy_ssi_cond(fy_ssi_ctx_t *ctx, int which);

#endif /* FY_HTTP_SSI_EXEC_H */
