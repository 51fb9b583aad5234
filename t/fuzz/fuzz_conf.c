/*
 * fuzz_conf.c -- the configuration reader (fy_conf_parse_string, the
 * path of "ferry -g") over a fake directive table that uses every
 * generic setter, a block directive that nests, and a directive whose
 * setter keeps cf->args.
 *
 * The real tables are not used: "listen", "server" and "proxy_pass"
 * resolve host names (the fuzzer would be testing the resolver), and
 * the http module's tables are exercised by t/config.t.  Inputs that
 * contain "include" are skipped: they would read files.
 *
 * Checked: no memory error, UB or leak; the reader's contract after
 * each directive (words NUL-terminated at their length, the directive
 * name first); cf->args and cf->line restored after a block; blocks
 * nest no deeper than the table allows; every setter's result is
 * within its bounds.  Global state: the log (pointed at /dev/null once)
 * and nothing else; each input gets its own pool.
 */

#include "fy_core.h"
#include "fy_pool.h"
#include "fy_conf_file.h"
#include "fy_fuzz.h"

#include <fcntl.h>


#define FAKE_MAX_DEPTH  8

typedef struct {
    int        flag;
    int64_t    num;
    int        i;
    size_t     size;
    int64_t    msec;
    fy_str_t   str;
    int        mode;
    fy_str_t  *kept;
    unsigned   nkept;
} fake_conf_t;

static const fy_conf_bounds_t  fake_num_bounds = { 0, 1000000 };
static const fy_conf_bounds_t  fake_int_bounds = { -5, 65535 };
static const fy_conf_bounds_t  fake_size_bounds = { 1, 1024 * 1024 };
static const fy_conf_bounds_t  fake_msec_bounds = { 0, 86400000 };

static const fy_conf_enum_t  fake_modes[] = {
    { "one", 1 }, { "two", 2 }, { "three", 3 }, { NULL, 0 }
};

static unsigned  fake_depth;


static void
fake_conf_init(fake_conf_t *fc)
{
    memset(fc, 0, sizeof(fake_conf_t));
    fc->flag = FY_CONF_UNSET_INT;
    fc->num = FY_CONF_UNSET;
    fc->i = FY_CONF_UNSET_INT;
    fc->size = FY_CONF_UNSET_SIZE;
    fc->msec = FY_CONF_UNSET_MSEC;
    fc->mode = FY_CONF_UNSET_INT;
}


static void
check_args(fy_conf_t *cf)
{
    unsigned  i;

    fy_fuzz_assert(cf->nargs >= 1 && cf->args != NULL);

    for (i = 0; i < cf->nargs; i++) {
        fy_fuzz_assert(cf->args[i].data[cf->args[i].len] == '\0');
    }
}


static const char *
fake_block(fy_conf_t *cf, const fy_command_t *cmd, void *conf)
{
    fy_conf_ctx_t   ctx, *saved_ctx;
    fake_conf_t    *fc;
    fy_str_t       *args;
    unsigned        saved_type, line, nargs;
    int             rc;

    fy_unused(cmd);
    fy_unused(conf);
    check_args(cf);

    /* as the real contexts do (location in server in http), a table
     * bounds the nesting; the reader itself does not */
    if (fake_depth >= FAKE_MAX_DEPTH) {
        return "is nested too deep";
    }

    fc = fy_palloc(cf->pool, sizeof(fake_conf_t));
    if (fc == NULL) {
        return "out of memory";
    }
    fake_conf_init(fc);

    ctx.main = fc;
    ctx.srv = fc;
    ctx.loc = fc;

    saved_ctx = cf->ctx;
    saved_type = cf->ctx_type;
    args = cf->args;
    nargs = cf->nargs;
    line = cf->line;

    cf->ctx = &ctx;
    cf->ctx_type = FY_CONF_HTTP;
    fake_depth++;

    rc = fy_conf_parse(cf, NULL);

    fake_depth--;
    cf->ctx = saved_ctx;
    cf->ctx_type = saved_type;

    fy_fuzz_assert(cf->args == args && cf->nargs == nargs
                   && cf->line == line);

    return rc == FY_OK ? FY_CONF_OK : FY_CONF_ERROR;
}


static const char *
fake_keep(fy_conf_t *cf, const fy_command_t *cmd, void *conf)
{
    fake_conf_t  *fc = conf;

    fy_unused(cmd);
    check_args(cf);

    fc->kept = cf->args;
    fc->nkept = cf->nargs;

    return FY_CONF_OK;
}


#define FAKE_CTX  (FY_CONF_MAIN | FY_CONF_HTTP)

