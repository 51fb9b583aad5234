/*
 * fy_http_auth_basic.c -- nginx's auth_basic module and the "satisfy"
 * of its access phase:
 *
 *     auth_basic            "closed site";     # or off
 *     auth_basic_user_file  conf/htpasswd;     # relative: to the config
 *     satisfy               all;               # or any
 *
 * A request to a location with both (and auth_basic not "off") must
 * carry "Authorization: Basic base64(user:password)" naming a user of
 * the file with that password (formats: fy_http_auth_crypt.c), else
 * it is answered 401 with "WWW-Authenticate: Basic realm=...".
 * The file is read on every such request, as nginx does: an edit takes
 * effect at once, without a reload; a file that does not exist answers
 * 403 and one that cannot be read 500, as nginx.  Each level without
 * its own auth_basic or auth_basic_user_file takes its parent's.  In a
 * limit_except block they apply to the methods it does not list
 * (fy_http_limit_except.c).
 *
 * The access phase (fy_http_access_phase) runs allow/deny first, then
 * auth_basic, as nginx's modules are ordered.  "satisfy all" (the
 * default): the first that refuses answers (403 or 401).  "satisfy
 * any": an "allow" rule that matches, or good credentials, let the
 * request in; otherwise 401 if auth_basic refused, 403 if only deny.
 * The Authorization header still goes to a proxied backend.
 */
#include "fy_core.h"
#include "fy_http.h"

#include <fcntl.h>

#define FY_HTTP_AUTH_READ   4096    /* the file is read in such pieces */
#define FY_HTTP_AUTH_ENTRY  1024    /* longest password entry we keep */

static const char *fy_http_auth_basic(fy_conf_t *cf, const fy_command_t *cmd,
    void *conf);
static const char *fy_http_auth_user_file(fy_conf_t *cf,
    const fy_command_t *cmd, void *conf);

static const fy_conf_enum_t  fy_http_satisfy_values[] = {
    { "all", FY_HTTP_SATISFY_ALL },
    { "any", FY_HTTP_SATISFY_ANY },
    { NULL, 0 }
};

#define FY_HTTP_ANY  (FY_CONF_HTTP | FY_CONF_SRV | FY_CONF_LOC)

const fy_command_t  fy_http_auth_basic_commands[] = {

    { "auth_basic", FY_HTTP_ANY | FY_CONF_LMT, 0, 1, 1, fy_http_auth_basic,
      FY_CONF_LOC_OFF, 0, NULL },

    { "auth_basic_user_file", FY_HTTP_ANY | FY_CONF_LMT, 0, 1, 1,
      fy_http_auth_user_file, FY_CONF_LOC_OFF, 0, NULL },

    { "satisfy", FY_HTTP_ANY, 0, 1, 1, fy_conf_set_enum,
      FY_CONF_LOC_OFF, offsetof(fy_http_loc_conf_t, satisfy),
      fy_http_satisfy_values },

    { NULL, 0, 0, 0, 0, NULL, 0, 0, NULL }
};


/* The challenge for realm (len bytes) into buf (room for
 * FY_AUTH_CHALLENGE_LEN(len)): its length.  The realm is a
 * quoted-string (RFC 9110 5.6.4): '"' and '\' get a backslash, so a
 * realm with a quote cannot end the value early (nginx copies it as it
 * is). */
#define FY_AUTH_CHALLENGE_LEN(len)  (sizeof("Basic realm=\"\"") + 2 * (len))

static size_t
fy_http_auth_challenge(const u_char *realm, size_t len, u_char *buf)
{
    static const char  pre[] = "Basic realm=\"";
    u_char            *p = buf;
    size_t             i;

    memcpy(p, pre, sizeof(pre) - 1);
    p += sizeof(pre) - 1;
    for (i = 0; i < len; i++) {
        if (realm[i] == '"' || realm[i] == '\\') {
            *p++ = '\\';
        }
        *p++ = realm[i];
    }
    *p++ = '"';
    return (size_t) (p - buf);
}

