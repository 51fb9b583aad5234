#!/usr/bin/perl

# nginx's tuning directives (fy_core_tuning.c, fy_load_module.c,
# fy_http_tuning.c, fy_http_static_read.c):
# - Debian's stock nginx.conf shape, with "include modules-enabled/*.conf"
#   loading ngx_stream_module, passes "ferry -t" and serves;
# - load_module of a module ferry lacks, disable_symlinks off and bad
#   values are refused with file and line;
# - those without effect (lock_file, thread_pool, accept_mutex_delay,
#   worker_aio_requests, aio, aio_write, postpone_output,
#   connection_pool_size, request_pool_size) give a start-up warning
#   with file and line (open_log_file_cache, with an effect since, none);
# - those with one, seen in the worker's system calls (strace):
#   sendfile_max_chunk caps each sendfile(); directio opens big files
#   O_DIRECT and reads aligned blocks; output_buffers is the pread() size
#   with sendfile off; read_ahead advises sequential reads; epoll_events
#   is what epoll_wait() asks for.  Each file arrives whole and correct.

use strict;
use warnings;

use Test::More;
use Ferry::Test;
use POSIX ();

# ---- Debian's stock configuration, copied into the test's prefix ----

my $deb = Ferry::Test->new(conf => main_conf() . <<'EOF');
worker_processes auto;
include modules-enabled/*.conf;

events {
	worker_connections 768;
	# multi_accept on;
}

http {
	sendfile on;
	tcp_nopush on;
	types_hash_max_size 2048;
	include mime.types;
	default_type application/octet-stream;
	ssl_protocols TLSv1 TLSv1.1 TLSv1.2 TLSv1.3; # Dropping SSLv3, ref: POODLE
	ssl_prefer_server_ciphers on;
	access_log logs/access.log;
	gzip on;
	include conf.d/*.conf;
	include sites-enabled/*;
}
EOF
$deb->write_file('conf/modules-enabled/50-mod-stream.conf',
                 "load_module modules/ngx_stream_module.so;\n");
$deb->write_file('conf/mime.types',
                 "types {\n    text/html html htm;\n    text/plain txt;\n}\n");
$deb->write_file('conf/conf.d/tuning.conf', <<'EOF');
aio threads;
directio 4m;
output_buffers 2 32k;
postpone_output 1460;
sendfile_max_chunk 512k;
open_log_file_cache max=1000 inactive=20s valid=1m min_uses=2;
EOF
$deb->write_file('conf/sites-enabled/default', <<'EOF');
server {
	listen 127.0.0.1:%%PORT_0%%;
	root html;
	index index.html index.htm index.nginx-debian.html;
	server_name _;
	location / {
		try_files $uri $uri/ =404;
	}
}
EOF
$deb->write_file('html/index.html', "Welcome to ferry\n");

my ($rc, $out) = $deb->run('-t');
is($rc, 0, "Debian's nginx.conf shape with modules-enabled: -t passes")
    or diag($out);
like($out, qr/\[warn\] "load_module modules\/ngx_stream_module\.so" has no effect in ferry: ngx_stream_module is built in \(the "stream" block\); ignored in \S+50-mod-stream\.conf:1\b/,
     '... load_module of ngx_stream_module: a warning naming file and line');
like($out, qr/"aio threads" has no effect in ferry: .*AIO or threads; ignored in \S+tuning\.conf:1\b/,
     '... aio threads: a warning with file and line');
like($out, qr/"postpone_output 1460" has no effect in ferry: .* ignored in \S+tuning\.conf:4\b/,
     '... postpone_output too');
unlike($out, qr/"(directio|output_buffers|sendfile_max_chunk|open_log_file_cache)/,
       '... no warning for those with an effect');
$deb->allow_log(qr/\[warn\] "(load_module|aio|postpone_output)/);
$deb->start;
my $r = http_get($deb->port(0), '/');
is($r->{status}, 200, '... and serves the default site');
is($r->{body}, "Welcome to ferry\n", '... its index.html');
$deb->stop;

# ---- refused: file and line ----

$deb->write_file('conf/modules-enabled/50-mod-http-echo.conf',
                 "load_module modules/ngx_http_echo_module.so;\n");
($rc, $out) = $deb->run('-t');
isnt($rc, 0, 'load_module of a module ferry does not build in: refused');
like($out, qr/\[emerg\] module "ngx_http_echo_module" of "load_module modules\/ngx_http_echo_module\.so" is not built into ferry, and ferry loads no modules in \S+50-mod-http-echo\.conf:1\b/,
     '... naming the module, file and line') or diag($out);

# $text after main_conf's 3 lines; the error is on $line
sub main_refused {
    my ($text, $msg, $name, $line) = @_;
    my $g = Ferry::Test->new(conf => main_conf() . $text
                                     . "events { }\nhttp { }\n");
    my ($rc, $out) = $g->run('-t');
    isnt($rc, 0, "-t refuses: $name");
    like($out, qr/\[emerg\] $msg in \S+ferry\.conf:$line\b/,
         '... naming the problem, file and line') or diag($out);
}
main_refused("thread_pool default max_queue=10;\n",
             '"default" must have "threads" parameter',
             'thread_pool without threads=', 4);
main_refused("thread_pool default threads=0;\n",
             'invalid threads value "threads=0"', 'thread_pool threads=0', 4);
main_refused("thread_pool p threads=2;\nthread_pool p threads=4;\n",
             'duplicate thread pool "p"', 'thread_pool of one name twice', 5);
main_refused("lock_file a;\nlock_file b;\n",
             '"lock_file" directive is duplicate', 'lock_file twice', 5);
main_refused("load_module /usr/lib/nginx/modules/ngx_mail_module.so;\n",
             'module "ngx_mail_module" of "load_module \S+" is not built into ferry, and ferry loads no modules',
             'load_module ngx_mail_module', 4);
main_refused("events { epoll_events 0; }\n",
             '"epoll_events" directive value must be between 1 and 1048576',
             'epoll_events 0', 4);
main_refused("events { accept_mutex_delay soon; }\n",
             '"accept_mutex_delay" directive invalid value "soon"',
             'accept_mutex_delay soon', 4);

server_conf_refused('disable_symlinks off;',
                    '"disable_symlinks off" is not supported: ferry never follows a symbolic link below the root or alias .* in \S+:8\b',
                    'disable_symlinks off');
server_conf_refused('disable_symlinks if_not_owner from=$document_root;',
                    '"disable_symlinks if_not_owner" is not supported.* in \S+:8\b',
                    'disable_symlinks if_not_owner');
server_conf_refused('disable_symlinks on from=/srv;',
                    '"disable_symlinks on from=/srv" is not supported.* in \S+:8\b',
                    'disable_symlinks on from= other than $document_root');
server_conf_refused('directio_alignment 1000;',
                    '"directio_alignment" must be a power of two from 512 to 1m in \S+:8\b',
                    'directio_alignment not a power of two');
server_conf_refused('directio big;', '"directio" directive invalid value "big" in \S+:8\b',
                    'directio big');
server_conf_refused('output_buffers 0 32k;', 'invalid value "0" in "output_buffers" in \S+:8\b',
                    'output_buffers 0');
server_conf_refused('sendfile_max_chunk 1m; sendfile_max_chunk 2m;',
                    '"sendfile_max_chunk" directive is duplicate in \S+:8\b',
                    'sendfile_max_chunk twice');
server_conf_refused('aio sometimes;', '"aio" directive invalid value "sometimes" in \S+:8\b',
                    'aio sometimes');
server_conf_refused('open_log_file_cache inactive=1m;',
                    '"open_log_file_cache" must have "max" parameter in \S+:8\b',
                    'open_log_file_cache without max=');
server_conf_refused('connection_pool_size 96;',
                    '"connection_pool_size" must be no less than 112 in \S+:8\b',
                    'connection_pool_size 96');
server_conf_refused('request_pool_size 4100;',
                    '"request_pool_size" must be a multiple of 16 in \S+:8\b',
                    'request_pool_size 4100');
server_conf_refused('location / { connection_pool_size 512; }',
                    '"connection_pool_size" directive is not allowed here in \S+:8\b',
                    'connection_pool_size in a location');

# ---- the effects, in the worker's system calls ----

my $f = Ferry::Test->new(conf => main_conf() . <<'EOF');
lock_file logs/ferry.lock;
thread_pool default threads=32 max_queue=65536;
worker_processes 1;
events {
    worker_connections 64;
    accept_mutex_delay 500ms;
    worker_aio_requests 32;
    epoll_events 7;
}
http {
    access_log off;
    connection_pool_size 512;
    request_pool_size 4k;
    root files;
    server {
        listen 127.0.0.1:%%PORT_0%%;
        disable_symlinks on from=$document_root;
        location /chunk/ { sendfile_max_chunk 64k; aio_write on; }
        location /direct/ {
            directio 100k;
            directio_alignment 4k;
            output_buffers 1 64k;
        }
        location /copy/ { sendfile off; output_buffers 2 4k; read_ahead 512k; }
    }
}
EOF
my $big = test_body(3 * 1024 * 1024 + 123, 7);
my $small = test_body(50000, 3);
$f->write_file("files/$_/big", $big) for qw(chunk direct copy);
$f->write_file('files/direct/small', $small);

($rc, $out) = $f->run('-t');
is($rc, 0, '-t passes with every directive') or diag($out);
for my $w (['lock_file', 4, 'no accept mutex'],
           ['thread_pool', 5, 'one thread'],
           ['accept_mutex_delay', 9, 'no accept mutex'],
           ['worker_aio_requests', 10, 'one thread'],
           ['connection_pool_size 512', 15, 'pools itself'],
           ['request_pool_size 4k', 16, 'pools itself'],
           ['aio_write on', 21, 'without AIO'])
{
    my ($d, $line, $why) = @$w;
    like($out, qr/\[warn\] "\Q$d\E" has no effect in ferry: [^\n]*$why[^\n]*; ignored in \S+ferry\.conf:$line\b/,
         "-t: $d named in a warning with its file and line");
}
unlike($out, qr/disable_symlinks/, 'disable_symlinks on from=$document_root: no warning');

$f->allow_log(qr/\[warn\] "[^"]+" has no effect in ferry/);
$f->start;

my $have_strace = (`strace -V 2>&1` // '') =~ /strace/;
my ($worker) = $f->worker_pids;

# strace the worker around $code; returns what it saw
sub traced {
    my ($code) = @_;
    my $log = $f->prefix . '/strace.out';
    my $err = $f->prefix . '/strace.err';
    unlink $log, $err;
    my $pid = fork // die "fork: $!";
    if ($pid == 0) {
        open STDERR, '>', $err or POSIX::_exit(1);
        { exec 'strace', '-p', $worker, '-e',
             'trace=sendfile,pread64,fcntl,fadvise64,epoll_wait', '-o',
             $log; }
        POSIX::_exit(1);
    }
    wait_until { (Ferry::Test::read_file($err) // '') =~ /attached/ } 10;
    $code->();
    kill 'INT', $pid;
    waitpid $pid, 0;
    return Ferry::Test::read_file($log) // '';
}

SKIP: {
    skip 'strace is not installed', 17 unless $have_strace;

    my $t = traced(sub {
        $r = http_get($f->port(0), '/chunk/big');
        is($r->{status}, 200, 'sendfile_max_chunk 64k: 200');
        ok($r->{body} eq $big, '... the whole file, intact');
        # a second connection wakes the worker from the epoll_wait() it
        # went to after the file, so that one call is complete in the
        # trace (a client that kept up with the file may have left no
        # wait during it, and a call still blocked at the detach shows
        # no room)
        http_get($f->port(0), '/no-such-file');
    });
    my @max = $t =~ /epoll_wait\(\d+, (?:\[[^\]]*\]|0x[0-9a-f]+), (\d+), /g;
    ok(@max >= 1, 'epoll_events 7: epoll_wait() seen') or diag($t);
    is(scalar(grep { $_ != 7 } @max), 0,
       '... each time asking for at most 7 events');
    my @calls = $t =~ /sendfile\(\d+, \d+, \[\d+\][^,]*, (\d+)\)/g;
    ok(@calls >= 48, 'sendfile_max_chunk 64k: a sendfile() per 64k at least ('
                      . scalar(@calls) . ' calls)') or diag($t);
    is((grep { $_ > 65536 } @calls), 0, '... none asking for more than 64k');

    $t = traced(sub {
        $r = http_get($f->port(0), '/direct/big', Range => 'bytes=1000-2000000');
        is($r->{status}, 206, 'directio 100k: a range at an unaligned offset: 206');
        ok($r->{body} eq substr($big, 1000, 2000000 - 1000 + 1),
           '... its bytes, intact');
    });
    like($t, qr/fcntl\(\d+, F_SETFL, [^)]*O_DIRECT/, 'directio: the big file set O_DIRECT')
        or diag($t);
    my @reads = $t =~ /pread64\(\d+, .*?, (\d+), (\d+)\) = \d+/g;
    my $bad = 0;
    for (my $i = 0; $i < @reads; $i += 2) {
        $bad++ if $reads[$i] % 4096 || $reads[$i + 1] % 4096
                  || $reads[$i] > 65536;
    }
    ok(@reads >= 2 && !$bad, 'directio: reads of whole 4k blocks at 4k offsets, at most output_buffers (64k)')
        or diag($t);
    unlike($t, qr/sendfile\(/, 'directio: no sendfile()');

    $t = traced(sub {
        $r = http_get($f->port(0), '/direct/small');
        ok($r->{status} == 200 && $r->{body} eq $small,
           'directio 100k: a smaller file served too');
    });
    unlike($t, qr/O_DIRECT/, '... not O_DIRECT') or diag($t);
    like($t, qr/sendfile\(/, '... but by sendfile()');

    $t = traced(sub {
        $r = http_get($f->port(0), '/copy/big');
        ok($r->{status} == 200 && $r->{body} eq $big,
           'sendfile off, output_buffers 2 4k: the whole file');
    });
    @reads = $t =~ /pread64\(\d+, .*?, (\d+), \d+\) = \d+/g;
    my $last = pop @reads;
    ok(@reads > 100 && !grep({ $_ != 8192 } @reads) && $last == 123,
       '... read 8k (2 x 4k) at a time, then the last 123 bytes')
        or diag(substr($t, 0, 2000));
    like($t, qr/fadvise64\(\d+, 0, 0, POSIX_FADV_SEQUENTIAL\)/, 'read_ahead 512k: sequential read advised')
        or diag(substr($t, 0, 2000));
}

$f->stop;
done_testing;
