#!/usr/bin/perl

# The status page as its users see it: JSON with the documented fields
# whose counters move by exactly the requests sent, nginx's stub_status
# format line by line, allow/deny, Prometheus output that promtool
# accepts, and the HTML dashboard rendered by a real browser (headless
# Chromium), which also writes a screenshot into the test's prefix.
#
# promtool (Debian "prometheus") and chromium are installed here when
# missing, with apt-get, so a fresh machine runs every check; only
# when that is impossible (not root, no apt-get) are those checks
# skipped, saying why.

use strict;
use warnings;

use Test::More;
use Ferry::Test;
use JSON::PP ();
use File::Temp ();

# ---- tools: install what is missing ----

sub have_cmd { system("command -v $_[0] > /dev/null 2>&1") == 0 }

# Returns '' when $cmd is there (installing $pkg if needed), else why not.
sub need_tool {
    my ($cmd, $pkg) = @_;

    return '' if have_cmd($cmd);
    return "$cmd missing and not root: apt-get install $pkg"
        if $> != 0;
    return "$cmd missing and no apt-get to install $pkg"
        unless have_cmd('apt-get');

    # Installing chromium can take minutes on a slow mirror; the
    # watchdog is for the test itself, so it is set again afterwards.
    alarm 900;
    diag("installing $pkg for $cmd");
    my $apt = 'DEBIAN_FRONTEND=noninteractive apt-get -q -y'
            . ' -o DPkg::Lock::Timeout=300';
    my $ok = system("$apt install --no-install-recommends $pkg"
                    . " < /dev/null > /dev/null 2>&1") == 0
          || (system("$apt update < /dev/null > /dev/null 2>&1") == 0
              && system("$apt install --no-install-recommends $pkg"
                        . " < /dev/null > /dev/null 2>&1") == 0);
    alarm($ENV{FERRY_TEST_TIMEOUT} || 100);
    return '' if $ok && have_cmd($cmd);
    return "apt-get install $pkg failed";
}

my $no_promtool = need_tool('promtool', 'prometheus');
my $no_chromium = need_tool('chromium', 'chromium');

# ---- ferry with two workers, two backends and the status locations ----

