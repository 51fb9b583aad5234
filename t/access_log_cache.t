#!/usr/bin/perl

# open_log_file_cache (nginx's, http and stream) for access logs whose
# PATH has variables, seen in the files and in the worker's open
# descriptors (/proc/PID/fd, what lsof shows): a cached log renamed
# away goes on receiving lines (valid=1m) while without a cache ("off")
# the next line makes a new file of the name; with valid=1s the name is
# checked again and a new file made; inactive= closes a descriptor
# without a further request; max= keeps the most recently used ones;
# min_uses= keeps a file open only from its second line; a level
# inherits its parent's cache; stream's the same; configuration errors
# with file and line.

use strict;
use warnings;

use Test::More;
use Ferry::Test;
use IO::Socket::INET;

my $f = Ferry::Test->new(conf => main_conf() . <<'EOF');
worker_processes 1;
events { worker_connections 64; }
http {
    log_format plain '$uri';
    access_log off;
    open_log_file_cache max=10 inactive=1m valid=1m;
    server {
        listen 127.0.0.1:%%PORT_0%%;
        location /long/ { access_log logs/long-$arg_n.log plain; return 200; }
        location /off/ {
            open_log_file_cache off;
            access_log logs/off-$arg_n.log plain;
            return 200;
        }
        location /valid/ {
            open_log_file_cache max=10 inactive=1m valid=1s;
            access_log logs/valid-$arg_n.log plain;
            return 200;
        }
        location /ina/ {
            open_log_file_cache max=10 inactive=1s;
            access_log logs/ina-$arg_n.log plain;
            return 200;
        }
        location /max/ {
            open_log_file_cache max=2 inactive=1m;
            access_log logs/max-$arg_n.log plain;
            return 200;
        }
        location /min/ {
            open_log_file_cache max=10 inactive=1m min_uses=2;
            access_log logs/min-$arg_n.log plain;
            return 200;
        }
    }
}
stream {
    log_format s '$server_port';
    open_log_file_cache max=10 inactive=1m valid=1m;
    server {
        listen 127.0.0.1:%%PORT_1%%;
        return "c\n";
        access_log logs/s-$server_port.log s;
    }
    server {
        listen 127.0.0.1:%%PORT_2%%;
        return "o\n";
        open_log_file_cache off;
        access_log logs/s-$server_port.log s;
    }
}
EOF

$f->start or do { done_testing; exit };
my $port = $f->port(0);
my $logs = $f->prefix . '/logs';
my ($worker) = $f->wait_workers(1);

