/*
 * test_conf.c -- the configuration reader on fake directive tables.
 *
 * Every directive here records what the reader handed it (line, name,
 * words) into one string, so a test is "parse this text, compare the
 * record, and look for the expected [emerg] line in the log".  The log
 * goes to a temp file that each check reads and empties.
 */

#include "fy_core.h"
#include "fy_pool.h"
#include "fy_conf_file.h"
#include "fy_tap.h"

#include <fcntl.h>
#include <sys/stat.h>


/* ---- the fake configuration --------------------------------------- */

typedef struct {
    int       flag;
    int64_t   num;
    int       i;
    size_t    size;
    int64_t   msec;
    fy_str_t  str;
    int       mode;
    fy_str_t *kept_args;     /* cf->args saved by "keep" */
    unsigned  kept_nargs;
} fake_conf_t;

static fake_conf_t    fake;
static fake_conf_t    fake_http;    /* what blocks hand down as ctx->loc */
static char           rec[8192];
static size_t         rec_len;
static char           log_path[256];
static char           tmp_dir[] = "/tmp/fy_test_conf.XXXXXX";


static void
rec_add(const char *fmt, ...)
{
    va_list  ap;
    int      n;

    va_start(ap, fmt);
    n = vsnprintf(rec + rec_len, sizeof(rec) - rec_len, fmt, ap);
    va_end(ap);

    if (n > 0) {
        rec_len = fy_min(rec_len + n, sizeof(rec) - 1);
    }
}


/* Records "line:name(arg,arg) ". */
static const char *
set_echo(fy_conf_t *cf, const fy_command_t *cmd, void *conf)
{
    unsigned  i;

    fy_unused(cmd);
    fy_unused(conf);

    rec_add("%u:%s(", cf->line, cf->args[0].data);

    for (i = 1; i < cf->nargs; i++) {
        /* Words are NUL-terminated at len, whatever they contain. */
        if (cf->args[i].data[cf->args[i].len] != '\0') {
            rec_add("UNTERMINATED");
        }

        rec_add("%s%.*s", i > 1 ? "," : "", (int) cf->args[i].len,
                cf->args[i].data);
    }

    rec_add(") ");

    return FY_CONF_OK;
}


/*
 * A block: switch to the given context, read the block, switch back.
 * After the block, cf->line and cf->args must be this directive's
 * again; "line{...}line" in the record shows it.
 */
static const char *
set_block(fy_conf_t *cf, unsigned ctx_type)
{
    fy_conf_ctx_t  ctx, *saved_ctx;
    unsigned       saved_type;
    int            rc;
    const char    *name;

    name = (const char *) cf->args[0].data;
    rec_add("%u:%s{ ", cf->line, name);

    ctx.main = &fake;
    ctx.srv = &fake_http;
    ctx.loc = &fake_http;

    saved_ctx = cf->ctx;
    saved_type = cf->ctx_type;
    cf->ctx = &ctx;
    cf->ctx_type = ctx_type;

    rc = fy_conf_parse(cf, NULL);

    cf->ctx = saved_ctx;
    cf->ctx_type = saved_type;

    if (rc != FY_OK) {
        return FY_CONF_ERROR;
    }

    rec_add("}%u:%s ", cf->line, cf->args[0].data == (u_char *) name
                                 ? name : "ARGS-LOST");

    return FY_CONF_OK;
}


static const char *
set_outer(fy_conf_t *cf, const fy_command_t *cmd, void *conf)
{
    fy_unused(cmd);
    fy_unused(conf);

    return set_block(cf, FY_CONF_HTTP);
}


static const char *
set_inner(fy_conf_t *cf, const fy_command_t *cmd, void *conf)
{
    fy_unused(cmd);
    fy_unused(conf);

    return set_block(cf, FY_CONF_SRV);
}


static const char *
set_bad(fy_conf_t *cf, const fy_command_t *cmd, void *conf)
{
    fy_unused(cf);
    fy_unused(cmd);
    fy_unused(conf);

    return "custom complaint";
}


static const char *
set_own(fy_conf_t *cf, const fy_command_t *cmd, void *conf)
{
    fy_unused(cmd);
    fy_unused(conf);

    fy_conf_error(cf, "own message about \"%s\"", cf->args[1].data);

    return FY_CONF_ERROR;
}


