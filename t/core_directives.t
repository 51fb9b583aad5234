#!/usr/bin/perl
# core_directives.t -- nginx core-module directives for locations:
# "internal" (only internal redirects and rewrites reach the location; a
# client's own request gets 404), "limit_except" (methods a location
# does not list are checked against the block's allow/deny: 403 when
# denied; GET lets HEAD through), "merge_slashes", "recursive_error_pages",
# "if_modified_since", "max_ranges"; configuration errors with file and
# line.

use strict;
use warnings;
use Test::More;
use lib 't/lib';
use Ferry::Test;

my $f = Ferry::Test->new(conf => main_conf() . <<"EOF");
events { worker_connections 64; }
worker_processes 1;
http {
    types { text/plain txt; text/html html; }
    upstream backend { server 127.0.0.1:%%PORT_1%%; }

    server {
        listen 127.0.0.1:%%PORT_0%%;
        root html;

        # ---- internal ----
        location /secret/ {
            internal;
            location /secret/nested/ { }
        }
        location /errors/ {
            internal;
            error_page 404 /notfound.txt;
        }
        location /missing/ {
            error_page 404 /errors/404.html;
        }
        location /tf/ {
            try_files \$uri /secret/page.txt;
        }
        location /tf/nested/ {
            try_files \$uri /secret/nested/n.txt;
        }
        location /rw/ {
            rewrite ^/rw/(.*)\$ /secret/\$1 last;
        }
        location /rwbreak/ {
            rewrite ^ /inside/x break;
            proxy_pass http://backend;
        }
        location /inside/ {
            internal;
            proxy_pass http://backend;
        }
        location /setargs/ {
            set \$args "a=1";
            proxy_pass http://backend;
        }
        location /named/ {
            try_files \$uri \@app;
        }
        location \@app {
            internal;
            proxy_pass http://backend;
        }

        # ---- limit_except ----
        location /ro/ {
            limit_except GET {
                deny all;
            }
            proxy_pass http://backend;

            location /ro/inner/ {
                proxy_pass http://backend;
            }
        }
        location /rw2/ {
            limit_except GET post {
                deny all;
            }
            proxy_pass http://backend;
        }
        location /local/ {
            limit_except GET {
                allow 127.0.0.1;
                deny all;
            }
            proxy_pass http://backend;
        }
        location /other/ {
            limit_except GET {
                allow 10.0.0.0/8;
                deny all;
            }
            proxy_pass http://backend;
        }
        location /locdeny/ {
            deny all;
            limit_except GET {
                allow all;
            }
            proxy_pass http://backend;
        }
        location /inherit/ {
            allow 10.0.0.0/8;
            deny all;
            limit_except GET { }
            proxy_pass http://backend;
        }
        location /dav/ {
            limit_except GET PROPFIND MKCOL {
                deny all;
            }
            proxy_pass http://backend;
        }

        # ---- merge_slashes (default on) ----
        location = /m/a/b { return 200 "exact \$uri"; }

        # ---- recursive_error_pages ----
        location /r1/ {
            recursive_error_pages on;
            error_page 404 /r2/x;
        }
        location /r2/ {
            error_page 404 /final.txt;
        }
        location /n1/ {
            error_page 404 /n2/x;
        }
        location /n2/ {
            error_page 404 /final.txt;
        }
        location /loop/ {
            recursive_error_pages on;
            error_page 404 /loop/again;
        }

        # ---- if_modified_since, max_ranges ----
        location /ims_off/ { if_modified_since off; alias html/f/; }
        location /ims_before/ { if_modified_since before; alias html/f/; }
        location /f/ { }
        location /noranges/ { max_ranges 0; alias html/f/; }
        location /oneranges/ { max_ranges 1; alias html/f/; }
    }

    server {
        listen 127.0.0.1:%%PORT_2%%;
        merge_slashes off;
        location = /m/a/b { return 200 "exact \$uri"; }
        location / { return 200 "other \$uri"; }
    }
}
EOF

$f->write_file('html/secret/page.txt', "secret page\n");
$f->write_file('html/secret/nested/n.txt', "nested\n");
$f->write_file('html/errors/404.html', "custom 404\n");
$f->write_file('html/errors/plain.txt', "plain\n");
$f->write_file('html/notfound.txt', "not found page\n");
$f->write_file('html/final.txt', "final page\n");
$f->write_file('html/f/file.txt', "0123456789");
my $mtime = 1700000000;             # Tue, 14 Nov 2023 22:13:20 GMT
utime $mtime, $mtime, $f->prefix . '/html/f/file.txt' or die "utime: $!";
$f->allow_log(qr/access forbidden by rule/);

my $backend = Ferry::Test::Backend->new(port => $f->port(1));
$f->start;
my $port = $f->port(0);
my ($r, $e);

sub req {
    my ($method, $path, %o) = @_;
    return http($port, build_request(method => $method, path => $path,
                                     headers => [Connection => 'close'],
                                     %o), head => $method eq 'HEAD');
}

