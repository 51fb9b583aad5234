#!/usr/bin/perl
# ranges.t -- several byte ranges in one request, as nginx's range
# filter serves them: a 206 multipart/byteranges body (each part's
# Content-Type and Content-Range, the boundary, the length said in
# advance), max_ranges, 416 for a set none of which can be satisfied
# and for a malformed one (as nginx's ngx_http_range_parse), If-Range,
# HEAD, sendfile off, TLS; the same for a proxy cache HIT; and
# proxy_force_ranges' 416 and its single range.

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
        text/plain  txt;
        application/octet-stream bin;
    }
    default_type application/octet-stream;
    proxy_cache_path cache levels=1:2 keys_zone=one:1m;

    server {
        listen 127.0.0.1:%%PORT_0%%;
        root html;

        location /m1/ { alias html/; max_ranges 1; }
        location /m2/ { alias html/; max_ranges 2; }
        location /m0/ { alias html/; max_ranges 0; }
        location /nosf/ { alias html/; sendfile off; }
        location /cs/ { alias html/; charset utf-8; }
        location /tr/ { alias html/; add_trailer X-T done; }
        location /fr/ {
            proxy_pass http://127.0.0.1:%%PORT_2%%/;
            proxy_force_ranges on;
        }
        location /c/ {
            proxy_pass http://127.0.0.1:%%PORT_2%%/;
            proxy_cache one;
            proxy_cache_valid 200 10m;
            add_header X-Cache $upstream_cache_status always;
        }
        location /cm1/ {
            proxy_pass http://127.0.0.1:%%PORT_2%%/;
            proxy_cache one;
            proxy_cache_valid 200 10m;
            max_ranges 1;
            add_header X-Cache $upstream_cache_status always;
        }
    }
    server {
        listen 127.0.0.1:%%PORT_1%% ssl;
        ssl_certificate t.crt;
        ssl_certificate_key t.key;
        root html;
    }
}
EOF
sh('cd ' . $f->prefix . '/conf && openssl req -x509 -newkey ec'
   . ' -pkeyopt ec_paramgen_curve:P-256 -nodes -keyout t.key -out t.crt'
   . " -days 2 -subj /CN=a.test 2>/dev/null");

my $port = $f->port(0);
my ($rr, $closed);

# files whose every byte says where it is
my $bin = join '', map { chr(($_ * 7 + ($_ >> 8)) & 255) } 0 .. 3 * 1024 * 1024 - 1;
my $txt = join '', map { sprintf "%07d\n", $_ } 0 .. 999;      # 8000 bytes
$f->write_file('html/big.bin', $bin);
$f->write_file('html/t.txt', $txt);
$f->write_file('html/empty.txt', '');

# a backend for proxy_force_ranges: the text with a length, no ranges
my $be = $f->port(2);
tcp_server($be, sub {
    my ($c) = @_;
    my $req = '';
    while (sysread $c, $req, 4096, length $req) {
        last if $req =~ /\r\n\r\n/;
    }
    print $c "HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\n"
             . "Content-Length: " . length($txt) . "\r\n"
             . "ETag: \"up1\"\r\nConnection: close\r\n\r\n$txt";
});

$f->start;

