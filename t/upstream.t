#!/usr/bin/perl

# Upstream balancing as a client and the backends see it: weighted round
# robin shared by all workers (exact counts), least_conn across workers,
# hash, backup, max_conns, passive health (max_fails / fail_timeout,
# shared by all workers), retries (proxy_next_upstream, none for POST),
# "no live upstreams" logged once, and $upstream_addr / $upstream_status.

use strict;
use warnings;

use Test::More;
use Ferry::Test;
use Time::HiRes ();

my $f = Ferry::Test->new(conf => main_conf() . <<'EOF');
worker_processes 4;
events { worker_connections 256; }
http {
    upstream weighted {
        server 127.0.0.1:%%PORT_1%% weight=5;
        server 127.0.0.1:%%PORT_2%%;
        server 127.0.0.1:%%PORT_3%%;
    }
    upstream lc {
        least_conn;
        server 127.0.0.1:%%PORT_4%%;
        server 127.0.0.1:%%PORT_5%%;
    }
    upstream hashed {
        hash $request_uri consistent;
        zone hashed 64k;
        server 127.0.0.1:%%PORT_1%%;
        server 127.0.0.1:%%PORT_2%%;
        server 127.0.0.1:%%PORT_3%%;
    }
    upstream with_backup {
        server 127.0.0.1:%%PORT_9%% max_fails=0;
        server 127.0.0.1:%%PORT_2%% backup;
    }
    upstream flaky {
        server 127.0.0.1:%%PORT_10%%;
        server 127.0.0.1:%%PORT_11%%;
    }
    upstream passive {
        server 127.0.0.1:%%PORT_1%%;
        server 127.0.0.1:%%PORT_12%% max_fails=2 fail_timeout=2s;
    }
    upstream dead {
        server 127.0.0.1:%%PORT_12%%;
        server 127.0.0.1:%%PORT_13%%;
    }
    upstream limited {
        server 127.0.0.1:%%PORT_5%% max_conns=1;
        server 127.0.0.1:%%PORT_4%% backup;
    }
    server {
        listen 127.0.0.1:%%PORT_0%%;
        location / { proxy_pass http://weighted; }
        location /lc/ { proxy_pass http://lc; }
        location /hash/ { proxy_pass http://hashed; }
        location /backup/ { proxy_pass http://with_backup; }
        location /post-retry/ {
            proxy_next_upstream error non_idempotent;
            proxy_pass http://with_backup;
        }
        location /no-retry/ {
            proxy_next_upstream off;
            proxy_pass http://with_backup;
        }
        location /flaky/ { proxy_pass http://flaky; }
        location /flaky503/ {
            proxy_next_upstream error timeout http_503;
            proxy_pass http://flaky;
        }
        location /passive/ { proxy_pass http://passive; }
        location /dead/ { proxy_pass http://dead; }
        location /limited/ { proxy_pass http://limited; }
    }
}
EOF

my %name = (1 => 'A', 2 => 'B', 3 => 'C', 4 => 'fast', 5 => 'slow');
my %b;
for my $n (1 .. 3) {
    $b{$n} = Ferry::Test::Backend->new(port => $f->port($n),
                                       handler => sub { { body => $name{$n} } });
}
$b{4} = Ferry::Test::Backend->new(port => $f->port(4),
                                  handler => sub { { body => 'fast' } });
$b{5} = Ferry::Test::Backend->new(port => $f->port(5),
                                  handler => sub { { body => 'slow', delay => 1.5 } });
# 9: reads the request, then closes without answering
$b{9} = Ferry::Test::Backend->new(port => $f->port(9), raw => sub { });
# 10 answers 503, 11 answers 200
$b{10} = Ferry::Test::Backend->new(port => $f->port(10),
    handler => sub { { status => 503, body => 'busy' } });
$b{11} = Ferry::Test::Backend->new(port => $f->port(11),
                                   handler => sub { { body => 'ok' } });
# 12 and 13: nothing listens there
$f->port($_) for 12, 13;

$f->allow_log(qr/\[error\]|\[warn\]/);
$f->start or do { done_testing; exit };
$f->wait_workers(4);
my $port = $f->port(0);

sub get_body {
    my ($path, %o) = @_;
    my $r = $o{post}
        ? http($port, build_request(method => 'POST', path => $path,
                                    headers => [Connection => 'close'],
                                    body => 'x=1'))
        : http_get($port, $path);
    return ($r->{status} // 'none') . ' ' . ($r->{body} // '');
}

sub log_count {
    my ($re) = @_;
    my @l = grep { /$re/ } split /\n/, $f->error_log;
    return scalar @l;
}


# ---- weighted round robin, one rotation for 4 workers -----------------

{
    my @first = map { get_body('/w') } 1 .. 7;
    is(join(' ', map { (split / /)[1] } @first), 'A A B A C A A',
       'weights 5/1/1: smooth order a a b a c a a, across workers');
    my %n;
    $n{ get_body('/w') }++ for 1 .. 693;
    $n{$_} //= 0 for ('200 A', '200 B', '200 C');
    is_deeply([ $b{1}->requests, $b{2}->requests, $b{3}->requests ],
              [500, 100, 100],
              '700 requests over 4 workers land exactly 500/100/100');
}


# ---- least_conn sees the other workers' requests ----------------------

{
    my @c;
    for my $i (1 .. 10) {
        my $c = Ferry::Test::Client->new($port, timeout => 10);
        $c->send("GET /lc/$i HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n");
        push @c, $c;
        # the next one is sent once this one reached a backend
        wait_until(sub { $b{4}->requests + $b{5}->requests >= $i }, 5);
    }
    my @st = map { $_->read_response(timeout => 10)->{status} // 0 } @c;
    is_deeply(\@st, [ (200) x 10 ], 'least_conn: all 10 answered');
    ok($b{5}->requests <= 2, 'least_conn: the slow backend got '
       . $b{5}->requests . ' of 10 (at most 2), the fast ' . $b{4}->requests);
}


# ---- consistent hash: a URI sticks to one server in every worker ------

{
    my %seen;
    for my $round (1 .. 3) {
        for my $k (1 .. 20) {
            $seen{$k}{ get_body("/hash/k$k") }++;
        }
    }
    is(scalar(grep { keys %{ $seen{$_} } == 1 } keys %seen), 20,
       'hash $request_uri consistent: each key always the same server');
    my %servers = map { (keys %{ $seen{$_} })[0] => 1 } keys %seen;
    ok(keys %servers >= 2, 'hash: keys spread over servers');
}


# ---- retries: GET goes on, POST does not ------------------------------

{
    my $before = $b{9}->requests;
    is(get_body('/backup/get'), '200 B',
       'GET: the server closed without answering; retried on the backup');
    is($b{9}->requests, $before + 1, 'the failing server did see the GET');
    my $logged = wait_until(sub {
        log_count(qr{proxy done: upstream_addr "127\.0\.0\.1:\d+, 127\.0\.0\.1:\d+" upstream_status "502, 200"})
    }, 2);
    ok($logged, '$upstream_addr and $upstream_status list both tries');

    like(get_body('/backup/p', post => 1), qr/^502 /,
         'POST sent to a server that failed: not retried, 502');
    is(get_body('/post-retry/p', post => 1), '200 B',
       'POST with proxy_next_upstream non_idempotent: retried');
    like(get_body('/no-retry/g'), qr/^502 /, 'proxy_next_upstream off: 502');

    # a server answering 503: passed on as is, or retried with http_503
    my %default;
    $default{ get_body('/flaky/x') }++ for 1 .. 4;
    is_deeply(\%default, { '503 busy' => 2, '200 ok' => 2 },
              'a 503 is the client\'s answer without http_503');
    my %retry;
    $retry{ get_body('/flaky503/x') }++ for 1 .. 4;
    is_deeply(\%retry, { '200 ok' => 4 },
              'proxy_next_upstream http_503: every request answered 200');
}


# ---- backup and max_conns ---------------------------------------------

{
    # the slow server holds its one allowed request; the next goes to
    # the backup, in whichever worker it lands
    my $c = Ferry::Test::Client->new($port, timeout => 10);
    my $before = $b{5}->requests;
    $c->send("GET /limited/1 HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n");
    wait_until(sub { $b{5}->requests > $before }, 5);
    is(get_body('/limited/2'), '200 fast',
       'max_conns=1 reached (all workers): the backup answers');
    is($c->read_response(timeout => 10)->{body}, 'slow',
       'max_conns: the first request was served by the limited server');
    is(get_body('/limited/3'), '200 slow', 'max_conns: free again');
}


# ---- passive health: max_fails within fail_timeout, for all workers ---

{
    my $dead = $f->port(12);
    my @r = map { get_body("/passive/$_") } 1 .. 10;
    is(scalar(grep { $_ eq '200 A' } @r), 10,
       'passive: every request answered by the live server');
    is(log_count(qr/connect\(\) failed .*upstream: "http:\/\/127\.0\.0\.1:$dead\//), 2,
       'max_fails=2: exactly 2 tries of the dead server, all 4 workers together');
    is(log_count(qr/127\.0\.0\.1:$dead in upstream "passive" temporarily disabled for 2000 ms/), 1,
       'the disabling is logged once');

    # after fail_timeout it is tried once more, and disabled again at once
    my $t0 = Time::HiRes::time();
    my $retried = wait_until(sub {
        get_body('/passive/again');
        log_count(qr/connect\(\) failed .*upstream: "http:\/\/127\.0\.0\.1:$dead\//) >= 3
    }, 6);
    my $dt = Time::HiRes::time() - $t0;
    ok($retried, sprintf('tried again after fail_timeout (%.1fs)', $dt));
    get_body('/passive/x') for 1 .. 5;
    is(log_count(qr/connect\(\) failed .*upstream: "http:\/\/127\.0\.0\.1:$dead\//), 3,
       'one failed try after fail_timeout disables it again');
}


# ---- every server unavailable: 502, "no live upstreams" once ----------

{
    my @r = map { get_body("/dead/$_") } 1 .. 6;
    is(scalar(grep { /^502 / } @r), 6, 'all servers down: 502');
    is(log_count(qr/no live upstreams in upstream "dead"/), 1,
       '"no live upstreams" logged once, not per request');
}

$f->stop;
done_testing;
