#!/usr/bin/perl

# uwsgi_pass against the real uWSGI (Debian's uwsgi-core and
# uwsgi-plugin-python3) running a WSGI application the test writes
# (t/lib/Ferry/UWSGI.pm): a Django/Flask-style location (include
# uwsgi_params from the conf directory, uwsgi_pass) works unchanged.
# What the application sees (REQUEST_METHOD, PATH_INFO, QUERY_STRING,
# REQUEST_URI, HTTP_*, the body: a form, a big one, a chunked one),
# what the client gets (statuses with their reason, Location,
# headers, keep-alive), uwsgi:// before the address, a unix socket, an
# upstream group of two uWSGI instances (TCP and unix socket), a server
# down in a group, uwsgi_hide_header/uwsgi_pass_header,
# uwsgi_buffering off with small buffers, uwsgi_intercept_errors with
# error_page, uwsgi_read_timeout (504), uWSGI down (502),
# uwsgi_modifier1 as uWSGI reads it, uwsgi_param inheritance and
# if_not_empty; the packet itself read byte by byte by a uwsgi server
# of the test's own (modifier1, modifier2, the 16-bit sizes), a packet
# over 64 KiB refused (500, logged); uwsgi_cache (MISS, HIT, HIT with
# uWSGI stopped); and config errors with file and line.

use strict;
use warnings;

use Test::More;
use Ferry::Test;
use Ferry::UWSGI;
use Digest::MD5 qw(md5_hex);
use IO::Socket::INET;
use POSIX ();

plan skip_all => 'uWSGI with its python3 plugin not installed (sh auto/deps '
               . '--test installs uwsgi-core and uwsgi-plugin-python3)'
    unless Ferry::UWSGI::available();

my $CONF = <<'EOF';
events { worker_connections 64; }
http {
    access_log off;
    uwsgi_cache_path %%PREFIX%%/cache keys_zone=kept:1m;
    large_client_header_buffers 4 32k;
    upstream pair {
        server 127.0.0.1:%%PORT_1%%;
        server unix:%%PREFIX%%/uwsgi-b.sock;
    }
    upstream fail {
        server 127.0.0.1:%%PORT_2%%;
        server 127.0.0.1:%%PORT_1%%;
    }
    server {
        listen 127.0.0.1:%%PORT_0%%;
        root %%PREFIX%%/html;
        # inherited by a location without uwsgi_param lines of its own
        uwsgi_param REQUEST_METHOD $request_method;
        uwsgi_param PATH_INFO $document_uri;
        uwsgi_param SERVER_PROTOCOL $server_protocol;
        uwsgi_param FROM_SERVER yes;

        location / {
            include uwsgi_params;
            uwsgi_param FROM_LOCATION yes;
            uwsgi_param EMPTY_SKIPPED $arg_nope if_not_empty;
            uwsgi_param EMPTY_KEPT $arg_nope;
            uwsgi_pass 127.0.0.1:%%PORT_1%%;
        }
        location /inherit/ {
            uwsgi_pass 127.0.0.1:%%PORT_1%%;
        }
        location /scheme/ {
            include uwsgi_params;
            uwsgi_pass uwsgi://127.0.0.1:%%PORT_1%%;
        }
        location /unix/ {
            include uwsgi_params;
            uwsgi_pass unix:%%PREFIX%%/uwsgi-b.sock;
        }
        location /pair/ {
            include uwsgi_params;
            uwsgi_pass pair;
        }
        location /cached/ {
            include uwsgi_params;
            uwsgi_cache kept;
            uwsgi_cache_key $request_uri;
            uwsgi_cache_valid 10m;
            add_header X-Cache $upstream_cache_status;
            uwsgi_pass 127.0.0.1:%%PORT_1%%;
        }
        location /fail/ {
            include uwsgi_params;
            uwsgi_pass fail;
        }
        location /down/ {
            include uwsgi_params;
            uwsgi_pass 127.0.0.1:%%PORT_2%%;
        }
        location /hdr/ {
            include uwsgi_params;
            uwsgi_hide_header X-Hide-Me;
            uwsgi_pass_header X-Accel-Custom;
            uwsgi_buffering off;
            uwsgi_buffer_size 4k;
            uwsgi_buffers 4 8k;
            uwsgi_pass 127.0.0.1:%%PORT_1%%;
        }
        location /icpt/ {
            include uwsgi_params;
            uwsgi_intercept_errors on;
            error_page 404 /custom404.html;
            uwsgi_pass 127.0.0.1:%%PORT_1%%;
        }
        location = /custom404.html { }
        location /slow/ {
            include uwsgi_params;
            uwsgi_read_timeout 1s;
            uwsgi_pass 127.0.0.1:%%PORT_1%%;
        }
        location /small/ {
            include uwsgi_params;
            client_body_buffer_size 1k;
            uwsgi_pass 127.0.0.1:%%PORT_1%%;
        }
        location /huge/ {
            include uwsgi_params;
            uwsgi_param BIG1 $http_x_big;
            uwsgi_param BIG2 $http_x_big;
            uwsgi_param BIG3 $http_x_big;
            uwsgi_pass 127.0.0.1:%%PORT_1%%;
        }
        location /mod9/ {
            include uwsgi_params;
            uwsgi_modifier1 9;
            uwsgi_pass 127.0.0.1:%%PORT_1%%;
        }
        location /raw/ {
            uwsgi_param REQUEST_METHOD $request_method;
            uwsgi_param CONTENT_LENGTH $content_length;
            uwsgi_param LONG $arg_long;
            uwsgi_modifier1 5;
            uwsgi_modifier2 7;
            uwsgi_pass 127.0.0.1:%%PORT_3%%;
        }
    }
}
EOF

