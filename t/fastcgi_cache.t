#!/usr/bin/perl

# fastcgi_cache and its kin in front of the real php-fpm (Debian's
# php8.2-fpm): the WordPress "FastCGI cache" recipe as a whole (its
# $skip_cache for POST, query strings, admin URLs and logged-in
# cookies), then each directive on its own: MISS then HIT with PHP run
# once, fastcgi_cache_key with $request_uri, fastcgi_cache_bypass
# $cookie_wordpress_logged_in, fastcgi_no_cache for POST,
# fastcgi_cache_methods, a response with Set-Cookie not kept (kept with
# fastcgi_ignore_headers Set-Cookie), fastcgi_cache_revalidate (PHP
# answers 304 to HTTP_IF_NONE_MATCH), the client's If-None-Match not
# passed to PHP,
# fastcgi_cache_valid 200 2s expiring, fastcgi_cache_use_stale error
# with php-fpm stopped, $upstream_cache_status in add_header; config
# errors with file and line.  PHP counts its runs in a file.

use strict;
use warnings;

use Test::More;
use Ferry::Test;
use Ferry::PHPFPM;

plan skip_all => 'php-fpm not installed (sh auto/deps --test installs '
               . 'php8.2-fpm)' unless $Ferry::PHPFPM::FPM;

my $CONF = <<'EOF';
events { worker_connections 64; }
http {
    access_log off;
    fastcgi_cache_path %%PREFIX%%/fcache levels=1:2 keys_zone=WORDPRESS:1m
                       inactive=60m;
    fastcgi_cache_path %%PREFIX%%/fcache2 keys_zone=other:1m;
    fastcgi_cache_key "$scheme$request_method$host$request_uri";

    map $request_method $is_post {
        POST     1;
        default  0;
    }

    # the WordPress recipe
    server {
        listen 127.0.0.1:%%PORT_0%%;
        root %%PREFIX%%/html;

        set $skip_cache 0;
        if ($request_method = POST) {
            set $skip_cache 1;
        }
        if ($query_string != "") {
            set $skip_cache 1;
        }
        if ($request_uri ~* "/wp-admin/|/xmlrpc.php|wp-.*.php|/feed/|index.php|sitemap(_index)?.xml") {
            set $skip_cache 1;
        }
        if ($http_cookie ~* "comment_author|wordpress_[a-f0-9]+|wp-postpass|wordpress_no_cache|wordpress_logged_in") {
            set $skip_cache 1;
        }

        index index.php;
        location / {
            try_files $uri $uri/ /index.php?$args;
        }
        location ~ \.php$ {
            include fastcgi.conf;
            fastcgi_pass 127.0.0.1:%%PORT_1%%;
            fastcgi_cache_bypass $skip_cache;
            fastcgi_no_cache $skip_cache;
            fastcgi_cache WORDPRESS;
            fastcgi_cache_valid 200 60m;
            add_header X-Cache $upstream_cache_status;
        }
    }

    # one directive at a time
    server {
        listen 127.0.0.1:%%PORT_2%%;
        root %%PREFIX%%/html;
        add_header X-Cache $upstream_cache_status;
        fastcgi_cache WORDPRESS;
        fastcgi_cache_valid 10m;

        location ^~ /plain/ {
            rewrite ^/plain(/.*)$ $1 break;
            include fastcgi.conf;
            fastcgi_pass 127.0.0.1:%%PORT_1%%;
        }
        location ^~ /logged/ {
            rewrite ^/logged(/.*)$ $1 break;
            include fastcgi.conf;
            fastcgi_cache_bypass $cookie_wordpress_logged_in;
            fastcgi_pass 127.0.0.1:%%PORT_1%%;
        }
        location ^~ /post/ {
            rewrite ^/post(/.*)$ $1 break;
            include fastcgi.conf;
            fastcgi_cache_methods GET HEAD POST;
            fastcgi_no_cache $is_post;
            fastcgi_pass 127.0.0.1:%%PORT_1%%;
        }
        location ^~ /postok/ {
            rewrite ^/postok(/.*)$ $1 break;
            include fastcgi.conf;
            fastcgi_cache_methods POST;
            fastcgi_pass 127.0.0.1:%%PORT_1%%;
        }
        location ^~ /short/ {
            # 2s: the HIT right after the MISS must come within it on a
            # busy machine too
            rewrite ^/short(/.*)$ $1 break;
            include fastcgi.conf;
            fastcgi_cache_valid 200 2s;
            fastcgi_pass 127.0.0.1:%%PORT_1%%;
        }
        location ^~ /igncookie/ {
            rewrite ^/igncookie(/.*)$ $1 break;
            include fastcgi.conf;
            fastcgi_ignore_headers Set-Cookie;
            fastcgi_pass 127.0.0.1:%%PORT_1%%;
        }
        location ^~ /reval/ {
            rewrite ^/reval(/.*)$ $1 break;
            include fastcgi.conf;
            fastcgi_cache_valid 200 1s;
            fastcgi_cache_revalidate on;
            fastcgi_pass 127.0.0.1:%%PORT_1%%;
        }
        location ^~ /stale/ {
            rewrite ^/stale(/.*)$ $1 break;
            include fastcgi.conf;
            fastcgi_cache other;
            fastcgi_cache_valid 200 1s;
            fastcgi_cache_use_stale error;
            fastcgi_pass 127.0.0.1:%%PORT_1%%;
        }
        location ^~ /nostale/ {
            rewrite ^/nostale(/.*)$ $1 break;
            include fastcgi.conf;
            fastcgi_cache other;
            fastcgi_cache_valid 200 1s;
            fastcgi_pass 127.0.0.1:%%PORT_1%%;
        }
        location ^~ /off/ {
            rewrite ^/off(/.*)$ $1 break;
            include fastcgi.conf;
            fastcgi_cache off;
            fastcgi_pass 127.0.0.1:%%PORT_1%%;
        }
        # proxy_cache is proxy_pass's: no effect on fastcgi_pass
        location ^~ /proxyonly/ {
            rewrite ^/proxyonly(/.*)$ $1 break;
            include fastcgi.conf;
            fastcgi_cache off;
            proxy_cache pzone;
            fastcgi_pass 127.0.0.1:%%PORT_1%%;
        }
    }
    proxy_cache_path %%PREFIX%%/pcache keys_zone=pzone:1m;
}
EOF

