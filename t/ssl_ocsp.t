#!/usr/bin/perl
#
# Client certificates checked with OCSP: ssl_ocsp on | leaf,
# ssl_ocsp_responder, ssl_ocsp_cache, against real responders
# ("openssl ocsp -index ... -port").  A root CA signs the server's
# certificate, client certificates "good" and "rev" (revoked), one
# without an OCSP URL, the root responder's OCSPSigning certificate and
# an intermediate, which the root's database says is revoked; the
# intermediate signs "leafy", which its own responder (signing with the
# intermediate's key) says is good.  Clients are "openssl s_client"
# with -cert (and -cert_chain for leafy).
#
# Checked: good -> 200 and $ssl_client_verify SUCCESS; unknown to the
# responder -> 400, FAILED:certificate status unknown; revoked -> 400
# "The SSL certificate error" with "ssl_verify_client on" and with
# "optional" (nginx's check is the same for both), the access log
# saying "FAILED:certificate revoked"; a certificate without OCSP URL,
# a responder that is down and answers signed by a CA nobody trusts ->
# 400, "certificate status request failed", logged as nginx; "on" asks
# about the intermediate too (its revocation fails leafy), "leaf" only
# about leafy; ssl_ocsp off lets the revoked one in, ssl_ocsp without
# ssl_verify_client asks for nothing; ssl_ocsp_cache: a second
# connection is answered without asking the responder again (a
# counting proxy in front of it); a responder that never answers: the
# worker serves others meanwhile, the client waits until the
# handshake's timeout; resumed sessions are checked again; a stream
# server refuses the revoked client the same way; config errors with
# file and line.  Responders named by host names (dnsmasq): asked of
# the server's resolver at the check, and without a resolver nginx's
# "no resolver defined to resolve"; a name that does not resolve fails
# the check with nginx's "could not be resolved".

use strict;
use warnings;
use Test::More;
use Ferry::Test;
use Ferry::OCSP;
use IO::Socket::INET;

plan skip_all => 'no openssl' unless grep { -x "$_/openssl" } split /:/, $ENV{PATH};

