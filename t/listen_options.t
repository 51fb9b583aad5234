#!/usr/bin/perl

# The socket parameters of "listen" (http and stream): rcvbuf= and
# sndbuf= (ss -tlm: skmem rb/tb, which the kernel doubles),
# so_keepalive= (ss -to: a keepalive timer on the accepted connection,
# its idle time), fastopen= and the keepalive interval and count (read
# off the master's listening socket with pidfd_getfd(2)), ipv6only=off
# ([::]:PORT takes an IPv4 client), bind; a reload changing them on the
# socket kept, a reload refused for ipv6only; configuration errors with
# file and line.

use strict;
use warnings;

use Test::More;
use Ferry::Test;
use IO::Socket::IP;
use Socket qw(IPPROTO_TCP);
use POSIX ();

use constant { TCP_KEEPINTVL => 5, TCP_KEEPCNT => 6, TCP_FASTOPEN => 23,
               SYS_pidfd_open => 434, SYS_pidfd_getfd => 438 };

plan skip_all => 'ss (iproute2) is not installed'
    unless `ss -V 2>/dev/null` =~ /iproute/;

# Is there an IPv6 stack to listen on [::] with?
my $v6 = IO::Socket::IP->new(LocalHost => '::1', LocalPort => 0,
                             Listen => 1) ? 1 : 0;

my $conf = sub {
    my ($p0, $v6only) = @_;
    my $six = $v6 ? "server { listen [::]:%%PORT_2%% ipv6only=$v6only; "
                    . "location / { return 200 \"v6 \$remote_addr\\n\"; } }"
                  : '';
    return main_conf() . <<"EOF";
worker_processes 1;
events { worker_connections 64; }
http {
    server {
        listen 127.0.0.1:%%PORT_0%% $p0;
        location / { return 200 "a\\n"; }
    }
    server {
        listen 127.0.0.1:%%PORT_0%% bind;
        server_name b;
        location / { return 200 "b\\n"; }
    }
    server {
        listen 127.0.0.1:%%PORT_1%%;
        location / { return 200 "plain\\n"; }
    }
    $six
}
stream {
    server {
        listen 127.0.0.1:%%PORT_3%% so_keepalive=on sndbuf=20k;
        proxy_pass 127.0.0.1:%%PORT_1%%;
    }
}
EOF
};

