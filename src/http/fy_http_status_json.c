/*
 * fy_http_status_json.c -- the status snapshot as JSON (?format=json).
 *
 * The schema is documented in docs/status.md; a field is added there
 * when it is added here.  Counters and gauges only: rates need two
 * samples, and whoever reads this has them (the HTML page does).
 * Times are wall-clock milliseconds since the epoch ("_ms") or
 * durations in milliseconds ("age_ms", "uptime_ms"); null means
 * "does not apply" (never reloaded, never checked, a dead worker's pid).
 */
#include "fy_core.h"
#include "fy_http.h"
#include "fy_http_status.h"

#define fy_ull(v)  ((unsigned long long) (v))

/* A JSON string.  "<" is escaped too, so the text can sit inside an
 * HTML <script> element without ending it. */
static void
fy_json_str(fy_http_status_out_t *o, const char *s)
{
    const u_char  *p;

    fy_http_status_write(o, "\"", 1);
    for (p = (const u_char *) s; *p; p++) {
        if (*p == '"' || *p == '\\') {
            fy_http_status_printf(o, "\\%c", *p);
        } else if (*p < 0x20 || *p == '<' || *p == '>' || *p == '&') {
            fy_http_status_printf(o, "\\u%04x", *p);
        } else {
            fy_http_status_write(o, (const char *) p, 1);
        }
    }
    fy_http_status_write(o, "\"", 1);
}

/* a time, or null when it never happened */
static void
fy_json_time(fy_http_status_out_t *o, const char *name, uint64_t ms)
{
    if (ms == 0) {
        fy_http_status_printf(o, "\"%s\":null", name);
    } else {
        fy_http_status_printf(o, "\"%s\":%llu", name, fy_ull(ms));
    }
}

static uint64_t
fy_json_age(uint64_t now, uint64_t then)
{
    return now > then ? now - then : 0;
}

static void
fy_json_worker(fy_http_status_out_t *o, fy_http_status_t *st,
    fy_http_status_worker_t *w)
{
    int  alive = w->pid != 0;

    fy_http_status_printf(o, "{\"slot\":%u,\"state\":", w->slot);
    fy_json_str(o, fy_http_status_worker_state(w->state));
    if (alive) {
        fy_http_status_printf(o, ",\"pid\":%llu,\"generation\":%llu,"
            "\"started_ms\":%llu,\"uptime_ms\":%llu,"
            "\"heartbeat_ms\":%llu,\"heartbeat_age_ms\":%llu",
            fy_ull(w->pid), fy_ull(w->generation), fy_ull(w->started_ms),
            fy_ull(fy_json_age(st->now_ms, w->started_ms)),
            fy_ull(w->heartbeat_ms),
            fy_ull(fy_json_age(st->now_ms, w->heartbeat_ms)));
    } else {
        fy_http_status_printf(o, ",\"pid\":null,\"generation\":%llu,"
            "\"started_ms\":null,\"uptime_ms\":null,"
            "\"heartbeat_ms\":null,\"heartbeat_age_ms\":null",
            fy_ull(w->generation));
    }
    fy_http_status_printf(o, ",\"restarts\":%llu,", fy_ull(w->restarts));
    fy_json_time(o, "exited_ms", w->exited_ms);
    if (w->exited_ms) {
        fy_http_status_printf(o, ",\"exit_status\":%llu",
                              fy_ull(w->exit_status));
    } else {
        fy_http_status_printf(o, ",\"exit_status\":null");
    }
    fy_http_status_printf(o,
        ",\"active\":%llu,\"reading\":%llu,\"writing\":%llu,"
        "\"waiting\":%llu,\"accepted\":%llu,\"handled\":%llu,"
        "\"requests\":%llu,\"bytes_in\":%llu,\"bytes_out\":%llu,"
        "\"rss\":%llu,\"dispatched\":%llu}",
        fy_ull(w->active), fy_ull(w->reading), fy_ull(w->writing),
        fy_ull(w->waiting), fy_ull(w->accepted), fy_ull(w->handled),
        fy_ull(w->requests), fy_ull(w->bytes_in), fy_ull(w->bytes_out),
        fy_ull(w->rss), fy_ull(w->dispatched));
}