my $f = Ferry::Test->new(conf => main_conf() . <<'EOF');
worker_processes 1;
events { worker_connections 64; }
http {
    log_format v '$server_port $status $ssl_client_verify';
    log_format r '$ssl_session_reused $status $ssl_client_verify';
    access_log logs/v.log v;
    ssl_certificate srv.crt;
    ssl_certificate_key srv.key;
    ssl_client_certificate ca.crt;
    ssl_verify_depth 2;
    # on: the chain but the root
    server {
        listen 127.0.0.1:%%PORT_0%% ssl;
        ssl_verify_client on;
        ssl_ocsp on;
        location / { return 200 "$ssl_client_verify\n"; }
    }
    # optional
    server {
        listen 127.0.0.1:%%PORT_1%% ssl;
        ssl_verify_client optional;
        ssl_ocsp on;
        location / { return 200 "$ssl_client_verify\n"; }
    }
    # leaf: the client's certificate only
    server {
        listen 127.0.0.1:%%PORT_2%% ssl;
        ssl_verify_client on;
        ssl_ocsp leaf;
        location / { return 200 "$ssl_client_verify\n"; }
    }
    # a responder that is down, given by ssl_ocsp_responder
    server {
        listen 127.0.0.1:%%PORT_3%% ssl;
        ssl_verify_client on;
        ssl_ocsp on;
        ssl_ocsp_responder http://127.0.0.1:%%PORT_5%%/;
        location / { return 200 "$ssl_client_verify\n"; }
    }
    # the cache, the responder behind a counting proxy
    server {
        listen 127.0.0.1:%%PORT_4%% ssl;
        ssl_verify_client on;
        ssl_ocsp on;
        ssl_ocsp_responder http://127.0.0.1:%%PORT_8%%/ocsp;
        ssl_ocsp_cache shared:OCSP:1m;
        location / { return 200 "$ssl_client_verify\n"; }
    }
    # a responder that never answers; the wait bounded by the
    # handshake's timeout
    server {
        listen 127.0.0.1:%%PORT_11%% ssl;
        client_header_timeout 1s;
        ssl_verify_client on;
        ssl_ocsp on;
        ssl_ocsp_responder http://127.0.0.1:%%PORT_12%%/;
        location / { return 200 "$ssl_client_verify\n"; }
    }
    # resumed sessions (tickets), logged
    server {
        listen 127.0.0.1:%%PORT_13%% ssl;
        access_log logs/r.log r;
        ssl_verify_client on;
        ssl_ocsp leaf;
        location / { return 200 "$ssl_client_verify\n"; }
    }
    # a responder whose answers are signed by a CA nobody trusts
    server {
        listen 127.0.0.1:%%PORT_15%% ssl;
        ssl_verify_client on;
        ssl_ocsp on;
        ssl_ocsp_responder http://127.0.0.1:%%PORT_16%%/;
        location / { return 200 "$ssl_client_verify\n"; }
    }
    # ssl_ocsp without ssl_verify_client: no certificate asked for
    server {
        listen 127.0.0.1:%%PORT_14%% ssl;
        ssl_ocsp on;
        location / { return 200 "$ssl_client_verify\n"; }
    }
    # responders by name: the resolver (dnsmasq, started after ferry)
    server {
        listen 127.0.0.1:%%PORT_17%% ssl;
        resolver 127.0.0.1:%%PORT_19%%;
        resolver_timeout 5s;
        ssl_verify_client on;
        ssl_ocsp leaf;
        location / { return 200 "$ssl_client_verify\n"; }
    }
    # ... none
    server {
        listen 127.0.0.1:%%PORT_18%% ssl;
        ssl_verify_client on;
        ssl_ocsp leaf;
        location / { return 200 "$ssl_client_verify\n"; }
    }
    # ssl_ocsp_responder's name: resolved when read, and by the resolver
    # (dnsmasq: localhost is 127.0.0.2) at each check
    server {
        listen 127.0.0.1:%%PORT_20%% ssl;
        resolver 127.0.0.1:%%PORT_19%%;
        ssl_verify_client on;
        ssl_ocsp leaf;
        ssl_ocsp_responder http://localhost:%%PORT_5%%/;
        location / { return 200 "$ssl_client_verify\n"; }
    }
    # no OCSP
    server {
        listen 127.0.0.1:%%PORT_9%% ssl;
        ssl_verify_client on;
        location / { return 200 "$ssl_client_verify\n"; }
    }
}
stream {
    server {
        listen 127.0.0.1:%%PORT_10%% ssl;
        ssl_certificate srv.crt;
        ssl_certificate_key srv.key;
        ssl_client_certificate ca.crt;
        ssl_verify_client on;
        ssl_ocsp on;
        return "stream $ssl_client_verify\n";
    }
}
EOF

my $d = $f->prefix . '/conf';
my $root_port = $f->port(6);
my $int_port = $f->port(7);
my $o = 'openssl';

# ---- the PKI -------------------------------------------------------------

my $aia_root = "authorityInfoAccess=OCSP;URI:http://127.0.0.1:$root_port/\\n";
my $aia_int = "authorityInfoAccess=OCSP;URI:http://127.0.0.1:$int_port/\\n";
my $serial = 100;
sub issue {
    my ($name, $ca, $ext) = @_;
    sh("cd $d && $o req -new -newkey rsa:2048 -nodes -keyout $name.key -out $name.csr"
       . " -subj '/CN=$name.test'");
    sh("cd $d && printf '$ext' > $name.ext");
    sh("cd $d && $o x509 -req -in $name.csr -CA $ca.crt -CAkey $ca.key"
       . " -set_serial " . $serial++ . " -out $name.crt -days 2 -extfile $name.ext");
}
sh("cd $d && $o req -x509 -newkey rsa:2048 -nodes -keyout ca.key -out ca.crt -days 2"
   . " -subj '/CN=OCSP Client Root'");
