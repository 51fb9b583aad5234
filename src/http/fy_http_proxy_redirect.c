/*
 * fy_http_proxy_redirect.c -- proxy_redirect: the Location and Refresh
 * fields of a proxied response rewritten, so that a backend's redirect
 * to its own name ("http://app/login", app being the upstream) points
 * the client back through ferry instead of at a name only ferry knows.
 *
 *   proxy_redirect default;                   the default (below)
 *   proxy_redirect off;
 *   proxy_redirect http://app:8080/ /;        a prefix, replaced
 *   proxy_redirect ~^http://[^/]+(/.*)$ $1;   a regex: the whole value
 *
 * As in nginx: the rules are tried in order on every Location field and
 * on the part of every Refresh field after "url=", whatever the status;
 * the first that matches rewrites the value, none leaves it alone.  A
 * text REDIRECT is a case-sensitive prefix (variables allowed in it);
 * REPLACEMENT takes the place of that prefix.  A regex REDIRECT ("~",
 * "~*" without case) is matched against the whole value, which
 * REPLACEMENT then replaces, with the regex's $1..$9 and named groups.
 *
 * "default" means REDIRECT = the proxy_pass URL as written and
 * REPLACEMENT = the location's name when proxy_pass has a URI part,
 * else the URL + "/" and "/".  A level with no proxy_redirect has the
 * default of its own proxy_pass unless a level above has rules (then
 * those) or "off"; a proxy_pass with variables has no default, and
 * "proxy_redirect default" next to one is refused, as in nginx.
 *
 * A REPLACEMENT without a host ("/") leaves a relative Location: ferry
 * never makes one absolute (RFC 9110 10.2.2 allows it), as its own
 * return and static redirects (nginx with "absolute_redirect off").
 */
#include "fy_core.h"
#include "fy_http.h"

typedef struct {
    fy_http_regex_t  *regex;        /* ~ and ~*: the whole value */
    fy_http_cv_t     *redirect;     /* else the prefix to replace */
    fy_http_cv_t     *replacement;
} fy_http_redirect_rule_t;

struct fy_http_proxy_redirect_s {
    fy_array_t        rules;        /* fy_http_redirect_rule_t */
    unsigned          off:1;        /* proxy_redirect off */
};

static const char *fy_http_proxy_redirect_set(fy_conf_t *cf,
    const fy_command_t *cmd, void *conf);

const fy_command_t  fy_http_proxy_redirect_commands[] = {

    { "proxy_redirect", FY_CONF_HTTP | FY_CONF_SRV | FY_CONF_LOC, 0, 1, 2,
      fy_http_proxy_redirect_set, FY_CONF_LOC_OFF, 0, NULL },

    { NULL, 0, 0, 0, 0, NULL, 0, 0, NULL }
};


/* ---- the directive ---- */

/* A text without variables, made once: it needs no compiling (and a
 * "$" in a proxy_pass URL would not be a variable anyway). */
static fy_http_cv_t *
fy_http_redirect_literal(fy_conf_t *cf, const u_char *a, size_t alen,
                         const char *b)
{
    fy_http_cv_t  *cv;
    size_t         blen = b ? strlen(b) : 0;
    u_char        *p;

    cv = fy_pcalloc(cf->pool, sizeof(fy_http_cv_t));
    p = fy_palloc(cf->pool, alen + blen + 1);
    if (cv == NULL || p == NULL) {
        return NULL;
    }
    memcpy(p, a, alen);
    memcpy(p + alen, b ? b : "", blen + 1);
    cv->text.data = p;
    cv->text.len = alen + blen;
    return cv;
}

/* "proxy_redirect default" where it is written: nginx resolves it then,
 * from this location's proxy_pass, so it must come after one without
 * variables (the message is nginx's). */
static const char *
fy_http_redirect_default(fy_conf_t *cf, fy_http_loc_conf_t *lcf,
                         fy_http_redirect_rule_t *rule)
{
    if (lcf->proxy_pass_cv) {
        fy_conf_error(cf, "\"proxy_redirect default\" cannot be used with "
                      "\"proxy_pass\" directive with variables");
        return FY_CONF_ERROR;
    }
    if (lcf->proxy_url.len == 0) {
        fy_conf_error(cf, "\"proxy_redirect default\" should be placed "
                      "after the \"proxy_pass\" directive");
        return FY_CONF_ERROR;
    }
    if (lcf->proxy_uri_set) {
        rule->redirect = fy_http_redirect_literal(cf, lcf->proxy_url.data,
                                                  lcf->proxy_url.len, NULL);
        rule->replacement = fy_http_redirect_literal(cf, lcf->name.data,
                                                     lcf->name.len, NULL);
    } else {
        rule->redirect = fy_http_redirect_literal(cf, lcf->proxy_url.data,
                                                  lcf->proxy_url.len, "/");
        rule->replacement = fy_http_redirect_literal(cf, (u_char *) "/", 1,
                                                     NULL);
    }
    if (rule->redirect == NULL || rule->replacement == NULL) {
        return "cannot allocate memory";
    }
    return FY_CONF_OK;
}

