#!/usr/bin/perl

# nginx's mp4 module: "?start=" and "?end=" (seconds) give an MP4 whose
# moov holds only the samples of that time range and whose mdat holds
# their bytes: the file is made here (t/lib/Ferry/MP4.pm: a video track
# with a sync sample every 10, an audio track without stss) and the
# answer parsed back: sample counts, the first sample served, every
# chunk offset pointing at the right sample's bytes, stss, stts, ctts,
# the durations of mvhd, tkhd and mdhd, the edit list that
# mp4_start_key_frame adds; a Range of the new file.  A moov at the end of the file, co64; no
# start and end, or values that are not numbers: the file as it is
# (Range served); a start past the duration, a moov above
# mp4_max_buffer_size, files that are not what they claim: 500 and an
# error log line naming the file; HEAD; configuration errors.
#
# Every request test fails without mp4 (the configuration is refused:
# "unknown directive").

use strict;
use warnings;

use Test::More;
use Ferry::Test;
use Ferry::MP4;

my $f = Ferry::Test->new(conf => main_conf() . <<'EOF');
worker_processes 1;
events { worker_connections 64; }
http {
    types { video/mp4 mp4; }
    server {
        listen 127.0.0.1:%%PORT_0%%;
        root html;
        location /v/ {
            mp4;
            mp4_buffer_size 1k;
        }
        location /k/ {
            mp4;
            mp4_start_key_frame on;
        }
        location /small/ {
            mp4;
            mp4_max_buffer_size 1k;
        }
        location /plain/ { }
    }
}
EOF

my ($file, $info) = Ferry::MP4::make();
my ($file_end) = Ferry::MP4::make(moov_at_end => 1);
my ($file_64) = Ferry::MP4::make(co64 => 1);
my ($file_large) = Ferry::MP4::make(mdat => 'large');
my ($file_zero) = Ferry::MP4::make(mdat => 'zero');
ok($info->{moov_len} > 1024, 'the moov is larger than 1k (mp4_buffer_size, '
   . 'mp4_max_buffer_size of the locations)');

$f->write_file("html/$_/a.mp4", $file) for qw(v k small plain);
$f->write_file('html/v/end.mp4', $file_end);
$f->write_file('html/v/co64.mp4', $file_64);
$f->write_file('html/v/large.mp4', $file_large);
$f->write_file('html/v/zero.mp4', $file_zero);
$f->write_file('html/v/text.mp4', "this is not an mp4 file at all\n" x 10);
# a stsz that claims more samples than it holds
(my $bad = $file) =~ s/stsz\0\0\0\0\0\0\0\0\0\0\0\x64/stsz\0\0\0\0\0\0\0\0\0\x01\0\0/
    or die 'no stsz to break';
$f->write_file('html/v/bad.mp4', $bad);
# no mdat
$f->write_file('html/v/nomdat.mp4', substr($file, 0, 8 + 20 + $info->{moov_len}));
# a chunk offset past the end of the file
(my $far = $file) =~ s/(stco\0\0\0\0\0\0\0\x15)..../$1\x7f\0\0\0/s
    or die 'no stco to break';
$f->write_file('html/v/far.mp4', $far);
$f->start;
my $port = $f->port(0);

# Parse $body; check each track's samples are the original ones from
# $from[k] on, $n[k] of them, and that every chunk offset points at
# them.  Returns the parsed file.
sub served {
    my ($body, $name, $from, $n) = @_;
    my $m = eval { Ferry::MP4::parse($body) };
    ok($m, "$name: the answer parses as MP4") or diag($@), return undef;
    is_deeply($m->{top}, ['ftyp', 'moov', 'mdat'],
              "$name: ftyp, moov, mdat");
    for my $k (0, 1) {
        my $tag = $k ? 'A' : 'V';
        my $t = $m->{tracks}[$k];
        my @s = eval { Ferry::MP4::samples($t) };
        ok(!$@, "$name $tag: stsc, stco and stsz agree") or diag($@);
        is(scalar @s, $n->[$k], "$name $tag: $n->[$k] samples");
        my $wrong = 0;
        my $outside = 0;
        for my $j (0 .. $#s) {
            my $i = Ferry::MP4::sample_at($body, $s[$j][0], $tag);
            $wrong++ unless defined $i && $i == $from->[$k] + $j;
            $outside++ if $s[$j][0] < $m->{mdat_data}
                          || $s[$j][0] + $s[$j][1] > $m->{mdat_end};
        }
        is($wrong, 0, "$name $tag: every sample where the chunk offsets "
           . "say, from sample $from->[$k] on");
        is($outside, 0, "$name $tag: all in the mdat");
        my $total = 0;
        $total += $_->[0] for @{$t->{stts}};
        is($total, $n->[$k], "$name $tag: stts counts the same samples");
        is($t->{mdhd_duration}, $n->[$k] * ($k ? 320 : 100),
           "$name $tag: mdhd's duration is that of the samples");
    }
    return $m;
}

