#!/usr/bin/perl

# Hostile clients and upstreams, on loopback, bounded in time and count
# (about 15 s in all).  What each part proves is in docs/security.md.
#
#   slowloris       300 connections dribbling header bytes: normal
#                   clients are still answered (each within 1 s), and
#                   client_header_timeout closes the dribblers
#   floods          a long request line, too many header bytes, a body
#                   over client_max_body_size: 414, 400 (too large), 413
#   worker_connections   300 idle connections against 32: the excess is
#                   closed, the worker survives and serves afterwards
#   connection flood     11,100 connections against 2 x 512: the 10,000+
#                   past the limit are closed at once, none hangs, the
#                   error log counts them in a few lines, stub_status
#                   shows them accepted but not handled, no worker
#                   crashes, nothing spins afterwards, and ordinary
#                   requests are served again at once
#   bad upstreams   reset (502), stall (504 after proxy_read_timeout),
#                   garbage (502), closes mid-body (the client's
#                   connection is closed, never a short "complete" body)
#   disconnects     a client leaving mid-upload and mid-download: the
#                   worker's descriptor count returns to its baseline
#   smuggling       CL.TE, TE.CL, TE.TE obfuscations, differing and
#                   malformed Content-Length, bad chunks: each refused
#                   with 4xx (501 for an unknown coding), the connection
#                   closed after one response, and the fake backend
#                   never sees any of them; a chunked body in any
#                   spelling is framed again by ferry, so what follows
#                   it is a request for both

use strict;
use warnings;

use Test::More;
use Ferry::Test;
use IO::Socket::INET;
use Socket qw(SOL_SOCKET SO_LINGER);
use Time::HiRes ();

