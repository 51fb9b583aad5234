/*
 * fy_http_proxy_cookie.c -- proxy_cookie_domain, proxy_cookie_path and
 * proxy_cookie_flags: the Set-Cookie fields of a proxied response
 * edited, so that a backend setting a cookie for its own name
 * ("Domain=app.internal", "Path=/app/") gets one the browser sends back
 * through ferry, and cookies get the Secure, HttpOnly and SameSite
 * flags the site wants.  The Location twin is fy_http_proxy_redirect.c.
 *
 *   proxy_cookie_domain off | DOMAIN REPLACEMENT;   http, server, location
 *   proxy_cookie_path   off | PATH REPLACEMENT;
 *   proxy_cookie_flags  off | COOKIE [FLAG ...];
 *
 * As in nginx: each may be given several times; on each Domain (Path)
 * attribute of each Set-Cookie field the rules are tried in order and
 * the first that matches rewrites the value.  A text DOMAIN matches the
 * whole attribute value without case, a leading "." of either being
 * ignored (and the value's kept); a text PATH is a case-sensitive
 * prefix, replaced.  "~" ("~*" without case; for a domain always
 * without case, as nginx) makes it a regex matched
 * against the whole value, which REPLACEMENT replaces, with the regex's
 * $1..$9 and named groups.  Both texts may hold variables.  A level
 * without any inherits its parent's; "off" cancels them.
 *
 * proxy_cookie_flags: the first rule whose COOKIE (a name without case,
 * variables allowed, or "~" and a regex, without case) names the
 * cookie sets (secure, httponly, samesite=strict|lax|none) or removes
 * (nosecure, nohttponly, nosamesite) those attributes.
 *
 * A field something changed is written again as nginx writes it: its
 * parts (spaces around them dropped) joined by "; ".  A field whose
 * first part has no "=" is left alone, as nginx does.
 *
 * Unconfigured, the response path only tests three pointers.
 */
#include "fy_core.h"
#include "fy_http.h"

typedef struct {
    fy_http_regex_t  *regex;        /* ~ and ~*: the whole value */
    fy_http_cv_t     *match;        /* else the domain, or path prefix */
    fy_http_cv_t     *replacement;
} fy_http_cookie_rule_t;

struct fy_http_proxy_cookie_s {
    fy_array_t        rules;        /* fy_http_cookie_rule_t, or
                                       fy_http_cookie_flags_t */
    unsigned          off:1;
};

/* proxy_cookie_flags: what a rule does to the three attributes */
#define FY_COOKIE_SECURE_ON        0x01
#define FY_COOKIE_SECURE_OFF       0x02
#define FY_COOKIE_HTTPONLY_ON      0x04
#define FY_COOKIE_HTTPONLY_OFF     0x08
#define FY_COOKIE_SAMESITE_STRICT  0x10
#define FY_COOKIE_SAMESITE_LAX     0x20
#define FY_COOKIE_SAMESITE_NONE    0x40
#define FY_COOKIE_SAMESITE_OFF     0x80
#define FY_COOKIE_SAMESITE_ON      0x70    /* any of the three */

static const fy_conf_enum_t  fy_http_cookie_flag_names[] = {
    { "secure", FY_COOKIE_SECURE_ON },
    { "nosecure", FY_COOKIE_SECURE_OFF },
    { "httponly", FY_COOKIE_HTTPONLY_ON },
    { "nohttponly", FY_COOKIE_HTTPONLY_OFF },
    { "samesite=strict", FY_COOKIE_SAMESITE_STRICT },
    { "samesite=lax", FY_COOKIE_SAMESITE_LAX },
    { "samesite=none", FY_COOKIE_SAMESITE_NONE },
    { "nosamesite", FY_COOKIE_SAMESITE_OFF },
    { NULL, 0 }
};

typedef struct {
    fy_http_regex_t  *regex;        /* "~": the cookie's name */
    fy_http_cv_t     *name;         /* else the name, without case */
    unsigned          flags;        /* the literal FLAGs */
    fy_array_t       *vflags;       /* FLAGs with variables (fy_http_cv_t *),
                                       read per response; NULL: none */
} fy_http_cookie_flags_t;

