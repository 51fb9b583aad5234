#!/usr/bin/perl

# How client connections end: reset_timedout_connection (an RST, seen as
# ECONNRESET by the client, after client_header_timeout, send_timeout
# and "return 444"; a normal close without it), keepalive_disable (MSIE
# 4-6 on POST, Safari on macOS, none) and keepalive_time; and the
# directives accepted without effect (proxy_temp_path & co.), with their
# values checked: configuration errors with file and line.

use strict;
use warnings;

use Test::More;
use Ferry::Test;
use IO::Socket::INET;
use Errno qw(ECONNRESET EAGAIN EINTR);
use Socket qw(SOL_SOCKET SO_RCVBUF);
use Time::HiRes ();

my $f = Ferry::Test->new(conf => main_conf() . <<'EOF');
worker_processes 1;
events { worker_connections 256; }
http {
    access_log off;
    client_header_timeout 1s;
    server {
        listen 127.0.0.1:%%PORT_0%%;
        root %%PREFIX%%/html;
        reset_timedout_connection on;
        send_timeout 1s;
        location /close { return 444; }
        location /ok { return 200 "ok"; }
        location /none { keepalive_disable none; return 200 "ok"; }
        location /safari { keepalive_disable msie6 safari; return 200 "ok"; }
        location /short { keepalive_time 1s; return 200 "ok"; }
        location /moot {
            proxy_temp_path /tmp/ferry-moot 1 2;
            client_body_temp_path /tmp/ferry-moot-body 1;
            proxy_max_temp_file_size 0;
            proxy_temp_file_write_size 16k;
            proxy_busy_buffers_size 8k;
            client_body_in_file_only off;
            client_body_in_single_buffer off;
            return 200 "moot";
        }
        location /files/ {
            open_file_cache max=1000 inactive=20s;
            open_file_cache_valid 60s;
            open_file_cache_min_uses 1;
            open_file_cache_errors on;
        }
    }
    server {
        listen 127.0.0.1:%%PORT_1%%;
        location /close { return 444; }
    }
}
EOF
$f->write_file('html/big.bin', 'x' x (16 * 1024 * 1024));
$f->write_file('html/files/a.txt', "one\n");

$f->start or do { done_testing; exit };
my ($on, $off) = ($f->port(0), $f->port(1));

sub conn {
    my ($port, $rcvbuf) = @_;
    my $s = IO::Socket::INET->new(PeerAddr => '127.0.0.1', PeerPort => $port,
                                  Proto => 'tcp', Timeout => 5) or die "connect: $!";
    setsockopt($s, SOL_SOCKET, SO_RCVBUF, $rcvbuf) if $rcvbuf;
    return $s;
}

# Read until the end: 'reset' (ECONNRESET), 'eof', or 'timeout'.
sub end_of {
    my ($s, $timeout) = @_;
    my $deadline = Time::HiRes::time() + $timeout;
    my $buf;
    while (Time::HiRes::time() < $deadline) {
        my $rin = '';
        vec($rin, fileno($s), 1) = 1;
        next unless select($rin, undef, undef, 0.2);
        my $n = sysread($s, $buf, 65536);
        return 'eof' if defined $n && $n == 0;
        next if defined $n;
        return 'reset' if $! == ECONNRESET;
        next if $! == EAGAIN || $! == EINTR;
        return "error $!";
    }
    return 'timeout';
}

# client_header_timeout: half a request line, then nothing
my $s = conn($on);
syswrite $s, "GET /ok HT";
is(end_of($s, 5), 'reset', 'header timeout with reset_timedout_connection: RST');
$s = conn($off);
syswrite $s, "GET /ok HT";
is(end_of($s, 5), 'eof', 'header timeout without it: a normal close');

# return 444
$s = conn($on);
syswrite $s, "GET /close HTTP/1.1\r\nHost: x\r\n\r\n";
is(end_of($s, 5), 'reset', 'return 444 with reset_timedout_connection: RST');
$s = conn($off);
syswrite $s, "GET /close HTTP/1.1\r\nHost: x\r\n\r\n";
is(end_of($s, 5), 'eof', 'return 444 without it: a normal close');

