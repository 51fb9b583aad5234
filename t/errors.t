#!/usr/bin/perl

# Bad requests and bad upstreams: the status a client gets, that the
# connection is closed after a malformed request, and that ferry keeps
# serving afterwards.

use strict;
use warnings;

use Test::More;
use Ferry::Test;

my $f = Ferry::Test->new(conf => main_conf() . <<'EOF');
worker_processes 1;
events { worker_connections 256; }
http {
    upstream good    { server 127.0.0.1:%%PORT_1%%; }
    upstream down    { server 127.0.0.1:%%PORT_2%%; }
    upstream garbage { server 127.0.0.1:%%PORT_3%%; }
    upstream silent  { server 127.0.0.1:%%PORT_4%%; }
    upstream short   { server 127.0.0.1:%%PORT_5%%; }
    upstream slow    { server 127.0.0.1:%%PORT_6%%; }
    server {
        listen 127.0.0.1:%%PORT_0%%;
        location / { proxy_pass http://good; }
        location /down/ { proxy_pass http://down; }
        location /garbage/ { proxy_pass http://garbage; }
        location /silent/ { proxy_pass http://silent; }
        location /short/ { proxy_pass http://short; }
        location /slow/ { proxy_pass http://slow; }
    }
}
EOF

# PORT_2: nothing listens there
my $good = Ferry::Test::Backend->new(port => $f->port(1));
my $garbage = Ferry::Test::Backend->new(port => $f->port(3), raw => sub {
    my ($sock) = @_;
    syswrite $sock, "THIS IS NOT HTTP AT ALL\r\nreally not\r\n\r\n";
});
my $silent = Ferry::Test::Backend->new(port => $f->port(4), raw => sub { });
# promises 1000 bytes, sends 10, closes
my $short = Ferry::Test::Backend->new(port => $f->port(5), raw => sub {
    my ($sock) = @_;
    syswrite $sock, "HTTP/1.1 200 OK\r\nContent-Length: 1000\r\n\r\n0123456789";
});
my $slow = Ferry::Test::Backend->new(port => $f->port(6), handler => sub {
    { delay => 1, body => 'late' }
});

$f->start or do { done_testing; exit };
my $port = $f->port(0);

ok(port_is_closed($f->port(2)), 'nothing listens on the "down" upstream port');

sub still_serving {
    my ($after) = @_;
    my $r = http_get($port, '/alive');
    is($r->{status}, 200, "still serving after $after")
        or diag($r->{error} // $r->{raw});
}


# ---- malformed requests: the status, and the connection closes -----

my @bad = (
    ['bad request line', "GARBAGE\r\n\r\n", 400],
    ['request line with an extra word',
     "GET / HTTP/1.1 extra\r\nHost: x\r\n\r\n", 400],
    # RFC 9112 5.1 (nginx 1.22 still takes it as a header with an empty value)
    ['header line without a colon',
     "GET / HTTP/1.1\r\nHost: x\r\nNoColonHere\r\n\r\n", 400],
    ['space before the colon',
     "GET / HTTP/1.1\r\nHost : x\r\n\r\n", 400],
    ['HTTP/1.1 request without Host',
     "GET / HTTP/1.1\r\nX-A: b\r\n\r\n", 400],
    # RFC 9110 4.2.1: an http URI with an empty host is invalid; it would
    # reach the backend with no Host at all (nginx: 400 too)
    ['empty Host', "GET / HTTP/1.1\r\nHost: \r\n\r\n", 400],
    ['empty Host, HTTP/1.0', "GET / HTTP/1.0\r\nHost:\r\n\r\n", 400],
    ['absolute-form target with an empty host',
     "GET http:///x HTTP/1.1\r\nHost: x\r\n\r\n", 400],
    ['invalid Content-Length',
     "POST / HTTP/1.1\r\nHost: x\r\nContent-Length: abc\r\n\r\n", 400],
    ['both Content-Length and Transfer-Encoding',
     "POST / HTTP/1.1\r\nHost: x\r\nContent-Length: 5\r\n"
     . "Transfer-Encoding: chunked\r\n\r\n0\r\n\r\n", 400],
    # too long for nginx's default buffers (4 x 8k): 414 for the request
    # line, 400 for a header line
    ['request line of 20 KiB',
     "GET /" . ('u' x 20480) . " HTTP/1.1\r\nHost: x\r\n\r\n", 414],
    ['header line of 20 KiB',
     "GET / HTTP/1.1\r\nHost: x\r\nX-Big: " . ('h' x 20480) . "\r\n\r\n", 400],
    # nginx answers versions it does not support with 505
    # nginx refuses TRACE (it would echo cookies and credentials back)
    ['TRACE', "TRACE / HTTP/1.1\r\nHost: x\r\n\r\n", 405],
    ['TRACE with a body',
     "TRACE / HTTP/1.1\r\nHost: x\r\nContent-Length: 3\r\n\r\nabc", 405],
    ['HTTP/2.0 in the request line',
     "GET / HTTP/2.0\r\nHost: x\r\n\r\n", 505],
);

for my $t (@bad) {
    my ($name, $req, $status) = @$t;

    my $seen = $good->requests;
    my $c = Ferry::Test::Client->new($port);
    $c->send($req);
    my $r = $c->read_response(timeout => 5);
    is($r->{status}, $status, "$name: $status")
        or diag('got ' . ($r->{status} // $r->{error}) . ': '
                . ($r->{raw} // ''));
    ok($c->wait_close(3), "$name: connection closed after the response");
    $c->close;
    is($good->requests - $seen, 0, "$name: nothing reached the backend");
}

still_serving('malformed requests');


# ---- bad upstreams: 502 --------------------------------------------

{
    my $r = http_get($port, '/down/x');
    is($r->{status}, 502, 'upstream port closed: 502')
        or diag($r->{error} // $r->{raw});
}
still_serving('an unreachable upstream');

{
    # (nginx 1.22 would pass such a reply on as an HTTP/0.9 body)
    my $r = http_get($port, '/garbage/x');
    is($r->{status}, 502, 'upstream sends garbage instead of a status line: 502')
        or diag($r->{error} // $r->{raw});
    is($garbage->requests, 1, 'the garbage upstream did get the request');
}
still_serving('a garbage upstream');

{
    my $r = http_get($port, '/silent/x');
    is($r->{status}, 502, 'upstream closes without answering: 502')
        or diag($r->{error} // $r->{raw});
    is($silent->requests, 1, 'the silent upstream did get the request');
}
still_serving('a silent upstream');

# an upstream that closes in the middle of the body: the client must not
# be left waiting for the rest; its connection is closed
{
    my $c = Ferry::Test::Client->new($port);
    $c->send(build_request(path => '/short/x'));
    my $r = $c->read_response(timeout => 5);
    ok($r->{error} && $r->{error} =~ /closed/,
       'truncated upstream body: the client connection is closed, not left hanging')
        or diag($r->{error} // "complete response: $r->{raw}");
    $c->close;
}
still_serving('a truncated upstream body');

# clients that go away before the upstream answers
{
    my @c;
    for (1 .. 5) {
        my $c = Ferry::Test::Client->new($port);
        $c->send(build_request(path => "/slow/$_"));
        push @c, $c;
    }
    my $all = wait_until { $slow->requests >= 5 } 5;
    ok($all, 'five requests in flight at a slow upstream');
    $_->close for @c;
    still_serving('clients that left before the upstream answered');
    my $r = http_get($port, '/slow/last');
    is($r->{body}, 'late', 'the slow upstream is still usable afterwards');
}

# a 502 does not spoil a keep-alive connection
{
    my ($res, $closed) = http_keepalive($port, [
        build_request(path => '/down/y'),
        build_request(path => '/after-502'),
    ]);
    is_deeply([ map { $_->{status} // $_->{error} } @$res ], [502, 200],
              '502 then 200 on one keep-alive connection');
}

$f->stop;

done_testing;