my $f = Ferry::Test->new(conf => main_conf() . $CONF);
my $P = $f->prefix;
$f->write_file('conf/fastcgi.conf',
               Ferry::Test::read_file("$Ferry::Test::ROOT/conf/fastcgi.conf"));

# every run of a script appends a line to $P/runs: "run N" is its number
my $RUN = <<"EOF";
<?php
file_put_contents('$P/runs', \$_SERVER['REQUEST_URI'] . "\\n",
                  FILE_APPEND | LOCK_EX);
\$n = count(file('$P/runs'));
EOF
$f->write_file('html/index.php', $RUN . <<'EOF');
echo "run $n index {$_SERVER['REQUEST_METHOD']}\n";
EOF
$f->write_file('html/page.php', $RUN . <<'EOF');
echo "run $n page\n";
EOF
$f->write_file('html/cookie.php', $RUN . <<'EOF');
setcookie('session', 'abc');
echo "run $n cookie\n";
EOF
# answers 304 to its own ETag (logged in runs with " 304")
$f->write_file('html/etag.php', <<"EOF" . $RUN . <<'EOF2');
<?php
header('ETag: "v1"');
if ((\$_SERVER['HTTP_IF_NONE_MATCH'] ?? '') === '"v1"') {
    file_put_contents('$P/runs', \$_SERVER['REQUEST_URI'] . " 304\\n",
                      FILE_APPEND | LOCK_EX);
    http_response_code(304);
    exit;
}
?>
EOF
echo "run $n etag\n";
EOF2
$f->write_file('html/wp-admin/admin.php', $RUN . <<'EOF');
echo "run $n admin\n";
EOF

sub runs {
    my $t = Ferry::Test::read_file("$P/runs") // '';
    return scalar(() = $t =~ /\n/g);
}

my $fpm = Ferry::PHPFPM->new(dir => $P, pools => [
    { name => 'a', listen => '127.0.0.1:' . $f->port(1), children => 3 } ]);
ok($fpm->wait_up, 'php-fpm is up');
$f->allow_log(qr/connect\(\) failed .* while connecting to upstream/);
$f->start;
my ($wp, $one) = ($f->port(0), $f->port(2));

