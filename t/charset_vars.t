#!/usr/bin/perl

# "charset $var" and an upstream's X-Accel-Charset (nginx's charset
# module): the charset a response is marked with and recoded to comes
# from a map per request (empty: none; not a token: none, logged), the
# charset it is recoded from too ("source_charset $var"), or
# from the upstream's field, over the location's "charset" and even
# with "charset off", for any type, when the configuration names that
# charset (else logged, "unknown charset ... to override"); the field
# itself never reaches the client and proxy_ignore_headers turns it
# off.  A proxy cache HIT keeps the field's effect: the entry holds it,
# and the HIT is marked and recoded as the response was (nginx reads
# its stored header again), unless the location answering ignores it.
# Configuration errors with file and line.

use strict;
use warnings;
use utf8;

use Test::More;
use Ferry::Test;
use Encode qw(encode decode);

my $text = "Привет, мир! abc\n";
my $koi = encode('koi8-r', $text);

my $f = Ferry::Test->new(conf => main_conf() . <<'EOF');
worker_processes 1;
events { worker_connections 64; }
http {
    include maps.conf;
    map $arg_cs $cs {
        default  utf-8;
        w        windows-1251;
        k        KOI8-R;
        none     "";
        bad      "a;b";
    }
    map $arg_src $src {
        default  koi8-r;
        w        cp1251;
        u        UTF-8;
        none     "";
        iso      iso-8859-5;
    }
    upstream be { server 127.0.0.1:%%PORT_1%%; }
    proxy_cache_path %%PREFIX%%/cache keys_zone=cz:1m;
    types { text/html html; text/plain txt; }
    server {
        listen 127.0.0.1:%%PORT_0%%;
        root %%PREFIX%%/html;

        location /v/ { charset $cs; source_charset koi8-r; }
        location /a/ { charset $arg_c; }
        location /sv/ { charset utf-8; source_charset $src; }
        location /both/ { charset $cs; source_charset $src; }
        location /in/ { charset $cs; source_charset koi8-r;
                        location /in/off/ { charset off; } }
        location /up/ { proxy_pass http://be; }
        location /upv/ { charset utf-8; source_charset koi8-r;
                         proxy_pass http://be; }
        location /upign/ { proxy_ignore_headers X-Accel-Charset;
                           proxy_pass http://be; }
        location /upc/ { proxy_cache cz; proxy_cache_valid 200 10m;
                         proxy_cache_key $args;
                         add_header X-Cache $upstream_cache_status;
                         proxy_pass http://be; }
        location /upcign/ { proxy_cache cz; proxy_cache_valid 200 10m;
                            proxy_cache_key $args;
                            proxy_ignore_headers X-Accel-Charset;
                            add_header X-Cache $upstream_cache_status;
                            proxy_pass http://be; }
    }
}
EOF
$f->write_file('conf/maps.conf', charset_map_block('koi8-r', 'utf-8')
                                 . charset_map_block('koi8-r', 'cp1251', 'windows-1251')
                                 . charset_map_block('cp1251', 'utf-8'));
$f->write_file("html/$_/k.html", $koi) for qw(v a in in/off sv both);
$f->write_file("html/sv/w.html", encode('cp1251', $text));
$f->write_file("html/sv/u.html", encode('UTF-8', $text));

my $be = Ferry::Test::Backend->new(port => $f->port(1), handler => sub {
    my ($req) = @_;
    my ($type) = $req->{uri} =~ /type=([^&]*)/;
    $type = $type ? $type =~ s/%20/ /gr =~ s/%3B/;/gir : 'text/html';
    my ($xa) = $req->{uri} =~ /xa=([^&]*)/;
    return { status => 200, body => $koi x 20,
             headers => ['Content-Type' => $type,
                         defined $xa ? ('X-Accel-Charset' => $xa) : ()] };
});
$f->allow_log(qr/invalid charset name "a;b"|unknown charset "iso-8859-5" to override|no "charset_map" between the charsets "iso-8859-5" and "utf-8"/);
$f->start or BAIL_OUT('ferry did not start');

# ---- charset $var ----------------------------------------------------------------
my $r = http_get($f->port(0), '/v/k.html');
is($r->{headers}{'content-type'}, 'text/html; charset=utf-8', 'charset $var: the map\'s default');
is($r->{body}, encode('UTF-8', $text), '... recoded from koi8-r to it');
$r = http_get($f->port(0), '/v/k.html?cs=w');
is($r->{headers}{'content-type'}, 'text/html; charset=windows-1251',
   'another value, another charset');
is($r->{body}, encode('cp1251', $text), '... recoded with the other map');
$r = http_get($f->port(0), '/v/k.html?cs=k');
is($r->{headers}{'content-type'}, 'text/html; charset=KOI8-R',
   'the source charset (any case): marked with the value as it is');
is($r->{body}, $koi, '... not recoded');
$r = http_get($f->port(0), '/v/k.html?cs=none');
is($r->{headers}{'content-type'}, 'text/html', 'an empty value: no charset');
is($r->{body}, $koi, '... nor recoding');
$r = http_get($f->port(0), '/v/k.html?cs=bad');
is($r->{headers}{'content-type'}, 'text/html', 'a value that is no token: no charset');
like($f->error_log, qr/\[error\] .*invalid charset name "a;b" of "charset \$cs"/, '... logged');
$r = http_get($f->port(0), '/a/k.html?c=iso-8859-5');
is($r->{headers}{'content-type'}, 'text/html; charset=iso-8859-5',
   'no source_charset: any name marks, as in nginx');
is($r->{body}, $koi, '... the body as it is');
$r = http_get($f->port(0), '/in/k.html?cs=w');
is($r->{body}, encode('cp1251', $text), 'charset $var inherited by a location');
$r = http_get($f->port(0), '/in/off/k.html?cs=w');
is($r->{headers}{'content-type'}, 'text/html', '... and turned off in a deeper one');

# ---- source_charset $var ---------------------------------------------------------
$r = http_get($f->port(0), '/sv/k.html');
is($r->{headers}{'content-type'}, 'text/html; charset=utf-8', 'source_charset $var: koi8-r');
is($r->{body}, encode('UTF-8', $text), '... recoded from it');
$r = http_get($f->port(0), '/sv/w.html?src=w');
is($r->{body}, encode('UTF-8', $text), 'another value: recoded from cp1251 with its map');
$r = http_get($f->port(0), '/sv/u.html?src=u');
is($r->{headers}{'content-type'}, 'text/html; charset=utf-8', 'the charset itself (any case): marked');
is($r->{body}, encode('UTF-8', $text), '... not recoded');
$r = http_get($f->port(0), '/sv/k.html?src=none');
is($r->{headers}{'content-type'}, 'text/html; charset=utf-8', 'an empty value: as off, marked');
is($r->{body}, $koi, '... not recoded');
$r = http_get($f->port(0), '/sv/k.html?src=iso');
is($r->{headers}{'content-type'}, 'text/html', 'a value no map joins to the charset: left alone');
like($f->error_log, qr/\[error\] .*no "charset_map" between the charsets "iso-8859-5" and "utf-8"/,
     '... logged');
$r = http_get($f->port(0), '/both/k.html?cs=w');
is($r->{body}, encode('cp1251', $text), 'both from variables: koi8-r to windows-1251');

# ---- X-Accel-Charset -------------------------------------------------------------
$r = http_get($f->port(0), '/up/?xa=windows-1251');
is($r->{headers}{'content-type'}, 'text/html; charset=windows-1251',
   'X-Accel-Charset with charset off: marked');
is($r->{body}, $koi x 20, '... not recoded (no source charset)');
ok(!exists $r->{headers}{'x-accel-charset'}, '... the field not passed on');
is($r->{headers}{'content-length'}, length($koi x 20), '... its length kept');
$r = http_get($f->port(0), '/up/?xa=utf-8&type=text/html;%20charset=koi8-r');
is($r->{headers}{'content-type'}, 'text/html; charset=utf-8',
   'X-Accel-Charset over the response\'s own charset');
ok($r->{body} eq encode('UTF-8', $text x 20), '... recoded from it');
$r = http_get($f->port(0), '/up/?xa=utf-8&type=image/x-koi');
is($r->{headers}{'content-type'}, 'image/x-koi; charset=utf-8',
   '... for any type (nginx tests no charset_types then)');
$r = http_get($f->port(0), '/upv/?xa=windows-1251');
is($r->{headers}{'content-type'}, 'text/html; charset=windows-1251',
   'X-Accel-Charset over the location\'s charset');
ok($r->{body} eq encode('cp1251', $text x 20), '... recoded from source_charset to it');
$r = http_get($f->port(0), '/upv/?xa=iso-8859-5');
is($r->{headers}{'content-type'}, 'text/html', 'a charset the configuration does not name: ignored');
ok($r->{body} eq $koi x 20, '... its body as it is');
like($f->error_log, qr/\[error\] .*unknown charset "iso-8859-5" to override/,
     '... logged as nginx does');
$r = http_get($f->port(0), '/upign/?xa=utf-8');
is($r->{headers}{'content-type'}, 'text/html', 'proxy_ignore_headers X-Accel-Charset');
ok(!exists $r->{headers}{'x-accel-charset'}, '... the field still not passed on');
$r = http_get($f->port(0), '/upv/');
ok($r->{body} eq encode('UTF-8', $text x 20), 'no X-Accel-Charset: the location\'s charset');

# ---- X-Accel-Charset and the proxy cache --------------------------------------------
for my $hit ('MISS', 'HIT') {
    $r = http_get($f->port(0), '/upc/?xa=utf-8&type=text/html;%20charset=koi8-r');
    is($r->{headers}{'x-cache'}, $hit, "proxy_cache: $hit");
    is($r->{headers}{'content-type'}, 'text/html; charset=utf-8',
       '... marked with X-Accel-Charset\'s charset');
    ok($r->{body} eq encode('UTF-8', $text x 20), '... recoded from the stored charset');
    ok(!exists $r->{headers}{'x-accel-charset'}, '... the field not passed on');
}
for my $hit ('MISS', 'HIT') {
    $r = http_get($f->port(0), '/upc/?xa=windows-1251');
    is($r->{headers}{'x-cache'}, $hit, "no source charset: $hit");
    is($r->{headers}{'content-type'}, 'text/html; charset=windows-1251', '... marked');
    is($r->{body}, $koi x 20, '... not recoded');
    is($r->{headers}{'content-length'}, length($koi x 20), '... its length kept');
}
$r = http_get($f->port(0), '/upcign/?xa=utf-8&type=text/html;%20charset=koi8-r');
is($r->{headers}{'x-cache'}, 'HIT',
   'the same entry HIT where proxy_ignore_headers X-Accel-Charset');
is($r->{headers}{'content-type'}, 'text/html; charset=koi8-r', '... its stored type');
is($r->{body}, $koi x 20, '... not recoded');
ok(!exists $r->{headers}{'x-accel-charset'}, '... the stored field not passed on');

$f->stop;

# ---- configuration errors --------------------------------------------------------
server_conf_refused('charset $no_such_variable;',
                    'unknown "no_such_variable" variable in .*ferry\.conf:8',
                    'charset with an unknown variable');

done_testing;
