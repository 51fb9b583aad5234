#!/usr/bin/perl
# limit_rate.t -- limit_rate and limit_rate_after as nginx documents
# them: a response goes to the client at most RATE bytes a second after
# the first limit_rate_after bytes; static files by sendfile() and by
# read and write, proxied bodies, compressed responses; the rate from a
# variable, from "set $limit_rate" and from the upstream's
# X-Accel-Limit-Rate (hidden from the client); $limit_rate; the worker
# sleeps while it waits (no busy loop); configuration errors with file
# and line.
#
# Timing facts only, with wide margins: a limited transfer takes at
# least most of the time its rate implies, an unlimited one far less.

use strict;
use warnings;
use Test::More;
use lib 't/lib';
use Ferry::Test;
use Time::HiRes qw(time);

my $big = join '', map { sprintf "%07d\n", $_ } 0 .. 25599;     # 200 KiB
my $f = Ferry::Test->new(conf => main_conf() . <<"EOF");
events { worker_connections 64; }
worker_processes 1;
http {
    types { text/plain txt; }
    default_type application/octet-stream;
    upstream backend { server 127.0.0.1:%%PORT_1%%; }
    log_format rate '\$uri rate=\$limit_rate';
    access_log logs/rate.log rate;

    server {
        listen 127.0.0.1:%%PORT_0%%;
        root html;

        location /fast/ { }
        location /sf/ {
            sendfile on;
            limit_rate 100k;
            add_header X-Rate \$limit_rate;
        }
        location /copy/ {
            sendfile off;
            limit_rate 100k;
        }
        location /after/ {
            limit_rate_after 150k;
            limit_rate 100k;
        }
        location /var/ {
            limit_rate \$arg_rate;
            alias html/sf/;
        }
        location /setvar/ {
            set \$limit_rate 100k;
            alias html/sf/;
        }
        location /setoff/ {
            limit_rate 10k;
            set \$limit_rate 0;
            alias html/sf/;
        }
        location /gz/ {
            gzip on;
            gzip_types text/plain;
            gzip_comp_level 1;
            limit_rate 4k;
            alias html/sf/;
        }
        location /proxy/ {
            limit_rate 100k;
            proxy_pass http://backend;
        }
        location /proxyfast/ {
            proxy_pass http://backend;
        }
        location /proxyign/ {
            proxy_pass http://backend;
            proxy_ignore_headers X-Accel-Limit-Rate;
        }
    }

    server {
        listen 127.0.0.1:%%PORT_3%% ssl;
        ssl_certificate t.crt;
        ssl_certificate_key t.key;
        root html;
        location /sf/ { limit_rate 100k; }
    }
}
EOF
sh('cd ' . $f->prefix . '/conf && openssl req -x509 -newkey ec'
   . ' -pkeyopt ec_paramgen_curve:P-256 -nodes -keyout t.key -out t.crt'
   . " -days 2 -subj /CN=a.test 2>/dev/null");

$f->write_file('html/fast/big.txt', $big);
$f->write_file('html/sf/big.txt', $big);
$f->write_file('html/copy/big.txt', $big);
$f->write_file('html/after/big.txt', $big);
# compressible, 512 KiB: at 4k/s its compressed form still takes time
$f->write_file('html/sf/zeros.txt', "0" x (512 * 1024));

my $backend = Ferry::Test::Backend->new(port => $f->port(1), handler => sub {
    my ($req) = @_;
    my @h = ('Content-Type' => 'text/plain');
    push @h, 'X-Accel-Limit-Rate' => '102400' if $req->{uri} =~ /accel/;
    return { status => 200, headers => \@h, body => $big,
             mode => $req->{uri} =~ /chunked/ ? 'chunked' : 'length' };
});
$f->start;
my $port = $f->port(0);

# GET, time to the last byte
sub timed {
    my ($path, @h) = @_;
    my $t0 = time;
    my $r = http($port, build_request(path => $path,
                                      headers => [Connection => 'close', @h]),
                 timeout => 30);
    return ($r, time - $t0);
}

my ($r, $t);

($r, $t) = timed('/fast/big.txt');
is($r->{body}, $big, 'no limit_rate: the whole file');
cmp_ok($t, '<', 1, 'no limit_rate: 200 KiB in well under a second');

# 200 KiB at 100 KiB/s: about 2 s (ferry lets a tenth of a second's
# worth go at once)
($r, $t) = timed('/sf/big.txt');
is($r->{status}, 200, 'sendfile, limit_rate 100k: 200');
is($r->{body}, $big, '... the whole file, intact');
cmp_ok($t, '>=', 1.5, '... 200 KiB took at least 1.5 s');
cmp_ok($t, '<', 15, '... and not forever');
is($r->{headers}{'x-rate'}, '102400', '$limit_rate: the rate in bytes');

($r, $t) = timed('/copy/big.txt');
is($r->{body}, $big, 'sendfile off, limit_rate 100k: the whole file');
cmp_ok($t, '>=', 1.5, '... took at least 1.5 s');

# the first 150 KiB at once, the last 50 KiB at 100 KiB/s
($r, $t) = timed('/after/big.txt');
is($r->{body}, $big, 'limit_rate_after 150k: the whole file');
cmp_ok($t, '<', 1.4, '... faster than without it');
cmp_ok($t, '>=', 0.2, '... but the rest is limited');

($r, $t) = timed('/var/big.txt?rate=100k');
is($r->{body}, $big, 'limit_rate $arg_rate: the whole file');
cmp_ok($t, '>=', 1.5, '... limited by the variable\'s value');
($r, $t) = timed('/var/big.txt');
cmp_ok($t, '<', 1, 'limit_rate $arg_rate empty: no limit');

