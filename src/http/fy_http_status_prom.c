/*
 * fy_http_status_prom.c -- the status snapshot in the Prometheus text
 * exposition format (version 0.0.4), for ?format=prometheus, a
 * "status prometheus;" location, or a scraper's Accept header.
 *
 * Conventions kept (and checked by `promtool check metrics` in
 * t/status.t): every name starts with ferry_, every family has HELP
 * and TYPE, counters end in _total, units are base units (seconds,
 * bytes), response times are histograms with cumulative _bucket
 * series, _sum and _count.  All samples of a family are written
 * together, as the format requires, so each family loops over the
 * workers or servers itself.  docs/status.md lists every metric.
 */
#include "fy_core.h"
#include "fy_http.h"
#include "fy_http_status.h"

#define fy_ull(v)  ((unsigned long long) (v))

static void
fy_prom_family(fy_http_status_out_t *o, const char *name, const char *type,
    const char *help)
{
    fy_http_status_printf(o, "# HELP ferry_%s %s\n# TYPE ferry_%s %s\n",
                          name, help, name, type);
}

/* A label value: backslash, double quote and newline escaped. */
static void
fy_prom_value(fy_http_status_out_t *o, const char *s)
{
    for ( /* void */ ; *s; s++) {
        if (*s == '\\' || *s == '"') {
            fy_http_status_printf(o, "\\%c", *s);
        } else if (*s == '\n') {
            fy_http_status_write(o, "\\n", 2);
        } else {
            fy_http_status_write(o, s, 1);
        }
    }
}

/* seconds from milliseconds, exactly: "1.005", not 1.0049999; then
 * what ends the sample (newline) or the label ("\"") */
static void
fy_prom_seconds(fy_http_status_out_t *o, uint64_t ms, const char *end)
{
    fy_http_status_printf(o, "%llu.%03llu%s", fy_ull(ms / 1000),
                          fy_ull(ms % 1000), end);
}

