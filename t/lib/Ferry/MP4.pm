package Ferry::MP4;

# Ferry::MP4 -- small ISO BMFF (MP4) files made and read back in Perl for
# t/mp4.t, so the tests need no ffmpeg.
#
#   my ($bytes, $info) = Ferry::MP4::make(moov_at_end => 0, co64 => 0,
#                                         mdat => 'large' or 'zero');
#   my $m = Ferry::MP4::parse($bytes);      # dies on a malformed file
#   my @s = Ferry::MP4::samples($m->{tracks}[0]);   # [offset, size] each
#
# The file: ftyp, moov (mvhd, a video trak, an audio trak), mdat; or
# ftyp, mdat, moov.  Movie timescale 1000, 10 seconds.
#   video: timescale 1000, 100 samples of 100 (0.1 s), a sync sample
#          (stss) every 10 (1, 11, 21, ...), ctts, sizes 40 + i % 7,
#          chunks of 3, 3, then 5 each, the last of 4 (three stsc
#          entries);
#   audio: timescale 8000, 250 samples of 320 (0.04 s), all 24 bytes
#          (stsz's common size), no stss, 10 a chunk.
# Sample i of a track is "V" or "A", i as 4 bytes, then filler: where
# a sample offset points can be checked.  The chunks are interleaved in
# the mdat by time.

use strict;
use warnings;

sub box { my ($t, $p) = @_; return pack('N', 8 + length $p) . $t . $p }
sub full { my ($t, $v, $f, $p) = @_; return box($t, pack('CC3', $v, 0, 0, $f) . $p) }

my $MATRIX = pack('N9', 0x10000, 0, 0, 0, 0x10000, 0, 0, 0, 0x40000000);

sub sample_bytes {
    my ($tag, $i, $size) = @_;
    my $s = $tag . pack('N', $i);
    return $s . (lc($tag) x ($size - length $s));
}

sub tracks {
    my @vsizes = map { 40 + $_ % 7 } 0 .. 99;
    my @vchunks = (3, 3, (5) x 18, 4);
    my @achunks = (10) x 25;
    return (
        { tag => 'V', id => 1, handler => 'vide', timescale => 1000,
          n => 100, delta => 100, sizes => \@vsizes, chunks => \@vchunks,
          stsc => [[1, 3, 1], [3, 5, 1], [21, 4, 1]],
          stss => [map { 1 + 10 * $_ } 0 .. 9],
          # composition offsets: 200 for the first 2, then 100, 0 pairs
          ctts => [[2, 200], map { ([1, 100], [1, 0]) } 1 .. 49] },
        { tag => 'A', id => 2, handler => 'soun', timescale => 8000,
          n => 250, delta => 320, size => 24, chunks => \@achunks,
          stsc => [[1, 10, 1]] },
    );
}

# The moov for chunk offsets $offs (one array per track).
sub moov {
    my ($tracks, $offs, $co64) = @_;
    my $mvhd = full('mvhd', 0, 0, pack('NNNN', 0, 0, 1000, 10000)
                    . pack('Nn', 0x10000, 0x100) . ("\0" x 10) . $MATRIX
                    . ("\0" x 24) . pack('N', 3));
    my $traks = '';
    for my $k (0 .. $#$tracks) {
        my $t = $tracks->[$k];
        my $dur = $t->{n} * $t->{delta};
        my $tkhd = full('tkhd', 0, 3, pack('NNNNN', 0, 0, $t->{id}, 0,
                                           $dur * 1000 / $t->{timescale})
                        . ("\0" x 8) . pack('nnnn', 0, 0,
                                            $t->{tag} eq 'A' ? 0x100 : 0, 0)
                        . $MATRIX . pack('NN', 320 << 16, 240 << 16));
        my $mdhd = full('mdhd', 0, 0, pack('NNNNnn', 0, 0, $t->{timescale},
                                           $dur, 0x55c4, 0));
        my $hdlr = full('hdlr', 0, 0, pack('N', 0) . $t->{handler}
                        . ("\0" x 12) . "ferry\0");
        my $mhd = $t->{tag} eq 'V'
            ? full('vmhd', 0, 1, "\0" x 8) : full('smhd', 0, 0, "\0" x 4);
        my $dinf = box('dinf', full('dref', 0, 0, pack('N', 1)
                                    . full('url ', 0, 1, '')));
        my $entry = $t->{tag} eq 'V'
            ? box('mp4v', ("\0" x 6) . pack('n', 1) . ("\0" x 16)
                  . pack('nnNNNn', 320, 240, 0x480000, 0x480000, 0, 1)
                  . ("\0" x 32) . pack('nn', 0x18, 0xffff))
            : box('mp4a', ("\0" x 6) . pack('n', 1) . ("\0" x 8)
                  . pack('nnnnN', 1, 16, 0, 0, 8000 << 16));
        my $stsd = full('stsd', 0, 0, pack('N', 1) . $entry);
        my $stts = full('stts', 0, 0, pack('NNN', 1, $t->{n}, $t->{delta}));
        my $stss = $t->{stss}
            ? full('stss', 0, 0, pack('N*', scalar @{$t->{stss}},
                                      @{$t->{stss}})) : '';
        my $ctts = $t->{ctts}
            ? full('ctts', 0, 0, pack('N*', scalar @{$t->{ctts}},
                                      map { @$_ } @{$t->{ctts}})) : '';
        my $stsc = full('stsc', 0, 0, pack('N*', scalar @{$t->{stsc}},
                                           map { @$_ } @{$t->{stsc}}));
        my $stsz = $t->{size}
            ? full('stsz', 0, 0, pack('NN', $t->{size}, $t->{n}))
            : full('stsz', 0, 0, pack('NN', 0, $t->{n})
                   . pack('N*', @{$t->{sizes}}));
        my @o = @{$offs->[$k]};
        my $stco = $co64
            ? full('co64', 0, 0, pack('N', scalar @o)
                   . join('', map { pack('NN', 0, $_) } @o))
            : full('stco', 0, 0, pack('N*', scalar @o, @o));
        my $stbl = box('stbl', $stsd . $stts . $stss . $ctts . $stsc . $stsz
                               . $stco);
        $traks .= box('trak', $tkhd . box('mdia', $mdhd . $hdlr
                                          . box('minf', $mhd . $dinf
                                                        . $stbl)));
    }
    # an atom nginx drops, to see that it goes
    return box('moov', $mvhd . $traks . box('udta', 'x' x 12));
}

