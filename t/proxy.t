#!/usr/bin/perl

# Proxying as a client and a backend see it: what ferry forwards (the
# echo backend dumps the request it got), what comes back (status,
# headers, bodies framed by length, chunks or close), client keep-alive,
# the upstream round robin, location choice and "return".

use strict;
use warnings;

use Test::More;
use Ferry::Test;
use Time::HiRes ();

my $f = Ferry::Test->new(conf => main_conf() . <<'EOF');
worker_processes 1;
events { worker_connections 256; }
http {
    upstream backend { server 127.0.0.1:%%PORT_1%%; }
    upstream pair {
        server 127.0.0.1:%%PORT_2%%;
        server 127.0.0.1:%%PORT_3%%;
    }
    server {
        listen 127.0.0.1:%%PORT_0%%;
        location / { proxy_pass http://backend; }
        location /rr/ { proxy_pass http://pair; }
        location /lp/a/b { return 200 "lp-ab"; }
        location /lp/ { return 200 "lp"; }
        location /lp/a/bc/ { return 200 "lp-abc/"; }
        location /lp/a { return 200 "lp-a"; }
        location /gone { return 404 "gone\n"; }
        location /vars {
            return 200 "pid=$pid addr=$remote_addr uri=$request_uri host=$host";
        }
    }
}
EOF

my $backend = Ferry::Test::Backend->new(port => $f->port(1), handler => sub {
    my ($req) = @_;
    my $uri = $req->{uri};

    if ($uri eq '/status/201') {
        return { status => 201, reason => 'Created',
                 headers => ['Content-Type' => 'text/x-test',
                             'X-Custom' => 'one two',
                             'X-Multi' => 'a',
                             'X-Multi' => 'b'],
                 body => "created\n" };
    }
    if ($uri eq '/status/204') {
        return { status => 204, reason => 'No Content',
                 headers => ['X-Empty' => 'yes'] };
    }
    if ($uri eq '/status/404') {
        return { status => 404, reason => 'Not Found',
                 headers => ['Content-Type' => 'text/plain'],
                 body => "not here\n" };
    }
    if ($uri =~ m{^/body/(length|chunked|close)/(\d+)$}) {
        return { mode => $1, body => test_body($2, $2),
                 headers => ['Content-Type' => 'application/octet-stream'] };
    }
    return Ferry::Test::Backend::echo($req);
});
my $rr_a = Ferry::Test::Backend->new(port => $f->port(2),
                                     handler => sub { { body => 'A' } });
my $rr_b = Ferry::Test::Backend->new(port => $f->port(3),
                                     handler => sub { { body => 'B' } });

$f->start or do { done_testing; exit };
my $port = $f->port(0);

sub lines_except_host_conn {
    my ($e) = @_;
    return [ map { "$_->[0]: $_->[1]" }
             grep { lc $_->[0] ne 'host' && lc $_->[0] ne 'connection' }
             @{ $e->{headers} } ];
}

sub values_of {
    my ($e, $name) = @_;
    return [ map { $_->[1] } grep { lc $_->[0] eq lc $name }
             @{ $e->{headers} } ];
}


# ---- what ferry forwards -------------------------------------------

{
    my $r = http($port, "GET /echo/x?a=1&b=two%20three HTTP/1.1\r\n"
                        . "Host: client.example\r\n"
                        . "User-Agent: ferry-test\r\n"
                        . "X-Foo: bar\r\n"
                        . "Accept: */*\r\n"
                        . "Connection: close\r\n\r\n");
    is($r->{status}, 200, 'GET proxied') or diag($r->{error} // $r->{raw});
    my $e = parse_echo($r->{body}) // {};
    is($e->{method}, 'GET', 'method forwarded');
    is($e->{uri}, '/echo/x?a=1&b=two%20three', 'path and query forwarded unchanged');
    is($e->{version}, 'HTTP/1.0', 'upstream request is HTTP/1.0');
    is_deeply(values_of($e, 'Host'), ['backend'],
              'one Host header: the upstream name ($proxy_host)');
    is_deeply(values_of($e, 'Connection'), ['close'],
              'one Connection header: close');
    is_deeply(lines_except_host_conn($e),
              ['User-Agent: ferry-test', 'X-Foo: bar', 'Accept: */*'],
              'the other client headers forwarded in order, nothing added');
    is($e->{'body-length'}, 0, 'no body forwarded for GET');
}

{
    my $r = http($port, "POST /echo/form HTTP/1.1\r\n"
                        . "Host: x\r\n"
                        . "Content-Type: application/x-www-form-urlencoded\r\n"
                        . "Content-Length: 11\r\n"
                        . "Connection: close\r\n\r\n"
                        . "hello=world");
    is($r->{status}, 200, 'POST proxied') or diag($r->{error} // $r->{raw});
    my $e = parse_echo($r->{body}) // {};
    is($e->{method}, 'POST', 'POST method forwarded');
    is($e->{'body-length'}, 11, 'POST body length forwarded');
    is($e->{body}, 'hello=world', 'POST body forwarded');
    is_deeply(values_of($e, 'Content-Length'), ['11'],
              'POST Content-Length forwarded once');
    is_deeply(values_of($e, 'Content-Type'),
              ['application/x-www-form-urlencoded'], 'Content-Type forwarded');
}

{
    my $body = test_body(256 * 1024, 7);
    my $r = http($port, build_request(method => 'PUT', path => '/echo/big',
                                      headers => [Connection => 'close'],
                                      body => $body), timeout => 10);
    is($r->{status}, 200, 'PUT with a 256 KiB binary body proxied')
        or diag($r->{error} // '');
    my $e = parse_echo($r->{body}) // {};
    is($e->{method}, 'PUT', 'PUT method forwarded');
    is($e->{'body-length'}, length $body, '256 KiB body: length forwarded');
    ok(defined $e->{body} && $e->{body} eq $body, '256 KiB body: bytes intact');
}

{
    my $r = http($port, "DELETE /echo/item/7 HTTP/1.1\r\nHost: x\r\n"
                        . "Connection: close\r\n\r\n");
    my $e = parse_echo($r->{body}) // {};
    is($e->{method}, 'DELETE', 'DELETE forwarded');
    is($e->{uri}, '/echo/item/7', 'DELETE path forwarded');
}


# ---- what comes back -------------------------------------------------

{
    my $r = http_get($port, '/status/201');
    is($r->{status}, 201, 'backend status 201 passed through');
    is($r->{reason}, 'Created', 'reason phrase passed through');
    is($r->{headers}{'x-custom'}, 'one two', 'custom header passed through');
    is_deeply([ map { $_->[1] } grep { lc $_->[0] eq 'x-multi' }
                @{ $r->{header_list} // [] } ], ['a', 'b'],
              'repeated header passed through, both, in order');
    is($r->{headers}{'content-type'}, 'text/x-test', 'Content-Type passed through');
    is($r->{body}, "created\n", 'body passed through');
}

{
    my $r = http_get($port, '/status/404');
    is($r->{status}, 404, 'backend 404 passed through');
    is($r->{body}, "not here\n", 'backend 404 body passed through');
}

for my $mode (qw(length chunked close)) {
    for my $size (10, 1024 * 1024) {
        my $r = http($port, build_request(path => "/body/$mode/$size",
                                          headers => [Connection => 'close']),
                     timeout => 10);
        my $what = "$mode-delimited backend body of $size bytes";
        is($r->{status}, 200, "$what: status 200")
            or diag($r->{error} // '');
        my $want = test_body($size, $size);
        ok(defined $r->{body} && $r->{body} eq $want, "$what: arrives intact")
            or diag('got ' . length($r->{body} // '') . " bytes, want $size");
        if ($mode eq 'length') {
            is($r->{headers}{'content-length'}, $size,
               "$what: Content-Length passed through");
        }
    }
}

# a close-delimited backend body to a keep-alive HTTP/1.1 client is
# re-framed (chunked), so the client connection stays usable
{
    my $size = 300 * 1024;
    my ($res, $closed) = http_keepalive($port, [
        build_request(path => "/body/close/$size"),
        build_request(path => '/echo/after'),
    ], timeout => 10);
    my $r = $res->[0] // {};
    is($r->{status}, 200, 'close-delimited body to HTTP/1.1 keep-alive client: 200')
        or diag($r->{error} // '');
    ok(defined $r->{body} && $r->{body} eq test_body($size, $size),
       'close-delimited body to HTTP/1.1 keep-alive client: intact');
    ok($r->{chunked}, 'close-delimited body is sent chunked to HTTP/1.1 client');
    is(parse_echo($res->[1]{body})->{uri}, '/echo/after',
       'connection still serves the next request');
    ok(!$closed, 'connection still open afterwards');
}


# ---- client keep-alive -----------------------------------------------

{
    my ($res, $closed) = http_keepalive($port, [
        map { build_request(path => "/echo/k$_") } 1 .. 3 ]);
    is(scalar @$res, 3, 'HTTP/1.1 keep-alive: 3 responses on one connection');
    is_deeply([ map { $_->{status} // $_->{error} } @$res ], [200, 200, 200],
              'HTTP/1.1 keep-alive: all 200');
    is_deeply([ map { (parse_echo($_->{body}) // {})->{uri} } @$res ],
              ['/echo/k1', '/echo/k2', '/echo/k3'],
              'HTTP/1.1 keep-alive: answered in order');
    ok(!$closed, 'HTTP/1.1 keep-alive: connection open afterwards');
}

{
    my ($res, $closed) = http_keepalive($port, [
        "GET /echo/old HTTP/1.0\r\nHost: x\r\n\r\n" ]);
    is($res->[0]{status}, 200, 'HTTP/1.0 request answered');
    ok($closed, 'HTTP/1.0 request: connection closed after the response');
}

{
    my ($res, $closed) = http_keepalive($port, [
        "GET /echo/ka1 HTTP/1.0\r\nHost: x\r\nConnection: keep-alive\r\n\r\n",
        "GET /echo/ka2 HTTP/1.0\r\nHost: x\r\nConnection: keep-alive\r\n\r\n",
    ]);
    is_deeply([ map { $_->{status} // $_->{error} } @$res ], [200, 200],
              'HTTP/1.0 keep-alive: both requests answered on one connection');
    like($res->[0]{headers}{connection} // '', qr/^keep-alive$/i,
         'HTTP/1.0 keep-alive: response says Connection: keep-alive');
    ok(!$closed, 'HTTP/1.0 keep-alive: connection kept open');
}


# two requests in one write (pipelining): both answered, in order
{
    my $c = Ferry::Test::Client->new($port);
    $c->send(build_request(path => '/echo/p1')
             . build_request(path => '/echo/p2',
                             headers => [Connection => 'close']));
    my @uris = map { (parse_echo($c->read_response->{body}) // {})->{uri} }
               1 .. 2;
    is_deeply(\@uris, ['/echo/p1', '/echo/p2'],
              'pipelined requests answered in order');
    $c->close;
}

# a request arriving in pieces (the parser resumes where it stopped)
{
    my $req = build_request(method => 'POST', path => '/echo/pieces?q=1',
                            headers => ['X-Long' => 'v' x 300,
                                        Connection => 'close'],
                            body => 'piece-body');
    my $c = Ferry::Test::Client->new($port);
    my @cuts = (1, 3, 7, 20, 60, 200, 330, length($req) - 4);
    my $off = 0;
    for my $cut (@cuts, length $req) {
        $c->send(substr($req, $off, $cut - $off));
        $off = $cut;
        # pacing, so the pieces arrive in separate reads
        Time::HiRes::sleep(0.01);
    }
    my $r = $c->read_response;
    my $e = parse_echo($r->{body}) // {};
    is($e->{uri}, '/echo/pieces?q=1', 'request sent in pieces: URI intact');
    is_deeply(values_of($e, 'X-Long'), ['v' x 300],
              'request sent in pieces: long header intact');
    is($e->{body}, 'piece-body', 'request sent in pieces: body intact');
    $c->close;
}

# a large header is forwarded whole
{
    my $cookie = join '; ', map { "k$_=" . ('c' x 50) } 1 .. 100;
    my $r = http_get($port, '/echo/cookie', Cookie => $cookie);
    is($r->{status}, 200, '5 KiB Cookie header: 200');
    is_deeply(values_of(parse_echo($r->{body}) // {}, 'Cookie'), [$cookie],
              '5 KiB Cookie header forwarded intact');
}

# HEAD: headers of the backend, no body; 204: no body; both keep the
# connection usable
{
    my ($res, $closed) = http_keepalive($port, [
        "HEAD /body/length/5000 HTTP/1.1\r\nHost: x\r\n\r\n",
        build_request(path => '/status/204'),
        build_request(path => '/echo/after-head'),
    ]);
    is($res->[0]{status}, 200, 'HEAD: 200');
    is($res->[0]{headers}{'content-length'}, 5000,
       'HEAD: Content-Length of the backend passed through');
    is($res->[0]{body}, '', 'HEAD: no body');
    is($res->[1]{status}, 204, '204 from the backend passed through');
    is($res->[1]{headers}{'x-empty'}, 'yes', '204: headers passed through');
    is((parse_echo($res->[2]{body}) // {})->{uri}, '/echo/after-head',
       'HEAD and 204 leave the connection in step');
    ok(!$closed, 'HEAD and 204: connection still open');
}


# many clients at once, each gets its own answer
{
    my @c = map { Ferry::Test::Client->new($port) } 1 .. 50;
    my $i = 0;
    $_->send(build_request(path => '/echo/many/' . $i++,
                           headers => [Connection => 'close'])) for @c;
    my @bad;
    $i = 0;
    for my $c (@c) {
        my $r = $c->read_response(timeout => 10);
        my $uri = (parse_echo($r->{body}) // {})->{uri} // 'none';
        push @bad, "$i: " . ($r->{error} // $uri) if $uri ne "/echo/many/$i";
        $i++;
        $c->close;
    }
    ok(!@bad, '50 concurrent clients each get their own response')
        or diag(join "\n", @bad);
}


# ---- upstream round robin -------------------------------------------

{
    my @seq;
    for (1 .. 10) {
        my $r = http_get($port, "/rr/$_");
        push @seq, ($r->{status} // 0) == 200 ? $r->{body} : 'error';
    }
    my $s = join '', @seq;
    like($s, qr/^(?:AB){5}$|^(?:BA){5}$/,
         'two servers in one upstream alternate') or diag("sequence: $s");
    is($rr_a->requests, 5, 'first upstream server got 5 requests');
    is($rr_b->requests, 5, 'second upstream server got 5 requests');
}


# ---- location choice: longest prefix --------------------------------

{
    my %want = (
        '/lp/'        => 'lp',
        '/lp/x'       => 'lp',
        '/lp/a'       => 'lp-a',
        '/lp/ab'      => 'lp-a',
        '/lp/a/b'     => 'lp-ab',
        '/lp/a/bx'    => 'lp-ab',
        '/lp/a/bc'    => 'lp-ab',
        '/lp/a/bc/'   => 'lp-abc/',
        '/lp/a/bc/d'  => 'lp-abc/',
    );
    for my $path (sort keys %want) {
        my $r = http_get($port, $path);
        is($r->{body}, $want{$path}, "$path: longest matching prefix wins");
    }
    my $r = http_get($port, '/lp');
    is((parse_echo($r->{body}) // {})->{uri}, '/lp',
       '/lp: no /lp/ prefix match, falls to location / (proxied)');
}


# ---- return with variables -------------------------------------------

{
    my $r = http($port, "GET /vars/x?y=1 HTTP/1.1\r\nHost: Example.COM:8080\r\n"
                        . "Connection: close\r\n\r\n");
    is($r->{status}, 200, 'return 200');
    my @w = $f->worker_pids;
    my ($pid) = ($r->{body} // '') =~ /^pid=(\d+) /;
    is($r->{body}, "pid=" . ($pid // '?')
                   . " addr=127.0.0.1 uri=/vars/x?y=1 host=example.com",
       'return: $pid $remote_addr $request_uri $host expanded');
    ok(defined $pid && grep({ $_ == $pid } @w), '$pid is a worker pid')
        or diag("pid " . ($pid // 'none') . ", workers @w");
    like($r->{headers}{'content-type'} // '', qr{^text/plain\b},
         'return: Content-Type text/plain');
    is($r->{headers}{'content-length'}, length($r->{body} // ''),
       'return: Content-Length matches the body');
}

{
    my $r = http_get($port, '/gone');
    is($r->{status}, 404, 'return 404: status');
    is($r->{body}, "gone\n", 'return 404 "text": the text is the body');
}

$f->stop;

done_testing;
