#!/usr/bin/perl

# stream ssl_preread: real TLS clients (IO::Socket::SSL) through ferry
# to TLS-terminating backends that ferry never decrypts (passthrough:
# the handshake only succeeds if every byte arrived unchanged); the
# $ssl_preread_* variables in the access log; not-TLS bytes still
# proxied with the variables empty; a PROXY protocol line in front of
# the prereaded hello; preread_buffer_size ("preread buffer full") and
# preread_timeout (the session goes on); configuration errors with
# file and line.

use strict;
use warnings;

use Test::More;
use Ferry::Test;
use IO::Socket::INET;
use IO::Select;
use POSIX ();
use Socket qw(SHUT_WR);

plan skip_all => 'no openssl' unless grep { -x "$_/openssl" } split /:/, $ENV{PATH};
plan skip_all => 'no IO::Socket::SSL' unless eval { require IO::Socket::SSL; 1 };

my ($CERT, $KEY);

# Terminates TLS and answers one line: its name, the SNI and ALPN it
# saw, and (pp) the PROXY protocol line read before the handshake.
sub tls_named { my ($name, $pp) = @_; return sub {
    my $c = shift;
    my $line = '';
    if ($pp) {
        my $ch;
        while (sysread($c, $ch, 1)) { $line .= $ch; last if $ch eq "\n"; }
        $line =~ s/\r?\n$//;
    }
    IO::Socket::SSL->start_SSL($c, SSL_server => 1, SSL_cert_file => $CERT,
                               SSL_key_file => $KEY,
                               SSL_alpn_protocols => ['http/1.1', 'h2'])
        or return;
    my $sni = $c->get_servername // '';
    my $alpn = $c->alpn_selected // '';
    print $c "$name sni=$sni alpn=$alpn" . ($pp ? " pp=$line" : '') . "\n";
    $c->close(SSL_fast_shutdown => 1);
} }

sub raw_echo {
    my $c = shift;
    my $b;
    while ((my $n = sysread($c, $b, 65536))) {
        syswrite($c, $b, $n) or return;
    }
}

