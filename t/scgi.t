#!/usr/bin/perl

# scgi_pass against the real uWSGI speaking SCGI (--scgi-socket;
# Debian's uwsgi-core and uwsgi-plugin-python3) running a WSGI
# application the test writes (t/lib/Ferry/UWSGI.pm); uWSGI answers
# SCGI with a CGI header (Status: 200 OK), so this is the CGI path of
# the response.  What the application sees (REQUEST_METHOD,
# REQUEST_URI, DOCUMENT_URI, QUERY_STRING, SCGI, HTTP_*, the body: a
# form, a big one, a chunked one), what the client gets (statuses with
# their reason, Location, headers, keep-alive), a unix socket, an
# upstream group of two instances (TCP and unix socket), a server down
# in a group, scgi_hide_header/scgi_pass_header, scgi_buffering off,
# scgi_intercept_errors with error_page, scgi_read_timeout (504), the
# server down (502), scgi_param inheritance and if_not_empty; the
# netstring itself read by an SCGI server of the test's own
# (CONTENT_LENGTH first and once, NUL-terminated pairs, the comma, the
# body after it), its HTTP status line answer (nph) passed, an invalid
# Status refused (502); scgi_cache (MISS, HIT, HIT with uWSGI
# stopped); and config errors with file and line.

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
    scgi_cache_path %%PREFIX%%/cache keys_zone=kept:1m;
    upstream pair {
        server 127.0.0.1:%%PORT_1%%;
        server unix:%%PREFIX%%/scgi-b.sock;
    }
    upstream fail {
        server 127.0.0.1:%%PORT_2%%;
        server 127.0.0.1:%%PORT_1%%;
    }
    server {
        listen 127.0.0.1:%%PORT_0%%;
        root %%PREFIX%%/html;
        # inherited by a location without scgi_param lines of its own
        scgi_param REQUEST_METHOD $request_method;
        scgi_param REQUEST_URI $request_uri;
        scgi_param FROM_SERVER yes;

        location / {
            include scgi_params;
            scgi_param FROM_LOCATION yes;
            scgi_param EMPTY_SKIPPED $arg_nope if_not_empty;
            scgi_param EMPTY_KEPT $arg_nope;
            scgi_pass 127.0.0.1:%%PORT_1%%;
        }
        location /inherit/ {
            scgi_pass 127.0.0.1:%%PORT_1%%;
        }
        location /unix/ {
            include scgi_params;
            scgi_pass unix:%%PREFIX%%/scgi-b.sock;
        }
        location /pair/ {
            include scgi_params;
            scgi_pass pair;
        }
        location /cached/ {
            include scgi_params;
            scgi_cache kept;
            scgi_cache_key $request_uri;
            scgi_cache_valid 10m;
            add_header X-Cache $upstream_cache_status;
            scgi_pass 127.0.0.1:%%PORT_1%%;
        }
        location /fail/ {
            include scgi_params;
            scgi_pass fail;
        }
        location /down/ {
            include scgi_params;
            scgi_pass 127.0.0.1:%%PORT_2%%;
        }
        location /hdr/ {
            include scgi_params;
            scgi_hide_header X-Hide-Me;
            scgi_pass_header X-Accel-Custom;
            scgi_buffering off;
            scgi_buffer_size 4k;
            scgi_buffers 4 8k;
            scgi_pass 127.0.0.1:%%PORT_1%%;
        }
        location /icpt/ {
            include scgi_params;
            scgi_intercept_errors on;
            error_page 404 /custom404.html;
            scgi_pass 127.0.0.1:%%PORT_1%%;
        }
        location = /custom404.html { }
        location /slow/ {
            include scgi_params;
            scgi_read_timeout 1s;
            scgi_pass 127.0.0.1:%%PORT_1%%;
        }
        location /raw/ {
            include scgi_params;
            # SCGI's own CONTENT_LENGTH comes first; this is not sent
            # a second time
            scgi_param CONTENT_LENGTH $content_length;
            scgi_pass 127.0.0.1:%%PORT_3%%;
        }
    }
}
EOF

