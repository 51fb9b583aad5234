#!/usr/bin/perl
#
# sanitizer_report.t -- the test library notices a sanitizer report
# written by a worker, not only by the master.  Runs only against an
# ASan build (make test-sanitizers, make check); skipped otherwise.
#
# A worker sent SIGSEGV dies through ASan's handler, which prints
# "ERROR: AddressSanitizer: SEGV" on the stderr the worker inherited
# from the master.  That report must be among the problems the stop
# check fails a test for; here it is then allowed, so this file passes.

use strict;
use warnings;

use Test::More;
use Ferry::Test;

my $bin = do {
    open my $fh, '<', $Ferry::Test::BINARY or die "$Ferry::Test::BINARY: $!\n";
    binmode $fh;
    local $/;
    <$fh>;
};
plan skip_all => 'ferry is not built with AddressSanitizer'
    unless index($bin, '__asan_init') >= 0;
undef $bin;

my $f = Ferry::Test->new(conf => main_conf() . <<'EOF');
worker_processes 2;
events { worker_connections 64; }
http {
    server {
        listen 127.0.0.1:%%PORT_0%%;
        location / { return 200 "up\n"; }
    }
}
EOF

$f->start;
my @w = $f->wait_workers(2);

ok(!grep({ /Sanitizer/ } $f->_log_problems), 'no sanitizer report yet');

kill 'SEGV', $w[0];
my $seen = wait_until {
    grep { /^stderr: .*AddressSanitizer/ } $f->_log_problems
} 5;
ok($seen, 'the report of the worker that crashed is a log problem')
    or diag explain [$f->_log_problems];

# the master replaced the worker and still serves
wait_until { my @n = $f->worker_pids; @n == 2 && !grep { $_ == $w[0] } @n } 5;
is(http_get($f->port(0), '/')->{status}, 200, 'still served after the crash');

$f->allow_log(qr/Sanitizer|==\d+==|^\s*#\d+ |SUMMARY:|DEADLYSIGNAL|Hint:|exited on signal|worker process \d+/);
$f->stop;

done_testing;