static const char *
set_dual_main(fy_conf_t *cf, const fy_command_t *cmd, void *conf)
{
    fy_unused(cf);
    fy_unused(cmd);

    rec_add("dual-main:%s ", conf == &fake ? "fake" : "?");

    return FY_CONF_OK;
}


static const char *
set_dual_http(fy_conf_t *cf, const fy_command_t *cmd, void *conf)
{
    fy_unused(cf);
    fy_unused(cmd);

    rec_add("dual-http:%s ", conf == &fake_http ? "fake_http" : "?");

    return FY_CONF_OK;
}


static const char *
set_keep(fy_conf_t *cf, const fy_command_t *cmd, void *conf)
{
    fy_unused(cmd);
    fy_unused(conf);

    fake.kept_args = cf->args;
    fake.kept_nargs = cf->nargs;

    return FY_CONF_OK;
}


static const fy_conf_bounds_t  num_bounds = { 1, 100 };
static const fy_conf_bounds_t  size_bounds = { 1024, 1048576 };
static const fy_conf_bounds_t  msec_bounds = { 1, 3600000 };

static const fy_conf_enum_t  modes[] = {
    { "round_robin", 1 },
    { "least_conn", 2 },
    { NULL, 0 }
};

#define F(field)  offsetof(fake_conf_t, field)

static const fy_command_t  main_cmds[] = {
    { "echo", FY_CONF_ANY, 0, 0, FY_CONF_MANY, set_echo, 0, 0, NULL },
    { "one", FY_CONF_ANY, 0, 1, 1, set_echo, 0, 0, NULL },
    { "two_three", FY_CONF_MAIN, 0, 2, 3, set_echo, 0, 0, NULL },
    { "outer", FY_CONF_MAIN, FY_CONF_BLOCK, 0, 1, set_outer,
      FY_CONF_MAIN_OFF, 0, NULL },
    { "main_only", FY_CONF_MAIN, 0, 0, 0, set_echo, 0, 0, NULL },
    { "bad", FY_CONF_ANY, 0, 0, 1, set_bad, 0, 0, NULL },
    { "own", FY_CONF_ANY, 0, 1, 1, set_own, 0, 0, NULL },
    { "dual", FY_CONF_MAIN, 0, 0, 0, set_dual_main, FY_CONF_MAIN_OFF, 0,
      NULL },
    { "keep", FY_CONF_MAIN, 0, 0, FY_CONF_MANY, set_keep, 0, 0, NULL },
    { "flag", FY_CONF_MAIN, 0, 1, 1, fy_conf_set_flag, FY_CONF_MAIN_OFF,
      F(flag), NULL },
    { "num", FY_CONF_MAIN, 0, 1, 1, fy_conf_set_num, FY_CONF_MAIN_OFF,
      F(num), &num_bounds },
    { "int", FY_CONF_MAIN | FY_CONF_HTTP, 0, 1, 1, fy_conf_set_int,
      FY_CONF_LOC_OFF, F(i), NULL },
    { "size", FY_CONF_MAIN, 0, 1, 1, fy_conf_set_size, FY_CONF_MAIN_OFF,
      F(size), &size_bounds },
    { "msec", FY_CONF_MAIN, 0, 1, 1, fy_conf_set_msec, FY_CONF_MAIN_OFF,
      F(msec), &msec_bounds },
    { "str", FY_CONF_MAIN, 0, 1, 1, fy_conf_set_str, FY_CONF_MAIN_OFF,
      F(str), NULL },
    { "mode", FY_CONF_MAIN, 0, 1, 1, fy_conf_set_enum, FY_CONF_MAIN_OFF,
      F(mode), modes },
    { NULL, 0, 0, 0, 0, NULL, 0, 0, NULL }
};

