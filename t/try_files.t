#!/usr/bin/perl
# try_files.t -- try_files as nginx documents it: the first file that
# exists is served by its location, a directory with "$uri/" goes
# through index, else a fallback URI (with or without arguments), a
# named location (a real backend sees the original request), or =CODE
# through error_page; variables, alias, the redirect limit, symbolic
# links and ".." never reaching outside the root, configuration errors
# with file and line.

use strict;
use warnings;
use Test::More;
use lib 't/lib';
use Ferry::Test;

# /a0 -> /a1 -> ... -> /a10 -> /small.txt: /a1 needs 10 internal
# redirects (nginx's limit), /a0 needs 11
my $chain = join '', map {
    "        location = /a$_ { try_files /nope /a" . ($_ + 1) . "; }\n"
} 0 .. 9;
$chain .= "        location = /a10 { try_files /nope /small.txt; }\n";

my $f = Ferry::Test->new(conf => main_conf() . <<"EOF");
events { worker_connections 64; }
worker_processes 1;
http {
    types {
        text/html   html;
        text/plain  txt;
        text/javascript js;
    }
    default_type application/octet-stream;
    upstream backend { server 127.0.0.1:%%PORT_1%%; }

    server {
        listen 127.0.0.1:%%PORT_0%%;
        root html;

        location / {
            try_files \$uri \@backend;
        }
        location \@backend {
            proxy_pass http://backend;
        }
        location /spa/ {
            try_files \$uri \$uri/ /spa/index.html;
        }
        location /dirs/ {
            try_files \$uri/ =404;
        }
        location /plain/ {
            try_files \$uri =404;
        }
        location /code/ {
            try_files \$uri =404;
            error_page 404 /404.html;
        }
        location /teapot/ {
            try_files \$uri =418;
        }
        location /gone/ {
            try_files \$uri =410;
            error_page 410 =200 /small.txt;
        }
        location /fb/ {
            try_files \$uri /small.txt;
        }
        location /fbnoargs/ {
            try_files \$uri /echo/plain;
        }
        location /fbargs/ {
            try_files \$uri "/echo/x?from=fb&\$args";
        }
        location /isargs/ {
            try_files \$uri /echo/is\$is_args\$query_string;
        }
        location /echo/ {
            proxy_pass http://backend;
        }
        location /vars/ {
            try_files /files/\$arg_name.txt =404;
        }
        location /al/ {
            alias other/;
            try_files \$uri \$uri.txt =404;
        }
        location /al2/ {
            alias other/;
            try_files /f.txt =404;
        }
        location /loop/ {
            try_files \$uri /loop/again;
        }
        location /pp/ {
            try_files /small.txt \@backend;
            proxy_pass http://backend;
        }
        location /nonamed/ {
            try_files \$uri \@nowhere;
        }
        location /badfb/ {
            try_files \$uri \$arg_to;
        }
$chain
    }

    server {
        listen 127.0.0.1:%%PORT_2%%;
        root html;
        try_files /small.txt =404;
        location /inner/ { }
    }
}
EOF

my $p = $f->prefix;
my $port = $f->port(0);
sub put { $f->write_file(@_) }

put('html/small.txt', "small\n");
put('html/404.html', "custom 404\n");
put('html/dir/index.html', "dir index\n");
put('html/spa/index.html', "spa index\n");
put('html/spa/app.js', "app();\n");
put('html/spa/sub/index.html', "sub index\n");
put('html/dirs/sub/index.html', "dirs sub index\n");
put('html/plain/file.txt', "plain file\n");
put('html/files/a.txt', "file a\n");
put('other/f.txt', "from alias\n");
put('secret.txt', "TOP SECRET\n");
put('files/secret.txt', "TOP SECRET\n");
symlink("$p/secret.txt", "$p/html/plain/link.txt") or die "symlink: $!";
symlink("$p/other", "$p/html/plain/linkdir") or die "symlink: $!";
symlink("$p/secret.txt", "$p/html/link.txt") or die "symlink: $!";
symlink("$p/secret.txt", "$p/html/files/link.txt") or die "symlink: $!";
mkdir "$p/html/plain/adir" or die "mkdir: $!";

my $backend = Ferry::Test::Backend->new(port => $f->port(1));

