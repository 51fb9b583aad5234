#!/usr/bin/perl

# The configuration reader and the command line, as an operator sees
# them: "ferry -t" verdicts and nginx-style error messages that name the
# file and line, -T/-v/-V/-h, -g, and that a bad configuration starts
# nothing.

use strict;
use warnings;

use Test::More;
use Ferry::Test;

my $EVENTS = "events { worker_connections 64; }\n";

my $GOOD = main_conf() . $EVENTS . <<'EOF';
worker_processes 1;
http {
    upstream app { server 127.0.0.1:%%PORT_1%%; }
    server {
        listen 127.0.0.1:%%PORT_0%%;
        location / { proxy_pass http://app; }
        location /r { return 200 "ok"; }
    }
}
EOF

# A configuration that must fail "ferry -t" with
#   ferry: [emerg] MESSAGE in FILE:LINE
# where FILE is conf/ferry.conf under the prefix unless given; `like`
# instead of `message` when only parts of the wording are fixed.
sub conf_error {
    my (%a) = @_;

    my $f = Ferry::Test->new(conf => $a{conf});
    $f->write_file($_, $a{files}{$_}) for keys %{ $a{files} // {} };
    my ($rc, $out) = $f->run('-t', @{ $a{args} // [] });

    my $file = $a{file} // $f->conf_file;
    $file = $f->prefix . "/$file" unless $file =~ m{^/};
    my $where = defined $a{line} ? "$file:$a{line}" : $file;
    my $want = $a{like} ? qr/ferry: \[emerg\] $a{like} in \Q$where\E(?!\d)/m
                        : qr/\Qferry: [emerg] $a{message} in $where\E(?!\d)/;

    subtest $a{name} => sub {
        is($rc, 1, 'ferry -t exits with 1');
        # (?!\d): "... in FILE:3" must not be "... in FILE:35"
        like($out, $want, 'message names the error, file and exact line');
        ok(!-e $f->pid_file, 'no pid file');
        ok(port_is_closed($f->port(0)), 'nothing listens on the port')
            if $a{conf} =~ /%%PORT_0%%/;
    };
    return $f;
}


# ---- a good configuration ------------------------------------------

{
    my $f = Ferry::Test->new(conf => $GOOD);
    my ($rc, $out) = $f->run('-t');
    is($rc, 0, '-t: good configuration exits 0');
    like($out, qr/^ferry: configuration file \Q${\ $f->conf_file }\E test is successful$/m,
         '-t: says the test is successful, with the full path');
    unlike($out, qr/\[(?:emerg|alert|crit)\]/, '-t: no errors printed');
    ok(!-e $f->pid_file, '-t: no pid file written');
    ok(port_is_closed($f->port(0)), '-t: nothing left listening');

    # -T prints the file after testing it
    ($rc, $out) = $f->run('-T');
    is($rc, 0, '-T exits 0');
    my $dump = "# configuration file ${\ $f->conf_file }:\n"
               . $f->subst($GOOD);
    ok(index($out, $dump) >= 0, '-T prints "# configuration file PATH:" and the text')
        or diag($out);
}

# -T prints included files too, each with its own header
{
    my $f = Ferry::Test->new(conf => main_conf() . $EVENTS
        . "include %%PREFIX%%/conf/http.conf;\n");
    my $inc = $f->write_file('conf/http.conf', <<'EOF');
http {
    server {
        listen 127.0.0.1:%%PORT_0%%;
        location / { return 200 "included"; }
    }
}
EOF
    my ($rc, $out) = $f->run('-T');
    is($rc, 0, '-T with an include exits 0') or diag($out);
    ok(index($out, "# configuration file ${\ $f->conf_file }:\n") >= 0,
       '-T prints the main file');
    ok(index($out, "# configuration file $inc:\n"
                   . Ferry::Test::read_file($inc)) >= 0,
       '-T prints the included file') or diag($out);
}


# ---- error messages name file and line -----------------------------

conf_error(
    name => 'unknown directive',
    conf => main_conf() . "foo bar;\n" . $EVENTS,
    message => 'unknown directive "foo"',
    line => 4,
);

conf_error(
    name => 'unknown directive inside a block',
    conf => main_conf() . $EVENTS . <<'EOF',
http {
    server {
        listen 127.0.0.1:%%PORT_0%%;
        frobnicate on;
    }
}
EOF
    message => 'unknown directive "frobnicate"',
    line => 8,
);

conf_error(
    name => 'listen in the main context',
    conf => main_conf() . $EVENTS . "listen 127.0.0.1:%%PORT_0%%;\n",
    message => '"listen" directive is not allowed here',
    line => 5,
);

conf_error(
    name => 'listen in the http context',
    conf => main_conf() . $EVENTS . <<'EOF',
http {
    listen 127.0.0.1:%%PORT_0%%;
}
EOF
    message => '"listen" directive is not allowed here',
    line => 6,
);

conf_error(
    name => 'worker_processes without argument',
    conf => main_conf() . "worker_processes;\n" . $EVENTS,
    message => 'invalid number of arguments in "worker_processes" directive',
    line => 4,
);

conf_error(
    name => 'worker_processes with two arguments',
    conf => main_conf() . $EVENTS . "worker_processes 1 2;\n",
    message => 'invalid number of arguments in "worker_processes" directive',
    line => 5,
);

conf_error(
    name => 'worker_connections not a number',
    conf => main_conf() . "events {\n    worker_connections abc;\n}\n",
    message => '"worker_connections" directive invalid value "abc"',
    line => 5,
);

conf_error(
    name => 'worker_dispatch with an unknown strategy',
    conf => main_conf() . $EVENTS . "worker_dispatch fastest;\n",
    like => qr/(?=.*"worker_dispatch")(?=.*invalid value "fastest").*/,
    line => 5,
);

conf_error(
    name => 'worker_dispatch inside http',
    conf => main_conf() . $EVENTS . "http {\n    worker_dispatch least_conn;\n}\n",
    message => '"worker_dispatch" directive is not allowed here',
    line => 6,
);

conf_error(
    name => 'duplicate pid',
    conf => main_conf() . $EVENTS . "pid logs/other.pid;\n",
    message => '"pid" directive is duplicate',
    line => 5,
);

# no newline after the last line, so "the line of the end of file" is
# the same whichever way a reader counts a final newline
conf_error(
    name => 'unexpected end of file',
    conf => main_conf() . $EVENTS . "http {\n    server {\n"
            . "        listen 127.0.0.1:%%PORT_0%%;\n    }",
    message => 'unexpected end of file, expecting "}"',
    line => 8,
);

conf_error(
    name => 'unexpected "}"',
    conf => main_conf() . $EVENTS . <<'EOF',
http {
    server {
        listen 127.0.0.1:%%PORT_0%%;
    }
}
}
EOF
    message => 'unexpected "}"',
    line => 10,
);

# an error in an included file names that file and its line
conf_error(
    name => 'error in an included file',
    conf => main_conf() . $EVENTS . "include %%PREFIX%%/conf/extra.conf;\n",
    files => { 'conf/extra.conf' => "http {\n    foo bar;\n}\n" },
    file => 'conf/extra.conf',
    message => 'unknown directive "foo"',
    line => 2,
);

# the accepted values of worker_processes and worker_dispatch
for my $v ('worker_processes auto;', 'worker_processes 3;',
           map { "worker_dispatch $_;" } qw(round_robin least_conn least_mem))
{
    my $f = Ferry::Test->new(conf => main_conf() . $EVENTS . "$v\n");
    my ($rc, $out) = $f->run('-t');
    is($rc, 0, "-t accepts \"$v\"") or diag($out);
}

# a relative include is found next to the main file (as in nginx)
{
    my $f = Ferry::Test->new(conf => main_conf() . $EVENTS
                                     . "include extra.conf;\n");
    $f->write_file('conf/extra.conf', "worker_processes 1;\n");
    my ($rc, $out) = $f->run('-t');
    is($rc, 0, 'relative include resolves against the conf directory')
        or diag($out);
}


# nginx ends a failed test with the same full path as a good one
{
    my $f = Ferry::Test->new(conf => main_conf() . "foo;\n" . $EVENTS);
    my ($rc, $out) = $f->run('-t');
    like($out, qr/^ferry: configuration file \Q${\ $f->conf_file }\E test failed$/m,
         '-t: a failed test says "configuration file FULL-PATH test failed"');
}


# ---- a bad configuration starts nothing ------------------------------

{
    my $f = Ferry::Test->new(conf => main_conf() . $EVENTS . <<'EOF');
http {
    server {
        listen 127.0.0.1:%%PORT_0%%;
        location / { return 200 "x"; }
    }
}
foo;
EOF
    my ($rc, $out) = $f->run;     # not -t: a real start
    is($rc, 1, 'start with a bad configuration exits 1');
    like($out, qr/\Qferry: [emerg] unknown directive "foo" in ${\ $f->conf_file }:11\E(?!\d)/,
         'start with a bad configuration prints the error');
    ok(port_is_closed($f->port(0)), 'start with a bad configuration binds nothing');
    ok(!-e $f->pid_file, 'start with a bad configuration writes no pid file');
}


# ---- command line ----------------------------------------------------

{
    my $f = Ferry::Test->new(conf => $GOOD);

    my ($rc, $out) = $f->run('-v');
    is($rc, 0, '-v exits 0');
    like($out, qr{^ferry version: ferry/\d+\.\d+}m, '-v prints the version');

    ($rc, $out) = $f->run('-V');
    is($rc, 0, '-V exits 0');
    like($out, qr{^ferry version: ferry/\d+\.\d+}m, '-V prints the version');
    like($out, qr/^configure arguments:/m, '-V prints the configure arguments');
    like($out, qr/OpenSSL \d+\.\d+/, '-V prints the OpenSSL version');
    like($out, qr/PCRE2 \d+\.\d+/, '-V prints the PCRE2 version');
    like($out, qr/zlib \d+\.\d+/, '-V prints the zlib version');

    ($rc, $out) = $f->run('-h');
    is($rc, 0, '-h exits 0');
    like($out, qr/usage: ferry/i, '-h prints the usage');
    for my $opt (qw(-c -p -g -s -t -T -v -V)) {
        like($out, qr/(?<![\w-])\Q$opt\E\b/, "-h mentions $opt");
    }

    ($rc, $out) = $f->run('-Z');
    isnt($rc, 0, 'an unknown flag exits non-zero');
    like($out, qr/(?:invalid|unknown|illegal) option.*Z/i,
         'an unknown flag is named in the message');
    ok(!-e $f->pid_file, 'an unknown flag starts nothing');
}

# -g adds directives to the main context
{
    my $f = Ferry::Test->new(conf => main_conf() . $EVENTS . <<'EOF');
http {
    server {
        listen 127.0.0.1:%%PORT_0%%;
        location / { return 200 "$pid"; }
    }
}
EOF
    my ($rc, $out) = $f->run('-t', '-g', 'worker_processes 2;');
    is($rc, 0, '-t -g "worker_processes 2;" is accepted') or diag($out);

    if ($f->start('-g', 'worker_processes 2;')) {
        my @w = $f->wait_workers(2);
        my $r = http_get($f->port(0), '/');
        is($r->{status}, 200, '-g "worker_processes 2;": requests answered');
        ok(defined $r->{body} && grep({ $_ eq $r->{body} } @w),
           '-g "worker_processes 2;": by one of the two workers');
    }
    $f->stop;
}

# -g with a directive the file also has: duplicate, "in command line"
{
    my $f = Ferry::Test->new(conf => main_conf() . "worker_processes 1;\n"
                                     . $EVENTS);
    my ($rc, $out) = $f->run('-t', '-g', 'worker_processes 2;');
    is($rc, 1, '-g duplicating a directive of the file exits 1');
    like($out, qr/ferry: \[emerg\] "worker_processes" directive is duplicate in command line\b/,
         '-g duplicate: the message names "command line"');
}

done_testing;