# send_timeout: a client that stops reading a big file
$s = conn($on, 4096);
syswrite $s, "GET /big.bin HTTP/1.1\r\nHost: x\r\n\r\n";
sleep 3;     # send_timeout 1s passes with the socket full
is(end_of($s, 10), 'reset', 'send_timeout with reset_timedout_connection: RST after the data');
ok(wait_until(sub { $f->error_log =~ /client timed out while sending/ }, 5),
   'the timeout is logged');

# an idle keep-alive connection is closed normally (nginx)
{
    my $g = Ferry::Test->new(conf => main_conf() . <<'EOF');
events { }
http {
    access_log off;
    keepalive_timeout 1s;
    reset_timedout_connection on;
    server { listen 127.0.0.1:%%PORT_0%%; location / { return 200 "ok"; } }
}
EOF
    if ($g->start) {
        my $c = conn($g->port(0));
        syswrite $c, "GET / HTTP/1.1\r\nHost: x\r\n\r\n";
        my $got = '';
        my $t0 = time;
        while ($got !~ /\r\n\r\nok/ && time - $t0 < 5) {
            my $rin = ''; vec($rin, fileno($c), 1) = 1;
            select($rin, undef, undef, 0.2) or next;
            sysread($c, my $b, 4096) or last;
            $got .= $b;
        }
        like($got, qr/^HTTP\/1.1 200/, 'keep-alive response');
        is(end_of($c, 5), 'eof', 'keepalive_timeout: a normal close, no RST');
    }
    $g->stop;
}

# keepalive_disable
my $msie6 = 'Mozilla/4.0 (compatible; MSIE 6.0; Windows NT 5.1)';
my $msie6sv1 = 'Mozilla/4.0 (compatible; MSIE 6.0; Windows NT 5.1; SV1)';
my $msie5 = 'Mozilla/4.0 (compatible; MSIE 5.5; Windows 98)';
my $opera = 'Mozilla/4.0 (compatible; MSIE 6.0; Windows NT 5.1) Opera 8.0';
my $safari = 'Mozilla/5.0 (Macintosh; Intel Mac OS X 10_15_7) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/17.0 Safari/605.1.15';
my $chrome = 'Mozilla/5.0 (Macintosh; Intel Mac OS X 10_15_7) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/120.0 Safari/537.36';

