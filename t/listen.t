#!/usr/bin/perl

# listen options: unix-domain sockets (made by the master, a stale file
# replaced, removed at exit and when a reload drops them; served with
# curl --unix-socket; $remote_addr "unix:"), proxy_pass and upstream
# servers on unix sockets, backlog= (what ss shows, changed by a
# reload), IPv6 [::1] end to end, default_server, and the configuration
# errors of each (file and line).

use strict;
use warnings;

use Test::More;
use Ferry::Test;
use IO::Socket::IP;

my $curl = `curl --version 2>/dev/null` =~ /^curl/ ? 'curl' : undef;
my $ss = `ss -V 2>/dev/null` =~ /iproute/ ? 'ss' : undef;

# Is there an IPv6 loopback to test on?
my $v6 = IO::Socket::IP->new(LocalHost => '::1', LocalPort => 0,
                             Listen => 1) ? 1 : 0;

sub curl_unix {
    my ($path, $url) = @_;
    my $out = `curl -s -m 5 --unix-socket '$path' '$url' 2>&1`;
    return $? == 0 ? $out : undef;
}

# "LISTEN 0 77 ..." lines of ss for a TCP port or a unix path: Send-Q
# is the backlog of a listening socket
sub ss_backlog {
    my ($what) = @_;
    my @l = $what =~ m{^/} ? `ss -xlnH 2>/dev/null` : `ss -ltnH 2>/dev/null`;
    for (@l) {
        my @f = split ' ';
        if ($what =~ m{^/}) {
            # Netid State Recv-Q Send-Q Local ...
            return $f[3] if ($f[4] // '') eq $what;
        } else {
            return $f[2] if ($f[3] // '') =~ /:\Q$what\E$/;
        }
    }
    return undef;
}

my $conf = sub {
    my ($extra) = @_;
    return main_conf() . <<"EOF";
worker_processes 2;
events { worker_connections 128; }
http {
    log_format addr '\$remote_addr|\$remote_port|\$server_addr|\$server_port|\$status';
    access_log logs/access.log addr;
    upstream unixapp { server unix:%%PREFIX%%/app.sock; }
    server {
        listen unix:%%PREFIX%%/front.sock backlog=77;
        listen 127.0.0.1:%%PORT_0%% backlog=33;
        $extra
        location / {
            return 200 "front \$remote_addr|\$remote_port|\$server_addr|\$server_port\\n";
        }
        location /ups/ { proxy_pass http://unixapp; }
        location /direct/ { proxy_pass http://unix:%%PREFIX%%/app.sock:/mapped/; }
        location /whole/ { proxy_pass http://unix:%%PREFIX%%/app.sock; }
        location /var1/ {
            set \$s %%PREFIX%%/app.sock;
            proxy_pass http://unix:\$s:/mapped/;
        }
        location /var2/ {
            set \$s unix:%%PREFIX%%/app.sock;
            proxy_pass http://\$s;
        }
        location /var3/ { proxy_pass http://unix:%%PREFIX%%/\$arg_s.sock; }
    }
    server {
        listen unix:%%PREFIX%%/app.sock;
        listen unix:%%PREFIX%%/app2.sock;
        location / { return 200 "app \$request_uri host=\$host from=\$remote_addr\\n"; }
    }
}
EOF
};

my $f = Ferry::Test->new(conf => $conf->(''));
my $p = $f->prefix;
# a regular file left where a socket goes: replaced, as nginx does
$f->write_file('front.sock', "stale\n");
$f->start or BAIL_OUT('ferry did not start');

ok(-S "$p/front.sock", 'listen unix:PATH: the master made the socket file '
                       . '(the stale file replaced)');
is((stat "$p/front.sock")[2] & 0777, 0666, '... mode 0666, as nginx');

SKIP: {
    skip 'curl not installed', 9 unless $curl;
    my $out = curl_unix("$p/front.sock", 'http://x/');
    is($out, "front unix:||unix:$p/front.sock|\n",
       'curl --unix-socket: served; $remote_addr "unix:", $remote_port and '
       . '$server_port empty, $server_addr the socket path');

    $out = curl_unix("$p/front.sock", 'http://x/ups/a?b=1');
    is($out, "app /ups/a?b=1 host=unixapp from=unix:\n",
       'upstream with "server unix:PATH": proxied over the unix socket');
    $out = `curl -s -m 5 http://127.0.0.1:${\ $f->port(0)}/direct/z`;
    is($out, "app /mapped/z host=localhost from=unix:\n",
       'proxy_pass http://unix:PATH:/uri/: the URI part replaces the '
       . 'location, Host is "localhost" (nginx)');
    $out = `curl -s -m 5 http://127.0.0.1:${\ $f->port(0)}/whole/q`;
    is($out, "app /whole/q host=localhost from=unix:\n",
       'proxy_pass http://unix:PATH: the request URI as it came');

    # with variables, as nginx: the path ends at the ':' of the URI
    # part, which is then the whole target
    $out = `curl -s -m 5 http://127.0.0.1:${\ $f->port(0)}/var1/z`;
    is($out, "app /mapped/ host=localhost from=unix:\n",
       'proxy_pass http://unix:$var:/uri/: the socket, the URI part as the '
       . 'target, Host "localhost"');
    $out = `curl -s -m 5 http://127.0.0.1:${\ $f->port(0)}/var2/q`;
    is($out, "app /var2/q host=localhost from=unix:\n",
       'proxy_pass http://$var, "unix:PATH" that another proxy_pass made an '
       . 'upstream of: that one, Host "localhost"');
    $out = `curl -s -m 5 'http://127.0.0.1:${\ $f->port(0)}/var3/x?s=app2'`;
    is($out, "app /var3/x?s=app2 host=localhost from=unix:\n",
       'proxy_pass http://unix:PATH-WITH-$var: a socket no upstream names, '
       . 'connected to at once');
    $out = `curl -s -m 5 -o /dev/null -w '%{http_code}' 'http://127.0.0.1:${\ $f->port(0)}/var3/x?s=none'`;
    is($out, '502', '... a path nothing listens on: 502');

    # keep-alive over the unix socket (no TCP_NODELAY to set there)
    $out = `curl -s -m 5 --unix-socket '$p/front.sock' http://x/1 http://x/2 2>&1`;
    is($out, "front unix:||unix:$p/front.sock|\n" x 2,
       'two requests on one unix-socket connection');
}

SKIP: {
    skip 'ss (iproute2) not installed', 3 unless $ss;
    is(ss_backlog($f->port(0)), 33, 'backlog=33: ss -ltn shows Send-Q 33');
    is(ss_backlog("$p/front.sock"), 77, 'backlog=77 on a unix socket: 77');
    is(ss_backlog("$p/app.sock"), 511, 'no backlog=: 511, as nginx');
}

# reload: a new unix listener appears, a dropped one disappears, a new
# backlog applies to the socket kept
{
    my $new = $conf->("listen unix:%%PREFIX%%/more.sock;");
    $new =~ s/backlog=33/backlog=44/;
    $new =~ s{listen unix:%%PREFIX%%/front.sock backlog=77;}{};
    $f->write_file('conf/ferry.conf', $new);
    kill 'HUP', $f->master_pid;
    ok((wait_until { $f->error_log =~ /reload done/ } 10), 'reloaded');
    ok(-S "$p/more.sock", 'a unix listener added by the reload exists');
    ok(!-e "$p/front.sock", 'the one the reload dropped is removed');
    SKIP: {
        skip 'curl not installed', 1 unless $curl;
        like(curl_unix("$p/more.sock", 'http://x/') // '', qr/^front unix:/,
             'and the new one serves');
    }
    SKIP: {
        skip 'ss (iproute2) not installed', 1 unless $ss;
        is(ss_backlog($f->port(0)), 44, 'backlog=44 after the reload, on the '
                                       . 'socket kept');
    }
}

$f->stop;
ok(!-e "$p/more.sock" && !-e "$p/app.sock",
   'the unix socket files are removed when ferry exits');


# ---- IPv6 --------------------------------------------------------------

SKIP: {
    skip 'no IPv6 loopback (::1) on this machine', 6 unless $v6;

    my $g = Ferry::Test->new(conf => main_conf() . <<'EOF');
worker_processes 1;
events { worker_connections 64; }
http {
    upstream v6app { server [::1]:%%PORT_1%%; }
    server {
        listen [::1]:%%PORT_0%%;
        listen 127.0.0.1:%%PORT_0%%;
        location / { return 200 "$remote_addr $server_addr $server_port\n"; }
        location /up { proxy_pass http://v6app; }
    }
    server {
        listen [::1]:%%PORT_1%%;
        location / { return 200 "v6 backend saw $remote_addr\n"; }
    }
}
EOF
    $g->start;
    my $get = sub {
        my ($host, $path) = @_;
        my $s = IO::Socket::IP->new(PeerHost => $host, PeerPort => $g->port(0),
                                    Timeout => 5) or return "connect: $!";
        print $s "GET $path HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n";
        local $/;
        my $r = <$s> // '';
        return $r =~ /\r\n\r\n(.*)\z/s ? $1 : $r;
    };
    is($get->('::1', '/'), "::1 ::1 " . $g->port(0) . "\n",
       'listen [::1]:PORT: served over IPv6, $remote_addr and $server_addr '
       . '"::1"');
    is($get->('127.0.0.1', '/'), "127.0.0.1 127.0.0.1 " . $g->port(0) . "\n",
       'the same port on 127.0.0.1 is a separate (IPv6-only) socket');
    is($get->('::1', '/up'), "v6 backend saw ::1\n",
       'an upstream server [::1]:PORT is reached over IPv6');
    SKIP: {
        skip 'curl not installed', 1 unless $curl;
        is(`curl -s -g -m 5 'http://[::1]:${\ $g->port(0)}/'`,
           "::1 ::1 " . $g->port(0) . "\n", 'curl http://[::1]:PORT/');
    }
    SKIP: {
        skip 'ss (iproute2) not installed', 1 unless $ss;
        like(join('', `ss -ltnH 2>/dev/null`),
             qr/\[::1\]:${\ $g->port(0)}\b/, 'ss shows [::1]:PORT listening');
    }
    $g->stop;
}


# ---- default_server ------------------------------------------------------

{
    my $g = Ferry::Test->new(conf => main_conf() . <<'EOF');
worker_processes 1;
events { worker_connections 64; }
http {
    server {
        listen 127.0.0.1:%%PORT_0%%;
        server_name first.test;
        location / { return 200 "first\n"; }
    }
    server {
        listen 127.0.0.1:%%PORT_0%% default_server;
        server_name second.test;
        location / { return 200 "second\n"; }
    }
}
EOF
    $g->start;
    is(http_get($g->port(0), '/', Host => 'unknown.test')->{body}, "second\n",
       'default_server: an unknown host goes to the server marked default');
    is(http_get($g->port(0), '/', Host => 'first.test')->{body}, "first\n",
       '... a known one to its server');
    $g->stop;
}


# ---- configuration errors -------------------------------------------------

my $long = '/tmp/' . ('d' x 110) . '.sock';
for my $t (
    ['listen 127.0.0.1:%%PORT_0%% backlog=0;',
     qr/invalid backlog "0" in "listen" \(1 to 65535\)/],
    ['listen 127.0.0.1:%%PORT_0%% backlog=lots;', qr/invalid backlog "lots"/],
    ['listen 127.0.0.1:%%PORT_0%% backlog=70000;', qr/invalid backlog "70000"/],
    ["listen unix:$long;",
     qr/too long path in the unix domain socket "unix:\/tmp\/d+\.sock" in "listen" \(at most 107 bytes\)/],
    ['listen unix:;', qr/invalid address "unix:" in "listen"/],
    ['listen 127.0.0.1:%%PORT_0%% reuseport;',
     qr/"reuseport" is not supported: the master accepts every connection/],
    ['listen 127.0.0.1:%%PORT_0%% fastopen=many;',
     qr/invalid fastopen "many" in "listen"/],
    ['listen 127.0.0.1:%%PORT_0%% nosuch;',
     qr/invalid parameter "nosuch" in "listen"/],
    ["location / { proxy_pass http://unix:$long; }",
     qr/too long path in the unix domain socket "unix:\/tmp\/d+\.sock"/],
) {
    my ($directive, $msg) = @$t;
    server_conf_refused($directive, qr/$msg.* in \S+ferry\.conf:8/,
                        "\"$directive\"", 1);
}

for my $t (
    ["upstream u { server unix:$long; }",
     qr/too long path in the unix domain socket "unix:\/tmp\/d+\.sock" in \S+ferry\.conf:6/],
    ["server { listen 127.0.0.1:%%PORT_0%% backlog=10; }\n"
     . "    server { listen 127.0.0.1:%%PORT_0%% backlog=20; }",
     qr/duplicate listen options for 127\.0\.0\.1:\d+ in \S+ferry\.conf:7/],
    ["server { listen unix:/tmp/x.sock default_server; }\n"
     . "    server { listen unix:/tmp/x.sock default_server; }",
     qr/a duplicate default server for unix:\/tmp\/x\.sock in \S+ferry\.conf:7/],
) {
    my ($block, $msg) = @$t;
    http_conf_refused($block, $msg, (split /\n/, $block)[0]);
}

done_testing;