sh("cd $d && $o req -x509 -newkey rsa:2048 -nodes -keyout other.key -out other.crt -days 2"
   . " -subj '/CN=Another Root'");
issue('srv', 'ca', "subjectAltName=DNS:srv.test\\n");
issue('good', 'ca', $aia_root);
issue('rev', 'ca', $aia_root);
issue('noaia', 'ca', "subjectAltName=DNS:noaia.test\\n");
issue('unk', 'ca', $aia_root);          # not in the root's database
issue('ocsp', 'ca', "extendedKeyUsage=OCSPSigning\\n");
issue('int', 'ca', "basicConstraints=critical,CA:true\\nkeyUsage=keyCertSign,cRLSign\\n$aia_root");
issue('leafy', 'int', $aia_int);
# responders by name: one dnsmasq knows, one it does not
issue('named', 'ca', "authorityInfoAccess=OCSP;URI:http://ocsp.test:$root_port/\\n");
issue('nowhere', 'ca', "authorityInfoAccess=OCSP;URI:http://nowhere.test:$root_port/\\n");
# the databases: the root's (rev and the intermediate revoked), the
# intermediate's (leafy good)
for my $ca ('ca', 'int') {
    sh("cd $d && mkdir -p db-$ca && : > db-$ca/index.txt");
    sh("cd $d && printf '[ca]\\ndefault_ca=d\\n[d]\\ndatabase=db-$ca/index.txt\\n"
       . "certificate=$ca.crt\\nprivate_key=$ca.key\\ndefault_md=sha256\\n' > $ca.cnf");
}
sh("cd $d && $o ca -config ca.cnf -valid good.crt");
sh("cd $d && $o ca -config ca.cnf -valid noaia.crt");
sh("cd $d && $o ca -config ca.cnf -valid named.crt");
sh("cd $d && $o ca -config ca.cnf -valid nowhere.crt");
sh("cd $d && $o ca -config ca.cnf -revoke rev.crt");
sh("cd $d && $o ca -config ca.cnf -revoke int.crt");
sh("cd $d && $o ca -config int.cnf -valid leafy.crt");

# ---- configuration: errors -----------------------------------------------

my ($rc, $out) = $f->run('-t');
is($rc, 0, '-t: accepted') or diag($out);

http_conf_refused("ssl_ocsp maybe;",
                  qr/"ssl_ocsp" directive invalid value "maybe".* in \S+ferry\.conf:\d+/,
                  'ssl_ocsp: not on, off or leaf');
http_conf_refused("ssl_ocsp on; ssl_ocsp leaf;",
                  qr/"ssl_ocsp" directive is duplicate in \S+ferry\.conf:\d+/,
                  'ssl_ocsp twice');
http_conf_refused("ssl_ocsp_responder https://127.0.0.1/;",
                  qr/invalid URL prefix in OCSP responder "https:\/\/127\.0\.0\.1\/".* in \S+ferry\.conf:\d+/,
                  'ssl_ocsp_responder https://');
http_conf_refused("ssl_ocsp_cache shared:X;",
                  qr/invalid OCSP cache "shared:X" in \S+ferry\.conf:\d+/,
                  'ssl_ocsp_cache without a size');
http_conf_refused("ssl_ocsp_cache X:16k;",
                  qr/OCSP cache "X:16k" is too small in \S+ferry\.conf:\d+/,
                  'ssl_ocsp_cache below 32k');
http_conf_refused("server { ssl_ocsp_cache shared:Z:1m; }\n    server { ssl_ocsp_cache Z:2m; }",
                  qr/the size 2097152 of ssl_ocsp_cache "Z" conflicts with the size 1048576 given in \S+ferry\.conf:6, in \S+ferry\.conf:7\b/,
                  'one ssl_ocsp_cache name with two sizes');
