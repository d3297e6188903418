# The event queue: a binary min-heap of small C structs keyed (time, type, seq),
# exactly the reference's (time, ev, seq) key, so same-time events keep order.
#
# Like the reference, a cancelled or re-armed source leaves its old entry in the
# heap and the run loop skips it by generation.  Two differences that do not
# change the pop order: (1) the entry being handled stays at the root while its
# handler runs, and the handler's first push replaces it (one sift-down instead
# of a pop plus a push; handlers only push, never pop, so the root is still the
# consumed entry then); (2) the array grows by doubling with realloc.

from libc.stdint cimport int32_t, int64_t, uint64_t
from libc.stdlib cimport malloc, realloc, free
from ext._types cimport ns_t


ctypedef struct HeapEntry:
    ns_t time
    uint64_t key      # ev << 56 | seq: event type is the priority at equal times, then arm order
    uint64_t gen      # generation of the source when pushed
    int32_t cpu       # CPU or device slot


ctypedef struct EventHeap:
    HeapEntry* e
    int32_t n
    int32_t cap
    bint root_consumed   # the root is being handled: the next push replaces it


cdef inline bint _before(const HeapEntry* a, const HeapEntry* b) noexcept nogil:
    return a.time < b.time or (a.time == b.time and a.key < b.key)


cdef inline int heap_init(EventHeap* h, int32_t cap) noexcept nogil:
    h.n = 0
    h.cap = cap if cap > 16 else 16
    h.root_consumed = False
    h.e = <HeapEntry*>malloc(h.cap * sizeof(HeapEntry))
    return 0 if h.e != NULL else -1


cdef inline void heap_free(EventHeap* h) noexcept nogil:
    free(h.e)
    h.e = NULL
    h.n = h.cap = 0


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


cdef inline int heap_push(EventHeap* h, ns_t time, uint64_t key, int32_t cpu, uint64_t gen) noexcept nogil:
    """Push an entry; returns -1 when the heap cannot grow."""
    cdef int32_t i, parent
    cdef HeapEntry x
    cdef HeapEntry* p
    x.time = time
    x.key = key
    x.gen = gen
    x.cpu = cpu
    if h.root_consumed:
        h.root_consumed = False
        h.e[0] = x
        _sift_down(h, 0)
        return 0
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
        if not _before(&x, &h.e[parent]):
            break
        h.e[i] = h.e[parent]
        i = parent
    h.e[i] = x
    return 0


cdef inline void heap_pop(EventHeap* h) noexcept nogil:
    """Remove the root."""
    h.n -= 1
    if h.n > 0:
        h.e[0] = h.e[h.n]
        _sift_down(h, 0)
