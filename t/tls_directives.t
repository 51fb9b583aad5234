#!/usr/bin/perl
#
# The TLS directives real nginx configurations carry beyond certificates
# and protocols: ssl_dhparam (DHE suites for TLS 1.2), ssl_password_file
# (encrypted keys), ssl_crl and proxy_ssl_crl (revoked certificates),
# proxy_ssl_password_file, ssl_buffer_size (the size of the records
# sent), ssl_stapling with ssl_stapling_file (a stapled OCSP response),
# ssl_stapling_verify / ssl_stapling_responder (accepted next to a
# file; fetching is t/ocsp_stapling.t's), ssl_early_data off (on:
# t/ssl_early_data.t),
# ssl_conf_command, and HTTP/2 asked for ("listen ... http2", "http2
# on", http2_*) where ferry speaks HTTP/1.1: a start-up warning and
# http/1.1 in ALPN.  Then certbot's options-ssl-nginx.conf (written here
# from its documented directives) with ssl_dhparam and "listen 443 ssl
# http2": "ferry -t" passes and HTTPS is served.  Certificates, CRL, DH
# parameters and the OCSP response come from the openssl command line.

use strict;
use warnings;
use Test::More;
use Ferry::Test;
use POSIX ();

for my $tool (qw(openssl curl)) {
    plan skip_all => "no $tool" unless grep { -x "$_/$tool" } split /:/, $ENV{PATH};
}
use IO::Socket::INET;

# A CA signs: the server certificate (a.test), two client certificates
# and two backend certificates; one of each pair is revoked in ca.crl.
sub make_pki {
    my ($d) = @_;
    my $o = 'openssl';
    sh("cd $d && $o req -x509 -newkey rsa:2048 -nodes -keyout ca.key -out ca.crt"
       . " -days 2 -subj '/CN=Ferry Test CA'");
    for my $n (['srv', 'a.test', 'serverAuth'], ['good', 'client good', 'clientAuth'],
               ['bad', 'client bad', 'clientAuth'], ['up-good', 'a.test', 'serverAuth'],
               ['up-bad', 'a.test', 'serverAuth'])
    {
        my ($file, $cn, $eku) = @$n;
        sh("cd $d && $o genpkey -algorithm RSA -pkeyopt rsa_keygen_bits:2048 -out $file.key");
        sh("cd $d && $o req -new -key $file.key -out $file.csr -subj '/CN=$cn'");
        sh("cd $d && printf 'subjectAltName=DNS:a.test\\nextendedKeyUsage=$eku\\n' > $file.ext");
        sh("cd $d && $o x509 -req -in $file.csr -CA ca.crt -CAkey ca.key -CAcreateserial"
           . " -out $file.crt -days 2 -extfile $file.ext");
    }
    # the revocation list
    sh("cd $d && mkdir -p db && : > db/index.txt && echo 1000 > db/crlnumber");
    sh("cd $d && printf '[ca]\\ndefault_ca=d\\n[d]\\ndatabase=db/index.txt\\n"
       . "crlnumber=db/crlnumber\\ncertificate=ca.crt\\nprivate_key=ca.key\\n"
       . "default_md=sha256\\ndefault_crl_days=2\\n' > ca.cnf");
    sh("cd $d && $o ca -config ca.cnf -revoke bad.crt");
    sh("cd $d && $o ca -config ca.cnf -revoke up-bad.crt");
    sh("cd $d && $o ca -config ca.cnf -gencrl -out ca.crl");
    # encrypted keys, and the passphrase file (the right one second)
    sh("cd $d && $o pkey -in srv.key -aes256 -passout pass:secret2 -out srv-enc.key");
    sh("cd $d && $o pkey -in good.key -aes256 -passout pass:secret2 -out good-enc.key");
    sh("cd $d && printf 'wrong\\nsecret2\\n' > pw.txt && printf 'wrong\\n' > pw-wrong.txt");
    # DH parameters: a named group, instant where openssl dhparam is slow
    sh("cd $d && $o genpkey -genparam -algorithm DH -pkeyopt dh_param:ffdhe2048 -out dh.pem");
    # an OCSP response for srv.crt, signed by the CA
    sh("cd $d && $o ocsp -index db/index.txt -rsigner ca.crt -rkey ca.key -CA ca.crt"
       . " -issuer ca.crt -cert srv.crt -respout srv.ocsp -ndays 1");
    sh("cd $d && echo garbage > garbage.pem");
    sh("cd $d && $o ecparam -name prime256v1 -out ec.pem");
}

