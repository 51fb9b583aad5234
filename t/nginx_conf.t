#!/usr/bin/perl

# nginx configurations carry over: the directives an operator finds in
# a distribution's default nginx.conf and its default site (sendfile,
# tcp_nopush, types_hash_max_size, a mime.types include, ssl_protocols,
# gzip, includes of conf.d/ and sites-enabled/, try_files) and in the
# usual reverse-proxy snippet (proxy_set_header for Host, X-Real-IP,
# X-Forwarded-*, WebSocket, proxy_redirect, long timeouts) are accepted
# by "ferry -t" and do what they say; and so is a reverse-proxy site of
# the kind kept in sites-available/ (its own error_log and access_log,
# proxy_cookie_*, proxy temp-file and busy-buffer settings, the open
# file cache, reset_timedout_connection, keepalive_disable).  Written
# for this test in the shape of those files, not copied from them.

use strict;
use warnings;

use Test::More;
use Ferry::Test;

my $MAIN = <<'EOF';
user www-data;
worker_processes auto;
pid logs/nginx.pid;
error_log logs/error.log;
daemon off;

events {
    worker_connections 768;
    # multi_accept on;
}

http {
    # Basic settings
    sendfile on;
    tcp_nopush on;
    types_hash_max_size 2048;
    # server_tokens off;
    server_names_hash_bucket_size 64;

    include mime.types;
    default_type application/octet-stream;

    # SSL settings
    ssl_protocols TLSv1 TLSv1.1 TLSv1.2 TLSv1.3;
    ssl_prefer_server_ciphers on;

    # Logging
    access_log logs/access.log;

    # Gzip
    gzip on;
    # gzip_vary on;
    # gzip_proxied any;
    gzip_comp_level 6;
    gzip_types text/plain text/css application/json application/javascript;

    # Virtual hosts
    include conf.d/*.conf;
    include sites-enabled/*;
}
EOF

my $SITE = <<'EOF';
server {
    listen 127.0.0.1:%%PORT_0%% default_server;
    listen [::1]:%%PORT_0%% default_server;

    root html;
    index index.html index.htm index.nginx-debian.html;
    server_name _;

    location / {
        # files, then directories, else 404
        try_files $uri $uri/ =404;
    }

    location /api/ {
        proxy_pass http://backend;
        proxy_http_version 1.1;
        proxy_set_header Host $host;
        proxy_set_header X-Real-IP $remote_addr;
        proxy_set_header X-Forwarded-For $proxy_add_x_forwarded_for;
        proxy_set_header X-Forwarded-Proto $scheme;
        proxy_set_header Upgrade $http_upgrade;
        proxy_set_header Connection "upgrade";
        proxy_redirect off;
        proxy_read_timeout 86400;
    }

    location /app/ {
        alias spa/;
        try_files $uri $uri/ /app/index.html;
    }
}
EOF

my $UPSTREAM = <<'EOF';
upstream backend {
    server 127.0.0.1:%%PORT_1%%;
    keepalive 16;
}
EOF

my $f = Ferry::Test->new(conf => $MAIN);
$f->write_file('conf/mime.types', <<'EOF');
types {
    text/html                html htm;
    text/css                 css;
    application/javascript   js;
    application/json         json;
}
EOF
$f->write_file('conf/conf.d/upstream.conf', $f->subst($UPSTREAM));
$f->write_file('conf/sites-enabled/default', $f->subst($SITE));
$f->write_file('html/index.nginx-debian.html', "<p>welcome</p>\n");
$f->write_file('html/style.css', "body { margin: 0 }\n");
$f->write_file('spa/index.html', "<p>the app</p>\n");
$f->write_file('spa/main.js', "run();\n");

my ($rc, $out) = $f->run('-t');
is($rc, 0, 'ferry -t accepts a distribution-style nginx.conf with its default site')
    or diag($out);
like($out, qr/syntax is ok/, '... and says so');

# Serve it, as the test's own user (www-data could not read the test's
# private directory)
my $conf = Ferry::Test::read_file($f->conf_file);
$conf =~ s/^user www-data;\n//m;
$f->write_file('conf/ferry.conf', $conf);

my $b = Ferry::Test::Backend->new(port => $f->port(1));
$f->start or do { done_testing; exit };
my $port = $f->port(0);

my $r = http_get($port, '/');
is($r->{status}, 200, '/: the index file');
is($r->{body}, "<p>welcome</p>\n", '... index.nginx-debian.html');
is($r->{headers}{'content-type'}, 'text/html', '... typed by the included mime.types');

$r = http_get($port, '/style.css');
is($r->{headers}{'content-type'}, 'text/css', 'a file: its type');

is(http_get($port, '/missing')->{status}, 404, 'try_files ... =404: a missing file is a 404');

$r = http_get($port, '/app/some/route');
is($r->{status}, 200, 'the SPA fallback: an unknown route under /app/');
is($r->{body}, "<p>the app</p>\n", '... gets the app\'s index.html');
is(http_get($port, '/app/main.js')->{body}, "run();\n", '... an existing file is served');

$r = http_get($port, '/api/x?y=1', 'X-Forwarded-For' => '10.0.0.7');
is($r->{status}, 200, '/api/: proxied');
my $e = parse_echo($r->{body}) // {};
my %h = map { lc($_->[0]) => $_->[1] } @{ $e->{headers} // [] };
is($e->{uri}, '/api/x?y=1', '... the request URI');
is($h{'x-real-ip'}, '127.0.0.1', '... X-Real-IP');
is($h{'x-forwarded-for'}, '10.0.0.7, 127.0.0.1', '... X-Forwarded-For appended');
is($h{'x-forwarded-proto'}, 'http', '... X-Forwarded-Proto');
is($h{host}, 'localhost', '... Host: $host');

$f->stop;

# A reverse-proxy site as written in sites-available/ for an app server:
# its own error_log and access_log, cookies and temp-file settings of
# nginx's proxy, connection options, the open file cache.
my $PROXY_SITE = <<'EOF2';
upstream app_server {
    server 127.0.0.1:%%PORT_1%% fail_timeout=0;
}

server {
    listen 127.0.0.1:%%PORT_0%%;
    server_name app.example.com;

    access_log logs/app.access.log;
    error_log logs/app.error.log warn;

    client_max_body_size 20m;
    client_body_temp_path logs/client_temp 1 2;
    keepalive_timeout 65;
    keepalive_disable msie6;
    reset_timedout_connection on;
    open_file_cache max=1000 inactive=20s;
    open_file_cache_valid 30s;
    open_file_cache_min_uses 2;
    open_file_cache_errors on;

    location /static/ {
        alias static/;
    }

    location / {
        proxy_pass http://app_server;
        proxy_set_header Host $http_host;
        proxy_set_header X-Forwarded-For $proxy_add_x_forwarded_for;
        proxy_redirect off;
        proxy_buffering on;
        proxy_buffer_size 128k;
        proxy_buffers 4 256k;
        proxy_busy_buffers_size 256k;
        proxy_temp_path logs/proxy_temp;
        proxy_max_temp_file_size 0;
        proxy_temp_file_write_size 256k;
        proxy_cookie_domain app.internal app.example.com;
        proxy_cookie_path /internal/ /;
    }

    location /admin/ {
        deny all;
    }
}
EOF2

my $p = Ferry::Test->new(conf => <<'EOF2');
worker_processes 1;
pid logs/nginx.pid;
error_log logs/error.log;
daemon off;
events { worker_connections 256; }
http {
    include sites-enabled/*;
}
EOF2
$p->write_file('conf/sites-enabled/app', $p->subst($PROXY_SITE));
$p->write_file('static/site.css', "p { }\n");
($rc, $out) = $p->run('-t');
is($rc, 0, 'ferry -t accepts a reverse-proxy site with its own error_log and proxy cookie, temp and cache settings')
    or diag($out);

my $app = Ferry::Test::Backend->new(port => $p->port(1), handler => sub {
    return { headers => [ 'Set-Cookie' => 'sid=42; Domain=app.internal; Path=/internal/x; HttpOnly' ],
             body => "app\n" };
});
$p->start or do { done_testing; exit };
$port = $p->port(0);

$r = http_get($port, '/login', Host => 'app.example.com');
is($r->{status}, 200, 'the site proxies to its app server');
is($r->{headers}{'set-cookie'}, 'sid=42; Domain=app.example.com; Path=/x; HttpOnly',
   '... with the cookie\'s Domain and Path rewritten');
is(http_get($port, '/static/site.css', Host => 'app.example.com')->{body}, "p { }\n",
   'static files served');
is(http_get($port, '/admin/', Host => 'app.example.com')->{status}, 403, 'a denied location');
ok(wait_until(sub { (Ferry::Test::read_file($p->prefix . '/logs/app.error.log') // '')
                        =~ m{access forbidden by rule.*GET /admin/} }, 5),
   '... logged to the site\'s own error_log');
unlike($p->error_log, qr{/admin/}, '... not to the main one');
ok(wait_until(sub { (Ferry::Test::read_file($p->prefix . '/logs/app.access.log') // '')
                        =~ m{GET /login} }, 5),
   'the site\'s access_log');

$p->stop;
done_testing;