/* A second table: lookups must walk all of them. */
static const fy_command_t  http_cmds[] = {
    { "inner", FY_CONF_HTTP, FY_CONF_BLOCK, 0, 0, set_inner,
      FY_CONF_LOC_OFF, 0, NULL },
    { "http_only", FY_CONF_HTTP, 0, 0, FY_CONF_MANY, set_echo, 0, 0, NULL },
    { "srv_only", FY_CONF_SRV, 0, 0, FY_CONF_MANY, set_echo, 0, 0, NULL },
    { "dual", FY_CONF_HTTP, 0, 0, 0, set_dual_http, FY_CONF_LOC_OFF, 0,
      NULL },
    { NULL, 0, 0, 0, 0, NULL, 0, 0, NULL }
};

static const fy_command_t *const  tables[] = { main_cmds, http_cmds, NULL };


/* ---- harness ------------------------------------------------------ */

static fy_pool_t      *pool;
static fy_conf_t       cf;
static fy_conf_ctx_t   main_ctx;


static void
fake_reset(fake_conf_t *c)
{
    memset(c, 0, sizeof(fake_conf_t));
    c->flag = FY_CONF_UNSET_INT;
    c->num = FY_CONF_UNSET;
    c->i = FY_CONF_UNSET_INT;
    c->size = FY_CONF_UNSET_SIZE;
    c->msec = FY_CONF_UNSET_MSEC;
    c->mode = FY_CONF_UNSET_INT;
}


/* A fresh configuration in a fresh pool, as one reload would do. */
static void
conf_begin(void)
{
    fy_pool_destroy(pool);
    pool = fy_pool_create(4096);

    fake_reset(&fake);
    fake_reset(&fake_http);
    rec_len = 0;
    rec[0] = '\0';

    main_ctx.main = &fake;
    main_ctx.srv = NULL;
    main_ctx.loc = &fake;

    fy_conf_init(&cf, pool);
    cf.tables = tables;
    cf.ctx = &main_ctx;
    cf.ctx_type = FY_CONF_MAIN;
    cf.conf_dir = NULL;
}


static int
parse(const char *text)
{
    conf_begin();
    return fy_conf_parse_string(&cf, text, "str");
}


/* The log since the last call; the file is emptied. */
static const char *
log_take(void)
{
    static char  buf[16384];
    ssize_t      n;
    int          fd;

    buf[0] = '\0';

    fd = open(log_path, O_RDONLY);
    if (fd == -1) {
        return buf;
    }

    n = read(fd, buf, sizeof(buf) - 1);
    close(fd);
    buf[n > 0 ? n : 0] = '\0';

    if (ftruncate(fy_log.fd, 0) != 0) {
        buf[0] = '\0';
    }

    return buf;
}


/*
 * The log holds exactly one line, at [emerg], ending with want.
 * Returns 1 if so; prints the log otherwise.
 */
static int
log_is(const char *want)
{
    const char  *log, *p;
    size_t       n, w;

    log = log_take();
    n = strlen(log);
    w = strlen(want);

    p = strchr(log, '\n');

    if (p && p[1] == '\0' && n > w + 1 && strstr(log, "[emerg]") != NULL
        && memcmp(log + n - 1 - w, want, w) == 0)
    {
        return 1;
    }

    printf("#   log was: %s#   expected a single line ending: %s\n",
           log, want);

    return 0;
}


#define parse_ok(text, want, name)                                         \
    do {                                                                   \
        int rc_ = parse(text);                                             \
        is_int(rc_, FY_OK, "%s: parsed", name);                            \
        is_str(rec, want, "%s: directives seen", name);                    \
        is_str(log_take(), "", "%s: nothing logged", name);                \
    } while (0)

#define parse_err(text, msg, name)                                         \
    do {                                                                   \
        int rc_ = parse(text);                                             \
        is_int(rc_, FY_ERROR, "%s: fails", name);                          \
        ok(log_is(msg), "%s: logs %s", name, msg);                         \
    } while (0)


/* ---- tokenizer ---------------------------------------------------- */