# certbot's options-ssl-nginx.conf: what it documents setting
my $certbot = <<'EOF';
# options for TLS in the shape of certbot's options-ssl-nginx.conf
ssl_session_cache shared:le_nginx_SSL:10m;
ssl_session_timeout 1440m;
ssl_session_tickets off;

ssl_protocols TLSv1.2 TLSv1.3;
ssl_prefer_server_ciphers off;

ssl_ciphers "ECDHE-ECDSA-AES128-GCM-SHA256:ECDHE-RSA-AES128-GCM-SHA256:ECDHE-ECDSA-AES256-GCM-SHA384:ECDHE-RSA-AES256-GCM-SHA384:ECDHE-ECDSA-CHACHA20-POLY1305:ECDHE-RSA-CHACHA20-POLY1305:DHE-RSA-AES128-GCM-SHA256:DHE-RSA-AES256-GCM-SHA384";
EOF

my $f = Ferry::Test->new(conf => main_conf() . <<"EOF");
worker_processes 2;
events { worker_connections 64; }
http {
    access_log off;
    http2 on;
    http2_recv_buffer_size 256k;
    server {
        listen 127.0.0.1:%%PORT_0%% ssl;
        server_name a.test;
        ssl_certificate srv.crt;
        ssl_certificate_key srv-enc.key;
        ssl_password_file pw.txt;
        ssl_dhparam dh.pem;
        ssl_verify_client optional;
        ssl_client_certificate ca.crt;
        ssl_crl ca.crl;
        ssl_stapling on;
        ssl_stapling_file srv.ocsp;
        ssl_stapling_verify on;
        ssl_stapling_responder http://127.0.0.1:9/;
        ssl_buffer_size 1k;
        ssl_early_data off;
        location /files/ { root files-root; }
        location /up-good/ {
            proxy_pass https://127.0.0.1:%%PORT_3%%;
            proxy_ssl_verify on; proxy_ssl_trusted_certificate ca.crt;
            proxy_ssl_name a.test; proxy_ssl_crl ca.crl;
        }
        location /up-bad/ {
            proxy_pass https://127.0.0.1:%%PORT_4%%;
            proxy_ssl_verify on; proxy_ssl_trusted_certificate ca.crt;
            proxy_ssl_name a.test; proxy_ssl_crl ca.crl;
        }
        location /up-bad-nocrl/ {
            proxy_pass https://127.0.0.1:%%PORT_4%%;
            proxy_ssl_verify on; proxy_ssl_trusted_certificate ca.crt;
            proxy_ssl_name a.test;
        }
        location /up-client/ {
            proxy_pass https://127.0.0.1:%%PORT_5%%;
            proxy_ssl_certificate good.crt;
            proxy_ssl_certificate_key good-enc.key;
            proxy_ssl_password_file pw.txt;
        }
        location / {
            return 200 "zero verify=\$ssl_client_verify cipher=\$ssl_cipher proto=\$ssl_protocol\\n";
        }
    }
    server {
        listen 127.0.0.1:%%PORT_1%% ssl http2;
        server_name a.test;
        ssl_certificate srv.crt;
        ssl_certificate_key srv.key;
        ssl_verify_client optional;
        ssl_client_certificate ca.crt;
        ssl_conf_command Ciphersuites TLS_CHACHA20_POLY1305_SHA256;
        http2_max_concurrent_streams 64;
        location /files/ { root files-root; http2_push_preload on; }
        location / {
            return 200 "one verify=\$ssl_client_verify cipher=\$ssl_cipher proto=\$ssl_protocol\\n";
        }
    }
    # reached by SNI on the address of the one above: its own DH
    # parameters, stapled response and record size
    server {
        listen 127.0.0.1:%%PORT_1%% ssl;
        server_name b.test;
        ssl_certificate srv.crt;
        ssl_certificate_key srv.key;
        ssl_dhparam dh.pem;
        ssl_stapling on;
        ssl_stapling_file srv.ocsp;
        ssl_buffer_size 1k;
        location /files/ { root files-root; }
        location / { return 200 "b cipher=\$ssl_cipher\n"; }
    }
    server {
        listen 127.0.0.1:%%PORT_2%% ssl http2;
        server_name a.test;
        ssl_certificate srv.crt;
        ssl_certificate_key srv.key;
        include options-ssl-nginx.conf;
        ssl_dhparam dh.pem;
        location / { return 200 "certbot proto=\$ssl_protocol\\n"; }
    }
}
EOF
my $d = $f->prefix . '/conf';
make_pki($d);
$f->write_file('conf/options-ssl-nginx.conf', $certbot);
my $big = 'x' x 6000;
$f->write_file('files-root/files/big.txt', $big);

