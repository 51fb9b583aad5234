/*
 * fy_http_limit_except.c -- limit_except: who may use the methods a
 * location does not list.
 *
 *   location /api/ {
 *       limit_except GET POST {
 *           allow 10.0.0.0/8;
 *           deny  all;
 *       }
 *       proxy_pass http://app;
 *   }
 *
 * As in nginx: a request whose method is listed (GET also lets HEAD
 * through) is checked against the location's own allow/deny; any
 * other method, one ferry does not know included, is checked against
 * the block's rules instead, and a denied one is answered 403 by the
 * access check (fy_http_access.c).  A block without rules of its own
 * takes the location's.  Nested locations inherit a limit_except as
 * they inherit allow/deny.
 *
 * The block takes allow, deny, auth_basic and auth_basic_user_file
 * (the context FY_CONF_LMT).  An unlisted method must pass the block's
 * allow/deny and auth_basic, combined as the location's "satisfy"
 * says (fy_http_access_phase); those the block leaves out are the
 * location's, as nginx's block inherits them.
 */
#include "fy_core.h"
#include "fy_http.h"

struct fy_http_limit_except_s {
    unsigned     methods;   /* FY_HTTP_LMT_BIT of each method listed */
    fy_array_t  *access;    /* the block's allow/deny rules */
    fy_http_auth_conf_t  auth;  /* the block's auth_basic, as in
                                   fy_http_loc_conf_t */
};

/* A bit per method: the parser's FY_HTTP_* for those it knows, and
 * one each above them for the WebDAV methods nginx's limit_except
 * names, which ferry proxies as FY_HTTP_UNKNOWN with their name. */
#define FY_HTTP_LMT_BIT(m)  (1u << (m))
#define FY_HTTP_LMT_DAV     16

static const struct {
    const char  *name;
    unsigned     bit;
} fy_http_lmt_methods[] = {
    { "GET",       FY_HTTP_LMT_BIT(FY_HTTP_GET)
                   | FY_HTTP_LMT_BIT(FY_HTTP_HEAD) },
    { "HEAD",      FY_HTTP_LMT_BIT(FY_HTTP_HEAD) },
    { "POST",      FY_HTTP_LMT_BIT(FY_HTTP_POST) },
    { "PUT",       FY_HTTP_LMT_BIT(FY_HTTP_PUT) },
    { "DELETE",    FY_HTTP_LMT_BIT(FY_HTTP_DELETE) },
    { "OPTIONS",   FY_HTTP_LMT_BIT(FY_HTTP_OPTIONS) },
    { "PATCH",     FY_HTTP_LMT_BIT(FY_HTTP_PATCH) },
    { "MKCOL",     FY_HTTP_LMT_BIT(FY_HTTP_LMT_DAV) },
    { "COPY",      FY_HTTP_LMT_BIT(FY_HTTP_LMT_DAV + 1) },
    { "MOVE",      FY_HTTP_LMT_BIT(FY_HTTP_LMT_DAV + 2) },
    { "PROPFIND",  FY_HTTP_LMT_BIT(FY_HTTP_LMT_DAV + 3) },
    { "PROPPATCH", FY_HTTP_LMT_BIT(FY_HTTP_LMT_DAV + 4) },
    { "LOCK",      FY_HTTP_LMT_BIT(FY_HTTP_LMT_DAV + 5) },
    { "UNLOCK",    FY_HTTP_LMT_BIT(FY_HTTP_LMT_DAV + 6) },
    { NULL, 0 }
};

static const char *fy_http_limit_except(fy_conf_t *cf,
    const fy_command_t *cmd, void *conf);

const fy_command_t  fy_http_limit_except_commands[] = {

    { "limit_except", FY_CONF_LOC, FY_CONF_BLOCK, 1, FY_CONF_MANY,
      fy_http_limit_except, FY_CONF_LOC_OFF, 0, NULL },

    { NULL, 0, 0, 0, 0, NULL, 0, 0, NULL }
};

