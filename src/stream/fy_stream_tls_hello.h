/*
 * fy_stream_tls_hello.h -- a resumable reader of a TLS ClientHello, for
 * ssl_preread (fy_stream_preread.c): the server name (SNI), the ALPN
 * protocols and the highest protocol version the client offers.
 *
 * Fed whatever bytes arrived, in as many calls as it takes (records
 * may be cut anywhere, a ClientHello may span several records); it
 * reads the bytes and never changes them, so the caller relays them
 * unchanged.  Pure: no sockets, no allocation (fixed-size fields), so
 * t/unit/test_tls_hello.c drives it directly.
 */
#ifndef FY_STREAM_TLS_HELLO_H
#define FY_STREAM_TLS_HELLO_H

#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#define FY_TLS_HELLO_NAME_MAX  255   /* a DNS name is at most 253 */
#define FY_TLS_HELLO_ALPN_MAX  512   /* comma-separated protocols */

typedef struct {
    /* record layer */
    u_char    rec_hdr[5];
    unsigned  rec_hdr_n;        /* header bytes read of the record */
    unsigned  rec_left;         /* payload bytes left in the record */

    /* the handshake message */
    unsigned  state;
    unsigned  need;             /* bytes left of the current field */
    uint32_t  acc;              /* a big-endian number being read */
    uint32_t  hello_left;       /* bytes left of the ClientHello body */
    uint32_t  ext_left;         /* of the current extension */
    uint32_t  list_left;        /* of the list inside the extension */
    unsigned  ext_type;
    unsigned  item_type;        /* of the server_name entry */
    unsigned  sv_version;       /* highest of supported_versions */

    /* what was found; strings are NUL-terminated */
    unsigned  version;          /* 0x0303 = TLS 1.2 ...; 0: none */
    char      server_name[FY_TLS_HELLO_NAME_MAX + 1];
    unsigned  server_name_len;
    char      alpn[FY_TLS_HELLO_ALPN_MAX + 1];
    unsigned  alpn_len;
    unsigned  alpn_full:1;      /* a protocol did not fit: no more */
    unsigned  sni_done:1;       /* the first host_name was taken */
    unsigned  item_keep:1;      /* the run being read is kept */
} fy_tls_hello_t;

/* Start (or restart) h. */
void fy_tls_hello_init(fy_tls_hello_t *h);

/*
 * Read the next n bytes of the client's stream.  Returns FY_OK: the
 * whole ClientHello was read (the fields are set; bytes after it are
 * not looked at); FY_AGAIN: fine so far, more is needed; FY_DECLINED:
 * this is not a TLS ClientHello (or a broken one) - the fields are
 * cleared, as nginx leaves its variables empty then.
 */
int fy_tls_hello_parse(fy_tls_hello_t *h, const u_char *p, size_t n);

/* Whether the whole ClientHello was read (the fields are only
 * meaningful then: a hello cut short by preread_timeout is "none"). */
int fy_tls_hello_complete(const fy_tls_hello_t *h);

/* "TLSv1.2" etc. for h->version, "" for none or an unknown one. */
const char *fy_tls_hello_protocol(const fy_tls_hello_t *h);

#endif /* FY_STREAM_TLS_HELLO_H */
