#!/usr/bin/perl

# The proxy cache zones on the status page: after a known sequence of
# requests (MISS, HIT, HIT, BYPASS, MISS, a request not for the cache),
# the JSON's "caches" object and the Prometheus families
# ferry_cache_requests_total, ferry_cache_entries, ferry_cache_size_bytes
# and ferry_cache_max_size_bytes show exactly those numbers, for the zone
# used and zero for the zone not used; promtool accepts the output; the
# numbers survive a reload (they live in the zone's shared memory); the
# dashboard has the caches' table.
#
# Fails without the cache zones on the status page: no "caches" in the
# JSON, no ferry_cache_* metrics.

use strict;
use warnings;

use Test::More;
use Ferry::Test;
use JSON::PP ();

my $f = Ferry::Test->new(conf => main_conf() . <<'EOF');
worker_processes 1;
events { worker_connections 64; }
http {
    proxy_cache_path cache levels=1:2 keys_zone=one:1m max_size=1m;
    proxy_cache_path cache2 keys_zone=two:1m;
    upstream app { server 127.0.0.1:%%PORT_1%%; }
    server {
        listen 127.0.0.1:%%PORT_0%%;
        add_header X-Cache $upstream_cache_status always;
        location / {
            proxy_pass http://app;
            proxy_cache one;
            proxy_cache_valid 200 10m;
            proxy_cache_bypass $arg_nocache;
        }
        location /status { status; }
    }
}
EOF

my $b = Ferry::Test::Backend->new(port => $f->port(1),
    handler => sub { { status => 200, body => "body of $_[0]{uri}\n" } });
$f->start or BAIL_OUT('ferry did not start');
my $port = $f->port(0);

my @seq = (['/a', 'MISS'], ['/a', 'HIT'], ['/a', 'HIT'],
           ['/a?nocache=1', 'BYPASS'], ['/b', 'MISS']);
for my $s (@seq) {
    my $r = http_get($port, $s->[0]);
    is(($r->{headers}{'x-cache'} // '') . ' ' . $r->{body},
       "$s->[1] body of $s->[0]\n", "$s->[0]: $s->[1]");
}
# a POST is not for the cache: no $upstream_cache_status, not counted
my $r = http($port, "POST /p HTTP/1.1\r\nHost: x\r\n"
                     . "Content-Length: 0\r\nConnection: close\r\n\r\n");
is($r->{headers}{'x-cache'} // '', '', 'POST: not for the cache');

sub json {
    my $r = http_get($port, '/status?format=json');
    return eval { JSON::PP->new->decode($r->{body}) } // {};
}

# A request is counted as it ends, a moment after its client may have
# read the answer: wait until all six are in, then compare exactly.
my $j;
ok((wait_until { $j = json(); ($j->{caches}{one}{miss} // 0) == 2
                 && ($j->{caches}{one}{hit} // 0) == 2
                 && ($j->{caches}{one}{bypass} // 0) == 1 } 10),
   'JSON: the counters reach the requests sent');
# three entries: /a, /b, and /a?nocache=1 (a BYPASS is not looked up
# but its response is stored, under its own key), one 1 KiB block each
my %want_one = (entries => 3, size => 3072, max_size => 1048576,
                miss => 2, hit => 2, bypass => 1, expired => 0, stale => 0,
                updating => 0, revalidated => 0);
is_deeply($j->{caches}{one}, \%want_one, 'JSON: zone one exactly')
    or diag(JSON::PP->new->canonical->encode($j->{caches}));
is_deeply($j->{caches}{two},
          { entries => 0, size => 0, max_size => undef, miss => 0, hit => 0,
            bypass => 0, expired => 0, stale => 0, updating => 0,
            revalidated => 0 }, 'JSON: zone two unused, no max_size');
is_deeply([sort keys %{ $j->{caches} }], ['one', 'two'],
          'JSON: one object per keys_zone');

# ---- Prometheus ----
my $m = http_get($port, '/status?format=prometheus')->{body};
my %got;
for my $line (split /\n/, $m) {
    next unless $line =~ /^(ferry_cache_\w+)\{([^}]*)\} (\d+)$/;
    $got{"$1\{$2\}"} = $3;
}
my %want;
for my $st (qw(hit miss expired stale updating revalidated bypass)) {
    $want{"ferry_cache_requests_total{zone=\"one\",cache_status=\"$st\"}"}
        = $want_one{$st};
    $want{"ferry_cache_requests_total{zone=\"two\",cache_status=\"$st\"}"}
        = 0;
}
$want{'ferry_cache_entries{zone="one"}'} = 3;
$want{'ferry_cache_entries{zone="two"}'} = 0;
$want{'ferry_cache_size_bytes{zone="one"}'} = 3072;
$want{'ferry_cache_size_bytes{zone="two"}'} = 0;
$want{'ferry_cache_max_size_bytes{zone="one"}'} = 1048576;
is_deeply(\%got, \%want, 'Prometheus: every ferry_cache_ sample exactly')
    or diag($m);
for my $fam (qw(cache_requests_total cache_entries cache_size_bytes
                cache_max_size_bytes))
{
    like($m, qr/^# HELP ferry_$fam .+\n# TYPE ferry_$fam /m,
         "Prometheus: $fam has HELP and TYPE");
}
SKIP: {
    skip 'no promtool', 1
        unless system('command -v promtool > /dev/null 2>&1') == 0;
    my $file = $f->write_file('metrics.txt', $m);
    my $out = `promtool check metrics < '$file' 2>&1`;
    is($?, 0, 'promtool check metrics passes') or diag($out);
}

# ---- the dashboard ----
my $html = http_get($port, '/status', Accept => 'text/html')->{body};
like($html, qr/<div id="caches">/, 'HTML: the caches\' place');
like($html, qr/Proxy caches/, 'HTML: the caches\' table');

# ---- a reload keeps the zone and its numbers ----
{
    my $n = () = $f->error_log =~ /reload done/g;
    kill 'HUP', $f->master_pid;
    ok((wait_until { (() = $f->error_log =~ /reload done/g) > $n } 10),
       'reloaded');
    $r = http_get($port, '/a');
    is($r->{headers}{'x-cache'}, 'HIT', 'after the reload: HIT');
    ok((wait_until { (json()->{caches}{one}{hit} // 0) == 3 } 10),
       'after the reload: the hits go on from 2 to 3');
    $j = json();
    is($j->{caches}{one}{miss} . ' ' . $j->{caches}{one}{entries},
       '2 3', 'after the reload: misses and entries kept');
}

$f->stop;
done_testing;
