#!/usr/bin/perl

# nginx's expires: Expires and Cache-Control for a time from now, from
# the Last-Modified ("modified", of a file or of the upstream's
# response), a time of day ("@"), a negative time (no-cache), 0, epoch,
# max, off; inheritance; only the statuses nginx adds them to (200,
# 204, 206, 301, 302, 304, ...; not 404); static files, "return" and
# proxied responses (the upstream's own Expires and Cache-Control
# replaced, kept when expires does not apply); together with
# add_header; configuration errors with file and line.

use strict;
use warnings;

use Test::More;
use Ferry::Test;
use Time::Local qw(timegm);
use POSIX qw(mktime);

my %mon = (Jan => 0, Feb => 1, Mar => 2, Apr => 3, May => 4, Jun => 5,
           Jul => 6, Aug => 7, Sep => 8, Oct => 9, Nov => 10, Dec => 11);

sub http_time {
    my ($s) = @_;
    return undef unless defined $s
        && $s =~ /^\w{3}, (\d\d) (\w{3}) (\d{4}) (\d\d):(\d\d):(\d\d) GMT\z/;
    return timegm($6, $5, $4, $1, $mon{$2}, $3);
}

sub http_date {
    my @t = gmtime($_[0]);
    return sprintf('%s, %02d %s %04d %02d:%02d:%02d GMT',
                   (qw(Sun Mon Tue Wed Thu Fri Sat))[$t[6]], $t[3],
                   (qw(Jan Feb Mar Apr May Jun Jul Aug Sep Oct Nov Dec))[$t[4]],
                   $t[5] + 1900, $t[2], $t[1], $t[0]);
}

my $upstream_lm = time - 600;

