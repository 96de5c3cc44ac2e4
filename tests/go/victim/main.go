// victim: the attack suite's Go victim (tests/attack/run_attacks.py runs it
// with --victim go-static=PATH and the like, docs/attacks.md). It turns the exploit
// primitives tests/attack/victim.c turns on a C program against a Go
// program's own image: its text, read-only data, RELRO (-buildmode=pie and
// cgo builds have one), the holes between its segments, its writable data,
// [stack] and [vdso]. Same output protocol as victim.c, one line per attack:
//
//	ATTACK <tab> id <tab> result <tab> sealed=yes|no|partial|n/a <tab> detail
//
// result: OK (the call succeeded), an errno name (EPERM, ...), SKIP:why (no
// such target in this build) or CRASH:SIGNAL. sealed: what /proc/self/smaps
// says about the target before the attack. Then "DONE".
//
// Each attack runs in a child made by a raw fork(2): a successful attack may
// wreck the process. The child has one thread (the Go runtime's others stay
// in the parent), so it makes only raw system calls (syscall.RawSyscall6,
// which does not enter the scheduler as syscall.Syscall6 does) from
// functions that cannot grow their stack (go:nosplit), writes the raw
// results to a pipe and exits.
//
// Options: --no-app-seal (accepted for the driver; this victim has no
// configuration of its own to seal) and --list (print the targets, exit).
package main

import (
	"bufio"
	"debug/elf"
	"encoding/binary"
	"fmt"
	"os"
	"strings"
	"syscall"
	"unsafe"
)

const (
	page               = 4096
	protRWX            = syscall.PROT_READ | syscall.PROT_WRITE | syscall.PROT_EXEC
	madvGuardIns       = 102 // MADV_GUARD_INSTALL (6.13)
	madvGuardRem       = 103 // MADV_GUARD_REMOVE
	madvDontneedLocked = 4
	mapFixedAnon       = syscall.MAP_PRIVATE | syscall.MAP_ANONYMOUS | syscall.MAP_FIXED
	maxWords           = 1 << 16 // words compared by the discard attacks (512 KiB)
	poison             = 0x4141414141414141
)

type span struct{ start, end uintptr }

func (s span) ok() bool           { return s.end > s.start }
func (s span) len() uintptr       { return s.end - s.start }
func down(a uintptr) uintptr      { return a &^ (page - 1) }
func up(a uintptr) uintptr        { return (a + page - 1) &^ (page - 1) }
func pages(a uintptr, n int) span { return span{a, a + uintptr(n)*page} }

// dataWord lives in the program's writable data (the strict profile seals it).
var dataWord uint64 = 42

// targets: the program's own ranges, at their run-time addresses.
type targets struct {
	bias                  uintptr
	text, text2, rodata   span // a text page, two text pages, a rodata page
	relro, relroWord, gap span // RELRO (glibc's rounding), a page of it, a hole
	data, stack, vdso     span
	scratch               span // unsealed, mremap's destination
}

// One system call of an attack.
type call struct {
	nr   uintptr
	args [6]uintptr
}

type attack struct {
	id, skip string
	target   span
	calls    []call  // the first result is the attack's; the rest run after its success
	compare  span    // words read before and after (discard attacks)
	poke     uintptr // written after the first call succeeds (then read back)
}

// Preallocated before any fork: the child allocates nothing.
var (
	before [maxWords]uint64
	out    [4]int64
)

func auxv(t uint64) uintptr {
	b, err := os.ReadFile("/proc/self/auxv")
	if err != nil {
		return 0
	}
	for i := 0; i+16 <= len(b); i += 16 {
		if binary.LittleEndian.Uint64(b[i:]) == t {
			return uintptr(binary.LittleEndian.Uint64(b[i+8:]))
		}
	}
	return 0
}

// named returns the mapping of /proc/self/maps called `name`.
func named(name string) span {
	f, err := os.Open("/proc/self/maps")
	if err != nil {
		return span{}
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		fields := strings.Fields(sc.Text())
		if len(fields) == 6 && fields[5] == name {
			var a, b uintptr
			fmt.Sscanf(fields[0], "%x-%x", &a, &b)
			return span{a, b}
		}
	}
	return span{}
}

// middle returns a page in the middle of s, and two pages from there.
func middle(s span) (span, span) {
	if s.len() < 4*page {
		return span{}, span{}
	}
	p := down(s.start + s.len()/2)
	return pages(p, 1), pages(p, 2)
}

// findTargets reads the program's headers from /proc/self/exe.
func findTargets() (t targets, err error) {
	f, err := elf.Open("/proc/self/exe")
	if err != nil {
		return t, err
	}
	defer f.Close()
	t.bias = auxv(9 /* AT_ENTRY */) - uintptr(f.Entry)
	var loads []span
	var rodata span
	for _, p := range f.Progs {
		s := span{down(t.bias + uintptr(p.Vaddr)), up(t.bias + uintptr(p.Vaddr+p.Memsz))}
		switch {
		case p.Type == elf.PT_LOAD:
			loads = append(loads, s)
			if p.Flags&elf.PF_X != 0 {
				t.text, t.text2 = middle(span{up(t.bias + uintptr(p.Vaddr)), down(t.bias + uintptr(p.Vaddr+p.Filesz))})
			} else if p.Flags&elf.PF_W == 0 && s.len() > rodata.len() {
				rodata = s
			}
		case p.Type == elf.PT_GNU_RELRO:
			t.relro = span{down(t.bias + uintptr(p.Vaddr)), down(t.bias + uintptr(p.Vaddr+p.Memsz))}
		}
	}
	t.rodata, _ = middle(rodata)
	if t.relro.ok() {
		t.relroWord = pages(t.relro.start, 1)
	}
	for i := 0; i+1 < len(loads) && !t.gap.ok(); i++ {
		if loads[i+1].start > loads[i].end {
			t.gap = span{loads[i].end, loads[i+1].start}
		}
	}
	d := down(uintptr(unsafe.Pointer(&dataWord)))
	t.data = pages(d, 1)
	if st := named("[stack]"); st.ok() {
		t.stack = span{st.end - page, st.end}
	}
	t.vdso = named("[vdso]")
	return t, nil
}

func overlap(a, b span) uintptr {
	s, e := a.start, a.end
	if b.start > s {
		s = b.start
	}
	if b.end < e {
		e = b.end
	}
	if e > s {
		return e - s
	}
	return 0
}

// sealedState: "yes" when every page of r is in a VMA whose VmFlags have
// "sl", "no" when no page is (mapped or not: a hole between segments is
// unmapped without vmseal), "partial" otherwise.
func sealedState(r span) string {
	if !r.ok() {
		return "n/a"
	}
	f, err := os.Open("/proc/self/smaps")
	if err != nil {
		return "unknown"
	}
	defer f.Close()
	var cur span
	var mapped, sealed uintptr
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		line := sc.Text()
		var a, b uintptr
		if n, _ := fmt.Sscanf(line, "%x-%x", &a, &b); n == 2 && !strings.HasPrefix(line, "VmFlags") {
			cur = span{a, b}
			mapped += overlap(cur, r)
		} else if strings.HasPrefix(line, "VmFlags:") && strings.Contains(line+" ", " sl ") {
			sealed += overlap(cur, r)
		}
	}
	switch {
	case sealed == r.len() && mapped == r.len():
		return "yes"
	case sealed == 0:
		return "no"
	}
	return "partial"
}
