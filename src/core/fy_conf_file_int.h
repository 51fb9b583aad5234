/*
 * fy_conf_file_int.h -- what the three files of the configuration
 * reader share, internal to them:
 *
 *   fy_conf_lex.c        the tokenizer: bytes to the words of one
 *                        directive (fy_conf_read_token)
 *   fy_conf_directive.c  a file's or a block's directives: each one's
 *                        row found, checked and run (fy_conf_parse_body)
 *   fy_conf_file.c       files: reading them, "include" (fy_conf_include),
 *                        the -T dump, and the public entry points
 */
#ifndef FY_CONF_FILE_INT_H
#define FY_CONF_FILE_INT_H

#include "fy_conf_file.h"

/* How the words of one directive ended. */
enum {
    FY_CONF_TOK_ERROR = -1,
    FY_CONF_TOK_MORE,           /* internal: keep scanning */
    FY_CONF_TOK_END,            /* ';' */
    FY_CONF_TOK_BLOCK_START,    /* '{' */
    FY_CONF_TOK_BLOCK_DONE,     /* '}' before any word */
    FY_CONF_TOK_FILE_DONE       /* end of input between directives */
};

/* What a call of fy_conf_parse_body() reads up to. */
enum {
    FY_CONF_PARSE_FILE,
    FY_CONF_PARSE_BLOCK
};

/* The words of the directive being read; grows in the pool. */
typedef struct {
    fy_str_t  *elts;
    unsigned   n;
    unsigned   cap;
} fy_conf_words_t;

/*
 * Read the words of the next directive into w.  Returns what ended
 * them: ';', '{', a '}' of the enclosing block, the end of the input,
 * or an error (logged).
 */
int fy_conf_read_token(fy_conf_t *cf, fy_conf_words_t *w);

/* Read directives up to the end of the file (FY_CONF_PARSE_FILE) or
 * of the block (FY_CONF_PARSE_BLOCK), running each.  FY_OK or FY_ERROR
 * (logged). */
int fy_conf_parse_body(fy_conf_t *cf, int mode);

/* include FILE; "last" is what ended it.  FY_OK or FY_ERROR (logged). */
int fy_conf_include(fy_conf_t *cf, int last);

#endif /* FY_CONF_FILE_INT_H */
