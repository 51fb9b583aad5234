#!/usr/bin/perl

# stream "proxy_pass $var" whose value names no upstream, as nginx's
# stream proxy does: an ADDRESS:PORT made at run time
# ($remote_addr:PORT) is connected to straight away; a NAME:PORT is
# asked of the server's resolver (dnsmasq here, a real DNS server) while
# the session waits; no resolver, a name that does not exist and a
# value without a port end the session (502 in the log, nginx's lines).
# A UDP session takes an address, and waits for a name too, holding the
# datagrams that come meanwhile (up to proxy_buffer_size bytes; a DNS
# relay in the test holds the answer until told, so that they surely
# come while it waits); no answer within resolver_timeout ends it as
# nginx's does.  The old binary refused these values ("no
# upstream ... for proxy_pass"), and names for UDP sessions ("not
# resolved yet for a UDP session").  With proxy_ssl, the host the value
# gives (a name resolved at run time, or an address) is what the
# server's certificate is verified against and the SNI name, as nginx's,
# unless proxy_ssl_name says otherwise.

use strict;
use warnings;

use Test::More;
use IO::Socket::INET;
use IO::Select;
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
    server {
        listen 127.0.0.1:%%PORT_9%% udp;
        resolver 127.0.0.1:%%PORT_5%%;
        set $name backend.test;
        proxy_pass $name:%%PORT_8%%;
        proxy_responses 1;
    }
    server {
        listen 127.0.0.1:%%PORT_10%% udp;
        resolver 127.0.0.1:%%PORT_5%%;
        set $name nowhere.test;
        proxy_pass $name:%%PORT_8%%;
    }
    server {
        listen 127.0.0.1:%%PORT_11%% udp;
        access_log logs/held.log held;
        resolver 127.0.0.1:%%PORT_12%%;
        set $name backend.test;
        proxy_pass $name:%%PORT_8%%;
        proxy_buffer_size 1k;
        proxy_timeout 1s;
    }
    server {
        listen 127.0.0.1:%%PORT_13%% udp;
        resolver 127.0.0.1:%%PORT_14%%;
        resolver_timeout 1s;
        set $name backend.test;
        proxy_pass $name:%%PORT_8%%;
    }
    log_format held '$status $bytes_received $upstream_bytes_sent';
}
EOF

# the backends: TCP says hello with the line it got, UDP echoes
tcp_server($f->port(4), sub {
    my $c = shift;
    my ($line, $ch) = ('', '');
    while (sysread($c, $ch, 1)) { $line .= $ch; last if $ch eq "\n"; }
    syswrite $c, "backend got $line";
});
# (what it got, one line per datagram, for the checks)
my $echoed = $f->prefix . '/echoed';
udp_server($f->port(8), sub {
    my ($d) = @_;
    open my $fh, '>>', $echoed or die;
    print $fh (length $d > 64 ? 'long' : $d), "\n";
    close $fh;
    return "echo $d";
});

my $hosts = $f->write_file('hosts', "127.0.0.1 backend.test\n127.0.0.1 wrong.test\n");
ok(dnsmasq_server($f->port(5), $hosts, $f->prefix . '/dnsmasq.log', 1),
   'dnsmasq answers');

