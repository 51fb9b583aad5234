#!/usr/bin/perl

# proxy_cache_background_update on, with proxy_cache_use_stale
# updating: an expired entry answers at once (STALE) -- while the
# backend still holds the update -- and the request then fetches the
# new response into the cache; meanwhile the key's other requests get
# the expired entry (UPDATING) without going up; the kept-alive
# connection of the STALE answer serves its next request after the
# update (a HIT of the new body); a client that leaves after its STALE
# answer does not stop the update; the STALE request is logged as STALE
# with its 200; an update that fails (a 500 not kept) leaves the old
# entry, which answers STALE again; without the directive the expired
# entry's request waits for the upstream (EXPIRED); a bad value is a
# configuration error with file and line.
#
# Fails without proxy_cache_background_update: the directive is
# unknown, so the configuration is refused.

use strict;
use warnings;

use Test::More;
use Ferry::Test;
use Time::HiRes ();

my $f = Ferry::Test->new(conf => main_conf() . <<'EOF');
worker_processes 1;
events { worker_connections 64; }
http {
    log_format cs '$request_uri $upstream_cache_status $status';
    access_log logs/access.log cs;
    proxy_cache_path cache keys_zone=one:1m;
    upstream app { server 127.0.0.1:%%PORT_1%%; }
    server {
        listen 127.0.0.1:%%PORT_0%%;
        add_header X-Cache $upstream_cache_status always;
        proxy_cache one;
        proxy_cache_valid 200 3s;
        location / {
            proxy_pass http://app;
            proxy_cache_use_stale updating;
            proxy_cache_background_update on;
        }
        location /rv/ {
            proxy_pass http://app;
            proxy_cache_use_stale updating;
            proxy_cache_background_update on;
            proxy_cache_revalidate on;
        }
        location /nobg/ {
            proxy_pass http://app;
            proxy_cache_use_stale updating;
        }
    }
}
EOF

my $gate = $f->prefix . '/gate';       # the backend holds /a ...
my $go = $f->prefix . '/go';           # ... until this exists
my $fail = $f->prefix . '/fail';       # the backend answers 500

