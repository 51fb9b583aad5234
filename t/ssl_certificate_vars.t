#!/usr/bin/perl
#
# ssl_certificate and ssl_certificate_key with variables (nginx 1.15.9):
# the files are chosen at each handshake, so $ssl_server_name picks a
# certificate per SNI name; RSA and ECDSA pairs side by side; an
# absolute name from $server_port; a name that has no file fails the
# handshake with "cannot load certificate" at error in the log; a chain
# sent once, also when a HelloRetryRequest runs the callback twice; an
# encrypted key opened with ssl_password_file; ssl_stapling's warning; an SNI
# that would leave the directory is refused; http maps of the
# connection's variables (a name, a regex's capture, "data:" PEM text);
# "data:" PEM text from a stream map, and without variables (at start); the same in the stream block; variables a handshake does
# not have refused with file and line.  ssl_certificate_cache: a file
# replaced under its name is not read again while its entry is valid,
# is read again once the entry is checked (valid=), dropped (inactive=)
# or pushed out (max=), and at once without a cache; in stream too.
# Self-signed certificates made with the openssl command line in the
# test's prefix.

use strict;
use warnings;
use Test::More;
use Ferry::Test;

plan skip_all => 'no openssl' unless grep { -x "$_/openssl" } split /:/, $ENV{PATH};

