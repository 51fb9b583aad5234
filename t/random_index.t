#!/usr/bin/perl

# random_index: a directory URI is answered with one of the directory's
# regular files at random (never a dotfile, a subdirectory or a
# symbolic link), by an internal redirect that the locations see; a
# directory with none goes on to index; the 301 that adds the "/";
# random_index off in a nested location; the directive only in a
# location (file and line).
#
# Every request test fails without random_index (the configuration is
# refused: "unknown directive").

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
        location /r/ {
            random_index on;
            location /r/off/ { random_index off; }
        }
        location ~ \.special$ { return 200 "special $uri"; }
    }
}
EOF

my $p = $f->prefix;
$f->write_file('html/r/a.txt', "A");
$f->write_file('html/r/b.txt', "B");
$f->write_file('html/r/.hidden', "H");
$f->write_file('html/r/sub/inner', "S");
$f->write_file('html/outside', "L");
symlink "$p/html/outside", "$p/html/r/link" or die "symlink: $!";
$f->write_file('html/r/none/.dot', "D");
$f->write_file('html/r/none/dir/x', "X");
$f->write_file('html/r/sp/x.special', "never sent");
$f->write_file('html/r/off/index.html', "index");
$f->write_file('html/r/off/other', "other");
$f->start;
my $port = $f->port(0);

my %seen;
for (1 .. 40) {
    my $r = http_get($port, '/r/');
    $seen{"$r->{status} $r->{body}"}++;
}
is_deeply([sort keys %seen], ['200 A', '200 B'],
          'random_index: only the regular files, not dotfiles, '
          . 'directories or links');
ok($seen{'200 A'} && $seen{'200 B'}, '... each of them picked');

my $r = http_get($port, '/r/sp/');
is($r->{body}, 'special /r/sp/x.special',
   'the file picked is an internal redirect the locations see');

$r = http_get($port, '/r/none/');
is($r->{status}, 403, 'a directory without a file goes on to index (403)');

$r = http_get($port, '/r/sub');
is($r->{status}, 301, 'a directory without "/": 301 first');

$r = http_get($port, '/r/off/');
is($r->{body}, 'index', 'random_index off: the index file');

$f->stop;

http_conf_refused('random_index on;',
                  '"random_index" directive is not allowed here in '
                  . '.*ferry\.conf:\d+', 'random_index in http');

done_testing;
