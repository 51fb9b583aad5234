/*
 * fy_conf_lex.c -- the configuration reader's tokenizer.
 *
 * It turns the bytes of the file being read into the words of one
 * directive at a time, the way nginx does: words up to ';' or '{',
 * '}' closes a block, '#' at the start of a word comments out the rest
 * of the line, quotes group a word and backslashes escape.  Files are
 * read whole (fy_conf_file.c), so it never has to refill a buffer in
 * the middle of a word.
 */
#include "fy_core.h"
#include "fy_conf_file.h"
#include "fy_conf_file_int.h"


#define FY_CONF_WORDS_INIT   8


/* Tokenizer state between two bytes (nginx's flag set). */
typedef struct {
    fy_conf_t        *cf;
    fy_conf_words_t  *words;
    u_char           *start;         /* first byte of the current word */
    unsigned          start_line;
    unsigned          last_space:1;  /* between words */
    unsigned          need_space:1;  /* right after a closing quote */
    unsigned          comment:1;
    unsigned          variable:1;    /* after '$': "${" is not a block */
    unsigned          quoted:1;      /* after '\': skip the next byte */
    unsigned          s_quoted:1;
    unsigned          d_quoted:1;
} fy_conf_lexer_t;


#define fy_conf_is_space(c) \
    ((c) == ' ' || (c) == '\t' || (c) == '\r' || (c) == '\n')


static int
fy_conf_lex_error(fy_conf_lexer_t *lx, const char *what, u_char ch)
{
    lx->cf->line = lx->cf->file->line;

    if (ch) {
        fy_conf_error(lx->cf, "%s \"%c\"", what, ch);

    } else {
        fy_conf_error(lx->cf, "%s", what);
    }

    return FY_CONF_TOK_ERROR;
}


/*
 * Copy the word [lx->start, end) into the pool, resolving the escapes
 * nginx resolves: \" \' \\ \t \r \n.  Any other backslash stays, with
 * the byte after it, for the directive handler to interpret.
 */
static int
fy_conf_push_word(fy_conf_lexer_t *lx, const u_char *end)
{
    fy_conf_t        *cf;
    fy_conf_words_t  *w;
    fy_str_t         *elts;
    u_char           *word, *dst, *src, *last;
    size_t            len;

    cf = lx->cf;
    w = lx->words;
    len = end - lx->start;

    word = (u_char *) fy_pstrndup(cf->pool, lx->start, len);
    if (word == NULL) {
        return fy_conf_lex_error(lx, "out of memory", 0);
    }

    last = word + len;

    for (dst = word, src = word; src < last; /* void */) {
        if (*src == '\\' && src + 1 < last) {
            switch (src[1]) {
            case '"':
            case '\'':
            case '\\':
                src++;
                break;
            case 't':
                *dst++ = '\t';
                src += 2;
                continue;
            case 'r':
                *dst++ = '\r';
                src += 2;
                continue;
            case 'n':
                *dst++ = '\n';
                src += 2;
                continue;
            }
        }

        *dst++ = *src++;
    }

    *dst = '\0';

    if (w->n == w->cap) {
        w->cap = w->cap ? w->cap * 2 : FY_CONF_WORDS_INIT;

        elts = fy_palloc(cf->pool, w->cap * sizeof(fy_str_t));
        if (elts == NULL) {
            return fy_conf_lex_error(lx, "out of memory", 0);
        }

        if (w->n) {
            memcpy(elts, w->elts, w->n * sizeof(fy_str_t));
        }

        w->elts = elts;
    }

    w->elts[w->n].data = word;
    w->elts[w->n].len = dst - word;

    /* Errors about a directive point at the line of its name. */
    if (w->n++ == 0) {
        cf->line = lx->start_line;
    }

    return FY_CONF_TOK_MORE;
}


/* A byte seen between words. */
static int
fy_conf_lex_gap(fy_conf_lexer_t *lx, u_char ch)
{
    fy_conf_file_t  *f;

    f = lx->cf->file;
    lx->start = f->data + f->pos - 1;
    lx->start_line = f->line;

    if (fy_conf_is_space(ch)) {
        return FY_CONF_TOK_MORE;
    }

    switch (ch) {

    case ';':
    case '{':
        if (lx->words->n == 0) {
            return fy_conf_lex_error(lx, "unexpected", ch);
        }

        return ch == ';' ? FY_CONF_TOK_END : FY_CONF_TOK_BLOCK_START;

    case '}':
        if (lx->words->n != 0) {
            return fy_conf_lex_error(lx, "unexpected", ch);
        }

        lx->cf->line = f->line;
        return FY_CONF_TOK_BLOCK_DONE;

    case '#':
        lx->comment = 1;
        return FY_CONF_TOK_MORE;

    case '\\':
        lx->quoted = 1;
        break;

    case '"':
        lx->start++;
        lx->d_quoted = 1;
        break;

    case '\'':
        lx->start++;
        lx->s_quoted = 1;
        break;

    case '$':
        lx->variable = 1;
        break;
    }

    lx->last_space = 0;

    return FY_CONF_TOK_MORE;
}


