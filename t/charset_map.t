#!/usr/bin/perl

# charset_map and the recoding of response bodies (nginx's charset
# module): a koi8-r file served as UTF-8 and as windows-1251, UTF-8
# files served as koi8-r (characters without a byte become "&#N;",
# bytes that are no UTF-8 '?'), a map used backwards, bodies larger
# than a buffer, proxied responses (source_charset, override_charset on
# a response's own charset, a body chunked in pieces that cut UTF-8
# sequences), "return" answers, HEAD, gzip and sub_filter around it,
# the header (no Content-Length, a weak ETag, Last-Modified kept; a
# single-byte recoding keeps Content-Length, as nginx: static files,
# proxied responses, cache HITs), the
# files Debian's nginx ships, and configuration errors with file and
# line.  The maps are made here from Perl's Encode tables.

use strict;
use warnings;
use utf8;

use Test::More;
use Ferry::Test;
use Encode qw(encode decode);
use IO::Uncompress::Gunzip qw(gunzip $GunzipError);

my $text = "Привет, мир! abc\n";
my $koi = encode('koi8-r', $text);

my $conf = <<'EOF';
worker_processes 1;
events { worker_connections 64; }
http {
    include maps.conf;
    upstream be { server 127.0.0.1:%%PORT_1%%; }
    proxy_cache_path %%PREFIX%%/cache keys_zone=cz:1m;
    types { text/html html; text/plain txt; }
    server {
        listen 127.0.0.1:%%PORT_0%%;
        root %%PREFIX%%/html;

        location /k2u/ { charset utf-8; source_charset koi8-r;
                         location /k2u/sub/ { sub_filter abc XYZ; } }
        location /k2w/ { charset windows-1251; source_charset koi8-r; }
        location /w2k/ { charset koi8-r; source_charset windows-1251; }
        location /u2k/ { charset koi8-r; source_charset utf-8;
                         location /u2k/gz/ { gzip on; gzip_min_length 1;
                                             gzip_types text/plain; } }
        location /ret/ { charset utf-8; source_charset koi8-r;
                         default_type text/plain;
                         return 200 "%%KOI%%\n"; }
        location /up/ { charset utf-8; source_charset koi8-r;
                        proxy_pass http://be; }
        location /upov/ { charset utf-8; override_charset on;
                          proxy_pass http://be; }
        location /upkeep/ { charset utf-8; proxy_pass http://be; }
        location /upw/ { charset windows-1251; source_charset koi8-r;
                         proxy_pass http://be;
                         location /upw/cached/ { proxy_pass http://be;
                                                 proxy_cache cz;
                                                 proxy_cache_valid 200 1h;
                                                 add_header X-C $upstream_cache_status; }
                         location /upw/gz/ { proxy_pass http://be;
                                             gzip on; gzip_min_length 1;
                                             gzip_types text/plain; } }
        location /k2w/gz/ { charset windows-1251; source_charset koi8-r;
                            gzip on; gzip_min_length 1; }
    }
}
EOF
# the `return` text: koi8-r bytes (ferry reads them as they are)
$conf =~ s/%%KOI%%/$koi =~ s{\n}{}r/e;
my $f = Ferry::Test->new(conf => main_conf() . $conf);
# cp1251 is Encode's name; the configuration says windows-1251
$f->write_file('conf/maps.conf', charset_map_block('koi8-r', 'utf-8')
                                 . charset_map_block('koi8-r', 'cp1251', 'windows-1251'));

my $big = $text x 4000;                     # 68 KB: many buffers
my $utf = "Привет € ✓ 😀 abc\n";
$f->write_file("html/$_/k.html", $koi) for qw(k2u k2w k2u/sub k2w/gz);
$f->write_file('html/k2w/big.txt', encode('koi8-r', $big));
$f->write_file('html/k2u/big.txt', encode('koi8-r', $big));
$f->write_file('html/w2k/w.html', encode('cp1251', $text));
$f->write_file('html/u2k/u.html', encode('UTF-8', $utf));
$f->write_file('html/u2k/bad.html', "a\xffb\xd0");      # no UTF-8; cut at the end
$f->write_file('html/u2k/big.txt', encode('UTF-8', $utf x 3000));
$f->write_file('html/u2k/gz/u.txt', encode('UTF-8', $utf x 100));

my $be = Ferry::Test::Backend->new(port => $f->port(1), handler => sub {
    my ($req) = @_;
    my ($type) = $req->{uri} =~ /type=([^&]*)/;
    $type = $type ? $type =~ s/%20/ /gr =~ s/%3B/;/gir : 'text/html';
    my $body = $req->{uri} =~ /utf/ ? encode('UTF-8', $utf x 50)
             : encode('koi8-r', $text x 50);
    return { status => 200, body => $body,
             $req->{uri} =~ /len/ ? () : (mode => 'chunked', chunk_size => 7),
             headers => ['Content-Type' => $type] };
});
$f->allow_log(qr/no "charset_map"/);
$f->start or BAIL_OUT('ferry did not start');

my $r = http_get($f->port(0), '/k2u/k.html');
is($r->{status}, 200, 'koi8-r file served as utf-8');
is($r->{headers}{'content-type'}, 'text/html; charset=utf-8', '... marked utf-8');
is($r->{body}, encode('UTF-8', $text), '... its body in UTF-8');
ok(!exists $r->{headers}{'content-length'}, '... no Content-Length (its length changed)');
ok($r->{chunked}, '... chunked');
like($r->{headers}{etag} // '', qr/^W\//, '... the ETag weak');
ok(exists $r->{headers}{'last-modified'}, '... Last-Modified kept');

$r = http_get($f->port(0), '/k2u/big.txt');
is(length($r->{body}), length(encode('UTF-8', $big)), 'a 68 KB file: its length in UTF-8');
ok($r->{body} eq encode('UTF-8', $big), '... every byte');

$r = http_get($f->port(0), '/k2w/k.html');
is($r->{headers}{'content-type'}, 'text/html; charset=windows-1251',
   'koi8-r to windows-1251 (a single-byte map)');
is($r->{body}, encode('cp1251', $text), '... recoded');
is($r->{headers}{'content-length'}, length($koi),
   '... its Content-Length kept: the same length, as nginx');
ok(!$r->{chunked}, '... not chunked');
$r = http_get($f->port(0), '/k2w/big.txt');
is($r->{headers}{'content-length'}, length(encode('koi8-r', $big)), 'a 68 KB file: its length');
ok($r->{body} eq encode('cp1251', $big), '... every byte recoded');
my ($rs, $closed) = http_keepalive($f->port(0), [build_request(path => '/k2w/k.html'),
                                                 build_request(path => '/k2w/k.html')]);
is(scalar(grep { $_->{body} eq encode('cp1251', $text) } @$rs), 2,
   '... the connection kept for the next request');
$r = http($f->port(0), build_request(method => 'HEAD', path => '/k2w/k.html',
                                     headers => [Connection => 'close']), head => 1);
is($r->{headers}{'content-length'}, length($koi), '... a HEAD gets that length');
$r = http_get($f->port(0), '/k2w/gz/k.html', 'Accept-Encoding' => 'gzip');
is($r->{headers}{'content-encoding'}, 'gzip', '... compressed after recoding');
ok(!exists $r->{headers}{'content-length'}, '... then without a length');
gunzip(\$r->{body} => \my $k2w) or diag("gunzip: $GunzipError");
is($k2w, encode('cp1251', $text), '... the recoded bytes compressed');
$r = http_get($f->port(0), '/w2k/w.html');
is($r->{body}, $koi, 'windows-1251 to koi8-r: the same map backwards');

$r = http_get($f->port(0), '/u2k/u.html');
is($r->{headers}{'content-type'}, 'text/html; charset=koi8-r', 'utf-8 served as koi8-r');
is($r->{body}, encode('koi8-r', 'Привет') . ' &#8364; &#10003; &#128512; abc' . "\n",
   '... characters koi8-r lacks as "&#N;", the one past FFFF too');
$r = http_get($f->port(0), '/u2k/bad.html');
is($r->{body}, 'a?b?', 'bytes that are no UTF-8, and a sequence cut by the end: "?"');
$r = http_get($f->port(0), '/u2k/big.txt');
my $want = encode('koi8-r', 'Привет') . ' &#8364; &#10003; &#128512; abc' . "\n";
ok($r->{body} eq $want x 3000, 'a 78 KB UTF-8 file: every sequence across the buffers');

$r = http_get($f->port(0), '/u2k/gz/u.txt', 'Accept-Encoding' => 'gzip');
is($r->{headers}{'content-encoding'}, 'gzip', 'recoded and gzipped');
my $plain;
gunzip(\$r->{body} => \$plain) or diag("gunzip: $GunzipError");
ok(defined $plain && $plain eq $want x 100, '... recoding before compression');

$r = http_get($f->port(0), '/k2u/sub/k.html');
is($r->{body}, encode('UTF-8', "Привет, мир! XYZ\n"), 'sub_filter, then recoding');

$r = http($f->port(0), build_request(method => 'HEAD', path => '/k2u/k.html',
                                     headers => [Connection => 'close']), head => 1);
is($r->{status}, 200, 'HEAD');
is($r->{headers}{'content-type'}, 'text/html; charset=utf-8', '... marked');
ok(!exists $r->{headers}{'content-length'}, '... no Content-Length, as for the GET');

$r = http_get($f->port(0), '/ret/');
is($r->{body}, encode('UTF-8', $text), 'return: its text recoded');

# proxied
$r = http_get($f->port(0), '/up/?type=text/html');
is($r->{headers}{'content-type'}, 'text/html; charset=utf-8', 'proxied, source_charset koi8-r');
ok($r->{body} eq encode('UTF-8', $text x 50), '... recoded (chunks of 7 bytes from the backend)');
$r = http_get($f->port(0), '/upov/utf?type=text/plain;%20charset=utf-8');
ok($r->{body} eq encode('UTF-8', $utf x 50), 'override_charset, the same charset: as it is');
$r = http_get($f->port(0), '/upov/koi?type=text/html;%20charset=KOI8-R');
is($r->{headers}{'content-type'}, 'text/html; charset=utf-8',
   'override_charset on a response in koi8-r (any case)');
ok($r->{body} eq encode('UTF-8', $text x 50), '... recoded from its own charset');
$r = http_get($f->port(0), '/upov/koi?type=text/html;%20charset=iso-8859-5');
is($r->{headers}{'content-type'}, 'text/html; charset=iso-8859-5',
   'a charset no map knows: left as it is');
ok($r->{body} eq encode('koi8-r', $text x 50), '... its body too');
like($f->error_log, qr/\[error\] .*no "charset_map" between the charsets "iso-8859-5" and "utf-8"/,
     '... logged as nginx does');
$r = http_get($f->port(0), '/upkeep/koi?type=text/html;%20charset=koi8-r');
is($r->{headers}{'content-type'}, 'text/html; charset=koi8-r',
   'override_charset off: a response\'s own charset is kept');
ok($r->{body} eq encode('koi8-r', $text x 50), '... and its body');

$r = http_get($f->port(0), '/upw/len?type=text/html');
is($r->{headers}{'content-type'}, 'text/html; charset=windows-1251',
   'proxied with a length, koi8-r to windows-1251');
is($r->{headers}{'content-length'}, length($koi x 50), '... its Content-Length kept');
ok(!$r->{chunked} && $r->{body} eq encode('cp1251', $text x 50), '... the body recoded');
($rs, $closed) = http_keepalive($f->port(0), [build_request(path => '/upw/len1?type=text/html'),
                                              build_request(path => '/upw/len2?type=text/html')]);
is(scalar(grep { $_->{body} eq encode('cp1251', $text x 50) } @$rs), 2,
   '... the connection kept for the next request');
$r = http_get($f->port(0), '/upw/chunked?type=text/html');
ok($r->{chunked} && !exists $r->{headers}{'content-length'},
   'proxied chunked: chunked still (its length unknown)');
ok($r->{body} eq encode('cp1251', $text x 50), '... recoded');
$r = http_get($f->port(0), '/upw/gz/len?type=text/plain', 'Accept-Encoding' => 'gzip');
ok($r->{headers}{'content-encoding'} eq 'gzip' && !exists $r->{headers}{'content-length'},
   'proxied and gzipped after: no length');
gunzip(\$r->{body} => \my $upgz) or diag("gunzip: $GunzipError");
ok(defined $upgz && $upgz eq encode('cp1251', $text x 50), '... recoded, then compressed');
for my $try ('MISS', 'HIT') {
    $r = http_get($f->port(0), '/upw/cached/len?type=text/html');
    is($r->{headers}{'x-c'}, $try, "proxy_cache: a $try");
    is($r->{headers}{'content-length'}, length($koi x 50), '... the length kept');
    ok(!$r->{chunked} && $r->{body} eq encode('cp1251', $text x 50), '... the body recoded');
}

$f->stop;

# ---- the maps Debian's nginx ships -----------------------------------------------
SKIP: {
    skip 'no /etc/nginx/koi-utf (nginx-common)', 3
        unless -r '/etc/nginx/koi-utf' && -r '/etc/nginx/win-utf'
               && -r '/etc/nginx/koi-win';
    my $g = Ferry::Test->new(conf => main_conf() . <<'EOF');
worker_processes 1;
events { worker_connections 64; }
http {
    include /etc/nginx/koi-utf;
    include /etc/nginx/koi-win;
    include /etc/nginx/win-utf;
    types { text/html html; }
    server {
        listen 127.0.0.1:%%PORT_0%%;
        root %%PREFIX%%/html;
        charset utf-8;
        source_charset koi8-r;
    }
}
EOF
    $g->write_file("html/e.html", "\x80 \xc0");
    $g->start or BAIL_OUT('ferry did not start with Debian\'s maps');
    is(http_get($g->port(0), '/e.html')->{body}, encode('UTF-8', "€ ю"),
       'Debian\'s koi-utf: its euro sign, its small yu');
    $g->stop;
}

# ---- configuration errors ------------------------------------------------------
conf_refused("http {\n    charset_map koi8-r utf-8 { }\n    server {\n"
             . "        charset utf-8;\n        source_charset windows-1251;\n    }\n}\n",
             qr/\[emerg\] no "charset_map" between the charsets "windows-1251" and "utf-8" in .*ferry\.conf:9/,
             'source_charset without a map to charset');
http_conf_refused("charset_map a b {\n        80 90 91;\n    }",
                  'invalid parameters number in .*ferry\.conf:7', 'a line of three');
http_conf_refused("charset_map a b {\n        100 90;\n    }",
                  'invalid value "100" in .*ferry\.conf:7', 'a byte past FF');
http_conf_refused("charset_map a b {\n        80 zz;\n    }",
                  'invalid value "zz" in .*ferry\.conf:7', 'no hex');
http_conf_refused("charset_map a utf-8 {\n        80 C0;\n    }",
                  'invalid value "C0" in .*ferry\.conf:7', 'a UTF-8 value cut short');
http_conf_refused("charset_map a utf-8 {\n        80 F09F9880;\n    }",
                  'invalid value "F09F9880" in .*ferry\.conf:7',
                  'a code point past FFFF (nginx takes up to FFFF)');
http_conf_refused("charset_map a utf-8 {\n        80 C081;\n    }",
                  'invalid value "C081" in .*ferry\.conf:7', 'an overlong UTF-8 form');
http_conf_refused("charset_map koi8-r KOI8-R { }",
                  '"charset_map" between the same charsets "koi8-r" and "KOI8-R" in .*ferry\.conf:6',
                  'a map to itself');
http_conf_refused("charset_map a b { }\n    charset_map B A { }",
                  'duplicate "charset_map" between "B" and "A" in .*ferry\.conf:7',
                  'a second map between the same two');
http_conf_refused("charset_map utf-8 koi8-r { }",
                  '"utf-8" must be the second charset of "charset_map" in .*ferry\.conf:6',
                  'utf-8 first');
server_conf_refused('charset_map a b { }',
                    '"charset_map" directive is not allowed here in .*ferry\.conf:8',
                    'charset_map in a server');

done_testing;