sub cert {
    my ($d, $file, $cn, $type) = @_;
    my $key = ($type // 'rsa') eq 'rsa'
        ? "-newkey rsa:2048" : "-newkey ec -pkeyopt ec_paramgen_curve:P-256";
    sh("cd $d && openssl req -x509 $key -nodes -keyout $file.key"
       . " -out $file.crt -days 2 -subj '/CN=$cn' 2>/dev/null");
}

sub slurp {
    my ($path) = @_;
    open(my $fh, '<', $path) or die "$path: $!";
    local $/;
    return <$fh>;
}

my $f = Ferry::Test->new(conf => 'placeholder');
my $d = $f->prefix . '/conf';
cert($d, 'a.test', 'a.test');
cert($d, 'b.test', 'b.test');
cert($d, 'c.test.rsa', 'c.test rsa');
cert($d, 'c.test.ec', 'c.test ec', 'ec');
my $p2 = $f->port(2);
cert($d, "port-$p2", "port $p2");
cert($d, 's-a.test', 'stream a.test');
# an ECDSA pair: a stream variable holds at most 1024 bytes
cert($d, 'pem', 'from data', 'ec');
my ($pem_crt, $pem_key) = (slurp("$d/pem.crt"), slurp("$d/pem.key"));
cert($d, 'rsa-pem', 'http data');
my ($rsa_crt, $rsa_key) = (slurp("$d/rsa-pem.crt"), slurp("$d/rsa-pem.key"));
# a leaf under a CA: the file holds the leaf, then the CA (the chain)
sh("cd $d && openssl req -new -newkey rsa:2048 -nodes -keyout ch.test.key"
   . " -out ch.csr -subj '/CN=ch.test' 2>/dev/null");
sh("cd $d && openssl x509 -req -in ch.csr -CA a.test.crt -CAkey a.test.key"
   . " -CAcreateserial -out ch.leaf -days 2 2>/dev/null");
sh("cd $d && cat ch.leaf a.test.crt > ch.test.crt");
# an encrypted key, opened with ssl_password_file's second passphrase
sh("cd $d && openssl req -x509 -newkey rsa:2048 -passout pass:secret"
   . " -keyout enc.test.key -out enc.test.crt -days 2 -subj '/CN=enc.test' 2>/dev/null");
$f->write_file('conf/pw.txt', "wrong\nsecret\n");

$f->write_file('conf/ferry.conf', main_conf() . <<"EOF");
events { worker_connections 64; }
http {
    access_log off;
    server {
        listen 127.0.0.1:%%PORT_0%% ssl;
        ssl_certificate \$ssl_server_name.crt;
        ssl_certificate_key \$ssl_server_name.key;
        location / { return 200 "sni=\$ssl_server_name\\n"; }
    }
    server {
        listen 127.0.0.1:%%PORT_1%% ssl;
        ssl_certificate \$ssl_server_name.rsa.crt;
        ssl_certificate_key \$ssl_server_name.rsa.key;
        ssl_certificate \$ssl_server_name.ec.crt;
        ssl_certificate_key \$ssl_server_name.ec.key;
        location / { return 200 "two\\n"; }
    }
    server {
        listen 127.0.0.1:%%PORT_2%% ssl;
        ssl_certificate %%PREFIX%%/conf/port-\$server_port.crt;
        ssl_certificate_key %%PREFIX%%/conf/port-\$server_port.key;
        location / { return 200 "port\\n"; }
    }
    # maps of the connection's variables: a name, a regex's capture,
    # "data:" PEM text
    map \$ssl_server_name \$cert_name {
        a.test          a.test;
        ~^www\\.(.+)\$   \$1;
        default         b.test;
    }
    map \$ssl_server_name \$pem_crt_h {
        pem.test "data:$rsa_crt";
    }
    map \$ssl_server_name \$pem_key_h {
        pem.test "data:$rsa_key";
    }
    server {
        listen 127.0.0.1:%%PORT_8%% ssl;
        ssl_certificate \$cert_name.crt;
        ssl_certificate_key \$cert_name.key;
        location / { return 200 "map\\n"; }
    }
    server {
        listen 127.0.0.1:%%PORT_9%% ssl;
        ssl_certificate \$pem_crt_h;
        ssl_certificate_key \$pem_key_h;
        location / { return 200 "pem\\n"; }
    }
    # "data:" without variables: loaded at start
    server {
        listen 127.0.0.1:%%PORT_10%% ssl;
        ssl_certificate "data:$rsa_crt";
        ssl_certificate_key "data:$rsa_key";
        location / { return 200 "static pem\\n"; }
    }
    # TLS 1.3 clients offering X25519 first are asked to retry with P-256
    server {
        listen 127.0.0.1:%%PORT_6%% ssl;
        ssl_ecdh_curve P-256;
        ssl_certificate \$ssl_server_name.crt;
        ssl_certificate_key \$ssl_server_name.key;
        location / { return 200 "chain\\n"; }
    }
    server {
        listen 127.0.0.1:%%PORT_7%% ssl;
        ssl_certificate \$ssl_server_name.crt;
        ssl_certificate_key \$ssl_server_name.key;
        ssl_password_file pw.txt;
        ssl_stapling on;
        location / { return 200 "enc\\n"; }
    }
    # a named server with variables behind a default one without
    server {
        listen 127.0.0.1:%%PORT_5%% ssl;
        ssl_certificate a.test.crt;
        ssl_certificate_key a.test.key;
        location / { return 200 "static\\n"; }
    }
    server {
        listen 127.0.0.1:%%PORT_5%% ssl;
        server_name b.test c.test;
        ssl_certificate \$ssl_server_name.crt;
        ssl_certificate_key \$ssl_server_name.key;
        location / { return 200 "dynamic\\n"; }
    }
}
stream {
    map \$ssl_server_name \$pem_crt {
        pem.test "data:$pem_crt";
        default  "data:garbage";
    }
    map \$ssl_server_name \$pem_key {
        pem.test "data:$pem_key";
    }
    server {
        listen 127.0.0.1:%%PORT_3%% ssl;
        ssl_certificate s-\$ssl_server_name.crt;
        ssl_certificate_key s-\$ssl_server_name.key;
        return "stream sni=\$ssl_server_name\\n";
    }
    server {
        listen 127.0.0.1:%%PORT_4%% ssl;
        ssl_certificate \$pem_crt;
        ssl_certificate_key \$pem_key;
        return "stream data\\n";
    }
}
EOF

# The subject of the certificate the server at port sends for name, or
# the handshake's failure.
sub subject {
    my ($port, $name, @opt) = @_;
    my $out = `echo | timeout 5 openssl s_client -connect 127.0.0.1:$port -servername '$name' @opt 2>&1`;
    return $1 if $out =~ /^subject=\s*CN\s*=\s*(.+?)\s*$/m;
    return 'failed' if $out =~ /alert|handshake failure|errno|error/i;
    return "?? $out";
}

sub https_body {
    my ($port, $name) = @_;
    my $out = `curl -sS -k --max-time 5 --resolve $name:$port:127.0.0.1 https://$name:$port/ 2>&1`;
    return $out;
}

# whether cond comes true within 5 seconds
sub soon { my ($cond) = @_; return wait_until { $cond->() } 5; }

$f->allow_log(qr/\[error\] .*cannot load certificate/);
$f->allow_log(qr/\[warn\] .*"ssl_stapling" has no effect/);
$f->start;

# ---- http: each name its own certificate --------------------------------

is(subject($f->port(0), 'a.test'), 'a.test', 'SNI a.test: a.test.crt');
is(subject($f->port(0), 'b.test'), 'b.test', 'SNI b.test: b.test.crt');
is(subject($f->port(0), 'a.test'), 'a.test', 'a.test again: chosen per handshake');
SKIP: {
    skip 'no curl', 2 unless grep { -x "$_/curl" } split /:/, $ENV{PATH};
    is(https_body($f->port(0), 'a.test'), "sni=a.test\n", 'a.test: requests are served');
    is(https_body($f->port(0), 'b.test'), "sni=b.test\n", 'b.test: requests are served');
}

# a name without files: the handshake fails, the log says which file
is(subject($f->port(0), 'nofile.test'), 'failed', 'unknown name: the handshake fails');
ok(soon(sub { $f->error_log =~ m{\[error\] .*cannot load certificate "\Q$d\E/nofile\.test\.crt": .* while SSL handshaking, client: 127\.0\.0\.1} }),
   'unknown name: logged at error with the file name and the client')
    or diag $f->error_log;

# a name that would leave the directory
is(subject($f->port(0), 'a..test'), 'failed', 'SNI with "..": refused');
ok(soon(sub { $f->error_log =~ /\[info\] .*client sent invalid server name "a\.\.test"/ }),
   'SNI with "..": logged');

# ---- SNI moves the handshake between servers with and without -----------

is(subject($f->port(5), 'a.test'), 'a.test', 'default server: its file, loaded at start');
is(subject($f->port(5), 'b.test'), 'b.test', 'named server with variables: b.test.crt');
is(subject($f->port(5), 'other.test'), 'a.test', 'unknown name: the default server\'s');
is(subject($f->port(5), 'c.test'), 'failed', 'named server, no c.test.crt: fails');

# ---- the chain, also after a HelloRetryRequest ---------------------------

for my $case (['-groups P-256', 'no retry'], ['-groups X25519:P-256', 'HelloRetryRequest']) {
    my $out = `echo | timeout 5 openssl s_client -connect 127.0.0.1:@{[$f->port(6)]} -servername ch.test -showcerts -msg $case->[0] 2>&1`;
    my @certs = $out =~ /^ *\d+ s:(.*)$/mg;
    is(join('|', map { s/\s//gr } @certs), 'CN=ch.test|CN=a.test',
       "chain with variables, $case->[1]: the leaf, then the CA, once");
    is(scalar(() = $out =~ /ServerHello/g), $case->[1] eq 'no retry' ? 1 : 2,
       "chain with variables, $case->[1]: as many ServerHellos");
}

# ---- an encrypted key; ssl_stapling -----------------------------------------

is(subject($f->port(7), 'enc.test'), 'enc.test', 'an encrypted key opened with ssl_password_file');
my ($trc, $tout) = $f->run('-t');
is($trc, 0, '-t: certificates with variables are not loaded') or diag $tout;
like($tout, qr/\[warn\] "ssl_stapling" has no effect on certificates with variables \(.*\) in \S+ferry\.conf:\d+/,
     'ssl_stapling on a server with variables: warned at load');

# ---- http maps -------------------------------------------------------------

is(subject($f->port(8), 'a.test'), 'a.test', 'map: a.test');
is(subject($f->port(8), 'www.b.test'), 'b.test', q{map: a regex's capture});
is(subject($f->port(8), 'other.test'), 'b.test', q{map: its default});
is(subject($f->port(9), 'pem.test'), 'http data', 'http: "data:" PEM text (RSA) from a map');
is(subject($f->port(9), 'other.test'), 'failed', 'http: an empty value fails');
ok(soon(sub { $f->error_log =~ /\[error\] .*cannot load certificate of ssl_certificate "\$pem_crt_h": the value is empty while SSL handshaking/ }),
   'http: the empty value logged');

is(subject($f->port(10), 'any.test'), 'http data', '"data:" without variables: loaded at start');

# ---- two pairs: the client's signature algorithms choose ----------------

is(subject($f->port(1), 'c.test', '-tls1_2 -sigalgs ECDSA+SHA256'), 'c.test ec',
   'two pairs: an ECDSA-only client gets the ECDSA certificate');
is(subject($f->port(1), 'c.test', '-tls1_2 -sigalgs RSA+SHA256'), 'c.test rsa',
   'two pairs: an RSA-only client gets the RSA certificate');

# ---- an absolute name, another variable ---------------------------------

is(subject($p2, 'whatever.test'), "port $p2", '$server_port in an absolute name');

# ---- stream ---------------------------------------------------------------

is(subject($f->port(3), 'a.test'), 'stream a.test', 'stream: $ssl_server_name picks the file');
is(subject($f->port(3), 'b.test'), 'failed', 'stream: no file, no handshake');
ok(soon(sub { $f->error_log =~ m{\[error\] .*cannot load certificate "\Q$d\E/s-b\.test\.crt"} }),
   'stream: the failure logged at error');
is(subject($f->port(4), 'pem.test'), 'from data', 'stream: "data:" PEM text from a map');
is(subject($f->port(4), 'other.test'), 'failed', 'stream: "data:" that is no PEM fails');
ok(soon(sub { $f->error_log =~ /\[error\] .*cannot load certificate "data:\.\.\.": / }),
   'stream: logged without the PEM text');

$f->stop;

# ---- ssl_certificate_cache ------------------------------------------------

my $g = Ferry::Test->new(conf => 'placeholder');
my $e = $g->prefix . '/conf';
cert($e, 'a.test', 'a.test v1');
cert($e, 'b.test', 'b.test');
my $pair = 'ssl_certificate $ssl_server_name.crt; ssl_certificate_key $ssl_server_name.key;';
$g->write_file('conf/ferry.conf', main_conf() . <<"EOF");
events { worker_connections 64; }
http {
    access_log off;
    ssl_certificate_cache max=10 inactive=1h valid=1h;
    server { listen 127.0.0.1:%%PORT_0%% ssl; $pair }
    server { listen 127.0.0.1:%%PORT_1%% ssl; $pair
             ssl_certificate_cache max=2 inactive=1h valid=1h; }
    server { listen 127.0.0.1:%%PORT_2%% ssl; $pair ssl_certificate_cache off; }
    server { listen 127.0.0.1:%%PORT_3%% ssl; $pair
             ssl_certificate_cache max=10 inactive=1h valid=1s; }
    server { listen 127.0.0.1:%%PORT_4%% ssl; $pair
             ssl_certificate_cache max=10 inactive=1s valid=1h; }
}
stream {
    server { listen 127.0.0.1:%%PORT_5%% ssl; $pair
             ssl_certificate_cache max=10 inactive=1h valid=1h;
             return "x\\n"; }
}
EOF
$g->allow_log(qr/\[error\] .*cannot load certificate/);
$g->start;

for my $n (0 .. 5) {
    is(subject($g->port($n), 'a.test'), 'a.test v1', "cache: server $n loads a.test");
}
# a new certificate and key under the same names (new files, new inodes)
cert($e, 'new', 'a.test v2');
rename("$e/new.crt", "$e/a.test.crt") or die;
rename("$e/new.key", "$e/a.test.key") or die;

is(subject($g->port(2), 'a.test'), 'a.test v2', 'cache off: the new file at once');
is(subject($g->port(0), 'a.test'), 'a.test v1', 'cache (http level, inherited): still valid, not read again');
is(subject($g->port(5), 'a.test'), 'a.test v1', 'stream cache: still valid, not read again');
is(subject($g->port(1), 'b.test'), 'b.test', 'max=2: b.test pushes a.test out');
is(subject($g->port(1), 'a.test'), 'a.test v2', 'max=2: a.test read again');
ok(soon(sub { subject($g->port(3), 'a.test') eq 'a.test v2' }),
   'valid=1s: the changed file is seen once the entry is checked again');
sleep 2;
is(subject($g->port(4), 'a.test'), 'a.test v2', 'inactive=1s: the unused entry was dropped');
$g->stop;

# ---- configuration errors -------------------------------------------------

server_conf_refused('ssl_certificate $request_uri.crt;',
    qr/variable "\$request_uri" cannot be used in "ssl_certificate": the certificate is chosen during the handshake, before any request .* in \S+:8$/m,
    'a request variable in ssl_certificate');
server_conf_refused('ssl_certificate_key $http_host.key;',
    qr/variable "\$http_host" cannot be used in "ssl_certificate_key": the certificate is chosen during the handshake, before any request .* in \S+:8$/m,
    'a header variable in ssl_certificate_key');
server_conf_refused('ssl_certificate $1.crt;',
    qr/variable "\$1" cannot be used in "ssl_certificate": .* in \S+:8$/m,
    'a capture outside a map in ssl_certificate');
server_conf_refused('ssl_certificate $no_such_var.crt;',
    qr/unknown "no_such_var" variable in \S+:8$/m,
    'an unknown variable in ssl_certificate');
http_conf_refused("map \$ssl_server_name \$c1 { default \$request_uri; }\n"
                  . "    map \$c1 \$c2 { default \$c1; }\n"
                  . "    server { listen 127.0.0.1:%%PORT_0%%;\n"
                  . "        ssl_certificate \$c2.crt; ssl_certificate_key k; }",
    qr/variable "\$request_uri" cannot be used in "ssl_certificate": .* in \S+:9$/m,
    'a map whose value is a request variable, through another map: at the line of ssl_certificate');
http_conf_refused("map \$request_method \$c1 { default x; }\n"
                  . "    server { listen 127.0.0.1:%%PORT_0%%;\n"
                  . "        ssl_certificate c.crt; ssl_certificate_key \$c1.key; }",
    qr/variable "\$request_method" cannot be used in "ssl_certificate_key": .* in \S+:8$/m,
    'a map whose source is a request variable');
http_conf_refused("geo \$c1 { default x; }\n"
                  . "    server { listen 127.0.0.1:%%PORT_0%%;\n"
                  . "        ssl_certificate \$c1.crt; ssl_certificate_key k; }",
    qr/variable "\$c1" \(geo, split_clients or set\) cannot be used in "ssl_certificate": .* in \S+:8$/m,
    'a geo variable');

{
    my $h = Ferry::Test->new(conf => main_conf() . "events { }\nhttp {\n"
        . "    server { listen 127.0.0.1:%%PORT_0%% ssl;\n"
        . "        ssl_certificate \"data:-----BEGIN CERTIFICATE-----\nAAAA\n-----END CERTIFICATE-----\";\n"
        . "        ssl_certificate_key k.key; }\n}\n");
    my ($rc, $out) = $h->run('-t');
    isnt($rc, 0, '-t refuses "data:" that is no certificate');
    like($out, qr/\[emerg\] cannot load certificate "data:\.\.\.": .* in \S+ferry\.conf:7\n/,
         '... "data:..." in the message, file and line') or diag $out;
}
server_conf_refused('ssl_certificate_cache max=0;',
    qr/invalid "ssl_certificate_cache" parameter "max=0" in \S+:8$/m,
    'ssl_certificate_cache max=0');
server_conf_refused('ssl_certificate_cache inactive=10s;',
    qr/"ssl_certificate_cache" must have the "max" parameter in \S+:8$/m,
    'ssl_certificate_cache without max');
server_conf_refused('ssl_certificate_cache off max=5;',
    qr/invalid "ssl_certificate_cache" parameter "max=5" in \S+:8$/m,
    'ssl_certificate_cache off with more');
server_conf_refused('ssl_certificate_cache max=5 valid=soon;',
    qr/invalid "ssl_certificate_cache" parameter "valid=soon" in \S+:8$/m,
    'ssl_certificate_cache with a bad time');

done_testing;
