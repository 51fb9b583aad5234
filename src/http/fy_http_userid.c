/*
 * fy_http_userid.c -- nginx's userid module: a cookie that identifies
 * the client, "userid on | v1 | log | off" and userid_domain,
 * userid_expires, userid_flags, userid_mark, userid_name, userid_p3p,
 * userid_path, userid_service; the variables $uid_got, $uid_set and
 * $uid_reset.
 *
 * The identifier is nginx's, so a cookie issued by one is read by the
 * other: four 32-bit words in base64 (22 characters and "=="),
 *   [0] userid_service, else the server's IPv4 address (the last four
 *       bytes of an IPv6 one, 0 on a unix socket);
 *   [1] the time it was issued;
 *   [2] the worker's start: (microseconds / 20) << 16 | its pid;
 *   [3] a per-worker sequence from 0x03030302, 0x100 apart;
 * in network byte order with "on", in the machine's with "v1" (the
 * format of old Apache mod_uid cookies).  userid_mark replaces the
 * first "=" of the padding with a letter: a cookie without the mark
 * is sent again with it.  $uid_got and $uid_set print the words as
 * NAME=XXXXXXXX... in hex, each word as the machine holds it, as
 * nginx does.
 *
 * As nginx: "log" reads the cookie ($uid_got) and sets none; "on" and
 * "v1" send Set-Cookie (and P3P) with every response of the location,
 * whatever its status, when the request had no valid cookie, when its
 * cookie lacks the mark, or when $uid_reset is set to something other
 * than "" and "0" ("log" also logs the reset at notice level).  A
 * cookie shorter than 22 characters or not base64 is logged as the
 * client's error and counts as none.
 *
 * Nothing here runs unless the location has userid on or v1 (one test
 * in fy_http_add_headers) or a text reads a variable of it; the state
 * of a request is made on first use, from its pool.
 */
#include "fy_core.h"
#include "fy_http.h"
#include "fy_times.h"

#include <arpa/inet.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <time.h>

/* userid_expires max: nginx's fixed date */
#define FY_USERID_MAX_EXPIRES  (-2)
#define FY_USERID_EXPIRES_MAX_TEXT  "; expires=Thu, 31-Dec-37 23:55:55 GMT"

/* userid_flags bits */
#define FY_USERID_F_OFF       0x01
#define FY_USERID_F_SECURE    0x02
#define FY_USERID_F_HTTPONLY  0x04
#define FY_USERID_F_STRICT    0x08
#define FY_USERID_F_LAX       0x10
#define FY_USERID_F_NONE      0x20

/* the base64 of the 16 bytes of an identifier, and what nginx reads */
#define FY_USERID_B64_LEN  24
#define FY_USERID_KEY_LEN  22

struct fy_http_userid_ctx_s {
    uint32_t   got[4];      /* from the cookie, [3] 0: none or invalid */
    uint32_t   set[4];      /* to send, [3] 0: nothing to send */
    fy_str_t   cookie;      /* the cookie's value as received */
    fy_str_t   reset;       /* set $uid_reset; data NULL: not set */
    unsigned   parsed:1;    /* the cookie was looked at */
    unsigned   reset_done:1;
};

/* userid_domain, userid_path, userid_p3p: what the value is written
 * after, and whether "none" means nothing */
typedef struct {
    const char  *prefix;
    int          none;
} fy_http_userid_attr_t;

static const fy_http_userid_attr_t  fy_http_userid_domain_attr =
    { "; domain=", 1 };
static const fy_http_userid_attr_t  fy_http_userid_path_attr =
    { "; path=", 0 };
static const fy_http_userid_attr_t  fy_http_userid_p3p_attr = { "", 1 };

static const fy_conf_enum_t  fy_http_userid_modes[] = {
    { "off", FY_HTTP_USERID_OFF },
    { "log", FY_HTTP_USERID_LOG },
    { "v1",  FY_HTTP_USERID_V1 },
    { "on",  FY_HTTP_USERID_ON },
    { NULL, 0 }
};

