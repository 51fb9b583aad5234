#!/usr/bin/perl

# TLS termination in the stream block, the client's side of it: client
# certificates (ssl_verify_client on / optional / optional_no_ca,
# ssl_client_certificate, ssl_trusted_certificate, ssl_verify_depth,
# ssl_crl) with a failed verification closing the session (status 500,
# logged at info), the $ssl_client_* variables in the access log;
# ssl_alpn with $ssl_alpn_protocol; ssl_reject_handshake;
# ssl_ecdh_curve, ssl_password_file, ssl_conf_command, ssl_dhparam; and
# the configuration errors with file and line.  Certificates come from a
# throwaway CA made with the openssl command line; IO::Socket::SSL is
# the client.

use strict;
use warnings;

use Test::More;
use Ferry::Test;
use IO::Select;

plan skip_all => 'no openssl' unless grep { -x "$_/openssl" } split /:/, $ENV{PATH};
plan skip_all => 'no IO::Socket::SSL' unless eval { require IO::Socket::SSL; 1 };
plan skip_all => 'no ALPN in Net::SSLeay' unless eval { IO::Socket::SSL->can_alpn };

# root CA -> intermediate; the server's certificate; clients: one from
# the root, one from the intermediate (sent with it), one revoked, one
# from another CA, one self-signed; the CRL
sub make_pki {
    my ($d) = @_;
    my $o = 'openssl';
    my $ec = '-newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes';
    sh("cd $d && printf 'basicConstraints=critical,CA:TRUE\\nkeyUsage=keyCertSign,cRLSign\\n' > ca.ext");
    for my $ca ('ca', 'other') {
        sh("cd $d && $o req -x509 $ec -keyout $ca.key -out $ca.crt -days 2"
           . " -subj '/CN=Stream $ca CA' -addext basicConstraints=critical,CA:TRUE"
           . " -addext keyUsage=keyCertSign,cRLSign");
    }
    sh("cd $d && $o req $ec -keyout int.key -out int.csr -subj '/CN=Stream Intermediate'");
    sh("cd $d && $o x509 -req -in int.csr -CA ca.crt -CAkey ca.key -set_serial 2"
       . " -out int.crt -days 2 -extfile ca.ext");
    my $serial = 0x2a00;
    for my $l (['srv', 'ca', '/CN=s.test'], ['client', 'ca', '/O=Ferry/CN=client one'],
               ['clint', 'int', '/CN=client two'], ['revoked', 'ca', '/CN=revoked'],
               ['evil', 'other', '/CN=evil'])
    {
        my ($n, $ca, $subj) = @$l;
        sh("cd $d && $o req $ec -keyout $n.key -out $n.csr -subj '$subj'");
        sh("cd $d && $o x509 -req -in $n.csr -CA $ca.crt -CAkey $ca.key"
           . " -set_serial " . $serial++ . " -out $n.crt -days 2");
    }
    sh("cd $d && cat clint.crt int.crt > clint-chain.crt");
    sh("cd $d && $o req -x509 $ec -keyout self.key -out self.crt -days 2 -subj '/CN=self'");
    sh("cd $d && mkdir -p db && : > db/index.txt && echo 1000 > db/crlnumber");
    sh("cd $d && printf '[ca]\\ndefault_ca=d\\n[d]\\ndatabase=db/index.txt\\n"
       . "crlnumber=db/crlnumber\\ncertificate=ca.crt\\nprivate_key=ca.key\\n"
       . "default_md=sha256\\ndefault_crl_days=2\\n' > ca.cnf");
    sh("cd $d && $o ca -config ca.cnf -revoke revoked.crt");
    sh("cd $d && $o ca -config ca.cnf -gencrl -out ca.crl");
    sh("cd $d && $o pkey -in srv.key -aes256 -passout pass:secret2 -out srv-enc.key");
    sh("cd $d && printf 'wrong\\nsecret2\\n' > pw.txt && printf 'wrong\\n' > pw-wrong.txt");
    sh("cd $d && echo garbage > garbage.pem");
}

