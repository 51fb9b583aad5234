package Ferry::Test;

# Ferry::Test -- start the real ferry binary with a test configuration,
# fake upstream servers, and a small HTTP client, for the black-box tests
# in t/*.t.  Perl core modules only.
#
#   use Test::More;
#   use Ferry::Test;
#
#   my $f = Ferry::Test->new(conf => main_conf() . <<'EOF');
#   events { worker_connections 64; }
#   http {
#       upstream app { server 127.0.0.1:%%PORT_1%%; }
#       server {
#           listen 127.0.0.1:%%PORT_0%%;
#           location / { proxy_pass http://app; }
#       }
#   }
#   EOF
#   my $b = Ferry::Test::Backend->new(port => $f->port(1));   # echoes
#   $f->start;                          # one ok(): "ferry started"
#   my $r = http_get($f->port(0), '/x');
#   is($r->{status}, 200);
#   $f->stop;                           # one ok(): stopped, log clean
#   done_testing;
#
# Also: $f->run('-t') -> (exit code, output); $f->worker_pids,
# $f->wait_workers(N), $f->wait_exit(SECONDS), $f->allow_log(qr/.../),
# $f->error_log; http_keepalive($port, [@requests]) -> (\@responses,
# $closed); Ferry::Test::Client->new($port) for a connection held open
# (send, read_response, wait_close); wait_until { COND } SECONDS.
# Ferry::Test->new(conf => ..., env => { NAME => VALUE }) adds to the
# environment of the ferry that start and run execute (with LD_PRELOAD,
# ASan's verify_asan_link_order=0 is appended to ASAN_OPTIONS, as ASan
# refuses a preloaded library ahead of its own otherwise).
#
# Every wait is a poll with a deadline; nothing sleeps for a fixed time.
# Forked helpers leave with POSIX::_exit so they never run the test's
# END blocks.  The prefix directory is removed at the end unless the test
# failed; then its path is printed.

use strict;
use warnings;

use Test::More ();
use IO::Socket::INET;
use IO::Socket::IP;
use IO::Socket::UNIX;
use Socket qw(SOCK_STREAM);
use IO::Select;
use POSIX qw(WNOHANG);
use Fcntl ();
use File::Temp ();
use File::Path ();
use File::Spec;
use File::Basename ();
use Cwd ();
use Scalar::Util ();
use Time::HiRes ();
use Exporter 'import';

our @EXPORT = qw(main_conf http http_get http_keepalive build_request
                 parse_echo parse_response test_body wait_until
                 port_is_closed sh conf_refused http_conf_refused
                 server_conf_refused tcp_server serve_connections
                 udp_server file_dns_server dns_question stream_line
                 dnsmasq_bin dnsmasq_server
                 charset_map_block);

my $TB = Test::More->builder;

our $ROOT = Cwd::abs_path(File::Spec->catdir(
    File::Basename::dirname(Cwd::abs_path(__FILE__)), '..', '..', '..'));

our $BINARY = defined $ENV{FERRY_BINARY} && $ENV{FERRY_BINARY} ne ''
    ? File::Spec->rel2abs($ENV{FERRY_BINARY})
    : "$ROOT/objs/ferry";

our $START_TIMEOUT = 10;
our $STOP_TIMEOUT  = 10;
our $RUN_TIMEOUT   = 10;

my @INSTANCES;      # weak refs, for the END safety net
my @PREFIXES;       # every prefix made, removed at the end if all passed
my %PORTS_USED;     # never hand out one port twice in a test file
my $TEST_PID = $$;

# A watchdog for the whole test file: a hung test must not hang prove.
my $WATCHDOG = $ENV{FERRY_TEST_TIMEOUT} || 100;
$SIG{ALRM} = sub { die "test file took more than ${WATCHDOG}s, aborted\n" };
alarm $WATCHDOG;

$SIG{PIPE} = 'IGNORE';


# The usual top of a test configuration.  daemon, error_log and pid may
# each appear only once, so a test that needs other values writes its
# own top instead of calling this.
sub main_conf {
    return "daemon off;\n"
         . "error_log logs/error.log debug;\n"
         . "pid logs/ferry.pid;\n";
}


sub new {
    my ($class, %opt) = @_;

    die "Ferry::Test->new: conf => TEXT is required\n"
        unless defined $opt{conf};

    my $prefix = File::Temp::tempdir('ferry-test-XXXXXX', TMPDIR => 1,
                                     CLEANUP => 0);
    $prefix = Cwd::abs_path($prefix);
    # workers may run as another user (like nginx's "user" directive)
    chmod 0755, $prefix;

    my $self = bless {
        prefix    => $prefix,
        ports     => {},
        allow     => [],
        files     => {},
        pid       => undef,
        status    => undef,
        checked   => 0,
        opt       => \%opt,
    }, $class;

    mkdir "$prefix/conf" or die "mkdir $prefix/conf: $!\n";
    mkdir "$prefix/logs" or die "mkdir $prefix/logs: $!\n";
    chmod 0777, "$prefix/logs";

    $self->write_file('conf/ferry.conf', $opt{conf});

    push @INSTANCES, $self;
    Scalar::Util::weaken($INSTANCES[-1]);
    push @PREFIXES, $prefix;

    return $self;
}

sub prefix    { $_[0]{prefix} }
sub conf_file { "$_[0]{prefix}/conf/ferry.conf" }

# The TCP port for placeholder %%PORT_n%%, allocated on first use (see
# free_port).
sub port {
    my ($self, $n) = @_;

    $self->{ports}{$n} //= free_port();
    return $self->{ports}{$n};
}

# A port for a server the test is about to start, free on 127.0.0.1 and
# kept from every other test file until this one exits, so that test
# files can run side by side (make test PROVE_JOBS=3).
#
# Two things could take a port between this check and ferry's bind():
# - another file's outgoing connections: their local ports come from the
#   kernel's ephemeral range (net.ipv4.ip_local_port_range, 32768-60999
#   by default), so the ports here are picked below it;
# - another file's servers: each port is reserved with an exclusive
#   flock() on /tmp/ferry-test-ports/PORT, held by an open handle until
#   the process exits.  The kernel drops the lock when its owner dies,
#   so a killed test file leaves only an unlocked file behind, which
#   the next taker locks; a file that ends removes its own, while it
#   still holds their locks, so a taker checks that the file it locked
#   is still the one under that name.  The handle is close-on-exec, so
#   ferry and other programs do not inherit it.
#
# Where the ephemeral range leaves no room below it, the kernel's choice
# for bind(0) is used, as before, unreserved.
my $PORT_DIR = File::Spec->catdir(File::Spec->tmpdir, 'ferry-test-ports');
my %PORT_LOCKS;     # port => the handle that holds its lock