static const char *
fy_http_proxy_redirect_set(fy_conf_t *cf, const fy_command_t *cmd, void *conf)
{
    fy_http_loc_conf_t       *lcf = conf;
    fy_http_proxy_redirect_t *pr = lcf->proxy_redirect;
    fy_http_redirect_rule_t  *rule;
    fy_str_t                 *arg = &cf->args[1];
    const char               *file = cf->file ? cf->file->name
                                              : "command line";

    fy_unused(cmd);

    if (cf->nargs == 2 && !fy_str_eq(arg, "off")
        && !fy_str_eq(arg, "default"))
    {
        fy_conf_error(cf, "invalid parameter \"%s\"", arg->data);
        return FY_CONF_ERROR;
    }
    if (pr == NULL) {
        pr = fy_pcalloc(cf->pool, sizeof(fy_http_proxy_redirect_t));
        if (pr == NULL) {
            return "cannot allocate memory";
        }
        fy_array_init(&pr->rules, cf->pool, 2,
                      sizeof(fy_http_redirect_rule_t));
        lcf->proxy_redirect = pr;
    }

    /* nginx lets "off" win over every other proxy_redirect of its level,
     * before or after it; copied configurations do mix them (an old
     * example did), so they are accepted, and the lost rules named. */
    if (pr->off) {
        fy_log_error(FY_LOG_WARN, 0, "\"proxy_redirect\" after "
                     "\"proxy_redirect off\" at the same level is ignored "
                     "in %s:%u", file, cf->line);
        return FY_CONF_OK;
    }
    if (fy_str_eq(arg, "off") && cf->nargs == 2) {
        if (pr->rules.nelts) {
            fy_log_error(FY_LOG_WARN, 0, "\"proxy_redirect off\" cancels "
                         "the %u \"proxy_redirect\" before it at the same "
                         "level in %s:%u", pr->rules.nelts, file, cf->line);
        }
        pr->off = 1;
        pr->rules.nelts = 0;
        return FY_CONF_OK;
    }

    rule = fy_array_push(&pr->rules);
    if (rule == NULL) {
        return "cannot allocate memory";
    }
    memset(rule, 0, sizeof(*rule));

    if (cf->nargs == 2) {
        return fy_http_redirect_default(cf, lcf, rule);
    }

    if (arg->len && arg->data[0] == '~') {
        rule->regex = fy_http_regex_compile_arg(cf, arg, 0);
        if (rule->regex == NULL) {
            return FY_CONF_ERROR;
        }
    } else {
        rule->redirect = fy_http_cv_compile(cf, arg);
        if (rule->redirect == NULL) {
            return FY_CONF_ERROR;
        }
    }
    /* compiled after the regex, so that its named groups are known */
    rule->replacement = fy_http_cv_compile(cf, &cf->args[2]);
    return rule->replacement ? FY_CONF_OK : FY_CONF_ERROR;
}

void
fy_http_proxy_redirect_merge(fy_http_loc_conf_t *prev,
                             fy_http_loc_conf_t *conf)
{
    /* Rules and "off" are inherited whole by a level with none of its
     * own.  NULL at the end is the default, each location's from its
     * own proxy_pass. */
    if (conf->proxy_redirect == NULL) {
        conf->proxy_redirect = prev->proxy_redirect;
    }
}


/* ---- the response ---- */

/* value[prefix, prefix + cut) replaced by rep (rlen bytes), in r's pool. */
static int
fy_http_redirect_replace(fy_http_request_t *r, fy_str_t *value, size_t prefix,
                         size_t cut, const u_char *rep, size_t rlen)
{
    size_t   len = value->len - cut + rlen;
    u_char  *p;

    p = fy_palloc(r->pool, len);
    if (p == NULL) {
        return FY_ERROR;
    }
    memcpy(p, value->data, prefix);
    memcpy(p + prefix, rep, rlen);
    memcpy(p + prefix + rlen, value->data + prefix + cut,
           value->len - prefix - cut);
    value->data = p;
    value->len = len;
    return FY_OK;
}

/* The default for a level without proxy_redirect: proxy_pass
 * http://u/two/ in location /one/ turns "http://u/two/x" into
 * "/one/x"; proxy_pass http://u turns "http://u/x" into "/x". */