static void
fy_prom_global(fy_http_status_out_t *o, fy_http_status_t *st)
{
    unsigned  i;

    fy_prom_family(o, "info", "gauge", "ferry's version, always 1.");
    fy_http_status_printf(o, "ferry_info{version=\"%s\"} 1\n", FY_VERSION);

    fy_prom_family(o, "start_time_seconds", "gauge",
                   "When the master process started, seconds since the "
                   "epoch.");
    fy_http_status_printf(o, "ferry_start_time_seconds ");
    fy_prom_seconds(o, st->start_ms, "\n");

    fy_prom_family(o, "config_generation", "gauge",
                   "Configuration generation: 1 at start, one more for "
                   "each successful reload.");
    fy_http_status_printf(o, "ferry_config_generation %llu\n",
                          fy_ull(st->generation));

    fy_prom_family(o, "reloads_total", "counter", "Successful reloads.");
    fy_http_status_printf(o, "ferry_reloads_total %llu\n",
                          fy_ull(st->reloads));
    fy_prom_family(o, "reload_failures_total", "counter",
                   "Reloads refused; the previous configuration kept "
                   "serving.");
    fy_http_status_printf(o, "ferry_reload_failures_total %llu\n",
                          fy_ull(st->reloads_failed));

    fy_prom_family(o, "lifecycle_events_total", "counter",
                   "Worker lifecycle events counted by the master: "
                   "processes started, respawned after a death, crashes, "
                   "kills for a missed heartbeat, recycles for memory, "
                   "kills at worker_shutdown_timeout, slots disabled, "
                   "keep-alive connections handed back (and failed).");
    for (i = 0; i < FY_STATUS_NEVENTS; i++) {
        fy_http_status_printf(o, "ferry_lifecycle_events_total{event=\"%s\"} "
                              "%llu\n", fy_http_status_events[i].name,
                              fy_ull(st->events[i]));
    }

    if (st->reload_ms) {
        fy_prom_family(o, "last_reload_time_seconds", "gauge",
                       "When the last reload was attempted, seconds since "
                       "the epoch.");
        fy_http_status_printf(o, "ferry_last_reload_time_seconds ");
        fy_prom_seconds(o, st->reload_ms, "\n");
        fy_prom_family(o, "last_reload_success", "gauge",
                       "1 if the last reload succeeded, 0 if it failed.");
        fy_http_status_printf(o, "ferry_last_reload_success %llu\n",
                              fy_ull(st->reload_ok));
    }

    fy_prom_family(o, "connections_accepted_total", "counter",
                   "Client connections accepted by the master.");
    fy_http_status_printf(o, "ferry_connections_accepted_total %llu\n",
                          fy_ull(st->accepted));
    fy_prom_family(o, "connections_dispatched_total", "counter",
                   "Client connections handed to a worker.");
    fy_http_status_printf(o, "ferry_connections_dispatched_total %llu\n",
                          fy_ull(st->dispatched));
    fy_prom_family(o, "connections_dispatch_failed_total", "counter",
                   "Client connections accepted that no worker could "
                   "take (closed).");
    fy_http_status_printf(o, "ferry_connections_dispatch_failed_total %llu\n",
                          fy_ull(st->dispatch_failed));
    fy_prom_family(o, "connections_handled_total", "counter",
                   "Client connections set up by the workers.");
    fy_http_status_printf(o, "ferry_connections_handled_total %llu\n",
                          fy_ull(st->handled));

    fy_prom_family(o, "connections", "gauge",
                   "Client connections open now, by what they are doing "
                   "(as stub_status's Reading, Writing, Waiting).");
    fy_http_status_printf(o, "ferry_connections{state=\"reading\"} %llu\n"
                          "ferry_connections{state=\"writing\"} %llu\n"
                          "ferry_connections{state=\"waiting\"} %llu\n",
                          fy_ull(st->reading), fy_ull(st->writing),
                          fy_ull(st->waiting));

    fy_prom_family(o, "requests_total", "counter",
                   "Client requests answered, all workers.");
    fy_http_status_printf(o, "ferry_requests_total %llu\n",
                          fy_ull(st->requests));
}

/* One gauge or counter per worker slot; field is an offset into
 * fy_http_status_worker_t of a uint64_t. */
typedef struct {
    const char  *name;
    const char  *type;
    const char  *help;
    size_t       field;
    unsigned     alive_only:1;  /* no sample for a dead slot */
} fy_prom_worker_metric_t;

static const fy_prom_worker_metric_t  fy_prom_worker_metrics[] = {
    { "worker_pid", "gauge", "Process id of the worker in the slot.",
      offsetof(fy_http_status_worker_t, pid), 1 },
    { "worker_generation", "gauge",
      "Configuration generation the worker runs.",
      offsetof(fy_http_status_worker_t, generation), 0 },
    { "worker_restarts_total", "counter",
      "Times the slot's process was replaced after it died.",
      offsetof(fy_http_status_worker_t, restarts), 0 },
    { "worker_connections_active", "gauge",
      "Client connections the worker has open now.",
      offsetof(fy_http_status_worker_t, active), 0 },
    { "worker_connections_handled_total", "counter",
      "Client connections the slot's processes set up.",
      offsetof(fy_http_status_worker_t, handled), 0 },
    { "worker_dispatched_total", "counter",
      "Client connections the master handed to the slot.",
      offsetof(fy_http_status_worker_t, dispatched), 0 },
    { "worker_requests_total", "counter",
      "Client requests the slot's processes answered.",
      offsetof(fy_http_status_worker_t, requests), 0 },
    { "worker_received_bytes_total", "counter",
      "Bytes read from clients.",
      offsetof(fy_http_status_worker_t, bytes_in), 0 },
    { "worker_sent_bytes_total", "counter",
      "Bytes written to clients.",
      offsetof(fy_http_status_worker_t, bytes_out), 0 },
    { "worker_resident_memory_bytes", "gauge",
      "Resident set size of the worker process (0 when dead).",
      offsetof(fy_http_status_worker_t, rss), 0 },
    { NULL, NULL, NULL, 0, 0 }
};

