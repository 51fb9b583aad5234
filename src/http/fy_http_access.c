/*
 * fy_http_access.c -- "allow" and "deny": who may use a location.
 *
 *     allow 127.0.0.1;
 *     allow 10.0.0.0/8;
 *     allow ::1;
 *     deny  all;
 *
 * As in nginx: the rules are checked in the order written and the
 * first one that matches the client's address decides; when none
 * matches, the request is allowed.  A level with no rules of its own
 * takes all of its parent's (http -> server -> location); one rule
 * in a location replaces the whole inherited list.  A denied request
 * is answered 403.  The check runs after "return", as nginx's access
 * phase comes after its rewrite phase, and before auth_basic; "satisfy"
 * combines the two (fy_http_access_phase, fy_http_auth_basic.c).
 */
#include "fy_core.h"
#include "fy_http.h"

#include <arpa/inet.h>
#include <netinet/in.h>

typedef struct {
    fy_http_cidr_t  cidr;       /* family 0: "all" */
    unsigned        deny:1;
} fy_http_access_rule_t;

static const char *fy_http_access_rule(fy_conf_t *cf,
    const fy_command_t *cmd, void *conf);

/* also inside limit_except (fy_http_limit_except.c) */
#define FY_HTTP_ACCESS_CTX \
    (FY_CONF_HTTP | FY_CONF_SRV | FY_CONF_LOC | FY_CONF_LMT)

const fy_command_t  fy_http_access_commands[] = {

    { "allow", FY_HTTP_ACCESS_CTX, 0, 1, 1,
      fy_http_access_rule, FY_CONF_LOC_OFF, 0, NULL },

    { "deny", FY_HTTP_ACCESS_CTX, 0, 1, 1,
      fy_http_access_rule, FY_CONF_LOC_OFF, 0, NULL },

    { NULL, 0, 0, 0, 0, NULL, 0, 0, NULL }
};


/*
 * Accepts an address or address/prefix, IPv4 or IPv6, in arg (shared
 * with set_real_ip_from, fy_http_realip.c).  Fills *cidr.  Host bits
 * set below the prefix are cleared with a warning, as nginx does,
 * since they can never match anything else.  FY_OK, or FY_ERROR with
 * the error logged with the file and line.
 */
int
fy_http_cidr_parse(fy_conf_t *cf, const fy_str_t *arg, fy_http_cidr_t *cidr)
{
    char      text[64], *slash;
    int64_t   bits, max;
    unsigned  i, changed = 0;

    memset(cidr, 0, sizeof(*cidr));
    if (arg->len >= sizeof(text)) {
        goto invalid;
    }
    memcpy(text, arg->data, arg->len);
    text[arg->len] = '\0';

    slash = strchr(text, '/');
    if (slash) {
        *slash++ = '\0';
    }

    if (inet_pton(AF_INET, text, cidr->addr) == 1) {
        cidr->family = AF_INET;
        max = 32;
    } else if (inet_pton(AF_INET6, text, cidr->addr) == 1) {
        cidr->family = AF_INET6;
        max = 128;
    } else {
        goto invalid;
    }

    bits = max;
    if (slash) {
        bits = fy_atoi((u_char *) slash, strlen(slash));
        if (bits < 0 || bits > max) {
            goto invalid;
        }
    }

    for (i = 0; i < max / 8; i++) {
        if (bits >= 8) {
            cidr->mask[i] = 0xff;
            bits -= 8;
        } else {
            cidr->mask[i] = (uint8_t) (0xff00 >> bits);
            bits = 0;
        }
        if (cidr->addr[i] & ~cidr->mask[i]) {
            changed = 1;
            cidr->addr[i] &= cidr->mask[i];
        }
    }

    if (changed) {
        fy_log_error(FY_LOG_WARN, 0, "low address bits of %.*s are "
                     "meaningless in %s:%u", (int) arg->len, arg->data,
                     cf->file ? cf->file->name : "command line", cf->line);
    }
    return FY_OK;

invalid:

    fy_conf_error(cf, "invalid parameter \"%.*s\"", (int) arg->len,
                  arg->data);
    return FY_ERROR;
}


