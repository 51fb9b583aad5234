#!/usr/bin/perl

# TLS in the stream block.  Termination (listen ... ssl): clients speak
# TLS to ferry, which relays the plain bytes to a TCP backend.  Real
# sockets on 127.0.0.1: bytes intact both ways (and 1 MiB), the
# backend's close passed on as close_notify and the client's
# close_notify as a FIN (half-close), the RSA or the ECDSA certificate
# by the client's ciphers, session reuse by tickets and by the shared
# cache across two workers, $ssl_* in the access log, the handshake
# timeout, plain text on the TLS port.  TLS to the server (proxy_ssl):
# verification, SNI, session reuse, failures closed and logged.  And
# configuration errors with file and line.  Certificates are
# self-signed, made with the openssl command line in the test's prefix.

use strict;
use warnings;

use Test::More;
use Ferry::Test;
use IO::Socket::INET;
use IO::Select;

plan skip_all => 'no openssl' unless grep { -x "$_/openssl" } split /:/, $ENV{PATH};
plan skip_all => 'no IO::Socket::SSL' unless eval { require IO::Socket::SSL; 1 };

sub make_certs {
    my ($d) = @_;
    sh("cd $d && openssl req -x509 -newkey rsa:2048 -nodes -keyout rsa.key"
       . " -out rsa.crt -days 2 -subj '/CN=rsa.test'");
    sh("cd $d && openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256"
       . " -nodes -keyout ec.key -out ec.crt -days 2 -subj '/CN=ec.test'");
}

sub raw_echo {
    my $c = shift;
    my $b;
    while ((my $n = sysread($c, $b, 65536))) {
        my $off = 0;
        while ($off < $n) {
            my $w = syswrite($c, $b, $n - $off, $off) or return;
            $off += $w;
        }
    }
}

# reads 1 MiB, then sends it back
sub mib_back {
    my $c = shift;
    my ($all, $b) = ('');
    while (length($all) < 1 << 20 && sysread($c, $b, 65536)) { $all .= $b; }
    my $off = 0;
    while ($off < length $all) {
        my $w = syswrite($c, $all, length($all) - $off, $off) or return;
        $off += $w;
    }
}

# says "bye" and closes
sub bye { syswrite $_[0], "bye\n"; }

# reads to the client's FIN, then answers with what it got
sub after_fin {
    my $c = shift;
    my ($b, $all) = ('', '');
    while (sysread($c, $b, 65536)) { $all .= $b; }
    syswrite $c, "got " . length($all) . " bytes: $all";
}

sub tls_connect {
    my ($port, %o) = @_;
    return IO::Socket::SSL->new(PeerAddr => "127.0.0.1:$port", Timeout => 5,
                                SSL_verify_mode => IO::Socket::SSL::SSL_VERIFY_NONE(),
                                SSL_hostname => 'a.test', %o);
}

# exactly $len bytes from $s (less on EOF or 10 s without data)
sub read_n {
    my ($s, $len) = @_;
    my ($all, $b) = ('');
    while (length($all) < $len) {
        unless ($s->can('pending') && $s->pending) {
            last unless IO::Select->new($s)->can_read(10);
        }
        my $n = sysread($s, $b, $len - length $all);
        last unless $n;
        $all .= $b;
    }
    return $all;
}

# true when the peer closes $s within 10 s
sub closed {
    my $s = shift;
    my $b;
    while (IO::Select->new($s)->can_read(10)) {
        my $n = sysread($s, $b, 4096);
        return 1 if !$n;
    }
    return 0;
}

