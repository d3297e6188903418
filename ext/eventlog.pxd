# The columnar event log: five growable C arrays (struct of arrays), 20 bytes a record.
#
# Reserved: each column is first mapped as address space for LOG_RESERVE_RECORDS records
# (mmap with MAP_NORESERVE: no memory is committed until a page is written), so the log
# never moves or copies as it grows, and exported numpy views stay valid for good.
# Measured: with realloc'ed blocks a run's speed depended on the malloc state left by
# earlier runs in the process (glibc's moving mmap threshold: the tick-layer bench ran at
# 16.8 M events/s after the standard bench's runs, 20.2 in a fresh process); reserved,
# 21.2 either way.  Where the reservation is refused (strict overcommit, a low ulimit -v)
# the log falls back to the malloc'ed blocks below.
#
# Fallback growth doubles.  While no numpy view of the current blocks exists the blocks are
# realloc'ed; once columns() has exported them (``exported``), growth mallocs new
# blocks and copies, leaving the old ones to the Python owner object the views hold
# (engine.pyx _LogBlocks), so an exported array never dangles.  Growth runs inside
# the nogil loop; an allocation failure sets ``failed`` and the loop returns
# ST_NOMEM so the engine raises MemoryError with the GIL.

from libc.stdint cimport int16_t, int64_t, uint8_t
from libc.stdlib cimport malloc, realloc, free
from libc.string cimport memcpy
from ext._types cimport ns_t


cdef struct EventLog


ctypedef int (*log_grow_fn)(EventLog* lg) noexcept nogil
ctypedef void (*log_warm_fn)(EventLog* lg, Py_ssize_t i) noexcept nogil


cdef struct EventLog:
    bint reserved       # the columns are reserved mappings of LOG_RESERVE_RECORDS records (see above)
    bint ahead_refused  # the page helper (see _log_warm) could not be started: the writer populates every chunk
    int64_t* t          # time_ns
    int16_t* cpu
    uint8_t* kind
    uint8_t* src        # source
    int64_t* val        # value
    Py_ssize_t n        # records written
    Py_ssize_t cap      # records allocated
    bint exported       # numpy views of these blocks exist: never realloc/free them here
    bint failed         # an allocation failed; records were dropped
    log_grow_fn grow    # log_grow, called through a pointer so that log_append stays small enough to inline
    log_warm_fn warm    # _log_warm, likewise
    void* ahead         # the page helper (ts_ahead_*, below) once the log is long enough to want one; NULL = none


cdef extern from *:
    """
    #include <stddef.h>
    #include <sys/mman.h>
    #ifndef MAP_NORESERVE
    #define MAP_NORESERVE 0
    #endif
    /* Address space for a column; NULL when refused.  Pages are committed as they are written. */
    static void* ts_reserve(size_t size) {
        void* p = mmap(NULL, size, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
        return p == MAP_FAILED ? NULL : p;
    }
    static void ts_unreserve(void* p, size_t size) { if (p) munmap(p, size); }
    """
    void* ts_reserve(size_t size) nogil
    void ts_unreserve(void* p, size_t size) nogil


cdef enum:
    LOG_RESERVE_RECORDS = 1 << 30   # 2**30 records: 20 GiB of address space per log (8+2+1+1+8 bytes a record)


cdef inline void log_unreserve(void* p[5], Py_ssize_t records) noexcept nogil:
    """Release the reserved columns in p (NULL entries skipped)."""
    ts_unreserve(p[0], records * sizeof(int64_t))
    ts_unreserve(p[1], records * sizeof(int16_t))
    ts_unreserve(p[2], records * sizeof(uint8_t))
    ts_unreserve(p[3], records * sizeof(uint8_t))
    ts_unreserve(p[4], records * sizeof(int64_t))


cdef inline void _log_adopt(EventLog* lg, void* p[5], Py_ssize_t cap) noexcept nogil:
    """Make the five column blocks in p the log's, with room for *cap* records."""
    lg.t = <int64_t*>p[0]
    lg.cpu = <int16_t*>p[1]
    lg.kind = <uint8_t*>p[2]
    lg.src = <uint8_t*>p[3]
    lg.val = <int64_t*>p[4]
    lg.cap = cap


cdef inline void _log_columns(const EventLog* lg, void* p[5]) noexcept nogil:
    """The log's five column blocks into p (the inverse of _log_adopt)."""
    p[0] = lg.t
    p[1] = lg.cpu
    p[2] = lg.kind
    p[3] = lg.src
    p[4] = lg.val


