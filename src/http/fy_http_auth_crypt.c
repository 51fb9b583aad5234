/*
 * fy_http_auth_crypt.c -- checking a password against one entry of an
 * auth_basic_user_file, in the formats nginx accepts:
 *
 *     {PLAIN}secret             the password itself (RFC 2307 syntax)
 *     {SHA}base64(SHA-1(pw))
 *     {SSHA}base64(SHA-1(pw salt) salt)
 *     $apr1$salt$hash           Apache's variant of the MD5 crypt
 *     anything else             crypt(3) of libcrypt: $1$ (MD5),
 *                               $5$ / $6$ (SHA-256/512), $y$ (yescrypt),
 *                               $2b$ (bcrypt), 13-character DES ...
 *
 * SHA-1 and MD5 come from OpenSSL's libcrypto, which ferry links for
 * TLS anyway; crypt(3) from libxcrypt (Debian's libcrypt1, an essential
 * package).  The result is compared in constant time, so the time a
 * wrong password takes does not tell how much of it was right.
 */
#include "fy_core.h"
#include "fy_http.h"

#include <crypt.h>
#include <openssl/evp.h>

static const char  fy_auth_itoa64[] =
    "./0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz";

/*
 * Base64 with the given 64-character alphabet, as nginx's
 * ngx_decode_base64 and ngx_decode_base64url: decoding stops at the
 * first '=', a byte outside the alphabet before it is an error, and so
 * is a length that leaves one lone character.  out needs
 * (len + 3) / 4 * 3 bytes.  The decoded length, or -1.
 */
static ssize_t
fy_http_base64_decode_with(const char *b64, const u_char *in, size_t len,
                           u_char *out)
{
    const char        *pos;
    unsigned           acc = 0, bits = 0;
    size_t             i, n = 0;

    for (i = 0; i < len && in[i] != '='; i++) {
        pos = in[i] ? memchr(b64, in[i], 64) : NULL;
        if (pos == NULL) {
            return -1;
        }
        acc = (acc << 6) | (unsigned) (pos - b64);
        bits += 6;
        if (bits >= 8) {
            bits -= 8;
            out[n++] = (u_char) (acc >> bits);
        }
    }
    if (i % 4 == 1) {
        return -1;
    }
    return (ssize_t) n;
}

/* Standard base64 (RFC 4648, with "+/"): Basic credentials, hashes. */
ssize_t
fy_http_base64_decode(const u_char *in, size_t len, u_char *out)
{
    return fy_http_base64_decode_with(
        "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/",
        in, len, out);
}

/* base64url (RFC 4648 section 5, "-_" for "+/"): secure_link's hash. */
ssize_t
fy_http_base64url_decode(const u_char *in, size_t len, u_char *out)
{
    return fy_http_base64_decode_with(
        "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_",
        in, len, out);
}

size_t
fy_http_base64_encode(const u_char *in, size_t len, u_char *out)
{
    static const char  b64[] =
        "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    u_char            *p = out;
    size_t             i;
    unsigned           v;

    for (i = 0; i + 2 < len; i += 3) {
        v = (unsigned) in[i] << 16 | (unsigned) in[i + 1] << 8 | in[i + 2];
        *p++ = (u_char) b64[v >> 18];
        *p++ = (u_char) b64[(v >> 12) & 63];
        *p++ = (u_char) b64[(v >> 6) & 63];
        *p++ = (u_char) b64[v & 63];
    }
    if (i < len) {
        v = (unsigned) in[i] << 16 | (i + 1 < len ? (unsigned) in[i + 1] << 8
                                                  : 0);
        *p++ = (u_char) b64[v >> 18];
        *p++ = (u_char) b64[(v >> 12) & 63];
        *p++ = i + 1 < len ? (u_char) b64[(v >> 6) & 63] : '=';
        *p++ = '=';
    }
    return (size_t) (p - out);
}

/* 1 if a and b (a's length alen, b NUL-terminated) are equal; the time
 * depends only on the lengths. */
static int
fy_http_auth_equal(const u_char *a, size_t alen, const char *b)
{
    size_t    blen = strlen(b), i;
    unsigned  diff = alen != blen;

    for (i = 0; i < alen && i < blen; i++) {
        diff |= a[i] ^ (u_char) b[i];
    }
    return diff == 0;
}

