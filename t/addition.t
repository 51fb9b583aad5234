#!/usr/bin/perl

# The addition module: add_before_body / add_after_body put the body of
# a subrequest (a static file, a proxied answer) before / after the
# response's body: a static file, a proxied body (by length and
# chunked), ferry's own ("return").  Only a 200 of text/html or of an
# addition_types type; the Content-Length goes (chunked to HTTP/1.1,
# the close for HTTP/1.0; ferry's own whole body keeps an exact one),
# Accept-Ranges too, the ETag becomes weak, Last-Modified stays; a HEAD
# gets the header a GET would; "" turns an inherited one off; gzip
# compresses the added bodies with the rest; config errors.

use strict;
use warnings;

use Test::More;
use Ferry::Test;
use IO::Uncompress::Gunzip qw(gunzip $GunzipError);

my $f = Ferry::Test->new(conf => main_conf() . <<'EOF');
worker_processes 1;
events { worker_connections 64; }
http {
    access_log off;
    default_type text/html;
    types { text/html html; text/plain txt; text/css css; }
    upstream be { server 127.0.0.1:%%PORT_1%%; }

    server {
        listen 127.0.0.1:%%PORT_0%%;
        root %%PREFIX%%/html;

        location /static/ {
            add_before_body /parts/before.html;
            add_after_body /parts/after.html;
            location /static/off/ { add_before_body ""; add_after_body ""; }
        }
        location /typed/ {
            add_after_body /parts/after.html;
            addition_types text/plain;
        }
        location /up/ {
            add_before_body /parts/before.html;
            add_after_body /dyn/footer;
            proxy_pass http://be;
        }
        location /ret/ {
            add_before_body /parts/before.html;
            return 200 "returned\n";
        }
        location /ret2/ {
            add_after_body /dyn/footer;
            return 200 "returned\n";
        }
        location /static2/ {
            alias %%PREFIX%%/html/static/;
            add_before_body /dyn/footer;
        }
        location /gz/ {
            alias %%PREFIX%%/html/static/;
            gzip on;
            gzip_min_length 1;
            add_before_body /parts/before.html;
            add_after_body /parts/after.html;
        }
        location /parts/ { }
        location /dyn/ { proxy_pass http://be; }
    }
}
EOF

my $be = Ferry::Test::Backend->new(port => $f->port(1), handler => sub {
    my ($req) = @_;
    my $u = $req->{uri};
    return { headers => ['Content-Type' => 'text/plain'],
             body => "dynamic footer\n" } if $u =~ m{^/dyn/footer};
    return { headers => ['Content-Type' => 'text/html'], mode => 'chunked',
             body => "chunked page\n" } if $u =~ /chunked/;
    return { headers => ['Content-Type' => 'application/json'],
             body => "{}\n" } if $u =~ /json/;
    return { status => 404, headers => ['Content-Type' => 'text/html'],
             body => "missing\n" } if $u =~ /missing/;
    return { headers => ['Content-Type' => 'text/html; charset=utf-8',
                         'ETag' => '"up1"'],
             body => "upstream page\n" };
});

$f->write_file('html/parts/before.html', "<before>\n");
$f->write_file('html/parts/after.html', "<after>\n");
$f->write_file('html/static/page.html', "<p>page</p>\n");
$f->write_file('html/static/plain.txt', "plain\n");
$f->write_file('html/static/off/page.html', "<p>off</p>\n");
$f->write_file('html/typed/note.txt', "note\n");
$f->write_file('html/typed/style.css', "css\n");
$f->start;
my $port = $f->port(0);

# a static file
my $r = http_get($port, '/static/page.html');
is($r->{status}, 200, 'static: 200');
is($r->{body}, "<before>\n<p>page</p>\n<after>\n", '... both bodies added');
ok(!defined $r->{headers}{'content-length'}, '... no Content-Length');
is($r->{headers}{'transfer-encoding'}, 'chunked', '... chunked');
ok(!defined $r->{headers}{'accept-ranges'}, '... no Accept-Ranges');
like($r->{headers}{etag} // '', qr{^W/"}, '... a weak ETag');
ok(defined $r->{headers}{'last-modified'}, '... Last-Modified kept');

$r = http($port, "GET /static/page.html HTTP/1.0\r\nHost: x\r\n\r\n");
is($r->{body}, "<before>\n<p>page</p>\n<after>\n",
   'HTTP/1.0: added, the close ends the body');
ok(!defined $r->{headers}{'content-length'}, '... no Content-Length');

$r = http($port, "HEAD /static/page.html HTTP/1.1\r\nHost: x\r\n"
                 . "Connection: close\r\n\r\n", head => 1);
is($r->{status}, 200, 'HEAD: 200');
ok(!defined $r->{headers}{'content-length'},
   '... the header a GET gets (no Content-Length)');

$r = http_get($port, '/static/plain.txt');
is($r->{body}, "plain\n", 'text/plain: not in addition_types, as it is');
is($r->{headers}{'content-length'}, 6, '... with its Content-Length');

$r = http_get($port, '/static/nosuch.html');
is($r->{status}, 404, 'a 404: not added');
unlike($r->{body}, qr/<before>/, '... its page as it is');

$r = http_get($port, '/static/off/page.html');
is($r->{body}, "<p>off</p>\n", '"" turns the inherited ones off');

$r = http_get($port, '/typed/note.txt');
is($r->{body}, "note\n<after>\n", 'addition_types text/plain: added');
$r = http_get($port, '/typed/style.css');
is($r->{body}, "css\n", '... text/css: not');

# proxied bodies; the after body itself proxied
$r = http_get($port, '/up/page');
is($r->{status}, 200, 'proxied: 200');
is($r->{body}, "<before>\nupstream page\ndynamic footer\n",
   '... a static before, a proxied after');
ok(!defined $r->{headers}{'content-length'}, '... no Content-Length');
is($r->{headers}{etag}, 'W/"up1"', '... the ETag weak');

$r = http_get($port, '/up/chunked');
is($r->{body}, "<before>\nchunked page\ndynamic footer\n",
   'a chunked upstream body: added');

$r = http_get($port, '/up/json');
is($r->{body}, "{}\n", 'application/json: as it is');
$r = http_get($port, '/up/missing');
is($r->{status}, 404, 'an upstream 404: as it is');
is($r->{body}, "missing\n", '... its body unchanged');

my ($res) = http_keepalive($port, [
    "GET /up/page HTTP/1.1\r\nHost: x\r\n\r\n",
    "GET /static/page.html HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n"]);
is(join('|', map { $_->{body} // 'none' } @$res),
   "<before>\nupstream page\ndynamic footer\n|<before>\n<p>page</p>\n<after>\n",
   'keep-alive: two added responses on one connection');

# ferry's own body: whole, with its exact length
$r = http_get($port, '/ret/');
is($r->{body}, "<before>\nreturned\n", 'return: the before body added');
is($r->{headers}{'content-length'}, length("<before>\nreturned\n"),
   '... with the whole length');

$r = http_get($port, '/ret2/');
is($r->{body}, "returned\ndynamic footer\n",
   'return with a proxied after body (it answers later): added');
is($r->{headers}{'content-length'}, length("returned\ndynamic footer\n"),
   '... with the whole length');
$r = http_get($port, '/static2/page.html');
is($r->{body}, "dynamic footer\n<p>page</p>\n",
   'a static file with a proxied before body');

$r = http_get($port, '/gz/page.html', 'Accept-Encoding' => 'gzip');
is($r->{headers}{'content-encoding'}, 'gzip', 'gzip on: compressed');
my $plain;
gunzip(\$r->{body} => \$plain) or diag($GunzipError);
is($plain, "<before>\n<p>page</p>\n<after>\n",
   '... the added bodies compressed with the rest');

my @seen = grep { m{^GET /dyn/footer} } $be->request_lines;
ok(@seen >= 6, 'the after body came from the upstream each time');

$f->stop;

server_conf_refused('location / { add_before_body before.html; }',
                    'invalid URI "before.html" in "add_before_body": it '
                    . 'must start with "/" in \S+:8',
                    'add_before_body without a leading slash');
server_conf_refused('location / { add_after_body /a; add_after_body /b; }',
                    '"add_after_body" directive is duplicate in \S+:8',
                    'add_after_body twice');
server_conf_refused('location / { addition_types; }',
                    'invalid number of arguments in "addition_types" '
                    . 'directive in \S+:8', 'addition_types without a type');

done_testing;
