#!/usr/bin/perl

# proxy_pass with variables whose host is no upstream, as nginx does it:
# an IP address (IPv4, and IPv6 when ::1 works) is connected to
# straight away (no resolver needed); a
# name is asked of the location's "resolver" at run time, while the
# request waits.  Checked with a small DNS server written here (it
# counts the questions it gets, so the cache shows: a TTL answer asked
# once, a TTL 0 answer every time, valid= overriding the TTL both ways,
# a CNAME chain with compression pointers, a name with two addresses
# tried as an upstream's servers are), and with dnsmasq as a real one.
# What a client and the operator see: the status, $upstream_addr, and
# nginx's error log lines for no resolver, a name that does not exist,
# and a server that never answers (within resolver_timeout), a client
# that leaves while it waits.  The
# directives' errors name file and line.

use strict;
use warnings;

use Test::More;
use IO::Socket::INET;
use IO::Socket::IP;
use IO::Select;
use Time::HiRes ();
use POSIX ();
use Ferry::Test;

my @kids;
END { kill 'KILL', @kids if @kids; }

# A DNS server on 127.0.0.1:$port: each question goes to $log as
# "name type"; answers by name (TTL 3600 unless said):
#   a.test       A 127.0.0.1
#   zero.test    A 127.0.0.1, TTL 0
#   two.test     A 127.0.0.2, A 127.0.0.1 (nothing listens on the first)
#   cname.test   CNAME a.cname.test, then its A 127.0.0.1, both names
#                compressed (pointers into the question and the CNAME)
#   nx.test      NXDOMAIN
#   silent.test  no answer at all
#   big.test     over UDP an empty answer with TC (truncated) set, for
#                A and AAAA; over TCP (the same port) A 127.0.0.1
# AAAA questions get an answer without records.  TCP questions are
# logged as "name type tcp".
sub dns_server {
    my ($port, $log) = @_;
    my $s = IO::Socket::INET->new(LocalAddr => '127.0.0.1',
                                  LocalPort => $port, Proto => 'udp')
        or die "udp $port: $!\n";
    my $l = IO::Socket::INET->new(LocalAddr => '127.0.0.1',
                                  LocalPort => $port, Listen => 8,
                                  ReuseAddr => 1)
        or die "tcp $port: $!\n";
    my $pid = fork // die "fork: $!\n";
    if ($pid) {
        close $s;
        close $l;
        push @kids, $pid;
        return;
    }
    my $sel = IO::Select->new($s, $l);
    for (;;) {
        for my $h ($sel->can_read) {
            if ($h == $l) {
                my $c = $l->accept or next;
                # questions, each after its length, until the client
                # has both answers or goes
                my $csel = IO::Select->new($c);
                while ($csel->can_read(2)) {
                    my $len = '';
                    last unless sysread($c, $len, 2) == 2;
                    $len = unpack 'n', $len;
                    my ($q, $got) = ('', 0);
                    while ($got < $len) {
                        my $n = sysread($c, $q, $len - $got, $got);
                        last unless $n;
                        $got += $n;
                    }
                    my $r = dns_answer($q, $log, 1);
                    syswrite $c, pack('n', length $r) . $r if defined $r;
                }
                close $c;
                next;
            }
            my $peer = $s->recv(my $q, 512);
            next unless defined $peer;
            my $r = dns_answer($q, $log, 0);
            $s->send($r, 0, $peer) if defined $r;
        }
    }
}