/*
 * auth_basic STRING | off.  The whole field value is made here, once;
 * a STRING with variables is kept compiled and made for each request
 * (fy_http_auth_basic_check), as nginx allows.
 */
static const char *
fy_http_auth_basic(fy_conf_t *cf, const fy_command_t *cmd, void *conf)
{
    fy_http_loc_conf_t  *lcf = conf;
    fy_str_t            *realm = &cf->args[1];
    u_char              *p;
    size_t               i;

    fy_unused(cmd);

    if (lcf->auth.challenge.data) {
        return "is duplicate";
    }
    if (fy_str_eq(realm, "off")) {
        lcf->auth.challenge.data = (u_char *) "";
        lcf->auth.challenge.len = 0;
        return FY_CONF_OK;
    }
    for (i = 0; i < realm->len; i++) {
        if (realm->data[i] < 0x20 || realm->data[i] == 0x7f) {
            fy_conf_error(cf, "a control character in \"auth_basic\"");
            return FY_CONF_ERROR;
        }
    }
    if (memchr(realm->data, '$', realm->len)) {
        lcf->auth.realm_cv = fy_http_cv_compile(cf, realm);
        if (lcf->auth.realm_cv == NULL) {
            return FY_CONF_ERROR;           /* logged */
        }
        /* set, not off: the value is made per request */
        lcf->auth.challenge = *realm;
        return FY_CONF_OK;
    }

    p = fy_palloc(cf->pool, FY_AUTH_CHALLENGE_LEN(realm->len));
    if (p == NULL) {
        return "cannot allocate memory";
    }
    lcf->auth.challenge.data = p;
    lcf->auth.challenge.len = fy_http_auth_challenge(realm->data, realm->len,
                                                     p);
    return FY_CONF_OK;
}

/* auth_basic_user_file FILE: relative to the configuration's folder,
 * as nginx (its conf prefix); with variables, named for each request. */
static const char *
fy_http_auth_user_file(fy_conf_t *cf, const fy_command_t *cmd, void *conf)
{
    fy_http_loc_conf_t  *lcf = conf;

    fy_unused(cmd);

    if (lcf->auth.file) {
        return "is duplicate";
    }
    if (memchr(cf->args[1].data, '$', cf->args[1].len)) {
        lcf->auth.file_cv = fy_http_cv_compile(cf, &cf->args[1]);
        if (lcf->auth.file_cv == NULL) {
            return FY_CONF_ERROR;           /* logged */
        }
        /* the folder a relative name is taken from */
        lcf->auth.file = (char *) cf->conf_dir;
        return FY_CONF_OK;
    }
    lcf->auth.file = fy_conf_full_name(cf, cf->conf_dir, &cf->args[1]);
    return lcf->auth.file ? FY_CONF_OK : "cannot allocate memory";
}

void
fy_http_auth_inherit(const fy_http_auth_conf_t *prev, fy_http_auth_conf_t *conf)
{
    if (conf->challenge.data == NULL) {
        conf->challenge = prev->challenge;
        conf->realm_cv = prev->realm_cv;
    }
    if (conf->file == NULL) {
        conf->file = prev->file;
        conf->file_cv = prev->file_cv;
    }
}

/* Called from fy_http_merge_loc for every level, parent first. */
void
fy_http_auth_basic_merge(fy_http_loc_conf_t *prev, fy_http_loc_conf_t *conf)
{
    fy_http_auth_inherit(&prev->auth, &conf->auth);
    fy_conf_merge(conf->satisfy, prev->satisfy, FY_CONF_UNSET_INT,
                  FY_HTTP_SATISFY_ALL);
    conf->auth_on = conf->auth.challenge.len && conf->auth.file;
}


/*
 * The user and password of "Authorization: Basic ..." (as nginx: the
 * scheme in any case, spaces after it, a user before the first ':'
 * that is not empty).  They are decoded into the request's pool.
 * FY_OK, FY_DECLINED (none, or not of that form), FY_ERROR.  Also
 * $remote_user's source (fy_http_variables.c).
 */