sub lines { my $t = Ferry::Test::read_file("$logs/$_[0]") // ''; scalar(() = $t =~ /\n/g) }
sub get { http_get($port, $_[0])->{status} }
# the files the worker has open under logs/
sub held {
    my %h;
    for my $fd (glob "/proc/$worker/fd/*") {
        my $to = readlink($fd) // next;
        $h{$1} = 1 if $to =~ m{^\Q$logs\E/([^/]+)$};
    }
    return \%h;
}
sub sess {
    my $s = IO::Socket::INET->new(PeerAddr => "127.0.0.1:$_[0]", Timeout => 5)
        or return;
    local $/;
    my $got = <$s>;
    close $s;
}

# ---- a cached log renamed away keeps its lines (valid=1m) ----
is(get('/long/?n=a'), 200, 'a request logged to long-a.log');
ok(wait_until(sub { lines('long-a.log') == 1 }, 5), '... its line');
ok(held()->{'long-a.log'}, 'the worker keeps long-a.log open (cached)');
rename "$logs/long-a.log", "$logs/long-a.old";
get('/long/?n=a') for 1 .. 2;
ok(wait_until(sub { lines('long-a.old') == 3 }, 5),
   'after mv, the lines go on into the moved file');
ok(!-e "$logs/long-a.log", '... and no new file is made under the name');

# ---- off: open, write, close for each line ----
get('/off/?n=a');
ok(wait_until(sub { lines('off-a.log') == 1 }, 5), 'off: a line');
ok(!held()->{'off-a.log'}, '... the file is not kept open');
rename "$logs/off-a.log", "$logs/off-a.old";
get('/off/?n=a');
ok(wait_until(sub { lines('off-a.log') == 1 }, 5),
   'off: after mv the next line makes a new file of the name');
is(lines('off-a.old'), 1, '... the moved one keeps its one line');

# ---- valid=1s: the name is checked again ----
get('/valid/?n=a');
ok(wait_until(sub { lines('valid-a.log') == 1 }, 5), 'valid=1s: a line');
rename "$logs/valid-a.log", "$logs/valid-a.old";
ok(wait_until(sub { get('/valid/?n=a'); -e "$logs/valid-a.log" }, 10),
   'after mv, once valid= has run out, a new file of the name');
my $old = lines('valid-a.old');
get('/valid/?n=a') for 1 .. 2;
ok(wait_until(sub { lines('valid-a.log') >= 3 }, 5), '... which gets the lines');
is(lines('valid-a.old'), $old, '... and the moved file no more');
ok(!held()->{'valid-a.old'}, '... nor is it held open');

# ---- inactive=1s closes without a further request ----
get('/ina/?n=a');
ok(wait_until(sub { lines('ina-a.log') == 1 }, 5), 'inactive=1s: a line');
ok(wait_until(sub { !held()->{'ina-a.log'} }, 10),
   '... and the descriptor is closed after inactive=, without a request');

# ---- max=2: the least recently used is closed ----
get("/max/?n=$_") for qw(a b c);
ok(wait_until(sub { lines('max-c.log') == 1 }, 5), 'max=2: three names logged');
my $h = held();
ok(!$h->{'max-a.log'} && $h->{'max-b.log'} && $h->{'max-c.log'},
   '... the two most recent kept open, the first closed');
get('/max/?n=a');
# the line is written after the answer went out: wait for it
ok(wait_until(sub { lines('max-a.log') == 2 }, 5),
   '... the first again: its lines in its one file');
$h = held();
ok($h->{'max-a.log'} && !$h->{'max-b.log'} && $h->{'max-c.log'},
   '... the least recently used one goes');

# ---- min_uses=2 ----
get('/min/?n=a');
ok(wait_until(sub { lines('min-a.log') == 1 }, 5), 'min_uses=2: a line');
ok(!held()->{'min-a.log'}, '... the file closed after the first');
get('/min/?n=a');
ok(wait_until(sub { lines('min-a.log') == 2 }, 5), '... a second line');
ok(held()->{'min-a.log'}, '... kept open from the second');

# ---- stream ----
my ($sc, $so) = ($f->port(1), $f->port(2));
sess($sc);
ok(wait_until(sub { lines("s-$sc.log") >= 1 }, 5), 'stream: a line');
ok(held()->{"s-$sc.log"}, 'stream: the cached file kept open');
ok(!held()->{"s-$so.log"}, 'stream: the file of a server with "off" not');
my $n = lines("s-$sc.log");
rename "$logs/s-$sc.log", "$logs/s-$sc.old";
rename "$logs/s-$so.log", "$logs/s-$so.old";
sess($sc);
sess($so);
ok(wait_until(sub { lines("s-$sc.old") == $n + 1 }, 5),
   'stream: after mv, the line goes into the moved file');
ok(!-e "$logs/s-$sc.log", '... no new file of the name');
ok(wait_until(sub { lines("s-$so.log") == 1 }, 5),
   'stream, off: a new file of the name at once');

$f->stop;

# ---- configuration errors ----
server_conf_refused('open_log_file_cache max=0;',
                    qr/"open_log_file_cache" must have "max" parameter in \S+ferry\.conf:8/,
                    'max=0');
server_conf_refused('open_log_file_cache max=2 lru=1;',
                    qr/invalid "open_log_file_cache" parameter "lru=1" in \S+ferry\.conf:8/,
                    'an unknown parameter');
server_conf_refused('open_log_file_cache max=2 valid=x;',
                    qr/invalid "open_log_file_cache" parameter "valid=x" in \S+ferry\.conf:8/,
                    'valid=x');
server_conf_refused('open_log_file_cache off; open_log_file_cache max=1;',
                    qr/"open_log_file_cache" directive is duplicate in \S+ferry\.conf:8/,
                    'twice at one level');
conf_refused("stream {\n    open_log_file_cache inactive=1s;\n}\n",
             qr/"open_log_file_cache" must have "max" parameter in \S+ferry\.conf:6/,
             'stream: without max=');
conf_refused("stream {\n    server {\n        listen 127.0.0.1:%%PORT_0%%;\n"
             . "        return x;\n        open_log_file_cache off 1;\n    }\n}\n",
             qr/invalid "open_log_file_cache" parameter "1" in \S+ferry\.conf:9/,
             'stream: off with more');

done_testing;