static void
fy_prom_workers(fy_http_status_out_t *o, fy_http_status_t *st)
{
    static const uint64_t           states[] = {
        FY_WORKER_STARTING, FY_WORKER_RUNNING, FY_WORKER_DRAINING,
        FY_WORKER_EXITED, FY_WORKER_DISABLED
    };
    const fy_prom_worker_metric_t  *m;
    fy_http_status_worker_t        *w;
    unsigned                        i, j;

    /* a state set: one series per state, 1 for the current one */
    fy_prom_family(o, "worker_state", "gauge",
                   "1 for the state the worker slot is in, 0 for the "
                   "others.");
    for (i = 0; i < st->nworkers; i++) {
        w = &st->workers[i];
        for (j = 0; j < fy_nelems(states); j++) {
            fy_http_status_printf(o, "ferry_worker_state{worker=\"%u\","
                "state=\"%s\"} %d\n", w->slot,
                fy_http_status_worker_state(states[j]),
                w->state == states[j]);
        }
    }

    fy_prom_family(o, "worker_start_time_seconds", "gauge",
                   "When the worker process started, seconds since the "
                   "epoch.");
    for (i = 0; i < st->nworkers; i++) {
        w = &st->workers[i];
        if (w->pid) {
            fy_http_status_printf(o, "ferry_worker_start_time_seconds"
                                  "{worker=\"%u\"} ", w->slot);
            fy_prom_seconds(o, w->started_ms, "\n");
        }
    }

    fy_prom_family(o, "worker_heartbeat_age_seconds", "gauge",
                   "Time since the worker's last heartbeat.");
    for (i = 0; i < st->nworkers; i++) {
        w = &st->workers[i];
        if (w->pid) {
            fy_http_status_printf(o, "ferry_worker_heartbeat_age_seconds"
                                  "{worker=\"%u\"} ", w->slot);
            fy_prom_seconds(o, st->now_ms > w->heartbeat_ms
                               ? st->now_ms - w->heartbeat_ms : 0, "\n");
        }
    }

    for (m = fy_prom_worker_metrics; m->name; m++) {
        fy_prom_family(o, m->name, m->type, m->help);
        for (i = 0; i < st->nworkers; i++) {
            w = &st->workers[i];
            if (m->alive_only && w->pid == 0) {
                continue;
            }
            fy_http_status_printf(o, "ferry_%s{worker=\"%u\"} %llu\n",
                m->name, w->slot,
                fy_ull(*(uint64_t *) ((u_char *) w + m->field)));
        }
    }
}

static void
fy_prom_labels(fy_http_status_out_t *o, fy_http_status_peer_t *p)
{
    fy_http_status_write(o, "upstream=\"", 10);
    fy_prom_value(o, p->upstream);
    fy_http_status_write(o, "\",server=\"", 10);
    fy_prom_value(o, p->addr);
    fy_http_status_write(o, "\"", 1);
}

typedef struct {
    const char  *name;
    const char  *type;
    const char  *help;
    size_t       field;
} fy_prom_peer_metric_t;

static const fy_prom_peer_metric_t  fy_prom_peer_metrics[] = {
    { "upstream_server_weight", "gauge", "Configured weight.",
      offsetof(fy_http_status_peer_t, weight) },
    { "upstream_server_active", "gauge",
      "Requests in progress on the server, all workers.",
      offsetof(fy_http_status_peer_t, active) },
    { "upstream_server_requests_total", "counter",
      "Requests sent to the server.",
      offsetof(fy_http_status_peer_t, requests) },
    { "upstream_server_failures_total", "counter",
      "Failed attempts (connect errors, timeouts, bad responses).",
      offsetof(fy_http_status_peer_t, failures) },
    { "upstream_server_retries_total", "counter",
      "Requests passed on from this server to another one.",
      offsetof(fy_http_status_peer_t, retries) },
    { "upstream_server_received_bytes_total", "counter",
      "Bytes read from the server.",
      offsetof(fy_http_status_peer_t, bytes_in) },
    { "upstream_server_sent_bytes_total", "counter",
      "Bytes written to the server.",
      offsetof(fy_http_status_peer_t, bytes_out) },
    { NULL, NULL, NULL, 0 }
};

