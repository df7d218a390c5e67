package vhost

// ring is a double-ended queue on a power-of-two ring buffer: O(1) push and
// pop at both ends, no allocation once grown. The zero value is empty.
type ring[T any] struct {
	buf  []T
	head int
	n    int
}

// Len returns the number of elements.
func (r *ring[T]) Len() int { return r.n }

// Cap returns the number of elements the ring holds without growing.
func (r *ring[T]) Cap() int { return len(r.buf) }

func (r *ring[T]) grow() {
	size := len(r.buf) * 2
	if size == 0 {
		size = 8
	}
	nb := make([]T, size)
	r.copyTo(nb)
	r.buf = nb
	r.head = 0
}

// copyTo copies the elements in order into dst, which must be long enough.
func (r *ring[T]) copyTo(dst []T) {
	if r.n == 0 {
		return
	}
	end := r.head + r.n
	if end <= len(r.buf) {
		copy(dst, r.buf[r.head:end])
		return
	}
	k := copy(dst, r.buf[r.head:])
	copy(dst[k:], r.buf[:r.n-k])
}

// PushBack appends v.
func (r *ring[T]) PushBack(v T) {
	if r.n == len(r.buf) {
		r.grow()
	}
	r.buf[(r.head+r.n)&(len(r.buf)-1)] = v
	r.n++
}

// PushFront prepends v.
func (r *ring[T]) PushFront(v T) {
	if r.n == len(r.buf) {
		r.grow()
	}
	r.head = (r.head - 1) & (len(r.buf) - 1)
	r.buf[r.head] = v
	r.n++
}

// Front returns a pointer to the first element; the ring must not be empty.
func (r *ring[T]) Front() *T { return &r.buf[r.head] }

// At returns a pointer to the i-th element from the front.
func (r *ring[T]) At(i int) *T { return &r.buf[(r.head+i)&(len(r.buf)-1)] }

// Back returns a pointer to the last element; the ring must not be empty.
func (r *ring[T]) Back() *T { return r.At(r.n - 1) }

// PopFront removes and returns the first element; the ring must not be
// empty.
func (r *ring[T]) PopFront() T {
	var zero T
	v := r.buf[r.head]
	r.buf[r.head] = zero
	r.head = (r.head + 1) & (len(r.buf) - 1)
	r.n--
	if r.n == 0 {
		r.head = 0
		r.shrink()
	}
	return v
}

// DropFront removes the first element; the ring must not be empty.
func (r *ring[T]) DropFront() {
	var zero T
	r.buf[r.head] = zero
	r.head = (r.head + 1) & (len(r.buf) - 1)
	r.n--
	if r.n == 0 {
		r.head = 0
		r.shrink()
	}
}

// PopBack removes and returns the last element; the ring must not be
// empty.
func (r *ring[T]) PopBack() T {
	var zero T
	i := (r.head + r.n - 1) & (len(r.buf) - 1)
	v := r.buf[i]
	r.buf[i] = zero
	r.n--
	if r.n == 0 {
		r.head = 0
		r.shrink()
	}
	return v
}

// shrink drops a large buffer once the ring is empty, so a queue that held
// a backlog once does not keep its memory.
func (r *ring[T]) shrink() {
	if len(r.buf) > 1024 {
		r.buf = nil
	}
}

// Clear removes every element.
func (r *ring[T]) Clear() {
	var zero T
	for i := 0; i < r.n; i++ {
		*r.At(i) = zero
	}
	r.head, r.n = 0, 0
	r.shrink()
}

// RemoveAt removes the i-th element, keeping the order of the others.
func (r *ring[T]) RemoveAt(i int) {
	if i == 0 {
		r.PopFront()
		return
	}
	for j := i; j < r.n-1; j++ {
		*r.At(j) = *r.At(j + 1)
	}
	r.PopBack()
}

// Replace makes the ring hold exactly vs (which it takes over).
func (r *ring[T]) Replace(vs []T) {
	size := 8
	for size < len(vs) {
		size *= 2
	}
	if len(vs) == size {
		r.buf = vs
	} else {
		nb := make([]T, size)
		copy(nb, vs)
		r.buf = nb
	}
	r.head, r.n = 0, len(vs)
}

// Slice returns the elements in order in a new slice.
func (r *ring[T]) Slice() []T {
	out := make([]T, r.n)
	r.copyTo(out)
	return out
}
