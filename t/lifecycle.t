#!/usr/bin/perl

# Worker supervision and process hygiene: crash restarts with backoff
# and a limit, a stopped (hung) worker replaced after the heartbeat
# timeout, a worker over worker_max_memory replaced without failed
# requests, a second master refused, user, worker_rlimit_nofile, and
# accept pausing on EMFILE.

use strict;
use warnings;

use Test::More;
use Ferry::Test;
use POSIX ();
use Time::HiRes ();

sub conf {
    my ($top, $procs) = @_;
    return main_conf() . ($top // '') . "worker_processes " . ($procs // 2)
        . ";\n" . <<'EOF';
events { worker_connections 512; }
http {
    large_client_header_buffers 4 64k;
    server {
        listen 127.0.0.1:%%PORT_0%%;
        location / { return 200 "$pid"; }
    }
}
EOF
}

sub pid_of_new_connection {
    my ($port) = @_;
    my $r = http_get($port, '/');
    return ($r->{status} // 0) == 200 && ($r->{body} // '') =~ /^(\d+)$/
        ? $1 : undef;
}

# pid of the newest worker started in slot $slot (from the log)
sub slot_pid {
    my ($f, $slot) = @_;
    my @p = $f->error_log =~ /start worker process (\d+) \(slot \Q$slot\E\)/g;
    return $p[-1];
}


# ---- crash: immediate respawn, then backoff, then the slot is disabled --

{
    my $f = Ferry::Test->new(conf => conf(
        "worker_restart_delay 300ms 600ms;\nworker_max_restarts 3 per 1m;\n"));
    if ($f->start) {
        $f->wait_workers(2);
        $f->allow_log(qr/\[alert\] \d+#\d+: worker process \d+ exited on signal 9/,
                      qr/\[crit\] \d+#\d+: worker slot 0 died 4 times within 60s/);

        my @delays;
        for my $i (1 .. 3) {
            my $victim = slot_pid($f, 0);
            my $t0 = Time::HiRes::time();
            kill 'KILL', $victim;
            my $new;
            my $ok = wait_until {
                $new = slot_pid($f, 0);
                $new != $victim && kill(0, $new);
            } 5;
            push @delays, Time::HiRes::time() - $t0;
            ok($ok, "crash $i: slot 0 has a new worker");
        }
        ok($delays[0] < 0.25, sprintf('first crash: respawned at once (%.2fs)', $delays[0]));
        ok($delays[1] >= 0.28 && $delays[1] < 1.5,
           sprintf('second early crash: after about 300ms (%.2fs)', $delays[1]));
        ok($delays[2] >= 0.58 && $delays[2] < 2,
           sprintf('third: doubled to 600ms (%.2fs)', $delays[2]));
        like($f->error_log, qr/restarting it in 300 ms.*restarting it in 600 ms/s,
             'the backoff is logged');

        # the fourth death within the minute is one too many
        my $victim = slot_pid($f, 0);
        kill 'KILL', $victim;
        my $crit = wait_until { $f->error_log =~ /\[crit\].*worker slot 0 died 4 times/ } 5;
        ok($crit, 'fourth crash: [crit] line, slot disabled');
        like($f->error_log, qr/not restarting it until the next reload/, 'says what happens next');
        Time::HiRes::sleep(1.5);
        is(slot_pid($f, 0), $victim, 'no new worker in the disabled slot');
        my @left = $f->worker_pids;
        is(scalar @left, 1, 'one worker left');
        my @bad = grep { !defined } map { pid_of_new_connection($f->port(0)) } 1 .. 10;
        ok(!@bad, 'the other worker keeps serving');

        # a reload gives the slot another chance
        kill 'HUP', $f->master_pid;
        my $two = wait_until { my @x = $f->worker_pids; @x == 2 } 5;
        ok($two, 'a reload starts two workers again');
    }
    $f->stop;
}


# ---- hang: a stopped worker is replaced after the heartbeat timeout ----

{
    my $f = Ferry::Test->new(conf => conf("worker_heartbeat_timeout 1s;\n"));
    if ($f->start) {
        my @w = $f->wait_workers(2);
        my $victim = $w[0];
        $f->allow_log(qr/worker process $victim exited on signal 9/);
        my $t0 = Time::HiRes::time();
        kill 'STOP', $victim;
        my @now;
        my $ok = wait_until {;
            @now = $f->worker_pids;
            @now == 2 && !grep { $_ == $victim } @now;
        } 6;
        my $took = Time::HiRes::time() - $t0;
        ok($ok, sprintf('stopped worker replaced (%.1fs)', $took));
        ok($took >= 0.9, 'not before the 1s timeout');
        like($f->error_log, qr/\[error\] \d+#\d+: worker process $victim \(slot \d\) sent no heartbeat for \d+ ms \(worker_heartbeat_timeout 1000 ms\); killing it/,
             'the kill is logged with its reason');
        my @bad = grep { !defined } map { pid_of_new_connection($f->port(0)) } 1 .. 10;
        ok(!@bad, 'requests served after the replacement');
    }
    $f->stop;
}


# ---- memory: a worker over worker_max_memory is replaced gracefully ----

my $PAGE = POSIX::sysconf(POSIX::_SC_PAGESIZE()) || 4096;
sub rss_of {
    my ($pid) = @_;
    my $statm = Ferry::Test::read_file("/proc/$pid/statm") // return 0;
    return (split ' ', $statm)[1] * $PAGE;
}

{
    my $f = Ferry::Test->new(conf => conf('', 1));
    if ($f->start) {
        my ($w0) = $f->wait_workers(1);
        # a limit 4 MiB above what a fresh worker uses, set by a reload
        my $limit = rss_of($w0) + 4 * 1024 * 1024;
        $f->write_file('conf/ferry.conf', conf("worker_max_memory $limit;\n", 1));
        kill 'HUP', $f->master_pid;
        my @w;
        wait_until {; @w = $f->worker_pids; @w == 1 && $w[0] != $w0 } 5;
        my $big = $w[0];

        # grow it honestly: 100 clients each hold 60 KB of request
        # headers in its 64k header buffers, their requests unfinished
        my $filler = 'X-Fill: ' . ('a' x 1000) . "\r\n";
        my @held;
        for my $i (1 .. 100) {
            my $c = Ferry::Test::Client->new($f->port(0)) or last;
            $c->send("GET /held$i HTTP/1.1\r\nHost: localhost\r\n" . ($filler x 60));
            push @held, $c;
        }
        my @now;
        my $replaced = wait_until {;
            @now = $f->worker_pids;
            $f->error_log =~ /worker process $big \(slot \d+\) uses \d+ KiB, more than worker_max_memory/
        } 8;
        ok($replaced, 'the worker over worker_max_memory is being replaced')
            or diag('rss ' . rss_of($big) . " limit $limit");
        like($f->error_log, qr/worker process $big \(slot \d+\) draining: over worker_max_memory/,
             'and drains');

        # new connections go to the successor
        my $p = pid_of_new_connection($f->port(0));
        ok(defined $p && $p != $big, 'new connections go to the successor');

        # the held requests still complete, on the old worker
        my $failed = 0;
        for my $c (@held) {
            $c->send("\r\n");
        }
        for my $c (@held) {
            my $r = $c->read_response(timeout => 5);
            $failed++ unless ($r->{status} // 0) == 200 && ($r->{body} // '') eq $big;
            $c->close;
        }
        is($failed, 0, 'all 100 held requests answered by the old worker');
        my $gone = wait_until { !grep { $_ == $big } $f->worker_pids } 5;
        ok($gone, 'then the old worker exits');
    }
    $f->stop;
}


# ---- a second master refuses to start over a live pid file ------------

{
    my $f = Ferry::Test->new(conf => conf());
    if ($f->start) {
        my ($rc, $out) = $f->run();
        is($rc, 1, 'second master exits 1');
        like($f->error_log . $out, qr/ferry is already running \(pid ${\ $f->master_pid}, from "[^"]+ferry\.pid"\)/,
             'and says which master runs');
        $f->allow_log(qr/\[emerg\] \d+#\d+: ferry is already running/);
        is(http_get($f->port(0), '/')->{status}, 200, 'the first one still serves');
        is(Ferry::Test::read_file($f->pid_file), $f->master_pid . "\n", 'its pid file untouched');
    }
    $f->stop;
}


# ---- user and worker_rlimit_nofile --------------------------------------

SKIP: {
    skip 'user needs root', 5 if $> != 0;
    my ($uid, $gid) = (getpwnam('nobody'))[2, 3];
    skip 'no user nobody', 5 unless defined $uid;

    my $f = Ferry::Test->new(conf => conf("user nobody;\nworker_rlimit_nofile 200;\n"));
    if ($f->start) {
        # "real effective saved fs" of Uid: and Gid: in /proc/PID/status
        my $ids = sub {
            my $st = Ferry::Test::read_file("/proc/$_[0]/status") // '';
            my ($u) = $st =~ /^Uid:\s+(\d+\s+\d+\s+\d+\s+\d+)/m;
            my ($g) = $st =~ /^Gid:\s+(\d+\s+\d+\s+\d+\s+\d+)/m;
            return join '/', map { join ' ', split ' ', $_ // '?' } $u, $g;
        };
        my $nobody = join '/', "$uid $uid $uid $uid", "$gid $gid $gid $gid";
        my @w = $f->wait_workers(2);
        # A worker is the master's child from fork() on, and gives up
        # root only in its initialisation: wait until both have (or the
        # deadline), instead of reading /proc in between.
        my %ids;
        wait_until {
            %ids = map { $_ => $ids->($_) } @w;
            !grep { $_ ne $nobody } values %ids;
        } 10;
        like($ids->($f->master_pid), qr{^0 0 0 0/0 0 0 0$}, 'master stays root');
        is_deeply([ map { $ids{$_} } @w ], [ ($nobody) x 2 ],
                  'workers run as nobody: real, effective, saved and fs uid and gid');
        my $groups = (Ferry::Test::read_file("/proc/$w[0]/status") // '')
                     =~ /^Groups:\s*(.*)$/m ? $1 : '?';
        unlike($groups, qr/(?:^|\s)0(?:\s|$)/, "no supplementary group root (Groups: $groups)");
        my $lim = Ferry::Test::read_file("/proc/$w[0]/limits") // '';
        like($lim, qr/Max open files\s+200\s+200/, 'worker_rlimit_nofile 200 applied');
        is(http_get($f->port(0), '/')->{status}, 200, 'and they serve');
    }
    $f->stop;
}


# ---- EMFILE in the master: accepting pauses, then resumes ---------------

SKIP: {
    my $prlimit = (grep { -x } '/usr/bin/prlimit', '/bin/prlimit')[0];
    skip 'prlimit not installed', 4 unless $prlimit;

    my $f = Ferry::Test->new(conf => conf());
    if ($f->start) {
        $f->wait_workers(2);
        $f->allow_log(qr/\[crit\] \d+#\d+: accept4\(\) on \S+ failed: Too many open files \(24\)/);
        my $m = $f->master_pid;
        # the soft limit at the lowest free fd number: the next
        # descriptor the master opens is one too many
        opendir my $d, "/proc/$m/fd";
        my %used = map { $_ => 1 } grep { /^\d+$/ } readdir $d;
        closedir $d;
        my $low = 0;
        $low++ while $used{$low};
        my ($soft) = (Ferry::Test::read_file("/proc/$m/limits") // '')
                     =~ /Max open files\s+(\d+)/;
        system($prlimit, "--pid=$m", "--nofile=$low:") == 0
            or diag("prlimit failed");

        my $c = Ferry::Test::Client->new($f->port(0));
        $c->send(build_request(path => '/', headers => [Connection => 'close']));
        Time::HiRes::sleep(1);
        my @crit = $f->error_log =~ /accept4\(\) on \S+ failed: Too many open files/g;
        ok(@crit >= 1 && @crit <= 15, 'out of fds: a few [crit] lines a second, no spinning ('
           . scalar(@crit) . ')');
        my $r = $c->read_response(timeout => 0.2);
        ok($r->{error}, 'the client waits in the backlog meanwhile');

        system($prlimit, "--pid=$m", "--nofile=" . ($soft // 1024) . ":");
        $r = $c->read_response(timeout => 3);
        is($r->{status}, 200, 'served once descriptors are free again');
        $c->close;
    }
    $f->stop;
}

done_testing;
