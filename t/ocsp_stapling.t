#!/usr/bin/perl
#
# OCSP stapling with the response fetched from the responder
# ("ssl_stapling on" without ssl_stapling_file), against a real
# responder: "openssl ocsp -index ... -port".  A root CA signs an
# intermediate, which signs the server certificates (with an Authority
# Information Access OCSP URL pointing at the responder) and the
# responder's own OCSPSigning certificate.  Checked with
# "openssl s_client -status": the first handshake starts the fetch, a
# later one (polled, bounded) gets the staple; a good status is
# stapled; a revoked one, a response that does not verify against
# ssl_trusted_certificate, and a responder that is down leave the
# handshakes working without a staple and say why in the error log;
# ssl_stapling_responder replaces the certificate's URL; certificates
# without issuer or responder URL get nginx's "ignored" warnings.  A
# stream server with ssl_stapling staples the same way.  A responder
# named by a host name ("localhost": the system says 127.0.0.1, the
# resolver, dnsmasq started after ferry, 127.0.0.2 and 127.0.0.1) is
# asked of the server's resolver at the fetch and its answer connected
# to, each address in turn after a failure (nginx's next address);
# without a resolver the address found when the configuration was read
# serves, with nginx's warning; a resolver that does not answer:
# nginx's "could not be resolved", no staple.

use strict;
use warnings;
use Test::More;
use Ferry::Test;
use Ferry::OCSP;

plan skip_all => 'no openssl' unless grep { -x "$_/openssl" } split /:/, $ENV{PATH};