sub raw_echo {
    my $c = shift;
    my $b;
    while ((my $n = sysread($c, $b, 65536))) {
        syswrite($c, $b, $n) or return;
    }
}

my $f = Ferry::Test->new(conf => main_conf() . <<'EOF');
events { worker_connections 64; }
stream {
    log_format v '$server_port $status "$ssl_client_verify" "$ssl_client_s_dn" '
                 '"$ssl_client_i_dn" "$ssl_client_serial" '
                 '"$ssl_client_fingerprint" "$ssl_alpn_protocol"';
    log_format pem 'raw=$ssl_client_raw_cert cert=$ssl_client_cert';
    access_log logs/stream.log v;
    error_log logs/tls.log info;

    ssl_certificate srv.crt;
    ssl_certificate_key srv.key;

    server {
        listen 127.0.0.1:%%PORT_10%% ssl;
        ssl_verify_client on;
        ssl_client_certificate ca.crt;
        ssl_crl ca.crl;
        proxy_pass 127.0.0.1:%%PORT_1%%;
    }
    server {
        listen 127.0.0.1:%%PORT_11%% ssl;
        ssl_verify_client optional;
        ssl_trusted_certificate ca.crt;
        ssl_verify_depth 0;
        proxy_pass 127.0.0.1:%%PORT_1%%;
    }
    server {
        listen 127.0.0.1:%%PORT_12%% ssl;
        ssl_verify_client optional_no_ca;
        proxy_pass 127.0.0.1:%%PORT_1%%;
        access_log logs/pem.log pem;
        access_log logs/stream.log v;
    }
    server {
        listen 127.0.0.1:%%PORT_13%% ssl;
        ssl_alpn foo bar;
        proxy_pass 127.0.0.1:%%PORT_1%%;
    }
    server {
        listen 127.0.0.1:%%PORT_14%% ssl;
        ssl_reject_handshake on;
        proxy_pass 127.0.0.1:%%PORT_1%%;
    }
    server {
        listen 127.0.0.1:%%PORT_16%% ssl;
        ssl_ecdh_curve prime256v1;
        proxy_pass 127.0.0.1:%%PORT_1%%;
    }
    server {
        listen 127.0.0.1:%%PORT_17%% ssl;
        ssl_certificate srv.crt;
        ssl_certificate_key srv-enc.key;
        ssl_password_file pw.txt;
        ssl_conf_command Ciphersuites TLS_CHACHA20_POLY1305_SHA256;
        proxy_pass 127.0.0.1:%%PORT_1%%;
    }
    server {
        listen 127.0.0.1:%%PORT_15%% ssl;
        ssl_verify_client on;
        ssl_client_certificate ca.crt;
        proxy_pass 127.0.0.1:%%PORT_1%%;
    }
}
EOF
my $d = $f->prefix . '/conf';
make_pki($d);
tcp_server($f->port(1), \&raw_echo);
$f->start;
$f->allow_log(qr/client SSL certificate verify error|client sent no required SSL certificate|SSL_do_handshake\(\) failed/);