static const fy_command_t  fake_commands[] = {
    { "flag", FAKE_CTX, 0, 1, 1, fy_conf_set_flag, FY_CONF_MAIN_OFF,
      offsetof(fake_conf_t, flag), NULL },
    { "num", FAKE_CTX, 0, 1, 1, fy_conf_set_num, FY_CONF_MAIN_OFF,
      offsetof(fake_conf_t, num), &fake_num_bounds },
    { "int", FAKE_CTX, 0, 1, 1, fy_conf_set_int, FY_CONF_MAIN_OFF,
      offsetof(fake_conf_t, i), &fake_int_bounds },
    { "size", FAKE_CTX, 0, 1, 1, fy_conf_set_size, FY_CONF_MAIN_OFF,
      offsetof(fake_conf_t, size), &fake_size_bounds },
    { "msec", FAKE_CTX, 0, 1, 1, fy_conf_set_msec, FY_CONF_MAIN_OFF,
      offsetof(fake_conf_t, msec), &fake_msec_bounds },
    { "str", FAKE_CTX, 0, 1, 1, fy_conf_set_str, FY_CONF_MAIN_OFF,
      offsetof(fake_conf_t, str), NULL },
    { "mode", FAKE_CTX, 0, 1, 1, fy_conf_set_enum, FY_CONF_MAIN_OFF,
      offsetof(fake_conf_t, mode), fake_modes },
    { "keep", FAKE_CTX, 0, 0, FY_CONF_MANY, fake_keep, FY_CONF_MAIN_OFF,
      0, NULL },
    { "b", FAKE_CTX, FY_CONF_BLOCK, 0, 3, fake_block, FY_CONF_MAIN_OFF,
      0, NULL },
    /* main only: "not allowed here" inside a block */
    { "top", FY_CONF_MAIN, 0, 1, 1, fy_conf_set_str, FY_CONF_MAIN_OFF,
      offsetof(fake_conf_t, str), NULL },
    { NULL, 0, 0, 0, 0, NULL, 0, 0, NULL }
};

static const fy_command_t *const  fake_tables[] = { fake_commands, NULL };


int
LLVMFuzzerInitialize(int *argc, char ***argv)
{
    fy_unused(argc);
    fy_unused(argv);

    /* every message is still formatted and written, to nowhere */
    fy_log.fd = open("/dev/null", O_WRONLY | O_CLOEXEC);
    fy_log.level = FY_LOG_DEBUG;
    fy_log.startup = 1;

    return 0;
}


int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    fy_pool_t      *pool;
    fy_conf_t       cf;
    fy_conf_ctx_t   ctx;
    fake_conf_t     fc;
    char           *text;
    unsigned        i;
    int             rc;

    size = fy_min(size, FY_FUZZ_MAX_LEN);

    if (memmem(data, size, "include", 7) != NULL) {
        return 0;
    }

    /* the -g text is a C string: an embedded NUL ends it */
    text = malloc(size + 1);
    memcpy(text, data, size);
    text[size] = '\0';

    pool = fy_pool_create(4096);
    fy_fuzz_assert(pool != NULL);

    fake_conf_init(&fc);
    memset(&ctx, 0, sizeof(ctx));
    ctx.main = &fc;
    ctx.srv = &fc;
    ctx.loc = &fc;

    fy_conf_init(&cf, pool);
    cf.tables = fake_tables;
    cf.prefix = "/nonexistent/";
    cf.conf_dir = "/nonexistent/conf/";
    cf.ctx = &ctx;
    cf.ctx_type = FY_CONF_MAIN;
    fake_depth = 0;

    rc = fy_conf_parse_string(&cf, text, "fuzz");

    fy_fuzz_assert(rc == FY_OK || rc == FY_ERROR);
    fy_fuzz_assert(fake_depth == 0);
    fy_fuzz_assert(cf.ctx == &ctx && cf.ctx_type == FY_CONF_MAIN);
    fy_fuzz_assert(cf.file == NULL && cf.depth == 0);

    /* what the setters stored is within the row's bounds */
    fy_fuzz_assert(fc.flag == FY_CONF_UNSET_INT || fc.flag == 0
                   || fc.flag == 1);
    fy_fuzz_assert(fc.num == FY_CONF_UNSET
                   || (fc.num >= 0 && fc.num <= 1000000));
    fy_fuzz_assert(fc.i == FY_CONF_UNSET_INT
                   || (fc.i >= -5 && fc.i <= 65535));
    fy_fuzz_assert(fc.size == FY_CONF_UNSET_SIZE
                   || (fc.size >= 1 && fc.size <= 1024 * 1024));
    fy_fuzz_assert(fc.msec == FY_CONF_UNSET_MSEC
                   || (fc.msec >= 0 && fc.msec <= 86400000));
    fy_fuzz_assert(fc.mode == FY_CONF_UNSET_INT
                   || (fc.mode >= 1 && fc.mode <= 3));

    if (fc.str.data) {
        fy_fuzz_assert(fc.str.data[fc.str.len] == '\0');
    }

    /* kept words outlive the directive: they are in the pool */
    for (i = 0; i < fc.nkept; i++) {
        fy_fuzz_assert(fc.kept[i].data[fc.kept[i].len] == '\0');
    }

    fy_pool_destroy(pool);
    free(text);

    return 0;
}
