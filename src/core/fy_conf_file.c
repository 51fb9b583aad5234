/*
 * fy_conf_file.c -- the configuration reader's files and entry points.
 *
 * The syntax is nginx's, read the way nginx reads it.  The reader is
 * three files sharing fy_conf_file_int.h: the tokenizer turns bytes
 * into the words of a directive (fy_conf_lex.c), the directive loop
 * finds each one's row in cf->tables and runs its setter
 * (fy_conf_directive.c), and this file reads the files, runs
 * "include" (the one directive the reader runs itself, since it is
 * about files, not about any module's configuration), keeps what -T
 * prints, and holds the entry points and fy_conf_error.  The generic
 * setters most rows name are in fy_conf_set.c.
 *
 * Files are read whole into the pool: they are small, the -T dump
 * wants their text anyway, and the tokenizer then never has to refill
 * a buffer in the middle of a word.
 */
#include "fy_core.h"
#include "fy_conf_file.h"
#include "fy_conf_file_int.h"

#include <fcntl.h>
#include <glob.h>
#include <sys/stat.h>


/* Files open at once through "include"; a loop stops here. */
#define FY_CONF_MAX_DEPTH    16


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
int
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

int
fy_conf_parse_lines(fy_conf_t *cf, int (*handler)(fy_conf_t *cf), void *data)
{
    int  rc;

    cf->handler = handler;
    cf->handler_data = data;
    rc = fy_conf_parse(cf, NULL);
    cf->handler = NULL;
    cf->handler_data = NULL;
    return rc;
}
