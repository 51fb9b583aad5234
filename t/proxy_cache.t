#!/usr/bin/perl

# The proxy cache: proxy_cache_path, proxy_cache, proxy_cache_key,
# proxy_cache_valid, proxy_cache_methods, proxy_cache_bypass,
# proxy_no_cache, proxy_cache_use_stale (error, updating, 4xx, invalid_header), proxy_cache_lock,
# proxy_cache_min_uses, proxy_cache_revalidate, inactive and max_size,
# $upstream_cache_status,
# against a real backend that counts its requests: MISS then HIT (the
# backend asked once), keys with arguments, validity that runs out
# (EXPIRED), a 304 to a revalidation (REVALIDATED), responses that must not be kept (no-store, private,
# Set-Cookie, Vary: *, X-Accel-Expires: 0) and X-Accel-Expires /
# max-age that keep them, proxy_ignore_headers, bypass and no_cache,
# POST not cached, HEAD answered from a GET's entry, proxy_cache_convert_head, a Range of a HIT,
# the client's Range and conditions not sent up on a MISS,
# a chunked 1 MiB body kept byte for byte, a client leaving mid-body
# leaves no broken entry, two workers sharing one entry, entries kept
# across a reload and a restart, a stale entry answering while the
# backend is down, the files in the levels layout, three requests at
# once with proxy_cache_lock (one to the backend), min_uses 2, an idle
# entry removed, max_size pushing out the oldest entry, and
# configuration errors with file and line.
#
# Every test fails without the cache: the configuration is refused
# ("unknown directive").

use strict;
use warnings;

use Test::More;
use Ferry::Test;
use Digest::MD5 qw(md5_hex);
use IO::Uncompress::Gunzip qw(gunzip);
use IO::Socket::INET;
use Time::HiRes ();

my $big = join '', map { sprintf "%07d\n", $_ } 0 .. 131071;    # 1 MiB