my $f = Ferry::Test->new(conf => main_conf() . <<'EOF');
worker_processes 1;
events { worker_connections 64; }
http {
    access_log off;
    # a good certificate, the response verified against the root
    server {
        listen 127.0.0.1:%%PORT_0%% ssl;
        ssl_certificate good-chain.crt;
        ssl_certificate_key good.key;
        ssl_stapling on;
        ssl_stapling_verify on;
        ssl_trusted_certificate ca.crt;
        location / { return 200 "good\n"; }
    }
    # a revoked certificate
    server {
        listen 127.0.0.1:%%PORT_1%% ssl;
        ssl_certificate rev-chain.crt;
        ssl_certificate_key rev.key;
        ssl_stapling on;
        ssl_stapling_verify on;
        ssl_trusted_certificate ca.crt;
        location / { return 200 "revoked\n"; }
    }
    # the good certificate, trusting another CA: nothing verifies
    server {
        listen 127.0.0.1:%%PORT_2%% ssl;
        ssl_certificate good-chain.crt;
        ssl_certificate_key good.key;
        ssl_stapling on;
        ssl_stapling_verify on;
        ssl_trusted_certificate other.crt;
        location / { return 200 "wrong ca\n"; }
    }
    # the good certificate, its responder replaced by a dead one
    server {
        listen 127.0.0.1:%%PORT_3%% ssl;
        ssl_certificate good-chain.crt;
        ssl_certificate_key good.key;
        ssl_stapling on;
        ssl_stapling_responder http://127.0.0.1:%%PORT_5%%/dead;
        location / { return 200 "down\n"; }
    }
    # reached by SNI on the first server's address: its own certificate
    # and responder
    server {
        listen 127.0.0.1:%%PORT_0%% ssl;
        server_name sni.test;
        ssl_certificate noaia.crt;
        ssl_certificate_key noaia.key;
        ssl_stapling on;
        ssl_stapling_responder http://127.0.0.1:%%PORT_6%%/;
        ssl_trusted_certificate int.crt;
        location / { return 200 "sni\n"; }
    }
    # a responder that answers 500, and one that never answers
    server {
        listen 127.0.0.1:%%PORT_7%% ssl;
        ssl_certificate good-chain.crt;
        ssl_certificate_key good.key;
        ssl_stapling on;
        ssl_stapling_responder http://127.0.0.1:%%PORT_8%%/;
        location / { return 200 "500\n"; }
    }
    server {
        listen 127.0.0.1:%%PORT_9%% ssl;
        ssl_certificate good-chain.crt;
        ssl_certificate_key good.key;
        ssl_stapling on;
        ssl_stapling_responder http://127.0.0.1:%%PORT_10%%/;
        location / { return 200 "silent\n"; }
    }
    # a certificate without AIA, the responder given; no verification,
    # the issuer from ssl_trusted_certificate (the chain has only the
    # certificate)
    server {
        listen 127.0.0.1:%%PORT_4%% ssl;
        ssl_certificate noaia.crt;
        ssl_certificate_key noaia.key;
        ssl_stapling on;
        ssl_stapling_responder http://127.0.0.1:%%PORT_6%%/;
        ssl_trusted_certificate int.crt;
        location / { return 200 "responder\n"; }
    }
    # responders by name: the resolver's answer (127.0.0.2) ...
    server {
        listen 127.0.0.1:%%PORT_13%% ssl;
        ssl_certificate good-chain.crt;
        ssl_certificate_key good.key;
        ssl_stapling on;
        ssl_stapling_verify on;
        ssl_trusted_certificate ca.crt;
        ssl_stapling_responder http://localhost:%%PORT_6%%/;
        resolver 127.0.0.1:%%PORT_17%%;
        location / { return 200 "by name\n"; }
    }
    # ... at which nothing listens on this port
    server {
        listen 127.0.0.1:%%PORT_14%% ssl;
        ssl_certificate good-chain.crt;
        ssl_certificate_key good.key;
        ssl_stapling on;
        ssl_stapling_responder http://localhost:%%PORT_5%%/;
        resolver 127.0.0.1:%%PORT_17%%;
        location / { return 200 "by name, dead\n"; }
    }
    # a resolver that does not answer
    server {
        listen 127.0.0.1:%%PORT_15%% ssl;
        ssl_certificate good-chain.crt;
        ssl_certificate_key good.key;
        ssl_stapling on;
        ssl_stapling_responder http://localhost:%%PORT_6%%/;
        resolver 127.0.0.1:%%PORT_18%%;
        resolver_timeout 1s;
        location / { return 200 "resolver silent\n"; }
    }
    # a name with two addresses (the resolver's): both are tried, the
    # one with the 500 responder and the one where nothing listens
    # (the name must resolve when the configuration is read, as in
    # nginx: localhost)
    server {
        listen 127.0.0.1:%%PORT_19%% ssl;
        ssl_certificate good-chain.crt;
        ssl_certificate_key good.key;
        ssl_stapling on;
        ssl_stapling_responder http://localhost:%%PORT_8%%/;
        resolver 127.0.0.1:%%PORT_17%%;
        location / { return 200 "two addresses\n"; }
    }
    # no resolver: the address found when the configuration was read
    server {
        listen 127.0.0.1:%%PORT_16%% ssl;
        ssl_certificate good-chain.crt;
        ssl_certificate_key good.key;
        ssl_stapling on;
        ssl_stapling_responder http://localhost:%%PORT_6%%/;
        location / { return 200 "no resolver\n"; }
    }
}
stream {
    # the same in a stream server
    server {
        listen 127.0.0.1:%%PORT_12%% ssl;
        ssl_certificate good-chain.crt;
        ssl_certificate_key good.key;
        ssl_stapling on;
        ssl_stapling_verify on;
        ssl_trusted_certificate ca.crt;
        return "stream\n";
    }
}
EOF

my $d = $f->prefix . '/conf';
my $rport = $f->port(6);
my $o = 'openssl';

# ---- the PKI -------------------------------------------------------------

sh("cd $d && $o req -x509 -newkey rsa:2048 -nodes -keyout ca.key -out ca.crt -days 2"
   . " -subj '/CN=OCSP Test Root'");
sh("cd $d && $o req -x509 -newkey rsa:2048 -nodes -keyout other.key -out other.crt -days 2"
   . " -subj '/CN=Another Root'");
sh("cd $d && printf 'basicConstraints=critical,CA:true\\nkeyUsage=keyCertSign,cRLSign\\n' > int.ext");
sh("cd $d && $o req -new -newkey rsa:2048 -nodes -keyout int.key -out int.csr"
   . " -subj '/CN=OCSP Test Intermediate'");
sh("cd $d && $o x509 -req -in int.csr -CA ca.crt -CAkey ca.key -CAcreateserial"
   . " -out int.crt -days 2 -extfile int.ext");
