#!/usr/bin/perl

# valid_referers and $invalid_referer: none, blocked, server_names
# (plain, wildcard and regex server names), exact names, "*.a.b",
# ".a.b", "www.a.*", a name with a path prefix, the port ignored,
# "~regex" (any case), https, the host compared in any case; a location
# without valid_referers (always valid) and one inheriting the server's;
# "if ($invalid_referer) { return 403; }"; configuration errors with
# file and line.
#
# Every test depends on $invalid_referer, so each fails without the
# module (the configuration is refused: unknown directive / variable).

use strict;
use warnings;

use Test::More;
use Ferry::Test;

my $f = Ferry::Test->new(conf => main_conf() . <<'EOF2');
worker_processes 1;
events { worker_connections 64; }
http {
    server {
        listen 127.0.0.1:%%PORT_0%%;
        server_name site.test *.wild.test ~^re\d+\.test$;

        valid_referers none server_names;
        location /inherit { return 200 "[$invalid_referer]"; }

        location /v {
            valid_referers blocked example.com *.star.com .dot.com
                           www.tail.* pics.com/galleries/ ~\.google\.;
            return 200 "[$invalid_referer]";
        }
        location /free { return 200 "[$invalid_referer]"; }
        location /guard {
            valid_referers none blocked example.com;
            if ($invalid_referer) { return 403; }
            return 200 "picture";
        }
    }
    server {
        listen 127.0.0.1:%%PORT_1%%;
        location / { return 200 "[$invalid_referer]"; }
    }
}
EOF2

$f->start;

sub ref_of {
    my ($path, $ref) = @_;
    my $port = $path =~ s/^1// ? $f->port(1) : $f->port(0);
    my $r = http_get($port, $path,
                     defined $ref ? (Referer => $ref) : ());
    return $r->{status} == 200 ? $r->{body} : "status $r->{status}";
}

my @cases = (
    # path, Referer, expected
    ['/v', undef, '[1]', 'no Referer, no "none": invalid'],
    ['/inherit', undef, '[]', 'no Referer with "none": valid'],
    ['/v', 'bookmark', '[]', 'blocked: not http(s)://'],
    ['/v', 'http://x', '[]', 'blocked: too short to hold a host'],
    ['/inherit', 'bookmark', '[1]', 'without "blocked": invalid'],
    ['/v', 'http://example.com/', '[]', 'an exact name'],
    ['/v', 'https://EXAMPLE.com/x', '[]', 'https, the host in any case'],
    ['/v', 'http://example.com:8080/a', '[]', 'the port is ignored'],
    ['/v', 'http://www.example.com/', '[1]', 'an exact name only'],
    ['/v', 'http://a.star.com/', '[]', '"*.star.com": a subdomain'],
    ['/v', 'http://star.com/', '[1]', '"*.star.com": not the name itself'],
    ['/v', 'http://dot.com/', '[]', '".dot.com": the name itself'],
    ['/v', 'http://b.a.dot.com/', '[]', '".dot.com": a subdomain'],
    ['/v', 'http://www.tail.org/', '[]', '"www.tail.*"'],
    ['/v', 'http://pics.com/galleries/1.jpg', '[]', 'a name with its path'],
    ['/v', 'http://pics.com:81/galleries/', '[]', 'the path after a port'],
    ['/v', 'http://pics.com/other/', '[1]', 'another path: invalid'],
    ['/v', 'http://www.GOOGLE.de/search', '[]', 'a regex, any case'],
    ['/v', 'http://evil.test/', '[1]', 'anything else: invalid'],
    ['/v', 'http://evil.test/?x=example.com', '[1]', 'a name in the query'],
    ['/inherit', 'http://site.test/page', '[]', 'server_names: a plain name'],
    ['/inherit', 'http://a.wild.test/', '[]', 'server_names: a wildcard'],
    # (nginx matches a regex name against all that follows the scheme)
    ['/inherit', 'http://re42.test', '[]', 'server_names: a regex name'],
    ['/inherit', 'http://re42.test/x', '[1]', 'server_names: ... all of it'],
    ['/inherit', 'http://example.com/', '[1]', 'server_names: another name'],
    ['/free', 'http://evil.test/', '[1]', 'a location inherits the server\'s'],
    ['/free', 'http://site.test/', '[]', '... server_names too'],
    ['1/any', 'http://evil.test/', '[]', 'no valid_referers: always valid'],
);
# (the location /v has its own list: the server's "none" is not added)
for my $c (@cases) {
    is(ref_of($c->[0], $c->[1]), $c->[2], $c->[3]);
}

is(http_get($f->port(0), '/guard', Referer => 'http://evil.test/')->{status},
   403, 'if ($invalid_referer): 403');
is(ref_of('/guard', 'http://example.com/'), 'picture', 'a valid Referer passes');
is(ref_of('/guard'), 'picture', 'no Referer passes with "none"');

$f->stop;

server_conf_refused('valid_referers a*b.com;',
                    'invalid hostname or wildcard "a\*b.com" in \S+ferry.conf:8',
                    'a bad wildcard');
server_conf_refused('valid_referers a.com a.com/x;',
                    'conflicting parameter "a.com/x" in \S+ferry.conf:8',
                    'a name given twice');
server_conf_refused('valid_referers ~(a;',
                    'in \S+ferry.conf:8',
                    'a bad regex');
http_conf_refused('valid_referers none;',
                  '"valid_referers" directive is not allowed here in \S+ferry.conf:6',
                  'not in http');

done_testing;
