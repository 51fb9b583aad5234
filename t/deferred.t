#!/usr/bin/perl

# listen ... deferred (TCP_DEFER_ACCEPT, 1 second as nginx), as an
# operator sees it on the status page's "accepted" counter: a client
# that connects and sends nothing is not accepted by the master while
# the kernel defers it, and is served normally once it sends; without
# "deferred" (the control) it is accepted at once.  A reload adds or
# removes the option on the socket it keeps (a client connected before
# the reload is still served, ss shows the same socket), a failed
# reload leaves the old setting, and the configuration errors.

use strict;
use warnings;

use Test::More;
use Ferry::Test;
use JSON::PP ();
use IO::Socket::INET;
use IO::Select;
use Time::HiRes ();

my $ss = `ss -V 2>/dev/null` =~ /iproute/ ? 'ss' : undef;

# PORT_0 and PORT_2 serve; the status page is on PORT_1, never deferred.
my $conf = sub {
    my (%o) = @_;
    my $d0 = $o{d0} ? ' deferred' : '';
    my $d2 = $o{d2} ? ' deferred' : '';
    my $extra = $o{extra} // '';
    return main_conf() . <<"EOF";
worker_processes 1;
events { worker_connections 64; }
http {
    server {
        listen 127.0.0.1:%%PORT_0%%$d0;
        listen 127.0.0.1:%%PORT_2%%$d2;
        $extra
        location / { return 200 "served\\n"; }
    }
    server {
        listen 127.0.0.1:%%PORT_1%%;
        location /status { status; }
    }
}
EOF
};

my $f = Ferry::Test->new(conf => $conf->(d0 => 1));
$f->start or BAIL_OUT('ferry did not start');
$f->wait_workers(1);

