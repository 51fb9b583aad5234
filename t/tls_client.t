#!/usr/bin/perl
#
# TLS termination, the client's side of it: the shared session cache
# (a session id resumed on another worker, tickets off; kept across a
# reload), the builtin/none/off caches, ticket keys across a reload and
# their rotation, ssl_ecdh_curve, ssl_reject_handshake, client
# certificates (ssl_verify_client on/optional/optional_no_ca,
# ssl_verify_depth, the $ssl_client_* variables, nginx's 400 answers),
# and the configuration errors with file and line.  Certificates come
# from a throwaway CA made with the openssl command line.

use strict;
use warnings;
use Test::More;
use Ferry::Test;

for my $tool (qw(openssl curl)) {
    plan skip_all => "no $tool" unless grep { -x "$_/$tool" } split /:/, $ENV{PATH};
}

# root CA -> intermediate; server a.test; clients: one from the root,
# one from the intermediate, one from another CA, one self-signed
sub make_pki {
    my ($d) = @_;
    my $o = 'openssl';
    my $ec = '-newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes';
    sh("cd $d && printf 'basicConstraints=critical,CA:TRUE\\nkeyUsage=keyCertSign,cRLSign\\n' > ca.ext");
    for my $ca ('ca', 'other') {
        sh("cd $d && $o req -x509 $ec -keyout $ca.key -out $ca.crt -days 2"
           . " -subj '/CN=Ferry $ca CA' -addext basicConstraints=critical,CA:TRUE");
    }
    sh("cd $d && $o req $ec -keyout int.key -out int.csr -subj '/CN=Ferry Intermediate'");
    sh("cd $d && $o x509 -req -in int.csr -CA ca.crt -CAkey ca.key -set_serial 2"
       . " -out int.crt -days 2 -extfile ca.ext");
    my @leaves = (['a', 'ca', 'DNS:a.test', '/CN=a.test'],
                  ['client', 'ca', 'email:c@test', '/O=Ferry/CN=client one'],
                  ['clint', 'int', 'email:i@test', '/CN=client two'],
                  ['evil', 'other', 'email:e@test', '/CN=evil']);
    my $serial = 0x1f00;
    for my $l (@leaves) {
        my ($n, $ca, $san, $subj) = @$l;
        sh("cd $d && $o req $ec -keyout $n.key -out $n.csr -subj '$subj'");
        sh("cd $d && printf 'subjectAltName=$san\\n' > $n.ext");
        sh("cd $d && $o x509 -req -in $n.csr -CA $ca.crt -CAkey $ca.key"
           . " -set_serial " . $serial++ . " -out $n.crt -days 2 -extfile $n.ext");
    }
    sh("cd $d && $o req -x509 $ec -keyout self.key -out self.crt -days 2 -subj '/CN=self'");
}

my $vars = 'verify=$ssl_client_verify s_dn=$ssl_client_s_dn i_dn=$ssl_client_i_dn'
         . ' serial=$ssl_client_serial fp=$ssl_client_fingerprint reused=$ssl_session_reused';

