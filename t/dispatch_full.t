#!/usr/bin/perl

# The master does not hand a connection to a worker that has no room
# left under worker_connections while another worker has room; when
# every worker is full, the connection goes to one anyway and is
# closed there, with "worker_connections are not enough" in the log
# (as before).  worker_connections counts upstream connections too, as
# in nginx, so a worker waiting on slow upstreams is full with fewer
# clients.  The worker that served a request is known from
# `return 200 "$pid"`, or from the X-Pid header the backend sees.

use strict;
use warnings;

use Test::More;
use Ferry::Test;
use File::Temp ();

my $WC = 4;         # worker_connections

sub conf {
    my ($dispatch) = @_;
    return main_conf() . <<"EOF";
worker_processes 2;
worker_dispatch $dispatch;
events { worker_connections $WC; }
http {
    upstream slow { server 127.0.0.1:%%PORT_1%%; }
    server {
        listen 127.0.0.1:%%PORT_0%%;
        location / { return 200 "\$pid"; }
        location /slow {
            proxy_pass http://slow;
            proxy_set_header X-Pid \$pid;
        }
    }
}
EOF
}

# A keep-alive connection held open after one request; (client, pid).
sub hold {
    my ($port) = @_;
    my $c = Ferry::Test::Client->new($port) or return;
    $c->send(build_request(path => '/held'));
    my $r = $c->read_response;
    return ($c, ($r->{status} // 0) == 200 ? $r->{body} : 'failed');
}

# One request on a new connection that the server closes; the pid that
# answered, or what went wrong.  Waits for the close, so the worker has
# given the connection back before the next one comes.
sub one_request {
    my ($port) = @_;
    my $c = Ferry::Test::Client->new($port) or return 'no-connect';
    $c->send(build_request(path => '/short',
                           headers => [Connection => 'close']));
    my $r = $c->read_response;
    my $got = ($r->{status} // 0) == 200 ? $r->{body} : 'failed';
    $got = 'not-closed' if $got ne 'failed' && !$c->wait_close(3);
    $c->close;
    return $got;
}

# Holds keep-alive connections until one worker has $WC of them.
# Returns (full pid, other pid, \%held pid => [clients]).
sub fill_one_worker {
    my ($port, @w) = @_;
    my %held = map { $_ => [] } @w;
    for (1 .. 2 * $WC - 1) {
        my ($c, $pid) = hold($port);
        if (!$c || !$held{$pid}) {
            diag("holding connection $_: " . ($pid // 'no connect'));
            return;
        }
        push @{ $held{$pid} }, $c;
        if (@{ $held{$pid} } == $WC) {
            my ($other) = grep { $_ != $pid } @w;
            return ($pid, $other, \%held);
        }
    }
    return;
}


# ---- (a) round_robin: a full worker is passed over --------------------

{
    my $f = Ferry::Test->new(conf => conf('round_robin'));
    $f->allow_log(qr/worker_connections are not enough, closed 1 connection/);
    if ($f->start) {
        my @w = $f->wait_workers(2);
        my $port = $f->port(0);

        my ($full, $other, $held) = fill_one_worker($port, @w);
        ok($full, "round_robin: one worker holds $WC keep-alive connections");
        is(scalar @{ $held->{$other} // [] }, $WC - 1,
           'round_robin: the other holds ' . ($WC - 1))
            if $full;
        $full //= -1;
        $other //= -1;

        # The other worker has room for one connection at a time; round
        # robin would send every second one to the full worker.
        my @got = map { one_request($port) } 1 .. 6;
        is_deeply(\@got, [ ($other) x 6 ],
                  'round_robin: 6 new connections all answered by the '
                  . 'worker with room')
            or diag("full worker $full, other $other; got @got");
        unlike($f->error_log, qr/worker_connections are not enough/,
               'round_robin: no worker had to close a connection');

        # Both full: today's behaviour, the connection reaches a worker
        # which closes it and says so in the log.
        my ($c, $pid) = hold($port);
        is($pid, $other, 'round_robin: the last free slot is taken');
        push @{ $held->{$other} }, $c if $c;
        my $x = Ferry::Test::Client->new($port);
        $x->send(build_request(path => '/none',
                               headers => [Connection => 'close']));
        my $r = $x->read_response(timeout => 5);
        ok($r->{closed} && !$r->{status},
           'round_robin: all full: the connection is closed unanswered')
            or diag($r->{status} // $r->{error});
        $x->close;
        my $logged = wait_until {
            $f->error_log =~ /\[alert\].* $WC worker_connections are not enough, closed 1 connection/
        } 5;
        ok($logged, 'round_robin: all full: the worker logs why');

        # every held connection is still served
        my $ok = 0;
        for my $pid (keys %$held) {
            for my $h (@{ $held->{$pid} }) {
                $h->send(build_request(path => '/again'));
                my $s = $h->read_response;
                $ok++ if ($s->{status} // 0) == 200 && $s->{body} eq $pid;
                $h->close;
            }
        }
        is($ok, 2 * $WC, 'round_robin: the held connections still work');

        # and once they are gone both workers take connections again
        my %seen;
        my $both = wait_until {
            $seen{ one_request($port) }++;
            $seen{$full} && $seen{$other};
        } 5;
        ok($both, 'round_robin: both workers answer again');
    }
    $f->stop;
}


# ---- (b) least_mem: the same, whoever has the least memory -------------

{
    my $f = Ferry::Test->new(conf => conf('least_mem'));
    if ($f->start) {
        my @w = $f->wait_workers(2);
        my $port = $f->port(0);

        my ($full, $other, $held) = fill_one_worker($port, @w);
        ok($full, "least_mem: one worker holds $WC keep-alive connections");
        $full //= -1;
        $other //= -1;
        my @got = map { one_request($port) } 1 .. 6;
        is_deeply(\@got, [ ($other) x 6 ],
                  'least_mem: 6 new connections all answered by the worker '
                  . 'with room')
            or diag("full worker $full, other $other; got @got");
        $_->close for map { @$_ } values %{ $held // {} };
    }
    $f->stop;
}


# ---- (c) upstream connections count ------------------------------------

# Two slow proxied requests on one worker take 2 connections each
# (client + upstream): that worker is full with only 2 clients.

{
    my $f = Ferry::Test->new(conf => conf('round_robin'));
    my $dir = File::Temp::tempdir('ferry-dfull-XXXXXX', TMPDIR => 1,
                                  CLEANUP => 1);
    my $b = Ferry::Test::Backend->new(port => $f->port(1), handler => sub {
        my ($req) = @_;
        my ($pid) = map { $_->[1] } grep { lc $_->[0] eq 'x-pid' }
                    @{ $req->{headers} };
        if (open my $fh, '>>', "$dir/pids") {
            print $fh ($pid // '?'), "\n";
            close $fh;
        }
        wait_until { return -e "$dir/go" } 20;
        return { status => 200, body => "slow " . ($pid // '?') };
    });
    my $pid_lines = sub {
        return split /\n/, Ferry::Test::read_file("$dir/pids") // '';
    };
    if ($f->start) {
        my @w = $f->wait_workers(2);
        my $port = $f->port(0);

        my @slow;
        for my $i (1 .. 3) {
            my $c = Ferry::Test::Client->new($port, timeout => 20);
            $c->send(build_request(path => "/slow/$i",
                                   headers => [Connection => 'close']));
            push @slow, $c;
            # its upstream connection is open once the backend's handler
            # has written its line (the backend counts a request before
            # its handler runs, so $b->requests is too early for the
            # file; a bound, not a timing check)
            wait_until { return $pid_lines->() >= $i } 20;
        }
        my @pids = $pid_lines->();
        my %n;
        $n{$_}++ for @pids;
        my ($full) = grep { $n{$_} == 2 } keys %n;
        my ($other) = grep { $_ != ($full // -1) } @w;
        ok($full && $other && $n{$other} == 1,
           'upstream: 3 slow requests, two on one worker')
            or diag("backend saw: @pids");
        $full //= -1;
        $other //= -1;

        # the full worker has 2 clients but 4 connections
        my @got = map { one_request($port) } 1 .. 4;
        is_deeply(\@got, [ ($other) x 4 ],
                  'upstream: new connections all answered by the worker '
                  . 'with room')
            or diag("full worker $full, other $other; got @got");

        if (open my $go, '>', "$dir/go") {
            close $go;
        }
        my $ok = 0;
        for my $c (@slow) {
            my $r = $c->read_response(timeout => 20);
            $ok++ if ($r->{status} // 0) == 200;
            $c->close;
        }
        is($ok, 3, 'upstream: the slow requests are answered');
    }
    $f->stop;
    $b->stop;
}

done_testing;
