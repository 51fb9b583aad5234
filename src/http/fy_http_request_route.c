/*
 * fy_http_request_route.c -- a request whose header is complete:
 * settle keep-alive and the body's framing, choose the server
 * (server_name), run the server's rewrite directives, choose the
 * location in nginx's order, and run what the location says: its
 * rewrite directives (fy_http_rewrite.c), the access check, try_files,
 * a content handler (static files, status pages) or the proxy.
 */
#include "fy_core.h"
#include "fy_http.h"
#include "fy_http_request.h"

/* location in nginx's order, among the locations of one level: an "="
 * location equal to the path wins; else the longest prefix is
 * remembered and the locations nested in it are searched the same way;
 * unless that prefix is "^~", the first regex location of this level
 * (in the order written) that matches wins, and its nested locations
 * are searched; else the remembered prefix.  FY_OK: final; FY_AGAIN: a
 * prefix was found; FY_DECLINED: nothing matched.  r->loc is the best
 * found. */
static int
fy_http_find_location(fy_http_request_t *r, fy_array_t *prefixes,
                      fy_array_t *regexes)
{
    fy_http_loc_conf_t  *lcf;
    unsigned             i, noregex = 0;
    int                  rc = FY_DECLINED;

    /* Sorted longest first, "=" before a prefix of the same name: the
     * first match is the best one. */
    for (i = 0; prefixes && i < prefixes->nelts; i++) {
        lcf = *fy_array_elt(prefixes, fy_http_loc_conf_t *, i);
        if (r->path.len >= lcf->name.len
            && (!lcf->exact || r->path.len == lcf->name.len)
            && memcmp(r->path.data, lcf->name.data, lcf->name.len) == 0)
        {
            r->loc = lcf;
            if (lcf->exact) {
                return FY_OK;
            }
            noregex = lcf->noregex;
            if (fy_http_find_location(r, lcf->locations, lcf->regex_locations)
                == FY_OK)
            {
                return FY_OK;
            }
            rc = FY_AGAIN;
            break;
        }
    }
    for (i = 0; !noregex && regexes && i < regexes->nelts; i++) {
        lcf = *fy_array_elt(regexes, fy_http_loc_conf_t *, i);
        if (fy_http_regex_exec(r, lcf->regex, &r->path, &r->captures)
            == FY_OK)
        {
            r->loc = lcf;
            (void) fy_http_find_location(r, lcf->locations,
                                         lcf->regex_locations);
            return FY_OK;
        }
    }
    return rc;
}

void
fy_http_find_location_of(fy_http_request_t *r)
{
    fy_http_srv_conf_t  *scf = r->srv;

    r->loc = scf->loc;
    (void) fy_http_find_location(r, &scf->locations, &scf->regex_locations);
    fy_http_error_log_set(r);
}

/* The server for Host, and nginx's post-read phase (realip) with its
 * settings. */
static void
fy_http_find_server_of(fy_http_request_t *r)
{
    fy_listen_t         *ls = r->hc->ls;
    fy_http_srv_conf_t  *scf;

    scf = ls->default_server;
    if ((ls->servers.nelts > 1 || scf->sn.regex_names.nelts) && r->host.len) {
        scf = fy_http_names_find(&ls->servers,
                                 offsetof(fy_http_srv_conf_t, sn),
                                 &r->host, r);
        if (scf) {
            r->srv = scf;
        }
    }

    fy_http_realip(r, r->srv->loc);
    if (r->loc == NULL) {
        fy_http_error_log_set(r);      /* the server's, for its lines */
    }
}

/* Drop the body bytes already read for a request that does not want
 * them; finalize closes the connection if more are on their way. */
