#!/usr/bin/perl

# autoindex: the listing of a directory without an index file.  HTML as
# nginx lays it out (the "../" link, directories first then files, by
# name, dotfiles hidden, the date, exact and rounded sizes, names over
# 50 characters shortened), names with '<', '"', '&', spaces and UTF-8
# escaped in the text and percent-encoded in the links (no markup gets
# through), the 301 that adds the trailing slash, an index file still
# winning, autoindex off (403), alias; XML, JSON and JSONP (the
# callback checked); HEAD; configuration errors with file and line.
#
# Every listing test fails without autoindex (the configuration is
# refused: "unknown directive").

use strict;
use warnings;

use Test::More;
use Ferry::Test;

my $f = Ferry::Test->new(conf => main_conf() . <<'EOF2');
worker_processes 1;
events { worker_connections 64; }
http {
    server {
        listen 127.0.0.1:%%PORT_0%%;
        root html;
        autoindex on;
        location /off/ { autoindex off; }
        location /rounded/ { autoindex_exact_size off; }
        location /xml/ { autoindex_format xml; }
        location /json/ { autoindex_format json; }
        location /jsonp/ { autoindex_format jsonp; }
        location /al/ { alias html/list/; }
    }
}
EOF2

my $p = $f->prefix;
sub put { $f->write_file(@_) }
sub touch_at {
    my ($rel, $t) = @_;
    utime $t, $t, "$p/$rel" or die "utime $rel: $!";
}

my $when = 1700000000;          # 14-Nov-2023 22:13:20 UTC
put('html/list/b.txt', "12345");
put('html/list/a.txt', "x" x 10);
put('html/list/zdir/f', "in");
put('html/list/adir/f', "in");
put('html/list/.hidden', "secret");
put('html/list/.hdir/f', "secret");
put('html/list/<img src=x onerror=alert(1)>.txt', "xss");
put('html/list/q"uote&amp.txt', "q");
put('html/list/sp ace.txt', "s");
put("html/list/caf\xc3\xa9.txt", "utf8");
put('html/list/' . ('n' x 60) . '.txt', "long");
put('html/withindex/index.html', "the index\n");
put('html/xss/<b>"x/f', "x");
put('html/withindex/other.txt', "o");
put('html/off/f.txt', "f");
put('html/rounded/small', 'x' x 9999);
put('html/rounded/ten-k', 'x' x 10000);
put('html/rounded/big', 'x' x (1536 * 1024));
for my $d (qw(xml json jsonp)) {
    put("html/$d/file.txt", "abc");
    put("html/$d/sub\"dir/f", "x");
    put("html/$d/.dot", "x");
}
for my $rel ('html/list/b.txt', 'html/list/a.txt', 'html/list/zdir',
             'html/list/adir', 'html/xml/file.txt', 'html/json/file.txt',
             "html/json/sub\"dir", "html/xml/sub\"dir")
{
    touch_at($rel, $when);
}

$f->start;

my $r = http_get($f->port(0), '/list/');
is($r->{status}, 200, 'a directory without index: 200');
like($r->{headers}{'content-type'}, qr{^text/html}, 'text/html');
my $b = $r->{body};
like($b, qr{^<html>\r\n<head><title>Index of /list/</title></head>\r\n<body>\r\n<h1>Index of /list/</h1><hr><pre><a href="\.\./">\.\./</a>\r\n},
     'nginx\'s head and the ../ link');
like($b, qr{</pre><hr></body>\r\n</html>\r\n$}, 'nginx\'s tail');
my @names = $b =~ /<a href="([^"]*)"/g;
shift @names;   # ../
is_deeply(\@names,
          ['adir/', 'zdir/', '%3Cimg%20src%3Dx%20onerror%3Dalert%281%29%3E.txt',
           'a.txt', 'b.txt', 'caf%C3%A9.txt', ('n' x 60) . '.txt',
           'q%22uote%26amp.txt', 'sp%20ace.txt'],
          'directories first, then files, by name; dotfiles hidden; hrefs percent-encoded');
unlike($b, qr/hidden|hdir/, 'no dotfile or dot directory');
unlike($b, qr/<img/, 'no markup from a file name');
like($b, qr{>&lt;img src=x onerror=alert\(1\)&gt;\.txt</a>}, 'the name escaped for HTML');
like($b, qr{>q&quot;uote&amp;amp\.txt</a>}, '" and & escaped');
like($b, qr{>caf\xc3\xa9\.txt</a>}, 'UTF-8 kept as text');
like($b, qr{>sp ace\.txt</a>}, 'a space kept as text');
like($b, qr{<a href="adir/">adir/</a> {45} 14-Nov-2023 22:13                   -\r\n},
     'a directory line: padded to 50, date, "-"');
