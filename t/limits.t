#!/usr/bin/perl

# Limits on reading the request header, as nginx has them:
#
#   client_header_buffer_size / large_client_header_buffers: a request
#   line longer than one large buffer gets 414, a header line longer than
#   one gets 400 "Request Header Or Cookie Too Large" (nginx's 494, logged
#   as 400), and so does a header that needs more than NUMBER large
#   buffers; lines that fit go through whole, whatever way the bytes
#   arrive; the buffers are given back between requests.
#
#   ignore_invalid_headers / underscores_in_headers: what reaches the
#   backend; the smuggling checks stay 400 whatever they say.
#
#   configuration errors name the file and the line.
#
# Every refused request is checked to have never reached the backend.

use strict;
use warnings;

use Test::More;
use Ferry::Test;
use Time::HiRes ();

my $f = Ferry::Test->new(conf => main_conf() . <<'EOF');
worker_processes 1;
events { worker_connections 256; }
http {
    log_format st '$status $request_length';
    access_log logs/access.log st;
    client_header_buffer_size 256;
    large_client_header_buffers 2 1k;
    upstream echo { server 127.0.0.1:%%PORT_1%%; }
    server {
        listen 127.0.0.1:%%PORT_0%%;
        location / { proxy_pass http://echo; }
    }
    server {
        listen 127.0.0.1:%%PORT_2%%;
        underscores_in_headers on;
        location / { proxy_pass http://echo; }
    }
    server {
        listen 127.0.0.1:%%PORT_3%%;
        ignore_invalid_headers off;
        location / { proxy_pass http://echo; }
    }
    server {
        listen 127.0.0.1:%%PORT_4%%;
        large_client_header_buffers 2 64;
        client_header_buffer_size 64;
        location / { return 200 "small\n"; }
    }
}
EOF

my $echo = Ferry::Test::Backend->new(port => $f->port(1));
$f->start or BAIL_OUT('ferry did not start');
my $port = $f->port(0);

# The request, sent in pieces of $step bytes with a short pause between
# them, so the buffer boundaries fall anywhere in a line.
sub dribble {
    my ($port, $req, $step) = @_;
    my $c = Ferry::Test::Client->new($port);
    for (my $off = 0; $off < length $req; $off += $step) {
        $c->send(substr($req, $off, $step));
        Time::HiRes::sleep(0.002);
    }
    my $r = $c->read_response(timeout => 5);
    $c->close;
    return $r;
}

sub echoed_header {
    my ($r, $name) = @_;
    my $e = parse_echo($r->{body}) or return undef;
    for my $h (@{ $e->{headers} }) {
        return $h->[1] if lc $h->[0] eq lc $name;
    }
    return undef;
}

sub access_statuses {
    my $log = Ferry::Test::read_file($f->prefix . '/logs/access.log') // '';
    return map { (split ' ')[0] } split /\n/, $log;
}


# ---- large_client_header_buffers 2 1k, client_header_buffer_size 256 --

{
    my $seen = $echo->requests;

    # a request line of 1000 bytes fits in one large buffer
    my $path = '/' . ('p' x 980);
    my $r = http_get($port, $path);
    is($r->{status}, 200, 'request line of ~1000 bytes: served');
    is(parse_echo($r->{body})->{uri}, $path, '... the whole URI upstream');

    # one of 1100 bytes does not
    $r = http($port, "GET /" . ('p' x 1100) . " HTTP/1.1\r\nHost: x\r\n\r\n",
              wait_close => 2);
    is($r->{status}, 414, 'request line longer than a large buffer: 414');
    ok($r->{closed}, '... and the connection closed');

    # a header line of 1000 bytes fits; 1100 does not
    my $v = 'v' x 990;
    $r = http_get($port, '/one', 'X-Big' => $v);
    is($r->{status}, 200, 'header line of ~1000 bytes: served');
    is(echoed_header($r, 'X-Big'), $v, '... its value whole upstream');

    $r = http($port, build_request(path => '/long',
                                   headers => ['X-Big' => 'v' x 1100]),
              wait_close => 2);
    is($r->{status}, 400, 'header line longer than a large buffer: 400');
    is($r->{reason}, 'Bad Request', '... "400 Bad Request" on the status line');
    like($r->{body}, qr{<title>400 Request Header Or Cookie Too Large</title>},
         '... and nginx\'s "Request Header Or Cookie Too Large" page');
    ok($r->{closed}, '... and the connection closed');

    # two lines of 900 fit in the two large buffers, three do not
    my @two = map { ("X-L$_" => 'w' x 900) } 1 .. 2;
    $r = http_get($port, '/two', @two);
    is($r->{status}, 200, 'two header lines of 900 bytes: served');
    is(echoed_header($r, 'X-L2'), 'w' x 900, '... the second one whole');

    my @three = map { ("X-L$_" => 'w' x 900) } 1 .. 3;
    $r = http($port, build_request(path => '/three', headers => \@three),
              wait_close => 2);
    is($r->{status}, 400, 'three of them need a third large buffer: 400');
    like($r->{body}, qr/Request Header Or Cookie Too Large/, '... too large');

    # many small lines: the limit is on the whole header, not per line
    my @many = map { ("X-S$_" => 's' x 30) } 1 .. 80;
    $r = http($port, build_request(path => '/many', headers => \@many),
              wait_close => 2);
    is($r->{status}, 400, '80 small lines (3 KiB) over 256 + 2 x 1k: 400');

    is($echo->requests - $seen, 2 + 1, 'only the requests that fit reached '
                                        . 'the backend');
}

# the bytes may arrive in any pieces: a line moves to a large buffer
# from wherever the small one ended, and nothing of it is lost
{
    my @h = ('X-First' => 'a' x 200, 'X_Under' => 'u',
             'X-Second' => join('', map { chr(65 + $_ % 26) } 0 .. 699),
             'X-Third' => 'c' x 100);
    my $req = build_request(path => '/dribble?q=' . ('q' x 300),
                            headers => [@h, Connection => 'close']);
    for my $step (7, 61, 255) {
        my $r = dribble($port, $req, $step);
        my $e = parse_echo($r->{body});
        is($r->{status}, 200, "dribbled in $step-byte pieces: served");
        is($e && $e->{uri}, '/dribble?q=' . ('q' x 300), '... the URI whole');
        is(echoed_header($r, 'X-Second'), $h[5], '... a 700-byte value whole');
        is(echoed_header($r, 'X-Third'), 'c' x 100, '... the next line too');
    }
}

# keep-alive and pipelining after a request that needed large buffers
{
    my $big = build_request(path => '/ka1', headers => ['X-Big' => 'k' x 900]);
    my ($res, $closed) = http_keepalive($port, [
        $big, build_request(path => '/ka2'), $big,
        build_request(path => '/ka3', headers => [Connection => 'close'])]);
    is(scalar(grep { ($_->{status} // 0) == 200 } @$res), 4,
       'keep-alive: big, small, big, small requests on one connection');

    my $c = Ferry::Test::Client->new($port);
    $c->send($big . build_request(path => '/pipe2', headers => ['X-Big' => 'p' x 900])
             . build_request(path => '/pipe3', headers => [Connection => 'close']));
    my @st;
    for (1 .. 3) {
        my $r = $c->read_response(timeout => 5);
        push @st, $r->{status} // 'none';
    }
    $c->close;
    is("@st", '200 200 200', 'three pipelined requests, two with big headers');
}

# tiny buffers (64 bytes, two large ones of 64): the line limits hold
# exactly; a line that fits the first buffer whole never moves
{
    my $p4 = $f->port(4);
    my $r = http_get($p4, '/');
    is($r->{status}, 200, 'client_header_buffer_size 64: a short request');
    # "GET /xxx HTTP/1.1\r\n" of 64 bytes fits, of 65 does not
    my $line = "GET /" . ('x' x (64 - 16)) . " HTTP/1.1\r\n";
    is(length $line, 64, '(a 64-byte request line)');
    $r = http($p4, $line . "Host: x\r\nConnection: close\r\n\r\n");
    is($r->{status}, 200, 'request line of 64 bytes with 64-byte buffers');
    $r = http($p4, "GET /" . ('x' x (65 - 16)) . " HTTP/1.1\r\nHost: x\r\n\r\n");
    is($r->{status}, 414, 'request line of 65 bytes: 414');
    # after a 20-byte request line, a 64-byte header line moves to the
    # large buffer and fits; 65 bytes do not
    my $h = 'X: ' . ('h' x (64 - 5)) . "\r\n";
    is(length $h, 64, '(a 64-byte header line)');
    $r = http($p4, "GET / HTTP/1.1\r\nHost: x\r\n$h\r\n");
    is($r->{status}, 200, 'header line of 64 bytes: served');
    $r = http($p4, "GET / HTTP/1.1\r\nHost: x\r\nX: h$h\r\n");
    is($r->{status}, 400, 'header line of 65 bytes: 400');
}

# what the access log and the error log say
{
    my @st = access_statuses();
    ok((grep { $_ eq '414' } @st), 'access log: 414 for the long URI');
    ok(!(grep { $_ eq '494' } @st), 'access log: never 494 ...');
    ok((grep { $_ eq '400' } @st) >= 3, '... but 400, as nginx logs it');
    my $log = $f->error_log;
    like($log, qr/\[info\] .*client sent too long URI, client 127\.0\.0\.1/,
         'error log: "client sent too long URI"');
    like($log, qr/\[info\] .*client sent too long header line, client /,
         'error log: "client sent too long header line"');
    like($log, qr/\[info\] .*client sent too large request, client /,
         'error log: "client sent too large request"');
}


# ---- ignore_invalid_headers, underscores_in_headers ------------------

my @odd = ('Good-Name' => 'g', 'X_Under' => 'u', '_Lead' => 'l', 'X.Dot' => 'd',
           'X@At' => 'a', "X\xe9" => 'e', 'X!' => 'b');

sub passed {
    my ($port) = @_;
    my $r = http_get($port, '/names', @odd);
    return 'status ' . ($r->{status} // 'none') unless ($r->{status} // 0) == 200;
    my $e = parse_echo($r->{body});
    return join ' ', grep { !/^(Host|Connection|X-Real-IP|X-Forwarded-For)$/i }
                     map { $_->[0] } @{ $e->{headers} };
}

is(passed($port), 'Good-Name',
   'default (ignore_invalid_headers on, underscores off): only the valid name '
   . 'reaches the backend');
is(passed($f->port(2)), 'Good-Name X_Under _Lead',
   'underscores_in_headers on: the names with "_" (leading one too) are '
   . 'passed');
is(passed($f->port(3)), "Good-Name X_Under _Lead X.Dot X\@At X\xe9 X!",
   'ignore_invalid_headers off: every name is passed as it came');
like($f->error_log, qr/\[info\] .*client sent invalid header line: "X_Under"/,
     'an ignored header is logged at info');

# an ignored header does not count: Content_Length is not a length
{
    my $r = http($port, "POST /cl HTTP/1.1\r\nHost: x\r\nContent_Length: 5\r\n"
                        . "Connection: close\r\n\r\n");
    is($r->{status}, 200, 'Content_Length ignored: a request without a body');
    is(parse_echo($r->{body})->{'body-length'}, 0, '... none sent upstream');
}

# the smuggling checks do not depend on these settings
my @strict = (
    ['space before the colon', "X-A : b"],
    ['tab before the colon', "X-A\t: b"],
    ['obs-fold', "X-A: b\r\n c"],
    ['NUL in a value', "X-A: b\0c"],
    ['CR in a value', "X-A: b\rc"],
    ['control byte in a name', "X\x01A: b"],
    ['DEL in a name', "X\x7fA: b"],
    ['empty name', ": b"],
    ['no colon', "X-A b"],
);
for my $p ($port, $f->port(2), $f->port(3)) {
    my $seen = $echo->requests;
    my $bad = 0;
    for my $t (@strict) {
        my $r = http($p, "GET /strict HTTP/1.1\r\nHost: x\r\n$t->[1]\r\n\r\n",
                     wait_close => 2);
        if (($r->{status} // 0) != 400 || !$r->{closed}) {
            diag("$t->[0] on port $p: " . ($r->{status} // $r->{error}));
            $bad++;
        }
    }
    is($bad, 0, 'port ' . ($p == $port ? 'default' : $p == $f->port(2)
                           ? 'underscores on' : 'ignore off')
                . ': whitespace before ":", obs-fold, NUL/CR, CTL/DEL in '
                . 'names, empty names, no colon: each 400 and closed');
    is($echo->requests, $seen, '... none reached the backend');
}

$f->stop;


# ---- configuration errors --------------------------------------------

for my $t (
    ['large_client_header_buffers 0 8k;', qr/invalid number of buffers "0"/],
    ['large_client_header_buffers 4 8q;', qr/invalid buffer size "8q"/],
    ['large_client_header_buffers 4 32;', qr/invalid buffer size "32"/],
    ['large_client_header_buffers 4;', qr/invalid number of arguments/],
    ['client_header_buffer_size 10;', qr/value must be between 64 and/],
    ['ignore_invalid_headers maybe;', qr/it must be "on" or "off"/],
    ['underscores_in_headers on; underscores_in_headers on;', qr/is duplicate/],
    ['large_client_header_buffer_size 8k;', qr/unknown directive/],
) {
    my ($directive, $msg) = @$t;
    server_conf_refused($directive, qr/$msg.* in \S+ferry\.conf:8/,
                        "\"$directive\"");
}

done_testing;
