/*
 * test_auth_crypt.c -- fy_http_auth_check_password against entries of
 * every format of an auth_basic_user_file (known vectors: Apache's
 * documentation, openssl passwd, RFC 2307 examples), and
 * fy_http_base64_decode as nginx decodes.
 */
#include "fy_core.h"
#include "fy_http.h"
#include "fy_tap.h"

static void
check(const char *pw, const char *entry, int want)
{
    is_int(fy_http_auth_check_password((const u_char *) pw, strlen(pw),
                                       entry),
           want, "\"%s\" against %s", pw, entry);
}

static void
b64(const char *in, const char *want, ssize_t wlen)
{
    u_char   out[64];
    ssize_t  n;

    n = fy_http_base64_decode((const u_char *) in, strlen(in), out);
    is_int(n, wlen, "base64 \"%s\": length", in);
    if (n > 0 && n == wlen) {
        ok(memcmp(out, want, (size_t) n) == 0, "base64 \"%s\": bytes", in);
    }
}

int
main(void)
{
    /* Apache's $apr1$ (the example of Apache's documentation, and
     * openssl passwd -apr1: a password longer than 16 bytes, an empty
     * one, a short salt) */
    check("myPassword", "$apr1$r31.....$HqJZimcKQFAMYayBlzkrA/", FY_OK);
    check("mypassword", "$apr1$r31.....$HqJZimcKQFAMYayBlzkrA/",
          FY_DECLINED);
    check("a-rather-long-password-of-40-characters!",
          "$apr1$xy$j4jTK1lucdq543LutED8l.", FY_OK);
    check("", "$apr1$abcdefgh$L.PT565ESX4Tp2bqNs7Ie.", FY_OK);
    check("secret", "$apr1$abcdefgh$h9FWgUz3n9YxylKLlR5SQ/", FY_OK);
    check("secret", "$apr1$abcdefgh$h9FWgUz3n9YxylKLlR5SQ", FY_DECLINED);

    /* RFC 2307 schemes */
    check("password", "{SHA}W6ph5Mm5Pz8GgiULbPgzG37mj9g=", FY_OK);
    check("passwore", "{SHA}W6ph5Mm5Pz8GgiULbPgzG37mj9g=", FY_DECLINED);
    check("pw", "{SSHA}74L53nwlLqeQf7yzYP9SroC99HZOYUNs", FY_OK);
    check("pX", "{SSHA}74L53nwlLqeQf7yzYP9SroC99HZOYUNs", FY_DECLINED);
    check("pw", "{SSHA}c2hvcnQ=", FY_DECLINED);     /* under 20 bytes */
    check("pw", "{SSHA}!!!!", FY_DECLINED);
    check("plain", "{PLAIN}plain", FY_OK);
    check("plai", "{PLAIN}plain", FY_DECLINED);
    check("plainx", "{PLAIN}plain", FY_DECLINED);
    check("", "{PLAIN}", FY_OK);

    /* crypt(3) */
    check("secret", "$1$abc$iCQ2D3nhptRYi27fDYv2s1", FY_OK);
    check("secret", "$5$abc$qsg6EHbUzHQzF1POlD7zUwBINSELQxypPaeDcZe6vH0",
          FY_OK);
    check("secret", "$6$abc$IdWKNKTJEb8LxY7CGg8YBXlvtfZzFw7Mp/r6niK9YB2mdvg"
          "Y..TKjv1T..8RadRt2qvUHYRLr/TsVArtr91iR1", FY_OK);
    check("secret", "abNANd1rDfiNc", FY_OK);
    check("secreT", "abNANd1rDfiNc", FY_DECLINED);
    check("secret", "secret", FY_DECLINED);  /* no hash: crypt fails */
    check("secret", "", FY_DECLINED);

    /* a NUL in the password matches no crypt(3) entry */
    is_int(fy_http_auth_check_password((const u_char *) "secret\0x", 8,
                                       "abNANd1rDfiNc"),
           FY_DECLINED, "a password with a NUL byte");

    /* base64 as nginx's ngx_decode_base64 */
    b64("", "", 0);
    b64("QQ==", "A", 1);
    b64("QQ", "A", 1);
    b64("QUI=", "AB", 2);
    b64("QUJD", "ABC", 3);
    b64("QUJD=garbage", "ABC", 3);
    b64("Q", "", -1);
    b64("QUJDR", "", -1);
    b64("QU!D", "", -1);
    b64("QU D", "", -1);
    b64("cGxhaW46cDFhaW4", "plain:p1ain", 11);

    return done_testing();
}