/* limit_except METHOD ... { allow ...; deny ...; } */
static const char *
fy_http_limit_except(fy_conf_t *cf, const fy_command_t *cmd, void *conf)
{
    fy_http_loc_conf_t            *lcf = conf;
    struct fy_http_limit_except_s *lmt;
    fy_array_t                    *own;
    fy_http_auth_conf_t            own_auth;
    unsigned                       i, j, saved = cf->ctx_type;
    int                            rc;

    fy_unused(cmd);

    if (lcf->limit_except) {
        return "is duplicate";
    }
    lmt = fy_pcalloc(cf->pool, sizeof(*lmt));
    if (lmt == NULL) {
        return "cannot allocate memory";
    }
    for (i = 1; i < cf->nargs; i++) {
        for (j = 0; fy_http_lmt_methods[j].name; j++) {
            if (fy_str_eq_ci(&cf->args[i], fy_http_lmt_methods[j].name)) {
                break;
            }
        }
        if (fy_http_lmt_methods[j].name == NULL) {
            fy_conf_error(cf, "invalid method \"%s\"", cf->args[i].data);
            return FY_CONF_ERROR;
        }
        lmt->methods |= fy_http_lmt_methods[j].bit;
    }

    /* allow/deny and auth_basic inside the block set lcf's fields as
     * anywhere else: give them empty ones and take them back after */
    own = lcf->access;
    own_auth = lcf->auth;
    lcf->access = NULL;
    memset(&lcf->auth, 0, sizeof(lcf->auth));
    cf->ctx_type = FY_CONF_LMT;
    rc = fy_conf_parse(cf, NULL);
    cf->ctx_type = saved;
    lmt->access = lcf->access;
    lmt->auth = lcf->auth;
    lcf->access = own;
    lcf->auth = own_auth;

    lcf->limit_except = lmt;
    return rc == FY_OK ? FY_CONF_OK : FY_CONF_ERROR;
}

void
fy_http_limit_except_merge(fy_http_loc_conf_t *prev, fy_http_loc_conf_t *lcf)
{
    if (lcf->limit_except == NULL) {
        lcf->limit_except = prev->limit_except;
        return;
    }
    /* the location that wrote it is merged before any that inherit
     * it, and after its own auth_basic is (fy_http_merge_loc) */
    if (lcf->limit_except->access == NULL) {
        lcf->limit_except->access = lcf->access;
    }
    fy_http_auth_inherit(&lcf->auth, &lcf->limit_except->auth);
}

/* Whether lcf's limit_except lists r's method. */
static int
fy_http_limit_except_listed(fy_http_request_t *r, fy_http_loc_conf_t *lcf)
{
    unsigned  bit = 0, j;

    if (r->method != FY_HTTP_UNKNOWN) {
        bit = FY_HTTP_LMT_BIT(r->method);
    } else {
        for (j = 0; fy_http_lmt_methods[j].name; j++) {
            if (fy_str_eq(&r->method_name, fy_http_lmt_methods[j].name)) {
                bit = fy_http_lmt_methods[j].bit;
                break;
            }
        }
    }
    return (lcf->limit_except->methods & bit) != 0;
}

fy_array_t *
fy_http_limit_except_rules(fy_http_request_t *r, fy_http_loc_conf_t *lcf,
                           fy_array_t *rules)
{
    return fy_http_limit_except_listed(r, lcf) ? rules
                                               : lcf->limit_except->access;
}

void
fy_http_limit_except_auth(fy_http_request_t *r, fy_http_loc_conf_t *lcf,
                          const fy_http_auth_conf_t **auth)
{
    if (!fy_http_limit_except_listed(r, lcf)) {
        *auth = &lcf->limit_except->auth;
    }
}

/* nginx runs a method the block does not list with the block's own
 * configuration, which has no rewrite directives: the location's
 * return, rewrite, set and if are skipped for it, so "limit_except GET
 * { deny all; } return 200 ...;" still refuses a POST with 403. */
int
fy_http_limit_except_skips_rewrite(fy_http_request_t *r,
                                   fy_http_loc_conf_t *lcf)
{
    return lcf->limit_except != NULL && !fy_http_limit_except_listed(r, lcf);
}
