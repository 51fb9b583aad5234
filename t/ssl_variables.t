#!/usr/bin/perl
#
# The $ssl_* variables nginx has beyond the basic ones, in http (a
# "return" that echoes them) and in stream (the access log): of the
# client certificate $ssl_client_v_start, _v_end, _v_remain,
# _s_dn_legacy, _i_dn_legacy, _escaped_cert; of the handshake
# $ssl_ciphers (the client's list), $ssl_curve, $ssl_curves,
# $ssl_session_id, $ssl_alpn_protocol ("http/1.1" when the client
# offered it, empty without ALPN); $ssl_early_data, empty without early
# data (with it: t/ssl_early_data.t).  Each is checked against what the openssl
# command line says of the same certificate, or against what the client
# was told to offer (openssl s_client -cipher / -groups / -alpn).  Empty
# on a plain connection.

use strict;
use warnings;
use Test::More;
use Ferry::Test;

plan skip_all => 'no openssl' unless grep { -x "$_/openssl" } split /:/, $ENV{PATH};

my $f = Ferry::Test->new(conf => main_conf() . <<'EOF');
worker_processes 1;
events { worker_connections 64; }
http {
    ssl_certificate ../srv.crt;
    ssl_certificate_key ../srv.key;
    ssl_client_certificate ../ca.crt;
    ssl_verify_client optional;
    ssl_session_tickets off;    # a session id of the server's own
    server {
        listen 127.0.0.1:%%PORT_0%% ssl;
        location /cert { return 200 "$ssl_client_v_start|$ssl_client_v_end|$ssl_client_v_remain|$ssl_client_s_dn_legacy|$ssl_client_i_dn_legacy\n"; }
        location /esc { return 200 "$ssl_client_escaped_cert\n"; }
        location /hs { return 200 "$ssl_ciphers|$ssl_curve|$ssl_curves|$ssl_session_id\n"; }
        location /alpn { return 200 "[$ssl_alpn_protocol|$ssl_early_data]\n"; }
    }
    server {
        listen 127.0.0.1:%%PORT_1%%;
        location / { return 200 "[$ssl_ciphers$ssl_curve$ssl_session_id$ssl_client_v_remain$ssl_alpn_protocol$ssl_early_data]\n"; }
    }
}
stream {
    log_format s '$ssl_client_v_remain|$ssl_client_s_dn_legacy|$ssl_curve|$ssl_curves|$ssl_ciphers|$ssl_session_id';
    server {
        listen 127.0.0.1:%%PORT_2%% ssl;
        ssl_certificate ../srv.crt;
        ssl_certificate_key ../srv.key;
        ssl_client_certificate ../ca.crt;
        ssl_verify_client on;
        ssl_session_tickets off;
        access_log logs/s.log s;
        proxy_pass 127.0.0.1:%%PORT_3%%;
    }
}
EOF

my $d = $f->prefix;
{
    my $ec = '-newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes';
    sh("cd $d && openssl req -x509 $ec -keyout ca.key -out ca.crt -days 2"
       . " -subj '/O=Ferry/CN=Vars CA' -addext basicConstraints=critical,CA:TRUE");
    sh("cd $d && openssl req -x509 $ec -keyout srv.key -out srv.crt -days 2"
       . " -subj '/CN=srv.test'");
    sh("cd $d && openssl req $ec -keyout cl.key -out cl.csr"
       . " -subj '/C=FR/O=Ferry Test/CN=client one'");
    sh("cd $d && openssl x509 -req -in cl.csr -CA ca.crt -CAkey ca.key"
       . " -set_serial 77 -out cl.crt -days 30");
}
tcp_server($f->port(3), sub { syswrite $_[0], "hi\n"; });
$f->start or do { done_testing; exit };

# A request over TLS with the client certificate; the body.
sub tls_get {
    my ($path, @opt) = @_;
    my $port = $f->port(0);
    my $out = `printf 'GET $path HTTP/1.0\\r\\n\\r\\n' | openssl s_client -connect 127.0.0.1:$port -quiet -cert $d/cl.crt -key $d/cl.key @opt 2>/dev/null`;
    my ($body) = $out =~ /\r\n\r\n(.*)\z/s;
    return $body // '';
}
sub x509 { my $o = `openssl x509 -in $d/cl.crt -noout @_`; chomp $o; $o }