static void
test_tokens(void)
{
    parse_ok("echo a b c;", "1:echo(a,b,c) ", "plain words");
    parse_ok("echo;", "1:echo() ", "no arguments");
    parse_ok("  echo\ta\r\n  b ;\n", "1:echo(a,b) ", "whitespace kinds");
    parse_ok("echo\n\n a\n b;\necho c;", "1:echo(a,b) 5:echo(c) ",
             "line of a directive is the line of its name");
    parse_ok("echo \"a b\" 'c d';", "1:echo(a b,c d) ", "quotes group");
    parse_ok("echo \"\" '';", "1:echo(,) ", "empty quoted words");
    parse_ok("\"echo\" x;", "1:echo(x) ", "quoted directive name");
    parse_ok("echo \"a;b\" 'c{d}' \"#no\";", "1:echo(a;b,c{d},#no) ",
             "separators inside quotes");
    parse_ok("echo \"q\\\"q\" 'q\\'q' \"b\\\\s\";",
             "1:echo(q\"q,q'q,b\\s) ", "quote and backslash escapes");
    parse_ok("echo \"t\\tn\\nr\\r\";", "1:echo(t\tn\nr\r) ",
             "\\t \\n \\r escapes");
    parse_ok("echo \"x\\yz\" a\\;b a\\ b;", "1:echo(x\\yz,a\\;b,a\\ b) ",
             "other escapes keep the backslash");
    parse_ok("echo \"a\nb\";\necho c;", "1:echo(a\nb) 3:echo(c) ",
             "newline inside quotes counts lines");
    parse_ok("# only a comment", "", "comment without newline");
    parse_ok("# c1\necho a; # trailing ; {\n#x\necho b#c d#;\n",
             "2:echo(a) 4:echo(b#c,d#) ", "comments start only words");
    parse_ok("echo a # mid\n b;", "1:echo(a,b) ",
             "comment between arguments");
    parse_ok("echo ${var} a$b ${x}y \"${q}\";",
             "1:echo(${var},a$b,${x}y,${q}) ", "variables stay text");
    parse_ok("echo a;\r\necho b;\r\n", "1:echo(a) 2:echo(b) ", "CRLF lines");
    parse_ok("echo \"a\";echo 'b'\n;", "1:echo(a) 1:echo(b) ",
             "quoted word then separator");
    parse_ok("echo \"a\")b c;", "1:echo(a,)b,c) ",
             "')' after a quote starts a new word, as in nginx");
    parse_ok("echo a}b c};", "1:echo(a}b,c}) ",
             "a closing brace inside a word is part of it, as in nginx");
    parse_ok("", "", "empty input");

    parse_err("echo \"abc;\n",
              "unexpected end of file, expecting \";\" or \"}\" in str:2",
              "unterminated double quote");
    parse_err("echo 'abc;",
              "unexpected end of file, expecting \";\" or \"}\" in str:1",
              "unterminated single quote");
    parse_err("echo \"a\"b;", "unexpected \"b\" in str:1",
              "word glued to a closing quote");
    parse_err("echo\n'a'\"b\";", "unexpected \"\"\" in str:2",
              "two quoted words glued");
    parse_err("echo 'it''s';", "unexpected \"'\" in str:1",
              "quotes do not concatenate");
    parse_err("echo \"a\"}", "unexpected \"}\" in str:1",
              "brace glued to a closing quote");
    parse_err("echo a\n}", "unexpected \"}\" in str:2",
              "brace in place of a semicolon");
    parse_err("echo a;\n;", "unexpected \";\" in str:2", "empty directive");
    parse_err("echo a;;", "unexpected \";\" in str:1", "double semicolon");
    parse_err("\n{", "unexpected \"{\" in str:2", "lone opening brace");
    parse_err("echo a;\n\n}\n", "unexpected \"}\" in str:3",
              "closing brace at top level");
    parse_err("echo a",
              "unexpected end of file, expecting \";\" or \"}\" in str:1",
              "missing semicolon at end");
    parse_err("echo a\n",
              "unexpected end of file, expecting \";\" or \"}\" in str:2",
              "missing semicolon before final newline");
    parse_err("echo a\\",
              "unexpected end of file, expecting \";\" or \"}\" in str:1",
              "backslash at end of input");
}


/* ---- directives and blocks ---------------------------------------- */

