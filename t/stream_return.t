#!/usr/bin/perl

# stream "return VALUE" (nginx's ngx_stream_return_module): the value,
# with variables, is what the client gets, then the close; over a
# plain listener and over TLS ("listen ... ssl"); as the default
# server of an address whose named server proxies (server_name with
# ssl_preread); on "listen ... udp" one datagram answering each
# client's first; the access log's $status and $bytes_sent;
# configuration errors with file and line.

use strict;
use warnings;

use Test::More;
use Ferry::Test;
use IO::Socket::INET;
use IO::Select;
use POSIX ();

my $have_ssl = eval { require IO::Socket::SSL; 1 }
               && grep { -x "$_/openssl" } split /:/, $ENV{PATH};

my $f = Ferry::Test->new(conf => main_conf() . <<'EOF');
worker_processes 1;
events { worker_connections 64; }
stream {
    log_format r '$server_port $status $bytes_sent';
    access_log logs/r.log r;
    server {
        listen 127.0.0.1:%%PORT_0%%;
        return "you are $remote_addr, this is $server_port\n";
    }
    server {
        listen 127.0.0.1:%%PORT_1%% ssl;
        ssl_certificate ../srv.crt;
        ssl_certificate_key ../srv.key;
        return "tls $ssl_protocol\n";
    }
    server {
        listen 127.0.0.1:%%PORT_2%%;
        ssl_preread on;
        return "unknown name [$ssl_preread_server_name]\n";
    }
    server {
        listen 127.0.0.1:%%PORT_2%%;
        ssl_preread on;
        server_name known.test;
        proxy_pass 127.0.0.1:%%PORT_3%%;
    }
    server {
        listen 127.0.0.1:%%PORT_4%% udp;
        return "udp to $remote_addr, got $bytes_received\n";
    }
}
EOF
my $d = $f->prefix;
sh("cd $d && openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256"
   . " -nodes -keyout srv.key -out srv.crt -days 2 -subj '/CN=srv.test'"
   . " 2>/dev/null");
tcp_server($f->port(3), sub { syswrite $_[0], "proxied\n"; });
$f->start or do { done_testing; exit };

# everything up to the server's close (undef if none in 5 s)
sub read_all {
    my ($s) = @_;
    my ($all, $b) = ('');
    my $sel = IO::Select->new($s);
    while ($sel->can_read(5)) {
        my $n = sysread($s, $b, 65536);
        return $all if !$n;
        $all .= $b;
    }
    return undef;
}

my $p0 = $f->port(0);
my $s = IO::Socket::INET->new(PeerAddr => "127.0.0.1:$p0", Timeout => 5)
    or die;
is(read_all($s), "you are 127.0.0.1, this is $p0\n",
   'return: the value with its variables, then the close');
close $s;

