#!/usr/bin/perl

# Reloading (SIGHUP): a bad configuration keeps the old one serving;
# keep-alive connections move to the new generation instead of being
# closed (idle ones at once, busy ones after their response), and leave
# the old worker's epoll when they go; 20 reloads
# under continuous load drop nothing; worker_shutdown_timeout kills a
# worker that does not finish.

use strict;
use warnings;

use Test::More;
use Ferry::Test;
use Time::HiRes ();

sub conf {
    my ($top) = @_;
    return main_conf() . ($top // '') . <<'EOF';
worker_processes 2;
events { worker_connections 512; }
http {
    upstream slow { server 127.0.0.1:%%PORT_1%%; }
    server {
        listen 127.0.0.1:%%PORT_0%%;
        location / { return 200 "$pid"; }
        location /slow/ { proxy_pass http://slow; }
    }
}
EOF
}

# Is a SIGHUP pending for the process (sent, not yet read from the
# master's signalfd)?  /proc's ShdPnd: the process's pending signals,
# bit 0 for signal 1.
sub hup_pending {
    my ($pid) = @_;
    my ($mask) = (Ferry::Test::read_file("/proc/$pid/status") // '')
        =~ /^ShdPnd:\s*([0-9a-f]+)/m;
    return defined $mask && hex(substr($mask, -1)) & 1;
}

sub reloads_done {
    my ($f) = @_;
    return scalar(() = $f->error_log =~ /reload done: generation/g);
}

# HUP and wait until the new generation's workers are up and the old
# ones are gone; returns the new worker pids.
sub reload_and_settle {
    my ($f, @old) = @_;
    my $n = reloads_done($f);
    kill 'HUP', $f->master_pid;
    my %old = map { $_ => 1 } @old;
    my @now;
    my $ok = wait_until {
        @now = $f->worker_pids;
        reloads_done($f) > $n && @now == 2 && !grep { $old{$_} } @now;
    } 10;
    ok($ok, 'reload: new workers replace the old ones')
        or diag("before: @old, now: @now");
    return @now;
}


# ---- a bad configuration keeps the old one serving ----------------------

{
    my $f = Ferry::Test->new(conf => conf());
    if ($f->start) {
        my @w = $f->wait_workers(2);
        $f->allow_log(qr/\[emerg\] \d+#\d+: unknown directive "bogus_directive"/,
                      qr/\[alert\] \d+#\d+: reload failed/);
        my $good = Ferry::Test::read_file($f->conf_file);
        (my $bad = $good) =~ s/worker_processes 2;/worker_processes 2;\nbogus_directive on;/;
        $f->write_file('conf/ferry.conf', $bad);
        my $line = 1 + (() = substr($bad, 0, index($bad, 'bogus')) =~ /\n/g);

        kill 'HUP', $f->master_pid;
        my $seen = wait_until { $f->error_log =~ /reload failed/ } 5;
        ok($seen, 'bad reload: "reload failed" in the error log');
        like($f->error_log,
             qr/\[emerg\] \d+#\d+: unknown directive "bogus_directive" in \Q${\ $f->conf_file}\E:$line/,
             'bad reload: [emerg] names the file and line');
        is_deeply([ $f->worker_pids ], \@w, 'bad reload: same workers still running');
        my $r = http_get($f->port(0), '/');
        is($r->{status}, 200, 'bad reload: still serving');
        ok(grep({ $_ == ($r->{body} // 0) } @w), 'bad reload: by the old workers');

        # fixed again: the next reload works
        $f->write_file('conf/ferry.conf', $good);
        reload_and_settle($f, @w);
        is(http_get($f->port(0), '/')->{status}, 200, 'good reload after a bad one serves');
    }
    $f->stop;
}


# ---- keep-alive connections move to the new generation ------------------

{
    my $f = Ferry::Test->new(conf => conf());
    my $b = Ferry::Test::Backend->new(port => $f->port(1), handler => sub {
        { delay => 1, body => "slow\n" }
    });
    if ($f->start) {
        my @w = $f->wait_workers(2);
        my %old = map { $_ => 1 } @w;

        # an idle connection: one request answered before the reload
        my $idle = Ferry::Test::Client->new($f->port(0));
        $idle->send(build_request(path => '/'));
        my $r1 = $idle->read_response;
        ok($old{ $r1->{body} // 0 }, 'idle: first answer from an old worker');

        # a busy connection: its request is at the slow upstream
        my $busy = Ferry::Test::Client->new($f->port(0));
        $busy->send(build_request(path => '/slow/x'));
        wait_until { $b->requests >= 1 } 5;

        my @new = reload_and_settle($f, @w);

        my $r2 = $busy->read_response(timeout => 5);
        is($r2->{status}, 200, 'busy: in-flight request answered across the reload');
        is($r2->{headers}{connection}, 'keep-alive',
           'busy: and the connection stays keep-alive');

        my %new = map { $_ => 1 } @new;
        for ([idle => $idle], [busy => $busy]) {
            my ($name, $c) = @$_;
            ok(!$c->{eof}, "$name: connection not closed by the old worker");
            $c->send(build_request(path => '/'));
            my $r = $c->read_response;
            is($r->{status}, 200, "$name: next request on the same connection answered")
                or diag($r->{error} // $r->{raw});
            ok($new{ $r->{body} // 0 }, "$name: by a new-generation worker")
                or diag("answered by " . ($r->{body} // '?') . ", new: @new");
            $c->close;
        }
        like($f->error_log, qr/handed back to the master/,
             'the log shows the hand-back');
    }
    $f->stop;
}


# ---- a handed-back connection leaves the old worker's epoll --------------

# The server side socket of a client connection, as ss shows it: its
# inode, or undef.
sub server_ino {
    my ($port, $client_port) = @_;
    for (`ss -tnHe state established 2>/dev/null`) {
        return $1 if /\s127\.0\.0\.1:\Q$port\E\s+127\.0\.0\.1:\Q$client_port\E\s.*\bino:(\d+)/;
    }
    return undef;
}

# The inodes of the files a process's epoll instances watch
# (/proc/PID/fdinfo of each eventpoll fd: "tfd: N events: ... ino:HEX").
sub epoll_inos {
    my ($pid) = @_;
    my %ino;
    opendir my $d, "/proc/$pid/fd" or return undef;
    for my $fd (grep { /^\d+$/ } readdir $d) {
        my $l = readlink("/proc/$pid/fd/$fd") // next;
        next unless $l eq 'anon_inode:[eventpoll]';
        my $info = Ferry::Test::read_file("/proc/$pid/fdinfo/$fd") // next;
        $ino{ hex $1 } = 1 while $info =~ /^tfd:.*\bino:\s*([0-9a-f]+)/mg;
    }
    return \%ino;
}

SKIP: {
    skip 'ss (iproute2) not installed', 6 unless `ss -V 2>/dev/null` =~ /iproute/;
    my $f = Ferry::Test->new(conf => conf());
    my $b = Ferry::Test::Backend->new(port => $f->port(1), handler => sub {
        { delay => 3, body => "slow\n" }
    });
    last SKIP unless $f->start;
    $f->wait_workers(2);

    # two connections on one worker (the dispatch spreads them): open
    # them until two answers name the same worker
    my ($idle, $busy, $old, %by, @extra);
    for (1 .. 8) {
        my $c = Ferry::Test::Client->new($f->port(0));
        $c->send(build_request(path => '/'));
        my $pid = $c->read_response->{body} // next;
        if ($by{$pid}) {
            ($idle, $busy, $old) = ($by{$pid}, $c, $pid);
            last;
        }
        $by{$pid} = $c;
    }
    @extra = grep { !$idle || ($_ != $idle) } values %by;
    ok($old, 'an idle and a busy connection on the same worker')
        or last SKIP;
    $busy->send(build_request(path => '/slow/x'));
    wait_until { $b->requests >= 1 } 5;

    my $port = $f->port(0);
    my $idle_ino = server_ino($port, $idle->sock->sockport);
    my $busy_ino = server_ino($port, $busy->sock->sockport);
    my $before = epoll_inos($old);
    ok($idle_ino && $busy_ino && $before->{$idle_ino} && $before->{$busy_ino},
       "before the reload the worker's epoll watches both sockets");

    my $n = reloads_done($f);
    my $hb = () = $f->error_log =~ /handed back to the master/g;
    kill 'HUP', $f->master_pid;
    ok((wait_until {
            (() = $f->error_log =~ /handed back to the master/g) > $hb
        } 5), 'the idle connection is handed back');
    # the log line comes just before the worker unregisters and closes
    # the socket: look again for a while rather than once
    my $after;
    wait_until { $after = epoll_inos($old); $after && !$after->{$idle_ino} } 5;
    ok($after && $after->{$busy_ino},
       'the old worker, still serving the busy one, watches its socket')
        or diag("old worker $old gone before the busy response?");
    ok($after && !$after->{$idle_ino},
       'but no longer the socket it handed back')
        or diag("idle socket inode $idle_ino still in the epoll of $old");

    $idle->send(build_request(path => '/'));
    my $r = $idle->read_response;
    isnt($r->{body} // $old, $old,
         'the handed-back connection is served by another worker');
    $busy->read_response(timeout => 5);
    $_->close for $idle, $busy, @extra;
    $f->stop;
}


# ---- a request read before the hand-back ---------------------------------
# A request pipelined behind one in flight at the reload: the old worker
# answers the first, hands the connection back with the bytes of the
# second already read, and a new worker answers that one at once, the
# client sending nothing more.

{
    my $f = Ferry::Test->new(conf => conf());
    my $b = Ferry::Test::Backend->new(port => $f->port(1), handler => sub {
        { delay => 1, body => "slow\n" }
    });
    if ($f->start) {
        $f->wait_workers(2);
        my %old = map { $_ => 1 } $f->worker_pids;
        my $hb = () = $f->error_log =~ /handed back to the master/g;
        my $c = Ferry::Test::Client->new($f->port(0));
        $c->send(build_request(path => '/slow/x') . build_request(path => '/'));
        wait_until { $b->requests >= 1 } 5;
        kill 'HUP', $f->master_pid;
        my $r = $c->read_response(timeout => 5);
        is($r->{body}, "slow\n", 'the request in flight at the reload is answered');
        $r = $c->read_response(timeout => 5);
        is($r->{status}, 200, 'the one pipelined behind it is answered too');
        ok($r->{body} && !$old{ $r->{body} }, '... by a new worker')
            or diag('answered by ' . ($r->{body} // 'nobody'));
        ok((() = $f->error_log =~ /handed back to the master/g) > $hb,
           '... after a hand-back with its bytes');
        $c->close;
    }
    $f->stop;
}


# ---- zero-drop: 20 reloads under continuous load ------------------------

SKIP: {
    my $wrk = (grep { -x } '/usr/bin/wrk', '/usr/local/bin/wrk')[0];
    skip 'wrk is not installed (apt-get install wrk)', 8 unless $wrk;

    my $f = Ferry::Test->new(conf => conf());
    last SKIP unless $f->start;
    $f->wait_workers(2);
    my $url = 'http://127.0.0.1:' . $f->port(0) . '/';

    # keep-alive clients and new-connection-per-request clients at once
    my %out;
    my %pid;
    for my $kind (qw(keepalive close)) {
        my $file = $f->prefix . "/wrk-$kind.out";
        $out{$kind} = $file;
        my @cmd = ($wrk, '-t1', $kind eq 'keepalive' ? '-c20' : '-c8',
                   '-d6s', '--timeout', '3s',
                   $kind eq 'close' ? ('-H', 'Connection: close') : (),
                   $url);
        my $pid = fork // die "fork: $!";
        if ($pid == 0) {
            open STDOUT, '>', $file or POSIX::_exit(126);
            open STDERR, '>&', \*STDOUT;
            alarm 0;
            { exec @cmd }
            POSIX::_exit(127);
        }
        $pid{$kind} = $pid;
    }

    # let the load run, then 20 reloads back to back, 150 ms apart;
    # each HUP once the master has taken the one before (a signal sent
    # while the same one is pending is merged with it, so on a busy
    # machine two would count as one reload)
    Time::HiRes::sleep(1);
    for (1 .. 20) {
        kill 'HUP', $f->master_pid;
        Time::HiRes::sleep(0.15);
        wait_until { !hup_pending($f->master_pid) } 5;
    }
    for my $kind (keys %pid) {
        my $st = Ferry::Test::_wait_pid($pid{$kind}, 15);
        ok(defined $st && $st == 0, "wrk ($kind) finished");
    }

    for my $kind (qw(keepalive close)) {
        my $text = Ferry::Test::read_file($out{$kind}) // '';
        my ($n) = $text =~ /(\d+) requests in/;
        ok(($n // 0) > 500, "$kind clients: requests were made (" . ($n // 0) . ")")
            or diag($text);
        unlike($text, qr/Socket errors/, "$kind clients: no connect, read, write or timeout errors")
            or diag($text);
        unlike($text, qr/Non-2xx/, "$kind clients: no failed responses")
            or diag($text);
    }
    my $reloads = wait_until { reloads_done($f) == 20 } 5;
    is(reloads_done($f), 20, '20 reloads done during the load');
    my @hb = $f->error_log =~ /handed back to the master/g;
    ok(@hb > 0, 'keep-alive connections were handed back (' . scalar(@hb) . ')');
    $f->stop;
}


# ---- worker_shutdown_timeout ----------------------------------------------

{
    my $f = Ferry::Test->new(conf => conf("worker_shutdown_timeout 500ms;\n"));
    my $b = Ferry::Test::Backend->new(port => $f->port(1), handler => sub {
        { delay => 8, body => "too slow\n" }
    });
    if ($f->start) {
        my @w = $f->wait_workers(2);
        my $c = Ferry::Test::Client->new($f->port(0));
        $c->send(build_request(path => '/slow/z'));
        wait_until { $b->requests >= 1 } 5;

        my $t0 = Time::HiRes::time();
        kill 'HUP', $f->master_pid;
        my %old = map { $_ => 1 } @w;
        my $gone = wait_until { !grep { $old{$_} } $f->worker_pids } 5;
        my $took = Time::HiRes::time() - $t0;
        ok($gone && $took < 3, sprintf('old workers gone %.1fs after the reload (timeout 500ms, upstream needs 8s)', $took));
        like($f->error_log, qr/still has connections after worker_shutdown_timeout; killing it/,
             'the kill is logged');
        ok($c->wait_close(2), 'the unfinished connection is closed');
        is(http_get($f->port(0), '/')->{status}, 200, 'new workers serve');
        $c->close;
    }
    $f->stop;
}

done_testing;
