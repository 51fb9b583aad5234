/*
 * fy_http_tuning.c -- nginx's http tuning directives about reading
 * files and sizing memory.
 *
 * With an effect (fy_http_static_read.c, fy_http_static_send.c):
 *
 *   sendfile_max_chunk SIZE;          (2m)    http, server, location
 *   output_buffers N SIZE;            (2 32k)
 *   directio SIZE | off;              (off)
 *   directio_alignment SIZE;          (512)
 *   read_ahead SIZE;                  (0)
 *
 * Accepted with nginx's value checks and a start-up warning naming
 * the file and line, without effect (docs/configuration.md says why
 * for each):
 *
 *   aio on | off | threads[=POOL];    aio_write on | off;
 *   postpone_output SIZE;             postpone_gzipping SIZE;
 *   connection_pool_size SIZE;        request_pool_size SIZE;  (http, server)
 *   proxy_send_lowat SIZE;            fastcgi_send_lowat SIZE;
 *   uwsgi_send_lowat SIZE;            scgi_send_lowat SIZE;
 *
 * "aio off", "aio_write off", "postpone_output 0",
 * "postpone_gzipping 0" and "*_send_lowat 0"
 * ask for what ferry does: no warning.  Without a warning at all, as
 * they change nothing a client or an operator can see (nginx on Linux
 * ignores the last two as well):
 *
 *   gzip_no_buffer on | off;          open_file_cache_events on | off;
 *   ssi_ignore_recycled_buffers on | off;
 *
 * disable_symlinks: ferry never follows a symbolic link below the root
 * or alias (fy_http_static.c), nginx's "on from=$document_root".  That
 * and plain "on" (which nginx also applies to the root's own path; a
 * warning says ferry does not) are accepted; "off" and "if_not_owner"
 * are refused, as ferry would answer 403 where the configuration
 * expects the link followed.
 */
#include "fy_core.h"
#include "fy_http.h"
#include "fy_core_tuning.h"

/* The no-effect directives: what their value must be, their bit in
 * tuning_seen, and why they change nothing. */
enum {
    FY_TUNE_AIO,
    FY_TUNE_FLAG,
    FY_TUNE_SIZE,            /* postpone_output */
    FY_TUNE_QUIET_FLAG,      /* on or off, never a warning */
    FY_TUNE_POOL             /* at least 112 (nginx's NGX_MIN_POOL_SIZE
                                on 64-bit), a multiple of 16 */
};

typedef struct {
    int          kind;
    unsigned     bit;
    const char  *why;
} fy_tune_arg_t;

static const char *fy_http_tuning_noop(fy_conf_t *cf, const fy_command_t *cmd,
    void *conf);
static const char *fy_http_output_buffers(fy_conf_t *cf,
    const fy_command_t *cmd, void *conf);
static const char *fy_http_directio(fy_conf_t *cf, const fy_command_t *cmd,
    void *conf);
static const char *fy_http_directio_alignment(fy_conf_t *cf,
    const fy_command_t *cmd, void *conf);
static const char *fy_http_disable_symlinks(fy_conf_t *cf,
    const fy_command_t *cmd, void *conf);

#define FY_HS   (FY_CONF_HTTP | FY_CONF_SRV)
#define FY_HSL  (FY_CONF_HTTP | FY_CONF_SRV | FY_CONF_LOC)

#define FY_TUNE_ROW(name, ctx, max, kind, bit, why)                         \
    { name, ctx, 0, 1, max, fy_http_tuning_noop, FY_CONF_LOC_OFF, 0,        \
      &(const fy_tune_arg_t) { kind, 1u << (bit), why } }

#define FY_NO_AIO   "a worker reads files with pread() and sendfile(), " \
                    "without AIO or threads"
#define FY_NO_POOL  "ferry sizes its connection and request pools itself"
#define FY_NO_LOWAT "SO_SNDLOWAT cannot be changed on Linux (nginx ignores " \
                    "it there too)"

