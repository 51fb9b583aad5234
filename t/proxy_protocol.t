#!/usr/bin/perl
#
# t/proxy_protocol.t -- http "listen ... proxy_protocol": the PROXY
# protocol header (v1 text, v2 binary) a load balancer sends before the
# client's bytes, read before the request and before TLS; the
# $proxy_protocol_* variables; "real_ip_header proxy_protocol" for a
# trusted peer (the address and port for $remote_addr, allow/deny and
# the access log); a broken or missing header closes the connection
# unanswered; the addresses stay for the connection's later requests;
# a v2 header's TLVs in $proxy_protocol_tlv_NAME (by name, by 0xHH, the
# ssl TLV's own and its verify field; a chain that runs past its end
# dropped and logged; an unknown name a configuration error).

use strict;
use warnings;
use lib 't/lib';
use Test::More;
use Ferry::Test;
use IO::Socket::INET;
use Time::HiRes ();

plan skip_all => 'no openssl' unless grep { -x "$_/openssl" } split /:/, $ENV{PATH};
plan skip_all => 'no IO::Socket::SSL' unless eval { require IO::Socket::SSL; 1 };

my $f = Ferry::Test->new(conf => main_conf() . <<'EOF');
worker_processes 1;
events { worker_connections 64; }
http {
    log_format pp '$remote_addr|$proxy_protocol_addr|$proxy_protocol_port|$realip_remote_addr';
    access_log logs/access.log pp;
    server {
        listen 127.0.0.1:%%PORT_0%% proxy_protocol;
        listen 127.0.0.1:%%PORT_2%% ssl proxy_protocol;
        ssl_certificate cert.pem;
        ssl_certificate_key key.pem;
        location / {
            return 200 "$remote_addr:$remote_port pp=$proxy_protocol_addr:$proxy_protocol_port to=$proxy_protocol_server_addr:$proxy_protocol_server_port\n";
        }
    }
    server {
        listen 127.0.0.1:%%PORT_1%% proxy_protocol;
        set_real_ip_from 127.0.0.1;
        real_ip_header proxy_protocol;
        location / {
            return 200 "$remote_addr:$remote_port peer=$realip_remote_addr\n";
        }
        location /deny {
            deny 192.0.2.66;
            root html;          # no such file: 404 when allowed
        }
        location /tlv {
            return 200 "[$proxy_protocol_tlv_alpn|$proxy_protocol_tlv_authority|$proxy_protocol_tlv_0xEA|$proxy_protocol_tlv_0xea|$proxy_protocol_tlv_unique_id|$proxy_protocol_tlv_ssl_version|$proxy_protocol_tlv_ssl_cn|$proxy_protocol_tlv_ssl_verify|$proxy_protocol_tlv_ssl_0x25|$remote_addr]\n";
        }
    }
    server {
        listen 127.0.0.1:%%PORT_3%%;
        location / {
            return 200 "plain [$proxy_protocol_addr]\n";
        }
    }
}
EOF
my $conf = $f->prefix . '/conf';
sh("cd $conf && openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256"
   . " -nodes -keyout key.pem -out cert.pem -days 2 -subj '/CN=pp.test'"
   . " 2>/dev/null");
$f->allow_log(qr/broken header|timed out while reading PROXY|broken PROXY protocol TLV/);
$f->start or BAIL_OUT('ferry did not start');
my ($p0, $p1, $p2, $p3) = map { $f->port($_) } 0 .. 3;

my $get = "GET / HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n";
my $v1 = "PROXY TCP4 203.0.113.7 198.51.100.1 40001 443\r\n";

# ---- v1 ----
my $r = http($p0, $v1 . $get);
is($r->{status}, 200, 'v1 header: the request behind it is answered');
is($r->{body}, "127.0.0.1:" . ($r->{body} =~ /^127\.0\.0\.1:(\d+)/)[0]
               . " pp=203.0.113.7:40001 to=198.51.100.1:443\n",
   'v1: $proxy_protocol_* set, $remote_addr still the peer');

# v1 TCP6, and the header split over two writes
{
    my $c = Ferry::Test::Client->new($p0, timeout => 5);
    $c->send("PROXY TCP6 2001:db8::5 2001:db8::1 5");
    Time::HiRes::sleep(0.2);
    $c->send("1000 8443\r\n" . $get);
    $r = $c->read_response;
    $c->close;
    like($r->{body} // '', qr/ pp=2001:db8::5:51000 to=2001:db8::1:8443\n$/,
         'v1 TCP6, the header in two pieces');
}