my $conf = main_conf() . <<"EOF";
worker_processes 4;
events { worker_connections 64; }
http {
    log_format tls '\$pid \$ssl_session_reused \$ssl_protocol \$ssl_server_name';
    access_log logs/access.log tls;
    client_header_timeout 3s;
    ssl_certificate a.crt;
    ssl_certificate_key a.key;
    ssl_session_tickets off;

    # the shared cache, on the default server of port 0
    server {
        listen 127.0.0.1:%%PORT_0%% ssl;
        server_name a.test;
        ssl_session_cache shared:SSL:1m;
        location / { return 200 "pid=\$pid reused=\$ssl_session_reused proto=\$ssl_protocol\\n"; }
    }
    server {
        listen 127.0.0.1:%%PORT_0%% ssl;
        server_name v.test;
        ssl_verify_client on;
        ssl_client_certificate ca.crt;
        location / { return 200 "$vars\\n"; }
    }
    server {
        listen 127.0.0.1:%%PORT_0%% ssl;
        server_name d.test;
        ssl_verify_client on;
        ssl_trusted_certificate ca.crt;
        ssl_verify_depth 0;
        location / { return 200 "$vars\\n"; }
    }
    server {
        listen 127.0.0.1:%%PORT_0%% ssl;
        server_name o.test;
        ssl_verify_client optional;
        ssl_client_certificate ca.crt;
        location / { return 200 "$vars\\n"; }
    }
    server {
        listen 127.0.0.1:%%PORT_0%% ssl;
        server_name n.test;
        ssl_verify_client optional_no_ca;
        location / { return 200 "$vars cert=[\$ssl_client_cert]\\n"; }
    }
    server {
        listen 127.0.0.1:%%PORT_0%% ssl;
        server_name w.test;
        ssl_verify_client on;
        ssl_client_certificate other.crt;
        location / { return 200 "$vars\\n"; }
    }

    # no shared cache: none (the default), builtin, off
    server {
        listen 127.0.0.1:%%PORT_1%% ssl;
        location / { return 200 "pid=\$pid reused=\$ssl_session_reused\\n"; }
    }
    server {
        listen 127.0.0.1:%%PORT_2%% ssl;
        ssl_session_cache builtin:100;
        location / { return 200 "pid=\$pid reused=\$ssl_session_reused\\n"; }
    }
    server {
        listen 127.0.0.1:%%PORT_3%% ssl;
        ssl_session_cache off;
        location / { return 200 "pid=\$pid reused=\$ssl_session_reused\\n"; }
    }

    # a default server that refuses handshakes; curves
    server {
        listen 127.0.0.1:%%PORT_4%% ssl;
        ssl_reject_handshake on;
    }
    server {
        listen 127.0.0.1:%%PORT_4%% ssl;
        server_name a.test;
        location / { return 200 "accepted sni=\$ssl_server_name\\n"; }
    }
    server {
        listen 127.0.0.1:%%PORT_5%% ssl;
        ssl_ecdh_curve prime256v1;
        location / { return 200 "curve\\n"; }
    }
}
EOF

my $f = Ferry::Test->new(conf => $conf);
my $d = $f->prefix . '/conf';
make_pki($d);
my $ca = "$d/ca.crt";

# One TLS connection with openssl s_client sending one request; returns
# what it printed (handshake details and the response).
sub s_client {
    my ($port, $name, @opt) = @_;
    my $req = "printf 'GET / HTTP/1.0\\r\\nHost: $name\\r\\n\\r\\n'";
    my $sni = $name =~ /\./ ? "-servername $name" : '-noservername';
    return `$req | timeout 5 openssl s_client -connect 127.0.0.1:$port $sni -CAfile $ca -ign_eof @opt 2>&1`;
}

