/*
 * fy_conf_file.c -- the configuration reader.
 *
 * The syntax is nginx's, read the way nginx reads it: a directive is
 * words up to ';' or '{', '}' closes a block, '#' at the start of a
 * word comments out the rest of the line, quotes group a word and
 * backslashes escape.  The reader turns words into cf->args, finds the
 * directive's row in cf->tables, checks where it stands and how many
 * arguments it has, and calls the row's setter.  "include" is the one
 * directive the reader runs itself, since it is about files, not about
 * any module's configuration.  The generic setters most rows name
 * are in fy_conf_set.c.
 *
 * Files are read whole into the pool: they are small, the -T dump
 * wants their text anyway, and the tokenizer then never has to refill
 * a buffer in the middle of a word.
 */
#include "fy_core.h"
#include "fy_conf_file.h"

#include <fcntl.h>
#include <glob.h>
#include <sys/stat.h>


/* Files open at once through "include"; a loop stops here. */
#define FY_CONF_MAX_DEPTH    16
#define FY_CONF_WORDS_INIT   8


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


static int fy_conf_parse_body(fy_conf_t *cf, int mode);


#define fy_conf_is_space(c) \
    ((c) == ' ' || (c) == '\t' || (c) == '\r' || (c) == '\n')


void
fy_conf_init(fy_conf_t *cf, fy_pool_t *pool)
{
    memset(cf, 0, sizeof(fy_conf_t));

    cf->pool = pool;
    cf->ctx_type = FY_CONF_MAIN;
    cf->dump_last = &cf->dump;
}


void
fy_conf_error(fy_conf_t *cf, const char *fmt, ...)
{
    char     buf[FY_CONF_ERRSTR_MAX];
    va_list  ap;

    va_start(ap, fmt);
    vsnprintf(buf, sizeof(buf), fmt, ap);
    va_end(ap);

    /* Outside of any file (checks made after parsing): no location. */
    if (cf->file == NULL) {
        fy_log_error(FY_LOG_EMERG, 0, "%s", buf);
        return;
    }

    fy_log_error(FY_LOG_EMERG, 0, "%s in %s:%u", buf, cf->file->name,
                 cf->line);
}


static void
fy_conf_sys_error(fy_conf_t *cf, int err, const char *call,
    const char *name)
{
    fy_conf_error(cf, "%s \"%s\" failed (%d: %s)", call, name, err,
                  strerror(err));
}


/* ---- tokenizer ---------------------------------------------------- */


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
static int
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


/* ---- directives --------------------------------------------------- */


static int
fy_conf_run(fy_conf_t *cf, const fy_command_t *cmd, int last)
{
    const char  *rv;
    unsigned     n;
    void        *conf;

    if (!(cmd->flags & FY_CONF_BLOCK) && last != FY_CONF_TOK_END) {
        fy_conf_error(cf, "directive \"%s\" is not terminated by \";\"",
                      cmd->name);
        return FY_ERROR;
    }

    if ((cmd->flags & FY_CONF_BLOCK) && last != FY_CONF_TOK_BLOCK_START) {
        fy_conf_error(cf, "directive \"%s\" has no opening \"{\"",
                      cmd->name);
        return FY_ERROR;
    }

    n = cf->nargs - 1;

    if (n < cmd->min_args
        || (cmd->max_args != FY_CONF_MANY && n > cmd->max_args))
    {
        fy_conf_error(cf, "invalid number of arguments in \"%s\" directive",
                      cmd->name);
        return FY_ERROR;
    }

    conf = cf->ctx ? *(void **) ((char *) cf->ctx + cmd->conf) : NULL;

    rv = cmd->set(cf, cmd, conf);

    if (rv == FY_CONF_OK) {
        return FY_OK;
    }

    if (rv != FY_CONF_ERROR) {
        fy_conf_error(cf, "\"%s\" directive %s", cmd->name, rv);
    }

    return FY_ERROR;
}


static int
fy_conf_include_glob(fy_conf_t *cf, const char *pattern)
{
    glob_t  g;
    size_t  i;
    int     rc;

    memset(&g, 0, sizeof(g));

    /* Flags 0: matches come sorted, so include order is predictable. */
    rc = glob(pattern, 0, NULL, &g);

    if (rc == GLOB_NOMATCH) {
        globfree(&g);
        return FY_OK;
    }

    if (rc != 0) {
        fy_conf_error(cf, "glob() \"%s\" failed", pattern);
        globfree(&g);
        return FY_ERROR;
    }

    rc = FY_OK;

    for (i = 0; i < g.gl_pathc; i++) {
        if (fy_conf_parse(cf, g.gl_pathv[i]) != FY_OK) {
            rc = FY_ERROR;
            break;
        }
    }

    globfree(&g);

    return rc;
}


/*
 * include FILE;  A plain name must exist; a pattern may match nothing
 * (an empty conf.d/ is normal).  The files are read in the current
 * context, as if their text stood in place of the directive.
 */