const fy_command_t  fy_http_tuning_commands[] = {

    { "sendfile_max_chunk", FY_HSL, 0, 1, 1, fy_conf_set_size,
      FY_CONF_LOC_OFF, offsetof(fy_http_loc_conf_t, sendfile_max_chunk),
      NULL },

    { "read_ahead", FY_HSL, 0, 1, 1, fy_conf_set_size, FY_CONF_LOC_OFF,
      offsetof(fy_http_loc_conf_t, read_ahead), NULL },

    { "output_buffers", FY_HSL, 0, 2, 2, fy_http_output_buffers,
      FY_CONF_LOC_OFF, 0, NULL },

    { "directio", FY_HSL, 0, 1, 1, fy_http_directio, FY_CONF_LOC_OFF, 0,
      NULL },

    { "directio_alignment", FY_HSL, 0, 1, 1, fy_http_directio_alignment,
      FY_CONF_LOC_OFF, 0, NULL },

    { "disable_symlinks", FY_HSL, 0, 1, 2, fy_http_disable_symlinks,
      FY_CONF_LOC_OFF, 0, NULL },

    FY_TUNE_ROW("aio", FY_HSL, 1, FY_TUNE_AIO, 0, FY_NO_AIO),
    FY_TUNE_ROW("aio_write", FY_HSL, 1, FY_TUNE_FLAG, 1, FY_NO_AIO),
    FY_TUNE_ROW("postpone_output", FY_HSL, 1, FY_TUNE_SIZE, 2,
                "ferry writes a response as soon as it has it, and "
                "tcp_nopush joins a file's header to its first bytes"),
    FY_TUNE_ROW("connection_pool_size", FY_HS, 1, FY_TUNE_POOL, 4,
                FY_NO_POOL),
    FY_TUNE_ROW("request_pool_size", FY_HS, 1, FY_TUNE_POOL, 5, FY_NO_POOL),
    FY_TUNE_ROW("postpone_gzipping", FY_HSL, 1, FY_TUNE_SIZE, 6,
                "gzip starts with the first bytes of a body, gzip_min_length "
                "decides on its Content-Length"),
    FY_TUNE_ROW("proxy_send_lowat", FY_HSL, 1, FY_TUNE_SIZE, 7, FY_NO_LOWAT),
    FY_TUNE_ROW("fastcgi_send_lowat", FY_HSL, 1, FY_TUNE_SIZE, 8,
                FY_NO_LOWAT),
    FY_TUNE_ROW("uwsgi_send_lowat", FY_HSL, 1, FY_TUNE_SIZE, 9, FY_NO_LOWAT),
    FY_TUNE_ROW("scgi_send_lowat", FY_HSL, 1, FY_TUNE_SIZE, 10, FY_NO_LOWAT),
    /* the why of these three is for docs/configuration.md only */
    FY_TUNE_ROW("gzip_no_buffer", FY_HSL, 1, FY_TUNE_QUIET_FLAG, 11, NULL),
    FY_TUNE_ROW("open_file_cache_events", FY_HSL, 1, FY_TUNE_QUIET_FLAG, 12,
                NULL),
    FY_TUNE_ROW("ssi_ignore_recycled_buffers", FY_HSL, 1, FY_TUNE_QUIET_FLAG,
                13, NULL),

    { NULL, 0, 0, 0, 0, NULL, 0, 0, NULL }
};

/* "name=VALUE": the value, or NULL. */
static const u_char *
fy_http_tuning_param(const fy_str_t *a, const char *name, fy_str_t *v)
{
    size_t  n = strlen(name);

    if (a->len <= n || memcmp(a->data, name, n) != 0) {
        return NULL;
    }
    v->data = a->data + n;
    v->len = a->len - n;
    return v->data;
}

static const char *
fy_http_tuning_noop(fy_conf_t *cf, const fy_command_t *cmd, void *conf)
{
    const fy_tune_arg_t  *arg = cmd->post;
    fy_http_loc_conf_t   *lcf = conf;
    fy_str_t             *v = &cf->args[1];
    int64_t               n = 0;
    int                   off = 0;
    char                  what[64];

    if (lcf->tuning_seen & arg->bit) {
        return "is duplicate";
    }
    switch (arg->kind) {
    case FY_TUNE_AIO:
        off = fy_str_eq(v, "off");
        if (!off && !fy_str_eq(v, "on") && !fy_str_eq(v, "threads")
            && !(v->len > 8 && memcmp(v->data, "threads=", 8) == 0))
        {
            n = -1;
        }
        break;
    case FY_TUNE_FLAG:
    case FY_TUNE_QUIET_FLAG:
        off = fy_str_eq_ci(v, "off");
        if (!off && !fy_str_eq_ci(v, "on")) {
            fy_conf_error(cf, "invalid value \"%s\" in \"%s\" directive, "
                          "it must be \"on\" or \"off\"", v->data, cmd->name);
            return FY_CONF_ERROR;
        }
        off |= arg->kind == FY_TUNE_QUIET_FLAG;
        break;
    case FY_TUNE_SIZE:
        n = fy_conf_parse_size(v);
        off = n == 0;
        break;
    case FY_TUNE_POOL:
        n = fy_conf_parse_size(v);
        if (n >= 0 && n < 112) {
            fy_conf_error(cf, "\"%s\" must be no less than 112", cmd->name);
            return FY_CONF_ERROR;
        }
        if (n >= 0 && n % 16 != 0) {
            fy_conf_error(cf, "\"%s\" must be a multiple of 16", cmd->name);
            return FY_CONF_ERROR;
        }
        break;
    }
    if (n < 0) {
        fy_conf_error(cf, "\"%s\" directive invalid value \"%s\"",
                      cmd->name, v->data);
        return FY_CONF_ERROR;
    }
    lcf->tuning_seen |= arg->bit;
    if (!off) {
        snprintf(what, sizeof(what), "%s %.30s", cmd->name, v->data);
        fy_conf_ignored(cf, what, arg->why);
    }
    return FY_CONF_OK;
}

