#!/usr/bin/perl
# memcached_pass against Debian's real memcached (started here on free
# ports, never the system service), filled through its text protocol:
# a hit's body and Content-Type, a miss answered 404 and the classic
# "error_page 404 = @fallback" to a proxy, memcached_gzip_flag, the
# key's escaping, an invalid response and a dead server (502),
# memcached_next_upstream not_found to a second memcached, the
# upstream keepalive connection reused (memcached's own connection
# count), and configuration errors with file and line.

use strict;
use warnings;
use Test::More;
use IO::Socket::INET;
use IO::Socket::UNIX;
use POSIX ();
use Ferry::Test;

my $MEMCACHED = '/usr/bin/memcached';
plan skip_all => "no $MEMCACHED (apt-get install memcached)"
    unless -x $MEMCACHED;

my @mc_pids;
END { kill 'TERM', $_ for @mc_pids; waitpid($_, 0) for @mc_pids; }

# A memcached of our own on 127.0.0.1:$port (TCP only), or on the unix
# socket $port when it is a path.
sub memcached_start {
    my ($port) = @_;
    my @on = $port =~ m{^/} ? ('-s', $port)
                            : ('-l', '127.0.0.1', '-p', $port);
    my $pid = fork() // die "fork: $!";
    if ($pid == 0) {
        open STDOUT, '>', '/dev/null';
        open STDERR, '>', '/dev/null';
        { exec $MEMCACHED, @on, '-U', '0',
             '-m', '8', '-c', '64', ($> == 0 ? ("-u", "root") : ()) };
        POSIX::_exit(127);
    }
    push @mc_pids, $pid;
    wait_until { $port =~ m{^/} ? -S $port : !port_is_closed($port) } 5
        or die "memcached did not start on $port\n";
}

# One command (and its data) to a memcached on a connection of its
# own; the answer up to its end ("END\r\n" for get and stats).
sub mc {
    my ($port, $cmd, $end) = @_;
    my $s = IO::Socket::INET->new(PeerAddr => "127.0.0.1:$port",
                                  Timeout => 5) or die "connect: $!";
    print $s $cmd;
    my $out = '';
    while ($out !~ $end) {
        my $n = sysread($s, $out, 4096, length $out);
        last unless $n;
    }
    close $s;
    return $out;
}

sub mc_set {
    my ($port, $key, $flags, $value) = @_;
    my $r = mc($port, "set $key $flags 0 " . length($value) . "\r\n"
                      . "$value\r\n", qr/\r\n/);
    die "set $key: $r" unless $r eq "STORED\r\n";
}

sub mc_stat {
    my ($port, $name) = @_;
    my $r = mc($port, "stats\r\n", qr/END\r\n/);
    return $r =~ /^STAT $name (\d+)\r$/m ? $1 : undef;
}

my $f = Ferry::Test->new(conf => main_conf() . <<'EOF');
worker_processes 1;
events { worker_connections 64; }
http {
    default_type application/x-test-default;
    proxy_cache_path %%PREFIX%%/cache keys_zone=pc:1m;
    upstream mc {
        server 127.0.0.1:%%PORT_1%%;
        keepalive 4;
    }
    upstream bound {
        server 127.0.0.1:%%PORT_2%%;
        keepalive 2;
    }
    upstream two {
        server 127.0.0.1:%%PORT_1%%;
        server 127.0.0.1:%%PORT_2%%;
    }
    server {
        listen 127.0.0.1:%%PORT_0%%;
        proxy_cache pc;
        proxy_cache_valid 200 10m;
        add_header X-Cache $upstream_cache_status always;
        location / {
            set $memcached_key "$uri";
            memcached_pass mc;
            error_page 404 = @fallback;
        }
        location @fallback {
            proxy_pass http://127.0.0.1:%%PORT_3%%;
        }
        location /plain/ {
            set $memcached_key "$uri";
            memcached_pass mc;
        }
        location /gz/ {
            set $memcached_key "$uri";
            memcached_gzip_flag 2;
            memcached_pass mc;
        }
        location /esc/ {
            set $memcached_key "$uri";
            memcached_pass 127.0.0.1:%%PORT_1%%;
        }
        location /dead/ {
            set $memcached_key "$uri";
            memcached_pass 127.0.0.1:%%PORT_4%%;
        }
        location /deadfb/ {
            set $memcached_key "$uri";
            memcached_pass 127.0.0.1:%%PORT_4%%;
            error_page 404 502 504 = @fallback;
        }
        location /nf/ {
            set $memcached_key "$uri";
            memcached_next_upstream not_found;
            memcached_pass two;
        }
        location /fake/ {
            set $memcached_key "$uri";
            memcached_read_timeout 1s;
            memcached_pass 127.0.0.1:%%PORT_5%%;
        }
        location /bind/ {
            set $memcached_key "$uri";
            memcached_bind 127.0.0.2;
            memcached_socket_keepalive on;
            memcached_pass bound;
        }
        location /ifmc/ {
            set $memcached_key "$uri";
            if ($arg_mc) {
                memcached_pass 127.0.0.1:%%PORT_1%%;
            }
            proxy_pass http://127.0.0.1:%%PORT_3%%;
        }
        location /unix/ {
            set $memcached_key "$uri";
            memcached_pass unix:%%PREFIX%%/mc.sock;
        }
        location /tries/ {
            set $memcached_key "$uri";
            memcached_next_upstream not_found;
            memcached_next_upstream_tries 1;
            memcached_pass two;
        }
        location /nonf/ {
            set $memcached_key "$uri";
            memcached_pass two;
        }
    }
}
EOF

