#!/usr/bin/perl

# geo: a variable whose value depends on the client's address.  The
# longest CIDR prefix wins (IPv4 and IPv6), "default" and 0.0.0.0/0,
# no default (empty), delete, include, a duplicate network (the later
# value, with a warning), text that is no address (255.255.255.255), an
# IPv4-mapped IPv6 address, the client's own address when no $address
# is given (also as set_real_ip_from replaced it), "proxy" with
# X-Forwarded-For (last element, an element that is no address; with
# proxy_recursive the last untrusted one), "ranges" (a range cut by a
# smaller one inside it, delete, default), a geo used before its block,
# in "if"; configuration errors with file and line.
#
# Every test reads a geo variable, so each fails without geo (the
# configuration is refused: "unknown directive").

use strict;
use warnings;

use Test::More;
use Ferry::Test;

my $f = Ferry::Test->new(conf => main_conf() . <<'EOF');
worker_processes 1;
events { worker_connections 64; }
http {
    server {
        listen 127.0.0.1:%%PORT_0%%;
        location /net    { return 200 "[$net]"; }
        location /nodef  { return 200 "[$nodef]"; }
        location /zero   { return 200 "[$zero]"; }
        location /client { return 200 "[$client]"; }

        location /proxy  { return 200 "[$viaproxy]"; }
        location /rec    { return 200 "[$viarec]"; }
        location /range  { return 200 "[$rng]"; }
        location /blocked {
            if ($blocked) { return 403; }
            return 200 "welcome";
        }
    }

    # realip at server level: replaced before "return" (post-read)
    server {
        listen 127.0.0.1:%%PORT_1%%;
        set_real_ip_from 127.0.0.1;
        location / { return 200 "[$client]"; }
    }

    geo $arg_ip $net {
        default          dflt;
        10.0.0.0/8       ten;
        10.1.0.0/16      ten-one;
        10.1.2.0/24      ten-one-two;
        10.1.2.3         host;
        10.9.0.0/16      deleted;
        delete           10.9.0.0/16;
        192.168.0.0/16   first;
        192.168.0.0/16   second;
        255.255.255.255  none;
        2001:db8::/32    doc6;
        2001:db8:1::/48  doc6-longer;
        ::1              loop6;
        include          geo.inc;
    }

    geo $arg_ip $zero {
        0.0.0.0/0   any4;
    }

    geo $arg_ip $nodef {
        10.0.0.0/8  ten;
    }

    geo $client {
        127.0.0.0/8  loopback;
        10.0.0.0/8   ten;
        default      elsewhere;
    }

    geo $viaproxy {
        proxy        127.0.0.1;
        default      unknown;
        203.0.113.0/24  doc3;
        198.51.100.0/24 doc2;
        127.0.0.1       self;
    }

    geo $viarec {
        proxy_recursive;
        proxy        127.0.0.1;
        proxy        198.51.100.0/24;
        default      unknown;
        203.0.113.0/24  doc3;
        198.51.100.0/24 doc2;
    }

    geo $arg_ip $rng {
        ranges;
        default                    zz;
        10.0.0.0-10.0.0.255        low;
        10.0.1.0-10.0.1.255        high;
        10.0.0.100-10.0.0.199      middle;
        10.0.2.0-10.0.2.255        gone;
        delete                     10.0.2.0-10.0.2.255;
    }

    geo $arg_ip $blocked {
        default     0;
        192.0.2.0/24 1;
    }
}
EOF

$f->write_file('conf/geo.inc', "172.16.0.0/12  from-file;\n");
$f->allow_log(qr/duplicate network "192\.168\.0\.0\/16", value: "second", old value: "first"/);
$f->start;

sub body {
    my ($path, @h) = @_;
    my $r = http_get($f->port(0), $path, @h);
    return $r->{status} == 200 ? $r->{body} : "status $r->{status}";
}