my $f = Ferry::Test->new(conf => main_conf() . <<'EOF');
worker_processes 1;
events { worker_connections 1024; }
http {
    client_header_buffer_size 1k;
    large_client_header_buffers 1 1k;
    client_max_body_size 1k;
    upstream echo     { server 127.0.0.1:%%PORT_1%%; }
    upstream reset    { server 127.0.0.1:%%PORT_2%%; }
    upstream stall    { server 127.0.0.1:%%PORT_3%%; }
    upstream garbage  { server 127.0.0.1:%%PORT_4%%; }
    upstream midbody  { server 127.0.0.1:%%PORT_5%%; }
    upstream midchunk { server 127.0.0.1:%%PORT_6%%; }
    upstream big      { server 127.0.0.1:%%PORT_7%%; }
    server {
        listen 127.0.0.1:%%PORT_0%%;
        client_header_timeout 4s;
        location / { return 200 "ok\n"; }
        location /echo { proxy_pass http://echo; }
        location /upload { client_max_body_size 10m; proxy_pass http://echo; }
        location /reset { proxy_pass http://reset; }
        location /stall { proxy_read_timeout 500ms; proxy_pass http://stall; }
        location /garbage { proxy_pass http://garbage; }
        location /midbody { proxy_pass http://midbody; }
        location /midchunk { proxy_pass http://midchunk; }
        location /big { proxy_pass http://big; }
    }
}
EOF

my $echo = Ferry::Test::Backend->new(port => $f->port(1));
my $reset = Ferry::Test::Backend->new(port => $f->port(2), on_connect => sub {
    my ($sock) = @_;
    # linger 0: close() sends a RST instead of a FIN
    setsockopt($sock, SOL_SOCKET, SO_LINGER, pack('ii', 1, 0));
});
my $stall = Ferry::Test::Backend->new(port => $f->port(3), raw => sub {
    sleep 20;       # killed with the backend at the end
});
my $garbage = Ferry::Test::Backend->new(port => $f->port(4), raw => sub {
    syswrite $_[0], "garbage\r\n\r\n";
});
my $midbody = Ferry::Test::Backend->new(port => $f->port(5), raw => sub {
    syswrite $_[0], "HTTP/1.1 200 OK\r\nContent-Length: 100000\r\n\r\n"
                    . ('x' x 1000);
});
my $midchunk = Ferry::Test::Backend->new(port => $f->port(6), raw => sub {
    syswrite $_[0], "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n"
                    . "3e8\r\n" . ('x' x 1000) . "\r\n";
});
my $big = Ferry::Test::Backend->new(port => $f->port(7), handler => sub {
    return { status => 200, body => 'b' x (16 * 1024 * 1024) };
});

$f->start or do { done_testing; exit };
my $port = $f->port(0);
my ($worker) = $f->wait_workers(1);

# client and upstream misbehaviour is logged at [info]/[error], never
# higher; nothing here may need an allow_log

sub fd_count {
    my ($pid) = @_;
    opendir my $d, "/proc/$pid/fd" or return -1;
    my $n = grep { /^\d+$/ } readdir $d;
    closedir $d;
    return $n;
}

sub still_serving {
    my ($after) = @_;
    my $r = http_get($port, '/');
    is($r->{status}, 200, "still serving after $after")
        or diag($r->{error} // $r->{raw});
}

# warm up the proxy path, then take the worker's descriptor baseline
is(http_get($port, '/echo/warm')->{status}, 200, 'proxied request works');
# at rest: the same count twice, 200 ms apart (the warm-up's client and
# upstream descriptors are closed just after the response is sent)
my $base = fd_count($worker);
wait_until {
    Time::HiRes::sleep(0.2);
    my $now = fd_count($worker);
    my $same = $now == $base;
    $base = $now;
    $same;
} 3;
ok($base > 0, "worker $worker has $base descriptors at rest");

sub fds_back {
    my ($what) = @_;
    my $n;
    my $back = wait_until { ($n = fd_count($worker)) == $base } 5;
    ok($back, "worker descriptors back to $base after $what")
        or diag("worker has $n descriptors");
}


# ---- slowloris ------------------------------------------------------

{
    my $n = 300;
    my @slow;
    for (1 .. $n) {
        my $c = Ferry::Test::Client->new($port, timeout => 2) or last;
        $c->send("GET / HTTP/1.1\r\nHost: slow\r\n") or last;
        push @slow, $c;
    }
    is(scalar @slow, $n, "$n slowloris connections open");

    # dribble one byte per connection per round for 3 s (they are all
    # connected throughout: client_header_timeout is 4 s), and fetch a
    # page every few rounds: each must come back within 1 s
    my $drip = "X-Slow: " . ('s' x 100) . "\r\n";
    my ($asked, $answered, $worst) = (0, 0, 0);
    my $start = Time::HiRes::time();
    my $end = $start + 3;
    my $round = 0;
    while (Time::HiRes::time() < $end) {
        my $byte = substr($drip, $round % length $drip, 1);
        for my $c (@slow) {
            next if $c->{gone};
            my $w = syswrite $c->sock, $byte;
            $c->{gone} = 1 if !defined $w && !$!{EAGAIN};
        }
        if ($round++ % 4 == 0) {
            my $t0 = Time::HiRes::time();
            my $r = http($port, build_request(path => '/',
                         headers => [Connection => 'close']), timeout => 1);
            my $dt = Time::HiRes::time() - $t0;
            $asked++;
            $answered++ if ($r->{status} // 0) == 200 && $dt <= 1;
            $worst = $dt if $dt > $worst;
        }
        Time::HiRes::sleep(0.05);
    }
    ok($asked >= 5, "$asked normal requests made during the slowloris");
    is($answered, $asked, 'every normal request answered 200 within 1 s')
        or diag("worst wait ${worst}s");
    note(sprintf('slowloris: %d requests, worst wait %.3f s', $asked, $worst));
    my $alive = grep { !$_->{gone} && !$_->wait_close(0.001) } @slow;
    is($alive, $n, "all $n dribblers were still connected at the end");

    # client_header_timeout 4s is for the whole header, not per read:
    # every dribbler is cut off 4 s after it started, though it sent a
    # byte every 50 ms
    my $closed = 0;
    wait_until {
        $closed = grep { $_->{gone} || $_->wait_close(0.001) } @slow;
        $closed == $n;
    } $start + 7 - Time::HiRes::time();
    is($closed, $n, 'client_header_timeout closed every slowloris connection')
        or diag("$closed of $n closed");
    is(join('', map { $_->buffer } @slow), '',
       'and none of them got a response');
    $_->close for @slow;
    fds_back('the slowloris');
}


# ---- floods against the limits ----------------------------------------

{
    my $r = http($port, "GET /" . ('a' x 2000) . " HTTP/1.1\r\nHost: x\r\n\r\n",
                 wait_close => 2);
    is($r->{status}, 414, 'request line longer than the header buffer: 414');
    ok($r->{closed}, '... and the connection closed');

    my @h = map { ("X-Fill-$_" => 'f' x 40) } 1 .. 50;
    $r = http($port, build_request(path => '/', headers => \@h),
              wait_close => 2);
    is($r->{status}, 400, 'headers over the buffer: 400');
    like($r->{body}, qr/Request Header Or Cookie Too Large/,
         '... "Request Header Or Cookie Too Large", as nginx says it');
    ok($r->{closed}, '... and the connection closed');

    # a single line flood: one header of 5000 bytes
    $r = http($port, build_request(path => '/',
                                   headers => ['X-Big' => 'y' x 5000]),
              wait_close => 2);
    is($r->{status}, 400, 'one header longer than the buffer: 400');

    # body over client_max_body_size, announced: refused before reading
    my $c = Ferry::Test::Client->new($port);
    $c->send("POST /echo HTTP/1.1\r\nHost: x\r\nContent-Length: 2048\r\n\r\n");
    $r = $c->read_response(timeout => 3);
    is($r->{status}, 413, 'Content-Length over client_max_body_size: 413 '
                          . 'before any body byte was sent');
    ok($c->wait_close(2), '... and the connection closed');
    $c->close;

    $r = http($port, "POST /echo HTTP/1.1\r\nHost: x\r\n"
                     . "Content-Length: 99999999999999999999999\r\n\r\n");
    is($r->{status}, 400, 'Content-Length that overflows 64 bits: 400');

    is(scalar $echo->request_lines, 1, 'none of the floods reached the backend');
    still_serving('the floods');
}


# ---- bad upstreams ----------------------------------------------------

{
    my $r = http_get($port, '/reset');
    is($r->{status}, 502, 'upstream that resets: 502');

    my $t0 = Time::HiRes::time();
    $r = http_get($port, '/stall');
    my $dt = Time::HiRes::time() - $t0;
    is($r->{status}, 504, 'upstream that stalls: 504');
    ok($dt >= 0.4 && $dt < 3, sprintf('... after proxy_read_timeout 500ms '
                                      . '(%.2fs)', $dt));

    $r = http_get($port, '/garbage');
    is($r->{status}, 502, 'upstream that sends garbage: 502');

    for my $case (['/midbody', 'Content-Length'], ['/midchunk', 'chunked']) {
        my ($path, $framing) = @$case;
        $r = http_get($port, $path);
        like($r->{error} // '', qr/closed before a complete response/,
             "upstream closing mid-body ($framing): client connection "
             . "closed, no complete response");
        like($r->{raw} // '', qr{^HTTP/1\.1 200 }, '... after the 200 header');
        ok(length($r->{raw} // '') < 100000, '... with a short body');
    }
    fds_back('the bad upstreams');
}


# ---- clients that leave ---------------------------------------------

{
    # mid-upload: 20 kB of an announced 1 MB, then gone
    my $c = Ferry::Test::Client->new($port);
    $c->send("POST /upload/x HTTP/1.1\r\nHost: x\r\n"
             . "Content-Length: 1000000\r\n\r\n" . ('u' x 20000));
    # the fake backend logs a request once its body is complete, so
    # the upstream connection shows in the worker's descriptors only
    my $n;
    my $up = wait_until { ($n = fd_count($worker)) >= $base + 2 } 5;
    ok($up, 'worker holds the client and the upstream connection')
        or diag("worker has $n descriptors, $base at rest");
    $c->close;
    fds_back('a client left mid-upload');

    # mid-download: a 16 MB response, read 64 kB of it, then gone
    $c = Ferry::Test::Client->new($port);
    $c->send(build_request(path => '/big'));
    wait_until { $c->_read_some(0.5); length($c->buffer) >= 65536 } 5;
    ok(length($c->buffer) >= 65536, 'download started');
    $c->close;
    fds_back('a client left mid-download');
    still_serving('the clients that left');
}


# ---- request smuggling ---------------------------------------------

{
    my $before = scalar $echo->request_lines;
    my $smuggled = "GET /smuggled HTTP/1.1\r\nHost: x\r\n\r\n";
    my $head = "POST /echo/s HTTP/1.1\r\nHost: x\r\n";
    my @cases = (
        ['CL.TE', "Content-Length: 6\r\nTransfer-Encoding: chunked\r\n\r\n"
                  . "0\r\n\r\n" . $smuggled],
        ['TE.CL', "Transfer-Encoding: chunked\r\nContent-Length: 4\r\n\r\n"
                  . "5c\r\n" . $smuggled . "\r\n0\r\n\r\n"],
        ['TE.TE: chunked + identity',
         "Transfer-Encoding: chunked\r\nTransfer-Encoding: identity\r\n\r\n"
         . "0\r\n\r\n" . $smuggled],
        ['TE.TE: space before the colon',
         "Transfer-Encoding : chunked\r\nContent-Length: 5\r\n\r\n"
         . "0\r\n\r\n" . $smuggled],
        ['TE.TE: obs-fold', "Transfer-Encoding:\r\n chunked\r\n\r\n"
                            . "0\r\n\r\n" . $smuggled],
        ['TE.TE: xchunked', "Transfer-Encoding: xchunked\r\n\r\n"
                            . "0\r\n\r\n" . $smuggled],
        ['TE.TE: CR in the name', "Transfer-Encoding\r: chunked\r\n\r\n"
                                  . "0\r\n\r\n" . $smuggled],
        ['TE in HTTP/1.0', "Transfer-Encoding: chunked\r\n\r\n0\r\n\r\n"
                           . $smuggled, '1.0'],
        ['TE.TE: a coding after chunked',
         "Transfer-Encoding: chunked, identity\r\n\r\n0\r\n\r\n" . $smuggled],
        ['TE.TE: a coding before chunked',
         "Transfer-Encoding: gzip, chunked\r\n\r\n0\r\n\r\n" . $smuggled],
        ['invalid chunk size', "Transfer-Encoding: chunked\r\n\r\n"
                               . "5x\r\nhello\r\n0\r\n\r\n" . $smuggled],
        ['chunk longer than its size', "Transfer-Encoding: chunked\r\n\r\n"
                                       . "1\r\nhello\r\n0\r\n\r\n" . $smuggled],
        ['duplicate differing Content-Length',
         "Content-Length: 0\r\nContent-Length: " . length($smuggled)
         . "\r\n\r\n" . $smuggled],
        ['Content-Length list', "Content-Length: 0, 38\r\n\r\n" . $smuggled],
        ['Content-Length with a sign', "Content-Length: +0\r\n\r\n" . $smuggled],
        ['negative Content-Length', "Content-Length: -1\r\n\r\n" . $smuggled],
        ['Content-Length with inner space',
         "Content-Length: 0 5\r\n\r\n" . $smuggled],
        ['hex Content-Length', "Content-Length: 0x0\r\n\r\n" . $smuggled],
        ['empty Content-Length', "Content-Length:\r\n\r\n" . $smuggled],
    );
    for my $case (@cases) {
        my ($name, $rest, $version) = @$case;
        my $req = $head . $rest;
        $req =~ s{HTTP/1\.1}{HTTP/$version} if $version;
        my $c = Ferry::Test::Client->new($port);
        $c->send($req);
        my $r = $c->read_response(timeout => 3);
        my $closed = $c->wait_close(2);
        my $st = $r->{status} // 'none';
        ok($st =~ /^(4\d\d|501)$/, "$name: refused ($st)")
            or diag($r->{error} // $r->{raw});
        ok($closed && $c->buffer eq '',
           "$name: connection closed after that one response");
        $c->close;
    }
    my @seen = $echo->request_lines;
    is(scalar @seen, $before, 'no smuggling attempt reached the backend')
        or diag(join "\n", @seen[$before .. $#seen]);
    ok(!grep({ m{/smuggled} } @seen), 'the smuggled request never did');

    # control: the same framing done right is forwarded, once
    my $r = http($port, $head . "Content-Length: 3\r\nConnection: close\r\n"
                        . "\r\nabc");
    is($r->{status}, 200, 'a well-framed POST is proxied');
    is(scalar $echo->request_lines, $before + 1, '... as one request');

    # Transfer-Encoding spelled in any case, or after a line ended by a
    # bare LF, is a chunked body that ferry itself reads and frames
    # again for the backend: the request after it is a second request
    # for both of them, never hidden in a body
    for my $case (['tab and case', "Transfer-Encoding:\tcHuNkEd\r\n"],
                  ['bare LF line', "X: y\nTransfer-Encoding: chunked\r\n"])
    {
        my ($name, $te) = @$case;
        my $n = scalar $echo->request_lines;
        my $c = Ferry::Test::Client->new($port);
        $c->send($head . $te . "\r\n0\r\n\r\n"
                 . "GET /echo/next HTTP/1.1\r\nHost: x\r\n\r\n");
        my $r1 = $c->read_response(timeout => 3);
        my $r2 = $c->read_response(timeout => 3);
        $c->close;
        is($r1->{status}, 200, "TE.TE: $name: a chunked body, read by ferry");
        my $e = parse_echo($r1->{body});
        ok($e && grep({ $_ eq 'Content-Length: 0' } @{ $e->{header_lines} })
           && !grep({ /^Transfer-Encoding/i } @{ $e->{header_lines} }),
           "TE.TE: $name: the backend got it framed by ferry");
        is((parse_echo($r2->{body}) // {})->{uri}, '/echo/next',
           "TE.TE: $name: what follows is answered as its own request");
        is_deeply([($echo->request_lines)[$n .. $n + 1]],
                  ['POST /echo/s', 'GET /echo/next'],
                  "TE.TE: $name: the backend saw the same two requests");
    }
}

fds_back('the smuggling attempts, at the end');
is(join(',', $f->worker_pids), $worker, 'the same worker throughout');

$f->stop;


# ---- past worker_connections ------------------------------------------

{
    my $g = Ferry::Test->new(conf => main_conf() . <<'EOF');
worker_processes 1;
events { worker_connections 32; }
http {
    server {
        listen 127.0.0.1:%%PORT_0%%;
        client_header_timeout 30s;
        location / { return 200 "ok\n"; }
    }
}
EOF
    # the worker's own complaint, once per connection it had no room for
    $g->allow_log(qr/\[alert\] \d+#0: 32 worker_connections are not enough/);
    $g->start or last;
    my $gp = $g->port(0);
    my ($w) = $g->wait_workers(1);

    my $n = 300;
    my @idle;
    for (1 .. $n) {
        my $c = Ferry::Test::Client->new($gp, timeout => 2) or last;
        push @idle, $c;
    }
    is(scalar @idle, $n, "$n idle connections made against 32 "
                         . "worker_connections (the master accepts them all)");

    # the worker closes what it has no room for; at most 32 stay open
    my $open;
    my $settled = wait_until {
        $open = grep { !$_->wait_close(0.001) } @idle;
        $open <= 32;
    } 5;
    ok($settled, 'the connections past worker_connections were closed')
        or diag("$open of $n still open");
    is(join('', map { $_->buffer } @idle), '', '... without a response');
    is(join(',', $g->worker_pids), $w, 'the worker did not crash');

    $_->close for @idle;
    my $r;
    my $back = wait_until {
        $r = http_get($gp, '/');
        ($r->{status} // 0) == 200;
    } 5;
    ok($back, 'served again once the idle connections are gone')
        or diag($r->{error} // $r->{raw});
    $g->stop;
}


# ---- a flood of 10,000 connections past worker_connections ------------

{
    my $flood = "$Ferry::Test::ROOT/objs/t/tools/fy_flood";
    my $g = Ferry::Test->new(conf => main_conf() . <<'EOF');
worker_processes 2;
events { worker_connections 512; }
http {
    access_log off;
    server {
        listen 127.0.0.1:%%PORT_0%%;
        location / { return 200 "ok\n"; }
        location = /stub { stub_status; }
    }
}
EOF
    # the only complaint allowed: the workers' counted, rate-limited one
    $g->allow_log(qr/\[alert\] \d+#0: 512 worker_connections are not enough, closed \d+ connections?$/m);
    $g->start or last;
    my $gp = $g->port(0);
    my @w = sort $g->wait_workers(2);

    # 2 x 512 connections fit, the rest (10,076) do not; every
    # connection sends a request, so the tool can tell answered ones
    # (kept open, filling the workers) from closed ones
    my $total = 11100;
    my $out = `$flood -p $gp -n $total -r -h 5 -t 30 2>&1`;
    my %got = $out =~ /(\w+) ([\d.]+)/g;
    note("fy_flood: $out");
    is($got{connections}, $total, "$total connections made")
        or diag($out);
    is($got{failed}, 0, 'none failed to connect (the master accepts them all)');
    is($got{open}, 0, 'none left hanging: each was answered or closed '
                      . 'within 5 s');
    ok(($got{answered} // 0) >= 1 && $got{answered} <= 1024,
       'answered: ' . ($got{answered} // 'none')
       . ', at most 2 x 512 worker_connections');
    my $closed = $got{closed} // 0;
    ok($closed >= 10000, "$closed connections past the limit closed "
                         . 'without an answer');

    is(join(',', sort $g->worker_pids), join(',', @w),
       'the same two workers: none crashed');

    # the error log says why, in a few lines that count them all
    my ($lines, $sum) = (0, 0);
    my $counted = wait_until {
        my @n = $g->error_log =~ /worker_connections are not enough, closed (\d+) connection/g;
        $lines = @n;
        $sum = 0;
        $sum += $_ for @n;
        $sum == $closed;
    } 5;
    ok($counted, "the error log counts the $closed closed connections "
                 . "(it says $sum)");
    ok($lines >= 1 && $lines <= 2 * (4 + int($got{seconds} // 0)),
       "... in $lines lines, at most two per worker per second");

    # what an operator's monitoring sees: accepted, not handled
    my $st = http_get($gp, '/stub');
    my ($acc, $hand) = ($st->{body} // '') =~ /^ (\d+) (\d+) \d+ $/m;
    is(($acc // 0) - ($hand // 0), $closed,
       'stub_status: accepts - handled = the closed connections')
        or diag($st->{body} // $st->{error});

    # nothing spins once the flood is over
    my $ticks = sub {
        my $s = Ferry::Test::read_file("/proc/$_[0]/stat") // '';
        $s =~ s/^.*\) //s;
        my @f = split ' ', $s;
        return ($f[11] // 0) + ($f[12] // 0);      # utime + stime
    };
    my @pids = ($g->master_pid, @w);
    my %t0 = map { $_ => $ticks->($_) } @pids;
    Time::HiRes::sleep(1);
    my @busy = grep { $ticks->($_) - $t0{$_} > 10 } @pids;
    is("@busy", '', 'master and workers idle afterwards (under 0.1 s of '
                     . 'CPU in 1 s)');

    my $t0 = Time::HiRes::time();
    my $r;
    my $back = wait_until {
        $r = http_get($gp, '/');
        ($r->{status} // 0) == 200;
    } 5;
    ok($back, sprintf('an ordinary request is served after the flood '
                      . '(%.2f s)', Time::HiRes::time() - $t0))
        or diag($r->{error} // $r->{raw});
    $g->stop;
}

done_testing;