# everything up to EOF (undef if no EOF in $t s)
sub read_all {
    my ($s, $t) = @_;
    my ($all, $b) = ('');
    my $sel = IO::Select->new($s);
    while ($sel->can_read($t // 5)) {
        my $n = sysread($s, $b, 65536);
        return $all if !$n;
        $all .= $b;
    }
    return undef;
}

# A TLS session through ferry: the backend's line, or the error.
sub tls_get {
    my ($port, $sni, @alpn) = @_;
    my $s = IO::Socket::SSL->new(
        PeerAddr => "127.0.0.1:$port", Timeout => 10,
        SSL_verify_mode => IO::Socket::SSL::SSL_VERIFY_NONE(),
        (defined $sni ? (SSL_hostname => $sni) : (SSL_hostname => '')),
        (@alpn ? (SSL_alpn_protocols => \@alpn) : ()));
    return 'handshake failed: ' . ($IO::Socket::SSL::SSL_ERROR // $!)
        unless $s;
    my $l = <$s>;
    close $s;
    return defined $l ? ($l =~ s/\n//r) : 'closed';
}

my $f = Ferry::Test->new(conf => main_conf() . <<'EOF');
worker_processes 1;
events { worker_connections 128; }
stream {
    log_format p '$server_port [$ssl_preread_server_name] '
                 '[$ssl_preread_alpn_protocols] [$ssl_preread_protocol] '
                 '$status $bytes_received';
    access_log logs/p.log p;

    server { listen 127.0.0.1:%%PORT_10%%; ssl_preread on;
             proxy_pass 127.0.0.1:%%PORT_1%%; }
    server { listen 127.0.0.1:%%PORT_11%%; ssl_preread on;
             proxy_pass 127.0.0.1:%%PORT_3%%; }
    server { listen 127.0.0.1:%%PORT_12%%; ssl_preread on;
             preread_buffer_size 100;
             proxy_pass 127.0.0.1:%%PORT_1%%; }
    server { listen 127.0.0.1:%%PORT_13%%; ssl_preread on;
             preread_timeout 1s; error_log logs/slow.log info;
             proxy_pass 127.0.0.1:%%PORT_3%%; }
    server { listen 127.0.0.1:%%PORT_14%%; ssl_preread on;
             proxy_protocol on; proxy_pass 127.0.0.1:%%PORT_4%%; }
    server { listen 127.0.0.1:%%PORT_15%%;
             proxy_pass 127.0.0.1:%%PORT_1%%; }
}
EOF

{
    my $d = $f->prefix;
    sh("cd $d && openssl req -x509 -newkey rsa:2048 -nodes -keyout b.key"
       . " -out b.crt -days 2 -subj '/CN=a.test'"
       . " -addext 'subjectAltName=DNS:a.test,DNS:b.test'");
    ($CERT, $KEY) = ("$d/b.crt", "$d/b.key");
}
tcp_server($f->port(1), tls_named('A'));
tcp_server($f->port(3), \&raw_echo);
tcp_server($f->port(4), tls_named('P', 1));

$f->allow_log(qr/preread buffer full/);
$f->start or do { done_testing; exit };
my $log = $f->prefix . '/logs/p.log';
# the sessions of port $port that carried bytes (not ferry's start-up
# probes, which connect and close), the $n-th of them
sub log_line {
    my ($port, $n) = @_;
    my @l;
    wait_until { @l = grep { /^$port / && !/ 200 0$/ }
                      split /\n/, Ferry::Test::read_file($log) // '';
                 @l >= ($n // 1) } 5;
    return $l[($n // 1) - 1] // '';
}
my $p = sub { $f->port(shift) };

# ---- SNI, ALPN and the version, the TLS passing through untouched ----
is(tls_get($p->(10), 'a.test', 'h2', 'http/1.1'), 'A sni=a.test alpn=h2',
   'TLS through ssl_preread: the backend terminated it and saw the SNI '
   . 'and ALPN (bytes unchanged)');
like(log_line($p->(10)),
     qr/^\d+ \[a\.test\] \[h2,http\/1\.1\] \[TLSv1\.3\] 200 \d+$/,
     '$ssl_preread_server_name, _alpn_protocols, _protocol logged');

is(tls_get($p->(10), undef), 'A sni= alpn=',
   'a ClientHello without SNI or ALPN: proxied');
like(log_line($p->(10), 2), qr/^\d+ \[\] \[\] \[TLSv1\.3\] 200 \d+$/,
     'without SNI: $ssl_preread_server_name empty, the version still set');

{
    my $s = IO::Socket::SSL->new(
        PeerAddr => "127.0.0.1:" . $p->(10), Timeout => 10,
        SSL_verify_mode => IO::Socket::SSL::SSL_VERIFY_NONE(),
        SSL_hostname => 'b.test', SSL_version => 'TLSv1_2');
    my $l = $s ? <$s> : 'handshake failed';
    close $s if $s;
    is($l, "A sni=b.test alpn=\n", 'a TLS 1.2 client: proxied');
    like(log_line($p->(10), 3), qr/^\d+ \[b\.test\] \[\] \[TLSv1\.2\] /,
         '$ssl_preread_protocol TLSv1.2');
}

# ---- the client's bytes are escaped in the log (escape=default) ----
is(tls_get($p->(10), "q\"x\\y.test"), "A sni=q\"x\\y.test alpn=",
   'a server name with a quote and a backslash: proxied');
like(log_line($p->(10), 4), qr/^\d+ \[q\\x22x\\x5Cy\.test\] /,
     'a quote and a backslash of the SNI written as \\xXX in the log');

# ---- not TLS: proxied unchanged, variables empty ----
{
    my $s = IO::Socket::INET->new(PeerAddr => '127.0.0.1:' . $p->(11),
                                  Timeout => 5) or die;
    syswrite $s, "SSH-2.0-client\r\nmore bytes";
    shutdown($s, SHUT_WR);
    is(read_all($s), "SSH-2.0-client\r\nmore bytes",
       'not TLS: every byte reaches the server and comes back');
    close $s;
    like(log_line($p->(11)), qr/^\d+ \[\] \[\] \[\] 200 26$/,
         'not TLS: the variables empty, the bytes counted');
}

# ---- the hello cut into pieces over time ----
{
    # the echo backend sends the client's own hello back: the bytes
    # arrive in three writes, the relay carries them all, unchanged
    my $probe = IO::Socket::INET->new(Listen => 1, LocalAddr => '127.0.0.1:0')
        or die;
    my $hello;
    my $k = fork // die;
    if ($k == 0) {
        IO::Socket::SSL->new(PeerAddr => '127.0.0.1:' . $probe->sockport,
                             SSL_hostname => 'cut.test', Timeout => 3,
                             SSL_verify_mode => 0);
        POSIX::_exit(0);
    }
    my $c = $probe->accept;
    IO::Select->new($c)->can_read(5);
    sysread($c, $hello, 65536);
    close $c;
    waitpid $k, 0;
    ok(length($hello) > 100, 'a ClientHello captured');

    my $s = IO::Socket::INET->new(PeerAddr => '127.0.0.1:' . $p->(11),
                                  Timeout => 5) or die;
    $s->autoflush(1);
    my $third = int(length($hello) / 3);
    for my $part (substr($hello, 0, 3), substr($hello, 3, $third),
                  substr($hello, 3 + $third))
    {
        syswrite $s, $part;
        select undef, undef, undef, 0.2;
    }
    shutdown($s, SHUT_WR);
    my $back = read_all($s);
    ok(defined $back && $back eq $hello,
       'a hello in three pieces: relayed unchanged after the preread');
    close $s;
    like(log_line($p->(11), 2), qr/^\d+ \[cut\.test\] \[\] \[TLSv1\.3\] 200 /,
         'a hello in three pieces: read whole');
}

# ---- proxy_protocol on: the PROXY line first, then the hello ----
like(tls_get($p->(14), 'a.test'),
     qr/^P sni=a\.test alpn= pp=PROXY TCP4 127\.0\.0\.1 127\.0\.0\.1 \d+ \d+$/,
     'proxy_protocol with ssl_preread: the PROXY line before the hello');

# ---- preread_buffer_size: the hello does not fit ----
{
    my $r = tls_get($p->(12), 'a.test');
    like($r, qr/^(handshake failed|closed)/,
         'preread_buffer_size 100: the session is closed');
    like(log_line($p->(12)), qr/^\d+ \[\] \[\] \[\] 400 /,
         'preread buffer full: status 400 in the log');
    wait_until { $f->error_log =~ /preread buffer full/ } 5;
    like($f->error_log, qr/\[error\].*preread buffer full \(100 bytes/,
         'preread buffer full: logged');
}

# ---- preread_timeout: the session goes on without the variables ----
{
    my $s = IO::Socket::INET->new(PeerAddr => '127.0.0.1:' . $p->(13),
                                  Timeout => 5) or die;
    my $part = "\x16\x03\x01\x02\x00\x01";     # a hello's first bytes
    syswrite $s, $part;
    my $got = '';
    my $sel = IO::Select->new($s);
    while (length($got) < length($part) && $sel->can_read(10)) {
        my $b;
        sysread($s, $b, 100) or last;
        $got .= $b;
    }
    is($got, $part, 'preread_timeout 1s: then proxied, the bytes read '
                    . 'so far delivered');
    close $s;
    like(log_line($p->(13)), qr/^\d+ \[\] \[\] \[\] 200 6$/,
         'preread_timeout: variables empty');
    like(Ferry::Test::read_file($f->prefix . '/logs/slow.log') // '',
         qr/\[info\].*timed out while prereading client data/,
         'preread_timeout: logged at info');
}

# ---- without ssl_preread the variables stay empty ----
is(tls_get($p->(15), 'a.test'), 'A sni=a.test alpn=',
   'no ssl_preread: TLS proxied as before');
like(log_line($p->(15)), qr/^\d+ \[\] \[\] \[\] 200 /,
     'no ssl_preread: the variables empty');

$f->stop;

# ---- configuration errors ----
{
    my @bad = (
        [ "stream {\n    server {\n        listen 127.0.0.1:%%PORT_0%%;\n"
          . "        ssl_preread maybe;\n        proxy_pass 127.0.0.1:1;\n"
          . "    }\n}\n",
          qr/invalid value "maybe", it must be "on" or "off" in \S+ferry\.conf:8/,
          'ssl_preread maybe' ],
        [ "stream {\n    preread_buffer_size lots;\n}\n",
          qr/"preread_buffer_size" .*in \S+ferry\.conf:6/,
          'preread_buffer_size lots' ],
        [ "stream {\n    server {\n        listen 127.0.0.1:%%PORT_0%%;\n"
          . "        preread_timeout soon;\n        proxy_pass 127.0.0.1:1;\n"
          . "    }\n}\n",
          qr/"preread_timeout" .*in \S+ferry\.conf:8/,
          'preread_timeout soon' ],
        [ "stream {\n    server {\n        listen 127.0.0.1:%%PORT_0%%;\n"
          . "        ssl_preread on;\n        ssl_preread on;\n"
          . "        proxy_pass 127.0.0.1:1;\n    }\n}\n",
          qr/"ssl_preread" directive is duplicate in \S+ferry\.conf:9/,
          'ssl_preread twice' ],
        [ "http {\n    server {\n        listen 127.0.0.1:%%PORT_0%%;\n"
          . "        ssl_preread on;\n    }\n}\n",
          qr/"ssl_preread" directive is not allowed here in \S+ferry\.conf:8/,
          'ssl_preread in http' ],
    );
    conf_refused(@$_) for @bad;
}

done_testing;