my $f = Ferry::Test->new(conf => main_conf() . <<'EOF');
worker_processes 2;
events { worker_connections 256; }
stream {
    log_format s '$server_port $status "$ssl_protocol" "$ssl_cipher" '
                 '"$ssl_server_name" "$ssl_session_reused" $bytes_received '
                 '$bytes_sent';
    access_log logs/stream.log s;
    error_log logs/tls.log info;

    ssl_certificate rsa.crt;
    ssl_certificate_key rsa.key;
    ssl_certificate ec.crt;
    ssl_certificate_key ec.key;

    server { listen 127.0.0.1:%%PORT_10%% ssl; proxy_pass 127.0.0.1:%%PORT_1%%; }
    server { listen 127.0.0.1:%%PORT_11%% ssl; proxy_pass 127.0.0.1:%%PORT_2%%; }
    server { listen 127.0.0.1:%%PORT_12%% ssl; proxy_pass 127.0.0.1:%%PORT_3%%; }
    server {
        listen 127.0.0.1:%%PORT_13%% ssl;
        proxy_pass 127.0.0.1:%%PORT_3%%;
        ssl_session_tickets off;
        ssl_session_cache shared:STREAM:1m;
        ssl_session_timeout 10m;
    }
    server {
        listen 127.0.0.1:%%PORT_14%% ssl;
        proxy_pass 127.0.0.1:%%PORT_1%%;
        ssl_handshake_timeout 1s;
        ssl_protocols TLSv1.2;
        ssl_ciphers ECDHE-ECDSA-AES128-GCM-SHA256:ECDHE-RSA-AES256-GCM-SHA384;
        ssl_prefer_server_ciphers on;
    }
    server { listen 127.0.0.1:%%PORT_15%%; proxy_pass 127.0.0.1:%%PORT_1%%; }

    server { listen 127.0.0.1:%%PORT_20%% ssl; proxy_pass 127.0.0.1:%%PORT_5%%; }

    # TLS to the server (proxy_ssl)
    server {
        listen 127.0.0.1:%%PORT_16%%;
        proxy_pass 127.0.0.1:%%PORT_4%%;
        proxy_ssl on;
        proxy_ssl_verify on;
        proxy_ssl_trusted_certificate rsa.crt;
        proxy_ssl_name rsa.test;
        proxy_ssl_server_name on;
    }
    server {
        listen 127.0.0.1:%%PORT_17%%;
        proxy_pass 127.0.0.1:%%PORT_4%%;
        proxy_ssl on;
        proxy_ssl_verify on;
        proxy_ssl_trusted_certificate ec.crt;
        proxy_ssl_name rsa.test;
    }
    server {
        listen 127.0.0.1:%%PORT_18%%;
        proxy_pass 127.0.0.1:%%PORT_4%%;
        proxy_ssl on;
        proxy_ssl_verify on;
        proxy_ssl_trusted_certificate rsa.crt;
        proxy_ssl_name other.test;
    }
    server {
        listen 127.0.0.1:%%PORT_19%% ssl;
        proxy_pass 127.0.0.1:%%PORT_4%%;
        proxy_ssl on;
        proxy_ssl_session_reuse off;
        proxy_ssl_protocols TLSv1.2;
        proxy_ssl_ciphers ECDHE-RSA-AES128-GCM-SHA256;
    }
}
EOF
my $d = $f->prefix . '/conf';
make_certs($d);
tcp_server($f->port(1), \&raw_echo);
tcp_server($f->port(2), \&mib_back);
tcp_server($f->port(3), \&bye);
tcp_server($f->port(5), \&after_fin);
# a TLS echo server that first says what it saw of the handshake; its
# context is made before the connections' processes fork, so all of
# them have its ticket key and resume each other's sessions
{
    my $ctx = IO::Socket::SSL::SSL_Context->new(SSL_server => 1,
                                                SSL_cert_file => "$d/rsa.crt",
                                                SSL_key_file => "$d/rsa.key")
        or die "TLS backend: $IO::Socket::SSL::SSL_ERROR\n";
    tcp_server($f->port(4), sub {
        my $c = IO::Socket::SSL->start_SSL($_[0], SSL_server => 1,
                                           SSL_reuse_ctx => $ctx) or return;
        my $ssl = $c->_get_ssl_object;
        syswrite $c, sprintf("sni=%s version=%s cipher=%s reused=%d\n",
                             Net::SSLeay::get_servername($ssl) // '-',
                             $c->get_sslversion, $c->get_cipher,
                             Net::SSLeay::session_reused($ssl) ? 1 : 0);
        raw_echo($c);
    });
}
$f->start;

