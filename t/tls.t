#!/usr/bin/perl
#
# TLS termination: SNI picks the certificate (RSA and ECDSA, chains),
# protocols, plain HTTP to a TLS port, $ssl_* variables, a session
# resumed on another worker, bad certificate/key pairs refused by -t and
# by reload, a proxied request over TLS.  Certificates come from a
# throwaway CA made with the openssl command line in the test's prefix.

use strict;
use warnings;
use Test::More;
use Ferry::Test;
use IO::Select;

for my $tool (qw(openssl curl)) {
    plan skip_all => "no $tool" unless grep { -x "$_/$tool" } split /:/, $ENV{PATH};
}

# root CA -> intermediate CA -> leaf certificates (RSA and ECDSA)
sub make_pki {
    my ($d) = @_;
    my $o = "openssl";
    sh("cd $d && $o req -x509 -newkey rsa:2048 -nodes -keyout ca.key -out ca.crt"
       . " -days 2 -subj '/CN=Ferry Test Root'");
    sh("cd $d && printf 'basicConstraints=critical,CA:TRUE\\nkeyUsage=keyCertSign,cRLSign\\n' > ca.ext");
    sh("cd $d && $o req -newkey rsa:2048 -nodes -keyout int.key -out int.csr"
       . " -subj '/CN=Ferry Test Intermediate'");
    sh("cd $d && $o x509 -req -in int.csr -CA ca.crt -CAkey ca.key -CAcreateserial"
       . " -out int.crt -days 2 -extfile ca.ext");
    for my $n (['a', 'a.test', 'rsa'], ['a-ec', 'a.test', 'ec'],
               ['b', 'b.test', 'ec'])
    {
        my ($file, $cn, $type) = @$n;
        my $key = $type eq 'rsa'
            ? "$o genpkey -algorithm RSA -pkeyopt rsa_keygen_bits:2048 -out $file.key"
            : "$o genpkey -algorithm EC -pkeyopt ec_paramgen_curve:P-256 -out $file.key";
        sh("cd $d && $key");
        sh("cd $d && $o req -new -key $file.key -out $file.csr -subj '/CN=$cn'");
        sh("cd $d && printf 'subjectAltName=DNS:$cn\\n' > $file.ext");
        sh("cd $d && $o x509 -req -in $file.csr -CA int.crt -CAkey int.key"
           . " -CAcreateserial -out $file.leaf -days 2 -extfile $file.ext");
        # full chain: the leaf, then the intermediate
        sh("cd $d && cat $file.leaf int.crt > $file.crt");
    }
}