# ---- the file as it is ----

my $r = http_get($port, '/v/a.mp4');
ok($r->{status} == 200 && $r->{body} eq $file, 'no arguments: the file as '
   . 'it is');
is($r->{headers}{'accept-ranges'}, 'bytes', '... with Accept-Ranges');
for my $q ('?start=abc', '?start=1.5.5', '?start=', '?start=-1', '?end=0',
           '?end=x', '?other=1')
{
    $r = http_get($port, "/v/a.mp4$q");
    ok($r->{status} == 200 && $r->{body} eq $file, "\"$q\": the file as it is");
}
$r = http_get($port, '/v/a.mp4', Range => 'bytes=10-19');
ok($r->{status} == 206 && $r->{body} eq substr($file, 10, 10),
   'no arguments: Range as for any file');
$r = http_get($port, '/plain/a.mp4?start=2');
ok($r->{body} eq $file, 'a location without mp4: the file as it is');

# ---- start ----

# video: the sample playing at 2.35 s is 23 (0.1 s each); audio: 58
# (0.04 s each)
$r = http_get($port, '/v/a.mp4?start=2.35');
is($r->{status}, 200, 'start=2.35: 200');
is($r->{headers}{'content-length'}, length $r->{body}, '... Content-Length');
is($r->{headers}{'content-type'}, 'video/mp4', '... the type');
is($r->{headers}{'accept-ranges'}, 'bytes', '... Accept-Ranges');
my $whole = $r->{body};
my $m = served($r->{body}, 'start=2.35', [23, 58], [77, 192]);
if ($m) {
    is($m->{mvhd_duration}, 10000 - 2350, 'start=2.35: mvhd duration 7.65 s');
    is($m->{tracks}[0]{tkhd_duration}, 7700, '... video tkhd: 77 samples');
    is($m->{tracks}[1]{tkhd_duration}, 7680, '... audio tkhd: 192 samples');
    # sync samples 31, 41, ... of the file are 8, 18, ... now
    is_deeply($m->{tracks}[0]{stss}, [8, 18, 28, 38, 48, 58, 68],
              '... stss moved with the first sample');
    ok(!defined $m->{tracks}[1]{stss}, '... the audio track has none');
    # ctts: after the first 2, 100 for even samples, 0 for odd ones
    is_deeply([@{$m->{tracks}[0]{ctts}}[0 .. 2]], [[1, 0], [1, 100], [1, 0]],
              '... ctts from sample 23 on');
    ok(!defined $m->{tracks}[0]{elst}, '... no edit list without '
       . 'mp4_start_key_frame');
    is_deeply($m->{moov_kids}, ['mvhd', 'trak', 'trak'],
              '... moov: mvhd and the traks (udta dropped, as nginx)');
    is_deeply($m->{tracks}[0]{stbl_kids},
              ['stsd', 'stts', 'stss', 'ctts', 'stsc', 'stsz', 'stco'],
              '... stbl: its tables');
    # the video stsc: sample 23 is the third of the chunk of 21-25: that
    # chunk cut to 3 samples, then 5 a chunk, the last 4
    is_deeply($m->{tracks}[0]{stsc}, [1, 3, 1, 2, 5, 1, 16, 4, 1],
              '... video stsc: the first chunk cut');
}