my $f = Ferry::Test->new(conf => main_conf() . $CONF);
my $P = $f->prefix;

# the file nginx ships, from this tree's conf/, where an install puts it
$f->write_file('conf/uwsgi_params',
               Ferry::Test::read_file("$Ferry::Test::ROOT/conf/uwsgi_params"));
$f->write_file('html/custom404.html', "custom not found page\n");

my $ua = Ferry::UWSGI->new(dir => $P, name => 'a',
                           socket => '127.0.0.1:' . $f->port(1));
my $ub = Ferry::UWSGI->new(dir => $P, name => 'b',
                           socket => "$P/uwsgi-b.sock");

# A uwsgi server of the test's own: it reads the packet as the protocol
# defines it (4-byte header, then 16-bit little-endian lengths), then
# CONTENT_LENGTH bytes of body, and answers with what it read.
my $raw_pid;
{
    my $ls = IO::Socket::INET->new(LocalAddr => '127.0.0.1',
                                   LocalPort => $f->port(3), Listen => 8,
                                   ReuseAddr => 1) or die "listen: $!";
    $raw_pid = fork // die "fork: $!";
    if ($raw_pid == 0) {
        while (my $c = $ls->accept) {
            my $in = '';
            my $need = sub {
                my ($n) = @_;
                while (length $in < $n) {
                    sysread($c, $in, 65536, length $in) or return 0;
                }
                return 1;
            };
            $need->(4) or next;
            my ($m1, $size, $m2) = unpack('C v C', $in);
            $need->(4 + $size) or next;
            my $vars = substr($in, 4, $size);
            my $out = "M1=$m1\nM2=$m2\nSIZE=$size\n";
            my %v;
            my $pos = 0;
            my $ok = 1;
            while ($pos < $size) {
                my $kl = unpack('v', substr($vars, $pos, 2));
                my $k = substr($vars, $pos + 2, $kl);
                my $vl = unpack('v', substr($vars, $pos + 2 + $kl, 2));
                my $val = substr($vars, $pos + 4 + $kl, $vl);
                $pos += 4 + $kl + $vl;
                $v{$k} = $val;
                $out .= "VAR $k=" . (length $val > 100 ? 'len:' . length $val
                                                        : $val) . "\n";
            }
            $out .= "EXACT=" . ($pos == $size ? 1 : 0) . "\n";
            my $cl = $v{CONTENT_LENGTH} || 0;
            $need->(4 + $size + $cl);
            $out .= "BODY=" . substr($in, 4 + $size, $cl) . "\n";
            syswrite $c, "HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\n"
                         . "Content-Length: " . length($out) . "\r\n\r\n$out";
            close $c;
        }
        POSIX::_exit(0);
    }
    close $ls;
}