cdef inline bint _log_reserve(EventLog* lg) noexcept nogil:
    cdef void* p[5]
    p[0] = ts_reserve(LOG_RESERVE_RECORDS * sizeof(int64_t))
    p[1] = ts_reserve(LOG_RESERVE_RECORDS * sizeof(int16_t))
    p[2] = ts_reserve(LOG_RESERVE_RECORDS * sizeof(uint8_t))
    p[3] = ts_reserve(LOG_RESERVE_RECORDS * sizeof(uint8_t))
    p[4] = ts_reserve(LOG_RESERVE_RECORDS * sizeof(int64_t))
    if not (p[0] and p[1] and p[2] and p[3] and p[4]):
        log_unreserve(p, LOG_RESERVE_RECORDS)
        return False
    _log_adopt(lg, p, LOG_RESERVE_RECORDS)
    lg.reserved = True
    return True


cdef inline int log_init(EventLog* lg, Py_ssize_t cap) noexcept nogil:
    """An empty log: reserved columns if the system allows, else malloc'ed ones of *cap* records."""
    lg.n = 0
    lg.exported = False
    lg.failed = False
    lg.reserved = False
    lg.ahead = NULL
    lg.ahead_refused = False
    lg.grow = log_grow
    lg.warm = _log_warm
    if _log_reserve(lg):
        return 0
    lg.cap = cap
    lg.t = <int64_t*>malloc(cap * sizeof(int64_t))
    lg.cpu = <int16_t*>malloc(cap * sizeof(int16_t))
    lg.kind = <uint8_t*>malloc(cap * sizeof(uint8_t))
    lg.src = <uint8_t*>malloc(cap * sizeof(uint8_t))
    lg.val = <int64_t*>malloc(cap * sizeof(int64_t))
    if not (lg.t and lg.cpu and lg.kind and lg.src and lg.val):
        lg.failed = True
        return -1
    return 0


cdef inline void log_free(EventLog* lg) noexcept nogil:
    """Free the blocks unless exported (their owner object frees them then)."""
    cdef void* p[5]
    ts_ahead_stop(lg.ahead)   # before any unmapping below
    lg.ahead = NULL
    if lg.reserved and not lg.exported:
        _log_columns(lg, p)
        log_unreserve(p, LOG_RESERVE_RECORDS)
    elif not lg.exported:
        free(lg.t)
        free(lg.cpu)
        free(lg.kind)
        free(lg.src)
        free(lg.val)
    lg.t = NULL
    lg.cpu = NULL
    lg.kind = NULL
    lg.src = NULL
    lg.val = NULL
    lg.n = lg.cap = 0


cdef inline void* _grow_block(void* p, Py_ssize_t n, Py_ssize_t newcap, size_t item, bint exported) noexcept nogil:
    cdef void* q
    if not exported:
        return realloc(p, newcap * item)
    q = malloc(newcap * item)
    if q != NULL and n:
        memcpy(q, p, n * item)
    return q


cdef inline int log_grow(EventLog* lg) noexcept nogil:
    """Double the capacity; returns -1 (and sets ``failed``) when memory runs out."""
    cdef Py_ssize_t newcap = lg.cap * 2 if lg.cap else 4096
    cdef void* p[5]
    if lg.reserved:  # the whole reservation is used (2**30 records)
        lg.failed = True
        return -1
    p[0] = _grow_block(lg.t, lg.n, newcap, sizeof(int64_t), lg.exported)
    p[1] = _grow_block(lg.cpu, lg.n, newcap, sizeof(int16_t), lg.exported)
    p[2] = _grow_block(lg.kind, lg.n, newcap, sizeof(uint8_t), lg.exported)
    p[3] = _grow_block(lg.src, lg.n, newcap, sizeof(uint8_t), lg.exported)
    p[4] = _grow_block(lg.val, lg.n, newcap, sizeof(int64_t), lg.exported)
    # realloc success moves a block: keep whatever succeeded so nothing leaks or dangles.
    if not lg.exported:
        if p[0]: lg.t = <int64_t*>p[0]
        if p[1]: lg.cpu = <int16_t*>p[1]
        if p[2]: lg.kind = <uint8_t*>p[2]
        if p[3]: lg.src = <uint8_t*>p[3]
        if p[4]: lg.val = <int64_t*>p[4]
        if not (p[0] and p[1] and p[2] and p[3] and p[4]):
            lg.failed = True
            return -1
        lg.cap = newcap
        return 0
    if not (p[0] and p[1] and p[2] and p[3] and p[4]):
        free(p[0]); free(p[1]); free(p[2]); free(p[3]); free(p[4])
        lg.failed = True
        return -1
    _log_adopt(lg, p, newcap)
    lg.exported = False
    return 0


