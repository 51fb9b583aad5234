#!/usr/bin/perl

# Byte ranges of responses the charset module recodes, as nginx serves
# them: a recoding between two single-byte charsets (koi8-r to
# windows-1251 with charset_map) moves no byte, so a Range gets a 206
# of the recoded bytes (one range, several as multipart/byteranges,
# If-Range with the strong ETag), and the response keeps Accept-Ranges
# and its ETag: a static file (sendfile on and off), a proxied response
# with proxy_force_ranges, and an upstream's own 206.  A recoding to
# UTF-8 changes the length: the whole 200 still, without Accept-Ranges.

use strict;
use warnings;
use utf8;

use Test::More;
use Ferry::Test;
use Encode qw(encode);

my $text = "Привет, мир! abc 0123456789 Съешь же ещё этих мягких булок\n";
my $koi = encode('koi8-r', $text x 20);
my $win = encode('cp1251', $text x 20);
my $len = length $koi;

my $f = Ferry::Test->new(conf => main_conf() . <<'EOF');
worker_processes 1;
events { worker_connections 64; }
http {
    include maps.conf;
    upstream be { server 127.0.0.1:%%PORT_1%%; }
    proxy_cache_path %%PREFIX%%/cache keys_zone=cz:1m;
    types { text/plain txt; }
    server {
        listen 127.0.0.1:%%PORT_0%%;
        root %%PREFIX%%/html;

        location /k2w/ { charset windows-1251; source_charset koi8-r;
                         location /k2w/nosf/ { sendfile off; } }
        location /k2u/ { charset utf-8; source_charset koi8-r; }
        location /upw/ { charset windows-1251; source_charset koi8-r;
                         proxy_pass http://be; proxy_force_ranges on; }
        location /upown/ { charset windows-1251; source_charset koi8-r;
                           proxy_pass http://be; }
        location /upu/ { charset utf-8; source_charset koi8-r;
                         proxy_pass http://be; proxy_force_ranges on; }
        location /upc/ { charset windows-1251; source_charset koi8-r;
                         proxy_pass http://be; proxy_cache cz;
                         proxy_cache_valid 200 1h;
                         add_header X-C $upstream_cache_status; }
        location /upcu/ { charset utf-8; source_charset koi8-r;
                          proxy_pass http://be; proxy_cache cz;
                          proxy_cache_valid 200 1h;
                          add_header X-C $upstream_cache_status; }
    }
}
EOF
$f->write_file('conf/maps.conf', charset_map_block('koi8-r', 'utf-8')
                                 . charset_map_block('koi8-r', 'cp1251', 'windows-1251'));
$f->write_file("html/$_/k.txt", $koi) for qw(k2w k2w/nosf k2u);

# the backend: its koi8-r body whole (200); under /upown/ it serves a
# Range itself (206 with Content-Range), as a file server does
my $be = Ferry::Test::Backend->new(port => $f->port(1), handler => sub {
    my ($req) = @_;
    my ($range) = map { $_->[1] } grep { lc $_->[0] eq 'range' } @{ $req->{headers} };
    my @h = ('Content-Type' => 'text/plain', 'ETag' => '"up-1"',
             'Accept-Ranges' => 'bytes');
    if ($req->{uri} =~ m{^/upown/} && $range && $range =~ /^bytes=(\d+)-(\d+)$/) {
        return { status => 206, reason => 'Partial Content',
                 headers => [@h, 'Content-Range' => "bytes $1-$2/$len"],
                 body => substr($koi, $1, $2 - $1 + 1) };
    }
    return { status => 200, headers => \@h, body => $koi };
});
$f->start or BAIL_OUT('ferry did not start');

# The parts of a multipart/byteranges body: [type, start, end, total, data].
sub parts {
    my ($r) = @_;
    my ($b) = ($r->{headers}{'content-type'} // '')
              =~ m{^multipart/byteranges; boundary=(\S+)$} or return [];
    my @p;
    for my $part (split /\r\n--\Q$b\E(?:--)?\r\n/, $r->{body}) {
        next if $part eq '';
        my ($head, $data) = split /\r\n\r\n/, $part, 2;
        my ($type) = $head =~ /^Content-Type: ([^\r\n]*)/mi;
        my ($s, $e, $t) = $head =~ m{^Content-Range: bytes (\d+)-(\d+)/(\d+)\r?$}mi;
        push @p, [$type, $s, $e, $t, $data];
    }
    return \@p;
}

# ---- a static file ---------------------------------------------------------
for my $loc ('/k2w/k.txt', '/k2w/nosf/k.txt') {
    my $r = http_get($f->port(0), $loc);
    is($r->{status}, 200, "$loc: a single-byte recoding");
    ok($r->{body} eq $win, '... recoded');
    is($r->{headers}{'accept-ranges'}, 'bytes', '... Accept-Ranges kept, as nginx');
    like($r->{headers}{etag} // '', qr/^"/, '... its ETag strong, as nginx');
    my $etag = $r->{headers}{etag};

    $r = http_get($f->port(0), $loc, Range => 'bytes=10-49');
    is($r->{status}, 206, '... a Range: 206');
    is($r->{headers}{'content-range'}, "bytes 10-49/$len", '... Content-Range');
    is($r->{headers}{'content-length'}, 40, '... Content-Length');
    is($r->{headers}{'content-type'}, 'text/plain; charset=windows-1251', '... marked');
    ok($r->{body} eq substr($win, 10, 40), '... the recoded bytes of the range');

    $r = http_get($f->port(0), $loc, Range => "bytes=-30");
    ok($r->{status} == 206 && $r->{body} eq substr($win, -30), '... a suffix range');

    $r = http_get($f->port(0), $loc, Range => 'bytes=0-1', 'If-Range' => $etag);
    ok($r->{status} == 206 && $r->{body} eq substr($win, 0, 2),
       '... If-Range with the strong ETag: the range');

    $r = http_get($f->port(0), $loc, Range => 'bytes=0-5,100-119');
    is($r->{status}, 206, '... two ranges: 206');
    my $p = parts($r);
    is(scalar @$p, 2, '... multipart/byteranges, two parts');
    ok(@$p == 2
       && $p->[0][0] eq 'text/plain; charset=windows-1251'
       && "$p->[0][1]-$p->[0][2]/$p->[0][3]" eq "0-5/$len"
       && $p->[0][4] eq substr($win, 0, 6)
       && "$p->[1][1]-$p->[1][2]/$p->[1][3]" eq "100-119/$len"
       && $p->[1][4] eq substr($win, 100, 20),
       '... each part marked, with its recoded bytes');

    $r = http_get($f->port(0), $loc, Range => "bytes=$len-");
    is($r->{status}, 416, '... a range past the end: 416');
}

my $r = http($f->port(0), build_request(method => 'HEAD', path => '/k2w/k.txt',
                                        headers => [Connection => 'close']), head => 1);
ok($r->{headers}{'accept-ranges'} && $r->{headers}{'content-length'} == $len,
   'HEAD: the GET\'s Accept-Ranges and length');

$r = http_get($f->port(0), '/k2u/k.txt', Range => 'bytes=10-49');
is($r->{status}, 200, 'a recoding to UTF-8 (the length changes): a Range gets 200');
ok($r->{body} eq encode('UTF-8', $text x 20), '... the whole body, recoded');
ok(!exists $r->{headers}{'accept-ranges'} && !exists $r->{headers}{'content-range'},
   '... no Accept-Ranges, no Content-Range');

# ---- proxied -----------------------------------------------------------------
$r = http_get($f->port(0), '/upw/x');
is($r->{headers}{'accept-ranges'}, 'bytes', 'proxied, proxy_force_ranges: Accept-Ranges');
is($r->{headers}{etag}, '"up-1"', '... the upstream\'s ETag as it is');
$r = http_get($f->port(0), '/upw/x', Range => 'bytes=10-49');
is($r->{status}, 206, '... a Range of a single-byte recoding: 206');
is($r->{headers}{'content-range'}, "bytes 10-49/$len", '... Content-Range');
is($r->{headers}{'content-length'}, 40, '... Content-Length');
is($r->{headers}{'content-type'}, 'text/plain; charset=windows-1251', '... marked');
ok($r->{body} eq substr($win, 10, 40), '... the recoded bytes of the range');
$r = http_get($f->port(0), '/upw/x', Range => 'bytes=1000-1099');
ok($r->{status} == 206 && $r->{body} eq substr($win, 1000, 100),
   '... a range further in (past the first pieces)');

$r = http_get($f->port(0), '/upown/x', Range => 'bytes=10-49');
is($r->{status}, 206, 'an upstream\'s own 206, single-byte recoding');
is($r->{headers}{'content-range'}, "bytes 10-49/$len", '... its Content-Range');
ok($r->{body} eq substr($win, 10, 40), '... the bytes recoded');
is($r->{headers}{'accept-ranges'}, 'bytes', '... its Accept-Ranges kept');
is($r->{headers}{etag}, '"up-1"', '... its ETag kept strong');

$r = http_get($f->port(0), '/upu/x', Range => 'bytes=10-49');
is($r->{status}, 200, 'proxied, recoded to UTF-8: a Range gets 200');
ok($r->{body} eq encode('UTF-8', $text x 20), '... the whole body, recoded');
ok(!exists $r->{headers}{'accept-ranges'} && !exists $r->{headers}{'content-range'},
   '... no Accept-Ranges, no Content-Range');
like($r->{headers}{etag} // '', qr{^W/}, '... its ETag weak (ferry; see configuration.md)');

# ---- proxy cache HITs ------------------------------------------------------------
$r = http_get($f->port(0), '/upc/x');
is($r->{headers}{'x-c'}, 'MISS', 'proxy_cache, single-byte recoding: a MISS');
ok($r->{body} eq $win, '... recoded');
$r = http_get($f->port(0), '/upc/x', Range => 'bytes=10-49');
is($r->{headers}{'x-c'}, 'HIT', '... then a HIT');
is($r->{status}, 206, '... a Range of the HIT: 206');
is($r->{headers}{'content-range'}, "bytes 10-49/$len", '... Content-Range');
is($r->{headers}{'content-length'}, 40, '... Content-Length');
is($r->{headers}{'content-type'}, 'text/plain; charset=windows-1251', '... marked');
ok($r->{body} eq substr($win, 10, 40), '... the recoded bytes of the range');
is($r->{headers}{etag}, '"up-1"', '... the stored ETag as it is');
$r = http_get($f->port(0), '/upc/x', Range => 'bytes=0-5,100-119');
my $p = parts($r);
ok($r->{status} == 206 && @$p == 2
   && $p->[0][0] eq 'text/plain; charset=windows-1251'
   && $p->[0][4] eq substr($win, 0, 6) && $p->[1][4] eq substr($win, 100, 20),
   '... two ranges of the HIT: multipart, each part marked and recoded');
http_get($f->port(0), '/upcu/x');
$r = http_get($f->port(0), '/upcu/x', Range => 'bytes=10-49');
is($r->{headers}{'x-c'}, 'HIT', 'a HIT recoded to UTF-8');
ok($r->{status} == 200 && $r->{body} eq encode('UTF-8', $text x 20),
   '... a Range gets the whole 200, recoded');

$f->stop;
done_testing;
