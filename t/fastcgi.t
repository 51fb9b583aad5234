#!/usr/bin/perl

# fastcgi_pass against the real php-fpm (Debian's php8.2-fpm): a PHP
# site configured as nginx's Debian default site configures it (the
# snippets/fastcgi-php.conf shape, include fastcgi.conf and
# fastcgi_params from the conf directory) works unchanged.  What PHP
# sees (SCRIPT_NAME, SCRIPT_FILENAME, PATH_INFO, QUERY_STRING,
# REQUEST_METHOD, HTTP_*, the body: a form, a big one, a chunked one),
# what the client gets (Status, Location, headers, keep-alive,
# try_files' 404, fastcgi_intercept_errors with error_page, 502 with
# php-fpm down, 504 after fastcgi_read_timeout), an upstream group of
# two php-fpm pools (TCP and unix socket), fastcgi_keep_conn with the
# upstream keepalive cache, fastcgi_param inheritance and if_not_empty,
# PHP's error_log() in ferry's error log, and config errors with file
# and line.  The test runs its own php-fpm master (its own config, in
# the test's directory) and stops it.

use strict;
use warnings;

use Test::More;
use Ferry::Test;
use Ferry::PHPFPM;
use Digest::MD5 qw(md5_hex);
use POSIX ();
use IO::Socket::INET;
use IO::Select;

plan skip_all => 'php-fpm not installed (sh auto/deps --test installs '
               . 'php8.2-fpm)' unless $Ferry::PHPFPM::FPM;

my $CONF = <<'EOF';
events { worker_connections 64; }
http {
    access_log off;
    upstream php_pair {
        server 127.0.0.1:%%PORT_1%%;
        server unix:%%PREFIX%%/php-b.sock;
    }
    upstream php_fail {
        server 127.0.0.1:%%PORT_2%%;
        server 127.0.0.1:%%PORT_1%%;
    }
    upstream counted {
        server 127.0.0.1:%%PORT_5%%;
        keepalive 2;
    }
    upstream php_kept {
        server 127.0.0.1:%%PORT_1%%;
        keepalive 4;
    }
    server {
        listen 127.0.0.1:%%PORT_0%%;
        root %%PREFIX%%/html;
        index index.php;
        # inherited by a location without fastcgi_param lines of its own
        fastcgi_param SCRIPT_FILENAME $document_root/info.php;
        fastcgi_param REQUEST_METHOD $request_method;
        fastcgi_param FROM_SERVER yes;

        # Debian's default site (with nginx's wiki's regex, which lets
        # a path info through)
        location ~ [^/]\.php(/|$) {
            include snippets/fastcgi-php.conf;
            fastcgi_pass 127.0.0.1:%%PORT_1%%;
        }
        location ^~ /unix/ {
            rewrite ^/unix(/.*)$ $1 break;
            include snippets/fastcgi-php.conf;
            fastcgi_pass unix:%%PREFIX%%/php-b.sock;
        }
        location ^~ /pair/ {
            rewrite ^/pair(/.*)$ $1 break;
            include snippets/fastcgi-php.conf;
            fastcgi_pass php_pair;
        }
        location ^~ /kept/ {
            rewrite ^/kept(/.*)$ $1 break;
            include snippets/fastcgi-php.conf;
            fastcgi_keep_conn on;
            fastcgi_pass php_kept;
        }
        location ^~ /fail/ {
            rewrite ^/fail(/.*)$ $1 break;
            include snippets/fastcgi-php.conf;
            fastcgi_pass php_fail;
        }
        location ^~ /hdr/ {
            rewrite ^/hdr(/.*)$ $1 break;
            include snippets/fastcgi-php.conf;
            fastcgi_hide_header X-Php;
            fastcgi_pass_header X-Accel-Custom;
            fastcgi_ignore_headers X-Accel-Redirect;
            fastcgi_buffering off;
            fastcgi_buffer_size 4k;
            fastcgi_buffers 4 8k;
            fastcgi_pass 127.0.0.1:%%PORT_1%%;
        }
        location = /inherit {
            fastcgi_pass 127.0.0.1:%%PORT_1%%;
        }
        location = /params {
            include fastcgi_params;
            fastcgi_param SCRIPT_FILENAME $document_root/info.php;
            fastcgi_param EMPTY_SKIPPED $arg_nope if_not_empty;
            fastcgi_param EMPTY_KEPT $arg_nope;
            fastcgi_param NOT_SKIPPED $arg_x if_not_empty;
            fastcgi_pass 127.0.0.1:%%PORT_1%%;
        }
        location ^~ /icpt/ {
            rewrite ^/icpt(/.*)$ $1 break;
            include snippets/fastcgi-php.conf;
            fastcgi_intercept_errors on;
            error_page 404 /custom404.html;
            fastcgi_pass 127.0.0.1:%%PORT_1%%;
        }
        location = /custom404.html { }
        location ^~ /down/ {
            rewrite ^/down(/.*)$ $1 break;
            include snippets/fastcgi-php.conf;
            fastcgi_pass 127.0.0.1:%%PORT_2%%;
        }
        location = /garbled {
            fastcgi_pass 127.0.0.1:%%PORT_3%%;
        }
        location = /early {
            fastcgi_pass 127.0.0.1:%%PORT_4%%;
        }
        location = /counted {
            fastcgi_param REQUEST_METHOD $request_method;
            fastcgi_keep_conn on;
            fastcgi_pass counted;
        }
        location = /counted-close {
            fastcgi_param REQUEST_METHOD $request_method;
            fastcgi_pass counted;
        }
        location ^~ /slow/ {
            rewrite ^/slow(/.*)$ $1 break;
            include snippets/fastcgi-php.conf;
            fastcgi_read_timeout 1s;
            fastcgi_pass 127.0.0.1:%%PORT_1%%;
        }
    }
}
EOF

