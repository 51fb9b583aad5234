#!/usr/bin/perl

# max_headers (nginx 1.29): a request with more header lines than the
# limit is answered 400 "Request Header Or Cookie Too Large" (nginx's
# 494), logged "client sent too many header lines"; exactly the limit
# passes; lines dropped by ignore_invalid_headers do not count; the
# default is 1000; the limit of the listen's default server applies
# (as ferry's other header-reading directives); config errors.

use strict;
use warnings;

use Test::More;
use Ferry::Test;

my $f = Ferry::Test->new(conf => main_conf() . <<'EOF');
worker_processes 1;
events { worker_connections 64; }
http {
    access_log off;
    server {
        listen 127.0.0.1:%%PORT_0%%;
        max_headers 5;
        location / { return 200 "ok\n"; }
    }
    server {
        listen 127.0.0.1:%%PORT_1%%;
        location / { return 200 "ok\n"; }
    }
}
EOF

$f->start;

sub req {
    my ($port, $n, @extra) = @_;
    my @h = (Connection => 'close');
    push @h, "X-H$_" => 'v' for 1 .. $n;
    return http($port, build_request(path => '/', headers => [@h, @extra]));
}

my $r = req($f->port(0), 3);    # Host, Connection and 3: 5
is($r->{status}, 200, 'max_headers 5: five lines pass');

$r = req($f->port(0), 4);
is($r->{status}, 400, 'six lines: 400');
like($r->{body}, qr/Request Header Or Cookie Too Large/,
     '... "Request Header Or Cookie Too Large", as nginx');
ok(wait_until { $f->error_log =~ /\[info\] .*client sent too many header lines/ },
   '... logged');

$r = req($f->port(0), 3, 'X_Under' => 'dropped', 'X.Dot' => 'x');
is($r->{status}, 200, 'lines ignore_invalid_headers drops do not count');

$r = req($f->port(1), 998);
is($r->{status}, 200, 'default: 1000 lines pass');
$r = req($f->port(1), 999);
is($r->{status}, 400, 'default: 1001 lines are refused');

$f->stop;

server_conf_refused('max_headers;', 'invalid number of arguments in '
                    . '"max_headers" directive in \S+:8',
                    'max_headers without a value');
server_conf_refused('max_headers many;', 'max_headers.*\S+:8',
                    'max_headers not a number');
server_conf_refused('location / { max_headers 10; }',
                    '"max_headers" directive is not allowed here in \S+:8',
                    'max_headers in a location');

done_testing;