memcached_start($f->port(1));
memcached_start($f->port(2));
memcached_start($f->prefix . '/mc.sock');
my $dead = $f->port(4);                # nothing listens there
my $backend = Ferry::Test::Backend->new(port => $f->port(3));
# a fake memcached for what the real one never sends
tcp_server($f->port(5), sub {
    my ($c) = @_;
    my $line = <$c> // return;
    my ($key) = $line =~ /^get (\S+)\r\n$/ or return;
    if ($key eq '/fake/trailer') {
        print $c "VALUE $key 0 3\r\nabcXXXXXXX";
    } elsif ($key eq '/fake/key') {
        print $c "VALUE /other 0 3\r\nabc\r\nEND\r\n";
    } elsif ($key eq '/fake/slow') {
        sleep 3;
    }
});
$f->allow_log(qr/\[error\]/);
$f->start;

mc_set($f->port(1), '/page.html', 0, "<p>from memcached</p>\n");
mc_set($f->port(1), '/noext', 0, "raw value");
mc_set($f->port(1), '/gz/a', 3, "GZBYTES");
mc_set($f->port(1), '/gz/b', 4, "PLAIN");
mc_set($f->port(1), '/esc/a%20b%25c', 0, "escaped key");
mc_set($f->port(2), '/nf/only2', 0, "on the second");
mc_set($f->port(2), '/nonf/only2', 0, "on the second");

# a hit: the value as the body, the type from the URI's extension
my ($r, $e);
$r = http_get($f->port(0), '/page.html');
is($r->{status}, 200, 'a hit answers 200');
is($r->{body}, "<p>from memcached</p>\n", '... with the value as body');
is($r->{headers}{'content-type'}, 'text/html', '... typed by extension');
is($r->{headers}{'content-length'}, 22, '... and its length');
$r = http_get($f->port(0), '/noext');
is($r->{headers}{'content-type'}, 'application/x-test-default',
   'no extension: default_type');
is($r->{body}, 'raw value', '... same body');

# only GET and HEAD (nginx: 405)
$r = http($f->port(0), build_request(method => 'POST', path => '/page.html',
                                     body => 'x=1',
                                     headers => [Connection => 'close']));
is($r->{status}, 405, 'POST: 405');

# one client connection: a hit, a miss, a hit
my ($rs, $closed) = http_keepalive($f->port(0), [
    build_request(path => '/page.html'),
    build_request(path => '/plain/missing'),
    build_request(path => '/noext', headers => [Connection => 'close'])]);
