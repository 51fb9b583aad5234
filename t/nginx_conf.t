#!/usr/bin/perl

# nginx configurations carry over: the directives an operator finds in
# a distribution's default nginx.conf and its default site (sendfile,
# tcp_nopush, types_hash_max_size, a mime.types include, ssl_protocols,
# gzip, includes of conf.d/ and sites-enabled/, try_files) and in the
# usual reverse-proxy snippet (proxy_set_header for Host, X-Real-IP,
# X-Forwarded-*, WebSocket, proxy_redirect, long timeouts) are accepted
# by "ferry -t" and do what they say.  Written for this test in the
# shape of those files, not copied from them.

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
done_testing;
