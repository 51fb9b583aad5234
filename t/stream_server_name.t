#!/usr/bin/perl

# stream server_name (nginx 1.25.5): several stream servers on one
# address, the one a TLS client names (SNI) takes the session.  With
# ssl_preread, the server the ClientHello names proxies it untouched to
# its own backend; with "listen ... ssl", the named server's
# certificate answers the handshake and its proxy_pass gets the plain
# bytes.  Exact names, wildcards, regexes, a final dot and upper case
# in the SNI; no SNI and unknown names go to the default server (the
# first, or "listen ... default_server"); the chosen server's own
# settings apply (access_log, ssl_reject_handshake) and $server_name
# names it; server_names_hash_* accepted.  Configuration errors with
# file and line.  Real TLS clients
# (IO::Socket::SSL) and backends on 127.0.0.1.

use strict;
use warnings;

use Test::More;
use Ferry::Test;
use IO::Socket::INET;
use IO::Select;

plan skip_all => 'no openssl' unless grep { -x "$_/openssl" } split /:/, $ENV{PATH};
plan skip_all => 'no IO::Socket::SSL' unless eval { require IO::Socket::SSL; 1 };

my ($CERT, $KEY);

# A backend terminating TLS (for ssl_preread's passthrough): its name
# and the SNI it saw.
sub tls_named { my ($name) = @_; return sub {
    my $c = shift;
    IO::Socket::SSL->start_SSL($c, SSL_server => 1, SSL_cert_file => $CERT,
                               SSL_key_file => $KEY) or return;
    my $sni = $c->get_servername // '';
    print $c "$name sni=$sni\n";
    $c->close(SSL_fast_shutdown => 1);
} }

# A plain backend (behind ferry's TLS termination): its name.
sub plain_named { my ($name) = @_; return sub {
    my $c = shift;
    syswrite $c, "$name\n";
} }