http_conf_refused("ssl_ocsp_cache off; ssl_ocsp_cache off;",
                  qr/"ssl_ocsp_cache" directive is duplicate in \S+ferry\.conf:\d+/,
                  'ssl_ocsp_cache twice');
{
    my $srv = "    server { listen 127.0.0.1:%%PORT_0%% ssl; ssl_certificate $d/srv.crt;\n"
            . "             ssl_certificate_key $d/srv.key; ssl_client_certificate $d/ca.crt;\n";
    conf_refused("http {\n$srv"
                 . "             ssl_verify_client optional_no_ca;\n"
                 . "             ssl_ocsp on; }\n}\n",
                 qr/\[emerg\] "ssl_ocsp" is incompatible with "ssl_verify_client optional_no_ca" in \S+ferry\.conf:9\b/,
                 'ssl_ocsp with ssl_verify_client optional_no_ca');
    conf_refused("http {\n$srv"
                 . "             ssl_verify_client on; ssl_ocsp on;\n"
                 . "             ssl_ocsp_responder http://127.0.0.1:99999/; }\n}\n",
                 qr/\[emerg\] invalid port in OCSP responder "http:\/\/127\.0\.0\.1:99999\/" in "ssl_ocsp_responder" in \S+ferry\.conf:9\b/,
                 'ssl_ocsp_responder with a bad port');
}

# ---- the responders ------------------------------------------------------

sub responder {
    my ($port, $ca, $signer) = @_;
    Ferry::OCSP::responder(dir => $d, port => $port, index => "db-$ca/index.txt",
                           ca => "$ca.crt", signer => $signer, log => "$d/ocsp-$ca.log");
}
# the root's answers signed by a responder it certified, the
# intermediate's by itself
responder($root_port, 'ca', 'ocsp');
responder($int_port, 'int', 'int');
# the root's database, answers signed by another CA
Ferry::OCSP::responder(dir => $d, port => $f->port(16), index => 'db-ca/index.txt',
                       ca => 'ca.crt', signer => 'other', log => "$d/ocsp-other.log");

# a proxy in front of the root's responder that counts the requests
my $count = "$d/proxy.count";
tcp_server($f->port(8), sub {
    my ($c) = @_;
    my $req = '';
    while ($req !~ /\r\n\r\n/ || length($req) < index($req, "\r\n\r\n") + 4
           + (($req =~ /Content-Length:\s*(\d+)/i) ? $1 : 0))
    {
        sysread($c, $req, 65536, length $req) or last;
    }
    open my $fh, '>>', $count; print $fh "x"; close $fh;
    my $r = IO::Socket::INET->new("127.0.0.1:$root_port") or return;
    print $r $req;
    my $resp = '';
    1 while sysread($r, $resp, 65536, length $resp);
    print $c $resp;
});

# a responder that reads the request and never answers (it counts them)
my $silent = "$d/silent.count";
tcp_server($f->port(12), sub {
    my ($c) = @_;
    open my $fh, '>>', $silent; print $fh "x"; close $fh;
    1 while sysread($c, my $buf, 65536);
});

$f->allow_log(qr/OCSP|certificate status|resolv/);
$f->start;

# One request over TLS with a client certificate (and its chain): the
# answer, or '' when the server closed without one.
sub get {
    my ($port, $cert, $chain, $nothing, $extra) = @_;
    my $c = $cert ? "-cert $d/$cert.crt -key $d/$cert.key" : '';
    $c .= " -cert_chain $d/$chain.crt" if $chain;
    $c .= " $extra" if $extra;
    # a stream server answers at once: nothing sent, the end of input
    # ignored (-quiet) until the server closes
    my $in = $nothing ? 'cat /dev/null' : "printf 'GET / HTTP/1.0\\r\\n\\r\\n'";
    return scalar `$in | timeout 10 $o s_client -connect 127.0.0.1:$port $c -quiet 2>/dev/null`;
}

