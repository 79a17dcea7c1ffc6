/*
 * record-malloc: an LD_PRELOAD library that records a program's malloc
 * calls as an allocsim plain trace (src/harness/user/trace.ts, format
 * `plain`, the input of `allocsim replay FILE.ops`).
 *
 * Usage (tools/record-malloc/record.sh does all of this):
 *   gcc -O2 -shared -fPIC -o record-malloc.so record-malloc.c -ldl -lpthread
 *   RECORD_MALLOC_OUT=out.ops LD_PRELOAD=./record-malloc.so PROGRAM ARGS...
 *
 * Environment:
 *   RECORD_MALLOC_OUT   the trace file (created or truncated). Unset or
 *                       empty: nothing is recorded, every call passes
 *                       straight through. A `%p` in it is replaced by the
 *                       process id, and then every process that loads the
 *                       library (children exec'd by the program too) writes
 *                       its own file; without `%p` only the first process
 *                       records: it removes the variable from its own
 *                       environment at start-up, so programs it execs pass
 *                       through unrecorded.
 *   RECORD_MALLOC_MAX   stop recording after this many ops (a prefix of a
 *                       valid trace is a valid trace: blocks live at the
 *                       cut simply stay live). Unset or 0: no limit.
 *
 * Output, one op per line, decimal, as trace.ts's plain format reads them:
 *   a ID SIZE          malloc(SIZE), and realloc(NULL, SIZE)
 *   f ID               free(p)
 *   r ID SIZE          realloc(p, SIZE); SIZE 0: glibc freed the block
 *   c ID NMEMB SIZE    calloc(NMEMB, SIZE)
 *   m ID ALIGN SIZE    memalign, posix_memalign, aligned_alloc, valloc and
 *                      pvalloc (the last two with ALIGN 4096, the page size)
 * and `#` comment lines: a header (what wrote the file, the pid and the
 * command name from /proc/self/comm) and a
 * trailer with the counts of each call and of the calls not recorded.
 *
 * Ids are assigned per live pointer: a new block gets the most recently
 * freed id (a LIFO of dead ids, so the number of ids is the peak number of
 * live blocks), its pointer goes into an open-addressing hash table, and a
 * free looks the pointer up there. Not recorded, and counted in the
 * trailer:
 *   - calls that return NULL (a failed realloc leaves its block live);
 *   - free(NULL);
 *   - a free or realloc of a pointer the table does not hold (allocated
 *     before the library was loaded, by the dynamic loader, or through a
 *     path that bypasses these functions): skipped, and a realloc of such a
 *     pointer records its result as a new block (`a`);
 *   - a block returned while the table still holds the same pointer as live
 *     (it was freed through a path not seen here): the recorder writes the
 *     free it missed (`f OLDID`) just before the new block, so the trace
 *     stays valid; counted as "stale".
 *
 * How it avoids recursion and stays safe:
 *   - The real functions come from dlsym(RTLD_NEXT, ...). dlsym itself may
 *     call calloc or malloc (glibc's dlerror buffer); while the lookup runs,
 *     such calls are served from a static 64 KiB bump buffer (the classic
 *     bootstrap problem), never recorded, and frees of bootstrap pointers
 *     are ignored.
 *   - Nothing here allocates: lines are formatted by hand into a static
 *     64 KiB buffer that write(2) empties when it is full and at exit; the
 *     pointer table and the id stack live in memory from mmap(2).
 *   - One mutex serializes recording (the program's threads all write one
 *     trace, in the order the lock was taken); a thread-local flag passes
 *     through any call made while that thread is already inside the
 *     recorder (an allocator that calls malloc from malloc).
 *   - After fork() the child stops recording (it would otherwise write the
 *     parent's buffered lines a second time into the same file); a child
 *     that execs loads the library afresh (see `%p` above).
 *   - The buffer is flushed and the trailer written by a destructor at
 *     exit. Calls made after it (other destructors) are written through at
 *     once. A program that ends with _exit(2) or a signal loses the lines
 *     still buffered (at most 64 KiB): the trace is then a prefix.
 *
 * Threads: the order of the lines is the order in which calls took the
 * lock, which is a valid serialization for replay as long as the program
 * does not free a block before another thread's malloc of it has returned.
 */
