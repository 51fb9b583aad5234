#!/usr/bin/perl

# map: a variable whose value is chosen by matching a string with
# variables against the block's sources.  Exact strings (any case),
# default and its absence, the empty string, "\~" for a literal "~",
# regexes in order with numbered and named captures, ~*, hostnames with
# leading and trailing masks (the longest wins), variables in the
# source and the values, include, a map used before its block, and in
# proxy_set_header, return, add_header, log_format; the canonical
# WebSocket snippet (Connection $connection_upgrade) as the backend
# sees it; configuration errors with file and line.
#
# Every test reads a map's variable, so each fails without map (the
# configuration is refused: "unknown directive").

use strict;
use warnings;

use Test::More;
use Ferry::Test;

my $f = Ferry::Test->new(conf => main_conf() . <<'EOF');
worker_processes 1;
events { worker_connections 256; }
http {
    # used here, defined further down (nginx resolves variables last)
    log_format m '$logged|$uri|$cached_ua|$volatile_ua';
    access_log logs/access.log m;

    map $http_upgrade $connection_upgrade {
        default upgrade;
        ''      close;
    }

    map $arg_k $exact {
        default   dflt;
        apple     red;
        Banana    yellow;
        ''        empty;
        \~tilde   literal-tilde;
        \default  literal-default;
        *.x.com   no-mask-without-hostnames;
    }

    map $arg_k $nodefault {
        apple  red;
    }

    map $uri $rx {
        ~^/rx/(\d+)/(?<word>[a-z]+)$  num=$1,word=$word;
        ~*^/ci/(.*)$                   ci-$1;
        ~^/rx/                         second;
        ~^/RX/                         case-sensitive;
        ~^/cap/(\w+)$                  cap-$1;
        default                        none;
    }

    map $arg_h $hostmap {
        hostnames;
        default          nohost;
        example.com      exact;
        *.example.com    star;
        *.a.example.com  longer-star;
        .example.org     dot;
        www.example.*    tail;
        www.example.co.* longer-tail;
    }

    map "$arg_a:$arg_b" $combo {
        1:2      one-two;
        default  "def-$arg_a-$request_method";
    }

    map $arg_i $inc {
        include map.inc;
        default noinc;
    }

    map $arg_v $vol {
        volatile;
        default "v-$arg_v";
    }

    map $arg_l $logged {
        default  -;
        logme    was-logged;
    }

    # kept from the first use in a request, or evaluated on each
    map $arg_c $cached_ua { default "ua=$upstream_status"; }
    map $arg_c $volatile_ua { volatile; default "ua=$upstream_status"; }

    map $exact $chained {
        red      chained-red;
        default  chained-other;
    }

    map_hash_max_size 4096;
    map_hash_bucket_size 128;

    server {
        listen 127.0.0.1:%%PORT_0%%;
        server_name localhost;

        location /exact { return 200 "[$exact][$nodefault]"; }
        location /rx/ { return 200 "[$rx]"; }
        location /RX/ { return 200 "[$rx]"; }
        location /ci/ { return 200 "[$rx]"; }
        location /CI/ { return 200 "[$rx]"; }
        location ~ ^/(cap)/ { return 200 "[$rx][$1]"; }
        location ~ ^/(nocap)/ { return 200 "[$rx][$1]"; }
        location /host { return 200 "[$hostmap]"; }
        location /combo { return 200 "[$combo]"; }
        location /inc { return 200 "[$inc]"; }
        location /vol { return 200 "[$vol][$vol]"; }
        location /chain { return 200 "[$chained]"; }
        location /hdr { add_header X-Map $exact; return 200 "ok"; }
        location /log { return 200 "ok"; }
        location /redir { return 302 /to/$exact; }

        location /up/ {
            proxy_set_header Connection $connection_upgrade;
            proxy_set_header X-Exact $exact;
            proxy_pass http://127.0.0.1:%%PORT_1%%;
        }
        location /cache/ {
            add_header X-Cached $cached_ua;
            add_header X-Volatile $volatile_ua;
            proxy_set_header X-Cached $cached_ua;
            proxy_set_header X-Volatile $volatile_ua;
            proxy_pass http://127.0.0.1:%%PORT_1%%;
        }
        location /pass/ {
            proxy_pass http://127.0.0.1:%%PORT_1%%/$exact;
        }
    }
}
EOF

$f->write_file('conf/map.inc', "included  from-file;\n~^re(\\d)\$  re-\$1;\n");