($r, $t) = timed('/setvar/big.txt');
is($r->{body}, $big, 'set $limit_rate 100k: the whole file');
cmp_ok($t, '>=', 1.5, '... limited');
($r, $t) = timed('/setoff/big.txt');
cmp_ok($t, '<', 1, 'set $limit_rate 0 over limit_rate 10k: no limit');

($r, $t) = timed('/gz/zeros.txt', 'Accept-Encoding' => 'gzip');
is($r->{headers}{'content-encoding'}, 'gzip', 'gzip and limit_rate: '
   . 'compressed');
my $zlen = length $r->{body};
cmp_ok($t, '>=', 0.6 * $zlen / 4096,
       "... the $zlen compressed bytes at no more than 4k/s");

# ---- proxied ----
($r, $t) = timed('/proxyfast/x');
is($r->{body}, $big, 'proxied, no limit: the whole body');
cmp_ok($t, '<', 1, '... quickly');

($r, $t) = timed('/proxy/x');
is($r->{body}, $big, 'proxied, limit_rate 100k: the whole body');
cmp_ok($t, '>=', 1.5, '... took at least 1.5 s');
cmp_ok($t, '<', 15, '... and not forever');

($r, $t) = timed('/proxy/chunked');
is($r->{body}, $big, 'proxied chunked, limit_rate 100k: the whole body');
cmp_ok($t, '>=', 1.5, '... took at least 1.5 s');

($r, $t) = timed('/proxyfast/accel');
is($r->{body}, $big, 'X-Accel-Limit-Rate 102400: the whole body');
cmp_ok($t, '>=', 1.5, '... limited by the upstream\'s field');
ok(!exists $r->{headers}{'x-accel-limit-rate'},
   '... which the client does not see');

($r, $t) = timed('/proxyign/accel');
is($r->{body}, $big, 'proxy_ignore_headers X-Accel-Limit-Rate: the whole body');
cmp_ok($t, '<', 1, '... not limited by the field');
ok(!exists $r->{headers}{'x-accel-limit-rate'}, '... still not shown');

# ---- TLS: the file is read and written through TLS, limited the same
# (a write cut short must be retried with at least as many bytes:
# the allowance only grows while nothing is sent) ----
{
    require IO::Socket::SSL;
    my $t0 = time;
    my $s = IO::Socket::SSL->new(PeerAddr => '127.0.0.1',
                                 PeerPort => $f->port(3),
                                 SSL_verify_mode => 0, Timeout => 10)
        or die "TLS connect: $IO::Socket::SSL::SSL_ERROR";
    print $s "GET /sf/big.txt HTTP/1.1\r\nHost: a.test\r\n"
             . "Connection: close\r\n\r\n";
    my $raw = '';
    while (1) {
        my $n = sysread $s, $raw, 65536, length $raw;
        last unless $n;
    }
    close $s;
    my $tt = time - $t0;
    my ($head, $body) = split /\r\n\r\n/, $raw, 2;
    like($head, qr{^HTTP/1\.1 200}, 'TLS, limit_rate 100k: 200');
    is($body, $big, '... the whole file, intact');
    cmp_ok($tt, '>=', 1.5, '... took at least 1.5 s');
}

# ---- the worker sleeps while it waits ----
my ($worker) = $f->worker_pids;
sub cpu_ticks {
    open my $fh, '<', "/proc/$_[0]/stat" or return undef;
    my @s = split ' ', (split /\)/, <$fh>)[-1];
    return $s[11] + $s[12];         # utime + stime, after the ")"
}
my $c0 = cpu_ticks($worker);
($r, $t) = timed('/sf/big.txt');
my $used = (cpu_ticks($worker) - $c0) / POSIX::sysconf(POSIX::_SC_CLK_TCK());
cmp_ok($t, '>=', 1.5, 'a limited transfer of about 2 s ...');
cmp_ok($used, '<', 0.5, "... used ${used}s of the worker's CPU (no busy loop)");

# ---- keep-alive: the next request on the connection is not limited ----
my ($res, $closed) = http_keepalive($port, [
    build_request(path => '/sf/big.txt'),
    build_request(path => '/fast/big.txt', headers => [Connection => 'close']),
], timeout => 30);
is(scalar @$res, 2, 'keep-alive after a limited response: two answers');
is($res->[1]{body}, $big, '... the second one whole');

like(Ferry::Test::read_file($f->prefix . '/logs/rate.log'),
     qr{^/sf/big\.txt rate=102400$}m, '$limit_rate in the access log');
like(Ferry::Test::read_file($f->prefix . '/logs/rate.log'),
     qr{^/fast/big\.txt rate=0$}m, '... 0 where there is no limit');

$f->stop;

# ---- configuration errors ----
server_conf_refused('limit_rate fast;',
                    qr/invalid value "fast" in "limit_rate" directive in \S+ferry\.conf:8/,
                    'limit_rate with no size');
server_conf_refused('limit_rate_after 1q;',
                    qr/invalid value "1q" in "limit_rate_after" directive in \S+ferry\.conf:8/,
                    'limit_rate_after with no size');
server_conf_refused('limit_rate 1k; limit_rate 2k;',
                    qr/"limit_rate" directive is duplicate in \S+ferry\.conf:8/,
                    'limit_rate twice');
server_conf_refused('limit_rate $nosuchvar;',
                    qr/unknown "nosuchvar" variable in \S+ferry\.conf:8/,
                    'limit_rate with an unknown variable');

done_testing;