#define _GNU_SOURCE
#include <dlfcn.h>
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

/* ------------------------------------------------------------ real functions */

typedef void *(*malloc_fn)(size_t);
typedef void (*free_fn)(void *);
typedef void *(*calloc_fn)(size_t, size_t);
typedef void *(*realloc_fn)(void *, size_t);
typedef void *(*memalign_fn)(size_t, size_t);
typedef int (*posix_memalign_fn)(void **, size_t, size_t);
typedef void *(*valloc_fn)(size_t);

static malloc_fn real_malloc;
static free_fn real_free;
static calloc_fn real_calloc;
static realloc_fn real_realloc;
static memalign_fn real_memalign;
static posix_memalign_fn real_posix_memalign;
static memalign_fn real_aligned_alloc;
static valloc_fn real_valloc;
static valloc_fn real_pvalloc;

/* Bootstrap buffer for allocations made by dlsym while the real functions are looked up. */
#define BOOT_BYTES 65536
static _Alignas(64) unsigned char boot[BOOT_BYTES];
static size_t boot_used;
static int resolving;

static int is_boot(const void *p) {
  return (const unsigned char *)p >= boot && (const unsigned char *)p < boot + BOOT_BYTES;
}

static void *boot_alloc(size_t size) {
  size_t at = (boot_used + 15) & ~(size_t)15;
  if (size > BOOT_BYTES || at > BOOT_BYTES - size) return NULL;
  boot_used = at + size;
  return boot + at; /* static memory: already zero, good for calloc */
}

static void resolve(void) {
  if (real_malloc != NULL || resolving) return;
  resolving = 1;
  real_free = (free_fn)dlsym(RTLD_NEXT, "free");
  real_calloc = (calloc_fn)dlsym(RTLD_NEXT, "calloc");
  real_realloc = (realloc_fn)dlsym(RTLD_NEXT, "realloc");
  real_memalign = (memalign_fn)dlsym(RTLD_NEXT, "memalign");
  real_posix_memalign = (posix_memalign_fn)dlsym(RTLD_NEXT, "posix_memalign");
  real_aligned_alloc = (memalign_fn)dlsym(RTLD_NEXT, "aligned_alloc");
  real_valloc = (valloc_fn)dlsym(RTLD_NEXT, "valloc");
  real_pvalloc = (valloc_fn)dlsym(RTLD_NEXT, "pvalloc");
  /* malloc last: it is the "resolved" flag the other entry points test. */
  malloc_fn m = (malloc_fn)dlsym(RTLD_NEXT, "malloc");
  __atomic_store_n(&real_malloc, m, __ATOMIC_RELEASE);
  resolving = 0;
}

/* ------------------------------------------------------------ output */

#define OUT_BYTES 65536
/* Longest line: "m " + 3 numbers of at most 20 digits + separators and newline. */
#define LINE_MAX_BYTES 80

static char out[OUT_BYTES];
static size_t out_len;
static int out_fd = -1;
static int finished;       /* the destructor ran: write through */
static unsigned long long max_ops; /* RECORD_MALLOC_MAX, 0 = no limit */
static unsigned long long n_ops;
static pid_t owner_pid;

static pthread_mutex_t lock = PTHREAD_MUTEX_INITIALIZER;
static __thread int busy;

/* Counts for the trailer. */
enum { C_MALLOC, C_FREE, C_CALLOC, C_REALLOC, C_ALIGNED, C_NULL_RESULT, C_FREE_NULL, C_UNKNOWN, C_STALE, C_CUT, C_N };
static unsigned long long counts[C_N];
static const char *const count_names[C_N] = {"malloc", "free", "calloc", "realloc", "aligned", "returned-null", "free-null", "unknown-pointer", "stale", "after-max"};