for my $n (['good', "authorityInfoAccess=OCSP;URI:http://127.0.0.1:$rport/\\n"],
           ['rev', "authorityInfoAccess=OCSP;URI:http://127.0.0.1:$rport/\\n"],
           ['noaia', ''],
           ['ocsp', "extendedKeyUsage=OCSPSigning\\n"])
{
    my ($name, $ext) = @$n;
    sh("cd $d && $o req -new -newkey rsa:2048 -nodes -keyout $name.key -out $name.csr"
       . " -subj '/CN=$name.test'");
    sh("cd $d && printf 'subjectAltName=DNS:$name.test\\n$ext' > $name.ext");
    sh("cd $d && $o x509 -req -in $name.csr -CA int.crt -CAkey int.key -CAcreateserial"
       . " -out $name.crt -days 2 -extfile $name.ext");
}
sh("cd $d && cat good.crt int.crt > good-chain.crt && cat rev.crt int.crt > rev-chain.crt");
# the intermediate's database: good and noaia valid, rev revoked
sh("cd $d && mkdir -p db && : > db/index.txt");
sh("cd $d && printf '[ca]\\ndefault_ca=d\\n[d]\\ndatabase=db/index.txt\\n"
   . "certificate=int.crt\\nprivate_key=int.key\\ndefault_md=sha256\\n' > int.cnf");
sh("cd $d && $o ca -config int.cnf -valid good.crt");
sh("cd $d && $o ca -config int.cnf -valid noaia.crt");
sh("cd $d && $o ca -config int.cnf -revoke rev.crt");

# ---- configuration: warnings and errors ---------------------------------

my ($rc, $out) = $f->run('-t');
is($rc, 0, '-t: accepted') or diag($out);
unlike($out, qr/ssl_stapling/, '-t: every certificate has an issuer and a responder: no warning');

{
    my $g = Ferry::Test->new(conf => main_conf() . "events { }\nhttp {\n"
        . "    server { listen 127.0.0.1:%%PORT_0%% ssl; ssl_certificate $d/noaia.crt;\n"
        . "             ssl_certificate_key $d/noaia.key; ssl_stapling on;\n"
        . "             ssl_trusted_certificate $d/int.crt; }\n"
        . "    server { listen 127.0.0.1:%%PORT_1%% ssl; ssl_certificate $d/good.crt;\n"
        . "             ssl_certificate_key $d/good.key; ssl_stapling on; }\n"
        . "    server { listen 127.0.0.1:%%PORT_2%% ssl; ssl_certificate $d/good-chain.crt;\n"
        . "             ssl_certificate_key $d/good.key; ssl_stapling on;\n"
        . "             ssl_stapling_responder http://127.0.0.1:99999/; }\n"
        . "}\n");
    my ($rc, $out) = $g->run('-t');
    is($rc, 0, 'certificates that cannot be stapled: accepted') or diag($out);
    like($out, qr/\[warn\] "ssl_stapling" ignored, no OCSP responder URL in the certificate "\S+noaia\.crt" in \S+ferry\.conf:7\b/,
         'no AIA and no ssl_stapling_responder: warning with the certificate, file and line');
    like($out, qr/\[warn\] "ssl_stapling" ignored, issuer certificate not found for certificate "\S+good\.crt" in \S+ferry\.conf:10\b/,
         'no issuer in the chain nor trusted: warning');
    like($out, qr/\[warn\] "ssl_stapling" ignored, invalid port in OCSP responder "http:\/\/127\.0\.0\.1:99999\/"/,
         'a responder URL with a bad port: warning');
}
http_conf_refused("server { ssl_stapling_responder http://a/; ssl_stapling_responder http://b/; }",
                  qr/"ssl_stapling_responder" directive is duplicate in \S+ferry\.conf:\d+/,
                  'ssl_stapling_responder twice: refused');
http_conf_refused("ssl_stapling_responder https://127.0.0.1/;",
                  qr/invalid URL prefix in OCSP responder "https:\/\/127\.0\.0\.1\/".* in \S+ferry\.conf:\d+/,
                  'ssl_stapling_responder https://: refused');
http_conf_refused("ssl_stapling_verify maybe;",
                  qr/"ssl_stapling_verify" directive invalid value "maybe".* in \S+ferry\.conf:\d+/,
                  'ssl_stapling_verify: not on or off');

# ---- the responder -------------------------------------------------------

Ferry::OCSP::responder(dir => $d, port => $rport, index => 'db/index.txt',
                       ca => 'int.crt', signer => 'ocsp', log => "$d/ocsp.log");