void
fy_http_skip_body(fy_http_request_t *r)
{
    fy_http_conn_t  *hc = r->hc;
    fy_buf_t        *src = fy_http_body_src(r);
    size_t           have;
    int              rc;

    have = fy_min(fy_buf_size(src), r->body_rest);
    src->pos += have;
    r->body_rest -= have;

    /* a chunked body wholly read with the header ends here (what
     * follows is the next request); otherwise r->chunked stays set */
    while (r->chunked && fy_buf_size(&hc->in)) {
        rc = fy_http_parse_chunked(&r->chunked_body, &hc->in);
        if (rc == FY_DONE) {
            r->chunked = 0;
        } else if (rc != FY_OK) {
            break;      /* FY_AGAIN: all read; invalid: closed at the end */
        }
    }
}

/* "return CODE [TEXT|URL]", try_files' "=CODE" (text NULL) and
 * rewrite's redirects. */
void
fy_http_return_text(fy_http_request_t *r, int code, u_char *text, size_t len)
{
    fy_str_t  location;

    /* The body is not wanted: skip what we have; a body still on its
     * way makes the connection unusable afterwards. */
    fy_http_skip_body(r);

    if (code == 444) {
        /* nginx's "close the connection without a response", reset
         * with reset_timedout_connection (nginx 1.15.2) */
        fy_http_reset_timedout(r->hc);
        fy_http_close_connection(r->hc);
        return;
    }

    if (code == 301 || code == 302 || code == 303 || code == 307
        || code == 308)
    {
        /* $uri and captures are decoded: "%0d%0a" in them must not
         * end the Location line */
        location.data = fy_http_header_escape(r->pool, text, &len);
        location.len = len;
        if (location.data == NULL) {
            fy_http_send_error(r, 500);
            return;
        }
        r->status = code;
        fy_http_send_response(r, code, NULL, NULL, 0, &location);
        return;
    }

    if (text == NULL && code >= 400) {
        fy_http_send_error(r, code);
        return;
    }

    fy_http_send_response(r, code, fy_http_static_uri_type(r), text, len,
                          NULL);
}


/* Headers are complete: decide what to do with the request. */
void
fy_http_handler(fy_http_request_t *r, unsigned seen)
{
    fy_http_conn_t      *hc = r->hc;

    fy_timer_del(&hc->c->read);
    hc->c->read.handler = fy_event_ignore;
    fy_http_set_stat(r, FY_HTTP_STAT_WRITING);

    if (hc->plain_on_tls) {
        fy_http_ssl_plain_error(r);
        return;
    }

    if (r->http_version >= 1001) {
        r->keepalive = !(seen & 4);
        if (!(seen & 1)) {
            fy_http_send_error(r, 400);     /* HTTP/1.1 needs Host */
            return;
        }
    } else {
        r->keepalive = (seen & 8) && !(seen & 4);
    }

    if ((seen & 2) && (r->content_length != -1 || r->http_version < 1001))
    {
        /* Both framings at once is the classic smuggling attempt, and
         * HTTP/1.0 has no chunked coding (RFC 9112 6.1, nginx): refused,
         * the connection closed. */
        r->keepalive = 0;
        fy_http_send_error(r, 400);
        return;
    }

    /* An upgrade (WebSocket) is only honoured as the RFC asks: HTTP/1.1,
     * with "upgrade" among the Connection options and no body. */
    if (!((seen & 32) && r->http_version >= 1001
          && r->content_length <= 0 && !r->chunked))
    {
        r->upgrade.len = 0;
    }
    /* ... and never to h2c (deprecated by RFC 9113 3.1): the tunnel
     * would carry HTTP/2 requests straight to the backend, past every
     * location, allow/deny and limit ("h2c smuggling").  The request
     * goes on as an ordinary one, its Upgrade dropped as hop-by-hop. */
    if (r->upgrade.len && fy_http_token_in(&r->upgrade, "h2c")) {
        r->upgrade.len = 0;
    }

    fy_http_find_server_of(r);

    /* ssl_verify_client of the server the Host chose, as nginx */
    if (fy_http_ssl_verify(r) != FY_OK) {
        return;
    }

    if (r->content_length > 0) {
        /* unread until read: a 413 leaves all of it in the socket (and
         * lingering_close then reads it away before closing) */
        r->body_rest = (uint64_t) r->content_length;
    }

    fy_http_route(r);
}

