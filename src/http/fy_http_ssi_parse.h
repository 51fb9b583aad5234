/*
 * fy_http_ssi_parse.h -- the SSI command parser: a resumable state
 * machine that splits a response body, fed in pieces of any size, into
 * plain text and "<!--# command name="value" ... -->" commands, as
 * nginx's ssi module reads them.  No request in it: t/unit/test_ssi.c
 * drives it directly.
 */
#ifndef FY_HTTP_SSI_PARSE_H
#define FY_HTTP_SSI_PARSE_H

#include "fy_core.h"
#include "fy_pool.h"

#define FY_SSI_COMMAND_LEN  32      /* nginx's NGX_HTTP_SSI_COMMAND_LEN */
#define FY_SSI_PARAM_LEN    32      /* nginx's NGX_HTTP_SSI_PARAM_LEN */
#define FY_SSI_MAX_PARAMS   16      /* nginx's NGX_HTTP_SSI_MAX_PARAMS */

/* What fy_http_ssi_parse found. */
enum {
    FY_SSI_TEXT = 1,        /* text: *text, *len (in the input or held) */
    FY_SSI_COMMAND,         /* a whole command: p->command, p->params */
    FY_SSI_INVALID,         /* a malformed command, skipped to its "-->" */
    FY_SSI_MORE             /* the piece is used up */
};

typedef struct {
    u_char   name[FY_SSI_PARAM_LEN];
    size_t   name_len;
    u_char  *value;             /* value_max bytes of the parser's store */
    size_t   value_len;
} fy_http_ssi_param_t;

typedef struct {
    unsigned             state;
    unsigned             matched;   /* bytes of "<!--#" seen, held */
    unsigned             flush;     /* held bytes to hand out as text */
    u_char               quote;
    u_char               command[FY_SSI_COMMAND_LEN];
    size_t               command_len;
    fy_http_ssi_param_t  params[FY_SSI_MAX_PARAMS];
    unsigned             nparams;
    size_t               value_max;     /* ssi_value_length */
    const char          *error;         /* why FY_SSI_INVALID */
} fy_http_ssi_parser_t;

/* A parser for values of at most value_max bytes; memory from pool.
 * FY_ERROR: no memory. */
int fy_http_ssi_parser_init(fy_http_ssi_parser_t *p, fy_pool_t *pool,
                            size_t value_max);

/*
 * The next thing in [*pos, end): *pos is moved past what was used.
 * FY_SSI_TEXT gives *text and *len (bytes of the input, or the held
 * start of a "<!--#" that turned out to be text); FY_SSI_COMMAND and
 * FY_SSI_INVALID a command ended by this piece; FY_SSI_MORE: call
 * again with the next piece.  A command may straddle any number of
 * pieces; the text before it is handed out first.
 */
int fy_http_ssi_parse(fy_http_ssi_parser_t *p, const u_char **pos,
                      const u_char *end, const u_char **text, size_t *len);

/* The body ended: held bytes of an unfinished "<!--#" are text (1 with
 * *text, *len), an unfinished command is dropped (0). */
int fy_http_ssi_parse_end(fy_http_ssi_parser_t *p, const u_char **text,
                          size_t *len);

/* The value of parameter name, or NULL. */
fy_http_ssi_param_t *fy_http_ssi_param(fy_http_ssi_parser_t *p,
                                       const char *name);

#endif /* FY_HTTP_SSI_PARSE_H */