my $ca = "$d/ca.crt";
my ($p0, $p1, $p2) = ($f->port(0), $f->port(1), $f->port(2));

sub curl {
    my ($port, $path, @opt) = @_;
    my $out = `curl -sS --max-time 5 --cacert $ca --resolve a.test:$port:127.0.0.1 @opt https://a.test:$port$path 2>&1`;
    return ($? >> 8, $out);
}

sub s_client {
    my ($port, @opt) = @_;
    # "b:PORT" asks for b.test by SNI
    my ($name, $p) = $port =~ /^b:(\d+)$/ ? ('b.test', $1) : ('a.test', $port);
    return `echo | timeout 5 openssl s_client -connect 127.0.0.1:$p -servername $name @opt 2>&1`;
}

# ---- ferry -t: accepted, with the HTTP/2 warnings --------------------

my ($rc, $out) = $f->run('-t');
is($rc, 0, '-t: the configuration is accepted') or diag($out);
like($out, qr/\[warn\] ferry speaks HTTP\/1\.1 only; "http2 on" ignored in \S+ferry\.conf:8\b/,
     '-t: "http2 on" named in a warning with its file and line');
like($out, qr/\[warn\] ferry speaks HTTP\/1\.1 only; "http2_recv_buffer_size" ignored in \S+ferry\.conf:9\b/,
     '-t: http2_recv_buffer_size too');
like($out, qr/\[warn\] ferry speaks HTTP\/1\.1 only; the "http2" parameter of "listen" ignored in \S+ferry\.conf:\d+/,
     '-t: "listen ... http2" too');
like($out, qr/"http2_max_concurrent_streams" ignored/, '-t: http2_max_concurrent_streams too');
like($out, qr/"http2_push_preload on" ignored in \S+ferry\.conf:61\b/, '-t: http2_push_preload (location) too');
unlike($out, qr/ssl_stapling/, '-t: ssl_stapling with a file: no warning');

# TLS backends: openssl s_server answering every GET with its status
# page (which shows the client certificate it got); one at a time is
# enough here
my @servers;
sub s_server {
    my ($port, @opt) = @_;
    my $pid = fork // die "fork: $!";
    if ($pid == 0) {
        open STDIN, '<', '/dev/null';
        open STDOUT, '>', '/dev/null';
        open STDERR, '>', '/dev/null';
        exec('openssl', 's_server', '-accept', "127.0.0.1:$port", '-www', '-quiet', @opt)
            or POSIX::_exit(127);
    }
    push @servers, $pid;
    wait_until { IO::Socket::INET->new(PeerAddr => "127.0.0.1:$port", Timeout => 1) } 5
        or die "s_server on $port did not start";
}
END { kill 'TERM', @servers if @servers; }
s_server($f->port(3), '-cert', "$d/up-good.crt", '-key', "$d/up-good.key");
s_server($f->port(4), '-cert', "$d/up-bad.crt", '-key', "$d/up-bad.key");
s_server($f->port(5), '-cert', "$d/up-good.crt", '-key', "$d/up-good.key",
         '-Verify', 1, '-CAfile', $ca);
$f->start;

# ---- ssl_password_file: the encrypted key was loaded -------------------

