#!/usr/bin/perl

# nginx's charset, charset_types, source_charset and override_charset
# without a charset_map (recoding: t/charset_map.t), and etag.  "; charset=NAME" is added to the Content-Type of static files,
# "return" answers, error pages and proxied responses whose type is in
# charset_types and that have no charset yet; off, inheritance, "*";
# source_charset equal to charset; override_charset on a proxied
# response's own charset (another one without a map: logged, unchanged).  etag off: no
# ETag, If-None-Match and If-Range have nothing to match ("*" still
# does), If-Modified-Since still works.  Configuration errors with file
# and line.

use strict;
use warnings;

use Test::More;
use Ferry::Test;

my $f = Ferry::Test->new(conf => main_conf() . <<'EOF');
worker_processes 1;
events { worker_connections 64; }
http {
    upstream be { server 127.0.0.1:%%PORT_1%%; }
    types { text/html html; text/css css; text/plain txt; image/gif gif; }
    charset utf-8;
    server {
        listen 127.0.0.1:%%PORT_0%%;
        root %%PREFIX%%/html;

        location / { }
        location /types/ { charset_types text/css; }
        location /all/ { charset_types *; }
        location /off/ { charset off; }
        location /koi/ { charset koi8-r; }
        location /src/ { source_charset UTF-8; }
        location /ret/ { return 200 "text\n"; }
        location /up/ { proxy_pass http://be; }
        location /upov/ { override_charset on; proxy_pass http://be; }
        location /noetag/ { etag off; }
    }
    server {
        listen 127.0.0.1:%%PORT_2%%;
        root %%PREFIX%%/html;
        charset off;
        location / { }
    }
}
EOF

for my $d ('', qw(types/ all/ off/ koi/ src/ noetag/)) {
    $f->write_file("html/${d}x.html", "<p>x</p>\n");
    $f->write_file("html/${d}x.css", "p {}\n");
    $f->write_file("html/${d}x.gif", "GIF89a");
    $f->write_file("html/${d}x.txt", "text\n");
}
# one mtime for all: the etag tests compare /x.txt's Last-Modified with
# /noetag/x.txt's, written a moment later (a second apart on a busy
# machine)
my $mtime = time - 3600;
utime($mtime, $mtime, glob($f->prefix . '/html/{,*/}x.*')) or die "utime: $!";

my $be = Ferry::Test::Backend->new(port => $f->port(1), handler => sub {
    my ($req) = @_;
    my ($type) = $req->{uri} =~ /type=([^&]*)/;
    $type =~ s/%20/ /g;
    $type =~ s/%3B/;/gi;
    return { status => 200, body => "up\n",
             headers => ['Content-Type' => $type] };
});
$f->allow_log(qr/no "charset_map"/);
$f->start or BAIL_OUT('ferry did not start');

sub ctype {
    my ($path, $port) = @_;
    my $r = http_get($f->port($port // 0), $path);
    return $r->{error} ? "error: $r->{error}"
         : "$r->{status} " . ($r->{headers}{'content-type'} // 'none');
}

is(ctype('/x.html'), '200 text/html; charset=utf-8',
   'charset utf-8 (in http, inherited): text/html');
is(ctype('/x.txt'), '200 text/plain; charset=utf-8', '... text/plain');
is(ctype('/x.css'), '200 text/css', '... not text/css (not in the default charset_types)');
is(ctype('/x.gif'), '200 image/gif', '... not image/gif');
is(ctype('/x.html', 2), '200 text/html', 'a server with charset off: none');
is(ctype('/types/x.css'), '200 text/css; charset=utf-8', 'charset_types text/css: css');
is(ctype('/types/x.html'), '200 text/html; charset=utf-8',
   '... and still html (always in, as nginx: t/nginx_compat.t)');
is(ctype('/all/x.gif'), '200 image/gif; charset=utf-8', 'charset_types *: every type');
is(ctype('/off/x.html'), '200 text/html', 'charset off in a location');
is(ctype('/koi/x.html'), '200 text/html; charset=koi8-r', 'another name');
is(ctype('/src/x.html'), '200 text/html; charset=utf-8',
   'source_charset the same charset (any case): marked');
is(ctype('/ret/'), '200 text/plain; charset=utf-8', 'return: default_type gets it');
is(ctype('/nothere'), '404 text/html; charset=utf-8', 'an error page gets it');
my $r = http_get($f->port(0), '/x.html', 'If-None-Match' => '*');
is($r->{status}, 304, 'a 304');
ok(!exists $r->{headers}{'content-type'}, '... has no Content-Type to change');

# proxied
is(ctype('/up/?type=text/html'), '200 text/html; charset=utf-8', 'proxied text/html');
is(ctype('/up/?type=application/json'), '200 application/json',
   'proxied application/json: not in charset_types');
is(ctype('/up/?type=text/html;%20charset=koi8-r'), '200 text/html; charset=koi8-r',
   'proxied with a charset of its own: kept');
is(ctype('/up/?type=text/html;%20q=1'), '200 text/html; q=1',
   'a type with parameters is not "text/html" (nginx)');
is(ctype('/upov/?type=text/html;%20charset=UTF-8'), '200 text/html; charset=utf-8',
   'override_charset on, the same charset: named as charset says');
is(ctype('/upov/?type=text/html;charset="koi8-r"'), '200 text/html;charset="koi8-r"',
   'override_charset on, another charset: no charset_map, left as it is');
like($f->error_log, qr/no "charset_map" between the charsets "koi8-r" and "utf-8"/,
     '... logged');

# ---- etag ----------------------------------------------------------------
$r = http_get($f->port(0), '/x.txt');
my $etag = $r->{headers}{etag};
like($etag, qr/^"[0-9a-f]+-[0-9a-f]+"\z/, 'etag on (the default): an ETag');
my $lm = $r->{headers}{'last-modified'};
is(http_get($f->port(0), '/x.txt', 'If-None-Match' => $etag)->{status}, 304,
   '... If-None-Match matches it');
is(http_get($f->port(0), '/x.txt', Range => 'bytes=0-1', 'If-Range' => $etag)->{status},
   206, '... If-Range with it: a range');

$r = http_get($f->port(0), '/noetag/x.txt');
is($r->{status}, 200, 'etag off');
ok(!exists $r->{headers}{etag}, '... no ETag');
is($r->{headers}{'last-modified'}, $lm, '... Last-Modified still');
is(http_get($f->port(0), '/noetag/x.txt', 'If-None-Match' => $etag)->{status}, 200,
   '... If-None-Match with the tag on has nothing to match');
is(http_get($f->port(0), '/noetag/x.txt', 'If-None-Match' => '*')->{status}, 304,
   '... "*" still matches');
is(http_get($f->port(0), '/noetag/x.txt', 'If-Modified-Since' => $lm)->{status}, 304,
   '... If-Modified-Since still works');
is(http_get($f->port(0), '/noetag/x.txt', Range => 'bytes=0-1',
            'If-Range' => $etag)->{status}, 200,
   '... If-Range with a tag: the whole file');
is(http_get($f->port(0), '/noetag/x.txt', Range => 'bytes=0-1',
            'If-Range' => $lm)->{status}, 206,
   '... If-Range with the date: a range');

$f->stop;

# ---- configuration errors ------------------------------------------------------
server_conf_refused('charset utf-8; charset koi8-r;',
                    '"charset" directive is duplicate in .*ferry\.conf:8', 'charset twice');
server_conf_refused('source_charset $no_such_var;',
                    'unknown "no_such_var" variable in .*ferry\.conf:8',
                    'source_charset with an unknown variable (variables: t/charset_vars.t)');
server_conf_refused('charset "utf 8";', 'invalid charset name "utf 8" in .*ferry\.conf:8',
                    'a charset name that is no token');
server_conf_refused('charset_types text/html; charset_types text/css;',
                    '"charset_types" directive is duplicate in .*ferry\.conf:8',
                    'charset_types twice');
server_conf_refused('override_charset maybe;',
                    'invalid value "maybe", it must be "on" or "off" in .*ferry\.conf:8',
                    'override_charset maybe');
server_conf_refused('etag maybe;',
                    'invalid value "maybe", it must be "on" or "off" in .*ferry\.conf:8',
                    'etag maybe');
server_conf_refused('source_charset a; source_charset b;',
                    '"source_charset" directive is duplicate in .*ferry\.conf:8',
                    'source_charset twice');

done_testing;
