#!/usr/bin/perl

# nginx's limit_req: limit_req_zone, limit_req (burst, nodelay, delay=),
# limit_req_status, limit_req_log_level, limit_req_dry_run and
# $limit_req_status.  Rejections over the rate, the default 503 and a
# custom status, nginx's log lines, burst served late (coarse timing
# only) and nodelay at once, a client leaving while its request waits
# (499), several limit_req lines applying together,
# a level's own lines replacing the inherited ones, an empty key not
# accounted, one longer than 88 bytes accounted by its SHA-256 (apart
# from others), one over nginx's 65535 bytes not (logged), a full zone
# evicting the least
# recently used keys, "return" answering before the limits, one zone shared by
# two workers, the state kept across a reload when the zone is
# unchanged and dropped when its size changes, $binary_remote_addr,
# and configuration errors with file and line.
#
# Every test fails without limit_req: the configuration is refused
# ("unknown directive").

use strict;
use warnings;

use Test::More;
use Ferry::Test;
use Time::HiRes qw(time);
use IO::Socket::INET;

my $common = <<'EOF';
    log_format lr '$uri|$limit_req_status|$status';
    access_log logs/access.log lr;
    add_header X-Pid $pid always;
    root html;
EOF

my $f = Ferry::Test->new(conf => main_conf() . <<"EOF");
worker_processes 1;
events { worker_connections 64; }
http {
$common
    limit_req_zone \$binary_remote_addr zone=one:64k rate=1r/m;
    limit_req_zone \$binary_remote_addr zone=sec:64k rate=1r/s;
    limit_req_zone \$binary_remote_addr zone=slow:64k rate=2r/s;
    limit_req_zone \$binary_remote_addr zone=fast:64k rate=2r/s;
    limit_req_zone \$binary_remote_addr zone=steps:64k rate=1r/s;
    limit_req_zone \$binary_remote_addr zone=st:64k rate=1r/m;
    limit_req_zone \$binary_remote_addr zone=dry:64k rate=1r/m;
    limit_req_zone \$binary_remote_addr zone=lax:64k rate=1000r/s;
    limit_req_zone \$binary_remote_addr zone=two_a:64k rate=1r/m;
    limit_req_zone \$binary_remote_addr zone=two_b:64k rate=1r/m;
    limit_req_zone \$arg_k zone=bykey:64k rate=1r/m;
    limit_req_zone \$binary_remote_addr zone=inh:64k rate=1r/m;
    limit_req_zone \$binary_remote_addr zone=ret:64k rate=1r/m;
    limit_req_zone \$binary_remote_addr zone=long:64k rate=1r/m;
    limit_req_zone \$arg_k zone=small:32k rate=1r/m;
    limit_req_zone \$arg_k\$arg_k\$arg_k\$arg_k\$arg_k\$arg_k\$arg_k\$arg_k\$arg_k\$arg_k\$arg_k\$arg_k\$arg_k\$arg_k\$arg_k\$arg_k\$arg_k zone=huge:64k rate=1r/m;

    server {
        listen 127.0.0.1:%%PORT_0%%;
        location /one { limit_req zone=one; }
        location /sec { limit_req zone=sec; }
        location /status {
            limit_req zone=st;
            limit_req_status 429;
            limit_req_log_level warn;
        }
        location /dry { limit_req zone=dry; limit_req_dry_run on; }
        location /delay { limit_req zone=slow burst=5; }
        location /nodelay { limit_req zone=fast burst=5 nodelay; }
        location /steps { limit_req zone=steps burst=5 delay=1; }
        # the strict one rejects, whichever comes first
        location /two1 { limit_req zone=two_a; limit_req zone=lax; }
        location /two2 { limit_req zone=lax burst=100; limit_req zone=two_b; }
        location /key { limit_req zone=bykey; }
        location /small { limit_req zone=small; }
        location /huge { limit_req zone=huge; }
        location /ret { limit_req zone=ret; return 200 "returned\\n"; }
        location /bin { return 200 "\$binary_remote_addr"; }
        # the second request would wait a minute
        location /long { limit_req zone=long burst=5; }
    }

    # inherited from the server; a location with its own line does not
    # get the server's
    server {
        listen 127.0.0.1:%%PORT_1%%;
        limit_req zone=inh;
        location / { }
        location /own/ { limit_req zone=lax burst=100 nodelay; }
    }
}
EOF
for my $name (qw(one sec status dry delay nodelay steps two1 two2 key ret long small huge
                 index.html x own/x)) {
    $f->write_file("html/$name", "ok $name\n");
}

