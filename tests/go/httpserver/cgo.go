//go:build cgo

// With CGO_ENABLED=1 the program links the cgo runtime, so that an external
// link (-ldflags=-linkmode=external) makes a real cgo program: glibc's _start,
// libc.so.6 and ld.so, started through __libc_start_main.
package main

import _ "runtime/cgo"
