#!/usr/bin/perl

# stream set_real_ip_from (nginx's stream realip module): behind a
# trusted load balancer that sends the PROXY protocol, the client is
# the header's address and port: $remote_addr, $remote_port, allow/deny
# and the PROXY line ferry sends on all see it, $realip_remote_addr and
# $realip_remote_port keep the balancer's; an untrusted peer, or a
# header without an address (UNKNOWN), changes nothing.  A version 2
# header's TLVs in $proxy_protocol_tlv_NAME, as http's.  Configuration
# errors with file and line.

use strict;
use warnings;

use Test::More;
use Ferry::Test;
use IO::Socket::INET;
use IO::Select;

my $f = Ferry::Test->new(conf => main_conf() . <<'EOF');
worker_processes 1;
events { worker_connections 64; }
stream {
    log_format r '$server_port $remote_addr $remote_port '
                 '$realip_remote_addr $realip_remote_port $status';
    access_log logs/r.log r;
    server {
        listen 127.0.0.1:%%PORT_0%% proxy_protocol;
        set_real_ip_from 127.0.0.1;
        proxy_protocol on;
        proxy_pass 127.0.0.1:%%PORT_4%%;
    }
    server {
        listen 127.0.0.1:%%PORT_1%% proxy_protocol;
        set_real_ip_from 10.0.0.0/8;
        return "$remote_addr|$realip_remote_addr\n";
    }
    server {
        listen 127.0.0.1:%%PORT_2%% proxy_protocol;
        set_real_ip_from 127.0.0.0/24;
        deny 10.9.9.9;
        allow all;
        return "in $remote_addr:$remote_port\n";
    }
    server {
        listen 127.0.0.1:%%PORT_3%% proxy_protocol;
        return "[$proxy_protocol_tlv_authority|$proxy_protocol_tlv_0xea|$proxy_protocol_tlv_ssl_cn|$proxy_protocol_tlv_alpn]\n";
    }
}
EOF
# the backend answers with the PROXY line it got
tcp_server($f->port(4), sub {
    my $c = shift;
    my ($line, $ch) = ('', '');
    while (sysread($c, $ch, 1)) { $line .= $ch; last if $ch eq "\n"; }
    syswrite $c, "got: $line";
});
$f->start or do { done_testing; exit };

# send $pp and a line to $port; everything before the close
sub talk {
    my ($port, $pp) = @_;
    my $s = IO::Socket::INET->new(PeerAddr => "127.0.0.1:$port", Timeout => 5)
        or die;
    syswrite $s, $pp . "hello\n";
    my ($all, $b) = ('');
    my $sel = IO::Select->new($s);
    while ($sel->can_read(5)) {
        my $n = sysread($s, $b, 65536);
        last if !$n;
        $all .= $b;
    }
    close $s;
    return $all;
}
my $pp = "PROXY TCP4 10.1.2.3 127.0.0.1 5555 80\r\n";

like(talk($f->port(0), $pp), qr/^got: PROXY TCP4 10\.1\.2\.3 127\.0\.0\.1 5555 \d+\r\n\z/,
     'trusted peer: the PROXY line sent on carries the client from the '
     . 'header');
my $log = $f->prefix . '/logs/r.log';
my $p0 = $f->port(0);
ok((wait_until { (Ferry::Test::read_file($log) // '') =~ /^$p0 / } 5),
   'the session logged');
like(Ferry::Test::read_file($log) // '',
     qr/^$p0 10\.1\.2\.3 5555 127\.0\.0\.1 \d+ 200$/m,
     '$remote_addr and $remote_port from the header, '
     . '$realip_remote_addr and _port the peer\'s');

is(talk($f->port(1), $pp), "127.0.0.1|127.0.0.1\n",
   'an untrusted peer: the header does not replace the client');

is(talk($f->port(2), $pp), "in 10.1.2.3:5555\n",
   'a trusted peer in a CIDR: allowed as the header\'s client');
is(talk($f->port(2), "PROXY TCP4 10.9.9.9 127.0.0.1 7777 80\r\n"), '',
   'deny of the header\'s client: closed');
my $p2 = $f->port(2);
ok((wait_until { (Ferry::Test::read_file($log) // '') =~ /^$p2 10\.9\.9\.9 7777 127\.0\.0\.1 \d+ 403$/m } 5),
   '... 403 in the log, with the header\'s client');
like(talk($f->port(2), "PROXY UNKNOWN\r\n"), qr/^in 127\.0\.0\.1:\d+\n\z/,
     'a header without an address (UNKNOWN): the peer stays the client');

{
    sub tlv { my ($t, $v) = @_; chr($t) . pack('n', length $v) . $v }
    my $body = pack('C4 C4 n n', 192, 0, 2, 9, 192, 0, 2, 1, 50000, 80)
               . tlv(0x02, 'db.example') . tlv(0xEA, 'vpce-9')
               . tlv(0x20, "\x07" . pack('N', 0) . tlv(0x22, 'cli'));
    my $v2 = "\r\n\r\n\0\r\nQUIT\n" . chr(0x21) . chr(0x11)
             . pack('n', length $body) . $body;
    is(talk($f->port(3), $v2), "[db.example|vpce-9|cli|]\n",
       '$proxy_protocol_tlv_NAME in stream: authority, 0xEA, the ssl '
       . 'TLV\'s cn, a missing one empty');
    is(talk($f->port(3), $pp), "[|||]\n", '... empty over version 1');
}

$f->stop;

conf_refused("stream {\n    set_real_ip_from 10.0.0.0/33;\n}\n",
             qr/\S+ferry\.conf:6/, 'set_real_ip_from with a bad mask');
conf_refused("stream {\n    server {\n        listen 127.0.0.1:%%PORT_0%%;\n"
             . "        set_real_ip_from nowhere;\n        return x;\n"
             . "    }\n}\n",
             qr/\S+ferry\.conf:8/, 'set_real_ip_from with no address');
conf_refused("stream {\n    server {\n        listen 127.0.0.1:%%PORT_0%%;\n"
             . "        return \$proxy_protocol_tlv_bogus;\n    }\n}\n",
             qr/unknown PROXY protocol TLV "bogus" in \S+ferry\.conf:8/,
             'an unknown TLV name');

done_testing;
