#!/usr/bin/perl
#
# TLS to upstreams (proxy_pass https://): verification success and
# failure (wrong CA, wrong name, depth) answered 502 with the reason in
# the log, SNI and proxy_ssl_name, a client certificate, session reuse,
# kept-alive TLS connections, bodies both ways, chunked responses, a
# WebSocket tunnel, the handshake under proxy_connect_timeout, a failed
# handshake passed to the next server, and configuration errors.  The
# backends are Ferry::Test::Backend with its ssl option (IO::Socket::SSL);
# certificates come from a throwaway CA made with the openssl command line.

use strict;
use warnings;
use Test::More;
use Ferry::Test;

plan skip_all => 'no openssl' unless grep { -x "$_/openssl" } split /:/, $ENV{PATH};
plan skip_all => 'no IO::Socket::SSL' unless eval { require IO::Socket::SSL; 1 };

# root CA -> intermediate -> a.test (the backends' certificate, chain
# included); the root also signs ferry's client certificate; another CA
# signs nothing we use.
sub make_pki {
    my ($d) = @_;
    my $o = 'openssl';
    for my $ca ('ca', 'other-ca') {
        sh("cd $d && $o req -x509 -newkey rsa:2048 -nodes -keyout $ca.key -out $ca.crt"
           . " -days 2 -subj '/CN=Ferry Test $ca'");
    }
    sh("cd $d && printf 'basicConstraints=critical,CA:TRUE\\nkeyUsage=keyCertSign,cRLSign\\n' > ca.ext");
    sh("cd $d && $o req -newkey rsa:2048 -nodes -keyout int.key -out int.csr"
       . " -subj '/CN=Ferry Test Intermediate'");
    sh("cd $d && $o x509 -req -in int.csr -CA ca.crt -CAkey ca.key -CAcreateserial"
       . " -out int.crt -days 2 -extfile ca.ext");
    for my $n (['a', 'a.test', 'int', 'serverAuth'],
               ['client', 'ferry-client', 'ca', 'clientAuth'],
               ['other', 'other', 'ca', 'clientAuth'])
    {
        my ($file, $cn, $issuer, $eku) = @$n;
        sh("cd $d && $o genpkey -algorithm EC -pkeyopt ec_paramgen_curve:P-256 -out $file.key");
        sh("cd $d && $o req -new -key $file.key -out $file.csr -subj '/CN=$cn'");
        sh("cd $d && printf 'subjectAltName=DNS:$cn\\nextendedKeyUsage=$eku\\n' > $file.ext");
        sh("cd $d && $o x509 -req -in $file.csr -CA $issuer.crt -CAkey $issuer.key"
           . " -CAcreateserial -out $file.leaf -days 2 -extfile $file.ext");
    }
    sh("cd $d && cat a.leaf int.crt > a.crt");
    sh("cd $d && cp client.leaf client.crt");
}

my $verify = "proxy_ssl_verify on; proxy_ssl_trusted_certificate ca.crt;";