sub logf { Ferry::Test::read_file($f->prefix . "/logs/$_[0]") // '' }
sub logged { my ($name, $re) = @_; return wait_until { logf($name) =~ $re } 5; }

sub tls {
    my ($port, $cert, %o) = @_;
    return IO::Socket::SSL->new(
        PeerAddr => "127.0.0.1:" . $f->port($port), Timeout => 5,
        SSL_verify_mode => IO::Socket::SSL::SSL_VERIFY_NONE(),
        ($cert ? (SSL_cert_file => "$d/$cert.crt", SSL_key_file => "$d/"
                  . ($cert eq 'clint-chain' ? 'clint' : $cert) . '.key') : ()),
        %o);
}

# what comes back for a line sent: the line through the backend, or
# 'closed' when ferry ends the session
sub echo_of {
    my ($s) = @_;
    return 'no handshake' unless $s;
    print $s "ping\n";
    my ($all, $b) = ('');
    while (length($all) < 5) {
        last unless ($s->pending || IO::Select->new($s)->can_read(10));
        my $n = sysread($s, $b, 64);
        return 'closed' unless $n;
        $all .= $b;
    }
    return $all;
}

my %fp;
for my $c (qw(client self)) {
    my $o = `openssl x509 -in $d/$c.crt -noout -fingerprint -sha1`;
    ($fp{$c} = lc((split /=/, $o)[1])) =~ s/[:\s]//g;
}

# ---- ssl_verify_client on ------------------------------------------------

my ($p10, $p11, $p12, $p13, $p14, $p15) = map { $f->port($_) } 10 .. 15;

is(echo_of(tls(10, 'client')), "ping\n", 'verify on, a certificate from the CA: the session goes on');
ok(logged('stream.log', qr/^$p10 200 "SUCCESS" "CN=client one,O=Ferry" "CN=Stream ca CA" "2A01" "$fp{client}" ""$/m),
   '... $ssl_client_verify, _s_dn, _i_dn, _serial, _fingerprint logged')
    or diag logf('stream.log');

is(echo_of(tls(10)), 'closed', 'verify on, no certificate: the session is closed');
ok(logged('tls.log', qr/\[info\].*client sent no required SSL certificate, client: 127\.0\.0\.1, server: 127\.0\.0\.1:$p10/),
   '... logged at info');
ok(logged('stream.log', qr/^$p10 500 "NONE" "" "" "" "" ""$/m), '... status 500, $ssl_client_verify NONE');

is(echo_of(tls(10, 'evil')), 'closed', 'verify on, a certificate from another CA: closed');
ok(logged('tls.log', qr/\[info\].*client SSL certificate verify error: \(\d+:unable to [^)]+\), client: 127\.0\.0\.1, server: 127\.0\.0\.1:$p10/),
   '... logged with the reason');
ok(logged('stream.log', qr/^$p10 500 "FAILED:unable to [^"]+" "CN=evil" "CN=Stream other CA" /m),
   '... status 500, $ssl_client_verify FAILED:reason');

is(echo_of(tls(10, 'revoked')), 'closed', 'ssl_crl: a revoked certificate is refused');
ok(logged('stream.log', qr/^$p10 500 "FAILED:certificate revoked" "CN=revoked" /m),
   '... FAILED:certificate revoked');

# nginx's CRL flags: every certificate of the chain is checked
is(echo_of(tls(10, 'clint-chain')), 'closed',
   'ssl_crl: a certificate under an intermediate that has no CRL is refused');
ok(logged('stream.log', qr/^$p10 500 "FAILED:unable to get certificate CRL" "CN=client two" /m),
   '... FAILED:unable to get certificate CRL');

is(echo_of(tls(15, 'clint-chain')), "ping\n",
   'verify depth 1 (the default): a certificate under an intermediate is accepted');
ok(logged('stream.log', qr/^$p15 200 "SUCCESS" "CN=client two" "CN=Stream Intermediate" /m),
   '... issued by the intermediate');

# ---- optional, depth 0, ssl_trusted_certificate ------------------------------

is(echo_of(tls(11)), "ping\n", 'verify optional: a client without a certificate goes on');
is(echo_of(tls(11, 'client')), "ping\n", '... one from the CA too (ssl_trusted_certificate, depth 0)');
is(echo_of(tls(11, 'clint-chain')), 'closed', 'verify depth 0: one under an intermediate is refused');
is(echo_of(tls(11, 'self')), 'closed', 'verify optional: a self-signed certificate is refused');
ok(logged('stream.log', qr/^$p11 200 "NONE" /m) && logged('stream.log', qr/^$p11 200 "SUCCESS" /m)
   && logged('stream.log', qr/^$p11 500 "FAILED:[^"]+" "CN=client two" /m),
   '... as the access log says');

# ---- optional_no_ca, the PEM variables -----------------------------------

is(echo_of(tls(12, 'self')), "ping\n", 'verify optional_no_ca: a self-signed certificate goes on');
ok(logged('stream.log', qr/^$p12 200 "FAILED:self[- ]signed certificate" "CN=self" "CN=self" "[0-9A-F]+" "$fp{self}" ""$/m),
   '... its verdict logged as FAILED');