my $f = Ferry::Test->new(conf => main_conf() . $CONF);
my $P = $f->prefix;

# the files nginx ships, from this tree's conf/, where an install puts them
for my $name ('fastcgi.conf', 'fastcgi_params') {
    my $text = Ferry::Test::read_file("$Ferry::Test::ROOT/conf/$name");
    $f->write_file("conf/$name", $text);
}
# Debian's snippets/fastcgi-php.conf, in its shape
$f->write_file('conf/snippets/fastcgi-php.conf', <<'EOF');
# regex to split $uri to $fastcgi_script_name and $fastcgi_path
fastcgi_split_path_info ^(.+?\.php)(/.*)$;

# Check that the PHP script exists before passing it
try_files $fastcgi_script_name =404;

# Bypass the fact that try_files resets $fastcgi_path_info
# see: http://trac.nginx.org/nginx/ticket/321
set $path_info $fastcgi_path_info;
fastcgi_param PATH_INFO $path_info;

fastcgi_index index.php;
include fastcgi.conf;
EOF

$f->write_file('html/info.php', <<'EOF');
<?php
header('X-Php: yes');
foreach (['SCRIPT_NAME', 'SCRIPT_FILENAME', 'PATH_INFO', 'QUERY_STRING',
          'REQUEST_METHOD', 'REQUEST_URI', 'HTTP_X_FOO', 'HTTP_HOST',
          'CONTENT_LENGTH', 'CONTENT_TYPE', 'GATEWAY_INTERFACE',
          'FROM_SERVER', 'EMPTY_SKIPPED', 'EMPTY_KEPT', 'NOT_SKIPPED',
          'POOL'] as $k) {
    echo $k, '=', array_key_exists($k, $_SERVER) ? $_SERVER[$k] : '(unset)',
         "\n";
}
$in = file_get_contents('php://input');
echo 'BODY=', strlen($in), ' ', md5($in), "\n";
foreach ($_POST as $k => $v) {
    echo "POST[$k]=$v\n";
}
EOF
$f->write_file('html/index.php', "<?php echo \"index here\\n\";\n");
$f->write_file('html/status.php', <<'EOF');
<?php
header('Status: 404 Gone Fishing');
echo "not here\n";
EOF
$f->write_file('html/moved.php', <<'EOF');
<?php
header('Location: /elsewhere?a=1');
EOF
$f->write_file('html/stderr.php', <<'EOF');
<?php
error_log('hello from php via stderr');
echo "logged\n";
EOF
$f->write_file('html/server.php', <<'EOF');
<?php
header('Server: php-app');
echo "own server\n";
EOF
$f->write_file('html/accel.php', <<'EOF');
<?php
header('X-Php: yes');
header('X-Accel-Custom: shown');
header('X-Accel-Redirect: /custom404.html');
echo "the script's own body\n";
EOF
$f->write_file('html/big.php', <<'EOF');
<?php
for ($i = 0; $i < 30000; $i++) {
    printf("line %05d of a big response\n", $i);
}
EOF
$f->write_file('html/slow.php', <<'EOF');
<?php
sleep(3);
echo "slept\n";
EOF
$f->write_file('html/custom404.html', "custom not found page\n");