sub handler {
    my ($req) = @_;
    my $u = $req->{uri};
    my @h = ('Content-Type' => 'text/plain');
    return { status => 200, headers => [@h, 'Cache-Control' => 'no-store'],
             body => "nostore\n" } if $u =~ m{^/nostore};
    return { status => 200, headers => [@h, 'Cache-Control' => 'private'],
             body => "private\n" } if $u =~ m{^/private};
    return { status => 200, headers => [@h, 'Set-Cookie' => 'a=b'],
             body => "cookie\n" } if $u =~ m{^(/ign)?/cookie};
    return { status => 200, headers => [@h, 'Vary' => '*'],
             body => "vary\n" } if $u =~ m{^/vary};
    return { status => 200, headers => [@h, 'X-Accel-Expires' => '0'],
             body => "xae0\n" } if $u =~ m{^/xae0};
    return { status => 200, headers => [@h, 'X-Accel-Expires' => '60',
                                        'Cache-Control' => 'no-cache'],
             body => "xae60\n" } if $u =~ m{^/xae60};
    return { status => 200, headers => [@h, 'Cache-Control' =>
                                        'public, max-age=60'],
             body => "maxage\n" } if $u =~ m{^/maxage};
    if ($u =~ m{^/rv}) {
        my ($inm) = map { $_->[1] }
                    grep { lc $_->[0] eq 'if-none-match' } @{ $req->{headers} };
        return { status => 304, headers => ['ETag' => '"v1"'] }
            if defined $inm && $inm eq '"v1"';
        return { status => 200, body => "rv body\n",
                 headers => [@h, 'ETag' => '"v1"',
                             'Last-Modified' => 'Mon, 02 Nov 2026 10:00:00 GMT'] };
    }
    if ($u =~ m{^(/post|/mro)?/cond}) {
        # a server that honours Range and If-None-Match, and says which
        # of the client's conditions reached it
        my %in = map { lc $_->[0] => $_->[1] } @{ $req->{headers} };
        my $saw = join(',', grep { exists $in{$_} }
                       qw(range if-range if-none-match if-match
                          if-modified-since if-unmodified-since)) || '-';
        my $body = "cond body, saw $saw\n";
        return { status => 304, headers => ['ETag' => '"c1"'] }
            if ($in{'if-none-match'} // '') eq '"c1"';
        if (($in{range} // '') =~ /^bytes=(\d*)-(\d*)$/) {
            my ($from, $to) = $1 eq '' ? (length($body) - $2, length($body) - 1)
                                       : ($1, $2);
            return { status => 206, body => substr($body, $from,
                                                   $to - $from + 1),
                     headers => [@h, 'ETag' => '"c1"', 'Content-Range' =>
                                 "bytes $from-$to/" . length $body] };
        }
        return { status => 200, body => $body, headers => [@h, 'ETag' => '"c1"'] };
    }
    return { status => 404, headers => \@h, body => "none\n" }
        if $u =~ m{^/missing};
    return { status => 200, headers => \@h, body => $big, mode => 'chunked',
             chunk_size => 30000 } if $u =~ m{^/big};
    return { status => 200, headers => [@h, 'X-Up' => 'yes'],
             body => "body of $req->{method} $u\n" };
}

my $f = Ferry::Test->new(conf => main_conf() . <<'EOF');
worker_processes 1;
events { worker_connections 64; }
http {
    log_format cs '$request_uri $upstream_cache_status';
    access_log logs/access.log cs;
    proxy_cache_path cache levels=1:2 keys_zone=one:1m inactive=10m
                     max_size=64m use_temp_path=off;
    upstream app { server 127.0.0.1:%%PORT_1%%; }
    server {
        listen 127.0.0.1:%%PORT_0%%;
        add_header X-Cache $upstream_cache_status always;
        proxy_cache one;
        proxy_cache_valid 200 10m;
        location / {
            proxy_pass http://app;
            proxy_cache_bypass $arg_nocache;
        }
        location /v1 {
            proxy_pass http://app;
            proxy_cache_valid 200 2s;
        }
        location /rv {
            proxy_pass http://app;
            proxy_cache_valid 200 2s;
            proxy_cache_revalidate on;
            add_header X-Up-Status $upstream_status;
            add_header X-Cache $upstream_cache_status;
        }
        location /nc {
            proxy_pass http://app;
            proxy_cache_key $uri;
            proxy_no_cache $http_x_nostore;
        }
        location /ign {
            proxy_pass http://app;
            proxy_ignore_headers Set-Cookie Cache-Control;
        }
        location /nocache {
            proxy_pass http://app;
            proxy_cache off;
        }
        location /post {
            proxy_pass http://app;
        }
        location /nohc/ {
            proxy_pass http://app;
            proxy_cache_convert_head off;
        }
        location /mro/ {
            proxy_pass http://app;
            proxy_cache_max_range_offset 2;
        }
        location /condset {
            proxy_pass http://app;
            proxy_set_header Range $http_range;
        }
        location /postok {
            proxy_pass http://app;
            proxy_cache_methods POST;
        }
        # the filters act on HITs as on MISSes (nginx's run after the
        # cache)
        location /gz {
            proxy_pass http://app;
            gzip on;
            gzip_min_length 1;
            gzip_vary on;
            gzip_types text/plain;
        }
        location /subf {
            proxy_pass http://app;
            sub_filter 'body' 'BODY';
            sub_filter_types text/plain;
        }
    }
}
EOF

my $b = Ferry::Test::Backend->new(port => $f->port(1), handler => \&handler);
$f->start or BAIL_OUT('ferry did not start');
my $port = $f->port(0);

sub get {
    my ($path, @h) = @_;
    return http_get($port, $path, @h);
}

sub hits {
    my ($path) = @_;
    return scalar grep { $_ eq "GET $path" || $_ eq "HEAD $path"
                         || $_ eq "POST $path" } $b->request_lines;
}

# ---- MISS, then HIT ----
my $r = get('/a');
is($r->{status}, 200, 'first: 200');
is($r->{body}, "body of GET /a\n", 'first: the body');
is($r->{headers}{'x-cache'}, 'MISS', 'first: MISS');
$r = get('/a');
is($r->{status}, 200, 'second: 200');
is($r->{body}, "body of GET /a\n", 'second: the same body');
is($r->{headers}{'x-cache'}, 'HIT', 'second: HIT');
is($r->{headers}{'x-up'}, 'yes', 'HIT: the upstream\'s fields');
is($r->{headers}{'content-type'}, 'text/plain', 'HIT: its Content-Type');
is($r->{headers}{'content-length'}, length("body of GET /a\n"),
   'HIT: Content-Length');
is(hits('/a'), 1, 'the backend was asked once');

# ---- HITs on one kept-alive connection ----
{
    my $req = "GET /a HTTP/1.1\r\nHost: x\r\n\r\n";
    my ($res, $closed) = http_keepalive($port, [$req, $req, $req]);
    is(scalar(grep { ($_->{headers}{'x-cache'} // '') eq 'HIT'
                     && $_->{body} eq "body of GET /a\n" } @$res), 3,
       'keep-alive: three HITs on one connection');
    ok(!$closed, 'keep-alive: the connection stays open');
}

# ---- gzip and sub_filter on a HIT, as on the MISS ----
{
    my $want = "body of GET /gz/z\n" x 1;
    for my $i (1, 2) {
        my $r = get('/gz/z', 'Accept-Encoding' => 'gzip');
        my $plain;
        gunzip(\$r->{body} => \$plain);
        is(($r->{headers}{'x-cache'} // '') . ' '
           . ($r->{headers}{'content-encoding'} // 'none') . ' '
           . ($r->{headers}{vary} // 'no vary') . ' ' . ($plain // ''),
           ($i == 1 ? 'MISS' : 'HIT') . " gzip Accept-Encoding $want",
           "gzip on: the " . ($i == 1 ? 'MISS' : 'HIT') . ' compressed');
    }
    my $r = get('/gz/z');
    is(($r->{headers}{'x-cache'} // '') . ' '
       . ($r->{headers}{'content-encoding'} // 'none') . ' '
       . ($r->{headers}{vary} // 'no vary') . ' ' . $r->{body},
       "HIT none Accept-Encoding $want",
       'gzip on, a client without gzip: the HIT plain, with gzip_vary\'s '
       . 'Vary');
    is(hits('/gz/z'), 1, '... one entry for both');
    for my $i (1, 2) {
        my $r = get('/subf/s');
        is(($r->{headers}{'x-cache'} // '') . ' ' . $r->{body},
           ($i == 1 ? 'MISS' : 'HIT') . " BODY of GET /subf/s\n",
           'sub_filter: the ' . ($i == 1 ? 'MISS' : 'HIT') . ' substituted');
    }
    $r = get('/subf/s', Range => 'bytes=0-3');
    is($r->{status} . ' ' . $r->{body}, "200 BODY of GET /subf/s\n",
       'sub_filter: a Range of a HIT gets the whole filtered body, as for '
       . 'a static file');
}

# ---- the levels layout: cache/<last>/<two before>/<md5 of the key> ----
{
    my $md5 = md5_hex('httpapp/a');
    my $file = $f->prefix . '/cache/' . substr($md5, -1) . '/'
               . substr($md5, -3, 2) . "/$md5";
    ok(-f $file, 'the entry\'s file is in the levels layout');
    my $data = Ferry::Test::read_file($file) // '';
    like($data, qr/httpapp\/a/, 'the file holds the key');
    like($data, qr/body of GET \/a\n\z/, 'the file ends with the body');
}

# ---- keys with arguments ----
is(get('/k?x=1')->{headers}{'x-cache'}, 'MISS', 'args: ?x=1 MISS');
is(get('/k?x=2')->{headers}{'x-cache'}, 'MISS', 'args: ?x=2 MISS');
$r = get('/k?x=1');
is($r->{headers}{'x-cache'}, 'HIT', 'args: ?x=1 again HIT');
is($r->{body}, "body of GET /k?x=1\n", 'args: its own body');

# ---- validity that runs out (times are whole seconds, as in nginx:
# 2s is between 1 and 2 seconds) ----
is(get('/v1')->{headers}{'x-cache'}, 'MISS', '2s: MISS');
is(get('/v1')->{headers}{'x-cache'}, 'HIT', '2s: HIT at once');
sleep 3;
is(get('/v1')->{headers}{'x-cache'}, 'EXPIRED', '2s: EXPIRED after 3s');
is(get('/v1')->{headers}{'x-cache'}, 'HIT', '2s: the new one HIT');
is(hits('/v1'), 2, '2s: the backend asked twice');

# ---- proxy_cache_revalidate ----
is(get('/rv')->{headers}{'x-cache'}, 'MISS', 'revalidate: MISS');
sleep 3;
$r = get('/rv');
is($r->{status}, 200, 'revalidate: 200 to the client');
is($r->{headers}{'x-cache'}, 'REVALIDATED', 'revalidate: REVALIDATED');
is($r->{headers}{'x-up-status'}, '304', 'revalidate: the backend said 304');
is($r->{body}, "rv body\n", 'revalidate: the stored body');
is($r->{headers}{etag}, '"v1"', 'revalidate: the stored ETag');
$r = get('/rv');
is($r->{headers}{'x-cache'}, 'HIT', 'revalidate: fresh again, HIT');
$r = get('/rv', 'If-None-Match' => 'W/"v1"');
is($r->{status}, 304, 'HIT with If-None-Match of its ETag: 304');
is($r->{body}, '', '304: no body');
is(get('/rv', 'If-None-Match' => '"v2"')->{status}, 200,
   'HIT with another ETag: 200');
is(get('/rv', 'If-Modified-Since' => 'Mon, 02 Nov 2026 10:00:00 GMT')
       ->{status}, 304, 'HIT with If-Modified-Since of its Last-Modified: 304');
is(hits('/rv'), 2, 'revalidate: the backend asked twice');

# ---- responses that are not kept ----
for my $p ('/nostore', '/private', '/cookie', '/vary', '/xae0', '/missing') {
    get($p);
    $r = get($p);
    is($r->{headers}{'x-cache'}, 'MISS', "$p: not kept (MISS again)");
    is(hits($p), 2, "$p: the backend asked twice");
}
# ... and those their own fields keep
get('/xae60');
is(get('/xae60')->{headers}{'x-cache'}, 'HIT',
   'X-Accel-Expires: 60 keeps it over Cache-Control: no-cache');
get('/maxage');
is(get('/maxage')->{headers}{'x-cache'}, 'HIT', 'max-age=60 keeps it');
get('/ign/cookie');
is(get('/ign/cookie')->{headers}{'x-cache'}, 'HIT',
   'proxy_ignore_headers Set-Cookie: kept');
is(get('/ign/cookie')->{headers}{'set-cookie'}, 'a=b',
   '... and its Set-Cookie still sent');

# ---- bypass, no_cache, off ----
get('/b');
$r = get('/b?nocache=1');
is($r->{headers}{'x-cache'}, 'BYPASS', 'proxy_cache_bypass: BYPASS');
is(get('/b?nocache=0')->{headers}{'x-cache'}, 'MISS',
   'proxy_cache_bypass "0": looked up');
get('/nc', 'X-Nostore' => '1');
is(get('/nc')->{headers}{'x-cache'}, 'MISS', 'proxy_no_cache: not stored');
is(get('/nc')->{headers}{'x-cache'}, 'HIT', '... stored without it');
get('/nocache');
$r = get('/nocache');
ok(!defined $r->{headers}{'x-cache'}, 'proxy_cache off: no status');
is(hits('/nocache'), 2, 'proxy_cache off: backend asked twice');

# ---- methods ----
for (1 .. 2) {
    $r = http($port, build_request(method => 'POST', path => '/post',
                                   body => 'x',
                                   headers => [Connection => 'close']));
}
is($r->{status}, 200, 'POST: 200');
ok(!defined $r->{headers}{'x-cache'}, 'POST: not for the cache');
is(hits('/post'), 2, 'POST: the backend asked twice');
for (1 .. 2) {
    $r = http($port, build_request(method => 'POST', path => '/postok',
                                   body => 'x',
                                   headers => [Connection => 'close']));
}
is($r->{headers}{'x-cache'}, 'HIT', 'proxy_cache_methods POST: HIT');

get('/h');
$r = http($port, build_request(method => 'HEAD', path => '/h',
                               headers => [Connection => 'close']),
          head => 1);
is($r->{status}, 200, 'HEAD after GET: 200');
is($r->{headers}{'x-cache'}, 'HIT', 'HEAD after GET: HIT');
is($r->{body}, '', 'HEAD: no body');
is($r->{headers}{'content-length'}, length("body of GET /h\n"),
   'HEAD: the entry\'s length');
is(hits('/h'), 1, 'HEAD: the backend asked once');

# ---- proxy_cache_convert_head (on by default) ----
# A HEAD that misses goes up as a GET, the answer is stored, the client
# gets the header alone, and the connection goes on.
{
    my ($res, $closed) = http_keepalive($port, [
        "HEAD /hc HTTP/1.1\r\nHost: x\r\n\r\n",
        "GET /hc HTTP/1.1\r\nHost: x\r\n\r\n",
        "HEAD /big?hc HTTP/1.1\r\nHost: x\r\n\r\n",
        "GET /big?hc HTTP/1.1\r\nHost: x\r\n\r\n"]);
    is(scalar @$res, 4, 'convert_head: four answers on one connection');
    is($res->[0]{status}, 200, 'convert_head: the HEAD MISS is a 200');
    is($res->[0]{headers}{'x-cache'}, 'MISS', '... MISS');
    is($res->[0]{body}, '', '... with no body');
    is($res->[0]{headers}{'content-length'}, length("body of GET /hc\n"),
       '... and the length of the GET\'s body');
    is($res->[1]{headers}{'x-cache'}, 'HIT', 'the GET after it: HIT');
    is($res->[1]{body}, "body of GET /hc\n", '... the body the GET fetched');
    is($res->[2]{body}, '', 'a HEAD MISS of a chunked 1 MiB body: no body');
    is($res->[3]{headers}{'x-cache'}, 'HIT', '... the GET after it: HIT');
    is(md5_hex($res->[3]{body} // ''), md5_hex($big), '... the whole MiB');
    ok(!$closed, '... and the connection stays open');
    is(hits('/hc'), 1, 'convert_head: the backend asked once');
    ok((grep { $_ eq 'GET /hc' } $b->request_lines),
       '... with a GET');
}
$r = http($port, build_request(method => 'HEAD', path => '/nohc/x'), head => 1);
is($r->{headers}{'x-cache'}, 'MISS', 'convert_head off: a HEAD MISS');
ok((grep { $_ eq 'HEAD /nohc/x' } $b->request_lines),
   '... goes up as a HEAD');
is(get('/nohc/x')->{headers}{'x-cache'}, 'MISS', '... and is not stored');

# ---- Range on a HIT ----
$r = get('/h', Range => 'bytes=0-3');
is($r->{status}, 206, 'Range on a HIT: 206');
is($r->{body}, 'body', 'Range: the bytes asked for');
is($r->{headers}{'content-range'}, 'bytes 0-3/' . length("body of GET /h\n"),
   'Range: Content-Range');

# ---- the client's range and conditions stay with the cache ----
# (nginx: a cached location asks the upstream for the whole response)
$r = get('/cond/r', Range => 'bytes=0-3', 'If-Range' => '"c1"',
         'If-Match' => '"c1"', 'If-Unmodified-Since' =>
         'Mon, 02 Nov 2026 10:00:00 GMT');
is($r->{status}, 200, 'Range on a MISS: the whole 200 comes back');
is($r->{body}, "cond body, saw -\n",
   '... the upstream saw no Range, If-Range, If-Match, If-Unmodified-Since');
is($r->{headers}{'x-cache'}, 'MISS', '... a MISS');
$r = get('/cond/r', Range => 'bytes=0-3');
is($r->{status}, 206, '... and it was stored: the next Range is a HIT\'s 206');
is($r->{body}, 'cond', '... with the bytes asked for');
is($r->{headers}{'x-cache'}, 'HIT', '... HIT');
$r = get('/cond/e', 'If-None-Match' => '"c1"', 'If-Modified-Since' =>
         'Mon, 02 Nov 2026 10:00:00 GMT');
is($r->{status}, 200, 'If-None-Match on a MISS: the whole 200 comes back');
is($r->{body}, "cond body, saw -\n",
   '... the upstream saw neither If-None-Match nor If-Modified-Since');
$r = get('/cond/e', 'If-None-Match' => '"c1"');
is($r->{status}, 304, '... stored: the next one is the HIT\'s 304');
is($r->{headers}{'x-cache'}, 'HIT', '... HIT');
$r = get('/condset', Range => 'bytes=0-3');
is($r->{status}, 206, 'proxy_set_header Range $http_range: the Range goes up');
is($r->{body}, 'cond', '... the upstream\'s 206');
$r = get('/condset');
is($r->{headers}{'x-cache'}, 'MISS', '... and its 206 was not stored');
$r = http($port, build_request(method => 'POST', path => '/post/cond',
                               body => 'x', headers => [Range => 'bytes=0-3']));
is($r->{body}, 'cond', 'a POST (not for the cache) passes its Range on');

# ---- proxy_cache_max_range_offset 2 ----
$r = get('/mro/cond', Range => 'bytes=5-8');
is($r->{status}, 206, 'max_range_offset: a range past it goes up as asked');
is($r->{body}, 'body', '... the upstream\'s 206 (it saw the Range)');
is($r->{headers}{'x-cache'}, 'MISS', '... a MISS');
$r = get('/mro/cond');
is($r->{headers}{'x-cache'}, 'MISS', '... and its answer was not stored');
is($r->{body}, "cond body, saw -\n", '... this plain GET is stored');
$r = get('/mro/cond', Range => 'bytes=11-14');
is($r->{status}, 206, 'max_range_offset: a HIT still answers a range past it');
is($r->{body}, 'saw ', '... from the entry');
is($r->{headers}{'x-cache'}, 'HIT', '... HIT');
$r = get('/mro/cond?s', Range => 'bytes=-4');
is($r->{body}, "nge\n", 'max_range_offset: a suffix range goes up');
is($r->{headers}{'x-cache'}, 'MISS', '... MISS');
$r = get('/mro/cond?b', Range => 'bytes=1-3');
is($r->{status}, 200, 'max_range_offset: a range before it is the cache\'s');
is($r->{body}, "cond body, saw -\n", '... the whole body was asked for');
is(get('/mro/cond?b', Range => 'bytes=1-3')->{headers}{'x-cache'}, 'HIT',
   '... and stored');

# ---- a chunked 1 MiB body ----
$r = get('/big');
is($r->{headers}{'x-cache'}, 'MISS', 'big: MISS');
ok($r->{body} eq $big, 'big: the body relayed intact');
$r = get('/big');
is($r->{headers}{'x-cache'}, 'HIT', 'big: HIT');
ok($r->{body} eq $big, 'big: the body from the cache intact');
is($r->{headers}{'content-length'}, length $big, 'big: its length');

# ---- a client that leaves mid-body ----
{
    my $s = IO::Socket::INET->new(PeerAddr => "127.0.0.1:$port");
    print $s "GET /big/abort HTTP/1.1\r\nHost: x\r\n\r\n";
    my $got = '';
    sysread $s, $got, 1000;
    close $s;
    wait_until { hits('/big/abort') == 1 } 5;
    sleep 1;
    $r = get('/big/abort');
    ok($r->{body} eq $big, 'after a client left mid-body: the body intact');
    my @tmp = grep { /\.tmp$/ } split /\n/,
        `find ${\ $f->prefix}/cache -type f`;
    is(scalar @tmp, 0, 'no temporary file left');
}

# ---- the access log ----
wait_until { (Ferry::Test::read_file($f->prefix . '/logs/access.log') // '')
             =~ m{^/a HIT$}m } 5;
my $log = Ferry::Test::read_file($f->prefix . '/logs/access.log') // '';
like($log, qr{^/a MISS$}m, 'access log: MISS');
like($log, qr{^/a HIT$}m, 'access log: HIT');

# ---- reload keeps the entries ----
{
    my $n = () = $f->error_log =~ /reload done/g;
    kill 'HUP', $f->master_pid;
    ok((wait_until { (() = $f->error_log =~ /reload done/g) > $n } 10),
       'reloaded');
    is(get('/a')->{headers}{'x-cache'}, 'HIT', 'after a reload: HIT');
    is(hits('/a'), 1, 'after a reload: the backend not asked');
}

my $cache_dir = $f->prefix . '/cache';
$f->stop;

# ---- a restart finds the files; two workers share the entries ----
{
    my $g = Ferry::Test->new(conf => main_conf() . <<"EOF");
worker_processes 2;
events { worker_connections 64; }
http {
    proxy_cache_path $cache_dir levels=1:2 keys_zone=one:1m;
    upstream app { server 127.0.0.1:%%PORT_1%%; }
    server {
        listen 127.0.0.1:%%PORT_0%%;
        add_header X-Cache \$upstream_cache_status;
        add_header X-Pid \$pid;
        proxy_cache one;
        proxy_cache_valid 200 10m;
        location / { proxy_pass http://app; }
    }
}
EOF
    my $b2 = Ferry::Test::Backend->new(port => $g->port(1),
                                       handler => \&handler);
    $g->start;
    $g->wait_workers(2);
    $r = http_get($g->port(0), '/a');
    is($r->{headers}{'x-cache'}, 'HIT', 'after a restart: the file is used');
    my (%pids, %status);
    for (1 .. 20) {
        $r = http_get($g->port(0), '/shared');
        $pids{$r->{headers}{'x-pid'} // ''}++;
        $status{$r->{headers}{'x-cache'} // ''}++;
    }
    is(scalar(grep { $_ eq 'GET /shared' } $b2->request_lines), 1,
       'two workers: the backend asked once')
        or diag(join ' ', %status);
    is($status{MISS}, 1, 'two workers: one MISS, the rest HIT');
    note('workers answering: ' . join ' ', keys %pids);
    $g->stop;
}

# ---- proxy_cache_use_stale ----
{
    my $g = Ferry::Test->new(conf => main_conf() . <<'EOF');
worker_processes 1;
events { worker_connections 64; }
http {
    proxy_cache_path cache keys_zone=st:1m;
    server {
        listen 127.0.0.1:%%PORT_0%%;
        add_header X-Cache $upstream_cache_status always;
        proxy_cache st;
        proxy_cache_valid 200 1s;
        location /stale {
            proxy_pass http://127.0.0.1:%%PORT_1%%;
            proxy_cache_use_stale error timeout http_500;
        }
        location /nostale {
            proxy_pass http://127.0.0.1:%%PORT_1%%;
        }
    }
}
EOF
    $g->allow_log(qr/connect\(\) failed|upstream answered/);
    my $b3 = Ferry::Test::Backend->new(port => $g->port(1),
                                       handler => \&handler);
    $g->start;
    is(http_get($g->port(0), '/stale')->{headers}{'x-cache'}, 'MISS',
       'use_stale: stored');
    http_get($g->port(0), '/nostale');
    sleep 2;
    $b3->stop;
    $r = http_get($g->port(0), '/stale');
    is($r->{status}, 200, 'backend down: the stale entry answers');
    is($r->{headers}{'x-cache'}, 'STALE', 'backend down: STALE');
    is($r->{body}, "body of GET /stale\n", 'backend down: its body');
    is(http_get($g->port(0), '/nostale')->{status}, 502,
       'without use_stale: 502');
    $g->stop;
}

# ---- proxy_cache_use_stale http_403 http_404 http_429 invalid_header ----
# A backend that answers 200 until a file names another answer: one of
# 403, 404, 429, or "bad" for a header that is not HTTP.
{
    my $g = Ferry::Test->new(conf => main_conf() . <<'EOF');
worker_processes 1;
events { worker_connections 64; }
http {
    proxy_cache_path cache keys_zone=s4:1m;
    server {
        listen 127.0.0.1:%%PORT_0%%;
        add_header X-Cache $upstream_cache_status always;
        proxy_cache s4;
        proxy_cache_valid 200 1s;
        location /s4/ {
            proxy_pass http://127.0.0.1:%%PORT_1%%;
            proxy_cache_use_stale http_403 http_404 http_429 invalid_header;
        }
        location /err/ {
            proxy_pass http://127.0.0.1:%%PORT_1%%;
            proxy_cache_use_stale error;
        }
    }
}
EOF
    $g->allow_log(qr/upstream sent invalid header/);
    my $mode = $g->prefix . '/mode';
    my $read_mode = sub {
        open my $fh, '<', $mode or return 'ok';
        my $m = <$fh> // 'ok';
        chomp $m;
        return $m;
    };
    my $b4 = Ferry::Test::Backend->new(port => $g->port(1), raw => sub {
        my ($sock, $req) = @_;
        my $m = $read_mode->();
        my $body = "fresh $req->{uri}\n";
        if ($m eq 'bad') {
            syswrite $sock, "NOT HTTP AT ALL\r\n\r\n";
        } elsif ($m eq 'ok') {
            syswrite $sock, "HTTP/1.1 200 OK\r\nContent-Length: "
                . length($body) . "\r\nConnection: close\r\n\r\n$body";
        } else {
            syswrite $sock, "HTTP/1.1 $m No\r\nContent-Length: 4\r\n"
                . "Connection: close\r\n\r\nno!\n";
        }
    });
    my $set_mode = sub {
        open my $fh, '>', $mode or die "$mode: $!";
        print $fh "$_[0]\n";
        close $fh;
    };
    $g->start;
    for my $u (qw(/s4/a /s4/b /s4/c /s4/d /err/bad /err/404)) {
        is(http_get($g->port(0), $u)->{headers}{'x-cache'}, 'MISS',
           "use_stale 4xx: $u stored");
    }
    sleep 2;
    my %answer = ('/s4/a' => 403, '/s4/b' => 404, '/s4/c' => 429,
                  '/s4/d' => 'bad');
    for my $u (sort keys %answer) {
        $set_mode->($answer{$u});
        my $r = http_get($g->port(0), $u);
        is($r->{status}, 200, "upstream answers $answer{$u}: $u is stale 200");
        is($r->{headers}{'x-cache'}, 'STALE', "$answer{$u}: STALE");
        is($r->{body}, "fresh $u\n", "$answer{$u}: the stored body");
    }
    # "error" alone covers neither an invalid header nor a 404 (nginx)
    $set_mode->('bad');
    is(http_get($g->port(0), '/err/bad')->{status}, 502,
       'use_stale error: an invalid header is still a 502');
    $set_mode->('404');
    my $r = http_get($g->port(0), '/err/404');
    is($r->{status}, 404, 'use_stale error: the 404 passes');
    is($r->{headers}{'x-cache'}, 'EXPIRED', 'use_stale error: EXPIRED');
    $b4->stop;
    $g->stop;
}

# ---- proxy_cache_lock, proxy_cache_min_uses, inactive, max_size ----
{
    my $g = Ferry::Test->new(conf => main_conf() . <<'EOF');
worker_processes 2;
events { worker_connections 64; }
http {
    proxy_cache_path cache levels=2 keys_zone=lk:1m inactive=1s
                     max_size=1500k;
    proxy_cache_path cache2 keys_zone=up:1m;
    server {
        listen 127.0.0.1:%%PORT_0%%;
        add_header X-Cache $upstream_cache_status always;
        proxy_cache lk;
        proxy_cache_valid 200 10m;
        location /slow {
            proxy_pass http://127.0.0.1:%%PORT_1%%;
            proxy_cache_lock on;
            # not the 5 s defaults: a loaded machine may take that long
            proxy_cache_lock_timeout 30s;
            proxy_cache_lock_age 30s;
        }
        location /uses {
            proxy_pass http://127.0.0.1:%%PORT_1%%;
            proxy_cache_min_uses 2;
        }
        location /upd {
            proxy_pass http://127.0.0.1:%%PORT_1%%;
            proxy_cache up;
            proxy_cache_valid 200 2s;
            proxy_cache_use_stale updating;
        }
        location / {
            proxy_pass http://127.0.0.1:%%PORT_1%%;
        }
    }
}
EOF
    my $b4 = Ferry::Test::Backend->new(port => $g->port(1), handler => sub {
        my ($req) = @_;
        return { status => 200, body => $big } if $req->{uri} =~ m{^/big};
        return { status => 200, body => "slow\n", delay => 1 }
            if $req->{uri} =~ m{^/slow};
        return { status => 200, body => 'upd ' . Time::HiRes::time() . "\n",
                 delay => 1 } if $req->{uri} =~ m{^/upd};
        return handler($req);
    });
    $g->start;
    $g->wait_workers(2);
    my $p = $g->port(0);
    my $count = sub { my ($u) = @_;
                      scalar grep { $_ eq "GET $u" } $b4->request_lines };

    # the first request is at the backend (it answers after 1 s) before
    # the other two are sent: they find its lock
    my @c = map { Ferry::Test::Client->new($p) } 1 .. 3;
    $c[0]->send("GET /slow HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n");
    wait_until { $count->('/slow') == 1 } 5;
    $_->send("GET /slow HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")
        for @c[1, 2];
    my @res = map { $_->read_response(timeout => 10) } @c;
    is(scalar(grep { ($_->{body} // '') eq "slow\n" } @res), 3,
       'proxy_cache_lock: all three answered');
    is($count->('/slow'), 1, 'proxy_cache_lock: the backend asked once')
        or diag($g->error_log);
    is(join(' ', map { $_->{headers}{'x-cache'} // '' } @res),
       'MISS HIT HIT', 'proxy_cache_lock: the first a MISS, the others HIT');

    is(http_get($p, '/uses')->{headers}{'x-cache'}, 'MISS', 'min_uses 2: 1st');
    is(http_get($p, '/uses')->{headers}{'x-cache'}, 'MISS', 'min_uses 2: 2nd');
    is(http_get($p, '/uses')->{headers}{'x-cache'}, 'HIT',
       'min_uses 2: stored at the 2nd');
    is($count->('/uses'), 2, 'min_uses 2: backend asked twice');

    # use_stale updating: while one request updates an expired entry,
    # the others get the old one
    my $first = http_get($p, '/upd');
    is($first->{headers}{'x-cache'}, 'MISS', 'updating: MISS');
    sleep 3;
    my $u = Ferry::Test::Client->new($p);
    $u->send("GET /upd HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n");
    wait_until { $count->('/upd') == 2 } 5;
    $r = http_get($p, '/upd');
    is($r->{headers}{'x-cache'}, 'UPDATING', 'updating: UPDATING meanwhile');
    is($r->{body}, $first->{body}, 'updating: the old body');
    my $ur = $u->read_response(timeout => 10);
    is($ur->{headers}{'x-cache'}, 'EXPIRED', 'updating: the updater EXPIRED');
    is($count->('/upd'), 2, 'updating: the backend asked once more');
    $r = http_get($p, '/upd');
    is($r->{headers}{'x-cache'}, 'HIT', 'updating: then HIT');
    is($r->{body}, $ur->{body}, 'updating: with the new body');

    # inactive=1s: an entry unused for longer goes, fresh or not
    my $md5 = md5_hex('http127.0.0.1:' . $g->port(1) . '/idle');
    my $file = $g->prefix . '/cache/' . substr($md5, -2) . "/$md5";
    http_get($p, '/idle');
    is(http_get($p, '/idle')->{headers}{'x-cache'}, 'HIT', 'inactive: HIT');
    ok(-f $file, 'inactive: the file (levels=2)');
    sleep 3;
    is(http_get($p, '/idle')->{headers}{'x-cache'}, 'MISS',
       'inactive: unused for longer than inactive, gone');

    # max_size=1500k: a second 1 MiB entry pushes the first one out
    my $m1 = md5_hex('http127.0.0.1:' . $g->port(1) . '/big1');
    my $f1 = $g->prefix . '/cache/' . substr($m1, -2) . "/$m1";
    ok(http_get($p, '/big1')->{body} eq $big, 'max_size: first big');
    ok(-f $f1, 'max_size: its file');
    ok(http_get($p, '/big2')->{body} eq $big, 'max_size: second big');
    ok(!-e $f1, 'max_size: the first one\'s file removed');
    is(http_get($p, '/big2')->{headers}{'x-cache'}, 'HIT',
       'max_size: the second one HIT');
    is(http_get($p, '/big1')->{headers}{'x-cache'}, 'MISS',
       'max_size: the first one MISS');
    $g->stop;
}

# ---- configuration errors ----
server_conf_refused('location / { proxy_pass http://127.0.0.1:1; '
                    . 'proxy_cache nope; }',
                    'unknown proxy_cache zone "nope" in \S+ferry.conf:8',
                    'unknown zone');
http_conf_refused('proxy_cache_path c levels=3:2 keys_zone=z:1m;',
                  'invalid "levels" "3:2" in \S+ferry.conf:6', 'bad levels');
http_conf_refused('proxy_cache_path c levels=1:2:2:2 keys_zone=z:1m;',
                  'invalid "levels" "1:2:2:2" in \S+ferry.conf:6',
                  'four levels');
http_conf_refused('proxy_cache_path /' . ('d' x 4040) . ' keys_zone=z:1m;',
                  'cache path is too long \(4041 bytes, at most 4032\) in '
                  . '\S+ferry.conf:6',
                  'a path an entry\'s name would not fit after');
http_conf_refused('proxy_cache_path c levels=1:2;',
                  '"proxy_cache_path" must have "keys_zone" parameter in '
                  . '\S+ferry.conf:6', 'no keys_zone');
http_conf_refused('proxy_cache_path c keys_zone=z:1m; '
                  . 'proxy_cache_path d keys_zone=z:1m;',
                  'duplicate zone "z" in \S+ferry.conf:6', 'duplicate zone');
http_conf_refused('proxy_cache_path c keys_zone=z:1m loader_files=1;',
                  'invalid parameter "loader_files=1" in \S+ferry.conf:6',
                  'a parameter ferry does not have');
server_conf_refused('proxy_cache_valid 20x 1m;',
                    'invalid status "20x" in \S+ferry.conf:8', 'bad status');
server_conf_refused('proxy_cache_methods PUT;',
                    'invalid value "PUT" in \S+ferry.conf:8', 'bad method');
server_conf_refused('proxy_cache_min_uses 0;',
                    'between 1 and 32767 in \S+ferry.conf:8', 'min_uses 0');
server_conf_refused('fastcgi_cache_convert_head on;',
                    'unknown directive "fastcgi_cache_convert_head" in '
                    . '\S+ferry.conf:8', 'convert_head is proxy_cache\'s only');
server_conf_refused('proxy_cache_max_range_offset 1x;',
                    'invalid value "1x" in \S+ferry.conf:8',
                    'max_range_offset: not a size');
server_conf_refused('proxy_cache_use_stale error http_418;',
                    'invalid value "http_418" in \S+ferry.conf:8',
                    'use_stale: a status nginx does not have');
server_conf_refused('proxy_cache_use_stale off http_404;',
                    'invalid value "off" in \S+ferry.conf:8',
                    'use_stale: off with another value');

done_testing;