my $f = Ferry::Test->new(conf => main_conf() . <<'EOF');
worker_processes 1;
events { worker_connections 64; }
http {
    upstream be { server 127.0.0.1:%%PORT_1%%; }
    server {
        listen 127.0.0.1:%%PORT_0%%;
        root %%PREFIX%%/html;
        expires 2h;

        location /inh/ { }
        location /off/ { expires off; }
        location /h/ { expires 1h; }
        location /plus/ { expires +90s; }
        location /m/ { expires modified 1d; }
        location /mpast/ { expires modified 1h; }
        location /neg/ { expires -1; }
        location /zero/ { expires 0; }
        location /epoch/ { expires epoch; }
        location /max/ { expires max; }
        location /daily/ { expires @15h30m; }
        location /ret/ { expires 1h; return 200 "text\n"; }
        location /ret404/ { expires 1h; return 404; }
        location /redir/ { expires 1h; return 302 /elsewhere; }
        location /add/ { expires 1h; add_header X-Extra yes; }
        location /up/ { expires 30m; proxy_pass http://be; }
        location /upm/ { expires modified 1h; proxy_pass http://be; }
        location /upoff/ { expires off; proxy_pass http://be; }
    }
}
EOF

for my $d (qw(inh off h plus m mpast neg zero epoch max daily add)) {
    $f->write_file("html/$d/x.txt", "$d\n");
}
my $old = time - 30 * 86400;          # a month ago: "modified 1h" is past
utime $old, $old, $f->prefix . '/html/mpast/x.txt';
my $recent = time - 3600;
utime $recent, $recent, $f->prefix . '/html/m/x.txt';

my $be = Ferry::Test::Backend->new(port => $f->port(1), handler => sub {
    my ($req) = @_;
    my $status = $req->{uri} =~ /404/ ? 404 : 200;
    return { status => $status, body => "up\n", headers => [
        'Content-Type' => 'text/plain',
        'Expires' => 'Thu, 01 Jan 2099 00:00:00 GMT',
        'Cache-Control' => 'private',
        'Cache-Control' => 'max-age=5',
        'Last-Modified' => http_date($upstream_lm),
    ] };
});
$f->start or BAIL_OUT('ferry did not start');

sub get { http_get($f->port(0), @_) }

# Expires minus Date, and Cache-Control, of a response.
sub ages {
    my ($r) = @_;
    my $e = http_time($r->{headers}{expires});
    my $d = http_time($r->{headers}{date});
    return (defined $e && defined $d ? $e - $d : 'none',
            $r->{headers}{'cache-control'} // 'none');
}

my $r = get('/h/x.txt');
is($r->{status}, 200, 'static file');
is_deeply([ages($r)], [3600, 'max-age=3600'],
          'expires 1h: Expires one hour after Date, max-age=3600');
is_deeply([ages(get('/plus/x.txt'))], [90, 'max-age=90'], 'expires +90s');
is_deeply([ages(get('/inh/x.txt'))], [7200, 'max-age=7200'],
          'a location without expires inherits the server\'s');
$r = get('/off/x.txt');
ok(!exists $r->{headers}{expires} && !exists $r->{headers}{'cache-control'},
   'expires off: neither header');

$r = get('/m/x.txt');
is(http_time($r->{headers}{expires}), $recent + 86400,
   'expires modified 1d: the file\'s mtime plus a day');
my ($max) = ($r->{headers}{'cache-control'} // '') =~ /^max-age=(\d+)\z/;
ok(defined $max && abs($max - (82800)) <= 2,
   '... max-age what is left of it (about 23h)') or diag explain $r->{headers};
$r = get('/mpast/x.txt');
is(http_time($r->{headers}{expires}), $old + 3600,
   'expires modified 1h of a month-old file: Expires in the past');
is($r->{headers}{'cache-control'}, 'no-cache', '... and no-cache');

$r = get('/neg/x.txt');
is_deeply([ages($r)], [-1, 'no-cache'], 'expires -1: a second ago, no-cache');
$r = get('/zero/x.txt');
is_deeply([ages($r)], [0, 'max-age=0'], 'expires 0: Expires is Date, max-age=0');
$r = get('/epoch/x.txt');
is($r->{headers}{expires}, 'Thu, 01 Jan 1970 00:00:01 GMT', 'expires epoch');
is($r->{headers}{'cache-control'}, 'no-cache', '... no-cache');
$r = get('/max/x.txt');
is($r->{headers}{expires}, 'Thu, 31 Dec 2037 23:55:55 GMT', 'expires max');
is($r->{headers}{'cache-control'}, 'max-age=315360000', '... ten years');

$r = get('/daily/x.txt');
my $exp = http_time($r->{headers}{expires});
my @lt = localtime($exp // 0);
is(sprintf('%02d:%02d:%02d', @lt[2, 1, 0]), '15:30:00',
   'expires @15h30m: at 15:30 local time');
my $now = http_time($r->{headers}{date});
ok($exp > $now && $exp - $now <= 86400, '... the next one, within a day');
is($r->{headers}{'cache-control'}, 'max-age=' . ($exp - $now),
   '... max-age until then');

# statuses
my $etag = get('/h/x.txt')->{headers}{etag};
$r = get('/h/x.txt', 'If-None-Match' => $etag);
is($r->{status}, 304, 'a 304');
is_deeply([ages($r)], [3600, 'max-age=3600'], '... has them too');
$r = get('/h/x.txt', Range => 'bytes=0-0');
is($r->{status}, 206, 'a 206');
is($r->{headers}{'cache-control'}, 'max-age=3600', '... has them too');
$r = get('/h/nothere.txt');
is($r->{status}, 404, 'a 404');
ok(!exists $r->{headers}{expires} && !exists $r->{headers}{'cache-control'},
   '... has neither');

$r = get('/ret/');
is("$r->{status} $r->{body}", "200 text\n", 'return 200');
is_deeply([ages($r)], [3600, 'max-age=3600'], '... has them');
$r = get('/redir/');
is($r->{status}, 302, 'return 302');
is($r->{headers}{'cache-control'}, 'max-age=3600', '... has them');
$r = get('/ret404/');
ok(!exists $r->{headers}{'cache-control'}, 'return 404 has not');

$r = get('/add/x.txt');
is($r->{headers}{'x-extra'}, 'yes', 'with add_header: its line');
is($r->{headers}{'cache-control'}, 'max-age=3600', '... and expires\'s');

# proxied
$r = get('/up/x');
is($r->{status}, 200, 'proxied');
is_deeply([ages($r)], [1800, 'max-age=1800'],
          '... the upstream\'s Expires and both its Cache-Control lines '
          . 'replaced by expires\'s');
is(scalar(grep { lc $_->[0] eq 'cache-control' } @{ $r->{header_list} }), 1,
   '... one Cache-Control line');
$r = get('/up/404');
is($r->{status}, 404, 'proxied 404');
is($r->{headers}{expires}, 'Thu, 01 Jan 2099 00:00:00 GMT',
   '... keeps the upstream\'s Expires');
is($r->{headers}{'cache-control'}, 'private, max-age=5',
   '... and its Cache-Control');
$r = get('/upm/x');
is(http_time($r->{headers}{expires}), $upstream_lm + 3600,
   'proxied, expires modified 1h: from the upstream\'s Last-Modified');
($max) = ($r->{headers}{'cache-control'} // '') =~ /^max-age=(\d+)\z/;
ok(defined $max && abs($max - 3000) <= 2, '... max-age what is left (50m)');
$r = get('/upoff/x');
is($r->{headers}{expires}, 'Thu, 01 Jan 2099 00:00:00 GMT',
   'expires off: the upstream\'s Expires passes');

$f->stop;

# ---- configuration errors ------------------------------------------------------
server_conf_refused('expires modified @1h;',
                    'daily time cannot be used with "modified" parameter in .*ferry\.conf:8',
                    'expires modified @TIME');
server_conf_refused('expires @25h;',
                    'daily time value must be less than 24 hours in .*ferry\.conf:8',
                    'expires @25h');
server_conf_refused('expires soon;', 'invalid value "soon" in .*ferry\.conf:8',
                    'expires with a bad time');
server_conf_refused('expires 500ms;', 'invalid value "500ms" in .*ferry\.conf:8',
                    'expires in milliseconds');
server_conf_refused('expires 1h 2h;', 'invalid value "1h" in .*ferry\.conf:8',
                    'two times');
server_conf_refused('expires 1h; expires 2h;',
                    '"expires" directive is duplicate in .*ferry\.conf:8',
                    'expires twice');
server_conf_refused('expires $arg_e;',
                    'variables in "expires" are not supported in .*ferry\.conf:8',
                    'expires with a variable');

done_testing;