# Fake FastCGI servers: one answers in HTTP (not FastCGI at all), one
# sends the start of a STDOUT record's header and closes before
# END_REQUEST.
my @fakes;
sub fake_server {
    my ($port, $answer) = @_;
    my $ls = IO::Socket::INET->new(LocalAddr => '127.0.0.1',
                                   LocalPort => $port, Listen => 8,
                                   ReuseAddr => 1) or die "listen: $!";
    my $pid = fork // die "fork: $!";
    if ($pid == 0) {
        while (my $c = $ls->accept) {
            my $buf;
            sysread $c, $buf, 65536;
            syswrite $c, $answer;
            close $c;
        }
        POSIX::_exit(0);
    }
    close $ls;
    push @fakes, $pid;
}
fake_server($f->port(3), "HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nhi");
my $part = "Content-Type: text/plain\r\n";
fake_server($f->port(4), pack('CCnnCC', 1, 6, 1, length $part, 0, 0) . $part);

# A FastCGI responder of our own, which numbers its connections and the
# requests on each, keeps a connection only when BEGIN_REQUEST asks
# for it (FCGI_KEEP_CONN), pads its records and sends its answer in
# small pieces: what fastcgi_keep_conn and the keepalive cache do is
# seen in its answers.
sub fcgi_record {
    my ($type, $content, $pad) = @_;
    return pack('CCnnCC', 1, $type, 1, length $content, $pad, 0)
           . $content . ("\0" x $pad);
}
{
    my $ls = IO::Socket::INET->new(LocalAddr => '127.0.0.1',
                                   LocalPort => $f->port(5), Listen => 8,
                                   ReuseAddr => 1) or die "listen: $!";
    my $pid = fork // die "fork: $!";
    if ($pid == 0) {
        my $sel = IO::Select->new($ls);
        my (%in, %conn_no, %reqs);
        my $conns = 0;
        while (1) {
            for my $s ($sel->can_read) {
                if ($s == $ls) {
                    my $c = $ls->accept or next;
                    $sel->add($c);
                    $in{$c} = '';
                    $conn_no{$c} = ++$conns;
                    $reqs{$c} = 0;
                    next;
                }
                my $n = sysread $s, my $buf, 65536;
                if (!$n) {
                    $sel->remove($s);
                    close $s;
                    next;
                }
                $in{$s} .= $buf;
                # a request is complete at its empty STDIN record
                my ($keep, $done, $pos) = (0, 0, 0);
                while (length($in{$s}) - $pos >= 8) {
                    my ($v, $type, $id, $len, $pad) =
                        unpack 'CCnnC', substr($in{$s}, $pos, 7);
                    last if length($in{$s}) - $pos < 8 + $len + $pad;
                    $keep = ord(substr($in{$s}, $pos + 10, 1)) & 1
                        if $type == 1;
                    $pos += 8 + $len + $pad;
                    if ($type == 5 && $len == 0) {
                        $done = 1;
                        last;
                    }
                }
                next unless $done;
                substr($in{$s}, 0, $pos) = '';
                $reqs{$s}++;
                my $out = fcgi_record(6, "Content-Type: text/plain\r\n", 3)
                        . fcgi_record(7, "counted stderr", 2)
                        . fcgi_record(6, "\r\nconn=$conn_no{$s} "
                                         . "req=$reqs{$s} keep=$keep\n", 5)
                        . fcgi_record(6, '', 0)
                        . fcgi_record(3, "\0\0\0\0\0\0\0\0", 0);
                # in pieces of 5 bytes: records split anywhere
                while (length $out) {
                    syswrite $s, substr($out, 0, 5, '');
                }
                if (!$keep) {
                    $sel->remove($s);
                    close $s;
                }
            }
        }
    }
    close $ls;
    push @fakes, $pid;
}

# php-fpm: one master, pool "a" on a TCP port, pool "b" on a unix
# socket
my $fpm = Ferry::PHPFPM->new(dir => $P, pools => [
    { name => 'a', listen => '127.0.0.1:' . $f->port(1), children => 3 },
    { name => 'b', listen => "$P/php-b.sock", children => 2 } ]);