static void
test_directives(void)
{
    u_char  *p;
    int      i;

    parse_err("echo a;\n\nfoo bar;", "unknown directive \"foo\" in str:3",
              "unknown directive");
    parse_err("outer {\n  main_only;\n}",
              "\"main_only\" directive is not allowed here in str:2",
              "directive in the wrong context");
    parse_err("http_only;", "\"http_only\" directive is not allowed here "
              "in str:1", "block-only directive at top level");
    parse_err("one;", "invalid number of arguments in \"one\" directive "
              "in str:1", "too few arguments");
    parse_err("echo;\none a\n b;", "invalid number of arguments in \"one\" "
              "directive in str:2", "too many arguments");
    parse_ok("two_three a b; two_three a b c;",
             "1:two_three(a,b) 1:two_three(a,b,c) ", "argument range");
    parse_err("two_three a b c d;", "invalid number of arguments in "
              "\"two_three\" directive in str:1", "above the range");
    parse_err("\nouter;", "directive \"outer\" has no opening \"{\" in str:2",
              "block directive with a semicolon");
    parse_err("one x {\n}", "directive \"one\" is not terminated by \";\" "
              "in str:1", "plain directive with a block");
    parse_err("echo\n${x{ y;", "directive \"echo\" is not terminated by "
              "\";\" in str:1", "brace after a variable word");
    parse_err("echo;\nbad x;", "\"bad\" directive custom complaint in str:2",
              "setter message");
    parse_err("own \"it\";", "own message about \"it\" in str:1",
              "setter logs its own message once");

    parse_ok("outer {\n  echo a;\n  inner {\n    srv_only x;\n  }\n"
             "  http_only y;\n}\necho z;\n",
             "1:outer{ 2:echo(a) 3:inner{ 4:srv_only(x) }3:inner "
             "6:http_only(y) }1:outer 8:echo(z) ", "nested blocks");
    parse_ok("outer{echo a;}outer x{}", "1:outer{ 1:echo(a) }1:outer "
             "1:outer{ }1:outer ", "braces glued to words");
    parse_err("outer {\n  inner {\n    http_only;\n  }\n}",
              "\"http_only\" directive is not allowed here in str:3",
              "outer context does not leak into the inner block");
    parse_err("outer {\n  echo a;\n",
              "unexpected end of file, expecting \"}\" in str:3",
              "block never closed");
    parse_err("outer {\n  echo a\n}",
              "unexpected \"}\" in str:3", "block closed mid-directive");
    parse_ok("dual; outer { dual; }", "dual-main:fake 1:outer{ "
             "dual-http:fake_http }1:outer ",
             "same name, row chosen by context and conf by offset");

    /* Words stay valid (and their array too) for the pool's lifetime. */
    is_int(parse("keep a \"b c\";\necho x y z w v u t s r q;"), FY_OK,
           "keep: parsed");
    ok(fake.kept_nargs == 3 && fy_str_eq(&fake.kept_args[0], "keep")
       && fy_str_eq(&fake.kept_args[1], "a")
       && fy_str_eq(&fake.kept_args[2], "b c")
       && fake.kept_args[2].data[3] == '\0',
       "args kept by a setter survive later directives");
    log_take();

    /* Many words: the word array grows. */
    p = malloc(6000);
    strcpy((char *) p, "echo");
    for (i = 0; i < 1000; i++) {
        strcat((char *) p, " w");
    }
    strcat((char *) p, ";");
    is_int(parse((char *) p), FY_OK, "1000 words in one directive");
    is_int(rec_len, strlen("1:echo()") + 1999 + 1, "all 1000 words seen");
    free(p);
    log_take();
}


/* ---- generic setters ---------------------------------------------- */