/* One part of a Set-Cookie value: "key=value", or "key" (value.data
 * NULL); key.data NULL: removed. */
typedef struct {
    fy_str_t          key;
    fy_str_t          value;
} fy_http_cookie_attr_t;

#define FY_COOKIE_PATH  offsetof(fy_http_loc_conf_t, proxy_cookie_path)


/* ---- the directives ---- */

static const char *
fy_http_proxy_cookie_set(fy_conf_t *cf, const fy_command_t *cmd, void *conf)
{
    fy_http_loc_conf_t     *lcf = conf;
    int                     path = cmd->offset == FY_COOKIE_PATH;
    fy_http_proxy_cookie_t **slot = (void *) ((char *) lcf + cmd->offset);
    fy_http_proxy_cookie_t *pc = *slot;
    fy_http_cookie_rule_t  *rule;
    fy_str_t               *arg = &cf->args[1], text;
    const char             *file = cf->file ? cf->file->name
                                            : "command line";

    if (cf->nargs == 2) {
        if (!fy_str_eq(arg, "off")) {
            fy_conf_error(cf, "invalid parameter \"%s\"", arg->data);
            return FY_CONF_ERROR;
        }
        if (pc) {
            return "is duplicate";      /* nginx: "off" after rules */
        }
    }
    if (pc == NULL) {
        pc = fy_pcalloc(cf->pool, sizeof(fy_http_proxy_cookie_t));
        if (pc == NULL) {
            return "cannot allocate memory";
        }
        fy_array_init(&pc->rules, cf->pool, 2, sizeof(fy_http_cookie_rule_t));
        *slot = pc;
    }
    if (cf->nargs == 2) {
        pc->off = 1;
        return FY_CONF_OK;
    }
    if (pc->off) {
        /* nginx ignores it silently; a rule that does nothing is named */
        fy_log_error(FY_LOG_WARN, 0, "\"%s\" after \"%s off\" at the same "
                     "level is ignored in %s:%u", cmd->name, cmd->name, file,
                     cf->line);
        return FY_CONF_OK;
    }

    rule = fy_array_push(&pc->rules);
    if (rule == NULL) {
        return "cannot allocate memory";
    }
    memset(rule, 0, sizeof(*rule));

    if (arg->len && arg->data[0] == '~') {
        /* a domain regex is matched without case even after a plain
         * "~", as nginx compiles it; a path one only after "~*" */
        rule->regex = fy_http_regex_compile_arg(cf, arg, !path);
        if (rule->regex == NULL) {
            return FY_CONF_ERROR;
        }
    } else {
        text = *arg;
        if (!path && text.len && text.data[0] == '.') {
            text.data++;
            text.len--;
        }
        rule->match = fy_http_cv_compile(cf, &text);
        if (rule->match == NULL) {
            return FY_CONF_ERROR;
        }
    }
    /* compiled after the regex, so that its named groups are known */
    rule->replacement = fy_http_cv_compile(cf, &cf->args[2]);
    return rule->replacement ? FY_CONF_OK : FY_CONF_ERROR;
}

/* The flag named by text (len bytes, any case), or 0. */
static unsigned
fy_http_cookie_flag(const u_char *text, size_t len)
{
    const fy_conf_enum_t  *e;

    for (e = fy_http_cookie_flag_names; e->name; e++) {
        if (strlen(e->name) == len && fy_mem_eq_ci(text, e->name, len)) {
            return (unsigned) e->value;
        }
    }
    return 0;
}

