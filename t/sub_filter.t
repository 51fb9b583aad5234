#!/usr/bin/perl
# sub_filter.t -- nginx's sub module: strings replaced in proxied
# bodies, static files and "return" bodies; several strings, once on
# and off, case ignored, variables on both sides; matches cut by the
# upstream's writes at every byte of the string; sub_filter_types;
# before gzip; a compressed upstream answer untouched; 1 MiB with many
# matches against the bytes computed here; Last-Modified and ETag;
# keep-alive and HTTP/1.0 framing; HEAD; ferry's own error page;
# configuration errors.

use strict;
use warnings;
use Test::More;
use lib 't/lib';
use Ferry::Test;
use IO::Uncompress::Gunzip qw(gunzip $GunzipError);
use IO::Compress::Gzip qw(gzip $GzipError);
use Time::HiRes ();

my $f = Ferry::Test->new(conf => main_conf() . <<'EOF');
events { worker_connections 64; }
worker_processes 1;
http {
    types { text/html html; text/plain txt; }
    default_type text/plain;

    upstream app { server 127.0.0.1:%%PORT_1%%; keepalive 4; }

    server {
        listen 127.0.0.1:%%PORT_0%%;
        root html;

        sub_filter 'hello' 'HI';
        sub_filter 'World' '$host/earth';

        location /p/ { proxy_pass http://app; }
        location /off/ {
            sub_filter_once off;
            proxy_pass http://app;
        }
        location /own/ {
            # its own lines replace the server's
            sub_filter '<a href="http://127.0.0.1:8080/' '<a href="https://$host/';
            sub_filter '$arg_find' '[$arg_find]';
            sub_filter_once off;
            proxy_pass http://app;
        }
        location /json/ {
            sub_filter_types application/json;
            proxy_pass http://app;
        }
        location /star/ {
            sub_filter_types *;
            proxy_pass http://app;
        }
        location /gz/ {
            gzip on;
            gzip_min_length 1;
            sub_filter_once off;
            proxy_pass http://app;
        }
        location /lm/ {
            sub_filter_last_modified on;
            proxy_pass http://app;
        }
        location /split/ {
            sub_filter 'split-me-here' 'SPLIT';
            sub_filter_once off;
            proxy_pass http://127.0.0.1:%%PORT_2%%;
        }
        location /big/ {
            sub_filter 'needle' 'pin';
            sub_filter 'HAY' '';
            sub_filter_once off;
            proxy_pass http://app;
        }
        location /st/ { sub_filter_once off; }
        location /st-gz/ { sub_filter_once off; gzip on; gzip_min_length 1;
                           alias html/st/; }
        location /err/ { sub_filter 'not found' 'nowhere to be seen'; }
        location /plain/ { proxy_pass http://app; sub_filter_types text/css; }
        location /ret {
            default_type text/html;
            return 200 "<p>hello, World: hello</p>";
        }
    }
}
EOF

my $port = $f->port(0);
my $page = "<html><p>Hello world! hello WORLD, hello.</p></html>\n";

# 1 MiB of text with many matches; what ferry must send, computed here
my $big = join '', map { "line $_: a needle in the HAY, NEEDLE, haystack\n" }
                   1 .. 30_000;
$big = substr($big, 0, 1024 * 1024);
(my $big_want = $big) =~ s/(needle|hay)/lc($1) eq 'needle' ? 'pin' : ''/gie;

# made once: gzip's header holds the time it was made
gzip(\$page => \my $zpage) or die $GzipError;

my $b = Ferry::Test::Backend->new(port => $f->port(1), handler => sub {
    my ($req) = @_;
    my ($u) = $req->{uri} =~ m{([^/?]*)(?:\?.*)?$};
    my $mode = $u =~ /chunked/ ? 'chunked' : $u =~ /close/ ? 'close'
                                                           : 'length';
    my @h = ('Content-Type' => 'text/html; charset=utf-8');
    my $body = $page;
    @h = ('Content-Type' => 'application/json') if $u =~ /json/;
    @h = ('Content-Type' => 'text/css') if $u =~ /css/;
    $body = $big if $u =~ /big/;
    $body = $big x 12 if $u =~ /big12/;
    $body = '<a href="http://127.0.0.1:8080/x">hello</a> find me, Find me'
        if $u =~ /own/;
    push @h, 'Last-Modified' => 'Mon, 01 Jan 2024 00:00:00 GMT',
             'ETag' => '"v1"', 'Accept-Ranges' => 'bytes' if $u =~ /lm/;
    if ($u =~ /precompressed/) {
        $body = $zpage;
        push @h, 'Content-Encoding' => 'gzip';
    }
    $body = '' if $u =~ /empty/;
    return { status => 200, headers => \@h, body => $body, mode => $mode,
             chunk_size => length $body > 10_000 ? 1000 : 7 };
});

# An upstream that writes its body in pieces with pauses: /split/N cuts
# it N bytes into the string; /split/bytes writes the string byte by
# byte.
my $pre = "<p>before ";
my $pat = "split-me-here";
my $post = " after split-ME-here end</p>\n";
my $b2 = Ferry::Test::Backend->new(port => $f->port(2), raw => sub {
    my ($sock, $req) = @_;
    my $body = $pre . $pat . $post;
    my @pieces;
    if ($req->{uri} =~ m{/bytes}) {
        @pieces = ($pre, (split //, $pat), $post);
    } else {
        my ($n) = $req->{uri} =~ m{/(\d+)};
        my $cut = length($pre) + $n;
        @pieces = (substr($body, 0, $cut), substr($body, $cut));
    }
    my $chunked = $req->{uri} =~ /chunked/;
    syswrite $sock, "HTTP/1.1 200 OK\r\nContent-Type: text/html\r\n"
        . ($chunked ? "Transfer-Encoding: chunked\r\n"
                    : "Content-Length: " . length($body) . "\r\n")
        . "Connection: close\r\n\r\n";
    for my $p (@pieces) {
        Time::HiRes::sleep(0.05);
        syswrite $sock, $chunked ? sprintf("%x\r\n%s\r\n", length $p, $p) : $p;
    }
    syswrite $sock, "0\r\n\r\n" if $chunked;
});

$f->write_file('html/st/index.html', $page x 3);
$f->write_file('html/st/page.txt', $page);
$f->write_file('html/st/big.html', $big);

$f->start;

sub get {
    my ($path, %o) = @_;
    my $method = $o{method} // 'GET';
    my $req = build_request(path => $path, method => $method,
                            version => $o{version} // '1.1',
                            headers => [Connection => 'close',
                                        @{ $o{headers} // [] }]);
    return http($port, $req, timeout => 20, head => $method eq 'HEAD');
}

sub is_filtered {
    my ($r, $want, $name) = @_;
    is($r->{status}, 200, "$name: 200") or diag($r->{error} // $r->{raw});
    ok(!exists $r->{headers}{'content-length'}, "$name: no Content-Length");
    ok($r->{chunked}, "$name: chunked");
    ok(defined $r->{body} && $r->{body} eq $want, "$name: body substituted")
        or diag(substr($r->{body} // '', 0, 300));
}

# ---- proxied, the strings of the server level ----

my $once = "<html><p>HI localhost/earth! hello WORLD, hello.</p></html>\n";
for my $mode ('length', 'chunked', 'close') {
    is_filtered(get("/p/$mode"), $once, "once, $mode upstream");
}
is_filtered(get('/off/x'),
            "<html><p>HI localhost/earth! HI localhost/earth, HI.</p></html>\n",
            'once off: every match, case ignored');

# a location's own lines, variables in the string and the replacement
is_filtered(get('/own/own?find=FIND'),
            '<a href="https://localhost/x">hello</a> [FIND] me, [FIND] me',
            'own lines; $host and $arg_find');
is_filtered(get('/own/own'),
            '<a href="https://localhost/x">hello</a> find me, Find me',
            'a string that is empty for this request is not looked for');

# ---- types ----

my $r = get('/p/json');
is($r->{body}, $page, 'application/json untouched by default');
is($r->{headers}{'content-length'}, length $page, '... with its length');
is_filtered(get('/json/json'), $once, 'sub_filter_types application/json');
is_filtered(get('/json/x'), $once, '... and text/html still');
is_filtered(get('/star/css'), $once, 'sub_filter_types *');
$r = get('/plain/json');
is($r->{body}, $page, 'a type not listed: untouched');

# ---- split across the upstream's writes ----

my $split_want = "<p>before SPLIT after SPLIT end</p>\n";
for my $n (0 .. length($pat)) {
    is(get("/split/$n")->{body}, $split_want,
       "match cut $n bytes into the string by the upstream's writes");
}
is(get('/split/chunked/5')->{body}, $split_want, '... chunked upstream');
is_filtered(get('/split/bytes'), $split_want, 'the string written byte by byte');
is_filtered(get('/split/chunked/bytes'), $split_want, '... in chunks');

# ---- gzip after substitution; an encoded upstream answer untouched ----

$r = get('/gz/x', headers => ['Accept-Encoding' => 'gzip']);
is($r->{headers}{'content-encoding'}, 'gzip', 'gzip on: compressed');
my $plain;
gunzip(\$r->{body} => \$plain) or diag("gunzip: $GunzipError");
is($plain, "<html><p>HI localhost/earth! HI localhost/earth, HI.</p></html>\n",
   '... of the substituted text');
$r = get('/gz/big', headers => ['Accept-Encoding' => 'gzip']);
gunzip(\$r->{body} => \$plain) or diag("gunzip: $GunzipError");
ok($plain eq $big, '1 MiB without the strings through both: unchanged')
    or diag(length $plain);

$r = get('/p/precompressed', headers => ['Accept-Encoding' => 'gzip']);
is($r->{headers}{'content-encoding'}, 'gzip', 'upstream gzip: still gzip');
is($r->{headers}{'content-length'}, length $zpage, '... its length kept');
ok($r->{body} eq $zpage, '... its bytes untouched');

# ---- 1 MiB, many matches ----

for my $mode ('length', 'chunked') {
    $r = get("/big/big-$mode");
    ok($r->{body} eq $big_want,
       "1 MiB with many matches ($mode upstream): the bytes computed here")
        or diag(length($r->{body} // '') . " bytes, want " . length $big_want);
}

# a client that reads nothing for a while: the relay reads the upstream
# ahead into proxy_buffers meanwhile and swaps buffers under the matcher
{
    (my $want12 = $big x 12) =~ s/(needle|hay)/lc($1) eq 'needle' ? 'pin' : ''/gie;
    my $c = Ferry::Test::Client->new($port, timeout => 30);
    $c->send(build_request(path => '/big/big12-chunked',
                           headers => [Connection => 'close']));
    Time::HiRes::sleep(1);
    my $r = $c->read_response;
    $c->close;
    ok(!$r->{error} && $r->{body} eq $want12,
       '12 MiB to a client that waits before reading: the right bytes')
        or diag($r->{error} // length($r->{body} // ''));
}

# ---- Last-Modified, ETag, Accept-Ranges ----

$r = get('/p/lm');
ok(!exists $r->{headers}{'last-modified'}, 'Last-Modified removed');
ok(!exists $r->{headers}{'etag'}, 'ETag removed');
ok(!exists $r->{headers}{'accept-ranges'}, 'Accept-Ranges removed');
$r = get('/lm/lm');
is($r->{headers}{'last-modified'}, 'Mon, 01 Jan 2024 00:00:00 GMT',
   'sub_filter_last_modified on: Last-Modified kept');
is($r->{headers}{'etag'}, 'W/"v1"', '... and the ETag made weak');
is($r->{body}, $once, '... body substituted');

# ---- framing: keep-alive, HTTP/1.0, HEAD, no body ----

my @reqs = map { build_request(path => $_) } '/p/x', '/off/y', '/p/chunked',
                                              '/ret', '/st/page.txt',
                                              '/st/index.html';
my ($resps, $closed) = http_keepalive($port, \@reqs);
is(scalar @$resps, 6, 'six requests on one connection');
is($resps->[0]{body}, $once, '... first');
is($resps->[1]{body},
   "<html><p>HI localhost/earth! HI localhost/earth, HI.</p></html>\n",
   '... second');
is($resps->[2]{body}, $once, '... third');
is($resps->[3]{body}, '<p>HI, localhost/earth: hello</p>', '... return');
is($resps->[4]{body}, $page, '... a text/plain file as it is');
my $st_want = ("<html><p>HI localhost/earth! HI localhost/earth, HI.</p></html>\n") x 3;
is($resps->[5]{body}, $st_want, '... a static file');
ok(!$closed, '... and the connection stays open');

$r = get('/p/x', version => '1.0');
is($r->{body}, $once, 'HTTP/1.0 client: substituted');
ok(!$r->{chunked} && !exists $r->{headers}{'content-length'},
   '... ended by the close');

$r = get('/p/lm', method => 'HEAD');
is($r->{status}, 200, 'HEAD: 200');
ok(!exists $r->{headers}{'content-length'}
   && !exists $r->{headers}{'last-modified'}, '... the header a GET gets')
    or diag($r->{raw});
is($r->{body} // '', '', '... no body');

$r = get('/p/empty');
is($r->{status}, 200, 'an empty body: 200');
is($r->{headers}{'content-length'}, 0, '... left as it is');

# ---- static files and return ----

is_filtered(get('/st/index.html'), $st_want, 'static file');
$r = get('/st/index.html', headers => [Range => 'bytes=0-9']);
is($r->{status}, 200, 'static file: no Range when filtered');
is($r->{body}, $st_want, '... the whole body');
ok(!exists $r->{headers}{'last-modified'} && !exists $r->{headers}{'etag'},
   '... no validators');
$r = get('/st/big.html');
is_filtered($r, $big, 'static 1 MiB without the strings: unchanged');
$r = get('/st-gz/index.html', headers => ['Accept-Encoding' => 'gzip']);
is($r->{headers}{'content-encoding'}, 'gzip', 'static file with gzip');
gunzip(\$r->{body} => \$plain) or diag("gunzip: $GunzipError");
is($plain, $st_want, '... of the substituted text');
$r = get('/st/index.html', method => 'HEAD');
ok(!exists $r->{headers}{'content-length'} && ($r->{body} // '') eq '',
   'static HEAD: no length, no body') or diag($r->{raw});
$r = get('/st/page.txt');
is($r->{headers}{'content-length'}, length $page, 'text/plain file as it is');

$r = get('/st/index.html', version => '1.0');
is($r->{body}, $st_want, 'static file to an HTTP/1.0 client: substituted');
ok(!$r->{chunked} && !exists $r->{headers}{'content-length'},
   '... ended by the close');

$r = get('/err/missing.html');
is($r->{status}, 404, "ferry's own 404 page");
like($r->{body}, qr/nowhere to be seen/, '... substituted too');
is($r->{headers}{'content-length'}, length $r->{body}, '... with its length');

$r = get('/ret');
is($r->{body}, '<p>HI, localhost/earth: hello</p>', 'return body substituted');
is($r->{headers}{'content-length'}, length $r->{body},
   '... with its new length');

$f->stop;

# ---- configuration errors ----

server_conf_refused("sub_filter '' x;",
                    'empty search pattern in .*ferry\.conf:8',
                    'an empty string');
server_conf_refused('sub_filter a;',
                    'invalid number of arguments in "sub_filter" .*ferry\.conf:8',
                    'one argument');
server_conf_refused('sub_filter_once maybe;',
                    '"sub_filter_once" directive invalid value "maybe", it '
                    . 'must be "on" or "off" in .*ferry\.conf:8',
                    'sub_filter_once not a flag');
server_conf_refused('sub_filter $nonesuch x;',
                    'unknown "nonesuch" variable.*ferry\.conf:8',
                    'an unknown variable');
server_conf_refused('sub_filter_types text/css; sub_filter_types text/xml;',
                    '"sub_filter_types" directive is duplicate .*ferry\.conf:8',
                    'sub_filter_types twice');
server_conf_refused(join(' ', map { "sub_filter s$_ r;" } 1 .. 256),
                    'number of search patterns exceeds 255 in .*ferry\.conf:8',
                    '256 strings');

done_testing;