is(join(' ', map { $_->{status} // 'none' } @$rs), '200 404 200',
   'a hit, a miss, a hit on one client connection');
is($rs->[2]{body}, 'raw value', '... the last one whole');

# an inherited proxy_cache does not keep memcached's answers
mc_set($f->port(1), '/changes', 0, "one");
my $first = http_get($f->port(0), '/changes')->{body};
mc_set($f->port(1), '/changes', 0, "two");
$r = http_get($f->port(0), '/changes');
is($first . ' ' . $r->{body}, 'one two',
   'a changed value is seen at once, whatever proxy_cache says');
ok($r->{status} == 200 && !exists $r->{headers}{'x-cache'},
   '... the cache is not even looked at')
    or diag("X-Cache: $r->{headers}{'x-cache'}");

# a memcached on a unix socket
{
    my $s = IO::Socket::UNIX->new(Peer => $f->prefix . '/mc.sock')
        or die "unix socket: $!";
    print $s "set /unix/k 0 0 6\r\nunixed\r\n";
    my $ans = <$s>;
    die "set over unix: $ans" unless $ans eq "STORED\r\n";
}
is(http_get($f->port(0), '/unix/k')->{body}, 'unixed',
   'memcached_pass unix:PATH');

# memcached_pass in an "if" in a location
mc_set($f->port(1), '/ifmc/x', 0, "from the if");
is(http_get($f->port(0), '/ifmc/x?mc=1')->{body}, 'from the if',
   'memcached_pass in an if: memcached answers');
$e = parse_echo(http_get($f->port(0), '/ifmc/x')->{body});
is($e && $e->{uri}, '/ifmc/x', '... and the location\'s proxy_pass otherwise');

# a miss: 404, or error_page's fallback to a proxy
$r = http_get($f->port(0), '/plain/missing');
is($r->{status}, 404, 'a miss answers 404');
like($r->{body}, qr/404 Not Found/, "... ferry's own 404 page");
$r = http_get($f->port(0), '/not-cached');
is($r->{status}, 200, 'a miss with error_page 404 = @fallback: 200');
$e = parse_echo($r->{body});
is($e && $e->{uri}, '/not-cached', '... from the proxied backend');

# memcached_gzip_flag
$r = http_get($f->port(0), '/gz/a');
is($r->{headers}{'content-encoding'}, 'gzip',
   'a flag bit of memcached_gzip_flag: Content-Encoding: gzip');
is($r->{body}, 'GZBYTES', '... the value as stored');
$r = http_get($f->port(0), '/gz/b');
ok($r->{status} == 200 && $r->{body} eq 'PLAIN'
   && !exists $r->{headers}{'content-encoding'},
   'no common bit: no Content-Encoding');

# the key is escaped as nginx escapes it ($uri is decoded: "/esc/a b%c")
$r = http_get($f->port(0), '/esc/a%20b%25c');
is($r->{body}, 'escaped key', 'space and % in the key sent as %20 and %25');

# an invalid response (memcached refuses a key over 250 bytes): 502
$r = http_get($f->port(0), '/plain/' . ('k' x 300));
is($r->{status}, 502, 'an error from memcached: 502');
like($f->error_log, qr/memcached sent invalid response: "CLIENT_ERROR/,
     '... logged');

# a dead server: 502
$r = http_get($f->port(0), '/dead/x');
is($r->{status}, 502, 'a dead memcached: 502');
like($f->error_log, qr/connect\(\) failed .*upstream: "memcached:\/\/127/,
     '... logged with a memcached:// upstream');

$r = http_get($f->port(0), '/deadfb/x');
is($r->{status}, 200, 'nginx\'s recipe: error_page 502 = @fallback too');
$e = parse_echo($r->{body});
is($e && $e->{uri}, '/deadfb/x', '... from the proxied backend');

# memcached_next_upstream not_found: the second server has it
my $ok = 0;
for (1 .. 4) {
    $r = http_get($f->port(0), '/nf/only2');
    $ok++ if $r->{status} == 200 && $r->{body} eq 'on the second';
}
is($ok, 4, 'not_found goes on to the next memcached, every time');
my %st;
for (1 .. 4) {
    $st{http_get($f->port(0), '/nonf/only2')->{status}}++;
}
ok($st{404} && $st{200}, 'without it a miss on the first is a 404')
    or diag(explain \%st);
mc_set($f->port(2), '/tries/only2', 0, "on the second");
%st = ();
for (1 .. 4) {
    $st{http_get($f->port(0), '/tries/only2')->{status}}++;
}
ok($st{404} && $st{200}, 'memcached_next_upstream_tries 1: no second try')
    or diag(explain \%st);

# what only a broken server sends
$r = http_get($f->port(0), '/fake/key');
is($r->{status}, 502, 'a VALUE for another key: 502');
like($f->error_log, qr/memcached sent invalid key in response "VALUE \/other 0 3" for key "\/fake\/key"/,
     '... logged');
$r = http_get($f->port(0), '/fake/trailer');
is($r->{body}, 'abc', 'a wrong trailer: the value was sent');
like($f->error_log, qr/memcached sent invalid trailer/, '... and it is logged');
$r = http_get($f->port(0), '/fake/slow');
is($r->{status}, 504, 'memcached_read_timeout: 504');

# a value much bigger than memcached_buffer_size, and HEAD
my $big = join '', map { chr(32 + $_ % 90) } 1 .. 300000;
mc_set($f->port(1), '/big', 0, $big);
$r = http_get($f->port(0), '/big');
ok($r->{body} eq $big, 'a 300000-byte value comes whole');
$r = http($f->port(0), build_request(method => 'HEAD', path => '/page.html',
                                       headers => [Connection => 'close']),
          head => 1);
is($r->{status}, 200, 'HEAD of a hit: 200');
is($r->{headers}{'content-length'}, 22, '... with the length of the value');

# memcached_bind and memcached_socket_keepalive on the kept connection
mc_set($f->port(2), '/bind/x', 0, "bound");
$r = http_get($f->port(0), '/bind/x');
is($r->{body}, 'bound', 'memcached_bind: answered');
like(mc($f->port(2), "stats conns\r\n", qr/END\r\n/),
     qr/addr tcp:127\.0\.0\.2:\d+/, '... memcached saw 127.0.0.2');
my $p2 = $f->port(2);
like(scalar `ss -tnoH state established '( dst 127.0.0.1:$p2 and src 127.0.0.2 )' 2>&1`,
     qr/timer:\(keepalive/, 'memcached_socket_keepalive: SO_KEEPALIVE on it');

# keepalive: the connection to memcached is reused
my $before = mc_stat($f->port(1), 'total_connections');
my $answered = 0;
for (1 .. 5) {
    $answered++ if http_get($f->port(0), '/page.html')->{status} == 200;
}
# a miss keeps it too
$answered++ if http_get($f->port(0), '/plain/missing')->{status} == 404;
$answered++ if http_get($f->port(0), '/noext')->{status} == 200;
my $after = mc_stat($f->port(1), 'total_connections');
is($answered, 7, 'seven requests to memcached answered');
# the stats connection itself counts one; the kept one at most one more
cmp_ok($after - $before, '<=', 2,
       '... over one kept connection to memcached')
    if $answered == 7;

$f->stop;

# configuration errors: file and line
http_conf_refused("server {\n        location / { memcached_pass "
                  . "127.0.0.1:1; }\n    }",
                  qr/unknown "memcached_key" variable in \S+:\d+/,
                  'memcached_pass without set $memcached_key');
server_conf_refused('location / { set $memcached_key $uri; '
                    . 'memcached_next_upstream error http_500; '
                    . 'memcached_pass 127.0.0.1:1; }',
                    qr/invalid value "http_500" in \S+ferry.conf:8/,
                    'memcached_next_upstream with a proxy_ value');
server_conf_refused('location / { set $memcached_key $uri; '
                    . 'memcached_pass http://127.0.0.1:1; }',
                    qr/invalid address "http:\/\/127.0.0.1:1" in .*:8/,
                    'memcached_pass with a scheme');
http_conf_refused("server {\n        location / { set \$memcached_key \$uri; "
                  . "memcached_pass mcnoport; }\n    }",
                  qr/no port in upstream "mcnoport" in \S+:\d+/,
                  'memcached_pass to a name that is no upstream');
server_conf_refused('memcached_pass 127.0.0.1:1;',
                    qr/"memcached_pass" directive is not allowed here in .*:8/,
                    'memcached_pass in a server');
server_conf_refused('location / { set $memcached_key $uri; '
                    . 'memcached_pass 127.0.0.1:1; proxy_pass '
                    . 'http://127.0.0.1:1; }',
                    qr/"proxy_pass" directive is duplicate in .*:8/,
                    'memcached_pass and proxy_pass');

done_testing;
