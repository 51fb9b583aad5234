#!/usr/bin/perl

# stream map and proxy_pass $var: the classic SNI router - real TLS
# clients (IO::Socket::SSL) through ferry's ssl_preread to one of two
# TLS-terminating backends chosen by the server name (exact, a
# hostnames mask, a regex, default), a map value that is an address,
# a value naming no upstream (502, logged), a map of $remote_addr
# used before its block, a map of a map, and the configuration errors
# with file and line.

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

# terminates TLS, answers its name and the SNI it saw
sub tls_named { my $name = shift; return sub {
    my $c = shift;
    IO::Socket::SSL->start_SSL($c, SSL_server => 1, SSL_cert_file => $CERT,
                               SSL_key_file => $KEY) or return;
    my $sni = $c->get_servername // '';
    print $c "$name $sni\n";
    $c->close(SSL_fast_shutdown => 1);
} }

# says its name, no TLS
sub plain_named { my $name = shift; return sub {
    my $c = shift;
    syswrite $c, "$name\n";
} }

sub tls_get {
    my ($port, $sni) = @_;
    my $s = IO::Socket::SSL->new(
        PeerAddr => "127.0.0.1:$port", Timeout => 10,
        SSL_verify_mode => IO::Socket::SSL::SSL_VERIFY_NONE(),
        SSL_hostname => $sni);
    return 'handshake failed' unless $s;
    my $l = <$s>;
    close $s;
    return defined $l ? ($l =~ s/\n//r) : 'closed';
}

# the first line a plain session gets ('closed' at EOF)
sub plain_get { stream_line(shift) }

my $f = Ferry::Test->new(conf => main_conf() . <<'EOF');
worker_processes 1;
events { worker_connections 128; }
stream {
    log_format m '$server_port $backend $status';
    access_log logs/m.log m;

    map $ssl_preread_server_name $backend {
        hostnames;
        a.test              up_a;
        *.b.test            up_b;
        ~^addr\.            127.0.0.1:%%PORT_2%%;
        nowhere.test        no_such_upstream;
        default             $fallback;
    }
    map $ssl_preread_protocol $fallback {
        ""                  up_b;
        default             up_a;
    }

    upstream up_a { server 127.0.0.1:%%PORT_1%%; }
    upstream up_b { server 127.0.0.1:%%PORT_2%%; }
    upstream plain_a { server 127.0.0.1:%%PORT_3%%; }
    upstream plain_b { server 127.0.0.1:%%PORT_4%%; }

    server {
        listen 127.0.0.1:%%PORT_10%%;
        ssl_preread on;
        proxy_pass $backend;
    }
    server {
        listen 127.0.0.1:%%PORT_11%%;
        proxy_pass $by_addr;
    }
    server {
        listen 127.0.0.1:%%PORT_12%%;
        proxy_pass $never;
    }

    map $remote_addr $by_addr {
        127.0.0.1   plain_b;
        default     plain_a;
    }
    map $remote_port $never {
        volatile;
        default     "";
    }

    # a regex's groups in the value and after it: $1..$9 and the named
    # ones, of the session's last matching map regex
    map $ssl_preread_server_name $by_group {
        ~^(?<svc>[ab])-(\d)\.grp\.test$   up_$svc;
        default                           up_a;
    }
    log_format g '$by_group|$svc|$1|$2|$1x|$3';
    server {
        listen 127.0.0.1:%%PORT_13%%;
        ssl_preread on;
        proxy_pass $by_group;
        access_log logs/g.log g;
    }
}
EOF

{
    my $d = $f->prefix;
    sh("cd $d && openssl req -x509 -newkey rsa:2048 -nodes -keyout b.key"
       . " -out b.crt -days 2 -subj '/CN=a.test'");
    ($CERT, $KEY) = ("$d/b.crt", "$d/b.key");
}
tcp_server($f->port(1), tls_named('A'));
tcp_server($f->port(2), tls_named('B'));
tcp_server($f->port(3), plain_named('plain A'));
tcp_server($f->port(4), plain_named('plain B'));

$f->allow_log(qr/no upstream/);
$f->start or do { done_testing; exit };
my $p = sub { $f->port(shift) };

is(tls_get($p->(10), 'a.test'), 'A a.test',
   'SNI a.test: map to upstream up_a, its backend answered');
is(tls_get($p->(10), 'A.TEST'), 'A A.TEST',
   'SNI A.TEST: matched ignoring case');
is(tls_get($p->(10), 'x.b.test'), 'B x.b.test',
   'SNI x.b.test: the *.b.test mask, up_b');
is(tls_get($p->(10), 'addr.test'), 'B addr.test',
   'a regex giving an address (host:port): that server');
is(tls_get($p->(10), 'other.test'), 'A other.test',
   'an unlisted name: default $fallback, a map of a map (TLSv1.3: up_a)');

{
    # not TLS: $ssl_preread_protocol empty, $fallback is up_b (a TLS
    # backend, which gets the bytes and drops them)
    my $s = IO::Socket::INET->new(PeerAddr => '127.0.0.1:' . $p->(10),
                                  Timeout => 5) or die;
    syswrite $s, "hello\r\n";
    shutdown($s, SHUT_WR);
    my $sel = IO::Select->new($s);
    1 while $sel->can_read(5) && sysread($s, my $b, 1000);
    close $s;
    my $log = $f->prefix . '/logs/m.log';
    my $port = $p->(10);
    ok((wait_until { (Ferry::Test::read_file($log) // '')
                     =~ /^$port up_b 200$/m } 5),
       'not TLS: the empty protocol maps to up_b, logged as $backend');
}

is(tls_get($p->(10), 'nowhere.test'), 'handshake failed',
   'a value naming no upstream: the client is closed');
wait_until { $f->error_log =~ /no upstream "no_such_upstream"/ } 5;
like($f->error_log, qr/\[error\].*no upstream "no_such_upstream" for proxy_pass/,
     'a value naming no upstream: logged');
my $port10 = $p->(10);
ok((wait_until { (Ferry::Test::read_file($f->prefix . '/logs/m.log') // '')
                 =~ /^$port10 no_such_upstream 502$/m } 5),
   'a value naming no upstream: status 502');

is(plain_get($p->(11)), 'plain B',
   'map $remote_addr used before its block: 127.0.0.1 goes to plain_b');
is(plain_get($p->(12)), 'closed', 'an empty value: closed');
like($f->error_log, qr/no upstream "" for proxy_pass/,
     'an empty value: logged');

{
    my $log = $f->prefix . '/logs/g.log';
    is(tls_get($p->(13), 'b-1.grp.test'), 'B b-1.grp.test',
       'a named group in a map value: SNI b-1.grp.test goes to up_$svc, up_b');
    is(tls_get($p->(13), 'a-2.grp.test'), 'A a-2.grp.test',
       '... and a-2.grp.test to up_a');
    is(tls_get($p->(13), 'c-3.grp.test'), 'A c-3.grp.test',
       '... a name the regex does not match: the default');
    # (the start's probe of the port may have logged a line before)
    wait_until { (Ferry::Test::read_file($log) // '') =~ /\|ax\|\n.*\n\z/ } 5;
    my @lines = split /^/, Ferry::Test::read_file($log) // '';
    is(join('', @lines[-3 .. -1]),
       "up_b|b|b|1|bx|\nup_a|a|a|2|ax|\nup_a||||x|\n",
       'the groups in the access log: named, $1, $2, "$1x" as $1 then x, '
       . 'a group the regex lacks empty, none after no match');
}

$f->stop;

# ---- configuration errors ----
{
    my $srv = "    server {\n        listen 127.0.0.1:%%PORT_0%%;\n"
            . "        proxy_pass \$x;\n    }\n";
    my @bad = (
        [ "stream {\n    map \$remote_addr \$x {\n        a b c;\n"
          . "    }\n$srv}\n",
          qr/invalid number of the map parameters in \S+ferry\.conf:7/,
          'a map line with three words' ],
        [ "stream {\n$srv}\n",
          qr/unknown "x" variable in \S+ferry\.conf:8/,
          'proxy_pass $x with no map' ],
        [ "stream {\n    map \$remote_addr \$x {\n        default a;\n"
          . "    }\n    map \$remote_port \$x {\n        default b;\n"
          . "    }\n$srv}\n",
          qr/the duplicate "x" variable in \S+ferry\.conf:9/,
          'two maps of one variable' ],
        [ "stream {\n    map \$remote_addr \$remote_port {\n"
          . "        default a;\n    }\n}\n",
          qr/the duplicate "remote_port" variable in \S+ferry\.conf:6/,
          'a map of a built-in variable' ],
        [ "stream {\n    map \$remote_addr \$x {\n        ~^(.*)\$ \$0;\n"
          . "    }\n$srv}\n",
          qr/unknown "0" variable in \S+ferry\.conf:7/,
          '$0 is no capture (nginx: $1..$9)' ],
        [ "stream {\n    map \$remote_addr \$x {\n        ~^(?<one>.*)\$ \$two;\n"
          . "    }\n$srv}\n",
          qr/unknown "two" variable in \S+ferry\.conf:\d+/,
          'a name that is no group of a regex read so far' ],
        [ "stream {\n    map \$remote_addr \$x {\n        ~(unclosed a;\n"
          . "    }\n$srv}\n",
          qr/invalid regex .* in \S+ferry\.conf:7/,
          'a bad regex in a stream map' ],
        [ "stream {\n    map \$remote_addr \$x {\n        a b;\n"
          . "        A c;\n    }\n$srv}\n",
          qr/conflicting parameter "a" in \S+ferry\.conf:8/,
          'a source given twice' ],
        [ "stream {\n    server {\n        listen 127.0.0.1:%%PORT_0%%;\n"
          . "        map \$remote_addr \$x { default a; }\n"
          . "        proxy_pass \$x;\n    }\n}\n",
          qr/"map" directive is not allowed here in \S+ferry\.conf:8/,
          'map in a stream server' ],
        [ "stream {\n    server {\n        listen 127.0.0.1:%%PORT_0%%;\n"
          . "        proxy_pass \$x;\n        proxy_pass a:1;\n    }\n}\n",
          qr/"proxy_pass" directive is duplicate in \S+ferry\.conf:9/,
          'proxy_pass $var twice' ],
    );
    conf_refused(@$_) for @bad;
}

done_testing;
