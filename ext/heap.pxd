# The event queue: a min-priority queue of small C structs keyed (time, type, seq),
# exactly the reference's (time, ev, seq) key, so same-time events keep order.
# Keys are unique (seq), so any correct priority queue pops live entries in the same order.
#
# Indexed: a *keyed* source (a device slot, a CPU's wake-up, its workload toggle, its
# timer-work end) has at most one entry.  Re-arming the source replaces that entry,
# cancelling it removes it.  The reference instead leaves the old entry in its heapq and
# skips it by generation when it surfaces; the pop order of live entries is the same.
# Why not do the same here: on the tick-layer bench (NO_HZ, C3 with HPET broadcast, mixed
# load) a device armed seconds ahead for a tickless sleep and then shut down for
# broadcast leaves an entry behind every idle cycle: ~2 000 stale entries after 5 s,
# and queue work was a third of the engine's time.  With the index the queue holds only
# live entries: about three per CPU.  Anonymous entries (IPIs, injections, the watchdog,
# vCPU switches, migrations) are never re-armed or cancelled; their source is ``anon``.
#
# Two layouts of one array.  A small queue (at most QUEUE_SORTED_MAX entries, the usual
# case) is kept sorted in e[lo .. lo+n): the earliest entry is e[lo], pop is lo += 1, a
# push appends when it is the latest (one compare: the common case of a periodic tick)
# and otherwise binary-searches and moves the later entries up; a keyed source's queued
# entry is found by binary search on its (time, key), kept in qt[]/qk[].  A larger queue
# is a binary min-heap in e[0 .. n) with pos[source] giving each keyed entry's index.
# A sorted array already is a valid heap, so growing past the limit switches layout once
# (building pos); a queue that grew that large stays a heap.
# perf: a heap for every size took the standard bench from 22 to 20 M events/s (each pop
# is a sift-down with unpredictable branches); the sorted layout keeps it.
#
# One more difference that does not change the pop order: the entry being handled stays
# at the top while its handler runs (``root_consumed``), and the handler's first push
# takes its place.  While it is flagged no push has happened, so every other entry is at
# or after it and a removal elsewhere cannot lift anything above it.
# The array grows by doubling with realloc (only anonymous entries can outnumber the sources).

from libc.stdint cimport int32_t, int64_t, uint64_t
from libc.stdlib cimport malloc, realloc, free
from libc.string cimport memmove
from ext._types cimport ns_t


ctypedef struct HeapEntry:
    ns_t time
    uint64_t key      # ev << 56 | seq: event type is the priority at equal times, then arm order
    uint64_t arg      # payload of an anonymous entry (EV_INJ: the PEND_* bit; EV_MIGRATE/EV_RESUME: the index)
    int32_t cpu       # CPU or device slot
    int32_t src       # keyed source, or EventHeap.anon


cdef struct EventHeap


ctypedef int (*heap_slow_fn)(EventHeap* h, HeapEntry* x) noexcept nogil
ctypedef void (*heap_cancel_fn)(EventHeap* h, int32_t src) noexcept nogil


cdef struct EventHeap:
    HeapEntry* e
    int32_t n
    int32_t cap
    int32_t lo           # sorted layout: first entry; heap layout: 0
    bint sorted          # the sorted (small queue) layout is in use
    int32_t anon         # the source of anonymous entries (= number of keyed sources)
    int32_t* pos         # heap layout: pos[source] = index in e, -1 = not queued; pos[anon] is scratch
    ns_t* qt             # sorted layout: time and key of each keyed source's entry, qk = 0: not queued
    uint64_t* qk
    bint root_consumed   # the top is being handled: the next push replaces it
    heap_slow_fn push_slow   # _push_slow, called through a pointer so that heap_push stays small enough to inline
    heap_cancel_fn cancel_slow   # _cancel_slow, likewise for heap_cancel


cdef enum:
    QUEUE_SORTED_MAX = 32    # the sorted layout holds at most this many entries
    QUEUE_MIN_CAP = 4 * QUEUE_SORTED_MAX   # re-basing the sorted window costs <= 1/3 entry move per pop


cdef inline int heap_init(EventHeap* h, int32_t nsources, int32_t cap) noexcept nogil:
    """A queue for keyed sources 0 .. nsources-1 (plus anonymous entries); -1 when out of memory."""
    cdef int32_t i
    h.n = 0
    h.lo = 0
    h.sorted = True
    h.anon = nsources
    h.cap = cap if cap > QUEUE_MIN_CAP else QUEUE_MIN_CAP
    h.root_consumed = False
    h.push_slow = _push_slow
    h.cancel_slow = _cancel_slow
    h.e = <HeapEntry*>malloc(h.cap * sizeof(HeapEntry))
    h.pos = <int32_t*>malloc((nsources + 1) * sizeof(int32_t))
    h.qt = <ns_t*>malloc((nsources + 1) * sizeof(ns_t))
    h.qk = <uint64_t*>malloc((nsources + 1) * sizeof(uint64_t))
    if h.e == NULL or h.pos == NULL or h.qt == NULL or h.qk == NULL:
        return -1
    for i in range(nsources + 1):
        h.pos[i] = -1
        h.qt[i] = 0
        h.qk[i] = 0
    return 0