cdef extern from *:
    """
    #include <stdint.h>
    #include <sys/mman.h>
    #ifndef MADV_POPULATE_WRITE
    #define MADV_POPULATE_WRITE 23
    #endif
    /* Fault in the whole pages of [p, p + n) writable in one call (contents untouched). */
    static void ts_populate(void* p, size_t n) {
        uintptr_t lo = ((uintptr_t)p + 4095) & ~(uintptr_t)4095;
        uintptr_t hi = ((uintptr_t)p + n) & ~(uintptr_t)4095;
        if (hi > lo) madvise((void*)lo, hi - lo, MADV_POPULATE_WRITE);
    }
    """
    void ts_populate(void* p, size_t n) nogil


cdef extern from *:
    """
    #ifndef _GNU_SOURCE
    #define _GNU_SOURCE   /* pthread_setname_np */
    #endif
    #include <pthread.h>
    #include <signal.h>
    #include <stdlib.h>
    #include <unistd.h>
    /* The page helper: a thread that faults in the reserved log's pages (MADV_POPULATE_WRITE) a few chunks
       ahead of the writer, so the kernel zeroes them on another core.  Advice only, like ts_populate: it
       never writes a byte of the log, so it cannot race with the writer; a chunk the helper has not reached
       yet is populated by the writer itself. */
    typedef struct {
        char* col[5];
        size_t item[5];
        Py_ssize_t cap, chunk, ahead;
        Py_ssize_t want;   /* the record the writer reached (under mu) */
        Py_ssize_t done;   /* records [0, done) populated (atomic) */
        int stop;
        pid_t pid;         /* a forked child has no helper thread: it populates for itself */
        pthread_mutex_t mu;
        pthread_cond_t cv;
        pthread_t th;
    } ts_ahead_t;

    static void* ts_ahead_main(void* arg) {
        ts_ahead_t* a = (ts_ahead_t*)arg;
        pthread_mutex_lock(&a->mu);
        while (!a->stop) {
            Py_ssize_t d = __atomic_load_n(&a->done, __ATOMIC_RELAXED);
            if (d < a->want + a->ahead && d < a->cap) {
                Py_ssize_t k = a->cap - d < a->chunk ? a->cap - d : a->chunk;
                int j;
                pthread_mutex_unlock(&a->mu);
                for (j = 0; j < 5; j++) ts_populate(a->col[j] + d * a->item[j], k * a->item[j]);
                __atomic_store_n(&a->done, d + k, __ATOMIC_RELEASE);
                pthread_mutex_lock(&a->mu);
            } else {
                pthread_cond_wait(&a->cv, &a->mu);
            }
        }
        pthread_mutex_unlock(&a->mu);
        return NULL;
    }

    /* A helper for the columns c[0..4] (items of size[0..4] bytes, cap records), started at record `from`;
       NULL when no thread can be had. */
    static void* ts_ahead_start(void** c, const size_t* size, Py_ssize_t cap, Py_ssize_t from,
                                Py_ssize_t chunk, Py_ssize_t ahead) {
        ts_ahead_t* a = (ts_ahead_t*)calloc(1, sizeof(ts_ahead_t));
        pthread_attr_t attr;
        sigset_t all, old;
        int j, rc;
        if (!a) return NULL;
        for (j = 0; j < 5; j++) { a->col[j] = (char*)c[j]; a->item[j] = size[j]; }
        a->cap = cap; a->chunk = chunk; a->ahead = ahead;
        a->want = from; a->done = from;
        a->pid = getpid();
        pthread_mutex_init(&a->mu, NULL);
        pthread_cond_init(&a->cv, NULL);
        pthread_attr_init(&attr);
        pthread_attr_setstacksize(&attr, 64 * 1024);
        sigfillset(&all);   /* the thread starts with every signal blocked: they go to Python's threads */
        pthread_sigmask(SIG_SETMASK, &all, &old);
        rc = pthread_create(&a->th, &attr, ts_ahead_main, a);
        pthread_sigmask(SIG_SETMASK, &old, NULL);
        pthread_attr_destroy(&attr);
        if (!rc) pthread_setname_np(a->th, "tickscope-log");   /* as top -H and /proc/PID/task show it */
        if (rc) {
            pthread_mutex_destroy(&a->mu);
            pthread_cond_destroy(&a->cv);
            free(a);
            return NULL;
        }
        return a;
    }

    /* The writer reached record i and needs [i, i + k): wake the helper.  1 when that range is populated. */
    static int ts_ahead_note(void* p, Py_ssize_t i, Py_ssize_t k) {
        ts_ahead_t* a = (ts_ahead_t*)p;
        int ready;
        if (a->pid != getpid()) return 0;
        ready = __atomic_load_n(&a->done, __ATOMIC_ACQUIRE) >= i + k;
        pthread_mutex_lock(&a->mu);
        a->want = i;
        pthread_cond_signal(&a->cv);
        pthread_mutex_unlock(&a->mu);
        return ready;
    }

    static void ts_ahead_stop(void* p) {
        ts_ahead_t* a = (ts_ahead_t*)p;
        if (!a) return;
        if (a->pid != getpid()) { free(a); return; }   /* a fork's copy: the thread is the parent's */
        pthread_mutex_lock(&a->mu);
        a->stop = 1;
        pthread_cond_signal(&a->cv);
        pthread_mutex_unlock(&a->mu);
        pthread_join(a->th, NULL);
        pthread_mutex_destroy(&a->mu);
        pthread_cond_destroy(&a->cv);
        free(a);
    }
    """
    void* ts_ahead_start(void** c, const size_t* size, Py_ssize_t cap, Py_ssize_t start, Py_ssize_t chunk, Py_ssize_t ahead) nogil
    int ts_ahead_note(void* p, Py_ssize_t i, Py_ssize_t k) nogil
    void ts_ahead_stop(void* p) nogil


