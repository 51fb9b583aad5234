#!/usr/bin/perl

# access_log with variables in its PATH (nginx): one file per host
# ("logs/$host.log"), relative to the prefix, written only when the
# request's root directory exists (as nginx documents), a location
# without a root logging always; a value with ".." refused and logged;
# "buffer=" refused with such a PATH, as nginx does.  The old binary
# took "$host" as part of a file name.

use strict;
use warnings;

use Test::More;
use Ferry::Test;

my $f = Ferry::Test->new(conf => main_conf() . <<'EOF');
worker_processes 1;
events { worker_connections 64; }
http {
    log_format short '$host $uri $status';
    server {
        listen 127.0.0.1:%%PORT_0%%;
        root %%PREFIX%%/sites/$host;
        access_log logs/$host.log short;

        location /ret/ { return 200 "ok\n"; }
    }
    server {
        listen 127.0.0.1:%%PORT_1%%;
        location /noroot/ {
            access_log %%PREFIX%%/logs/nr-$arg_n.log short;
            return 204;
        }
    }
}
EOF
$f->write_file('sites/a.test/x.txt', "a\n");
$f->write_file('sites/b.test/x.txt', "b\n");
$f->allow_log(qr/gives an empty path or one with a NUL or "\.\."/);
$f->start or BAIL_OUT('ferry did not start');
my ($port, $logs) = ($f->port(0), $f->prefix . '/logs');

sub get { http_get($port, $_[0], Host => $_[1]) }
sub lines {
    my ($name, $n) = @_;
    my $t;
    wait_until { ($t = Ferry::Test::read_file("$logs/$name") // '') =~ tr/\n// >= $n } 5;
    return $t // '';
}

is(get('/x.txt', 'a.test')->{body}, "a\n", 'a.test served');
is(get('/x.txt', 'b.test')->{body}, "b\n", 'b.test served');
get('/missing', 'a.test');
is(lines('a.test.log', 2), "a.test /x.txt 200\na.test /missing 404\n",
   'access_log logs/$host.log: a.test\'s lines in its own file');
is(lines('b.test.log', 1), "b.test /x.txt 200\n", '... b.test\'s in its own');

is(get('/ret/', 'nosite.test')->{status}, 200, 'a host without a root directory');
get('/ret/', 'a.test');
ok(!-e "$logs/nosite.test.log",
   '... no log file for it: its root directory is not there (nginx)');
like(lines('a.test.log', 3), qr{^a\.test /ret/ 200$}m, '... a host with one logs');

sub get1 { http_get($f->port(1), $_[0], Host => $_[1]) }
is(get1('/noroot/?n=one', 'x.test')->{status}, 204, 'a server without a root');
is(lines('nr-one.log', 1), "x.test /noroot/ 204\n", '... logs, nothing to check');
get1('/noroot/?n=x/../../escape', 'x.test');
ok(!-e $f->prefix . '/escape.log', 'a name with ".." is not written');
# written in the log phase, after the response: wait for it
my $refused = qr/\[error\] .*access_log ".*nr-\$arg_n\.log" gives an empty path or one with a NUL or "\.\."/;
wait_until { $f->error_log =~ $refused } 5;
like($f->error_log, $refused, '... logged');

$f->stop;

server_conf_refused('access_log logs/$host.log combined buffer=4k;',
                    'buffered logs cannot have variables in name in .*ferry\.conf:8',
                    'buffer= with variables in the path');
server_conf_refused('access_log logs/$nonesuch.log;',
                    'unknown "nonesuch" variable in .*ferry\.conf:8',
                    'an unknown variable in the path');

done_testing;