sub vlog { return Ferry::Test::read_file($f->prefix . '/logs/v.log') // ''; }

my $p0 = $f->port(0);
$out = get($p0, 'good');
like($out, qr/^HTTP\/1\.1 200 /, 'on, a good certificate: 200');
like($out, qr/\r\n\r\nSUCCESS\n/, '... $ssl_client_verify SUCCESS');

$out = get($p0, 'rev');
like($out, qr/^HTTP\/1\.1 400 /, 'on, a revoked certificate: 400');
like($out, qr/<title>400 The SSL certificate error<\/title>/, '... "The SSL certificate error"');
ok((wait_until { vlog() =~ /^$p0 400 FAILED:certificate revoked$/m } 5),
   '... the access log has $ssl_client_verify "FAILED:certificate revoked"');
like($f->error_log, qr/\[info\] .*client SSL certificate verify error: certificate revoked, client 127\.0\.0\.1/,
     '... logged at info as nginx');

my $p1 = $f->port(1);
like(get($p1, 'good'), qr/\r\n\r\nSUCCESS\n/, 'optional, a good certificate: SUCCESS');
like(get($p1, 'rev'), qr/^HTTP\/1\.1 400 .*The SSL certificate error/s,
     'optional, a revoked certificate: 400 too (nginx checks OCSP the same way)');
ok((wait_until { vlog() =~ /^$p1 400 FAILED:certificate revoked$/m } 5), '... logged FAILED:certificate revoked');
like(get($p1), qr/\r\n\r\nNONE\n/, 'optional without a certificate: nothing to check, NONE');

# a certificate the responder does not know
$out = get($p0, 'unk');
like($out, qr/^HTTP\/1\.1 400 /, 'a certificate the responder does not know: 400');
ok((wait_until { vlog() =~ /^$p0 400 FAILED:certificate status unknown$/m } 5),
   '... FAILED:certificate status unknown');

# no OCSP URL in the certificate
$out = get($p0, 'noaia');
like($out, qr/^HTTP\/1\.1 400 /, 'a certificate without OCSP responder URL: 400');
ok((wait_until { vlog() =~ /^$p0 400 FAILED:certificate status request failed$/m } 5),
   '... FAILED:certificate status request failed');
like($f->error_log, qr/\[error\] .*no OCSP responder URL in certificate, certificate: "[^"]*noaia\.test", client 127\.0\.0\.1/,
     '... logged with the certificate and the client');

# on vs leaf: the intermediate is revoked at the root's responder
my $p2 = $f->port(2);
$out = get($p0, 'leafy', 'int');
like($out, qr/^HTTP\/1\.1 400 /, 'on: a certificate whose intermediate is revoked: 400');
ok((wait_until { vlog() =~ /^$p0 400 FAILED:certificate revoked$/m } 5), '... revoked');
$out = get($p2, 'leafy', 'int');
like($out, qr/^HTTP\/1\.1 200 /, 'leaf: the same certificate, only it is asked about: 200');
like($out, qr/\r\n\r\nSUCCESS\n/, '... SUCCESS');
like(get($p2, 'rev'), qr/^HTTP\/1\.1 400 /, 'leaf: a revoked certificate: 400');
like(get($p2, 'good'), qr/\r\n\r\nSUCCESS\n/, 'leaf: a good one: SUCCESS');

# the responder is down
my $p3 = $f->port(3);
my $dead = $f->port(5);
$out = get($p3, 'good');
like($out, qr/^HTTP\/1\.1 400 /, 'responder down: 400');
ok((wait_until { vlog() =~ /^$p3 400 FAILED:certificate status request failed$/m } 5),
   '... FAILED:certificate status request failed');
like($f->error_log, qr/\[error\] .*connect\(\) failed while requesting certificate status, responder: 127\.0\.0\.1:$dead, peer: 127\.0\.0\.1:$dead, certificate: "[^"]*good\.test", client 127\.0\.0\.1: Connection refused/,
     '... connect() failed logged with responder, peer, certificate and client');