# one Range of the new file, as nginx: in the moov, across the moov and
# the mdat, in the mdat, the end
my $len = length $whole;
my $moov_end = index($whole, 'mdat') + 4;
for my $range ('0-99', ($moov_end - 10) . '-' . ($moov_end + 10), '3000-4999',
               '-100', ($len - 1) . '-')
{
    my ($a, $b) = split /-/, $range, 2;
    my ($from, $to) = $a eq '' ? ($len - $b, $len - 1)
                                : ($a, $b eq '' ? $len - 1 : $b);
    $r = http_get($port, '/v/a.mp4?start=2.35', Range => "bytes=$range");
    ok($r->{status} == 206
       && $r->{body} eq substr($whole, $from, $to - $from + 1)
       && $r->{headers}{'content-range'} eq "bytes $from-$to/$len",
       "start with Range bytes=$range: 206, those bytes of the new file");
}
$r = http_get($port, '/v/a.mp4?start=2.35', Range => "bytes=$len-");
is($r->{status}, 416, 'a Range past the new file: 416');
is($r->{headers}{'content-range'}, "bytes */$len", '... with its size');

# a start in the first sample, start=0
$r = http_get($port, '/v/a.mp4?start=0.05');
served($r->{body}, 'start=0.05', [0, 1], [100, 249]);
$r = http_get($port, '/v/a.mp4?start=0');
$m = served($r->{body}, 'start=0', [0, 0], [100, 250]);
is($m && $m->{mvhd_duration}, 10000, 'start=0: the whole movie');
$r = http_get($port, '/v/a.mp4?start=2.3456789');
served($r->{body}, 'start with more than 3 decimals', [23, 58], [77, 192]);

# ---- mp4_start_key_frame ----

$r = http_get($port, '/k/a.mp4?start=2.35');
$m = served($r->{body}, 'key frame start=2.35', [20, 58], [80, 192]);
if ($m) {
    is($m->{tracks}[0]{stss}[0], 1, 'mp4_start_key_frame: the first video '
       . 'sample is a sync sample');
    is_deeply($m->{tracks}[0]{elst}, [7700, 300, 1, 0],
              '... an edit list hides the 3 samples before the start');
    is($m->{tracks}[0]{tkhd_duration}, 7700, '... tkhd: the time shown');
    ok(!defined $m->{tracks}[1]{elst}, '... the audio track (no stss) '
       . 'starts where it would');
}
$r = http_get($port, '/k/a.mp4?start=3');
$m = served($r->{body}, 'key frame start on a sync sample', [30, 75],
            [70, 175]);
ok($m && !defined $m->{tracks}[0]{elst}, '... no edit list needed');

# ---- end ----

$r = http_get($port, '/v/a.mp4?start=2&end=5');
$m = served($r->{body}, 'start=2&end=5', [20, 50], [30, 75]);
is($m && $m->{mvhd_duration}, 3000, 'start=2&end=5: mvhd 3 s');
$r = http_get($port, '/v/a.mp4?end=1.5');
# audio: 1.5 s is inside sample 37, which starts before it: 38
$m = served($r->{body}, 'end=1.5', [0, 0], [15, 38]);
is($m && $m->{mvhd_duration}, 1500, 'end only: from 0');
$r = http_get($port, '/v/a.mp4?start=5&end=4');
served($r->{body}, 'an end before start is ignored', [50, 125], [50, 125]);
$r = http_get($port, '/v/a.mp4?start=2&end=99');
served($r->{body}, 'an end past the end', [20, 50], [80, 200]);

# ---- many starts and ends, against the arithmetic of the layout ----

sub ceil_div { my ($a, $b) = @_; return int(($a + $b - 1) / $b) }
sub min { $_[0] < $_[1] ? $_[0] : $_[1] }
sub max { $_[0] > $_[1] ? $_[0] : $_[1] }
my $mismatch = 0;
for my $ms (map { $_ * 700 } 0 .. 14) {
    for my $len (0, 1230) {
        for my $key (0, 1) {
            my $vs = int($ms / 100);
            my $vk = $key ? int($vs / 10) * 10 : $vs;
            my $as = int($ms / 40);
            my ($v1, $a1) = (100, 250);
            if ($len) {
                $v1 = min(100, max($vk + 1, ceil_div($vs * 100 + $len, 100)));
                $a1 = min(250, max($as + 1,
                                   ceil_div($as * 320 + $len * 8, 320)));
            }
            my $q = sprintf('start=%.1f', $ms / 1000)
                    . ($len ? sprintf('&end=%.2f', ($ms + $len) / 1000) : '');
            my $r = http_get($port, ($key ? '/k/' : '/v/') . "a.mp4?$q");
            my $m = served($r->{body}, "$q key $key", [$vk, $as],
                           [$v1 - $vk, $a1 - $as]);
            my $want = $len ? min(10000 - $ms, $len) : 10000 - $ms;
            $mismatch++ unless $m && $m->{mvhd_duration} == $want;
        }
    }
}
is($mismatch, 0, 'the mvhd duration of each: what is left, at most end - start');

