/*
 * fy_stream_tls_hello.c -- a resumable ClientHello reader (RFC 8446
 * 4.1.2, RFC 5246 7.4.1.2), fed byte by byte from a saved state, for
 * ssl_preread.
 *
 * Two layers.  The record layer takes off each 5-byte record header
 * (type 22 "handshake", major version 3, a length of 1..16384) and
 * hands the payload on, so a ClientHello cut into several records, or
 * a record cut into several reads, reads the same.  The handshake
 * layer walks the ClientHello: a field is either a big-endian number
 * of 1..3 bytes (read into acc) or a run of bytes to keep or skip.
 * Every length read is checked against what encloses it (the hello,
 * the extension, the list in the extension), so a lying length is
 * "not TLS", never a read past the message.
 *
 * Kept: the first host_name of server_name (0), the protocols of
 * application_layer_protocol_negotiation (16), and the highest TLS
 * version of supported_versions (43) or else the hello's own version.
 */
#include "fy_core.h"
#include "fy_stream_tls_hello.h"

enum {
    FY_TH_TYPE,         /* handshake type: 1 ClientHello */
    FY_TH_LEN,          /* its length, 3 bytes */
    FY_TH_VERSION,      /* from here on: inside the hello */
    FY_TH_RANDOM,
    FY_TH_SID_LEN,
    FY_TH_SID,
    FY_TH_CS_LEN,
    FY_TH_CS,
    FY_TH_COMP_LEN,
    FY_TH_COMP,
    FY_TH_EXTS_LEN,
    FY_TH_EXT_TYPE,
    FY_TH_EXT_LEN,
    FY_TH_EXT_SKIP,     /* from here on: inside an extension */
    FY_TH_SNI_LIST,
    FY_TH_ALPN_LIST,
    FY_TH_SV_LEN,
    FY_TH_SNI_TYPE,     /* from here on: inside a list */
    FY_TH_SNI_LEN,
    FY_TH_SNI_NAME,
    FY_TH_ALPN_LEN,
    FY_TH_ALPN_NAME,
    FY_TH_SV,
    FY_TH_DONE,
    FY_TH_DECLINED
};

/* Bytes of each numeric field; 0: a run of bytes. */
static const uint8_t  fy_th_size[] = {
    [FY_TH_TYPE] = 1, [FY_TH_LEN] = 3, [FY_TH_VERSION] = 2,
    [FY_TH_SID_LEN] = 1, [FY_TH_CS_LEN] = 2, [FY_TH_COMP_LEN] = 1,
    [FY_TH_EXTS_LEN] = 2, [FY_TH_EXT_TYPE] = 2, [FY_TH_EXT_LEN] = 2,
    [FY_TH_SNI_LIST] = 2, [FY_TH_ALPN_LIST] = 2, [FY_TH_SV_LEN] = 1,
    [FY_TH_SNI_TYPE] = 1, [FY_TH_SNI_LEN] = 2, [FY_TH_ALPN_LEN] = 1,
    [FY_TH_SV] = 2, [FY_TH_DONE] = 0, [FY_TH_DECLINED] = 0
};

static int fy_th_run_done(fy_tls_hello_t *h);

void
fy_tls_hello_init(fy_tls_hello_t *h)
{
    memset(h, 0, sizeof(*h));
    h->state = FY_TH_TYPE;
    h->need = 1;
}

static int
fy_th_decline(fy_tls_hello_t *h)
{
    h->state = FY_TH_DECLINED;
    h->version = 0;
    h->server_name[0] = '\0';
    h->server_name_len = 0;
    h->alpn[0] = '\0';
    h->alpn_len = 0;
    return FY_DECLINED;
}

/* Enter state st whose field is len bytes (a run) or the numeric
 * field's size; it must fit in all that encloses it. */
static int
fy_th_go(fy_tls_hello_t *h, unsigned st, uint32_t len)
{
    if (fy_th_size[st]) {
        len = fy_th_size[st];
    }
    if ((st > FY_TH_LEN && len > h->hello_left)
        || (st >= FY_TH_EXT_SKIP && len > h->ext_left)
        || (st >= FY_TH_SNI_TYPE && len > h->list_left))
    {
        return fy_th_decline(h);
    }
    h->state = st;
    h->need = len;
    h->acc = 0;
    if (len == 0) {
        return fy_th_run_done(h);     /* an empty run */
    }
    return FY_AGAIN;
}

/* The hello is over when its last byte was read. */
static int
fy_th_next_ext(fy_tls_hello_t *h)
{
    if (h->hello_left == 0) {
        h->state = FY_TH_DONE;
        return FY_OK;
    }
    return fy_th_go(h, FY_TH_EXT_TYPE, 0);
}