# The first connection makes a session (saved to $file); then $n more
# connections offer it.  Returns (first pid, [[pid, reused], ...]).
sub resume_runs {
    my ($port, $name, $file, $n, @opt) = @_;
    my $first = s_client($port, $name, "-sess_out $file", @opt);
    my ($pid0) = $first =~ /pid=(\d+)/;
    my @runs;
    for (1 .. $n) {
        my $o = s_client($port, $name, "-sess_in $file", @opt);
        my ($p) = $o =~ /pid=(\d+)/;
        my ($r) = $o =~ /reused=(\S+)/;
        push @runs, [$p // 0, ($r // '') eq 'r' && $o =~ /^Reused,/m ? 1 : 0];
    }
    return ($pid0, \@runs, $first);
}

$f->start;
$f->wait_workers(4);
my $sess = $f->prefix . '/sess';

# ---- the shared cache: session ids across workers ---------------------

{
    my ($pid0, $runs, $first) = resume_runs($f->port(0), 'a.test', "$sess.12", 8,
                                            '-tls1_2 -no_ticket');
    ok($pid0, 'shared cache, TLS 1.2, no tickets: first connection served');
    like($first, qr/Session-ID: [0-9A-F]{64}/, '... and given a session id');
    unlike($first, qr/TLS session ticket:/, '... and no ticket');
    is(scalar(grep { $_->[1] } @$runs), 8, 'the session id resumed on every later connection');
    my %others = map { $_->[0] => 1 } grep { $_->[1] && $_->[0] != $pid0 } @$runs;
    cmp_ok(scalar(keys %others), '>=', 2,
           'resumed on workers other than the one that made it (4 workers, round robin)');
    my $log = wait_until { (() = (Ferry::Test::read_file($f->prefix . '/logs/access.log') // '') =~ / r TLSv1\.2 a\.test$/mg) >= 8 } 3;
    ok($log, 'the access log says r ($ssl_session_reused) for the resumed connections');
}

{
    my ($pid0, $runs) = resume_runs($f->port(0), 'a.test', "$sess.13", 6, '-tls1_3');
    my $ok = grep { $_->[1] } @$runs;
    is($ok, 6, 'TLS 1.3 without tickets: the stateful "ticket" resumes through the shared cache');
    ok(scalar(grep { $_->[1] && $_->[0] != $pid0 } @$runs),
       '... on other workers too');
}

# ---- none, builtin, off -------------------------------------------------

{
    my ($pid0, $runs, $first) = resume_runs($f->port(1), '-', "$sess.none", 4, '-tls1_2');
    like($first, qr/Session-ID: [0-9A-F]{64}/, 'none: a session id is given');
    is(scalar(grep { $_->[1] } @$runs), 0, 'none: it never resumes');

    ($pid0, $runs) = resume_runs($f->port(2), '-', "$sess.builtin", 8, '-tls1_2');
    my @same = grep { $_->[0] == $pid0 } @$runs;
    my @other = grep { $_->[0] != $pid0 } @$runs;
    ok(@same && @other, 'builtin: round robin reached the first worker and others');
    is(scalar(grep { !$_->[1] } @same), 0, 'builtin: resumed on the worker that made it');
    is(scalar(grep { $_->[1] } @other), 0, 'builtin: not on the others (a per-process cache)');

    ($pid0, $runs, $first) = resume_runs($f->port(3), '-', "$sess.off", 2, '-tls1_2');
    like($first, qr/Session-ID: *\n/, 'off: an empty session id (no reuse, says the server)');
    is(scalar(grep { $_->[1] } @$runs), 0, 'off: it never resumes');
}

# ---- reload: the shared cache's sessions stay ---------------------------

{
    my @old = $f->worker_pids;
    my $done = () = $f->error_log =~ /reload done/g;
    kill 'HUP', $f->master_pid;
    wait_until { (() = $f->error_log =~ /reload done/g) > $done } 5;
    wait_until { my %o = map { $_ => 1 } @old; !grep { $o{$_} } $f->worker_pids } 5;
    my %old = map { $_ => 1 } @old;
    my $o = s_client($f->port(0), 'a.test', "-sess_in $sess.12 -tls1_2 -no_ticket");
    my ($p) = $o =~ /pid=(\d+)/;
    like($o, qr/reused=r/, 'after a reload: the session id from before still resumes');
    ok($p && !$old{$p}, '... on a worker of the new generation');
}

# ---- ssl_reject_handshake, ssl_ecdh_curve --------------------------------

{
    my $o = s_client($f->port(4), '-');
    unlike($o, qr/accepted/, 'reject_handshake: no SNI, the default server refuses');
    like($o, qr/alert unrecognized name|unrecognized_name|unrecognized name/i,
         '... with the unrecognized_name alert');
    $o = s_client($f->port(4), 'unknown.test');
    unlike($o, qr/accepted/, 'reject_handshake: an unknown name is refused too');
    $o = s_client($f->port(4), 'a.test');
    like($o, qr/accepted sni=a\.test/, 'reject_handshake: a known name is served');

    $o = s_client($f->port(5), '-', '-groups X25519');
    unlike($o, qr/^curve$/m, 'ssl_ecdh_curve prime256v1: a client offering only X25519 fails');
    $o = s_client($f->port(5), '-', '-groups X25519:P-256');
    like($o, qr/^curve$/m, 'ssl_ecdh_curve prime256v1: a client offering it is served');
    like($o, qr/Server Temp Key: ECDH, prime256v1/, '... with that curve');
    $o = s_client($f->port(0), 'a.test', '-groups X25519');
    like($o, qr/Server Temp Key: X25519/, 'auto: X25519 is among OpenSSL\'s defaults');
}

# ---- client certificates -------------------------------------------------

my %cert = (client => "-cert $d/client.crt -key $d/client.key",
            clint  => "-cert $d/clint.crt -key $d/clint.key -cert_chain $d/int.crt",
            evil   => "-cert $d/evil.crt -key $d/evil.key",
            self   => "-cert $d/self.crt -key $d/self.key");

sub status_of { my ($o) = @_; return $o =~ m{^HTTP/1\.\d (\d+)}m ? $1 : 0 }

{
    my $o = s_client($f->port(0), 'v.test', $cert{client});
    is(status_of($o), 200, 'verify on: a client certificate from the CA is accepted');
    like($o, qr/verify=SUCCESS /, '$ssl_client_verify SUCCESS');
    like($o, qr/s_dn=CN=client one,O=Ferry /, '$ssl_client_s_dn in RFC 2253 order');
    like($o, qr/i_dn=CN=Ferry ca CA /, '$ssl_client_i_dn');
    like($o, qr/serial=1F01 /, '$ssl_client_serial in hex');
    my $fp = lc sh("openssl x509 -in $d/client.crt -noout -fingerprint -sha1");
    $fp =~ s/.*=//s; $fp =~ s/[:\s]//g;
    like($o, qr/fp=$fp /, '$ssl_client_fingerprint: the SHA-1 of the certificate');
    like($o, qr/Acceptable client certificate CA names\s*\n\/?CN ?= ?Ferry ca CA/,
         'the CertificateRequest names ssl_client_certificate\'s CA');

    $o = s_client($f->port(0), 'v.test');
    is(status_of($o), 400, 'verify on, no certificate: 400');
    like($o, qr/No required SSL certificate was sent/, '... "No required SSL certificate was sent"');
    like($o, qr/Connection: close/i, '... and the connection closes');

    $o = s_client($f->port(0), 'v.test', $cert{evil});
    is(status_of($o), 400, 'verify on, a certificate from another CA: 400');
    like($o, qr/The SSL certificate error/, '... "The SSL certificate error"');
    my $logged = wait_until { $f->error_log =~ /client SSL certificate verify error: \(\d+:unable to (?:get local issuer certificate|verify the first certificate)\)/ } 3;
    ok($logged, '... logged with OpenSSL\'s reason');

    $o = s_client($f->port(0), 'v.test', $cert{clint});
    is(status_of($o), 200, 'verify depth 1 (the default): a certificate under an intermediate is accepted');
    like($o, qr/i_dn=CN=Ferry Intermediate /, '... issued by the intermediate');
    $o = s_client($f->port(0), 'd.test', $cert{clint});
    is(status_of($o), 400, 'verify depth 0: the same certificate is refused');
    like($o, qr/The SSL certificate error/, '... as a certificate error');
    $o = s_client($f->port(0), 'd.test', $cert{client});
    is(status_of($o), 200, 'verify depth 0 (ssl_trusted_certificate): one issued by the CA itself is accepted');
    unlike($o, qr/Acceptable client certificate CA names\s*\n\/?CN/,
           'ssl_trusted_certificate: its CAs are not sent to the client');

    $o = s_client($f->port(0), 'o.test');
    is(status_of($o), 200, 'optional, no certificate: served');
    like($o, qr/verify=NONE s_dn= /, '... $ssl_client_verify NONE');
    $o = s_client($f->port(0), 'o.test', $cert{evil});
    is(status_of($o), 400, 'optional, a certificate from another CA: 400');

    $o = s_client($f->port(0), 'n.test', $cert{self});
    is(status_of($o), 200, 'optional_no_ca: a self-signed certificate is served');
    like($o, qr/verify=FAILED:self[- ]signed certificate /, '... with $ssl_client_verify FAILED:reason');
    like($o, qr/cert=\[-----BEGIN CERTIFICATE-----\n\t.*\n\t-----END CERTIFICATE-----\n\]/s,
         '$ssl_client_cert: PEM, lines after the first start with a tab');

    # a session verified against one CA does not resume where another
    # CA is required (the session carries the verdict)
    my $vs = "$sess.verify";
    s_client($f->port(0), 'v.test', $cert{client}, "-sess_out $vs -tls1_2 -no_ticket");
    $o = s_client($f->port(0), 'v.test', $cert{client}, "-sess_in $vs -tls1_2 -no_ticket");
    like($o, qr/^Reused,/m, 'a verified session resumes on its own server');
    like($o, qr/verify=SUCCESS .*reused=r/, '... with the verdict kept');
    $o = s_client($f->port(0), 'w.test', "-sess_in $vs -tls1_2 -no_ticket");
    unlike($o, qr/^Reused,/m, 'it does not resume on a server that trusts another CA');
    is(status_of($o), 400, '... which asks for its own certificate again');
}

# ---- ticket keys across a reload -------------------------------------------

{
    my $tc = main_conf() . <<'EOF';
worker_processes 2;
events { worker_connections 64; }
http {
    access_log off;
    KEYS
    server {
        listen 127.0.0.1:%%PORT_0%% ssl;
        ssl_certificate a.crt;
        ssl_certificate_key a.key;
        location / { return 200 "pid=$pid reused=$ssl_session_reused\n"; }
    }
}
EOF
    (my $auto = $tc) =~ s/KEYS//;
    my $t = Ferry::Test->new(conf => $auto);
    my $td = $t->prefix . '/conf';
    sh("cp $d/a.crt $d/a.key $d/ca.crt $td/");
    sh("openssl rand -out $td/k1.key 80 && openssl rand -out $td/k2.key 80");
    $t->start;
    my $ts = $t->prefix . '/t';
    my $reload = sub {
        my ($text) = @_;
        $t->write_file('conf/ferry.conf', $text) if defined $text;
        my $n = () = $t->error_log =~ /reload done/g;
        kill 'HUP', $t->master_pid;
        wait_until { (() = $t->error_log =~ /reload done/g) > $n } 5;
    };
    my $get = sub { s_client($t->port(0), '-', @_) };

    $get->("-sess_out $ts.auto");
    $reload->();
    like($get->("-sess_in $ts.auto"), qr/reused=r/,
         'generated ticket key: a ticket issued before SIGHUP resumes after it');

    (my $k1 = $tc) =~ s/KEYS/ssl_session_ticket_key k1.key;/;
    $reload->($k1);
    $get->("-sess_out $ts.k1");
    like($get->("-sess_in $ts.k1"), qr/reused=r/, 'key file k1: its ticket resumes');
    (my $k21 = $tc) =~ s/KEYS/ssl_session_ticket_key k2.key; ssl_session_ticket_key k1.key;/;
    $reload->($k21);
    my $o = $get->("-sess_in $ts.k1 -sess_out $ts.k2");
    like($o, qr/reused=r/, 'rotated (k2 first, k1 kept): the k1 ticket still resumes after the reload');
    (my $k2 = $tc) =~ s/KEYS/ssl_session_ticket_key k2.key;/;
    $reload->($k2);
    unlike($get->("-sess_in $ts.k1"), qr/reused=r/, 'k1 dropped: its ticket no longer resumes');
    like($get->("-sess_in $ts.k2"), qr/reused=r/,
         '... while the ticket renewed under k2 does');
    $t->stop;
}

# ---- configuration errors name the file and the line ---------------------

{
    my $base = main_conf() . <<'EOF';
events { worker_connections 64; }
http {
    server {
        listen 127.0.0.1:%%PORT_0%% ssl;
        ssl_certificate a.crt;
        ssl_certificate_key a.key;
        LINE
    }
}
EOF
    my $e = Ferry::Test->new(conf => $base);
    my $ed = $e->prefix . '/conf';
    sh("cp $d/a.crt $d/a.key $ed/");
    my @cases = (
        ['ssl_verify_client on; ssl_client_certificate missing.crt;',
         qr/cannot load ssl_client_certificate ".*missing\.crt": .* in \S+ferry\.conf:(\d+)/,
         'a missing ssl_client_certificate'],
        ['ssl_trusted_certificate nowhere.crt;',
         qr/cannot load ssl_trusted_certificate ".*nowhere\.crt".* in \S+ferry\.conf:(\d+)/,
         'a missing ssl_trusted_certificate'],
        ['ssl_verify_client optional;',
         qr/no ssl_client_certificate or ssl_trusted_certificate for ssl_verify_client .* in \S+ferry\.conf:(\d+)/,
         'ssl_verify_client without a CA'],
        ['ssl_ecdh_curve X25519:bogus;',
         qr/invalid ssl_ecdh_curve "X25519:bogus".* in \S+ferry\.conf:(\d+)/,
         'a bad curve name'],
        ['ssl_session_cache shared:SSL;',
         qr/invalid session cache "shared:SSL" in \S+ferry\.conf:(\d+)/,
         'a shared cache without a size'],
        ['ssl_session_cache shared:SSL:1k;',
         qr/session cache "shared:SSL:1k" must be between 32k and 1g in \S+ferry\.conf:(\d+)/,
         'a shared cache too small'],
        ['ssl_session_cache none builtin;',
         qr/invalid session cache "none" in \S+ferry\.conf:(\d+)/,
         'none with another cache'],
        ['ssl_verify_client sometimes;',
         qr/invalid value "sometimes" in "ssl_verify_client"|ssl_verify_client.*sometimes.* in \S+ferry\.conf:(\d+)/,
         'a bad ssl_verify_client value'],
    );
    for my $c (@cases) {
        my ($line, $re, $what) = @$c;
        (my $text = $base) =~ s/LINE/$line/;
        $e->write_file('conf/ferry.conf', $e->subst($text));
        my ($code, $out) = $e->run('-t');
        isnt($code, 0, "-t refuses $what");
        my ($n) = $out =~ $re;
        like($out, $re, "... naming it") or diag $out;
        my @l = split /\n/, $e->subst($text);
        my ($want) = grep { $l[$_ - 1] =~ /\Q$line\E/ } 1 .. @l;
        is($n, $want, "... and its line") if defined $n;
    }

    # one name, two sizes
    (my $text = $base) =~ s/LINE/ssl_session_cache shared:S:1m;/;
    $text =~ s/(http \{)/$1\n    server { listen 127.0.0.1:%%PORT_1%% ssl; ssl_certificate a.crt; ssl_certificate_key a.key; ssl_session_cache shared:S:2m; }/;
    $e->write_file('conf/ferry.conf', $e->subst($text));
    my ($code, $out) = $e->run('-t');
    isnt($code, 0, '-t refuses one cache name with two sizes');
    like($out, qr/the size 1048576 of ssl_session_cache "S" conflicts with the size 2097152 given in \S+:\d+, in \S+:\d+/,
         '... naming both places');
}

$f->stop;
done_testing;
