#!/usr/bin/perl

# stream limit_conn_zone / limit_conn / limit_conn_log_level /
# limit_conn_dry_run: sessions per key counted across two workers in
# http's shared zones; over the limit the connection is closed without
# a byte, logged ("limiting connections by zone") at the level asked,
# status 503 and $limit_conn_status in the access log; a closed session
# gives its count back; dry run lets it through; a reload keeps the
# zone and its counts; a worker killed while
# holding counts has them given back by the master; the configuration
# errors with file and line.

use strict;
use warnings;

use Test::More;
use Ferry::Test;
use IO::Socket::INET;
use IO::Select;
use POSIX ();


# says "hi", then echoes until the client leaves
sub backend {
    my ($port) = @_;
    return tcp_server($port, sub {
        my ($c) = @_;
        syswrite $c, "hi\n";
        my $b;
        while (sysread($c, $b, 1000)) { syswrite $c, $b; }
    });
}

# A session: its socket once the backend's "hi" came through, or undef
# when ferry closed it first.
sub session {
    my $port = shift;
    my $s = IO::Socket::INET->new(PeerAddr => "127.0.0.1:$port",
                                  Timeout => 5) or return undef;
    my ($line, $c) = ('');
    my $sel = IO::Select->new($s);
    while ($sel->can_read(5)) {
        sysread($s, $c, 1) or last;
        $line .= $c;
        last if $c eq "\n";
    }
    return $line eq "hi\n" ? $s : undef;
}

# n sessions of port at once, once the counts of sessions closed just
# before are given back (a session ends when its server has closed
# too, some moments after the client)
sub hold {
    my ($port, $n) = @_;
    my @s;
    wait_until {
        close $_ for @s;
        @s = grep { $_ } map { session($port) } 1 .. $n;
        @s == $n;
    } 10;
    return @s;
}

