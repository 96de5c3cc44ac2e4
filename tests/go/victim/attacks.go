package main

import (
	"fmt"
	"os"
	"reflect"
	"syscall"
	"unsafe"
)

// childBuffers: everything the child writes, allocated before the fork.
type childBuffers struct {
	before [maxWords]uint64
	out    [4]int64
}

// kernelSigaction is struct sigaction as rt_sigaction(2) takes it.
type kernelSigaction struct {
	handler, flags, restorer, mask uintptr
}

// childRun is the forked child: the attack's calls, the words compared, the
// raw results to the pipe, exit. No allocation, no stack growth, no Go
// scheduler: the runtime's other threads did not come along.
//
//go:nosplit
func childRun(a *attack, b *childBuffers, sigdfl *kernelSigaction, fd uintptr) {
	// A fault is the kernel's default (death by the signal), reported as
	// CRASH:SIG..., not the runtime's panic, which needs the other threads.
	syscall.RawSyscall6(syscall.SYS_RT_SIGACTION, uintptr(syscall.SIGSEGV), uintptr(unsafe.Pointer(sigdfl)), 0, 8, 0, 0)
	syscall.RawSyscall6(syscall.SYS_RT_SIGACTION, uintptr(syscall.SIGBUS), uintptr(unsafe.Pointer(sigdfl)), 0, 8, 0, 0)
	words := a.compare.len() / 8
	if words > maxWords {
		words = maxWords
	}
	for i := uintptr(0); i < words; i++ {
		b.before[i] = *(*uint64)(unsafe.Pointer(a.compare.start + 8*i))
	}
	c := &a.calls[0]
	r, _, e := syscall.RawSyscall6(c.nr, c.args[0], c.args[1], c.args[2], c.args[3], c.args[4], c.args[5])
	b.out[0] = int64(r)
	if e != 0 {
		b.out[0] = -int64(e)
	} else {
		for k := 1; k < len(a.calls); k++ {
			c = &a.calls[k]
			if _, _, e2 := syscall.RawSyscall6(c.nr, c.args[0], c.args[1], c.args[2], c.args[3], c.args[4], c.args[5]); e2 != 0 {
				b.out[3] = int64(e2)
			}
		}
		if a.poke != 0 {
			*(*uint64)(unsafe.Pointer(a.poke)) = poison
			b.out[1] = int64(*(*uint64)(unsafe.Pointer(a.poke)))
		}
	}
	if words > 0 {
		changed := int64(0)
		for i := uintptr(0); i < words; i++ {
			if *(*uint64)(unsafe.Pointer(a.compare.start + 8*i)) != b.before[i] {
				changed++
			}
		}
		b.out[1], b.out[2] = changed, int64(words)
	}
	syscall.RawSyscall6(syscall.SYS_WRITE, fd, uintptr(unsafe.Pointer(&b.out)), unsafe.Sizeof(b.out), 0, 0, 0)
	syscall.RawSyscall6(syscall.SYS_EXIT_GROUP, 0, 0, 0, 0, 0, 0)
}

// inChild runs `a` in a forked child; it returns the child's four words,
// whether it wrote them, and its wait status.
func inChild(a *attack) (out [4]int64, reported bool, ws syscall.WaitStatus, err error) {
	var p [2]int
	if err = syscall.Pipe2(p[:], syscall.O_CLOEXEC); err != nil {
		return
	}
	b := new(childBuffers)
	sigdfl := new(kernelSigaction)
	pid, _, e := syscall.RawSyscall(syscall.SYS_FORK, 0, 0, 0)
	if e != 0 {
		syscall.Close(p[0])
		syscall.Close(p[1])
		return out, false, ws, e
	}
	if pid == 0 {
		childRun(a, b, sigdfl, uintptr(p[1]))
	}
	syscall.Close(p[1])
	buf := make([]byte, unsafe.Sizeof(out))
	got := 0
	for got < len(buf) {
		n, rerr := syscall.Read(p[0], buf[got:])
		if n <= 0 || rerr != nil {
			break
		}
		got += n
	}
	syscall.Close(p[0])
	for {
		if _, err = syscall.Wait4(int(pid), &ws, 0, nil); err != syscall.EINTR {
			break
		}
	}
	if got == len(buf) {
		reported = true
		out = *(*[4]int64)(unsafe.Pointer(&buf[0]))
	}
	return out, reported, ws, err
}

func resultText(r int64) string {
	if r < 0 && r > -4096 {
		if name := errnoName(syscall.Errno(-r)); name != "" {
			return name
		}
		return fmt.Sprintf("E%d", -r)
	}
	return "OK"
}

