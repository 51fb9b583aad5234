#!/usr/bin/perl

# master_sched: the master runs under SCHED_BATCH by default (or the
# normal policy with "master_sched normal"), while its children (the
# workers and the health checker) keep the policy ferry was started
# with.  A reload switches the master's policy both ways.  A master
# started under another policy (chrt) is left alone, children included,
# with a [notice].  What an operator sees: the policy column of
# /proc/PID/stat (chrt -p shows the same), and -t's errors.

use strict;
use warnings;

use Test::More;
use Ferry::Test;

use constant { SCHED_OTHER => 0, SCHED_BATCH => 3 };

# Field 41 of /proc/PID/stat: the scheduling policy.
sub policy {
    my ($pid) = @_;
    open my $fh, '<', "/proc/$pid/stat" or return undef;
    my $stat = <$fh>;
    $stat =~ s/^.*\) //s or return undef;   # pid and (comm)
    return (split ' ', $stat)[41 - 3];
}

my $conf = sub {
    my ($directive) = @_;
    $directive //= '';
    return main_conf() . <<"EOF";
$directive
worker_processes 2;
events { worker_connections 64; }
http {
    upstream app {
        server 127.0.0.1:%%PORT_1%%;
        health_check uri=/ interval=1s;
    }
    server {
        listen 127.0.0.1:%%PORT_0%%;
        location / { proxy_pass http://app; }
    }
}
EOF
};

# Master, two workers and the health checker.
# A child resets the policy it inherits right after fork(), so one read
# at the moment it appears can still see the master's: wait (bounded)
# until all three say normal, and report what they say then.
sub children_policies {
    my ($f) = @_;
    my $got;
    wait_until {
        my @c = $f->wait_workers(3);
        $got = join ' ', map { policy($_) // 'gone' } @c;
        $got eq '0 0 0';
    } 5;
    return $got;
}

my $reloads = 0;
sub reload {
    my ($f, $text) = @_;
    $f->write_file('conf/ferry.conf', $text);
    kill 'HUP', $f->master_pid;
    $reloads++;
    my $ok = wait_until {
        (() = $f->error_log =~ /reload done/g) == $reloads
    } 10;
    # the old generation's workers and checker leave
    wait_until { my @w = $f->worker_pids; @w == 3 } 10;
    return $ok;
}

my $f = Ferry::Test->new(conf => $conf->());
my $b = Ferry::Test::Backend->new(port => $f->port(1));
$f->start or BAIL_OUT('ferry did not start');

is(policy($f->master_pid), SCHED_BATCH,
   'default: the master runs under SCHED_BATCH');
is(children_policies($f), '0 0 0',
   'workers and the health checker run under the normal policy');
is(http_get($f->port(0), '/a')->{status}, 200, 'a request is served');

ok(reload($f, $conf->('master_sched normal;')),
   'reload to master_sched normal');
is(policy($f->master_pid), SCHED_OTHER,
   'master_sched normal: the master is back to the normal policy');
is(children_policies($f), '0 0 0', '... and its new children too');

ok(reload($f, $conf->('master_sched batch;')),
   'reload to master_sched batch');
is(policy($f->master_pid), SCHED_BATCH, 'the master is SCHED_BATCH again');
is(children_policies($f), '0 0 0', '... its new children are not');
is(http_get($f->port(0), '/b')->{status}, 200, 'a request is served');

$f->stop;

# ---- configuration errors ----

for my $bad (['master_sched fast;', qr/invalid value "fast"/],
             ['master_sched batch batch;', qr/invalid number of arguments/],
             ["master_sched batch;\nmaster_sched normal;", qr/is duplicate/])
{
    my ($text, $why) = @$bad;
    my $g = Ferry::Test->new(conf => $conf->($text));
    my ($rc, $out) = $g->run('-t');
    isnt($rc, 0, "-t refuses '$text'");
    my $line = $text =~ /\n/ ? 5 : 4;
    like($out, qr/\[emerg\].*$why.* in \S+ferry\.conf:$line\b/,
         "... naming the error, the file and line $line");
}

# ---- started under another policy ----

SKIP: {
    # ferry inherits this test's policy; batch -> normal is allowed to
    # anyone, so the test can go back afterwards
    system('chrt', '-b', '-p', '0', $$) == 0
        or skip 'chrt (util-linux) cannot change this process', 4;
    my $g = Ferry::Test->new(conf => $conf->('master_sched normal;'));
    my $gb = Ferry::Test::Backend->new(port => $g->port(1));
    my $started = $g->start;
    system('chrt', '-o', '-p', '0', $$);
    skip 'ferry did not start', 3 unless $started;
    is(policy($g->master_pid), SCHED_BATCH,
       'started under SCHED_BATCH with master_sched normal: left as it was');
    is(children_policies($g), '3 3 3',
       '... and the children keep the policy ferry was started with');
    like($g->error_log, qr/\[notice\].*policy SCHED_BATCH, not the normal one: master_sched ignored/,
         '... said once in the error log');
    $g->stop;
}
is(policy($$), SCHED_OTHER, 'the test itself is back to the normal policy');

done_testing;