# A DNS relay to dnsmasq that holds ferry's questions until a datagram
# "go" comes, then passes them (and any after) on.
sub gated_dns {
    my ($port, $to) = @_;
    my $s = IO::Socket::INET->new(LocalAddr => "127.0.0.1:$port",
                                  Proto => 'udp') or die "udp $port: $!";
    my $up = IO::Socket::INET->new(PeerAddr => "127.0.0.1:$to",
                                   Proto => 'udp') or die "udp $to: $!";
    my $pid = fork // die;
    if ($pid) {
        push @kids, $pid;
        return;
    }
    my ($go, @held, %asker) = (0);
    my $sel = IO::Select->new($s, $up);
    for (;;) {
        for my $h ($sel->can_read) {
            if ($h == $up) {
                defined $up->recv(my $a, 4096) or next;
                my $peer = $asker{unpack 'n', $a};
                $s->send($a, 0, $peer) if $peer;
                next;
            }
            my $peer = $s->recv(my $q, 4096);
            next unless defined $peer && length $q >= 2;
            if ($q eq 'go') {
                $go = 1;
            } else {
                $asker{unpack 'n', $q} = $peer;
                push @held, $q;
            }
            $up->send(shift @held) while $go && @held;
        }
    }
}
gated_dns($f->port(12), $f->port(5));
gated_dns($f->port(14), $f->port(5));      # never told: resolver_timeout

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
my $p8 = $f->port(8);

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

