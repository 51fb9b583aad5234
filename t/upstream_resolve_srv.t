#!/usr/bin/perl

# "server HOST service=NAME resolve" in upstream blocks, http's and
# stream's (nginx >= 1.27.3): the servers come from the DNS SRV records
# of "_NAME._tcp.HOST" ("NAME.HOST" when NAME has a dot), each target
# resolved by A questions, with the record's port and weight; the
# records of the lowest priority value are the primary servers, the
# others backups ("backup" on the line: the lowest are backups, the
# others left out).  A small DNS server written here answers from a file
# the test rewrites (TTL 1 s), so the records change while ferry runs:
# a port changed, a weight changed, a target removed are followed; a
# service without records gets 502 until it has some.  The status page
# lists the addresses with their weights and roles.  Configuration
# errors name the file and line (nginx's words).

use strict;
use warnings;

use Test::More;
use IO::Socket::INET;
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
        server app.test service=http resolve;
    }
    upstream pri {
        zone pri 64k;
        server pri.test service=http resolve max_fails=0;
    }
    upstream bl {
        zone bl 64k;
        server 127.0.0.1:%%PORT_8%% max_fails=0;
        server bl.test service=http resolve backup;
    }
    upstream late {
        zone late 64k;
        server late.test service=http resolve;
    }
    upstream dot {
        zone dot 64k;
        server dot.test service=_web._tcp resolve;
    }
    upstream zero {
        zone zero 64k;
        server zero.test service=http resolve;
    }
    upstream many {
        zone many 64k;
        server many.test service=http resolve;
    }
    upstream h {
        zone h 64k;
        hash $arg_k;
        server pri.test service=http resolve;
    }
    server {
        listen 127.0.0.1:%%PORT_0%%;
        add_header X-Up $upstream_addr always;
        location /app/ { proxy_pass http://app; }
        location /pri/ { proxy_pass http://pri; }
        location /bl/ { proxy_pass http://bl; }
        location /late/ { proxy_pass http://late; }
        location /dot/ { proxy_pass http://dot; }
        location /zero/ { proxy_pass http://zero; }
        location /h/ { proxy_pass http://h; }
        location /status { status; }
    }
}
stream {
    resolver 127.0.0.1:%%PORT_9%%;
    upstream s {
        zone s 64k;
        server st.test service=line resolve;
    }
    server {
        listen 127.0.0.1:%%PORT_7%%;
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
my ($p1, $p2, $p3, $p4, $p5, $p6, $p7, $p8) = map { $f->port($_) } 1 .. 8;
my $p10 = $f->port(10);
my $p11 = $f->port(11);
my $many = 'many.test ' . join(' ', map { "127.0.1.$_" } 1 .. 16) . "\n";
answer($many . <<"EOF");
a.test 127.0.0.1
b.test 127.0.0.1
_http._tcp.app.test srv+ 10:3:$p1:a.test 10:1:$p2:b.test
_http._tcp.pri.test srv 10:1:$p3:a.test 20:1:$p4:a.test
_http._tcp.bl.test srv 10:1:$p5:a.test 20:1:$p6:a.test
_http._tcp.late.test nx
_web._tcp.dot.test srv 1:1:$p1:a.test
_http._tcp.zero.test srv 5:0:$p1:a.test 5:0:$p2:b.test
_http._tcp.many.test srv 1:1:$p10:many.test 1:1:$p11:a.test
_line._tcp.st.test srv 1:1:$p4:a.test
EOF
file_dns_server($f->port(9), $answers);

my %b = map { ($_ => Ferry::Test::Backend->new(port => $f->port($_))) }
        1 .. 6;
$f->allow_log(qr/could not be resolved|no live upstreams|has live servers|Connection refused|upstream server temporarily disabled/);
$f->start or BAIL_OUT('ferry did not start');

# where n requests to $path went: "addr" => count (otherwise: status)
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

# the status page: upstream name => { server => "state/weight" }
sub servers_of {
    my $r = http_get($f->port(0), '/status?format=json');
    my $d = eval { JSON::PP::decode_json($r->{body}) } or return {};
    my %u;
    for my $up (@{ $d->{upstreams} // [] }) {
        $u{ $up->{name} } = { map { ($_->{server} => "$_->{state}/$_->{weight}") }
                              @{ $up->{servers} } };
    }
    return \%u;
}

ok(scalar(wait_until {
       my $u = servers_of();
       keys %{ $u->{app} // {} } == 2 && keys %{ $u->{pri} // {} } == 2
       && keys %{ $u->{bl} // {} } == 2 && keys %{ $u->{dot} // {} } == 1
       && keys %{ $u->{zero} // {} } == 2 && keys %{ $u->{many} // {} } == 16
       && keys %{ $u->{s} // {} } == 1 && keys %{ $u->{h} // {} } == 1 } 10),
   'the SRV records resolved at run time, in every upstream')
    or diag(explain(servers_of()));

# weights 3 and 1 from the records: smooth weighted round robin is
# exact over 40 requests (its state is shared by the workers)
is_deeply(spread('/app/x', 40), { "127.0.0.1:$p1" => 30, "127.0.0.1:$p2" => 10 },
          'requests reach the targets\' ports, 3:1 by the records\' weights');
my $st = servers_of();
is_deeply($st->{app}, { "127.0.0.1:$p1" => 'up/3', "127.0.0.1:$p2" => 'up/1' },
          'the status page: the addresses with the records\' ports and weights');
my $log = sub { open my $fh, '<', "$answers.log" or return ''; local $/; <$fh> };
like($log->(), qr/^33 _http\._tcp\.app\.test$/m,
     'the SRV name asked: _http._tcp.HOST');
like($log->(), qr/^1 a\.test$/m, '... the targets asked for addresses');
is_deeply(spread('/dot/x', 2), { "127.0.0.1:$p1" => 2 },
          'a service with a dot: NAME.HOST asked');
is_deeply(spread('/zero/x', 4), { "127.0.0.1:$p1" => 2, "127.0.0.1:$p2" => 2 },
          'weight 0 in the records counts as 1 (nginx)');
is_deeply(servers_of()->{zero},
          { "127.0.0.1:$p1" => 'up/1', "127.0.0.1:$p2" => 'up/1' },
          '... on the status page too');

# priorities: the lowest value primary, the others backup
is_deeply($st->{pri}, { "127.0.0.1:$p3" => 'up/1', "127.0.0.1:$p4" => 'backup/1' },
          'a record of a higher priority value: a backup server');
is_deeply(spread('/pri/x', 6), { "127.0.0.1:$p3" => 6 },
          '... no request while the primary answers');
is_deeply(spread('/h/x?k=1', 3), { "127.0.0.1:$p3" => 3 },
          'hash (no backup servers): the higher priority value left out');
is_deeply($st->{h}, { "127.0.0.1:$p3" => 'up/1' }, '... not listed');

# "backup" on the line: the lowest priority value are backups, the
# others are not used (the primary here refuses connections)
is_deeply($st->{bl}, { "127.0.0.1:$p8" => 'up/1', "127.0.0.1:$p5" => 'backup/1' },
          'a "backup" line: the records of the lowest value as backups, the others left out');
is_deeply(spread('/bl/x', 4), { "127.0.0.1:$p8, 127.0.0.1:$p5" => 4 },
          '... taking the requests the primary cannot');
is(scalar(grep { m{ /bl/} } $b{6}->request_lines), 0,
   '... none to the record of the higher value');

is(http_get($f->port(0), '/late/x')->{status}, 502,
   'a service without records: 502');
is(scalar @{ [ keys %{ servers_of()->{many} } ] }, 16,
   'a service giving 17 addresses: 16 servers (the bound)');
like($f->error_log, qr/\[warn\] .*upstream "many": server "many\.test" resolved to more than 16 addresses; the others are not used/,
     '... and a warning');

# the primary goes away: the backup takes the requests
$b{3}->stop;
ok(scalar(wait_until { (http_get($f->port(0), '/pri/x')->{headers}{'x-up'} // '')
                       =~ /\Q127.0.0.1:$p4\E$/ } 10),
   'the primary down: the backup of the higher priority value takes it');

# the records change: a port (b.test's), a weight (a.test's), and a
# service that had none now has records
answer($many . <<"EOF");
a.test 127.0.0.1
b.test 127.0.0.1
_http._tcp.app.test srv 10:1:$p1:a.test 10:1:$p6:b.test
_http._tcp.pri.test srv 10:1:$p3:a.test 20:1:$p4:a.test
_http._tcp.bl.test srv 10:1:$p5:a.test 20:1:$p6:a.test
_http._tcp.late.test srv 1:2:$p2:b.test
_web._tcp.dot.test srv 1:1:$p1:a.test
_http._tcp.zero.test srv 5:0:$p1:a.test 5:0:$p2:b.test
_http._tcp.many.test srv 1:1:$p10:many.test 1:1:$p11:a.test
_line._tcp.st.test srv 1:1:$p4:a.test
EOF
ok(scalar(wait_until { spread('/app/x', 4)->{"127.0.0.1:$p6"} } 10),
   'a port changed in the records: requests go to the new one');
ok(scalar(wait_until { servers_of()->{app}{"127.0.0.1:$p1"} eq 'up/1' } 10),
   '... the weight changed too');
my $app = spread('/app/x', 8);
is_deeply([ sort keys %$app ], [ sort "127.0.0.1:$p1", "127.0.0.1:$p6" ],
          '... both take turns, the old port no more') or diag(explain($app));
is_deeply(servers_of()->{app}, { "127.0.0.1:$p1" => 'up/1', "127.0.0.1:$p6" => 'up/1' },
          '... the status page');
ok(scalar(wait_until { http_get($f->port(0), '/late/x')->{status} == 200 } 10),
   'the service without records has some now: 200');
is(http_get($f->port(0), '/late/x')->{headers}{'x-up'}, "127.0.0.1:$p2",
   '... from its target');

# a target removed from the records
answer($many . <<"EOF");
a.test 127.0.0.1
b.test 127.0.0.1
_http._tcp.app.test srv 10:1:$p1:a.test
_http._tcp.late.test nx
_line._tcp.st.test srv 1:1:$p4:a.test
EOF
ok(scalar(wait_until { my $s = spread('/app/x', 4);
                       keys %$s == 1 && $s->{"127.0.0.1:$p1"} } 10),
   'a target removed from the records: no requests to it');
ok(scalar(wait_until { http_get($f->port(0), '/late/x')->{status} == 502 } 10),
   'the records gone (NXDOMAIN): 502');
like($f->error_log, qr/service http of late\.test could not be resolved \(3: Host not found\)/,
     '... logged');
like($f->error_log, qr/upstream "app": server "app\.test" no longer has address 127\.0\.0\.1:$p2/,
     'the error log says which address went');

# a reload keeps the addresses with their weights and roles: the new
# workers have them while the DNS server is silent
answer(<<"EOF");
a.test 127.0.0.1
b.test 127.0.0.1
_http._tcp.app.test srv 10:3:$p1:a.test 20:2:$p6:b.test
EOF
ok(scalar(wait_until { my $a = servers_of()->{app};
                       ($a->{"127.0.0.1:$p6"} // '') eq 'backup/2'
                       && $a->{"127.0.0.1:$p1"} eq 'up/3' } 10),
   'a record becomes a backup, a weight changes: the status page')
    or diag(explain(servers_of()->{app}));
answer(<<'EOF');
a.test silent
b.test silent
_http._tcp.app.test silent
EOF
my @old = $f->worker_pids;
my $done = () = $f->error_log =~ /reload done: generation/g;
kill 'HUP', $f->master_pid;
ok(scalar(wait_until { my @now = $f->worker_pids;
                my $d = () = $f->error_log =~ /reload done: generation/g;
                my %o = map { $_ => 1 } @old;
                $d > $done && @now >= 2 && !grep { $o{$_} } @now } 10),
   'reload: new workers');
is_deeply(servers_of()->{app},
          { "127.0.0.1:$p1" => 'up/3', "127.0.0.1:$p6" => 'backup/2' },
          '... the addresses, weights and roles found before, DNS silent');
is_deeply(spread('/app/x', 4), { "127.0.0.1:$p1" => 4 },
          '... the primary takes the requests');
$f->stop;

# ---- stream ----

my $g = Ferry::Test->new(conf => main_conf() . <<'EOF');
events { worker_connections 64; }
stream {
    resolver 127.0.0.1:%%PORT_9%%;
    upstream s {
        zone s 64k;
        server st.test service=line resolve;
    }
    server {
        listen 127.0.0.1:%%PORT_0%%;
        proxy_pass s;
    }
}
EOF
my $ganswers = $g->prefix . '/answers';
my ($q1, $q2) = ($g->port(1), $g->port(2));
open my $gf, '>', $ganswers or die "$ganswers: $!\n";
print $gf "a.test 127.0.0.1\n_line._tcp.st.test srv 1:1:$q1:a.test\n";
close $gf;
file_dns_server($g->port(9), $ganswers);
tcp_server($q1, sub { print { $_[0] } "backend 1\n"; });
tcp_server($q2, sub { print { $_[0] } "backend 2\n"; });
$g->start or BAIL_OUT('ferry did not start');
ok(scalar(wait_until { stream_line($g->port(0)) eq 'backend 1' } 10),
   'stream: proxied to the SRV target\'s port');
open $gf, '>', "$ganswers.new" or die;
print $gf "a.test 127.0.0.1\n_line._tcp.st.test srv 1:1:$q2:a.test\n";
close $gf;
rename "$ganswers.new", $ganswers or die;
ok(scalar(wait_until { stream_line($g->port(0)) eq 'backend 2' } 10),
   'stream: the port changed in the records is followed');
$g->stop;

# ---- configuration errors (nginx's words) ----

conf_refused(<<'EOF', qr/\[emerg\] service upstream "a\.test" requires "resolve" parameter in \S+ferry\.conf:9/, 'service= without resolve');
http {
    resolver 127.0.0.1;
    upstream u {
        zone u 64k;
        server a.test service=http;
    }
    server { listen 127.0.0.1:%%PORT_0%%; location / { proxy_pass http://u; } }
}
EOF

conf_refused(<<'EOF', qr/\[emerg\] service upstream "a\.test:80" may not have port in \S+ferry\.conf:9/, 'service= with a port');
http {
    resolver 127.0.0.1;
    upstream u {
        zone u 64k;
        server a.test:80 service=http resolve;
    }
    server { listen 127.0.0.1:%%PORT_0%%; location / { proxy_pass http://u; } }
}
EOF

conf_refused(<<'EOF', qr/\[emerg\] service upstream "127\.0\.0\.1" requires domain name in \S+ferry\.conf:9/, 'service= with an address');
http {
    resolver 127.0.0.1;
    upstream u {
        zone u 64k;
        server 127.0.0.1 service=http resolve;
    }
    server { listen 127.0.0.1:%%PORT_0%%; location / { proxy_pass http://u; } }
}
EOF

conf_refused(<<'EOF', qr/\[emerg\] service is empty in \S+ferry\.conf:9/, 'an empty service=');
http {
    resolver 127.0.0.1;
    upstream u {
        zone u 64k;
        server a.test service= resolve;
    }
    server { listen 127.0.0.1:%%PORT_0%%; location / { proxy_pass http://u; } }
}
EOF

conf_refused(<<'EOF', qr/\[emerg\] no resolver defined to resolve names at run time in upstream "s" in \S+ferry\.conf:6/, 'stream: service= without a resolver');
stream {
    upstream s {
        zone s 64k;
        server a.test service=x resolve;
    }
    server { listen 127.0.0.1:%%PORT_0%%; proxy_pass s; }
}
EOF

done_testing;