sub connection_of {
    my ($method, $path, $ua) = @_;
    my ($rs) = http_keepalive($on, [
        "$method $path HTTP/1.1\r\nHost: x\r\nUser-Agent: $ua\r\nContent-Length: 0\r\n\r\n" ]);
    my $r = $rs->[0] // {};
    return $r->{error} ? "error $r->{error}"
                       : lc($r->{headers}{connection} // '(none)');
}

is(connection_of('POST', '/ok', $msie6), 'close', 'default msie6: POST from MSIE 6 closes');
is(connection_of('POST', '/ok', $msie5), 'close', '... and from MSIE 5.5');
is(connection_of('GET', '/ok', $msie6), 'keep-alive', '... a GET from MSIE 6 is kept');
is(connection_of('POST', '/ok', $msie6sv1), 'keep-alive', '... MSIE 6 SV1 is kept');
is(connection_of('POST', '/ok', $opera), 'keep-alive', '... Opera posing as MSIE is kept');
is(connection_of('GET', '/ok', $safari), 'keep-alive', 'Safari kept by default');
is(connection_of('POST', '/none', $msie6), 'keep-alive', 'none: MSIE 6 POST kept');
is(connection_of('GET', '/safari', $safari), 'close', 'safari: Safari on macOS closes');
is(connection_of('GET', '/safari', $chrome), 'keep-alive', '... Chrome on macOS is kept');
is(connection_of('GET', '/safari', 'Mozilla/5.0 (compatible; MSIE 10.0; Mac OS X) Safari/1'),
   'keep-alive', '... and anything saying MSIE (nginx)');
is(connection_of('POST', '/safari', $msie6), 'close', '... and msie6 still applies');

# keepalive_time: the first response that ends after it closes
{
    my $c = Ferry::Test::Client->new($on);
    $c->send("GET /short HTTP/1.1\r\nHost: x\r\n\r\n");
    my $r = $c->read_response;
    is(lc($r->{headers}{connection} // ''), 'keep-alive', 'keepalive_time: kept at first');
    Time::HiRes::sleep(1.3);
    $c->send("GET /short HTTP/1.1\r\nHost: x\r\n\r\n");
    $r = $c->read_response;
    is($r->{status}, 200, 'keepalive_time: the request after it is answered');
    is(lc($r->{headers}{connection} // ''), 'close', '... with Connection: close');
    ok($c->wait_close(5), '... and the connection closed');
}

# accepted without effect
is(http_get($on, '/moot')->{body}, 'moot', 'proxy_temp_path & co. accepted');
my $fr = http_get($on, '/files/a.txt');
is($fr->{body}, "one\n", 'open_file_cache accepted')
    or diag("status $fr->{status}, error " . ($fr->{error} // 'none'));
$f->write_file('html/files/a.txt', "two, longer\n");
is(http_get($on, '/files/a.txt')->{body}, "two, longer\n",
   '... and a changed file is served changed at once');
unlink $f->prefix . '/html/files/a.txt';
is(http_get($on, '/files/a.txt')->{status}, 404, '... and a removed one is a 404 at once');

$f->allow_log(qr/client timed out/);
$f->stop;

# configuration errors

sub line_of {
    my ($t, $word) = @_;
    my @lines = split /\n/, Ferry::Test::read_file($t->conf_file);
    for my $i (0 .. $#lines) {
        return $i + 1 if index($lines[$i], $word) >= 0;
    }
    return 0;
}

for my $case (['reset_timedout_connection maybe;', qr/invalid value "maybe"/, 'maybe'],
              ['keepalive_disable msie7;', qr/invalid value "msie7"/, 'msie7'],
              ['keepalive_time soon;', qr/invalid value "soon"|invalid/, 'soon'],
              ['proxy_temp_path /tmp/x 1 2 3 4;', qr/invalid number of arguments|level/, '1 2 3 4'],
              ['proxy_temp_path /tmp/x 0;', qr/invalid value "0" in "proxy_temp_path"/, '/tmp/x 0'],
              ['client_body_temp_path /tmp/x 4 4 4;', qr/the levels of "client_body_temp_path" add up to more than 10/, '4 4 4'],
              ['client_body_in_file_only sometimes;', qr/invalid value "sometimes"/, 'sometimes'],
              ['client_body_in_file_only on;', qr/"client_body_in_file_only on" is not supported/, 'file_only on'],
              ['proxy_max_temp_file_size lots;', qr/invalid value "lots"|invalid/, 'lots'],
              ["proxy_buffers 4 4k;\n        proxy_busy_buffers_size 16k;", qr/"proxy_busy_buffers_size" must be less than the size of all "proxy_buffers" minus one buffer/, 'busy_buffers_size 16k'],
              ["proxy_buffer_size 8k;\n        proxy_busy_buffers_size 4k;", qr/"proxy_busy_buffers_size" must be equal to or greater than the maximum of the value of "proxy_buffer_size" and one of the "proxy_buffers"/, 'busy_buffers_size 4k'],
              ["proxy_temp_file_write_size 2k;", qr/"proxy_temp_file_write_size" must be equal to or greater than the maximum of the value of "proxy_buffer_size" and one of the "proxy_buffers"/, 'write_size 2k'],
              ['open_file_cache inactive=20s;', qr/"open_file_cache" directive must have the "max" parameter/, 'inactive=20s'],
              ['open_file_cache max=0;', qr/invalid "open_file_cache" parameter "max=0"/, 'max=0'],
              ['open_file_cache_errors maybe;', qr/invalid value "maybe"/, 'errors maybe'],
              ['open_file_cache_min_uses x;', qr/invalid value "x"|invalid/, 'min_uses x'],
              ["proxy_max_temp_file_size 1k;", qr/"proxy_max_temp_file_size" must be equal to zero to disable temporary files usage or must be equal to or greater than/, 'file_size 1k'])
{
    my ($dir, $re, $word) = @$case;
    (my $name = $dir) =~ s/\n\s*/ /;
    my $t = Ferry::Test->new(conf => main_conf() . <<"EOF");
events { }
http {
    server {
        listen 127.0.0.1:%%PORT_0%%;
        location / { $dir return 200; }
    }
}
EOF
    my ($rc, $out) = $t->run('-t');
    is($rc, 1, "$name: -t fails");
    like($out, qr/$re.* in \S+ferry\.conf:@{[line_of($t, $word)]}\n/,
         "$name: named with file and line");
}

done_testing;
