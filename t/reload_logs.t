#!/usr/bin/perl

# A reload (SIGHUP) applies the main context's error_log and pid, as
# nginx does: the master and the new workers write the new error log
# (another file, another level, several targets, syslog), SIGUSR1 then
# reopens the new files; a log file or pid file that cannot be written
# fails the reload and the old configuration keeps serving and logging
# where it did; a moved pid file is written and the old one removed,
# and "ferry -s quit" finds the master through the new one (a reload
# failing later removes the new one and keeps the old); -e stands in
# for a missing error_log on reload too; a changed "daemon" is noted
# and takes effect at the next start.

use strict;
use warnings;

use Test::More;
use Ferry::Test;
use IO::Socket::INET;
use IO::Select;

# The configuration with this top (daemon, error_log, pid lines).
sub conf {
    my ($top) = @_;
    return $top . <<'EOF';
worker_processes 1;
events { worker_connections 64; }
http {
    server {
        listen 127.0.0.1:%%PORT_0%%;
        root html;
        location / { }
    }
}
EOF
}

sub slurp { Ferry::Test::read_file($_[0]) // '' }

sub count { my ($text, $re) = @_; return scalar(() = $text =~ /$re/g) }

# Write the configuration, SIGHUP, and wait for the outcome: "done" once
# the worker is replaced by a new one (a log at level error shows no
# "reload done"), "failed" once $fail_log holds one more "reload failed".
sub reload {
    my ($f, $top, $fail_log) = @_;
    # the worker of the start (or of the reload before) first: start
    # returns once the master's socket answers, which may be before the
    # worker is there, and a worker coming up later would look new
    my @now;
    wait_until { @now = $f->worker_pids; @now == 1 } 10;
    my %old = map { $_ => 1 } @now;
    my $f0 = count(slurp($fail_log), qr/reload failed/);
    $f->write_file('conf/ferry.conf', conf($top));
    kill 'HUP', $f->master_pid;
    my $r = wait_until {
        return 'failed' if count(slurp($fail_log), qr/reload failed/) > $f0;
        my @w = $f->worker_pids;
        return 'done' if @w == 1 && !$old{ $w[0] };
        return 0;
    } 10;
    return $r // 'timeout';
}

# A 404 for a missing file: logged at [info] ("open() of ... failed")
# by the worker that serves it.
sub miss {
    my ($f, $name) = @_;
    return http_get($f->port(0), "/$name")->{status};
}

my $notfound = sub { qr/\[info\] \d+#0: open\(\) of "\Q$_[0]\E" for "\/\Q$_[0]\E" failed/ };


# ---- another file, another level, more targets, SIGUSR1 -----------------

{
    my $f = Ferry::Test->new(conf => conf(<<'EOF'));
daemon off;
error_log logs/a.log info;
pid logs/ferry.pid;
EOF
    $f->write_file('html/index.html', "hi\n");
    my $p = $f->prefix;
    my ($a, $b, $c) = map { "$p/logs/$_.log" } qw(a b c);

    if ($f->start) {
        is(miss($f, 'miss1'), 404, 'a missing file: 404');
        ok(wait_until(sub { slurp($a) =~ $notfound->('miss1') }, 5),
           'its [info] line is in the first log');

        is(reload($f, "daemon off;\nerror_log logs/b.log info;\npid logs/ferry.pid;\n",
                  $a), 'done', 'reload to error_log b.log: done');
        ok(wait_until(sub { slurp($b) =~ /\[notice\] \d+#0: reload done: generation 2/ }, 5),
           '"reload done" is in the new log');
        like(slurp($a), qr/\[notice\] \d+#0: reconfiguring/,
             '"reconfiguring" is in the old log');
        unlike(slurp($b), qr/reconfiguring/, '... not in the new one');
        like(slurp($b), qr/\[notice\] \d+#0: start worker process/,
             'the master logs the new workers it starts to the new log');
        is(miss($f, 'miss2'), 404, 'a missing file after the reload: 404');
        ok(wait_until(sub { slurp($b) =~ $notfound->('miss2') }, 5),
           'its [info] line is in the new log');
        unlike(slurp($a), qr/miss2/, '... and not in the old one');

        # the level: error hides the [info] line, the file stays
        is(reload($f, "daemon off;\nerror_log logs/b.log error;\npid logs/ferry.pid;\n",
                  $b), 'done', 'reload to level error');
        is(miss($f, 'miss3'), 404, 'a missing file: 404');
        is(miss($f, 'index.html'), 200, 'a file there: 200 (the request after it is done)');
        unlike(slurp($b), qr/miss3/, 'at level error the [info] line is gone');

        # a second target at another level; the [info] line goes there only
        is(reload($f, "daemon off;\nerror_log logs/b.log error;\nerror_log logs/c.log info;\npid logs/ferry.pid;\n",
                  $b), 'done', 'reload with a second error_log (c.log, info)');
        is(miss($f, 'miss4'), 404, 'a missing file: 404');
        ok(wait_until(sub { slurp($c) =~ $notfound->('miss4') }, 5),
           'its [info] line is in the added log');
        ok(wait_until(sub { slurp($c) =~ /reload done: generation/ }, 5),
           'the added log has the master\'s lines too');
        unlike(slurp($b), qr/miss4/, '... and not in the error-level one');

        # the added one removed again: c.log gets nothing more
        is(reload($f, "daemon off;\nerror_log logs/b.log info;\npid logs/ferry.pid;\n",
                  $b), 'done', 'reload without c.log');
        is(miss($f, 'miss5'), 404, 'a missing file: 404');
        ok(wait_until(sub { slurp($b) =~ $notfound->('miss5') }, 5),
           'its line is in b.log');
        unlike(slurp($c), qr/miss5/, 'the removed log gets nothing more');

        # SIGUSR1 reopens the current configuration's file
        ok(rename($b, "$b.1"), "b.log renamed as a rotation does");
        kill 'USR1', $f->master_pid;
        ok(wait_until(sub { -e $b }, 5),
           'SIGUSR1 after the reload: b.log is opened again');
        like(slurp("$b.1"), qr/reopening logs/, '(the line saying so went to the renamed file)');
        is(miss($f, 'miss6'), 404, 'a missing file: 404');
        ok(wait_until(sub { slurp($b) =~ $notfound->('miss6') }, 5),
           'its line is in the reopened b.log');
        unlike(slurp($a), qr/miss6|reopening/, 'nothing goes to the first log');
    }
    $f->stop;
}


# ---- a log file that cannot be opened fails the reload --------------------

{
    my $top = "daemon off;\nerror_log logs/error.log info;\npid logs/ferry.pid;\n";
    my $f = Ferry::Test->new(conf => conf($top));
    $f->write_file('html/index.html', "hi\n");
    my $log = $f->prefix . '/logs/error.log';
    my $bad = $f->prefix . '/nosuchdir/x.log';

    if ($f->start) {
        my @w = $f->wait_workers(1);
        $f->allow_log(qr/\[emerg\] \d+#0: open\(\) "\Q$bad\E" failed/,
                      qr/\[alert\] \d+#0: reload failed/);
        is(reload($f, "daemon off;\nerror_log nosuchdir/x.log info;\npid logs/ferry.pid;\n",
                  $log), 'failed', 'reload to an unopenable error_log fails');
        like(slurp($log), qr/\[emerg\] \d+#0: open\(\) "\Q$bad\E" failed: No such file or directory \(2\)/,
             'the [emerg] naming the file is in the old log');
        like(slurp($log), qr/\[alert\] \d+#0: reload failed: still serving the previous configuration/,
             '... and the [alert]');
        is(http_get($f->port(0), '/index.html')->{status}, 200, 'still serving');
        is_deeply([ $f->worker_pids ], \@w, 'by the same worker');
        is(miss($f, 'after'), 404, 'a missing file: 404');
        ok(wait_until(sub { slurp($log) =~ $notfound->('after') }, 5),
           'the old log is still written');

        # the same with a second error_log that cannot be opened
        $f->allow_log(qr/\[emerg\] \d+#0: open\(\) ".*\/nosuchdir\/y\.log" failed/);
        is(reload($f, "daemon off;\nerror_log logs/error.log info;\nerror_log nosuchdir/y.log;\npid logs/ferry.pid;\n",
                  $log), 'failed', 'a second error_log that cannot be opened fails it too');
        is(http_get($f->port(0), '/index.html')->{status}, 200, 'still serving');

        # put the good one back so the stop check reads this log
        $f->write_file('conf/ferry.conf', conf($top));
    }
    $f->stop;
}


# ---- the pid file moves --------------------------------------------------

{
    my $f = Ferry::Test->new(conf => conf(<<'EOF'));
daemon off;
error_log logs/error.log info;
pid logs/ferry.pid;
EOF
    $f->write_file('html/index.html', "hi\n");
    my $p = $f->prefix;
    my $log = "$p/logs/error.log";
    my ($old, $new) = ("$p/logs/ferry.pid", "$p/run/other.pid");
    mkdir "$p/run";

    if ($f->start) {
        my $m = $f->master_pid;

        # one that cannot be written: the reload fails, the old stays
        my $bad = "$p/nosuchdir/x.pid";
        $f->allow_log(qr/\[emerg\] \d+#0: open\(\) "\Q$bad\E" failed/,
                      qr/\[alert\] \d+#0: reload failed/);
        is(reload($f, "daemon off;\nerror_log logs/error.log info;\npid nosuchdir/x.pid;\n",
                  $log), 'failed', 'reload to an unwritable pid file fails');
        like(slurp($log), qr/\[emerg\] \d+#0: open\(\) "\Q$bad\E" failed: No such file or directory/,
             'the [emerg] names it');
        like(slurp($old), qr/^$m\n\z/, 'the old pid file is still there');
        is(http_get($f->port(0), '/index.html')->{status}, 200, 'still serving');

        is(reload($f, "daemon off;\nerror_log logs/error.log info;\npid run/other.pid;\n",
                  $log), 'done', 'reload to pid run/other.pid: done');
        like(slurp($new), qr/^$m\n\z/, 'the new pid file holds the master\'s pid');
        ok(!-e $old, 'the old pid file is gone');
        is(http_get($f->port(0), '/index.html')->{status}, 200, 'still serving');

        # "ferry -s" reads the pid file the configuration names
        my ($code, $out) = $f->run('-s', 'quit');
        is($code, 0, 'ferry -s quit with the new configuration') or diag($out);
        is($f->wait_exit(10), 0, 'the master exits');
        ok(!-e $new, 'it removes the pid file it moved to');
    }
    $f->stop;
}


# ---- a reload failing after its pid file was written ---------------------

{
    my $f = Ferry::Test->new(conf => conf(<<'EOF'));
daemon off;
error_log logs/error.log info;
pid logs/ferry.pid;
EOF
    $f->write_file('html/index.html', "hi\n");
    my $p = $f->prefix;
    my $log = "$p/logs/error.log";
    my ($old, $new) = ("$p/logs/ferry.pid", "$p/logs/new.pid");
    # another program holds the port the new configuration adds
    my $busy = IO::Socket::INET->new(LocalAddr => '127.0.0.1:' . $f->port(1),
                                     Listen => 5, ReuseAddr => 1)
        or die "listen: $!\n";

    if ($f->start) {
        my $m = $f->master_pid;
        $f->allow_log(qr/\[emerg\] \d+#0: bind\(\) to 127\.0\.0\.1:\d+ failed/,
                      qr/\[alert\] \d+#0: reload failed/);
        my $top = "daemon off;\nerror_log logs/error.log info;\npid logs/new.pid;\n";
        (my $c = conf($top)) =~ s/(listen 127\.0\.0\.1:%%PORT_0%%;)/$1\n        listen 127.0.0.1:%%PORT_1%%;/;
        my $f0 = count(slurp($log), qr/reload failed/);
        $f->write_file('conf/ferry.conf', $c);
        kill 'HUP', $m;
        ok(wait_until(sub { count(slurp($log), qr/reload failed/) > $f0 }, 10),
           'a new pid file and a port another program holds: the reload fails');
        like(slurp($log), qr/pid file "\Q$new\E" written/,
             'after the new pid file was written');
        ok(!-e $new, 'the new pid file is removed again');
        like(slurp($old), qr/^$m\n\z/, 'the old one still names the master');
        is(http_get($f->port(0), '/index.html')->{status}, 200, 'still serving');

        $f->write_file('conf/ferry.conf', conf("daemon off;\nerror_log logs/error.log info;\npid logs/ferry.pid;\n"));
    }
    $f->stop;
    close $busy;
}


# ---- -e: the log of a configuration without error_log, on reload too ----

{
    my $f = Ferry::Test->new(conf => conf(<<'EOF'));
daemon off;
error_log logs/a.log info;
pid logs/ferry.pid;
EOF
    $f->write_file('html/index.html', "hi\n");
    my $p = $f->prefix;
    my ($a, $e) = ("$p/logs/a.log", "$p/logs/e.log");

    if ($f->start('-e', 'logs/e.log')) {
        ok(!-e $e, 'with error_log in the configuration -e is not used');
        is(reload($f, "daemon off;\npid logs/ferry.pid;\n", $a), 'done',
           'reload to a configuration without error_log');
        ok(wait_until(sub { -e $e }, 5), 'the -e file is opened by the reload');
        like(slurp($a), qr/reconfiguring/, '"reconfiguring" in the old log');
        ok(!-e "$p/logs/error.log", 'not the default file: -e stands in for it');
        is(http_get($f->port(0), '/index.html')->{status}, 200, 'still serving');
    }
    $f->stop;
}


# ---- daemon changed: takes effect at the next start ---------------------

{
    my $f = Ferry::Test->new(conf => conf(<<'EOF'));
daemon off;
error_log logs/error.log info;
pid logs/ferry.pid;
EOF
    $f->write_file('html/index.html', "hi\n");
    my $log = $f->prefix . '/logs/error.log';

    if ($f->start) {
        my $m = $f->master_pid;
        is(reload($f, "daemon on;\nerror_log logs/error.log info;\npid logs/ferry.pid;\n",
                  $log), 'done', 'reload with "daemon on": done');
        like(slurp($log), qr/\[notice\] \d+#0: "daemon on" takes effect when ferry is started again/,
             'a notice says it waits for the next start');
        ok($f->is_running, 'the master is still the one started (not forked away)');
        like(slurp($f->pid_file), qr/^$m\n\z/, 'the pid file still names it');
        is(http_get($f->port(0), '/index.html')->{status}, 200, 'still serving');
    }
    $f->stop;
}


# ---- to syslog by a reload ----------------------------------------------

{
    my $udp = IO::Socket::INET->new(LocalAddr => '127.0.0.1', LocalPort => 0,
                                    Proto => 'udp')
        or die "udp socket: $!\n";
    my $uport = $udp->sockport;
    my $f = Ferry::Test->new(conf => conf(<<'EOF'));
daemon off;
error_log logs/error.log info;
pid logs/ferry.pid;
EOF
    $f->write_file('html/index.html', "hi\n");
    my $log = $f->prefix . '/logs/error.log';

    if ($f->start) {
        is(reload($f, "daemon off;\nerror_log logs/error.log notice;\n"
                      . "error_log syslog:server=127.0.0.1:$uport,tag=rl info;\n"
                      . "pid logs/ferry.pid;\n", $log),
           'done', 'reload adding error_log syslog:');
        is(miss($f, 'tosyslog'), 404, 'a missing file: 404');
        my $got = '';
        my $sel = IO::Select->new($udp);
        wait_until {
            for ($sel->can_read(0.2)) {
                my $buf;
                $got .= "$buf\n" if defined $udp->recv($buf, 65536);
            }
            $got =~ /tosyslog/;
        } 5;
        like($got, qr/ rl: .*open\(\) of "tosyslog"/,
             'its [info] line reaches the syslog server');
        unlike(slurp($log), qr/tosyslog/, '... and not the notice-level file');
    }
    $f->stop;
}

done_testing;
