#!/usr/bin/perl
#
# proxy_pass https:// with variables, as nginx: the URL is evaluated per
# request and its host reached over TLS with the location's proxy_ssl_*
# settings -- an IP address straight away, a name through the resolver
# (dnsmasq here), an upstream block by its name; a "proxy_pass $url"
# whose value is http:// in one request and https:// in the next.  What
# a client sees: the status, $upstream_addr, $proxy_host, $proxy_port,
# the SNI name the TLS backend got (the evaluated host, never the
# address it resolved to), proxy_ssl_verify passing for the right name
# and failing (502, with nginx's log line) for a wrong one, kept TLS
# connections for an upstream block with keepalive and neither kept
# connections nor sessions for an address found at run time.

use strict;
use warnings;
use Test::More;
use Ferry::Test;

plan skip_all => 'no openssl' unless grep { -x "$_/openssl" } split /:/, $ENV{PATH};
plan skip_all => 'no IO::Socket::SSL' unless eval { require IO::Socket::SSL; 1 };

# a CA and the backend's certificate, for a.test and backend.ferry.test
sub make_pki {
    my ($d) = @_;
    sh("cd $d && openssl req -x509 -newkey rsa:2048 -nodes -keyout ca.key"
       . " -out ca.crt -days 2 -subj '/CN=Ferry Test CA'");
    sh("cd $d && openssl genpkey -algorithm EC -pkeyopt ec_paramgen_curve:P-256"
       . " -out b.key");
    sh("cd $d && openssl req -new -key b.key -out b.csr -subj '/CN=a.test'");
    sh("cd $d && printf 'subjectAltName=DNS:a.test,DNS:backend.ferry.test\\n'"
       . " > b.ext");
    sh("cd $d && openssl x509 -req -in b.csr -CA ca.crt -CAkey ca.key"
       . " -CAcreateserial -out b.crt -days 2 -extfile b.ext");
}

my $verify = 'proxy_ssl_verify on; proxy_ssl_trusted_certificate ca.crt;';

