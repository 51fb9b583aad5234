#!/usr/bin/perl
# static.t -- serving files: root, alias, index, types, conditional
# requests, Range, HEAD, and that nothing outside the root is reachable.

use strict;
use warnings;
use Test::More;
use lib 't/lib';
use Ferry::Test;

my $f = Ferry::Test->new(conf => main_conf() . <<'EOF');
events { worker_connections 64; }
worker_processes 1;
http {
    types {
        text/html   html;
        text/plain  txt;
        text/css    css;
    }
    default_type application/octet-stream;

    server {
        listen 127.0.0.1:%%PORT_0%%;
        root html;

        location /al/ { alias other/; }
        location /ix/ { index first.html second.html; }
        # nginx's documented example: "/" found an index here, and is
        # answered by the location its new URI matches
        location = /redir/ { index index.html; }
        location /redir/ { add_header X-Uri "$uri $args" always; }
        location /absix/ { index none.html /target/; }
        location /target/ { return 200 "target $uri $args\n"; }
        location /ret { return 200 "returned\n"; }
        location /ep416/ { alias html/; error_page 416 /oops416; }
        location = /oops416 { return 200 "oops\n"; }
        location /ep416f/ { alias html/; error_page 416 /e416.txt; }
        location /ep416c/ { alias html/; error_page 416 =200 /oops416; }
    }
}
EOF

my $p = $f->prefix;
my $port = $f->port(0);

sub put { $f->write_file(@_) }

my $small = "hello, static world\n";
my $big = join '', map { chr(($_ * 7 + ($_ >> 8)) & 255) } 0 .. 1024 * 1024 - 1;
my $bin = join '', map { chr } 0 .. 255;
put('html/small.txt', $small);
put('html/e416.txt', "range page\n");
put('html/big.bin', $big);
put('html/bin.dat', $bin x 4);
put('html/index.html', "<p>root index</p>\n");
put('html/dir/index.html', "<p>dir index</p>\n");
put('html/noidx/file.txt', "x\n");
put('html/style.css', "body {}\n");
put('html/UPPER.TXT', "upper\n");
put('html/data.xyz', "xyz\n");
put('html/noext', "noext\n");
put('html/ix/second.html', "second\n");
put('html/redir/index.html', "redir index\n");
put('html/absix/x.txt', "x\n");
put('html/a b.txt', "space\n");
put('other/f.txt', "from alias\n");
put('secret.txt', "TOP SECRET\n");
symlink("$p/secret.txt", "$p/html/link.txt") or die "symlink: $!";
symlink("$p/other", "$p/html/linkdir") or die "symlink: $!";
put('html/closed/f.txt', "closed\n");
chmod 0000, "$p/html/closed/f.txt";

$f->start;

my $r;

# ---- plain files, byte for byte ----
$r = http_get($port, '/small.txt');
is($r->{status}, 200, 'small file: 200');
is($r->{body}, $small, 'small file: body');
is($r->{headers}{'content-type'}, 'text/plain', 'small file: type');
is($r->{headers}{'content-length'}, length $small, 'small file: length');
is($r->{headers}{'accept-ranges'}, 'bytes', 'Accept-Ranges: bytes');
my $etag = $r->{headers}{etag};
my $lm = $r->{headers}{'last-modified'};
my @st = stat "$p/html/small.txt";
is($etag, sprintf('"%x-%x"', $st[9], $st[7]), 'ETag is "mtime-size" in hex');
like($lm, qr/^\w{3}, \d\d \w{3} \d{4} \d\d:\d\d:\d\d GMT$/,
     'Last-Modified is an HTTP date');

$r = http_get($port, '/big.bin');
is($r->{status}, 200, '1 MiB file: 200');
ok($r->{body} eq $big, '1 MiB file: byte-identical');
is($r->{headers}{'content-type'}, 'application/octet-stream',
   'unknown extension: default_type');

$r = http_get($port, '/bin.dat');
ok($r->{body} eq $bin x 4, 'binary file: byte-identical');

# ---- HEAD ----
$r = http($port, build_request(method => 'HEAD', path => '/small.txt',
                               headers => [Connection => 'close']),
          head => 1);
is($r->{status}, 200, 'HEAD: 200');
is($r->{headers}{'content-length'}, length $small, 'HEAD: Content-Length');
is($r->{body}, '', 'HEAD: no body');

