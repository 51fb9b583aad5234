/*
 * fy_tls_early.c -- TLS 1.3 early data (0-RTT) on client connections:
 * ssl_early_data on (see fy_tls.h and docs/tls.md#early-data).
 *
 * A resumed client may send its request with its ClientHello.  The
 * handshake then reads with SSL_read_early_data (fy_tls_early_
 * handshake): once early data has come, HTTP starts before the client's
 * Finished, and fy_conn_recv / fy_conn_send go on with
 * SSL_read_early_data / SSL_write_early_data (fy_tls_early_read) until
 * the client's EndOfEarlyData; after it, SSL_read and SSL_write end the
 * handshake as they do for any connection.
 *
 * Replays.  OpenSSL's own anti-replay works with its session cache:
 * with it on, every TLS 1.3 ticket becomes a session-cache entry that
 * is removed at its first use.  With ferry's default (no session
 * cache, stateless tickets shared by all workers through one key) no
 * ticket could be found again, so nothing would resume; with a
 * per-process cache a ticket would resume only on the worker that
 * issued it.  So OpenSSL's check is off (SSL_OP_NO_ANTI_REPLAY) and
 * this file keeps its own record instead: each ticket whose early data
 * is accepted is written in a table that the master maps once (shared
 * by every worker, kept across reloads) until the ticket expires; a
 * second ClientHello with the same ticket finds it there and its
 * early data is rejected (the handshake is completed and the request,
 * resent by the client, served as usual).  A ticket is known by a
 * digest of its PSK, which is distinct for every ticket issued.
 */
#include "fy_core.h"
#include "fy_tls.h"
#include "fy_shm.h"
#include "fy_log.h"

#include <sys/mman.h>
#include <openssl/ssl.h>
#include <openssl/err.h>
#include <openssl/evp.h>

/* nginx's: its buffer size */
#define FY_TLS_EARLY_MAX     16384

/* The table: 2^16 slots of 24 bytes (1.5 MiB), looked at in runs of
 * FY_TLS_EARLY_PROBE from the slot the digest names. */
#define FY_TLS_EARLY_SLOTS   65536
#define FY_TLS_EARLY_PROBE   64

/* OpenSSL accepts early data only from a ticket whose age the client
 * states within 10 seconds of the server's count: a ticket is kept at
 * least this long even if it expires sooner (clocks differ) */
#define FY_TLS_EARLY_MIN_KEEP  60

typedef struct {
    u_char    key[16];            /* SHA-256 of the ticket's PSK, cut */
    int64_t   expires;            /* wall clock, s; 0: free */
} fy_tls_early_slot_t;

typedef struct {
    fy_shm_lock_t        lock;
    fy_tls_early_slot_t  slots[FY_TLS_EARLY_SLOTS];
} fy_tls_early_table_t;

/* Mapped by the master at the first context with early data, before
 * the workers are forked; never unmapped (it outlives reloads). */
static fy_tls_early_table_t  *fy_tls_early_table;

/* The key of the ticket ssl resumes: 0, or -1 if it has none. */
static int
fy_tls_early_key(SSL *ssl, u_char key[16])
{
    SSL_SESSION  *sess = SSL_get_session(ssl);
    u_char        psk[SSL_MAX_MASTER_KEY_LENGTH], sum[EVP_MAX_MD_SIZE];
    unsigned      sumlen;
    size_t        len;
    int           ok;

    if (sess == NULL) {
        return -1;
    }
    len = SSL_SESSION_get_master_key(sess, psk, sizeof(psk));
    ok = len && EVP_Digest(psk, len, sum, &sumlen, EVP_sha256(), NULL) == 1;
    OPENSSL_cleanse(psk, sizeof(psk));
    if (!ok) {
        ERR_clear_error();
        return -1;
    }
    memcpy(key, sum, 16);
    return 0;
}

/*
 * OpenSSL asks whether the early data of a resumed TLS 1.3 handshake
 * may be accepted: 1 once for a ticket, 0 for its replays -- and when
 * the table has no room near the ticket's slot for one more (early
 * data then waits for the handshake rather than go unrecorded).
 */