my $conf = main_conf() . <<"EOF";
worker_processes 1;
events { worker_connections 64; }
http {
    access_log off;
    upstream a.test { server 127.0.0.1:%%PORT_1%%; keepalive 2; }
    server {
        listen 127.0.0.1:%%PORT_0%%;
        add_header X-Up \$upstream_addr always;
        add_header X-Host \$proxy_host always;
        add_header X-Port \$proxy_port always;
        proxy_ssl_server_name on;

        location /ip/    { proxy_pass https://\$arg_h; }
        location /set/   { set \$s 127.0.0.1:%%PORT_1%%;
                           proxy_pass https://\$s/fixed\$request_uri; }
        location /up/    { set \$u a.test; proxy_pass https://\$u; $verify }
        location /dns/   { resolver 127.0.0.1:%%PORT_3%%;
                           proxy_pass https://\$arg_h; $verify }
        location /vip/   { proxy_pass https://\$arg_h; $verify }
        location /named/ { proxy_pass https://\$arg_h; $verify
                           proxy_ssl_name a.test; }
        location /url/   { proxy_pass \$arg_url; }
    }
}
EOF

my $f = Ferry::Test->new(conf => $conf);
my $d = $f->prefix . '/conf';
make_pki($d);
my $tb = Ferry::Test::Backend->new(port => $f->port(1),
                                   ssl => { cert => "$d/b.crt", key => "$d/b.key" });
my $pb = Ferry::Test::Backend->new(port => $f->port(2));
# a plain HTTP server that answers the ClientHello with an HTTP error
my $hb = Ferry::Test::Backend->new(port => $f->port(4), on_connect => sub {
    my ($s) = @_;
    sysread $s, my $x, 4096;
    syswrite $s, "HTTP/1.1 400 Bad Request\r\nConnection: close\r\n\r\n";
});
my ($p0, $p1, $p2) = ($f->port(0), $f->port(1), $f->port(2));
my $tls = "127.0.0.1:$p1";

$f->allow_log(qr/upstream SSL certificate does not match|could not be resolved|SSL_do_handshake/);
$f->start or BAIL_OUT('ferry did not start');

# the backend's echo: "tls-sni NAME" ("" without SNI), "tls-conn PID"
sub tls_line {
    my ($r, $what) = @_;
    return $r->{body} =~ /^tls-$what (.*)$/m ? $1 : undef;
}

# ---- an IP address ----
my $r = http_get($p0, "/ip/x?h=$tls");
is($r->{status}, 200, 'https://$var naming an IP address: proxied over TLS');
like($r->{body}, qr{^uri /ip/x\?h=}m, '... with the request URI');
is(tls_line($r, 'sni'), '', '... no SNI for an IP address');
is($r->{headers}{'x-up'}, $tls, '... $upstream_addr');
is($r->{headers}{'x-host'}, $tls, '... $proxy_host as the URL has it');
is($r->{headers}{'x-port'}, $p1, '... $proxy_port');

# two requests on one client connection: the address is a request's own
# upstream, no TLS connection is kept to it
my ($rs) = http_keepalive($p0, [map { build_request(path => "/ip/k$_?h=$tls") } 1, 2]);
is(scalar(grep { $_->{status} == 200 } @$rs), 2, 'two requests to an address');
isnt(tls_line($rs->[0], 'conn'), tls_line($rs->[1], 'conn'),
     '... on two TLS connections: none kept for an address');
is(tls_line($rs->[1], 'reused'), '0', '... no session kept for it either');

$r = http_get($p0, '/set/y?a=1');
is($r->{status}, 200, 'set $s ADDR; proxy_pass https://$s/fixed$request_uri');
like($r->{body}, qr{^uri /fixed/set/y\?a=1$}m, '... the URI part sent as is');

$r = http_get($p0, "/ip/x?h=127.0.0.1:" . $f->port(4));
is($r->{status}, 502, 'https:// to a plain HTTP server: 502');
like($f->error_log, qr/SSL_do_handshake\(\) failed .* while SSL handshaking to upstream/,
     '... the failed handshake logged');

# ---- an upstream block named by the variable ----
($rs) = http_keepalive($p0, [map { build_request(path => "/up/u$_") } 1, 2]);
is($rs->[0]{status}, 200, 'https://$var naming an upstream block, verified');
is(tls_line($rs->[0], 'sni'), 'a.test', '... SNI: the upstream\'s name');
is($rs->[0]{headers}{'x-host'}, 'a.test', '... $proxy_host');
is($rs->[0]{headers}{'x-port'}, '443', '... $proxy_port: https\'s');
is($rs->[0]{headers}{'x-up'}, $tls, '... $upstream_addr: its server');
is($rs->[1]{status}, 200, '... a second request');
is(tls_line($rs->[1], 'conn'), tls_line($rs->[0], 'conn'),
   '... on the kept TLS connection (keepalive)');

# ---- verification with the evaluated host ----
$r = http_get($p0, "/vip/x?h=$tls");
is($r->{status}, 502, 'proxy_ssl_verify on, an IP address the certificate lacks: 502');
like($f->error_log, qr/upstream SSL certificate does not match "127\.0\.0\.1" while SSL handshaking to upstream, client: .*upstream: "https:\/\/\Q$tls\E/,
     '... nginx\'s log line, with the https:// upstream');
$r = http_get($p0, "/named/x?h=$tls");
is($r->{status}, 200, '... with proxy_ssl_name a.test: 200');
is(tls_line($r, 'sni'), 'a.test', '... proxy_ssl_name sent as SNI');

# ---- per request: http:// or https:// ----
$r = http_get($p0, "/url/a?url=http://127.0.0.1:$p2/plain");
is($r->{status}, 200, 'proxy_pass $url: http:// in one request');
like($r->{body}, qr{^uri /plain$}m, '... to the plain backend');
unlike($r->{body}, qr/^tls-/m, '... without TLS');
is($r->{headers}{'x-port'}, $p2, '... $proxy_port');
$r = http_get($p0, "/url/b?url=https://$tls/secure");
is($r->{status}, 200, '... https:// in the next');
like($r->{body}, qr{^uri /secure$}m, '... to the TLS backend');
like($r->{body}, qr/^tls-protocol TLSv1[._][23]$/m, '... over TLS');
$r = http_get($p0, "/url/c?url=https://a.test/blk");
is($r->{status}, 200, '... https:// naming the upstream block');
is(tls_line($r, 'sni'), 'a.test', '... SNI a.test');
$r = http_get($p0, "/url/d?url=ftp://$tls/");
is($r->{status}, 500, '... another scheme: 500');

# ---- a name resolved at run time (dnsmasq) ----
SKIP: {
    my $hosts = $f->write_file('hosts', "127.0.0.1 backend.ferry.test\n"
                                      . "127.0.0.1 other.ferry.test\n");
    skip 'dnsmasq not installed (sh auto/deps --test)', 8 unless dnsmasq_bin();
    ok(dnsmasq_server($f->port(3), $hosts, $f->prefix . '/dnsmasq.log'),
       'dnsmasq answers');
    $r = http_get($p0, "/dns/x?h=backend.ferry.test:$p1");
    is($r->{status}, 200, 'https://$var naming a name the resolver knows, verified');
    is(tls_line($r, 'sni'), 'backend.ferry.test', '... SNI: the name, not its address');
    is($r->{headers}{'x-up'}, $tls, '... $upstream_addr: its address');
    is($r->{headers}{'x-host'}, "backend.ferry.test:$p1", '... $proxy_host');
    $r = http_get($p0, "/dns/x?h=other.ferry.test:$p1");
    is($r->{status}, 502, 'a name the certificate does not hold: 502');
    like($f->error_log, qr/upstream SSL certificate does not match "other\.ferry\.test" while SSL handshaking to upstream/,
         '... logged');
    $r = http_get($p0, "/dns/x?h=nope.ferry.test:$p1");
    is($r->{status}, 502, 'a name that does not resolve: 502');
}

$f->stop;

# ---- at load: the location's TLS context is built as for https:// ----
http_conf_refused("server { listen 127.0.0.1:1; location / {\n"
                  . "    proxy_pass http://\$arg_h;\n    proxy_ssl_verify on; } }",
                  qr/no "proxy_ssl_trusted_certificate" for "proxy_ssl_verify" in .*ferry\.conf:8/,
                  'proxy_pass with variables, proxy_ssl_verify without a CA: refused');

done_testing;
