#!/usr/bin/perl

# Soak: a million keep-alive requests through one worker, which must end
# with the memory and descriptors it had after warming up (about 25 s).
#
# One worker serves three kinds of request in turn: a "return" answered
# at once, a static file (opened, sent with sendfile, closed), and a
# request proxied over a kept-alive upstream connection to a second
# server block of the same ferry -- so the worker is also its own
# backend, and every proxied request passes through it twice.  The load
# comes from objs/t/tools/fy_load (t/tools/fy_load.c; Perl is too slow
# for a million): 4 connections, 8 requests pipelined on each, 1000
# requests per connection, which is keepalive_requests' default -- the
# server closes each connection after its last answer, and the client
# opens another.  Every answer must be a 200.
#
# Measured after the first 50,000 requests (warm-up: pools, buffers and
# the upstream cache have reached their working size) and again after
# the rest, each time once the worker has closed every client
# connection:
#   - the worker's descriptors other than its cached upstream
#     connections: exactly the same (kept-alive upstream connections
#     are counted apart: both ends live in this worker, and how many
#     are idle at a given moment depends on the last requests; at most
#     "keepalive 4" of them)
#   - the worker's RSS: at most max(512 kB, 10%) above the warm-up value
#     (a leak of 1 byte per request would be 0.9 MB)
#   - the same worker (no crash, no restart); the master's descriptors
#     as before
#
# Under AddressSanitizer (make test-sanitizers) the run is 200,000
# requests and RSS is not compared: ASan holds freed memory in its
# quarantine (up to 256 MB) and keeps shadow memory, so RSS grows with
# whatever was freed, not with leaks -- those are LeakSanitizer's part,
# at each worker's exit.  The descriptor checks stay exact.

use strict;
use warnings;

use Test::More;
use Ferry::Test;
use Time::HiRes ();

my $LOAD = "$Ferry::Test::ROOT/objs/t/tools/fy_load";
if (!-x $LOAD) {
    fail("$LOAD is missing: make test builds it");
    done_testing;
    exit;
}

my $asan = do {
    open my $fh, '<', $Ferry::Test::BINARY or die "$Ferry::Test::BINARY: $!\n";
    binmode $fh;
    local $/;
    index(<$fh>, '__asan_init') >= 0;
};

my $TOTAL = $asan ? 200_000 : 1_000_000;
my $WARM = 50_000;
my $UP_KEEPALIVE = 4;

# the whole run, with room for a slow machine; fy_load has its own
# limit below, and stops at once when it sees anything wrong
alarm 300;