my $f = Ferry::Test->new(conf => main_conf() . <<'EOF');
worker_processes 2;
events { worker_connections 256; }
http {
    upstream app {
        server 127.0.0.1:%%PORT_1%%;
        server 127.0.0.1:%%PORT_2%%;
    }
    server {
        listen 127.0.0.1:%%PORT_0%%;
        location / { proxy_pass http://app; }
        location /status { status; }
        location = /metrics { status prometheus; }
        location = /basic_status { stub_status; }
        location /denied { deny 127.0.0.1; status; }
        location /first-match {
            allow 127.0.0.0/8;
            deny all;
            stub_status;
        }
        location /cidr-deny {
            deny 127.0.0.0/24;
            allow all;
            stub_status;
        }
        location /v6-only {
            allow ::1;
            deny all;
            stub_status;
        }
        location /return-first { deny all; return 200 "returned"; }
    }
}
EOF
$f->allow_log(qr/access forbidden by rule/);

my $b1 = Ferry::Test::Backend->new(port => $f->port(1),
                                   handler => sub { { body => "one\n" } });
my $b2 = Ferry::Test::Backend->new(port => $f->port(2),
                                   handler => sub { { body => "two\n" } });

$f->start or do { done_testing; exit };
$f->wait_workers(2);
my $port = $f->port(0);

sub get_json {
    my ($path) = @_;
    my $r = http_get($port, $path // '/status?format=json');
    is($r->{status}, 200, 'JSON answered 200') or diag($r->{raw});
    my $j = eval { JSON::PP->new->decode($r->{body}) };
    ok($j, 'JSON parses') or diag($@, $r->{body});
    return ($j, $r);
}

# A request's counters and gauges settle only after its response is
# written: the worker counts it in "requests" and takes it out of
# "writing" a moment after the client may already have read the answer
# and sent its next request -- perhaps to the other worker, whose status
# page then still sees the first one writing.  settled($path, $parse)
# fetches $path until $parse (body -> hash with writing and reading)
# shows nothing in flight but the status request itself (bounded by a
# deadline) and returns the last one parsed and how many fetches it
# took ({res} holds the response); each fetch is a request and a
# connection of its own.
sub settled {
    my ($path, $parse) = @_;
    my ($v, $n) = (undef, 0);
    wait_until {
        $n++;
        my $r = http_get($port, $path);
        $v = ($r->{status} // 0) == 200 ? eval { $parse->($r->{body}) } : undef;
        $v->{res} = $r if $v;
        $v && $v->{writing} == 1 && $v->{reading} == 0;
    } 10;
    return ($v, $n);
}
sub json_body {
    my $j = JSON::PP->new->decode($_[0]);
    return { %{ $j->{connections} }, json => $j };
}

sub sum { my $s = 0; $s += $_ for @_; $s }
sub worker_requests { sum(map { $_->{requests} } @{ $_[0]{workers} }) }
sub servers { map { @{ $_->{servers} } } @{ $_[0]{upstreams} } }

# ---- JSON: the documented fields ----

# A worker is the master's child (wait_workers) from fork() on, but its
# slot says "running", with its pid and memory, only once it has set
# itself up: wait for that (bounded) instead of reading in between.
my $running = wait_until {
    my $x = eval { JSON::PP->new->decode(
        http_get($port, '/status?format=json')->{body} // '') };
    my @w = @{ $x->{workers} // [] };
    @w == 2 && !grep { $_->{state} ne 'running' || !$_->{pid} || !$_->{rss} } @w;
} 10;
ok($running, 'both worker slots running');

my ($j, $r) = get_json();
is($r->{headers}{'content-type'}, 'application/json', 'JSON content type');

for my $k (qw(version time_ms master connections requests workers upstreams)) {
    ok(exists $j->{$k}, "top-level field $k");
}
for my $k (qw(pid start_ms uptime_ms generation reloads reloads_failed
              last_reload_ms last_reload_ok dispatched dispatch_failed)) {
    ok(exists $j->{master}{$k}, "master field $k");
}
for my $k (qw(active reading writing waiting accepted handled)) {
    ok(exists $j->{connections}{$k}, "connections field $k");
}
is($j->{master}{pid}, $f->master_pid, 'master pid');
is($j->{master}{generation}, 1, 'generation 1 before any reload');
is($j->{master}{last_reload_ms}, undef, 'never reloaded: null');

my @w = @{ $j->{workers} };
is(scalar @w, 2, 'two worker slots');
is_deeply([sort { $a <=> $b } map { $_->{pid} } @w], [$f->worker_pids],
          'worker pids are the master\'s children');
for my $w (@w) {
    is($w->{state}, 'running', "slot $w->{slot} running");
    for my $k (qw(slot state pid generation started_ms uptime_ms heartbeat_ms
                  heartbeat_age_ms restarts exited_ms exit_status active
                  reading writing waiting accepted handled requests bytes_in
                  bytes_out rss dispatched)) {
        ok(exists $w->{$k}, "worker field $k");
    }
    cmp_ok($w->{rss}, '>', 0, "slot $w->{slot} rss is known");
    cmp_ok($w->{heartbeat_age_ms}, '<', 5000, "slot $w->{slot} heartbeat fresh");
}

is(scalar @{ $j->{upstreams} }, 1, 'one upstream');
is($j->{upstreams}[0]{name}, 'app', 'upstream name');
my @s = servers($j);
is_deeply([map { $_->{server} } @s],
          ["127.0.0.1:" . $f->port(1), "127.0.0.1:" . $f->port(2)],
          'upstream servers in configuration order');
for my $s (@s) {
    for my $k (qw(server state weight active requests responses failures
                  retries bytes_in bytes_out health_check response_time_ms)) {
        ok(exists $s->{$k}, "server field $k");
    }
    is_deeply([sort keys %{ $s->{responses} }], [qw(1xx 2xx 3xx 4xx 5xx)],
              'responses by class');
    is($s->{state}, 'up', "$s->{server} up");
    is(scalar @{ $s->{response_time_ms}{buckets} }, 16, '16 buckets');
    is($s->{response_time_ms}{buckets}[-1]{le}, undef, 'last bucket is +Inf');
}

# ---- counters move by exactly the requests sent ----

my $N = 10;
my ($j1) = get_json();
my $ok = 0;
for (1 .. $N) {
    my $x = http_get($port, "/p$_");
    $ok++ if ($x->{status} // 0) == 200 && $x->{body} =~ /^(one|two)\n$/;
}
is($ok, $N, "$N proxied requests answered");
my ($c2, $polls) = settled('/status?format=json', \&json_body);
ok($c2, "JSON with only itself in flight, after $polls fetches");
my $j2 = $c2->{json} // {};

# j1 and every fetch before j2 are answered and counted before j2
is(worker_requests($j2) - worker_requests($j1), $N + $polls,
   'workers\' requests moved by exactly N + the status requests');
is($j2->{requests} - $j1->{requests}, $N + $polls, 'total requests too');
my @s1 = servers($j1);
my @s2 = servers($j2);
is(sum(map { $_->{requests} } @s2) - sum(map { $_->{requests} } @s1), $N,
   'upstream servers\' requests moved by exactly N');
is(sum(map { $_->{responses}{'2xx'} } @s2)
   - sum(map { $_->{responses}{'2xx'} } @s1), $N, '2xx moved by exactly N');
is($s2[$_]{requests} - $s1[$_]{requests}, $N / 2,
   "round robin: server $_ got N/2") for 0 .. 1;
is($s2[$_]{response_time_ms}{count} - $s1[$_]{response_time_ms}{count},
   $N / 2, "server $_ histogram counted N/2") for 0 .. 1;
is(sum(map { $_->{count} } @{ $s2[$_]{response_time_ms}{buckets} }),
   $s2[$_]{response_time_ms}{count}, "server $_ buckets add up to count")
    for 0 .. 1;
# connections: N, the fetches, j2's own (set up before it was rendered)
is($j2->{connections}{handled} - $j1->{connections}{handled}, $N + $polls,
   'handled moved by N + the status requests after j1');
is($j2->{connections}{accepted} - $j1->{connections}{accepted}, $N + $polls,
   'accepted moved by N + the status requests after j1');
is($j2->{connections}{writing}, 1, 'writing: only this status request');
is($j2->{connections}{reading}, 0, 'reading: none');

# ---- stub_status, line by line ----

# j3 settles too: the last fetch before it may still be writing (it is
# counted in "requests" a moment after its client has read it).
my ($j3s) = settled('/status?format=json', \&json_body);
ok($j3s, 'JSON with only itself in flight');
my $j3 = $j3s->{json};
my ($stub, $spolls) = settled('/basic_status', sub {
    $_[0] =~ /Reading: (\d+) Writing: (\d+)/
        ? { reading => $1, writing => $2 } : undef;
});
ok($stub, "stub_status with only itself in flight, after $spolls fetches");
$r = $stub->{res} // {};
is($r->{status}, 200, 'stub_status 200');
is($r->{headers}{'content-type'}, 'text/plain', 'stub_status text/plain');
my @l = split /(?<=\n)/, $r->{body};
is(scalar @l, 4, 'stub_status has four lines');
like($l[0], qr/^Active connections: \d+ \n\z/, 'line 1: Active connections');
is($l[1], "server accepts handled requests\n", 'line 2: header');
like($l[2], qr/^ \d+ \d+ \d+ \n\z/, 'line 3: accepts handled requests');
like($l[3], qr/^Reading: \d+ Writing: \d+ Waiting: \d+ \n\z/,
     'line 4: Reading Writing Waiting');
my ($active) = $l[0] =~ /(\d+)/;
my ($acc, $hnd, $req) = $l[2] =~ /(\d+) (\d+) (\d+)/;
my ($rd, $wr, $wt) = $l[3] =~ /(\d+)\D+(\d+)\D+(\d+)/;
is($acc, $j3->{connections}{accepted} + $spolls,
   'accepts: one more connection per fetch');
is($hnd, $j3->{connections}{handled} + $spolls,
   'handled: one more connection per fetch');
is($req, $j3->{requests} + $spolls,
   'requests: the JSON request and the fetches before this one');
is($wr, 1, 'Writing: this request');
is($active, $rd + $wr + $wt, 'Active = Reading + Writing + Waiting');

$r = http($port, build_request(method => 'HEAD', path => '/basic_status',
                               headers => [Connection => 'close']),
          head => 1);
is($r->{status}, 200, 'HEAD stub_status 200');
$r = http($port, build_request(method => 'POST', path => '/basic_status',
                               body => 'x', headers => [Connection => 'close']));
is($r->{status}, 405, 'POST stub_status 405');

# A response made at once (no upstream) to the second request of a
# keep-alive connection once listed the connection as idle twice; the
# freed connection stayed in the list (use after free at the next
# keep-alive).  The stop check below sees any crash.
my ($ka) = http_keepalive($port, [map { build_request(path => '/basic_status') }
                                  1 .. 3]);
is(scalar(grep { ($_->{status} // 0) == 200 } @$ka), 3,
   'three stub_status requests on one keep-alive connection');
($ka) = http_keepalive($port, [map { build_request(path => '/basic_status') }
                               1 .. 2]);
is(scalar(grep { ($_->{status} // 0) == 200 } @$ka), 2,
   'and again on another one');

# ---- allow / deny ----

is(http_get($port, '/denied')->{status}, 403, 'deny 127.0.0.1: 403');
like(http_get($port, '/denied')->{body}, qr/403 Forbidden/, '403 page');
is(http_get($port, '/first-match')->{status}, 200,
   'allow 127.0.0.0/8 before deny all: allowed');
is(http_get($port, '/cidr-deny')->{status}, 403,
   'deny 127.0.0.0/24 before allow all: denied');
is(http_get($port, '/v6-only')->{status}, 403,
   'allow ::1; deny all: an IPv4 client is denied');
is(http_get($port, '/return-first')->{body}, 'returned',
   'return runs before allow/deny, as in nginx');
is(http_get($port, '/status')->{status}, 200, 'no rules: allowed');

# ---- format selection ----

$r = http_get($port, '/status');
like($r->{headers}{'content-type'}, qr{^text/html}, 'HTML by default');
like($r->{body}, qr/<table id="workers">/, 'HTML has the workers table');
unlike($r->{body}, qr{<(?:link|img)\b|src=|https?://}i,
       'HTML is self-contained (no external assets)');
$r = http_get($port, '/status', Accept => 'application/json');
ok(eval { JSON::PP->new->decode($r->{body}) }, 'Accept: application/json');
$r = http_get($port, '/status?format=prometheus');
like($r->{headers}{'content-type'}, qr{^text/plain; version=0\.0\.4},
     '?format=prometheus');
$r = http_get($port, '/status', Accept =>
    'application/openmetrics-text;version=1.0.0;q=0.5,text/plain;version=0.0.4;q=0.3');
like($r->{body}, qr/^# HELP ferry_/, 'a Prometheus scraper\'s Accept');
is(http_get($port, '/status?format=yaml')->{status}, 400,
   'unknown format: 400');

# ---- Prometheus ----

my ($prom) = settled('/metrics', sub {
    my %g = $_[0] =~ /^ferry_connections\{state="(\w+)"\} (\d+)$/mg;
    exists $g{writing} ? \%g : undef;
});
ok($prom, '/metrics with only itself in flight');
$r = $prom->{res} // {};
is($r->{status}, 200, '/metrics 200');
my $m = $r->{body} // '';
my $p1 = $f->port(1);
for my $re (qr/^ferry_requests_total \d+$/m,
            qr/^ferry_worker_requests_total\{worker="0"\} \d+$/m,
            qr/^ferry_worker_state\{worker="1",state="running"\} 1$/m,
            qr/^ferry_connections\{state="writing"\} 1$/m,
            qr/^ferry_upstream_server_requests_total\{upstream="app",server="127\.0\.0\.1:$p1"\} \d+$/m,
            qr/^ferry_upstream_server_responses_total\{upstream="app",server="127\.0\.0\.1:$p1",code="2xx"\} \d+$/m,
            qr/^ferry_upstream_server_response_time_seconds_bucket\{upstream="app",server="127\.0\.0\.1:$p1",le="\+Inf"\} \d+$/m,
            qr/^ferry_upstream_server_response_time_seconds_count\{.*\} \d+$/m,
            qr/^ferry_upstream_server_response_time_seconds_sum\{.*\} [\d.]+$/m,
            qr/^# TYPE ferry_upstream_server_response_time_seconds histogram$/m)
{
    like($m, $re, "metrics: $re");
}
my %help = map { $_ => 1 } $m =~ /^# HELP (\S+)/mg;
my %seen;
for my $line (grep { !/^#/ } split /\n/, $m) {
    my ($name) = $line =~ /^([a-z_]+)/;
    $name =~ s/_(?:bucket|sum|count)$// unless $help{$name};
    $seen{$name}++;
}
is_deeply([grep { !$help{$_} } sort keys %seen], [],
          'every metric has HELP and TYPE');
is_deeply([grep { !/^ferry_/ } sort keys %seen], [], 'every metric ferry_');

SKIP: {
    skip $no_promtool, 1 if $no_promtool;
    my $file = $f->write_file('metrics.txt', $m);
    my $out = `promtool check metrics < '$file' 2>&1`;
    is($?, 0, 'promtool check metrics passes') or diag($out);
}

# ---- the dashboard in a browser ----

SKIP: {
    skip $no_chromium, 7 if $no_chromium;

    my $profile = File::Temp::tempdir('ferry-chromium-XXXXXX', TMPDIR => 1,
                                      CLEANUP => 1);
    my @chromium = ('timeout', '40', 'chromium', '--headless', '--no-sandbox',
        '--disable-gpu', '--disable-dev-shm-usage', '--no-first-run',
        '--disable-background-networking', '--disable-component-update',
        '--disable-sync', "--user-data-dir=$profile",
        '--virtual-time-budget=3000');
    my $url = "http://127.0.0.1:$port/status";

    my $dom = `@chromium --dump-dom $url 2>/dev/null`;
    like($dom, qr/<tr class="worker" data-slot="0">/, 'rendered: worker 0');
    like($dom, qr/<tr class="worker" data-slot="1">/, 'rendered: worker 1');
    for my $n (1, 2) {
        my $a = '127.0.0.1:' . $f->port($n);
        like($dom, qr/<tr class="server" data-server="\Q$a\E">/,
             "rendered: upstream server $a");
    }
    my ($pid) = $f->worker_pids;
    like($dom, qr/<td>$pid<\/td>/, 'rendered: a worker\'s pid');
    like($dom, qr/class="pill s-running">running</, 'rendered: state');

    my $png = $f->prefix . '/status.png';
    system("@chromium --window-size=1280,900 --screenshot=$png $url"
           . " > /dev/null 2>&1");
    ok(-s $png && -s $png > 10000, "screenshot written to $png");
}

# ---- a killed worker: shown truthfully, counters survive ----

my ($before) = get_json();
my ($victim) = grep { $_->{slot} == 0 } @{ $before->{workers} };
kill 'KILL', $victim->{pid};
my $after;
wait_until {
    ($after) = JSON::PP->new->decode(
        http_get($port, '/status?format=json')->{body} // '{}');
    my ($w0) = grep { $_->{slot} == 0 } @{ $after->{workers} // [] };
    $w0 && $w0->{restarts} == $victim->{restarts} + 1
        && $w0->{state} eq 'running' && $w0->{pid}
        && $w0->{pid} != $victim->{pid};
} 10;
my ($w0) = grep { $_->{slot} == 0 } @{ $after->{workers} };
is($w0->{restarts}, $victim->{restarts} + 1, 'killed worker: restarts + 1');
isnt($w0->{pid}, $victim->{pid}, 'killed worker: a new pid');
cmp_ok($w0->{requests}, '>=', $victim->{requests},
       'killed worker: the slot\'s request counter survives');
ok($w0->{exited_ms} && defined $w0->{exit_status},
   'killed worker: exit time and status shown');
$f->allow_log(qr/exited on signal 9/);

$f->stop;
done_testing;