static void
fy_prom_peers(fy_http_status_out_t *o, fy_http_status_t *st)
{
    static const uint64_t         states[] = {
        FY_PEER_UP, FY_PEER_DOWN, FY_PEER_UNAVAILABLE, FY_PEER_DRAINING,
        FY_PEER_BACKUP
    };
    const fy_prom_peer_metric_t  *m;
    fy_http_status_peer_t        *p;
    uint64_t                      cum;
    unsigned                      i, j;

    if (st->npeers == 0) {
        return;
    }

    fy_prom_family(o, "upstream_server_state", "gauge",
                   "1 for the state the upstream server is in, 0 for the "
                   "others.");
    for (i = 0; i < st->npeers; i++) {
        p = &st->peers[i];
        for (j = 0; j < fy_nelems(states); j++) {
            fy_http_status_printf(o, "ferry_upstream_server_state{");
            fy_prom_labels(o, p);
            fy_http_status_printf(o, ",state=\"%s\"} %d\n",
                                  fy_http_status_peer_state(states[j]),
                                  p->state == states[j]);
        }
    }

    for (m = fy_prom_peer_metrics; m->name; m++) {
        fy_prom_family(o, m->name, m->type, m->help);
        for (i = 0; i < st->npeers; i++) {
            p = &st->peers[i];
            fy_http_status_printf(o, "ferry_%s{", m->name);
            fy_prom_labels(o, p);
            fy_http_status_printf(o, "} %llu\n",
                fy_ull(*(uint64_t *) ((u_char *) p + m->field)));
        }
    }

    fy_prom_family(o, "upstream_server_responses_total", "counter",
                   "Responses from the server by status class.");
    for (i = 0; i < st->npeers; i++) {
        p = &st->peers[i];
        for (j = 0; j < 5; j++) {
            fy_http_status_printf(o, "ferry_upstream_server_responses_total{");
            fy_prom_labels(o, p);
            fy_http_status_printf(o, ",code=\"%uxx\"} %llu\n", j + 1,
                                  fy_ull(p->responses[j]));
        }
    }

    fy_prom_family(o, "upstream_server_health_check_up", "gauge",
                   "1 if the last active health check passed, 0 if not "
                   "(servers that were checked).");
    for (i = 0; i < st->npeers; i++) {
        p = &st->peers[i];
        if (p->check_ms) {
            fy_http_status_printf(o, "ferry_upstream_server_health_check_up{");
            fy_prom_labels(o, p);
            fy_http_status_printf(o, "} %llu\n", fy_ull(p->check_ok != 0));
        }
    }
    fy_prom_family(o, "upstream_server_health_check_time_seconds", "gauge",
                   "When the server was last checked, seconds since the "
                   "epoch.");
    for (i = 0; i < st->npeers; i++) {
        p = &st->peers[i];
        if (p->check_ms) {
            fy_http_status_printf(o,
                "ferry_upstream_server_health_check_time_seconds{");
            fy_prom_labels(o, p);
            fy_http_status_write(o, "} ", 2);
            fy_prom_seconds(o, p->check_ms, "\n");
        }
    }

    fy_prom_family(o, "upstream_server_response_time_seconds", "histogram",
                   "Time from sending the request to the end of the "
                   "response.");
    for (i = 0; i < st->npeers; i++) {
        p = &st->peers[i];
        cum = 0;
        for (j = 0; j < FY_RT_BUCKETS; j++) {
            cum += p->rt_buckets[j];
            fy_http_status_printf(o,
                "ferry_upstream_server_response_time_seconds_bucket{");
            fy_prom_labels(o, p);
            fy_http_status_write(o, ",le=\"", 5);
            if (j == FY_RT_BUCKETS - 1) {
                fy_http_status_write(o, "+Inf\"", 5);
            } else {
                fy_prom_seconds(o, fy_rt_bounds_ms[j], "\"");
            }
            fy_http_status_printf(o, "} %llu\n", fy_ull(cum));
        }
        fy_http_status_printf(o,
            "ferry_upstream_server_response_time_seconds_sum{");
        fy_prom_labels(o, p);
        fy_http_status_write(o, "} ", 2);
        fy_prom_seconds(o, p->rt_sum_ms, "\n");
        fy_http_status_printf(o,
            "ferry_upstream_server_response_time_seconds_count{");
        fy_prom_labels(o, p);
        fy_http_status_printf(o, "} %llu\n", fy_ull(p->rt_count));
    }
}