my $b = Ferry::Test::Backend->new(port => $f->port(1));

$f->start or BAIL_OUT('ferry did not start');

my $port = $f->port(0);

sub body {
    my ($path, @h) = @_;
    my $r = http_get($port, $path, @h);
    return "error: $r->{error}" if $r->{error};
    return "status $r->{status}: $r->{body}";
}

# ---- exact strings, default ----

is(body('/exact?k=apple'), 'status 200: [red][red]', 'an exact source');
is(body('/exact?k=APPLE'), 'status 200: [red][red]',
   '... matched ignoring case (nginx)');
is(body('/exact?k=banana'), 'status 200: [yellow][]',
   '... a source written in capitals too');
is(body('/exact?k=pear'), 'status 200: [dflt][]',
   'no match: default; no default: the empty string');
is(body('/exact'), 'status 200: [empty][]', "'' matches the empty string");
is(body('/exact?k=~tilde'), 'status 200: [literal-tilde][]',
   '"\~tilde" is the string "~tilde", not a regex');
is(body('/exact?k=default'), 'status 200: [literal-default][]',
   '"\default" is the string "default"');
is(body('/exact?k=a.x.com'), 'status 200: [dflt][]',
   'without hostnames "*.x.com" is no mask ...');
is(body('/exact?k=*.x.com'), 'status 200: [no-mask-without-hostnames][]',
   '... but the string itself');

# ---- regexes ----

is(body('/rx/42/abc'), 'status 200: [num=42,word=abc]',
   'a regex, its numbered and named captures in the value');
is(body('/rx/other'), 'status 200: [second]',
   'regexes are tried in the order written');
is(body('/CI/Some'), 'status 200: [ci-Some]', '~* ignores case');
is(body('/RX/x'), 'status 200: [case-sensitive]',
   '~ does not: "/RX/" is not matched by ~^/rx/');

is(body('/cap/w'), 'status 200: [cap-w][w]',
   'a map regex that matches replaces $1 from then on (nginx)');
is(body('/nocap/w'), 'status 200: [none][nocap]',
   '... one that does not leaves it alone');

# ---- hostnames ----

my %host = (
    'example.com'         => 'exact',
    'EXAMPLE.com.'        => 'exact',
    'www.example.com'     => 'star',
    'b.a.example.com'     => 'longer-star',
    'example.org'         => 'dot',
    'x.y.example.org'     => 'dot',
    'www.example.net'     => 'tail',
    'www.example.co.uk'   => 'longer-tail',
    'example.net'         => 'nohost',
    'wwwexample.com'      => 'nohost',
);
for my $h (sort keys %host) {
    is(body("/host?h=$h"), "status 200: [$host{$h}]",
       "hostnames: $h gives $host{$h}");
}

# ---- variables in the source and values ----

is(body('/combo?a=1&b=2'), 'status 200: [one-two]',
   'a source string made of two variables');
is(body('/combo?a=7&b=2'), 'status 200: [def-7-GET]',
   'variables in the value');
is(body('/chain?k=apple'), 'status 200: [chained-red]',
   'a map whose source is another map');
is(body('/chain?k=pear'), 'status 200: [chained-other]',
   '... and its default');
is(body('/vol?v=q'), 'status 200: [v-q][v-q]', 'a volatile map');

# ---- include ----

is(body('/inc?i=included'), 'status 200: [from-file]',
   'a source from an included file');
is(body('/inc?i=re7'), 'status 200: [re-7]', '... a regex from it too');
is(body('/inc?i=zz'), 'status 200: [noinc]', '... and the default');

# ---- in other directives ----