sub logf { Ferry::Test::read_file($f->prefix . "/logs/$_[0]") // '' }
# true when log file $name has a line matching $re within 5 s
sub logged { my ($name, $re) = @_; return wait_until { logf($name) =~ $re } 5; }

# ---- bytes through ------------------------------------------------------

my $s = tls_connect($f->port(10));
ok($s, 'TLS handshake with the stream listener') or diag $IO::Socket::SSL::SSL_ERROR;
print $s "hello through TLS\n";
is(read_n($s, 18), "hello through TLS\n", 'bytes reach the plain backend and come back');
my $bin = join '', map { chr } 0 .. 255;
print $s $bin x 4;
is(read_n($s, 1024), $bin x 4, 'every byte value intact both ways');
is($s->get_sslversion, 'TLSv1_3', 'TLS 1.3 by default (ssl_protocols TLSv1.2 TLSv1.3)');
close $s;

$s = tls_connect($f->port(11));
my $mib = join '', map { pack('N', $_) } 0 .. (1 << 18) - 1;
my $off = 0;
while ($off < length $mib) {
    my $w = syswrite($s, $mib, 65536, $off);
    last unless $w;
    $off += $w;
}
is($off, 1 << 20, '1 MiB written through TLS');
ok(read_n($s, 1 << 20) eq $mib, '... and the same 1 MiB came back through TLS');
close $s;

$s = tls_connect($f->port(12));
is(read_n($s, 4), "bye\n", 'the backend speaks first');
ok(closed($s), "the backend's close ends the session");
ok(Net::SSLeay::get_shutdown($s->_get_ssl_object) & 2,
   '... with a TLS close_notify from ferry (SSL_RECEIVED_SHUTDOWN)');
close $s;

# half-close: the client's close_notify (its socket left open) is passed
# on as a FIN; the backend's answer still comes back through TLS
$s = tls_connect($f->port(20));
print $s "question";
Net::SSLeay::shutdown($s->_get_ssl_object);       # close_notify only
is(read_n($s, 21), 'got 8 bytes: question',
   "half-close: the client's close_notify reaches the backend as a FIN, the answer comes back");
ok(closed($s), '... then the session ends');
close $s;

# ---- certificates by key type -------------------------------------------

for my $t (['ECDHE-ECDSA-AES128-GCM-SHA256', 'ec.test'],
           ['ECDHE-RSA-AES256-GCM-SHA384', 'rsa.test'])
{
    $s = tls_connect($f->port(14), SSL_version => 'TLSv1_2',
                     SSL_cipher_list => $t->[0]);
    ok($s, "TLS 1.2 with $t->[0]") or diag $IO::Socket::SSL::SSL_ERROR;
    is($s && $s->peer_certificate('cn'), $t->[1], "... gets the $t->[1] certificate");
    is($s && $s->get_cipher, $t->[0], '... and that cipher');
    close $s if $s;
}
ok(!tls_connect($f->port(14), SSL_version => 'TLSv1_3'),
   'ssl_protocols TLSv1.2: a TLS 1.3-only client is refused');

# ---- session reuse ------------------------------------------------------

# openssl s_client saves the session of a first connection and offers
# it on the next ones; the backend behind ports 12 and 13 says "bye" and
# closes, so each s_client ends after it has read the TLS 1.3 ticket.
my $sess = $f->prefix . '/sess.pem';
for my $t ([12, 'session tickets'], [13, 'the shared session cache'])
{
    my $port = $f->port($t->[0]);
    my $cmd = "timeout 5 openssl s_client -connect 127.0.0.1:$port"
              . " -servername a.test -ign_eof < /dev/null 2>&1";
    my $first = `$cmd -sess_out $sess`;
    like($first, qr/^New,/m, "$t->[1]: a first connection makes a session");
    # two workers: more than one try, so each resumes the other's
    my $reused = 0;
    for (1 .. 4) {
        $reused++ if `$cmd -sess_in $sess` =~ /^Reused,.*\nbye$/ms;
    }
    is($reused, 4, "$t->[1]: every later connection resumes it");
}

# ---- the access log -----------------------------------------------------

my ($p10, $p12, $p14) = ($f->port(10), $f->port(12), $f->port(14));
my $log;
my $ok = wait_until { $log = logf('stream.log');
                      (() = $log =~ /^$p10 /mg) >= 1
                      && $log =~ /^$p12 .* "r" /m } 5;
ok($ok, 'the sessions are logged');
like($log, qr/^$p10 200 "TLSv1\.3" "TLS_AES_\w+" "a\.test" "\." 1042 1042$/m,
     '$ssl_protocol, $ssl_cipher, $ssl_server_name, $ssl_session_reused "."');
like($log, qr/^$p12 200 "TLSv1\.3" "\S+" "a\.test" "r" 0 4$/m,
     '$ssl_session_reused "r" for a resumed session');
like($log, qr/^$p14 200 "TLSv1\.2" "ECDHE-ECDSA-AES128-GCM-SHA256" "a\.test" /m,
     'TLS 1.2 and its cipher logged');

# a plain server: the variables are empty
$s = IO::Socket::INET->new("127.0.0.1:" . $f->port(15));
print $s "plain\n";
read_n($s, 6);
close $s;
my $p15 = $f->port(15);
ok(logged('stream.log', qr/^$p15 200 "" "" "" "" 6 6$/m),
   'a plain session: the $ssl_* variables are empty');

# ---- TLS to the server (proxy_ssl) ---------------------------------------

$f->allow_log(qr/while SSL handshaking to upstream/);

# a line from a connection to ferry (undef on EOF / 10 s)
sub plain_line {
    my $s = shift;
    my ($line, $c) = ('');
    while (($s->can('pending') && $s->pending)
           || IO::Select->new($s)->can_read(10))
    {
        return undef unless sysread($s, $c, 1);
        $line .= $c;
        return $line if $c eq "\n";
    }
    return undef;
}

my @reused;
for (1 .. 4) {
    $s = IO::Socket::INET->new('127.0.0.1:' . $f->port(16));
    my $l = plain_line($s) // 'closed';
    push @reused, $l =~ /reused=1/ ? 1 : 0;
    if ($_ == 1) {
        like($l, qr/^sni=rsa\.test version=TLSv1_3 /,
             "proxy_ssl on: the server is reached over TLS 1.3, SNI from proxy_ssl_name") or diag $l;
        print $s "through TLS to the server\n";
        is(plain_line($s), "through TLS to the server\n",
           '... verified (proxy_ssl_verify), bytes intact both ways');
    }
    close $s;
}
ok((grep { $_ } @reused[1 .. 3]) >= 1,
   'proxy_ssl_session_reuse on: a later connection resumes the TLS session')
    or diag "@reused";

my $p17 = $f->port(17);
$s = IO::Socket::INET->new("127.0.0.1:$p17");
ok(closed($s), 'proxy_ssl_verify on, an untrusted server certificate: closed');
close $s;
ok(logged('tls.log', qr/\[error\].*upstream SSL certificate verify error: \(\d+:[^)]+\) while SSL handshaking to upstream, client: 127\.0\.0\.1, server: 127\.0\.0\.1:$p17/),
   '... logged');
