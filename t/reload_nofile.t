#!/usr/bin/perl

# The open-files limit after a reload: ferry started with a small soft
# RLIMIT_NOFILE (prlimit) and worker_connections 16 raises it to what
# 16 need (2 x 16 + 64); a reload to worker_connections 400 gives the
# new worker the limit 400 need (864), as a fresh start would, and that
# worker holds 300 client connections at once, each answered (more
# than the old limit allows); a reload adding worker_rlimit_nofile sets
# the new worker's limit to it.  With a hard limit below the need, the
# new worker gets the hard limit and the reload logs a [warn] naming
# both values.

use strict;
use warnings;

use Test::More;
use Ferry::Test;

plan skip_all => 'no prlimit (util-linux)'
    unless grep { -x "$_/prlimit" } split /:/, $ENV{PATH};
my $hard = `sh -c 'ulimit -Hn'`;
chomp $hard;
plan skip_all => "hard open-files limit $hard: 2000 wanted"
    unless $hard eq 'unlimited' || $hard >= 2000;

sub conf {
    my ($wc, $top) = @_;
    $top //= '';
    return main_conf() . <<"EOF";
worker_processes 1;
$top
events { worker_connections $wc; }
http {
    access_log off;
    keepalive_timeout 60s;
    server {
        listen 127.0.0.1:%%PORT_0%%;
        location / { return 200 "ok \$pid"; }
    }
}
EOF
}

# ferry started through prlimit: its soft and hard open-files limits
sub start_limited {
    my ($f, $soft, $hard) = @_;
    my $wrap = $f->prefix . '/ferry-prlimit';
    $f->write_file('ferry-prlimit', "#!/bin/sh\nexec prlimit --nofile=$soft:$hard"
                                    . " -- $Ferry::Test::BINARY \"\$@\"\n");
    chmod 0755, $wrap;
    local $Ferry::Test::BINARY = $wrap;
    return $f->start;
}

# "Max open files" of a process: (soft, hard)
sub nofile {
    my ($pid) = @_;
    my $l = Ferry::Test::read_file("/proc/$pid/limits") // '';
    return $l =~ /^Max open files\s+(\S+)\s+(\S+)/m ? ($1, $2) : ('?', '?');
}

# reload and wait for the one new worker
sub reload {
    my ($f, $old) = @_;
    my $n = () = $f->error_log =~ /reload done/g;
    kill 'HUP', $f->master_pid;
    my @w;
    my $ok = wait_until {
        @w = $f->worker_pids;
        (() = $f->error_log =~ /reload done/g) > $n && @w == 1 && $w[0] != $old;
    } 15;
    ok($ok, 'reloaded: a new worker') or diag("workers: @w");
    return $w[0];
}

# ---- the soft limit follows worker_connections ------------------------------

my $f = Ferry::Test->new(conf => conf(16));
start_limited($f, 64, $hard) or BAIL_OUT('ferry did not start under prlimit');
my ($w) = $f->wait_workers(1);
is((nofile($f->master_pid))[0], 96, 'start: the master\'s soft limit raised to 2 x 16 + 64');
is((nofile($w))[0], 96, '... the worker\'s too');

$f->write_file('conf/ferry.conf', conf(400));
$w = reload($f, $w);
my ($soft) = nofile($w);
ok($soft eq 'unlimited' || $soft >= 864,
   "reload to worker_connections 400: the new worker's soft limit is $soft (864 needed)");

# more connections than the old limit allowed, all open at once
my @c;
for my $i (1 .. 300) {
    my $c = Ferry::Test::Client->new($f->port(0)) or last;
    $c->send("GET /$i HTTP/1.1\r\nHost: x\r\n\r\n") or last;
    push @c, $c;
}
my $answered = 0;
for my $c (@c) {
    my $r = $c->read_response(timeout => 10);
    $answered++ if $r && ($r->{status} // 0) == 200 && $r->{body} eq "ok $w";
}
is($answered, 300, '300 connections held at once, each answered by the new worker');
my $again = 0;
for my $c (@c) {
    $c->send("GET /again HTTP/1.1\r\nHost: x\r\n\r\n") or next;
    my $r = $c->read_response(timeout => 10);
    $again++ if $r && ($r->{status} // 0) == 200;
}
is($again, 300, '... and all still open: a second request on each answered');
$_->close for @c;
unlike($f->error_log, qr/Too many open files|worker_connections need/,
       'no EMFILE, no warning');

$f->write_file('conf/ferry.conf', conf(400, 'worker_rlimit_nofile 1500;'));
$w = reload($f, $w);
is(join('/', nofile($w)), '1500/1500', 'a reload adding worker_rlimit_nofile 1500: the new worker\'s limits');
$f->stop;

# ---- a hard limit below the need ------------------------------------------

my $g = Ferry::Test->new(conf => conf(16));
start_limited($g, 64, 200) or BAIL_OUT('ferry did not start under prlimit');
($w) = $g->wait_workers(1);
$g->write_file('conf/ferry.conf', conf(400));
$w = reload($g, $w);
is((nofile($w))[0], 200, 'hard limit 200: the new worker gets it, as far as it goes');
ok(wait_until(sub { $g->error_log =~ /\[warn\] .*400 worker_connections need 864 open files, but the hard limit is 200: the workers get 200 \(raise the hard limit, or set worker_rlimit_nofile as root\)/ }, 5),
   '... and the reload says so: [warn] with the values');
is(http_get($g->port(0), '/')->{status}, 200, '... serving');
$g->stop;

done_testing;
