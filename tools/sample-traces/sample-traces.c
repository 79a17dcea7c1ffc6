/*
 * sample-traces: the user-space sample traces of data/traces/, from one real
 * run of glibc's malloc.
 *
 * The program runs a fixed sequence of malloc, calloc, memalign, realloc
 * and free calls (sizes from a fixed-seed 64-bit LCG, so every run makes
 * the same calls) between mtrace() and muntrace(): with MALLOC_TRACE set,
 * glibc writes its own log of those calls (the real `mtrace` sample). The
 * program also records each call in a static array (no allocation while
 * tracing) and, after muntrace(), writes the same sequence in the three
 * other formats allocsim reads:
 *
 *   OUTDIR/sample.rep    CS:APP malloc-lab (mdriver): header, a/r/f; calloc
 *                        and memalign become `a ID BYTES` (mdriver has no
 *                        such ops)
 *   OUTDIR/sample.trace  wee_alloc: Alloc(SIZE), / Free(K), with K the
 *                        ordinal of the Alloc; a realloc is a Free then an
 *                        Alloc, as wee_alloc's trace-malloc-free writes it
 *   OUTDIR/sample.jsonl  allocsim's jsonl: every call as it was made
 *
 * The workload: a buffer grown by doubling realloc (16 B .. 256 KiB, so it
 * ends in an mmap'ed chunk), a pool of small and medium objects allocated
 * and freed at random (tcache, fastbin, small- and large-bin sizes, every
 * 7th a calloc, every 23rd a 64-byte-aligned memalign), two blocks above
 * the 128 KiB mmap threshold, a shrinking realloc, then everything freed.
 *
 * Build and run with tools/sample-traces/make.sh (needs gcc and glibc
 * >= 2.34's libc_malloc_debug.so for mtrace).
 */
#include <malloc.h>
#include <mcheck.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

enum { MAX_OPS = 1024, MAX_IDS = 512, POOL_STEPS = 240 };

/* One recorded call. kind: 'a' malloc, 'c' calloc, 'm' memalign, 'r' realloc, 'f' free. */
struct op {
  char kind;
  int id;
  size_t size;  /* malloc/realloc/memalign size; calloc element size */
  size_t arg;   /* calloc element count; memalign alignment */
};

static struct op ops[MAX_OPS];
static int nops;
static void *ptr[MAX_IDS];
static size_t bytes[MAX_IDS];
static int nids;
static unsigned long long lcg = 20240601ULL;

/* Knuth's MMIX LCG; the top 31 bits. */
static unsigned next_rand(void) {
  lcg = lcg * 6364136223846793005ULL + 1442695040888963407ULL;
  return (unsigned)(lcg >> 33);
}

static void record(char kind, int id, size_t size, size_t arg) {
  if (nops == MAX_OPS) abort();
  ops[nops++] = (struct op){ kind, id, size, arg };
}

static int new_id(void) {
  if (nids == MAX_IDS) abort();
  return nids++;
}

static void touch(int id) {
  memset(ptr[id], id & 0xff, bytes[id]);
}

static int do_malloc(size_t n) {
  int id = new_id();
  ptr[id] = malloc(n);
  bytes[id] = n;
  record('a', id, n, 0);
  touch(id);
  return id;
}

static int do_calloc(size_t nmemb, size_t n) {
  int id = new_id();
  ptr[id] = calloc(nmemb, n);
  bytes[id] = nmemb * n;
  record('c', id, n, nmemb);
  return id;
}

static int do_memalign(size_t align, size_t n) {
  int id = new_id();
  ptr[id] = memalign(align, n);
  bytes[id] = n;
  record('m', id, n, align);
  touch(id);
  return id;
}

static void do_realloc(int id, size_t n) {
  ptr[id] = realloc(ptr[id], n);
  bytes[id] = n;
  record('r', id, n, 0);
  touch(id);
}

static void do_free(int id) {
  free(ptr[id]);
  ptr[id] = NULL;
  record('f', id, 0, 0);
}

/* A size for the pool: mostly tcache sizes, some small-bin, a few large-bin. */
static size_t pool_size(void) {
  unsigned r = next_rand() % 100;
  if (r < 60) return 8 + next_rand() % 120;      /* 8..127: tcache, fastbins */
  if (r < 90) return 128 + next_rand() % 896;    /* 128..1023: tcache, small bins */
  return 1024 + next_rand() % 7168;              /* 1 KiB..8 KiB: large bins */
}

