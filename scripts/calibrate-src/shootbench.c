/* shootbench: measures, on the Linux host it runs on, what a TLB shootdown
 * costs, for mmusim's kernel.ipi_send, kernel.ipi_latency and
 * kernel.ipi_handler. One run, JSON on standard output.
 *
 * The process runs its main thread on one CPU (A) and, in the "sibling"
 * runs, a second thread spinning on another CPU (B) of its affinity mask.
 * While that thread runs, the address space is live on B, so every PTE
 * Linux removes or write-protects makes it interrupt B (flush_tlb_mm_range
 * sends an IPI to every CPU in mm_cpumask that is not in lazy TLB mode).
 * Without the sibling nothing else runs the address space and no IPI is sent.
 * Each phase runs alone and with the sibling:
 *
 *   cow      the parent writes each of N pages while a forked child still
 *            maps them: N COW copy faults (wp_page_copy: ptep_clear_flush)
 *   munmap   munmap of each of N touched pages, one page per call
 *            (zap_pte_range, then tlb_finish_mmu flushes the one page)
 *
 * and reports per page: the time on A, the minor faults, and, for the
 * sibling runs, what B lost: the spinning thread timestamps each round of
 * its loop and adds up the gaps longer than a threshold, minus what it
 * loses in an idle run of the same length (timer ticks and the like).
 * The interrupts B received are counted from /proc/interrupts: the "TLB"
 * row (x86 TLB shootdowns) and the "CAL" row (function-call interrupts,
 * which carry TLB flushes on kernels that count them there).
 *
 * Usage: shootbench [--pages N] [--threshold-ns T]
 * Build: gcc -O2 -pthread -o shootbench shootbench.c
 * Exit status: 0 measured; 1 a system call failed; 2 bad usage; 3 the
 * process may use fewer than two CPUs (nothing to measure).
 */
#define _GNU_SOURCE
#include <errno.h>
#include <pthread.h>
#include <sched.h>
#include <stdatomic.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "bench.h"

static long minflt(void) { return minflt_of(RUSAGE_THREAD); }

static void pin(int cpu) {
  cpu_set_t set;
  CPU_ZERO(&set);
  CPU_SET(cpu, &set);
  if (pthread_setaffinity_np(pthread_self(), sizeof set, &set) != 0) {
    errno = EINVAL;
    die("pthread_setaffinity_np");
  }
}

