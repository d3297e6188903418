# The event queue: a min-priority queue of small C structs keyed (time, type, seq),
# exactly the reference's (time, ev, seq) key, so same-time events keep order.
# Keys are unique (seq), so any correct priority queue pops in the same order.
#
# Two layouts of one array.  A small queue (at most QUEUE_SORTED_MAX entries, the
# usual case: one pending interrupt per CPU plus a few timers) is kept sorted in
# e[lo .. lo+n): the earliest entry is e[lo], pop is lo += 1, and a push scans back
# from the tail, where new (later) entries almost always belong, so it costs one
# compare.  A larger queue is a binary min-heap in e[0 .. n) (lo = 0).  A sorted
# array already is a valid heap, so growing past the limit just switches layout
# (once: a queue that grew that large stays a heap).
# perf: bench (8 CPUs, 9 entries; callgrind, 168k events): 496 instructions/event with the sorted layout, 515 with the heap
# only (its sift-down had ~95% of the simulated branch misses); wall time alone within noise.
#
# Like the reference, a cancelled or re-armed source leaves its old entry in the
# queue and the run loop skips it by generation.  Two differences that do not
# change the pop order: (1) the entry being handled stays at the top while its
# handler runs, and the handler's first push replaces it (one sift-down instead
# of a pop plus a push; handlers only push, never pop, so the top is still the
# consumed entry then); (2) the array grows by doubling with realloc.

from libc.stdint cimport int32_t, int64_t, uint64_t
from libc.stdlib cimport malloc, realloc, free
from libc.string cimport memmove
from ext._types cimport ns_t


ctypedef struct HeapEntry:
    ns_t time
    uint64_t key      # ev << 56 | seq: event type is the priority at equal times, then arm order
    uint64_t gen      # generation of the source when pushed
    int32_t cpu       # CPU or device slot


cdef struct EventHeap


ctypedef int (*heap_push_slow_fn)(EventHeap* h, HeapEntry* x) noexcept nogil


cdef struct EventHeap:
    HeapEntry* e
    int32_t n
    int32_t cap
    int32_t lo           # sorted layout: first live entry; heap layout: 0
    bint sorted          # the sorted (small queue) layout is in use
    bint root_consumed   # the top is being handled: the next push replaces it
    heap_push_slow_fn push_slow   # _heap_push_slow, called through a pointer so that heap_push stays small enough to inline


cdef enum:
    QUEUE_SORTED_MAX = 32    # the sorted layout holds at most this many entries
    QUEUE_MIN_CAP = 4 * QUEUE_SORTED_MAX   # re-basing the sorted window costs <= 1/3 entry move per pop


cdef inline bint _before(const HeapEntry* a, const HeapEntry* b) noexcept nogil:
    return a.time < b.time or (a.time == b.time and a.key < b.key)


cdef inline int heap_init(EventHeap* h, int32_t cap) noexcept nogil:
    h.n = 0
    h.lo = 0
    h.sorted = True
    h.cap = cap if cap > QUEUE_MIN_CAP else QUEUE_MIN_CAP
    h.root_consumed = False
    h.push_slow = _heap_push_slow
    h.e = <HeapEntry*>malloc(h.cap * sizeof(HeapEntry))
    return 0 if h.e != NULL else -1


cdef inline void heap_free(EventHeap* h) noexcept nogil:
    free(h.e)
    h.e = NULL
    h.n = h.cap = h.lo = 0


cdef inline HeapEntry* heap_top(EventHeap* h) noexcept nogil:
    """The earliest entry (n > 0)."""
    return &h.e[h.lo]


cdef inline void _sift_down(EventHeap* h, int32_t i) noexcept nogil:
    cdef HeapEntry x = h.e[i]
    cdef int32_t n = h.n
    cdef int32_t child
    while True:
        child = 2 * i + 1
        if child >= n:
            break
        if child + 1 < n and _before(&h.e[child + 1], &h.e[child]):
            child += 1
        if not _before(&h.e[child], &x):
            break
        h.e[i] = h.e[child]
        i = child
    h.e[i] = x


cdef inline int _heap_push_slow(EventHeap* h, HeapEntry* x) noexcept nogil:
    """Push onto the heap layout (switching to it when the sorted one is full); -1 when it cannot grow."""
    cdef int32_t i, parent
    cdef HeapEntry* p
    if h.sorted:
        # a sorted array is a valid heap: move it to the front and carry on as one
        if h.lo:
            memmove(h.e, &h.e[h.lo], h.n * sizeof(HeapEntry))
            h.lo = 0
        h.sorted = False
    if h.n == h.cap:
        p = <HeapEntry*>realloc(h.e, 2 * h.cap * sizeof(HeapEntry))
        if p == NULL:
            return -1
        h.e = p
        h.cap *= 2
    i = h.n
    h.n += 1
    while i > 0:
        parent = (i - 1) >> 1
        if not _before(x, &h.e[parent]):
            break
        h.e[i] = h.e[parent]
        i = parent
    h.e[i] = x[0]
    return 0


cdef inline int heap_push(EventHeap* h, ns_t time, uint64_t key, int32_t cpu, uint64_t gen) noexcept nogil:
    """Push an entry; returns -1 when the queue cannot grow."""
    cdef int32_t i, lo
    cdef HeapEntry x
    x.time = time
    x.key = key
    x.gen = gen
    x.cpu = cpu
    if h.sorted:
        lo = h.lo
        if h.root_consumed:
            h.root_consumed = False
            lo += 1
            h.n -= 1
        if h.n < QUEUE_SORTED_MAX:
            if lo + h.n == h.cap:  # the window reached the end of the array: re-base it (cap >= 4 * n)
                memmove(h.e, &h.e[lo], h.n * sizeof(HeapEntry))
                lo = 0
            h.lo = lo
            i = lo + h.n
            h.n += 1
            # Scan back from the tail: a new entry is usually the latest one, one compare.
            while i > lo and _before(&x, &h.e[i - 1]):
                h.e[i] = h.e[i - 1]
                i -= 1
            h.e[i] = x
            return 0
        h.lo = lo
        return h.push_slow(h, &x)
    if h.root_consumed:
        h.root_consumed = False
        h.e[0] = x
        _sift_down(h, 0)
        return 0
    return h.push_slow(h, &x)


cdef inline void heap_pop(EventHeap* h) noexcept nogil:
    """Remove the top."""
    h.n -= 1
    if h.sorted:
        h.lo = h.lo + 1 if h.n else 0
        return
    if h.n > 0:
        h.e[0] = h.e[h.n]
        _sift_down(h, 0)
