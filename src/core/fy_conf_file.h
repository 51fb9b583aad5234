/*
 * fy_conf_file.h -- the nginx-syntax configuration reader.
 *
 * The reader knows the syntax (tokens, quotes, escapes, comments,
 * blocks, "include" with globs) and nothing about what a directive
 * means.  Meaning lives in tables of fy_command_t rows owned by the
 * modules: each row says where the directive is allowed, how many
 * arguments it takes, and which function sets it.  The reader finds
 * the row, checks context and argument count, and calls the setter.
 *
 * A block directive's setter builds the child configuration, points
 * cf->ctx / cf->ctx_type at it, calls fy_conf_parse(cf, NULL) to read
 * the block's contents up to the matching '}', and restores cf->ctx.
 *
 * Every error is logged at [emerg] as
 *     <message> in <file>:<line>
 * and makes fy_conf_parse() return FY_ERROR.
 *
 * The reader is fy_conf_lex.c (the tokenizer), fy_conf_directive.c
 * (rows found, checked and run) and fy_conf_file.c (files, "include",
 * the entry points), sharing fy_conf_file_int.h; fy_conf_set.c holds
 * the generic setters and value parsers.
 */
#ifndef FY_CONF_FILE_H
#define FY_CONF_FILE_H

#include "fy_pool.h"

