#!/usr/bin/perl

# Logging to syslog, as nginx: "error_log syslog:server=..." (main and
# server level) and "access_log syslog:server=..." (http and stream),
# received here on a UDP socket and a unix datagram socket.  The RFC
# 3164 messages exactly: PRI from facility and severity, the timestamp,
# the host name (or none with nohostname), the tag; error log levels
# filtered and mapped to severities; if=; a unix socket re-created
# behind ferry's back; SIGUSR1 and a reload; configuration errors with
# file and line.

use strict;
use warnings;

use Test::More;
use Ferry::Test;
use IO::Socket::INET;
use IO::Socket::UNIX;
use IO::Select;
use POSIX qw(strftime);
use Socket qw(SOCK_DGRAM);
use Sys::Hostname ();

my $host = lc Sys::Hostname::hostname();
my $ts = qr/[A-Z][a-z]{2} [ \d]\d \d\d:\d\d:\d\d/;
my $today = strftime('%b %e', localtime);

my $udp = IO::Socket::INET->new(LocalAddr => '127.0.0.1', LocalPort => 0,
                                Proto => 'udp')
    or die "udp socket: $!\n";
my $uport = $udp->sockport;

my @got;            # every datagram received so far, in order

sub unix_server {
    my ($path) = @_;
    unlink $path;
    return IO::Socket::UNIX->new(Type => SOCK_DGRAM, Local => $path)
        || die "unix socket $path: $!\n";
}

