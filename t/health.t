#!/usr/bin/perl

# Active health checks: one checker process for the whole proxy probes
# each server; a failing server is marked down within interval x fails
# (logged with the reason: status, refused, timeout), the workers stop
# sending it requests, and it is back after `passes` good checks.

use strict;
use warnings;

use Test::More;
use Ferry::Test;
use Time::HiRes ();

my $f = Ferry::Test->new(conf => main_conf() . <<'EOF');
worker_processes 2;
events { worker_connections 256; }
http {
    upstream app {
        server 127.0.0.1:%%PORT_1%%;
        server 127.0.0.1:%%PORT_2%%;
        health_check uri=/health interval=200ms timeout=300ms fails=2 passes=3;
    }
    upstream gone {
        server 127.0.0.1:%%PORT_3%%;
        server 127.0.0.1:%%PORT_4%%;
        health_check interval=200ms fails=1 passes=1 status=200;
    }
    server {
        listen 127.0.0.1:%%PORT_0%%;
        location / { proxy_pass http://app; }
        location /gone/ { proxy_pass http://gone; }
    }
}
EOF

# Backend 1 answers /health with 503 while this file exists.
my $sick = $f->prefix . '/sick';
my $b1 = Ferry::Test::Backend->new(port => $f->port(1), handler => sub {
    my ($req) = @_;
    return { status => (-e $sick ? 503 : 200), body => 'health' }
        if $req->{uri} eq '/health';
    return { body => 'one' };
});
my $b2 = Ferry::Test::Backend->new(port => $f->port(2),
                                   handler => sub { { body => 'two' } });
# 3: a health check never gets an answer in time; 4: nothing listens
my $b3 = Ferry::Test::Backend->new(port => $f->port(3), handler => sub {
    my ($req) = @_;
    return { body => 'late', delay => 2 } if $req->{uri} eq '/';
    return { body => 'three' };
});
$f->port(4);

$f->allow_log(qr/\[warn\]|\[error\]/);
$f->start or do { done_testing; exit };
my $port = $f->port(0);

# 2 workers and one checker
my @procs = $f->wait_workers(3);

sub log_has {
    my ($re, $timeout) = @_;
    return wait_until(sub { $f->error_log =~ $re }, $timeout);
}

sub served_by {
    my ($n) = @_;
    my %c;
    for (1 .. $n) {
        my $r = http_get($port, '/x');
        $c{ ($r->{status} // 0) == 200 ? $r->{body} : 'error' }++;
    }
    return \%c;
}

sub app_requests {
    my ($b) = @_;
    return scalar grep { !/ \/health$/ } $b->request_lines;
}


# ---- one checker, not one per worker ----------------------------------

{
    my $t0 = Time::HiRes::time();
    wait_until(sub { grep { / \/health$/ } $b2->request_lines } , 3);
    my $n0 = grep { / \/health$/ } $b2->request_lines;
    wait_until(sub { Time::HiRes::time() - $t0 >= 1.2 }, 3);
    my $n = (grep { / \/health$/ } $b2->request_lines) - $n0;
    my $dt = Time::HiRes::time() - $t0;
    ok($n >= 3 && $n <= $dt / 0.2 + 1,
       sprintf('one checker: %d checks of a server in %.1fs at 200ms', $n, $dt));
    like($f->error_log, qr/health checker started: 4 servers/,
         'the checker probes the 4 servers of both upstreams');
}

is_deeply(served_by(4), { one => 2, two => 2 }, 'both servers serve');


# ---- status 503: down within interval x fails, then no traffic --------

{
    open my $fh, '>', $sick or die;
    close $fh;
    my $t0 = Time::HiRes::time();
    my $down = log_has(qr/upstream server 127\.0\.0\.1:\d+ in upstream "app" is down: 2 checks failed, last: status 503/, 3);
    my $dt = Time::HiRes::time() - $t0;
    ok($down, 'a server answering 503 is marked down, the reason logged');
    # interval x fails = 0.4 s, plus one interval for the check that
    # was already on its way when the file appeared
    ok($dt < 0.2 * 3 + 0.5, sprintf('marked down within interval x fails '
                                    . '(%.2fs)', $dt));

    my $before = app_requests($b1);
    is_deeply(served_by(6), { two => 6 }, 'a down server gets no requests');
    is(app_requests($b1), $before, 'not one request reached it');

    # back after passes=3 good checks
    unlink $sick;
    $t0 = Time::HiRes::time();
    my $up = log_has(qr/in upstream "app" is up: 3 checks passed \(status 200\)/, 3);
    $dt = Time::HiRes::time() - $t0;
    ok($up, 'healthy again: marked up after 3 passed checks');
    ok($dt >= 0.2 * 2, sprintf('not before passes x interval (%.2fs)', $dt));
    is_deeply(served_by(4), { one => 2, two => 2 }, 'it serves again');
}


# ---- refused and timed out, with their reasons ------------------------

{
    ok(log_has(qr/upstream server 127\.0\.0\.1:\d+ in upstream "gone" is down: 1 checks failed, last: Connection refused/, 3),
       'nothing listening: down, "Connection refused"');
    ok(log_has(qr/upstream server 127\.0\.0\.1:\d+ in upstream "gone" is down: 1 checks failed, last: timed out/, 3),
       'no answer within timeout: down, "timed out"');
    my $r = http_get($port, '/gone/');
    is($r->{status}, 502, 'every server of the upstream down: 502');
    like($f->error_log, qr/no live upstreams in upstream "gone"/,
         '"no live upstreams" logged');
}


# ---- the master supervises the checker --------------------------------

sub checker_pids {
    my @p = $f->error_log =~ /start health checker process (\d+)/g;
    return @p;
}

{
    my ($first) = checker_pids();
    ok($first && kill(0, $first), "the checker runs (pid $first)");
    $f->allow_log(qr/\[alert\] .*health checker process $first died/);
    kill 'KILL', $first;
    ok(wait_until(sub { my @p = checker_pids(); @p == 2 }, 4),
       'a killed checker is restarted');
    my $second = (checker_pids())[1];
    ok(wait_until(sub { kill 0, $second }, 2), "new checker $second runs");

    kill 'HUP', $f->master_pid;
    ok(wait_until(sub { my @p = checker_pids(); @p == 3 }, 5),
       'reload: a new checker for the new configuration');
    like($f->error_log, qr/health checker process $second exited/,
         'reload: the old checker exited first');
    my @p = $f->wait_workers(3);
    my $n = grep { / \/health$/ } $b2->request_lines;
    ok(wait_until(sub { (grep { / \/health$/ } $b2->request_lines) > $n + 2 }, 3),
       'checks go on after the reload');
}

$f->stop;
done_testing;
