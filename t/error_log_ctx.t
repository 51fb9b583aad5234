#!/usr/bin/perl

# error_log in http, server and location: a request's messages go to the
# innermost level's logs (all of them, each with its own level), those
# of a server without one to the http-level log, those written before
# the server is known to the default server's; SIGUSR1 reopens the
# files; a failed reload keeps them; configuration errors.

use strict;
use warnings;

use Test::More;
use Ferry::Test;

# a port bound but not listening: connections to it are refused, and
# nothing else can take it while the test runs
use IO::Socket::INET;
my $hold = IO::Socket::INET->new(LocalAddr => '127.0.0.1', LocalPort => 0,
                                 Proto => 'tcp') or die "bind: $!";
my $dead = $hold->sockport;
my $f = Ferry::Test->new(conf => main_conf() . <<"EOF");
worker_processes 1;
events { worker_connections 256; }
http {
    access_log off;
    error_log logs/http.log;
    server {
        listen 127.0.0.1:%%PORT_0%% default_server;
        server_name a.test;
        error_log logs/a.log info;
        error_log logs/a2.log warn;
        root %%PREFIX%%/html;
        location /deny { deny all; }
        location /up { proxy_pass http://127.0.0.1:$dead; }
        location /loc {
            error_log logs/loc.log;
            error_log logs/crit.log crit;
            deny all;
        }
    }
    server {
        listen 127.0.0.1:%%PORT_0%%;
        server_name b.test;
        location / { deny all; }
    }
    server {
        # deferred: the request is there when the worker gets the
        # connection, so it is read before the first event handler
        listen 127.0.0.1:%%PORT_1%% deferred;
        error_log logs/d.log info;
        location / { return 200; }
    }
}
EOF
$f->write_file('html/index.html', "x\n");

$f->start or do { done_testing; exit };
my $port = $f->port(0);

sub log_of {
    my ($name) = @_;
    return Ferry::Test::read_file($f->prefix . "/logs/$name") // '';
}

sub get {
    my ($path, $host) = @_;
    return http_get($port, $path, Host => $host // 'a.test');
}

# server level: two logs, both get an [error] line
is(get('/deny/x')->{status}, 403, 'denied');
ok(wait_until(sub { log_of('a.log') =~ m{access forbidden by rule.*GET /deny/x} }, 5),
   'server error_log gets the "access forbidden" line');
like(log_of('a2.log'), qr{\[error\] .*access forbidden by rule.*GET /deny/x},
     'and so does its second error_log');
unlike($f->error_log, qr{/deny/x}, 'not the main error log');
unlike(log_of('http.log'), qr{/deny/x}, 'nor the http-level one');

# a missing file: "open() failed" in the server's log
is(get('/nosuch.html')->{status}, 404, 'missing file 404');
ok(wait_until(sub { log_of('a.log') =~ m{open\(\) of ".*nosuch\.html".*failed} }, 5),
   'open() failed goes to the server log');

# an upstream error
is(get('/up')->{status}, 502, 'dead upstream 502');
ok(wait_until(sub { log_of('a.log') =~ m{connect\(\) failed .*upstream} }, 5),
   'upstream connect() failure goes to the server log');
like(log_of('a2.log'), qr{connect\(\) failed}, '... and its second log');
unlike($f->error_log, qr{connect\(\) failed}, '... not the main one');

# location level replaces the server's; levels per file
is(get('/loc/y')->{status}, 403, 'location denied');
ok(wait_until(sub { log_of('loc.log') =~ m{access forbidden.*GET /loc/y} }, 5),
   'location error_log gets its line');
unlike(log_of('a.log'), qr{/loc/y}, 'not the server log');
is(log_of('crit.log'), '', 'an [error] line is above a "crit" log\'s level');

# a server without error_log: the http-level one
is(get('/z', 'b.test')->{status}, 403, 'other server denied');
ok(wait_until(sub { log_of('http.log') =~ m{access forbidden.*GET /z} }, 5),
   'a server without error_log logs to the http-level one');
unlike(log_of('a.log'), qr{GET /z}, 'not the default server\'s');

# before the server is known: the default server's (info level there)
my $r = http_get($port, '/', Host => 'b.test', 'X-Long' => 'v' x 20000);
ok($r->{status} >= 400, 'too long header refused');
ok(wait_until(sub { log_of('a.log') =~ m{\[info\] .*client sent too long header line} }, 5),
   'a header error is logged to the default server\'s log');
unlike(log_of('http.log'), qr{client sent too}, 'not the http-level one');

# ... also when the request is read as the worker takes the connection
for my $i (1 .. 3) {
    my $c = Ferry::Test::Client->new($f->port(1));
    $c->send("TRACE /t$i HTTP/1.1\r\nHost: x\r\n\r\n");
    $c->read_response;
}
ok(wait_until(sub { (() = log_of('d.log') =~ /client sent TRACE method/g) == 3 }, 5),
   'a request read at once: its header error in the default server\'s log');
unlike($f->error_log, qr/client sent TRACE/, '... not the main one');

# SIGUSR1 reopens them
rename $f->prefix . '/logs/a.log', $f->prefix . '/logs/a.log.1';
rename $f->prefix . '/logs/loc.log', $f->prefix . '/logs/loc.log.1';
kill 'USR1', $f->master_pid;
ok(wait_until(sub { get('/deny/after'); log_of('a.log') =~ m{/deny/after} }, 5),
   'after SIGUSR1 the server log is a new file');
ok(wait_until(sub { get('/loc/after'); log_of('loc.log') =~ m{/loc/after} }, 5),
   'and so is the location log');

# a failed reload keeps the files
$f->allow_log(qr/\[emerg\] .*invalid log level/, qr/\[alert\] .*reload failed/);
my $good = Ferry::Test::read_file($f->conf_file);
(my $bad = $good) =~ s/error_log logs\/loc\.log;/error_log logs\/loc.log nosuch;/;
$f->write_file('conf/ferry.conf', $bad);
kill 'HUP', $f->master_pid;
ok(wait_until(sub { $f->error_log =~ /reload failed/ }, 5), 'bad reload fails');
get('/loc/kept');
ok(wait_until(sub { log_of('loc.log') =~ m{/loc/kept} }, 5),
   'after a failed reload the location log still works');

$f->stop;

# several error_log in main: each gets what its level lets through
{
    my $m = Ferry::Test->new(conf => <<'EOF2');
daemon off;
error_log logs/error.log;
error_log logs/main2.log notice;
pid logs/ferry.pid;
events { }
http {
    access_log off;
    server { listen 127.0.0.1:%%PORT_0%%; location / { deny all; } }
}
EOF2
    my $mlog = sub { Ferry::Test::read_file($m->prefix . "/logs/$_[0]") // '' };
    if ($m->start) {
        is(http_get($m->port(0), '/m1')->{status}, 403, 'main logs: denied');
        ok(wait_until(sub { $mlog->('main2.log') =~ m{access forbidden.*GET /m1} }, 5),
           'several error_log in main: the second gets the line');
        like($mlog->('error.log'), qr{access forbidden.*GET /m1}, '... and so does the first');
        like($mlog->('main2.log'), qr/\[notice\]/, '... the second at its level (notice)');
        unlike($mlog->('error.log'), qr/\[notice\]/, '... the first at its own (error)');
        rename $m->prefix . '/logs/main2.log', $m->prefix . '/logs/main2.log.1';
        kill 'USR1', $m->master_pid;
        ok(wait_until(sub { http_get($m->port(0), '/m2'); $mlog->('main2.log') =~ m{/m2} }, 5),
           '... SIGUSR1 reopens it too');
    }
    $m->stop;
}

# configuration errors

sub line_of {
    my ($t, $word) = @_;
    my @lines = split /\n/, Ferry::Test::read_file($t->conf_file);
    for my $i (0 .. $#lines) {
        return $i + 1 if index($lines[$i], $word) >= 0;
    }
    return 0;
}

for my $case (['error_log logs/x.log loud;', qr/invalid log level "loud"/, 'loud'],
              ['error_log /nonexistent/dir/e.log;', qr{open\(\) "/nonexistent/dir/e\.log" failed}, 'nonexistent'],
              ['error_log syslog:server=127.0.0.1,facility=loud7;', qr/unknown syslog facility "loud7"/, 'syslog'],
              ['error_log syslog:facility=local0;', qr/no syslog server specified/, 'facility=local0'],
              ['error_log memory:32m debug;', qr/memory log is not supported/, 'memory:'],
              ['error_log a b c;', qr/invalid number of arguments in "error_log"/, 'a b c'])
{
    my ($dir, $re, $word) = @$case;
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
    is($rc, 1, "$dir: -t fails");
    like($out, qr/$re.* in \S+ferry\.conf:@{[line_of($t, $word)]}\n/,
         "$dir: named with file and line");
}

done_testing;
