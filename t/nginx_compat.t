#!/usr/bin/perl

# nginx_compat: a differential test against real nginx.  nginx (Debian's
# nginx-light, /usr/sbin/nginx; installed with apt-get when missing) and
# ferry each run the SAME http-level configuration (one template, ports
# and paths filled in), with one shared echo backend and one shared
# document root; the same raw requests go to both and what a client sees
# is compared: the status, the headers Location, Content-Type,
# WWW-Authenticate, Cache-Control (max-age within 2 seconds), Expires
# (presence; the value when fixed), Set-Cookie, ETag (presence), Vary and
# every X-* header, and the body - except bodies that nginx generates
# itself (its error and redirect pages, which name nginx).  Autoindex
# JSON is parsed and compared entry by entry; the HTML listing is
# compared line by line.
#
# Covered: rewrite flags (last, break, redirect, permanent), the
# arguments with and without a trailing '?', captures in redirects, the
# 10-cycle 500; if with =, !=, ~, ~*, -f, -d, -e, !-e; set and
# variables in return; map, geo, split_clients (250 strings through one
# split, so a hash or bucket mismatch shows); valid_referers (none,
# blocked, server_names, wildcards, a regex); autoindex (json, xml,
# html; names with spaces, '&', '<'); auth_basic with {PLAIN}, {SHA},
# {SSHA}, $apr1$ and $6$; limit_except; internal; expires; charset (ranges of a recoding too);
# etag; add_header; error_page to a URI, with =CODE and to a named
# location; try_files; merge_slashes; absolute_redirect and
# port_in_redirect in directory redirects; proxy_redirect default;
# proxy_cookie_path/domain; X-Accel-Redirect; limit_req; $server_name
# of regex, mixed, wildcard and leading-dot names; $sent_http_ read by
# add_header (return, file, proxied).  Also: the
# escaping of captures, $arg_/$cookie_/$http_ variables, conditional
# and range requests, methods on files and directories, proxied URIs.
#
# Each fix this test led to is its own commit in src/ (see git log);
# the cases that showed the difference are here.
#
# Where a difference is documented in docs/configuration.md as
# deliberate, the case asserts ferry's documented behaviour instead and
# says so where it is listed.

use strict;
use warnings;

use Test::More;
use Ferry::Test;
use File::Temp ();
use File::Path ();
use POSIX ();
use Digest::SHA qw(sha1);
use MIME::Base64 qw(encode_base64);
use JSON::PP ();

# ---- nginx: found or installed ----

sub have_cmd { system("command -v $_[0] > /dev/null 2>&1") == 0 }

sub need_nginx {
    return '' if -x '/usr/sbin/nginx';
    return 'nginx missing and not root: apt-get install nginx-light'
        if $> != 0;
    return 'nginx missing and no apt-get to install nginx-light'
        unless have_cmd('apt-get');
    alarm 900;
    diag('installing nginx-light');
    my $apt = 'DEBIAN_FRONTEND=noninteractive apt-get -q -y'
            . ' -o DPkg::Lock::Timeout=300';
    my $ok = system("$apt install --no-install-recommends nginx-light"
                    . " < /dev/null > /dev/null 2>&1") == 0
          || (system("$apt update < /dev/null > /dev/null 2>&1") == 0
              && system("$apt install --no-install-recommends nginx-light"
                        . " < /dev/null > /dev/null 2>&1") == 0);
    alarm($ENV{FERRY_TEST_TIMEOUT} || 100);
    # the package starts a system nginx on port 80; it is not ours
    system('service nginx stop > /dev/null 2>&1') if $ok;
    return '' if $ok && -x '/usr/sbin/nginx';
    return 'apt-get install nginx-light failed';
}

my $why = need_nginx();
plan skip_all => $why if $why;
my $NGINX = '/usr/sbin/nginx';

# ---- the shared configuration ----
# %%S0%% %%S1%% %%S2%%: the three listen ports of the server under test;
# %%BACK%%: the backend; %%ROOT%%: the shared document root;
# %%HTPASSWD%%: the password file.

