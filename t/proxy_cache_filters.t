#!/usr/bin/perl

# expires, charset and add_trailer on the proxy cache's HITs: a HIT
# looks to the client as the MISS did (nginx runs these filters after
# the cache).  expires replaces the stored Expires and Cache-Control
# (one Cache-Control, expires's), "expires modified" counts from the
# stored Last-Modified, charset adds "; charset=" to the stored type,
# add_trailer sends the HIT chunked with the trailer in its last chunk
# (a HEAD not); a location without them keeps the stored fields as
# they were.
#
# Fails on a ferry that applies them to the MISS only: the HIT then has
# the stored Cache-Control next to expires's, an Expires counted from
# now, the type without charset, and a Content-Length with no trailer.

use strict;
use warnings;

use Test::More;
use Ferry::Test;

my $lm = 'Mon, 02 Nov 2026 10:00:00 GMT';

my $f = Ferry::Test->new(conf => main_conf() . <<'EOF');
worker_processes 1;
events { worker_connections 64; }
http {
    proxy_cache_path cache keys_zone=one:1m;
    upstream app { server 127.0.0.1:%%PORT_1%%; }
    server {
        listen 127.0.0.1:%%PORT_0%%;
        add_header X-Cache $upstream_cache_status always;
        proxy_cache one;
        proxy_cache_valid 200 10m;
        location /exp { proxy_pass http://app; expires 1h; }
        location /mod { proxy_pass http://app; expires modified 1d; }
        location /cs  { proxy_pass http://app; charset utf-8; }
        location /tr  { proxy_pass http://app;
                        add_trailer X-T "t-$upstream_cache_status"; }
        location /plain { proxy_pass http://app; }
    }
}
EOF

my $b = Ferry::Test::Backend->new(port => $f->port(1), handler => sub {
    my ($req) = @_;
    return { status => 200, body => "body of $req->{uri}\n",
             headers => ['Content-Type' => 'text/plain',
                         'Cache-Control' => 'max-age=600',
                         'Expires' => 'Thu, 01 Jan 2037 00:00:00 GMT',
                         'Last-Modified' => $lm] };
});
$f->start or BAIL_OUT('ferry did not start');
my $port = $f->port(0);

# The raw head's lines named $name (values), in order.
sub fields {
    my ($r, $name) = @_;
    my ($head) = split /\r\n\r\n/, $r->{raw} // '', 2;
    return join ' | ', map { /^[^:]+:\s*(.*?)\r?$/ ? $1 : () }
                       grep { /^\Q$name\E:/i } split /\n/, $head;
}

# The raw response's chunked body and trailers ("" when not chunked).
sub chunks {
    my ($r) = @_;
    my (undef, $rest) = split /\r\n\r\n/, $r->{raw} // '', 2;
    my ($body, %t) = ('');
    while ($rest =~ s/^([0-9a-f]+)\r\n//) {
        my $n = hex $1;
        if ($n == 0) {
            $t{$1} = $2 while $rest =~ s/^([^\r\n:]+): ([^\r\n]*)\r\n//;
            return ($body, \%t, $rest eq "\r\n");
        }
        $body .= substr($rest, 0, $n, '');
        $rest =~ s/^\r\n// or last;
    }
    return ($body, \%t, 0);
}

for my $i (1, 2) {
    my $st = $i == 1 ? 'MISS' : 'HIT';

    # ---- expires 1h ----
    my $r = http_get($port, '/exp');
    is($r->{headers}{'x-cache'}, $st, "expires: $st");
    is(fields($r, 'Cache-Control'), 'max-age=3600',
       "expires: $st has one Cache-Control, expires's");
    my $e = fields($r, 'Expires');
    ok($e ne 'Thu, 01 Jan 2037 00:00:00 GMT' && $e !~ /\|/,
       "expires: $st has expires's own Expires, once") or diag($e);

    # ---- expires modified 1d: from the stored Last-Modified ----
    $r = http_get($port, '/mod');
    is(($r->{headers}{'x-cache'} // '') . ' ' . fields($r, 'Expires'),
       "$st Tue, 03 Nov 2026 10:00:00 GMT",
       "expires modified: $st counts from the Last-Modified");

    # ---- charset ----
    $r = http_get($port, '/cs');
    is(($r->{headers}{'x-cache'} // '') . ' ' . fields($r, 'Content-Type'),
       "$st text/plain; charset=utf-8", "charset: $st");

    # ---- add_trailer ----
    $r = http_get($port, '/tr');
    my ($body, $t, $ok) = chunks($r);
    is(($r->{headers}{'x-cache'} // '') . ' '
       . ($r->{headers}{'content-length'} // 'no length') . ' '
       . fields($r, 'Transfer-Encoding'),
       "$st no length chunked", "add_trailer: $st chunked");
    ok($ok, "add_trailer: $st a well-formed chunked stream");
    is($body, "body of /tr\n", "add_trailer: $st the body");
    is($t->{'X-T'}, "t-$st", "add_trailer: $st the trailer");

    # ---- none of them: the stored fields as they are ----
    $r = http_get($port, '/plain');
    is(($r->{headers}{'x-cache'} // '') . ' ' . fields($r, 'Cache-Control')
       . ' ' . fields($r, 'Expires') . ' ' . fields($r, 'Content-Type')
       . ' ' . ($r->{headers}{'content-length'} // ''),
       "$st max-age=600 Thu, 01 Jan 2037 00:00:00 GMT text/plain "
       . length("body of /plain\n"), "no filters: $st as stored");
}

# a HEAD of a HIT with add_trailer: no body, so no chunks
{
    my $r = http($port, "HEAD /tr HTTP/1.1\r\nHost: x\r\n"
                 . "Connection: close\r\n\r\n", head => 1);
    is(($r->{headers}{'x-cache'} // '') . ' '
       . ($r->{headers}{'content-length'} // 'no length') . ' '
       . (fields($r, 'Transfer-Encoding') || 'not chunked'),
       'HIT ' . length("body of /tr\n") . ' not chunked',
       'add_trailer: a HEAD of a HIT has its length, no chunks');
}

is(scalar(grep { /^GET / } $b->request_lines), 5,
   'the backend asked once per location');

$f->stop;
done_testing;