static const fy_conf_enum_t  fy_http_userid_flag_names[] = {
    { "off",             FY_USERID_F_OFF },
    { "secure",          FY_USERID_F_SECURE },
    { "httponly",        FY_USERID_F_HTTPONLY },
    { "samesite=strict", FY_USERID_F_STRICT },
    { "samesite=lax",    FY_USERID_F_LAX },
    { "samesite=none",   FY_USERID_F_NONE },
    { NULL, 0 }
};

/* what each flag adds to the cookie, in nginx's order */
static const fy_conf_enum_t  fy_http_userid_flag_text[] = {
    { "; secure",          FY_USERID_F_SECURE },
    { "; httponly",        FY_USERID_F_HTTPONLY },
    { "; samesite=strict", FY_USERID_F_STRICT },
    { "; samesite=lax",    FY_USERID_F_LAX },
    { "; samesite=none",   FY_USERID_F_NONE },
    { NULL, 0 }
};

/* this worker's: set by fy_http_userid_init_process after the fork */
static uint32_t  fy_http_userid_start;
static uint32_t  fy_http_userid_seq_v1 = 1;
static uint32_t  fy_http_userid_seq_v2 = 0x03030302;

static const char *fy_http_userid_set_attr(fy_conf_t *cf,
    const fy_command_t *cmd, void *conf);
static const char *fy_http_userid_set_expires(fy_conf_t *cf,
    const fy_command_t *cmd, void *conf);
static const char *fy_http_userid_set_flags(fy_conf_t *cf,
    const fy_command_t *cmd, void *conf);
static const char *fy_http_userid_set_mark(fy_conf_t *cf,
    const fy_command_t *cmd, void *conf);

#define FY_USERID_CTX  (FY_CONF_HTTP | FY_CONF_SRV | FY_CONF_LOC)
#define FY_USERID_OFF(f)  offsetof(fy_http_loc_conf_t, userid.f)

const fy_command_t  fy_http_userid_commands[] = {

    { "userid", FY_USERID_CTX, 0, 1, 1, fy_conf_set_enum, FY_CONF_LOC_OFF,
      FY_USERID_OFF(enable), fy_http_userid_modes },

    { "userid_service", FY_USERID_CTX, 0, 1, 1, fy_conf_set_num,
      FY_CONF_LOC_OFF, FY_USERID_OFF(service), NULL },

    { "userid_name", FY_USERID_CTX, 0, 1, 1, fy_conf_set_str,
      FY_CONF_LOC_OFF, FY_USERID_OFF(name), NULL },

    { "userid_domain", FY_USERID_CTX, 0, 1, 1, fy_http_userid_set_attr,
      FY_CONF_LOC_OFF, FY_USERID_OFF(domain), &fy_http_userid_domain_attr },

    { "userid_path", FY_USERID_CTX, 0, 1, 1, fy_http_userid_set_attr,
      FY_CONF_LOC_OFF, FY_USERID_OFF(path), &fy_http_userid_path_attr },

    { "userid_p3p", FY_USERID_CTX, 0, 1, 1, fy_http_userid_set_attr,
      FY_CONF_LOC_OFF, FY_USERID_OFF(p3p), &fy_http_userid_p3p_attr },

    { "userid_expires", FY_USERID_CTX, 0, 1, 1, fy_http_userid_set_expires,
      FY_CONF_LOC_OFF, FY_USERID_OFF(expires), NULL },

    { "userid_flags", FY_USERID_CTX, 0, 1, FY_CONF_MANY,
      fy_http_userid_set_flags, FY_CONF_LOC_OFF, FY_USERID_OFF(flags),
      fy_http_userid_flag_names },

    { "userid_mark", FY_USERID_CTX, 0, 1, 1, fy_http_userid_set_mark,
      FY_CONF_LOC_OFF, FY_USERID_OFF(mark), NULL },

    { NULL, 0, 0, 0, 0, NULL, 0, 0, NULL }
};


/* ---- configuration ---- */

/* userid_domain NAME | none, userid_path PATH, userid_p3p LINE | none:
 * kept as written into the cookie ("; domain=NAME"), "" for none */