static void
test_setters(void)
{
    parse_ok("flag on;", "", "flag on");
    is_int(fake.flag, 1, "flag on is 1");
    parse_ok("flag OFF;", "", "flag OFF");
    is_int(fake.flag, 0, "flag OFF is 0");
    parse_err("flag yes;", "\"flag\" directive invalid value \"yes\", it "
              "must be \"on\" or \"off\" in str:1", "flag yes");
    parse_err("flag on;\nflag off;", "\"flag\" directive is duplicate in "
              "str:2", "flag duplicate");
    is_int(fake.flag, 1, "duplicate keeps the first value");
    parse_err("flag;", "invalid number of arguments in \"flag\" directive "
              "in str:1", "flag without value");

    parse_ok("num 42;", "", "num");
    is_int(fake.num, 42, "num value");
    parse_ok("num 1; ", "", "num at min");
    parse_ok("num 100;", "", "num at max");
    parse_err("num abc;", "\"num\" directive invalid value \"abc\" in str:1",
              "num not a number");
    parse_err("num -5;", "\"num\" directive invalid value \"-5\" in str:1",
              "num negative");
    parse_err("num 101;", "\"num\" directive value must be between 1 and "
              "100 in str:1", "num above bounds");
    parse_err("num 0;", "\"num\" directive value must be between 1 and "
              "100 in str:1", "num below bounds");
    parse_err("num 99999999999999999999;", "\"num\" directive invalid "
              "value \"99999999999999999999\" in str:1", "num overflow");
    parse_err("num 5; num 6;", "\"num\" directive is duplicate in str:1",
              "num duplicate");
    is_int(fake.num, 5, "num keeps the first value");

    parse_ok("int 2147483647;", "", "int max");
    is_int(fake.i, 2147483647, "int value");
    parse_err("int 2147483648;", "\"int\" directive invalid value "
              "\"2147483648\" in str:1", "int overflow");
    parse_ok("outer { int 7; }", "1:outer{ }1:outer ", "int in a block");
    is_int(fake_http.i, 7, "block setter got ctx->loc");
    is_int(fake.i, FY_CONF_UNSET_INT, "main conf untouched");

    parse_ok("size 8k;", "", "size 8k");
    is_int(fake.size, 8192, "size value");
    parse_ok("size 1M;", "", "size 1M");
    is_int(fake.size, 1048576, "size 1M value");
    parse_err("size 2m;", "\"size\" directive value must be between 1024 "
              "and 1048576 in str:1", "size above bounds");
    parse_err("size 1q;", "\"size\" directive invalid value \"1q\" in str:1",
              "size bad unit");
    parse_err("size 8k; size 8k;", "\"size\" directive is duplicate in "
              "str:1", "size duplicate");

    parse_ok("msec 1h;", "", "msec 1h");
    is_int(fake.msec, 3600000, "msec value");
    parse_ok("msec \"1m 30s\";", "", "msec quoted with space");
    is_int(fake.msec, 90000, "msec 1m 30s");
    parse_ok("msec 250ms;", "", "msec ms");
    is_int(fake.msec, 250, "msec 250ms");
    parse_err("msec 1h1s;", "\"msec\" directive value must be between 1 "
              "and 3600000 in str:1", "msec above bounds");
    parse_err("msec 0;", "\"msec\" directive value must be between 1 "
              "and 3600000 in str:1", "msec below bounds");
    parse_err("msec 5x;", "\"msec\" directive invalid value \"5x\" in str:1",
              "msec bad unit");
    parse_err("msec 1s;\nmsec 2s;", "\"msec\" directive is duplicate in "
              "str:2", "msec duplicate");

    parse_ok("str \"a b\";", "", "str");
    ok(fy_str_eq(&fake.str, "a b") && fake.str.data[3] == '\0',
       "str value NUL-terminated");
    parse_ok("str \"\";", "", "empty str");
    ok(fake.str.data != NULL && fake.str.len == 0, "empty str is set");
    parse_err("str a; str b;", "\"str\" directive is duplicate in str:1",
              "str duplicate");

    parse_ok("mode Least_Conn;", "", "enum, any case");
    is_int(fake.mode, 2, "enum value");
    parse_err("mode random;", "\"mode\" directive invalid value \"random\" "
              "in str:1", "enum unknown");
    parse_err("mode round_robin; mode least_conn;", "\"mode\" directive is "
              "duplicate in str:1", "enum duplicate");
}


/* ---- files and include -------------------------------------------- */

static void
write_file(const char *name, const char *text)
{
    char  path[512];
    FILE *f;

    snprintf(path, sizeof(path), "%s/%s", tmp_dir, name);
    f = fopen(path, "w");

    if (f == NULL) {
        printf("# cannot write %s\n", path);
        return;
    }

    fputs(text, f);
    fclose(f);
}


