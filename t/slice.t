#!/usr/bin/perl

# slice (nginx's ngx_http_slice_module) and $slice_range: a 300000-byte
# file fetched in 64k slices from a backend that serves byte ranges and
# writes down every Range it is asked, with nginx's usual configuration
# (proxy_cache_key ...$slice_range, proxy_set_header Range
# $slice_range, proxy_cache_valid 200 206) and without a cache: the
# whole body byte for byte as a 200 with the file's Content-Length,
# the slices asked in order; client ranges across slice boundaries as
# 206 (only the slices they overlap fetched, from the one holding the
# first byte); HITs from the cache, and only the missing slices asked
# for a range that needs them; If-Range; a Range not served after all
# (max_ranges 0); a malformed one (416, MISS and HIT); several (200);
# HEAD; limit_rate; sendfile off; proxy_cache_background_update; kept
# connections closed by the backend and proxy_next_upstream for later
# slices; POST not sliced; the access log; a later slice with another
# ETag or an unexpected range ending the response short (the error
# logged, the connection closed); a backend that ignores Range (its 200
# passed as it is); the first slice broken (502); configuration errors
# with file and line.
#
# Every test fails without the module: the configuration is refused
# ("unknown directive").

use strict;
use warnings;

use Test::More;
use Ferry::Test;
use Fcntl qw(O_WRONLY O_APPEND O_CREAT);
use IO::Socket::INET;

my $SIZE = 300000;              # 4 slices of 65536 and one of 37856
my $SL = 65536;
my $data = join '', map { pack 'N', $_ * 2654435761 % 4294967296 }
                    0 .. $SIZE / 4 - 1;

my $f = Ferry::Test->new(conf => main_conf() . <<'EOF');
worker_processes 1;
events { worker_connections 64; }
http {
    proxy_cache_path cache levels=1:2 keys_zone=sl:1m inactive=10m;
    log_format st '$request_method $request_uri $status $body_bytes_sent '
                  '$upstream_cache_status $upstream_status';
    access_log logs/slice.log st;
    upstream b { server 127.0.0.1:%%PORT_1%%; keepalive 4; }
    upstream k { server 127.0.0.1:%%PORT_2%%; keepalive 4; }
    upstream rr { server 127.0.0.1:%%PORT_3%% max_fails=0;
                  server 127.0.0.1:%%PORT_1%%; }
    server {
        listen 127.0.0.1:%%PORT_0%%;
        location /c/ {
            slice             64k;
            proxy_cache       sl;
            proxy_cache_key   $uri$is_args$args$slice_range;
            proxy_set_header  Range $slice_range;
            proxy_cache_valid 200 206 1h;
            proxy_http_version 1.1;
            proxy_set_header  Connection "";
            proxy_pass        http://b;
            add_header        X-Cache $upstream_cache_status;
        }
        location /n/ {
            slice             64k;
            proxy_set_header  Range $slice_range;
            proxy_pass        http://b;
            add_header        X-Slice $slice_range;
        }
        location /r/ {
            slice             64k;
            proxy_cache       sl;
            proxy_cache_key   $uri$slice_range;
            proxy_set_header  Range $slice_range;
            proxy_cache_valid 200 206 1h;
            proxy_pass        http://b;
            limit_rate        1m;
            add_header        X-Cache $upstream_cache_status;
        }
        location /k/ {
            slice             64k;
            proxy_set_header  Range $slice_range;
            proxy_http_version 1.1;
            proxy_set_header  Connection "";
            proxy_pass        http://k;
        }
        location /so/ {
            slice             64k;
            proxy_cache       sl;
            proxy_cache_key   $uri$slice_range;
            proxy_set_header  Range $slice_range;
            proxy_cache_valid 200 206 1h;
            proxy_pass        http://b;
            sendfile          off;
            output_buffers    1 16k;
            add_header        X-Cache $upstream_cache_status;
        }
        location /bg/ {
            slice             64k;
            proxy_cache       sl;
            proxy_cache_key   $uri$slice_range;
            proxy_set_header  Range $slice_range;
            proxy_cache_valid 200 206 1s;
            proxy_cache_use_stale updating;
            proxy_cache_background_update on;
            proxy_pass        http://b;
            add_header        X-Cache $upstream_cache_status;
        }
        location /rr/ {
            slice             64k;
            proxy_set_header  Range $slice_range;
            proxy_next_upstream error http_502;
            proxy_pass        http://rr;
        }
        location /m0/ {
            slice             64k;
            proxy_cache       sl;
            proxy_cache_key   $uri$slice_range;
            proxy_set_header  Range $slice_range;
            proxy_cache_valid 200 206 1h;
            proxy_pass        http://b;
            max_ranges        0;
        }
        location /off/ {
            proxy_set_header  X-Slice "[$slice_range]";
            proxy_pass        http://b;
        }
    }
}
EOF

