/*
 * fy_http_headers.c -- the directives that shape headers: what goes
 * up to the upstream (proxy_set_header, proxy_pass_request_headers,
 * proxy_pass_request_body, proxy_set_body, proxy_method,
 * proxy_http_version), what
 * comes back to the client (proxy_hide_header, proxy_pass_header,
 * add_header, server_tokens), and proxy_intercept_errors; plus the
 * helpers every response writer shares (the Server line, the
 * add_header lines, header values made safe).
 *
 * Header values with variables are the classic header-splitting hole:
 * $uri and regex captures are %-decoded, so "/a%0d%0aSet-Cookie:..."
 * puts a CR LF into them, and $remote_user is base64-decoded.  Every
 * value ferry writes from a variable goes through fy_http_header_value,
 * which %-escapes control bytes: the header stays one line, keeps what
 * it says readable, and a Location stays a valid URL meaning what the
 * client's escaped request meant.
 */
#include "fy_core.h"
#include "fy_http.h"

static const char *fy_http_set_header(fy_conf_t *cf, const fy_command_t *cmd,
    void *conf);
static int fy_http_cv_reads_sent(const fy_http_cv_t *cv);
static int fy_http_add_headers_lines(fy_http_request_t *r, int status,
    fy_str_t *out, int adds);
static const char *fy_http_proxy_method(fy_conf_t *cf,
    const fy_command_t *cmd, void *conf);
static const char *fy_http_proxy_http_version(fy_conf_t *cf,
    const fy_command_t *cmd, void *conf);
static const char *fy_http_proxy_set_body(fy_conf_t *cf,
    const fy_command_t *cmd, void *conf);

#define FY_HTTP_ANY  (FY_CONF_HTTP | FY_CONF_SRV | FY_CONF_LOC)

const fy_command_t  fy_http_headers_commands[] = {

    { "proxy_set_header", FY_HTTP_ANY, 0, 2, 2, fy_http_set_header,
      FY_CONF_LOC_OFF, offsetof(fy_http_loc_conf_t, proxy_set_headers),
      NULL },

    { "add_header", FY_HTTP_ANY | FY_CONF_LIF, 0, 2, 3, fy_http_set_header,
      FY_CONF_LOC_OFF, offsetof(fy_http_loc_conf_t, add_headers), NULL },

    /* sent by the response writers (fy_http_trailers.c) */
    { "add_trailer", FY_HTTP_ANY | FY_CONF_LIF, 0, 2, 3, fy_http_set_header,
      FY_CONF_LOC_OFF, offsetof(fy_http_loc_conf_t, add_trailers), NULL },

    { "proxy_hide_header", FY_HTTP_ANY, 0, 1, 1, fy_http_header_list,
      FY_CONF_LOC_OFF, offsetof(fy_http_loc_conf_t, hide_headers), NULL },

    { "proxy_pass_header", FY_HTTP_ANY, 0, 1, 1, fy_http_header_list,
      FY_CONF_LOC_OFF, offsetof(fy_http_loc_conf_t, pass_headers), NULL },

    { "proxy_method", FY_HTTP_ANY, 0, 1, 1, fy_http_proxy_method,
      FY_CONF_LOC_OFF, 0, NULL },

    { "proxy_http_version", FY_HTTP_ANY, 0, 1, 1, fy_http_proxy_http_version,
      FY_CONF_LOC_OFF, 0, NULL },

    { "proxy_pass_request_headers", FY_HTTP_ANY, 0, 1, 1, fy_conf_set_flag,
      FY_CONF_LOC_OFF, offsetof(fy_http_loc_conf_t, pass_request_headers),
      NULL },

    { "proxy_pass_request_body", FY_HTTP_ANY, 0, 1, 1, fy_conf_set_flag,
      FY_CONF_LOC_OFF, offsetof(fy_http_loc_conf_t, pass_request_body),
      NULL },

    /* the body sent up instead of the client's (fy_proxy_create_request) */
    { "proxy_set_body", FY_HTTP_ANY, 0, 1, 1, fy_http_proxy_set_body,
      FY_CONF_LOC_OFF, 0, NULL },

    { "proxy_intercept_errors", FY_HTTP_ANY, 0, 1, 1, fy_conf_set_flag,
      FY_CONF_LOC_OFF, offsetof(fy_http_loc_conf_t, intercept_errors),
      NULL },

    { "server_tokens", FY_HTTP_ANY, 0, 1, 1, fy_conf_set_flag,
      FY_CONF_LOC_OFF, offsetof(fy_http_loc_conf_t, server_tokens), NULL },

    { NULL, 0, 0, 0, 0, NULL, 0, 0, NULL }
};

