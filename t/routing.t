#!/usr/bin/perl

# Routing as nginx documents it: the order of "=", prefix, "^~" and
# regex locations, "~*" ignoring case, captures $1..$9 and named
# captures in return texts and the access log, server_name wildcards
# and regexes in nginx's order, and an invalid regex refused with its
# file and line.

use strict;
use warnings;

use Test::More;
use Ferry::Test;

my $conf = main_conf() . <<'EOF';
worker_processes 1;
events { worker_connections 256; }
http {
    log_format caps '$request_uri one=$1 two=$2';
    server {
        listen 127.0.0.1:%%PORT_0%%;
        access_log logs/caps.log caps;

        location = /exact { return 200 "exact"; }
        location / { return 200 "root"; }
        location /docs/ { return 200 "docs-prefix"; }
        location ^~ /static/ { return 200 "static-noregex"; }
        location ~ \.php$ { return 200 "php"; }
        location ~ ^/docs/(.+)\.html$ { return 200 "html $1"; }
        location ~ ^/docs/ { return 200 "second-regex"; }
        location ~* \.JPG$ { return 200 "jpg"; }
        location ~ ^/(?<file>[a-z]+)/(\d+)$ { return 200 "file=$file num=$2"; }
        location = /exact.php { return 200 "exact-php"; }
        location ~^/glued/(x)$ { return 200 "glued $1"; }
    }
    server {
        listen 127.0.0.1:%%PORT_0%%;
        server_name example.com;
        location / { return 200 "exact-name"; }
    }
    server {
        listen 127.0.0.1:%%PORT_0%%;
        server_name *.example.com;
        location / { return 200 "leading-wildcard"; }
    }
    server {
        listen 127.0.0.1:%%PORT_0%%;
        server_name www.example.*;
        location / { return 200 "trailing-wildcard"; }
    }
    server {
        listen 127.0.0.1:%%PORT_0%%;
        server_name ~^(?<sub>[a-z]+)\.example\.(org|net)$ ~^www\.;
        location / { return 200 "regex sub=$sub tld=$2"; }
        location ~ ^/re/(\w+)$ { return 200 "loc=$1 sub=$sub"; }
    }
    server {
        listen 127.0.0.1:%%PORT_0%%;
        server_name ~^(?<sub>.+)\.example\.org$;
        location / { return 200 "second-regex-server"; }
    }
}
EOF

my $f = Ferry::Test->new(conf => $conf);
my ($rc, $out) = $f->run('-t');
is($rc, 0, '-t accepts regex locations and server names') or diag($out);
$f->start or do { done_testing; exit };
my $port = $f->port(0);

my @cases = (
    ['/exact',            'exact',           '"=" wins over everything'],
    ['/exact.php',        'exact-php',       '"=" wins over a matching regex'],
    ['/exact/x',          'root',            '"=" does not match a longer path'],
    ['/index.php',        'php',             'a regex wins over the prefix /'],
    ['/static/a.php',     'static-noregex',  '"^~" stops the regex search'],
    ['/docs/a.txt',       'second-regex',    'regexes are tried after the prefix'],
    ['/docs/guide.html',  'html guide',      'the first matching regex wins; $1'],
    ['/docs/a.php',       'php',             'regexes in order of appearance'],
    ['/photo.jpg',        'jpg',             '"~*" ignores case'],
    ['/PHOTO.JpG',        'jpg',             '"~*" ignores case of the path too'],
    ['/index.PHP',        'root',            '"~" is case-sensitive'],
    ['/docs/',            'second-regex',    'a regex wins over a longer prefix'],
    ['/abc/42',           'file=abc num=42', 'named and numbered captures'],
    ['/glued/x',          'glued x',         'a modifier glued to the regex'],
    ['/other',            'root',            'no regex: the longest prefix'],
);
for my $c (@cases) {
    my $r = http_get($port, $c->[0]);
    is($r->{body}, $c->[1], "$c->[0]: $c->[2]");
}

my @hosts = (
    ['example.com',          'exact-name',          'the exact name'],
    ['a.example.com',        'leading-wildcard',    'a leading wildcard'],
    ['www.example.com',      'leading-wildcard',
     'a leading wildcard before a trailing one'],
    ['www.example.net',      'trailing-wildcard',   'a trailing wildcard before a regex'],
    ['api.example.org',      'regex sub=api tld=org',
     'the first matching regex, named and numbered captures'],
    ['a.b.example.org',      'second-regex-server', 'the next regex when the first fails'],
    ['WWW.Other.Org',        'regex sub= tld=',     'regexes see the lowercased host'],
    ['nothing.test',         'root',                'no match: the default server'],
);
for my $h (@hosts) {
    my $r = http_get($port, '/', Host => $h->[0]);
    is($r->{body}, $h->[1], "Host $h->[0]: $h->[2]");
}
is(http_get($port, '/re/xyz', Host => 'api.example.net')->{body},
   'loc=xyz sub=api',
   'location captures and server_name named captures together');

