#!/usr/bin/perl

# Redirects ferry makes itself and the directives around them:
# absolute_redirect, server_name_in_redirect and port_in_redirect on the
# Location a client sees (the static handler's directory 301, "return
# 3xx /path", a proxied Location that proxy_redirect rewrote, one it
# did not), on plain and TLS listeners, on the schemes' own ports 80
# and 443 (127.0.47.x addresses: no other test listens there);
# log_not_found in the error log; and chunked_transfer_encoding off in
# the bytes of a response whose length is unknown.

use strict;
use warnings;

use Test::More;
use IO::Socket::INET;
use Ferry::Test;

my $have_ssl = eval { require IO::Socket::SSL; 1 };
my $root_ports = $> == 0;

my $conf = main_conf() . <<'EOF';
worker_processes 1;
events { worker_connections 256; }
http {
    gzip_types text/plain;

    server {
        listen 127.0.0.1:%%PORT_0%%;
        server_name first.example second.example;
        root html;

        location /ret { return 301 /target?a=1; }
        location /abs { return 302 http://other.example/x; }
        location /off { absolute_redirect off; }
        location /sn { server_name_in_redirect on; }
        location /np { port_in_redirect off; }
        location /snnp { server_name_in_redirect on; port_in_redirect off; }
        location /px/ { proxy_pass http://127.0.0.1:%%PORT_2%%; }
        location /pxoff/ {
            proxy_pass http://127.0.0.1:%%PORT_2%%;
            absolute_redirect off;
        }
        location /quiet/ { log_not_found off; }
        location /nochunk/ {
            proxy_pass http://127.0.0.1:%%PORT_2%%;
            chunked_transfer_encoding off;
        }
        location /chunk/ { proxy_pass http://127.0.0.1:%%PORT_2%%; }
        location /gz/ { gzip on; gzip_min_length 1; }
        location /gzoff/ {
            gzip on; gzip_min_length 1; chunked_transfer_encoding off;
        }
    }

    server {
        listen 127.0.0.1:%%PORT_1%% ssl;
        ssl_certificate t.crt;
        ssl_certificate_key t.key;
        root html;
        location /np { port_in_redirect off; }
    }
EOF
$conf .= <<'EOF' if $root_ports;

    server {
        listen 127.0.47.1:80;
        listen 127.0.47.1:443 ssl;
        ssl_certificate t.crt;
        ssl_certificate_key t.key;
        root html;
    }
EOF
$conf .= "}\n";

my $f = Ferry::Test->new(conf => $conf);
sh('cd ' . $f->prefix . '/conf && openssl req -x509 -newkey ec'
   . ' -pkeyopt ec_paramgen_curve:P-256 -nodes -keyout t.key -out t.crt'
   . " -days 2 -subj /CN=a.test 2>/dev/null");
for my $d (qw(dir off sn np snnp quiet gz gzoff)) {
    $f->write_file("html/$d/index.html", "index\n");
}
$f->write_file('html/gz/f.txt', "compress me " x 100);
$f->write_file('html/gzoff/f.txt', "compress me " x 100);

my ($port, $tport, $bport) = ($f->port(0), $f->port(1), $f->port(2));

# The backend: Location from X-Loc; /chunk/ and /nochunk/ answer with a
# body ended by the close (no length), or chunked with X-Chunked.
my $backend = Ferry::Test::Backend->new(port => $bport, handler => sub {
    my ($req) = @_;
    my %h = map { lc $_->[0] => $_->[1] } @{ $req->{headers} };
    if ($req->{uri} =~ m{/(no)?chunk/}) {
        return { status => 200, headers => [ 'Content-Type' => 'text/plain' ],
                 body => "unknown length body\n",
                 mode => $h{'x-chunked'} ? 'chunked' : 'close' };
    }
    return { status => 302, reason => 'Found',
             headers => [ Location => $h{'x-loc'} ], body => '' };
});

$f->start or BAIL_OUT('ferry did not start');

# The raw response to $req on $addr ("host:port"), read to the close.
sub raw {
    my ($addr, $req, %o) = @_;
    my $s = $o{tls}
        ? IO::Socket::SSL->new(PeerAddr => $addr, SSL_verify_mode => 0,
                               Timeout => 5)
        : IO::Socket::INET->new(PeerAddr => $addr, Timeout => 5);
    return "connect $addr: $!" unless $s;
    print $s $req;
    my $buf = '';
    local $SIG{ALRM} = sub { die "timeout\n" };
    alarm 5;
    eval { while (1) { my $n = sysread $s, $buf, 65536, length $buf;
                       last unless $n; } };
    alarm 0;
    close $s;
    return $buf;
}

# The Location a client gets for GET $path with the header lines @h
# (HTTP/1.1; Host: localhost unless given; version => '1.0' for none).
sub loc {
    my ($addr, $path, %o) = @_;
    my $req = "GET $path HTTP/" . ($o{version} // '1.1') . "\r\n";
    $req .= "Host: " . ($o{host} // 'localhost') . "\r\n"
        unless exists $o{host} && !defined $o{host};
    $req .= "$_\r\n" for @{ $o{headers} // [] };
    $req .= "Connection: close\r\n\r\n";
    my $r = raw($addr, $req, tls => $o{tls});
    return $r =~ /^Location: (.*?)\r$/mi ? $1 : "(none) $r";
}

my $a0 = "127.0.0.1:$port";

# ---- absolute_redirect on (the default) ----
is(loc($a0, '/dir?q=1'), "http://localhost:$port/dir/?q=1",
   'static directory 301: scheme, Host, port in front');
is(loc($a0, '/ret'), "http://localhost:$port/target?a=1",
   'return 301 /path: absolute');
is(loc($a0, '/abs'), 'http://other.example/x',
   'return 302 with a URL: unchanged');
is(loc($a0, '/dir', host => 'www.example.com:9999'),
   "http://www.example.com:$port/dir/",
   "Host with a port: its name, the listener's port (nginx)");
is(loc($a0, '/dir', host => 'WWW.Example.COM.'),
   "http://www.example.com:$port/dir/", 'Host lowercased, trailing dot gone');
is(loc($a0, '/dir', host => '[::1]:81'), "http://[::1]:$port/dir/",
   'an IPv6 Host keeps its brackets');
is(loc($a0, '/dir', version => '1.0', host => undef),
   "http://127.0.0.1:$port/dir/",
   'HTTP/1.0 without Host: the local address');

# ---- absolute_redirect off ----
is(loc($a0, '/off?x'), '/off/?x', 'absolute_redirect off: relative');

# ---- server_name_in_redirect, port_in_redirect ----
is(loc($a0, '/sn', host => 'www.example.com'),
   "http://first.example:$port/sn/",
   'server_name_in_redirect on: the first server_name');
is(loc($a0, '/np', host => 'www.example.com'), 'http://www.example.com/np/',
   'port_in_redirect off: no port');
is(loc($a0, '/snnp'), 'http://first.example/snnp/', 'both');

# ---- TLS: https ----
SKIP: {
    skip 'no IO::Socket::SSL', 2 unless $have_ssl;
    is(loc("127.0.0.1:$tport", '/dir', tls => 1),
       "https://localhost:$tport/dir/", 'TLS listener: https');
    is(loc("127.0.0.1:$tport", '/np', tls => 1), 'https://localhost/np/',
       'TLS listener, port_in_redirect off');
}

# ---- the schemes' own ports are left out ----
SKIP: {
    skip 'ports 80 and 443 need root', 2 unless $root_ports;
    is(loc('127.0.47.1:80', '/dir', host => 'a.example:80'),
       'http://a.example/dir/', 'port 80 of http: no port');
    skip 'no IO::Socket::SSL', 1 unless $have_ssl;
    is(loc('127.0.47.1:443', '/dir', host => 'a.example', tls => 1),
       'https://a.example/dir/', 'port 443 of https: no port');
}

# ---- proxied Locations ----
is(loc($a0, '/px/a', headers => ["X-Loc: http://127.0.0.1:$bport/px/b"]),
   "http://localhost:$port/px/b",
   'proxy_redirect default made it relative: then absolute (nginx)');
is(loc($a0, '/px/a', headers => ['X-Loc: /rel/c']), '/rel/c',
   'a relative Location no rule matched: as the backend sent it');
is(loc($a0, '/pxoff/a',
       headers => ["X-Loc: http://127.0.0.1:$bport/pxoff/b"]),
   '/pxoff/b', 'absolute_redirect off: the rewritten Location stays relative');

# ---- log_not_found ----
my $r = http_get($port, '/quiet/missing-quiet.txt');
is($r->{status}, 404, 'log_not_found off: still 404');
$r = http_get($port, '/dir/missing-loud.txt');
is($r->{status}, 404, 'log_not_found on: 404');
ok(wait_until { $f->error_log =~ /missing-loud\.txt/ },
   'log_not_found on (default): the 404 is logged');
unlike($f->error_log, qr/missing-quiet\.txt/,
       'log_not_found off: the 404 is not logged');
symlink($f->prefix . '/html/quiet/index.html',
        $f->prefix . '/html/quiet/link.txt') or die "symlink: $!";
$r = http_get($port, '/quiet/link.txt');
is($r->{status}, 403, 'log_not_found off: a symbolic link is 403');
ok(wait_until { $f->error_log =~ m{quiet/link\.txt} },
   '... and still logged (only 404s are quiet)');

# ---- chunked_transfer_encoding ----
my $req = "GET %s HTTP/1.1\r\nHost: localhost\r\n%s\r\n";
my $raw = raw($a0, sprintf($req, '/chunk/x', "Connection: close\r\n"));
like($raw, qr/\r\nTransfer-Encoding: chunked\r\n.*\r\n\r\n[0-9a-f]+\r\nunknown.*\r\n0\r\n\r\n\z/s,
     'default: a body without length goes chunked') or diag $raw;

# off: the requests below ask for keep-alive; only the close can end
# the body, so ferry closes

$raw = raw($a0, sprintf($req, '/nochunk/x', ''));
unlike($raw, qr/Transfer-Encoding/i, 'off: no Transfer-Encoding');
unlike($raw, qr/Content-Length/i, '... no Content-Length');
like($raw, qr/\r\nConnection: close\r\n/, '... Connection: close');
like($raw, qr/\r\n\r\nunknown length body\n\z/,
     '... the body as it is, ended by the close') or diag $raw;

$raw = raw($a0, sprintf($req, '/nochunk/x', "X-Chunked: 1\r\n"));
unlike($raw, qr/Transfer-Encoding/i, 'off, a chunked upstream body: unchunked');
like($raw, qr/\r\nConnection: close\r\n/, '... Connection: close');
like($raw, qr/\r\n\r\nunknown length body\n\z/, '... ended by the close')
    or diag $raw;

my $gz = "GET %s HTTP/1.1\r\nHost: localhost\r\nAccept-Encoding: gzip\r\n%s\r\n";
$raw = raw($a0, sprintf($gz, '/gz/f.txt', "Connection: close\r\n"));
like($raw, qr/\r\nTransfer-Encoding: chunked\r\n/,
     'gzip of a static file: chunked by default');
$raw = raw($a0, sprintf($gz, '/gzoff/f.txt', ''));
like($raw, qr/\r\nContent-Encoding: gzip\r\n/, 'off, gzip: compressed');
unlike($raw, qr/Transfer-Encoding/i, '... not chunked');
like($raw, qr/\r\nConnection: close\r\n/, '... Connection: close');
my ($body) = $raw =~ /\r\n\r\n(.*)\z/s;
SKIP: {
    skip 'no IO::Uncompress::Gunzip', 1
        unless eval { require IO::Uncompress::Gunzip; 1 };
    my $out;
    IO::Uncompress::Gunzip::gunzip(\$body, \$out);
    is($out, "compress me " x 100, '... the whole body up to the close');
}

# ---- -t accepts the directives at every level ----
my @flags = qw(absolute_redirect server_name_in_redirect port_in_redirect
               log_not_found chunked_transfer_encoding
               msie_padding msie_refresh);
my $lv = sub { join '', map { "$_ $_[0]; " } @flags };
$f->write_file('conf/levels.conf', main_conf() . "events { }\nhttp { "
               . $lv->('off') . "server { listen 127.0.0.1:1; "
               . $lv->('on') . "location / { " . $lv->('off') . "} } }\n");
my ($code, $out) = $f->run({ noconf => 1 }, '-p', $f->prefix . '/',
                           '-c', 'conf/levels.conf', '-t');
is($code, 0, "ferry -t: http, server and location accept @flags")
    or diag $out;
$f->write_file('conf/msie.conf', main_conf()
               . "events { }\nhttp { msie_refresh always; }\n");
($code, $out) = $f->run({ noconf => 1 }, '-p', $f->prefix . '/',
                        '-c', 'conf/msie.conf', '-t');
like($out, qr/"msie_refresh" directive invalid value "always", it must be "on" or "off" in \S+msie\.conf:\d/,
     'msie_refresh: the value is checked');

$f->stop;
done_testing();
