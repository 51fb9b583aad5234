#!/usr/bin/perl

# The fastcgi_*, uwsgi_* and scgi_* twins of proxy_* directives that
# nginx configurations of PHP and Python sites carry, on the proxy's
# own code: against the real php-fpm (t/lib/Ferry/PHPFPM.pm), the real
# uWSGI (t/lib/Ferry/UWSGI.pm) and an SCGI server of the test's own
# that says what it got and from where.
#
#   fastcgi_catch_stderr         a script whose STDERR holds the string
#                                answers 502 (logged); without, 200
#   *_pass_request_body off      the application gets no body
#   *_pass_request_headers off   no HTTP_* variables from the request
#   *_bind                       the application's peer is the address
#                                (php-fpm's listen.allowed_clients
#                                refuses any other; the SCGI server
#                                reports it)
#   *_ignore_client_abort        a client that goes away leaves the
#                                SCGI connection open until it answers
#   uwsgi_pass suwsgi://, uwsgi_ssl_*  uwsgi over TLS to uWSGI's
#                                --ssl-socket, verified (a wrong
#                                uwsgi_ssl_name: 502)
#   uwsgi_string                 its bytes follow the variables in
#                                the packet (a uwsgi server of the
#                                test's reads it)
#   *_limit_rate (and proxy_limit_rate)  a 5000-byte answer read at
#                                2000 bytes/s takes 2 s
#   *_store, *_store_access      a 200 saved to a file (root or a
#                                path with variables), its mode
#   *_force_ranges               ferry's 206 of an upstream's 200
#                                (If-Range, several ranges: the 200;
#                                none satisfiable: 416)
#   fastcgi_request_buffering off  a chunked body over the buffer
#                                streams in STDIN records (413 with on),
#                                read by a FastCGI server of the test's
#   *_busy_buffers_size, *_temp_file_write_size, *_max_temp_file_size,
#   *_temp_path, *_socket_keepalive
#                                accepted as nginx takes them (a PHP
#                                site's usual block serves)
#
# and the configuration errors, with file and line.

use strict;
use warnings;

use Test::More;
use Ferry::Test;
use Ferry::PHPFPM;
use Ferry::UWSGI;
use IO::Select;
use Time::HiRes ();
use Cwd ();

plan skip_all => 'php-fpm not installed (sh auto/deps --test)'
    unless $Ferry::PHPFPM::FPM;
plan skip_all => 'uWSGI with its python3 plugin not installed (sh '
               . 'auto/deps --test)'
    unless Ferry::UWSGI::available();
plan skip_all => 'no openssl' unless grep { -x "$_/openssl" } split /:/,
                                                               $ENV{PATH};

