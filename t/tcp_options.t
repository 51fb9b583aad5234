#!/usr/bin/perl
# tcp_options.t -- sendfile, tcp_nopush and tcp_nodelay as nginx has
# them, and the hash-size directives nginx configurations carry
# (types_hash_max_size and its kin), which ferry checks and needs not.
#
# The socket options are read off the worker's own sockets: the test
# finds the worker's end of a connection in /proc (by the peer's port)
# and takes a copy of that descriptor with pidfd_getfd(2), so what is
# asserted is the state the kernel holds, not a log line.  tcp_nopush
# is also seen as a client sees it: the number of data segments a
# response arrived in (TCP_INFO).  sendfile is seen in the worker's
# read-call count (/proc/PID/io): one sendfile() against a read per
# 16 KiB (output_buffers 1 16k).

use strict;
use warnings;
use Test::More;
use lib 't/lib';
use Ferry::Test;
use IO::Socket::INET;
use IO::Select;
use IPC::Open3;
use Socket qw(IPPROTO_TCP TCP_NODELAY);

use constant { TCP_CORK => 3, TCP_INFO => 11,
               SYS_pidfd_open => 434, SYS_pidfd_getfd => 438 };

plan skip_all => 'reading the worker\'s sockets needs root (pidfd_getfd)'
    if $> != 0;
plan skip_all => 'openssl is not installed' unless `openssl version 2>&1` =~ /^OpenSSL/;

