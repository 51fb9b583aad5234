#!/usr/bin/perl

# Keep-alive connections to upstream servers ("keepalive N" in an
# upstream): requests reuse idle connections (HTTP/1.1, no
# "Connection: close"), a server's "Connection: close" or
# keepalive_requests ends a connection, and a server that closes idle
# connections on its own never makes a client see an error.

use strict;
use warnings;

use Test::More;
use Ferry::Test;

my $f = Ferry::Test->new(conf => main_conf() . <<'EOF');
worker_processes 1;
events { worker_connections 256; }
http {
    access_log off;
    upstream kept   { server 127.0.0.1:%%PORT_1%%; keepalive 4; }
    upstream plain  { server 127.0.0.1:%%PORT_1%%; }
    upstream capped { server 127.0.0.1:%%PORT_1%%; keepalive 4;
                      keepalive_requests 5; }
    upstream closer { server 127.0.0.1:%%PORT_2%%; keepalive 4; }
    upstream quitter { server 127.0.0.1:%%PORT_3%%; keepalive 4; }
    server {
        listen 127.0.0.1:%%PORT_0%%;
        location /kept/   { proxy_pass http://kept; }
        location /plain/  { proxy_pass http://plain; }
        location /capped/ { proxy_pass http://capped; }
        location /closer/ { proxy_pass http://closer; }
        location /quit/   { proxy_pass http://quitter; }
    }
}
EOF

# The backend forks per connection, so $$ names the connection.
my $who = sub {
    my ($req) = @_;
    my %h = map { lc($_->[0]) => $_->[1] } @{ $req->{headers} };
    return { status => 200, body => "conn $$ $req->{version} "
                                    . ($h{connection} // '-') . "\n" };
};
my $b = Ferry::Test::Backend->new(port => $f->port(1), handler => $who);

# Says "Connection: close" on every second request of a connection.
my $closer = Ferry::Test::Backend->new(port => $f->port(2), handler => sub {
    my ($req) = @_;
    our $n; $n++;
    return { status => 200, body => "conn $$\n", close => $n % 2 == 0,
             headers => [ $n % 2 == 0 ? ('Connection' => 'close') : () ] };
});

# Answers one request as if keeping the connection, then closes it
# without a word: what a server's own idle timeout does.
my $quitter = Ferry::Test::Backend->new(port => $f->port(3), raw => sub {
    my ($sock) = @_;
    syswrite $sock, "HTTP/1.1 200 OK\r\nContent-Length: 3\r\n\r\nok\n";
});

$f->start or do { done_testing; exit };
my $port = $f->port(0);

sub conns {
    my ($prefix, $n) = @_;
    my (%seen, @bad);
    for my $i (1 .. $n) {
        my $r = http_get($port, "/$prefix/$i");
        if (($r->{status} // 0) != 200) {
            push @bad, "$i: " . ($r->{status} // $r->{error});
            next;
        }
        my ($c) = $r->{body} =~ /^conn (\d+)/;
        $seen{$c // '?'}++;
    }
    return (\%seen, \@bad);
}

my ($seen, $bad) = conns('kept', 20);
is(scalar @$bad, 0, 'keepalive: every request answered') or diag("@$bad");
is(scalar keys %$seen, 1, '20 requests over one upstream connection');
my $r = http_get($port, '/kept/v');
like($r->{body}, qr/^conn \d+ HTTP\/1\.1 -$/m,
     'sent as HTTP/1.1 without a Connection header');

($seen, $bad) = conns('plain', 6);
is(scalar keys %$seen, 6, 'without keepalive: one connection per request');
like(http_get($port, '/plain/v')->{body}, qr/HTTP\/1\.0 close$/m,
     'and HTTP/1.0 with Connection: close');

($seen, $bad) = conns('capped', 20);
is(scalar @$bad, 0, 'keepalive_requests: every request answered');
is(scalar keys %$seen, 4, 'keepalive_requests 5: 20 requests over 4 connections');
is((sort { $a <=> $b } values %$seen)[-1], 5, 'at most 5 on one');

($seen, $bad) = conns('closer', 20);
is(scalar @$bad, 0, 'server closing with Connection: close: no error');
is(scalar keys %$seen, 10, 'a new connection after each Connection: close');

($seen, $bad) = conns('quit', 30);
is(scalar @$bad, 0, 'server silently closing idle connections: no error')
    or diag("@$bad");
unlike($f->error_log, qr/\[error\].*upstream/, 'and nothing counted as an upstream error');

# configuration errors
my $t = Ferry::Test->new(conf => main_conf() . <<'EOF');
events { }
http {
    upstream u { server 127.0.0.1:1; keepalive 0; }
    server { listen 127.0.0.1:%%PORT_0%%; }
}
EOF
my ($rc, $out) = $t->run('-t');
is($rc, 1, 'keepalive 0 is refused');
like($out, qr/invalid value "0" in "keepalive"/, 'with a message');

$f->stop;
done_testing;