END {
    local $?;       # the exit status of the test, not of the server
    if ($raw_pid) {
        kill 'TERM', $raw_pid;
        waitpid($raw_pid, 0);
    }
}

$f->start;
my $port = $f->port(0);
my ($r, $v);

# what the application sees, with nginx's uwsgi_params
$r = http_get($port, '/app/page?x=1&y=two', 'X-Custom' => 'abc');
is($r->{status}, 200, 'GET through uWSGI: 200');
$v = Ferry::UWSGI::env_of($r->{body});
is($v->{REQUEST_METHOD}, 'GET', 'REQUEST_METHOD');
is($v->{PATH_INFO}, '/app/page', 'PATH_INFO is the URI without the query');
is($v->{QUERY_STRING}, 'x=1&y=two', 'QUERY_STRING');
is($v->{REQUEST_URI}, '/app/page?x=1&y=two', 'REQUEST_URI');
is($v->{SERVER_PROTOCOL}, 'HTTP/1.1', 'SERVER_PROTOCOL');
is($v->{REQUEST_SCHEME}, 'http', 'REQUEST_SCHEME');
is($v->{REMOTE_ADDR}, '127.0.0.1', 'REMOTE_ADDR');
is($v->{SERVER_PORT}, $port, 'SERVER_PORT');
is($v->{DOCUMENT_ROOT}, "$P/html", 'DOCUMENT_ROOT');
ok(!exists $v->{HTTPS}, 'HTTPS (if_not_empty) not sent over plain HTTP');
is($v->{HTTP_X_CUSTOM}, 'abc', 'a request header as HTTP_X_CUSTOM');
is($v->{HTTP_HOST}, 'localhost', '... Host as HTTP_HOST');
is($v->{FROM_LOCATION}, 'yes', "the location's own uwsgi_param");
ok(!exists $v->{FROM_SERVER},
   "... which replace the server's (a level with its own)");
ok(!exists $v->{EMPTY_SKIPPED}, 'an empty if_not_empty param is not sent');
ok(exists $v->{EMPTY_KEPT} && $v->{EMPTY_KEPT} eq '',
   'an empty param without it is sent empty');
is($v->{INSTANCE}, 'a', 'uWSGI instance a answered');
is($r->{headers}{'content-type'}, 'text/plain',
   "the application's Content-Type");

$r = http_get($port, '/inherit/x');
$v = Ferry::UWSGI::env_of($r->{body});
is($v->{FROM_SERVER}, 'yes', "a location without uwsgi_param: the server's");
is($v->{PATH_INFO}, '/inherit/x', '... all of them');

# bodies
$r = http($port, build_request(method => 'POST', path => '/form',
    headers => ['Content-Type' => 'application/x-www-form-urlencoded',
                Connection => 'close'],
    body => 'name=ferry&kind=proxy'));
$v = Ferry::UWSGI::env_of($r->{body});
is($v->{REQUEST_METHOD}, 'POST', 'POST: REQUEST_METHOD');
is($v->{CONTENT_LENGTH}, 21, '... CONTENT_LENGTH');
is($v->{CONTENT_TYPE}, 'application/x-www-form-urlencoded',
   '... CONTENT_TYPE');
