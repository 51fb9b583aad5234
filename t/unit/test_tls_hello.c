/*
 * test_tls_hello.c -- the ClientHello reader of ssl_preread
 * (src/stream/fy_stream_tls_hello.c), fed real ClientHellos made by
 * OpenSSL through memory BIOs: whole, one byte per call, re-cut into
 * small records, truncated, without SNI, limited to TLS 1.2, with
 * lying lengths, and things that are not TLS at all.
 */

#include "fy_core.h"
#include "fy_stream_tls_hello.h"
#include "fy_tap.h"

#include <openssl/ssl.h>
#include <openssl/bio.h>

/* A ClientHello as OpenSSL sends it: sni NULL for none, alpn in wire
 * format (length-prefixed names) or NULL, max_version 0 for the
 * library's. */
static size_t
client_hello(u_char *out, size_t size, const char *sni,
             const u_char *alpn, unsigned alpn_len, int max_version)
{
    SSL_CTX  *ctx = SSL_CTX_new(TLS_client_method());
    SSL      *ssl = SSL_new(ctx);
    BIO      *rbio = BIO_new(BIO_s_mem()), *wbio = BIO_new(BIO_s_mem());
    int       n;

    if (max_version) {
        SSL_set_max_proto_version(ssl, max_version);
    }
    if (sni) {
        SSL_set_tlsext_host_name(ssl, sni);
    }
    if (alpn) {
        SSL_set_alpn_protos(ssl, alpn, alpn_len);
    }
    SSL_set_bio(ssl, rbio, wbio);
    SSL_set_connect_state(ssl);
    SSL_do_handshake(ssl);      /* wants to read: the hello is written */
    n = BIO_read(wbio, out, (int) size);
    SSL_free(ssl);
    SSL_CTX_free(ctx);
    return n > 0 ? (size_t) n : 0;
}

/* Feed buf in pieces of `step` bytes; the result of the last call,
 * and in *at how many bytes had been fed when it was not FY_AGAIN. */
static int
feed(fy_tls_hello_t *h, const u_char *buf, size_t len, size_t step,
     size_t *at)
{
    size_t  off = 0, n;
    int     rc = FY_AGAIN;

    fy_tls_hello_init(h);
    *at = 0;
    while (off < len) {
        n = step < len - off ? step : len - off;
        rc = fy_tls_hello_parse(h, buf + off, n);
        off += n;
        if (rc != FY_AGAIN) {
            *at = off;
            break;
        }
    }
    return rc;
}

/* The same handshake bytes, cut into records of at most `per` bytes. */
static size_t
recut(const u_char *in, size_t len, size_t per, u_char *out)
{
    size_t  off = 5, o = 0, n;      /* in: one record */

    while (off < len) {
        n = per < len - off ? per : len - off;
        out[o++] = 22;
        out[o++] = 3;
        out[o++] = 1;
        out[o++] = (u_char) (n >> 8);
        out[o++] = (u_char) n;
        memcpy(out + o, in + off, n);
        o += n;
        off += n;
    }
    return o;
}