cdef inline void heap_free(EventHeap* h) noexcept nogil:
    free(h.e)
    free(h.pos)
    free(h.qt)
    free(h.qk)
    h.e = NULL
    h.pos = NULL
    h.qt = NULL
    h.qk = NULL
    h.n = h.cap = h.lo = 0


cdef inline HeapEntry* heap_top(EventHeap* h) noexcept nogil:
    """The earliest entry (n > 0)."""
    return &h.e[h.lo]


cdef inline bint _before(const HeapEntry* a, const HeapEntry* b) noexcept nogil:
    return a.time < b.time or (a.time == b.time and a.key < b.key)


cdef inline bint heap_before(const HeapEntry* a, const HeapEntry* b) noexcept nogil:
    """Whether entry *a* pops before entry *b* (for merging queues)."""
    return _before(a, b)


cdef inline bint _before_tk(ns_t t, uint64_t k, const HeapEntry* b) noexcept nogil:
    return t < b.time or (t == b.time and k < b.key)


# -- sorted layout --------------------------------------------------------------------------

cdef inline int32_t _upper(EventHeap* h, ns_t t, uint64_t k) noexcept nogil:
    """Sorted layout: the first index in [lo, lo+n) whose entry comes after (t, k)."""
    cdef int32_t a = h.lo
    cdef int32_t b = h.lo + h.n
    cdef int32_t mid
    while a < b:
        mid = (a + b) >> 1
        if _before_tk(t, k, &h.e[mid]):
            b = mid
        else:
            a = mid + 1
    return a


cdef inline void _sorted_remove(EventHeap* h, int32_t src) noexcept nogil:
    """Sorted layout: remove keyed source *src*'s entry (queued: qk[src] != 0)."""
    cdef int32_t j = _upper(h, h.qt[src], h.qk[src]) - 1   # the entry itself: the last one not after it
    cdef int32_t lo = h.lo
    cdef int32_t end = lo + h.n
    h.qk[src] = 0
    if j - lo < end - 1 - j:
        memmove(&h.e[lo + 1], &h.e[lo], (j - lo) * sizeof(HeapEntry))
        h.lo = lo + 1
    else:
        memmove(&h.e[j], &h.e[j + 1], (end - 1 - j) * sizeof(HeapEntry))
    h.n -= 1


cdef inline void _sorted_insert(EventHeap* h, HeapEntry* x) noexcept nogil:
    """Sorted layout, room for one more (n < QUEUE_SORTED_MAX): insert *x* in order."""
    cdef int32_t lo = h.lo
    cdef int32_t end, j
    if lo + h.n == h.cap:  # the window reached the end of the array: re-base it (cap >= 4 * n)
        memmove(h.e, &h.e[lo], h.n * sizeof(HeapEntry))
        lo = 0
        h.lo = 0
    end = lo + h.n
    if h.n == 0 or not _before(x, &h.e[end - 1]):
        j = end  # the usual case: the latest entry
    else:
        j = _upper(h, x.time, x.key)
        memmove(&h.e[j + 1], &h.e[j], (end - j) * sizeof(HeapEntry))
    h.e[j] = x[0]
    h.n += 1
    if x.src != h.anon:
        h.qt[x.src] = x.time
        h.qk[x.src] = x.key


# -- heap layout ----------------------------------------------------------------------------

cdef inline void _sift_down(EventHeap* h, int32_t i, HeapEntry* x) noexcept nogil:
    """Place *x* at hole *i* or below."""
    cdef int32_t n = h.n
    cdef int32_t child
    cdef HeapEntry* e = h.e
    while True:
        child = 2 * i + 1
        if child >= n:
            break
        if child + 1 < n and _before(&e[child + 1], &e[child]):
            child += 1
        if not _before(&e[child], x):
            break
        e[i] = e[child]
        h.pos[e[i].src] = i
        i = child
    e[i] = x[0]
    h.pos[x.src] = i


cdef inline void _sift_up(EventHeap* h, int32_t i, HeapEntry* x) noexcept nogil:
    """Place *x* at hole *i* or above."""
    cdef int32_t parent
    cdef HeapEntry* e = h.e
    while i > 0:
        parent = (i - 1) >> 1
        if not _before(x, &e[parent]):
            break
        e[i] = e[parent]
        h.pos[e[i].src] = i
        i = parent
    e[i] = x[0]
    h.pos[x.src] = i


cdef inline void _place(EventHeap* h, int32_t i, HeapEntry* x) noexcept nogil:
    """Put *x* into hole *i* (0 <= i < n), sifting whichever way the order needs."""
    if i > 0 and _before(x, &h.e[(i - 1) >> 1]):
        _sift_up(h, i, x)
    else:
        _sift_down(h, i, x)