is($v->{BODY}, 'name=ferry&kind=proxy', '... the body as sent');

my $big = join('', map { chr(($_ * 7) % 251) } 1 .. 200000);
$r = http($port, build_request(method => 'POST', path => '/big',
    headers => [Connection => 'close'], body => $big), timeout => 20);
$v = Ferry::UWSGI::env_of($r->{body});
is($v->{BODY_LEN}, 200000, 'a 200000-byte body: all of it read');
is($v->{BODY_MD5}, md5_hex($big), '... byte for byte');

$r = http($port, build_request(method => 'POST', path => '/chunked',
    headers => ['Transfer-Encoding' => 'chunked', Connection => 'close'],
    body => "5\r\nhello\r\n7\r\n chunks\r\n0\r\n\r\n"));
$v = Ferry::UWSGI::env_of($r->{body});
is($v->{CONTENT_LENGTH}, 12, 'a chunked body: CONTENT_LENGTH is its length');
is($v->{BODY}, 'hello chunks', '... and the body arrives decoded');

my $chunk = 'c' x 1000;
$r = http($port, build_request(method => 'POST', path => '/small/x',
    headers => ['Transfer-Encoding' => 'chunked', Connection => 'close'],
    body => ("3e8\r\n$chunk\r\n" x 5) . "0\r\n\r\n"));
is($r->{status}, 413, 'a chunked body bigger than client_body_buffer_size: '
                      . '413');
ok((wait_until { $f->error_log =~ /\[error\] .*chunked request body is larger than client_body_buffer_size 1024 bytes, cannot pass it to uwsgi, client: 127\.0\.0\.1, request: "POST \/small\/x HTTP\/1\.1"/ } 5),
   '... logged');
$r = http($port, build_request(method => 'POST', path => '/small/x',
    headers => [Connection => 'close'], body => $chunk x 5));
is(Ferry::UWSGI::env_of($r->{body})->{BODY_LEN}, 5000,
   '... while one with a Content-Length streams up at any size');

# statuses and headers
$r = http_get($port, '/s?status=404+Not+Here');
is($r->{status}, 404, "the application's status");
is($r->{reason}, 'Not Here', '... with its reason');
$r = http_get($port, '/s?status=201+Created');
is($r->{status}, 201, 'a 201');
$r = http_get($port, '/s?location=/elsewhere');
is($r->{status}, 302, 'a redirect: 302');
is($r->{headers}{location}, '/elsewhere', '... its Location');
$r = http_get($port, '/s?headers=1');
is($r->{headers}{'x-app'}, 'yes', "the application's own header");
is(scalar(grep { lc $_->[0] eq 'set-cookie' } @{ $r->{header_list} }), 2,
   'two Set-Cookie fields stay two');
ok(!exists $r->{headers}{'x-accel-custom'}, 'X-Accel-* hidden by default');
is($r->{headers}{'x-hide-me'}, 'secret', '... not X-Hide-Me');

$r = http_get($port, '/hdr/s?headers=1');
ok(!exists $r->{headers}{'x-hide-me'}, 'uwsgi_hide_header hides it');
is($r->{headers}{'x-accel-custom'}, 'passed', 'uwsgi_pass_header passes it');

$r = http_get($port, '/s?big=870000');
is(length $r->{body}, 870000, 'an 870 KB answer, buffered');
is(md5_hex($r->{body}), md5_hex(substr('0123456789' x 87001, 0, 870000)),
   '... intact');
$r = http_get($port, '/hdr/s?big=870000');
is(length $r->{body}, 870000,
   '... and with uwsgi_buffering off and small buffers');

