#!/usr/bin/perl

# Host names of upstream servers resolve, when the configuration is
# read, to every address they have, IPv4 and IPv6, one server each, as
# in nginx: an upstream block's "server NAME:PORT" (with its parameters
# on each address), a proxy_pass to NAME:PORT without an upstream of
# that name, the stream module's upstream and proxy_pass, and "listen
# NAME:PORT" (http and stream) bound on every address; balanced
# in turn (hash spreading keys over them), a dead address passed over
# and named in the error log, active health checks marking it down,
# each address on the status page (JSON and Prometheus), kept across a
# reload; a name that does not resolve is a configuration error with
# file and line (as it was before: those tests pass on the old binary
# too, as do the reload's own ones).
#
# The names come from a hosts file of the test's own, read through
# nss_wrapper (Debian's libnss-wrapper, LD_PRELOAD), so that multi.test
# is 127.0.0.1, 127.0.0.2 and ::1 whatever the machine's /etc/hosts
# says.  Before, ferry took a name's first IPv4 address only: every
# request went to 127.0.0.1 and v6only.test was "host not found".

use strict;
use warnings;

use Test::More;
use JSON::PP;
use IO::Socket::IP;
use Ferry::Test;

my ($nss) = grep { -e }
    map { "$_/libnss_wrapper.so" }
    qw(/usr/lib/x86_64-linux-gnu /usr/lib/aarch64-linux-gnu /usr/lib64
       /usr/lib);
plan skip_all => 'libnss_wrapper.so not found (sh auto/deps --test '
               . 'installs libnss-wrapper)' unless $nss;

my $hosts_dir = File::Temp::tempdir('ferry-names-XXXXXX', TMPDIR => 1,
                                    CLEANUP => 1);
my $hosts = "$hosts_dir/hosts";
open my $fh, '>', $hosts or die "$hosts: $!\n";
print $fh "127.0.0.1 multi.test\n127.0.0.2 multi.test\n::1 multi.test\n"
        . "::1 v6only.test\n";
close $fh;
# a name not in the file is asked of the C library, which nss_wrapper
# opens with RTLD_DEEPBIND unless told not to; ASan (make
# test-sanitizers) ends a process that does that
my %env = (LD_PRELOAD => $nss, NSS_WRAPPER_HOSTS => $hosts,
           NSS_WRAPPER_DISABLE_DEEPBIND => 1);

