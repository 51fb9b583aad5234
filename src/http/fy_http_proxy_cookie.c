/*
 * fy_http_proxy_cookie.c -- proxy_cookie_domain and proxy_cookie_path:
 * the Domain and Path attributes of a proxied response's Set-Cookie
 * fields rewritten, so that a backend setting a cookie for its own
 * name ("Domain=app.internal", "Path=/app/") gets one the browser
 * sends back through ferry.  The Location twin is
 * fy_http_proxy_redirect.c.
 *
 *   proxy_cookie_domain off | DOMAIN REPLACEMENT;   http, server, location
 *   proxy_cookie_path   off | PATH REPLACEMENT;
 *
 * As in nginx: both may be given several times; on each Domain (Path)
 * attribute of each Set-Cookie field the rules are tried in order and
 * the first that matches rewrites the value.  A text DOMAIN matches the
 * whole attribute value without case, a leading "." of either being
 * ignored (and the value's kept); a text PATH is a case-sensitive
 * prefix, replaced.  "~" ("~*" without case) makes it a regex matched
 * against the whole value, which REPLACEMENT replaces, with the regex's
 * $1..$9 and named groups.  Both texts may hold variables.  A level
 * without any inherits its parent's; "off" cancels them.
 *
 * Unconfigured, the response path only tests two pointers.
 */
#include "fy_core.h"
#include "fy_http.h"

typedef struct {
    fy_http_regex_t  *regex;        /* ~ and ~*: the whole value */
    fy_http_cv_t     *match;        /* else the domain, or path prefix */
    fy_http_cv_t     *replacement;
} fy_http_cookie_rule_t;

struct fy_http_proxy_cookie_s {
    fy_array_t        rules;        /* fy_http_cookie_rule_t */
    unsigned          off:1;
};

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
    fy_str_t               *arg = &cf->args[1], re, text;
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
        re.data = arg->data + 1;
        re.len = arg->len - 1;
        if (re.len && re.data[0] == '*') {
            re.data++;
            re.len--;
        }
        rule->regex = fy_http_regex_compile(cf, &re,
                                            re.data - arg->data == 2);
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

