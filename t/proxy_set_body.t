#!/usr/bin/perl

# proxy_set_body: the body sent to the upstream is the directive's value
# (text and variables), with its own Content-Length; the client's body
# (by length, chunked, none) does not go up, nor its Content-Length or
# Transfer-Encoding; a GET gets the body too; inherited, nested
# override; keep-alive to the client goes on when the client's body
# came whole; an empty value sends "Content-Length: 0"; a FastCGI-less
# location without it is untouched; config errors.

use strict;
use warnings;

use Test::More;
use Ferry::Test;

my $f = Ferry::Test->new(conf => main_conf() . <<'EOF');
worker_processes 1;
events { worker_connections 64; }
http {
    access_log off;
    upstream be { server 127.0.0.1:%%PORT_1%%; keepalive 4; }

    server {
        listen 127.0.0.1:%%PORT_0%%;
        proxy_http_version 1.1;
        proxy_set_header Connection "";

        location / {
            proxy_set_body "user=$arg_u&method=$request_method";
            proxy_pass http://be;
        }
        location /fixed/ {
            proxy_set_body "fixed body";
            proxy_pass http://be;
        }
        location /empty/ {
            proxy_set_body "";
            proxy_pass http://be;
        }
        location /plain/ { proxy_pass http://be; }
    }
}
EOF

my $be = Ferry::Test::Backend->new(port => $f->port(1));
$f->start;
my $port = $f->port(0);

sub field {
    my ($e, $name) = @_;
    my @v = map { $_->[1] } grep { lc $_->[0] eq lc $name } @{ $e->{headers} };
    return join(',', @v);
}

my $r = http($port, build_request(method => 'POST', path => '/x?u=ann',
                                  headers => [Connection => 'close'],
                                  body => 'the client body'));
is($r->{status}, 200, 'POST: 200');
my $e = parse_echo($r->{body});
is($e->{body}, 'user=ann&method=POST', 'the upstream got the set body');
is(field($e, 'Content-Length'), length('user=ann&method=POST'),
   '... with its Content-Length');
unlike($r->{body}, qr/the client body/, "... not the client's body");

$r = http_get($port, '/x?u=bob');
$e = parse_echo($r->{body});
is($e->{method}, 'GET', 'GET stays GET');
is($e->{body}, 'user=bob&method=GET', '... and carries the set body');
is(field($e, 'Content-Length'), 19, '... with its length');

$r = http($port, build_request(method => 'PUT', path => '/fixed/',
                               headers => [Connection => 'close',
                                           'Transfer-Encoding' => 'chunked'],
                               body => "5\r\nhello\r\n0\r\n\r\n"));
$e = parse_echo($r->{body});
is($e->{body}, 'fixed body', 'chunked client body: replaced');
is(field($e, 'Transfer-Encoding'), '', '... no Transfer-Encoding up');
is(field($e, 'Content-Length'), 10, '... Content-Length of the set body');

$r = http($port, build_request(method => 'POST', path => '/empty/',
                               headers => [Connection => 'close'],
                               body => 'dropped'));
$e = parse_echo($r->{body});
is($e->{'body-length'}, 0, 'empty value: no body up');
is(field($e, 'Content-Length'), '0', '... "Content-Length: 0"');

$r = http($port, build_request(method => 'POST', path => '/plain/',
                               headers => [Connection => 'close'],
                               body => 'kept'));
$e = parse_echo($r->{body});
is($e->{body}, 'kept', 'a location without it: the client body goes up');

# a body bigger than what came with the header: the answer, then the
# connection closed (its end is not read)
my $big = 'z' x 300000;
$r = http($port, build_request(method => 'POST', path => '/fixed/',
                               body => $big), wait_close => 5);
is($r->{status}, 200, 'a 300 KB client body: 200');
is(parse_echo($r->{body})->{body}, 'fixed body', '... the set body went up');
ok($r->{closed}, '... and the connection closed');

# keep-alive: the client's body came whole and was skipped
my ($res) = http_keepalive($port, [
    build_request(method => 'POST', path => '/fixed/', body => 'abc'),
    build_request(method => 'POST', path => '/plain/', body => 'second',
                  headers => [Connection => 'close'])]);
is(scalar(@$res), 2, 'keep-alive: two answers on one connection');
is(parse_echo($res->[0]{body})->{body}, 'fixed body', '... the first set');
is(parse_echo($res->[1]{body} // '')->{body}, 'second',
   '... the second with its own body');

$f->stop;

server_conf_refused('proxy_set_body;', 'invalid number of arguments in '
                    . '"proxy_set_body" directive in \S+:8',
                    'proxy_set_body without a value');
server_conf_refused('proxy_set_body a; proxy_set_body b;',
                    '"proxy_set_body" directive is duplicate in \S+:8',
                    'proxy_set_body twice');
server_conf_refused('proxy_set_body $nosuch;',
                    'unknown "nosuch" variable in \S+:8',
                    'proxy_set_body with an unknown variable');

done_testing;