# ---- conditional requests ----
$r = http_get($port, '/small.txt', 'If-None-Match' => $etag);
is($r->{status}, 304, 'If-None-Match with the ETag: 304');
is($r->{body}, '', '304: no body');
is($r->{headers}{etag}, $etag, '304 repeats the ETag');
$r = http_get($port, '/small.txt', 'If-None-Match' => "\"x\", W/$etag");
is($r->{status}, 304, 'If-None-Match list with a weak match: 304');
$r = http_get($port, '/small.txt', 'If-None-Match' => '"other"');
is($r->{status}, 200, 'If-None-Match with another ETag: 200');
$r = http_get($port, '/small.txt', 'If-Modified-Since' => $lm);
is($r->{status}, 304, 'If-Modified-Since the same time: 304');
$r = http_get($port, '/small.txt',
              'If-Modified-Since' => 'Sun, 06 Nov 1994 08:49:37 GMT');
is($r->{status}, 200, 'If-Modified-Since another time: 200 (exact)');
$r = http_get($port, '/small.txt', 'If-None-Match' => '"other"',
              'If-Modified-Since' => $lm);
is($r->{status}, 200, 'If-None-Match wins over If-Modified-Since');

# ---- Range ----
$r = http_get($port, '/small.txt', Range => 'bytes=7-12');
is($r->{status}, 206, 'Range a-b: 206');
is($r->{body}, substr($small, 7, 6), 'Range a-b: the bytes');
is($r->{headers}{'content-range'}, 'bytes 7-12/' . length $small,
   'Range a-b: Content-Range');
$r = http_get($port, '/small.txt', Range => 'bytes=-6');
is($r->{body}, substr($small, -6), 'Range -n: the last bytes');
$r = http_get($port, '/big.bin', Range => 'bytes=1000000-');
is($r->{status}, 206, 'Range a- of the big file: 206');
ok($r->{body} eq substr($big, 1000000), 'Range a-: the bytes to the end');
$r = http_get($port, '/small.txt', Range => 'bytes=1000-');
is($r->{status}, 416, 'Range past the end: 416');
is($r->{headers}{'content-range'}, 'bytes */' . length $small,
   '416: Content-Range bytes */size');
like($r->{body}, qr{^<html>\r\n<head><title>416 Requested Range Not Satisfiable</title></head>.*<center><h1>416 Requested Range Not Satisfiable</h1></center>}s,
     "416: nginx's error page as its body");
is($r->{headers}{'content-type'}, 'text/html', '416: text/html');
is($r->{headers}{'content-length'}, length $r->{body},
   '416: Content-Length of the page');
$r = http($port, "HEAD /small.txt HTTP/1.1\r\nHost: x\r\nRange: bytes=1000-\r\n"
         . "Connection: close\r\n\r\n", head => 1);
ok($r->{status} == 416 && $r->{headers}{'content-length'} > 0
   && $r->{raw} =~ /\r\n\r\n\z/, 'HEAD 416: the length of the page, no body');
my ($ka) = http_keepalive($port, [
    build_request(path => '/small.txt', headers => [ Range => 'bytes=1000-' ]),
    build_request(path => '/small.txt'),
]);
ok(@$ka == 2 && $ka->[0]{status} == 416 && $ka->[1]{status} == 200,
   '416: the connection stays open (nginx)');
$r = http_get($port, '/ep416/small.txt', Range => 'bytes=1000-');
ok($r->{status} == 416 && $r->{body} eq "oops\n",
   'error_page 416 /uri: its answer, still 416');
is($r->{headers}{'content-range'}, 'bytes */' . length $small,
   '... with Content-Range bytes */size');
$r = http_get($port, '/ep416f/small.txt', Range => 'bytes=1000-');
ok($r->{status} == 416 && $r->{body} eq "range page\n",
   'error_page 416 to a file: the file, 416');
is($r->{headers}{'content-range'}, 'bytes */' . length $small,
   '... with Content-Range bytes */size');
ok(!defined $r->{headers}{'accept-ranges'}, '... no Accept-Ranges');
$r = http_get($port, '/ep416c/small.txt', Range => 'bytes=1000-');
ok($r->{status} == 200 && $r->{body} eq "oops\n"
   && !defined $r->{headers}{'content-range'},
   'error_page 416 =200 /uri: a 200 without Content-Range');
$r = http_get($port, '/small.txt', Range => 'bytes=0-1,4-5');
is($r->{status}, 206, 'several ranges: 206 (t/ranges.t has the rest)');
like($r->{headers}{'content-type'}, qr{^multipart/byteranges; boundary=\d+$},
     'several ranges: multipart/byteranges');
