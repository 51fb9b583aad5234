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
use Socket qw(IPPROTO_TCP TCP_NODELAY);
use Time::HiRes ();

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
    upstream slow   { server 127.0.0.1:%%PORT_4%%; keepalive 4; }
    server {
        listen 127.0.0.1:%%PORT_0%%;
        location /kept/   { proxy_pass http://kept; }
        location /plain/  { proxy_pass http://plain; }
        location /capped/ { proxy_pass http://capped; }
        location /closer/ { proxy_pass http://closer; }
        location /quit/   { proxy_pass http://quitter; }
        location /slow/   { proxy_pass http://slow; }
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
my $backend = Ferry::Test::Backend->new(port => $f->port(1), handler => $who);

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

# Answers every request of a kept connection in small pieces, paced so
# that each arrives in a read of its own: a cut status line, the rest
# of the header, then the body in two parts; every second response is
# chunked, its last chunk cut too.  ferry stops reading after a short
# read (the socket is drained) and must be woken by the next piece.
my $slow = Ferry::Test::Backend->new(port => $f->port(4), on_connect => sub {
    my ($sock) = @_;
    setsockopt($sock, IPPROTO_TCP, TCP_NODELAY, 1);
    my ($buf, $n) = ('', 0);
    while (1) {
        while ($buf !~ /\r\n\r\n/) {
            sysread($sock, $buf, 4096, length $buf) or return;
        }
        $buf =~ s/^.*?\r\n\r\n//s;
        $n++;
        my $body = "piece $n of conn $$\n";
        my @parts = $n % 2
            ? ("HTTP/1.1 20", "0 OK\r\nContent-Len",
               "gth: " . length($body) . "\r\n\r\n",
               substr($body, 0, 5), substr($body, 5))
            : ("HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n", "\r\n",
               sprintf("%x\r\n", length $body), "$body\r\n", "0\r\n", "\r\n");
        for (@parts) {
            syswrite($sock, $_) or return;
            Time::HiRes::sleep(0.02);
        }
    }
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

# responses in pieces over one kept connection: none is lost or hangs
{
    my ($res) = http_keepalive($port,
        [ map { "GET /slow/$_ HTTP/1.1\r\nHost: x\r\n\r\n" } 1 .. 4 ]);
    my @bodies = map { $_->{body} // $_->{error} } @$res;
    my ($pid) = ($bodies[0] // '') =~ /of conn (\d+)/;
    is_deeply(\@bodies, [ map { "piece $_ of conn " . ($pid // '?') . "\n" }
                          1 .. 4 ],
              'responses arriving in pieces: all complete, in order, over '
              . 'one upstream connection');
}

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