/* client_max_body_size of the location found (nginx checks it each
 * time a location is found): 1 when the announced body is larger and
 * the 413 is sent. */
static int
fy_http_body_too_large(fy_http_request_t *r)
{
    fy_http_loc_conf_t  *lcf = r->loc;

    if (r->content_length > 0
        && (uint64_t) r->content_length > lcf->client_max_body_size
        && lcf->client_max_body_size != 0)
    {
        r->keepalive = 0;
        fy_http_send_error(r, 413);
        return 1;
    }
    return 0;
}

void
fy_http_route(fy_http_request_t *r)
{
    fy_http_loc_conf_t  *lcf;

    /* nginx's server rewrite phase: before the location is searched,
     * with the server's settings */
    r->loc = r->srv->loc;
    fy_http_error_log_set(r);
    if (r->srv->rewrite
        && fy_http_rewrite_run(r, r->srv->rewrite, r->srv->loc) == FY_DONE)
    {
        return;
    }
    /* the location is searched with whatever URI they made: its
     * proxy_pass URI part applies again */
    r->rewritten = 0;

    fy_http_find_location_of(r);
    lcf = r->loc;

    /* "internal": only a URI that an internal redirect (error_page,
     * try_files, a named location) or a rewrite made may be answered
     * here; a client asking for it directly gets 404, as nginx, before
     * anything else of the location is looked at.  The search again
     * after a rewrite (fy_http_run_location) always has such a URI. */
    if (lcf->internal && !r->redirected) {
        fy_http_skip_body(r);
        fy_http_send_error(r, 404);
        return;
    }

    if (fy_http_body_too_large(r)) {
        return;
    }

    fy_http_run_location(r);
}

void
fy_http_run_location(fy_http_request_t *r)
{
    fy_http_loc_conf_t  *lcf = r->loc;
    int                  rc;

    if (lcf->rewrite && !fy_http_limit_except_skips_rewrite(r, lcf)) {
        /* nginx's rewrite phase; the post-rewrite one searches the
         * location again for a "last" or a URI changed without a flag,
         * at most FY_HTTP_MAX_REDIRECTS times with internal redirects */
        rc = fy_http_rewrite_run(r, lcf->rewrite, lcf);
        if (rc == FY_DONE) {
            return;
        }
        if (rc == FY_AGAIN) {
            if (r->redirects >= FY_HTTP_MAX_REDIRECTS) {
                fy_log_error(FY_LOG_ERR, 0, "rewrite or internal "
                             "redirection cycle while processing \"%.*s\", "
                             "client %s", (int) r->path.len, r->path.data,
                             r->hc->addr_text);
                r->error_page = 1;
                fy_http_send_error(r, 500);
                return;
            }
            r->redirects++;
            r->captures = NULL;
            fy_http_find_location_of(r);
            if (!fy_http_body_too_large(r)) {
                fy_http_run_location(r);
            }
            return;
        }
        /* an "if" whose condition held made its block's conf the
         * request's */
        lcf = r->loc;
    }

    /* After the rewrite directives, as nginx's pre-access phase
     * follows its rewrite phase: realip with the location's settings
     * first, if the server's did not already, then limit_req (which
     * may make the request wait), then limit_conn, then allow/deny
     * (access phase). */
    fy_http_realip(r, lcf);
    /* an auth_request subrequest is not limited again (nginx) */
    if (lcf->limit_reqs && !r->parent) {
        rc = fy_http_limit_req(r);
        if (rc == FY_AGAIN) {
            return;         /* fy_http_run_access when the delay ends */
        }
        if (rc > 0) {
            fy_http_skip_body(r);
            fy_http_send_error(r, rc);
            return;
        }
    }
    fy_http_run_access(r);
}

