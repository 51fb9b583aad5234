#!/usr/bin/perl

# What a client can learn from ferry's own answers: every error page
# (400, 403, 404, 405, 413, 414, 500, 502, 503, 504), each caused the
# way a client or a failing upstream causes it, and the status page as
# a client that is not allowed sees it in each of its formats.
#
# nginx's error page is a fixed template with the status line and
# "nginx/VERSION"; ferry's is the same template with "ferry" and no
# version.  Each body here must be exactly that template for its status
# line -- so nothing of the request (path, Host, headers) is reflected,
# and nothing else is added -- and the whole response, headers
# included, must not contain the prefix or document root path, or the
# address or port of an upstream.
# The only headers are Server (just "ferry"), Date, Content-Type,
# Content-Length and Connection.  What an allowed client sees on the
# status page is listed in docs/security.md; it holds no path either.

use strict;
use warnings;

use Test::More;
use Ferry::Test;
use IO::Socket::UNIX;
use Socket ();

my $f = Ferry::Test->new(conf => main_conf() . <<'EOF');
worker_processes 2;
events { worker_connections 64; }
http {
    large_client_header_buffers 4 1k;
    server_tokens off;      # the default (on) adds the version, as nginx;
                            # t/headers.t tests that
    client_max_body_size 1k;
    upstream refused { server 127.0.0.1:%%PORT_1%%; }
    upstream silent { server 127.0.0.1:%%PORT_2%%; }
    upstream garbage { server 127.0.0.1:%%PORT_3%%; }
    server {
        listen 127.0.0.1:%%PORT_0%%;
        root %%PREFIX%%/private-docroot;
        location /status { allow 10.0.0.0/8; deny all; status; }
        location /open-status { status; }
        location = /basic_status { allow 10.0.0.0/8; deny all; stub_status; }
        location /denied { deny all; }
        location /refused { proxy_pass http://refused; }
        location /silent {
            proxy_read_timeout 300ms;
            proxy_pass http://silent;
        }
        location /garbage { proxy_pass http://garbage; }
        location = /unavailable { return 503; }
        location = /internal { return 500; }
    }
}
EOF

my $prefix = $f->prefix;
$f->write_file('private-docroot/index.html', "index\n");
$f->write_file('private-docroot/file.txt', "file\n");
symlink '/etc/passwd', "$prefix/private-docroot/link"
    or die "symlink: $!\n";
# open() of a socket fails with ENXIO: a 500 from the file handler
my $unix = IO::Socket::UNIX->new(Local => "$prefix/private-docroot/sock",
                                 Type => Socket::SOCK_STREAM(), Listen => 1)
    or die "unix socket: $!\n";

# port 1: nothing listens (connection refused)
my $silent = Ferry::Test::Backend->new(port => $f->port(2),
                                       raw => sub { sleep 5 });
my $garbage = Ferry::Test::Backend->new(port => $f->port(3), raw => sub {
    syswrite $_[0], "this is not HTTP from 127.0.0.1:" . $f->port(3)
                    . " in $prefix\r\n\r\n";
});

$f->allow_log(qr/\[error\]/);
$f->start or do { done_testing; exit };
my $port = $f->port(0);
$f->wait_workers(2);

# what must never show anywhere in a response: paths, upstream
# addresses and ports (ephemeral ports have five digits: no Date or
# Content-Length can contain one).  Pids are not searched for in the
# headers, where a short one could match a year or a length by chance;
# the body, compared whole, holds none.
my @secret = ($prefix, 'private-docroot', '/tmp', '/etc',
              map { ("127.0.0.1:" . $f->port($_), $f->port($_)) } 1 .. 3);
my $secret_re = join '|', map { quotemeta } @secret;

sub page {
    my ($line) = @_;
    return "<html>\r\n<head><title>$line</title></head>\r\n<body>\r\n"
         . "<center><h1>$line</h1></center>\r\n"
         . "<hr><center>ferry</center>\r\n</body>\r\n</html>\r\n";
}

my %allowed_header = map { $_ => 1 }
    qw(server date content-type content-length connection);

sub check {
    my ($what, $r, $status, $line) = @_;
    is($r->{status}, $status, "$what: $status") or diag($r->{raw});
    is($r->{body}, page($line), "$what: the fixed page, nothing added");
    my @extra = grep { !$allowed_header{lc $_->[0]} }
                @{ $r->{header_list} // [] };
    is_deeply(\@extra, [], "$what: only Server, Date, Content-Type, "
              . 'Content-Length, Connection');
    is($r->{headers}{server}, 'ferry', "$what: Server: ferry, no version");
    unlike($r->{raw}, qr/$secret_re/, "$what: no path, address or port");
}

my $long = '/x' x 600;

check('no Host', http($port, "GET / HTTP/1.1\r\n\r\n"), 400, '400 Bad Request');
check('bad request line',
      http($port, "GET /$prefix/ HTTP/1.1 x\r\nHost: a\r\n\r\n"),
      400, '400 Bad Request');
check('header too large',
      http_get($port, '/', 'X-Big' => 'y' x 2000),
      400, '400 Request Header Or Cookie Too Large');
check('deny all', http_get($port, '/denied'), 403, '403 Forbidden');
check('a symbolic link in the root', http_get($port, '/link'),
      403, '403 Forbidden');
check('directory without index', do {
    mkdir "$prefix/private-docroot/dir";
    http_get($port, '/dir/');
}, 403, '403 Forbidden');
check('missing file', http_get($port, "/missing$prefix"), 404, '404 Not Found');
check('CONNECT', http($port, "CONNECT 127.0.0.1:" . $f->port(1)
                             . " HTTP/1.1\r\nHost: a\r\n\r\n"),
      405, '405 Not Allowed');
check('body too large', http($port, build_request(method => 'POST',
      path => '/file.txt', headers => ['Content-Length' => 2048,
                                       Connection => 'close'])),
      413, '413 Request Entity Too Large');
check('URI too long', http_get($port, $long), 414, '414 Request-URI Too Large');
check('open() fails', http_get($port, '/sock'), 500,
      '500 Internal Server Error');
check('return 500', http_get($port, '/internal'), 500,
      '500 Internal Server Error');
check('upstream refused', http_get($port, '/refused'), 502, '502 Bad Gateway');
check('upstream garbage', http_get($port, '/garbage'), 502, '502 Bad Gateway');
check('return 503', http_get($port, '/unavailable'), 503,
      '503 Service Temporarily Unavailable');
check('upstream silent', http_get($port, '/silent'), 504,
      '504 Gateway Time-out');

# the status page for a client that is not allowed: a 403 like any
# other, whatever format is asked for
for my $ask (['/status'], ['/status?format=json'],
             ['/status?format=prometheus'],
             ['/status', Accept => 'application/json'],
             ['/basic_status'])
{
    my ($path, @h) = @$ask;
    check("status $path @h, not allowed", http_get($port, $path, @h),
          403, '403 Forbidden');
}

# An allowed client sees pids, counters and upstream addresses (as
# listed in docs/security.md), but no path: not the prefix, the
# configuration file, the document root or a log file.
my $path_re = join '|', map { quotemeta } $prefix, 'private-docroot',
                                          '/tmp', 'ferry.conf', '.log';
for my $fmt ('html', 'json', 'prometheus') {
    my $r = http_get($port, "/open-status?format=$fmt");
    is($r->{status}, 200, "allowed: status as $fmt");
    unlike($r->{raw}, qr/$path_re/, "allowed: no path in the $fmt status");
}

$f->stop;
done_testing;