my $f = Ferry::Test->new(conf => main_conf() . $CONF);
my $P = $f->prefix;

# the file nginx ships, from this tree's conf/, where an install puts it
$f->write_file('conf/scgi_params',
               Ferry::Test::read_file("$Ferry::Test::ROOT/conf/scgi_params"));
$f->write_file('html/custom404.html', "custom not found page\n");

my $ua = Ferry::UWSGI->new(dir => $P, name => 'a', proto => 'scgi',
                           socket => '127.0.0.1:' . $f->port(1));
my $ub = Ferry::UWSGI->new(dir => $P, name => 'b', proto => 'scgi',
                           socket => "$P/scgi-b.sock");

# An SCGI server of the test's own: it reads the netstring as SCGI
# defines it (decimal length, ':', that many bytes of NUL-terminated
# names and values, ','), then CONTENT_LENGTH bytes of body, and
# answers with what it read: in a CGI header, or with an HTTP status
# line for /raw/nph, or with an invalid Status for /raw/bad.
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
            my $out = '';
            while ($in !~ /:/) {
                sysread($c, $in, 65536, length $in) or last;
            }
            if ($in !~ /^([1-9][0-9]*):/) {
                close $c;
                next;
            }
            my $len = $1;
            my $start = length($len) + 1;
            $need->($start + $len + 1) or next;
            my $headers = substr($in, $start, $len);
            my $comma = substr($in, $start + $len, 1);
            $out .= 'COMMA=' . ($comma eq ',' ? 1 : 0) . "\n";
            $out .= 'NUL_END=' . ($headers =~ /\0\z/ ? 1 : 0) . "\n";
            my @f = split /\0/, $headers, -1;
            pop @f;     # after the last NUL
            my (%v, %count, @names);
            while (@f) {
                my ($k, $val) = splice(@f, 0, 2);
                push @names, $k;
                $count{$k}++;
                $v{$k} = $val;
            }
            $out .= "FIRST=$names[0]\n";
            $out .= "CL_COUNT=" . ($count{CONTENT_LENGTH} // 0) . "\n";
            $out .= "VAR $_=$v{$_}\n" for sort keys %v;
            my $cl = $v{CONTENT_LENGTH} // 0;
            my $at = $start + $len + 1;
            $need->($at + $cl);
            $out .= "BODY=" . substr($in, $at, $cl) . "\n";
            my $uri = $v{REQUEST_URI} // '';
            if ($uri =~ /nph/) {
                syswrite $c, "HTTP/1.1 203 From Raw\r\nX-Raw: 1\r\n"
                             . "Status: 500 Ignored\r\n\r\n$out";
            } elsif ($uri =~ /bad/) {
                syswrite $c, "Status: abc\r\n\r\n";
            } else {
                syswrite $c, "Status: 200 OK\r\nContent-Type: text/plain"
                             . "\r\n\r\n$out";
            }
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

# what the application sees, with nginx's scgi_params
$r = http_get($port, '/app/page?x=1&y=two', 'X-Custom' => 'abc');
is($r->{status}, 200, 'GET through uWSGI over SCGI: 200');
$v = Ferry::UWSGI::env_of($r->{body});
is($v->{REQUEST_METHOD}, 'GET', 'REQUEST_METHOD');
is($v->{DOCUMENT_URI}, '/app/page', 'DOCUMENT_URI');
is($v->{QUERY_STRING}, 'x=1&y=two', 'QUERY_STRING');
is($v->{REQUEST_URI}, '/app/page?x=1&y=two', 'REQUEST_URI');
is($v->{SCGI}, '1', 'SCGI');
is($v->{CONTENT_LENGTH}, '0', 'CONTENT_LENGTH 0 without a body');
is($v->{SERVER_PROTOCOL}, 'HTTP/1.1', 'SERVER_PROTOCOL');
is($v->{REMOTE_ADDR}, '127.0.0.1', 'REMOTE_ADDR');
is($v->{SERVER_PORT}, $port, 'SERVER_PORT');
ok(!exists $v->{HTTPS}, 'HTTPS (if_not_empty) not sent over plain HTTP');
is($v->{HTTP_X_CUSTOM}, 'abc', 'a request header as HTTP_X_CUSTOM');
is($v->{FROM_LOCATION}, 'yes', "the location's own scgi_param");
ok(!exists $v->{FROM_SERVER},
   "... which replace the server's (a level with its own)");
ok(!exists $v->{EMPTY_SKIPPED}, 'an empty if_not_empty param is not sent');
ok(exists $v->{EMPTY_KEPT} && $v->{EMPTY_KEPT} eq '',
   'an empty param without it is sent empty');
is($v->{INSTANCE}, 'a', 'instance a answered');
is($r->{headers}{'content-type'}, 'text/plain',
   "the application's Content-Type");

$r = http_get($port, '/inherit/x');
$v = Ferry::UWSGI::env_of($r->{body});
is($v->{FROM_SERVER}, 'yes', "a location without scgi_param: the server's");
is($v->{REQUEST_URI}, '/inherit/x', '... all of them');

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

# statuses and headers, from a CGI header
$r = http_get($port, '/s?status=404+Not+Here');
is($r->{status}, 404, "the application's status (Status: field)");
is($r->{reason}, 'Not Here', '... with its reason');
ok(!exists $r->{headers}{status}, '... and no Status field to the client');
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

$r = http_get($port, '/hdr/s?headers=1');
ok(!exists $r->{headers}{'x-hide-me'}, 'scgi_hide_header hides it');
is($r->{headers}{'x-accel-custom'}, 'passed', 'scgi_pass_header passes it');

$r = http_get($port, '/s?big=870000');
is(length $r->{body}, 870000, 'an 870 KB answer, buffered');
is(md5_hex($r->{body}), md5_hex(substr('0123456789' x 87001, 0, 870000)),
   '... intact');
$r = http_get($port, '/hdr/s?big=870000');
is(length $r->{body}, 870000,
   '... and with scgi_buffering off and small buffers');

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

# addresses: a unix socket, a group of both
$r = http_get($port, '/unix/x');
is(Ferry::UWSGI::env_of($r->{body})->{INSTANCE}, 'b',
   'scgi_pass unix:path: instance b');
my %seen;
for (1 .. 6) {
    $r = http_get($port, '/pair/x');
    $seen{ Ferry::UWSGI::env_of($r->{body})->{INSTANCE} // 'none' }++;
}
is(join(',', sort keys %seen), 'a,b',
   'an upstream group of two SCGI servers: both answer');
my @ok = map { http_get($port, '/fail/x')->{status} } 1 .. 4;
is(join(',', @ok), '200,200,200,200',
   'a server down in the group: every request goes on to the other');

# errors
$r = http_get($port, '/icpt/s?status=404+Not+Found');
is($r->{status}, 404, 'scgi_intercept_errors: the status stays');
is($r->{body}, "custom not found page\n", '... error_page answers');

$r = http_get($port, '/down/x');
is($r->{status}, 502, 'nothing listening: 502');
ok((wait_until { $f->error_log =~ /\[error\] .*connect\(\) failed .*request: "GET \/down\/x HTTP\/1\.1", upstream: "scgi:\/\/127\.0\.0\.1:\d+"/ } 5),
   '... logged with the scgi:// upstream');

$r = http($port, build_request(path => '/slow/x?sleep=3',
                               headers => [Connection => 'close']),
          timeout => 10);
is($r->{status}, 504, 'slower than scgi_read_timeout: 504');

# the netstring itself
$r = http($port, build_request(method => 'POST', path => '/raw/p?q=1',
                               headers => [Connection => 'close'],
                               body => 'payload'));
is($r->{status}, 200, 'an SCGI server of our own answers');
like($r->{body}, qr/^FIRST=CONTENT_LENGTH$/m, 'CONTENT_LENGTH comes first');
like($r->{body}, qr/^CL_COUNT=1$/m,
     '... once, though scgi_param CONTENT_LENGTH is set too');
like($r->{body}, qr/^VAR CONTENT_LENGTH=7$/m, '... the length of the body');
like($r->{body}, qr/^COMMA=1$/m, 'the netstring ends with a comma');
like($r->{body}, qr/^NUL_END=1$/m, '... after a NUL');
like($r->{body}, qr/^VAR SCGI=1$/m, 'SCGI=1 from scgi_params');
like($r->{body}, qr/^VAR QUERY_STRING=q=1$/m, 'a variable');
like($r->{body}, qr/^BODY=payload$/m, 'the body after the netstring');

$r = http_get($port, '/raw/nph');
is($r->{status}, 203, 'an answer with an HTTP status line: its status');
is($r->{reason}, 'From Raw', '... and reason');
is($r->{headers}{'x-raw'}, '1', '... its header');
ok(!exists $r->{headers}{status}, '... a Status field there hidden');

$r = http_get($port, '/raw/bad');
is($r->{status}, 502, 'an invalid Status: 502');
ok((wait_until { $f->error_log =~ /\[error\] .*upstream sent invalid status "abc".* upstream: "scgi:\/\// } 5),
   '... logged');

# scgi_cache: the cache of proxy_cache for scgi_pass
$r = http_get($port, '/cached/a?x=1');
is($r->{status}, 200, 'scgi_cache: 200');
is($r->{headers}{'x-cache'}, 'MISS', 'scgi_cache: first MISS');
my $first = $r->{body};
$r = http_get($port, '/cached/a?x=1');
is($r->{headers}{'x-cache'}, 'HIT', 'scgi_cache: then HIT');
$ua->stop;
$r = http_get($port, '/cached/a?x=1');
is($r->{status}, 200, 'scgi_cache: with the application stopped, 200');
is($r->{headers}{'x-cache'}, 'HIT', '... HIT');
is($r->{body}, $first, '... the stored answer');

$f->stop;
$ua->stop;
$ub->stop;

# config errors
server_conf_refused("location / { scgi_pass; }",
                    qr/invalid number of arguments in "scgi_pass".*ferry\.conf:8/,
                    'scgi_pass without an address');
server_conf_refused("location / { scgi_pass scgi://127.0.0.1:9000; }",
                    qr/invalid address "scgi:\/\/127\.0\.0\.1:9000" in "scgi_pass".* in .*ferry\.conf:8/,
                    'scgi_pass with a scheme');
server_conf_refused("location / { scgi_pass unix:; }",
                    qr/no host in "unix:" in .*ferry\.conf:8/,
                    'scgi_pass unix: without a path');
server_conf_refused("location / { scgi_pass app; }",
                    qr/no port in upstream "app" in .*ferry\.conf:8/,
                    'scgi_pass of a name that is no upstream block, no port');
server_conf_refused("location / { uwsgi_pass 127.0.0.1:1; "
                    . "scgi_pass 127.0.0.1:2; }",
                    qr/"scgi_pass" directive is duplicate in .*ferry\.conf:8/,
                    'scgi_pass after uwsgi_pass');
server_conf_refused("scgi_param A b c;",
                    qr/invalid parameter "c" in .*ferry\.conf:8/,
                    'scgi_param with a third word other than if_not_empty');
server_conf_refused("scgi_buffers 2 100;",
                    qr/invalid buffer size "100" in "scgi_buffers" directive.* in .*ferry\.conf:8/,
                    'scgi_buffers with a tiny size');

http_conf_refused("scgi_cache_path %%PREFIX%%/c keys_zone=z:1m;\n"
                  . "    server {\n        location / {\n"
                  . "            scgi_cache z;\n"
                  . "            scgi_pass 127.0.0.1:9;\n"
                  . "        }\n    }",
                  qr/no "scgi_cache_key" for "scgi_cache" in .*ferry\.conf:9/,
                  'scgi_cache without scgi_cache_key');
server_conf_refused("location / { scgi_cache nozone; scgi_cache_key x; "
                    . "scgi_pass 127.0.0.1:9; }",
                    qr/unknown scgi_cache zone "nozone" in .*ferry\.conf:8/,
                    'scgi_cache of a zone never defined');

done_testing;
