/*
 * fy_http_upstream_srv.c -- "server HOST service=NAME resolve" in
 * upstream blocks, http's and stream's (nginx >= 1.27.3): the servers
 * of the line come from the DNS SRV records of "_NAME._tcp.HOST" (or
 * "NAME.HOST" when NAME has a dot):
 *
 *   upstream app {
 *       zone app 64k;
 *       server app.internal service=http resolve;
 *   }
 *
 * A worker's turn for the line (fy_upresolve_srv_resolve): the SRV
 * records, then every record's target asked for its addresses (A, and
 * AAAA with the resolver's ipv6=on), all at once on the worker's loop.
 * When the last has answered, each address becomes a server with the
 * record's port, and its weight (nginx: 0 counts as 1; a weight= on
 * the line other than 1 wins over it); those of the lowest priority
 * value are the primary servers, the others backups -- with "backup"
 * on the line the lowest are backups and the others left out.  The
 * slots are written as for "resolve" (fy_http_upstream_resolve.c),
 * and the next turn comes when the first of the answers (the SRV
 * records', a target's) leaves the cache.
 *
 * As nginx: a failure of the SRV question other than "no such name"
 * keeps the servers and asks again soon; so does a turn where no
 * target resolved and none is unknown.  A target that fails is logged
 * and the others' addresses are used.
 */
#include "fy_core.h"
#include "fy_http.h"
#include "fy_http_upresolve.h"
#include "fy_resolver.h"

static void fy_upresolve_srv_done(fy_resolver_wait_t *w);
static void fy_upresolve_target_done(fy_resolver_wait_t *w);

void
fy_upresolve_srv_resolve(fy_http_upresolve_t *r)
{
    int  rc;

    r->wait.handler = fy_upresolve_srv_done;
    r->wait.data = r;
    rc = fy_resolver_resolve_srv(r->u->resolver, r->srvname.data,
                                 r->srvname.len, r->u->resolver_timeout,
                                 &r->wait);
    if (rc == FY_OK) {
        fy_upresolve_srv_done(&r->wait);
    } else if (rc == FY_ERROR) {
        fy_upresolve_next(r, FY_UPRESOLVE_RETRY);
    }
}

/* ms until expires (fy_current_msec), at least the retry delay */
static uint64_t
fy_upresolve_srv_ms(uint64_t expires)
{
    uint64_t  ms;

    ms = expires > fy_current_msec ? expires - fy_current_msec : 0;
    return fy_max(ms, (uint64_t) FY_UPRESOLVE_RETRY);
}

static void
fy_upresolve_srv_retry(fy_http_upresolve_t *r)
{
    fy_upresolve_next(r, (uint64_t) fy_max(r->u->resolver_timeout,
                                           FY_UPRESOLVE_RETRY));
}

/* Every target has answered: the servers of the line. */
static void
fy_upresolve_srv_compose(fy_http_upresolve_t *r)
{
    fy_upresolve_target_t  *t;
    fy_upresolve_addr_t     addrs[2 * FY_DNS_MAX_ADDRS];
    fy_sockaddr_t           sa;
    socklen_t               salen;
    unsigned                i, j, k, n = 0, order[FY_DNS_MAX_SRVS];
    unsigned                min = 65536, backup, nx = 0;
    uint64_t                expires = r->srv_expires;
    char                    text[FY_SOCKADDR_STRLEN];

    for (i = 0; i < r->ntargets; i++) {
        t = &r->targets[i];
        if (t->expires < expires) {
            expires = t->expires;
        }
        if (t->error) {
            /* nginx's words, with ferry's upstream */
            fy_log_error(FY_LOG_ERR, 0, "%s could not be resolved (%d: %s) "
                         "while resolving service %.*s of %.*s for "
                         "upstream \"%.*s\"", t->name, t->error,
                         fy_resolver_strerror(t->error),
                         (int) r->service.len, r->service.data,
                         (int) r->host_len, r->host,
                         (int) r->u->name.len, r->u->name.data);
            nx += t->error == FY_DNS_NXDOMAIN;
            continue;
        }
        min = fy_min(min, (unsigned) t->priority);
    }
    if (min == 65536 && nx == 0 && r->ntargets) {
        /* nothing resolved, and nothing says a target does not exist
         * (timeouts): keep the servers */
        fy_upresolve_srv_retry(r);
        return;
    }

    /* the records by priority, in the answer's order within one: the
     * primary servers first, so that the bound keeps them */
    for (i = 0; i < r->ntargets; i++) {
        for (j = i; j > 0 && r->targets[order[j - 1]].priority
                             > r->targets[i].priority; j--)
        {
            order[j] = order[j - 1];
        }
        order[j] = i;
    }

    for (i = 0; i < r->ntargets; i++) {
        t = &r->targets[order[i]];
        backup = t->priority != min;
        if (r->backup) {
            if (backup) {
                continue;       /* nginx: only the lowest, as backups */
            }
            backup = 1;
        } else if (backup && !r->u->has_backup) {
            continue;           /* a balancer without backup servers */
        }
        for (k = 0; !t->error && k < t->naddrs && n < fy_nelems(addrs);
             k++)
        {
            salen = fy_resolver_sockaddr(&t->addrs[k], t->port, &sa);
            fy_sockaddr_text(&sa.sa, salen, text, sizeof(text), 1);
            for (j = 0; j < n && strcmp(addrs[j].text, text) != 0; j++) {
                /* the same address and port in two records: the first */
            }
            if (j < n) {
                continue;
            }
            memcpy(addrs[n].text, text, sizeof(text));
            addrs[n].weight = r->weight != 1 ? r->weight : t->weight;
            addrs[n].backup = backup;
            n++;
        }
    }
    fy_upresolve_write(r, addrs, n);
    fy_upresolve_next(r, fy_upresolve_srv_ms(expires));
}

