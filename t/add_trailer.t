#!/usr/bin/perl

# add_trailer NAME VALUE [always]: the fields in the last chunk of the
# raw chunked stream, as nginx sends them; a response whose length is
# known (return, a static file, a range of one, a proxied body with
# Content-Length) goes chunked to an HTTP/1.1 client and loses its
# Content-Length; a proxied chunked body is re-chunked, one without a
# length chunked; a compressed one ends with them too; variables in the
# value ($request_time, $uri, $status), an empty value left out; only
# the statuses of add_header unless "always"; inherited like add_header
# (a level with its own replaces the whole list); nothing for HTTP/1.0,
# HEAD, 304, nor with chunked_transfer_encoding off; keep-alive goes on
# after the trailers; $sent_trailer_NAME in the access log (empty when
# none was sent); configuration errors with file and line.
#
# Every test that sends a request asserts trailers or the framing they
# force, so each fails without add_trailer (the configuration is
# refused: unknown directive).

use strict;
use warnings;

use Test::More;
use Ferry::Test;

my $f = Ferry::Test->new(conf => main_conf() . <<'EOF2');
worker_processes 1;
events { worker_connections 64; }
http {
    upstream up { server 127.0.0.1:%%PORT_1%%; }
    log_format tr '$server_protocol|$sent_trailer_x_status|$sent_trailer_X_URI|$sent_trailer_x_empty';
    server {
        listen 127.0.0.1:%%PORT_0%%;
        root %%PREFIX%%/html;
        add_trailer X-Srv "srv";

        location /ret {
            access_log logs/tr.log tr;
            add_trailer X-Time $request_time;
            add_trailer X-Uri "u=$uri";
            add_trailer X-Empty "$arg_none";
            add_trailer X-Status $status always;
            return 200 "hello";
        }
        location /missing {
            add_trailer X-Plain "p";
            add_trailer X-Always "a" always;
            return 404;
        }
        location /empty { add_trailer X-E "e"; return 200 ""; }
        location /inherit { return 200 "inherited"; }
        location /files/ { add_trailer X-File "f"; }
        location /gz/ {
            add_trailer X-Gz "z";
            gzip on;
            gzip_min_length 1;
            gzip_types text/plain;
        }
        location /off { add_trailer X-Off "o"; chunked_transfer_encoding off;
                        return 200 "plain"; }
        location /px/ { add_trailer X-Up "$upstream_status"; proxy_pass http://up; }
        location /plain/ { proxy_pass http://up; add_header X-H "h"; }
        # sub_filter's senders write the last chunk themselves
        location /subf/ {
            add_trailer X-Sub "s";
            sub_filter "body" "BODY";
            sub_filter_once off;
            sub_filter_types text/plain;
            alias %%PREFIX%%/html/files/;
        }
        location /subp/ {
            add_trailer X-Sub "s";
            sub_filter "body" "BODY";
            sub_filter_types text/plain;
            proxy_pass http://up/px/;
        }
    }
    server {
        listen 127.0.0.1:%%PORT_2%%;
        location / { proxy_pass http://up; }
    }
}
EOF2

$f->write_file('html/files/a.txt', 'file-body' x 10);
$f->write_file('html/files/zero.txt', '');
$f->write_file('html/gz/big.txt', "compress me please\n" x 200);

my $b = Ferry::Test::Backend->new(port => $f->port(1), handler => sub {
    my ($req) = @_;
    my ($mode) = $req->{uri} =~ m{^/px/(\w+)};
    $mode = 'length' if !$mode || $req->{uri} =~ m{^/plain/};
    return { status => 200, headers => [ 'Content-Type' => 'text/plain' ],
             body => "upstream body $mode\n" x 3, mode => $mode,
             chunk_size => 7 };
});
$f->start;

# The raw response split: head, body (dechunked), trailers (name =>
# value), and whether the chunk framing was exactly right (CRLF).
sub parse_raw {
    my ($raw) = @_;
    my ($head, $rest) = split /\r\n\r\n/, $raw, 2;
    my %r = (head => $head, body => '', trailers => {}, ok => 0);
    return \%r unless $head =~ /^transfer-encoding: chunked\r?$/mi;
    while ($rest =~ s/^([0-9a-f]+)\r\n//) {
        my $n = hex $1;
        if ($n == 0) {
            while ($rest =~ s/^([^\r\n:]+): ([^\r\n]*)\r\n//) {
                $r{trailers}{$1} = $2;
            }
            $r{ok} = $rest eq "\r\n";
            $r{order} = [];
            return \%r;
        }
        $r{body} .= substr($rest, 0, $n, '');
        return \%r unless $rest =~ s/^\r\n//;
    }
    return \%r;
}

sub raw_get {
    my ($path, @h) = @_;
    my $r = http_get($f->port(0), $path, @h);
    my $p = parse_raw($r->{raw} // '');
    $p->{status} = $r->{status};
    $p->{cl} = $r->{headers}{'content-length'};
    return $p;
}

my $r = raw_get('/ret');
ok($r->{ok}, 'return: a well-formed chunked stream with trailers');
is($r->{body}, 'hello', '... the body in it');
is($r->{cl}, undef, '... no Content-Length');
like($r->{trailers}{'X-Time'} // '', qr/^\d+\.\d{3}$/, '$request_time');
is($r->{trailers}{'X-Uri'}, 'u=/ret', 'a value with $uri');
ok(!exists $r->{trailers}{'X-Empty'}, 'an empty value: no field');
is($r->{trailers}{'X-Status'}, '200', '$status, "always"');
ok(!exists $r->{trailers}{'X-Srv'}, "a level with its own: not the server's");

$r = raw_get('/missing');
is($r->{status}, 404, 'an error status');
ok($r->{ok}, '... chunked for the "always" one');
is($r->{trailers}{'X-Always'}, 'a', '... which is sent');
ok(!exists $r->{trailers}{'X-Plain'}, '... and not one without "always"');

$r = raw_get('/empty');
ok($r->{ok} && $r->{body} eq '' && $r->{trailers}{'X-E'} eq 'e',
   'an empty body: the last chunk alone, with the trailers');

$r = raw_get('/inherit');
is($r->{trailers}{'X-Srv'}, 'srv', "inherited from the server");
is($r->{body}, 'inherited', '... with the body');

$r = raw_get('/files/a.txt');
ok($r->{ok}, 'a static file: chunked');
is($r->{body}, 'file-body' x 10, '... all of it');
is($r->{trailers}{'X-File'}, 'f', '... the trailer');
is($r->{cl}, undef, '... no Content-Length');

$r = raw_get('/files/a.txt', Range => 'bytes=2-5');
is($r->{status}, 206, 'a range: 206');
ok($r->{ok} && $r->{body} eq 'le-b' && $r->{trailers}{'X-File'} eq 'f',
   '... its bytes chunked, the trailer after');

$r = raw_get('/files/zero.txt');
ok($r->{ok} && $r->{body} eq '' && $r->{trailers}{'X-File'} eq 'f',
   'an empty file: the last chunk with the trailer');

$r = raw_get('/subf/a.txt');
ok($r->{ok}, 'sub_filter on a static file: one well-formed chunked stream');
is($r->{body}, 'file-BODY' x 10, '... the body substituted');
is($r->{trailers}{'X-Sub'}, 's', '... the trailer in its last chunk');

for my $mode (qw(length chunked)) {
    $r = raw_get("/subp/$mode");
    ok($r->{ok} && $r->{trailers}{'X-Sub'} eq 's',
       "sub_filter on a proxied body by $mode: the trailer in the last chunk");
    is($r->{body}, "upstream BODY $mode\n" . "upstream body $mode\n" x 2,
       '... the body substituted once');
}

$r = raw_get('/gz/big.txt', 'Accept-Encoding' => 'gzip');
like($r->{head}, qr/^Content-Encoding: gzip\r?$/mi, 'gzip: compressed');
ok($r->{ok} && $r->{trailers}{'X-Gz'} eq 'z', '... the trailer after it');

for my $mode (qw(length chunked close)) {
    $r = raw_get("/px/$mode");
    ok($r->{ok}, "proxied, upstream body by $mode: chunked");
    is($r->{body}, "upstream body $mode\n" x 3, '... the body');
    is($r->{trailers}{'X-Up'}, '200', '... the trailer with $upstream_status');
    is($r->{cl}, undef, '... no Content-Length');
}
$r = raw_get('/plain/x');
ok($r->{ok} && $r->{trailers}{'X-Srv'} eq 'srv',
   'add_header but no add_trailer here: the server\'s trailer');
my $np = http_get($f->port(2), '/plain/x');
ok($np->{headers}{'content-length'} == length("upstream body length\n" x 3)
   && !$np->{chunked}, 'no add_trailer anywhere: the upstream\'s length');

# not chunked: HTTP/1.0, HEAD, chunked_transfer_encoding off
my $r10 = http($f->port(0), "GET /ret HTTP/1.0\r\nHost: x\r\n\r\n");
ok($r10->{status} == 200 && !$r10->{chunked} && $r10->{body} eq 'hello'
   && $r10->{headers}{'content-length'} eq '5', 'HTTP/1.0: no trailers');
{
    my $log;
    wait_until {
        $log = Ferry::Test::read_file($f->prefix . '/logs/tr.log') // '';
        ($log =~ tr/\n//) >= 2;
    } 5;
    is($log, "HTTP/1.1|200|u=/ret|-\nHTTP/1.0|-|-|-\n",
       '$sent_trailer_NAME in the access log (any case; one not sent, and '
       . 'all without trailers: "-")');
}
my $rh = http($f->port(0), "HEAD /ret HTTP/1.1\r\nHost: x\r\n"
              . "Connection: close\r\n\r\n", head => 1);
ok($rh->{status} == 200 && !$rh->{headers}{'transfer-encoding'}
   && $rh->{headers}{'content-length'} eq '5', 'HEAD: Content-Length as is');
$r = raw_get('/off');
ok($r->{cl} eq '5' && $r->{head} !~ /chunked/i,
   'chunked_transfer_encoding off: no trailers');
my $lm = (http_get($f->port(0), '/files/a.txt')->{headers}{'last-modified'});
$r = raw_get('/files/a.txt', 'If-Modified-Since' => $lm);
ok($r->{status} == 304 && $r->{head} !~ /chunked/i, '304: nothing chunked');

# keep-alive after the trailers
my ($res, $closed) = http_keepalive($f->port(0), [
    build_request(path => '/ret'), build_request(path => '/px/length'),
    build_request(path => '/files/a.txt'),
]);
is(scalar(grep { $_->{status} && $_->{status} == 200 && $_->{chunked} }
          @$res), 3, 'three chunked answers with trailers on one connection');

$f->stop;

server_conf_refused('add_trailer "X Y" v;', 'invalid header name "X Y" in '
                    . '\S+ferry.conf:8', 'a bad name');
server_conf_refused('add_trailer X-A v sometimes;',
                    'invalid parameter "sometimes" in \S+ferry.conf:8',
                    'not "always"');
server_conf_refused('add_trailer X-A $nosuch;',
                    'unknown "nosuch" variable in \S+ferry.conf:8',
                    'an unknown variable');

done_testing;