static const char *
fy_http_userid_set_attr(fy_conf_t *cf, const fy_command_t *cmd, void *conf)
{
    const fy_http_userid_attr_t  *a = cmd->post;
    fy_str_t                     *field, *v = &cf->args[1];
    size_t                        plen = strlen(a->prefix);
    u_char                       *p;

    field = (fy_str_t *) ((char *) conf + cmd->offset);
    if (field->data) {
        return "is duplicate";
    }
    if (a->none && fy_str_eq(v, "none")) {
        field->data = (u_char *) "";
        field->len = 0;
        return FY_CONF_OK;
    }
    p = fy_palloc(cf->pool, plen + v->len + 1);
    if (p == NULL) {
        return "cannot allocate memory";
    }
    memcpy(p, a->prefix, plen);
    memcpy(p + plen, v->data, v->len);
    p[plen + v->len] = '\0';
    field->data = p;
    field->len = plen + v->len;
    return FY_CONF_OK;
}

/* userid_expires TIME | max | off */
static const char *
fy_http_userid_set_expires(fy_conf_t *cf, const fy_command_t *cmd,
                           void *conf)
{
    int64_t  *field = (int64_t *) ((char *) conf + cmd->offset), ms;

    if (*field != FY_CONF_UNSET) {
        return "is duplicate";
    }
    if (fy_str_eq(&cf->args[1], "max")) {
        *field = FY_USERID_MAX_EXPIRES;
        return FY_CONF_OK;
    }
    if (fy_str_eq(&cf->args[1], "off")) {
        *field = 0;
        return FY_CONF_OK;
    }
    /* seconds, as nginx's: milliseconds are not a unit here */
    ms = fy_conf_parse_msec(&cf->args[1]);
    if (ms < 0 || ms % 1000
        || memmem(cf->args[1].data, cf->args[1].len, "ms", 2))
    {
        fy_conf_error(cf, "invalid value \"%s\"", cf->args[1].data);
        return FY_CONF_ERROR;
    }
    *field = ms / 1000;
    return FY_CONF_OK;
}

/* userid_flags off | FLAG ... */
static const char *
fy_http_userid_set_flags(fy_conf_t *cf, const fy_command_t *cmd, void *conf)
{
    const fy_conf_enum_t  *e;
    int                   *field = (int *) ((char *) conf + cmd->offset);
    unsigned               i;

    if (*field != FY_CONF_UNSET_INT) {
        return "is duplicate";
    }
    *field = 0;
    for (i = 1; i < cf->nargs; i++) {
        for (e = cmd->post; e->name; e++) {
            if (fy_str_eq(&cf->args[i], e->name)) {
                break;
            }
        }
        if (e->name == NULL) {
            fy_conf_error(cf, "invalid value \"%s\"", cf->args[i].data);
            return FY_CONF_ERROR;
        }
        *field |= e->value;
    }
    return FY_CONF_OK;
}

/* userid_mark LETTER | DIGIT | "=" | off */
static const char *
fy_http_userid_set_mark(fy_conf_t *cf, const fy_command_t *cmd, void *conf)
{
    int     *field = (int *) ((char *) conf + cmd->offset);
    u_char   c = cf->args[1].data[0];

    if (*field != FY_CONF_UNSET_INT) {
        return "is duplicate";
    }
    if (fy_str_eq(&cf->args[1], "off")) {
        *field = 0;
        return FY_CONF_OK;
    }
    if (cf->args[1].len != 1
        || !((c >= '0' && c <= '9') || (c >= 'A' && c <= 'Z')
             || (c >= 'a' && c <= 'z') || c == '='))
    {
        return "value must be \"off\" or a single letter, digit or \"=\"";
    }
    *field = c;
    return FY_CONF_OK;
}

void
fy_http_userid_init_conf(fy_http_loc_conf_t *lcf)
{
    fy_http_userid_conf_t  *u = &lcf->userid;

    memset(u, 0, sizeof(*u));
    u->enable = FY_CONF_UNSET_INT;
    u->service = FY_CONF_UNSET;
    u->expires = FY_CONF_UNSET;
    u->flags = FY_CONF_UNSET_INT;
    u->mark = FY_CONF_UNSET_INT;
}