/* output_buffers N SIZE: both more than 0 (nginx's bufs slot). */
static const char *
fy_http_output_buffers(fy_conf_t *cf, const fy_command_t *cmd, void *conf)
{
    fy_http_loc_conf_t  *lcf = conf;
    int64_t              num, size;

    (void) cmd;
    if (lcf->output_buffers_size != FY_CONF_UNSET_SIZE) {
        return "is duplicate";
    }
    num = fy_atoi(cf->args[1].data, cf->args[1].len);
    if (num <= 0 || num > 1024) {
        fy_conf_error(cf, "invalid value \"%s\" in \"output_buffers\"",
                      cf->args[1].data);
        return FY_CONF_ERROR;
    }
    size = fy_conf_parse_size(&cf->args[2]);
    if (size <= 0 || size > 64 * 1024 * 1024) {
        fy_conf_error(cf, "invalid value \"%s\" in \"output_buffers\"",
                      cf->args[2].data);
        return FY_CONF_ERROR;
    }
    lcf->output_buffers_num = (unsigned) num;
    lcf->output_buffers_size = (size_t) size;
    return FY_CONF_OK;
}

/* directio SIZE | off */
static const char *
fy_http_directio(fy_conf_t *cf, const fy_command_t *cmd, void *conf)
{
    fy_http_loc_conf_t  *lcf = conf;
    int64_t              n;

    (void) cmd;
    if (lcf->directio != FY_CONF_UNSET) {
        return "is duplicate";
    }
    if (fy_str_eq(&cf->args[1], "off")) {
        lcf->directio = FY_HTTP_DIRECTIO_OFF;
        return FY_CONF_OK;
    }
    n = fy_conf_parse_size(&cf->args[1]);
    if (n < 0) {
        fy_conf_error(cf, "\"directio\" directive invalid value \"%s\"",
                      cf->args[1].data);
        return FY_CONF_ERROR;
    }
    lcf->directio = n;
    return FY_CONF_OK;
}

/* directio_alignment SIZE: a power of two from 512 on, as O_DIRECT
 * needs of offsets, lengths and buffers (nginx takes any number and
 * then fails its reads). */
static const char *
fy_http_directio_alignment(fy_conf_t *cf, const fy_command_t *cmd,
                           void *conf)
{
    fy_http_loc_conf_t  *lcf = conf;
    int64_t              n;

    (void) cmd;
    if (lcf->directio_alignment != FY_CONF_UNSET_SIZE) {
        return "is duplicate";
    }
    n = fy_conf_parse_size(&cf->args[1]);
    if (n < 0) {
        fy_conf_error(cf, "\"directio_alignment\" directive invalid value "
                      "\"%s\"", cf->args[1].data);
        return FY_CONF_ERROR;
    }
    if (n < 512 || n > 1024 * 1024 || (n & (n - 1)) != 0) {
        fy_conf_error(cf, "\"directio_alignment\" must be a power of two "
                      "from 512 to 1m");
        return FY_CONF_ERROR;
    }
    lcf->directio_alignment = (size_t) n;
    return FY_CONF_OK;
}

/* disable_symlinks off | on | if_not_owner [from=PART] */
static const char *
fy_http_disable_symlinks(fy_conf_t *cf, const fy_command_t *cmd, void *conf)
{
    fy_http_loc_conf_t  *lcf = conf;
    fy_str_t            *a = cf->args, from;

    (void) cmd;
    if (lcf->tuning_seen & (1u << 6)) {
        return "is duplicate";
    }
    lcf->tuning_seen |= 1u << 6;
    if (cf->nargs == 3
        && !fy_http_tuning_param(&a[2], "from=", &from))
    {
        fy_conf_error(cf, "invalid parameter \"%s\"", a[2].data);
        return FY_CONF_ERROR;
    }
    if (fy_str_eq(&a[1], "off") && cf->nargs == 3) {
        fy_conf_error(cf, "\"from=\" cannot be used with \"off\" parameter");
        return FY_CONF_ERROR;
    }
    if (fy_str_eq(&a[1], "off") || fy_str_eq(&a[1], "if_not_owner")) {
        fy_conf_error(cf, "\"disable_symlinks %s\" is not supported: ferry "
                      "never follows a symbolic link below the root or "
                      "alias (as \"disable_symlinks on "
                      "from=$document_root\")", a[1].data);
        return FY_CONF_ERROR;
    }
    if (!fy_str_eq(&a[1], "on")) {
        fy_conf_error(cf, "invalid value \"%s\" in \"disable_symlinks\"",
                      a[1].data);
        return FY_CONF_ERROR;
    }
    if (cf->nargs == 3 && !fy_str_eq(&from, "$document_root")) {
        fy_conf_error(cf, "\"disable_symlinks on from=%s\" is not "
                      "supported: ferry checks for links from the root or "
                      "alias on (as \"from=$document_root\")", from.data);
        return FY_CONF_ERROR;
    }
    if (cf->nargs == 2) {
        fy_log_error(FY_LOG_WARN, 0, "\"disable_symlinks on\": ferry "
                     "follows symbolic links in the root's or alias's own "
                     "path, as with \"from=$document_root\", in %s:%u",
                     cf->file ? cf->file->name : "command line", cf->line);
    }
    return FY_CONF_OK;
}