static const char *
fy_prom_kind(unsigned kind)
{
    return kind == FY_HTTP_STATUS_LIMIT_REQ ? "limit_req" : "limit_conn";
}

/* The zones of limit_req_zone and limit_conn_zone: a family is written
 * only when there is a zone of its kind. */
static void
fy_prom_zones(fy_http_status_out_t *o, fy_http_status_t *st)
{
    fy_http_status_zone_t  *z;
    unsigned                i, j, kind, nreq = 0;

    if (st->nzones == 0) {
        return;
    }
    for (i = 0; i < st->nzones; i++) {
        nreq += st->zones[i].kind == FY_HTTP_STATUS_LIMIT_REQ;
    }

    for (kind = FY_HTTP_STATUS_LIMIT_REQ; kind <= FY_HTTP_STATUS_LIMIT_CONN;
         kind++)
    {
        if ((kind == FY_HTTP_STATUS_LIMIT_REQ && nreq == 0)
            || (kind == FY_HTTP_STATUS_LIMIT_CONN && nreq == st->nzones))
        {
            continue;
        }
        if (kind == FY_HTTP_STATUS_LIMIT_REQ) {
            fy_prom_family(o, "limit_req_requests_total", "counter",
                           "Requests checked by a limit_req zone, by "
                           "result: passed, delayed, rejected, and what "
                           "limit_req_dry_run would have delayed or "
                           "rejected.");
        } else {
            fy_prom_family(o, "limit_conn_connections_total", "counter",
                           "Requests checked by a limit_conn zone, by "
                           "result: passed, rejected, and what "
                           "limit_conn_dry_run would have rejected.");
        }
        for (i = 0; i < st->nzones; i++) {
            z = &st->zones[i];
            if (z->kind != kind) {
                continue;
            }
            for (j = 0; j < FY_STATUS_NRESULTS; j++) {
                if (kind == FY_HTTP_STATUS_LIMIT_CONN
                    && !fy_http_status_limit_results[j].conn)
                {
                    continue;
                }
                fy_http_status_printf(o, "ferry_%s{zone=\"",
                    kind == FY_HTTP_STATUS_LIMIT_REQ
                    ? "limit_req_requests_total"
                    : "limit_conn_connections_total");
                fy_prom_value(o, z->name);
                fy_http_status_printf(o, "\",result=\"%s\"} %llu\n",
                                      fy_http_status_limit_results[j].name,
                                      fy_ull(z->results[j]));
            }
        }
    }

    if (nreq < st->nzones) {
        fy_prom_family(o, "limit_conn_active", "gauge",
                       "Connections a limit_conn zone counts now, all "
                       "keys and workers.");
        for (i = nreq; i < st->nzones; i++) {
            fy_http_status_printf(o, "ferry_limit_conn_active{zone=\"");
            fy_prom_value(o, st->zones[i].name);
            fy_http_status_printf(o, "\"} %llu\n",
                                  fy_ull(st->zones[i].active));
        }
    }

    fy_prom_family(o, "limit_zone_keys", "gauge",
                   "Keys a limit_req or limit_conn zone holds now.");
    for (i = 0; i < st->nzones; i++) {
        z = &st->zones[i];
        fy_http_status_printf(o, "ferry_limit_zone_keys{zone=\"");
        fy_prom_value(o, z->name);
        fy_http_status_printf(o, "\",kind=\"%s\"} %llu\n",
                              fy_prom_kind(z->kind), fy_ull(z->keys));
    }
    fy_prom_family(o, "limit_zone_capacity", "gauge",
                   "Entries a zone has room for (a limit_conn zone "
                   "spends one per key and one per connection).");
    for (i = 0; i < st->nzones; i++) {
        z = &st->zones[i];
        fy_http_status_printf(o, "ferry_limit_zone_capacity{zone=\"");
        fy_prom_value(o, z->name);
        fy_http_status_printf(o, "\",kind=\"%s\"} %llu\n",
                              fy_prom_kind(z->kind), fy_ull(z->capacity));
    }
}