sub conf {
    my (%o) = @_;
    my $akey = $o{akey} // 'a.key';
    return main_conf() . <<"EOF";
worker_processes 4;
events { worker_connections 64; }
http {
    access_log off;
    client_header_timeout 2s;
    log_format tls '\$https \$ssl_protocol';
    server {
        listen 127.0.0.1:%%PORT_0%% ssl;
        server_name a.test;
        ssl_certificate a.crt;
        ssl_certificate_key $akey;
        ssl_certificate a-ec.crt;
        ssl_certificate_key a-ec.key;
        location /proxy/ { proxy_pass http://127.0.0.1:%%PORT_2%%; }
        location /files/ { root files-root; }
        location / {
            return 200 "server=a pid=\$pid scheme=\$scheme https=\$https proto=\$ssl_protocol cipher=\$ssl_cipher sni=\$ssl_server_name reused=\$ssl_session_reused\\n";
        }
    }
    server {
        listen 127.0.0.1:%%PORT_0%% ssl;
        server_name b.test;
        ssl_certificate b.crt;
        ssl_certificate_key b.key;
        ssl_protocols TLSv1.2 TLSv1.3;
        ssl_prefer_server_ciphers on;
        ssl_session_timeout 10m;
        location / { return 200 "server=b sni=\$ssl_server_name\\n"; }
    }
    server {
        listen 127.0.0.1:%%PORT_0%% ssl;
        server_name c.test;
        ssl_certificate b.crt;
        ssl_certificate_key b.key;
        ssl_session_tickets off;
        location / { return 200 "server=c reused=\$ssl_session_reused\\n"; }
    }
    server {
        listen 127.0.0.1:%%PORT_1%%;
        location / { return 200 "plain scheme=\$scheme https=[\$https]\\n"; }
    }
}
EOF
}

my $f = Ferry::Test->new(conf => conf());
my $d = $f->prefix . '/conf';
make_pki($d);
my $port = $f->port(0);
my $ca = "$d/ca.crt";

sub curl {
    my ($name, $path, @opt) = @_;
    my $cmd = join ' ', 'curl -sS --max-time 5', "--cacert $ca",
        "--resolve $name:$port:127.0.0.1", @opt, "https://$name:$port$path";
    my $out = `$cmd 2>&1`;
    return ($? >> 8, $out);
}

# the certificate the server presents: (subject line, key bits)
sub s_client {
    my (@opt) = @_;
    my $out = `echo | timeout 5 openssl s_client -connect 127.0.0.1:$port -CAfile $ca @opt 2>&1`;
    return $out;
}

my $be = Ferry::Test::Backend->new(port => $f->port(2));
$f->start;
$f->wait_workers(4);

# ---- SNI, chains, variables --------------------------------------------

my ($rc, $out) = curl('a.test', '/');
is($rc, 0, 'a.test: curl verifies the chain through the intermediate');
like($out, qr/^server=a .*scheme=https https=on proto=TLSv1\.3 cipher=TLS_\S+ sni=a\.test reused=\.$/m,
     'a.test: server a and its $ssl_* variables');

($rc, $out) = curl('b.test', '/');
is($rc, 0, 'b.test: verified');
like($out, qr/^server=b sni=b\.test$/m, 'b.test: SNI picks server b');
like(s_client('-servername b.test'), qr/subject=CN ?= ?b\.test/, 'b.test: its own certificate');
like(s_client('-noservername'), qr/subject=CN ?= ?a\.test/,
     'no SNI: the default server\'s certificate');
like(s_client('-servername unknown.test'), qr/subject=CN ?= ?a\.test/,
     'unknown name: the default server\'s certificate');

# RSA and ECDSA side by side: the client's signature algorithms choose
$out = s_client('-servername a.test -tls1_2 -sigalgs ECDSA+SHA256');
like($out, qr/Server public key is 256 bit/, 'a.test: ECDSA certificate for an ECDSA-only client');
like($out, qr/Verify return code: 0/, 'a.test: ECDSA chain verifies');
$out = s_client('-servername a.test -tls1_2 -sigalgs RSA-PSS+SHA256:RSA+SHA256');
like($out, qr/Server public key is 2048 bit/, 'a.test: RSA certificate for an RSA-only client');

# ---- protocols, ALPN --------------------------------------------------

($rc, $out) = curl('a.test', '/', '--tlsv1.2 --tls-max 1.2');
like($out, qr/proto=TLSv1\.2 cipher=ECDHE-/, 'TLSv1.2 accepted');
($rc, $out) = curl('a.test', '/', '--tlsv1.1 --tls-max 1.1');
isnt($rc, 0, 'TLSv1.1 refused');
my $refused = wait_until { $f->error_log =~ /SSL_do_handshake\(\) failed \(.*unsupported protocol/ } 3;
ok($refused, 'TLSv1.1: the server refused it (unsupported protocol)');
like(s_client('-servername a.test -alpn h2,http/1.1'), qr{ALPN protocol: http/1\.1},
     'ALPN: http/1.1 chosen');

# ---- plain HTTP to the TLS port ---------------------------------------

my $r = http_get($port, '/');
is($r->{status}, 400, 'plain HTTP to the TLS port: 400');
like($r->{body}, qr/The plain HTTP request was sent to HTTPS port/, '... with nginx\'s message');
is(lc($r->{headers}{connection} // ''), 'close', '... and Connection: close');
$r = http_get($f->port(1), '/');
like($r->{body}, qr/plain scheme=http https=\[\]/, 'plain port: $scheme http, $https empty');

# ---- handshake timeout ---------------------------------------------------

{
    my $t0 = time;
    my $s = IO::Socket::INET->new(PeerAddr => "127.0.0.1:$port", Timeout => 5);
    syswrite($s, "\x16\x03\x01\x02\x00\x01");    # a ClientHello that never ends
    my $closed = wait_until { my $n = sysread($s, my $x, 100); defined $n && $n == 0 } 5;
    ok($closed, 'a stalled handshake is closed');
    cmp_ok(time - $t0, '<=', 4, '... after client_header_timeout (2s)');
    my $logged = wait_until { $f->error_log =~ /client timed out in SSL handshake/ } 2;
    ok($logged, '... and logged');
}

# ---- keep-alive, bodies both ways, proxy ------------------------------

my $big = 'x' x 300000;
$f->write_file('big.txt', $big);
($rc, $out) = curl('a.test', '/proxy/echo', "--data-binary \@" . $f->prefix . "/big.txt",
                   '-H "Content-Type: application/octet-stream"');
is($rc, 0, 'proxy over TLS: 300 kB POST');
my $e = parse_echo($out);
is($e && $e->{'body-length'}, 300000, 'proxy over TLS: the upstream got the whole body');
is($e && length($e->{body}), 300000, 'proxy over TLS: the client got it all back');
is($e && $e->{uri}, '/proxy/echo', 'proxy over TLS: uri');

# Requests that come in pieces, several TLS records at once, a body in
# paced records: with OpenSSL's read-ahead ferry reads the socket once per
# wake-up and relies on a short read meaning "drained" (docs/tls.md), so
# none of these may wait for an event that never comes.
SKIP: {
    eval { require IO::Socket::SSL; 1 } or skip 'no IO::Socket::SSL', 5;
    my $tls = sub {
        my $s = IO::Socket::SSL->new(PeerAddr => "127.0.0.1:$port",
                                     SSL_hostname => 'a.test', SSL_ca_file => $ca,
                                     Timeout => 5)
            or die "TLS connect: $IO::Socket::SSL::SSL_ERROR";
        return $s;
    };
    # read until $want responses (Content-Length framed) or 5 s
    my $read = sub {
        my ($s, $want) = @_;
        my ($buf, @r) = ('');
        my $sel = IO::Select->new($s);
        my $t0 = time;
        while (@r < $want && time - $t0 < 6) {
            if ($buf =~ /\A(HTTP\/1\.1 (\d+)[^\r]*\r\n(.*?)\r\n\r\n)/s) {
                my ($hl, $hdr) = (length $1, $3);
                my ($len) = $hdr =~ /^Content-Length: (\d+)/mi;
                if (defined $len && length($buf) >= $hl + $len) {
                    push @r, substr($buf, $hl, $len);
                    substr($buf, 0, $hl + $len) = '';
                    next;
                }
            }
            next unless $s->pending || $sel->can_read(0.5);
            my $n = sysread($s, my $x, 65536);
            last unless $n;
            $buf .= $x;
        }
        return @r;
    };

    my $s = $tls->();
    for my $piece ("GET /pieces HT", "TP/1.1\r\nHost: a.test\r\n", "\r\n") {
        syswrite($s, $piece);
        select(undef, undef, undef, 0.2);
    }
    my @r = $read->($s, 1);
    like($r[0] // '', qr/^server=a /, 'TLS: a request in three records, 200 ms apart, is answered');

    # three requests, one record each, written back to back: OpenSSL
    # reads them in one go and ferry must serve all three from its buffer
    syswrite($s, "GET /p$_ HTTP/1.1\r\nHost: a.test\r\n\r\n") for 1 .. 3;
    @r = $read->($s, 3);
    is(scalar @r, 3, 'TLS: three pipelined requests in three records: three responses');
    # and three in one record
    syswrite($s, join '', map { "GET /q$_ HTTP/1.1\r\nHost: a.test\r\n\r\n" } 1 .. 3);
    @r = $read->($s, 3);
    is(scalar @r, 3, 'TLS: three pipelined requests in one record: three responses');
    close $s;

    # a 200 kB body in 20 records, 30 ms apart, proxied
    $s = $tls->();
    syswrite($s, "POST /proxy/paced HTTP/1.1\r\nHost: a.test\r\n"
                 . "Content-Length: 200000\r\n\r\n");
    for (1 .. 20) {
        syswrite($s, 'b' x 10000);
        select(undef, undef, undef, 0.03);
    }
    @r = $read->($s, 1);
    my $e = parse_echo($r[0]);
    is($e && $e->{'body-length'}, 200000, 'TLS: a body in paced records reaches the upstream whole');
    # then a request on the same connection still works
    syswrite($s, "GET /after HTTP/1.1\r\nHost: a.test\r\n\r\n");
    @r = $read->($s, 1);
    like($r[0] // '', qr/^server=a /, 'TLS: the connection serves the next request');
    close $s;
}

# static files over TLS: sendfile() cannot encrypt, so the file goes
# through the TLS layer; the bytes must arrive intact
my $file = join '', map { chr(($_ * 7) % 251) } 1 .. 2_000_000;
$f->write_file('files-root/files/blob.bin', $file);
($rc, $out) = curl('a.test', '/files/blob.bin');
is($rc, 0, 'static file over TLS: fetched');
is(length($out), length($file), 'static file over TLS: every byte');
ok($out eq $file, 'static file over TLS: byte-identical');

($rc, $out) = curl('a.test', '/', "-w 'connects=%{num_connects}\\n'", "https://a.test:$port/",
                   "https://a.test:$port/");
my $n = () = $out =~ /^server=a/mg;
is($n, 3, 'keep-alive over TLS: three responses');
my $reuse = () = $out =~ /^connects=0$/mg;
is($reuse, 2, 'keep-alive over TLS: on one connection');

# ---- resumption on another worker -------------------------------------

my $sess = $f->prefix . '/sess.pem';
my $req = "printf 'GET / HTTP/1.0\\r\\nHost: a.test\\r\\n\\r\\n'";
my $first = `$req | timeout 5 openssl s_client -connect 127.0.0.1:$port -servername a.test -CAfile $ca -sess_out $sess -ign_eof 2>&1`;
my ($pid0) = $first =~ /pid=(\d+)/;
ok($pid0, 'resumption: first, full handshake');
my (%pids, $reused);
for (1 .. 6) {
    my $o = `$req | timeout 5 openssl s_client -connect 127.0.0.1:$port -servername a.test -CAfile $ca -sess_in $sess -ign_eof 2>&1`;
    my ($p) = $o =~ /pid=(\d+)/;
    next unless $p && $o =~ /^Reused,/m && $o =~ /reused=r/;
    $reused++;
    $pids{$p} = 1;
}
is($reused, 6, 'resumption: every later connection resumed the session ($ssl_session_reused r)');
ok(scalar(grep { $_ != $pid0 } keys %pids) >= 1,
   'resumption: resumed on workers other than the one that issued the ticket');

# ssl_session_tickets off on a server reached through SNI: no ticket
my $csess = $f->prefix . '/csess.pem';
my $creq = "printf 'GET / HTTP/1.0\\r\\nHost: c.test\\r\\n\\r\\n'";
my $c1 = `$creq | timeout 5 openssl s_client -connect 127.0.0.1:$port -servername c.test -sess_out $csess -ign_eof 2>&1`;
like($c1, qr/server=c reused=\./, 'tickets off (SNI server): handshake and response');
unlike($c1, qr/New Session Ticket arrived/, 'tickets off (SNI server): no ticket sent');
like($first, qr/New Session Ticket arrived/, '... while the default server sends them');

# ---- ssl_session_ticket_key: tickets survive a restart of the master --

{
    my $kc = conf();
    $kc =~ s/http \{/http {\n    ssl_session_ticket_key ticket.key;\n    ssl_session_ticket_key old.key;/;
    my $k = Ferry::Test->new(conf => $kc);
    my $kd = $k->prefix . '/conf';
    sh("cp $d/*.crt $d/*.key $kd/");
    sh("openssl rand -out $kd/ticket.key 80 && openssl rand -out $kd/old.key 48");
    my $kp = $k->port(0);
    my $ks = $k->prefix . '/sess.pem';
    my $kreq = "printf 'GET / HTTP/1.0\\r\\nHost: a.test\\r\\n\\r\\n'";
    $k->start;
    `$kreq | timeout 5 openssl s_client -connect 127.0.0.1:$kp -servername a.test -sess_out $ks -ign_eof 2>&1`;
    $k->stop;
    $k->start;
    my $o = `$kreq | timeout 5 openssl s_client -connect 127.0.0.1:$kp -servername a.test -sess_in $ks -ign_eof 2>&1`;
    like($o, qr/reused=r/, 'ssl_session_ticket_key: a ticket resumes after a restart');
    $k->stop;

    sh("openssl rand -out $kd/old.key 20");
    my ($code, $out) = $k->run('-t');
    isnt($code, 0, 'ssl_session_ticket_key: a 20-byte file is refused');
    like($out, qr/ssl_session_ticket_key ".*old\.key" must be 48 or 80 bytes/, '... with the file named');
}

# ---- bad pairs: -t and reload ------------------------------------------

{
    my $t = Ferry::Test->new(conf => conf(akey => 'b.key'));
    my $td = $t->prefix . '/conf';
    sh("cp $d/*.crt $d/*.key $td/");
    my ($code, $o) = $t->run('-t');
    isnt($code, 0, '-t: a key that does not match its certificate is refused');
    like($o, qr/\[emerg\].*b\.key.*a\.crt/, '-t: the message names the key and certificate files');
    like($o, qr/ferry\.conf:\d+/, '-t: ... and the configuration line');

    sh("echo garbage > $td/broken.crt");
    (my $c2 = conf()) =~ s/ssl_certificate b\.crt;/ssl_certificate broken.crt;/;
    $t->write_file('conf/ferry.conf', $c2);
    ($code, $o) = $t->run('-t');
    isnt($code, 0, '-t: an unreadable certificate is refused');
    like($o, qr/cannot load certificate .*broken\.crt/, '-t: ... naming the file');
}

{
    my @w = $f->worker_pids;
    $f->allow_log(qr/\[emerg\] \d+#\d+: certificate key/,
                  qr/\[alert\] \d+#\d+: reload failed/);
    my $good = Ferry::Test::read_file($f->conf_file);
    (my $bad = $good) =~ s/ssl_certificate_key a\.key;/ssl_certificate_key b.key;/;
    $f->write_file('conf/ferry.conf', $bad);
    kill 'HUP', $f->master_pid;
    my $failed = wait_until { $f->error_log =~ /reload failed/ } 5;
    ok($failed, 'reload with a bad pair fails');
    like($f->error_log, qr/certificate key ".*b\.key" does not match certificate ".*a\.crt"/,
         'reload: the error names the files');
    ($rc, $out) = curl('a.test', '/');
    like($out, qr/^server=a /m, 'reload: the old configuration keeps serving TLS');
    is_deeply([ sort $f->worker_pids ], [ sort @w ], 'reload: same workers');
    $f->write_file('conf/ferry.conf', $good);
}

# ---- reload: an idle TLS connection is closed, never handed back -------

SKIP: {
    skip 'no IO::Socket::SSL', 3 unless eval { require IO::Socket::SSL; 1 };
    my $s = IO::Socket::SSL->new(PeerAddr => "127.0.0.1:$port", SSL_hostname => 'a.test',
                                 SSL_ca_file => $ca, Timeout => 5);
    ok($s, 'IO::Socket::SSL: connected');
    skip 'no connection', 2 unless $s;
    print $s "GET / HTTP/1.1\r\nHost: a.test\r\n\r\n";
    my $buf = '';
    while ($buf !~ /server=a[^\n]*\n/) {
        my $n = sysread($s, $buf, 4096, length $buf);
        last unless $n;
    }
    like($buf, qr/Connection: keep-alive/i, 'TLS keep-alive: open after the first response');
    my $done = () = $f->error_log =~ /reload done/g;
    kill 'HUP', $f->master_pid;
    wait_until { (() = $f->error_log =~ /reload done/g) > $done } 5;
    my $eof = 0;
    my $until = time + 5;
    while (time < $until) {
        my $n = sysread($s, my $x, 4096);
        if (defined $n && $n == 0) { $eof = 1; last; }
        last if !defined $n && !$!{EAGAIN} && !$!{EINTR};
    }
    ok($eof, 'reload: the draining worker closes the idle TLS connection (no hand-back)');
}

$f->stop;
done_testing;
