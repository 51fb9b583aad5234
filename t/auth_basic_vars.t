#!/usr/bin/perl

# Variables in auth_basic and auth_basic_user_file (nginx 1.3.10): a
# realm made per request ($host in the challenge, quoted), one that
# comes out "off" turning auth_basic off; a password file per host
# (relative to the configuration's folder), a host without a file
# refused as a missing file is (403); inherited by a nested location and
# by a limit_except block.

use strict;
use warnings;

use Test::More;
use Ferry::Test;
use MIME::Base64 qw(encode_base64);

my $f = Ferry::Test->new(conf => main_conf() . <<'EOF2');
worker_processes 1;
events { worker_connections 64; }
http {
    map $arg_auth $realm {
        default "Area of $host";
        no      off;
    }
    log_format who '$host $remote_user $status';
    server {
        listen 127.0.0.1:%%PORT_0%%;
        root %%PREFIX%%/html;
        access_log logs/who.log who;
        location / {
            auth_basic $realm;
            auth_basic_user_file users/$host.htpasswd;
            location /nested/ { }
        }
        location /lmt/ {
            limit_except GET {
                auth_basic "writes to $host";
                auth_basic_user_file users/$host.htpasswd;
            }
        }
    }
}
EOF2
$f->write_file('html/index.html', "in\n");
$f->write_file('html/nested/index.html', "nested\n");
$f->write_file('html/lmt/index.html', "lmt\n");
$f->write_file('conf/users/a.test.htpasswd', "alice:{PLAIN}pa\n");
$f->write_file('conf/users/b.test.htpasswd', "bob:{PLAIN}pb\n");
$f->allow_log(qr/was not found in|open\(\) ".*c\.test\.htpasswd" failed|password mismatch/);
$f->start or BAIL_OUT('ferry did not start');
my $port = $f->port(0);

sub basic { 'Basic ' . encode_base64($_[0], '') }
sub get {
    my ($path, $host, @h) = @_;
    return http_get($port, $path, Host => $host, @h);
}

my $r = get('/', 'a.test');
is($r->{status}, 401, 'no credentials: 401');
is($r->{headers}{'www-authenticate'}, 'Basic realm="Area of a.test"',
   '... the realm made from $host through a map');
is(get('/', 'b.test')->{headers}{'www-authenticate'},
   'Basic realm="Area of b.test"', '... another host, another realm');

$r = get('/', 'a.test', Authorization => basic('alice:pa'));
is("$r->{status} $r->{body}", "200 in\n", 'a.test\'s file has alice');
$r = get('/', 'b.test', Authorization => basic('alice:pa'));
is($r->{status}, 401, 'b.test\'s file does not');
like($f->error_log, qr/user "alice" was not found in ".*\/users\/b\.test\.htpasswd"/,
     '... the evaluated file named in the log');
$r = get('/', 'b.test', Authorization => basic('bob:pb'));
is("$r->{status} $r->{body}", "200 in\n", 'bob in b.test');
is(get('/', 'c.test', Authorization => basic('bob:pb'))->{status}, 403,
   'a host without a file: 403, as a missing file');

$r = get('/?auth=no', 'a.test');
is("$r->{status} $r->{body}", "200 in\n",
   'a realm that comes out "off": no auth_basic (nginx)');

$r = get('/nested/', 'a.test', Authorization => basic('alice:pa'));
is("$r->{status} $r->{body}", "200 nested\n", 'inherited by a nested location');
is(get('/nested/', 'a.test')->{status}, 401, '... without credentials 401');

is(get('/lmt/', 'a.test')->{status}, 200, 'limit_except: GET listed, no auth');
$r = http($port, build_request(method => 'DELETE', path => '/lmt/',
                               headers => [Host => 'b.test', Connection => 'close']));
is($r->{status}, 401, '... DELETE: the block\'s auth_basic');
is($r->{headers}{'www-authenticate'}, 'Basic realm="writes to b.test"',
   '... its realm with variables');
$r = http($port, build_request(method => 'DELETE', path => '/lmt/',
                               headers => [Host => 'b.test', Connection => 'close',
                                           Authorization => basic('bob:pb')]));
is($r->{status}, 405, '... and its file: bob let in (to the 405 of a '
   . 'DELETE of a static file)');
my $log;
wait_until { ($log = Ferry::Test::read_file($f->prefix . '/logs/who.log') // '') =~ /b\.test bob 405/ } 5;
like($log, qr/^a\.test alice 200$/m, '$remote_user in the access log');

$f->stop;
done_testing;
