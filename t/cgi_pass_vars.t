#!/usr/bin/perl

# fastcgi_pass, uwsgi_pass, scgi_pass and memcached_pass with variables,
# as nginx does them (the Docker shape "set $php php:9000; fastcgi_pass
# $php;"): the value is evaluated per request; the name of an upstream
# block is that group, an IP address:port and a unix:/path are
# connected to straight away, another name is asked of the location's
# resolver (dnsmasq here, as in t/resolver.t).  Against the real
# servers the other tests use (php-fpm, uWSGI for uwsgi and SCGI,
# memcached): which one answered shows in the answer (php-fpm's POOL,
# uWSGI's INSTANCE, the value memcached holds).  What the operator
# sees when it cannot work: 502 and "no resolver defined to resolve"
# without a resolver, 502 and "could not be resolved" for a name the
# resolver does not know, 500 and "no port in upstream" for a name that
# is no upstream and has no port.  The configuration errors that still
# apply name file and line.

use strict;
use warnings;

use Test::More;
use POSIX ();
use IO::Socket::INET;
use IO::Select;
use Ferry::Test;
use Ferry::PHPFPM;
use Ferry::UWSGI;

my $MEMCACHED = '/usr/bin/memcached';
my ($DNSMASQ) = grep { -x } qw(/usr/sbin/dnsmasq /usr/bin/dnsmasq);
plan skip_all => 'php-fpm, uWSGI (python3), memcached or dnsmasq not '
               . 'installed (sh auto/deps --test)'
    unless $Ferry::PHPFPM::FPM && Ferry::UWSGI::available()
           && -x $MEMCACHED && $DNSMASQ;

my @kids;
END {
    local $?;
    for (@kids) {
        kill 'TERM', $_;
        waitpid $_, 0;
    }
}

# ports: 0 ferry, 1 php-fpm pool a, 2 uWSGI (uwsgi), 3 uWSGI (SCGI),
# 4 memcached, 5 dnsmasq, 6 nothing listens
my $f = Ferry::Test->new(conf => main_conf() . <<'EOF');
events { worker_connections 64; }
http {
    access_log off;
    upstream php_group {
        server unix:%%PREFIX%%/php-b.sock;
    }
    upstream uw_group {
        server 127.0.0.1:%%PORT_2%%;
    }
    server {
        listen 127.0.0.1:%%PORT_0%%;
        root %%PREFIX%%/html;
        add_header X-Up $upstream_addr always;
        fastcgi_param REQUEST_METHOD $request_method;
        fastcgi_param SCRIPT_FILENAME $document_root/pool.php;

        # the value of the query's "to"
        location = /fcgi {
            fastcgi_pass $arg_to;
        }
        # the Docker shape, with the location's resolver
        location = /fcgi-dns {
            resolver 127.0.0.1:%%PORT_5%%;
            resolver_timeout 5s;
            set $php php.ferry.test:%%PORT_1%%;
            fastcgi_pass $php;
        }
        location = /fcgi-dns-arg {
            resolver 127.0.0.1:%%PORT_5%%;
            resolver_timeout 5s;
            fastcgi_pass $arg_to;
        }
        location = /fcgi-unix {
            set $sock unix:%%PREFIX%%/php-$arg_pool.sock;
            fastcgi_pass $sock;
        }
        # makes an implicit upstream "localhost", port 80's
        location = /http-bare {
            proxy_pass http://localhost;
        }
        location = /uwsgi {
            uwsgi_pass uwsgi://$arg_to;
        }
        location = /uwsgi-bare {
            uwsgi_pass $arg_to;
        }
        location = /uwsgi-dns {
            resolver 127.0.0.1:%%PORT_5%%;
            uwsgi_pass $arg_to;
        }
        location = /scgi {
            resolver 127.0.0.1:%%PORT_5%%;
            scgi_pass $arg_to;
        }
        location = /mc {
            resolver 127.0.0.1:%%PORT_5%%;
            set $memcached_key $arg_k;
            memcached_pass $arg_to;
        }
    }
}
EOF
my $P = $f->prefix;
$f->write_file('html/pool.php', "<?php echo 'POOL=', \$_SERVER['POOL'], \"\\n\";\n");
$f->write_file('hosts', "127.0.0.1 php.ferry.test\n"
                        . "127.0.0.1 uw.ferry.test\n"
                        . "127.0.0.1 mc.ferry.test\n");

my $fpm = Ferry::PHPFPM->new(dir => $P, pools => [
    { name => 'a', listen => '127.0.0.1:' . $f->port(1), children => 2 },
    { name => 'b', listen => "$P/php-b.sock", children => 2 } ]);
ok($fpm->wait_up, 'php-fpm is up (a TCP pool, a unix-socket pool)');
my $uw = Ferry::UWSGI->new(dir => $P, name => 'uw', processes => 1,
                           socket => '127.0.0.1:' . $f->port(2));
