#!/usr/bin/perl

# secure_link, secure_link_md5, secure_link_secret, $secure_link and
# $secure_link_expires, with the links computed here as nginx's
# documentation shows (MD5, base64url without padding; hex MD5 of the
# link and the secret word): nginx's own example link; valid, expired,
# tampered, malformed and missing hashes and times; the
# "if ($secure_link = "") { return 403; }" shape with 410 for "0"; a
# link without a lifetime; directives inherited from the server; the
# secret-word mode with its "/prefix/hash/link" layout (query included,
# hex in either case) and rewrite to the protected place; a location
# without the directives; configuration errors with file and line.
#
# Every test depends on the directives or the variables, so each fails
# without them (the configuration is refused: unknown directive).

use strict;
use warnings;

use Test::More;
use Digest::MD5 qw(md5 md5_hex);
use MIME::Base64 qw(encode_base64);
use Ferry::Test;

my $f = Ferry::Test->new(conf => main_conf() . <<'EOF2');
worker_processes 1;
events { worker_connections 64; }
http {
    server {
        listen 127.0.0.1:%%PORT_0%%;

        secure_link $arg_h;
        secure_link_md5 "$uri srv-secret";
        location /inherit/ { return 200 "[$secure_link]"; }

        location /s/ {
            secure_link $arg_md5,$arg_expires;
            secure_link_md5 "$secure_link_expires$uri$remote_addr secret";
            return 200 "[$secure_link][$secure_link_expires]";
        }
        location /guard/ {
            secure_link $arg_md5,$arg_expires;
            secure_link_md5 "$secure_link_expires$uri$remote_addr secret";
            if ($secure_link = "") { return 403; }
            if ($secure_link = "0") { return 410; }
            return 200 "resource";
        }
        location /p/ {
            secure_link_secret segredo;
            if ($secure_link = "") { return 403; }
            rewrite ^ /files/$secure_link last;
        }
        location /files/ {
            internal;
            return 200 "file $uri";
        }
        location /v/ { secure_link_secret segredo; return 200 "[$secure_link]"; }
    }
    server {
        listen 127.0.0.1:%%PORT_1%%;
        location / { return 200 "[$secure_link][$secure_link_expires]"; }
    }
}
EOF2

$f->start;

# nginx's base64url: "-_" for "+/", no padding
sub b64url {
    my $s = encode_base64(md5($_[0]), '');
    $s =~ tr{+/}{-_};
    $s =~ s/=+$//;
    return $s;
}