sub get { my ($port, $path) = @_; http_get($f->port($port), $path) }

# Send $n requests at once on $n connections; returns the seconds from
# the start until each answer (in the order the requests were sent; all
# sent before any is read) and the statuses.
sub concurrent {
    my ($port, $path, $n) = @_;
    my @socks;
    my $t0 = time;
    for (1 .. $n) {
        my $s = IO::Socket::INET->new(PeerAddr => '127.0.0.1',
                                      PeerPort => $f->port($port))
            or die "connect: $!";
        print $s "GET $path HTTP/1.1\r\nHost: localhost\r\n"
                 . "Connection: close\r\n\r\n";
        push @socks, $s;
    }
    my (@t, @st);
    for my $s (@socks) {
        local $/;
        my $resp = <$s>;
        push @t, time - $t0;
        push @st, $resp =~ m{^HTTP/1\.1 (\d+)} ? $1 : 0;
    }
    return (\@t, \@st);
}

sub access_lines {
    my ($uri) = @_;
    my $log = Ferry::Test::read_file($f->prefix . '/logs/access.log') // '';
    return grep { /^\Q$uri\E\|/ } split /\n/, $log;
}

if ($f->start) {
    # ---- over the rate: rejected, 503, nginx's log line ----
    my $r = get(0, '/one');
    is($r->{status}, 200, 'first request within the rate');
    $r = get(0, '/one');
    is($r->{status}, 503, 'second at once: over 1r/m without burst, 503');
    like($f->error_log, qr/\[error\] .*limiting requests, excess: [01]\.\d{3} by zone "one", client: 127\.0\.0\.1, server: , request: "GET \/one HTTP\/1\.1", host: "localhost"/,
         'logged at [error] with nginx\'s wording');

    # r/s: of five requests at once on one connection, the rate of 1r/s
    # lets the first through and rejects most of the others
    my ($resps) = http_keepalive($f->port(0),
        [ map { build_request(path => '/sec') } 1 .. 5 ]);
    my @codes = map { $_->{status} } @$resps;
    is($codes[0], 200, '1r/s: the first passes');
    cmp_ok(scalar(grep { $_ == 503 } @codes), '>=', 3,
           '1r/s: the quick ones after it are rejected') or diag("@codes");

    # ---- limit_req_status, limit_req_log_level ----
    is(get(0, '/status')->{status}, 200, 'status: first passes');
    $r = get(0, '/status');
    is($r->{status}, 429, 'limit_req_status 429');
    like($f->error_log, qr/\[warn\] .*limiting requests, excess: [\d.]+ by zone "st"/,
         'limit_req_log_level warn');

    # ---- dry run: nothing rejected, but logged and in the variable ----
    is(get(0, '/dry')->{status}, 200, 'dry run: first');
    is(get(0, '/dry')->{status}, 200, 'dry run: second passes too');
    like($f->error_log, qr/limiting requests, dry run, excess: [\d.]+ by zone "dry"/,
         'dry run logged');

    # ---- burst: the excess waits, at 2r/s ----
    my ($t, $st) = concurrent(0, '/delay', 3);
    is("@$st", '200 200 200', 'burst: all three served');
    cmp_ok($t->[2], '>=', 0.8, 'burst: the third only after about 1 s')
        or diag("@$t");
    cmp_ok($t->[0], '<', $t->[2], 'burst: the first before the third');
    like($f->error_log, qr/\[warn\] .*delaying request, excess: [12]\.\d{3}, by zone "slow"/,
         'delay logged one level below [error]');

    # nodelay: the burst is served at once
    ($t, $st) = concurrent(0, '/nodelay', 3);
    is("@$st", '200 200 200', 'nodelay: all three served');
    cmp_ok($t->[2], '<', 0.8, 'nodelay: the third without waiting')
        or diag("@$t");

    # delay=1: the second is not delayed, the third is (by ~1 s at 1r/s)
    ($t, $st) = concurrent(0, '/steps', 3);
    is("@$st", '200 200 200', 'delay=1: all three served');
    cmp_ok($t->[1], '<', 0.7, 'delay=1: the second at once') or diag("@$t");
    cmp_ok($t->[2], '>=', 0.7, 'delay=1: the third later') or diag("@$t");

    # ---- several limit_req lines: all apply ----
    is(get(0, '/two1')->{status}, 200, 'two limits: first passes');
    is(get(0, '/two1')->{status}, 503, 'two limits: the strict first one rejects');
    is(get(0, '/two2')->{status}, 200, 'two limits (strict last): first passes');
    is(get(0, '/two2')->{status}, 503, 'two limits: the strict last one rejects');
    like($f->error_log, qr/limiting requests, excess: [\d.]+ by zone "two_b"/,
         '... naming its zone');

    # ---- an empty key is not accounted ----
    is(get(0, '/key')->{status}, 200, 'empty key: passes');
    is(get(0, '/key')->{status}, 200, 'empty key: again, not counted');
    is(get(0, '/key?k=a')->{status}, 200, 'key a: first');
    is(get(0, '/key?k=a')->{status}, 503, 'key a: second rejected');
    is(get(0, '/key?k=b')->{status}, 200, 'key b: counted apart');
    my $long = 'x' x 89;
    is(get(0, "/key?k=$long")->{status}, 200, 'an 89-byte key: first');
    is(get(0, "/key?k=$long")->{status}, 503,
       '... accounted (kept as its SHA-256)');
    is(get(0, '/key?k=' . ('x' x 88) . 'z')->{status}, 200,
       'another 89-byte key: counted apart');
    my $k3k = 'w' x 3000;
    is(get(0, "/key?k=$k3k")->{status}, 200, 'a 3000-byte key: first');
    is(get(0, "/key?k=$k3k")->{status}, 503, '... accounted');
    # 17 x 4000 bytes: over nginx's 65535
    my $h4k = 'h' x 4000;
    is(get(0, "/huge?k=$h4k")->{status}, 200, 'a 68000-byte key: passes');
    is(get(0, "/huge?k=$h4k")->{status}, 200, '... and is not accounted');
    like($f->error_log, qr/\[error\] .*the value of the "(\$arg_k){17}" key is more than 65535 bytes: "h{100}/,
         '... but logged in nginx\'s words');
    my $max = 'y' x 88;
    is(get(0, "/key?k=$max")->{status}, 200, 'an 88-byte key: first');
    is(get(0, "/key?k=$max")->{status}, 503, 'an 88-byte key: accounted');

    # ---- a full zone forgets its least recently used keys ----
    # 32k holds about 250 keys: after 300, the first are gone
    my ($rs) = http_keepalive($f->port(0),
        [ map { build_request(path => "/small?k=$_", headers =>
                              [Host => 'localhost', Connection => 'keep-alive']) }
          0 .. 299 ]);
    is(scalar(grep { $_->{status} == 200 } @$rs), 300,
       'full zone: 300 different keys all pass');
    is(get(0, '/small?k=299')->{status}, 503, 'full zone: a recent key is still limited');
    is(get(0, '/small?k=0')->{status}, 200,
       'full zone: the oldest key was evicted, so it passes again');

    # ---- "return" answers before the limits (rewrite phase) ----
    is(get(0, '/ret')->{status}, 200, 'return: first');
    is(get(0, '/ret')->{status}, 200, 'return: not limited');

    # ---- inheritance ----
    is(get(1, '/x')->{status}, 200, 'inherited: first');
    is(get(1, '/x')->{status}, 503, 'inherited from the server: limited');
    is(get(1, '/own/x')->{status}, 200, 'own limit_req: first');
    is(get(1, '/own/x')->{status}, 200, 'own limit_req replaces the server\'s');

    # ---- $binary_remote_addr ----
    is(get(0, '/bin')->{body}, "\x7f\x00\x00\x01",
       '$binary_remote_addr: 4 bytes of 127.0.0.1');

    # ---- a client that leaves while its request waits ----
    is(get(0, '/long')->{status}, 200, 'long delay: first passes');
    my $c = Ferry::Test::Client->new($f->port(0));
    $c->send("GET /long HTTP/1.1\r\nHost: localhost\r\n\r\n");
    ok((wait_until { $f->error_log =~ /delaying request, excess: 1\.\d{3}, by zone "long"/ } 5),
       'long delay: the second waits');
    $c->close;
    ok((wait_until { $f->error_log =~ /client 127\.0\.0\.1 prematurely closed connection while its request was delayed/ } 5),
       'the client closing is noticed during the delay');
    ok((wait_until { grep { $_ eq '/long|DELAYED|499' } access_lines('/long') } 5),
       'logged as 499 with $limit_req_status DELAYED');

    # ---- $limit_req_status in the access log ----
    ok((wait_until { access_lines('/two1') >= 2 } 5), 'access log written');
    my @one = access_lines('/one');
    is_deeply(\@one, ['/one|PASSED|200', '/one|REJECTED|503'],
              '$limit_req_status PASSED, REJECTED');
    my @dry = access_lines('/dry');
    is_deeply(\@dry, ['/dry|PASSED|200', '/dry|REJECTED_DRY_RUN|200'],
              '$limit_req_status REJECTED_DRY_RUN');
    my @delay = access_lines('/delay');
    is(scalar(grep { /\|DELAYED\|200$/ } @delay), 2,
       '$limit_req_status DELAYED for the two that waited') or diag("@delay");
    my @ret = access_lines('/ret');
    is($ret[0], '/ret|-|200', '$limit_req_status empty ("-") when not checked');
}
$f->stop;


