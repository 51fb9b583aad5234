#!/usr/bin/perl

# A client that goes away while its request waits for the upstream:
# ferry notices, closes the upstream connection and logs 499 (nginx's
# "client prematurely closed connection").  A new connection's socket
# joins epoll only when ferry must wait for it, and a proxied request
# waits up to 100 ms for its upstream before that (docs/performance.md):
# these tests make sure the abort is still seen, on a first request
# (the lazy path) and on the second request of a keep-alive connection
# (already in epoll).

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
    log_format st '$request_uri $status';
    upstream hang { server 127.0.0.1:%%PORT_1%%; }
    server {
        listen 127.0.0.1:%%PORT_0%%;
        access_log logs/st.log st;
        proxy_read_timeout 60s;
        location /hang { proxy_pass http://hang; }
        location /here { return 200 "here\n"; }
    }
}
EOF
$f->allow_log(qr/prematurely closed connection/);

# The backend never answers /hang: it waits for ferry to close the
# connection and writes down when that happened.
my $closed = $f->prefix . '/closed';
my $b = Ferry::Test::Backend->new(port => $f->port(1), raw => sub {
    my ($sock, $req) = @_;
    my $t0 = Time::HiRes::time();
    my $buf;
    my $sel = IO::Select->new($sock);
    while (Time::HiRes::time() - $t0 < 20) {
        next unless $sel->can_read(0.5);
        my $n = sysread $sock, $buf, 4096;
        last if !defined $n || $n == 0;
    }
    if (open my $fh, '>>', $closed) {
        printf $fh "%s %.3f\n", $req->{uri}, Time::HiRes::time() - $t0;
        close $fh;
    }
});
$f->start;

sub closed_lines {
    my $t = Ferry::Test::read_file($closed) // '';
    return [ split /\n/, $t ];
}

sub log_lines {
    my $t = Ferry::Test::read_file($f->prefix . '/logs/st.log') // '';
    return [ split /\n/, $t ];
}

# 1. A first request on a new connection, the client gone after 300 ms.
my $c = IO::Socket::INET->new(PeerAddr => '127.0.0.1',
                              PeerPort => $f->port(0)) or die "connect: $!";
syswrite $c, "GET /hang/1 HTTP/1.1\r\nHost: x\r\n\r\n";
wait_until { $b->requests >= 1 } 5;
is($b->requests, 1, 'the request reached the upstream');
Time::HiRes::sleep(0.3);
close $c;

ok((wait_until { grep { m{^/hang/1 } } @{ closed_lines() } } 10),
   'the upstream connection is closed after the client went away')
    or diag explain closed_lines();
my ($secs) = map { m{^/hang/1 (\S+)} ? $1 : () } @{ closed_lines() };
ok(defined $secs && $secs < 15, "long before any timeout (after ${\ ($secs // '?')} s)");
ok((wait_until { grep { $_ eq '/hang/1 499' } @{ log_lines() } } 5),
   'logged with status 499') or diag explain log_lines();

# 2. The second request of a keep-alive connection.
$c = IO::Socket::INET->new(PeerAddr => '127.0.0.1',
                           PeerPort => $f->port(0)) or die "connect: $!";
syswrite $c, "GET /here HTTP/1.1\r\nHost: x\r\n\r\n";
my $got = '';
wait_until {
    my $n = sysread $c, my $buf, 4096;
    $got .= $buf if $n;
    $got =~ /here\n/;
} 5;
like($got, qr{^HTTP/1\.1 200 .*here\n}s, 'a first request answered');
syswrite $c, "GET /hang/2 HTTP/1.1\r\nHost: x\r\n\r\n";
wait_until { $b->requests >= 2 } 5;
Time::HiRes::sleep(0.3);
close $c;
ok((wait_until { grep { m{^/hang/2 } } @{ closed_lines() } } 10),
   'kept-alive connection: the upstream connection is closed too');
ok((wait_until { grep { $_ eq '/hang/2 499' } @{ log_lines() } } 5),
   'and logged with status 499');

$b->stop;
$f->stop;
done_testing;