my $pem = Ferry::Test::read_file("$d/self.crt");
(my $raw = $pem) =~ s/\n/\\x0A/g;
(my $tabbed = $pem) =~ s/\n(?=.)/\n\t/g;
$tabbed =~ s/\n/\\x0A/g;
$tabbed =~ s/\t/\\x09/g;
ok(logged('pem.log', qr/^raw=\Q$raw\E cert=\Q$tabbed\E$/m),
   '$ssl_client_raw_cert is the PEM, $ssl_client_cert the PEM with tabs')
    or diag logf('pem.log');

# ---- ssl_alpn --------------------------------------------------------------

my $s = tls(13, undef, SSL_alpn_protocols => ['bar']);
is($s && $s->alpn_selected, 'bar', 'ssl_alpn: the protocol the client offers is chosen');
is(echo_of($s), "ping\n", '... bytes through');
close $s if $s;
$s = tls(13, undef, SSL_alpn_protocols => ['bar', 'foo']);
is($s && $s->alpn_selected, 'foo', "... the server's order first");
close $s if $s;
ok(logged('stream.log', qr/^$p13 200 "NONE" "" "" "" "" "bar"$/m)
   && logged('stream.log', qr/^$p13 200 "NONE" "" "" "" "" "foo"$/m),
   '$ssl_alpn_protocol logged');
ok(!tls(13, undef, SSL_alpn_protocols => ['h2']), 'ssl_alpn: a client offering none of them fails');
like($IO::Socket::SSL::SSL_ERROR, qr/no application protocol/i, '... with no_application_protocol');
$s = tls(13);
is(echo_of($s), "ping\n", 'ssl_alpn: a client without ALPN goes on');
close $s;
ok(logged('stream.log', qr/^$p13 200 "NONE" "" "" "" "" ""$/m), '... $ssl_alpn_protocol empty');

# ---- ssl_reject_handshake --------------------------------------------------

ok(!tls(14), 'ssl_reject_handshake on: the handshake is refused');
like($IO::Socket::SSL::SSL_ERROR, qr/unrecognized name/i, '... with unrecognized_name');
ok(logged('stream.log', qr/^$p14 500 /m), '... status 500');

# ---- ssl_ecdh_curve, ssl_password_file, ssl_conf_command -----------------

sub s_client {
    my ($port, $args) = @_;
    return scalar `timeout 5 openssl s_client -connect 127.0.0.1:$port $args < /dev/null 2>&1`;
}
like(s_client($f->port(16), '-groups X25519'), qr/alert handshake failure.*no peer certificate available/s,
     'ssl_ecdh_curve prime256v1: a client with X25519 only cannot agree');
like(s_client($f->port(16), '-groups X25519:P-256'), qr/^New, .*Cipher is TLS_/m,
     '... one that also has P-256 can');
$s = tls(17);
ok($s, 'ssl_password_file: the encrypted key was loaded') or diag $IO::Socket::SSL::SSL_ERROR;
is($s && $s->get_cipher, 'TLS_CHACHA20_POLY1305_SHA256', 'ssl_conf_command Ciphersuites applied');
is(echo_of($s), "ping\n", '... bytes through');
close $s if $s;

$f->stop;

# ---- configuration ------------------------------------------------------------

