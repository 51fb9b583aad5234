#!/usr/bin/perl

# Upgraded connections (WebSocket): the upgrade request reaches the
# backend with its Upgrade and Connection headers over HTTP/1.1, the
# client gets the 101, and then bytes flow both ways until one side
# closes.  An upgrade open across a reload keeps working on the old
# worker until worker_shutdown_timeout.  A 101 nobody asked for is a
# 502.

use strict;
use warnings;

use Test::More;
use IO::Socket::INET;
use IO::Select;
use Ferry::Test;

my $f = Ferry::Test->new(conf => main_conf() . <<'EOF');
worker_processes 1;
worker_shutdown_timeout 3s;
events { worker_connections 256; }
http {
    access_log off;
    upstream ws    { server 127.0.0.1:%%PORT_1%%; }
    upstream rogue { server 127.0.0.1:%%PORT_2%%; }
    server {
        listen 127.0.0.1:%%PORT_0%%;
        location / { proxy_pass http://ws; }
        location /rogue { proxy_pass http://rogue; }
        location = /ok { return 200 "ok"; }
    }
}
EOF

# A backend that switches protocols and then echoes every chunk back
# with "echo:" in front, until the client closes.
my $ws = Ferry::Test::Backend->new(port => $f->port(1), raw => sub {
    my ($sock, $req) = @_;
    my %h = map { lc($_->[0]) => $_->[1] } @{ $req->{headers} // [] };
    unless (($h{upgrade} // '') eq 'websocket'
            && ($h{connection} // '') =~ /upgrade/i
            && $req->{version} eq 'HTTP/1.1')
    {
        syswrite $sock, "HTTP/1.1 400 Bad Request\r\nContent-Length: 0\r\n\r\n";
        return;
    }
    syswrite $sock, "HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\n"
                  . "Connection: Upgrade\r\nSec-WebSocket-Accept: x\r\n\r\n";
    while (sysread($sock, my $data, 65536)) {
        syswrite $sock, "echo:$data";
    }
});
my $rogue = Ferry::Test::Backend->new(port => $f->port(2), raw => sub {
    my ($sock) = @_;
    syswrite $sock, "HTTP/1.1 101 Switching Protocols\r\nUpgrade: x\r\n\r\n";
});

$f->start or do { done_testing; exit };
my $port = $f->port(0);

sub read_until {
    my ($s, $re, $timeout) = @_;
    my $buf = '';
    my $sel = IO::Select->new($s);
    my $deadline = time + ($timeout // 5);
    while ($buf !~ $re && time < $deadline) {
        next unless $sel->can_read(0.2);
        my $n = sysread($s, my $chunk, 65536);
        return ($buf, 1) if defined $n && $n == 0;     # closed
        $buf .= $chunk if $n;
    }
    return ($buf, 0);
}

sub open_ws {
    my $s = IO::Socket::INET->new(PeerAddr => "127.0.0.1:$port") or return;
    syswrite $s, "GET /chat HTTP/1.1\r\nHost: x\r\nUpgrade: websocket\r\n"
               . "Connection: Upgrade\r\nSec-WebSocket-Key: k\r\n"
               . "Sec-WebSocket-Version: 13\r\n\r\n";
    my ($hdr) = read_until($s, qr/\r\n\r\n/);
    return ($s, $hdr);
}

my ($s, $hdr) = open_ws();
like($hdr, qr{^HTTP/1\.1 101 }, 'the client gets 101');
like($hdr, qr{\r\nUpgrade: websocket\r\n}i, 'with the Upgrade header');
like($hdr, qr{\r\nConnection: upgrade\r\n}i, 'and Connection: upgrade');

for my $msg ('hello', 'x' x 100000, 'bye') {
    syswrite $s, $msg;
    my ($got) = read_until($s, qr/\Q$msg\E$/);
    like($got, qr/^echo:/, 'bytes came back through the tunnel (' . length($msg) . ' bytes sent)');
    (my $payload = $got) =~ s/echo://g;
    is($payload, $msg, 'unchanged');
}

# a reload: the open tunnel stays on its (old) worker and keeps working
my ($s2) = open_ws();
kill 'HUP', $f->master_pid;
ok(wait_until(sub {
       http_get($port, '/ok')->{status} == 200
       && $f->error_log =~ /reload done/ }, 3), 'serving after reload');
syswrite $s2, 'after-reload';
my ($got) = read_until($s2, qr/after-reload$/);
is($got, 'echo:after-reload', 'an upgraded connection works across a reload');

# ... until worker_shutdown_timeout ends the old worker
my ($rest, $closed) = read_until($s2, qr/never/, 8);
ok($closed, 'closed when worker_shutdown_timeout ends the old worker');
$f->allow_log(qr/worker_shutdown_timeout|killed|exited on signal 9/);

# the client closing ends the tunnel on the backend too
close $s;

# 101 without an upgrade request is not passed on
my $r = http_get($port, '/rogue');
is($r->{status}, 502, 'a 101 nobody asked for is a 502');

# HTTP/1.0 cannot upgrade: the backend sees a plain request
$r = http($port, "GET /plain HTTP/1.0\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n\r\n");
is($r->{status}, 400, 'HTTP/1.0 upgrade request goes up as a plain request');

# No upgrade to h2c: a tunnel of HTTP/2 to the backend would carry
# requests past every location and allow/deny of ferry.  The request
# goes up as a plain one (no Upgrade), so the rogue backend's 101 is one
# nobody asked for.
for my $up ('h2c', 'h2c, websocket', 'websocket, H2C') {
    $r = http($port, "GET /rogue HTTP/1.1\r\nHost: x\r\nConnection: Upgrade, HTTP2-Settings\r\n"
                   . "Upgrade: $up\r\nHTTP2-Settings: AAMAAABkAARAAAAAAAIAAAAA\r\n\r\n");
    is($r->{status}, 502, "Upgrade: $up is not passed on: the backend's 101 is a 502");
}

$f->stop;
done_testing;