static u_char *
fy_http_auth_to64(u_char *p, uint32_t v, int n)
{
    while (--n >= 0) {
        *p++ = (u_char) fy_auth_itoa64[v & 0x3f];
        v >>= 6;
    }
    return p;
}

/* One digest step: md with the parts given (len 0 ends the list). */
static int
fy_http_auth_digest(EVP_MD_CTX *ctx, const EVP_MD *md, u_char *out,
                    const void *p1, size_t l1, const void *p2, size_t l2,
                    const void *p3, size_t l3)
{
    return EVP_DigestInit_ex(ctx, md, NULL)
           && EVP_DigestUpdate(ctx, p1, l1)
           && (l2 == 0 || EVP_DigestUpdate(ctx, p2, l2))
           && (l3 == 0 || EVP_DigestUpdate(ctx, p3, l3))
           && EVP_DigestFinal_ex(ctx, out, NULL);
}

/*
 * Apache's "$apr1$": the MD5 crypt of FreeBSD with "$apr1$" as its
 * magic.  stored is the whole entry; the salt is what follows the
 * magic up to the next '$', at most 8 characters.  Writes the entry
 * the password would make into out (at least 64 bytes).
 */
static int
fy_http_auth_apr1(const u_char *pw, size_t pwlen, const char *stored,
                  char *out)
{
    static const char  magic[] = "$apr1$";
    const EVP_MD      *md5 = EVP_md5();
    EVP_MD_CTX        *ctx;
    const char        *salt = stored + sizeof(magic) - 1;
    u_char             fin[16], *p;
    size_t             slen, n;
    int                i, ok;

    for (slen = 0; slen < 8 && salt[slen] && salt[slen] != '$'; slen++) {
        /* void */
    }
    ctx = EVP_MD_CTX_new();
    if (ctx == NULL || md5 == NULL) {
        EVP_MD_CTX_free(ctx);
        return FY_ERROR;
    }

    ok = fy_http_auth_digest(ctx, md5, fin, pw, pwlen, salt, slen,
                             pw, pwlen);
    ok = ok && EVP_DigestInit_ex(ctx, md5, NULL)
         && EVP_DigestUpdate(ctx, pw, pwlen)
         && EVP_DigestUpdate(ctx, magic, sizeof(magic) - 1)
         && EVP_DigestUpdate(ctx, salt, slen);
    for (n = pwlen; ok && n > 0; n -= n > 16 ? 16 : n) {
        ok = EVP_DigestUpdate(ctx, fin, n > 16 ? 16 : n);
    }
    memset(fin, 0, sizeof(fin));
    for (n = pwlen; ok && n; n >>= 1) {
        ok = EVP_DigestUpdate(ctx, (n & 1) ? fin : pw, 1);
    }
    ok = ok && EVP_DigestFinal_ex(ctx, fin, NULL);

    /* a thousand rounds, to make guessing slow */
    for (i = 0; ok && i < 1000; i++) {
        ok = EVP_DigestInit_ex(ctx, md5, NULL)
             && ((i & 1) ? EVP_DigestUpdate(ctx, pw, pwlen)
                         : EVP_DigestUpdate(ctx, fin, 16))
             && (i % 3 == 0 || EVP_DigestUpdate(ctx, salt, slen))
             && (i % 7 == 0 || EVP_DigestUpdate(ctx, pw, pwlen))
             && ((i & 1) ? EVP_DigestUpdate(ctx, fin, 16)
                         : EVP_DigestUpdate(ctx, pw, pwlen))
             && EVP_DigestFinal_ex(ctx, fin, NULL);
    }
    EVP_MD_CTX_free(ctx);
    if (!ok) {
        return FY_ERROR;
    }

    p = (u_char *) out;
    memcpy(p, magic, sizeof(magic) - 1);
    p += sizeof(magic) - 1;
    memcpy(p, salt, slen);
    p += slen;
    *p++ = '$';
    p = fy_http_auth_to64(p, (uint32_t) fin[0] << 16 | fin[6] << 8 | fin[12],
                          4);
    p = fy_http_auth_to64(p, (uint32_t) fin[1] << 16 | fin[7] << 8 | fin[13],
                          4);
    p = fy_http_auth_to64(p, (uint32_t) fin[2] << 16 | fin[8] << 8 | fin[14],
                          4);
    p = fy_http_auth_to64(p, (uint32_t) fin[3] << 16 | fin[9] << 8 | fin[15],
                          4);
    p = fy_http_auth_to64(p, (uint32_t) fin[4] << 16 | fin[10] << 8 | fin[5],
                          4);
    p = fy_http_auth_to64(p, fin[11], 2);
    *p = '\0';
    return FY_OK;
}

