#!/usr/bin/perl

# Variables in root and alias (nginx): "root /srv/$host;" serves each
# host's own tree, a relative value is under the prefix, an alias with
# variables in a prefix location, an alias in a regex location is the
# file alone (its captures say where the path goes; also without
# variables) and its index file when it names a directory, try_files and $document_root, $request_filename,
# $realpath_root with the evaluated value, a server's root inherited;
# a value with a ".." segment refused (404, logged).  Configuration
# errors with file and line.  Each configuration here was refused by
# the old binary (a root with "$" was a path it could not find).

use strict;
use warnings;

use Test::More;
use Ferry::Test;

my $f = Ferry::Test->new(conf => main_conf() . <<'EOF');
worker_processes 1;
events { worker_connections 64; }
http {
    types { text/html html; text/plain txt; image/png png; }
    server {
        listen 127.0.0.1:%%PORT_0%%;
        root %%PREFIX%%/sites/$host;

        location /vars/ {
            return 200 "$document_root|$request_filename|$realpath_root";
        }
        location /rel/ { root sites/$arg_s; }
        location /al/ { alias %%PREFIX%%/sites/$arg_s/; }
        location ~ ^/pic/(\w+)\.png$ { alias %%PREFIX%%/imgs/$1.png; }
        location ~ ^/one/ { alias %%PREFIX%%/imgs/one.txt; }
        location ~ ^/u/(.*)$ { alias %%PREFIX%%/srv/$1; }
        location ~ ^/ix/(.*)$ { alias %%PREFIX%%/srv/$1; index first.html home.html; }
        location ~ ^/auto/(.*)$ { alias %%PREFIX%%/srv/$1; autoindex on; }
        location /tf/ {
            root %%PREFIX%%/sites/$arg_s;
            try_files $uri /fallback.txt;
        }
        location = /fallback.txt { root %%PREFIX%%/sites/a.test; }
    }
}
EOF

$f->write_file('sites/a.test/index.html', "site A\n");
$f->write_file('sites/a.test/x.txt', "a x\n");
$f->write_file('sites/a.test/fallback.txt', "fallback\n");
$f->write_file('sites/b.test/x.txt', "b x\n");
$f->write_file('sites/a.test/rel/r.txt', "a rel\n");
$f->write_file('sites/a.test/al.txt', "a alias\n");
$f->write_file('sites/a.test/tf/t.txt', "a tf\n");
$f->write_file('imgs/cat.png', "cat png\n");
$f->write_file('imgs/one.txt', "the one\n");
$f->write_file('srv/dir/index.html', "dir index\n");
$f->write_file('srv/dir/home.html', "home\n");
$f->write_file('srv/dir/page.html', "a page\n");
$f->write_file('srv/dir/sub/index.html', "sub index\n");
$f->write_file('srv/noindex/f.txt', "f\n");
$f->write_file('secret.txt', "secret\n");
$f->allow_log(qr/gives an empty path or one with a NUL or "\.\."/);
$f->start or BAIL_OUT('ferry did not start');
my $port = $f->port(0);
my $prefix = $f->prefix;

sub get {
    my ($path, $host) = @_;
    return http_get($port, $path, Host => $host // 'a.test');
}

my $r = get('/x.txt');
is("$r->{status} $r->{body}", "200 a x\n", 'root /sites/$host: a.test\'s file');
$r = get('/x.txt', 'b.test');
is("$r->{status} $r->{body}", "200 b x\n", '... b.test\'s');
is(get('/x.txt', 'c.test')->{status}, 404, '... a host without a tree: 404');
is(get('/', 'a.test')->{body}, "site A\n", '... its index');

is(get('/vars/p')->{body},
   "$prefix/sites/a.test|$prefix/sites/a.test/vars/p|$prefix/sites/a.test",
   '$document_root, $request_filename, $realpath_root: the evaluated root');

$r = get('/rel/r.txt?s=a.test');
is("$r->{status} $r->{body}", "200 a rel\n", 'a relative root with variables: under the prefix');

$r = get('/al/al.txt?s=a.test');
is("$r->{status} $r->{body}", "200 a alias\n", 'alias with variables in a prefix location');
$r = get('/al/x.txt?s=b.test');
is($r->{body}, "b x\n", '... another value, another tree');
$r = get('/al/secret.txt?s=..');
is($r->{status}, 404, 'a value with a ".." segment: refused, 404');
like($f->error_log, qr/\[error\] .*"alias" ".*\$arg_s\/" gives an empty path or one with a NUL or "\.\."/,
     '... logged');

$r = get('/pic/cat.png');
is("$r->{status} $r->{body}", "200 cat png\n",
   'alias in a regex location: the alias alone, its capture naming the file');
is(get('/pic/dog.png')->{status}, 404, '... one that is not there: 404');
$r = get('/one/anything/at/all');
is("$r->{status} $r->{body}", "200 the one\n",
   'alias without variables in a regex location: the file alone (nginx)');

# the directory index under an aliased directory, as nginx: the index
# file found under the alias, then an internal redirect to the path
# with its name, which the regex location maps again
$r = get('/u/dir/');
is("$r->{status} $r->{body}", "200 dir index\n",
   'alias with a capture naming a directory: its index file');
$r = get('/u/dir/sub/');
is("$r->{status} $r->{body}", "200 sub index\n", '... one level deeper');
$r = get('/u/dir/page.html');
is("$r->{status} $r->{body}", "200 a page\n", '... a file of it');
$r = get('/u/dir');
is($r->{status}, 301, '... the directory without "/": redirected');
like($r->{headers}{location} // '', qr{/u/dir/$}, '... to the path with "/"');
$r = get('/u/noindex/');
is($r->{status}, 403, '... a directory without an index file: 403');
$r = get('/ix/dir/');
is("$r->{status} $r->{body}", "200 home\n", '... the index list, the first that is there');
$r = get('/auto/noindex/');
like("$r->{status} $r->{body}", qr{^200 .*Index of /auto/noindex/.*f\.txt}s,
     '... autoindex of the aliased directory');

$r = get('/tf/t.txt?s=a.test');
is($r->{body}, "a tf\n", 'try_files $uri under a root with variables');
$r = get('/tf/t.txt?s=b.test');
is($r->{body}, "fallback\n", '... its fallback when the evaluated tree has no such file');

$f->stop;

# ---- configuration errors ------------------------------------------------------
server_conf_refused('root /x/$document_root;',
                    'the \$document_root variable cannot be used in the "root" directive in .*ferry\.conf:8',
                    '$document_root in root');
server_conf_refused('location /a/ { alias /x/$realpath_root; }',
                    'the \$realpath_root variable cannot be used in the "alias" directive in .*ferry\.conf:8',
                    '$realpath_root in alias');
server_conf_refused('root /x/$nonesuch;', 'unknown "nonesuch" variable in .*ferry\.conf:8',
                    'an unknown variable');

done_testing;
