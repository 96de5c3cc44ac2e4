# Tcl: lists, dicts, string ops, format, expr with bignums, regexp.
set words [split "tcl seals nothing but its interpreter is sealed" " "]
puts "sorted: [lsort $words]"
set d [dict create]
foreach w $words { dict incr d [string length $w] }
puts "lengths: [lsort -integer -stride 2 -index 0 $d]"
puts "bignum: [expr {2 ** 100}]"
puts "format: [format {%08.3f|%-5s|%x} 3.14159 ab 255]"
regexp {(\d+)\.(\d+)} "version 8.6" -> major minor
puts "regexp: $major $minor"
proc fact {n} { expr {$n <= 1 ? 1 : $n * [fact [expr {$n - 1}]]} }
puts "fact 20: [fact 20]"
puts stderr "tcl: stderr line"
exit 2
