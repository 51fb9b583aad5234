#!/usr/bin/perl

# Bodies both ways through bounded buffers.
#
#   chunked uploads   several sizes, byte-identical at the backend; a
#                     body that fits client_body_buffer_size goes up
#                     with a Content-Length, a bigger one chunked over
#                     HTTP/1.1; 20 MiB while the worker's RSS stays
#                     flat; extensions and trailers; pipelining after
#                     a body; Expect: 100-continue
#   bad chunks        invalid sizes, overflow, missing CRLF, bad
#                     extensions: 400, closed, the backend never gets
#                     a complete request
#   limits            client_max_body_size counts decoded bytes (413),
#                     client_body_timeout (408), a client leaving
#                     mid-upload (the worker stays healthy)
#   retries           a small chunked body is sent again to the next
#                     server; a streamed one cannot be
#   responses         proxy_buffering on and off deliver large bodies
#                     byte-identical in every framing; with buffering
#                     the upstream is done while the client still
#                     reads; a 1 GiB response to a slow client keeps
#                     the worker's RSS flat (256 MiB on the sanitizer
#                     build, where ASan makes 1 GiB take minutes when
#                     other test files run beside it)
#   configuration     errors of the new directives with file and line
#
# The backend here streams: it decodes and hashes request bodies as
# they come, and generates responses from one pattern block, so that
# neither side holds a large body in memory.

use strict;
use warnings;

use Test::More;
use Ferry::Test;
use Digest::MD5 ();
use IO::Socket::INET;
use IO::Select;
use Socket qw(SOL_SOCKET SO_RCVBUF);
use Time::HiRes ();

# ---- the streaming backend --------------------------------------------

# Response bodies are this block repeated; its odd length makes a lost
# or repeated buffer-sized piece show.
my $PERIOD = 65521;
my $BLOCK = test_body($PERIOD, 7);
my $BIG_BLOCK = $BLOCK x 16;

my $REP = $BLOCK x 18;

# The expected bytes [$off, $off + $len) of a generated body.
sub pattern_at {
    my ($off, $len) = @_;
    return substr($REP, $off % $PERIOD, $len) if $len <= 1 << 20;
    my $s = '';
    my $o = $off % $PERIOD;
    while (length $s < $len) {
        my $take = $PERIOD - $o;
        $take = $len - length $s if $take > $len - length $s;
        $s .= substr($BLOCK, $o, $take);
        $o = 0;
    }
    return $s;
}

my $LOG;    # the backends' log file, one line per event

sub blog {
    my ($line) = @_;
    open my $fh, '>>', $LOG or return;
    syswrite $fh, "$line\n";
    close $fh;
}

sub log_lines {
    open my $fh, '<', $LOG or return ();
    my @l = <$fh>;
    chomp @l;
    return @l;
}

# Read into $$buf until $$buf holds $want bytes or a line; undef on EOF.
sub fill {
    my ($sock, $buf) = @_;
    my $sel = IO::Select->new($sock);
    return undef unless $sel->can_read(20);
    my $n = sysread $sock, $$buf, 262144, length $$buf;
    return $n ? $n : undef;
}

sub write_all {
    my ($sock, $data) = @_;
    my $off = 0;
    while ($off < length $data) {
        my $n = syswrite $sock, $data, length($data) - $off, $off;
        if (!defined $n) {
            next if $!{EINTR} || $!{EAGAIN};
            return 0;
        }
        $off += $n;
    }
    return 1;
}