# ---- other layouts ----

$r = http_get($port, '/v/end.mp4?start=4.5');
served($r->{body}, 'moov at the end', [45, 112], [55, 138]);
$r = http_get($port, '/v/co64.mp4?start=4.5');
$m = served($r->{body}, 'co64', [45, 112], [55, 138]);
ok($m && grep({ $_ eq 'co64' } @{$m->{tracks}[0]{stbl_kids}}),
   'co64: stays co64');
$r = http_get($port, '/v/large.mp4?start=4.5');
served($r->{body}, 'an mdat with a 64-bit size', [45, 112], [55, 138]);
$r = http_get($port, '/v/zero.mp4?start=4.5');
served($r->{body}, 'an mdat of size 0 (to the end)', [45, 112], [55, 138]);

# ---- HEAD ----

my $get = http_get($port, '/v/a.mp4?start=2.35');
$r = http($port, "HEAD /v/a.mp4?start=2.35 HTTP/1.1\r\nHost: x\r\n"
                 . "Connection: close\r\n\r\n", head => 1);
is($r->{status}, 200, 'HEAD with start: 200');
is($r->{headers}{'content-length'}, length $get->{body},
   '... the Content-Length of the GET');
is($r->{body} // '', '', '... no body');

# ---- errors ----

$f->allow_log(qr/mp4|no mp4/);
sub error_case {
    my ($path, $log, $name) = @_;
    my $r = http_get($port, $path);
    is($r->{status}, 500, "$name: 500");
    (my $file = $path) =~ s/\?.*//;
    my $re = qr/\[error\].*"[^"]*\Q$file\E" $log/;
    ok(wait_until(sub { $f->error_log =~ $re }, 5),
       "... the error log names the file and says why") or diag($f->error_log);
}
error_case('/v/a.mp4?start=11', 'mp4 start time exceeds file duration',
           'start past the duration');
error_case('/small/a.mp4?start=1', 'mp4 moov atom is too large:\d+, you '
           . 'may want to increase mp4_max_buffer_size',
           'a moov above mp4_max_buffer_size');
error_case('/v/text.mp4?start=1', 'mp4 atom too large:\d+',
           'not an mp4 file');
error_case('/v/bad.mp4?start=1', 'mp4 stsz atom too small',
           'a stsz that claims more than it holds');
error_case('/v/nomdat.mp4?start=1', 'no mp4 mdat atom was found',
           'no mdat');
error_case('/v/far.mp4?start=0', 'mp4 chunk offset is outside the file',
           'a chunk offset outside the file');
$r = http_get($port, '/small/a.mp4');
ok($r->{status} == 200 && $r->{body} eq $file, 'mp4_max_buffer_size: no '
   . 'start, the file as it is');

diag(join "\n", grep { /mp4/ } split /\n/, $f->error_log) if $ENV{TEST_VERBOSE};
$f->stop;

http_conf_refused('mp4;', '"mp4" directive is not allowed here in '
                  . '.*ferry\.conf:\d+', 'mp4 in http');
http_conf_refused('mp4_start_key_frame yes;', '"mp4_start_key_frame" '
                  . 'directive invalid value "yes".* in .*ferry\.conf:\d+',
                  'mp4_start_key_frame yes');
http_conf_refused('mp4_max_buffer_size 10q;', '"mp4_max_buffer_size" '
                  . 'directive.* in .*ferry\.conf:\d+',
                  'mp4_max_buffer_size 10q');

done_testing;
