// A compiled echo middleware: copies stdin to stdout line by line, flushing each line.
#include <stdio.h>
#include <stdlib.h>
int main(void) {
  char* line = NULL;
  size_t cap = 0;
  ssize_t n;
  while ((n = getline(&line, &cap, stdin)) > 0) {
    fwrite(line, 1, (size_t)n, stdout);
    fflush(stdout);
  }
  free(line);
  return 0;
}