my $f = Ferry::Test->new(conf => main_conf() . <<'EOF');
worker_processes 1;
events { worker_connections 64; }
http {
    types { text/plain txt; application/octet-stream bin; }
    upstream b { server 127.0.0.1:%%PORT_1%%; }
    server {
        listen 127.0.0.1:%%PORT_0%%;
        root html;
        location /nopush/ { tcp_nopush on; }
        location /nopush-nosf/ { tcp_nopush on; sendfile off; }
        location /nosf/ { sendfile off; output_buffers 1 16k; }
        location / { proxy_pass http://b; }
        location /static/ { }
    }
    server {
        listen 127.0.0.1:%%PORT_2%%;
        tcp_nodelay off;
        root html;
        location / { proxy_pass http://b; }
        location /static/ { }
    }
    server {
        listen 127.0.0.1:%%PORT_3%% ssl;
        ssl_certificate t.crt;
        ssl_certificate_key t.key;
        location / { return 200 "tls\n"; }
    }
    server {
        listen 127.0.0.1:%%PORT_4%% ssl;
        ssl_certificate t.crt;
        ssl_certificate_key t.key;
        tcp_nodelay off;
        location / { return 200 "tls\n"; }
    }
}
EOF

my $p = $f->prefix;
my $small = "a small file, header and body fit one segment\n" x 20;
my $big = join '', map { chr(($_ * 13 + ($_ >> 9)) & 255) } 0 .. 1024 * 1024 - 1;
for my $d (qw(nopush nopush-nosf nosf static)) {
    $f->write_file("html/$d/small.txt", $small);
    $f->write_file("html/$d/big.bin", $big);
}
system("openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 "
       . "-nodes -days 2 -subj /CN=t -keyout $p/conf/t.key -out $p/conf/t.crt "
       . ">/dev/null 2>&1") == 0 or die "openssl req failed\n";

# The backend: /stream sends its header and a first piece, then waits
# for the test to let it finish (a file appears); /ws answers 101 and
# echoes; anything else a complete small answer.
my $go = "$p/go";
my $be = Ferry::Test::Backend->new(port => $f->port(1), raw => sub {
    my ($sock, $req) = @_;
    if ($req->{uri} =~ m{^/ws}) {
        syswrite $sock, "HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\n"
                      . "Connection: Upgrade\r\n\r\n";
        while (sysread($sock, my $data, 65536)) {
            syswrite $sock, "echo:$data";
        }
        return;
    }
    if ($req->{uri} =~ m{^/stream}) {
        syswrite $sock, "HTTP/1.1 200 OK\r\nContent-Length: 10\r\n\r\nfirst";
        my $t = time + 10;
        Time::HiRes::sleep(0.02) until -e $go || time > $t;
        syswrite $sock, "-last";
        return;
    }
    syswrite $sock, "HTTP/1.1 200 OK\r\nContent-Length: 3\r\n\r\nok\n";
});

$f->start or do { done_testing; exit };
my ($worker) = $f->wait_workers(1);

# ---- reading the worker's sockets ---------------------------------------

# The worker's descriptor for the TCP connection whose far end has port
# $peer, duplicated into this process; undef if there is none (yet).
sub worker_socket {
    my ($peer) = @_;
    # /proc/net/tcp is read in pieces while other sockets come and go,
    # and a line can fall between two pieces: look more than once
    # before calling the connection gone
    my $inode;
    for (1 .. 5) {
        open my $fh, '<', "/proc/$worker/net/tcp" or return;
        while (<$fh>) {
            my @c = split;
            next unless @c > 9 && $c[2] =~ /:([0-9A-F]{4})$/ && hex($1) == $peer;
            next unless $c[3] eq '01';                 # ESTABLISHED
            $inode = $c[9];
        }
        close $fh;
        last if $inode;
    }
    return unless $inode;
    opendir my $dh, "/proc/$worker/fd" or return;
    my ($target) = grep { (readlink("/proc/$worker/fd/$_") // '') eq "socket:[$inode]" }
                   readdir $dh;
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

# TCP_NODELAY and TCP_CORK on the worker's end of the connection whose
# far end has port $peer: "nodelay=N cork=N", or "none".
sub opts {
    my ($peer) = @_;
    my $s = worker_socket($peer) or return 'none';
    my $nd = unpack 'i', getsockopt($s, IPPROTO_TCP, TCP_NODELAY) // pack('i', -1);
    my $ck = unpack 'i', getsockopt($s, IPPROTO_TCP, TCP_CORK) // pack('i', -1);
    close $s;
    return "nodelay=$nd cork=$ck";
}

# Data segments this socket received (tcp_info.tcpi_data_segs_in).
sub data_segs_in {
    my ($s) = @_;
    my $i = getsockopt($s, IPPROTO_TCP, TCP_INFO) // '';
    return length($i) >= 156 ? unpack('L', substr($i, 152, 4)) : -1;
}

# Read one response with a Content-Length from $s.
sub read_response {
    my ($s) = @_;
    my $buf = '';
    my $sel = IO::Select->new($s);
    my $deadline = time + 10;
    while (time < $deadline) {
        if ($buf =~ /\r\n\r\n/) {
            my ($len) = $buf =~ /^Content-Length: (\d+)\r$/mi;
            last if defined $len && length($buf) >= index($buf, "\r\n\r\n") + 4 + $len;
        }
        next unless $sel->can_read(0.5);
        my $n = sysread($s, my $chunk, 1 << 20);
        last unless $n;
        $buf .= $chunk;
    }
    return $buf;
}

sub connect_to {
    my ($port) = @_;
    my $c = IO::Socket::INET->new(PeerAddr => "127.0.0.1:$port", Timeout => 5)
        or die "connect: $!";
    return $c;
}

my $port = $f->port(0);
my $port_off = $f->port(2);

# ---- tcp_nodelay --------------------------------------------------------

{
    my $c = connect_to($port);
    # wait until the worker has it
    wait_until { opts($c->sockport) ne 'none' } 5;
    is(opts($c->sockport), 'nodelay=0 cork=0',
       'a new connection: no TCP_NODELAY yet (one that closes after its response never pays for it)');
    syswrite $c, "GET /static/small.txt HTTP/1.1\r\nHost: x\r\n\r\n";
    like(read_response($c), qr/^HTTP\/1\.1 200 .*\Q$small\E$/s, 'a static file');
    is(opts($c->sockport), 'nodelay=1 cork=0',
       'kept alive after its response: TCP_NODELAY (tcp_nodelay on, the default)');
    close $c;

    $c = connect_to($port_off);
    syswrite $c, "GET /static/small.txt HTTP/1.1\r\nHost: x\r\n\r\n";
    like(read_response($c), qr/^HTTP\/1\.1 200 /, 'tcp_nodelay off: a static file');
    is(opts($c->sockport), 'nodelay=0 cork=0', '... kept alive without TCP_NODELAY');
    close $c;
}

# A proxied response that streams: TCP_NODELAY while it does
for my $case ([$port, 1, 'tcp_nodelay on'], [$port_off, 0, 'tcp_nodelay off']) {
    my ($pt, $want, $name) = @$case;
    unlink $go;
    my $c = connect_to($pt);
    syswrite $c, "GET /stream HTTP/1.1\r\nHost: x\r\n\r\n";
    my ($buf, $sel) = ('', IO::Select->new($c));
    while ($buf !~ /first$/ && $sel->can_read(5)) {
        sysread($c, my $chunk, 65536) or last;
        $buf .= $chunk;
    }
    like($buf, qr/\r\n\r\nfirst$/, "$name: the first piece of a streaming response");
    is(opts($c->sockport), "nodelay=$want cork=0",
       "... the client's socket has TCP_NODELAY $want while the body streams");
    open my $gh, '>', $go or die; close $gh;
    $buf .= read_response($c);
    like($buf, qr/first-last$/, '... and the rest');
    close $c;
}

# A tunnel: both sides
for my $case ([$port, 1, 'tcp_nodelay on'], [$port_off, 0, 'tcp_nodelay off']) {
    my ($pt, $want, $name) = @$case;
    my $c = connect_to($pt);
    syswrite $c, "GET /ws HTTP/1.1\r\nHost: x\r\nUpgrade: websocket\r\n"
               . "Connection: Upgrade\r\n\r\n";
    my ($buf, $sel) = ('', IO::Select->new($c));
    while ($buf !~ /\r\n\r\n/ && $sel->can_read(5)) {
        sysread($c, my $chunk, 65536) or last;
        $buf .= $chunk;
    }
    like($buf, qr/^HTTP\/1\.1 101 /, "$name: a tunnel (101)");
    syswrite $c, "ping";
    $buf = '';
    while ($buf ne 'echo:ping' && $sel->can_read(5)) {
        sysread($c, my $chunk, 65536) or last;
        $buf .= $chunk;
    }
    is($buf, 'echo:ping', '... carries data');
    is(opts($c->sockport), "nodelay=$want cork=0", "... the client's side: TCP_NODELAY $want");
    is(opts($f->port(1)), "nodelay=$want cork=0", "... the upstream's side: TCP_NODELAY $want");
    close $c;
    wait_until { opts($f->port(1)) eq 'none' } 5;
}

# TLS: at the handshake, before any request
for my $case ([$f->port(3), 1, 'tcp_nodelay on'], [$f->port(4), 0, 'tcp_nodelay off']) {
    my ($pt, $want, $name) = @$case;
    my $pid = open3(my $in, my $out, undef, 'openssl', 's_client', '-brief',
                    '-connect', "127.0.0.1:$pt");
    my ($line, $sel) = ('', IO::Select->new($out));
    # sysread, not <$out>: a buffered read could keep the line we wait
    # for in Perl's buffer while select() sees nothing more
    while ($line !~ /CONNECTION ESTABLISHED/ && $sel->can_read(5)) {
        sysread($out, my $chunk, 4096) or last;
        $line .= $chunk;
    }
    like($line, qr/CONNECTION ESTABLISHED/, "TLS, $name: handshake done");
    # the client's port: the one established connection to $pt
    my $cport;
    for (1 .. 5) {                 # as in worker_socket
        open my $fh, '<', '/proc/net/tcp' or die;
        while (<$fh>) {
            my @c = split;
            $cport = hex($1) if @c > 3 && $c[3] eq '01' && $c[2] =~ /:([0-9A-F]{4})$/
                                && hex($1) == $pt && $c[1] =~ /:([0-9A-F]{4})$/;
        }
        close $fh;
        last if $cport;
    }
    ok($cport, '... found the client\'s port');
    is(opts($cport // 0), "nodelay=$want cork=0",
       "... the worker's socket has TCP_NODELAY $want before any request");
    close $in;
    waitpid $pid, 0;
}

# ---- tcp_nopush and sendfile ---------------------------------------------

# A 920-byte file with its header on a new connection: how many data
# segments it came in.  Corked, the header waits for the file and both
# leave together; else the header leaves first.
for my $case (['nopush', 1, 'tcp_nopush on: header and file in one segment'],
              ['static', 2, 'tcp_nopush off: the header, then the file'],
              ['nopush-nosf', 2, 'tcp_nopush on with sendfile off: no corking (as nginx)'])
{
    my ($dir, $want, $name) = @$case;
    my $c = connect_to($port);
    my $before = data_segs_in($c);
    syswrite $c, "GET /$dir/small.txt HTTP/1.1\r\nHost: x\r\n\r\n";
    my $r = read_response($c);
    like($r, qr/^HTTP\/1\.1 200 .*\r\n\r\n\Q$small\E$/s, "/$dir/small.txt: 200, the file");
    is(data_segs_in($c) - $before, $want, $name);
    is(opts($c->sockport), 'nodelay=1 cork=0', '... kept alive: uncorked, TCP_NODELAY');
    # the next response on the same connection is not held back either
    syswrite $c, "GET /$dir/small.txt HTTP/1.1\r\nHost: x\r\n\r\n";
    like(read_response($c), qr/\Q$small\E$/, '... a second response on it');
    close $c;
}

# sendfile on: the worker reads 1 MiB with a few sendfile() calls; off:
# with a read per output_buffers, 16 KiB here (both count in
# /proc/PID/io's syscr).
sub syscr {
    open my $fh, '<', "/proc/$worker/io" or return -1;
    local $/;
    my ($n) = <$fh> =~ /^syscr: (\d+)$/m;
    return $n;
}
for my $case (['static', 'sendfile on (the default)'], ['nosf', 'sendfile off'],
              ['nopush', 'sendfile on, tcp_nopush on'])
{
    my ($dir, $name) = @$case;
    my $before = syscr();
    my $r = http_get($port, "/$dir/big.bin");
    my $reads = syscr() - $before;
    ok($r->{status} == 200 && $r->{body} eq $big, "$name: 1 MiB byte for byte");
    if ($dir eq 'nosf') {
        cmp_ok($reads, '>=', 64, "... read in pieces ($reads read calls)");
    } else {
        cmp_ok($reads, '<', 32, "... by sendfile() ($reads read calls)");
    }
}

$f->stop;

# ---- configuration --------------------------------------------------------

http_conf_refused("sendfile yes;", 'invalid value "yes"', 'sendfile yes');
http_conf_refused("tcp_nopush on;\n    tcp_nopush off;", '"tcp_nopush" directive is duplicate',
                  'tcp_nopush twice');
http_conf_refused("tcp_nodelay 1;", 'invalid value "1"', 'tcp_nodelay 1');
http_conf_refused("types_hash_max_size big;",
                  'invalid value "big" in "types_hash_max_size"', 'types_hash_max_size big');
http_conf_refused("server_names_hash_bucket_size 0;",
                  'invalid value "0" in "server_names_hash_bucket_size"',
                  'server_names_hash_bucket_size 0');
server_conf_refused("server_names_hash_max_size 512;",
                    '"server_names_hash_max_size" directive is not allowed here',
                    'server_names_hash_max_size in a server');

# What nginx configurations say, accepted: each directive at each level
# nginx allows it.
{
    my $g = Ferry::Test->new(conf => main_conf() . <<'EOF');
events { }
http {
    sendfile on;
    tcp_nopush on;
    tcp_nodelay on;
    types_hash_max_size 2048;
    types_hash_bucket_size 64;
    server_names_hash_max_size 1024;
    server_names_hash_bucket_size 128;
    variables_hash_max_size 2048;
    variables_hash_bucket_size 128;
    proxy_headers_hash_max_size 1024;
    proxy_headers_hash_bucket_size 128;
    server {
        listen 127.0.0.1:%%PORT_0%%;
        sendfile off;
        tcp_nodelay off;
        types_hash_max_size 4096;
        location / {
            tcp_nopush off;
            types_hash_bucket_size 128;
            proxy_headers_hash_bucket_size 64k;
            return 200;
        }
    }
}
EOF
    my ($rc, $out) = $g->run('-t');
    is($rc, 0, '-t accepts sendfile, tcp_nopush, tcp_nodelay and the hash sizes where nginx does')
        or diag $out;
}

done_testing;