# UNKNOWN: the variables are empty
$r = http($p0, "PROXY UNKNOWN\r\n" . $get);
like($r->{body} // '', qr/ pp=: to=:\n$/, 'v1 UNKNOWN: empty variables');

# ---- v2 ----
sub v2 {
    my ($cmd, $fam, $addrs) = @_;
    return "\r\n\r\n\0\r\nQUIT\n" . chr(0x20 | $cmd) . chr($fam)
           . pack('n', length $addrs) . $addrs;
}
my $v2_4 = v2(1, 0x11, pack('C4 C4 n n', 192, 0, 2, 9, 192, 0, 2, 1,
                            50000, 80));
$r = http($p0, $v2_4 . $get);
like($r->{body} // '', qr/ pp=192\.0\.2\.9:50000 to=192\.0\.2\.1:80\n$/,
     'v2 TCP over IPv4');
my $v2_6 = v2(1, 0x21, pack('H32 H32 n n', '20010db8000000000000000000000009',
                            '20010db8000000000000000000000001', 1234, 443));
$r = http($p0, $v2_6 . $get);
like($r->{body} // '', qr/ pp=2001:db8::9:1234 to=2001:db8::1:443\n$/,
     'v2 TCP over IPv6');
$r = http($p0, v2(0, 0, '') . $get);
like($r->{body} // '', qr/ pp=: to=:\n$/, 'v2 LOCAL: empty variables');

# ---- TLVs ----
{
    sub tlv { my ($t, $v) = @_; chr($t) . pack('n', length $v) . $v }
    my $addrs = pack('C4 C4 n n', 192, 0, 2, 9, 192, 0, 2, 1, 50000, 80);
    my $ssl = tlv(0x20, "\x07" . pack('N', 20) . tlv(0x21, 'TLSv1.3')
                        . tlv(0x22, 'client.example') . tlv(0x25, 'EC256'));
    my $tlvs = tlv(0x01, 'h2') . tlv(0x02, 'example.com')
               . tlv(0xEA, 'vpce-0123') . $ssl;
    my $tget = "GET /tlv HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n";
    $r = http($p1, v2(1, 0x11, $addrs . $tlvs) . $tget);
    is($r->{body}, "[h2|example.com|vpce-0123|vpce-0123||TLSv1.3|client.example|20|EC256|192.0.2.9]\n",
       'v2 TLVs: alpn, authority, 0xEA (any case), a missing unique_id '
       . 'empty, the ssl TLV\'s version, cn, verify field and 0x25');
    $r = http($p1, v2(1, 0x21, pack('H32 H32 n n',
                                    '20010db8000000000000000000000009',
                                    '20010db8000000000000000000000001', 1, 2)
                               . tlv(0x02, 'six.example')) . $tget);
    like($r->{body}, qr/^\[\|six\.example\|/, '... after IPv6 addresses');
    $r = http($p1, $v1 . $tget);
    is($r->{body}, "[|||||||||203.0.113.7]\n", '... all empty over v1');
    $r = http($p1, v2(1, 0x11, $addrs . tlv(0x02, 'ok') . "\x01\x00\x09ab")
                   . $tget);
    is($r->{body}, "[|||||||||192.0.2.9]\n",
       'a TLV that runs past the header\'s end: the TLVs dropped, the '
       . 'addresses kept');
    like($f->error_log, qr/\[error\] .*broken PROXY protocol TLV/, '... logged');
}

# ---- kept for the connection's later requests ----
{
    my $ka = "GET / HTTP/1.1\r\nHost: x\r\n\r\n";
    my ($res, $closed) = http_keepalive($p0, [$v1 . $ka, $ka]);
    is(scalar @$res, 2, 'keep-alive: two answers');
    like($res->[1]{body} // '', qr/ pp=203\.0\.113\.7:40001 /,
         'keep-alive: the second request still has the header\'s address');
}

# ---- real_ip_header proxy_protocol ----
$r = http($p1, $v1 . $get);
is($r->{body}, "203.0.113.7:40001 peer=127.0.0.1\n",
   'real_ip_header proxy_protocol: $remote_addr and $remote_port');
$r = http($p1, "PROXY TCP4 192.0.2.66 198.51.100.1 1 443\r\n"
               . "GET /deny HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n");
is($r->{status}, 403, 'deny applies to the address of the header');
$r = http($p1, "PROXY TCP4 192.0.2.67 198.51.100.1 1 443\r\n"
               . "GET /deny HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n");
is($r->{status}, 404, '... another address is allowed');
$r = http($p1, "PROXY UNKNOWN\r\n" . $get);
like($r->{body} // '', qr/^127\.0\.0\.1:\d+ peer=127\.0\.0\.1\n$/,
     'UNKNOWN: the peer\'s address stays');
ok(wait_until { (Ferry::Test::read_file($f->prefix . '/logs/access.log') // '')
                =~ /^203\.0\.113\.7\|203\.0\.113\.7\|40001\|127\.0\.0\.1$/m },
   'access log: $remote_addr, $proxy_protocol_addr, _port, the peer');

# ---- TLS behind the header ----
{
    my $s = IO::Socket::INET->new(PeerAddr => '127.0.0.1', PeerPort => $p2,
                                  Timeout => 5);
    syswrite $s, $v1;
    my $ok = IO::Socket::SSL->start_SSL($s, SSL_verify_mode => 0,
                                        SSL_hostname => 'pp.test',
                                        Timeout => 5);
    ok($ok, 'ssl proxy_protocol: the TLS handshake after the header')
        or diag(IO::Socket::SSL::errstr());
    my $body = '';
    if ($ok) {
        print $s $get;
        local $/;
        my $all = <$s> // '';
        ($body) = $all =~ /\r\n\r\n(.*)$/s;
        close $s;
    }
    like($body // '', qr/ pp=203\.0\.113\.7:40001 /,
         'ssl proxy_protocol: $proxy_protocol_addr over TLS');
}

# ---- a missing or broken header: closed, unanswered ----
$r = http($p0, $get, timeout => 5);
ok($r->{error} && $r->{raw} eq '', 'no header: closed without an answer');
ok(wait_until { $f->error_log =~ /broken header: "GET \/ HTTP\/1\.1\.\.Host:/ },
   '... logged as a broken header, with its first bytes');
$r = http($p0, "PROXY TCP4 999.1.1.1 198.51.100.1 1 2\r\n" . $get);
ok($r->{error} && $r->{raw} eq '', 'a bad address in the header: closed');

# ---- a reload: a kept connection that began with a header is not
# handed to the new worker (its header is not there to read again):
# closed while idle; a new one is served by the new worker ----
{
    my $c = Ferry::Test::Client->new($p0, timeout => 5);
    $c->send($v1 . "GET / HTTP/1.1\r\nHost: x\r\n\r\n");
    my $first = $c->read_response;
    like($first->{body} // '', qr/ pp=203\.0\.113\.7:40001 /,
         'before a reload: a kept connection with a header');
    my @old = $f->worker_pids;
    kill 'HUP', $f->master_pid;
    ok(wait_until(sub {
           my @now = $f->worker_pids;
           @now && !grep { my $o = $_; grep { $_ == $o } @now } @old;
       }, 10), 'reload: the old worker is gone');
    ok($c->wait_close(5), '... and the idle connection was closed, not '
                          . 'handed over');
    $c->close;
    like(http($p0, $v1 . $get)->{body} // '', qr/ pp=203\.0\.113\.7:40001 /,
         '... a new connection is served with its header');
}

# ---- a listen without it: no header read, empty variable ----
is(http($p3, $get)->{body}, "plain []\n",
   'without proxy_protocol: the request is read at once');

$f->stop;

# ---- configuration ----
http_conf_refused(<<'EOF', 'invalid parameter "proxy_protocl" in "listen" in \S+ferry.conf:6',
    server { listen 127.0.0.1:1 proxy_protocl; }
EOF
                  'a misspelt parameter');
http_conf_refused(<<'EOF', 'unknown PROXY protocol TLV "ssl_bogus" in \S+ferry.conf:7',
    server { listen 127.0.0.1:1 proxy_protocol;
             location / { return 200 $proxy_protocol_tlv_ssl_bogus; } }
EOF
                  'a TLV name nginx does not know');
http_conf_refused(<<'EOF', 'unknown PROXY protocol TLV "0x100" in \S+ferry.conf:6',
    server { listen 127.0.0.1:1 proxy_protocol; return 200 $proxy_protocol_tlv_0x100; }
EOF
                  'a type past 0xFF');

done_testing;