ok(logged('stream.log', qr/^$p17 502 /m), '... with status 502');

my $p18 = $f->port(18);
$s = IO::Socket::INET->new("127.0.0.1:$p18");
ok(closed($s), 'a certificate that does not match proxy_ssl_name: closed');
close $s;
ok(logged('tls.log', qr/\[error\].*upstream SSL certificate does not match "other\.test" while SSL handshaking to upstream, client: 127\.0\.0\.1, server: 127\.0\.0\.1:$p18/),
   '... logged');

# TLS on both sides
@reused = ();
for (1 .. 3) {
    $s = tls_connect($f->port(19));
    my $l = plain_line($s) // 'closed';
    push @reused, $l =~ /reused=1/ ? 1 : 0;
    if ($_ == 1) {
        like($l, qr/^sni=- version=TLSv1_2 cipher=ECDHE-RSA-AES128-GCM-SHA256 /,
             'TLS from the client and to the server: proxy_ssl_protocols, _ciphers; no SNI by default');
        print $s "both sides\n";
        is(plain_line($s), "both sides\n", '... bytes intact');
    }
    close $s;
}
is("@reused", '0 0 0', 'proxy_ssl_session_reuse off: no session resumed');

# ---- failures -----------------------------------------------------------

$f->allow_log(qr/client timed out while SSL handshaking|SSL_do_handshake\(\) failed|while SSL handshaking to upstream/);

$s = IO::Socket::INET->new("127.0.0.1:$p14");
ok(closed($s), 'a client that says nothing is closed (ssl_handshake_timeout)');
close $s;
ok(logged('tls.log', qr/\[info\].*client timed out while SSL handshaking.*client: 127\.0\.0\.1, server: 127\.0\.0\.1:$p14/),
   '... and logged');