$f->start;

my ($r, $e);

# ---- a file that exists is served by the location ----
$r = http_get($port, '/small.txt');
is($r->{status}, 200, '$uri found: 200');
is($r->{body}, "small\n", '$uri found: the file');
is($r->{headers}{'content-type'}, 'text/plain', '$uri found: its type');
$r = http($port, build_request(method => 'HEAD', path => '/small.txt',
                               headers => [Connection => 'close']), head => 1);
is($r->{status}, 200, 'HEAD of a found file: 200');
is($r->{headers}{'content-length'}, 6, 'HEAD of a found file: its length');
$r = http($port, build_request(method => 'POST', path => '/small.txt',
                               body => 'x', headers => [Connection => 'close']));
is($r->{status}, 405, 'POST to a found file: the static handler says 405');

# ---- none: the named location, a real backend ----
$r = http_get($port, '/missing/page?x=1&y=2');
is($r->{status}, 200, '@backend: 200 from the backend');
$e = parse_echo($r->{body});
is($e->{uri}, '/missing/page?x=1&y=2', '@backend: the original URI and args');
is($e->{method}, 'GET', '@backend: the method');
$r = http($port, build_request(method => 'POST', path => '/form?a=b',
                               body => 'field=value',
                               headers => [Connection => 'close']));
$e = parse_echo($r->{body});
is($e->{method}, 'POST', '@backend: POST stays POST');
is($e->{uri}, '/form?a=b', '@backend: POST URI');
is($e->{body}, 'field=value', '@backend: the request body is passed on');
$r = http_get($port, '/dir');
$e = parse_echo($r->{body});
is($e->{uri}, '/dir', 'a directory is not a file: @backend');
$r = http_get($port, '/%61bc%20d');
$e = parse_echo($r->{body});
is($e->{uri}, '/%61bc%20d', '@backend: the URI as the client spelled it');

# ---- a proxied location: try_files runs before proxy_pass ----
$r = http_get($port, '/pp/x?y=1');
$e = parse_echo($r->{body});
is($e->{uri}, '/pp/x?y=1',
   'found file in a proxy_pass location: proxied, with the original URI');

# ---- directories: "$uri/" and index ----
$r = http_get($port, '/spa/');
is($r->{body}, "spa index\n", '$uri/: the directory index');
$r = http_get($port, '/spa/app.js');
is($r->{body}, "app();\n", 'SPA: a file');
$r = http_get($port, '/spa/sub?q=1');
is($r->{status}, 301, '$uri/ without the slash: 301, as nginx');
is($r->{headers}{location}, "http://localhost:$port/spa/sub/?q=1",
   '... to the directory');
$r = http_get($port, '/spa/sub/');
is($r->{body}, "sub index\n", '$uri/: the subdirectory index');
$r = http_get($port, '/spa/route/deep?id=7');
is($r->{status}, 200, 'SPA fallback: 200');
is($r->{body}, "spa index\n", 'SPA fallback: /spa/index.html');
# the directory is found, its index redirects to /dirs/sub/index.html,
# which this location's try_files does not find as a directory: 404,
# as nginx 1.22 answers the same configuration
$r = http_get($port, '/dirs/sub/');
is($r->{status}, 404, 'only "$uri/": the index\'s own URI is tried too');
$r = http_get($port, '/dirs/sub/index.html');
is($r->{status}, 404, 'only "$uri/": a file is not a directory');

# ---- =CODE, through error_page ----
$r = http_get($port, '/plain/file.txt');
is($r->{body}, "plain file\n", '=404: an existing file');
$r = http_get($port, '/plain/missing.txt');
is($r->{status}, 404, '=404: 404');
like($r->{body}, qr/404 Not Found/, '=404: the built-in page');
$r = http_get($port, '/plain/adir');
is($r->{status}, 404, '=404: a directory is not a file');
$r = http_get($port, '/code/missing');
is($r->{status}, 404, '=404 with error_page: 404');
is($r->{body}, "custom 404\n", '=404 with error_page: the error page');
$r = http_get($port, '/teapot/x');
is($r->{status}, 418, '=418: 418');
$r = http_get($port, '/gone/x');
is($r->{status}, 200, '=410 with error_page 410 =200: 200');
is($r->{body}, "small\n", '... the page error_page names');
$r = http($port, build_request(method => 'POST', path => '/plain/nope',
                               body => 'abc', headers => [Connection => 'close']));
