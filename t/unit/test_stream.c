/*
 * test_stream.c -- texts made of stream variables (fy_stream_log.c):
 * fy_stream_cv_compile on good and bad texts, fy_stream_cv_eval and
 * fy_stream_var on a fake session (no sockets: the variables that
 * would ask the kernel, $server_addr and $server_port, come out empty
 * for a closed descriptor).
 */

#include "fy_core.h"
#include "fy_pool.h"
#include "fy_stream.h"
#include "fy_tap.h"

#include <arpa/inet.h>

static fy_pool_t  *pool;
static fy_conf_t   cf;

static fy_stream_cv_t *
compile(const char *text)
{
    fy_str_t  s;

    s.data = (u_char *) text;
    s.len = strlen(text);
    return fy_stream_cv_compile(&cf, &s);
}

static const char *
eval(fy_stream_session_t *s, const char *text, size_t size)
{
    static u_char    buf[512];
    fy_stream_cv_t  *cv = compile(text);
    size_t           n;

    if (cv == NULL) {
        return "(refused)";
    }
    n = fy_stream_cv_eval(s, cv, buf, size);
    buf[n] = '\0';
    return (const char *) buf;
}

int
main(void)
{
    fy_stream_session_t  s;
    fy_conn_t            c;
    struct sockaddr_in  *sin = (struct sockaddr_in *) (void *) &c.addr;

    pool = fy_pool_create(4096);
    fy_conf_init(&cf, pool);

    memset(&c, 0, sizeof(c));
    c.fd = -1;
    sin->sin_family = AF_INET;
    sin->sin_port = htons(40123);
    inet_pton(AF_INET, "10.1.2.3", &sin->sin_addr);
    c.addrlen = sizeof(*sin);

    memset(&s, 0, sizeof(s));
    s.c = &c;
    snprintf(s.addr_text, sizeof(s.addr_text), "10.1.2.3");
    s.status = 502;
    s.bytes_sent = 12;
    s.bytes_received = 3456;
    s.up_sent = 7;
    s.up_received = 8;
    s.connect_time = -1;
    s.serial = 99;
    s.start = fy_current_msec;
    memcpy(s.up_addrs, "127.0.0.1:1, 127.0.0.1:2", 24);
    s.up_addrs_len = 24;

    is_str(eval(&s, "$remote_addr:$remote_port", 512), "10.1.2.3:40123",
           "address and port");
    is_str(eval(&s, "${status}x $bytes_sent/$bytes_received", 512),
           "502x 12/3456", "${name} ends at the brace; literals between");
    is_str(eval(&s, "[$upstream_addr] $upstream_bytes_sent "
                    "$upstream_bytes_received $upstream_connect_time", 512),
           "[127.0.0.1:1, 127.0.0.1:2] 7 8 -",
           "upstream variables; connect time '-' when never connected");
    s.connect_time = 1234;
    is_str(eval(&s, "$upstream_connect_time", 512), "1.234",
           "connect time in seconds with milliseconds");
    is_str(eval(&s, "$connection $protocol", 512), "99 TCP",
           "$connection, $protocol");
    is_str(eval(&s, "$session_time", 512), "0.000", "$session_time");
    is_str(eval(&s, "<$server_addr|$server_port>", 512), "<|>",
           "$server_addr and $server_port empty without a socket");
    is_str(eval(&s, "no variables", 512), "no variables", "plain text");
    is_str(eval(&s, "", 512), "", "empty text");
    is_str(eval(&s, "a$remote_addr-b", 8), "a10.1.2-",
           "cut at the buffer's size, never past it");
    is_str(eval(&s, "$remote_addr_x", 512), "(refused)",
           "a longer name is another (unknown) variable");

    ok(compile("$nosuch") == NULL, "unknown variable refused");
    ok(compile("${remote_addr") == NULL, "missing closing brace refused");
    ok(compile("a $ b") == NULL, "lone $ refused");
    ok(compile("${}") == NULL, "empty name refused");

    fy_pool_destroy(pool);
    return done_testing();
}
