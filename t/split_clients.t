#!/usr/bin/perl

# split_clients: a variable whose value is the bucket the MurmurHash2
# of a string falls in.  Every one of 300 strings lands in the bucket
# nginx's arithmetic gives (computed here by an independent Perl
# MurmurHash2 and nginx's bounds: the sum of percent * 0xffffffff /
# 10000, each rounded down); "*" takes the rest, and without it the rest
# is empty; the same string always lands in the same bucket; the
# documented "${remote_addr}AAA" example; configuration errors with file
# and line (a bad percentage, a total over 100%).
#
# Every test reads a split_clients variable, so each fails without it
# (the configuration is refused: "unknown directive").

use strict;
use warnings;

use Test::More;
use Ferry::Test;

my $f = Ferry::Test->new(conf => main_conf() . <<'EOF2');
worker_processes 1;
events { worker_connections 64; }
http {
    split_clients "$arg_s" $bucket {
        10%    a;
        20%    b;
        30.55% c;
        *      rest;
    }
    split_clients "x$arg_s" $nostar {
        50%    half;
    }
    split_clients "${remote_addr}AAA" $variant {
        0.5%   .one;
        2.0%   .two;
        *      "";
    }
    server {
        listen 127.0.0.1:%%PORT_0%%;
        location /b { return 200 "[$bucket][$nostar]"; }
        location /v { return 200 "[$variant]"; }
    }
}
EOF2

$f->start;

sub mm2 {
    my ($s) = @_;
    my $m = 0x5bd1e995;
    my @b = unpack('C*', $s);
    my $len = @b;
    my $h = $len;
    my $i = 0;
    while ($len - $i >= 4) {
        my $k = $b[$i] | ($b[$i + 1] << 8) | ($b[$i + 2] << 16)
                | ($b[$i + 3] << 24);
        $k = ($k * $m) & 0xffffffff;
        $k ^= $k >> 24;
        $k = ($k * $m) & 0xffffffff;
        $h = (($h * $m) & 0xffffffff) ^ $k;
        $i += 4;
    }
    my $rest = $len - $i;
    $h ^= $b[$i + 2] << 16 if $rest >= 3;
    $h ^= $b[$i + 1] << 8 if $rest >= 2;
    $h = (($h ^ $b[$i]) * $m) & 0xffffffff if $rest >= 1;
    $h ^= $h >> 13;
    $h = ($h * $m) & 0xffffffff;
    $h ^= $h >> 15;
    return $h;
}

# the buckets nginx computes for [percent in hundredths, value] parts
sub bucket {
    my ($s, @parts) = @_;
    my $h = mm2($s);
    my $bound = 0;
    for my $p (@parts) {
        return $p->[1] if $p->[0] == 0;
        $bound += int($p->[0] * 0xffffffff / 10000);
        return $p->[1] if $h < $bound;
    }
    return '';
}

my (%seen, @wrong);
for my $i (1 .. 300) {
    my $s = "client-$i";
    my $want = '[' . bucket($s, [1000, 'a'], [2000, 'b'], [3055, 'c'],
                            [0, 'rest'])
             . '][' . bucket("x$s", [5000, 'half']) . ']';
    my $r = http_get($f->port(0), "/b?s=$s");
    my $got = $r->{status} == 200 ? $r->{body} : "status $r->{status}";
    push @wrong, "$s: got $got, want $want" if $got ne $want;
    $seen{$got}++;
}
is(scalar @wrong, 0, 'every client in the bucket nginx gives it')
    or diag(join "\n", @wrong[0 .. ($#wrong < 9 ? $#wrong : 9)]);
my %vals = map { /^\[(\w*)\]/ ? ($1 => 1) : () } keys %seen;
is(join(',', sort keys %vals), 'a,b,c,rest', 'all four buckets are used');
my %half = map { /\]\[(\w*)\]$/ ? ($1 => 1) : () } keys %seen;
is(join(',', sort keys %half), ',half', 'without "*": the rest is empty');

my $again = http_get($f->port(0), '/b?s=client-7')->{body};
is(http_get($f->port(0), '/b?s=client-7')->{body}, $again,
   'the same string, the same bucket');

# the documented example: 127.0.0.1AAA
is(http_get($f->port(0), '/v')->{body},
   '[' . bucket('127.0.0.1AAA', [50, '.one'], [200, '.two'], [0, '']) . ']',
   '"${remote_addr}AAA" as nginx buckets it');

# nginx's documented bounds for 0.5% and 2%
is(int(50 * 0xffffffff / 10000), 21474836, '0.5% ends below 21474836');
is(int(50 * 0xffffffff / 10000) + int(200 * 0xffffffff / 10000), 107374181,
   '2.0% ends below 107374181');

$f->stop;

http_conf_refused("split_clients \$arg_a \$x {\n        60% a;\n        40.01% b;\n    }",
                  'percent total is greater than 100% in \S+ferry.conf:6',
                  'a total over 100%');
http_conf_refused("split_clients \$arg_a \$x {\n        0% a;\n    }",
                  'invalid percent value "0%" in \S+ferry.conf:7',
                  'a zero percentage');
http_conf_refused("split_clients \$arg_a \$x {\n        1.234% a;\n    }",
                  'invalid percent value "1.234%" in \S+ferry.conf:7',
                  'three decimals');
http_conf_refused("split_clients \$arg_a \$x {\n        ten% a;\n    }",
                  'invalid percent value "ten%" in \S+ferry.conf:7',
                  'no number');
http_conf_refused("split_clients \$arg_a \$x {\n        10 a;\n    }",
                  'invalid percent value "10" in \S+ferry.conf:7',
                  'no % sign');
http_conf_refused("split_clients \$arg_a \$x {\n        10% a b;\n    }",
                  'invalid number of the split_clients parameters in \S+ferry.conf:7',
                  'three words');
http_conf_refused("split_clients \$arg_a \$uri { * a; }",
                  'the duplicate "uri" variable in \S+ferry.conf:6',
                  'a variable ferry has');

done_testing;