my $f = Ferry::Test->new(conf => <<"EOF");
daemon off;
error_log logs/error.log info;
pid logs/ferry.pid;
worker_processes 1;
events { worker_connections 256; }
http {
    access_log off;
    upstream self {
        server 127.0.0.1:%%PORT_1%%;
        keepalive $UP_KEEPALIVE;
    }
    server {
        listen 127.0.0.1:%%PORT_0%%;
        location = /return { return 200 "soak\\n"; }
        location = /proxy { proxy_pass http://self; }
        location / { root %%PREFIX%%/html; }
    }
    server {
        listen 127.0.0.1:%%PORT_1%%;
        location / { return 200 "backend\\n"; }
    }
}
EOF
$f->write_file('html/file.txt', "a static file\n" x 20);

$f->start or do { done_testing; exit };
my ($worker) = $f->wait_workers(1);
my $master = $f->master_pid;
my ($p0, $p1) = ($f->port(0), $f->port(1));

# inode -> [local port, remote port, state] of every IPv4 TCP socket
# (the union of three reads: the kernel writes the table in pieces,
# and a line can fall between two pieces while other sockets come and
# go; only the inodes of open descriptors are looked up in it)
sub tcp_sockets {
    my %s;
    for (1 .. 3) {
        open my $fh, '<', '/proc/net/tcp' or return %s;
        while (<$fh>) {
            next unless /^\s*\d+: [0-9A-F]{8}:([0-9A-F]{4}) [0-9A-F]{8}:([0-9A-F]{4}) ([0-9A-F]{2})(?:\s+\S+){5}\s+(\d+)/;
            $s{$4} = [hex $1, hex $2, $3];
        }
        close $fh;
    }
    return %s;
}

# The descriptors of $pid in three groups: client connections (to port
# 0, not the listener), upstream connections (either end at port 1, not
# the listener), and everything else.
sub fds {
    my ($pid) = @_;
    my %tcp = tcp_sockets();
    my %n = (client => 0, upstream => 0, other => 0);
    opendir my $d, "/proc/$pid/fd" or return;
    for my $fd (grep { /^\d+$/ } readdir $d) {
        my $l = readlink("/proc/$pid/fd/$fd") // next;
        my ($ino) = $l =~ /^socket:\[(\d+)\]$/;
        my $t = defined $ino ? $tcp{$ino} : undef;
        if ($t && $t->[2] ne '0A' && $t->[0] == $p0) {
            $n{client}++;
        } elsif ($t && $t->[2] ne '0A' && ($t->[0] == $p1 || $t->[1] == $p1)) {
            $n{upstream}++;
        } else {
            $n{other}++;
        }
    }
    closedir $d;
    return \%n;
}

sub rss_kb {
    my ($st) = (Ferry::Test::read_file("/proc/$_[0]/status") // '')
               =~ /^VmRSS:\s+(\d+) kB/m;
    return $st // 0;
}

# Run fy_load for $n requests; returns its summary line.
sub load {
    my ($n) = @_;
    my $t = Time::HiRes::time();
    my $out = `$LOAD -p $p0 -c 4 -d 8 -r 1000 -n $n -t 240 /return /proxy /file.txt 2>&1`;
    my $rc = $? >> 8;
    chomp $out;
    is($rc, 0, "$n requests, every one answered 200") or diag($out);
    my ($got) = $out =~ /responses (\d+)/;
    is($got, $n, "fy_load counted $n responses");
    return ($out, Time::HiRes::time() - $t);
}

# Once the client has gone: every client connection closed by the worker.
sub at_rest {
    my $n;
    my $ok = wait_until { $n = fds($worker); $n && $n->{client} == 0 } 10;
    ok($ok, 'the worker closed every client connection')
        or diag(explain $n);
    return $n // {};
}

my $master_fds = scalar(() = glob("/proc/$master/fd/*"));

my ($warm_out, $warm_s) = load($WARM);
my $warm = at_rest();
my $warm_rss = rss_kb($worker);
diag("after $WARM: $warm_out; worker RSS $warm_rss kB, descriptors "
     . "$warm->{other} + $warm->{upstream} upstream");

# the proxied requests left idle upstream connections: seen here, so
# the sorting of descriptors above is known to work
cmp_ok($warm->{upstream}, '>', 0, 'idle upstream connections recognised');

my ($out, $s) = load($TOTAL - $WARM);
my $end = at_rest();
my $end_rss = rss_kb($worker);
diag("after $TOTAL: $out; worker RSS $end_rss kB, descriptors "
     . "$end->{other} + $end->{upstream} upstream; "
     . sprintf("%.1f s, %.0f requests/s", $warm_s + $s,
               $TOTAL / ($warm_s + $s)));

is_deeply([$f->worker_pids], [$worker], 'the same worker throughout');
is($end->{other}, $warm->{other},
   "worker descriptors as after warm-up ($warm->{other}, not counting "
   . 'idle upstream connections)');
cmp_ok($end->{upstream}, '<=', 2 * $UP_KEEPALIVE,
       "idle upstream connections within keepalive $UP_KEEPALIVE "
       . '(both ends in this worker)');

SKIP: {
    skip 'RSS under AddressSanitizer measures its quarantine, not ferry', 1
        if $asan;
    my $margin = $warm_rss / 10 > 512 ? $warm_rss / 10 : 512;
    cmp_ok($end_rss, '<=', $warm_rss + $margin,
           "worker RSS $end_rss kB, at most $margin kB above the "
           . "$warm_rss kB after warm-up");
}

my $m;
my $same = wait_until { ($m = scalar(() = glob("/proc/$master/fd/*"))) == $master_fds } 10;
ok($same, "master descriptors as before ($master_fds)") or diag("now $m");

$f->stop;
done_testing;