static void
fy_json_peer(fy_http_status_out_t *o, fy_http_status_t *st,
    fy_http_status_peer_t *p)
{
    unsigned  i;

    fy_http_status_printf(o, "{\"server\":");
    fy_json_str(o, p->addr);
    fy_http_status_printf(o, ",\"state\":");
    fy_json_str(o, fy_http_status_peer_state(p->state));
    fy_http_status_printf(o,
        ",\"weight\":%llu,\"active\":%llu,\"requests\":%llu,"
        "\"responses\":{\"1xx\":%llu,\"2xx\":%llu,\"3xx\":%llu,"
        "\"4xx\":%llu,\"5xx\":%llu},"
        "\"failures\":%llu,\"retries\":%llu,"
        "\"bytes_in\":%llu,\"bytes_out\":%llu,\"health_check\":",
        fy_ull(p->weight), fy_ull(p->active), fy_ull(p->requests),
        fy_ull(p->responses[0]), fy_ull(p->responses[1]),
        fy_ull(p->responses[2]), fy_ull(p->responses[3]),
        fy_ull(p->responses[4]), fy_ull(p->failures), fy_ull(p->retries),
        fy_ull(p->bytes_in), fy_ull(p->bytes_out));

    if (p->check_ms == 0) {
        fy_http_status_printf(o, "null");
    } else {
        fy_http_status_printf(o, "{\"time_ms\":%llu,\"age_ms\":%llu,"
            "\"ok\":%s,\"status\":%llu}", fy_ull(p->check_ms),
            fy_ull(fy_json_age(st->now_ms, p->check_ms)),
            p->check_ok ? "true" : "false", fy_ull(p->check_code));
    }

    fy_http_status_printf(o, ",\"response_time_ms\":{\"count\":%llu,"
        "\"sum\":%llu,\"buckets\":[", fy_ull(p->rt_count),
        fy_ull(p->rt_sum_ms));
    for (i = 0; i < FY_RT_BUCKETS; i++) {
        if (i == FY_RT_BUCKETS - 1) {
            fy_http_status_printf(o, "{\"le\":null,\"count\":%llu}",
                                  fy_ull(p->rt_buckets[i]));
        } else {
            fy_http_status_printf(o, "{\"le\":%llu,\"count\":%llu},",
                                  fy_ull(fy_rt_bounds_ms[i]),
                                  fy_ull(p->rt_buckets[i]));
        }
    }
    fy_http_status_printf(o, "]}}");
}

/* "limit_req" or "limit_conn": an object keyed by zone name, as
 * nginx Plus's API has them; limit_conn zones have no delays */
static void
fy_json_zones(fy_http_status_out_t *o, fy_http_status_t *st, unsigned kind)
{
    fy_http_status_zone_t  *z;
    unsigned                i, j, first = 1;

    fy_http_status_printf(o, ",\"%s\":{", kind == FY_HTTP_STATUS_LIMIT_REQ
                                          ? "limit_req" : "limit_conn");
    for (i = 0; i < st->nzones; i++) {
        z = &st->zones[i];
        if (z->kind != kind) {
            continue;
        }
        if (!first) {
            fy_http_status_write(o, ",", 1);
        }
        first = 0;
        fy_json_str(o, z->name);
        fy_http_status_write(o, ":{", 2);
        for (j = 0; j < FY_STATUS_NRESULTS; j++) {
            if (kind == FY_HTTP_STATUS_LIMIT_CONN
                && !fy_http_status_limit_results[j].conn)
            {
                continue;
            }
            fy_http_status_printf(o, "\"%s\":%llu,",
                                  fy_http_status_limit_results[j].name,
                                  fy_ull(z->results[j]));
        }
        if (kind == FY_HTTP_STATUS_LIMIT_CONN) {
            fy_http_status_printf(o, "\"active\":%llu,", fy_ull(z->active));
        }
        fy_http_status_printf(o, "\"keys\":%llu,\"capacity\":%llu}",
                              fy_ull(z->keys), fy_ull(z->capacity));
    }
    fy_http_status_write(o, "}", 1);
}

/* "caches": an object keyed by keys_zone name, nginx Plus's "caches"
 * made simple: the gauges, then requests by $upstream_cache_status */