static int
fy_http_redirect_by_default(fy_http_request_t *r, fy_http_loc_conf_t *lcf,
                            fy_str_t *value, size_t prefix)
{
    fy_str_t  *url = &lcf->proxy_url;
    size_t     rest = value->len - prefix;

    if (url->len == 0 || rest < url->len
        || memcmp(value->data + prefix, url->data, url->len) != 0)
    {
        return FY_DECLINED;         /* proxy_pass with variables: none */
    }
    if (lcf->proxy_uri_set) {
        return fy_http_redirect_replace(r, value, prefix, url->len,
                                        lcf->name.data, lcf->name.len);
    }
    if (rest == url->len || value->data[prefix + url->len] != '/') {
        return FY_DECLINED;
    }
    /* URL + "/" becomes "/": only the URL goes */
    return fy_http_redirect_replace(r, value, prefix, url->len,
                                    (u_char *) "", 0);
}

/* The first rule of the list that matches value (from prefix on)
 * rewrites it: FY_OK, FY_DECLINED (none matched) or FY_ERROR. */
static int
fy_http_redirect_rules(fy_http_request_t *r, fy_http_proxy_redirect_t *pr,
                       fy_str_t *value, size_t prefix)
{
    fy_http_redirect_rule_t  *rule;
    fy_http_captures_t       *saved;
    fy_str_t                  rest;
    u_char                   *pat, *rep;
    size_t                    plen, rlen, cut;
    unsigned                  i;
    int                       rc;

    rest.data = value->data + prefix;
    rest.len = value->len - prefix;

    for (i = 0; i < pr->rules.nelts; i++) {
        rule = fy_array_elt(&pr->rules, fy_http_redirect_rule_t, i);

        saved = r->captures;
        if (rule->regex) {
            /* $1.. of the replacement are this regex's groups while it
             * is evaluated; the location's come back after, so that the
             * access log still sees those (nginx keeps the last) */
            rc = fy_http_regex_exec(r, rule->regex, &rest, &r->captures);
            if (rc != FY_OK) {
                continue;           /* an error is logged; nginx: no match */
            }
            cut = rest.len;
        } else {
            pat = fy_http_cv_eval(r, rule->redirect, &plen);
            if (pat == NULL) {
                return FY_ERROR;
            }
            if (plen > rest.len || memcmp(rest.data, pat, plen) != 0) {
                continue;
            }
            cut = plen;
        }
        /* control bytes from variables %-escaped: a replacement never
         * splits the header (fy_http_headers.c) */
        rep = fy_http_header_value(r, rule->replacement, &rlen);
        r->captures = saved;
        if (rep == NULL) {
            return FY_ERROR;
        }
        return fy_http_redirect_replace(r, value, prefix, cut, rep, rlen);
    }
    return FY_DECLINED;
}

/* Where the URL of a Refresh value starts: after the first "url=" in
 * any case ("5; url=/x"), as nginx looks for it; -1 if none. */
static ssize_t
fy_http_refresh_url(const fy_str_t *value)
{
    size_t  i;

    for (i = 0; i + 4 <= value->len; i++) {
        if (fy_mem_eq_ci(value->data + i, "url=", 4)) {
            return (ssize_t) (i + 4);
        }
    }
    return -1;
}

int
fy_http_proxy_redirect(fy_http_request_t *r, fy_array_t *headers)
{
    fy_http_loc_conf_t  *lcf = r->loc;
    fy_http_header_t    *h;
    ssize_t              prefix;
    unsigned             i, location;
    int                  rc;

    if (lcf->proxy_redirect && lcf->proxy_redirect->off) {
        return FY_OK;
    }
    for (i = 0; i < headers->nelts; i++) {
        h = fy_array_elt(headers, fy_http_header_t, i);
        location = fy_str_eq_ci(&h->name, "Location");
        if (location) {
            prefix = 0;
        } else if (fy_str_eq_ci(&h->name, "Refresh")) {
            prefix = fy_http_refresh_url(&h->value);
            if (prefix < 0) {
                continue;
            }
        } else {
            continue;
        }
        rc = lcf->proxy_redirect
             ? fy_http_redirect_rules(r, lcf->proxy_redirect, &h->value,
                                      (size_t) prefix)
             : fy_http_redirect_by_default(r, lcf, &h->value,
                                           (size_t) prefix);
        if (rc == FY_ERROR) {
            return FY_ERROR;
        }
        /* a Location a rule rewrote is ferry's, as in nginx: made
         * absolute if it came out relative (absolute_redirect); one no
         * rule matched, and Refresh, stay as the upstream sent them */
        if (rc == FY_OK && location
            && fy_http_absolute_location(r, &h->value) != FY_OK)
        {
            return FY_ERROR;
        }
    }
    return FY_OK;
}