sub make {
    my (%o) = @_;
    my @tracks = tracks();
    my $ftyp = box('ftyp', 'isom' . pack('N', 512) . 'isomiso2mp41');

    # the chunks' bytes, interleaved by start time
    my @all;
    for my $k (0 .. $#tracks) {
        my $t = $tracks[$k];
        my $i = 0;
        for my $c (0 .. $#{$t->{chunks}}) {
            my $bytes = '';
            my $time = $i * $t->{delta} / $t->{timescale};
            for (1 .. $t->{chunks}[$c]) {
                my $size = $t->{size} // $t->{sizes}[$i];
                $bytes .= sample_bytes($t->{tag}, $i, $size);
                $i++;
            }
            push @all, [$time, $k, $c, $bytes];
        }
    }
    @all = sort { $a->[0] <=> $b->[0] || $a->[1] <=> $b->[1] } @all;
    my $data = '';
    my @rel = map { [] } @tracks;
    for my $ch (@all) {
        $rel[$ch->[1]][$ch->[2]] = length $data;
        $data .= $ch->[3];
    }

    # the moov's size does not depend on the offsets' values
    my $moov_len = length moov(\@tracks, \@rel, $o{co64});
    my $mdat_hdr = $o{mdat} && $o{mdat} eq 'large' ? 16 : 8;
    my $mdat_data = length($ftyp) + $mdat_hdr
                    + ($o{moov_at_end} ? 0 : $moov_len);
    my @offs = map { [map { $_ + $mdat_data } @$_] } @rel;
    my $moov = moov(\@tracks, \@offs, $o{co64});
    # mdat => 'large': a 64-bit size; 'zero': size 0, "to the end of
    # the file" (only where it is last)
    my $mdat = !$o{mdat} ? box('mdat', $data)
             : $o{mdat} eq 'large'
               ? pack('N', 1) . 'mdat' . pack('NN', 0, 16 + length $data)
                 . $data
               : pack('N', 0) . 'mdat' . $data;
    my $file = $o{moov_at_end} ? $ftyp . $mdat . $moov
                               : $ftyp . $moov . $mdat;
    return ($file, { moov_len => $moov_len, tracks => \@tracks });
}

# ---- reading ----

my %CONTAINER = map { $_ => 1 } qw(moov trak mdia minf stbl edts);

sub _boxes {
    my ($buf, $pos, $end, $into, $path) = @_;
    while ($pos < $end) {
        die "truncated atom header at $pos in $path\n" if $end - $pos < 8;
        my ($size, $type) = unpack('Na4', substr($buf, $pos, 8));
        my $hdr = 8;
        if ($size == 1) {
            my ($hi, $lo) = unpack('NN', substr($buf, $pos + 8, 8));
            $size = $hi * 4294967296 + $lo;
            $hdr = 16;
        } elsif ($size == 0) {
            $size = $end - $pos;
        }
        die "atom $path/$type at $pos: size $size outside its parent\n"
            if $size < $hdr || $pos + $size > $end;
        my $b = { type => $type, pos => $pos, size => $size,
                  data => substr($buf, $pos + $hdr, $size - $hdr),
                  data_pos => $pos + $hdr, kids => [] };
        push @$into, $b;
        _boxes($buf, $pos + $hdr, $pos + $size, $b->{kids}, "$path/$type")
            if $CONTAINER{$type};
        $pos += $size;
    }
}

sub _kid {
    my ($b, $type) = @_;
    my @k = grep { $_->{type} eq $type } @{$b->{kids}};
    return $k[0];
}

