#!/usr/bin/perl

# nginx's main and events directives that shape the worker processes
# and the accepting: worker_priority, worker_cpu_affinity,
# worker_rlimit_core, working_directory, env, pcre_jit, use,
# multi_accept, accept_mutex and timer_resolution.  What a worker was given is read from
# /proc; a reload gives the new generation the new values.

use strict;
use warnings;

use Test::More;
use Ferry::Test;
use Time::HiRes ();

my $body = <<'EOF';
events { worker_connections 64; }
http {
    server {
        listen 127.0.0.1:%%PORT_0%%;
        location ~ ^/re/(\d+)$ { return 200 "re $1"; }
        location ~* \.PNG$ { return 200 "png"; }
        location / { return 200 "$pid"; }
    }
}
EOF

sub conf { return main_conf() . ($_[0] // '') . $body }

sub proc { Ferry::Test::read_file("/proc/$_[0]/$_[1]") // '' }

sub nice_of {
    my ($pid) = @_;
    # the fields after "(comm)": state is field 3, nice field 19
    my @f = split ' ', (proc($pid, 'stat') =~ /\)\s+(.*)/s)[0];
    return $f[16];
}

sub cpus_of { (proc($_[0], 'status') =~ /^Cpus_allowed_list:\s*(\S+)/m)[0] }

sub core_limit_of {
    my $l = proc($_[0], 'limits');
    return $l =~ /^Max core file size\s+(\S+)\s+(\S+)/m ? "$1 $2" : '';
}

sub environ_of {
    my %e = map { /^([^=]*)=(.*)$/s ? ($1, $2) : () }
            split /\0/, proc($_[0], 'environ');
    return \%e;
}

# pid of the newest worker started in slot $slot
sub slot_pid {
    my ($f, $slot) = @_;
    my @p = $f->error_log =~ /start worker process (\d+) \(slot \Q$slot\E\)/g;
    return $p[-1];
}

# Wait until $n workers of generation $gen said they are ready: by
# then each has applied what it was given.
sub wait_ready {
    my ($f, $n, $gen) = @_;
    $gen //= 1;
    my $ok = wait_until {
        my @r = $f->error_log =~ /worker process ready \(slot \d+, generation \Q$gen\E\)/g;
        @r >= $n
    } 10;
    ok($ok, "$n workers of generation $gen ready");
}

sub refused {
    my ($top, $events, $msg, $name) = @_;
    my $f = Ferry::Test->new(conf => main_conf() . $top
        . "events {\n    $events\n}\n");
    my ($rc, $out) = $f->run('-t');
    isnt($rc, 0, "-t refuses: $name");
    like($out, qr/\[emerg\] .*$msg.* in \S+ferry\.conf:\d+/,
         '... naming the problem, file and line') or diag($out);
}


# ---- configuration checks ----

refused("worker_priority 21;\n", '', qr/"21" in "worker_priority", it must be between -20 and 20/,
        'worker_priority above 20');
refused("worker_priority -21;\n", '', qr/invalid value "-21"/, 'worker_priority below -20');
refused("worker_priority high;\n", '', qr/invalid value "high"/, 'worker_priority not a number');
refused("worker_priority 1;\nworker_priority 2;\n", '', qr/"worker_priority" directive is duplicate/,
        'worker_priority twice');
refused("worker_cpu_affinity 01 12;\n", '', qr/invalid character "2" in "worker_cpu_affinity"/,
        'a mask with a 2');
refused("worker_cpu_affinity " . ('1' x 65) . ";\n", '', qr/supports up to 64 CPUs only/,
        'a mask of 65 CPUs');
refused("worker_cpu_affinity 00;\n", '', qr/invalid mask "00".*no CPU/, 'an empty mask');
refused("worker_cpu_affinity auto 01 10;\n", '', qr/auto" takes at most one mask/,
        'auto with two masks');
refused("worker_cpu_affinity auto;\nworker_cpu_affinity 01;\n", '', qr/is duplicate/,
        'worker_cpu_affinity twice');
refused("worker_rlimit_core lots;\n", '', qr/invalid value "lots"/, 'worker_rlimit_core not a size');
refused("worker_rlimit_core 1m;\nworker_rlimit_core 2m;\n", '', qr/is duplicate/,
        'worker_rlimit_core twice');
refused("working_directory /nonexistent/ferry-wd;\n", '', qr/stat\("\/nonexistent\/ferry-wd"\) failed/,
        'working_directory that does not exist');
refused("working_directory conf/ferry.conf;\n", '', qr/ferry\.conf" is not a directory/,
        'working_directory that is a file');
refused("working_directory logs;\nworking_directory conf;\n", '', qr/is duplicate/,
        'working_directory twice');
refused("env =x;\n", '', qr/invalid value "=x" in "env"/, 'env without a name');
refused("pcre_jit maybe;\n", '', qr/invalid value "maybe"/, 'pcre_jit not on or off');
refused('', "use kqueue;", qr/invalid event type "kqueue"/, 'use kqueue');
refused('', "use epoll; use epoll;", qr/"use" directive is duplicate/, 'use twice');
refused('', "multi_accept yes;", qr/invalid value "yes"/, 'multi_accept not on or off');
refused('', "accept_mutex on; accept_mutex off;", qr/is duplicate/, 'accept_mutex twice');
refused("timer_resolution fast;\n", '', qr/invalid value "fast"/, 'timer_resolution not a time');
refused("timer_resolution 100ms;\ntimer_resolution 1s;\n", '', qr/is duplicate/,
        'timer_resolution twice');
refused("use epoll;\n", '', qr/"use" directive is not allowed here/, 'use outside events');

{
    my $f = Ferry::Test->new(conf => main_conf()
        . "worker_priority -5;\nworker_cpu_affinity auto 11;\n"
        . "worker_rlimit_core 500m;\nworking_directory logs/;\n"
        . "env A;\nenv B=c;\nenv TZ;\npcre_jit off;\ntimer_resolution 100ms;\n"
        . "events { use epoll; multi_accept off; accept_mutex on; }\n");
    my ($rc, $out) = $f->run('-t');
    is($rc, 0, 'all of them together pass -t') or diag($out);
}


# ---- what the workers are given ----

mkdir "/tmp/ferry-core-compat-$$";
{
    local $ENV{FERRY_T_PASS} = 'passed';
    local $ENV{FERRY_T_SECRET} = 'not for workers';
    local $ENV{TZ} = 'UTC';

    my $wd = "/tmp/ferry-core-compat-$$";
    my $f = Ferry::Test->new(conf => conf("worker_processes 2;\n"
        . "worker_priority 5;\nworker_cpu_affinity 10 01;\n"
        . "worker_rlimit_core 1m;\nworking_directory $wd;\n"
        . "env FERRY_T_PASS;\nenv FERRY_T_SET=set;\nenv FERRY_T_UNSET;\n"));
    if ($f->start) {
        $f->wait_workers(2);
        wait_ready($f, 2);
        my @w = (slot_pid($f, 0), slot_pid($f, 1));

        for my $i (0, 1) {
            my $p = $w[$i];
            is(nice_of($p), 5, "worker $i: worker_priority 5 is its nice value");
            is(cpus_of($p), $i == 0 ? '1' : '0',
               "worker $i: its worker_cpu_affinity mask, in order");
            is(core_limit_of($p), '1048576 1048576', "worker $i: worker_rlimit_core 1m");
            is(readlink("/proc/$p/cwd"), $wd, "worker $i: working_directory");
            my $e = environ_of($p);
            is_deeply($e, { FERRY_T_PASS => 'passed', FERRY_T_SET => 'set', TZ => 'UTC' },
                      "worker $i: only TZ and what env lists")
                or diag(explain($e));
        }

        my $m = $f->master_pid;
        is(nice_of($m), nice_of($$), 'the master keeps its priority');
        is(environ_of($m)->{FERRY_T_SECRET}, 'not for workers',
           'the master keeps its environment');
        isnt(readlink("/proc/$m/cwd"), $wd, 'the master keeps its directory');

        # a reload: the new generation gets the new values
        my $conf = conf("worker_processes 2;\nworker_priority 7;\n"
            . "worker_cpu_affinity 01 10;\nworker_rlimit_core 2m;\n"
            . "env FERRY_T_SECRET;\n");
        $f->write_file('conf/ferry.conf', $conf);
        kill 'HUP', $m;
        my @n;
        my $ok = wait_until {
            @n = $f->worker_pids;
            @n == 2 && !grep { $_ == $w[0] || $_ == $w[1] } @n
        } 10;
        ok($ok, 'a reload replaces both workers') or diag("@w / @n");
        wait_ready($f, 2, 2);
        # the new generation's first and second worker, in start order
        my @new = ($f->error_log =~ /start worker process (\d+)/g)[-2, -1];
        for my $i (0, 1) {
            my $p = $new[$i] // 0;
            is(nice_of($p), 7, "after reload, worker $i: worker_priority 7");
            is(cpus_of($p), $i == 0 ? '0' : '1', "after reload, worker $i: the new mask");
            is(core_limit_of($p), '2097152 2097152', "after reload, worker $i: 2m core limit");
            is(environ_of($p)->{FERRY_T_SECRET}, 'not for workers',
               "after reload, worker $i: the variable env now lists");
            isnt(readlink("/proc/$p/cwd"), $wd,
                 "after reload, worker $i: no working_directory any more");
        }
        $f->stop;
    }
}
rmdir "/tmp/ferry-core-compat-$$";


# ---- the health checker: as a worker, but bound to no CPU ----

{
    local $ENV{FERRY_T_SECRET} = 'not for the checker';
    my $f = Ferry::Test->new(conf => main_conf() . <<'EOF');
worker_processes 1;
worker_priority 3;
worker_cpu_affinity 01;
worker_rlimit_core 1m;
working_directory logs;
env FERRY_T_SET=set;
http {
    upstream app {
        server 127.0.0.1:%%PORT_1%%;
        health_check interval=200ms;
    }
    server {
        listen 127.0.0.1:%%PORT_0%%;
        location / { proxy_pass http://app; }
    }
}
EOF
    my $b = Ferry::Test::Backend->new(port => $f->port(1));
    if ($f->start) {
        my $c;
        wait_until { ($c) = $f->error_log =~ /start health checker process (\d+)/;
                     $c && $f->error_log =~ /health checker started/ } 10;
        ok($c, 'the health checker runs');
        is(nice_of($c), 3, 'health checker: worker_priority');
        is(core_limit_of($c), '1048576 1048576', 'health checker: worker_rlimit_core');
        is(readlink("/proc/$c/cwd"), $f->prefix . '/logs', 'health checker: working_directory');
        is_deeply(environ_of($c), { FERRY_T_SET => 'set',
                                    defined $ENV{TZ} ? (TZ => $ENV{TZ}) : () }, 'health checker: only what env lists');
        is(cpus_of($c), cpus_of($f->master_pid), 'health checker: not bound to a CPU');
        $f->stop;
    }
}


# ---- worker_cpu_affinity auto: worker i on the i-th CPU of the mask ----

for my $case (['auto', '0', '1'], ['auto 10', '1', '1'], ['auto 11', '0', '1'],
              ['01', '0', '0'])
{
    my ($arg, @want) = @$case;
    my $f = Ferry::Test->new(conf => conf("worker_processes 2;\n"
                                          . "worker_cpu_affinity $arg;\n"));
    $f->allow_log(qr/\[warn\] .*the number of "worker_processes" is not equal/);
    if ($f->start) {
        $f->wait_workers(2);
        wait_ready($f, 2);
        is(cpus_of(slot_pid($f, 0)), $want[0], "worker_cpu_affinity $arg: worker 0");
        is(cpus_of(slot_pid($f, 1)), $want[1], "worker_cpu_affinity $arg: worker 1");
        like($f->stderr_log, qr/\[warn\] the number of "worker_processes" is not equal/,
             '... with nginx\'s warning for too few masks') if $arg eq '01';
        $f->stop;
    }
}


# ---- without the directives a worker inherits the master's ----

{
    local $ENV{FERRY_T_SECRET} = 'kept?';
    my $f = Ferry::Test->new(conf => conf("worker_processes 1;\n"));
    if ($f->start) {
        my ($w) = $f->wait_workers(1);
        wait_ready($f, 1);
        is(nice_of($w), nice_of($$),
           'no worker_priority: the nice value ferry was started with');
        ok(!exists environ_of($w)->{FERRY_T_SECRET},
           'no env: the environment is still cleared, as in nginx');
        $f->stop;
    }
}


# ---- pcre_jit: same answers on and off; the log says when JIT is on ----

for my $jit ('on', 'off', undef) {
    my $name = defined $jit ? "pcre_jit $jit" : 'no pcre_jit';
    my $f = Ferry::Test->new(conf => conf(defined $jit ? "pcre_jit $jit;\n" : ''));
    if ($f->start) {
        my $r = http_get($f->port(0), '/re/42');
        is($r->{body}, 're 42', "$name: a regex location with a capture");
        $r = http_get($f->port(0), '/a/b.png');
        is($r->{body}, 'png', "$name: a caseless regex location");
        $r = http_get($f->port(0), '/re/x');
        like($r->{body}, qr/^\d+$/, "$name: no regex matches");
        if (($jit // 'on') eq 'on') {
            like($f->error_log, qr/\[info\] .*pcre JIT enabled for 2 of 2 regexes/,
                 "$name: the JIT compiled both regexes");
        } else {
            unlike($f->error_log, qr/pcre JIT enabled/, "$name: no JIT");
        }
        $f->stop;
    }
}


# ---- multi_accept: how many waiting connections one wake-up takes ----

for my $ma ('on', 'off') {
    my $f = Ferry::Test->new(conf => main_conf()
        . "worker_processes 1;\nevents { multi_accept $ma; }\n"
        . "http { server { listen 127.0.0.1:%%PORT_0%%; return 200 ok; } }\n");
    if ($f->start) {
        $f->wait_workers(1);
        # the master idle, then stopped; three connections wait in the
        # backlog
        is(http_get($f->port(0), '/')->{body}, 'ok', "multi_accept $ma: serves");
        my $from = length $f->error_log;
        kill 'STOP', $f->master_pid;
        wait_until { (proc($f->master_pid, 'stat') =~ /\)\s+(\S)/)[0] eq 'T' } 5;
        my @c = map { Ferry::Test::Client->new($f->port(0)) } 1 .. 3;
        Time::HiRes::sleep(0.2);
        kill 'CONT', $f->master_pid;
        for my $c (@c) {
            $c->send("GET / HTTP/1.0\r\n\r\n");
            my $r = $c->read_response;
            is($r->{body}, 'ok', "multi_accept $ma: a waiting connection is served");
        }
        my @passes = substr($f->error_log, $from)
                     =~ /accepted (\d+) connections? on \S+ in one pass/g;
        @passes = grep { $_ } @passes;
        if ($ma eq 'on') {
            is("@passes", '3', 'multi_accept on: one wake-up takes all three');
        } else {
            is("@passes", '1 1 1', 'multi_accept off: one per wake-up');
        }
        $f->stop;
    }
}

done_testing();