int
fy_http_auth_credentials(fy_http_request_t *r, fy_str_t *user, fy_str_t *pw)
{
    fy_http_header_t  *h;
    u_char            *p, *end, *out, *colon;
    ssize_t            n;
    unsigned           i;

    for (i = 0; i < r->headers.nelts; i++) {
        h = fy_array_elt(&r->headers, fy_http_header_t, i);
        if (fy_str_eq_ci(&h->name, "Authorization")) {
            break;
        }
    }
    if (i == r->headers.nelts) {
        return FY_DECLINED;
    }
    p = h->value.data;
    end = p + h->value.len;
    if (h->value.len < 6 || strncasecmp((char *) p, "Basic ", 6) != 0) {
        return FY_DECLINED;
    }
    for (p += 6; p < end && *p == ' '; p++) {
        /* void */
    }
    if (p == end) {
        return FY_DECLINED;
    }
    out = fy_palloc(r->pool, (size_t) (end - p + 3) / 4 * 3 + 1);
    if (out == NULL) {
        return FY_ERROR;
    }
    n = fy_http_base64_decode(p, (size_t) (end - p), out);
    if (n <= 0) {
        return FY_DECLINED;
    }
    colon = memchr(out, ':', (size_t) n);
    if (colon == NULL || colon == out) {
        return FY_DECLINED;
    }
    user->data = out;
    user->len = (size_t) (colon - out);
    pw->data = colon + 1;
    pw->len = (size_t) (out + n - pw->data);
    return FY_OK;
}

/*
 * Look for user in the file, as nginx reads it: lines "name:password"
 * or "name:password:comment", a line that starts with '#' is a
 * comment, the password ends at ':' or the end of the line.  The
 * stored password is copied into entry (NUL-terminated).  FY_OK when
 * found, FY_DECLINED when not, or the HTTP status to answer when the
 * file cannot be read.
 */
static int
fy_http_auth_find_user(fy_http_request_t *r, const char *file,
                       const fy_str_t *user, char *entry)
{
    enum { sw_login, sw_passwd, sw_skip }  state = sw_login;
    u_char   buf[FY_HTTP_AUTH_READ];
    size_t   login = 0, plen = 0;
    ssize_t  n, i;
    int      fd, err;

    fd = open(file, O_RDONLY | O_CLOEXEC);
    if (fd == -1) {
        err = errno;
        fy_log_error(err == ENOENT ? FY_LOG_ERR : FY_LOG_CRIT, err,
                     "open() \"%s\" failed, client: %s, request: \"%.*s\"",
                     file, r->hc->addr_text, (int) r->request_line.len,
                     (char *) r->request_line.data);
        return err == ENOENT ? 403 : 500;
    }

    for ( ;; ) {
        n = read(fd, buf, sizeof(buf));
        if (n == -1) {
            if (errno == EINTR) {
                continue;
            }
            fy_log_error(FY_LOG_CRIT, errno, "read() \"%s\" failed", file);
            close(fd);
            return 500;
        }
        if (n == 0) {
            break;
        }
        for (i = 0; i < n; i++) {
            u_char  ch = buf[i];

            switch (state) {
            case sw_login:
                if (login == 0 && ch == '#') {
                    state = sw_skip;
                } else if (ch == '\n' || ch == '\r') {
                    login = 0;
                } else if (ch == ':') {
                    state = login == user->len ? sw_passwd : sw_skip;
                } else if (login < user->len && user->data[login] == ch) {
                    login++;
                } else {
                    state = sw_skip;
                }
                break;

            case sw_passwd:
                if (ch == '\n' || ch == '\r' || ch == ':') {
                    goto found;
                }
                if (plen < FY_HTTP_AUTH_ENTRY - 1) {
                    entry[plen++] = (char) ch;
                }
                break;

            case sw_skip:
                if (ch == '\n' || ch == '\r') {
                    state = sw_login;
                    login = 0;
                }
                break;
            }
        }
    }
    if (state != sw_passwd) {
        close(fd);
        return FY_DECLINED;
    }

found:

    close(fd);
    entry[plen] = '\0';
    return FY_OK;
}