my $rlog = $f->prefix . '/ranges.log';

# The backend: byte ranges of $data; /x/etag/ answers the slices after
# the first with another ETag, /x/shift/ a later slice one byte off,
# /x/norange/ ignores Range, /x/first/ breaks the first slice's
# Content-Range.  Each request is written down as "URI RANGE".
sub handler {
    my ($req) = @_;
    my %in = map { lc $_->[0] => $_->[1] } @{ $req->{headers} };
    my $u = $req->{uri};
    my $range = $in{range} // '-';
    sysopen my $fh, $rlog, O_WRONLY | O_APPEND | O_CREAT or die;
    syswrite $fh, "$u $range\n";
    close $fh;
    if ($u =~ m{^/off/}) {
        return { status => 200, body => "x-slice $in{'x-slice'}\n" };
    }
    my @h = ('Content-Type' => 'application/octet-stream',
             'Last-Modified' => 'Mon, 02 Nov 2026 10:00:00 GMT');
    if ($u =~ m{/norange/} || $range !~ /^bytes=(\d+)-(\d+)$/) {
        return { status => 200, headers => [@h, 'ETag' => '"v1"'],
                 body => $data };
    }
    my ($a, $b) = ($1, $2);
    $b = $SIZE - 1 if $b >= $SIZE;
    if ($a >= $SIZE) {
        return { status => 416, headers => ['Content-Range' => "bytes */$SIZE"],
                 body => "unsatisfiable\n" };
    }
    my $etag = $u =~ m{/etag/} && $a > 0 ? '"v2"' : '"v1"';
    my $cr = "bytes $a-$b/$SIZE";
    $cr = "bytes " . ($a + 1) . "-$b/$SIZE" if $u =~ m{/shift/} && $a > 0;
    $cr = "bytes 1-$b/$SIZE" if $u =~ m{/first/};
    return { status => 206, body => substr($data, $a, $b - $a + 1),
             headers => [@h, 'ETag' => $etag, 'Content-Range' => $cr] };
}

