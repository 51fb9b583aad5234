package Ferry::UWSGI;

# Ferry::UWSGI -- the real uWSGI (Debian's uwsgi-core with
# uwsgi-plugin-python3) serving a small WSGI application, for
# t/uwsgi.t and t/scgi.t.
#
#   plan skip_all => ... unless Ferry::UWSGI::available();
#   my $u = Ferry::UWSGI->new(dir => $f->prefix, name => 'a',
#                             socket => '127.0.0.1:PORT',  # or a path
#                             proto => 'uwsgi');           # or 'scgi',
#                             # or 'suwsgi' with ssl => 'CERT,KEY'
#   ... requests ...
#   $u->stop;
#
# The application (written to DIR/app.py) answers every request with
# what it was given, one "NAME=value" line each: the upper-case
# variables of its environ, INSTANCE (the name of the uWSGI instance),
# BODY_LEN and BODY_MD5 of the body it read, and BODY when that is
# short.  The query string steers the answer:
#
#   status=404+Gone     the status line ("404 Gone")
#   location=/x         302 Found with Location: /x
#   headers=1           X-App, X-Hide-Me, X-Accel-Custom, two Set-Cookie
#   big=N               N bytes of body ("0123456789" repeated) instead
#   sleep=N             sleep N seconds first
#
# uWSGI runs in the foreground as a child of the test (its own log in
# DIR/uwsgi-NAME.log) and is stopped with SIGINT (SIGTERM reloads it).

use strict;
use warnings;

use POSIX ();
use IO::Socket::INET;
use IO::Socket::UNIX;
use Socket qw(SOCK_STREAM);
use Time::HiRes ();

our $UWSGI = (grep { -x } '/usr/bin/uwsgi', '/usr/bin/uwsgi-core')[0];

my $APP = <<'PY';
import hashlib, os, time
from urllib.parse import parse_qs

def application(env, start_response):
    q = {k: v[0] for k, v in parse_qs(env.get('QUERY_STRING', '')).items()}
    body = env['wsgi.input'].read()
    if 'sleep' in q:
        time.sleep(int(q['sleep']))
    headers = [('Content-Type', 'text/plain')]
    status = q.get('status', '200 OK')
    if 'location' in q:
        status = '302 Found'
        headers.append(('Location', q['location']))
    if 'headers' in q:
        headers += [('X-App', 'yes'), ('X-Hide-Me', 'secret'),
                    ('X-Accel-Custom', 'passed'),
                    ('Set-Cookie', 'a=1'), ('Set-Cookie', 'b=2')]
    if 'big' in q:
        n = int(q['big'])
        out = (b'0123456789' * (n // 10 + 1))[:n]
    else:
        lines = ['%s=%s' % (k, env[k]) for k in sorted(env)
                 if k.isupper() and isinstance(env[k], str)]
        lines.append('INSTANCE=%s' % os.environ.get('INSTANCE', ''))
        lines.append('BODY_LEN=%d' % len(body))
        lines.append('BODY_MD5=%s' % hashlib.md5(body).hexdigest())
        if len(body) < 1000:
            lines.append('BODY=%s' % body.decode('latin-1'))
        out = ('\n'.join(lines) + '\n').encode('latin-1')
    start_response(status, headers)
    return [out]
PY

sub available {
    return 0 unless $UWSGI;
    my $out = `$UWSGI --plugin python3 --version 2>&1`;
    return $? == 0;
}

# Parse the application's answer into a hash.
sub env_of {
    my ($body) = @_;
    my %e;
    for my $line (split /\n/, $body // '') {
        $e{$1} = $2 if $line =~ /^([A-Z0-9_]+)=(.*)$/;
    }
    return \%e;
}

sub new {
    my ($class, %o) = @_;
    my $self = bless { %o }, $class;
    my $dir = $o{dir};
    my $app = "$dir/app.py";
    if (!-e $app) {
        open my $fh, '>', $app or die "$app: $!";
        print $fh $APP;
        close $fh;
    }
    $self->{log} = "$dir/uwsgi-$o{name}.log";
    # proto 'suwsgi': uwsgi over TLS, with ssl => "CERT,KEY"
    my $proto = $o{proto} // 'uwsgi';
    my @args = ($UWSGI, '--plugin', 'python3',
                $proto eq 'scgi' ? ('--scgi-socket', $o{socket})
                : $proto eq 'suwsgi' ? ('--ssl-socket', "$o{socket},$o{ssl}")
                : ('--socket', $o{socket}),
                '--wsgi-file', $app, '--master',
                '--processes', $o{processes} // 3,
                '--env', "INSTANCE=$o{name}", '--logto', $self->{log},
                '--buffer-size', 65535);
    my $pid = fork // die "fork: $!";
    if ($pid == 0) {
        POSIX::setpgid(0, 0);
        open STDIN, '<', '/dev/null';
        open STDOUT, '>>', $self->{log};
        open STDERR, '>&', \*STDOUT;
        { exec @args; }
        POSIX::_exit(127);
    }
    $self->{pid} = $pid;
    my $deadline = Time::HiRes::time() + 20;
    while (Time::HiRes::time() < $deadline) {
        last if $self->_accepts;
        Time::HiRes::sleep(0.05);
    }
    die "uWSGI $o{name} does not accept on $o{socket}\n"
        unless $self->_accepts;
    # the workers load the application after the socket is bound
    $deadline = Time::HiRes::time() + 20;
    while (Time::HiRes::time() < $deadline) {
        last if $self->log_text =~ /WSGI app 0 .* ready/;
        Time::HiRes::sleep(0.05);
    }
    return $self;
}

sub _accepts {
    my ($self) = @_;
    my $s = $self->{socket};
    my $c = $s =~ m{^/}
        ? IO::Socket::UNIX->new(Type => SOCK_STREAM, Peer => $s)
        : IO::Socket::INET->new(PeerAddr => $s, Timeout => 1);
    return 0 unless $c;
    close $c;
    return 1;
}

sub log_text {
    my ($self) = @_;
    open my $fh, '<', $self->{log} or return '';
    local $/;
    return <$fh> // '';
}

sub stop {
    my ($self) = @_;
    my $pid = delete $self->{pid} or return;
    local $?;
    kill 'INT', -$pid;
    my $deadline = Time::HiRes::time() + 10;
    while (Time::HiRes::time() < $deadline) {
        return if waitpid($pid, POSIX::WNOHANG()) == $pid;
        Time::HiRes::sleep(0.05);
    }
    kill 'KILL', -$pid;
    waitpid($pid, 0);
}

sub DESTROY { local $?; $_[0]->stop }

1;