# Connections the master accepted other than the status requests made
# here (each of which is accepted before it reads the counter).  Only
# differences are compared: start() connected to the ports too.
my $status_requests = 0;
sub others {
    my $r = http_get($f->port(1), '/status?format=json');
    $status_requests++;
    my $j = eval { JSON::PP->new->decode($r->{body} // '') };
    die "no status JSON: " . ($r->{raw} // $r->{error} // '') . "\n"
        unless $j;
    return $j->{connections}{accepted} - $status_requests;
}

# Connect to $port and send nothing; look at the counter until 0.5 s
# after the connect.  Returns (1 if the master accepted the connection,
# 0 if not, the connected socket, the count before the connect).  The
# kernel defers for 1 s: a look that only ends after 0.9 s (a loaded
# machine) cannot tell deferred from not, so the probe is made again,
# once the socket of the inconclusive one has been accepted.
sub silent_probe {
    my ($port) = @_;
    for my $try (1 .. 5) {
        my $base = others();
        my $c = IO::Socket::INET->new(PeerAddr => '127.0.0.1',
                                      PeerPort => $port, Timeout => 5)
            or return (undef, undef, $base);
        my $t0 = Time::HiRes::time();
        while (1) {
            my $n = others();
            my $dt = Time::HiRes::time() - $t0;
            last if $dt >= 0.9;
            return (1, $c, $base) if $n > $base;
            return (0, $c, $base) if $dt >= 0.5;
            Time::HiRes::sleep(0.05);
        }
        diag("probe $try of port $port inconclusive (slow machine), again");
        close $c;
        wait_until { others() > $base } 10;
    }
    return (undef, undef, 0);
}

# Send a request on the silent connection; its response, and how many
# connections the master accepted since the probe's count.
sub serve {
    my ($c, $base) = @_;
    print $c "GET /x HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n";
    my $resp = '';
    my $deadline = Time::HiRes::time() + 5;
    my $sel = IO::Select->new($c);
    while (Time::HiRes::time() < $deadline) {
        last unless $sel->can_read($deadline - Time::HiRes::time());
        my $n = sysread $c, $resp, 4096, length $resp;
        last unless $n;
    }
    close $c;
    return ($resp, others() - $base);
}

# The inode of the listening socket on 127.0.0.1:$port (ss -e).
sub listen_ino {
    my ($port) = @_;
    for (`ss -ltnHe 2>/dev/null`) {
        return $1 if /\s127\.0\.0\.1:\Q$port\E\s.*\bino:(\d+)/;
    }
    return undef;
}

my $reloads = 0;
sub reload {
    my (%o) = @_;
    $f->write_file('conf/ferry.conf', $conf->(%o));
    my $done = () = $f->error_log =~ /reload done/g;
    my $failed = () = $f->error_log =~ /reload failed/g;
    kill 'HUP', $f->master_pid;
    my $ok = wait_until {
        my $log = $f->error_log;
        (() = $log =~ /reload done/g) > $done
            || (() = $log =~ /reload failed/g) > $failed;
    } 10;
    return $ok && (() = $f->error_log =~ /reload done/g) > $done;
}

sub check {
    my ($port, $deferred, $what) = @_;
    my ($moved, $c, $base) = silent_probe($port);
    ok(defined $moved, "$what: probe made") or return;
    if ($deferred) {
        is($moved, 0, "$what: a client that connects and sends nothing is "
                      . 'not accepted (counter still) 0.5 s after the connect');
    } else {
        is($moved, 1, "$what: a client that connects and sends nothing is "
                      . 'accepted right after the connect (counter moved)');
    }
    my ($resp, $delta) = serve($c, $base);
    like($resp, qr{^HTTP/1\.1 200 .*\r\n\r\nserved\n\z}s,
         "$what: once it sends a request it gets the normal response");
    is($delta, 1, "$what: accepted once, the counter moved by one");
}

check($f->port(0), 1, 'deferred');
check($f->port(2), 0, 'without deferred');

# After the deferral the kernel hands the silent client over on its next
# ACK (a retransmitted SYN-ACK answered): accepted without data, then
# served as usual when it speaks.
{
    my $base = others();
    my $c = IO::Socket::INET->new(PeerAddr => '127.0.0.1',
                                  PeerPort => $f->port(0), Timeout => 5);
    ok((wait_until { others() > $base } 10),
       'deferred: a client that stays silent is accepted after the '
       . 'deferral runs out');
    my ($resp, $delta) = serve($c, $base);
    like($resp, qr{\r\n\r\nserved\n\z}, '... and served when it speaks');
    is($delta, 1, '... accepted once');
}

# ---- reloads ----

SKIP: {
    skip 'ss (iproute2) not installed', 1 unless $ss;
    ok(listen_ino($f->port(0)) && listen_ino($f->port(2)),
       'ss shows the inodes of both listening sockets');
}
my ($ino0, $ino2) = $ss ? (listen_ino($f->port(0)), listen_ino($f->port(2)))
                        : ();

# A client connects to each port before the reload and sends after it:
# the one on the deferred port is still held by the kernel in the queue
# of that very socket, so it is served only if the socket was kept.
my $pend0 = IO::Socket::INET->new(PeerAddr => '127.0.0.1',
                                  PeerPort => $f->port(0), Timeout => 5);
my $pend2 = IO::Socket::INET->new(PeerAddr => '127.0.0.1',
                                  PeerPort => $f->port(2), Timeout => 5);
ok(reload(d2 => 1), 'reload: deferred moves from port 0 to port 2');
for ([$pend0, 'deferred removed'], [$pend2, 'deferred added']) {
    my ($c, $what) = @$_;
    my ($resp) = serve($c, 0);
    like($resp, qr{\r\n\r\nserved\n\z},
         "$what: a client connected before the reload is served after it");
}
SKIP: {
    skip 'ss (iproute2) not installed', 2 unless $ss;
    is(listen_ino($f->port(0)), $ino0, 'deferred removed: the same socket');
    is(listen_ino($f->port(2)), $ino2, 'deferred added: the same socket');
}
check($f->port(0), 0, 'after the reload that removed deferred');
check($f->port(2), 1, 'after the reload that added deferred');

# A reload that would add deferred to port 0 but fails (another listen
# cannot bind: the port is taken) leaves port 0 as it was.
my $busy = IO::Socket::INET->new(LocalAddr => '127.0.0.1', LocalPort => 0,
                                 Listen => 1, ReuseAddr => 0)
    or die "cannot bind: $!\n";
my $busy_port = $busy->sockport;
$f->allow_log(qr/bind\(\) to 127\.0\.0\.1:$busy_port failed/);
$f->allow_log(qr/reload failed/);
ok(!reload(d0 => 1, d2 => 1, extra => "listen 127.0.0.1:$busy_port;"),
   'a reload adding deferred to port 0 and an unbindable listen fails');
like($f->error_log, qr/bind\(\) to 127\.0\.0\.1:$busy_port failed/,
     '... bind() to the taken port failed');
check($f->port(0), 0, 'after the failed reload, port 0 still');
check($f->port(2), 1, 'after the failed reload, port 2 still');
close $busy;

$f->stop;

# ---- configuration errors ----

for my $t (
    ["server { listen 127.0.0.1:%%PORT_0%% deferred; }\n"
     . "    server { listen 127.0.0.1:%%PORT_0%% deferred; }",
     qr/duplicate listen options for 127\.0\.0\.1:\d+ in \S+ferry\.conf:7/],
    ["server { listen 127.0.0.1:%%PORT_0%% backlog=10; }\n"
     . "    server { listen 127.0.0.1:%%PORT_0%% deferred; }",
     qr/duplicate listen options for 127\.0\.0\.1:\d+ in \S+ferry\.conf:7/],
    ["server { listen unix:%%PREFIX%%/x.sock deferred; }",
     qr/"deferred" is a TCP option and cannot be used with "unix:\S+\/x\.sock" in "listen" in \S+ferry\.conf:6/],
) {
    my ($block, $msg) = @$t;
    http_conf_refused($block, $msg, (split /\n/, $block)[-1]);
}

# the options given once for an address apply to every server there
{
    my $g = Ferry::Test->new(conf => main_conf() . <<'EOF');
events { }
http {
    server { listen 127.0.0.1:%%PORT_0%% deferred backlog=20; }
    server { listen 127.0.0.1:%%PORT_0%%; }
}
EOF
    my ($rc, $out) = $g->run('-t');
    is($rc, 0, '-t accepts deferred with backlog= on one listen of an '
               . 'address and none on the other') or diag($out);
}

done_testing;
