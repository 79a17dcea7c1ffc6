/*
 * glibc-replay: the real-glibc oracle of allocsim's ptmalloc tests.
 *
 * Replays a plain trace (one op per line: "a ID SIZE", "f ID", "r ID SIZE",
 * "c ID NMEMB SIZE", "m ID ALIGN SIZE") through the machine's glibc and
 * prints, for every a/r/c/m op that returns a block, "ID heap OFFSET"
 * (OFFSET = address - initial program break, decimal) or "ID mmap -" when
 * the chunk is mmapped (IS_MMAPPED, bit 0x2 of the size word), and
 * "ID null" when the call returned NULL (a realloc to 0 frees and prints
 * nothing).
 *
 * Rules that keep the heap untouched by anything but the trace: the whole
 * file is read with read(2) into mmapped memory before any malloc; sbrk(0)
 * is taken before the first malloc; no stdio during replay (output is
 * formatted by hand into mmapped memory and written with write(2) at the
 * end). With "--time" it prints only the replay's elapsed nanoseconds.
 */
#include <fcntl.h>
#include <malloc.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <time.h>
#include <unistd.h>

static void *map(size_t n) {
  void *p = mmap(0, n, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
  if (p == MAP_FAILED) _exit(3);
  return p;
}

/* The chunk's size word, read through an integer address (not an object access). */
static size_t size_word(const char *p) {
  const volatile size_t *w = (const volatile size_t *)((uintptr_t)p - sizeof(size_t));
  return *w;
}

static char *out;
static size_t outn;

static void put(const char *s) { while (*s) out[outn++] = *s++; }
static void putnum(unsigned long v) {
  char b[24]; int i = 0;
  do { b[i++] = (char)('0' + v % 10); v /= 10; } while (v);
  while (i) out[outn++] = b[--i];
}
static long num(char **s) {
  while (**s == ' ' || **s == '\t') (*s)++;
  long v = 0;
  while (**s >= '0' && **s <= '9') v = v * 10 + (*(*s)++ - '0');
  return v;
}

int main(int argc, char **argv) {
  int timing = argc > 2 && strcmp(argv[2], "--time") == 0;
  int fd = open(argv[1], O_RDONLY);
  if (fd < 0) _exit(2);
  off_t len = lseek(fd, 0, SEEK_END);
  lseek(fd, 0, SEEK_SET);
  char *buf = map((size_t)len + 1);
  for (off_t got = 0; got < len;) { ssize_t r = read(fd, buf + got, (size_t)(len - got)); if (r <= 0) _exit(2); got += r; }
  buf[len] = 0;
  /* Pre-parse into op arrays so the timed loop does no parsing. */
  size_t nops = 0;
  for (off_t i = 0; i < len; i++) if (buf[i] == '\n') nops++;
  nops++;
  char *op = map(nops);
  long *id = map(nops * sizeof(long)), *a1 = map(nops * sizeof(long)), *a2 = map(nops * sizeof(long));
  long maxid = 0; size_t n = 0;
  for (char *s = buf; *s;) {
    while (*s == '\n' || *s == ' ' || *s == '\r') s++;
    if (!*s) break;
    char c = *s++;
    op[n] = c; id[n] = num(&s); a1[n] = a2[n] = 0;
    if (c == 'a' || c == 'r') a1[n] = num(&s);
    else if (c == 'c' || c == 'm') { a1[n] = num(&s); a2[n] = num(&s); }
    if (id[n] > maxid) maxid = id[n];
    while (*s && *s != '\n') s++;
    n++;
  }
  char **ptr = map((size_t)(maxid + 1) * sizeof(char *));
  out = map(n * 32 + 64);
  char *base = sbrk(0);
  struct timespec t0, t1;
  clock_gettime(CLOCK_MONOTONIC, &t0);
  for (size_t i = 0; i < n; i++) {
    char *p;
    long k = id[i];
    switch (op[i]) {
      case 'a': p = ptr[k] = malloc((size_t)a1[i]); break;
      case 'f': free(ptr[k]); ptr[k] = 0; continue;
      case 'r':
        if (a1[i] == 0) { p = realloc(ptr[k], 0); (void)p; ptr[k] = 0; continue; }
        p = realloc(ptr[k], (size_t)a1[i]);
        if (p) ptr[k] = p;
        break;
      case 'c': p = ptr[k] = calloc((size_t)a1[i], (size_t)a2[i]); break;
      case 'm': p = ptr[k] = memalign((size_t)a1[i], (size_t)a2[i]); break;
      default: continue;
    }
    if (timing) continue;
    putnum((unsigned long)k);
    if (!p) put(" null\n");
    else if (size_word(p) & 2) put(" mmap -\n");
    else { put(" heap "); putnum((unsigned long)(p - base)); put("\n"); }
  }
  clock_gettime(CLOCK_MONOTONIC, &t1);
  if (timing) { putnum((unsigned long)((t1.tv_sec - t0.tv_sec) * 1000000000L + (t1.tv_nsec - t0.tv_nsec))); put("\n"); }
  for (size_t w = 0; w < outn;) { ssize_t r = write(1, out + w, outn - w); if (r <= 0) _exit(4); w += (size_t)r; }
  return 0;
}
