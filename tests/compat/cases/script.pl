#!/usr/bin/perl
# perl: regexes, hashes, sort, sprintf, pack/unpack, and XS modules that load
# with dlopen (Digest::SHA, POSIX, List::Util, Storable, Encode).
use strict;
use warnings;
use Digest::SHA qw(sha256_hex);
use POSIX qw(floor strftime);
use List::Util qw(sum max reduce);
use Storable qw(freeze thaw);
use Encode qw(encode decode);
my %count;
$count{$_}++ for split /\s+/, "the quick brown fox jumps over the lazy dog the end";
print join(" ", map { "$_=$count{$_}" } sort { $count{$b} <=> $count{$a} || $a cmp $b } keys %count), "\n";
print "sha256: ", sha256_hex("memory sealing"), "\n";
print "floor: ", floor(-2.5), " sum: ", sum(1..100), " max: ", max(3, 9, 2), "\n";
print "product: ", (reduce { $a * $b } 1..10), "\n";
my $frozen = freeze({ list => [1, 2, 3], name => "vmseal" });
my $back = thaw($frozen);
print "storable: $back->{name} @{$back->{list}}\n";
print "strftime: ", strftime("%Y-%m-%d %H:%M:%S", gmtime(1700000000)), "\n";
my $bytes = encode("UTF-8", "\x{e9}t\x{e9}");
print "utf8 bytes: ", length($bytes), " chars: ", length(decode("UTF-8", $bytes)), "\n";
print "unpack: ", join(",", unpack("N n C", pack("N n C", 305419896, 4660, 86))), "\n";
(my $s = "2024-01-15") =~ s/(\d+)-(\d+)-(\d+)/$3.$2.$1/;
print "subst: $s\n";
my @sorted = sort { $a <=> $b } map { ($_ * 7919) % 1000 } 1..12;
print "sorted: @sorted\n";
warn "perl: a warning on stderr\n";
exit 4;
