#!/usr/bin/perl

# proxy_redirect: what a client sees of a backend's Location and Refresh
# fields.  The default (proxy_pass without and with a URI, host:port,
# regex and named locations, none with variables), Refresh, text rules
# in order, variables in the replacement (and no header splitting
# through them), regexes with numbered and named groups, ~*, the text
# form's case, off, inheritance and off cancelling it, any status, and
# configuration errors with file and line.
#
# The backend answers every request with the status, Location and
# Refresh the client asked for in X-Status, X-Loc and X-Refresh, so
# each test says what the backend sends next to what the client must
# get.  Every test compares a rewritten value with the expected one, so
# each fails without proxy_redirect (the controls that must stay
# unchanged are checked together with one that must change).

use strict;
use warnings;

use Test::More;
use Ferry::Test;

my $f = Ferry::Test->new(conf => main_conf() . <<'EOF');
worker_processes 1;
events { worker_connections 256; }
http {
    # the rewritten values as proxy_redirect makes them; made absolute
    # after that by absolute_redirect, which t/redirects.t tests
    absolute_redirect off;
    upstream u { server 127.0.0.1:%%PORT_1%%; }

    server {
        listen 127.0.0.1:%%PORT_0%%;
        server_name localhost;
        root html;

        location / { proxy_pass http://u; }
        location /one/ { proxy_pass http://u/two/; }
        location = /exact { proxy_pass http://u/other; }
        location /port/ { proxy_pass http://127.0.0.1:%%PORT_1%%; }
        location ~ ^/rx/ { proxy_pass http://u; }
        location /named/ { try_files /nothing @app; }
        location @app { proxy_pass http://u; }
        location /var/ { proxy_pass http://u$uri; }

        location /text/ {
            proxy_pass http://u;
            proxy_redirect http://backend.example/ http://front.example/;
            proxy_redirect http://u/ /text/;
            proxy_redirect http://u/never/ /never/;
        }
        location /case/ {
            proxy_pass http://u;
            proxy_redirect http://U/ /upper/;
        }
        location /vars/ {
            proxy_pass http://u;
            proxy_redirect http://u/ $scheme://$host:$server_port/;
        }
        location /pat/ {
            proxy_pass http://u;
            proxy_redirect http://$proxy_host/ /pat/;
        }
        location /split/ {
            proxy_pass http://u;
            proxy_redirect http://u/ $uri;
        }
        location /re/ {
            proxy_pass http://u;
            proxy_redirect ~^http://u/(\w+)/(?<rest>.*)$ /re/$rest/$1;
        }
        location /rei/ {
            proxy_pass http://u;
            proxy_redirect ~*^HTTP://U(/.*)$ /rei$1;
        }
        location /rec/ {
            proxy_pass http://u;
            proxy_redirect ~^HTTP://U(/.*)$ /upper$1;
            proxy_redirect ~^http://u(/.*)$ /lower$1;
        }
        location /off/ {
            proxy_pass http://u;
            proxy_redirect off;
        }
        location /both/ {
            proxy_pass http://u/b/;
            proxy_redirect default;
            proxy_redirect http://elsewhere/ /else/;
        }
        location /nest/ {
            proxy_pass http://u/n/;
            location /nest/in/ { proxy_pass http://127.0.0.1:%%PORT_1%%/m/; }
        }
    }

    server {
        listen 127.0.0.1:%%PORT_2%%;
        proxy_redirect http://u/ /srv/;

        location / { proxy_pass http://u; }
        location /own/ {
            proxy_pass http://u;
            proxy_redirect http://u/ /own/;
        }
        location /off/ {
            proxy_pass http://u;
            proxy_redirect off;
        }
        location /deep/ {
            location /deep/er/ { proxy_pass http://u; }
        }
    }

    server {
        listen 127.0.0.1:%%PORT_3%%;
        proxy_redirect off;

        location / { proxy_pass http://u; }
        location /on/ {
            proxy_pass http://u;
            proxy_redirect default;
        }
    }
}
EOF

my $b = Ferry::Test::Backend->new(port => $f->port(1), raw => sub {
    my ($sock, $req) = @_;
    my %h;
    $h{lc $_->[0]} = $_->[1] for @{ $req->{headers} };
    my $status = $h{'x-status'} // 302;
    my $res = "HTTP/1.1 $status X\r\n";
    $res .= "Location: $h{'x-loc'}\r\n" if defined $h{'x-loc'};
    $res .= "Refresh: $h{'x-refresh'}\r\n" if defined $h{'x-refresh'};
    $res .= "Content-Length: 0\r\nConnection: close\r\n\r\n";
    syswrite $sock, $res;
});

$f->start or BAIL_OUT('ferry did not start');

# What the client gets as Location (or $field) when the backend sends
# $loc for a request to $path on server $port.
sub loc {
    my ($port, $path, $loc, %o) = @_;
    my @h = ('X-Loc' => $loc);
    push @h, 'X-Status' => $o{status} if $o{status};
    my $r = http_get($f->port($port), $path, @h);
    return "error: $r->{error}" if $r->{error};
    return "status $r->{status}" if $o{status} && $r->{status} != $o{status};
    return $r->{headers}{location} // '(none)';
}

sub refresh {
    my ($path, $refresh) = @_;
    my $r = http_get($f->port(0), $path, 'X-Refresh' => $refresh);
    return $r->{error} ? "error: $r->{error}"
                       : $r->{headers}{refresh} // '(none)';
}

my $p1 = $f->port(1);

# ---- the default ----

is(loc(0, '/a', 'http://u/foo?x=1'), '/foo?x=1',
   'default, proxy_pass without URI: http://u/ becomes /');
is(loc(0, '/one/a', 'http://u/two/x'), '/one/x',
   'default, proxy_pass with a URI: http://u/two/ becomes /one/');
is(loc(0, '/exact', 'http://u/other?y'), '/exact?y',
   'default in an exact location: the URI becomes its name');
is(loc(0, '/port/a', "http://127.0.0.1:$p1/p/q"), '/p/q',
   'default with a host:port upstream');
is(join('|', loc(0, '/port/a', "http://localhost:$p1/p"),
             loc(0, '/port/a', "http://127.0.0.1:$p1/p")),
   "http://localhost:$p1/p|/p",
   '... only the host:port as written in proxy_pass');
is(loc(0, '/rx/a', 'http://u/r'), '/r', 'default in a regex location');
is(loc(0, '/named/a', 'http://u/n'), '/n', 'default in a named location');
is(join('|', loc(0, '/var/a', 'http://u/v'), loc(0, '/a', 'http://u/v')),
   'http://u/v|/v', 'no default with proxy_pass with variables (nginx)');
is(join('|', loc(0, '/a', 'http://other/x'), loc(0, '/a', '/rel'),
             loc(0, '/a', 'http://u'), loc(0, '/a', 'http://u/x')),
   'http://other/x|/rel|http://u|/x',
   'a Location that matches no rule is left alone');
is(join('|', loc(0, '/a', 'http://U/x'), loc(0, '/a', 'http://u/x')),
   'http://U/x|/x', 'the default compares case-sensitively (nginx)');
is(join('|', loc(0, '/nest/a', 'http://u/n/x'),
             loc(0, '/nest/in/a', "http://127.0.0.1:$p1/m/y"),
             loc(0, '/nest/in/a', 'http://u/n/x')),
   "/nest/x|/nest/in/y|http://u/n/x",
   'a nested location has the default of its own proxy_pass');

# ---- any status ----

is(loc(0, '/a', 'http://u/made', status => 201), '/made',
   'a Location on a 201 is rewritten too (nginx: any status)');
is(loc(0, '/a', 'http://u/ok', status => 200), '/ok', '... and on a 200');

# ---- Refresh ----

is(refresh('/a', '5; url=http://u/r?q'), '5; url=/r?q',
   'Refresh: the URL after url= is rewritten');
is(refresh('/a', '0;URL=http://u/r'), '0;URL=/r', '... url= in any case');
is(join('|', refresh('/a', '5'), refresh('/a', '5; url=http://x/r'),
             refresh('/one/a', '1; url=http://u/two/z')),
   '5|5; url=http://x/r|1; url=/one/z',
   '... none or another URL left alone');

# ---- text rules ----

is(join('|', loc(0, '/text/a', 'http://backend.example/p'),
             loc(0, '/text/a', 'http://u/p'),
             loc(0, '/text/a', 'http://u/never/p')),
   'http://front.example/p|/text/p|/text/never/p',
   'text rules: the first that matches, in order');
is(join('|', loc(0, '/text/a', 'http://other/p'),
             loc(0, '/text/a', 'http://backend.example/')),
   'http://other/p|http://front.example/',
   '... none matching: left alone; the whole value matching: replaced');
is(join('|', loc(0, '/case/a', 'http://u/p'), loc(0, '/case/a', 'http://U/p')),
   'http://u/p|/upper/p', 'the text form is case-sensitive (nginx)');
is(loc(0, '/vars/a', 'http://u/v?w'),
   'http://localhost:' . $f->port(0) . '/v?w',
   'variables in the replacement ($scheme, $host, $server_port)');
is(loc(0, '/pat/a', 'http://u/x'), '/pat/x', 'variables in the redirect');

my $r = http_get($f->port(0), '/split/%0d%0aX-Evil:%20yes',
                 'X-Loc' => 'http://u/z');
ok(!defined $r->{headers}{'x-evil'}
   && ($r->{headers}{location} // '') eq '/split/%0D%0AX-Evil: yesz',
   'control bytes from variables are %-escaped: no header splitting')
    or diag explain $r->{headers};

# ---- regexes ----

is(loc(0, '/re/a', 'http://u/cat/some/thing'), '/re/some/thing/cat',
   'regex: the whole value replaced, with $1 and a named group');
is(join('|', loc(0, '/re/a', 'http://u/'), loc(0, '/re/a', 'http://x/a/b'),
             loc(0, '/re/a', 'http://u/a/b')),
   'http://u/|http://x/a/b|/re/b/a', '... no match: left alone');
is(join('|', loc(0, '/rei/a', 'http://u/i'), loc(0, '/rei/a', 'Http://U/j')),
   '/rei/i|/rei/j', '~* matches without case');
is(join('|', loc(0, '/rec/a', 'http://u/l'), loc(0, '/rec/a', 'HTTP://U/h')),
   '/lower/l|/upper/h', '~ matches with case, first match wins');

# ---- off and inheritance ----

is(join('|', loc(0, '/off/a', 'http://u/x'), loc(0, '/a', 'http://u/x')),
   'http://u/x|/x', 'off: nothing is rewritten');
is(loc(2, '/a', 'http://u/x'), '/srv/x',
   'a location without proxy_redirect inherits the server\'s rules');
is(join('|', loc(2, '/a', 'http://u/'), loc(2, '/deep/er/a', 'http://u/d')),
   '/srv/|/srv/d', '... through a location between them');
is(loc(2, '/own/a', 'http://u/x'), '/own/x',
   'rules of its own replace the inherited ones');
is(join('|', loc(2, '/off/a', 'http://u/x'), loc(2, '/a', 'http://u/x')),
   'http://u/x|/srv/x', 'off cancels the inherited rules');
is(join('|', loc(3, '/a', 'http://u/x'), loc(3, '/on/a', 'http://u/x')),
   'http://u/x|/x', 'off inherited; proxy_redirect default turns it back on');
is(join('|', loc(0, '/both/a', 'http://u/b/x'),
             loc(0, '/both/a', 'http://elsewhere/y')),
   '/both/x|/else/y', 'default next to other rules');

$f->stop;

# ---- configuration errors ----

my $loc = 'location / { proxy_pass http://127.0.0.1:1; %s }';
for my $t (['proxy_redirect;', qr/invalid number of arguments in "proxy_redirect" directive in \S+ferry\.conf:8/, 'no argument'],
           ['proxy_redirect a b c;', qr/invalid number of arguments in "proxy_redirect" directive in \S+ferry\.conf:8/, 'three arguments'],
           ['proxy_redirect on;', qr/invalid parameter "on" in \S+ferry\.conf:8/, 'one argument, not off or default'],
           ['proxy_redirect ~^(http / ;', qr/invalid regex "\^\(http".* in \S+ferry\.conf:8/, 'bad regex'],
           ['proxy_redirect ~*[ / ;', qr/invalid regex "\[".* in \S+ferry\.conf:8/, 'bad ~* regex'],
           ['proxy_redirect http://u/ $nope;', qr/unknown "nope" variable in \S+ferry\.conf:8/, 'unknown variable'],
           ['proxy_redirect default;', qr/"proxy_redirect default" should be placed after the "proxy_pass" directive in \S+ferry\.conf:8/, 'default at server level'],
           ['location / { proxy_redirect default; proxy_pass http://127.0.0.1:1; }', qr/"proxy_redirect default" should be placed after the "proxy_pass" directive in \S+ferry\.conf:8/, 'default before proxy_pass'],
           ['location / { proxy_pass http://$arg_u; proxy_redirect default; }', qr/"proxy_redirect default" cannot be used with "proxy_pass" directive with variables in \S+ferry\.conf:8/, 'default with proxy_pass with variables'],
           [sprintf($loc, 'proxy_redirect ~(?<n>x) $m;'), qr/unknown "m" variable in \S+ferry\.conf:8/, 'a group name the regex does not have'])
{
    server_conf_refused($t->[0], $t->[1], $t->[2]);
}

# "off" wins over the other proxy_redirect of its level, as in nginx;
# ferry says so
my $g = Ferry::Test->new(conf => main_conf() . <<'EOF');
events { }
http {
    server {
        listen 127.0.0.1:%%PORT_0%%;
        location / {
            proxy_pass http://127.0.0.1:1;
            proxy_redirect http://a/ /;
            proxy_redirect off;
            proxy_redirect http://b/ /;
        }
    }
}
EOF
my ($rc, $out) = $g->run('-t');
is($rc, 0, 'off mixed with rules at one level is accepted (nginx)');
like($out, qr/\[warn\] "proxy_redirect off" cancels the 1 "proxy_redirect" before it at the same level in \S+ferry\.conf:11/,
     '... the rules before it named') or diag $out;
like($out, qr/\[warn\] "proxy_redirect" after "proxy_redirect off" at the same level is ignored in \S+ferry\.conf:12/,
     '... and the one after it') or diag $out;

done_testing;