# no ssl_ocsp: the revoked certificate passes
my $p9 = $f->port(9);
like(get($p9, 'rev'), qr/\r\n\r\nSUCCESS\n/, 'without ssl_ocsp: the revoked certificate is not checked');

# an answer "good" signed by a CA that is not trusted
$out = get($f->port(15), 'good');
like($out, qr/^HTTP\/1\.1 400 /, 'a "good" signed by an untrusted CA: 400');
my $p15 = $f->port(15);
ok((wait_until { vlog() =~ /^$p15 400 FAILED:certificate status request failed$/m } 5),
   '... FAILED:certificate status request failed');
like($f->error_log, qr/\[error\] .*OCSP_basic_verify\(\) failed .* while requesting certificate status, responder: 127\.0\.0\.1:\d+, peer: 127\.0\.0\.1:\d+, certificate: "[^"]*good\.test"/,
     '... OCSP_basic_verify() failed logged');

# ssl_ocsp without ssl_verify_client: accepted, nothing to check
like(get($f->port(14), 'rev'), qr/\r\n\r\nNONE\n/,
     'ssl_ocsp without ssl_verify_client: no certificate asked for, NONE');

# the cache: the second connection is answered from it
my $p4 = $f->port(4);
like(get($p4, 'good'), qr/\r\n\r\nSUCCESS\n/, 'ssl_ocsp_cache, ssl_ocsp_responder: good, SUCCESS');
is(-s $count, 1, '... the responder was asked once (through the proxy ssl_ocsp_responder names)');
like(get($p4, 'good'), qr/\r\n\r\nSUCCESS\n/, 'a second connection: SUCCESS');
is(-s $count, 1, '... from the cache: the responder was not asked again');
like(get($p4, 'rev'), qr/^HTTP\/1\.1 400 /, 'cache: revoked: 400');
is(-s $count, 2, '... one more request');
like(get($p4, 'rev'), qr/^HTTP\/1\.1 400 /, '... revoked again, from the cache');
is(-s $count, 2, '... the revoked status is cached too');

# a responder that never answers: the client waits, the worker does not
{
    my $p11 = $f->port(11);
    open(my $bg, '-|', "printf 'GET / HTTP/1.0\\r\\n\\r\\n' | timeout 10 $o s_client"
         . " -connect 127.0.0.1:$p11 -cert $d/good.crt -key $d/good.key -quiet 2>/dev/null")
        or die "s_client: $!";
    ok((wait_until { -s $silent } 5), 'a silent responder: the check\'s request reached it');
    like(get($p0, 'good'), qr/\r\n\r\nSUCCESS\n/,
         '... meanwhile the worker serves another client (and checks its certificate)');
    my $waited = do { local $/; <$bg> };
    close $bg;
    is($waited, '', '... the waiting client gets no answer: closed at the handshake\'s timeout');
    ok((wait_until { $f->error_log =~ /\[info\] .*client timed out in SSL handshake, client 127\.0\.0\.1/ } 5),
       '... logged as a handshake timeout');
    is(-s $silent, 1, '... one request made');
}

# resumed sessions: checked again; a chain that needs the client's
# intermediate cannot be built without it: the connection is closed
# (nginx)
{
    my $p13 = $f->port(13);
    my $rlog = sub { Ferry::Test::read_file($f->prefix . '/logs/r.log') // '' };
    for my $c (['good', '^r 200 SUCCESS$', 'good: 200 SUCCESS again'],
               ['rev', '^r 400 FAILED:certificate revoked$', 'revoked: 400 again, no way in by resuming'])
    {
        my ($cert, $re, $name) = @$c;
        get($p13, $cert, undef, undef, "-sess_out $d/$cert.sess");
        ok(-s "$d/$cert.sess", "$cert: a session kept by the client");
        get($p13, $cert, undef, undef, "-sess_in $d/$cert.sess");
        ok((wait_until { $rlog->() =~ /$re/m } 5), "a resumed session, $name") or diag($rlog->());
    }
    like(get($p13, 'leafy', 'int', undef, "-sess_out $d/leafy.sess"), qr/\r\n\r\nSUCCESS\n/,
         'leafy, its intermediate sent by the client: SUCCESS');
    is(get($p13, 'leafy', 'int', undef, "-sess_in $d/leafy.sess"), '',
       '... resumed, the chain cannot be built without the intermediate: closed');
    like($f->error_log, qr/\[error\] .*X509_verify_cert\(\) failed \(\d+: [^)]+\) while building the chain for OCSP of a resumed session, client 127\.0\.0\.1/,
         '... logged');
}