static const char *
fy_http_proxy_cookie_flags_set(fy_conf_t *cf, const fy_command_t *cmd,
                               void *conf)
{
    fy_http_loc_conf_t      *lcf = conf;
    fy_http_proxy_cookie_t  *pc = lcf->proxy_cookie_flags;
    fy_http_cookie_flags_t  *rule;
    fy_http_cv_t            *cv, **vp;
    fy_str_t                *arg = &cf->args[1], re;
    unsigned                 i, f;

    if (fy_str_eq(arg, "off")) {
        if (cf->nargs != 2) {
            fy_conf_error(cf, "invalid parameter \"%s\"", cf->args[2].data);
            return FY_CONF_ERROR;
        }
        if (pc) {
            return "is duplicate";
        }
    }
    if (pc == NULL) {
        pc = fy_pcalloc(cf->pool, sizeof(fy_http_proxy_cookie_t));
        if (pc == NULL) {
            return "cannot allocate memory";
        }
        fy_array_init(&pc->rules, cf->pool, 2, sizeof(fy_http_cookie_flags_t));
        lcf->proxy_cookie_flags = pc;
    }
    if (fy_str_eq(arg, "off")) {
        pc->off = 1;
        return FY_CONF_OK;
    }
    if (pc->off) {
        fy_log_error(FY_LOG_WARN, 0, "\"%s\" after \"%s off\" at the same "
                     "level is ignored in %s:%u", cmd->name, cmd->name,
                     cf->file ? cf->file->name : "command line", cf->line);
        return FY_CONF_OK;
    }

    rule = fy_array_push(&pc->rules);
    if (rule == NULL) {
        return "cannot allocate memory";
    }
    memset(rule, 0, sizeof(*rule));

    if (arg->len && arg->data[0] == '~') {
        re.data = arg->data + 1;
        re.len = arg->len - 1;
        rule->regex = fy_http_regex_compile(cf, &re, 1);
        if (rule->regex == NULL) {
            return FY_CONF_ERROR;
        }
    } else {
        rule->name = fy_http_cv_compile(cf, arg);
        if (rule->name == NULL) {
            return FY_CONF_ERROR;
        }
    }

    for (i = 2; i < cf->nargs; i++) {
        if (memchr(cf->args[i].data, '$', cf->args[i].len)) {
            cv = fy_http_cv_compile(cf, &cf->args[i]);
            if (cv == NULL) {
                return FY_CONF_ERROR;
            }
            if (rule->vflags == NULL) {
                rule->vflags = fy_palloc(cf->pool, sizeof(fy_array_t));
                if (rule->vflags == NULL) {
                    return "cannot allocate memory";
                }
                fy_array_init(rule->vflags, cf->pool, 2,
                              sizeof(fy_http_cv_t *));
            }
            vp = fy_array_push(rule->vflags);
            if (vp == NULL) {
                return "cannot allocate memory";
            }
            *vp = cv;
            continue;
        }
        f = fy_http_cookie_flag(cf->args[i].data, cf->args[i].len);
        if (f == 0) {
            fy_conf_error(cf, "invalid parameter \"%s\"", cf->args[i].data);
            return FY_CONF_ERROR;
        }
        rule->flags |= f;
    }
    return FY_CONF_OK;
}

const fy_command_t  fy_http_proxy_cookie_commands[] = {

    { "proxy_cookie_domain", FY_CONF_HTTP | FY_CONF_SRV | FY_CONF_LOC, 0,
      1, 2, fy_http_proxy_cookie_set, FY_CONF_LOC_OFF,
      offsetof(fy_http_loc_conf_t, proxy_cookie_domain), NULL },

    { "proxy_cookie_path", FY_CONF_HTTP | FY_CONF_SRV | FY_CONF_LOC, 0,
      1, 2, fy_http_proxy_cookie_set, FY_CONF_LOC_OFF, FY_COOKIE_PATH,
      NULL },

    { "proxy_cookie_flags", FY_CONF_HTTP | FY_CONF_SRV | FY_CONF_LOC, 0,
      1, FY_CONF_MANY, fy_http_proxy_cookie_flags_set, FY_CONF_LOC_OFF, 0,
      NULL },

    { NULL, 0, 0, 0, 0, NULL, 0, 0, NULL }
};

void
fy_http_proxy_cookie_merge(fy_http_loc_conf_t *prev, fy_http_loc_conf_t *conf)
{
    if (conf->proxy_cookie_domain == NULL) {
        conf->proxy_cookie_domain = prev->proxy_cookie_domain;
    }
    if (conf->proxy_cookie_path == NULL) {
        conf->proxy_cookie_path = prev->proxy_cookie_path;
    }
    if (conf->proxy_cookie_flags == NULL) {
        conf->proxy_cookie_flags = prev->proxy_cookie_flags;
    }
}