/* A byte seen inside a word. */
static int
fy_conf_lex_word(fy_conf_lexer_t *lx, u_char ch)
{
    fy_conf_file_t  *f;

    if (ch == '{' && lx->variable) {
        return FY_CONF_TOK_MORE;
    }

    lx->variable = 0;

    if (ch == '\\') {
        lx->quoted = 1;
        return FY_CONF_TOK_MORE;
    }

    if (ch == '$') {
        lx->variable = 1;
        return FY_CONF_TOK_MORE;
    }

    if (lx->d_quoted || lx->s_quoted) {
        if (ch != (lx->d_quoted ? '"' : '\'')) {
            return FY_CONF_TOK_MORE;
        }

        lx->d_quoted = 0;
        lx->s_quoted = 0;
        lx->need_space = 1;

    } else if (fy_conf_is_space(ch) || ch == ';' || ch == '{') {
        lx->last_space = 1;

    } else {
        return FY_CONF_TOK_MORE;
    }

    f = lx->cf->file;

    if (fy_conf_push_word(lx, f->data + f->pos - 1) != FY_CONF_TOK_MORE) {
        return FY_CONF_TOK_ERROR;
    }

    if (ch == ';') {
        return FY_CONF_TOK_END;
    }

    if (ch == '{') {
        return FY_CONF_TOK_BLOCK_START;
    }

    return FY_CONF_TOK_MORE;
}


/*
 * A closing quote must be followed by a separator: "a"b is an error,
 * not the word ab.  ')' is accepted as nginx does for "if (...)".
 */
static int
fy_conf_lex_after_quote(fy_conf_lexer_t *lx, u_char ch)
{
    if (fy_conf_is_space(ch)) {
        lx->last_space = 1;
        lx->need_space = 0;
        return FY_CONF_TOK_MORE;
    }

    if (ch == ';') {
        return FY_CONF_TOK_END;
    }

    if (ch == '{') {
        return FY_CONF_TOK_BLOCK_START;
    }

    if (ch != ')') {
        return fy_conf_lex_error(lx, "unexpected", ch);
    }

    lx->last_space = 1;
    lx->need_space = 0;

    /* The ')' itself starts the next word. */
    return fy_conf_lex_gap(lx, ch);
}


static int
fy_conf_lex_eof(fy_conf_lexer_t *lx)
{
    lx->cf->line = lx->cf->file->line;

    if (lx->words->n > 0 || !lx->last_space) {
        return fy_conf_lex_error(lx,
                   "unexpected end of file, expecting \";\" or \"}\"", 0);
    }

    return FY_CONF_TOK_FILE_DONE;
}


/*
 * Read the words of the next directive into w.  Returns what ended
 * them: ';', '{', a '}' of the enclosing block, the end of the input,
 * or an error (logged).
 */
int
fy_conf_read_token(fy_conf_t *cf, fy_conf_words_t *w)
{
    fy_conf_file_t   *f;
    fy_conf_lexer_t   lx;
    u_char            ch;
    int               rc;

    memset(&lx, 0, sizeof(lx));
    lx.cf = cf;
    lx.words = w;
    lx.last_space = 1;

    f = cf->file;
    w->n = 0;

    for ( ;; ) {
        if (f->pos >= f->size) {
            return fy_conf_lex_eof(&lx);
        }

        ch = f->data[f->pos++];

        if (ch == '\n') {
            f->line++;
            lx.comment = 0;
        }

        if (lx.comment) {
            continue;
        }

        if (lx.quoted) {
            lx.quoted = 0;
            continue;
        }

        if (lx.need_space) {
            rc = fy_conf_lex_after_quote(&lx, ch);

        } else if (lx.last_space) {
            rc = fy_conf_lex_gap(&lx, ch);

        } else {
            rc = fy_conf_lex_word(&lx, ch);
        }

        if (rc != FY_CONF_TOK_MORE) {
            return rc;
        }
    }
}
