package vclock

import "unsafe"

// mustNotOverlap panics if buf's capacity and src's elements share memory.
// An Into call writes buf from its start while still reading src, so a
// shared array would be corrupted silently; the panic turns that
// programming error into a loud one.
func mustNotOverlap(buf, src []Entry) {
	if cap(buf) == 0 || len(src) == 0 {
		return
	}
	size := unsafe.Sizeof(Entry{})
	bufStart := uintptr(unsafe.Pointer(unsafe.SliceData(buf)))
	bufEnd := bufStart + uintptr(cap(buf))*size
	srcStart := uintptr(unsafe.Pointer(unsafe.SliceData(src)))
	srcEnd := srcStart + uintptr(len(src))*size
	if bufStart < srcEnd && srcStart < bufEnd {
		panic("vclock: Into buffer shares storage with an operand clock")
	}
}
