#!/usr/bin/perl

# "server NAME resolve" in upstream blocks, http's and stream's (nginx
# >= 1.27.3): the name is asked of the resolver while ferry runs and
# again when the answer's TTL runs out; the upstream's servers follow
# the answer.  A small DNS server written here answers from a file the
# test rewrites (TTL 1 s), so the answer changes while ferry runs:
# an address that replaces another takes the requests (also where
# keep-alive connections to the old one were idle: the backends count
# them), an address added gets its share, health checks and
# hash ... consistent follow the addresses, a name that does not resolve at start leaves ferry
# running and answering 502 until it does, the status page lists the
# addresses of now, and a reload keeps them (the new workers have them
# even while the DNS server is silent).  The resolver may be the
# upstream's own or the http/stream block's.  Configuration errors (no
# zone, no resolver) name the file and line; service= (SRV records) is
# t/upstream_resolve_srv.t.

use strict;
use warnings;

use Test::More;
use IO::Socket::INET;
use Socket ();
use JSON::PP ();
use Ferry::Test;

# the DNS server: Ferry::Test's file_dns_server (answers from a file
# the test rewrites, TTL 1 s)

my $conf = main_conf() . <<'EOF';
worker_processes 2;
events { worker_connections 64; }
http {
    resolver 127.0.0.1:%%PORT_9%%;
    upstream app {
        zone app 64k;
        keepalive 4;
        server app.test:%%PORT_1%% resolve;
    }
    upstream two {
        zone two 64k;
        resolver 127.0.0.1:%%PORT_9%%;
        resolver_timeout 2s;
        server two.test:%%PORT_1%% resolve max_fails=0;
    }
    upstream late {
        zone late 64k;
        server late.test:%%PORT_1%% resolve;
    }
    upstream hc {
        zone hc 64k;
        server app.test:%%PORT_1%% resolve;
        health_check uri=/hc-probe interval=200ms;
    }
    upstream many {
        zone many 64k;
        server many.test:%%PORT_1%% resolve;
    }
    upstream h {
        zone h 64k;
        hash $arg_k consistent;
        server two.test:%%PORT_1%% resolve;
    }
    server {
        listen 127.0.0.1:%%PORT_0%%;
        add_header X-Up $upstream_addr always;
        location /app/ { proxy_pass http://app; }
        location /two/ { proxy_pass http://two; }
        location /late/ { proxy_pass http://late; }
        location /h/ { proxy_pass http://h; }
        location /hc/ { proxy_pass http://hc; }
        location /status { status; }
    }
}
stream {
    resolver 127.0.0.1:%%PORT_9%%;
    upstream s {
        zone s 64k;
        server app.test:%%PORT_2%% resolve;
    }
    server {
        listen 127.0.0.1:%%PORT_3%%;
        proxy_pass s;
    }
}
EOF

my $f = Ferry::Test->new(conf => $conf);
my $answers = $f->prefix . '/answers';
sub answer {
    my ($text) = @_;
    open my $fh, '>', "$answers.new" or die "$answers: $!\n";
    print $fh $text;
    close $fh;
    rename "$answers.new", $answers or die "rename: $!\n";
}
# many.test: 16 IPv4 addresses and an IPv6 one
my $many = 'many.test ' . join(' ', map { "127.0.1.$_" } 1 .. 16) . " ::1\n";
answer($many . <<'EOF');
app.test 127.0.0.1
two.test 127.0.0.1 127.0.0.2
late.test nx
EOF
file_dns_server($f->port(9), $answers);

my $p1 = $f->port(1);
my @b = map { Ferry::Test::Backend->new(host => "127.0.0.$_", port => $p1) }
        1 .. 3;
for my $i (1, 2) {
    tcp_server($f->port(2), sub { print { $_[0] } "backend $i\n"; },
               "127.0.0.$i");
}

$f->allow_log(qr/could not be resolved|no live upstreams|has live servers/);
$f->start or BAIL_OUT('ferry did not start');

# where n requests to $path went: "addr" => count (502: "502")
sub spread {
    my ($path, $n) = @_;
    my %seen;
    for (1 .. $n) {
        my $r = http_get($f->port(0), $path);
        $seen{ $r->{status} == 200 ? $r->{headers}{'x-up'}
                                   : $r->{status} }++;
    }
    return \%seen;
}

# the status page: upstream name => [its servers]
sub servers_of {
    my $r = http_get($f->port(0), '/status?format=json');
    my $d = eval { JSON::PP::decode_json($r->{body}) } or return {};
    my %u;
    for my $up (@{ $d->{upstreams} // [] }) {
        $u{ $up->{name} } = [ sort map { $_->{server} }
                              @{ $up->{servers} } ];
    }
    return \%u;
}

# at start: the names are asked by the workers, not when loading (each
# upstream's line on its own: wait for all of them)
ok(scalar(wait_until { http_get($f->port(0), '/app/x')->{status} == 200 } 10),
   'a name resolved at run time: proxied');
ok(scalar(wait_until {
       my $u = servers_of();
       @{ $u->{two} // [] } == 2 && @{ $u->{h} // [] } == 2
       && @{ $u->{hc} // [] } == 1 && @{ $u->{s} // [] } == 1
       && @{ $u->{many} // [] } == 16 } 10),
   '... every upstream\'s');
is_deeply(spread('/app/x', 6), { "127.0.0.1:$p1" => 6 },
          '... to its address');
my $two = spread('/two/x', 12);
is_deeply([ sort keys %$two ], [ "127.0.0.1:$p1", "127.0.0.2:$p1" ],
          'a name with two addresses: both are servers (own resolver)')
    or diag(explain($two));
is($two->{"127.0.0.1:$p1"}, 6, '... taking turns');
is(http_get($f->port(0), '/late/x')->{status}, 502,
   'a name that does not resolve: ferry runs, requests get 502');

# hash ... consistent over the addresses: key => address
sub keyed {
    my %a;
    for my $k (1 .. 30) {
        $a{$k} = http_get($f->port(0), "/h/x?k=$k")->{headers}{'x-up'} // '';
    }
    return \%a;
}
my $h2 = keyed();
is_deeply([ sort { $a cmp $b } keys %{ { reverse %$h2 } } ],
          [ "127.0.0.1:$p1", "127.0.0.2:$p1" ],
          'hash consistent: keys spread over both addresses');
is_deeply(keyed(), $h2, '... each key keeps its address');
like(stream_line($f->port(3)), qr/^backend 1$/,
     'stream: the name resolved, proxied to its address');

# health checks (the checker process) go to the addresses found
sub probes {
    my ($i) = @_;
    return scalar grep { m{ /hc-probe} } $b[$i]->request_lines;
}
ok(scalar(wait_until { probes(0) > 0 } 10),
   'health_check probes the address found');

my $st = servers_of();
is_deeply($st->{app}, [ "127.0.0.1:$p1" ], 'the status page: its address');
is_deeply($st->{two}, [ "127.0.0.1:$p1", "127.0.0.2:$p1" ],
          '... both addresses of the other');
is_deeply($st->{late} // [], [], '... and none for the name without');
is(scalar @{ $st->{many} // [] }, 16,
   'a name with 17 addresses: 16 servers (the bound)');
like($f->error_log, qr/\[warn\] .*upstream "many": server "many\.test:$p1" resolved to more than 16 addresses; the others are not used/,
     '... and a warning');

# the answers change: TTL 1 s (app's idle keep-alive connections to
# the old address must not carry requests to the new one)
answer(<<'EOF');
app.test 127.0.0.2
two.test 127.0.0.1 127.0.0.2 127.0.0.3
late.test 127.0.0.3
EOF
ok(scalar(wait_until { (http_get($f->port(0), '/app/x')->{headers}{'x-up'} // '')
                eq "127.0.0.2:$p1" } 10),
   'the address changes: requests go to the new one');
my @before = map { scalar grep { m{ /app/} } $_->request_lines } @b[0, 1];
is_deeply(spread('/app/x', 6), { "127.0.0.2:$p1" => 6 },
          '... all of them (every worker)');
is_deeply([ map { scalar grep { m{ /app/} } $_->request_lines } @b[0, 1] ],
          [ $before[0], $before[1] + 6 ],
          '... reach that backend (none on a kept connection to the old)');
ok(scalar(wait_until { probes(1) > 0 } 10),
   'health_check probes the new address');
ok(scalar(wait_until { http_get($f->port(0), '/late/x')->{status} == 200 } 10),
   'the name that did not resolve does now: 200');
is(http_get($f->port(0), '/late/x')->{headers}{'x-up'}, "127.0.0.3:$p1",
   '... from its address');
ok(scalar(wait_until { keys %{ spread('/two/x', 6) } == 3 } 10),
   'an address added to the answer');
$two = spread('/two/x', 9);
is_deeply($two, { map { ("127.0.0.$_:$p1" => 3) } 1 .. 3 },
          '... gets its share') or diag(explain($two));
my $h3;
ok(scalar(wait_until { $h3 = keyed(); keys %{ { reverse %$h3 } } == 3 } 10),
   'hash consistent: the new address takes keys');
is_deeply([ grep { $h3->{$_} ne $h2->{$_} && $h3->{$_} ne "127.0.0.3:$p1" }
            sort keys %$h3 ], [],
          '... only from the others, none moves between the old two');
ok(scalar(wait_until { stream_line($f->port(3)) eq 'backend 2' } 10),
   'stream: the new address takes the connections');

$st = servers_of();
is_deeply($st->{app}, [ "127.0.0.2:$p1" ],
          'the status page: the new address, the old one gone');
is_deeply($st->{late}, [ "127.0.0.3:$p1" ], '... the late one\'s');
my $prom = http_get($f->port(0), '/status?format=prometheus')->{body} // '';
my %prom_app = map { $_ => 1 }
               $prom =~ /upstream="app",server="([^"]+)"/g;
is_deeply([ sort keys %prom_app ], [ "127.0.0.2:$p1" ],
          '... and in Prometheus\' series');
is(scalar @{ $st->{two} }, 3, '... three for the other');
like($f->error_log, qr/upstream "app": server "app\.test:$p1" has address 127\.0\.0\.2:$p1/,
     'the error log says which address came');
like($f->error_log, qr/upstream "app": server "app\.test:$p1" no longer has address 127\.0\.0\.1:$p1/,
     '... and which went');
like($f->error_log, qr/late\.test could not be resolved \(3: Host not found\)/,
     '... and that a name did not resolve');

# an address that goes away: the others take everything
answer(<<'EOF');
app.test 127.0.0.2
two.test 127.0.0.3
late.test 127.0.0.3
EOF
ok(scalar(wait_until { my $s = spread('/two/x', 4);
                keys %$s == 1 && $s->{"127.0.0.3:$p1"} } 10),
   'addresses removed from the answer are no servers any more');

# a reload keeps the addresses: the new workers have them even when the
# DNS server is silent (a failure other than NXDOMAIN keeps them too)
answer(<<'EOF');
app.test silent
two.test silent
late.test silent
EOF
my @old = $f->worker_pids;
my $done = () = $f->error_log =~ /reload done: generation/g;
kill 'HUP', $f->master_pid;
ok(scalar(wait_until { my @now = $f->worker_pids;
                my $d = () = $f->error_log =~ /reload done: generation/g;
                my %o = map { $_ => 1 } @old;
                $d > $done && @now >= 2 && !grep { $o{$_} } @now } 10),
   'reload: new workers');
is_deeply(spread('/app/x', 4), { "127.0.0.2:$p1" => 4 },
          '... proxy to the addresses found before, DNS silent');
is(http_get($f->port(0), '/late/x')->{status}, 200, '... the late one too');
is_deeply(servers_of()->{app}, [ "127.0.0.2:$p1" ], '... status page');

$f->stop;

# ---- configuration errors ----

conf_refused(<<'EOF', qr/\[emerg\] resolving names at run time requires upstream "u" in \S+ferry\.conf:7 to be in shared memory/, 'resolve without zone');
http {
    resolver 127.0.0.1;
    upstream u {
        server a.test:80 resolve;
    }
    server { listen 127.0.0.1:%%PORT_0%%; location / { proxy_pass http://u; } }
}
EOF

conf_refused(<<'EOF', qr/\[emerg\] no resolver defined to resolve names at run time in upstream "u" in \S+ferry\.conf:6/, 'resolve without resolver');
http {
    upstream u {
        zone u 64k;
        server a.test:80 resolve;
    }
    server { listen 127.0.0.1:%%PORT_0%%; location / { proxy_pass http://u; } }
}
EOF

conf_refused(<<'EOF', qr/\[emerg\] no resolver defined to resolve names at run time in upstream "s" in \S+ferry\.conf:6/, 'stream: resolve without resolver');
stream {
    upstream s {
        zone s 64k;
        server a.test:80 resolve;
    }
    server { listen 127.0.0.1:%%PORT_0%%; proxy_pass s; }
}
EOF

conf_refused(<<'EOF', qr/\[emerg\] "resolver_timeout" directive is duplicate in \S+ferry\.conf:10/, 'resolver_timeout in upstream: a duplicate');
http {
    upstream u {
        zone u 64k;
        resolver 127.0.0.1;
        resolver_timeout 5s;
        resolver_timeout 5s;
        server a.test resolve;
    }
    server { listen 127.0.0.1:%%PORT_0%%; location / { proxy_pass http://u; } }
}
EOF

done_testing;
