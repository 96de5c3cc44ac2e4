// churn: a Go program that says which of its own mappings are sealed, then
// works its runtime hard (goroutines, channels, maps, a garbage collection
// per round) and checks every result, so that a test sees both what `vmseal
// run` sealed and that the Go runtime lives with it.
//
// Usage: churn [ROUNDS]   (default 10; 0 reports and exits)
//
// Output, one "NAME VALUE" line each:
//
//	program_text, program_rodata, program_relro, program_data, stack, vdso:
//	  sealed | unsealed | partial | none (the program has no such range),
//	  as /proc/self/smaps says (VmFlags "sl") for every page of the range
//	tracer: TracerPid from /proc/self/status (0: nothing traces it)
//	pid: its process id
//	churn: "ok goroutines=G rounds=R gcs=N" once every round checked out;
//	  "FAIL ..." and exit status 1 otherwise
//
// Stdlib only (tests/go, built by cmake/GoPrograms.cmake).
package main

import (
	"bufio"
	"debug/elf"
	"encoding/binary"
	"fmt"
	"os"
	"runtime"
	"strconv"
	"strings"
	"sync"
	"unsafe"
)

const (
	page       = 4096
	iterations = 1000 // allocations per goroutine and round
)

type span struct{ start, end uint64 }

// dataWord lives in the program's writable data.
var dataWord uint64 = 42

func down(a uint64) uint64 { return a &^ (page - 1) }
func up(a uint64) uint64   { return (a + page - 1) &^ (page - 1) }

// auxv returns the value of auxiliary vector entry t.
func auxv(t uint64) uint64 {
	b, err := os.ReadFile("/proc/self/auxv")
	if err != nil {
		return 0
	}
	for i := 0; i+16 <= len(b); i += 16 {
		if binary.LittleEndian.Uint64(b[i:]) == t {
			return binary.LittleEndian.Uint64(b[i+8:])
		}
	}
	return 0
}

// imageRanges returns the program's text, read-only data and RELRO (glibc's
// rounding: both ends down), at their run-time addresses.
func imageRanges() (text, rodata, relro span, err error) {
	f, err := elf.Open("/proc/self/exe")
	if err != nil {
		return
	}
	defer f.Close()
	bias := auxv(9 /* AT_ENTRY */) - f.Entry
	for _, p := range f.Progs {
		s := span{down(bias + p.Vaddr), up(bias + p.Vaddr + p.Memsz)}
		switch {
		case p.Type == elf.PT_LOAD && p.Flags&elf.PF_X != 0:
			text = s
		case p.Type == elf.PT_LOAD && p.Flags&elf.PF_W == 0 && s.end-s.start > rodata.end-rodata.start:
			rodata = s // the largest read-only segment (an external link adds a small one first)
		case p.Type == elf.PT_GNU_RELRO:
			relro = span{down(bias + p.Vaddr), down(bias + p.Vaddr + p.Memsz)}
		}
	}
	return
}

// named returns the mapping of /proc/self/maps whose name is `name`.
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
			var a, b uint64
			fmt.Sscanf(fields[0], "%x-%x", &a, &b)
			return span{a, b}
		}
	}
	return span{}
}

// sealedState reads /proc/self/smaps: "sealed" when every page of r is in a
// VMA whose VmFlags have "sl", "unsealed" when none is, "partial" otherwise.
func sealedState(r span) string {
	if r.end <= r.start {
		return "none"
	}
	f, err := os.Open("/proc/self/smaps")
	if err != nil {
		return "unknown"
	}
	defer f.Close()
	var cur span
	var mapped, sealed uint64
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		line := sc.Text()
		var a, b uint64
		if n, _ := fmt.Sscanf(line, "%x-%x", &a, &b); n == 2 && !strings.HasPrefix(line, "VmFlags") {
			cur = span{a, b}
			mapped += overlap(cur, r)
		} else if strings.HasPrefix(line, "VmFlags:") && strings.Contains(line+" ", " sl ") {
			sealed += overlap(cur, r)
		}
	}
	switch want := r.end - r.start; {
	case sealed == want && mapped == want:
		return "sealed"
	case sealed == 0 && mapped == want:
		return "unsealed"
	}
	return "partial"
}