/* The rest of an extension after the part we wanted. */
static int
fy_th_ext_rest(fy_tls_hello_t *h)
{
    if (h->ext_left) {
        return fy_th_go(h, FY_TH_EXT_SKIP, h->ext_left);
    }
    return fy_th_next_ext(h);
}

/* A numeric field is complete: its value is h->acc. */
static int
fy_th_number(fy_tls_hello_t *h)
{
    uint32_t  v = h->acc;

    switch (h->state) {
    case FY_TH_TYPE:
        return v == 1 ? fy_th_go(h, FY_TH_LEN, 0) : fy_th_decline(h);
    case FY_TH_LEN:
        /* version, random, and the three one-byte lengths at least */
        if (v < 2 + 32 + 1 + 2 + 1) {
            return fy_th_decline(h);
        }
        h->hello_left = v;
        return fy_th_go(h, FY_TH_VERSION, 0);
    case FY_TH_VERSION:
        if (v >> 8 != 3) {
            return fy_th_decline(h);
        }
        h->version = v;
        return fy_th_go(h, FY_TH_RANDOM, 32);
    case FY_TH_SID_LEN:
        return v > 32 ? fy_th_decline(h) : fy_th_go(h, FY_TH_SID, v);
    case FY_TH_CS_LEN:
        if (v < 2 || v % 2) {
            return fy_th_decline(h);
        }
        return fy_th_go(h, FY_TH_CS, v);
    case FY_TH_COMP_LEN:
        return v < 1 ? fy_th_decline(h) : fy_th_go(h, FY_TH_COMP, v);
    case FY_TH_EXTS_LEN:
        /* the extensions are the rest of the hello, exactly */
        if (v != h->hello_left) {
            return fy_th_decline(h);
        }
        return fy_th_next_ext(h);
    case FY_TH_EXT_TYPE:
        h->ext_type = v;
        return fy_th_go(h, FY_TH_EXT_LEN, 0);
    case FY_TH_EXT_LEN:
        if (v > h->hello_left) {
            return fy_th_decline(h);
        }
        h->ext_left = v;
        if (h->ext_type == 0 && v && !h->sni_done) {
            return fy_th_go(h, FY_TH_SNI_LIST, 0);
        }
        if (h->ext_type == 16 && v && h->alpn_len == 0) {
            return fy_th_go(h, FY_TH_ALPN_LIST, 0);
        }
        if (h->ext_type == 43 && v) {
            return fy_th_go(h, FY_TH_SV_LEN, 0);
        }
        return fy_th_go(h, FY_TH_EXT_SKIP, v);
    case FY_TH_SNI_LIST:
    case FY_TH_ALPN_LIST:
    case FY_TH_SV_LEN:
        if (v > h->ext_left || (h->state == FY_TH_SV_LEN && v % 2)) {
            return fy_th_decline(h);
        }
        h->list_left = v;
        if (v == 0) {
            return fy_th_ext_rest(h);
        }
        return fy_th_go(h, h->state == FY_TH_SNI_LIST ? FY_TH_SNI_TYPE
                           : h->state == FY_TH_ALPN_LIST ? FY_TH_ALPN_LEN
                           : FY_TH_SV, 0);
    case FY_TH_SNI_TYPE:
        h->item_type = v;
        return fy_th_go(h, FY_TH_SNI_LEN, 0);
    case FY_TH_SNI_LEN:
        h->item_keep = h->item_type == 0 && !h->sni_done;
        if (h->item_keep && (v == 0 || v > FY_TLS_HELLO_NAME_MAX)) {
            return fy_th_decline(h);
        }
        h->server_name_len = h->item_keep ? 0 : h->server_name_len;
        return fy_th_go(h, FY_TH_SNI_NAME, v);
    case FY_TH_ALPN_LEN:
        if (v == 0) {
            return fy_th_decline(h);        /* RFC 7301: not empty */
        }
        /* a protocol that does not fit is left out, and all after it,
         * so the list never has half a name */
        h->item_keep = !h->alpn_full
                       && h->alpn_len + (h->alpn_len > 0) + v
                          <= FY_TLS_HELLO_ALPN_MAX;
        if (!h->item_keep) {
            h->alpn_full = 1;
        } else if (h->alpn_len) {
            h->alpn[h->alpn_len++] = ',';
        }
        return fy_th_go(h, FY_TH_ALPN_NAME, v);
    case FY_TH_SV:
        /* 3.0 (SSLv3) .. 3.4 (TLS 1.3); GREASE values are not */
        if (v >> 8 == 3 && (v & 0xff) <= 4 && v > h->sv_version) {
            h->sv_version = v;
        }
        return h->list_left ? fy_th_go(h, FY_TH_SV, 0) : fy_th_ext_rest(h);
    }
    return fy_th_decline(h);
}