func errnoName(e syscall.Errno) string {
	for _, n := range []struct {
		e    syscall.Errno
		name string
	}{{syscall.EPERM, "EPERM"}, {syscall.ENOMEM, "ENOMEM"}, {syscall.EINVAL, "EINVAL"},
		{syscall.EFAULT, "EFAULT"}, {syscall.EACCES, "EACCES"}, {syscall.EEXIST, "EEXIST"},
		{syscall.ENOSYS, "ENOSYS"}, {syscall.EAGAIN, "EAGAIN"}, {syscall.EBUSY, "EBUSY"}} {
		if n.e == e {
			return n.name
		}
	}
	return ""
}

// report runs one attack and prints its line.
func report(a *attack) {
	sealed := sealedState(a.target)
	if a.skip != "" {
		fmt.Printf("ATTACK\t%s\tSKIP:%s\tsealed=%s\t\n", a.id, a.skip, sealed)
		return
	}
	out, reported, ws, err := inChild(a)
	detail := ""
	result := ""
	switch {
	case err != nil:
		fmt.Printf("ATTACK\t%s\tSKIP:fork, pipe or wait failed: %v\tsealed=%s\t\n", a.id, err, sealed)
		return
	case !reported && ws.Signaled():
		result = "CRASH:" + signalName(ws.Signal())
	case !reported:
		result = "CRASH:no report"
	default:
		result = resultText(out[0])
		if a.compare.ok() {
			detail = fmt.Sprintf("words_changed=%d/%d", out[1], out[2])
			if out[3] != 0 {
				detail += " guard_remove_failed"
			}
			detail += " "
		} else if a.poke != 0 && out[0] == 0 {
			detail = fmt.Sprintf("wrote_relro_pointer=%#x ", uint64(out[1]))
		}
	}
	detail += fmt.Sprintf("target=%#x-%#x", a.target.start, a.target.end)
	fmt.Printf("ATTACK\t%s\t%s\tsealed=%s\t%s\n", a.id, result, sealed, detail)
}

func signalName(s syscall.Signal) string {
	switch s {
	case syscall.SIGSEGV:
		return "SEGV"
	case syscall.SIGBUS:
		return "BUS"
	case syscall.SIGKILL:
		return "KILL"
	}
	return fmt.Sprintf("%d", int(s))
}

func one(nr uintptr, args ...uintptr) []call {
	c := call{nr: nr}
	copy(c.args[:], args)
	return []call{c}
}

func skipIf(missing bool, why string) string {
	if missing {
		return why
	}
	return ""
}

// codeAttacks: the program's own text and read-only data. The text pages
// attacked are those of a fmt function: the child's own code (this package,
// syscall and the runtime's system call stub) is elsewhere, so a page that
// goes away does not take the child's next instruction with it.
func codeAttacks(t *targets) []attack {
	text, text2, noText := t.text, t.text2, skipIf(!t.text.ok(), "no program text page")
	if t.text.ok() {
		p := down(reflect.ValueOf(fmt.Sscanf).Pointer())
		text, text2 = pages(p, 1), pages(p, 2)
	}
	ro, noRo := t.rodata, skipIf(!t.rodata.ok(), "no whole rodata page")
	return []attack{
		{id: "mprotect-prog-text-rwx", target: text, skip: noText, calls: one(syscall.SYS_MPROTECT, text.start, page, protRWX)},
		{id: "pkey_mprotect-prog-text-rwx", target: text, skip: noText, calls: one(329 /* pkey_mprotect */, text.start, page, protRWX, ^uintptr(0))},
		{id: "mmap-fixed-prog-text", target: text, skip: noText, calls: one(syscall.SYS_MMAP, text.start, page, protRWX, mapFixedAnon, ^uintptr(0), 0)},
		{id: "munmap-prog-text", target: text, skip: noText, calls: one(syscall.SYS_MUNMAP, text.start, page)},
		{id: "mremap-move-prog-text", target: text, skip: noText, calls: one(syscall.SYS_MREMAP, text.start, page, page, 3 /* MAYMOVE|FIXED */, t.scratch.start)},
		{id: "mremap-grow-prog-text", target: text, skip: noText, calls: one(syscall.SYS_MREMAP, text.start, page, 2*page, 1 /* MAYMOVE */)},
		{id: "mremap-shrink-prog-text", target: text2, skip: noText, calls: one(syscall.SYS_MREMAP, text2.start, 2*page, page, 0)},
		{id: "discard-prog-text-dontneed", target: text, skip: noText, calls: one(syscall.SYS_MADVISE, text.start, page, syscall.MADV_DONTNEED), compare: text},
		{id: "mprotect-prog-rodata-rw", target: ro, skip: noRo, calls: one(syscall.SYS_MPROTECT, ro.start, page, syscall.PROT_READ|syscall.PROT_WRITE)},
		{id: "mmap-fixed-prog-rodata", target: ro, skip: noRo, calls: one(syscall.SYS_MMAP, ro.start, page, syscall.PROT_READ|syscall.PROT_WRITE, mapFixedAnon, ^uintptr(0), 0)},
		{id: "munmap-prog-rodata", target: ro, skip: noRo, calls: one(syscall.SYS_MUNMAP, ro.start, page)},
	}
}

