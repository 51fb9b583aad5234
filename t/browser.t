#!/usr/bin/perl

# The browser module: modern_browser (browsers of nginx's table with
# versions, "unlisted"), ancient_browser (strings, "netscape4"),
# modern_browser_value, ancient_browser_value, and $modern_browser,
# $ancient_browser, $msie, for User-Agents whose answers were checked
# against nginx 1.22; inheritance of the lists by pairs; configuration
# errors with file and line.
#
# Every test reads a variable of the module, so each fails without it
# (the configuration is refused: unknown variable / directive).

use strict;
use warnings;

use Test::More;
use Ferry::Test;

my $V = '"m=$modern_browser a=$ancient_browser msie=$msie\n"';

my $f = Ferry::Test->new(conf => main_conf() . <<"EOF2");
worker_processes 1;
events { worker_connections 64; }
http {
    server {
        listen 127.0.0.1:%%PORT_0%%;
        location /none { return 200 $V; }
        location /list {
            modern_browser msie 6.0; modern_browser gecko 1.8;
            modern_browser safari 125;
            return 200 $V;
        }
        location /anc {
            ancient_browser Links Lynx netscape4;
            return 200 $V;
        }
        location /unl {
            modern_browser opera 9.0; modern_browser unlisted;
            ancient_browser Lynx;
            modern_browser_value mod; ancient_browser_value anc;
            return 200 $V;
        }
    }
    server {
        listen 127.0.0.1:%%PORT_1%%;
        modern_browser unlisted; modern_browser gecko 1.8;
        ancient_browser Lynx netscape4; ancient_browser_value old;
        location /i { return 200 $V; }
        location /j { ancient_browser Links; return 200 $V; }
        location /k {
            modern_browser MSIE 5.0; modern_browser msie 7.0;
            return 200 $V;
        }
    }
}
EOF2

$f->start;

my %ua = (
    none   => undef,
    ie6    => 'Mozilla/4.0 (compatible; MSIE 6.0; Windows NT 5.1)',
    ie55   => 'Mozilla/4.0 (compatible; MSIE 5.5; Windows 98)',
    ff2    => 'Mozilla/5.0 (X11; U; Linux i686; en-US; rv:1.8.1) '
              . 'Gecko/20061010 Firefox/2.0',
    moz17  => 'Mozilla/5.0 (X11; U; Linux i686; en-US; rv:1.7.5) '
              . 'Gecko/20041107',
    ns4    => 'Mozilla/4.72 [en] (X11; U; Linux)',
    lynx   => 'Lynx/2.8.9',
    links  => 'Links (2.1)',
    opera9 => 'Opera/9.80 (X11; Linux x86_64) Presto/2.12',
    opera8 => 'Mozilla/4.0 (compatible; MSIE 6.0; X11; Linux) Opera 8.50 [en]',
    saf125 => 'Mozilla/5.0 (Macintosh; U; PPC Mac OS X; en) AppleWebKit/125.2 '
              . '(KHTML, like Gecko) Safari/125.8',
    saf85  => 'Mozilla/5.0 (Macintosh; U; PPC Mac OS X; en) AppleWebKit/125.2 '
              . '(KHTML, like Gecko) Safari/85.8',
    curl   => 'curl/8',
    ie7b   => 'Mozilla/4.0 (compatible; MSIE 7.0b; Windows NT 6.0)',
    short  => 'MSIE 6.',
);

sub vars {
    my ($port, $path, $ua) = @_;
    my $r = http_get($port, $path, defined $ua ? ('User-Agent' => $ua) : ());
    return $r->{status} == 200 ? $r->{body} : "status $r->{status}";
}