($rc, $out) = curl($p0, '/');
is($rc, 0, 'ssl_password_file: the server with an encrypted key serves HTTPS');
like($out, qr/^zero verify=NONE /m, '... its response');

# ---- ssl_dhparam ---------------------------------------------------------

$out = s_client($p0, '-tls1_2 -cipher DHE-RSA-AES128-GCM-SHA256');
like($out, qr/Cipher is DHE-RSA-AES128-GCM-SHA256/,
     'ssl_dhparam: a TLS 1.2 client offering only DHE-RSA-AES128-GCM-SHA256 gets it');
like($out, qr/Server Temp Key: DH, 2048 bits/, '... with the 2048-bit group of the file');
$out = s_client($p1, '-tls1_2 -cipher DHE-RSA-AES128-GCM-SHA256');
unlike($out, qr/Cipher is DHE-/, 'no ssl_dhparam: the DHE-only client is refused');
like($out, qr/alert|handshake failure|no shared cipher|Cipher is \(NONE\)/i,
     '... the handshake fails');
$out = s_client("b:$p1", '-tls1_2 -cipher DHE-RSA-AES128-GCM-SHA256');
like($out, qr/Cipher is DHE-RSA-AES128-GCM-SHA256/,
     'ssl_dhparam of a server chosen by SNI');
$out = s_client($p2, '-tls1_2 -cipher DHE-RSA-AES256-GCM-SHA384');
like($out, qr/Cipher is DHE-RSA-AES256-GCM-SHA384/,
     'certbot server: its ssl_ciphers DHE suite with ssl_dhparam');

# ---- ssl_crl ----------------------------------------------------------

($rc, $out) = curl($p0, '/', "--cert $d/good.crt --key $d/good.key");
like($out, qr/^zero verify=SUCCESS /m, 'ssl_crl: a client certificate not revoked: SUCCESS');
($rc, $out) = curl($p0, '/', "--cert $d/bad.crt --key $d/bad.key");
like($out, qr/400 The SSL certificate error/, 'ssl_crl: a revoked client certificate: 400');
ok((wait_until { $f->error_log =~ /client SSL certificate verify error: \(23:certificate revoked\)/ } 3),
   '... logged as revoked');
($rc, $out) = curl($p1, '/', "--cert $d/bad.crt --key $d/bad.key");
like($out, qr/^one verify=SUCCESS /m, 'without ssl_crl the same certificate passes');

# ---- proxy_ssl_crl, proxy_ssl_password_file ---------------------------

($rc, $out) = curl($p0, '/up-good/x');
like($out, qr/Ciphers supported in s_server/, 'proxy_ssl_crl: a backend whose certificate is not revoked: proxied');
($rc, $out) = curl($p0, '/up-bad/x', '-o /dev/null -w "%{http_code}"');
is($out, '502', 'proxy_ssl_crl: a backend with a revoked certificate: 502');
ok((wait_until { $f->error_log =~ /upstream SSL certificate verify error: \(23:certificate revoked\)/ } 3),
   '... logged as revoked');
($rc, $out) = curl($p0, '/up-bad-nocrl/x');
like($out, qr/Ciphers supported in s_server/, 'without proxy_ssl_crl the same backend is proxied');
$f->allow_log(qr/upstream SSL certificate verify error/);
($rc, $out) = curl($p0, '/up-client/x');
like($out, qr/Client certificate.*Subject: ?CN ?= ?client good/s,
     'proxy_ssl_password_file: the encrypted client key opened, the backend got the certificate');

# ---- ssl_stapling_file --------------------------------------------------

$out = s_client($p0, '-status');
like($out, qr/OCSP Response Status: successful/, 'ssl_stapling_file: the response is stapled');
like($out, qr/Responder Id: CN ?= ?Ferry Test CA/, '... the one of the file');
$out = s_client($p1, '-status');
like($out, qr/OCSP response: no response sent/, 'no stapling: nothing stapled');
$out = s_client("b:$p1", '-status');
like($out, qr/OCSP Response Status: successful/, 'ssl_stapling_file of a server chosen by SNI');
$out = s_client($p0, '-status -tls1_2');
like($out, qr/OCSP Response Status: successful/, 'ssl_stapling_file: stapled in TLS 1.2 too');