static int
fy_tls_early_allow(SSL *ssl, void *arg)
{
    fy_tls_early_table_t  *t = fy_tls_early_table;
    fy_tls_early_slot_t   *s, *room = NULL;
    SSL_SESSION           *sess;
    u_char                 key[16];
    int64_t                now, expires;
    uint32_t               i, at;
    int                    seen = 0;

    fy_unused(arg);
    if (t == NULL || fy_tls_early_key(ssl, key) != 0) {
        return 0;
    }
    sess = SSL_get_session(ssl);
    now = (int64_t) time(NULL);
    expires = (int64_t) SSL_SESSION_get_time(sess)
              + SSL_SESSION_get_timeout(sess);
    if (expires < now + FY_TLS_EARLY_MIN_KEEP) {
        expires = now + FY_TLS_EARLY_MIN_KEEP;
    }
    memcpy(&at, key, sizeof(at));

    fy_shm_lock(&t->lock);
    for (i = 0; i < FY_TLS_EARLY_PROBE; i++) {
        s = &t->slots[(at + i) % FY_TLS_EARLY_SLOTS];
        if (s->expires <= now) {
            if (room == NULL) {
                room = s;
            }
            continue;
        }
        if (memcmp(s->key, key, sizeof(key)) == 0) {
            seen = 1;
            break;
        }
    }
    if (!seen && room) {
        memcpy(room->key, key, sizeof(key));
        room->expires = expires;
    }
    fy_shm_unlock(&t->lock);

    if (seen) {
        fy_log_error(FY_LOG_INFO, 0, "early data rejected: the session "
                     "ticket was used for early data before");
        return 0;
    }
    if (room == NULL) {
        fy_log_error(FY_LOG_INFO, 0, "early data rejected: no room to "
                     "record the session ticket");
        return 0;
    }
    return 1;
}

int
fy_tls_early_ctx(void *ctx, const fy_tls_conf_t *conf, const char *what)
{
    void  *p;

    if (!conf->early_data) {
        return FY_OK;
    }
    if (fy_tls_early_table == NULL) {
        p = mmap(NULL, sizeof(fy_tls_early_table_t), PROT_READ | PROT_WRITE,
                 MAP_SHARED | MAP_ANONYMOUS, -1, 0);
        if (p == MAP_FAILED) {
            fy_log_error(FY_LOG_EMERG, errno, "mmap(%zu) failed for the "
                         "early data of %s", sizeof(fy_tls_early_table_t),
                         what);
            return FY_ERROR;
        }
        fy_tls_early_table = p;         /* zeroed: every slot free */
    }
    if (SSL_CTX_set_max_early_data(ctx, FY_TLS_EARLY_MAX) != 1) {
        fy_log_error(FY_LOG_EMERG, 0, "SSL_CTX_set_max_early_data() failed "
                     "for %s: %s", what, fy_tls_error());
        return FY_ERROR;
    }
    /* stateless tickets, any worker; the replay check is ours */
    SSL_CTX_set_options(ctx, SSL_OP_NO_ANTI_REPLAY);
    SSL_CTX_set_allow_early_data_cb(ctx, fy_tls_early_allow, NULL);
    return FY_OK;
}

int
fy_tls_early_handshake(fy_conn_t *c)
{
    size_t  n;
    int     rc;

    ERR_clear_error();
    rc = SSL_read_early_data(c->ssl, &c->tls_early_byte, 1, &n);
    if (rc == SSL_READ_EARLY_DATA_SUCCESS) {
        /* HTTP starts now, before the client's Finished */
        c->tls_early_hs = 0;
        c->tls_early = 1;
        c->tls_early_pre = n == 1;
        return FY_OK;
    }
    if (rc == SSL_READ_EARLY_DATA_FINISH) {
        /* none sent, or rejected: the rest is an ordinary handshake */
        c->tls_early_hs = 0;
        return FY_DECLINED;
    }
    return FY_ERROR;              /* SSL_get_error says why */
}

int
fy_tls_early_read(fy_conn_t *c, u_char *buf, size_t size, size_t *n)
{
    int  rc;

    if (c->tls_early_pre) {
        buf[0] = c->tls_early_byte;
        c->tls_early_pre = 0;
        *n = 1;
        return 1;
    }
    rc = SSL_read_early_data(c->ssl, buf, size, n);
    if (rc == SSL_READ_EARLY_DATA_SUCCESS) {
        return 1;
    }
    if (rc == SSL_READ_EARLY_DATA_FINISH) {
        c->tls_early = 0;
        return 2;
    }
    return 0;
}

int
fy_tls_agreed(fy_conn_t *c)
{
    return SSL_is_init_finished(c->ssl)
           || SSL_get_early_data_status(c->ssl) == SSL_EARLY_DATA_ACCEPTED;
}