my $f = Ferry::Test->new(conf => main_conf() . <<'EOF');
events { worker_connections 64; }
http {
    access_log off;
    server {
        listen 127.0.0.1:%%PORT_0%%;
        root %%PREFIX%%/html;
        fastcgi_param SCRIPT_FILENAME $document_root$fastcgi_script_name;
        fastcgi_param REQUEST_METHOD $request_method;
        fastcgi_param QUERY_STRING $query_string;
        fastcgi_param CONTENT_LENGTH $content_length;
        # a PHP site's block from nginx: accepted, no effect
        fastcgi_buffer_size 128k;
        fastcgi_buffers 4 256k;
        fastcgi_busy_buffers_size 256k;
        fastcgi_temp_file_write_size 256k;
        fastcgi_max_temp_file_size 0;
        fastcgi_temp_path %%PREFIX%%/fastcgi_temp 1 2;
        fastcgi_request_buffering on;
        fastcgi_socket_keepalive on;
        uwsgi_busy_buffers_size 8k;
        uwsgi_max_temp_file_size 0;
        scgi_temp_file_write_size 16k;
        scgi_temp_path %%PREFIX%%/scgi_temp;

        location /php/ { fastcgi_pass 127.0.0.1:%%PORT_1%%; }
        location /caught/ {
            fastcgi_catch_stderr "not this one";
            fastcgi_catch_stderr "via stderr";
            fastcgi_pass 127.0.0.1:%%PORT_1%%;
        }
        location /nobody/ {
            fastcgi_pass_request_body off;
            fastcgi_pass_request_headers off;
            fastcgi_pass 127.0.0.1:%%PORT_1%%;
        }
        location /stream/ {
            fastcgi_request_buffering off;
            fastcgi_pass 127.0.0.1:%%PORT_1%%;
        }
        location /stream-raw/ {
            fastcgi_request_buffering off;
            fastcgi_pass 127.0.0.1:%%PORT_5%%;
        }
        location /limited/ {
            fastcgi_limit_rate 2000;
            fastcgi_buffer_size 1k;
            fastcgi_buffers 4 1k;
            fastcgi_busy_buffers_size 2k;
            fastcgi_pass 127.0.0.1:%%PORT_1%%;
        }
        location /bound/ {
            fastcgi_bind 127.0.0.2;
            fastcgi_pass 127.0.0.1:%%PORT_2%%;
        }
        location /unbound/ { fastcgi_pass 127.0.0.1:%%PORT_2%%; }

        location /uw/ {
            uwsgi_param REQUEST_METHOD $request_method;
            uwsgi_param CONTENT_LENGTH $content_length;
            uwsgi_pass 127.0.0.1:%%PORT_3%%;
            location /uw/off/ {
                uwsgi_param REQUEST_METHOD $request_method;
                uwsgi_pass_request_body off;
                uwsgi_pass_request_headers off;
                uwsgi_pass 127.0.0.1:%%PORT_3%%;
            }
        }

        scgi_param REQUEST_URI $request_uri;
        location /sc/ { scgi_pass 127.0.0.1:%%PORT_4%%; }
        location /sc/off/ {
            scgi_bind 127.0.0.2;
            scgi_pass_request_body off;
            scgi_pass_request_headers off;
            scgi_pass 127.0.0.1:%%PORT_4%%;
        }
        location /sc/limited/ {
            scgi_limit_rate 2000;
            scgi_buffer_size 1k;
            scgi_buffers 4 1k;
            scgi_pass 127.0.0.1:%%PORT_4%%;
        }
        location /uwlimited/ {
            uwsgi_param QUERY_STRING $query_string;
            uwsgi_limit_rate 2k;
            uwsgi_buffer_size 1k;
            uwsgi_buffers 4 1k;
            uwsgi_busy_buffers_size 2k;
            uwsgi_pass 127.0.0.1:%%PORT_3%%;
        }
        location /uwstr/ {
            uwsgi_param NAME value;
            uwsgi_pass_request_headers off;
            uwsgi_string "hello-uwsgi!";
            uwsgi_pass 127.0.0.1:%%PORT_7%%;
            location /uwstr/in/ { uwsgi_pass 127.0.0.1:%%PORT_7%%; }
        }
        # uwsgi over TLS to uWSGI's --ssl-socket
        location /tls/ {
            uwsgi_param REQUEST_METHOD $request_method;
            uwsgi_ssl_verify on;
            uwsgi_ssl_trusted_certificate %%PREFIX%%/ca.crt;
            uwsgi_ssl_name app.test;
            uwsgi_pass suwsgi://127.0.0.1:%%PORT_8%%;
            location /tls/wrongname/ {
                uwsgi_ssl_name other.test;
                uwsgi_pass suwsgi://127.0.0.1:%%PORT_8%%;
            }
        }
        location /tls-plain/ { uwsgi_pass 127.0.0.1:%%PORT_8%%; }
        location /pranges/ {
            proxy_force_ranges on;
            proxy_pass http://127.0.0.1:%%PORT_6%%;
        }
        location /pnoranges/ { proxy_pass http://127.0.0.1:%%PORT_6%%; }
        location /franges/ {
            fastcgi_force_ranges on;
            fastcgi_pass 127.0.0.1:%%PORT_1%%;
        }
        location /st/ {
            root %%PREFIX%%/store;
            proxy_store on;
            proxy_store_access user:rw group:rw all:r;
            proxy_pass http://127.0.0.1:%%PORT_6%%;
        }
        location /fst/ {
            fastcgi_store %%PREFIX%%/fstore/$arg_name;
            fastcgi_pass 127.0.0.1:%%PORT_1%%;
        }
        location /scst/ {
            scgi_store on;
            root %%PREFIX%%/store;
            scgi_pass 127.0.0.1:%%PORT_4%%;
        }
        location /plimited/ {
            proxy_limit_rate 2000;
            proxy_buffer_size 1k;
            proxy_buffers 4 1k;
            proxy_pass http://127.0.0.1:%%PORT_6%%;
        }
        location /sc/abort-on/ {
            scgi_ignore_client_abort on;
            scgi_pass 127.0.0.1:%%PORT_4%%;
        }
    }
}
EOF
my $P = $f->prefix;

my $php = <<'PHP';
<?php
if (isset($_GET['big'])) {
    header('ETag: "v1"');
    header('Content-Length: ' . (int) $_GET['big']);
    echo substr(str_repeat('0123456789', 1000), 0, (int) $_GET['big']);
    exit;
}
if (isset($_GET['err'])) {
    error_log('hello from php via stderr');
}
echo 'body=', strlen(file_get_contents('php://input')), "\n";
echo 'foo=', $_SERVER['HTTP_X_FOO'] ?? 'none', "\n";
echo 'pool=', getenv('POOL'), "\n";
PHP
$f->write_file("html/$_/t.php", $php) for qw(php caught nobody stream limited franges fst bound unbound);

my $fpm = Ferry::PHPFPM->new(dir => $P, pools => [
    { name => 'a', listen => '127.0.0.1:' . $f->port(1) },
    { name => 'c', listen => '127.0.0.1:' . $f->port(2),
      extra => "listen.allowed_clients = 127.0.0.2\n" } ]);
my $uw = Ferry::UWSGI->new(dir => $P, name => 'u', proto => 'uwsgi',
                           socket => '127.0.0.1:' . $f->port(3));

# a CA and a certificate for app.test, for uWSGI's TLS socket
my $ec = '-newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes';
sh("cd $P && openssl req -x509 $ec -keyout ca.key -out ca.crt -days 2 "
   . "-subj /CN=ca.test 2>/dev/null && openssl req $ec -keyout app.key "
   . "-out app.csr -subj /CN=app.test 2>/dev/null && printf "
   . "'subjectAltName=DNS:app.test\\n' > app.ext && openssl x509 -req "
   . "-in app.csr -CA ca.crt -CAkey ca.key -CAcreateserial -out app.crt "
   . "-days 2 -extfile app.ext 2>/dev/null");
my $us = Ferry::UWSGI->new(dir => $P, name => 's', proto => 'suwsgi',
                           socket => '127.0.0.1:' . $f->port(8),
                           ssl => "$P/app.crt,$P/app.key", processes => 1);

# The SCGI server: reads the netstring and CONTENT_LENGTH bytes of body,
# answers with its peer's address, the variables and the body; for a
# URI with "slow" it first waits up to 1 s for ferry to close and notes
# in DIR/abort whether it did.
tcp_server($f->port(4), sub {
    my ($c) = @_;
    my $in = '';
    while ($in !~ /^\d+:/) {
        sysread($c, $in, 65536, length $in) or return;
    }
    my ($len) = $in =~ /^(\d+):/;
    my $at = length($len) + 1;
    while (length $in < $at + $len + 1) {
        sysread($c, $in, 65536, length $in) or return;
    }
    my %v = split /\0/, substr($in, $at, $len);
    my $cl = $v{CONTENT_LENGTH} // 0;
    $at += $len + 1;
    while (length $in < $at + $cl) {
        sysread($c, $in, 65536, length $in) or last;
    }
    if (($v{REQUEST_URI} // '') =~ /slow/) {
        my $eof = IO::Select->new($c)->can_read(1)
                  && !sysread($c, my $x, 1);
        open my $fh, '>>', "$P/abort" or die;
        print $fh "$v{REQUEST_URI} ", ($eof ? 'eof' : 'no-eof'), "\n";
        close $fh;
    }
    my $out = 'PEER=' . $c->peerhost . "\n";
    $out = 'x' x $1 if ($v{REQUEST_URI} // '') =~ /big=(\d+)/;
    unless ($out =~ /^x/) {
        $out .= "VAR $_=$v{$_}\n" for sort keys %v;
        $out .= 'BODY=' . substr($in, $at, $cl) . "\n";
    }
    syswrite $c, "Status: 200 OK\r\nContent-Type: text/plain\r\n\r\n$out";
});

# A FastCGI server that reads STDIN to the empty record, as the
# protocol has it (php-fpm reads no more than CONTENT_LENGTH), and
# answers with the count of bytes and records and the CONTENT_LENGTH
# param.
sub fcgi_record {
    my ($type, $content) = @_;
    return pack('CCnnCC', 1, $type, 1, length $content, 0, 0) . $content;
}
tcp_server($f->port(5), sub {
    my ($c) = @_;
    my ($in, $stdin, $records, %params) = ('', 0, 0);
    for (;;) {
        while (length $in >= 8) {
            my (undef, $type, undef, $len, $pad) =
                unpack 'CCnnC', substr($in, 0, 7);
            last if length($in) < 8 + $len + $pad;
            my $content = substr($in, 8, $len);
            substr($in, 0, 8 + $len + $pad) = '';
            if ($type == 4) {
                while (length $content) {
                    my @l = map {
                        my $b = ord(substr($content, 0, 1));
                        $b < 128 ? ord(substr($content, 0, 1, ''))
                                 : unpack('N', substr($content, 0, 4, ''))
                                   & 0x7fffffff;
                    } 1 .. 2;
                    my $k = substr($content, 0, $l[0], '');
                    $params{$k} = substr($content, 0, $l[1], '');
                }
            } elsif ($type == 5 && $len) {
                $stdin += $len;
                $records++;
            } elsif ($type == 5) {
                my $cl = $params{CONTENT_LENGTH} // 'none';
                syswrite $c, fcgi_record(6, "Status: 200 OK\r\n\r\n"
                                 . "stdin=$stdin records=$records cl=$cl\n")
                             . fcgi_record(6, '')
                             . fcgi_record(3, "\0" x 8);
                return;
            }
        }
        sysread($c, $in, 65536, length $in) or return;
    }
});

# an HTTP server with a 5000-byte answer, for proxy_limit_rate
tcp_server($f->port(6), sub {
    my ($c) = @_;
    my $in = '';
    while ($in !~ /\r\n\r\n/) {
        sysread($c, $in, 65536, length $in) or return;
    }
    syswrite $c, "HTTP/1.1 200 OK\r\nContent-Length: 5000\r\n"
                 . "Accept-Ranges: none\r\nConnection: close\r\n\r\n"
                 . ('0123456789' x 500);
});

# a uwsgi server that reads the packet and says how its variables and
# what follows them fill its size
tcp_server($f->port(7), sub {
    my ($c) = @_;
    my $in = '';
    while (length $in < 4) {
        sysread($c, $in, 65536, length $in) or return;
    }
    my $size = unpack 'v', substr($in, 1, 2);
    while (length $in < 4 + $size) {
        sysread($c, $in, 65536, length $in) or return;
    }
    my ($pkt, $at, @vars) = (substr($in, 4, $size), 0);
    while ($at + 4 <= $size) {
        my $nl = unpack 'v', substr($pkt, $at, 2);
        last if $at + 4 + $nl > $size;
        my $vl = unpack 'v', substr($pkt, $at + 2 + $nl, 2);
        last if $at + 4 + $nl + $vl > $size;
        push @vars, substr($pkt, $at + 2, $nl) . '='
                    . substr($pkt, $at + 4 + $nl, $vl);
        $at += 4 + $nl + $vl;
    }
    syswrite $c, "HTTP/1.1 200 OK\r\nConnection: close\r\n\r\n"
                 . "VARS=@vars\nAFTER=" . substr($pkt, $at) . "\n";
});

ok($fpm->wait_up, 'php-fpm is up');
$f->allow_log(qr/FastCGI sent in stderr: "PHP message: hello from php/,
              qr/FastCGI stderr holds a "fastcgi_catch_stderr" string/,
              qr/upstream prematurely closed connection|recv\(\) failed/);
$f->start;
my $port = $f->port(0);
my $r;

# ---- fastcgi_catch_stderr -----------------------------------------------

$r = http_get($port, '/php/t.php?err=1');
is($r->{status}, 200, 'STDERR without fastcgi_catch_stderr: 200');
like($r->{body}, qr/^body=0$/m, '... with the body');
$r = http_get($port, '/caught/t.php');
is($r->{status}, 200, 'fastcgi_catch_stderr, nothing on STDERR: 200');
$r = http_get($port, '/caught/t.php?err=1');
is($r->{status}, 502, 'fastcgi_catch_stderr caught on STDERR: 502');
ok((wait_until { $f->error_log =~ /\[error\] .*FastCGI stderr holds a "fastcgi_catch_stderr" string.*request: "GET \/caught\/t\.php\?err=1 /m } 5),
   '... logged with the request');

# ---- *_pass_request_body, *_pass_request_headers ------------------------

my $post = sub {
    my ($uri) = @_;
    return http($port, "POST $uri HTTP/1.1\r\nHost: localhost\r\n"
                       . "X-Foo: bar\r\nContent-Length: 5\r\n"
                       . "Connection: close\r\n\r\nhello");
};
$r = $post->('/php/t.php');
like($r->{body}, qr/^body=5\nfoo=bar$/m, 'FastCGI: the body and headers go up');
$r = $post->('/nobody/t.php');
is($r->{status}, 200, 'fastcgi_pass_request_body off: 200');
like($r->{body}, qr/^body=0\nfoo=none$/m,
     '... no body; fastcgi_pass_request_headers off: no HTTP_X_FOO');

$r = $post->('/uw/x');
my $v = Ferry::UWSGI::env_of($r->{body});
is("$v->{BODY_LEN} " . ($v->{HTTP_X_FOO} // 'none'), '5 bar',
   'uwsgi: the body and headers go up');
$r = $post->('/uw/off/x');
$v = Ferry::UWSGI::env_of($r->{body});
is("$r->{status} $v->{BODY_LEN} " . ($v->{HTTP_X_FOO} // 'none'),
   '200 0 none', 'uwsgi_pass_request_body off, _headers off: neither');

$r = $post->('/sc/x');
like($r->{body}, qr/^VAR CONTENT_LENGTH=5\n.*^VAR HTTP_X_FOO=bar\n.*^BODY=hello$/ms,
     'SCGI: the body and headers go up');
$r = $post->('/sc/off/x');
like($r->{body}, qr/^VAR CONTENT_LENGTH=0$/m,
     'scgi_pass_request_body off: CONTENT_LENGTH 0');
like($r->{body}, qr/^BODY=$/m, '... no body');
unlike($r->{body}, qr/HTTP_X_FOO/, 'scgi_pass_request_headers off');

# ---- uwsgi_string --------------------------------------------------------

is(http_get($port, '/uwstr/x')->{body}, "VARS=NAME=value\nAFTER=hello-uwsgi!\n",
   'uwsgi_string: after the variables, counted in the packet size');
is(http_get($port, '/uwstr/in/x')->{body},
   "VARS=NAME=value\nAFTER=hello-uwsgi!\n", '... inherited');

# ---- uwsgi_ssl_* ---------------------------------------------------------

my $t = http_get($port, '/tls/x?a=1');
is($t->{status}, 200, 'uwsgi_pass suwsgi://: 200 over TLS');
is(Ferry::UWSGI::env_of($t->{body})->{INSTANCE}, 's',
   '... from the uWSGI with the TLS socket, verified as app.test');
is(http_get($port, '/tls/wrongname/x')->{status}, 502,
   'uwsgi_ssl_name other.test: the certificate fails verification, 502');
ok((wait_until { $f->error_log =~ /upstream SSL certificate does not match "other\.test"|certificate verify failed|SSL_do_handshake/ } 5),
   '... logged');
is(http_get($port, '/tls-plain/x')->{status}, 502,
   'uwsgi_pass without suwsgi:// to the TLS socket: 502');

# ---- *_bind -------------------------------------------------------------

like($r->{body}, qr/^PEER=127\.0\.0\.2$/m, 'scgi_bind: the peer address');
like(http_get($port, '/sc/x')->{body}, qr/^PEER=127\.0\.0\.1$/m,
     '... not inherited by a sibling location');
$r = http_get($port, '/bound/t.php');
is($r->{status}, 200, 'fastcgi_bind 127.0.0.2: php-fpm accepts it');
like($r->{body}, qr/^pool=c$/m, '... the pool that allows only it');
$r = http_get($port, '/unbound/t.php');
is($r->{status}, 502, 'without fastcgi_bind php-fpm refuses ferry: 502');

# ---- fastcgi_request_buffering ----------------------------------------

my $chunked = sub {
    my ($uri) = @_;
    my $piece = 'x' x 10000;
    return http($port, "POST $uri HTTP/1.1\r\nHost: localhost\r\n"
                       . "Transfer-Encoding: chunked\r\n"
                       . "Connection: close\r\n\r\n"
                       . ("2710\r\n$piece\r\n" x 5) . "0\r\n\r\n");
};
is($chunked->('/php/t.php')->{status}, 413,
   'a chunked body over the buffer, fastcgi_request_buffering on: 413');
$r = $chunked->('/stream/t.php');
is($r->{status}, 200, 'fastcgi_request_buffering off: 200 from php-fpm');
$r = $chunked->('/stream-raw/x');
is($r->{status}, 200, '... and from a FastCGI server that reads STDIN');
like($r->{body}, qr/^stdin=50000 records=\d+ cl=$/m,
     '... the body streamed in STDIN records, CONTENT_LENGTH empty');

# ---- *_limit_rate -------------------------------------------------------

# 5000 bytes read at 2000 bytes/s once the 1k header buffer is full:
# 2000 at once, 4000 after 1 s, the rest after 2 s.  The four go at the
# same time; each takes at least that long (no upper bound is asked:
# a loaded machine only makes it slower).
{
    my @uris = ('/plimited/x', '/limited/t.php?big=5000',
                '/uwlimited/x?big=5000', '/sc/limited/x?big=5000');
    my $t0 = Time::HiRes::time();
    my @cl = map {
        my $c = Ferry::Test::Client->new($port, timeout => 15);
        $c->send("GET $_ HTTP/1.1\r\nHost: localhost\r\n"
                 . "Connection: close\r\n\r\n");
        $c;
    } @uris;
    for my $i (0 .. $#uris) {
        my $res = $cl[$i]->read_response(timeout => 15);
        my $took = Time::HiRes::time() - $t0;
        my ($name) = $uris[$i] =~ m{^/(\w+)/};
        is(($res->{status} // 0) . ' ' . length($res->{body} // ''),
           '200 5000', "$uris[$i]: all of the body");
        ok($took >= 1.5, "... paced by the limit (took ${took}s)");
    }
}

# ---- *_force_ranges -----------------------------------------------------

my $ranged = sub {
    my ($uri, @h) = @_;
    return http($port, "GET $uri HTTP/1.1\r\nHost: localhost\r\n"
                       . join('', map { "$_\r\n" } @h)
                       . "Connection: close\r\n\r\n");
};
$r = $ranged->('/pranges/x', 'Range: bytes=100-109');
is($r->{status}, 206, 'proxy_force_ranges: 206 from an upstream that '
                      . 'says Accept-Ranges: none');
is($r->{headers}{'content-range'}, 'bytes 100-109/5000', '... Content-Range');
is("$r->{headers}{'content-length'} $r->{body}", '10 0123456789',
   '... the range\'s bytes, and its length');
$r = $ranged->('/pranges/x');
is("$r->{status} " . ($r->{headers}{'accept-ranges'} // 'none') . ' '
   . length($r->{body}), '200 bytes 5000',
   '... without Range: all of it, Accept-Ranges: bytes');
$r = $ranged->('/pnoranges/x', 'Range: bytes=100-109');
is("$r->{status} " . length($r->{body}), '200 5000',
   'without proxy_force_ranges: the upstream\'s 200, whole');
$r = $ranged->('/franges/t.php?big=5000', 'Range: bytes=4995-');
is("$r->{status} $r->{headers}{'content-range'} $r->{body}",
   '206 bytes 4995-4999/5000 56789', 'fastcgi_force_ranges: 206, the end');
$r = $ranged->('/franges/t.php?big=5000', 'Range: bytes=0-1',
               'If-Range: "v1"');
is("$r->{status} $r->{body}", '206 01', '... If-Range with the ETag');
$r = $ranged->('/franges/t.php?big=5000', 'Range: bytes=0-1',
               'If-Range: "v0"');
is("$r->{status} " . length($r->{body}), '200 5000',
   '... If-Range with another: all of it');
{
    # the client connection goes on after a range: its length was true
    my ($res) = http_keepalive($port, [
        "GET /pranges/a HTTP/1.1\r\nHost: l\r\nRange: bytes=1-3\r\n\r\n",
        "GET /pranges/b HTTP/1.1\r\nHost: l\r\nRange: bytes=-2\r\n\r\n"],
        close_wait => 0);
    is(join(' ', map { "$_->{status}:" . ($_->{body} // '') } @$res),
       '206:123 206:89', '... two ranges on one client connection');
}
$r = $ranged->('/franges/t.php?big=5000', 'Range: bytes=0-1,5-6');
is("$r->{status} " . length($r->{body}), '200 5000',
   '... two ranges: all of it');
$r = $ranged->('/franges/t.php?big=5000', 'Range: bytes=5000-');
is("$r->{status} " . ($r->{headers}{'content-range'} // ''),
   '416 bytes */5000', '... past the end: 416 with the length, as nginx');
$r = $ranged->('/pranges/x', 'Range: bytes=7000-,-0');
is("$r->{status} " . ($r->{headers}{'content-range'} // ''),
   '416 bytes */5000', 'proxy_force_ranges: none satisfiable, 416');
$r = $ranged->('/franges/t.php?big=5000', 'Range: bytes=0-1');
is("$r->{status} $r->{body}", '206 01', '... and the next one served');

# ---- *_store, *_store_access -------------------------------------------

$r = http_get($port, '/st/a/b.txt');
is("$r->{status} " . length($r->{body}), '200 5000', 'proxy_store: the '
                                                     . 'client gets it');
ok((wait_until { -f "$P/store/st/a/b.txt" } 5),
   '... and it is saved under the root, directories made');
is(Ferry::Test::read_file("$P/store/st/a/b.txt"), '0123456789' x 500,
   '... whole');
is(sprintf('%o', (stat "$P/store/st/a/b.txt")[2] & 0777), '664',
   'proxy_store_access user:rw group:rw all:r');
is(join(',', glob("$P/store/st/a/*")), "$P/store/st/a/b.txt",
   '... no temporary file left');
$r = http_get($port, '/fst/t.php?big=300&name=saved.txt');
is(Ferry::Test::read_file("$P/fstore/saved.txt") // 'none',
   substr('0123456789' x 30, 0, 300),
   'fastcgi_store PATH with variables: saved there');
is(sprintf('%o', (stat "$P/fstore/saved.txt")[2] & 0777), '600',
   '... user:rw by default');
http_get($port, '/fst/nope.php?name=gone.txt');
ok(!-e "$P/fstore/gone.txt", '... a 404 is not saved');
$r = http_get($port, '/scst/x/big=70');
ok((wait_until { -f "$P/store/scst/x/big=70" } 5)
   && Ferry::Test::read_file("$P/store/scst/x/big=70") eq 'x' x 70,
   'scgi_store on: an SCGI answer that ends with the close, saved');

# ---- scgi_ignore_client_abort -------------------------------------------

sub abort_seen {
    my ($uri) = @_;
    my $cl = Ferry::Test::Client->new($port);
    $cl->send("GET $uri HTTP/1.1\r\nHost: localhost\r\n\r\n");
    Time::HiRes::sleep(0.3);
    $cl->close;
    my $seen;
    wait_until {
        ($seen) = (Ferry::Test::read_file("$P/abort") // '')
                  =~ /^\Q$uri\E (\S+)$/m;
        defined $seen;
    } 5;
    return $seen // 'nothing';
}
is(abort_seen('/sc/slow'), 'eof',
   'a client that goes away closes the SCGI connection');
is(abort_seen('/sc/abort-on/slow'), 'no-eof',
   'scgi_ignore_client_abort on: the SCGI server gets to answer');

$f->stop;
$fpm->stop;
$uw->stop;
$us->stop;

# ---- configuration errors -----------------------------------------------

server_conf_refused('fastcgi_busy_buffers_size 2k;',
    qr/"fastcgi_busy_buffers_size" must be equal to or greater than the maximum of the value of "fastcgi_buffer_size" and one of the "fastcgi_buffers" in .*ferry\.conf:8/,
    'fastcgi_busy_buffers_size below a buffer');
server_conf_refused("fastcgi_buffers 2 4k;\n        fastcgi_busy_buffers_size 8k;",
    qr/"fastcgi_busy_buffers_size" must be less than the size of all "fastcgi_buffers" minus one buffer in .*ferry\.conf:9/,
    'fastcgi_busy_buffers_size above all buffers but one');
server_conf_refused('uwsgi_max_temp_file_size 1k;',
    qr/"uwsgi_max_temp_file_size" must be equal to zero .* "uwsgi_buffers" in .*ferry\.conf:8/,
    'uwsgi_max_temp_file_size 1k');
server_conf_refused('scgi_temp_file_write_size 1k;',
    qr/"scgi_temp_file_write_size" must be equal to or greater .* in .*ferry\.conf:8/,
    'scgi_temp_file_write_size 1k');
server_conf_refused('uwsgi_temp_path /tmp/x 5 6;',
    qr/the levels of "uwsgi_temp_path" add up to more than 10 in .*ferry\.conf:8/,
    'uwsgi_temp_path levels');
server_conf_refused('scgi_bind 127.0.0;',
    qr/invalid address "127\.0\.0" in .*ferry\.conf:8/, 'scgi_bind 127.0.0');
server_conf_refused('fastcgi_bind 127.0.0.1 see-through;',
    qr/invalid parameter "see-through" in .*ferry\.conf:8/,
    'fastcgi_bind ... see-through');
server_conf_refused("uwsgi_bind 127.0.0.1;\n        uwsgi_bind off;",
    qr/"uwsgi_bind" directive is duplicate in .*ferry\.conf:9/,
    'uwsgi_bind twice');
server_conf_refused('fastcgi_catch_stderr "";',
    qr/empty string in "fastcgi_catch_stderr" in .*ferry\.conf:8/,
    'fastcgi_catch_stderr ""');
server_conf_refused('uwsgi_pass_request_body maybe;',
    qr/ferry\.conf:8/, 'uwsgi_pass_request_body maybe');
server_conf_refused('scgi_ignore_client_abort maybe;',
    qr/ferry\.conf:8/, 'scgi_ignore_client_abort maybe');
server_conf_refused('location / { uwsgi_ssl_verify on; '
                    . 'uwsgi_pass suwsgi://127.0.0.1:1; }',
    qr/no "uwsgi_ssl_trusted_certificate" for "uwsgi_ssl_verify" in .*ferry\.conf:8/,
    'uwsgi_ssl_verify without uwsgi_ssl_trusted_certificate');
server_conf_refused('uwsgi_ssl_verify maybe;',
    qr/ferry\.conf:8/, 'uwsgi_ssl_verify maybe');
server_conf_refused('uwsgi_ssl_protocols TLSv9;',
    qr/invalid value "TLSv9" in "uwsgi_ssl_protocols" in .*ferry\.conf:8/,
    'uwsgi_ssl_protocols TLSv9');
server_conf_refused('proxy_store_access user:rwx;',
    qr/invalid value "user:rwx" in "proxy_store_access" in .*ferry\.conf:8/,
    'proxy_store_access user:rwx');
server_conf_refused('uwsgi_store_access others:r;',
    qr/invalid value "others:r" in "uwsgi_store_access" in .*ferry\.conf:8/,
    'uwsgi_store_access others:r');
server_conf_refused("fastcgi_store on;\n        fastcgi_store off;",
    qr/"fastcgi_store" directive is duplicate in .*ferry\.conf:9/,
    'fastcgi_store twice');
server_conf_refused('scgi_limit_rate fast;',
    qr/ferry\.conf:8/, 'scgi_limit_rate fast');
server_conf_refused('proxy_limit_rate fast;',
    qr/ferry\.conf:8/, 'proxy_limit_rate fast');
server_conf_refused('fastcgi_request_buffering maybe;',
    qr/ferry\.conf:8/, 'fastcgi_request_buffering maybe');

done_testing;