/* nginx's defaults: off, "uid", no domain, "/", no P3P, a session
 * cookie, no flags, no mark */
void
fy_http_userid_merge(fy_http_loc_conf_t *prev, fy_http_loc_conf_t *conf)
{
    static fy_str_t         path = fy_string("; path=/");
    fy_http_userid_conf_t  *u = &conf->userid;
    fy_http_userid_conf_t  *p = &prev->userid;

    fy_conf_merge(u->enable, p->enable, FY_CONF_UNSET_INT,
                  FY_HTTP_USERID_OFF);
    fy_conf_merge(u->service, p->service, FY_CONF_UNSET, FY_CONF_UNSET);
    fy_conf_merge(u->expires, p->expires, FY_CONF_UNSET, 0);
    fy_conf_merge(u->flags, p->flags, FY_CONF_UNSET_INT, 0);
    fy_conf_merge(u->mark, p->mark, FY_CONF_UNSET_INT, 0);
    if (u->name.data == NULL) {
        u->name = p->name;
    }
    if (u->name.data == NULL) {
        u->name.data = (u_char *) "uid";
        u->name.len = 3;
    }
    if (u->domain.data == NULL) {
        u->domain = p->domain;
    }
    if (u->domain.data == NULL) {
        u->domain.data = (u_char *) "";     /* none */
    }
    if (u->path.data == NULL) {
        u->path = p->path.data ? p->path : path;
    }
    if (u->p3p.data == NULL) {
        u->p3p = p->p3p;
    }
    if (u->p3p.data == NULL) {
        u->p3p.data = (u_char *) "";        /* none */
    }
}

/* After the fork: this worker's part of its identifiers, nginx's
 * (the pid keeps workers' apart, the time a restarted one's). */
void
fy_http_userid_init_process(void)
{
    struct timeval  tv;

    gettimeofday(&tv, NULL);
    fy_http_userid_start = ((uint32_t) tv.tv_usec / 20) << 16
                           | ((uint32_t) fy_getpid() & 0xffff);
    fy_http_userid_seq_v1 = 1;
    fy_http_userid_seq_v2 = 0x03030302;
}


/* ---- per request ---- */

/* The request whose cookie counts: a subrequest's main one. */
static fy_http_request_t *
fy_http_userid_main(fy_http_request_t *r)
{
    while (r->parent) {
        r = r->parent;
    }
    return r;
}

/* r's state, made on first use (NULL: no memory). */
static struct fy_http_userid_ctx_s *
fy_http_userid_state(fy_http_request_t *r)
{
    if (r->userid == NULL) {
        r->userid = fy_pcalloc(r->pool, sizeof(struct fy_http_userid_ctx_s));
    }
    return r->userid;
}

/* r's state with the cookie u names read, once (NULL: no memory). */
static struct fy_http_userid_ctx_s *
fy_http_userid_ctx(fy_http_request_t *r, const fy_http_userid_conf_t *u)
{
    struct fy_http_userid_ctx_s  *ctx = fy_http_userid_state(r);
    fy_str_t                      arg;
    u_char                        key[FY_USERID_B64_LEN], *v;
    ssize_t                       n;
    size_t                        len;

    if (ctx == NULL || ctx->parsed) {
        return ctx;
    }
    ctx->parsed = 1;

    arg = u->name;
    len = fy_http_cookie_value(r, &arg, NULL, 0);
    if (len == 0) {
        return ctx;             /* none, or empty */
    }
    v = fy_palloc(r->pool, len);
    if (v == NULL) {
        return NULL;
    }
    fy_http_cookie_value(r, &arg, v, len);
    ctx->cookie.data = v;
    ctx->cookie.len = len;

    if (len < FY_USERID_KEY_LEN) {
        fy_log_error(FY_LOG_ERR, 0, "client sent too short userid cookie "
                     "\"%.*s=%.*s\", client: %s, request: \"%.*s\"",
                     (int) u->name.len, u->name.data, (int) len, v,
                     r->hc->addr_text, (int) r->request_line.len,
                     (char *) r->request_line.data);
        return ctx;
    }
    /* the first 22 characters only: a mark may follow, and many
     * cookies carry garbage in place of the "==" (nginx) */
    n = fy_http_base64_decode(v, FY_USERID_KEY_LEN, key);
    if (n < 0) {
        fy_log_error(FY_LOG_ERR, 0, "client sent invalid userid cookie "
                     "\"%.*s=%.*s\", client: %s, request: \"%.*s\"",
                     (int) u->name.len, u->name.data, (int) len, v,
                     r->hc->addr_text, (int) r->request_line.len,
                     (char *) r->request_line.data);
        return ctx;
    }
    memcpy(ctx->got, key, fy_min((size_t) n, sizeof(ctx->got)));
    return ctx;
}

