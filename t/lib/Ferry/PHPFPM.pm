package Ferry::PHPFPM;

# Ferry::PHPFPM -- the real php-fpm (Debian's php8.2-fpm) for t/fastcgi.t
# and t/fastcgi_cache.t: one master of its own (its config, pid and log
# in the test's directory), running in the foreground as a child of the
# test, with the pools asked for.
#
#   plan skip_all => ... unless $Ferry::PHPFPM::FPM;
#   my $fpm = Ferry::PHPFPM->new(dir => $f->prefix, pools => [
#       { name => 'a', listen => '127.0.0.1:PORT', children => 3 },
#       { name => 'b', listen => "$dir/php-b.sock", children => 2 },
#       { name => 'c', listen => '127.0.0.1:PORT',
#         extra => "listen.allowed_clients = 127.0.0.2\n" } ]);
#   ok($fpm->wait_up, 'php-fpm is up');   # each pool listens
#   ... requests ...
#   $fpm->stop;                           # also at the test's end
#
# Each pool gets env[POOL] = its name.  As root php-fpm needs -R and a
# user, given then.

use strict;
use warnings;

use POSIX qw(WNOHANG);
use Ferry::Test ();

our $FPM = (grep { -x } ('/usr/sbin/php-fpm8.2', glob('/usr/sbin/php-fpm*')))[0];

my @all;

sub new {
    my ($class, %a) = @_;
    my $self = bless { dir => $a{dir}, pools => $a{pools} }, $class;
    my $P = $a{dir};
    my $root = $> == 0;
    my $user = $root ? "user = root\ngroup = root\n" : '';
    my $conf = "[global]\npid = $P/php-fpm.pid\nerror_log = $P/php-fpm.log\n"
             . "daemonize = no\n";
    for my $p (@{ $a{pools} }) {
        $conf .= "\n[$p->{name}]\n${user}listen = $p->{listen}\n"
               . "pm = static\npm.max_children = " . ($p->{children} // 2)
               . "\nenv[POOL] = $p->{name}\n" . ($p->{extra} // '');
    }
    open my $fh, '>', "$P/php-fpm.conf" or die "php-fpm.conf: $!";
    print $fh $conf;
    close $fh;
    $self->{pid} = fork // die "fork: $!";
    if ($self->{pid} == 0) {
        open STDOUT, '>', "$P/php-fpm.out";
        open STDERR, '>&', \*STDOUT;
        setpgrp(0, 0);
        my @cmd = ($FPM, '-F', '-y', "$P/php-fpm.conf", '-p', $P,
                   $root ? ('-R') : ());
        { exec { $cmd[0] } @cmd }
        POSIX::_exit(127);
    }
    push @all, $self;
    return $self;
}

# Whether every pool listens within 10 s (php-fpm's own output shown
# when not).
sub wait_up {
    my ($self) = @_;
    my $up = Ferry::Test::wait_until(sub {
        for my $p (@{ $self->{pools} }) {
            if ($p->{listen} =~ /^[\d.]+:(\d+)$/) {
                return 0 if Ferry::Test::port_is_closed($1);
            } elsif (!-S $p->{listen}) {
                return 0;
            }
        }
        return 1;
    }, 10);
    print STDERR Ferry::Test::read_file("$self->{dir}/php-fpm.out") // ''
        unless $up;
    return $up;
}

# SIGQUIT (a graceful stop), SIGKILL if it is still there after 5 s.
sub stop {
    my ($self) = @_;
    my $pid = delete $self->{pid};
    return unless $pid && $pid > 0;
    kill 'QUIT', $pid;
    for (1 .. 100) {
        return if waitpid($pid, WNOHANG) != 0;
        select undef, undef, undef, 0.05;
    }
    kill 'KILL', $pid;
    waitpid $pid, 0;
}

END {
    local $?;
    $_->stop for @all;
}

1;