sub udp_client {
    return IO::Socket::INET->new(PeerAddr => '127.0.0.1:' . $_[0],
                                 Proto => 'udp') || die "udp: $!";
}
# The next datagram the socket gets within 5 s, or ''.
sub udp_answer {
    my ($u) = @_;
    my $got = '';
    $u->recv($got, 2048) if IO::Select->new($u)->can_read(5);
    return $got;
}
sub echoed { Ferry::Test::read_file($echoed) // '' }

{
    my $u = udp_client($f->port(9));
    $u->send("ping9");
    is(udp_answer($u), 'echo ping9',
       'UDP: a name resolved through dnsmasq while the session waits, '
       . 'the first datagram proxied');
    ok(logged($f->port(9), qr/200 127\.0\.0\.1:$p8/), '... $upstream_addr the address');
}

{
    my $p10 = $f->port(10);
    udp_client($p10)->send("lost10");
    ok(logged($p10, qr/502 -?/), 'UDP: a name that does not exist: 502 in the log');
    like($f->error_log, qr/\[error\] .*nowhere\.test could not be resolved \(3: Host not found\), client: 127\.0\.0\.1, server: 127\.0\.0\.1:$p10/,
         '... nginx\'s line');
    unlike(echoed(), qr/^lost10$/m, '... nothing proxied');
}

{
    # held while the relay holds the answer: "one" (made the session),
    # "two" (within proxy_buffer_size 1k), 2000 bytes (over it: dropped)
    my $p11 = $f->port(11);
    my $u = udp_client($p11);
    $u->send($_) for 'one', 'two', 'x' x 2000;
    ok((wait_until { $f->error_log =~ /\[info\] .*a datagram over proxy_buffer_size dropped while resolving, client: 127\.0\.0\.1, server: 127\.0\.0\.1:$p11/ } 10),
       'UDP: a datagram over proxy_buffer_size while the session waits: dropped, logged');
    unlike(echoed(), qr/^(?:one|two)$/m, '... nothing proxied before the answer');
    udp_client($f->port(12))->send('go');
    is(udp_answer($u), 'echo one', '... once resolved, the first datagram proxied');
    is(udp_answer($u), 'echo two', '... then the next one held, in order');
    my $held = $f->prefix . '/logs/held.log';
    ok((wait_until { (Ferry::Test::read_file($held) // '') =~ /^200 2006 6$/m } 10),
       '... all three counted, the two held sent ($bytes_received, $upstream_bytes_sent)');
    unlike(echoed(), qr/^long$/m, '... the dropped one never sent');
}

{
    my $p13 = $f->port(13);
    udp_client($p13)->send('late13');
    ok(logged($p13, qr/502 -?/), 'UDP: no answer within resolver_timeout: 502 in the log');
    like($f->error_log, qr/\[error\] .*backend\.test could not be resolved \(110: Operation timed out\), client: 127\.0\.0\.1, server: 127\.0\.0\.1:$p13/,
         '... nginx\'s line');
    unlike(echoed(), qr/^late13$/m, '... the datagram held never sent');
}

$f->stop;

# ---- proxy_ssl to a server proxy_pass $var names ----
SKIP: {
    skip 'no openssl or IO::Socket::SSL', 9
        unless grep({ -x "$_/openssl" } split /:/, $ENV{PATH})
               && eval { require IO::Socket::SSL; 1 };
    (my $conf = <<'EOF') =~ s/DNS_PORT/${\ $f->port(5)}/g;
worker_processes 1;
events { worker_connections 64; }
stream {
    resolver 127.0.0.1:DNS_PORT;
    proxy_ssl on;
    proxy_ssl_verify on;
    proxy_ssl_trusted_certificate backend.crt;
    proxy_ssl_server_name on;
    server {
        listen 127.0.0.1:%%PORT_0%%;
        set $name backend.test;
        proxy_pass $name:%%PORT_1%%;
    }
    server {
        listen 127.0.0.1:%%PORT_2%%;
        set $name wrong.test;
        proxy_pass $name:%%PORT_1%%;
    }
    server {
        listen 127.0.0.1:%%PORT_3%%;
        set $name wrong.test;
        proxy_pass $name:%%PORT_1%%;
        proxy_ssl_name backend.test;
    }
    server {
        listen 127.0.0.1:%%PORT_4%%;
        proxy_pass $remote_addr:%%PORT_1%%;
    }
}
EOF
    my $g = Ferry::Test->new(conf => main_conf() . $conf);
    my $d = $g->prefix . '/conf';
    # self-signed, trusted as it is: a name and an address
    sh("cd $d && openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256"
       . " -nodes -keyout backend.key -out backend.crt -days 2 -subj '/CN=backend.test'"
       . " -addext subjectAltName=DNS:backend.test,IP:127.0.0.1 2>/dev/null");
    # a TLS server that says the SNI name it got, then echoes a line
    tcp_server($g->port(1), sub {
        my $c = IO::Socket::SSL->start_SSL($_[0], SSL_server => 1,
                                           SSL_cert_file => "$d/backend.crt",
                                           SSL_key_file => "$d/backend.key")
            or return;
        syswrite $c, 'sni=' . (Net::SSLeay::get_servername($c->_get_ssl_object) // '-') . "\n";
        my $l = <$c>;
        syswrite $c, "got $l" if defined $l;
    });
    $g->allow_log(qr/while SSL handshaking to upstream/);
    $g->start or BAIL_OUT('ferry did not start');

    # the server's first line, and its echo of ours
    my $tls = sub {
        my $s = IO::Socket::INET->new(PeerAddr => '127.0.0.1:' . $g->port($_[0]),
                                      Timeout => 5) or return "connect: $!";
        my ($all, $b) = ('');
        my $sel = IO::Select->new($s);
        while ($sel->can_read(8)) {
            last unless sysread($s, $b, 4096);
            $all .= $b;
            syswrite $s, "hello\n" if $all =~ /^sni=[^\n]*\n\z/;
        }
        close $s;
        return $all;
    };

    is($tls->(0), "sni=backend.test\ngot hello\n",
       'proxy_ssl, a name resolved at run time: verified against it, SNI the name');
    is($tls->(2), '', 'a name the certificate does not have: closed');
    like($g->error_log, qr/\[error\] .*upstream SSL certificate does not match "wrong\.test" while SSL handshaking to upstream/,
         '... logged with the name');
    is($tls->(3), "sni=backend.test\ngot hello\n",
       '... proxy_ssl_name given: that name verified and sent instead');
    is($tls->(4), "sni=-\ngot hello\n",
       'proxy_ssl, an address made at run time: verified against the address, no SNI');
    # each session's own upstream keeps no TLS session: none leaks
    # (the sanitizer build), a second one still verified
    is($tls->(0), "sni=backend.test\ngot hello\n", 'a second session to the name');
    is($tls->(4), "sni=-\ngot hello\n", 'a second session to the address');
    $g->stop;
}

done_testing;
