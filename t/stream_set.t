#!/usr/bin/perl

# stream "set $var VALUE" (nginx's ngx_stream_set_module): the values,
# with variables, in "return" and the access log; a set of a set
# variable, set twice in one server (the later wins, reading the
# earlier), a server without the set reads it empty, a map whose source
# is a set variable, a set of a map's variable (before and after the
# map block: the set wins in its server, the map elsewhere), "proxy_pass $var" to the upstream a set names and
# to an address it gives, a limit_conn key made by set (set runs
# before limit_conn), a UDP session's sets; configuration errors with
# file and line.

use strict;
use warnings;

use Test::More;
use Ferry::Test;
use IO::Socket::INET;
use IO::Select;

my $f = Ferry::Test->new(conf => main_conf() . <<'EOF');
worker_processes 1;
events { worker_connections 64; }
stream {
    log_format s '$server_port [$who]';
    access_log logs/s.log s;

    map $who $kind {
        ~^me-    mine;
        default  other;
    }
    upstream back_a { server 127.0.0.1:%%PORT_4%%; }
    limit_conn_zone $key zone=k:64k;

    server {
        listen 127.0.0.1:%%PORT_0%%;
        set $who "me-$remote_addr";
        set $twice one;
        set $twice "$twice-two";
        set $late "set-late";
        return "$who $twice $kind $late\n";
    }
    server {
        listen 127.0.0.1:%%PORT_1%%;
        return "[$who] [$twice] $kind $late\n";
    }
    server {
        listen 127.0.0.1:%%PORT_8%%;
        set $kind forced;
        return "$kind\n";
    }
    map $remote_addr $late {
        default    from-map;
    }
    server {
        listen 127.0.0.1:%%PORT_2%%;
        set $up back_a;
        proxy_pass $up;
    }
    server {
        listen 127.0.0.1:%%PORT_3%%;
        set $up 127.0.0.1:%%PORT_5%%;
        proxy_pass $up;
    }
    server {
        listen 127.0.0.1:%%PORT_9%% udp;
        set $who "udp-$remote_addr";
        return "$who $kind\n";
    }
    server {
        listen 127.0.0.1:%%PORT_6%%;
        set $key all;
        limit_conn k 1;
        proxy_pass 127.0.0.1:%%PORT_7%%;
    }
}
EOF

tcp_server($f->port(4), sub { syswrite $_[0], "backend A\n"; });
tcp_server($f->port(5), sub { syswrite $_[0], "backend B\n"; });
# holds each connection until the client closes it
tcp_server($f->port(7), sub {
    my $c = shift;
    syswrite $c, "held\n";
    1 while sysread($c, my $b, 100);
});
$f->start or do { done_testing; exit };

is(stream_line($f->port(0)), 'me-127.0.0.1 one-two mine set-late',
   'set with a variable; set twice, the second reading the first; '
   . 'a map of a set variable; a set of a map\'s variable (the map '
   . 'block after it)');
is(stream_line($f->port(1)), '[] [] other from-map',
   'a server without the sets: empty, and the map\'s own value');
is(stream_line($f->port(8)), 'forced',
   'a set of a map\'s variable wins in its server (nginx\'s map '
   . 'variables are changeable)');
is(stream_line($f->port(2)), 'backend A',
   'proxy_pass $var: the upstream block a set names');
is(stream_line($f->port(3)), 'backend B',
   'proxy_pass $var: the address a set gives');

{
    # the key "all" for every client: a second session at once is over
    # limit_conn 1, whatever its address.  Ferry::Test's start connected
    # to each port to see it listen: that session holds the key until
    # it has ended, which its access log line says (on a busy machine
    # it can still be closing here)
    my $p6 = $f->port(6);
    wait_until { (Ferry::Test::read_file($f->prefix . '/logs/s.log') // '')
                 =~ /^$p6 /m } 5;
    my $a = IO::Socket::INET->new(PeerAddr => '127.0.0.1:' . $f->port(6),
                                  Timeout => 5) or die;
    my $l = <$a>;
    is($l, "held\n", 'the first session of the set key passes');
    is(stream_line($f->port(6), '127.0.0.2'), 'closed',
       'a second one, from another address, is over the limit: the key '
       . 'set made (set runs before limit_conn)');
    close $a;
}

{
    my $u = IO::Socket::INET->new(PeerAddr => '127.0.0.1:' . $f->port(9),
                                  Proto => 'udp') or die;
    send($u, "hi", 0);
    my $r;
    IO::Select->new($u)->can_read(5) and recv($u, $r, 65536, 0);
    is($r, "udp-127.0.0.1 other\n",
       'a UDP session runs the sets too (answered by return)');
}

{
    my $log = $f->prefix . '/logs/s.log';
    my $p0 = $f->port(0);
    ok((wait_until { (Ferry::Test::read_file($log) // '')
                     =~ /^$p0 \[me-127\.0\.0\.1\]$/m } 5),
       'the access log has the value set');
}

$f->stop;

# ---- configuration errors ----
{
    my $srv = "    server {\n        listen 127.0.0.1:%%PORT_0%%;\n";
    my @bad = (
        [ "stream {\n$srv        set \$remote_addr x;\n"
          . "        return x;\n    }\n}\n",
          qr/the duplicate "remote_addr" variable in \S+ferry\.conf:8/,
          'set of a built-in variable' ],
        [ "stream {\n$srv        set a x;\n        return x;\n    }\n}\n",
          qr/invalid variable name "a" in \S+ferry\.conf:8/,
          'set of no variable' ],
        [ "stream {\n$srv        set \$a;\n        return x;\n    }\n}\n",
          qr/invalid number of arguments in "set" directive in \S+ferry\.conf:8/,
          'set with one argument' ],
        [ "stream {\n    set \$a x;\n$srv        return x;\n    }\n}\n",
          qr/"set" directive is not allowed here in \S+ferry\.conf:6/,
          'set at the stream level' ],
        [ "stream {\n$srv        set \$a \"\$nosuch\";\n"
          . "        return x;\n    }\n}\n",
          qr/unknown "nosuch" variable in \S+ferry\.conf:8/,
          'an unknown variable in the value' ],
    );
    conf_refused(@$_) for @bad;
}

done_testing;
