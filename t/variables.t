#!/usr/bin/perl

# nginx's variables ferry added for configurations that use them:
# $upstream_http_NAME (in add_header while the header is built, in the
# access log after a body that reused the buffer, the last try's after
# a retry), $sent_http_NAME (log_format, a map read there), $server_name,
# $content_type, $content_length, $document_root, $realpath_root,
# $request_filename (root, alias, WordPress's "if (!-e
# $request_filename)"), $document_uri, $request_id (format, stable in a
# request, different across them), $nginx_version (ferry's), $pipe,
# $request_completion, $connection_time, $upstream_response_length,
# $upstream_bytes_received, $upstream_bytes_sent, $proxy_port,
# $tcpinfo_*; an unknown variable is still a config error with its
# file and line.
#
# Every variable here was unknown to the old binary: its configuration
# is refused there, so every test fails.

use strict;
use warnings;

use Test::More;
use Ferry::Test;

my $conf = <<'EOF';
worker_processes 1;
events { worker_connections 256; }
http {
    log_format up '$upstream_http_x_up|$sent_http_content_type|'
                  '$sent_http_x_got|$sent_http_connection|'
                  '$sent_http_content_length|$sent_http_transfer_encoding|'
                  '$upstream_status|$upstream_response_length|'
                  '$upstream_bytes_received|$upstream_bytes_sent|'
                  '$proxy_port|$request_completion|$ct_kind|'
                  '$upstream_http_location|$sent_http_location|$request_id';
    log_format st '$sent_http_content_type|$sent_http_content_length|'
                  '$sent_http_last_modified|$sent_http_cache_control|'
                  '$request_completion|$pipe|$status';
    log_format gz '$gzip_ratio|$bytes_sent';
    map $sent_http_content_type $ct_kind {
        default   other;
        ~^text/   text;
    }
    upstream app { server 127.0.0.1:%%PORT_1%%; }
    upstream retry {
        server 127.0.0.1:%%PORT_2%%;
        server 127.0.0.1:%%PORT_1%%;
    }
    server {
        listen 127.0.0.1:%%PORT_0%%;
        server_name first.example second.example;
        root html;

        location /up/ {
            proxy_pass http://app;
            proxy_redirect http://up.example/ /moved/;
            add_header X-Got "$upstream_http_x_up";
            access_log logs/up.log up;
        }
        location /retry/ {
            proxy_pass http://retry;
            proxy_next_upstream error http_502;
            access_log logs/retry.log up;
        }
        location /vars {
            return 200 "$server_name|$content_type|$content_length|$document_uri|$nginx_version|$request_id|$request_id|$connection_time|$tcpinfo_rtt|$tcpinfo_rttvar|$tcpinfo_snd_cwnd|$tcpinfo_rcv_space|$pipe|$request_completion|$proxy_port";
        }
        location /hdr {
            add_header X-Id $request_id;
            add_header X-Name $server_name;
            access_log logs/hdr.log up;
            return 200 "$request_id";
        }
        location /files/ {
            access_log logs/st.log st;
            expires 1h;
            add_header X-From-Up $upstream_http_x_up;
        }
        location /xa/ {
            proxy_pass http://app;
        }
        location /gz/ {
            gzip on;
            gzip_min_length 1;
            gzip_types text/plain;
            access_log logs/gz.log gz;
            location /gz/text { return 200 "%%GZTEXT%%"; }
            location /gz/up/ { proxy_pass http://app; }
            location /gz/no { gzip off; return 200 "%%GZTEXT%%"; }
        }
        location /pipe {
            access_log logs/st.log st;
            return 200 "$pipe";
        }
        location /root/ {
            return 200 "$document_root|$realpath_root|$request_filename";
        }
        location /al/ {
            alias html/img/;
            if (-f $request_filename) {
                return 200 "file $request_filename|$document_root";
            }
            return 200 "none $request_filename";
        }
        location /alnoslash {
            alias html/img;
            return 200 "$request_filename";
        }
        location /wp/ {
            if (!-e $request_filename) {
                rewrite ^/wp/(.*)$ /wp/index.html?q=$1 last;
            }
        }
    }
    server {
        listen 127.0.0.1:%%PORT_3%%;
        location / {
            return 200 "[$server_name]|$document_root|$request_filename|$proxy_port";
        }
        location /link/ {
            root html/link;
            return 200 "$document_root|$realpath_root";
        }
    }
}
EOF

my $gztext = join ' ', map { "line $_ of some text" } 1 .. 200;
$conf =~ s/%%GZTEXT%%/$gztext/g;
my $f = Ferry::Test->new(conf => main_conf() . $conf);

my $big = 'b' x 200000;
my $b = Ferry::Test::Backend->new(port => $f->port(1), handler => sub {
    my ($req) = @_;
    if ($req->{uri} =~ m{^/xa/}) {
        return { status => 200,
                 headers => [ 'X-Up' => 'accel',
                              'X-Accel-Redirect' => '/files/a.txt' ],
                 body => "" };
    }
    if ($req->{uri} =~ m{^/up/loc}) {
        return { status => 302,
                 headers => [ 'X-Up' => 'loc',
                              'Location' => 'http://up.example/there' ],
                 body => "" };
    }
    return { status => 200,
             headers => [ 'Content-Type' => 'text/plain', 'X-Up' => 'good',
                          'X-Up' => 'second line' ],
             body => $req->{uri} =~ m{big} ? $big : "up\n" };
});
my $bad = Ferry::Test::Backend->new(port => $f->port(2), handler => sub {
    return { status => 502, headers => [ 'X-Up' => 'bad' ], body => "no\n" };
});

my $prefix = $f->prefix;
$f->write_file('html/files/a.txt', "a file\n");
$f->write_file('html/img/pic.png', "png\n");
$f->write_file('html/wp/index.html', "WP INDEX\n");
$f->write_file('html/wp/real.txt', "real\n");
$f->write_file('html/target/x.txt', "x\n");
symlink("$prefix/html/target", "$prefix/html/link") or die "symlink: $!";

$f->start or do { done_testing; exit };
my ($port, $port3) = ($f->port(0), $f->port(3));

sub log_lines {
    my ($name, $n) = @_;
    my @l;
    wait_until {
        my $t = Ferry::Test::read_file("$prefix/logs/$name") // '';
        @l = split /\n/, $t;
        @l >= $n;
    } 5;
    return @l;
}

# ---- $upstream_http_, $sent_http_ ----

my $r = http_get($port, '/up/small');
is($r->{status}, 200, 'proxied');
is($r->{headers}{'x-got'}, 'good, second line',
   'add_header $upstream_http_x_up: the upstream\'s field (both lines)');

# a body far bigger than the buffer the header was read into: the log
# still has the upstream's field
$r = http_get($port, '/up/big');
is(length $r->{body}, length $big, 'big body relayed');
is($r->{headers}{'x-got'}, 'good, second line', 'add_header with a big body');

$r = http_get($port, '/up/loc');
is($r->{status}, 302, 'redirect proxied');
like($r->{headers}{location}, qr{/moved/there$},
     'the client gets proxy_redirect\'s Location');

my @up = log_lines('up.log', 3);
my @f = split /\|/, $up[0], -1;
is($f[0], 'good, second line', 'log: $upstream_http_x_up');
is($f[1], 'text/plain', 'log: $sent_http_content_type');
is($f[2], 'good, second line', 'log: $sent_http_x_got (an add_header field)');
is($f[3], 'close', 'log: $sent_http_connection');
is($f[4], '3', 'log: $sent_http_content_length');
is($f[5], '-', 'log: $sent_http_transfer_encoding: none sent ("-")');
is($f[6], '200', '$upstream_status');
is($f[7], '3', '$upstream_response_length: the body\'s bytes');
cmp_ok($f[8], '>', 60, '$upstream_bytes_received: header and body');
like($f[9], qr/^\d+$/, '$upstream_bytes_sent is a number');
cmp_ok($f[9], '>', 30, '$upstream_bytes_sent: the request went up');
is($f[10], '80', '$proxy_port: proxy_pass http://app names none: 80');
is($f[11], 'OK', '$request_completion: OK');
is($f[12], 'text', 'a map of $sent_http_content_type, read by the log');
like($f[15], qr/^[0-9a-f]{32}$/, '$request_id in the log');

@f = split /\|/, $up[1], -1;
is($f[0], 'good, second line',
   'log after a 200000-byte body: the upstream field is intact');
is($f[7], length $big, '$upstream_response_length of the big body');
cmp_ok($f[8], '>', length $big, '$upstream_bytes_received counts it all');

@f = split /\|/, $up[2], -1;
is($f[0], 'loc', 'the 302\'s $upstream_http_x_up');
is($f[13], 'http://up.example/there',
   '$upstream_http_location: the upstream\'s own, before proxy_redirect');
like($f[14], qr{/moved/there$}, '$sent_http_location: what the client got');
is($f[7], '0', '$upstream_response_length of an empty body');

# two servers, one answering 502: the log has the last try's field
http_get($port, "/retry/$_") for 1 .. 2;
my @rl = log_lines('retry.log', 2);
my ($tries) = grep { ((split /\|/, $_, -1)[6] // '') =~ /,/ } @rl;
ok($tries, 'one request was tried twice') or diag(join "\n", @rl);
@f = split /\|/, ($tries // ''), -1;
is($f[0], 'good, second line', 'after a retry: the last try\'s field');
is($f[6], '502, 200', '... and $upstream_status lists both');
like($f[7], qr/^\d+, 3$/, '$upstream_response_length per try');

# X-Accel-Redirect: the final answer's add_header sees the upstream's
$r = http_get($port, '/xa/doc');
is($r->{body}, "a file\n", 'X-Accel-Redirect: the file');
is($r->{headers}{'x-from-up'}, 'accel',
   '... with add_header $upstream_http_x_up of the upstream\'s response');

# ---- plain request variables ----

$r = http($port, build_request(method => 'POST', path => '/vars',
                               headers => [ Host => 'Whatever',
                                            'Content-Type' => 'text/x-mine',
                                            Connection => 'close' ],
                               body => 'hello'));
my @v = split /\|/, $r->{body}, -1;
is($v[0], 'first.example', '$server_name: the first server_name');
is($v[1], 'text/x-mine', '$content_type: the request\'s');
is($v[2], '5', '$content_length: the request\'s');
is($v[3], '/vars', '$document_uri is $uri');
my ($version) = (`$Ferry::Test::BINARY -v 2>&1` =~ m{ferry/(\S+)});
is($v[4], $version, '$nginx_version: ferry\'s own version (ferry -v)');
like($v[5], qr/^[0-9a-f]{32}$/, '$request_id: 32 hex digits');
is($v[6], $v[5], '$request_id is the same within a request');
like($v[7], qr/^\d+\.\d{3}$/, '$connection_time: seconds.milliseconds');
like($v[$_], qr/^\d+$/, "\$tcpinfo_* field $_ is a number") for 8 .. 11;
cmp_ok($v[11], '>', 0, '$tcpinfo_rcv_space is above 0');
is($v[12], '.', '$pipe: "." for a request not pipelined');
is($v[13], '', '$request_completion: empty before the response is sent');
is($v[14], '', '$proxy_port: empty where nothing is proxied');

$r = http_get($port, '/vars');
is((split /\|/, $r->{body}, -1)[1], '', '$content_type empty without one');

my %ids;
for (1 .. 5) {
    $r = http_get($port, '/hdr');
    $ids{$r->{body}}++;
    is($r->{headers}{'x-id'}, $r->{body},
       'add_header $request_id: the same one the body has');
    is($r->{headers}{'x-name'}, 'first.example', 'add_header $server_name');
}
is(scalar(keys %ids), 5, '$request_id differs from request to request');
my @hl = log_lines('hdr.log', 5);
is((split /\|/, $hl[0], -1)[0], '-',
   '$upstream_http_ empty ("-") when not proxied');
like((split /\|/, $hl[0], -1)[15], qr/^[0-9a-f]{32}$/, '... $request_id');
ok((grep { $ids{(split /\|/, $_, -1)[15]} } @hl) == 5,
   'the log\'s $request_id is the one the response had');

# ---- $sent_http_ of a static file and a pipelined request ----

$r = http_get($port, '/files/a.txt');
is($r->{body}, "a file\n", 'static file');
ok(!exists $r->{headers}{'x-from-up'},
   'add_header with an empty $upstream_http_: no field');
my $c = Ferry::Test::Client->new($port);
$c->send(build_request(path => '/pipe') . build_request(path => '/pipe')
         . build_request(path => '/pipe', headers => [Connection => 'close']));
my @p = map { $c->read_response } 1 .. 3;
$c->close;
is($p[0]{body}, '.', '$pipe: the first of three sent at once is "."');
is($p[1]{body}, 'p', '$pipe: the second is "p"');
is($p[2]{body}, 'p', '$pipe: the third is "p"');

my @sl = log_lines('st.log', 5);      # X-Accel-Redirect's, a.txt, 3 pipes
@f = split /\|/, $sl[1], -1;
is($f[0], 'text/plain', 'static: $sent_http_content_type');
is($f[1], '7', 'static: $sent_http_content_length');
like($f[2], qr/GMT$/, 'static: $sent_http_last_modified');
is($f[3], 'max-age=3600', 'static: $sent_http_cache_control (expires)');
is($f[4], 'OK', 'static: $request_completion');
my @pipe = map { (split /\|/, $_, -1)[5] }
           grep { (split /\|/, $_, -1)[1] eq '1' } @sl;
is("@pipe", '. p p', 'log: $pipe of the three');

# ---- $document_root, $realpath_root, $request_filename ----

$r = http_get($port, '/root/a%20b.txt');
is($r->{body}, "$prefix/html|$prefix/html|$prefix/html/root/a b.txt",
   'root: $document_root, $realpath_root, $request_filename (decoded)');

$r = http_get($port3, '/link/x.txt');
is($r->{body}, "$prefix/html/link|$prefix/html/target",
   '$realpath_root resolves a link, $document_root does not');

$r = http_get($port3, '/x');
is($r->{body}, '[]|||',
   'a server without server_name or root: all empty');

$r = http_get($port, '/al/pic.png');
is($r->{body}, "file $prefix/html/img/pic.png|$prefix/html/img/",
   'alias: -f $request_filename finds the file, $document_root the alias '
   . 'as written (with its "/", as nginx)');
$r = http_get($port, '/al/nope.png');
is($r->{body}, "none $prefix/html/img/nope.png", 'alias: -f of a missing file');
$r = http_get($port, '/alnoslash/pic.png');
is($r->{body}, "$prefix/html/img/pic.png",
   'alias without a slash: one "/" between');

$r = http_get($port, '/wp/real.txt');
is($r->{body}, "real\n", 'WordPress-style: an existing file is served');
$r = http_get($port, '/wp/some/pretty/permalink');
is($r->{status}, 200, 'WordPress-style: a missing one is rewritten');
is($r->{body}, "WP INDEX\n", '... to the index');
$r = http_get($port, '/wp/');
is($r->{body}, "WP INDEX\n", 'a directory exists (-e): its index is served');

# ---- $gzip_ratio ----

$r = http_get($port, '/gz/text', 'Accept-Encoding' => 'gzip');
is($r->{headers}{'content-encoding'}, 'gzip', 'gzip: compressed');
$r = http_get($port, '/gz/up/big', 'Accept-Encoding' => 'gzip');
is($r->{headers}{'content-encoding'}, 'gzip', 'gzip: a proxied body too');
http_get($port, '/gz/no', 'Accept-Encoding' => 'gzip');
my @gl = log_lines('gz.log', 3);
like((split /\|/, $gl[0])[0], qr/^\d+\.\d\d$/, '$gzip_ratio: N.NN');
cmp_ok((split /\|/, $gl[0])[0], '>', 2, '$gzip_ratio of repeated text');
cmp_ok((split /\|/, $gl[1])[0], '>', 100,
       '$gzip_ratio of a streamed 200000-byte body');
is((split /\|/, $gl[2])[0], '-', '$gzip_ratio empty when not compressed');

# ---- configuration errors ----

server_conf_refused('return 200 "$no_such_thing";',
    qr/unknown "no_such_thing" variable in \S+ferry\.conf:8/,
    'an unknown variable: file and line');

$f->stop;
done_testing;
