#!/usr/bin/perl

# nginx's auth_basic, auth_basic_user_file and satisfy: every password
# format of the file ({PLAIN}, {SHA}, {SSHA}, $apr1$, and crypt(3)'s
# $1$, $5$, $6$, $y$, $2b$, DES), wrong password, unknown user, missing
# and malformed Authorization (401 with WWW-Authenticate, the realm
# quoted), two Authorization lines (400), comments and "name:pw:comment"
# lines, "off" in a nested location, satisfy all/any with allow/deny,
# the file edited without a reload, a missing file (403) and an
# unreadable one (500), the error log lines, $remote_user in the access
# logs, Authorization passed to a proxied backend, keep-alive after a
# 401, error_page 401, auth_basic in limit_except (for the methods it
# does not list, with satisfy all/any and the block's allow/deny), and
# configuration errors with file and line.

use strict;
use warnings;

use Test::More;
use Ferry::Test;
use Digest::SHA qw(sha1);
use MIME::Base64 qw(encode_base64);

my $f = Ferry::Test->new(conf => main_conf() . <<'EOF');
worker_processes 1;
events { worker_connections 64; }
http {
    log_format who '$remote_user|$status|$request_uri';
    access_log logs/access.log;
    access_log logs/who.log who;
    upstream be { server 127.0.0.1:%%PORT_1%%; }

    server {
        listen 127.0.0.1:%%PORT_0%%;
        root %%PREFIX%%/html;
        auth_basic "Ferry \"test\" realm\\";
        auth_basic_user_file htpasswd;

        location / { }
        location /a/ {
            location /a/open/ { auth_basic off; }
        }
        location /up/ { proxy_pass http://be; }
        location /realm/ { auth_basic other; }
        location /any/ { satisfy any; allow 192.0.2.1; deny all; }
        location /anyip/ { satisfy any; allow 127.0.0.1; deny all; }
        location /all/ { deny all; }
        location /allip/ { allow 127.0.0.1; deny all; }
        location /missing/ { auth_basic_user_file nosuchfile; }
        location /anymissing/ {
            satisfy any;
            allow 127.0.0.1;
            auth_basic_user_file nosuchfile;
        }
        location /dir/ { auth_basic_user_file %%PREFIX%%/html; }
        location /err/ { error_page 401 /e401.html; }
        location = /e401.html { auth_basic off; }

        # auth_basic in limit_except: for the methods it does not list
        location /lmt/ {
            auth_basic off;
            limit_except GET {
                auth_basic "writers";
                auth_basic_user_file htpasswd;
            }
            proxy_pass http://be;
        }
        location /lmtall/ {
            auth_basic off;
            limit_except GET { allow 127.0.0.1; deny all; auth_basic w; }
            proxy_pass http://be;
        }
        location /lmtdeny/ {
            auth_basic off;
            limit_except GET { deny all; auth_basic w; }
            proxy_pass http://be;
        }
        location /lmtany/ {
            satisfy any;
            auth_basic off;
            limit_except GET { allow 127.0.0.1; deny all; auth_basic w; }
            proxy_pass http://be;
        }
        location /lmtany2/ {
            satisfy any;
            auth_basic off;
            limit_except GET { allow 192.0.2.1; deny all; auth_basic w; }
            proxy_pass http://be;
        }
        location /lmtinh/ {
            limit_except GET { allow all; }
            proxy_pass http://be;
        }
        location /lmtoff/ {
            limit_except GET { auth_basic off; }
            proxy_pass http://be;
        }
    }

    # no auth_basic at all
    server {
        listen 127.0.0.1:%%PORT_2%%;
        root %%PREFIX%%/html;
        auth_basic_user_file htpasswd;
        location / { }
    }
}
EOF

my %pw = (plain => 'p1ain', sha => 'sh@1', ssha => 'salty', apr => 'apache',
          md5 => 'md5pw', s256 => 'two56', s512 => 'five12', yes => 'yescr',
          des => 'despw', bf => 'blowfish', cmt => 'withcomment');

sub apr1 {
    my ($pw) = @_;
    my $h = `openssl passwd -apr1 '$pw'`;
    chomp $h;
    return $h;
}

my $ssha_salt = "\x01\x02saltX";
my @entries = (
    "# a comment line:with:colons",
    "plain:{PLAIN}$pw{plain}",
    "sha:{SHA}" . encode_base64(sha1($pw{sha}), ''),
    "ssha:{SSHA}" . encode_base64(sha1($pw{ssha} . $ssha_salt) . $ssha_salt, ''),
    "apr:" . apr1($pw{apr}),
    "md5:" . crypt($pw{md5}, '$1$abcdefgh$'),
    "s256:" . crypt($pw{s256}, '$5$saltsalt$'),
    "s512:" . crypt($pw{s512}, '$6$saltsalt$'),
    "yes:" . crypt($pw{yes}, '$y$j9T$F5Jx5fExrKuPp53xLKQ..1$'),
    "des:" . crypt($pw{des}, 'ab'),
    "bf:" . crypt($pw{bf}, '$2b$05$abcdefghijklmnopqrstuu'),
    "cmt:{PLAIN}$pw{cmt}:a comment after the password",
    "",
    "alice:{PLAIN}wonderland",
);
like($entries[4], qr/^apr:\$apr1\$[^\$]{1,8}\$[.\/0-9A-Za-z]{22}\z/,
     'openssl passwd -apr1 made an $apr1$ entry');
like($entries[8], qr/^yes:\$y\$/, 'libcrypt made a yescrypt entry');
like($entries[10], qr/^bf:\$2b\$05\$/, 'libcrypt made a bcrypt entry');
$f->write_file('conf/htpasswd', join("\n", @entries) . "\n");
$f->write_file('html/index.html', "index\n");
$f->write_file('html/a/open/x.html', "open\n");
$f->write_file('html/a/x.html', "closed\n");
$f->write_file("html/$_/x.html", "$_\n")
    for qw(realm any anyip all allip missing anymissing dir err);
$f->write_file('html/e401.html', "please log in\n");

my $be = Ferry::Test::Backend->new(port => $f->port(1));
$f->allow_log(qr/\[crit\] .*read\(\) ".*html" failed: Is a directory \(21\)/);
$f->start or BAIL_OUT('ferry did not start');

sub basic { 'Basic ' . encode_base64($_[0], '') }

sub get {
    my ($path, @h) = @_;
    return http_get($f->port(0), $path, @h);
}

my $challenge = 'Basic realm="Ferry \"test\" realm\\\\"';

# ---- every format ------------------------------------------------------
for my $user (sort keys %pw) {
    my $r = get('/', Authorization => basic("$user:$pw{$user}"));
    is("$r->{status} $r->{body}", "200 index\n", "$user: the right password");
    $r = get('/', Authorization => basic("$user:$pw{$user}x"));
    is($r->{status}, 401, "$user: a wrong one is 401");
    like($f->error_log, qr/\[error\] .*user "\Q$user\E": password mismatch, client: 127\.0\.0\.1/,
         "$user: ... logged as nginx does");
}
is(get('/', Authorization => basic("cmt:$pw{cmt}:a comment after the password"))->{status},
   401, 'the comment after a password is not part of it');
is(get('/', Authorization => basic("ssha:"))->{status}, 401,
   'an empty password is not the {SSHA} one');

# ---- the challenge -------------------------------------------------------
my $r = get('/');
is($r->{status}, 401, 'no Authorization: 401');
is($r->{headers}{'www-authenticate'}, $challenge,
   '... with WWW-Authenticate, the realm a quoted-string (" and \\ escaped)');
like($r->{body}, qr/<title>401 Authorization Required<\/title>/,
     '... and nginx\'s error page');
like($r->{raw}, qr/^HTTP\/1\.1 401 Unauthorized\r\n/, '... status line');
like($f->error_log, qr/\[info\] .*no user\/password was provided for basic authentication/,
     '... logged at info as nginx does');
is(get('/realm/x.html')->{headers}{'www-authenticate'}, 'Basic realm="other"',
   'a location\'s own realm');

$r = get('/', Authorization => basic('nobody:x'));
is($r->{status}, 401, 'an unknown user: 401');
is($r->{headers}{'www-authenticate'}, $challenge, '... with the challenge');
like($f->error_log,
     qr/\[error\] .*user "nobody" was not found in "\Q${\ $f->prefix}\E\/conf\/htpasswd"/,
     '... logged with the file\'s full name');
is(get('/', Authorization => basic('plai:p1ain'))->{status}, 401,
   'a prefix of a user name is not that user');
is(get('/', Authorization => basic('# a comment line:with:colons'))->{status},
   401, 'a comment line is no user');

for my $bad ('Basic', 'Basic ', 'Basic !!!!', 'Bearer ' . encode_base64('plain:p1ain', ''),
             basic('plainp1ain'), basic(':p1ain'), 'Basic cGxh!W46cDFhaW4=',
             'Basic cGxhaW46cDFhaW4AA')
{
    is(get('/', Authorization => $bad)->{status}, 401,
       "malformed Authorization \"$bad\": 401");
}
is(get('/', Authorization => 'basic   ' . encode_base64('plain:p1ain', ''))->{status},
   200, 'the scheme in any case, spaces after it');
is(get('/', Authorization => 'Basic cGxhaW46cDFhaW4')->{status}, 200,
   'base64 without its padding is accepted (nginx)');

$r = http($f->port(0), build_request(path => '/', headers => [
    Authorization => basic('plain:p1ain'), Authorization => basic('plain:p1ain'),
    Connection => 'close']));
is($r->{status}, 400, 'two Authorization lines: 400, as nginx');

# ---- levels --------------------------------------------------------------
is(get('/a/open/x.html')->{body}, "open\n", 'auth_basic off in a nested location');
is(get('/a/x.html')->{status}, 401, '... its parent still asks');
is(http_get($f->port(2), '/')->{status}, 200,
   'auth_basic_user_file without auth_basic: no authentication');

# ---- satisfy -------------------------------------------------------------
is(get('/any/x.html')->{status}, 401,
   'satisfy any, the address not allowed, no password: 401');
is(get('/any/x.html', Authorization => basic('plain:p1ain'))->{status}, 200,
   '... a good password lets it in');
is(get('/anyip/x.html')->{status}, 200,
   'satisfy any, the address allowed: in without a password');
is(get('/anyip/x.html', Authorization => basic('plain:wrong'))->{status}, 200,
   '... even with a wrong one');
is(get('/all/x.html', Authorization => basic('plain:p1ain'))->{status}, 403,
   'satisfy all: denied by address despite a good password (403)');
is(get('/all/x.html')->{status}, 403,
   '... and without one: allow/deny come first (403, not 401)');
is(get('/allip/x.html')->{status}, 401,
   'satisfy all, the address allowed: the password is still asked for');
is(get('/allip/x.html', Authorization => basic('plain:p1ain'))->{status}, 200,
   '... and given, lets it in');
is(get('/anymissing/x.html')->{status}, 200,
   'satisfy any with the address allowed: the missing file is not read');
unlike($f->error_log, qr/access forbidden by rule, .*"GET \/any\//,
       'satisfy any: the deny that matched is not logged (nginx)');
like($f->error_log, qr/access forbidden by rule, .*"GET \/all\//,
     'satisfy all: it is');

# ---- the file --------------------------------------------------------------
is(get('/', Authorization => basic('bob:builder'))->{status}, 401,
   'bob is not in the file yet');
$f->write_file('conf/htpasswd', join("\n", @entries) . "\nbob:{PLAIN}builder\n");
is(get('/', Authorization => basic('bob:builder'))->{status}, 200,
   'added to the file: in at once, without a reload (read per request)');
$f->write_file('conf/htpasswd', "bob:{PLAIN}builder");
is(get('/', Authorization => basic('bob:builder'))->{status}, 200,
   'a last line without a newline');
is(get('/', Authorization => basic('alice:wonderland'))->{status}, 401,
   'a user taken out of the file is refused at once');
$f->write_file('conf/htpasswd', join("\n", @entries) . "\n");

$r = get('/missing/x.html', Authorization => basic('plain:p1ain'));
is($r->{status}, 403, 'a missing password file: 403, as nginx');
like($f->error_log, qr/\[error\] .*open\(\) ".*\/conf\/nosuchfile" failed, client: .*No such file or directory \(2\)/,
     '... logged with the file and errno');
is(get('/missing/x.html')->{status}, 401,
   '... but without credentials the file is not opened: 401');
$r = get('/dir/x.html', Authorization => basic('plain:p1ain'));
is($r->{status}, 500, 'a password file that cannot be read: 500, as nginx');
like($f->error_log, qr/\[crit\] .*read\(\) ".*html" failed: Is a directory \(21\)/,
     '... logged at crit');

# ---- what goes on ------------------------------------------------------------
$r = get('/up/x', Authorization => basic('alice:wonderland'));
is($r->{status}, 200, 'proxied location, good credentials');
my $e = parse_echo($r->{body});
is_deeply([map { $_->[1] } grep { lc $_->[0] eq 'authorization' } @{ $e->{headers} }],
          [basic('alice:wonderland')], '... Authorization passed to the backend');
$r = get('/up/x');
is($r->{status}, 401, '... and without: 401 from ferry');
is(scalar $be->requests, 1, '... the backend saw only the good request');

my ($res, $closed) = http_keepalive($f->port(0), [
    build_request(path => '/a/x.html'),
    build_request(path => '/a/x.html',
                  headers => [Authorization => basic('alice:wonderland')]),
]);
is(join(' ', map { $_->{status} // 'none' } @$res), '401 200',
   'keep-alive: the 401 leaves the connection open for the retry');
ok(!$closed, '... and it stays open');

$r = get('/err/x.html');
is("$r->{status} $r->{body}", "401 please log in\n",
   'error_page 401: the page, with the 401');
is($r->{headers}{'www-authenticate'}, $challenge, '... and the challenge');

ok(wait_until { (Ferry::Test::read_file($f->prefix . '/logs/who.log') // '') =~ /alice\|200\|\/up\/x/ },
   '$remote_user in a log_format');
like(Ferry::Test::read_file($f->prefix . '/logs/access.log'),
     qr/^127\.0\.0\.1 - alice \[[^\]]+\] "GET \/up\/x HTTP\/1\.1" 200 /m,
     '... and in the default combined format');
like(Ferry::Test::read_file($f->prefix . '/logs/access.log'),
     qr/^127\.0\.0\.1 - nobody \[[^\]]+\] "GET \/ HTTP\/1\.1" 401 /m,
     '... even when refused (the name the client sent, as nginx)');
like(Ferry::Test::read_file($f->prefix . '/logs/access.log'),
     qr/^127\.0\.0\.1 - - \[[^\]]+\] "GET \/ HTTP\/1\.1" 401 /m,
     '... "-" without credentials');

# ---- auth_basic in limit_except -------------------------------------------
sub send_method {
    my ($method, $path, @h) = @_;
    return http($f->port(0), build_request(method => $method, path => $path,
        headers => [@h, Connection => 'close'], body => ''));
}
my $good = basic('plain:p1ain');
is(send_method('GET', '/lmt/x')->{status}, 200,
   'limit_except GET { auth_basic }: GET needs no password');
$r = send_method('POST', '/lmt/x');
is($r->{status}, 401, '... POST without one: 401');
is($r->{headers}{'www-authenticate'}, 'Basic realm="writers"', '... the block\'s realm');
is(send_method('POST', '/lmt/x', Authorization => basic('plain:bad'))->{status}, 401,
   '... a wrong password: 401');
is(send_method('DELETE', '/lmt/x', Authorization => $good)->{status}, 200,
   '... the right one lets DELETE in');
is(send_method('POST', '/lmtall/x')->{status}, 401,
   'satisfy all: an allowed address still needs the block\'s password');
is(send_method('POST', '/lmtall/x', Authorization => $good)->{status}, 200,
   '... with it: in (the block\'s realm, the server\'s file)');
is(send_method('POST', '/lmtdeny/x', Authorization => $good)->{status}, 403,
   'satisfy all: the block\'s deny wins over a good password');
is(send_method('GET', '/lmtdeny/x')->{status}, 200, '... GET is not limited');
is(send_method('POST', '/lmtany/x')->{status}, 200,
   'satisfy any: the block\'s allow lets it in without a password');
is(send_method('POST', '/lmtany2/x')->{status}, 401,
   'satisfy any, the address not allowed: the block\'s password asked for');
is(send_method('POST', '/lmtany2/x', Authorization => $good)->{status}, 200,
   '... and given, lets it in');
$r = send_method('POST', '/lmtinh/x');
is($r->{status}, 401, 'a block without auth_basic: the location\'s applies');
is($r->{headers}{'www-authenticate'}, $challenge, '... with its realm');
is(send_method('POST', '/lmtoff/x')->{status}, 200,
   'auth_basic off in the block: unlisted methods need no password');
is(send_method('GET', '/lmtoff/x')->{status}, 401, '... GET still does');

$f->stop;

# ---- configuration errors ------------------------------------------------------
server_conf_refused('auth_basic a; auth_basic b;',
                    '"auth_basic" directive is duplicate in .*ferry\.conf:8',
                    'auth_basic twice');
server_conf_refused('auth_basic_user_file a; auth_basic_user_file b;',
                    '"auth_basic_user_file" directive is duplicate in .*ferry\.conf:8',
                    'auth_basic_user_file twice');
server_conf_refused('auth_basic $nonesuch;',
                    'unknown "nonesuch" variable in .*ferry\.conf:8',
                    'a realm with an unknown variable (t/auth_basic_vars.t: known ones)');
server_conf_refused('auth_basic_user_file conf/$nonesuch;',
                    'unknown "nonesuch" variable in .*ferry\.conf:8',
                    'a file name with an unknown variable');
server_conf_refused('satisfy some;', 'invalid value "some" in .*ferry\.conf:8',
                    'satisfy with a bad value');
server_conf_refused('satisfy any; satisfy all;',
                    '"satisfy" directive is duplicate in .*ferry\.conf:8',
                    'satisfy twice');
server_conf_refused('location / { limit_except GET { satisfy any; } }',
                    '"satisfy" directive is not allowed here in .*ferry\.conf:8',
                    'satisfy in limit_except (nginx does not take it there)');
server_conf_refused('location / { limit_except GET { auth_basic a; auth_basic b; } }',
                    '"auth_basic" directive is duplicate in .*ferry\.conf:8',
                    'auth_basic twice in limit_except');
server_conf_refused('auth_basic a b;', 'invalid number of arguments in "auth_basic" .*ferry\.conf:8',
                    'auth_basic with two arguments');

done_testing;