/* ---- the response ---- */

/* The first rule that matches *attr rewrites it (a copy in r's pool):
 * FY_OK, FY_DECLINED (none matched) or FY_ERROR (no memory). */
static int
fy_http_cookie_rules(fy_http_request_t *r, fy_http_proxy_cookie_t *pc,
                     int path, fy_str_t *attr)
{
    fy_http_cookie_rule_t  *rule;
    fy_http_captures_t     *saved;
    u_char                 *pat, *rep, *p;
    size_t                  plen, rlen, skip, cut;
    unsigned                i;

    for (i = 0; i < pc->rules.nelts; i++) {
        rule = fy_array_elt(&pc->rules, fy_http_cookie_rule_t, i);
        skip = 0;

        saved = r->captures;
        if (rule->regex) {
            /* $1.. are this regex's while the replacement is made; the
             * location's come back after (as proxy_redirect) */
            if (fy_http_regex_exec(r, rule->regex, attr, &r->captures)
                != FY_OK)
            {
                continue;
            }
            cut = attr->len;
        } else {
            pat = fy_http_cv_eval(r, rule->match, &plen);
            if (pat == NULL) {
                return FY_ERROR;
            }
            if (path) {
                if (plen > attr->len || memcmp(attr->data, pat, plen) != 0) {
                    continue;
                }
            } else {
                if (attr->len && attr->data[0] == '.') {
                    skip = 1;           /* ".example.com" keeps its dot */
                }
                if (plen != attr->len - skip
                    || !fy_mem_eq_ci(attr->data + skip, (const char *) pat,
                                     plen))
                {
                    continue;
                }
            }
            cut = plen;
        }
        /* control bytes from variables %-escaped: the field stays one */
        rep = fy_http_header_value(r, rule->replacement, &rlen);
        r->captures = saved;
        if (rep == NULL) {
            return FY_ERROR;
        }

        p = fy_palloc(r->pool, attr->len - cut + rlen + 1);
        if (p == NULL) {
            return FY_ERROR;
        }
        memcpy(p, attr->data, skip);
        memcpy(p + skip, rep, rlen);
        memcpy(p + skip + rlen, attr->data + skip + cut,
               attr->len - skip - cut);
        attr->data = p;
        attr->len = attr->len - cut + rlen;
        return FY_OK;
    }
    return FY_DECLINED;
}

/* *flags: those of the first proxy_cookie_flags rule naming the
 * cookie, 0 if none does.  FY_OK or FY_ERROR (no memory). */
static int
fy_http_cookie_flags_of(fy_http_request_t *r, fy_http_proxy_cookie_t *pc,
                        fy_str_t *name, unsigned *flags)
{
    fy_http_cookie_flags_t  *rule = NULL;  /* set when i < nelts */
    fy_http_cv_t           **vp;
    u_char                  *v;
    size_t                   len;
    unsigned                 i, j, f;

    *flags = 0;
    for (i = 0; i < pc->rules.nelts; i++) {
        rule = fy_array_elt(&pc->rules, fy_http_cookie_flags_t, i);
        if (rule->regex) {
            if (fy_http_regex_exec(r, rule->regex, name, NULL) == FY_OK) {
                break;
            }
            continue;
        }
        v = fy_http_cv_eval(r, rule->name, &len);
        if (v == NULL) {
            return FY_ERROR;
        }
        if (len == name->len && fy_mem_eq_ci(name->data, (const char *) v,
                                             len))
        {
            break;
        }
    }
    if (i == pc->rules.nelts) {
        return FY_OK;
    }
    f = rule->flags;
    for (j = 0; rule->vflags && j < rule->vflags->nelts; j++) {
        vp = fy_array_elt(rule->vflags, fy_http_cv_t *, j);
        v = fy_http_cv_eval(r, *vp, &len);
        if (v == NULL) {
            return FY_ERROR;
        }
        /* an empty or unknown value does nothing (nginx) */
        f |= fy_http_cookie_flag(v, len);
    }
    *flags = f;
    return FY_OK;
}

/* Apply flags to the attributes, as nginx: an attribute already there
 * is kept (SameSite given the value asked for), removed for "no...";
 * one missing is added at the end. */
