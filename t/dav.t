#!/usr/bin/perl

# WebDAV (dav_methods, dav_access, create_full_put_path,
# min_delete_depth): PUT (201 with Location, 204 on overwrite, the body
# on disk, its mode, a Date header's mtime, chunked, keep-alive after
# it, 409 for a collection or a missing directory, 501 for a range, no
# temporary file left after an aborted upload), MKCOL (201, 405, 409,
# 415 with a body), DELETE (files, trees, Depth, min_delete_depth),
# COPY and MOVE (Destination, Overwrite, Depth, trees, to itself),
# alias, symbolic links never followed, limit_except, dav_methods off,
# and configuration errors with file and line.
#
# Every test of a request fails without the module: the configuration
# is refused ("unknown directive").

use strict;
use warnings;

use Test::More;
use Ferry::Test;

my $f = Ferry::Test->new(conf => main_conf() . <<'EOF');
worker_processes 1;
events { worker_connections 64; }
http {
    server {
        listen 127.0.0.1:%%PORT_0%%;
        root html;
        location / {
            dav_methods PUT DELETE MKCOL COPY MOVE;
            dav_access group:rw all:r;
        }
        location /full/ { dav_methods PUT; create_full_put_path on; }
        location /min/ { dav_methods PUT DELETE; min_delete_depth 3; }
        location /al/ {
            alias html/aliased/;
            dav_methods PUT DELETE MKCOL COPY MOVE;
        }
        location /off/ { dav_methods off; }
        location /mirrored/ { dav_methods PUT; mirror /m; }
        location = /m { internal; return 204; }
        location /guard/ {
            dav_methods PUT DELETE;
            limit_except GET { deny all; }
        }
    }
}
EOF

my $p = $f->prefix;
my $h = "$p/html";
$f->write_file('html/keep.txt', "keep\n");
$f->write_file('html/aliased/.keep', '');
$f->write_file('html/guard/g.txt', "guarded\n");
$f->write_file('html/off/o.txt', "o\n");
$f->write_file('html/mirrored/.keep', '');
$f->write_file('html/min/a/b/c', "c");
$f->write_file('outside/secret', "secret\n");
symlink "$p/outside", "$h/linkdir" or die "symlink: $!";
symlink "$p/outside/secret", "$h/linkfile" or die "symlink: $!";
$f->allow_log(qr/\[crit\].*No such file/);
$f->start;
my $port = $f->port(0);

