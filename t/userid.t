#!/usr/bin/perl

# userid: the cookie nginx's userid module sets, byte for byte in its
# format: "on" (network order: the server's address or userid_service,
# the time, the worker's start and pid, a sequence from 0x03030302),
# "v1" (the machine's order, a sequence from 1), "log" (read, never
# set), "off"; userid_name, _domain, _path, _expires (a time, max),
# _flags, _p3p, _mark (a cookie without the mark is sent again with it),
# _service; $uid_got, $uid_set, $uid_reset (set to 1 and to "log", which
# logs the reset); too short and invalid cookies logged; the cookie on a
# 404 and a proxied answer, after add_header; each worker's identifiers
# its own; the access log; configuration errors with file and line.
# When nginx is installed (/usr/sbin/nginx, Debian's nginx-light), a
# cookie nginx issued is read by ferry and the other way round.
#
# Every test needs the userid directives or variables, so each fails
# without them (the configuration is refused).

use strict;
use warnings;

use Test::More;
use Ferry::Test;
use MIME::Base64 qw(decode_base64);
use POSIX ();
use File::Temp ();
use IO::Socket::INET;

my $V = '"got=$uid_got set=$uid_set reset=$uid_reset\n"';

my $f = Ferry::Test->new(conf => main_conf() . <<"EOF2");
worker_processes 2;
events { worker_connections 64; }
http {
    log_format uid '\$uri \$uid_got \$uid_set';
    server {
        listen 127.0.0.1:%%PORT_0%%;
        access_log logs/uid.log uid;
        location /u { userid on; return 200 $V; }
        location /um {
            userid on; userid_name sid; userid_mark X;
            userid_expires 1d; userid_domain example.com; userid_path /u;
            userid_flags secure httponly samesite=lax;
            userid_p3p 'CP="X"';
            return 200 $V;
        }
        location /umax { userid on; userid_expires max; userid_mark =;
                         return 200 $V; }
        location /uv1 { userid v1; userid_service 7; return 200 $V; }
        location /us { userid on; userid_service 258; return 200 $V; }
        location /ur { userid on; set \$uid_reset \$arg_r; return 200 $V; }
        location /ul { userid log; return 200 $V; }
        location /uo { return 200 $V; }
        location /u404 { userid on; }
        location /ua { userid on; add_header X-A 1; return 200 $V; }
        location /p { userid on; proxy_pass http://127.0.0.1:%%PORT_1%%; }
        location /sent { userid on; add_header X-T \$sent_http_content_type;
                         return 200 $V; }
        location /f/ { userid on; root html; }
    }
}
EOF2

my $be = Ferry::Test::Backend->new(port => $f->port(1), handler => sub {
    return { status => 200, body => "up\n", headers => [
        'Content-Type' => 'text/plain', 'Set-Cookie' => 'up=1' ] };
});
$f->write_file('html/f/a.txt', "file\n");
$f->start;
$f->allow_log(qr/client sent (?:too short|invalid) userid cookie/,
              qr/userid cookie .* was reset/);

my $port = $f->port(0);
my $K = 'fwAAAWhY4aHk3c5kAwMEAg==';            # one nginx issued
my $KHEX = '0100007FA1E1586864CEDDE402040303';   # its $uid_got there

sub get { http_get($port, @_) }

# The cookie's value and its four words in network and native order.
sub words {
    my ($cookie) = @_;
    my ($v) = ($cookie // '') =~ /^\w+=([^;]+)/ or return;
    my $bytes = decode_base64(substr($v, 0, 22) . '==');
    return ($v, [unpack 'N4', $bytes], [unpack 'L4', $bytes]);
}

my @pids = $f->wait_workers(2) ? $f->worker_pids : ();

my $r = get('/u');
my ($v, $n, $h) = words($r->{headers}{'set-cookie'});
like($r->{headers}{'set-cookie'}, qr{^uid=[A-Za-z0-9+/]{22}==; path=/$},
     'on: uid=BASE64==; path=/');
is($n->[0], 0x7f000001, '... the server\'s address');
ok(abs($n->[1] - time) < 60, '... the time');
ok((grep { ($_ & 0xffff) == ($n->[2] & 0xffff) } @pids) == 1,
   '... a worker\'s pid in the start word');
is($n->[3] & 0xff00ffff, 0x03000302, '... the sequence');
is($r->{body}, 'got= set=uid=' . sprintf('%08X' x 4, @$h) . " reset=\n",
   '$uid_set: the words as the machine holds them, $uid_got empty');

# every worker its own start, each identifier new
my %seen;
my %starts;
for (1 .. 12) {
    my ($cv, $cn) = words(get('/u')->{headers}{'set-cookie'});
    $seen{$cv}++;
    $starts{$cn->[2]}++;
}
is(scalar(keys %seen), 12, 'twelve requests, twelve identifiers');
ok(keys(%starts) <= 2 && !grep({ my $s = $_;
                                 !grep { ($_ & 0xffff) == ($s & 0xffff) } @pids }
                               keys %starts),
   '... each from a worker\'s start');

$r = get('/u', Cookie => "a=b; uid=$K");
ok(!exists $r->{headers}{'set-cookie'}, 'a valid cookie: none sent');
is($r->{body}, "got=uid=$KHEX set= reset=\n", '... $uid_got, nginx\'s value');

$r = get('/um', Cookie => "sid=$K");
is($r->{headers}{'set-cookie'} =~ s/expires=[^;]+/expires=T/r,
   'sid=' . substr($K, 0, 22) . 'X=; expires=T; domain=example.com; path=/u;'
   . ' secure; httponly; samesite=lax',
   'without the mark: sent again with it, and the attributes');
is($r->{headers}{p3p}, 'CP="X"', 'userid_p3p');
is($r->{body}, "got=sid=$KHEX set=sid=$KHEX reset=\n",
   '... $uid_set the same identifier');
my ($exp) = $r->{headers}{'set-cookie'} =~ /expires=(\w{3}, \d\d-\w{3}-\d\d \d\d:\d\d:\d\d GMT)/;
ok($exp, 'userid_expires: nginx\'s cookie date');
my %mon = (Jan => 0, Feb => 1, Mar => 2, Apr => 3, May => 4, Jun => 5,
           Jul => 6, Aug => 7, Sep => 8, Oct => 9, Nov => 10, Dec => 11);
if ($exp && $exp =~ /(\d\d)-(\w{3})-(\d\d) (\d\d):(\d\d):(\d\d)/) {
    require Time::Local;
    my $t = Time::Local::timegm($6, $5, $4, $1, $mon{$2}, 2000 + $3);
    ok(abs($t - time - 86400) < 60, '... a day from now');
} else {
    fail('... a day from now');
}
$r = get('/um', Cookie => 'sid=' . substr($K, 0, 22) . 'X=');
ok(!exists $r->{headers}{'set-cookie'}, 'with the mark: none sent');
($v) = words(get('/um')->{headers}{'set-cookie'});
like($v, qr/^[A-Za-z0-9+\/]{22}X=$/, 'a new one: the mark for the first "="');

$r = get('/umax');
like($r->{headers}{'set-cookie'},
     qr{^uid=[A-Za-z0-9+/]{22}==; expires=Thu, 31-Dec-37 23:55:55 GMT; path=/$},
     'userid_expires max, userid_mark "="');

$r = get('/uv1');
($v, $n, $h) = words($r->{headers}{'set-cookie'});
is($h->[0], 7, 'v1: userid_service in the machine\'s order');
ok(abs($h->[1] - time) < 60, '... the time');
is($h->[3] & 0xff, 1, '... the v1 sequence from 1');
is($r->{body}, 'got= set=uid=' . sprintf('%08X' x 4, @$h) . " reset=\n",
   '... $uid_set');

($v, $n) = words(get('/us')->{headers}{'set-cookie'});
is($n->[0], 258, 'userid_service in network order');
like($v, qr/^AAABA/, '... base64 "AAABA..."');

$r = get('/ur?r=0', Cookie => "uid=$K");
ok(!exists $r->{headers}{'set-cookie'}, 'set $uid_reset 0: kept');
is($r->{body}, "got=uid=$KHEX set= reset=0\n", '... $uid_reset "0"');
$r = get('/ur?r=1', Cookie => "uid=$K");
($v, $n, $h) = words($r->{headers}{'set-cookie'});
ok($v && $v ne $K, 'set $uid_reset 1: a new cookie');
is($r->{body}, "got=uid=$KHEX set=uid=" . sprintf('%08X' x 4, @$h)
               . " reset=1\n", '... $uid_got the old, $uid_set the new');
$r = get('/ur?r=log', Cookie => "uid=$K");
ok($r->{headers}{'set-cookie'}, 'set $uid_reset log: a new cookie');
ok(wait_until(sub { $f->error_log =~ /\[notice\].*userid cookie "uid=$KHEX" was reset, client: 127\.0\.0\.1, request: "GET \/ur\?r=log HTTP\/1\.1"/ }, 5),
   '... and the reset logged');

$r = get('/u', Cookie => 'uid=short');
ok($r->{headers}{'set-cookie'}, 'a too short cookie: a new one');
like($r->{body}, qr/^got= /, '... no $uid_got');
ok(wait_until(sub { $f->error_log =~ /client sent too short userid cookie "uid=short", client: 127\.0\.0\.1, request: "GET \/u HTTP\/1\.1"/ }, 5),
   '... logged');
$r = get('/u', Cookie => 'uid=fwAAAWhY4aHk3c5kAwME*g==');
ok($r->{headers}{'set-cookie'}, 'a cookie not base64: a new one');
ok(wait_until(sub { $f->error_log =~ /client sent invalid userid cookie/ }, 5),
   '... logged');

$r = get('/ul', Cookie => "uid=$K");
ok(!exists $r->{headers}{'set-cookie'}, 'log: no cookie set');
is($r->{body}, "got=uid=$KHEX set= reset=\n", '... $uid_got read');
ok(!exists get('/ul')->{headers}{'set-cookie'}, '... nor without one');

$r = get('/uo', Cookie => "uid=$K");
is($r->{body}, "got= set= reset=\n", 'off: the variables empty');

$r = get('/u404');
is($r->{status}, 404, 'a 404 ...');
like($r->{headers}{'set-cookie'} // '', qr/^uid=/, '... carries the cookie');

$r = get('/ua');
my @names = map { $_->[0] } @{ $r->{header_list} };
my ($ia) = grep { $names[$_] eq 'X-A' } 0 .. $#names;
my ($ic) = grep { lc $names[$_] eq 'set-cookie' } 0 .. $#names;
ok(defined $ia && defined $ic && $ia < $ic,
   'Set-Cookie after the add_header lines, as nginx');

$r = get('/p');
my @cookies = map { $_->[1] } grep { lc $_->[0] eq 'set-cookie' }
              @{ $r->{header_list} };
is(scalar(@cookies), 2, 'proxied: the upstream\'s cookie and ours');
ok((grep { $_ eq 'up=1' } @cookies) && (grep { /^uid=/ } @cookies),
   '... both');

$r = get('/sent');
@names = map { $_->[0] } @{ $r->{header_list} };
($ia) = grep { $names[$_] eq 'X-T' } 0 .. $#names;
($ic) = grep { lc $names[$_] eq 'set-cookie' } 0 .. $#names;
ok(defined $ia && defined $ic && $ia < $ic,
   'with an add_header of $sent_http_: the cookie after it too');
is($r->{headers}{'x-t'}, 'text/plain', '... which is made');

$r = get('/f/a.txt');
is($r->{body}, "file\n", 'a file ...');
like($r->{headers}{'set-cookie'} // '', qr/^uid=/, '... carries the cookie');

ok(wait_until(sub { Ferry::Test::read_file($f->prefix . '/logs/uid.log') =~ m{^/ul uid=$KHEX -$}m }, 5),
   'the access log: $uid_got, $uid_set');

# ---- nginx's cookies read by ferry, ferry's by nginx ----

SKIP: {
    skip 'no /usr/sbin/nginx', 4 unless -x '/usr/sbin/nginx';
    my $np = File::Temp::tempdir('ferry-nginx-XXXXXX', TMPDIR => 1,
                                 CLEANUP => 1);
    my $nport = Ferry::Test::free_port();
    mkdir "$np/tmp";
    open my $fh, '>', "$np/nginx.conf" or die "$np/nginx.conf: $!\n";
    print $fh ($> == 0 ? 'user ' . (getpwuid $>)[0] . ";\n" : ''),
        "worker_processes 1;\nerror_log $np/error.log;\npid $np/nginx.pid;\n",
        "events { worker_connections 16; }\nhttp {\n    access_log off;\n",
        map({ "    ${_}_temp_path $np/tmp/$_;\n" }
            qw(client_body proxy fastcgi uwsgi scgi)),
        "    server {\n        listen 127.0.0.1:$nport;\n",
        "        location /u { userid on; userid_mark X; return 200 $V; }\n",
        "    }\n}\n";
    close $fh;
    my $npid = fork // die "fork: $!\n";
    if ($npid == 0) {
        open STDOUT, '>', "$np/stdout.log";
        open STDERR, '>', "$np/stderr.log";
        { exec '/usr/sbin/nginx', '-p', "$np/", '-e', "$np/error.log", '-c',
               "$np/nginx.conf", '-g', 'daemon off; master_process on;' }
        POSIX::_exit(127);
    }
    my $up = wait_until(sub {
        my $s = IO::Socket::INET->new(PeerAddr => "127.0.0.1:$nport",
                                      Timeout => 1);
        close $s if $s;
        return $s ? 1 : 0;
    }, 10);
    my $rn = $up ? http_get($nport, '/u') : {};
    my ($nset) = ($rn->{body} // '') =~ /set=uid=(\w+)/;
    my ($nck) = ($rn->{headers}{'set-cookie'} // '') =~ /^(uid=[^;]+)/;
    my $rf = get('/u', Cookie => $nck // 'none');
    is($rf->{body}, "got=uid=" . ($nset // '?') . " set= reset=\n",
       'nginx\'s cookie: ferry\'s $uid_got is nginx\'s $uid_set');
    ok(!exists $rf->{headers}{'set-cookie'}, '... and ferry keeps it');

    $rf = get('/u');
    my ($fset) = $rf->{body} =~ /set=uid=(\w+)/;
    my ($fck) = ($rf->{headers}{'set-cookie'} // '') =~ /^(uid=[^;]+)/;
    $rn = $up ? http_get($nport, '/u', Cookie => $fck // 'none') : {};
    is($rn->{body}, "got=uid=" . ($fset // '?') . ' set=uid=' . ($fset // '?')
                    . " reset=\n",
       'ferry\'s cookie: nginx\'s $uid_got is ferry\'s $uid_set');
    is($rn->{headers}{'set-cookie'} // '', substr($fck // '', 0, 26) . 'X=; path=/',
       '... nginx adds its mark the same way');
    kill 'TERM', $npid;
    waitpid $npid, 0;
}

$f->stop;

server_conf_refused('userid maybe;', 'invalid value "maybe" in \S+ferry.conf:8',
                    'userid: a bad mode');
server_conf_refused('userid_mark ab;',
                    'value must be "off" or a single letter, digit or "=" in '
                    . '\S+ferry.conf:8', 'userid_mark: two letters');
server_conf_refused('userid_flags secure bogus;',
                    'invalid value "bogus" in \S+ferry.conf:8',
                    'userid_flags: an unknown flag');
server_conf_refused('userid_expires 5ms;',
                    'invalid value "5ms" in \S+ferry.conf:8',
                    'userid_expires: not in seconds');
server_conf_refused('userid_name a; userid_name b;',
                    '"userid_name" directive is duplicate in \S+ferry.conf:8',
                    'userid_name twice');
server_conf_refused('userid_service x;',
                    'invalid value "x" in \S+ferry.conf:8',
                    'userid_service: not a number');

done_testing;
