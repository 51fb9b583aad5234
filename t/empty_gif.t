#!/usr/bin/perl

# empty_gif: the 43-byte transparent GIF nginx sends (byte for byte),
# 200 image/gif with nginx's Last-Modified; HEAD; other methods 405; no
# Range served; the conditional requests as nginx answers them (checked
# against nginx 1.22): If-Modified-Since (exact, if_modified_since off
# and before), If-None-Match, If-Match, If-Unmodified-Since; "expires
# modified" counts from its date; error_page to it keeps the error's
# status; configuration errors with file and line.
#
# Every test needs the empty_gif directive, so each fails without it
# (the configuration is refused: unknown directive).

use strict;
use warnings;

use Test::More;
use Ferry::Test;

my $f = Ferry::Test->new(conf => main_conf() . <<'EOF2');
worker_processes 1;
events { worker_connections 64; }
http {
    server {
        listen 127.0.0.1:%%PORT_0%%;
        location = /_.gif { empty_gif; }
        location = /off.gif { empty_gif; if_modified_since off; }
        location = /before.gif { empty_gif; if_modified_since before; }
        location = /exp.gif { empty_gif; expires modified +1h; }
        error_page 404 /_.gif;
    }
}
EOF2

$f->start;

my $gif = pack('H*', '47494638396101000100800100000000ffffff21f904010000'
                     . '01002c00000000010001000002024c01003b');
my $lm = 'Mon, 28 Sep 1970 06:00:00 GMT';
my $port = $f->port(0);

my $r = http_get($port, '/_.gif');
is($r->{status}, 200, 'GET: 200');
is($r->{body}, $gif, 'nginx\'s 43 bytes');
is($r->{headers}{'content-type'}, 'image/gif', 'image/gif');
is($r->{headers}{'content-length'}, 43, 'its length');
is($r->{headers}{'last-modified'}, $lm, 'nginx\'s Last-Modified');
ok(!exists $r->{headers}{'accept-ranges'}, 'no Accept-Ranges');
ok(!exists $r->{headers}{etag}, 'no ETag');

$r = http($port, build_request(method => 'HEAD', path => '/_.gif',
                               headers => [Connection => 'close']),
          head => 1);
is($r->{status}, 200, 'HEAD: 200');
is($r->{headers}{'content-length'}, 43, '... the GIF\'s length');
is($r->{body}, '', '... no body');

$r = http($port, build_request(method => 'POST', path => '/_.gif', body => 'x',
                               headers => [Connection => 'close']));
is($r->{status}, 405, 'POST: 405');

$r = http_get($port, '/_.gif', Range => 'bytes=0-5');
is($r->{status}, 200, 'a Range: the whole GIF, 200');
is($r->{body}, $gif, '... all 43 bytes');

sub cond {
    my ($path, @h) = @_;
    my $r = http_get($port, $path, @h);
    return $r->{status} . ($r->{status} == 304
                           ? ' ' . ($r->{headers}{'last-modified'} // '-')
                             . ' ' . ($r->{headers}{'content-type'} // '-')
                             . ' [' . $r->{body} . ']'
                           : '');
}

is(cond('/_.gif', 'If-Modified-Since' => $lm), "304 $lm - []",
   'If-Modified-Since its date: 304 with Last-Modified');
is(cond('/_.gif', 'If-Modified-Since' => 'Mon, 28 Sep 1970 06:00:01 GMT'),
   200, 'If-Modified-Since another date: 200');
is(cond('/off.gif', 'If-Modified-Since' => $lm), 200,
   'if_modified_since off: 200');
is(cond('/before.gif', 'If-Modified-Since' => 'Tue, 29 Sep 1970 00:00:00 GMT'),
   "304 $lm - []", 'if_modified_since before, a later date: 304');
is(cond('/_.gif', 'If-Modified-Since' => 'Tue, 29 Sep 1970 00:00:00 GMT'),
   200, '... 200 with the exact comparison');
is(cond('/_.gif', 'If-None-Match' => '*'), "304 $lm - []",
   'If-None-Match "*": 304');
is(cond('/_.gif', 'If-None-Match' => '"x"'), 200,
   'If-None-Match a tag: 200 (no ETag to match)');
is(cond('/_.gif', 'If-None-Match' => '"x"', 'If-Modified-Since' => $lm), 200,
   'If-None-Match wins over If-Modified-Since');
is(cond('/_.gif', 'If-Match' => '*'), 200, 'If-Match "*": 200');
is(cond('/_.gif', 'If-Match' => '"x"'), 412, 'If-Match a tag: 412');
is(cond('/_.gif', 'If-Unmodified-Since' => $lm), 200,
   'If-Unmodified-Since its date: 200');
is(cond('/_.gif', 'If-Unmodified-Since' => 'Mon, 28 Sep 1970 05:00:00 GMT'),
   412, 'If-Unmodified-Since before: 412');
is(cond('/_.gif', 'If-Unmodified-Since' => 'garbage'), 412,
   'If-Unmodified-Since not a date: 412');

$r = http_get($port, '/exp.gif');
is($r->{headers}{expires}, 'Mon, 28 Sep 1970 07:00:00 GMT',
   'expires modified +1h: from its date');
is($r->{headers}{'cache-control'}, 'no-cache', '... in the past: no-cache');

$r = http_get($port, '/missing', 'If-Modified-Since' => $lm);
is($r->{status}, 404, 'error_page 404 to it: still 404');
is($r->{body}, $gif, '... with the GIF');
ok(!exists $r->{headers}{'last-modified'}, '... and no Last-Modified');

$f->stop;

server_conf_refused('location /a { empty_gif; empty_gif; }',
                    '"empty_gif" directive is duplicate in \S+ferry.conf:8',
                    'twice');
server_conf_refused('location /a { empty_gif on; }',
                    'invalid number of arguments in "empty_gif" directive '
                    . 'in \S+ferry.conf:8', 'an argument');
server_conf_refused('empty_gif;',
                    '"empty_gif" directive is not allowed here in '
                    . '\S+ferry.conf:8', 'in a server');

done_testing;