// relroAttacks: RELRO (pie and cgo builds), the holes between segments.
func relroAttacks(t *targets) []attack {
	r, noRelro := t.relro, skipIf(!t.relro.ok(), "the program has no whole page of RELRO")
	w := t.relroWord
	as := []attack{
		{id: "mmap-fixed-prog-relro", target: r, skip: noRelro, calls: one(syscall.SYS_MMAP, r.start, r.len(), syscall.PROT_READ|syscall.PROT_WRITE, mapFixedAnon, ^uintptr(0), 0)},
		{id: "mprotect-prog-relro-rw", target: r, skip: noRelro, calls: one(syscall.SYS_MPROTECT, r.start, r.len(), syscall.PROT_READ|syscall.PROT_WRITE), poke: w.start},
	}
	for _, adv := range []struct {
		name  string
		calls []call
	}{
		{"dontneed", one(syscall.SYS_MADVISE, r.start, r.len(), syscall.MADV_DONTNEED)},
		{"dontneed-locked", one(syscall.SYS_MADVISE, r.start, r.len(), madvDontneedLocked)},
		{"guard", append(one(syscall.SYS_MADVISE, r.start, r.len(), madvGuardIns), one(syscall.SYS_MADVISE, r.start, r.len(), madvGuardRem)...)},
	} {
		as = append(as, attack{id: "discard-prog-relro-" + adv.name, target: r, skip: noRelro, calls: adv.calls, compare: r})
	}
	g, noGap := t.gap, skipIf(!t.gap.ok(), "no gap between segments found")
	return append(as,
		attack{id: "mmap-fixed-segment-gap", target: g, skip: noGap, calls: one(syscall.SYS_MMAP, g.start, g.len(), protRWX, mapFixedAnon, ^uintptr(0), 0)},
		attack{id: "mprotect-segment-gap-rwx", target: g, skip: noGap, calls: one(syscall.SYS_MPROTECT, g.start, g.len(), protRWX)})
}

// strictAttacks: what only the strict profile seals.
func strictAttacks(t *targets) []attack {
	return []attack{
		{id: "mprotect-data-none", target: t.data, calls: one(syscall.SYS_MPROTECT, t.data.start, page, syscall.PROT_NONE)},
		{id: "mprotect-data-rwx", target: t.data, calls: one(syscall.SYS_MPROTECT, t.data.start, page, protRWX)},
		{id: "mprotect-stack-rwx", target: t.stack, skip: skipIf(!t.stack.ok(), "no [stack]"), calls: one(syscall.SYS_MPROTECT, t.stack.start, page, protRWX)},
		{id: "munmap-vdso", target: t.vdso, skip: skipIf(!t.vdso.ok(), "no [vdso]"), calls: one(syscall.SYS_MUNMAP, t.vdso.start, t.vdso.len())},
	}
}

func main() {
	list := false
	for _, a := range os.Args[1:] {
		switch a {
		case "--no-app-seal":
		case "--list":
			list = true
		default:
			fmt.Fprintf(os.Stderr, "usage: %s [--no-app-seal] [--list]\n", os.Args[0])
			os.Exit(2)
		}
	}
	t, err := findTargets()
	if err != nil {
		fmt.Fprintln(os.Stderr, "victim:", err)
		os.Exit(1)
	}
	scratch, err := syscall.Mmap(-1, 0, 4*page, syscall.PROT_NONE, syscall.MAP_PRIVATE|syscall.MAP_ANON)
	if err != nil {
		fmt.Fprintln(os.Stderr, "victim: mmap(scratch):", err)
		os.Exit(1)
	}
	t.scratch = pages(uintptr(unsafe.Pointer(&scratch[0])), 4)
	fmt.Printf("INFO\tgo victim bias=%#x text_page=%#x rodata_page=%#x relro=%#x-%#x gap=%#x-%#x data_page=%#x stack_page=%#x vdso=%#x-%#x\n",
		t.bias, t.text.start, t.rodata.start, t.relro.start, t.relro.end, t.gap.start, t.gap.end,
		t.data.start, t.stack.start, t.vdso.start, t.vdso.end)
	if list {
		return
	}
	attacks := append(append(codeAttacks(&t), relroAttacks(&t)...), strictAttacks(&t)...)
	for i := range attacks {
		report(&attacks[i])
	}
	fmt.Println("DONE")
}