my $conf = main_conf() . <<"EOF";
worker_processes 1;
events { worker_connections 128; }
http {
    access_log off;
    upstream tlsapp { server 127.0.0.1:%%PORT_1%%; keepalive 4; }
    upstream closing { server 127.0.0.1:%%PORT_7%%; keepalive 2; }
    upstream failover {
        server 127.0.0.1:%%PORT_4%%;      # plain HTTP: the handshake fails
        server 127.0.0.1:%%PORT_1%%;
    }
    server {
        listen 127.0.0.1:%%PORT_0%%;
        client_max_body_size 10m;
        proxy_connect_timeout 2s;

        location /off/          { proxy_pass https://127.0.0.1:%%PORT_1%%; }
        location /verify/       { proxy_pass https://127.0.0.1:%%PORT_1%%; $verify
                                  proxy_ssl_name a.test; proxy_ssl_server_name on; }
        location /verify-ip/    { proxy_pass https://127.0.0.1:%%PORT_1%%; $verify }
        location /wrong-ca/     { proxy_pass https://127.0.0.1:%%PORT_1%%;
                                  proxy_ssl_verify on; proxy_ssl_name a.test;
                                  proxy_ssl_trusted_certificate other-ca.crt; }
        location /wrong-name/   { proxy_pass https://127.0.0.1:%%PORT_1%%; $verify
                                  proxy_ssl_name b.test; }
        location /depth0/       { proxy_pass https://127.0.0.1:%%PORT_1%%; $verify
                                  proxy_ssl_name a.test; proxy_ssl_verify_depth 0; }
        location /sni/          { proxy_pass https://tlsapp; proxy_ssl_server_name on; }
        location /sni-var/      { proxy_pass https://127.0.0.1:%%PORT_1%%;
                                  proxy_ssl_server_name on;
                                  proxy_ssl_name \$http_x_name; }
        location /sni-ip/       { proxy_pass https://127.0.0.1:%%PORT_1%%;
                                  proxy_ssl_server_name on; }
        location /tls12/        { proxy_pass https://127.0.0.1:%%PORT_1%%;
                                  proxy_ssl_protocols TLSv1.2;
                                  proxy_ssl_ciphers ECDHE-ECDSA-AES128-GCM-SHA256; }
        location /cert/         { proxy_pass https://127.0.0.1:%%PORT_2%%;
                                  proxy_ssl_certificate client.crt;
                                  proxy_ssl_certificate_key client.key; }
        location /no-cert/      { proxy_pass https://127.0.0.1:%%PORT_2%%; }
        location /reuse/        { proxy_pass https://127.0.0.1:%%PORT_3%%; }
        location /no-reuse/     { proxy_pass https://127.0.0.1:%%PORT_3%%;
                                  proxy_ssl_session_reuse off; }
        location /keep/         { proxy_pass https://tlsapp; }
        location /keep-sni/     { proxy_pass https://tlsapp; proxy_ssl_server_name on;
                                  proxy_ssl_name \$http_x_name; }
        location /next/         { proxy_pass https://failover; }
        location /ws/           { proxy_pass https://127.0.0.1:%%PORT_5%%; }
        location /closing/      { proxy_pass https://closing; }
        location /slow/         { proxy_pass https://127.0.0.1:%%PORT_6%%;
                                  proxy_connect_timeout 1s; }
    }
}
EOF

my $f = Ferry::Test->new(conf => $conf);
my $d = $f->prefix . '/conf';
make_pki($d);
my %tls = (cert => "$d/a.crt", key => "$d/a.key");
my $port = $f->port(0);

my $big = test_body(1_000_000, 3);
my $b1 = Ferry::Test::Backend->new(port => $f->port(1), ssl => \%tls, handler => sub {
    my ($req) = @_;
    return { mode => 'chunked', chunk_size => 7000, body => $big }
        if $req->{uri} =~ /chunked/;
    return Ferry::Test::Backend::echo($req);
});
my $b2 = Ferry::Test::Backend->new(port => $f->port(2), ssl => { %tls, ca => "$d/ca.crt" });
my $b3 = Ferry::Test::Backend->new(port => $f->port(3), ssl => \%tls);
# a plain HTTP server: it answers the ClientHello with an HTTP error
my $b4 = Ferry::Test::Backend->new(port => $f->port(4), on_connect => sub {
    my ($s) = @_;
    sysread $s, my $x, 4096;
    syswrite $s, "HTTP/1.1 400 Bad Request\r\nConnection: close\r\n\r\n";
});
my $b5 = Ferry::Test::Backend->new(port => $f->port(5), ssl => \%tls, raw => sub {
    my ($s, $req) = @_;
    syswrite $s, "HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\n"
               . "Connection: Upgrade\r\n\r\n";
    while (defined(my $line = <$s>)) {
        syswrite $s, uc $line;
    }
});
# answers one request on a kept-alive connection, then closes it while
# ferry holds it idle (close_notify, then the end of the stream)
my $b7 = Ferry::Test::Backend->new(port => $f->port(7), ssl => \%tls, raw => sub {
    my ($s, $req) = @_;
    Ferry::Test::Backend::_write_all($s, Ferry::Test::Backend::_response(
        $req, Ferry::Test::Backend::echo($req), 0));
    select undef, undef, undef, 0.3;
});
my $b6 = Ferry::Test::Backend->new(port => $f->port(6), on_connect => sub { sleep 4 });

$f->start;

sub get {
    my ($path, @h) = @_;
    my $r = http_get($port, $path, @h);
    return ($r, parse_echo($r->{body}) // {});
}

# ---- verification ------------------------------------------------------

my ($r, $e) = get('/off/x');
is($r->{status}, 200, 'verify off (default): proxied over TLS');
is($e->{'tls-sni'}, '', 'verify off: no SNI by default (proxy_ssl_server_name off)');
like($e->{'tls-protocol'}, qr/TLSv1_3/, 'TLSv1.3 by default');
is($e->{uri}, '/off/x', 'the request went up');

($r, $e) = get('/verify/x');
is($r->{status}, 200, 'verify on: the chain through the intermediate to ca.crt and the name a.test');
is($e->{'tls-sni'}, 'a.test', 'proxy_ssl_name is the SNI name');
like($e->{headers}[0][1] // '', qr/^127\.0\.0\.1:\d+$/, 'Host is still the proxy_pass host');

($r) = get('/verify-ip/x');
is($r->{status}, 502, 'verify on, default name 127.0.0.1 not in the certificate: 502');
my $ok = wait_until { $f->error_log =~ /\[error\].*upstream SSL certificate does not match "127\.0\.0\.1" while SSL handshaking to upstream.*upstream: "https:\/\/127\.0\.0\.1:\d+\/verify-ip\/x"/ } 3;
ok($ok, 'verify-ip: logged at [error] with the name and the https upstream');

($r) = get('/wrong-ca/x');
is($r->{status}, 502, 'wrong CA: 502');
$ok = wait_until { $f->error_log =~ /\[error\].*upstream SSL certificate verify error: \(20:unable to get local issuer certificate\) while SSL handshaking to upstream/ } 3;
ok($ok, 'wrong CA: logged with the verify reason');

($r) = get('/wrong-name/x');
is($r->{status}, 502, 'wrong name: 502');
$ok = wait_until { $f->error_log =~ /upstream SSL certificate does not match "b\.test"/ } 3;
ok($ok, 'wrong name: logged');

($r) = get('/depth0/x');
is($r->{status}, 502, 'proxy_ssl_verify_depth 0 with an intermediate: 502');
$ok = wait_until { $f->error_log =~ /upstream SSL certificate verify error: \(\d+:[^)]+\) while SSL handshaking to upstream, client: \S+ request: "GET \/depth0\// } 3;
ok($ok, 'depth 0: logged');

# ---- SNI, names, protocols -------------------------------------------

($r, $e) = get('/sni/x');
is($e->{'tls-sni'}, 'tlsapp', 'SNI: the default name is the upstream name');
($r, $e) = get('/sni-var/x', 'X-Name' => 'From.Header.test');
is($e->{'tls-sni'}, 'From.Header.test', 'proxy_ssl_name with a variable');
($r, $e) = get('/sni-ip/x');
is($r->{status}, 200, 'SNI on with an IP address name: proxied');
is($e->{'tls-sni'}, '', '... without SNI (RFC 6066 has no IP literals)');
($r, $e) = get('/tls12/x');
is($e->{'tls-protocol'}, 'TLSv1_2', 'proxy_ssl_protocols TLSv1.2');

# ---- client certificate ---------------------------------------------------

($r, $e) = get('/cert/x');
is($r->{status}, 200, 'client certificate: accepted by a backend that requires one');
is($e->{'tls-client'}, 'ferry-client', '... and it is ours');
($r) = get('/no-cert/x');
is($r->{status}, 502, 'no client certificate for a backend that requires one: 502');

# ---- session reuse -----------------------------------------------------

my @reused;
for (1 .. 3) {
    ($r, $e) = get('/reuse/x');
    push @reused, $e->{'tls-reused'} // '?';
}
is("@reused", '0 1 1', 'session reuse: the first connection is full, the next ones resume');
@reused = ();
for (1 .. 2) {
    ($r, $e) = get('/no-reuse/x');
    push @reused, $e->{'tls-reused'} // '?';
}
is("@reused", '0 0', 'proxy_ssl_session_reuse off: never resumed');

# ---- kept-alive TLS connections -----------------------------------------

my %conns;
my $n = 0;
for (1 .. 5) {
    ($r, $e) = get("/keep/$_");
    $n++ if $r->{status} == 200 && $e->{uri} eq "/keep/$_";
    $conns{$e->{'tls-conn'} // 'none'}++;
}
is($n, 5, 'keepalive over TLS: five requests');
is(scalar(keys %conns), 1, 'keepalive over TLS: one TLS connection at the backend');
# a kept connection is only for the same name
($r, $e) = get('/keep-sni/x', 'X-Name' => 'one.test');
my $c1 = $e->{'tls-conn'} // 'x1';
($r, $e) = get('/keep-sni/y', 'X-Name' => 'two.test');
is($e->{'tls-sni'}, 'two.test', 'kept connections: a request for another name ...');
isnt($e->{'tls-conn'} // 'x2', $c1, '... gets its own connection');
($r, $e) = get('/keep-sni/z', 'X-Name' => 'one.test');
is($e->{'tls-conn'} // 'x3', $c1, '... and the first name its kept one');

# a kept TLS connection the server closes while it is idle: noticed and
# dropped then (through TLS), not found broken by the next request
($r, $e) = get('/closing/1');
my $closing1 = $e->{'tls-conn'} // 'c1';
is($r->{status}, 200, 'closing backend: first request');
$ok = wait_until { my @l = $b7->request_lines; @l == 1 && !kill(0, $closing1) } 5;
ok($ok, '... the backend closed the kept connection');
select undef, undef, undef, 0.2;
($r, $e) = get('/closing/2');
is($r->{status}, 200, '... the next request is served');
isnt($e->{'tls-conn'} // $closing1, $closing1, '... on a new connection');
unlike($f->error_log, qr/kept upstream connection was closed, reconnecting.*closing\/2/,
       '... the idle close was noticed before, not by the request');

# ---- bodies ------------------------------------------------------------------

my $up = test_body(700_000, 1);
$r = http($port, build_request(method => 'POST', path => '/verify/post',
                               headers => [Connection => 'close'], body => $up),
          timeout => 10);
$e = parse_echo($r->{body}) // {};
is($e->{'body-length'}, 700_000, '700 kB POST over TLS: the backend got it all');
ok(($e->{body} // '') eq $up, '... and the echo came back byte-identical');

$r = http($port, build_request(path => '/verify/chunked', headers => [Connection => 'close']),
          timeout => 10);
ok($r->{chunked}, 'chunked response over TLS: passed chunked to a 1.1 client');
ok(($r->{body} // '') eq $big, '... 1 MB byte-identical');
$r = http($port, build_request(path => '/keep/chunked', version => '1.0'), timeout => 10);
ok(!$r->{chunked} && ($r->{body} // '') eq $big,
   'chunked over a kept TLS connection, decoded for a 1.0 client');
($r, $e) = get('/keep/after');
is($e->{uri}, '/keep/after', 'the kept connection still works after it');

# ---- WebSocket tunnel over TLS ---------------------------------------------

{
    my $c = Ferry::Test::Client->new($port, timeout => 5);
    $c->send("GET /ws/ HTTP/1.1\r\nHost: x\r\nConnection: Upgrade\r\nUpgrade: websocket\r\n\r\n");
    my $h = $c->read_response;
    is($h->{status}, 101, 'upgrade over a TLS upstream: 101');
    $c->send("hello tunnel\n");
    my $got = wait_until { ($c->_read_some(0.2) // 0); $c->buffer =~ /HELLO TUNNEL\n/ } 5;
    ok($got, 'tunnel over TLS: bytes both ways');
    $c->close;
}

# ---- failures are upstream errors ---------------------------------------------

($r, $e) = get('/next/x');
is($r->{status}, 200, 'a failed handshake (plain server) goes to the next server');
is($e->{uri}, '/next/x', '... which answered');
$ok = wait_until { $f->error_log =~ /\[error\].*SSL_do_handshake\(\) failed \(.*wrong version number\) while SSL handshaking to upstream.*upstream: "https:\/\/127\.0\.0\.1:\d+\/next\/x"/ } 3;
ok($ok, '... and the failure was logged with OpenSSL\'s reason');
like(http_get($port, '/next/y')->{status}, qr/^200$/,
     'the failed server is skipped afterwards (max_fails 1)');

my $t0 = time;
($r) = get('/slow/x');
is($r->{status}, 504, 'a server that never answers the handshake: 504');
cmp_ok(time - $t0, '<=', 3, '... after proxy_connect_timeout (1s)');
$ok = wait_until { $f->error_log =~ /upstream timed out while SSL handshaking to upstream/ } 3;
ok($ok, '... logged');

# each refused certificate ended the handshake with an alert from ferry
my @alerts = $b1->tls_errors;
is(scalar(@alerts), 4, 'the backend saw the four refused handshakes');
is(scalar(grep { /alert (bad certificate|unknown ca)/ } @alerts), 4,
   '... each ended by an alert from ferry (bad certificate, unknown ca)');

# ---- configuration ---------------------------------------------------------------

{
    my $base = main_conf() . "events { }\nhttp {\n    server {\n        listen 127.0.0.1:%%PORT_0%%;\n";
    my @bad = (
        ['location / { proxy_pass https://127.0.0.1:1; proxy_ssl_verify on; }',
         qr/no "proxy_ssl_trusted_certificate" for "proxy_ssl_verify" in \S+:8/,
         'proxy_ssl_verify without trusted certificates'],
        ['location / { proxy_pass https://127.0.0.1:1; proxy_ssl_trusted_certificate nothere.crt; }',
         qr/cannot load proxy_ssl_trusted_certificate "\S+nothere\.crt".* in \S+:8/,
         'a missing trusted certificate file'],
        ['location / { proxy_pass https://127.0.0.1:1; proxy_ssl_certificate client.crt; proxy_ssl_certificate_key other.key; }',
         qr/proxy_ssl_certificate_key "\S+other\.key" \(for "\S+client\.crt"\): .*key values mismatch in \S+:8/,
         'a client key that does not match its certificate'],
        ['location / { proxy_pass https://127.0.0.1:1; proxy_ssl_certificate client.crt; }',
         qr/no "proxy_ssl_certificate_key" for "proxy_ssl_certificate" in \S+:8/,
         'a client certificate without a key'],
        ['proxy_ssl_protocols TLSv1.2 SSLv3;',
         qr/invalid value "SSLv3" in "proxy_ssl_protocols" in \S+:8/,
         'an unknown protocol'],
        ['location / { proxy_pass https://127.0.0.1:1; proxy_ssl_ciphers NOSUCHCIPHER; }',
         qr/invalid proxy_ssl_ciphers "NOSUCHCIPHER".* in \S+:8/,
         'a cipher list that names nothing'],
        ['location / { proxy_pass https://127.0.0.1:1; proxy_ssl_verify_depth 1000; }',
         qr/"proxy_ssl_verify_depth" directive/,
         'a verify depth out of bounds'],
        ['location /a { proxy_pass http://backend; } location /b { proxy_pass https://backend; }',
         qr/"backend" is used by both http:\/\/ and https:\/\/ without a port/,
         'one bare host for http and https'],
    );
    for my $b (@bad) {
        my ($text, $re, $name) = @$b;
        my $t = Ferry::Test->new(conf => "$base        $text\n    }\n}\n");
        sh("cp $d/client.crt $d/other.key " . $t->prefix . '/conf/');
        my ($code, $out) = $t->run('-t');
        isnt($code, 0, "-t refuses $name");
        like($out, $re, "... and says where");
    }
}

# a reload with a bad client key keeps the old configuration serving
{
    my $good = $f->{files}{'conf/ferry.conf'};
    (my $bad = $good) =~ s/proxy_ssl_certificate_key client\.key;/proxy_ssl_certificate_key other.key;/;
    $f->write_file('conf/ferry.conf', $bad);
    kill 'HUP', $f->master_pid;
    my $failed = wait_until { $f->error_log =~ /reload failed/ } 5;
    ok($failed, 'reload with a mismatched client key: refused');
    like($f->error_log, qr/proxy_ssl_certificate_key "\S+other\.key" .*mismatch in \S+ferry\.conf:\d+/,
         '... naming the file and line');
    ($r, $e) = get('/cert/x');
    is($e->{'tls-client'}, 'ferry-client', '... and the old configuration still serves');
    $f->write_file('conf/ferry.conf', $good);
    $f->allow_log(qr/reload failed|proxy_ssl_certificate_key/);
}

$f->stop;
done_testing;