# keep-alive on the client side
my ($res, $closed) = http_keepalive($port, [
    build_request(path => '/k1'),
    build_request(method => 'HEAD', path => '/k2'),
    build_request(method => 'POST', path => '/k3', body => 'abc'),
    build_request(path => '/k4?status=404+Nope'),
]);
is(join(',', map { $_->{status} // 'none' } @$res), '200,200,200,404',
   'four requests on one client connection');
is(Ferry::UWSGI::env_of($res->[2]{body})->{BODY}, 'abc',
   '... the POST among them has its body');
ok(!$closed, '... and the connection stays open');

# addresses: uwsgi://, a unix socket, a group of both
$r = http_get($port, '/scheme/x');
is(Ferry::UWSGI::env_of($r->{body})->{INSTANCE}, 'a',
   'uwsgi_pass uwsgi://host:port');
$r = http_get($port, '/unix/x');
is(Ferry::UWSGI::env_of($r->{body})->{INSTANCE}, 'b',
   'uwsgi_pass unix:path: instance b');
my %seen;
for (1 .. 6) {
    $r = http_get($port, '/pair/x');
    $seen{ Ferry::UWSGI::env_of($r->{body})->{INSTANCE} // 'none' }++;
}
is(join(',', sort keys %seen), 'a,b',
   'an upstream group of two uWSGI instances: both answer');
my @ok = map { http_get($port, '/fail/x')->{status} } 1 .. 4;
is(join(',', @ok), '200,200,200,200',
   'a server down in the group: every request goes on to the other');

# errors
$r = http_get($port, '/icpt/s?status=404+Not+Found');
is($r->{status}, 404, 'uwsgi_intercept_errors: the status stays');
is($r->{body}, "custom not found page\n", '... error_page answers');

$r = http_get($port, '/down/x');
is($r->{status}, 502, 'nothing listening: 502');
ok((wait_until { $f->error_log =~ /\[error\] .*connect\(\) failed .*request: "GET \/down\/x HTTP\/1\.1", upstream: "uwsgi:\/\/127\.0\.0\.1:\d+"/ } 5),
   '... logged with the uwsgi:// upstream');

$r = http($port, build_request(path => '/slow/x?sleep=3',
                               headers => [Connection => 'close']),
          timeout => 10);
is($r->{status}, 504, 'slower than uwsgi_read_timeout: 504');

$r = http_get($port, '/mod9/x');
is($r->{status}, 502, 'uwsgi_modifier1 9 (no such plugin loaded): 502');
ok((wait_until { $ua->log_text =~ /unavailable modifier requested: 9/ } 5),
   '... uWSGI read modifier1 9 from the packet');

$r = http_get($port, '/huge/x', 'X-Big' => 'x' x 20000);
is($r->{status}, 500, 'variables over 64 KiB: 500');
ok((wait_until { $f->error_log =~ /\[error\] .*uwsgi request is too big: \d+ bytes of variables, the uwsgi packet holds at most 65535, client: 127\.0\.0\.1, request: "GET \/huge\/x HTTP\/1\.1"/ } 5),
   '... logged');
$r = http_get($port, '/huge/x', 'X-Big' => 'x' x 10000);
is($r->{status}, 200, '... while under it passes');

# the packet byte by byte
$r = http($port, build_request(method => 'POST', path => '/raw/p?long='
                               . ('L' x 300),
                               headers => [Connection => 'close'],
                               body => 'payload'));
is($r->{status}, 200, 'a uwsgi server of our own answers');
like($r->{body}, qr/^M1=5\nM2=7\n/, 'uwsgi_modifier1 and uwsgi_modifier2 '
                                     . 'in the header');
like($r->{body}, qr/^EXACT=1$/m, 'the header size is that of the variables');
like($r->{body}, qr/^VAR REQUEST_METHOD=POST$/m, 'a variable');
like($r->{body}, qr/^VAR LONG=len:300$/m, 'a value over 255 bytes');
like($r->{body}, qr/^VAR HTTP_HOST=localhost$/m, 'a header');
like($r->{body}, qr/^BODY=payload$/m, 'the body after the packet');

# uwsgi_cache: the cache of proxy_cache for uwsgi_pass
$r = http_get($port, '/cached/a?x=1');
is($r->{status}, 200, 'uwsgi_cache: 200');
is($r->{headers}{'x-cache'}, 'MISS', 'uwsgi_cache: first MISS');
my $first = $r->{body};
$r = http_get($port, '/cached/a?x=1');
is($r->{headers}{'x-cache'}, 'HIT', 'uwsgi_cache: then HIT');
$ua->stop;
$r = http_get($port, '/cached/a?x=1');
is($r->{status}, 200, 'uwsgi_cache: with the application stopped, 200');
is($r->{headers}{'x-cache'}, 'HIT', '... HIT');
is($r->{body}, $first, '... the stored answer');

$f->stop;
$ua->stop;
$ub->stop;

# config errors
server_conf_refused("location / { uwsgi_pass; }",
                    qr/invalid number of arguments in "uwsgi_pass".*ferry\.conf:8/,
                    'uwsgi_pass without an address');
server_conf_refused("location / { uwsgi_pass http://127.0.0.1:9000; }",
                    qr/invalid address "http:\/\/127\.0\.0\.1:9000" in "uwsgi_pass".* in .*ferry\.conf:8/,
                    'uwsgi_pass with an http:// address');
server_conf_refused("location / { uwsgi_ssl_certificate a.crt; "
                    . "uwsgi_pass suwsgi://127.0.0.1:9000; }",
                    qr/no "uwsgi_ssl_certificate_key" for "uwsgi_ssl_certificate" in .*ferry\.conf:8/,
                    'uwsgi_pass suwsgi:// with a certificate, no key');
server_conf_refused("location / { uwsgi_pass unix:; }",
                    qr/no host in "unix:" in .*ferry\.conf:8/,
                    'uwsgi_pass unix: without a path');
server_conf_refused("location / { uwsgi_pass django; }",
                    qr/no port in upstream "django" in .*ferry\.conf:8/,
                    'uwsgi_pass of a name that is no upstream block, no port');
server_conf_refused("location / { proxy_pass http://127.0.0.1:1; "
                    . "uwsgi_pass 127.0.0.1:2; }",
                    qr/"uwsgi_pass" directive is duplicate in .*ferry\.conf:8/,
                    'uwsgi_pass after proxy_pass');
server_conf_refused("uwsgi_param A b c;",
                    qr/invalid parameter "c" in .*ferry\.conf:8/,
                    'uwsgi_param with a third word other than if_not_empty');
server_conf_refused("uwsgi_modifier1 256;",
                    qr/"uwsgi_modifier1".* in .*ferry\.conf:8/,
                    'uwsgi_modifier1 over 255');
server_conf_refused("uwsgi_buffers 1 4k;",
                    qr/invalid number of buffers "1" in "uwsgi_buffers" directive.* in .*ferry\.conf:8/,
                    'uwsgi_buffers with one buffer');
server_conf_refused("uwsgi_read_timeout soon;",
                    qr/"uwsgi_read_timeout".* in .*ferry\.conf:8/,
                    'uwsgi_read_timeout not a time');

http_conf_refused("uwsgi_cache_path %%PREFIX%%/c keys_zone=z:1m;\n"
                  . "    server {\n        location / {\n"
                  . "            uwsgi_cache z;\n"
                  . "            uwsgi_pass 127.0.0.1:9;\n"
                  . "        }\n    }",
                  qr/no "uwsgi_cache_key" for "uwsgi_cache" in .*ferry\.conf:9/,
                  'uwsgi_cache without uwsgi_cache_key');
server_conf_refused("location / { uwsgi_cache nozone; uwsgi_cache_key x; "
                    . "uwsgi_pass 127.0.0.1:9; }",
                    qr/unknown uwsgi_cache zone "nozone" in .*ferry\.conf:8/,
                    'uwsgi_cache of a zone never defined');

done_testing;