/* The answer of target t: kept until all have answered. */
static void
fy_upresolve_target_store(fy_upresolve_target_t *t, fy_resolver_wait_t *w)
{
    t->error = w->error;
    t->naddrs = 0;
    if (!w->error) {
        t->naddrs = fy_min(w->naddrs, (unsigned) fy_nelems(t->addrs));
        memcpy(t->addrs, w->addrs, t->naddrs * sizeof(fy_dns_addr_t));
    }
    t->expires = w->expires;
}

static void
fy_upresolve_target_done(fy_resolver_wait_t *w)
{
    fy_upresolve_target_t  *t = w->data;
    fy_http_upresolve_t    *r = t->r;

    fy_upresolve_target_store(t, w);
    if (--r->pending == 0) {
        fy_upresolve_srv_compose(r);
    }
}

static void
fy_upresolve_srv_done(fy_resolver_wait_t *w)
{
    fy_http_upresolve_t    *r = w->data;
    fy_upresolve_target_t  *t;
    unsigned                i;
    int                     rc;

    if (w->error) {
        fy_log_error(FY_LOG_ERR, 0, "service %.*s of %.*s could not be "
                     "resolved (%d: %s) for upstream \"%.*s\"",
                     (int) r->service.len, r->service.data,
                     (int) r->host_len, r->host, w->error,
                     fy_resolver_strerror(w->error),
                     (int) r->u->name.len, r->u->name.data);
        if (w->error != FY_DNS_NXDOMAIN) {
            fy_upresolve_srv_retry(r);      /* the servers stay */
            return;
        }
        fy_upresolve_write(r, NULL, 0);
        fy_upresolve_next(r, fy_upresolve_srv_ms(w->expires));
        return;
    }

    /* the records first (w's are valid only until this returns, and
     * the targets' lookups below may drop cache entries) */
    r->ntargets = 0;
    r->srv_expires = w->expires;
    for (i = 0; i < w->nsrvs && r->ntargets < FY_DNS_MAX_SRVS; i++) {
        if (w->srvs[i].target[0] == '\0') {
            continue;       /* RFC 2782's ".": no service at that one */
        }
        t = &r->targets[r->ntargets++];
        t->r = r;
        t->priority = w->srvs[i].priority;
        t->weight = w->srvs[i].weight ? w->srvs[i].weight : 1;
        t->port = w->srvs[i].port;
        memcpy(t->name, w->srvs[i].target, sizeof(t->name));
        t->error = 0;
        t->naddrs = 0;
        t->expires = w->expires;
    }

    /* one more than the targets: none completes the turn before all
     * were asked */
    r->pending = r->ntargets + 1;
    for (i = 0; i < r->ntargets; i++) {
        t = &r->targets[i];
        t->wait.handler = fy_upresolve_target_done;
        t->wait.data = t;
        rc = fy_resolver_resolve(r->u->resolver, (u_char *) t->name,
                                 strlen(t->name), r->u->resolver_timeout,
                                 &t->wait);
        if (rc == FY_OK) {
            fy_upresolve_target_store(t, &t->wait);
            r->pending--;
        } else if (rc == FY_ERROR) {
            t->error = FY_DNS_SERVFAIL;
            t->expires = 0;
            r->pending--;
        }
    }
    if (--r->pending == 0) {
        fy_upresolve_srv_compose(r);
    }
}