/* A run of bytes is over. */
static int
fy_th_run_done(fy_tls_hello_t *h)
{
    switch (h->state) {
    case FY_TH_RANDOM:
        return fy_th_go(h, FY_TH_SID_LEN, 0);
    case FY_TH_SID:
        return fy_th_go(h, FY_TH_CS_LEN, 0);
    case FY_TH_CS:
        return fy_th_go(h, FY_TH_COMP_LEN, 0);
    case FY_TH_COMP:
        if (h->hello_left == 0) {
            h->state = FY_TH_DONE;      /* no extensions */
            return FY_OK;
        }
        return fy_th_go(h, FY_TH_EXTS_LEN, 0);
    case FY_TH_EXT_SKIP:
        return fy_th_next_ext(h);
    case FY_TH_SNI_NAME:
        if (h->item_keep) {
            h->server_name[h->server_name_len] = '\0';
            h->sni_done = 1;
        }
        return h->list_left ? fy_th_go(h, FY_TH_SNI_TYPE, 0)
                            : fy_th_ext_rest(h);
    case FY_TH_ALPN_NAME:
        h->alpn[h->alpn_len] = '\0';
        return h->list_left ? fy_th_go(h, FY_TH_ALPN_LEN, 0)
                            : fy_th_ext_rest(h);
    }
    return fy_th_decline(h);
}

/* One byte of the handshake message. */
static int
fy_th_byte(fy_tls_hello_t *h, u_char c)
{
    if (h->state > FY_TH_LEN) {
        h->hello_left--;
        if (h->state >= FY_TH_EXT_SKIP) {
            h->ext_left--;
        }
        if (h->state >= FY_TH_SNI_TYPE) {
            h->list_left--;
        }
    }
    if (fy_th_size[h->state]) {
        h->acc = h->acc << 8 | c;
        return --h->need ? FY_AGAIN : fy_th_number(h);
    }
    if (h->item_keep) {
        if (h->state == FY_TH_SNI_NAME) {
            /* kept as sent, as nginx does (no lower-casing) */
            h->server_name[h->server_name_len++] = (char) c;
        } else if (h->state == FY_TH_ALPN_NAME) {
            h->alpn[h->alpn_len++] = (char) c;
        }
    }
    return --h->need ? FY_AGAIN : fy_th_run_done(h);
}

int
fy_tls_hello_parse(fy_tls_hello_t *h, const u_char *p, size_t n)
{
    size_t  i;
    int     rc;

    if (h->state == FY_TH_DONE) {
        return FY_OK;
    }
    if (h->state == FY_TH_DECLINED) {
        return FY_DECLINED;
    }
    for (i = 0; i < n; i++) {
        if (h->rec_left == 0) {
            /* a record header: handshake (22), SSL 3.x / TLS 1.x */
            h->rec_hdr[h->rec_hdr_n++] = p[i];
            if ((h->rec_hdr_n == 1 && p[i] != 22)
                || (h->rec_hdr_n == 2 && p[i] != 3))
            {
                return fy_th_decline(h);
            }
            if (h->rec_hdr_n == 5) {
                h->rec_left = (unsigned) h->rec_hdr[3] << 8 | h->rec_hdr[4];
                h->rec_hdr_n = 0;
                if (h->rec_left == 0 || h->rec_left > 16384) {
                    return fy_th_decline(h);
                }
            }
            continue;
        }
        h->rec_left--;
        rc = fy_th_byte(h, p[i]);
        if (rc != FY_AGAIN) {
            if (rc == FY_OK && h->sv_version) {
                /* RFC 8446 4.2.1: supported_versions is what counts */
                h->version = h->sv_version;
            }
            return rc;
        }
    }
    return FY_AGAIN;
}

int
fy_tls_hello_complete(const fy_tls_hello_t *h)
{
    return h->state == FY_TH_DONE;
}

const char *
fy_tls_hello_protocol(const fy_tls_hello_t *h)
{
    static const char *const  names[] = {
        "SSLv3", "TLSv1", "TLSv1.1", "TLSv1.2", "TLSv1.3"
    };

    if (h->state != FY_TH_DONE || h->version >> 8 != 3
        || (h->version & 0xff) > 4)
    {
        return "";
    }
    return names[h->version & 0xff];
}
