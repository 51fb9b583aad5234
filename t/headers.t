#!/usr/bin/perl

# Headers both ways and the answers ferry makes itself: proxy_set_header
# (variables, removal, defaults, inheritance), proxy_pass_request_headers
# and _body, proxy_method, proxy_http_version, proxy_hide_header,
# proxy_pass_header, add_header (statuses, always, inheritance),
# server_tokens, error_page (internal redirect, =code, "=", @named,
# URL), proxy_intercept_errors, proxy_pass with captures and variables,
# and no header splitting through decoded variables.

use strict;
use warnings;

use Test::More;
use Ferry::Test;

my $f = Ferry::Test->new(conf => main_conf() . <<'EOF');
worker_processes 1;
events { worker_connections 256; }
http {
    upstream backend { server 127.0.0.1:%%PORT_1%%; }
    upstream other   { server 127.0.0.1:%%PORT_2%%; }
    upstream kept {
        server 127.0.0.1:%%PORT_1%%;
        keepalive 4;
    }

    proxy_set_header X-Level http;
    add_header X-Http-Level yes;

    server {
        listen 127.0.0.1:%%PORT_0%%;
        root html;

        proxy_set_header X-Level server;
        proxy_set_header X-Uri $uri;
        proxy_set_header X-Client $remote_addr;
        proxy_set_header Accept-Encoding "";

        location / { proxy_pass http://backend; }

        location /own/ {
            proxy_set_header Host custom.example;
            proxy_set_header X-Only here;
            proxy_pass http://backend;
        }
        location /nohost/ {
            proxy_set_header Host "";
            proxy_pass http://backend;
        }
        location /nohdr/ {
            proxy_pass_request_headers off;
            proxy_pass http://backend;
        }
        location /nobody/ {
            proxy_pass_request_body off;
            proxy_pass http://backend;
        }
        location /method/ {
            proxy_method POST;
            proxy_pass http://backend;
        }
        location /vmethod/ {
            proxy_method $arg_m;
            proxy_pass http://backend;
        }
        location /v11/ {
            proxy_http_version 1.1;
            proxy_pass http://backend;
        }
        location /kept/ { proxy_pass http://kept; }
        location /kept10/ {
            proxy_http_version 1.0;
            proxy_pass http://kept;
        }

        location /resp/ { proxy_pass http://backend; }
        location /hide/ {
            proxy_hide_header X-Secret;
            proxy_pass_header Server;
            proxy_pass_header Date;
            proxy_pass_header X-Accel-Buffering;
            proxy_pass http://backend;
        }

        location /add/ {
            add_header X-Add "one $arg_v";
            add_header X-Always always-here always;
            add_header X-Empty $arg_none;
            proxy_pass http://backend;
        }
        location /addret/ {
            add_header X-Ret yes;
            return 200 "ret\n";
        }
        location /add404 {
            add_header X-Plain no;
            add_header X-Always yes always;
            return 404;
        }
        location /addstatic/ { add_header X-Static yes; }

        location ~ ^/img/(.*)$ { proxy_pass http://backend/images/$1; }
        location ~ ^/n/(?<first>[a-z]+)/(?<rest>.*)$ {
            proxy_pass http://backend/named/$rest?f=$first;
        }
        location /pick/ { proxy_pass http://$arg_up; }

        location /ep/ {
            error_page 404 /pages/404.html;
            error_page 403 =200 /pages/ok.html;
            error_page 405 @fallback;
            error_page 410 =301 http://elsewhere.example/gone;
            error_page 411 http://elsewhere.example/$arg_x;
            error_page 500 /pages/missing.html;
            location /ep/404 { return 404; }
            location /ep/403 { return 403; }
            location /ep/405 { return 405; }
            location /ep/410 { return 410; }
            location /ep/411 { return 411; }
            location /ep/500 { return 500; }
        }
        location /intercept/ {
            proxy_intercept_errors on;
            error_page 404 /pages/404.html;
            error_page 500 = /status-from-redirect/;
            error_page 503 @fallback;
            proxy_pass http://backend/status/;
        }
        location /nointercept/ {
            error_page 404 /pages/404.html;
            proxy_pass http://backend/status/;
        }
        location /dead/ {
            error_page 502 504 =503 /pages/ok.html;
            proxy_pass http://127.0.0.1:%%PORT_4%%;
        }
        location /status-from-redirect/ { proxy_pass http://backend; }
        location /epproxy/ {
            error_page 404 = /redirected$uri;
            return 404;
        }
        location /redirected/ { proxy_pass http://backend; }
        location @fallback {
            proxy_set_header X-Fallback $uri;
            proxy_pass http://other;
        }
        location /pages/ { }

        location /inject/ {
            proxy_set_header X-Inject $uri;
            add_header X-Inject $uri always;
            proxy_pass http://backend;
        }
        location /loc/ { return 302 http://example.com$uri; }
        location ~ (?s)^/capture/(.*)$ {
            add_header X-Cap $1 always;
            return 204;
        }
        location /cap/ {
            add_header X-User $remote_user;
            return 200 "ok\n";
        }
    }

    server {
        listen 127.0.0.1:%%PORT_3%%;
        server_tokens off;
        location / { return 404; }
        location /p/ { proxy_pass http://backend; }
    }
}
EOF

$f->write_file('html/pages/404.html', "custom 404 page\n");
$f->write_file('html/pages/ok.html', "ok page\n");
$f->write_file('html/addstatic/f.txt', "static file\n");

my $backend = Ferry::Test::Backend->new(port => $f->port(1), handler => sub {
    my ($req) = @_;
    my $uri = $req->{uri};

    if ($uri =~ m{^/resp/} || $uri =~ m{^/hide/}) {
        return { status => 200,
                 headers => ['Server' => 'backend/9', 'Date' => 'Thu, 01 Jan 1970 00:00:00 GMT',
                             'X-Pad' => 'pad', 'X-Accel-Buffering' => 'no',
                             'X-Accel-Expires' => '60', 'X-Secret' => 's',
                             'X-Kept' => 'k', 'Content-Type' => 'text/plain'],
                 body => "resp\n" };
    }
    if ($uri =~ m{^/hop/}) {
        return { status => 200,
                 headers => ['Connection' => 'close, X-Resp-Hop', 'X-Resp-Hop' => '1',
                             'X-Other' => '2'],
                 body => "hop\n" };
    }
    if ($uri =~ m{^/hopall/}) {
        # hop-by-hop and ferry-set names in any case, and names near them
        return { status => 200,
                 headers => ['keep-alive' => 'timeout=5', 'PROXY-CONNECTION' => 'x',
                             'te' => 'trailers', 'UpGrade' => 'h2c', 'HOST' => 'b',
                             'expect' => 'y', 'x-ACCEL-foo' => 'z', 'x-pad' => 'p',
                             'Keep-Alivf' => '1', 'TEX' => '2', 'X-Accel' => '3',
                             'Hosts' => '4', 'x-pa' => '5'],
                 body => "hop\n" };
    }
    if ($uri =~ m{^/hopka/}) {
        return { status => 200,
                 headers => ['Connection' => 'keep-alive', 'Connection' => 'Keep-Alive, X-Resp-Hop',
                             'X-Resp-Hop' => '1', 'X-Other' => '2'],
                 body => "hop\n" };
    }
    if ($uri =~ m{^/status/(\d+)}) {
        return { status => $1, headers => ['Content-Type' => 'text/plain',
                                           'X-From' => 'backend'],
                 body => "backend says $1\n" };
    }
    return Ferry::Test::Backend::echo($req);
});
my $other = Ferry::Test::Backend->new(port => $f->port(2), handler => sub {
    my ($req) = @_;
    my $e = Ferry::Test::Backend::echo($req);
    $e->{body} = "other\n" . $e->{body};
    return $e;
});

$f->start or do { done_testing; exit };
my $port = $f->port(0);

sub values_of {
    my ($e, $name) = @_;
    return [ map { $_->[1] } grep { lc $_->[0] eq lc $name }
             @{ $e->{headers} } ];
}

sub names_of {
    my ($e) = @_;
    return [ map { $_->[0] } @{ $e->{headers} } ];
}

sub echo_of {
    my ($r) = @_;
    return parse_echo($r->{body}) // { headers => [] };
}


# ---- proxy_set_header ----------------------------------------------

{
    my $r = http_get($port, '/a/b%20c?q=1', 'X-Uri' => 'from-client',
                     'Accept-Encoding' => 'gzip', 'User-Agent' => 'ua');
    is($r->{status}, 200, 'proxied') or diag($r->{raw});
    my $e = echo_of($r);
    is_deeply(values_of($e, 'Host'), ['backend'], 'default Host: $proxy_host');
    is_deeply(values_of($e, 'Connection'), ['close'], 'default Connection: close');
    is_deeply(values_of($e, 'X-Level'), ['server'],
              'a level with proxy_set_header replaces the inherited ones');
    is_deeply(values_of($e, 'X-Uri'), ['/a/b c'],
              'variables evaluated; the set value replaces the client\'s');
    is_deeply(values_of($e, 'X-Client'), ['127.0.0.1'], '$remote_addr');
    is_deeply(values_of($e, 'Accept-Encoding'), [],
              'an empty value removes the client\'s header');
    is_deeply(values_of($e, 'User-Agent'), ['ua'], 'other client headers passed');
    is_deeply(names_of($e), ['Host', 'Connection', 'X-Level', 'X-Uri',
                             'X-Client', 'User-Agent'],
              'order: Host, Connection, set headers, client headers');
}

{
    my $e = echo_of(http_get($port, '/own/x'));
    is_deeply(values_of($e, 'Host'), ['custom.example'], 'proxy_set_header Host');
    is_deeply(values_of($e, 'X-Only'), ['here'], 'the location\'s own list');
    is_deeply(values_of($e, 'X-Level'), [],
              'nothing inherited by a location with its own proxy_set_header');
    is_deeply(values_of($e, 'Connection'), ['close'], 'Connection default kept');

    $e = echo_of(http_get($port, '/nohost/x'));
    is_deeply(values_of($e, 'Host'), [], 'proxy_set_header Host "" sends no Host');
}

{
    my $e = echo_of(http_get($port, '/nohdr/x', 'X-Foo' => 'bar', 'Cookie' => 'a=b'));
    is_deeply(names_of($e), ['Host', 'Connection', 'X-Level', 'X-Uri', 'X-Client'],
              'proxy_pass_request_headers off: only ferry\'s and the set ones');
}

{
    my $r = http($port, build_request(method => 'POST', path => '/nobody/x',
                                      headers => [Connection => 'close'],
                                      body => 'secret-body'));
    my $e = echo_of($r);
    is($e->{method}, 'POST', 'proxy_pass_request_body off: method kept');
    is($e->{'body-length'}, 0, 'proxy_pass_request_body off: no body');
    is_deeply(values_of($e, 'Content-Length'), [], '... and no Content-Length');
}

{
    my $e = echo_of(http_get($port, '/method/x'));
    is($e->{method}, 'POST', 'proxy_method POST');
    $e = echo_of(http_get($port, '/vmethod/x?m=PURGE'));
    is($e->{method}, 'PURGE', 'proxy_method with a variable');
    my $r = http_get($port, '/vmethod/x?m=A:B');
    is($r->{status}, 500, 'proxy_method evaluating to a non-token: 500');
}

{
    my $e = echo_of(http_get($port, '/v11/x'));
    is($e->{version}, 'HTTP/1.1', 'proxy_http_version 1.1');
    is_deeply(values_of($e, 'Connection'), ['close'],
              '... with Connection: close when the upstream keeps nothing');

    $e = echo_of(http_get($port, '/kept/x'));
    is($e->{version}, 'HTTP/1.1', 'upstream with keepalive: HTTP/1.1');
    is_deeply(values_of($e, 'Connection'), [], '... and no Connection header');

    $e = echo_of(http_get($port, '/kept10/x'));
    is($e->{version}, 'HTTP/1.0', 'keepalive upstream, proxy_http_version 1.0: HTTP/1.0');
    is_deeply(values_of($e, 'Connection'), ['close'], '... with Connection: close');
}

{
    my $e = echo_of(http($port, "GET /x HTTP/1.1\r\nHost: h\r\nConnection: close, TE\r\n"
                               . "TE: trailers\r\nKeep-Alive: 300\r\nProxy-Connection: x\r\n"
                               . "Upgrade: h2c\r\nX-Ok: 1\r\n\r\n"));
    is_deeply([grep { !/^(Host|Connection|X-Level|X-Uri|X-Client)$/ } @{ names_of($e) }],
              ['X-Ok'], 'hop-by-hop headers not passed up');

    $e = echo_of(http($port, "GET /x HTTP/1.1\r\nHost: h\r\nConnection: close, X-Hop\r\n"
                            . "X-Hop: 1\r\nX-Ok: 1\r\n\r\n"));
    is_deeply([grep { !/^(Host|Connection|X-Level|X-Uri|X-Client)$/ } @{ names_of($e) }],
              ['X-Ok'], 'fields named in the client\'s Connection not passed up');

    my $r = http_get($port, '/hop/x');
    ok(!exists $r->{headers}{'x-resp-hop'},
       'fields named in the upstream\'s Connection not passed down');
    is($r->{headers}{'x-other'}, '2', '... the others are');
    $r = http_get($port, '/hopka/x');
    ok(!exists $r->{headers}{'x-resp-hop'},
       '... also named after keep-alive, in a second Connection field');
    is($r->{headers}{'x-other'}, '2', '... and the others pass');
    $r = http_get($port, '/hopall/x');
    is(join(',', grep { exists $r->{headers}{$_} }
                 qw(keep-alive proxy-connection te upgrade host expect x-accel-foo x-pad)),
       '', 'hop-by-hop, X-Accel-* and X-Pad fields of a response, in any case, not passed down');
    is(join(',', map { $r->{headers}{$_} // '-' } qw(keep-alivf tex x-accel hosts x-pa)),
       '1,2,3,4,5', '... names one letter off them are');
}


# ---- response headers ----------------------------------------------

{
    my $r = http_get($port, '/resp/x');
    is($r->{status}, 200, 'response proxied');
    like($r->{headers}{server}, qr{^ferry/\d}, 'ferry\'s own Server (with version)');
    isnt($r->{headers}{date}, 'Thu, 01 Jan 1970 00:00:00 GMT', 'ferry\'s own Date');
    my @names = map { lc $_->[0] } @{ $r->{header_list} };
    is(scalar(grep { $_ eq 'server' } @names), 1, 'one Server header');
    is(scalar(grep { $_ eq 'date' } @names), 1, 'one Date header');
    ok(!exists $r->{headers}{'x-pad'}, 'X-Pad hidden');
    ok(!exists $r->{headers}{'x-accel-buffering'}, 'X-Accel-* hidden');
    is($r->{headers}{'x-secret'}, 's', 'other headers passed');
    is($r->{headers}{'x-http-level'}, 'yes', 'add_header inherited from http');

    $r = http_get($port, '/hide/x');
    is($r->{headers}{server}, 'backend/9', 'proxy_pass_header Server');
    is($r->{headers}{date}, 'Thu, 01 Jan 1970 00:00:00 GMT', 'proxy_pass_header Date');
    @names = map { lc $_->[0] } @{ $r->{header_list} };
    is(scalar(grep { $_ eq 'server' } @names), 1, 'still one Server header');
    is($r->{headers}{'x-accel-buffering'}, 'no', 'proxy_pass_header X-Accel-Buffering');
    ok(!exists $r->{headers}{'x-accel-expires'}, 'other X-Accel-* still hidden');
    ok(!exists $r->{headers}{'x-secret'}, 'proxy_hide_header');
    is($r->{headers}{'x-kept'}, 'k', 'the rest passed');
}


# ---- add_header ----------------------------------------------------

{
    my $r = http_get($port, '/add/x?v=two');
    is($r->{headers}{'x-add'}, 'one two', 'add_header with a variable');
    is($r->{headers}{'x-always'}, 'always-here', 'always on a 200');
    ok(!exists $r->{headers}{'x-empty'}, 'an empty value adds nothing');
    ok(!exists $r->{headers}{'x-http-level'}, 'own add_header: nothing inherited');

    $r = http_get($port, '/addret/');
    is($r->{headers}{'x-ret'}, 'yes', 'add_header on a return');

    $r = http_get($port, '/add404');
    is($r->{status}, 404, 'return 404');
    ok(!exists $r->{headers}{'x-plain'}, 'add_header without always: not on a 404');
    is($r->{headers}{'x-always'}, 'yes', 'add_header always: on a 404');

    $r = http_get($port, '/addstatic/f.txt');
    is($r->{body}, "static file\n", 'static file');
    is($r->{headers}{'x-static'}, 'yes', 'add_header on a static file');
    $r = http_get($port, '/addstatic/none.txt');
    is($r->{status}, 404, 'missing static file');
    ok(!exists $r->{headers}{'x-static'}, '... no add_header on its 404');
}


# ---- server_tokens -------------------------------------------------

{
    my $r = http_get($port, '/add404');
    like($r->{body}, qr{<center>ferry/\d+\.\d+\.\d+</center>}, 'server_tokens on: version in error pages');
    my $o = $f->port(3);
    $r = http_get($o, '/');
    is($r->{status}, 404, 'server_tokens off: 404');
    is($r->{headers}{server}, 'ferry', 'server_tokens off: Server: ferry');
    like($r->{body}, qr{<center>ferry</center>}, 'server_tokens off: no version in the page');
    $r = http_get($o, '/p/x');
    is($r->{headers}{server}, 'ferry', 'server_tokens off on proxied responses');
}


# ---- error_page ----------------------------------------------------

{
    my $r = http_get($port, '/ep/404');
    is($r->{status}, 404, 'error_page 404 /uri: status kept');
    is($r->{body}, "custom 404 page\n", '... the page of the other location');

    $r = http_get($port, '/ep/403');
    is($r->{status}, 200, 'error_page 403 =200: status replaced');
    is($r->{body}, "ok page\n", '... with the page');

    $r = http_get($port, '/ep/405?a=1');
    is($r->{status}, 405, 'error_page @named: status kept');
    my ($first, $rest) = split /\n/, $r->{body}, 2;
    is($first, 'other', '... the named location answers, with its own upstream');
    my $e = parse_echo($rest) // { headers => [] };
    is($e->{uri}, '/ep/405?a=1', '... with the URI unchanged');
    is_deeply(values_of($e, 'X-Fallback'), ['/ep/405'], '... and its own proxy_set_header');

    $r = http_get($port, '/ep/410');
    is($r->{status}, 301, 'error_page =301 URL: 301');
    is($r->{headers}{location}, 'http://elsewhere.example/gone', '... Location');

    $r = http_get($port, '/ep/411?x=y');
    is($r->{status}, 302, 'error_page URL: 302');
    is($r->{headers}{location}, 'http://elsewhere.example/y', '... with variables');

    $r = http_get($port, '/ep/500');
    is($r->{status}, 404, 'an error page that fails: its own status (no second error_page)');
    like($r->{body}, qr/404 Not Found/, '... and the built-in page');

    $r = http($port, build_request(method => 'POST', path => '/epproxy/p?k=v',
                                   headers => [Connection => 'close'], body => 'abc'));
    is($r->{status}, 200, 'error_page 404 = /uri: the new location\'s status');
    $e = echo_of($r);
    is($e->{method}, 'GET', 'internal redirect: POST becomes GET');
    is($e->{uri}, '/redirected/epproxy/p', 'the new URI is sent up (no arguments: none in the page URI)');
    is($e->{'body-length'}, 0, 'the body is not sent after an internal redirect');
}

{
    my $r = http_get($port, '/intercept/404');
    is($r->{status}, 404, 'proxy_intercept_errors: 404 from the upstream');
    is($r->{body}, "custom 404 page\n", '... answered by error_page');
    ok(!exists $r->{headers}{'x-from'}, '... none of the upstream\'s headers');

    $r = http_get($port, '/intercept/500');
    is($r->{status}, 200, 'error_page 500 = /uri: the redirected answer\'s status');
    my $e = echo_of($r);
    is($e->{uri}, '/status-from-redirect/', '... from the location redirected to');

    $r = http_get($port, '/intercept/503');
    is($r->{status}, 503, 'intercepted to @named: status kept');
    like($r->{body}, qr/^other\n/, '... the named location answered');

    $r = http_get($port, '/intercept/502');
    is($r->{status}, 502, 'a status without error_page passes through');
    is($r->{body}, "backend says 502\n", '... with the upstream\'s body');

    $r = http_get($port, '/dead/x');
    is($r->{status}, 503, 'no upstream answers: error_page 502 =503 gives 503');
    is($r->{body}, "ok page\n", '... with the page');

    $r = http_get($port, '/nointercept/404');
    is($r->{status}, 404, 'proxy_intercept_errors off: upstream 404');
    is($r->{body}, "backend says 404\n", '... passed as is');
}


# ---- proxy_pass with captures and variables ------------------------

{
    my $e = echo_of(http_get($port, '/img/a/b%20c.png?s=1'));
    is($e->{uri}, '/images/a/b%20c.png', 'proxy_pass with $1: URI as given, escaped again');

    $e = echo_of(http_get($port, '/n/abc/x/y'));
    is($e->{uri}, '/named/x/y?f=abc', 'named captures in proxy_pass');

    my $r = http_get($port, '/pick/x?up=other');
    like($r->{body}, qr/^other\n/, 'proxy_pass http://$arg_up picks the upstream by name');
    $e = parse_echo((split /\n/, $r->{body}, 2)[1]) // {};
    is($e->{uri}, '/pick/x?up=other', '... without URI part: the request URI');
    $r = http_get($port, '/pick/x?up=backend');
    $e = echo_of($r);
    is_deeply(values_of($e, 'Host'), ['backend'], '$proxy_host is the upstream picked');

    $r = http_get($port, '/pick/x?up=nowhere.example');
    is($r->{status}, 502, 'an unknown upstream name: 502');
}


# ---- no header splitting through decoded variables -----------------

{
    my $r = http_get($port, '/inject/a%0d%0aX-Evil:%20yes%01z');
    is($r->{status}, 200, 'CR LF in $uri: still answered');
    ok(!exists $r->{headers}{'x-evil'}, 'add_header: no header injected into the response');
    is($r->{headers}{'x-inject'}, '/inject/a%0D%0AX-Evil: yes%01z',
       'add_header: control bytes %-escaped');
    my $e = echo_of($r);
    is_deeply(values_of($e, 'X-Evil'), [], 'proxy_set_header: no header injected upstream');
    is_deeply(values_of($e, 'X-Inject'), ['/inject/a%0D%0AX-Evil: yes%01z'],
              'proxy_set_header: control bytes %-escaped');

    $r = http_get($port, '/loc/x%0d%0aSet-Cookie:%20a=b');
    is($r->{status}, 302, 'return with $uri');
    ok(!exists $r->{headers}{'set-cookie'}, 'return Location: no header injected');
    is($r->{headers}{location}, 'http://example.com/loc/x%0D%0ASet-Cookie: a=b',
       'return Location: control bytes %-escaped');

    $r = http_get($port, '/capture/x%0aX-Evil:%201');
    is($r->{status}, 204, 'a regex capture holding LF');
    ok(!exists $r->{headers}{'x-evil'}, 'capture in add_header: no header injected');
    is($r->{headers}{'x-cap'}, 'x%0AX-Evil: 1', 'capture escaped');

    # $remote_user is base64-decoded: any byte can come out of it
    require MIME::Base64;
    my $cred = MIME::Base64::encode_base64("u\r\nX-Evil: 1:pw", '');
    $r = http_get($port, '/cap/', Authorization => "Basic $cred");
    ok(!exists $r->{headers}{'x-evil'}, '$remote_user: no header injected');
    is($r->{headers}{'x-user'}, 'u%0D%0AX-Evil', '$remote_user escaped');
}

$f->stop;


# ---- configuration errors ------------------------------------------

for my $t (['proxy_set_header "Bad Name" x;', qr/invalid header name "Bad Name" in \S+ferry\.conf:8/, 'bad header name'],
           ['proxy_set_header Content-Length 5;', qr/"Content-Length" is set by ferry .* in \S+ferry\.conf:8/, 'Content-Length value'],
           ['add_header X-A "a\r\nb";', qr/a control character in the value of header "X-A" in \S+ferry\.conf:8/, 'control character'],
           ['add_header X-A b sometimes;', qr/invalid parameter "sometimes" in \S+ferry\.conf:8/, 'add_header parameter'],
           ['proxy_http_version 2.0;', qr/invalid value "2\.0", it must be "1\.0" or "1\.1" in \S+ferry\.conf:8/, 'proxy_http_version'],
           ['proxy_method "GET X";', qr/invalid method "GET X" in \S+ferry\.conf:8/, 'proxy_method'],
           ['error_page 200 /x;', qr/value "200" must be between 300 and 599 in \S+ferry\.conf:8/, 'error_page code'],
           ['error_page 404 =abc /x;', qr/invalid value "=abc" in \S+ferry\.conf:8/, 'error_page =code'],
           ['error_page /x;', qr/invalid number of arguments|invalid value/, 'error_page without code'],
           ['server_tokens maybe;', qr/invalid value "maybe"/, 'server_tokens'],
           ['location ~ ^/x { proxy_pass http://127.0.0.1:1/y; }', qr/"proxy_pass" cannot have URI part in location given by regular expression.* in \S+ferry\.conf:8/, 'URI in regex location'],
           ['location @a { return 200; } location @a { return 200; }', qr/duplicate location "\@a"/, 'duplicate named'],
           ['location @a { location /b { } }', qr/location "\/b" cannot be inside the named location "\@a"/, 'nested in named'],
           ['location / { proxy_pass http://$nope; }', qr/unknown "nope" variable/, 'unknown variable in proxy_pass'])
{
    server_conf_refused($t->[0], $t->[1], $t->[2]);
}

done_testing;
