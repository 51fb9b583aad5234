#!/usr/bin/perl

# stream { listen ... udp }: datagram sessions, as nginx's stream proxy.
# Real UDP sockets on 127.0.0.1: echo backends (forked, they answer
# "NAME:" and the datagram) and clients; through ferry: datagrams intact
# both ways (8 KiB too), round robin across sessions, proxy_responses
# ending a session after its answer, proxy_timeout ending an idle one,
# a dead backend (ICMP port unreachable) ending one with 502, the access
# log line per session ($protocol UDP, bytes both ways), a reload keeping
# the UDP listener, a real DNS query (dig through ferry to dnsmasq),
# TCP and UDP on one port, and the configuration errors.

use strict;
use warnings;

use Test::More;
use Ferry::Test;
use IO::Socket::INET;
use IO::Select;
use POSIX ();

my @kids;

# A UDP echo server on $port, bound before the fork so it is ready.
sub udp_echo {
    my ($port, $name) = @_;
    my $s = IO::Socket::INET->new(LocalAddr => "127.0.0.1:$port",
                                  Proto => 'udp')
        or die "udp bind $port: $!\n";
    my $pid = fork // die "fork: $!\n";
    if ($pid == 0) {
        my $d;
        while (1) {
            my $peer = $s->recv($d, 65536);
            next unless defined $peer;
            $s->send("$name:$d", 0, $peer);
        }
        POSIX::_exit(0);
    }
    close $s;
    push @kids, $pid;
}

END { local $?; kill "KILL", @kids if @kids; waitpid $_, 0 for @kids; }

sub client {
    my $port = shift;
    my $s = IO::Socket::INET->new(PeerAddr => "127.0.0.1:$port",
                                  Proto => 'udp');
    die "udp: $!\n" unless $s;
    return $s;
}

# Send one datagram on $s, return the answer (undef: none in 5 s).
sub ask {
    my ($s, $data) = @_;
    my $d;
    $s->send($data) or return undef;
    return undef unless IO::Select->new($s)->can_read(5);
    return defined $s->recv($d, 65536) ? $d : undef;
}

my $f = Ferry::Test->new(conf => main_conf() . <<'EOF');
worker_processes 1;
events { worker_connections 256; }
stream {
    log_format u '$server_port $protocol $status $remote_port '
                 '"$upstream_addr" $bytes_sent $bytes_received '
                 '$upstream_bytes_sent $upstream_bytes_received';
    access_log logs/udp.log u;

    upstream two { server 127.0.0.1:%%PORT_1%%; server 127.0.0.1:%%PORT_2%%; }

    server {
        listen 127.0.0.1:%%PORT_0%% udp;
        proxy_pass two;
        proxy_responses 1;
    }
    server {
        listen 127.0.0.1:%%PORT_3%% udp;
        proxy_pass 127.0.0.1:%%PORT_1%%;
        proxy_timeout 300ms;
    }
    server {
        listen 127.0.0.1:%%PORT_4%% udp;
        proxy_pass 127.0.0.1:%%PORT_5%%;
    }
    server {
        listen 127.0.0.1:%%PORT_6%% udp;
        proxy_pass 127.0.0.1:%%PORT_1%%;
        proxy_requests 2;
        proxy_responses 1;
    }
}
EOF
udp_echo($f->port(1), 'A');
udp_echo($f->port(2), 'B');
$f->port(5);        # nothing listens there
$f->start or do { done_testing; exit };