/* nginx's test of $uid_reset: not "" and not "0" */
static int
fy_http_userid_reset_wanted(const struct fy_http_userid_ctx_s *ctx)
{
    return ctx->reset.data && ctx->reset.len
           && !(ctx->reset.len == 1 && ctx->reset.data[0] == '0');
}

/* The identifier to send, in ctx->set (left 0 when none is).  FY_OK or
 * FY_ERROR. */
static int
fy_http_userid_create(fy_http_request_t *r, struct fy_http_userid_ctx_s *ctx,
                      const fy_http_userid_conf_t *u)
{
    fy_sockaddr_t  sa;
    socklen_t      slen = sizeof(sa);
    uint32_t       now;

    if (ctx->set[3] != 0) {
        return FY_OK;
    }
    if (ctx->got[3] != 0) {
        if (!fy_http_userid_reset_wanted(ctx)) {
            /* kept; sent again only to add a missing mark */
            if (u->mark == 0
                || (ctx->cookie.len > FY_USERID_KEY_LEN + 1
                    && ctx->cookie.data[FY_USERID_KEY_LEN] == u->mark
                    && ctx->cookie.data[FY_USERID_KEY_LEN + 1] == '='))
            {
                return FY_OK;
            }
            memcpy(ctx->set, ctx->got, sizeof(ctx->set));
            return FY_OK;
        }
        ctx->reset_done = 1;
        if (ctx->reset.len == 3 && memcmp(ctx->reset.data, "log", 3) == 0) {
            fy_log_error(FY_LOG_NOTICE, 0, "userid cookie \"%.*s=%08X%08X"
                         "%08X%08X\" was reset, client: %s, request: "
                         "\"%.*s\"", (int) u->name.len, u->name.data,
                         ctx->got[0], ctx->got[1], ctx->got[2], ctx->got[3],
                         r->hc->addr_text, (int) r->request_line.len,
                         (char *) r->request_line.data);
        }
    }

    now = (uint32_t) (fy_wall_msec / 1000);
    if (u->enable == FY_HTTP_USERID_V1) {
        ctx->set[0] = u->service == FY_CONF_UNSET ? 0 : (uint32_t) u->service;
        ctx->set[1] = now;
        ctx->set[2] = fy_http_userid_start;
        ctx->set[3] = fy_http_userid_seq_v1;
        fy_http_userid_seq_v1 += 0x100;
        return FY_OK;
    }

    if (u->service != FY_CONF_UNSET) {
        ctx->set[0] = htonl((uint32_t) u->service);
    } else if (getsockname(r->hc->c->fd, &sa.sa, &slen) != 0) {
        fy_log_error(FY_LOG_ERR, errno, "getsockname() failed");
        return FY_ERROR;
    } else if (sa.sa.sa_family == AF_INET) {
        ctx->set[0] = sa.sin.sin_addr.s_addr;
    } else if (sa.sa.sa_family == AF_INET6) {
        memcpy(&ctx->set[0], &sa.sin6.sin6_addr.s6_addr[12], 4);
    } else {
        ctx->set[0] = 0;        /* a unix-domain socket */
    }
    ctx->set[1] = htonl(now);
    ctx->set[2] = htonl(fy_http_userid_start);
    ctx->set[3] = htonl(fy_http_userid_seq_v2);
    fy_http_userid_seq_v2 += 0x100;
    if (fy_http_userid_seq_v2 < 0x03030302) {
        fy_http_userid_seq_v2 = 0x03030302;   /* wrapped */
    }
    return FY_OK;
}

