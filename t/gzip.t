#!/usr/bin/perl
# gzip.t -- gzip compression: proxied bodies streamed through deflate
# (Content-Length, chunked and close-delimited upstream answers, 10 MiB
# included), static files, gzip_static, return; what is never touched
# (no Accept-Encoding, q=0, already encoded, HEAD, 204, 304, other
# statuses); every gzip_* directive; clients that go away mid-stream;
# configuration errors.  Bodies are checked byte for byte after
# IO::Uncompress::Gunzip and after curl --compressed.

use strict;
use warnings;
use Test::More;
use lib 't/lib';
use Ferry::Test;
use IO::Uncompress::Gunzip qw(gunzip $GunzipError);
use IO::Compress::Gzip qw(gzip $GzipError);
use Compress::Raw::Zlib;
use IO::Socket::INET;
use Time::HiRes ();

my $f = Ferry::Test->new(conf => main_conf() . <<'EOF');
events { worker_connections 256; }
worker_processes 1;
http {
    types { text/html html; text/plain txt; application/octet-stream bin; }
    default_type text/plain;
    gzip on;
    gzip_types text/plain application/json;
    gzip_vary on;

    upstream app { server 127.0.0.1:%%PORT_1%%; keepalive 8; }

    server {
        listen 127.0.0.1:%%PORT_0%%;
        root html;

        location /p/ { proxy_pass http://app; }
        location /v10/ {
            gzip_http_version 1.0;
            proxy_pass http://app;
        }
        location /min/ {
            gzip_min_length 1000;
            proxy_pass http://app;
        }
        location /any/ {
            gzip_types *;
            proxy_pass http://app;
        }
        location /novary/ {
            gzip_vary off;
            proxy_pass http://app;
        }
        location /off/ {
            gzip off;
            proxy_pass http://app;
        }
        location /proxied-any/ {
            gzip_proxied any;
            proxy_pass http://app;
        }
        location /proxied-expired/ {
            gzip_proxied expired;
            proxy_pass http://app;
        }
        location /proxied-cc/ {
            gzip_proxied no-cache no-store private;
            proxy_pass http://app;
        }
        location /proxied-auth/ {
            gzip_proxied auth;
            proxy_pass http://app;
        }
        location /proxied-etag/ {
            gzip_proxied no_etag;
            proxy_pass http://app;
        }
        location /proxied-lm/ {
            gzip_proxied no_last_modified;
            proxy_pass http://app;
        }
        location /disable/ {
            gzip_disable msie6 "^curl/" "bot\d";
            proxy_pass http://app;
        }
        location /level9/ {
            gzip_comp_level 9;
            gzip_buffers 1 512;
            gzip_window 512;
            gzip_hash 512;
            proxy_pass http://app;
        }
        location /pause/ { proxy_pass http://127.0.0.1:%%PORT_2%%; }
        location /ret {
            default_type text/html;
            return 200 "<p>$request_uri returned, returned, returned, returned</p>";
        }
        location /ret-short { default_type text/html; return 200 "short"; }
        location /st/ { gzip_static on; }
        location /sa/ { gzip_static always; gzip off; }
    }
}
EOF

my $port = $f->port(0);
my $big = join '', map { "line $_: the quick brown fox jumps over the lazy dog\n" }
                   1 .. 200_000;
$big = substr($big x 2, 0, 10 * 1024 * 1024);          # 10 MiB of text
my $small = "<html><body>" . ("hello, compressed world! " x 40) . "</body></html>\n";
my $noisy = test_body(2 * 1024 * 1024, 7);             # hardly compressible

# The upstream: the path says what to answer.
my $b = Ferry::Test::Backend->new(port => $f->port(1), handler => sub {
    my ($req) = @_;
    my ($u) = $req->{uri} =~ m{([^/]*)$};     # the last segment says
    my $mode = $u =~ /chunked/ ? 'chunked' : $u =~ /close/ ? 'close'
                                                           : 'length';
    my $body = $u =~ /big/ ? $big : $u =~ /noisy/ ? $noisy : $small;
    my @h = ('Content-Type' => 'text/plain; charset=utf-8');
    my $status = 200;
    $body = 'x' x 100 if $u =~ /hundred/;
    @h = ('Content-Type' => 'text/css') if $u =~ /css/;
    @h = ('Content-Type' => 'text/html') if $u =~ /html/;
    @h = ('Content-Type' => 'application/octet-stream') if $u =~ /octet/;
    push @h, 'Content-Encoding' => 'br' if $u =~ /encoded/;
    push @h, 'ETag' => '"v1"', 'Accept-Ranges' => 'bytes' if $u =~ /etag/;
    push @h, 'Last-Modified' => 'Mon, 01 Jan 2024 00:00:00 GMT' if $u =~ /lm/;
    push @h, 'Expires' => 'Thu, 01 Jan 1970 00:00:00 GMT' if $u =~ /expired/;
    push @h, 'Expires' => 'Fri, 01 Jan 2100 00:00:00 GMT' if $u =~ /future/;
    push @h, 'Cache-Control' => 'max-age=0, private' if $u =~ /private/;
    push @h, 'Cache-Control' => 'max-age=60' if $u =~ /maxage/;
    $status = $1 if $u =~ /status(\d\d\d)/;
    return { status => $status, headers => \@h, body => $body,
             mode => $mode, chunk_size => 3000 };
});

# An upstream that sends half of its body, pauses, then the rest.
my $first = "first half, " x 100;
my $b2 = Ferry::Test::Backend->new(port => $f->port(2), raw => sub {
    my ($sock) = @_;
    syswrite $sock, "HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\n"
                  . "Transfer-Encoding: chunked\r\n\r\n"
                  . sprintf("%x\r\n%s\r\n", length $first, $first);
    select(undef, undef, undef, 2);
    syswrite $sock, "5\r\nrest\n\r\n0\r\n\r\n";
});

$f->start;

my $AE = ['Accept-Encoding' => 'gzip, deflate'];

sub get {
    my ($path, @h) = @_;
    my %o;
    my $version = '1.1';
    while (@h && !ref $h[0] && $h[0] =~ /^-(\w+)$/) {
        shift @h;
        $o{$1} = shift @h;
    }
    $version = $o{version} if $o{version};
    my $req = build_request(path => $path, version => $version,
                            method => $o{method} // 'GET',
                            headers => [Connection => 'close', @h]);
    return http($port, $req, timeout => 20, head => ($o{method} // '') eq 'HEAD');
}

sub gunzipped {
    my ($r) = @_;
    my $out;
    return undef unless defined $r->{body};
    gunzip(\$r->{body} => \$out) or return "gunzip failed: $GunzipError";
    return $out;
}

sub is_gzip {
    my ($r, $want, $name) = @_;
    is($r->{status}, 200, "$name: 200") or diag($r->{error} // $r->{raw_head});
    is($r->{headers}{'content-encoding'}, 'gzip', "$name: Content-Encoding: gzip");
    ok(!exists $r->{headers}{'content-length'}, "$name: no Content-Length");
    my $out = gunzipped($r);
    ok(defined $out && $out eq $want,
       "$name: gunzip gives the original " . length($want) . " bytes back")
        or diag(defined $out ? length($out) . " bytes" : 'nothing');
}

sub is_identity {
    my ($r, $want, $name) = @_;
    ok(!exists $r->{headers}{'content-encoding'}, "$name: not encoded")
        or diag($r->{raw_head});
    ok(defined $r->{body} && $r->{body} eq $want, "$name: body as sent");
}

# ---- proxied bodies ----

for my $mode ('length', 'chunked', 'close') {
    for my $what ('small', 'big') {
        my $want = $what eq 'big' ? $big : $small;
        my $r = get("/p/$what-$mode", @$AE);
        is_gzip($r, $want, "$what $mode upstream body");
        ok($r->{chunked}, "$what $mode: sent chunked to an HTTP/1.1 client");
        is($r->{headers}{vary}, 'Accept-Encoding', "$what $mode: Vary");
    }
}

{
    my $r = get('/p/noisy-chunked', @$AE);
    is_gzip($r, $noisy, 'hardly compressible chunked body');
}

# curl --compressed (Accept-Encoding of its own), written to a file
SKIP: {
    skip 'no curl', 6 unless `curl --version 2>/dev/null` =~ /^curl/;
    my $dir = $f->prefix;
    for my $p ('/p/big-length', '/p/big-chunked', '/p/small-close') {
        my $want = $p =~ /big/ ? $big : $small;
        unlink "$dir/curl.out";
        my $hdr = `curl -s --compressed -D - -o $dir/curl.out http://127.0.0.1:$port$p`;
        like($hdr, qr/^Content-Encoding: gzip\r$/mi, "curl $p: compressed");
        open my $fh, '<', "$dir/curl.out";
        binmode $fh;
        my $got = do { local $/; <$fh> };
        ok(defined $got && $got eq $want, "curl --compressed $p: the original body");
    }
}

# ETag weakened, Accept-Ranges dropped
{
    my $r = get('/p/small-etag', @$AE);
    is($r->{headers}{etag}, 'W/"v1"', 'ETag made weak');
    ok(!exists $r->{headers}{'accept-ranges'}, 'Accept-Ranges dropped');
    my $i = get('/p/small-etag');
    is($i->{headers}{etag}, '"v1"', 'identity response keeps the strong ETag');
    is($i->{headers}{'accept-ranges'}, 'bytes', '... and Accept-Ranges');
}

# keep-alive: compressed responses one after the other on one connection
{
    my @req = map { build_request(path => $_, headers => $AE) }
              '/p/small-length', '/p/big-chunked', '/p/small-close';
    my ($res, $closed) = http_keepalive($port, \@req);
    is(scalar @$res, 3, 'three compressed responses on one connection');
    ok(!$closed, 'the connection stays open');
    my $ok = 1;
    for my $i (0 .. 2) {
        my $want = $i == 1 ? $big : $small;
        $ok = 0 unless ($res->[$i]{headers}{'content-encoding'} // '') eq 'gzip'
                       && (gunzipped($res->[$i]) // '') eq $want;
    }
    ok($ok, '... each one whole');
}

# HTTP/1.0: close-delimited, only where gzip_http_version 1.0
{
    my $r = get('/v10/big-chunked', -version => '1.0', @$AE);
    is_gzip($r, $big, 'HTTP/1.0 client, chunked upstream');
    ok($r->{close_delimited}, 'HTTP/1.0: the body ends with the connection');
    is($r->{headers}{connection}, 'close', 'HTTP/1.0: Connection: close');
    $r = get('/v10/small-length', -version => '1.0', @$AE);
    is_gzip($r, $small, 'HTTP/1.0 client, Content-Length upstream');
    $r = get('/p/small-length', -version => '1.0', @$AE);
    is_identity($r, $small, 'HTTP/1.0 client with the default gzip_http_version 1.1');
    is($r->{headers}{'content-length'}, length $small, '... with its Content-Length');
}

# An upstream that pauses: what was compressed reaches the client before
# the rest of the body exists.
{
    my $c = Ferry::Test::Client->new($port, timeout => 5);
    $c->send(build_request(path => '/pause/x', headers => [@$AE, Connection => 'close']));
    my ($got, $t0) = ('', Time::HiRes::time());
    while (Time::HiRes::time() - $t0 < 1.5 && length($got) < length $first) {
        $c->_read_some(0.1);
        next unless $c->buffer =~ /\r\n\r\n(.*)$/s;
        # the whole chunks so far, inflated as far as they go
        my ($raw, $data) = ($1, '');
        while ($raw =~ s/^([0-9a-f]+)\r\n//) {
            my $n = hex $1;
            last if $n == 0 || length($raw) < $n + 2;
            $data .= substr($raw, 0, $n);
            substr($raw, 0, $n + 2, '');
        }
        my $inf = Compress::Raw::Zlib::Inflate->new(-WindowBits => WANT_GZIP);
        $got = '';
        $inf->inflate($data, $got);
    }
    is($got, $first, 'upstream paused: the first half arrived compressed '
                     . 'before the rest was sent');
    my $r = $c->read_response;
    is(gunzipped($r), $first . "rest\n", '... and then the whole body');
}

# ---- what stays as it is ----

{
    my $r = get('/p/small-length');
    is_identity($r, $small, 'no Accept-Encoding');
    is($r->{headers}{vary}, 'Accept-Encoding', '... but Vary says it could be');
    is($r->{headers}{'content-length'}, length $small, '... Content-Length kept');

    for my $ae ('gzip;q=0', 'deflate, br', 'gzip;q=0, *', 'identity',
                'gzip;q=1.5', 'gzip;level=1', 'gzip;q=', '*;q=0',
                'gzip;q=0.000, *;q=1')
    {
        $r = get('/p/small-chunked', 'Accept-Encoding' => $ae);
        ok(!exists $r->{headers}{'content-encoding'},
           "Accept-Encoding: $ae: identity");
        is($r->{body}, $small, "Accept-Encoding: $ae: body as sent");
    }
    for my $ae ('*', 'GZIP', 'br;q=1, gzip;q=0.001', 'x-gzip', ' gzip ; Q=0.5 ',
                'deflate,,gzip')
    {
        $r = get('/p/small-chunked', 'Accept-Encoding' => $ae);
        is($r->{headers}{'content-encoding'}, 'gzip', "Accept-Encoding: $ae: gzip");
    }

    $r = get('/p/small-encoded', @$AE);
    is($r->{headers}{'content-encoding'}, 'br', 'already encoded: passed as is');
    is($r->{body}, $small, '... byte for byte');
    is($r->{headers}{'content-length'}, length $small, '... with its length');

    $r = get('/p/small-length', -method => 'HEAD', @$AE);
    ok(!exists $r->{headers}{'content-encoding'}, 'HEAD: not encoded');
    is($r->{headers}{'content-length'}, length $small, 'HEAD: Content-Length kept');

    for my $s (204, 304) {
        $r = get("/p/status$s", @$AE);
        is($r->{status}, $s, "$s passed");
        ok(!exists $r->{headers}{'content-encoding'}, "$s: not encoded");
    }
    $r = get('/p/status500-length', @$AE);
    is_identity($r, $small, '500: not compressed (only 200, 403, 404, as nginx)');
    $r = get('/p/status404-length', @$AE);
    is($r->{status}, 404, '404 passed');
    is($r->{headers}{'content-encoding'}, 'gzip', '404: compressed');

    $r = get('/off/small-length', @$AE);
    is_identity($r, $small, 'gzip off');
    ok(!exists $r->{headers}{vary}, 'gzip off: no Vary');
}

# ---- the directives ----

{
    my $r = get('/min/hundred-length', @$AE);
    is_identity($r, 'x' x 100, 'gzip_min_length 1000: 100 bytes sent as they are');
    $r = get('/min/hundred-chunked', @$AE);
    is_gzip($r, 'x' x 100, 'gzip_min_length: unknown length is compressed');
    $r = get('/p/hundred-length', @$AE);
    is_gzip($r, 'x' x 100, 'default gzip_min_length 20: 100 bytes compressed');

    $r = get('/p/small-css', @$AE);
    is_identity($r, $small, 'gzip_types: text/css not listed');
    ok(!exists $r->{headers}{vary}, '... and no Vary');
    $r = get('/p/small-html', @$AE);
    is_gzip($r, $small, 'gzip_types: text/html always');
    $r = get('/any/small-octet', @$AE);
    is_gzip($r, $small, 'gzip_types *: any type');

    $r = get('/novary/small-length', @$AE);
    is($r->{headers}{'content-encoding'}, 'gzip', 'gzip_vary off: compressed');
    ok(!exists $r->{headers}{vary}, 'gzip_vary off: no Vary');

    $r = get('/level9/big-chunked', @$AE);
    is_gzip($r, $big, 'level 9, 512-byte buffer, window and hash');
}

# gzip_proxied: requests that came through a proxy (Via)
{
    my @via = ('Via' => '1.1 cache', @$AE);
    my %cases = (
        '/p/small-length'              => 0,   # default off
        '/proxied-any/small-length'    => 1,
        '/proxied-expired/small-expired' => 1,
        '/proxied-expired/small-future' => 0,
        '/proxied-expired/small-length' => 0,
        '/proxied-cc/small-private'    => 1,
        '/proxied-cc/small-maxage'     => 0,
        '/proxied-etag/small-length'   => 1,
        '/proxied-etag/small-etag'     => 0,
        '/proxied-etag/small-lm'       => 1,
        '/proxied-lm/small-lm'         => 0,
        '/proxied-lm/small-etag'       => 1,
    );
    for my $p (sort keys %cases) {
        my $r = get($p, @via);
        is(($r->{headers}{'content-encoding'} // '') eq 'gzip' ? 1 : 0,
           $cases{$p}, "gzip_proxied: $p with Via "
                       . ($cases{$p} ? 'compressed' : 'not compressed'));
    }
    my $r = get('/proxied-auth/small-length', @via);
    ok(!exists $r->{headers}{'content-encoding'}, 'gzip_proxied auth: no Authorization');
    $r = get('/proxied-auth/small-length', @via, Authorization => 'Basic eDp5');
    is($r->{headers}{'content-encoding'}, 'gzip', 'gzip_proxied auth: Authorization');
    $r = get('/p/small-length', @$AE, Authorization => 'Basic eDp5');
    is($r->{headers}{'content-encoding'}, 'gzip', 'gzip_proxied: without Via it does not apply');
}

# gzip_disable
{
    my %ua = (
        'curl/8.0'                                            => 0,
        'CURL/8.0'                                            => 0,   # caseless
        'MyBot7'                                              => 0,
        'Mozilla/4.0 (compatible; MSIE 6.0; Windows NT 5.1)'  => 0,
        'Mozilla/4.0 (compatible; MSIE 5.5; Windows 98)'      => 0,
        'Mozilla/4.0 (compatible; MSIE 6.0; Windows NT 5.1; SV1)' => 1,
        'Mozilla/5.0 (compatible; MSIE 10.0; Windows NT 6.1)' => 1,
        'Mozilla/5.0 (X11; Linux x86_64) Firefox/120.0'       => 1,
    );
    for my $u (sort keys %ua) {
        my $r = get('/disable/small-length', @$AE, 'User-Agent' => $u);
        is(($r->{headers}{'content-encoding'} // '') eq 'gzip' ? 1 : 0, $ua{$u},
           "gzip_disable: \"$u\" " . ($ua{$u} ? 'compressed' : 'not compressed'));
    }
}

# ---- static files, gzip_static, return ----

$f->write_file('html/page.txt', $small);
$f->write_file('html/big.txt', $big);
$f->write_file('html/img.bin', $small);
$f->write_file('html/st/doc.txt', "the plain one\n" x 10);
my $gz;
gzip(\"the precompressed one\n" => \$gz) or die $GzipError;
$f->write_file('html/st/doc.txt.gz', $gz);
$f->write_file('html/st/only.txt', "no .gz here\n" x 10);
$f->write_file('html/sa/doc.txt', "plain\n" x 10);
$f->write_file('html/sa/doc.txt.gz', $gz);

{
    my $r = get('/page.txt', @$AE);
    is_gzip($r, $small, 'static file compressed');
    like($r->{headers}{etag} // '', qr{^W/"}, 'static: weak ETag');
    ok(!exists $r->{headers}{'accept-ranges'}, 'static: no Accept-Ranges');
    $r = get('/big.txt', @$AE);
    is_gzip($r, $big, 'static 10 MiB file compressed');
    $r = get('/big.txt', @$AE, Range => 'bytes=0-99');
    is($r->{status}, 200, 'static: Range ignored when compressing (as nginx)');
    is(length(gunzipped($r) // ''), length $big, '... the whole file');
    $r = get('/page.txt', @$AE, 'If-None-Match' => get('/page.txt', @$AE)->{headers}{etag});
    is($r->{status}, 304, 'static: the weak ETag gives 304');
    $r = get('/page.txt', -method => 'HEAD', @$AE);
    ok(!exists $r->{headers}{'content-encoding'}, 'static HEAD: not encoded');
    is($r->{headers}{'content-length'}, length $small, 'static HEAD: Content-Length');
    $r = get('/page.txt', -version => '1.0', @$AE);
    is_identity($r, $small, 'static, HTTP/1.0 client');
    $r = get('/img.bin', @$AE);
    is_identity($r, $small, 'static: type not in gzip_types');
    $r = get('/page.txt');
    is_identity($r, $small, 'static: no Accept-Encoding');
    is($r->{headers}{vary}, 'Accept-Encoding', 'static: Vary all the same');

    $r = get('/st/doc.txt', @$AE);
    is($r->{headers}{'content-encoding'}, 'gzip', 'gzip_static: the .gz is sent');
    is($r->{body}, $gz, '... as it is on disk');
    is($r->{headers}{'content-length'}, length $gz, '... with its length');
    is($r->{headers}{'content-type'}, 'text/plain', "... and the original's type");
    is($r->{headers}{vary}, 'Accept-Encoding', '... and Vary');
    $r = get('/st/doc.txt');
    is_identity($r, "the plain one\n" x 10, 'gzip_static: no Accept-Encoding: the file');
    is($r->{headers}{vary}, 'Accept-Encoding', '... with Vary');
    $r = get('/st/only.txt', @$AE);
    is_gzip($r, "no .gz here\n" x 10, 'gzip_static without a .gz: compressed by gzip');
    $r = get('/sa/doc.txt');
    is($r->{body}, $gz, 'gzip_static always: the .gz even without Accept-Encoding');

    my $want = "<p>/ret?a=b returned, returned, returned, returned</p>";
    $r = get('/ret?a=b', @$AE);
    is($r->{headers}{'content-encoding'}, 'gzip', 'return: compressed');
    is(gunzipped($r), $want, 'return: gunzip gives the text');
    is($r->{headers}{'content-length'}, length $r->{body},
       'return: with the compressed length');
    $r = get('/ret-short', @$AE);
    is_identity($r, 'short', 'return: shorter than gzip_min_length');
    $r = get('/nonexistent.txt', @$AE);
    is($r->{status}, 404, 'error page 404');
    is($r->{headers}{'content-encoding'}, 'gzip', 'error page compressed');
    like(gunzipped($r), qr{<h1>404 Not Found</h1>}, 'error page readable');
}

# ---- clients that go away, slow clients ----

my ($w) = $f->worker_pids;
sub fds { my @l = glob "/proc/$w/fd/*"; scalar @l }
sub rss {
    open my $fh, '<', "/proc/$w/status" or return 0;
    local $/;
    my ($kb) = <$fh> =~ /^VmRSS:\s+(\d+)/m;
    return $kb;
}

# A client that stops reading while a big response is compressed: ferry
# stops reading the upstream too (its memory stays flat), then the body
# arrives whole.
{
    my $s = IO::Socket::INET->new(PeerAddr => '127.0.0.1', PeerPort => $port)
        or die "connect: $!";
    setsockopt($s, Socket::SOL_SOCKET(), Socket::SO_RCVBUF(), 4096);
    my $rss0 = rss();
    print $s build_request(path => '/p/noisy-close',
                           headers => [@$AE, Connection => 'close']);
    select(undef, undef, undef, 1.0);
    my $rss1 = rss();
    ok($rss1 - $rss0 < 4096, "a stalled client: worker RSS grew "
                             . ($rss1 - $rss0) . " KiB, less than 4 MiB");
    my $buf = '';
    $s->blocking(1);
    while (sysread($s, $buf, 65536, length $buf)) { }
    my $r = parse_response(\$buf, eof => 1);
    is_gzip($r, $noisy, 'the stalled client then gets all of it');
}

sub asan {
    open my $fh, '<', $Ferry::Test::BINARY or return 0;
    binmode $fh;
    local $/;
    return index(<$fh>, '__asan_init') >= 0;
}

sub abandon {
    my ($path) = @_;
    my $s = IO::Socket::INET->new(PeerAddr => '127.0.0.1', PeerPort => $port)
        or return;
    print $s build_request(path => $path, headers => $AE);
    my $buf;
    sysread($s, $buf, 2000);        # the header and a first piece
    close $s;                        # gone mid-stream
}

for (1 .. 20) { abandon('/p/big-chunked'); abandon('/big.txt') }
wait_until { fds() <= 12 } 5;
my ($fd0, $rss0) = (fds(), rss());
for (1 .. 150) { abandon('/p/big-chunked'); abandon('/big.txt') }
my $settled = wait_until { fds() <= $fd0 } 5;
ok($settled, "300 abandoned responses: no descriptor left behind ("
             . fds() . " open, $fd0 before)");
my $grown = rss() - $rss0;
SKIP: {
    # ASan keeps freed memory in quarantine; its leak check at the
    # worker's exit (a report fails $f->stop) takes this one's place
    skip 'AddressSanitizer build: RSS is not the measure', 1 if asan();
    ok($grown < 3 * 1024, "300 abandoned responses: worker RSS grew $grown KiB"
                          . " (a leaked stream would be 86 KiB each)");
}
is_gzip(get('/p/big-chunked', @$AE), $big, 'and the next response is whole');

$f->stop;

# ---- configuration errors ----

my %bad = (
    'gzip_comp_level 10;'      => qr/"gzip_comp_level" directive value must be between 1 and 9 in \S+:3/,
    'gzip maybe;'              => qr/"gzip" directive invalid value "maybe".* in \S+:3/,
    'gzip_proxied expired sometimes;' => qr/invalid value "sometimes" in "gzip_proxied" in \S+:3/,
    'gzip_window 3k;'          => qr/invalid value "3k" in "gzip_window".* in \S+:3/,
    'gzip_hash 256k;'          => qr/invalid value "256k" in "gzip_hash".* in \S+:3/,
    'gzip_types html;'         => qr/invalid MIME type "html" in "gzip_types" in \S+:3/,
    'gzip_disable "(";'        => qr/invalid regex "\(".* in \S+:3/,
    'gzip_buffers 0 4k;'       => qr/invalid value "0 4k" in "gzip_buffers".* in \S+:3/,
    'gzip_http_version 2.0;'   => qr/"gzip_http_version" directive invalid value "2.0" in \S+:3/,
    "gzip on;\n    gzip off;"  => qr/"gzip" directive is duplicate in \S+:4/,
    'gzip_static sometimes;'   => qr/"gzip_static" directive invalid value "sometimes" in \S+:3/,
);
for my $d (sort keys %bad) {
    my $c = Ferry::Test->new(conf => "events { }\nhttp {\n    $d\n}\n");
    my ($code, $out) = $c->run('-t');
    isnt($code, 0, "-t refuses: $d");
    like($out, $bad{$d}, "... and names file and line")
        or diag($out);
}

done_testing;