# ---- one zone, two workers ----

{
    my $g = Ferry::Test->new(conf => main_conf() . <<'EOF');
worker_processes 2;
worker_dispatch round_robin;
events { worker_connections 64; }
http {
    add_header X-Pid $pid always;
    root html;
    limit_req_zone $binary_remote_addr zone=shared:64k rate=1r/m;
    server {
        listen 127.0.0.1:%%PORT_0%%;
        location / { limit_req zone=shared; }
    }
}
EOF
    $g->write_file('html/index.html', "ok\n");
    if ($g->start) {
        $g->wait_workers(2);
        my (%pids, @codes);
        for (1 .. 12) {
            my $r = http_get($g->port(0), '/');
            $pids{$r->{headers}{'x-pid'} // ''}++;
            push @codes, $r->{status};
        }
        is(scalar(keys %pids), 2, 'shared: both workers answered')
            or diag(join ' ', keys %pids);
        is(scalar(grep { $_ == 200 } @codes), 1,
           'shared: one request passed in all, the zone counts for both')
            or diag("@codes");
    }
    $g->stop;
}


# ---- reload: state kept when the zone is unchanged ----

{
    my $conf = sub {
        my ($size) = @_;
        return main_conf() . <<"EOF";
worker_processes 1;
events { worker_connections 64; }
http {
    root html;
    limit_req_zone \$binary_remote_addr zone=keep:$size rate=1r/m;
    server {
        listen 127.0.0.1:%%PORT_0%%;
        location / { limit_req zone=keep; }
    }
}
EOF
    };
    my $g = Ferry::Test->new(conf => $conf->('64k'));
    $g->write_file('html/index.html', "ok\n");
    my $reload = sub {
        my @old = $g->worker_pids;
        my $n = () = $g->error_log =~ /reload done/g;
        kill 'HUP', $g->master_pid;
        my %old = map { $_ => 1 } @old;
        my $ok = wait_until {
            my @now = $g->worker_pids;
            (() = $g->error_log =~ /reload done/g) > $n
                && @now == 1 && !$old{$now[0]};
        } 10;
        ok($ok, 'reloaded');
    };
    if ($g->start) {
        is(http_get($g->port(0), '/')->{status}, 200, 'reload: first');
        is(http_get($g->port(0), '/')->{status}, 503, 'reload: second limited');
        $reload->();
        is(http_get($g->port(0), '/')->{status}, 503,
           'after a reload with the zone unchanged: still limited');
        $g->write_file('conf/ferry.conf', $conf->('128k'));
        $reload->();
        is(http_get($g->port(0), '/')->{status}, 200,
           'after a reload that changed its size: the zone starts empty');
    }
    $g->stop;
}


# ---- configuration errors ----

http_conf_refused("server { listen 127.0.0.1:%%PORT_0%%; limit_req zone=nope; }",
    'unknown limit_req_zone "nope" in .*ferry\.conf:6', 'unknown zone');
http_conf_refused('limit_req_zone $binary_remote_addr zone=a:64k rate=fast;',
    'invalid rate "rate=fast" in .*ferry\.conf:6', 'bad rate');
http_conf_refused('limit_req_zone $binary_remote_addr zone=a:64k rate=0r/s;',
    'invalid rate "rate=0r/s" in .*ferry\.conf:6', 'zero rate');
http_conf_refused('limit_req_zone $binary_remote_addr zone=a:1k rate=1r/s;',
    'zone "a" is too small in .*ferry\.conf:6', 'zone too small');
http_conf_refused('limit_req_zone $binary_remote_addr zone=a rate=1r/s;',
    'invalid zone size "a" in .*ferry\.conf:6', 'zone without size');
http_conf_refused("limit_req_zone \$binary_remote_addr zone=a:64k rate=1r/s;\n"
    . "    limit_req_zone \$remote_addr zone=a:64k rate=2r/s;",
    'limit_req_zone "a" is already bound to key "\$binary_remote_addr" in .*ferry\.conf:7',
    'duplicate zone');
http_conf_refused("limit_conn_zone \$binary_remote_addr zone=a:64k;\n"
    . "    limit_req_zone \$remote_addr zone=a:64k rate=2r/s;",
    'the shared memory zone "a" is already declared for a different use in .*ferry\.conf:7',
    'a limit_conn_zone name');
http_conf_refused('limit_req_zone $binary_remote_addr zone=a:64k rate=1r/s sync;',
    '"sync" parameter is not supported .* in .*ferry\.conf:6', 'sync (nginx Plus)');
http_conf_refused('limit_req_zone $binary_remote_addr rate=1r/s rate=2r/s;',
    '"limit_req_zone" must have "zone" parameter in .*ferry\.conf:6', 'no zone=');
http_conf_refused('limit_req_zone $nosuchvar zone=a:64k rate=1r/s;',
    'nosuchvar.* in .*ferry\.conf:6', 'unknown variable in the key');
http_conf_refused("limit_req_zone \$binary_remote_addr zone=a:64k rate=1r/s;\n"
    . "    limit_req zone=a burst=x;",
    'invalid burst value "burst=x" in .*ferry\.conf:7', 'bad burst');
http_conf_refused("limit_req_zone \$binary_remote_addr zone=a:64k rate=1r/s;\n"
    . "    limit_req zone=a; limit_req zone=a;",
    '"limit_req" directive is duplicate in .*ferry\.conf:7', 'same zone twice');
http_conf_refused('limit_req_status 200;',
    'value must be between 400 and 599 in .*ferry\.conf:6', 'limit_req_status 200');
http_conf_refused('limit_req_log_level debug;',
    'invalid value "debug" in .*ferry\.conf:6', 'limit_req_log_level debug');

done_testing;
