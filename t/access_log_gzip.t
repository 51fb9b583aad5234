#!/usr/bin/perl

# access_log ... gzip[=LEVEL] (nginx's ngx_http_log_module): lines are
# buffered (64K unless buffer= says) and each buffer is written as one
# whole gzip member, so the file is read by gunzip/zcat at any time:
# written on flush=, when the buffer is full (a line bigger than the
# buffer alone), on SIGUSR1 into the old file before the reopen, when
# a reload's old worker exits and when ferry stops; the level in each
# member's header; two access_log of one path share one buffer;
# configuration errors with file and line.

use strict;
use warnings;

use Test::More;
use Ferry::Test;
use IO::Uncompress::Gunzip qw(gunzip $GunzipError);

my $f = Ferry::Test->new(conf => main_conf() . <<'EOF');
worker_processes 1;
events { worker_connections 64; }
http {
    log_format plain '$uri $status';
    access_log off;
    server {
        listen 127.0.0.1:%%PORT_0%%;
        location /fl/   { access_log logs/fl.log.gz plain gzip flush=3s;
                          return 200 "f"; }
        location /keep/ { access_log logs/keep.log.gz plain gzip;
                          return 200 "k"; }
        location /small/ { access_log logs/small.log.gz plain gzip=9
                                      buffer=200;
                           return 200 "s"; }
        location /one/  { access_log logs/shared.gz plain gzip=5; return 200; }
        location /two/  { access_log logs/shared.gz plain gzip=5; return 200; }
    }
}
EOF

$f->start or do { done_testing; exit };
my $port = $f->port(0);
my $logs = $f->prefix . '/logs';

# the lines of a gzip file (all its members), undef when it is no
# whole gzip data
sub gz_lines {
    my ($name) = @_;
    my $raw = Ferry::Test::read_file("$logs/$name") // '';
    return () if $raw eq '';
    my $out;
    gunzip(\$raw => \$out, MultiStream => 1) or return undef;
    return split /\n/, $out;
}
sub size_of { -s "$logs/$_[0]" // 0 }
sub get { my $r = http_get($port, $_[0]); $r->{status} }

# ---- flush= ----
is(get('/fl/a'), 200, 'a request to a gzip flush=3s log');
is(size_of('fl.log.gz'), 0, 'its line is buffered, not in the file yet');
ok(wait_until(sub { ((gz_lines('fl.log.gz'))[0] // '') eq '/fl/a 200' }, 10),
   'after flush= the file gunzips to the line');
is(substr(Ferry::Test::read_file("$logs/fl.log.gz"), 0, 2), "\x1f\x8b",
   'the file is gzip data');
is(ord(substr(Ferry::Test::read_file("$logs/fl.log.gz"), 8, 1)), 4,
   'gzip without a level: level 1 (XFL "fastest")');
my $zcat = `zcat $logs/fl.log.gz 2>&1`;
is($zcat, "/fl/a 200\n", 'zcat reads it');

# ---- a full buffer (buffer=200) is written, whole lines ----
get('/small/' . ('x' x 40) . $_) for 1 .. 8;
ok(wait_until(sub { size_of('small.log.gz') > 0 }, 5),
   'buffer=200 full: written without a flush=');
my @small = gz_lines('small.log.gz');
ok(@small >= 4 && @small < 8, 'the lines that filled it, whole (' . @small . ')');
is(scalar(grep { m{^/small/x{40}\d 200$} } @small), scalar(@small),
   '... each line intact');
is(ord(substr(Ferry::Test::read_file("$logs/small.log.gz"), 8, 1)), 2,
   'gzip=9: level 9 (XFL "best")');
my $before = size_of('small.log.gz');
get('/small/' . ('y' x 300));
ok(wait_until(sub { grep { /y{300}/ } gz_lines('small.log.gz') }, 5),
   'a line bigger than the buffer goes out at once, alone');

# ---- no flush=: only on reopen, reload and stop ----
get("/keep/$_") for 1 .. 3;
get("/fl/b");
ok(wait_until(sub { grep { $_ eq '/fl/b 200' } gz_lines('fl.log.gz') }, 10),
   'the flush=3s log has written its next line');
is(size_of('keep.log.gz'), 0, 'the log without flush= has written nothing');

rename "$logs/keep.log.gz", "$logs/keep.log.gz.1";
kill 'USR1', $f->master_pid;
ok(wait_until(sub { (() = gz_lines('keep.log.gz.1')) == 3 }, 5),
   'SIGUSR1: the buffer goes into the old file');
is(join(',', gz_lines('keep.log.gz.1')), '/keep/1 200,/keep/2 200,/keep/3 200',
   '... every line, in order');
ok(wait_until(sub { -e "$logs/keep.log.gz" }, 5), '... and the name is opened anew');

get("/keep/$_") for 4 .. 5;
get("/one/$_") for 1 .. 2;
get("/two/$_") for 1 .. 2;
is(size_of('keep.log.gz'), 0, 'the next lines are buffered');
my @old = $f->worker_pids;
kill 'HUP', $f->master_pid;
ok(wait_until(sub { (() = gz_lines('keep.log.gz')) == 2 }, 10),
   'reload: the old worker writes its buffer when it exits');
ok(wait_until(sub { my @w = $f->worker_pids; @w == 1 && $w[0] != $old[0] }, 10),
   '... a new worker serves');
is(join(',', sort(gz_lines('shared.gz'))),
   '/one/1 200,/one/2 200,/two/1 200,/two/2 200',
   'two access_log of one path: one buffer, every line');

get("/keep/$_") for 6 .. 7;
$f->stop;
is(join(',', gz_lines('keep.log.gz')), join(',', map { "/keep/$_ 200" } 4 .. 7),
   'stop: the rest written; the file of two gzip members reads whole');
my $members = () = Ferry::Test::read_file("$logs/keep.log.gz") =~ /\x1f\x8b\x08/g;
ok($members >= 2, "one member per write ($members)");
is(scalar(gz_lines('keep.log.gz.1')), 3, 'the old file kept its 3 lines');

# ---- configuration errors ----
server_conf_refused('access_log syslog:server=127.0.0.1:1 combined gzip;',
                    qr/logs to syslog cannot be buffered in \S+ferry\.conf:8/,
                    'gzip to syslog');
server_conf_refused('access_log logs/$host.gz combined gzip;',
                    qr/buffered logs cannot have variables in name in \S+ferry\.conf:8/,
                    'gzip with variables in the path');
server_conf_refused('access_log logs/a.gz combined gzip=10;',
                    qr/invalid compression level "10" in \S+ferry\.conf:8/,
                    'gzip=10');
server_conf_refused('access_log logs/a.gz combined gzip=0;',
                    qr/invalid compression level "0" in \S+ferry\.conf:8/,
                    'gzip=0');
server_conf_refused('access_log logs/a.gz combined gzipx;',
                    qr/invalid parameter "gzipx" in \S+ferry\.conf:8/,
                    'gzipx');
server_conf_refused('access_log logs/a.log combined flush=3s;',
                    qr/no buffer is defined for access_log "logs\/a\.log" in \S+ferry\.conf:8/,
                    'flush= without buffer= or gzip');
http_conf_refused("access_log logs/a.gz combined gzip;\n"
                  . "    server {\n        listen 127.0.0.1:%%PORT_0%%;\n"
                  . "        access_log logs/a.gz combined gzip=2;\n    }",
                  qr/access_log "\S+logs\/a\.gz" already defined with conflicting parameters in \S+ferry\.conf:9/,
                  'one path, two gzip levels');

done_testing;