$r = http_get($port, '/small.txt', Range => 'bytes=0-1',
              'If-Range' => '"stale"');
is($r->{status}, 200, 'If-Range that does not match: 200');
$r = http_get($port, '/small.txt', Range => 'bytes=0-1', 'If-Range' => $etag);
is($r->{status}, 206, 'If-Range that matches: 206');

# ---- directories, index, errors ----
$r = http_get($port, '/');
is($r->{body}, "<p>root index</p>\n", '/: index.html');
is($r->{headers}{'content-type'}, 'text/html', 'index: type of the index');
$r = http_get($port, '/dir/');
is($r->{body}, "<p>dir index</p>\n", 'directory: its index.html');
$r = http_get($port, '/dir?a=1');
is($r->{status}, 301, 'directory without slash: 301');
is($r->{headers}{location}, "http://localhost:$port/dir/?a=1",
   '301 to the path with a slash (absolute_redirect on)');
$r = http_get($port, '/noidx/');
is($r->{status}, 403, 'directory without index: 403');
$r = http_get($port, '/ix/');
is($r->{body}, "second\n", 'index list: the first that exists');
$r = http_get($port, '/redir/?q=1');
is($r->{body}, "redir index\n", 'index: the file served');
is($r->{headers}{'x-uri'}, '/redir/index.html q=1',
   '... by an internal redirect to its URI, the arguments kept '
   . '(the location that URI matches answered)');
$r = http_get($port, '/absix/?q=2');
is($r->{body}, "target /target/ q=2\n",
   'an absolute last index: redirected to as it is, with the arguments');
$r = http_get($port, '/missing.txt');
is($r->{status}, 404, 'missing file: 404');
$r = http_get($port, '/small.txt/x');
is($r->{status}, 404, 'a file used as a directory: 404');
SKIP: {
    skip 'running as root: permissions do not apply', 1 if $> == 0;
    $r = http_get($port, '/closed/f.txt');
    is($r->{status}, 403, 'unreadable file: 403');
}
$r = http($port, build_request(method => 'POST', path => '/small.txt',
                               body => 'x',
                               headers => [Connection => 'close']));
is($r->{status}, 405, 'POST: 405');
$r = http_get($port, '/ret');
is($r->{body}, "returned\n", 'return beats root');
$r = http_get($port, '/a%20b.txt');
is($r->{body}, "space\n", '%-encoded name');

# ---- types ----
$r = http_get($port, '/style.css');
is($r->{headers}{'content-type'}, 'text/css', 'type by extension: css');
$r = http_get($port, '/UPPER.TXT');
is($r->{headers}{'content-type'}, 'text/plain', 'extension in any case');
$r = http_get($port, '/noext');
is($r->{headers}{'content-type'}, 'application/octet-stream',
   'no extension: default_type');