static void run(void) {
  int live[MAX_IDS];
  int nlive = 0;
  int buf = do_malloc(16);
  size_t bufsize = 16;
  for (int step = 0; step < POOL_STEPS; step++) {
    if (nlive == 0 || (nlive < 40 && next_rand() % 100 < 60)) {
      int id;
      if (step % 23 == 22) id = do_memalign(64, pool_size());
      else if (step % 7 == 6) id = do_calloc(1 + next_rand() % 8, 8 + next_rand() % 56);
      else id = do_malloc(pool_size());
      live[nlive++] = id;
    } else {
      int k = (int)(next_rand() % (unsigned)nlive);
      do_free(live[k]);
      live[k] = live[--nlive];
    }
    if (step % 16 == 15 && bufsize < 256 * 1024) {
      bufsize *= 2;
      do_realloc(buf, bufsize);
    }
    if (step == 100) live[nlive++] = do_malloc(200 * 1024);  /* above the mmap threshold */
    if (step == 180) live[nlive++] = do_calloc(40, 4096);    /* 160 KiB, mmap'ed */
  }
  do_realloc(buf, 1000);  /* shrink the mmap'ed buffer back into the heap */
  while (nlive > 0) do_free(live[--nlive]);
  do_free(buf);
}

static FILE *open_out(const char *dir, const char *name) {
  char path[4096];
  snprintf(path, sizeof path, "%s/%s", dir, name);
  FILE *f = fopen(path, "w");
  if (f == NULL) {
    perror(path);
    exit(1);
  }
  return f;
}

static void write_rep(const char *dir) {
  FILE *f = open_out(dir, "sample.rep");
  size_t live = 0, peak = 0;
  for (int i = 0; i < nops; i++) {
    const struct op *o = &ops[i];
    size_t n = o->kind == 'c' ? o->size * o->arg : o->size;
    if (o->kind == 'f') live -= bytes[o->id];
    else if (o->kind == 'r') live = live - bytes[o->id] + n;
    else live += n;
    if (o->kind != 'f') bytes[o->id] = n;
    if (live > peak) peak = live;
  }
  fprintf(f, "%zu\n%d\n%d\n1\n", peak, nids, nops);
  for (int i = 0; i < nops; i++) {
    const struct op *o = &ops[i];
    switch (o->kind) {
      case 'a': case 'm': fprintf(f, "a %d %zu\n", o->id, o->size); break;
      case 'c': fprintf(f, "a %d %zu\n", o->id, o->size * o->arg); break;
      case 'r': fprintf(f, "r %d %zu\n", o->id, o->size); break;
      default: fprintf(f, "f %d\n", o->id); break;
    }
  }
  fclose(f);
}

static void write_wee(const char *dir) {
  FILE *f = open_out(dir, "sample.trace");
  int ordinal[MAX_IDS];
  int next = 0;
  for (int i = 0; i < nops; i++) {
    const struct op *o = &ops[i];
    switch (o->kind) {
      case 'a': case 'm': ordinal[o->id] = next++; fprintf(f, "Alloc(%zu),\n", o->size); break;
      case 'c': ordinal[o->id] = next++; fprintf(f, "Alloc(%zu),\n", o->size * o->arg); break;
      case 'r':
        fprintf(f, "Free(%d),\n", ordinal[o->id]);
        ordinal[o->id] = next++;
        fprintf(f, "Alloc(%zu),\n", o->size);
        break;
      default: fprintf(f, "Free(%d),\n", ordinal[o->id]); break;
    }
  }
  fclose(f);
}

static void write_jsonl(const char *dir) {
  FILE *f = open_out(dir, "sample.jsonl");
  for (int i = 0; i < nops; i++) {
    const struct op *o = &ops[i];
    switch (o->kind) {
      case 'a': fprintf(f, "{\"op\":\"malloc\",\"id\":%d,\"size\":%zu}\n", o->id, o->size); break;
      case 'c': fprintf(f, "{\"op\":\"calloc\",\"id\":%d,\"nmemb\":%zu,\"size\":%zu}\n", o->id, o->arg, o->size); break;
      case 'm': fprintf(f, "{\"op\":\"memalign\",\"id\":%d,\"align\":%zu,\"size\":%zu}\n", o->id, o->arg, o->size); break;
      case 'r': fprintf(f, "{\"op\":\"realloc\",\"id\":%d,\"size\":%zu}\n", o->id, o->size); break;
      default: fprintf(f, "{\"op\":\"free\",\"id\":%d}\n", o->id); break;
    }
  }
  fclose(f);
}

int main(int argc, char **argv) {
  if (argc != 2) {
    fprintf(stderr, "usage: MALLOC_TRACE=OUTDIR/sample.mtrace %s OUTDIR\n", argv[0]);
    return 2;
  }
  mtrace();
  run();
  muntrace();
  write_rep(argv[1]);
  write_wee(argv[1]);
  write_jsonl(argv[1]);
  return 0;
}