my $log = $f->prefix . '/logs/udp.log';
sub log_lines { grep { /^\Q$_[0]\E / }
                split /\n/, Ferry::Test::read_file($log) // '' }

# ---- both ways, intact; round robin across sessions ----
my %seen;
for my $i (1 .. 4) {
    my $c = client($f->port(0));
    my $a = ask($c, "hello $i");
    ok(defined $a && $a =~ /^([AB]):hello $i\z/,
       "datagram $i answered through ferry") or diag explain $a;
    $seen{$1}++ if defined $a && $a =~ /^([AB]):/;
}
is_deeply(\%seen, { A => 2, B => 2 },
          'four sessions: round robin over the two servers');

# ---- proxy_responses 1: one answer ends the session ----
{
    my $c = client($f->port(0));
    my $port = $c->sockport;
    like(ask($c, 'one'), qr/^[AB]:one\z/, 'proxy_responses: first answer');
    like(ask($c, 'two'), qr/^[AB]:two\z/,
         'proxy_responses: the next datagram, a new session, answered');
    my @l;
    ok((wait_until { @l = grep { / $port / } log_lines($f->port(0));
                     scalar(@l) == 2 } 10),
       'proxy_responses 1: two sessions logged for one client')
        or diag explain [log_lines($f->port(0))];
    like($l[0] // '', qr/^\d+ UDP 200 $port "127\.0\.0\.1:\d+" 5 3 3 5$/,
         'the log line: UDP, 200, bytes both ways');
}

# ---- proxy_timeout: an idle session ends, one line for it all ----
{
    my $c = client($f->port(3));
    my $port = $c->sockport;
    is(ask($c, 'x'), 'A:x', 'proxy_timeout server: first datagram');
    is(ask($c, 'yz'), 'A:yz', 'proxy_timeout server: second, same session');
    my @l;
    ok((wait_until { @l = grep { / $port / } log_lines($f->port(3));
                     scalar(@l) >= 1 } 10),
       'proxy_timeout: the idle session ended');
    is(scalar @l, 1, 'proxy_timeout: one session for both datagrams');
    like($l[0] // '', qr/ UDP 200 $port "127\.0\.0\.1:\d+" 7 3 3 7$/,
         'proxy_timeout: logged with the bytes of both datagrams');
    like($f->error_log, qr/\[info\].*udp timed out, client: 127\.0\.0\.1, server: 127\.0\.0\.1:${\ $f->port(3)}/,
         'proxy_timeout: "udp timed out" in the error log');
}

# ---- 8 KiB datagrams ----
{
    my $c = client($f->port(3));
    my $big = join '', map { chr(($_ * 7) % 256) } 1 .. 8192;
    my $a = ask($c, $big);
    ok(defined $a && $a eq "A:$big", '8 KiB datagram intact both ways')
        or diag length($a // '');
}

# ---- proxy_requests 2: two datagrams per session ----
{
    my $c = client($f->port(6));
    my $port = $c->sockport;
    is(ask($c, $_), "A:$_", "proxy_requests: datagram $_") for 1 .. 4;
    my @l;
    ok((wait_until { @l = grep { / $port / } log_lines($f->port(6));
                     scalar(@l) == 2 } 10),
       'proxy_requests 2: four datagrams, two sessions')
        or diag explain [log_lines($f->port(6))];
    like($l[0] // '', qr/ UDP 200 $port "[^"]+" 6 2 2 6$/,
         'proxy_requests: each session with two datagrams each way');
}

# ---- a dead backend: ICMP port unreachable ends the session ----
{
    my $c = client($f->port(4));
    my $port = $c->sockport;
    $c->send('anyone?');
    my @l;
    ok((wait_until { @l = grep { / $port / } log_lines($f->port(4));
                     scalar(@l) == 1 } 10),
       'dead backend: the session ended');
    like($l[0] // '', qr/ UDP 502 $port "127\.0\.0\.1:\d+" 0 7 7 0$/,
         'dead backend: 502, nothing sent back');
    like($f->error_log, qr/\[error\].*recv\(\) failed while proxying UDP, client: 127\.0\.0\.1, server: 127\.0\.0\.1:${\ $f->port(4)}, upstream: "127\.0\.0\.1:${\ $f->port(5)}": Connection refused/,
         'dead backend: the error logged');
}

# ---- reload: the UDP listener keeps working ----
{
    my $c = client($f->port(3));
    is(ask($c, 'before'), 'A:before', 'reload: answered before');
    kill 'HUP', $f->master_pid;
    ok((wait_until { $f->error_log =~ /reload done: generation 2/ } 10),
       'reload: done');
    ok((wait_until { my @w = $f->worker_pids; @w == 1 } 10),
       'reload: the old worker left');
    my $d = client($f->port(3));
    is(ask($d, 'after'), 'A:after', 'reload: a new client is answered');
    is(ask($c, 'again'), 'A:again', 'reload: the earlier client too');
}

$f->stop;

# ---- two workers reading one socket: every client answered ----
{
    my $g = Ferry::Test->new(conf => main_conf() . <<'EOF');
worker_processes 2;
events { worker_connections 64; }
stream {
    server {
        listen 127.0.0.1:%%PORT_0%% udp;
        proxy_pass 127.0.0.1:%%PORT_1%%;
        proxy_responses 1;
    }
}
EOF
    udp_echo($g->port(1), 'W');
    $g->start;
    $g->wait_workers(2);
    my $n = 0;
    for my $i (1 .. 20) {
        my $a = ask(client($g->port(0)), "q$i");
        $n++ if defined $a && $a eq "W:q$i";
    }
    is($n, 20, 'two workers: 20 clients, each answered once');
    $g->stop;
}

# ---- a real DNS server and client: dnsmasq behind ferry, dig ----
SKIP: {
    my ($dig) = grep { -x } qw(/usr/bin/dig);
    skip 'dnsmasq or dig not installed (sh auto/deps --test)', 5
        unless dnsmasq_bin() && $dig;

    my $g = Ferry::Test->new(conf => main_conf() . <<'EOF');
events { worker_connections 64; }
stream {
    log_format u '$protocol $status $bytes_received $bytes_sent';
    access_log logs/dns.log u;
    server {
        listen 127.0.0.1:%%PORT_0%% udp;
        proxy_pass 127.0.0.1:%%PORT_1%%;
        proxy_responses 1;
    }
}
EOF
    my $hosts = $g->write_file('hosts', "10.1.2.3 ferry-test.example\n");
    dnsmasq_server($g->port(1), $hosts, $g->prefix . '/dnsmasq.log');
    my $ask = sub { my $p = shift;
        my $r = `$dig +short +time=2 +tries=1 -p $p \@127.0.0.1 ferry-test.example A 2>&1`;
        chomp $r; return $r };
    ok((wait_until { $ask->($g->port(1)) eq '10.1.2.3' } 10),
       'dnsmasq answers directly');
    $g->start or last SKIP;
    is($ask->($g->port(0)), '10.1.2.3', 'dig through ferry: the A record');
    my $dlog = $g->prefix . '/logs/dns.log';
    ok((wait_until { (Ferry::Test::read_file($dlog) // '')
                     =~ /^UDP 200 \d+ \d+$/m } 10),
       'the DNS query: one UDP session, 200');
    $g->stop;
}

# ---- configuration ----
{
    my $h = Ferry::Test->new(conf => main_conf() . <<'EOF');
events { }
stream {
    proxy_responses 0;
    proxy_requests 0;
    server {
        listen 127.0.0.1:%%PORT_0%%;
        listen 127.0.0.1:%%PORT_0%% udp;
        proxy_pass 127.0.0.1:53;
        proxy_responses 1;
        proxy_requests 10;
        proxy_timeout 20s;
    }
}
EOF
    my ($code, $out) = $h->run('-t');
    is($code, 0, 'ferry -t: TCP and UDP on one port, proxy_responses, '
                 . 'proxy_requests') or diag $out;

    my $srv = sub { "stream {\n    server {\n        $_[0]\n"
                    . "        proxy_pass 127.0.0.1:1;\n$_[1]    }\n}\n" };
    my @bad = (
        [ $srv->('listen 127.0.0.1:%%PORT_0%% udp ssl;', ''),
          qr/"ssl" parameter is incompatible with "udp" in \S+ferry\.conf:7/,
          'udp with ssl' ],
        [ $srv->('listen 127.0.0.1:%%PORT_0%% proxy_protocol udp;', ''),
          qr/"proxy_protocol" parameter is incompatible with "udp" in \S+ferry\.conf:7/,
          'udp with proxy_protocol' ],
        [ $srv->('listen 127.0.0.1:%%PORT_0%% udp backlog=10;', ''),
          qr/"backlog" parameter is incompatible with "udp" in \S+ferry\.conf:7/,
          'udp with backlog' ],
        [ $srv->('listen 127.0.0.1:%%PORT_0%% udp so_keepalive=on;', ''),
          qr/"so_keepalive" parameter is incompatible with "udp" in \S+ferry\.conf:7/,
          'udp with so_keepalive' ],
        [ $srv->('listen 127.0.0.1:%%PORT_0%% udp reuseport;', ''),
          qr/"reuseport" is not supported.* in \S+ferry\.conf:7/,
          'udp reuseport' ],
        [ $srv->('listen unix:/tmp/x.sock udp;', ''),
          qr/"udp" is not supported with "unix:\/tmp\/x\.sock".* in \S+ferry\.conf:7/,
          'udp on a unix socket' ],
        [ $srv->('listen 127.0.0.1:%%PORT_0%% udp;',
                 "        proxy_protocol on;\n"),
          qr/"proxy_protocol on" is not supported with "listen \.\.\. udp" in \S+ferry\.conf:7/,
          'sending a PROXY header on UDP' ],
        [ $srv->('listen 127.0.0.1:%%PORT_0%% udp;',
                 "        proxy_responses x;\n"),
          qr/proxy_responses.* in \S+ferry\.conf:9/,
          'proxy_responses not a number' ],
        [ $srv->('listen 127.0.0.1:%%PORT_0%% udp;',
                 "        proxy_requests -1;\n"),
          qr/proxy_requests.* in \S+ferry\.conf:9/,
          'proxy_requests negative' ],
        [ $srv->("listen 127.0.0.1:%%PORT_0%% udp;\n"
                 . "        listen 127.0.0.1:%%PORT_0%% udp;", ''),
          qr/duplicate "127\.0\.0\.1:\d+" address and port pair in \S+ferry\.conf:8/,
          'the same UDP address twice' ],
    );
    conf_refused(@$_) for @bad;
}

done_testing;
