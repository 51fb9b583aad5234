#!/usr/bin/perl

# stream proxy_ssl_password_file (nginx's, of ngx_stream_proxy_module):
# the passphrase of an encrypted proxy_ssl_certificate_key, read from a
# file (the right one second); a TLS backend that asks for a client
# certificate sees ferry's; inherited from the stream level; without
# the file, or with only wrong passphrases, the key is refused at -t;
# an unreadable file and a second one are errors with file and line.

use strict;
use warnings;

use Test::More;
use Ferry::Test;

plan skip_all => 'no openssl' unless grep { -x "$_/openssl" } split /:/, $ENV{PATH};
plan skip_all => 'no IO::Socket::SSL' unless eval { require IO::Socket::SSL; 1 };

my $conf = <<'EOF';
worker_processes 1;
events { worker_connections 64; }
stream {
    proxy_ssl_password_file pw.txt;
    server {
        listen 127.0.0.1:%%PORT_0%%;
        proxy_ssl on;
        proxy_ssl_certificate client.crt;
        proxy_ssl_certificate_key client-enc.key;
        proxy_pass 127.0.0.1:%%PORT_1%%;
    }
}
EOF
my $f = Ferry::Test->new(conf => main_conf() . $conf);
my $d = $f->prefix . '/conf';
{
    my $o = 'openssl';
    sh("cd $d && $o req -x509 -newkey rsa:2048 -nodes -keyout ca.key"
       . " -out ca.crt -days 2 -subj '/CN=Stream Test CA' 2>/dev/null");
    sh("cd $d && $o req -newkey rsa:2048 -nodes -keyout client.key"
       . " -out client.csr -subj '/CN=stream client' 2>/dev/null");
    sh("cd $d && $o x509 -req -in client.csr -CA ca.crt -CAkey ca.key"
       . " -CAcreateserial -out client.crt -days 2 2>/dev/null");
    sh("cd $d && $o pkey -in client.key -aes256 -passout pass:secret2"
       . " -out client-enc.key");
    sh("cd $d && printf 'wrong\\nsecret2\\n' > pw.txt"
       . " && printf 'wrong\\n' > pw-wrong.txt");
    sh("cd $d && $o req -x509 -newkey rsa:2048 -nodes -keyout srv.key"
       . " -out srv.crt -days 2 -subj '/CN=backend' 2>/dev/null");
}

# a TLS backend that asks for a client certificate and says whose
tcp_server($f->port(1), sub {
    my $c = shift;
    IO::Socket::SSL->start_SSL($c, SSL_server => 1,
        SSL_cert_file => "$d/srv.crt", SSL_key_file => "$d/srv.key",
        SSL_verify_mode => IO::Socket::SSL::SSL_VERIFY_PEER(),
        SSL_ca_file => "$d/ca.crt") or return;
    my $cn = $c->peer_certificate('cn') // 'none';
    print $c "client cert: $cn\n";
    $c->close(SSL_fast_shutdown => 1);
});
$f->start or do { done_testing; exit };

is(stream_line($f->port(0)), 'client cert: stream client',
   'the encrypted proxy_ssl_certificate_key opened with the file\'s '
   . 'second passphrase (inherited from the stream level): the backend '
   . 'got the certificate');
$f->stop;

# ---- configuration errors ----
{
    my $srv = "    server {\n        listen 127.0.0.1:%%PORT_0%%;\n"
            . "        proxy_ssl on;\n"
            . "        proxy_ssl_certificate $d/client.crt;\n"
            . "        proxy_ssl_certificate_key $d/client-enc.key;\n";
    my @bad = (
        [ "stream {\n$srv        proxy_pass 127.0.0.1:1;\n    }\n}\n",
          qr/cannot load proxy_ssl_certificate_key "\S+client-enc\.key".* in \S+ferry\.conf:10/,
          'the encrypted key without proxy_ssl_password_file' ],
        [ "stream {\n$srv        proxy_ssl_password_file $d/pw-wrong.txt;\n"
          . "        proxy_pass 127.0.0.1:1;\n    }\n}\n",
          qr/cannot load proxy_ssl_certificate_key "\S+client-enc\.key".* in \S+ferry\.conf:10/,
          'only a wrong passphrase' ],
        [ "stream {\n$srv        proxy_ssl_password_file $d/nosuch.txt;\n"
          . "        proxy_pass 127.0.0.1:1;\n    }\n}\n",
          qr/cannot read proxy_ssl_password_file "\S+nosuch\.txt": .* in \S+ferry\.conf:11/,
          'a file that cannot be read' ],
        [ "stream {\n$srv        proxy_ssl_password_file $d/pw.txt;\n"
          . "        proxy_ssl_password_file $d/pw.txt;\n"
          . "        proxy_pass 127.0.0.1:1;\n    }\n}\n",
          qr/"proxy_ssl_password_file" directive is duplicate in \S+ferry\.conf:12/,
          'two in one server' ],
    );
    conf_refused(@$_) for @bad;
}

done_testing;