ok(logged('stream.log', qr/^$p14 500 "" "" "" "" 0 0$/m),
   '... with status 500 in the access log');

$s = IO::Socket::INET->new("127.0.0.1:$p10");
print $s "GET / HTTP/1.0\r\n\r\n";
ok(closed($s), 'plain text on the TLS port: closed');
close $s;
ok(logged('tls.log', qr/\[info\].*SSL_do_handshake\(\) failed .*client: 127\.0\.0\.1, server: 127\.0\.0\.1:$p10/),
   '... and logged');

$f->stop;

# ---- configuration errors -----------------------------------------------

my @bad = (
    [ "    server {\n        listen 127.0.0.1:%%PORT_0%% ssl;\n"
      . "        proxy_pass 127.0.0.1:1;\n    }\n",
      qr/no "ssl_certificate" is defined for the "listen \.\.\. ssl" directive in \S+ferry\.conf:7/,
      'listen ... ssl without a certificate' ],
    [ "    server {\n        listen 127.0.0.1:%%PORT_0%% ssl;\n"
      . "        ssl_protocols TLSv1.2 SSLv3;\n        proxy_pass 127.0.0.1:1;\n    }\n",
      qr/invalid value "SSLv3" in "ssl_protocols" in \S+ferry\.conf:8/,
      'an unknown protocol' ],
    [ "    server {\n        listen 127.0.0.1:%%PORT_0%% ssl;\n"
      . "        ssl_certificate rsa.crt;\n        ssl_certificate_key ec.key;\n"
      . "        proxy_pass 127.0.0.1:1;\n    }\n",
      qr/certificate key "\S+ec\.key" does not match certificate "\S+rsa\.crt".* in \S+ferry\.conf:8/,
      'a key that does not match its certificate' ],
    [ join('', map { "    server { listen 127.0.0.1:%%PORT_$_->[0]%% ssl; "
                     . "ssl_certificate rsa.crt; ssl_certificate_key rsa.key; "
                     . "ssl_session_cache shared:Z:$_->[1]; proxy_pass 127.0.0.1:1; }\n" }
             [0, '1m'], [1, '2m']),
      qr/the size 2097152 of ssl_session_cache "Z" conflicts with the size 1048576 given in \S+ferry\.conf:6, in \S+ferry\.conf:7/,
      'one shared cache with two sizes' ],
    [ "    server {\n        listen 127.0.0.1:%%PORT_0%%;\n"
      . "        proxy_ssl on;\n        proxy_ssl_verify on;\n        proxy_pass 127.0.0.1:1;\n    }\n",
      qr/no "proxy_ssl_trusted_certificate" for "proxy_ssl_verify" in \S+ferry\.conf:9/,
      'proxy_ssl_verify without trusted certificates' ],
    [ "    server {\n        listen 127.0.0.1:%%PORT_0%%;\n"
      . "        proxy_ssl on;\n        proxy_ssl_certificate rsa.crt;\n"
      . "        proxy_ssl_certificate_key ec.key;\n        proxy_pass 127.0.0.1:1;\n    }\n",
      qr/proxy_ssl_certificate_key "\S+ec\.key" does not match proxy_ssl_certificate "\S+rsa\.crt".* in \S+ferry\.conf:10/,
      'a proxy_ssl_certificate_key that does not match' ],
    [ "    ssl_session_cache shared:X;\n",
      qr/invalid session cache "shared:X" in \S+ferry\.conf:6/,
      'a broken ssl_session_cache' ],
    [ "    server {\n        listen 127.0.0.1:%%PORT_0%%;\n"
      . "        ssl_handshake_timeout 1x;\n        proxy_pass 127.0.0.1:1;\n    }\n",
      qr/"ssl_handshake_timeout" directive invalid value.* in \S+ferry\.conf:8/,
      'a broken ssl_handshake_timeout' ],
);
for my $b (@bad) {
    my $x = Ferry::Test->new(conf => main_conf() . "events { }\nstream {\n"
                                     . $b->[0] . "}\n");
    make_certs($x->prefix . '/conf');
    my ($c, $o) = $x->run('-t');
    isnt($c, 0, "config error: $b->[2]: refused");
    like($o, $b->[1], "config error: $b->[2]: file and line") or diag $o;
}

done_testing;