void
fy_http_run_access(fy_http_request_t *r)
{
    fy_http_loc_conf_t  *lcf = r->loc;
    int                  rc;

    if (lcf->limit_conns && !r->parent) {
        rc = fy_http_limit_conn(r);
        if (rc > 0) {
            fy_http_skip_body(r);
            fy_http_send_error(r, rc);
            return;
        }
    }

    if ((lcf->access || lcf->auth_on || lcf->limit_except
         || lcf->auth_request.len)
        && (rc = fy_http_access_phase(r)) != 0)
    {
        /* allow/deny, auth_basic, auth_request and satisfy */
        if (rc != FY_AGAIN) {
            fy_http_access_done(r, rc);
        }
        return;
    }
    fy_http_run_content(r);
}

void
fy_http_access_done(fy_http_request_t *r, int rc)
{
    if (rc == 401 && fy_http_auth_delay(r) == FY_AGAIN) {
        return;             /* auth_delay: the 401 goes out later */
    }
    if (rc) {
        fy_http_skip_body(r);
        fy_http_send_error(r, rc);
        return;
    }
    fy_http_run_content(r);
}

/* A client that sent "Expect: 100-continue" waits for this before
 * sending the body; sent once.  A short write here only delays the
 * client until its own timeout. */
void
fy_http_send_continue(fy_http_request_t *r)
{
    fy_http_conn_t     *hc = r->hc;
    static const char   cont[] = "HTTP/1.1 100 Continue\r\n\r\n";

    r->continued = 1;
    if (fy_conn_send(hc->c, (const u_char *) cont, sizeof(cont) - 1) < 0) {
        fy_log_error(FY_LOG_INFO, errno, "send() of 100 Continue "
                     "failed, client %s", hc->addr_text);
    }
}

/* nginx's phases after the access phase: mirror, try_files (its
 * precontent phase), then the content handler or the proxy. */
void
fy_http_run_content(fy_http_request_t *r)
{
    fy_http_loc_conf_t  *lcf = r->loc;
    size_t               have;
    int                  rc;

    /* post_action: what the content phase will hold begins here, to be
     * stopped should its response break off (fy_http_post_action_abort) */
    if (lcf->post_action.len && !r->parent) {
        r->content_mark = 1;
        r->content_cleanups = r->pool->cleanups;
    }

    /* mirror: the main request only, once per location it runs in */
    if (lcf->mirrors && r->mirrored != lcf && !r->parent
        && fy_http_mirror(r) != FY_OK)
    {
        return;     /* reading the body (run_content follows), or
                       answered */
    }

    /* After the access check and before the content handler, as
     * nginx's try_files phase; it may change r->path or send the
     * request elsewhere. */
    if (lcf->try_files) {
        rc = fy_http_try_files(r);
        if (rc > 0) {
            fy_http_return_text(r, rc, NULL, 0);
            return;
        }
        if (rc != FY_DECLINED) {
            return;
        }
    }

    /* add_before_body, add_after_body: their bodies first */
    if (lcf->addition && (rc = fy_http_addition_fetch(r)) != FY_OK) {
        if (rc != FY_AGAIN) {
            fy_http_send_error(r, rc);
        }
        return;
    }

    /* the location that answers says how fast (nginx reads it at the
     * first write, when no later phase can change the location) */
    if (lcf->limit_rate || r->limit_rate) {
        fy_http_limit_rate_start(r, lcf);
    }

    if (lcf->handler) {
        /* dav_methods: PUT reads the body (fy_http_dav.c) */
        if (lcf->dav && fy_http_dav(r) != FY_DECLINED) {
            return;
        }
        fy_http_skip_body(r);
        lcf->handler(r);
        return;
    }

    if (fy_http_proxied(lcf)) {
        have = fy_buf_size(fy_http_body_src(r));
        if ((r->seen & 16) && r->http_version >= 1001
            && (r->chunked ? have == 0 : have < r->body_rest)
            && !r->error_page && lcf->pass_request_body && !r->continued
            && !fy_http_sets_body(lcf))
        {
            /* only a proxied request wants the body */
            fy_http_send_continue(r);
        }
        fy_http_proxy_handler(r);
        return;
    }

    fy_http_send_error(r, 404);
}