/* "{SHA}" and "{SSHA}": SHA-1 of the password and the salt (what
 * follows the 20 digest bytes of the decoded entry; none for SHA). */
static int
fy_http_auth_sha(const u_char *pw, size_t pwlen, const char *stored,
                 size_t prefix, int salted, char *out, size_t size)
{
    u_char       raw[256], buf[256 + 32];
    const char  *b64 = stored + prefix;
    size_t       len = strlen(b64), saltlen = 0;
    ssize_t      n;
    EVP_MD_CTX  *ctx;
    int          ok;

    if (salted) {
        if ((len + 3) / 4 * 3 > sizeof(raw)) {
            return FY_DECLINED;
        }
        n = fy_http_base64_decode((const u_char *) b64, len, raw);
        if (n < 20) {
            return FY_DECLINED;     /* not an entry any password makes */
        }
        saltlen = (size_t) n - 20;
    }
    ctx = EVP_MD_CTX_new();
    ok = ctx && fy_http_auth_digest(ctx, EVP_sha1(), buf, pw, pwlen,
                                    raw + 20, saltlen, NULL, 0);
    EVP_MD_CTX_free(ctx);
    if (!ok) {
        return FY_ERROR;
    }
    memcpy(buf + 20, raw + 20, saltlen);
    if (prefix + (20 + saltlen + 2) / 3 * 4 + 1 > size) {
        return FY_DECLINED;
    }
    memcpy(out, stored, prefix);
    out[prefix + fy_http_base64_encode(buf, 20 + saltlen,
                                       (u_char *) out + prefix)] = '\0';
    return FY_OK;
}

/*
 * Does the password (pw, pwlen bytes) match the stored entry (NUL-
 * terminated)?  FY_OK: it does; FY_DECLINED: it does not; FY_ERROR:
 * the check itself failed (logged; nginx answers 500 then).
 */
int
fy_http_auth_check_password(const u_char *pw, size_t pwlen,
                            const char *stored)
{
    char         made[384], *key;
    const char  *c;
    int          rc;

    if (strncmp(stored, "$apr1$", 6) == 0) {
        rc = fy_http_auth_apr1(pw, pwlen, stored, made);

    } else if (strncmp(stored, "{PLAIN}", 7) == 0) {
        return fy_http_auth_equal(pw, pwlen, stored + 7) ? FY_OK
                                                         : FY_DECLINED;
    } else if (strncmp(stored, "{SSHA}", 6) == 0) {
        rc = fy_http_auth_sha(pw, pwlen, stored, 6, 1, made, sizeof(made));

    } else if (strncmp(stored, "{SHA}", 5) == 0) {
        rc = fy_http_auth_sha(pw, pwlen, stored, 5, 0, made, sizeof(made));

    } else {
        /* crypt() wants a C string: a password with a NUL byte in it
         * can match nothing */
        if (memchr(pw, '\0', pwlen) != NULL || pwlen >= sizeof(made)) {
            return FY_DECLINED;
        }
        key = made;
        memcpy(key, pw, pwlen);
        key[pwlen] = '\0';
        /* libxcrypt answers a setting it does not know with a
         * "failure token" starting with '*', which matches no entry */
        c = crypt(key, stored);
        explicit_bzero(made, sizeof(made));
        if (c == NULL) {
            fy_log_error(FY_LOG_CRIT, errno, "crypt() failed");
            return FY_ERROR;
        }
        return fy_http_auth_equal((const u_char *) c, strlen(c), stored)
               ? FY_OK : FY_DECLINED;
    }

    if (rc == FY_ERROR) {
        fy_log_error(FY_LOG_CRIT, 0, "computing the password digest "
                     "failed in OpenSSL");
        return FY_ERROR;
    }
    if (rc != FY_OK) {
        return FY_DECLINED;
    }
    return fy_http_auth_equal((const u_char *) made, strlen(made), stored)
           ? FY_OK : FY_DECLINED;
}