const fy_command_t  fy_http_proxy_cookie_commands[] = {

    { "proxy_cookie_domain", FY_CONF_HTTP | FY_CONF_SRV | FY_CONF_LOC, 0,
      1, 2, fy_http_proxy_cookie_set, FY_CONF_LOC_OFF,
      offsetof(fy_http_loc_conf_t, proxy_cookie_domain), NULL },

    { "proxy_cookie_path", FY_CONF_HTTP | FY_CONF_SRV | FY_CONF_LOC, 0,
      1, 2, fy_http_proxy_cookie_set, FY_CONF_LOC_OFF, FY_COOKIE_PATH,
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
}


/* ---- the response ---- */

/* The first rule that matches value[start, start + len) rewrites that
 * part of h's value (a copy in r's pool): the new length of the part,
 * or len (none matched), or -1 (no memory). */
static ssize_t
fy_http_cookie_rules(fy_http_request_t *r, fy_http_proxy_cookie_t *pc,
                     int path, fy_str_t *value, size_t start, size_t len)
{
    fy_http_cookie_rule_t  *rule;
    fy_http_captures_t     *saved;
    fy_str_t                attr;
    u_char                 *pat, *rep, *p;
    size_t                  plen, rlen, skip, cut;
    unsigned                i;

    for (i = 0; i < pc->rules.nelts; i++) {
        rule = fy_array_elt(&pc->rules, fy_http_cookie_rule_t, i);
        attr.data = value->data + start;
        attr.len = len;
        skip = 0;

        saved = r->captures;
        if (rule->regex) {
            /* $1.. are this regex's while the replacement is made; the
             * location's come back after (as proxy_redirect) */
            if (fy_http_regex_exec(r, rule->regex, &attr, &r->captures)
                != FY_OK)
            {
                continue;
            }
            cut = len;
        } else {
            pat = fy_http_cv_eval(r, rule->match, &plen);
            if (pat == NULL) {
                return -1;
            }
            if (path) {
                if (plen > len || memcmp(attr.data, pat, plen) != 0) {
                    continue;
                }
                cut = plen;
            } else {
                if (len && attr.data[0] == '.') {
                    skip = 1;           /* ".example.com" keeps its dot */
                }
                if (plen != len - skip
                    || !fy_mem_eq_ci(attr.data + skip, (const char *) pat,
                                     plen))
                {
                    continue;
                }
                cut = plen;
            }
        }
        /* control bytes from variables %-escaped: the field stays one */
        rep = fy_http_header_value(r, rule->replacement, &rlen);
        r->captures = saved;
        if (rep == NULL) {
            return -1;
        }

        start += skip;
        p = fy_palloc(r->pool, value->len - cut + rlen);
        if (p == NULL) {
            return -1;
        }
        memcpy(p, value->data, start);
        memcpy(p + start, rep, rlen);
        memcpy(p + start + rlen, value->data + start + cut,
               value->len - start - cut);
        value->data = p;
        value->len = value->len - cut + rlen;
        return (ssize_t) (len - cut + rlen);
    }
    return (ssize_t) len;
}

/* One Set-Cookie value: its attributes after the first ";" (the first
 * pair is the cookie itself, whatever its name). */
static int
fy_http_cookie_rewrite(fy_http_request_t *r, fy_http_proxy_cookie_t *domain,
                       fy_http_proxy_cookie_t *path, fy_str_t *value)
{
    fy_http_proxy_cookie_t  *pc;
    size_t                   i, name, end, vstart;
    ssize_t                  n;

    i = 0;
    while (i < value->len && value->data[i] != ';') {
        i++;
    }
    while (i < value->len) {
        i++;                                    /* the ';' */
        while (i < value->len
               && (value->data[i] == ' ' || value->data[i] == '\t'))
        {
            i++;
        }
        name = i;
        while (i < value->len && value->data[i] != ';'
               && value->data[i] != '=')
        {
            i++;
        }
        if (i == value->len || value->data[i] != '=') {
            continue;                           /* "HttpOnly;" */
        }
        pc = NULL;
        if (i - name == 6 && fy_mem_eq_ci(value->data + name, "domain", 6)) {
            pc = domain;
        } else if (i - name == 4
                   && fy_mem_eq_ci(value->data + name, "path", 4))
        {
            pc = path;
        }
        vstart = ++i;
        while (i < value->len && value->data[i] != ';') {
            i++;
        }
        end = i;
        while (end > vstart
               && (value->data[end - 1] == ' ' || value->data[end - 1] == '\t'))
        {
            end--;
        }
        if (pc == NULL) {
            continue;
        }
        n = fy_http_cookie_rules(r, pc, pc == path, value, vstart,
                                 end - vstart);
        if (n < 0) {
            return FY_ERROR;
        }
        i = vstart + (size_t) n + (i - end);   /* the same ';', moved */
    }
    return FY_OK;
}

int
fy_http_proxy_cookie(fy_http_request_t *r, fy_array_t *headers)
{
    fy_http_proxy_cookie_t  *domain = r->loc->proxy_cookie_domain;
    fy_http_proxy_cookie_t  *path = r->loc->proxy_cookie_path;
    fy_http_header_t        *h;
    unsigned                 i;

    if (domain && domain->off) {
        domain = NULL;
    }
    if (path && path->off) {
        path = NULL;
    }
    if (domain == NULL && path == NULL) {
        return FY_OK;
    }
    for (i = 0; i < headers->nelts; i++) {
        h = fy_array_elt(headers, fy_http_header_t, i);
        if (fy_str_eq_ci(&h->name, "Set-Cookie")
            && fy_http_cookie_rewrite(r, domain, path, &h->value) != FY_OK)
        {
            return FY_ERROR;
        }
    }
    return FY_OK;
}