# %%PORT_1%%: the three backends of multi.test; 4: one more server;
# 5: multi.test but nothing on 127.0.0.2; 3: stream backends;
# 0, 2, 6: ferry's http, stream upstream, stream implicit; 7, 8: http
# and stream "listen multi.test"
sub conf {
    my ($extra) = @_;
    $extra //= '';
    return main_conf() . <<"EOF";
worker_processes 1;
events { worker_connections 256; }
http {
    access_log off;
    upstream multi { server multi.test:%%PORT_1%%; }
    upstream weighted {
        server multi.test:%%PORT_1%% weight=2;
        server 127.0.0.1:%%PORT_4%%;
    }
    upstream onedown { server multi.test:%%PORT_5%% max_fails=0; }
    upstream v6 { server v6only.test:%%PORT_1%%; }
    upstream hashed {
        hash \$arg_k consistent;
        server multi.test:%%PORT_1%%;
    }
    upstream checked {
        server multi.test:%%PORT_5%%;
        health_check interval=200ms fails=1 passes=1;
    }
    server {
        listen 127.0.0.1:%%PORT_0%%;
        add_header X-Upstream-Addr \$upstream_addr always;
        location /multi/ { proxy_pass http://multi; }
        location /weighted/ { proxy_pass http://weighted; }
        location /onedown/ { proxy_pass http://onedown; }
        location /v6/ { proxy_pass http://v6; }
        location /hashed/ { proxy_pass http://hashed; }
        location /checked/ { proxy_pass http://checked; }
        location = /metrics { status prometheus; }
        location /implicit/ { proxy_pass http://multi.test:%%PORT_1%%; }
        location = /status { status json; }
        $extra
    }
    server {
        listen multi.test:%%PORT_7%%;
        location / { return 200 "\$server_addr\n"; }
    }
}
stream {
    upstream s { server multi.test:%%PORT_3%%; }
    server { listen 127.0.0.1:%%PORT_2%%; proxy_pass s; }
    server { listen 127.0.0.1:%%PORT_6%%; proxy_pass multi.test:%%PORT_3%%; }
    server { listen multi.test:%%PORT_8%%; return "\$server_addr\n"; }
}
EOF
}

my $f = Ferry::Test->new(conf => conf(), env => \%env);

my @addrs = ('127.0.0.1', '127.0.0.2', '::1');
my @backends;
for my $a (@addrs) {
    my $who = $a;
    push @backends, Ferry::Test::Backend->new(port => $f->port(1),
        host => $a, handler => sub { { status => 200, body => "$who\n" } });
    next if $a eq '127.0.0.2';
    push @backends, Ferry::Test::Backend->new(port => $f->port(5),
        host => $a, handler => sub { { status => 200, body => "$who\n" } });
}
push @backends, Ferry::Test::Backend->new(port => $f->port(4),
    handler => sub { { status => 200, body => "single\n" } });
for my $a (@addrs) {
    my $who = $a;
    tcp_server($f->port(3), sub { print { $_[0] } "$who\n" }, $a);
}

$f->start or do { done_testing; exit };
my $port = $f->port(0);

# Who answered each of n requests to $path: { address => count }.
sub spread {
    my ($path, $n) = @_;
    my %seen;
    for my $i (1 .. $n) {
        my $r = http_get($port, "$path$i");
        my $who = $r->{status} && $r->{status} == 200 ? $r->{body}
                                                      : "status "
                                                        . ($r->{status} // '?');
        chomp $who;
        $seen{$who}++;
    }
    return \%seen;
}

my $p1 = $f->port(1);

# ---- upstream { server NAME:PORT; }: all three, in turn ----------------

is_deeply(spread('/multi/', 6), { '127.0.0.1' => 2, '127.0.0.2' => 2,
                                  '::1' => 2 },
          'server multi.test: each of its three addresses, in turn');

my $r = http_get($port, '/multi/x');
like($r->{headers}{'x-upstream-addr'} // '',
     qr/^(127\.0\.0\.1:$p1|127\.0\.0\.2:$p1|\[::1\]:$p1)$/,
     '$upstream_addr is the address used, with its port');

# ---- weight= on each address --------------------------------------------

is_deeply(spread('/weighted/', 14), { '127.0.0.1' => 4, '127.0.0.2' => 4,
                                      '::1' => 4, single => 2 },
          'weight=2 is each address\'s: 4 of 14 each, 2 for weight 1');

# ---- an address that does not answer -----------------------------------

$f->allow_log(qr/connect\(\) failed .*127\.0\.0\.2:/);
my $down = spread('/onedown/', 9);
is(($down->{'127.0.0.1'} // 0) + ($down->{'::1'} // 0), 9,
   'one address refusing: every request still answered 200')
    or diag(explain($down));
my $p5 = $f->port(5);
like($f->error_log, qr/connect\(\) failed .*127\.0\.0\.2:$p5/,
     '... and the error log names the address that failed');

# ---- active health checks: each address checked -----------------------

my $marked = wait_until {
    $f->error_log
        =~ /upstream server 127\.0\.0\.2:$p5 in upstream "checked" is down/
} 10;
ok($marked, 'health_check: the address that refuses is marked down, by name');
my $checked = spread('/checked/', 6);
is_deeply($checked, { '127.0.0.1' => 3, '::1' => 3 },
          '... and requests go to the two others only')
    or diag(explain($checked));

# ---- hash: keys spread over the addresses ------------------------------

{
    my (%by_key, %seen);
    for my $k (1 .. 30) {
        my $r = http_get($port, "/hashed/?k=$k");
        chomp(my $who = $r->{body} // '');
        $by_key{$k} = $who;
        $seen{$who}++;
    }
    is(scalar(keys %seen), 3, 'hash consistent: 30 keys reach all three '
                              . 'addresses') or diag(explain(\%seen));
    my $same = grep {
        my $r = http_get($port, "/hashed/?k=$_");
        chomp(my $who = $r->{body} // '');
        $who eq $by_key{$_};
    } 1 .. 10;
    is($same, 10, '... a key always to the same one');
}

# ---- a name with an IPv6 address only ----------------------------------

is(spread('/v6/', 2)->{'::1'}, 2, 'v6only.test: [::1] reached');

# ---- proxy_pass http://NAME:PORT without an upstream -------------------

is_deeply(spread('/implicit/', 6), { '127.0.0.1' => 2, '127.0.0.2' => 2,
                                     '::1' => 2 },
          'proxy_pass http://multi.test:PORT: its three addresses, in turn');

# ---- the status page ----------------------------------------------------

sub status_servers {
    my ($name) = @_;
    my $j = eval { decode_json(http_get($port, '/status')->{body}) } // {};
    for my $u (@{ $j->{upstreams} // [] }) {
        return $u->{servers} if $u->{name} eq $name;
    }
    return [];
}

is_deeply([ sort map { $_->{server} } @{ status_servers('multi') } ],
          [ sort "127.0.0.1:$p1", "127.0.0.2:$p1", "[::1]:$p1" ],
          'status page: upstream multi has three servers, one per address');
is_deeply([ sort map { "$_->{server} $_->{weight}" }
                 @{ status_servers('weighted') } ],
          [ sort "127.0.0.1:$p1 2", "127.0.0.2:$p1 2", "[::1]:$p1 2",
                 '127.0.0.1:' . $f->port(4) . ' 1' ],
          '... weight 2 on each address of the name');

{
    my $m = http_get($port, '/metrics')->{body} // '';
    my @s = $m =~ /^ferry_upstream_server_requests_total\{upstream="multi",
                   server="([^"]+)"/xmg;
    is_deeply([ sort @s ],
              [ sort "127.0.0.1:$p1", "127.0.0.2:$p1", "[::1]:$p1" ],
              'Prometheus: one series per address') or diag($m);
}

# ---- stream: upstream and proxy_pass -----------------------------------

for my $s ([2, 'upstream { server multi.test:PORT; }'],
           [6, 'proxy_pass multi.test:PORT']) {
    my %seen;
    $seen{ stream_line($f->port($s->[0])) }++ for 1 .. 6;
    is_deeply(\%seen, { '127.0.0.1' => 2, '127.0.0.2' => 2, '::1' => 2 },
              "stream $s->[1]: its three addresses, in turn");
}

# ---- listen NAME:PORT: every address -----------------------------------

# What a client of $addr:$port reads first: an HTTP/1.0 request's
# response (http) or the first line (stream).
sub ask {
    my ($addr, $port, $http) = @_;
    my $s = IO::Socket::IP->new(PeerHost => $addr, PeerPort => $port,
                                Timeout => 5) or return "connect: $!";
    print $s "GET / HTTP/1.0\r\n\r\n" if $http;
    local $/;
    my $got = <$s> // '';
    return $http ? ($got =~ /\r\n\r\n(.*)\n/s)[0] // $got
                 : ($got =~ /^(.*)\n/)[0] // $got;
}

for my $a (@addrs) {
    is(ask($a, $f->port(7), 1), $a,
       "http listen multi.test:PORT: $a is listened on");
    is(ask($a, $f->port(8), 0), $a,
       "stream listen multi.test:PORT: $a is listened on");
}

# ---- reload -------------------------------------------------------------

{
    my @old = $f->worker_pids;      # the worker and the health checker
    my $n = () = $f->error_log =~ /reload done: generation/g;
    $f->write_file('conf/ferry.conf',
                   conf('location = /added { return 200 "added\n"; }'));
    kill 'HUP', $f->master_pid;
    my %old = map { $_ => 1 } @old;
    my $ok = wait_until {
        my @now = $f->worker_pids;
        (() = $f->error_log =~ /reload done: generation/g) > $n
            && @now && !grep { $old{$_} } @now;
    } 10;
    ok($ok, 'reload: new processes replace the old ones');
    is(http_get($port, '/added')->{body}, "added\n", '... with the new conf');
    is_deeply(spread('/multi/', 6), { '127.0.0.1' => 2, '127.0.0.2' => 2,
                                      '::1' => 2 },
              '... and multi.test still reaches its three addresses');
    is(join(',', map { ask($_, $f->port(7), 1) } @addrs), join(',', @addrs),
       '... and listen multi.test:PORT still listens on each address');
    my @srv = @{ status_servers('multi') };
    is(scalar @srv, 3, '... three servers on the status page');
    cmp_ok((grep { $_->{requests} >= 2 } @srv), '==', 3,
           '... each kept its counters across the reload')
        or diag(explain(\@srv));
}

$f->stop;

# ---- names that do not resolve ------------------------------------------

for my $c (
    [ "http {\n    upstream u { server nowhere.invalid:81; }\n"
      . "    server { listen 127.0.0.1:%%PORT_0%%;\n"
      . "             location / { proxy_pass http://u; } }\n}\n",
      'nowhere.invalid:81', 6, 'an upstream server' ],
    [ "http {\n    server { listen 127.0.0.1:%%PORT_0%%;\n"
      . "             location / {\n"
      . "                 proxy_pass http://nowhere.invalid:82/; } }\n}\n",
      'nowhere.invalid:82', 8, 'proxy_pass' ],
    [ "stream {\n    server { listen 127.0.0.1:%%PORT_0%%;\n"
      . "             proxy_pass nowhere.invalid:83; }\n}\n",
      'nowhere.invalid:83', 7, 'stream proxy_pass' ],
) {
    my ($text, $name, $line, $what) = @$c;
    my $g = Ferry::Test->new(conf => main_conf() . "events { }\n" . $text,
                             env => \%env);
    my ($rc, $out) = $g->run;
    isnt($rc, 0, "$what naming an unknown host: ferry does not start");
    like($out, qr/\[emerg\]\ host\ not\ found\ in\ upstream(?:\ \([^)]*\))?
                  \ "\Q$name\E"\ in\ \S+ferry\.conf:$line\b/x,
         '... "host not found in upstream" with file and line')
        or diag($out);
}

done_testing;