static int
fy_conf_include(fy_conf_t *cf, int last)
{
    char  *path;

    if (last != FY_CONF_TOK_END) {
        fy_conf_error(cf, "directive \"include\" is not terminated by \";\"");
        return FY_ERROR;
    }

    if (cf->nargs != 2) {
        fy_conf_error(cf,
                      "invalid number of arguments in \"include\" directive");
        return FY_ERROR;
    }

    path = fy_conf_full_name(cf, cf->conf_dir, &cf->args[1]);
    if (path == NULL) {
        fy_conf_error(cf, "out of memory");
        return FY_ERROR;
    }

    if (strpbrk(path, "*?[") == NULL) {
        return fy_conf_parse(cf, path);
    }

    return fy_conf_include_glob(cf, path);
}


/* Find the row for cf->args[0] and run it; "last" is what ended it. */
static int
fy_conf_handler(fy_conf_t *cf, int last, const fy_conf_words_t *w)
{
    const fy_command_t *const  *t;
    const fy_command_t         *cmd;
    fy_str_t                   *name;
    int                         found;

    /* A fresh array per directive: setters may keep cf->args. */
    cf->args = fy_palloc(cf->pool, w->n * sizeof(fy_str_t));
    if (cf->args == NULL) {
        fy_conf_error(cf, "out of memory");
        return FY_ERROR;
    }

    memcpy(cf->args, w->elts, w->n * sizeof(fy_str_t));
    cf->nargs = w->n;
    name = &cf->args[0];

    if (fy_str_eq(name, "include")) {
        return fy_conf_include(cf, last);
    }

    if (cf->handler) {
        if (last != FY_CONF_TOK_END) {
            fy_conf_error(cf, "\"%.*s\" is not terminated by \";\"",
                          (int) name->len, name->data);
            return FY_ERROR;
        }
        return cf->handler(cf);
    }

    found = 0;

    for (t = cf->tables; t && *t; t++) {
        for (cmd = *t; cmd->name; cmd++) {
            if (!fy_str_eq(name, cmd->name)) {
                continue;
            }

            /* The same name may have other rows for other contexts. */
            found = 1;

            if (cmd->contexts & cf->ctx_type) {
                return fy_conf_run(cf, cmd, last);
            }
        }
    }

    if (found) {
        fy_conf_error(cf, "\"%.*s\" directive is not allowed here",
                      (int) name->len, name->data);

    } else {
        fy_conf_error(cf, "unknown directive \"%.*s\"",
                      (int) name->len, name->data);
    }

    return FY_ERROR;
}


static int
fy_conf_parse_body(fy_conf_t *cf, int mode)
{
    fy_conf_words_t  w;
    int              rc;

    memset(&w, 0, sizeof(w));

    for ( ;; ) {
        rc = fy_conf_read_token(cf, &w);

        switch (rc) {

        case FY_CONF_TOK_ERROR:
            return FY_ERROR;

        case FY_CONF_TOK_BLOCK_DONE:
            if (mode != FY_CONF_PARSE_BLOCK) {
                fy_conf_error(cf, "unexpected \"}\"");
                return FY_ERROR;
            }

            return FY_OK;

        case FY_CONF_TOK_FILE_DONE:
            if (mode == FY_CONF_PARSE_BLOCK) {
                fy_conf_error(cf, "unexpected end of file, expecting \"}\"");
                return FY_ERROR;
            }

            return FY_OK;

        default:
            if (fy_conf_handler(cf, rc, &w) != FY_OK) {
                return FY_ERROR;
            }
        }
    }
}


/* ---- files -------------------------------------------------------- */


/* Read a whole file into the pool; NULL if that failed (logged). */
static fy_conf_file_t *
fy_conf_read_file(fy_conf_t *cf, const char *name)
{
    fy_conf_file_t  *f;
    struct stat      st;
    u_char          *data;
    size_t           size, got;
    ssize_t          n;
    int              fd;

    fd = open(name, O_RDONLY | O_CLOEXEC);
    if (fd == -1) {
        fy_conf_sys_error(cf, errno, "open()", name);
        return NULL;
    }

    if (fstat(fd, &st) == -1) {
        fy_conf_sys_error(cf, errno, "fstat()", name);
        close(fd);
        return NULL;
    }

    size = (size_t) st.st_size;
    f = fy_pcalloc(cf->pool, sizeof(fy_conf_file_t));
    data = fy_palloc(cf->pool, size + 1);

    if (f == NULL || data == NULL) {
        fy_conf_error(cf, "out of memory reading \"%s\"", name);
        close(fd);
        return NULL;
    }

    for (got = 0; got < size; got += n) {
        n = read(fd, data + got, size - got);

        if (n == -1 && errno == EINTR) {
            n = 0;
            continue;
        }

        if (n == -1) {
            fy_conf_sys_error(cf, errno, "read()", name);
            close(fd);
            return NULL;
        }

        if (n == 0) {
            break;      /* truncated while we read: take what is there */
        }
    }

    close(fd);
    data[got] = '\0';

    f->name = fy_pstrndup(cf->pool, name, strlen(name));
    if (f->name == NULL) {
        fy_conf_error(cf, "out of memory reading \"%s\"", name);
        return NULL;
    }

    f->data = data;
    f->size = got;
    f->line = 1;

    return f;
}


