#!/usr/bin/perl

# When a request on a kept upstream connection may be sent again.  A
# server may close an idle keep-alive connection just as ferry sends a
# request on it; ferry then sends the request again on a new
# connection, but only when that cannot make the server do it twice
# (RFC 9110 9.2.2, RFC 9112 9.3.1): nothing of the request had been
# sent (the close was seen first), or the method is idempotent, or
# "proxy_next_upstream non_idempotent" accepts the risk.  A POST that
# was sent whole and met a close with no answer gets 502, and does not
# go to another server either.

use strict;
use warnings;

use Test::More;
use Ferry::Test;
use File::Temp ();
use Socket qw(SOL_SOCKET SO_LINGER);
use Time::HiRes ();

my $f = Ferry::Test->new(conf => main_conf() . <<'EOF');
worker_processes 1;
events { worker_connections 256; }
http {
    access_log off;
    upstream stale  { server 127.0.0.1:%%PORT_1%% max_fails=0;
                      server 127.0.0.1:%%PORT_2%% backup; keepalive 4; }
    upstream idle   { server 127.0.0.1:%%PORT_3%%; keepalive 4; }
    server {
        listen 127.0.0.1:%%PORT_0%%;
        location /stale/ { proxy_pass http://stale; }
        location /risk/  { proxy_pass http://stale;
                           proxy_next_upstream error timeout non_idempotent; }
        location /idle/  { proxy_pass http://idle; }
    }
}
EOF

# Every request a backend reads: "PORT CONN N METHOD URI", CONN the
# connection's process, N its place on that connection.
my $dir = File::Temp::tempdir('ferry-retry-XXXXXX', TMPDIR => 1,
                              CLEANUP => 1);
my $log = "$dir/requests";

sub note_request {
    my ($port, $n, $req) = @_;
    open my $fh, '>>', $log or die "$log: $!";
    syswrite $fh, "$port $$ $n $req->{method} $req->{uri}\n";
    close $fh;
}

sub seen {
    my ($what) = @_;
    open my $fh, '<', $log or return ();
    return grep { /\Q$what\E$/ } <$fh>;
}

sub answer {
    my ($sock, $n) = @_;
    my $body = "conn $$ request $n\n";
    syswrite $sock, "HTTP/1.1 200 OK\r\nContent-Length: " . length($body)
                    . "\r\n\r\n$body";
}

# A server that reads the second request of a connection whole, works
# on it for a while and closes without an answer (it may have done the
# work: ferry cannot know).  The first request of a connection is
# answered and the connection kept.
sub serve_stale {
    my ($port) = @_;
    return sub {
        my ($sock) = @_;
        my ($buf, $n) = ('', 0);
        while (my $req = Ferry::Test::Backend::_read_request($sock, \$buf,
                                                              10))
        {
            note_request($port, ++$n, $req);
            if ($n >= 2) {
                Time::HiRes::sleep(0.3);
                return;
            }
            answer($sock, $n);
        }
    };
}
my $stale = Ferry::Test::Backend->new(port => $f->port(1),
                                      on_connect => serve_stale($f->port(1)));
my $backup = Ferry::Test::Backend->new(port => $f->port(2),
                                       on_connect => serve_stale($f->port(2)));

# A server that closes a kept connection after 0.4 s of silence: with a
# FIN, or for /idle/rst/ with a reset (SO_LINGER 0).
my $idle = Ferry::Test::Backend->new(port => $f->port(3), on_connect => sub {
    my ($sock) = @_;
    my ($buf, $n, $rst) = ('', 0, 0);
    while (my $req = Ferry::Test::Backend::_read_request($sock, \$buf,
                                                          $n ? 0.4 : 10))
    {
        note_request($f->port(3), ++$n, $req);
        $rst = $req->{uri} =~ m{^/idle/rst/};
        answer($sock, $n);
    }
    setsockopt($sock, SOL_SOCKET, SO_LINGER, pack('ii', 1, 0)) if $rst;
    close $sock;
});

$f->start or do { done_testing; exit };
my $port = $f->port(0);
my $worker;
wait_until { ($worker) = $f->worker_pids } 10;

# A client on its own connection, as in the report that found it: the
# first request leaves a kept connection, the second finds it.
sub post {
    my ($path) = @_;
    return http($port, build_request(method => 'POST', path => $path,
                                     headers => [Connection => 'close'],
                                     body => 'abc'));
}

# 1. POST sent whole, then the kept connection closes with no answer
is(http_get($port, '/stale/p1')->{status}, 200, 'a first request keeps '
   . 'a connection');
my $r = post('/stale/p2');
is($r->{status}, 502, 'a POST sent whole on a kept connection that then '
   . 'closes without an answer: 502');
is(scalar seen('POST /stale/p2'), 1, 'the server got it once: it is not '
   . 'sent again on a new connection');
is(scalar(grep { /^$backup->{port} / } seen('POST /stale/p2')), 0,
   'nor passed to the backup server');
like($f->error_log, qr/\[error\].*upstream prematurely closed connection (?#
                       )while reading response header from upstream(?#
                       ).*POST \/stale\/p2/,
     'logged as an upstream error');

# 2. the same with a GET: sent again, the client never knows
is(http_get($port, '/stale/g1')->{status}, 200, 'a first GET keeps a '
   . 'connection');
$r = http_get($port, '/stale/g2');
is($r->{status}, 200, 'a GET on a kept connection that closes without '
   . 'an answer: sent again, 200');
my @g = seen('GET /stale/g2');
is(scalar @g, 2, 'the server got it twice: on the kept connection and '
   . 'on a new one');
like($g[1] // '', qr/^$stale->{port} \d+ 1 /, 'the second time as the '
     . 'first request of a new connection to the same server');

# 3. proxy_next_upstream non_idempotent: the operator accepts a POST
# done twice, so it is sent again too
is(http_get($port, '/risk/g1')->{status}, 200, 'non_idempotent: a first '
   . 'request keeps a connection');
$r = post('/risk/p2');
is($r->{status}, 200, 'non_idempotent: the POST is sent again, 200');
is(scalar seen('POST /risk/p2'), 2, 'and the server got it twice');

# 4. a kept connection the server has closed before the request went
# out on it: nothing of a POST reached the server, so it goes on a new
# connection.  The worker is stopped while the server closes and the
# client sends, so that it finds out only when it takes the connection.
for my $how (qw(fin rst)) {
    is(http_get($port, "/idle/$how/1")->{status}, 200,
       "$how: a first request keeps a connection");
    kill 'STOP', $worker;
    Time::HiRes::sleep(0.8);        # the server closes after 0.4 s
    my $c = Ferry::Test::Client->new($port);
    $c->send(build_request(method => 'POST', path => "/idle/$how/2",
                           headers => [Connection => 'close'],
                           body => 'abc'));
    Time::HiRes::sleep(0.2);
    kill 'CONT', $worker;
    $r = $c->read_response;
    $c->close;
    is($r->{status}, 200, "$how: a POST on a kept connection already "
       . 'closed by the server goes on a new one: 200');
    my @p = seen("POST /idle/$how/2");
    is(scalar @p, 1, "$how: the server got it once");
    like($p[0] // '', qr/ 1 POST/, "$how: as the first request of a new "
         . 'connection');
}
unlike($f->error_log, qr/\[error\].*\/idle\//,
       'a kept connection found closed is no error');

$f->stop;
done_testing;
