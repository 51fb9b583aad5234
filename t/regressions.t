#!/usr/bin/perl

# Bugs found by reading the code, each pinned down by what a client or
# operator sees: path spelling must not get past a location, status
# codes without a reason phrase, 204 without a body, proxy_pass URI
# replacement keeping the query, wildcard server names, and a reload
# that changes the listening addresses.

use strict;
use warnings;

use Test::More;
use Ferry::Test;

my $conf = main_conf() . <<'EOF';
worker_processes 1;
events { worker_connections 256; }
http {
    upstream app { server 127.0.0.1:%%PORT_1%%; }
    server {
        listen 127.0.0.1:%%PORT_0%%;
        location /admin { return 403; }
        location / { proxy_pass http://app; }
        location = /teapot { return 418; }
        location = /empty { return 204 "abcd"; }
        location = /exact { proxy_pass http://app/up; }
        location /pre/ { proxy_pass http://app/new/; }
    }
    server {
        listen 127.0.0.1:%%PORT_0%%;
        server_name .example.com;
        location / { return 200 "dot-example"; }
    }
    server {
        listen 127.0.0.1:%%PORT_0%%;
        server_name *.www.example.com;
        location / { return 200 "star-www"; }
    }
}
EOF

my $f = Ferry::Test->new(conf => $conf);
my $b = Ferry::Test::Backend->new(port => $f->port(1));
$f->start or do { done_testing; exit };
my $port = $f->port(0);

for my $path ('/admin', '/./admin', '/%61dmin', '//admin', '/x/../admin',
              '/x/%2e%2e/admin')
{
    my $r = http_get($port, $path);
    is($r->{status}, 403, "$path matches location /admin");
}
my $seen = $b->requests;
is(http_get($port, '/../etc/passwd')->{status}, 400,
   'a path above the root is refused');
is(http_get($port, '/%zz')->{status}, 400, 'a malformed %-escape is refused');
is($b->requests, $seen, 'neither reached the backend');

my $r = http_get($port, '/teapot');
is($r->{status}, 418, 'return 418 answers 418, not 500');
like($r->{raw}, qr{^HTTP/1\.1 418 }, 'status line has the code and a space');

$r = http($port, "GET /empty HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n");
is($r->{status}, 204, 'return 204');
ok(!defined $r->{headers}{'content-length'}, '204 has no Content-Length');
is($r->{body}, '', '204 has no body');

$r = http_get($port, '/exact?a=1&b=2');
my $e = parse_echo($r->{body});
is($e->{uri}, '/up?a=1&b=2', 'exact location with a URI part keeps the args');

$r = http_get($port, '/pre/x%20y/z?q=1');
$e = parse_echo($r->{body});
is($e->{uri}, '/new/x%20y/z?q=1', 'prefix replaced, path re-escaped, args kept');

is(http_get($port, '/', Host => 'example.com')->{body}, 'dot-example',
   '.example.com matches example.com itself');
is(http_get($port, '/', Host => 'a.example.com')->{body}, 'dot-example',
   '.example.com matches a subdomain');
is(http_get($port, '/', Host => 'a.www.example.com')->{body}, 'star-www',
   'the longest wildcard wins');

# ---- reload that changes the listening addresses --------------------

my $new_port = $f->port(2);
(my $conf2 = $conf) =~ s{listen 127\.0\.0\.1:%%PORT_0%%;\n        location /admin}
                        {listen 127.0.0.1:%%PORT_0%%;\n        listen 127.0.0.1:%%PORT_2%%;\n        location /admin};
$f->write_file('conf/ferry.conf', $f->subst($conf2));
kill 'HUP', $f->master_pid;
ok(wait_until(sub { (http_get($new_port, '/teapot')->{status} // 0) == 418 }, 10),
   'after a reload the added listen address answers');
is(http_get($port, '/teapot')->{status}, 418, 'the kept address still answers');

# and back: the added address goes away, the kept one stays
$f->write_file('conf/ferry.conf', $f->subst($conf));
kill 'HUP', $f->master_pid;
ok(wait_until(sub { port_is_closed($new_port) }, 10),
   'after a reload without it the address is closed');
is(http_get($port, '/teapot')->{status}, 418, 'the kept address still answers');
unlike($f->error_log, qr/epoll_ctl/, 'no epoll errors in the log');

$f->stop;
done_testing;
