#!/usr/bin/perl

# proxy_cookie_domain, proxy_cookie_path and proxy_cookie_flags: what a
# client sees of a backend's Set-Cookie fields.  Text domains (case,
# leading dot), text path prefixes (case-sensitive), regexes with
# groups, ~*, variables in the replacement, rules in order, several
# fields and attributes, the cookie's own "name=value" left alone, a
# changed field written again as nginx writes it (parts joined by "; ")
# and an unchanged one left as it came; flags added, kept, changed and
# removed by name, regex or variables; inheritance and off; and
# configuration errors with file and line.
#
# The backend sends one Set-Cookie field for each X-C header of the
# request, so each test says what the backend sends next to what the
# client must get.

use strict;
use warnings;

use Test::More;
use Ferry::Test;

my $f = Ferry::Test->new(conf => main_conf() . <<'EOF');
worker_processes 1;
events { worker_connections 256; }
http {
    upstream u { server 127.0.0.1:%%PORT_1%%; }
    proxy_cookie_domain http.example front.example;
    proxy_cookie_flags one secure;

    server {
        listen 127.0.0.1:%%PORT_0%%;
        server_name localhost;

        location / {
            proxy_pass http://u;
            proxy_cookie_domain app.internal example.com;
            proxy_cookie_domain ~^(\w+)\.svc\.local$ $1.example.com;
            proxy_cookie_domain ~*^VAR\.local$ $host;
            proxy_cookie_path /app/ /;
            proxy_cookie_path ~^/v(\d+)/(?<rest>.*)$ /api/$rest/v$1;
            proxy_cookie_path /App/ /upper/;
        }
        location /inherit/ { proxy_pass http://u; }
        location /off/ {
            proxy_pass http://u;
            proxy_cookie_domain off;
            proxy_cookie_path off;
        }
        location /flags/ {
            proxy_pass http://u;
            proxy_cookie_flags one secure httponly;
            proxy_cookie_flags ~^s(ess)?id$ samesite=strict nohttponly;
            proxy_cookie_flags all nosecure nosamesite nohttponly;
            proxy_cookie_flags $arg_c $arg_f samesite=lax;
        }
        location /flags/off/ {
            proxy_pass http://u;
            proxy_cookie_flags off;
        }
        location /nested/ {
            proxy_pass http://u;
            proxy_cookie_path /app/ /nested/;
            location /nested/in/ { proxy_pass http://u; }
        }
    }
}
EOF

my $b = Ferry::Test::Backend->new(port => $f->port(1), raw => sub {
    my ($sock, $req) = @_;
    my $res = "HTTP/1.1 200 OK\r\n";
    for my $h (@{ $req->{headers} }) {
        $res .= "Set-Cookie: $h->[1]\r\n" if lc $h->[0] eq 'x-c';
    }
    $res .= "Content-Length: 2\r\nConnection: close\r\n\r\nok";
    syswrite $sock, $res;
});

$f->start or BAIL_OUT('ferry did not start');

# The Set-Cookie the client gets (several joined with ", ").
sub cookie {
    my ($path, @c) = @_;
    my $r = http_get($f->port(0), $path, map { ('X-C' => $_) } @c);
    return "error: $r->{error}" if $r->{error};
    return $r->{headers}{'set-cookie'} // '(none)';
}

is(cookie('/', 'a=1; Domain=app.internal; Path=/'),
   'a=1; Domain=example.com; Path=/', 'a text domain is replaced');
is(cookie('/', 'a=1; domain=.APP.Internal'),
   'a=1; domain=.example.com', 'without case, the leading dot kept');
is(cookie('/', 'a=1; Domain=x.app.internal'),
   'a=1; Domain=x.app.internal', 'a text domain matches the whole value only');
is(cookie('/', 'a=1; Domain=shop.svc.local'),
   'a=1; Domain=shop.example.com', 'a regex domain with a group');
is(cookie('/', 'a=1; Domain=var.LOCAL'),
   'a=1; Domain=localhost', '~* without case, a variable in the replacement');
is(cookie('/', 'a=1; Path=/app/x; HttpOnly'),
   'a=1; Path=/x; HttpOnly', 'a path prefix is replaced');
is(cookie('/', 'a=1; Path=/APP/x'),
   'a=1; Path=/APP/x', 'a text path compares with case');
is(cookie('/', 'a=1; Path=/App/y'),
   'a=1; Path=/upper/y', '... and the next rule can match');
is(cookie('/', 'a=1; Path=/v2/users/list'),
   'a=1; Path=/api/users/list/v2', 'a regex path with numbered and named groups');
is(cookie('/', 'domain=app.internal; path=/app/; Max-Age=5'),
   'domain=app.internal; path=/; Max-Age=5',
   'a cookie named "domain" is not an attribute, its path is');
is(cookie('/', 'a=1;Path=/app/z;Domain=app.internal;Secure'),
   'a=1; Path=/z; Domain=example.com; Secure',
   'both attributes of one field; written again with "; " (nginx)');
is(cookie('/', 'a=1;Path=/other;Domain=elsewhere'),
   'a=1;Path=/other;Domain=elsewhere', 'a field nothing changed is left as it came');
is(cookie('/', 'novalue; Domain=app.internal'),
   'novalue; Domain=app.internal', 'a field without "name=value" is left alone');
is(cookie('/', 'a=1; Domain=app.internal', 'b=2; Path=/app/'),
   'a=1; Domain=example.com, b=2; Path=/',
   'every Set-Cookie field');
is(cookie('/', 'a=1; Domain=http.example'),
   'a=1; Domain=http.example',
   'a level with rules of its own does not use its parent\'s');
is(cookie('/inherit/', 'a=1; Domain=http.example; Path=/app/'),
   'a=1; Domain=front.example; Path=/app/',
   'a level without inherits the http level\'s');
is(cookie('/off/', 'a=1; Domain=http.example'),
   'a=1; Domain=http.example', 'off cancels the inherited rules');
is(cookie('/nested/in/', 'a=1; Path=/app/q'),
   'a=1; Path=/nested/q', 'a nested location inherits its parent\'s');

# proxy_cookie_flags
is(cookie('/flags/', 'one=1; Path=/'), 'one=1; Path=/; Secure; HttpOnly',
   'flags: missing ones added at the end');
is(cookie('/flags/', 'ONE=1;secure'), 'ONE=1; secure; HttpOnly',
   '... the name without case, a flag there already kept as it is');
is(cookie('/flags/', 'sid=9; HttpOnly; SameSite=Lax; Path=/'), 'sid=9; SameSite=Strict; Path=/',
   '... a regex name; SameSite changed in place, HttpOnly removed');
is(cookie('/flags/', 'sessid=9;samesite=STRICT'), 'sessid=9; samesite=STRICT',
   '... a SameSite already as asked for is kept');
is(cookie('/flags/', 'all=1; Secure; SameSite=None; Path=/; httponly'), 'all=1; Path=/',
   '... nosecure, nosamesite, nohttponly remove them');
is(cookie('/flags/', 'other=1;Path=/'), 'other=1;Path=/', '... no rule for the cookie: untouched');
is(cookie('/flags/?c=v&f=secure', 'v=1'), 'v=1; Secure; SameSite=Lax',
   '... name and flag from variables');
is(cookie('/flags/?c=v&f=bogus', 'v=1'), 'v=1; SameSite=Lax',
   '... an unknown flag from a variable does nothing (nginx)');
is(cookie('/inherit/', 'one=1'), 'one=1; Secure', '... inherited from the http level');
is(cookie('/flags/off/', 'one=1'), 'one=1', '... off cancels the inherited rules');

$f->stop;

# configuration errors

sub line_of {
    my ($t, $word) = @_;
    my @lines = split /\n/, Ferry::Test::read_file($t->conf_file);
    for my $i (0 .. $#lines) {
        return $i + 1 if index($lines[$i], $word) >= 0;
    }
    return 0;
}

for my $case (['proxy_cookie_domain one;', qr/invalid parameter "one"/, 'one'],
              ['proxy_cookie_path a b c;', qr/invalid number of arguments in "proxy_cookie_path"/, 'a b c'],
              ['proxy_cookie_path ~^/(x $1;', qr/pcre2?_compile|missing|regex/i, '~^/(x'],
              ["proxy_cookie_domain a b;\n        proxy_cookie_domain off;", qr/"proxy_cookie_domain" directive is duplicate/, 'domain off'],
              ['proxy_cookie_flags a sticky;', qr/invalid parameter "sticky"/, 'sticky'],
              ['proxy_cookie_flags off secure;', qr/invalid parameter "secure"/, 'off secure'],
              ['proxy_cookie_path / $nosuch;', qr/unknown "nosuch" variable|nosuch/, 'nosuch'])
{
    my ($dir, $re, $word) = @$case;
    (my $name = $dir) =~ s/\n\s*/ /;
    my $t = Ferry::Test->new(conf => main_conf() . <<"EOF");
events { }
http {
    server {
        listen 127.0.0.1:%%PORT_0%%;
        location / { $dir }
    }
}
EOF
    my ($rc, $out) = $t->run('-t');
    is($rc, 1, "$name: -t fails");
    like($out, qr/$re.* in \S+ferry\.conf:@{[line_of($t, $word)]}\n/,
         "$name: named with file and line");
}

done_testing;
