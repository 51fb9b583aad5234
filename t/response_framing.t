#!/usr/bin/perl

# How an upstream response is framed on its way to the client.  ferry
# passes a chunked body to HTTP/1.1 clients as it came, chunk lines and
# all, so its reading of the upstream's framing must be the one every
# client makes: only what RFC 9112 7.1 allows is relayed.  Anything else
# is a 502 while the client has had nothing, and after that a closed
# connection without the last-chunk (a message that is visibly short,
# never a different one).  Duplicate header framing fields are collapsed
# or refused.  The client-visible bytes are compared exactly.

use strict;
use warnings;

use Test::More;
use Ferry::Test;
use IO::Select;
use Time::HiRes ();

my $f = Ferry::Test->new(conf => main_conf() . <<'EOF');
worker_processes 1;
events { worker_connections 256; }
http {
    upstream raw { server 127.0.0.1:%%PORT_1%%; }
    server {
        listen 127.0.0.1:%%PORT_0%%;
        location / { proxy_pass http://raw; }
    }
}
EOF

my $OK_TE = "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n";

# Upstream responses by request path: a string is written in one go; an
# array is written piece by piece, 0.5 s apart, so that ferry has sent
# the client the first piece before it reads the next.
my %resp;

# bodies that break RFC 9112 7.1 (or RFC 9110 6.5.1 for the trailers)
my %bad = (
    'lf-after-size'     => "5\nhello\r\n0\r\n\r\n",
    'lf-after-data'     => "5\r\nhello\n0\r\n\r\n",
    'lf-everywhere'     => "5\nhello\n0\n\n",
    'lf-after-last'     => "5\r\nhello\r\n0\n\r\n",
    'lf-final'          => "5\r\nhello\r\n0\r\n\n",
    'lf-after-ext'      => "5;a=b\nhello\r\n0\r\n\r\n",
    'lf-after-trailer'  => "5\r\nhello\r\n0\r\nX-T: 1\n\r\n",
    'cr-after-data'     => "5\r\nhello\r0\r\n\r\n",
    'space-after-size'  => "5 \r\nhello\r\n0\r\n\r\n",
    'size-overflow'     => "10000000000000000\r\nhello\r\n0\r\n\r\n",
    'size-line-4097'    => ('0' x 4093) . "5\r\n\r\nhello\r\n0\r\n\r\n",
    'trailer-cl'        => "5\r\nhello\r\n0\r\nContent-Length: 99\r\n\r\n",
    'trailer-te'        => "5\r\nhello\r\n0\r\ntransfer-encoding: chunked\r\n\r\n",
    'trailer-host'      => "5\r\nhello\r\n0\r\nHOST: evil\r\n\r\n",
    'trailer-trailer'   => "5\r\nhello\r\n0\r\nTrailer: X\r\n\r\n",
    'trailer-conn'      => "5\r\nhello\r\n0\r\nX: 1\r\nConnection: close\r\n\r\n",
    'trailer-ctype'     => "5\r\nhello\r\n0\r\nContent-Type: text/x\r\n\r\n",
    'trailer-fold'      => "5\r\nhello\r\n0\r\nX-T: 1\r\n 2\r\n\r\n",
);
$resp{"/bad/$_"} = $OK_TE . $bad{$_} for keys %bad;

# The finding behind this test: a bare LF after chunk data, then a chunk
# that a strict client reads as a different size; Python's http.client
# took "helloF" and the next response from these bytes.
$resp{'/desync'} = $OK_TE . "5\r\nhello\n101\r\nF\r\n0\r\n\r\n"
    . "HTTP/1.1 200 OK\r\nContent-Length: 4\r\n\r\nEVIL" . ('P' x 200)
    . "\r\n0\r\n\r\n";

# the same faults once the header and a first chunk have gone out
my $first = "5\r\nhello\r\n";
my %late = (
    'lf-after-size'  => "5\nworld\r\n0\r\n\r\n",
    'lf-after-data'  => "5\r\nworld\n0\r\n\r\n",
    'lf-after-last'  => "0\n\r\n",
    'trailer-cl'     => "0\r\nContent-Length: 0\r\n\r\n",
    'bad-size'       => "zz\r\nworld\r\n0\r\n\r\n",
);
$resp{"/late/$_"} = [$OK_TE . $first, $late{$_}] for keys %late;

# legal framing: relayed byte for byte
my %good = (
    'plain'      => "5\r\nhello\r\n0\r\n\r\n",
    'ext-bws'    => "5 ; a = b ; c\t;\td\r\nhello\r\n"
                    . "6;q=\"x y\\\"z\" ;r=\"\"\r\n world\r\n0;last\r\n\r\n",
    'upper-hex'  => "000A\r\n0123456789\r\n0\r\n\r\n",
    'trailers'   => "5\r\nhello\r\n0\r\nX-Checksum: abc\r\nExpires: 0\r\n"
                    . "X-Content-Length: 1\r\nContent-Lengths: 2\r\n\r\n",
);
$resp{"/good/$_"} = $OK_TE . $good{$_} for keys %good;
$resp{'/good/split'} = [$OK_TE . "5\r\nhe", "llo\r\n0\r\nX-T: 1\r\n\r\n"];

# header framing fields
$resp{'/cl/same'} = "HTTP/1.1 200 OK\r\nContent-Length: 5\r\n"
                  . "X-A: 1\r\nContent-Length: 5\r\n\r\nhello";
$resp{'/cl/differ'} = "HTTP/1.1 200 OK\r\nContent-Length: 5\r\n"
                    . "Content-Length: 3\r\n\r\nhello";
$resp{'/cl/list'} = "HTTP/1.1 200 OK\r\nContent-Length: 5, 5\r\n\r\nhello";
$resp{'/te/and-cl'} = "HTTP/1.1 200 OK\r\nContent-Length: 5\r\n"
                    . "Transfer-Encoding: chunked\r\n\r\n5\r\nhello\r\n0\r\n\r\n";
$resp{'/te/twice'} = "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n"
                   . "Transfer-Encoding: chunked\r\n\r\n5\r\nhello\r\n0\r\n\r\n";
$resp{'/te/gzip-chunked'} = "HTTP/1.1 200 OK\r\nTransfer-Encoding: gzip, "
                          . "chunked\r\n\r\n5\r\nhello\r\n0\r\n\r\n";
$resp{'/te/two-lines'} = "HTTP/1.1 200 OK\r\nTransfer-Encoding: gzip\r\n"
                       . "Transfer-Encoding: chunked\r\n\r\n5\r\nhello\r\n0\r\n\r\n";
$resp{'/te/xchunked'} = "HTTP/1.1 200 OK\r\nTransfer-Encoding: xchunked\r\n"
                      . "\r\n5\r\nhello\r\n0\r\n\r\n";
$resp{'/te/case'} = "HTTP/1.1 200 OK\r\nTransfer-Encoding: ChUnKeD\r\n"
                  . "\r\n5\r\nhello\r\n0\r\n\r\n";

my $be = Ferry::Test::Backend->new(port => $f->port(1), raw => sub {
    my ($sock, $req) = @_;
    my $r = $resp{$req->{uri}} // "HTTP/1.1 404 Not Found\r\n"
                                  . "Content-Length: 0\r\n\r\n";
    my @parts = ref $r ? @$r : ($r);
    for my $i (0 .. $#parts) {
        Time::HiRes::sleep(0.5) if $i;
        syswrite $sock, $parts[$i];
    }
    Time::HiRes::sleep(0.2);
});

$f->start or do { done_testing; exit };
my $port = $f->port(0);

# One keep-alive request; everything the client gets until ferry
# closes, or until a complete response has been followed by 0.3 s of
# quiet: (bytes, closed).
sub exchange {
    my ($path, $version) = @_;
    my $c = Ferry::Test::Client->new($port, timeout => 5) or return ('', 0);
    $c->send("GET $path HTTP/" . ($version // '1.1') . "\r\nHost: x\r\n\r\n");
    my $deadline = Time::HiRes::time() + 5;
    while (!$c->{eof} && Time::HiRes::time() < $deadline) {
        $c->_read_some(0.1);
        my $copy = $c->buffer;
        my $r = Ferry::Test::parse_response(\$copy, eof => $c->{eof});
        if ($r && !$r->{error}) {
            $c->wait_close(0.3);
            last;
        }
    }
    my @r = ($c->buffer, $c->{eof} ? 1 : 0);
    $c->close;
    return @r;
}

# the client's header and body, split
sub head_body {
    my ($raw) = @_;
    my $i = index($raw, "\r\n\r\n");
    return $i < 0 ? ($raw, '') : (substr($raw, 0, $i + 4), substr($raw, $i + 4));
}

for my $name (sort keys %bad) {
    my ($raw) = exchange("/bad/$name");
    like($raw, qr{^HTTP/1\.1 502 Bad Gateway\r\n},
         "bad chunked framing ($name), all in the first read: 502");
}
{
    my ($raw) = exchange('/bad/lf-after-data', '1.0');
    like($raw, qr{^HTTP/1\.1 502 }, '... also to an HTTP/1.0 client (decoded)');
}
like($f->error_log, qr/\[error\].*upstream sent invalid chunked response/,
     '... logged as an invalid chunked response');

# the desync: a 502, then the next request on the same connection gets
# its own answer, never the bytes hidden in the bad body
{
    my ($res, $closed) = http_keepalive($port, [
        "GET /desync HTTP/1.1\r\nHost: x\r\n\r\n",
        "GET /good/plain HTTP/1.1\r\nHost: x\r\n\r\n"]);
    is($res->[0]{status}, 502, 'smuggled response in a bad chunk: 502');
    is($res->[1]{status}, 200, '... the next request on the connection: 200');
    is($res->[1]{body}, 'hello', '... with its own body');
    unlike(join('', map { $_->{raw} // '' } @$res), qr/EVIL|helloF/,
           '... and nothing of the hidden response reaches the client');
}

for my $name (sort keys %late) {
    my ($raw, $closed) = exchange("/late/$name");
    my ($head, $body) = head_body($raw);
    like($head, qr{^HTTP/1\.1 200 OK\r\n.*Transfer-Encoding: chunked\r\n}s,
         "bad framing after the first chunk ($name): the 200 header went out");
    is($body, $first, '... the first chunk, then nothing: no last-chunk');
    ok($closed, '... and the connection is closed');
}

for my $name (sort(keys %good), 'split') {
    my ($raw, $closed) = exchange("/good/$name");
    my ($head, $body) = head_body($raw);
    my $want = $name eq 'split' ? "5\r\nhello\r\n0\r\nX-T: 1\r\n\r\n"
                                : $good{$name};
    like($head, qr{^HTTP/1\.1 200 OK\r\n}, "legal chunked framing ($name): 200");
    is($body, $want, '... relayed byte for byte');
    ok(!$closed, '... and the connection stays open');
}

{
    my ($raw, $closed) = exchange('/cl/same');
    my ($head, $body) = head_body($raw);
    my $n = () = $head =~ /^Content-Length:/mig;
    is($n, 1, 'two identical Content-Lengths: the client gets one');
    like($head, qr/^Content-Length: 5\r$/m, '... with the value');
    like($head, qr/^X-A: 1\r$/m, '... and the other fields');
    is($body, 'hello', '... and the body');
    ok(!$closed, '... on a connection kept open');
}

for my $case (['/cl/differ', 'two differing Content-Lengths'],
              ['/cl/list', 'a Content-Length list'],
              ['/te/and-cl', 'Transfer-Encoding with Content-Length'],
              ['/te/twice', 'Transfer-Encoding: chunked twice'],
              ['/te/gzip-chunked', 'a coding before chunked'],
              ['/te/two-lines', 'Transfer-Encoding over two lines'],
              ['/te/xchunked', 'Transfer-Encoding: xchunked'])
{
    my ($path, $name) = @$case;
    my ($raw) = exchange($path);
    like($raw, qr{^HTTP/1\.1 502 Bad Gateway\r\n}, "$name: 502");
}

{
    my ($raw) = exchange('/te/case');
    my ($head, $body) = head_body($raw);
    like($head, qr{^HTTP/1\.1 200 OK\r\n}, 'Transfer-Encoding in any case: 200');
    my $n = () = $head =~ /^Transfer-Encoding:/mig;
    is($n, 1, '... with one Transfer-Encoding');
    is($body, "5\r\nhello\r\n0\r\n\r\n", '... and the body as it came');
}

is(http_get($port, '/good/plain')->{status}, 200, 'still serving');

done_testing;