sub _table {
    my ($b, $fmt, $per) = @_;
    return undef unless $b;
    my $n = unpack('N', substr($b->{data}, 4, 4));
    my @v = unpack("x8 ($fmt)$n", $b->{data});
    die "$b->{type}: $n entries do not fit\n"
        if 8 + $n * $per > length $b->{data};
    return \@v;
}

sub _pairs { my $v = shift; return undef unless $v;
             return [map { [$v->[2 * $_], $v->[2 * $_ + 1]] } 0 .. @$v / 2 - 1] }

sub _duration {
    my ($b, $at0, $at1) = @_;
    my $v = unpack('C', $b->{data});
    return $v == 1 ? unpack('Q>', substr($b->{data}, $at1, 8))
                   : unpack('N', substr($b->{data}, $at0, 4));
}

# The file's layout and tables; dies if an atom does not fit.
sub parse {
    my ($buf) = @_;
    my @top;
    _boxes($buf, 0, length $buf, \@top, '');
    my ($moov) = grep { $_->{type} eq 'moov' } @top;
    my ($mdat) = grep { $_->{type} eq 'mdat' } @top;
    die "no moov\n" unless $moov;
    die "no mdat\n" unless $mdat;
    my $m = { top => [map { $_->{type} } @top],
              moov_kids => [map { $_->{type} } @{$moov->{kids}}],
              mdat_data => $mdat->{data_pos},
              mdat_end => $mdat->{pos} + $mdat->{size} };
    my $mvhd = _kid($moov, 'mvhd');
    $m->{mvhd_duration} = _duration($mvhd, 16, 24);
    for my $trak (grep { $_->{type} eq 'trak' } @{$moov->{kids}}) {
        my $mdia = _kid($trak, 'mdia');
        my $stbl = _kid(_kid($mdia, 'minf'), 'stbl');
        my $mdhd = _kid($mdia, 'mdhd');
        my $stsz = _kid($stbl, 'stsz');
        my ($common, $n) = unpack('x4 NN', $stsz->{data});
        my $t = {
            tkhd_duration => _duration(_kid($trak, 'tkhd'), 20, 28),
            mdhd_duration => _duration($mdhd, 16, 24),
            timescale => unpack('N', substr($mdhd->{data}, 12, 4)),
            stts => _pairs(_table(_kid($stbl, 'stts'), 'NN', 8)),
            ctts => _pairs(_table(_kid($stbl, 'ctts'), 'NN', 8)),
            stss => _table(_kid($stbl, 'stss'), 'N', 4),
            stsc => _table(_kid($stbl, 'stsc'), 'NNN', 12),
            sizes => $common ? [($common) x $n]
                             : [unpack("x12 N$n", $stsz->{data})],
            stbl_kids => [map { $_->{type} } @{$stbl->{kids}}],
        };
        my $co64 = _kid($stbl, 'co64');
        if ($co64) {
            my $v = _table($co64, 'NN', 8);
            $t->{offsets} = [map { $v->[2 * $_] * 4294967296
                                   + $v->[2 * $_ + 1] } 0 .. @$v / 2 - 1];
        } else {
            $t->{offsets} = _table(_kid($stbl, 'stco'), 'N', 4);
        }
        if (my $edts = _kid($trak, 'edts')) {
            my $elst = _kid($edts, 'elst');
            my ($v) = unpack('C', $elst->{data});
            $t->{elst} = $v == 1
                ? [unpack('x8 Q>Q>nn', $elst->{data})]
                : [unpack('x8 NNnn', $elst->{data})];
        }
        push @{$m->{tracks}}, $t;
    }
    return $m;
}

# [offset, size] of each sample of a parsed track, from stsc and the
# chunk offsets; dies if the tables disagree.
sub samples {
    my ($t) = @_;
    my @stsc = @{$t->{stsc}};
    my @offs = @{$t->{offsets}};
    my @sizes = @{$t->{sizes}};
    my @out;
    my $s = 0;
    for (my $e = 0; $e < @stsc / 3; $e++) {
        my ($first, $spc) = @stsc[3 * $e, 3 * $e + 1];
        my $next = $e + 1 < @stsc / 3 ? $stsc[3 * ($e + 1)] : @offs + 1;
        for my $c ($first - 1 .. $next - 2) {
            my $off = $offs[$c];
            die "chunk $c has no offset\n" unless defined $off;
            for (1 .. $spc) {
                die "more samples in chunks than in stsz\n" if $s >= @sizes;
                push @out, [$off, $sizes[$s]];
                $off += $sizes[$s++];
            }
        }
    }
    die "stsz has " . @sizes . " samples, the chunks $s\n" if $s != @sizes;
    return @out;
}

# The sample index written in the sample at $off of $buf ("V" or "A",
# then 4 bytes), or undef.
sub sample_at {
    my ($buf, $off, $tag) = @_;
    return undef if $off + 5 > length $buf;
    my ($t, $i) = unpack('a1 N', substr($buf, $off, 5));
    return $t eq $tag ? $i : undef;
}

1;