static int
fy_http_cookie_set_flags(fy_array_t *attrs, unsigned flags)
{
    static const struct { const char *key, *value; unsigned on; }  add[] = {
        { "Secure", NULL, FY_COOKIE_SECURE_ON },
        { "HttpOnly", NULL, FY_COOKIE_HTTPONLY_ON },
        { "SameSite", "Strict", FY_COOKIE_SAMESITE_STRICT },
        { "SameSite", "Lax", FY_COOKIE_SAMESITE_LAX },
        { "SameSite", "None", FY_COOKIE_SAMESITE_NONE },
    };
    fy_http_cookie_attr_t  *a;
    const char             *want;
    unsigned                i, on, off;

    for (i = 1; i < attrs->nelts; i++) {
        a = fy_array_elt(attrs, fy_http_cookie_attr_t, i);
        if (fy_str_eq_ci(&a->key, "secure")) {
            on = FY_COOKIE_SECURE_ON;
            off = FY_COOKIE_SECURE_OFF;
        } else if (fy_str_eq_ci(&a->key, "httponly")) {
            on = FY_COOKIE_HTTPONLY_ON;
            off = FY_COOKIE_HTTPONLY_OFF;
        } else if (fy_str_eq_ci(&a->key, "samesite")) {
            on = flags & FY_COOKIE_SAMESITE_ON;
            off = FY_COOKIE_SAMESITE_OFF;
            if (on) {
                /* the strictest asked for; a value already equal (in
                 * any case) is left as it is */
                want = on & FY_COOKIE_SAMESITE_STRICT ? "Strict"
                       : on & FY_COOKIE_SAMESITE_LAX ? "Lax" : "None";
                if (a->value.data == NULL || !fy_str_eq_ci(&a->value, want)) {
                    fy_str_set(&a->key, "SameSite");
                    a->value.data = (u_char *) want;
                    a->value.len = strlen(want);
                }
                flags &= ~(unsigned) FY_COOKIE_SAMESITE_ON;
                continue;
            }
        } else {
            continue;
        }
        if (flags & on) {
            flags &= ~on;               /* there already */
        } else if (flags & off) {
            a->key.data = NULL;
        }
    }
    for (i = 0; i < sizeof(add) / sizeof(add[0]); i++) {
        if (!(flags & add[i].on)) {
            continue;
        }
        a = fy_array_push(attrs);
        if (a == NULL) {
            return FY_ERROR;
        }
        a->key.data = (u_char *) add[i].key;
        a->key.len = strlen(add[i].key);
        a->value.data = (u_char *) add[i].value;
        a->value.len = add[i].value ? strlen(add[i].value) : 0;
        if (add[i].on & FY_COOKIE_SAMESITE_ON) {
            break;                      /* one SameSite: the strictest */
        }
    }
    return FY_OK;
}

/* Split a Set-Cookie value at ";" into key[=value] parts, spaces around
 * each dropped (nginx's parsing). */
static int
fy_http_cookie_parse(fy_str_t *value, fy_array_t *attrs)
{
    fy_http_cookie_attr_t  *a;
    u_char                 *start, *end, *last, *p;

    start = value->data;
    end = value->data + value->len;
    for ( ;; ) {
        last = memchr(start, ';', (size_t) (end - start));
        if (last == NULL) {
            last = end;
        }
        while (start < last && *start == ' ') {
            start++;
        }
        for (p = start; p < last && *p != '='; p++) {
            /* void */
        }
        a = fy_array_push(attrs);
        if (a == NULL) {
            return FY_ERROR;
        }
        a->key.data = start;
        a->key.len = (size_t) (p - start);
        while (a->key.len && a->key.data[a->key.len - 1] == ' ') {
            a->key.len--;
        }
        a->value.data = NULL;
        a->value.len = 0;
        if (p < last) {
            p++;
            while (p < last && *p == ' ') {
                p++;
            }
            a->value.data = p;
            a->value.len = (size_t) (last - p);
            while (a->value.len && a->value.data[a->value.len - 1] == ' ') {
                a->value.len--;
            }
        }
        if (last == end) {
            return FY_OK;
        }
        start = last + 1;
    }
}

