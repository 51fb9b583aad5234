#!/usr/bin/perl

# Stopping ferry: the pid file, "ferry -s stop|quit", SIGTERM (fast) and
# SIGQUIT (graceful: a request in flight still gets its full response).

use strict;
use warnings;

use Test::More;
use Ferry::Test;
use Time::HiRes ();

my $CONF = main_conf() . <<'EOF';
worker_processes 2;
events { worker_connections 64; }
http {
    upstream slow { server 127.0.0.1:%%PORT_1%%; }
    server {
        listen 127.0.0.1:%%PORT_0%%;
        location / { return 200 "up"; }
        location /slow/ { proxy_pass http://slow; }
    }
}
EOF

# the body a slow upstream sends after waiting `delay` seconds
my $SLOW_BODY = "slow answer\n" x 100;

sub slow_backend {
    my ($f, $delay) = @_;
    return Ferry::Test::Backend->new(port => $f->port(1), handler => sub {
        { delay => $delay, body => $SLOW_BODY }
    });
}


# ---- pid file; SIGQUIT removes it ------------------------------------

{
    my $f = Ferry::Test->new(conf => $CONF);
    if ($f->start) {
        my $pid = Ferry::Test::read_file($f->pid_file) // '';
        is($pid, $f->master_pid . "\n", 'pid file holds the master pid');
        is(http_get($f->port(0), '/')->{status}, 200, 'serving');
    }
    $f->stop;     # SIGQUIT
    is($f->exit_code, 0, 'SIGQUIT: master exits with 0');
    ok(!-e $f->pid_file, 'SIGQUIT: pid file removed');
    ok(port_is_closed($f->port(0)), 'SIGQUIT: port released');
}


# ---- a stale pid file naming another program ----------------------------
# ferry replaces it and says so on stderr, before its own log is open
# (warnings show there, as nginx shows them)

{
    my $f = Ferry::Test->new(conf => $CONF);
    my $other = fork // die "fork: $!";
    if ($other == 0) { { exec 'sleep', '30' }; POSIX::_exit(127); }
    open my $pf, '>', $f->pid_file or die $f->pid_file . ": $!";
    print $pf "$other\n";
    close $pf;
    if ($f->start) {
        like(Ferry::Test::read_file($f->stderr_file) // '',
             qr/^ferry: \[warn\] pid file "[^"]+" names process $other, which is not ferry; replacing the stale file$/m,
             'a pid file naming another program: a [warn] on stderr, and ferry starts');
        is(Ferry::Test::read_file($f->pid_file), $f->master_pid . "\n",
           '... the pid file now names the master');
    }
    $f->stop;
    kill 'KILL', $other;
    waitpid $other, 0;
}

# -t shows a configuration's warnings, -q hides them
{
    my $f = Ferry::Test->new(conf => main_conf() . <<'EOF');
events { }
http {
    server {
        listen 127.0.0.1:%%PORT_0%%;
        allow 10.0.0.1/8;
        return 200;
    }
}
EOF
    my ($rc, $out) = $f->run('-t');
    is($rc, 0, '-t: a configuration with a warning is ok');
    like($out, qr/\[warn\] low address bits of 10\.0\.0\.1\/8 are meaningless in \S+ferry\.conf:\d+/,
         '... and -t prints the warning with file and line');
    ($rc, $out) = $f->run('-t', '-q');
    is($rc, 0, '-t -q: ok');
    unlike($out, qr/warn|syntax is ok/, '... silently');
}

# ---- ferry -s stop / -s quit ------------------------------------------

for my $sig (qw(stop quit)) {
    my $f = Ferry::Test->new(conf => $CONF);
    if ($f->start) {
        my ($rc, $out) = $f->run('-s', $sig);
        is($rc, 0, "-s $sig exits 0") or diag($out);
        my $code = $f->wait_exit(10);
        ok(defined $code, "-s $sig: the running master exits");
        is($code, 0, "-s $sig: master exit code 0");
        ok(!-e $f->pid_file, "-s $sig: pid file removed");
        ok(port_is_closed($f->port(0)), "-s $sig: port released");
    }
    $f->stop;     # only checks the logs when already exited
}

# -s without a running ferry: an error, not a hang
{
    my $f = Ferry::Test->new(conf => $CONF);
    my ($rc, $out) = $f->run('-s', 'stop');
    isnt($rc, 0, '-s stop without a running master exits non-zero');
    like($out, qr/\[(?:error|emerg|alert)\]/, '-s stop without a running master says why')
        or diag($out);
}


# ---- SIGTERM is fast, even with a request in flight ------------------

{
    my $f = Ferry::Test->new(conf => $CONF);
    my $b = slow_backend($f, 5);
    if ($f->start) {
        my $c = Ferry::Test::Client->new($f->port(0));
        $c->send(build_request(path => '/slow/x'));
        my $arrived = wait_until { $b->requests >= 1 } 5;
        ok($arrived, 'SIGTERM: request in flight at the slow upstream');

        my $t0 = Time::HiRes::time();
        kill 'TERM', $f->master_pid;
        my $code = $f->wait_exit(3);
        my $took = Time::HiRes::time() - $t0;
        ok(defined $code, 'SIGTERM: master exits within 3 s (upstream answers after 5 s)')
            or diag(sprintf 'still running after %.1fs', $took);
        is($code, 0, 'SIGTERM: master exit code 0');
        ok($c->wait_close(2), 'SIGTERM: the client connection is closed');
        $c->close;
        ok(!-e $f->pid_file, 'SIGTERM: pid file removed');
    }
    $f->stop;
}


# ---- SIGQUIT lets a request in flight finish ---------------------------

{
    my $f = Ferry::Test->new(conf => $CONF);
    my $b = slow_backend($f, 1);
    if ($f->start) {
        my $c = Ferry::Test::Client->new($f->port(0));
        $c->send(build_request(path => '/slow/y',
                               headers => [Connection => 'close']));
        my $arrived = wait_until { $b->requests >= 1 } 5;
        ok($arrived, 'SIGQUIT: request in flight at the slow upstream');

        kill 'QUIT', $f->master_pid;

        # graceful: no new connections are taken while the old finish
        my $refused = wait_until { port_is_closed($f->port(0)) } 3;
        ok($refused, 'SIGQUIT: listening socket closed at once');

        my $r = $c->read_response(timeout => 5);
        is($r->{status}, 200, 'SIGQUIT: request in flight still answered 200')
            or diag($r->{error} // $r->{raw});
        ok(defined $r->{body} && $r->{body} eq $SLOW_BODY,
           'SIGQUIT: with the whole body');
        $c->close;

        my $code = $f->wait_exit(10);
        is($code, 0, 'SIGQUIT: master exits with 0 after the request');
        ok(!-e $f->pid_file, 'SIGQUIT: pid file removed');
    }
    $f->stop;
}

done_testing;
