#!/usr/bin/perl

# The access log: nginx's combined format, log_format with variables and
# escaping, access_log off and inheritance, buffer/flush, reopening on
# SIGUSR1, and configuration errors.

use strict;
use warnings;

use Test::More;
use Ferry::Test;
use Time::HiRes ();

my $f = Ferry::Test->new(conf => main_conf() . <<'EOF');
worker_processes 1;
events { worker_connections 256; }
http {
    log_format vars '$status $request_method $uri $args $arg_a $http_x_test '
                    '$cookie_c $connection_requests $request_length '
                    '$body_bytes_sent $remote_user $proxy_host '
                    '$upstream_addr $upstream_status';
    log_format js escape=json '{"ua":"$http_user_agent"}';
    log_format more '$hostname|$bytes_sent|$body_bytes_sent|$request_time|'
                    '$msec|$time_local|$time_iso8601|'
                    '$proxy_add_x_forwarded_for';
    log_format multi '$proxy_add_x_forwarded_for|$http_x_forwarded_for|'
                     '$http_x_test|$http_cookie|$cookie_e|$cookie_c';
    upstream app { server 127.0.0.1:%%PORT_1%%; }
    access_log logs/access.log;
    server {
        listen 127.0.0.1:%%PORT_0%%;
        access_log logs/vars.log vars;
        location / { proxy_pass http://app; }
        location /quiet { access_log off; return 200 "q"; }
        location /json { access_log logs/json.log js; return 200 "j"; }
        location /more { access_log logs/more.log more; return 200 "more"; }
        location /multi { access_log logs/multi.log multi; return 200 "m"; }
        location /cond {
            access_log logs/cond.log vars if=$arg_log;
            return 200 "c";
        }
        location /buf {
            access_log logs/buf.log vars buffer=64k flush=1s;
            return 200 "b";
        }
    }
    server {
        listen 127.0.0.1:%%PORT_2%%;
        location / { return 200 "plain"; }
    }
}
EOF

my $b = Ferry::Test::Backend->new(port => $f->port(1));
$f->start or do { done_testing; exit };
my ($port, $port2) = ($f->port(0), $f->port(2));

sub lines_of {
    my ($name) = @_;
    my $text = Ferry::Test::read_file($f->prefix . "/logs/$name") // '';
    return split /\n/, $text;
}

# The line is written when the request ends, just after the response:
# poll for it.
sub wait_lines {
    my ($name, $n) = @_;
    my @l;
    wait_until(sub { @l = lines_of($name); @l >= $n }, 5);
    return @l;
}

# combined, at the http level, used by a server without its own
my $r = http($port2, "GET /p?x=1 HTTP/1.1\r\nHost: h\r\nUser-Agent: my \"agent\"\r\n"
                   . "Referer: http://ref/\r\nAuthorization: Basic Ym9iOnB3\r\n"
                   . "Connection: close\r\n\r\n");
is($r->{status}, 200, 'request answered');
my @l = wait_lines('access.log', 1);
is(scalar @l, 1, 'one line in the http-level log');
like($l[0], qr{^127\.0\.0\.1 - bob \[\d\d/\w{3}/\d{4}:\d\d:\d\d:\d\d [+-]\d{4}\] "GET /p\?x=1 HTTP/1\.1" 200 5 "http://ref/" "my \\x22agent\\x22"$},
     'combined format, user from Basic auth, quotes escaped');

# variables
$r = http($port, "POST /v/p?a=1&b=2 HTTP/1.1\r\nHost: h\r\nX-Test: hello\r\n"
               . "Cookie: d=4; c=3\r\nContent-Length: 5\r\nConnection: close\r\n\r\nabcde");
is($r->{status}, 200, 'proxied request answered');
@l = wait_lines('vars.log', 1);
is(scalar @l, 1, 'one line in the server log');
my @v = split / /, $l[0];
is($v[0], '200', '$status');
is($v[1], 'POST', '$request_method');
is($v[2], '/v/p', '$uri');
is($v[3], 'a=1&b=2', '$args');
is($v[4], '1', '$arg_a');
is($v[5], 'hello', '$http_x_test');
is($v[6], '3', '$cookie_c');
is($v[7], '1', '$connection_requests');
ok($v[8] > 100, '$request_length counts header and body');
is($v[9], length($r->{body}), '$body_bytes_sent is the body length');
is($v[10], '-', 'empty $remote_user is "-"');
is($v[11], 'app', '$proxy_host');
is($v[12], '127.0.0.1:' . $f->port(1), '$upstream_addr');
is($v[13], '200', '$upstream_status');
is(scalar(lines_of('access.log')), 1, 'the server log replaces the http one');

# off, json
is(http_get($port, '/quiet')->{body}, 'q', 'quiet location answers');
is(scalar(lines_of('vars.log')), 1, 'access_log off writes nothing');
http($port, "GET /json HTTP/1.1\r\nHost: h\r\nUser-Agent: a\"b\\c\xe9\r\nConnection: close\r\n\r\n");
is((wait_lines('json.log', 1))[0], "{\"ua\":\"a\\\"b\\\\c\xe9\"}", 'escape=json escapes quote and backslash, keeps UTF-8 bytes');

# the variables with a time, a host name or a computed header
http($port, "GET /more HTTP/1.1\r\nHost: h\r\nX-Forwarded-For: 10.0.0.9\r\n"
          . "Connection: close\r\n\r\n");
my @m = split /\|/, (wait_lines('more.log', 1))[0] // '';
chomp(my $hn = `hostname 2>/dev/null` || '');
is($m[0], $hn, '$hostname') if $hn ne '';
ok($m[1] > $m[2] && $m[2] == 4, '$bytes_sent counts the header, '
   . '$body_bytes_sent only the body');
like($m[3], qr/^\d+\.\d{3}$/, '$request_time: seconds.milliseconds');
ok(abs(($m[4] // 0) - Time::HiRes::time()) < 60 && $m[4] =~ /^\d+\.\d{3}$/,
   '$msec: the current time with milliseconds');
like($m[5], qr{^\d\d/\w{3}/\d{4}:\d\d:\d\d:\d\d [+-]\d{4}$}, '$time_local');
like($m[6], qr/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d[+-]\d\d:\d\d$/, '$time_iso8601');
is($m[7], '10.0.0.9, 127.0.0.1', '$proxy_add_x_forwarded_for appends the client');

# A field on several lines is one list (RFC 9110 5.3): a front proxy that
# adds the client's address on a line of its own must not lose it
http($port, "GET /multi HTTP/1.1\r\nHost: h\r\nX-Forwarded-For: 6.6.6.6\r\n"
          . "X-Test: a\r\nX-Forwarded-For: 203.0.113.7\r\nX-Forwarded-For:\r\n"
          . "Cookie: c=3\r\nX-Test: b\r\nCookie: d=4; e=5\r\n"
          . "Connection: close\r\n\r\n");
my @mu = split /\|/, (wait_lines('multi.log', 1))[0] // '', -1;
is($mu[0], '6.6.6.6, 203.0.113.7, 127.0.0.1',
   '$proxy_add_x_forwarded_for: every X-Forwarded-For line, then the client');
is($mu[1], '6.6.6.6, 203.0.113.7', '$http_x_forwarded_for: the lines joined');
is($mu[2], 'a, b', '$http_x_test: the lines joined with ", "');
is($mu[3], 'c=3; d=4; e=5', '$http_cookie: Cookie lines joined with "; "');
is($mu[4], '5', '$cookie_e: found in the second Cookie line');
is($mu[5], '3', '$cookie_c: and in the first');

# if=: only when the condition is neither empty nor "0"
http_get($port, "/cond?log=$_") for ('', '0', '1', 'yes');
http_get($port, '/cond');
my @c = wait_lines('cond.log', 2);
Time::HiRes::sleep(0.2);
@c = lines_of('cond.log');
is(join(',', map { (split / /)[3] } @c), 'log=1,log=yes',
   'access_log if=$arg_log: only the requests with a value other than 0');

# buffer and flush
http_get($port, '/buf');
is(scalar(lines_of('buf.log')), 0, 'buffered line not written at once');
ok(wait_until(sub { scalar(lines_of('buf.log')) == 1 }, 5),
   'written after flush=1s');

# bad requests are logged too
http($port2, "BAD\r\n\r\n");
ok(wait_until(sub { (grep { / 400 / } lines_of('access.log')) == 1 }, 5),
   'a 400 is logged');

# SIGUSR1 reopens
rename $f->prefix . '/logs/access.log', $f->prefix . '/logs/access.log.1';
kill 'USR1', $f->master_pid;
ok(wait_until(sub { http_get($port2, '/after'); scalar(lines_of('access.log')) >= 1 }, 5),
   'after SIGUSR1 lines go to a new file');

# "ferry -s reopen" sends the same signal
rename $f->prefix . '/logs/access.log', $f->prefix . '/logs/access.log.2';
my ($src) = $f->run('-s', 'reopen');
is($src, 0, 'ferry -s reopen');
ok(wait_until(sub { http_get($port2, '/after2'); scalar(lines_of('access.log')) >= 1 }, 5),
   'after -s reopen lines go to a new file');

$f->stop;
ok(scalar(grep { m{/after} } lines_of('access.log.1')) <= 1,
   'the old file stopped growing');

# configuration errors

sub line_of {
    my ($t, $word) = @_;
    my @lines = split /\n/, Ferry::Test::read_file($t->conf_file);
    for my $i (0 .. $#lines) {
        return $i + 1 if index($lines[$i], $word) >= 0;
    }
    return 0;
}
my $bad = Ferry::Test->new(conf => main_conf() . <<'EOF');
events { }
http {
    server {
        listen 127.0.0.1:%%PORT_0%%;
        access_log logs/x.log nosuch;
    }
}
EOF
my ($rc, $out) = $bad->run('-t');
is($rc, 1, 'unknown log format: -t fails');
like($out, qr/unknown log format "nosuch" in \S+ferry\.conf:@{[line_of($bad, 'nosuch')]}\n/,
     'named with file and line');

$bad = Ferry::Test->new(conf => main_conf() . <<'EOF');
events { }
http {
    access_log /nonexistent/dir/a.log;
    server { listen 127.0.0.1:%%PORT_0%%; }
}
EOF
($rc, $out) = $bad->run('-t');
is($rc, 1, 'unwritable access log path: -t fails');
like($out, qr{open\(\) "/nonexistent/dir/a\.log" failed .* in \S+ferry\.conf:@{[line_of($bad, 'nonexistent')]}\n},
     'named with file and line');

done_testing;