/*
 * An auth_basic with variables for r: *challenge made from the realm
 * (one that comes out "off" turns auth_basic off, as in nginx;
 * control characters are dropped, they cannot go into the field), and
 * *file named from the file's (relative to the configuration's
 * folder).  FY_OK, FY_DECLINED (off), FY_ERROR (no memory).
 */
static int
fy_http_auth_eval(fy_http_request_t *r, const fy_http_auth_conf_t *auth,
                  const fy_str_t **challenge, const char **file)
{
    fy_str_t  *c;
    u_char    *v, *p;
    size_t     len, i, n = 0, dlen;
    char      *f;

    if (auth->realm_cv) {
        v = fy_http_cv_eval(r, auth->realm_cv, &len);
        c = fy_palloc(r->pool, sizeof(fy_str_t));
        if (v == NULL || c == NULL) {
            return FY_ERROR;
        }
        if (len == 3 && memcmp(v, "off", 3) == 0) {
            return FY_DECLINED;
        }
        for (i = 0; i < len; i++) {
            if (v[i] >= 0x20 && v[i] != 0x7f) {
                v[n++] = v[i];
            }
        }
        p = fy_palloc(r->pool, FY_AUTH_CHALLENGE_LEN(n));
        if (p == NULL) {
            return FY_ERROR;
        }
        c->data = p;
        c->len = fy_http_auth_challenge(v, n, p);
        *challenge = c;
    }
    if (auth->file_cv) {
        v = fy_http_cv_eval(r, auth->file_cv, &len);
        if (v == NULL) {
            return FY_ERROR;
        }
        dlen = len && v[0] == '/' ? 0 : strlen(auth->file);
        f = fy_palloc(r->pool, dlen + len + 1);
        if (f == NULL) {
            return FY_ERROR;
        }
        memcpy(f, auth->file, dlen);
        /* a NUL in the name ends it: open() reads no further */
        memcpy(f + dlen, v, len);
        f[dlen + len] = '\0';
        *file = f;
    }
    return FY_OK;
}

/* auth_basic for r with the realm (as its challenge) and file that
 * apply (the location's, or its limit_except's): FY_DECLINED when off,
 * FY_OK when the credentials are good, else the status to answer (401
 * with the challenge set, 403, 500). */
static int
fy_http_auth_basic_check(fy_http_request_t *r, const fy_http_auth_conf_t *auth)
{
    const fy_str_t  *challenge = &auth->challenge;
    const char      *file = auth->file;
    fy_str_t         user, pw;
    char             entry[FY_HTTP_AUTH_ENTRY];
    int              rc;

    if (challenge->len == 0 || file == NULL) {
        return FY_DECLINED;
    }
    if (auth->realm_cv || auth->file_cv) {
        rc = fy_http_auth_eval(r, auth, &challenge, &file);
        if (rc != FY_OK) {
            return rc == FY_DECLINED ? FY_DECLINED : 500;
        }
    }
    rc = fy_http_auth_credentials(r, &user, &pw);
    if (rc == FY_ERROR) {
        return 500;
    }
    if (rc == FY_DECLINED) {
        fy_log_error(FY_LOG_INFO, 0, "no user/password was provided for "
                     "basic authentication, client: %s, request: \"%.*s\"",
                     r->hc->addr_text, (int) r->request_line.len,
                     (char *) r->request_line.data);
        r->auth_challenge = challenge;
        return 401;
    }

    rc = fy_http_auth_find_user(r, file, &user, entry);
    if (rc == FY_DECLINED) {
        fy_log_error(FY_LOG_ERR, 0, "user \"%.*s\" was not found in \"%s\", "
                     "client: %s, request: \"%.*s\"", (int) user.len,
                     (char *) user.data, file,
                     r->hc->addr_text, (int) r->request_line.len,
                     (char *) r->request_line.data);
        r->auth_challenge = challenge;
        return 401;
    }
    if (rc != FY_OK) {
        return rc;
    }

    rc = fy_http_auth_check_password(pw.data, pw.len, entry);
    explicit_bzero(entry, sizeof(entry));
    if (rc == FY_OK) {
        return FY_OK;
    }
    if (rc == FY_ERROR) {
        return 500;
    }
    fy_log_error(FY_LOG_ERR, 0, "user \"%.*s\": password mismatch, "
                 "client: %s, request: \"%.*s\"", (int) user.len,
                 (char *) user.data, r->hc->addr_text,
                 (int) r->request_line.len, (char *) r->request_line.data);
    r->auth_challenge = challenge;
    return 401;
}