sub get {
    my ($port, $path, @h) = @_;
    return http_get($port, $path, @h);
}
sub post {
    my ($port, $path) = @_;
    return http($port, build_request(method => 'POST', path => $path,
                                     body => 'a=1',
                                     headers => [Connection => 'close']));
}
sub check {
    my ($r, $status, $cache, $body, $ran, $name) = @_;
    my $before = $main::runs_seen // 0;
    my $now = runs();
    $main::runs_seen = $now;
    is($r->{status}, $status, "$name: $status");
    is($r->{headers}{'x-cache'}, $cache, "$name: X-Cache "
       . ($cache // 'none'));
    like($r->{body} // '', $body, "$name: body");
    is($now - $before, $ran, "$name: PHP ran $ran time(s)");
}

# ---- the WordPress recipe ----
my $r = get($wp, '/hello-world/');
check($r, 200, 'MISS', qr/^run 1 index GET$/, 1, 'recipe, a post first');
$r = get($wp, '/hello-world/');
check($r, 200, 'HIT', qr/^run 1 index GET$/, 0, 'recipe, it again');
$r = get($wp, '/');
check($r, 200, 'MISS', qr/^run 2 index GET$/, 1, 'recipe, the home page');
$r = get($wp, '/');
check($r, 200, 'HIT', qr/^run 2 index GET$/, 0, 'recipe, it again');
$r = get($wp, '/about/');
check($r, 200, 'MISS', qr/^run 3 index GET$/, 1,
      'recipe, another $request_uri: its own entry');
$r = get($wp, '/about/');
check($r, 200, 'HIT', qr/^run 3 index GET$/, 0, 'recipe, it again');
$r = get($wp, '/hello-world/', Cookie => 'wordpress_logged_in_0123=admin');
check($r, 200, 'BYPASS', qr/^run 4 index GET$/, 1,
      'recipe, logged-in cookie');
$r = get($wp, '/hello-world/');
check($r, 200, 'HIT', qr/^run 1 index GET$/, 0,
      'recipe, the bypassed answer was not kept (fastcgi_no_cache)');
$r = get($wp, '/hello-world/?s=search');
check($r, 200, 'BYPASS', qr/^run 5 index GET$/, 1, 'recipe, query string');
$r = post($wp, '/hello-world/');
check($r, 200, undef, qr/^run 6 index POST$/, 1,
      'recipe, POST (not a cached method)');
$r = get($wp, '/wp-admin/admin.php');
check($r, 200, 'BYPASS', qr/^run 7 admin$/, 1, 'recipe, /wp-admin/');
$r = get($wp, '/wp-admin/admin.php');
check($r, 200, 'BYPASS', qr/^run 8 admin$/, 1, 'recipe, /wp-admin/ again');

# ---- one at a time ----
$r = get($one, '/plain/page.php');
check($r, 200, 'MISS', qr/^run 9 page$/, 1, 'fastcgi_cache: first');
$r = get($one, '/plain/page.php');
check($r, 200, 'HIT', qr/^run 9 page$/, 0, 'fastcgi_cache: second');
$r = http($one, build_request(method => 'HEAD', path => '/plain/page.php',
                              headers => [Connection => 'close']));
is($r->{headers}{'x-cache'}, 'MISS',
   'HEAD: its own entry ($request_method in the key)');
$main::runs_seen = runs();

$r = get($one, '/logged/page.php');
check($r, 200, 'MISS', qr/^run 11 page$/, 1, 'cache_bypass: no cookie');
$r = get($one, '/logged/page.php', Cookie => 'wordpress_logged_in=1');
check($r, 200, 'BYPASS', qr/^run 12 page$/, 1,
      'fastcgi_cache_bypass $cookie_wordpress_logged_in: with it');
$r = get($one, '/logged/page.php');
check($r, 200, 'HIT', qr/^run 12 page$/, 0,
      '... its answer replaced the entry (bypass is not no_cache)');

$r = post($one, '/post/page.php');
check($r, 200, 'MISS', qr/^run 13 page$/, 1, 'fastcgi_no_cache $is_post');
$r = post($one, '/post/page.php');
check($r, 200, 'MISS', qr/^run 14 page$/, 1, '... POST not kept');
$r = post($one, '/postok/page.php');
check($r, 200, 'MISS', qr/^run 15 page$/, 1, 'fastcgi_cache_methods POST');
$r = post($one, '/postok/page.php');
check($r, 200, 'HIT', qr/^run 15 page$/, 0, '... POST kept');

$r = get($one, '/plain/cookie.php');
check($r, 200, 'MISS', qr/^run 16 cookie$/, 1, 'Set-Cookie: first');
like($r->{raw} // join("\n", map { "$_: $r->{headers}{$_}" }
                               keys %{ $r->{headers} }),
     qr/session=abc/i, '... the cookie reaches the client');
$r = get($one, '/plain/cookie.php');
check($r, 200, 'MISS', qr/^run 17 cookie$/, 1, 'Set-Cookie: not kept');

$r = get($one, '/short/page.php');
check($r, 200, 'MISS', qr/^run 18 page$/, 1, 'cache_valid 2s: first');
$r = get($one, '/short/page.php');
check($r, 200, 'HIT', qr/^run 18 page$/, 0, 'cache_valid 2s: at once');
$r = get($one, '/reval/etag.php');
check($r, 200, 'MISS', qr/^run 19 etag$/, 1, 'cache_revalidate: stored');
select undef, undef, undef, 3.2;
$r = get($one, '/short/page.php');
check($r, 200, 'EXPIRED', qr/^run 20 page$/, 1,
      'cache_valid 2s: three seconds later');
$r = get($one, '/reval/etag.php');
check($r, 200, 'REVALIDATED', qr/^run 19 etag$/, 1,
      'fastcgi_cache_revalidate: PHP saw HTTP_IF_NONE_MATCH, answered 304');
like(Ferry::Test::read_file("$P/runs"), qr{^/reval/etag\.php 304$}m,
     '... as its log says');

# the client's conditions are not passed to PHP when the cache is used
$r = get($one, '/plain/etag.php', 'If-None-Match' => '"v1"');
check($r, 200, 'MISS', qr/^run 22 etag$/, 1,
      'If-None-Match of the client: not passed up, 200 stored');
$r = get($one, '/plain/etag.php', 'If-None-Match' => '"v1"');
is($r->{status}, 304, '... then answered 304 from the entry');
is($r->{headers}{'x-cache'}, 'HIT', '... HIT');

$r = get($one, '/off/page.php');
check($r, 200, undef, qr/^run 23 page$/, 1, 'fastcgi_cache off');
$r = get($one, '/proxyonly/page.php');
check($r, 200, undef, qr/^run 24 page$/, 1, 'proxy_cache: not for fastcgi');
$r = get($one, '/proxyonly/page.php');
check($r, 200, undef, qr/^run 25 page$/, 1, '... again');

$r = get($one, '/igncookie/cookie.php');
check($r, 200, 'MISS', qr/^run 26 cookie$/, 1,
      'fastcgi_ignore_headers Set-Cookie: first');
$r = get($one, '/igncookie/cookie.php');
check($r, 200, 'HIT', qr/^run 26 cookie$/, 0, '... kept');

# use_stale with php-fpm stopped
$r = get($one, '/stale/page.php');
check($r, 200, 'MISS', qr/^run 27 page$/, 1, 'use_stale: stored');
$r = get($one, '/nostale/page.php');
check($r, 200, 'MISS', qr/^run 28 page$/, 1, 'no use_stale: stored');
$fpm->stop;
ok((wait_until { port_is_closed($f->port(1)) } 10), 'php-fpm stopped');
select undef, undef, undef, 2.2;
$r = get($one, '/stale/page.php');
check($r, 200, 'STALE', qr/^run 27 page$/, 0,
      'fastcgi_cache_use_stale error, php-fpm down: the expired entry');
$r = get($one, '/nostale/page.php');
is($r->{status}, 502, 'without use_stale: 502');

$f->stop;

# ---- config errors ----
http_conf_refused("fastcgi_cache_path $P/e keys_zone=z:1m;\n"
                  . "    server {\n        location / {\n"
                  . "            fastcgi_cache z;\n"
                  . "            fastcgi_pass 127.0.0.1:9;\n"
                  . "        }\n    }",
                  qr/no "fastcgi_cache_key" for "fastcgi_cache" in .*ferry\.conf:9/,
                  'fastcgi_cache without fastcgi_cache_key');
http_conf_refused("fastcgi_cache_key \$request_uri;\n"
                  . "    server {\n        location / {\n"
                  . "            fastcgi_cache nozone;\n"
                  . "            fastcgi_pass 127.0.0.1:9;\n"
                  . "        }\n    }",
                  qr/unknown fastcgi_cache zone "nozone" in .*ferry\.conf:9/,
                  'fastcgi_cache of a zone never defined');
http_conf_refused("proxy_cache_path $P/e keys_zone=pz:1m;\n"
                  . "    fastcgi_cache_key \$request_uri;\n"
                  . "    server {\n        location / {\n"
                  . "            fastcgi_cache pz;\n"
                  . "            fastcgi_pass 127.0.0.1:9;\n"
                  . "        }\n    }",
                  qr/the shared memory zone "pz" is already declared for a different use in .*ferry\.conf:10/,
                  'fastcgi_cache of a proxy_cache_path zone (as nginx)');
http_conf_refused("proxy_cache_path $P/e keys_zone=same:1m;\n"
                  . "    fastcgi_cache_path $P/f keys_zone=same:1m;",
                  qr/already declared for a different use in .*ferry\.conf:7/,
                  'one name for a proxy and a fastcgi cache zone');
http_conf_refused("fastcgi_cache_path $P/e levels=1:2;",
                  qr/"fastcgi_cache_path" must have "keys_zone" parameter in .*ferry\.conf:6/,
                  'fastcgi_cache_path without keys_zone');
http_conf_refused("fastcgi_cache_valid 200 soon;",
                  qr/invalid time value "soon" in .*ferry\.conf:6/,
                  'fastcgi_cache_valid with a bad time');
http_conf_refused("fastcgi_cache_use_stale error never;",
                  qr/invalid value "never" in .*ferry\.conf:6/,
                  'fastcgi_cache_use_stale with a bad value');

done_testing;
