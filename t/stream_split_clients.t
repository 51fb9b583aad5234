#!/usr/bin/perl

# stream split_clients (nginx's ngx_stream_split_clients_module):
# clients bound to 127.0.0.1 .. 127.0.0.8 land in the part nginx's
# MurmurHash2 arithmetic gives them (the expected parts were computed
# with the independent Perl MurmurHash2 of t/split_clients.t), seen in
# "return", the access log and "proxy_pass $variant" picking a backend;
# without "*" the rest is empty; configuration errors with file and
# line.

use strict;
use warnings;

use Test::More;
use Ferry::Test;

my $f = Ferry::Test->new(conf => main_conf() . <<'EOF');
worker_processes 1;
events { worker_connections 64; }
stream {
    log_format s '$remote_addr [$variant]';
    access_log logs/s.log s;

    split_clients "${remote_addr}AAA" $variant {
        30%    a;
        30%    b;
        *      c;
    }
    split_clients "${remote_addr}AAA" $nostar {
        30%    only-a;
    }
    split_clients "$remote_addr" $backend {
        50%    127.0.0.1:%%PORT_2%%;
        *      127.0.0.1:%%PORT_3%%;
    }

    server {
        listen 127.0.0.1:%%PORT_0%%;
        return "$variant [$nostar]\n";
    }
    server {
        listen 127.0.0.1:%%PORT_1%%;
        proxy_pass $backend;
    }
}
EOF

tcp_server($f->port(2), sub { syswrite $_[0], "backend A\n"; });
tcp_server($f->port(3), sub { syswrite $_[0], "backend B\n"; });
$f->start or do { done_testing; exit };

# MurmurHash2 of "127.0.0.N" + "AAA": parts a (< 30%), b (< 60%), c
my %want = (1 => 'c', 2 => 'c', 3 => 'a', 4 => 'b', 5 => 'c', 6 => 'a',
            7 => 'b', 8 => 'c');
my @wrong;
for my $n (sort keys %want) {
    my $nostar = $want{$n} eq 'a' ? 'only-a' : '';
    my $got = stream_line($f->port(0), "127.0.0.$n");
    push @wrong, "127.0.0.$n: got '$got'"
        if $got ne "$want{$n} [$nostar]";
}
is(scalar @wrong, 0, 'each client in the part nginx gives it, '
   . 'and the rest empty without "*"') or diag(join "\n", @wrong);

# MurmurHash2 of "127.0.0.N": below 50% for 2 .. 6
is(stream_line($f->port(1), '127.0.0.2'), 'backend A',
   'proxy_pass $split: 127.0.0.2 to the 50% part');
is(stream_line($f->port(1), '127.0.0.7'), 'backend B',
   'proxy_pass $split: 127.0.0.7 to the "*" part');
is(stream_line($f->port(1), '127.0.0.2'), 'backend A',
   'the same client, the same part');

{
    my $log = $f->prefix . '/logs/s.log';
    ok((wait_until { (Ferry::Test::read_file($log) // '')
                     =~ /^127\.0\.0\.4 \[b\]$/m } 5),
       'the access log has the value');
}

$f->stop;

# ---- configuration errors ----
{
    my $srv = "    server {\n        listen 127.0.0.1:%%PORT_0%%;\n"
            . "        return \$s;\n    }\n";
    my @bad = (
        [ "stream {\n    split_clients \$remote_addr \$s {\n"
          . "        0% a;\n    }\n$srv}\n",
          qr/invalid percent value "0%" in \S+ferry\.conf:7/,
          'a zero percentage' ],
        [ "stream {\n    split_clients \$remote_addr \$s {\n"
          . "        60% a;\n        50% b;\n    }\n$srv}\n",
          qr/percent total is greater than 100% in \S+ferry\.conf:6/,
          'a total over 100%' ],
        [ "stream {\n    split_clients \$remote_addr \$s {\n"
          . "        50% a b;\n    }\n$srv}\n",
          qr/invalid number of the split_clients parameters in \S+ferry\.conf:7/,
          'three words on a line' ],
        [ "stream {\n    map \$remote_addr \$s { default x; }\n"
          . "    split_clients \$remote_addr \$s { * a; }\n$srv}\n",
          qr/the duplicate "s" variable in \S+ferry\.conf:7/,
          'a split_clients of a map\'s variable' ],
        [ "stream {\n    split_clients \$remote_addr \$status { * a; }\n}\n",
          qr/the duplicate "status" variable in \S+ferry\.conf:6/,
          'a split_clients of a built-in variable' ],
        [ "stream {\n    server {\n        listen 127.0.0.1:%%PORT_0%%;\n"
          . "        split_clients \$remote_addr \$s { * a; }\n"
          . "        return \$s;\n    }\n}\n",
          qr/"split_clients" directive is not allowed here in \S+ferry\.conf:8/,
          'split_clients in a stream server' ],
    );
    conf_refused(@$_) for @bad;
}

done_testing;