# Read what has arrived on the sockets until one message matches $re
# (or $secs pass); returns the matching messages.
sub wait_msg {
    my ($re, $socks, $secs) = @_;
    my $sel = IO::Select->new(@$socks);
    my $end = time + ($secs // 5);
    while (1) {
        my @m = grep { $_ =~ $re } @got;
        return @m if @m || time > $end;
        for my $s ($sel->can_read(0.2)) {
            my $buf;
            push @got, $buf if defined $s->recv($buf, 65536);
        }
    }
}

my $f = Ferry::Test->new(conf => <<"EOF");
daemon off;
error_log logs/error.log debug;
error_log syslog:server=127.0.0.1:$uport,facility=daemon,tag=ferrymain,nohostname notice;
pid logs/ferry.pid;
events { }
http {
    log_format t 'T \$request_uri \$status "\$http_user_agent"';
    server {
        listen 127.0.0.1:%%PORT_0%%;
        error_log syslog:server=127.0.0.1:$uport,tag=srverr warn;
        access_log syslog:server=127.0.0.1:$uport t;
        location /a { return 200 "a"; }
        location /deny { deny all; }
        location /u {
            access_log syslog:server=unix:%%PREFIX%%/sl.sock,facility=user,severity=warn,tag=ux,nohostname t;
            return 204;
        }
        location /if {
            access_log syslog:server=localhost:$uport,tag=cond t if=\$arg_log;
            return 200 "if";
        }
    }
}
stream {
    log_format s 'S \$status';
    server {
        listen 127.0.0.1:%%PORT_1%%;
        proxy_pass 127.0.0.1:%%PORT_2%%;
        access_log syslog:server=127.0.0.1:$uport,tag=strm,severity=notice s;
    }
}
EOF
my $unix_path = $f->prefix . '/sl.sock';
my $unix = unix_server($unix_path);
my @socks = ($udp, $unix);

$f->start;

# the main error_log: facility daemon (3), levels up to notice, their
# severities (notice 5), no host name, the file's line after the tag
my ($start) = wait_msg(qr/ferrymain: .*start worker process/, \@socks);
like($start // '', qr{^<29>$ts ferrymain: \d{4}/\d\d/\d\d \d\d:\d\d:\d\d \[notice\] \d+#0: start worker process \d+ \(slot 0\)$},
     'main error_log to syslog: <29> (daemon.notice), nohostname, tag, the log line');
like($start // '', qr/^<29>\Q$today\E /, '... the timestamp is today\'s, local time');

# the access log with nginx's defaults: local7.info (190), host name, tag nginx
my $r = http($f->port(0), "GET /a HTTP/1.0\r\nUser-Agent: t\"1\r\n\r\n");
is($r->{status}, 200, 'request answered');
my ($a) = wait_msg(qr{nginx: T /a }, \@socks);
like($a // '', qr{^<190>$ts \Q$host\E nginx: T /a 200 "t\\x221"$},
     'access_log to syslog: <190> (local7.info), host name, tag "nginx", the escaped line, no newline');

# the server's error_log: an [error] is severity 3 (local7: 187)
$r = http_get($f->port(0), '/deny');
is($r->{status}, 403, 'denied');
my ($e) = wait_msg(qr/srverr: .*access forbidden/, \@socks);
like($e // '', qr{^<187>$ts \Q$host\E srverr: \d{4}/\d\d/\d\d \d\d:\d\d:\d\d \[error\] \d+#0: .*access forbidden by rule},
     'server error_log to syslog: [error] as local7.err (187)');

# unix datagram socket, facility user, severity warn: 1*8+4
$r = http_get($f->port(0), '/u');
is($r->{status}, 204, 'unix-logged location answered');
my ($u) = wait_msg(qr{ux: T /u}, \@socks);
like($u // '', qr{^<12>$ts ux: T /u 204 "-"$},
     'access_log to a unix datagram socket: <12> (user.warn), nohostname');

# if=: no line when the condition is empty; a host name as server
http_get($f->port(0), '/if');
http_get($f->port(0), '/if?log=1');
my @c = wait_msg(qr{cond: T /if\?log=1 }, \@socks);
ok(@c, 'if= true: logged (server=localhost resolved)');
ok(!grep({ m{cond: T /if } } @got), 'if= empty: not logged');

# stream access_log: a session whose upstream refuses (502)
$f->allow_log(qr/connect\(\) failed/);
my $c = IO::Socket::INET->new(PeerAddr => '127.0.0.1', PeerPort => $f->port(1))
    or die "stream connect: $!\n";
my $buf;
$c->sysread($buf, 100);
close $c;
my ($s) = wait_msg(qr/strm: S/, \@socks);
like($s // '', qr{^<189>$ts \Q$host\E strm: S 502$},
     'stream access_log to syslog: <189> (local7.notice), the line');

# level filtering: the file got [debug] and [info], syslog (notice) not
like($f->error_log, qr/\[debug\]/, 'the file log at debug has debug lines');
ok(!grep({ /ferrymain: .*\[(?:debug|info)\]/ } @got),
   'the syslog at notice has no debug or info lines');
ok(!grep({ /srverr: .*\[(?:debug|info|notice)\]/ } @got),
   'the server syslog at warn has nothing below warn');

# the unix socket goes away and comes back: the message sent meanwhile
# is lost and reported (in the server's error_log, the request's), the
# next one goes to the new socket
close $unix;
unlink $unix_path;
http_get($f->port(0), '/u?lost');
like((wait_msg(qr/srverr: .*sl\.sock/, [$udp]))[0] // '',
     qr{^<185>$ts \Q$host\E srverr: .*\[alert\] \d+#0: .*send\(\) to syslog server unix:\S+/sl\.sock failed, 1 message lost: Connection refused \(111\)$},
     'a failed send is reported in the error log, as an alert');
$unix = unix_server($unix_path);
@socks = ($udp, $unix);
http_get($f->port(0), '/u?back');
ok(scalar wait_msg(qr{ux: T /u\?back}, \@socks), 'the socket is opened again for the next message');

# SIGUSR1: nothing to reopen, logging goes on
kill 'USR1', $f->master_pid;
ok(wait_until(sub { $f->error_log =~ /reopening logs/ }, 5), 'SIGUSR1');
http_get($f->port(0), '/a?usr1');
ok(scalar wait_msg(qr{nginx: T /a\?usr1 }, \@socks), 'access log to syslog after SIGUSR1');

# a reload: the new configuration's tag and severity
my $conf = Ferry::Test::read_file($f->conf_file);
$conf =~ s/access_log syslog:server=127\.0\.0\.1:$uport t;/access_log syslog:server=127.0.0.1:$uport,tag=reloaded,severity=crit t;/
    or die "conf edit failed\n";
$f->write_file('conf/ferry.conf', $conf);
kill 'HUP', $f->master_pid;
ok(wait_until(sub { $f->error_log =~ /reload done/ }, 10), 'reloaded');
my @rl;
ok(wait_until(sub { http_get($f->port(0), '/a?rl'); @rl = wait_msg(qr{reloaded: T /a\?rl }, \@socks, 0.3); @rl }, 10),
   'after a reload the new access_log is used');
like($rl[0] // '', qr{^<186>$ts \Q$host\E reloaded: T /a\?rl 200 "-"$}, '... with its tag and severity (local7.crit)');

$f->stop;

# the only main error_log to syslog: the master's and the worker's lines
my $m = Ferry::Test->new(conf => <<"EOF");
daemon off;
error_log syslog:server=127.0.0.1:$uport,tag=only notice;
pid logs/ferry.pid;
events { }
http { server { listen 127.0.0.1:%%PORT_0%%; location / { return 204; } } }
EOF
$m->start;
like((wait_msg(qr/only: .*start worker process/, [$udp]))[0] // '',
     qr{^<189>$ts \Q$host\E only: \d{4}/\d\d/\d\d \d\d:\d\d:\d\d \[notice\] \d+#0: start worker process },
     'the main error_log alone to syslog: the master\'s notice (local7.notice)');
kill 'TERM', $m->master_pid;
ok(scalar wait_msg(qr/only: .*\[notice\] \d+#0: exit$/, [$udp]), '... and its exit');
$m->stop;

# configuration errors, with file and line (the directive is on line 8)
for my $case (['access_log syslog:server=127.0.0.1,facility=local9;', 'unknown syslog facility "local9"'],
              ['access_log syslog:facility=local0,tag=x;', 'no syslog server specified'],
              ['access_log syslog:server=127.0.0.1,severity=err;', 'unknown syslog severity "err"'],
              ['access_log syslog:server=127.0.0.1,color=red;', 'unknown syslog parameter "color=red"'],
              ['access_log syslog:server=127.0.0.1,server=127.0.0.2;', 'duplicate syslog "server"'],
              ['access_log syslog:server=127.0.0.1,tag=a-b;', 'syslog "tag" only allows alphanumeric characters and underscore'],
              ['access_log syslog:server=127.0.0.1,tag=' . ('x' x 33) . ';', 'syslog tag length exceeds 32'],
              ['access_log syslog:server=127.0.0.1:99999;', 'invalid address or host not found in syslog server "127.0.0.1:99999"'],
              ['access_log syslog:server=127.0.0.1 combined buffer=4k;', 'logs to syslog cannot be buffered'],
              ['error_log syslog:server=127.0.0.1,nohostname,facility=x;', 'unknown syslog facility "x"'])
{
    my ($dir, $msg) = @$case;
    server_conf_refused($dir, qr/\Q$msg\E.* in \S+ferry\.conf:8$/m, $msg);
}

my $g = Ferry::Test->new(conf => main_conf() . <<'EOF');
events { }
stream {
    log_format s '$status';
    server {
        listen 127.0.0.1:%%PORT_0%%;
        proxy_pass 127.0.0.1:%%PORT_1%%;
        access_log syslog:server=127.0.0.1,severity=loud s;
    }
}
EOF
my ($rc, $out) = $g->run('-t');
isnt($rc, 0, 'stream access_log with a bad severity: -t fails');
like($out, qr/unknown syslog severity "loud" in \S+ferry\.conf:10$/m, '... naming it, file and line');

done_testing;
