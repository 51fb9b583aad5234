#!/usr/bin/perl
# ssi.t -- nginx's ssi module: commands in static documents; include
# virtual of static files, proxied answers (by length and chunked, with
# arguments) and "return", in order, nested, relative, with stub and
# set; include file; echo with its encodings and default; set; if /
# elif / else / endif with strings and regexes and their captures;
# config errmsg and timefmt, $date_gmt; errors with the errmsg and with
# ssi_silent_errors; ssi_types; gzip after SSI; HEAD (of a document,
# of a proxied page passed up as a HEAD: no Content-Length); ssi off; a
# proxied page itself (its fields passed on but ETag, Last-Modified,
# Accept-Ranges; chunked; a 404; other types and encoded bodies left
# alone; too big; keep-alive; proxy_cache's MISS and HIT both
# processed); configuration errors with file and line.

use strict;
use warnings;
use Test::More;
use lib 't/lib';
use Ferry::Test;
use IO::Uncompress::Gunzip qw(gunzip $GunzipError);

my $f = Ferry::Test->new(conf => main_conf() . <<'EOF');
events { worker_connections 64; }
worker_processes 1;
http {
    types { text/html html; text/plain txt; }
    default_type text/plain;

    upstream app { server 127.0.0.1:%%PORT_1%%; keepalive 4; }
    proxy_cache_path cache keys_zone=sc:1m;

    server {
        listen 127.0.0.1:%%PORT_0%%;
        root html;
        ssi on;

        location /p/ { proxy_pass http://app; }
        location /lmp/ { ssi_last_modified on; proxy_pass http://app/p/; }
        location /rawp/ { ssi off; proxy_pass http://app/p/; }
        location /cp/ {
            proxy_cache sc;
            proxy_cache_valid 200 1m;
            add_header X-Cache $upstream_cache_status;
            proxy_pass http://app/p/;
        }
        location /ret { default_type text/html; return 200 "[ret $arg_x]"; }
        location /ret404 { return 404; }
        location /silent/ { ssi_silent_errors on; }
        location /gz/ { gzip on; gzip_min_length 1; }
        location /txt/ { ssi_types text/plain; }
        location /lm/ { ssi_last_modified on; }
        location /raw/ { ssi off; }
        location /retdoc {
            default_type text/html;
            return 200 '<!--# echo var="arg_x" --> <!--# include virtual="/inc/a.html" -->';
        }
        location /retplain { return 200 '<!--# echo var="arg_x" -->'; }
        location /down/ { proxy_pass http://127.0.0.1:%%PORT_2%%; }
    }
}
EOF

my $port = $f->port(0);

my $b = Ferry::Test::Backend->new(port => $f->port(1), handler => sub {
    my ($req) = @_;
    my ($q) = $req->{uri} =~ /\?(.*)$/;
    my $body = "[up $req->{uri}]";
    my @h = ('Content-Type' => 'text/html');
    $body = '<!--# echo var="arg_a" -->' if $req->{uri} =~ /ssi/;
    $body = '' if $req->{uri} =~ /empty/;
    if ($req->{uri} =~ m{^/p/page}) {
        # a page of its own: fields to pass on, and some SSI drops
        $body = '<p><!--# echo var="arg_a" --> '
                . '<!--# include virtual="/inc/a.html" --></p>';
        push @h, 'Set-Cookie' => 'k=v', 'X-Mine' => 'yes',
                 'ETag' => '"e1"', 'Last-Modified' => 'Mon, 01 Jan 2024 00:00:00 GMT',
                 'Accept-Ranges' => 'bytes';
    }
    @h = ('Content-Type' => 'text/plain') if $req->{uri} =~ /plain/;
    push @h, 'Content-Encoding' => 'gzip' if $req->{uri} =~ /encoded/;
    push @h, 'ETag' => '"z"' if $req->{uri} =~ /zero/;
    $body = "y" x (4 * 1024 * 1024 + 10) if $req->{uri} =~ /huge/;
    # an include whose body takes many reads after its header: its
    # type must survive them to be processed (nested)
    $body = ("z" x 100000) . '<!--# echo var="arg_a" -->'
        if $req->{uri} =~ /bigssi/;
    return { status => $req->{uri} =~ /missing/ ? 404 : 200,
             headers => \@h, body => $body,
             mode => $req->{uri} =~ /chunked/ ? 'chunked' : 'length',
             chunk_size => 3 };
});

$f->write_file('html/inc/a.html', "[a]");
$f->write_file('html/inc/b.txt', "[b <!--# echo var=\"x\" -->]");
$f->write_file('html/inc/nest.html',
               "(n <!--# include virtual=\"/inc/a.html\" --> n)");
$f->write_file('html/inc/rel.html',
               "<!--# include file=\"a.html\" -->");
$f->write_file('html/order.html', join '',
    "1<!--# include virtual=\"/inc/a.html\" -->2",
    "<!--# include virtual=\"/p/len?k=v\" -->3",
    "<!--# include virtual=\"/p/chunked\" -->4",
    "<!--# include virtual=\"/ret?x=y\" -->5",
    "<!--# include virtual=\"/inc/nest.html\" -->6",
    "<!--# include virtual=\"/inc/rel.html\" -->7",
    "<!--# include virtual=\"/p/ssi?a=up\" -->8",
    "<!--# include virtual=\"/inc/b.txt\" -->9\n");
$f->write_file('html/echo.html', join '',
    "<!--# set var=\"x\" value=\"<a href='q'>&\" -->",
    "<!--# echo var=\"x\" -->|",
    "<!--# echo var=\"x\" encoding=\"none\" -->|",
    "<!--# echo var=\"x\" encoding=\"url\" -->|",
    "<!--# echo var=\"nothing\" -->|",
    "<!--# echo var=\"nothing\" default=\"dflt\" -->|",
    "<!--# echo var=\"arg_q\" -->|",
    "<!--# set var=\"y\" value=\"\$x and \${arg_q}!\" -->",
    "<!--# echo var=\"y\" encoding=\"none\" -->|",
    "<!--# echo var=\"request_method\" -->\n");
$f->write_file('html/if.html', join '',
    "<!--# if expr=\"\$arg_a\" -->A<!--# elif expr=\"\$arg_b = two\" -->B",
    "<!--# elif expr=\"\$arg_c != x\" -->C<!--# else -->D<!--# endif -->|",
    "<!--# if expr=\"\$arg_r = /^(\\w+)-(\\d+)\$/\" -->",
    "m <!--# echo var=\"1\" --> <!--# echo var=\"2\" -->",
    "<!--# else -->no match<!--# endif -->|",
    "<!--# if expr=\"\$arg_r != /^x/\" -->notx<!--# endif -->\n");
$f->write_file('html/err.html', join '',
    "a<!--# nonesuch -->b<!--# echo -->c<!--# echo var=x -->d",
    "<!--# config errmsg=\"[oops]\" -->",
    "<!--# echo var=\"a\" encoding=\"rot13\" -->e",
    "<!--# if expr=\"\$a\" --><!--# if expr=\"\$b\" --><!--# endif -->f",
    "<!--# endif -->g<!--# include virtual=\"/ret404\" -->h\n");
$f->write_file('html/unsafe.html',
    "u<!--# include virtual=\"/inc/\$arg_f\" -->v\n");
$f->write_file('html/silent/err.html',
    "a<!--# nonesuch -->b<!--# echo var=x -->c\n");
$f->write_file('html/stub.html', join '',
    "<!--# block name=\"one\" -->[stub <!--# echo var=\"arg_s\" -->]",
    "<!--# endblock -->",
    "x<!--# include virtual=\"/p/missing\" stub=\"one\" -->",
    "y<!--# include virtual=\"/p/empty\" stub=\"one\" -->",
    "z<!--# include virtual=\"/inc/a.html\" stub=\"one\" -->",
    "<!--# include virtual=\"/ret?x=1\" set=\"got\" -->",
    "<!--# include virtual=\"/p/w\" wait=\"yes\" -->",
    "[<!--# echo var=\"got\" -->]\n");
$f->write_file('html/date.html', join '',
    "<!--# config timefmt=\"%Y\" --><!--# echo var=\"date_gmt\" -->|",
    "<!--# config timefmt=\"%s\" --><!--# echo var=\"date_local\" -->\n");
$f->write_file('html/gz/page.html',
    "<p><!--# include virtual=\"/inc/a.html\" --> "
    . ("gzip me " x 50) . "</p>\n");
$f->write_file('html/txt/t.txt', "t<!--# echo var=\"uri\" -->\n");
$f->write_file('html/plain.txt', "t<!--# echo var=\"uri\" -->\n");
$f->write_file('html/raw/r.html', "r<!--# echo var=\"uri\" -->\n");
$f->write_file('html/lm/l.html', "l<!--# echo var=\"uri\" -->\n");
$f->write_file('html/down.html',
    "d<!--# include virtual=\"/down/x\" -->"
    . "<!--# block name=\"s\" -->[down]<!--# endblock -->"
    . "<!--# include virtual=\"/down/x\" stub=\"s\" -->e\n");
$f->write_file('html/big.html', "x" x (4 * 1024 * 1024 + 1));
$f->write_file('html/bigincl.html',
               "[<!--# include virtual=\"/p/bigssi?a=deep\" -->]\n");

$f->allow_log(qr/SSI command|upstream|404|Connection refused|bigger than|more than/);
$f->start;

sub get {
    my ($path, %o) = @_;
    my $method = $o{method} // 'GET';
    my $req = build_request(path => $path, method => $method,
                            headers => [Connection => 'close',
                                        @{ $o{headers} // [] }]);
    return http($port, $req, timeout => 20, head => $method eq 'HEAD');
}

sub body_is {
    my ($path, $want, $name) = @_;
    my $r = get($path);
    is($r->{status}, 200, "$name: 200") or diag($r->{error} // $r->{raw});
    is($r->{body}, $want, "$name: body");
    return $r;
}

# ---- includes, in order, of every kind ----

my $order = body_is('/order.html',
    "1[a]2[up /p/len?k=v]3[up /p/chunked]4[ret y]5(n [a] n)6[a]7up8"
    . "[b <!--# echo var=\"x\" -->]9\n",
    'static, proxied (length, chunked), return, nested, relative file, '
    . 'a proxied answer processed, a type not in ssi_types left alone');
is($order->{headers}{'content-length'}, length $order->{body},
   'the processed length is sent');
ok(!exists $order->{headers}{'last-modified'}, 'no Last-Modified');
ok(!exists $order->{headers}{'etag'}, 'no ETag');
my $r;

# ---- echo, set ----

body_is('/echo.html?q=a%20b',
    "&lt;a href='q'&gt;&amp;|<a href='q'>&|%3Ca%20href=%27q%27%3E&|(none)|"
    . "dflt|a%20b|<a href='q'>& and a%20b!|GET\n",
    'echo: entity (default), none, url, (none), default; set with variables');

# ---- if ----

body_is('/if.html?a=1', "A|no match|notx\n", 'if $var');
body_is('/if.html?b=two&r=abc-42', "B|m abc 42|notx\n",
        'elif =, a regex with its captures');
body_is('/if.html?c=y&r=xyz', "C|no match|\n", 'elif !=, a regex !=');
body_is('/if.html?c=x', "D|no match|notx\n", 'else');

# ---- errors ----

my $e = '[an error occurred while processing the directive]';
$r = get('/err.html');
is($r->{status}, 200, 'errors: 200');
like($r->{body},
     qr{^a\Q${e}b${e}c${e}d[oops]e\Ef\[oops\]g<html>\r\n<head><title>404\ Not
        \ Found</title></head>\r\n.*</html>\r\nh\n$}sx,
     'errors: unknown command, missing and unquoted parameters, errmsg, an '
     . 'unknown encoding, a nested if (unseen in a false branch), endif '
     . 'without if; a 404 included as its page');
like($f->error_log, qr/SSI command "nonesuch": unknown command/,
     'the unknown command is logged');
body_is('/silent/err.html', "abc\n", 'ssi_silent_errors on');
body_is('/unsafe.html?f=a.html', "u[a]v\n", 'an include URI from a variable');
body_is('/unsafe.html?f=../../../../etc/passwd', "u${e}v\n",
        'an include URI with ".." refused');
like($f->error_log, qr/SSI command "include": unsafe URI/,
     'the unsafe URI is logged');

# ---- block / stub, set, wait ----

body_is('/stub.html?s=S', "x[stub S]y[stub S]z[a][up /p/w][[ret 1]]\n",
        'stub for a 404 and an empty answer, not for a good one; set=, wait=');

# ---- dates ----

$r = get('/date.html');
like($r->{body}, qr/^\d{4}\|\d{9,}\n$/, 'timefmt, $date_gmt, $date_local');

# ---- types, off, last_modified ----

body_is('/txt/t.txt', "t/txt/t.txt\n", 'ssi_types text/plain');
body_is('/plain.txt', "t<!--# echo var=\"uri\" -->\n",
        'text/plain not processed by default');
body_is('/raw/r.html', "r<!--# echo var=\"uri\" -->\n", 'ssi off');
$r = body_is('/lm/l.html', "l/lm/l.html\n", 'ssi_last_modified on');
ok(exists $r->{headers}{'last-modified'}, 'ssi_last_modified on: kept');

# ---- gzip after SSI ----

$r = get('/gz/page.html', headers => ['Accept-Encoding' => 'gzip']);
is($r->{headers}{'content-encoding'}, 'gzip', 'gzip: compressed');
my $plain;
gunzip(\$r->{body} => \$plain) or diag($GunzipError);
is($plain, "<p>[a] " . ("gzip me " x 50) . "</p>\n",
   'gzip: the processed output compressed');

# ---- return ----

body_is('/retdoc?x=1', '1 [a]', 'a return body of ssi_types processed');
body_is('/retplain?x=1', '<!--# echo var="arg_x" -->',
        'a return body of another type left alone');
$r = get('/nonesuch.html');
is($r->{status}, 404, 'an error page: 404');
like($r->{body}, qr{<h1>404 Not Found</h1>}, 'an error page: processed, intact');

# ---- keep-alive, an upstream down, too big ----

my ($rs, $closed) = http_keepalive($port, [map {
    build_request(path => $_) } '/order.html', '/stub.html?s=2',
    '/order.html'], close_wait => 0.2);
is(scalar @$rs, 3, 'keep-alive: three answers on one connection');
is($rs->[0]{body}, $order->{body}, 'keep-alive: the first');
is($rs->[1]{body}, "x[stub 2]y[stub 2]z[a][up /p/w][[ret 1]]\n",
   'keep-alive: the second');
is($rs->[2]{body}, $order->{body}, 'keep-alive: the third');
ok(!$closed, 'keep-alive: the connection stays open');

$r = get('/down.html');
like($r->{body}, qr{^d<html>.*502 Bad Gateway.*</html>\r\n\[down\]e\n$}s,
     'an upstream down: its 502 page, or the stub');

$r = get('/big.html');
is($r->{status}, 500, 'a document over 4 MiB: 500');

# ---- a proxied page itself ----

$r = get('/p/page?a=one');
is($r->{status}, 200, 'a proxied page: 200');
is($r->{body}, '<p>one [a]</p>', 'a proxied page: processed (echo, include)');
is($r->{headers}{'content-length'}, length '<p>one [a]</p>',
   'a proxied page: the processed length');
is($r->{headers}{'set-cookie'}, 'k=v', 'a proxied page: Set-Cookie passed on');
is($r->{headers}{'x-mine'}, 'yes', 'a proxied page: its own field passed on');
ok(!exists $r->{headers}{etag} && !exists $r->{headers}{'last-modified'}
   && !exists $r->{headers}{'accept-ranges'},
   'a proxied page: no ETag, Last-Modified, Accept-Ranges (nginx)');
is($r->{headers}{'content-type'}, 'text/html', 'a proxied page: its type');
body_is('/p/ssi-chunked?a=ch', 'ch', 'a chunked proxied page');
$r = get('/p/ssi-missing?a=nf');
is($r->{status}, 404, 'a proxied 404 page: the status kept');
is($r->{body}, 'nf', 'a proxied 404 page: processed');
body_is('/p/ssi-plain?a=x', '<!--# echo var="arg_a" -->',
        'a proxied page of another type: as it came');
$r = get('/p/ssi-encoded?a=x');
is($r->{body}, '<!--# echo var="arg_a" -->',
   'an encoded proxied page (Content-Encoding): as it came');
is($r->{headers}{'content-encoding'}, 'gzip', '... its encoding kept');
$r = get('/p/ssi-empty-zero');
is(($r->{headers}{'content-length'} // '') . ' ' . ($r->{headers}{etag} // ''),
   '0 "z"', 'an empty proxied page (Content-Length: 0): as it came, its ETag '
   . 'kept (nginx)');
body_is('/lmp/page?a=lm', '<p>lm [a]</p>', 'ssi_last_modified on: processed');
$r = get('/lmp/page?a=lm');
is($r->{headers}{etag}, 'W/"e1"', 'ssi_last_modified on: the ETag weak');
is($r->{headers}{'last-modified'}, 'Mon, 01 Jan 2024 00:00:00 GMT',
   'ssi_last_modified on: Last-Modified kept');
body_is('/rawp/ssi?a=x', '<!--# echo var="arg_a" -->',
        'ssi off over a proxied page: as it came');
$r = get('/p/ssi-huge');
is($r->{status}, 500, 'a proxied page over 4 MiB: 500');
{
    my ($rs, $closed) = http_keepalive($port, [map {
        build_request(path => $_) } '/p/page?a=1', '/p/ssi-chunked?a=2',
        '/p/page?a=3'], close_wait => 0.2);
    is(join('|', map { $_->{body} } @$rs), '<p>1 [a]</p>|2|<p>3 [a]</p>',
       'proxied pages on one keep-alive connection');
    ok(!$closed, '... which stays open');
}
body_is('/bigincl.html', '[' . ("z" x 100000) . "deep]\n",
        'an include of 100 kB read in many pieces: processed (its type kept)');
$r = get('/cp/ssi-cached?a=c1');
is($r->{headers}{'x-cache'}, 'MISS', 'proxy_cache: a MISS');
is($r->{body}, 'c1', 'proxy_cache: the MISS processed');
$r = get('/cp/ssi-cached?a=c1');
is($r->{headers}{'x-cache'}, 'HIT', 'proxy_cache: then a HIT');
is($r->{body}, 'c1', 'proxy_cache: the HIT processed as the MISS was');
is($r->{headers}{'content-length'}, 2, 'proxy_cache: the HIT\'s processed length');
$r = get('/cp/ssi-cached?a=c1', method => 'HEAD');
is($r->{headers}{'content-length'}, 2,
   'proxy_cache: HEAD of a HIT: the processed length');
$r = get('/cp/ssi-cachedhead?a=abc', method => 'HEAD');
is($r->{headers}{'content-length'}, 3,
   'proxy_cache: HEAD of a MISS (sent up as a GET): the processed length');
is(scalar(grep { m{^GET /p/ssi-cached\?} } $b->request_lines), 1,
   'proxy_cache: the upstream asked once, it stored the page unprocessed');
# a HEAD passed up as a HEAD: no page to process; its header as
# nginx's ssi filter leaves it (no Content-Length, Accept-Ranges,
# ETag, Last-Modified), the other fields passed on
$r = get('/p/page?a=h', method => 'HEAD');
is($r->{status}, 200, 'HEAD of a proxied page: 200');
ok(!exists $r->{headers}{'content-length'},
   '... no Content-Length (the upstream\'s is not the processed length)')
    or diag($r->{raw});
ok(!exists $r->{headers}{etag} && !exists $r->{headers}{'last-modified'}
   && !exists $r->{headers}{'accept-ranges'},
   '... no ETag, Last-Modified, Accept-Ranges (nginx)');
is(($r->{headers}{'set-cookie'} // '') . ' ' . ($r->{headers}{'x-mine'} // '')
   . ' ' . ($r->{headers}{'content-type'} // ''), 'k=v yes text/html',
   '... its other fields passed on');
is($r->{body} // '', '', '... no body');
ok(!exists $r->{headers}{'transfer-encoding'}, '... and not chunked');
ok(scalar(grep { m{^HEAD /p/page\?a=h$} } $b->request_lines),
   '... asked up as a HEAD');
$r = get('/lmp/page?a=h', method => 'HEAD');
ok(!exists $r->{headers}{'content-length'}
   && ($r->{headers}{etag} // '') eq 'W/"e1"'
   && ($r->{headers}{'last-modified'} // '') eq
      'Mon, 01 Jan 2024 00:00:00 GMT',
   'HEAD, ssi_last_modified on: no Content-Length, the ETag weak, '
   . 'Last-Modified kept');
$r = get('/p/ssi-plain?a=h', method => 'HEAD');
is($r->{headers}{'content-length'}, length '<!--# echo var="arg_a" -->',
   'HEAD of a proxied page of another type: its Content-Length as it came');
$r = get('/rawp/page?a=h', method => 'HEAD');
is($r->{headers}{etag}, '"e1"', 'HEAD with ssi off: the header as it came');
{
    my ($rs, $closed) = http_keepalive($port, [
        build_request(path => '/p/page?a=k1', method => 'HEAD'),
        build_request(path => '/p/page?a=k2')], close_wait => 0.2);
    is(join('|', map { $_->{status} . ':' . ($_->{body} // '') } @$rs),
       '200:|200:<p>k2 [a]</p>',
       'a HEAD of a proxied page, then a GET, on one connection');
    ok(!$closed, '... which stays open');
}

# ---- HEAD ----

$r = get('/order.html', method => 'HEAD');
is($r->{status}, 200, 'HEAD: 200');
is($r->{headers}{'content-length'}, length $order->{body},
   'HEAD: the processed length');
is($r->{body} // '', '', 'HEAD: no body');

$f->stop;

# ---- configuration errors ----

server_conf_refused('ssi maybe;',
                    '"ssi" directive invalid value "maybe", it must be "on" '
                    . 'or "off" in .*ferry\.conf:8', 'ssi not a flag');
server_conf_refused('ssi_value_length -1;',
                    '"ssi_value_length" directive invalid value.*'
                    . 'ferry\.conf:8', 'ssi_value_length not a size');
server_conf_refused('ssi_min_file_chunk x;',
                    '"ssi_min_file_chunk" directive invalid value.*'
                    . 'ferry\.conf:8', 'ssi_min_file_chunk not a size');
server_conf_refused('ssi_types text/css; ssi_types text/xml;',
                    '"ssi_types" directive is duplicate .*ferry\.conf:8',
                    'ssi_types twice');
server_conf_refused('ssi on on;',
                    'invalid number of arguments in "ssi" .*ferry\.conf:8',
                    'ssi with two arguments');

done_testing;
