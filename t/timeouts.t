#!/usr/bin/perl

# The timeouts and the header buffer no other test sets by name:
# keepalive_timeout closes an idle keep-alive connection,
# client_header_timeout one whose next request header stalls, send_timeout
# closes a client that stops reading, proxy_send_timeout gives up on an
# upstream that stops reading the request body (504), and a response
# header larger than proxy_buffer_size is a 502.

use strict;
use warnings;

use Test::More;
use Ferry::Test;
use IO::Socket::INET;
use Time::HiRes ();

my $f = Ferry::Test->new(conf => main_conf() . <<'EOF');
worker_processes 1;
events { worker_connections 64; }
http {
    upstream big     { server 127.0.0.1:%%PORT_1%%; }
    upstream deaf    { server 127.0.0.1:%%PORT_2%%; }
    upstream fathead { server 127.0.0.1:%%PORT_3%%; }
    server {
        listen 127.0.0.1:%%PORT_0%%;
        keepalive_timeout 1s;
        location / { return 200 "ok\n"; }
        location /big { send_timeout 1s; proxy_pass http://big; }
        location /deaf {
            client_max_body_size 64m;
            proxy_send_timeout 1s;
            proxy_request_buffering off;
            proxy_pass http://deaf;
        }
        location /fathead { proxy_buffer_size 1k; proxy_pass http://fathead; }
    }
    server {
        listen 127.0.0.1:%%PORT_4%%;
        keepalive_timeout 10s;
        client_header_timeout 1s;
        location / { return 200 "ok\n"; }
    }
}
EOF
$f->allow_log(qr/upstream sent too big header/);

my $big = Ferry::Test::Backend->new(port => $f->port(1), handler => sub {
    return { status => 200, body => 'b' x (32 * 1024 * 1024) };
});
# reads the request header, never the body, and never answers
my $deaf = Ferry::Test::Backend->new(port => $f->port(2), on_connect => sub {
    sleep 20;
});
my $fathead = Ferry::Test::Backend->new(port => $f->port(3), handler => sub {
    return { status => 200, headers => ['X-Fat' => 'f' x 2000], body => "x" };
});
$f->start or do { done_testing; exit };
my $port = $f->port(0);

# ---- keepalive_timeout ----------------------------------------------
{
    my $c = Ferry::Test::Client->new($port);
    $c->send("GET / HTTP/1.1\r\nHost: x\r\n\r\n");
    is($c->read_response(timeout => 3)->{status}, 200, 'keep-alive request');
    my $t0 = Time::HiRes::time();
    my $closed = $c->wait_close(4);
    my $dt = Time::HiRes::time() - $t0;
    ok($closed && $dt >= 0.8 && $dt < 3,
       sprintf('keepalive_timeout 1s: the idle connection closed after '
               . '%.2f s', $dt));
    is($c->buffer, '', '... without a byte');
    $c->close;
}

# ---- client_header_timeout on a kept connection ------------------------
# The next request's first bytes end the keep-alive wait (10 s); a header
# that then stalls is closed after client_header_timeout (1 s), one that
# completes is answered.
{
    my $c = Ferry::Test::Client->new($f->port(4));
    $c->send("GET / HTTP/1.1\r\nHost: x\r\n\r\n");
    is($c->read_response(timeout => 3)->{status}, 200, 'first request');
    $c->send("GET / HTTP/1.1\r\nHo");
    Time::HiRes::sleep(0.3);
    $c->send("st: x\r\n\r\n");
    is($c->read_response(timeout => 3)->{status}, 200,
       'a header in two pieces is answered');
    $c->send("GET / HTTP/1.1\r\nHo");
    my $t0 = Time::HiRes::time();
    my $closed = $c->wait_close(5);
    my $dt = Time::HiRes::time() - $t0;
    ok($closed && $dt >= 0.8 && $dt < 4,
       sprintf('client_header_timeout 1s after keep-alive: a stalled '
               . 'header closed after %.2f s', $dt));
    is($c->buffer, '', '... without a byte');
    $c->close;
}

# ---- send_timeout -----------------------------------------------------
{
    my $c = Ferry::Test::Client->new($port);
    $c->send("GET /big HTTP/1.1\r\nHost: x\r\n\r\n");
    # read nothing for 2.5 s: ferry's writes stall for over 1 s
    Time::HiRes::sleep(2.5);
    my $t0 = Time::HiRes::time();
    my $closed = $c->wait_close(10);
    ok($closed, 'send_timeout 1s: a client that stopped reading is '
                . 'disconnected');
    ok(length($c->buffer) < 32 * 1024 * 1024,
       '... before the whole 32 MB body (got ' . length($c->buffer) . ')');
    $c->close;
}

# ---- proxy_send_timeout -------------------------------------------------
{
    my $c = Ferry::Test::Client->new($port);
    my $len = 48 * 1024 * 1024;
    $c->send("POST /deaf HTTP/1.1\r\nHost: x\r\nContent-Length: $len\r\n\r\n");
    # send body until the path to the deaf upstream is full
    local $SIG{PIPE} = 'IGNORE';      # ferry closes after its 504
    my $chunk = 'u' x 65536;
    my $sent = 0;
    $c->sock->blocking(0);
    my $t_end = Time::HiRes::time() + 5;
    my $stalled = 0;
    while ($sent < $len && Time::HiRes::time() < $t_end) {
        my $w = syswrite $c->sock, $chunk;
        if (defined $w) { $sent += $w; $stalled = 0; next; }
        last unless $!{EAGAIN};
        last if ++$stalled > 4;     # 200 ms without progress: full
        Time::HiRes::sleep(0.05);
    }
    $c->sock->blocking(1);
    my $r = $c->read_response(timeout => 5);
    is($r->{status}, 504, "proxy_send_timeout 1s: 504 once the upstream "
                          . "stopped reading ($sent bytes sent)");
    like($f->error_log, qr/upstream timed out while sending request to upstream/,
         '... logged as a timeout while sending the request');
    $c->close;
}

# ---- proxy_buffer_size ----------------------------------------------------
{
    my $r = http_get($port, '/fathead');
    is($r->{status}, 502, 'a response header over proxy_buffer_size 1k: 502');
    like($f->error_log, qr/upstream sent too big header/,
         '... "upstream sent too big header" in the error log');
}

$f->stop;
done_testing;