sub dns_answer {
    my ($q, $log, $tcp) = @_;
    {
        my ($id, $name, $type, $question) = dns_question($q)
            or return undef;
        if (open my $fh, '>>', $log) {
            print $fh "$name $type", ($tcp ? ' tcp' : ''), "\n";
            close $fh;
        }
        return undef if $name eq 'silent.test';
        my $flags = 0x8180;
        my $a = sub { my ($owner, $ip, $ttl) = @_;
            pack('nnnNn', $owner, 1, 1, $ttl // 3600, 4)
            . pack('C4', split /\./, $ip) };
        my ($rcode, @an) = (0);
        if ($name eq 'nx.test') {
            $rcode = 3;
        } elsif ($name eq 'big.test' && !$tcp) {
            $flags |= 0x0200;           # TC, for A and AAAA
        } elsif ($type != 1) {
            # no AAAA records
        } elsif ($name eq 'a.test') {
            @an = $a->(0xc00c, '127.0.0.1');
        } elsif ($name eq 'big.test') {
            @an = $a->(0xc00c, '127.0.0.1');
        } elsif ($name eq 'zero.test') {
            @an = $a->(0xc00c, '127.0.0.1', 0);
        } elsif ($name eq 'two.test') {
            @an = ($a->(0xc00c, '127.0.0.2'), $a->(0xc00c, '127.0.0.1'));
        } elsif ($name eq 'cname.test') {
            # rdata "a" + pointer to "cname.test" in the question (12);
            # the A record's owner: a pointer to that rdata
            my $rdata = "\x01a\xc0\x0c";
            my $rd_off = 12 + length($question) + 12;
            @an = (pack('nnnNn', 0xc00c, 5, 1, 3600, length $rdata) . $rdata,
                   $a->(0xc000 | $rd_off, '127.0.0.1'));
        } else {
            $rcode = 3;
        }
        return pack('nnnnnn', $id, $flags | $rcode, 1, scalar @an, 0, 0)
               . $question . join '', @an;
    }
}

my $conf = main_conf() . <<'EOF';
worker_processes 1;
events { worker_connections 64; }
http {
    server {
        listen 127.0.0.1:%%PORT_0%%;
        add_header X-Up $upstream_addr always;
        proxy_next_upstream error timeout;

        location /none/ { proxy_pass http://$arg_h; }
        location /p/ {
            resolver 127.0.0.1:%%PORT_2%%;
            resolver_timeout 1s;
            proxy_pass http://$arg_h;
        }
        location /slow/ {
            resolver 127.0.0.1:%%PORT_2%%;
            proxy_pass http://$arg_h;
        }
        location /v30/ {
            resolver 127.0.0.1:%%PORT_2%% valid=30s ipv6=off;
            proxy_pass http://$arg_h;
        }
        location /v1/ {
            resolver 127.0.0.1:%%PORT_2%% valid=1s;
            proxy_pass http://$arg_h;
        }
        location /d/ {
            resolver 127.0.0.1:%%PORT_3%%;
            proxy_pass http://$arg_h/from-dnsmasq;
        }
    }
}
EOF

my $f = Ferry::Test->new(conf => $conf);
my $qlog = $f->prefix . '/questions.log';
dns_server($f->port(2), $qlog);
my $backend = Ferry::Test::Backend->new(port => $f->port(1));
my $bp = $f->port(1);

# questions asked so far: for name, of type A (1) or AAAA (28)
sub asked {
    my ($name, $type) = @_;
    $type //= 1;
    my $t = Ferry::Test::read_file($qlog) // '';
    return scalar(() = $t =~ /^\Q$name\E $type$/mg);
}

$f->allow_log(qr/could not be resolved|no resolver defined|in upstream/);
$f->start or BAIL_OUT('ferry did not start');

my $r = http_get($f->port(0), "/none/x?h=127.0.0.1:$bp");
is($r->{status}, 200, 'an IP address from a variable: proxied, no resolver');
like($r->{body}, qr{^uri /none/x\?h=}m, '... with the request URI');
is($r->{headers}{'x-up'}, "127.0.0.1:$bp", '... $upstream_addr');

SKIP: {
    my $l = IO::Socket::IP->new(LocalHost => '::1', LocalPort => $f->port(4),
                                Listen => 8, ReuseAddr => 1);
    skip 'no IPv6 on ::1', 2 unless $l;
    serve_connections($l, sub {
        my ($c) = @_;
        local $/ = "\r\n\r\n";
        <$c>;
        print $c "HTTP/1.1 200 OK\r\nContent-Length: 3\r\n"
                 . "Connection: close\r\n\r\nv6\n";
    });
    my $p4 = $f->port(4);
    $r = http_get($f->port(0), "/none/x?h=[::1]:$p4");
    is($r->{body}, "v6\n", 'an IPv6 address from a variable: proxied');
    is($r->{headers}{'x-up'}, "[::1]:$p4", '... $upstream_addr');
}

$r = http_get($f->port(0), "/none/x?h=127.0.0.1:99999");
is($r->{status}, 500, 'a port out of range: 500');
like($f->error_log, qr/\[error\] .*invalid port in upstream "127\.0\.0\.1:99999", client: /,
     '... nginx\'s "invalid port in upstream" line');
$r = http_get($f->port(0), "/none/x?h=[::1");
is($r->{status}, 500, 'an unclosed [: 500');
like($f->error_log, qr/\[error\] .*invalid host in upstream "\[::1", client: /,
     '... nginx\'s "invalid host in upstream" line');

$r = http_get($f->port(0), "/none/x?h=a.test:$bp");
is($r->{status}, 502, 'a name without a resolver: 502');
like($f->error_log, qr/\[error\] .*no resolver defined to resolve a\.test, client: 127\.0\.0\.1/,
     '... nginx\'s "no resolver defined to resolve" line');

$r = http_get($f->port(0), "/p/x?h=a.test:$bp");
is($r->{status}, 200, 'a name resolved at run time: proxied');
is($r->{headers}{'x-up'}, "127.0.0.1:$bp", '... to its address ($upstream_addr)');
like($r->{body}, qr/^header Host: a\.test:$bp\r?$/m,
     '... Host: the name and port as the URL has them ($proxy_host)');
is(asked('a.test'), 1, '... one A question');
is(asked('a.test', 28), 1, '... and one AAAA question (ipv6 on by default)');
$r = http_get($f->port(0), "/p/y?h=a.test:$bp");
is($r->{status}, 200, 'the same name again');
is(asked('a.test'), 1, '... answered from the cache (TTL 3600): no question');

$r = http_get($f->port(0), "/p/x?h=zero.test:$bp");
$r = http_get($f->port(0), "/p/x?h=zero.test:$bp");
is($r->{status}, 200, 'a TTL 0 answer');
is(asked('zero.test'), 2, '... is asked again for the next request');

$r = http_get($f->port(0), "/v30/x?h=zero.test:$bp");
$r = http_get($f->port(0), "/v30/x?h=zero.test:$bp");
is($r->{status}, 200, 'valid=30s');
is(asked('zero.test'), 3, '... keeps even a TTL 0 answer: one question');
is(asked('zero.test', 28), 2, '... ipv6=off: no AAAA question');

$r = http_get($f->port(0), "/v1/x?h=a.test:$bp");
is($r->{status}, 200, 'valid=1s');
is(asked('a.test'), 2, '... asks (its own cache)');
Time::HiRes::sleep(1.3);
$r = http_get($f->port(0), "/v1/x?h=a.test:$bp");
is($r->{status}, 200, '... and after valid= ran out');
is(asked('a.test'), 3, '... asks again, TTL 3600 notwithstanding');

$r = http_get($f->port(0), "/p/x?h=cname.test:$bp");
is($r->{status}, 200, 'a CNAME chain with compressed names: proxied');
is($r->{headers}{'x-up'}, "127.0.0.1:$bp", '... to the address at its end');

$r = http_get($f->port(0), "/p/x?h=two.test:$bp");
is($r->{status}, 200, 'a name with two addresses, the first refusing');
is($r->{headers}{'x-up'}, "127.0.0.2:$bp, 127.0.0.1:$bp",
   '... both tried in turn (proxy_next_upstream error)');

$r = http_get($f->port(0), "/p/x?h=big.test:$bp");
is($r->{status}, 200, 'a truncated answer (TC) over UDP: proxied');
is(asked('big.test', '1 tcp'), 1, '... the A question asked again over TCP');
is(asked('big.test', '28 tcp'), 1, '... and the AAAA one');

$r = http_get($f->port(0), "/p/x?h=nx.test:$bp");
is($r->{status}, 502, 'a name that does not exist: 502');
like($f->error_log, qr/\[error\] .*nx\.test could not be resolved \(3: Host not found\), client: /,
     '... nginx\'s "(3: Host not found)" line');

$r = http_get($f->port(0), "/p/x?h=silent.test:$bp");
is($r->{status}, 502, 'a DNS server that never answers: 502');
like($f->error_log, qr/\[error\] .*silent\.test could not be resolved \(110: Operation timed out\)/,
     '... after resolver_timeout, nginx\'s "(110: Operation timed out)"');

# a client that goes away while its name is being resolved (within the
# default resolver_timeout of 30s): the wait ends with the request, and
# the question with its last waiter
my $cl = Ferry::Test::Client->new($f->port(0));
$cl->send("GET /slow/gone?h=silent.test:$bp HTTP/1.1\r\nHost: x\r\n\r\n");
ok((wait_until { asked('silent.test') >= 2 } 10),
   'a client waits for a name that does not come');
$cl->close;
ok((wait_until { $f->error_log =~ /prematurely closed connection while waiting for upstream/ } 10),
   '... and goes away: noticed while waiting');

$r = http_get($f->port(0), "/p/x?h=a.test:$bp");
is($r->{status}, 200, 'the worker still resolves and proxies after that');

# ---- dnsmasq, a real DNS server ----
SKIP: {
    skip 'dnsmasq not installed (sh auto/deps --test)', 6 unless dnsmasq_bin();
    my $hosts = $f->write_file('hosts', "127.0.0.1 backend.ferry.test\n");
    ok(dnsmasq_server($f->port(3), $hosts, $f->prefix . '/dnsmasq.log'),
       'dnsmasq answers');
    $r = http_get($f->port(0), "/d/x?h=backend.ferry.test:$bp");
    is($r->{status}, 200, 'a name dnsmasq resolves: proxied');
    is($r->{headers}{'x-up'}, "127.0.0.1:$bp", '... to its address');
    like($r->{body}, qr{^uri /from-dnsmasq$}m, '... with the URI part');
    $r = http_get($f->port(0), "/d/x?h=nope.ferry.test:$bp");
    is($r->{status}, 502, 'a name dnsmasq does not know: 502');
    like($f->error_log, qr/nope\.ferry\.test could not be resolved \(3: Host not found\)/,
         '... "(3: Host not found)"');
}

$f->stop;

# ---- configuration errors ----
http_conf_refused("resolver 127.0.0.1;\n    resolver 127.0.0.2;",
                  qr/"resolver" directive is duplicate in .*ferry\.conf:7/,
                  'resolver twice');
http_conf_refused("resolver_timeout 1s;\n    resolver_timeout 2s;",
                  qr/"resolver_timeout" directive is duplicate in .*ferry\.conf:7/,
                  'resolver_timeout twice');
http_conf_refused("resolver_timeout abc;",
                  qr/invalid value .*ferry\.conf:6/,
                  'resolver_timeout with a bad time');
http_conf_refused("resolver 127.0.0.1 valid=x;",
                  qr/invalid parameter: valid=x in .*ferry\.conf:6/,
                  'resolver valid= with a bad time');
http_conf_refused("resolver 127.0.0.1 ipv4=off ipv6=off;",
                  qr/"ipv4" and "ipv6" cannot both be "off" in .*ferry\.conf:6/,
                  'resolver with neither ipv4 nor ipv6');
http_conf_refused("resolver valid=1s;",
                  qr/no name servers defined in .*ferry\.conf:6/,
                  'resolver without a server');

done_testing;