# fake responders: one answers 500, one reads and never answers (it
# counts the requests it got in a file)
tcp_server($f->port(8), sub {
    my ($c) = @_;
    sysread($c, my $buf, 65536);
    print $c "HTTP/1.0 500 Internal Server Error\r\nContent-Length: 0\r\n\r\n";
});
my $silent_count = "$d/silent.count";
tcp_server($f->port(10), sub {
    my ($c) = @_;
    open my $fh, '>>', $silent_count; print $fh "x"; close $fh;
    1 while sysread($c, my $buf, 65536);
});

$f->allow_log(qr/OCSP|resolv/);
$f->start;

sub http_tls {
    my ($port) = @_;
    return scalar `printf 'GET / HTTP/1.0\r\n\r\n' | timeout 5 openssl s_client -connect 127.0.0.1:$port -quiet 2>/dev/null`;
}

sub status {
    my ($port) = @_;
    return scalar `echo | timeout 5 openssl s_client -connect 127.0.0.1:$port -status 2>&1`;
}

# The first handshake with status_request starts the fetch; poll (with a
# deadline) until a handshake gets a staple, or the log says why not.
sub staple_after_fetch {
    my ($port) = @_;
    my $last = '';
    wait_until { $last = status($port); $last =~ /OCSP Response Status/ } 10;
    return $last;
}

my $p0 = $f->port(0);
my $p = $p0;
$out = staple_after_fetch($p);
like($out, qr/OCSP Response Status: successful/, 'good certificate: a response is stapled');
like($out, qr/Cert Status: good/, '... saying "good"');
like($out, qr/Next Update:/, '... with its nextUpdate');
like(status($p), qr/Cert Status: good/, 'the response is held: stapled again');

# a revoked certificate: not stapled, logged as nginx does
$p = $f->port(1);
status($p);
ok((wait_until { $f->error_log =~ /certificate status "revoked" in the OCSP response while requesting certificate status, responder: 127\.0\.0\.1:$rport, peer: 127\.0\.0\.1:$rport, certificate: "\S+rev-chain\.crt"/ } 10),
   'revoked: "certificate status "revoked"" logged with responder, peer and certificate');
$out = status($p);
like($out, qr/OCSP response: no response sent/, 'revoked: nothing stapled');
like($out, qr/Cipher is|New, TLS/, '... the handshake completes');

# the response does not verify against ssl_trusted_certificate
$p = $f->port(2);
status($p);
ok((wait_until { $f->error_log =~ /OCSP_basic_verify\(\) failed .* while requesting certificate status, responder: 127\.0\.0\.1:$rport/ } 10),
   'ssl_stapling_verify with another CA trusted: OCSP_basic_verify() failed logged');
like(status($p), qr/OCSP response: no response sent/, '... nothing stapled');

# the responder is down (ssl_stapling_responder replaces the AIA URL)
$p = $f->port(3);
my $dead = $f->port(5);
$out = status($p);
like($out, qr/OCSP response: no response sent/, 'responder down: handshake without a staple');
like($out, qr/Cipher is|New, TLS/, '... which completes');
ok((wait_until { $f->error_log =~ /connect\(\) failed while requesting certificate status, responder: 127\.0\.0\.1:$dead, peer: 127\.0\.0\.1:$dead, certificate: "\S+good-chain\.crt": Connection refused/ } 10),
   'responder down: connect() failed logged with the responder given by ssl_stapling_responder');
like(status($p), qr/OCSP response: no response sent/, '... and no new fetch before 5 minutes: still no staple');
my $n = () = $f->error_log =~ /connect\(\) failed while requesting certificate status, responder: 127\.0\.0\.1:$dead/g;
is($n, 1, '... tried once (retried after 5 minutes, not per handshake)');

# a stream server's handshakes: the same fetch and staple
$out = staple_after_fetch($f->port(12));
like($out, qr/Cert Status: good/, 'stream: a response is stapled, "good"');

# a certificate without AIA: the responder of ssl_stapling_responder
$out = staple_after_fetch($f->port(4));
like($out, qr/Cert Status: good/, 'ssl_stapling_responder: the response of that responder is stapled');

# SNI: the named server's certificate, fetched from its responder
{
    my $last = '';
    wait_until { $last = `echo | timeout 5 openssl s_client -connect 127.0.0.1:$p0 -servername sni.test -status 2>&1`;
                 $last =~ /OCSP Response Status/ } 10;
    like($last, qr/Cert Status: good/, 'SNI: the named server\'s response is stapled');
    like($last, qr/subject=CN ?= ?noaia\.test/, '... with its certificate');
}

