#!/usr/bin/perl

# mirror.t -- mirror and mirror_request_body (nginx's mirror module),
# log_subrequest, with a real main backend and a real shadow backend:
#
#   the shadow backend gets a copy of the request: the method, the URI
#   ($request_uri in the mirror location's proxy_pass), the client's
#   header fields and its body (by length, chunked: sent with a
#   Content-Length, after Expect: 100-continue; bigger than the
#   buffers); the client gets the
#   main backend's answer only
#   a mirror that holds its request does not hold the client's answer,
#   but the connection's next request waits for it (the shadow answers
#   when the test creates a file)
#   a dead mirror backend leaves the client's 200 intact
#   two mirror lines, two copies; mirror off in a nested location;
#   mirror_request_body off (no body to the shadow, the body to the
#   main backend); "return" answers before mirror (nginx's rewrite
#   phase), so nothing is mirrored
#   keep-alive: several mirrored requests on one connection; a mirror's
#   big answer read to its end, its upstream connection kept
#   a client that closes while the mirror runs does not cut it short
#   access_log: one line per client request; the mirror's only with
#   log_subrequest on in its location
#
# and the configuration errors, with file and line.

use strict;
use warnings;

use Test::More;
use Ferry::Test;

my $f = Ferry::Test->new(conf => main_conf() . <<'EOF');
worker_processes 1;
events { worker_connections 64; }
http {
    upstream app    { server 127.0.0.1:%%PORT_1%%; }
    upstream shadow { server 127.0.0.1:%%PORT_2%%; }
    upstream dead   { server 127.0.0.1:%%PORT_3%%; }
    upstream shadowka { server 127.0.0.1:%%PORT_2%%; keepalive 2; }

    log_format u '$request_uri $status';
    log_format rl '$request_uri $status $request_length';
    log_format sh '$request_uri $status $upstream_http_x_shadow';
    access_log logs/access.log rl;

    server {
        listen 127.0.0.1:%%PORT_0%%;

        location / {
            mirror /m;
            proxy_pass http://app;

            location /nomirror/ { mirror off; proxy_pass http://app; }
        }
        location /two/ {
            mirror /m;
            mirror /m2;
            proxy_pass http://app;
        }
        location /nobody/ {
            mirror /m;
            mirror_request_body off;
            proxy_pass http://app;
        }
        location /deadmain/ {
            mirror /m;
            proxy_pass http://dead;
        }
        location /dead/ {
            mirror /mdead;
            proxy_pass http://app;
        }
        location /ret/ {
            mirror /m;
            return 200 "returned\n";
        }
        location /small/ {
            client_max_body_size 10;
            mirror /m;
            proxy_pass http://app;
        }
        location /bigbody/ {
            client_body_buffer_size 1k;
            mirror /m;
            proxy_pass http://app;
        }
        location /hold/ {
            mirror /mlog;
            proxy_pass http://app;
        }
        location /big/ {
            mirror /mbig;
            proxy_pass http://app;
        }
        location /logged/ {
            mirror /mlog;
            proxy_pass http://app;
        }

        location = /m {
            internal;
            proxy_pass http://shadow$request_uri;
        }
        location = /m2 {
            internal;
            proxy_set_header X-Mirror two;
            proxy_pass http://shadow$request_uri;
        }
        location = /mdead {
            internal;
            proxy_pass http://dead;
        }
        location = /mbig {
            internal;
            log_subrequest on;
            access_log logs/big.log sh;
            proxy_pass http://shadowka$request_uri;
        }
        location = /mlog {
            internal;
            log_subrequest on;
            access_log logs/sub.log u;
            proxy_pass http://shadow$request_uri;
        }
    }
}
EOF

my $dir = $f->prefix;
my $slog = "$dir/shadow.log";
my $order = "$dir/order.log";
my $release = "$dir/release";

sub note_line {
    my ($file, $line) = @_;
    if (open my $fh, '>>', $file) {
        print $fh "$line\n";
        close $fh;
    }
}

# The shadow notes what it got; a URI with "slow" is held until the
# test creates the release file.
my $shadow = Ferry::Test::Backend->new(port => $f->port(2), handler => sub {
    my ($req) = @_;
    my %h;
    for (@{ $req->{headers} }) {
        $h{lc $_->[0]} = $_->[1];
    }
    my $body = $req->{body} // '';
    note_line($slog, sprintf "%s %s cl=%s te=%s x-test=%s x-mirror=%s "
              . "body=%s", $req->{method}, $req->{uri},
              $h{'content-length'} // '-', $h{'transfer-encoding'} // '-',
              $h{'x-test'} // '-', $h{'x-mirror'} // '-', $body);
    if ($req->{uri} =~ m{^/big/}) {
        note_line("$dir/big.log", $$);      # one process per connection
        return { status => 200, headers => ['X-Shadow' => 'big'],
                 body => 'x' x 300000 };
    }
    if ($req->{uri} =~ m{^/hold/}) {
        wait_until { -e "$release.2" } 20;      # the test's release
    }
    if ($req->{uri} =~ /slow/) {
        wait_until { -e $release } 20;      # the test's release
        note_line($order, "shadow answers $req->{uri}");
    }
    return { status => 200, headers => ['X-Shadow' => 'yes'],
             body => "shadow answer\n" };
});

# The main backend echoes, and notes when each request arrives.
my $app = Ferry::Test::Backend->new(port => $f->port(1), handler => sub {
    my ($req) = @_;
    note_line($order, "app gets $req->{uri}");
    return { status => 200, headers => ['X-App' => 'yes'],
             body => "app $req->{method} $req->{uri} body="
                     . ($req->{body} // '') . "\n" };
});

sub shadow_lines {
    open my $fh, '<', $slog or return ();
    my @l = <$fh>;
    chomp @l;
    return @l;
}

sub order_lines {
    open my $fh, '<', $order or return ();
    my @l = <$fh>;
    chomp @l;
    return @l;
}

sub shadow_got {
    my ($re) = @_;
    return scalar grep { /$re/ } shadow_lines();
}

$f->allow_log(qr/connect\(\) failed/);
$f->start;

# a POST: the same method, URI, fields and body to the shadow
my $post = build_request(method => 'POST', path => '/a?x=1',
                         headers => ['X-Test' => 'one', Connection => 'close'],
                         body => 'hello');
my $r = http($f->port(0), $post);
is($r->{status}, 200, 'a mirrored POST is answered');
is($r->{body}, "app POST /a?x=1 body=hello\n",
   '... by the main backend, with the body');
is(($r->{headers}{'x-app'} // 'none') . ' '
   . ($r->{headers}{'x-shadow'} // 'none'), 'yes none',
   '... its header fields, and nothing of the mirror\'s');
ok(wait_until(sub { shadow_got(qr{^POST /a\?x=1 }) }, 10),
   'the shadow backend gets the copy');
my @s = grep { m{^POST /a\?x=1 } } shadow_lines();
is($s[0], 'POST /a?x=1 cl=5 te=- x-test=one x-mirror=- body=hello',
   '... with the method, URI, the client\'s field and the body');

# chunked: the body read whole, sent with a length to both
$r = http($f->port(0), "POST /ch HTTP/1.1\r\nHost: localhost\r\n"
          . "Transfer-Encoding: chunked\r\nConnection: close\r\n\r\n"
          . "3\r\nabc\r\n4\r\ndefg\r\n0\r\n\r\n");
is($r->{body}, "app POST /ch body=abcdefg\n",
   'a chunked body reaches the main backend');
ok(wait_until(sub { shadow_got(qr{^POST /ch }) }, 10), '... and the shadow');
@s = grep { m{^POST /ch } } shadow_lines();
is($s[0], 'POST /ch cl=7 te=- x-test=- x-mirror=- body=abcdefg',
   '... decoded, with a Content-Length');

# bodies bigger than the buffers: read from the socket, a chunked one
# growing its buffer
{
    my $big = join '', map { chr(97 + $_ % 26) x 1000 } 0 .. 199;
    $r = http($f->port(0), build_request(method => 'POST',
              path => '/bigbody/len', headers => [Connection => 'close'],
              body => $big), timeout => 10);
    ok($r->{body} eq "app POST /bigbody/len body=$big\n",
       'a 200 KB body reaches the main backend whole');
    # (a long line may be read before it is all written: the whole one)
    my $line = "POST /bigbody/len cl=200000 te=- x-test=- x-mirror=- "
               . "body=$big";
    ok(wait_until(sub { grep { $_ eq $line } shadow_lines() }, 10),
       '... and the shadow');
    my $chunks = join '', map { sprintf("%x\r\n%s\r\n", 1000,
                                        chr(97 + $_ % 26) x 1000) } 0 .. 99;
    my $want = join '', map { chr(97 + $_ % 26) x 1000 } 0 .. 99;
    $r = http($f->port(0), "POST /bigbody/ch HTTP/1.1\r\nHost: localhost\r\n"
              . "Transfer-Encoding: chunked\r\nConnection: close\r\n\r\n"
              . $chunks . "0\r\n\r\n", timeout => 10);
    ok($r->{body} eq "app POST /bigbody/ch body=$want\n",
       'a 100 KB chunked body (client_body_buffer_size 1k) reaches the '
       . 'main backend whole');
    $line = "POST /bigbody/ch cl=100000 te=- x-test=- x-mirror=- body=$want";
    ok(wait_until(sub { grep { $_ eq $line } shadow_lines() }, 10),
       '... and the shadow, with its length');
}

# a chunked body that breaks the rules: answered, not mirrored; the
# bytes after a good one are the next request's
$r = http($f->port(0), "POST /small/ch HTTP/1.1\r\nHost: localhost\r\n"
          . "Transfer-Encoding: chunked\r\n\r\n"
          . "8\r\n12345678\r\n8\r\n12345678\r\n0\r\n\r\n");
is($r->{status}, 413, 'a chunked body over client_max_body_size: 413');
$r = http($f->port(0), "POST /ch/bad HTTP/1.1\r\nHost: localhost\r\n"
          . "Transfer-Encoding: chunked\r\n\r\nzz\r\nabc\r\n0\r\n\r\n");
is($r->{status}, 400, 'an invalid chunked body: 400');
{
    my ($res) = http_keepalive($f->port(0), [
        "POST /ch/pipe HTTP/1.1\r\nHost: localhost\r\n"
        . "Transfer-Encoding: chunked\r\n\r\n3\r\nabc\r\n0\r\n\r\n"
        . "GET /ch/after HTTP/1.1\r\nHost: localhost\r\n\r\n", '']);
    is($res->[0]{body}, "app POST /ch/pipe body=abc\n",
       'a chunked body with the next request behind it');
    is(($res->[1] // {})->{body}, "app GET /ch/after body=\n",
       '... which is answered next');
}
ok(!grep({ m{^POST /(small|ch/bad)} } shadow_lines()),
   '... the refused bodies were not mirrored');

# Expect: 100-continue: the 100 first, then the body goes to both
{
    my $c = Ferry::Test::Client->new($f->port(0));
    $c->send("PUT /exp HTTP/1.1\r\nHost: localhost\r\nContent-Length: 4\r\n"
             . "Expect: 100-continue\r\nConnection: close\r\n\r\n");
    wait_until(sub { $c->_read_some(0.2); $c->buffer =~ /\r\n\r\n/ }, 5);
    like($c->buffer, qr{^HTTP/1\.1 100 Continue\r\n\r\n$},
         'Expect: 100-continue gets its 100 first');
    $c->{buf} = '';
    $c->send('wxyz');
    my $res = $c->read_response(timeout => 5);
    is($res->{body}, "app PUT /exp body=wxyz\n", '... then the answer');
    $c->close;
    ok(wait_until(sub { shadow_got(qr{^PUT /exp cl=4 .*body=wxyz$}) }, 10),
       '... and the shadow has the body');
}

# a slow mirror: the client has its answer while the shadow holds the
# copy; the next request on the connection goes on after the mirror
{
    my $c = Ferry::Test::Client->new($f->port(0), timeout => 10);
    $c->send(build_request(path => '/slow/1'));
    my $res = $c->read_response;
    is($res->{body}, "app GET /slow/1 body=\n",
       'a slow mirror: the client has its answer');
    ok(wait_until(sub { shadow_got(qr{^GET /slow/1 }) }, 10)
       && !grep({ /shadow answers/ } order_lines()),
       '... while the shadow still holds the copy');
    $c->send(build_request(path => '/slow/2'));
    # a ferry that did not wait would pass it on now
    wait_until(sub { grep { $_ eq 'app gets /slow/2' } order_lines() }, 1);
    note_line($release, 'go');
    $res = $c->read_response;
    is($res->{body}, "app GET /slow/2 body=\n",
       '... the next request on the connection is answered');
    my @o = grep { m{^app gets /slow/2$|^shadow answers /slow/1$} }
            order_lines();
    is_deeply(\@o, ['shadow answers /slow/1', 'app gets /slow/2'],
              '... only once the mirror of the first has ended');
    $c->close;
}

# a dead mirror backend changes nothing for the client
my ($rs, $closed) = http_keepalive($f->port(0), [
    build_request(path => '/dead/1'), build_request(path => '/dead/2')]);
is($rs->[0]{status}, 200, 'a dead mirror backend: the client\'s 200');
is($rs->[0]{body}, "app GET /dead/1 body=\n", '... intact');
is($rs->[1]{body}, "app GET /dead/2 body=\n",
   '... and the next request on the connection too');
ok(!$closed, '... which stays open');

# the main backend down: the body was read whole, so the connection
# stays fit for the next request
($rs, $closed) = http_keepalive($f->port(0), [
    build_request(method => 'POST', path => '/deadmain/x', body => 'lost'),
    build_request(path => '/dead/3')]);
is($rs->[0]{status}, 502, 'a mirrored POST whose main backend is down: 502');
is($rs->[1]{body}, "app GET /dead/3 body=\n",
   '... and the next request on the connection is answered');
ok(wait_until(sub { shadow_got(qr{^POST /deadmain/x .*body=lost$}) }, 10),
   '... the shadow got the copy all the same');

# two mirrors, two copies
$r = http_get($f->port(0), '/two/x');
is($r->{body}, "app GET /two/x body=\n", 'two mirror lines: one answer');
ok(wait_until(sub { shadow_got(qr{^GET /two/x .*x-mirror=two})
                    && shadow_got(qr{^GET /two/x .*x-mirror=-}) }, 10),
   '... and two copies, one through each mirror location');

# mirror_request_body off: no body to the shadow
$r = http($f->port(0), build_request(method => 'POST', path => '/nobody/x',
          headers => [Connection => 'close'], body => 'secret'));
is($r->{body}, "app POST /nobody/x body=secret\n",
   'mirror_request_body off: the body still reaches the main backend');
ok(wait_until(sub { shadow_got(qr{^POST /nobody/x }) }, 10), '... the copy is made');
@s = grep { m{^POST /nobody/x } } shadow_lines();
is($s[0], 'POST /nobody/x cl=- te=- x-test=- x-mirror=- body=',
   '... without the body');

# mirror off nested; "return" answers before mirror
$r = http_get($f->port(0), '/nomirror/x');
is($r->{body}, "app GET /nomirror/x body=\n", 'mirror off: answered');
$r = http_get($f->port(0), '/ret/x');
is($r->{body}, "returned\n", '"return" in a mirrored location: answered');
$r = http_get($f->port(0), '/after');
ok(wait_until(sub { shadow_got(qr{^GET /after }) }, 10),
   'a later mirrored request reaches the shadow');
is(shadow_got(qr{^GET /nomirror/}), 0,
   '... but none from a nested location with mirror off');
is(shadow_got(qr{^GET /ret/}), 0, '... nor from a "return"');

# keep-alive: mirrored requests one after the other on one connection
($rs, $closed) = http_keepalive($f->port(0),
    [map { build_request(path => "/ka/$_") } 1 .. 3]);
is_deeply([map { $_->{body} } @$rs],
          [map { "app GET /ka/$_ body=\n" } 1 .. 3],
          'keep-alive: three mirrored requests answered on one connection');
ok(!$closed, '... which stays open');
ok(wait_until(sub { shadow_got(qr{^GET /ka/3 }) && shadow_got(qr{^GET /ka/1 })
                    && shadow_got(qr{^GET /ka/2 }) }, 10),
   '... and the shadow got each');

# a mirror's answer is read to its end and dropped: a big one leaves
# its upstream connection fit for the next mirror (upstream keepalive)
($rs, $closed) = http_keepalive($f->port(0),
    [map { build_request(path => "/big/$_") } 1 .. 2]);
is_deeply([map { $_->{body} } @$rs],
          [map { "app GET /big/$_ body=\n" } 1 .. 2],
          'a mirror with a big answer: the client has the main one');
ok(wait_until(sub { my @l = split /\n/,
                        Ferry::Test::read_file("$dir/big.log") // '';
                    @l == 2 }, 10), '... the shadow got both copies');
my @big = split /\n/, Ferry::Test::read_file("$dir/big.log") // '';
is($big[1], $big[0], '... on one kept connection: the big answer was read '
   . 'to its end');
ok(wait_until(sub { (Ferry::Test::read_file("$dir/logs/big.log") // '')
                    =~ m{^/big/1 200 big\n/big/2 200 big\n$} }, 10),
   '... its log_subrequest lines with its $upstream_http_ field intact');

# access_log: the client's requests only, but log_subrequest on
$r = http_get($f->port(0), '/logged/x');
is($r->{status}, 200, 'a request mirrored to a location with log_subrequest');
ok(wait_until(sub { (Ferry::Test::read_file("$dir/logs/sub.log") // '')
                    =~ m{^/logged/x 200$}m }, 10),
   '... the mirror subrequest has its line there');

# a client that closes while its request's mirror runs: the copy ends
{
    my $c = Ferry::Test::Client->new($f->port(0), timeout => 10);
    $c->send(build_request(path => '/hold/1'));
    my $res = $c->read_response;
    is($res->{body}, "app GET /hold/1 body=\n",
       'a client answered while its mirror is held');
    ok(wait_until(sub { shadow_got(qr{^GET /hold/1 }) }, 10),
       '... the shadow has the copy');
    $c->close;
    note_line("$release.2", 'go');
    ok(wait_until(sub { (Ferry::Test::read_file("$dir/logs/sub.log") // '')
                        =~ m{^/hold/1 200$}m }, 10),
       '... the client closes: the mirror still ends with the answer');
}

my $log = Ferry::Test::read_file("$dir/logs/access.log") // '';
my @two = grep { m{^/two/x } } split /\n/, $log;
is(scalar @two, 1, 'without log_subrequest: one line per client request');
my $plen = length $post;
like($log, qr{^/a\?x=1 200 $plen$}m,
     '$request_length of a mirrored POST: its header and body, once');

$f->stop;

# configuration errors
server_conf_refused('location / { mirror m; }',
                    'invalid URI "m" in "mirror": it must start with "/" in '
                    . '\S+:8', 'a mirror URI without "/"');
server_conf_refused('location / { mirror off; mirror /m; }',
                    '"mirror" directive is duplicate in \S+:8',
                    'mirror URI after mirror off');
server_conf_refused('location / { mirror_request_body maybe; }',
                    'mirror_request_body', 'mirror_request_body not a flag');
server_conf_refused('location / { mirror; }', 'invalid number of arguments',
                    'mirror without a URI');

done_testing;
