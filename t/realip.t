#!/usr/bin/perl

# nginx's realip module: set_real_ip_from, real_ip_header,
# real_ip_recursive.  A trusted peer's X-Real-IP / X-Forwarded-For /
# other field replaces the client address everywhere ($remote_addr, the
# access log, allow/deny and its error log line,
# $proxy_add_x_forwarded_for, ip_hash); an untrusted peer's does not; invalid
# values are ignored; $realip_remote_addr/_port keep the peer's; each
# request of a keep-alive connection starts from the peer's address;
# the location's settings apply before allow/deny (after "return");
# IPv6 and unix-domain peers; configuration errors with file and line.

use strict;
use warnings;

use Test::More;
use Ferry::Test;
use IO::Socket::IP;
use IO::Socket::UNIX;
use Socket qw(SOCK_STREAM);

my $v6 = IO::Socket::IP->new(LocalHost => '::1', LocalPort => 0,
                             Listen => 1) ? 1 : 0;

my $show = '"addr=$remote_addr port=$remote_port '
         . 'peer=$realip_remote_addr:$realip_remote_port\n"';

my $f = Ferry::Test->new(conf => main_conf() . <<"EOF");
worker_processes 1;
events { worker_connections 64; }
http {
    log_format ra '\$remote_addr|\$realip_remote_addr|\$request_uri';
    access_log logs/access.log ra;
    upstream be { server 127.0.0.1:%%PORT_1%%; }
    upstream iph { ip_hash; server 127.0.0.1:%%PORT_5%%; server 127.0.0.1:%%PORT_6%%; }
    proxy_set_header X-Forwarded-For \$proxy_add_x_forwarded_for;

    # trusted peer, X-Real-IP (the default)
    server {
        listen 127.0.0.1:%%PORT_0%%;
        set_real_ip_from 127.0.0.1;
        location / { return 200 $show; }
        location /up/ { proxy_pass http://be; }
        # (proxied: "return" would answer before allow/deny, as nginx)
        location /deny { deny 192.0.2.1; allow all; proxy_pass http://be; }
        location /only { allow 192.0.2.0/24; deny all; proxy_pass http://be; }
        # the location's own header: applied before allow/deny and the
        # proxy (nginx's pre-access phase), not before "return"
        location /client/ {
            real_ip_header X-Client;
            proxy_pass http://be;
        }
        location /client-return { real_ip_header X-Client; return 200 $show; }
        location /iph { proxy_pass http://iph; }
    }

    # only 10.0.0.0/8 trusted: the headers of 127.0.0.1 are not used
    server {
        listen 127.0.0.1:%%PORT_2%%;
        set_real_ip_from 10.0.0.0/8;
        set_real_ip_from ::1;
        location / { return 200 $show; }
        location /up/ { proxy_pass http://be; }
    }

    # X-Forwarded-For, not recursive
    server {
        listen 127.0.0.1:%%PORT_3%%;
        set_real_ip_from 127.0.0.1;
        set_real_ip_from 10.0.0.0/8;
        real_ip_header X-Forwarded-For;
        location / { return 200 $show; }
    }

    # X-Forwarded-For, recursive
    server {
        listen 127.0.0.1:%%PORT_4%%;
        set_real_ip_from 127.0.0.1;
        set_real_ip_from 10.0.0.0/8;
        set_real_ip_from 2001:db8::/32;
        real_ip_header X-Forwarded-For;
        real_ip_recursive on;
        location / { return 200 $show; }
    }

    # a unix-domain peer, trusted with "unix:"
    server {
        listen unix:%%PREFIX%%/front.sock;
        set_real_ip_from unix:;
        location / { return 200 $show; }
        location /up/ { proxy_pass http://be; }
    }
}
EOF
my $backend = Ferry::Test::Backend->new(port => $f->port(1));
my @named = map {
    my $name = "b$_";
    Ferry::Test::Backend->new(port => $f->port(4 + $_), handler => sub {
        return { status => 200, body => "$name\n" };
    });
} 1, 2;
$f->start or BAIL_OUT('ferry did not start');

sub body {
    my ($port, $path, @h) = @_;
    my $r = http_get($f->port($port), $path, @h);
    return $r->{error} ? "error: $r->{error}" : "$r->{status} $r->{body}";
}

sub upstream_xff {
    my ($port, $path, @h) = @_;
    my $r = http_get($f->port($port), $path, @h);
    my $e = parse_echo($r->{body}) // { headers => [] };
    my @v = map { $_->[1] } grep { lc $_->[0] eq 'x-forwarded-for' }
            @{ $e->{headers} };
    return join ' | ', @v;
}

# ---- X-Real-IP from a trusted peer ---------------------------------------

like(body(0, '/a', 'X-Real-IP' => '192.0.2.7'),
     qr/^200 addr=192\.0\.2\.7 port= peer=127\.0\.0\.1:\d+\n\z/,
     'trusted peer: $remote_addr is X-Real-IP\'s, $remote_port empty (no port '
     . 'in the field), $realip_remote_addr/_port the peer\'s');
like(body(0, '/a', 'X-Real-IP' => '192.0.2.7:4321'),
     qr/^200 addr=192\.0\.2\.7 port=4321 peer=127\.0\.0\.1:\d+\n\z/,
     'a port in the field becomes $remote_port');
like(body(0, '/a', 'X-Real-IP' => '[2001:db8::5]:99'),
     qr/^200 addr=2001:db8::5 port=99 /, '"[v6]:port" in X-Real-IP');
like(body(0, '/a', 'X-Real-IP' => '2001:db8::6'),
     qr/^200 addr=2001:db8::6 port= /, 'a bare IPv6 address in X-Real-IP');
like(body(0, '/a'),
     qr/^200 addr=127\.0\.0\.1 port=\d+ peer=127\.0\.0\.1:\d+\n\z/,
     'no X-Real-IP: the peer\'s address');
like(body(0, '/a', 'X-Forwarded-For' => '192.0.2.8'),
     qr/^200 addr=127\.0\.0\.1 /,
     'X-Forwarded-For is not looked at with the default real_ip_header');

for my $bad ('junk', '192.0.2.300', '192.0.2.1:0', '192.0.2.1:70000',
             '[2001:db8::1', '2001:db8::1:80x', '')
{
    like(body(0, '/a', 'X-Real-IP' => $bad), qr/^200 addr=127\.0\.0\.1 /,
         "invalid X-Real-IP \"$bad\" is ignored");
}

is(upstream_xff(0, '/up/x', 'X-Real-IP' => '192.0.2.9'), '192.0.2.9',
   '$proxy_add_x_forwarded_for sent upstream is the real address');
is(upstream_xff(0, '/up/x', 'X-Real-IP' => '192.0.2.9',
                'X-Forwarded-For' => '198.51.100.1'),
   '198.51.100.1, 192.0.2.9',
   '... appended to the client\'s X-Forwarded-For');

# allow/deny
like(body(0, '/deny', 'X-Real-IP' => '192.0.2.1'), qr/^403 /,
     'deny 192.0.2.1: a request with X-Real-IP 192.0.2.1 is refused');
like($f->error_log, qr/access forbidden by rule, client: 192\.0\.2\.1,/,
     '... and the error log names the real address as the client');
like(body(0, '/deny', 'X-Real-IP' => '192.0.2.2'), qr/^200 method GET/,
     '... another real address is let in');
like(body(0, '/only', 'X-Real-IP' => '192.0.2.44'), qr/^200 method GET/,
     'allow 192.0.2.0/24; deny all: the real address is allowed');
like(body(0, '/only'), qr/^403 /, '... the peer itself (127.0.0.1) is not');

# the location's own real_ip_header
is(upstream_xff(0, '/client/x', 'X-Client' => '203.0.113.4'), '203.0.113.4',
   'real_ip_header in a location: applied before the proxy');
is(upstream_xff(0, '/client/x', 'X-Real-IP' => '203.0.113.5',
                'X-Client' => '203.0.113.4'), '203.0.113.5',
   '... but the server\'s, applied first (post-read), wins when it finds '
   . 'an address');
like(body(0, '/client-return', 'X-Client' => '203.0.113.4'),
     qr/^200 addr=127\.0\.0\.1 /,
     '... and "return" answers before the location\'s applies (nginx\'s '
     . 'rewrite phase comes before pre-access)');

# ip_hash balances on the real address: twenty /24 networks reach both
# servers (the peer alone, 127.0.0.1, always hashes to the same one)
{
    my %seen;
    for my $i (1 .. 20) {
        my $r = http_get($f->port(0), '/iph', 'X-Real-IP' => "198.51.$i.1");
        $seen{$r->{body} // ''}++;
    }
    is(join(' ', sort keys %seen), "b1\n b2\n",
       'ip_hash: real addresses from different networks reach both servers');
    my %one;
    for (1 .. 5) {
        my $r = http_get($f->port(0), '/iph', 'X-Real-IP' => '198.51.7.1');
        $one{$r->{body} // ''}++;
    }
    is(scalar keys %one, 1, '... and one real address always the same one');
}

# keep-alive: each request starts from the peer's address
{
    my ($res) = http_keepalive($f->port(0), [
        build_request(path => '/k1', headers => ['X-Real-IP' => '192.0.2.11']),
        build_request(path => '/k2'),
        build_request(path => '/k3', headers => ['X-Real-IP' => '192.0.2.13']),
        build_request(path => '/k4', headers => ['Connection' => 'close']),
    ]);
    is(scalar @$res, 4, 'keep-alive: four responses on one connection');
    like($res->[0]{body} // '', qr/^addr=192\.0\.2\.11 /, '... first: its X-Real-IP');
    like($res->[1]{body} // '', qr/^addr=127\.0\.0\.1 port=\d+ /,
         '... second, without the field: the peer\'s address and port again');
    like($res->[2]{body} // '', qr/^addr=192\.0\.2\.13 /, '... third: its own');
    like($res->[3]{body} // '', qr/^addr=127\.0\.0\.1 /, '... fourth: the peer\'s');
}

# ---- untrusted peer ------------------------------------------------------

like(body(2, '/a', 'X-Real-IP' => '192.0.2.7'),
     qr/^200 addr=127\.0\.0\.1 port=\d+ peer=127\.0\.0\.1:\d+\n\z/,
     'peer not in set_real_ip_from 10.0.0.0/8: X-Real-IP ignored');
is(upstream_xff(2, '/up/x', 'X-Real-IP' => '192.0.2.7'), '127.0.0.1',
   '... and the peer\'s address is what goes upstream');

# ---- X-Forwarded-For -----------------------------------------------------

like(body(3, '/a', 'X-Forwarded-For' => '192.0.2.1, 198.51.100.2'),
     qr/^200 addr=198\.51\.100\.2 /, 'X-Forwarded-For: the last address');
like(body(3, '/a', 'X-Forwarded-For' => '192.0.2.1, 10.0.0.2'),
     qr/^200 addr=10\.0\.0\.2 /,
     'real_ip_recursive off: the last one even when it is trusted');
like(body(3, '/a', 'X-Forwarded-For' => '192.0.2.1,  10.0.0.2 ,'),
     qr/^200 addr=10\.0\.0\.2 /, 'spaces and an empty last element skipped');
like(body(3, '/a', 'X-Forwarded-For' => '192.0.2.1, junk'),
     qr/^200 addr=127\.0\.0\.1 /, 'an invalid last element: unchanged');
like(body(3, '/a', 'X-Forwarded-For' => '192.0.2.1',
          'X-Forwarded-For' => '198.51.100.3'),
     qr/^200 addr=198\.51\.100\.3 /,
     'two X-Forwarded-For lines: the last address of the last line');
like(body(3, '/a', 'X-Real-IP' => '192.0.2.1'), qr/^200 addr=127\.0\.0\.1 /,
     'real_ip_header X-Forwarded-For: X-Real-IP not looked at');

like(body(4, '/a', 'X-Forwarded-For' => '192.0.2.1, 198.51.100.2, 10.0.0.3, 10.1.1.1'),
     qr/^200 addr=198\.51\.100\.2 /,
     'real_ip_recursive on: the last untrusted address, walking from the right');
like(body(4, '/a', 'X-Forwarded-For' => '10.0.0.9, 10.0.0.3, 10.1.1.1'),
     qr/^200 addr=10\.0\.0\.9 /, '... all trusted: the first');
like(body(4, '/a', 'X-Forwarded-For' => '192.0.2.1, 10.0.0.3',
          'X-Forwarded-For' => '10.1.1.1'),
     qr/^200 addr=192\.0\.2\.1 /, '... across two X-Forwarded-For lines');
like(body(4, '/a', 'X-Forwarded-For' => '192.0.2.1, junk, 10.0.0.3, 10.1.1.1'),
     qr/^200 addr=10\.0\.0\.3 /,
     '... an invalid element stops the walk at the last good address');
like(body(4, '/a', 'X-Forwarded-For' => '198.51.100.9, 2001:db8::1, [2001:db8::2]:8080'),
     qr/^200 addr=198\.51\.100\.9 /, '... IPv6 hops trusted by a v6 CIDR');
like(body(4, '/a', 'X-Forwarded-For' => '2001:db9::1, 10.0.0.3'),
     qr/^200 addr=2001:db9::1 /, '... an untrusted IPv6 address is the result');

open my $log, '<', $f->prefix . '/logs/access.log';
my @lines = <$log>;
close $log;
ok((grep { $_ eq "192.0.2.11|127.0.0.1|/k1\n" } @lines),
   'the access log has the real address as $remote_addr, the peer as '
   . '$realip_remote_addr');
ok((grep { $_ eq "127.0.0.1|127.0.0.1|/k2\n" } @lines),
   '... and the peer for the next request on the connection');

# ---- unix-domain peer ----------------------------------------------------

{
    my $get = sub {
        my ($path, @h) = @_;
        my $s = IO::Socket::UNIX->new(Peer => $f->prefix . '/front.sock',
                                      Type => SOCK_STREAM) or return "connect: $!";
        print $s build_request(path => $path,
                               headers => [@h, Connection => 'close']);
        local $/;
        my $r = <$s> // '';
        return $r =~ /\r\n\r\n(.*)\z/s ? $1 : $r;
    };
    is($get->('/a', 'X-Real-IP' => '192.0.2.21'),
       "addr=192.0.2.21 port= peer=unix::\n",
       'set_real_ip_from unix:: a unix-domain peer is trusted');
    like($get->('/up/x', 'X-Real-IP' => '192.0.2.22'),
         qr/^header X-Forwarded-For: 192\.0\.2\.22$/m,
         '... proxied from a unix-domain listener (no TCP_NODELAY tried '
         . 'because of the IP client address)');
    unlike($f->error_log, qr/setsockopt\(TCP_NODELAY\)/,
           '... no setsockopt error logged');
}

$f->stop;

# ---- IPv6 listener -------------------------------------------------------

SKIP: {
    skip 'no IPv6 loopback (::1) on this machine', 3 unless $v6;

    my $g = Ferry::Test->new(conf => main_conf() . <<"EOF");
worker_processes 1;
events { worker_connections 64; }
http {
    server {
        listen [::1]:%%PORT_0%%;
        set_real_ip_from ::1/128;
        real_ip_header X-Forwarded-For;
        location / { return 200 $show; }
        location /deny { deny 2001:db8::/32; root %%PREFIX%%; }
    }
}
EOF
    $g->start;
    my $get = sub {
        my ($path, @h) = @_;
        my $s = IO::Socket::IP->new(PeerHost => '::1', PeerPort => $g->port(0),
                                    Timeout => 5) or return "connect: $!";
        print $s build_request(path => $path,
                               headers => [@h, Connection => 'close']);
        local $/;
        my $r = <$s> // '';
        return $r =~ /^HTTP\/1.1 (\d+).*?\r\n\r\n(.*)\z/s ? "$1 $2" : $r;
    };
    like($get->('/', 'X-Forwarded-For' => '2001:db8::42'),
         qr/^200 addr=2001:db8::42 port= peer=::1:\d+\n\z/,
         'IPv6 peer ::1 trusted: an IPv6 address from X-Forwarded-For');
    like($get->('/', 'X-Forwarded-For' => '192.0.2.50'),
         qr/^200 addr=192\.0\.2\.50 /, '... or an IPv4 one');
    like($get->('/deny', 'X-Forwarded-For' => '2001:db8::42'), qr/^403 /,
         '... allow/deny checks the IPv6 real address');
    $g->stop;
}

# ---- configuration errors ------------------------------------------------

http_conf_refused("real_ip_recursive sometimes;",
                  qr/"on" or "off" in \S+ferry\.conf:6/,
                  'real_ip_recursive with neither on nor off');
server_conf_refused("real_ip_header X-A; real_ip_header X-B;",
                    qr/"real_ip_header" directive is duplicate in \S+ferry\.conf:8/,
                    'real_ip_header twice at one level');

done_testing();
