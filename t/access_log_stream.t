#!/usr/bin/perl

# stream access_log with nginx's buffer=, flush=, gzip[=LEVEL] and
# variables in PATH (ngx_stream_log_module): a buffered line is not in
# the file until flush=, a full buffer, SIGUSR1 (into the old file), a
# reload's old worker exiting, or the stop; gzip files read whole with
# gunzip; a file per $server_port; http and stream sharing one buffered
# file; configuration errors with file and line.

use strict;
use warnings;

use Test::More;
use Ferry::Test;
use IO::Uncompress::Gunzip qw(gunzip);
use IO::Socket::INET;

my $f = Ferry::Test->new(conf => main_conf() . <<'EOF');
worker_processes 1;
events { worker_connections 64; }
http {
    log_format h 'http $uri';
    access_log off;
    server {
        listen 127.0.0.1:%%PORT_6%%;
        location / { access_log logs/both.log h buffer=4k; return 200; }
    }
}
stream {
    log_format s '$remote_port $server_port $status $bytes_sent';
    server {
        listen 127.0.0.1:%%PORT_0%%;
        return "fl\n";
        access_log logs/fl.log s buffer=64k flush=3s;
    }
    server {
        listen 127.0.0.1:%%PORT_1%%;
        return "gz\n";
        access_log logs/gz.log.gz s gzip=9;
    }
    server {
        listen 127.0.0.1:%%PORT_2%%;
        return "small\n";
        access_log logs/small.log s buffer=60;
    }
    server {
        listen 127.0.0.1:%%PORT_3%%;
        listen 127.0.0.1:%%PORT_4%%;
        return "var\n";
        access_log logs/port-$server_port.log s;
    }
    server {
        listen 127.0.0.1:%%PORT_5%%;
        return "both\n";
        access_log logs/both.log s buffer=4k;
    }
}
EOF

$f->start or do { done_testing; exit };
my $logs = $f->prefix . '/logs';
my @p = map { $f->port($_) } 0 .. 6;

