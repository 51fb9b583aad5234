#!/usr/bin/perl

# stream "proxy_pass $var" whose value names no upstream, as nginx's
# stream proxy does: an ADDRESS:PORT made at run time
# ($remote_addr:PORT) is connected to straight away; a NAME:PORT is
# asked of the server's resolver (dnsmasq here, a real DNS server) while
# the session waits; no resolver, a name that does not exist and a
# value without a port end the session (502 in the log, nginx's lines);
# a UDP session takes an address.  The old binary refused these values
# ("no upstream ... for proxy_pass").

use strict;
use warnings;

use Test::More;
use IO::Socket::INET;
use IO::Select;
use POSIX ();
use Ferry::Test;

plan skip_all => 'dnsmasq not installed (sh auto/deps --test)' unless dnsmasq_bin();

my @kids;
END { kill 'TERM', @kids if @kids; }

my $f = Ferry::Test->new(conf => main_conf() . <<'EOF');
worker_processes 1;
events { worker_connections 64; }
stream {
    log_format s '$server_port $status $upstream_addr';
    access_log logs/s.log s;
    server {
        listen 127.0.0.1:%%PORT_0%%;
        proxy_pass $remote_addr:%%PORT_4%%;
    }
    server {
        listen 127.0.0.1:%%PORT_1%%;
        resolver 127.0.0.1:%%PORT_5%% valid=30s;
        set $name backend.test;
        proxy_pass $name:%%PORT_4%%;
    }
    server {
        listen 127.0.0.1:%%PORT_2%%;
        resolver 127.0.0.1:%%PORT_5%%;
        resolver_timeout 5s;
        set $name nowhere.test;
        proxy_pass $name:%%PORT_4%%;
    }
    server {
        listen 127.0.0.1:%%PORT_3%%;
        resolver 127.0.0.1:%%PORT_5%%;
        set $name backend.test;
        proxy_pass $name;
    }
    server {
        listen 127.0.0.1:%%PORT_6%%;
        set $name backend.test;
        proxy_pass $name:%%PORT_4%%;
    }
    server {
        listen 127.0.0.1:%%PORT_7%% udp;
        proxy_pass $remote_addr:%%PORT_8%%;
        proxy_responses 1;
    }
}
EOF

# the backends: TCP says hello with the line it got, UDP echoes
tcp_server($f->port(4), sub {
    my $c = shift;
    my ($line, $ch) = ('', '');
    while (sysread($c, $ch, 1)) { $line .= $ch; last if $ch eq "\n"; }
    syswrite $c, "backend got $line";
});
my $udp = IO::Socket::INET->new(LocalAddr => '127.0.0.1:' . $f->port(8),
                                Proto => 'udp') or die "udp: $!";
my $upid = fork // die;
if ($upid == 0) {
    my $buf;
    while (my $peer = $udp->recv($buf, 2048)) { $udp->send("echo $buf", 0, $peer) }
    POSIX::_exit(0);
}
push @kids, $upid;

my $hosts = $f->write_file('hosts', "127.0.0.1 backend.test\n");
ok(dnsmasq_server($f->port(5), $hosts, $f->prefix . '/dnsmasq.log', 1),
   'dnsmasq answers');

$f->allow_log(qr/could not be resolved|no resolver defined|no upstream ".*" for proxy_pass/);
$f->start or BAIL_OUT('ferry did not start');

sub talk {
    my ($port) = @_;
    my $s = IO::Socket::INET->new(PeerAddr => "127.0.0.1:$port", Timeout => 5)
        or return "connect: $!";
    syswrite $s, "hello\n";
    my ($all, $b) = ('');
    my $sel = IO::Select->new($s);
    while ($sel->can_read(8)) {
        my $n = sysread($s, $b, 4096);
        last if !$n;
        $all .= $b;
    }
    close $s;
    return $all;
}
my $log = $f->prefix . '/logs/s.log';
sub logged {
    my ($port, $re) = @_;
    return wait_until { (Ferry::Test::read_file($log) // '') =~ /^$port $re$/m } 10;
}
my $p4 = $f->port(4);

is(talk($f->port(0)), "backend got hello\n",
   'proxy_pass $remote_addr:PORT: an address made at run time, no resolver needed');
ok(logged($f->port(0), qr/200 127\.0\.0\.1:$p4/), '... logged with its address');

ok((wait_until { talk($f->port(1)) eq "backend got hello\n" } 10),
   'a name: resolved through dnsmasq, the session proxied');
ok(logged($f->port(1), qr/200 127\.0\.0\.1:$p4/), '... $upstream_addr the address');
like(Ferry::Test::read_file($f->prefix . '/dnsmasq.log') // '',
     qr/query\[A\] backend\.test from 127\.0\.0\.1/, '... dnsmasq was asked');

is(talk($f->port(2)), '', 'a name that does not exist: the session ends');
ok(logged($f->port(2), qr/502 -?/), '... 502 in the log');
like($f->error_log, qr/\[error\] .*nowhere\.test could not be resolved \(3: Host not found\)/,
     '... nginx\'s line');

is(talk($f->port(3)), '', 'a value without a port: the session ends');
like($f->error_log, qr/no upstream "backend\.test" for proxy_pass/, '... logged');

is(talk($f->port(6)), '', 'a name without a resolver: the session ends');
like($f->error_log, qr/\[error\] .*no resolver defined to resolve backend\.test/,
     '... nginx\'s line');

{
    my $u = IO::Socket::INET->new(PeerAddr => '127.0.0.1:' . $f->port(7),
                                  Proto => 'udp') or die;
    $u->send("ping");
    my $got = '';
    my $sel = IO::Select->new($u);
    $u->recv($got, 2048) if $sel->can_read(5);
    is($got, 'echo ping', 'UDP: $remote_addr:PORT made at run time');
}

$f->stop;
done_testing;