# longest prefix
is(body('/net?ip=10.200.0.1'), '[ten]', '/8');
is(body('/net?ip=10.1.9.9'), '[ten-one]', '/16 inside /8');
is(body('/net?ip=10.1.2.200'), '[ten-one-two]', '/24 inside /16');
is(body('/net?ip=10.1.2.3'), '[host]', 'a single address is /32');
is(body('/net?ip=11.0.0.1'), '[dflt]', 'no network: default');
is(body('/net?ip=10.9.1.1'), '[ten]', 'a deleted network is gone (the /8 holds it)');
is(body('/net?ip=192.168.4.4'), '[second]', 'a network given twice: the later value');
is(body('/net?ip=172.20.1.1'), '[from-file]', 'include');
is(body('/net?ip=garbage'), '[none]', 'no address: 255.255.255.255');
is(body('/net'), '[none]', 'empty: 255.255.255.255');
is(body('/net?ip=2001:db8:5::1'), '[doc6]', 'IPv6 /32');
is(body('/net?ip=2001:db8:1:2::1'), '[doc6-longer]', 'IPv6 /48 inside /32');
is(body('/net?ip=::1'), '[loop6]', 'IPv6 single address');
is(body('/net?ip=2001:db9::1'), '[dflt]', 'IPv6 outside: default (::/0)');
is(body('/net?ip=::ffff:10.1.2.3'), '[host]', 'IPv4-mapped IPv6 is IPv4');
is(body('/nodef?ip=10.0.0.1'), '[ten]', 'without default: match');
is(body('/nodef?ip=9.0.0.1'), '[]', 'without default: empty');
is(body('/zero?ip=9.0.0.1'), '[any4]', '0.0.0.0/0: any IPv4 address');
is(body('/zero?ip=2001:db8::1'), '[]', '0.0.0.0/0: not IPv6');

# the client's address
is(body('/client'), '[loopback]', 'the client address by default');

is(http_get($f->port(1), '/', 'X-Real-IP' => '10.7.7.7')->{body}, '[ten]',
   'the address set_real_ip_from gave');

# proxy
is(body('/proxy'), '[self]', 'proxy without X-Forwarded-For: own address');
is(body('/proxy', 'X-Forwarded-For' => '203.0.113.9'), '[doc3]',
   'a trusted peer: X-Forwarded-For');
is(body('/proxy', 'X-Forwarded-For' => '203.0.113.9, 198.51.100.7'), '[doc2]',
   'not recursive: the last element');
is(body('/proxy', 'X-Forwarded-For' => 'garbage'), '[self]',
   'no address in X-Forwarded-For: the own address');
is(body('/rec', 'X-Forwarded-For' => '203.0.113.9, 198.51.100.7'), '[doc3]',
   'proxy_recursive: the last untrusted element');
is(body('/rec', 'X-Forwarded-For' => '198.51.100.7'), '[doc2]',
   'proxy_recursive: all trusted, the first');

# ranges
is(body('/range?ip=10.0.0.5'), '[low]', 'range');
is(body('/range?ip=10.0.0.150'), '[middle]', 'a range inside a range wins');
is(body('/range?ip=10.0.0.250'), '[low]', 'the rest of the outer range');
is(body('/range?ip=10.0.1.0'), '[high]', 'range start');
is(body('/range?ip=10.0.1.255'), '[high]', 'range end');
is(body('/range?ip=10.0.2.1'), '[zz]', 'a deleted range: default');
is(body('/range?ip=9.9.9.9'), '[zz]', 'outside: default');

# if
is(http_get($f->port(0), '/blocked?ip=192.0.2.7')->{status}, 403, 'if ($geo): 403');
is(body('/blocked?ip=192.0.3.7'), 'welcome', 'if ($geo) "0": passes');

$f->stop;

# configuration errors
http_conf_refused("geo \$g {\n        10.0.0.0/33 x;\n    }",
                  'invalid network "10.0.0.0/33" in \S+ferry.conf:7',
                  'a prefix too long');
http_conf_refused("geo \$g {\n        10.0.0.300 x;\n    }",
                  'invalid network "10.0.0.300" in \S+ferry.conf:7',
                  'no address');
http_conf_refused("geo \$g {\n        10.0.0.0/8 a b;\n    }",
                  'invalid number of the geo parameters in \S+ferry.conf:7',
                  'three words');
http_conf_refused("geo \$g {\n        ranges;\n        10.0.0.9-10.0.0.1 x;\n    }",
                  'invalid range "10.0.0.9-10.0.0.1" in \S+ferry.conf:8',
                  'a range backwards');
http_conf_refused("geo \$g {\n        ranges;\n        10.0.0.0-10.0.0.9 x;\n"
                  . "        10.0.0.5-10.0.0.20 y;\n    }",
                  'range "10.0.0.5-10.0.0.20" overlaps "10.0.0.0-10.0.0.9" in \S+ferry.conf:9',
                  'overlapping ranges');
http_conf_refused("geo \$g {\n        proxy 1.2.3/8;\n    }",
                  'invalid parameter "1.2.3/8" in \S+ferry.conf:7',
                  'a bad proxy');
http_conf_refused("geo \$g { default 1; }\n    geo \$g { default 2; }",
                  'the duplicate "g" variable in \S+ferry.conf:7',
                  'a variable defined twice');
http_conf_refused("geo \$remote_addr { default 1; }",
                  'the duplicate "remote_addr" variable in \S+ferry.conf:6',
                  'a variable ferry has');

done_testing;
