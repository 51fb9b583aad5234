#!/usr/bin/perl

# "if" in a location, as nginx's "if in location": when the condition
# holds, the block's own configuration (inheriting the location's)
# becomes the request's.  A CORS preflight answered with add_header and
# "return 204" (and those headers absent from other requests),
# proxy_pass in an if to another backend, an if inheriting the
# location's proxy_pass with its URI part, access_log off, expires,
# limit_rate, add_header of the last if that holds (nginx's "only the
# last if" rule), an if in a nested location inheriting from both
# levels, try_files kept by an if without proxy_pass, and configuration errors (directives nginx does not allow in
# an if, with file and line; an if of a server stays rewrite-only).

use strict;
use warnings;

use Test::More;
use Ferry::Test;
use Time::HiRes qw(time);

my $f = Ferry::Test->new(conf => main_conf() . <<'EOF');
worker_processes 1;
events { worker_connections 64; }
http {
    log_format u '$request_method $uri $http_user_agent';
    access_log logs/u.log u;
    upstream a { server 127.0.0.1:%%PORT_1%%; }
    upstream b { server 127.0.0.1:%%PORT_2%%; }

    server {
        listen 127.0.0.1:%%PORT_0%%;
        root %%PREFIX%%/html;

        location / {
            if ($request_method = OPTIONS) {
                add_header Access-Control-Allow-Origin *;
                add_header Access-Control-Allow-Methods "GET, POST, OPTIONS";
                return 204;
            }
            proxy_pass http://a;
        }
        location /other/ {
            if ($arg_to = b) {
                proxy_pass http://b;
            }
            proxy_pass http://a;
        }
        location /uri/ {
            if ($arg_h) {
                add_header X-H h;
            }
            proxy_pass http://a/base/;
        }
        location /bot/ {
            if ($http_user_agent ~ bot) {
                access_log off;
            }
            proxy_pass http://a;
        }
        location /static/ {
            if ($arg_cache) {
                expires 30d;
            }
        }
        location /robots/ {
            add_header X-Loc loc;
            if ($request_uri ~ private) {
                add_header X-Robots-Tag noindex;
            }
            return 200 "robots\n";
        }
        location /two/ {
            set $t 1;
            if ($t) {
                add_header X-First 1;
            }
            if ($t) {
                add_header X-Second 2;
            }
            return 204;
        }
        location /nest/ {
            add_header X-Outer outer;
            expires epoch;
            location /nest/in/ {
                if ($arg_x) {
                    gzip off;
                }
            }
        }
        location /tf/ {
            if ($arg_q) {
                add_header X-Q q;
            }
            try_files $uri /tf/fallback.txt?$args;
        }
        location /tp/ {
            if ($arg_p) {
                proxy_pass http://b;
            }
            try_files $uri =404;
        }
        location /slow/ {
            if ($arg_slow) {
                limit_rate 10k;
            }
        }
    }
}
EOF

$f->write_file('html/static/f.txt', "static\n");
$f->write_file('html/nest/in/f.txt', "nested\n");
$f->write_file('html/slow/big', 'x' x 30000);
$f->write_file('html/tf/fallback.txt', "fallback\n");
$f->write_file('html/tp/f.txt', "tp file\n");

my $a = Ferry::Test::Backend->new(port => $f->port(1));
my $b = Ferry::Test::Backend->new(port => $f->port(2), handler => sub {
    my ($req) = @_;
    return { status => 200, headers => ['Content-Type' => 'text/plain'],
             body => "backend b $req->{uri}\n" };
});
$f->start or BAIL_OUT('ferry did not start');

sub req {
    my ($method, $path, @h) = @_;
    return http($f->port(0), build_request(method => $method, path => $path,
                                           headers => [@h, Connection => 'close']));
}

# ---- the CORS preflight ------------------------------------------------
my $r = req('OPTIONS', '/api/x', Origin => 'http://example.com',
            'Access-Control-Request-Method' => 'POST');
is($r->{status}, 204, 'OPTIONS: the if\'s return 204');
is($r->{headers}{'access-control-allow-origin'}, '*',
   '... with the if\'s Access-Control-Allow-Origin');
is($r->{headers}{'access-control-allow-methods'}, 'GET, POST, OPTIONS',
   '... and Access-Control-Allow-Methods');
is($r->{body}, '', '... and no body');
is(scalar(grep { /^OPTIONS / } $a->request_lines), 0,
   '... the backend never saw it');

$r = req('GET', '/api/x');
is($r->{status}, 200, 'GET: proxied');
like($r->{body}, qr/^uri \/api\/x$/m, '... to the location\'s backend');
ok(!exists $r->{headers}{'access-control-allow-origin'}
   && !exists $r->{headers}{'access-control-allow-methods'},
   '... without the if\'s headers');

# ---- proxy_pass in an if -----------------------------------------------
$r = req('GET', '/other/p?to=b');
is($r->{body}, "backend b /other/p?to=b\n", 'proxy_pass in the if: the other backend');
$r = req('GET', '/other/p?to=a');
like($r->{body}, qr/^uri \/other\/p\?to=a$/m, 'the condition false: the location\'s');

# ---- the location's proxy_pass, URI part and all, in an if ---------------
$r = req('GET', '/uri/x?h=1');
like($r->{body}, qr/^uri \/base\/x\?h=1$/m,
     'an if without proxy_pass proxies as its location (the URI part replaced)');
