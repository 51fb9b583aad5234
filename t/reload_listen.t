#!/usr/bin/perl

# A reload (SIGHUP) that moves an address between a socket of its own
# and a wildcard's of the same port (127.0.0.1:P -> *:P, *:P ->
# 127.0.0.1:P, 127.0.0.1:P -> [::]:P ipv6only=off): Linux lets only
# one of two overlapping addresses listen, so the old socket stops
# (its queue drained, new SYNs dropped for the client to retry) and
# the new one binds.  A client connecting over and over during the
# reloads is answered on the new socket (one whose SYN or final ACK
# comes in the microseconds of the move is refused or reset: counted,
# not asserted; those queued before are answered, every one).  A
# reload whose new socket cannot bind (another program holds the
# port) fails and the old sockets listen again; another ferry or
# program on the port still keeps ferry from starting.

use strict;
use warnings;

use Test::More;
use Ferry::Test;
use IO::Socket::INET;
use IO::Socket::IP;
use Socket qw(PF_INET PF_INET6 SOCK_STREAM pack_sockaddr_in inet_aton);
use Errno qw(ECONNREFUSED ECONNRESET);
use POSIX ();

sub conf {
    my ($listens, $tag) = @_;
    return main_conf() . <<"EOF";
worker_processes 2;
events { worker_connections 256; }
http {
    access_log off;
    server {
        $listens
        location / { return 200 "$tag"; }
    }
}
EOF
}

# One request on a new connection to $addr:$port: "ok:BODY",
# "refused", "reset" or "bad:WHY".
sub one {
    my ($addr, $port) = @_;
    socket(my $s, PF_INET, SOCK_STREAM, 0) or return "bad:socket $!";
    if (!connect($s, pack_sockaddr_in($port, inet_aton($addr)))) {
        return $! == ECONNREFUSED ? 'refused'
             : $! == ECONNRESET   ? 'reset' : "bad:connect $!";
    }
    my $req = "GET / HTTP/1.0\r\nHost: x\r\n\r\n";
    if (!defined syswrite($s, $req)) {
        return $! == ECONNRESET ? 'reset' : "bad:write $!";
    }
    my $resp = '';
    for (;;) {
        my $n = sysread($s, $resp, 4096, length $resp);
        if (!defined $n) {
            return $! == ECONNRESET ? 'reset' : "bad:read $!";
        }
        last if $n == 0;
    }
    return $resp =~ m{^HTTP/1\.[01] 200 .*?\r\n\r\n(.*)\z}s ? "ok:$1"
         : 'bad:' . substr($resp, 0, 40);
}