END {
    local $?;
    for (@fakes) {
        kill 'KILL', $_;
        waitpid $_, 0;
    }
}
ok($fpm->wait_up, 'php-fpm is up (TCP pool and unix-socket pool)');

$f->allow_log(qr/FastCGI sent in stderr: "PHP message: hello from php/,
              qr/FastCGI sent in stderr: "counted stderr"/,
              qr/connect\(\) failed .* while connecting to upstream/,
              qr/upstream timed out/,
              qr/no live upstreams/,
              qr/upstream sent invalid FastCGI record/,
              qr/upstream prematurely closed connection/);
$f->start;
my $port = $f->port(0);

sub vars {
    my ($body) = @_;
    my %v;
    for (split /\n/, $body // '') {
        $v{$1} = $2 if /^([A-Z_\[\]a-z]+)=(.*)$/;
    }
    return \%v;
}

# a script with path info and a query, through the Debian snippet
my $r = http_get($port, '/info.php/some/path?x=1&y=two', 'X-Foo' => 'bar');
is($r->{status}, 200, 'PHP script: 200');
is($r->{headers}{'x-php'}, 'yes', "the script's own header reaches the client");
like($r->{headers}{'content-type'} // '', qr{^text/html}, 'with its Content-Type');
my $v = vars($r->{body});
is($v->{SCRIPT_NAME}, '/info.php', 'SCRIPT_NAME: the split\'s first group');
is($v->{SCRIPT_FILENAME}, "$P/html/info.php",
   'SCRIPT_FILENAME: $document_root$fastcgi_script_name (fastcgi.conf)');
is($v->{PATH_INFO}, '/some/path', 'PATH_INFO: the split\'s second group');
is($v->{QUERY_STRING}, 'x=1&y=two', 'QUERY_STRING');
is($v->{REQUEST_METHOD}, 'GET', 'REQUEST_METHOD');
is($v->{REQUEST_URI}, '/info.php/some/path?x=1&y=two', 'REQUEST_URI');
is($v->{HTTP_X_FOO}, 'bar', 'request headers as HTTP_*');
is($v->{HTTP_HOST}, 'localhost', 'HTTP_HOST');
is($v->{GATEWAY_INTERFACE}, 'CGI/1.1', 'the rest of fastcgi_params');
is($v->{FROM_SERVER}, '(unset)',
   'a level with its own fastcgi_param lines does not inherit the server\'s');
is($v->{POOL}, 'a', 'host:port reaches the TCP pool');

# fastcgi_index for a directory
$r = http_get($port, '/index.php');
is($r->{body}, "index here\n", 'index.php runs');
# "index index.php": "/" is redirected inside to /index.php, which the
# PHP location runs (nginx's index module); the file's source never
# goes out as a static file
$r = http_get($port, '/?a=1');
is($r->{status}, 200, 'index index.php: / is 200');
is($r->{body}, "index here\n", '... answered by PHP, not the source');

# unix socket
$r = http_get($port, '/unix/info.php');
is(vars($r->{body})->{POOL}, 'b', 'fastcgi_pass unix:path reaches that pool');

# inheritance and if_not_empty
$r = http_get($port, '/inherit');
$v = vars($r->{body});
is($r->{status}, 200, 'a location without fastcgi_param lines...');
is($v->{FROM_SERVER}, 'yes', '... has the server\'s') or diag($r->{raw});
$r = http_get($port, '/params?x=1');
$v = vars($r->{body});
is($v->{EMPTY_SKIPPED}, '(unset)', 'if_not_empty: an empty value is not sent');
is($v->{EMPTY_KEPT}, '', 'without it, an empty value is');
is($v->{NOT_SKIPPED}, '1', 'if_not_empty: a value is');
is($v->{FROM_SERVER}, '(unset)', 'include fastcgi_params replaced the inherited ones');

# Status, Location
$r = http_get($port, '/status.php');
is($r->{status}, 404, 'Status: 404 gives the status');
is($r->{reason}, 'Gone Fishing', '... and its reason phrase');
is($r->{body}, "not here\n", '... and the body');
ok(!exists $r->{headers}{status}, 'the Status field is not passed on');
$r = http_get($port, '/moved.php');
is($r->{status}, 302, 'Location without Status: 302');
is($r->{headers}{location}, '/elsewhere?a=1', '... Location passed as it is');

$r = http_get($port, '/server.php');
is($r->{headers}{server}, 'php-app',
   'the application\'s Server field replaces ferry\'s (as nginx)');

# X-Accel-*, hide/pass/ignore headers, buffers
$r = http_get($port, '/accel.php');
is($r->{body}, "custom not found page\n",
   'X-Accel-Redirect from the application: the URI it names answers');
ok(!exists $r->{headers}{'x-accel-custom'}, 'X-Accel-* is hidden by default');
$r = http_get($port, '/hdr/accel.php');
is($r->{body}, "the script's own body\n",
   'fastcgi_ignore_headers X-Accel-Redirect: the script answers');
ok(!exists $r->{headers}{'x-php'}, 'fastcgi_hide_header hides a field');
is($r->{headers}{'x-accel-custom'}, 'shown',
   'fastcgi_pass_header lets a hidden one through');
my $want = join '', map { sprintf "line %05d of a big response\n", $_ } 0 .. 29999;
for my $loc ('', '/hdr') {
    $r = http_get($port, "$loc/big.php");
    is(length($r->{body} // ''), length $want,
       "a big response ($loc/big.php): every byte");
    ok(($r->{body} // '') eq $want, '... in order');
}

# try_files $fastcgi_script_name =404
$r = http_get($port, '/missing.php');
is($r->{status}, 404, 'a missing script: try_files answers 404');

# bodies
my $req = build_request(method => 'POST', path => '/info.php',
    headers => ['Content-Type' => 'application/x-www-form-urlencoded',
                Connection => 'close'],
    body => 'name=ferry&kind=proxy');
$r = http($port, $req);
$v = vars($r->{body});
is($v->{REQUEST_METHOD}, 'POST', 'POST');
is($v->{'POST[name]'}, 'ferry', 'a form body reaches $_POST');
is($v->{'POST[kind]'}, 'proxy', '... all of it');
is($v->{CONTENT_TYPE}, 'application/x-www-form-urlencoded', 'CONTENT_TYPE');

my $big = join '', map { chr(($_ * 7 + 3) % 256) } 1 .. 200_000;
$req = build_request(method => 'POST', path => '/info.php',
    headers => [Connection => 'close'], body => $big);
$r = http($port, $req, timeout => 20);
$v = vars($r->{body});
is($v->{CONTENT_LENGTH}, 200000, 'a 200000-byte body: CONTENT_LENGTH');
is($v->{BODY}, '200000 ' . md5_hex($big),
   '... and PHP reads every byte of it (several STDIN records)');

my $chunked = "5\r\nhello\r\n7\r\n chunks\r\n0\r\n\r\n";
$req = build_request(method => 'POST', path => '/info.php',
    headers => ['Transfer-Encoding' => 'chunked', Connection => 'close'],
    body => $chunked);
$r = http($port, $req);
$v = vars($r->{body});
is($v->{CONTENT_LENGTH}, 12, 'a chunked body: CONTENT_LENGTH is its length');
is($v->{BODY}, '12 ' . md5_hex('hello chunks'), '... and PHP gets it decoded');

# keep-alive: several requests on one client connection
my ($res, $closed) = http_keepalive($port, [
    build_request(path => '/info.php?n=1'),
    build_request(path => '/status.php'),
    build_request(method => 'POST', path => '/info.php?n=3', body => 'abc'),
    build_request(path => '/info.php?n=4'),
    build_request(method => 'HEAD', path => '/info.php?n=5'),
    build_request(path => '/index.php'),
]);
is(scalar @$res, 6, 'keep-alive: six responses on one connection');
is(join(',', map { $_->{status} // 'none' } @$res), '200,404,200,200,200,200',
   '... each with its status');
is($res->[4]{body}, '', '... HEAD: no body');
is($res->[5]{body}, "index here\n", '... and the request after it is whole');
is(vars($res->[2]{body})->{BODY}, '3 ' . md5_hex('abc'), '... and body');
is(vars($res->[3]{body})->{QUERY_STRING}, 'n=4', '... the last one too');
ok(!$closed, '... and the connection stays open');

# fastcgi_keep_conn with the upstream keepalive cache
($res, $closed) = http_keepalive($port, [
    map { build_request(path => "/kept/info.php?k=$_") } 1 .. 5
]);
is(join(',', map { vars($_->{body})->{QUERY_STRING} // 'none' } @$res),
   'k=1,k=2,k=3,k=4,k=5', 'fastcgi_keep_conn: five requests, five answers');

# fastcgi_keep_conn: one connection carries the requests
($res, $closed) = http_keepalive($port, [
    map { build_request(path => '/counted') } 1 .. 3
]);
is(join(',', map { $_->{body} // 'none' } @$res),
   "conn=1 req=1 keep=1\n,conn=1 req=2 keep=1\n,conn=1 req=3 keep=1\n",
   'fastcgi_keep_conn on with keepalive: FCGI_KEEP_CONN, one connection '
   . 'for three requests (records padded and split in 5-byte pieces)');
$r = http_get($port, '/counted-close');
like($r->{body} // '', qr/^conn=1 req=4 keep=0$/,
     'fastcgi_keep_conn off: the kept connection (as nginx), not asked to '
     . 'stay open');
$r = http_get($port, '/counted');
like($r->{body} // '', qr/^conn=2 req=1 keep=1$/,
     '... it was not cached again: the next request opens another');

# an upstream group: both pools answer
my %pools;
for (1 .. 6) {
    $r = http_get($port, '/pair/info.php');
    $pools{ vars($r->{body})->{POOL} // 'none' }++;
}
is(join(',', sort keys %pools), 'a,b',
   'an upstream group of a TCP and a unix-socket php-fpm: both answer');

# fastcgi_next_upstream: the first server is down, the second answers
my @ok = map { http_get($port, '/fail/info.php')->{status} } 1 .. 4;
is(join(',', @ok), '200,200,200,200',
   'a server down in the group: every request goes on to the other');

# stderr
$r = http_get($port, '/stderr.php');
is($r->{body}, "logged\n", 'a script that writes to stderr answers');
ok((wait_until { $f->error_log =~ /\[error\] .*FastCGI sent in stderr: "PHP message: hello from php via stderr", client: 127\.0\.0\.1, request: "GET \/stderr\.php HTTP\/1\.1", upstream: "fastcgi:\/\/127\.0\.0\.1:\d+"$/m } 5),
   'its error_log() line is in the error log at error level');

# intercept_errors
$r = http_get($port, '/icpt/status.php');
is($r->{status}, 404, 'fastcgi_intercept_errors: the status stays');
is($r->{body}, "custom not found page\n", '... error_page answers');

# php-fpm down, slow
$r = http_get($port, '/down/info.php');
is($r->{status}, 502, 'nothing listening: 502');
$r = http_get($port, '/garbled');
is($r->{status}, 502, 'an answer that is not FastCGI: 502');
ok((wait_until { $f->error_log =~ /\[error\] .*upstream sent invalid FastCGI record/ } 5),
   '... logged');
$r = http_get($port, '/early');
is($r->{status}, 502, 'a server that closes before END_REQUEST: 502');
$r = http_get($port, '/slow/slow.php', timeout => 10);
is($r->{status}, 504, 'slower than fastcgi_read_timeout: 504');

$f->stop;

# config errors
http_conf_refused("server {\n        location ~ \\.php\$ {\n"
                  . "            fastcgi_split_path_info ^(.+\\.php(/.*)\$;\n"
                  . "        }\n    }",
                  qr/invalid regex .* in .*ferry\.conf:8/,
                  'a fastcgi_split_path_info that does not compile');
http_conf_refused("server {\n        location ~ \\.php\$ {\n"
                  . "            fastcgi_split_path_info ^(.+\\.php)\$;\n"
                  . "        }\n    }",
                  qr/must have 2 captures in .*ferry\.conf:8/,
                  'a fastcgi_split_path_info without two groups');
http_conf_refused("server {\n        location / {\n"
                  . "            fastcgi_pass;\n        }\n    }",
                  qr/invalid number of arguments in "fastcgi_pass".*ferry\.conf:8/,
                  'fastcgi_pass without an address');
http_conf_refused("server {\n        location / {\n"
                  . "            fastcgi_pass unix:;\n        }\n    }",
                  qr/no host in "unix:" in .*ferry\.conf:8/,
                  'fastcgi_pass unix: without a path');
http_conf_refused("server {\n        location / {\n"
                  . "            fastcgi_pass phpfpm;\n        }\n    }",
                  qr/no port in upstream "phpfpm" in .*ferry\.conf:8/,
                  'fastcgi_pass of a name that is no upstream block, no port');
http_conf_refused("server {\n        location / {\n"
                  . "            fastcgi_param A b c;\n        }\n    }",
                  qr/invalid parameter "c" in .*ferry\.conf:8/,
                  'fastcgi_param with a third word other than if_not_empty');

done_testing;