/* Contexts: where a directive may appear (a bit mask in a row). */
#define FY_CONF_MAIN     0x0001
#define FY_CONF_EVENTS   0x0002
#define FY_CONF_HTTP     0x0004
#define FY_CONF_SRV      0x0008
#define FY_CONF_LOC      0x0010
#define FY_CONF_UPS      0x0020
#define FY_CONF_IF       0x0040   /* inside an "if" block of a server */
#define FY_CONF_LMT      0x0080   /* inside a "limit_except" block */
#define FY_CONF_LIF      0x0100   /* inside an "if" block of a location
                                     (nginx's "if in location") */
#define FY_CONF_ANY      0x01ff

/* Row flags (the flags field of a row, apart from its contexts) */
#define FY_CONF_BLOCK    0x0100   /* followed by '{' instead of ';' */

#define FY_CONF_MANY     0xffff   /* max_args: no upper bound */

/* Unset markers for the generic setters ("duplicate" detection and
 * defaults applied after parsing). */
#define FY_CONF_UNSET        ((int64_t) -1)
#define FY_CONF_UNSET_INT    (-1)
#define FY_CONF_UNSET_SIZE   ((size_t) -1)
#define FY_CONF_UNSET_MSEC   ((int64_t) -1)

/* Longest message, once formatted, that the reader logs or a setter
 * returns; longer ones are cut. */
#define FY_CONF_ERRSTR_MAX   1024

/* What a setter returns: NULL on success, else a message that the
 * reader prints as  "<name>" directive <message> in <file>:<line>.
 * FY_CONF_ERROR means the setter already logged its own message. */
#define FY_CONF_OK       NULL
#define FY_CONF_ERROR    ((const char *) -1)

/* Which structure of the current level a row's setter receives. */
typedef struct {
    void  *main;   /* fy_core_conf_t in main/events, http main conf in http */
    void  *srv;    /* server conf in server, upstream in upstream */
    void  *loc;    /* location conf in http/server/location */
} fy_conf_ctx_t;

#define FY_CONF_MAIN_OFF  offsetof(fy_conf_ctx_t, main)
#define FY_CONF_SRV_OFF   offsetof(fy_conf_ctx_t, srv)
#define FY_CONF_LOC_OFF   offsetof(fy_conf_ctx_t, loc)

typedef struct fy_conf_s     fy_conf_t;
typedef struct fy_command_s  fy_command_t;

typedef const char *(*fy_conf_set_pt)(fy_conf_t *cf, const fy_command_t *cmd,
                                      void *conf);

struct fy_command_s {
    const char      *name;
    unsigned         contexts;   /* FY_CONF_MAIN | ... */
    unsigned         flags;      /* FY_CONF_BLOCK */
    unsigned short   min_args;   /* not counting the name */
    unsigned short   max_args;   /* FY_CONF_MANY for no limit */
    fy_conf_set_pt   set;
    size_t           conf;       /* FY_CONF_MAIN_OFF / SRV_OFF / LOC_OFF */
    size_t           offset;     /* field for the generic setters */
    const void      *post;       /* fy_conf_bounds_t / fy_conf_enum_t[] */
};

typedef struct {
    int64_t  min;
    int64_t  max;
} fy_conf_bounds_t;

typedef struct {
    const char  *name;           /* NULL terminates the table */
    int          value;
} fy_conf_enum_t;

/* One file being read (files nest through "include"). */
typedef struct fy_conf_file_s {
    const char              *name;   /* as opened, for messages */
    u_char                  *data;   /* whole file contents */
    size_t                   size;
    size_t                   pos;
    unsigned                 line;
    struct fy_conf_file_s   *parent;
} fy_conf_file_t;

/* Everything read, in order, for "ferry -T". */
typedef struct fy_conf_dump_s {
    const char              *name;
    u_char                  *data;
    size_t                   size;
    struct fy_conf_dump_s   *next;
} fy_conf_dump_t;

struct fy_conf_s {
    fy_pool_t                  *pool;      /* all config memory */
    fy_conf_file_t             *file;      /* file being read */
    fy_str_t                   *args;      /* args[0] is the name */
    unsigned                    nargs;     /* including the name */
    unsigned                    line;      /* line of args[0] */
    unsigned                    ctx_type;  /* FY_CONF_MAIN, ... */
    fy_conf_ctx_t              *ctx;
    const fy_command_t *const  *tables;    /* NULL-terminated list of
                                              name-NULL-terminated rows */
    const char                 *prefix;    /* "/usr/local/ferry/" with
                                              trailing slash */
    const char                 *conf_dir;  /* dir of the main conf file,
                                              trailing slash; relative
                                              includes resolve here */
    void                       *cycle;     /* opaque to the reader */
    fy_conf_dump_t             *dump;      /* files read, first first */
    fy_conf_dump_t            **dump_last;
    unsigned                    depth;     /* include nesting */
    /* Set by a block whose contents are not directives ("types"):
     * every line ended by ';' in it goes here, with the words in
     * args/nargs.  FY_OK or FY_ERROR (logged by the handler). */
    int                       (*handler)(fy_conf_t *cf);
    void                       *handler_data;
};

/* Initialise cf for a new configuration.  Tables, prefix, conf_dir,
 * ctx, ctx_type and cycle are set by the caller afterwards. */
void fy_conf_init(fy_conf_t *cf, fy_pool_t *pool);

/* filename != NULL: read that whole file in the current context.
 * filename == NULL: read the current block up to its '}'.
 * FY_OK or FY_ERROR (already logged). */
int  fy_conf_parse(fy_conf_t *cf, const char *filename);

/* Read directives from a string (the -g option); `name` is used in
 * messages in place of a file name, e.g. "command line". */
int  fy_conf_parse_string(fy_conf_t *cf, const char *text, const char *name);
/* The rest of a block whose contents are lines, not directives (map,
 * geo, types, split_clients, charset_map): each line's words to
 * handler, with handler_data = data; the handler is unset after.
 * FY_OK or FY_ERROR (logged). */
int  fy_conf_parse_lines(fy_conf_t *cf, int (*handler)(fy_conf_t *cf),
                         void *data);

/* Log "[emerg] <fmt...> in <file>:<line>" for the current directive. */
void fy_conf_error(fy_conf_t *cf, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

/* Resolve a possibly relative path against a base ("prefix/").  The
 * result is allocated from cf->pool and NUL-terminated. */
char *fy_conf_full_name(fy_conf_t *cf, const char *base, const fy_str_t *name);

/* Print every file read, as nginx -T does:
 *   # configuration file <name>:\n<contents>\n */
void fy_conf_dump_print(fy_conf_t *cf, FILE *out);

/* Generic setters: the field at cmd->offset in conf.
 *   flag:  "on"/"off" -> int 1/0
 *   num:   decimal -> int64_t, post = fy_conf_bounds_t* or NULL
 *   int:   decimal -> int, post = fy_conf_bounds_t* or NULL
 *   size:  "512", "8k", "1m", "2g" -> size_t, post bounds optional
 *   msec:  "500ms", "10s", "1m30s", "2h", "1d", bare number = seconds
 *          -> int64_t milliseconds, post bounds optional
 *   str:   fy_str_t copied into cf->pool (NUL-terminated copy)
 *   enum:  one of post = fy_conf_enum_t[] -> int
 *   const: no argument; the unsigned at post -> unsigned (a switch
 *          that picks one way among several: "flv", "mp4")
 * Each but const says "is duplicate" when the field is already set and
 * "invalid value \"x\"" / "value must be between A and B" on bad input. */
const char *fy_conf_set_flag(fy_conf_t *cf, const fy_command_t *cmd, void *conf);
const char *fy_conf_set_num(fy_conf_t *cf, const fy_command_t *cmd, void *conf);
const char *fy_conf_set_int(fy_conf_t *cf, const fy_command_t *cmd, void *conf);
const char *fy_conf_set_size(fy_conf_t *cf, const fy_command_t *cmd, void *conf);
const char *fy_conf_set_msec(fy_conf_t *cf, const fy_command_t *cmd, void *conf);
const char *fy_conf_set_str(fy_conf_t *cf, const fy_command_t *cmd, void *conf);
const char *fy_conf_set_enum(fy_conf_t *cf, const fy_command_t *cmd, void *conf);
const char *fy_conf_set_const(fy_conf_t *cf, const fy_command_t *cmd,
                              void *conf);

/* The value parsers behind the setters, for handlers that take several
 * arguments.  Each returns -1 on invalid input. */
int64_t fy_conf_parse_size(const fy_str_t *s);
int64_t fy_conf_parse_msec(const fy_str_t *s);

/* Merge one inherited setting: a child left unset takes its parent's
 * value, or dflt when neither level set it (nginx's ngx_conf_merge_*). */
#define fy_conf_merge(child, parent, unset, dflt)                          \
    do {                                                                   \
        if ((child) == (unset)) {                                          \
            (child) = ((parent) == (unset)) ? (dflt) : (parent);           \
        }                                                                  \
    } while (0)

#endif /* FY_CONF_FILE_H */