# "skmem:(r0,rb98304,t0,tb49152,...)" of the listening socket on $port
sub skmem {
    my ($port) = @_;
    my $out = `ss -tlnmH 'sport = :$port' 2>/dev/null`;
    return $out =~ /skmem:\(r\d+,rb(\d+),t\d+,tb(\d+)/ ? "rb=$1 tb=$2" : "none: $out";
}

# The keepalive timer ss -to shows on the accepted end of a connection
# to $port that a client holds open: "keepalive,6min" or "none".
sub keepalive_timer {
    my ($port) = @_;
    my $c = IO::Socket::IP->new(PeerHost => '127.0.0.1', PeerPort => $port,
                                Timeout => 5) or return "connect: $!";
    my $t = 'none';
    wait_until {
        my $out = `ss -tnoH state established 'sport = :$port' 2>/dev/null`;
        $t = $out =~ /timer:\((keepalive,\d+min)/ ? $1
           : $out =~ /timer:\((keepalive,\d+)/ ? $1 : 'none';
        $out ne '';
    } 5;
    close $c;
    return $t;
}

# An int option of the master's listening socket on $port (root only:
# pidfd_getfd), or undef.
sub listener_opt {
    my ($f, $port, $opt) = @_;
    my $pid = $f->master_pid;
    my $inode;
    for my $tab ("/proc/$pid/net/tcp", "/proc/$pid/net/tcp6") {
        open my $fh, '<', $tab or next;
        while (<$fh>) {
            my @c = split;
            $inode = $c[9] if @c > 9 && $c[3] eq '0A'
                              && $c[1] =~ /:([0-9A-F]{4})$/ && hex($1) == $port;
        }
    }
    return unless $inode;
    opendir my $dh, "/proc/$pid/fd" or return;
    my ($target) = grep { (readlink("/proc/$pid/fd/$_") // '') eq "socket:[$inode]" }
                   readdir $dh;
    return unless defined $target;
    my $pidfd = syscall(SYS_pidfd_open, $pid + 0, 0);
    return if $pidfd < 0;
    my $fd = syscall(SYS_pidfd_getfd, $pidfd, $target + 0, 0);
    POSIX::close($pidfd);
    return if $fd < 0;
    open my $s, '+<&=', $fd or return;
    my $v = getsockopt($s, IPPROTO_TCP, $opt);
    close $s;
    return defined $v ? unpack('i', $v) : undef;
}

my $f = Ferry::Test->new(conf => $conf->(
    'rcvbuf=48k sndbuf=24k so_keepalive=7m:11:3 fastopen=17', 'off'));
$f->start or do { done_testing; exit };

is(http_get($f->port(0), '/')->{body}, "a\n",
   'a listen with every socket option serves');
is(skmem($f->port(0)), 'rb=98304 tb=49152',
   'rcvbuf=48k sndbuf=24k: the listening socket has them (ss -tlm, doubled)');
isnt(skmem($f->port(1)), 'rb=98304 tb=49152', 'not a listen without them');
like(skmem($f->port(3)), qr/tb=40960$/, 'stream listen sndbuf=20k');
# ss rounds the time left down: 6min, or 7min when it looks within the
# armed timer's first tick (the default would be 120min)
like(keepalive_timer($f->port(0)), qr/^keepalive,[67]min$/,
     'so_keepalive=7m:...: accepted connections keep alive, 7 minutes idle');
is(keepalive_timer($f->port(1)), 'none', 'no keepalive without so_keepalive');
like(keepalive_timer($f->port(3)), qr/^keepalive,/,
     'stream listen so_keepalive=on: the accepted connection keeps alive');

SKIP: {
    skip 'reading the master\'s sockets needs root (pidfd_getfd)', 4 if $> != 0;
    is(listener_opt($f, $f->port(0), TCP_KEEPINTVL), 11, 'so_keepalive=...:11:...: TCP_KEEPINTVL 11');
    is(listener_opt($f, $f->port(0), TCP_KEEPCNT), 3, 'so_keepalive=...:3: TCP_KEEPCNT 3');
    is(listener_opt($f, $f->port(0), TCP_FASTOPEN), 17, 'fastopen=17: TCP_FASTOPEN 17');
    is(listener_opt($f, $f->port(1), TCP_FASTOPEN), 0, 'no fastopen= : 0');
}

SKIP: {
    skip 'no IPv6 on this machine', 1 unless $v6;
    is(http_get($f->port(2), '/')->{body}, "v6 ::ffff:127.0.0.1\n",
       'listen [::]:PORT ipv6only=off: an IPv4 client is served by it');
}

# without "bind", 127.0.0.1:PORT beside *:PORT is served by the
# wildcard's socket, its servers chosen by the local address (nginx)
{
    my $g = Ferry::Test->new(conf => main_conf() . <<'EOF');
worker_processes 1;
events { worker_connections 64; }
http {
    server { listen %%PORT_0%%; location / { return 200 "wild $server_addr\n"; } }
    server { listen 127.0.0.1:%%PORT_0%%; location / { return 200 "lo1\n"; } }
    server { listen 127.0.0.1:%%PORT_0%%; server_name other;
             location / { return 200 "other\n"; } }
    server { listen 127.0.0.1:%%PORT_2%%; location / { return 200 "up2\n"; } }
    server { listen 127.0.0.1:%%PORT_3%%; location / { return 200 "up3\n"; } }
}
stream {
    server { listen %%PORT_1%%; proxy_pass 127.0.0.1:%%PORT_2%%; }
    server { listen 127.0.0.1:%%PORT_1%%; proxy_pass 127.0.0.1:%%PORT_3%%; }
}
EOF
    $g->start;
    my $get = sub {
        my ($ip, $host, $port) = @_;
        my $s = IO::Socket::IP->new(PeerHost => $ip, PeerPort => $port // $g->port(0),
                                    Timeout => 5) or return "connect: $!";
        print $s "GET / HTTP/1.1\r\nHost: $host\r\nConnection: close\r\n\r\n";
        local $/;
        my $r = <$s> // '';
        return $r =~ /\r\n\r\n(.*)\z/s ? $1 : $r;
    };
    is($get->('127.0.0.1', 'x'), "lo1\n",
       'listen 127.0.0.1:PORT beside listen PORT: its server answers on 127.0.0.1');
    is($get->('127.0.0.1', 'other'), "other\n", '... and its names are looked up');
    is($get->('127.0.0.2', 'other'), "wild 127.0.0.2\n",
       'another local address goes to the wildcard\'s servers');
    my @socks = grep { /LISTEN/ } `ss -tlnH 'sport = :${\ $g->port(0)}' 2>/dev/null`;
    is(scalar(@socks), 1, 'one listening socket for the port (ss -tln)');
    like($socks[0] // '', qr/0\.0\.0\.0:\d+/, '... the wildcard\'s');
    {
        is($get->('127.0.0.1', 'x', $g->port(1)), "up3\n",
           'stream: listen 127.0.0.1:PORT beside listen PORT: its server proxies');
        is($get->('127.0.0.2', 'x', $g->port(1)), "up2\n",
           'stream: another local address: the wildcard\'s server');
    }

    # a keep-alive connection to the shared address, handed back by its
    # draining worker on a reload, stays with that address's servers
    my $c = Ferry::Test::Client->new($g->port(0));
    $c->send("GET / HTTP/1.1\r\nHost: x\r\n\r\n");
    is(($c->read_response // {})->{body}, "lo1\n", 'keep-alive: first request');
    kill 'HUP', $g->master_pid;
    ok((wait_until { $g->error_log =~ /reload done/ } 10), 'reloaded');
    $c->send("GET / HTTP/1.1\r\nHost: x\r\n\r\n");
    is(($c->read_response // {})->{body}, "lo1\n",
       'keep-alive: the request after the reload, same address\'s server');
    $g->stop;
}

# a reload changes the options of the socket it keeps
$f->write_file('conf/ferry.conf', $conf->('rcvbuf=56k sndbuf=24k', 'off'));
kill 'HUP', $f->master_pid;
ok((wait_until { $f->error_log =~ /reload done/ } 10), 'reloaded');
is(skmem($f->port(0)), 'rb=114688 tb=49152', 'rcvbuf=56k after the reload');
is(keepalive_timer($f->port(0)), 'none',
   'so_keepalive dropped by the reload: no keepalive any more');
SKIP: {
    skip 'reading the master\'s sockets needs root (pidfd_getfd)', 1 if $> != 0;
    is(listener_opt($f, $f->port(0), TCP_FASTOPEN), 0,
       'fastopen= dropped by the reload: TCP_FASTOPEN 0');
}

SKIP: {
    skip 'no IPv6 on this machine', 3 unless $v6;
    # IPV6_V6ONLY cannot change on a bound socket: the reload is refused
    $f->write_file('conf/ferry.conf', $conf->('rcvbuf=56k sndbuf=24k', 'on'));
    $f->allow_log(qr/ipv6only of \[::\]:\d+ cannot be changed by a reload|reload failed/);
    kill 'HUP', $f->master_pid;
    ok((wait_until { $f->error_log =~ /ipv6only of \[::\]:${\ $f->port(2)} cannot be changed by a reload/ } 10),
       'a reload changing ipv6only is refused, saying why');
    ok((wait_until { $f->error_log =~ /reload failed/ } 10), '... the reload failed');
    is(http_get($f->port(2), '/')->{body}, "v6 ::ffff:127.0.0.1\n",
       '... and the socket still takes IPv4 clients');
}

$f->stop;

# configuration errors: file and line
my $srv = sub { "server { listen $_[0]; }" };
http_conf_refused($srv->('127.0.0.1:%%PORT_0%% rcvbuf=lots'),
                  qr/invalid rcvbuf "lots" in "listen" in \S+ferry\.conf:6/, 'rcvbuf=lots');
http_conf_refused($srv->('127.0.0.1:%%PORT_0%% sndbuf=0'),
                  qr/invalid sndbuf "0" in "listen" in \S+ferry\.conf:6/, 'sndbuf=0');
http_conf_refused($srv->('127.0.0.1:%%PORT_0%% fastopen=-1'),
                  qr/invalid fastopen "-1" in "listen" in \S+ferry\.conf:6/, 'fastopen=-1');
http_conf_refused($srv->('unix:/tmp/x.sock fastopen=5'),
                  qr/"fastopen" is a TCP option .* in \S+ferry\.conf:6/, 'fastopen on a unix socket');
http_conf_refused($srv->('[::1]:%%PORT_0%% ipv6only=yes'),
                  qr/invalid ipv6only flags "yes" in "listen" in \S+ferry\.conf:6/, 'ipv6only=yes');
http_conf_refused($srv->('127.0.0.1:%%PORT_0%% so_keepalive=1:2:3:4'),
                  qr/invalid so_keepalive value: "so_keepalive=1:2:3:4" in \S+ferry\.conf:6/,
                  'so_keepalive with four fields');
http_conf_refused("server { listen 127.0.0.1:%%PORT_0%% rcvbuf=8k; }\n"
                  . "    server { listen 127.0.0.1:%%PORT_0%% so_keepalive=on; }",
                  qr/duplicate listen options for 127\.0\.0\.1:\d+ in \S+ferry\.conf:7/,
                  'two listens of one address giving socket options');
# an address with "bind" beside a wildcard of its port: two sockets
# cannot share the address
http_conf_refused("server { listen 127.0.0.1:%%PORT_0%% bind; }\n"
                  . "    server { listen %%PORT_0%%; }",
                  qr/listen 0\.0\.0\.0:(\d+) in \S+ferry\.conf:7 and listen 127\.0\.0\.1:\1 in \S+ferry\.conf:6 overlap/,
                  'a wildcard and an address with bind on one port');
http_conf_refused("server { listen 127.0.0.1:%%PORT_0%% rcvbuf=8k; }\n"
                  . "    server { listen %%PORT_0%%; }",
                  qr/listen 0\.0\.0\.0:(\d+) in \S+ferry\.conf:7 and listen 127\.0\.0\.1:\1 in \S+ferry\.conf:6 overlap/,
                  'a socket option asks for a socket of its own too');
http_conf_refused("server { listen [::]:%%PORT_0%% ipv6only=off; }\n"
                  . "    server { listen 127.0.0.1:%%PORT_0%%; }",
                  qr/listen 127\.0\.0\.1:(\d+) in \S+ferry\.conf:7 and listen \[::\]:\1 in \S+ferry\.conf:6 overlap/,
                  '[::]:PORT ipv6only=off and an IPv4 address on that port');
{
    my $g = Ferry::Test->new(conf => main_conf() . "events { }\nhttp {\n"
        . "    server { listen [::]:%%PORT_0%% ipv6only=on; listen %%PORT_0%%; listen 127.0.0.1:%%PORT_1%%; }\n}\n");
    my ($rc, $out) = $g->run('-t');
    is($rc, 0, '[::]:PORT (ipv6only=on) beside *:PORT is accepted') or diag $out;
}
{
    my $g = Ferry::Test->new(conf => main_conf() . "events { }\nstream {\n"
        . "    server { listen 127.0.0.1:%%PORT_0%% udp fastopen=3; proxy_pass 127.0.0.1:1; }\n}\n");
    my ($rc, $out) = $g->run('-t');
    isnt($rc, 0, 'stream listen udp fastopen= is refused');
    like($out, qr/"fastopen" parameter is incompatible with "udp" in \S+ferry\.conf:6/,
         '... file and line');
}
{
    my $g = Ferry::Test->new(conf => main_conf() . "events { }\nhttp {\n"
        . "    server { listen 127.0.0.1:%%PORT_0%% ipv6only=on; }\n}\n");
    my ($rc, $out) = $g->run('-t');
    is($rc, 0, 'ipv6only= on an IPv4 address is accepted (as nginx) ...');
    like($out, qr/\[warn\] ipv6only is not supported on addr "127\.0\.0\.1:\d+", ignored in \S+ferry\.conf:6/,
         '... with a warning');
}

done_testing;
