#!/usr/bin/perl

# auth_delay: a 401 of auth_basic (wrong password, none) and of
# auth_request (its subrequest answering 401) goes out only after the
# configured time; a good password and a 403 (deny) are not held; the
# delay is inherited; other clients are served meanwhile (a timer, not
# a sleep); keep-alive goes on after it; bad values are configuration
# errors with file and line.  Only lower bounds of the configured delay
# are asserted.

use strict;
use warnings;

use Test::More;
use Ferry::Test;
use MIME::Base64 qw(encode_base64);
use Time::HiRes qw(time);

my $f = Ferry::Test->new(conf => main_conf() . <<'EOF');
worker_processes 1;
events { worker_connections 64; }
http {
    access_log off;
    upstream auth { server 127.0.0.1:%%PORT_1%%; }

    server {
        listen 127.0.0.1:%%PORT_0%%;
        root %%PREFIX%%/html;
        auth_delay 700ms;

        location /basic/ {
            auth_basic "delayed";
            auth_basic_user_file htpasswd;
        }
        location /nodelay/ {
            auth_delay 0s;
            auth_basic "not delayed";
            auth_basic_user_file htpasswd;
        }
        location /deny/ { deny all; }
        location /sub/ { auth_request /check; }
        location = /check { proxy_pass http://auth; }
        location = /fast { auth_basic off; return 200 "fast\n"; }
    }
}
EOF

my $be = Ferry::Test::Backend->new(port => $f->port(1), handler => sub {
    my ($req) = @_;
    my ($key) = grep { /^X-Key:/i } @{ $req->{header_lines} };
    return { status => $key && $key =~ /good/ ? 200 : 401,
             reason => 'Nope',
             headers => ['WWW-Authenticate' => 'Bearer'], body => '' };
});

$f->write_file('conf/htpasswd', "alice:{PLAIN}secret\n");
$f->write_file('html/basic/index.html', "basic\n");
$f->write_file('html/nodelay/index.html', "nodelay\n");
$f->write_file('html/sub/index.html', "sub\n");
$f->start;

my $port = $f->port(0);
my $good = 'Basic ' . encode_base64('alice:secret', '');
my $bad = 'Basic ' . encode_base64('alice:wrong', '');

sub timed {
    my @args = @_;
    my $t0 = time;
    my $r = http_get(@args);
    return ($r, time - $t0);
}

my ($r, $t) = timed($port, '/basic/', Authorization => $bad);
is($r->{status}, 401, 'wrong password: 401');
like($r->{headers}{'www-authenticate'} // '', qr/Basic realm="delayed"/,
     '... with the challenge');
cmp_ok($t, '>=', 0.7, '... after the auth_delay');

($r, $t) = timed($port, '/basic/');
is($r->{status}, 401, 'no credentials: 401');
cmp_ok($t, '>=', 0.7, '... after the auth_delay');

$r = http_get($port, '/basic/', Authorization => $good);
is($r->{status}, 200, 'good password: 200');
is($r->{body}, "basic\n", '... the file');

($r, $t) = timed($port, '/sub/');
is($r->{status}, 401, 'auth_request refusing: 401');
is($r->{headers}{'www-authenticate'}, 'Bearer', '... its challenge');
cmp_ok($t, '>=', 0.7, '... after the auth_delay');

$r = http_get($port, '/sub/', 'X-Key' => 'good');
is($r->{status}, 200, 'auth_request allowing: 200');

# the worker serves others while a 401 waits
my $c = Ferry::Test::Client->new($port);
my $t0 = time;
$c->send("GET /basic/ HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n");
$r = http_get($port, '/fast');
is($r->{body}, "fast\n", 'another request is answered meanwhile');
$r = $c->read_response;
is($r->{status}, 401, 'the held 401 comes');
cmp_ok(time - $t0, '>=', 0.7, '... after the auth_delay');
$c->close;

# keep-alive goes on after a delayed 401
my ($res) = http_keepalive($port, [
    "GET /basic/ HTTP/1.1\r\nHost: x\r\n\r\n",
    "GET /basic/ HTTP/1.1\r\nHost: x\r\nAuthorization: $good\r\n"
    . "Connection: close\r\n\r\n"]);
is(join(' ', map { $_->{status} // 'none' } @$res), '401 200',
   'keep-alive: the next request after a delayed 401');

$r = http_get($port, '/nodelay/', Authorization => $bad);
is($r->{status}, 401, 'auth_delay 0s in a location: 401');
$r = http_get($port, '/deny/');
is($r->{status}, 403, 'deny: 403 (nginx delays only 401)');

$f->stop;

server_conf_refused('auth_delay;', 'invalid number of arguments in '
                    . '"auth_delay" directive in \S+:8',
                    'auth_delay without a value');
server_conf_refused('auth_delay soon;', 'auth_delay.*\S+:8',
                    'auth_delay with a bad time');
http_conf_refused('auth_delay 1s 2s;', 'invalid number of arguments in '
                  . '"auth_delay" directive in \S+:6',
                  'auth_delay with two values');

done_testing;