my $TEMPLATE = <<'EOF';
    # two maps of a few letters: a single-byte one, one to UTF-8
    charset_map koi8-r windows-1251 { C1 E0; C2 E1; D7 C2; }
    charset_map koi8-r utf-8 { C1 D0B0; C2 D0B1; D7 D0B2; }
    types {
        text/html html;
        text/plain txt;
        application/json json;
        image/png png;
    }
    default_type application/octet-stream;

    map $arg_k $mapped {
        default     dflt;
        a           alpha;
        ~^b(\d+)$   beta$1;
        ~*^CASE     ci;
    }
    geo $geo_r {
        default       none;
        127.0.0.0/8   loop;
        10.0.0.0/8    ten;
    }
    geo $arg_ip $geo_a {
        default          none;
        192.168.1.0/24   lan;
        192.168.1.7      host7;
        10.0.0.0/8       ten;
    }
    split_clients "${arg_s}salt" $bucket {
        10%     one;
        25.5%   two;
        33%     three;
        *       rest;
    }
    limit_req_zone $uri zone=lr:1m rate=1r/m;
    geo $geo_px {
        proxy           127.0.0.1;
        default         none;
        10.0.0.0/8      ten;
        127.0.0.0/8     loop;
    }
    geo $geo_pxr {
        proxy           127.0.0.1;
        proxy           10.0.0.0/8;
        proxy_recursive;
        default         none;
        10.0.0.0/8      ten;
        192.168.0.0/16  lan;
        127.0.0.0/8     loop;
    }
    limit_req_zone $uri zone=lr2:1m rate=1r/m;
    map $arg_k $mv {
        default   $arg_d;
        x         "v-$arg_y";
        ~^(?<kk>z+)$  "zz-$kk";
    }
    map $mset $mfromset {
        default   no;
        hello     yes;
    }
    split_clients "$arg_s" $bucket2 {
        0.5%    tiny;
        50%     half;
    }
    map $arg_m $mapnd {
        ~^(?<pre>[a-z]+)-(\d+)$  "$pre:$2";
        ~*^X                    upper;
    }
    geo $arg_ip $geo_del {
        default          none;
        10.0.0.0/8       ten;
        10.1.0.0/16      tenone;
        10.1.2.0/24      twelve;
        10.1.3.0/24      thirteen;
        delete           10.1.2.0/24;
    }
    geo $arg_ip $geo_range {
        ranges;
        default                   none;
        10.0.0.0-10.0.0.255       r1;
        10.0.0.100-10.0.0.110     r2;
        192.168.0.0-192.168.255.255 r3;
    }
    map $http_host $maph {
        hostnames;
        default             dflt;
        example.com         exact;
        *.example.com       wild;
        www.example.*       tail;
        .example.org        dot;
    }

    upstream back { server 127.0.0.1:%%BACK%%; }

    server {
        listen 127.0.0.1:%%S0%%;
        server_name example.com *.example.org;
        root %%ROOT%%;

        location = /map   { return 200 "[$mapped]"; }
        location = /geo   { return 200 "[$geo_r][$geo_a]"; }
        location = /split { return 200 "[$bucket]"; }
        location = /set {
            set $a "x$arg_v";
            set $b "${a}y";
            return 200 "$a|$b|$uri|$args|$request_uri|$is_args";
        }

        location /rw/ {
            rewrite ^/rw/last/(.*)$       /dest/$1 last;
            rewrite ^/rw/break/(.*)$      /files/$1 break;
            rewrite ^/rw/red/(.*)$        /target/$1 redirect;
            rewrite ^/rw/perm/(.*)$       http://other.example/$1 permanent;
            rewrite ^/rw/noargs/(.*)$     /dest/$1? last;
            rewrite ^/rw/newargs/(.*)$    /dest/$1?n=1 last;
            rewrite ^/rw/rednoargs/(.*)$  /target/$1? redirect;
            rewrite ^/rw/redargs/(.*)$    /target/$1?n=$1 redirect;
            rewrite ^/rw/argcap/(.*)$     /dest/x?c=$1 last;
            rewrite ^/rw/pathcap/(.*)$    /dest/$1 last;
            rewrite ^/rw/redlit/(.*)$     /t%41%20%zz/$1 redirect;
            rewrite ^/rw/loop/            /rw/loop/x last;
            rewrite ^/rw/(a)(b)(c)$       /dest/$3$2$1;
            return 200 "rw-end $uri $args";
        }
        location /dest/ { return 200 "dest $uri $args"; }

        location /if/ {
            if ($arg_a = "yes")         { return 200 "eq"; }
            if ($arg_b != "")           { return 200 "ne $arg_b"; }
            if ($arg_c ~ ^(\d+)-(\w+)$) { return 200 "re $2 $1"; }
            if ($arg_d ~* ^abc)         { return 200 "rei"; }
            if (-f $request_filename)   { return 200 "file"; }
            if (-d $request_filename)   { return 200 "dir"; }
            if (!-e $request_filename)  { return 200 "none"; }
            return 200 "fallthrough";
        }
        location /ife/ {
            if (-e $request_filename)   { return 200 "exists"; }
            return 200 "missing";
        }

        location /ref/ {
            valid_referers none blocked server_names *.good.com
                           good.net/path ~\.regex\.io;
            if ($invalid_referer) { return 403; }
            return 200 "ref ok [$invalid_referer]";
        }

        location /ai/  { autoindex on; autoindex_format json; }
        location /aix/ { alias %%ROOT%%/ai/; autoindex on;
                         autoindex_format xml; }
        location /aih/ { alias %%ROOT%%/ai/; autoindex on; }

        # return runs before the access phase (nginx): /authr/ answers
        # without asking for a password, /auth/ checks it
        location /authr/ {
            auth_basic "Secret Place";
            auth_basic_user_file %%HTPASSWD%%;
            return 200 "in [$remote_user]";
        }
        location /auth/ {
            alias %%ROOT%%/files/;
            auth_basic "Secret Place";
            auth_basic_user_file %%HTPASSWD%%;
        }

        location /le/  { limit_except GET { deny all; } }
        location /ler/ { limit_except GET { deny all; } return 200 "ler"; }

        location /int/   { internal; return 200 "int $uri"; }
        location = /toint { rewrite ^ /int/x last; }

        location = /exp/1h    { expires 1h;     return 200 "e"; }
        location = /exp/epoch { expires epoch;  return 200 "e"; }
        location = /exp/max   { expires max;    return 200 "e"; }
        location = /exp/neg   { expires -1;     return 200 "e"; }
        location = /exp/off   { expires off;    return 200 "e"; }
        location = /exp/404   { expires 1h;     return 404; }
        location /expf/       { alias %%ROOT%%/files/; expires 30m; }

        location /cs/  { alias %%ROOT%%/files/; charset utf-8; }
        location = /csr { charset utf-8; return 200 "r"; }
        location /noetag/ { alias %%ROOT%%/files/; etag off; }

        location /ah/ {
            add_header X-A "v $uri";
            add_header X-Always yes always;
            alias %%ROOT%%/files/;
        }

        location /ep/ {
            error_page 404 /ep-target;
            error_page 403 =200 /ep-ok;
            error_page 418 = @named;
            error_page 410 =302 http://err.example/gone;
            if ($arg_x = "403") { return 403; }
            if ($arg_x = "418") { return 418; }
            if ($arg_x = "410") { return 410; }
        }
        location = /ep-target { return 200 "target $uri"; }
        location = /ep-ok     { return 200 "ok $uri"; }
        location @named       { return 200 "named $uri $args"; }
        location /epf/ { error_page 404 /files/a.txt; }

        location /tf/  { try_files $uri $uri/ /tf-fb?from=$uri; }
        location = /tf-fb { return 200 "fb $uri $args"; }
        location /tf2/ { try_files $uri =404; }
        location /tf3/ { try_files /nope $uri @tfn; }
        location @tfn  { return 200 "tfn $uri"; }

        location /files/ { }
        location /dirs/ { }
        location = /sentct { default_type text/x-foo;
                             add_header X-Copy $sent_http_content_type;
                             add_header X-Len "$sent_http_content_length";
                             add_header X-Conn "$sent_http_connection";
                             add_header X-First first;
                             add_header X-Prev "$sent_http_x_first";
                             add_header X-Later "$sent_http_x_last";
                             add_header X-Last last;
                             add_header X-CC "$sent_http_cache_control";
                             expires 1h;
                             return 200 "hello"; }
        location = /sentloc { add_header X-Loc "$sent_http_location";
                              return 302 /elsewhere; }
        location /sentf/ { alias %%ROOT%%/files/;
                           add_header X-Copy $sent_http_content_type;
                           add_header X-Len "$sent_http_content_length";
                           add_header X-LM "$sent_http_last_modified";
                           add_header X-ET "$sent_http_etag"; }
        location /sentpx/ { proxy_pass http://back/up/;
                            add_header X-Copy $sent_http_content_type;
                            add_header X-SC "$sent_http_set_cookie"; }
        location = /r301 { return 301 /somewhere; }
        location = /r302 { return 302 "http://abs.example/x?$args"; }

        location /px/ {
            proxy_pass http://back/up/;
            proxy_cookie_path /up/ /px/;
            proxy_cookie_domain back.internal example.com;
        }
        location = /lr { limit_req zone=lr; return 200 "lr"; }
        location = /lr2 { limit_req zone=lr2 burst=1 nodelay;
                          limit_req_status 429; return 200 "lr2"; }
        location = /mv { return 200 "[$mv]"; }
        location /epm/ { error_page 404 /files/missing.html; }
        location /epr/ { recursive_error_pages on;
                         error_page 404 /epr2/x; }
        location /epr2/ { error_page 404 = /ep-ok; }
        location /tfi/ { try_files $uri /int/tf; }
        location /tfai/ { alias %%ROOT%%/ai/; try_files $uri $uri/ =404;
                          autoindex on; autoindex_format json; }
        location /epi/ { error_page 404 /int/ep; }
        location = /r301text { return 301 "not/a/url"; }
        location = /r307 { return 307 https://t.example/; }
        location = /r200.JSON { return 200 "{}"; }
        location /retx/ { return 200 "x"; }
        location /ahx/ { add_header Cache-Control "no-cache"; expires 1h;
                         return 200 "x"; }
        location /rfa/ { alias %%ROOT%%/files/;
                         return 200 "[$request_filename][$document_root]"; }
        location /rfr/ { return 200 "[$request_filename][$document_root]"; }
        location /rfs/ { alias %%ROOT%%/files; }
        location /rfn/ { alias %%ROOT%%/files;
                         return 200 "[$request_filename]"; }
        location /tfargs/ { try_files /nope /tf-fb$is_args$args; }
        location /ep4/ { error_page 404 /ep-target?from=$uri; }
        location = /exp/0    { expires 0;    return 200 "e"; }
        location = /exp/m1h  { expires -1h;  return 200 "e"; }
        location = /exp/1d   { expires 1d;   return 200 "e"; }
        location /pxc/ {
            proxy_pass http://back/up/;
            proxy_cookie_path /up/ /pxc/;
            proxy_cookie_path ~^/up$ /pxc-exact;
            proxy_cookie_domain ~\.?back\.internal$ example.com;
        }
        location /pxrr/ {
            proxy_pass http://back/up/;
            proxy_redirect default;
            proxy_redirect http://back/elsewhere /ew;
            proxy_redirect ~^http://back:80/up/(.*)$ /p80/$1;
        }
        location = /geopx { return 200 "[$geo_px][$geo_pxr]"; }
        location = /mset { set $mset $arg_v; return 200 "[$mfromset]"; }
        location /ahr/ {
            add_header X-Plain p;
            add_header X-Always a always;
            error_page 404 /ah-target;
            if ($arg_r) { return 302 /elsewhere; }
            if ($arg_e) { return 500; }
        }
        location = /ah-target { return 200 "t"; }
        location /tfh/ { try_files $uri $uri.html $uri/ =404; }
        location = /https  { rewrite ^ https://$host$request_uri? permanent; }
        location /trail/   { rewrite ^/(.*)/$ /$1 permanent; return 200 "t $uri"; }
        location = /meth   { if ($request_method = POST) { return 405; }
                             return 200 "m $request_method"; }
        location = /ua     { if ($http_user_agent ~* (bot|crawler)) {
                                 return 403; }
                             return 200 "ua"; }
        location = /hostck { if ($host != "example.com") { return 421; }
                             return 200 "host ok"; }
        location = /emptyset { set $x ""; if ($x = "") { return 200 "empty"; }
                               return 200 "not"; }
        location /epe/ { error_page 404 = /ep-target; }
        location /eph/ { error_page 404 =301 /files/a.txt; }
        location /pxe/ { proxy_pass http://back/up/; expires 1h;
                         add_header X-Px px; }
        location /aij/ { alias %%ROOT%%/ai/; autoindex on;
                         autoindex_format jsonp; }
        location = /args { return 200 "[$arg_a][$arg_b][$arg_c_d][$args]"; }
        location = /cookie { return 200 "[$cookie_a][$cookie_b]"; }
        location = /hdr { return 200 "[$http_x_multi][$http_user_agent][$host]"; }
        location /cs2/ {
            alias %%ROOT%%/files/;
            charset koi8-r;
            source_charset koi8-r;
            charset_types text/plain application/json;
        }
        location /cs3/ { alias %%ROOT%%/files/; charset off; }
        location /csw/ { alias %%ROOT%%/csr/; charset windows-1251;
                         source_charset koi8-r; }
        location /csu/ { alias %%ROOT%%/csr/; charset utf-8;
                         source_charset koi8-r; }
        location = /csj { charset utf-8; default_type application/json;
                          return 200 "{}"; }
        location /ep2/ {
            error_page 404 /int/from-ep;
            error_page 500 502 503 504 /files/a.txt;
            if ($arg_x) { return 503; }
        }
        location /ep3/ {
            error_page 404 @ep3;
        }
        location @ep3 { return 404 "chained\n"; }
        location /expd/ { alias %%ROOT%%/dirs/; expires 1d; }
        location /tfa/ { try_files $uri @tfa; }
        location @tfa { return 200 "tfa $uri $args"; }
        location ~ /regx/ { return 200 "regex $uri"; }
        location ^~ /regx/pref/ { return 200 "prefix $uri"; }
        location = /regx/exact { return 200 "exact"; }
        location /pxi/ {
            proxy_pass http://back/up/;
            proxy_intercept_errors on;
            error_page 404 /ep-target;
        }
        location /pxn/ { proxy_pass http://back; }
        location /pxb/ {
            rewrite ^/pxb/(.*)$ /up/b/$1 break;
            proxy_pass http://back;
        }
        location /pxv/ {
            set $t "up/v";
            proxy_pass http://back/$t$is_args$args;
        }
        location /pxa/ {
            set $t "up/v";
            proxy_pass http://127.0.0.1:%%BACK%%/$t$is_args$args;
        }

        location = /geor  { return 200 "[$geo_range]"; }
        location = /split2 { return 200 "[$bucket2]"; }
        location = /mapnd { return 200 "[$mapnd]"; }
        location = /geod  { return 200 "[$geo_del]"; }
        location /aiu/ { alias %%ROOT%%/ai/; autoindex on;
                         autoindex_exact_size off; }
        location /ref2/ {
            valid_referers server_names;
            return 200 "[$invalid_referer]";
        }
        location /ref3/ {
            valid_referers none www.example.* www.site.com/p;
            return 200 "[$invalid_referer]";
        }
        location /tfd/ { alias %%ROOT%%/tf/; try_files $uri $uri/ =404; }
        location = /exp/at { expires @15h30m; return 200 "e"; }
        location = /maph  { return 200 "[$maph]"; }
        location = /ifvar { if ($arg_q) { return 200 "set"; } return 200 "unset"; }
        location = /setargs { set $args "a=1&b=2"; return 200 "$args $arg_b"; }
        location = /r204  { return 204; }
        location = /r418  { return 418 "teapot\n"; }
        location = /r404t { return 404 "custom\n"; }
        location = /rrel  { return 302 rel/x; }
        location = /rdollar { return 302 $scheme://$host:$server_port/s?$args; }
        location /ahi/ {
            add_header X-Loc loc;
            location /ahi/inner/ { add_header X-Inner in; return 200 "i"; }
            return 200 "o";
        }
        location /authoff/ {
            auth_basic "Realm \"q\"";
            auth_basic_user_file %%HTPASSWD%%;
            location /authoff/open/ { auth_basic off; return 200 "open"; }
            return 200 "closed";
        }
        location /pxr/ {
            proxy_pass http://back/up/;
            proxy_redirect http://back/up/ /moved/;
        }
        location /pxoff/ { proxy_pass http://back/up/; proxy_redirect off; }
        location /expm/ { alias %%ROOT%%/files/; expires modified +1h; }
        location /idx/ { alias %%ROOT%%/dirs/; index nope.html index.html; }
        location /epn/ { error_page 404 = @epn; }
        location @epn { return 200 "epn $uri $args $request_uri"; }
        location ~ ^/re/(?<first>[a-z]+)/(\d+) { return 200 "re $first $2 $1"; }
    }

    server {
        listen 127.0.0.1:%%S1%%;
        merge_slashes off;
        absolute_redirect off;
        root %%ROOT%%;
        location /dest/ { return 200 "dest1 $uri"; }
        location / { return 200 "other1 $uri"; }
        location /dirs/ { }
        location = /r301 { return 301 /somewhere; }
    }

    server {
        listen 127.0.0.1:%%S3%%;
        server_name srv3.example;
        server_name_in_redirect on;
        root %%ROOT%%;
        rewrite ^/old/(.*)$ /dest3/$1 last;
        rewrite ^/gone$ /dirs/sub redirect;
        location /dirs/ { }
        location /dest3/ { return 200 "dest3 $uri"; }
    }

    server {
        listen 127.0.0.1:%%S3%%;
        server_name ~^re\d+\.test$ ~^Other;
        location / { return 200 "[$server_name]"; }
    }
    server {
        listen 127.0.0.1:%%S3%%;
        server_name ~^mix\d+\.test$ Plain.Test;
        location / { return 200 "[$server_name]"; }
    }
    server {
        listen 127.0.0.1:%%S3%%;
        server_name *.Wild.test;
        location / { return 200 "[$server_name]"; }
    }
    server {
        listen 127.0.0.1:%%S3%%;
        server_name .Dot.test;
        location / { return 200 "[$server_name]"; }
    }

    server {
        listen 127.0.0.1:%%S2%%;
        port_in_redirect off;
        root %%ROOT%%;
        location /dirs/ { }
        location = /r301 { return 301 /somewhere; }
    }
EOF

# ---- the backend behind /px/ ----

my $bport = Ferry::Test::free_port();
my $backend = Ferry::Test::Backend->new(port => $bport, handler => sub {
    my ($req) = @_;
    my $u = $req->{uri};
    if ($u =~ m{^/up/redir}) {
        return { status => 302, headers => [
            Location => 'http://back/up/landed', 'Content-Type' => 'text/plain'
        ], body => "r" };
    }
    if ($u =~ m{^/up/foreign}) {
        return { status => 301, headers => [
            Location => 'http://elsewhere.example/up/x' ], body => "" };
    }
    if ($u =~ m{^/up/cookies2}) {
        return { status => 200, headers => [
            'Set-Cookie' => 'a=1; domain=.Back.Internal; path=/up/; HttpOnly',
            'Set-Cookie' => 'b=2; Path=/up',
            'Set-Cookie' => 'c=3; Path=/other/; Domain=else.where',
            'Set-Cookie' => 'd=4;path=/up/x;domain=back.internal',
            'Content-Type' => 'text/plain' ], body => "c2" };
    }
    if ($u =~ m{^/up/redirs/(\w+)}) {
        my %loc = (rel => '/up/rel', abs => 'http://back/up/abs',
                   port => 'http://back:80/up/port',
                   other => 'http://back/elsewhere',
                   refresh => 'http://back/up/r');
        return { status => $1 eq 'refresh' ? 200 : 302, headers => [
            ($1 eq 'refresh' ? (Refresh => "5; url=$loc{$1}")
                             : (Location => $loc{$1})),
            'Content-Type' => 'text/plain' ], body => "r" };
    }
    if ($u =~ m{^/up/cookie}) {
        return { status => 200, headers => [
            'Set-Cookie' => 'a=1; Domain=back.internal; Path=/up/sub',
            'Content-Type' => 'text/plain' ], body => "c" };
    }
    if ($u =~ m{/up/accel-int}) {
        return { status => 200, headers => [
            'X-Accel-Redirect' => '/int/acc', 'Set-Cookie' => 's=1',
            'X-Foo' => 'bar', 'Content-Type' => 'text/x-up',
            'Cache-Control' => 'max-age=60' ], body => "never" };
    }
    if ($u =~ m{/up/accel-file}) {
        return { status => 200, headers => [
            'X-Accel-Redirect' => '/files/a.txt',
            'Content-Type' => 'text/x-up' ], body => "never" };
    }
    if ($u =~ m{/up/accel-missing}) {
        return { status => 200, headers => [
            'X-Accel-Redirect' => '/files/none' ], body => "never" };
    }
    if ($u =~ m{/up/nf}) {
        return { status => 404, headers => [ 'Content-Type' => 'text/plain',
            'X-Up' => $u ], body => "backend 404\n" };
    }
    if ($u =~ m{^/up/accel-named}) {
        return { status => 200, headers => [
            'X-Accel-Redirect' => '@named' ], body => "never" };
    }
    if ($u =~ m{^/up/accel}) {
        return { status => 200, headers => [
            'X-Accel-Redirect' => '/dest/accel?q=1' ], body => "never" };
    }
    return { status => 200, headers => [ 'Content-Type' => 'text/plain',
             'X-Up' => $u ], body => "up $u" };
});

# ---- ferry, and the shared document root inside its prefix ----

my $ferry = Ferry::Test->new(conf => "");
my %fp = (S0 => $ferry->port(0), S1 => $ferry->port(1),
          S2 => $ferry->port(2), S3 => $ferry->port(3));
my $root = $ferry->prefix . '/html';
my $htpasswd = $ferry->prefix . '/htpasswd';

sub fill {
    my ($text, $p) = @_;
    $text =~ s/%%(S\d)%%/$p->{$1}/g;
    $text =~ s/%%BACK%%/$bport/g;
    $text =~ s/%%ROOT%%/$root/g;
    $text =~ s/%%HTPASSWD%%/$htpasswd/g;
    return $text;
}

$ferry->write_file('conf/ferry.conf', main_conf()
    . "worker_processes 1;\nevents { worker_connections 64; }\n"
    . "http {\n" . fill($TEMPLATE, \%fp) . "}\n");

my $MTIME = 1700000000;
sub put {
    my ($rel, $text) = @_;
    my $path = $ferry->write_file("html/$rel", $text);
    utime $MTIME, $MTIME, $path;
}
put('files/a.txt', "hello\n");
put('files/p.html', "<p>hi</p>\n");
put('files/i.png', "\x89PNG....");
put('files/b.bin', "x" x 1234);
put('csr/k.txt', "ab \xc1\xc2\xd7 cd \xc1\xc1 ef\n" x 4);
put('rw/break/x.txt', "not this\n");
put('if/file.txt', "f\n");
put('ife/file.txt', "f\n");
put('if/sub/keep', "k\n");
put('ife/sub/keep', "k\n");
put('le/f.txt', "le\n");
put('tf/real.txt', "real\n");
put('tf/d/index.html', "tf index\n");
put('tf2/real.txt', "real2\n");
put('tf3/real.txt', "real3\n");
put('dirs/sub/index.html', "sub index\n");
put('ai/plain.txt', "p" x 10);
put('ai/with space.txt', "s" x 2000);
put('ai/a&b.txt', "a&b\n");
put('ai/less<than.txt', "lt\n");
put('ai/zdir/f', "z\n");
put('ai/Adir/f', "A\n");
put('ai/.hidden', "h\n");
put('ai/big.bin', "b" x 300000);
for my $d (qw(ai ai/zdir ai/Adir files dirs dirs/sub tf tf/d)) {
    utime $MTIME, $MTIME, "$root/$d";
}

# htpasswd: every format nginx reads
sub ssha {
    my ($pw, $salt) = @_;
    return '{SSHA}' . encode_base64(sha1($pw . $salt) . $salt, '');
}
my $apr = `openssl passwd -apr1 -salt abcdefgh pw-apr`;
my $six = `openssl passwd -6 -salt saltsalt pw-six`;
chomp($apr, $six);
$ferry->write_file('htpasswd', join '',
    "# comment line\n",
    "plain:{PLAIN}pw-plain\n",
    "sha:{SHA}" . encode_base64(sha1('pw-sha'), '') . "\n",
    "ssha:" . ssha('pw-ssha', 'NaCl') . "\n",
    "apr:$apr\n",
    "six:$six\n",
    "md5:" . `openssl passwd -1 -salt saltsalt pw-md5`,
    "s256:" . `openssl passwd -5 -salt saltsalt pw-s256`,
    "des:" . crypt('pw-des', 'ab') . "\n",
    "withcomment:{PLAIN}pw-withcomment:some comment\n",
    "  spaced:{PLAIN}pw-spaced\n");
chmod 0644, $htpasswd;

$ferry->start;

# ---- nginx, in its own prefix, as this user ----

my $np = File::Temp::tempdir('ferry-nginx-XXXXXX', TMPDIR => 1,
                             CLEANUP => 0);
my %np = map { ($_ => Ferry::Test::free_port()) } qw(S0 S1 S2 S3);
mkdir "$np/tmp";
{
    my $user = (getpwuid $>)[0];
    open my $fh, '>', "$np/nginx.conf" or die "$np/nginx.conf: $!\n";
    print $fh ($> == 0 ? "user $user;\n" : ''),
        "worker_processes 1;\n",
        "error_log $np/error.log info;\n",
        "pid $np/nginx.pid;\n",
        "events { worker_connections 64; }\n",
        "http {\n",
        "    access_log off;\n",
        map({ "    ${_}_temp_path $np/tmp/$_;\n" }
            qw(client_body proxy fastcgi uwsgi scgi)),
        fill($TEMPLATE, \%np),
        "}\n";
    close $fh;
}
my $npid = fork // die "fork: $!\n";
if ($npid == 0) {
    open STDOUT, '>', "$np/stdout.log";
    open STDERR, '>', "$np/stderr.log";
    { exec $NGINX, '-p', "$np/", '-e', "$np/error.log", '-c',
         "$np/nginx.conf", '-g', 'daemon off; master_process on;' }
    POSIX::_exit(127);
}
my $nginx_up = wait_until {
    IO::Socket::INET->new(PeerAddr => "127.0.0.1:$np{S0}", Timeout => 1)
} 10;
ok($nginx_up, 'nginx started')
    or diag(Ferry::Test::read_file("$np/stderr.log") // '',
            Ferry::Test::read_file("$np/error.log") // '');

END {
    local $?;       # keep the test's exit status
    if ($npid) {
        kill 'QUIT', $npid;
        my $t = time + 5;
        while (waitpid($npid, POSIX::WNOHANG()) == 0 && time < $t) {
            select undef, undef, undef, 0.05;
        }
        if (waitpid($npid, POSIX::WNOHANG()) == 0) {
            kill 'KILL', $npid;
            waitpid $npid, 0;
        }
        File::Path::remove_tree($np) if Test::More->builder->is_passing;
    }
}

# ---- sending and comparing ----

# What a client sees of one response, with each side's own ports
# replaced by S0/S1/S2 so the two can be compared.
sub seen {
    my ($r, $ports, %o) = @_;

    return { error => $r->{error} } if $r->{error};
    my %h = %{ $r->{headers} };
    my %s = (status => $r->{status});
    for my $n (sort keys %h) {
        my $v = $h{$n};
        for my $k (keys %$ports) {
            $v =~ s/:$ports->{$k}\b/:$k/g;
        }
        if ($n =~ /^(location|content-type|www-authenticate|set-cookie
                     |vary|content-range|last-modified|allow)$/x
            || $n =~ /^x-/)
        {
            $s{$n} = $v;
        } elsif ($n eq 'cache-control') {
            # the time left is counted a few milliseconds apart on the
            # two: compared apart, within 2 seconds (run_case)
            my $c = $v;
            $s{'max-age'} = $1 if $c =~ s/max-age=(-?\d+)/max-age=N/;
            $s{$n} = $c;
        } elsif ($n eq 'expires') {
            $s{$n} = $v =~ /1970|2037/ ? $v : 'present';
        } elsif ($n eq 'etag') {
            # the files' times are fixed: nginx's "mtime-size" in hex
            $s{$n} = $v;
        }
    }
    # nginx's own error and redirect pages name nginx; their text is
    # ferry's own and not compared
    my $nbody = $o{nginx_body} // $r->{body};
    $s{body} = $r->{body}
        unless $nbody =~ m{<center>nginx</center>|<hr><center>nginx}
            || $o{no_body};
    return \%s;
}

my (@CASES);

# case(NAME, SERVER, REQUEST-OPTIONS..., expect => {field => ferry's
# documented value}, no_body => 1, json => 1, lines => 1)
sub case {
    my ($name, $srv, %o) = @_;
    push @CASES, [$name, $srv, \%o];
}

sub run_case {
    my ($name, $srv, $o) = @_;
    my %req = (method => $o->{method} // 'GET', path => $o->{path},
               headers => [ @{ $o->{headers} // [] },
                            Connection => 'close' ],
               (defined $o->{body} ? (body => $o->{body}) : ()));
    my $raw = $o->{raw} // build_request(%req);
    my $head = ($req{method} eq 'HEAD') ? 1 : 0;
    my $rn = http($np{$srv}, $raw, head => $head);
    my $rf = http($fp{$srv}, $raw, head => $head);
    if ($rn->{error}) {
        fail("$name: nginx answered") or diag($rn->{error});
        return;
    }
    my $sn = seen($rn, \%np, %$o);
    my $sf = seen($rf, \%fp, %$o, nginx_body => $rn->{body} // '');
    if (defined $sn->{'max-age'} && defined $sf->{'max-age'}
        && abs($sn->{'max-age'} - $sf->{'max-age'}) <= 2)
    {
        $sf->{'max-age'} = $sn->{'max-age'};
    }
    if ($o->{json}) {
        for my $s ($sn, $sf) {
            next unless defined $s->{body};
            my $j = eval { JSON::PP->new->decode($s->{body}) };
            $s->{body} = $j // "not JSON: $s->{body}";
        }
    }
    # Documented (docs/configuration.md, "The return directive"): a
    # redirect ferry makes itself has no HTML body, hence no
    # Content-Type, where nginx sends its own small page.
    if (($sn->{status} // 0) =~ /^30[12378]$/ && !exists $sn->{body}
        && ($sn->{'content-type'} // '') eq 'text/html')
    {
        ok(!exists $sf->{'content-type'} && ($rf->{body} // '') eq '',
           "$name: ferry's documented redirect without a body");
        delete $sn->{'content-type'};
        delete $sf->{'content-type'};
    }
    if ($o->{expect}) {
        # a documented difference: ferry's documented behaviour
        for my $k (keys %{ $o->{expect} }) {
            my $want = $o->{expect}{$k};
            is($k eq 'body' ? $rf->{body} : $sf->{$k}, $want,
               "$name: ferry's documented $k");
            delete $sn->{$k};
            delete $sf->{$k};
        }
    }
    is_deeply($sf, $sn, "$name: as nginx")
        or diag(explain({ request => $raw, nginx => $sn, ferry => $sf }));
}

# rewrite
case('rewrite last', 'S0', path => '/rw/last/p?q=1');
case('rewrite break', 'S0', path => '/rw/break/a.txt');
case('rewrite redirect keeps args', 'S0', path => '/rw/red/p?q=1');
case('rewrite permanent absolute', 'S0', path => '/rw/perm/p?q=1');
case('rewrite ? drops args', 'S0', path => '/rw/noargs/p?q=1');
case('rewrite new args appended', 'S0', path => '/rw/newargs/p?q=1');
case('rewrite new args, none before', 'S0', path => '/rw/newargs/p');
case('redirect ? drops args', 'S0', path => '/rw/rednoargs/p?q=1');
case('redirect with $1 in args', 'S0', path => '/rw/redargs/p%20q?q=1');
case('rewrite 10 cycles -> 500', 'S0', path => '/rw/loop/');
case('redirect, $1 in path and args, + in URI', 'S0',
     path => '/rw/redargs/a+b&c;d%3Fe%23f%C3%A9');
case('redirect, no escape in URI', 'S0', path => '/rw/redargs/a+b');
case('redirect, literal escapes decoded', 'S0', path => '/rw/redlit/q');
case('rewrite last, $1 in args, escaped URI', 'S0',
     path => '/rw/argcap/a%20b%26c');
case('rewrite last, $1 in args, plain URI', 'S0', path => '/rw/argcap/ab');
case('rewrite last, $1 in path, escaped URI', 'S0',
     path => '/rw/pathcap/a%20b');
case('rewrite captures, no flag', 'S0', path => '/rw/abc?z=2');
case('rewrite no match', 'S0', path => '/rw/zzz?z=2');
case('rewrite percent-decoded match', 'S0', path => '/rw/last/a%2Fb?x');
case('rewrite last, ? from a capture', 'S0', path => '/rw/last/a%3Fb?x=1');
case('rewrite new args, ? from a capture', 'S0', path => '/rw/newargs/a%3Fb');
case('rewrite no flag, ? from a capture', 'S0', path => '/rw/pathcap/x%3Fy');
case('redirect, ? from a capture', 'S0', path => '/rw/red/a%3Fb?q=1');
case('redirect, %3F and # from a capture', 'S0', path => '/rw/red/a%3F%23b');

# if
case('if =', 'S0', path => '/if/?a=yes');
case('if !=', 'S0', path => '/if/?b=val');
case('if ~ captures', 'S0', path => '/if/?c=12-ab');
case('if ~ no match', 'S0', path => '/if/?c=12-a-b');
case('if ~*', 'S0', path => '/if/?d=ABCdef');
case('if -f', 'S0', path => '/if/file.txt');
case('if -d', 'S0', path => '/if/sub');
case('if !-e', 'S0', path => '/if/nothing');
case('if -e file', 'S0', path => '/ife/file.txt');
case('if -e dir', 'S0', path => '/ife/sub');
case('if -e missing', 'S0', path => '/ife/none');

# set, variables
case('set and variables', 'S0', path => '/set?v=1&w=%41');
case('set without args', 'S0', path => '/set');

# map
case("map $_", 'S0', path => "/map?k=$_") for qw(a b12 b1x case CaSeX zz);
case('map no arg', 'S0', path => '/map');

# geo
case("geo $_", 'S0', path => "/geo?ip=$_")
    for qw(192.168.1.7 192.168.1.8 10.1.2.3 8.8.8.8 junk);
case('geo no arg', 'S0', path => '/geo');

# valid_referers
case('referer none', 'S0', path => '/ref/');
for my $ref ('', 'junk-no-scheme', 'http://example.com/x',
             'https://www.example.org/', 'http://example.org/',
             'http://a.good.com/', 'http://good.com/',
             'http://good.net/path/x', 'http://good.net/other',
             'https://www.regex.io/', 'http://evil.com/',
             'http://example.com.evil.net/')
{
    case("referer '$ref'", 'S0', path => '/ref/',
         headers => [ Referer => $ref ]);
}

# autoindex
case('autoindex json', 'S0', path => '/ai/', json => 1);
case('autoindex xml', 'S0', path => '/aix/');
case('autoindex html', 'S0', path => '/aih/');
case('autoindex no slash', 'S0', path => '/ai');

# auth_basic
sub basic { [ Authorization => 'Basic ' . encode_base64($_[0], '') ] }
case('auth none', 'S0', path => '/auth/a.txt');
for my $u (qw(plain sha ssha apr six md5 s256 des withcomment spaced)) {
    case("auth $u good", 'S0', path => '/auth/a.txt',
         headers => basic("$u:pw-$u"));
    case("auth $u bad", 'S0', path => '/auth/a.txt',
         headers => basic("$u:wrong"));
}
case('auth unknown user', 'S0', path => '/auth/a.txt',
     headers => basic('nobody:pw'));
case('auth not basic', 'S0', path => '/auth/a.txt',
     headers => [ Authorization => 'Bearer x' ]);

# limit_except, internal
case('limit_except GET', 'S0', path => '/le/f.txt');
case('limit_except HEAD', 'S0', method => 'HEAD', path => '/le/f.txt');
case('limit_except POST', 'S0', method => 'POST', path => '/le/f.txt',
     body => 'x');
case('limit_except DELETE', 'S0', method => 'DELETE', path => '/le/f.txt');
case('limit_except POST before return', 'S0', method => 'POST',
     path => '/ler/', body => 'x');
case('internal from outside', 'S0', path => '/int/x');
case('internal by rewrite', 'S0', path => '/toint');

# expires
case("expires $_", 'S0', path => "/exp/$_")
    for qw(1h epoch max neg off 404);
case('expires on a file', 'S0', path => '/expf/a.txt');
case('expires on a 404 file', 'S0', path => '/expf/none');

# charset, etag, add_header
case("charset $_", 'S0', path => "/cs/$_") for qw(a.txt p.html i.png b.bin);
case('charset on return', 'S0', path => '/csr');
case('etag on', 'S0', path => '/files/a.txt');
case('etag off', 'S0', path => '/noetag/a.txt');
case('add_header 200', 'S0', path => '/ah/a.txt');
case('add_header 404', 'S0', path => '/ah/none');

# error_page
case('error_page 404 to URI', 'S0', path => '/ep/none');
case('error_page =200', 'S0', path => '/ep/?x=403');
case('error_page to named', 'S0', path => '/ep/?x=418');
case('error_page =302 URL', 'S0', path => '/ep/?x=410');
case('error_page to a file', 'S0', path => '/epf/none');

# try_files
case('try_files file', 'S0', path => '/tf/real.txt');
case('try_files dir', 'S0', path => '/tf/d');
case('try_files fallback', 'S0', path => '/tf/nope?a=1');
case('try_files =404', 'S0', path => '/tf2/nope');
case('try_files =404 found', 'S0', path => '/tf2/real.txt');
case('try_files named', 'S0', path => '/tf3/nope');
case('try_files second', 'S0', path => '/tf3/real.txt');

# merge_slashes, directory redirects
case('merge_slashes on', 'S0', path => '//dest//a');
case('merge_slashes off', 'S1', path => '//dest//a');
case("dir redirect $_", $_, path => '/dirs/sub',
     headers => [ Host => 'example.com' ]) for qw(S0 S1 S2);
case("dir redirect with args $_", $_, path => '/dirs/sub?x=1',
     headers => [ Host => 'h.example:8080' ]) for qw(S0 S1 S2);
case("return 301 relative $_", $_, path => '/r301',
     headers => [ Host => 'example.com' ]) for qw(S0 S1 S2);
case('return 302 absolute', 'S0', path => '/r302?a=b');
case('dir redirect HTTP/1.0 no Host', 'S0',
     raw => "GET /dirs/sub HTTP/1.0\r\n\r\n");

# proxy
case('proxy plain', 'S0', path => '/px/abc?d=1');
case('proxy_redirect default', 'S0', path => '/px/redir');
case('proxy_redirect foreign', 'S0', path => '/px/foreign');
case('proxy_cookie_*', 'S0', path => '/px/cookie');
case('X-Accel-Redirect', 'S0', path => '/px/accel');
case('X-Accel-Redirect named', 'S0', path => '/px/accel-named?m=1');

# more
case("geo ranges $_", 'S0', path => "/geor?ip=$_")
    for qw(10.0.0.5 10.0.0.105 10.0.1.1 192.168.7.7 11.0.0.0);
case("map hostnames $_", 'S0', path => '/maph', headers => [ Host => $_ ])
    for qw(example.com a.example.com www.example.net example.org
           x.example.org other.net EXAMPLE.COM);
case('if ($var) set', 'S0', path => '/ifvar?q=1');
case('if ($var) empty', 'S0', path => '/ifvar?q=');
case('if ($var) 0', 'S0', path => '/ifvar?q=0');
case('set $args', 'S0', path => '/setargs?z=9');
case('return 204', 'S0', path => '/r204');
case('return 418 text', 'S0', path => '/r418');
case('return 404 text', 'S0', path => '/r404t');
case('return 302 relative no slash', 'S0', path => '/rrel');
case('return 302 variables', 'S0', path => '/rdollar?k=v',
     headers => [ Host => 'vh.example' ]);
case('add_header outer', 'S0', path => '/ahi/x');
case('add_header nested replaces', 'S0', path => '/ahi/inner/x');
case('auth realm with quotes', 'S0', path => '/authoff/');
case('auth_basic off nested', 'S0', path => '/authoff/open/');
case('proxy_redirect explicit', 'S0', path => '/pxr/redir');
case('proxy_redirect off', 'S0', path => '/pxoff/redir');
case('expires modified', 'S0', path => '/expm/a.txt');
case('index second', 'S0', path => '/idx/sub/');
case('HEAD index', 'S0', method => 'HEAD', path => '/idx/sub/');
case('error_page to named keeps args', 'S0', path => '/epn/zz?y=2');
case('named and numbered captures', 'S0', path => '/re/abc/42');
case('HEAD return', 'S0', method => 'HEAD', path => '/set?v=1');
case('POST return', 'S0', method => 'POST', path => '/set?v=1', body => 'b');
case('OPTIONS static', 'S0', method => 'OPTIONS', path => '/files/a.txt');
case('POST static', 'S0', method => 'POST', path => '/files/a.txt',
     body => 'b');
case('static missing', 'S0', path => '/files/none');
case('static dir no index', 'S0', path => '/files/');
case('encoded path', 'S0', path => '/dest/%61%2e%2e%2fb');
case('dot segments', 'S0', path => '/dest/a/../b/./c');

case("map named $_", 'S0', path => "/mapnd?m=$_")
    for qw(abc-12 xYz q);
case("geo delete $_", 'S0', path => "/geod?ip=$_")
    for qw(10.1.2.3 10.1.3.3 10.2.0.1 8.8.8.8);
case('autoindex rounded sizes', 'S0', path => '/aiu/');
case("referer server_names $_->[0]", 'S0', path => '/ref2/',
     headers => [ Host => 'zz.example', Referer => $_->[1] ])
    for ['a', 'http://example.com/'], ['b', 'http://zz.example/'],
        ['c', 'http://x.example.org/'], ['d', 'http://example.com'],
        ['e', 'http://example.com:8080/'], ['f', 'https://EXAMPLE.com/'];
case("referer wild/path $_", 'S0', path => '/ref3/',
     headers => [ Referer => $_ ])
    for 'http://www.example.co.uk/', 'http://example.net/',
        'http://www.site.com/p', 'http://www.site.com/path',
        'http://www.site.com/', 'http://www.site.com';
case('try_files dir alias', 'S0', path => '/tfd/d/');
case('try_files dir alias no slash', 'S0', path => '/tfd/d');
case('expires @time', 'S0', path => '/exp/at');
case('auth bad base64', 'S0', path => '/auth/a.txt',
     headers => [ Authorization => 'Basic !!!' ]);
case('auth no colon', 'S0', path => '/auth/a.txt',
     headers => [ Authorization => 'Basic ' . encode_base64('plain', '') ]);
case("\$remote_user $_->[0]", 'S0', path => '/authr/',
     headers => [ Authorization => $_->[1] ])
    for ['no colon', 'Basic ' . encode_base64('plain', '')],
        ['user', 'Basic ' . encode_base64('u:p:q', '')],
        ['empty user', 'Basic ' . encode_base64(':p', '')],
        ['bad', 'Basic !!'], ['bearer', 'Bearer abc'];
case('auth lowercase scheme', 'S0', path => '/auth/a.txt',
     headers => [ Authorization => 'basic ' . encode_base64('plain:pw-plain', '') ]);

case('X-Accel-Redirect to internal', 'S0', path => '/px/accel-int');
case('X-Accel-Redirect to file', 'S0', path => '/px/accel-file');
case('X-Accel-Redirect to missing', 'S0', path => '/px/accel-missing');
case('proxy 404 passed', 'S0', path => '/px/nf');
case('proxy 404 intercepted', 'S0', path => '/pxi/nf');
case('proxy encoded URI part', 'S0', path => '/px/a%20b/%2F?x=%41');
case('proxy encoded, no URI part', 'S0', path => '/pxn/a%20b/%2F/../c?x=%41');
case('proxy after rewrite break', 'S0', path => '/pxb/a%20b?x=1');
case('proxy, %3F in the path', 'S0', path => '/px/a%3Fb?x=1');
case('proxy after rewrite break, %3F', 'S0', path => '/pxb/a%3Fb%23c?x=1');
case('proxy with variables', 'S0', path => '/pxv/zz?x=1');
# an address no upstream names: connected to, as nginx does
case('proxy with variables, bare address', 'S0', path => '/pxa/zz');
case('proxy HEAD', 'S0', method => 'HEAD', path => '/px/h');

case("charset_types $_", 'S0', path => "/cs2/$_") for qw(a.txt p.html);
case('charset off', 'S0', path => '/cs3/a.txt');
case('charset json return', 'S0', path => '/csj');
case('error_page to internal', 'S0', path => '/ep2/none');
case('error_page 503 to file', 'S0', path => '/ep2/x?x=1');
case('error_page named returns 404 text', 'S0', path => '/ep3/none');
case('expires on dir redirect', 'S0', path => '/expd/sub');
case('expires on index', 'S0', path => '/expd/sub/');
case('try_files named with args', 'S0', path => '/tfa/none?p=1');
case("location choice $_", 'S0', path => $_)
    for qw(/regx/a /regx/pref/a /regx/exact /x/regx/ /REGX/a);
case('merge_slashes regex', 'S0', path => '//regx//a');
case('merge_slashes off, regex', 'S1', path => '//x//y');
case('dir redirect, Host with port', 'S0', path => '/dirs/sub',
     headers => [ Host => 'example.com:9999' ]);
case('dir redirect, Host with port, port_in_redirect off', 'S2',
     path => '/dirs/sub', headers => [ Host => 'example.com:9999' ]);
case('dir redirect, encoded name', 'S0', path => '/dirs/s%75b');
case('absolute-form request', 'S0',
     raw => "GET http://abs.example/dirs/sub HTTP/1.1\r\nHost: other\r\nConnection: close\r\n\r\n");

# conditional and range requests on a file
my $lm = 'Tue, 14 Nov 2023 22:13:20 GMT';
case('If-Modified-Since equal', 'S0', path => '/files/a.txt',
     headers => [ 'If-Modified-Since' => $lm ]);
case('If-Modified-Since older', 'S0', path => '/files/a.txt',
     headers => [ 'If-Modified-Since' => 'Tue, 14 Nov 2023 22:13:19 GMT' ]);
case('If-None-Match', 'S0', path => '/files/a.txt',
     headers => [ 'If-None-Match' => '"6553f100-6"' ]);
case('If-None-Match other', 'S0', path => '/files/a.txt',
     headers => [ 'If-None-Match' => '"x"' ]);
case('If-None-Match *', 'S0', path => '/files/a.txt',
     headers => [ 'If-None-Match' => '*' ]);
case('If-Match other', 'S0', path => '/files/a.txt',
     headers => [ 'If-Match' => '"x"' ]);
case('If-Match current', 'S0', path => '/files/a.txt',
     headers => [ 'If-Match' => '"x", "6553f100-6"' ]);
case('If-Match weak', 'S0', path => '/files/a.txt',
     headers => [ 'If-Match' => 'W/"6553f100-6"' ]);
case('If-Match *', 'S0', path => '/files/a.txt',
     headers => [ 'If-Match' => '*' ]);
case('If-Unmodified-Since before', 'S0', path => '/files/a.txt',
     headers => [ 'If-Unmodified-Since' => 'Tue, 14 Nov 2023 22:13:19 GMT' ]);
case('If-Unmodified-Since equal', 'S0', path => '/files/a.txt',
     headers => [ 'If-Unmodified-Since' => $lm ]);
case('If-Unmodified-Since junk', 'S0', path => '/files/a.txt',
     headers => [ 'If-Unmodified-Since' => 'junk' ]);
case('If-Match on error page', 'S0', path => '/epf/none',
     headers => [ 'If-Match' => '"x"' ]);
case('Range', 'S0', path => '/files/b.bin',
     headers => [ Range => 'bytes=0-9' ]);
case('Range suffix', 'S0', path => '/files/b.bin',
     headers => [ Range => 'bytes=-5' ]);
# nginx's error page for 416, with Content-Range: bytes */SIZE
case('Range unsatisfiable', 'S0', path => '/files/b.bin',
     headers => [ Range => 'bytes=5000-' ]);
case('Range with If-Range mismatch', 'S0', path => '/files/b.bin',
     headers => [ Range => 'bytes=0-9', 'If-Range' => '"x"' ]);
# charset: a single-byte recoding keeps the ranges (206 of the recoded
# bytes, the ETag strong), one to UTF-8 gets the whole 200
case('charset single-byte', 'S0', path => '/csw/k.txt');
case('charset single-byte Range', 'S0', path => '/csw/k.txt',
     headers => [ Range => 'bytes=3-12' ]);
case('charset single-byte If-Range', 'S0', path => '/csw/k.txt',
     headers => [ Range => 'bytes=-7', 'If-Range' => '"6553f100-40"' ]);
# documented: the ETag of a recoding to UTF-8 is weak in ferry
case('charset utf-8 Range', 'S0', path => '/csu/k.txt',
     headers => [ Range => 'bytes=3-12' ],
     expect => { etag => 'W/"6553f100-40"' });
case('etag off conditional', 'S0', path => '/noetag/a.txt',
     headers => [ 'If-None-Match' => '"6553f100-6"' ]);

case('https redirect idiom', 'S0', path => '/https?a=%20b',
     headers => [ Host => 'Example.COM:8080' ]);
case('trailing slash removal', 'S0', path => '/trail/x/?q=1');
case('if method POST', 'S0', method => 'POST', path => '/meth', body => 'x');
case('if method GET', 'S0', path => '/meth');
case('if user agent', 'S0', path => '/ua',
     headers => [ 'User-Agent' => 'Mozilla GoogleBOT' ]);
case('if host mismatch', 'S0', path => '/hostck',
     headers => [ Host => 'other.example' ]);
case('if host match', 'S0', path => '/hostck',
     headers => [ Host => 'EXAMPLE.com.' ]);
case('set empty', 'S0', path => '/emptyset');
case('error_page = URI', 'S0', path => '/epe/none');
case('error_page =301 URI', 'S0', path => '/eph/none');
case('proxy expires, add_header', 'S0', path => '/pxe/x');
case('proxy expires on 404', 'S0', path => '/pxe/nf');
case('autoindex jsonp', 'S0', path => '/aij/?callback=cb_1');
case('autoindex jsonp bad callback', 'S0', path => '/aij/?callback=a(b)');
case('autoindex jsonp no callback', 'S0', path => '/aij/');
case('args variables', 'S0', path => '/args?a=1&b=%20x&c_d=3&a=2&B=4');
case('args case', 'S0', path => '/args?A=1&b');
case('cookie variables', 'S0', path => '/cookie',
     headers => [ Cookie => 'x=1; a=va; b= vb', Cookie => 'a=second' ]);
case('cookie variables, case and spaces', 'S0', path => '/cookie',
     headers => [ Cookie => 'A =up;b=1,a=2' ]);
case('cookie variables, prefix names', 'S0', path => '/cookie',
     headers => [ Cookie => 'aa=1; ba=2; a=3' ]);
# Documented (docs/configuration.md, Variables, $http_NAME): a header sent
# on several lines is one list, joined with ", ", as nginx 1.23 and later
# do; the 1.22 nginx here gives only the first line.
case('header variables', 'S0', path => '/hdr',
     headers => [ 'X-Multi' => 'one', 'X-Multi' => 'two',
                  'User-Agent' => 'ua/1', Host => 'HoSt.Example:81' ],
     expect => { body => '[one, two][ua/1][host.example]' });
# $server_name: the first server_name as written, a regex with its "~"
case("server_name of $_", 'S3', path => '/sn', headers => [ Host => $_ ])
    for qw(re12.test other.x mix1.test plain.test a.wild.test dot.test
           a.dot.test);
# $sent_http_NAME in add_header: the fields set before it (nginx's
# header filter); Content-Type, Content-Length, Location (as before it
# is made absolute), Last-Modified, ETag, an upstream's fields, the
# earlier add_header lines (not the later ones), expires's
case('add_header $sent_http_ on return', 'S0', path => '/sentct');
# Documented (docs/configuration.md, Variables, $sent_http_NAME): the
# Location ferry makes is absolute already when add_header reads it;
# nginx's is still as written then.
case('add_header $sent_http_location', 'S0', path => '/sentloc',
     expect => { 'x-loc' => 'http://localhost:S0/elsewhere' });
case('add_header $sent_http_ on a file', 'S0', path => '/sentf/a.txt');
case('add_header $sent_http_ on a proxied answer', 'S0',
     path => '/sentpx/cookie');
case('server rewrite last', 'S3', path => '/old/a?b=1');
case('server rewrite redirect, server_name_in_redirect', 'S3',
     path => '/gone', headers => [ Host => 'h3.example' ]);
case('dir redirect, server_name_in_redirect', 'S3', path => '/dirs/sub',
     headers => [ Host => 'h3.example' ]);

case("map value with variables $_", 'S0', path => "/mv?$_")
    for 'k=x&y=1', 'k=q&d=dd', 'k=zzz', 'k=';
case("map of a set variable $_", 'S0', path => "/mset?v=$_")
    for qw(hello other);
case('add_header on a redirect', 'S0', path => '/ahr/?r=1');
case('add_header on a 500', 'S0', path => '/ahr/?e=1');
case('add_header on an error_page', 'S0', path => '/ahr/none');
put('tfh/page.html', "page\n");
case('try_files $uri.html', 'S0', path => '/tfh/page');
case('limit_req burst 1, first', 'S0', path => '/lr2');
case('limit_req burst 1, second', 'S0', path => '/lr2');
case('limit_req burst 1, third', 'S0', path => '/lr2');

case('geo proxy, no X-Forwarded-For', 'S0', path => '/geopx');
case("geo proxy, X-Forwarded-For $_", 'S0', path => '/geopx',
     headers => [ 'X-Forwarded-For' => $_ ])
    for '10.1.1.1', '192.168.1.1, 10.2.2.2', '192.168.1.1,10.2.2.2',
        'junk', '8.8.8.8, 192.168.5.5, 10.0.0.1';
case("referer odd $_->[0]", 'S0', path => '/ref/',
     headers => [ Referer => $_->[1] ])
    for ['upper scheme', 'HTTP://example.com/'],
        ['port', 'http://example.com:8080/x'],
        ['ftp', 'ftp://example.com/'], ['spaces', '   '],
        ['no host', 'http://'], ['userinfo', 'http://u@example.com/'];
case('HEAD autoindex', 'S0', method => 'HEAD', path => '/aih/');
case('POST autoindex', 'S0', method => 'POST', path => '/aih/', body => 'x');
case('POST to a missing file', 'S0', method => 'POST', path => '/files/none',
     body => 'x');
case('POST to a directory without /', 'S0', method => 'POST',
     path => '/dirs/sub', body => 'x');
case('POST to a directory with an index', 'S0', method => 'POST',
     path => '/dirs/sub/', body => 'x');
case('POST to a directory, no index', 'S0', method => 'POST',
     path => '/files/', body => 'x');
case('DELETE to a directory', 'S0', method => 'DELETE', path => '/files/');
case('DELETE to a missing directory', 'S0', method => 'DELETE',
     path => '/nodir/');
case('PUT to a missing file', 'S0', method => 'PUT', path => '/files/new',
     body => 'x');

case("expires $_", 'S0', path => "/exp/$_") for qw(0 m1h 1d);
case('proxy_cookie_* several', 'S0', path => '/pxc/cookies2');
case("proxy_redirect $_", 'S0', path => "/pxrr/redirs/$_")
    for qw(rel abs port other refresh);

case("\$request_filename $_", 'S0', path => $_)
    for qw(/rfa/ /rfa/x/y.txt /rfr/a/b /rfn/x /rfn/ /rfa);
# Documented (docs/configuration.md, alias): the rest of the path is
# looked up inside the alias directory, where nginx joins the texts
# ("/files" + "a.txt" = "/filesa.txt", 404).
case('alias without slash, static', 'S0', path => '/rfs/a.txt',
     expect => { status => 200, body => "hello\n",
                 'content-type' => 'text/plain', etag => '"6553f100-6"',
                 'last-modified' => 'Tue, 14 Nov 2023 22:13:20 GMT' });
case('try_files fallback with $is_args$args', 'S0', path => '/tfargs/a?b=1');
case('try_files fallback with $is_args, none', 'S0', path => '/tfargs/a');
case('error_page URI with args', 'S0', path => '/ep4/zz?orig=1');

case('return 301 text', 'S0', path => '/r301text');
case('return 307', 'S0', path => '/r307');
case('return type by upper-case extension', 'S0', path => '/r200.JSON');
case("return type $_", 'S0', path => $_)
    for qw(/retx/a.html /retx/a.b/c /retx/.txt /retx/a.txt/ /retx/a.);
put('files/UP.TXT', "up\n");
put('files/.txt', "dot\n");
case('static dot file type', 'S0', path => '/files/.txt');
case('static upper-case extension', 'S0', path => '/files/UP.TXT');
case('add_header Cache-Control with expires', 'S0', path => '/ahx/');
case('HTTP/1.0 return', 'S0',
     raw => "GET /set?v=1 HTTP/1.0\r\n\r\n");
case('HTTP/1.0 file', 'S0',
     raw => "GET /files/a.txt HTTP/1.0\r\nHost: x\r\n\r\n");

case('error_page to a missing file', 'S0', path => '/epm/x');
case('recursive_error_pages', 'S0', path => '/epr/x');
case('try_files to internal', 'S0', path => '/tfi/x');
case('try_files dir with autoindex', 'S0', path => '/tfai/', json => 1);
case('try_files dir with autoindex, sub', 'S0', path => '/tfai/zdir/',
     json => 1);
case('error_page to internal location', 'S0', path => '/epi/x?a=1');

# limit_req: the second within the minute is refused
case('limit_req first', 'S0', path => '/lr');
case('limit_req second', 'S0', path => '/lr');

run_case(@$_) for @CASES;

# split_clients: 250 strings, one keep-alive connection to each
{
    my @reqs = map { build_request(path => "/split?s=str$_-" . ($_ * 7919)) }
               1 .. 250;
    my ($rn) = http_keepalive($np{S0}, \@reqs);
    my ($rf) = http_keepalive($fp{S0}, \@reqs);
    my @bn = map { $_->{body} // 'none' } @$rn;
    my @bf = map { $_->{body} // 'none' } @$rf;
    is(scalar @bn, 250, 'split_clients: 250 answers from nginx');
    my @diff = grep { ($bn[$_] // '') ne ($bf[$_] // '') } 0 .. 249;
    is(scalar @diff, 0, 'split_clients: every bucket as nginx')
        or diag(join "\n", map { "str" . ($_ + 1) . ": nginx $bn[$_]"
                                 . " ferry $bf[$_]" } @diff[0 .. 9]);
    my @reqs2 = map { build_request(path => "/split2?s=k$_") } 1 .. 200;
    my ($rn2) = http_keepalive($np{S0}, \@reqs2);
    my ($rf2) = http_keepalive($fp{S0}, \@reqs2);
    is_deeply([map { $_->{body} // 'none' } @$rf2],
              [map { $_->{body} // 'none' } @$rn2],
              'split_clients: partial percentages as nginx');
    my %n;
    $n{$_}++ for @bn;
    ok(keys %n == 4, 'split_clients: all four buckets used')
        or diag(explain(\%n));
}

$ferry->stop;
$backend->stop;
done_testing;
