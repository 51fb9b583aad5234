#!/usr/bin/perl

# $upstream_connect_time, $upstream_header_time, $upstream_response_time
# in the access log, as nginx documents them: seconds with milliseconds,
# one value per try (", " between tries, " : " across an internal
# redirect, as in $upstream_addr), "-" for a try that did not get that
# far, and "-" for a request that was never proxied.

use strict;
use warnings;

use Test::More;
use Ferry::Test;
use Time::HiRes ();

my $f = Ferry::Test->new(conf => main_conf() . <<'EOF');
worker_processes 1;
events { worker_connections 64; }
http {
    log_format times '$uri|$upstream_addr|$upstream_status|'
                     '$upstream_connect_time|$upstream_header_time|'
                     '$upstream_response_time';
    upstream slow { server 127.0.0.1:%%PORT_1%%; }
    upstream fast { server 127.0.0.1:%%PORT_2%%; }
    upstream refused_first {
        server 127.0.0.1:%%PORT_3%%;            # nothing listens here
        server 127.0.0.1:%%PORT_2%% backup;
    }
    server {
        listen 127.0.0.1:%%PORT_0%%;
        access_log logs/times.log times;
        location /slow { proxy_pass http://slow; }
        location /two { proxy_pass http://refused_first; }
        location /missing {
            proxy_pass http://fast;
            proxy_intercept_errors on;
            error_page 404 = /fallback;
        }
        location /fallback { proxy_pass http://fast; }
        location /local { return 200 "here"; }
    }
}
EOF
$f->allow_log(qr/connect\(\) failed/);

# /slow: the header comes about 300 ms after the request, the body
# another 300 ms later.
my $slow = Ferry::Test::Backend->new(port => $f->port(1), raw => sub {
    my ($sock) = @_;
    Time::HiRes::sleep(0.3);
    syswrite $sock, "HTTP/1.1 200 OK\r\nContent-Length: 4\r\n"
                  . "Connection: close\r\n\r\n";
    Time::HiRes::sleep(0.3);
    syswrite $sock, "slow";
});
my $fast = Ferry::Test::Backend->new(port => $f->port(2), handler => sub {
    my ($req) = @_;
    return { status => 404, body => "no\n" } if $req->{uri} =~ m{^/missing};
    return { status => 200, body => "fast\n" };
});
$f->start or do { done_testing; exit };
my $port = $f->port(0);

sub lines {
    my $t = Ferry::Test::read_file($f->prefix . '/logs/times.log') // '';
    return split /\n/, $t;
}

# the log line of the request for $uri, split at "|"
sub entry {
    my ($uri) = @_;
    my @l;
    wait_until(sub { @l = grep { /^\Q$uri\E\|/ } lines(); @l }, 5);
    return @l ? split(/\|/, $l[0], -1) : ();
}

my $T = qr/\d+\.\d{3}/;

# ---- one try, with a slow header and body --------------------------------
my $r = http_get($port, '/slow');
is($r->{body}, 'slow', '/slow answered');
my @e = entry('/slow');
is($e[1], '127.0.0.1:' . $f->port(1), '$upstream_addr');
like($e[3], qr/^$T$/, '$upstream_connect_time is seconds.milliseconds');
like($e[4], qr/^$T$/, '$upstream_header_time is seconds.milliseconds');
like($e[5], qr/^$T$/, '$upstream_response_time is seconds.milliseconds');
SKIP: {
    skip 'no log line', 4 unless @e == 6;
    cmp_ok($e[3], '<', 0.2, 'connect time: loopback, well under the delay');
    cmp_ok($e[4], '>=', 0.2, 'header time includes the 300 ms delay');
    cmp_ok($e[5], '>=', $e[4] + 0.2,
           'response time includes the body that came 300 ms later');
    cmp_ok($e[3], '<=', $e[4], 'connect time <= header time');
}

# ---- two tries: the first server refuses the connection ------------------
$r = http_get($port, '/two');
is($r->{body}, "fast\n", '/two answered by the backup');
@e = entry('/two');
is($e[1], '127.0.0.1:' . $f->port(3) . ', 127.0.0.1:' . $f->port(2),
   '$upstream_addr lists both tries');
is($e[2], '502, 200', '$upstream_status lists both tries');
like($e[3], qr/^-, $T$/, 'connect time: "-" for the refused try, a time for the other');
like($e[4], qr/^-, $T$/, 'header time: "-" for the refused try');
like($e[5], qr/^$T, $T$/, 'response time: one per try');

# ---- an internal redirect (error_page) to another proxy_pass -------------
$r = http_get($port, '/missing');
is($r->{body}, "fast\n", '/missing: the 404 was replaced by /fallback');
@e = entry('/fallback');
@e = entry('/missing') unless @e;
my $a2 = '127.0.0.1:' . $f->port(2);
is($e[1], "$a2 : $a2", '$upstream_addr: " : " across the redirect');
is($e[2], '404 : 200', '$upstream_status: " : " across the redirect');
like($e[3], qr/^$T : $T$/, 'connect times: " : " across the redirect');
like($e[4], qr/^$T : $T$/, 'header times: " : " across the redirect');
like($e[5], qr/^$T : $T$/, 'response times: " : " across the redirect');

# ---- never proxied --------------------------------------------------------
is(http_get($port, '/local')->{body}, 'here', '/local answered');
@e = entry('/local');
is(join('|', @e[1 .. 5]), '-|-|-|-|-',
   'a request never proxied logs "-" for every $upstream_ variable');

$f->stop;
done_testing;