my $sc = Ferry::UWSGI->new(dir => $P, name => 'sc', proto => 'scgi',
                           processes => 1,
                           socket => '127.0.0.1:' . $f->port(3));

# memcached, holding key "k" = "from memcached"
{
    my $port = $f->port(4);
    my $pid = fork // die "fork: $!";
    if ($pid == 0) {
        open STDOUT, '>', '/dev/null';
        open STDERR, '>', '/dev/null';
        { exec $MEMCACHED, '-l', '127.0.0.1', '-p', $port, '-U', '0',
               '-m', '8', '-c', '64', ($> == 0 ? ('-u', 'root') : ()); }
        POSIX::_exit(127);
    }
    push @kids, $pid;
    wait_until { !port_is_closed($port) } 5
        or die "memcached did not start on $port\n";
    my $s = IO::Socket::INET->new(PeerAddr => "127.0.0.1:$port",
                                  Timeout => 5) or die "connect: $!";
    print $s "set k 0 0 14\r\nfrom memcached\r\n";
    my $r = <$s>;
    die "set k: $r" unless $r eq "STORED\r\n";
    close $s;
}

# dnsmasq, answering for *.ferry.test from the hosts file
{
    my $pid = fork // die "fork: $!";
    if ($pid == 0) {
        open STDOUT, '>', "$P/dnsmasq.log";
        open STDERR, '>&', \*STDOUT;
        { exec $DNSMASQ, '--keep-in-foreground', '--port=' . $f->port(5),
             '--listen-address=127.0.0.1', '--bind-interfaces',
             '--no-resolv', '--no-hosts', "--addn-hosts=$P/hosts",
             '--local=/test/', '--conf-file=/dev/null', '--pid-file=',
             '--user=' . getpwuid($<), '--log-facility=-'; }
        POSIX::_exit(127);
    }
    push @kids, $pid;
    my $ok = wait_until {
        my $s = IO::Socket::INET->new(PeerAddr => '127.0.0.1',
                                      PeerPort => $f->port(5),
                                      Proto => 'udp') or return 0;
        $s->send(pack('nnnnnn', 7, 0x0100, 1, 0, 0, 0)
                 . "\x01x\x00\x00\x01\x00\x01");
        my $sel = IO::Select->new($s);
        return 0 unless $sel->can_read(0.5);
        my $buf = '';
        return defined $s->recv($buf, 512) && length $buf > 12;
    } 10;
    ok($ok, 'dnsmasq answers');
}

$f->allow_log(qr/no resolver defined to resolve|could not be resolved/,
              qr/no port in upstream|connect\(\) failed/);
$f->start or BAIL_OUT('ferry did not start');

my ($p1, $p2, $p3, $p4) = map { $f->port($_) } 1 .. 4;

# ---- fastcgi_pass ----
my $r = http_get($f->port(0), "/fcgi?to=127.0.0.1:$p1");
is($r->{status}, 200, 'fastcgi_pass $var, an IP address:port: 200');
like($r->{body}, qr/^POOL=a$/m, '... answered by the pool there');
is($r->{headers}{'x-up'}, "127.0.0.1:$p1", '... $upstream_addr');

$r = http_get($f->port(0), '/fcgi?to=php_group');
is($r->{status}, 200, 'fastcgi_pass $var naming an upstream block: 200');
like($r->{body}, qr/^POOL=b$/m, '... that group\'s server answered');
is($r->{headers}{'x-up'}, "unix:$P/php-b.sock", '... $upstream_addr');

$r = http_get($f->port(0), '/fcgi?to=PHP_GROUP');
like($r->{body}, qr/^POOL=b$/m,
     '... the name compared without regard to case, as nginx does');

$r = http_get($f->port(0), '/fcgi-unix?pool=b');
is($r->{status}, 200, 'fastcgi_pass $var, unix:/path: 200');
like($r->{body}, qr/^POOL=b$/m, '... the pool on that socket');
$r = http_get($f->port(0), '/fcgi-unix?pool=none');
is($r->{status}, 502, '... a socket nobody listens on: 502');

$r = http_get($f->port(0), '/fcgi-dns');
is($r->{status}, 200,
   'set $php NAME:PORT; fastcgi_pass $php: resolved with the resolver');
like($r->{body}, qr/^POOL=a$/m, '... answered at its address');
is($r->{headers}{'x-up'}, "127.0.0.1:$p1", '... $upstream_addr');

$r = http_get($f->port(0), "/fcgi-dns-arg?to=nope.ferry.test:$p1");
is($r->{status}, 502, 'a name the resolver does not know: 502');
like($f->error_log,
     qr/nope\.ferry\.test could not be resolved \(3: Host not found\)/,
     '... "could not be resolved (3: Host not found)" in the error log');

$r = http_get($f->port(0), "/fcgi?to=php.ferry.test:$p1");
is($r->{status}, 502, 'a name, and no resolver in the location: 502');
like($f->error_log, qr/no resolver defined to resolve php\.ferry\.test/,
     '... "no resolver defined to resolve NAME" in the error log');

