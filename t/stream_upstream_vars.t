#!/usr/bin/perl

# The stream variables $upstream_first_byte_time and
# $upstream_session_time (nginx's ngx_stream_upstream_module) and
# $nginx_version: a backend that waits 200 ms before its first byte and
# 200 ms more before it closes gives times in seconds with milliseconds
# at least that long, in order (connect <= first byte <= upstream
# session <= session); over UDP the first answer's time; a server with
# "return" has no upstream: "-".

use strict;
use warnings;

use Test::More;
use Ferry::Test;
use IO::Socket::INET;
use IO::Select;
use Time::HiRes ();

my $f = Ferry::Test->new(conf => main_conf() . <<'EOF');
worker_processes 1;
events { worker_connections 64; }
stream {
    log_format t '$server_port $upstream_connect_time $upstream_first_byte_time '
                 '$upstream_session_time $session_time $nginx_version';
    access_log logs/t.log t;
    server {
        listen 127.0.0.1:%%PORT_0%%;
        proxy_pass 127.0.0.1:%%PORT_1%%;
    }
    server {
        listen 127.0.0.1:%%PORT_2%%;
        return "$nginx_version [$upstream_first_byte_time]\n";
    }
    server {
        listen 127.0.0.1:%%PORT_3%% udp;
        proxy_pass 127.0.0.1:%%PORT_4%%;
        proxy_responses 1;
    }
}
EOF

tcp_server($f->port(1), sub {
    my $c = shift;
    Time::HiRes::sleep(0.2);
    syswrite $c, "late\n";
    Time::HiRes::sleep(0.2);
});
# a UDP backend that answers each datagram 200 ms later
udp_server($f->port(4), sub { Time::HiRes::sleep(0.2); "answer\n" });
$f->start or do { done_testing; exit };

my $log = $f->prefix . '/logs/t.log';
my ($p0, $p2, $p3) = ($f->port(0), $f->port(2), $f->port(3));
my $t = qr/(\d+\.\d{3})/;

is(stream_line($p0), 'late', 'proxied');
ok((wait_until { (Ferry::Test::read_file($log) // '') =~ /^$p0 /m } 5),
   'logged');
my ($conn, $first, $ups, $sess, $ver) =
    (Ferry::Test::read_file($log) // '')
    =~ /^$p0 $t $t $t $t (\S+)$/m;
ok(defined $first, 'times in seconds with milliseconds')
    or diag(Ferry::Test::read_file($log));
SKIP: {
    skip 'no log line', 4 unless defined $first;
    cmp_ok($first, '>=', 0.2,
           '$upstream_first_byte_time: at least the backend\'s 200 ms');
    cmp_ok($conn, '<=', $first, '... after the connect');
    cmp_ok($ups, '>=', 0.4,
           '$upstream_session_time: at least the backend\'s 400 ms');
    cmp_ok($sess, '>=', $ups, '$session_time at least as long');
}
like($ver // '', qr/^\d+\.\d+\.\d+$/, '$nginx_version: a version');

like(stream_line($p2), qr/^\d+\.\d+\.\d+ \[-\]$/,
     'return: $nginx_version, and no upstream: "-"');
ok((wait_until { (Ferry::Test::read_file($log) // '')
                 =~ /^$p2 - - - \d+\.\d{3} /m } 5),
   '... logged as "-" for each upstream time');

{
    my $u = IO::Socket::INET->new(PeerAddr => "127.0.0.1:$p3",
                                  Proto => 'udp') or die;
    send($u, "ask", 0);
    my $r;
    IO::Select->new($u)->can_read(5) and recv($u, $r, 65536, 0);
    is($r, "answer\n", 'UDP: answered');
    ok((wait_until { (Ferry::Test::read_file($log) // '') =~ /^$p3 /m } 5),
       'UDP: logged');
    my (undef, $ufirst) = (Ferry::Test::read_file($log) // '')
                          =~ /^$p3 $t $t /m;
    cmp_ok($ufirst // 0, '>=', 0.2,
           'UDP: $upstream_first_byte_time is the first answer\'s');
}

$f->stop;
done_testing;
