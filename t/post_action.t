#!/usr/bin/perl

# post_action.t -- post_action (nginx's core module): once a response
# has been sent, a request to a URI or a named location whose answer
# is thrown away, here to a counting backend that notes what it got:
#
#   the count gets the finished request's variables: $request_uri,
#   $status, $body_bytes_sent, $request_completion, the method, the
#   client's header fields, $uri the post_action's (a named location:
#   the request's), no arguments; the client's answer is the main
#   backend's, untouched (status, fields, body), also for a static file,
#   a 404 and a "return"
#   it runs after the response is sent: the counter holds its answer
#   until the test releases it, and the client already has its whole
#   answer; the next request on the connection waits for it
#   a client closing meanwhile does not cut it short (log_subrequest)
#   a dead counting backend changes nothing for the client
#   post_action off in a nested location; inherited from the server
#   the access log: one line per client request, the client's status
#   a named location that does not exist: logged, the client answered
#   a response that breaks off (an upstream that stops mid-body, a
#   client that closes while a large file is sent, while the upstream
#   is still working, or during a filtered, compressed body): the
#   post_action
#   still runs, $request_completion empty, and the connection closes
#
# and the configuration errors, with file and line.

use strict;
use warnings;

use Test::More;
use Ferry::Test;

my $f = Ferry::Test->new(conf => main_conf() . <<'EOF');
worker_processes 1;
events { worker_connections 64; }
http {
    upstream app   { server 127.0.0.1:%%PORT_1%%; }
    upstream count { server 127.0.0.1:%%PORT_2%%; }
    upstream dead  { server 127.0.0.1:%%PORT_3%%; }
    upstream broken { server 127.0.0.1:%%PORT_4%%; }

    log_format st '$request_uri $status $body_bytes_sent';
    access_log logs/access.log st;

    server {
        listen 127.0.0.1:%%PORT_0%%;
        root html;
        post_action /count;

        location / {
            proxy_pass http://app;

            location /off/ { post_action off; proxy_pass http://app; }
        }
        location /named/ {
            post_action @count;
            proxy_pass http://app;
        }
        location /files/ {
        }
        location /ret/ {
            return 201 "made\n";
        }
        location /dead/ {
            post_action /deadcount;
            proxy_pass http://app;
        }
        location /gzbig/ {
            gzip on;
            gzip_types text/plain;
            gzip_min_length 1;
            sub_filter_types text/plain;
            sub_filter aaaa bbbb;
            proxy_pass http://app;
        }
        location /broken/ {
            proxy_pass http://broken;
        }
        location /nonamed/ {
            post_action @nothere;
            proxy_pass http://app;
        }

        location = /count {
            internal;
            log_subrequest on;
            access_log logs/count.log st;
            proxy_set_header X-User $http_x_user;
            proxy_set_header X-Uri $uri;
            proxy_set_header X-Args "[$args]";
            proxy_pass http://count/count?ru=$request_uri&st=$status&sent=$body_bytes_sent&ok=$request_completion;
        }
        location @count {
            proxy_set_header X-Uri $uri;
            proxy_pass http://count/named?ru=$request_uri&st=$status;
        }
        location = /deadcount {
            internal;
            proxy_pass http://dead;
        }
    }
}
EOF

my $dir = $f->prefix;
my $clog = "$dir/count.log";
my $order = "$dir/order.log";
my $release = "$dir/release";

sub note_line {
    my ($file, $line) = @_;
    if (open my $fh, '>>', $file) {
        print $fh "$line\n";
        close $fh;
    }
}

sub lines {
    my ($file) = @_;
    open my $fh, '<', $file or return ();
    my @l = <$fh>;
    chomp @l;
    return @l;
}

# The counter notes what it got; for a request of /slow/... it holds
# its answer until the test creates the release file.
my $count = Ferry::Test::Backend->new(port => $f->port(2), handler => sub {
    my ($req) = @_;
    my %h;
    for (@{ $req->{headers} }) {
        $h{lc $_->[0]} = $_->[1];
    }
    note_line($clog, sprintf "%s %s user=%s uri=%s args=%s",
              $req->{method}, $req->{uri}, $h{'x-user'} // '-',
              $h{'x-uri'} // '-', $h{'x-args'} // '-');
    if ($req->{uri} =~ m{ru=/hold/}) {
        wait_until { -e "$release.2" } 20;      # the test's release
    }
    if ($req->{uri} =~ m{ru=/slow/}) {
        wait_until { -e $release } 20;      # the test's release
        note_line($order, "count answers $req->{uri}");
    }
    return { status => 200, headers => ['X-Count' => 'yes'],
             body => "counted\n" };
});

# random bytes: compressed, still more than the sockets hold; made
# here once, not by the backend per request (8M calls of rand take
# seconds of a loaded machine's CPU, and the client below must have
# the response started before it leaves)
my $gzbig = join('', map { chr(int rand 256) } 1 .. 8 * 1024 * 1024);

my $app = Ferry::Test::Backend->new(port => $f->port(1), handler => sub {
    my ($req) = @_;
    note_line($order, "app gets $req->{uri}");
    if ($req->{uri} =~ m{^/gzbig/}) {
        return { status => 200, headers => ['Content-Type' => 'text/plain'],
                 body => $gzbig };
    }
    if ($req->{uri} =~ m{^/gone/}) {
        # the client leaves while this one is still working
        wait_until { -e "$release.3" } 20;
    }
    return { status => 200, headers => ['X-App' => 'yes'],
             body => "app $req->{method} $req->{uri}\n" };
});

# an upstream that promises 1000 bytes and closes after 7
my $broken = Ferry::Test::Backend->new(port => $f->port(4), raw => sub {
    my ($sock) = @_;
    syswrite $sock, "HTTP/1.1 200 OK\r\nContent-Length: 1000\r\n\r\npartial";
});

sub counted {
    my ($re) = @_;
    return scalar grep { /$re/ } lines($clog);
}

$f->write_file('html/files/a.txt', "a file\n");
$f->write_file('html/files/big.bin', 'x' x (16 * 1024 * 1024));
$f->allow_log(qr/connect\(\) failed|could not find named location/);
$f->start;

# a proxied GET: the client's answer is the app's; the count gets the
# finished request's variables
my $r = http_get($f->port(0), '/a/b?x=1', 'X-User' => 'ann');
is($r->{status}, 200, 'a request with post_action is answered');
is($r->{body}, "app GET /a/b?x=1\n", '... by the main backend');
is(($r->{headers}{'x-app'} // 'none') . ' '
   . ($r->{headers}{'x-count'} // 'none'), 'yes none',
   '... with its fields, nothing of the post_action\'s');
ok(wait_until(sub { counted(qr{ru=/a/b\?x=1}) }, 10),
   'the post_action reaches the counting backend');
my $sent = length "app GET /a/b?x=1\n";
is((grep { m{ru=/a/b\?x=1} } lines($clog))[0],
   "GET /count?ru=/a/b?x=1&st=200&sent=$sent&ok=OK user=ann uri=/count "
   . 'args=[]',
   '... with $request_uri, $status, $body_bytes_sent, '
   . '$request_completion, the method, the client\'s field, $uri, no $args');

# other answers: a static file, a 404, a "return"; the method kept
$r = http_get($f->port(0), '/files/a.txt');
is($r->{body}, "a file\n", 'a static file is answered');
ok(wait_until(sub { counted(qr{ru=/files/a\.txt&st=200&sent=7&ok=OK}) }, 10),
   '... and counted');
$r = http_get($f->port(0), '/files/none.txt');
is($r->{status}, 404, 'a 404 is answered');
ok(wait_until(sub { counted(qr{ru=/files/none\.txt&st=404&}) }, 10),
   '... and counted with its status');
$r = http($f->port(0), build_request(method => 'POST', path => '/ret/x',
                                      headers => [Connection => 'close'],
                                      body => 'abc'));
is($r->{status}, 201, 'a "return" is answered');
is($r->{body}, "made\n", '... with its body');
ok(wait_until(sub { counted(qr{^POST /count\?ru=/ret/x&st=201&sent=5&}) },
              10),
   '... and counted, with the request\'s method');

# a named location: $uri stays the request's
$r = http_get($f->port(0), '/named/n');
is($r->{body}, "app GET /named/n\n", 'post_action @named: the answer');
ok(wait_until(sub { counted(qr{^GET /named\?ru=/named/n&st=200 }) }, 10),
   '... the named location counts');
is((grep { m{ru=/named/n} } lines($clog))[0],
   'GET /named?ru=/named/n&st=200 user=- uri=/named/n args=-',
   '... with $uri the request\'s');

# post_action off in a nested location
$r = http_get($f->port(0), '/off/x');
is($r->{body}, "app GET /off/x\n", 'post_action off: answered');
$r = http_get($f->port(0), '/a/after-off');
ok(wait_until(sub { counted(qr{ru=/a/after-off}) }, 10),
   '... (a later request is counted)');
ok(!counted(qr{ru=/off/x}), '... but not the one with post_action off');

# it runs after the response is sent: the counter holds its answer, the
# client has its whole answer already; the next request on the
# connection waits until the post_action has ended
{
    my $c = Ferry::Test::Client->new($f->port(0), timeout => 10);
    $c->send(build_request(path => '/slow/1'));
    my $res = $c->read_response;
    is($res->{body}, "app GET /slow/1\n",
       'a slow post_action: the client has its whole answer');
    ok(wait_until(sub { counted(qr{ru=/slow/1&st=200&sent=16&ok=OK}) }, 10)
       && !grep({ /count answers/ } lines($order)),
       '... while the counter still holds the post_action, sent after the '
       . 'response (its $body_bytes_sent whole, $request_completion OK)');
    $c->send(build_request(path => '/slow/2'));
    # a ferry that did not wait would pass it on now
    wait_until(sub { grep { $_ eq 'app gets /slow/2' } lines($order) }, 1);
    note_line($release, 'go');
    $res = $c->read_response;
    is($res->{body}, "app GET /slow/2\n",
       '... the next request on the connection is answered');
    my @o = grep { m{^app gets /slow/2$|^count answers .*ru=/slow/1} }
            lines($order);
    is(scalar @o, 2, '... after the post_action ended')
        and like($o[0], qr/^count answers/, '... in that order');
    $c->close;
}

# a client that closes while its post_action runs does not cut it short
{
    my $c = Ferry::Test::Client->new($f->port(0), timeout => 10);
    $c->send(build_request(path => '/hold/1'));
    my $res = $c->read_response;
    is($res->{body}, "app GET /hold/1\n",
       'a client answered while its post_action is held');
    ok(wait_until(sub { counted(qr{ru=/hold/1&}) }, 10),
       '... the counter has it');
    $c->close;
    note_line("$release.2", 'go');
    ok(wait_until(sub { grep { m{^/hold/1 200 } } lines("$dir/logs/count.log") },
                  10),
       '... the client closes: the post_action still ends with the answer '
       . '(its log_subrequest line)');
}

# keep-alive: several requests, each counted once
my ($rs, $closed) = http_keepalive($f->port(0), [
    build_request(path => '/ka/1'), build_request(path => '/ka/2'),
    build_request(path => '/ka/3')]);
is(join(',', map { $_->{body} } @$rs),
   "app GET /ka/1\n,app GET /ka/2\n,app GET /ka/3\n",
   'keep-alive: three answers on one connection');
ok(wait_until(sub { counted(qr{ru=/ka/3}) }, 10)
   && counted(qr{ru=/ka/1&}) == 1 && counted(qr{ru=/ka/2&}) == 1,
   '... each counted once');

# a dead counting backend: the client's answers are not changed
($rs, $closed) = http_keepalive($f->port(0), [
    build_request(path => '/dead/1'), build_request(path => '/dead/2')]);
is(join(',', map { $_->{status} . ' ' . $_->{body} } @$rs),
   "200 app GET /dead/1\n,200 app GET /dead/2\n",
   'a dead post_action backend: the client\'s answers as they were');

# a named location that is not there: logged, the client answered
$r = http_get($f->port(0), '/nonamed/x');
is($r->{body}, "app GET /nonamed/x\n", 'post_action @nothere: answered');
ok(wait_until(sub { $f->error_log =~ /could not find named location "\@nothere"/ },
              10),
   '... the missing location logged');

# a response that breaks off still has its post_action, as in nginx,
# with $request_completion empty
{
    my $c = Ferry::Test::Client->new($f->port(0), timeout => 10);
    $c->send(build_request(path => '/broken/1'));
    ok($c->wait_close(10), 'an upstream that stops mid-body: the client\'s '
       . 'connection closed');
    like($c->buffer, qr/\r\n\r\npartial$/, '... after the bytes it had');
    ok(wait_until(sub { counted(qr{ru=/broken/1&st=200&sent=7&ok= }) }, 10),
       '... the post_action runs, $request_completion empty, '
       . '$body_bytes_sent what was sent')
        or diag(join "\n", lines($clog));
}
{
    my $c = Ferry::Test::Client->new($f->port(0), timeout => 10);
    $c->send(build_request(path => '/files/big.bin'));
    $c->_read_some(10);         # the header and the first bytes
    $c->close;                  # gone, 16 MB still to send
    ok(wait_until(sub { counted(qr{ru=/files/big\.bin&st=200&sent=\d+&ok= }) }, 20),
       'a client that closes while a large file is sent: the post_action '
       . 'runs, $request_completion empty')
        or diag(join "\n", lines($clog));
    my ($sent) = map { m{sent=(\d+)} } grep { m{ru=/files/big\.bin} } lines($clog);
    ok(defined $sent && $sent < 16 * 1024 * 1024, '... with the bytes it was sent');
}
{
    my $c = Ferry::Test::Client->new($f->port(0), timeout => 10);
    $c->send(build_request(path => '/gone/1'));
    wait_until(sub { grep { $_ eq 'app gets /gone/1' } lines($order) }, 10);
    $c->close;                  # before the upstream answers
    ok(wait_until(sub { counted(qr{ru=/gone/1&st=499&sent=0&ok= }) }, 20),
       'a client that closes while the upstream works: the post_action '
       . 'runs, $status 499 (nginx\'s), $request_completion empty')
        or diag(join "\n", lines($clog));
    note_line("$release.3", 'go');
}
{
    my $c = Ferry::Test::Client->new($f->port(0), timeout => 10);
    $c->send(build_request(path => '/gzbig/1', headers => ['Accept-Encoding' => 'gzip']));
    # the response has started: its header is here
    wait_until(sub { $c->_read_some(1); $c->buffer =~ /\r\n\r\n/ }, 30);
    $c->close;                  # while sub_filter and gzip work on it
    ok(wait_until(sub { counted(qr{ru=/gzbig/1&st=200&sent=\d+&ok= }) }, 30),
       'a client that closes during a filtered, compressed response: the '
       . 'post_action runs, $request_completion empty')
        or diag(join "\n", lines($clog));
}
$r = http_get($f->port(0), '/a/after-broken');
is($r->{body}, "app GET /a/after-broken\n", 'the next client is answered');
ok(wait_until(sub { counted(qr{ru=/a/after-broken&st=200&sent=\d+&ok=OK}) }, 10),
   '... and counted as complete');

# the access log: the client's requests, with their status
$r = http_get($f->port(0), '/a/last');
ok(wait_until(sub { counted(qr{ru=/a/last}) }, 10), 'one more counted');
my @log = lines("$dir/logs/access.log");
is(scalar(grep { m{^/a/b\?x=1 } } @log), 1,
   'access log: one line for a request with post_action');
ok(grep({ m{^/files/none\.txt 404 \d+$} } @log),
   '... with the client\'s status');
ok(!grep({ m{^/count} } @log), '... none for the post_action');

$f->stop;

# configuration errors
server_conf_refused('location / { post_action count; }',
                    'invalid value "count" in "post_action": it must be a '
                    . 'URI starting with "/", a named location "\@name" or '
                    . '"off" in \S+:8', 'a post_action neither URI nor @name');
server_conf_refused('location / { post_action @; }',
                    'invalid value "@" in "post_action"', 'a bare "@"');
server_conf_refused('location / { post_action /a; post_action /b; }',
                    '"post_action" directive is duplicate in \S+:8',
                    'two post_action lines');
server_conf_refused('location / { post_action; }',
                    'invalid number of arguments', 'post_action without a '
                    . 'value');

done_testing;
