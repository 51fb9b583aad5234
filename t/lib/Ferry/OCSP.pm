package Ferry::OCSP;

# Ferry::OCSP -- a real OCSP responder for the tests of OCSP stapling
# (t/ocsp_stapling.t) and of client certificates (t/ssl_ocsp.t):
# "openssl ocsp -index ... -port", started in the background.
#
#   my $pid = Ferry::OCSP::responder(dir => $d, port => $port,
#       index => 'db/index.txt', ca => 'int.crt', signer => 'ocsp',
#       log => "$d/ocsp.log");
#
# It runs in dir, answers for the certificates CA issued as the index
# (an "openssl ca" database) says, signs with signer.crt and signer.key
# and gives a nextUpdate an hour on.  It is ready when this returns (the
# test bails out otherwise) and is killed when the test file ends.

use strict;
use warnings;
use POSIX ();
use Test::More ();
use Ferry::Test qw(wait_until);

my @PIDS;

sub responder {
    my (%o) = @_;
    my $pid = fork // die "fork: $!";
    if ($pid == 0) {
        chdir $o{dir};
        open STDIN, '<', '/dev/null';
        open STDOUT, '>', $o{log};
        open STDERR, '>&', \*STDOUT;
        exec('openssl', 'ocsp', '-index', $o{index}, '-port', $o{port},
             '-rsigner', "$o{signer}.crt", '-rkey', "$o{signer}.key",
             '-CA', $o{ca}, '-nmin', '60') or POSIX::_exit(127);
    }
    push @PIDS, $pid;
    # ready when it says so: a connection made to find out would be the
    # one it serves (one at a time), and hold it up
    wait_until { (`cat $o{log}` // '') =~ /waiting for OCSP client connections/ } 10
        or Test::More::BAIL_OUT("openssl ocsp did not start");
    return $pid;
}

END { kill 'TERM', @PIDS if @PIDS; }

1;