my $f = Ferry::Test->new(conf => main_conf() . <<'EOF');
worker_processes 2;
events { worker_connections 128; }
stream {
    log_format l '$server_port $status [$limit_conn_status]';
    access_log logs/l.log l;
    limit_conn_zone $binary_remote_addr zone=addr:64k;
    limit_conn_zone "$remote_addr:$server_port" zone=perport:64k;

    limit_conn addr 2;
    server { listen 127.0.0.1:%%PORT_10%%; proxy_pass 127.0.0.1:%%PORT_1%%; }
    server {
        listen 127.0.0.1:%%PORT_11%%;
        limit_conn perport 1;
        limit_conn_log_level warn;
        proxy_pass 127.0.0.1:%%PORT_1%%;
    }
    server {
        listen 127.0.0.1:%%PORT_12%%;
        limit_conn perport 1;
        limit_conn_dry_run on;
        proxy_pass 127.0.0.1:%%PORT_1%%;
    }
    server { listen 127.0.0.1:%%PORT_13%%; proxy_pass 127.0.0.1:%%PORT_1%%; }
}
EOF
backend($f->port(1));
$f->allow_log(qr/limiting connections/);
$f->start or do { done_testing; exit };
my ($p10, $p11, $p12, $p13) = map { $f->port($_) } 10 .. 13;
my $log = $f->prefix . '/logs/l.log';
sub logged {
    my $re = shift;
    return wait_until { (Ferry::Test::read_file($log) // '') =~ $re } 5;
}
sub count_lines {
    my $re = shift;
    return scalar grep { $_ =~ $re }
                  split /\n/, Ferry::Test::read_file($log) // '';
}
# ferry's start-up probes connect to each port once: their sessions
# hold counts until they end, which they do within moments
ok((wait_until { count_lines(qr/^\d+ 200 /) >= 4 } 10),
   'the start-up probes\' sessions ended');

# ---- limit_conn addr 2 (the stream level's, inherited) ----
{
    my @s = (session($p10), session($p10));
    ok($s[0] && $s[1], 'two sessions of one address: both proxied');
    ok(!defined session($p10), 'a third: closed before any byte');
    ok(logged(qr/^$p10 503 \[REJECTED\]$/m),
       'the refused session: status 503, $limit_conn_status REJECTED');
    wait_until { $f->error_log =~ /limiting connections by zone "addr"/ } 5;
    like($f->error_log,
         qr/\[error\].*limiting connections by zone "addr", client: 127\.0\.0\.1, server: 127\.0\.0\.1:$p10/,
         'logged at error (the default), with client and server');
    ok(!defined session($p13),
       'the same zone on another server of the block: also full');

    my $before = count_lines(qr/^$p10 200 \[PASSED\]$/);
    close $_ for grep { $_ } $s[0];
    ok((wait_until { count_lines(qr/^$p10 200 \[PASSED\]$/) > $before } 5),
       'a session that ended: $limit_conn_status PASSED');
    my $again;
    wait_until { $again = session($p10) } 5;
    ok($again, 'a closed session gave its count back: a new one passes');
    close $again if $again;
    close $s[1] if $s[1];
}

# ---- limit_conn perport 1, at warn ----
{
    my $a = session($p11);
    ok($a, 'limit 1: the first session proxied');
    ok(!defined session($p11), 'limit 1: the second closed');
    wait_until { $f->error_log =~ /limiting connections by zone "perport"/ } 5;
    like($f->error_log, qr/\[warn\].*limiting connections by zone "perport"/,
         'limit_conn_log_level warn');
    my $b = session($p12);
    ok($b, 'the same zone, a key of another port: counted apart');
    close $a;
    close $b if $b;
}

# ---- dry run ----
{
    my @s = (session($p12), session($p12));
    ok($s[0] && $s[1], 'limit_conn_dry_run on: over the limit, proxied');
    wait_until { $f->error_log =~ /limiting connections, dry run, by zone/ } 5;
    like($f->error_log,
         qr/limiting connections, dry run, by zone "perport"/,
         'dry run: logged as such');
    close $_ for grep { $_ } @s;
    ok(logged(qr/^$p12 200 \[REJECTED_DRY_RUN\]$/m),
       'dry run: $limit_conn_status REJECTED_DRY_RUN');
}

# ---- a reload keeps the zone: the old workers' sessions still count ----
{
    my @s = hold($p10, 2);
    is(scalar @s, 2, 'reload: two sessions held');
    kill 'HUP', $f->master_pid;
    ok((wait_until { $f->error_log =~ /reload done: generation 2/ } 10),
       'reload: done');
    ok(!defined session($p10),
       'reload: the new workers see the old ones\' counts (refused)');
    close $_ for @s;
    my $n;
    wait_until { $n = session($p10) } 10;
    ok($n, 'reload: once those sessions closed, a new one passes');
    close $n if $n;
}

# ---- a worker killed holding counts: the master gives them back ----
{
    my @s = hold($p10, 2);
    is(scalar @s, 2, 'two sessions held');
    kill 'KILL', $f->worker_pids;
    close $_ for @s;
    $f->wait_workers(2);
    ok((wait_until { $f->error_log =~ /gave back \d+ connection\(s\) process \d+ held in limit_conn zone "addr"/ } 10),
       'the master gave back what the killed workers held');
    my @n = grep { $_ } map { session($p10) } 1 .. 2;
    is(scalar @n, 2, 'after that, two new sessions pass');
    close $_ for @n;
}

$f->allow_log(qr/exited on signal 9|worker process \d+ exited|respawn/);
$f->stop;

# ---- configuration errors ----
{
    my $srv = "    server {\n        listen 127.0.0.1:%%PORT_0%%;\n"
            . "        proxy_pass 127.0.0.1:1;\n";
    my @bad = (
        [ "stream {\n$srv        limit_conn nosuch 1;\n    }\n}\n",
          qr/unknown limit_conn_zone "nosuch" in \S+ferry\.conf:9/,
          'limit_conn of an unknown zone' ],
        [ "stream {\n    limit_conn_zone \$remote_addr zone=a:64k;\n"
          . "$srv        limit_conn a 0;\n    }\n}\n",
          qr/invalid number of connections "0" in \S+ferry\.conf:10/,
          'limit_conn a 0' ],
        [ "stream {\n    limit_conn_zone \$remote_addr zone=a:1k;\n}\n",
          qr/zone "a" is too small in \S+ferry\.conf:6/,
          'a zone too small' ],
        [ "stream {\n    limit_conn_zone \$remote_addr;\n}\n",
          qr/invalid number of arguments in "limit_conn_zone" directive in \S+ferry\.conf:6/,
          'limit_conn_zone without zone=' ],
        [ "stream {\n    limit_conn_zone \$nosuch zone=a:64k;\n}\n",
          qr/unknown "nosuch" variable in \S+ferry\.conf:6/,
          'a key with an unknown variable' ],
        [ "stream {\n    limit_conn_zone \$remote_addr zone=a:64k;\n"
          . "$srv        limit_conn_log_level loud;\n    }\n}\n",
          qr/"limit_conn_log_level" .*in \S+ferry\.conf:10/,
          'limit_conn_log_level loud' ],
        [ "http {\n    limit_conn_zone \$remote_addr zone=a:64k;\n}\n"
          . "stream {\n    limit_conn_zone \$remote_addr zone=a:64k;\n}\n",
          qr/the shared memory zone "a" is already declared for a different use in \S+ferry\.conf:9/,
          'one zone name in http and stream' ],
    );
    conf_refused(@$_) for @bad;
}

done_testing;