is($r->{status}, 404, '=404 for a POST: 404');

# ---- fallback URI ----
$r = http_get($port, '/fb/none');
is($r->{status}, 200, 'fallback URI: 200');
is($r->{body}, "small\n", 'fallback URI: served by its location');
$r = http_get($port, '/fbnoargs/none?q=1');
$e = parse_echo($r->{body});
is($e->{uri}, '/echo/plain', 'fallback without "?": the arguments are dropped');
$r = http_get($port, '/fbargs/none?q=1');
$e = parse_echo($r->{body});
is($e->{uri}, '/echo/x?from=fb&q=1', 'fallback with "?" and $args');
$r = http_get($port, '/isargs/none?a=b');
$e = parse_echo($r->{body});
is($e->{uri}, '/echo/is?a=b', '$is_args$query_string with arguments');
$r = http_get($port, '/isargs/none');
$e = parse_echo($r->{body});
is($e->{uri}, '/echo/is', '$is_args$query_string without');
$r = http($port, build_request(method => 'POST', path => '/fbargs/none',
                               body => 'payload',
                               headers => [Connection => 'close']));
$e = parse_echo($r->{body});
is($e->{method}, 'POST', 'fallback URI: the method stays (nginx)');
is($e->{body}, 'payload', 'fallback URI: the body goes along');

# ---- variables ----
$r = http_get($port, '/vars/?name=a');
is($r->{body}, "file a\n", '$arg_name: the file it names');
$r = http_get($port, '/vars/?name=b');
is($r->{status}, 404, '$arg_name: no such file');

# ---- alias ----
$r = http_get($port, '/al/f.txt');
is($r->{body}, "from alias\n", 'alias: $uri');
$r = http_get($port, '/al/f');
is($r->{status}, 200, 'alias: $uri.txt found');
is($r->{body}, "from alias\n", 'alias: $uri.txt is the file');
is($r->{headers}{'content-type'}, 'text/plain', 'alias: the type of the file found');
$r = http_get($port, '/al/none');
is($r->{status}, 404, 'alias: none: =404');
$r = http_get($port, '/al2/whatever');
is($r->{body}, "from alias\n",
   'alias: a value outside the location\'s prefix is looked up in the alias');

# ---- redirect limit ----
$r = http_get($port, '/a1');
is($r->{status}, 200, '10 internal redirects: served');
is($r->{body}, "small\n", '10 internal redirects: the last one\'s page');
$r = http_get($port, '/a0');
is($r->{status}, 500, '11 internal redirects: 500');
$r = http_get($port, '/loop/x');
is($r->{status}, 500, 'a fallback to its own location: 500');
like($f->error_log, qr/rewrite or internal redirection cycle while internally redirecting to "\/loop\/again"/,
     '... logged as nginx logs it');
$r = http_get($port, '/small.txt');
is($r->{body}, "small\n", 'still serving after the loop');
$r = http_get($port, '/nonamed/x');
is($r->{status}, 500, 'a named location that does not exist: 500');
like($f->error_log, qr/could not find named location "\@nowhere"/,
     '... logged');
$r = http_get($port, '/badfb/x?to=nothing');
is($r->{status}, 400, 'a fallback from the request that is no URI: 400');
$r = http_get($port, '/badfb/x?to=/a/../../small.txt');
is($r->{status}, 400, 'a fallback from the request above "/": 400');
$r = http_get($port, '/badfb/x?to=/small.txt');
is($r->{body}, "small\n", 'a fallback from the request that is a URI');

# ---- symbolic links: not files ----
$r = http_get($port, '/plain/link.txt');
is($r->{status}, 404, 'a symlink to a file is not a file: =404');
unlike($r->{body}, qr/TOP SECRET/, '... and nothing of it is sent');
$r = http_get($port, '/plain/linkdir/f.txt');
is($r->{status}, 404, 'a file through a symlinked directory: =404');
$r = http_get($port, '/link.txt');
$e = parse_echo($r->{body});
is($e->{uri}, '/link.txt', 'a symlink in "try_files $uri @backend": the backend');
$r = http_get($port, '/vars/?name=link');
is($r->{status}, 404, 'a symlink named by a variable: =404');