static void flush(void) {
  size_t off = 0;
  while (off < out_len) {
    ssize_t n = write(out_fd, out + off, out_len - off);
    if (n < 0) {
      if (errno == EINTR) continue;
      break; /* nothing sensible to do inside malloc: drop the rest */
    }
    off += (size_t)n;
  }
  out_len = 0;
}

static void put_char(char c) { out[out_len++] = c; }

static void put_str(const char *s) {
  while (*s) put_char(*s++);
}

static void put_num(unsigned long long v) {
  char tmp[24];
  int n = 0;
  do {
    tmp[n++] = (char)('0' + v % 10);
    v /= 10;
  } while (v);
  while (n) put_char(tmp[--n]);
}

/* Makes room for one more line. */
static void reserve_line(void) {
  if (out_len > OUT_BYTES - LINE_MAX_BYTES) flush();
}

static void end_line(void) {
  put_char('\n');
  if (finished) flush();
}

/* ------------------------------------------------------------ pointer table */

/* Open addressing with linear probing; EMPTY and TOMB are never user pointers. */
#define EMPTY ((uintptr_t)0)
#define TOMB ((uintptr_t)1)

static uintptr_t *keys;
static uint32_t *vals;
static size_t cap;  /* power of two */
static size_t used; /* live + tombstones */
static size_t live;

static uint32_t *dead_ids; /* stack of freed ids */
static size_t dead_n, dead_cap;
static uint32_t next_id;