# One connection of the backend (name: its name in the log).
sub serve {
    my ($name, $sock) = @_;
    binmode $sock;
    my $buf = '';
    while (1) {
        while ($buf !~ /\r\n\r\n/) {
            defined fill($sock, \$buf) or return;
        }
        $buf =~ s/^(.*?)\r\n\r\n//s;
        my ($line, @h) = split /\r\n/, $1;
        my ($method, $uri, $version) = split / /, $line;
        my (%h, $te, $cl);
        for (@h) {
            my ($n, $v) = /^([^:]+):\s*(.*)$/;
            $h{lc $n} = $v;
        }
        $te = $h{'transfer-encoding'} // '-';
        $cl = $h{'content-length'} // '-';
        blog("$name start $method $uri $$");

        # the body, decoded as it comes
        my $md5 = Digest::MD5->new;
        my ($len, @trailers) = (0);
        if ($te ne '-') {
            while (1) {
                while ($buf !~ /\r\n/) {
                    defined fill($sock, \$buf) or return;
                }
                $buf =~ s/^([0-9a-fA-F]+)(;[^\r]*)?\r\n// or return;
                my $size = hex $1;
                if ($size == 0) {
                    while (1) {
                        while ($buf !~ /\r\n/) {
                            defined fill($sock, \$buf) or return;
                        }
                        $buf =~ s/^(.*?)\r\n//;
                        last if $1 eq '';
                        push @trailers, $1;
                    }
                    last;
                }
                while (length $buf < $size + 2) {
                    defined fill($sock, \$buf) or return;
                }
                $md5->add(substr($buf, 0, $size));
                $len += $size;
                substr($buf, 0, $size + 2, '');
            }
        } elsif ($cl ne '-') {
            while ($len < $cl) {
                if ($buf eq '') {
                    defined fill($sock, \$buf) or return;
                }
                my $take = length $buf;
                $take = $cl - $len if $take > $cl - $len;
                $md5->add(substr($buf, 0, $take, ''));
                $len += $take;
            }
        }
        my $sum = "len=$len md5=" . $md5->hexdigest . " te=$te cl=$cl"
                  . " version=$version trailers=" . scalar(@trailers);
        blog("$name done $method $uri $sum");

        if ($uri =~ m{^/fail}) {
            return;                 # closed without an answer
        }
        my $close = ($h{connection} // '') =~ /close/i;
        if ($uri =~ m{/download/(\d+)(?:/(\w+))?}) {
            my ($size, $mode) = ($1, $2 // 'length');
            my $head = "HTTP/1.1 200 OK\r\n";
            $head .= $mode eq 'length' ? "Content-Length: $size\r\n"
                   : $mode eq 'chunked' ? "Transfer-Encoding: chunked\r\n"
                   : "Connection: close\r\n";
            write_all($sock, "$head\r\n") or return;
            my $off = 0;
            while ($off < $size) {
                my $n = $size - $off;
                $n = length $BIG_BLOCK if $n > length $BIG_BLOCK;
                my $piece = substr($BIG_BLOCK, 0, $n);
                $piece = sprintf("%x\r\n", $n) . $piece . "\r\n"
                    if $mode eq 'chunked';
                write_all($sock, $piece) or return;
                $off += $n;
            }
            write_all($sock, "0\r\n\r\n") or return if $mode eq 'chunked';
            if ($mode eq 'close' || $uri =~ /notify/) {
                # tell when ferry is done with this connection
                shutdown $sock, 1 if $mode eq 'close';
                my $junk;
                1 while sysread $sock, $junk, 65536;
                blog("$name closed $uri");
                return;
            }
        } else {
            write_all($sock, "HTTP/1.1 200 OK\r\nContent-Length: "
                             . length($sum) . "\r\n\r\n$sum") or return;
        }
        return if $close;
    }
}

# ---- helpers ------------------------------------------------------------

sub chunked {
    my ($data, @sizes) = @_;
    my ($out, $off, $i) = ('', 0, 0);
    while ($off < length $data) {
        my $n = $sizes[$i++ % @sizes];
        $n = length($data) - $off if $n > length($data) - $off;
        $out .= sprintf("%x\r\n", $n) . substr($data, $off, $n) . "\r\n";
        $off += $n;
    }
    return $out . "0\r\n\r\n";
}

sub sum_of {
    my ($data) = @_;
    return 'len=' . length($data) . ' md5=' . Digest::MD5::md5_hex($data);
}

sub rss_kb {
    my ($pid) = @_;
    open my $fh, '<', "/proc/$pid/status" or return 0;
    while (<$fh>) {
        return $1 if /^VmRSS:\s+(\d+)/;
    }
    return 0;
}

sub fd_count {
    my ($pid) = @_;
    opendir my $d, "/proc/$pid/fd" or return -1;
    my $n = grep { !/^\./ } readdir $d;
    closedir $d;
    return $n;
}

# ---- ferry --------------------------------------------------------------

my $f = Ferry::Test->new(conf => main_conf() . <<'EOF');
worker_processes 1;
events { worker_connections 256; }
http {
    access_log logs/access.log;
    client_max_body_size 64m;
    upstream sum   { server 127.0.0.1:%%PORT_1%%; }
    upstream retry { server 127.0.0.1:%%PORT_2%% max_fails=0;
                     server 127.0.0.1:%%PORT_1%% backup; }
    upstream kept  { server 127.0.0.1:%%PORT_1%%; keepalive 4; }
    server {
        listen 127.0.0.1:%%PORT_0%%;
        location / { proxy_pass http://sum; }
        location /small { client_max_body_size 1k; proxy_pass http://sum; }
        location /medium { client_max_body_size 40k; proxy_pass http://sum; }
        location /slow { client_body_timeout 1s; proxy_pass http://sum; }
        location /retry { proxy_pass http://retry; }
        location /kept { proxy_pass http://kept; }
        location /off { proxy_buffering off; proxy_pass http://sum; }
        location /on { proxy_buffering on; proxy_buffers 256 64k;
                       proxy_pass http://sum; }
        location /offbig { proxy_buffering off; proxy_pass http://sum; }
        location /nobuf { proxy_request_buffering off; proxy_pass http://sum; }
    }
}
EOF

$LOG = $f->prefix . '/backend.log';
open my $lfh, '>', $LOG or die "$LOG: $!";
close $lfh;

my @backends;
push @backends, Ferry::Test::Backend->new(port => $f->port(1),
    on_connect => sub { serve('A', $_[0]) });
# the first server of "retry": reads the request, then closes
push @backends, Ferry::Test::Backend->new(port => $f->port(2),
    on_connect => sub {
        my ($sock) = @_;
        my $buf = '';
        while (defined fill($sock, \$buf)) {
            my $h = index($buf, "\r\n\r\n");
            next if $h < 0;
            last if $buf =~ /\r\n0\r\n\r\n$/;
            last if $buf =~ /Content-Length: (\d+)/
                    && length($buf) >= $h + 4 + $1;
        }
        blog("B failed");
    });

$f->start;
my $port = $f->port(0);
my ($worker) = $f->wait_workers(1);   # the worker may not be forked yet

# A POST with raw bytes after the header; returns the response.
sub post {
    my ($path, $head, $body, %o) = @_;
    return http($port, "POST $path HTTP/1.1\r\nHost: x\r\n$head\r\n$body",
                timeout => $o{timeout} // 10, wait_close => $o{wait_close});
}

# ---- chunked uploads ----------------------------------------------------

for my $size (0, 1, 1000, 16383, 16384, 16385, 100_000, 1_048_576) {
    my $data = test_body($size, $size);
    my $r = post('/up', "Transfer-Encoding: chunked\r\n",
                 chunked($data, 1, 7, 4096, 9000, 65536, 3));
    is($r->{status}, 200, "chunked upload of $size bytes: 200");
    like($r->{body} // '', qr/^\Q${\sum_of($data)}\E /,
         "... byte-identical at the backend");
    if ($size <= 16384) {
        like($r->{body} // '', qr/te=- cl=$size version=HTTP\/1.0/,
             '... sent up with a Content-Length (it fits the buffer)');
    } else {
        like($r->{body} // '', qr/te=chunked cl=- version=HTTP\/1.1/,
             '... streamed up chunked over HTTP/1.1');
    }
}

# extensions (token, quoted, with BWS), trailers, upper-case hex
{
    my $body = "5;name=value\r\nhello\r\n6 ; a ; b=\"q\\\"x;\"\r\n world\r\n"
             . "A\r\n0123456789\r\n0;last\r\nX-Trailer: 1\r\nY: 2\r\n\r\n";
    my $r = post('/ext', "Transfer-Encoding: chunked\r\n", $body);
    like($r->{body} // '', qr/^\Q${\sum_of("hello world0123456789")}\E .* trailers=0$/,
         'chunk extensions and trailers: data identical, trailers dropped');
}

# a streamed body with trailers and a pipelined request after it, all in
# one write: the next request is answered on the same connection
{
    my $data = test_body(50_000, 3);
    my $c = Ferry::Test::Client->new($port, timeout => 10);
    $c->send("POST /pipe HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n"
             . substr(chunked($data, 1000), 0, -2) . "T: 1\r\n\r\n"
             . "GET /after HTTP/1.1\r\nHost: x\r\n\r\n");
    my $r1 = $c->read_response(timeout => 10);
    my $r2 = $c->read_response(timeout => 10);
    $c->close;
    like($r1->{body} // '', qr/^\Q${\sum_of($data)}\E te=chunked.* trailers=0$/,
         'a streamed body with trailers: identical, trailers dropped');
    like($r2->{body} // '', qr/^len=0 /, '... the request after it answered too');
    ok((grep { /^A start GET \/after / } log_lines()),
       '... and it reached the backend as its own request');
}

# proxy_request_buffering off: even a small body streams up at once
{
    my $c = Ferry::Test::Client->new($port, timeout => 10);
    $c->send("POST /nobuf HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n"
             . "\r\n5\r\nhello\r\n");
    ok((wait_until { grep { /^A start POST \/nobuf / } log_lines() } 5),
       'proxy_request_buffering off: the request is up before its body ends');
    $c->send("6\r\n world\r\n0\r\n\r\n");
    my $r = $c->read_response(timeout => 10);
    $c->close;
    like($r->{body} // '', qr/^\Q${\sum_of('hello world')}\E te=chunked cl=- version=HTTP\/1.1/,
         '... chunked over HTTP/1.1, identical');
}

# Expect: 100-continue, then the body once the 100 came
{
    my $data = test_body(30_000, 5);
    my $c = Ferry::Test::Client->new($port, timeout => 10);
    $c->send("POST /expect HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n"
             . "Expect: 100-continue\r\n\r\n");
    my $got = wait_until { $c->_read_some(0.2); $c->buffer =~ /\r\n\r\n/ } 5;
    like($c->buffer, qr{^HTTP/1\.1 100 Continue\r\n\r\n$},
         'Expect: 100-continue with a chunked body: 100 first');
    $c->{buf} = '';
    $c->send(chunked($data, 4000));
    my $r = $c->read_response(timeout => 10);
    $c->close;
    like($r->{body} // '', qr/^\Q${\sum_of($data)}\E /, '... then the body, identical');
}

# 20 MiB, much more than the 16k buffer, sent in 1 MiB writes while the
# worker's RSS is sampled
{
    my $size = 20 * 1024 * 1024;
    my $data = test_body($size, 11);
    my $wire = "POST /huge HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n"
               . chunked($data, 8192, 100_000, 1, 65536);
    my $base = rss_kb($worker);
    my $max = $base;
    my $c = Ferry::Test::Client->new($port, timeout => 30);
    for (my $off = 0; $off < length $wire; $off += 1 << 20) {
        $c->send(substr($wire, $off, 1 << 20), 30) or last;
        my $rss = rss_kb($worker);
        $max = $rss if $rss > $max;
    }
    my $r = $c->read_response(timeout => 30);
    $c->close;
    like($r->{body} // '', qr/^\Q${\sum_of($data)}\E te=chunked/,
         '20 MiB chunked upload: byte-identical at the backend');
    ok($max - $base < 4096,
       "... the worker's RSS grew by less than 4 MiB (by "
       . ($max - $base) . " KiB, from $base KiB)");
}

# ---- bad chunks ---------------------------------------------------------

{
    my @cases = (
        ['a size that is not hex', "zz\r\nhello\r\n0\r\n\r\n"],
        ['a negative size', "-1\r\nhello\r\n0\r\n\r\n"],
        ['a size that overflows', "10000000000000000\r\nhello\r\n0\r\n\r\n"],
        ['a space inside the size', "1 0\r\nhello\r\n0\r\n\r\n"],
        ['no size', "\r\nhello\r\n0\r\n\r\n"],
        ['data longer than its size (no CRLF after it)', "5\r\nhelloX\r\n0\r\n\r\n"],
        ['a bad extension', "5;=x\r\nhello\r\n0\r\n\r\n"],
        ['an unterminated quoted extension', "5;a=\"x\r\nhello\r\n0\r\n\r\n"],
        ['a CR alone in the size line', "5\rhello\r\n0\r\n\r\n"],
        ['a bad trailer', "5\r\nhello\r\n0\r\nBad Trailer\r\n\r\n"],
        ['a bad chunk after 40 kB (streaming)',
         substr(chunked(test_body(40_000, 1), 4000), 0, -5) . "x\r\n\r\n"],
    );
    for my $case (@cases) {
        my ($name, $body) = @$case;
        my $before = grep { /^A done / } log_lines();
        my $r = post("/bad", "Transfer-Encoding: chunked\r\n", $body,
                     wait_close => 3);
        is($r->{status}, 400, "$name: 400");
        ok($r->{closed}, "... the connection closed");
        my $after = grep { /^A done / } log_lines();
        is($after, $before, '... and the backend got no complete request');
    }
}

# ---- limits -------------------------------------------------------------

{
    my $before = grep { /^A done / } log_lines();
    # refused by the size a chunk announces, before its data
    my $r = post('/small', "Transfer-Encoding: chunked\r\n",
                 "800\r\n" . ('x' x 2048) . "\r\n0\r\n\r\n", wait_close => 3);
    is($r->{status}, 413, 'client_max_body_size 1k, a 2 kB chunk: 413');
    ok($r->{closed}, '... closed');
    # refused before a server was chosen: the log line names none (nginx
    # writes "upstream:" only once it has one)
    my ($line) = grep { /too large chunked body: .*POST \/small/ }
                 split /\n/, $f->error_log;
    like($line // '', qr/\[error\].*client: 127\.0\.0\.1, request: "POST \/small HTTP\/1\.1"$/,
         '... logged with the client and the request, and no upstream');
    # many small chunks: the decoded size counts, not the coded one
    $r = post('/small', "Transfer-Encoding: chunked\r\n",
              chunked('y' x 1500, 10), wait_close => 3);
    is($r->{status}, 413, '1500 bytes in 10-byte chunks: 413');
    $r = post('/small', "Transfer-Encoding: chunked\r\n",
              chunked('y' x 1024, 1), wait_close => 3);
    like($r->{body} // '', qr/^len=1024 /,
         '1024 bytes in 1-byte chunks (5 kB coded) are within 1k');
    # exceeded while streaming: the backend never sees the end
    $r = post('/medium', "Transfer-Encoding: chunked\r\n",
              chunked(test_body(60_000, 2), 1000), wait_close => 3);
    is($r->{status}, 413, 'client_max_body_size 40k exceeded while streaming: 413');
    like($f->error_log, qr/too large chunked body: .*request: "POST \/medium HTTP\/1\.1", upstream: "http:\/\/127\.0\.0\.1:\d+\/medium"$/m,
         '... logged with the upstream it was streaming to');
    is(scalar(grep { /^A done / } log_lines()), $before + 1,
       '... the backend got no complete body of the refused ones');
}

# client_body_timeout 1s: nothing between two reads
for my $case (['chunked, before any upstream', "Transfer-Encoding: chunked\r\n",
               "5\r\nhel"],
              ['chunked, while streaming', "Transfer-Encoding: chunked\r\n",
               "8000\r\n" . ('z' x 20000)],
              ['Content-Length', "Content-Length: 100\r\n", 'abc'])
{
    my ($name, $head, $part) = @$case;
    my $before = grep { /^A done / } log_lines();
    my $c = Ferry::Test::Client->new($port, timeout => 10);
    my $t0 = Time::HiRes::time();
    $c->send("POST /slow HTTP/1.1\r\nHost: x\r\n$head\r\n$part");
    my $r = $c->read_response(timeout => 8);
    my $closed = $c->wait_close(3);
    $c->close;
    is($r->{status}, 408, "client_body_timeout, $name: 408");
    ok($closed, '... closed');
    is(scalar(grep { /^A done / } log_lines()), $before,
       '... the backend got no complete request');
}

# a client leaving in the middle of a big upload
{
    # the connections of the tests above may still be closing (a
    # lingering close ends when the worker sees the client's FIN): count
    # once the number holds for 100 ms
    my $fds = fd_count($worker);
    wait_until {
        Time::HiRes::sleep(0.1);
        my $n = fd_count($worker);
        my $same = $n == $fds;
        $fds = $n;
        $same;
    } 3;
    my $c = Ferry::Test::Client->new($port, timeout => 10);
    $c->send("POST /gone HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n"
             . substr(chunked(test_body(1 << 20, 4), 65536), 0, 500_000));
    wait_until { grep { /^A start POST \/gone / } log_lines() } 5;
    $c->close;
    # at most as many as before: an idle kept upstream connection of an
    # earlier test may meanwhile have been closed by the backend
    my $back = wait_until { fd_count($worker) <= $fds } 5;
    ok($back, 'a client gone mid-upload: the worker closed both sides');
    my $r = post('/after-gone', "Content-Length: 3\r\n", 'abc');
    like($r->{body} // '', qr/^len=3 /, '... and serves the next request');
    is(join(',', $f->worker_pids), $worker, '... with the same worker');
    ok(!grep({ /^A done POST \/gone / } log_lines()),
       '... the backend never got the body as complete');
}

# ---- retries ------------------------------------------------------------

{
    # the first server reads the request and closes: a kept body goes on
    my $data = test_body(10_000, 9);
    my $r = http($port, "PUT /retry/small HTTP/1.1\r\nHost: x\r\n"
                 . "Transfer-Encoding: chunked\r\n\r\n" . chunked($data, 999));
    like($r->{body} // '', qr/^\Q${\sum_of($data)}\E /,
         'a small chunked body is sent again to the next server');
    # a streamed one cannot be: its start is gone
    $data = test_body(100_000, 9);
    $r = http($port, "PUT /retry/big HTTP/1.1\r\nHost: x\r\n"
              . "Transfer-Encoding: chunked\r\n\r\n" . chunked($data, 999));
    is($r->{status}, 502, 'a streamed chunked body is not retried: 502');
}

# ---- upstream keep-alive with chunked bodies ------------------------------

{
    my @sums;
    for my $size (100, 50_000, 200_000) {
        my $data = test_body($size, 6);
        my $r = post('/kept', "Transfer-Encoding: chunked\r\n",
                     chunked($data, 3000));
        push @sums, ($r->{body} // '') =~ /^\Q${\sum_of($data)}\E / ? 1 : 0;
    }
    is("@sums", '1 1 1', 'chunked bodies over a kept upstream connection');
    my %conns = map { (split / /)[4] => 1 } grep { /^A start POST \/kept / }
                log_lines();
    is(scalar keys %conns, 1, '... all three on one connection');
}

# ---- responses: proxy_buffering on and off ------------------------------

for my $loc ('/on', '/off') {
    for my $mode ('length', 'chunked', 'close') {
        for my $version ('1.1', '1.0') {
            my $size = 3_000_000 + 17;
            my $r = http($port, "GET $loc/download/$size/$mode HTTP/$version\r\n"
                         . "Host: x\r\n\r\n", timeout => 20);
            ok(($r->{status} // 0) == 200 && length($r->{body} // '') == $size
               && $r->{body} eq pattern_at(0, $size),
               "$loc, $mode body, HTTP/$version client: byte-identical")
                or diag($r->{error} // length($r->{body} // ''));
        }
    }
}

# With buffering the upstream is done while the client still reads; a
# client that reads nothing keeps the upstream waiting without it.
# Ferry's socket buffers toward the client hold at most a few MiB
# (tcp_wmem), so 12 MiB cannot all be sitting in the kernel.
for my $case (['/on', 1], ['/offbig', 0]) {
    my ($loc, $buffering) = @$case;
    my $size = 12 * 1024 * 1024;
    my $s = IO::Socket::INET->new(Proto => 'tcp') or die "socket: $!";
    setsockopt($s, SOL_SOCKET, SO_RCVBUF, pack('i', 8192));
    $s->connect(Socket::pack_sockaddr_in($port, Socket::inet_aton('127.0.0.1')))
        or die "connect: $!";
    my $uri = "$loc/download/$size/length/notify";
    syswrite $s, "GET $uri HTTP/1.1\r\nHost: x\r\n\r\n";
    my $done = wait_until { grep { $_ eq "A closed $uri" } log_lines() }
               $buffering ? 5 : 2;
    if ($buffering) {
        ok($done, 'proxy_buffering on: the upstream is done while the '
                  . 'client has read nothing');
    } else {
        ok(!$done, 'proxy_buffering off: the upstream waits for the client');
    }
    # and then the client takes it all, intact
    my ($got, $ok, $buf) = (0, 1, '');
    my $sel = IO::Select->new($s);
    while ($sel->can_read(10)) {
        my $n = sysread $s, $buf, 1 << 20, length $buf;
        last unless $n;
        last if $buf =~ /\r\n\r\n/;
    }
    $buf =~ s/^.*?\r\n\r\n//s;
    $got = length $buf;
    $ok &&= $buf eq pattern_at(0, $got);
    while ($got < $size && $sel->can_read(10)) {
        my $n = sysread $s, $buf, 1 << 20;
        last unless $n;
        $ok &&= $buf eq pattern_at($got, $n);
        $got += $n;
    }
    close $s;
    ok($ok && $got == $size, "... and the client gets all $size bytes intact")
        or diag("got $got");
    ok((wait_until { grep { $_ eq "A closed $uri" } log_lines() } 5),
       '... the upstream connection closed after it') unless $buffering;
}

# 1 GiB to a client reading slowly, then fast; the worker's RSS is
# sampled throughout and must stay flat.  make test-sanitizers sets
# ASAN_OPTIONS: 256 MiB there still shows whether the worker's memory
# grows with the body.
my $big = defined $ENV{ASAN_OPTIONS} ? 256 << 20 : 1 << 30;
for my $case (['/', $big], ['/off', 64 << 20]) {
    my ($loc, $size) = @$case;
    my $what = $loc eq '/' ? 'proxy_buffering on (default)' : 'proxy_buffering off';
    my $s = IO::Socket::INET->new(Proto => 'tcp') or die "socket: $!";
    setsockopt($s, SOL_SOCKET, SO_RCVBUF, pack('i', 65536));
    $s->connect(Socket::pack_sockaddr_in($port, Socket::inet_aton('127.0.0.1')))
        or die "connect: $!";
    my $base = rss_kb($worker);
    my $max = $base;
    my $path = $loc eq '/' ? "/download/$size" : "$loc/download/$size";
    syswrite $s, "GET $path HTTP/1.1\r\nHost: x\r\n\r\n";
    my $sel = IO::Select->new($s);
    my ($buf, $got, $ok) = ('', 0, 1);
    while ($sel->can_read(10)) {
        my $n = sysread $s, $buf, 16384, length $buf;
        last unless $n;
        last if $buf =~ /\r\n\r\n/;
    }
    $buf =~ s/^.*?\r\n\r\n//s;
    $got = length $buf;
    $ok &&= $buf eq pattern_at(0, $got);
    # slowly: 16 kB every 20 ms for 2 s, while the backend could send
    # the whole body many times over
    my $until = Time::HiRes::time() + 2;
    while (Time::HiRes::time() < $until) {
        Time::HiRes::sleep(0.02);
        my $n = sysread $s, $buf, 16384;
        $ok &&= $buf eq pattern_at($got, $n) if $n;
        $got += $n if $n;
        my $rss = rss_kb($worker);
        $max = $rss if $rss > $max;
    }
    my $slow = $got;
    # then as fast as it comes, sampling every 16 MiB
    my $next = $got + (16 << 20);
    while ($got < $size && $sel->can_read(10)) {
        my $n = sysread $s, $buf, 1 << 20;
        last unless $n;
        $ok &&= $buf eq pattern_at($got, $n);
        $got += $n;
        if ($got >= $next) {
            my $rss = rss_kb($worker);
            $max = $rss if $rss > $max;
            $next += 16 << 20;
        }
    }
    close $s;
    ok($got == $size && $ok, "$what: $size bytes to a slow client, intact "
       . "($slow read in the slow part)") or diag("got $got");
    ok($max - $base < 4096, "... the worker's RSS stayed flat (grew by "
       . ($max - $base) . " KiB from $base KiB)");
}

$f->stop;

# ---- configuration errors --------------------------------------------------

sub conf_error {
    my ($directive, $message) = @_;
    my $g = Ferry::Test->new(conf => main_conf() . <<"EOF2");
events { worker_connections 64; }
http {
    server {
        listen 127.0.0.1:%%PORT_0%%;
        location / {
            $directive
            proxy_pass http://127.0.0.1:%%PORT_1%%;
        }
    }
}
EOF2
    my ($rc, $out) = $g->run('-t');
    my $want = "[emerg] $message in " . $g->conf_file . ":9";
    ok($rc == 1 && index($out, $want) >= 0, "refused: $directive")
        or diag("expected: $want\n     got: $out");
}

conf_error('proxy_buffers 1 4k;',
           'invalid number of buffers "1" in "proxy_buffers" directive, '
           . 'it must be between 2 and 4096');
conf_error('proxy_buffers 8 100;',
           'invalid buffer size "100" in "proxy_buffers" directive, '
           . 'it must be between 1k and 16m');
conf_error('proxy_buffers 8;',
           'invalid number of arguments in "proxy_buffers" directive');
conf_error('proxy_buffers 8 4k; proxy_buffers 8 4k;',
           '"proxy_buffers" directive is duplicate');
conf_error('proxy_buffering maybe;',
           '"proxy_buffering" directive invalid value "maybe", it must be '
           . '"on" or "off"');
conf_error('client_body_buffer_size 100;',
           '"client_body_buffer_size" directive value must be between 1024 '
           . 'and 16777216');
conf_error('client_body_timeout soon;',
           '"client_body_timeout" directive invalid value "soon"');

{
    my $g = Ferry::Test->new(conf => main_conf() . <<'EOF2');
events { worker_connections 64; }
http {
    proxy_buffering off;
    proxy_buffers 4 16k;
    client_body_buffer_size 64k;
    client_body_timeout 10s;
    server {
        listen 127.0.0.1:%%PORT_0%%;
        location / { proxy_buffering on; proxy_pass http://127.0.0.1:%%PORT_1%%; }
    }
}
EOF2
    my ($rc, $out) = $g->run('-t');
    is($rc, 0, 'the new directives at http level, overridden in a location')
        or diag($out);
}

done_testing;
