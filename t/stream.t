#!/usr/bin/perl

# stream { }: TCP proxying with nginx's syntax.  Real sockets on
# 127.0.0.1: backends that say who they are and echo, a raw echo, one
# that answers only after the client's FIN; through ferry: bytes intact
# both ways, half-close, round robin, least_conn, hash, failover, all
# servers down, proxy_timeout, allow/deny, two workers, the access log,
# a reload adding a server while a session keeps flowing, and the
# configuration errors.

use strict;
use warnings;

use Test::More;
use Ferry::Test;
use IO::Socket::INET;
use IO::Socket::UNIX;
use IO::Select;
use POSIX ();
use Socket qw(SHUT_WR);
use JSON::PP ();
use Time::HiRes ();

# says its name first, then echoes
sub named { my $name = shift; return sub {
    my $c = shift;
    syswrite $c, "$name\n";
    my $b;
    while (sysread($c, $b, 65536)) { syswrite $c, $b; }
} }

sub raw_echo {
    my $c = shift;
    my $b;
    while ((my $n = sysread($c, $b, 65536))) {
        my $off = 0;
        while ($off < $n) {
            my $w = syswrite($c, $b, $n - $off, $off) or return;
            $off += $w;
        }
    }
}

# reads to the client's FIN, then answers with what it got
sub after_fin {
    my $c = shift;
    my ($b, $all) = ('', '');
    while (sysread($c, $b, 65536)) { $all .= $b; }
    syswrite $c, "got " . length($all) . " bytes: $all";
}

sub connect_to {
    my $port = shift;
    return IO::Socket::INET->new(PeerAddr => "127.0.0.1:$port",
                                 Timeout => 5);
}

# a line from $s, or undef on EOF / 5 s
sub read_line {
    my $s = shift;
    my ($line, $c) = ('');
    my $sel = IO::Select->new($s);
    while ($sel->can_read(5)) {
        my $n = sysread($s, $c, 1);
        return undef unless $n;
        $line .= $c;
        return $line if $c eq "\n";
    }
    return undef;
}