# a responder that answers 500
$p = $f->port(7);
status($p);
ok((wait_until { $f->error_log =~ /OCSP responder sent status 500 while requesting certificate status, responder: 127\.0\.0\.1:\d+/ } 10),
   'a responder answering 500: "OCSP responder sent status 500" logged');
like(status($p), qr/OCSP response: no response sent/, '... nothing stapled');

# a responder that never answers: the fetch waits, handshakes do not
$p = $f->port(9);
$out = status($p);
like($out, qr/OCSP response: no response sent/, 'a silent responder: the handshake that starts the fetch goes on');
ok((wait_until { -s $silent_count } 10), '... the request reached it');
$out = status($p);
like($out, qr/OCSP response: no response sent/, '... later handshakes complete while the fetch waits');
like($out, qr/Cipher is|New, TLS/, '... (a full handshake)');
is(-s $silent_count, 1, '... and start no second fetch');
like(http_tls($f->port(9)), qr/silent/, '... requests are served meanwhile');

# responders by name, the resolver dnsmasq, started now
SKIP: {
    skip 'dnsmasq not installed (sh auto/deps --test)', 12 unless dnsmasq_bin();
    my $dns_log = "$d/dnsmasq.log";
    open my $hf, '>', "$d/dns.hosts" or die;
    print $hf "127.0.0.2 localhost\n127.0.0.1 localhost\n";
    close $hf;
    ok(dnsmasq_server($f->port(17), "$d/dns.hosts", $dns_log, 1), 'dnsmasq answers');
    unlike(Ferry::Test::read_file($dns_log) // '', qr/query\[A\] localhost/,
           'no fetch yet: the resolver not asked');

    $out = staple_after_fetch($f->port(13));
    like($out, qr/Cert Status: good/, 'a responder by name, asked of the resolver: stapled, "good"');
    like(Ferry::Test::read_file($dns_log) // '', qr/query\[A\] localhost from 127\.0\.0\.1/,
         '... the name was asked of the resolver at the fetch');

    $p = $f->port(14);
    status($p);
    ok((wait_until { $f->error_log =~ /connect\(\) failed while requesting certificate status, responder: localhost:$dead, peer: 127\.0\.0\.2:$dead, certificate: "\S+good-chain\.crt"/ } 10),
       'the address connected to is the resolver\'s answer (127.0.0.2), not the one read with the configuration');

    $p = $f->port(15);
    like(status($p), qr/OCSP response: no response sent/, 'a resolver that does not answer: the handshake goes on without a staple');
    ok((wait_until { $f->error_log =~ /\[error\] .*localhost could not be resolved \(110: Operation timed out\) while requesting certificate status, responder: localhost:$rport, certificate: "\S+good-chain\.crt"/ } 10),
       '... "could not be resolved (110: Operation timed out)" logged as nginx, without a peer');
    like(status($p), qr/OCSP response: no response sent/, '... nothing stapled');

    # nginx tries a responder's next address after a failure
    $p = $f->port(19);
    my $p8 = $f->port(8);
    like(status($p), qr/OCSP response: no response sent/, 'a name with two addresses, neither answering well');
    ok((wait_until { $f->error_log =~ /OCSP responder sent status 500 while requesting certificate status, responder: localhost:$p8, peer: 127\.0\.0\.1:$p8/
                     && $f->error_log =~ /connect\(\) failed while requesting certificate status, responder: localhost:$p8, peer: 127\.0\.0\.2:$p8/ } 10),
       '... both tried in one fetch, each failure logged with its peer, as nginx');

    $out = staple_after_fetch($f->port(16));
    like($out, qr/Cert Status: good/, 'a responder by name, no resolver: the address read with the configuration, stapled');
    like($f->error_log, qr/\[warn\] .*no resolver defined to resolve localhost while requesting certificate status, responder: localhost:$rport, peer: \S+:$rport, certificate: "\S+good-chain\.crt"/,
         '... with nginx\'s warning "no resolver defined to resolve localhost"');
}

# a client that does not ask gets nothing, and costs no fetch
$out = `echo | timeout 5 openssl s_client -connect 127.0.0.1:$p 2>&1`;
unlike($out, qr/OCSP response/, 'no status_request: no OCSP in the handshake');

$f->stop;

done_testing;