# the Ranges asked for $uri since the log was last read
my $seen = 0;
sub asked {
    my ($uri) = @_;
    open my $fh, '<', $rlog or return ();
    my @l = <$fh>;
    close $fh;
    my @new = @l[$seen .. $#l];
    $seen = @l;
    chomp @new;
    return map { (split / /, $_, 2)[1] } grep { (split / /)[0] eq $uri } @new;
}

sub slices {
    return map { "bytes=" . $_ * $SL . "-" . (($_ + 1) * $SL - 1) } @_;
}

my $b = Ferry::Test::Backend->new(port => $f->port(1), handler => \&handler);
my $bad = Ferry::Test::Backend->new(port => $f->port(3), handler => sub {
    return { status => 502, body => "bad\n" };
});
# the same answers, each on a connection closed after it without a word
# (a kept connection the next slice finds gone)
my $k = Ferry::Test::Backend->new(port => $f->port(2), raw => sub {
    my ($sock, $req) = @_;
    my $a = handler($req);
    my $h = join '', map { "$a->{headers}[2 * $_]: $a->{headers}[2 * $_ + 1]\r\n" }
                     0 .. @{ $a->{headers} } / 2 - 1;
    syswrite $sock, "HTTP/1.1 $a->{status} X\r\n${h}Content-Length: "
                    . length($a->{body}) . "\r\n\r\n$a->{body}";
});
$f->start or BAIL_OUT('ferry did not start');
my $port = $f->port(0);

# ---- the whole file through the cache: MISS, then HIT ----
my $r = http_get($port, '/c/file');
is($r->{status}, 200, 'whole: 200');
is($r->{headers}{'content-length'}, $SIZE, 'whole: the file\'s length');
ok($r->{body} eq $data, 'whole: every byte') or diag(length $r->{body});
ok(!exists $r->{headers}{'content-range'}, 'whole: no Content-Range');
is($r->{headers}{'accept-ranges'}, 'bytes', 'whole: Accept-Ranges');
is($r->{headers}{etag}, '"v1"', 'whole: the ETag');
is($r->{headers}{'x-cache'}, 'MISS', 'whole: MISS (the first slice\'s)');
is_deeply([asked('/c/file')], [slices(0 .. 4)],
          'whole: five ranged requests of 64k, in order');

$r = http_get($port, '/c/file');
is($r->{status}, 200, 'again: 200');
ok($r->{body} eq $data, 'again: every byte');
is($r->{headers}{'x-cache'}, 'HIT', 'again: HIT');
is_deeply([asked('/c/file')], [], 'again: nothing asked of the backend');

# ---- a client's range across slice boundaries, from the cache ----
$r = http_get($port, '/c/file', Range => 'bytes=60000-140000');
is($r->{status}, 206, 'range of a HIT: 206');
is($r->{headers}{'content-range'}, "bytes 60000-140000/$SIZE",
   'range of a HIT: Content-Range');
is($r->{headers}{'content-length'}, 80001, 'range of a HIT: its length');
ok($r->{body} eq substr($data, 60000, 80001), 'range of a HIT: the bytes');
is_deeply([asked('/c/file')], [], 'range of a HIT: nothing asked');

# ---- a range of a new file: only the slices it overlaps ----
$r = http_get($port, '/c/part', Range => 'bytes=70000-200000');
is($r->{status}, 206, 'range: 206');
is($r->{headers}{'content-range'}, "bytes 70000-200000/$SIZE",
   'range: Content-Range');
is($r->{headers}{'content-length'}, 130001, 'range: Content-Length');
ok($r->{body} eq substr($data, 70000, 130001), 'range: the bytes');
is_deeply([asked('/c/part')], [slices(1 .. 3)],
          'range: slices 1 to 3 asked, from the one holding its start');

# the whole file now: slices 1 to 3 are HITs, 0 and 4 are asked
$r = http_get($port, '/c/part');
is($r->{status}, 200, 'then whole: 200');
ok($r->{body} eq $data, 'then whole: every byte');
is($r->{headers}{'x-cache'}, 'MISS', 'then whole: the first slice a MISS');
is_deeply([asked('/c/part')], [slices(0, 4)],
          'then whole: only the missing slices asked');

# a suffix range, the last bytes, and one inside a slice
$r = http_get($port, '/c/part', Range => 'bytes=-100');
is($r->{status}, 206, 'suffix range: 206');
is($r->{headers}{'content-range'}, "bytes 299900-299999/$SIZE",
   'suffix range: Content-Range');
ok($r->{body} eq substr($data, -100), 'suffix range: the bytes');
$r = http_get($port, '/c/part', Range => 'bytes=262144-');
is($r->{headers}{'content-range'}, "bytes 262144-299999/$SIZE",
   'last slice alone: Content-Range');
ok($r->{body} eq substr($data, 262144), 'last slice alone: the bytes');
$r = http_get($port, '/c/part', Range => 'bytes=10-20');
is($r->{headers}{'content-length'}, 11, 'inside a slice: 11 bytes');
ok($r->{body} eq substr($data, 10, 11), 'inside a slice: the bytes');
is_deeply([asked('/c/part')], [], 'all from the cache');

# If-Range: the ETag gets the range, another the whole file
$r = http_get($port, '/c/part', Range => 'bytes=100000-100009',
              'If-Range' => '"v1"');
is($r->{status}, 206, 'If-Range with the ETag: 206');
ok($r->{body} eq substr($data, 100000, 10), 'If-Range: the bytes');
$r = http_get($port, '/c/part', Range => 'bytes=100000-100009',
              'If-Range' => '"other"');
is($r->{status}, 200, 'If-Range with another ETag: 200');
ok($r->{body} eq $data, '... the whole file');

# a Range chose slice 1, but is not served (max_ranges 0): the whole
# file, from slice 0 (slice 1's bytes dropped the first time)
$r = http_get($port, '/m0/again', Range => 'bytes=70000-70009');
is($r->{status}, 200, 'a Range not served: 200');
ok($r->{body} eq $data, 'a Range not served: every byte, from the first')
    or diag(length $r->{body});
is_deeply([asked('/m0/again')], [slices(1, 0, 2, 3, 4)],
          'a Range not served: slice 1, then from 0 (1 from the cache)')
    or diag(explain [asked('/m0/again')]);

# a malformed Range: 416 with the total, as nginx's range filter
# answers its main request; nothing more asked
$r = http_get($port, '/c/mal', Range => 'bytes=70000-x');
is($r->{status}, 416, 'a malformed Range: 416');
is($r->{headers}{'content-range'}, "bytes */$SIZE",
   '... Content-Range bytes */TOTAL');
is_deeply([asked('/c/mal')], [slices(1)], '... one slice asked')
    or diag(explain [asked('/c/mal')]);
$r = http_get($port, '/n/mal', Range => 'bytes=5-2');
is($r->{status}, 416, 'a reversed Range, no cache: 416');
is($r->{headers}{'content-range'}, "bytes */$SIZE",
   '... Content-Range bytes */TOTAL');
# the first slice a HIT: the same 416, and the connection goes on
my ($mr) = http_keepalive($port, [
    build_request(path => '/c/part', headers => [Range => 'bytes=abc']),
    build_request(path => '/c/part', headers => [Range => 'bytes=0-9']),
]);
is($mr->[0]{status}, 416, 'a malformed Range, HIT: 416');
is($mr->[0]{headers}{'content-range'}, "bytes */$SIZE",
   '... Content-Range bytes */TOTAL');
is($mr->[1]{status}, 206, '... the next request on the connection: 206');
ok($mr->[1]{body} eq substr($data, 0, 10), '... its bytes');
is_deeply([asked('/c/part')], [], '... nothing asked of the backend');
# several ranges: the whole 200, as nginx (single_range)
$r = http_get($port, '/n/two', Range => 'bytes=0-9,100000-100009');
is($r->{status}, 200, 'two ranges: the whole 200');
ok($r->{body} eq $data, '... every byte');
is_deeply([asked('/n/two')], [slices(0 .. 4)], '... from slice 0');

# a range past the end: the backend's 416 as it is
$r = http_get($port, '/c/part', Range => 'bytes=400000-');
is($r->{status}, 416, 'a range past the end: the backend\'s 416');

# HEAD: the GET's header, one slice asked
$r = http(port_head());
sub port_head {
    return ($port, "HEAD /c/head HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n",
            head => 1);
}
is($r->{status}, 200, 'HEAD: 200');
is($r->{headers}{'content-length'}, $SIZE, 'HEAD: the file\'s length');
is(scalar(asked('/c/head')), 1, 'HEAD: one slice asked');

# ---- without a cache: ranged requests stitched, keep-alive kept ----
my ($res, $closed) = http_keepalive($port, [
    build_request(path => '/n/file'),
    build_request(path => '/n/file',
                  headers => [Range => 'bytes=131000-131100']),
    build_request(path => '/n/file'),
]);
is($res->[0]{status}, 200, 'no cache: 200');
is($res->[0]{headers}{'content-length'}, $SIZE, 'no cache: the length');
ok($res->[0]{body} eq $data, 'no cache: every byte');
is($res->[0]{headers}{'x-slice'}, 'bytes=0-65535',
   'no cache: $slice_range in add_header: the first slice');
is($res->[1]{status}, 206, 'no cache, range: 206');
ok($res->[1]{body} eq substr($data, 131000, 101), 'no cache, range: bytes');
ok($res->[2]{body} eq $data, 'no cache: a third on the same connection');
ok(!$closed, 'no cache: the connection kept');
is_deeply([asked('/n/file')],
          [slices(0 .. 4), slices(1, 2), slices(0 .. 4)],
          'no cache: the slices asked each time');

# ---- limit_rate: each slice written in pieces, the next one after ----
$r = http_get($port, '/r/file');
ok($r->{status} == 200 && $r->{body} eq $data, 'limit_rate, MISS: every byte');
$r = http_get($port, '/r/file', Range => 'bytes=1000-250000');
is($r->{headers}{'x-cache'}, 'HIT', 'limit_rate: HIT');
ok($r->{status} == 206 && $r->{body} eq substr($data, 1000, 249001),
   'limit_rate, HIT of a range: its bytes');
is_deeply([asked('/r/file')], [slices(0 .. 4)], 'limit_rate: asked once');

# ---- sendfile off: the HITs read into one buffer, handed on ----
http_get($port, '/so/file');
$r = http_get($port, '/so/file');
is($r->{headers}{'x-cache'}, 'HIT', 'sendfile off: HIT');
ok($r->{status} == 200 && $r->{body} eq $data, 'sendfile off: every byte');
$r = http_get($port, '/so/file', Range => 'bytes=65530-200000');
ok($r->{status} == 206 && $r->{body} eq substr($data, 65530, 134471),
   'sendfile off: a range across slices');
is_deeply([asked('/so/file')], [slices(0 .. 4)], 'sendfile off: asked once');

# ---- proxy_cache_background_update: expired slices answered STALE,
# each updated before the next is sent ----
http_get($port, '/bg/file');
is_deeply([asked('/bg/file')], [slices(0 .. 4)], 'background update: MISS');
sleep 2;
$r = http_get($port, '/bg/file');
is($r->{headers}{'x-cache'}, 'STALE', 'background update: STALE');
ok($r->{status} == 200 && $r->{body} eq $data, 'background update: every byte');
# the last one's update may still run when the client has every byte
my @bg;
wait_until { push @bg, asked('/bg/file'); @bg >= 5 };
is_deeply(\@bg, [slices(0 .. 4)], 'background update: every slice updated');
# the last update may still be writing its cache entry, and on a busy
# machine the 1 s validity may pass again: what is checked is that the
# updated slices are then served as a HIT
ok((wait_until {
        $r = http_get($port, '/bg/file');
        ($r->{headers}{'x-cache'} // '') eq 'HIT';
    } 10), 'background update: then HIT');
ok($r->{body} eq $data, 'background update: then every byte');

# ---- a kept connection gone: the slice goes on a new one ----
for my $i (1 .. 3) {
    $r = http_get($port, '/k/file');
    ok($r->{status} == 200 && $r->{body} eq $data,
       "kept connections closed by the backend ($i): every byte");
}
is(scalar(grep { $_ eq 'bytes=262144-327679' } asked('/k/file')), 3,
   'kept connections closed: every last slice asked');

# ---- a later slice goes to the next server too (proxy_next_upstream):
# one of the two answers 502 to everything ----
$r = http_get($port, '/rr/file');
ok($r->{status} == 200 && $r->{body} eq $data,
   'next upstream: every byte, the failed slices asked of the other')
    or diag("$r->{status} " . length $r->{body});
is_deeply([asked('/rr/file')], [slices(0 .. 4)],
          'next upstream: each slice answered once by the good one');
ok(scalar(grep { $_ eq 'GET /rr/file' } $bad->request_lines) >= 2,
   'next upstream: later slices went to the failing one first');

# ---- other methods: not sliced ----
$r = http($port, "POST /n/post HTTP/1.1\r\nHost: x\r\nContent-Length: 3\r\n"
               . "Connection: close\r\n\r\nabc");
is($r->{status}, 200, 'POST: not sliced, the backend\'s 200');
ok($r->{body} eq $data, 'POST: its body');
is_deeply([asked('/n/post')], ['-'], 'POST: no Range sent');

# ---- the access log: the client's status and bytes, the first slice's
# upstream ----
my @log;
wait_until { open my $fh, '<', $f->prefix . '/logs/slice.log' or return;
             @log = <$fh>; chomp @log;
             grep { m{ /n/post } } @log };
is_deeply([grep { m{ /c/file } } @log],
          ["GET /c/file 200 $SIZE MISS 206", "GET /c/file 200 $SIZE HIT -",
           "GET /c/file 206 80001 HIT -"],
          'access log: the client\'s status and bytes, the first slice\'s '
          . 'cache status and upstream status');
is((grep { m{ /n/file } } @log)[1], 'GET /n/file 206 101 - 206',
   'access log: a range without the cache');

# ---- slice off: $slice_range is empty ----
$r = http_get($port, '/off/x');
is($r->{body}, "x-slice []\n", 'no slice: $slice_range empty');

# ---- a backend that ignores Range: its 200 as it is ----
$r = http_get($port, '/n/norange/file');
is($r->{status}, 200, 'Range ignored: 200');
is($r->{headers}{'content-length'}, $SIZE, 'Range ignored: its length');
ok($r->{body} eq $data, 'Range ignored: its body');
is(scalar(asked('/n/norange/file')), 1, 'Range ignored: asked once');

# ---- a later slice with another ETag: the response ends short ----
$f->allow_log(qr/etag mismatch in slice response|unexpected range|invalid range in slice/);
# all that comes until the close: (header, body)
sub raw_get {
    my ($path) = @_;
    my $s = IO::Socket::INET->new(PeerAddr => "127.0.0.1:$port") or die;
    print $s "GET $path HTTP/1.1\r\nHost: x\r\n\r\n";
    local $/;
    my $all = <$s> // '';
    close $s;
    return split /\r\n\r\n/, $all, 2;
}
my ($head, $body) = raw_get('/n/etag/file');
like($head, qr/\r\nContent-Length: $SIZE\r\n/, 'ETag changes: the length promised');
is(length($body // ''), $SL, 'ETag changes: the first slice only, then closed');
ok(substr($data, 0, $SL) eq ($body // ''), 'ETag changes: its bytes');
like($f->error_log, qr/\[error\].*etag mismatch in slice response.*bytes=65536-131071/,
     'ETag changes: logged');

($head, $body) = raw_get('/c/shift/file');
is(length($body // ''), $SL, 'a later slice off by one: the first slice, then closed');
like($f->error_log, qr/\[error\].*unexpected range 65537-131071\/300000 in slice response/,
     'a later slice off by one: logged');
is_deeply([asked('/c/shift/file')], [slices(0, 1)], 'off by one: asked');
($head, $body) = raw_get('/c/shift/file');
like($head, qr/X-Cache: HIT/, 'again: the first slice a HIT');
is(length($body // ''), $SL, '... the same again');
is_deeply([asked('/c/shift/file')], [slices(1)],
          '... the broken slice was not cached: asked again');

wait_until { open my $fh, '<', $f->prefix . '/logs/slice.log' or return;
             @log = <$fh>; chomp @log;
             grep { m{ /c/shift/} } @log };
is_deeply([grep { m{ /(n/etag|c/shift)/} } @log],
          ["GET /n/etag/file 200 $SL - 206", "GET /c/shift/file 200 $SL MISS 206",
           "GET /c/shift/file 200 $SL HIT -"],
          'access log: the broken responses, 200 with the bytes sent, the '
          . 'first slice\'s upstream');

$r = http_get($port, '/n/first/file');
is($r->{status}, 502, 'the first slice broken: 502');
like($f->error_log, qr/\[error\].*unexpected range 1-65535\/300000 in slice response/,
     'the first slice broken: logged');

$f->stop;

# ---- configuration errors ----
server_conf_refused('location / { slice 1x; }', qr/invalid value "1x".*:8/,
                    'slice with a bad size');
server_conf_refused('location / { slice; }', qr/invalid number of arguments.*:8/,
                    'slice without a size');
server_conf_refused('location / { slice 1m; slice 2m; }',
                    qr/"slice" directive is duplicate.*:8/,
                    'slice twice');

done_testing;
