#!/usr/bin/perl

# proxy_extras.t -- what an upstream's X-Accel-* fields do, and the
# proxy directives around the upstream connection:
#
#   X-Accel-Redirect      an internal redirect to the URI (or @name) the
#                         backend names: the file location answers with
#                         the backend's Content-Type, Set-Cookie and
#                         Content-Disposition kept and nothing else of
#                         its response; GET for the new URI, arguments
#                         passed; unsafe URIs refused with 404; the
#                         backend's connection kept when its body was
#                         empty, closed when it was not read
#   X-Accel-Buffering     yes / no: proxy_buffering for the response
#                         (seen in $upstream_response_time with a client
#                         that waits before reading)
#   proxy_ignore_headers  X-Accel-Redirect ignored: the backend's own
#                         answer goes through (the field still hidden)
#   proxy_ignore_client_abort   a client that goes away leaves the
#                         backend's connection open until it answers
#   proxy_socket_keepalive      SO_KEEPALIVE on the worker's upstream
#                         socket (read off the socket with pidfd_getfd)
#   proxy_bind            the backend sees the local address asked for,
#                         also from a variable, also "transparent"
#   resolver, resolver_timeout  accepted, values checked (their effect
#                         on proxy_pass with variables: t/resolver.t)
#
# and the configuration errors, with file and line.

use strict;
use warnings;

use Test::More;
use Ferry::Test;
use IO::Select;
use IO::Socket::INET;
use POSIX ();
use Time::HiRes ();
use Socket qw(SOL_SOCKET SO_KEEPALIVE);

use constant { SYS_pidfd_open => 434, SYS_pidfd_getfd => 438 };