# One TLS session to ferry: the first line the far end sends, and the
# subject CN of the certificate ferry presented (termination), or the
# error.
sub tls_get {
    my ($port, $sni) = @_;
    my $s = IO::Socket::SSL->new(
        PeerAddr => "127.0.0.1:$port", Timeout => 10,
        SSL_verify_mode => IO::Socket::SSL::SSL_VERIFY_NONE(),
        SSL_hostname => $sni // '');
    return ('handshake failed', '') unless $s;
    my $cn = $s->peer_certificate('cn') // '';
    my $l = <$s>;
    close $s;
    return (defined $l ? ($l =~ s/\n//r) : 'closed', $cn);
}

my $f = Ferry::Test->new(conf => main_conf() . <<'EOF');
worker_processes 1;
events { worker_connections 128; }
stream {
    server_names_hash_max_size 1024;
    server_names_hash_bucket_size 64;
    log_format n '$server_port $server_name [$ssl_preread_server_name]';

    # ssl_preread: the name picks the backend, TLS passes untouched
    server { listen 127.0.0.1:%%PORT_10%%; ssl_preread on;
             server_name first.test;
             access_log logs/first.log n;
             proxy_pass 127.0.0.1:%%PORT_1%%; }
    server { listen 127.0.0.1:%%PORT_10%%; ssl_preread on;
             server_name a.test alias.test;
             access_log logs/a.log n;
             proxy_pass 127.0.0.1:%%PORT_2%%; }
    server { listen 127.0.0.1:%%PORT_10%%; ssl_preread on;
             server_name *.wild.test;
             proxy_pass 127.0.0.1:%%PORT_3%%; }
    server { listen 127.0.0.1:%%PORT_10%%; ssl_preread on;
             server_name ~^r(\d+)\.re\.test$;
             proxy_pass 127.0.0.1:%%PORT_4%%; }

    # the default server named by listen ... default_server
    server { listen 127.0.0.1:%%PORT_11%%; ssl_preread on;
             server_name one.test; proxy_pass 127.0.0.1:%%PORT_1%%; }
    server { listen 127.0.0.1:%%PORT_11%% default_server; ssl_preread on;
             server_name two.test; proxy_pass 127.0.0.1:%%PORT_2%%; }

    # TLS terminated here: each server its certificate and backend
    server { listen 127.0.0.1:%%PORT_12%% ssl;
             server_name x.test;
             ssl_certificate ../x.crt; ssl_certificate_key ../x.key;
             proxy_pass 127.0.0.1:%%PORT_5%%; }
    server { listen 127.0.0.1:%%PORT_12%%;
             server_name y.test;
             ssl_certificate ../y.crt; ssl_certificate_key ../y.key;
             proxy_pass 127.0.0.1:%%PORT_6%%; }
    server { listen 127.0.0.1:%%PORT_12%% ssl;
             server_name no.test;
             ssl_reject_handshake on;
             proxy_pass 127.0.0.1:%%PORT_6%%; }
}
EOF

{
    my $d = $f->prefix;
    sh("cd $d && openssl req -x509 -newkey rsa:2048 -nodes -keyout b.key"
       . " -out b.crt -days 2 -subj '/CN=backend.test'");
    for my $n ('x', 'y') {
        sh("cd $d && openssl req -x509 -newkey ec -pkeyopt "
           . "ec_paramgen_curve:P-256 -nodes -keyout $n.key -out $n.crt "
           . "-days 2 -subj '/CN=$n.test'");
    }
    ($CERT, $KEY) = ("$d/b.crt", "$d/b.key");
}
tcp_server($f->port(1), tls_named('FIRST'));
tcp_server($f->port(2), tls_named('A'));
tcp_server($f->port(3), tls_named('WILD'));
tcp_server($f->port(4), tls_named('RE'));
tcp_server($f->port(5), plain_named('X'));
tcp_server($f->port(6), plain_named('Y'));

$f->start or do { done_testing; exit };
my $p = sub { $f->port(shift) };

# ---- ssl_preread: the SNI chooses the server ----
is((tls_get($p->(10), 'a.test'))[0], 'A sni=a.test',
   'preread: an exact name: its server, its backend');
is((tls_get($p->(10), 'alias.test'))[0], 'A sni=alias.test',
   'preread: the second name of a server');
is((tls_get($p->(10), 'A.Test.'))[0], 'A sni=A.Test.',
   'preread: upper case and a final dot in the SNI: the same server (the '
   . 'backend sees the name as sent)');
is((tls_get($p->(10), 'db.wild.test'))[0], 'WILD sni=db.wild.test',
   'preread: a leading wildcard');
is((tls_get($p->(10), 'r42.re.test'))[0], 'RE sni=r42.re.test',
   'preread: a regex');
is((tls_get($p->(10), 'other.test'))[0], 'FIRST sni=other.test',
   'preread: an unknown name: the first server (the default)');
is((tls_get($p->(10), undef))[0], 'FIRST sni=',
   'preread: no SNI: the default server');
{
    # not TLS at all: the default server relays it (its log, below)
    my $s = IO::Socket::INET->new(PeerAddr => '127.0.0.1:' . $p->(10),
                                  Timeout => 5) or die;
    syswrite $s, "hello\n";
    shutdown($s, 1);
    IO::Select->new($s)->can_read(5);
    close $s;
}

# each server writes its own access_log, with its $server_name
my $alog = $f->prefix . '/logs/a.log';
my $flog = $f->prefix . '/logs/first.log';
my $ok = wait_until { my $t = Ferry::Test::read_file($alog) // '';
                     ($t =~ tr/\n//) >= 3 } 5;
ok($ok, 'preread: the chosen server writes its own access_log');
my @a = split /\n/, Ferry::Test::read_file($alog) // '';
is_deeply([map { s/^\d+ //r } @a[0 .. 2]],
          ['a.test [a.test]', 'a.test [alias.test]', 'a.test [A.Test.]'],
          'preread: $server_name is the chosen server\'s first name');
$ok = wait_until { my @l = grep { /first\.test \[\]$/ }
                       split /\n/, Ferry::Test::read_file($flog) // '';
                   @l >= 2 } 5;
ok($ok, 'preread: sessions without a name (TLS without SNI, not TLS) '
        . 'logged by the default server')
    or diag(Ferry::Test::read_file($flog));

# ---- listen ... default_server ----
is((tls_get($p->(11), 'one.test'))[0], 'FIRST sni=one.test',
   'default_server: a named server still gets its name');
is((tls_get($p->(11), 'nobody.test'))[0], 'A sni=nobody.test',
   'default_server: an unknown name goes to the server marked '
   . 'default_server, not the first');

# ---- TLS terminated: the certificate and the backend of the name ----
is_deeply([tls_get($p->(12), 'x.test')], ['X', 'x.test'],
          'ssl: x.test gets x\'s certificate and backend');
is_deeply([tls_get($p->(12), 'y.test')], ['Y', 'y.test'],
          'ssl: y.test (whose own listen has no "ssl": the address has '
          . 'it) gets y\'s certificate and backend');
is_deeply([tls_get($p->(12), 'unknown.test')], ['X', 'x.test'],
          'ssl: an unknown name: the default server\'s certificate and '
          . 'backend');
is((tls_get($p->(12), 'no.test'))[0], 'handshake failed',
   'ssl: the named server\'s ssl_reject_handshake refuses it');
is_deeply([tls_get($p->(12), 'y.test')], ['Y', 'y.test'],
          'ssl: the next session is served again');

$f->stop;

# ---- configuration errors ----
{
    my $srv = sub { my ($listen, $name) = @_;
        "    server {\n        listen 127.0.0.1:%%PORT_0%%$listen;\n"
        . "        server_name $name;\n        proxy_pass 127.0.0.1:1;\n"
        . "    }\n" };
    my @bad = (
        [ "stream {\n" . $srv->(' default_server', 'a.test')
          . $srv->(' default_server', 'b.test') . "}\n",
          qr/a duplicate default server for 127\.0\.0\.1:\d+ in \S+ferry\.conf:12/,
          'two default_server' ],
        [ "stream {\n" . $srv->(' backlog=10', 'a.test')
          . $srv->(' backlog=20', 'b.test') . "}\n",
          qr/duplicate listen options for 127\.0\.0\.1:\d+ in \S+ferry\.conf:12/,
          'socket options twice' ],
        [ "stream {\n" . $srv->('', 'a*.test') . "}\n",
          qr/invalid server name or wildcard "a\*\.test" in \S+ferry\.conf:8/,
          'a bad wildcard' ],
        [ "stream {\n" . $srv->('', '~^(x') . "}\n",
          qr/invalid regex "\^\(x": .* in \S+ferry\.conf:8/, 'a bad regex' ],
        [ "stream {\n    server_names_hash_bucket_size 0;\n}\n",
          qr/invalid value "0" in "server_names_hash_bucket_size" in \S+ferry\.conf:6/,
          'server_names_hash_bucket_size checked (accepted, no effect)' ],
        [ "stream {\n    server_name a.test;\n}\n",
          qr/"server_name" directive is not allowed here in \S+ferry\.conf:6/,
          'server_name at the stream level' ],
        [ "stream {\n    server {\n        listen 127.0.0.1:%%PORT_0%%;\n"
          . "        listen 127.0.0.1:%%PORT_0%%;\n"
          . "        proxy_pass 127.0.0.1:1;\n    }\n}\n",
          qr/duplicate "127\.0\.0\.1:\d+" address and port pair in \S+ferry\.conf:8/,
          'one address twice in one server' ],
    );
    conf_refused(@$_) for @bad;
}

done_testing;