static char *map_pages(unsigned long pages) {
  char *p = mmap(NULL, pages * PAGE, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
  if (p == MAP_FAILED) die("mmap");
  if (madvise(p, pages * PAGE, MADV_NOHUGEPAGE) != 0) die("madvise(MADV_NOHUGEPAGE)");
  return p;
}

static void write_pages(volatile char *p, unsigned long pages, char value) {
  for (unsigned long i = 0; i < pages; ++i) p[i * PAGE] = value;
}

/* ------------------------------------------------------------ interrupts */

/* The count of one /proc/interrupts row ("TLB:", "CAL:") on `cpu`, or -1
 * when the row does not exist. Columns follow the header's CPU numbers. */
static long irq_count(const char *row, int cpu) {
  FILE *f = fopen("/proc/interrupts", "r");
  if (!f) return -1;
  char line[8192];
  int col = -1;
  long value = -1;
  if (fgets(line, sizeof line, f)) {
    int i = 0;
    for (char *tok = strtok(line, " \t\n"); tok; tok = strtok(NULL, " \t\n"), ++i)
      if (strncmp(tok, "CPU", 3) == 0 && atoi(tok + 3) == cpu) col = i;
  }
  size_t len = strlen(row);
  while (col >= 0 && fgets(line, sizeof line, f)) {
    char *s = line + strspn(line, " ");
    if (strncmp(s, row, len) != 0) continue;
    char *tok = strtok(s + len, " \t\n");
    for (int i = 0; tok && i < col; ++i) tok = strtok(NULL, " \t\n");
    if (tok) value = strtol(tok, NULL, 10);
    break;
  }
  fclose(f);
  return value;
}

/* ------------------------------------------------------------ the sibling */

struct sibling {
  pthread_t thread;
  int cpu;
  double threshold_ns;
  atomic_int state; /* 0 starting, 1 spinning, 2 stop */
  double lost_ns;   /* the gaps longer than threshold_ns, less the loop's own round */
  double round_ns;  /* the loop's usual round (the least seen) */
  double spun_ns;   /* how long it spun (wall clock) */
  double oncpu_ns;  /* of which it ran (its thread's CPU time) */
};

static double thread_cpu_ns(void) {
  struct timespec ts;
  clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
  return ts.tv_sec * 1e9 + ts.tv_nsec;
}

static void *spin(void *arg) {
  struct sibling *s = arg;
  pin(s->cpu);
  double best = 1e18, lost = 0, gaps = 0;
  double start = now_ns(), last = start, cpu0 = thread_cpu_ns();
  atomic_store(&s->state, 1);
  while (atomic_load_explicit(&s->state, memory_order_relaxed) == 1) {
    double t = now_ns();
    double d = t - last;
    last = t;
    if (d < best) best = d;
    if (d > s->threshold_ns) {
      lost += d;
      gaps += 1;
    }
  }
  s->round_ns = best;
  s->lost_ns = lost - gaps * best;
  /* The wall-clock window encloses the CPU-time one: on-CPU share <= 1. */
  s->oncpu_ns = thread_cpu_ns() - cpu0;
  s->spun_ns = now_ns() - start;
  return NULL;
}

static void sibling_start(struct sibling *s, int cpu, double threshold_ns) {
  s->cpu = cpu;
  s->threshold_ns = threshold_ns;
  atomic_store(&s->state, 0);
  if (pthread_create(&s->thread, NULL, spin, s) != 0) die("pthread_create");
  while (atomic_load(&s->state) == 0) sched_yield();
  /* Let it run a while: B must have switched to the address space. */
  double t = now_ns();
  while (now_ns() - t < 2e6) {
  }
}

static void sibling_stop(struct sibling *s) {
  atomic_store(&s->state, 2);
  pthread_join(s->thread, NULL);
}

/* ------------------------------------------------------------ phases */

struct result {
  double ns_per_page;   /* on A */
  long minflt;          /* A's minor faults during the phase */
  double lost_ns;       /* B's loss, sibling runs only */
  double spun_ns, oncpu_ns;
  long tlb_irqs, cal_irqs; /* received on B during the phase (-1: no such row) */
};

static void irq_delta(long *tlb0, long *cal0, int cpu_b, struct result *r, int begin) {
  long tlb = irq_count("TLB:", cpu_b), cal = irq_count("CAL:", cpu_b);
  if (begin) {
    *tlb0 = tlb;
    *cal0 = cal;
  } else {
    r->tlb_irqs = tlb >= 0 && *tlb0 >= 0 ? tlb - *tlb0 : -1;
    r->cal_irqs = cal >= 0 && *cal0 >= 0 ? cal - *cal0 : -1;
  }
}

/* The parent (on A) writes each page while a forked child maps them all. */
static void phase_cow(unsigned long pages, int cpu_b, struct sibling *sib, double threshold, struct result *r) {
  char *p = map_pages(pages);
  write_pages(p, pages, 1);
  int fd[2];
  if (pipe(fd) != 0) die("pipe");
  pid_t pid = fork();
  if (pid < 0) die("fork");
  if (pid == 0) {
    char c;
    close(fd[1]);
    while (read(fd[0], &c, 1) < 0 && errno == EINTR) {
    }
    _exit(0);
  }
  close(fd[0]);
  if (sib) sibling_start(sib, cpu_b, threshold);
  long tlb0, cal0;
  irq_delta(&tlb0, &cal0, cpu_b, r, 1);
  long f0 = minflt();
  double t0 = now_ns();
  write_pages(p, pages, 2);
  double t1 = now_ns();
  long f1 = minflt();
  irq_delta(&tlb0, &cal0, cpu_b, r, 0);
  if (sib) sibling_stop(sib);
  close(fd[1]);
  int status;
  if (waitpid(pid, &status, 0) != pid) die("waitpid");
  r->ns_per_page = (t1 - t0) / pages;
  r->minflt = f1 - f0;
  r->lost_ns = sib ? sib->lost_ns : 0;
  r->spun_ns = sib ? sib->spun_ns : 0;
  r->oncpu_ns = sib ? sib->oncpu_ns : 0;
  munmap(p, pages * PAGE);
}

/* munmap of each touched page, one page per call. */
static void phase_munmap(unsigned long pages, int cpu_b, struct sibling *sib, double threshold, struct result *r) {
  char *p = map_pages(pages);
  write_pages(p, pages, 1);
  if (sib) sibling_start(sib, cpu_b, threshold);
  long tlb0, cal0;
  irq_delta(&tlb0, &cal0, cpu_b, r, 1);
  long f0 = minflt();
  double t0 = now_ns();
  for (unsigned long i = 0; i < pages; ++i)
    if (munmap(p + i * PAGE, PAGE) != 0) die("munmap");
  double t1 = now_ns();
  long f1 = minflt();
  irq_delta(&tlb0, &cal0, cpu_b, r, 0);
  if (sib) sibling_stop(sib);
  r->ns_per_page = (t1 - t0) / pages;
  r->minflt = f1 - f0;
  r->lost_ns = sib ? sib->lost_ns : 0;
  r->spun_ns = sib ? sib->spun_ns : 0;
  r->oncpu_ns = sib ? sib->oncpu_ns : 0;
}

/* What B loses spinning while A only waits: ticks, other interrupts. */
static void idle_loss(double duration_ns, int cpu_b, double threshold, double *lost_per_ns) {
  struct sibling s;
  sibling_start(&s, cpu_b, threshold);
  struct timespec ts = {(time_t)(duration_ns / 1e9), (long)((long long)duration_ns % 1000000000LL)};
  nanosleep(&ts, NULL);
  sibling_stop(&s);
  *lost_per_ns = s.spun_ns > 0 ? s.lost_ns / s.spun_ns : 0;
}

static void print_result(const char *name, const struct result *r, const char *end) {
  printf("    \"%s\": {\"ns_per_page\": %.1f, \"minflt\": %ld, \"lost_ns\": %.0f, \"spun_ns\": %.0f, "
         "\"oncpu_ns\": %.0f, \"tlb_irqs\": %ld, \"cal_irqs\": %ld}%s\n",
         name, r->ns_per_page, r->minflt, r->lost_ns, r->spun_ns, r->oncpu_ns, r->tlb_irqs, r->cal_irqs, end);
}

int main(int argc, char **argv) {
  unsigned long pages = 4096;
  double threshold = 300;
  for (int i = 1; i < argc; ++i) {
    if (!strcmp(argv[i], "--pages") && i + 1 < argc) {
      pages = strtoul(argv[++i], NULL, 0);
    } else if (!strcmp(argv[i], "--threshold-ns") && i + 1 < argc) {
      threshold = atof(argv[++i]);
    } else {
      fprintf(stderr, "usage: shootbench [--pages N] [--threshold-ns T]\n");
      return 2;
    }
  }
  if (pages == 0 || threshold <= 0) {
    fprintf(stderr, "shootbench: --pages and --threshold-ns must be positive\n");
    return 2;
  }
  if (sysconf(_SC_PAGESIZE) != (long)PAGE) {
    fprintf(stderr, "shootbench: the page size is %ld, not 4096\n", sysconf(_SC_PAGESIZE));
    return 1;
  }
  cpu_set_t allowed;
  if (sched_getaffinity(0, sizeof allowed, &allowed) != 0) die("sched_getaffinity");
  int cpu_a = -1, cpu_b = -1;
  for (int c = 0; c < CPU_SETSIZE && cpu_b < 0; ++c) {
    if (!CPU_ISSET(c, &allowed)) continue;
    if (cpu_a < 0) cpu_a = c;
    else cpu_b = c;
  }
  if (cpu_b < 0) {
    fprintf(stderr, "shootbench: this process may run on %d CPU; a shootdown needs two\n", CPU_COUNT(&allowed));
    return 3;
  }
  pin(cpu_a);

  struct sibling sib;
  struct result warm, cow_alone, cow_sib, un_alone, un_sib;
  memset(&cow_alone, 0, sizeof cow_alone);
  phase_cow(pages, cpu_b, NULL, threshold, &warm); /* warms up the code paths */
  phase_cow(pages, cpu_b, NULL, threshold, &cow_alone);
  phase_cow(pages, cpu_b, &sib, threshold, &cow_sib);
  phase_munmap(pages, cpu_b, NULL, threshold, &un_alone);
  phase_munmap(pages, cpu_b, &sib, threshold, &un_sib);
  double idle_rate;
  idle_loss(cow_sib.spun_ns + un_sib.spun_ns, cpu_b, threshold, &idle_rate);

  printf("{\n");
  printf("  \"cpus\": [%d, %d],\n", cpu_a, cpu_b);
  printf("  \"online_cpus\": %ld,\n", sysconf(_SC_NPROCESSORS_ONLN));
  printf("  \"pages\": %lu,\n", pages);
  printf("  \"threshold_ns\": %.0f,\n", threshold);
  printf("  \"idle_lost_per_ns\": %.6f,\n", idle_rate);
  printf("  \"phases\": {\n");
  print_result("cow_alone", &cow_alone, ",");
  print_result("cow_sibling", &cow_sib, ",");
  print_result("munmap_alone", &un_alone, ",");
  print_result("munmap_sibling", &un_sib, "");
  printf("  }\n}\n");
  return 0;
}
