#!/usr/bin/perl

# More of nginx's variables, for configurations that name them:
# $upstream_cookie_NAME (the value an upstream's Set-Cookie gives NAME,
# any case, the first one that sets it; in add_header and in the access
# log after a body larger than the header's buffer; as the upstream
# sent it, before proxy_cookie_path), $date_local and $date_gmt outside
# SSI pages (ssi's default timefmt, now), $http2 and $http3 (empty:
# ferry speaks HTTP/1.x), $request_body (the body as the upstream got
# it, decoded from chunked, when it fitted client_body_buffer_size: in
# add_header and the access log; empty for a bigger one, as nginx's in
# a temporary file), $request_body_file (always empty) and
# $upstream_trailer_NAME (a field of the trailer section of an upstream's
# chunked body, for the access log; passed through or re-chunked).  Each was
# unknown to the old binary, which refuses this configuration.

use strict;
use warnings;

use Test::More;
use Ferry::Test;
use POSIX qw(strftime);
use Time::Local qw(timegm);

my $f = Ferry::Test->new(conf => main_conf() . <<'EOF');
worker_processes 1;
events { worker_connections 64; }
http {
    log_format ck '$upstream_cookie_sid|$upstream_cookie_THEME|$upstream_cookie_none';
    log_format body '$request_method|$request_body|$request_body_file';
    log_format tr '$uri|$upstream_trailer_x_sum|$upstream_trailer_x_two|$upstream_trailer_none|$sent_http_transfer_encoding';
    upstream raw { server 127.0.0.1:%%PORT_2%%; }
    upstream app { server 127.0.0.1:%%PORT_1%%; }
    server {
        listen 127.0.0.1:%%PORT_0%%;
        location /up/ {
            proxy_pass http://app;
            proxy_cookie_path / /app/;
            add_header X-Sid "[$upstream_cookie_sid]";
            add_header X-Theme "[$upstream_cookie_theme]";
            add_header X-Si "[$upstream_cookie_si]";
            access_log logs/ck.log ck;
        }
        location /body/ {
            proxy_pass http://app;
            client_body_buffer_size 1k;
            add_header X-Body "[$request_body]";
            access_log logs/body.log body;
        }
        location /tr/ {
            proxy_pass http://raw;
            access_log logs/tr.log tr;
            location /tr/sub/ { proxy_pass http://raw; sub_filter a b; sub_filter_types text/plain;
                                access_log logs/tr.log tr; }
        }
        location /dates {
            return 200 "$date_local|$date_gmt|[$http2$http3]";
        }
    }
}
EOF

my $big = 'x' x 300000;
my $be = Ferry::Test::Backend->new(port => $f->port(1), handler => sub {
    my ($req) = @_;
    if ($req->{uri} =~ m{^/body/}) {
        return { status => 200, body => 'got ' . length($req->{body}) . "\n" };
    }
    return { status => 200,
             headers => [ 'Set-Cookie' => 'sidx=wrong; Path=/',
                          'Set-Cookie' => 'sid=abc123; Path=/; HttpOnly',
                          'Set-Cookie' => 'theme=dark',
                          'Set-Cookie' => 'sid=second' ],
             body => $req->{uri} =~ /big/ ? $big : "up\n" };
});
my $rawbe = Ferry::Test::Backend->new(port => $f->port(2), raw => sub {
    my ($sock) = @_;
    syswrite $sock, "HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\n"
                    . "Transfer-Encoding: chunked\r\nConnection: close\r\n\r\n"
                    . "5\r\nabcde\r\n0\r\nX-Sum: 1234  \r\nX-Two: a\r\n"
                    . "x-two: b\r\n\r\n";
});
$f->start or BAIL_OUT('ferry did not start');

my $r = http_get($f->port(0), '/up/small');
is($r->{status}, 200, 'proxied');
is($r->{headers}{'x-sid'}, '[abc123]',
   '$upstream_cookie_sid: the first Set-Cookie that sets sid, up to ";" '
   . '(not sidx)');
is($r->{headers}{'x-theme'}, '[dark]', '$upstream_cookie_theme: the value');
is($r->{headers}{'x-si'}, '[]', 'a name that only starts a cookie\'s: empty');
like($r->{headers}{'set-cookie'}, qr{sid=abc123; Path=/app/},
     '... the client gets proxy_cookie_path\'s rewrite');

