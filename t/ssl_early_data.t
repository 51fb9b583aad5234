#!/usr/bin/perl
#
# ssl_early_data on: TLS 1.3 0-RTT.  openssl s_client saves a session
# (-sess_out), then resumes it with a request in early data (-sess_in
# -early_data FILE): the request is answered before the handshake
# ends, "1" in $ssl_early_data (a return, an add_header, and the
# Early-Data header nginx's documentation gives to a backend, with a
# request body that came in early data; a 200 kB file), then the
# request typed after the handshake on the same connection, with
# $ssl_early_data empty.  The same session used a second time -- a
# replay of its early data -- has its early data rejected (logged), on
# whichever of the two workers it lands, and after a reload; the
# request after the handshake is still served.  Under SNI, a named
# server with it off issues tickets that allow none, one with it on
# takes it.  With ssl_early_data off (the default) early data is
# rejected and the request still answered; over TLS 1.2 nothing
# changes; and the configuration errors.

use strict;
use warnings;
use Test::More;
use Ferry::Test;

plan skip_all => 'no openssl' unless grep { -x "$_/openssl" } split /:/, $ENV{PATH};

my $f = Ferry::Test->new(conf => main_conf() . <<'EOF');
worker_processes 2;
error_log logs/error.log info;
events { worker_connections 64; }
http {
    ssl_certificate ../srv.crt;
    ssl_certificate_key ../srv.key;
    server {
        listen 127.0.0.1:%%PORT_0%% ssl;
        ssl_early_data on;
        location / { return 200 "early=[$ssl_early_data] proto=$ssl_protocol\n"; }
        location /h { add_header X-Early "[$ssl_early_data]"; return 200 "h\n"; }
        location /big { root html; }
        location /p {
            proxy_set_header Early-Data $ssl_early_data;
            proxy_pass http://127.0.0.1:%%PORT_2%%;
        }
    }
    # SNI: early data is read where the address's default server (above)
    # has it on, and accepted where the named server has it too
    server {
        listen 127.0.0.1:%%PORT_0%% ssl;
        server_name off.test;
    }
    server {
        listen 127.0.0.1:%%PORT_0%% ssl;
        server_name on.test;
        ssl_early_data on;
    }
    server {
        listen 127.0.0.1:%%PORT_1%% ssl;
        location / { return 200 "early=[$ssl_early_data] proto=$ssl_protocol\n"; }
    }
}
EOF

my $d = $f->prefix;
mkdir "$d/html";
{
    open my $fh, '>', "$d/html/big" or die;
    print $fh join('', map { sprintf "%07d\n", $_ } 1 .. 25000);    # 200 kB
    close $fh;
}
sh("cd $d && openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256"
   . " -nodes -keyout srv.key -out srv.crt -days 2 -subj '/CN=srv.test'");

