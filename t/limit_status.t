#!/usr/bin/perl

# The limit_req and limit_conn zones on the status page, as an operator
# watches them: requests passed, delayed, rejected and what dry run
# would have done, counted per zone across two workers; connections a
# limit_conn zone counts now and the keys a zone holds; the same exact
# numbers in the JSON (objects "limit_req" and "limit_conn" keyed by
# zone), in Prometheus (checked by promtool when it is installed) and
# on the HTML dashboard (its embedded JSON, and the table a headless
# Chromium renders, when installed); counters kept by a reload that
# keeps the zone, started afresh in a zone the reload changes.
#
# Fails without the counters: the JSON has no "limit_req" object.

use strict;
use warnings;

use Test::More;
use Ferry::Test;
use JSON::PP ();
use File::Temp ();

my $flags = File::Temp::tempdir('ferry-limit-status-XXXXXX', TMPDIR => 1,
                                CLEANUP => 1);

sub have_cmd { system("command -v $_[0] > /dev/null 2>&1") == 0 }

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

sub hold {
    my ($port, $path) = @_;
    my $c = Ferry::Test::Client->new($port);
    $c->send("GET $path HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n\r\n");
    return $c;
}

my $conf = sub {
    my ($keys_size) = @_;
    return main_conf() . <<"EOF";
worker_processes 2;
events { worker_connections 64; }
http {
    root html;
    limit_req_zone \$binary_remote_addr zone=one:64k rate=1r/m;
    limit_req_zone \$binary_remote_addr zone=slow:64k rate=1r/s;
    limit_req_zone \$binary_remote_addr zone=dry:64k rate=1r/m;
    limit_req_zone \$binary_remote_addr zone=ta:64k rate=1r/m;
    limit_req_zone \$binary_remote_addr zone=tb:64k rate=1r/m;
    limit_req_zone \$arg_k zone=keys:$keys_size rate=1000r/s;
    limit_conn_zone \$binary_remote_addr zone=addr:64k;
    limit_conn_zone \$binary_remote_addr zone=cdry:64k;
    upstream be { server 127.0.0.1:%%PORT_1%%; }
    server {
        listen 127.0.0.1:%%PORT_0%%;
        location /one { limit_req zone=one; }
        location /slow { limit_req zone=slow burst=5; }
        location /dry { limit_req zone=dry burst=1; limit_req_dry_run on; }
        location /two {
            limit_req zone=ta burst=5 nodelay;
            limit_req zone=tb;
        }
        location /keys { limit_req zone=keys burst=10 nodelay; }
        location /c/ { limit_conn addr 1; proxy_pass http://be; }
        location /cdry/ {
            limit_conn cdry 1;
            limit_conn_dry_run on;
            proxy_pass http://be;
        }
        location /status { status; }
    }
}
EOF
};

my $f = Ferry::Test->new(conf => $conf->('64k'));
$f->write_file("html/$_", "ok\n") for qw(one slow dry two keys);
my $b = backend($f->port(1));
my $p = $f->port(0);
$f->allow_log(qr/limiting (?:requests|connections)/);

sub json {
    my $r = http_get($p, '/status?format=json');
    return eval { JSON::PP->new->decode($r->{body} // '') } // {};
}
sub statuses { join ' ', map { http_get($p, $_)->{status} } @_ }

my %req0 = (passed => 0, delayed => 0, rejected => 0, delayed_dry_run => 0,
            rejected_dry_run => 0);

if ($f->start) {
    $f->wait_workers(2);

    # before any request: every zone there, all zero
    my $j = json();
    is_deeply([sort keys %{ $j->{limit_req} // {} }],
              [qw(dry keys one slow ta tb)], 'JSON: limit_req zones by name');
    is_deeply([sort keys %{ $j->{limit_conn} // {} }], [qw(addr cdry)],
              'JSON: limit_conn zones by name');
    my $cap = $j->{limit_req}{one}{capacity} // 0;
    ok($cap > 400 && $cap <= 65536 / 128,
       "capacity of a 64k zone: $cap entries of 128 bytes");
    is_deeply($j->{limit_req}{one}, { %req0, keys => 0, capacity => $cap },
              'a new limit_req zone: all fields, zero');
    is_deeply($j->{limit_conn}{addr},
              { passed => 0, rejected => 0, rejected_dry_run => 0,
                active => 0, keys => 0, capacity => $cap },
              'a new limit_conn zone: all fields, zero');

    # ---- limit_req ----
    is(statuses(('/one') x 3), '200 503 503', 'one: 1r/m, no burst');
    is(statuses(('/slow') x 2), '200 200', 'slow: the second delayed');
    is(statuses(('/dry') x 3), '200 200 200', 'dry: all served');
    is(statuses(('/two') x 2), '200 503', 'two zones: the second rejects');
    is(statuses(map { "/keys?k=$_" } qw(a b c a)), '200 200 200 200',
       'keys: three keys');

    $j = json();
    my $lr = $j->{limit_req};
    is_deeply($lr->{one}, { %req0, passed => 1, rejected => 2, keys => 1,
                            capacity => $cap }, 'one: 1 passed, 2 rejected');
    is_deeply($lr->{slow}, { %req0, passed => 1, delayed => 1, keys => 1,
                             capacity => $cap }, 'slow: 1 passed, 1 delayed');
    is_deeply($lr->{dry}, { %req0, passed => 1, delayed_dry_run => 1,
                            rejected_dry_run => 1, keys => 1,
                            capacity => $cap },
              'dry: 1 passed, 1 delayed and 1 rejected in dry run');
    is_deeply($lr->{ta}, { %req0, passed => 1, keys => 1, capacity => $cap },
              'ta: a request another zone rejects is not counted here');
    is_deeply($lr->{tb}, { %req0, passed => 1, rejected => 1, keys => 1,
                           capacity => $cap }, 'tb: 1 passed, 1 rejected');
    is($lr->{keys}{passed}, 4, 'keys: 4 passed');
    is($lr->{keys}{keys}, 3, 'keys: 3 keys held');

    # ---- limit_conn: one request held by the backend ----
    my $a = hold($p, '/c/hold-1');
    ok(seen(1), 'a request held');
    is(statuses(('/c/x') x 2), '503 503', 'limit_conn 1: two more rejected');
    my $d = hold($p, '/cdry/hold-2');
    ok(seen(2), 'a dry-run request held');
    is(statuses('/cdry/y'), '200', 'dry run: the second served');

    $j = json();
    is_deeply($j->{limit_conn}{addr},
              { passed => 1, rejected => 2, rejected_dry_run => 0,
                active => 1, keys => 1, capacity => $cap },
              'addr while held: 1 passed, 2 rejected, 1 active, 1 key');
    is_deeply($j->{limit_conn}{cdry},
              { passed => 1, rejected => 0, rejected_dry_run => 1,
                active => 1, keys => 1, capacity => $cap },
              'cdry while held: 1 passed, 1 rejected in dry run');

    # Prometheus, same numbers, while the two are held
    my $m = http_get($p, '/status?format=prometheus')->{body} // '';
    for my $line (
        'ferry_limit_req_requests_total{zone="one",result="passed"} 1',
        'ferry_limit_req_requests_total{zone="one",result="rejected"} 2',
        'ferry_limit_req_requests_total{zone="one",result="delayed"} 0',
        'ferry_limit_req_requests_total{zone="slow",result="delayed"} 1',
        'ferry_limit_req_requests_total{zone="dry",result="delayed_dry_run"} 1',
        'ferry_limit_req_requests_total{zone="dry",result="rejected_dry_run"} 1',
        'ferry_limit_req_requests_total{zone="ta",result="rejected"} 0',
        'ferry_limit_conn_connections_total{zone="addr",result="passed"} 1',
        'ferry_limit_conn_connections_total{zone="addr",result="rejected"} 2',
        'ferry_limit_conn_connections_total{zone="cdry",result="rejected_dry_run"} 1',
        'ferry_limit_conn_active{zone="addr"} 1',
        'ferry_limit_zone_keys{zone="keys",kind="limit_req"} 3',
        'ferry_limit_zone_keys{zone="addr",kind="limit_conn"} 1',
        "ferry_limit_zone_capacity{zone=\"one\",kind=\"limit_req\"} $cap",
        '# TYPE ferry_limit_req_requests_total counter',
        '# TYPE ferry_limit_conn_connections_total counter',
        '# TYPE ferry_limit_conn_active gauge',
        '# TYPE ferry_limit_zone_keys gauge',
        '# TYPE ferry_limit_zone_capacity gauge')
    {
        like($m, qr/^\Q$line\E$/m, "prometheus: $line");
    }
    unlike($m, qr/^ferry_limit_conn_connections_total\{[^}]*result="delayed/m,
           'prometheus: limit_conn zones have no delays');
    SKIP: {
        skip 'promtool not installed', 1 unless have_cmd('promtool');
        my $file = $f->write_file('metrics.txt', $m);
        my $out = `promtool check metrics < '$file' 2>&1`;
        is($?, 0, 'promtool check metrics passes') or diag($out);
    }

    # HTML: the page carries the same JSON; a browser renders the tables
    my $html = http_get($p, '/status')->{body} // '';
    like($html, qr/"limit_req":\{"dry":\{"passed":1,"delayed":0,"rejected":0,"delayed_dry_run":1,"rejected_dry_run":1,"keys":1,"capacity":$cap\}/,
         'HTML: the embedded snapshot has the zones');
    like($html, qr/id="limits"/, 'HTML: a place for the zone tables');
    SKIP: {
        skip 'chromium not installed', 4 unless have_cmd('chromium');
        my $profile = File::Temp::tempdir('ferry-chromium-XXXXXX',
                                          TMPDIR => 1, CLEANUP => 1);
        my $dom = `timeout 40 chromium --headless --no-sandbox --disable-gpu --disable-dev-shm-usage --no-first-run --disable-background-networking --disable-component-update --disable-sync --user-data-dir=$profile --virtual-time-budget=1500 --dump-dom http://127.0.0.1:$p/status 2>/dev/null`;
        like($dom, qr/<section class="limits" data-kind="limit_req">/,
             'rendered: the limit_req table');
        like($dom, qr/<tr class="zone" data-zone="one"><td>one<\/td><td class="" data-field="passed">1<\/td><td class="" data-field="delayed">0<\/td><td class="c5" data-field="rejected">2<\/td>/,
             'rendered: zone one, 1 passed, 2 rejected (in red)');
        like($dom, qr/<section class="limits" data-kind="limit_conn">/,
             'rendered: the limit_conn table');
        like($dom, qr/<tr class="zone" data-zone="addr">.*?data-field="active">1<\/td>/,
             'rendered: zone addr, 1 active');
    }

    release(1); release(2);
    is($a->read_response->{status}, 200, 'held request answered');
    is($d->read_response->{status}, 200, 'held dry-run request answered');
    # a count is given back just after its response is sent: poll
    my $back = wait_until { json()->{limit_conn}{addr}{active} == 0 } 5;
    ok($back, 'limit_conn: the held request\'s count given back');
    is(statuses('/c/z'), '200', 'limit_conn: the count is back');
    wait_until { json()->{limit_conn}{addr}{active} == 0 } 5;
    $j = json();
    is_deeply($j->{limit_conn}{addr},
              { passed => 2, rejected => 2, rejected_dry_run => 0,
                active => 0, keys => 0, capacity => $cap },
              'addr after: 2 passed, nothing active, no key');

    # ---- reload: a kept zone keeps its counters ----
    my $reload = sub {
        my %old = map { $_ => 1 } $f->worker_pids;
        my $n = () = $f->error_log =~ /reload done/g;
        kill 'HUP', $f->master_pid;
        my $ok = wait_until {
            my @now = $f->worker_pids;
            (() = $f->error_log =~ /reload done/g) > $n
                && @now == 2 && !grep { $old{$_} } @now;
        } 10;
        ok($ok, 'reloaded');
    };
    $reload->();
    $j = json();
    is_deeply($j->{limit_req}{one}, { %req0, passed => 1, rejected => 2,
                                      keys => 1, capacity => $cap },
              'after a reload: zone one kept its counters');
    is($j->{limit_conn}{addr}{passed}, 2, 'after a reload: addr too');
    is(statuses('/one'), '503', 'after a reload: still limited');
    is(json()->{limit_req}{one}{rejected}, 3,
       'after a reload: counting goes on');

    # a reload that changes the zone's size starts it afresh
    $f->write_file("conf/ferry.conf", $conf->("128k"));
    $reload->();
    $j = json();
    is($j->{limit_req}{keys}{passed}, 0, 'a zone made anew: counters 0');
    is($j->{limit_req}{keys}{keys}, 0, 'a zone made anew: no keys');
    ok($j->{limit_req}{keys}{capacity} > $cap, 'a zone made anew: bigger');
    is($j->{limit_req}{one}{rejected}, 3, 'the other zones kept theirs');
    $f->allow_log(qr/worker process \d+ .*exited|signal 15/);
}
$f->stop;
done_testing;
