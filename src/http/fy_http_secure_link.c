/*
 * fy_http_secure_link.c -- nginx's secure_link module: the directives
 * "secure_link", "secure_link_md5", "secure_link_secret" and the
 * variables $secure_link and $secure_link_expires, for
 *
 *     location /s/ {
 *         secure_link $arg_md5,$arg_expires;
 *         secure_link_md5 "$secure_link_expires$uri$remote_addr secret";
 *         if ($secure_link = "")  { return 403; }
 *         if ($secure_link = "0") { return 410; }
 *     }
 *
 * As nginx does, in the mode of secure_link and secure_link_md5:
 *   - secure_link's value is "HASH" or "HASH,EXPIRES"; HASH is the MD5
 *     of secure_link_md5's value in base64url ("-_" for "+/", padding
 *     optional, decoding stops at '='), at most 24 characters;
 *     EXPIRES is a time in seconds since the Epoch, digits only;
 *   - $secure_link is empty when a part is missing or malformed,
 *     EXPIRES is not a positive number, or the hash differs; "0" when
 *     it matches but EXPIRES is in the past; "1" otherwise;
 *   - $secure_link_expires is EXPIRES as written, empty without one.
 * And in the mode of secure_link_secret WORD (location only), for the
 * links "/PREFIX/HASH/LINK": HASH is the MD5 of LINK followed by WORD
 * in 32 hex digits, LINK is the rest of the request URI as received
 * (its query too); $secure_link is LINK when the hash is right, empty
 * otherwise.
 *
 * The directives are inherited by inner levels as nginx's are: a level
 * with secure_link_secret takes neither secure_link nor secure_link_md5
 * from above, and one with neither of these takes the secret from
 * above.  Nothing here runs unless a variable of it is read.
 */
#include "fy_core.h"
#include "fy_http.h"
#include "fy_times.h"

#include <openssl/evp.h>

#define FY_SECURE_LINK_MD5_LEN  16
/* nginx's bound on the base64url hash: 22 characters and "==" */
#define FY_SECURE_LINK_B64_MAX  24

static const char *fy_http_secure_link_set(fy_conf_t *cf,
    const fy_command_t *cmd, void *conf);
static const char *fy_http_secure_link_secret(fy_conf_t *cf,
    const fy_command_t *cmd, void *conf);

const fy_command_t  fy_http_secure_link_commands[] = {

    { "secure_link", FY_CONF_HTTP | FY_CONF_SRV | FY_CONF_LOC, 0, 1, 1,
      fy_http_secure_link_set, FY_CONF_LOC_OFF,
      offsetof(fy_http_loc_conf_t, secure_link), NULL },

    { "secure_link_md5", FY_CONF_HTTP | FY_CONF_SRV | FY_CONF_LOC, 0, 1, 1,
      fy_http_secure_link_set, FY_CONF_LOC_OFF,
      offsetof(fy_http_loc_conf_t, secure_link_md5), NULL },

    { "secure_link_secret", FY_CONF_LOC, 0, 1, 1,
      fy_http_secure_link_secret, FY_CONF_LOC_OFF, 0, NULL },

    { NULL, 0, 0, 0, 0, NULL, 0, 0, NULL }
};

static const char  fy_secure_link_mixed[] =
    "\"secure_link_secret\" cannot be mixed with \"secure_link\" and "
    "\"secure_link_md5\"";

/* secure_link expression; secure_link_md5 expression; */
static const char *
fy_http_secure_link_set(fy_conf_t *cf, const fy_command_t *cmd, void *conf)
{
    fy_http_loc_conf_t   *lcf = conf;
    fy_http_cv_t        **field;

    field = (fy_http_cv_t **) ((char *) conf + cmd->offset);
    if (*field != NULL) {
        return "is duplicate";
    }
    if (lcf->secure_link_secret.data != NULL) {
        return fy_secure_link_mixed;
    }
    *field = fy_http_cv_compile(cf, &cf->args[1]);
    return *field ? FY_CONF_OK : FY_CONF_ERROR;
}

