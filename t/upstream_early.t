#!/usr/bin/perl

# A server may answer before it has read the whole request (RFC 9112
# 9.5): a 401 or 413 to an upload, right after the request header,
# then a close without reading the body, which makes its kernel reset
# the connection under the rest of the body.  That answer is what the
# client gets, status and body, and then a clean close of its
# connection (the rest of its body is never read); the upstream
# connection is not kept; a server that resets without an answer still
# makes a 502.

use strict;
use warnings;

use Test::More;
use Ferry::Test;
use File::Temp ();
use IO::Select;
use IO::Socket::INET;
use Time::HiRes ();

my $f = Ferry::Test->new(conf => main_conf() . <<'EOF');
worker_processes 1;
events { worker_connections 256; }
http {
    access_log off;
    upstream fresh  { server 127.0.0.1:%%PORT_1%%; }
    upstream kept   { server 127.0.0.1:%%PORT_1%%; keepalive 4; }
    upstream keeper { server 127.0.0.1:%%PORT_2%%; keepalive 4; }
    upstream reset  { server 127.0.0.1:%%PORT_3%%; }
    upstream stall  { server 127.0.0.1:%%PORT_4%%; }
    server {
        listen 127.0.0.1:%%PORT_0%%;
        location /fresh/  { proxy_pass http://fresh; }
        location /kept/   { proxy_pass http://kept; }
        location /nb/fresh/ { proxy_request_buffering off;
                              proxy_pass http://fresh; }
        location /nb/kept/  { proxy_request_buffering off;
                              proxy_pass http://kept; }
        location /keeper/ { proxy_pass http://keeper; }
        location /reset/  { proxy_pass http://reset; }
        location /stall/  { client_max_body_size 0; proxy_pass http://stall; }
    }
}
EOF

# Every request a backend sees: "PORT CONN N METHOD URI" (CONN the
# connection's process, N its place on that connection).
my $dir = File::Temp::tempdir('ferry-early-XXXXXX', TMPDIR => 1,
                              CLEANUP => 1);
my $log = "$dir/requests";

sub note_request {
    my ($port, $n, $line) = @_;
    open my $fh, '>>', $log or die "$log: $!";
    syswrite $fh, "$port $$ $n $line\n";
    close $fh;
}

sub seen {
    my ($what) = @_;
    open my $fh, '<', $log or return ();
    return grep { /\Q$what\E HTTP\/1\.[01]$/ } <$fh>;
}

# The request header only, from a blocking socket; body bytes read with
# it are left in $$buf.  Returns the request line, or undef.
sub read_head {
    my ($sock, $buf) = @_;
    while ($$buf !~ /\r\n\r\n/) {
        sysread($sock, $$buf, 65536, length $$buf) or return undef;
    }
    $$buf =~ s/^(.*?)\r\n.*?\r\n\r\n//s;
    return $1;
}

my %answer = (
    401 => "HTTP/1.1 401 Unauthorized\r\nContent-Length: 4\r\n"
           . "WWW-Authenticate: Basic\r\n",
    413 => "HTTP/1.1 413 Payload Too Large\r\nContent-Length: 4\r\n",
);
my %body = (401 => 'auth', 413 => 'big!');

# GETs are answered and the connection kept; a POST is refused with the
# status its URI ends with as soon as its header is in, and the
# connection closed once body bytes are waiting unread: a reset.
my $refuser = Ferry::Test::Backend->new(port => $f->port(1),
                                        on_connect => sub {
    my ($sock) = @_;
    my ($buf, $n) = ('', 0);
    while (defined(my $line = read_head($sock, \$buf))) {
        note_request($f->port(1), ++$n, $line);
        if ($line =~ m{^POST \S*/(\d+) }) {
            syswrite $sock, "$answer{$1}Connection: close\r\n\r\n$body{$1}";
            IO::Select->new($sock)->can_read(2);
            return;
        }
        syswrite $sock, "HTTP/1.1 200 OK\r\nContent-Length: 3\r\n\r\nok\n";
    }
});

# Refuses early too, but as if it would keep the connection (no
# "Connection: close") and goes on reading the body it announced.
# ferry must not send another request on that connection: it would
# only be taken for body bytes and never answered.
my $keeper = Ferry::Test::Backend->new(port => $f->port(2),
                                       on_connect => sub {
    my ($sock) = @_;
    my ($buf, $n) = ('', 0);
    while (defined(my $line = read_head($sock, \$buf))) {
        note_request($f->port(2), ++$n, $line);
        if ($line =~ /^POST /) {
            syswrite $sock, "$answer{401}\r\n$body{401}";
            1 while sysread $sock, $buf, 65536;
            return;
        }
        syswrite $sock, "HTTP/1.1 200 OK\r\nContent-Length: 3\r\n\r\nok\n";
    }
});

# Resets once body bytes are waiting, without a word.
my $resetter = Ferry::Test::Backend->new(port => $f->port(3),
                                         on_connect => sub {
    my ($sock) = @_;
    my $buf = '';
    my $line = read_head($sock, \$buf) // return;
    note_request($f->port(3), 1, $line);
    IO::Select->new($sock)->can_read(2);
});

# Reads nothing of the body for 0.5 s (ferry's writes to it block),
# then answers 401 and closes at once: the answer and the reset come
# together.
my $staller = Ferry::Test::Backend->new(port => $f->port(4),
                                        on_connect => sub {
    my ($sock) = @_;
    my $buf = '';
    my $line = read_head($sock, \$buf) // return;
    note_request($f->port(4), 1, $line);
    Time::HiRes::sleep(0.5);
    syswrite $sock, "$answer{401}Connection: close\r\n\r\n$body{401}";
});

$f->start or do { done_testing; exit };
my $port = $f->port(0);

# Upload $size bytes in 64 KiB pieces every 10 ms (the first with the
# header; pace => 0: as fast as ferry takes them), reading all the
# while.  Stops sending when ferry closes or resets.  at => [[seconds,
# sub], ...]: things to do that long after the start.  Returns
# { response, reset, eof, sent }.
sub upload {
    my ($path, %o) = @_;
    my $size = $o{size} // 921_600;
    my $chunked = $o{chunked};
    my $pace = $o{pace} // 0.01;
    my @at = @{ $o{at} // [] };
    my $t0 = Time::HiRes::time();
    my $s = IO::Socket::INET->new(PeerAddr => '127.0.0.1', PeerPort => $port,
                                  Proto => 'tcp')
        or return { error => "connect: $!" };
    $s->blocking(0);
    my $sel = IO::Select->new($s);
    my $out = "POST $path HTTP/1.1\r\nHost: x\r\n"
              . ($chunked ? "Transfer-Encoding: chunked\r\n"
                          : "Content-Length: $size\r\n") . "\r\n";
    my ($left, $in, %r) = ($size, '');
    my $next = 0;
    my $deadline = Time::HiRes::time() + 15;
    while (Time::HiRes::time() < $deadline) {
        my $now = Time::HiRes::time();
        while (@at && $now - $t0 >= $at[0][0]) {
            (shift @at)->[1]->();
        }
        if ($out eq '' && $left && $now >= $next && !$r{stopped}) {
            my $k = $left < 65536 ? $left : 65536;
            $out = $chunked ? sprintf("%x\r\n", $k) . ('u' x $k) . "\r\n"
                            : 'u' x $k;
            $left -= $k;
            $out .= "0\r\n\r\n" if $chunked && !$left;
            $next = $now + $pace;
        }
        if ($out ne '' && !$r{stopped} && $sel->can_write(0)) {
            my $n = syswrite $s, $out;
            if (defined $n) {
                $r{sent} += $n;
                substr($out, 0, $n, '');
            } elsif (!$!{EAGAIN}) {
                $r{stopped} = 1;
            }
        }
        if ($sel->can_read(0.005)) {
            my $n = sysread $s, $in, 65536, length $in;
            if (!defined $n) {
                next if $!{EAGAIN};
                $r{reset} = 1;
                last;
            }
            if ($n == 0) {
                $r{eof} = 1;
                last;
            }
        }
    }
    close $s;
    $r{response} = Ferry::Test::parse_response(\$in, eof => 1) // {};
    return \%r;
}

sub early_ok {
    my ($what, $r, $status) = @_;
    is($r->{response}{status}, $status, "$what: the server's $status "
       . 'reaches the client');
    is($r->{response}{body}, $body{$status}, "$what: with its body");
    is($r->{response}{headers}{connection}, 'close',
       "$what: and Connection: close");
    ok($r->{eof} && !$r->{reset}, "$what: then the connection is closed "
       . 'cleanly, no reset');
}

for my $nb ('', '/nb') {
    for my $status (401, 413) {
        my $what = ($nb ? 'proxy_request_buffering off, ' : '')
                   . "fresh connection, $status";
        my $r = upload("$nb/fresh/$status");
        early_ok($what, $r, $status);
        ok($r->{sent} < 921_600 + 100, "$what: the body was not all sent")
            or diag("sent $r->{sent}");
        is(scalar seen("POST $nb/fresh/$status"), 1,
           "$what: the server got the request once");

        $what = ($nb ? 'proxy_request_buffering off, ' : '')
                . "kept connection, $status";
        is(http_get($port, "$nb/kept/get$status")->{status}, 200,
           "$what: a first request leaves a kept connection");
        $r = upload("$nb/kept/$status");
        early_ok($what, $r, $status);
        my @s = seen("POST $nb/kept/$status");
        is(scalar @s, 1, "$what: the server got the request once");
        like($s[0] // '', qr/^\d+ \d+ 2 /, "$what: on the kept connection");
    }
}

# a chunked upload streamed up (proxy_request_buffering off)
my $r = upload('/nb/fresh/chunked/413', chunked => 1);
early_ok('chunked upload', $r, 413);

# an early answer on a connection the server would keep: ferry does not
# keep it, the next request goes on a new one and is answered
$r = upload('/keeper/401');
early_ok('server keeping its connection', $r, 401);
$r = http_get($port, '/keeper/after');
is($r->{status}, 200, 'the next request to that server is answered');
like((seen('GET /keeper/after'))[0] // '', qr/^\d+ \d+ 1 /,
     '... on a new connection: the early-answered one was not kept');

# The answer and the reset arrive together while ferry waits to write:
# the write handler runs first and its send fails; what the server
# sent is read then.  The worker is stopped while the server answers
# and closes, so that both are there when it looks.
my ($worker) = $f->worker_pids;
$r = upload('/stall/401', size => 64 << 20, pace => 0,
            at => [[0.25, sub { kill 'STOP', $worker }],
                   [0.8, sub { kill 'CONT', $worker }]]);
early_ok('answer and reset together', $r, 401);
like($f->error_log, qr/upstream had answered before the send failed/,
     '... found after the failed send');

# a reset without an answer is still a 502
$r = upload('/reset/x');
is($r->{response}{status}, 502, 'a server that resets without an '
   . 'answer: 502');
ok($r->{eof} && !$r->{reset}, '... and the connection is closed cleanly');

unlike($f->error_log, qr/\[error\].*(?:fresh|kept|keeper)\//,
       'an early answer is no error');

$f->stop;
done_testing;
