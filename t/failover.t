#!/usr/bin/perl

# Failover under load: three backends, four clients sending requests
# without pause; one backend is killed in the middle.  The clients see
# no error (requests caught on the dead server move on to another), and
# once the workers have marked it unavailable it gets no more tries.
# Every wait is for the condition asserted, with a deadline: under a
# loaded machine the clients are slow, never wrong.

use strict;
use warnings;

use Test::More;
use Ferry::Test;
use POSIX ();
use Time::HiRes ();

my $f = Ferry::Test->new(conf => main_conf() . <<'EOF');
worker_processes 2;
events { worker_connections 256; }
http {
    upstream three {
        server 127.0.0.1:%%PORT_1%%;
        server 127.0.0.1:%%PORT_2%%;
        server 127.0.0.1:%%PORT_3%% max_fails=1 fail_timeout=30s;
    }
    server {
        listen 127.0.0.1:%%PORT_0%%;
        location / { proxy_pass http://three; }
    }
}
EOF

my %b;
for my $n (1 .. 3) {
    $b{$n} = Ferry::Test::Backend->new(port => $f->port($n), handler => sub {
        { body => "b$n", delay => 0.01 }
    });
}

$f->allow_log(qr/\[error\]|\[warn\]/);
$f->start or do { done_testing; exit };
my $port = $f->port(0);
my $dir = $f->prefix;

# Each client writes one line per response: "200 b1", or the error.
my @clients;
for my $k (1 .. 4) {
    my $pid = fork // die "fork: $!";
    if ($pid == 0) {
        # a safety net only: the test stops the clients with "stop"
        alarm 90;
        open my $out, '>>', "$dir/client$k" or POSIX::_exit(1);
        $out->autoflush(1);
        while (!-e "$dir/stop") {
            my $r = http_get($port, "/c$k");
            print $out (($r->{status} // 'none') . ' '
                        . ($r->{body} // $r->{error} // '') . "\n");
        }
        POSIX::_exit(0);
    }
    push @clients, $pid;
}

# The complete lines of client $k so far (one may be half written).
sub lines_of {
    my ($k) = @_;
    open my $fh, '<', "$dir/client$k" or return ();
    my @l = grep { /\n\z/ } <$fh>;
    chomp @l;
    return @l;
}
sub responses { map { lines_of($_) } 1 .. 4 }
sub per_client { map { scalar lines_of($_) } 1 .. 4 }

my $dead = $f->port(3);
sub tries_of_dead {
    my @l = grep { /upstream: "http:\/\/127\.0\.0\.1:$dead\// }
            split /\n/, $f->error_log;
    return scalar @l;
}

ok(wait_until(sub { responses() >= 150 }, 20), '150 responses before the kill');
my $served_by_3 = $b{3}->requests;
ok($served_by_3 > 20, "the third backend took its share ($served_by_3)");
$b{3}->stop;
my $at_kill = responses();
my @at_kill = per_client();

# Requests that were on the third backend when it died fail there and go
# on to another server; the first such failure makes it unavailable to
# every worker.  Each client has one request at a time, so once the
# "disabled" line is in the log and every client has had two more
# answers, every request that could have chosen the third backend before
# it was disabled has been answered -- and a worker logs a failed try
# before it answers.  Only then are the tries counted: any later one is
# a try of a server known to be down.
my $disabled = qr/127\.0\.0\.1:$dead in upstream "three" temporarily disabled/;
ok(wait_until(sub { $f->error_log =~ $disabled }, 20),
   'the dead backend is logged as disabled');
my @at_disable = per_client();
ok(wait_until(sub {
    my @n = per_client();
    !grep { $n[$_] < $at_disable[$_] + 2 } 0 .. 3;
}, 20), 'every client answered twice since');
my $tries = tries_of_dead();
ok(wait_until(sub { responses() >= $at_kill + 300 }, 20),
   '300 responses after the kill');
is(tries_of_dead(), $tries, 'the dead backend got no more tries: '
   . "$tries failed tries in all, all right after the kill");
ok($tries <= 8, "few tries of the dead backend ($tries)");

open my $fh, '>', "$dir/stop" or die;
close $fh;
waitpid $_, 0 for @clients;

my @r = responses();
my @bad = grep { !/^200 b[123]$/ } @r;
is(scalar @bad, 0, scalar(@r) . ' responses, no error')
    or diag(join "\n", @bad[0 .. ($#bad < 5 ? $#bad : 5)]);
# each client's own lines after its count at the kill (the files are
# per client, so the tail of all of them together is not "after")
my %after;
for my $k (1 .. 4) {
    my @l = lines_of($k);
    $after{$_}++ for @l[$at_kill[$k - 1] .. $#l];
}
ok(($after{'200 b1'} // 0) > 100 && ($after{'200 b2'} // 0) > 100,
   'after the kill the two others share the load: '
   . join(', ', map { "$_ " . ($after{"200 $_"} // 0) } qw(b1 b2 b3)));

$f->stop;
done_testing;