is($r->{headers}{'x-h'}, 'h', '... with the if\'s add_header');
$r = req('GET', '/uri/y');
like($r->{body}, qr/^uri \/base\/y$/m, 'the condition false: the same backend');
ok(!exists $r->{headers}{'x-h'}, '... without the header');

# ---- access_log off in an if -------------------------------------------
is(req('GET', '/bot/1', 'User-Agent' => 'googlebot/2.1')->{status}, 200,
   'a bot: answered');
is(req('GET', '/bot/2', 'User-Agent' => 'curl/8')->{status}, 200,
   'a person: answered');
ok((wait_until { (Ferry::Test::read_file($f->prefix . '/logs/u.log') // '') =~ m{GET /bot/2 curl/8} } 5),
   'the person is logged');
my $log = Ferry::Test::read_file($f->prefix . '/logs/u.log') // '';
unlike($log, qr{/bot/1}, 'access_log off in the if: the bot is not');
like($log, qr{^OPTIONS /api/x }m, 'the preflight answered by the if is logged');

# ---- expires in an if --------------------------------------------------
$r = req('GET', '/static/f.txt?cache=1');
is("$r->{status} $r->{body}", "200 static\n", 'a static file in an if\'s location');
is($r->{headers}{'cache-control'}, 'max-age=2592000', 'expires 30d from the if');
ok(defined $r->{headers}{expires}, '... and Expires');
$r = req('GET', '/static/f.txt');
ok(!exists $r->{headers}{'cache-control'} && !exists $r->{headers}{expires},
   'the condition false: no expires');

# ---- add_header in an if -----------------------------------------------
$r = req('GET', '/robots/private');
is($r->{headers}{'x-robots-tag'}, 'noindex', 'add_header in the if');
ok(!exists $r->{headers}{'x-loc'},
   '... replaces the location\'s (add_header is inherited only by a level without one)');
is($r->{body}, "robots\n", '... and the location\'s return after the if still runs');
$r = req('GET', '/robots/public');
ok(!exists $r->{headers}{'x-robots-tag'}, 'the condition false: no X-Robots-Tag');
is($r->{headers}{'x-loc'}, 'loc', '... the location\'s add_header');

$r = req('GET', '/two/');
is($r->{status}, 204, 'two ifs that hold, then the location\'s return');
ok(!exists $r->{headers}{'x-first'} && $r->{headers}{'x-second'} eq '2',
   '... the last if\'s configuration is the one used (nginx)');

# ---- an if in a nested location ----------------------------------------
$r = req('GET', '/nest/in/f.txt?x=1');
is("$r->{status} $r->{body}", "200 nested\n", 'an if in a nested location serves its file');
is($r->{headers}{'x-outer'}, 'outer', '... with add_header from two levels up');
is($r->{headers}{'cache-control'}, 'no-cache', '... and expires epoch from there');

# ---- try_files and an if -----------------------------------------------
$r = req('GET', '/tf/missing?q=1');
is("$r->{status} $r->{body}", "200 fallback\n",
   'an if without proxy_pass keeps the location\'s try_files');
is($r->{headers}{'x-q'}, 'q', '... and its add_header applies');
is(req('GET', '/tp/f.txt')->{body}, "tp file\n", 'try_files: the file');
is(req('GET', '/tp/f.txt?p=1')->{body}, "backend b /tp/f.txt?p=1\n",
   'an if with proxy_pass goes there without try_files (nginx)');

# ---- limit_rate in an if -----------------------------------------------
my $t0 = time;
$r = req('GET', '/slow/big?slow=1');
my $slow = time - $t0;
is(length $r->{body}, 30000, 'limit_rate in the if: the whole file');
cmp_ok($slow, '>=', 1.5, '... at about 10k a second (30000 bytes)');
$t0 = time;
$r = req('GET', '/slow/big');
cmp_ok(time - $t0, '<', 1.5, 'the condition false: not limited');

$f->stop;

# ---- configuration errors ----------------------------------------------
server_conf_refused('location / { if ($a) { proxy_set_header X y; } }',
    '"proxy_set_header" directive is not allowed here in .*ferry\.conf:8',
    'proxy_set_header in an if');
server_conf_refused('location / { if ($a) { allow all; } }',
    '"allow" directive is not allowed here in .*ferry\.conf:8', 'allow in an if');
server_conf_refused('location / { if ($a) { try_files $uri =404; } }',
    '"try_files" directive is not allowed here in .*ferry\.conf:8', 'try_files in an if');
server_conf_refused('location / { if ($a) { location /x { } } }',
    '"location" directive is not allowed here in .*ferry\.conf:8', 'location in an if');
server_conf_refused('location / { if ($a) { if ($b) { return 204; } } }',
    '"if" directive is not allowed here in .*ferry\.conf:8', 'if in an if');
server_conf_refused('if ($a) { add_header X y; }',
    '"add_header" directive is not allowed here in .*ferry\.conf:8',
    'add_header in an if of a server (rewrite directives only)');
server_conf_refused('location / { if ($a) { proxy_pass http://127.0.0.1:1/x; } }',
    '"proxy_pass" cannot have URI part .*inside "if" statement in .*ferry\.conf:8',
    'proxy_pass with a URI part in an if');
server_conf_refused('location / { if ($a) { expires bogus; } }',
    'invalid value "bogus" in .*ferry\.conf:8|"expires" directive invalid value in .*ferry\.conf:8',
    'a bad value in an if is checked as anywhere');

done_testing;