my @bad = (
    [ "    server {\n        listen 127.0.0.1:%%PORT_0%% ssl;\n"
      . "        ssl_certificate srv.crt;\n        ssl_certificate_key srv.key;\n"
      . "        ssl_verify_client on;\n        proxy_pass 127.0.0.1:1;\n    }\n",
      qr/no ssl_client_certificate or ssl_trusted_certificate for ssl_verify_client .* in \S+ferry\.conf:10/,
      'ssl_verify_client on without CA certificates' ],
    [ "    ssl_verify_client maybe;\n",
      qr/"ssl_verify_client".*"maybe".* in \S+ferry\.conf:6|invalid value "maybe".* in \S+ferry\.conf:6/,
      'an unknown ssl_verify_client mode' ],
    [ "    ssl_verify_depth 101;\n",
      qr/ssl_verify_depth.* in \S+ferry\.conf:6/, 'ssl_verify_depth out of range' ],
    [ "    server {\n        listen 127.0.0.1:%%PORT_0%% ssl;\n"
      . "        ssl_certificate srv.crt;\n        ssl_certificate_key srv.key;\n"
      . "        ssl_client_certificate nothere.crt;\n        proxy_pass 127.0.0.1:1;\n    }\n",
      qr/cannot load ssl_client_certificate "\S+nothere\.crt".* in \S+ferry\.conf:10/,
      'a missing ssl_client_certificate file' ],
    [ "    ssl_alpn foo '';\n", qr/invalid ALPN protocol "" in "ssl_alpn" .* in \S+ferry\.conf:6/,
      'an empty ALPN protocol' ],
    [ "    server {\n        listen 127.0.0.1:%%PORT_0%% ssl;\n"
      . "        ssl_certificate srv.crt;\n        ssl_certificate_key srv.key;\n"
      . "        ssl_dhparam garbage.pem;\n        proxy_pass 127.0.0.1:1;\n    }\n",
      qr/ssl_dhparam.*garbage\.pem.* in \S+ferry\.conf:10/, 'an unreadable ssl_dhparam' ],
    [ "    server {\n        listen 127.0.0.1:%%PORT_0%% ssl;\n"
      . "        ssl_certificate srv.crt;\n        ssl_certificate_key srv.key;\n"
      . "        ssl_ecdh_curve nosuchcurve;\n        proxy_pass 127.0.0.1:1;\n    }\n",
      qr/invalid ssl_ecdh_curve "nosuchcurve".* in \S+ferry\.conf:10/, 'an unknown ssl_ecdh_curve' ],
    [ "    server {\n        listen 127.0.0.1:%%PORT_0%% ssl;\n"
      . "        ssl_certificate srv.crt;\n        ssl_certificate_key srv-enc.key;\n"
      . "        ssl_password_file pw-wrong.txt;\n        proxy_pass 127.0.0.1:1;\n    }\n",
      qr/cannot load certificate key "\S+srv-enc\.key".* in \S+ferry\.conf:8/,
      'ssl_password_file without the right passphrase' ],
    [ "    ssl_password_file nothere.txt;\n",
      qr/cannot read ssl_password_file "\S+nothere\.txt".* in \S+ferry\.conf:6/,
      'a missing ssl_password_file' ],
    [ "    server {\n        listen 127.0.0.1:%%PORT_0%% ssl;\n"
      . "        ssl_certificate srv.crt;\n        ssl_certificate_key srv.key;\n"
      . "        ssl_conf_command NoSuchCommand x;\n        proxy_pass 127.0.0.1:1;\n    }\n",
      qr/SSL_CONF_cmd\("NoSuchCommand", "x"\) failed.* in \S+ferry\.conf:10/, 'an unknown ssl_conf_command' ],
    [ "    ssl_alpn a;\n    ssl_alpn b;\n", qr/"ssl_alpn" directive is duplicate in \S+ferry\.conf:7/,
      'ssl_alpn twice' ],
);
for my $b (@bad) {
    my $x = Ferry::Test->new(conf => main_conf() . "events { }\nstream {\n"
                                     . $b->[0] . "}\n");
    sh("cp $d/srv.crt $d/srv.key $d/srv-enc.key $d/pw-wrong.txt $d/garbage.pem "
       . $x->prefix . '/conf/');
    my ($c, $o) = $x->run('-t');
    isnt($c, 0, "config error: $b->[2]: refused");
    like($o, $b->[1], "config error: $b->[2]: file and line") or diag $o;
}

# a server that refuses every handshake needs no certificate (nginx)
my $x = Ferry::Test->new(conf => main_conf() . "events { }\nstream {\n"
    . "    server { listen 127.0.0.1:%%PORT_0%% ssl; ssl_reject_handshake on;"
    . " proxy_pass 127.0.0.1:1; }\n}\n");
my ($c, $o) = $x->run('-t');
is($c, 0, 'ssl_reject_handshake on: no ssl_certificate needed') or diag $o;

done_testing;