static void
fy_json_caches(fy_http_status_out_t *o, fy_http_status_t *st)
{
    fy_http_status_cache_t  *c;
    unsigned                 i, j;

    fy_http_status_printf(o, ",\"caches\":{");
    for (i = 0; i < st->ncaches; i++) {
        c = &st->caches[i];
        if (i) {
            fy_http_status_write(o, ",", 1);
        }
        fy_json_str(o, c->name);
        fy_http_status_printf(o, ":{\"entries\":%llu,\"size\":%llu,",
                              fy_ull(c->entries), fy_ull(c->bytes));
        if (c->max_size) {
            fy_http_status_printf(o, "\"max_size\":%llu",
                                  fy_ull(c->max_size));
        } else {
            fy_http_status_printf(o, "\"max_size\":null");
        }
        for (j = 0; j < FY_STATUS_NCACHE; j++) {
            fy_http_status_printf(o, ",\"%s\":%llu",
                                  fy_http_status_cache_results[j],
                                  fy_ull(c->results[j]));
        }
        fy_http_status_write(o, "}", 1);
    }
    fy_http_status_write(o, "}", 1);
}

void
fy_http_status_json(fy_http_status_out_t *o, fy_http_status_t *st)
{
    unsigned  i;

    fy_http_status_printf(o, "{\"version\":\"%s\",\"time_ms\":%llu,",
                          FY_VERSION, fy_ull(st->now_ms));

    fy_http_status_printf(o, "\"master\":{\"pid\":%llu,\"start_ms\":%llu,"
        "\"uptime_ms\":%llu,\"generation\":%llu,\"reloads\":%llu,"
        "\"reloads_failed\":%llu,", fy_ull(st->master_pid),
        fy_ull(st->start_ms), fy_ull(fy_json_age(st->now_ms, st->start_ms)),
        fy_ull(st->generation), fy_ull(st->reloads),
        fy_ull(st->reloads_failed));
    fy_json_time(o, "last_reload_ms", st->reload_ms);
    fy_http_status_printf(o, ",\"last_reload_ok\":%s,"
        "\"dispatched\":%llu,\"dispatch_failed\":%llu,\"events\":{",
        st->reload_ms == 0 ? "null" : st->reload_ok ? "true" : "false",
        fy_ull(st->dispatched), fy_ull(st->dispatch_failed));
    for (i = 0; i < FY_STATUS_NEVENTS; i++) {
        fy_http_status_printf(o, "%s\"%s\":%llu", i ? "," : "",
                              fy_http_status_events[i].name,
                              fy_ull(st->events[i]));
    }
    fy_http_status_printf(o, "}},");

    fy_http_status_printf(o, "\"connections\":{\"active\":%llu,"
        "\"reading\":%llu,\"writing\":%llu,\"waiting\":%llu,"
        "\"accepted\":%llu,\"handled\":%llu},\"requests\":%llu,",
        fy_ull(st->active), fy_ull(st->reading), fy_ull(st->writing),
        fy_ull(st->waiting), fy_ull(st->accepted), fy_ull(st->handled),
        fy_ull(st->requests));

    fy_http_status_printf(o, "\"workers\":[");
    for (i = 0; i < st->nworkers; i++) {
        if (i) {
            fy_http_status_write(o, ",", 1);
        }
        fy_json_worker(o, st, &st->workers[i]);
    }

    /* upstreams: consecutive peers with one name form one upstream */
    fy_http_status_printf(o, "],\"upstreams\":[");
    for (i = 0; i < st->npeers; i++) {
        if (i == 0 || strcmp(st->peers[i - 1].upstream,
                             st->peers[i].upstream) != 0)
        {
            fy_http_status_printf(o, "%s{\"name\":", i ? "]}," : "");
            fy_json_str(o, st->peers[i].upstream);
            fy_http_status_printf(o, ",\"servers\":[");
        } else {
            fy_http_status_write(o, ",", 1);
        }
        fy_json_peer(o, st, &st->peers[i]);
    }
    fy_http_status_printf(o, "%s]", st->npeers ? "]}" : "");

    fy_json_zones(o, st, FY_HTTP_STATUS_LIMIT_REQ);
    fy_json_zones(o, st, FY_HTTP_STATUS_LIMIT_CONN);
    fy_json_caches(o, st);
    fy_http_status_write(o, "}\n", 2);
}