$r = http_get($f->port(0), '/fcgi?to=no_such_group');
is($r->{status}, 500, 'a name that is no upstream, without a port: 500');
like($f->error_log, qr/no port in upstream "no_such_group"/,
     '... "no port in upstream" in the error log, as nginx');

$r = http_get($f->port(0), '/fcgi?to=localhost');
is($r->{status}, 500,
   '... also a name "proxy_pass http://NAME" made an upstream of (port 80)');
like($f->error_log, qr/no port in upstream "localhost"/, '... logged so');

$r = http_get($f->port(0), '/fcgi?to=127.0.0.1:' . $f->port(6));
is($r->{status}, 502, 'an address nobody listens on: 502');

# ---- uwsgi_pass, scgi_pass ----
$r = http_get($f->port(0), "/uwsgi?to=127.0.0.1:$p2");
is($r->{status}, 200, 'uwsgi_pass uwsgi://$var, an address: 200');
is(Ferry::UWSGI::env_of($r->{body})->{INSTANCE}, 'uw',
   '... the uWSGI there answered');

$r = http_get($f->port(0), '/uwsgi-bare?to=uw_group');
is($r->{status}, 200, 'uwsgi_pass $var naming an upstream block: 200');
is(Ferry::UWSGI::env_of($r->{body})->{INSTANCE}, 'uw', '... its server');

$r = http_get($f->port(0), "/uwsgi-bare?to=uwsgi://127.0.0.1:$p2");
is(Ferry::UWSGI::env_of($r->{body})->{INSTANCE}, 'uw',
   '... a value starting with uwsgi:// (nginx takes it too)');

$r = http_get($f->port(0), "/uwsgi-dns?to=uw.ferry.test:$p2");
is($r->{status}, 200, 'uwsgi_pass $var, a name resolved: 200');
is($r->{headers}{'x-up'}, "127.0.0.1:$p2", '... at its address');

$r = http_get($f->port(0), "/scgi?to=uw.ferry.test:$p3");
is($r->{status}, 200, 'scgi_pass $var, a name resolved: 200');
is(Ferry::UWSGI::env_of($r->{body})->{INSTANCE}, 'sc',
   '... the SCGI server answered');

$r = http_get($f->port(0), "/scgi?to=127.0.0.1:$p3");
is(Ferry::UWSGI::env_of($r->{body})->{INSTANCE}, 'sc',
   'scgi_pass $var, an address: the SCGI server answered');

# ---- memcached_pass ----
$r = http_get($f->port(0), "/mc?to=127.0.0.1:$p4&k=k");
is($r->{status}, 200, 'memcached_pass $var, an address: 200');
is($r->{body}, 'from memcached', '... the value held');

$r = http_get($f->port(0), "/mc?to=mc.ferry.test:$p4&k=k");
is($r->{status}, 200, 'memcached_pass $var, a name resolved: 200');
is($r->{headers}{'x-up'}, "127.0.0.1:$p4", '... at its address');

$r = http_get($f->port(0), "/mc?to=mc.ferry.test:$p4&k=other");
is($r->{status}, 404, '... a key memcached does not hold: 404');

$r = http_get($f->port(0), '/mc?to=mc.ferry.test&k=k');
is($r->{status}, 500, 'memcached_pass $var, a name without a port: 500');

$f->stop;
$fpm->stop;
$uw->stop;
$sc->stop;

# ---- configuration errors that still apply ----
server_conf_refused("location / { set \$a 127.0.0.1:1; fastcgi_pass \$a;\n"
                    . "            fastcgi_pass \$a; }",
                    qr/"fastcgi_pass" directive is duplicate in .*ferry\.conf:9/,
                    'fastcgi_pass $var twice');
server_conf_refused("location / { fastcgi_pass \$nosuchvar; }",
                    qr/unknown "nosuchvar" variable .*ferry\.conf:8/,
                    'fastcgi_pass with an unknown variable');
server_conf_refused("location / { scgi_pass http://\$host; }",
                    qr/invalid address "http:\/\/\$host" in "scgi_pass": SCGI addresses have no scheme in .*ferry\.conf:8/,
                    'scgi_pass with a scheme before the variable');
server_conf_refused("location / { uwsgi_pass suwsgi://\$host; }",
                    qr/variables in "uwsgi_pass suwsgi:\/\/" are not supported: "suwsgi:\/\/\$host" in .*ferry\.conf:8/,
                    'uwsgi_pass suwsgi:// with variables (not in ferry)');
server_conf_refused("location / { memcached_pass \$host;\n"
                    . "            proxy_pass http://127.0.0.1:1; }",
                    qr/"proxy_pass" directive is duplicate in .*ferry\.conf:9/,
                    'memcached_pass $var and proxy_pass in one location');

done_testing;