# The backend answers with the Early-Data header it was given.
tcp_server($f->port(2), sub {
    my $s = shift;
    my $req = '';
    while (sysread($s, my $b, 4096)) {
        $req .= $b;
        my ($h, $rest) = split /\r\n\r\n/, $req, 2;
        next unless defined $rest;
        my ($cl) = $h =~ /^Content-Length: (\d+)\r?$/mi;
        last if length($rest) >= ($cl // 0);
    }
    my ($e) = $req =~ /^Early-Data: ?(.*?)\r$/mi;
    my (undef, $got) = split /\r\n\r\n/, $req, 2;
    my $body = 'backend early-data=[' . ($e // 'none') . '] body='
               . length($got // '') . "\n";
    syswrite $s, "HTTP/1.1 200 OK\r\nContent-Length: " . length($body)
                 . "\r\nConnection: close\r\n\r\n$body";
});
$f->start or do { done_testing; exit };

sub put { my ($name, $text) = @_; open my $fh, '>', "$d/$name" or die; print $fh $text; close $fh }

# A full TLS 1.3 handshake that saves its session in $sess.
sub save_session {
    my ($port, $sess, @opt) = @_;
    put('plain.req', "GET / HTTP/1.1\r\nHost: t\r\nConnection: close\r\n\r\n");
    my $out = `openssl s_client -connect 127.0.0.1:$port -tls1_3 @opt -sess_out $d/$sess -ign_eof < $d/plain.req 2>&1`;
    return $out;
}

# Resume $sess with GET $path in early data (kept alive), then GET /
# typed after the handshake, which closes: s_client's whole output.
sub early {
    my ($port, $sess, $path, @opt) = @_;
    put('early.req', "GET $path HTTP/1.1\r\nHost: t\r\n\r\n");
    put('after.req', "GET / HTTP/1.1\r\nHost: t\r\nConnection: close\r\n\r\n");
    return scalar `openssl s_client -connect 127.0.0.1:$port -tls1_3 @opt -sess_in $d/$sess -early_data $d/early.req -ign_eof < $d/after.req 2>&1`;
}

# ---- on: the request in early data, then one after the handshake ----

like(save_session($f->port(0), 's1'), qr/early=\[\] proto=TLSv1\.3/,
     'a full handshake: $ssl_early_data empty');
ok(-s "$d/s1", '... its session saved');

my $out = early($f->port(0), 's1', '/');
like($out, qr/Early data was accepted/, 'the resumed session\'s early data accepted');
like($out, qr/Reused, TLSv1\.3/, '... the session resumed');
like($out, qr/early=\[1\] proto=TLSv1\.3\n.*early=\[\] proto=TLSv1\.3\n/s,
     '... the request in it answered with $ssl_early_data "1" (and '
     . '$ssl_protocol known), then the request after the handshake, '
     . 'on the same connection, with it empty') or diag($out);

# ---- the same session again: a replay ----

$out = early($f->port(0), 's1', '/');
like($out, qr/Early data was rejected/, 'the same session used again: its early data rejected');
unlike($out, qr/early=\[1\]/, '... the request in it not served');
like($out, qr/early=\[\] proto=TLSv1\.3\n/, '... the request after the handshake served');
ok(wait_until { ($f->error_log // '') =~ /early data rejected: the session ticket was used for early data before/ },
   '... logged at info');

# Each full handshake's session once: on whichever worker, the second
# use is rejected (the record is the workers' shared one).
my ($acc, $rej) = (0, 0);
for my $i (1 .. 4) {
    save_session($f->port(0), "r$i");
    $acc++ if early($f->port(0), "r$i", '/') =~ /Early data was accepted/;
    $rej++ if early($f->port(0), "r$i", '/') =~ /Early data was rejected/;
}
is("$acc $rej", '4 4', 'four sessions: each first use accepted, each second rejected');

# ---- a reload: new workers, the same record ----

save_session($f->port(0), 'rl');
like(early($f->port(0), 'rl', '/'), qr/Early data was accepted/, 'before a reload: a session\'s early data accepted');
{
    my @old = $f->worker_pids;
    my $done = () = $f->error_log =~ /reload done/g;
    kill 'HUP', $f->master_pid;
    ok(wait_until { (() = $f->error_log =~ /reload done/g) > $done }, 'reload done');
    ok(wait_until { my %o = map { $_ => 1 } @old; my @w = $f->worker_pids;
                    @w == 2 && !grep { $o{$_} } @w },
       '... two new workers, the old ones gone');
}
$out = early($f->port(0), 'rl', '/');
like($out, qr/Early data was rejected/, 'after it, the same session: its early data rejected (the record outlives reloads)');
like($out, qr/early=\[\] proto=TLSv1\.3\n/, '... the request after the handshake served');
save_session($f->port(0), 'rl2');
like(early($f->port(0), 'rl2', '/'), qr/Early data was accepted/, '... a new session\'s early data accepted');

# ---- add_header and the backend ----

save_session($f->port(0), 's2');
$out = early($f->port(0), 's2', '/h');
like($out, qr/^X-Early: \[1\]\r$/m, 'add_header X-Early $ssl_early_data: [1] for a request in early data')
    or diag($out);

save_session($f->port(0), 's3');
$out = early($f->port(0), 's3', '/p');
like($out, qr/backend early-data=\[1\]/,
     'proxy_set_header Early-Data $ssl_early_data: the backend gets "1"') or diag($out);

# ---- SNI ----

save_session($f->port(0), 'n1', '-servername', 'off.test');
$out = early($f->port(0), 'n1', '/', '-servername', 'off.test');
like($out, qr/Reused, TLSv1\.3/, 'SNI to a server with ssl_early_data off: the session resumes');
like($out, qr/Early data was not sent/, '... its tickets allow no early data (the client sends none)');
unlike($out, qr/early=\[1\]/, '... no request in early data served');
save_session($f->port(0), 'n2', '-servername', 'on.test');
like(early($f->port(0), 'n2', '/', '-servername', 'on.test'), qr/Early data was accepted/,
     'SNI to another server with it on: accepted');

# A body in early data, passed to the backend; a large answer written
# before the handshake ends.
save_session($f->port(0), 's4');
put('post.req', "POST /p HTTP/1.1\r\nHost: t\r\nContent-Length: 3000\r\n\r\n" . ('b' x 3000));
$out = `openssl s_client -connect 127.0.0.1:@{[$f->port(0)]} -tls1_3 -sess_in $d/s4 -early_data $d/post.req -ign_eof < $d/after.req 2>&1`;
like($out, qr/Early data was accepted/, 'a POST with a 3000-byte body in early data: accepted');
like($out, qr/backend early-data=\[1\] body=3000\n/, '... the backend gets the body and Early-Data: 1')
    or diag($out);

save_session($f->port(0), 's5');
$out = early($f->port(0), 's5', '/big');
like($out, qr/Early data was accepted/, 'a 200 kB file asked for in early data: accepted');
like($out, qr/^0000001\n.*^0025000\n/ms, '... the whole file answered') or diag(substr($out, 0, 2000));
my $lines = () = $out =~ /^\d{7}$/mg;
is($lines, 25000, '... every line of it, once');

# ---- off (the default): rejected, the request still answered ----

save_session($f->port(1), 'o1');
$out = early($f->port(1), 'o1', '/');
like($out, qr/Reused, TLSv1\.3/, 'ssl_early_data off: the session resumes');
unlike($out, qr/Early data was accepted/, '... its early data not accepted');
unlike($out, qr/early=\[1\]/, '... the request in it not served');
like($out, qr/early=\[\] proto=TLSv1\.3\n/, '... the request after the handshake served');

# ---- TLS 1.2: unaffected ----

$out = `openssl s_client -connect 127.0.0.1:@{[$f->port(0)]} -tls1_2 -ign_eof < $d/plain.req 2>&1`;
like($out, qr/early=\[\] proto=TLSv1\.2/, 'TLS 1.2 on an early-data server: served, $ssl_early_data empty');

$f->allow_log(qr/early data rejected/);
$f->stop;

# ---- configuration errors ----

my $line6 = qr/ferry\.conf:6\b/;
http_conf_refused("ssl_early_data maybe;",
                  qr/invalid value "maybe".* in \S+$line6/, 'ssl_early_data: a value not on or off');
http_conf_refused("ssl_early_data on; ssl_early_data on;",
                  qr/"ssl_early_data" directive is duplicate in \S+$line6/, 'ssl_early_data twice');

done_testing;