/* "%s, %02d-%s-%02d %02d:%02d:%02d GMT", nginx's cookie date: two
 * digits of the year up to 2037 (for old Netscapes), four after. */
static size_t
fy_http_userid_cookie_time(char *buf, size_t size, time_t t)
{
    static const char *const  wday[] = {
        "Sun", "Mon", "Tue", "Wed", "Thu", "Fri", "Sat"
    };
    static const char *const  mon[] = {
        "Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep",
        "Oct", "Nov", "Dec"
    };
    struct tm  tm;
    int        year, n;

    gmtime_r(&t, &tm);
    year = tm.tm_year + 1900;
    n = snprintf(buf, size, year > 2037 ? "%s, %02d-%s-%d %02d:%02d:%02d GMT"
                                        : "%s, %02d-%s-%02d %02d:%02d:%02d GMT",
                 wday[tm.tm_wday], tm.tm_mday, mon[tm.tm_mon],
                 year > 2037 ? year : year % 100, tm.tm_hour, tm.tm_min,
                 tm.tm_sec);
    return n > 0 ? (size_t) n : 0;
}

/*
 * The lines userid adds to r's response header ("Set-Cookie: ...\r\n"
 * and "P3P: ...\r\n"), in *out (from the pool), empty when none.  For
 * a location with userid on or v1 only.  FY_OK or FY_ERROR.
 */
int
fy_http_userid_lines(fy_http_request_t *r, fy_str_t *out)
{
    const fy_http_userid_conf_t  *u = &fy_http_req_loc(r)->userid;
    struct fy_http_userid_ctx_s  *ctx;
    const fy_conf_enum_t         *f;
    char                          date[48];
    u_char                       *p, *start;
    size_t                        size;

    out->data = NULL;
    out->len = 0;
    ctx = fy_http_userid_ctx(r, u);
    if (ctx == NULL || fy_http_userid_create(r, ctx, u) != FY_OK) {
        return FY_ERROR;
    }
    if (ctx->set[3] == 0) {
        return FY_OK;
    }

    size = sizeof("Set-Cookie: =\r\n") + u->name.len + FY_USERID_B64_LEN
           + sizeof(FY_USERID_EXPIRES_MAX_TEXT) + 16 + u->domain.len
           + u->path.len + sizeof("; httponly; secure; samesite=strict")
           + sizeof("P3P: \r\n") + u->p3p.len;
    p = start = fy_palloc(r->pool, size);
    if (p == NULL) {
        return FY_ERROR;
    }
    p = (u_char *) fy_cpymem((char *) p, "Set-Cookie: ", sizeof("Set-Cookie: ") - 1);
    p = (u_char *) fy_cpymem((char *) p, u->name.data, u->name.len);
    *p++ = '=';
    if (ctx->got[3] == 0 || ctx->reset_done) {
        fy_http_base64_encode((u_char *) ctx->set, sizeof(ctx->set), p);
        p += FY_USERID_B64_LEN;
        if (u->mark) {
            p[-2] = (u_char) u->mark;
        }
    } else {
        /* the client's, with the mark it lacked */
        p = (u_char *) fy_cpymem((char *) p, ctx->cookie.data, FY_USERID_KEY_LEN);
        *p++ = (u_char) u->mark;
        *p++ = '=';
    }
    if (u->expires == FY_USERID_MAX_EXPIRES) {
        p = (u_char *) fy_cpymem((char *) p, FY_USERID_EXPIRES_MAX_TEXT,
                      sizeof(FY_USERID_EXPIRES_MAX_TEXT) - 1);
    } else if (u->expires) {
        p = (u_char *) fy_cpymem((char *) p, "; expires=", sizeof("; expires=") - 1);
        p = (u_char *) fy_cpymem((char *) p, date, fy_http_userid_cookie_time(date, sizeof(date),
                                   (time_t) (fy_wall_msec / 1000)
                                   + (time_t) u->expires));
    }
    p = (u_char *) fy_cpymem((char *) p, u->domain.data, u->domain.len);
    p = (u_char *) fy_cpymem((char *) p, u->path.data, u->path.len);
    for (f = fy_http_userid_flag_text; f->name; f++) {
        if (u->flags & f->value) {
            p = (u_char *) fy_cpymem((char *) p, f->name, strlen(f->name));
        }
    }
    *p++ = '\r';
    *p++ = '\n';
    if (u->p3p.len) {
        p = (u_char *) fy_cpymem((char *) p, "P3P: ", sizeof("P3P: ") - 1);
        p = (u_char *) fy_cpymem((char *) p, u->p3p.data, u->p3p.len);
        *p++ = '\r';
        *p++ = '\n';
    }
    out->data = start;
    out->len = (size_t) (p - start);
    return FY_OK;
}

