#!/usr/bin/perl

# Failover under load: three backends, four clients sending requests
# without pause; one backend is killed in the middle.  The clients see
# no error (requests caught on the dead server move on to another), and
# once the workers have marked it unavailable it gets no more tries.

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
        alarm 30;
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

sub responses {
    my @l;
    for my $k (1 .. 4) {
        open my $fh, '<', "$dir/client$k" or next;
        push @l, <$fh>;
    }
    chomp @l;
    return @l;
}

my $dead = $f->port(3);
sub tries_of_dead {
    my @l = grep { /upstream: "http:\/\/127\.0\.0\.1:$dead\// }
            split /\n/, $f->error_log;
    return scalar @l;
}

ok(wait_until(sub { responses() >= 150 }, 10), '150 responses before the kill');
my $served_by_3 = $b{3}->requests;
ok($served_by_3 > 20, "the third backend took its share ($served_by_3)");
$b{3}->stop;
my $at_kill = responses();

ok(wait_until(sub { responses() >= $at_kill + 100 }, 10),
   '100 more responses after the kill');
my $tries = tries_of_dead();
ok(wait_until(sub { responses() >= $at_kill + 300 }, 10),
   '200 more');
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
my @after = @r[$at_kill .. $#r];
my %after;
$after{$_}++ for @after;
ok(($after{'200 b1'} // 0) > 100 && ($after{'200 b2'} // 0) > 100,
   'after the kill the two others share the load');
like($f->error_log, qr/127\.0\.0\.1:$dead in upstream "three" temporarily disabled/,
     'the dead backend is logged as disabled');

$f->stop;
done_testing;