fy_str_t *
fy_http_header_find(const fy_array_t *headers, const char *name)
{
    fy_http_header_t  *h;
    unsigned           i;

    for (i = 0; headers && i < headers->nelts; i++) {
        h = (fy_http_header_t *) headers->elts + i;
        if (fy_str_eq_ci(&h->name, name)) {
            return &h->value;
        }
    }
    return NULL;
}

int
fy_http_is_token(const u_char *name, size_t len)
{
    size_t  i;

    if (len == 0) {
        return 0;
    }
    for (i = 0; i < len; i++) {
        u_char c = name[i];

        if ((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z')
            || (c >= '0' && c <= '9'))
        {
            continue;
        }
        if (c == 0 || strchr("!#$%&'*+-.^_`|~", c) == NULL) {
            return 0;
        }
    }
    return 1;
}

/* A control byte that may not appear in a field value (RFC 9110 5.5:
 * HTAB is the only one allowed). */
static int
fy_http_is_ctl(u_char c)
{
    return (c < 0x20 && c != '\t') || c == 0x7f;
}

/* proxy_set_header NAME VALUE; add_header NAME VALUE [always];
 * add_trailer NAME VALUE [always]. */
static const char *
fy_http_set_header(fy_conf_t *cf, const fy_command_t *cmd, void *conf)
{
    fy_array_t             **list = (fy_array_t **) ((char *) conf
                                                     + cmd->offset);
    fy_http_header_conf_t   *h;
    fy_str_t                *name = &cf->args[1], *value = &cf->args[2];
    size_t                   i;

    if (!fy_http_is_token(name->data, name->len)) {
        fy_conf_error(cf, "invalid header name \"%s\"", name->data);
        return FY_CONF_ERROR;
    }
    for (i = 0; i < value->len; i++) {
        if (fy_http_is_ctl(value->data[i])) {
            fy_conf_error(cf, "a control character in the value of header "
                          "\"%s\"", name->data);
            return FY_CONF_ERROR;
        }
    }
    if (cf->nargs == 4 && !fy_str_eq(&cf->args[3], "always")) {
        fy_conf_error(cf, "invalid parameter \"%s\"", cf->args[3].data);
        return FY_CONF_ERROR;
    }
    if (cmd->offset == offsetof(fy_http_loc_conf_t, proxy_set_headers)
        && (fy_str_eq_ci(name, "Content-Length")
            || fy_str_eq_ci(name, "Transfer-Encoding"))
        && value->len)
    {
        /* The framing of what goes up is ferry's business: a wrong
         * length there would let one request hide another. */
        fy_conf_error(cf, "\"%s\" is set by ferry from the request body "
                      "and cannot be given a value", name->data);
        return FY_CONF_ERROR;
    }

    if (*list == NULL) {
        *list = fy_pcalloc(cf->pool, sizeof(fy_array_t));
        if (*list == NULL) {
            return "cannot allocate memory";
        }
        fy_array_init(*list, cf->pool, 4, sizeof(fy_http_header_conf_t));
    }
    h = fy_array_push(*list);
    if (h == NULL) {
        return "cannot allocate memory";
    }
    memset(h, 0, sizeof(*h));
    h->name = *name;
    h->always = cf->nargs == 4;
    h->value = fy_http_cv_compile(cf, value);
    if (h->value == NULL) {
        return FY_CONF_ERROR;
    }
    if (cmd->offset == offsetof(fy_http_loc_conf_t, add_headers)
        && fy_http_cv_reads_sent(h->value))
    {
        /* the writers show it the header made so far */
        ((fy_http_loc_conf_t *) conf)->add_headers_sent = 1;
    }
    return FY_CONF_OK;
}

/* Does cv read a $sent_http_NAME? */
static int
fy_http_cv_reads_sent(const fy_http_cv_t *cv)
{
    unsigned  i;

    for (i = 0; i < cv->nparts; i++) {
        if (cv->parts[i].pvar
            && cv->parts[i].pvar->get == fy_http_var_response_pvariables[1].get)
        {
            return 1;
        }
    }
    return 0;
}

/* proxy_hide_header NAME; proxy_pass_header NAME (and fastcgi_*): the
 * list at cmd->offset. */
const char *
fy_http_header_list(fy_conf_t *cf, const fy_command_t *cmd, void *conf)
{
    fy_array_t  **list = (fy_array_t **) ((char *) conf + cmd->offset);
    fy_str_t     *name;

    if (!fy_http_is_token(cf->args[1].data, cf->args[1].len)) {
        fy_conf_error(cf, "invalid header name \"%s\"", cf->args[1].data);
        return FY_CONF_ERROR;
    }
    if (*list == NULL) {
        *list = fy_pcalloc(cf->pool, sizeof(fy_array_t));
        if (*list == NULL) {
            return "cannot allocate memory";
        }
        fy_array_init(*list, cf->pool, 4, sizeof(fy_str_t));
    }
    name = fy_array_push(*list);
    if (name == NULL) {
        return "cannot allocate memory";
    }
    *name = cf->args[1];
    return FY_CONF_OK;
}

static const char *
fy_http_proxy_method(fy_conf_t *cf, const fy_command_t *cmd, void *conf)
{
    fy_http_loc_conf_t  *lcf = conf;

    fy_unused(cmd);

    if (lcf->proxy_method) {
        return "is duplicate";
    }
    lcf->proxy_method = fy_http_cv_compile(cf, &cf->args[1]);
    if (lcf->proxy_method == NULL) {
        return FY_CONF_ERROR;
    }
    if (!lcf->proxy_method->has_vars
        && !fy_http_is_token(cf->args[1].data, cf->args[1].len))
    {
        fy_conf_error(cf, "invalid method \"%s\"", cf->args[1].data);
        return FY_CONF_ERROR;
    }
    return FY_CONF_OK;
}

static const char *
fy_http_proxy_http_version(fy_conf_t *cf, const fy_command_t *cmd,
                           void *conf)
{
    fy_http_loc_conf_t  *lcf = conf;

    fy_unused(cmd);

    if (lcf->proxy_http_version) {
        return "is duplicate";
    }
    if (fy_str_eq(&cf->args[1], "1.0")) {
        lcf->proxy_http_version = 1000;
    } else if (fy_str_eq(&cf->args[1], "1.1")) {
        lcf->proxy_http_version = 1001;
    } else {
        fy_conf_error(cf, "invalid value \"%s\", it must be \"1.0\" or "
                      "\"1.1\"", cf->args[1].data);
        return FY_CONF_ERROR;
    }
    return FY_CONF_OK;
}

static const char *
fy_http_proxy_set_body(fy_conf_t *cf, const fy_command_t *cmd, void *conf)
{
    fy_http_loc_conf_t  *lcf = conf;

    fy_unused(cmd);

    if (lcf->proxy_set_body) {
        return "is duplicate";
    }
    lcf->proxy_set_body = fy_http_cv_compile(cf, &cf->args[1]);
    return lcf->proxy_set_body ? FY_CONF_OK : FY_CONF_ERROR;
}

/* Called from fy_http_merge_loc for every level, parent first. */
void
fy_http_headers_merge(fy_http_loc_conf_t *prev, fy_http_loc_conf_t *conf)
{
    if (conf->proxy_set_headers == NULL) {
        conf->proxy_set_headers = prev->proxy_set_headers;
    }
    if (conf->add_headers == NULL) {
        conf->add_headers = prev->add_headers;
        conf->add_headers_sent = prev->add_headers_sent;
    }
    if (conf->add_trailers == NULL) {
        conf->add_trailers = prev->add_trailers;
    }
    if (conf->hide_headers == NULL) {
        conf->hide_headers = prev->hide_headers;
    }
    if (conf->pass_headers == NULL) {
        conf->pass_headers = prev->pass_headers;
    }
    if (conf->error_pages == NULL) {
        conf->error_pages = prev->error_pages;
    }
    if (conf->proxy_method == NULL) {
        conf->proxy_method = prev->proxy_method;
    }
    if (conf->proxy_set_body == NULL) {
        conf->proxy_set_body = prev->proxy_set_body;
    }
    if (conf->proxy_http_version == 0) {
        /* 0 stays 0 when no level set it: the upstream decides */
        conf->proxy_http_version = prev->proxy_http_version;
    }
    fy_conf_merge(conf->pass_request_headers, prev->pass_request_headers,
                  FY_CONF_UNSET_INT, 1);
    fy_conf_merge(conf->pass_request_body, prev->pass_request_body,
                  FY_CONF_UNSET_INT, 1);
    fy_conf_merge(conf->server_tokens, prev->server_tokens,
                  FY_CONF_UNSET_INT, 1);
    fy_conf_merge(conf->intercept_errors, prev->intercept_errors,
                  FY_CONF_UNSET_INT, 0);
}

u_char *
fy_http_escape_bytes(fy_pool_t *pool, u_char *s, size_t *len,
                     int (*escape)(u_char c))
{
    static const char  hex[] = "0123456789ABCDEF";
    u_char            *out, *q;
    size_t             i, n = 0;

    for (i = 0; i < *len; i++) {
        n += escape(s[i]);
    }
    if (n == 0) {
        return s;
    }
    out = fy_palloc(pool, *len + 2 * n);
    if (out == NULL) {
        return NULL;
    }
    for (q = out, i = 0; i < *len; i++) {
        if (escape(s[i])) {
            *q++ = '%';
            *q++ = (u_char) hex[s[i] >> 4];
            *q++ = (u_char) hex[s[i] & 0xf];
        } else {
            *q++ = s[i];
        }
    }
    *len = (size_t) (q - out);
    return out;
}

u_char *
fy_http_header_escape(fy_pool_t *pool, u_char *s, size_t *len)
{
    const uint64_t  ones = 0x0101010101010101ULL;
    const uint64_t  high = 0x8080808080808080ULL;
    uint64_t        x, y;
    size_t          i = 0;

    /* Nearly every value has no control byte: find that out eight bytes
     * a step (a call of fy_http_is_ctl per byte cost ten times as
     * much).  Any byte below 0x20 (HTAB too, which the general way
     * keeps) or 0x7f sends the value the general way: (x - 0x20 each)
     * & ~x & 0x80 each is not 0 exactly when a byte of x is below
     * 0x20, and the same of x ^ 0x7f each with 0x01 when one is 0x7f. */
    for ( ; i + 8 <= *len; i += 8) {
        memcpy(&x, s + i, 8);
        y = x ^ (0x7f * ones);
        if (((x - 0x20 * ones) & ~x & high) || ((y - ones) & ~y & high)) {
            return fy_http_escape_bytes(pool, s, len, fy_http_is_ctl);
        }
    }
    for ( ; i < *len; i++) {
        if (s[i] < 0x20 || s[i] == 0x7f) {
            return fy_http_escape_bytes(pool, s, len, fy_http_is_ctl);
        }
    }
    return s;
}

u_char *
fy_http_header_value(fy_http_request_t *r, const fy_http_cv_t *cv,
                     size_t *len)
{
    u_char  *v = fy_http_cv_eval(r, cv, len);

    if (v == NULL || !cv->has_vars) {
        return v;           /* literals were checked when read */
    }
    return fy_http_header_escape(r->pool, v, len);
}

const char *
fy_http_server_line(fy_http_request_t *r, size_t *len)
{
    static const char  full[] = "Server: ferry/" FY_VERSION "\r\n";
    static const char  bare[] = "Server: ferry\r\n";

    if (fy_http_req_loc(r)->server_tokens == 0) {
        *len = sizeof(bare) - 1;
        return bare;
    }
    *len = sizeof(full) - 1;
    return full;
}

const char *
fy_http_signature(fy_http_request_t *r)
{
    return fy_http_req_loc(r)->server_tokens == 0 ? "ferry"
                                                  : "ferry/" FY_VERSION;
}

/* The statuses add_header (without "always") and expires apply to, as
 * nginx. */
int
fy_http_add_header_status(int status)
{
    switch (status) {
    case 200: case 201: case 204: case 206:
    case 301: case 302: case 303: case 304: case 307: case 308:
        return 1;
    default:
        return 0;
    }
}

/*
 * The lines nginx's header filters add to every response ferry sends
 * (ferry's own, static files, proxied): the fields an
 * X-Accel-Redirect kept (not on an error), auth_basic's
 * WWW-Authenticate on its 401, expires's Expires and Cache-Control,
 * then the add_header lines, then userid's cookie.  out is empty when
 * there are none, at the cost of six tests when none of them is
 * configured.
 */
int
fy_http_add_headers(fy_http_request_t *r, int status, fy_str_t *out)
{
    return fy_http_add_headers_lines(r, status, out, 1);
}

/* The same, without the add_header lines unless adds. */
static int
fy_http_add_headers_lines(fy_http_request_t *r, int status, fy_str_t *out,
                          int adds)
{
    fy_http_loc_conf_t     *lcf = fy_http_req_loc(r);
    fy_array_t             *list = adds ? lcf->add_headers : NULL;
    fy_http_header_conf_t  *h;
    fy_str_t               *vals = NULL;
    fy_str_t                accel = { 0, NULL }, uid = { 0, NULL };
    size_t                  size = 0, auth = 0;
    unsigned                i, nelts;
    u_char                 *q;
    int                     plain, expires;

    out->data = NULL;
    out->len = 0;
    if (list == NULL && lcf->expires == FY_HTTP_EXPIRES_OFF
        && r->auth_challenge == NULL && r->accel == NULL
        && r->auth_lines.len == 0 && lcf->userid.enable < FY_HTTP_USERID_V1)
    {
        return FY_OK;
    }
    /* userid's Set-Cookie and P3P, last, after the add_header lines as
     * nginx's filter adds them (fy_http_add_headers_into adds them
     * itself) */
    if (lcf->userid.enable >= FY_HTTP_USERID_V1 && adds
        && fy_http_userid_lines(r, &uid) != FY_OK)
    {
        return FY_ERROR;
    }
    if (r->accel && status < 400) {
        /* an X-Accel-Redirect's kept fields (fy_http_proxy_accel.c):
         * not on an error, which nginx answers with a clean header */
        accel = r->accel->lines;
    }
    nelts = list ? list->nelts : 0;
    plain = fy_http_add_header_status(status);
    expires = plain && lcf->expires != FY_HTTP_EXPIRES_OFF;
    if (r->auth_challenge || r->auth_lines.len) {
        auth = fy_http_auth_basic_header(r, status, NULL);
    }
    if (nelts == 0 && !expires && auth == 0 && uid.len == 0) {
        *out = accel;
        return FY_OK;
    }
    if (nelts) {
        vals = fy_palloc(r->pool, nelts * sizeof(fy_str_t));
        if (vals == NULL) {
            return FY_ERROR;
        }
    }
    for (i = 0; i < nelts; i++) {
        h = fy_array_elt(list, fy_http_header_conf_t, i);
        vals[i].len = 0;
        if (!plain && !h->always) {
            continue;
        }
        vals[i].data = fy_http_header_value(r, h->value, &vals[i].len);
        if (vals[i].data == NULL) {
            return FY_ERROR;
        }
        if (vals[i].len) {
            /* an empty value adds nothing (nginx) */
            size += h->name.len + 2 + vals[i].len + 2;
        }
    }
    size += auth + (expires ? FY_HTTP_EXPIRES_LEN : 0) + uid.len;
    if (size == 0) {
        *out = accel;
        return FY_OK;
    }
    q = out->data = fy_palloc(r->pool, size + accel.len);
    if (q == NULL) {
        return FY_ERROR;
    }
    if (accel.len) {
        memcpy(q, accel.data, accel.len);
        q += accel.len;
    }
    if (auth) {
        q += fy_http_auth_basic_header(r, status, q);
    }
    if (expires) {
        q += fy_http_expires_lines(r, q);
    }
    for (i = 0; i < nelts; i++) {
        h = fy_array_elt(list, fy_http_header_conf_t, i);
        if (vals[i].len == 0) {
            continue;
        }
        memcpy(q, h->name.data, h->name.len);
        q += h->name.len;
        *q++ = ':';
        *q++ = ' ';
        memcpy(q, vals[i].data, vals[i].len);
        q += vals[i].len;
        *q++ = '\r';
        *q++ = '\n';
    }
    if (uid.len) {
        memcpy(q, uid.data, uid.len);
        q += uid.len;
    }
    out->len = (size_t) (q - out->data);
    return FY_OK;
}

/*
 * add_header values that read $sent_http_NAME: nginx evaluates them in
 * its header filter, one after the other, each seeing the fields set
 * before it (the writer's, expires's, the earlier add_header lines), so
 * "add_header X-Copy $sent_http_content_type;" copies the type.  The
 * writer builds its header without the lines of fy_http_add_headers
 * (hdr, *n bytes); they are inserted at offset at, the add_header ones
 * one by one, each value made while r->header_text shows the header so
 * far.  The result is a new buffer with 32 bytes to spare (*hdr, *n,
 * *size updated).  Only for a location with such a value
 * (lcf->add_headers_sent).
 */
int
fy_http_add_headers_into(fy_http_request_t *r, int status, char **hdr,
                         size_t *n, size_t *size, size_t at)
{
    const fy_array_t             *list = fy_http_req_loc(r)->add_headers;
    const fy_http_header_conf_t  *h;
    fy_str_t                      pre, v;
    char                         *buf, *p;
    size_t                        len, cap, need;
    unsigned                      i;
    int                           plain;

    if (fy_http_add_headers_lines(r, status, &pre, 0) != FY_OK) {
        return FY_ERROR;
    }
    len = *n + pre.len;
    cap = len + 256;
    buf = fy_palloc(r->pool, cap);
    if (buf == NULL) {
        return FY_ERROR;
    }
    memcpy(buf, *hdr, at);
    if (pre.len) {
        memcpy(buf + at, pre.data, pre.len);
    }
    memcpy(buf + at + pre.len, *hdr + at, *n - at);
    at += pre.len;

    plain = fy_http_add_header_status(status);
    for (i = 0; list && i < list->nelts; i++) {
        h = fy_array_elt(list, fy_http_header_conf_t, i);
        if (!plain && !h->always) {
            continue;
        }
        r->header_text.data = (u_char *) buf;
        r->header_text.len = len;
        v.data = fy_http_header_value(r, h->value, &v.len);
        r->header_text.data = NULL;
        r->header_text.len = 0;
        if (v.data == NULL) {
            return FY_ERROR;
        }
        if (v.len == 0) {
            continue;           /* an empty value adds nothing (nginx) */
        }
        need = h->name.len + 2 + v.len + 2;
        if (len + need + 32 > cap) {
            cap = 2 * cap + need;
            p = fy_palloc(r->pool, cap);
            if (p == NULL) {
                return FY_ERROR;
            }
            memcpy(p, buf, len);
            buf = p;
        }
        /* the line at `at`, after those before it */
        memmove(buf + at + need, buf + at, len - at);
        p = buf + at;
        memcpy(p, h->name.data, h->name.len);
        p += h->name.len;
        *p++ = ':';
        *p++ = ' ';
        memcpy(p, v.data, v.len);
        p += v.len;
        *p++ = '\r';
        *p++ = '\n';
        at += need;
        len += need;
    }
    if (fy_http_req_loc(r)->userid.enable >= FY_HTTP_USERID_V1) {
        /* userid's lines, after the add_header ones (nginx's order) */
        if (fy_http_userid_lines(r, &v) != FY_OK) {
            return FY_ERROR;
        }
        if (len + v.len + 32 > cap) {
            cap = len + v.len + 32;
            p = fy_palloc(r->pool, cap);
            if (p == NULL) {
                return FY_ERROR;
            }
            memcpy(p, buf, len);
            buf = p;
        }
        memmove(buf + at + v.len, buf + at, len - at);
        memcpy(buf + at, v.data, v.len);
        len += v.len;
    }
    *hdr = buf;
    *n = len;
    *size = cap;
    return FY_OK;
}