int
main(void)
{
    static const u_char  alpn[] = "\x02h2\x08http/1.1";
    u_char               hello[4096], other[8192], buf[8192];
    size_t               len, n, at;
    fy_tls_hello_t       h;
    int                  rc;
    unsigned             step, i;

    len = client_hello(hello, sizeof(hello), "a.example", alpn,
                       sizeof(alpn) - 1, 0);
    ok(len > 100, "OpenSSL made a ClientHello (%zu bytes)", len);

    /* whole, then in every piece size from 1 to 17 bytes */
    rc = feed(&h, hello, len, len, &at);
    is_int(rc, FY_OK, "whole: a ClientHello");
    is_int(at, len, "whole: done at its last byte");
    is_str(h.server_name, "a.example", "whole: SNI");
    is_str(h.alpn, "h2,http/1.1", "whole: ALPN");
    is_str(fy_tls_hello_protocol(&h), "TLSv1.3",
           "whole: TLSv1.3, from supported_versions");
    ok(fy_tls_hello_complete(&h), "whole: complete");
    for (step = 1; step <= 17; step++) {
        rc = feed(&h, hello, len, step, &at);
        ok(rc == FY_OK && at == len
           && strcmp(h.server_name, "a.example") == 0
           && strcmp(h.alpn, "h2,http/1.1") == 0
           && strcmp(fy_tls_hello_protocol(&h), "TLSv1.3") == 0,
           "pieces of %u bytes: the same, done at the last byte", step);
    }

    /* one handshake message over several records */
    for (step = 1; step <= 64; step *= 4) {
        n = recut(hello, len, step, other);
        rc = feed(&h, other, n, 3, &at);
        is_int(rc, FY_OK, "records of %u bytes: a ClientHello", step);
        is_str(h.server_name, "a.example", "records of %u bytes: SNI", step);
        is_str(h.alpn, "h2,http/1.1", "records of %u bytes: ALPN", step);
    }

    /* bytes after the hello are not looked at */
    memcpy(buf, hello, len);
    memcpy(buf + len, "\x17\x03\x03garbage", 10);
    rc = feed(&h, buf, len + 10, len + 10, &at);
    is_int(rc, FY_OK, "bytes after the hello: still a ClientHello");

    /* truncated anywhere: not yet */
    for (n = 0; n < len; n += 37) {
        fy_tls_hello_init(&h);
        rc = fy_tls_hello_parse(&h, hello, n);
        if (rc != FY_AGAIN) {
            break;
        }
    }
    ok(n >= len, "truncated at every 37th byte: FY_AGAIN");
    fy_tls_hello_init(&h);
    is_int(fy_tls_hello_parse(&h, hello, len - 1), FY_AGAIN,
           "all but the last byte: FY_AGAIN");
    ok(!fy_tls_hello_complete(&h), "all but the last byte: not complete");
    is_str(fy_tls_hello_protocol(&h), "", "incomplete: no protocol");

    /* no SNI, no ALPN, TLS 1.2 at most */
    len = client_hello(hello, sizeof(hello), NULL, NULL, 0, TLS1_2_VERSION);
    rc = feed(&h, hello, len, 5, &at);
    is_int(rc, FY_OK, "no SNI: a ClientHello");
    is_str(h.server_name, "", "no SNI: empty name");
    is_str(h.alpn, "", "no ALPN: empty");
    is_str(fy_tls_hello_protocol(&h), "TLSv1.2", "TLS 1.2 at most: TLSv1.2");

    /* a lying length: the extensions' total one more than there is */
    len = client_hello(hello, sizeof(hello), "b.example", NULL, 0, 0);
    memcpy(buf, hello, len);
    /* record(5) type(1) len(3) version(2) random(32) sid */
    i = 5 + 1 + 3 + 2 + 32;
    i += 1 + buf[i];
    i += 2 + (buf[i] << 8 | buf[i + 1]);
    i += 1 + buf[i];
    buf[i + 1]++;                   /* the extensions' length, low byte */
    rc = feed(&h, buf, len, 1, &at);
    is_int(rc, FY_DECLINED, "extensions longer than the hello: declined");
    is_str(h.server_name, "", "declined: no name");

    /* an SNI name length past its list */
    memcpy(buf, hello, len);
    for (i = 0; i + 9 < len; i++) {
        if (memcmp(buf + i, "b.example", 9) == 0) {
            break;
        }
    }
    buf[i - 1] = 200;               /* the name's length, low byte */
    rc = feed(&h, buf, len, len, &at);
    is_int(rc, FY_DECLINED, "a name longer than its list: declined");

    /* not TLS */
    rc = feed(&h, (const u_char *) "GET / HTTP/1.1\r\n", 16, 16, &at);
    is_int(rc, FY_DECLINED, "HTTP: declined");
    is_int(at, 16, "HTTP: declined at once");
    rc = feed(&h, (const u_char *) "SSH-2.0-OpenSSH_9.6\r\n", 21, 1, &at);
    is_int(rc, FY_DECLINED, "SSH: declined");
    is_int(at, 1, "SSH: declined at its first byte");
    rc = feed(&h, (const u_char *) "\x16\x03\x01\x00\x00", 5, 5, &at);
    is_int(rc, FY_DECLINED, "an empty handshake record: declined");
    rc = feed(&h, (const u_char *) "\x16\x03\x01\x00\x04\x02\x00\x00\x00",
              9, 9, &at);
    is_int(rc, FY_DECLINED, "a ServerHello: declined");
    rc = feed(&h, (const u_char *) "\x15\x03\x01\x00\x02\x02\x28", 7, 7,
              &at);
    is_int(rc, FY_DECLINED, "an alert: declined");
    is_int(fy_tls_hello_parse(&h, hello, len), FY_DECLINED,
           "declined stays declined");

    return done_testing();
}