sub port_range {
    my ($lo) = (read_file('/proc/sys/net/ipv4/ip_local_port_range') // '')
        =~ /^\s*(\d+)/;
    $lo //= 32768;
    return $lo > 11000 ? (10000, $lo - 1) : ();
}

sub free_port {
    my ($first, $last) = port_range();

    return kernel_port() unless defined $first;
    unless (-d $PORT_DIR) {
        mkdir $PORT_DIR;
        chmod 01777, $PORT_DIR;
    }
    for (1 .. 200) {
        my $p = $first + int(rand($last - $first + 1));
        next if $PORTS_USED{$p};
        open my $lock, '>>', "$PORT_DIR/$p" or next;
        unless (flock $lock, Fcntl::LOCK_EX() | Fcntl::LOCK_NB()) {
            close $lock;
            next;
        }
        my @held = stat $lock;
        my @named = stat "$PORT_DIR/$p";
        unless (@named && $held[1] == $named[1]) {
            close $lock;            # removed by its last owner meanwhile
            next;
        }
        # reserved; now make sure nothing else uses it (no SO_REUSEADDR:
        # a connection in TIME_WAIT on it fails the bind too, as it would
        # for a test's own server without the option)
        my $s = IO::Socket::INET->new(LocalAddr => '127.0.0.1',
                                      LocalPort => $p, Proto => 'tcp',
                                      Listen => 1);
        unless ($s) {
            close $lock;
            next;
        }
        close $s;
        $PORTS_USED{$p} = 1;
        $PORT_LOCKS{$p} = $lock;
        return $p;
    }
    die "no free port found in $first-$last\n";
}

sub kernel_port {
    for (1 .. 50) {
        my $s = IO::Socket::INET->new(LocalAddr => '127.0.0.1',
                                      LocalPort => 0, Proto => 'tcp',
                                      Listen => 1)
            or die "cannot bind a free port: $!\n";
        my $p = $s->sockport;
        close $s;
        next if $PORTS_USED{$p}++;
        return $p;
    }
    die "no free port found\n";
}

# Replace %%PORT_n%% and %%PREFIX%% in a string.
sub subst {
    my ($self, $text) = @_;

    $text =~ s/%%PORT_(\d+)%%/$self->port($1)/ge;
    $text =~ s/%%PREFIX%%/$self->{prefix}/g;
    return $text;
}

# Write a file under the prefix (placeholders replaced); returns its
# absolute path.
sub write_file {
    my ($self, $rel, $text) = @_;

    my $path = "$self->{prefix}/$rel";
    my $dir = File::Basename::dirname($path);
    File::Path::make_path($dir) unless -d $dir;

    $text = $self->subst($text);
    open my $fh, '>', $path or die "write $path: $!\n";
    binmode $fh;
    print $fh $text;
    close $fh or die "close $path: $!\n";

    $self->{files}{$rel} = $text;
    return $path;
}

sub read_file {
    my ($path) = @_;

    open my $fh, '<', $path or return undef;
    binmode $fh;
    local $/;
    my $text = <$fh>;
    close $fh;
    return $text // '';
}

# All config text written so far, comments removed.
sub _conf_text {
    my ($self) = @_;

    my $text = join "\n", map { $self->{files}{$_} }
                          sort keys %{ $self->{files} };
    $text =~ s/#[^\n]*//g;
    return $text;
}

# [host, port] of every "listen" in the configuration files written
# (["unix", PATH] for "listen unix:PATH"; none for a host name).
sub listen_addrs {
    my ($self) = @_;
    my @addrs;

    my $text = $self->_conf_text;
    while ($text =~ /(?:^|[;{}\s])listen\s+([^\s;]+)([^;]*)/g) {
        my $a = $1;
        next if $2 =~ /\budp\b/;     # a UDP socket accepts no connection
        my ($host, $port);
        if ($a =~ /^unix:(.+)$/) {
            ($host, $port) = ('unix', $1);
        } elsif ($a =~ /^(\d+)$/) {
            ($host, $port) = ('127.0.0.1', $1);
        } elsif ($a =~ /^\[?(.*?)\]?:(\d+)$/) {
            ($host, $port) = ($1, $2);
            $host = '127.0.0.1' if $host eq '*' || $host eq '0.0.0.0';
            # a host name: the test waits for its addresses itself (ferry
            # may resolve it otherwise than this process: env =>)
            next unless $host =~ /^[\d.]+$/ || $host =~ /:/;
        } else {
            next;
        }
        push @addrs, [$host, $port];
    }
    return @addrs;
}

sub _directive_path {
    my ($self, $name, $default) = @_;

    my $text = $self->_conf_text;
    my $v = $text =~ /(?:^|[;{}\s])\Q$name\E\s+([^\s;]+)/ ? $1 : $default;
    return $v if $v eq 'stderr';
    $v =~ s/^"(.*)"$/$1/;
    return $v =~ m{^/} ? $v : "$self->{prefix}/$v";
}

sub pid_file       { $_[0]->_directive_path('pid', 'logs/ferry.pid') }
sub error_log_file { $_[0]->_directive_path('error_log', 'logs/error.log') }
sub stderr_file    { "$_[0]{prefix}/stderr.log" }

sub error_log {
    my ($self) = @_;
    my $path = $self->error_log_file;
    return read_file($self->stderr_file) // '' if $path eq 'stderr';
    return read_file($path) // '';
}

sub stderr_log { read_file($_[0]->stderr_file) // '' }

# Lines of the log that the stop check must not complain about.
sub allow_log {
    my ($self, @re) = @_;
    push @{ $self->{allow} }, @re;
}


sub _check_binary {
    die "ferry binary $BINARY does not exist or is not executable"
        . " (build it, or set FERRY_BINARY)\n" unless -x $BINARY;
}

# Run ferry to completion: ferry -p PREFIX/ -c conf/ferry.conf @args.
# Returns (exit code, stdout and stderr together).  A run that does not
# finish within $RUN_TIMEOUT seconds is killed and fails a test.
# A leading { noconf => 1 } runs the binary with only @args.
sub run {
    my ($self, @args) = @_;
    my %o = ref $args[0] eq 'HASH' ? %{ shift @args } : ();

    _check_binary();
    @args = map { $self->subst($_) } @args;
    my @cmd = $o{noconf} ? ($BINARY, @args)
            : ($BINARY, '-p', "$self->{prefix}/", '-c', 'conf/ferry.conf',
               @args);

    my $out = "$self->{prefix}/run.out";
    my $pid = fork // die "fork: $!\n";
    if ($pid == 0) {
        open STDOUT, '>', $out or POSIX::_exit(126);
        open STDERR, '>&', \*STDOUT or POSIX::_exit(126);
        setpgrp(0, 0);
        alarm 0;    # a pending alarm would survive exec
        $self->_set_env;
        { exec { $cmd[0] } @cmd }
        POSIX::_exit(127);
    }

    my $status = _wait_pid($pid, $o{timeout} // $RUN_TIMEOUT);
    if (!defined $status) {
        kill 'KILL', -$pid;
        kill 'KILL', $pid;
        waitpid $pid, 0;
        $status = $?;
        $TB->ok(0, "ferry @args finished within "
                   . ($o{timeout} // $RUN_TIMEOUT) . "s");
    }

    my $output = read_file($out) // '';
    $self->{last_run} = join(' ', @cmd) . "\n" . $output;
    return (_exit_code($status), $output);
}

# In the child, just before exec: the new() option env.
sub _set_env {
    my ($self) = @_;
    my $env = $self->{opt}{env} or return;
    $ENV{$_} = $env->{$_} for keys %$env;
    if (defined $env->{LD_PRELOAD}) {
        $ENV{ASAN_OPTIONS} = join ':', grep { defined && $_ ne '' }
            $ENV{ASAN_OPTIONS}, 'verify_asan_link_order=0';
    }
}

sub _exit_code {
    my ($status) = @_;
    return $status >> 8 if ($status & 127) == 0;
    return 128 + ($status & 127);
}

# waitpid with a deadline; the raw status, or undef on timeout.
sub _wait_pid {
    my ($pid, $timeout) = @_;

    my $deadline = Time::HiRes::time() + $timeout;
    my $delay = 0.002;
    while (1) {
        my $r = waitpid $pid, WNOHANG;
        return $? if $r == $pid;
        return 0 if $r == -1;          # not our child (already reaped)
        return undef if Time::HiRes::time() > $deadline;
        Time::HiRes::sleep($delay);
        $delay = 0.05 if ($delay *= 2) > 0.05;
    }
}

# Run a shell command (certificates made with openssl, say); its output
# with stderr, or die with both if it failed.
sub sh {
    my ($cmd) = @_;
    my $out = `$cmd 2>&1`;
    die "failed: $cmd\n$out" if $?;
    return $out;
}

# Poll $cond every few ms until it returns true or $timeout seconds pass.
# Returns the last value of $cond.
sub wait_until (&;$) {
    my ($cond, $timeout) = @_;

    my $deadline = Time::HiRes::time() + ($timeout // 5);
    my $delay = 0.002;
    while (1) {
        my $v = $cond->();
        return $v if $v;
        return $v if Time::HiRes::time() > $deadline;
        Time::HiRes::sleep($delay);
        $delay = 0.05 if ($delay *= 2) > 0.05;
    }
}

# A plain TCP peer for the stream tests: serve_connections forks a
# process that accepts on the listening socket $l (TCP or unix) and runs
# $serve->($socket) for each connection in a child of its own;
# tcp_server does it on a new listener at 127.0.0.1:$port (or at
# $host:$port, tcp_server($port, $serve, $host), "::1" too).  Both return
# the accepting process's pid (a test may kill it to take the peer
# away); it is killed when the test file ends.
my @TCP_SERVERS;

sub serve_connections {
    my ($l, $serve) = @_;
    my $pid = fork // die "fork: $!\n";
    if ($pid == 0) {
        $SIG{CHLD} = 'IGNORE';
        alarm 0;
        while (1) {
            my $c = $l->accept or next;
            my $k = fork;
            if (defined $k && $k == 0) {
                close $l;
                $serve->($c);
                POSIX::_exit(0);
            }
            close $c;
        }
    }
    close $l;
    push @TCP_SERVERS, $pid;
    return $pid;
}

sub tcp_server {
    my ($port, $serve, $host) = @_;
    my $l = IO::Socket::IP->new(LocalHost => $host // '127.0.0.1',
                                LocalPort => $port,
                                Listen => 64, ReuseAddr => 1)
        or die "tcp server on port $port: $!\n";
    return serve_connections($l, $serve);
}

# A UDP server on 127.0.0.1:$port (bound before the fork, so it is
# ready): each datagram is answered with what $answer->($data, $peer)
# returns (nothing for undef); stopped with the TCP servers.
sub udp_server {
    my ($port, $answer) = @_;
    my $u = IO::Socket::INET->new(LocalAddr => "127.0.0.1:$port",
                                  Proto => 'udp')
        or die "udp server on port $port: $!\n";
    my $pid = fork // die "fork: $!\n";
    if ($pid == 0) {
        alarm 0;
        while (1) {
            my $peer = recv($u, my $d, 65536, 0);
            next unless defined $peer;
            my $r = $answer->($d, $peer);
            send($u, $r, 0, $peer) if defined $r;
        }
    }
    close $u;
    push @TCP_SERVERS, $pid;
    return $pid;
}

# A DNS server on 127.0.0.1:$port answering from $file, read at each
# question, so that a test changes the answers by rewriting it: lines
# "NAME ADDRESS..." (TTL 1; IPv4 addresses answer A questions, IPv6
# ones AAAA), "NAME srv PRIO:WEIGHT:PORT:TARGET..." (SRV records, TTL
# 1), "NAME srv+ ..." (the same with the targets' A records from the
# file in the additional section), "NAME nx" (NXDOMAIN) or "NAME
# silent" (no answer).  Names not in the file: NXDOMAIN.  Each question
# is appended to $file.log as "TYPE NAME".  Stopped with the TCP
# servers.
# A DNS query's id, lower-case name, type and question section (to
# copy into the answer); empty for one too short to be a query.
sub dns_question {
    my ($q) = @_;
    return () unless length $q > 12;
    my ($id) = unpack 'n', $q;
    my ($o, @l) = (12);
    while ((my $n = ord substr($q, $o, 1)) > 0) {
        push @l, substr($q, $o + 1, $n);
        $o += 1 + $n;
    }
    return ($id, lc join('.', @l), unpack('n', substr($q, $o + 1, 2)),
            substr($q, 12, $o + 5 - 12));
}

sub file_dns_server {
    my ($port, $file) = @_;
    my $labels = sub {
        join('', map { chr(length) . $_ } split /\./, $_[0]) . "\0";
    };
    my $rr = sub {
        my ($owner, $addr) = @_;
        return $addr =~ /:/
            ? $owner . pack('nnNn', 28, 1, 1, 16)
              . Socket::inet_pton(Socket::AF_INET6(), $addr)
            : $owner . pack('nnNn', 1, 1, 1, 4) . pack('C4', split /\./, $addr);
    };
    return udp_server($port, sub {
        my ($id, $name, $type, $question) = dns_question($_[0])
            or return undef;
        my %ans;
        if (open my $fh, '<', $file) {
            while (<$fh>) {
                my ($n, @a) = split;
                $ans{$n} = \@a if defined $n;
            }
            close $fh;
        }
        if (open my $lf, '>>', "$file.log") {
            print $lf "$type $name\n";
            close $lf;
        }
        my $a = $ans{$name} // ['nx'];
        return undef if $a->[0] eq 'silent';
        my ($rcode, @an, @ad) = (0);
        my $want = $type == 28 ? sub { $_[0] =~ /:/ } : sub { $_[0] !~ /:/ };
        if ($a->[0] eq 'nx') {
            $rcode = 3;
        } elsif ($a->[0] =~ /^srv(\+?)$/) {
            my $add = $1;
            if ($type == 33) {
                for my $r (@$a[1 .. $#$a]) {
                    my ($pri, $w, $p, $t) = split /:/, $r, 4;
                    my $rd = pack('nnn', $pri, $w, $p) . $labels->($t);
                    push @an, pack('nnnNn', 0xc00c, 33, 1, 1, length $rd)
                              . $rd;
                    next unless $add;
                    push @ad, map { $rr->($labels->($t), $_) }
                              grep { !/:/ } @{ $ans{$t} // [] };
                }
            }
        } elsif ($type == 1 || $type == 28) {
            @an = map { $rr->(pack('n', 0xc00c), $_) } grep { $want->($_) } @$a;
        }
        return pack('nnnnnn', $id, 0x8180 | $rcode, 1, scalar @an, 0,
                    scalar @ad) . $question . join('', @an, @ad);
    });
}

# dnsmasq, a real DNS server, on 127.0.0.1:$port answering from the
# hosts file $hosts (lines "ADDRESS NAME") and from nothing else
# (--local=/test/: a name under .test it does not know is NXDOMAIN,
# never asked further); its output, and with $log_queries the
# questions it got, go to $log.  Returns its pid once it answers a
# question (stopped with the TCP servers), or undef when dnsmasq is not
# installed or does not answer within 10 s.  dnsmasq_bin: its path, or
# undef (for a test's skip).
sub dnsmasq_bin {
    my ($bin) = grep { -x } qw(/usr/sbin/dnsmasq /usr/bin/dnsmasq);
    return $bin;
}

sub dnsmasq_server {
    my ($port, $hosts, $log, $log_queries) = @_;
    my $bin = dnsmasq_bin() or return undef;
    my $pid = fork // die "fork: $!\n";
    if ($pid == 0) {
        open STDOUT, '>', $log;
        open STDERR, '>&', \*STDOUT;
        { exec $bin, '--keep-in-foreground', "--port=$port",
             '--listen-address=127.0.0.1', '--bind-interfaces',
             '--no-resolv', '--no-hosts', "--addn-hosts=$hosts",
             '--local=/test/', '--conf-file=/dev/null', '--pid-file=',
             '--user=' . getpwuid($<), '--log-facility=-',
             ($log_queries ? '--log-queries' : ()); }
        POSIX::_exit(127);
    }
    push @TCP_SERVERS, $pid;
    my $ok = wait_until {
        my $s = IO::Socket::INET->new(PeerAddr => '127.0.0.1',
                                      PeerPort => $port, Proto => 'udp')
            or return 0;
        # any answer to a question for "x" (type A); readable also after
        # an ICMP "port unreachable": recv tells
        $s->send(pack('nnnnnn', 7, 0x0100, 1, 0, 0, 0)
                 . "\x01x\x00\x00\x01\x00\x01");
        return 0 unless IO::Select->new($s)->can_read(0.5);
        my $buf = '';
        return defined $s->recv($buf, 512) && length $buf > 12;
    } 10;
    return $ok ? $pid : undef;
}

# A charset_map block made with Perl's Encode: every byte from 80 that
# charset $from has, to UTF-8 (code points up to FFFF) or to the
# single-byte charset $to; $name: $to's name in the configuration
# (default $to).  For t/charset_map.t and t/charset_vars.t.
sub charset_map_block {
    my ($from, $to, $name) = @_;
    require Encode;
    my $text = "charset_map $from " . ($name // $to) . " {\n";
    for my $b (0x80 .. 0xff) {
        my $ch = Encode::decode($from, chr($b), Encode::FB_QUIET());
        next if $ch eq '' || ord($ch) > 0xffff;
        my $dst = $to eq 'utf-8'
            ? uc unpack('H*', Encode::encode('UTF-8', $ch))
            : Encode::encode($to, $ch, Encode::FB_QUIET());
        next if $dst eq '';
        $dst = sprintf('%02X', ord $dst) unless $to eq 'utf-8';
        $text .= sprintf("    %02X %s;\n", $b, $dst);
    }
    return "$text}\n";
}

sub _can_connect {
    my ($host, $port) = @_;
    # "unix", path for "listen unix:PATH"; IPv6 addresses as well as IPv4
    my $s = $host eq 'unix'
        ? IO::Socket::UNIX->new(Peer => $port, Type => SOCK_STREAM)
        : IO::Socket::IP->new(PeerHost => $host, PeerPort => $port,
                              Proto => 'tcp', Timeout => 1);
    return 0 unless $s;
    close $s;
    return 1;
}

# `ferry -t` on main_conf() plus "events { }" and $text: two ok()s,
# that it refuses and that its output matches $re (a regex that should
# name the file and line).
sub conf_refused {
    my ($text, $re, $name) = @_;
    my $g = Ferry::Test->new(conf => main_conf() . "events { }\n" . $text);
    my ($rc, $out) = $g->run('-t');
    $TB->isnt_num($rc, 0, "-t refuses: $name");
    $TB->like($out, $re, '... naming the problem, file and line')
        or $TB->diag($out);
}

# The same with "http { $block }", the output saying [emerg] matching
# $msg.
sub http_conf_refused {
    my ($block, $msg, $name) = @_;
    conf_refused("http {\n    $block\n}\n", qr/\[emerg\] .*$msg/, $name);
}

# The same with $directive in a server that listens on %%PORT_$port%%
# (0 unless given): the directive is on line 8 of the file.
sub server_conf_refused {
    my ($directive, $msg, $name, $port) = @_;
    $port //= 0;
    http_conf_refused("server {\n        listen 127.0.0.1:%%PORT_$port%%;\n"
                      . "        $directive\n    }", $msg, $name);
}

# The first line (without its newline) a TCP client of 127.0.0.1:$port
# gets, bound to local address $from if given: 'closed' when the server
# closes before a byte, 'connect: ERROR' when it cannot connect.
sub stream_line {
    my ($port, $from) = @_;
    my $s = IO::Socket::INET->new(PeerAddr => "127.0.0.1:$port",
                                  ($from ? (LocalAddr => $from) : ()),
                                  Timeout => 5) or return "connect: $!";
    my ($l, $c) = ('');
    my $sel = IO::Select->new($s);
    while ($sel->can_read(5)) {
        sysread($s, $c, 1) or last;
        $l .= $c;
        last if $c eq "\n";
    }
    close $s;
    return $l eq '' ? 'closed' : ($l =~ s/\n//r);
}

# True if nothing accepts TCP connections on 127.0.0.1:$port.
sub port_is_closed {
    my ($port) = @_;
    return !_can_connect('127.0.0.1', $port);
}


# Start ferry in the foreground (the conf says "daemon off") and wait
# until the pid file exists and every listen port accepts connections.
# Emits one test; returns true when ferry is up.
sub start {
    my ($self, @args) = @_;

    _check_binary();
    die "ferry is already running\n" if $self->is_running;

    @args = map { $self->subst($_) } @args;
    my @cmd = ($BINARY, '-p', "$self->{prefix}/", '-c', 'conf/ferry.conf',
               @args);

    # only the part of the logs written by this run is checked at stop
    my $elog = $self->error_log_file;
    $self->{log_offset} = $elog eq 'stderr' ? undef : (-s $elog) // 0;
    $self->{stderr_offset} = (-s $self->stderr_file) // 0;
    $self->{checked} = 0;
    $self->{status} = undef;

    my $stderr = $self->stderr_file;
    my $pid = fork // die "fork: $!\n";
    if ($pid == 0) {
        open STDOUT, '>>', $stderr or POSIX::_exit(126);
        open STDERR, '>&', \*STDOUT or POSIX::_exit(126);
        # its own process group: the safety net can kill master and
        # workers together, and nothing else
        setpgrp(0, 0);
        alarm 0;    # a pending alarm would survive exec
        $self->_set_env;
        { exec { $cmd[0] } @cmd }
        POSIX::_exit(127);
    }
    $self->{pid} = $pid;
    $self->{started_at} = Time::HiRes::time();

    my @addrs = $self->listen_addrs;
    my $pidfile = $self->pid_file;
    my $why = '';

    my $up = wait_until {
        if (!$self->is_running) {
            $why = 'ferry exited during start-up with status '
                   . _exit_code($self->{status});
            return 'dead';
        }
        # the master's pid: a stale file left by another process is
        # there before ferry replaces it, and the port accepts
        # connections (listen backlog) before the pid file is written
        my $p = read_file($pidfile);
        if (!defined $p || $p !~ /^(\d+)\s*$/ || $1 != $self->{pid}) {
            $why = "no pid file $pidfile naming the master $self->{pid}";
            return 0;
        }
        for my $a (@addrs) {
            if (!_can_connect(@$a)) {
                $why = "$a->[0]:$a->[1] does not accept connections";
                return 0;
            }
        }
        return 'up';
    } $START_TIMEOUT;

    my $ok = defined $up && $up eq 'up';
    $TB->ok($ok, 'ferry started' . (@args ? " (@args)" : ''));
    if (!$ok) {
        $TB->diag($up ? $why : "$why (after ${START_TIMEOUT}s)");
        $self->_diag_logs;
        $self->_kill_all if $self->is_running;
    }
    return $ok;
}

sub _diag_logs {
    my ($self) = @_;
    my $se = $self->stderr_log;
    my $el = $self->error_log_file eq 'stderr' ? '' : $self->error_log;
    for ([stderr => $se], ['error log' => $el]) {
        my ($name, $text) = @$_;
        next if $text eq '';
        my @l = split /\n/, $text;
        @l = @l[-30 .. -1] if @l > 30;
        $TB->diag("$name (last lines):\n" . join "\n", map { "  $_" } @l);
    }
}

sub master_pid { $_[0]{pid} }

sub is_running {
    my ($self) = @_;
    return 0 unless defined $self->{pid};
    return 0 if defined $self->{status};
    my $r = waitpid $self->{pid}, WNOHANG;
    if ($r == $self->{pid}) {
        $self->{status} = $?;
        return 0;
    }
    if ($r == -1) {
        $self->{status} //= 0;
        return 0;
    }
    return 1;
}

# Wait for the master to exit by itself (after "-s stop", a signal...).
# Returns its exit code, or undef if it is still running after $timeout.
sub wait_exit {
    my ($self, $timeout) = @_;

    return undef unless defined $self->{pid};
    return _exit_code($self->{status}) if defined $self->{status};
    my $st = _wait_pid($self->{pid}, $timeout // $STOP_TIMEOUT);
    return undef unless defined $st;
    $self->{status} = $st;
    return _exit_code($st);
}

sub exit_code {
    my ($self) = @_;
    return defined $self->{status} ? _exit_code($self->{status}) : undef;
}

# [pid, ppid, pgrp, state, comm] of every process.
sub _processes {
    my @p;
    opendir my $d, '/proc' or return;
    for my $pid (grep { /^\d+$/ } readdir $d) {
        my $stat = read_file("/proc/$pid/stat") or next;
        next unless $stat =~ /^(\d+) \((.*)\) (\S) (\d+) (\d+)/s;
        push @p, [$1, $4, $5, $3, $2];
    }
    closedir $d;
    return @p;
}

# The live (non-zombie) children of the master, sorted.
sub worker_pids {
    my ($self) = @_;
    my $m = $self->{pid} // return ();
    return sort { $a <=> $b }
           map { $_->[0] } grep { $_->[1] == $m && $_->[3] ne 'Z' }
           _processes();
}

# Poll until the master has exactly $n children; returns them (or the
# last list seen, with a failed test, on timeout).
sub wait_workers {
    my ($self, $n, $timeout) = @_;
    my @w;
    my $ok = wait_until { @w = $self->worker_pids; @w == $n } $timeout // 10;
    $TB->ok($ok, "$n worker processes running")
        or $TB->diag("workers: @w");
    return @w;
}

# Processes left in ferry's process group (master and workers).
sub _group_pids {
    my ($self) = @_;
    my $g = $self->{pid} // return ();
    return map { $_->[0] } grep { $_->[2] == $g && $_->[3] ne 'Z' }
           _processes();
}

sub _kill_all {
    my ($self) = @_;
    return unless defined $self->{pid};
    kill 'KILL', -$self->{pid};
    kill 'KILL', $_ for $self->_group_pids;
    if (!defined $self->{status}) {
        my $st = _wait_pid($self->{pid}, 5);
        $self->{status} = $st // 9;
    }
}

sub _log_problems {
    my ($self) = @_;
    my @bad;

    my @sources;
    my $elog = $self->error_log_file;
    if ($elog ne 'stderr') {
        my $t = read_file($elog) // '';
        push @sources, ['error log', substr($t, min($self->{log_offset} // 0,
                                                     length $t))];
    }
    my $se = $self->stderr_log;
    push @sources, ['stderr', substr($se, min($self->{stderr_offset} // 0,
                                               length $se))];

    for my $src (@sources) {
        my ($name, $text) = @$src;
        LINE: for my $line (split /\n/, $text) {
            next unless $line =~ /\[(?:alert|crit|emerg)\]/
                     || $line =~ /AddressSanitizer|LeakSanitizer
                                 |ThreadSanitizer|MemorySanitizer
                                 |UndefinedBehaviorSanitizer
                                 |runtime\ error:/x;
            for my $re (@{ $self->{allow} }) {
                next LINE if $line =~ $re;
            }
            push @bad, "$name: $line";
        }
    }
    return @bad;
}

sub min { $_[0] < $_[1] ? $_[0] : $_[1] }

# Graceful stop: SIGQUIT, wait for the master to exit, then check that no
# process of ferry's is left, that the exit code is 0 and that the logs
# hold no [alert]/[crit]/[emerg] or sanitizer report (except lines
# allowed with allow_log).  Emits one test; returns its result.
# If the master already exited (wait_exit), only the checks are done.
sub stop {
    my ($self, $signal) = @_;

    return 1 unless defined $self->{pid};
    return 1 if $self->{checked};
    $self->{checked} = 1;

    my @why;
    if ($self->is_running) {
        kill $signal // 'QUIT', $self->{pid};
        if (!defined $self->wait_exit($STOP_TIMEOUT)) {
            push @why, "master did not exit within ${STOP_TIMEOUT}s after"
                       . " SIG" . ($signal // 'QUIT');
            $self->_kill_all;
        }
    }

    my $code = $self->exit_code;
    push @why, "master exit code $code, expected 0"
        if defined $code && $code != 0 && !@why;

    my @left;
    wait_until { @left = $self->_group_pids; !@left } 5;
    if (@left) {
        push @why, "processes left after the master exited: @left";
        kill 'KILL', $_ for @left;
    }

    push @why, "log problem: $_" for $self->_log_problems;

    my $ok = !@why;
    $TB->ok($ok, 'ferry stopped cleanly, nothing bad in the logs');
    $TB->diag(join "\n", @why) unless $ok;
    return $ok;
}

# Safety net: a test that forgot stop() (or died) must not leave ferry
# running.  While tests may still be added (no plan yet) this is a normal
# stop() with its test; otherwise ferry is stopped the same way and
# problems are only printed.
sub _emergency_stop {
    my ($self) = @_;
    return unless defined $self->{pid};
    return if $self->{checked} && !$self->is_running && !$self->_group_pids;

    if (!$self->{checked} && !defined $TB->has_plan) {
        $self->stop;
        return;
    }

    if ($self->is_running) {
        $TB->diag("ferry (pid $self->{pid}) still running at the end of"
                  . " the test; stopping it");
        kill 'QUIT', $self->{pid};
        $self->_kill_all unless defined $self->wait_exit($STOP_TIMEOUT);
    }
    $self->_kill_all if $self->_group_pids;
    if (!$self->{checked}) {
        $self->{checked} = 1;
        $TB->diag("log problem: $_") for $self->_log_problems;
    }
}

sub DESTROY {
    my ($self) = @_;
    return unless $$ == $TEST_PID;
    local ($?, $@, $!);
    $self->_emergency_stop;
}

END {
    if ($$ == $TEST_PID) {
        kill 'KILL', @TCP_SERVERS if @TCP_SERVERS;
        my $status = $?;
        my $passing = $TB->is_passing && $status == 0;
        for my $self (grep { defined } @INSTANCES) {
            $self->_emergency_stop;
        }
        # the ports go back once nothing of this file listens on them
        for my $p (keys %PORT_LOCKS) {
            unlink "$PORT_DIR/$p";      # still locked: see free_port
            close $PORT_LOCKS{$p};
        }
        for my $prefix (@PREFIXES) {
            next unless -d $prefix;
            if ($passing && !$ENV{FERRY_TEST_KEEP}) {
                File::Path::remove_tree($prefix);
            } else {
                $TB->diag("test files kept in $prefix");
            }
        }
        $? = $status;
    }
}


# ---------------------------------------------------------------------
# HTTP client helpers

# Build a request.  Options: method (GET), path (/), version (1.1),
# headers => [name => value, ...] (Host: localhost is added unless given),
# body => bytes (Content-Length added unless a Content-Length or
# Transfer-Encoding header is given).
sub build_request {
    my (%o) = @_;

    my $method = $o{method} // 'GET';
    my $path = $o{path} // '/';
    my $version = $o{version} // '1.1';
    my @h = @{ $o{headers} // [] };
    my %have;
    for (my $i = 0; $i < @h; $i += 2) {
        $have{lc $h[$i]} = 1;
    }
    unshift @h, Host => 'localhost' unless $have{host};
    if (defined $o{body} && !$have{'content-length'}
        && !$have{'transfer-encoding'})
    {
        push @h, 'Content-Length' => length $o{body};
    }

    my $req = "$method $path HTTP/$version\r\n";
    for (my $i = 0; $i < @h; $i += 2) {
        $req .= "$h[$i]: $h[$i + 1]\r\n";
    }
    return $req . "\r\n" . ($o{body} // '');
}

# Open a connection, send the raw bytes, read one complete response (or
# until the server closes).  Options: timeout (5), head => 1 (the
# request was HEAD: no body), wait_close => seconds (after the response,
# wait that long for the server to close; sets {closed}).
# Returns a hash: status, reason, version, headers (lowercased name =>
# value, repeated names joined with ", "), header_list ([name, value] in
# order), body, raw, chunked, closed; {error} when no complete response
# was read (with whatever arrived in {raw}).
sub http {
    my ($port, $request, %o) = @_;

    my $c = Ferry::Test::Client->new($port, timeout => $o{timeout} // 5);
    return { error => "connect to 127.0.0.1:$port: $!", raw => '' }
        unless $c;
    $c->send($request);
    my $r = $c->read_response(%o);
    if (!$r->{error} && $o{wait_close}) {
        $r->{closed} = $c->wait_close($o{wait_close});
    }
    $c->close;
    return $r;
}

# GET $path with Connection: close (unless given) and Host: localhost.
sub http_get {
    my ($port, $path, @headers) = @_;

    my %have;
    for (my $i = 0; $i < @headers; $i += 2) {
        $have{lc $headers[$i]} = 1;
    }
    push @headers, Connection => 'close' unless $have{connection};
    return http($port, build_request(path => $path, headers => \@headers));
}

# Several requests on ONE connection, each sent after the previous
# response arrived.  Returns (\@responses, $closed): $closed is true if
# the server closed the connection after the last response (waits up to
# close_wait seconds, default 1, for that).  Stops early if a response
# does not arrive.
sub http_keepalive {
    my ($port, $requests, %o) = @_;

    my $c = Ferry::Test::Client->new($port, timeout => $o{timeout} // 5);
    return ([{ error => "connect to 127.0.0.1:$port: $!", raw => '' }], 1)
        unless $c;

    my @res;
    for my $req (@$requests) {
        $c->send($req);
        my $r = $c->read_response(%o,
            head => ($req =~ /^HEAD /) ? 1 : 0);
        push @res, $r;
        last if $r->{error} || $c->{eof};
    }
    my $closed = $c->wait_close($o{close_wait} // 1);
    $c->close;
    return (\@res, $closed);
}

# Parse one response from the front of $$buf.  Returns undef when more
# bytes are needed; on success removes the bytes from $$buf.  eof => 1:
# the peer closed (ends a close-delimited body).  head => 1: no body.
sub parse_response {
    my ($buf, %o) = @_;

    my @interim;
    while (1) {
        return undef unless $$buf =~ /\r?\n\r?\n/g;
        my $hend = pos($$buf);
        pos($$buf) = undef;
        my $head = substr($$buf, 0, $hend);

        my ($line, @lines) = split /\r?\n/, $head;
        my %r = (raw_head => $head, header_list => [], headers => {});
        if ($line !~ m{^(HTTP/\d\.\d) (\d\d\d)(?: (.*))?$}) {
            return { error => "bad status line: $line", raw => $$buf };
        }
        @r{qw(version status reason)} = ($1, $2, $3 // '');
        for my $l (@lines) {
            if ($l =~ /^([^:\s]+):[ \t]*(.*?)[ \t]*$/) {
                push @{ $r{header_list} }, [$1, $2];
                my $n = lc $1;
                $r{headers}{$n} = exists $r{headers}{$n}
                    ? "$r{headers}{$n}, $2" : $2;
            } else {
                return { error => "bad header line: $l", raw => $$buf };
            }
        }

        my $s = $r{status};
        if ($s >= 100 && $s < 200 && $s != 101) {
            push @interim, \%r;
            substr($$buf, 0, $hend, '');
            next;
        }
        $r{interim} = \@interim if @interim;

        my $te = lc($r{headers}{'transfer-encoding'} // '');
        my $cl = $r{headers}{'content-length'};

        if ($o{head} || $s == 204 || $s == 304 || $s == 101) {
            $r{body} = '';
            $r{raw} = substr($$buf, 0, $hend, '');
        } elsif ($te =~ /chunked/) {
            my ($body, $end) = _dechunk($buf, $hend);
            return undef unless defined $end;
            if ($end < 0) {
                return { error => 'bad chunked body', raw => $$buf };
            }
            $r{chunked} = 1;
            $r{body} = $body;
            $r{raw} = substr($$buf, 0, $end, '');
        } elsif (defined $cl) {
            if ($cl !~ /^\d+$/) {
                return { error => "bad Content-Length: $cl", raw => $$buf };
            }
            return undef if length($$buf) < $hend + $cl;
            $r{body} = substr($$buf, $hend, $cl);
            $r{raw} = substr($$buf, 0, $hend + $cl, '');
        } else {
            return undef unless $o{eof};
            $r{body} = substr($$buf, $hend);
            $r{raw} = $$buf;
            $r{close_delimited} = 1;
            $$buf = '';
        }
        return \%r;
    }
}

# Decode a chunked body starting at $pos.  Returns (body, end offset), or
# (undef, undef) if incomplete, or (undef, -1) if malformed.
sub _dechunk {
    my ($buf, $pos) = @_;
    my $body = '';

    while (1) {
        my $eol = index($$buf, "\n", $pos);
        return (undef, undef) if $eol < 0;
        my $line = substr($$buf, $pos, $eol - $pos);
        $line =~ s/\r$//;
        return (undef, -1) unless $line =~ /^([0-9a-fA-F]+)[ \t]*(?:;.*)?$/;
        my $size = hex $1;
        $pos = $eol + 1;
        if ($size == 0) {
            # trailer section up to an empty line
            while (1) {
                $eol = index($$buf, "\n", $pos);
                return (undef, undef) if $eol < 0;
                my $t = substr($$buf, $pos, $eol - $pos);
                $pos = $eol + 1;
                return ($body, $pos) if $t eq '' || $t eq "\r";
            }
        }
        return (undef, undef) if length($$buf) < $pos + $size + 1;
        $body .= substr($$buf, $pos, $size);
        $pos += $size;
        if (substr($$buf, $pos, 2) eq "\r\n") {
            $pos += 2;
        } elsif (substr($$buf, $pos, 1) eq "\n") {
            $pos += 1;
        } elsif (length($$buf) < $pos + 2) {
            return (undef, undef);
        } else {
            return (undef, -1);
        }
    }
}

# Parse the default echo body of Ferry::Test::Backend.
sub parse_echo {
    my ($text) = @_;
    return undef unless defined $text;

    my $i = index($text, "\n\n");
    return undef if $i < 0;
    my %e = (headers => [], header_lines => []);
    for my $l (split /\n/, substr($text, 0, $i)) {
        if ($l =~ /^header (.*)$/) {
            push @{ $e{header_lines} }, $1;
            my ($n, $v) = $1 =~ /^([^:]*):[ \t]*(.*?)[ \t]*$/ ? ($1, $2)
                                                               : ($1, undef);
            push @{ $e{headers} }, [$n, $v];
        } elsif ($l =~ /^(method|uri|version|body-length|tls-\w+) (.*)$/) {
            $e{$1} = $2;
        }
    }
    $e{body} = substr($text, $i + 2);
    return \%e;
}

# Deterministic test content of $len bytes holding every byte value
# (CR, LF, NUL, "0\r\n\r\n"-looking runs included).
my $PATTERN;
sub test_body {
    my ($len, $seed) = @_;
    $PATTERN //= join '', map { chr(($_ * 131 + ($_ >> 8) * 7) % 256) }
                          0 .. 65535;
    $seed //= 0;
    my $p = substr($PATTERN, $seed % 65536) . substr($PATTERN, 0,
                                                       $seed % 65536);
    my $s = $p x (int($len / 65536) + 1);
    $s .= "0\r\n\r\n";
    return substr($s, 0, $len);
}


# ---------------------------------------------------------------------
package Ferry::Test::Client;

# One client connection.  Timeouts everywhere; no method blocks longer
# than the timeout given.

use strict;
use warnings;
use IO::Socket::INET;
use IO::Select;
use Time::HiRes ();

sub new {
    my ($class, $port, %o) = @_;

    my $s = IO::Socket::INET->new(PeerAddr => $o{host} // '127.0.0.1',
                                  PeerPort => $port, Proto => 'tcp',
                                  Timeout => $o{timeout} // 5)
        or return undef;
    binmode $s;
    $s->blocking(0);
    return bless { sock => $s, buf => '', eof => 0,
                   timeout => $o{timeout} // 5 }, $class;
}

sub sock { $_[0]{sock} }

# Send all bytes (returns false if the peer is gone or the timeout hit).
sub send {
    my ($self, $data, $timeout) = @_;

    my $deadline = Time::HiRes::time() + ($timeout // $self->{timeout});
    my $sel = IO::Select->new($self->{sock});
    my $off = 0;
    while ($off < length $data) {
        my $left = $deadline - Time::HiRes::time();
        return 0 if $left <= 0;
        next unless $sel->can_write($left);
        my $n = syswrite $self->{sock}, $data, length($data) - $off, $off;
        if (!defined $n) {
            next if $!{EAGAIN} || $!{EINTR};
            return 0;
        }
        $off += $n;
    }
    return 1;
}

# Read what is available within $timeout seconds into the buffer.
# Returns bytes read, 0 on EOF, undef on timeout.
sub _read_some {
    my ($self, $timeout) = @_;

    return 0 if $self->{eof};
    my $sel = IO::Select->new($self->{sock});
    my $deadline = Time::HiRes::time() + $timeout;
    while (1) {
        my $left = $deadline - Time::HiRes::time();
        return undef if $left <= 0;
        next unless $sel->can_read($left);
        my $n = sysread $self->{sock}, $self->{buf}, 262144,
                        length $self->{buf};
        if (!defined $n) {
            next if $!{EAGAIN} || $!{EINTR};
            # a reset counts as the end of the connection
            $self->{eof} = 1;
            $self->{reset} = 1;
            return 0;
        }
        if ($n == 0) {
            $self->{eof} = 1;
            return 0;
        }
        return $n;
    }
}

# Read one complete response.  Options: timeout, head.  See
# Ferry::Test::http for the result.
sub read_response {
    my ($self, %o) = @_;

    my $deadline = Time::HiRes::time() + ($o{timeout} // $self->{timeout});
    while (1) {
        my $r = Ferry::Test::parse_response(\$self->{buf},
                                            head => $o{head},
                                            eof => $self->{eof});
        if ($r) {
            $r->{closed} = 1 if $self->{eof} && $self->{buf} eq ''
                                && $r->{close_delimited};
            return $r;
        }
        if ($self->{eof}) {
            return { error => 'connection closed before a complete response',
                     raw => $self->{buf}, closed => 1 };
        }
        my $left = $deadline - Time::HiRes::time();
        my $n = $left > 0 ? $self->_read_some($left) : undef;
        if (!defined $n) {
            return { error => 'timeout waiting for a response',
                     raw => $self->{buf} };
        }
    }
}

# Wait up to $timeout seconds for the server to close the connection.
# Bytes arriving meanwhile are kept in the buffer (and {extra} is set).
# Returns true if it closed.
sub wait_close {
    my ($self, $timeout) = @_;

    my $deadline = Time::HiRes::time() + $timeout;
    while (!$self->{eof}) {
        my $left = $deadline - Time::HiRes::time();
        last if $left <= 0;
        my $n = $self->_read_some($left);
        last unless defined $n;
        $self->{extra} = 1 if $n;
    }
    return $self->{eof};
}

sub buffer { $_[0]{buf} }

sub close {
    my ($self) = @_;
    close $self->{sock} if $self->{sock};
    $self->{sock} = undef;
}


# ---------------------------------------------------------------------
package Ferry::Test::Backend;

# A fake upstream HTTP/1.1 server on 127.0.0.1, in a forked process that
# forks once more per connection.
#
#   Ferry::Test::Backend->new(port => $p)          # echo server
#   Ferry::Test::Backend->new(port => $p, host => '::1')  # another address
#   Ferry::Test::Backend->new(port => $p, handler => sub {
#       my ($req) = @_;     # {method uri version headers header_lines body}
#       return { status => 201, reason => 'Created',
#                headers => [ 'X-A' => 'b' ], body => "x\n",
#                mode => 'length' | 'chunked' | 'close',
#                chunk_size => N, delay => seconds };
#   });
#   Ferry::Test::Backend->new(port => $p, raw => sub {
#       my ($sock, $req) = @_;   # after a request was read; then closed
#       syswrite $sock, "garbage\r\n\r\n";
#   });
#   on_connect => sub { my ($sock) = @_; ... }  # before reading; then closed
#   ssl => { cert => FILE, key => FILE,     # speak TLS (IO::Socket::SSL);
#            ca => FILE }                   # ca: require a client
#                                           # certificate signed by it
#   With ssl, $req->{tls} = { sni, reused (0/1), client (subject CN or ''),
#   protocol, conn (the connection's process id) } and the echo adds the
#   lines "tls-sni", "tls-reused", "tls-client", "tls-protocol",
#   "tls-conn".  The context is made once, before the per-connection
#   forks, so every connection shares its session-ticket keys and a
#   client can resume.  A failed handshake is logged to the file
#   tls_errors() reads.
#
# The default handler echoes the request: status 200, text/plain, body
#   method GET\nuri /x\nversion HTTP/1.0\nheader Host: ...\n...
#   body-length N\n\n<body>
# Keep-alive is served unless the request says close (or is HTTP/1.0
# without keep-alive) or the response is close-delimited.

use strict;
use warnings;
use IO::Socket::INET;
use IO::Socket::IP;
use IO::Select;
use POSIX ();
use File::Temp ();
use File::Path ();
use Time::HiRes ();

my %REASON = (
    200 => 'OK', 201 => 'Created', 202 => 'Accepted', 204 => 'No Content',
    301 => 'Moved Permanently', 302 => 'Found', 304 => 'Not Modified',
    400 => 'Bad Request', 403 => 'Forbidden', 404 => 'Not Found',
    500 => 'Internal Server Error', 502 => 'Bad Gateway',
    503 => 'Service Unavailable',
);

sub new {
    my ($class, %o) = @_;

    my $port = $o{port} or die "Ferry::Test::Backend: port is required\n";
    my $host = $o{host} // '127.0.0.1';
    my $listen = IO::Socket::IP->new(LocalHost => $host,
                                     LocalPort => $port, Proto => 'tcp',
                                     Listen => 128, ReuseAddr => 1)
        or die "backend cannot listen on $host:$port: $!\n";

    my $dir = File::Temp::tempdir('ferry-backend-XXXXXX', TMPDIR => 1,
                                  CLEANUP => 0);
    my $log = "$dir/requests";
    open my $fh, '>', $log or die "$log: $!\n";
    close $fh;

    my $parent = $$;
    my $pid = fork // die "fork: $!\n";
    if ($pid == 0) {
        setpgrp(0, 0);
        $SIG{ALRM} = 'DEFAULT';
        alarm 0;
        eval { _serve($listen, $log, $parent, \%o) };
        POSIX::_exit(0);
    }
    close $listen;

    return bless { pid => $pid, port => $port, dir => $dir, log => $log,
                   owner => $$ }, $class;
}

sub port { $_[0]{port} }

# With ssl: the handshake failures seen so far (one line each).
sub tls_errors {
    my ($self) = @_;
    open my $fh, '<', "$self->{log}.tls" or return ();
    my @l = <$fh>;
    close $fh;
    chomp @l;
    return @l;
}

# Requests received so far (counted when a request has been read, before
# the handler runs).
sub requests {
    my ($self) = @_;
    return scalar $self->request_lines;
}

# "METHOD URI" of each request received, in order of arrival.
sub request_lines {
    my ($self) = @_;
    open my $fh, '<', $self->{log} or return ();
    my @l = <$fh>;
    close $fh;
    chomp @l;
    return @l;
}

sub stop {
    my ($self) = @_;
    return unless $self->{pid} && $$ == $self->{owner};
    kill 'KILL', -$self->{pid};
    waitpid $self->{pid}, 0;
    $self->{pid} = undef;
    File::Path::remove_tree($self->{dir});
}

sub DESTROY {
    my ($self) = @_;
    local ($?, $@, $!);
    $self->stop;
}

sub _serve {
    my ($listen, $log, $parent, $o) = @_;

    $SIG{CHLD} = 'IGNORE';
    $SIG{PIPE} = 'IGNORE';
    if ($o->{ssl}) {
        require IO::Socket::SSL;
        my %v = $o->{ssl}{ca}
            ? (SSL_verify_mode => IO::Socket::SSL::SSL_VERIFY_PEER()
                   | IO::Socket::SSL::SSL_VERIFY_FAIL_IF_NO_PEER_CERT(),
               SSL_ca_file => $o->{ssl}{ca})
            : (SSL_verify_mode => IO::Socket::SSL::SSL_VERIFY_NONE());
        $o->{ssl_ctx} = IO::Socket::SSL::SSL_Context->new(
            SSL_server => 1, SSL_cert_file => $o->{ssl}{cert},
            SSL_key_file => $o->{ssl}{key}, %v)
            or die "backend TLS context: $IO::Socket::SSL::SSL_ERROR\n";
    }
    my $sel = IO::Select->new($listen);
    while (1) {
        # the test process is gone: stop serving
        POSIX::_exit(0) if getppid() != $parent;
        next unless $sel->can_read(0.5);
        my $c = $listen->accept or next;
        my $pid = fork;
        if (defined $pid && $pid == 0) {
            close $listen;
            eval { _connection($c, $log, $o) };
            POSIX::_exit(0);
        }
        close $c;
    }
}

sub _connection {
    my ($sock, $log, $o) = @_;

    binmode $sock;
    my $tls;
    if ($o->{ssl_ctx}) {
        my $plain = $sock;
        $sock = IO::Socket::SSL->start_SSL($plain, SSL_server => 1,
                                           SSL_reuse_ctx => $o->{ssl_ctx},
                                           Timeout => 10);
        if (!$sock) {
            if (open my $fh, '>>', "$log.tls") {
                syswrite $fh, "$IO::Socket::SSL::SSL_ERROR\n";
                close $fh;
            }
            close $plain;
            return;
        }
        my $ssl = $sock->_get_ssl_object;
        $tls = { sni => $sock->get_servername // '',
                 reused => Net::SSLeay::session_reused($ssl) ? 1 : 0,
                 client => ($sock->peer_certificate
                            ? $sock->peer_certificate('cn') // '' : ''),
                 protocol => $sock->get_sslversion // '',
                 conn => $$ };
    }
    if ($o->{on_connect}) {
        $o->{on_connect}->($sock);
        close $sock;
        return;
    }

    my $buf = '';
    while (1) {
        my $req = _read_request($sock, \$buf, 30) or last;

        if (open my $fh, '>>', $log) {
            syswrite $fh, "$req->{method} $req->{uri}\n";
            close $fh;
        }

        $req->{tls} = $tls if $tls;
        if ($o->{raw}) {
            $o->{raw}->($sock, $req);
            last;
        }

        my $res = $o->{handler} ? $o->{handler}->($req) : echo($req);
        my $close = _wants_close($req) || ($res->{mode} // '') eq 'close'
                    || $res->{close};
        Time::HiRes::sleep($res->{delay}) if $res->{delay};
        _write_all($sock, _response($req, $res, $close)) or last;
        last if $close;
    }
    shutdown $sock, 1;
    # let the peer read everything before the socket goes away
    my $sel = IO::Select->new($sock);
    my $junk;
    $sel->can_read(1) and sysread $sock, $junk, 65536;
    close $sock;
}

sub _wants_close {
    my ($req) = @_;
    my $conn = '';
    for (@{ $req->{headers} }) {
        $conn .= ',' . lc($_->[1] // '') if lc $_->[0] eq 'connection';
    }
    return 1 if $conn =~ /\bclose\b/;
    return 1 if ($req->{version} // '') ne 'HTTP/1.1'
                && $conn !~ /\bkeep-alive\b/;
    return 0;
}

# The default handler: the request, dumped line by line.
sub echo {
    my ($req) = @_;
    my $t = "method $req->{method}\n"
          . "uri $req->{uri}\n"
          . "version " . ($req->{version} // '') . "\n";
    $t .= "header $_\n" for @{ $req->{header_lines} };
    if (my $tls = $req->{tls}) {
        $t .= "tls-$_ $tls->{$_}\n" for qw(sni reused client protocol conn);
    }
    $t .= "body-length " . length($req->{body}) . "\n\n" . $req->{body};
    return { status => 200, headers => ['Content-Type' => 'text/plain'],
             body => $t };
}

sub _response {
    my ($req, $res, $close) = @_;

    my $status = $res->{status} // 200;
    my $reason = $res->{reason} // $REASON{$status} // 'Something';
    my $body = $res->{body} // '';
    my $mode = $res->{mode} // 'length';
    my @h = @{ $res->{headers} // [] };
    my %have;
    for (my $i = 0; $i < @h; $i += 2) {
        $have{lc $h[$i]} = 1;
    }

    my $head = "HTTP/1.1 $status $reason\r\n";
    for (my $i = 0; $i < @h; $i += 2) {
        $head .= "$h[$i]: $h[$i + 1]\r\n";
    }
    $head .= "Connection: close\r\n" if $close && !$have{connection};

    my $no_body = $req->{method} eq 'HEAD' || $status == 204
                  || $status == 304 || $status < 200;

    if ($mode eq 'chunked') {
        $head .= "Transfer-Encoding: chunked\r\n" unless $have{'transfer-encoding'};
        return $head . "\r\n" if $no_body;
        my $size = $res->{chunk_size}
                   // _min(65536, int(length($body) / 3) + 1);
        my @parts = ($head . "\r\n");
        for (my $off = 0; $off < length $body; $off += $size) {
            my $c = substr($body, $off, $size);
            push @parts, sprintf("%x\r\n", length $c) . $c . "\r\n";
        }
        push @parts, "0\r\n\r\n";
        return @parts;
    }

    if ($mode eq 'close') {
        return $head . "\r\n" . ($no_body ? '' : $body);
    }

    $head .= "Content-Length: " . length($body) . "\r\n"
        unless $have{'content-length'};
    return $head . "\r\n" . ($no_body ? '' : $body);
}

sub _min { $_[0] < $_[1] ? $_[0] : $_[1] }

sub _write_all {
    my ($sock, @parts) = @_;
    for my $data (@parts) {
        my $off = 0;
        while ($off < length $data) {
            my $n = syswrite $sock, $data, length($data) - $off, $off;
            if (!defined $n) {
                next if $!{EINTR};
                return 0;
            }
            $off += $n;
        }
    }
    return 1;
}

# Read more bytes within the deadline: bytes read, 0 on EOF, undef on
# timeout or error.
sub _fill {
    my ($sock, $buf, $deadline) = @_;
    my $sel = IO::Select->new($sock);
    my $left = $deadline - Time::HiRes::time();
    # TLS: decrypted bytes may wait in the library, not in the socket
    my $pending = $sock->isa('IO::Socket::SSL') && $sock->pending;
    return undef if !$pending && ($left <= 0 || !$sel->can_read($left));
    my $n = sysread $sock, $$buf, 262144, length $$buf;
    return $n;
}

# One request from the connection, or undef (EOF, timeout, garbage).
sub _read_request {
    my ($sock, $buf, $timeout) = @_;

    my $deadline = Time::HiRes::time() + $timeout;
    while (1) {
        $$buf =~ s/^(?:\r?\n)+//;
        last if $$buf =~ /\r?\n\r?\n/;
        my $n = _fill($sock, $buf, $deadline);
        return undef unless $n;
    }

    $$buf =~ /\r?\n\r?\n/g;
    my $hend = pos($$buf);
    pos($$buf) = undef;
    my $head = substr($$buf, 0, $hend, '');
    my ($line, @lines) = split /\r?\n/, $head;

    my %req = (request_line => $line, headers => [], header_lines => [],
               body => '');
    if ($line =~ m{^(\S+) (\S+) (HTTP/\d\.\d)$}) {
        @req{qw(method uri version)} = ($1, $2, $3);
    } else {
        @req{qw(method uri version)} = ('?', $line, '');
    }
    my ($cl, $chunked);
    for my $l (@lines) {
        push @{ $req{header_lines} }, $l;
        my ($n, $v) = $l =~ /^([^:]*):[ \t]*(.*?)[ \t]*$/ ? ($1, $2)
                                                           : ($l, undef);
        push @{ $req{headers} }, [$n, $v];
        $cl = $v if lc $n eq 'content-length';
        $chunked = 1 if lc $n eq 'transfer-encoding'
                        && lc($v // '') =~ /chunked/;
    }

    if ($chunked) {
        my ($body, $end);
        while (1) {
            ($body, $end) = Ferry::Test::_dechunk($buf, 0);
            last if defined $end;
            return undef unless _fill($sock, $buf, $deadline);
        }
        return undef if $end < 0;
        substr($$buf, 0, $end, '');
        $req{body} = $body;
    } elsif (defined $cl && $cl =~ /^\d+$/) {
        while (length $$buf < $cl) {
            return undef unless _fill($sock, $buf, $deadline);
        }
        $req{body} = substr($$buf, 0, $cl, '');
    }
    return \%req;
}

1;
