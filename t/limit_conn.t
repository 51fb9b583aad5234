#!/usr/bin/perl

# nginx's limit_conn: limit_conn_zone, limit_conn, limit_conn_status,
# limit_conn_log_level, limit_conn_dry_run and $limit_conn_status.
# Requests held open by a backend that answers only when the test says
# so: the N+1th at once is rejected (503, or the status configured),
# logged in nginx's words; the count comes back when a request ends,
# when its client goes away, when its worker is told to exit at once
# (SIGTERM), and when its worker is killed (SIGKILL: the master gives
# the count back); dry run; an empty key is not counted, a key longer
# than a node holds is counted by its SHA-256, one over nginx's 255 bytes
# is not (logged); one zone shared
# by two workers; a count taken before a reload still counts after it
# (the zone is kept); configuration errors with file and line.
#
# Every test fails without limit_conn: the configuration is refused
# ("unknown directive").

use strict;
use warnings;

use Test::More;
use Ferry::Test;
use File::Temp ();

my $flags = File::Temp::tempdir('ferry-limit-conn-XXXXXX', TMPDIR => 1,
                                CLEANUP => 1);

# /.../hold-NAME: say "seen-NAME", answer once "release-NAME" exists
sub backend {
    my ($port) = @_;
    return Ferry::Test::Backend->new(port => $port, handler => sub {
        my ($req) = @_;
        if ($req->{uri} =~ m{/hold-(\w+)}) {
            my $name = $1;
            open my $fh, '>', "$flags/seen-$name"; close $fh;
            my $until = time + 15;
            select(undef, undef, undef, 0.02)
                while !-e "$flags/release-$name" && time < $until;
        }
        return { status => 200, body => "done $req->{uri}\n" };
    });
}

sub release { open my $fh, '>', "$flags/release-$_[0]"; close $fh; }
sub seen { my ($n) = @_; wait_until { -e "$flags/seen-$n" } 5 }

# Start a request that the backend holds; returns the client.
sub hold {
    my ($port, $path) = @_;
    my $c = Ferry::Test::Client->new($port);
    $c->send("GET $path HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n\r\n");
    return $c;
}