/* One Set-Cookie value: its Domain and Path attributes rewritten, its
 * flags set; written again (into r's pool) if anything changed. */
static int
fy_http_cookie_rewrite(fy_http_request_t *r, fy_http_proxy_cookie_t *domain,
                       fy_http_proxy_cookie_t *path,
                       fy_http_proxy_cookie_t *flags, fy_str_t *value)
{
    fy_http_cookie_attr_t  *a;
    fy_array_t              attrs;
    unsigned                i, f, changed = 0;
    size_t                  len = 0;
    u_char                 *p;
    int                     rc;

    fy_array_init(&attrs, r->pool, 4, sizeof(fy_http_cookie_attr_t));
    if (fy_http_cookie_parse(value, &attrs) != FY_OK) {
        return FY_ERROR;
    }
    a = fy_array_elt(&attrs, fy_http_cookie_attr_t, 0);
    if (a->value.data == NULL) {
        return FY_OK;                   /* no "name=value": not a cookie */
    }

    for (i = 1; i < attrs.nelts; i++) {
        a = fy_array_elt(&attrs, fy_http_cookie_attr_t, i);
        if (a->value.data == NULL) {
            continue;
        }
        rc = FY_DECLINED;
        if (domain && fy_str_eq_ci(&a->key, "domain")) {
            rc = fy_http_cookie_rules(r, domain, 0, &a->value);
        } else if (path && fy_str_eq_ci(&a->key, "path")) {
            rc = fy_http_cookie_rules(r, path, 1, &a->value);
        }
        if (rc == FY_ERROR) {
            return FY_ERROR;
        }
        changed |= rc == FY_OK;
    }

    if (flags) {
        a = fy_array_elt(&attrs, fy_http_cookie_attr_t, 0);
        if (fy_http_cookie_flags_of(r, flags, &a->key, &f) != FY_OK
            || (f && fy_http_cookie_set_flags(&attrs, f) != FY_OK))
        {
            return FY_ERROR;
        }
        changed |= f != 0;
    }
    if (!changed) {
        return FY_OK;
    }

    for (i = 0; i < attrs.nelts; i++) {
        a = fy_array_elt(&attrs, fy_http_cookie_attr_t, i);
        if (a->key.data) {
            len += 2 + a->key.len + (a->value.data ? 1 + a->value.len : 0);
        }
    }
    p = fy_palloc(r->pool, len);
    if (p == NULL) {
        return FY_ERROR;
    }
    value->data = p;
    for (i = 0; i < attrs.nelts; i++) {
        a = fy_array_elt(&attrs, fy_http_cookie_attr_t, i);
        if (a->key.data == NULL) {
            continue;
        }
        if (p != value->data) {
            *p++ = ';';
            *p++ = ' ';
        }
        memcpy(p, a->key.data, a->key.len);
        p += a->key.len;
        if (a->value.data) {
            *p++ = '=';
            memcpy(p, a->value.data, a->value.len);
            p += a->value.len;
        }
    }
    value->len = (size_t) (p - value->data);
    return FY_OK;
}

int
fy_http_proxy_cookie(fy_http_request_t *r, fy_array_t *headers)
{
    fy_http_proxy_cookie_t  *domain = r->loc->proxy_cookie_domain;
    fy_http_proxy_cookie_t  *path = r->loc->proxy_cookie_path;
    fy_http_proxy_cookie_t  *flags = r->loc->proxy_cookie_flags;
    fy_http_header_t        *h;
    unsigned                 i;

    if (domain && domain->off) {
        domain = NULL;
    }
    if (path && path->off) {
        path = NULL;
    }
    if (flags && flags->off) {
        flags = NULL;
    }
    if (domain == NULL && path == NULL && flags == NULL) {
        return FY_OK;
    }
    for (i = 0; i < headers->nelts; i++) {
        h = fy_array_elt(headers, fy_http_header_t, i);
        if (fy_str_eq_ci(&h->name, "Set-Cookie")
            && fy_http_cookie_rewrite(r, domain, path, flags, &h->value)
               != FY_OK)
        {
            return FY_ERROR;
        }
    }
    return FY_OK;
}