# The parts of a multipart/byteranges response, read as a client would:
# a list of { type, start, end, total, data }, or a string saying what
# is wrong with it.
sub parts {
    my ($r) = @_;
    my $ct = $r->{headers}{'content-type'} // '';
    return "Content-Type is \"$ct\""
        unless $ct =~ m{^multipart/byteranges; boundary=(\d{20})$};
    my $b = $1;
    my $body = $r->{body};
    return 'Content-Length is not the body\'s'
        unless $r->{chunked}
               || ($r->{headers}{'content-length'} // -1) == length $body;
    my @p;
    my $at = 0;
    while (1) {
        if (substr($body, $at) eq "\r\n--$b--\r\n") {
            return @p ? \@p : 'no parts';
        }
        return "no boundary at $at"
            unless substr($body, $at, length("\r\n--$b\r\n")) eq "\r\n--$b\r\n";
        $at += length "\r\n--$b\r\n";
        my $e = index $body, "\r\n\r\n", $at;
        return "no end of a part's header at $at" if $e < 0;
        my %h;
        my @order;
        for my $l (split /\r\n/, substr($body, $at, $e - $at)) {
            return "bad part header line \"$l\"" unless $l =~ /^([^:]+): (.*)$/;
            $h{lc $1} = $2;
            push @order, $1;
        }
        $at = $e + 4;
        return "bad Content-Range \"" . ($h{'content-range'} // '') . '"'
            unless ($h{'content-range'} // '') =~ m{^bytes (\d+)-(\d+)/(\d+)$};
        my ($s, $en, $t) = ($1, $2, $3);
        push @p, { type => $h{'content-type'}, start => $s, end => $en,
                   total => $t, names => join(',', @order),
                   data => substr($body, $at, $en - $s + 1) };
        $at += $en - $s + 1;
    }
}

# check a multipart answer against [start, end] pairs of $data
sub check_parts {
    my ($r, $data, $type, $want, $name) = @_;
    is($r->{status}, 206, "$name: 206");
    ok(!exists $r->{headers}{'content-range'}, "$name: no Content-Range of its own");
    ok(!exists $r->{headers}{'accept-ranges'}, "$name: no Accept-Ranges");
    my $p = parts($r);
    if (!ref $p) {
        fail("$name: multipart body: $p");
        return;
    }
    is(scalar @$p, scalar @$want, "$name: " . scalar(@$want) . ' parts');
    for my $i (0 .. $#$want) {
        my ($s, $e) = @{ $want->[$i] };
        my $q = $p->[$i] // {};
        my $ok = ($q->{names} // '') eq ($type eq '' ? 'Content-Range'
                                           : 'Content-Type,Content-Range')
            && ($q->{type} // '') eq $type
            && $q->{start} == $s && $q->{end} == $e
            && $q->{total} == length($data)
            && $q->{data} eq substr($data, $s, $e - $s + 1);
        ok($ok, "$name: part $i is bytes $s-$e of " . length($data)
                . ", $type")
            or diag(explain({ %$q, data => length($q->{data} // '') }));
    }
}

my $r;

# ---- several ranges of a text file ----
$r = http_get($port, '/t.txt', Range => 'bytes=0-7,16-23,7992-');
check_parts($r, $txt, 'text/plain', [[0, 7], [16, 23], [7992, 7999]],
            'three ranges');
like($r->{raw}, qr/\r\n\r\n\r\n--\d{20}\r\nContent-Type: text\/plain\r\n/,
     '... the body starts with CRLF and the first boundary');
like($r->{headers}{'etag'} // '', qr/^"/, '... the file\'s ETag');
ok($r->{headers}{'last-modified'}, '... and Last-Modified');

# the boundary changes from answer to answer
my $r2 = http_get($port, '/t.txt', Range => 'bytes=0-7,16-23,7992-');
isnt($r2->{headers}{'content-type'}, $r->{headers}{'content-type'},
     'another answer, another boundary');

# suffix ranges, unsorted, overlapping (in all not more than the file)
$r = http_get($port, '/t.txt', Range => 'bytes=-8, 100-107,0-3 , 2-5');
check_parts($r, $txt, 'text/plain', [[7992, 7999], [100, 107], [0, 3],
                                     [2, 5]],
            'suffix, unsorted and overlapping, in the order asked');

# ranges past the end are left out; one left: a plain 206
$r = http_get($port, '/t.txt', Range => 'bytes=10-19,9000-,20000-20001');
is($r->{status}, 206, 'one satisfiable range of three: 206');
is($r->{headers}{'content-range'}, 'bytes 10-19/8000', '... its Content-Range');
is($r->{body}, substr($txt, 10, 10), '... its bytes');
like($r->{headers}{'content-type'}, qr{^text/plain}, '... the file\'s type');

$r = http_get($port, '/t.txt', Range => 'bytes=10-19,9000-,20-29');
check_parts($r, $txt, 'text/plain', [[10, 19], [20, 29]],
            'two of three satisfiable');

# none satisfiable: 416 with the length
$r = http_get($port, '/t.txt', Range => 'bytes=8000-,9000-9010,-0');
is($r->{status}, 416, 'no range satisfiable: 416');
is($r->{headers}{'content-range'}, 'bytes */8000', '... Content-Range bytes */8000');

# more bytes than the file (overlaps): the whole file, as nginx
$r = http_get($port, '/t.txt', Range => 'bytes=0-5999,2000-7999');
is($r->{status}, 200, 'ranges longer than the file in all: 200');
is($r->{body}, $txt, '... the whole file');

# malformed anywhere: 416 with the length, as nginx's range filter
# answers (ngx_http_range_parse), the connection kept
for my $v ('bytes=abc', 'bytes=-', 'bytes=5-2', 'bytes=0-1,x-3',
           'bytes=0-1,', 'bytes=0-1,,4-5', 'bytes=1-2x', 'bytes=- 5',
           'bytes=99999999999999999999-', 'bytes=0-1;4-5')
{
    $r = http_get($port, '/t.txt', Range => $v);
    is($r->{status}, 416, "\"$v\": 416");
    is($r->{headers}{'content-range'}, 'bytes */8000',
       "... Content-Range bytes */8000");
}
($rr, $closed) = http_keepalive($port, [
    build_request(path => '/t.txt', headers => [Range => 'bytes=abc']),
    build_request(path => '/t.txt', headers => [Range => 'bytes=1-2']),
]);
is($rr->[0]{status}, 416, 'a malformed Range on a kept connection: 416');
like($rr->[0]{body}, qr/416 Requested Range Not Satisfiable/,
     '... nginx\'s error page');
is($rr->[1]{status}, 206, '... the next request answered after it');
is($rr->[1]{body}, substr($txt, 1, 2), '... its bytes');
# a reversed range in a list is left out, as one past the end
$r = http_get($port, '/t.txt', Range => 'bytes=0-1,5-3');
is($r->{status}, 206, 'a reversed range in the list: left out, 206');
is($r->{body}, substr($txt, 0, 2), '... the other one\'s bytes');
# spaces around a range's "-" are nginx's too
$r = http_get($port, '/t.txt', Range => 'bytes=4 - 5');
is($r->{status}, 206, 'spaces around "-": 206');
is($r->{body}, substr($txt, 4, 2), '... its bytes');
# not "bytes=...": ignored, the whole file
for my $v ('items=0-1', 'bytes=', 'bytes 0-1') {
    $r = http_get($port, '/t.txt', Range => $v);
    is($r->{status}, 200, "\"$v\": 200");
    is($r->{body}, $txt, '... the whole file');
}
# more ranges than max_ranges before a malformed one: the whole file
# (nginx stops reading at the one too many)
$r = http_get($port, '/m1/t.txt', Range => 'bytes=0-1,4-5,x');
is($r->{status}, 200, 'max_ranges 1, two ranges then garbage: 200');
$r = http_get($port, '/m1/t.txt', Range => 'bytes=0-1,x,4-5');
is($r->{status}, 416, 'max_ranges 1, garbage before the second: 416');
# an empty file: a range from 0 gets it whole (200), one past it 416
$r = http_get($port, '/empty.txt', Range => 'bytes=0-');
is($r->{status}, 200, 'an empty file, bytes=0-: 200');
$r = http_get($port, '/empty.txt', Range => 'bytes=-5');
is($r->{status}, 200, 'an empty file, bytes=-5: 200');
$r = http_get($port, '/empty.txt', Range => 'bytes=5-');
is($r->{status}, 416, 'an empty file, bytes=5-: 416');
is($r->{headers}{'content-range'}, 'bytes */0', '... Content-Range bytes */0');

# ---- max_ranges ----
$r = http_get($port, '/m1/t.txt', Range => 'bytes=0-1,4-5');
is($r->{status}, 200, 'max_ranges 1, two ranges: 200');
is($r->{body}, $txt, '... the whole file');
is($r->{headers}{'accept-ranges'}, 'bytes', '... with Accept-Ranges');
$r = http_get($port, '/m1/t.txt', Range => 'bytes=4-5');
is($r->{status}, 206, 'max_ranges 1, one range: 206');
is($r->{body}, substr($txt, 4, 2), '... its bytes');
$r = http_get($port, '/m1/t.txt', Range => 'bytes=4-5,9000-');
is($r->{status}, 206, 'max_ranges 1, one of two satisfiable: 206');
$r = http_get($port, '/m2/t.txt', Range => 'bytes=0-1,4-5');
check_parts($r, $txt, 'text/plain', [[0, 1], [4, 5]], 'max_ranges 2, two');
$r = http_get($port, '/m2/t.txt', Range => 'bytes=0-1,4-5,8-9');
is($r->{status}, 200, 'max_ranges 2, three: 200');
is($r->{body}, $txt, '... the whole file');
$r = http_get($port, '/m0/t.txt', Range => 'bytes=0-1,4-5');
is($r->{status}, 200, 'max_ranges 0, two: 200');
ok(!exists $r->{headers}{'accept-ranges'}, '... no Accept-Ranges');
$r = http_get($port, '/m0/t.txt', Range => 'bytes=9000-,9500-');
is($r->{status}, 200, 'max_ranges 0, none satisfiable: 200, not 416');

# ---- charset: in each part's type ----
$r = http_get($port, '/cs/t.txt', Range => 'bytes=0-3,8-11');
check_parts($r, $txt, 'text/plain; charset=utf-8', [[0, 3], [8, 11]],
            'charset');

# ---- add_trailer: the multipart body as one chunk, then the trailer ----
$r = http_get($port, '/tr/t.txt', Range => 'bytes=0-3,8-11');
ok($r->{chunked} && !exists $r->{headers}{'content-length'},
   'add_trailer: chunked');
check_parts($r, $txt, 'text/plain', [[0, 3], [8, 11]], 'add_trailer');
like($r->{raw}, qr/\r\n0\r\nX-T: done\r\n\r\n$/, '... the trailer after it');

# ---- If-Range ----
$r = http_get($port, '/t.txt');
my ($etag, $lm) = ($r->{headers}{etag}, $r->{headers}{'last-modified'});
$r = http_get($port, '/t.txt', Range => 'bytes=0-1,4-5', 'If-Range' => $etag);
check_parts($r, $txt, 'text/plain', [[0, 1], [4, 5]], 'If-Range: the ETag');
$r = http_get($port, '/t.txt', Range => 'bytes=0-1,4-5', 'If-Range' => $lm);
check_parts($r, $txt, 'text/plain', [[0, 1], [4, 5]], 'If-Range: the date');
$r = http_get($port, '/t.txt', Range => 'bytes=0-1,4-5',
              'If-None-Match' => $etag);
is($r->{status}, 304, 'If-None-Match that matches and two ranges: 304');
$r = http_get($port, '/t.txt', Range => 'bytes=0-1,4-5',
              'If-Range' => '"other"');
is($r->{status}, 200, 'If-Range of another ETag: 200');
is($r->{body}, $txt, '... the whole file');

# ---- HEAD: the header a GET gets, no body ----
$r = http($port, build_request(method => 'HEAD', path => '/t.txt',
                               headers => [Range => 'bytes=0-7,16-23',
                                           Connection => 'close']),
          head => 1, wait_close => 2);
is($r->{status}, 206, 'HEAD of two ranges: 206');
like($r->{headers}{'content-type'}, qr{^multipart/byteranges; boundary=\d{20}$},
     '... multipart');
# "\r\n--" BOUNDARY "\r\n" and the type line: 26 + 26; "Content-Range:
# bytes 0-7/8000" and "16-23/8000", each and an empty line: 33, 35; the
# 16 bytes; "\r\n--" BOUNDARY "--\r\n": 28
is($r->{headers}{'content-length'}, 52 + 33 + 52 + 35 + 16 + 28,
   '... its length');
is($r->{raw}, $r->{raw_head}, '... no body');
ok($r->{closed}, '... and the connection closed after the header');

# ---- a big file: sendfile, sendfile off, keep-alive after it ----
my @big = ([0, 99], [1048576, 2097151], [3 * 1048576 - 10, 3 * 1048576 - 1],
           [5, 5]);
my $rs = 'bytes=' . join ',', map { "$_->[0]-$_->[1]" } @big;
$r = http_get($port, '/big.bin', Range => $rs);
check_parts($r, $bin, 'application/octet-stream', \@big, 'big, sendfile');
$r = http_get($port, '/nosf/big.bin', Range => $rs);
check_parts($r, $bin, 'application/octet-stream', \@big, 'big, sendfile off');
($rr, $closed) = http_keepalive($port, [
    build_request(path => '/big.bin', headers => [Range => $rs]),
    build_request(path => '/t.txt', headers => [Range => 'bytes=1-2,5-6']),
    build_request(path => '/t.txt'),
]);
is(scalar @$rr, 3, 'keep-alive: three answers on one connection');
check_parts($rr->[0], $bin, 'application/octet-stream', \@big, 'keep-alive 1');
check_parts($rr->[1], $txt, 'text/plain', [[1, 2], [5, 6]], 'keep-alive 2');
is($rr->[2]{body}, $txt, 'keep-alive 3: the whole file after them');

# ---- TLS: the parts read and written through TLS ----
SKIP: {
    skip 'no IO::Socket::SSL', 6 unless eval { require IO::Socket::SSL };
    my $s = IO::Socket::SSL->new(PeerAddr => '127.0.0.1',
                                 PeerPort => $f->port(1),
                                 SSL_verify_mode => 0, Timeout => 10)
        or die "TLS connect: $IO::Socket::SSL::SSL_ERROR";
    print $s build_request(path => '/big.bin',
                           headers => [Range => $rs, Connection => 'close']);
    my $raw = '';
    while (1) {
        my $n = sysread $s, $raw, 65536, length $raw;
        last unless $n;
    }
    close $s;
    my $buf = $raw;
    my $t = parse_response(\$buf, eof => 1);
    check_parts($t, $bin, 'application/octet-stream', \@big, 'TLS');
}

# ---- proxy_force_ranges: an unsatisfiable Range is 416, as nginx ----
$r = http_get($port, '/fr/t.txt', Range => 'bytes=9000-');
is($r->{status}, 416, 'proxy_force_ranges, past the end: 416');
is($r->{headers}{'content-range'}, 'bytes */8000', '... Content-Range bytes */8000');
$r = http_get($port, '/fr/t.txt', Range => 'bytes=9000-,9500-');
is($r->{status}, 416, 'proxy_force_ranges, none of two satisfiable: 416');
$r = http_get($port, '/fr/t.txt', Range => 'bytes=10-19,9000-');
is($r->{status}, 206, 'proxy_force_ranges, one of two satisfiable: 206');
is($r->{body}, substr($txt, 10, 10), '... its bytes');
$r = http_get($port, '/fr/t.txt', Range => 'bytes=0-1,4-5');
is($r->{status}, 200, 'proxy_force_ranges, two ranges: the whole 200');
is($r->{body}, $txt, '... the whole body');
# malformed: 416 too (nginx's range filter); at most one range is read
# (nginx's upstream sets single_range), so garbage after a second one
# is not seen
for my $v ('bytes=abc', 'bytes=5-2', 'bytes=-', 'bytes=0-1,x') {
    $r = http_get($port, '/fr/t.txt', Range => $v);
    is($r->{status}, 416, "proxy_force_ranges, \"$v\": 416");
    is($r->{headers}{'content-range'}, 'bytes */8000',
       '... Content-Range bytes */8000');
}
$r = http_get($port, '/fr/t.txt', Range => 'bytes=0-1,4-5,x');
is($r->{status}, 200, 'proxy_force_ranges, two ranges then garbage: 200');
$r = http_get($port, '/fr/t.txt', Range => 'items=0-1');
is($r->{status}, 200, 'proxy_force_ranges, not "bytes=": 200');
is($r->{headers}{'accept-ranges'}, 'bytes', '... with Accept-Ranges');
$r = http_get($port, '/fr/t.txt', Range => 'bytes=9000-',
              'If-Range' => '"other"');
is($r->{status}, 200, 'proxy_force_ranges, If-Range of another ETag: 200');
$r = http_get($port, '/fr/t.txt');
is($r->{status}, 200, 'the backend still answers after a 416');

# ---- a proxy cache HIT: the stored body's ranges ----
$r = http_get($port, '/c/t.txt');
is($r->{headers}{'x-cache'}, 'MISS', 'cache: the first is a MISS');
$r = http_get($port, '/c/t.txt', Range => 'bytes=0-7,16-23,7992-');
is($r->{headers}{'x-cache'}, 'HIT', 'cache: then a HIT');
check_parts($r, $txt, 'text/plain', [[0, 7], [16, 23], [7992, 7999]],
            'cache HIT, three ranges');
is($r->{headers}{etag}, '"up1"', '... the stored ETag');
$r = http_get($port, '/c/t.txt', Range => 'bytes=20-29');
is($r->{status}, 206, 'cache HIT, one range: 206');
is($r->{body}, substr($txt, 20, 10), '... its bytes');
$r = http_get($port, '/c/t.txt', Range => 'bytes=9000-,9100-');
is($r->{status}, 416, 'cache HIT, none satisfiable: 416');
is($r->{headers}{'content-range'}, 'bytes */8000', '... Content-Range bytes */8000');
$r = http_get($port, '/c/t.txt', Range => 'bytes=0-1,4-5',
              'If-Range' => '"up1"');
check_parts($r, $txt, 'text/plain', [[0, 1], [4, 5]], 'cache HIT, If-Range');
$r = http_get($port, '/c/t.txt', Range => 'bytes=0-1,4-5',
              'If-None-Match' => '"up1"');
is($r->{status}, 304, 'cache HIT, If-None-Match that matches and Range: 304');
$r = http_get($port, '/c/t.txt', Range => 'bytes=0-1,4-5',
              'If-Range' => '"other"');
is($r->{status}, 200, 'cache HIT, If-Range of another ETag: 200');
is($r->{body}, $txt, '... the whole body');
$r = http($port, build_request(method => 'HEAD', path => '/c/t.txt',
                               headers => [Range => 'bytes=0-7,16-23',
                                           Connection => 'close']),
          head => 1);
is($r->{status}, 206, 'cache HIT, HEAD of two ranges: 206');
is($r->{headers}{'content-length'}, 52 + 33 + 52 + 35 + 16 + 28,
   '... the length a GET gets');
is($r->{raw}, $r->{raw_head}, '... no body');
for my $v ('bytes=abc', 'bytes=5-2', 'bytes=0-1,') {
    $r = http_get($port, '/c/t.txt', Range => $v);
    is($r->{status}, 416, "cache HIT, \"$v\": 416");
    is($r->{headers}{'content-range'}, 'bytes */8000',
       '... Content-Range bytes */8000');
}
$r = http_get($port, '/cm1/t.txt');
$r = http_get($port, '/cm1/t.txt', Range => 'bytes=0-1,4-5');
is($r->{headers}{'x-cache'}, 'HIT', 'cache, max_ranges 1: a HIT');
is($r->{status}, 200, '... two ranges: 200');
is($r->{body}, $txt, '... the whole body');

$f->stop;
done_testing;