/*
 * nginx's access phase for r's location: allow/deny, then auth_basic,
 * then auth_request, combined as "satisfy" says.  0: go on; FY_AGAIN:
 * the auth_request subrequest runs (fy_http_access_done follows); else
 * the status to answer.
 */
int
fy_http_access_phase(fy_http_request_t *r)
{
    fy_http_loc_conf_t         *lcf = r->loc;
    const fy_http_auth_conf_t  *auth = &lcf->auth;
    int                         rc, code = 0;

    if (r->parent) {
        return 0;       /* a subrequest: no access phase (nginx) */
    }
    if (lcf->limit_except) {
        /* an unlisted method: the block's auth_basic */
        fy_http_limit_except_auth(r, lcf, &auth);
    }

    if (lcf->satisfy != FY_HTTP_SATISFY_ANY) {
        if (fy_http_access_check(r, 1) == 403) {
            return 403;
        }
        rc = fy_http_auth_basic_check(r, auth);
        if (rc > 0) {
            return rc;
        }
        /* auth_request last, as nginx's modules are ordered */
        return lcf->auth_request.len ? fy_http_auth_request_start(r, 0) : 0;
    }

    /* any: the first that lets it in wins; a refusal is remembered
     * until one does */
    rc = fy_http_access_check(r, 0);
    if (rc == FY_OK) {
        return 0;
    }
    if (rc == 403) {
        code = 403;
    }
    rc = fy_http_auth_basic_check(r, auth);
    if (rc == FY_OK) {
        return 0;
    }
    /* auth_basic comes after allow/deny: its refusal (401, or 403
     * for a missing file) is the one answered, as in nginx */
    if (rc > 0) {
        if (rc != 401 && rc != 403) {
            return rc;          /* an error ends the phase (nginx) */
        }
        code = rc;
    }
    /* auth_request may still let it in */
    return lcf->auth_request.len ? fy_http_auth_request_start(r, code)
                                 : code;
}

/* The WWW-Authenticate line of a 401 that auth_basic made, for the
 * response writers (through fy_http_add_headers): its length with
 * buf NULL, else written to buf.  The challenge is the one of the
 * location that refused, kept in the request, since error_page may
 * have moved the request to another location since. */
size_t
fy_http_auth_basic_header(fy_http_request_t *r, int status, u_char *buf)
{
    static const char  name[] = "WWW-Authenticate: ";
    const fy_str_t    *ch = r->auth_challenge;
    size_t             len = 0;

    if (status != 401) {
        return 0;
    }
    if (ch) {
        len = sizeof(name) - 1 + ch->len + 2;
        if (buf) {
            memcpy(buf, name, sizeof(name) - 1);
            memcpy(buf + sizeof(name) - 1, ch->data, ch->len);
            buf[len - 2] = '\r';
            buf[len - 1] = '\n';
        }
    }
    /* and auth_request's, the lines of its subrequest's 401 */
    if (r->auth_lines.len && buf) {
        memcpy(buf + len, r->auth_lines.data, r->auth_lines.len);
    }
    return len + r->auth_lines.len;
}