/* secure_link_secret word; */
static const char *
fy_http_secure_link_secret(fy_conf_t *cf, const fy_command_t *cmd, void *conf)
{
    fy_http_loc_conf_t  *lcf = conf;

    fy_unused(cmd);
    if (lcf->secure_link_secret.data != NULL) {
        return "is duplicate";
    }
    if (lcf->secure_link != NULL || lcf->secure_link_md5 != NULL) {
        return fy_secure_link_mixed;
    }
    lcf->secure_link_secret = cf->args[1];
    return FY_CONF_OK;
}

void
fy_http_secure_link_merge(fy_http_loc_conf_t *prev, fy_http_loc_conf_t *conf)
{
    if (conf->secure_link_secret.data != NULL) {
        return;                 /* nothing of the other mode from above */
    }
    if (conf->secure_link == NULL) {
        conf->secure_link = prev->secure_link;
    }
    if (conf->secure_link_md5 == NULL) {
        conf->secure_link_md5 = prev->secure_link_md5;
    }
    if (conf->secure_link == NULL && conf->secure_link_md5 == NULL) {
        conf->secure_link_secret = prev->secure_link_secret;
    }
}


/* ---- per request ---- */

static const fy_http_loc_conf_t *
fy_http_secure_link_conf(fy_http_request_t *r)
{
    return r->loc ? r->loc : r->srv ? r->srv->loc : NULL;
}

static int
fy_http_secure_link_md5(const u_char *p1, size_t l1, const u_char *p2,
                        size_t l2, u_char *out)
{
    EVP_MD_CTX  *ctx;
    int          ok;

    ctx = EVP_MD_CTX_new();
    if (ctx == NULL) {
        return 0;
    }
    ok = EVP_DigestInit_ex(ctx, EVP_md5(), NULL)
         && EVP_DigestUpdate(ctx, p1, l1)
         && (l2 == 0 || EVP_DigestUpdate(ctx, p2, l2))
         && EVP_DigestFinal_ex(ctx, out, NULL);
    EVP_MD_CTX_free(ctx);
    return ok;
}

/* nginx's ngx_atotm: digits only, not empty, no overflow; else -1. */
static time_t
fy_http_secure_link_time(const u_char *p, size_t len)
{
    time_t  t = 0;
    size_t  i;

    if (len == 0) {
        return -1;
    }
    for (i = 0; i < len; i++) {
        if (p[i] < '0' || p[i] > '9') {
            return -1;
        }
        if (t > (time_t) ((INT64_MAX - (p[i] - '0')) / 10)) {
            return -1;
        }
        t = t * 10 + (p[i] - '0');
    }
    return t;
}

/*
 * Split secure_link's value for r into the hash text and the expiry
 * text (NULL data: no ','). 0 when the location has no secure_link or
 * on allocation failure.
 */
static int
fy_http_secure_link_parts(fy_http_request_t *r, const fy_http_loc_conf_t *lcf,
                          fy_str_t *hash, fy_str_t *expires)
{
    u_char  *val, *comma;
    size_t   len;

    if (lcf == NULL || lcf->secure_link == NULL) {
        return 0;
    }
    val = fy_http_cv_eval(r, lcf->secure_link, &len);
    if (val == NULL) {
        return 0;
    }
    comma = memchr(val, ',', len);
    hash->data = val;
    hash->len = comma ? (size_t) (comma - val) : len;
    expires->data = comma ? comma + 1 : NULL;
    expires->len = comma ? (size_t) (val + len - comma - 1) : 0;
    return 1;
}