sub lines_of {
    my $t = Ferry::Test::read_file("$logs/$_[0]") // '';
    return split /\n/, $t;
}
sub gz_lines {
    my $raw = Ferry::Test::read_file("$logs/$_[0]") // '';
    return () if $raw eq '';
    my $out;
    gunzip(\$raw => \$out, MultiStream => 1) or return ('not gzip');
    return split /\n/, $out;
}
sub size_of { -s "$logs/$_[0]" // 0 }

# A session read to its end: the client's port, the first field of its
# line (the start's probe connections are sessions too, with lines of
# their own).
sub sess {
    my ($port) = @_;
    my $s = IO::Socket::INET->new(PeerAddr => "127.0.0.1:$port", Timeout => 5)
        or return 0;
    my $me = $s->sockport;
    local $/;
    my $got = <$s>;
    close $s;
    return $me;
}
# how many of the clients @c have a line among @$lines
sub has {
    my ($lines, @c) = @_;
    my %seen = map { ((split / /)[0] => 1) } @$lines;
    return scalar grep { $seen{$_} } @c;
}

# ---- buffer= flush= ----
my $c = sess($p[0]);
ok($c, 'a session of a buffer=64k flush=3s log');
is(has([lines_of('fl.log')], $c), 0, 'its line is buffered, not in the file');
ok(wait_until(sub { has([lines_of('fl.log')], $c) }, 10), 'written after flush=');
is((grep { /^$c / } lines_of('fl.log'))[0], "$c $p[0] 200 3", '... the line');

# ---- a full buffer ----
my @c = map { sess($p[2]) } 1 .. 7;
# "CLIENT PORT 200 6\n" is at most 18 bytes: 60 bytes hold three
ok(wait_until(sub { has([lines_of('small.log')], @c) }, 5),
   'buffer=60 full: written without a flush=');
my @small = lines_of('small.log');
ok(has(\@small, @c) < 7, '... not the last line');
is(scalar(grep { /^\d+ $p[2] 200 6$/ } @small), scalar(@small),
   '... whole lines (' . @small . ')');

# ---- variables in PATH: a file per port ----
my $c3 = sess($p[3]);
my @c4 = map { sess($p[4]) } 1 .. 2;
ok(wait_until(sub { has([lines_of("port-$p[4].log")], @c4) == 2 }, 5),
   'a $server_port log: the second port\'s file has its two sessions');
is((grep { /^$c3 / } lines_of("port-$p[3].log"))[0], "$c3 $p[3] 200 4",
   'the first port\'s file its one');
is(has([lines_of("port-$p[3].log")], @c4), 0, '... and not the others');

# ---- gzip: no flush=, only on reopen, reload and stop ----
my @g = map { sess($p[1]) } 1 .. 3;
$c = sess($p[0]);
ok(wait_until(sub { has([lines_of('fl.log')], $c) }, 10),
   'the flush=3s log has written its next line');
is(has([gz_lines('gz.log.gz')], @g), 0,
   'the gzip log without flush= has written none');

rename "$logs/gz.log.gz", "$logs/gz.log.gz.1";
kill 'USR1', $f->master_pid;
ok(wait_until(sub { has([gz_lines('gz.log.gz.1')], @g) == 3 }, 5),
   'SIGUSR1: the buffer goes into the old file, gunzipped every line');
is(scalar(grep { /^\d+ $p[1] 200 3$/ } gz_lines('gz.log.gz.1')),
   scalar(() = gz_lines('gz.log.gz.1')), '... whole');
ok(wait_until(sub { -e "$logs/gz.log.gz" }, 5), '... and the name is opened anew');
is(ord(substr(Ferry::Test::read_file("$logs/gz.log.gz.1"), 8, 1)), 2,
   'gzip=9: level 9 in the header');

my @g2 = map { sess($p[1]) } 1 .. 2;
my $c5 = sess($p[5]);
http_get($p[6], '/h');
is(has([gz_lines('gz.log.gz')], @g2), 0, 'the next lines are buffered');
is(has([lines_of('both.log')], $c5, 'http'), 0,
   'http and stream lines to one file: buffered');
my @old = $f->worker_pids;
kill 'HUP', $f->master_pid;
ok(wait_until(sub { has([gz_lines('gz.log.gz')], @g2) == 2 }, 10),
   'reload: the old worker writes its buffer when it exits');
ok(wait_until(sub { has([lines_of('both.log')], $c5, 'http') == 2 }, 5),
   '... the shared file\'s buffer too, with the http and the stream line');
ok(wait_until(sub { my @w = $f->worker_pids; @w == 1 && $w[0] != $old[0] }, 10),
   '... a new worker serves');

my $g3 = sess($p[1]);
$c = sess($p[0]);
$f->stop;
is(has([gz_lines('gz.log.gz')], $g3), 1, 'stop: the gzip buffer written');
is(has([lines_of('fl.log')], $c), 1, 'and the flush= one');

# ---- configuration errors ----
my $srv = "    server {\n        listen 127.0.0.1:%%PORT_0%%;\n"
        . "        return x;\n";
conf_refused("stream {\n    log_format f x;\n$srv"
             . "        access_log logs/\$server_port.log f buffer=4k;\n    }\n}\n",
             qr/buffered logs cannot have variables in name in \S+ferry\.conf:10/,
             'stream: buffer= with variables in the path');
conf_refused("stream {\n    log_format f x;\n$srv"
             . "        access_log syslog:server=127.0.0.1:1 f gzip;\n    }\n}\n",
             qr/logs to syslog cannot be buffered in \S+ferry\.conf:10/,
             'stream: gzip to syslog');
conf_refused("stream {\n    log_format f x;\n$srv"
             . "        access_log logs/a.log f flush=3s;\n    }\n}\n",
             qr/no buffer is defined for access_log "logs\/a\.log" in \S+ferry\.conf:10/,
             'stream: flush= without buffer=');
conf_refused("stream {\n    log_format f x;\n$srv"
             . "        access_log logs/a.log f gzip=a;\n    }\n}\n",
             qr/invalid compression level "a" in \S+ferry\.conf:10/,
             'stream: gzip=a');
conf_refused("stream {\n    log_format f x;\n"
             . "    access_log logs/a.log f buffer=8k;\n$srv"
             . "        access_log logs/a.log f buffer=16k;\n    }\n}\n",
             qr/access_log "\S+logs\/a\.log" already defined with conflicting parameters in \S+ferry\.conf:11/,
             'stream: one path, two buffer sizes');
conf_refused("stream {\n    log_format f x;\n$srv"
             . "        access_log logs/\$nosuch.log f;\n    }\n}\n",
             qr/unknown "nosuch" variable in \S+ferry\.conf:10/,
             'stream: an unknown variable in the path');

done_testing;
