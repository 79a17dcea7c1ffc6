/*
 * glibc-replay: the real-glibc oracle of allocsim's ptmalloc.
 *
 * Usage:
 *   glibc-replay TRACE            replay, print one line per a/r/c/m op
 *   glibc-replay --time TRACE     replay, print only the elapsed nanoseconds
 *   glibc-replay --version        print the glibc version (gnu_get_libc_version)
 *
 * Input: the plain trace format of src/harness/user/trace.ts
 * (formatPlainTrace): one op per line, decimal numbers separated by blanks,
 *   a ID SIZE          p[ID] = malloc(SIZE)
 *   f ID               free(p[ID])
 *   r ID SIZE          p[ID] = realloc(p[ID], SIZE)   (SIZE 0: glibc frees)
 *   c ID NMEMB SIZE    p[ID] = calloc(NMEMB, SIZE)
 *   m ID ALIGN SIZE    p[ID] = memalign(ALIGN, SIZE)
 * Blank lines and '#' comments (whole line or trailing) are skipped. The
 * ops are replayed literally, as the C statements above, with p[] all NULL
 * at the start; a realloc that fails keeps p[ID]. A trace that obeys the
 * rules of trace.ts (an id is freed or reallocated only while live; the TS
 * parser checks) is thereby a valid program. One that does not is replayed
 * literally too: "f ID" of a freed id frees the stale pointer again, which
 * glibc may detect and abort on, as the program would. memalign is called
 * as such (in glibc 2.36 aligned_alloc is the same function).
 *
 * Output, one line per a, r, c, m op, in trace order, '\n'-terminated:
 *   ID heap OFFSET     the block's address minus the initial program break
 *                      (sbrk(0) before the first malloc), signed decimal
 *   ID mmap -          the chunk is mmapped (IS_MMAPPED, bit 0x2 of the
 *                      size word at ((size_t *)p)[-1])
 *   ID null            the call returned NULL (for realloc: the block stays)
 * A realloc to size 0 frees the block and prints nothing (glibc 2.36
 * returns NULL; a libc that returned a block would get its line); f prints
 * nothing.
 * In --time mode the only output is the replay loop's elapsed time in
 * nanoseconds (CLOCK_MONOTONIC), decimal, and a newline; blocks still live
 * at the end are not freed.
 *
 * Errors: a malformed trace prints "glibc-replay: line N: ..." on stderr
 * and exits 2 (before any malloc); bad usage exits 64; an unreadable file
 * exits 66; a failed mmap or write exits 71. A glibc abort (double free,
 * corruption) is SIGABRT with glibc's message on stderr.
 *
 * Rules that keep the heap untouched by anything but the trace: the whole
 * file is read with read(2) into mmapped memory and parsed into op tables
 * (also mmapped) before the first malloc; the initial break is taken with
 * sbrk(0) right before the replay; nothing during the replay uses stdio or
 * any other function that may malloc; numbers are formatted by hand into an
 * mmapped buffer that one write(2) loop empties at the end.
 */
#define _GNU_SOURCE
#include <fcntl.h>
#include <gnu/libc-version.h>
#include <malloc.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

/* Largest id (MAX_TRACE_ID in trace.ts); the pointer table has maxid + 1 entries. */
#define MAX_ID ((1UL << 24) - 1)
/* Largest size, count or alignment: 2^53 - 1 (MAX_TRACE_SIZE in trace.ts). */
#define MAX_NUM ((1ULL << 53) - 1)
/* The size word's IS_MMAPPED bit (malloc/malloc.c). */
#define IS_MMAPPED 0x2
/* Longest output line: a 20-digit id, " heap ", a sign and 20 digits, '\n'. */
#define MAX_OUT_LINE 64

#define EXIT_PARSE 2
#define EXIT_USAGE 64
#define EXIT_NOINPUT 66
#define EXIT_OSERR 71

struct op {
  unsigned long long a1, a2; /* SIZE; or NMEMB/ALIGN then SIZE */
  unsigned long id;
  char kind;
};

static void put_str(char **o, const char *s) {
  while (*s) *(*o)++ = *s++;
}

static void put_u(char **o, unsigned long long v) {
  char b[24];
  int i = 0;
  do b[i++] = (char)('0' + v % 10); while ((v /= 10) != 0);
  while (i) *(*o)++ = b[--i];
}

static void put_i(char **o, long long v) {
  if (v < 0) {
    *(*o)++ = '-';
    put_u(o, (unsigned long long)0 - (unsigned long long)v);
  } else {
    put_u(o, (unsigned long long)v);
  }
}

static void write_all(int fd, const char *p, size_t n) {
  while (n > 0) {
    ssize_t w = write(fd, p, n);
    if (w <= 0) _exit(EXIT_OSERR);
    p += w;
    n -= (size_t)w;
  }
}