my $f = Ferry::Test->new(conf => main_conf() . <<'EOF');
worker_processes 1;
events { worker_connections 64; }
http {
    log_format lc '$uri|$limit_conn_status|$status';
    access_log logs/access.log lc;
    add_header X-Pid $pid always;
    limit_conn_zone $binary_remote_addr zone=addr:64k;
    limit_conn_zone $binary_remote_addr zone=st:64k;
    limit_conn_zone $binary_remote_addr zone=dry:64k;
    limit_conn_zone $arg_k zone=bykey:64k;
    upstream be { server 127.0.0.1:%%PORT_1%%; }

    server {
        listen 127.0.0.1:%%PORT_0%%;
        location /a/ { limit_conn addr 1; proxy_pass http://be; }
        location /two/ { limit_conn addr 2; proxy_pass http://be; }
        location /st/ {
            limit_conn st 1;
            limit_conn_status 429;
            limit_conn_log_level warn;
            proxy_pass http://be;
        }
        location /dry/ { limit_conn dry 1; limit_conn_dry_run on; proxy_pass http://be; }
        location /key/ { limit_conn bykey 1; proxy_pass http://be; }
        location /free/ { proxy_pass http://be; }
    }
}
EOF
my $b = backend($f->port(1));
my $p = $f->port(0);

sub access_lines {
    my ($re) = @_;
    my $log = Ferry::Test::read_file($f->prefix . '/logs/access.log') // '';
    return grep { /$re/ } split /\n/, $log;
}

if ($f->start) {
    # ---- one held: the second at once is rejected ----
    my $a = hold($p, '/a/hold-1');
    ok(seen(1), 'first request reached the backend');
    my $r = http_get($p, '/a/x');
    is($r->{status}, 503, 'limit_conn 1: a second one at once gets 503');
    like($f->error_log, qr/\[error\] .*limiting connections by zone "addr", client: 127\.0\.0\.1, server: , request: "GET \/a\/x HTTP\/1\.1"/,
         'logged at [error] in nginx\'s words');
    is(http_get($p, '/free/x')->{status}, 200, 'a location without limit_conn is not limited');
    release(1);
    $r = $a->read_response;
    is($r->{status}, 200, 'the held one is answered');
    is(http_get($p, '/a/y')->{status}, 200, 'after it ended, the count is back');

    # ---- limit_conn 2: the third is rejected ----
    my $a1 = hold($p, '/two/hold-2a');
    my $a2 = hold($p, '/two/hold-2b');
    ok(seen('2a') && seen('2b'), 'two held');
    is(http_get($p, '/two/x')->{status}, 503, 'limit_conn 2: the third is rejected');
    release('2a'); release('2b');
    is($a1->read_response->{status}, 200, 'held 1 answered');
    is($a2->read_response->{status}, 200, 'held 2 answered');

    # ---- the client goes away: its count goes too ----
    my $c = hold($p, '/a/hold-abort');
    ok(seen('abort'), 'held before the abort');
    is(http_get($p, '/a/z')->{status}, 503, 'limited while it is held');
    $c->close;
    my $st;
    ok((wait_until { $st = http_get($p, '/a/z')->{status}; $st == 200 } 5),
       'after the client closed, the count was given back') or diag($st);
    release('abort');

    # ---- limit_conn_status, limit_conn_log_level ----
    $c = hold($p, '/st/hold-st');
    ok(seen('st'), 'held');
    is(http_get($p, '/st/x')->{status}, 429, 'limit_conn_status 429');
    like($f->error_log, qr/\[warn\] .*limiting connections by zone "st"/,
         'limit_conn_log_level warn');
    release('st');
    is($c->read_response->{status}, 200, 'held one answered');

    # ---- dry run ----
    $c = hold($p, '/dry/hold-dry');
    ok(seen('dry'), 'held');
    is(http_get($p, '/dry/x')->{status}, 200, 'dry run: the second passes');
    like($f->error_log, qr/limiting connections, dry run, by zone "dry"/,
         'dry run logged');
    release('dry');
    is($c->read_response->{status}, 200, 'held one answered');

    # ---- empty key ----
    $c = hold($p, '/key/hold-key');
    ok(seen('key'), 'held without a key');
    is(http_get($p, '/key/x')->{status}, 200, 'empty key: not counted');
    my $k = hold($p, '/key/hold-k1?k=a');
    ok(seen('k1'), 'held with key a');
    is(http_get($p, '/key/x?k=a')->{status}, 503, 'key a: limited');
    is(http_get($p, '/key/x?k=b')->{status}, 200, 'key b: apart');
    my $long = 'L' x 200;
    my $kl = hold($p, "/key/hold-kl?k=$long");
    ok(seen('kl'), 'held with a 200-byte key');
    is(http_get($p, "/key/x?k=$long")->{status}, 503,
       'a 200-byte key: limited (kept as its SHA-256)');
    is(http_get($p, '/key/x?k=' . ('L' x 199) . 'M')->{status}, 200,
       'another 200-byte key: apart');
    my $huge = 'H' x 256;
    my $kh = hold($p, "/key/hold-kh?k=$huge");
    ok(seen('kh'), 'held with a 256-byte key');
    is(http_get($p, "/key/x?k=$huge")->{status}, 200,
       'over 255 bytes: not counted (nginx)');
    like($f->error_log, qr/\[error\] .*the value of the "\$arg_k" key is more than 255 bytes: "H{256}"/,
         '... and logged in nginx\'s words');
    release('key'); release('k1'); release('kl'); release('kh');
    $c->read_response;
    $k->read_response;
    $kl->read_response;
    $kh->read_response;

    # ---- $limit_conn_status ----
    ok((wait_until { access_lines(qr{^/key/x}) >= 3 } 5), 'access log written');
    is_deeply([ access_lines(qr{^/a/x\|}) ], ['/a/x|REJECTED|503'],
              '$limit_conn_status REJECTED');
    is_deeply([ access_lines(qr{^/a/y\|}) ], ['/a/y|PASSED|200'],
              '$limit_conn_status PASSED');
    is_deeply([ access_lines(qr{^/dry/x\|}) ], ['/dry/x|REJECTED_DRY_RUN|200'],
              '$limit_conn_status REJECTED_DRY_RUN');
    is_deeply([ access_lines(qr{^/free/x\|}) ], ['/free/x|-|200'],
              '$limit_conn_status empty without limit_conn');

    # ---- a worker told to exit at once gives its counts back ----
    my ($w) = $f->worker_pids;
    $c = hold($p, '/a/hold-term');
    ok(seen('term'), 'held before SIGTERM');
    kill 'TERM', $w;
    $f->allow_log(qr/worker process \d+ .*exited|respawn|signal 15/);
    ok((wait_until { my @n = $f->worker_pids; @n == 1 && $n[0] != $w } 10),
       'the worker was replaced');
    is(http_get($p, '/a/after-term')->{status}, 200,
       'the count of the request it had open was given back');
    release('term');

    # ---- a worker killed: the master gives its counts back ----
    ($w) = $f->worker_pids;
    $c = hold($p, '/a/hold-kill');
    ok(seen('kill'), 'held before SIGKILL');
    is(http_get($p, '/a/before-kill')->{status}, 503, 'limited while held');
    kill 'KILL', $w;
    $f->allow_log(qr/exited on signal 9/);
    ok((wait_until { my @n = $f->worker_pids; @n == 1 && $n[0] != $w } 10),
       'the killed worker was replaced');
    like($f->error_log, qr/\[notice\] .*gave back 1 connection\(s\) process $w held in limit_conn zone "addr"/,
         'the master gave back its count');
    is(http_get($p, '/a/after-kill')->{status}, 200,
       'so the key is not limited for ever');
    release('kill');
}
$f->stop;


# ---- one zone, two workers; kept across a reload ----

{
    my $g = Ferry::Test->new(conf => main_conf() . <<'EOF');
worker_processes 2;
worker_dispatch round_robin;
events { worker_connections 64; }
http {
    add_header X-Pid $pid always;
    limit_conn_zone $binary_remote_addr zone=addr:64k;
    upstream be { server 127.0.0.1:%%PORT_1%%; }
    server {
        listen 127.0.0.1:%%PORT_0%%;
        location / { limit_conn addr 1; proxy_pass http://be; }
    }
}
EOF
    my $gb = backend($g->port(1));
    my $gp = $g->port(0);
    if ($g->start) {
        $g->wait_workers(2);
        my $a = hold($gp, '/hold-w');
        ok(seen('w'), 'shared: one held');
        my (%pids, @codes);
        for (1 .. 8) {
            my $r = http_get($gp, '/x');
            $pids{$r->{headers}{'x-pid'} // ''}++;
            push @codes, $r->{status};
        }
        release('w');
        my $ar = $a->read_response;
        is($ar->{status}, 200, 'shared: the held one answered');
        is(scalar(grep { $_ == 503 } @codes), 8,
           'shared: every other request rejected') or diag("@codes");
        my $held_by = $ar->{headers}{'x-pid'} // 'none';
        ok(scalar(grep { $_ ne $held_by } keys %pids),
           'shared: rejected by the worker that does not hold the request')
            or diag("held by $held_by, rejected by " . join(' ', keys %pids));

        # a count taken before a reload still counts after it
        my @old = $g->worker_pids;
        $a = hold($gp, '/hold-r');
        ok(seen('r'), 'reload: one held by an old worker');
        my $n = () = $g->error_log =~ /reload done/g;
        kill 'HUP', $g->master_pid;
        my %old = map { $_ => 1 } @old;
        ok((wait_until {
            (() = $g->error_log =~ /reload done/g) > $n
                && 2 == grep { !$old{$_} } $g->worker_pids;
        } 10), 'reloaded');
        my $r = http_get($gp, '/y');
        is($r->{status}, 503, 'after the reload: the old worker\'s count is still there');
        ok(!$old{$r->{headers}{'x-pid'} // ''}, '... seen by a new worker');
        release('r');
        is($a->read_response->{status}, 200, 'the old worker finished it');
        ok((wait_until { http_get($gp, '/z')->{status} == 200 } 5),
           'then the new workers let one through');
    }
    $g->stop;
}


# ---- configuration errors ----

server_conf_refused('limit_conn nope 1;',
    'unknown limit_conn_zone "nope" in .*ferry\.conf:8', 'unknown zone');
http_conf_refused("limit_conn_zone \$binary_remote_addr zone=a:64k;\n"
    . "    limit_conn a 0;",
    'invalid number of connections "0" in .*ferry\.conf:7', 'limit_conn 0');
http_conf_refused("limit_conn_zone \$binary_remote_addr zone=a:64k;\n"
    . "    limit_conn a 65536;",
    'connection limit must be less 65536 in .*ferry\.conf:7', 'limit_conn 65536');
http_conf_refused("limit_conn_zone \$binary_remote_addr zone=a:64k;\n"
    . "    limit_conn_zone \$remote_addr zone=a:64k;",
    'limit_conn_zone "a" is already bound to key "\$binary_remote_addr" in .*ferry\.conf:7',
    'duplicate zone');
http_conf_refused("limit_req_zone \$binary_remote_addr zone=a:64k rate=1r/s;\n"
    . "    limit_conn a 1;",
    'the shared memory zone "a" is already declared for a different use in .*ferry\.conf:7',
    'a limit_req_zone used by limit_conn');
http_conf_refused('limit_conn_zone $binary_remote_addr zone=a:4k;',
    'zone "a" is too small in .*ferry\.conf:6', 'zone too small');
http_conf_refused('limit_conn_zone $binary_remote_addr zone=a:64k sync;',
    '"sync" parameter is not supported .* in .*ferry\.conf:6', 'sync');
http_conf_refused('limit_conn_zone $binary_remote_addr size=1;',
    'invalid parameter "size=1" in .*ferry\.conf:6', 'bad parameter');
http_conf_refused("limit_conn_zone \$binary_remote_addr zone=a:64k;\n"
    . "    limit_conn a 1; limit_conn a 2;",
    '"limit_conn" directive is duplicate in .*ferry\.conf:7', 'same zone twice');
http_conf_refused('limit_conn_status 302;',
    'value must be between 400 and 599 in .*ferry\.conf:6', 'limit_conn_status 302');
http_conf_refused('limit_conn_dry_run maybe;',
    'invalid value "maybe", it must be "on" or "off" in .*ferry\.conf:6', 'limit_conn_dry_run maybe');

done_testing;