my $r = http_get($port, '/hdr?k=apple');
is($r->{headers}{'x-map'}, 'red', 'add_header with a map');
$r = http_get($port, '/redir?k=banana');
like($r->{headers}{location} // '', qr{/to/yellow$}, 'return 302 with a map');

$r = http_get($port, '/up/x?k=apple');
like($r->{body}, qr/^header X-Exact: red$/m, 'proxy_set_header with a map');
my @conn = $r->{body} =~ /^header Connection: (.*)$/mg;
is("@conn", 'close',
   'no Upgrade: Connection $connection_upgrade sends "close", once');

$r = http($port, build_request(path => '/up/ws', headers => [
    Connection => 'Upgrade', Upgrade => 'websocket']));
@conn = $r->{body} =~ /^header Connection: (.*)$/mg;
is("@conn", 'upgrade', 'an upgrade: "Connection: upgrade", once ...');
like($r->{body}, qr/^header Upgrade: websocket$/m, '... with the Upgrade');

$r = http_get($port, '/pass/?k=apple');
like($r->{body}, qr{^uri /red$}m, 'proxy_pass with a map');

http_get($port, '/log?l=logme');
my $log = '';
wait_until { $log = Ferry::Test::read_file($f->prefix . '/logs/access.log') // '';
             $log =~ /was-logged/ } 5;
like($log, qr{^was-logged\|/log\|ua=\|ua=$}m,
     'log_format with a map defined after it');

$r = http_get($port, '/cache/');
like($r->{body}, qr/^header X-Cached: ua=\r?$/m,
     'a map used before the upstream answered ...');
is(join('|', $r->{headers}{'x-cached'} // '(none)',
             $r->{headers}{'x-volatile'} // '(none)'),
   'ua=|ua=200',
   '... keeps that value for the request; a volatile one does not');
wait_until { $log = Ferry::Test::read_file($f->prefix . '/logs/access.log')
                    // ''; $log =~ m{/cache/} } 5;
like($log, qr{^-\|/cache/\|ua=\|ua=200$}m, '... in log_format too');

$f->stop;

# ---- configuration errors ----

http_conf_refused("map \$arg_a \$x { default 1; }\n    map \$arg_b \$x { default 2; }",
                  'the duplicate "x" variable in \S+ferry.conf:7',
                  'a variable defined by two maps');
http_conf_refused('map $arg_a $host { default 1; }',
                  'the duplicate "host" variable in \S+ferry.conf:6',
                  'a map of a variable ferry has');
http_conf_refused("map \$arg_a \$x {\n        ~(unclosed 1;\n    }",
                  'invalid regex "\(unclosed".* in \S+ferry.conf:7',
                  'an invalid regex');
http_conf_refused("map \$arg_a \$x {\n        a b c;\n    }",
                  'invalid number of the map parameters in \S+ferry.conf:7',
                  'three words in a map line');
http_conf_refused("map \$arg_a \$x {\n        lonely;\n    }",
                  'invalid number of the map parameters in \S+ferry.conf:7',
                  'one word in a map line');
http_conf_refused("map \$arg_a \$x {\n        a 1;\n        A 2;\n    }",
                  'conflicting parameter "a" in \S+ferry.conf:8',
                  'a source given twice');
http_conf_refused("map \$arg_a \$x {\n        hostnames;\n        *.a 1;\n"
                  . "        *.a 2;\n    }",
                  'conflicting parameter "\*.a" in \S+ferry.conf:9',
                  'a mask given twice');
http_conf_refused("map \$arg_a \$x {\n        default 1;\n        default 2;\n    }",
                  'duplicate default map parameter in \S+ferry.conf:8',
                  'two defaults');
http_conf_refused("map \$arg_a \$x {\n        hostnames;\n        a*b 1;\n    }",
                  'invalid hostname or wildcard "a\*b" in \S+ferry.conf:8',
                  'a bad mask with hostnames');
http_conf_refused("map \$arg_a \$x {\n        a \$nosuch;\n    }",
                  'unknown "nosuch" variable in \S+ferry.conf:7',
                  'an unknown variable in a value');
http_conf_refused("log_format f '\$nosuch';",
                  'unknown "nosuch" variable in \S+ferry.conf:6',
                  'a variable no map defines, at the line that uses it');
http_conf_refused('map $arg_a x { }', 'invalid variable name "x" in \S+ferry.conf:6',
                  'a map name without $');
http_conf_refused('map $arg_a $x;', 'directive "map" has no opening "\{" in \S+ferry.conf:6',
                  'map without a block');
http_conf_refused('map $arg_a { }', 'invalid number of arguments in "map" directive in \S+ferry.conf:6',
                  'map with one argument');
http_conf_refused('map_hash_max_size 0;', 'invalid value "0" in "map_hash_max_size" in \S+ferry.conf:6',
                  'map_hash_max_size 0');
http_conf_refused('map_hash_bucket_size x;', 'invalid value "x" in "map_hash_bucket_size" in \S+ferry.conf:6',
                  'map_hash_bucket_size x');
server_conf_refused('map $arg_a $x { default 1; }',
                    '"map" directive is not allowed here in \S+ferry.conf:8',
                    'map in a server');

done_testing();