# ---- internal ----
$r = http_get($port, '/secret/page.txt');
is($r->{status}, 404, 'internal: a direct request gets 404');
unlike($r->{body}, qr/secret page/, '... and not the file');
$r = http_get($port, '/secret/');
is($r->{status}, 404, 'internal: its directory too');
$r = http_get($port, '/secret/nested/n.txt');
is($r->{status}, 404, 'a location nested in an internal one is internal');
$r = http_get($port, '/tf/nested/n.txt');
is($r->{body}, "nested\n", '... and reached by try_files');

$r = http_get($port, '/errors/plain.txt');
is($r->{status}, 404, 'internal with error_page: 404');
is($r->{body}, "not found page\n", '... answered by its error_page');

$r = http_get($port, '/missing/nothing');
is($r->{status}, 404, 'error_page to an internal location: 404 kept');
is($r->{body}, "custom 404\n", '... with the internal page');

$r = http_get($port, '/tf/none');
is($r->{status}, 200, 'try_files fallback into an internal location: 200');
is($r->{body}, "secret page\n", '... its file');

$r = http_get($port, '/rw/page.txt');
is($r->{status}, 200, 'rewrite ... last into an internal location: 200');
is($r->{body}, "secret page\n", '... its file');

my $before = scalar @{ [ $backend->requests ] };
$r = http_get($port, '/inside/x?q=1');
is($r->{status}, 404, 'internal proxied location: a direct request 404');
is(scalar @{ [ $backend->requests ] }, $before, '... never proxied');

$r = http_get($port, '/rwbreak/y');
is($r->{status}, 200,
   'rewrite ... break to an internal location\'s URI: the rewriting '
   . 'location answers');

$r = http_get($port, '/named/x?k=v');
is($r->{status}, 200, 'named location with internal: reached by try_files');
$e = parse_echo($r->{body});
is($e->{uri}, '/named/x?k=v', '... the original URI proxied');

$r = http_get($port, '/setargs/z');
is($r->{status}, 200, 'set $args alone does not make a request internal');

# ---- limit_except ----
$r = req('GET', '/ro/a');
is($r->{status}, 200, 'limit_except GET: GET passes');
is(parse_echo($r->{body})->{method}, 'GET', '... proxied as GET');
$r = req('HEAD', '/ro/a');
is($r->{status}, 200, 'limit_except GET: HEAD passes (GET implies HEAD)');
$r = req('POST', '/ro/a', body => 'x=1');
is($r->{status}, 403, 'limit_except GET { deny all; }: POST 403');
$r = req('DELETE', '/ro/a');
is($r->{status}, 403, '... DELETE 403');
$r = req('PROPFIND', '/ro/a');
is($r->{status}, 403, '... a method ferry does not know: 403');
$r = req('POST', '/ro/inner/b', body => 'x');
is($r->{status}, 403, 'a nested location inherits limit_except');

$r = req('POST', '/rw2/a', body => 'x');
is($r->{status}, 200, 'limit_except GET post: POST passes (names are '
   . 'case-insensitive)');
is(parse_echo($r->{body})->{body}, 'x', '... with its body');
$r = req('PUT', '/rw2/a', body => 'x');
is($r->{status}, 403, 'limit_except GET post: PUT 403');

$r = req('POST', '/local/a', body => 'x');
is($r->{status}, 200, 'limit_except: allow 127.0.0.1 lets this client POST');
$r = req('POST', '/other/a', body => 'x');
is($r->{status}, 403, 'limit_except: allow 10/8 only: POST 403');
$r = req('GET', '/other/a');
is($r->{status}, 200, '... GET still 200');

$r = req('GET', '/locdeny/a');
is($r->{status}, 403, 'location deny all: GET 403 (the location\'s rules)');
$r = req('POST', '/locdeny/a', body => 'x');
is($r->{status}, 200, '... POST 200 (the block\'s allow all instead)');

$r = req('PUT', '/inherit/a', body => 'x');
is($r->{status}, 403, 'an empty limit_except block uses the location\'s '
   . 'rules');

$r = req('PROPFIND', '/dav/a');
is($r->{status}, 200, 'limit_except PROPFIND: a WebDAV method listed passes');
$r = req('MKCOL', '/dav/a');
is($r->{status}, 200, '... MKCOL too');
$r = req('LOCK', '/dav/a');
is($r->{status}, 403, '... LOCK not listed: 403');

# ---- merge_slashes ----
$r = http_get($port, '//m///a//b');
is($r->{body}, 'exact /m/a/b', 'merge_slashes on (default): //m///a//b is '
   . '/m/a/b');
$r = http_get($f->port(2), '//m///a//b');
is($r->{body}, 'other //m///a//b', 'merge_slashes off: the slashes stay, '
   . 'the exact location does not match');
$r = http_get($f->port(2), '/m/a/b');
is($r->{body}, 'exact /m/a/b', 'merge_slashes off: the plain path matches');
$r = http_get($f->port(2), '/m/x/..//a/./b');
is($r->{body}, 'other /m//a/b', 'merge_slashes off: dot segments still go');

