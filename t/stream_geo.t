#!/usr/bin/perl

# stream geo (nginx's ngx_stream_geo_module): clients bound to
# different 127.0.0.x addresses get "return $geo" answers by the
# longest network, "default", "include", "delete", "ranges", a geo of
# another variable's value (and of text that is no address), a geo
# used as a map's source, "proxy_pass $geo" picking the backend, the
# access log's value, access_log if=$geo (no line for "0" and ""),
# and the configuration errors with file and line; variables_hash_*,
# resolver and resolver_timeout accepted (no effect) and checked.

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
    variables_hash_max_size 2048;
    variables_hash_bucket_size 128;
    resolver 127.0.0.1 [::1]:5353 valid=30s ipv6=off;
    resolver_timeout 5s;
    log_format g '$remote_addr $net';
    access_log logs/g.log g;
    access_log logs/gif.log g if=$loggable;

    geo $loggable {
        default      1;
        127.0.0.9    0;
        127.0.0.10   "";
    }

    geo $net {
        default        zz;
        include        geo.inc;
        127.0.0.2      two;
        127.0.0.3/32   three;
        127.0.0.4      four;
        delete         127.0.0.4;
        ::1            six;
    }
    geo $rng {
        ranges;
        default                 none;
        127.0.0.1-127.0.0.10    low;
        127.0.0.5-127.0.0.5     five;
    }
    map $remote_addr $fake {
        127.0.0.6   10.1.2.3;
        default     not-an-address;
    }
    geo $fake $ten {
        10.0.0.0/8       ten;
        255.255.255.255  broadcast;
    }
    map $net $from_geo {
        two        mapped-two;
        default    mapped-other;
    }
    geo $backend {
        default     127.0.0.1:%%PORT_2%%;
        127.0.0.7   127.0.0.1:%%PORT_3%%;
    }

    server {
        listen 127.0.0.1:%%PORT_0%%;
        return "$net $rng $ten $from_geo\n";
    }
    server {
        listen 127.0.0.1:%%PORT_1%%;
        resolver 127.0.0.2;
        proxy_pass $backend;
    }
}
EOF
$f->write_file('conf/geo.inc', "127.0.0.0/24   from-file;\n");

tcp_server($f->port(2), sub { syswrite $_[0], "backend A\n"; });
tcp_server($f->port(3), sub { syswrite $_[0], "backend B\n"; });
$f->start or do { done_testing; exit };

# the first line a client bound to $from gets ('closed' at EOF)
sub get_from { stream_line($_[1], $_[0]) }

my $p0 = $f->port(0);
is(get_from('127.0.0.1', $p0),
   'from-file low broadcast mapped-other',
   '127.0.0.1: the included /24, a range, text that is no address is '
   . '255.255.255.255');
is(get_from('127.0.0.2', $p0), 'two low broadcast mapped-two',
   '127.0.0.2: its /32 wins over the /24; a map of the geo');
is(get_from('127.0.0.3', $p0), 'three low broadcast mapped-other',
   '127.0.0.3/32');
is(get_from('127.0.0.4', $p0), 'from-file low broadcast mapped-other',
   '127.0.0.4: deleted, the /24 again');
is(get_from('127.0.0.5', $p0), 'from-file five broadcast mapped-other',
   '127.0.0.5: a range inside a range');
is(get_from('127.0.0.6', $p0), 'from-file low ten mapped-other',
   'geo $fake: the address another variable gives (10.1.2.3)');
is(get_from('127.0.0.20', $p0), 'from-file none broadcast mapped-other',
   '127.0.0.20: outside every range: the ranges default');
is(get_from('127.0.1.1', $p0), 'zz none broadcast mapped-other',
   '127.0.1.1: outside every network: default');

is(get_from('127.0.0.1', $f->port(1)), 'backend A',
   'proxy_pass $geo: the default address');
is(get_from('127.0.0.7', $f->port(1)), 'backend B',
   'proxy_pass $geo: 127.0.0.7 to the other backend');

