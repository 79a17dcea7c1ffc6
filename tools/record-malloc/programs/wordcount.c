/*
 * wordcount: counts its arguments in a 256-bucket chained hash table and
 * prints each distinct word with its count. Only the input that
 * tools/record-malloc/programs.sh compiles with `gcc -O2 -c` to record the
 * compiler's (cc1's) malloc calls; it is never run.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

struct node {
  struct node *next;
  char *key;
  int count;
};

static unsigned hash(const char *s) {
  unsigned h = 5381;
  while (*s) h = h * 33 + (unsigned char)*s++;
  return h;
}

int main(int argc, char **argv) {
  struct node *table[256] = {0};
  for (int i = 1; i < argc; i++) {
    unsigned h = hash(argv[i]) % 256;
    struct node *n;
    for (n = table[h]; n && strcmp(n->key, argv[i]); n = n->next) {
    }
    if (!n) {
      n = calloc(1, sizeof *n);
      if (!n) return 1;
      n->key = strdup(argv[i]);
      n->next = table[h];
      table[h] = n;
    }
    n->count++;
  }
  for (int h = 0; h < 256; h++)
    for (struct node *n = table[h]; n; n = n->next) printf("%s %d\n", n->key, n->count);
  return 0;
}