/* The proxy_cache_path zones: written only when there is one. */
static void
fy_prom_caches(fy_http_status_out_t *o, fy_http_status_t *st)
{
    fy_http_status_cache_t  *c;
    unsigned                 i, j, nmax = 0;

    if (st->ncaches == 0) {
        return;
    }
    fy_prom_family(o, "cache_requests_total", "counter",
                   "Requests that used a proxy cache zone, by their "
                   "$upstream_cache_status in lower case.");
    for (i = 0; i < st->ncaches; i++) {
        c = &st->caches[i];
        nmax += c->max_size != 0;
        for (j = 0; j < FY_STATUS_NCACHE; j++) {
            fy_http_status_printf(o, "ferry_cache_requests_total{zone=\"");
            fy_prom_value(o, c->name);
            fy_http_status_printf(o, "\",cache_status=\"%s\"} %llu\n",
                                  fy_http_status_cache_results[j],
                                  fy_ull(c->results[j]));
        }
    }
    fy_prom_family(o, "cache_entries", "gauge",
                   "Entries a proxy cache zone holds now, all workers.");
    for (i = 0; i < st->ncaches; i++) {
        fy_http_status_printf(o, "ferry_cache_entries{zone=\"");
        fy_prom_value(o, st->caches[i].name);
        fy_http_status_printf(o, "\"} %llu\n",
                              fy_ull(st->caches[i].entries));
    }
    fy_prom_family(o, "cache_size_bytes", "gauge",
                   "Size on disk of a proxy cache zone's entries, in "
                   "1 KiB blocks as max_size counts them.");
    for (i = 0; i < st->ncaches; i++) {
        fy_http_status_printf(o, "ferry_cache_size_bytes{zone=\"");
        fy_prom_value(o, st->caches[i].name);
        fy_http_status_printf(o, "\"} %llu\n", fy_ull(st->caches[i].bytes));
    }
    if (nmax == 0) {
        return;
    }
    fy_prom_family(o, "cache_max_size_bytes", "gauge",
                   "A proxy cache zone's max_size (zones that have one).");
    for (i = 0; i < st->ncaches; i++) {
        if (st->caches[i].max_size == 0) {
            continue;
        }
        fy_http_status_printf(o, "ferry_cache_max_size_bytes{zone=\"");
        fy_prom_value(o, st->caches[i].name);
        fy_http_status_printf(o, "\"} %llu\n",
                              fy_ull(st->caches[i].max_size));
    }
}

void
fy_http_status_prom(fy_http_status_out_t *o, fy_http_status_t *st)
{
    fy_prom_global(o, st);
    fy_prom_workers(o, st);
    fy_prom_peers(o, st);
    fy_prom_zones(o, st);
    fy_prom_caches(o, st);
}