$r = http_get($f->port(0), '/up/big');
is(length $r->{body}, length $big, 'a 300 KB body');
my $log;
wait_until {
    $log = Ferry::Test::read_file($f->prefix . '/logs/ck.log') // '';
    ($log =~ tr/\n//) >= 2;
} 5;
is((split /\n/, $log)[1], 'abc123|dark|-',
   'access log after the body: $upstream_cookie_sid, _THEME (any case), '
   . 'an unknown cookie "-" as an empty value is logged');

# ---- $request_body ----
$r = http($f->port(0), build_request(method => 'POST', path => '/body/a',
                                     headers => [Connection => 'close'],
                                     body => 'a=1&b=two'));
is($r->{body}, "got 9\n", 'a body proxied');
is($r->{headers}{'x-body'}, '[a=1&b=two]',
   'add_header $request_body: the body, read whole before the answer');
$r = http($f->port(0), build_request(method => 'POST', path => '/body/c',
        headers => [Connection => 'close', 'Transfer-Encoding' => 'chunked'],
        body => "3\r\nabc\r\n4\r\ndefg\r\n0\r\n\r\n"));
is($r->{headers}{'x-body'}, '[abcdefg]', '... a chunked body decoded');
my $large = 'z' x 5000;
$r = http($f->port(0), build_request(method => 'POST', path => '/body/l',
                                     headers => [Connection => 'close'],
                                     body => $large));
is($r->{body}, "got 5000\n", 'a body past client_body_buffer_size proxied');
is($r->{headers}{'x-body'}, '[]', '... $request_body empty, as nginx\'s');
$r = http_get($f->port(0), '/body/g');
is($r->{headers}{'x-body'}, '[]', 'a GET: empty');
{
    my $bl;
    wait_until {
        $bl = Ferry::Test::read_file($f->prefix . '/logs/body.log') // '';
        ($bl =~ tr/\n//) >= 4;
    } 5;
    is($bl, "POST|a=1&b=two|-\nPOST|abcdefg|-\nPOST|-|-\nGET|-|-\n",
       'the access log: $request_body, $request_body_file always empty');
}

# ---- $upstream_trailer_ ----
$r = http_get($f->port(0), '/tr/a');
is($r->{body}, 'abcde', 'a chunked body with trailers passed on');
$r = http_get($f->port(0), '/tr/sub/a');
is($r->{body}, 'bbcde', '... and one re-chunked by sub_filter');
$r = http($f->port(0), "GET /tr/old HTTP/1.0\r\nHost: x\r\n\r\n");
is($r->{body}, 'abcde', '... and one dechunked for HTTP/1.0');
{
    my $tl;
    wait_until {
        $tl = Ferry::Test::read_file($f->prefix . '/logs/tr.log') // '';
        ($tl =~ tr/\n//) >= 3;
    } 5;
    is($tl, "/tr/a|1234|a, b|-|chunked\n/tr/sub/a|1234|a, b|-|chunked\n"
            . "/tr/old|1234|a, b|-|-\n",
       '$upstream_trailer_NAME in the access log: the value without its '
       . 'blanks, two lines joined, a missing one empty');
}

my $before = time;
$r = http_get($f->port(0), '/dates');
my $after = time;
my ($local, $gmt, $h2) = split /\|/, $r->{body};
my $re = qr/^(Monday|Tuesday|Wednesday|Thursday|Friday|Saturday|Sunday), (\d\d)-(\w\w\w)-(\d{4}) (\d\d):(\d\d):(\d\d) (\S+)$/;
like($gmt, qr/$re/, '$date_gmt in ssi\'s default timefmt') or diag($gmt);
my %mon = (Jan => 0, Feb => 1, Mar => 2, Apr => 3, May => 4, Jun => 5,
           Jul => 6, Aug => 7, Sep => 8, Oct => 9, Nov => 10, Dec => 11);
if ($gmt =~ $re) {
    my $t = timegm($7, $6, $5, $2, $mon{$3}, $4);
    ok($t >= $before - 1 && $t <= $after + 1, '... now')
        or diag("$gmt: $t not in [$before, $after]");
    is($8, 'GMT', '... in GMT');
    is($1, strftime('%A', gmtime $t), '... with its weekday');
} else {
    fail('... now') for 1 .. 3;
}
like($local, qr/$re/, '$date_local in the same format');
is($h2, '[]', '$http2 and $http3: empty, the request came over HTTP/1.1');

$f->stop;
done_testing;
