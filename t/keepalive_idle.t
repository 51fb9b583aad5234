#!/usr/bin/perl

# The list of idle keep-alive connections stays sound when requests are
# answered at once on connections coming back from idle (a "return"
# location answers in the same turn): several keep-alive connections,
# interleaved, some closed by the client, then a graceful stop while
# others are idle, which walks the list.
#
# Regression: the keep-alive handler listed such a connection a second
# time after set_keepalive had listed it, linking it to itself; a
# client close then freed it while still listed (heap-use-after-free
# under ASan, "corrupted size vs. prev_size" from glibc, or a worker
# spinning in the graceful stop).  Found by t/faults.t.

use strict;
use warnings;

use Test::More;
use Ferry::Test;

my $f = Ferry::Test->new(conf => main_conf() . <<'EOF');
worker_processes 1;
events { worker_connections 64; }
http {
    server {
        listen 127.0.0.1:%%PORT_0%%;
        location / { return 200 "$pid\n"; }
    }
}
EOF

$f->start or do { done_testing; exit };
my $port = $f->port(0);
my ($worker) = $f->wait_workers(1);
my $req = build_request(path => '/');

my @c = map { Ferry::Test::Client->new($port) } 1 .. 4;
for my $round (1 .. 3) {
    for my $i (0 .. $#c) {
        $c[$i]->send($req);
        is($c[$i]->read_response->{status}, 200,
           "round $round, connection $i: 200 on the same connection");
    }
}

$c[1]->close;
for my $i (0, 2, 3) {
    $c[$i]->send($req);
    is($c[$i]->read_response->{status}, 200,
       "connection $i still served after another one closed");
}
$c[0]->close;
is(http_get($port, '/')->{status}, 200, 'a new connection is served');
is(join(',', $f->worker_pids), $worker, 'by the same worker: it never died');

# two connections idle at the graceful stop: closed, no hang, no report
$f->stop;
ok($c[$_]->wait_close(2), "idle connection $_ closed by the stop") for 2, 3;

done_testing;