# ---- ssl_buffer_size: the records sent ---------------------------------

# the largest application-data record of a 6000-byte file, TLS 1.2
sub max_record {
    my ($port, $name) = @_;
    $name //= 'a.test';
    my $o = `printf 'GET /files/big.txt HTTP/1.0\\r\\nHost: $name\\r\\n\\r\\n' | timeout 5 openssl s_client -connect 127.0.0.1:$port -servername $name -tls1_2 -ign_eof -trace 2>&1`;
    my ($max, $body) = (0, 0);
    while ($o =~ /Received Record\n\s*Header:\n\s*Version = [^\n]*\n\s*Content Type = ApplicationData \(23\)\n\s*Length = (\d+)/g) {
        $max = $1 if $1 > $max;
        $body += $1;
    }
    return ($max, $o =~ /x{100}/ ? 1 : 0);
}
my ($max, $got) = max_record($p0);
ok($got, 'ssl_buffer_size 1k: the file arrives');
ok($max > 1000 && $max <= 1024 + 64, "ssl_buffer_size 1k: records of at most 1k (largest $max)");
($max, $got) = max_record($p1);
ok($max > 5000, "default 16k: the 6000-byte file in one record (largest $max)");
($max, $got) = max_record($p1, 'b.test');
ok($got && $max > 1000 && $max <= 1024 + 64,
   "ssl_buffer_size 1k of a server chosen by SNI (largest $max)");
($rc, $out) = curl($p0, '/files/big.txt');
is($out, $big, 'ssl_buffer_size 1k: the body is intact');

# ---- ssl_conf_command ---------------------------------------------------

($rc, $out) = curl($p1, '/');
like($out, qr/^one verify=NONE cipher=TLS_CHACHA20_POLY1305_SHA256 proto=TLSv1\.3$/m,
     'ssl_conf_command Ciphersuites: the TLS 1.3 suite it names');
($rc, $out) = curl($p0, '/');
unlike($out, qr/CHACHA20/, '... only on its server');

# ---- HTTP/2 asked for: http/1.1 in ALPN ---------------------------------

$out = `printf 'GET / HTTP/1.1\\r\\nHost: a.test\\r\\nConnection: close\\r\\n\\r\\n' | timeout 5 openssl s_client -connect 127.0.0.1:$p1 -servername a.test -alpn h2,http/1.1 -ign_eof 2>&1`;
like($out, qr{ALPN protocol: http/1\.1}, 'listen ... http2: a client offering h2,http/1.1 gets http/1.1');
like($out, qr/^HTTP\/1\.1 200 OK\r?$/m, '... and a working response');
like($out, qr/^one verify=NONE/m, '... from the server');
($rc, $out) = curl($p2, '/', '--http2 -i');
like($out, qr/^HTTP\/1\.1 200/m, 'curl --http2 to a "listen ... ssl http2" address: HTTP/1.1 200');

# ---- certbot's options-ssl-nginx.conf ----------------------------------

($rc, $out) = curl($p2, '/');
is($rc, 0, 'certbot options: HTTPS served');
like($out, qr/^certbot proto=TLSv1\.3$/m, '... over TLS 1.3');
($rc, $out) = curl($p2, '/', '--tlsv1.2 --tls-max 1.2');
like($out, qr/^certbot proto=TLSv1\.2$/m, '... and TLS 1.2');
($rc, $out) = curl($p2, '/', '--tlsv1.1 --tls-max 1.1');
isnt($rc, 0, '... not TLS 1.1 (ssl_protocols TLSv1.2 TLSv1.3)');
$f->allow_log(qr/unsupported protocol/);

$f->stop;

# ---- configuration errors, warnings -----------------------------------

my $srv = "listen 127.0.0.1:%%PORT_0%% ssl; ssl_certificate $d/srv.crt; ssl_certificate_key";
my $line6 = qr/ferry\.conf:6\b/;

http_conf_refused("server { $srv $d/srv-enc.key; }",
                  qr/cannot load certificate key ".*srv-enc\.key".*in \S+$line6/,
                  'an encrypted key without ssl_password_file (never a prompt)');