sub req {
    my ($method, $path, %o) = @_;
    my @hd = @{ $o{headers} // [] };
    push @hd, Connection => 'close';
    return http($port, build_request(method => $method, path => $path,
                                     headers => \@hd, body => $o{body}));
}
sub slurp { local $/; open my $fh, '<', $_[0] or return undef; <$fh> }
sub temps { opendir my $d, $_[0] or return -1; scalar grep /^\.ferry-put/, readdir $d }

# ---- PUT ----
my $r = req(PUT => '/new.txt', body => "hello\n");
is($r->{status}, 201, 'PUT of a new file: 201');
is($r->{headers}{location}, "http://localhost:$port/new.txt",
   '... Location: the absolute URI');
is($r->{headers}{'content-length'}, '0', '... Content-Length: 0');
is(slurp("$h/new.txt"), "hello\n", '... the body is the file');
is((stat "$h/new.txt")[2] & 07777, 0664, '... with dav_access as its mode');

$r = req(PUT => '/new.txt', body => "again\n");
is($r->{status}, 204, 'PUT over a file: 204');
ok(!exists $r->{headers}{'content-length'}, '... no Content-Length');
is(slurp("$h/new.txt"), "again\n", '... the file replaced');

$r = req(PUT => '/dated.txt', body => 'd',
         headers => [Date => 'Sun, 06 Nov 1994 08:49:37 GMT']);
is($r->{status}, 201, 'PUT with Date: 201');
is((stat "$h/dated.txt")[9], 784111777, '... the Date is the mtime');

$r = req(PUT => '/empty.txt', body => '');
is($r->{status}, 201, 'PUT of an empty body: 201');
is(-s "$h/empty.txt", 0, '... an empty file');

my $big = join '', map { chr(($_ * 7) % 256) } 1 .. 200_000;
$r = req(PUT => '/chunked.bin', headers => ['Transfer-Encoding' => 'chunked'],
         body => sprintf("%x\r\n%s\r\n%x\r\n%s\r\n0\r\n\r\n",
                         100_000, substr($big, 0, 100_000),
                         100_000, substr($big, 100_000)));
is($r->{status}, 201, 'chunked PUT of 200000 bytes: 201');
is(slurp("$h/chunked.bin"), $big, '... decoded on disk');

my ($res, $closed) = http_keepalive($port, [
    build_request(method => 'PUT', path => '/ka.txt', body => 'ka' x 5000),
    build_request(path => '/ka.txt'),
]);
is($res->[0]{status}, 201, 'PUT on a keep-alive connection');
is($res->[1]{status}, 200, '... the next request on it answered');
is($res->[1]{body}, 'ka' x 5000, '... with the file just put');

$r = req(PUT => '/dir/', body => 'x');
is($r->{status}, 409, 'PUT to a collection: 409');
$r = req(PUT => '/missing/f.txt', body => 'x');
is($r->{status}, 409, 'PUT into a missing directory: 409');
ok(!-e "$h/missing", '... nothing made');
$r = req(PUT => '/full/x/y/z.txt', body => 'deep');
is($r->{status}, 201, 'create_full_put_path: 201');
is(slurp("$h/full/x/y/z.txt"), 'deep', '... the directories made');
$r = req(PUT => '/keep.txt', body => 'x',
         headers => ['Content-Range' => 'bytes 0-0/1']);
is($r->{status}, 501, 'PUT with Content-Range: 501');
is(slurp("$h/keep.txt"), "keep\n", '... the file untouched');

$r = req(PUT => '/mirrored/m.txt', body => 'm' x 70000);
is($r->{status}, 201, 'PUT where mirror read the body first: 201');
is(slurp("$h/mirrored/m.txt"), 'm' x 70000, '... the body on disk');

# an upload the client gives up on leaves no temporary file behind
my $c = Ferry::Test::Client->new($port);
$c->send("PUT /aborted.txt HTTP/1.1\r\nHost: localhost\r\n"
         . "Content-Length: 100000\r\n\r\n" . ('a' x 1000));
my $seen = wait_until { temps($h) == 1 } 5;
ok($seen, 'an upload under way has its temporary file');
$c->close;
my $gone = wait_until { temps($h) == 0 } 5;
ok($gone, '... removed when the client goes');
ok(!-e "$h/aborted.txt", '... and no file made');

# ---- MKCOL ----
$r = req(MKCOL => '/col/');
is($r->{status}, 201, 'MKCOL: 201');
is($r->{headers}{location}, "http://localhost:$port/col/", '... Location');
ok(-d "$h/col", '... the directory made');
# mkdir's mode goes through the umask (ferry's when not a daemon)
is((stat "$h/col")[2] & 07777, 0775 & ~umask, '... x where dav_access has r');
is(req(MKCOL => '/col/')->{status}, 405, 'MKCOL of an existing one: 405');
is(req(MKCOL => '/col2')->{status}, 409, 'MKCOL without "/": 409');
is(req(MKCOL => '/no/col/')->{status}, 409, 'MKCOL in a missing one: 409');
is(req(MKCOL => '/col3/', body => 'x')->{status}, 415,
   'MKCOL with a body: 415');
ok(!-e "$h/col3", '... nothing made');

# ---- DELETE ----
$f->write_file('html/tree/a/b/f', 'f');
$f->write_file('html/tree/g', 'g');
symlink "$p/outside", "$h/tree/a/out" or die;
is(req(DELETE => '/tree')->{status}, 409, 'DELETE of a directory without '
   . '"/": 409');
is(req(DELETE => '/tree/', headers => [Depth => '0'])->{status}, 400,
   'DELETE of a directory with Depth: 0: 400');
is(req(DELETE => '/tree/', headers => [Depth => 'infinity'])->{status}, 204,
   'DELETE of a tree: 204');
ok(!-e "$h/tree", '... all of it gone');
is(slurp("$p/outside/secret"), "secret\n", '... a link in it deleted, '
   . 'not followed');
is(req(DELETE => '/new.txt', headers => [Depth => '1'])->{status}, 400,
   'DELETE of a file with Depth: 1: 400');
is(req(DELETE => '/new.txt')->{status}, 204, 'DELETE of a file: 204');
ok(!-e "$h/new.txt", '... gone');
is(req(DELETE => '/new.txt')->{status}, 404, 'DELETE of nothing: 404');
is(req(DELETE => '/keep.txt/x')->{status}, 409, 'DELETE below a file: 409');
is(req(DELETE => '/dated.txt', body => 'x')->{status}, 415,
   'DELETE with a body: 415');
is(req(DELETE => '/min/a/')->{status}, 409,
   'min_delete_depth 3: /min/a/ refused, 409');
ok(-d "$h/min/a", '... still there');
is(req(DELETE => '/min/a/b/c')->{status}, 204, '... /min/a/b/c deleted');

# ---- COPY, MOVE ----
my @dst = (Destination => "http://localhost:$port/copy.txt");
$r = req(COPY => '/keep.txt', headers => \@dst);
is($r->{status}, 204, 'COPY of a file: 204');
is(slurp("$h/copy.txt"), "keep\n", '... copied');
is(req(COPY => '/dated.txt', headers => [@dst, Overwrite => 'F'])->{status},
   412, 'COPY onto a file with Overwrite: F: 412');
is(slurp("$h/copy.txt"), "keep\n", '... left alone');
is(req(COPY => '/dated.txt', headers => [Destination => '/copy.txt'])
   ->{status}, 204, 'COPY to an absolute path, overwriting: 204');
is(slurp("$h/copy.txt"), 'd', '... overwritten');
is(req(COPY => '/keep.txt')->{status}, 400, 'COPY without Destination: 400');
is(req(COPY => '/keep.txt',
       headers => [Destination => 'http://elsewhere/x'])->{status}, 400,
   'COPY to another host: 400');
is(req(COPY => '/keep.txt', headers => [Destination => '/x/'])->{status},
   409, 'COPY of a file to a collection: 409');
is(req(COPY => '/keep.txt', headers => [Destination => '/no/x'])->{status},
   409, 'COPY into a missing directory: 409');
is(req(COPY => '/keep.txt', headers => [Destination => '/keep.txt'])
   ->{status}, 403, 'COPY to itself: 403');
is(slurp("$h/keep.txt"), "keep\n", '... the file intact');
is(req(COPY => '/keep.txt', headers => [Destination => '/../x'])->{status},
   400, 'a Destination above the root: 400');
is(req(COPY => '/keep.txt', headers => [Destination => '/c', Overwrite => 'x'])
   ->{status}, 400, 'an invalid Overwrite: 400');

$f->write_file('html/src/sub/f', 'sf');
$f->write_file('html/src/g', 'g');
is(req(COPY => '/src/', headers => [Destination => '/dst/'])->{status}, 201,
   'COPY of a tree: 201');
is(slurp("$h/dst/sub/f") . slurp("$h/dst/g"), 'sfg', '... all copied');
is(req(COPY => '/src/', headers => [Destination => '/d1/', Depth => '1'])
   ->{status}, 400, 'COPY with Depth: 1: 400');
is(req(COPY => '/src/', headers => [Destination => '/d0/', Depth => '0'])
   ->{status}, 201, 'COPY with Depth: 0: 201');
ok(-d "$h/d0" && !-e "$h/d0/g", '... the collection alone');
is(req(COPY => '/src/', headers => [Destination => '/src/in/'])->{status},
   403, 'COPY of a tree into itself: 403');
is(req(MOVE => '/dst/', headers => [Destination => '/moved/'])->{status},
   201, 'MOVE of a tree: 201');
ok(!-e "$h/dst" && slurp("$h/moved/sub/f") eq 'sf', '... moved');
is(req(MOVE => '/copy.txt', headers => [Destination => '/deep/er/m.txt'])
   ->{status}, 204, 'MOVE of a file: 204, its directories made');
ok(!-e "$h/copy.txt" && slurp("$h/deep/er/m.txt") eq 'd', '... moved');
is(req(COPY => '/linkfile', headers => [Destination => '/stolen'])->{status},
   403, 'COPY of a symbolic link: 403');
ok(!-e "$h/stolen", '... nothing copied');

# ---- links, alias, limit_except, off ----
is(req(PUT => '/linkdir/evil', body => 'x')->{status}, 409,
   'PUT through a linked directory: refused');
ok(!-e "$p/outside/evil", '... nothing written outside the root');
is(req(DELETE => '/linkfile')->{status}, 204, 'DELETE of a link: 204');
ok(!-l "$h/linkfile" && -e "$p/outside/secret", '... the link, not its '
   . 'target');

is(req(PUT => '/al/x.txt', body => 'al')->{status}, 201, 'PUT under alias');
is(slurp("$h/aliased/x.txt"), 'al', '... in the alias directory');
is(req(COPY => '/al/x.txt', headers => [Destination => '/al/y.txt'])
   ->{status}, 204, 'COPY under alias');
is(slurp("$h/aliased/y.txt"), 'al', '... copied there');
is(req(COPY => '/al/x.txt', headers => [Destination => '/x.txt'])->{status},
   400, 'COPY out of the alias location: 400');
is(req(DELETE => '/al/')->{status}, 403, 'DELETE of the alias itself: 403');

is(req(PUT => '/guard/g.txt', body => 'x')->{status}, 403,
   'limit_except GET { deny all; }: PUT 403');
is(slurp("$h/guard/g.txt"), "guarded\n", '... the file untouched');
is(req(GET => '/guard/g.txt')->{status}, 200, '... GET still served');
is(req(PUT => '/off/o.txt', body => 'x')->{status}, 405,
   'dav_methods off: PUT 405');
is(req(MKCOL => '/off/new/')->{status}, 405, '... MKCOL 405');

$f->stop;

# ---- configuration ----
http_conf_refused('dav_methods PUT BOGUS;',
                  'invalid value "BOGUS" in .*ferry\.conf:\d+',
                  'an unknown dav method');
http_conf_refused("dav_methods PUT;\n    dav_methods DELETE;",
                  '"dav_methods" directive is duplicate in .*:\d+',
                  'dav_methods twice');
http_conf_refused('dav_access user:x;',
                  'invalid value "user:x" in .*ferry\.conf:\d+',
                  'a bad dav_access');
http_conf_refused('min_delete_depth -1;', 'invalid .* in .*ferry\.conf:\d+',
                  'a negative min_delete_depth');
http_conf_refused('create_full_put_path maybe;',
                  'create_full_put_path.* in .*ferry\.conf:\d+',
                  'create_full_put_path not a flag');

done_testing;