my ($start) = x509('-startdate') =~ /=(.*)/;
my ($end) = x509('-enddate') =~ /=(.*)/;
my ($subj) = x509('-subject -nameopt compat') =~ /^subject=\s*(.*)/;
my ($iss) = x509('-issuer -nameopt compat') =~ /^issuer=\s*(.*)/;

like(tls_get('/cert'), qr{^\Q$start|$end|\E(29|30)\Q|$subj|$iss\E\n\z},
     '$ssl_client_v_start, _v_end as openssl prints them, _v_remain 29 '
     . '(30 if asked in the second the certificate was made), '
     . '_s_dn_legacy and _i_dn_legacy in the /C=../CN=.. form');
like($subj, qr{^/C=FR/O=Ferry Test/CN=client one$},
     '... the legacy subject as openssl -nameopt compat writes it');

{
    my $pem = do { local (@ARGV, $/) = ("$d/cl.crt"); <> };
    (my $esc = $pem) =~ s/([^A-Za-z0-9\-._~])/sprintf('%%%02X', ord $1)/ge;
    is(tls_get('/esc'), "$esc\n",
       '$ssl_client_escaped_cert: the PEM with all but letters, digits '
       . 'and -._~ as %XX');
}

{
    my $b = tls_get('/hs', '-tls1_2', '-cipher',
                    'ECDHE-ECDSA-AES128-GCM-SHA256:ECDHE-ECDSA-AES256-GCM-SHA384',
                    '-groups', 'X25519:P-256');
    my ($ciphers, $curve, $curves, $sid) = split /\|/, $b;
    like($ciphers, qr/^ECDHE-ECDSA-AES128-GCM-SHA256:ECDHE-ECDSA-AES256-GCM-SHA384:TLS_EMPTY_RENEGOTIATION_INFO_SCSV$/,
         '$ssl_ciphers: the client\'s list in its order, with the '
         . 'renegotiation SCSV as OpenSSL names it') or diag($b);
    is($curve, 'X25519', '$ssl_curve: the group agreed');
    is($curves, 'X25519:prime256v1', '$ssl_curves: the client\'s groups');
    like($sid, qr/^[0-9a-f]{64}\n$/, '$ssl_session_id: 32 bytes in hex');
}
{
    my $b = tls_get('/hs', '-tls1_3', '-groups', 'P-384');
    my (undef, $curve) = split /\|/, $b;
    is($curve, 'secp384r1', '$ssl_curve over TLS 1.3 with P-384');
}

is(tls_get('/alpn', '-alpn', 'h2,http/1.1'), "[http/1.1|]\n",
   '$ssl_alpn_protocol: the protocol ALPN agreed (of h2 and http/1.1 '
   . 'offered); $ssl_early_data empty');
is(tls_get('/alpn'), "[|]\n", '... empty when the client offered no ALPN');

is(http_get($f->port(1), '/')->{body}, "[]\n",
   'a plain connection: all of them empty');

# stream: the same values in the access log
{
    my $port = $f->port(2);
    my $out = `printf '' | openssl s_client -connect 127.0.0.1:$port -quiet -cert $d/cl.crt -key $d/cl.key -tls1_2 -cipher ECDHE-ECDSA-AES128-GCM-SHA256 -groups P-256 2>/dev/null`;
    is($out, "hi\n", 'stream: the session relayed');
    my $log;
    wait_until { ($log = Ferry::Test::read_file("$d/logs/s.log") // '') =~ /Ferry/ } 5;
    like($log, qr{^(29|30)\|\Q$subj\E\|prime256v1\|prime256v1\|ECDHE-ECDSA-AES128-GCM-SHA256:TLS_EMPTY_RENEGOTIATION_INFO_SCSV\|[0-9a-f]{64}$}m,
         'stream: $ssl_client_v_remain, _s_dn_legacy, $ssl_curve, '
         . '$ssl_curves, $ssl_ciphers, $ssl_session_id in the access log');
}

$f->stop;
done_testing;
