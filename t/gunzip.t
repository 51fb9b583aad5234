#!/usr/bin/perl
# gunzip.t -- gunzip: responses with "Content-Encoding: gzip" (from a
# backend that always compresses, with Content-Length, chunked or to the
# close; a gzip_static always file; a proxy cache entry stored
# compressed) decompressed for clients that do not take gzip, and passed
# byte for byte to those that do; a FastCGI responder's gzip answer;
# multi-member bodies; HEAD, 204, 304,
# Range; corrupt and truncated gzip logged and the response cut short;
# gunzip_buffers; $gzip_ratio in an access log; configuration errors.

use strict;
use warnings;
use Test::More;
use lib 't/lib';
use Ferry::Test;
use IO::Compress::Gzip qw(gzip $GzipError);
use IO::Socket::INET;
use POSIX ();

my $f = Ferry::Test->new(conf => main_conf() . <<'EOF');
events { worker_connections 64; }
worker_processes 1;
http {
    types { text/plain txt; }
    default_type text/plain;
    log_format gz '$uri $gzip_ratio';
    proxy_cache_path cache levels=1:2 keys_zone=gz:1m;

    upstream app { server 127.0.0.1:%%PORT_1%%; keepalive 4; }

    server {
        listen 127.0.0.1:%%PORT_0%%;
        root html;
        gunzip on;
        access_log logs/gz.log gz;

        location /p/ { proxy_pass http://app; }
        location /small/ {
            gunzip_buffers 2 512;
            proxy_pass http://app;
        }
        location /vary/ {
            gzip_vary on;
            proxy_pass http://app;
        }
        location /off/ {
            gunzip off;
            proxy_pass http://app;
        }
        location /c/ {
            proxy_cache gz;
            proxy_cache_valid 200 10m;
            add_header X-Cache $upstream_cache_status;
            proxy_pass http://app;
        }
        location /sa/ { gzip_static always; }
        location /so/ { gzip_static on; gunzip off; }
        location /fcgi/ { fastcgi_pass 127.0.0.1:%%PORT_2%%; }
        location /z/ {
            gunzip off;
            gzip on;
            gzip_types text/plain;
            proxy_pass http://app;
        }
    }
}
EOF

my $port = $f->port(0);
my $text = join '', map { "line $_: the quick brown fox jumps over the lazy dog\n" }
                    1 .. 6000;                       # about 330 KB
my $gz;
gzip(\$text => \$gz) or die $GzipError;
my ($m1, $m2);
gzip(\"first member\n" => \$m1) or die $GzipError;
gzip(\"second member\n" => \$m2) or die $GzipError;
my $corrupt = $gz;
substr($corrupt, 2000, 64, 'x' x 64);                # the deflate data broken
my $truncated = substr($gz, 0, int(length($gz) / 2));

# The upstream always compresses; the path says how it frames the body.
my $b = Ferry::Test::Backend->new(port => $f->port(1), handler => sub {
    my ($req) = @_;
    my ($u) = $req->{uri} =~ m{([^/]*)$};
    my $mode = $u =~ /chunked/ ? 'chunked' : $u =~ /close/ ? 'close'
                                                           : 'length';
    my $body = $u =~ /multi/ ? $m1 . $m2 : $u =~ /corrupt/ ? $corrupt
             : $u =~ /truncated/ ? $truncated : $u =~ /plain/ ? $text : $gz;
    my @h = ('Content-Type' => 'text/plain', 'ETag' => '"e1"',
             'Accept-Ranges' => 'bytes');
    push @h, 'Vary' => 'Accept-Encoding' unless $u =~ /novary/;
    push @h, 'Content-Encoding' => 'gzip' unless $u =~ /plain/;
    my $status = $u =~ /status(\d\d\d)/ ? $1 : 200;
    return { status => $status, headers => \@h, body => $body,
             mode => $mode, chunk_size => $u =~ /multi/ ? 5 : 7000 };
});

# A FastCGI responder whose answer is gzip: the proxy's machinery
# carries FastCGI responses, gunzip included.
my $fcgi_pid;
{
    my $ls = IO::Socket::INET->new(LocalAddr => '127.0.0.1',
                                   LocalPort => $f->port(2), Listen => 8,
                                   ReuseAddr => 1) or die "listen: $!";
    $fcgi_pid = fork // die "fork: $!";
    if ($fcgi_pid == 0) {
        while (my $c = $ls->accept) {
            my ($in, $end) = ('', 0);
            # up to the empty STDIN record (type 5)
            while (!$end && sysread $c, $in, 65536, length $in) {
                my $pos = 0;
                while (length($in) - $pos >= 8) {
                    my (undef, $type, undef, $len, $pad) =
                        unpack 'CCnnC', substr($in, $pos, 7);
                    last if length($in) - $pos < 8 + $len + $pad;
                    $end = 1 if $type == 5 && $len == 0;
                    $pos += 8 + $len + $pad;
                }
            }
            my $out = "Content-Type: text/plain\r\nContent-Encoding: gzip\r\n\r\n"
                      . $gz;
            my $rec = '';
            for (my $o = 0; $o < length $out; $o += 30000) {
                my $piece = substr($out, $o, 30000);
                $rec .= pack('CCnnCC', 1, 6, 1, length $piece, 0, 0) . $piece;
            }
            $rec .= pack('CCnnCC', 1, 6, 1, 0, 0, 0)
                    . pack('CCnnCC', 1, 3, 1, 8, 0, 0) . "\0" x 8;
            syswrite $c, $rec;
            close $c;
        }
        POSIX::_exit(0);
    }
    close $ls;
}
END {
    local $?;                       # the test's exit status stays
    if ($fcgi_pid) { kill 'KILL', $fcgi_pid; waitpid $fcgi_pid, 0 }
}

$f->write_file('html/sa/doc.txt', 'the file itself, not sent');
$f->write_file('html/sa/doc.txt.gz', $gz);
$f->write_file('html/sa/only.txt.gz', $gz);
$f->write_file('html/so/only.txt.gz', $gz);
$f->write_file('html/sa/bad.txt', 'x');
$f->write_file('html/sa/bad.txt.gz', $corrupt);
$f->allow_log(qr/inflate\(\) failed: -3 .* while gunzipping the response/,
              qr/gzip body truncated while gunzipping/);
$f->start or do { done_testing; exit };

my $AE = ['Accept-Encoding' => 'gzip'];

sub get {
    my ($path, @h) = @_;
    my %o;
    while (@h && !ref $h[0] && $h[0] =~ /^-(\w+)$/) {
        shift @h;
        $o{$1} = shift @h;
    }
    my $req = build_request(path => $path, version => $o{version} // '1.1',
                            method => $o{method} // 'GET',
                            headers => [Connection => 'close', @h]);
    return http($port, $req, timeout => 10,
                head => ($o{method} // '') eq 'HEAD');
}

sub is_gunzipped {
    my ($r, $want, $name) = @_;
    is($r->{status}, 200, "$name: 200") or diag($r->{error} // $r->{raw});
    ok(!exists $r->{headers}{'content-encoding'}, "$name: no Content-Encoding")
        or diag($r->{headers}{'content-encoding'});
    ok(!exists $r->{headers}{'content-length'}, "$name: no Content-Length");
    ok(!exists $r->{headers}{'accept-ranges'}, "$name: no Accept-Ranges");
    ok(!$r->{error} && defined $r->{body} && $r->{body} eq $want,
       "$name: the decompressed body, " . length($want) . " bytes exactly")
        or diag(($r->{error} // '') . ' ' . length($r->{body} // '') . ' bytes');
}

sub is_passed {
    my ($r, $name) = @_;
    is($r->{headers}{'content-encoding'}, 'gzip', "$name: Content-Encoding: gzip");
    is($r->{headers}{'content-length'}, length $gz, "$name: its Content-Length");
    ok(defined $r->{body} && $r->{body} eq $gz, "$name: the gzip bytes untouched");
}

# ---- a backend that always sends gzip ----

for my $mode ('length', 'chunked', 'close') {
    my $r = get("/p/$mode");
    is_gunzipped($r, $text, "$mode backend, no Accept-Encoding");
    ok($r->{chunked}, "$mode: chunked to the HTTP/1.1 client");
    is($r->{headers}{vary}, 'Accept-Encoding', "$mode: the backend's Vary kept");
    is($r->{headers}{etag}, 'W/"e1"', "$mode: the ETag made weak");
    $r = get("/small/$mode");
    is_gunzipped($r, $text, "$mode backend, gunzip_buffers 2 512");
}
is_passed(get('/p/length', @$AE), 'Accept-Encoding: gzip');
{
    my $r = get('/p/length', @$AE);
    is($r->{headers}{etag}, '"e1"', 'Accept-Encoding: gzip: the strong ETag');
    is($r->{headers}{'accept-ranges'}, 'bytes', '... and Accept-Ranges');
}
is_gunzipped(get('/p/length', 'Accept-Encoding' => 'gzip;q=0, br'), $text,
             'Accept-Encoding: gzip;q=0');
is_gunzipped(get('/p/chunked', -version => '1.0', @$AE), $text,
             'HTTP/1.0 client (gzip_http_version 1.1)');
is_gunzipped(get('/p/length', 'Via' => '1.1 proxy', @$AE), $text,
             'a request with Via (gzip_proxied off)');
{
    my $r = get('/p/chunked', -version => '1.0');
    ok(!$r->{chunked} && $r->{close_delimited},
       'HTTP/1.0 client: the body ends with the connection');
}

# keep-alive: decompressed responses one after another on one connection
{
    my @req = map { build_request(path => $_) } '/p/length', '/p/chunked';
    my ($res, $closed) = http_keepalive($port, \@req);
    is(scalar @$res, 2, 'two gunzipped responses on one connection');
    ok(!$closed && ($res->[0]{body} // '') eq $text
       && ($res->[1]{body} // '') eq $text, '... both whole, connection kept');
}

is_gunzipped(get('/p/multi-chunked'), "first member\nsecond member\n",
             'two gzip members one after the other, in 5-byte chunks');
is_gunzipped(get('/p/multi-length'), "first member\nsecond member\n",
             'two members, Content-Length');

{
    my $r = get('/p/length', -method => 'HEAD');
    is($r->{status}, 200, 'HEAD: 200');
    ok(!exists $r->{headers}{'content-encoding'}, 'HEAD: no Content-Encoding');
    ok(!exists $r->{headers}{'content-length'},
       'HEAD: no Content-Length (the decompressed length is not known)');
    is($r->{body} // '', '', 'HEAD: no body');
    for my $s (204, 304) {
        $r = get("/p/status$s");
        is($r->{status}, $s, "$s passed");
        ok(!exists $r->{headers}{'content-encoding'}, "$s: no Content-Encoding");
    }
}

# the backend ignores Range here; ferry drops Accept-Ranges and sends all
is_gunzipped(get('/p/length', Range => 'bytes=0-99'), $text,
             'Range: the whole body decompressed');

{
    my $r = get('/off/length');
    is_passed($r, 'gunzip off');
    $r = get('/p/plain');
    is($r->{body}, $text, 'an uncompressed response: as it is');
    is($r->{headers}{'content-length'}, length $text, '... with its length');
    $r = get('/vary/novary-length');
    is($r->{headers}{vary}, 'Accept-Encoding', 'gzip_vary on: Vary added');
    $r = get('/vary/novary-length', @$AE);
    is($r->{headers}{vary}, 'Accept-Encoding', '... also to the gzip response passed');
    $r = get('/p/novary-length');
    ok(!exists $r->{headers}{vary}, 'gzip_vary off: none added');
    $r = get('/vary/novary-length');
    is($r->{body}, $text, 'gzip_vary on: gunzipped');
}

# corrupt and truncated gzip: logged, and the response cut short (no
# last chunk), never complete-looking
for my $what ('corrupt', 'truncated') {
    for my $mode ('length', 'chunked') {
        my $r = get("/p/$what-$mode");
        like($r->{raw} // '', qr{^HTTP/1\.1 200 }, "$what $mode: the header went");
        ok($r->{error} || ($r->{body} // '') ne $text,
           "$what $mode: the body is cut short, not a complete response");
    }
}
{
    my $log = '';
    wait_until { $log = $f->error_log; $log =~ /truncated/ } 5;
    like($log, qr/\[error\] .*inflate\(\) failed: -3 \(.*\) while gunzipping the response to client 127\.0\.0\.1, request "GET \/p\/corrupt-length HTTP\/1\.1"/,
         'corrupt gzip: logged with the request');
    like($log, qr/\[error\] .*gzip body truncated while gunzipping the response to client 127\.0\.0\.1, request "GET \/p\/truncated-chunked/,
         'truncated gzip: logged');
}
is_gunzipped(get('/p/chunked'), $text, 'and the next response is whole');

# ---- FastCGI ----

is_gunzipped(get('/fcgi/x'), $text, 'FastCGI gzip response, no Accept-Encoding');
{
    my $r = get('/fcgi/x', @$AE);
    is($r->{headers}{'content-encoding'}, 'gzip',
       'FastCGI gzip response, Accept-Encoding: gzip: as it is');
    is($r->{body}, $gz, '... byte for byte');
}

# ---- gzip_static always ----

{
    my $r = get('/sa/doc.txt');
    is_gunzipped($r, $text, 'gzip_static always, no Accept-Encoding');
    like($r->{headers}{etag} // '', qr{^W/"}, 'gzip_static always: weak ETag');
    $r = get('/sa/doc.txt', @$AE);
    is_passed($r, 'gzip_static always, Accept-Encoding: gzip');
    $r = get('/sa/doc.txt', Range => 'bytes=0-9');
    is_gunzipped($r, $text, 'gzip_static always, Range: no 206');
    $r = get('/sa/doc.txt', -method => 'HEAD');
    ok(!exists $r->{headers}{'content-encoding'}
       && !exists $r->{headers}{'content-length'},
       'gzip_static always, HEAD: neither Content-Encoding nor Content-Length');
    $r = get('/sa/doc.txt', -version => '1.0');
    is($r->{body}, $text, 'gzip_static always, HTTP/1.0: to the close');
    $r = get('/sa/only.txt');
    is_gunzipped($r, $text, 'gzip_static always, only NAME.gz on disk, no Accept-Encoding');
    is_passed(get('/sa/only.txt', @$AE), 'gzip_static always, only NAME.gz, Accept-Encoding: gzip');
    is(get('/sa/none.txt')->{status}, 404, 'neither NAME nor NAME.gz: 404');
    is_passed(get('/so/only.txt', @$AE), 'gzip_static on, only NAME.gz, Accept-Encoding: gzip');
    is(get('/so/only.txt')->{status}, 404,
       'gzip_static on, only NAME.gz, no Accept-Encoding: 404');
    is(get('/sa/only.txt', -method => 'POST')->{status}, 404,
       'only NAME.gz, POST: 404 (as nginx: gzip_static serves GET and HEAD)');
    $r = get('/sa/bad.txt');
    ok($r->{error} && $r->{raw} =~ m{^HTTP/1\.1 200 },
       'gzip_static always, a corrupt .gz: the response cut short');
    my $log = '';
    wait_until { $log = $f->error_log; $log =~ m{request "GET /sa/bad} } 5;
    like($log, qr{\[error\] .*inflate\(\) failed: -3 .*request "GET /sa/bad\.txt},
         '... and logged');
}

# ---- the proxy cache stores the gzip response ----

{
    my $r = get('/c/novary-length');
    is($r->{headers}{'x-cache'}, 'MISS', 'cache: MISS');
    is_gunzipped($r, $text, 'cache MISS, no Accept-Encoding');
    $r = get('/c/novary-length');
    is($r->{headers}{'x-cache'}, 'HIT', 'cache: HIT');
    is_gunzipped($r, $text, 'cache HIT, no Accept-Encoding');
    is($r->{headers}{etag}, 'W/"e1"', 'cache HIT: weak ETag');
    $r = get('/c/novary-length', @$AE);
    is($r->{headers}{'x-cache'}, 'HIT', 'cache: HIT with Accept-Encoding');
    is_passed($r, 'cache HIT, Accept-Encoding: gzip');
    $r = get('/c/novary-length', Range => 'bytes=0-9');
    is_gunzipped($r, $text, 'cache HIT, Range: no 206');
    $r = get('/c/novary-length', -method => 'HEAD');
    ok(!exists $r->{headers}{'content-encoding'}, 'cache HIT, HEAD: no Content-Encoding');
    $r = get('/c/novary-length', -version => '1.0');
    is($r->{body}, $text, 'cache HIT, HTTP/1.0: to the close');
}

# ---- $gzip_ratio: ferry's own gzip only ----

{
    my $r = get('/z/plain', @$AE);
    is($r->{headers}{'content-encoding'}, 'gzip', 'gzip on: compressed');
    my @l;
    wait_until {
        @l = split /\n/, Ferry::Test::read_file($f->prefix . '/logs/gz.log') // '';
        grep { m{^/z/plain } } @l;
    } 5;
    my ($z) = grep { m{^/z/plain } } @l;
    like($z // '', qr{^/z/plain \d+\.\d\d$}, '$gzip_ratio of ferry\'s gzip: N.NN');
    my ($s) = grep { m{^/sa/doc.txt } } @l;
    is($s, '/sa/doc.txt -', '$gzip_ratio of a gunzipped response: empty');
}

$f->stop;

# ---- configuration errors ----

my %bad = (
    'gunzip maybe;'            => qr/"gunzip" directive invalid value "maybe".* in \S+:3/,
    'gunzip_buffers 0 4k;'     => qr/invalid value "0 4k" in "gunzip_buffers".* in \S+:3/,
    'gunzip_buffers 4 100;'    => qr/invalid value "4 100" in "gunzip_buffers".* in \S+:3/,
    'gunzip_buffers 4;'        => qr/invalid number of arguments in "gunzip_buffers" directive in \S+:3/,
    "gunzip on;\n    gunzip off;" => qr/"gunzip" directive is duplicate in \S+:4/,
    "gunzip_buffers 4 4k;\n    gunzip_buffers 8 4k;"
                               => qr/"gunzip_buffers" directive is duplicate in \S+:4/,
);
for my $d (sort keys %bad) {
    my $c = Ferry::Test->new(conf => "events { }\nhttp {\n    $d\n}\n");
    my ($code, $out) = $c->run('-t');
    isnt($code, 0, "-t refuses: $d");
    like($out, $bad{$d}, '... and names file and line') or diag($out);
}
{
    my $c = Ferry::Test->new(conf => "events { gunzip on; }\nhttp { }\n");
    my ($code, $out) = $c->run('-t');
    isnt($code, 0, '-t refuses gunzip in events');
    like($out, qr/"gunzip" directive is not allowed here in \S+:1/,
         '... and names file and line') or diag($out);
}

done_testing;
