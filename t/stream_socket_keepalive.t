#!/usr/bin/perl

# stream proxy_socket_keepalive (nginx's, of ngx_stream_proxy_module):
# SO_KEEPALIVE on the socket to the server, seen as the keepalive timer
# "ss -tnoe" shows on ferry's connection to the backend; set at the
# stream level and inherited, "off" in a server, off by default (a
# server with nothing set at either level, in a second configuration);
# a bad value refused with file and line.

use strict;
use warnings;

use Test::More;
use Ferry::Test;
use IO::Socket::INET;

plan skip_all => 'no ss (iproute2)'
    unless grep { -x "$_/ss" } split /:/, $ENV{PATH};

# holds each connection until the client closes it
sub holder {
    my $c = shift;
    syswrite $c, "held\n";
    1 while sysread($c, my $b, 100);
}

# ss's line for ferry's established connection to the backend port
sub to_backend {
    my $port = shift;
    return scalar `ss -tnoeH state established '( dport = :$port )' 2>&1`;
}

# a session held open through $port, the backend's answer read
sub hold {
    my $port = shift;
    my $s = IO::Socket::INET->new(PeerAddr => "127.0.0.1:$port",
                                  Timeout => 5) or return;
    my $l = <$s>;
    return defined $l && $l eq "held\n" ? $s : undef;
}

my $f = Ferry::Test->new(conf => main_conf() . <<'EOF');
worker_processes 1;
events { worker_connections 64; }
stream {
    proxy_socket_keepalive on;
    server {
        listen 127.0.0.1:%%PORT_0%%;
        proxy_pass 127.0.0.1:%%PORT_2%%;
    }
    server {
        listen 127.0.0.1:%%PORT_1%%;
        proxy_socket_keepalive off;
        proxy_pass 127.0.0.1:%%PORT_3%%;
    }
}
EOF
tcp_server($f->port(2), \&holder);
tcp_server($f->port(3), \&holder);
$f->start or do { done_testing; exit };

{
    my $s = hold($f->port(0));
    ok($s, 'a session through the server that inherits "on"');
    like(to_backend($f->port(2)), qr/timer:\(keepalive/,
         '... its socket to the backend has SO_KEEPALIVE');
    my $t = hold($f->port(1));
    ok($t, 'a session through the server with "off"');
    my $line = to_backend($f->port(3));
    like($line, qr/:\Q${\ $f->port(3)}\E/, '... ss shows its connection');
    unlike($line, qr/keepalive/, '... without SO_KEEPALIVE');
    close $_ for grep { $_ } $s, $t;
}
$f->stop;

# nothing set anywhere: off, as nginx's default
my $g = Ferry::Test->new(conf => main_conf() . <<'EOF');
worker_processes 1;
events { worker_connections 64; }
stream {
    server {
        listen 127.0.0.1:%%PORT_0%%;
        proxy_pass 127.0.0.1:%%PORT_1%%;
    }
}
EOF
tcp_server($g->port(1), \&holder);
$g->start or do { done_testing; exit };
{
    my $s = hold($g->port(0));
    ok($s, 'a session with no proxy_socket_keepalive anywhere');
    my $line = to_backend($g->port(1));
    like($line, qr/:\Q${\ $g->port(1)}\E/, '... ss shows its connection');
    unlike($line, qr/keepalive/, '... without SO_KEEPALIVE (off by default)');
    close $s if $s;
}
$g->stop;

conf_refused("stream {\n    server {\n        listen 127.0.0.1:%%PORT_0%%;\n"
             . "        proxy_socket_keepalive maybe;\n"
             . "        proxy_pass 127.0.0.1:1;\n    }\n}\n",
             qr/"proxy_socket_keepalive" directive invalid value "maybe", it must be "on" or "off" in \S+ferry\.conf:8/,
             'a value that is neither on nor off');

done_testing;