static void *map(size_t n) {
  void *p = mmap(NULL, n ? n : 1, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
  if (p == MAP_FAILED) _exit(EXIT_OSERR);
  return p;
}

/* Reports a malformed line on stderr (no stdio: the heap is still untouched) and exits. */
static void die_line(size_t line, const char *what) {
  char msg[256], *o = msg;
  put_str(&o, "glibc-replay: line ");
  put_u(&o, line);
  put_str(&o, ": ");
  put_str(&o, what);
  put_str(&o, "\n");
  write_all(2, msg, (size_t)(o - msg));
  _exit(EXIT_PARSE);
}

static void die(const char *what, int code) {
  write_all(2, "glibc-replay: ", 14);
  write_all(2, what, strlen(what));
  write_all(2, "\n", 1);
  _exit(code);
}

/* Reads one decimal number at *s (after blanks), at most MAX_NUM. */
static unsigned long long number(const char **s, size_t line) {
  while (**s == ' ' || **s == '\t') (*s)++;
  if (**s < '0' || **s > '9') die_line(line, "expected a decimal number");
  unsigned long long v = 0;
  while (**s >= '0' && **s <= '9') {
    v = v * 10 + (unsigned long long)(*(*s)++ - '0');
    if (v > MAX_NUM) die_line(line, "number above 2^53-1");
  }
  return v;
}

/* The chunk's size word, read through an integer address (not an object access). */
static size_t size_word(const void *p) {
  return *(const volatile size_t *)((uintptr_t)p - sizeof(size_t));
}

int main(int argc, char **argv) {
  int timing = 0;
  const char *path = NULL;
  for (int i = 1; i < argc; i++) {
    if (strcmp(argv[i], "--time") == 0) timing = 1;
    else if (strcmp(argv[i], "--version") == 0) {
      char b[64], *o = b;
      put_str(&o, gnu_get_libc_version());
      put_str(&o, "\n");
      write_all(1, b, (size_t)(o - b));
      return 0;
    } else if (path == NULL && argv[i][0] != '-') path = argv[i];
    else die("usage: glibc-replay [--time] TRACE | --version", EXIT_USAGE);
  }
  if (path == NULL) die("usage: glibc-replay [--time] TRACE | --version", EXIT_USAGE);

  /* Read the whole trace before any malloc. */
  int fd = open(path, O_RDONLY);
  struct stat st;
  if (fd < 0 || fstat(fd, &st) != 0) die("cannot open the trace file", EXIT_NOINPUT);
  size_t len = (size_t)st.st_size;
  char *text = map(len + 1);
  for (size_t got = 0; got < len;) {
    ssize_t r = read(fd, text + got, len - got);
    if (r < 0) die("cannot read the trace file", EXIT_NOINPUT);
    if (r == 0) { len = got; break; }
    got += (size_t)r;
  }
  text[len] = '\0';
  close(fd);

  /* Parse into the op table: at most one op per line. */
  size_t max_ops = 1;
  for (size_t i = 0; i < len; i++) max_ops += text[i] == '\n';
  struct op *ops = map(max_ops * sizeof *ops);
  size_t n = 0, line = 0;
  unsigned long max_id = 0;
  for (const char *s = text; *s;) {
    line++;
    while (*s == ' ' || *s == '\t') s++;
    char k = *s;
    if (k == '\n' || k == '\r' || k == '#' || k == '\0') {
      while (*s && *s != '\n') s++;
      if (*s) s++;
      continue;
    }
    if (k != 'a' && k != 'f' && k != 'r' && k != 'c' && k != 'm') die_line(line, "expected an op a, f, r, c or m");
    s++;
    if (*s != ' ' && *s != '\t') die_line(line, "expected a blank after the op letter");
    struct op *o = &ops[n++];
    o->kind = k;
    unsigned long long id = number(&s, line);
    if (id > MAX_ID) die_line(line, "id above 2^24-1");
    o->id = (unsigned long)id;
    o->a1 = o->a2 = 0;
    if (k == 'a' || k == 'r') o->a1 = number(&s, line);
    else if (k == 'c' || k == 'm') { o->a1 = number(&s, line); o->a2 = number(&s, line); }
    while (*s == ' ' || *s == '\t' || *s == '\r') s++;
    if (*s == '#') while (*s && *s != '\n') s++;
    if (*s != '\n' && *s != '\0') die_line(line, "unexpected text after the op's numbers");
    if (*s) s++;
    if (o->id > max_id) max_id = o->id;
  }

  void **ptr = map((max_id + 1) * sizeof *ptr);
  char *out = map(timing ? MAX_OUT_LINE : n * MAX_OUT_LINE + 1);
  char *o = out;

  char *base = sbrk(0);
  struct timespec t0, t1;
  clock_gettime(CLOCK_MONOTONIC, &t0);
  for (size_t i = 0; i < n; i++) {
    const struct op *op = &ops[i];
    void *p;
    switch (op->kind) {
      case 'a':
        p = ptr[op->id] = malloc((size_t)op->a1);
        break;
      case 'f':
        free(ptr[op->id]); /* literally: p[ID] keeps its stale value */
        continue;
      case 'r':
        p = realloc(ptr[op->id], (size_t)op->a1);
        if (op->a1 == 0) {
          ptr[op->id] = p; /* glibc 2.36: freed, p is NULL */
          if (p == NULL) continue;
        } else if (p != NULL) {
          ptr[op->id] = p;
        }
        break;
      case 'c':
        p = ptr[op->id] = calloc((size_t)op->a1, (size_t)op->a2);
        break;
      default: /* 'm' */
        p = ptr[op->id] = memalign((size_t)op->a1, (size_t)op->a2);
        break;
    }
    if (timing) continue;
    put_u(&o, op->id);
    if (p == NULL) put_str(&o, " null\n");
    else if (size_word(p) & IS_MMAPPED) put_str(&o, " mmap -\n");
    else {
      put_str(&o, " heap ");
      put_i(&o, (long long)((uintptr_t)p - (uintptr_t)base));
      put_str(&o, "\n");
    }
  }
  clock_gettime(CLOCK_MONOTONIC, &t1);
  if (timing) {
    long long ns = (long long)(t1.tv_sec - t0.tv_sec) * 1000000000LL + (t1.tv_nsec - t0.tv_nsec);
    put_i(&o, ns);
    put_str(&o, "\n");
  }
  write_all(1, out, (size_t)(o - out));
  return 0;
}