# ---- alias ----
$r = http_get($port, '/al/f.txt');
is($r->{status}, 200, 'alias: 200');
is($r->{body}, "from alias\n", 'alias: the file from the alias directory');
$r = http_get($port, '/al/../secret.txt');
isnt($r->{body} // '', "TOP SECRET\n", 'alias: .. does not leave it');

# ---- never outside the root ----
$r = http_get($port, '/link.txt');
is($r->{status}, 403, 'symlink to a file: 403');
$r = http_get($port, '/linkdir/f.txt');
is($r->{status}, 403, 'symlink to a directory: 403');
for my $path ('/../secret.txt', '/%2e%2e/secret.txt', '/..%2fsecret.txt',
              '/dir/..%2f..%2fsecret.txt', '/%2e%2e%2fsecret.txt',
              '/dir/%2E%2E/%2e%2e/secret.txt', '/..%5csecret.txt',
              '/.%2e/secret.txt', '/%2fsecret.txt', '//../secret.txt',
              '/al/..%2f..%2fsecret.txt', '/al/%2e%2e/%2e%2e/secret.txt')
{
    $r = http_get($port, $path);
    ok(($r->{body} // '') !~ /TOP SECRET/, "$path: the secret stays hidden");
    ok($r->{status} == 400 || $r->{status} == 404,
       "$path: 400 or 404 (got $r->{status})");
}
$r = http_get($port, '/small.txt%00.html');
ok($r->{status} == 400 || $r->{status} == 404,
   "NUL in the path: refused (got $r->{status})");

# ---- keep-alive after files ----
my ($res, $closed) = http_keepalive($port, [
    build_request(path => '/small.txt'),
    build_request(path => '/big.bin', headers => [Range => 'bytes=0-9']),
    build_request(method => 'HEAD', path => '/big.bin'),
    build_request(path => '/small.txt', headers => [Connection => 'close']),
]);
is(scalar @$res, 4, 'four responses on one connection');
is($res->[0]{body}, $small, 'keep-alive: first file');
is($res->[1]{body}, substr($big, 0, 10), 'keep-alive: range');
is($res->[2]{headers}{'content-length'}, length $big, 'keep-alive: HEAD');
is($res->[3]{body}, $small, 'keep-alive: last file');
ok($closed, 'keep-alive: closed after Connection: close');

# ---- a client that leaves mid-download leaks no file ----
my $huge = join '', map { pack('N', $_) x 1024 } 0 .. 8191;   # 32 MiB
put('html/huge.bin', $huge);
# a deadline for the whole body, not 5 s: on a loaded machine with the
# sanitizer build 32 MiB through Perl can take longer (once: nothing
# read in time)
$r = http($port, build_request(path => '/huge.bin',
                               headers => [Connection => 'close']),
          timeout => 30);
is(length($r->{body} // ''), length $huge, '32 MiB file: whole length')
    or diag($r->{error} // '');
ok(($r->{body} // '') eq $huge,
   '32 MiB file: byte-identical (sent over several turns)');
my ($worker) = $f->worker_pids;
sub open_huge {
    my $n = 0;
    for my $fd (glob "/proc/$worker/fd/*") {
        my $t = readlink($fd) // '';
        $n++ if $t =~ m{/html/huge\.bin$};
    }
    return $n;
}
my @clients;
for (1 .. 3) {
    my $c = Ferry::Test::Client->new($port);
    $c->send(build_request(path => '/huge.bin'));
    $c->_read_some(2);
    push @clients, $c;
}
ok((wait_until { open_huge() == 3 } 5),
   'three slow downloads hold the file open');
$_->close for @clients;
ok((wait_until { open_huge() == 0 } 5), 'no file left open after clients left');
$r = http_get($port, '/small.txt');
is($r->{body}, $small, 'still serving afterwards');

$f->stop;

# ---- configuration errors, with file and line ----
sub conf_error {
    my ($name, $http, $want) = @_;
    my $c = Ferry::Test->new(conf => main_conf()
        . "events { worker_connections 8; }\nhttp {\n$http\n}\n");
    my ($rc, $out) = $c->run('-t');
    is($rc, 1, "$name: ferry -t fails");
    like($out, $want, "$name: the message");
}
conf_error('root twice', "root a;\nroot b;",
           qr/\[emerg\] "root" directive is duplicate, "root" was specified earlier in \S+ferry\.conf:7/);
conf_error('alias after root',
           "server { listen 127.0.0.1:1; location / { root a;\nalias b; } }",
           qr/\[emerg\] "alias" directive is duplicate, "root" was specified earlier in \S+:7/);
conf_error('alias in server', "server { alias b; }",
           qr/\[emerg\] "alias" directive is not allowed here in \S+:6/);
conf_error('index with a slash', "index a/b.html;",
           qr/\[emerg\] invalid index file name "a\/b\.html".* in \S+:6/);
conf_error('an absolute index not last', "index /a.html b.html;",
           qr/\[emerg\] only the last index in "index" directive may be absolute in \S+:6/);
conf_error('types line without extension', "types {\ntext/plain;\n}",
           qr/\[emerg\] invalid number of arguments in "types" entry "text\/plain".* in \S+:7/);
conf_error('types line with a block', "types {\ntext/plain txt {}\n}",
           qr/\[emerg\] "text\/plain" is not terminated by ";" in \S+:7/);

# the shipped mime.types loads, and maps what it says
{
    my $c = Ferry::Test->new(conf => main_conf() . <<'EOF');
events { worker_connections 8; }
http {
    include mime.types;
    server { listen 127.0.0.1:%%PORT_0%%; root html; }
}
EOF
    $c->write_file('conf/mime.types',
                   Ferry::Test::read_file("$Ferry::Test::ROOT/conf/mime.types"));
    $c->write_file('html/a.json', "{}\n");
    $c->write_file('html/a.WOFF2', "x");
    $c->start;
    is(http_get($c->port(0), '/a.json')->{headers}{'content-type'},
       'application/json', 'conf/mime.types: json');
    is(http_get($c->port(0), '/a.WOFF2')->{headers}{'content-type'},
       'font/woff2', 'conf/mime.types: woff2, any case');
    $c->stop;
}

done_testing;
