/* forkworkers: a small program that forks two workers over a shared
 * (copy-on-write) buffer, for traces/real/forkworkers.trace.zst.
 *
 * The parent fills a 256 KiB heap buffer (64 pages), forks two workers and
 * waits for both. Worker k writes to every page of its half of the buffer
 * (COW copies: the parent still shares them) and reads the whole buffer;
 * then exits. After both have exited the parent writes every page again
 * (nobody shares them any more: COW reuse) and exits.
 *
 * Build: gcc -O2 -o forkworkers forkworkers.c
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#define PAGE 4096
#define PAGES 64

static long sum_pages(const volatile char *buf) {
  long s = 0;
  for (int i = 0; i < PAGES; ++i) s += buf[i * PAGE];
  return s;
}

int main(void) {
  volatile char *buf = aligned_alloc(PAGE, PAGES * PAGE);
  if (!buf) return 1;
  for (int i = 0; i < PAGES; ++i) buf[i * PAGE] = 1;

  pid_t workers[2];
  for (int k = 0; k < 2; ++k) {
    pid_t pid = fork();
    if (pid < 0) return 1;
    if (pid == 0) {
      for (int i = k * PAGES / 2; i < (k + 1) * PAGES / 2; ++i) buf[i * PAGE] = (char)(2 + k);
      _exit(sum_pages(buf) > 0 ? 0 : 1);
    }
    workers[k] = pid;
  }
  int failed = 0;
  for (int k = 0; k < 2; ++k) {
    int status;
    if (waitpid(workers[k], &status, 0) != workers[k] || !WIFEXITED(status) || WEXITSTATUS(status)) failed = 1;
  }
  for (int i = 0; i < PAGES; ++i) buf[i * PAGE] = 4;
  printf("forkworkers: %s, sum %ld\n", failed ? "a worker failed" : "ok", sum_pages(buf));
  return failed;
}