like($b, qr{<a href="b\.txt">b\.txt</a> {45} 14-Nov-2023 22:13                   5\r\n},
     'a file line: exact size');
like($b, qr{>n{47}\.\.&gt;</a> }, 'a name over 50 characters is shortened');
like($b, qr{>caf\xc3\xa9\.txt</a> {42} }, 'UTF-8 padded by characters');

like(http_get($f->port(0), '/xss/%3Cb%3E%22x/')->{body},
     qr{<title>Index of /xss/&lt;b&gt;&quot;x/</title>.*<h1>Index of /xss/&lt;b&gt;&quot;x/</h1>}s,
     'the path in the title and heading escaped');
like(http_get($f->port(0), '/xss/')->{body}, qr{<a href="%3Cb%3E%22x/">&lt;b&gt;&quot;x/</a>},
     'a directory name escaped');

$r = http_get($f->port(0), '/list');
is($r->{status}, 301, 'no trailing slash: 301');
like($r->{headers}{location}, qr{/list/$}, '... to the slash');

is(http_get($f->port(0), '/withindex/')->{body}, "the index\n",
   'an index file wins');
is(http_get($f->port(0), '/off/')->{status}, 403, 'autoindex off: 403');
like(http_get($f->port(0), '/al/')->{body}, qr{<a href="b\.txt">}, 'alias');
like(http_get($f->port(0), '/list/adir/')->{body}, qr{<a href="f">f</a>},
     'a subdirectory');

$r = http($f->port(0), build_request(method => 'HEAD', path => '/list/',
                                     headers => [Connection => 'close']),
          head => 1);
is($r->{status}, 200, 'HEAD: 200');
is($r->{body}, '', 'HEAD: no body');

$b = http_get($f->port(0), '/rounded/')->{body};
like($b, qr{>big</a> +\S+ \d\d:\d\d {6}2M\r\n}, 'rounded: 1.5M is 2M');
like($b, qr{>ten-k</a> +\S+ \d\d:\d\d {5}10K\r\n}, 'rounded: 10000 is 10K');
like($b, qr{>small</a> +\S+ \d\d:\d\d {4}9999\r\n}, 'rounded: 9999 in bytes');

$r = http_get($f->port(0), '/xml/');
like($r->{headers}{'content-type'}, qr{^text/xml}, 'xml: text/xml');
is($r->{body}, qq{<?xml version="1.0"?>\r\n<list>\r\n}
   . qq{<directory mtime="2023-11-14T22:13:20Z">sub&quot;dir</directory>\r\n}
   . qq{<file mtime="2023-11-14T22:13:20Z" size="3">file.txt</file>\r\n}
   . qq{</list>\r\n}, 'xml');

$r = http_get($f->port(0), '/json/');
like($r->{headers}{'content-type'}, qr{^application/json}, 'json: application/json');
is($r->{body}, qq{[\r\n}
   . qq{{ "name":"sub\\"dir", "type":"directory", "mtime":"Tue, 14 Nov 2023 22:13:20 GMT" },\r\n}
   . qq{{ "name":"file.txt", "type":"file", "mtime":"Tue, 14 Nov 2023 22:13:20 GMT", "size":3 }\r\n}
   . qq{]}, 'json (no line end after the last line, as nginx)');

$r = http_get($f->port(0), '/jsonp/?callback=my.cb_1');
like($r->{headers}{'content-type'}, qr{^application/javascript}, 'jsonp: javascript');
like($r->{body}, qr{^/\* callback \*/\r\nmy\.cb_1\(\[\r\n.*"name":"file\.txt".*\]\);$}s,
     'jsonp: wrapped, after nginx\'s comment line');
is(http_get($f->port(0), '/jsonp/?callback=alert(1)')->{status}, 400,
   'jsonp: a callback that is no name: 400');
is(http_get($f->port(0), '/jsonp/?callback=' . ('a' x 129))->{status}, 400,
   'jsonp: a callback too long: 400');
like(http_get($f->port(0), '/jsonp/')->{body}, qr{^\[\r\n}, 'jsonp without callback: plain JSON');

$f->stop;

server_conf_refused('autoindex maybe;', 'in \S+ferry.conf:8', 'autoindex not on/off');
server_conf_refused('autoindex_format yaml;', 'in \S+ferry.conf:8', 'an unknown format');
server_conf_refused("autoindex on;\n        autoindex off;", 'is duplicate in \S+ferry.conf:9', 'autoindex twice');

done_testing;
