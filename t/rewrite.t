#!/usr/bin/perl

# The rewrite module: rewrite (its four flags, no flag, captures, the
# new URI's arguments, redirects and their absolute Location), set (in
# return text, add_header, proxy_set_header, log_format, a map's
# source; over a map's value; $args), if (a variable, = and !=, ~ ~*
# !~ !~* with captures, -f -d -e -x and their negations), break,
# return among them in the order written; the server's directives run
# before the location is searched, the location's before allow/deny;
# "last" searches again, the eleventh time is a 500; rewrite_log's
# notice lines and uninitialized_variable_warn; configuration errors
# with file and line.
#
# Every test uses a directive the old binary does not know (rewrite,
# set, if, break), or behaviour it did not have (a server's return
# before a proxied location), so each fails there.

use strict;
use warnings;

use Test::More;
use Ferry::Test;

my $f = Ferry::Test->new(conf => main_conf() . <<'EOF');
worker_processes 1;
events { worker_connections 256; }
http {
    log_format rw '$uri|$args|$who|$who_mapped';
    map $who $who_mapped { server srv-mapped; default other; }
    map $arg_m $mv { default from-map; }

    server {
        listen 127.0.0.1:%%PORT_0%%;
        server_name localhost;
        access_log logs/rw.log rw;
        rewrite_log on;

        set $who server;

        location /last/ {
            rewrite ^/last/(.*)$ /target/$1 last;
            return 200 "not reached";
        }
        location /target/ { return 200 "target:$uri?$args"; }
        location /noflag/ {
            rewrite ^/noflag/(.*)$ /target/$1;
            set $who noflag;
        }
        location /seq/ {
            rewrite ^/seq/(.*)$ /changed/$1;
            return 200 "seq:$uri";
        }
        location /brk/ {
            rewrite ^/brk/(.*)$ /new/$1 break;
            return 200 "not reached";
        }
        location /brkuri/ {
            rewrite ^/brkuri/(.*)$ /full/$1 break;
            proxy_pass http://127.0.0.1:%%PORT_1%%/base/;
        }
        location /break/ {
            set $who before;
            break;
            return 200 "not reached";
        }
        location /redir/ { rewrite ^/redir/(.*)$ /dest/$1 redirect; }
        location /perm/ { rewrite ^/perm/(.*)$ /dest/$1 permanent; }
        location /abs/ { rewrite ^/abs/(.*)$ https://example.com/$1; }
        location /absq/ { rewrite ^/absq/(.*)$ https://example.com/$1?; }
        location /absa/ { rewrite ^/absa/(.*)$ https://example.com/$1?a=b; }
        location /args/ { rewrite ^/args/(.*)$ /target/$1?new=1 last; }
        location /noargs/ { rewrite ^/noargs/(.*)$ /target/$1? last; }
        location /newonly/ { rewrite ^/newonly/(.*)$ /target/$1?only=1? last; }
        location /caps/ { rewrite ^/caps/(\w+)/(\w+)$ /target/$2/$1 last; }
        location /nomatch/ {
            rewrite ^/nomatch/zzz$ /target/ last;
            return 200 "no match:$uri";
        }
        location /loop/ { rewrite ^/loop/(.*)$ /loop/$1 last; }
        location /tosmall/ { rewrite ^ /small/ last; }
        location /small/ { client_max_body_size 10; return 200 "small"; }
        location /n/ {
            rewrite ^/n/x(.*)$ /n/$1 last;
            return 200 "done:$uri";
        }
        location ~ ^/re(\d+)/ {
            rewrite ^/re\d+/(\w+)$ /target/$1 last;
        }
        location /set/ {
            set $a "A-$arg_x";
            set $b "$a-B";
            add_header X-Set $b;
            return 200 "$b";
        }
        location /setargs/ { set $args "z=9"; return 200 "[$args]"; }
        location /pxargs/ {
            set $args "$args&added=1";
            proxy_pass http://127.0.0.1:%%PORT_1%%;
        }
        location /setmap/ { set $mv overridden; return 200 "$mv"; }
        location /getmap/ { return 200 "$mv"; }
        location /pxset/ {
            set $tag "t-$arg_t";
            proxy_set_header X-Tag $tag;
            proxy_pass http://127.0.0.1:%%PORT_1%%;
        }
        location /log/ { set $who logged; return 200 "ok"; }
        location /srvset/ { return 200 "[$who][$who_mapped]"; }
        location /uninit/ { return 200 "[$never_set]"; }
        location /quiet/ {
            uninitialized_variable_warn off;
            return 200 "[$quiet_var]";
        }
        location /unused/ { set $never_set x; set $quiet_var y; }

        location /ifvar/ {
            if ($arg_v) { return 200 "true"; }
            return 200 "false";
        }
        location /ifeq/ {
            if ($arg_e = "") { return 200 "empty"; }
            if ($arg_e = yes) { return 200 "eq"; }
            if ( $arg_e != "no" ) { return 200 "ne"; }
            return 200 "no";
        }
        location /ifre/ {
            if ($http_x_agent ~ ^Bot/(\d+)$) { return 200 "bot $1"; }
            if ($http_x_agent ~* ^curl) { return 200 "curl"; }
            if ($http_x_agent !~* ^mozilla) { return 200 "other"; }
            if ($http_x_agent !~ ^Mozilla) { return 200 "lower mozilla"; }
            return 200 "mozilla";
        }
        location /iff/ {
            if (-f %%PREFIX%%/html/$arg_n) { return 200 "file"; }
            if (-d %%PREFIX%%/html/$arg_n) { return 200 "dir"; }
            return 200 "neither";
        }
        location /ifnot/ {
            if (!-e %%PREFIX%%/html/$arg_n) { return 200 "missing"; }
            if (!-f %%PREFIX%%/html/$arg_n) { return 200 "not a file"; }
            return 200 "a file";
        }
        location /ifnotd/ {
            if (!-d %%PREFIX%%/html/$arg_n) { return 200 "not a dir"; }
            return 200 "a dir";
        }
        location /ifx/ {
            if (-x %%PREFIX%%/html/$arg_n) { return 200 "exec"; }
            if (!-x %%PREFIX%%/html/$arg_n) { return 200 "noexec"; }
        }
        location /ifset/ {
            if ($arg_a) {
                set $who in-if;
                rewrite ^ /target/from-if;
                break;
            }
            return 200 "after if:$who";
        }
        location /ifgo/ {
            if ($arg_a) { set $who in-if; }
            return 200 "after if:$who";
        }
        location /deny-return/ { deny all; return 200 "returned"; }
        location /deny-rewrite/ {
            deny all;
            rewrite ^ /x break;
        }
    }

    server {
        listen 127.0.0.1:%%PORT_2%%;
        server_name localhost;

        if ($host = old.example) {
            rewrite ^ $scheme://new.example$request_uri? permanent;
        }
        if ($arg_deny) { return 403; }
        if ($arg_stop) { break; }
        rewrite ^/old/(.*)$ /new/$1;
        set $lvl srv;

        location /new/ { return 200 "new:$uri:$lvl"; }
        location /old/ { return 200 "old location:$uri"; }
        location /px/ { proxy_pass http://127.0.0.1:%%PORT_1%%; }
        location /lvl/ { set $lvl loc; return 200 "lvl:$lvl"; }
    }
}
EOF
$f->write_file('html/file.txt', "x\n");
$f->write_file('html/dir/inside.txt', "x\n");
my $exe = $f->write_file('html/run.sh', "#!/bin/sh\n");
chmod 0755, $exe;
$f->allow_log(qr/rewrite or internal redirection cycle/);
my $b = Ferry::Test::Backend->new(port => $f->port(1));
$f->start or BAIL_OUT('ferry did not start');
my $port = $f->port(0);
my $port2 = $f->port(2);

sub body {
    my ($path, @h) = @_;
    my $r = http_get($port, $path, @h);
    return "error: $r->{error}" if $r->{error};
    return "status $r->{status}: $r->{body}";
}

sub body2 {
    my $r = http_get($port2, $_[0]);
    return "error: $r->{error}" if $r->{error};
    return "status $r->{status}: $r->{body}";
}

my $page404 = http_get($port, '/nothing-here-at-all')->{body};

# ---- rewrite and its flags ----
is(body('/last/a'), 'status 200: target:/target/a?',
   'rewrite ... last: the location is searched again');
is(body('/last/a?q=1'), 'status 200: target:/target/a?q=1',
   '... the request arguments kept');
is(body('/noflag/b'), 'status 200: target:/target/b?',
   'no flag: the rest runs, then the location is searched again');
is(body('/seq/c'), 'status 200: seq:/changed/c',
   '... a return after it sees the new $uri');
my $r = http_get($port, '/brkuri/d?k=v');
like($r->{body}, qr{^uri /full/d\?k=v$}m,
     'break: stays in the location; proxy_pass sends the new URI whole');
is(body('/brk/e'), "status 404: $page404",
   '... and no more rewrite directives run (no return: 404)');
is(body('/break/'), "status 404: $page404",
   'break alone stops the directives');
is(body('/nomatch/x'), 'status 200: no match:/nomatch/x',
   'a regex that does not match: next directive');
is(body('/caps/one/two'), 'status 200: target:/target/two/one?',
   'captures $1 $2 in the replacement');
is(body('/re7/word'), 'status 200: target:/target/word?',
   'in a regex location, the rewrite\'s own captures');

# ---- arguments ----
is(body('/args/f?old=2'), 'status 200: target:/target/f?new=1&old=2',
   'new arguments, the request\'s appended');
is(body('/args/f'), 'status 200: target:/target/f?new=1',
   '... none to append');
is(body('/noargs/g?old=2'), 'status 200: target:/target/g?',
   'a replacement ending with "?" drops the request\'s arguments');
is(body('/newonly/h?old=2'), 'status 200: target:/target/h?only=1',
   '... and keeps its own');

# ---- redirects ----
$r = http_get($port, '/redir/i?a=1');
is($r->{status}, 302, 'redirect: 302');
is($r->{headers}{location}, "http://localhost:$port/dest/i?a=1",
   '... Location made absolute (absolute_redirect), arguments appended');
$r = http_get($port, '/perm/j');
is($r->{status}, 301, 'permanent: 301');
is($r->{headers}{location}, "http://localhost:$port/dest/j",
   '... its Location');
$r = http_get($port, '/abs/k?a=1');
is("$r->{status} " . ($r->{headers}{location} // ''),
   '302 https://example.com/k?a=1',
   'a replacement starting with https:// is a 302 redirect');
$r = http_get($port, '/absq/k?a=1');
is($r->{headers}{location}, 'https://example.com/k',
   '... "?" at the end: without the arguments');
$r = http_get($port, '/absa/k?c=d');
is($r->{headers}{location}, 'https://example.com/k?a=b&c=d',
   '... with its own arguments, the request\'s after "&"');

# ---- cycles ----
is(body('/n/' . ('x' x 10)), 'status 200: done:/n/',
   'ten searches after "last" are allowed');
$r = http_get($port, '/n/' . ('x' x 11));
is($r->{status}, 500, 'the eleventh is a 500 (nginx)');
$r = http_get($port, '/loop/z');
is($r->{status}, 500, 'a rewrite loop: 500');
ok(wait_until { $f->error_log =~ m{\[error\].*rewrite or internal redirection cycle while processing "/loop/z"} },
   '... logged');

# client_max_body_size of the location a "last" finds (nginx checks it
# at every location search)
$r = http($port, build_request(method => 'POST', path => '/tosmall/',
                               body => 'x' x 100));
is($r->{status}, 413, 'a body too large for the location "last" found: 413');
$r = http($port, build_request(method => 'POST', path => '/tosmall/',
                               body => 'x' x 5));
is($r->{status}, 200, '... one within it passes');

# ---- set ----
$r = http_get($port, '/set/?x=1');
is($r->{body}, 'A-1-B', 'set, a variable made of another');
is($r->{headers}{'x-set'}, 'A-1-B', '... in add_header');
is(body('/setargs/?q=1'), 'status 200: [z=9]', 'set $args');
$r = http_get($port, '/pxargs/x?q=1');
like($r->{body}, qr{^uri /pxargs/x\?q=1&added=1$}m,
     '... what proxy_pass without a URI part sends');
is(body('/setmap/'), 'status 200: overridden', 'set over a map\'s value');
is(body('/getmap/'), 'status 200: from-map', '... the map elsewhere');
$r = http_get($port, '/pxset/?t=5');
like($r->{body}, qr/^header X-Tag: t-5\r?$/m, 'in proxy_set_header');
is(body('/srvset/'), 'status 200: [server][srv-mapped]',
   'the server\'s set, before the location; as a map\'s source');
is(body('/uninit/'), 'status 200: []', 'a variable never set is empty');
ok(wait_until { $f->error_log =~ /\[warn\].*using uninitialized "never_set" variable/ },
   '... with a warning');
is(body('/quiet/'), 'status 200: []', 'uninitialized_variable_warn off');
unlike($f->error_log, qr/uninitialized "quiet_var"/, '... no warning');
http_get($port, '/log/?p=q');
my $log = '';
wait_until { $log = Ferry::Test::read_file($f->prefix . '/logs/rw.log') // '';
             $log =~ m{^/log/}m } 5;
like($log, qr{^/log/\|p=q\|logged\|other$}m, 'set variables in log_format');

# ---- if ----
is(body('/ifvar/?v=1'), 'status 200: true', 'if ($var): non-empty');
is(body('/ifvar/?v=0'), 'status 200: false', '... "0" is false');
is(body('/ifvar/'), 'status 200: false', '... empty is false');
is(body('/ifeq/?e=yes'), 'status 200: eq', 'if ($v = text)');
is(body('/ifeq/?e=x'), 'status 200: ne', 'if ( $v != "text" )');
is(body('/ifeq/?e=no'), 'status 200: no', '... neither');
is(body('/ifeq/'), 'status 200: empty', 'if ($v = "")');
is(body('/ifre/', 'X-Agent' => 'Bot/42'), 'status 200: bot 42',
   'if ~ with a capture in the block');
is(body('/ifre/', 'X-Agent' => 'CURL/8'), 'status 200: curl', '~* ignores case');
is(body('/ifre/', 'X-Agent' => 'wget'), 'status 200: other', '!~*');
is(body('/ifre/', 'X-Agent' => 'mozilla/5'), 'status 200: lower mozilla', '!~');
is(body('/ifre/', 'X-Agent' => 'Mozilla/5'), 'status 200: mozilla', '... none');
is(body('/iff/?n=file.txt'), 'status 200: file', '-f');
is(body('/iff/?n=dir'), 'status 200: dir', '-d');
is(body('/iff/?n=nothing'), 'status 200: neither', '... neither');
is(body('/ifnot/?n=nothing'), 'status 200: missing', '!-e');
is(body('/ifnot/?n=dir'), 'status 200: not a file', '!-f');
is(body('/ifnot/?n=file.txt'), 'status 200: a file', '... -e and -f');
is(body('/ifnotd/?n=file.txt'), 'status 200: not a dir', '!-d');
is(body('/ifnotd/?n=dir'), 'status 200: a dir', '... -d');
is(body('/ifx/?n=run.sh'), 'status 200: exec', '-x');
is(body('/ifx/?n=file.txt'), 'status 200: noexec', '!-x');
is(body('/ifset/?a=1'), "status 404: $page404",
   'set, rewrite, break in an if block: break stops all');
is(body('/ifgo/?a=1'), 'status 200: after if:in-if',
   'after an if block, the directives that follow run');
is(body('/ifgo/'), 'status 200: after if:server', '... a false one skipped');

# ---- order with allow/deny ----
is(body('/deny-return/'), 'status 200: returned',
   'return runs before deny (rewrite phase first)');
$r = http_get($port, '/deny-rewrite/');
is($r->{status}, 403, '... and deny after a rewrite');

# ---- the server's directives ----
is(body2('/old/x'), 'status 200: new:/new/x:srv',
   'a server\'s rewrite runs before the location is searched');
is(body2('/old/x?stop=1'), 'status 200: old location:/old/x',
   '... a server\'s break stops them');
$r = http_get($port2, '/px/y?deny=1');
is($r->{status}, 403, 'a server\'s return answers before a proxied location');
$r = http_get($port2, '/old/x?a=1', Host => 'old.example');
is("$r->{status} " . ($r->{headers}{location} // ''),
   '301 http://new.example/old/x?a=1',
   'the usual host move: if, $scheme, $request_uri and "?"');
is(body2('/lvl/'), 'status 200: lvl:loc',
   'a location\'s set after the server\'s');

# ---- rewrite_log ----
my $el = $f->error_log;
like($el, qr{\[notice\].*"\^/last/\(\.\*\)\$" matches "/last/a"},
     'rewrite_log: a match');
like($el, qr{\[notice\].*"\^/nomatch/zzz\$" does not match "/nomatch/x"},
     '... no match');
like($el, qr{\[notice\].*rewritten data: "/target/a", args: ""},
     '... the new URI');
like($el, qr{\[notice\].*rewritten redirect: "/dest/i\?a=1"},
     '... a redirect');
unlike($el, qr{"\^/old/\(\.\*\)\$" (?:does not )?match},
       '... nothing where it is off');

$f->stop;

# ---- configuration errors ----
server_conf_refused('rewrite ^/(unclosed /x;',
                    'invalid regex "\^/\(unclosed".* in \S+ferry.conf:8',
                    'rewrite with a bad regex');
server_conf_refused('rewrite ^/a /b sideways;',
                    'invalid parameter "sideways" in \S+ferry.conf:8',
                    'rewrite with a bad flag');
server_conf_refused('rewrite ^/a;',
                    'invalid number of arguments in "rewrite" directive in \S+ferry.conf:8',
                    'rewrite with one argument');
server_conf_refused('if $arg_a { return 200; }',
                    'invalid condition "\$arg_a" in \S+ferry.conf:8',
                    'if without parentheses');
server_conf_refused('if ($arg_a == b) { return 200; }',
                    'unexpected "==" in condition in \S+ferry.conf:8',
                    'if with an unknown operator');
server_conf_refused('if (-q /x) { return 200; }',
                    'invalid condition "-q" in \S+ferry.conf:8',
                    'if with an unknown file test');
server_conf_refused('if ($arg_a ~ "(x") { return 200; }',
                    'invalid regex "\(x".* in \S+ferry.conf:8',
                    'if with a bad regex');
server_conf_refused('if ($arg_a) return 200;',
                    'directive "if" has no opening "\{" in \S+ferry.conf:8',
                    'if without a block');
server_conf_refused("location / {\n            if (\$arg_a) {\n"
                    . "                proxy_set_header X y;\n            }\n        }",
                    '"proxy_set_header" directive is not allowed here in \S+ferry.conf:10',
                    'a directive nginx does not take inside if (t/if_location.t has more)');
server_conf_refused("if (\$arg_a) {\n            if (\$arg_b) { return 200; }\n        }",
                    '"if" directive is not allowed here in \S+ferry.conf:9',
                    'if inside if');
server_conf_refused('set x 1;', 'invalid variable name "x" in \S+ferry.conf:8',
                    'set without $');
server_conf_refused('set $uri 1;', 'the duplicate "uri" variable in \S+ferry.conf:8',
                    'set of a built-in variable');
server_conf_refused('set $a $nosuch;', 'unknown "nosuch" variable in \S+ferry.conf:8',
                    'set with an unknown variable');
server_conf_refused('rewrite_log maybe;', 'maybe.* in \S+ferry.conf:8',
                    'rewrite_log maybe');
http_conf_refused('rewrite ^ /x;', '"rewrite" directive is not allowed here in \S+ferry.conf:6',
                  'rewrite in http');
server_conf_refused('return 302;', 'redirect code 302 needs a URL in \S+ferry.conf:8',
                    'return 302 without a URL');

done_testing();
