#!/usr/bin/perl

# stream proxy_bind (nginx's, of ngx_stream_proxy_module), seen from
# the backend (the address ferry's connection comes from): a fixed
# address; one a map of the client's address gives (nginx 1.11.2's
# variables), empty for no bind; a value that is no address (logged,
# connected unbound, as nginx); over UDP too.

use strict;
use warnings;

use Test::More;
use Ferry::Test;
use IO::Socket::INET;
use IO::Select;

my $f = Ferry::Test->new(conf => main_conf() . <<'EOF');
worker_processes 1;
events { worker_connections 64; }
stream {
    map $remote_addr $src {
        127.0.0.1   127.0.0.5;
        default     "";
    }
    server {
        listen 127.0.0.1:%%PORT_0%%;
        proxy_bind 127.0.0.9;
        proxy_pass 127.0.0.1:%%PORT_5%%;
    }
    server {
        listen 127.0.0.1:%%PORT_1%%;
        proxy_bind $src;
        proxy_pass 127.0.0.1:%%PORT_5%%;
    }
    server {
        listen 127.0.0.1:%%PORT_2%%;
        set $b "local-$remote_port";
        proxy_bind $b;
        proxy_pass 127.0.0.1:%%PORT_5%%;
    }
    server {
        listen 127.0.0.1:%%PORT_3%% udp;
        proxy_bind $src;
        proxy_pass 127.0.0.1:%%PORT_6%%;
        proxy_responses 1;
    }
}
EOF

# says the address the connection came from
tcp_server($f->port(5), sub { my $c = shift; syswrite $c, $c->peerhost . "\n"; });
# answers a datagram with the address it came from
udp_server($f->port(6), sub {
    my (undef, $ip) = Socket::sockaddr_in($_[1]);
    return Socket::inet_ntoa($ip) . "\n";
});
$f->allow_log(qr/invalid local address/);
$f->start or do { done_testing; exit };

is(stream_line($f->port(0)), '127.0.0.9', 'proxy_bind ADDRESS');
is(stream_line($f->port(1), '127.0.0.1'), '127.0.0.5',
   'proxy_bind $var: the address the map gives 127.0.0.1');
is(stream_line($f->port(1), '127.0.0.2'), '127.0.0.1',
   '... empty for 127.0.0.2: not bound');
is(stream_line($f->port(2)), '127.0.0.1',
   'a value that is no address: connected unbound');
ok((wait_until { $f->error_log =~ /\[error\].*invalid local address "local-\d+", client: 127\.0\.0\.1/ } 5),
   '... logged');

{
    my $u = IO::Socket::INET->new(LocalAddr => '127.0.0.1',
                                  PeerAddr => '127.0.0.1:' . $f->port(3),
                                  Proto => 'udp') or die;
    send($u, "who", 0);
    my $r;
    IO::Select->new($u)->can_read(5) and recv($u, $r, 65536, 0);
    is($r, "127.0.0.5\n", 'UDP: proxy_bind $var too');
}

$f->stop;
done_testing;
