#!/usr/bin/perl

# nginx's flv module: in a location with "flv", "?start=N" sends the
# 13-byte FLV header and then the file from byte N, with the
# Content-Length of that, Range on that body as nginx; start absent, 0,
# not digits or not below the file's size: the file as it is; HEAD; the
# directive is not inherited by a nested location; only in a location
# (file and line).
#
# Every request test fails without flv (the configuration is refused:
# "unknown directive").

use strict;
use warnings;

use Test::More;
use Ferry::Test;

my $f = Ferry::Test->new(conf => main_conf() . <<'EOF');
worker_processes 1;
events { worker_connections 64; }
http {
    types { video/x-flv flv; }
    server {
        listen 127.0.0.1:%%PORT_0%%;
        root html;
        location /v/ {
            flv;
            location /v/plain/ { }
        }
        location /tr/ { flv; add_trailer X-T "t"; }
    }
}
EOF

my $hdr = "FLV\x01\x05\x00\x00\x00\x09\x00\x00\x00\x00";
my $file = join '', map { chr($_ % 256) } 0 .. 999;
$f->write_file('html/v/a.flv', $file);
$f->write_file('html/v/plain/a.flv', $file);
$f->write_file('html/tr/a.flv', $file);
$f->start;
my $port = $f->port(0);

my $r = http_get($port, '/v/a.flv?start=100');
is($r->{status}, 200, 'start=100: 200');
ok($r->{body} eq $hdr . substr($file, 100), '... the FLV header, then the '
   . 'file from byte 100');
is($r->{headers}{'content-length'}, 13 + 900, '... its Content-Length');
is($r->{headers}{'content-type'}, 'video/x-flv', '... the file\'s type');
is($r->{headers}{'accept-ranges'}, 'bytes', '... Accept-Ranges, as nginx');

$r = http_get($port, '/v/a.flv?x=1&start=999&y=2');
ok($r->{body} eq $hdr . substr($file, 999), 'start among other arguments, '
   . 'the last byte');

# Range applies to the body made, as nginx: header and file as one
my $made = $hdr . substr($file, 100);
for my $range ('0-9', '0-12', '10-19', '13-20', '900-', '-5', '0-')
{
    my ($a, $b) = split /-/, $range, 2;
    my ($from, $to) = $a eq '' ? (913 - $b, 912)
                                : ($a, $b eq '' ? 912 : $b);
    $r = http_get($port, '/v/a.flv?start=100', Range => "bytes=$range");
    ok($r->{status} == 206 && $r->{body} eq substr($made, $from,
                                                   $to - $from + 1)
       && $r->{headers}{'content-range'} eq "bytes $from-$to/913"
       && $r->{headers}{'content-length'} == $to - $from + 1,
       "start with Range bytes=$range: 206, those bytes of the header and "
       . 'the file');
}
$r = http_get($port, '/v/a.flv?start=100', Range => 'bytes=913-');
is($r->{status}, 416, 'a Range past the made body: 416');
is($r->{headers}{'content-range'}, 'bytes */913', '... with its size');

for my $q ('', '?start=0', '?start=abc', '?start=10x', '?start=-5',
           '?start=', '?start=1000', '?start=5000',
           '?start=99999999999999999999999', '?other=1')
{
    $r = http_get($port, "/v/a.flv$q");
    ok($r->{status} == 200 && $r->{body} eq $file
       && $r->{headers}{'content-length'} == 1000,
       "\"$q\": the file as it is");
}

$r = http_get($port, '/v/a.flv?start=abc', Range => 'bytes=0-9');
is($r->{status}, 206, 'a start ignored: Range as for any file');
ok($r->{body} eq substr($file, 0, 10), '... its bytes');

$r = http($port, "HEAD /v/a.flv?start=500 HTTP/1.1\r\nHost: x\r\n"
                 . "Connection: close\r\n\r\n", head => 1);
is($r->{status}, 200, 'HEAD with start: 200');
is($r->{headers}{'content-length'}, 513, '... the Content-Length of the '
   . 'body GET would have');
is($r->{body} // '', '', '... no body');

$r = http_get($port, '/v/plain/a.flv?start=100');
ok($r->{body} eq $file, 'a nested location without flv: the file as it is');

# add_trailer: the header and the file's part in one chunk, then the
# trailer
$r = http_get($port, '/tr/a.flv?start=990');
my ($head, $rest) = split /\r\n\r\n/, $r->{raw} // '', 2;
like($head, qr/^transfer-encoding: chunked\r?$/mi, 'add_trailer: chunked');
is($rest, sprintf("%x\r\n", 23) . $hdr . substr($file, 990)
          . "\r\n0\r\nX-T: t\r\n\r\n", '... one chunk with the FLV header '
          . 'and the file from 990, then the trailer');

$f->stop;

http_conf_refused('flv;', '"flv" directive is not allowed here in '
                  . '.*ferry\.conf:\d+', 'flv in http');
server_conf_refused('location / { flv on; }', 'invalid number of arguments '
                    . 'in "flv" directive in .*ferry\.conf:\d+',
                    'flv with an argument');

done_testing;
