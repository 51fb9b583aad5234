#!/usr/bin/perl

# Closing a connection whose client is still sending (lingering_close,
# lingering_time, lingering_timeout; docs/configuration.md).
#
# A socket closed with unread bytes makes the kernel send a reset, and
# a client that gets it may lose the response it was about to read: the
# 413 to an upload still under way, the last response a connection may
# carry when the client has pipelined more.  ferry, as nginx, shuts the
# write side first and reads what still comes until the client closes,
# goes quiet for lingering_timeout or lingering_time runs out.
#
# What a client sees: the response, then a clean end of the connection
# (no reset), and what it still sends is taken.  What an operator sees:
# the connection counted in stub_status until it is closed.

use strict;
use warnings;

use Test::More;
use Ferry::Test;
use Time::HiRes ();

my $f = Ferry::Test->new(conf => main_conf() . <<'EOF');
worker_processes 1;
events { worker_connections 64; }
http {
    upstream echo { server 127.0.0.1:%%PORT_9%%; }
    server {
        listen 127.0.0.1:%%PORT_0%%;
        keepalive_requests 2;
        client_max_body_size 1k;
        lingering_timeout 3s;
        location / { proxy_pass http://echo; }
        location /off/ { lingering_close off; proxy_pass http://echo; }
        location /ep/ { error_page 413 @big; proxy_pass http://echo; }
        location @big { return 413 "too big\n"; }
    }
    server {
        listen 127.0.0.1:%%PORT_1%%;
        keepalive_requests 1;
        lingering_time 3s;
        lingering_timeout 60s;
        location / { return 200 "time\n"; }
    }
    server {
        listen 127.0.0.1:%%PORT_2%%;
        lingering_timeout 60s;
        location / { return 200 "on\n"; }
        location /always/ { lingering_close always; return 200 "always\n"; }
    }
    server {
        listen 127.0.0.1:%%PORT_3%%;
        location / { stub_status; }
    }
    server {
        listen 127.0.0.1:%%PORT_4%% ssl;
        ssl_certificate t.crt;
        ssl_certificate_key t.key;
        client_max_body_size 1k;
        location / { return 200 "tls\n"; }
    }
}
EOF
sh('cd ' . $f->prefix . '/conf && openssl req -x509 -newkey ec'
   . ' -pkeyopt ec_paramgen_curve:P-256 -nodes -keyout t.key -out t.crt'
   . " -days 2 -subj /CN=a.test 2>/dev/null");

my $echo = Ferry::Test::Backend->new(port => $f->port(9));
$f->start or BAIL_OUT('ferry did not start');
my ($port, $tport, $aport) = ($f->port(0), $f->port(1), $f->port(2));

# Client connections open at the worker, from stub_status (whose own
# connection is one of them).
sub active {
    my $r = http_get($f->port(3), '/');
    return $r->{body} =~ /^Active connections: (\d+)/ ? $1 - 1 : -1;
}

# The server's end after the responses: 'eof' or 'reset' (or 'open').
sub ending {
    my ($c, $timeout) = @_;
    $c->wait_close($timeout // 5) or return 'open';
    return $c->{reset} ? 'reset' : 'eof';
}

# Send raw bytes on a socket the peer may have closed: false on error.
sub poke {
    my ($c, $bytes) = @_;
    my $n = syswrite $c->sock, $bytes;
    return defined $n && $n > 0;
}

my $get = build_request(path => '/a');

# ---- the last request of a connection, with more pipelined after it
{
    my $before = scalar $echo->requests;
    # more than ferry reads at once (client_header_buffer_size, 1k):
    # some of it is still in the socket when the connection ends
    my $c = Ferry::Test::Client->new($port);
    $c->send($get x 200);
    my $r1 = $c->read_response;
    my $r2 = $c->read_response;
    is($r1->{status}, 200, 'pipelined: the first response');
    is($r2->{status}, 200, 'pipelined: the second, the last the connection may carry');
    like($r2->{headers}{connection} // '', qr/close/i, '... which says Connection: close');
    is(ending($c), 'eof', '... then a clean end, no reset for the requests unread');
    is($c->buffer, '', '... and nothing after the second response');
    is(scalar $echo->requests - $before, 2, 'the backend got two requests, not the others');
    $c->close;
}

# lingering_close off: the old way, and what it costs the client
{
    my $c = Ferry::Test::Client->new($port);
    $c->send(build_request(path => '/a') . build_request(path => '/off/b')
             . $get x 200);
    $c->read_response;
    is($c->read_response->{status}, 200, 'lingering_close off: the last response arrives here');
    is(ending($c), 'reset', '... then a reset: the unread requests were thrown away by close()');
    $c->close;
}

# ---- a body too large, still being sent when the 413 goes out (also
# when error_page answers it from another location)
for my $path ('/up', '/ep/up') {
    my $before = scalar $echo->requests;
    my $body = 'x' x (1024 * 1024);
    my $c = Ferry::Test::Client->new($port);
    $c->send("POST $path HTTP/1.1\r\nHost: a\r\nContent-Length: "
             . length($body) . "\r\n\r\n");
    ok($c->send($body, 20), "$path: upload of 1 MiB over client_max_body_size: all of it taken");
    my $r = $c->read_response;
    is($r->{status}, 413, '... the client reads the 413');
    is($r->{body}, "too big\n", '... from error_page') if $path eq '/ep/up';
    is(ending($c), 'eof', '... then a clean end');
    is(scalar $echo->requests - $before, 0, '... and the backend never saw it');
    $c->close;
}

# ---- the same over TLS: close_notify, then the rest is read raw
SKIP: {
    eval { require IO::Socket::SSL; 1 } or skip 'no IO::Socket::SSL', 4;
    my $s = IO::Socket::SSL->new(PeerAddr => '127.0.0.1:' . $f->port(4),
                                 SSL_verify_mode => 0, Timeout => 5)
        or die "TLS connect: $IO::Socket::SSL::SSL_ERROR";
    my $body = 'x' x (1024 * 1024);
    my $out = "POST / HTTP/1.1\r\nHost: a\r\nContent-Length: "
              . length($body) . "\r\n\r\n" . $body;
    my ($off, $in, $end) = (0, '', '');
    eval {
        local $SIG{ALRM} = sub { die "timeout\n" };
        alarm 20;
        while ($off < length $out) {
            my $n = $s->syswrite($out, length($out) - $off, $off);
            last unless $n;
            $off += $n;
        }
        while (1) {
            my $n = $s->sysread(my $buf, 65536);
            if (!defined $n) {
                $end = "error: $!";
                last;
            }
            if ($n == 0) {
                $end = 'eof';
                last;
            }
            $in .= $buf;
        }
        alarm 0;
    };
    alarm 0;
    is($off, length $out, 'TLS: the whole upload over client_max_body_size is taken');
    like($in, qr{\AHTTP/1\.1 413 }, '... the client reads the 413');
    is($end, 'eof', '... then close_notify: a clean end');
    is($@, '', '... within the time allowed');
    $s->close(SSL_no_shutdown => 1);
}

# ---- lingering_timeout: a client that goes quiet without closing
{
    my $c = Ferry::Test::Client->new($port);
    $c->send($get x 3);
    $c->read_response for 1, 2;
    is(ending($c), 'eof', 'quiet client: the response and the FIN');
    ok(poke($c, 'more'), '... what it sends after that is taken');
    is(active(), 1, '... the connection is still open (lingering_timeout 3s)');
    ok(scalar(wait_until { active() == 0 } 15),
       '... and after lingering_timeout of silence it is closed');
    # a closed socket answers new bytes with a reset, after which the
    # client can send no more
    my $refused = 0;
    for (1 .. 100) {
        if (!poke($c, 'x')) {
            $refused = 1;
            last;
        }
        Time::HiRes::sleep(0.05);
    }
    ok($refused, '... so that bytes sent now are refused (reset)');
    $c->close;
}

# ---- lingering_time: a client that never stops sending
{
    my $c = Ferry::Test::Client->new($tport);
    $c->send(build_request(path => '/') . 'trickle');
    is($c->read_response->{status}, 200, 'a trickling client gets its response');
    is(active(), 1, '... its connection lingers');
    my ($sent, $t0) = (0, Time::HiRes::time());
    # one byte every 100 ms; lingering_timeout (60s) never ends this,
    # lingering_time (3s) does
    while (Time::HiRes::time() - $t0 < 15) {
        last if !poke($c, 'y');
        $sent++;
        last if active() == 0;
        Time::HiRes::sleep(0.1);
    }
    is(active(), 0, 'lingering_time: the connection is closed although the client keeps sending');
    ok($sent > 0, '... bytes it sent while lingering were taken');
    $c->close;
}

# ---- on and always, for a client that sent nothing more
{
    my $c = Ferry::Test::Client->new($aport);
    $c->send(build_request(path => '/', headers => [Connection => 'close']));
    is($c->read_response->{body}, "on\n", 'lingering_close on, nothing more sent');
    is(ending($c), 'eof', '... a clean end');
    is(active(), 0, '... and the connection closed at once: nothing to wait for');
    $c->close;

    $c = Ferry::Test::Client->new($aport);
    $c->send(build_request(path => '/always/', headers => [Connection => 'close']));
    is($c->read_response->{body}, "always\n", 'lingering_close always');
    is(ending($c), 'eof', '... the response and a FIN');
    is(active(), 1, '... the connection waits for the client to close its side');
    $c->close;
    ok(scalar(wait_until { active() == 0 } 10),
       '... and is closed when the client closes');
}

# ---- a graceful stop does not wait for a lingering connection
{
    my $c = Ferry::Test::Client->new($aport);
    $c->send(build_request(path => '/always/', headers => [Connection => 'close']));
    $c->read_response;
    is(active(), 1, 'a lingering connection at the stop');
    $f->stop;
    ok(!$f->is_running, 'the stop does not wait for it (lingering_timeout 60s)');
    $c->close;
}

# ---- configuration
http_conf_refused("lingering_close sometimes;",
                  'invalid value "sometimes" in .*ferry.conf:\d+',
                  'lingering_close with an unknown value');
http_conf_refused("lingering_timeout soon;",
                  'invalid value "soon" in .*ferry.conf:\d+',
                  'lingering_timeout that is not a time');

done_testing;
