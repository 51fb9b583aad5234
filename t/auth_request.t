#!/usr/bin/perl

# auth_request.t -- auth_request and auth_request_set, with a real auth
# backend and a real content backend, in the shapes oauth2-proxy,
# Authelia and Authentik document for nginx:
#
#   2xx from the auth backend lets the request in (its body is not
#   shown); 401 is answered with the auth backend's WWW-Authenticate
#   lines; 403 is answered; any other status (a redirect), the auth
#   backend down, or slower than the auth location's proxy_read_timeout
#   is a 500
#   the subrequest is GET with the client's header fields and no body
#   (Content-Length ""), the original URI in X-Original-URI and the
#   client's method in X-Original-Method ($request_method); a POST's
#   body (by length, chunked, after Expect: 100-continue) reaches the
#   content backend only
#   auth_request_set: a field of the auth answer to the content backend
#   (proxy_set_header) and to the client (add_header Set-Cookie), and
#   $upstream_status of the subrequest
#   error_page 401 = /sign_in (internal), error_page 401 =302 URL
#   (oauth2-proxy's rd=$request_uri) and =302 $redirection_url set by
#   auth_request_set from the 401's Location (Authelia's); Authentik's
#   snippet (error_page 401 = @named, the 401's Set-Cookie there)
#   keep-alive: several protected requests on one connection
#   auth_request off in a nested location; satisfy any with allow, with
#   deny, with auth_basic (both challenges of two 401s); satisfy all with
#   deny (no subrequest at all)
#   a protected static file; an auth location that answers with
#   "return" or a static file; the auth backend's connection kept for
#   the next subrequest (upstream keepalive)
#   a client that closes while the subrequest waits: ferry goes on
#   the auth location's own error_page (error_page 401 = URI, 502 =
#   @named with the auth backend down, 401 URI keeping the 401) and the
#   auth backend's X-Accel-Redirect decide, as in nginx; an auth answer
#   with a big body read to its end, its keepalive connection kept
#
# and the configuration errors, with file and line.

use strict;
use warnings;

use Test::More;
use Ferry::Test;