# ---- nothing outside the root ----
for my $q ('../secret', '../../secret', '..%2f..%2fsecret', '%2e%2e/%2e%2e/secret',
           '../files/a', './a', 'a/../a', '%00', 'a%00', '/../../secret')
{
    $r = http_get($port, "/vars/?name=$q");
    is($r->{status}, 404, "\$arg_name=$q: 404 (got $r->{status})");
    unlike($r->{body} // '', qr/TOP SECRET/, "\$arg_name=$q: no secret");
}
for my $path ('/plain/../secret.txt', '/plain/%2e%2e/%2e%2e/secret.txt',
              '/plain/..%2f..%2fsecret.txt', '/al/..%2fsecret.txt',
              '/al/%2e%2e/secret.txt', '/spa/..%2f..%2fsecret.txt')
{
    $r = http_get($port, $path);
    unlike($r->{body} // '', qr/TOP SECRET/, "$path: no secret");
    ok($r->{status} == 400 || $r->{status} == 404 || $r->{status} == 200,
       "$path: answered (got $r->{status})");
}

# ---- one keep-alive connection through every branch ----
my ($res, $closed) = http_keepalive($port, [
    build_request(path => '/small.txt'),
    build_request(path => '/missing?k=1'),
    build_request(path => '/plain/none'),
    build_request(path => '/spa/x/y'),
    build_request(method => 'HEAD', path => '/nothing'),
    build_request(path => '/fb/none', headers => [Connection => 'close']),
]);
is(scalar @$res, 6, 'keep-alive: six answers on one connection');
is($res->[0]{body}, "small\n", 'keep-alive: a file');
is(parse_echo($res->[1]{body})->{uri}, '/missing?k=1', 'keep-alive: @backend');
is($res->[2]{status}, 404, 'keep-alive: =404');
is($res->[3]{body}, "spa index\n", 'keep-alive: fallback URI');
is($res->[4]{status}, 200, 'keep-alive: HEAD to @backend');
is($res->[5]{body}, "small\n", 'keep-alive: the last');
ok($closed, 'keep-alive: closed after Connection: close');

# ---- server level: for requests no location matches; not inherited ----
$r = http_get($f->port(2), '/anything/at/all');
is($r->{body}, "small\n", 'server-level try_files: no location matched');
$r = http_get($f->port(2), '/inner/missing');
is($r->{status}, 404, 'server-level try_files is not inherited (nginx)');

$f->stop;

# ---- configuration errors, with file and line ----
server_conf_refused('try_files $uri;',
    qr/invalid number of arguments in "try_files" directive in \S+:8/,
    'one argument');
server_conf_refused('try_files $uri =abc;',
    qr/invalid code "=abc" in "try_files".* in \S+:8/, '=abc');
server_conf_refused('try_files $uri =1000;',
    qr/invalid code "=1000" in "try_files".* in \S+:8/, '=1000');
server_conf_refused('try_files $uri =;',
    qr/invalid code "=" in "try_files".* in \S+:8/, '= alone');
server_conf_refused('try_files $uri =301;',
    qr/invalid code "=301" in "try_files": a redirect needs a URL.* in \S+:8/,
    '=301');
server_conf_refused('try_files $uri index.html;',
    qr/invalid fallback "index.html" in "try_files".* in \S+:8/,
    'a fallback that is no URI');
server_conf_refused('try_files $uri @;',
    qr/invalid fallback "@" in "try_files".* in \S+:8/, '@ alone');
server_conf_refused('try_files $uri /a/../../b;',
    qr/invalid fallback URI "\/a\/..\/..\/b" in "try_files" in \S+:8/,
    'a fallback above "/"');
server_conf_refused('try_files $nosuch =404;',
    qr/unknown "nosuch" variable in \S+:8/, 'an unknown variable');
server_conf_refused("location / { try_files a =404;\n"
                    . "        try_files b =404; }",
    qr/"try_files" directive is duplicate in \S+:9/, 'twice');
http_conf_refused('try_files $uri =404;',
    qr/"try_files" directive is not allowed here in \S+:6/, 'in http');

done_testing;
