#!/usr/bin/perl

# The upstream directives as "ferry -t" judges them: every parameter of
# server, the balancing methods, health_check and proxy_next_upstream
# accepted when right, refused with file and line when wrong.

use strict;
use warnings;

use Test::More;
use Ferry::Test;

sub conf {
    my ($upstream, $location) = @_;
    $location //= '';
    return main_conf() . <<"EOF2";
events { worker_connections 64; }
http {
    upstream app {
$upstream
    }
    server {
        listen 127.0.0.1:%%PORT_0%%;
        location / { proxy_pass http://app; $location }
    }
}
EOF2
}

# Line of the first upstream line in conf(): daemon, error_log, pid,
# events, http, upstream -> 7.
my $L = 7;

sub good {
    my ($name, @conf) = @_;
    my $f = Ferry::Test->new(conf => conf(@conf));
    my ($rc, $out) = $f->run('-t');
    is($rc, 0, "accepted: $name") or diag($out);
}

sub bad {
    my ($name, $message, $line, @conf) = @_;
    my $f = Ferry::Test->new(conf => conf(@conf));
    my ($rc, $out) = $f->run('-t');
    my $want = "ferry: [emerg] $message in " . $f->conf_file . ":$line";
    ok($rc == 1 && index($out, $want) >= 0, "refused: $name")
        or diag("expected: $want\n     got: $out");
}

good('every server parameter',
     "server 127.0.0.1:1 weight=5 max_fails=3 fail_timeout=30s max_conns=10 slow_start=1m;\n"
     . "server 127.0.0.1:2 down;\nserver 127.0.0.1:3 backup;");
good('least_conn with backup', "least_conn;\nserver 127.0.0.1:1;\nserver 127.0.0.1:2 backup;");
good('ip_hash', "ip_hash;\nserver 127.0.0.1:1;");
good('hash with variables, consistent', "hash \$remote_addr\$request_uri consistent;\nserver 127.0.0.1:1;");
good('random two least_conn', "random two least_conn;\nserver 127.0.0.1:1;");
good('zone', "zone app 64k;\nserver 127.0.0.1:1;");
good('health_check with every parameter',
     "server 127.0.0.1:1;\nhealth_check uri=/hc interval=5s timeout=2s fails=2 passes=3 status=200-299 port=81;");
good('proxy_next_upstream and friends', "server 127.0.0.1:1;",
     "proxy_next_upstream error timeout invalid_header http_500 http_502 http_503 http_504 http_403 http_404 http_429 non_idempotent; proxy_next_upstream_tries 3; proxy_next_upstream_timeout 10s;");

bad('weight=0', 'invalid parameter "weight=0"', $L,
    "server 127.0.0.1:1 weight=0;");
bad('unknown parameter', 'invalid parameter "heavy"', $L,
    "server 127.0.0.1:1 heavy;");
bad('bad fail_timeout', 'invalid parameter "fail_timeout=soon"', $L,
    "server 127.0.0.1:1 fail_timeout=soon;");
bad('backup and down', 'a server cannot be both "backup" and "down"', $L,
    "server 127.0.0.1:1 backup down;");
bad('backup with hash', '"hash" balancing in upstream "app" does not support "backup" servers', $L - 1,
    "hash \$request_uri;\nserver 127.0.0.1:1;\nserver 127.0.0.1:2 backup;");
bad('two methods', 'balancing method "least_conn" is already set in upstream "app"', $L + 1,
    "least_conn;\nip_hash;\nserver 127.0.0.1:1;");
bad('hash with an unknown variable', 'unknown "nope" variable', $L,
    "hash \$nope;\nserver 127.0.0.1:1;");
bad('hash with a bad flag', 'invalid parameter "ring"', $L,
    "hash \$uri ring;\nserver 127.0.0.1:1;");
bad('random with a bad flag', 'invalid parameter "three"', $L,
    "random three;\nserver 127.0.0.1:1;");
bad('health_check bad parameter', 'invalid parameter "status=600"', $L + 1,
    "server 127.0.0.1:1;\nhealth_check status=600;");
bad('health_check uri without slash', 'invalid parameter "uri=hc"', $L + 1,
    "server 127.0.0.1:1;\nhealth_check uri=hc;");
bad('proxy_next_upstream off with more', '"off" cannot be combined with other values', 11,
    "server 127.0.0.1:1;", "proxy_next_upstream off error;");
bad('proxy_next_upstream unknown case', 'invalid value "http_418"', 11,
    "server 127.0.0.1:1;", "proxy_next_upstream http_418;");

done_testing;