# everything up to EOF (undef if no EOF in 5 s)
sub read_all {
    my ($s, $t) = @_;
    my ($all, $b) = ('');
    my $sel = IO::Select->new($s);
    while ($sel->can_read($t // 5)) {
        my $n = sysread($s, $b, 65536);
        return $all if !$n;
        $all .= $b;
    }
    return undef;
}

# the name of the backend one new session reaches (session closed)
sub who {
    my $port = shift;
    my $s = connect_to($port) or return 'connect failed';
    my $l = read_line($s);
    shutdown($s, SHUT_WR);
    read_all($s);
    close $s;
    return defined $l ? ($l =~ s/\n//r) : 'closed';
}

my $f = Ferry::Test->new(conf => main_conf() . <<'EOF');
worker_processes 2;
events { worker_connections 256; }
http {
    server { listen 127.0.0.1:%%PORT_21%%; location /status { status; } }
}
stream {
    log_format s '$server_port $status "$upstream_addr" $bytes_sent '
                 '$bytes_received $pid $remote_addr $protocol '
                 '$session_time';
    access_log logs/stream.log s;
    log_format pp '$status $proxy_protocol_addr $proxy_protocol_port '
                  '$proxy_protocol_server_addr $proxy_protocol_server_port';

    upstream ab { server 127.0.0.1:%%PORT_1%%; server 127.0.0.1:%%PORT_2%%; }
    upstream lc {
        least_conn;
        server 127.0.0.1:%%PORT_1%%;
        server 127.0.0.1:%%PORT_2%%;
    }
    upstream h {
        hash $remote_addr consistent;
        server 127.0.0.1:%%PORT_1%%;
        server 127.0.0.1:%%PORT_2%%;
    }
    upstream fail {
        server 127.0.0.1:%%PORT_5%% max_fails=0;
        server 127.0.0.1:%%PORT_2%% down;
        server 127.0.0.1:%%PORT_1%%;
    }
    upstream half {
        server 127.0.0.1:%%PORT_5%% max_fails=0;
        server 127.0.0.1:%%PORT_1%%;
    }
    upstream none {
        server 127.0.0.1:%%PORT_5%%;
        server 127.0.0.1:%%PORT_6%%;
    }

    server { listen 127.0.0.1:%%PORT_10%%; proxy_pass ab; }
    server { listen 127.0.0.1:%%PORT_11%%; proxy_pass lc; }
    server { listen 127.0.0.1:%%PORT_12%%; proxy_pass h; }
    server {
        listen 127.0.0.1:%%PORT_13%% backlog=64 so_keepalive=on;
        proxy_pass 127.0.0.1:%%PORT_3%%;
        proxy_buffer_size 4k;
    }
    server { listen 127.0.0.1:%%PORT_14%%; proxy_pass 127.0.0.1:%%PORT_4%%; }
    server {
        listen 127.0.0.1:%%PORT_15%%;
        proxy_pass fail;
        proxy_connect_timeout 5s;
    }
    server {
        listen 127.0.0.1:%%PORT_16%%;
        proxy_pass none;
        access_log logs/none.log s;
    }
    server {
        listen 127.0.0.1:%%PORT_17%%;
        proxy_pass 127.0.0.1:%%PORT_1%%;
        proxy_timeout 1s;
        error_log logs/idle.log info;
    }
    server {
        listen 127.0.0.1:%%PORT_18%%;
        deny 127.0.0.1;
        allow all;
        proxy_pass 127.0.0.1:%%PORT_1%%;
    }
    server {
        listen 127.0.0.1:%%PORT_22%%;
        proxy_pass 127.0.0.1:%%PORT_4%%;
        proxy_protocol on;
    }
    server {
        listen 127.0.0.1:%%PORT_23%%;
        proxy_pass 127.0.0.1:%%PORT_3%%;
        proxy_download_rate 20k;
    }
    server {
        listen 127.0.0.1:%%PORT_24%%;
        proxy_pass 127.0.0.1:%%PORT_3%%;
        proxy_upload_rate 20k;
    }
    server {
        listen 127.0.0.1:%%PORT_25%% proxy_protocol;
        proxy_pass 127.0.0.1:%%PORT_4%%;
        access_log logs/pp.log pp;
    }
    server {
        listen unix:%%PREFIX%%/s.sock;
        proxy_pass unix:%%PREFIX%%/echo.sock;
    }
    server {
        listen 127.0.0.1:%%PORT_26%%;
        proxy_pass half;
        proxy_next_upstream off;
    }
    server {
        listen 127.0.0.1:%%PORT_27%%;
        proxy_pass half;
        proxy_next_upstream_tries 1;
    }
    server {
        listen 127.0.0.1:%%PORT_28%%;
        proxy_pass half;
    }
    server {
        listen 127.0.0.1:%%PORT_20%%;
        proxy_pass 127.0.0.1:%%PORT_4%%;
        proxy_half_close off;
    }
    server {
        listen 127.0.0.1:%%PORT_29%%;
        proxy_pass 127.0.0.1:%%PORT_3%%;
        tcp_nodelay off;
    }
    server {
        listen 127.0.0.1:%%PORT_19%%;
        allow 127.0.0.1;
        deny all;
        proxy_pass 127.0.0.1:%%PORT_1%%;
    }
}
EOF

tcp_server($f->port(1), named('A'));
tcp_server($f->port(2), named('B'));
tcp_server($f->port(3), \&raw_echo);
tcp_server($f->port(4), \&after_fin);
$f->port($_) for 5, 6;      # nothing listens there
{
    # a unix-domain echo
    my $l = IO::Socket::UNIX->new(Local => $f->prefix . '/echo.sock',
                                  Listen => 16) or die "unix backend: $!";
    serve_connections($l, \&raw_echo);
}

$f->allow_log(qr/\[error\]|\[warn\]/);
$f->start or do { done_testing; exit };
my $log = $f->prefix . '/logs/stream.log';
sub log_lines { my $t = Ferry::Test::read_file(shift // $log) // '';
                return split /\n/, $t; }

# ---- bytes both ways, binary, 1 MiB each way ----
{
    my $data = join '', map { chr(($_ * 7 + ($_ >> 8)) & 255) } 0 .. 1048575;
    my $s = connect_to($f->port(13));
    $s->blocking(0);
    my ($off, $got, $buf) = (0, '');
    my $sel = IO::Select->new($s);
    my $deadline = time + 30;
    while (length($got) < length($data) && time < $deadline) {
        my ($r, $w) = IO::Select->select($sel, $off < length($data)
                                               ? $sel : undef, undef, 1);
        if ($w && @$w) {
            my $n = syswrite($s, $data, 65536, $off);
            $off += $n if $n;
            shutdown($s, SHUT_WR) if $off == length($data);
        }
        if ($r && @$r) {
            my $n = sysread($s, $buf, 65536);
            last if !defined $n && !$!{EAGAIN};
            last if defined $n && $n == 0;
            $got .= $buf if $n;
        }
    }
    is(length($got), length($data), '1 MiB through and back: length');
    ok($got eq $data, '1 MiB through and back: every byte intact');
    $s->blocking(1);
    is(read_all($s), '', 'the echo ends after the client\'s FIN');
    close $s;
}

# ---- tcp_nodelay: on by default, on both sockets; off when told ----
# Seen in the workers' system calls (strace): Nagle's algorithm would
# hold back a small piece until the previous one is acknowledged.
SKIP: {
    my $strace = `command -v strace 2>/dev/null` =~ s/\s+$//r;
    skip 'strace is not installed', 2 unless $strace;
    my @w = $f->worker_pids;
    for my $case ([13, 2, 'tcp_nodelay (default on): TCP_NODELAY on the '
                          . 'client\'s and the server\'s socket'],
                  [29, 0, 'tcp_nodelay off: no TCP_NODELAY'])
    {
        my ($port, $want, $name) = @$case;
        my $out = $f->prefix . "/strace.$port";
        my $pid = fork // die "fork: $!";
        if ($pid == 0) {
            open STDERR, '>', "$out.err";
            { exec $strace, '-e', 'trace=setsockopt', '-o', $out,
                   map { ('-p', $_) } @w; }
            POSIX::_exit(127);
        }
        Ferry::Test::wait_until(sub {
            my $n = () = (Ferry::Test::read_file("$out.err") // '')
                         =~ /attached/g;
            $n >= @w;
        }, 10);
        my $s = connect_to($f->port($port));
        syswrite $s, "small";
        shutdown($s, SHUT_WR);
        my $echo = read_all($s);
        close $s;
        kill 'INT', $pid;
        waitpid $pid, 0;
        my @set = grep { /TCP_NODELAY, \[1\]/ }
                  split /\n/, Ferry::Test::read_file($out) // '';
        is(($echo // 'no echo') . ' ' . scalar(@set), "small $want", $name);
    }
}

# ---- unix-domain sockets on both sides ----
{
    my $s = IO::Socket::UNIX->new(Peer => $f->prefix . '/s.sock');
    syswrite $s, "over unix";
    shutdown($s, SHUT_WR);
    is(read_all($s), 'over unix',
       'listen unix: to proxy_pass unix: and back');
    close $s;
}

# ---- half-close: the client's FIN goes on, the reply still comes ----
{
    my $s = connect_to($f->port(14));
    syswrite $s, "hello there";
    shutdown($s, SHUT_WR);
    is(read_all($s), 'got 11 bytes: hello there',
       'half-close: client shut its write side and still got the reply');
    close $s;
}

{
    my $s = connect_to($f->port(20));
    syswrite $s, "hello there";
    shutdown($s, SHUT_WR);
    is(read_all($s), '', 'proxy_half_close off: the first FIN ends the '
                         . 'session, no reply');
    close $s;
}

{
    my $s = connect_to($f->port(22));
    my $cport = $s->sockport;
    syswrite $s, "hi";
    shutdown($s, SHUT_WR);
    my $p = $f->port(22);
    like(read_all($s) // '',
         qr/^got \d+ bytes: PROXY TCP4 127\.0\.0\.1 127\.0\.0\.1 $cport $p\r\nhi\z/,
         'proxy_protocol on: the PROXY v1 line, then the client\'s bytes');
    close $s;
}

# ---- proxy_download_rate, proxy_upload_rate: 20k/s lets 20 KiB go in
# the first second and 20 KiB more each second after, so 60 KiB take at
# least 2 s; a slow machine only makes it longer ----
for my $case ([23, 'proxy_download_rate'], [24, 'proxy_upload_rate']) {
    my $data = 'r' x 61440;
    my $t0 = Time::HiRes::time();
    my $s = connect_to($f->port($case->[0]));
    syswrite $s, $data;      # fits the socket buffers
    shutdown($s, SHUT_WR);
    my $got = read_all($s, 15);
    my $took = Time::HiRes::time() - $t0;
    is(length($got // ''), 61440, "$case->[1]: every byte through");
    cmp_ok($took, '>=', 1.9, "$case->[1]: 60 KiB at 20k/s took 2 s or "
                             . "more (" . sprintf('%.2f', $took) . ")");
    close $s;
}

# ---- listen ... proxy_protocol: v1, v2, broken ----
{
    my $pplog = $f->prefix . '/logs/pp.log';
    my $n = () = log_lines($pplog);     # ferry's start-up probe: 400

    my $s = connect_to($f->port(25));
    syswrite $s, "PROXY TCP4 192.0.2.1 198.51.100.2 5555 443\r\nhello";
    shutdown($s, SHUT_WR);
    is(read_all($s), 'got 5 bytes: hello',
       'PROXY v1 from the client: taken off, the rest proxied');
    close $s;
    ok((wait_until { log_lines($pplog) > $n } 5), 'v1: logged');
    is((log_lines($pplog))[$n], '200 192.0.2.1 5555 198.51.100.2 443',
       'v1: $proxy_protocol_addr, _port, _server_addr, _server_port');

    my $v2 = "\r\n\r\n\0\r\nQUIT\n" . "\x21\x21" . pack('n', 36)
             . pack('n8', 0x2001, 0xdb8, 0, 0, 0, 0, 0, 1)
             . pack('n8', 0x2001, 0xdb8, 0, 0, 0, 0, 0, 2)
             . pack('nn', 6666, 8443);
    $s = connect_to($f->port(25));
    syswrite $s, $v2 . "v2data";
    shutdown($s, SHUT_WR);
    is(read_all($s), 'got 6 bytes: v2data',
       'PROXY v2 from the client: taken off, the rest proxied');
    close $s;
    ok((wait_until { log_lines($pplog) > $n + 1 } 5), 'v2: logged');
    is((log_lines($pplog))[$n + 1], '200 2001:db8::1 6666 2001:db8::2 8443',
       'v2: the IPv6 addresses and ports');

    $s = connect_to($f->port(25));
    syswrite $s, "GET / HTTP/1.0\r\n\r\n";
    is(read_all($s), '', 'no PROXY header: closed without a byte');
    close $s;
    ok((wait_until { log_lines($pplog) > $n + 2 } 5), 'broken: logged');
    is((log_lines($pplog))[$n + 2], '400    ', 'broken: 400, no addresses');
    like($f->error_log, qr/broken header: "GET \/ HTTP\/1\.0\.\.\.\." while reading PROXY protocol/,
         'broken: the error log shows the first bytes');
}

# ---- round robin, least_conn, hash ----
{
    my @seq = map { who($f->port(10)) } 1 .. 4;
    my %n;
    $n{$_}++ for @seq;
    is_deeply(\%n, { A => 2, B => 2 }, "round robin: 2 and 2 (@seq)");
    isnt($seq[0], $seq[1], 'round robin: alternates');
}
{
    my $held = connect_to($f->port(11));
    my $first = read_line($held) // '';
    chomp $first;
    my $other = $first eq 'A' ? 'B' : 'A';
    my $lines = () = log_lines();
    my @seq;
    for (1 .. 3) {
        push @seq, who($f->port(11));
        $lines++;
        # the session is over (its line written) before the next pick
        wait_until { log_lines() >= $lines } 5;
    }
    is_deeply(\@seq, [($other) x 3],
              "least_conn: while one session holds $first, new ones go to "
              . "$other (@seq)");
    close $held;
}
{
    my @seq = map { who($f->port(12)) } 1 .. 5;
    my %n;
    $n{$_}++ for @seq;
    is(scalar(keys %n), 1, "hash \$remote_addr consistent: one server "
                           . "for one address (@seq)");
}

# ---- a server that refuses: the next one; "down" is never used ----
{
    my @seq = map { who($f->port(15)) } 1 .. 4;
    is_deeply(\@seq, [qw(A A A A)],
              "connect refused: on to the next server, never the down one "
              . "(@seq)");
    like($f->error_log, qr/connect\(\) failed .*upstream: "127\.0\.0\.1:\Q${\ $f->port(5)}\E"/,
         'the refused connect is in the error log');
}

# ---- proxy_next_upstream off, proxy_next_upstream_tries 1: a refused
# server is not passed over; by default it is ----
for my $case ([26, 'proxy_next_upstream off'],
              [27, 'proxy_next_upstream_tries 1'],
              [28, 'the default']) {
    my %n;
    $n{who($f->port($case->[0]))}++ for 1 .. 4;
    is_deeply(\%n, $case->[0] == 28 ? { A => 4 } : { A => 2, closed => 2 },
              "$case->[1]: " . join(' ', map { "$_=$n{$_}" } sort keys %n));
}

# ---- every server down: closed at once, 502 ----
{
    my $s = connect_to($f->port(16));
    is(read_all($s), '', 'all servers down: the client is closed');
    close $s;
    ok((wait_until { grep { /^\Q${\ $f->port(16)}\E 502 / } log_lines(
                        $f->prefix . '/logs/none.log') } 5),
       'all servers down: 502 in the access log');
    ok(!grep({ /^\Q${\ $f->port(16)}\E / } log_lines()),
       'a server\'s own access_log replaces the stream level\'s');
}

# ---- proxy_timeout ----
{
    my $s = connect_to($f->port(17));
    is(read_line($s), "A\n", 'proxy_timeout: session up');
    is(read_all($s, 10), '', 'proxy_timeout: the idle session is closed');
    close $s;
    ok((wait_until { (Ferry::Test::read_file($f->prefix . '/logs/idle.log')
                      // '') =~ /\[info\] .*idle for 1000 ms \(proxy_timeout\)/ }
        5), 'proxy_timeout: logged, in the server\'s error_log');
    unlike($f->error_log, qr/idle for 1000 ms/,
           'error_log in a stream server: not in the main error log');
}

# ---- allow / deny ----
{
    my $s = connect_to($f->port(18));
    is(read_all($s), '', 'deny 127.0.0.1: closed without a byte');
    close $s;
    ok((wait_until { grep { /^\Q${\ $f->port(18)}\E 403 "" / } log_lines() } 5),
       'deny: 403 in the access log, no upstream');
    like($f->error_log, qr/access forbidden by rule, client: 127\.0\.0\.1/,
         'deny: logged');
    is(who($f->port(19)), 'A', 'allow 127.0.0.1 before deny all: proxied');
}

# ---- the access log line; two workers share the sessions ----
{
    # the last: ferry's start-up check connected to every port first
    my ($line) = reverse grep { /^\Q${\ $f->port(14)}\E / } log_lines();
    like($line // '', qr/^\d+ 200 "127\.0\.0\.1:\d+" 25 11 \d+ 127\.0\.0\.1 TCP \d+\.\d{3}$/,
         'access log: port, status, upstream, bytes sent and received, '
         . 'pid, address, protocol, session time');
    my ($failed) = grep { /^\Q${\ $f->port(15)}\E / } log_lines();
    like($failed // '', qr/"127\.0\.0\.1:\d+, 127\.0\.0\.1:\d+"/,
         '$upstream_addr lists every server tried');
    my %pids;
    for (log_lines()) { $pids{$1}++ if /" \d+ \d+ (\d+) / }
    is(scalar(keys %pids), 2, 'worker_processes 2: sessions on both '
                               . 'workers');
}

# ---- SIGUSR1 reopens the stream access log ----
{
    rename $log, "$log.old" or die "rename: $!";
    kill 'USR1', $f->master_pid;
    ok((wait_until { -e $log } 5), 'SIGUSR1: the master made the log anew');
    # the workers reopen after the master; round robin sends one of
    # two sessions in a row to each of them
    my %pids;
    my $both = wait_until {
        who($f->port(19));
        %pids = ();
        for (log_lines()) { $pids{$1}++ if /" \d+ \d+ (\d+) / }
        keys(%pids) == 2;
    } 10;
    ok($both, 'SIGUSR1: both workers write to the new file');
    like(Ferry::Test::read_file("$log.old") // '', qr/ 200 /,
         'SIGUSR1: the old file keeps the lines before it');
}

# ---- the status page counts stream sessions as active connections ----
{
    sub active {
        my $r = http_get($f->port(21), '/status?format=json');
        my $j = eval { JSON::PP->new->decode($r->{body} // q()) }
            or do { diag($r->{raw} // $r->{error} // q(none)); return -1 };
        my $sum = 0;
        $sum += $_->{active} // 0 for @{ $j->{workers} };
        return $j->{connections}{active} == $sum ? $sum : -2;
    }
    # the status request itself is one
    ok((wait_until { active() == 1 } 5), 'status: no session, active 1');
    my $s = connect_to($f->port(13));
    syswrite $s, "x";
    my $b;
    sysread($s, $b, 1);
    is(active(), 2, 'status: a stream session held open is an active '
                    . 'connection of its worker');
    close $s;
    ok((wait_until { active() == 1 } 5), 'status: gone when it ends');

    # stream upstreams' servers are listed with http's: sessions counted
    # as requests, the refused server's failures
    my $r = http_get($f->port(21), '/status?format=json');
    my $j = eval { JSON::PP->new->decode($r->{body} // '') } // {};
    my %up = map { $_->{name} => $_ } @{ $j->{upstreams} // [] };
    my $ab = 0;
    $ab += $_->{requests} for @{ $up{ab}{servers} // [] };
    cmp_ok($ab, '>=', 4, 'status: stream upstream "ab" with its sessions');
    my ($dead) = grep { $_->{server} =~ /:\Q${\ $f->port(5)}\E$/ }
                 @{ $up{fail}{servers} // [] };
    cmp_ok($dead->{failures} // 0, '>=', 1,
           'status: the refused server\'s failures');
}

$f->stop;

# ---- reload: a new stream server, an old session keeps flowing ----
{
    my $conf = main_conf() . <<'EOF';
worker_processes 1;
events { worker_connections 64; }
stream {
    server { listen 127.0.0.1:%%PORT_0%%; proxy_pass 127.0.0.1:%%PORT_1%%; }
%%MORE%%
}
EOF
    my $g = Ferry::Test->new(conf => $conf =~ s/%%MORE%%//r);
    tcp_server($g->port(1), named('E'));
    $g->start or do { done_testing; exit };
    my $s = connect_to($g->port(0));
    is(read_line($s), "E\n", 'reload: session open');
    syswrite $s, "one\n";
    is(read_line($s), "one\n", 'reload: session echoes');
    ok(!connect_to($g->port(2)), 'reload: the new port is closed before');

    $g->write_file('conf/ferry.conf', $conf =~ s/%%MORE%%/    server { listen 127.0.0.1:%%PORT_2%%; proxy_pass 127.0.0.1:%%PORT_1%%; }/r);
    kill 'HUP', $g->master_pid;
    ok((wait_until { $g->error_log =~ /reload done: generation 2/ } 10),
       'reload: done');
    is(who($g->port(2)), 'E', 'reload: the added stream server proxies');
    is(who($g->port(0)), 'E', 'reload: the kept one too');
    syswrite $s, "two\n";
    is(read_line($s), "two\n",
       'reload: the session opened before still flows');
    close $s;
    $g->stop;
}

# ---- configuration ----
{
    my $h = Ferry::Test->new(conf => main_conf() . <<'EOF');
events { }
stream {
    upstream backend {
        hash $remote_addr consistent;
        server 127.0.0.1:12345 weight=5 max_fails=3 fail_timeout=30s;
        server 127.0.0.1:12346 max_conns=10;
        zone backend 64k;
    }
    upstream b { server 127.0.0.1:3 down; server 127.0.0.1:4 backup; }
    upstream r { random two least_conn; server 127.0.0.1:1; server 127.0.0.1:2; }
    proxy_connect_timeout 1s;
    proxy_timeout 3m;
    server {
        listen 127.0.0.1:%%PORT_0%% so_keepalive=30m:10:5;
        proxy_pass backend;
        proxy_next_upstream on;
        proxy_next_upstream_tries 2;
        proxy_next_upstream_timeout 10s;
        proxy_buffer_size 16k;
        proxy_half_close on;
        proxy_protocol on;
        proxy_upload_rate 1m;
        proxy_download_rate 0;
        error_log logs/s.log warn;
        access_log off;
        proxy_bind 127.0.0.1;
        allow 10.0.0.0/8;
        deny all;
    }
    server { listen 127.0.0.1:%%PORT_1%%; proxy_pass r; }
    server { listen 127.0.0.1:%%PORT_2%%; proxy_pass b; }
}
EOF
    my ($code, $out) = $h->run('-t');
    is($code, 0, 'ferry -t: an nginx stream configuration is accepted')
        or diag $out;

    my @bad = (
        [ "stream {\n    proxy_pass 127.0.0.1:1;\n}\n",
          qr/"proxy_pass" directive is not allowed here in \S+ferry\.conf:6/,
          'proxy_pass outside a server' ],
        [ "stream {\n    server {\n        listen 127.0.0.1:%%PORT_0%%;\n"
          . "        proxy_pass nosuch;\n    }\n}\n",
          qr/host not found in upstream .*"nosuch" in \S+ferry\.conf:8/,
          'an unknown upstream' ],
        [ "stream {\n    server {\n        listen 127.0.0.1:%%PORT_0%%;\n"
          . "        proxy_set_header X y;\n        proxy_pass 127.0.0.1:1;\n"
          . "    }\n}\n",
          qr/"proxy_set_header" directive is not allowed here in \S+ferry\.conf:8/,
          'an http-only directive in stream' ],
        [ "stream {\n    server {\n        listen 127.0.0.1:%%PORT_0%%;\n"
          . "    }\n}\n",
          qr/no handler for server in \S+ferry\.conf:6/,
          'a server without proxy_pass' ],
        [ "http { server { listen 127.0.0.1:%%PORT_0%%; } }\nstream {\n"
          . "    server {\n        listen 127.0.0.1:%%PORT_0%%;\n"
          . "        proxy_pass 127.0.0.1:1;\n    }\n}\n",
          qr/duplicate "127\.0\.0\.1:\d+" address and port pair in \S+ferry\.conf:8/,
          'a stream listen on an http address' ],
        [ "stream {\n    server {\n        listen 127.0.0.1:%%PORT_0%% udp "
          . "backlog=10;\n        proxy_pass 127.0.0.1:1;\n    }\n}\n",
          qr/"backlog" parameter is incompatible with "udp" in \S+ferry\.conf:7/,
          'listen ... udp backlog=' ],
        [ "stream {\n    server {\n        listen 127.0.0.1:%%PORT_0%%;\n"
          . "        proxy_pass 127.0.0.1:1;\n        access_log logs/x nosuch;\n"
          . "    }\n}\n",
          qr/unknown log format "nosuch" in \S+ferry\.conf:9/,
          'access_log with an unknown format' ],
    );
    conf_refused(@$_) for @bad;
}

done_testing;