static int
parse_file(const char *name)
{
    char  path[512], dir[512];

    conf_begin();
    snprintf(dir, sizeof(dir), "%s/", tmp_dir);
    snprintf(path, sizeof(path), "%s/%s", tmp_dir, name);

    cf.conf_dir = fy_pstrndup(pool, dir, strlen(dir));

    return fy_conf_parse(&cf, path);
}


static char *
dump_text(void)
{
    static char  out[8192];
    FILE        *f;
    char        *buf, *p;
    size_t       size;

    buf = NULL;
    f = open_memstream(&buf, &size);
    fy_conf_dump_print(&cf, f);
    fclose(f);

    snprintf(out, sizeof(out), "%s", buf);
    free(buf);

    /* The temp dir name varies; show it as "D". */
    for (p = strstr(out, tmp_dir); p; p = strstr(out, tmp_dir)) {
        *p = 'D';
        memmove(p + 1, p + strlen(tmp_dir), strlen(p + strlen(tmp_dir)) + 1);
    }

    return out;
}


static void
test_include(void)
{
    char  want[1024];

    mkdir(strcat(strcpy(want, tmp_dir), "/conf.d"), 0700);
    mkdir(strcat(strcpy(want, tmp_dir), "/empty"), 0700);

    write_file("main.conf",
               "echo main1;\n"
               "include conf.d/*.conf;\n"
               "include empty/*.conf;\n"
               "echo main2;\n"
               "include sub.conf;\n"
               "include conf.d/a.conf;\n"
               "echo end;");
    write_file("conf.d/b.conf", "echo b;\n");
    write_file("conf.d/a.conf", "echo a;\n");
    write_file("conf.d/c.txt", "not a directive\n");
    write_file("sub.conf", "outer {\n  include inner.inc;\n}\n");
    write_file("inner.inc", "# in a block\nhttp_only x;\n");

    is_int(parse_file("main.conf"), FY_OK, "include: parsed");
    is_str(rec, "1:echo(main1) 1:echo(a) 1:echo(b) 4:echo(main2) "
           "1:outer{ 2:http_only(x) }1:outer 1:echo(a) 7:echo(end) ",
           "include: sorted glob, empty glob, block context, lines");
    is_str(log_take(), "", "include: nothing logged");

    is_str(dump_text(),
           "# configuration file D/main.conf:\n"
           "echo main1;\n"
           "include conf.d/*.conf;\n"
           "include empty/*.conf;\n"
           "echo main2;\n"
           "include sub.conf;\n"
           "include conf.d/a.conf;\n"
           "echo end;\n"
           "# configuration file D/conf.d/a.conf:\necho a;\n"
           "# configuration file D/conf.d/b.conf:\necho b;\n"
           "# configuration file D/sub.conf:\n"
           "outer {\n  include inner.inc;\n}\n"
           "# configuration file D/inner.inc:\n# in a block\nhttp_only x;\n",
           "dump: files in reading order, each once, newline added");

    /* A missing plain file is an error; the line is the include's. */
    write_file("missing.conf", "echo x;\ninclude nope.conf;\n");
    is_int(parse_file("missing.conf"), FY_ERROR, "missing include fails");
    snprintf(want, sizeof(want), "open() \"%s/nope.conf\" failed (2: No "
             "such file or directory) in %s/missing.conf:2", tmp_dir,
             tmp_dir);
    ok(log_is(want), "missing include: %s", want);

    /* Errors inside an included file name that file. */
    write_file("err.conf", "echo x;\n\ninclude conf.d/*.conf;\n"
               "include broken.inc;\n");
    write_file("broken.inc", "echo ok;\n\nnope;\n");
    is_int(parse_file("err.conf"), FY_ERROR, "error in included file");
    snprintf(want, sizeof(want), "unknown directive \"nope\" in "
             "%s/broken.inc:3", tmp_dir);
    ok(log_is(want), "included file error: %s", want);

    /* An included file must be balanced on its own. */
    write_file("unbal.conf", "outer {\n include unbal.inc;\n}\n");
    write_file("unbal.inc", "echo a;\n}\n");
    is_int(parse_file("unbal.conf"), FY_ERROR, "unbalanced include fails");
    snprintf(want, sizeof(want), "unexpected \"}\" in %s/unbal.inc:2",
             tmp_dir);
    ok(log_is(want), "unbalanced include: %s", want);

    /* Absolute paths are not resolved against conf_dir. */
    snprintf(want, sizeof(want), "include %s/conf.d/b.conf;\n", tmp_dir);
    write_file("abs.conf", want);
    is_int(parse_file("abs.conf"), FY_OK, "absolute include");
    is_str(rec, "1:echo(b) ", "absolute include read");
    log_take();

    write_file("loop.conf", "echo x;\ninclude loop.conf;\n");
    is_int(parse_file("loop.conf"), FY_ERROR, "include loop fails");
    snprintf(want, sizeof(want), "includes nested deeper than 16 levels at "
             "\"%s/loop.conf\", possibly an include loop in %s/loop.conf:2",
             tmp_dir, tmp_dir);
    ok(log_is(want), "include loop: %s", want);
    is_int(cf.depth, 0, "depth unwound after the error");

    parse_err("include;", "invalid number of arguments in \"include\" "
              "directive in str:1", "include without a file");
    parse_err("include a b;", "invalid number of arguments in \"include\" "
              "directive in str:1", "include with two files");
    parse_err("include a {}", "directive \"include\" is not terminated by "
              "\";\" in str:1", "include with a block");

    /* The main file itself missing: no location to name. */
    conf_begin();
    is_int(fy_conf_parse(&cf, "/nonexistent/ferry.conf"), FY_ERROR,
           "missing main file");
    ok(log_is("#0: open() \"/nonexistent/ferry.conf\" failed (2: No such file "
              "or directory)"), "missing main file message");

    /* Strings do not enter the dump; -T shows files only. */
    is_int(parse_file("abs.conf"), FY_OK, "abs.conf again");
    is_int(fy_conf_parse_string(&cf, "echo g;", "command line"), FY_OK,
           "string after a file");
    snprintf(want, sizeof(want), "# configuration file D/abs.conf:\n"
             "include D/conf.d/b.conf;\n"
             "# configuration file D/conf.d/b.conf:\necho b;\n");
    is_str(dump_text(), want, "dump leaves out strings");
    log_take();
}


