#!/usr/bin/perl

# Active health checks over TLS (health_check ssl): TLS servers that
# answer the health URI stay up and serve proxy_pass https://; a TLS
# server answering 503, or one speaking plain HTTP (handshake failure),
# is marked down with the reason in the log; sni= reaches the server;
# verify=on with trusted= checks the certificate; without "ssl" a
# TLS-only upstream is still probed in plain (and fails), with a [warn]
# at load naming the health_check; the status page shows the checks;
# bad parameters are refused with file and line.

use strict;
use warnings;

use Test::More;
use Ferry::Test;
use JSON::PP ();

plan skip_all => 'no openssl' unless grep { -x "$_/openssl" } split /:/, $ENV{PATH};
plan skip_all => 'no IO::Socket::SSL' unless eval { require IO::Socket::SSL; 1 };

# generous: the backends are forking Perl on a shared machine, and a
# healthy server must not time out twice in a row
my $hc = 'interval=1500ms timeout=1500ms fails=2 passes=1';

my $f = Ferry::Test->new(conf => main_conf() . <<"EOF");
worker_processes 1;
events { worker_connections 128; }
http {
    access_log off;
    upstream ok      { server 127.0.0.1:%%PORT_1%%;
                       health_check ssl uri=/health $hc; }
    upstream sick    { server 127.0.0.1:%%PORT_2%%;
                       health_check ssl uri=/health $hc; }
    upstream plain   { server 127.0.0.1:%%PORT_3%%;
                       health_check ssl uri=/health $hc; }
    upstream noflag  { server 127.0.0.1:%%PORT_1%%;
                       health_check uri=/health $hc; }
    upstream sni     { server 127.0.0.1:%%PORT_4%%;
                       health_check ssl sni=health.test uri=/health $hc; }
    upstream badsni  { server 127.0.0.1:%%PORT_4%%;
                       health_check ssl sni=other.test uri=/health $hc; }
    upstream verify  { server 127.0.0.1:%%PORT_4%%;
                       health_check ssl sni=health.test verify=on trusted=a.crt
                                    uri=/health $hc; }
    upstream wrongca { server 127.0.0.1:%%PORT_4%%;
                       health_check ssl sni=health.test verify=on trusted=b.crt
                                    uri=/health $hc; }
    upstream unixtls { server unix:%%PREFIX%%/tls.sock;
                       health_check ssl verify=on trusted=l.crt uri=/health $hc; }
    upstream slow    { server 127.0.0.1:%%PORT_5%%;
                       health_check ssl interval=1s timeout=300ms fails=1; }
    server {
        listen 127.0.0.1:%%PORT_0%%;
        location /slow/    { proxy_pass https://slow; }
        location /ok/      { proxy_pass https://ok; }
        location /sick/    { proxy_pass https://sick; }
        location /plain/   { proxy_pass https://plain; }
        location /noflag/  { proxy_pass https://noflag; }
        location /sni/     { proxy_pass https://sni; }
        location /badsni/  { proxy_pass https://badsni; }
        location /verify/  { proxy_pass https://verify; }
        location /wrongca/ { proxy_pass https://wrongca; }
        location /status   { status; }
    }
    server {
        # this ferry is the TLS server behind the unix-domain socket
        listen unix:%%PREFIX%%/tls.sock ssl;
        ssl_certificate l.crt;
        ssl_certificate_key l.key;
        location = /health { return 200 "ok"; }
    }
}
EOF

# two self-signed certificates: a.crt (health.test) serves, b.crt is a
# stranger's
my $d = $f->prefix . '/conf';
for my $n ('a', 'b') {
    sh("cd $d && openssl req -x509 -newkey rsa:2048 -nodes -keyout $n.key"
       . " -out $n.crt -days 2 -subj '/CN=health.test'"
       . " -addext 'subjectAltName=DNS:health.test'");
}
# localhost: what a probe through a unix-domain socket verifies
sh("cd $d && openssl req -x509 -newkey rsa:2048 -nodes -keyout l.key"
   . " -out l.crt -days 2 -subj '/CN=localhost'"
   . " -addext 'subjectAltName=DNS:localhost'");
my %tls = (cert => "$d/a.crt", key => "$d/a.key");

# 1: TLS, healthy, and only without SNI (ferry sends none by default)
my $b1 = Ferry::Test::Backend->new(port => $f->port(1), ssl => \%tls, handler => sub {
    my ($req) = @_;
    return { status => ($req->{tls}{sni} eq '' ? 200 : 403), body => 'hc' }
        if $req->{uri} eq '/health';
    return { body => 'one' };
});
# 2: TLS, sick
my $b2 = Ferry::Test::Backend->new(port => $f->port(2), ssl => \%tls, handler => sub {
    my ($req) = @_;
    return { status => 503, body => 'sick' } if $req->{uri} eq '/health';
    return { body => 'two' };
});
# 3: plain HTTP only: it answers the ClientHello with an HTTP error
my $b3 = Ferry::Test::Backend->new(port => $f->port(3), on_connect => sub {
    my ($s) = @_;
    sysread $s, my $x, 4096;
    syswrite $s, "HTTP/1.1 400 Bad Request\r\nConnection: close\r\n\r\n";
});
# 4: TLS, healthy only for the name health.test
my $b4 = Ferry::Test::Backend->new(port => $f->port(4), ssl => \%tls, handler => sub {
    my ($req) = @_;
    return { status => ($req->{tls}{sni} eq 'health.test' ? 200 : 403),
             body => 'hc' }
        if $req->{uri} eq '/health';
    return { body => 'four' };
});
# 5: accepts, then never answers the ClientHello
my $b5 = Ferry::Test::Backend->new(port => $f->port(5), on_connect => sub { sleep 2 });

$f->allow_log(qr/\[warn\]|\[error\]|\[info\]/);
$f->start or do { done_testing; exit };
my $port = $f->port(0);

sub log_has {
    my ($re) = @_;
    return wait_until(sub { $f->error_log =~ $re }, 10);
}

my $down = qr/upstream server 127\.0\.0\.1:\d+ in upstream/;


# ---- the warning at load: plain probes of a TLS-only upstream ----------

{
    # said where load-time messages go: on the terminal that started it
    my $conf = $f->conf_file;
    like(Ferry::Test::read_file($f->stderr_file) // '', qr/\[warn\] health_check of upstream "noflag" probes in plain HTTP, but it is proxied to with https:\/\/ only; add "ssl" in \Q$conf\E:15/,
         'a plain health_check of an https-only upstream: [warn] with file and line');
    unlike(Ferry::Test::read_file($f->stderr_file) // '',
           qr/health_check of upstream "(?!noflag)\w+" probes in plain/,
           'no warning where the checks speak TLS');
}


# ---- failures, with their reasons --------------------------------------

# Each failed check is logged at [info] with its reason; the transition
# to down once (with the reason of the check that made it, which on a
# loaded machine may be a timeout: so the two are looked at apart).
sub failed_with {
    my ($u, $why, $name) = @_;
    ok(log_has(qr/health check of \S+ in upstream "$u" failed: $why/)
       && log_has(qr/$down "$u" is down: \d+ checks failed, last: /), $name);
}

failed_with('sick', 'status 503',
            'a TLS server answering 503 to the health URI is marked down');
failed_with('plain', 'SSL handshake failed: SSL_do_handshake\(\) failed \(.*wrong version number\)',
            'a server speaking plain HTTP: down, "SSL handshake failed" with the reason');
failed_with('noflag', '',
            'without "ssl" a TLS-only server fails its plain checks (as before)');
failed_with('slow', 'timed out in SSL handshake',
            'no handshake within timeout: down, "timed out in SSL handshake"');
failed_with('badsni', 'status 403',
            'sni= reaches the server: another name gets its 403');
failed_with('wrongca', 'SSL handshake failed: upstream SSL certificate verify error',
            'verify=on with the wrong trusted= file: down, verify error');
ok($f->error_log =~ /$down "sick" is down: 2 checks failed, last: status 503/,
   'the [warn] line of the transition names the reason');

is(http_get($port, '/sick/x')->{status}, 502, 'the 503 server gets no requests');
is(http_get($port, '/plain/x')->{status}, 502, 'nor the plain one');


# ---- healthy TLS servers stay up and serve ------------------------------

{
    my $n = grep { / \/health$/ } $b1->request_lines;
    ok(wait_until(sub { (grep { / \/health$/ } $b1->request_lines) >= $n + 2 }, 10),
       'the TLS server gets its health checks over TLS');
}
unlike($f->error_log, qr/in upstream "(ok|sni|verify|unixtls)" is down/,
       'healthy TLS servers stay up (no SNI by default; sni=; verify=on; '
       . 'a unix-domain socket verified as "localhost")');
for my $u ('ok', 'sni', 'verify') {
    my $r = http_get($port, "/$u/x");
    is($r->{status}, 200, "proxy_pass https://$u: 200");
}
is(http_get($port, '/ok/x')->{body}, 'one', 'answered by the TLS server');


# ---- the status page --------------------------------------------------

{
    my %s;
    wait_until(sub {
        my $j = eval { JSON::PP->new->decode(
            http_get($port, '/status?format=json')->{body} // '') };
        return 0 unless $j;
        %s = map { my $u = $_; map { ("$u->{name}" => $_) } @{ $u->{servers} } }
             @{ $j->{upstreams} };
        return $s{ok}{health_check} && $s{sick}{health_check}
               && $s{plain}{health_check} && $s{unixtls}{health_check};
    }, 5);
    ok($s{ok}{health_check}{ok} && $s{ok}{health_check}{status} == 200
       && $s{ok}{state} eq 'up', 'status page: the TLS server is up, check 200');
    ok(!$s{sick}{health_check}{ok} && $s{sick}{health_check}{status} == 503
       && $s{sick}{state} eq 'down', 'status page: the 503 one is down');
    ok(!$s{plain}{health_check}{ok} && $s{plain}{state} eq 'down',
       'status page: the plain one is down');
    ok($s{unixtls}{health_check}{ok} && $s{unixtls}{state} eq 'up',
       'status page: the unix-domain TLS server, verified, is up');
}

$f->stop;


# ---- configuration ------------------------------------------------------

sub conf {
    my ($params, $pass) = @_;
    $pass //= 'https';
    return main_conf() . <<"EOF2";
events { worker_connections 64; }
http {
    upstream app {
        server 127.0.0.1:1;
        health_check $params;
    }
    server {
        listen 127.0.0.1:%%PORT_0%%;
        location / { proxy_pass $pass://app; }
    }
}
EOF2
}

# daemon, error_log, pid, events, http, upstream, server -> health_check
# on line 8
sub bad {
    my ($params, $message) = @_;
    my $t = Ferry::Test->new(conf => conf($params));
    my ($rc, $out) = $t->run('-t');
    my $want = "ferry: [emerg] $message in " . $t->conf_file . ":8";
    ok($rc == 1 && index($out, $want) >= 0, "refused: health_check $params")
        or diag("expected: $want\n     got: $out");
}

bad('ssl sni=', 'invalid parameter "sni="');
bad('ssl sni=a.test:443', 'invalid parameter "sni=a.test:443"');
bad('ssl verify=yes', 'invalid parameter "verify=yes"');
bad('ssl trusted=', 'invalid parameter "trusted="');
bad('ssl tls', 'invalid parameter "tls"');
bad('sni=a.test', '"sni=" parameters need "ssl"');
bad('ssl verify=on', '"verify=on" needs "trusted="');
{
    my $t = Ferry::Test->new(conf => conf('ssl verify=on trusted=nonexistent.crt'));
    my ($rc, $out) = $t->run('-t');
    like($out, qr/\[emerg\] cannot load health_check_ssl_trusted_certificate "[^"]*nonexistent\.crt": .* in \Q${\ $t->conf_file }\E:8/,
         'refused: a trusted= file that cannot be read, with file and line');
    is($rc, 1, 'and nothing starts');
}
{
    my $t = Ferry::Test->new(conf => conf('uri=/hc'));
    my ($rc, $out) = $t->run('-t');
    is($rc, 0, 'plain health_check of an https-only upstream: accepted');
    like($out, qr/\[warn\] health_check of upstream "app" probes in plain HTTP, but it is proxied to with https:\/\/ only; add "ssl" in \Q${\ $t->conf_file }\E:8/,
         'with the warning, file and line');
    $t = Ferry::Test->new(conf => conf('uri=/hc', 'http'));
    ($rc, $out) = $t->run('-t');
    unlike($out, qr/probes in plain HTTP/, 'no warning when proxied in plain');
    $t = Ferry::Test->new(conf => conf('uri=/hc port=8080', 'https'));
    ($rc, $out) = $t->run('-t');
    unlike($out, qr/probes in plain HTTP/, 'no warning with port= (a plain health port)');
    $t = Ferry::Test->new(conf => conf('ssl uri=/hc', 'https'));
    ($rc, $out) = $t->run('-t');
    is($rc, 0, 'health_check ssl: accepted');
    unlike($out, qr/probes in plain HTTP/, 'no warning with ssl');
}

done_testing;