# responders named by host names, the resolver dnsmasq, started now
SKIP: {
    skip 'dnsmasq not installed (sh auto/deps --test)', 12 unless dnsmasq_bin();
    my $p17 = $f->port(17);
    my $dns_log = "$d/dnsmasq.log";
    open my $hf, '>', "$d/dns.hosts" or die;
    print $hf "127.0.0.1 ocsp.test\n127.0.0.2 localhost\n";
    close $hf;
    ok(dnsmasq_server($f->port(19), "$d/dns.hosts", $dns_log, 1), 'dnsmasq answers');

    $out = get($p17, 'named');
    like($out, qr/^HTTP\/1\.1 200 /, 'a responder by name, the resolver knows it: 200');
    like($out, qr/\r\n\r\nSUCCESS\n/, '... SUCCESS');
    like(Ferry::Test::read_file($dns_log) // '', qr/query\[A\] ocsp\.test from 127\.0\.0\.1/,
         '... the name was asked of the resolver, at the check (it started after ferry)');

    $out = get($p17, 'nowhere');
    like($out, qr/^HTTP\/1\.1 400 /, 'a responder name the resolver does not know: 400');
    ok((wait_until { vlog() =~ /^$p17 400 FAILED:certificate status request failed$/m } 5),
       '... FAILED:certificate status request failed');
    like($f->error_log, qr/\[error\] .*nowhere\.test could not be resolved \(3: Host not found\) while requesting certificate status, responder: nowhere\.test:$root_port, certificate: "[^"]*nowhere\.test", client 127\.0\.0\.1/,
         '... logged as nginx: "could not be resolved (3: Host not found)", no peer');

    my $p18 = $f->port(18);
    $out = get($p18, 'named');
    like($out, qr/^HTTP\/1\.1 400 /, 'a responder by name, no resolver: 400');
    like($f->error_log, qr/\[error\] .*no resolver defined to resolve ocsp\.test while requesting certificate status, responder: ocsp\.test:$root_port, certificate: "[^"]*named\.test", client 127\.0\.0\.1/,
         '... "no resolver defined to resolve ocsp.test" logged as nginx');

    # ssl_ocsp_responder http://localhost:DEAD/: the resolver's answer
    # is the address tried (the system's localhost is 127.0.0.1)
    my $p20 = $f->port(20);
    $out = get($p20, 'good');
    like($out, qr/^HTTP\/1\.1 400 /, 'ssl_ocsp_responder by name, the resolver\'s address has no responder: 400');
    like($f->error_log, qr/\[error\] .*connect\(\) failed while requesting certificate status, responder: localhost:$dead, peer: 127\.0\.0\.2:$dead, certificate: "[^"]*good\.test"/,
         '... the address tried is the resolver\'s answer, 127.0.0.2');
    like(Ferry::Test::read_file($dns_log) // '', qr/query\[A\] localhost from 127\.0\.0\.1/,
         '... asked of the resolver at the check');
}

# stream
my $p10 = $f->port(10);
like(get($p10, 'good', undef, 1), qr/^stream SUCCESS$/m, 'stream, a good certificate: SUCCESS');
is(get($p10, 'rev', undef, 1), '', 'stream, a revoked certificate: the session is closed');
like($f->error_log, qr/\[info\] .*client SSL certificate verify error: certificate revoked, client: 127\.0\.0\.1/,
     '... logged at info');

$f->stop;

done_testing;
