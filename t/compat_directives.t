#!/usr/bin/perl

# nginx directives ferry takes without an effect, with nginx's value
# checks (fy_http_tuning.c, fy_http_http2.c, fy_core_tuning.c):
# - with a start-up warning naming file and line: postpone_gzipping,
#   proxy_/fastcgi_/uwsgi_/scgi_send_lowat (not for 0), http2_pool_size,
#   http2_streams_index_size, debug_points, debug_connection,
#   ssl_engine, master_process off;
# - quietly (no difference anyone can see): gzip_no_buffer,
#   open_file_cache_events, ssi_ignore_recycled_buffers,
#   master_process on;
# - bad values refused with file and line;
# and subrequest_output_buffer_size, which has one: the most of a
# subrequest's body SSI's "include ... set=" takes (that of the
# subrequest's location, as nginx; default the page size), a bigger one
# an SSI error and an error log line.

use strict;
use warnings;

use Test::More;
use Ferry::Test;

my $f = Ferry::Test->new(conf => main_conf() . <<'EOF');
master_process on;
debug_points abort;
ssl_engine pkcs11;
worker_processes 1;
events {
    worker_connections 64;
    debug_connection 127.0.0.1;
    debug_connection 10.0.0.0/8;
}
http {
    access_log off;
    gzip_no_buffer on;
    postpone_gzipping 1k;
    open_file_cache_events on;
    ssi_ignore_recycled_buffers on;
    proxy_send_lowat 4k;
    fastcgi_send_lowat 0;
    uwsgi_send_lowat 1k;
    scgi_send_lowat 1k;
    http2_pool_size 4k;
    http2_streams_index_size 32;

    server {
        listen 127.0.0.1:%%PORT_0%%;
        root %%PREFIX%%/html;
        ssi on;
        location = /small { return 200 "tiny"; }
        location = /big {
            subrequest_output_buffer_size 16;   # the subrequest's (nginx)
            return 200 "0123456789abcdef0123456789";
        }
    }
}
EOF
$f->write_file('html/page.html',
    '<!--# include virtual="/small" set="a" -->[<!--# echo var="a" -->]');
$f->write_file('html/limited/page.html',
    '<!--# include virtual="/small" set="a" -->[<!--# echo var="a" -->]'
    . '<!--# include virtual="/big" set="b" -->(<!--# echo var="b" -->)');
$f->write_file('html/limited/nolimit.html',
    '<!--# include virtual="/big" -->');

my ($rc, $out) = $f->run('-t');
is($rc, 0, '-t passes with all of them') or diag($out);
my ($l) = $out =~ /"debug_points" has no effect.* in \S+:(\d+)/;
for my $t (['master_process off', 0],
           ['debug_points', 1], ['ssl_engine', 1], ['debug_connection', 1],
           ['postpone_gzipping 1k', 1], ['proxy_send_lowat 4k', 1],
           ['uwsgi_send_lowat 1k', 1], ['scgi_send_lowat 1k', 1])
{
    my ($name, $want) = @$t;
    my $n = () = $out =~ /\[warn\] "\Q$name\E" has no effect in ferry: [^\n]* in \S+:\d+/g;
    if ($want) {
        ok($n >= 1, "a warning for $name, naming file and line") or diag($out);
    } else {
        is($n, 0, "no warning for master_process on");
    }
}
like($out, qr/\[warn\] "debug_connection" has no effect in ferry: .* in \S+:10\n.*"debug_connection" has no effect in ferry: .* in \S+:11/s,
     'debug_connection: one warning per line, each its line');
like($out, qr/ferry speaks HTTP\/1\.1 only; "http2_pool_size" ignored in \S+:\d+/,
     'http2_pool_size: the http2 warning');
like($out, qr/ferry speaks HTTP\/1\.1 only; "http2_streams_index_size" ignored in \S+:\d+/,
     'http2_streams_index_size: the http2 warning');
for my $quiet (qw(gzip_no_buffer open_file_cache_events
                  ssi_ignore_recycled_buffers fastcgi_send_lowat))
{
    unlike($out, qr/"$quiet/, "no warning for $quiet");
}
ok(defined $l, '... (the warnings carry line numbers)');

$f->allow_log(qr/has no effect in ferry|speaks HTTP\/1\.1 only/);
$f->start;
my $port = $f->port(0);

my $r = http_get($port, '/page.html');
is($r->{body}, '[tiny]', 'include set= within the default limit');

$r = http_get($port, '/limited/page.html');
like($r->{body}, qr/^\[tiny\]\[an error occurred while processing the directive\]/,
     'subrequest_output_buffer_size 16 where it answers: a bigger set= body is an SSI error');
ok(wait_until { $f->error_log =~ /\[error\] .*too big subrequest response: 26/ },
   '... logged');

$r = http_get($port, '/limited/nolimit.html');
is($r->{body}, '0123456789abcdef0123456789',
   '... an include without set= is not limited by it (nginx)');

$f->stop;

# bad values: refused with file and line
for my $t (
    ['gzip_no_buffer yes;', 'invalid value "yes" in "gzip_no_buffer" '
     . 'directive, it must be "on" or "off" in \S+:8', 'gzip_no_buffer yes'],
    ['open_file_cache_events 1;', 'invalid value "1" in '
     . '"open_file_cache_events"', 'open_file_cache_events 1'],
    ['ssi_ignore_recycled_buffers x;', 'invalid value "x" in '
     . '"ssi_ignore_recycled_buffers"', 'ssi_ignore_recycled_buffers x'],
    ['postpone_gzipping big;', '"postpone_gzipping" directive invalid '
     . 'value "big" in \S+:8', 'postpone_gzipping big'],
    ['proxy_send_lowat -1;', '"proxy_send_lowat" directive invalid value',
     'proxy_send_lowat -1'],
    ['http2_pool_size 100;', 'the pool size must be no less than 112 in '
     . '\S+:8', 'http2_pool_size 100'],
    ['http2_pool_size 4100;', 'the pool size must be a multiple of 16',
     'http2_pool_size 4100'],
    ['http2_streams_index_size 30;', 'the number must be a power of two '
     . 'in \S+:8', 'http2_streams_index_size 30'],
    ['subrequest_output_buffer_size lots;', 'subrequest_output_buffer_size.* '
     . 'in \S+:8', 'subrequest_output_buffer_size lots'])
{
    server_conf_refused(@$t);
}

for my $t (['debug_points crash;', qr/"debug_points" directive invalid value "crash"/],
           ['master_process maybe;', qr/invalid value "maybe" in "master_process"/],
           ['master_process on; master_process on;', qr/"master_process" directive is duplicate/],
           ['ssl_engine;', qr/invalid number of arguments in "ssl_engine"/],
           ['events { debug_connection; }', qr/invalid number of arguments in "debug_connection"/])
{
    my $g = Ferry::Test->new(conf => main_conf() . "$t->[0]\n"
                             . ($t->[0] =~ /events/ ? '' : "events { }\n"));
    my ($grc, $gout) = $g->run('-t');
    isnt($grc, 0, "refused: $t->[0]");
    like($gout, qr/\[emerg\] $t->[1].* in \S+:\d+/, '... naming it, file and line')
        or diag($gout);
}

done_testing;