my $log = "$d/logs/r.log";
ok((wait_until { (Ferry::Test::read_file($log) // '') =~ /^$p0 200 (\d+)$/m } 5),
   'the access log: status 200');
my ($sent) = (Ferry::Test::read_file($log) // '') =~ /^$p0 200 (\d+)$/m;
is($sent, length("you are 127.0.0.1, this is $p0\n"),
   '... $bytes_sent the value\'s length');

SKIP: {
    skip 'no IO::Socket::SSL or openssl', 2 unless $have_ssl;
    my $t = IO::Socket::SSL->new(PeerAddr => '127.0.0.1:' . $f->port(1),
        Timeout => 5, SSL_verify_mode => IO::Socket::SSL::SSL_VERIFY_NONE());
    ok($t, 'return over listen ... ssl: the handshake')
        or diag($IO::Socket::SSL::SSL_ERROR);
    my $l = $t ? <$t> : undef;
    like($l // '', qr/^tls TLSv1\.[23]\n\z/, '... the value over TLS');

}

# A TLS ClientHello naming $name, as a client sends it (captured from
# IO::Socket::SSL talking to a socket of the test's own).
sub hello_for {
    my ($name) = @_;
    my $probe = IO::Socket::INET->new(Listen => 1, LocalAddr => '127.0.0.1:0')
        or die;
    my $k = fork // die;
    if ($k == 0) {
        IO::Socket::SSL->new(PeerAddr => '127.0.0.1:' . $probe->sockport,
                             SSL_hostname => $name, Timeout => 3,
                             SSL_verify_mode => 0);
        POSIX::_exit(0);
    }
    my $c = $probe->accept;
    my $hello = '';
    IO::Select->new($c)->can_read(5) and sysread($c, $hello, 65536);
    close $c;
    waitpid $k, 0;
    return $hello;
}

SKIP: {
    skip 'no IO::Socket::SSL', 2 unless $have_ssl;
    # ssl_preread with server_name: an unknown name goes to the default
    # server, whose content is its return value; the named one proxies
    for my $t (['other.test', "unknown name [other.test]\n"],
               ['known.test', "proxied\n"])
    {
        my $r = IO::Socket::INET->new(PeerAddr => '127.0.0.1:' . $f->port(2),
                                      Timeout => 5) or die;
        syswrite $r, hello_for($t->[0]);
        is(read_all($r), $t->[1], "server_name and return: SNI $t->[0]");
    }
}
{
    # the same without a TLS client: the raw answer
    my $r = IO::Socket::INET->new(PeerAddr => '127.0.0.1:' . $f->port(2),
                                  Timeout => 5) or die;
    syswrite $r, "not a hello\n";
    is(read_all($r), "unknown name []\n",
       'ssl_preread, no ClientHello: the default server returns its value');
}

# one datagram from $from to the UDP "return" server, and the datagram
# answered (undef: none in 5 s)
sub udp_ask {
    my ($from, $data) = @_;
    my $u = IO::Socket::INET->new(LocalAddr => $from, Proto => 'udp',
                                  PeerAddr => '127.0.0.1:' . $f->port(4))
        or die "udp: $!";
    send($u, $data, 0);
    my $r;
    IO::Select->new($u)->can_read(5) and recv($u, $r, 65536, 0);
    close $u;
    return $r;
}

is(udp_ask('127.0.0.1', 'hello'), "udp to 127.0.0.1, got 5\n",
   'return on "listen ... udp": the value as one datagram');
is(udp_ask('127.0.0.2', 'x' x 12), "udp to 127.0.0.2, got 12\n",
   '... to each client its own');
{
    my $p4 = $f->port(4);
    my $want = length("udp to 127.0.0.1, got 5\n");
    ok((wait_until { (Ferry::Test::read_file($log) // '')
                     =~ /^$p4 200 $want$/m } 5),
       '... logged with status 200 and $bytes_sent the datagram\'s length');
}

$f->stop;

# ---- configuration errors ----
conf_refused("stream {\n    server {\n        listen 127.0.0.1:%%PORT_0%%;\n"
             . "        proxy_pass 127.0.0.1:1;\n        return x;\n"
             . "    }\n}\n",
             qr/"return" directive is duplicate in \S+ferry\.conf:9/,
             'return after proxy_pass');
conf_refused("stream {\n    server {\n        listen 127.0.0.1:%%PORT_0%%;\n"
             . "        return x;\n        proxy_pass 127.0.0.1:1;\n"
             . "    }\n}\n",
             qr/"proxy_pass" directive is duplicate in \S+ferry\.conf:9/,
             'proxy_pass after return');
conf_refused("stream {\n    server {\n        listen 127.0.0.1:%%PORT_0%%;\n"
             . "    }\n}\n",
             qr/no handler for server in \S+ferry\.conf:6 \(a stream server needs "proxy_pass" or "return"\)/,
             'neither proxy_pass nor return');
conf_refused("stream {\n    return x;\n}\n",
             qr/"return" directive is not allowed here in \S+ferry\.conf:6/,
             'return at the stream level');

done_testing;
