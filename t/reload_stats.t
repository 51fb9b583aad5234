#!/usr/bin/perl

# Statistics survive a reload: the request counters of worker slots and
# of upstream servers that stay (same upstream name and address) keep
# counting from where they were; a server the new configuration drops
# disappears from the page, one it adds starts from zero; a failed
# reload shows on the status page.

use strict;
use warnings;

use Test::More;
use JSON::PP;
use Ferry::Test;

my $conf = main_conf() . <<'EOF';
worker_processes 2;
events { worker_connections 256; }
http {
    access_log off;
    upstream app {
        server 127.0.0.1:%%PORT_1%%;
        server 127.0.0.1:%%PORT_2%%;
    }
    server {
        listen 127.0.0.1:%%PORT_0%%;
        location / { proxy_pass http://app; }
        location = /status { status json; }
    }
}
EOF

my $f = Ferry::Test->new(conf => $conf);
my $b1 = Ferry::Test::Backend->new(port => $f->port(1));
my $b2 = Ferry::Test::Backend->new(port => $f->port(2));
my $b3 = Ferry::Test::Backend->new(port => $f->port(3));
$f->start or do { done_testing; exit };
my $port = $f->port(0);

sub status {
    my $r = http_get($port, '/status');
    return eval { decode_json($r->{body}) } // {};
}

sub server_requests {
    my ($s, $addr) = @_;
    for my $u (@{ $s->{upstreams} // [] }) {
        for my $srv (@{ $u->{servers} }) {
            return $srv->{requests} if $srv->{server} eq $addr;
        }
    }
    return undef;
}

my ($a1, $a2, $a3) = map { '127.0.0.1:' . $f->port($_) } 1, 2, 3;

for (1 .. 20) {
    is(http_get($port, "/r$_")->{status}, 200, "request $_") or last;
}
my $before = status();
is(server_requests($before, $a1), 10, 'server 1 has 10 requests');
is(server_requests($before, $a2), 10, 'server 2 has 10 requests');
my $gen = $before->{proxy}{generation} // $before->{master}{generation};

# reload: server 2 replaced by server 3
(my $conf2 = $conf) =~ s/%%PORT_2%%/%%PORT_3%%/;
$f->write_file('conf/ferry.conf', $conf2);
kill 'HUP', $f->master_pid;
ok(wait_until(sub {
       my $s = status();
       defined server_requests($s, $a3) && !defined server_requests($s, $a2);
   }, 10), 'the page shows the new configuration\'s servers');

for (1 .. 10) {
    http_get($port, "/s$_");
}
my $after = status();
is(server_requests($after, $a1), 15, 'server 1 kept its count and went on (10 + 5)');
is(server_requests($after, $a3), 5, 'the new server counts from zero');
ok(!defined server_requests($after, $a2), 'the dropped server is gone');

my $sum = 0;
$sum += $_->{requests} for @{ $after->{workers} };
ok($sum >= 30, "worker slot request counters survived ($sum >= 30)");
is($after->{requests} // -1, $sum, 'the total is the sum of the slots');

# a failed reload is visible
$f->write_file('conf/ferry.conf', $conf2 . "bogus_directive;\n");
kill 'HUP', $f->master_pid;
ok(wait_until(sub {
       my $s = status();
       my $m = $s->{proxy} // $s->{master} // {};
       ($m->{reloads_failed} // 0) == 1 && defined $m->{last_reload_ok}
           && !$m->{last_reload_ok};
   }, 10), 'a failed reload shows as failed on the status page');
is(http_get($port, '/still')->{status}, 200, 'and the old configuration serves');
# lifecycle counters: two workers at start, two more for the reload
my $ev = status()->{master}{events} // {};
ok(($ev->{worker_spawns} // 0) >= 4, "worker_spawns counts every worker started ($ev->{worker_spawns})");
my ($crashes, $respawns) = ($ev->{worker_crashes}, $ev->{worker_respawns});
my ($victim) = grep { $_->{state} eq 'running' && $_->{pid} } @{ status()->{workers} };
kill 'KILL', $victim->{pid};
ok(wait_until(sub {
       my $e = status()->{master}{events} // {};
       ($e->{worker_crashes} // 0) == $crashes + 1
           && ($e->{worker_respawns} // 0) == $respawns + 1;
   }, 5), 'a killed worker counts as a crash and a respawn');
$f->allow_log(qr/\[alert\] .*exited on signal 9/);
my $prom = http_get($port, '/status?format=prometheus')->{body} // '';
like($prom, qr/^ferry_lifecycle_events_total\{event="worker_crashes"\} \Q@{[$crashes + 1]}\E$/m,
     'and Prometheus shows it');

$f->allow_log(qr/\[emerg\] .*unknown directive "bogus_directive"/);
$f->allow_log(qr/\[alert\] .*reload failed/);

$f->stop;
done_testing;