my $f = Ferry::Test->new(conf => main_conf() . <<'EOF');
worker_processes 1;
events { worker_connections 64; }
http {
    types { text/plain txt; }
    upstream auth { server 127.0.0.1:%%PORT_1%%; }
    upstream app  { server 127.0.0.1:%%PORT_2%%; }
    upstream down { server 127.0.0.1:%%PORT_3%%; }
    upstream authka { server 127.0.0.1:%%PORT_1%%; keepalive 2; }

    server {
        listen 127.0.0.1:%%PORT_0%%;
        root html;

        location /p/ {
            auth_request /auth;
            auth_request_set $user $upstream_http_x_auth_user;
            auth_request_set $auth_cookie $upstream_http_set_cookie;
            auth_request_set $astatus $upstream_status;
            proxy_set_header X-User $user;
            proxy_set_header X-Auth-Status $astatus;
            add_header Set-Cookie $auth_cookie;
            proxy_pass http://app;

            location /p/open/ { auth_request off; proxy_pass http://app; }
        }
        location = /auth {
            internal;
            proxy_pass http://auth;
            proxy_pass_request_body off;
            proxy_set_header Content-Length "";
            proxy_set_header X-Original-URI $request_uri;
            proxy_set_header X-Original-Method $request_method;
        }

        location /signin/ {
            auth_request /auth;
            error_page 401 = /sign_in;
            proxy_pass http://app;
        }
        location = /sign_in { internal; return 200 "please sign in\n"; }
        location /redir/ {
            auth_request /auth;
            error_page 401 =302 http://login.example/start?rd=$request_uri;
            proxy_pass http://app;
        }

        location /ae/ {
            auth_request /auth;
            auth_request_set $redirection_url $upstream_http_location;
            error_page 401 =302 $redirection_url;
            proxy_pass http://app;
        }

        # Authentik's snippet
        location /ak/ {
            auth_request /outpost/auth/nginx;
            error_page 401 = @ak_signin;
            auth_request_set $ak_cookie $upstream_http_set_cookie;
            add_header Set-Cookie $ak_cookie;
            proxy_pass http://app;
        }
        location /outpost {
            proxy_pass http://auth/outpost;
            proxy_set_header X-Original-URL $scheme://$http_host$request_uri;
            proxy_pass_request_body off;
            proxy_set_header Content-Length "";
        }
        location @ak_signin {
            internal;
            add_header Set-Cookie $ak_cookie;
            return 302 /outpost/start?rd=$request_uri;
        }

        location /down/ { auth_request /auth-down; proxy_pass http://app; }
        location = /auth-down { internal; proxy_pass http://down; }
        location /slow/ { auth_request /auth-slow; proxy_pass http://app; }
        location = /auth-slow {
            internal;
            proxy_read_timeout 1s;
            proxy_set_header X-Original-URI $request_uri;
            proxy_pass http://auth;
        }

        location /any/ {
            satisfy any;
            allow 127.0.0.1;
            deny all;
            auth_request /auth;
            proxy_pass http://app;
        }
        location /any2/ {
            satisfy any;
            deny all;
            auth_request /auth;
            proxy_pass http://app;
        }
        location /all/ { deny all; auth_request /auth; proxy_pass http://app; }
        location /mix/ {
            satisfy any;
            auth_basic "pw";
            auth_basic_user_file htpasswd;
            auth_request /auth;
            proxy_pass http://app;
        }

        location /files/ { auth_request /auth; }
        location /ret/ { auth_request /auth-ret; proxy_pass http://app; }
        location = /auth-ret { internal; return 204; }
        location /ret403/ { auth_request /auth-ret403; proxy_pass http://app; }
        location = /auth-ret403 { internal; return 403; }
        location /st/ { auth_request /auth-file.txt; proxy_pass http://app; }
        # the auth location's own error_page and the auth backend's
        # X-Accel-Redirect decide, as in nginx
        location /ep/ { auth_request /auth-ep; proxy_pass http://app; }
        location = /auth-ep {
            internal;
            error_page 401 = /auth-ep-ok;
            return 401;
        }
        location = /auth-ep-ok { internal; return 204; }
        location /epd/ { auth_request /auth-epd; proxy_pass http://app; }
        location = /auth-epd {
            internal;
            error_page 502 = @auth_open;
            proxy_pass http://down;
        }
        location @auth_open { return 204; }
        location /epk/ {
            auth_request /auth-epk;
            auth_request_set $auth_uri $uri;
            add_header X-Auth-Uri $auth_uri always;
            proxy_pass http://app;
        }
        location = /auth-epk {
            internal;
            error_page 401 /auth-ep-ok;
            return 401;
        }
        location /xa/ { auth_request /auth-xa; proxy_pass http://app; }
        location = /auth-xa {
            internal;
            proxy_set_header X-Original-URI $request_uri;
            proxy_pass http://auth;
        }
        location = /auth-xa-deny { internal; return 403; }
        location = /auth-xa-ok { internal; return 204; }
        location /ka/ { auth_request /auth-ka; proxy_pass http://app; }
        location /kabig/ { auth_request /auth-ka; proxy_pass http://app; }
        location = /auth-ka {
            internal;
            proxy_set_header X-Original-URI $request_uri;
            proxy_pass http://authka;
        }
    }
}
EOF

my $dir = $f->prefix;
$f->write_file('html/files/a.txt', "the file\n");
$f->write_file('html/files/deny.txt', "secret\n");
$f->write_file('html/auth-file.txt', "yes\n");
$f->write_file('conf/htpasswd', "u:{PLAIN}p\n");

# The auth backend decides by X-Original-URI and notes what it got.
my $alog = "$dir/auth.log";
my $auth = Ferry::Test::Backend->new(port => $f->port(1), handler => sub {
    my ($req) = @_;
    my %h;
    for (@{ $req->{headers} }) {
        $h{lc $_->[0]} = $_->[1];
    }
    my $orig = $h{'x-original-uri'} // $h{'x-original-url'} // '-';
    if (open my $fh, '>>', $alog) {
        printf $fh "%s %s orig=%s cl=%s body=%d cookie=%s om=%s\n",
            $req->{method}, $req->{uri}, $orig, $h{'content-length'} // '-',
            length $req->{body}, $h{cookie} // '-',
            $h{'x-original-method'} // '-';
        close $fh;
    }
    if ($orig =~ m{^/ka/} && open my $fh, '>>', "$dir/ka.log") {
        print $fh "$$\n";      # one process per connection
        close $fh;
    }
    return { status => 200 } if $orig =~ m{^/ka/};
    if ($orig =~ m{^/kabig/} && open my $fh, '>>', "$dir/kabig.log") {
        print $fh "$$\n";
        close $fh;
    }
    return { status => 200, body => 'y' x 300000 } if $orig =~ m{^/kabig/};
    return { status => 200, headers => ['X-Accel-Redirect' => '/auth-xa-deny'],
             body => 'redirected' } if $orig =~ m{^/xa/deny};
    return { status => 401, headers => ['X-Accel-Redirect' => '/auth-xa-ok'] }
        if $orig =~ m{^/xa/ok};
    return { status => 401,
             headers => [Location => "https://auth.example/?rd=$orig"] }
        if $orig =~ m{^/ae/};
    return { status => 403 } if $orig =~ /deny/;
    return { status => 401,
             headers => ['WWW-Authenticate' => 'Bearer realm="ferry"',
                         'WWW-Authenticate' => 'Basic realm="other"',
                         'Set-Cookie' => 'tried=1'],
             body => 'go away' } if $orig =~ /login/;
    return { status => 302, headers => [Location => 'http://x/'] }
        if $orig =~ /weird/;
    return { status => 200, delay => 3 } if $orig =~ /slow/;
    return { status => 202, headers => ['X-Auth-User' => 'alice',
                                        'Set-Cookie' => 'sess=abc; Path=/'],
             body => 'the auth body' };
});
my $app = Ferry::Test::Backend->new(port => $f->port(2));

sub auth_lines {
    open my $fh, '<', $alog or return ();
    my @l = <$fh>;
    chomp @l;
    return @l;
}

$f->allow_log(qr/auth request unexpected status|connect\(\) failed|upstream timed out|prematurely closed|access forbidden by rule/);
$f->start;

# allowed: the content backend gets the user, the client the cookie
my $r = http_get($f->port(0), '/p/ok?a=1', Cookie => 'c=1');
is($r->{status}, 200, '2xx from the auth backend lets the request in');
my $e = parse_echo($r->{body});
is($e->{uri}, '/p/ok?a=1', '... to the content backend');
like($r->{body}, qr/^header X-User: alice$/m,
     'auth_request_set: the auth answer\'s field reaches the content backend');
like($r->{body}, qr/^header X-Auth-Status: 202$/m,
     '... and the subrequest\'s $upstream_status');
unlike($r->{body}, qr/the auth body/, 'the auth answer\'s body is not shown');
is($r->{headers}{'set-cookie'}, 'sess=abc; Path=/',
   'add_header Set-Cookie $auth_cookie from auth_request_set');
my @a = auth_lines();
is($a[-1], 'GET /auth orig=/p/ok?a=1 cl=- body=0 cookie=c=1 om=GET',
   'the subrequest: GET to the auth location\'s URI, X-Original-URI, '
   . 'the client\'s fields');

# refused
$r = http_get($f->port(0), '/p/deny');
is($r->{status}, 403, '403 from the auth backend is answered');
my $napp = $app->requests;
$r = http_get($f->port(0), '/p/login');
is($r->{status}, 401, '401 from the auth backend is answered');
is_deeply([map { $_->[1] } grep { lc $_->[0] eq 'www-authenticate' }
           @{ $r->{header_list} }],
          ['Bearer realm="ferry"', 'Basic realm="other"'],
          '... with its WWW-Authenticate lines');
unlike($r->{body}, qr/go away/, '... and ferry\'s own page');
is($app->requests, $napp, 'a refused request never reaches the content backend');

$r = http_get($f->port(0), '/p/weird');
is($r->{status}, 500, 'any other status (302) is a 500');
like($f->error_log, qr/auth request unexpected status: 302/, '... logged');

# error_page 401
$r = http_get($f->port(0), '/signin/login');
is($r->{status}, 200, 'error_page 401 = /sign_in: the sign-in page answers');
is($r->{body}, "please sign in\n", '... from the internal location');
$r = http_get($f->port(0), '/redir/login?x=1');
is($r->{status}, 302, 'error_page 401 =302 URL: a redirect');
is($r->{headers}{location}, 'http://login.example/start?rd=/redir/login?x=1',
   '... with rd=$request_uri');
$r = http_get($f->port(0), '/ae/x?y=1');
is($r->{status}, 302, 'Authelia\'s error_page 401 =302 $redirection_url');
is($r->{headers}{location}, 'https://auth.example/?rd=/ae/x?y=1',
   '... the URL auth_request_set took from the 401\'s Location');
$r = http_get($f->port(0), '/ak/ok');
is($r->{status}, 200, 'Authentik\'s snippet: allowed');
is($r->{headers}{'set-cookie'}, 'sess=abc; Path=/', '... its cookie set');
@a = auth_lines();
like($a[-1], qr{^GET /outpost/auth/nginx orig=http://localhost/ak/ok },
     '... the outpost asked at its URI, with X-Original-URL');
$r = http_get($f->port(0), '/ak/login');
is($r->{status}, 302, '... refused: error_page 401 = @named');
like($r->{headers}{location}, qr{/outpost/start\?rd=/ak/login$},
     '... to the outpost\'s start');
is($r->{headers}{'set-cookie'}, 'tried=1',
   '... with the cookie of the 401 (add_header in the named location)');
$r = http_get($f->port(0), '/redir/ok');
is($r->{status}, 200, '... and an allowed request goes through');

# failures of the auth backend
$r = http_get($f->port(0), '/down/x');
is($r->{status}, 500, 'auth backend down: 500');
$r = http_get($f->port(0), '/slow/x', timeout => 10);
is($r->{status}, 500, 'auth backend slower than proxy_read_timeout: 500');
like($f->error_log, qr/upstream timed out/, '... the timeout logged');

# POST: the body goes to the content backend, not to the auth backend
$r = http($f->port(0), build_request(method => 'POST', path => '/p/post',
                                     headers => [Connection => 'close'],
                                     body => 'hello body'));
is($r->{status}, 200, 'POST to a protected location');
$e = parse_echo($r->{body});
is($e->{method}, 'POST', '... the content backend gets the POST');
like($r->{body}, qr/^body-length 10$/m, '... with its body');
@a = auth_lines();
is($a[-1], 'GET /auth orig=/p/post cl=- body=0 cookie=- om=POST',
   '... the auth backend a GET without body or Content-Length, '
   . '$request_method the client\'s');

# Expect: 100-continue (an upload behind the auth proxy): the 100 comes
# once the auth backend has said yes, then the body goes to the content
# backend; a chunked body the same way
{
    my $c = Ferry::Test::Client->new($f->port(0), timeout => 10);
    $c->send("POST /p/up HTTP/1.1\r\nHost: x\r\nContent-Length: 5\r\n"
             . "Expect: 100-continue\r\nConnection: close\r\n\r\n");
    wait_until { $c->_read_some(0.2); $c->buffer =~ /\r\n\r\n/ } 5;
    like($c->buffer, qr{^HTTP/1\.1 100 Continue\r\n\r\n$},
         'Expect: 100-continue: the 100 after the auth subrequest');
    $c->{buf} = '';
    $c->send('12345');
    $r = $c->read_response(timeout => 10);
    $c->close;
    is($r->{status}, 200, '... the upload answered');
    like($r->{body}, qr/^body-length 5$/m, '... its body passed on');
}
$r = http($f->port(0), "POST /p/chunked HTTP/1.1\r\nHost: x\r\n"
          . "Transfer-Encoding: chunked\r\nConnection: close\r\n\r\n"
          . "3\r\nabc\r\n4\r\ndefg\r\n0\r\n\r\n");
is($r->{status}, 200, 'a chunked POST to a protected location');
like($r->{body}, qr/^body-length 7$/m, '... its body passed on');
@a = auth_lines();
like($a[-1], qr{^GET /auth orig=/p/chunked cl=- body=0 },
     '... none of it to the auth backend');
$r = http_get($f->port(0), '/p/deny?x', 'Expect' => '100-continue');
is($r->{status}, 403, 'Expect: 100-continue refused: no 100 first');
ok(!$r->{interim}, '... no interim response at all');

# keep-alive
my ($res, $closed) = http_keepalive($f->port(0), [
    build_request(path => '/p/one'),
    build_request(path => '/p/deny'),
    build_request(path => '/p/login'),
    build_request(method => 'POST', path => '/p/two', body => 'xyz'),
    build_request(path => '/p/three'),
]);
is_deeply([map { $_->{status} } @$res], [200, 403, 401, 200, 200],
          'keep-alive: several protected requests on one connection');
like($res->[3]{body}, qr/^body-length 3$/m, '... the POST\'s body passed on');
like($res->[4]{body}, qr{^uri /p/three$}m, '... and the next request after it');
ok(!$closed, '... the connection stays open');

# auth_request off, satisfy
my $nauth = () = auth_lines();
$r = http_get($f->port(0), '/p/open/x');
is($r->{status}, 200, 'auth_request off in a nested location');
unlike($r->{body}, qr/X-User/, '... no auth_request_set value');
$r = http_get($f->port(0), '/any/deny');
is($r->{status}, 200, 'satisfy any: allow lets it in');
is(scalar(() = auth_lines()), $nauth, '... without a subrequest');
$r = http_get($f->port(0), '/all/ok');
is($r->{status}, 403, 'satisfy all: deny refuses');
is(scalar(() = auth_lines()), $nauth, '... without a subrequest');
$r = http_get($f->port(0), '/any2/ok');
is($r->{status}, 200, 'satisfy any with deny: auth_request lets it in');
$r = http_get($f->port(0), '/any2/deny');
is($r->{status}, 403, '... or refuses');

# satisfy any with auth_basic: either lets in; auth_basic's 401 wins
$r = http_get($f->port(0), '/mix/ok');
is($r->{status}, 200, 'satisfy any: no password, auth_request lets in');
$nauth = () = auth_lines();
$r = http_get($f->port(0), '/mix/deny', Authorization => 'Basic dTpw');
is($r->{status}, 200, '... a good password lets in');
is(scalar(() = auth_lines()), $nauth, '... without a subrequest');
$r = http_get($f->port(0), '/mix/deny');
is($r->{status}, 401, '... both refuse: auth_basic\'s 401');
is($r->{headers}{'www-authenticate'}, 'Basic realm="pw"',
   '... with its challenge');
$r = http_get($f->port(0), '/mix/login');
is_deeply([map { $_->[1] } grep { lc $_->[0] eq 'www-authenticate' }
           @{ $r->{header_list} }],
          ['Basic realm="pw"', 'Bearer realm="ferry"', 'Basic realm="other"'],
          '... both 401: both challenges');

# static files, auth locations without a proxy
$r = http_get($f->port(0), '/files/a.txt');
is($r->{status}, 200, 'a protected static file');
is($r->{body}, "the file\n", '... served');
$r = http_get($f->port(0), '/files/deny.txt');
is($r->{status}, 403, '... or refused');
$r = http_get($f->port(0), '/ret/x');
is($r->{status}, 200, 'an auth location with "return 204" lets in');
$r = http_get($f->port(0), '/ret403/x');
is($r->{status}, 403, 'an auth location with "return 403" refuses');
$r = http_get($f->port(0), '/st/x');
is($r->{status}, 200, 'an auth URI that is a static file lets in');

# the auth location's error_page, the auth backend's X-Accel-Redirect
$r = http_get($f->port(0), '/ep/x');
is($r->{status}, 200, 'error_page 401 = URI in the auth location: what '
   . 'that URI answers (204) lets in');
like($r->{body}, qr{^uri /ep/x$}m, '... to the content backend');
$r = http_get($f->port(0), '/epd/x');
is($r->{status}, 200, 'error_page 502 = @named in the auth location: an '
   . 'auth backend down, let in by the named location');
$r = http_get($f->port(0), '/epk/x');
is($r->{status} . ' ' . ($r->{headers}{'x-auth-uri'} // '-'),
   '401 /auth-ep-ok', 'error_page 401 URI (no "=") in the auth location: '
   . 'the subrequest redirected there (its $uri by auth_request_set), the '
   . '401 stays');
$r = http_get($f->port(0), '/xa/deny');
is($r->{status}, 403, 'the auth backend\'s X-Accel-Redirect: the location '
   . 'it names decides (403)');
$r = http_get($f->port(0), '/xa/ok');
is($r->{status}, 200, '... or lets in (204)');

# the auth backend's connection kept for the next subrequest
$r = http_get($f->port(0), '/ka/1');
is($r->{status}, 200, 'an auth upstream with keepalive');
$r = http_get($f->port(0), '/ka/2');
is($r->{status}, 200, '... again');
my @ka = split /\n/, Ferry::Test::read_file("$dir/ka.log") // '';
is(scalar @ka, 2, '... two subrequests');
is($ka[0], $ka[1], '... on one kept connection');
my $kb1 = http_get($f->port(0), '/kabig/1');
my $kb2 = http_get($f->port(0), '/kabig/2');
my @kb = split /\n/, Ferry::Test::read_file("$dir/kabig.log") // '';
is(join(' ', $kb1->{status} // '-', $kb2->{status} // '-', scalar @kb,
        @kb == 2 && $kb[0] eq $kb[1] ? 'one' : 'several'),
   '200 200 2 one', 'auth answers with a big body let in, each read to its '
   . 'end: the auth backend\'s connection kept for the next');

# a client that goes away while the auth backend thinks
my $c = Ferry::Test::Client->new($f->port(0));
$c->send(build_request(path => '/slow/gone'));
ok((wait_until { grep { /orig=\/slow\/gone/ } auth_lines() } 5),
   'the subrequest reached the auth backend');
$c->close;
ok((wait_until { $f->error_log =~ /prematurely closed/ } 5),
   'a client that closes during the subrequest is noticed');
$r = http_get($f->port(0), '/p/after');
is($r->{status}, 200, '... and ferry goes on serving');

$f->stop;

# configuration errors
server_conf_refused('auth_request auth;', 'invalid URI "auth" in "auth_request".* in \S+ferry.conf:8',
                    'auth_request without "/"');
server_conf_refused('auth_request /a; auth_request /b;',
                    '"auth_request" directive is duplicate in \S+ferry.conf:8',
                    'auth_request twice');
server_conf_refused('auth_request_set user $host;',
                    'invalid variable name "user" in \S+ferry.conf:8',
                    'auth_request_set without "$"');
server_conf_refused('auth_request_set $uri $host;',
                    'the duplicate "uri" variable in \S+ferry.conf:8',
                    'auth_request_set of a built-in variable');
server_conf_refused('auth_request_set $a $nosuch;',
                    'unknown "nosuch" variable in \S+ferry.conf:8',
                    'auth_request_set with an unknown variable');
server_conf_refused('auth_request_set $a;',
                    'invalid number of arguments in "auth_request_set" directive in \S+ferry.conf:8',
                    'auth_request_set with one argument');

done_testing;