sub get {
    my ($path, $port) = @_;
    my $r = http_get($port // $f->port(0), $path);
    return $r->{status} == 200 ? $r->{body} : "status $r->{status}";
}

my $far = 2147483647;
my $past = time() - 3600;
my $soon = time() + 3600;
my $ip = '127.0.0.1';
sub link_for {
    my ($uri, $exp) = @_;
    return "$uri?md5=" . b64url("$exp$uri$ip secret") . "&expires=$exp";
}

# nginx's documentation: "/s/link?md5=_e4Nc3iduzkWRm01TBBNYw&expires=
# 2147483647" is the link to /s/link for 127.0.0.1 until 2038
is(b64url("2147483647/s/link127.0.0.1 secret"), '_e4Nc3iduzkWRm01TBBNYw',
   'the hash of nginx\'s example, as computed here');
is(get('/s/link?md5=_e4Nc3iduzkWRm01TBBNYw&expires=2147483647'),
   '[1][2147483647]', 'nginx\'s example link: "1"');
is(get(link_for('/s/a', $soon)), "[1][$soon]", 'valid until later: "1"');
is(get(link_for('/s/a', $past)), "[0][$past]", 'expired: "0"');

my $good = link_for('/s/a', $far);
(my $other = $good) =~ s{^/s/a}{/s/b};
is(get($other), "[][$far]", 'another URI with the hash of /s/a: empty');
(my $later = $good) =~ s/expires=$far/expires=2147483646/;
is(get($later), '[][2147483646]', 'a changed time: empty');
my $h = b64url("$far/s/a$ip secret");
(my $flip = $h) =~ tr/A-Za-z/B-ZAb-za/;
is(get("/s/a?md5=$flip&expires=$far"), "[][$far]", 'a changed hash: empty');
is(get("/s/a?md5=$h==&expires=$far"), "[1][$far]", 'padding "==" allowed');
is(get("/s/a?md5=$h===&expires=$far"), "[][$far]",
   'more than 24 characters: empty');
is(get("/s/a?md5=" . substr($h, 0, 20) . "&expires=$far"), "[][$far]",
   'a short hash: empty');
is(get("/s/a?expires=$far"), "[][$far]", 'no hash: empty');
is(get("/s/a?md5=$h"), '[][]', 'no time after the comma: empty');
is(get("/s/a?md5=$h&expires=0"), '[][]', 'time 0: empty');
is(get("/s/a?md5=$h&expires=12x"), '[][]', 'a time not in digits: empty');

# a hash with '-' or '_' in it, sent in standard base64 with '+' or '/'
my ($exp, $url);
for ($exp = $far; ; $exp--) {
    $url = b64url("$exp/s/a$ip secret");
    last if $url =~ /[-_]/;
}
is(get("/s/a?md5=$url&expires=$exp"), "[1][$exp]", 'a hash with - or _');
(my $std = $url) =~ tr{-_}{+/};
$std =~ s/\+/%2B/g;     # (the query is not decoded, as in nginx)
$std =~ s{/}{%2F}g;
is(get("/s/a?md5=$std&expires=$exp"), "[][$exp]",
   'the same in standard base64: empty');

is(http_get($f->port(0), link_for('/guard/x', $far))->{status}, 200,
   'if ($secure_link = ""): a valid link passes');
is(http_get($f->port(0), link_for('/guard/x', $past))->{status}, 410,
   'if ($secure_link = "0"): an expired link is 410');
is(http_get($f->port(0), "/guard/x?md5=$h&expires=$far")->{status}, 403,
   'a wrong link is 403');
is(http_get($f->port(0), '/guard/x')->{status}, 403, 'no link: 403');

# the server's secure_link and secure_link_md5, no lifetime
is(get('/inherit/f?h=' . b64url('/inherit/f srv-secret')), '[1]',
   'inherited from the server, no lifetime: "1"');
is(get('/inherit/g?h=' . b64url('/inherit/f srv-secret')), '[]',
   '... another URI: empty');

# secure_link_secret: /PREFIX/HASH/LINK, HASH = md5_hex(LINK . WORD)
my $hx = md5_hex('some/file.txt' . 'segredo');
is(get("/p/$hx/some/file.txt"), 'file /files/some/file.txt',
   'secure_link_secret: the link, rewritten to the files');
is(get('/p/' . uc($hx) . '/some/file.txt'), 'file /files/some/file.txt',
   '... the hash in capitals');
is(http_get($f->port(0), "/p/$hx/other.txt")->{status}, 403,
   '... another link: 403');
is(http_get($f->port(0), "/p/$hx/")->{status}, 403, '... no link: 403');
is(http_get($f->port(0), '/p/' . substr($hx, 1) . '/some/file.txt')->{status},
   403, '... 31 hex digits: 403');
is(http_get($f->port(0), '/p/some/file.txt')->{status}, 403,
   '... no hash: 403');
my $hq = md5_hex('f.txt?x=1' . 'segredo');
is(get("/v/$hq/f.txt?x=1"), '[f.txt?x=1]',
   '$secure_link is the rest of the request URI, its query too');
is(get("/v/$hq/f.txt"), '[]', '... which the hash covers');

is(get('/s/a', $f->port(1)), '[][]', 'no directives: both empty');

$f->stop;

server_conf_refused('location /x { secure_link_secret a; secure_link $arg_h; }',
    '"secure_link_secret" cannot be mixed with "secure_link" and '
    . '"secure_link_md5" in \S+ferry.conf:8', 'both modes in one location');
server_conf_refused('location /x { secure_link_md5 x; secure_link_secret a; }',
    '"secure_link_secret" cannot be mixed .* in \S+ferry.conf:8',
    'both modes, the other order');
server_conf_refused('secure_link_secret a;',
    '"secure_link_secret" directive is not allowed here in \S+ferry.conf:8',
    'secure_link_secret only in a location');
server_conf_refused('secure_link_md5 "$nosuch x";',
    'unknown "nosuch" variable in \S+ferry.conf:8', 'an unknown variable');
server_conf_refused('secure_link $arg_a; secure_link $arg_b;',
    '"secure_link" directive is duplicate in \S+ferry.conf:8', 'twice');

done_testing;
