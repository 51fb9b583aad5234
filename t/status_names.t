#!/usr/bin/perl

# Upstream names and server addresses reach the status page whole: a
# 127-byte upstream name (the longest allowed), another that differs
# from it only in its last byte, a unix: server with a 107-byte path
# (the longest sun_path takes) and the implicit upstream proxy_pass
# makes of that path.  JSON, Prometheus and the HTML page's embedded
# data all show the full strings.  A 128-byte name, in an upstream
# block or as a proxy_pass host, is refused with file and line.

use strict;
use warnings;

use Test::More;
use Ferry::Test;
use JSON::PP ();

my $NAME_MAX = 127;

# 127 bytes; the second differs only in the last one
my $u1 = 'up_' . ('0123456789' x 12) . 'abcx';
my $u2 = substr($u1, 0, -1) . 'y';
is(length $u1, $NAME_MAX, "the upstream names are $NAME_MAX bytes");

my $f = Ferry::Test->new(conf => "# written below\n");
my $p = $f->prefix;
# the longest path a unix socket address holds: 107 bytes and the NUL
my $sock = "$p/" . ('s' x (107 - length("$p/") - length('.sock'))) . '.sock';
is(length $sock, 107, 'the socket path is 107 bytes');

$f->write_file('conf/ferry.conf', main_conf() . <<"EOF");
worker_processes 1;
events { worker_connections 64; }
http {
    upstream $u1 { server unix:$sock; }
    upstream $u2 { server 127.0.0.1:%%PORT_1%%; }
    server {
        listen 127.0.0.1:%%PORT_0%%;
        location /status { status; }
        location = /metrics { status prometheus; }
        location /named/ { proxy_pass http://$u1; }
        location /direct/ { proxy_pass http://unix:$sock:/; }
    }
    server {
        listen unix:$sock;
        location / { return 200 "app"; }
    }
}
EOF

# what the page says: upstream name => [server addresses]
sub upstreams_of {
    my ($data) = @_;
    my %u;
    for my $up (@{ $data->{upstreams} // [] }) {
        push @{ $u{ $up->{name} } }, map { $_->{server} } @{ $up->{servers} };
    }
    return \%u;
}

my $want = {
    $u1            => [ "unix:$sock" ],
    $u2            => [ '127.0.0.1:' . $f->port(1) ],
    "unix:$sock"   => [ "unix:$sock" ],
};

if ($f->start) {
    my $port = $f->port(0);
    for my $path ('/named/a', '/direct/b') {
        my $r = http_get($port, $path);
        is($r->{body}, 'app', "$path proxied over the long unix path");
    }

    my $r = http_get($port, '/status?format=json');
    my $j = eval { JSON::PP::decode_json($r->{body}) };
    ok($j, 'JSON parses') or diag($@ // $r->{raw});
    is_deeply(upstreams_of($j // {}), $want,
              'JSON: full upstream names and server addresses')
        or diag(explain(upstreams_of($j // {})));
    my ($named) = grep { $_->{name} eq $u1 } @{ $j->{upstreams} // [] };
    is($named->{servers}[0]{requests}, 1,
       'JSON: the request counted under the long name')
        if $named;

    $r = http_get($port, '/status');
    my ($embedded) = ($r->{body} // '')
        =~ m{<script type="application/json" id="fy-data">\n?(.*?)</script>}s;
    my $h = eval { JSON::PP::decode_json($embedded // '') };
    ok($h, 'HTML: the embedded data parses') or diag($@);
    is_deeply(upstreams_of($h // {}), $want,
              'HTML: full upstream names and server addresses');

    $r = http_get($port, '/metrics');
    my $body = $r->{body} // '';
    for my $name (sort keys %$want) {
        my $server = $want->{$name}[0];
        like($body,
             qr/^ferry_upstream_server_requests_total\{upstream="\Q$name\E",server="\Q$server\E"\} \d+$/m,
             'Prometheus: the ' . length($name) . '-byte name ending in "'
             . substr($name, -1) . '" with its server');
    }
}
$f->stop;

# ---- one byte more is refused, with file and line ----

my $long = $u1 . 'z';
http_conf_refused("upstream $long { server 127.0.0.1:80; }",
    qr/upstream name "\Q$long\E" is too long \(128 bytes, at most 127\) in \S+ferry\.conf:6/,
    'a 128-byte upstream name');
http_conf_refused("server {\n        listen 127.0.0.1:%%PORT_0%%;\n"
                  . "        location / { proxy_pass http://$long; }\n    }",
    qr/upstream name "\Q$long\E" is too long \(128 bytes, at most 127\) in \S+ferry\.conf:8/,
    'a 128-byte proxy_pass host');

# and refused means nothing starts
{
    my $g = Ferry::Test->new(conf => main_conf() . <<"EOF");
events { }
http {
    upstream $long { server 127.0.0.1:%%PORT_1%%; }
    server {
        listen 127.0.0.1:%%PORT_0%%;
        location / { proxy_pass http://$long; }
    }
}
EOF
    my ($rc, $out) = $g->run({ timeout => 10 });
    isnt($rc, 0, 'started with a 128-byte name: ferry exits with an error');
    like($out . ($g->error_log // ''), qr/\[emerg\] upstream name .* is too long/,
         '... saying why');
    ok(port_is_closed($g->port(0)), '... and listens on nothing');
}

done_testing;