static void
test_misc(void)
{
    fy_str_t  rel = fy_string("conf/x.conf");
    fy_str_t  abs = fy_string("/etc/x.conf");

    conf_begin();

    is_str(fy_conf_full_name(&cf, "/usr/local/ferry/", &rel),
           "/usr/local/ferry/conf/x.conf", "full name with base/");
    is_str(fy_conf_full_name(&cf, "/usr/local/ferry", &rel),
           "/usr/local/ferry/conf/x.conf", "full name adds a slash");
    is_str(fy_conf_full_name(&cf, "/usr/local/ferry/", &abs),
           "/etc/x.conf", "absolute name unchanged");
    is_str(fy_conf_full_name(&cf, NULL, &rel), "conf/x.conf",
           "no base leaves the name relative");

    /* After parsing, errors have no file to point at. */
    fy_conf_error(&cf, "no servers in \"%s\"", "up");
    ok(log_is("#0: no servers in \"up\""), "error without a file");

    is_int(fy_conf_parse(&cf, NULL), FY_ERROR, "block parse outside a file");
    ok(strstr(log_take(), "[alert]") != NULL, "is an alert");
}


int
main(void)
{
    fy_log_t  saved;

    if (mkdtemp(tmp_dir) == NULL) {
        perror("mkdtemp");
        return 1;
    }

    snprintf(log_path, sizeof(log_path), "%s/error.log", tmp_dir);
    saved = fy_log;

    if (fy_log_open(&fy_log, log_path, FY_LOG_DEBUG) != FY_OK) {
        return 1;
    }

    test_tokens();
    test_directives();
    test_setters();
    test_include();
    test_misc();

    fy_pool_destroy(pool);
    close(fy_log.fd);
    free(fy_log.path);
    fy_log = saved;

    /* Everything written lives in tmp_dir. */
    {
        char  cmd[512];

        snprintf(cmd, sizeof(cmd), "rm -rf '%s'", tmp_dir);
        if (system(cmd) != 0) {
            printf("# could not remove %s\n", tmp_dir);
        }
    }

    return done_testing();
}