# ---- recursive_error_pages ----
$r = http_get($port, '/r1/none');
is($r->{status}, 404, 'recursive_error_pages on: 404');
is($r->{body}, "final page\n", '... the second error_page answers');
$r = http_get($port, '/n1/none');
is($r->{status}, 404, 'recursive_error_pages off (default): 404');
unlike($r->{body}, qr/final page/, '... the built-in page, not a second '
       . 'error_page');
like($r->{body}, qr/404 Not Found/, '... which is the built-in one');
$r = http_get($port, '/loop/x');
is($r->{status}, 500, 'recursive error_page loop: 500 after the redirect '
   . 'limit');
like($f->error_log, qr/rewrite or internal redirection cycle/,
     '... logged as a cycle');
$f->allow_log(qr/rewrite or internal redirection cycle/);

# ---- if_modified_since ----
my $exact = 'Tue, 14 Nov 2023 22:13:20 GMT';
my $later = 'Wed, 15 Nov 2023 10:00:00 GMT';
$r = http_get($port, '/f/file.txt', 'If-Modified-Since' => $exact);
is($r->{status}, 304, 'if_modified_since exact (default): the same time: 304');
$r = http_get($port, '/f/file.txt', 'If-Modified-Since' => $later);
is($r->{status}, 200, '... a later time: 200');
$r = http_get($port, '/ims_before/file.txt', 'If-Modified-Since' => $later);
is($r->{status}, 304, 'if_modified_since before: a later time: 304');
$r = http_get($port, '/ims_before/file.txt',
              'If-Modified-Since' => 'Mon, 13 Nov 2023 10:00:00 GMT');
is($r->{status}, 200, '... an earlier time: 200');
$r = http_get($port, '/ims_off/file.txt', 'If-Modified-Since' => $exact);
is($r->{status}, 200, 'if_modified_since off: 200 even for the same time');
is($r->{body}, '0123456789', '... with the file');

# ---- max_ranges ----
$r = http_get($port, '/f/file.txt', Range => 'bytes=2-4');
is($r->{status}, 206, 'ranges by default: 206');
is($r->{body}, '234', '... the range');
$r = http_get($port, '/noranges/file.txt', Range => 'bytes=2-4');
is($r->{status}, 200, 'max_ranges 0: 200');
is($r->{body}, '0123456789', '... the whole file');
ok(!exists $r->{headers}{'accept-ranges'}, '... and no Accept-Ranges');
$r = http_get($port, '/oneranges/file.txt', Range => 'bytes=2-4');
is($r->{status}, 206, 'max_ranges 1: one range served');

like($f->error_log, qr/access forbidden by rule, client: 127\.0\.0\.1, request: "POST \/ro\/a HTTP\/1\.1"/,
     'a denied method is logged as an access rule');

$f->stop;

# ---- configuration errors ----
server_conf_refused('internal;', qr/"internal" directive is not allowed here in \S+ferry\.conf:8/,
                    'internal in a server');
server_conf_refused('location / { internal; internal; }',
                    qr/"internal" directive is duplicate in \S+ferry\.conf:8/,
                    'internal twice');
server_conf_refused('location / { internal on; }',
                    qr/invalid number of arguments in "internal" directive in \S+ferry\.conf:8/,
                    'internal with an argument');
server_conf_refused('location / { limit_except FETCH { deny all; } }',
                    qr/invalid method "FETCH" in \S+ferry\.conf:8/,
                    'limit_except with an unknown method');
server_conf_refused('location / { limit_except GET { return 403; } }',
                    qr/"return" directive is not allowed here in \S+ferry\.conf:8/,
                    'limit_except with another directive inside');
server_conf_refused('location / { limit_except GET { deny all; } '
                    . 'limit_except POST { deny all; } }',
                    qr/"limit_except" directive is duplicate in \S+ferry\.conf:8/,
                    'limit_except twice');
server_conf_refused('limit_except GET { deny all; }',
                    qr/"limit_except" directive is not allowed here in \S+ferry\.conf:8/,
                    'limit_except in a server');
server_conf_refused('location / { merge_slashes off; }',
                    qr/"merge_slashes" directive is not allowed here in \S+ferry\.conf:8/,
                    'merge_slashes in a location');
server_conf_refused('merge_slashes maybe;',
                    qr/"merge_slashes" directive invalid value "maybe", it must be "on" or "off" in \S+ferry\.conf:8/,
                    'merge_slashes not on or off');
server_conf_refused('if_modified_since after;',
                    qr/"if_modified_since" directive invalid value "after" in \S+ferry\.conf:8/,
                    'if_modified_since with an unknown value');
server_conf_refused('max_ranges -1;',
                    qr/"max_ranges" directive invalid value "-1" in \S+ferry\.conf:8/,
                    'max_ranges negative');
server_conf_refused('recursive_error_pages yes;',
                    qr/"recursive_error_pages" directive invalid value "yes", it must be "on" or "off" in \S+ferry\.conf:8/,
                    'recursive_error_pages not on or off');
server_conf_refused('location / { limit_except { deny all; } }',
                    qr/invalid number of arguments in "limit_except" directive in \S+ferry\.conf:8/,
                    'limit_except without a method');

done_testing;
