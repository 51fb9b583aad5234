#!/usr/bin/perl

# Vary in the proxy cache, as nginx has it: a response with Vary is
# kept with the request's values of the names it lists; a request with
# other values is not answered from it (MISS) but from its own variant,
# looked up and stored under the variant's MD5 (nginx's secondary key),
# so the variants of Accept-Encoding each get their entry and HITs; the
# HIT carries the stored Vary; names compare without case; a Vary of
# two names; Vary: * is never kept (also among other names);
# proxy_ignore_headers Vary keeps one entry for all; an upstream that
# stops varying replaces the entry under the key.
#
# Fails on a ferry that keeps no response with Vary (every request a
# MISS).

use strict;
use warnings;

use Test::More;
use Ferry::Test;
use File::Find ();

sub handler {
    my ($req) = @_;
    my %h;
    for (@{ $req->{headers} }) {
        my $n = lc $_->[0];
        $h{$n} = defined $h{$n} ? "$h{$n},$_->[1]" : $_->[1];
    }
    my $u = $req->{uri};
    # X-No-Vary: the upstream stops varying (the backend is a process
    # of its own: told by the request)
    my $vary = $h{'x-no-vary'} ? '' : ($u =~ m{^/two} ? 'Accept-Encoding, Accept-Language'
                              : $u =~ m{^/star} ? 'Accept-Encoding, *'
                              : 'Accept-Encoding');
    my $body = "$u ae=" . ($h{'accept-encoding'} // '-')
             . " al=" . ($h{'accept-language'} // '-') . "\n";
    return { status => 200, body => $body,
             headers => ['Content-Type' => 'text/plain',
                         ($vary eq '' ? () : ('Vary' => $vary))] };
}

my $f = Ferry::Test->new(conf => main_conf() . <<'EOF');
worker_processes 1;
events { worker_connections 64; }
http {
    proxy_cache_path cache levels=1:2 keys_zone=one:1m;
    upstream app { server 127.0.0.1:%%PORT_1%%; }
    server {
        listen 127.0.0.1:%%PORT_0%%;
        add_header X-Cache $upstream_cache_status always;
        proxy_cache one;
        proxy_cache_valid 200 10m;
        location / {
            proxy_pass http://app;
        }
        location /ign {
            proxy_pass http://app;
            proxy_ignore_headers Vary;
        }
    }
}
EOF

my $b = Ferry::Test::Backend->new(port => $f->port(1), handler => \&handler);
$f->start or BAIL_OUT('ferry did not start');
my $port = $f->port(0);

sub hits {
    my ($path) = @_;
    return scalar grep { $_ eq "GET $path" } $b->request_lines;
}

# GET $path with the fields given: "X-Cache body" (body without its
# newline)
sub get {
    my ($path, @h) = @_;
    my $r = http_get($port, $path, @h);
    chomp(my $body = $r->{body} // '');
    return ($r->{headers}{'x-cache'} // '') . " $body";
}

# ---- the variants of Accept-Encoding ----
is(get('/v', 'Accept-Encoding' => 'gzip'), 'MISS /v ae=gzip al=-',
   'gzip: MISS');
is(get('/v', 'Accept-Encoding' => 'gzip'), 'HIT /v ae=gzip al=-',
   'gzip again: HIT (a response with Vary is kept)');
is(get('/v'), 'MISS /v ae=- al=-',
   'no Accept-Encoding: MISS, not the gzip variant');
is(get('/v'), 'HIT /v ae=- al=-',
   'no Accept-Encoding again: HIT, its own variant');
is(get('/v', 'Accept-Encoding' => 'gzip'), 'HIT /v ae=gzip al=-',
   'gzip once more: still HIT (both variants kept)');
is(get('/v', 'Accept-Encoding' => 'br'), 'MISS /v ae=br al=-',
   'br: MISS');
is(get('/v', 'Accept-Encoding' => 'br'), 'HIT /v ae=br al=-', 'br: HIT');
is(hits('/v'), 3, 'the backend asked once per variant');
{
    my $r = http_get($port, '/v', 'Accept-Encoding' => 'gzip');
    is($r->{headers}{vary}, 'Accept-Encoding', 'the HIT has the stored Vary');
}
is(get('/v', 'accept-encoding' => 'gzip'), 'HIT /v ae=gzip al=-',
   'a field name in another case: the same variant');

# the entries are files: three for /v (the key's and two variants')
{
    my $n = 0;
    File::Find::find(sub { $n++ if -f $_ && /^[0-9a-f]{32}$/ },
                     $f->prefix . '/cache');
    is($n, 3, 'three files: the key\'s entry and two variants\'');
}

# ---- two names ----
is(get('/two', 'Accept-Encoding' => 'gzip', 'Accept-Language' => 'en'),
   'MISS /two ae=gzip al=en', 'two names: MISS');
is(get('/two', 'Accept-Encoding' => 'gzip', 'Accept-Language' => 'en'),
   'HIT /two ae=gzip al=en', 'two names, the same values: HIT');
is(get('/two', 'Accept-Encoding' => 'gzip', 'Accept-Language' => 'de'),
   'MISS /two ae=gzip al=de', 'two names, another language: MISS');
is(get('/two', 'Accept-Encoding' => 'gzip', 'Accept-Language' => 'de',
       'User-Agent' => 'other'),
   'HIT /two ae=gzip al=de', 'a field not named by Vary: no matter');

# ---- Vary: * never ----
is(get('/star'), 'MISS /star ae=- al=-', 'Vary with *: MISS');
is(get('/star'), 'MISS /star ae=- al=-', 'Vary with *: never kept');

# ---- proxy_ignore_headers Vary: one entry for all ----
is(get('/ign', 'Accept-Encoding' => 'gzip'), 'MISS /ign ae=gzip al=-',
   'Vary ignored: MISS');
is(get('/ign'), 'HIT /ign ae=gzip al=-',
   'Vary ignored: another Accept-Encoding gets the entry');

# ---- the upstream stops varying: the entry under the key replaced ----
is(get('/chg', 'Accept-Encoding' => 'gzip'), 'MISS /chg ae=gzip al=-',
   'varying: MISS');
is(get('/chg', 'X-No-Vary' => 1), 'MISS /chg ae=- al=-',
   'another variant: MISS, answered without Vary');
is(get('/chg', 'Accept-Encoding' => 'br'), 'HIT /chg ae=- al=-',
   'its response had no Vary: it replaced the key\'s entry, all get it');

$f->stop;
done_testing;