/* set $uid_reset VALUE */
void
fy_http_userid_reset_assign(fy_http_request_t *r, const u_char *v, size_t len)
{
    struct fy_http_userid_ctx_s  *ctx;

    ctx = fy_http_userid_state(fy_http_userid_main(r));
    if (ctx) {
        ctx->reset.data = (u_char *) v;
        ctx->reset.len = len;
    }
}

/* NAME=XXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXX, nginx's "%V=%08XD%08XD..." */
static size_t
fy_http_userid_print(const fy_http_userid_conf_t *u, const uint32_t *uid,
                     u_char *buf, size_t size)
{
    char    hex[40];
    size_t  len = u->name.len + 1 + 32;

    if (buf) {
        snprintf(hex, sizeof(hex), "=%08X%08X%08X%08X", uid[0], uid[1],
                 uid[2], uid[3]);
        memcpy(buf, u->name.data, fy_min(size, u->name.len));
        if (size > u->name.len) {
            memcpy(buf + u->name.len, hex, fy_min(size - u->name.len, 33));
        }
    }
    return len;
}

size_t
fy_http_userid_got_var(fy_http_request_t *r, u_char *buf, size_t size)
{
    const fy_http_userid_conf_t  *u;
    struct fy_http_userid_ctx_s  *ctx;

    r = fy_http_userid_main(r);
    u = &fy_http_req_loc(r)->userid;
    if (u->enable <= FY_HTTP_USERID_OFF) {
        return 0;
    }
    ctx = fy_http_userid_ctx(r, u);
    if (ctx == NULL || ctx->got[3] == 0) {
        return 0;
    }
    return fy_http_userid_print(u, ctx->got, buf, size);
}

size_t
fy_http_userid_set_var(fy_http_request_t *r, u_char *buf, size_t size)
{
    const fy_http_userid_conf_t  *u;
    struct fy_http_userid_ctx_s  *ctx;

    r = fy_http_userid_main(r);
    u = &fy_http_req_loc(r)->userid;
    if (u->enable < FY_HTTP_USERID_V1) {
        return 0;
    }
    ctx = fy_http_userid_ctx(r, u);
    if (ctx == NULL || fy_http_userid_create(r, ctx, u) != FY_OK
        || ctx->set[3] == 0)
    {
        return 0;
    }
    return fy_http_userid_print(u, ctx->set, buf, size);
}

size_t
fy_http_userid_reset_var(fy_http_request_t *r, u_char *buf, size_t size)
{
    const struct fy_http_userid_ctx_s  *ctx = fy_http_userid_main(r)->userid;

    /* empty until set, as nginx's */
    if (ctx == NULL || ctx->reset.data == NULL) {
        return 0;
    }
    if (buf) {
        memcpy(buf, ctx->reset.data, fy_min(size, ctx->reset.len));
    }
    return ctx->reset.len;
}