# A client that connects, asks and reads again and again until
# stop_loop(): returns its pid.  It drops a file "seen-BODY" in the
# prefix when a body first comes, so the test knows which
# configuration answers.
sub start_loop {
    my ($f, $addr, $port) = @_;
    my $dir = $f->prefix;
    unlink glob("$dir/seen-*"), "$dir/loop.stop", "$dir/loop.out";
    my $pid = fork // die "fork: $!";
    return $pid if $pid;
    alarm 0;
    my (%n, %seen);
    my $end = time + 60;
    until (-e "$dir/loop.stop" || time > $end) {
        my $r = one($addr, $port);
        my $kind = $r =~ /^(ok|bad)/ ? $1 : $r;
        $n{$kind}++;
        if ($r =~ /^ok:(\w+)\z/ && !$seen{$1}++) {
            open my $fh, '>', "$dir/seen-$1";
        }
        $n{first_bad} //= $r if $kind eq 'bad';
    }
    open my $out, '>', "$dir/loop.out.tmp" or POSIX::_exit(1);
    print $out join(' ', map { "$_=" . ($n{$_} // 0) }
                         qw(ok refused reset bad)),
               ' first_bad=', ($n{first_bad} // '-'), "\n";
    close $out;
    rename "$dir/loop.out.tmp", "$dir/loop.out";
    POSIX::_exit(0);
}

sub stop_loop {
    my ($f, $pid) = @_;
    my $dir = $f->prefix;
    open my $fh, '>', "$dir/loop.stop";
    close $fh;
    Ferry::Test::_wait_pid($pid, 70);
    my %n = (Ferry::Test::read_file("$dir/loop.out") // '')
            =~ /(\w+)=(\S+)/g;
    return \%n;
}

sub outcomes {
    my ($f) = @_;
    return () = $f->error_log =~ /reload (?:done|failed)/g;
}

# Write the configuration, HUP, wait for "reload done" or "reload
# failed": true when done.
sub reload {
    my ($f, $conf) = @_;
    my $n = outcomes($f);
    $f->write_file('conf/ferry.conf', $conf);
    kill 'HUP', $f->master_pid;
    wait_until { outcomes($f) > $n } 15;
    my @all = $f->error_log =~ /reload (done|failed)/g;
    return @all > $n && $all[-1] eq 'done';
}

# Wait until the client got a body $tag.
sub seen {
    my ($f, $tag) = @_;
    my $file = $f->prefix . "/seen-$tag";
    return wait_until { my $there = -e $file; $there } 10;
}

sub moved {
    my ($f) = @_;
    return () = $f->error_log =~ /its port's old socket stopped for it/g;
}

my $have6 = IO::Socket::IP->new(LocalHost => '::1', LocalPort => 0,
                                Listen => 1, ReuseAddr => 1) ? 1 : 0;

# ---- each direction, with a client connecting all the while ----------

{
    my $f = Ferry::Test->new(conf => conf('listen 127.0.0.1:%%PORT_0%%;', 'A'));
    my $P = $f->port(0);
    my $dir = $f->prefix;
    if ($f->start) {
        $f->wait_workers(2);
        is(one('127.0.0.1', $P), 'ok:A', 'A: 127.0.0.1 answered');
        is(one('127.0.0.2', $P), 'refused', 'A: 127.0.0.2 not listened on');

        my $loop = start_loop($f, '127.0.0.1', $P);
        seen($f, "A");

        # 127.0.0.1:P -> *:P (127.0.0.1:P served by the wildcard)
        ok(reload($f, $f->subst(conf("listen %%PORT_0%%;\n"
                                     . "        listen 127.0.0.1:%%PORT_0%%;",
                                     'B'))),
           'own socket -> wildcard: reload done');
        ok(seen($f, "B"), '... the new configuration answers');
        is(moved($f), 1, '... the address moved to the new socket');
        is(one('127.0.0.2', $P), 'ok:B', '... and the wildcard takes 127.0.0.2');

        # *:P -> 127.0.0.1:P
        ok(reload($f, $f->subst(conf('listen 127.0.0.1:%%PORT_0%%;', 'C'))),
           'wildcard -> own socket: reload done');
        ok(seen($f, "C"), '... the new configuration answers');
        is(moved($f), 2, '... the address moved to the new socket');
        is(one('127.0.0.2', $P), 'refused', '... and 127.0.0.2 is no longer listened on');

        # and back and forth a few times more
        for my $i (1 .. 3) {
            ok(reload($f, $f->subst(conf('listen %%PORT_0%%;', "D$i"))), "to * again ($i)");
            ok(seen($f, "D$i"), "... answered ($i)");
            ok(reload($f, $f->subst(conf('listen 127.0.0.1:%%PORT_0%%;', "E$i"))),
               "to 127.0.0.1 again ($i)");
            ok(seen($f, "E$i"), "... answered ($i)");
        }
        is(moved($f), 8, 'every one of those moved an address');

        my $n = stop_loop($f, $loop);
        ok(($n->{ok} // 0) > 0, "the client was answered ($n->{ok} times)");
        is($n->{bad}, 0, 'no other failure') or diag("first: $n->{first_bad}");
        # Not asserted: a SYN that comes in the few microseconds between
        # the old socket's shutdown() and the new one's listen() finds
        # no listener and is refused, and a handshake the loaded machine
        # completes just after the drain is reset (docs/architecture.md)
        note("refused: $n->{refused}, reset: $n->{reset}");
    }
    $f->stop;
}

# ---- connections queued on the old socket are answered, not reset ----
# The master is stopped (SIGSTOP) while clients connect and send their
# requests: the kernel queues them on the old socket.  The reload then
# stops that socket; whatever the master had not accepted yet is
# drained and handed to the new workers.

{
    my $f = Ferry::Test->new(conf => conf('listen 127.0.0.1:%%PORT_0%%;', 'A'));
    my $P = $f->port(0);
    if ($f->start) {
        $f->wait_workers(2);
        my @to = (['listen %%PORT_0%%;', 'B'], ['listen 127.0.0.1:%%PORT_0%%;', 'C']);
        push @to, (['listen [::]:%%PORT_0%% ipv6only=off;', 'D'],
                   ['listen 127.0.0.1:%%PORT_0%%;', 'E']) if $have6;
        for my $to (@to) {
            $f->write_file('conf/ferry.conf', conf(@$to));
            my $n = outcomes($f);
            # HUP first: the signal is ready before the connections,
            # so the master takes it (and drains them) before it
            # accepts them
            kill 'STOP', $f->master_pid;
            kill 'HUP', $f->master_pid;
            my @c;
            for (1 .. 20) {
                my $s = IO::Socket::INET->new(PeerAddr => '127.0.0.1',
                                              PeerPort => $P, Timeout => 5)
                    or last;
                print $s "GET / HTTP/1.0\r\nHost: x\r\n\r\n";
                push @c, $s;
            }
            kill 'CONT', $f->master_pid;
            is(scalar @c, 20, "20 clients queued while the master was stopped ($to->[1])");
            my $done = wait_until { outcomes($f) > $n } 15;
            like(($f->error_log =~ /reload (done|failed)/g)[-1] // '', qr/done/,
                 "... the reload is done ($to->[1])");
            my $ok = 0;
            for my $s (@c) {
                local $/;
                my $r = <$s>;
                $ok++ if defined $r && $r =~ m{^HTTP/1\.[01] 200 };
            }
            is($ok, 20, "... every one of them answered ($to->[1])");
        }
        my @h = $f->error_log =~ /(\d+) connections? queued on stopped old sockets handed/g;
        my $h = 0;
        $h += $_ for @h;
        ok($h > 0, "connections queued on the stopped old sockets were drained ($h)");
    }
    $f->stop;
}

# ---- 127.0.0.1:P -> [::]:P ipv6only=off -------------------------------

SKIP: {
    skip 'no IPv6 loopback', 7 unless $have6;
    my $f = Ferry::Test->new(conf => conf('listen 127.0.0.1:%%PORT_0%%;', 'A'));
    my $P = $f->port(0);
    my $dir = $f->prefix;
    last SKIP unless $f->start;
    $f->wait_workers(2);
    my $loop = start_loop($f, '127.0.0.1', $P);
    seen($f, "A");
    ok(reload($f, $f->subst(conf('listen [::]:%%PORT_0%% ipv6only=off;', 'B'))),
       '127.0.0.1 -> [::] ipv6only=off: reload done');
    ok(seen($f, "B"), '... the new configuration answers');
    my $c6 = IO::Socket::IP->new(PeerHost => '::1', PeerPort => $P);
    ok($c6, '... on ::1 too');
    close $c6 if $c6;
    ok(reload($f, $f->subst(conf('listen 127.0.0.1:%%PORT_0%%;', 'C'))),
       'and back: reload done');
    ok(seen($f, "C"), '... the new configuration answers');
    my $n = stop_loop($f, $loop);
    is($n->{bad}, 0, "none failed otherwise ($n->{ok} answered)")
        or diag(join ' ', %$n);
    # not asserted, as above: refused and reset in the microseconds of
    # the move
    note("refused: $n->{refused}, reset: $n->{reset}");
    $f->stop;
}

# ---- the new socket cannot bind: the old ones listen again ------------

{
    my $f = Ferry::Test->new(conf => conf('listen 127.0.0.1:%%PORT_0%%;', 'A'));
    my $P = $f->port(0);
    my $Q = $f->port(1);
    if ($f->start) {
        $f->wait_workers(2);
        # another program on 127.0.0.2:P: beside 127.0.0.1:P, but *:P
        # cannot have it
        my $other = IO::Socket::INET->new(LocalAddr => '127.0.0.2',
            LocalPort => $P, Listen => 5, ReuseAddr => 1)
            or die "cannot listen on 127.0.0.2:$P: $!\n";
        $f->allow_log(qr/bind\(\) to 0\.0\.0\.0:$P failed/,
                      qr/reload failed/);
        my $bad = $f->subst(conf("listen %%PORT_0%%;", 'B'));
        my $line = 1 + (() = substr($bad, 0, index($bad, "listen $P")) =~ /\n/g);
        ok(!reload($f, $bad), 'a move whose new socket cannot bind fails');
        like($f->error_log,
             qr/\[emerg\] \d+#\d+: bind\(\) to 0\.0\.0\.0:$P failed \(listen in \Q${\ $f->conf_file}\E:$line\): Address already in use/,
             '... bind() failed, naming the file and line');
        is(one('127.0.0.1', $P), 'ok:A', '... the old configuration still answers on its socket');
        is(one('127.0.0.1', $P), 'ok:A', '... again');

        # a plain new address taken by another program
        my $held = IO::Socket::INET->new(LocalAddr => '127.0.0.1',
            LocalPort => $Q, Listen => 5, ReuseAddr => 1)
            or die "cannot listen on $Q: $!\n";
        $f->allow_log(qr/bind\(\) to 127\.0\.0\.1:$Q failed/);
        $bad = $f->subst(conf("listen 127.0.0.1:%%PORT_0%%;\n"
                              . "        listen 127.0.0.1:%%PORT_1%%;", 'B'));
        $line = 1 + (() = substr($bad, 0, index($bad, "listen 127.0.0.1:$Q")) =~ /\n/g);
        ok(!reload($f, $bad), 'a reload needing a taken port fails');
        like($f->error_log,
             qr/bind\(\) to 127\.0\.0\.1:$Q failed \(listen in \Q${\ $f->conf_file}\E:$line\)/,
             '... naming the file and line');
        is(one('127.0.0.1', $P), 'ok:A', '... the old configuration still answers');

        # once the other program is gone, the same move works
        close $other;
        ok(reload($f, $f->subst(conf("listen %%PORT_0%%;", 'B'))),
           'with the port free again the move works');
        is(one('127.0.0.2', $P), 'ok:B', '... and the wildcard answers');
    }
    $f->stop;
}

# ---- another ferry or program on the port: ferry does not start ------

{
    my $f = Ferry::Test->new(conf => conf('listen 127.0.0.1:%%PORT_0%%;', 'A'));
    my $P = $f->port(0);
    if ($f->start) {
        for my $l ("listen $P;", "listen 127.0.0.1:$P;") {
            my $g = Ferry::Test->new(conf => conf($l, 'G'));
            my ($rc, $out) = $g->run;
            isnt($rc, 0, "a second ferry with \"$l\" does not start");
            like($out . ($g->error_log // ''), qr/bind\(\) to \S+:$P failed.*Address already in use/,
                 '... bind() failed: Address already in use');
        }
        is(one('127.0.0.1', $P), 'ok:A', 'the first ferry still answers');
    }
    $f->stop;

    # a plain Perl listener on *:P: ferry on 127.0.0.1:P does not start
    my $perl = IO::Socket::INET->new(LocalAddr => '0.0.0.0', LocalPort => $P,
                                     Listen => 5, ReuseAddr => 1)
        or die "cannot listen on *:$P: $!\n";
    my $g = Ferry::Test->new(conf => conf("listen 127.0.0.1:$P;", 'G'));
    my ($rc, $out) = $g->run;
    isnt($rc, 0, 'ferry does not start beside a program on *:P');
    like($out . ($g->error_log // ''), qr/bind\(\) to 127\.0\.0\.1:$P failed.*Address already in use/,
         '... bind() failed: Address already in use');
}

done_testing;