my @cases = (
    # location, user agent, answer (nginx 1.22's)
    ['/none', 'none',   "m= a=1 msie=\n", 'no User-Agent: ancient'],
    ['/none', 'curl',   "m= a=1 msie=\n", 'nothing configured: ancient'],
    ['/none', 'ie6',    "m= a=1 msie=1\n", '$msie without the directives'],
    ['/list', 'ie6',    "m=1 a= msie=1\n", 'msie 6.0 >= 6.0: modern'],
    ['/list', 'ie55',   "m= a=1 msie=1\n", 'msie 5.5 < 6.0: ancient'],
    ['/list', 'ie7b',   "m=1 a= msie=1\n", 'msie 7.0b: modern'],
    ['/list', 'ff2',    "m=1 a= msie=\n", 'gecko rv:1.8.1 >= 1.8'],
    ['/list', 'moz17',  "m= a=1 msie=\n", 'gecko rv:1.7.5 < 1.8'],
    ['/list', 'saf125', "m=1 a= msie=\n", 'safari 125.8 >= 125'],
    ['/list', 'saf85',  "m= a=1 msie=\n", 'safari 85.8 < 125'],
    ['/list', 'opera8', "m= a=1 msie=\n",
     'an Opera saying MSIE 6.0, opera not listed: ancient'],
    ['/list', 'curl',   "m= a=1 msie=\n", 'unlisted, without "unlisted"'],
    ['/anc',  'curl',   "m= a=1 msie=\n", 'ancient_browser only: all ancient'],
    ['/unl',  'none',   "m=mod a= msie=\n", '"unlisted": no User-Agent modern'],
    ['/unl',  'curl',   "m=mod a= msie=\n", '"unlisted": modern_browser_value'],
    ['/unl',  'lynx',   "m= a=anc msie=\n", 'an ancient string wins'],
    ['/unl',  'opera9', "m=mod a= msie=\n", 'opera 9.80 >= 9.0'],
    ['/unl',  'opera8', "m= a=anc msie=\n", 'opera 8.50 < 9.0: ancient'],
    ['/unl',  'ns4',    "m=mod a= msie=\n", 'Mozilla/4 without netscape4'],
    ['/unl',  'short',  "m=mod a= msie=\n", '"MSIE 6." too short for $msie'],
    ['1/i',   'curl',   "m=1 a=\n", 'the server\'s lists: unlisted'],
    ['1/i',   'lynx',   "m= a=old\n", '... an ancient string'],
    ['1/i',   'ns4',    "m= a=old\n", '... netscape4'],
    ['1/i',   'ie6',    "m= a=old\n", '... netscape4 on "Mozilla/4.0"'],
    ['1/i',   'moz17',  "m= a=old\n", '... gecko too old'],
    ['1/j',   'lynx',   "m=1 a=\n", 'own ancient list: the server\'s left'],
    ['1/j',   'ns4',    "m=1 a=\n", '... and its netscape4 too'],
    ['1/j',   'links',  "m= a=old\n", '... its own string'],
    ['1/j',   'moz17',  "m= a=old\n", '... the modern list inherited'],
    ['1/k',   'ie6',    "m=1 a=\n", 'own modern list, names in any case'],
    ['1/k',   'curl',   "m= a=old\n", '... without the server\'s "unlisted"'],
);
for my $c (@cases) {
    my $path = $c->[0];
    my $port = $path =~ s/^1// ? $f->port(1) : $f->port(0);
    my $got = vars($port, $path, $ua{$c->[1]});
    $got =~ s/ msie=\S*// if $port == $f->port(1);    # seen on port 0
    is($got, $c->[2], "$c->[3] ($c->[1])");
}

$f->stop;

server_conf_refused('modern_browser chrome 10;',
                    'unknown browser name "chrome" in \S+ferry.conf:8',
                    'a browser not in the table');
server_conf_refused('modern_browser msie 6a;',
                    'invalid browser version "6a" in \S+ferry.conf:8',
                    'a bad version');
server_conf_refused('modern_browser listed;',
                    'invalid parameter "listed".* in \S+ferry.conf:8',
                    'one word other than "unlisted"');
server_conf_refused('ancient_browser_value;',
                    'invalid number of arguments in "ancient_browser_value" '
                    . 'directive in \S+ferry.conf:8',
                    'a value is needed');

done_testing;
