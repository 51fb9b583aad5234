#!/usr/bin/perl

# How the master spreads connections over workers (worker_dispatch
# round_robin, least_conn, least_mem) and that a killed worker is
# replaced.  The worker that served a request is known from
# `return 200 "$pid"`.

use strict;
use warnings;

use Test::More;
use Ferry::Test;
use POSIX ();
use Time::HiRes ();

sub conf {
    my ($top) = @_;
    return main_conf() . $top . <<'EOF';
events { worker_connections 256; }
http {
    server {
        listen 127.0.0.1:%%PORT_0%%;
        location / { return 200 "$pid"; }
    }
}
EOF
}

# One request on a new connection (Connection: close); the pid that
# answered, or undef.
sub pid_of_new_connection {
    my ($port) = @_;
    my $r = http_get($port, '/');
    return ($r->{status} // 0) == 200 && ($r->{body} // '') =~ /^(\d+)$/
        ? $1 : undef;
}


# ---- (a) round_robin: 400 connections, 100 each ----------------------

{
    my $f = Ferry::Test->new(conf => conf(
        "worker_processes 4;\nworker_dispatch round_robin;\n"));
    if ($f->start) {
        my @w = $f->wait_workers(4);
        my %n;
        for (1 .. 400) {
            $n{ pid_of_new_connection($f->port(0)) // 'failed' }++;
        }
        is(scalar(grep { $_ ne 'failed' } keys %n), 4,
           'round_robin: 4 distinct workers answered');
        is($n{failed} // 0, 0, 'round_robin: every request answered');
        is_deeply([ sort { $a <=> $b } grep { $_ ne 'failed' } keys %n ], \@w,
                  'round_robin: the answering pids are the workers');
        my @off = grep { $n{$_} < 99 || $n{$_} > 101 } keys %n;
        ok(!@off, 'round_robin: each worker got 100 +-1 of 400 connections')
            or diag(join ', ', map { "$_: $n{$_}" } sort keys %n);
    }
    $f->stop;
}


# ---- (b) least_conn: a held connection steers new ones away -----------

{
    my $f = Ferry::Test->new(conf => conf(
        "worker_processes 2;\nworker_dispatch least_conn;\n"));
    if ($f->start) {
        my @w = $f->wait_workers(2);
        my $port = $f->port(0);

        my $held = Ferry::Test::Client->new($port);
        $held->send(build_request(path => '/held'));
        my $r = $held->read_response;
        my $busy = ($r->{status} // 0) == 200 ? $r->{body} : undef;
        ok(defined $busy && grep({ $_ == $busy } @w),
           'least_conn: held keep-alive connection served by a worker')
            or diag($r->{error} // $r->{raw});
        $busy //= -1;

        my @got;
        for (1 .. 10) {
            my $c = Ferry::Test::Client->new($port);
            $c->send(build_request(path => '/short',
                                   headers => [Connection => 'close']));
            my $s = $c->read_response;
            push @got, ($s->{status} // 0) == 200 ? $s->{body} : 'failed';
            # the connection counts until the server has closed it
            $c->wait_close(3) or push @got, 'not-closed';
            $c->close;
        }
        my @wrong = grep { $_ eq 'failed' || $_ eq 'not-closed' || $_ == $busy } @got;
        ok(!@wrong, 'least_conn: all 10 short connections went to the other worker')
            or diag("held connection on $busy; short ones went to: @got");

        ok(!$held->wait_close(0.2), 'least_conn: held connection still open');
        $held->close;
    }
    $f->stop;
}


# ---- (c) least_mem: the rss in the dispatch log is real ----------------

my $PAGE = POSIX::sysconf(POSIX::_SC_PAGESIZE()) || 4096;

sub rss_of {
    my ($pid) = @_;
    my $statm = Ferry::Test::read_file("/proc/$pid/statm") // return undef;
    my (undef, $resident) = split ' ', $statm;
    return $resident * $PAGE;
}

{
    my $f = Ferry::Test->new(conf => conf(
        "worker_processes 2;\nworker_dispatch least_mem;\n"));
    if ($f->start) {
        my @w = $f->wait_workers(2);
        my %worker = map { $_ => 1 } @w;
        my $port = $f->port(0);
        my $re = qr/dispatch fd (\d+) to worker slot (\d+) pid (\d+) \(active (\d+) inflight (\d+) rss (\d+)\)/;

        # one dispatch line per connection, in order
        my $dispatch_lines = sub {
            return map { [/$re/] } grep { /$re/ } split /\n/, $f->error_log;
        };
        # the rss /proc shows for a pid, and how far a report may be off:
        # 30%, at least 256 KiB; a value in the wrong unit (KiB, pages)
        # or of the wrong process must not pass
        my $near = sub {
            my ($rss, $real) = @_;
            my $tol = 0.3 * $real;
            $tol = 256 * 1024 if $tol < 256 * 1024;
            return $rss > 0 && abs($rss - $real) <= $tol;
        };
        # one connection: [dispatch line, /proc rss of each worker just
        # before, pid that answered]
        my $probe = sub {
            my $before = () = $dispatch_lines->();
            my %proc = map { $_ => rss_of($_) // 0 } @w;
            my $pid = pid_of_new_connection($port);
            my @all = $dispatch_lines->();
            return [$all[$before], \%proc, $pid];
        };

        # A young worker's rss moves: right after fork its page tables
        # hold few of the pages it shares, and its first requests fault
        # in code and pools (1.7 MB to 2.5 MB here, more than the
        # tolerance).  Reports are up to a second old, so compare only
        # once /proc has stood still for longer than that.  The first
        # connections rotate (the workers have not reported yet, or
        # report the same rss), so both workers are warmed.
        $probe->() for 1 .. 20;
        my %last = map { $_ => -1 } @w;
        my $still_since = Time::HiRes::time();
        my $settled = wait_until {
            my %now = map { $_ => rss_of($_) // 0 } @w;
            if (grep { $now{$_} != $last{$_} } @w) {
                %last = %now;
                $still_since = Time::HiRes::time();
            }
            Time::HiRes::time() - $still_since > 1.5;
        } 8;
        ok($settled, "least_mem: the workers' rss in /proc settles")
            or diag(join ', ', map { "$_: $last{$_}" } @w);

        # then a connection's dispatch line carries its worker's rss.
        # Only one worker may be seen: least_mem keeps choosing the
        # smaller, and it is right to.
        my $caught_up = wait_until {
            my ($line, $proc) = @{ $probe->() };
            $line && $near->($line->[5], $proc->{ $line->[2] } // 0);
        } 4;
        ok($caught_up, 'least_mem: the reported rss follows /proc within a few seconds')
            or diag(join "\n", map { "pid $_->[2] rss $_->[5]" } $dispatch_lines->());

        # now each connection: the dispatch line's rss against /proc
        my @checks = map { $probe->() } 1 .. 6;

        my @bad;
        for my $c (@checks) {
            my ($line, $proc, $pid) = @$c;
            if (!$line) {
                push @bad, 'no dispatch line for a connection';
                next;
            }
            my (undef, undef, $lpid, undef, undef, $rss) = @$line;
            push @bad, "dispatched to $lpid, not a worker" unless $worker{$lpid};
            push @bad, "request answered by $pid but dispatched to $lpid"
                unless defined $pid && $pid == $lpid;
            my $real = $proc->{$lpid} || rss_of($lpid) // 0;
            push @bad, "pid $lpid reported rss $rss, /proc says $real"
                unless $near->($rss, $real);
        }
        ok(!@bad, 'least_mem: every dispatch line names the worker that'
                  . ' answered and an rss within 30% of /proc')
            or diag(join "\n", @bad);

        # Whether the worker with the smallest rss was chosen cannot be
        # judged from the log: a line shows only the chosen worker's rss,
        # and the other's may have been reported since its last line.
    }
    $f->stop;
}


# ---- (d) a killed worker is replaced ---------------------------------

{
    my $f = Ferry::Test->new(conf => conf("worker_processes 2;\n"));
    if ($f->start) {
        my @w = $f->wait_workers(2);
        my $victim = $w[0];
        $f->allow_log(qr/\b$victim\b/);    # e.g. "[alert] worker process N exited on signal 9"

        kill 'KILL', $victim;
        my @now;
        my $ok = wait_until {
            @now = $f->worker_pids;
            @now == 2 && !grep { $_ == $victim } @now;
        } 5;
        ok($ok, 'killed worker replaced by a new one within 5 s')
            or diag("workers before: @w, now: @now");

        my %new = map { $_ => 1 } @now;
        my @bad;
        for (1 .. 20) {
            my $pid = pid_of_new_connection($f->port(0));
            push @bad, $pid // 'failed' unless defined $pid && $new{$pid};
        }
        ok(!@bad, 'after the respawn, 20 requests all answered by live workers')
            or diag("workers @now; bad answers: @bad");
        is($f->exit_code, undef, 'master still running');
    }
    $f->stop;
}

done_testing;