http_get($port, '/docs/page.html');
http_get($port, '/abc/7');
my $log = $f->prefix . '/logs/caps.log';
my $seen = wait_until { (Ferry::Test::read_file($log) // '')
                        =~ m{^/abc/7 one=abc two=7$}m } 10;
ok($seen, 'captures in log_format')
    or diag(Ferry::Test::read_file($log) // '(no log)');
like(Ferry::Test::read_file($f->prefix . '/logs/caps.log') // '',
     qr{^/docs/page\.html one=page two=-$}m, "a missing group logs \"-\"");

$f->stop;

# A default_server written after other servers does not move ahead of
# them: between names that match alike (two regexes here) the order
# written decides, as in nginx; unknown hosts go to the default.
{
    my $d = Ferry::Test->new(conf => main_conf() . <<'EOF');
events { worker_connections 64; }
http {
    server {
        listen 127.0.0.1:%%PORT_0%%;
        server_name ~^r\.;
        return 200 "first";
    }
    server {
        listen 127.0.0.1:%%PORT_0%% default_server;
        server_name ~^r\.;
        return 200 "default";
    }
    server {
        listen 127.0.0.1:%%PORT_0%%;
        server_name ~^r\. a.test;
        return 200 "third";
    }
}
EOF
    $d->start or BAIL_OUT('ferry did not start');
    my $p = $d->port(0);
    is(http_get($p, '/', Host => 'r.x')->{body}, 'first',
       'two matching regexes: the server written first, not the default_server');
    is(http_get($p, '/', Host => 'none.test')->{body}, 'default',
       'an unknown host: the default_server');
    is(http_get($p, '/', Host => 'a.test')->{body}, 'third', 'an exact name');
    is(http($p, "GET / HTTP/1.0\r\n\r\n")->{body}, 'default',
       'no Host: the default_server');
    $d->stop;
}

# Nested locations, searched as nginx does.
my $nested = Ferry::Test->new(conf => main_conf() . <<'EOF');
events { worker_connections 64; }
http {
    server {
        listen 127.0.0.1:%%PORT_0%%;
        location /api/ {
            location /api/v2/ { return 200 "v2"; }
            location = /api/exact { return 200 "api-exact"; }
            location ~ \.json$ { return 200 "api-json"; }
            location ^~ /api/raw/ { return 200 "api-raw"; }
            return 200 "api";
        }
        location ~ ^/img/(\w+) {
            location ~ \.png$ { return 200 "png $1"; }
            return 200 "img $1";
        }
        location ~ \.json$ { return 200 "server-json"; }
        location / { return 200 "root"; }
    }
}
EOF
$nested->start or do { done_testing; exit };
for my $c (['/api/x',          'api',         'the outer prefix'],
           ['/api/v2/x',       'v2',          'a nested prefix'],
           ['/api/exact',      'api-exact',   'a nested "="'],
           ['/api/v2/x.json',  'api-json',    'nested regexes of the outer prefix'],
           ['/api/x.json',     'api-json',    'nested regexes before the server\'s'],
           ['/x.json',         'server-json', 'a server regex'],
           ['/img/cat.png',    'png cat',     'a regex nested in a regex'],
           ['/img/cat.gif',    'img cat',     'the outer regex'],
           ['/api/raw/a',      'api-raw',     'a nested "^~" prefix'],
           # nginx: "^~" stops the regexes of its own level only; the
           # levels above still try theirs
           ['/api/raw/a.json', 'server-json', 'a nested "^~" and the server\'s regexes'])
{
    is(http_get($nested->port(0), $c->[0])->{body}, $c->[1],
       "nested: $c->[0]: $c->[2]");
}

# A reload compiles the new regexes and frees the old ones.
{
    my $text = Ferry::Test::read_file($nested->conf_file);
    $text =~ s/"server-json"/"server-json-2"/;
    my @old = $nested->worker_pids;
    my $done = () = $nested->error_log =~ /reload done/g;
    $nested->write_file('conf/ferry.conf', $text);
    kill 'HUP', $nested->master_pid;
    my $ok = wait_until {
        my @now = $nested->worker_pids;
        my %old = map { $_ => 1 } @old;
        (() = $nested->error_log =~ /reload done/g) > $done
            && @now && !grep { $old{$_} } @now;
    } 10;
    ok($ok, 'reload with regex locations');
    is(http_get($nested->port(0), '/x.json')->{body}, 'server-json-2',
       'reload: the new regex location answers');
    is(http_get($nested->port(0), '/img/a.png')->{body}, 'png a',
       'reload: captures after a reload');
}
$nested->stop;

# Configuration errors name the file and line and give PCRE2's reason.
for my $t (['location ~ ^/(unclosed { return 200; }', qr/invalid regex "\^\/\(unclosed": missing closing parenthesis .*in \S+ferry\.conf:8/, 'location'],
           ['server_name ~^(?<x>a;',                   qr/invalid regex "\^\(\?<x>a": .*in \S+ferry\.conf:8/, 'server_name'],
           ['location ~ ^/ok { return 200 "$nope"; }',  qr/unknown "nope" variable/, 'unknown name'],
           ['server_name www.*.com;',                   qr/invalid server name or wildcard "www\.\*\.com" in \S+ferry\.conf:8/, 'inner wildcard'],
           ['server_name *.a.*;',                       qr/invalid server name or wildcard "\*\.a\.\*"/, 'two wildcards'],
           ['location /a { location @named { return 200; } }', qr/named location "\@named" can be on the server level only in \S+ferry\.conf:8/, 'named location nested'],
           ['location ~** /x { return 200; }',          qr/invalid location modifier "~\*\*"/, 'bad modifier'],
           ['location /a { location /b { return 200; } }', qr/location "\/b" is outside location "\/a" in \S+ferry\.conf:8/, 'nested outside'],
           ['location = /a { location /a/b { return 200; } }', qr/location "\/a\/b" cannot be inside the exact location "\/a"/, 'nested in exact'],
           ['location ~ ^/a { location /a/b { return 200; } }', qr/location "\/a\/b" is outside location "\^\/a"/, 'prefix in regex'])
{
    server_conf_refused($t->[0], $t->[1], $t->[2]);
}

done_testing;