/* Remember a file for -T; a file included twice is shown once. */
static int
fy_conf_dump_add(fy_conf_t *cf, const fy_conf_file_t *f)
{
    fy_conf_dump_t  *d;

    for (d = cf->dump; d; d = d->next) {
        if (strcmp(d->name, f->name) == 0) {
            return FY_OK;
        }
    }

    d = fy_palloc(cf->pool, sizeof(fy_conf_dump_t));
    if (d == NULL) {
        fy_conf_error(cf, "out of memory");
        return FY_ERROR;
    }

    d->name = f->name;
    d->data = f->data;
    d->size = f->size;
    d->next = NULL;

    if (cf->dump_last == NULL) {
        cf->dump_last = &cf->dump;
    }

    *cf->dump_last = d;
    cf->dump_last = &d->next;

    return FY_OK;
}


static int
fy_conf_parse_input(fy_conf_t *cf, fy_conf_file_t *f)
{
    int  rc;

    f->parent = cf->file;
    cf->file = f;
    cf->depth++;

    rc = fy_conf_parse_body(cf, FY_CONF_PARSE_FILE);

    cf->depth--;
    cf->file = f->parent;

    return rc;
}


static int
fy_conf_parse_file(fy_conf_t *cf, const char *filename)
{
    fy_conf_file_t  *f;

    if (cf->depth >= FY_CONF_MAX_DEPTH) {
        fy_conf_error(cf, "includes nested deeper than %d levels at \"%s\", "
                      "possibly an include loop", FY_CONF_MAX_DEPTH,
                      filename);
        return FY_ERROR;
    }

    f = fy_conf_read_file(cf, filename);
    if (f == NULL) {
        return FY_ERROR;
    }

    if (fy_conf_dump_add(cf, f) != FY_OK) {
        return FY_ERROR;
    }

    return fy_conf_parse_input(cf, f);
}


/*
 * The directive that led here (an include or a block) gets its args
 * and line back afterwards, so its setter can still report errors at
 * its own line once the block has been read.
 */
int
fy_conf_parse(fy_conf_t *cf, const char *filename)
{
    fy_str_t  *args;
    unsigned   nargs, line;
    int        rc;

    args = cf->args;
    nargs = cf->nargs;
    line = cf->line;

    if (filename) {
        rc = fy_conf_parse_file(cf, filename);

    } else if (cf->file) {
        rc = fy_conf_parse_body(cf, FY_CONF_PARSE_BLOCK);

    } else {
        fy_log_error(FY_LOG_ALERT, 0, "block parse outside of any file");
        rc = FY_ERROR;
    }

    cf->args = args;
    cf->nargs = nargs;
    cf->line = line;

    return rc;
}


int
fy_conf_parse_string(fy_conf_t *cf, const char *text, const char *name)
{
    fy_conf_file_t  *f;
    fy_str_t        *args;
    unsigned         nargs, line;
    int              rc;

    f = fy_pcalloc(cf->pool, sizeof(fy_conf_file_t));
    if (f != NULL) {
        /* Setters may keep the name for later messages. */
        f->name = fy_pstrndup(cf->pool, name, strlen(name));
    }

    if (f == NULL || f->name == NULL) {
        fy_log_error(FY_LOG_EMERG, ENOMEM, "out of memory");
        return FY_ERROR;
    }

    /* Words are copied out, so the text itself need not be kept. */
    f->data = (u_char *) text;
    f->size = strlen(text);
    f->line = 1;

    args = cf->args;
    nargs = cf->nargs;
    line = cf->line;

    rc = fy_conf_parse_input(cf, f);

    cf->args = args;
    cf->nargs = nargs;
    cf->line = line;

    return rc;
}


char *
fy_conf_full_name(fy_conf_t *cf, const char *base, const fy_str_t *name)
{
    size_t   blen, slash;
    char    *p;

    if ((name->len && name->data[0] == '/') || base == NULL || *base == '\0')
    {
        return fy_pstrndup(cf->pool, name->data, name->len);
    }

    blen = strlen(base);
    slash = base[blen - 1] != '/';

    p = fy_palloc(cf->pool, blen + slash + name->len + 1);
    if (p == NULL) {
        return NULL;
    }

    memcpy(p, base, blen);

    if (slash) {
        p[blen] = '/';
    }

    if (name->len) {
        memcpy(p + blen + slash, name->data, name->len);
    }

    p[blen + slash + name->len] = '\0';

    return p;
}


void
fy_conf_dump_print(fy_conf_t *cf, FILE *out)
{
    fy_conf_dump_t  *d;

    for (d = cf->dump; d; d = d->next) {
        fprintf(out, "# configuration file %s:\n", d->name);
        fwrite(d->data, 1, d->size, out);

        if (d->size == 0 || d->data[d->size - 1] != '\n') {
            fputc('\n', out);
        }
    }
}