/* The address bytes of sa (4 or 16 in *n; an IPv4 client on a
 * dual-stack socket as IPv4), and its family in *family; NULL and 0
 * for a unix-domain client, which has no address. */
const uint8_t *
fy_http_cidr_addr(const struct sockaddr_in6 *sa, int *family, unsigned *n)
{
    const uint8_t  *addr;

    *family = sa->sin6_family;
    if (*family == AF_INET) {
        addr = (const uint8_t *)
               &((const struct sockaddr_in *) (const void *) sa)->sin_addr;
    } else if (*family == AF_INET6) {
        addr = sa->sin6_addr.s6_addr;
        if (IN6_IS_ADDR_V4MAPPED(&sa->sin6_addr)) {
            *family = AF_INET;
            addr += 12;
        }
    } else {
        *n = 0;
        return NULL;
    }
    *n = *family == AF_INET ? 4 : 16;
    return addr;
}


/* 1 if the address (as fy_http_cidr_addr gives it) is in cidr. */
int
fy_http_cidr_match(const fy_http_cidr_t *cidr, int family,
                   const uint8_t *addr, unsigned n)
{
    unsigned  j;

    if (cidr->family != family || addr == NULL) {
        return 0;
    }
    for (j = 0; j < n; j++) {
        if ((addr[j] & cidr->mask[j]) != cidr->addr[j]) {
            return 0;
        }
    }
    return 1;
}


/*
 * Accepts "all" or what fy_http_cidr_parse does, as cf->args[1].
 * Appends a rule to the level's list (made on first use).
 */
static const char *
fy_http_access_rule(fy_conf_t *cf, const fy_command_t *cmd, void *conf)
{
    fy_http_loc_conf_t     *lcf = conf;
    fy_http_access_rule_t  *rule;
    fy_str_t               *arg = &cf->args[1];

    if (lcf->access == NULL) {
        lcf->access = fy_pcalloc(cf->pool, sizeof(fy_array_t));
        if (lcf->access == NULL) {
            return "cannot allocate memory";
        }
        fy_array_init(lcf->access, cf->pool, 4,
                      sizeof(fy_http_access_rule_t));
    }
    rule = fy_array_push(lcf->access);     /* zeroed: "all" */
    if (rule == NULL) {
        return "cannot allocate memory";
    }
    rule->deny = cmd->name[0] == 'd';

    if (fy_str_eq(arg, "all")) {
        return FY_CONF_OK;
    }
    return fy_http_cidr_parse(cf, arg, &rule->cidr) == FY_OK
           ? FY_CONF_OK : FY_CONF_ERROR;
}


/*
 * Accepts a request whose location is chosen.  Returns FY_OK when the
 * first matching rule is "allow", FY_DECLINED when no rule matches (or
 * there are none: the request may go on), 403 when it is "deny"
 * (logged as nginx does, at [error], when log is 1).
 */
int
fy_http_access_check(fy_http_request_t *r, int log)
{
    fy_http_loc_conf_t     *lcf = r->loc ? r->loc : r->srv->loc;
    fy_array_t             *rules = lcf->access;
    fy_http_access_rule_t  *rule;
    const uint8_t          *addr;
    unsigned                i, n;
    int                     family;

    /* a method limit_except does not list: its block's rules instead */
    if (lcf->limit_except) {
        rules = fy_http_limit_except_rules(r, lcf, rules);
    }
    if (rules == NULL) {
        return FY_DECLINED;
    }

    /* a unix-domain client has no address: only "all" rules apply */
    addr = fy_http_cidr_addr(&r->hc->c->addr, &family, &n);

    for (i = 0; i < rules->nelts; i++) {
        rule = fy_array_elt(rules, fy_http_access_rule_t, i);

        if (rule->cidr.family != 0
            && !fy_http_cidr_match(&rule->cidr, family, addr, n))
        {
            continue;
        }

        if (rule->deny) {
            if (log) {
                fy_log_error(FY_LOG_ERR, 0, "access forbidden by rule, "
                             "client: %s, request: \"%.*s\"",
                             r->hc->addr_text, (int) r->request_line.len,
                             (char *) r->request_line.data);
            }
            return 403;
        }
        return FY_OK;
    }
    return FY_DECLINED;
}