{
    my $log = $f->prefix . '/logs/g.log';
    ok((wait_until { (Ferry::Test::read_file($log) // '')
                     =~ /^127\.0\.0\.3 three$/m } 5),
       'the access log has the geo value');
}
{
    # access_log if=$geo: no line for 127.0.0.9 ("0") and 127.0.0.10
    # (empty), one for 127.0.0.11 after them
    get_from("127.0.0.$_", $p0) for 9, 10, 11;
    my $log = $f->prefix . '/logs/gif.log';
    ok((wait_until { (Ferry::Test::read_file($log) // '')
                     =~ /^127\.0\.0\.11 from-file$/m } 5),
       'access_log if=$loggable: a client the geo gives 1 is logged');
    my $text = Ferry::Test::read_file($log) // '';
    unlike($text, qr/^127\.0\.0\.(9|10) /m,
           '... those it gives "0" or "" are not');
    like($text, qr/^127\.0\.0\.3 three$/m, '... the others are');
    like(Ferry::Test::read_file($f->prefix . '/logs/g.log') // '',
         qr/^127\.0\.0\.9 from-file$/m,
         '... and the log without if= has them all');
}

$f->stop;

# ---- configuration errors ----
{
    my $srv = "    server {\n        listen 127.0.0.1:%%PORT_0%%;\n"
            . "        return \$g;\n    }\n";
    my @bad = (
        [ "stream {\n    geo \$g {\n        10.0.0.0/33 a;\n    }\n$srv}\n",
          qr/invalid network "10\.0\.0\.0\/33" in \S+ferry\.conf:7/,
          'a prefix longer than 32' ],
        [ "stream {\n    geo \$g {\n        10.0.0.0/8 a b;\n    }\n$srv}\n",
          qr/invalid number of the geo parameters in \S+ferry\.conf:7/,
          'three words on a line' ],
        [ "stream {\n    geo \$g {\n        10.0.0.1 a;\n        ranges;\n"
          . "    }\n$srv}\n",
          qr/"ranges" must be the first parameter of the geo block in \S+ferry\.conf:8/,
          'ranges after a network' ],
        [ "stream {\n    geo \$g {\n        ranges;\n"
          . "        10.0.0.1-10.0.0.9 a;\n        10.0.0.5-10.0.0.20 b;\n"
          . "    }\n$srv}\n",
          qr/range "10\.0\.0\.5-10\.0\.0\.20" overlaps "10\.0\.0\.1-10\.0\.0\.9" in \S+ferry\.conf:9/,
          'overlapping ranges' ],
        [ "stream {\n    geo \$g {\n        proxy 10.0.0.1;\n    }\n$srv}\n",
          qr/invalid network "proxy" in \S+ferry\.conf:7/,
          'proxy is http\'s only' ],
        [ "stream {\n    geo \$g { default a; }\n    geo \$g { default b; }\n"
          . "$srv}\n",
          qr/the duplicate "g" variable in \S+ferry\.conf:7/,
          'two geos of one variable' ],
        [ "stream {\n    geo \$remote_addr \$server_port { default a; }\n}\n",
          qr/the duplicate "server_port" variable in \S+ferry\.conf:6/,
          'a geo of a built-in variable' ],
        [ "stream {\n    geo remote_addr \$g { default a; }\n$srv}\n",
          qr/invalid variable name "remote_addr" in \S+ferry\.conf:6/,
          'an address that is no variable' ],
        [ "stream {\n    log_format f x;\n"
          . "    access_log logs/x.log f buffer=32q;\n}\n",
          qr/invalid buffer size "32q" in \S+ferry\.conf:7/,
          'access_log buffer= of a bad size in stream' ],
        [ "stream {\n    log_format f x;\n"
          . "    access_log logs/x.log f if=\$nosuch;\n}\n",
          qr/unknown "nosuch" variable in \S+ferry\.conf:7/,
          'access_log if= of an unknown variable' ],
        [ "stream {\n    resolver 127.0.0.1 ipv4=off ipv6=off;\n}\n",
          qr/"ipv4" and "ipv6" cannot both be "off" in \S+ferry\.conf:6/,
          'resolver checked as http\'s (accepted, no effect)' ],
        [ "stream {\n    resolver_timeout 5s;\n    resolver_timeout 6s;\n}\n",
          qr/"resolver_timeout" directive is duplicate in \S+ferry\.conf:7/,
          'resolver_timeout twice' ],
        [ "stream {\n    variables_hash_max_size big;\n}\n",
          qr/invalid value "big" in "variables_hash_max_size" in \S+ferry\.conf:6/,
          'variables_hash_max_size checked (accepted, no effect)' ],
        [ "stream {\n    server {\n        listen 127.0.0.1:%%PORT_0%%;\n"
          . "        geo \$g { default a; }\n        return \$g;\n    }\n}\n",
          qr/"geo" directive is not allowed here in \S+ferry\.conf:8/,
          'geo in a stream server' ],
    );
    conf_refused(@$_) for @bad;
}

done_testing;