my $b = Ferry::Test::Backend->new(port => $f->port(1), handler => sub {
    my ($req) = @_;
    return { status => 500, body => "failed\n" } if -e $fail;
    if ($req->{uri} =~ m{^/rv/}) {
        my ($inm) = map { $_->[1] }
                    grep { lc $_->[0] eq 'if-none-match' } @{ $req->{headers} };
        return { status => 304, headers => ['ETag' => '"e1"',
                                            'Cache-Control' => 'max-age=100'] }
            if ($inm // '') eq '"e1"';
        return { status => 200, body => "rv $req->{uri}\n",
                 headers => ['ETag' => '"e1"', 'Cache-Control' => 'max-age=3'] };
    }
    if (-e $gate) {
        my $until = Time::HiRes::time() + 10;
        Time::HiRes::sleep(0.01) while !-e $go && Time::HiRes::time() < $until;
        return { status => 200, body => "new $req->{uri}\n" };
    }
    return { status => 200, body => "old $req->{uri}\n" };
});
$f->start or BAIL_OUT('ferry did not start');
my $port = $f->port(0);

sub hits {
    my ($path) = @_;
    return scalar grep { $_ eq "GET $path" } $b->request_lines;
}

sub get {
    my ($path) = @_;
    my $r = http_get($port, $path);
    return ($r->{headers}{'x-cache'} // '') . ' ' . ($r->{body} // '');
}

sub touch { open my $fh, '>', $_[0] or die "$_[0]: $!"; close $fh }

is(get('/a'), "MISS old /a\n", 'the entry fetched');
is(get('/a'), "HIT old /a\n", 'and fresh for a second');
# entries are valid for 3 s, not 1: on a loaded machine (the files run
# three at a time) more than a second can pass between an update being
# stored and the request that expects its HIT
sleep 4;                                # proxy_cache_valid 200 3s ran out

# ---- STALE at once, the update in the background ----
touch($gate);
my $c = Ferry::Test::Client->new($port);
$c->send("GET /a HTTP/1.1\r\nHost: x\r\n\r\n");
my $r = $c->read_response;
is(($r->{headers}{'x-cache'} // '') . ' ' . ($r->{body} // ''),
   "STALE old /a\n", 'expired: the old entry answers at once (STALE)');
ok(!-e $go, '... while the backend still holds the update');
ok((wait_until { hits('/a') == 2 } 10), 'the update went up');
is(get('/a'), "UPDATING old /a\n",
   'another request meanwhile: the old entry (UPDATING)');
is(hits('/a'), 2, '... without going up');
touch($go);

# the STALE answer's connection goes on once the update is in
$c->send("GET /a HTTP/1.1\r\nHost: x\r\n\r\n");
$r = $c->read_response;
is(($r->{headers}{'x-cache'} // '') . ' ' . ($r->{body} // ''),
   "HIT new /a\n", 'the same connection, next request: a HIT of the update');
$c->close;
is(get('/a'), "HIT new /a\n", 'a new connection: HIT of the new body');
is(hits('/a'), 2, 'the backend asked twice in all');
my $log = $f->prefix . '/logs/access.log';
ok((wait_until { (Ferry::Test::read_file($log) // '') =~ m{^/a STALE 200$}m }
    5), 'the STALE request logged as STALE with its 200');

# ---- the client leaves after its STALE answer: the update goes on ----
unlink $gate, $go;
is(get('/e'), "MISS old /e\n", '/e fetched');
sleep 4;
touch($gate);
$c = Ferry::Test::Client->new($port);
$c->send("GET /e HTTP/1.1\r\nHost: x\r\n\r\n");
$r = $c->read_response;
is(($r->{headers}{'x-cache'} // '') . ' ' . ($r->{body} // ''),
   "STALE old /e\n", 'client leaving: its STALE answer');
ok((wait_until { hits('/e') == 2 } 10), '... the update went up');
$c->close;                              # gone before the update is in
touch($go);
ok((wait_until { get('/e') eq "HIT new /e\n" } 10),
   'the update was stored all the same: HIT of the new body');
is(hits('/e'), 2, '... by that update, not one more');

# ---- an update that fails leaves the old entry ----
unlink $gate, $go;
is(get('/b'), "MISS old /b\n", '/b fetched');
sleep 4;
touch($fail);
is(get('/b'), "STALE old /b\n", 'expired: STALE, its update gets a 500');
ok((wait_until { hits('/b') == 2 } 10), 'the update went up');
ok((wait_until { get('/b') eq "STALE old /b\n" } 10),
   'the 500 not kept: the old entry answers STALE again');
unlink $fail;

# ---- with proxy_cache_revalidate: the update's 304 refreshes it ----
is(get('/rv/d'), "MISS rv /rv/d\n", '/rv/d fetched (max-age=3)');
sleep 4;
is(get('/rv/d'), "STALE rv /rv/d\n",
   'revalidate: expired, STALE at once');
ok((wait_until { hits('/rv/d') == 2 } 10), 'the update asked (a 304)');
ok((wait_until { get('/rv/d') eq "HIT rv /rv/d\n" } 10),
   'the 304 made the entry fresh: HIT');
is(hits('/rv/d'), 2, '... without asking again');

# ---- without the directive: the request waits for the upstream ----
is(get('/nobg/c'), "MISS old /nobg/c\n", '/nobg/c fetched');
sleep 4;
is(get('/nobg/c'), "EXPIRED old /nobg/c\n",
   'background_update off: EXPIRED, the upstream answers');

$f->stop;

http_conf_refused('proxy_cache_background_update maybe;',
                  '"proxy_cache_background_update" .*"on" or "off" in '
                  . '\S+ferry.conf:6', 'a value not on or off');

done_testing;