cdef enum:
    LOG_WARM_RECORDS = 1 << 16   # records per pre-faulted chunk (1.3 MB of the five columns)
    LOG_AHEAD_CHUNKS = 2         # the page helper keeps this many chunks (2.6 MB) ahead of the writer


cdef inline void _log_start_helper(EventLog* lg, Py_ssize_t i) noexcept nogil:
    cdef void* c[5]
    cdef size_t size[5]
    _log_columns(lg, c)
    size[0] = sizeof(int64_t)
    size[1] = sizeof(int16_t)
    size[2] = sizeof(uint8_t)
    size[3] = sizeof(uint8_t)
    size[4] = sizeof(int64_t)
    lg.ahead = ts_ahead_start(c, size, lg.cap, i, LOG_WARM_RECORDS, LOG_AHEAD_CHUNKS * LOG_WARM_RECORDS)
    lg.ahead_refused = lg.ahead == NULL


cdef inline void _log_warm(EventLog* lg, Py_ssize_t i) noexcept nogil:
    """Have the next chunk of every column faulted in before the writer reaches it.

    First-touch page faults were ~15% of the bench loop (one trap per 4 KiB page); populating 1.3 MB at
    a time (madvise MADV_POPULATE_WRITE) skips the per-page trap.  Measured (median of 10): 21.1 M events/s
    with it, 19.9 without.  From the second chunk on, the page helper thread does it LOG_AHEAD_CHUNKS ahead,
    so the zeroing of fresh pages runs on another core and does not evict the engine's working set from this
    one's caches.  Measured (2026-11-27, interleaved best-of-3 runs, 600 s simulated): the tick-layer mixed
    load 16.5-17.1 -> 19.2-19.5 M events/s, the busy one 29.4 -> 35.4; 8 or 32 chunks ahead: no faster.  The
    writer populates a chunk itself when the helper is behind (one core, a busy machine) or missing (a
    forked child, a thread that could not be started).
    Tried and dropped: memset warm-up of the next chunk (19.5 vs 19.6), prefetchw (none), THP (a 256 MB
    touch took 0.07-1.0 s against 0.19 s with 4 KiB pages on this VM).  Advice only: old kernels ignore it.
    """
    cdef Py_ssize_t k = lg.cap - i
    if k > LOG_WARM_RECORDS:
        k = LOG_WARM_RECORDS
    if lg.reserved and i and lg.ahead == NULL and not lg.ahead_refused:
        _log_start_helper(lg, i)   # a log past its first chunk: short runs never start a thread
    if lg.ahead != NULL and ts_ahead_note(lg.ahead, i, k):
        return
    ts_populate(lg.t + i, k * sizeof(int64_t))
    ts_populate(lg.cpu + i, k * sizeof(int16_t))
    ts_populate(lg.kind + i, k * sizeof(uint8_t))
    ts_populate(lg.src + i, k * sizeof(uint8_t))
    ts_populate(lg.val + i, k * sizeof(int64_t))


cdef inline void log_append(EventLog* lg, ns_t t, int cpu, int kind, int src, int64_t val) noexcept nogil:
    """Append one record.  source is a uint8 column: values wrap like a C cast."""
    # perf: out of line (GCC did not inline it with the grow path inside) the append was 8% of the bench loop.
    cdef Py_ssize_t i = lg.n
    if i == lg.cap:
        if lg.grow(lg):
            return
    if (i & (LOG_WARM_RECORDS - 1)) == 0:
        lg.warm(lg, i)
    lg.t[i] = t
    lg.cpu[i] = <int16_t>cpu
    lg.kind[i] = <uint8_t>kind
    lg.src[i] = <uint8_t>src
    lg.val[i] = val
    lg.n = i + 1