my $f = Ferry::Test->new(conf => main_conf() . <<'EOF');
worker_processes 1;
events { worker_connections 64; }
http {
    types { text/plain txt; }
    resolver 127.0.0.1 [::1]:5353 valid=30s ipv6=off;
    resolver_timeout 5s;
    upstream b { server 127.0.0.1:%%PORT_1%%; keepalive 4; }
    upstream b2 { server 127.0.0.1:%%PORT_2%%; }
    log_format ut '$uri $upstream_response_time';

    server {
        listen 127.0.0.1:%%PORT_0%%;
        root html;

        location / { proxy_pass http://b; }
        location /files/ { internal; }
        location /back/ {
            add_header X-Up "$upstream_addr $upstream_status";
            proxy_pass http://b;
        }
        location @named { return 200 "named $request_method $uri\n"; }
        location /ign/ {
            proxy_ignore_headers X-Accel-Redirect Expires Cache-Control
                                 Set-Cookie Vary X-Accel-Expires
                                 X-Accel-Limit-Rate X-Accel-Charset;
            proxy_pass http://b;
        }
        location /xab/ {
            proxy_buffers 16 1m;
            access_log logs/xab.log ut;
            proxy_pass http://b;
        }
        location /xaboff/ {
            proxy_buffering off;
            proxy_buffers 16 1m;
            access_log logs/xab.log ut;
            proxy_pass http://b;
        }
        location /xabign/ {
            proxy_ignore_headers X-Accel-Buffering;
            proxy_buffers 16 1m;
            access_log logs/xab.log ut;
            proxy_pass http://b;
        }
        location /abort-off/ { proxy_pass http://b2; }
        location /abort-on/ {
            proxy_ignore_client_abort on;
            proxy_pass http://b2;
        }
        location /ka-on/ { proxy_socket_keepalive on; proxy_pass http://b2; }
        location /ka-off/ { proxy_pass http://b2; }
        location /bind/ { proxy_bind 127.0.0.2; proxy_pass http://b2; }
        location /bindvar/ { proxy_bind $arg_src; proxy_pass http://b2; }
        location /bindtp/ {
            proxy_bind 127.0.0.4 transparent;
            proxy_pass http://b2;
        }
        location /bindoff/ {
            proxy_bind 127.0.0.2;
            location /bindoff/in/ { proxy_bind off; proxy_pass http://b2; }
        }
    }
}
EOF

my $dir = $f->prefix;
$f->write_file('html/files/a.txt', "the file\n");
$f->write_file('html/secret', "secret\n");

sub note_line {
    my ($file, $line) = @_;
    open my $fh, '>>', "$dir/$file" or return;
    syswrite $fh, $line;
    close $fh;
}

# more than the kernel's socket buffers between ferry and a client that
# does not read can hold (tcp_wmem's 4 MiB at most), less than the 16
# MiB of proxy_buffers
my $BIG = 8 << 20;

# backend 1: the answers with X-Accel-* fields; every request noted
# with the process that serves its connection (one per connection)
my $b = Ferry::Test::Backend->new(port => $f->port(1), handler => sub {
    my ($req) = @_;
    my $u = $req->{uri};
    note_line('conns', "$$ $u\n");
    my @common = ('Content-Type' => 'application/x-app',
                  'Set-Cookie' => 'sid=42; Path=/',
                  'Content-Disposition' => 'attachment; filename="a.txt"',
                  'X-Other' => 'not kept', 'X-Accel-Charset' => 'utf-8');
    return { headers => [@common, 'X-Accel-Redirect' => '/files/a.txt'] }
        if $u =~ m{^/(?:ign/)?xa/file};
    return { headers => ['X-Accel-Redirect' => '/files/a.txt'],
             body => 'x' x 200000 }
        if $u =~ m{^/xa/big};
    return { headers => ['X-Accel-Redirect' => '/back/dest?a=1&b=2'] }
        if $u =~ m{^/xa/args};
    return { headers => [@common, 'X-Accel-Redirect' => '@named'] }
        if $u =~ m{^/xa/named};
    return { headers => ['X-Accel-Redirect' => '/files/../secret'] }
        if $u =~ m{^/xa/unsafe1};
    return { headers => [@common,
                         'X-Accel-Redirect' => '/files/%2e%2E/secret'] }
        if $u =~ m{^/xa/unsafe2};
    return { headers => ['X-Accel-Redirect' => '/files/a.txt'],
             body => "upstream body\n" }
        if $u =~ m{^/ign/};
    return { headers => [$1 eq 'none' ? () : ('X-Accel-Buffering' => $1)],
             body => 'x' x $BIG }
        if $u =~ m{^/xab(?:off|ign)?/(yes|none|no)\b};
    return Ferry::Test::Backend::echo($req);
});

# backend 2: notes who connected (address, port); /abort-*: whether the
# proxy closed the connection within 1.5 s; /ka-*: holds the connection
# until the test says go
my $b2 = Ferry::Test::Backend->new(port => $f->port(2), raw => sub {
    my ($sock, $req) = @_;
    my $u = $req->{uri};
    note_line('peers', "$u " . $sock->peerhost . ' ' . $sock->peerport . "\n");
    if ($u =~ m{^/abort}) {
        my $seen = 'no-eof';
        if (IO::Select->new($sock)->can_read(1.5)) {
            my $n = sysread $sock, my $junk, 1;
            $seen = 'eof' unless $n;
        }
        note_line('abort', "$u $seen\n");
    } elsif ($u =~ m{^/ka}) {
        my $t = time + 10;
        Time::HiRes::sleep(0.02) until -e "$dir/go" || time > $t;
    }
    syswrite $sock, "HTTP/1.1 200 OK\r\nContent-Length: 3\r\n"
                  . "Connection: close\r\n\r\nok\n";
});

$f->allow_log(qr/unsafe URI|prematurely closed|failed \(32: Broken pipe\)|failed \(104: Connection reset/);
$f->start or do { done_testing; exit };

# the usual shape: the files X-Accel-Redirect names are "internal"
is(http_get($f->port(0), '/files/a.txt')->{status}, 404,
   'an internal location asked for directly: 404');
my ($worker) = $f->wait_workers(1);

sub conns {
    my %pid;
    for (split /\n/, Ferry::Test::read_file("$dir/conns") // '') {
        my ($p, $u) = split / /;
        $pid{$u} = $p;
    }
    return \%pid;
}

# ---- X-Accel-Redirect --------------------------------------------------

my $r = http_get($f->port(0), '/xa/file');
is($r->{status}, 200, 'X-Accel-Redirect: the file location answers');
is($r->{body}, "the file\n", '... with the file');
is($r->{headers}{'content-type'}, 'application/x-app',
   '... and the upstream\'s Content-Type');
is($r->{headers}{'set-cookie'}, 'sid=42; Path=/', '... its Set-Cookie');
is($r->{headers}{'content-disposition'}, 'attachment; filename="a.txt"',
   '... its Content-Disposition');
ok(!exists $r->{headers}{'x-other'}, '... nothing else of its fields');
ok(!grep({ /^x-accel/ } keys %{ $r->{headers} }), '... no X-Accel-* field');
is($r->{headers}{'content-length'}, 9, '... the file\'s length');

# the upstream's connection: kept after an empty body, so the next
# request goes on it; closed after a body that was not read
http_get($f->port(0), '/plain1');
my $c = conns();
is($c->{'/plain1'}, $c->{'/xa/file'},
   'the connection of an empty X-Accel-Redirect response is kept');
$r = http_get($f->port(0), '/xa/big');
is($r->{body}, "the file\n", 'a response with a body: the file answers');
ok(length($r->{raw}) < 10000, '... none of the upstream body');
http_get($f->port(0), '/plain2');
$c = conns();
isnt($c->{'/plain2'}, $c->{'/xa/big'},
     '... and its connection, not read to the end, is not kept');

$r = http($f->port(0), build_request(method => 'POST', path => '/xa/args',
          headers => [Connection => 'close'], body => 'data'));
is($r->{status}, 200, 'X-Accel-Redirect to a proxied URI');
like($r->{body}, qr/^method GET\nuri \/back\/dest\?a=1&b=2\n/,
     '... GET, with the arguments it names');
like($r->{body}, qr/body-length 0/, '... and no body');
my $up = '127.0.0.1:' . $f->port(1);
is($r->{headers}{'x-up'}, "$up : $up 200 : 200",
   '... $upstream_addr and $upstream_status name both, " : " between');

$r = http($f->port(0), build_request(method => 'POST', path => '/xa/named',
          headers => [Connection => 'close'], body => 'data'));
is($r->{body}, "named POST /xa/named\n",
   'X-Accel-Redirect to @named: method and URI as they were');
is($r->{headers}{'set-cookie'}, 'sid=42; Path=/',
   '... Set-Cookie kept there too');
is($r->{headers}{'content-type'}, 'application/x-app',
   '... and its Content-Type for a "return"');

$r = http_get($f->port(0), '/xa/unsafe1');
is($r->{status}, 404, 'X-Accel-Redirect with ".." is refused: 404');
$r = http_get($f->port(0), '/xa/unsafe2');
is($r->{status}, 404, '... also %-encoded');
ok(!exists $r->{headers}{'set-cookie'}, '... (an error keeps no field)');
like($f->error_log,
     qr/\[error\] .*unsafe URI "\/files\/%2e%2E\/secret" was detected/,
     '... logged as nginx does');

$r = http_get($f->port(0), '/xa/file', Range => 'bytes=0-2');
is($r->{status}, 206, 'Range applies to the file');
is($r->{body}, 'the', '... its bytes');

# ---- proxy_ignore_headers ----------------------------------------------

$r = http_get($f->port(0), '/ign/x');
is($r->{body}, "upstream body\n",
   'proxy_ignore_headers X-Accel-Redirect: the upstream answers');
ok(!exists $r->{headers}{'x-accel-redirect'}, '... the field still hidden');
$r = http_get($f->port(0), '/ign/xa/file');
is($r->{headers}{'x-other'}, 'not kept',
   '... all of its fields, as without a redirect');

# ---- X-Accel-Buffering -------------------------------------------------

# A client that reads nothing for a second, then all: when ferry reads
# the upstream ahead (buffering), the upstream is done at once; when it
# does not, only after the client began to read.  $upstream_response_time
# in the access log says which.
sub upstream_time {
    my ($uri) = @_;
    my $s = IO::Socket::INET->new(Proto => 'tcp') or return 'socket';
    setsockopt($s, SOL_SOCKET, Socket::SO_RCVBUF, 4096);
    connect($s, Socket::pack_sockaddr_in($f->port(0),
                                         Socket::inet_aton('127.0.0.1')))
        or return 'connect';
    syswrite $s, "GET $uri HTTP/1.1\r\nHost: localhost\r\n"
               . "Connection: close\r\n\r\n";
    Time::HiRes::sleep(1.2);
    my ($n, $total) = (0, 0);
    while (($n = sysread $s, my $buf, 1 << 20)) {
        $total += $n;
    }
    close $s;
    return 'short' if $total < $BIG;
    my $t;
    wait_until {
        ($t) = (Ferry::Test::read_file($f->prefix . '/logs/xab.log') // '')
               =~ /^\Q$uri\E ([\d.]+)$/m;
        defined $t;
    } 5;
    return $t // 'none';
}
cmp_ok(upstream_time('/xab/none'), '<', 0.8,
       'proxy_buffering on: the upstream is read ahead of the client');
cmp_ok(upstream_time('/xab/no'), '>=', 1,
       'X-Accel-Buffering: no turns that off for the response');
cmp_ok(upstream_time('/xaboff/none'), '>=', 1,
       'proxy_buffering off: the upstream waits for the client');
cmp_ok(upstream_time('/xaboff/yes'), '<', 0.8,
       'X-Accel-Buffering: yes turns read-ahead on for the response');
cmp_ok(upstream_time('/xabign/no'), '<', 0.8,
       'proxy_ignore_headers X-Accel-Buffering: the location\'s buffering');

# ---- proxy_ignore_client_abort -----------------------------------------

sub abort_seen {
    my ($uri) = @_;
    my $cl = Ferry::Test::Client->new($f->port(0));
    $cl->send("GET $uri HTTP/1.1\r\nHost: localhost\r\n\r\n");
    Time::HiRes::sleep(0.3);
    $cl->close;
    my $seen;
    wait_until {
        ($seen) = (Ferry::Test::read_file("$dir/abort") // '')
                  =~ /^\Q$uri\E (\S+)$/m;
        defined $seen;
    } 5;
    return $seen // 'nothing';
}
is(abort_seen('/abort-off/1'), 'eof',
   'a client that goes away closes the upstream connection');
is(abort_seen('/abort-on/1'), 'no-eof',
   'proxy_ignore_client_abort on: the upstream gets to answer');

# ---- proxy_socket_keepalive --------------------------------------------

# the worker's end of its connection from local port $lport, duplicated
# into this process
sub worker_socket {
    my ($lport) = @_;
    # /proc/net/tcp is read in pieces while other sockets come and go,
    # and a line can fall between two pieces: look more than once
    my $inode;
    for (1 .. 5) {
        open my $fh, '<', "/proc/$worker/net/tcp" or return;
        while (<$fh>) {
            my @c = split;
            next unless @c > 9 && $c[1] =~ /:([0-9A-F]{4})$/ && hex($1) == $lport;
            next unless $c[3] eq '01';                 # ESTABLISHED
            $inode = $c[9];
        }
        close $fh;
        last if $inode;
    }
    return unless $inode;
    opendir my $dh, "/proc/$worker/fd" or return;
    my ($target) = grep {
        (readlink("/proc/$worker/fd/$_") // '') eq "socket:[$inode]"
    } readdir $dh;
    closedir $dh;
    return unless defined $target;
    my $pidfd = syscall(SYS_pidfd_open, $worker + 0, 0);
    return if $pidfd < 0;
    my $fd = syscall(SYS_pidfd_getfd, $pidfd, $target + 0, 0);
    POSIX::close($pidfd);
    return if $fd < 0;
    open my $s, '+<&=', $fd or return;
    return $s;
}

sub peer_of {
    my ($uri) = @_;
    my @p;
    wait_until {
        @p = (Ferry::Test::read_file("$dir/peers") // '')
             =~ /^\Q$uri\E(?:\?\S*)? (\S+) (\d+)$/m;
        @p;
    } 5;
    return @p;
}

SKIP: {
    skip 'reading the worker\'s sockets needs root (pidfd_getfd)', 2
        if $> != 0;
    for my $case (['/ka-on/1', 1], ['/ka-off/1', 0]) {
        my ($uri, $want) = @$case;
        unlink "$dir/go";
        my $cl = Ferry::Test::Client->new($f->port(0));
        $cl->send("GET $uri HTTP/1.1\r\nHost: localhost\r\n"
                  . "Connection: close\r\n\r\n");
        my (undef, $port) = peer_of($uri);
        my $s = $port ? worker_socket($port) : undef;
        my $ka = $s ? unpack('i', getsockopt($s, SOL_SOCKET, SO_KEEPALIVE)
                                  // pack('i', -1))
                    : 'none';
        close $s if $s;
        note_line('go', "go\n");
        $cl->read_response;
        $cl->close;
        is($ka, $want, "SO_KEEPALIVE on the upstream socket: $uri");
    }
}

# ---- proxy_bind --------------------------------------------------------

sub bound {
    my ($uri) = @_;
    my $res = http_get($f->port(0), $uri);
    my ($addr) = peer_of($uri =~ s/\?.*//r);
    return ($res->{body} // '') . ($addr // 'none');
}
is(bound('/bind/1'), "ok\n127.0.0.2",
   'proxy_bind: the backend sees the address');
is(bound('/bindvar/1?src=127.0.0.3'), "ok\n127.0.0.3", '... from a variable');
is(bound('/bindvar/2'), "ok\n127.0.0.1", '... empty: not bound');
is(bound('/bindoff/in/1'), "ok\n127.0.0.1", '... off: not bound');
SKIP: {
    skip 'IP_TRANSPARENT needs CAP_NET_ADMIN', 1 if $> != 0;
    is(bound('/bindtp/1'), "ok\n127.0.0.4", '... transparent');
}

$f->stop;

# ---- configuration errors ----------------------------------------------

server_conf_refused('proxy_ignore_headers X-Accel-Redirect Foo;',
    qr/invalid value "Foo" in .*ferry\.conf:8/, 'proxy_ignore_headers Foo');
server_conf_refused('proxy_bind 127.0.0;',
    qr/invalid address "127\.0\.0" in .*ferry\.conf:8/,
    'proxy_bind 127.0.0');
server_conf_refused('proxy_bind 127.0.0.1 see-through;',
    qr/invalid parameter "see-through" in .*ferry\.conf:8/,
    'proxy_bind ... see-through');
server_conf_refused('proxy_socket_keepalive yes;',
    qr/ferry\.conf:8/, 'proxy_socket_keepalive yes');
server_conf_refused('proxy_ignore_client_abort maybe;',
    qr/ferry\.conf:8/, 'proxy_ignore_client_abort maybe');
server_conf_refused('resolver 127.0.0.1 ipv4=off ipv6=off;',
    qr/"ipv4" and "ipv6" cannot both be "off" in .*ferry\.conf:8/,
    'resolver ipv4=off ipv6=off');
server_conf_refused('resolver 127.0.0.1 valid=soon;',
    qr/invalid parameter: valid=soon in .*ferry\.conf:8/,
    'resolver valid=soon');
server_conf_refused('resolver valid=5s;',
    qr/no name servers defined in .*ferry\.conf:8/, 'resolver without one');
server_conf_refused('resolver_timeout never;',
    qr/ferry\.conf:8/, 'resolver_timeout never');
server_conf_refused("resolver 127.0.0.1;\n        resolver 127.0.0.2;",
    qr/is duplicate in .*ferry\.conf:9/, 'resolver twice');

done_testing;