http_conf_refused("server { $srv $d/srv-enc.key; ssl_password_file $d/pw-wrong.txt; }",
                  qr/cannot load certificate key ".*srv-enc\.key".*(?:bad decrypt|PEM lib).* in \S+$line6/,
                  'ssl_password_file without the right passphrase');
http_conf_refused("ssl_password_file $d/nonexistent.txt;",
                  qr/cannot read ssl_password_file ".*nonexistent\.txt": No such file or directory in \S+$line6/,
                  'ssl_password_file: a missing file');
http_conf_refused("server { $srv $d/srv.key; ssl_dhparam $d/garbage.pem; }",
                  qr/cannot load ssl_dhparam ".*garbage\.pem".* in \S+$line6/,
                  'ssl_dhparam: a file without DH parameters');
http_conf_refused("server { $srv $d/srv.key; ssl_dhparam $d/ec.pem; }",
                  qr/ssl_dhparam ".*ec\.pem" holds EC parameters, not DH, in \S+$line6/,
                  'ssl_dhparam: EC parameters, not DH');
http_conf_refused("server { $srv $d/srv.key; ssl_crl $d/garbage.pem; }",
                  qr/cannot load ssl_crl ".*garbage\.pem".* in \S+$line6/,
                  'ssl_crl: a file without a CRL');
http_conf_refused("server { listen 127.0.0.1:%%PORT_0%%; location / { proxy_pass https://127.0.0.1:1; proxy_ssl_crl $d/garbage.pem; } }",
                  qr/cannot load proxy_ssl_crl ".*garbage\.pem".* in \S+$line6/,
                  'proxy_ssl_crl: a file without a CRL');
http_conf_refused("server { $srv $d/srv.key; ssl_stapling on; ssl_stapling_file $d/garbage.pem; }",
                  qr/cannot load ssl_stapling_file ".*garbage\.pem": not a DER OCSP response in \S+$line6/,
                  'ssl_stapling_file: not an OCSP response');
http_conf_refused("ssl_stapling_responder ftp://ocsp.example/;",
                  qr/invalid URL prefix in OCSP responder "ftp:\/\/ocsp\.example\/".* in \S+$line6/,
                  'ssl_stapling_responder: not http://');
http_conf_refused("server { $srv $d/srv.key; ssl_conf_command NoSuchCommand 1; }",
                  qr/SSL_CONF_cmd\("NoSuchCommand", "1"\) failed.* in \S+$line6/,
                  'ssl_conf_command: an unknown command');
http_conf_refused("server { $srv $d/srv.key; ssl_buffer_size 0; }",
                  qr/"ssl_buffer_size" directive value must be between 1 and \d+ in \S+$line6/,
                  'ssl_buffer_size 0');
http_conf_refused("http2 maybe;", qr/"http2" directive invalid value "maybe".* in \S+$line6/,
                  'http2: not on or off');
http_conf_refused("http2_max_concurrent_streams 1; http2_max_concurrent_streams 2;",
                  qr/"http2_max_concurrent_streams" directive is duplicate in \S+$line6/,
                  'http2_max_concurrent_streams twice');
http_conf_refused("server { location / { http2_recv_buffer_size 1m; } }",
                  qr/"http2_recv_buffer_size" directive is not allowed here in \S+$line6/,
                  'http2_recv_buffer_size outside http');

{
    my $g = Ferry::Test->new(conf => main_conf() . "events { }\nhttp {\n"
        . "    server { $srv $d/srv.key; ssl_stapling on; }\n"
        . "    server { listen 127.0.0.1:%%PORT_1%%; http2 off; http2_push off; }\n}\n");
    my ($rc, $out) = $g->run('-t');
    is($rc, 0, 'ssl_stapling on without a file, no issuer known: accepted');
    like($out, qr/\[warn\] "ssl_stapling" ignored, issuer certificate not found for certificate "\S+srv\.crt" in \S+$line6/,
         '... with nginx\'s "ignored" warning, file and line (t/ocsp_stapling.t fetches)');
    unlike($out, qr/HTTP\/1\.1 only/, '"http2 off", "http2_push off": no warning');
}

done_testing;