cdef inline void _heap_remove_at(EventHeap* h, int32_t i) noexcept nogil:
    cdef HeapEntry last
    h.pos[h.e[i].src] = -1
    h.n -= 1
    if i == h.n:
        return
    last = h.e[h.n]
    _place(h, i, &last)


cdef inline int _heap_push(EventHeap* h, HeapEntry* x) noexcept nogil:
    """The heap layout's push; -1 when it cannot grow."""
    cdef int32_t i
    cdef HeapEntry* p
    if h.root_consumed:
        h.root_consumed = False
        h.pos[h.e[0].src] = -1
        if x.src == h.anon or h.pos[x.src] < 0:
            _sift_down(h, 0, x)  # the usual case: the new entry takes the handled one's place
            return 0
        _heap_remove_at(h, 0)    # the source is queued elsewhere: retire the handled entry first
    i = h.pos[x.src] if x.src != h.anon else -1
    if i >= 0:
        _place(h, i, x)
        return 0
    if h.n == h.cap:
        p = <HeapEntry*>realloc(h.e, 2 * h.cap * sizeof(HeapEntry))
        if p == NULL:
            return -1
        h.e = p
        h.cap *= 2
    h.n += 1
    _sift_up(h, h.n - 1, x)
    return 0


cdef inline int _push_slow(EventHeap* h, HeapEntry* x) noexcept nogil:
    """Every push but a sorted-layout append of a source not queued yet."""
    cdef int32_t i
    if h.sorted:
        if h.root_consumed:
            _retire_root(h)
        if x.src != h.anon and h.qk[x.src]:
            _sorted_remove(h, x.src)
        if h.n < QUEUE_SORTED_MAX:
            _sorted_insert(h, x)
            return 0
        # a sorted array is a valid heap: move it to the front, index it and carry on as one
        if h.lo:
            memmove(h.e, &h.e[h.lo], h.n * sizeof(HeapEntry))
            h.lo = 0
        h.sorted = False
        for i in range(h.n):
            h.pos[h.e[i].src] = i
        for i in range(h.anon):
            h.qk[i] = 0
    return _heap_push(h, x)


cdef inline void _cancel_slow(EventHeap* h, int32_t src) noexcept nogil:
    """Remove keyed source *src*'s queued entry (also when it is the one being handled)."""
    cdef int32_t i
    if h.sorted:
        if h.root_consumed and h.e[h.lo].src == src:
            _retire_root(h)
        else:
            _sorted_remove(h, src)
        return
    i = h.pos[src]
    if i == 0:
        h.root_consumed = False
    _heap_remove_at(h, i)


# -- both layouts ---------------------------------------------------------------------------

cdef inline void _retire_root(EventHeap* h) noexcept nogil:
    """The handled top leaves the queue."""
    cdef int32_t src = h.e[h.lo].src
    h.root_consumed = False
    if h.sorted:
        if src != h.anon:
            h.qk[src] = 0
        h.n -= 1
        h.lo = h.lo + 1 if h.n else 0
    else:
        _heap_remove_at(h, 0)


cdef inline int heap_push(EventHeap* h, ns_t time, uint64_t key, int32_t cpu, uint64_t arg, int32_t src) noexcept nogil:
    """Queue an entry; a keyed source's earlier entry is replaced.  Returns -1 when the queue cannot grow."""
    cdef HeapEntry x
    cdef HeapEntry* e
    cdef int32_t end, i
    if h.sorted:
        if h.root_consumed:
            _retire_root(h)
        end = h.lo + h.n
        # the usual case: a source not queued yet; scan back from the tail, where a new (later)
        # entry almost always belongs: one or two compares
        if (src == h.anon or not h.qk[src]) and h.n < QUEUE_SORTED_MAX and end < h.cap:
            i = end
            while i > h.lo and _before_tk(time, key, &h.e[i - 1]):
                h.e[i] = h.e[i - 1]
                i -= 1
            # perf: the fields are stored in place, not through a HeapEntry on the stack: copying that
            # struct read it back with 16-byte loads over its 8-byte stores, a store-forwarding stall
            # (perf: a quarter of hrtimer_interrupt's samples on the mixed-load bench sat on that copy)
            e = &h.e[i]
            e.time = time
            e.key = key
            e.arg = arg
            e.cpu = cpu
            e.src = src
            h.n += 1
            if src != h.anon:
                h.qt[src] = time
                h.qk[src] = key
            return 0
    x.time = time
    x.key = key
    x.arg = arg
    x.cpu = cpu
    x.src = src
    return h.push_slow(h, &x)


cdef inline void heap_cancel(EventHeap* h, int32_t src) noexcept nogil:
    """Remove keyed source *src*'s entry, if queued (also when it is the one being handled)."""
    if h.sorted:
        if h.qk[src]:
            h.cancel_slow(h, src)
    elif h.pos[src] >= 0:
        h.cancel_slow(h, src)


cdef inline void heap_pop(EventHeap* h) noexcept nogil:
    """Remove the top (the handled entry)."""
    _retire_root(h)