func overlap(a, b span) uint64 {
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

func report() error {
	text, rodata, relro, err := imageRanges()
	if err != nil {
		return err
	}
	data := down(uint64(uintptr(unsafe.Pointer(&dataWord))))
	for _, l := range []struct {
		name string
		r    span
	}{{"program_text", text}, {"program_rodata", rodata}, {"program_relro", relro},
		{"program_data", span{data, data + page}}, {"stack", named("[stack]")},
		{"vdso", named("[vdso]")}} {
		fmt.Printf("%s %s\n", l.name, sealedState(l.r))
	}
	fmt.Printf("tracer %s\npid %d\n", tracerPid(), os.Getpid())
	return nil
}

func tracerPid() string {
	b, _ := os.ReadFile("/proc/self/status")
	for _, line := range strings.Split(string(b), "\n") {
		if strings.HasPrefix(line, "TracerPid:") {
			return strings.TrimSpace(strings.TrimPrefix(line, "TracerPid:"))
		}
	}
	return "?"
}

// work is one goroutine's round: allocations of many sizes, a map, strings
// and a channel, with a checksum the caller can predict.
func work(seed int, out chan<- uint64) {
	var keep [][]byte
	m := make(map[string]int)
	var sum uint64
	for i := 0; i < iterations; i++ {
		b := make([]byte, 64+(seed*31+i*97)%8192)
		for j := range b {
			b[j] = byte(i + j)
		}
		sum += uint64(b[len(b)-1]) + uint64(len(b))
		keep = append(keep, b)
		if len(keep) > 64 {
			keep = keep[:0]
		}
		m[strconv.Itoa(i%500)] += i
	}
	for k, v := range m {
		sum += uint64(len(k)) + uint64(v)
	}
	out <- sum
}

// expected is what work(seed) sends, computed without allocating.
func expected(seed int) uint64 {
	var sum uint64
	for i := 0; i < iterations; i++ {
		n := 64 + (seed*31+i*97)%8192
		sum += uint64(byte(i+n-1)) + uint64(n)
	}
	for k := 0; k < 500; k++ {
		sum += uint64(len(strconv.Itoa(k)))
		for i := k; i < iterations; i += 500 {
			sum += uint64(i)
		}
	}
	return sum
}

func churn(rounds, goroutines int) error {
	for r := 0; r < rounds; r++ {
		results := make([]chan uint64, goroutines)
		var wg sync.WaitGroup
		for g := range results {
			results[g] = make(chan uint64, 1)
			wg.Add(1)
			go func(g int) {
				defer wg.Done()
				work(r*goroutines+g, results[g])
			}(g)
		}
		wg.Wait()
		for g, c := range results {
			if got, want := <-c, expected(r*goroutines+g); got != want {
				return fmt.Errorf("round %d goroutine %d: checksum %d, expected %d", r, g, got, want)
			}
		}
		runtime.GC()
	}
	return nil
}

func main() {
	rounds := 10
	if len(os.Args) > 1 {
		n, err := strconv.Atoi(os.Args[1])
		if err != nil || n < 0 {
			fmt.Fprintln(os.Stderr, "usage: churn [ROUNDS]")
			os.Exit(2)
		}
		rounds = n
	}
	if err := report(); err != nil {
		fmt.Println("churn FAIL", err)
		os.Exit(1)
	}
	if rounds == 0 {
		return
	}
	const goroutines = 16
	if err := churn(rounds, goroutines); err != nil {
		fmt.Println("churn FAIL", err)
		os.Exit(1)
	}
	var ms runtime.MemStats
	runtime.ReadMemStats(&ms)
	fmt.Printf("churn ok goroutines=%d rounds=%d gcs=%d\n", goroutines, rounds, ms.NumGC)
}