/* The mode of secure_link and secure_link_md5: "", "0" or "1". */
static const char *
fy_http_secure_link_check(fy_http_request_t *r, const fy_http_loc_conf_t *lcf)
{
    fy_str_t  hash, exp;
    u_char    got[FY_SECURE_LINK_B64_MAX], want[FY_SECURE_LINK_MD5_LEN];
    u_char   *val;
    size_t    len;
    ssize_t   n;
    time_t    expires = 0;

    if (lcf->secure_link_md5 == NULL
        || !fy_http_secure_link_parts(r, lcf, &hash, &exp))
    {
        return "";
    }
    if (exp.data) {
        expires = fy_http_secure_link_time(exp.data, exp.len);
        if (expires <= 0) {
            return "";
        }
    }
    if (hash.len > FY_SECURE_LINK_B64_MAX) {
        return "";
    }
    n = fy_http_base64url_decode(hash.data, hash.len, got);
    if (n != FY_SECURE_LINK_MD5_LEN) {
        return "";
    }

    val = fy_http_cv_eval(r, lcf->secure_link_md5, &len);
    if (val == NULL || !fy_http_secure_link_md5(val, len, NULL, 0, want)
        || memcmp(got, want, FY_SECURE_LINK_MD5_LEN) != 0)
    {
        return "";
    }
    return expires && expires < (time_t) (fy_wall_msec / 1000) ? "0" : "1";
}

/* A hex digit's value, either case (nginx's ngx_hextoi), or -1. */
static int
fy_http_secure_link_hex(u_char c)
{
    if (c >= '0' && c <= '9') {
        return c - '0';
    }
    c |= 0x20;
    return c >= 'a' && c <= 'f' ? c - 'a' + 10 : -1;
}

/* The mode of secure_link_secret: LINK of "/PREFIX/HASH/LINK" or "". */
static fy_str_t
fy_http_secure_link_old(fy_http_request_t *r, const fy_http_loc_conf_t *lcf)
{
    fy_str_t           link = { 0, NULL };
    const u_char      *p, *last, *start, *end;
    u_char             md5[FY_SECURE_LINK_MD5_LEN];
    unsigned           i;
    int                hi, lo;

    if (r->uri.len < 1) {
        return link;
    }
    last = r->uri.data + r->uri.len;
    p = memchr(r->uri.data + 1, '/', r->uri.len - 1);   /* after PREFIX */
    if (p == NULL) {
        return link;
    }
    start = ++p;
    end = memchr(p, '/', (size_t) (last - p));          /* after HASH */
    if (end == NULL || end - start != 32 || end + 1 == last) {
        return link;
    }
    p = end + 1;
    if (!fy_http_secure_link_md5(p, (size_t) (last - p),
                                 lcf->secure_link_secret.data,
                                 lcf->secure_link_secret.len, md5))
    {
        return link;
    }
    for (i = 0; i < FY_SECURE_LINK_MD5_LEN; i++) {
        hi = fy_http_secure_link_hex(start[2 * i]);
        lo = fy_http_secure_link_hex(start[2 * i + 1]);
        if (hi < 0 || lo < 0 || hi * 16 + lo != md5[i]) {
            return link;
        }
    }
    link.data = (u_char *) p;
    link.len = (size_t) (last - p);
    return link;
}

size_t
fy_http_secure_link_var(fy_http_request_t *r, u_char *buf, size_t size)
{
    const fy_http_loc_conf_t  *lcf = fy_http_secure_link_conf(r);
    const char                *v;
    fy_str_t                   link;

    if (lcf == NULL) {
        return 0;
    }
    if (lcf->secure_link_secret.data != NULL) {
        link = fy_http_secure_link_old(r, lcf);
        if (buf && link.len) {
            memcpy(buf, link.data, fy_min(size, link.len));
        }
        return link.len;
    }
    v = fy_http_secure_link_check(r, lcf);
    if (buf && *v && size) {
        buf[0] = (u_char) *v;
    }
    return strlen(v);
}

size_t
fy_http_secure_link_expires_var(fy_http_request_t *r, u_char *buf,
                                size_t size)
{
    const fy_http_loc_conf_t  *lcf = fy_http_secure_link_conf(r);
    fy_str_t                   hash, exp;

    if (lcf == NULL || lcf->secure_link_secret.data != NULL
        || !fy_http_secure_link_parts(r, lcf, &hash, &exp)
        || exp.data == NULL || fy_http_secure_link_time(exp.data, exp.len) <= 0)
    {
        return 0;
    }
    if (buf && exp.len) {
        memcpy(buf, exp.data, fy_min(size, exp.len));
    }
    return exp.len;
}