static void *map_bytes(size_t bytes) {
  void *p = mmap(NULL, bytes, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
  return p == MAP_FAILED ? NULL : p;
}

static size_t slot_of(uintptr_t p) {
  uint64_t h = (uint64_t)p * 0x9E3779B97F4A7C15ull;
  return (size_t)(h >> 17) & (cap - 1);
}

static int table_grow(void) {
  size_t ncap = cap ? cap * 2 : 1 << 16;
  uintptr_t *nk = map_bytes(ncap * sizeof *nk);
  uint32_t *nv = map_bytes(ncap * sizeof *nv);
  if (nk == NULL || nv == NULL) return 0;
  uintptr_t *ok = keys;
  uint32_t *ov = vals;
  size_t ocap = cap;
  keys = nk;
  vals = nv;
  cap = ncap;
  used = live;
  for (size_t i = 0; i < ocap; i++) {
    if (ok[i] <= TOMB) continue;
    size_t s = slot_of(ok[i]);
    while (keys[s] != EMPTY) s = (s + 1) & (cap - 1);
    keys[s] = ok[i];
    vals[s] = ov[i];
  }
  if (ok) {
    munmap(ok, ocap * sizeof *ok);
    munmap(ov, ocap * sizeof *ov);
  }
  return 1;
}

/* Slot holding `p`, or -1. */
static long table_find(uintptr_t p) {
  if (cap == 0) return -1;
  for (size_t s = slot_of(p);; s = (s + 1) & (cap - 1)) {
    if (keys[s] == EMPTY) return -1;
    if (keys[s] == p) return (long)s;
  }
}

static int table_put(uintptr_t p, uint32_t id) {
  if ((used + 1) * 4 > cap * 3 && !table_grow()) return 0;
  size_t s = slot_of(p);
  while (keys[s] > TOMB) s = (s + 1) & (cap - 1);
  if (keys[s] == EMPTY) used++;
  keys[s] = p;
  vals[s] = id;
  live++;
  return 1;
}

static uint32_t table_take(long s) {
  keys[s] = TOMB;
  live--;
  return vals[s];
}

static uint32_t new_id(void) {
  return dead_n ? dead_ids[--dead_n] : next_id++;
}

static void free_id(uint32_t id) {
  if (dead_n == dead_cap) {
    size_t ncap = dead_cap ? dead_cap * 2 : 1 << 16;
    uint32_t *n = map_bytes(ncap * sizeof *n);
    if (n == NULL) return; /* the id is never reused: still a valid trace */
    if (dead_ids) {
      memcpy(n, dead_ids, dead_n * sizeof *n);
      munmap(dead_ids, dead_cap * sizeof *n);
    }
    dead_ids = n;
    dead_cap = ncap;
  }
  dead_ids[dead_n++] = id;
}

/* ------------------------------------------------------------ recording */

static void after_fork_child(void) {
  out_fd = -1; /* the parent owns the file and the buffered lines */
  out_len = 0;
}

__attribute__((constructor)) static void record_init(void) {
  resolve();
  const char *path = getenv("RECORD_MALLOC_OUT");
  if (path == NULL || *path == '\0') return;
  char name[4096];
  size_t n = 0;
  int per_pid = 0;
  for (const char *s = path; *s && n < sizeof name - 24; s++) {
    if (s[0] == '%' && s[1] == 'p') {
      char tmp[24];
      int k = 0;
      unsigned long v = (unsigned long)getpid();
      do {
        tmp[k++] = (char)('0' + v % 10);
        v /= 10;
      } while (v);
      while (k) name[n++] = tmp[--k];
      s++;
      per_pid = 1;
    } else {
      name[n++] = *s;
    }
  }
  name[n] = '\0';
  const char *max = getenv("RECORD_MALLOC_MAX");
  if (max != NULL) {
    for (const char *s = max; *s >= '0' && *s <= '9'; s++) max_ops = max_ops * 10 + (unsigned long long)(*s - '0');
  }
  if (!per_pid) unsetenv("RECORD_MALLOC_OUT"); /* exec'd children pass through */
  int fd = open(name, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
  if (fd < 0) return;
  owner_pid = getpid();
  pthread_atfork(NULL, NULL, after_fork_child);
  pthread_mutex_lock(&lock);
  out_fd = fd;
  put_str("# record-malloc: allocsim plain trace (a/f/r/c/m), pid ");
  put_num((unsigned long long)owner_pid);
  char comm[32];
  int cfd = open("/proc/self/comm", O_RDONLY | O_CLOEXEC);
  ssize_t clen = cfd < 0 ? -1 : read(cfd, comm, sizeof comm - 1);
  if (cfd >= 0) close(cfd);
  if (clen > 0) {
    comm[clen] = '\0';
    for (ssize_t i = 0; i < clen; i++) if (comm[i] == '\n') comm[i] = '\0';
    put_str(", comm ");
    put_str(comm);
  }
  put_char('\n');
  pthread_mutex_unlock(&lock);
}

__attribute__((destructor)) static void record_fini(void) {
  pthread_mutex_lock(&lock);
  if (out_fd >= 0 && getpid() == owner_pid) {
    reserve_line();
    put_str("# ops ");
    put_num(n_ops);
    put_str(", live at exit ");
    put_num(live);
    put_str(", ids ");
    put_num(next_id);
    put_char('\n');
    for (int i = 0; i < C_N; i++) {
      reserve_line();
      put_str("# calls ");
      put_str(count_names[i]);
      put_char(' ');
      put_num(counts[i]);
      put_char('\n');
    }
    flush();
    finished = 1;
  }
  pthread_mutex_unlock(&lock);
}

/* Whether this call should be recorded; takes the lock when it says yes. After the op limit every call passes through, counted. */
static int enter(void) {
  if (busy || out_fd < 0) return 0;
  busy = 1;
  pthread_mutex_lock(&lock);
  if (out_fd >= 0 && max_ops && n_ops >= max_ops) {
    counts[C_CUT]++;
    pthread_mutex_unlock(&lock);
    busy = 0;
    return 0;
  }
  if (out_fd < 0) {
    pthread_mutex_unlock(&lock);
    busy = 0;
    return 0;
  }
  return 1;
}

static void leave(void) {
  pthread_mutex_unlock(&lock);
  busy = 0;
}

/* Whether the op limit still allows a line (a call that passed enter() may still meet it with its second line). */
static int room(void) {
  if (max_ops && n_ops >= max_ops) return 0;
  n_ops++;
  return 1;
}

/* Writes `f ID`. */
static void put_free(unsigned long long id) {
  reserve_line();
  put_str("f ");
  put_num(id);
  end_line();
}

/* A new block `p`: gives it an id (writing the free of a stale entry first) and returns the id, or -1 when nothing should be written. */
static long born(void *p) {
  long s = table_find((uintptr_t)p);
  if (s >= 0) {
    uint32_t old = table_take(s);
    counts[C_STALE]++;
    if (room()) put_free(old);
    free_id(old);
  }
  uint32_t id = new_id();
  if (!table_put((uintptr_t)p, id)) {
    free_id(id);
    return -1;
  }
  return id;
}

static void record_alloc(char op, void *p, size_t a, size_t b, int two) {
  if (!room()) return;
  long id = born(p);
  if (id < 0) return;
  reserve_line();
  put_char(op);
  put_char(' ');
  put_num((unsigned long long)id);
  put_char(' ');
  put_num(a);
  if (two) {
    put_char(' ');
    put_num(b);
  }
  end_line();
}

/* Forgets `p`; returns its id or -1 when the table does not hold it. */
static long died(void *p) {
  long s = table_find((uintptr_t)p);
  if (s < 0) return -1;
  return table_take(s);
}

/* ------------------------------------------------------------ interposed functions */

void *malloc(size_t size) {
  if (__atomic_load_n(&real_malloc, __ATOMIC_ACQUIRE) == NULL) {
    if (resolving) return boot_alloc(size);
    resolve();
    if (real_malloc == NULL) return boot_alloc(size);
  }
  void *p = real_malloc(size);
  if (!enter()) return p;
  counts[C_MALLOC]++;
  if (p == NULL) counts[C_NULL_RESULT]++;
  else record_alloc('a', p, size, 0, 0);
  leave();
  return p;
}

void *calloc(size_t nmemb, size_t size) {
  if (__atomic_load_n(&real_malloc, __ATOMIC_ACQUIRE) == NULL || real_calloc == NULL) {
    if (resolving || (resolve(), real_calloc == NULL)) {
      size_t bytes;
      if (__builtin_mul_overflow(nmemb, size, &bytes)) return NULL;
      return boot_alloc(bytes);
    }
  }
  void *p = real_calloc(nmemb, size);
  if (!enter()) return p;
  counts[C_CALLOC]++;
  if (p == NULL) counts[C_NULL_RESULT]++;
  else record_alloc('c', p, nmemb, size, 1);
  leave();
  return p;
}

void free(void *p) {
  if (p == NULL || is_boot(p)) {
    if (p == NULL && enter()) {
      counts[C_FREE_NULL]++;
      leave();
    }
    return;
  }
  if (real_free == NULL) resolve();
  if (enter()) {
    counts[C_FREE]++;
    long id = died(p);
    if (id < 0) counts[C_UNKNOWN]++;
    else {
      if (room()) put_free((unsigned long long)id);
      free_id((uint32_t)id);
    }
    leave();
  }
  real_free(p);
}

void *realloc(void *old, size_t size) {
  if (is_boot(old)) {
    /* A bootstrap block moves to the real heap, unrecorded (its old size is not known: copy what fits). */
    void *p = malloc(size);
    if (p != NULL) {
      size_t room_left = (size_t)(boot + BOOT_BYTES - (unsigned char *)old);
      memcpy(p, old, size < room_left ? size : room_left);
    }
    return p;
  }
  if (__atomic_load_n(&real_malloc, __ATOMIC_ACQUIRE) == NULL) {
    if (resolving) return old == NULL ? boot_alloc(size) : NULL;
    resolve();
  }
  if (!enter()) return real_realloc(old, size);
  /* The lock is held across the call so no other thread can be handed `old` before it is forgotten. */
  void *p = real_realloc(old, size);
  counts[C_REALLOC]++;
  if (old == NULL) {
    if (p == NULL) counts[C_NULL_RESULT]++;
    else record_alloc('a', p, size, 0, 0);
  } else if (p == NULL && size != 0) {
    counts[C_NULL_RESULT]++; /* failed: the old block stays */
  } else {
    long s = table_find((uintptr_t)old);
    if (s < 0) {
      counts[C_UNKNOWN]++;
      if (p != NULL) record_alloc('a', p, size, 0, 0);
    } else if (room()) {
      uint32_t id = table_take(s);
      if (p == NULL) {
        /* realloc(p, 0): glibc freed the block and returned NULL. */
        reserve_line();
        put_str("r ");
        put_num(id);
        put_str(" 0");
        end_line();
        free_id(id);
      } else {
        long t = table_find((uintptr_t)p);
        if (t >= 0) {
          /* The new address was still held live by another id: its free was missed. */
          uint32_t stale = table_take(t);
          counts[C_STALE]++;
          put_free(stale);
          free_id(stale);
        }
        table_put((uintptr_t)p, id);
        reserve_line();
        put_str("r ");
        put_num(id);
        put_char(' ');
        put_num(size);
        end_line();
      }
    }
  }
  leave();
  return p;
}

void *reallocarray(void *old, size_t nmemb, size_t size) {
  size_t bytes;
  if (__builtin_mul_overflow(nmemb, size, &bytes)) {
    errno = ENOMEM;
    return NULL;
  }
  return realloc(old, bytes);
}

/* Records the result `p` of an aligned allocation as `m ID ALIGNMENT SIZE` and returns it. */
static void *record_aligned(void *p, size_t alignment, size_t size) {
  if (!enter()) return p;
  counts[C_ALIGNED]++;
  if (p == NULL) counts[C_NULL_RESULT]++;
  else record_alloc('m', p, alignment, size, 1);
  leave();
  return p;
}

static void *aligned_common(memalign_fn fn, size_t alignment, size_t size) {
  if (__atomic_load_n(&real_malloc, __ATOMIC_ACQUIRE) == NULL) {
    if (resolving) return NULL;
    resolve();
  }
  return record_aligned(fn(alignment, size), alignment, size);
}

void *memalign(size_t alignment, size_t size) {
  if (real_memalign == NULL) resolve();
  return aligned_common(real_memalign, alignment, size);
}

void *aligned_alloc(size_t alignment, size_t size) {
  if (real_aligned_alloc == NULL) resolve();
  return aligned_common(real_aligned_alloc, alignment, size);
}

int posix_memalign(void **out_p, size_t alignment, size_t size) {
  if (__atomic_load_n(&real_malloc, __ATOMIC_ACQUIRE) == NULL) {
    if (resolving) return ENOMEM;
    resolve();
  }
  int rc = real_posix_memalign(out_p, alignment, size);
  if (!enter()) return rc;
  counts[C_ALIGNED]++;
  if (rc != 0) counts[C_NULL_RESULT]++;
  else record_alloc('m', *out_p, alignment, size, 1);
  leave();
  return rc;
}

void *valloc(size_t size) {
  if (real_valloc == NULL) resolve();
  return record_aligned(real_valloc(size), (size_t)sysconf(_SC_PAGESIZE), size);
}

void *pvalloc(size_t size) {
  if (real_pvalloc == NULL) resolve();
  size_t page = (size_t)sysconf(_SC_PAGESIZE);
  return record_aligned(real_pvalloc(size), page, (size + page - 1) & ~(page - 1));
}
