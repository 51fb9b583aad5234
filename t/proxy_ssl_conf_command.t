#!/usr/bin/perl

# proxy_ssl_conf_command (http and stream) and uwsgi_ssl_conf_command:
# OpenSSL SSL_CONF_cmd on the client context towards the upstream.
# "Protocol -TLSv1.3" makes the upstream connection TLSv1.2 (the TLS
# backend reports what it negotiated); the commands are inherited, a
# level with its own takes none of its parent's; a bad name or value is
# a configuration error naming the command, file and line.

use strict;
use warnings;
use Test::More;
use Ferry::Test;

plan skip_all => 'no openssl' unless grep { -x "$_/openssl" } split /:/, $ENV{PATH};
plan skip_all => 'no IO::Socket::SSL' unless eval { require IO::Socket::SSL; 1 };

my $f = Ferry::Test->new(conf => main_conf() . <<'EOF');
worker_processes 1;
events { worker_connections 64; }
http {
    access_log off;
    proxy_ssl_conf_command Protocol -TLSv1.3;
    server {
        listen 127.0.0.1:%%PORT_0%%;
        location /inherited/ { proxy_pass https://127.0.0.1:%%PORT_1%%; }
        location /own/ {
            proxy_ssl_conf_command Options -SessionTicket;
            proxy_pass https://127.0.0.1:%%PORT_1%%;
        }
        location /max12/ {
            proxy_ssl_conf_command MaxProtocol TLSv1.2;
            proxy_pass https://127.0.0.1:%%PORT_1%%;
        }
    }
}
stream {
    server {
        listen 127.0.0.1:%%PORT_2%%;
        proxy_pass 127.0.0.1:%%PORT_1%%;
        proxy_ssl on;
        proxy_ssl_conf_command Protocol -TLSv1.3;
    }
    server {
        listen 127.0.0.1:%%PORT_3%%;
        proxy_pass 127.0.0.1:%%PORT_1%%;
        proxy_ssl on;
    }
}
EOF

my $d = $f->prefix . '/conf';
sh("cd $d && openssl req -x509 -newkey rsa:2048 -nodes -keyout be.key"
   . " -out be.crt -days 2 -subj '/CN=be.test' 2>/dev/null");
my $be = Ferry::Test::Backend->new(port => $f->port(1),
                                   ssl => { cert => "$d/be.crt",
                                            key => "$d/be.key" });
$f->start;

sub proto {
    my ($port, $path) = @_;
    my $r = http_get($port, $path);
    my $e = parse_echo($r->{body}) // {};
    return ($r->{status} // 'none') . ' ' . ($e->{'tls-protocol'} // '-');
}

is(proto($f->port(0), '/inherited/'), '200 TLSv1_2',
   'http: "Protocol -TLSv1.3" from the http level: TLSv1.2 upstream');
is(proto($f->port(0), '/own/'), '200 TLSv1_3',
   "... a location with its own commands takes none of its parent's");
is(proto($f->port(0), '/max12/'), '200 TLSv1_2',
   '... "MaxProtocol TLSv1.2" in a location');
is(proto($f->port(2), '/'), '200 TLSv1_2',
   'stream: "Protocol -TLSv1.3": TLSv1.2 upstream');
is(proto($f->port(3), '/'), '200 TLSv1_3', 'stream without it: TLSv1.3');

$f->stop;

# configuration errors: the command, the file and the line
for my $t (
    ['location / { proxy_pass https://127.0.0.1:%%PORT_1%%;'
     . ' proxy_ssl_conf_command NoSuchCommand x; }',
     qr/SSL_CONF_cmd\("NoSuchCommand", "x"\) failed.* in \S+:8/,
     'proxy_ssl_conf_command: an unknown name'],
    ['location / { proxy_pass https://127.0.0.1:%%PORT_1%%;'
     . ' proxy_ssl_conf_command Protocol TLSv9; }',
     qr/SSL_CONF_cmd\("Protocol", "TLSv9"\) failed.* in \S+:8/,
     'proxy_ssl_conf_command: a bad value'],
    ['location / { uwsgi_pass suwsgi://127.0.0.1:%%PORT_1%%;'
     . ' uwsgi_ssl_conf_command Protocol TLSv9; }',
     qr/SSL_CONF_cmd\("Protocol", "TLSv9"\) failed.* in \S+:8/,
     'uwsgi_ssl_conf_command: a bad value'],
    ['location / { proxy_ssl_conf_command Protocol; }',
     qr/invalid number of arguments in "proxy_ssl_conf_command" directive in \S+:8/,
     'proxy_ssl_conf_command with one argument'])
{
    server_conf_refused(@$t);
}

my $g = Ferry::Test->new(conf => main_conf() . <<'EOF');
events { }
stream {
    server {
        listen 127.0.0.1:%%PORT_0%%;
        proxy_pass 127.0.0.1:%%PORT_1%%;
        proxy_ssl on;
        proxy_ssl_conf_command Bogus 1;
    }
}
EOF
my ($rc, $out) = $g->run('-t');
isnt($rc, 0, 'stream: a bad proxy_ssl_conf_command is refused');
like($out, qr/SSL_CONF_cmd\("Bogus", "1"\) failed.* in \S+:10/,
     '... naming it, the file and the line') or diag($out);

done_testing;
