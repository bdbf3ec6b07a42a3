/* What cowbench.c and shootbench.c both need: failing with the system's
 * reason, a monotonic clock in ns, and Linux's count of minor faults. */
#ifndef MMUSIM_BENCH_H
#define MMUSIM_BENCH_H

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <time.h>

#define PAGE 4096UL

extern char *program_invocation_short_name; /* GNU: the program's name */

static inline void die(const char *what) {
  fprintf(stderr, "%s: %s: %s\n", program_invocation_short_name, what, strerror(errno));
  exit(1);
}

static inline double now_ns(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return ts.tv_sec * 1e9 + ts.tv_nsec;
}

/* Minor faults so far, of the process (RUSAGE_SELF) or the calling thread
 * (RUSAGE_THREAD). */
static inline long minflt_of(int who) {
  struct rusage ru;
  if (getrusage(who, &ru) != 0) die("getrusage");
  return ru.ru_minflt;
}

#endif
